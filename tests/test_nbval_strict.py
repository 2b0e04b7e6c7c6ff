"""nbval is strict: a notebook whose committed output was changed must fail the suite."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _first_number_output(cells: list[dict]) -> tuple[int, int]:
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "code" or "NBVAL_IGNORE_OUTPUT" in "".join(cell["source"]):
            continue
        for j, out in enumerate(cell["outputs"]):
            data = out.get("data", {})
            text = "".join(out.get("text", "")) or "".join(data.get("text/plain", ""))
            if re.search(r"\d", text):
                return i, j
    raise AssertionError("no cell prints a number")


def test_a_tampered_output_fails(tmp_path):
    # The smallest chapter keeps this quick.
    source = min(NOTEBOOKS, key=lambda p: p.stat().st_size)
    nb = json.loads(source.read_text(encoding="utf-8"))
    i, j = _first_number_output(nb["cells"])
    out = nb["cells"][i]["outputs"][j]
    key = "text" if "text" in out else None
    lines = out["text"] if key else out["data"]["text/plain"]
    text = "".join(lines)
    tampered = re.sub(r"\d", lambda m: str((int(m.group(0)) + 1) % 10), text, count=1)
    assert tampered != text
    if key:
        out["text"] = tampered
    else:
        out["data"]["text/plain"] = tampered
    target = tmp_path / source.name
    target.write_text(json.dumps(nb), encoding="utf-8")
    shutil.copy(ROOT / "tests" / "sanitize.cfg", tmp_path / "sanitize.cfg")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--nbval",
         "--nbval-current-env", "--nbval-sanitize-with", str(tmp_path / "sanitize.cfg"),
         "-o", "addopts=", "-x", "-q", str(target)],
        cwd=source.parent, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 1, result.stdout[-3000:]
    assert "1 failed" in result.stdout, result.stdout[-3000:]
