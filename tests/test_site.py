"""The built HTML book: no broken local link, anchor or image, no error box, no raw directive.

Builds the book ONCE (module-scoped fixture, warnings are errors, into a temporary folder; about
10-60 s), then walks every HTML page with the standard library's html.parser. It also checks each
chapter's launch buttons (Colab, Binder) and download link, and the glossary.
"""

from __future__ import annotations

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


class Page(HTMLParser):
    """The ids, links, error boxes and visible (non-code, non-math) text of one HTML page."""

    def __init__(self, path: Path):
        super().__init__(convert_charrefs=True)
        self.path = path
        self.ids: set[str] = set()
        self.links: list[tuple[str, str]] = []  # (tag, url)
        self.errors: list[str] = []
        self.text: list[str] = []
        self._stack: list[tuple[str, bool]] = []  # (tag, verbatim)
        self.feed(path.read_text(encoding="utf-8"))
        self.close()

    def _verbatim(self) -> bool:
        return bool(self._stack) and self._stack[-1][1]

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
        if tag not in VOID:
            verbatim = (self._verbatim() or tag in VERBATIM_TAGS
                        or any(c in VERBATIM_CLASSES for c in classes))
            self._stack.append((tag, verbatim))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self._stack and self._stack[-1][0] == tag:
            self._stack.pop()

    def handle_endtag(self, tag):
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i][0] == tag:
                del self._stack[i:]
                break

    def handle_data(self, data):
        if not self._verbatim():
            self.text.append(data)


@pytest.fixture(scope="module")
def html(tmp_path_factory) -> Path:
    """Build the book once, warnings as errors, and return the HTML folder."""
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
