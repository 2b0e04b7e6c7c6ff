"""A tour of careless and hostile use of ``python -m transformer_book.train`` and ``.translate``,
run as a user would (subprocesses): every misuse ends with its exit code and one line on stderr,
never a traceback, and the checkpoint that was there before is left as it was. Ctrl-C arrives at
known moments: ``signal_at.py`` runs the command so that it sends itself SIGINT there."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from transformer_book.checkpoints import save_checkpoint, saved_epoch
from transformer_book.model import Transformer, TransformerConfig
from transformer_book.text.data import date_tokenizer

pytestmark = pytest.mark.slow

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
TINY = ("--preset", "tiny", "--device", "cpu", "--train-size", "128", "--val-size", "16",
        "--test-size", "16", "--warmup", "10", "--no-progress")
TRAIN, TRANSLATE = "transformer_book.train", "transformer_book.translate"


def run(*args: str, stdin: bytes | None = None, stdout=subprocess.PIPE,
        env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], input=stdin, stdout=stdout,
                          stderr=subprocess.PIPE, env=env or ENV, timeout=300)


def one_line(result: subprocess.CompletedProcess, code: int, fragment: str) -> str:
    """Assert the exit code, a single stderr line holding ``fragment``, no traceback."""
    err = result.stderr.decode()
    assert result.returncode == code, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert fragment in err, err
    return err.strip()


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tour") / "model.pt"
    result = run(TRAIN, *TINY, "--epochs", "1", "--out", str(out))
    assert result.returncode == 0, result.stderr.decode()
    return out


@pytest.fixture
def ckpt(trained, tmp_path) -> Path:
    """A fresh copy of the trained checkpoint, alone in its folder."""
    out = tmp_path / "model.pt"
    out.write_bytes(trained.read_bytes())
    return out


def untouched(path: Path, original: bytes) -> None:
    assert path.read_bytes() == original
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary files left


# --- train: the output path, checked before anything else -----------------------------------

def test_train_refuses_to_clobber_an_existing_checkpoint(ckpt):
    before = ckpt.read_bytes()
    result = run(TRAIN, *TINY, "--epochs", "1", "--out", str(ckpt))
    one_line(result, 2, "already exists; add --resume to continue its training or --overwrite "
                        "to replace it")
    assert result.stdout == b""  # refused before any data or model was made
    untouched(ckpt, before)


@pytest.mark.parametrize("out, fragment", [
    ("", "must be a file path, got an empty string"),
    ("{folder}", "is a folder, not a file path"),
    ("/dev/null", "is not a regular file"),
    ("{folder}/missing/model.pt", "does not exist"),
])
def test_train_checks_the_output_path_up_front(ckpt, out, fragment):
    before = ckpt.read_bytes()
    result = run(TRAIN, *TINY, "--epochs", "1", "--overwrite",
                 "--out", out.format(folder=ckpt.parent))
    one_line(result, 2, fragment)
    assert result.stdout == b""
    untouched(ckpt, before)
    assert Path("/dev/null").is_char_device()


@pytest.mark.parametrize("flags, fragment", [
    (("--resume", "--overwrite"), "give one of them"),
    (("--overwrite", "--lr-factor", "inf"), "inf is not a finite number"),
    (("--overwrite", "--lr-factor", "1e6"), "lr_factor=1000000.0 must be a finite number"),
    (("--overwrite", "--seed", str(2**32)), "seed=4294967296 must be an int in [0, 4294967295]"),
    (("--overwrite", "--seed", "-1"), "seed=-1 must be an int >= 0"),
    (("--overwrite", "--epochs", "0"), "0 is not a positive integer"),
    (("--overwrite", "--dropout", "nan"), "nan is not a finite number"),
    (("--resume", "--preset", "small"), "--preset small (it has tiny)"),
    (("--resume", "--batch-size", "8"), "--batch-size 8 (it has 64)"),
    (("--resume", "--epochs", "1"), "already holds 1 epochs; give --epochs above 1"),
    (("--resume", "--task", "reverse"), "was trained on task 'dates-iso', not 'reverse'"),
])
def test_train_refuses_bad_settings_leaving_the_checkpoint(ckpt, flags, fragment):
    before = ckpt.read_bytes()
    result = run(TRAIN, "--device", "cpu", "--no-progress", "--epochs", "2", *flags,
                 "--out", str(ckpt))
    one_line(result, 2, fragment)
    untouched(ckpt, before)


def _model_only(path: Path) -> None:  # what chapter 8 writes: no optimizer, no schedule
    tok = date_tokenizer()
    save_checkpoint(path, Transformer(TransformerConfig.tiny(len(tok))), tok, epoch=3)


def _malformed(path: Path) -> None:
    state = torch.load(path, weights_only=True)
    state["training"]["lr_factor"] = "fast"
    torch.save(state, path)


def _unsafe(path: Path) -> None:
    path.write_bytes(b"\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.")


@pytest.mark.parametrize("damage, fragment", [
    (_model_only, "holds a model without training state"),
    (_malformed, "has malformed training settings (lr_factor='fast' must be a number"),
    (_unsafe, "(a plain pickle, PyTorch's legacy format) are refused as unsafe"),
])
def test_resume_explains_what_cannot_be_resumed(ckpt, damage, fragment):
    damage(ckpt)
    before = ckpt.read_bytes()
    one_line(run(TRAIN, *TINY, "--epochs", "4", "--resume", "--out", str(ckpt)), 2, fragment)
    untouched(ckpt, before)


def test_resume_takes_the_settings_from_the_checkpoint(ckpt):
    result = run(TRAIN, "--device", "cpu", "--no-progress", "--test-size", "16",
                 "--epochs", "2", "--resume", "--out", str(ckpt))
    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout.decode()
    assert "resuming from" in out and "after epoch 1" in out
    assert "preset tiny" in out and "128 fresh training pairs" in out  # not small, not 8000
    assert "epoch  2/2" in out and saved_epoch(ckpt) == 2


# --- translate: files and standard input ------------------------------------------------------

@pytest.mark.parametrize("args, fragment", [
    (("{ckpt}", "24 Nov 2026", "-"), "'-' (read standard input) must be the only text"),
    (("{ckpt}", "24 Nov 2026", "--beam", "0"), "--beam=0 must be between 1 and 64"),
    (("{ckpt}", "24 Nov 2026", "--beam", "100000"), "--beam=100000 must be between 1 and 64"),
    (("{ckpt}", "24 Nov 2026", "--alpha", "nan"), "nan is not a finite number"),
    (("{ckpt}", "24 Nov 2026", "--alpha", "-1"), "--alpha=-1.0 must be >= 0"),
    (("{ckpt}", "24 Nov 2026", "--max-len", "x"), "'x' is not an integer"),
    (("{ckpt}", "1" * 100), "text 1 has 100 tokens, more than the model's max_len=64"),
    (("{folder}", "24 Nov 2026"), "is not a regular file"),
    (("{folder}/nope.pt", "24 Nov 2026"), "does not exist"),
])
def test_translate_refuses_bad_arguments(ckpt, args, fragment):
    args = [a.format(ckpt=ckpt, folder=ckpt.parent) for a in args]
    result = run(TRANSLATE, *args)
    one_line(result, 2, fragment)
    assert result.stdout == b""


def test_translate_refuses_unsafe_and_oversized_checkpoints(ckpt):
    _unsafe(ckpt)
    one_line(run(TRANSLATE, str(ckpt), "24 Nov 2026"), 2, "refused as unsafe")
    _model_only(ckpt)
    state = torch.load(ckpt, weights_only=True)
    state["config"].update(d_model=2**20, num_heads=1, max_len=2**20)
    torch.save(state, ckpt)
    one_line(run(TRANSLATE, str(ckpt), "24 Nov 2026"), 2, "a checkpoint may hold")


def test_translate_reads_standard_input_with_any_line_ending(ckpt):
    lf = run(TRANSLATE, str(ckpt), "-", stdin=b"24 Nov 2026\n\n11/24/26\n")
    crlf = run(TRANSLATE, str(ckpt), "-", stdin=b"24 Nov 2026\r\n\r\n11/24/26")
    assert lf.returncode == crlf.returncode == 0, crlf.stderr.decode()
    assert lf.stdout == crlf.stdout and len(lf.stdout.splitlines()) == 3
    assert lf.stdout.splitlines()[1] == b""  # an empty line gives an empty line


@pytest.mark.parametrize("stdin, fragment", [
    (b"24 Nov 2026\n24 \xff\xfe 2026\n", "line 2 of standard input is not UTF-8 text (byte 0xff"),
    (b"24 Nov 2026\r\n24 d\xc3\xa9c 2026\r\n", "line 2, '24 d\u00e9c 2026', has characters"),
])
def test_translate_names_the_line_it_cannot_read(ckpt, stdin, fragment):
    result = run(TRANSLATE, str(ckpt), "-", stdin=stdin)
    one_line(result, 2, fragment)
    assert result.stdout == b""


def test_translate_exits_quietly_on_a_closed_pipe(ckpt):
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line, as with `| head -0`
    try:
        result = run(TRANSLATE, str(ckpt), "24 Nov 2026", stdout=write_end)
    finally:
        os.close(write_end)
    assert result.returncode == 0 and result.stderr == b""


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_translate_reports_a_full_disk_in_one_line(ckpt):
    with open("/dev/full", "wb") as full:
        result = run(TRANSLATE, str(ckpt), "24 Nov 2026", stdout=full)
    one_line(result, 1, "cannot write the translations: No space left on device")


# --- Ctrl-C at known moments -------------------------------------------------------------------

def interrupt_at(phase: str, *args: str) -> subprocess.CompletedProcess:
    """Run a command that receives SIGINT (Ctrl-C) at ``phase`` and return what it did."""
    return subprocess.run(
        [sys.executable, str(Path(__file__).with_name("signal_at.py")), phase, "INT", *args],
        capture_output=True, env=ENV, timeout=300,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # even if ignored here


def test_interrupt_during_data_generation_saves_nothing(tmp_path):
    out = tmp_path / "model.pt"
    result = interrupt_at("data", TRAIN, *TINY, "--epochs", "1", "--out", str(out))
    one_line(result, 130, "interrupted during data generation; nothing was saved")
    assert list(tmp_path.iterdir()) == []


def test_interrupt_of_an_overwrite_keeps_the_old_checkpoint(ckpt):
    before = ckpt.read_bytes()
    result = interrupt_at("data", TRAIN, *TINY, "--epochs", "1", "--overwrite",
                          "--out", str(ckpt))
    one_line(result, 130, f"nothing was saved; {ckpt} is as it was (epoch 1)")
    untouched(ckpt, before)


def test_interrupt_during_training_tells_which_epoch_is_saved(tmp_path):
    out = tmp_path / "model.pt"
    result = interrupt_at("epoch 2", TRAIN, *TINY, "--epochs", "3", "--out", str(out))
    one_line(result, 130, f"interrupted during training (epoch 2); {out} holds epoch 1 "
                          f"(continue with --resume)")
    assert saved_epoch(out) == 1 and [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def test_interrupt_during_the_test_decode(tmp_path):
    out = tmp_path / "model.pt"
    result = interrupt_at("decode", TRAIN, *TINY, "--epochs", "1", "--out", str(out))
    one_line(result, 130, f"interrupted during the test decode; {out} holds epoch 1")


def test_interrupt_of_a_long_translation(ckpt):
    result = interrupt_at("translate", TRANSLATE, str(ckpt), "24 Nov 2026", "11/24/26")
    one_line(result, 130, "interrupted after 0 of 2 translations")
    assert result.stdout == b""


def test_train_with_a_closed_output_says_what_is_on_disk(ckpt):
    before = ckpt.read_bytes()
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = run(TRAIN, *TINY, "--epochs", "1", "--overwrite", "--out", str(ckpt),
                     stdout=write_end)
    finally:
        os.close(write_end)
    one_line(result, 1, f"standard output was closed during setup; nothing was saved; {ckpt} "
                        f"is as it was (epoch 1)")
    untouched(ckpt, before)
