"""Training on two processes (``torchrun``, gloo on the CPU) learns what one process learns from
the same batches, writes one checkpoint, and resumes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
import torch.distributed as dist

from transformer_book import train as train_command
from transformer_book.runtime import leave_distributed, rank_and_world
from transformer_book.text.korean_grammar import korean_corpus

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
    # Validated in two shares (one of them with no batch: 100 pairs make one batch of 256), the
    # numbers of the whole validation set.
    ha, hb = (torch.load(path, weights_only=True)["history"] for path in (ddp, one))
    for key in ("val_loss", "val_token_accuracy", "val_exact_match"):
        assert ha[key] == pytest.approx(hb[key], rel=TOLERANCE), key
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


VALIDATE = """
import json
import sys
import time
from pathlib import Path

from transformer_book import Transformer, TransformerConfig, set_seed
from transformer_book.batching import make_batches
from transformer_book.text.data import date_pairs, date_tokenizer
from transformer_book.decoding import translate
from transformer_book.runtime import init_distributed, leave_distributed
from transformer_book.schedule import LabelSmoothingLoss
from transformer_book.text.metrics import exact_match
from transformer_book.loops import evaluate
from transformer_book.training import TrainingConfig, _validation_scores

device, rank, world = init_distributed("cpu")
tok = date_tokenizer()
set_seed(0)
model = Transformer(TransformerConfig.tiny(len(tok)))
pairs = date_pairs(45, "validation")
# Targets the untrained model gets right for every third pair: an exact match of 15/45.
own = translate(model, tok, [s for s, _ in pairs], max_new_tokens=20)
pairs = [(s, own[i] if i % 3 == 0 else t) for i, (s, t) in enumerate(pairs)]
batches, loss_fn = make_batches(pairs, tok, 8), LabelSmoothingLoss(0.0, tok.pad_id)
config = TrainingConfig(max_decode_len=20)
whole = {**evaluate(model, batches, loss_fn, device),
         "exact_match": exact_match(translate(model, tok, [s for s, _ in pairs], max_new_tokens=20),
                                    [t for _, t in pairs])}
share = _validation_scores(model, tok, batches[rank::world], pairs[rank::world], loss_fn, device,
                           config)
if rank == 0:
    time.sleep(1.0)  # rank 0 still busy (writing its checkpoint, say) when rank 1 is done
start = time.perf_counter()
leave_distributed(together=True)
report = {"waited": time.perf_counter() - start, "whole": whole, "shared": share,
          "batches": len(batches[rank::world])}
(Path(sys.argv[1]) / f"rank{rank}.json").write_text(json.dumps(report))
"""


def test_processes_share_the_validation_and_report_the_whole_set(tmp_path):
    script = tmp_path / "validate.py"
    script.write_text(VALIDATE, encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                             "--nproc_per_node=2", str(script), str(tmp_path)],
                            capture_output=True, text=True, env=ENV, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    reports = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    out = reports[0]
    assert out["batches"] == 3  # rank 0 validated 3 of the 6 batches
    assert out["whole"]["exact_match"] == pytest.approx(15 / 45)
    assert out["shared"] == pytest.approx(out["whole"], rel=1e-9)
    assert reports[1]["shared"] == out["shared"]  # every process sees the whole set's scores
    # Leaving together: rank 1 waits at the barrier for rank 0 instead of tearing the group
    # down under it (which can abort a process with SIGABRT).
    assert reports[1]["waited"] > 0.8 > reports[0]["waited"]


def test_a_failure_on_rank_0_stops_every_process_with_one_line(pairs, tmp_path):
    # Rank 0 alone trains the subword vocabulary; the others wait for it. When it cannot be
    # trained, they stop with the same one-line error instead of a broken-connection traceback.
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                             "--nproc_per_node=2", *RUN, "--vocab-size", "20", "--data",
                             str(pairs), "--out", str(tmp_path / "m.pt")],
                            capture_output=True, text=True, env=ENV, timeout=600)
    assert result.returncode != 0
    assert result.stderr.count("error: vocab_size=20 cannot be trained") == 1  # rank 0 says it
    assert "[rank" not in result.stderr and "Connection closed" not in result.stderr
    assert not (tmp_path / "m.pt").exists()


def test_an_epoch_that_cannot_deal_a_batch_to_every_process_is_refused(pairs, tmp_path):
    # One batch for two processes: no step could be made, so the epoch is neither trained,
    # logged nor saved (it was once saved as trained, with the weights of the epoch before).
    train("--data", str(pairs), "--epochs", "1", "--max-tokens", "1000000",
          "--out", str(tmp_path / "m.pt"))
    before = (tmp_path / "m.pt").read_bytes()
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                             "--nproc_per_node=2", *RUN, "--max-tokens", "1000000", "--data",
                             str(pairs), "--epochs", "2", "--resume",
                             "--out", str(tmp_path / "m.pt")],
                            capture_output=True, text=True, env=ENV, timeout=600)
    assert result.returncode != 0 and "epoch  2/2" not in result.stdout
    assert result.stderr.count("error: the training pairs make 1 batch(es), fewer than the 2 "
                               "one step needs (1 accumulated x 2 processes)") == 1
    assert (tmp_path / "m.pt").read_bytes() == before


def test_the_command_leaves_the_process_group(tmp_path):
    # A process that ends with its group open can abort on the way out; train leaves it.
    dist.init_process_group("gloo", init_method=(tmp_path / "store").as_uri(), rank=0,
                            world_size=1)
    try:
        assert rank_and_world() == (0, 1) and dist.is_initialized()
        code = train_command.main(["--task", "copy", "--preset", "tiny", "--device", "cpu",
                                   "--epochs", "1", "--train-size", "64", "--val-size", "8",
                                   "--test-size", "8", "--no-progress",
                                   "--out", str(tmp_path / "m.pt")])
        assert code == 0 and not dist.is_initialized()
        leave_distributed()  # nothing left to leave: no error
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
