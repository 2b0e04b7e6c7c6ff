"""scripts/grade.py grades a student's notebook with the book's own check cells."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import student_edition  # noqa: E402


def _chapter() -> nbformat.NotebookNode:
    """A toy chapter with two coding exercises, in the book's layout."""
    v4 = nbformat.v4
    cells = [
        v4.new_code_cell("import math"),
        v4.new_markdown_cell(":::{exercise}\n:label: toy-double\nDouble a number.\n:::"),
        v4.new_code_cell("def double(x):\n    # BEGIN SOLUTION\n    return 2 * x\n"
                         "    # END SOLUTION", metadata={"tags": ["solution"]}),
        v4.new_code_cell("assert double(21) == 42", metadata={"tags": ["check"]}),
        v4.new_markdown_cell(":::{exercise}\n:label: toy-root\nA square root.\n:::"),
        v4.new_code_cell("def root(x):\n    # BEGIN SOLUTION\n    return math.sqrt(x)\n"
                         "    # END SOLUTION", metadata={"tags": ["solution"]}),
        v4.new_code_cell("assert root(9) == 3", metadata={"tags": ["check"]}),
        v4.new_code_cell("assert root(16) == 4", metadata={"tags": ["check"]}),
    ]
    return v4.new_notebook(cells=cells)


def _grade(*paths: Path, csv_path: Path | None = None) -> subprocess.CompletedProcess:
    extra = ["--csv", str(csv_path)] if csv_path else []
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "grade.py"), *extra,
                           *map(str, paths)], capture_output=True, text=True, timeout=600)


def test_the_stubs_fail_the_solutions_pass_and_half_answers_count_half(tmp_path):
    teacher = _chapter()
    student = student_edition.student_notebook(teacher)
    half = student_edition.student_notebook(teacher)
    first = student_edition.find_coding_exercises(half)[0].solution
    half.cells[first].source = "def double(x):\n    return x + x"  # the student answered one
    for name, nb in (("teacher.ipynb", teacher), ("student.ipynb", student),
                     ("half.ipynb", half)):
        nbformat.write(nb, tmp_path / name)
    result = _grade(tmp_path / "teacher.ipynb", tmp_path / "student.ipynb",
                    tmp_path / "half.ipynb", csv_path=tmp_path / "grades.csv")
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[:3] for line in lines[:-1]] == [
        ["teacher.ipynb", "toy-double", "PASS"], ["teacher.ipynb", "toy-root", "PASS"],
        ["student.ipynb", "toy-double", "FAIL"], ["student.ipynb", "toy-root", "FAIL"],
        ["half.ipynb", "toy-double", "PASS"], ["half.ipynb", "toy-root", "FAIL"],
    ]
    assert "NotImplementedError" in lines[2]
    assert lines[-1] == "3 of 6 coding exercises passed"
    rows = list(csv.DictReader((tmp_path / "grades.csv").open(encoding="utf-8")))
    assert [int(r["passed"]) for r in rows] == [1, 1, 0, 0, 1, 0]
    assert nbformat.read(tmp_path / "student.ipynb", as_version=4) == student  # left untouched


def test_all_passing_exits_zero_and_a_missing_file_is_refused(tmp_path):
    nbformat.write(_chapter(), tmp_path / "ok.ipynb")
    assert _grade(tmp_path / "ok.ipynb").returncode == 0
    missing = _grade(tmp_path / "nope.ipynb")
    assert missing.returncode == 2 and "is not a notebook file" in missing.stderr
