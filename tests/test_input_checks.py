"""The public API refuses bad input with a TypeError/ValueError that names the argument, before
it can become an IndexError, a device-side assert or NaN."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from transformer_book import Transformer, TransformerConfig
from transformer_book.attention import MultiHeadAttention, scaled_dot_product_attention
from transformer_book.decoding import beam_search, greedy_decode, translate
from transformer_book.positional import PositionalEncoding
from transformer_book.text.data import date_pairs, date_tokenizer
from transformer_book.text.tokenizers import CharTokenizer
from transformer_book.training import TrainingConfig, fit

V = 12


@pytest.fixture
def model(tiny_model):
    return tiny_model(V).eval()


@pytest.mark.parametrize("bad_id", [V, 1000, -1])
def test_token_ids_outside_the_vocabulary(model, bad_id):
    src = torch.tensor([[4, 5, bad_id]])
    tgt = torch.tensor([[1, 4]])
    with pytest.raises(ValueError, match=rf"src holds ids .* 0 <= id < vocab_size={V}"):
        model(src, tgt)
    with pytest.raises(ValueError, match=f"tgt holds ids .*vocab_size={V}"):
        model(tgt, src)
    with pytest.raises(ValueError, match="src holds ids"):
        greedy_decode(model, src)


def test_non_integer_and_one_dimensional_ids(model):
    with pytest.raises(TypeError, match="src must hold integer token ids, got torch.float32"):
        model(torch.ones(1, 3), torch.ones(1, 2, dtype=torch.long))
    with pytest.raises(TypeError, match="tgt must hold integer token ids, got torch.bool"):
        model(torch.ones(1, 3, dtype=torch.long), torch.ones(1, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"src must have shape \(batch, seq\)"):
        model(torch.tensor([4, 5, 6]), torch.tensor([[1, 4]]))
    with pytest.raises(ValueError, match=r"src must have shape \(batch, seq\)"):
        greedy_decode(model, torch.tensor([4, 5, 6]))


def test_zero_length_targets_and_sources(model):
    src = torch.tensor([[4, 5, 6]])
    with pytest.raises(ValueError, match="tgt must hold at least one sequence of at least one"):
        model(src, torch.zeros(1, 0, dtype=torch.long))
    with pytest.raises(ValueError, match="src must hold at least one sequence"):
        model(torch.zeros(1, 0, dtype=torch.long), src)


def test_batch_size_zero_in_decoding(model):
    empty = torch.zeros(0, 3, dtype=torch.long)
    with pytest.raises(ValueError, match=r"src must hold at least one sequence .*\(0, 3\)"):
        greedy_decode(model, empty)
    with pytest.raises(ValueError, match="src must hold at least one sequence"):
        beam_search(model, empty, beam_size=2)


def test_d_k_zero():
    q = torch.zeros(2, 3, 0)
    with pytest.raises(ValueError, match="q must have d_k >= 1"):
        scaled_dot_product_attention(q, q, q)


def test_integer_input_to_positional_encoding():
    pe = PositionalEncoding(8, max_len=16)
    with pytest.raises(TypeError, match="x must have a floating-point dtype, got torch.int64"):
        pe(torch.zeros(2, 5, 8, dtype=torch.long))


def test_module_and_input_dtypes_must_agree():
    mha = MultiHeadAttention(8, 2)
    x = torch.randn(2, 5, 8, dtype=torch.float64)
    with pytest.raises(TypeError, match="must have the module's dtype torch.float32"):
        mha(x, x, x)
    mha.double()
    assert mha(x, x, x)[0].dtype == torch.float64


def test_float16_scores_do_not_overflow_where_pytorch_stays_finite():
    torch.manual_seed(0)
    # Entries of a few hundred: q.k / sqrt(d_k) passes float16's largest value, 65504.
    q, k = (torch.randn(2, 6, 64) * 250).half(), (torch.randn(2, 6, 64) * 250).half()
    v = torch.randn(2, 6, 64).half()
    assert not torch.isfinite((q.float() @ k.float().transpose(-2, -1) / 8).half()).all()
    expected = F.scaled_dot_product_attention(q, k, v)
    assert torch.isfinite(expected).all()
    out, weights = scaled_dot_product_attention(q, k, v)
    assert out.dtype == weights.dtype == torch.float16
    assert torch.isfinite(out).all() and torch.isfinite(weights).all()
    torch.testing.assert_close(out, expected, atol=2e-3, rtol=2e-3)
    mask = torch.rand(2, 6, 6) > 0.3
    out, _ = scaled_dot_product_attention(q, k, v, mask=mask)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
                               atol=2e-3, rtol=2e-3)


def test_empty_validation_set_and_training_set(tiny_model):
    tok = date_tokenizer()
    model = tiny_model(len(tok))
    pairs = date_pairs(8)
    with pytest.raises(ValueError, match="val_pairs is empty"):
        fit(model, tok, pairs, [], TrainingConfig(epochs=1), device="cpu", log=None)
    with pytest.raises(ValueError, match="train_pairs is empty"):
        fit(model, tok, [], pairs, TrainingConfig(epochs=1), device="cpu", log=None)


def test_tokenizer_larger_than_the_vocabulary(tiny_model):
    tok = date_tokenizer()
    model = tiny_model(len(tok) - 5)
    with pytest.raises(ValueError, match=rf"tokenizer has {len(tok)} tokens, more than the "
                                         rf"model's vocab_size={len(tok) - 5}"):
        fit(model, tok, date_pairs(8), date_pairs(4, split="validation"),
            TrainingConfig(epochs=1), device="cpu", log=None)
    with pytest.raises(ValueError, match="tokenizer has"):
        translate(model, tok, ["24 Nov 2026"])
    small = CharTokenizer("abc")
    assert len(translate(tiny_model(len(small) + 3), small, ["abc"], max_new_tokens=4)) == 1


@pytest.mark.parametrize("field, value, message", [
    ("lr_factor", math.inf, "lr_factor=inf must be a finite number"),
    ("lr_factor", math.nan, "lr_factor=nan must be a finite number"),
    ("lr_factor", 1e6, "lr_factor=1000000.0 must be a finite number in"),
    ("lr_factor", 0.0, "lr_factor=0.0 must be > 0"),
    ("seed", 2**32, "seed=4294967296 must be an int in"),
    ("seed", -1, "seed=-1 must be an int >= 0"),
    ("clip_norm", math.inf, "clip_norm=inf must be a finite number"),
])
def test_absurd_training_settings(field, value, message):
    with pytest.raises(ValueError, match=message):
        TrainingConfig(**{field: value})
    TrainingConfig(lr_factor=100.0, seed=2**32 - 1)  # the edges are fine


def test_model_api_unchanged_for_good_input():
    model = Transformer(TransformerConfig.tiny(V)).eval()
    out = model(torch.randint(V, (2, 4)), torch.randint(V, (2, 3)))
    assert out.shape == (2, 3, V) and torch.isfinite(out).all()
