"""The portable edition (scripts/portable_edition.py): the chapters in plain Markdown and LaTeX.

The committed portable/ must be what the script writes from notebooks/, with no MyST left; each
role and directive translates as the website renders it; an unknown one is refused by name. The
tests marked slow compare the numbers and links with the built website (site_pages.built_html).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
PORTABLE = sorted((ROOT / "portable").glob("*.ipynb"))

import portable_edition as pe  # noqa: E402  (scripts/, on the path by conftest.py)

BOOK = pe.load_book()
BASE = BOOK.base_url
DOC = "notebooks/04_multi_head_attention"
# Independent of the script's own patterns: what a plain Markdown renderer would show raw.
RAW = re.compile(r"\{(term|cite[:\w]*|numref|ref|doc|eq|abbr)\}`|^\s*(:::|```)\{|^\([\w-]+\)=$"
                 r"|^:(label|class):|\\(dmodel|dff|dk|dv|softmax|Attention|MultiHead|head|Concat"
                 r"|FFN|LayerNorm|PE)(?![A-Za-z])", re.MULTILINE)


def md(source: str, *tags: str):
    cell = nbformat.v4.new_markdown_cell(source)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def code(source: str, *tags: str, **metadata):
    cell = nbformat.v4.new_code_cell(source, metadata=metadata)
    if tags:
        cell.metadata["tags"] = list(tags)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="42\n")]
    return cell


def portable(*cells, doc: str = DOC, **kwargs):
    return pe.portable_notebook(nbformat.v4.new_notebook(cells=list(cells)), doc, BOOK, **kwargs)


def text(source: str, doc: str = DOC) -> str:
    return pe.Chapter.of(BOOK, doc).blocks(source)


# --- the committed edition -----------------------------------------------------------------------

@pytest.mark.slow  # writes the whole edition again (about 14 s)
def test_the_committed_portable_edition_is_up_to_date():
    texts = pe.edition()
    assert sorted(texts) == sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    stale = pe.stale(ROOT / "portable", texts)
    assert not stale, f"portable/ is stale ({stale}): run python scripts/portable_edition.py"


def test_check_mode_names_the_stale_files(tmp_path, capsys):
    assert pe.main(["--out", str(tmp_path)]) == 0
    assert pe.main(["--check", "--out", str(tmp_path)]) == 0
    first = sorted(tmp_path.glob("*.ipynb"))[0]
    first.write_text(first.read_text(encoding="utf-8").replace("# ", "#  ", 1), encoding="utf-8")
    (tmp_path / "99_gone.ipynb").write_text("{}", encoding="utf-8")
    capsys.readouterr()
    assert pe.main(["--check", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert first.name in err and "99_gone.ipynb" in err
    assert pe.main(["--out", str(tmp_path)]) == 0
    assert not (tmp_path / "99_gone.ipynb").exists()
    assert pe.main(["--check", "--out", str(tmp_path)]) == 0


@pytest.mark.parametrize("path", PORTABLE, ids=lambda p: p.stem)
def test_no_myst_left_in_a_portable_chapter(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        tags = cell.metadata.get("tags", [])
        assert "book-macros" not in tags, f"{path.name} cell {i}"
        if cell.cell_type == "markdown":
            # code spans and fenced code may show MyST on purpose; the prose may not
            prose = re.sub(r"```.*?```|`[^`\n]*`", "", cell.source, flags=re.DOTALL)
            raw = [m.group(0) for m in RAW.finditer(prose)]
            assert not raw, f"{path.name} cell {i}: raw MyST {raw}"
            assert "remove-cell" not in tags, f"{path.name} cell {i}"
        else:
            assert "mystnb" not in cell.metadata, f"{path.name} cell {i}: figure metadata left"
            assert "SOLUTION" not in cell.source, f"{path.name} cell {i}: solution marker"
            if "hide-output" in tags:
                assert cell.outputs == [], f"{path.name} cell {i}: output shown"
    assert any("colab-setup" in c.metadata.get("tags", []) for c in nb.cells)


# --- refusals ------------------------------------------------------------------------------------

def test_an_unknown_role_is_refused_naming_chapter_cell_and_role():
    with pytest.raises(pe.PortableError,
                       match=r"04_multi_head_attention\.ipynb, cell 2: unknown role \{abbr\}"):
        portable(md("# T"), code("x = 1"), md("An {abbr}`MHA (multi-head attention)` layer."))


def test_an_unknown_directive_an_option_or_a_target_is_refused():
    with pytest.raises(pe.PortableError, match=r"cell 1: unknown directive \{note\}"):
        portable(md("# T"), md(":::{note}\nSee.\n:::"))
    with pytest.raises(pe.PortableError, match=r"cell 0: \{exercise\} option\(s\) \['hidden'\]"):
        portable(md(":::{exercise}\n:hidden:\nWhy?\n:::"))
    with pytest.raises(pe.PortableError, match=r"cell 0: \{numref\} target 'fig-nowhere'"):
        portable(md("See {numref}`fig-nowhere`."))
    with pytest.raises(pe.PortableError, match=r"\{term\} 'flux capacitor'"):
        portable(md("A {term}`flux capacitor`."))
    with pytest.raises(pe.PortableError, match=r"\{cite\} key\(s\) \['nobody2099'\]"):
        portable(md("As shown {cite}`vaswani2017attention,nobody2099`."))


def test_syntax_left_after_the_translation_is_refused():
    with pytest.raises(pe.PortableError, match=r"cell 0: left after the translation: a role"):
        portable(md("An unclosed {term}`query role."))


def test_prose_beside_a_gated_fence_is_refused():
    with pytest.raises(pe.PortableError, match="stand alone"):
        portable(md("```{solution-start} ch04-params\n```\nThe answer."))
    with pytest.raises(pe.PortableError, match="tagged 'solution'"):
        portable(md("```{solution-start} ch04-params\n```"), code("x = 1"),
                 md("```{solution-end}\n```"))


# --- each role and directive ---------------------------------------------------------------------

def test_term_links_the_word_to_its_glossary_entry():
    glossary = f"{BASE}book/glossary.html"
    assert text("One {term}`attention head`.") == (
        f"One [attention head]({glossary}#term-attention-head).")
    assert text("{term}`causal masks <causal mask>`") == (
        f"[causal masks]({glossary}#term-causal-mask)")
    assert text("{term}`Multi-head attention`") == (
        f"[Multi-head attention]({glossary}#term-multi-head-attention)")
    # a second English name has its own anchor; a Korean name links to its entry's first term
    assert text("{term}`look-ahead mask`").endswith("#term-look-ahead-mask)")
    assert text("{term}`어텐션`") == f"[어텐션]({glossary}#term-attention)"


def test_doc_links_to_the_online_page_with_its_title():
    assert text("{doc}`05_positional_encoding`") == (
        f"[Positional encoding]({BASE}notebooks/05_positional_encoding.html)")
    assert text("{doc}`the glossary <../book/glossary>`") == (
        f"[the glossary]({BASE}book/glossary.html)")


def test_numref_and_ref_give_the_website_numbers():
    assert text("{numref}`fig-ch04-loss`") == "[Figure 4.4](#fig-ch04-loss)"
    assert text("{numref}`fig-ch05-table`") == (
        f"[Figure 5.2]({BASE}notebooks/05_positional_encoding.html#fig-ch05-table)")
    assert text("{numref}`fig-architecture`") == (
        f"[Figure 1]({BASE}book/intro.html#fig-architecture)")
    assert text("{numref}`Fig. %s <fig-ch04-loss>`") == "[Fig. 4.4](#fig-ch04-loss)"
    assert text("{ref}`ch05-causal`") == (
        f"[Exercise 5.1]({BASE}notebooks/05_positional_encoding.html#ch05-causal)")
    assert text("{ref}`that one <ch04-params>`") == "[that one](#ch04-params)"


def test_cite_gives_author_year_linked_to_the_bibliography():
    bib = f"{BASE}book/bibliography.html"
    assert text("{cite}`vaswani2017attention`") == (
        f"([Vaswani et al., 2017]({bib}#cite-vaswani2017attention))")
    assert text("{cite}`bahdanau2015neural,wu2016google`") == (
        f"([Bahdanau et al., 2015]({bib}#cite-bahdanau2015neural); "
        f"[Wu et al., 2016]({bib}#cite-wu2016google))")
    assert text("{cite:t}`elman1990finding`") == f"[Elman (1990)]({bib}#cite-elman1990finding)"


def test_macros_are_expanded_outside_code():
    assert text(r"$\sqrt{\dmodel}$ and $\dff$, not `\dmodel`") == (
        r"$\sqrt{d_{\text{model}}}$ and $d_{\text{ff}}$, not `\dmodel`")
    assert pe.expand_macros(r"\norm{x}+\normal", {"norm": [r"\lVert #1 \rVert", 1]}) == (
        r"\lVert x \rVert+\normal")


def test_roles_inside_code_spans_stay_as_written():
    assert text("Write `{term}` roles, for example {term}`query`.") == (
        f"Write `{{term}}` roles, for example [query]({BASE}book/glossary.html#term-query).")


def test_exercise_and_solution_become_a_numbered_block_and_details():
    out = text(":::{exercise}\n:label: ch04-params\nCount $\\dmodel$.\n:::\n\n"
               ":::{solution} ch04-params\n:class: dropdown\nIt is $4\\dmodel^2$.\n:::\nAfter.")
    assert out == (
        '<a id="ch04-params" name="ch04-params"></a>**Exercise 4.1**\n\nCount $d_{\\text{model}}$.'
        "\n\n<details>\n<summary>Solution to Exercise 4.1</summary>\n\n"
        "It is $4d_{\\text{model}}^2$.\n\n</details>\n\nAfter.")


def test_admonition_becomes_a_blockquote_with_a_bold_title():
    out = text(":::{admonition} Going deeper: $\\dff$\n:class: dropdown\nOne.\n\n$$x$$\n:::")
    assert out == "> **Going deeper: $d_{\\text{ff}}$**\n>\n> One.\n>\n> $$x$$"


def test_gated_solution_figure_and_cell_tags():
    figure = {"figure": {"caption": "Loss with $\\dmodel = 8$, see {cite}`he2016deep`.",
                         "name": "fig-ch04-map"}}
    nb = portable(
        md("\\newcommand{\\dmodel}{d}", "book-macros"),
        md("# Multi-head attention"),
        code("%pip install x", "colab-setup", "remove-cell"),
        code("plot()", mystnb=figure),
        md("author's note", "remove-cell"),
        code("print(42)", "hide-output"),
        md(":::{exercise}\n:label: ch04-params\nWrite f.\n:::"),
        md("```{solution-start} ch04-params\n:class: dropdown\n```"),
        code("def f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION", "solution"),
        md("Why it works."),
        md("```{solution-end}\n```"),
        code("assert f() == 1", "check"))
    sources = [c.source for c in nb.cells]
    assert sources[0] == "# Multi-head attention"  # book-macros dropped
    assert "colab-setup" in nb.cells[1].metadata.tags  # the setup cell stays
    assert "mystnb" not in nb.cells[2].metadata
    assert sources[3] == ('<a id="fig-ch04-map" name="fig-ch04-map"></a>**Figure 4.1.** Loss with '
                          f"$d_{{\\text{{model}}}} = 8$, see ([He et al., 2016]({BASE}book/"
                          "bibliography.html#cite-he2016deep)).")
    assert "author's note" not in sources and nb.cells[4].outputs == []
    assert sources[6].startswith("**Solution to Exercise 4.1.**")
    assert sources[7] == "def f():\n    return 1"
    assert [c.metadata.get("tags") for c in nb.cells[6:9]] == [["solution"]] * 3
    assert sources[9] == "assert f() == 1"
    kept = portable(md("```{solution-start} ch04-params\n```"), nb.cells[7],
                    md("```{solution-end}\n```"), keep_markers=True)
    assert kept.cells[1].source == "def f():\n    return 1"  # already stripped above
    nbformat.validate(nb)


def test_chapters_are_numbered_by_the_numbered_parts():
    toc = {"root": "intro", "parts": [
        {"caption": "a", "chapters": [{"file": "setup"}]},
        {"caption": "b", "numbered": True, "chapters": [{"file": "x"}, {"file": "y"}]},
        {"caption": "c", "numbered": True, "chapters": [{"file": "z"}]}]}
    assert pe.toc_docs(toc) == {"intro": "", "setup": "", "x": "1", "y": "2", "z": "3"}
    assert pe.toc_docs(toc, multitoc=False)["z"] == "1"
    assert BOOK.chapters["notebooks/01_rnn_limits"] == "1"
    assert BOOK.chapters["notebooks/11_real_corpora"] == "11"
    assert BOOK.chapters["notebooks/13_decoder_only"] == "13"


def test_the_site_address_comes_from_the_config():
    assert BASE == "https://transformer-step-by-step.github.io/transformer-book/"
    with pytest.raises(pe.PortableError, match="html.baseurl"):
        pe.site_url({"html": {}})


# --- against the website (slow: the book is built once, or BOOK_HTML names the build) -----------

def _numbers(items, word: str) -> list[str]:
    return [m.group(1) for item in items for m in re.finditer(rf"{word} (\d+(?:\.\d+)*)", item)]


@pytest.fixture(scope="module")
def html() -> Path:
    from site_pages import built_html

    return built_html()


@pytest.mark.slow
@pytest.mark.parametrize("path", PORTABLE, ids=lambda p: p.stem)
def test_figure_and_exercise_numbers_are_the_websites(html, path):
    page = (html / "notebooks" / f"{path.stem}.html").read_text(encoding="utf-8")
    site = re.findall(r'<span class="caption-number">([^<]*)</span>', page)
    nb = nbformat.read(path, as_version=4)
    ours = [m.group(0) for c in nb.cells if c.cell_type == "markdown"
            for m in re.finditer(r"\*\*(Figure|Exercise) \d+(\.\d+)*", c.source)]
    assert _numbers(ours, "Figure") == _numbers(site, "Fig."), path.name
    assert _numbers(ours, "Exercise") == _numbers(site, "Exercise"), path.name
    assert _numbers(ours, "Figure") and _numbers(ours, "Exercise")


@pytest.mark.slow
def test_every_link_to_the_website_exists_there(html):
    from site_pages import Page

    ids: dict[Path, set[str]] = {}
    broken, checked = [], 0
    for path in PORTABLE:
        for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
            if cell.cell_type != "markdown":
                continue
            for url in re.findall(r"\]\((" + re.escape(BASE) + r"[^)\s]*)\)", cell.source):
                parts = urlsplit(url)
                page = html / unquote(parts.path[len(urlsplit(BASE).path):])
                if page not in ids:
                    ids[page] = Page(page).ids if page.is_file() else set()
                if not page.is_file() or (parts.fragment and parts.fragment not in ids[page]):
                    broken.append(f"{path.name} cell {i}: {url}")
                checked += 1
    assert checked > 200 and not broken, "\n".join(broken)
