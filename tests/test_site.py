"""The built HTML book as a reader sees it (the layout in a browser: test_site_layout.py).

Every page, read with html.parser: no broken local link, anchor or image, no error box, no raw
directive, no dollar sign of unrendered math; every image of the text in a numbered, captioned
figure; no hand-numbered heading ("9.6. 1."); no test machinery shown (nbval); bibliography
labels in the author-year form of the citations; each chapter's launch buttons and download
link; the glossary. The book is built once per run unless BOOK_HTML names a built one (see
site_pages.py).
"""

from __future__ import annotations

import importlib.util
import re
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from site_pages import CHAPTERS, CONFIG, RAW_MARKUP, ROOT, TOC_FILES, Page, built_html


@pytest.fixture(scope="module")
def html() -> Path:
    return built_html()


@pytest.fixture(scope="module")
def pages(html) -> dict[Path, Page]:
    """Every page of the book (not the theme's template snippets copied into _static)."""
    return {path: Page(path) for path in sorted(html.rglob("*.html"))
            if path.relative_to(html).parts[0] not in ("_static", "_sources")}


@cache
def _local(url: str) -> bool:
    parts = urlsplit(url)
    return not parts.scheme and not url.startswith("//")


def test_every_toc_entry_has_a_page(html):
    for file in TOC_FILES:
        assert (html / f"{file}.html").is_file(), f"{file} was not built"


def test_local_links_images_and_anchors_exist(html, pages):
    broken = []
    for path, page in pages.items():
        for tag, url in page.links:
            if not _local(url):
                continue
            parts = urlsplit(url)
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if target.is_dir():
                target = target / "index.html"
            where = f"{path.relative_to(html)}: <{tag}> {url}"
            if not target.is_file():
                broken.append(f"{where} (no file)")
            elif parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else Page(target).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{where} (no id {parts.fragment!r})")
    assert not broken, "\n".join(broken)


def test_no_error_box_and_no_raw_directive(html, pages):
    problems = []
    for path, page in pages.items():
        name = path.relative_to(html)
        problems += [f"{name}: Sphinx error element {e}" for e in page.errors]
        text = " ".join(page.text)
        problems += [f"{name}: raw markup {m.group(0)!r} in: ...{text[m.start() - 60:m.end() + 60]}"
                     for m in RAW_MARKUP.finditer(text)]
    assert not problems, "\n".join(problems)


def test_launch_buttons_point_to_the_chapter_notebooks(html, pages):
    """Binder opens JupyterLab on notebooks/ (MyST); Colab opens the portable edition."""
    repo = urlsplit(CONFIG["repository"]["url"]).path.strip("/")
    branch = CONFIG["repository"].get("branch", "main")
    colab = CONFIG["launch_buttons"]["colab_url"].rstrip("/")
    binder = CONFIG["launch_buttons"]["binderhub_url"].rstrip("/")
    interface = CONFIG["launch_buttons"].get("notebook_interface", "classic")
    for chapter in CHAPTERS:
        path = (html / f"{chapter}.html").resolve()
        links = {url for _, url in pages[path].links}
        notebook = f"{chapter}.ipynb"
        portable = f"portable/{Path(chapter).name}.ipynb"
        assert (ROOT / portable).is_file(), portable
        colabs = [u for u in links if u.startswith(f"{colab}/")]
        assert colabs == [f"{colab}/github/{repo}/blob/{branch}/{portable}"], (chapter, colabs)
        binder_prefix = f"{binder}/v2/gh/{repo}/{branch}?urlpath="
        binders = [u for u in links if u.startswith(binder_prefix)]
        assert binders, (chapter, "no Binder button")
        expected = "lab/tree/" if interface == "jupyterlab" else "tree/"
        assert all(u.endswith(f"{expected}{notebook}") for u in binders), (chapter, binders)
        assert f"../_sources/{notebook}" in links, (chapter, "no download link")


def test_no_solution_marker_is_shown_in_a_code_cell(html, pages):
    """The BEGIN/END SOLUTION lines are for the student edition; the code around them stays."""
    for chapter in CHAPTERS:
        shown = "".join(pages[(html / f"{chapter}.html").resolve()].shown)
        assert "# BEGIN SOLUTION" not in shown and "# END SOLUTION" not in shown, chapter
    ch05 = "".join(pages[(html / "notebooks/05_positional_encoding.html").resolve()].shown)
    assert "def decode_position(pe):\n    d_model = pe.size(-1)" in ch05


def test_math_is_rendered_by_the_vendored_mathjax(html, pages):
    path = (html / "book" / "glossary.html").resolve()
    scripts = [url for tag, url in pages[path].links if tag == "script" and "mathjax" in url]
    assert scripts and all(_local(u) for u in scripts), scripts
    fonts = html / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2"
    assert len(list(fonts.glob("*.woff"))) >= 20


def test_glossary_entries_name_a_chapter_and_a_korean_term(html):
    page = (html / "book" / "glossary.html").read_text(encoding="utf-8")
    entries = re.findall(r"<dt[^>]*>(.*?)</dd>", page, flags=re.DOTALL)
    assert len(entries) >= 30
    for entry in entries:
        term = re.sub(r"<[^>]+>", "", entry.split("</dt>")[0]).strip()
        assert 'href="../notebooks/' in entry, f"{term}: no chapter link"
        assert re.search(r"[\uac00-\ud7a3]", entry), f"{term}: no Korean term"


# --- what a reader sees: figures, headings, test machinery, bibliography ----------------------

HAND_NUMBER = re.compile(r"^(\d+(\.\d+)*[.):]|\d+(\.\d+)+)(\s|$)")
AUTHOR_YEAR = re.compile(r"^\S.*?(?: et al\.| and \S.*?)?, (\d{4}[a-z]?|n\.d\.)$")


def _toc_pages(html, pages) -> dict[str, Page]:
    return {file: pages[(html / f"{file}.html").resolve()] for file in TOC_FILES}


def test_every_image_is_a_numbered_captioned_figure(html, pages):
    """Images of the text sit in a <figure> whose caption is numbered ("Fig. 2.1")."""
    bare = []
    for file, page in _toc_pages(html, pages).items():
        for n, image in enumerate(page.images, 1):
            if not (image["figure"]["caption"] or "").strip().startswith("Fig."):
                where = "no caption" if image["figure"]["caption"] is None else "not numbered"
                bare.append(f"{file}: image {n} under the heading {image['heading']!r} ({where}; "
                            f"{Path(unquote(image['src'])).name})")
    assert not bare, f"{len(bare)} images outside a numbered, captioned figure:\n" + "\n".join(bare)


def test_no_heading_is_numbered_by_hand(html, pages):
    """Sphinx numbers the headings; a number typed into one reads "9.6. 1. ..." on the site."""
    numbered = [f"{file}: {(number + ' ' + rest).strip()!r}"
                for file, page in _toc_pages(html, pages).items()
                for number, rest in page.headings if HAND_NUMBER.match(rest)]
    assert not numbered, "headings with a number of their own:\n" + "\n".join(numbered)


def test_no_test_machinery_is_shown(html, pages):
    """nbval markers live in cell tags, and the prose says "check", not the tool's name."""
    shown = []
    for file, page in _toc_pages(html, pages).items():
        text = " ".join(page.shown)
        shown += [f"{file}: ...{' '.join(text[m.start() - 70:m.end() + 50].split())}..."
                  for m in re.finditer(r"nbval", text, flags=re.IGNORECASE)]
    assert not shown, "test machinery shown to readers:\n" + "\n".join(shown)


def test_bibliography_labels_read_like_the_citations(html, pages):
    labels = pages[(html / "book" / "bibliography.html").resolve()].labels
    assert len(labels) >= 10, labels
    wrong = [label for label in labels if not AUTHOR_YEAR.match(label)]
    assert not wrong, f"bibliography labels not in author-year form: {wrong}"
    cited = {" ".join(c.split()) for page in pages.values() for c in page.citations}
    assert cited, "no citation found in the text"
    unmatched = sorted(cited - set(labels))
    assert not unmatched, f"citations in the text with no bibliography label alike: {unmatched}"


def _book_site():
    spec = importlib.util.spec_from_file_location("book_site", ROOT / "book/_ext/book_site.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_author_year_labels_of_single_double_and_many_authors():
    from pybtex.database import Entry, Person

    label = _book_site().author_year_label

    def entry(*authors, year="2017"):
        return Entry("article", fields={"year": year},
                     persons={"author": [Person(a) for a in authors]})

    assert label(entry("Elman, Jeffrey L.", year="1990")) == "Elman, 1990"
    assert label(entry("Press, Ofir", "Wolf, Lior")) == "Press and Wolf, 2017"
    assert label(entry("Vaswani, Ashish", "Shazeer, Noam", "Parmar, Niki")) == (
        "Vaswani et al., 2017")
    assert label(entry("van den Oord, A\\\"aron", "Li, Yazhe")) == "van den Oord and Li, 2017"
    assert label(entry("Kaiser, {\\L}ukasz")) == "Kaiser, 2017"
    assert label(entry("{\\L}ukasiewicz, Jan")) == "\u0141ukasiewicz, 2017"


def test_math_macros_become_latex_commands():
    latex = _book_site().latex_macros({"dk": "d_k", "norm": ["\\lVert #1 \\rVert", 1]})
    assert latex == "\\newcommand{\\dk}{d_k}\n\\newcommand{\\norm}[1]{\\lVert #1 \\rVert}\n"



def test_answers_stay_folded_online(html):
    """A check cell tagged hide-output (its output gives an exercise's answer away) shows its
    output only when the reader unfolds it; the chapters have such cells."""
    folded = 0
    for chapter in CHAPTERS:
        text = (html / f"{chapter}.html").read_text(encoding="utf-8")
        cells = re.split(r'<div class="cell ', text)[1:]
        for cell in cells:
            if "tag_hide-output" not in cell.split(">", 1)[0]:
                continue
            before_output = cell.split('class="cell_output', 1)[0]
            assert "<details" in before_output, f"{chapter}: a hide-output cell's output is open"
            folded += 1
    assert folded >= 9, folded


def test_solution_markers_are_stripped_and_colab_urls_rewritten():
    site = _book_site()
    code = "def f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\nx = 1  # END SOLUTION"
    assert site.without_solution_markers(code) == "def f():\n    return 1\nx = 1  # END SOLUTION"
    url = "https://colab.research.google.com/github/o/r/blob/main/notebooks/04_mha.ipynb"
    portable = url.replace("notebooks/", "portable/")
    assert site.portable_colab_url(url, "notebooks/04_mha") == portable
    assert site.portable_colab_url(url, "book/intro") == url
