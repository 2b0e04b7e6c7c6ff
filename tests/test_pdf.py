"""The PDF of the book (`jupyter-book build . --builder pdflatex`, the instructor guide's "A PDF
for printing"): it builds, and it reads like the website.

Chapters and figures are numbered as online (setup, the appendix and the introduction's map
unnumbered, the RNN chapter is chapter 1, its first figure Fig. 1.1); no "PyTorch’ s"
(xetexko's spacing of CJK punctuation); no solution marker but the instructor guide's own
examples of them; no table runs off the page.

$BOOK_LATEX names the LaTeX folder of a PDF build (CI builds it once: _build/latex); otherwise the
book is built once into a temporary folder (a few minutes). Needs TeX Live as the instructor
guide lists it, rsvg-convert (librsvg2-bin) and pdftotext (poppler-utils).
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

import pytest
from site_pages import CHAPTERS, CONFIG, ROOT

NAME = Path(CONFIG["latex"]["latex_documents"]["targetname"]).stem
TOOLS = ("xelatex", "latexmk", "rsvg-convert", "pdftotext")


@cache
def built_latex() -> Path:
    """The LaTeX folder with the .tex, .log and .pdf: $BOOK_LATEX, else the PDF built once."""
    if os.environ.get("BOOK_LATEX"):
        return Path(os.environ["BOOK_LATEX"]).resolve()
    missing = [tool for tool in TOOLS if not shutil.which(tool)]
    assert not missing, (f"the PDF needs {missing}: see the instructor guide's 'A PDF for "
                         "printing', or set BOOK_LATEX to a built one")
    out = Path(tempfile.mkdtemp(prefix="book-pdf-"))
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    exe = Path(sys.executable).with_name("jupyter-book")
    command = [str(exe) if exe.exists() else "jupyter-book", "build", str(ROOT), "--builder",
               "pdflatex", "--path-output", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    return out / "_build" / "latex"


@pytest.fixture(scope="module")
def latex() -> Path:
    folder = built_latex()
    assert (folder / f"{NAME}.pdf").is_file(), f"no {NAME}.pdf in {folder}"
    return folder


@pytest.fixture(scope="module")
def text(latex) -> str:
    """The PDF's text, pages separated by form feeds."""
    return subprocess.run(["pdftotext", "-layout", str(latex / f"{NAME}.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout


def _title(chapter: str) -> str:
    """The first heading of a chapter's notebook."""
    cells = json.loads((ROOT / f"{chapter}.ipynb").read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        for line in "".join(cell["source"]).splitlines():
            if cell["cell_type"] == "markdown" and line.startswith("# "):
                return line[2:].strip()
    raise AssertionError(f"{chapter} has no title")


def test_the_pdf_has_every_chapter_numbered_as_online(text):
    pages = text.count("\f")
    assert 150 <= pages <= 400, pages
    contents = " ".join(text[:text.index("Bibliography")].split())
    for number, chapter in enumerate(CHAPTERS, 1):
        title = " ".join(_title(chapter).split())
        assert f" {number} {title} " in contents, (number, title)


def test_chapters_and_figures_are_numbered_as_on_the_website(latex, text):
    tex = (latex / f"{NAME}.tex").read_text(encoding="utf-8")
    contents = text[:text.index("Bibliography")]
    assert re.search(r"(?m)^\s*1 The limits of recurrent networks\b", contents), contents[:2000]
    assert re.search(r"(?m)^\s*11 Real corpora\b", contents)
    assert not re.search(r"(?m)^\s*\d+ Setup\b", contents), "Setup has a chapter number"
    # the introduction's map is captioned without a number, as online (book.css hides it)
    assert "The Transformer, drawn after Figure 1 of the paper." in text
    assert "Fig. 1: " not in text
    last = len(CHAPTERS)
    assert "Fig. 1.1: " in text and f"Fig. {last}.1: " in text
    assert f"Fig. {last + 1}." not in text and "Fig. 0." not in text
    assert tex.count("\\setcounter{secnumdepth}{\\booknumbereddepth}") == len(CHAPTERS)


def test_the_introduction_reads_as_on_the_website(text):
    """Its chapter table gives each title one line (tabulary once set them one word a line), and
    its pages have no running footer ("CONTENTS", the mark of the contents before them)."""
    assert re.search(r"(?m)^\s*1\s+The limits of recurrent networks\s+why an RNN", text)
    assert re.search(r"(?m)^\s*13\s+The decoder alone\s+the decoder-only", text)  # both digits
    footers = re.findall(r"(?m)^\s*(?:CONTENTS\s+\d+|\d+\s+CONTENTS)\s*$", text)
    assert not footers, footers


def test_no_space_after_an_apostrophe(text):
    """xetexko spaces a closing curly quote as CJK punctuation: "PyTorch’ s", "book’ s"."""
    spaced = re.findall(r"\w+’ s\b", text)
    assert not spaced, spaced[:20]
    assert "PyTorch’s" in text


def test_no_solution_marker_but_the_guides_examples(text):
    guide = (ROOT / "book" / "instructor_guide.md").read_text(encoding="utf-8")
    for marker in ("BEGIN SOLUTION", "END SOLUTION"):  # the chapters' 24 solutions show none
        assert 0 < text.count(marker) <= guide.count(marker), marker


def test_nothing_runs_off_the_page(latex):
    """No box wider than the text by more than a few characters (the problem-set table once ran
    1664 pt past the edge)."""
    log = (latex / f"{NAME}.log").read_text(encoding="utf-8", errors="replace")
    overfull = [float(x) for x in re.findall(r"Overfull \\hbox \((\d+(?:\.\d+)?)pt too wide", log)]
    assert overfull, "no Overfull lines in the log: was it written by xelatex?"
    assert max(overfull) < 60, sorted(overfull)[-10:]


def test_the_contents_list_each_entry_once_with_room_for_its_number(text):
    """The bibliography once (its page has a heading; the environment adds none), and two-digit
    section numbers apart from their titles ("10.12 Exercises", not "10.12Exercises")."""
    contents = text[:re.search(r"(?m)^Index +[ivx\d]+$", text).end()]
    assert len(re.findall(r"(?m)^Bibliography +\d+$", contents)) == 1, contents[-600:]
    assert re.search(r"(?m)^ *10\.1\d [A-Z]", contents)
    crowded = re.findall(r"(?m)^ *\d+\.\d+[A-Z]\w*", contents)
    assert not crowded, crowded
