"""Grade students' notebooks with the book's own checks: one line per coding exercise.

    python scripts/grade.py submissions/alice/*.ipynb
    python scripts/grade.py --csv grades.csv submissions/*/*.ipynb

Each notebook runs top to bottom in a fresh kernel, as a student would run it, and an error does
not stop the run. A coding exercise (a cell tagged ``solution`` and the cells tagged ``check``
after it, as ``scripts/student_edition.py`` writes them) passes when its solution cell and every
check cell ran without an error; the first line of the error says why one did not. The exit
code is 0 when every exercise passed, 1 otherwise. Nothing is written to the notebooks.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from student_edition import find_coding_exercises  # noqa: E402

# An exercise's label: ``:label:`` of a MyST ``{exercise}``, or the anchor before "**Exercise"
# in the portable edition (which the student notebooks are written from).
LABEL = re.compile(r'^:label:\s*(\S+)|<a id="([^"]+)"[^>]*></a>\*\*Exercise\b', re.MULTILINE)


@dataclass(frozen=True)
class Grade:
    notebook: str
    exercise: str
    passed: bool
    reason: str


def _label(nb, solution: int) -> str:
    """The label of the last exercise directive before the solution cell."""
    for cell in reversed(nb.cells[:solution]):
        if cell.cell_type == "markdown" and ("{exercise}" in cell.source
                                             or "**Exercise" in cell.source):
            found = LABEL.findall(cell.source)
            if found:
                return "".join(found[-1])
    return f"cell {solution}"


def _error(cell) -> str | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return f"{out.get('ename')}: {out.get('evalue', '')}".strip().splitlines()[0][:200]
    return None


def grade(path: Path, timeout: int = 600) -> list[Grade]:
    """Run ``path`` in a fresh kernel and grade each of its coding exercises."""
    nb = nbformat.read(path, as_version=4)
    exercises = find_coding_exercises(nb)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    grades = []
    for exercise in exercises:
        reason = None
        for index in (exercise.solution, *exercise.checks):
            reason = _error(nb.cells[index])
            if reason:
                break
        grades.append(Grade(path.name, _label(nb, exercise.solution), reason is None,
                            reason or ""))
    return grades


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path, help="the students' notebooks")
    parser.add_argument("--csv", type=Path, help="also write the grades to this CSV file")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    args = parser.parse_args(argv)
    for path in args.notebooks:
        if not path.is_file():
            parser.error(f"{path} is not a notebook file")
    grades = [g for path in args.notebooks for g in grade(path, args.timeout)]
    for g in grades:
        print(f"{g.notebook:<36} {g.exercise:<28} {'PASS' if g.passed else 'FAIL'}  {g.reason}")
    passed = sum(g.passed for g in grades)
    print(f"{passed} of {len(grades)} coding exercises passed")
    if args.csv:
        with args.csv.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["notebook", "exercise", "passed", "reason"])
            writer.writerows([g.notebook, g.exercise, int(g.passed), g.reason] for g in grades)
    return 0 if passed == len(grades) else 1


if __name__ == "__main__":
    sys.exit(main())
