"""Greedy decoding and beam search (GNMT length penalty)."""

from __future__ import annotations

import pytest
import torch

from transformer_book import Transformer, TransformerConfig, set_seed
from transformer_book.batching import pad_sequences
from transformer_book.decoding import (
    beam_search,
    greedy_decode,
    length_penalty,
    sequence_scores,
    translate,
)
from transformer_book.text.data import date_pairs, date_tokenizer

EOS, PAD = 2, 0


def random_model(seed: int, vocab: int = 12, **kw) -> Transformer:
    """An untrained model with peaked, input-dependent distributions (plenty of beam choices)."""
    set_seed(seed)
    model = Transformer(TransformerConfig.tiny(vocab, dropout=0.0, **kw))
    with torch.no_grad():
        model.generator.weight.mul_(4.0)
    return model.eval()


def random_src(seed: int, batch: int = 16, vocab: int = 12):
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(4, vocab, (batch, 9), generator=g)
    lengths = torch.randint(3, 10, (batch,), generator=g)
    mask = torch.arange(9)[None, :] < lengths[:, None]
    return src.masked_fill(~mask, PAD), mask


def test_length_penalty():
    assert length_penalty(1, 0.6) == pytest.approx(1.0)
    assert length_penalty(7, 0.0) == 1.0
    assert length_penalty(torch.tensor(10.0), 1.0).item() == pytest.approx(2.5)


def test_greedy_output_shape_and_padding_after_eos():
    model = random_model(0)
    src, mask = random_src(0)
    tokens, logp = greedy_decode(model, src, mask, max_new_tokens=12)
    assert tokens.shape[0] == 16 and tokens.shape[1] <= 12 and logp.shape == (16,)
    for row in tokens.tolist():
        if EOS in row:
            assert all(t == PAD for t in row[row.index(EOS) + 1:])
    # Its log-probability is the model's own, recomputed with teacher forcing.
    torch.testing.assert_close(sequence_scores(model, src, tokens, mask), logp, atol=1e-4,
                               rtol=1e-4)


def test_greedy_stops_early_when_every_sequence_ends():
    model = random_model(0)
    decode = model.decode

    def always_eos(*args, **kwargs):  # make <eos> by far the most likely token
        logits, weights = decode(*args, **kwargs)
        return logits.index_fill(-1, torch.tensor([EOS]), 1e4), weights

    model.decode = always_eos
    src, mask = random_src(0)
    tokens, _ = greedy_decode(model, src, mask, max_new_tokens=20)
    assert tokens.shape == (16, 1) and (tokens == EOS).all()
    # The other beams finish one step later (their best continuation is <eos> too).
    tokens, _ = beam_search(model, src, mask, max_new_tokens=20, beam_size=3)
    assert tokens.shape == (16, 2) and (tokens[:, 0] == EOS).all() and (tokens[:, 1] == PAD).all()


@pytest.mark.parametrize("seed", range(3))
def test_beam_width_one_is_greedy(seed):
    model = random_model(seed)
    src, mask = random_src(seed)
    greedy, _ = greedy_decode(model, src, mask, max_new_tokens=10)
    beam, _ = beam_search(model, src, mask, max_new_tokens=10, beam_size=1, alpha=0.6)
    assert torch.equal(greedy, beam)


@pytest.mark.parametrize("alpha", [0.0, 0.6, 1.0])
@pytest.mark.parametrize("beam_size", [2, 4, 8])
def test_beam_search_never_scores_below_greedy(alpha, beam_size):
    for seed in range(4):
        model = random_model(seed)
        src, mask = random_src(100 + seed, batch=24)
        greedy, _ = greedy_decode(model, src, mask, max_new_tokens=10)
        beam, beam_score = beam_search(model, src, mask, max_new_tokens=10, beam_size=beam_size,
                                       alpha=alpha)
        greedy_score = sequence_scores(model, src, greedy, mask, alpha=alpha)
        again = sequence_scores(model, src, beam, mask, alpha=alpha)
        torch.testing.assert_close(again, beam_score, atol=1e-4, rtol=1e-4)  # same yardstick
        assert (beam_score >= greedy_score - 1e-4).all()


def test_beam_search_finds_the_better_sequence_greedy_misses():
    # Step 1: "a" (0.6) beats "b" (0.4); but after "a" every continuation is uncertain while "b"
    # is followed by <eos> for sure: P(a ?) <= 0.6 * 0.5 < P(b <eos>) = 0.4.
    vocab, a, b = 6, 4, 5

    class Toy(Transformer):
        def decode(self, tgt, memory, src_padding_mask=None, tgt_padding_mask=None,
                   need_weights=False):
            steps = tgt.size(1)
            probs = torch.full((tgt.size(0), steps, vocab), 1e-9)
            probs[:, 0, a], probs[:, 0, b] = 0.6, 0.4
            if steps > 1:
                last = tgt[:, -1]
                probs[last == a, -1, EOS] = 0.5
                probs[last == a, -1, a] = 0.5
                probs[last == b, -1, EOS] = 1.0
                probs[last == EOS, -1, EOS] = 1.0
            return probs.log(), None

    set_seed(0)
    model = Toy(TransformerConfig.tiny(vocab))
    src = torch.tensor([[4, 5]])
    # The toy reads the step from the length of the prefix: it needs the whole prefix each step.
    greedy, _ = greedy_decode(model, src, max_new_tokens=4, use_cache=False)
    beam, score = beam_search(model, src, max_new_tokens=4, beam_size=2, alpha=0.0, use_cache=False)
    assert greedy[0, :2].tolist() == [a, EOS] or greedy[0, 0].item() == a
    assert beam[0].tolist()[:2] == [b, EOS]
    assert score.item() == pytest.approx(torch.tensor(0.4).log().item(), abs=1e-5)


def test_batched_decoding_equals_one_at_a_time():
    model = random_model(1)
    src, mask = random_src(1, batch=6)
    batched, _ = beam_search(model, src, mask, max_new_tokens=8, beam_size=3)
    for i in range(6):
        n = int(mask[i].sum())
        single, _ = beam_search(model, src[i: i + 1, :n], None, max_new_tokens=8, beam_size=3)
        width = single.size(1)
        assert batched[i, :width].tolist() == single[0].tolist()


def test_translate_and_bad_arguments():
    tok = date_tokenizer()
    set_seed(0)
    model = Transformer(TransformerConfig.tiny(len(tok))).eval()
    texts = [s for s, _ in date_pairs(5)]
    out = translate(model, tok, texts, max_new_tokens=12)
    assert len(out) == 5 and all(isinstance(o, str) and len(o) <= 12 for o in out)
    assert all(not tok.unknown_chars(o) for o in out)
    # Cutting the texts into batches of two changes nothing: each is decoded on its own.
    beam = translate(model, tok, texts, beam_size=3, max_new_tokens=12)
    assert translate(model, tok, texts, beam_size=3, max_new_tokens=12, batch_size=2) == beam
    ids, mask = pad_sequences([tok.encode(t) for t in texts])
    tokens, _ = beam_search(model, ids, mask, max_new_tokens=12, beam_size=3)
    assert beam == [tok.decode(row) for row in tokens.tolist()]
    with pytest.raises(TypeError, match="sequence of strings"):
        translate(model, tok, "24 Nov 2026")
    with pytest.raises(ValueError, match="does not know"):
        translate(model, tok, ["24 Nov 2026 ☃"], strict=True)
    ids, mask = pad_sequences([tok.encode(texts[0])])
    with pytest.raises(ValueError, match="beam_size="):
        beam_search(model, ids, mask, beam_size=0)
    limit = model.config.max_len
    with pytest.raises(ValueError, match=f"max_new_tokens={limit + 1} is more than"):
        greedy_decode(model, ids, mask, max_new_tokens=limit + 1)
    # The decoder reads <bos> plus at most max_len - 1 tokens: the model's own limit fits.
    assert greedy_decode(model, ids, mask, max_new_tokens=limit)[0].size(1) <= limit
    with pytest.raises(ValueError, match="alpha=nan"):
        beam_search(model, ids, mask, alpha=float("nan"))
