"""Tests of transformer_book.model: configuration presets, the full encoder-decoder, its masks,
dtypes, devices, weight tying, and its equivalence with torch.nn.Transformer."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from transformer_book import Transformer, TransformerConfig, attention_mask, causal_mask
from transformer_book.torch_parity import copy_torch_weights

SRC_V, TGT_V = 23, 19


def _model(**overrides) -> Transformer:
    torch.manual_seed(0)
    kw = dict(d_model=32, num_heads=4, num_layers=2, d_ff=64, dropout=0.0, max_len=16)
    return Transformer(TransformerConfig.small(SRC_V, TGT_V, **{**kw, **overrides})).eval()


def _batch(batch=3, src_len=7, tgt_len=5):
    g = torch.Generator().manual_seed(1)
    src = torch.randint(1, SRC_V, (batch, src_len), generator=g)
    tgt = torch.randint(1, TGT_V, (batch, tgt_len), generator=g)
    src_pad = torch.ones(batch, src_len, dtype=torch.bool)
    src_pad[1, 5:] = False
    src_pad[2, 2:] = False
    tgt_pad = torch.ones(batch, tgt_len, dtype=torch.bool)
    tgt_pad[2, 3:] = False
    return src, tgt, src_pad, tgt_pad


# --- configuration ---------------------------------------------------------------------------

def test_presets_follow_table_3():
    base, big = TransformerConfig.base(), TransformerConfig.big()
    assert (base.d_model, base.num_heads, base.num_layers, base.d_ff, base.dropout) == (
        512, 8, 6, 2048, 0.1)
    assert (big.d_model, big.num_heads, big.num_layers, big.d_ff, big.dropout) == (
        1024, 16, 6, 4096, 0.3)
    for c in (base, big):
        assert c.src_vocab_size == c.tgt_vocab_size == 37000 and c.share_embeddings
        assert not c.norm_first
    assert TransformerConfig.base(vocab_size=1000, num_layers=2).num_layers == 2
    assert TransformerConfig.base().to_dict()["d_ff"] == 2048


def test_each_size_is_one_model_with_one_or_two_vocabularies():
    sizes = {name: getattr(TransformerConfig, name)(100) for name in TransformerConfig.SIZES}
    shape = {name: (c.d_model, c.num_heads, c.num_layers, c.d_ff, c.dropout)
             for name, c in sizes.items()}
    assert shape == {"tiny": (32, 2, 1, 64, 0.0), "small": (64, 4, 2, 128, 0.0),
                     "base": (512, 8, 6, 2048, 0.1), "big": (1024, 16, 6, 4096, 0.3)}
    for c in sizes.values():  # one vocabulary: shared by source and target, embeddings shared
        assert c.src_vocab_size == c.tgt_vocab_size == 100 and c.share_embeddings
    two = TransformerConfig.small(100, 90)  # two vocabularies: separate embeddings
    assert (two.src_vocab_size, two.tgt_vocab_size, two.share_embeddings) == (100, 90, False)
    assert (two.d_model, two.d_ff) == (sizes["small"].d_model, sizes["small"].d_ff)
    assert TransformerConfig.tiny(10, dropout=0.2).dropout == 0.2


def test_every_size_drops_out_as_the_paper_does():
    for name in TransformerConfig.SIZES:
        c = getattr(TransformerConfig, name)(100)
        assert (c.attn_dropout, c.ffn_dropout) == (0.0, 0.0), name
    c = TransformerConfig.tiny(10, attn_dropout=0.1, ffn_dropout=0.2)
    model = Transformer(c)
    for layer in (*model.encoder.layers, *model.decoder.layers):
        assert layer.self_attn.dropout == 0.1 and layer.feed_forward.dropout.p == 0.2
        assert layer.dropout1.p == c.dropout == 0.0
    assert model.positional.dropout.p == 0.0


@pytest.mark.parametrize("name", ["dropout", "attn_dropout", "ffn_dropout"])
def test_each_dropout_changes_training_only(name):
    src, tgt, src_pad, tgt_pad = _batch()
    off = _model()
    on = _model(**{name: 0.5})
    on.load_state_dict(off.state_dict())
    torch.testing.assert_close(on(src, tgt, src_pad, tgt_pad), off(src, tgt, src_pad, tgt_pad))
    on.train()
    assert not torch.allclose(on(src, tgt, src_pad, tgt_pad), off(src, tgt, src_pad, tgt_pad))


def test_parameter_counts_of_base_and_big():
    with torch.device("meta"):  # shapes only: no memory, no time
        base = Transformer(TransformerConfig.base())
        big = Transformer(TransformerConfig.big())
    assert sum(p.numel() for p in base.parameters()) == 63_082_496
    assert sum(p.numel() for p in big.parameters()) == 214_245_376


@pytest.mark.parametrize("kwargs, words", [
    (dict(src_vocab_size=0, tgt_vocab_size=10), "src_vocab_size=0"),
    (dict(src_vocab_size=10, tgt_vocab_size=-3), "tgt_vocab_size=-3"),
    (dict(src_vocab_size=10, tgt_vocab_size=10, d_model=10, num_heads=4),
     "d_model=10 is not divisible by num_heads=4"),
    (dict(src_vocab_size=10, tgt_vocab_size=12, share_embeddings=True), "share_embeddings"),
    (dict(src_vocab_size=10, tgt_vocab_size=10, dropout=1.5), "dropout=1.5"),
    (dict(src_vocab_size=10, tgt_vocab_size=10, attn_dropout=1.0), "attn_dropout=1.0"),
    (dict(src_vocab_size=10, tgt_vocab_size=10, ffn_dropout=-0.5), "ffn_dropout=-0.5"),
    (dict(src_vocab_size=10, tgt_vocab_size=10, max_len=0), "max_len=0"),
])
def test_config_rejects_bad_values(kwargs, words):
    with pytest.raises(ValueError, match=words):
        TransformerConfig(**kwargs)


@pytest.mark.parametrize("kwargs, words", [
    (dict(src_vocab_size=10.0, tgt_vocab_size=10), "src_vocab_size=10.0 must be an int"),
    (dict(src_vocab_size=10, tgt_vocab_size=10, dropout="0.1"), "dropout='0.1' must be a number"),
])
def test_config_rejects_bad_types(kwargs, words):
    with pytest.raises(TypeError, match=words):
        TransformerConfig(**kwargs)


def test_model_needs_a_config():
    with pytest.raises(TypeError, match="TransformerConfig"):
        Transformer({"src_vocab_size": 3})


# --- forward pass ----------------------------------------------------------------------------

def test_forward_shapes_and_pieces():
    model = _model()
    src, tgt, src_pad, tgt_pad = _batch()
    logits = model(src, tgt, src_pad, tgt_pad)
    assert logits.shape == (3, 5, TGT_V)
    memory = model.encode(src, src_pad)
    assert memory.shape == (3, 7, 32)
    logits1, none = model.decode(tgt, memory, src_pad, tgt_pad)
    torch.testing.assert_close(logits, logits1)
    assert none is None  # the same shape of result with or without weights
    logits2, weights = model.decode(tgt, memory, src_pad, tgt_pad, need_weights=True)
    torch.testing.assert_close(logits, logits2)
    assert len(weights) == 2 and weights[0].shape == (3, 4, 5, 7)


def test_embeddings_are_scaled_and_positioned():
    model = _model()
    src, _, _, _ = _batch()
    x = model.src_embed(src) * math.sqrt(32) + model.positional.pe[:7]
    torch.testing.assert_close(model.encode(src), model.encoder(x))


def test_causality():
    model = _model()
    src, tgt, src_pad, _ = _batch()
    logits = model(src, tgt, src_pad)
    tgt2 = tgt.clone()
    tgt2[:, 3:] = (tgt2[:, 3:] + 1) % TGT_V  # change the tokens at positions 3 and 4
    logits2 = model(src, tgt2, src_pad)
    torch.testing.assert_close(logits[:, :3], logits2[:, :3], atol=1e-6, rtol=0)
    assert not torch.allclose(logits[:, 3:], logits2[:, 3:])


@pytest.mark.parametrize("norm_first", [False, True])
def test_padding_invariance(norm_first):
    model = _model(norm_first=norm_first)
    src, tgt, src_pad, tgt_pad = _batch()
    logits = model(src, tgt, src_pad, tgt_pad)
    src2 = torch.where(src_pad, src, (src + 5) % SRC_V)  # change only the padded source tokens
    tgt2 = torch.where(tgt_pad, tgt, (tgt + 5) % TGT_V)
    logits2 = model(src2, tgt2, src_pad, tgt_pad)
    torch.testing.assert_close(logits[tgt_pad], logits2[tgt_pad], atol=1e-6, rtol=0)
    memory, memory2 = model.encode(src, src_pad), model.encode(src2, src_pad)
    torch.testing.assert_close(memory[src_pad], memory2[src_pad], atol=1e-6, rtol=0)
    # Without the mask the padded tokens do leak into the result.
    assert not torch.allclose(model(src, tgt), model(src2, tgt))


def test_left_padding_gives_no_nan():
    model = _model()
    src, tgt, src_pad, tgt_pad = _batch()
    tgt_pad = torch.ones_like(tgt_pad)
    tgt_pad[0, :2] = False  # rows that see nothing at all under the causal mask
    assert torch.isfinite(model(src, tgt, src_pad, tgt_pad)).all()


def test_float64():
    model = _model().double()
    src, tgt, src_pad, tgt_pad = _batch()
    logits = model(src, tgt, src_pad, tgt_pad)
    assert logits.dtype == torch.float64 and torch.isfinite(logits).all()
    torch.testing.assert_close(logits.float(), _model()(src, tgt, src_pad, tgt_pad),
                               atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("norm_first", [False, True])
def test_bfloat16_autocast(norm_first):
    model = _model(norm_first=norm_first).train()  # dropout 0, but the training code path
    src, tgt, src_pad, tgt_pad = _batch()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(src, tgt, src_pad, tgt_pad)
    assert logits.dtype == torch.bfloat16
    assert torch.isfinite(logits.float()).all()
    logits.float().sum().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    reference = model(src, tgt, src_pad, tgt_pad)
    assert (logits.float() - reference).abs().max() < 0.25  # bf16 has 8 bits of mantissa


def test_meta_device_follows_to():
    model = _model().to("meta")
    assert all(t.device.type == "meta" for t in [*model.parameters(), *model.buffers()])
    src, tgt, src_pad, tgt_pad = (t.to("meta") for t in _batch())
    logits = model(src, tgt, src_pad, tgt_pad)
    assert logits.device.type == "meta" and logits.shape == (3, 5, TGT_V)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu_without_synchronising():
    model = _model()
    batch = _batch()
    expected = model(*batch)
    model_gpu = model.to("cuda")
    batch_gpu = [t.cuda() for t in batch]
    model_gpu(*batch_gpu)  # warm up (lazy initialisation may synchronise once)
    torch.cuda.set_sync_debug_mode("error")
    try:
        logits = model_gpu(*batch_gpu)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert logits.device.type == "cuda"
    torch.testing.assert_close(logits.cpu(), expected, atol=1e-4, rtol=1e-4)


def test_forward_does_not_read_tensor_values_on_the_host(monkeypatch):
    model = _model(norm_first=True).train()
    batch = _batch()

    def forbidden(*args, **kwargs):
        raise AssertionError("host-device synchronisation in forward")

    for name in ("item", "tolist", "__bool__"):
        monkeypatch.setattr(torch.Tensor, name, forbidden)
    logits = model(*batch)
    monkeypatch.undo()
    assert logits.shape == (3, 5, TGT_V)
    with pytest.raises(AssertionError):  # the patch really does catch such calls
        monkeypatch.setattr(torch.Tensor, "__bool__", forbidden)
        bool(torch.tensor(True))
    monkeypatch.undo()


# --- weight tying and the comparison with torch.nn.Transformer ------------------------------

def test_weight_tying():
    model = _model()
    assert model.generator.weight is model.tgt_embed.weight
    assert model.src_embed is not model.tgt_embed
    shared = Transformer(TransformerConfig.small(20))
    assert shared.src_embed is shared.tgt_embed
    assert shared.generator.weight is shared.src_embed.weight
    untied = Transformer(TransformerConfig.small(20, 20, tie_embeddings=False))
    assert not untied.config.share_embeddings
    assert untied.generator.weight is not untied.tgt_embed.weight
    n = sum(p.numel() for p in untied.parameters()) - sum(p.numel() for p in shared.parameters())
    assert n == 2 * 20 * 64  # the source embedding and the output projection
    # A tied model survives a state_dict round trip with its weights still tied.
    copy = Transformer(TransformerConfig.small(20))
    copy.load_state_dict(shared.state_dict())
    assert copy.generator.weight is copy.tgt_embed.weight
    torch.testing.assert_close(copy.generator.weight, shared.generator.weight)


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")
@pytest.mark.parametrize("norm_first", [False, True])
def test_body_matches_torch_transformer(norm_first):
    model = _model(norm_first=norm_first)
    c = model.config
    torch.manual_seed(1)
    theirs = nn.Transformer(c.d_model, c.num_heads, c.num_layers, c.num_layers, c.d_ff,
                            dropout=0.0, batch_first=True, norm_first=norm_first).eval()
    if not norm_first:  # nn.Transformer's post-LN stacks end with a LayerNorm; the paper's do not
        theirs.encoder.norm = nn.Identity()
        theirs.decoder.norm = nn.Identity()
    copy_torch_weights(model.encoder, theirs.encoder)
    copy_torch_weights(model.decoder, theirs.decoder)
    src, tgt, src_pad, tgt_pad = _batch()
    x_src = model.positional(model.src_embed(src) * math.sqrt(c.d_model))
    x_tgt = model.positional(model.tgt_embed(tgt) * math.sqrt(c.d_model))
    out = model.generator(theirs(
        x_src, x_tgt, tgt_mask=~causal_mask(5), src_key_padding_mask=~src_pad,
        tgt_key_padding_mask=~tgt_pad, memory_key_padding_mask=~src_pad, tgt_is_causal=True))
    ours = model(src, tgt, src_pad, tgt_pad)
    torch.testing.assert_close(ours[tgt_pad], out[tgt_pad], atol=1e-5, rtol=0)
    memory = model.encoder(x_src, attention_mask(src_pad))
    torch.testing.assert_close(memory, model.encode(src, src_pad))


# --- bad input -------------------------------------------------------------------------------

def test_bad_inputs_raise_clear_errors():
    model = _model()
    src, tgt, src_pad, tgt_pad = _batch()
    with pytest.raises(ValueError, match="share the batch size, got 3 and 2"):
        model(src, tgt[:2])
    with pytest.raises(ValueError, match="length 17, longer than max_len=16"):
        model(torch.randint(SRC_V, (3, 17)), tgt)
    with pytest.raises(ValueError, match="tgt has length 20"):
        model(src, torch.randint(TGT_V, (3, 20)))
    with pytest.raises(TypeError, match="src must hold integer token ids, got torch.float32"):
        model(src.float(), tgt)
    with pytest.raises(ValueError, match=r"tgt must have shape \(batch, seq\)"):
        model.decode(tgt[0], model.encode(src))
    with pytest.raises(TypeError, match="torch.Tensor"):
        model([[1, 2]], tgt)
    with pytest.raises(TypeError, match="src_padding_mask must be a bool tensor"):
        model(src, tgt, src_pad.long())
    with pytest.raises(ValueError, match=r"tgt_padding_mask must have shape \(3, 5\)"):
        model(src, tgt, src_pad, tgt_pad[:, :2])
    with pytest.raises(ValueError, match="memory must have shape"):
        model.decode(tgt, torch.randn(3, 7, 8))
    with pytest.raises(ValueError, match="tgt has batch size 3 but the memory"):
        model.decode(tgt, torch.randn(2, 7, 32))


def test_switches_of_the_configs_must_be_bools():
    # A checkpoint's config could say norm_first="no", which is truthy.
    from transformer_book.training import TrainingConfig

    with pytest.raises(TypeError, match="norm_first='no' must be a bool"):
        TransformerConfig.tiny(10, norm_first="no")
    with pytest.raises(TypeError, match="amp='no' must be a bool"):
        TrainingConfig(amp="no")
