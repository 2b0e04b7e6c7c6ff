"""Tests of transformer_book.layers: the feed-forward network, the encoder and decoder layers and
stacks, checked against torch.nn's built-ins with copied weights."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from transformer_book import (
    Decoder,
    DecoderLayer,
    Encoder,
    EncoderLayer,
    FeedForward,
    attention_mask,
    causal_mask,
)
from transformer_book.torch_parity import copy_torch_weights

D_MODEL, HEADS, D_FF = 16, 4, 32
ATOL = 1e-5


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _inputs():
    x = torch.randn(3, 6, D_MODEL)
    memory = torch.randn(3, 5, D_MODEL)
    src_pad = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], dtype=torch.bool)
    return x, memory, src_pad


# --- FeedForward -----------------------------------------------------------------------------

def test_feed_forward_is_the_papers_formula():
    ff = FeedForward(D_MODEL, D_FF)
    x = torch.randn(2, 5, D_MODEL)
    w1, b1 = ff.linear1.weight, ff.linear1.bias
    w2, b2 = ff.linear2.weight, ff.linear2.bias
    expected = torch.clamp(x @ w1.T + b1, min=0) @ w2.T + b2
    torch.testing.assert_close(ff(x), expected)
    assert sum(p.numel() for p in ff.parameters()) == 2 * D_MODEL * D_FF + D_FF + D_MODEL


def test_feed_forward_is_position_wise():
    ff = FeedForward(D_MODEL, D_FF)
    x = torch.randn(2, 7, D_MODEL)
    perm = torch.randperm(7)
    torch.testing.assert_close(ff(x)[:, perm], ff(x[:, perm]))
    torch.testing.assert_close(ff(x)[:, 3], ff(x[:, 3]))


@pytest.mark.parametrize("kwargs, word", [
    (dict(d_model=0, d_ff=8), "d_model=0"),
    (dict(d_model=8, d_ff=-1), "d_ff=-1"),
    (dict(d_model=8, d_ff=8, dropout=1.0), "dropout=1.0"),
])
def test_feed_forward_rejects_bad_arguments(kwargs, word):
    with pytest.raises(ValueError, match=word):
        FeedForward(**kwargs)


# --- layers against torch.nn -----------------------------------------------------------------

def _layer_and_torch_twin(ours_class: type, theirs_class: type, norm_first: bool):
    """Our layer and PyTorch's, without dropout, holding the same weights."""
    ours = ours_class(D_MODEL, HEADS, D_FF, dropout=0.0, norm_first=norm_first)
    theirs = theirs_class(D_MODEL, HEADS, D_FF, dropout=0.0, activation="relu", batch_first=True,
                          norm_first=norm_first)
    copy_torch_weights(ours, theirs)
    return ours, theirs


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_matches_torch(norm_first):
    ours, theirs = _layer_and_torch_twin(EncoderLayer, nn.TransformerEncoderLayer, norm_first)
    x, _, _ = _inputs()
    pad = torch.ones(3, 6, dtype=torch.bool)
    pad[1, 4:] = False
    x_ours = x.clone().requires_grad_()
    x_theirs = x.clone().requires_grad_()
    a = ours(x_ours, attention_mask(pad))
    b = theirs(x_theirs, src_key_padding_mask=~pad)
    torch.testing.assert_close(a, b, atol=ATOL, rtol=0)
    # Gradients agree too (at real positions, which is what a loss would use).
    (a[pad] ** 2).sum().backward()
    (b[pad] ** 2).sum().backward()
    torch.testing.assert_close(x_ours.grad, x_theirs.grad, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_torch(norm_first):
    ours, theirs = _layer_and_torch_twin(DecoderLayer, nn.TransformerDecoderLayer, norm_first)
    x, memory, src_pad = _inputs()
    a, weights = ours(x, memory, self_attn_mask=causal_mask(6),
                      cross_attn_mask=attention_mask(src_pad))
    assert weights is None
    b = theirs(x, memory, tgt_mask=~causal_mask(6), memory_key_padding_mask=~src_pad)
    torch.testing.assert_close(a, b, atol=ATOL, rtol=0)


@pytest.mark.parametrize("norm_first", [False, True])
def test_stacks_match_torch(norm_first):
    enc = Encoder(D_MODEL, HEADS, 3, D_FF, dropout=0.0, norm_first=norm_first)
    dec = Decoder(D_MODEL, HEADS, 3, D_FF, dropout=0.0, norm_first=norm_first)
    final = (lambda: nn.LayerNorm(D_MODEL)) if norm_first else (lambda: None)
    t_enc = nn.TransformerEncoder(
        nn.TransformerEncoderLayer(D_MODEL, HEADS, D_FF, 0.0, batch_first=True,
                                   norm_first=norm_first),
        3, norm=final(), enable_nested_tensor=False)
    t_dec = nn.TransformerDecoder(
        nn.TransformerDecoderLayer(D_MODEL, HEADS, D_FF, 0.0, batch_first=True,
                                   norm_first=norm_first), 3, norm=final())
    if norm_first:  # give the final norms non-trivial weights so copying them is tested
        for norm in (t_enc.norm, t_dec.norm):
            nn.init.normal_(norm.weight)
            nn.init.normal_(norm.bias)
    copy_torch_weights(enc, t_enc)
    copy_torch_weights(dec, t_dec)
    _, src, src_pad = _inputs()
    tgt = torch.randn(3, 4, D_MODEL)
    memory = enc(src, attention_mask(src_pad))
    t_memory = t_enc(src, src_key_padding_mask=~src_pad)
    torch.testing.assert_close(memory[src_pad], t_memory[src_pad], atol=ATOL, rtol=0)
    out, weights = dec(tgt, memory, causal_mask(4), attention_mask(src_pad))
    assert weights is None
    t_out = t_dec(tgt, t_memory, tgt_mask=~causal_mask(4), memory_key_padding_mask=~src_pad)
    torch.testing.assert_close(out, t_out, atol=ATOL, rtol=0)


def test_stacks_end_with_a_norm_only_in_pre_ln():
    assert isinstance(Encoder(D_MODEL, HEADS, 2, D_FF).norm, nn.Identity)
    assert isinstance(Decoder(D_MODEL, HEADS, 2, D_FF).norm, nn.Identity)
    assert isinstance(Encoder(D_MODEL, HEADS, 2, D_FF, norm_first=True).norm, nn.LayerNorm)
    assert isinstance(Decoder(D_MODEL, HEADS, 2, D_FF, norm_first=True).norm, nn.LayerNorm)


def test_post_ln_layer_outputs_are_normalised():
    layer = EncoderLayer(D_MODEL, HEADS, D_FF, dropout=0.0)
    out = layer(10 * torch.randn(2, 5, D_MODEL))
    torch.testing.assert_close(out.mean(-1), torch.zeros(2, 5), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.var(-1, unbiased=False), torch.ones(2, 5), atol=1e-3, rtol=0)


# --- behaviour ---------------------------------------------------------------------------------

def test_decoder_layer_is_causal_and_ignores_padded_memory():
    layer = DecoderLayer(D_MODEL, HEADS, D_FF, dropout=0.0)
    x, memory, src_pad = _inputs()
    mask = attention_mask(src_pad)
    out, _ = layer(x, memory, causal_mask(6), mask)
    x2 = x.clone()
    x2[:, 4:] = torch.randn(3, 2, D_MODEL)  # change the last two target positions
    memory2 = memory.masked_fill(~src_pad[..., None], 123.0)  # change padded memory rows
    out2, _ = layer(x2, memory2, causal_mask(6), mask)
    torch.testing.assert_close(out[:, :4], out2[:, :4], atol=1e-6, rtol=0)
    assert not torch.allclose(out[:, 4:], out2[:, 4:])


def test_cross_attention_weights():
    dec = Decoder(D_MODEL, HEADS, 2, D_FF, dropout=0.0)
    x, memory, src_pad = _inputs()
    out, weights = dec(x, memory, causal_mask(6), attention_mask(src_pad), need_weights=True)
    assert out.shape == x.shape and len(weights) == 2
    for w in weights:
        assert w.shape == (3, HEADS, 6, 5)
        torch.testing.assert_close(w.sum(-1), torch.ones(3, HEADS, 6))
        assert (w.masked_select(~src_pad[:, None, None, :]) == 0).all()
    torch.testing.assert_close(out, dec(x, memory, causal_mask(6), attention_mask(src_pad))[0])


def test_decoder_layer_returns_the_same_shape_of_result_with_or_without_weights():
    layer = DecoderLayer(D_MODEL, HEADS, D_FF, dropout=0.0)
    x, memory, src_pad = _inputs()
    masks = (causal_mask(6), attention_mask(src_pad))
    out, none = layer(x, memory, *masks)
    out_w, weights = layer(x, memory, *masks, need_weights=True)
    assert none is None and weights.shape == (3, HEADS, 6, 5)
    torch.testing.assert_close(out, out_w)


def test_dropout_only_in_training():
    layer = EncoderLayer(D_MODEL, HEADS, D_FF, dropout=0.5)
    x = torch.randn(2, 5, D_MODEL)
    assert not torch.allclose(layer(x), layer(x))  # training: two different dropout masks
    layer.eval()
    torch.testing.assert_close(layer(x), layer(x))


DROPOUTS = ("dropout", "attn_dropout", "ffn_dropout")


def _run(layer: nn.Module, x: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
    return layer(x) if isinstance(layer, EncoderLayer) else layer(x, memory)[0]


@pytest.mark.parametrize("layer_class", [EncoderLayer, DecoderLayer])
@pytest.mark.parametrize("name", DROPOUTS)
def test_each_dropout_acts_in_training_only(layer_class, name):
    x, memory = torch.randn(2, 5, D_MODEL), torch.randn(2, 4, D_MODEL)
    rates = {other: 0.0 for other in DROPOUTS}
    off = layer_class(D_MODEL, HEADS, D_FF, **rates)
    on = layer_class(D_MODEL, HEADS, D_FF, **{**rates, name: 0.5})
    on.load_state_dict(off.state_dict())
    off.eval()
    torch.testing.assert_close(_run(on.eval(), x, memory), _run(off, x, memory))  # eval: same
    on.train()
    assert not torch.allclose(_run(on, x, memory), _run(off, x, memory))  # training: dropped


@pytest.mark.parametrize("layer_class", [EncoderLayer, DecoderLayer])
def test_zero_dropouts_are_the_identity_in_training(layer_class):
    x, memory = torch.randn(2, 5, D_MODEL), torch.randn(2, 4, D_MODEL)
    layer = layer_class(D_MODEL, HEADS, D_FF, dropout=0.0, attn_dropout=0.0, ffn_dropout=0.0)
    trained = _run(layer.train(), x, memory)
    torch.testing.assert_close(trained, _run(layer.eval(), x, memory), atol=0, rtol=0)


def test_attention_and_feed_forward_dropouts_sit_where_named():
    layer = DecoderLayer(D_MODEL, HEADS, D_FF, dropout=0.1, attn_dropout=0.2, ffn_dropout=0.3)
    assert layer.self_attn.dropout == layer.cross_attn.dropout == 0.2
    assert layer.feed_forward.dropout.p == 0.3
    assert {layer.dropout1.p, layer.dropout2.p, layer.dropout3.p} == {0.1}
    stack = Encoder(D_MODEL, HEADS, 2, D_FF, attn_dropout=0.2, ffn_dropout=0.3)
    assert all(lay.self_attn.dropout == 0.2 and lay.feed_forward.dropout.p == 0.3
               for lay in stack.layers)
    default = EncoderLayer(D_MODEL, HEADS, D_FF)
    assert default.self_attn.dropout == 0.0 and default.feed_forward.dropout.p == 0.0


@pytest.mark.parametrize("layer_class", [EncoderLayer, DecoderLayer])
@pytest.mark.parametrize("name", DROPOUTS)
def test_bad_dropouts_raise(layer_class, name):
    with pytest.raises(ValueError, match=f"{name}=1.0 must be a number in"):
        layer_class(D_MODEL, HEADS, D_FF, **{name: 1.0})
    with pytest.raises(ValueError, match=f"{name}=-0.1 must be a number in"):
        layer_class(D_MODEL, HEADS, D_FF, **{name: -0.1})
    with pytest.raises(TypeError, match=name):
        layer_class(D_MODEL, HEADS, D_FF, **{name: "0.1"})


@pytest.mark.parametrize("norm_first", [False, True])
def test_float64_and_gradients(norm_first):
    enc = Encoder(D_MODEL, HEADS, 2, D_FF, norm_first=norm_first).double()
    x = torch.randn(2, 5, D_MODEL, dtype=torch.float64, requires_grad=True)
    out = enc(x)
    assert out.dtype == torch.float64
    out.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in enc.parameters())


def test_layers_reject_bad_arguments():
    with pytest.raises(ValueError, match="d_model=10 is not divisible by num_heads=4"):
        EncoderLayer(10, 4, 32)
    with pytest.raises(TypeError, match="num_layers=2.0 must be an int"):
        Encoder(D_MODEL, HEADS, 2.0, D_FF)
    with pytest.raises(TypeError):  # dropout and the rest are keyword-only
        EncoderLayer(D_MODEL, HEADS, D_FF, 0.1)
    with pytest.raises(ValueError, match="num_layers=0"):
        Encoder(D_MODEL, HEADS, 0, D_FF)
    with pytest.raises(ValueError, match="num_layers=-2"):
        Decoder(D_MODEL, HEADS, -2, D_FF)


def test_copy_torch_weights_rejects_mismatches():
    with pytest.raises(TypeError, match="cannot copy"):
        copy_torch_weights(EncoderLayer(D_MODEL, HEADS, D_FF),
                           nn.TransformerDecoderLayer(D_MODEL, HEADS, D_FF, batch_first=True))
    with pytest.raises(ValueError, match="norm_first"):
        copy_torch_weights(EncoderLayer(D_MODEL, HEADS, D_FF, norm_first=True),
                           nn.TransformerEncoderLayer(D_MODEL, HEADS, D_FF, batch_first=True))
    # nn.Transformer's post-LN stacks end with a LayerNorm that the paper's do not have.
    t_enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(D_MODEL, HEADS, D_FF,
                                                             batch_first=True),
                                  2, norm=nn.LayerNorm(D_MODEL), enable_nested_tensor=False)
    with pytest.raises(ValueError, match="final norm"):
        copy_torch_weights(Encoder(D_MODEL, HEADS, 2, D_FF), t_enc)


@pytest.mark.parametrize("kwargs, message", [
    (dict(activation="gelu"), "activation mismatch"),
    (dict(layer_norm_eps=1e-6), "eps"),
    (dict(bias=False), "bias mismatch"),
])
def test_copy_torch_weights_refuses_a_layer_that_computes_something_else(kwargs, message):
    theirs = nn.TransformerEncoderLayer(D_MODEL, HEADS, D_FF, batch_first=True, **kwargs)
    with pytest.raises(ValueError, match=message):
        copy_torch_weights(EncoderLayer(D_MODEL, HEADS, D_FF), theirs)


def test_layers_call_their_attention_modules_so_that_hooks_see_them():
    """As in torch.nn.TransformerEncoderLayer, a forward hook on a layer's attention fires: the
    chapters catch attention weights this way."""
    torch.manual_seed(0)
    encoder, decoder = EncoderLayer(16, 2, 32), DecoderLayer(16, 2, 32)
    seen = []
    for module in (encoder.self_attn, decoder.self_attn, decoder.cross_attn):
        module.register_forward_hook(lambda m, args, out: seen.append(out[0].shape))
    x, memory = torch.randn(2, 5, 16), torch.randn(2, 7, 16)
    decoder(encoder(x), memory)
    assert seen == [torch.Size((2, 5, 16))] * 3
