"""``python -m transformer_book.train`` in process, where a fault can be planted: a training
that turns non-finite stops with one line, and the checkpoint of the last good epoch stays."""

from __future__ import annotations

import math

from transformer_book import train, training
from transformer_book.checkpoints import saved_epoch

TINY = ["--preset", "tiny", "--device", "cpu", "--train-size", "64", "--val-size", "8",
        "--test-size", "8", "--warmup", "10", "--batch-size", "16", "--no-progress"]


def test_a_non_finite_epoch_is_not_saved_and_the_message_says_what_is(tmp_path, monkeypatch,
                                                                      capsys):
    out = tmp_path / "model.pt"
    assert train.main([*TINY, "--epochs", "1", "--out", str(out)]) == 0
    before = out.read_bytes()
    capsys.readouterr()
    monkeypatch.setattr(training, "evaluate",
                        lambda *a, **k: {"loss": math.nan, "token_accuracy": 0.0})
    assert train.main([*TINY, "--epochs", "2", "--resume", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: training stopped: ")
    assert "validation loss is nan after epoch 2" in err
    assert err.rstrip().endswith(f"nothing was saved; {out} is as it was (epoch 1)")
    assert out.read_bytes() == before and saved_epoch(out) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def test_a_new_run_that_fails_says_nothing_was_saved(tmp_path, monkeypatch, capsys):
    out = tmp_path / "model.pt"
    monkeypatch.setattr(training, "evaluate",
                        lambda *a, **k: {"loss": math.inf, "token_accuracy": 0.0})
    assert train.main([*TINY, "--epochs", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.rstrip().endswith("; nothing was saved")
    assert not out.exists()
