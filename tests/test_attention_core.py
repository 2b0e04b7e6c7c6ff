"""Unit tests of `scaled_dot_product_attention` (the attention core of chapters 2 and 3)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from transformer_book import attention_mask, causal_mask, scaled_dot_product_attention


def _reference(q, k, v, mask=None):
    """torch's built-in, with rows that have nothing to attend to set to zero (our convention)."""
    if mask is not None:  # torch wants at least (q_len, k_len); ours also takes a (k_len,) row
        mask = mask.expand(*q.shape[:-1], k.size(-2))
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=0.0)
    if mask is not None:
        out = out.masked_fill(~mask.any(dim=-1, keepdim=True), 0.0)
    return out


@pytest.mark.parametrize(
    "q_shape, k_len, d_v",
    [((2, 5, 8), 5, 8), ((2, 3, 7, 16), 9, 4), ((1, 1, 1, 3), 1, 3), ((4, 2, 6, 5), 6, 11)],
)
@pytest.mark.parametrize("dtype, tol", [(torch.float32, 1e-6), (torch.float64, 1e-12)])
def test_matches_torch_without_mask(q_shape, k_len, d_v, dtype, tol):
    torch.manual_seed(0)
    q = torch.randn(q_shape, dtype=dtype)
    k = torch.randn(*q_shape[:-2], k_len, q_shape[-1], dtype=dtype)
    v = torch.randn(*q_shape[:-2], k_len, d_v, dtype=dtype)
    out, weights = scaled_dot_product_attention(q, k, v)
    assert out.shape == (*q_shape[:-1], d_v)
    assert weights.shape == (*q_shape[:-1], k_len)
    assert out.dtype == dtype and weights.dtype == dtype
    torch.testing.assert_close(out, _reference(q, k, v), atol=tol, rtol=tol)
    torch.testing.assert_close(weights.sum(-1), torch.ones(q_shape[:-1], dtype=dtype))
    expected = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q_shape[-1]), dim=-1)
    torch.testing.assert_close(weights, expected, atol=tol, rtol=tol)


def _padding(batch: int, length: int, lengths: list[int]) -> torch.Tensor:
    return torch.arange(length)[None, :] < torch.tensor(lengths)[:, None]


@pytest.mark.parametrize("dtype, tol", [(torch.float32, 1e-6), (torch.float64, 1e-12)])
@pytest.mark.parametrize("kind", ["padding", "causal", "both", "full-4d", "row"])
def test_matches_torch_with_broadcasting_masks(kind, dtype, tol):
    torch.manual_seed(1)
    batch, heads, length, d_k = 3, 2, 6, 8
    q, k, v = (torch.randn(batch, heads, length, d_k, dtype=dtype) for _ in range(3))
    pad = _padding(batch, length, [6, 4, 1])
    mask = {
        "padding": attention_mask(pad),  # (batch, 1, 1, k_len)
        "causal": causal_mask(length),  # (q_len, k_len)
        "both": attention_mask(pad, causal_size=length),  # (batch, 1, q_len, k_len)
        "full-4d": torch.rand(batch, heads, length, length) > 0.3,
        "row": torch.rand(length) > 0.5,  # (k_len,): broadcasts over everything
    }[kind]
    out, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    torch.testing.assert_close(out, _reference(q, k, v, mask), atol=tol, rtol=tol)
    blocked = ~mask.expand_as(weights)
    assert (weights[blocked] == 0).all()


def test_three_d_inputs_with_a_mask_match_torch():
    torch.manual_seed(2)
    q = torch.randn(2, 4, 5)
    k = torch.randn(2, 7, 5)
    v = torch.randn(2, 7, 3)
    mask = _padding(2, 7, [7, 3])[:, None, :]  # (batch, 1, k_len)
    out, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    assert out.shape == (2, 4, 3) and weights.shape == (2, 4, 7)
    torch.testing.assert_close(out, _reference(q, k, v, mask), atol=1e-6, rtol=1e-6)
    assert (weights[1, :, 3:] == 0).all()


def test_batch_dimensions_broadcast():
    torch.manual_seed(3)
    q = torch.randn(2, 3, 4, 8)
    k = torch.randn(1, 3, 5, 8)  # batch of one, shared across q's batch
    v = torch.randn(1, 3, 5, 6)
    out, _ = scaled_dot_product_attention(q, k, v)
    expected = _reference(q, k.expand(2, -1, -1, -1), v.expand(2, -1, -1, -1))
    torch.testing.assert_close(out, expected, atol=1e-6, rtol=1e-6)


def test_gradcheck_in_float64():
    torch.manual_seed(4)
    q = torch.randn(1, 3, 4, dtype=torch.float64, requires_grad=True)
    k = torch.randn(1, 5, 4, dtype=torch.float64, requires_grad=True)
    v = torch.randn(1, 5, 2, dtype=torch.float64, requires_grad=True)
    mask = torch.tensor([[True, True, False, True, False]] * 3)

    def first(*args):
        return scaled_dot_product_attention(*args)[0]

    def masked(q_, k_, v_):
        return scaled_dot_product_attention(q_, k_, v_, mask=mask)[0]

    assert torch.autograd.gradcheck(first, (q, k, v))
    assert torch.autograd.gradcheck(masked, (q, k, v))


def test_gradients_match_torch():
    torch.manual_seed(5)
    ours = [torch.randn(2, 4, 3, dtype=torch.float64, requires_grad=True) for _ in range(3)]
    theirs = [t.detach().clone().requires_grad_() for t in ours]
    mask = causal_mask(4)
    scaled_dot_product_attention(*ours, mask=mask)[0].pow(2).sum().backward()
    F.scaled_dot_product_attention(*theirs, attn_mask=mask).pow(2).sum().backward()
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a.grad, b.grad, atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_fully_masked_rows_give_zeros_and_finite_gradients(dtype):
    torch.manual_seed(6)
    q, k, v = (torch.randn(2, 3, 4, dtype=dtype, requires_grad=True) for _ in range(3))
    mask = torch.tensor([[True, False, True], [False, False, False], [True, True, True]])
    out, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    assert torch.isfinite(out).all() and torch.isfinite(weights).all()
    assert (out[:, 1] == 0).all() and (weights[:, 1] == 0).all()
    # The other rows are a proper distribution over the allowed keys.
    sums = weights[:, [0, 2]].float().sum(-1)
    torch.testing.assert_close(sums, torch.ones_like(sums), atol=1e-2, rtol=0)
    out.float().sum().backward()
    for t in (q, k, v):
        assert torch.isfinite(t.grad).all()
    assert (q.grad[:, 1] == 0).all()  # a query that attends to nothing receives no gradient


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_large_scores_do_not_overflow(dtype):
    q = torch.full((1, 2, 4), 100.0, dtype=dtype)
    out, weights = scaled_dot_product_attention(q, q, q)
    assert torch.isfinite(out).all() and torch.isfinite(weights).all()


def test_dropout_changes_output_and_respects_the_seed():
    torch.manual_seed(7)
    q, k, v = (torch.randn(2, 8, 16) for _ in range(3))
    plain, plain_w = scaled_dot_product_attention(q, k, v)
    torch.manual_seed(123)
    first, first_w = scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    torch.manual_seed(123)
    second, second_w = scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    torch.manual_seed(124)
    third, _ = scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    assert not torch.allclose(first, plain)
    assert torch.equal(first, second) and torch.equal(first_w, second_w)
    assert not torch.equal(first, third)
    # Inverted dropout: kept weights are scaled by 1 / (1 - p), dropped ones are zero.
    kept = first_w != 0
    torch.testing.assert_close(first_w[kept], plain_w[kept] * 2.0)
    assert 0.3 < kept.float().mean().item() < 0.7


def test_dropout_zero_is_deterministic():
    q = torch.randn(1, 4, 4)
    a, _ = scaled_dot_product_attention(q, q, q, dropout_p=0.0)
    b, _ = scaled_dot_product_attention(q, q, q)
    assert torch.equal(a, b)


def _qkv(**shapes):
    q = torch.randn(shapes.get("q", (2, 3, 4)))
    k = torch.randn(shapes.get("k", (2, 5, 4)))
    v = torch.randn(shapes.get("v", (2, 5, 6)))
    return q, k, v


@pytest.mark.parametrize(
    "make, error, words",
    [
        (lambda: (*_qkv(k=(2, 5, 3)), {}), ValueError, ["d_k"]),
        (lambda: (*_qkv(v=(2, 4, 6)), {}), ValueError, ["k and v", "positions"]),
        (lambda: (*_qkv(k=(3, 5, 4), v=(3, 5, 6)), {}), ValueError, ["batch dimensions"]),
        (lambda: (torch.randn(4), *_qkv()[1:], {}), ValueError, ["q", "shape"]),
        (lambda: (*_qkv(), {"mask": torch.ones(3, 5)}), TypeError, ["mask", "torch.bool"]),
        (lambda: (*_qkv(), {"mask": [[True] * 5] * 3}), TypeError, ["mask", "list"]),
        (lambda: (*_qkv(), {"mask": torch.ones(3, 4, dtype=torch.bool)}), ValueError,
         ["mask", "(3, 4)", "broadcast"]),
        (lambda: (*_qkv(), {"mask": torch.ones(2, 2, 3, 5, dtype=torch.bool)}), ValueError,
         ["mask", "broadcast"]),
        (lambda: (torch.ones(2, 3, 4, dtype=torch.long), *_qkv()[1:], {}), TypeError,
         ["q", "floating-point"]),
        (lambda: (_qkv()[0], torch.ones(2, 5, 4, dtype=torch.int32), _qkv()[2], {}), TypeError,
         ["k", "floating-point"]),
        (lambda: (*_qkv()[:2], torch.ones(2, 5, 6, dtype=torch.bool), {}), TypeError,
         ["v", "floating-point"]),
        (lambda: (_qkv()[0].double(), *_qkv()[1:], {}), TypeError,
         ["q, k and v", "float64", "float32"]),
        (lambda: (*_qkv(), {"dropout_p": 1.0}), ValueError, ["dropout_p=1.0"]),
        (lambda: (*_qkv(), {"dropout_p": -0.1}), ValueError, ["dropout_p=-0.1"]),
        (lambda: (*_qkv(), {"dropout_p": float("nan")}), ValueError, ["dropout_p=nan"]),
        (lambda: (*_qkv(), {"dropout_p": "0.1"}), TypeError, ["dropout_p='0.1'"]),
        (lambda: ([[1.0]], *_qkv()[1:], {}), TypeError, ["q", "list"]),
        (lambda: (_qkv()[0], 3.0, _qkv()[2], {}), TypeError, ["k", "float"]),
        (lambda: (*_qkv()[:2], None, {}), TypeError, ["v", "NoneType"]),
    ],
    ids=[
        "mismatched-d_k", "k-v-length", "batch-dims", "1-d-q", "float-mask", "list-mask",
        "mask-shape", "mask-too-many-dims", "int-q", "int-k", "bool-v", "mixed-dtypes",
        "dropout-one", "dropout-negative", "dropout-nan", "dropout-str", "list-q", "float-k",
        "none-v",
    ],
)
def test_bad_arguments_raise_named_errors(make, error, words):
    *tensors, kwargs = make()
    with pytest.raises(error) as info:
        scaled_dot_product_attention(*tensors, **kwargs)
    message = str(info.value)
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


def test_float16_scores_do_not_overflow_before_scaling():
    # q.k = 64 * 40 * 40 = 102400 overflows float16 (max 65504); scaled it is 12800.
    q = torch.full((1, 3, 64), 40.0, dtype=torch.float16)
    out, weights = scaled_dot_product_attention(q, q, q)
    assert torch.isfinite(out).all() and torch.isfinite(weights).all()
    torch.testing.assert_close(weights.float(), torch.full((1, 3, 3), 1 / 3), atol=1e-3, rtol=0)
