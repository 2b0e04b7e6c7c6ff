"""Sampling from a language model: the filters against brute-force definitions, the draws against
the distribution they come from, seeded repeatability, the generation loop with and without the
key/value cache, and bad input."""

from __future__ import annotations

import pytest
import torch

from transformer_book import set_seed
from transformer_book.models.language_model import LanguageModel, LanguageModelConfig
from transformer_book.models.sampling import (
    generate,
    penalize_repetition,
    sample_next,
    top_k_logits,
    top_p_logits,
)


def random_logits(batch: int = 4, vocab: int = 30, seed: int = 0) -> torch.Tensor:
    return 2 * torch.randn(batch, vocab, generator=torch.Generator().manual_seed(seed))


@pytest.fixture
def model() -> LanguageModel:
    set_seed(0)
    return LanguageModel(LanguageModelConfig.tiny(40, d_model=32, d_ff=64, max_len=48)).eval()


# --- the filters --------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 3, 29, 30, 100])
def test_top_k_keeps_the_k_largest(k):
    logits = random_logits()
    kept = top_k_logits(logits, k).isfinite()
    assert (kept.sum(-1) == min(k, 30)).all()
    for row, keep in zip(logits, kept, strict=True):
        best = set(row.argsort(descending=True)[:k].tolist())
        assert best == set(keep.nonzero().flatten().tolist())
    torch.testing.assert_close(top_k_logits(logits, k)[kept], logits[kept])


def test_top_k_keeps_ties_with_the_kth():
    assert top_k_logits(torch.tensor([[1.0, 2.0, 2.0, 0.0]]), 2).isfinite().tolist() == [
        [False, True, True, False]]


@pytest.mark.parametrize("p", [0.01, 0.3, 0.5, 0.9, 0.999])
def test_top_p_keeps_the_smallest_nucleus_of_mass_p(p):
    logits = random_logits()
    kept = top_p_logits(logits, p).isfinite()
    for row, keep in zip(logits.softmax(-1), kept, strict=True):
        probs, order = row.sort(descending=True)
        n = int((probs.cumsum(0) < p).sum()) + 1  # the first prefix whose mass reaches p
        assert set(order[:n].tolist()) == set(keep.nonzero().flatten().tolist())
        assert row[keep].sum() >= p - 1e-6 and row[keep].sum() - row[keep].min() < p
    assert top_p_logits(logits, 1.0) is logits


def test_top_p_always_keeps_the_most_probable_token():
    logits = torch.tensor([[10.0, 0.0, 0.0]])
    assert top_p_logits(logits, 1e-9).isfinite().tolist() == [[True, False, False]]


def test_repetition_penalty_is_ctrls():
    logits = torch.tensor([[2.0, -2.0, 1.0, 0.5], [1.0, 1.0, 1.0, 1.0]])
    seen = torch.tensor([[0, 1, 1], [3, 3, 3]])
    out = penalize_repetition(logits, seen, 2.0)
    assert out.tolist() == [[1.0, -4.0, 1.0, 0.5], [1.0, 1.0, 1.0, 0.5]]
    assert torch.equal(penalize_repetition(logits, seen, 1.0), logits)


# --- drawing ------------------------------------------------------------------------------------


def test_temperature_zero_is_greedy_and_a_low_temperature_approaches_it():
    logits = random_logits(batch=6)
    assert torch.equal(sample_next(logits, temperature=0), logits.argmax(-1))
    cold = sample_next(logits, temperature=1e-3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(cold, logits.argmax(-1))


def test_draws_follow_the_filtered_softmax():
    logits = random_logits(batch=1, vocab=8).expand(20000, 8)
    draws = sample_next(logits, temperature=0.7, top_k=5, top_p=0.9,
                        generator=torch.Generator().manual_seed(0))
    expected = top_p_logits(top_k_logits(logits[:1] / 0.7, 5), 0.9).softmax(-1)[0]
    frequency = torch.bincount(draws, minlength=8) / 20000
    assert (frequency[expected == 0] == 0).all()  # nothing outside the filters
    torch.testing.assert_close(frequency, expected, atol=0.015, rtol=0)


def test_a_seeded_generator_repeats_a_sample():
    logits = random_logits()
    a = sample_next(logits, top_p=0.8, generator=torch.Generator().manual_seed(3))
    b = sample_next(logits, top_p=0.8, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


# --- generating ---------------------------------------------------------------------------------


def test_greedy_generation_is_the_argmax_loop(model):
    prompt = torch.tensor([[5, 6, 7], [8, 9, 10]])
    tokens = prompt
    with torch.no_grad():
        for _ in range(12):
            tokens = torch.cat([tokens, model(tokens)[:, -1].argmax(-1, keepdim=True)], dim=1)
    assert torch.equal(generate(model, prompt, 12, temperature=0), tokens)
    assert torch.equal(generate(model, prompt, 12, temperature=0, use_cache=False), tokens)


@pytest.mark.parametrize("options", [
    dict(temperature=1.0), dict(temperature=0.8, top_k=10), dict(top_p=0.9),
    dict(temperature=1.2, top_k=20, top_p=0.95, repetition_penalty=1.3),
])
def test_cached_and_uncached_generation_draw_the_same_tokens(model, options):
    prompt = torch.randint(40, (3, 4), generator=torch.Generator().manual_seed(1))
    runs = [generate(model, prompt, 30, generator=torch.Generator().manual_seed(7),
                     use_cache=cached, **options) for cached in (True, False)]
    assert torch.equal(runs[0], runs[1]) and runs[0].shape == (3, 34)
    assert torch.equal(runs[0][:, :4], prompt)


def test_a_repetition_penalty_repeats_fewer_tokens(model):
    prompt = torch.tensor([[1, 2, 3]])
    plain = generate(model, prompt, 40, temperature=0)
    penalized = generate(model, prompt, 40, temperature=0, repetition_penalty=5.0)
    assert len(set(penalized[0].tolist())) > len(set(plain[0].tolist()))


def test_generation_fills_max_len_exactly(model):
    assert generate(model, torch.tensor([[1]]), 48, temperature=0).shape == (1, 49)
    with pytest.raises(ValueError, match=r"prompt length 2 \+ max_new_tokens=48 - 1 = 49 is "
                                         r"longer than max_len=48"):
        generate(model, torch.tensor([[1, 2]]), 48)


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(temperature=-1.0), ValueError, r"temperature=-1.0 must be a finite number >= 0"),
    (dict(temperature=float("nan")), ValueError, "temperature=nan"),
    (dict(temperature="hot"), TypeError, "temperature='hot' must be a number"),
    (dict(top_k=0), ValueError, "k=0 must be an int >= 1"),
    (dict(top_k=2.5), TypeError, "k=2.5 must be an int"),
    (dict(top_p=0.0), ValueError, r"p=0.0 must be a number in \(0, 1\]"),
    (dict(top_p=1.5), ValueError, r"p=1.5 must be a number in \(0, 1\]"),
])
def test_bad_sampling_options_raise(kwargs, error, match):
    with pytest.raises(error, match=match):
        sample_next(random_logits(), **kwargs)


def test_bad_sampling_inputs_raise(model):
    with pytest.raises(TypeError, match="logits must have a floating-point dtype"):
        sample_next(torch.ones(2, 5, dtype=torch.long))
    with pytest.raises(ValueError, match=r"logits must have shape \(batch, vocab\)"):
        sample_next(torch.randn(2, 3, 5))
    with pytest.raises(ValueError, match="penalty=0 must be a finite number > 0"):
        penalize_repetition(random_logits(), torch.tensor([[1]] * 4), 0)
    with pytest.raises(ValueError, match="tokens has batch size 1, logits 4"):
        penalize_repetition(random_logits(), torch.tensor([[1]]), 1.2)
    with pytest.raises(ValueError, match="tokens holds ids from 1 to 30"):
        penalize_repetition(random_logits(), torch.tensor([[1, 30]] * 4), 1.2)
    with pytest.raises(TypeError, match="model must be a LanguageModel, got str"):
        generate("gpt", torch.tensor([[1]]), 3)
    with pytest.raises(ValueError, match="prompt holds ids from 1 to 40"):
        generate(model, torch.tensor([[1, 40]]), 3)
    with pytest.raises(ValueError, match="max_new_tokens=0 must be an int >= 1"):
        generate(model, torch.tensor([[1]]), 0)
    with pytest.raises(TypeError, match="use_cache=1 must be a bool"):
        generate(model, torch.tensor([[1]]), 3, use_cache=1)
