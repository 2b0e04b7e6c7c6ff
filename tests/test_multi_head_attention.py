"""MultiHeadAttention: equal to torch.nn.MultiheadAttention with copied weights, in both paths."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from transformer_book import MultiHeadAttention, attention_mask, causal_mask

D_MODEL, HEADS = 16, 4
TOL = dict(atol=1e-6, rtol=1e-5)


def make_pair(d_model: int = D_MODEL, heads: int = HEADS, bias: bool = True, seed: int = 0):
    """Our module and the built-in one with the same weights, both in eval mode."""
    torch.manual_seed(seed)
    ours = MultiHeadAttention(d_model, heads, bias=bias).eval()
    builtin = nn.MultiheadAttention(d_model, heads, bias=bias, batch_first=True).eval()
    with torch.no_grad():
        builtin.in_proj_weight.copy_(
            torch.cat([ours.q_proj.weight, ours.k_proj.weight, ours.v_proj.weight]))
        builtin.out_proj.weight.copy_(ours.out_proj.weight)
        if bias:
            builtin.in_proj_bias.copy_(
                torch.cat([ours.q_proj.bias, ours.k_proj.bias, ours.v_proj.bias]))
            builtin.out_proj.bias.copy_(ours.out_proj.bias)
    return ours, builtin


def padding(batch: int, length: int, lengths: list[int]) -> torch.Tensor:
    """(batch, length) bool, True at real tokens."""
    return torch.arange(length)[None, :] < torch.tensor(lengths)[:, None]


@pytest.mark.parametrize("bias", [True, False])
def test_self_attention_matches_builtin(bias):
    ours, builtin = make_pair(bias=bias)
    x = torch.randn(3, 7, D_MODEL)
    for fused in (True, False):
        out, w = ours(x, x, x, need_weights=not fused)
        ref, ref_w = builtin(x, x, x, need_weights=not fused, average_attn_weights=False)
        torch.testing.assert_close(out, ref, **TOL)
        if not fused:
            assert w.shape == (3, HEADS, 7, 7)
            torch.testing.assert_close(w, ref_w, **TOL)


def test_averaged_weights_are_the_mean_over_heads():
    ours, builtin = make_pair()
    x = torch.randn(2, 5, D_MODEL)
    _, w = ours(x, x, x, need_weights=True)
    _, ref_avg = builtin(x, x, x, need_weights=True, average_attn_weights=True)
    assert ref_avg.shape == (2, 5, 5)
    torch.testing.assert_close(w.mean(dim=1), ref_avg, **TOL)


@pytest.mark.parametrize("need_weights", [False, True])
def test_cross_attention_with_key_padding_matches_builtin(need_weights):
    ours, builtin = make_pair()
    query, memory = torch.randn(2, 4, D_MODEL), torch.randn(2, 6, D_MODEL)
    keep = padding(2, 6, [6, 3])
    out, w = ours(query, memory, memory, mask=attention_mask(keep), need_weights=need_weights)
    ref, ref_w = builtin(query, memory, memory, key_padding_mask=~keep,
                         need_weights=need_weights, average_attn_weights=False)
    torch.testing.assert_close(out, ref, **TOL)
    if need_weights:
        assert w.shape == (2, HEADS, 4, 6)
        torch.testing.assert_close(w, ref_w, **TOL)
        assert torch.all(w[1, :, :, 3:] == 0)


@pytest.mark.parametrize("need_weights", [False, True])
def test_causal_and_padding_masks_match_builtin(need_weights):
    ours, builtin = make_pair()
    x = torch.randn(2, 5, D_MODEL)
    keep = padding(2, 5, [5, 4])
    out, w = ours(x, x, x, mask=attention_mask(keep, causal_size=5), need_weights=need_weights)
    ref, ref_w = builtin(x, x, x, attn_mask=~causal_mask(5), key_padding_mask=~keep,
                         need_weights=need_weights, average_attn_weights=False)
    torch.testing.assert_close(out, ref, **TOL)
    if need_weights:
        torch.testing.assert_close(w, ref_w, **TOL)
        assert torch.all(w.triu(diagonal=1) == 0)


def test_per_head_mask_matches_builtin_3d_attn_mask():
    ours, builtin = make_pair()
    x = torch.randn(2, 5, D_MODEL)
    torch.manual_seed(1)
    allowed = torch.rand(2, HEADS, 5, 5) > 0.4
    allowed |= torch.eye(5, dtype=torch.bool)  # no fully masked row (built-in gives NaN there)
    out, w = ours(x, x, x, mask=allowed, need_weights=True)
    ref, ref_w = builtin(x, x, x, attn_mask=~allowed.reshape(2 * HEADS, 5, 5),
                         need_weights=True, average_attn_weights=False)
    torch.testing.assert_close(out, ref, **TOL)
    torch.testing.assert_close(w, ref_w, **TOL)


def test_fused_and_explicit_paths_agree_with_random_masks():
    ours, _ = make_pair()
    torch.manual_seed(2)
    q, kv = torch.randn(3, 6, D_MODEL), torch.randn(3, 9, D_MODEL)
    for shape in [(3, 1, 1, 9), (3, 1, 6, 9), (3, HEADS, 6, 9), (6, 9)]:
        mask = torch.rand(shape) > 0.5
        fused, none = ours(q, kv, kv, mask=mask)
        explicit, _ = ours(q, kv, kv, mask=mask, need_weights=True)
        assert none is None
        torch.testing.assert_close(fused, explicit, **TOL)


def test_fully_masked_rows_give_bias_only_and_finite_gradients():
    ours, _ = make_pair()
    x = torch.randn(2, 4, D_MODEL)
    mask = torch.ones(2, 1, 4, 4, dtype=torch.bool)
    mask[0, :, 2, :] = False  # query 2 of sequence 0 may attend to nothing
    for need_weights in (False, True):
        xg = x.clone().requires_grad_(True)
        ours.zero_grad()
        out, w = ours(xg, xg, xg, mask=mask, need_weights=need_weights)
        # every head's output is zero, so only the output projection's bias remains
        torch.testing.assert_close(out[0, 2], ours.out_proj.bias, atol=0, rtol=0)
        if need_weights:
            assert torch.all(w[0, :, 2] == 0)
        out.square().sum().backward()
        assert torch.isfinite(xg.grad).all()
        assert all(torch.isfinite(p.grad).all() for p in ours.parameters())


def test_gradients_match_builtin():
    ours, builtin = make_pair()
    ours.train()
    builtin.train()
    x = torch.randn(2, 5, D_MODEL)
    keep = padding(2, 5, [5, 3])
    x1, x2 = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    out, _ = ours(x1, x1, x1, mask=attention_mask(keep))
    ref, _ = builtin(x2, x2, x2, key_padding_mask=~keep, need_weights=False)
    out.square().sum().backward()
    ref.square().sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad, atol=1e-5, rtol=1e-5)
    in_grad = torch.cat([ours.q_proj.weight.grad, ours.k_proj.weight.grad,
                         ours.v_proj.weight.grad])
    torch.testing.assert_close(in_grad, builtin.in_proj_weight.grad, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours.out_proj.weight.grad, builtin.out_proj.weight.grad,
                               atol=1e-5, rtol=1e-5)


def test_gradcheck_in_float64_both_paths():
    torch.manual_seed(3)
    mha = MultiHeadAttention(8, 2).double()
    x = torch.randn(1, 3, 8, dtype=torch.float64, requires_grad=True)
    mask = torch.tensor([[True, True, False], [True, False, False], [False, False, False]])
    for need_weights in (False, True):
        assert torch.autograd.gradcheck(
            lambda t, nw=need_weights: mha(t, t, t, mask=mask, need_weights=nw)[0], (x,))


def test_to_float64_matches_builtin_tightly():
    ours, builtin = make_pair()
    ours, builtin = ours.to(torch.float64), builtin.to(torch.float64)
    x = torch.randn(2, 5, D_MODEL, dtype=torch.float64)
    for need_weights in (False, True):
        out, w = ours(x, x, x, mask=causal_mask(5), need_weights=need_weights)
        ref, _ = builtin(x, x, x, attn_mask=~causal_mask(5), need_weights=False)
        assert out.dtype == torch.float64
        torch.testing.assert_close(out, ref, atol=1e-12, rtol=1e-12)


def test_shapes_and_need_weights():
    mha = MultiHeadAttention(12, 3)
    out, w = mha(torch.randn(4, 2, 12), torch.randn(4, 7, 12), torch.randn(4, 7, 12))
    assert out.shape == (4, 2, 12) and w is None
    out, w = mha(torch.randn(4, 2, 12), torch.randn(4, 7, 12), torch.randn(4, 7, 12),
                 need_weights=True)
    assert w.shape == (4, 3, 2, 7)
    torch.testing.assert_close(w.sum(-1), torch.ones(4, 3, 2))
    assert mha.d_k == 4
    assert sum(p.numel() for p in mha.parameters()) == 4 * 12 * 12 + 4 * 12


def test_dropout_acts_only_in_training():
    torch.manual_seed(4)
    mha = MultiHeadAttention(D_MODEL, HEADS, dropout=0.5)
    x = torch.randn(2, 6, D_MODEL)
    mha.eval()
    a, _ = mha(x, x, x)
    b, _ = mha(x, x, x, need_weights=True)
    torch.testing.assert_close(a, b, **TOL)
    mha.train()
    _, w = mha(x, x, x, need_weights=True)
    assert (w == 0).any()  # dropped weights
    assert not torch.allclose(mha(x, x, x)[0], a)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_runs_on_cuda_and_matches_cpu():
    ours, _ = make_pair()
    x = torch.randn(2, 5, D_MODEL)
    mask = attention_mask(padding(2, 5, [5, 2]), causal_size=5)
    ref, _ = ours(x, x, x, mask=mask)
    gpu = ours.to("cuda")
    out, _ = gpu(x.cuda(), x.cuda(), x.cuda(), mask=mask.cuda())
    torch.testing.assert_close(out.cpu(), ref, atol=1e-5, rtol=1e-4)


def test_bad_construction():
    with pytest.raises(ValueError, match=r"d_model=10 is not divisible by num_heads=4"):
        MultiHeadAttention(10, 4)
    with pytest.raises(ValueError, match=r"num_heads=0"):
        MultiHeadAttention(8, 0)
    with pytest.raises(ValueError, match=r"dropout=1\.5"):
        MultiHeadAttention(8, 2, dropout=1.5)


def test_bad_inputs_name_the_values():
    mha = MultiHeadAttention(8, 2)
    x = torch.randn(2, 5, 8)
    with pytest.raises(ValueError, match=r"query must have shape .*d_model=8.*\(2, 5, 6\)"):
        mha(torch.randn(2, 5, 6), x, x)
    with pytest.raises(ValueError, match=r"batch size"):
        mha(torch.randn(3, 5, 8), x, x)
    with pytest.raises(TypeError, match=r"query must be a torch.Tensor, got list"):
        mha([1.0], x, x)
    with pytest.raises(TypeError, match=r"floating-point dtype, got torch.int64"):
        mha(torch.ones(2, 5, 8, dtype=torch.long), x, x)
    for need_weights in (False, True):
        with pytest.raises(TypeError, match=r"dtype torch.bool .*got torch.float32"):
            mha(x, x, x, mask=torch.ones(5, 5), need_weights=need_weights)
        with pytest.raises(TypeError, match=r"dtype torch.bool .*got torch.int64"):
            mha(x, x, x, mask=torch.ones(5, 5, dtype=torch.long), need_weights=need_weights)
        with pytest.raises(ValueError, match=r"mask of shape \(5, 4\) does not broadcast.*"
                                             r"\(2, 2, 5, 5\)"):
            mha(x, x, x, mask=torch.ones(5, 4, dtype=torch.bool), need_weights=need_weights)
        with pytest.raises(ValueError, match=r"mask of shape \(2, 5\) does not broadcast"):
            # a (batch, seq) padding mask must be reshaped to (batch, 1, 1, seq) first
            mha(x, x, x, mask=torch.ones(2, 5, dtype=torch.bool), need_weights=need_weights)
