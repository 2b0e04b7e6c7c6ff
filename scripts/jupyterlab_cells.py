"""Write the cells that only JupyterLab's MyST renderer (jupyterlab-myst) reads.

    python scripts/jupyterlab_cells.py            # every chapter
    python scripts/jupyterlab_cells.py --check    # exit 1 naming each chapter that is out of date

The online book takes its maths macros from ``_config.yml`` and its figure captions and numbers
from the figure cells' metadata (``mystnb.figure``). JupyterLab sees neither, so every chapter
carries two kinds of cells for it, both tagged ``remove-cell`` (the online book never parses them)
and both written here from those single sources:

- the first cell, tagged ``book-macros``: MyST front matter with the macros (so that
  ``$\\dmodel$`` renders instead of a maths error) and the chapter's numbering, so that figures
  and exercises read "Figure 4.2" and "Exercise 4.3" as online, and display maths is not
  numbered (the online book numbers no equation);
- after each figure cell, a cell tagged ``book-caption``: a ``{figure}`` block with the figure's
  label and caption, which JupyterLab shows under the image and which ``{numref}`` resolves to.

Markdown cells only: the chapters need no re-execution after this script. ``tests/`` runs
``--check``, so a changed macro, caption or chapter order fails until the script has run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
MACROS_TAG, CAPTION_TAG = "book-macros", "book-caption"
REMOVE = "remove-cell"


def book_macros(config_path: Path = ROOT / "_config.yml") -> dict[str, str]:
    """The maths macros of ``_config.yml`` (``mathjax3_config.tex.macros``), name -> expansion."""
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    macros = config["sphinx"]["config"]["mathjax3_config"]["tex"]["macros"]
    if not all(isinstance(value, str) for value in macros.values()):
        raise ValueError("macros with arguments are not supported by the chapters' front matter")
    return macros


def chapter_number(path: Path) -> int:
    """The chapter's number on the website: its place among the numbered chapters of _toc.yml."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    numbered = [c["file"] for part in toc["parts"] if part.get("numbered")
                for c in part["chapters"]]
    name = f"notebooks/{path.stem}"
    if name not in numbered:
        raise ValueError(f"{path.name} is not a numbered chapter of _toc.yml")
    return numbered.index(name) + 1


def front_matter(macros: dict[str, str], chapter: int) -> str:
    """The first cell: MyST front matter with the macros and the chapter's numbering."""
    data = {
        "math": {f"\\{name}": value for name, value in macros.items()},
        "numbering": {
            "figure": {"enumerator": f"{chapter}.%s"},
            "exercise": {"enumerator": f"{chapter}.%s"},
            "equation": {"enabled": False},
        },
    }
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)
    return f"---\n{text}---"


def caption_cell_source(name: str, caption: str) -> str:
    return f":::{{figure}}\n:label: {name}\n{caption}\n:::"


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _markdown(source: str, tag: str, cell_id: str):
    cell = nbformat.v4.new_markdown_cell(source, id=cell_id)
    cell.metadata["tags"] = [REMOVE, tag]
    return cell


def apply(nb, macros: dict[str, str], chapter: int) -> bool:
    """Rewrite ``nb``'s JupyterLab cells in place; return True if anything changed."""
    before = nbformat.writes(nb)
    kept = [c for c in nb.cells if not {MACROS_TAG, CAPTION_TAG} & set(_tags(c))]
    cells = [_markdown(front_matter(macros, chapter), MACROS_TAG, MACROS_TAG)]
    for cell in kept:
        cells.append(cell)
        figure = cell.get("metadata", {}).get("mystnb", {}).get("figure")
        if cell.cell_type == "code" and figure and figure.get("name"):
            source = caption_cell_source(figure["name"], figure.get("caption", ""))
            cells.append(_markdown(source, CAPTION_TAG, f"caption-{figure['name']}"))
    nb.cells = cells
    return nbformat.writes(nb) != before


def chapters() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if a chapter's JupyterLab cells are stale")
    args = parser.parse_args(argv)
    macros = book_macros()
    stale = []
    for path in chapters():
        nb = nbformat.read(path, as_version=4)
        if apply(nb, macros, chapter_number(path)):
            stale.append(path.name)
            if not args.check:
                nbformat.write(nb, path)
    if args.check and stale:
        print("out of date (run python scripts/jupyterlab_cells.py): " + ", ".join(stale),
              file=sys.stderr)
        return 1
    print(("stale: " if args.check else "updated: ") + (", ".join(stale) or "none"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
