"""Training on two processes (``torchrun``, gloo on the CPU) learns what one process learns from
the same batches, writes one checkpoint, and resumes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from transformer_book.korean_grammar import korean_corpus

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
RUN = ("-m", "transformer_book.train", "--preset", "tiny", "--device", "cpu", "--vocab-size",
       "200", "--max-tokens", "400", "--warmup", "20", "--lr-factor", "1", "--no-progress")
TOLERANCE = 1e-4
"""Relative difference allowed between the step losses of the two runs: the gradients are the
same sums, added in another order (an all-reduce across processes instead of accumulation)."""


def train(*args: str, processes: int = 1) -> subprocess.CompletedProcess:
    launcher = [sys.executable]
    if processes > 1:
        launcher += ["-m", "torch.distributed.run", "--standalone",
                     f"--nproc_per_node={processes}"]
    result = subprocess.run([*launcher, *RUN, *args], capture_output=True, text=True, env=ENV,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def step_losses(path) -> list[float]:
    return torch.load(path, weights_only=True)["history"]["step_loss"]


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "pairs.tsv"
    splits = korean_corpus(1200, 100, 100, seed=0)
    path.write_text("".join(f"{en}\t{ko}\n" for part in splits for en, ko in part),
                    encoding="utf-8")
    return path


def test_two_processes_learn_what_one_learns_with_accumulation(pairs, tmp_path):
    ddp, one = tmp_path / "ddp.pt", tmp_path / "one.pt"
    result = train("--data", str(pairs), "--epochs", "2", "--out", str(ddp), processes=2)
    train("--data", str(pairs), "--epochs", "2", "--accumulate", "2", "--out", str(one))
    # Rank 0 alone prints: one log line per epoch and one test report.
    assert result.stdout.count("epoch  1/2") == 1 and result.stdout.count("test exact") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ddp.pt", "one.pt"]
    a, b = step_losses(ddp), step_losses(one)
    assert len(a) == len(b) > 20
    assert a == pytest.approx(b, rel=TOLERANCE)
    assert a[-1] < 0.8 * a[0]
    # Not the same as one process on half the batch: the comparison can fail.
    half = tmp_path / "half.pt"
    train("--data", str(pairs), "--epochs", "1", "--out", str(half))
    assert step_losses(half)[:5] != pytest.approx(a[:5], rel=TOLERANCE)


def test_a_distributed_run_resumes(pairs, tmp_path):
    whole, part = tmp_path / "whole.pt", tmp_path / "part.pt"
    train("--data", str(pairs), "--epochs", "2", "--out", str(whole), processes=2)
    train("--data", str(pairs), "--epochs", "1", "--out", str(part), processes=2)
    result = train("--data", str(pairs), "--epochs", "2", "--resume", "--out", str(part),
                   processes=2)
    assert "resuming from" in result.stdout and "after epoch 1" in result.stdout
    assert step_losses(part) == pytest.approx(step_losses(whole), rel=TOLERANCE)
