"""benchmarks/race_tuning.py, the tuning runs behind chapter 9's race, runs end to end and names
the factor each model races with (a one-epoch smoke run; the full run takes a few CPU minutes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_race_tuning_smoke_run_names_the_chosen_factor():
    args = ["--factors", "1", "2", "--epochs", "1", "--race-epochs", "1", "--models",
            "Transformer"]
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "race_tuning.py"), *args],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert sum(line.startswith("Transformer ") for line in lines) == 2, result.stdout
    assert any(line.startswith("Transformer: races with lr_factor ") for line in lines)


def test_race_tuning_refuses_a_race_longer_than_the_runs():
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "race_tuning.py"),
                             "--epochs", "2", "--race-epochs", "3"],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 2 and "--race-epochs (3) must not exceed --epochs (2)" in (
        result.stderr)
