"""Shared matplotlib helpers, so that every figure of the book looks the same.

Importing this module changes matplotlib's global state in two ways, both needed by the book's
figures, and nothing else:

- it registers the NanumGothic fonts that ``koreanize-matplotlib`` ships (without importing that
  package, whose import would also switch the default font and the minus sign), so that Korean
  tokens render instead of empty boxes;
- it applies ``BOOK_RC``: DejaVu Sans first (every Latin and math glyph, the minus sign of
  log-axis ticks included) with NanumGothic as the fallback for Hangul; 11-point text at 80 dots
  per inch, so that a figure up to 6 inches wide, shrunk to a 400-px phone's column, still shows
  its text at 9 CSS px or more (11 px or more on a laptop); and the Okabe-Ito colours, each with a
  line style of its own, as the colour cycle, so that no two lines form a red-green pair.

``matplotlib.rcdefaults()`` undoes the second; the registered fonts stay available.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from cycler import cycler
from matplotlib import font_manager

__all__ = ["BOOK_RC", "LINE_STYLES", "OKABE_ITO", "attention_heatmap", "plot_curves"]

# Okabe & Ito (2008), "Color Universal Design": blue, vermillion, bluish green, reddish purple,
# orange, sky blue, yellow, black. Red-green colour blindness confuses no two of them.
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442",
             "#000000")
# One line style per colour, so that a curve is told apart without its colour too.
LINE_STYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 3)),
               (0, (5, 3, 1, 3)))

BOOK_RC = {
    "font.family": ["DejaVu Sans", "NanumGothic"],
    "font.size": 11,
    "figure.dpi": 80,
    "savefig.dpi": 80,
    "axes.prop_cycle": cycler(color=list(OKABE_ITO)) + cycler(linestyle=list(LINE_STYLES)),
}


def _register_korean_font() -> None:
    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the book's figures need the fonts of koreanize-matplotlib: "
                          "pip install koreanize-matplotlib")
    fonts = Path(next(iter(spec.submodule_search_locations))) / "fonts"
    for path in sorted(fonts.glob("*.ttf")):
        font_manager.fontManager.addfont(str(path))


_register_korean_font()
plt.rcParams.update(BOOK_RC)


def _to_numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=float)


def attention_heatmap(weights, keys: Sequence[str] | None = None,
                      queries: Sequence[str] | None = None, ax=None, title: str | None = None,
                      cmap: str = "viridis", annotate: bool = False, colorbar: bool = True):
    """Draw a ``(q_len, k_len)`` attention matrix: one row per query, one column per key.

    ``keys`` and ``queries`` label the columns and rows with tokens. Returns the axes.
    """
    w = _to_numpy(weights)
    if w.ndim != 2:
        raise ValueError(f"weights must be a (q_len, k_len) matrix, got shape {w.shape}")
    for name, labels, n in (("keys", keys, w.shape[1]), ("queries", queries, w.shape[0])):
        if labels is not None and len(labels) != n:
            raise ValueError(f"{name} has {len(labels)} labels but weights has {n} of them")
    if ax is None:
        _, ax = plt.subplots(figsize=(0.45 * w.shape[1] + 2, 0.45 * w.shape[0] + 1.2))
    image = ax.imshow(w, cmap=cmap, vmin=0.0, vmax=max(1e-9, float(w.max())), aspect="auto")
    if keys is not None:
        ax.set_xticks(range(len(keys)), labels=list(keys), rotation=90)
    if queries is not None:
        ax.set_yticks(range(len(queries)), labels=list(queries))
    if annotate:
        for i in range(w.shape[0]):
            for j in range(w.shape[1]):
                ax.text(j, i, f"{w[i, j]:.2f}", ha="center", va="center",
                        color="white" if w[i, j] < 0.6 * w.max() else "black")
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query (attending)")
    if title:
        ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    return ax


def plot_curves(curves: dict[str, Sequence[float]], x: Sequence[float] | None = None, ax=None,
                xlabel: str = "step", ylabel: str = "value", title: str | None = None,
                logx: bool = False, logy: bool = False, colors: dict[str, str] | None = None):
    """Plot named curves (``{"train": [...], "validation": [...]}``) on one labelled axes.

    ``colors`` fixes a curve's colour by name (an Okabe-Ito colour brings its line style), so
    that a model keeps its colour across a chapter's figures.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for label, ys in curves.items():
        ys = _to_numpy(ys)
        xs = np.arange(1, len(ys) + 1) if x is None else _to_numpy(x)
        style = {}
        if colors and label in colors:
            style["color"] = colors[label]
            if colors[label] in OKABE_ITO:
                style["linestyle"] = LINE_STYLES[OKABE_ITO.index(colors[label])]
        ax.plot(xs, ys, marker="o" if len(ys) <= 20 else None, label=label, **style)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if len(curves) > 1:
        ax.legend()
    ax.grid(True, alpha=0.3)
    return ax
