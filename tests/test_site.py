"""The built HTML book as a reader sees it.

Walks every HTML page with the standard library's html.parser: no broken local link, anchor or
image, no error box, no raw directive; every image of the text in a numbered, captioned figure;
no hand-numbered heading ("9.6. 1."); no test machinery shown (nbval); bibliography labels in
the author-year form of the citations; each chapter's launch buttons and download link; the
glossary. Then opens the pages in headless Chromium at phone (400 px) and desktop (1400 px)
widths: nothing may reach past the page or the article column unless it scrolls in its own box.

The book is built ONCE per run (warnings are errors, into a temporary folder; about 10-60 s),
unless the environment variable BOOK_HTML names an HTML folder already built (`_build/html`),
so that CI can build the book once. Chromium: the first of CHROMIUM (a path), `chromium`,
`chromium-browser`, `google-chrome` on the PATH (Debian: `apt-get install chromium`).
"""

from __future__ import annotations

import html as html_lib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
TOC_FILES = [TOC["root"]] + [c["file"] for part in TOC["parts"] for c in part["chapters"]]
CHAPTERS = [f for f in TOC_FILES if f.startswith("notebooks/")]

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
# Text inside these (code, math, scripts) may legitimately show braces and fences.
VERBATIM_TAGS = {"pre", "code", "script", "style", "textarea", "kbd", "samp"}
VERBATIM_CLASSES = {"math", "highlight", "output", "cell_output"}
ERROR_CLASSES = {"system-message", "problematic"}
RAW_MARKUP = re.compile(
    r"```\{|:::\{|\{(?:exercise|solution|solution-start|solution-end|glossary|term|doc|cite|"
    r"ref|numref|eq|math|figure|note|warning|admonition|bibliography|code-cell|dropdown)\}")
LINK_ATTRS = {("a", "href"), ("link", "href"), ("img", "src"), ("script", "src"),
              ("iframe", "src"), ("source", "src"), ("video", "src"), ("audio", "src")}


HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
HIDDEN_TAGS = {"script", "style", "template"}


class Page(HTMLParser):
    """One HTML page: ids, links, error boxes, prose text (not code or math), all shown text,
    headings, the images of the article with their figure captions, citations."""

    def __init__(self, path: Path):
        super().__init__(convert_charrefs=True)
        self.path = path
        self.ids: set[str] = set()
        self.links: list[tuple[str, str]] = []  # (tag, url)
        self.errors: list[str] = []
        self.text: list[str] = []  # prose: not code, not math
        self.shown: list[str] = []  # every text a reader can see or expand, code included
        self.headings: list[tuple[str, str]] = []  # (section number, rest of the heading)
        self.images: list[dict] = []  # {src, alt, heading, caption: "Fig. 2.1" or None}
        self.labels: list[str] = []  # bibliography entry labels, brackets removed
        self.citations: list[str] = []  # texts of the citations in the text
        self._stack: list[tuple[str, bool, set[str]]] = []  # (tag, verbatim, classes)
        self._heading: list[str] | None = None
        self._number: list[str] = []
        self._figures: list[dict] = []  # open <figure>s: {"caption": ...}
        self.feed(path.read_text(encoding="utf-8"))
        self.close()

    def _verbatim(self) -> bool:
        return bool(self._stack) and self._stack[-1][1]

    def _inside(self, tag: str, cls: str | None = None) -> bool:
        return any(t == tag and (cls is None or cls in c) for t, _, c in self._stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("id", "name" if tag == "a" else None):
            if name and attrs.get(name):
                self.ids.add(attrs[name])
        for (link_tag, attr) in LINK_ATTRS:
            if tag == link_tag and attrs.get(attr):
                self.links.append((tag, attrs[attr]))
        classes = set((attrs.get("class") or "").split())
        if classes & ERROR_CLASSES:
            self.errors.append(f"<{tag} class={attrs.get('class')!r}>")
        if tag == "span" and "label" in classes and self._inside("div", "citation"):
            self.labels.append("")
        elif tag == "a" and self._inside("span", "bibtex-citation"):
            self.citations.append("")
        if tag in HEADINGS:
            self._heading, self._number = [], []
        elif tag == "figure":
            self._figures.append({"caption": None})
        elif tag == "img" and self._inside("article", "bd-article"):
            figure = self._figures[-1] if self._figures else {"caption": None}
            heading = self.headings[-1][1] if self.headings else ""
            self.images.append({"src": attrs.get("src", ""), "alt": attrs.get("alt", ""),
                                "heading": heading, "figure": figure})
        if tag not in VOID:
            verbatim = (self._verbatim() or tag in VERBATIM_TAGS
                        or any(c in VERBATIM_CLASSES for c in classes))
            self._stack.append((tag, verbatim, classes))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self._stack and self._stack[-1][0] == tag:
            self._stack.pop()

    def handle_endtag(self, tag):
        if tag in HEADINGS and self._heading is not None:
            self.headings.append(("".join(self._number).strip(),
                                  " ".join("".join(self._heading).split())))
            self._heading = None
        elif tag == "figure" and self._figures:
            self._figures.pop()
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i][0] == tag:
                del self._stack[i:]
                break

    def handle_data(self, data):
        if any(t in HIDDEN_TAGS for t, _, _ in self._stack):
            return
        self.shown.append(data)
        if not self._verbatim():
            self.text.append(data)
        if self._heading is not None and not self._inside("a", "headerlink"):
            (self._number if self._inside("span", "section-number") else self._heading).append(data)
        if self._figures and self._inside("span", "caption-number"):
            self._figures[-1]["caption"] = (self._figures[-1]["caption"] or "") + data
        if self._inside("div", "citation") and self._inside("span", "label"):
            if not self._inside("span", "fn-bracket"):
                self.labels[-1] += data
        if self._inside("span", "bibtex-citation") and self._inside("a"):
            self.citations[-1] += data


@pytest.fixture(scope="module")
def html(tmp_path_factory) -> Path:
    """The HTML folder: $BOOK_HTML if set, else the book built once, warnings as errors."""
    if os.environ.get("BOOK_HTML"):
        built = Path(os.environ["BOOK_HTML"]).resolve()
        assert (built / f"{TOC['root']}.html").is_file(), (
            f"BOOK_HTML={os.environ['BOOK_HTML']} is not a built book (no {TOC['root']}.html)")
        return built
    out = tmp_path_factory.mktemp("site")
    exe = Path(sys.executable).with_name("jupyter-book")
    command = [str(exe) if exe.exists() else shutil.which("jupyter-book"), "build", str(ROOT),
               "-W", "-n", "--keep-going", "--path-output", str(out)]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    seconds = time.perf_counter() - start
    print(f"\njupyter-book build: {seconds:.1f} s")
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"the book build failed:\n{log[-6000:]}"
    assert "WARNING" not in log, log[-6000:]
    return out / "_build" / "html"


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
    repo = urlsplit(CONFIG["repository"]["url"]).path.strip("/")
    branch = CONFIG["repository"].get("branch", "main")
    colab = CONFIG["launch_buttons"]["colab_url"].rstrip("/")
    binder = CONFIG["launch_buttons"]["binderhub_url"].rstrip("/")
    interface = CONFIG["launch_buttons"].get("notebook_interface", "classic")
    for chapter in CHAPTERS:
        path = (html / f"{chapter}.html").resolve()
        links = {url for _, url in pages[path].links}
        notebook = f"{chapter}.ipynb"
        assert f"{colab}/github/{repo}/blob/{branch}/{notebook}" in links, (chapter, "Colab")
        binder_prefix = f"{binder}/v2/gh/{repo}/{branch}?urlpath="
        binders = [u for u in links if u.startswith(binder_prefix)]
        assert binders, (chapter, "no Binder button")
        expected = "lab/tree/" if interface == "jupyterlab" else "tree/"
        assert all(u.endswith(f"{expected}{notebook}") for u in binders), (chapter, binders)
        assert f"../_sources/{notebook}" in links, (chapter, "no download link")


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


# --- layout in a real browser --------------------------------------------------------------------

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _chromium() -> str:
    found = os.environ.get("CHROMIUM") or next(filter(None, map(shutil.which, BROWSERS)), None)
    if not found:
        pytest.fail("no headless browser for the layout check: install Chromium (Debian: "
                    "`apt-get install chromium`) or set CHROMIUM to its path")
    return found


def _layout(html: Path, files: list[str], width: int, workdir: Path) -> dict[str, dict]:
    """Open the pages ``files`` (no ``.html``) at ``width`` CSS pixels; the probe's report.

    Chromium's window cannot be narrower than 500 px, so each page is an iframe of the width
    (its own viewport: the theme's phone layout applies), all in one window.
    """
    frames = "".join(
        f'<iframe data-page="{file}" src="{(html / f"{file}.html").resolve().as_uri()}" '
        f'style="position:absolute;top:0;left:0;width:{width}px;height:800px;border:0"></iframe>'
        for file in files)
    probe = (Path(__file__).with_name("site_layout.js")).read_text(encoding="utf-8")
    harness = workdir / "harness.html"
    harness.write_text(f"<!doctype html><html><body style='margin:0'>{frames}"
                       f"<script>{probe}</script></body></html>", encoding="utf-8")
    command = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--hide-scrollbars", "--allow-file-access-from-files",
               f"--user-data-dir={workdir / 'profile'}", "--virtual-time-budget=60000",
               f"--window-size={max(width, 500) + 20},820", "--dump-dom", harness.as_uri()]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    reports = re.findall(r'<pre id="site-probe">(.*?)</pre>', result.stdout, flags=re.DOTALL)
    assert reports, f"the browser gave no layout report:\n{result.stderr[-3000:]}"
    return json.loads(html_lib.unescape(reports[-1]))


def test_the_layout_probe_finds_what_runs_off_the_page(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "page.html").write_text(
        "<!doctype html><html><body style='margin:0'><article class='bd-article' "
        "style='width:300px'><p>fits</p><pre style='overflow-x:auto'>" + "scrolls " * 80
        + "</pre><div id='wide' style='width:350px'>too wide for the column</div></article>"
        "<div id='page-wide' style='width:700px'>wider than the page</div></body></html>",
        encoding="utf-8")
    found = _layout(site, ["page"], 400, tmp_path)["page"]["found"]
    assert [f["element"] for f in found] == ["div#wide", "div#page-wide"], found
    assert [f["limit"] for f in found] == [300, 400], found


def test_the_layout_probe_counts_search_fields(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "page.html").write_text(
        "<!doctype html><html><body><button class='search-button-field'>Search</button>"
        "<dialog><form class='bd-search'></form></dialog><div style='display:none'>"
        "<button class='search-button-field'></button></div><form class='bd-search'>"
        "<input></form></body></html>", encoding="utf-8")
    assert _layout(site, ["page"], 1400, tmp_path)["page"]["searches"] == 2


@pytest.mark.parametrize("width", [400, 1400])
def test_nothing_is_wider_than_the_page(html, width, tmp_path):
    """At phone and desktop widths, what cannot wrap scrolls in its own box (code, outputs,
    display math, tables); nothing reaches past the page or the article column; one search
    field at most."""
    report = _layout(html, TOC_FILES, width, tmp_path)
    assert sorted(report) == sorted(TOC_FILES), sorted(report)
    problems = []
    for file, page in sorted(report.items()):
        if "error" in page:
            problems.append(f"{file}: the probe failed: {page['error']}")
            continue
        assert page["width"] == width, (file, page["width"])
        if page["searches"] > 1:
            problems.append(f"{file}: {page['searches']} search fields on show")
        problems += [f"{file}: {f['element']} reaches {f['right']} px > {f['limit']} px: "
                     f"{f['text']!r}" for f in page["found"]]
    summary = f"at {width} px, {len(problems)} elements too wide:"
    assert not problems, "\n".join([summary, *problems])
