"""The decoder-only language model: equal to PyTorch's encoder stack with a causal mask and to a
nanoGPT-style GPT with the same weights, its key/value cache, rotary positions, the later
recipes' parts (SwiGLU, RMSNorm), the next-token loss, and bad input."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from transformer_book import EncoderLayer, KVCache, MultiHeadAttention, set_seed
from transformer_book.layers import DecoderCache, SwiGLU
from transformer_book.models.language_model import (
    LanguageModel,
    LanguageModelConfig,
    next_token_loss,
)
from transformer_book.positional import RotaryEmbedding, sinusoidal_encoding
from transformer_book.torch_parity import copy_torch_weights

VARIANTS = {
    "gpt2": {},
    "paper": dict(norm_first=False, ffn="relu", positions="sinusoidal", scale_embeddings=True),
    "rotary": dict(positions="rotary"),
    "no positions": dict(positions="none"),
    "swiglu-rmsnorm": dict(ffn="swiglu", norm="rmsnorm", d_ff=96),
    "untied, dropout": dict(tie_embeddings=False, dropout=0.1, attn_dropout=0.1),
}


def make(seed: int = 0, vocab_size: int = 40, **overrides) -> LanguageModel:
    set_seed(seed)
    config = LanguageModelConfig.tiny(vocab_size, d_model=32, num_heads=4, d_ff=64, max_len=32)
    return LanguageModel(dataclasses.replace(config, **overrides))


def tokens(batch: int = 3, seq: int = 11, vocab_size: int = 40, seed: int = 1) -> torch.Tensor:
    return torch.randint(vocab_size, (batch, seq), generator=torch.Generator().manual_seed(seed))


# --- equal to PyTorch's encoder with a causal mask, and to nanoGPT ------------------------------


@pytest.mark.parametrize("norm_first, ffn", [(True, "gelu"), (False, "relu")])
def test_the_stack_is_torchs_transformer_encoder_with_a_causal_mask(norm_first, ffn):
    model = make(norm_first=norm_first, ffn=ffn).eval()
    c = model.config
    theirs = nn.TransformerEncoder(
        nn.TransformerEncoderLayer(c.d_model, c.num_heads, c.d_ff, dropout=0.0, batch_first=True,
                                   norm_first=norm_first, activation=ffn),
        c.num_layers, norm=nn.LayerNorm(c.d_model) if norm_first else None,
        enable_nested_tensor=False).eval()
    for p in theirs.parameters():  # random values everywhere, LayerNorm gains and biases too
        nn.init.normal_(p, std=0.3)
    copy_torch_weights(model.stack, theirs)
    x = tokens()
    embedded = model.tok_embed(x) + model.pos_embed(torch.arange(x.size(1)))
    mask = nn.Transformer.generate_square_subsequent_mask(x.size(1))
    expected = model.head(theirs(embedded, mask=mask, is_causal=True))
    torch.testing.assert_close(model(x), expected, atol=1e-5, rtol=1e-5)


class NanoBlock(nn.Module):
    """A GPT block as nanoGPT's model.py writes it (pre-LN, GELU, one c_attn for Q, K, V)."""

    def __init__(self, d: int, heads: int):
        super().__init__()
        self.heads = heads
        self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.c_attn, self.attn_proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.c_fc, self.mlp_proj = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.attn_proj(y.transpose(1, 2).reshape(b, t, d))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x))))


@torch.no_grad()
def test_the_model_is_a_nanogpt_style_gpt_with_the_same_weights():
    model = make(d_ff=128).eval()  # d_ff = 4 d_model, as in GPT
    blocks = nn.ModuleList(NanoBlock(32, 4) for _ in range(2))
    ln_f = nn.LayerNorm(32)
    for p in [*blocks.parameters(), *ln_f.parameters()]:
        nn.init.normal_(p, std=0.3)
    for ours, block in zip(model.stack.layers, blocks, strict=True):
        sa, ff = ours.self_attn, ours.feed_forward
        for dst, w, b in zip((sa.q_proj, sa.k_proj, sa.v_proj), block.c_attn.weight.chunk(3),
                             block.c_attn.bias.chunk(3), strict=True):
            dst.weight.copy_(w)
            dst.bias.copy_(b)
        for dst, src in ((sa.out_proj, block.attn_proj), (ff.linear1, block.c_fc),
                         (ff.linear2, block.mlp_proj), (ours.norm1, block.ln_1),
                         (ours.norm2, block.ln_2)):
            dst.load_state_dict(src.state_dict())
    model.stack.norm.load_state_dict(ln_f.state_dict())
    x = tokens()
    h = model.tok_embed(x) + model.pos_embed(torch.arange(x.size(1)))  # wte + wpe
    for block in blocks:
        h = block(h)
    expected = ln_f(h) @ model.tok_embed.weight.T  # lm_head tied to wte
    torch.testing.assert_close(model(x), expected, atol=1e-5, rtol=1e-5)
    assert model.head.weight is model.tok_embed.weight


def test_gpt2_small_has_124_million_parameters():
    with torch.device("meta"):
        model = LanguageModel(LanguageModelConfig.gpt2_small())
    assert sum(p.numel() for p in model.parameters()) == 124_439_808


# --- the key/value cache ------------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_cache_gives_the_logits_of_the_whole_sequence(variant):
    model = make(**VARIANTS[variant]).eval()
    x = tokens(seq=14)
    with torch.no_grad():
        full = model(x)
        cache = model.new_cache()
        steps = [model(x[:, :5], cache=cache), model(x[:, 5:8], cache=cache)]
        steps += [model(x[:, t:t + 1], cache=cache) for t in range(8, 14)]
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-5, rtol=1e-5)
    assert len(cache) == 14 and all(kv.k is None for kv in cache.cross_attn)


def test_encoder_layer_with_a_cache_equals_the_causal_layer():
    set_seed(0)
    layer = EncoderLayer(16, 2, 32, dropout=0.0, norm_first=True).eval()
    x = torch.randn(2, 6, 16)
    from transformer_book.masks import causal_mask

    full = layer(x, causal_mask(6))
    cache = KVCache()
    steps = [layer(x[:, :2], causal_mask(2), cache)]
    steps += [layer(x[:, t:t + 1], None, cache) for t in range(2, 6)]
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-6, rtol=1e-6)


def test_cache_past_max_len_and_of_the_wrong_kind_raise():
    model = make().eval()
    cache = model.new_cache()
    model(tokens(seq=30), cache=cache)
    with pytest.raises(ValueError, match=r"length 3 after 30 cached positions, longer than "
                                         r"max_len=32"):
        model(tokens(seq=3), cache=cache)
    with pytest.raises(TypeError, match="cache must be a DecoderCache, got KVCache"):
        model(tokens(), cache=KVCache())
    with pytest.raises(ValueError, match="cache has 3 layers"):
        model(tokens(), cache=DecoderCache(3))


# --- rotary position embeddings -----------------------------------------------------------------


def offset_matrix(k: int, d: int) -> torch.Tensor:
    """Chapter 5's M_k: the block-diagonal rotation with PE[pos + k] = M_k PE[pos]."""
    omega = 10000 ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    c, s = torch.cos(k * omega), torch.sin(k * omega)
    m = torch.zeros(d, d, dtype=torch.float64)
    m[0::2, 0::2], m[0::2, 1::2] = torch.diag(c), torch.diag(s)
    m[1::2, 0::2], m[1::2, 1::2] = torch.diag(-s), torch.diag(c)
    return m


def test_rotary_turns_each_position_by_chapter_5s_rotation():
    rope = RotaryEmbedding(8)
    x = torch.randn(2, 3, 6, 8, generator=torch.Generator().manual_seed(0))
    out = rope(x, start=4)
    for t in range(6):
        expected = x[:, :, t].double() @ offset_matrix(4 + t, 8).T
        torch.testing.assert_close(out[:, :, t].double(), expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out.norm(dim=-1), x.norm(dim=-1))  # lengths kept
    table = sinusoidal_encoding(8, 10)  # turning PE[0] to position t gives PE[t]
    torch.testing.assert_close(rope(table[:1].expand(10, 8)), table, atol=1e-5, rtol=0)
    assert rope.state_dict() == {}  # nothing learned, nothing stored


def test_rotary_scores_depend_only_on_the_offset():
    rope = RotaryEmbedding(16)
    q, k = torch.randn(2, 16, generator=torch.Generator().manual_seed(1)).chunk(2)
    q, k = q.expand(40, 16), k.expand(40, 16)
    scores = rope(q) @ rope(k).T  # (40, 40): query position m, key position n
    for offset in (-5, 0, 3):
        diagonal = scores.diagonal(offset)
        torch.testing.assert_close(diagonal, diagonal[:1].expand_as(diagonal), atol=1e-4,
                                   rtol=1e-4)
    assert abs(scores[10, 13] - scores[10, 7]) > 1e-3  # +3 and -3 differ


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(dim=7), ValueError, "dim=7 must be even"),
    (dict(dim=8.0), TypeError, "dim=8.0 must be an int"),
    (dict(dim=8, base=1), ValueError, "base=1 must be a number > 1"),
])
def test_rotary_bad_arguments_raise(kwargs, error, match):
    with pytest.raises(error, match=match):
        RotaryEmbedding(**kwargs)


def test_rotary_bad_inputs_raise():
    rope = RotaryEmbedding(8)
    with pytest.raises(ValueError, match=r"x must have shape \(\.\.\., seq, dim=8\), got \(2, 6\)"):
        rope(torch.randn(2, 6))
    with pytest.raises(TypeError, match="x must have a floating-point dtype"):
        rope(torch.ones(2, 8, dtype=torch.long))
    with pytest.raises(ValueError, match="start=-1 must be an int >= 0"):
        rope(torch.randn(2, 8), start=-1)
    with pytest.raises(ValueError, match=r"rotary must be None or a RotaryEmbedding of dim d_k=4"):
        MultiHeadAttention(16, 4, rotary=RotaryEmbedding(8))


# --- the later recipes' parts -------------------------------------------------------------------


def test_swiglu_is_shazeers_formula_and_keeps_the_parameter_count():
    set_seed(0)
    ffn = SwiGLU(12, 32)
    x = torch.randn(2, 5, 12)
    w, v = ffn.linear1.weight.chunk(2)
    expected = (F.silu(x @ w.T) * (x @ v.T)) @ ffn.linear2.weight.T
    torch.testing.assert_close(ffn(x), expected)
    assert sum(p.numel() for p in ffn.parameters()) == 3 * 12 * 32


def test_rmsnorm_and_swiglu_replace_the_parts_of_the_layers():
    model = make(ffn="swiglu", norm="rmsnorm")
    assert all(isinstance(layer.feed_forward, SwiGLU) for layer in model.stack.layers)
    norms = [m for m in model.modules() if isinstance(m, (nn.LayerNorm, nn.RMSNorm))]
    assert len(norms) == 5 and all(isinstance(m, nn.RMSNorm) for m in norms)


def test_untied_model_has_its_own_output_matrix():
    tied, untied = make(), make(tie_embeddings=False)
    extra = sum(p.numel() for p in untied.parameters()) - sum(p.numel() for p in tied.parameters())
    assert extra == 40 * 32 and untied.head.weight is not untied.tok_embed.weight


def test_initialisation_is_gpt2s():
    model = make(num_layers=8, d_model=256, num_heads=4, d_ff=1024, vocab_size=500)
    assert abs(model.tok_embed.weight.std().item() - 0.02) < 0.001
    residual = model.stack.layers[0].feed_forward.linear2.weight.std().item()
    assert abs(residual - 0.02 / math.sqrt(16)) < 0.001
    assert all((layer.self_attn.q_proj.bias == 0).all() for layer in model.stack.layers)


def test_dropout_only_in_training_mode():
    model = make(dropout=0.5)
    x = tokens()
    with torch.no_grad():
        assert not torch.equal(model.train()(x), model(x))
        assert torch.equal(model.eval()(x), model(x))


def test_the_model_trains_and_runs_in_float64():
    model = make().double()
    loss = next_token_loss(model, tokens())
    assert loss.dtype == torch.float64
    loss.backward()
    assert all(p.grad is not None and p.grad.isfinite().all() for p in model.parameters())


# --- the next-token loss ------------------------------------------------------------------------


def test_next_token_loss_is_the_cross_entropy_of_the_shifted_tokens():
    model = make().eval()
    x = tokens(seq=9)
    x[1, 6:] = 0  # padding at the end of row 1
    logp = model(x[:, :-1]).log_softmax(dim=-1)
    target = x[:, 1:]
    picked = logp.gather(-1, target[..., None]).squeeze(-1)
    keep = target != 0
    torch.testing.assert_close(next_token_loss(model, x, pad_id=0), -picked[keep].mean())
    torch.testing.assert_close(next_token_loss(model, x), -picked.mean())


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("overrides, error, match", [
    (dict(ffn="tanh"), ValueError, r"ffn='tanh' must be one of \['relu', 'gelu', 'swiglu'\]"),
    (dict(norm="batchnorm"), ValueError, "norm='batchnorm' must be one of"),
    (dict(positions="alibi"), ValueError, "positions='alibi' must be one of"),
    (dict(d_model=30, num_heads=4), ValueError, "d_model=30 is not divisible by num_heads=4"),
    (dict(d_model=12, num_heads=4, positions="rotary"), ValueError, "needs an even d_k"),
    (dict(dropout=1.0), ValueError, r"dropout=1.0 must be a number in \[0, 1\)"),
    (dict(vocab_size=0), ValueError, "vocab_size=0 must be an int >= 1"),
    (dict(max_len=2.5), TypeError, "max_len=2.5 must be an int"),
])
def test_bad_config_raises_naming_the_field(overrides, error, match):
    with pytest.raises(error, match=match):
        dataclasses.replace(LanguageModelConfig.tiny(40), **overrides)


def test_bad_model_input_raises():
    model = make()
    with pytest.raises(TypeError, match="config must be a LanguageModelConfig, got dict"):
        LanguageModel({"vocab_size": 40})
    with pytest.raises(TypeError, match="tokens must hold integer token ids, got torch.float32"):
        model(torch.zeros(2, 5))
    with pytest.raises(ValueError, match=r"tokens must have shape \(batch, seq\), got shape "):
        model(torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match="tokens holds ids from 0 to 40; expected 0 <= id < "
                                         "vocab_size=40"):
        model(torch.tensor([[0, 40]]))
    with pytest.raises(ValueError, match="tokens has length 33, longer than max_len=32"):
        model(tokens(seq=33))
    with pytest.raises(ValueError, match=r"at least 2 positions .* got shape \(2, 1\)"):
        next_token_loss(model, tokens(batch=2, seq=1))
