"""The counting helpers of chapter 9: formulas against FlopCounterMode, graph searches, bytes."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from transformer_book import MultiHeadAttention, scaled_dot_product_attention
from transformer_book.models.complexity import (
    LAYER_TYPES,
    attention_matrix_bytes,
    dependency_graph,
    layer_flops,
    local_attention,
    max_path_length,
    saved_tensor_bytes,
    sequential_operations,
)


def count(fn, *args) -> int:
    with FlopCounterMode(display=False) as counter:
        fn(*args)
    return counter.get_total_flops()


def causal_conv(x, weight, dilation=1):
    pad = dilation * (weight.size(-1) - 1)
    return F.conv1d(F.pad(x.transpose(1, 2), (pad, 0)), weight, dilation=dilation).transpose(1, 2)


@pytest.mark.parametrize("n,d", [(1, 4), (7, 8), (20, 6)])
def test_flop_formulas_equal_flop_counter(n, d):
    torch.manual_seed(0)
    x = torch.randn(2, n, d)
    assert count(lambda x: scaled_dot_product_attention(x, x, x), x) == layer_flops(
        "self_attention", n, d, batch=2)
    assert count(torch.nn.RNN(d, d, batch_first=True), x) == layer_flops("recurrent", n, d, batch=2)
    w = torch.randn(d, d, 3)
    assert count(causal_conv, x, w) == layer_flops("convolutional", n, d, k=3, batch=2)
    assert count(lambda x: causal_conv(x, w, 4), x) == layer_flops(
        "dilated_convolutional", n, d, k=3, batch=2)
    assert count(lambda x: local_attention(x, x, x, 5), x) == layer_flops(
        "restricted_self_attention", n, d, r=5, batch=2)
    mha = MultiHeadAttention(d, 2)
    assert count(lambda x: mha(x, x, x, need_weights=True), x) == layer_flops(
        "self_attention", n, d, batch=2, projections=True)


def test_self_attention_is_cheaper_than_recurrence_exactly_below_n_equals_d():
    d = 64
    for n in (1, 32, 63, 64, 65, 200):
        ratio = layer_flops("self_attention", n, d) / layer_flops("recurrent", n, d)
        assert ratio == n / d


def ceil_log(n, base):
    return next(L for L in range(n + 1) if base**L >= n)


@pytest.mark.parametrize("n", [2, 3, 9, 10, 27, 28, 40])
def test_max_path_length_matches_table_1(n):
    assert max_path_length("self_attention", n) == 1
    assert max_path_length("recurrent", n) == n
    for k in (2, 3, 4):
        assert max_path_length("convolutional", n, k=k) == math.ceil((n - 1) / (k - 1))
        assert max_path_length("dilated_convolutional", n, k=k) == ceil_log(n, k)
    for r in (3, 5, 9):
        assert max_path_length("restricted_self_attention", n, r=r) == math.ceil(
            (n - 1) / ((r - 1) // 2))


def test_max_path_length_respects_max_layers():
    # With too few layers allowed, only the reachable pairs count.
    assert max_path_length("convolutional", 10, k=2, max_layers=3) == 3


@pytest.mark.parametrize("n", [1, 5, 16])
def test_sequential_operations(n):
    for layer in LAYER_TYPES:
        expected = n if layer == "recurrent" else 1
        assert sequential_operations(layer, n, k=3, r=3) == expected


def test_dependency_graph_edges():
    assert dependency_graph("recurrent", 2) == {
        (0, 0): [(1, 0)], (0, 1): [(1, 1)], (1, 0): [(1, 1)], (1, 1): []}
    graph = dependency_graph("dilated_convolutional", 9, 2, k=3)
    assert graph[(1, 0)] == [(2, 0), (2, 3), (2, 6)]  # dilation 3 in the second layer
    assert graph[(0, 7)] == [(1, 7), (1, 8)]
    graph = dependency_graph("restricted_self_attention", 6, k=None, r=3)
    assert graph[(0, 0)] == [(1, 0), (1, 1)] and graph[(0, 3)] == [(1, 2), (1, 3), (1, 4)]


def test_local_attention_equals_band_masked_attention_and_has_gradients():
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 3, 11, 4, requires_grad=True) for _ in range(3))
    for r in (1, 3, 7, 23):
        i = torch.arange(11)
        band = (i[:, None] - i[None, :]).abs() <= (r - 1) // 2
        expected, _ = scaled_dot_product_attention(q, k, v, mask=band)
        torch.testing.assert_close(local_attention(q, k, v, r), expected)
    local_attention(q, k, v, 3).sum().backward()
    assert q.grad is not None and torch.isfinite(q.grad).all()


def test_attention_matrix_bytes():
    assert attention_matrix_bytes(10) == 400
    assert attention_matrix_bytes(10, batch=2, heads=3, dtype=torch.float16) == 1200


def test_saved_tensor_bytes_sees_the_quadratic_matrix():
    explicit, fused = [], []
    for n in (256, 512):
        q, k, v = (torch.randn(1, 1, n, 8, requires_grad=True) for _ in range(3))
        explicit.append(saved_tensor_bytes(scaled_dot_product_attention, q, k, v))
        fused.append(saved_tensor_bytes(F.scaled_dot_product_attention, q, k, v))
        assert explicit[-1] >= attention_matrix_bytes(n)
    assert explicit[1] / explicit[0] > 3.5
    assert fused[1] / fused[0] < 2.1
    # Without gradients nothing is saved.
    with torch.no_grad():
        assert saved_tensor_bytes(scaled_dot_product_attention, q, k, v) == 0
    # A tensor saved twice is counted once.
    x = torch.randn(100, requires_grad=True)
    assert saved_tensor_bytes(lambda t: t * t, x) == 400


@pytest.mark.parametrize("call,match", [
    (lambda: layer_flops("lstm", 4, 4), "layer='lstm'"),
    (lambda: layer_flops("restricted_self_attention", 4, 4, r=4), "r=4 must be odd"),
    (lambda: layer_flops("recurrent", 0, 4), "n=0"),
    (lambda: max_path_length("convolutional", 4, k=1), "k=1"),
    (lambda: dependency_graph("recurrent", 4, 0), "num_layers=0"),
    (lambda: attention_matrix_bytes(-1), "n=-1"),
    (lambda: local_attention(torch.ones(2, 3), torch.ones(2, 3), torch.ones(2, 3), 2), "r=2"),
    (lambda: local_attention(torch.ones(2, 3), torch.ones(3, 3), torch.ones(2, 3), 3), "shape"),
])
def test_bad_arguments_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_bad_types_raise_type_error():
    with pytest.raises(TypeError, match="k=None must be an int"):  # a convolution needs k
        layer_flops("convolutional", 4, 4)
    with pytest.raises(TypeError, match="n=4.0 must be an int"):
        attention_matrix_bytes(4.0)
    with pytest.raises(TypeError, match="dtype"):
        attention_matrix_bytes(4, dtype="float32")
    with pytest.raises(TypeError, match="callable"):
        saved_tensor_bytes(3)
    with pytest.raises(TypeError, match="q must be"):
        local_attention(torch.ones(2, 3, dtype=torch.long), torch.ones(2, 3), torch.ones(2, 3), 3)
