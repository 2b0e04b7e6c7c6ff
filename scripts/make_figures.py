"""Write the book's static figures, drawn by the package, as SVG files under book/figures/.

    python scripts/make_figures.py              # writes book/figures/*.svg
    python scripts/make_figures.py --out DIR    # writes them into DIR instead

The files are deterministic (a fixed hash salt for the SVG ids, no date in the metadata), so the
tests can check that the committed files are what the current code draws.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

from transformer_book.figures.architecture import architecture

ROOT = Path(__file__).resolve().parents[1]

#: file name -> (title, the function that draws it).
FIGURES: dict[str, tuple[str, Callable[[], Figure]]] = {
    "architecture.svg": ("The Transformer: encoder and decoder", architecture),
}


def write_figures(out: Path) -> list[Path]:
    """Draw every figure of ``FIGURES`` into ``out``; return the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with matplotlib.rc_context({"svg.hashsalt": "transformer-book", "svg.fonttype": "path"}):
        for name, (title, draw) in FIGURES.items():
            path = out / name
            draw().savefig(path, format="svg", metadata={
                "Date": None, "Title": title,
                "Rights": "CC BY 4.0, The Transformer, Step by Step authors"})
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "book" / "figures",
                        help="folder to write into (default: book/figures)")
    args = parser.parse_args(argv)
    for path in write_figures(args.out):
        print(f"wrote {path.name}")


if __name__ == "__main__":
    main()
