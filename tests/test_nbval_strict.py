"""The notebook check is strict: a changed exact output must fail the suite's own configuration."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _first_exact_number_output(cells: list[dict]) -> tuple[int, int]:
    """The first output with a digit in a cell that is compared character for character."""
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        if "nbval-ignore-output" in cell.get("metadata", {}).get("tags", []):
            continue
        for j, out in enumerate(cell["outputs"]):
            data = out.get("data", {})
            text = "".join(out.get("text", "")) or "".join(data.get("text/plain", ""))
            if re.search(r"\d", text):
                return i, j
    raise AssertionError("no compared cell prints a number")


def test_a_tampered_exact_output_fails(tmp_path):
    # The smallest chapter keeps this quick.
    source = min(NOTEBOOKS, key=lambda p: p.stat().st_size)
    nb = json.loads(source.read_text(encoding="utf-8"))
    i, j = _first_exact_number_output(nb["cells"])
    out = nb["cells"][i]["outputs"][j]
    field = out if "text" in out else out["data"]
    key = "text" if "text" in out else "text/plain"
    text = "".join(field[key])
    tampered = re.sub(r"\d", lambda m: str((int(m.group(0)) + 1) % 10), text, count=1)
    assert tampered != text
    field[key] = tampered
    target = tmp_path / source.name
    target.write_text(json.dumps(nb), encoding="utf-8")
    # Run from the repository with its own pytest configuration (pyproject.toml's addopts), as
    # a reader's `pytest` does: only the file under test differs.
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"),
         "--rootdir", str(ROOT), "-p", "no:cacheprovider", "-q", str(target)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 1, result.stdout[-3000:]
    assert re.search(r"\b1 failed\b", result.stdout), result.stdout[-3000:]
    assert f"cell {i}" in result.stdout or "Cell outputs differ" in result.stdout, \
        result.stdout[-3000:]
