"""Sphinx extension of this book: author-year bibliography labels and one set of math macros.

* Bibliography labels. sphinxcontrib-bibtex cites in the text as ``[Vaswani et al., 2017]``
  (``bibtex_reference_style: author_year``), but its bibliography styles label the entries
  ``[VSP+17]`` (alpha) or ``[1]`` (plain). This module registers a pybtex label style that
  writes the same author-year text as the citations, and a formatting style ``author_year``
  that uses it (``bibtex_default_style: author_year`` in ``_config.yml``).
* Math macros. ``_config.yml`` defines the book's notation once, as MathJax macros
  (``mathjax3_config.tex.macros``); for the LaTeX/PDF build this extension turns the same
  definitions into ``\\newcommand`` lines of the preamble.
* Colab opens the portable edition. sphinx-book-theme points every launch button at the page's
  notebook in ``notebooks/``; Colab cannot render MyST, so its button is pointed at the same
  chapter in ``portable/`` (written by ``scripts/portable_edition.py``). Binder, which opens
  JupyterLab, keeps ``notebooks/``.
* No solution markers on the site. The ``# BEGIN SOLUTION`` / ``# END SOLUTION`` lines of a
  solution cell tell the student edition what to replace by a stub; the pages show the code
  without them.
* Accessible pages (tests/test_site_axe.py). Korean text is marked ``lang="ko"`` so that a
  screen reader reads it with a Korean voice; sphinx-exercise's ``exercise-content`` and
  ``solution-content`` ids, repeated in every exercise, are dropped; and a few attributes of the
  theme and extensions that mislead assistive technology are corrected in the written pages
  (see :data:`PAGE_FIXES`).
* Icons: the pages load the 17 icons of Font Awesome they use (80 KB), not the theme's 2,000
  (1.5 MB, a third of a first visit): :func:`icon_subset`.
* Search results in plain text. Sphinx's search quotes a page's text, where a formula is still
  TeX; each formula carries a plain reading (``data-text="√d_k"``, :func:`plain_math`) that
  ``book/_static/book.js`` quotes instead, from the article alone.
* The PDF numbers as the website does. In LaTeX every document of the table of contents is a
  chapter, so "Setup" would be chapter 1 and the RNN chapter chapter 2; here the documents the
  website leaves unnumbered (setup, the appendix), and the parts, are unnumbered chapters of the
  PDF too; the introduction's pages have no running footer ("CONTENTS" otherwise). Every table
  gets column widths from its content, so that its cells wrap instead of running off the page
  or standing one word a line.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from docutils import nodes
from pybtex.database import Entry, Person
from pybtex.plugin import register_plugin
from pybtex.richtext import Text
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from sphinx.application import Sphinx
from sphinx.config import Config


def _surname(person: Person) -> str:
    """The surname as the in-text citations print it: von part included, LaTeX decoded."""
    latex = " ".join(person.prelast_names + person.last_names)
    return Text.from_latex(latex).render_as("text")


def author_year_label(entry: Entry) -> str:
    """``Elman, 1990``, ``Press and Wolf, 2017`` or ``Vaswani et al., 2017`` for one entry."""
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_surname(p) for p in persons]
    if not names:
        who = Text.from_latex(entry.fields.get("key", entry.key)).render_as("text")
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabelStyle(BaseLabelStyle):
    """pybtex label style: the author-year text of each entry (see :func:`author_year_label`)."""

    def format_labels(self, sorted_entries: Iterable[Entry]) -> Iterator[str]:
        for entry in sorted_entries:
            yield author_year_label(entry)


class AuthorYearStyle(UnsrtStyle):
    """pybtex formatting style: entries as in ``unsrt``, sorted and labelled by author and year."""

    default_label_style = "author_year"
    default_sorting_style = "author_year_title"


def latex_macros(macros: dict[str, str | list]) -> str:
    r"""MathJax macro definitions as LaTeX: ``{"dk": "d_k"}`` -> ``\newcommand{\dk}{d_k}``.

    A value is either the replacement text or ``[text, number_of_arguments]`` as in MathJax.
    """
    lines = []
    for name, value in macros.items():
        text, nargs = (value, 0) if isinstance(value, str) else (value[0], int(value[1]))
        arguments = f"[{nargs}]" if nargs else ""
        lines.append(f"\\newcommand{{\\{name}}}{arguments}{{{text}}}")
    return "\n".join(lines) + "\n"


def _macros(config: Config) -> dict[str, str | list]:
    """The book's MathJax macros (``mathjax3_config.tex.macros`` in ``_config.yml``)."""
    return (config.mathjax3_config or {}).get("tex", {}).get("macros", {})


def _add_latex_macros(app: Sphinx, config: Config) -> None:
    macros = _macros(config)
    if macros:
        config.latex_elements = dict(config.latex_elements or {})
        config.latex_elements["preamble"] = (
            config.latex_elements.get("preamble", "") + latex_macros(macros))


SOURCE_DIR = "notebooks"
PORTABLE_DIR = "portable"
SOLUTION_MARKER = re.compile(r"^[ \t]*# (BEGIN|END) SOLUTION[ \t]*$")


def without_solution_markers(code: str) -> str:
    """The code of a cell without its ``# BEGIN SOLUTION`` / ``# END SOLUTION`` lines."""
    return "\n".join(line for line in code.split("\n") if not SOLUTION_MARKER.match(line))


def _strip_solution_markers(app: Sphinx, doctree: nodes.document) -> None:
    """Remove the marker lines from the code of every notebook cell (not from prose examples)."""
    for container in doctree.findall(nodes.container):
        if container.get("nb_element") != "cell_code_source":
            continue
        for block in container.findall(nodes.literal_block):
            code = block.astext()
            stripped = without_solution_markers(code)
            if stripped != code:
                block.children = [nodes.Text(stripped)]
                block.rawsource = stripped


# --- Accessible pages ----------------------------------------------------------------------

HANGUL = "\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff"
# A run of Korean words: Hangul, with the spaces, digits and punctuation between two of them.
HANGUL_RUN = re.compile(f"[{HANGUL}]+(?:[\\s,.!?·:;~\\d-]+[{HANGUL}]+)*")
_TAG = re.compile(r"""<!--.*?-->|<![^>]*>|<(/?)([A-Za-z][\w:-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>""",
                  flags=re.DOTALL)
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
             "source", "track", "wbr"}
# Raw text: their content is not HTML. Skipped: not text a reader sees as prose (SVG, MathML),
# or TeX that MathJax typesets (the ``math`` class), where a tag would split the formula.
RAW_TEXT_TAGS = {"script", "style", "textarea", "title"}
SKIPPED_TAGS = RAW_TEXT_TAGS | {"head", "svg", "math", "template"}
_SKIPPED_ATTRIBUTES = re.compile(r"""\bclass=["'][^"']*\bmath\b|\blang=["']""")


def _wrap_korean(text: str) -> str:
    return HANGUL_RUN.sub(r'<span lang="ko">\g<0></span>', text)


def mark_korean(page: str) -> str:
    """Every run of Hangul in the text of ``<body>`` wrapped in ``<span lang="ko">``.

    Text only: not attributes, scripts, styles, SVG, or TeX that MathJax reads; nothing inside an
    element that already names a language (so a second pass changes nothing).
    """
    out: list[str] = []
    stack = [("#document", True)]  # (tag, skipped); the text of <body> is not skipped
    position = 0
    while match := _TAG.search(page, position):
        text = page[position:match.start()]
        out += [text if stack[-1][1] else _wrap_korean(text), match.group(0)]
        position = match.end()
        closing, name, attributes = match.group(1), (match.group(2) or "").lower(), match.group(3)
        if not name:  # a comment or a doctype
            continue
        if closing:
            names = [tag for tag, _ in stack]
            if name in names[1:]:
                del stack[len(names) - 1 - names[::-1].index(name):]
        elif name in RAW_TEXT_TAGS:
            end = re.compile(rf"</{name}\s*>", flags=re.IGNORECASE).search(page, position)
            stop = end.start() if end else len(page)
            out.append(page[position:stop])
            position = stop
        elif name not in VOID_TAGS and not attributes.rstrip().endswith("/"):
            skipped = name != "body" and (stack[-1][1] or name in SKIPPED_TAGS
                                          or bool(_SKIPPED_ATTRIBUTES.search(attributes)))
            stack.append((name, skipped))
    text = page[position:]
    return "".join(out) + (text if stack[-1][1] else _wrap_korean(text))


# Attributes of the theme and extensions that assistive technology reads wrongly, as
# (pattern, replacement); the comment names the axe-core rule each one breaks.
PAGE_FIXES = (
    # label-content-name-mismatch: the search field reads "Search Ctrl+K" but is named "Search";
    # without aria-label its name is what it shows.
    (re.compile(r'(<button[^>]*\bsearch-button-field\b[^>]*?)\s+aria-label="[^"]*"'), r"\1"),
    # label-content-name-mismatch: the colour-mode button is named "Color mode" but its icons
    # carry titles ("Light", "Dark", "System Settings") that count as its visible text.
    (re.compile(r'(<i class="theme-switch\b[^>]*?)\s+title="[^"]*"'), r"\1"),
    # label-content-name-mismatch: a folded cell's toggle reads "Show code cell content" but is
    # named "Toggle hidden content".
    (re.compile(r'(<summary[^>]*?)\s+aria-label="Toggle hidden content"'), r"\1"),
    # aria-deprecated-role, aria-required-children: the bibliography's entries are items of its
    # role="list" (doc-biblioentry is deprecated in DPUB-ARIA 1.1).
    (re.compile(r'role="doc-biblioentry"'), 'role="listitem"'),
)


_INLINE_SCRIPT = re.compile(r"\s*<script>(.*?)</script>", flags=re.DOTALL)


def without_repeated_scripts(page: str) -> str:
    """``page`` with each inline ``<script>`` kept once. sphinx-thebe and sphinx-togglebutton are
    set up twice (by jupyter-book and by the theme), and the second ``const THEBE_JS_URL`` is a
    SyntaxError on every page."""
    seen: set[str] = set()

    def once(match: re.Match) -> str:
        if match.group(1) in seen:
            return ""
        seen.add(match.group(1))
        return match.group(0)

    return _INLINE_SCRIPT.sub(once, page)


# --- Search results ----------------------------------------------------------------------------
# Sphinx's search quotes a page's text around the word found, where a formula is still its TeX:
# "Why divide by \(\sqrt{d_k}\)?". Each formula carries a plain reading, data-text="√d_k", that
# book.js puts in its place.

TEX_SYMBOLS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "eta": "η", "theta": "θ", "lambda": "λ", "mu": "μ", "pi": "π", "rho": "ρ", "sigma": "σ",
    "tau": "τ", "phi": "φ", "omega": "ω", "Delta": "Δ", "Theta": "Θ", "Omega": "Ω",
    "sum": "Σ", "prod": "Π", "sqrt": "√", "cdot": "·", "times": "×", "dots": "…", "ldots": "…",
    "cdots": "…", "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "ne": "≠", "neq": "≠",
    "approx": "≈", "in": "∈", "to": "→", "rightarrow": "→", "mapsto": "↦", "leftarrow": "←",
    "infty": "∞", "odot": "⊙", "oplus": "⊕", "mid": "|", "ell": "ℓ", "partial": "∂",
    "nabla": "∇", "top": "ᵀ", "quad": " ", "qquad": " ", "lbrace": "{", "rbrace": "}",
    "sim": "∼", "propto": "∝", "vert": "|", "lvert": "|", "rvert": "|", "Vert": "‖",
    "lVert": "‖", "rVert": "‖", "mathcal": "", "mathbf": "", "mathrm": "", "boldsymbol": "",
}
_DELIMITERS = (("\\(", "\\)"), ("\\[", "\\]"), ("$$", "$$"), ("$", "$"))
_ENVIRONMENT = re.compile(r"\\(?:begin|end)\s*\{[^{}]*\}")
_STYLE = re.compile(r"\\(?:mathrm|text|textrm|textit|textbf|mathbf|mathit|mathsf|mathtt|mathcal"
                    r"|boldsymbol|operatorname|mathbb)\s*\{([^{}]*)\}")
_FRACTION = re.compile(r"\\[dt]?frac\s*(?:\{([^{}]*)\}|(\w))\s*(?:\{([^{}]*)\}|(\w))")
_ROOT = re.compile(r"\\sqrt\s*\{([^{}]*)\}")
_SCRIPT = re.compile(r"([_^])\s*\{([^{}]*)\}")
_COMMAND = re.compile(r"\\([A-Za-z]+)")
_SIZING = re.compile(r"\\(?:left|right|[bB]igg?[lr]?)\b\s*")
_ATOM = re.compile(r"[\w.′√]+|\\[A-Za-z]+")
_ESCAPED = re.compile(r"\\([{}$%&#_|])")  # \{ is a brace of the formula, { a TeX group
_MATH_ELEMENT = re.compile(
    r'(<(span|div) class="math notranslate nohighlight")>(.*?)(</\2>)', flags=re.DOTALL)


def _group(text: str) -> str:
    """``text`` as one term: bare if it is one symbol or word or already in parentheses, else
    in parentheses."""
    text = text.strip()
    depth = 0
    for position, character in enumerate(text):
        depth += {"(": 1, ")": -1}.get(character, 0)
        if depth == 0 and position < len(text) - 1:
            break
    else:
        if text.startswith("(") and text.endswith(")"):
            return text
    return text if _ATOM.fullmatch(text) else f"({text})"


def plain_math(tex: str, macros: dict[str, str | list] | None = None) -> str:
    r"""A formula's TeX as plain text, for search results: ``\(\sqrt{\dk}\)`` -> ``√d_k``,
    ``\frac{e^{s_i}}{\sum_j e^{s_j}}`` -> ``(e^s_i)/(Σ_j e^s_j)``.

    ``macros`` are the book's MathJax macros (``_config.yml``), expanded first.
    """
    text = _ESCAPED.sub(lambda m: chr(0xE000 + ord(m[1])), tex.strip())  # private use: kept
    for opening, closing in _DELIMITERS:
        if text.startswith(opening) and text.endswith(closing) and len(text) > 2 * len(opening):
            text = text[len(opening):-len(closing)]
            break
    replacements = {name: value for name, value in (macros or {}).items() if isinstance(value, str)}
    for _ in range(3):  # a macro may use another
        text = _COMMAND.sub(lambda m: replacements.get(m[1], m[0]), text)
    text = _SIZING.sub("", _ENVIRONMENT.sub(" ", text))
    text = re.sub(r"(\\[A-Za-z]+)(?=\\)", r"\1 ", text)  # \quad\text{i.e.}: not "quadi.e."
    text = re.sub(r"\\mathbb\s*\{R\}", "ℝ", text)
    while True:  # the innermost braces first
        new = _STYLE.sub(r"\1", text)
        new = _FRACTION.sub(lambda m: f"{_group(m[1] or m[2])}/{_group(m[3] or m[4])}", new)
        new = _ROOT.sub(lambda m: "√" + _group(m[1]), new)
        new = _SCRIPT.sub(lambda m: m[1] + _group(m[2]), new)
        if new == text:
            break
        text = new
    text = re.sub(r"\\[,;:! ]", " ", text.replace("\\\\", " ; ").replace("&", ""))
    text = re.sub(r"([,;.:])\s*;", r"\1", text)  # a line break after punctuation
    text = _COMMAND.sub(lambda m: TEX_SYMBOLS.get(m[1], m[1]), text)
    text = re.sub("[{}]", "", text).replace(chr(0xE000 + ord("|")), "‖")  # \| is a norm
    text = re.sub("[\ue000-\ue07f]", lambda m: chr(ord(m[0]) - 0xE000), text)
    text = re.sub(r"(?<=[^\s(])([ΣΠ])", r" \1", text)  # 1/d Σ_i, not 1/dΣ_i
    return " ".join(text.replace("^ᵀ", "ᵀ").split())


def with_plain_math(page: str, macros: dict[str, str | list] | None = None) -> str:
    """``page`` with each formula's plain reading (:func:`plain_math`) in its ``data-text``."""
    def annotate(match: re.Match) -> str:
        plain = html.escape(plain_math(html.unescape(match[3]), macros))
        return f'{match[1]} data-text="{plain}">{match[3]}{match[4]}'

    return _MATH_ELEMENT.sub(annotate, page)


def accessible_page(page: str, macros: dict[str, str | list] | None = None) -> str:
    """A written page with :data:`PAGE_FIXES` applied, each inline script once, its Korean
    text marked and its formulas' plain readings for search results."""
    for pattern, replacement in PAGE_FIXES:
        page = pattern.sub(replacement, page)
    return with_plain_math(mark_korean(without_repeated_scripts(page)), macros)


REPEATED_IDS = {"exercise-content", "solution-content"}


def _drop_repeated_ids(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """sphinx-exercise gives every exercise's and solution's body the same id: drop it."""
    for section in doctree.findall(nodes.section):
        if REPEATED_IDS & set(section["ids"]):
            section["ids"] = [i for i in section["ids"] if i not in REPEATED_IDS]


# --- Icons -------------------------------------------------------------------------------------
# The theme loads Font Awesome's script with all its 2,000 icons (1.5 MB, a third of a first
# visit); the pages use about 20. They load a copy with those alone.

ICON_SCRIPT = "_static/scripts/fontawesome.js"
ICON_SUBSET = "_static/scripts/book-icons.js"  # beside the licence file its first line names
# One icon of the script: name:[width,height,[aliases],"unicode","path" or ["path","path"]].
_ICON = re.compile(r'(?:"([a-z0-9-]+)"|([a-z0-9_$]+)):\[\d+,\d+,\[([^\]]*)\],"[0-9a-f]+",'
                   r'(?:"[^"]*"|\["[^"]*","[^"]*"\])\]')
_ICON_CLASS = re.compile(r"\bfa-([a-z0-9-]+)")
_ICON_TAG = re.compile(r'scripts/fontawesome\.js(?:\?[^"]*)?"')


def icon_subset(script: str, used: set[str]) -> str:
    """Font Awesome's script with only the icons named (or aliased) in ``used``, its code and
    licence line unchanged; without the source map comment (the map is of the whole script)."""
    pieces: list[str] = []
    position = 0
    for match in _ICON.finditer(script):
        pieces.append(script[position:match.start()])
        position = match.end()
        if {match[1] or match[2], *re.findall(r'"([a-z0-9-]+)"', match[3])} & used:
            pieces.append(match[0])
        elif script.startswith(",", position):  # the comma after it goes with it
            position += 1
        else:  # the last of its object: the comma before it goes
            last = next((i for i in range(len(pieces) - 1, -1, -1) if pieces[i]), None)
            if last is not None and pieces[last].endswith(","):
                pieces[last] = pieces[last][:-1]
    pieces.append(script[position:])
    return re.sub(r"\n?//# sourceMappingURL=\S+\s*$", "\n", "".join(pieces))


def _write_icon_subset(out: Path) -> str | None:
    """Write :data:`ICON_SUBSET` with the icons the pages and scripts of ``out`` name; its URL
    suffix (a hash of its content, so that a browser never keeps an old one), or ``None`` if the
    theme has no such script."""
    source = out / ICON_SCRIPT
    if not source.is_file():
        return None
    used: set[str] = set()
    for path in [*out.rglob("*.html"), *(out / "_static").rglob("*.js")]:
        if path not in (source, out / ICON_SUBSET):
            used.update(_ICON_CLASS.findall(path.read_text(encoding="utf-8", errors="replace")))
    subset = icon_subset(source.read_text(encoding="utf-8"), used)
    (out / ICON_SUBSET).write_text(subset, encoding="utf-8")
    return hashlib.sha256(subset.encode()).hexdigest()[:12]


def _rewrite_pages(app: Sphinx, exception: Exception | None) -> None:
    """After an HTML build: every page of the book through :func:`accessible_page`, loading
    the icons it uses (:func:`icon_subset`) instead of all of Font Awesome's."""
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    macros = _macros(app.config)
    digest = _write_icon_subset(out)
    for path in out.rglob("*.html"):
        if path.relative_to(out).parts[0] in ("_static", "_sources"):
            continue
        page = path.read_text(encoding="utf-8")
        fixed = accessible_page(page, macros)
        if digest is not None:
            fixed = _ICON_TAG.sub(f'scripts/{Path(ICON_SUBSET).name}?v={digest}"', fixed)
        if fixed != page:
            path.write_text(fixed, encoding="utf-8")


# --- The PDF ---------------------------------------------------------------------------------

_PART = re.compile(r"^\\part\{", flags=re.MULTILINE)
_CHAPTER = re.compile(r"^\\chapter\{[^\n]*\n[^\n]*?\\detokenize\{([^}]*)::doc\}",
                      flags=re.MULTILINE)
UNNUMBERED = "\\setcounter{secnumdepth}{-2}\n"
NUMBERED = "\\setcounter{secnumdepth}{\\booknumbereddepth}\n"


def number_as_the_website(tex: str, numbered: set[str]) -> str:
    """The LaTeX of the book with unnumbered parts, and chapters numbered only if their
    document (``notebooks/01_rnn_limits``) is in ``numbered``.

    ``\\booknumbereddepth`` (defined in the preamble) holds LaTeX's numbering depth.
    """
    tex = _PART.sub(lambda m: UNNUMBERED + m.group(0), tex)
    return _CHAPTER.sub(
        lambda m: (NUMBERED if m.group(1) in numbered else UNNUMBERED) + m.group(0), tex)


UNNUMBERED_FIGURES = ("book/intro:fig-architecture",)  # unnumbered online too (book.css)


def without_figure_numbers(tex: str, labels: tuple[str, ...] = UNNUMBERED_FIGURES) -> str:
    """The LaTeX with the figures ``labels`` captioned in plain text, not numbered: the
    introduction's map would be "Fig. 1", next to chapter 1's "Fig. 1.1"."""
    for label in labels:
        end = tex.find(f"\\label{{\\detokenize{{{label}}}}}")
        start = tex.rfind("\\caption{", 0, end)
        if end < 0 or start < 0 or tex.rfind("\\end{figure}", start, end) >= 0:
            continue
        text = tex[start + len("\\caption{"): end].rstrip()
        if not text.endswith("}"):
            continue
        caption = f"\\par\\smallskip{{\\small {text[:-1]}}}\\phantomsection"
        tex = tex[:start] + caption + tex[end:]
    return tex


def unmarked_opening(tex: str, root: str) -> str:
    """The LaTeX with no running footer on the pages of the document ``root`` (the
    introduction, whose title is the book's: it has no chapter heading, and the footer would
    say "CONTENTS", the last mark before it)."""
    label = f"\\phantomsection\\label{{\\detokenize{{{root}::doc}}}}"
    return tex.replace(label, label + "\\markboth{}{}", 1)


PADDING = 3  # characters: about LaTeX's 2 \tabcolsep (12 pt) at the tables' font size


def column_widths(rows: list[list[str]], longest: int = 40) -> list[int]:
    """Relative widths of a table's columns from the text of its cells (rows of strings).

    A column gets its longest word (which cannot break: code such as an exercise label) plus
    its longest cell, counted up to ``longest`` characters (prose wraps), plus ``PADDING`` for
    the space on either side of its cells (which Sphinx takes out of each column's share: a
    column of "12" would otherwise hold one digit).
    """
    columns = list(zip(*rows, strict=True)) if rows else []
    widths = []
    for cells in columns:
        word = max((len(w) for cell in cells for w in cell.split()), default=0)
        widths.append(max(1, word + min(longest, max(len(cell) for cell in cells))) + PADDING)
    return widths


def _latex_table_widths(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """LaTeX: a table with no widths of its own gets :func:`column_widths`. Sphinx otherwise
    sets a long one in columns that never wrap, and ``tabulary`` gives a column of short cells
    beside a long one a word's width (the introduction's chapter titles, one word a line)."""
    if app.builder.format != "latex":
        return
    for table in doctree.findall(nodes.table):
        if "colwidths-given" in table["classes"]:
            continue
        for tgroup in table.findall(nodes.tgroup):
            rows = [[entry.astext() for entry in row.findall(nodes.entry)]
                    for row in tgroup.findall(nodes.row)]
            specs = [c for c in tgroup.children if isinstance(c, nodes.colspec)]
            if any(len(row) != len(specs) for row in rows):
                continue
            for spec, width in zip(specs, column_widths(rows), strict=True):
                spec["colwidth"] = width
            table["classes"].append("colwidths-given")


def _number_the_pdf(app: Sphinx, exception: Exception | None) -> None:
    """After a LaTeX build: chapters and figures numbered as on the website
    (:func:`number_as_the_website`, :func:`without_figure_numbers`), and the introduction without
    a running footer (:func:`unmarked_opening`)."""
    if exception is not None or app.builder.format != "latex":
        return
    numbered = {doc for doc, numbers in app.env.toc_secnumbers.items() if numbers}
    for path in Path(app.outdir).glob("*.tex"):
        tex = path.read_text(encoding="utf-8")
        if "\\begin{document}" in tex:
            tex = without_figure_numbers(number_as_the_website(tex, numbered))
            tex = unmarked_opening(tex, app.config.root_doc)
            path.write_text(tex, encoding="utf-8")


def portable_colab_url(url: str, pagename: str) -> str:
    """A Colab launch URL for ``notebooks/<name>.ipynb`` -> the same for ``portable/<name>.ipynb``.

    Any other URL (another page, another folder) is returned unchanged.
    """
    prefix = f"{SOURCE_DIR}/"
    source = f"/{pagename}.ipynb"
    if not pagename.startswith(prefix) or not url.endswith(source):
        return url
    return url[: -len(source)] + f"/{PORTABLE_DIR}/{pagename[len(prefix):]}.ipynb"


def _colab_opens_portable(app: Sphinx, pagename: str, templatename: str,
                          context: dict[str, Any], doctree: nodes.document | None) -> None:
    """After sphinx-book-theme's launch buttons: the Colab button opens ``portable/``."""
    portable = Path(app.srcdir) / PORTABLE_DIR / f"{Path(pagename).name}.ipynb"
    if not portable.is_file():
        return
    for group in context.get("header_buttons", []):
        if group.get("label") != "launch-buttons":
            continue
        for button in group.get("buttons", []):
            if button.get("text") == "Colab":
                button["url"] = portable_colab_url(button["url"], pagename)


def setup(app: Sphinx) -> dict:
    register_plugin("pybtex.style.labels", "author_year", AuthorYearLabelStyle)
    register_plugin("pybtex.style.formatting", "author_year", AuthorYearStyle)
    app.connect("config-inited", _add_latex_macros)
    app.connect("doctree-read", _strip_solution_markers)
    app.connect("doctree-resolved", _drop_repeated_ids)
    app.connect("doctree-resolved", _latex_table_widths)
    app.connect("build-finished", _rewrite_pages)
    app.connect("build-finished", _number_the_pdf)
    # sphinx-book-theme adds the launch buttons at priority 501; rewrite them after it.
    app.connect("html-page-context", _colab_opens_portable, priority=502)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
