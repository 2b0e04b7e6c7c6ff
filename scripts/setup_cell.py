"""Insert or update the setup cell that opens the code of every chapter.

    python scripts/setup_cell.py                      # every chapter
    python scripts/setup_cell.py notebooks/03_softmax_weighting.ipynb
    python scripts/setup_cell.py --check              # exit 1 if a chapter lacks the current cell

The cell (tagged ``colab-setup``) installs this book's package from the repository named in
``_config.yml`` when the notebook runs in Google Colab, and does nothing of the kind elsewhere,
where ``requirements.txt`` has installed it; everywhere it asks for figures at twice the pixel
density (``retina``), crisp on high-density screens. It is tagged ``remove-cell`` as well: the
online book does not show it (the setup page explains it), the notebook a reader opens does.

The script is idempotent: it puts the cell right before the first other code cell, replaces
the source and tags of an existing one, and leaves a chapter that already has it untouched.
A notebook it changes has to be re-executed (``scripts/execute_notebooks.py``) before it is
committed, so that execution counts run 1..n again and the figures are drawn at 2x.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
TAG = "colab-setup"
TAGS = [TAG, "remove-cell"]
CELL_ID = "colab-setup"
TEMPLATE = """\
# In Colab, install this book's package first (elsewhere requirements.txt has installed it).
import sys

if "google.colab" in sys.modules:
    %pip install --quiet "{requirement}"
# Figures at twice the pixel density: crisp on high-density screens.
%config InlineBackend.figure_formats = ["retina"]"""


def package_requirement(config_path: Path = ROOT / "_config.yml") -> str:
    """The pip requirement of the book's package: ``git+<repository url>@<branch>``."""
    repository = yaml.safe_load(config_path.read_text(encoding="utf-8"))["repository"]
    return f"git+{repository['url'].rstrip('/')}@{repository.get('branch', 'main')}"


def cell_source(requirement: str | None = None) -> str:
    """The exact source of the setup cell (repository from ``_config.yml`` by default)."""
    return TEMPLATE.format(requirement=requirement or package_requirement())


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def apply(nb, source: str) -> bool:
    """Make ``nb``'s first code cell the setup cell with ``source``; return True if it changed."""
    before = nbformat.writes(nb)
    existing = [i for i, c in enumerate(nb.cells) if TAG in _tags(c)]
    if existing:
        cell = nb.cells[existing[0]]
        for i in reversed(existing[1:]):  # a duplicate left by hand
            del nb.cells[i]
        nb.cells.remove(cell)
    else:
        cell = nbformat.v4.new_code_cell(source)
        if all(c.get("id") != CELL_ID for c in nb.cells):
            cell["id"] = CELL_ID
    cell.source = source
    cell.metadata["tags"] = TAGS + [t for t in _tags(cell) if t not in TAGS]
    first_code = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), len(nb.cells))
    nb.cells.insert(first_code, cell)
    return nbformat.writes(nb) != before


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="chapters to update (default: notebooks/*.ipynb)")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if a chapter lacks the current setup cell")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    source = cell_source()
    stale = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        if not apply(nb, source):
            print(f"{path}: unchanged")
            continue
        stale.append(path)
        if args.check:
            print(f"{path}: lacks the current setup cell")
        else:
            nbformat.write(nb, path)
            print(f"{path}: setup cell written; re-execute it before committing")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
