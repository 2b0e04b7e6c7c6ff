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
"""

from __future__ import annotations

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


def _add_latex_macros(app: Sphinx, config: Config) -> None:
    macros = (config.mathjax3_config or {}).get("tex", {}).get("macros", {})
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
    # sphinx-book-theme adds the launch buttons at priority 501; rewrite them after it.
    app.connect("html-page-context", _colab_opens_portable, priority=502)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
