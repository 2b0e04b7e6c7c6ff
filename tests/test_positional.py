"""Sinusoidal positional encoding: the formula, its relative-offset property, the module."""

from __future__ import annotations

import math

import pytest
import torch

from transformer_book import PositionalEncoding, sinusoidal_encoding


def reference(max_len: int, d_model: int) -> torch.Tensor:
    """The paper's formula, entry by entry, in float64."""
    pe = torch.zeros(max_len, d_model, dtype=torch.float64)
    for pos in range(max_len):
        for j in range(d_model):
            angle = pos / 10000 ** (2 * (j // 2) / d_model)
            pe[pos, j] = math.sin(angle) if j % 2 == 0 else math.cos(angle)
    return pe


@pytest.mark.parametrize("d_model", [1, 2, 7, 16])
def test_matches_the_formula(d_model):
    pe = sinusoidal_encoding(d_model, 50)
    assert pe.shape == (50, d_model) and pe.dtype == torch.float32
    torch.testing.assert_close(pe.double(), reference(50, d_model), atol=1e-7, rtol=0)


def test_exact_even_for_long_tables():
    pe = sinusoidal_encoding(8, 5000)
    torch.testing.assert_close(pe[4999].double(), reference(5000, 8)[4999], atol=1e-7, rtol=0)


def test_odd_d_model_is_the_even_table_with_the_last_column_dropped():
    # Not bitwise: the frequencies depend on d_model (10000^(-2i/d_model)), so compare formulas.
    pe = sinusoidal_encoding(5, 10)
    assert pe.shape == (10, 5)
    assert torch.all(pe[0, 0::2] == 0) and torch.all(pe[0, 1::2] == 1)
    torch.testing.assert_close(pe[:, 4], torch.sin(torch.arange(10) / 10000 ** (4 / 5)))


def test_bounded_and_position_zero():
    pe = sinusoidal_encoding(32, 100)
    assert pe.abs().max() <= 1
    assert torch.all(pe[0, 0::2] == 0) and torch.all(pe[0, 1::2] == 1)
    # each (sin, cos) pair lies on the unit circle
    torch.testing.assert_close(pe[:, 0::2] ** 2 + pe[:, 1::2] ** 2, torch.ones(100, 16))


def rotation(k: int, d_model: int) -> torch.Tensor:
    """The block-diagonal M_k with PE(pos + k) = M_k PE(pos), in float64."""
    freq = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float64)
                     * (-math.log(10000.0) / d_model))
    m = torch.zeros(d_model, d_model, dtype=torch.float64)
    c, s = torch.cos(k * freq), torch.sin(k * freq)
    m[0::2, 0::2] = torch.diag(c)
    m[0::2, 1::2] = torch.diag(s)
    m[1::2, 0::2] = torch.diag(-s)
    m[1::2, 1::2] = torch.diag(c)
    return m


@pytest.mark.parametrize("k", [1, 5, 37, 300])
def test_relative_offset_is_a_fixed_rotation(k):
    d_model = 64
    pe = sinusoidal_encoding(d_model, 1000 + k).double()
    m = rotation(k, d_model)
    predicted = pe[:1000] @ m.T  # row pos: M_k PE(pos)
    torch.testing.assert_close(predicted, pe[k:], atol=1e-5, rtol=0)
    torch.testing.assert_close(m @ m.T, torch.eye(d_model, dtype=torch.float64))  # orthogonal


def test_dot_product_depends_only_on_the_offset():
    pe = sinusoidal_encoding(32, 300).double()
    for k in (0, 3, 40):
        dots = (pe[: 300 - k] * pe[k:]).sum(-1)
        torch.testing.assert_close(dots, dots[:1].expand_as(dots), atol=1e-5, rtol=0)


def test_module_adds_the_table():
    module = PositionalEncoding(8, max_len=20).eval()
    x = torch.randn(3, 11, 8)
    torch.testing.assert_close(module(x), x + sinusoidal_encoding(8, 20)[:11])
    assert module(torch.zeros(1, 20, 8)).shape == (1, 20, 8)  # exactly max_len is fine


def test_buffer_follows_to_and_is_not_saved():
    module = PositionalEncoding(6, max_len=10)
    assert "pe" in dict(module.named_buffers()) and "pe" not in module.state_dict()
    assert list(module.parameters()) == []
    module = module.to(torch.float64)
    assert module.pe.dtype == torch.float64
    out = module(torch.zeros(2, 4, 6, dtype=torch.float64))
    assert out.dtype == torch.float64
    half = PositionalEncoding(6, max_len=10)(torch.zeros(1, 3, 6, dtype=torch.bfloat16))
    assert half.dtype == torch.bfloat16


def test_gradient_flows_and_dropout_only_in_training():
    torch.manual_seed(0)
    module = PositionalEncoding(16, max_len=32, dropout=0.5)
    x = torch.randn(2, 8, 16, requires_grad=True)
    module.train()(x).sum().backward()
    assert x.grad is not None and (x.grad == 0).any()  # dropped entries get no gradient
    module.eval()
    torch.testing.assert_close(module(x), x + module.pe[:8])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda():
    module = PositionalEncoding(8, max_len=10).to("cuda")
    assert module.pe.device.type == "cuda"
    assert module(torch.zeros(1, 3, 8, device="cuda")).device.type == "cuda"


def test_bad_input_names_the_values():
    with pytest.raises(ValueError, match=r"max_len=0 must be an int >= 1"):
        sinusoidal_encoding(8, 0)
    with pytest.raises(TypeError, match=r"d_model=2\.5 must be an int"):
        sinusoidal_encoding(2.5, 4)
    with pytest.raises(ValueError, match=r"d_model=-1"):
        PositionalEncoding(-1)
    with pytest.raises(ValueError, match=r"dropout=1\.0"):
        PositionalEncoding(8, dropout=1.0)
    with pytest.raises(TypeError, match=r"dropout=None must be a number"):
        PositionalEncoding(8, dropout=None)
    module = PositionalEncoding(8, max_len=10)
    with pytest.raises(ValueError, match=r"seq=11 positions, more than max_len=10"):
        module(torch.zeros(1, 11, 8))
    with pytest.raises(ValueError, match=r"d_model=8\), got \(1, 3, 4\)"):
        module(torch.zeros(1, 3, 4))
    with pytest.raises(ValueError, match=r"got \(3, 8\)"):
        module(torch.zeros(3, 8))
    with pytest.raises(TypeError, match=r"x must be a torch.Tensor, got ndarray"):
        module(torch.zeros(1, 3, 8).numpy())
