"""The benchmark scripts run end to end and print their ratio (speed is not asserted here:
timings belong to one run of the script, not to a test that could flake)."""

from __future__ import annotations

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
