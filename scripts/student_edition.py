"""Write the student edition of the chapters: coding exercises stubbed, solutions removed.

    python scripts/student_edition.py                       # -> _build/student/notebooks/*.ipynb
    python scripts/student_edition.py --out /tmp/handout    # elsewhere
    python scripts/student_edition.py --html                # + HTML book, no solutions

The student notebooks are built on the portable edition (``scripts/portable_edition.py``): plain
Markdown and LaTeX, so they read the same in any Jupyter, Colab or VS Code. For every chapter in
notebooks/ it writes the chapter's portable edition in which

- each code cell tagged ``solution`` has the lines from ``# BEGIN SOLUTION`` to ``# END SOLUTION``
  (markers included) replaced by ``raise NotImplementedError("Exercise: write your solution here")``
  at the indentation of the ``# BEGIN SOLUTION`` line; lines outside the markers (a ``def`` line,
  a docstring) stay, and the cell's outputs are cleared;
- the written solutions are removed: the ``<details>`` blocks "Solution to Exercise ..." and the
  markdown cells of a gated solution (tagged ``solution``); in MyST notebooks, the ``{solution}``
  blocks (colon or backtick fences), the gated ``{solution-start}`` / ``{solution-end}`` pairs and
  any markdown cell between them;
- the code cells tagged ``check`` stay, with their outputs cleared, so the student runs them to
  see whether the answer is right.

With the whole book, ``<out>/site/`` is also a book source of its own, in MyST, since the site
renders exercises, glossary links and citations from it: the chapters with the same solutions
removed, a copy of book/ and ``_toc.yml`` without the instructor guide (its problem-set table
gives answers away; links to it become plain words), and ``_config.yml`` with sphinx-exercise's
``hide_solutions: true`` and no launch buttons. ``--html`` builds it
(``jupyter-book build <out>/site -W -n --keep-going``) into ``<out>/site/_build/html``: the book
with every exercise and no solution, whose download buttons give the student notebooks. The
hidden-solutions site is built from student notebooks rather than with ``hide_solutions`` alone
because sphinx-exercise 1.2.1 crashes on gated solutions when ``hide_solutions`` is on
(executablebooks/sphinx-exercise#89) and would leave their code cells visible.
The committed tree is never modified: the output folder must lie under _build/ or outside it.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import nbformat
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from portable_edition import portable_notebook  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "_build" / "student"
STUB = 'raise NotImplementedError("Exercise: write your solution here")'
SOLUTION_TAG = "solution"
CHECK_TAG = "check"
SETUP_TAG = "setup"

BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION[ \t]*$")
END = re.compile(r"^[ \t]*# END SOLUTION[ \t]*$")
# An opening fence of a MyST directive: ``:::{name}`` or ````` ```{name} ````` (3 or more marks).
FENCE_OPEN = re.compile(r"^[ \t]{0,3}(?P<fence>:{3,}|`{3,})\{(?P<name>[\w-]+)\}")
SOLUTION_DIRECTIVES = {"solution", "solution-start", "solution-end"}
# A written solution of the portable edition: <details> whose summary begins "Solution".
DETAILS_OPEN = re.compile(r"^[ \t]*<details\b[^>]*>[ \t]*$")
DETAILS_CLOSE = re.compile(r"^[ \t]*</details>[ \t]*$")
SOLUTION_SUMMARY = re.compile(r"^[ \t]*<summary>[ \t]*Solution\b")
STUDENT_NOTE = (
    "> **Student edition.** In each coding exercise, replace the line "
    "`raise NotImplementedError(...)` with your code, then run the check cell after it: "
    "it passes when your answer is right."
)


@dataclass(frozen=True)
class CodingExercise:
    """Where one coding exercise lives in a notebook (indices into ``nb.cells``)."""

    solution: int
    checks: tuple[int, ...]


def tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def stub_source(source: str) -> str:
    """Replace each ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` block by a ``raise`` line.

    The ``raise`` takes the indentation of the ``# BEGIN SOLUTION`` line; lines outside the markers
    are kept. Raises ValueError if the markers are missing, nested or unbalanced.
    """
    out: list[str] = []
    inside = False
    blocks = 0
    for number, line in enumerate(source.splitlines(), start=1):
        begin, end = BEGIN.match(line), END.match(line)
        if begin:
            if inside:
                raise ValueError(f"line {number}: '# BEGIN SOLUTION' inside another solution block")
            inside = True
            blocks += 1
            out.append(begin.group("indent") + STUB)
        elif end:
            if not inside:
                raise ValueError(f"line {number}: '# END SOLUTION' without '# BEGIN SOLUTION'")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError("'# BEGIN SOLUTION' is never closed by '# END SOLUTION'")
    if blocks == 0:
        raise ValueError("no '# BEGIN SOLUTION' / '# END SOLUTION' block")
    return "\n".join(out)


def _is_closing_fence(line: str, fence: str) -> bool:
    stripped = line.strip()
    return len(stripped) >= len(fence) and set(stripped) == {fence[0]}


def split_solution_directives(markdown: str) -> tuple[str, list[str]]:
    """Remove every ``{solution}``, ``{solution-start}`` and ``{solution-end}`` block.

    Returns the remaining text and the names of the directives removed, in order. A block runs from
    its opening fence to the first line made only of the same fence character, at least as many
    times (MyST's own rule), so nested fences of the other kind (code in a solution) stay inside.
    """
    lines = markdown.splitlines()
    kept: list[str] = []
    removed: list[str] = []
    i = 0
    while i < len(lines):
        match = FENCE_OPEN.match(lines[i])
        if match and match.group("name") in SOLUTION_DIRECTIVES:
            fence = match.group("fence")
            j = i + 1
            while j < len(lines) and not _is_closing_fence(lines[j], fence):
                j += 1
            if j == len(lines):
                name = match.group("name")
                raise ValueError(f"the {{{name}}} fence on line {i + 1} is not closed")
            removed.append(match.group("name"))
            i = j + 1
        else:
            kept.append(lines[i])
            i += 1
    return "\n".join(kept).strip("\n"), removed


def _solution_details_spans(lines: list[str]) -> list[tuple[int, int]]:
    """(first, past-last) line of every ``<details>`` block whose summary begins "Solution"."""
    spans = []
    i = 0
    while i < len(lines):
        if (DETAILS_OPEN.match(lines[i]) and i + 1 < len(lines)
                and SOLUTION_SUMMARY.match(lines[i + 1])):
            depth, j = 1, i + 1
            while j < len(lines) and depth:
                depth += bool(DETAILS_OPEN.match(lines[j])) - bool(DETAILS_CLOSE.match(lines[j]))
                j += 1
            if depth:
                raise ValueError(f"the solution <details> on line {i + 1} is not closed")
            spans.append((i, j))
            i = j
        else:
            i += 1
    return spans


def split_solution_details(markdown: str) -> tuple[str, int]:
    """Remove every ``<details>`` block whose ``<summary>`` begins with "Solution".

    Returns the remaining text and the number of blocks removed. Blocks nested inside one are
    removed with it; a block that is never closed is an error.
    """
    lines = markdown.splitlines()
    spans = _solution_details_spans(lines)
    if not spans:
        return markdown, 0
    removed = {i for first, last in spans for i in range(first, last)}
    kept = [line for i, line in enumerate(lines) if i not in removed]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip("\n"), len(spans)


def solution_details(markdown: str) -> list[str]:
    """The text of every ``<details>`` solution block, without its ``<details>``, ``<summary>``
    and ``</details>`` lines (what :func:`split_solution_details` removes)."""
    lines = markdown.splitlines()
    return ["\n".join(lines[first + 2:last - 1]).strip("\n")
            for first, last in _solution_details_spans(lines)]


def find_coding_exercises(nb) -> list[CodingExercise]:
    """The coding exercises of a notebook: each ``solution`` cell and the ``check`` cells after it.

    The check cells are the code cells tagged ``check`` that follow the solution cell (markdown
    cells may come between); a solution cell with no check cell is an error.
    """
    exercises = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or SOLUTION_TAG not in tags(cell):
            continue
        checks = []
        for j in range(i + 1, len(nb.cells)):
            after = nb.cells[j]
            if after.cell_type != "code":
                continue
            if CHECK_TAG not in tags(after):
                break
            checks.append(j)
        if not checks:
            raise ValueError(f"cell {i} is tagged '{SOLUTION_TAG}' but no code cell tagged "
                             f"'{CHECK_TAG}' follows it")
        exercises.append(CodingExercise(solution=i, checks=tuple(checks)))
    return exercises


def _clear(cell) -> None:
    cell.outputs = []
    cell.execution_count = None


def student_notebook(nb):
    """Return the student edition of ``nb`` (a new notebook; ``nb`` is left unchanged)."""
    nb = nbformat.from_dict(nb)  # a deep copy
    find_coding_exercises(nb)  # validates solution/check pairs
    cells = []
    gated = False  # between {solution-start} and {solution-end}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            if SOLUTION_TAG in tags(cell):
                continue  # the portable edition's gated solution: its note and prose
            text, removed = split_solution_directives(cell.source)
            text = split_solution_details(text)[0]
            if {"solution-start", "solution-end"} & set(removed) and text.strip():
                # Text beside a gated fence could be part of the solution: refuse to guess.
                raise ValueError(f"cell {i}: a {{solution-start}} or {{solution-end}} fence must "
                                 "stand alone in its markdown cell")
            for name in removed:
                if name == "solution-start":
                    if gated:
                        raise ValueError(f"cell {i}: {{solution-start}} inside another one")
                    gated = True
                elif name == "solution-end":
                    if not gated:
                        raise ValueError(f"cell {i}: {{solution-end}} without {{solution-start}}")
                    gated = False
            if gated and not removed:
                continue  # prose inside a gated solution is part of the solution
            if text.strip():
                cell.source = text
                cells.append(cell)
            continue
        if cell.cell_type == "code":
            cell_tags = tags(cell)
            if SOLUTION_TAG in cell_tags:
                try:
                    cell.source = stub_source(cell.source)
                except ValueError as error:
                    raise ValueError(f"cell {i} (tagged '{SOLUTION_TAG}'): {error}") from None
                _clear(cell)
            elif gated:
                raise ValueError(f"cell {i} is a code cell inside {{solution-start}}/"
                                 f"{{solution-end}} but is not tagged '{SOLUTION_TAG}'")
            elif CHECK_TAG in cell_tags:
                _clear(cell)
        cells.append(cell)
    if gated:
        raise ValueError("a {solution-start} is never closed by {solution-end}")
    if any(SOLUTION_TAG in tags(c) for c in nb.cells):
        title = 1 if cells and cells[0].cell_type == "markdown" else 0
        cells.insert(title, nbformat.v4.new_markdown_cell(STUDENT_NOTE))
    nb.cells = cells
    return nb


def handout_notebook(nb, doc: str):
    """The notebook a student gets: the portable edition of chapter ``doc``, solutions removed.

    ``doc`` is the chapter's name in the book (``notebooks/04_multi_head_attention``); a notebook
    outside the book is translated with its own figures and exercises.
    """
    return student_notebook(portable_notebook(nb, doc, keep_markers=True))


def student_config(config_path: Path = ROOT / "_config.yml") -> dict:
    """The book's configuration for the student site.

    sphinx-exercise's ``hide_solutions`` is switched on (it hides the ``{solution}`` blocks of the
    prose pages; the notebooks have none left). The launch buttons (Colab, Binder) and the edit
    button are dropped since they would open the chapters *with* solutions from the repository;
    the download button stays and gives the student notebook.
    """
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config.pop("launch_buttons", None)
    config.setdefault("html", {})["use_edit_page_button"] = False
    sphinx = config.setdefault("sphinx", {})
    sphinx.setdefault("config", {})["hide_solutions"] = True
    return config


def student_toc(toc_path: Path = ROOT / "_toc.yml") -> dict:
    """The book's table of contents without the pages for instructors (:data:`INSTRUCTOR_PAGES`)."""
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    for part in toc.get("parts", []):
        part["chapters"] = [c for c in part["chapters"] if c.get("file") not in INSTRUCTOR_PAGES]
    toc["parts"] = [part for part in toc.get("parts", []) if part["chapters"]]
    return toc


def unlink_instructor_pages(markdown: str) -> str:
    """A prose page's ``{doc}`` links to an instructor page, as plain words (the page is not in
    the student site): ``{doc}`the guide <instructor_guide>``` -> "the guide"."""
    def plain(match: re.Match) -> str:
        text, target = match.group("text"), match.group("target") or match.group("bare")
        if PurePosixPath(target).name not in {PurePosixPath(d).name for d in INSTRUCTOR_PAGES}:
            return match.group(0)
        return text or PurePosixPath(target).name.replace("_", " ")
    return DOC_ROLE.sub(plain, markdown)


def _check_out(out: Path) -> None:
    """Refuse an output folder that could overwrite the committed tree."""
    root = ROOT.resolve()
    if out == root or out in root.parents:
        raise ValueError(f"--out={out} would overwrite the book; choose a folder outside it")
    if root in out.parents and (root / "_build") not in (out, *out.parents):
        raise ValueError(f"--out={out} lies inside the committed tree; use _build/... or a "
                         f"folder outside {root}")


HEADER = "# Generated by scripts/student_edition.py from _config.yml: do not edit.\n"
# Pages for teachers only: left out of the student site (their answers stay with instructors).
INSTRUCTOR_PAGES = ("book/instructor_guide",)
DOC_ROLE = re.compile(r"\{doc\}`(?:(?P<text>[^`<]*?)\s*<(?P<target>[^`>]+)>|(?P<bare>[^`<>]+))`")


def _ours(out: Path) -> bool:
    """Whether ``out`` was written by this script (now, or before the site moved to site/)."""
    return any(config.is_file() and config.read_text(encoding="utf-8").startswith(HEADER)
               for config in (out / "site" / "_config.yml", out / "_config.yml"))


def write_student_edition(out: Path, notebooks: list[Path] | None = None,
                          ) -> list[tuple[Path, int]]:
    """Write the student edition to ``out``; return ``(path, coding exercises)`` per notebook.

    ``out/notebooks/`` gets the student notebooks (:func:`handout_notebook`). With the default
    (every chapter), ``out/site/`` also becomes a book source of its own, ready for
    ``jupyter-book build <out>/site``: the MyST chapters without solutions
    (:func:`student_notebook`), ``_config.yml`` (:func:`student_config`), ``_toc.yml`` and a
    copy of ``book/``.
    """
    out = out.resolve()
    _check_out(out)
    whole_book = notebooks is None
    if whole_book:
        notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    students = []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        try:
            site = student_notebook(nb) if whole_book else None
            handout = handout_notebook(nb, f"notebooks/{path.stem}")
            students.append((path.name, handout, site, len(find_coding_exercises(nb))))
        except ValueError as error:
            message = str(error)
            raise ValueError(message if message.startswith(path.name)
                             else f"{path.name}: {message}") from None
    target = out / "notebooks"
    if whole_book and not _ours(out) and any((out / d).exists()
                                             for d in ("notebooks", "book", "site")):
        raise ValueError(f"--out={out} already has a notebooks/, book/ or site/ folder that this "
                         "script did not write; choose an empty or new folder")
    if whole_book:
        for old in (target, out / "site", out / "book"):  # chapters renamed or removed since
            if old.exists():
                shutil.rmtree(old)
        for old in (out / "_config.yml", out / "_toc.yml"):  # the layout before site/
            old.unlink(missing_ok=True)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, handout, _, count in students:
        nbformat.write(handout, target / name)
        written.append((target / name, count))
    if whole_book:
        site = out / "site"
        (site / "notebooks").mkdir(parents=True)
        for name, _, student, _ in students:
            nbformat.write(student, site / "notebooks" / name)
        text = yaml.safe_dump(student_config(), sort_keys=False, allow_unicode=True)
        (site / "_config.yml").write_text(HEADER + text, encoding="utf-8")
        toc = yaml.safe_dump(student_toc(), sort_keys=False, allow_unicode=True)
        (site / "_toc.yml").write_text(HEADER.replace("_config", "_toc") + toc, encoding="utf-8")
        shutil.copytree(ROOT / "book", site / "book", ignore=shutil.ignore_patterns(
            *(f"{PurePosixPath(doc).name}.*" for doc in INSTRUCTOR_PAGES)))
        for page in (site / "book").glob("*.md"):
            page.write_text(unlink_instructor_pages(page.read_text(encoding="utf-8")),
                            encoding="utf-8")
    return written


def build_html(out: Path) -> int:
    """Build the student book at ``out/site`` into ``out/site/_build/html``; return the exit code.

    The download button of each chapter then gives the student notebook of ``out/notebooks``.
    """
    site = out / "site"
    exe = Path(sys.executable).with_name("jupyter-book")
    command = [str(exe) if exe.exists() else "jupyter-book", "build", str(site),
               "-W", "-n", "--keep-going"]
    print("$", " ".join(command), flush=True)
    code = subprocess.call(command, cwd=site)
    sources = site / "_build" / "html" / "_sources" / "notebooks"
    if code == 0 and sources.is_dir():
        for handout in sorted((out / "notebooks").glob("*.ipynb")):
            shutil.copy2(handout, sources / handout.name)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="only these chapters, notebooks only (default: the whole book)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="output folder (default: _build/student)")
    parser.add_argument("--html", action="store_true",
                        help="also build the student HTML book (solutions hidden)")
    args = parser.parse_args(argv)
    if args.html and args.notebooks:
        parser.error("--html builds the whole book: give no notebook")
    for path in args.notebooks:
        if not path.exists():
            parser.error(f"{path} does not exist")
    out = args.out.resolve()
    try:
        written = write_student_edition(out, args.notebooks or None)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for dest, count in written:
        print(f"{dest.relative_to(out)}: {count} coding exercise(s) stubbed")
    print(f"student notebooks in {out / 'notebooks'}")
    if args.html:
        code = build_html(out)
        if code == 0:
            print(f"student book (no solutions) in {out / 'site' / '_build' / 'html'}")
        return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
