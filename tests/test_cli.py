"""The two command-line tools, run as a user would (subprocess), on a tiny run of a few seconds."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
SIGNAL_AT = str(Path(__file__).with_name("signal_at.py"))  # a real signal at a known moment


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True,
                          input=stdin, env=ENV, timeout=300)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "model.pt"
    result = run("transformer_book.train", "--task", "dates-iso", "--preset", "tiny",
                 "--device", "cpu", "--epochs", "1", "--train-size", "256", "--val-size", "32",
                 "--test-size", "32", "--warmup", "10", "--no-progress", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "epoch  1/1" in result.stdout and "test exact match" in result.stdout
    return out


TINY_RUN = ("--preset", "tiny", "--device", "cpu", "--epochs", "1", "--train-size", "128",
            "--val-size", "16", "--test-size", "16", "--warmup", "10", "--no-progress")


@pytest.mark.parametrize("task, source", [
    ("dates-ko", "24 Nov 2026"), ("copy", "abcde"), ("reverse", "abcde"),
])
def test_every_task_trains_and_translates(task, source, tmp_path):
    out = tmp_path / f"{task}.pt"
    result = run("transformer_book.train", "--task", task, *TINY_RUN, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert f"task {task}, preset tiny" in result.stdout and "test exact match" in result.stdout
    assert out.is_file()
    result = run("transformer_book.translate", str(out), source, "--max-len", "5")
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    assert len(line) <= 5


def test_resume_refuses_a_checkpoint_of_another_task(checkpoint, tmp_path):
    out = tmp_path / "other.pt"
    out.write_bytes(checkpoint.read_bytes())
    result = run("transformer_book.train", "--task", "reverse", *TINY_RUN, "--resume",
                 "--out", str(out))
    one_line_error(result, "was trained on task 'dates-iso', not 'reverse'")


def test_help():
    for module in ("transformer_book.train", "transformer_book.translate",
                   "transformer_book.evaluate"):
        result = run(module, "--help")
        assert result.returncode == 0 and "usage:" in result.stdout


def test_translate_prints_one_line_per_input(checkpoint):
    result = run("transformer_book.translate", str(checkpoint), "24 Nov 2026", "11/24/26")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 2
    result = run("transformer_book.translate", str(checkpoint), "-", "--beam", "3",
                 stdin="24 Nov 2026\nTuesday, 24 November 2026\n")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 2


def test_resume_continues_to_more_epochs(checkpoint, tmp_path):
    out = tmp_path / "again.pt"
    out.write_bytes(checkpoint.read_bytes())
    result = run("transformer_book.train", "--task", "dates-iso", "--preset", "tiny",
                 "--device", "cpu", "--epochs", "2", "--train-size", "256", "--val-size", "32",
                 "--test-size", "32", "--warmup", "10", "--no-progress", "--resume",
                 "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "resuming from" in result.stdout and "epoch  2/2" in result.stdout
    assert "epoch  1/2" not in result.stdout


def one_line_error(result: subprocess.CompletedProcess, fragment: str) -> None:
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert fragment in result.stderr
    assert result.stdout == ""


def test_missing_checkpoint(tmp_path):
    result = run("transformer_book.translate", str(tmp_path / "nope.pt"), "24 Nov 2026")
    one_line_error(result, "does not exist")


def test_corrupt_checkpoint(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00garbage" * 100)
    one_line_error(run("transformer_book.translate", str(bad), "24 Nov 2026"),
                   "not a readable checkpoint")


def test_unknown_characters(checkpoint):
    result = run("transformer_book.translate", str(checkpoint), "24 Nov 2026", "24 déc 2026")
    one_line_error(result, "does not know: 'é'")


def test_bad_arguments_exit_with_2(checkpoint):
    result = run("transformer_book.translate", str(checkpoint), "24 Nov 2026", "--beam", "0")
    one_line_error(result, "--beam=0")
    result = run("transformer_book.train", "--task", "nope")
    assert result.returncode == 2 and "invalid choice" in result.stderr
    result = run("transformer_book.train", "--device", "cuda-nope", "--epochs", "1")
    one_line_error(result, "device=")
    result = run("transformer_book.train", "--dropout", "1.5", "--epochs", "1", "--device", "cpu")
    one_line_error(result, "dropout=1.5")
    result = run("transformer_book.translate", str(checkpoint), "24 Nov 2026", "--max-len", "0")
    assert result.returncode == 2 and "0 is not a positive integer" in result.stderr


# A corpus instead of a task (chapter 11): TSV or two aligned files, subwords, BLEU and chrF.

CORPUS_RUN = ("--preset", "tiny", "--device", "cpu", "--max-tokens", "400", "--warmup", "10",
              "--no-progress")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from transformer_book.text.korean_grammar import korean_corpus

    folder = tmp_path_factory.mktemp("corpus")
    pairs = [pair for part in korean_corpus(400, 30, 30, seed=0) for pair in part]
    (folder / "pairs.tsv").write_text(
        "".join(f"{en}\t{ko}\tcredit #{i}\n" for i, (en, ko) in enumerate(pairs)),
        encoding="utf-8")
    (folder / "en.txt").write_text("".join(en + "\n" for en, _ in pairs), encoding="utf-8")
    (folder / "ko.txt").write_text("".join(ko + "\n" for _, ko in pairs), encoding="utf-8")
    return folder


@pytest.mark.parametrize("layout", ["tsv", "aligned"])
def test_a_corpus_trains_with_subwords_and_is_scored(corpus, layout, tmp_path):
    out = tmp_path / "ko.pt"
    data = (("--data", str(corpus / "pairs.tsv")) if layout == "tsv"
            else ("--src", str(corpus / "en.txt"), "--tgt", str(corpus / "ko.txt")))
    result = run("transformer_book.train", *data, *CORPUS_RUN, "--vocab-size", "300",
                 "--epochs", "1", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "task corpus" in result.stdout and "subword vocabulary of 300 pieces" in result.stdout
    report = result.stdout.splitlines()[-1]
    assert report.startswith("test exact match") and ", BLEU " in report and ", chrF " in report
    assert "tok:13a" in report and report.endswith(f"saved {out}")
    # The checkpoint carries the subword model: translate needs nothing else.
    raw = torch.load(out, weights_only=True)
    assert raw["tokenizer"]["kind"] == "sentencepiece" and raw["extra"]["task"] == "corpus"
    result = run("transformer_book.translate", str(out), "The cat ate an apple.")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1
    # Resuming reads the corpus again and keeps the stored vocabulary.
    result = run("transformer_book.train", *data, *CORPUS_RUN, "--epochs", "2", "--resume",
                 "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "after epoch 1" in result.stdout and "epoch  2/2" in result.stdout


def test_corpus_misuse_gives_one_line(corpus, tmp_path):
    out = str(tmp_path / "x.pt")
    tsv, en, ko = (str(corpus / name) for name in ("pairs.tsv", "en.txt", "ko.txt"))
    one_line_error(run("transformer_book.train", "--data", tsv, "--task", "copy", "--out", out),
                   "give --task or a corpus")
    one_line_error(run("transformer_book.train", "--src", en, "--out", out),
                   "give a corpus as --data PAIRS.tsv or as --src FILE --tgt FILE")
    one_line_error(run("transformer_book.train", "--data", tsv, "--src", en, "--tgt", ko,
                       "--out", out), "give a corpus as --data")
    one_line_error(run("transformer_book.train", "--data", str(tmp_path / "none.tsv"),
                       "--out", out), "none.tsv")
    bad = tmp_path / "bad.tsv"
    bad.write_text("Hello.\t안녕하세요.\nno tab on this line\n", encoding="utf-8")
    one_line_error(run("transformer_book.train", "--data", str(bad), "--out", out), "line 2")
    short = tmp_path / "short.txt"
    short.write_text("one line\n", encoding="utf-8")
    one_line_error(run("transformer_book.train", "--src", en, "--tgt", str(short),
                       "--out", out), "the files must have the same number of lines")
    one_line_error(run("transformer_book.train", "--data", tsv, *CORPUS_RUN,
                       "--vocab-size", "100000", "--out", out), "vocab_size=100000")
    assert not (tmp_path / "x.pt").exists()


# Round two: every way a run can stop ends with one line, its exit code and nothing left behind.

def test_sigterm_ends_a_training_with_one_line_and_exit_code_143(checkpoint, tmp_path):
    out = tmp_path / "model.pt"
    out.write_bytes(checkpoint.read_bytes())
    result = subprocess.run([sys.executable, SIGNAL_AT, "epoch 2", "TERM", "transformer_book.train",
                             *TINY_RUN, "--train-size", "256", "--val-size", "32",
                             "--test-size", "32", "--epochs", "2", "--resume", "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=ENV, timeout=300)
    assert result.returncode == 143
    assert result.stderr == f"terminated during training (epoch 2); nothing was saved; {out} is " \
                            f"as it was (epoch 1)\n"
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]  # no temporary or lock file


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_full_standard_output_stops_training_with_one_line(tmp_path):
    out = tmp_path / "model.pt"
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-m", "transformer_book.train", *TINY_RUN,
                                 "--out", str(out)], stdout=full, stderr=subprocess.PIPE,
                                text=True, env=ENV, timeout=300)
    assert result.returncode == 1
    assert result.stderr == ("error: cannot write to standard output (No space left on device) "
                             "during setup; nothing was saved\n")


def test_translate_answers_each_line_of_standard_input_as_it_comes(checkpoint):
    # PYTHONUNBUFFERED (set in many containers) must not let an answer out before it is counted
    proc = subprocess.Popen([sys.executable, "-m", "transformer_book.translate",
                             str(checkpoint), "-"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**ENV, "PYTHONUNBUFFERED": "1"})
    try:
        for n in range(1, 3):  # the input stays open: each answer comes before the next line
            proc.stdin.write("\ufeff24 Nov 2026\n" if n == 1 else "   \n")
            proc.stdin.flush()
            assert select.select([proc.stdout], [], [], 120)[0], "no answer to an open input"
            line = proc.stdout.readline()
            assert line.strip() if n == 1 else line == "\n"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 143
        assert proc.stderr.read() == "terminated after 2 translations\n"
    finally:
        proc.kill()


def test_sigterm_stops_evaluate_with_one_line_and_exit_code_143(checkpoint, tmp_path):
    src, ref = tmp_path / "test.src", tmp_path / "test.ref"
    src.write_text("24 Nov 2026\n", encoding="utf-8")
    ref.write_text("2026-11-24\n", encoding="utf-8")
    result = subprocess.run([sys.executable, SIGNAL_AT, "evaluate", "TERM",
                             "transformer_book.evaluate", str(checkpoint), "--src", str(src),
                             "--ref", str(ref)], capture_output=True, text=True, env=ENV,
                            timeout=300)
    assert result.returncode == 143
    assert result.stderr == "terminated before the scores were printed\n"
    assert result.stdout == ""
