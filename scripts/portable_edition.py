"""Write the portable edition of the chapters: plain CommonMark and LaTeX, no MyST.

    python scripts/portable_edition.py            # notebooks/NN_*.ipynb -> portable/NN_*.ipynb
    python scripts/portable_edition.py --check    # exit 1, naming the stale files, if portable/
                                                  # differs from what the script would write

The chapters are written in MyST, which the website (and JupyterLab with jupyterlab-myst) renders;
Colab, VS Code, the classic Notebook or a JupyterHub without extensions would show its roles,
directives and the book's maths macros raw. The portable edition says the same in plain Markdown:

- ``{term}`` -> the word, linked to its entry of the online glossary;
- ``{doc}`` -> the page's title (or the role's text), linked to the online page;
- ``{numref}`` / ``{ref}`` -> "Figure 8.3", "Exercise 4.3" or a section's title, numbered as
  the website numbers them and linked to the target (``#label`` within the same chapter);
- ``{cite}`` (``{cite:p}``, ``{cite:t}``) -> "(Vaswani et al., 2017)", each work linked to its
  entry of the online bibliography;
- ``{exercise}`` -> "**Exercise 4.3**" under an HTML anchor; ``{solution}`` -> a ``<details>``
  block "Solution to Exercise 4.3"; a gated ``{solution-start}`` / ``{solution-end}`` pair ->
  a markdown cell announcing the solution, and the solution's code cells without their
  ``# BEGIN SOLUTION`` / ``# END SOLUTION`` lines;
- ``{admonition}`` -> a blockquote with a bold title;
- the maths macros of ``_config.yml`` (``\\dmodel``...) expanded, in the text and in captions;
- a figure cell (``mystnb.figure`` metadata) is followed by its caption, "**Figure 4.2.** ...",
  under an HTML anchor named like the figure.

The first cell tagged ``book-macros`` (``\\newcommand`` lines for JupyterLab) and markdown cells
tagged ``remove-cell`` are dropped; code cells are all kept (the ``colab-setup`` cell installs the
package in Colab); cells tagged ``hide-output`` lose their outputs (they reveal an answer).
A role or directive this script does not know, and any MyST syntax left after the translation,
stop it with an error naming the chapter, the cell and the role.

The online site's address is ``html.baseurl`` of ``_config.yml``; the macros are
``sphinx.config.mathjax3_config.tex.macros`` there.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import re
import sys
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path, PurePosixPath

import nbformat
import yaml
from pybtex.database import parse_file

ROOT = Path(__file__).resolve().parents[1]
SOURCE = "notebooks"
PORTABLE = "portable"

BEGIN = re.compile(r"^[ \t]*# BEGIN SOLUTION[ \t]*$")
END = re.compile(r"^[ \t]*# END SOLUTION[ \t]*$")
# An opening fence of a MyST directive: ``:::{name} argument`` or ````` ```{name} ````` (3+ marks).
FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]{0,3})(?P<fence>:{3,}|`{3,}|~{3,})"
                        r"\{(?P<name>[^}\s]+)\}[ \t]*(?P<arg>.*?)[ \t]*$")
CODE_FENCE = re.compile(r"^[ \t]{0,3}(?P<fence>`{3,}|~{3,})(?!.*\{)")
OPTION = re.compile(r"^:(?P<key>[\w-]+):[ \t]*(?P<value>.*?)[ \t]*$")
TARGET = re.compile(r"^\((?P<label>[^()\s]+)\)=[ \t]*$")
ROLE = re.compile(r"\{(?P<name>[A-Za-z][\w:+.-]*)\}$")
EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.DOTALL)
HEADING = re.compile(r"^#[ \t]+(?P<title>.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
# MyST left over after the translation: roles, directive fences, targets, directive options.
LEFTOVER = [
    (re.compile(r"\{[A-Za-z][\w:+.-]*\}`"), "a role"),
    (re.compile(r"^[ \t]*(:{3,}|`{3,}|~{3,})\{", re.MULTILINE), "a directive"),
    (re.compile(r"^\([^()\s]+\)=[ \t]*$", re.MULTILINE), "a target"),
    (re.compile(r"^:(label|class|name|nonumber):", re.MULTILINE), "a directive option"),
]
NOTE = ("Generated from {source} by scripts/portable_edition.py: edit the chapter, not this file.")


class PortableError(ValueError):
    """MyST the portable edition cannot translate (an unknown role, a missing target...)."""


# --- what the translation needs to know of the whole book ---------------------------------------

@dataclass(frozen=True)
class Target:
    """Something a ``{numref}`` or ``{ref}`` can point to."""

    doc: str  # docname, e.g. "notebooks/04_multi_head_attention"
    kind: str  # "figure", "exercise" or "section"
    number: str  # "4.2" ("" for a section or an unnumbered exercise)
    title: str  # a section's title, a figure's caption


@dataclass
class Book:
    base_url: str  # the online site, ending in "/"
    macros: dict[str, str | list]
    glossary: dict[str, str]  # lower-cased term -> anchor id on the glossary page
    works: dict[str, tuple[str, str]]  # bibliography key -> (authors, year)
    titles: dict[str, str]  # docname -> title
    chapters: dict[str, str]  # docname -> chapter number ("" if unnumbered)
    glossary_doc: str  # docname of the glossary page
    bibliography_doc: str  # docname of the bibliography page
    targets: dict[str, Target] = field(default_factory=dict)

    def url(self, doc: str, anchor: str = "") -> str:
        return f"{self.base_url}{doc}.html" + (f"#{anchor}" if anchor else "")


def _load_module(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def site_url(config: dict) -> str:
    """``html.baseurl`` of ``_config.yml``, ending in "/"."""
    url = (config.get("html") or {}).get("baseurl")
    if not url:
        raise PortableError("_config.yml has no html.baseurl (the online site's address)")
    return url.rstrip("/") + "/"


def sphinx_id(text: str) -> str:
    """The id Sphinx makes of a text (``sphinx.util.nodes._make_id``, for ASCII text)."""
    import unicodedata

    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^a-zA-Z0-9._]+", "-", " ".join(text.split()))
    return re.sub(r"^[-0-9._]+|-+$", "", text)


def glossary_anchors(markdown: str) -> dict[str, str]:
    """Lower-cased term -> anchor of the ``{glossary}`` on a page.

    Sphinx gives every term of an entry the id ``term-<term>``; a term with no ASCII letters (the
    Korean names) gets a serial number instead, so it links to the first term of its entry.
    """
    match = re.search(r"^(`{3,}|:{3,})\{glossary\}.*?\n(?P<body>.*?)^\1[ \t]*$", markdown,
                      re.MULTILINE | re.DOTALL)
    if not match:
        raise PortableError("the glossary page has no {glossary} directive")
    anchors: dict[str, str] = {}
    entry: list[str] = []
    for line in match.group("body").splitlines():
        if not line.strip() or OPTION.match(line):
            continue
        if line[0] in " \t":
            entry = []
            continue
        entry.append(line.strip())
        own = sphinx_id(f"term-{line.strip()}")
        first = sphinx_id(f"term-{entry[0]}")
        anchors.setdefault(line.strip().lower(), own if own != "term" else first)
    return anchors


def bibliography(path: Path) -> dict[str, tuple[str, str]]:
    """Key -> (authors, year) as the site cites it ("Vaswani et al.", "2017")."""
    label = _load_module("book_site", ROOT / "book" / "_ext" / "book_site.py").author_year_label
    data = parse_file(str(path), bib_format="bibtex")
    works = {}
    for key, entry in data.entries.items():
        who, _, year = label(entry).rpartition(", ")
        works[key] = (who, year)
    return works


def toc_docs(toc: dict, multitoc: bool = True) -> dict[str, str]:
    """Docname -> chapter number, as Sphinx numbers the chapters of numbered parts.

    With ``use_multitoc_numbering`` (jupyter-book's default) the numbers run on across parts;
    without, each numbered part starts again at 1. Unnumbered parts and the root get "".
    """
    numbers = {toc["root"]: ""}
    count = 0
    for part in toc.get("parts", []):
        if not multitoc:
            count = 0
        for chapter in part["chapters"]:
            if "sections" in chapter:
                raise PortableError(f"{chapter['file']}: sections in _toc.yml are not supported")
            if part.get("numbered"):
                count += 1
                numbers[chapter["file"]] = str(count)
            else:
                numbers[chapter["file"]] = ""
    return numbers


def _source_path(root: Path, doc: str) -> Path:
    for suffix in (".ipynb", ".md"):
        if (root / f"{doc}{suffix}").is_file():
            return root / f"{doc}{suffix}"
    raise PortableError(f"{doc}: no .ipynb or .md file")


def markdown_cells(path: Path) -> list[tuple[int, str]]:
    """(cell index, source) of a notebook's markdown cells, or ``[(0, text)]`` of a .md page."""
    if path.suffix == ".md":
        return [(0, path.read_text(encoding="utf-8"))]
    nb = nbformat.read(path, as_version=4)
    return [(i, c.source) for i, c in enumerate(nb.cells)
            if c.cell_type == "markdown" and "book-macros" not in _tags(c)]


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _figure(cell) -> dict | None:
    return cell.get("metadata", {}).get("mystnb", {}).get("figure") if cell.cell_type == "code" \
        else None


def scan_targets(doc: str, source, chapter: str) -> dict[str, Target]:
    """The figures, exercises and labelled sections of one page, numbered as Sphinx numbers them.

    ``source`` is the page: a notebook, a path to one or to a ``.md`` page, or markdown text.
    Figures and exercises are numbered per page in their order, ``<chapter>.<n>`` in a numbered
    chapter and ``<n>`` elsewhere; ``:nonumber:`` exercises are not counted.
    """
    prefix = f"{chapter}." if chapter else ""
    targets: dict[str, Target] = {}
    figures = exercises = 0
    if isinstance(source, Path):
        source = nbformat.read(source, as_version=4) if source.suffix == ".ipynb" \
            else source.read_text(encoding="utf-8")
    if isinstance(source, str):
        items = [("markdown", source)]
    else:
        items = []
        for cell in source.cells:
            if _figure(cell) is not None:
                items.append(("figure-cell", _figure(cell)))
            elif cell.cell_type == "markdown" and "remove-cell" not in _tags(cell):
                items.append(("markdown", cell.source))  # as the website: removed cells unread
    for kind, value in items:
        if kind == "figure-cell":
            figures += 1
            if value.get("name"):
                targets[value["name"]] = Target(doc, "figure", f"{prefix}{figures}",
                                                value.get("caption", ""))
            continue
        lines = value.splitlines()
        for n, line in enumerate(lines):
            fence = FENCE_OPEN.match(line)
            target = TARGET.match(line)
            if target:
                heading = next((h for h in lines[n + 1:] if h.strip()), "")
                title = heading.lstrip("#").strip() if heading.startswith("#") else ""
                targets[target.group("label")] = Target(doc, "section", "", title)
            if not fence or fence.group("name") not in ("exercise", "figure"):
                continue
            options = _options(lines[n + 1:])[0]
            name = fence.group("name")
            if name == "figure":
                figures += 1
                number = f"{prefix}{figures}"
                label = options.get("name")
            else:
                if "nonumber" not in options:
                    exercises += 1
                number = "" if "nonumber" in options else f"{prefix}{exercises}"
                label = options.get("label")
            if label:
                targets[label] = Target(doc, name, number, fence.group("arg"))
    return targets


def document_title(path: Path) -> str:
    for _, source in markdown_cells(path):
        match = HEADING.search(source)
        if match:
            return match.group("title")
    raise PortableError(f"{path.name}: no title (a '# ' heading)")


@cache
def load_book(root: Path = ROOT) -> Book:
    """Read what the translation needs: ``_config.yml``, ``_toc.yml``, glossary, bibliography."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    sphinx = (config.get("sphinx") or {}).get("config") or {}
    macros = ((sphinx.get("mathjax3_config") or {}).get("tex") or {}).get("macros") or {}
    multitoc = (config.get("html") or {}).get("use_multitoc_numbering", True)
    chapters = toc_docs(toc, multitoc)
    pages = {PurePosixPath(d).name: d for d in chapters}
    if "glossary" not in pages or "bibliography" not in pages:
        raise PortableError("_toc.yml has no glossary or no bibliography page")
    glossary = _source_path(root, pages["glossary"]).read_text(encoding="utf-8")
    works = {key: work for path in config.get("bibtex_bibfiles", [])
             for key, work in bibliography(root / path).items()}
    book = Book(base_url=site_url(config), macros=macros, glossary=glossary_anchors(glossary),
                works=works, titles={}, chapters=chapters, glossary_doc=pages["glossary"],
                bibliography_doc=pages["bibliography"])
    for doc, chapter in chapters.items():
        path = _source_path(root, doc)
        book.titles[doc] = document_title(path)
        for label, target in scan_targets(doc, path, chapter).items():
            if label in book.targets:
                raise PortableError(f"the label {label!r} is defined twice "
                                    f"({book.targets[label].doc} and {doc})")
            book.targets[label] = target
    return book


# --- the translation of one markdown text --------------------------------------------------------

@dataclass
class Context:
    """Where the text stands: for error messages and relative targets."""

    book: Book
    doc: str  # docname of the chapter
    cell: int = 0

    def error(self, message: str) -> PortableError:
        return PortableError(f"{PurePosixPath(self.doc).name}.ipynb, cell {self.cell}: {message}")


def expand_macros(text: str, macros: dict[str, str | list]) -> str:
    r"""Replace the book's macros (``\dmodel`` -> ``d_{\text{model}}``); arguments in braces."""
    if not macros:
        return text
    pattern = re.compile(r"\\(" + "|".join(sorted(map(re.escape, macros), key=len, reverse=True))
                         + r")(?![A-Za-z])")

    def arguments(source: str, start: int, count: int) -> tuple[list[str], int]:
        found = []
        for _ in range(count):
            while start < len(source) and source[start] in " \t":
                start += 1
            if start >= len(source) or source[start] != "{":
                raise ValueError("a macro argument must be in braces")
            depth, end = 0, start
            for end in range(start, len(source)):
                depth += {"{": 1, "}": -1}.get(source[end], 0)
                if depth == 0:
                    break
            found.append(source[start + 1:end])
            start = end + 1
        return found, start

    position = 0
    for _ in range(10_000):
        match = pattern.search(text, position)
        if not match:
            break
        value = macros[match.group(1)]
        body, count = (value, 0) if isinstance(value, str) else (value[0], int(value[1]))
        args, end = arguments(text, match.end(), count)
        for n, arg in enumerate(args, start=1):
            body = body.replace(f"#{n}", arg)
        text = text[:match.start()] + body + text[end:]
        position = match.start()  # the replacement may use another macro
    return text


def split_code(text: str) -> list[tuple[str, str]]:
    """Cut inline text into ("text" | "code" | "role:<name>", content) pieces.

    A role is ``{name}`` right before a code span; a code span is kept as it is.
    """
    pieces: list[tuple[str, str]] = []
    start = search = 0  # start of the text not yet cut; where to look for the next backtick
    for _ in range(100_000):
        tick = text.find("`", search)
        if tick < 0:
            break
        run = len(text[tick:]) - len(text[tick:].lstrip("`"))
        close = re.compile(r"(?<!`)" + "`" * run + r"(?!`)").search(text, tick + run)
        if not close:  # backticks that open no code span are text
            search = tick + run
            continue
        before = text[start:tick]
        role = ROLE.search(before)
        if role:
            pieces.append(("text", before[:role.start()]))
            pieces.append((f"role:{role.group('name')}", text[tick + run:close.start()]))
        else:
            pieces.append(("text", before))
            pieces.append(("code", text[tick:close.end()]))
        start = search = close.end()
    pieces.append(("text", text[start:]))
    return [(kind, content) for kind, content in pieces if content or kind != "text"]


def _explicit(content: str) -> tuple[str | None, str]:
    match = EXPLICIT.match(content.strip())
    if match and match.group("text"):
        return match.group("text"), match.group("target").strip()
    return None, content.strip()


def _link(text: str, url: str) -> str:
    return f"[{text}]({url})"


def _resolve_doc(ctx: Context, target: str) -> str:
    target = target.removesuffix(".ipynb").removesuffix(".md")
    if target.startswith("/"):
        doc = target.lstrip("/")
    else:
        parts: list[str] = list(PurePosixPath(ctx.doc).parent.parts)
        for part in PurePosixPath(target).parts:
            if part == "..":
                if not parts:
                    raise ctx.error(f"{{doc}} target {target!r} leaves the book")
                parts.pop()
            elif part != ".":
                parts.append(part)
        doc = "/".join(parts)
    if doc not in ctx.book.titles:
        raise ctx.error(f"{{doc}} target {target!r} is not a page of the book")
    return doc


def _target_link(ctx: Context, label: str, text: str) -> str:
    target = ctx.book.targets[label]
    url = f"#{label}" if target.doc == ctx.doc else ctx.book.url(target.doc, label)
    return _link(text, url)


def _number_text(target: Target) -> str:
    return f"{target.kind.capitalize()} {target.number}".strip()


def translate_role(ctx: Context, name: str, content: str) -> str:
    book = ctx.book
    if name == "term":
        text, term = _explicit(content)
        anchor = book.glossary.get(term.lower())
        if anchor is None:
            raise ctx.error(f"{{term}} {term!r} is not in the glossary")
        return _link(text or term, book.url(book.glossary_doc, anchor))
    if name == "doc":
        text, target = _explicit(content)
        doc = _resolve_doc(ctx, target)
        return _link(text or book.titles[doc], book.url(doc))
    if name in ("numref", "ref"):
        text, label = _explicit(content)
        target = book.targets.get(label)
        if target is None:
            raise ctx.error(f"{{{name}}} target {label!r} is not a figure, exercise or "
                            "labelled section of the book")
        if name == "numref":
            if target.kind == "section" or not target.number:
                raise ctx.error(f"{{numref}} target {label!r} has no number")
            shown = (text.replace("%s", target.number).replace("{number}", target.number)
                     if text else _number_text(target))
        elif text:
            shown = text
        elif target.kind == "section":
            shown = target.title
        elif target.kind == "figure":
            shown = translate_inline(ctx, target.title)
        else:
            shown = _number_text(target) if target.number else target.title or label
        return _target_link(ctx, label, shown)
    if name in ("cite", "cite:p", "cite:t"):
        keys = [k.strip() for k in content.split(",") if k.strip()]
        missing = [k for k in keys if k not in book.works]
        if not keys or missing:
            raise ctx.error(f"{{{name}}} key(s) {missing or content!r} not in the bibliography")
        def where(key: str) -> str:
            return book.url(book.bibliography_doc, f"cite-{key}")

        if name == "cite:t":
            return "; ".join(_link(f"{book.works[k][0]} ({book.works[k][1]})", where(k))
                             for k in keys)
        return "(" + "; ".join(_link(", ".join(book.works[k]), where(k)) for k in keys) + ")"
    raise ctx.error(f"unknown role {{{name}}}: the portable edition cannot translate it "
                    "(teach scripts/portable_edition.py, or use a role it knows)")


def translate_inline(ctx: Context, text: str) -> str:
    """Roles translated and macros expanded, in text with no block structure to keep."""
    out = []
    for kind, content in split_code(text):
        if kind == "code":
            out.append(content)
        elif kind == "text":
            try:
                out.append(expand_macros(content, ctx.book.macros))
            except ValueError as error:
                raise ctx.error(str(error)) from None
        else:
            out.append(translate_role(ctx, kind.removeprefix("role:"), content))
    return "".join(out)


def _options(lines: list[str]) -> tuple[dict[str, str], int]:
    """The ``:key: value`` lines at the top of a directive's body, and how many lines they take."""
    options: dict[str, str] = {}
    n = 0
    for n, line in enumerate(lines):
        match = OPTION.match(line)
        if not match:
            return options, n
        options[match.group("key")] = match.group("value")
    return options, len(lines) if lines else 0


def _closing(lines: list[str], start: int, fence: str) -> int:
    for j in range(start, len(lines)):
        stripped = lines[j].strip()
        if len(stripped) >= len(fence) and set(stripped) == {fence[0]}:
            return j
    return -1


def anchor(label: str) -> str:
    return f'<a id="{label}" name="{label}"></a>'


@dataclass
class Chapter:
    """The state of one chapter's translation: exercise counter, gated solution."""

    ctx: Context
    exercises: int = 0
    gated: str | None = None  # the exercise label of an open {solution-start}
    prefix: str = ""

    @classmethod
    def of(cls, book: Book, doc: str) -> Chapter:
        chapter = book.chapters.get(doc, "")
        return cls(Context(book, doc), prefix=f"{chapter}." if chapter else "")

    def exercise(self, arg: str, options: dict[str, str], body: str) -> str:
        self._only(options, {"label", "class", "nonumber"}, "exercise")
        if "nonumber" in options:
            head = "**Exercise**"
        else:
            self.exercises += 1
            number = f"{self.prefix}{self.exercises}"
            label = options.get("label")
            if label and self.ctx.book.targets[label].number != number:
                raise self.ctx.error(f"exercise {label!r} numbered {number} here but "
                                     f"{self.ctx.book.targets[label].number} in the book")
            head = f"**Exercise {number}**"
        if arg:
            head += f" ({translate_inline(self.ctx, arg)})"
        label = options.get("label")
        return f"{anchor(label) if label else ''}{head}\n\n{self.blocks(body)}"

    def solution_title(self, label: str, name: str) -> str:
        target = self.ctx.book.targets.get(label)
        if target is None or target.kind != "exercise":
            raise self.ctx.error(f"{{{name}}} names {label!r}, which is not an exercise")
        return f"Solution to {_number_text(target) if target.number else 'the exercise'}"

    def solution(self, arg: str, options: dict[str, str], body: str) -> str:
        self._only(options, {"label", "class"}, "solution")
        title = self.solution_title(arg, "solution")
        return f"<details>\n<summary>{title}</summary>\n\n{self.blocks(body)}\n\n</details>"

    def admonition(self, arg: str, options: dict[str, str], body: str) -> str:
        self._only(options, {"class", "name"}, "admonition")
        if not arg:
            raise self.ctx.error("an {admonition} needs a title")
        text = f"**{translate_inline(self.ctx, arg)}**\n\n{self.blocks(body)}"
        return "\n".join(f"> {line}".rstrip() for line in text.splitlines())

    def _only(self, options: dict[str, str], known: set[str], name: str) -> None:
        unknown = sorted(set(options) - known)
        if unknown:
            raise self.ctx.error(f"{{{name}}} option(s) {unknown} unknown to the portable edition")

    def blocks(self, text: str) -> str:
        """Translate markdown with block structure: directives, code fences, targets, prose."""
        lines = text.splitlines()
        out: list[str] = []
        prose: list[str] = []

        def flush() -> None:
            if prose:
                out.extend(translate_inline(self.ctx, "\n".join(prose)).split("\n"))
                prose.clear()

        def block(translated: str) -> None:
            # a blank line before and after, so that the block never merges with a paragraph
            flush()
            if out and out[-1].strip():
                out.append("")
            out.extend(translated.split("\n"))
            out.append("")

        i = 0
        while i < len(lines):
            line = lines[i]
            directive, code = FENCE_OPEN.match(line), CODE_FENCE.match(line)
            target = TARGET.match(line)
            if directive:
                fence, name = directive.group("fence"), directive.group("name")
                end = _closing(lines, i + 1, fence)
                if end < 0:
                    raise self.ctx.error(f"the {{{name}}} fence is not closed")
                options, n = _options(lines[i + 1:end])
                body = "\n".join(lines[i + 1 + n:end]).strip("\n")
                block(self.directive(name, directive.group("arg"), options, body))
                i = end + 1
                if i < len(lines) and not lines[i].strip():
                    i += 1  # the blank line after the block is already there
            elif code:
                flush()
                end = _closing(lines, i + 1, code.group("fence"))
                end = len(lines) - 1 if end < 0 else end
                out.extend(lines[i:end + 1])
                i = end + 1
            elif target:
                flush()
                out.append(anchor(target.group("label")))
                i += 1
            else:
                prose.append(line)
                i += 1
        flush()
        return "\n".join(out).strip("\n")

    def directive(self, name: str, arg: str, options: dict[str, str], body: str) -> str:
        if name == "exercise":
            return self.exercise(arg, options, body)
        if name == "solution":
            return self.solution(arg, options, body)
        if name == "admonition":
            return self.admonition(arg, options, body)
        if name in ("solution-start", "solution-end"):
            raise self.ctx.error(f"a {{{name}}} fence must stand alone in its markdown cell")
        raise self.ctx.error(f"unknown directive {{{name}}}: the portable edition cannot "
                             "translate it (teach scripts/portable_edition.py, or use a "
                             "directive it knows)")


def leftovers(text: str, macros: dict) -> list[str]:
    """MyST syntax or book macros in markdown, outside code: what a plain renderer shows raw."""
    no_fences = re.sub(r"^[ \t]{0,3}(`{3,}|~{3,})[^\n{]*\n.*?^[ \t]{0,3}\1[ \t]*$", "", text,
                       flags=re.MULTILINE | re.DOTALL)
    plain = "".join(" " if kind == "code" else content if kind == "text"
                    else f"{{{kind.removeprefix('role:')}}}`{content}`"
                    for kind, content in split_code(no_fences))
    found = [f"{what} {m.group(0).strip()!r}" for pattern, what in LEFTOVER
             for m in pattern.finditer(plain)]
    if macros:
        pattern = re.compile(r"\\(" + "|".join(map(re.escape, macros)) + r")(?![A-Za-z])")
        found += [f"the macro {m.group(0)!r}" for m in pattern.finditer(plain)]
    return found


# --- one chapter ----------------------------------------------------------------------------------

def _new_id(cell_id: str | None, suffix: str) -> str:
    base = cell_id or hashlib.sha1(suffix.encode()).hexdigest()[:8]
    new = f"{base}-{suffix}"
    return new if len(new) <= 64 else hashlib.sha1(new.encode()).hexdigest()[:16]


def strip_markers(source: str) -> str:
    """A solution's code without its ``# BEGIN SOLUTION`` / ``# END SOLUTION`` lines."""
    return "\n".join(line for line in source.splitlines()
                     if not (BEGIN.match(line) or END.match(line)))


SOLUTION_NOTE = ("**{title}.** The code below is one solution: try the exercise yourself "
                 "before you read it.")


def portable_notebook(nb, doc: str, book: Book | None = None, keep_markers: bool = False):
    """Return the portable edition of chapter ``doc`` (a new notebook; ``nb`` is not changed).

    ``keep_markers`` keeps the ``# BEGIN SOLUTION`` / ``# END SOLUTION`` lines (for the student
    edition, which replaces what lies between them).
    """
    book = book or load_book()
    nb = nbformat.from_dict(nb)  # a deep copy
    if doc not in book.titles:  # a notebook outside the book (a teacher's own): its own targets
        book = replace(book, targets={**book.targets, **scan_targets(doc, nb, "")},
                       titles={**book.titles, doc: PurePosixPath(doc).name})
    state = Chapter.of(book, doc)
    figures = 0
    cells = []
    for i, cell in enumerate(nb.cells):
        state.ctx.cell = i
        tags = _tags(cell)
        if cell.cell_type == "markdown":
            if "book-macros" in tags or "remove-cell" in tags:
                continue
            lines = cell.source.strip().splitlines()
            alone = FENCE_OPEN.match(lines[0]) if lines else None
            name = alone.group("name") if alone else None
            if name in ("solution-start", "solution-end"):
                if _closing(lines, 1, alone.group("fence")) != len(lines) - 1:
                    raise state.ctx.error(f"a {{{name}}} fence must stand alone in its markdown "
                                          "cell")
                if name == "solution-start":
                    if state.gated:
                        raise state.ctx.error("{solution-start} inside another one")
                    label = (alone.group("arg").split() or [""])[0]
                    title = state.solution_title(label, name)
                    state.gated = label
                    note = nbformat.v4.new_markdown_cell(SOLUTION_NOTE.format(title=title))
                    note.metadata["tags"] = ["solution"]
                    note["id"] = _new_id(cell.get("id"), "solution")
                    cells.append(note)
                else:
                    if not state.gated:
                        raise state.ctx.error("{solution-end} without {solution-start}")
                    state.gated = None
                continue
            cell.source = state.blocks(cell.source)
            if state.gated:
                cell.metadata["tags"] = [*tags, "solution"] if "solution" not in tags else tags
            problems = leftovers(cell.source, book.macros)
            if problems:
                raise state.ctx.error("left after the translation: " + ", ".join(problems))
            cells.append(cell)
            continue
        if cell.cell_type != "code":
            cells.append(cell)
            continue
        if state.gated and "solution" not in tags:
            raise state.ctx.error("a code cell inside {solution-start}/{solution-end} must be "
                                  "tagged 'solution'")
        if "solution" in tags and not keep_markers:
            cell.source = strip_markers(cell.source)
        if "hide-output" in tags:
            cell.outputs = []
        cells.append(cell)
        figure = _figure(cell)
        if figure is not None:
            figures += 1
            number = f"{state.prefix}{figures}"
            name = figure.get("name")
            if name and book.targets[name].number != number:
                raise state.ctx.error(f"figure {name!r} numbered {number} here but "
                                      f"{book.targets[name].number} in the book")
            # the caption follows as Markdown; the website's alt text (mystnb.image) goes too
            del cell.metadata["mystnb"]
            caption = translate_inline(state.ctx, figure.get("caption", "")).strip()
            text = f"{anchor(name) if name else ''}**Figure {number}.** {caption}".rstrip()
            problems = leftovers(text, book.macros)
            if problems:
                raise state.ctx.error("left in the caption: " + ", ".join(problems))
            below = nbformat.v4.new_markdown_cell(text)
            below["id"] = _new_id(cell.get("id"), "caption")
            cells.append(below)
    if state.gated:
        raise state.ctx.error("a {solution-start} is never closed by {solution-end}")
    nb.cells = cells
    nb.metadata["portable_edition"] = NOTE.format(source=f"{doc}.ipynb")
    return nb


# --- the whole edition ----------------------------------------------------------------------------

def chapter_docs(book: Book) -> list[str]:
    return [doc for doc in book.chapters if doc.startswith(f"{SOURCE}/")]


def render(doc: str, root: Path = ROOT, book: Book | None = None) -> str:
    """The exact text of ``portable/<name>.ipynb`` for chapter ``doc``."""
    book = book or load_book(root)
    nb = nbformat.read(root / f"{doc}.ipynb", as_version=4)
    return nbformat.writes(portable_notebook(nb, doc, book)) + "\n"


def edition(root: Path = ROOT) -> dict[str, str]:
    """File name -> text of every chapter's portable edition."""
    book = load_book(root)
    texts = {}
    for doc in chapter_docs(book):
        name = f"{PurePosixPath(doc).name}.ipynb"
        try:
            texts[name] = render(doc, root, book)
        except PortableError as error:
            message = str(error)
            raise PortableError(message if message.startswith(name) else f"{name}: {message}") \
                from None
    return texts


def stale(out: Path, texts: dict[str, str]) -> list[str]:
    """The files of ``out`` that differ from ``texts``, are missing, or are not chapters."""
    found = [name for name, text in texts.items()
             if not (out / name).is_file() or (out / name).read_text(encoding="utf-8") != text]
    found += [p.name for p in sorted(out.glob("*.ipynb")) if p.name not in texts]
    return sorted(found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 naming the files that are out of date")
    parser.add_argument("--out", type=Path, default=ROOT / PORTABLE,
                        help="output folder (default: portable/)")
    args = parser.parse_args(argv)
    try:
        texts = edition()
    except PortableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    out = args.out
    if args.check:
        found = stale(out, texts)
        for name in found:
            print(f"{out.name}/{name} is stale: run python scripts/portable_edition.py",
                  file=sys.stderr)
        if not found:
            print(f"{out.name}/: {len(texts)} chapters up to date")
        return 1 if found else 0
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(out.glob("*.ipynb")):
        if path.name not in texts:
            path.unlink()  # a chapter renamed or removed
    for name, text in texts.items():
        path = out / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"{out.name}/{name}: written")
    print(f"{out.name}/: {len(texts)} chapters")
    return 0


if __name__ == "__main__":
    sys.exit(main())
