"""The drawing kit of the book's diagrams: one palette, rounded boxes, arrows, a fresh canvas.

Every diagram is drawn on a ``matplotlib.figure.Figure`` created here (not through ``pyplot``), or
on an axes the caller passes, and every artist gets its colours and font explicitly, so drawing a
diagram never reads or changes ``matplotlib.rcParams`` and never registers a figure with
``pyplot``. Colours are the Okabe-Ito palette, safe for the common forms of colour blindness, as
light fills under black text; what a diagram greys out is drawn in light grey.
"""

from __future__ import annotations

import importlib.util
import io
from collections.abc import Sequence
from pathlib import Path

from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch
from matplotlib.path import Path as MplPath

# Okabe-Ito hues, lightened to fills that keep black text readable.
FILL = {
    "attention": "#F5C96B",  # orange
    "norm": "#F6EF9A",  # yellow
    "feed_forward": "#A7D6F3",  # sky blue
    "embedding": "#E3B3CE",  # reddish purple
    "linear": "#8DB6D8",  # blue
    "softmax": "#F2B48F",  # vermillion
    "positional": "#8FD2B9",  # bluish green
    "scale": "#F6EF9A",
    "mask": "#E3B3CE",
    "token": "#FFFFFF",
}
ACCENT = "#D55E00"  # vermillion: what a figure points at (the chosen token, the best path)
INK = "#1A1A1A"  # lines and text
FRAME = "#F4F4F4"  # the background of a repeated layer
GREY_FILL, GREY_EDGE, GREY_TEXT = "#F2F2F2", "#C4C4C4", "#9A9A9A"

FONT_SIZE = 10


def _font_family() -> list[str]:
    """DejaVu Sans for Latin and math; NanumGothic (bundled by koreanize-matplotlib) for Hangul.

    Registers the Hangul font with matplotlib's font list once; rcParams stay as they are.
    """
    spec = importlib.util.find_spec("koreanize_matplotlib")  # found, not imported: importing
    if spec is None or not spec.submodule_search_locations:  # it would change rcParams
        return ["DejaVu Sans"]  # the diagrams still draw; Hangul would show as boxes
    folder = Path(next(iter(spec.submodule_search_locations))) / "fonts"
    known = {Path(f.fname).name for f in font_manager.fontManager.ttflist}
    for name in ("NanumGothic.ttf", "NanumGothicBold.ttf"):
        if name not in known and (folder / name).is_file():
            font_manager.fontManager.addfont(str(folder / name))
    return ["DejaVu Sans", "NanumGothic"]


FONT_FAMILY = _font_family()


class Diagram(Figure):
    """A ``Figure`` that shows itself in Jupyter as a PNG at twice its resolution (crisp on
    high-density screens), without ``pyplot``. Where pyplot's inline backend is active, its own
    formatter for figures takes precedence, with the notebook's settings."""

    def _repr_png_(self) -> tuple[bytes, dict[str, int]]:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=2 * self.dpi)
        width, height = self.get_size_inches() * self.dpi
        return buffer.getvalue(), {"width": round(width), "height": round(height)}


def canvas(ax: Axes | None, width: float, height: float,
           inch_per_unit: float = 0.55) -> tuple[Figure, Axes]:
    """A ``width`` x ``height`` drawing area in data units, with equal aspect and no axes.

    With ``ax=None`` a new ``Diagram`` is made whose size follows the area
    (``inch_per_unit`` inches per unit); otherwise the drawing goes on ``ax``.
    """
    if ax is None:
        fig = Diagram(figsize=(width * inch_per_unit, height * inch_per_unit))
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    elif not isinstance(ax, Axes):
        raise TypeError(f"ax={ax!r} must be a matplotlib Axes or None")
    ax.set_xlim(0.0, width)
    ax.set_ylim(0.0, height)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return ax.figure, ax


def label(ax: Axes, x: float, y: float, text: str, color: str = INK, size: float = FONT_SIZE,
          **kwargs):
    """Text in the house font, centred on ``(x, y)`` unless ``ha``/``va`` say otherwise.

    Bold text is for fixed Latin labels: NanumGothic has no weight 700, and asking for it logs
    a font warning.
    """
    kwargs.setdefault("ha", "center")
    kwargs.setdefault("va", "center")
    family = FONT_FAMILY[:1] if kwargs.get("fontweight") == "bold" else FONT_FAMILY
    return ax.text(x, y, text, color=color, fontsize=size, fontfamily=family, **kwargs)


def box(ax: Axes, x: float, y: float, w: float, h: float, text: str = "", fill: str = "white",
        on: bool = True, gid: str | None = None, size: float = FONT_SIZE, dashed: bool = False,
        edge: str = INK, text_color: str = INK) -> FancyBboxPatch:
    """A rounded box centred on ``(x, y)`` with centred text; ``on=False`` draws it greyed out."""
    if not on:
        fill, edge, text_color = GREY_FILL, GREY_EDGE, GREY_TEXT
    patch = FancyBboxPatch((x - w / 2, y - h / 2), w, h,
                           boxstyle=f"round,pad=0,rounding_size={min(0.12, h / 3):.3f}",
                           facecolor=fill, edgecolor=edge, linewidth=1.2,
                           linestyle="--" if dashed else "-", zorder=2)
    patch.set_gid(gid)
    ax.add_patch(patch)
    if text:
        label(ax, x, y, text, color=text_color, size=size, zorder=3, linespacing=1.15)
    return patch


def frame(ax: Axes, x0: float, y0: float, x1: float, y1: float, on: bool = True,
          gid: str | None = None) -> FancyBboxPatch:
    """The rounded background of a repeated block (an encoder layer, ``N`` times)."""
    patch = FancyBboxPatch((x0, y0), x1 - x0, y1 - y0, boxstyle="round,pad=0,rounding_size=0.25",
                           facecolor=FRAME if on else "white", edgecolor=INK if on else GREY_EDGE,
                           linewidth=1.2, zorder=0)
    patch.set_gid(gid)
    ax.add_patch(patch)
    return patch


def arrow(ax: Axes, points: Sequence[tuple[float, float]], on: bool = True,
          gid: str | None = None, color: str = INK, head: bool = True,
          width: float = 1.2) -> FancyArrowPatch:
    """A polyline through ``points`` with an arrow head at the last one."""
    patch = FancyArrowPatch(path=MplPath(points), arrowstyle="-|>" if head else "-",
                            mutation_scale=10, color=color if on else GREY_EDGE,
                            linewidth=width, zorder=1)
    patch.set_gid(gid)
    ax.add_patch(patch)
    return patch


def adder(ax: Axes, x: float, y: float, r: float = 0.2, on: bool = True,
          gid: str | None = None) -> Circle:
    """The circled plus of a sum (embedding + positional encoding)."""
    edge = INK if on else GREY_EDGE
    patch = Circle((x, y), r, facecolor="white", edgecolor=edge, linewidth=1.2, zorder=2)
    patch.set_gid(gid)
    ax.add_patch(patch)
    ax.plot([x - r * 0.6, x + r * 0.6], [y, y], color=edge, linewidth=1.2, linestyle="-", zorder=3)
    ax.plot([x, x], [y - r * 0.6, y + r * 0.6], color=edge, linewidth=1.2, linestyle="-", zorder=3)
    return patch
