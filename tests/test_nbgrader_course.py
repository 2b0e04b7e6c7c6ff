"""The chapters as an nbgrader course (scripts/nbgrader_course.py).

Every chapter converts: each exercise has its nbgrader cells. Then a small course is built and
graded with nbgrader itself, with the commands of the instructor guide's grading section: chapter
3 (short) and chapter 4 (trains), submitted by students who did it right, did nothing, got it
wrong, replaced the check cell by a ``print``, deleted the exercise's cells and retyped the
answer in a new cell, or wrote an infinite loop.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import nbgrader_course  # scripts/, on the path by conftest.py
import pytest
import student_edition
from portable_edition import strip_markers

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))

CH03, CH04, CH07 = "03_softmax_weighting", "04_multi_head_attention", "07_decoder_and_model"
# Chapters 3 and 7 have no cell longer than a few seconds: there an infinite loop costs its
# exercise and this many seconds (the course's default is for chapters that train).
SHORT_TIMEOUT = "30"
# The label of a MyST exercise: ":::{exercise}" then its options, one of them ":label:".
EXERCISE_LABEL = re.compile(r"^[ \t]*(?::{3,}|`{3,})\{exercise\}.*\n(?::[\w-]+:.*\n)*?"
                            r":label:[ \t]*(\S+)", re.MULTILINE)


def graded(nb) -> dict[str, nbformat.NotebookNode]:
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_exercise_has_its_nbgrader_cells(path):
    teacher = nbformat.read(path, as_version=4)
    source = nbgrader_course.nbgrader_notebook(teacher, f"notebooks/{path.stem}")
    nbformat.validate(source)
    cells = graded(source)
    assert len(cells) == sum("nbgrader" in c.metadata for c in source.cells), "grade_id unique"
    labels = [label for c in teacher.cells if c.cell_type == "markdown"
              for label in EXERCISE_LABEL.findall(c.source)]
    assert labels, f"{path.name}: no exercise"
    exercises = student_edition.find_coding_exercises(teacher)
    for label in labels:
        assert label in cells, f"{path.name}: no nbgrader cell for {label}"
        meta = cells[label].metadata["nbgrader"]
        if cells[label].cell_type == "markdown":  # a written answer, graded by hand
            assert meta["solution"] and meta["grade"] and meta["points"] > 0
        else:  # a coding exercise: the solution, then locked checks with points
            assert meta["solution"] and not meta["grade"] and "# BEGIN SOLUTION" in cells[
                label].source
            checks = [cells[f"{label}-check{k}"].metadata["nbgrader"] for k in (1, 2, 3)
                      if f"{label}-check{k}" in cells]
            assert checks and all(c["locked"] and c["grade"] and c["points"] > 0 for c in checks)
    assert sum(k.count("-check") for k in cells) == sum(len(e.checks) for e in exercises)
    shown = "\n".join(c.source for c in source.cells if c.metadata.get("nbgrader", {}).get(
        "solution") is not True)
    assert "<details>" not in shown and "Solution to" not in shown, "a solution outside the key"


# --- a course, graded by nbgrader ---------------------------------------------------------------

def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    """``nbgrader ARGS`` in the course folder, with this environment's commands on PATH."""
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run([str(bin_dir / "nbgrader"), *args], cwd=course, env=env,
                            capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def solved(release, source, answers: dict[str, str] | None = None):
    """The release with every coding exercise answered by the book's solution (or by
    ``answers[label]``) and every written one with a sentence."""
    nb = nbformat.from_dict(release)
    key = graded(source)
    for grade_id, cell in graded(nb).items():
        meta = cell.metadata["nbgrader"]
        if meta["solution"] and cell.cell_type == "code":
            cell.source = (answers or {}).get(grade_id, strip_markers(key[grade_id].source))
        elif meta["solution"]:
            cell.source = "My answer, in my own words."
    return nb


def submit(course: Path, student: str, chapter: str, nb) -> None:
    folder = course / "submitted" / student / nbgrader_course.assignment_name(Path(chapter))
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{chapter}.ipynb")


WRONG_SOFTMAX = "def masked_softmax(scores, mask):\n    return scores.softmax(-1)"
LOOP = "def transformer_param_count(c):\n    while True:\n        pass"


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    course = tmp_path_factory.mktemp("course")
    subprocess.run([sys.executable, str(ROOT / "scripts" / "nbgrader_course.py"), "source",
                    str(course), *(str(ROOT / "notebooks" / f"{chapter}.ipynb")
                                   for chapter in (CH03, CH04, CH07))], check=True)
    for assignment in ("ch03", "ch04", "ch07"):
        nbgrader(course, "generate_assignment", assignment)

    def read(kind: str, chapter: str):
        path = course / kind / nbgrader_course.assignment_name(Path(chapter)) / f"{chapter}.ipynb"
        return nbformat.read(path, as_version=4)

    release, source = read("release", CH03), read("source", CH03)
    submit(course, "alice", CH03, solved(release, source))
    submit(course, "bob", CH03, release)
    submit(course, "carol", CH03, solved(release, source, {"ch03-masked-softmax": WRONG_SOFTMAX}))
    dave = solved(release, source, {"ch03-masked-softmax": WRONG_SOFTMAX})
    graded(dave)["ch03-masked-softmax-check1"].source = 'print("all checks passed")'
    submit(course, "dave", CH03, dave)
    erin = solved(release, source)  # deletes the exercise's cell, retypes it above the exercises
    answer = graded(erin)["ch03-masked-softmax"].source
    erin.cells = [c for c in erin.cells if c.metadata.get("nbgrader", {}).get(
        "grade_id") != "ch03-masked-softmax"]
    first = next(i for i, c in enumerate(erin.cells) if "**Exercise" in c.source)
    erin.cells.insert(first, nbformat.v4.new_code_cell(answer))
    submit(course, "erin", CH03, erin)

    submit(course, "alice", CH04, solved(read("release", CH04), read("source", CH04)))

    frank = solved(read("release", CH07), read("source", CH07), {"ch07-count": LOOP})
    check = frank.cells.index(graded(frank)["ch07-count-check1"])  # and deletes its check
    frank.cells[check] = nbformat.v4.new_code_cell('print("all checks passed")')
    submit(course, "frank", CH07, frank)

    # The guide's grading commands.
    nbgrader(course, "autograde", "ch03", f"--Execute.timeout={SHORT_TIMEOUT}")
    nbgrader(course, "autograde", "ch04")
    nbgrader(course, "autograde", "ch07", f"--Execute.timeout={SHORT_TIMEOUT}")
    nbgrader(course, "export")
    subprocess.run([sys.executable, str(ROOT / "scripts" / "nbgrader_course.py"), "grades",
                    str(course), "--csv", str(course / "exercises.csv")], check=True)
    return course


def points(course: Path) -> dict[tuple[str, str], tuple[float, float, bool]]:
    rows = csv.DictReader((course / "exercises.csv").open(encoding="utf-8"))
    return {(r["student"], r["exercise"]): (float(r["score"]), float(r["max_score"]),
                                            r["needs_manual_grade"] == "True") for r in rows}


def test_points_per_student_and_exercise(course):
    got = points(course)
    coding = {student: got[(student, "ch03-masked-softmax")][:2]
              for student in ("alice", "bob", "carol", "dave", "erin")}
    assert coding == {"alice": (1, 1), "bob": (0, 1), "carol": (0, 1), "dave": (0, 1),
                      "erin": (1, 1)}
    for student in ("alice", "bob", "carol", "dave", "erin"):
        for written in ("ch03-drown", "ch03-fill", "ch03-temperature"):
            score, max_score, manual = got[(student, written)]
            # an answer left as handed out scores 0 by itself; the others wait for a grader
            assert (score, max_score, manual) == (0, 1, student != "bob"), (student, written)
    assert got[("alice", "ch04-one-head")] == (2, 3, True)  # two checks, and a written part
    assert got[("alice", "ch04-hand-set")][:2] == got[("alice", "ch04-from-scratch")][:2] == (1, 1)
    totals = {(r["student_id"], r["assignment"]): float(r["score"])
              for r in csv.DictReader((course / "grades.csv").open(encoding="utf-8"))}
    assert totals[("alice", "ch03")] == 1 and totals[("bob", "ch03")] == 0
    assert totals[("carol", "ch04")] == 0, "no submission, no points"


def autograded(course: Path, student: str, chapter: str):
    folder = course / "autograded" / student / nbgrader_course.assignment_name(Path(chapter))
    return nbformat.read(folder / f"{chapter}.ipynb", as_version=4)


def test_a_check_replaced_by_print_is_restored_and_fails(course):
    check = graded(autograded(course, "dave", CH03))["ch03-masked-softmax-check1"]
    original = graded(nbformat.read(course / "source" / "ch03" / f"{CH03}.ipynb", as_version=4))
    assert check.source == original["ch03-masked-softmax-check1"].source
    errors = [o for o in check.outputs if o.output_type == "error"]
    assert errors and errors[0].ename == "AssertionError"
    assert "Greatest absolute difference" in errors[0].evalue, "it says what came"


def test_a_retyped_exercise_still_counts(course):
    erin = autograded(course, "erin", CH03)
    assert "ch03-masked-softmax" not in graded(erin), "her own cell stands in for it"
    assert not [o for o in graded(erin)["ch03-masked-softmax-check1"].outputs
                if o.output_type == "error"]


def test_a_deleted_check_comes_back_and_is_graded(course):
    frank = autograded(course, "frank", CH07)
    source = graded(nbformat.read(course / "source" / "ch07" / f"{CH07}.ipynb", as_version=4))
    check = graded(frank)["ch07-count-check1"]
    assert source["ch07-count-check1"].source in check.source
    assert [o for o in check.outputs if o.output_type == "error"], "it ran, and failed"


def test_an_infinite_loop_costs_only_its_own_exercise(course):
    got = points(course)
    assert got[("frank", "ch07-count")][:2] == (0, 1)
    assert got[("frank", "ch07-decode-by-hand")][:2] == (1, 1), "the cells after the loop ran"
    assert got[("alice", "ch03-masked-softmax")][:2] == (1, 1), "and the other students' grades"
