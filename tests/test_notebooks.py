"""Static checks of the committed notebooks (nbval, run by the same `pytest`, re-executes them).

nbval only compares cells that have outputs recorded, so these tests make sure every chapter was
executed top to bottom in a fresh kernel, shows nothing of the author's machine, and has the parts
every chapter promises (objectives, prerequisites, time, summary, at least three exercises).
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
MACHINE_PATH = re.compile(r"(/work/|/root/|/home/[a-z]|/Users/|/tmp/|site-packages|[A-Z]:\\\\)")


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def test_there_are_chapters():
    assert len(NOTEBOOKS) >= 2


def test_every_notebook_is_in_the_table_of_contents():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = {c["file"] for part in toc["parts"] for c in part["chapters"]}
    for path in NOTEBOOKS:
        assert f"notebooks/{path.stem}" in files, f"{path.name} is missing from _toc.yml"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_executed_top_to_bottom_in_a_fresh_kernel(path):
    counts = [c.get("execution_count") for c in _cells(path)
              if c["cell_type"] == "code" and _source(c).strip()]
    assert counts == list(range(1, len(counts) + 1)), (
        f"{path.name}: execution counts {counts} are not 1..n; run scripts/execute_notebooks.py"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_outputs_show_no_machine_details(path):
    for i, cell in enumerate(_cells(path)):
        if cell["cell_type"] == "code":
            match = MACHINE_PATH.search(json.dumps(cell["outputs"]))
            assert match is None, f"{path.name} cell {i} shows {match.group(0)!r}"
            errors = [o for o in cell["outputs"] if o["output_type"] == "error"]
            tags = cell.get("metadata", {}).get("tags", [])
            assert not errors or "raises-exception" in tags, f"{path.name} cell {i} has an error"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_has_the_promised_parts(path):
    markdown = "\n".join(_source(c) for c in _cells(path) if c["cell_type"] == "markdown")
    for heading in ("objectives", "prerequisites", "time", "summary", "exercises"):
        assert re.search(heading, markdown, re.IGNORECASE), f"{path.name}: no '{heading}'"
    exercises = re.findall(r"^:::+\{exercise\}|^```+\{exercise\}", markdown, re.MULTILINE)
    solutions = re.findall(r"^:::+\{solution(?:-start)?\}|^```+\{solution(?:-start)?\}",
                           markdown, re.MULTILINE)
    assert len(exercises) >= 3, f"{path.name}: {len(exercises)} exercises, expected at least 3"
    assert len(solutions) >= len(exercises), f"{path.name}: an exercise has no solution"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_asserts_its_claims(path):
    code = "\n".join(_source(c) for c in _cells(path) if c["cell_type"] == "code")
    assert len(re.findall(r"^\s*assert ", code, re.MULTILINE)) >= 3, f"{path.name}: too few asserts"


IGNORE_TAG = "nbval-ignore-output"


def _ignored(cell: dict) -> bool:
    return IGNORE_TAG in cell.get("metadata", {}).get("tags", [])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_check_markers_are_tags_not_comments(path):
    # Readers never see test machinery: a marker is cell metadata, not a line of code.
    for i, cell in enumerate(_cells(path)):
        assert "NBVAL" not in _source(cell).upper().replace("NBVAL-", ""), (
            f"{path.name} cell {i}: use the cell tag {IGNORE_TAG!r}, not a comment"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_ignored_output_is_asserted(path):
    # An output that may change with the processor (a training log, a timing) is not compared
    # character for character; the claim it supports must then be asserted with a margin, in the
    # same cell or in the next code cell.
    code_cells = [c for c in _cells(path) if c["cell_type"] == "code"]
    for i, cell in enumerate(code_cells):
        if not _ignored(cell):
            continue
        nearby = _source(cell) + "".join(_source(c) for c in code_cells[i + 1:i + 2])
        assert re.search(r"^\s*assert ", nearby, re.MULTILINE), (
            f"{path.name}: code cell {i + 1} is tagged {IGNORE_TAG!r} but neither it nor the next "
            f"code cell asserts anything:\n{_source(cell)[:300]}"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_most_outputs_are_compared_exactly(path):
    # Exact outputs (hand computations, parity checks, shapes, counts) stay compared by nbval;
    # only empirical ones are tagged. A chapter that ignores most of its outputs checks little.
    with_output = [c for c in _cells(path) if c["cell_type"] == "code" and c["outputs"]]
    ignored = [c for c in with_output if _ignored(c)]
    assert len(ignored) <= max(3, len(with_output) // 2), (
        f"{path.name}: {len(ignored)} of {len(with_output)} cells with output are not compared"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_one_chapter_template(path):
    # Every chapter opens and closes the same way: "Before you start" (objectives, prerequisites,
    # time) first; "Summary", "Exercises" and "Next" last, in that order; no hand-numbered heading.
    headings = [line for c in _cells(path) if c["cell_type"] == "markdown"
                for line in _source(c).splitlines() if re.match(r"#{1,6} ", line)]
    second = [h for h in headings if h.startswith("## ")]
    assert second[0] == "## Before you start", f"{path.name}: opens with {second[0]!r}"
    assert second[-3:] == ["## Summary", "## Exercises", "## Next"], f"{path.name}: {second[-3:]}"
    opening = "\n".join(_source(c) for c in _cells(path)[:4] if c["cell_type"] == "markdown")
    for part in ("**Learning objectives.**", "**Prerequisites.**", "**Time.**"):
        assert part in opening, f"{path.name}: no {part} before the first section"
    numbered = [h for h in headings if re.match(r"#+ \d+(\.\d+)*\.? ", h)]
    assert not numbered, f"{path.name}: hand-numbered headings {numbered}"


def test_jupyterlab_cells_follow_config_and_figures():
    """Each chapter's front matter (maths macros, numbering) and caption cells are the ones
    scripts/jupyterlab_cells.py writes from _config.yml and the figure cells: one source."""
    import jupyterlab_cells  # scripts/, on the path by conftest.py

    assert jupyterlab_cells.main(["--check"]) == 0


def test_jupyterlab_cells_change_with_the_config():
    """A macro changed in _config.yml makes every chapter's front matter stale."""
    import jupyterlab_cells  # scripts/, on the path by conftest.py

    nb = nbformat.read(NOTEBOOKS[1], as_version=4)
    macros = jupyterlab_cells.book_macros()
    chapter = jupyterlab_cells.chapter_number(NOTEBOOKS[1])
    assert not jupyterlab_cells.apply(nb, macros, chapter)
    assert "\\dmodel: d_{\\text{model}}" in nb.cells[0].source
    assert jupyterlab_cells.apply(nb, {**macros, "dmodel": "D"}, chapter)
    assert "\\dmodel: D" in nb.cells[0].source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_answers_stay_folded(path):
    """A check cell whose output gives an exercise's answer away is folded, online (hide-output)
    and in JupyterLab (outputs_hidden), until the reader opens it."""
    for cell in _cells(path):
        tags = cell.get("metadata", {}).get("tags", [])
        if "hide-output" in tags:
            metadata = cell["metadata"]
            assert metadata.get("jupyter", {}).get("outputs_hidden") is True and metadata.get(
                "collapsed") is True, \
                f"{path.name}: a hide-output cell shows its output in JupyterLab"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_assert_of_a_check_cell_has_a_message(path):
    """A failing check tells the student what was expected and what came, in the error's first
    line (what a grader's report shows), not a bare ``AssertionError``."""
    for i, cell in enumerate(_cells(path)):
        if "check" not in cell.get("metadata", {}).get("tags", []):
            continue
        code = "\n".join(line for line in _source(cell).splitlines()
                         if not line.lstrip().startswith(("%", "!")))
        bare = [node.lineno for node in ast.walk(ast.parse(code))
                if isinstance(node, ast.Assert) and node.msg is None]
        assert not bare, f"{path.name} cell {i}: assert without a message on line(s) {bare}"
