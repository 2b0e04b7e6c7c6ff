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
from collections import Counter
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from site_pages import CHAPTERS, CONFIG, RAW_MARKUP, ROOT, TOC_FILES, VOID, Page, built_html


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



def test_the_glossary_jumps_to_the_first_term_of_every_letter(html):
    """The "Jump to" line links each initial letter to its first entry, in order, and misses no
    letter: on a phone the glossary is many screens tall."""
    page = (html / "book" / "glossary.html").read_text(encoding="utf-8")
    jump = re.search(r"Jump to</strong>(.*?)</p>", page, flags=re.DOTALL)
    assert jump, "no jump list above the glossary"
    links = re.findall(r'href="#(term-[^"]+)"><span[^>]*>(\w)</span>', jump.group(1))
    first = {}
    entries = r'(?:<dl[^>]*>|</dd>)\s*<dt id="(term-[^"]+)">([^<]*)'  # an entry's first term
    for anchor, term in re.findall(entries, page):
        first.setdefault(term[0].upper(), anchor)
    assert links == [(anchor, letter) for letter, anchor in first.items()]
    assert list(first) == sorted(first), "the glossary is no longer sorted"

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



def test_formulas_read_as_plain_text_in_search_results():
    """Sphinx's search quotes a page's text, where a formula is TeX: each carries a plain reading
    (data-text) that book.js quotes instead (the browser check: test_site_layout.py)."""
    site = _book_site()
    macros = CONFIG["sphinx"]["config"]["mathjax3_config"]["tex"]["macros"]
    plain = site.plain_math
    assert plain(r"\(\sqrt{\dk}\)", macros) == "√d_k"
    assert plain(r"\[\Attention(Q, K, V) = \softmax\left(\frac{QK^{\top}}{\sqrt{\dk}}\right) V\]",
                 macros) == "Attention(Q, K, V) = softmax((QKᵀ)/√d_k) V"
    assert plain(r"\(e^{s_i + c} / \sum_j e^{s_j}\)") == "e^(s_i + c) / Σ_j e^s_j"
    assert plain(r"\(W_i^Q \in \mathbb{R}^{\dmodel \times \dk}\)", macros) == (
        "W_i^Q ∈ ℝ^(d_model × d_k)")
    assert plain(r"\[\begin{aligned} PE_{(pos, 2i)} &= \sin(pos / 10000^{2i/\dmodel}) \\ x &= 1"
                 r"\end{aligned}\]", macros) == (
        "PE_(pos, 2i) = sin(pos / 10000^(2i/d_model)) ; x = 1")
    assert plain(r"\(\{1, 2\} \$5 \& 10\%\)") == "{1, 2} $5 & 10%"
    assert plain(r"\(\exp(\frac14 \sum_n \log p_n) \quad\text{and}\quad \|x\|^2\)") == (
        "exp(1/4 Σ_n log p_n) and ‖x‖^2")
    page = ('<p>by <span class="math notranslate nohighlight">\\(\\frac{a}{b} &lt; "c"\\)</span>'
            '</p><div class="math notranslate nohighlight">\\[x\\]</div>')
    assert site.with_plain_math(page) == (
        '<p>by <span class="math notranslate nohighlight" data-text="a/b &lt; &quot;c&quot;">'
        '\\(\\frac{a}{b} &lt; "c"\\)</span></p><div class="math notranslate nohighlight" '
        'data-text="x">\\[x\\]</div>')


def test_icon_subset_keeps_the_icons_named_or_aliased():
    subset = _book_site().icon_subset
    script = ('/*! licence */\n(()=>{var a={bars:[448,512,["navicon"],"f0c9","M0 9"],'
              '"file-pdf":[512,512,[],"f1c1","M1"],pencil:[512,512,[9999,"pencil-alt"],"f303",'
              '"M2"],duo:[1,2,[],"e0",["M3","M4"]]};f(a)})();\n//# sourceMappingURL=x.js.map')
    assert subset(script, {"pencil-alt"}) == ('/*! licence */\n(()=>{var a={pencil:[512,512,'
                                             '[9999,"pencil-alt"],"f303","M2"]};f(a)})();\n')
    assert subset(script, {"bars", "duo"}) == (
        '/*! licence */\n(()=>{var a={bars:[448,512,["navicon"],"f0c9","M0 9"],duo:[1,2,[],"e0",'
        '["M3","M4"]]};f(a)})();\n')
    assert subset(script, set()) == '/*! licence */\n(()=>{var a={};f(a)})();\n'


def test_pages_load_the_icons_they_use_not_all_of_font_awesome(html, pages):
    """The theme's Font Awesome script holds 2,000 icons (1.5 MB); the pages load a subset with
    the icons they name (drawn in a browser: test_site_layout.py)."""
    site = _book_site()
    subset = (html / site.ICON_SUBSET).read_text(encoding="utf-8")
    assert len(subset) < 200_000, len(subset)
    kept = set()
    for match in site._ICON.finditer(subset):
        kept |= {match[1] or match[2], *re.findall(r'"([a-z0-9-]+)"', match[3])}
    used, full = set(), []
    for path in pages:
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r'<i class="[^"]*\bfa-([a-z0-9-]+)', text))
        themed = "pydata-sphinx-theme.js" in text  # not index.html, a redirect
        if "scripts/fontawesome.js" in text or (themed and "book-icons.js?v=" not in text):
            full.append(str(path.relative_to(html)))
    assert not full, f"pages that load all of Font Awesome or no icons: {full}"
    assert used - {"solid", "lg"} <= kept, sorted(used - kept)


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


# --- accessibility in the HTML: Korean marked up, secure links, an icon, unique ids -------------

HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff]+")


class _LanguageOfText(HTMLParser):
    """The Hangul in a page's <body> text outside any element marked lang="ko"; text of scripts,
    styles and TeX that MathJax typesets (class "math") is left out."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool, bool]] = []  # (tag, korean, skipped)
        self.unmarked: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        attrs = dict(attrs)
        korean, skipped = self.stack[-1][1:] if self.stack else (False, True)
        if "lang" in attrs:
            korean = (attrs["lang"] or "").startswith("ko")
        skipped = (tag != "body" and (skipped or tag in ("script", "style", "template", "svg")
                                      or "math" in (attrs.get("class") or "").split()))
        self.stack.append((tag, korean, skipped))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if self.stack and not self.stack[-1][2] and not self.stack[-1][1]:
            self.unmarked += HANGUL.findall(data)


def test_korean_text_is_marked_as_korean(html, pages):
    """A screen reader reads text in the page's language (English) unless it is marked: every
    Hangul word of the text is inside an element with lang="ko" (book_site.mark_korean)."""
    unmarked, marked = [], 0
    for path in pages:
        parser = _LanguageOfText()
        text = path.read_text(encoding="utf-8")
        parser.feed(text)
        marked += text.count('<span lang="ko">')
        unmarked += [f"{path.relative_to(html)}: {word}" for word in parser.unmarked]
    assert marked > 200, marked
    assert not unmarked, f"{len(unmarked)} Hangul words not marked lang=ko:\n" + "\n".join(
        unmarked[:40])


def test_korean_runs_are_wrapped_outside_attributes_scripts_and_math():
    mark = _book_site().mark_korean
    page = ('<html><head><title>한</title></head><body><p title="한국어">한국어 용어, 셀프 어텐션'
            ' (x)</p><script>if (a<b) { s = "한"; }</script><span class="math">\\(\\text{한}\\)'
            '</span><pre>print("나는 학생이다.")</pre><p lang="ko">이미</p><br/>끝</body></html>')
    assert mark(page) == (
        '<html><head><title>한</title></head><body><p title="한국어"><span lang="ko">한국어 용어, '
        '셀프 어텐션</span> (x)</p><script>if (a<b) { s = "한"; }</script><span class="math">'
        '\\(\\text{한}\\)</span><pre>print("<span lang="ko">나는 학생이다</span>.")</pre>'
        '<p lang="ko">이미</p><br/><span lang="ko">끝</span></body></html>')
    assert mark(mark(page)) == mark(page)


def test_no_link_is_insecure_where_https_exists(html, pages):
    insecure = sorted({f"{path.relative_to(html)}: {url}" for path, page in pages.items()
                       for _, url in page.links if url.startswith("http://")
                       and urlsplit(url).hostname not in ("localhost", "127.0.0.1")})
    assert not insecure, "http:// links:\n" + "\n".join(insecure)


def test_every_page_has_an_icon(html):
    """Without a <link rel="icon">, a browser asks the server for /favicon.ico, a 404."""
    for file in TOC_FILES:
        path = html / f"{file}.html"
        icons = re.findall(r'<link rel="(?:shortcut )?icon" href="([^"]+)"',
                           path.read_text(encoding="utf-8"))
        assert icons and (path.parent / icons[0]).is_file(), (file, icons)


def test_no_inline_script_is_repeated_on_a_page(html, pages):
    # A repeated `const THEBE_JS_URL = ...` is a SyntaxError logged on every page.
    for file in TOC_FILES:
        page = (html / f"{file}.html").read_text(encoding="utf-8")
        scripts = re.findall(r"<script>(.*?)</script>", page, flags=re.DOTALL)
        assert len(scripts) == len(set(scripts)), f"{file}: an inline script is repeated"
        assert page.count("const THEBE_JS_URL") <= 1, file


def test_repeated_inline_scripts_are_dropped():
    page = ("<head><script>const a = 1;</script>\n<script src='x.js'></script>\n"
            "<script>const a = 1;</script><script>var b;</script></head>")
    assert _book_site().without_repeated_scripts(page) == (
        "<head><script>const a = 1;</script>\n<script src='x.js'></script><script>var b;"
        "</script></head>")


def test_no_id_is_repeated_on_a_page(html):
    """Repeated ids break in-page links and the labels that assistive technology looks up (such
    as sphinx-exercise's exercise-content and solution-content, dropped by book_site)."""
    repeated = []
    for file in TOC_FILES:
        text = (html / f"{file}.html").read_text(encoding="utf-8")
        body = text[text.find("<body"):]
        counts = Counter(re.findall(r'\sid="([^"]+)"', body))
        repeated += [f"{file}: id {i!r} x{n}" for i, n in counts.items() if n > 1]
    assert not repeated, "\n".join(repeated)


# --- the PDF: chapter numbers and tables --------------------------------------------------------

def test_the_pdf_numbers_chapters_as_the_website():
    site = _book_site()
    tex = ("\\begin{document}\n\\part{Getting started}\n\n\\chapter{Setup}\n"
           "\\label{\\detokenize{book/setup:setup}}\\label{\\detokenize{book/setup::doc}}\n"
           "\\part{Why attention}\n\\chapter{The limits}\n"
           "\\label{\\detokenize{notebooks/01_rnn_limits::doc}}\n")
    out = site.number_as_the_website(tex, {"notebooks/01_rnn_limits"})
    assert out == (
        "\\begin{document}\n" + site.UNNUMBERED + "\\part{Getting started}\n\n" + site.UNNUMBERED
        + "\\chapter{Setup}\n\\label{\\detokenize{book/setup:setup}}"
        "\\label{\\detokenize{book/setup::doc}}\n" + site.UNNUMBERED + "\\part{Why attention}\n"
        + site.NUMBERED + "\\chapter{The limits}\n"
        "\\label{\\detokenize{notebooks/01_rnn_limits::doc}}\n")


def test_the_introductions_map_is_not_numbered_in_the_pdf():
    label = "\\label{\\detokenize{book/intro:fig-architecture}}"
    tex = ("\\begin{figure}\\sphinxincludegraphics{{architecture}.pdf}\n\\caption{The "
           "Transformer, cross\\sphinxhyphen{}attention.}" + label + "\\end{figure}")
    out = _book_site().without_figure_numbers(tex)
    assert "\\caption" not in out and label in out
    assert "{\\small The Transformer, cross\\sphinxhyphen{}attention.}\\phantomsection" in out
    other = tex.replace("book/intro:fig-architecture", "notebooks/01_rnn_limits:fig-ch01-runtime")
    assert _book_site().without_figure_numbers(other) == other


def test_the_introduction_has_no_running_footer_in_the_pdf():
    label = "\\phantomsection\\label{\\detokenize{book/intro::doc}}"
    tex = f"\\sphinxtableofcontents\n{label}\n\\sphinxAtStartPar\nThis book"
    assert _book_site().unmarked_opening(tex, "book/intro") == (
        f"\\sphinxtableofcontents\n{label}\\markboth{{}}{{}}\n\\sphinxAtStartPar\nThis book")


def test_long_tables_get_column_widths_from_their_content():
    widths = _book_site().column_widths([["chapter", "exercise", "what the check verifies"],
                                         ["1", "`ch01-lstm-learning-rate`", "x " * 80]])
    assert widths == [17, 53, 51]
