"""The benchmark scripts run end to end and print their ratio (speed is not asserted here:
timings belong to one run of the script, not to a test that could flake)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("script, args", [
    ("attention.py", ["--device", "cpu", "--lengths", "16", "32", "--d-model", "32", "--heads", "4",
                      "--tokens", "256", "--repeats", "1", "--warmup", "1",
                      "--round-seconds", "0.01"]),
    ("training.py", ["--device", "cpu", "--preset", "tiny", "--batch-size", "8", "--steps", "1",
                     "--repeats", "1"]),
    ("race.py", ["--device", "cpu", "--threads", "1", "2", "--lengths", "8", "16",
                 "--batch-size", "4", "--d-model", "16", "--steps", "1", "--repeats", "1"]),
    ("decoding.py", ["--device", "cpu", "--preset", "tiny", "--lengths", "4", "8",
                     "--batch-size", "2", "--src-len", "5", "--vocab", "20", "--repeats", "1",
                     "--threads", "1"]),
])
def test_benchmark_prints_its_ratio(script, args):
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    ratios = re.findall(r"ratio[^\n]*?(\d+\.\d+)", result.stdout)
    assert ratios and all(float(r) > 0 for r in ratios), result.stdout


def test_multi30k_smoke_run_reports_bleu_speed_and_memory(seeded_cache):
    """A few steps of a tiny model on Multi30k from a seeded cache (no download): the script
    prints sacreBLEU with its signature and the set it scored, tokens/s, wall time and memory."""
    args = ["--device", "cpu", "--max-steps", "4", "--train-pairs", "600", "--test-lines", "8",
            "--vocab-size", "500", "--d-model", "16", "--heads", "2", "--layers", "1",
            "--d-ff", "32", "--max-tokens", "512", "--warmup", "10"]
    env = {**os.environ, "TRANSFORMER_BOOK_DATA": str(seeded_cache), "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "multi30k.py"), *args],
                            capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "Multi30k de->en: 600 training pairs" in out and "steps      4" in out
    assert ("the first 8 lines of test_2016_flickr.de -> test_2016_flickr.en (not the whole "
            "set) (beam 4, alpha 0.6") in out
    assert re.search(r"BLEU = \d+\.\d+ .*signature nrefs:1\|case:mixed\|eff:no\|tok:13a", out)
    assert re.search(r"training: [\d,]+ tokens/s", out) and "wall time" in out
    assert re.search(r"peak memory \d+\.\d+ GiB \(max resident set size", out)
    assert sorted(p.name for p in (seeded_cache / "multi30k").iterdir() if p.suffix != ".gz") \
        == ["test_2016_flickr.de", "test_2016_flickr.en", "train.de", "train.en", "val.de",
            "val.en"]
