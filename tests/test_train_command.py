"""``python -m transformer_book.train`` in process, where a fault can be planted: a training
that turns non-finite stops with one line, and the checkpoint of the last good epoch stays."""

from __future__ import annotations

import math

import pytest
import torch

from transformer_book import train, training
from transformer_book._cli import exclusive
from transformer_book.checkpoints import saved_epoch
from transformer_book.text.korean_grammar import korean_corpus

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


# --- Round two: flags that cannot mean what they say are refused before anything is written ---

def one_error(capsys, fragment: str) -> str:
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and fragment in captured.err, captured.err
    return captured.err


@pytest.mark.parametrize("flags, fragment", [
    (["--out", "{dir}/model.pt/"], "ends with a folder separator or a dot"),
    (["--out", "{dir}/model.pt/."], "ends with a folder separator or a dot"),
    (["--data", "", "--out", "{dir}/new.pt"], "--data is an empty path"),
    (["--src", "", "--tgt", "", "--out", "{dir}/new.pt"], "--src is an empty path"),
    (["--vocab-size", "300", "--out", "{dir}/new.pt"],
     "--vocab-size applies to a corpus only, and the task is 'dates-iso'"),
    (["--train-size", "10000000000", "--out", "{dir}/new.pt"],
     "--train-size 10000000000 is more than 1,000,000"),
    (["--test-size", "1000000000", "--out", "{dir}/new.pt"], "--test-size 1000000000 is more"),
    (["--resume", "--epochs", "2", "--data", "{dir}/ko.tsv", "--vocab-size", "300",
      "--out", "{dir}/model.pt"],
     "--data and --vocab-size apply to a corpus only, and {dir}/model.pt was trained on task "
     "'dates-iso'"),
])
def test_flags_that_cannot_apply_are_refused(dates_checkpoint, capsys, flags, fragment):
    folder = dates_checkpoint.parent
    before = dates_checkpoint.read_bytes()
    flags = [f.format(dir=folder) for f in flags]
    assert train.main([*TINY, *flags]) == 2
    one_error(capsys, fragment.format(dir=folder))
    assert dates_checkpoint.read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["model.pt"]


@pytest.fixture
def dates_checkpoint(tmp_path, capsys):
    out = tmp_path / "model.pt"
    assert train.main([*TINY, "--epochs", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    return out


def test_an_epoch_with_no_whole_step_is_refused_not_saved(tmp_path, capsys):
    out = tmp_path / "model.pt"
    assert train.main([*TINY, "--train-size", "10", "--accumulate", "2", "--epochs", "1",
                       "--out", str(out)]) == 2
    one_error(capsys, "the training pairs make 1 batch(es), fewer than the 2 one step needs")
    assert not out.exists()


def test_a_second_run_on_the_same_out_is_refused_while_the_first_holds_it(tmp_path, capsys):
    out = tmp_path / "model.pt"
    with exclusive(str(out)):  # what a first run holds while it trains
        assert train.main([*TINY, "--epochs", "1", "--out", str(out)]) == 2
        one_error(capsys, f"another run is writing {out} now")
    assert not out.exists() and list(tmp_path.iterdir()) == []  # the lock file is gone too
    assert train.main([*TINY, "--epochs", "1", "--out", str(out)]) == 0


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory):
    """A corpus and a checkpoint of one epoch on it: ``(folder, corpus, checkpoint)``."""
    folder = tmp_path_factory.mktemp("corpus")
    pairs = [pair for part in korean_corpus(300, 20, 20, seed=0) for pair in part]
    corpus = folder / "ko.tsv"
    corpus.write_text("".join(f"{en}\t{ko}\n" for en, ko in pairs), encoding="utf-8")
    out = folder / "ko.pt"
    assert train.main([*CORPUS, "--data", str(corpus), "--epochs", "1", "--out", str(out)]) == 0
    return folder, corpus, out


CORPUS = ["--preset", "tiny", "--device", "cpu", "--vocab-size", "200", "--max-tokens", "400",
          "--test-size", "4", "--no-progress"]


def test_resuming_a_corpus_run_never_opens_a_path_the_checkpoint_records(corpus_run, capsys):
    folder, corpus, out = corpus_run
    crafted = folder / "crafted.pt"
    state = torch.load(out, weights_only=True)
    state["extra"]["data"] = "/dev/zero"  # would be read as one endless line
    torch.save(state, crafted)
    assert train.main([*CORPUS, "--epochs", "2", "--resume", "--out", str(crafted)]) == 2
    one_error(capsys, f"{crafted} was trained on a corpus: give it again to resume")
    assert saved_epoch(crafted) == 1


def test_resuming_on_another_corpus_is_refused(corpus_run, capsys, tmp_path):
    folder, corpus, out = corpus_run
    changed = tmp_path / "ko.tsv"  # the same file name, its targets now another language
    changed.write_text(corpus.read_text(encoding="utf-8").replace("\t", "\tЖ "),
                       encoding="utf-8")
    before = out.read_bytes()
    assert train.main([*CORPUS, "--data", str(changed), "--epochs", "2", "--resume",
                       "--out", str(out)]) == 2
    one_error(capsys, f"the corpus given is not the one {out} was trained on")
    assert out.read_bytes() == before
