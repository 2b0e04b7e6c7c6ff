"""The built HTML book, for the site checks: built once per test run, read with html.parser.

``built_html()`` returns the HTML folder: $BOOK_HTML if it names a built book (so that CI can
build the book once), else the book built once per process, warnings as errors, into a temporary
folder (about 10-60 s). ``Page`` reads one page with the standard library's html.parser.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

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
# Unrendered directives and roles, and a dollar sign in the prose: math that MyST did not take
# (for instance $$...$$ inside a paragraph, which shows as "$ $" around inline math).
RAW_MARKUP = re.compile(
    r"```\{|:::\{|\{(?:exercise|solution|solution-start|solution-end|glossary|term|doc|cite|"
    r"ref|numref|eq|math|figure|note|warning|admonition|bibliography|code-cell|dropdown)\}|\$")
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

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium() -> str:
    """The headless browser of the browser tests: $CHROMIUM, else the first of BROWSERS found."""
    found = os.environ.get("CHROMIUM") or next(filter(None, map(shutil.which, BROWSERS)), None)
    if not found:
        raise RuntimeError("no headless browser for the browser tests: install Chromium "
                           "(Debian: `apt-get install chromium`) or set CHROMIUM to its path")
    return found


@cache
def built_html() -> Path:
    """The HTML folder: $BOOK_HTML if set, else the book built once, warnings as errors."""
    if os.environ.get("BOOK_HTML"):
        built = Path(os.environ["BOOK_HTML"]).resolve()
        assert (built / f"{TOC['root']}.html").is_file(), (
            f"BOOK_HTML={os.environ['BOOK_HTML']} is not a built book (no {TOC['root']}.html)")
        return built
    out = Path(tempfile.mkdtemp(prefix="book-site-"))
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    exe = Path(sys.executable).with_name("jupyter-book")
    command = [str(exe) if exe.exists() else shutil.which("jupyter-book"), "build", str(ROOT),
               "-W", "-n", "--keep-going", "--path-output", str(out)]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    print(f"\njupyter-book build: {time.perf_counter() - start:.1f} s")
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"the book build failed:\n{log[-6000:]}"
    assert "WARNING" not in log, log[-6000:]
    return out / "_build" / "html"
