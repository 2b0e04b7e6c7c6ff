"""Chapter 11's training at scale, in one process: batches by tokens, gradient accumulation, a
subword tokenizer through training and checkpoints."""

from __future__ import annotations

import pytest
import torch

from transformer_book.batching import epoch_steps, pair_lengths
from transformer_book.checkpoints import load_checkpoint, save_checkpoint
from transformer_book.decoding import translate
from transformer_book.text.bucketing import padded_tokens
from transformer_book.text.korean_grammar import korean_corpus
from transformer_book.text.subword import SubwordTokenizer
from transformer_book.training import TrainingConfig, fit


@pytest.fixture(scope="module")
def corpus():
    splits = korean_corpus(600, 40, 40, seed=0)
    tok = SubwordTokenizer.train([t for pair in splits.train for t in pair], vocab_size=200)
    return splits, tok


def run(tiny_model, corpus, **settings):
    splits, tok = corpus
    model = tiny_model(len(tok))
    config = TrainingConfig(epochs=1, warmup=10, lr_factor=1.0, progress=False,
                            max_decode_len=4, eval_size=8, **settings)
    return fit(model, tok, splits.train, splits.validation, config, device="cpu", log=None), model


def test_accumulated_passes_learn_as_one_batch(tiny_model, corpus):
    one, _ = run(tiny_model, corpus, batch_size=32)
    two, _ = run(tiny_model, corpus, batch_size=16, accumulate=2)
    four, _ = run(tiny_model, corpus, batch_size=8, accumulate=4)
    # 600 pairs: 18 steps of 32 and one of 24; in passes of 8, the last 24 wait (3 of 4 passes).
    assert len(one.step_loss) == len(two.step_loss) == 19 and len(four.step_loss) == 18
    # The same sums added in another order: rounding differences, which grow a little with
    # every step (at most 2e-4 relative after 19 steps, with either kernel set).
    assert two.step_loss == pytest.approx(one.step_loss, rel=1e-3)
    assert two.val_loss == pytest.approx(one.val_loss, rel=1e-3)
    assert four.step_loss == pytest.approx(one.step_loss[:18], rel=1e-3)
    # A different batching would not agree: the test can fail.
    other, _ = run(tiny_model, corpus, batch_size=16)
    assert other.step_loss[:18] != pytest.approx(one.step_loss, rel=1e-2)


def test_token_batches_keep_to_the_budget(corpus):
    splits, tok = corpus
    config = TrainingConfig(max_tokens=300, accumulate=2)
    lengths = pair_lengths(splits.train, tok)
    steps = epoch_steps(splits.train, tok, config.batch_size, config.max_tokens,
                        config.accumulate, seed=1, lengths=lengths)
    assert all(len(step) == 2 for step in steps)
    seen = []
    for step in steps:
        for batch in step:
            assert batch.src.numel() <= 300 and batch.tgt_in.numel() <= 300
            seen += [tok.decode(row) for row in batch.src.tolist()]
    # Every pair once, but for one left-over batch (an odd number of batches, two per step).
    everything = [s for s, _ in splits.train]
    assert len(set(seen)) == len(seen) and set(seen) <= set(everything)
    assert len(everything) - len(seen) <= 300 // 5
    # Sorted by length, the batches waste less than a tenth on padding.
    src = [n for n, _ in lengths]
    real, padded = padded_tokens([[i] for i in range(len(src))], src)
    assert real == padded
    ids = {s: i for i, (s, _) in enumerate(splits.train)}
    batches = [[ids[tok.decode(r)] for r in b.src.tolist()] for step in steps for b in step]
    real, padded = padded_tokens(batches, src)
    assert real / padded > 0.9


def test_processes_share_each_batch(corpus):
    splits, tok = corpus
    ranks = [epoch_steps(splits.train, tok, 8, None, 1, seed=3, rank=r, world=2)
             for r in range(2)]
    alone = epoch_steps(splits.train, tok, 8, None, accumulate=2, seed=3)
    assert len(ranks[0]) == len(ranks[1]) == len(alone)
    for r in range(2):
        for mine, both in zip(ranks[r], alone, strict=True):
            assert torch.equal(mine[0].src, both[r].src)


def test_token_batched_training_learns_and_the_checkpoint_keeps_the_subwords(
        tiny_model, corpus, tmp_path):
    splits, tok = corpus
    history, model = run(tiny_model, corpus, max_tokens=400)
    assert history.step_loss[-1] < 0.8 * history.step_loss[0]
    path = tmp_path / "ko.pt"
    save_checkpoint(path, model, tok, epoch=1)
    raw = torch.load(path, weights_only=True)
    assert raw["tokenizer"]["kind"] == "sentencepiece"
    loaded = load_checkpoint(path)
    assert isinstance(loaded.tokenizer, SubwordTokenizer) and loaded.tokenizer == tok
    texts = [s for s, _ in splits.test[:5]]
    assert translate(loaded.model, loaded.tokenizer, texts) == translate(model, tok, texts)


def test_bad_settings():
    with pytest.raises(ValueError, match="accumulate=0 must be an int >= 1"):
        TrainingConfig(accumulate=0)
    with pytest.raises(ValueError, match="max_tokens=0 must be an int >= 1"):
        TrainingConfig(max_tokens=0)
