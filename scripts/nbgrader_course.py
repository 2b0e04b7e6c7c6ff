"""Make an nbgrader course of the chapters, and read its grades exercise by exercise.

    python scripts/nbgrader_course.py source ~/course                    # every chapter
    python scripts/nbgrader_course.py source ~/course notebooks/03_softmax_weighting.ipynb
    cd ~/course && nbgrader generate_assignment ch03 && nbgrader autograde ch03
    python scripts/nbgrader_course.py grades ~/course --csv grades.csv   # points per exercise

``source`` writes ``<course>/source/chNN/<chapter>.ipynb`` for each chapter, and
``<course>/nbgrader_config.py`` unless the course has one. The notebook is the chapter's portable
edition (plain Markdown and LaTeX, as students read it in any Jupyter) with nbgrader's metadata:

- each coding exercise's solution cell is an nbgrader *solution* cell, ``grade_id`` the exercise's
  label (``ch03-masked-softmax``); ``nbgrader generate_assignment`` replaces what lies between its
  ``# BEGIN SOLUTION`` / ``# END SOLUTION`` lines by the book's stub;
- each of its check cells is a locked, autograded *test* cell worth ``CHECK_POINTS``,
  ``grade_id`` ``<label>-check1``, ``-check2``...: ``nbgrader autograde`` restores a check cell a
  student edited (its checksum changed) or deleted, and grades the original;
- each written exercise gets a manually graded answer cell under it, worth ``WRITTEN_POINTS``,
  ``grade_id`` the label (``<label>-written`` for the written part of a coding exercise), whose
  source is the book's solution: the instructor's key, which the release replaces by
  "YOUR ANSWER HERE";
- the exercises that shared one markdown cell get one cell each, and the "Solution to ..." notes
  are dropped.

``grades`` reads ``<course>/gradebook.db`` after ``nbgrader autograde`` and writes one row per
student and exercise: ``student, assignment, exercise, score, max_score, needs_manual_grade``
(the check cells of an exercise summed). ``nbgrader export`` gives the totals per assignment.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from portable_edition import _new_id  # noqa: E402
from student_edition import (  # noqa: E402
    CHECK_TAG,
    SOLUTION_TAG,
    STUB,
    STUDENT_NOTE,
    _check_out,
    find_coding_exercises,
    portable_notebook,
    solution_details,
    split_solution_details,
    tags,
)

ROOT = Path(__file__).resolve().parents[1]
CHECK_POINTS = 1
WRITTEN_POINTS = 1
# The longest cell of the book (chapter 8's training) takes about 80 s on two cores; an infinite
# loop costs its own exercise and this many seconds.
CELL_TIMEOUT = 300
# "<a id="ch03-drown" name="ch03-drown"></a>**Exercise 3.1**", as the portable edition writes it.
EXERCISE = re.compile(r'^<a id="(?P<label>[^"]+)"[^>]*></a>'
                      r"\*\*Exercise(?: (?P<number>[\d.]+))?\*\*", re.MULTILINE)
NOTE = re.compile(r"^\*\*Solution to (?:Exercise (?P<number>[\d.]+)|the exercise)\.\*\*")
HEADING = re.compile(r"^#{1,6} ")
FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")
SUFFIX = re.compile(r"-(check\d+|written)$")
# The student edition's note, and what grading adds to it.
ASSIGNMENT_NOTE = STUDENT_NOTE.replace("Student edition", "Graded assignment") + (
    " Write each written answer in the cell under its exercise, in place of YOUR ANSWER HERE. "
    "Keep the cells where they are: when your work is graded, the notebook runs top to bottom "
    "and the check cells are restored as they were handed out.")
CONFIG = f'''\
# nbgrader's settings for the course made by scripts/nbgrader_course.py (edit freely).
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "transformer-step-by-step"
# The stub of the book's student edition, in place of each coding exercise's solution.
c.ClearSolutions.code_stub = {{"python": {STUB!r}}}
# Seconds a cell may run when grading: an infinite loop costs its own exercise and this long.
c.Execute.timeout = {CELL_TIMEOUT}
# A check cell the student deleted is put back (after the cell before it) and graded.
c.OverwriteCells.add_missing_cells = True
'''


def _nbgrader(cell, grade_id: str, *, solution: bool, grade: bool, locked: bool,
              points: float = 0) -> None:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if grade:
        meta["points"] = points
    cell.metadata["nbgrader"] = meta


def _split_at_heading(text: str) -> tuple[str, str]:
    """(the text up to its first heading outside code fences, the heading and what follows)."""
    lines = text.splitlines()
    fence = None
    for i, line in enumerate(lines):
        opening = FENCE.match(line)
        if fence is None and opening:
            fence = opening.group(1)
        elif fence is not None and line.strip().startswith(fence):
            fence = None
        elif fence is None and HEADING.match(line):
            return "\n".join(lines[:i]).strip("\n"), "\n".join(lines[i:]).strip("\n")
    return text, ""


def exercise_parts(markdown: str) -> list[tuple[str | None, str]]:
    """A markdown cell cut at each exercise: ``(label, text)`` pairs, ``label`` None for the text
    before the first exercise and after the last one's (a heading ends an exercise)."""
    starts = [m.start() for m in EXERCISE.finditer(markdown)]
    if not starts:
        return [(None, markdown)]
    parts = [(None, markdown[:starts[0]].strip("\n"))]
    for begin, end in zip(starts, [*starts[1:], len(markdown)], strict=True):
        text, tail = _split_at_heading(markdown[begin:end].strip("\n"))
        parts += [(EXERCISE.match(text).group("label"), text), (None, tail)]
    return [(label, text) for label, text in parts if text.strip()]


def _exercise_labels(nb) -> tuple[dict[str, str], set[str]]:
    """(exercise number -> label, labels of the coding exercises) of a portable notebook."""
    numbers, coding = {}, set()
    last = None
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for match in EXERCISE.finditer(cell.source):
            numbers[match.group("number") or ""] = last = match.group("label")
        note = NOTE.match(cell.source) if SOLUTION_TAG in tags(cell) else None
        if note:
            coding.add(numbers.get(note.group("number") or "", last))
    return numbers, coding


def _markdown(source: str, cell_id: str):
    cell = nbformat.v4.new_markdown_cell(source)
    cell["id"] = cell_id
    return cell


def nbgrader_notebook(nb, doc: str):
    """The nbgrader source notebook of chapter ``doc`` (``notebooks/03_softmax_weighting``)."""
    portable = portable_notebook(nb, doc, keep_markers=True)
    find_coding_exercises(portable)  # every solution cell has its checks
    numbers, coding = _exercise_labels(portable)
    cells, ids = [], set()
    label = None  # the exercise the code cells below belong to
    checks = 0

    def answer(grade_id: str, key: str, cell_id: str) -> None:
        if cells and cells[-1].metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            cells[-1].source += "\n\n" + key  # the gated solution's prose, in several cells
            return
        if grade_id in ids:
            raise ValueError(f"{doc}: two answer cells for {grade_id!r}")
        cell = _markdown(key, cell_id)
        _nbgrader(cell, grade_id, solution=True, grade=True, locked=False, points=WRITTEN_POINTS)
        cells.append(cell)
        ids.add(grade_id)

    for cell in portable.cells:
        cell_tags = tags(cell)
        cell_id = cell.get("id") or _new_id(None, str(len(cells)))
        if cell.cell_type == "markdown" and SOLUTION_TAG in cell_tags:
            note = NOTE.match(cell.source)
            if note:
                label = numbers.get(note.group("number") or "", label)
                checks = 0
            elif label is None:
                raise ValueError(f"{doc}: solution text before any exercise")
            else:
                answer(f"{label}-written", cell.source, _new_id(cell_id, "answer"))
            continue
        if cell.cell_type == "markdown":
            for n, (part_label, text) in enumerate(exercise_parts(cell.source)):
                prompt = split_solution_details(text)[0]
                cells.append(_markdown(prompt, cell_id if n == 0 else _new_id(cell_id, str(n))))
                keys = solution_details(text)
                if part_label and keys:
                    grade_id = part_label + ("-written" if part_label in coding else "")
                    answer(grade_id, "\n\n".join(keys), _new_id(cell_id, f"{n}-answer"))
                if part_label:
                    label = part_label
            continue
        if cell.cell_type == "code" and SOLUTION_TAG in cell_tags:
            if label is None or label in ids:
                raise ValueError(f"{doc}: a solution cell that is not its exercise's only one")
            _nbgrader(cell, label, solution=True, grade=False, locked=False)
            ids.add(label)
            cell.outputs, cell.execution_count = [], None
        elif cell.cell_type == "code" and CHECK_TAG in cell_tags:
            checks += 1
            _nbgrader(cell, f"{label}-check{checks}", solution=False, grade=True, locked=True,
                      points=CHECK_POINTS)
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    title = 1 if cells and cells[0].cell_type == "markdown" else 0
    cells.insert(title, _markdown(ASSIGNMENT_NOTE, "graded-assignment-note"))
    portable.cells = cells
    portable.metadata.pop("portable_edition", None)
    return portable


def assignment_name(path: Path) -> str:
    """``ch03`` for ``03_softmax_weighting.ipynb``."""
    return "ch" + path.stem.split("_", 1)[0]


def write_source(course: Path, chapters: list[Path]) -> list[Path]:
    """Write ``course/source/chNN/<chapter>.ipynb`` (and ``nbgrader_config.py`` if missing).

    ``course`` lies outside the book's checkout, or under its ``_build/``.
    """
    course = course.resolve()
    _check_out(course)
    course.mkdir(parents=True, exist_ok=True)
    config = course / "nbgrader_config.py"
    if not config.exists():
        config.write_text(CONFIG, encoding="utf-8")
    written = []
    for path in chapters:
        nb = nbgrader_notebook(nbformat.read(path, as_version=4), f"notebooks/{path.stem}")
        target = course / "source" / assignment_name(path) / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
        written.append(target)
    return written


def exercise_grades(course: Path) -> list[dict]:
    """One row per student and exercise from ``course/gradebook.db``: the points of the
    exercise's cells summed, and whether any of them waits for a manual grade."""
    from nbgrader.api import Gradebook

    rows: dict[tuple[str, str, str], dict] = {}
    with Gradebook(f"sqlite:///{(course / 'gradebook.db').resolve()}") as gradebook:
        for assignment in gradebook.assignments:
            for submission in assignment.submissions:
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        exercise = SUFFIX.sub("", grade.name)
                        key = (submission.student.id, assignment.name, exercise)
                        row = rows.setdefault(key, {
                            "student": key[0], "assignment": key[1], "exercise": exercise,
                            "score": 0.0, "max_score": 0.0, "needs_manual_grade": False})
                        row["score"] += grade.score
                        row["max_score"] += grade.max_score
                        row["needs_manual_grade"] |= bool(grade.needs_manual_grade)
    return [rows[key] for key in sorted(rows)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    source = commands.add_parser("source", help="write the course's source assignments")
    source.add_argument("course", type=Path, help="the nbgrader course folder")
    source.add_argument("chapters", nargs="*", type=Path,
                        help="chapters (default: every notebooks/NN_*.ipynb)")
    grades = commands.add_parser("grades", help="points per student and exercise")
    grades.add_argument("course", type=Path, help="the nbgrader course folder")
    grades.add_argument("--csv", type=Path, help="write the rows to this CSV file")
    args = parser.parse_args(argv)
    if args.command == "source":
        chapters = args.chapters or sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
        for path in chapters:
            if not path.is_file():
                parser.error(f"{path} is not a notebook file")
        try:
            written = write_source(args.course, chapters)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        for target in written:
            print(target.relative_to(args.course.resolve()))
        return 0
    if not (args.course / "gradebook.db").is_file():
        parser.error(f"{args.course} has no gradebook.db: run nbgrader autograde first")
    rows = exercise_grades(args.course)
    for row in rows:
        manual = "  (needs manual grade)" if row["needs_manual_grade"] else ""
        print(f"{row['student']:<16} {row['assignment']:<6} {row['exercise']:<28} "
              f"{row['score']:g} / {row['max_score']:g}{manual}")
    if args.csv:
        with args.csv.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["student"])
            writer.writeheader()
            writer.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
