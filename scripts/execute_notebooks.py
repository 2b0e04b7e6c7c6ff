"""Re-execute the book's notebooks in place, each top to bottom in a fresh kernel.

    python scripts/execute_notebooks.py                # every chapter
    python scripts/execute_notebooks.py notebooks/03_softmax_weighting.ipynb

Authors run this after editing a chapter, then commit the notebook with its outputs: the online
book shows those outputs and `pytest` (nbval) checks that a fresh run reproduces them.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

try:
    import resource
except ImportError:  # Windows: no kernel CPU time, only wall time
    resource = None

ROOT = Path(__file__).resolve().parents[1]
MACHINE_PATH = re.compile(r"(/work/|/root/|/home/[a-z]|/Users/|/tmp/|site-packages|[A-Z]:\\\\)")


def _children_cpu_seconds() -> float:
    if resource is None:
        return float("nan")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def execute(path: Path, timeout: int) -> tuple[float, float]:
    """Run ``path`` in place; return (wall seconds, CPU seconds of the kernel)."""
    nb = nbformat.read(path, as_version=4)
    start, cpu_start = time.perf_counter(), _children_cpu_seconds()
    NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds, cpu = time.perf_counter() - start, _children_cpu_seconds() - cpu_start
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            text = json.dumps(cell.outputs)
            match = MACHINE_PATH.search(text)
            if match:
                raise SystemExit(f"{path}: cell {i} output shows a machine path ({match.group(0)})")
    nbformat.write(nb, path)
    return seconds, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to run (default: notebooks/*.ipynb)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    for path in paths:
        if not path.exists():
            parser.error(f"{path} does not exist")
        seconds, cpu = execute(path.resolve(), args.timeout)
        print(f"{path.name}: {seconds:.1f} s wall, {cpu:.1f} s CPU", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
