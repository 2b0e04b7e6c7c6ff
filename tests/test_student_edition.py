"""The student edition (scripts/student_edition.py) and the coding exercises of every chapter.

For every coding exercise of every chapter, the check cell(s) must FAIL after the student's stub
and PASS after the solution. To stay fast, a case runs only the cells it needs (the rule chapter
authors follow, see book/instructor_guide.md): the chapter's first code cell (imports, seed,
device), the earlier code cells that define the names the solution and checks use (found from
the code, transitively), any code cell tagged ``setup`` before the solution, then the solution
cell (stubbed or not) and its check cells. All cases run in ONE kernel, with ``%reset -f``
between cases, so each case starts from an empty namespace while imported modules stay loaded.
"""

from __future__ import annotations

import ast
import builtins
import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

import student_edition as se  # noqa: E402  (scripts/, on the path by conftest.py)

RESET = 'get_ipython().run_line_magic("reset", "-f")'


def code(source: str, *tags: str):
    cell = nbformat.v4.new_code_cell(source)
    if tags:
        cell.metadata["tags"] = list(tags)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="old output\n")]
    cell.execution_count = 7
    return cell


def md(source: str):
    return nbformat.v4.new_markdown_cell(source)


def toy_chapter(good: bool = True):
    """A small chapter in the book's exercise format (a `good` one, or one whose check is weak)."""
    check = "assert double(3) + OFFSET == 6" if good else "assert True  # checks nothing"
    return nbformat.v4.new_notebook(cells=[
        md("# Toy chapter\n\nIntro."),
        code("import math\nFACTOR = 2"),
        code("TABLE = [1, 2, 3]", "setup"),
        code("BASE = 0"),
        code("raise RuntimeError('the exercise never needs this cell')"),
        code("OFFSET = BASE + 0"),
        md(":::{exercise}\n:label: toy-concept\nWhy?\n:::\n\n:::{solution} toy-concept\n"
           ":class: dropdown\nBecause.\n\n```python\nprint('code in a solution')\n```\n:::"),
        md(":::{exercise}\n:label: toy-code\nWrite `double`.\n:::"),
        md("```{solution-start} toy-code\n:class: dropdown\n```"),
        code('def double(x):\n    """Twice x."""\n    # BEGIN SOLUTION\n    y = FACTOR * x\n'
             "    return y\n    # END SOLUTION", "solution"),
        md("```{solution-end}\n```"),
        code(check + "\nassert TABLE[0] == 1", "check"),
        md("## Summary\n\nNext chapter."),
    ])


# --- the conversion ----------------------------------------------------------------------------

def test_stub_keeps_lines_outside_markers_at_the_same_indentation():
    source = ("def f(x):\n    '''Doc.'''\n    # BEGIN SOLUTION\n    return x\n"
              "    # END SOLUTION\nz = 1")
    assert se.stub_source(source) == (
        "def f(x):\n    '''Doc.'''\n    " + se.STUB + "\nz = 1")
    top = "# BEGIN SOLUTION\nanswer = 42\n# END SOLUTION"
    assert se.stub_source(top) == se.STUB
    two = "a = 1  # BEGIN SOLUTION is not a marker\n" + top + "\n" + top
    assert se.stub_source(two).splitlines()[1:] == [se.STUB, se.STUB]


@pytest.mark.parametrize("bad", ["x = 1", "# BEGIN SOLUTION\nx = 1",
                                 "# END SOLUTION", "# BEGIN SOLUTION\n# BEGIN SOLUTION"])
def test_stub_rejects_missing_or_unbalanced_markers(bad):
    with pytest.raises(ValueError, match="SOLUTION"):
        se.stub_source(bad)


def test_solution_directives_are_removed_with_nested_code():
    text, removed = se.split_solution_directives(toy_chapter().cells[6].source)
    assert removed == ["solution"]
    assert text == ":::{exercise}\n:label: toy-concept\nWhy?\n:::"
    text, removed = se.split_solution_directives(
        "````{solution} x\n```python\nprint(1)\n```\n````\nafter")
    assert (text, removed) == ("after", ["solution"])
    with pytest.raises(ValueError, match="not closed"):
        se.split_solution_directives(":::{solution} x\nno end")


def test_student_notebook_stubs_clears_and_removes_solutions():
    teacher = toy_chapter()
    before = json.dumps(teacher)
    student = se.student_notebook(teacher)
    assert json.dumps(teacher) == before, "the input notebook must not change"
    sources = [c.source for c in student.cells]
    text = "\n".join(sources)
    assert "{solution" not in text and "Because." not in text and "FACTOR * x" not in text
    assert "{exercise}" in text and "Student edition" in sources[1]
    (solution,) = [c for c in student.cells if "solution" in se.tags(c)]
    assert solution.source == 'def double(x):\n    """Twice x."""\n    ' + se.STUB
    (check,) = [c for c in student.cells if "check" in se.tags(c)]
    assert check.source.startswith("assert double(3) + OFFSET == 6")
    for cell in (solution, check):
        assert cell.outputs == [] and cell.execution_count is None
    other = [c for c in student.cells if c.cell_type == "code" and not se.tags(c)]
    assert other[0].outputs, "outputs of ordinary cells are kept"
    nbformat.validate(student)


def test_structure_errors_name_the_cell():
    nb = toy_chapter()
    del nb.cells[11]  # the check cell
    with pytest.raises(ValueError, match="no code cell tagged 'check'"):
        se.student_notebook(nb)
    nb = toy_chapter()
    nb.cells[9].metadata["tags"] = []  # a gated code cell not tagged solution
    with pytest.raises(ValueError, match="cell 9 .* not tagged 'solution'"):
        se.student_notebook(nb)


def test_command_writes_student_notebooks(tmp_path):
    source = tmp_path / "src" / "99_toy.ipynb"
    source.parent.mkdir()
    nbformat.write(toy_chapter(), source)
    out = tmp_path / "student"
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "student_edition.py"),
                             str(source), "--out", str(out)],
                            capture_output=True, text=True, cwd=tmp_path, check=False)
    assert result.returncode == 0, result.stderr
    assert "1 coding exercise(s) stubbed" in result.stdout
    student = nbformat.read(out / "notebooks" / "99_toy.ipynb", as_version=4)
    assert any(se.STUB in c.source for c in student.cells)
    assert not (out / "_config.yml").exists(), "a subset of chapters is not a book"


def test_the_whole_edition_is_a_book_source_with_solutions_hidden(tmp_path):
    out = tmp_path / "student"
    written = se.write_student_edition(out)
    assert sorted(p.name for p, _ in written) == [p.name for p in NOTEBOOKS]
    assert all(p.parent == out / "notebooks" for p, _ in written), "the handouts"
    site = out / "site"
    assert sorted(p.name for p in (site / "notebooks").glob("*.ipynb")) == [
        p.name for p in NOTEBOOKS]
    toc = yaml.safe_load((site / "_toc.yml").read_text(encoding="utf-8"))
    full = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    assert files == [c["file"] for part in full["parts"] for c in part["chapters"]
                     if c["file"] not in se.INSTRUCTOR_PAGES], "the book minus the guide"
    assert not (site / "book" / "instructor_guide.md").exists()
    assert (site / "book" / "glossary.md").is_file()
    config = yaml.safe_load((site / "_config.yml").read_text(encoding="utf-8"))
    book = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert config["sphinx"]["config"].pop("hide_solutions") is True
    assert "launch_buttons" not in config and config["html"].pop("use_edit_page_button") is False
    book.pop("launch_buttons", None)
    book["html"].pop("use_edit_page_button", None)
    assert config == book, "apart from solutions and buttons, the config is _config.yml's"


def test_prose_beside_a_gated_fence_is_refused_not_leaked():
    nb = toy_chapter()
    gated = [i for i, c in enumerate(nb.cells) if "{solution-start}" in c.source]
    nb.cells[gated[0]].source += "\nThe answer is 42."
    with pytest.raises(ValueError, match=f"cell {gated[0]}: .*stand alone"):
        se.student_notebook(nb)


def test_the_whole_edition_never_deletes_folders_it_did_not_write(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "mine.ipynb").write_text("{}")
    with pytest.raises(ValueError, match="did not write"):
        se.write_student_edition(tmp_path)
    assert (tmp_path / "notebooks" / "mine.ipynb").is_file()
    out = tmp_path / "edition"
    se.write_student_edition(out)
    se.write_student_edition(out)  # its own earlier output is replaced
    assert not (out / "_config.yml").exists() and (out / "site" / "_config.yml").is_file()


@pytest.mark.parametrize("where", [".", "notebooks", "book", ".."])
def test_the_command_refuses_to_write_into_the_committed_tree(where):
    with pytest.raises(ValueError, match="--out="):
        se.write_student_edition(ROOT / where, NOTEBOOKS[:1])


def test_the_handout_is_the_portable_edition_without_solutions():
    handout = se.handout_notebook(toy_chapter(), "notebooks/99_toy")
    text = "\n".join(c.source for c in handout.cells)
    assert "Because." not in text and "FACTOR * x" not in text and "Solution" not in text
    assert "{exercise}" not in text and "**Exercise 1**" in text and "**Exercise 2**" in text
    assert "Student edition" in handout.cells[1].source
    (solution,) = [c for c in handout.cells if "solution" in se.tags(c)]
    assert solution.source == 'def double(x):\n    """Twice x."""\n    ' + se.STUB
    nbformat.validate(handout)


def test_solution_details_are_removed_with_what_they_nest():
    text = ("Before.\n\n<details>\n<summary>Solution to Exercise 1.1</summary>\n\nA.\n\n"
            "<details>\n<summary>More</summary>\n\nB.\n\n</details>\n\n</details>\n\nAfter.")
    assert se.split_solution_details(text) == ("Before.\n\nAfter.", 1)
    other = "<details>\n<summary>Going deeper</summary>\n\nC.\n\n</details>"
    assert se.split_solution_details(other) == (other, 0)
    with pytest.raises(ValueError, match="not closed"):
        se.split_solution_details("<details>\n<summary>Solution to Exercise 1</summary>\nD.")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_chapter_hands_out_a_portable_notebook(path):
    teacher = nbformat.read(path, as_version=4)
    handout = se.handout_notebook(teacher, f"notebooks/{path.stem}")
    portable = se.portable_notebook(teacher, f"notebooks/{path.stem}", keep_markers=True)
    text = "\n".join(c.source for c in handout.cells)
    assert "# BEGIN SOLUTION" not in text and "<details>" not in text and "Solution to" not in text
    assert not [line for c in handout.cells if c.cell_type == "markdown"
                for line in pe_leftovers(c.source)], "MyST left in the handout"
    exercises = se.find_coding_exercises(teacher)
    assert text.count(se.STUB) >= len(exercises)
    assert sum("check" in se.tags(c) for c in handout.cells) == sum(len(e.checks)
                                                                   for e in exercises)
    found = leaks(answers(portable, portable_solution_strings), student_text(handout))
    assert not found, f"{path.name}: solution text in the student notebook: {found}"


def pe_leftovers(markdown: str) -> list[str]:
    import portable_edition

    return portable_edition.leftovers(markdown, portable_edition.load_book().macros)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_chapter_converts(path):
    teacher = nbformat.read(path, as_version=4)
    student = se.student_notebook(teacher)
    text = "\n".join(c.source for c in student.cells)
    assert "# BEGIN SOLUTION" not in text and "{solution" not in text
    n_checks = sum(len(e.checks) for e in se.find_coding_exercises(teacher))
    assert sum("check" in se.tags(c) for c in student.cells) == n_checks


# --- the coding exercises run: checks fail on the stub and pass on the solution ----------------

def _names(source: str) -> tuple[set[str], set[str]]:
    """(names a cell binds, names it reads), over-approximated from its syntax tree."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    tree = ast.parse("\n".join(lines))
    bound, read = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):  # parameters of functions and lambdas
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
    # A name the cell binds itself is not asked of earlier cells (``x = x + 1`` is the rare
    # exception: tag the earlier cell ``setup``).
    return bound, read - bound - set(dir(builtins))


def needed_cells(nb, exercise) -> list[int]:
    """The code cells before the solution that an exercise needs, in order.

    The first code cell (imports, seed, device), every cell tagged ``setup``, and every earlier
    cell that binds a name the solution, its checks or another needed cell read (a backward slice
    on names: cells that only mutate an object, e.g. ``model.train()``, need the ``setup`` tag).
    """
    before = [i for i in range(exercise.solution) if nb.cells[i].cell_type == "code"
              and "colab-setup" not in se.tags(nb.cells[i])]
    if not before:
        return []
    wanted, defined = set(), set()
    for i in (exercise.solution, *exercise.checks):
        bound, read = _names(nb.cells[i].source)
        wanted |= read - defined
        defined |= bound
    chosen = []
    for i in reversed(before):
        bound, read = _names(nb.cells[i].source)
        if i == before[0] or "setup" in se.tags(nb.cells[i]) or bound & wanted:
            chosen.append(i)
            wanted = (wanted - bound) | read
    return sorted(chosen)


def test_needed_cells_follow_the_names_transitively():
    nb = toy_chapter()
    (exercise,) = se.find_coding_exercises(nb)
    # imports, the `setup` cell, the cell binding OFFSET and the one binding BASE, which it reads
    assert needed_cells(nb, exercise) == [1, 2, 3, 5]
    nb.cells[4].metadata["tags"] = ["setup"]
    assert needed_cells(nb, exercise) == [1, 2, 3, 4, 5]


def test_names_read_exclude_parameters_locals_and_builtins():
    bound, read = _names("%matplotlib inline\nimport numpy as np\n"
                         "def f(target, *, eps=EPS):\n    y = np.log(target) + g(lambda k: k)\n"
                         "    return len([i for i in y])")
    assert bound == {"np", "f", "target", "eps", "y", "k", "i"}
    assert read == {"EPS", "g"}


def exercise_cases(name: str, nb) -> list[dict]:
    """Two cases (stub, solution) per coding exercise, each a list of code sources to run."""
    cases = []
    for number, exercise in enumerate(se.find_coding_exercises(nb), start=1):
        context = [nb.cells[i].source for i in needed_cells(nb, exercise)]
        solution = nb.cells[exercise.solution].source
        checks = [nb.cells[j].source for j in exercise.checks]
        for edition, body in (("stub", se.stub_source(solution)), ("solution", solution)):
            cases.append({"name": name, "exercise": number, "edition": edition,
                          "cells": [*context, body, *checks], "n_checks": len(checks)})
    return cases


def chapter_cases() -> dict[str, list[dict]]:
    cases = {path.stem: exercise_cases(path.stem, nbformat.read(path, as_version=4))
             for path in NOTEBOOKS}
    cases["toy_good"] = exercise_cases("toy_good", toy_chapter(good=True))
    cases["toy_weak"] = exercise_cases("toy_weak", toy_chapter(good=False))
    return cases


@pytest.fixture(scope="module")
def executed() -> dict[str, list[dict]]:
    """Run every case in one kernel; attach to each case the error (ename) of each cell, or None."""
    cases = chapter_cases()
    cells, where = [], []
    for case in (c for group in cases.values() for c in group):
        cells.append(nbformat.v4.new_code_cell(RESET))
        for source in case["cells"]:
            where.append((case, len(cells)))
            cells.append(nbformat.v4.new_code_cell(source))
        case["errors"] = []
    nb = nbformat.v4.new_notebook(cells=cells)
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    for case, index in where:
        errors = [o for o in nb.cells[index].outputs if o.output_type == "error"]
        case["errors"].append(f"{errors[0].ename}: {errors[0].evalue}" if errors else None)
    return cases


def verdicts(cases: list[dict]) -> list[str]:
    """What is wrong with a chapter's cases (empty when every exercise behaves)."""
    problems = []
    for case in cases:
        label = f"{case['name']} exercise {case['exercise']} ({case['edition']})"
        n = case["n_checks"]
        context, body, checks = case["errors"][:-n - 1], case["errors"][-n - 1], case["errors"][-n:]
        if any(context):
            problems.append(f"{label}: imports/setup cell failed: {context}")
        if case["edition"] == "solution":
            if body or any(checks):
                problems.append(f"{label}: must pass, got {body or [e for e in checks if e]}")
        else:
            if body and not body.startswith("NotImplementedError"):
                problems.append(f"{label}: the stub cell itself failed with {body}")
            if not any(checks):
                problems.append(f"{label}: the check cell passed on the stub")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_checks_fail_on_the_stub_and_pass_on_the_solution(executed, path):
    problems = verdicts(executed[path.stem])
    assert not problems, "\n".join(problems) + (
        "\n(each case runs only the first code cell, the earlier cells defining the names the "
        "solution and checks use, cells tagged 'setup', the solution cell and its check cells: "
        "see book/instructor_guide.md)")


def test_the_harness_tells_a_good_exercise_from_a_weak_one(executed):
    assert verdicts(executed["toy_good"]) == []
    assert verdicts(executed["toy_weak"]) == [
        "toy_weak exercise 1 (stub): the check cell passed on the stub"]


def test_the_book_has_coding_exercises(executed):
    chapters = {name: cases for name, cases in executed.items() if not name.startswith("toy_")}
    n = sum(len(cases) for cases in chapters.values()) // 2
    assert n >= 1, "no chapter has a coding exercise (a `solution` cell followed by a `check` cell)"


# --- no answer in plain view: no solution string in the student notebooks or the student HTML ---

LEAK_MIN_WORDS = 6  # a solution line of fewer words is too generic to be a leak ("return h, c")
WORD = re.compile(r"[a-z0-9]+")


def normalised(text: str) -> str:
    """The words of ``text`` (lower case, letters and digits), joined by single spaces.

    Markup differs between a notebook's source and the HTML it becomes (MyST roles, LaTeX, tags,
    entities), but the words of a sentence or a line of code survive it in the same order.
    """
    return " ".join(WORD.findall(html.unescape(text).lower()))


def solution_strings(nb) -> list[str]:
    """The normalised lines of every solution of a chapter, each of at least LEAK_MIN_WORDS words.

    Three kinds: the code between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` in the cells tagged
    ``solution``; the text of the ``{solution}`` blocks; the markdown cells between a
    ``{solution-start}`` and its ``{solution-end}``.
    """
    lines: list[str] = []
    gated = False
    for cell in nb.cells:
        if cell.cell_type == "code" and se.SOLUTION_TAG in se.tags(cell):
            lines += _between_markers(cell.source)
        elif cell.cell_type == "markdown":
            kept, removed = se.split_solution_directives(cell.source)
            if gated and not removed:
                lines += cell.source.splitlines()
            elif removed:
                remaining = set(kept.splitlines())
                lines += [line for line in cell.source.splitlines() if line not in remaining]
            gated = {"solution-start": True, "solution-end": False}.get(
                (removed or [None])[-1], gated)
    words = (normalised(line) for line in lines)
    return sorted({w for w in words if len(w.split()) >= LEAK_MIN_WORDS})


def _between_markers(source: str) -> list[str]:
    """The lines of a solution cell between ``# BEGIN SOLUTION`` and ``# END SOLUTION``."""
    lines, inside = [], False
    for line in source.splitlines():
        if se.BEGIN.match(line) or se.END.match(line):
            inside = bool(se.BEGIN.match(line))
        elif inside:
            lines.append(line)
    return lines


def portable_solution_strings(nb) -> list[str]:
    """:func:`solution_strings` of a portable notebook (markers kept): the code between the
    markers, the ``<details>`` solution blocks, the markdown cells tagged ``solution``."""
    lines: list[str] = []
    for cell in nb.cells:
        if cell.cell_type == "code" and se.SOLUTION_TAG in se.tags(cell):
            lines += _between_markers(cell.source)
        elif cell.cell_type == "markdown" and se.SOLUTION_TAG in se.tags(cell):
            lines += cell.source.splitlines()
        elif cell.cell_type == "markdown":
            kept = set(se.split_solution_details(cell.source)[0].splitlines())
            lines += [line for line in cell.source.splitlines() if line not in kept]
    words = (normalised(line) for line in lines)
    return sorted({w for w in words if len(w.split()) >= LEAK_MIN_WORDS})


def student_text(nb) -> str:
    """Everything a student notebook shows: the sources and every text output, normalised."""
    parts = []
    for cell in nb.cells:
        parts.append(cell.source)
        for output in cell.get("outputs", []):
            parts.append("".join(output.get("text", "")))
            for kind, value in output.get("data", {}).items():
                if kind.startswith("text/"):
                    parts.append("".join(value))
            parts += output.get("traceback", [])
    return " | ".join(normalised(part) for part in parts)


def leaks(solutions: list[str], shown: str) -> list[str]:
    return [line for line in solutions if f" {line} " in f" {shown} "]


def answers(nb, strings=solution_strings) -> list[str]:
    """The solution lines a student could not have read in the chapter before its exercises.

    A solution may reuse a line the chapter itself taught (``memory = model.encode(src)``); that
    line is given, not leaked. Everything else of a solution must stay out of the student edition.
    """
    first = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
                  and re.search(r"^\s*(:::+|```+)\{exercise\}|\*\*Exercise\b", c.source,
                                re.MULTILINE)),
                 len(nb.cells))
    body = student_text(nbformat.v4.new_notebook(cells=nb.cells[:first]))
    return [line for line in strings(nb) if f" {line} " not in f" {body} "]


def test_solution_strings_cover_every_kind_of_solution():
    lines = solution_strings(toy_chapter())
    assert "print code in a solution" not in lines, "shorter than LEAK_MIN_WORDS words"
    nb = toy_chapter()
    nb.cells[6].source = nb.cells[6].source.replace("Because.", "Because the answer is forty two.")
    nb.cells[9].source = nb.cells[9].source.replace("y = FACTOR * x", "y = FACTOR * x + 0 * x * x")
    nb.cells.insert(9, md("The reason: it doubles every number it is given."))
    lines = solution_strings(nb)
    assert "because the answer is forty two" in lines  # a {solution} block
    assert "y factor x 0 x x" in lines  # the code of a solution cell
    assert "the reason it doubles every number it is given" in lines  # gated prose
    assert all("exercise" not in line and "summary" not in line for line in lines)


def test_a_leak_is_found_in_the_student_notebook():
    nb = toy_chapter()
    nb.cells[6].source = nb.cells[6].source.replace("Because.", "Because the answer is forty two.")
    nb.cells[-1].source += "\n\nAs we saw, because the answer is forty two, it works."
    student = se.student_notebook(nb)
    assert leaks(solution_strings(nb), student_text(student)) == ["because the answer is forty two"]
    nb.cells[-1].source = "## Summary"
    nb.cells[5].outputs = [nbformat.v4.new_output("stream", name="stdout",
                                                  text="Because the answer is forty-two!\n")]
    assert leaks(solution_strings(nb), student_text(se.student_notebook(nb))), "outputs count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_solution_string_in_the_student_notebook(path):
    teacher = nbformat.read(path, as_version=4)
    found = leaks(answers(teacher), student_text(se.student_notebook(teacher)))
    assert not found, f"{path.name}: solution text shown in the student edition: {found}"


@pytest.fixture(scope="module")
def student_html(tmp_path_factory) -> Path:
    """The student book's HTML: $STUDENT_HTML if it names a built one, else built here."""
    given = os.environ.get("STUDENT_HTML")
    if given:
        return Path(given)
    out = tmp_path_factory.mktemp("student")
    se.write_student_edition(out)
    site = out / "site"
    exe = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run([str(exe) if exe.exists() else "jupyter-book", "build", str(site),
                             "--keep-going"], cwd=site, capture_output=True, text=True,
                            check=False)
    html_dir = site / "_build" / "html"
    assert (html_dir / "notebooks").is_dir(), result.stdout[-3000:] + result.stderr[-3000:]
    return html_dir


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_solution_string_in_the_student_html(student_html, path):
    page = student_html / "notebooks" / f"{path.stem}.html"
    assert page.is_file(), f"{page} was not built"
    text = normalised(re.sub(r"<[^>]*>", " ", page.read_text(encoding="utf-8")))
    solutions = answers(nbformat.read(path, as_version=4))
    assert not leaks(solutions, text), f"{page.name}: solution text in the student HTML"
    exercises = len(re.findall(r'class="[^"]*\bexercise\b', page.read_text(encoding="utf-8")))
    assert exercises or not solutions, f"{page.name}: the exercises did not render"


def test_a_line_the_chapter_taught_is_given_not_leaked():
    nb = toy_chapter()
    nb.cells[9].source = nb.cells[9].source.replace("y = FACTOR * x", "y = FACTOR * x + 0 * x * x")
    assert "y factor x 0 x x" in answers(nb)
    nb.cells.insert(1, nbformat.v4.new_code_cell("y = FACTOR * x + 0 * x * x"))  # taught first
    assert "y factor x 0 x x" not in answers(nb)


# --- the instructor guide stays with instructors ---------------------------------------------

GUIDE = ROOT / "book" / "instructor_guide.md"
# What a written exercise's answer looks like in the guide's problem-set table: a formula with a
# digit (ln(9(n-1))), a decimal (0.436), a grouped number (25,000), an equation in maths ($a = b$),
# a command-line option with its value (`--accumulate 4`).
ANSWER_VALUE = re.compile(r"[A-Za-z]+\((?:[^()]|\([^()]*\))*\d(?:[^()]|\([^()]*\))*\)"
                          r"|\d+\.\d+|\d{1,3}(?:,\d{3})+|\$[^$]*=[^$]*\$|`--[\w-]+ \d+`")


def guide_answers() -> dict[str, list[str]]:
    """Exercise label -> the answer values that the guide's problem-set table gives for it (the
    rows of exercises without an automatic check: written answers)."""
    found = {}
    for line in GUIDE.read_text(encoding="utf-8").splitlines():
        cols = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cols) == 5 and re.fullmatch(r"`ch\d+-[\w-]+`", cols[1]) and re.match(
                r"(none|no automatic check)\b", cols[4]):
            values = [normalised(v) for v in ANSWER_VALUE.findall(cols[4])]
            if values:
                found[cols[1].strip("`")] = values
    return found


def given_by_the_chapters() -> str:
    """What the full chapters show before their exercises: a value found there is taught, not
    an answer given away."""
    return " | ".join(student_text(nbformat.v4.new_notebook(cells=nb.cells[:first_exercise(nb)]))
                      for nb in (nbformat.read(p, as_version=4) for p in NOTEBOOKS))


def first_exercise(nb) -> int:
    return next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and re.search(
        r"^\s*(:::+|```+)\{exercise\}|\*\*Exercise\b", c.source, re.MULTILINE)), len(nb.cells))


def leaked_answers(shown: str) -> list[str]:
    given = f" {given_by_the_chapters()} "
    return [f"{label}: {value}" for label, values in guide_answers().items() for value in values
            if f" {value} " in f" {shown} " and f" {value} " not in given]


def test_the_guide_table_gives_the_answers_this_test_looks_for():
    answers = guide_answers()
    assert "ln 9 n 1" in answers["ch03-drown"] and "0 436" in answers["ch03-temperature"]
    assert "0 75" in answers["ch08-floor"] and len(answers) >= 6
    assert leaked_answers(normalised("The answer is ln(9(n-1)).")) == [
        "ch03-drown: ln 9 n 1"]


def test_the_student_edition_has_no_guide_and_no_answer(tmp_path):
    out = tmp_path / "student"
    se.write_student_edition(out)
    site = out / "site"
    assert not list(out.rglob("instructor_guide*")), "the guide is for instructors"
    assert "instructor_guide" not in (site / "_toc.yml").read_text(encoding="utf-8")
    texts = [student_text(nbformat.read(p, as_version=4)) for p in out.rglob("*.ipynb")]
    texts += [normalised(p.read_text(encoding="utf-8")) for p in site.rglob("*.md")]
    assert not leaked_answers(" | ".join(texts))


def test_no_guide_and_no_answer_in_the_student_html(student_html):
    assert not list(student_html.rglob("instructor_guide*"))
    text = " | ".join(normalised(re.sub(r"<[^>]*>", " ", page.read_text(encoding="utf-8")))
                      for page in student_html.rglob("*.html"))
    assert not leaked_answers(text)
