"""The chapters' committed figures, read from the notebooks (fast: nothing is executed).

- **Text size.** A figure's smallest text, in CSS px where it is shown: on a 400-px phone the
  figure shrinks to the article column (352 px), on a laptop it is shown at its own width (the
  image's ``width`` metadata, at most the 784-px column). The text's size follows from the PNG's
  pixels and resolution (its pHYs chunk) and the smallest font the cell draws with: the book's
  style (``BOOK_RC``: the smallest of the text sizes it sets) or a smaller ``fontsize=`` or
  ``size=`` written in the cell. It must be at least 9 px on the phone and 11 px on the laptop.
- **Package diagrams.** The diagrams drawn by ``transformer_book.figures`` (the architecture
  map, attention blocks, decoding drawings) set their own font sizes, which the cells do not
  show: ``PACKAGE_DIAGRAMS`` draws each with its chapter's arguments, and the smallest text its
  ``Text`` artists draw must meet the same phone and laptop sizes, at the figure's width and at
  the width a notebook's inline backend crops it to; every box label lies inside its box, and
  no text overlaps another text or a box it is not in.
- **Alt text.** Every figure cell gives its image an alt text (``mystnb.image.alt``) that says what
  the figure shows: a sentence, not empty, not a file name.
- **Colours.** The default colour cycle is Okabe-Ito, with a line style per colour, and has no
  red-green pair under a protanopia or deuteranopia simulation.
- **Reading times.** The instructor guide's reading-times table and every chapter's "Time."
  paragraph agree with ``scripts/reading_times.py``.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import struct
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.font_manager import FontProperties  # noqa: E402
from matplotlib.patches import Circle, FancyBboxPatch  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from transformer_book.figures.architecture import architecture  # noqa: E402
from transformer_book.figures.attention_diagrams import (  # noqa: E402
    multi_head_diagram,
    scaled_dot_product_diagram,
)
from transformer_book.figures.decoding_diagrams import (  # noqa: E402
    beam_tree,
    decoding_steps_diagram,
    label_smoothing_diagram,
    teacher_forcing_diagram,
)
from transformer_book.figures.plotting import BOOK_RC, LINE_STYLES, OKABE_ITO  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PHONE_COLUMN, LAPTOP_COLUMN = 352, 784  # CSS px of the article column at 400 and 1400 px
MIN_PX = {"phone": 9.0, "laptop": 11.0}

RELATIVE_SIZES = {"xx-small": 0.579, "x-small": 0.694, "small": 0.833, "medium": 1.0,
                  "large": 1.2, "x-large": 1.44, "xx-large": 1.728}
FONT_ARG = re.compile(r"\b(?:fontsize|size|labelsize)\s*=\s*(\d+(?:\.\d+)?|\"[a-z-]+\")")


def png_size_and_dpi(data: bytes) -> tuple[int, int, float | None]:
    """(width, height, dots per inch) of a PNG; the dpi from its pHYs chunk, None without one."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    width, height = struct.unpack(">II", data[16:24])
    position, dpi = 8, None
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        if kind == b"pHYs":
            x, _, unit = struct.unpack(">IIB", data[position + 8:position + 17])
            dpi = x * 0.0254 if unit == 1 else None
        if kind in (b"pHYs", b"IDAT"):
            break
        position += 12 + length
    return width, height, dpi


def style_font_pt() -> float:
    """The smallest text size that BOOK_RC sets (tick labels, legends, titles...), in points."""
    keys = ("font.size", "xtick.labelsize", "ytick.labelsize", "legend.fontsize",
            "axes.labelsize", "axes.titlesize", "figure.titlesize")
    with matplotlib.rc_context(BOOK_RC):
        return min(FontProperties(size=matplotlib.rcParams[k]).get_size_in_points()
                   for k in keys)


def cell_font_pt(source: str, base: float) -> float:
    """The smallest font size the cell asks for, or ``base`` (the style's)."""
    sizes = [base]
    for value in FONT_ARG.findall(source):
        value = value.strip('"')
        sizes.append(float(value) if value[0].isdigit()
                     else RELATIVE_SIZES.get(value, 1.0) * BOOK_RC["font.size"])
    return min(sizes)


def figures() -> list[dict]:
    """Every figure cell of the chapters: name, notebook, source, alt, PNG and its width shown."""
    found = []
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            mystnb = cell["metadata"].get("mystnb", {})
            if cell["cell_type"] != "code" or "figure" not in mystnb:
                continue
            for output in cell.get("outputs", []):
                if "image/png" in output.get("data", {}):
                    found.append({
                        "name": mystnb["figure"]["name"], "notebook": path.name,
                        "source": "".join(cell["source"]),
                        "alt": mystnb.get("image", {}).get("alt"),
                        "png": base64.b64decode(output["data"]["image/png"]),
                        "width": output.get("metadata", {}).get("image/png", {}).get("width")})
    return found


FIGURES = figures()


def text_px(figure: dict, font_pt: float) -> dict[str, float]:
    """CSS px of ``font_pt``-point text in the figure on a phone and on a laptop."""
    width, _, dpi = png_size_and_dpi(figure["png"])
    if dpi is None:
        raise ValueError(f"{figure['name']} has no pHYs chunk: its resolution is unknown")
    natural = figure["width"] or width  # the width the page gives the image, in CSS px
    return shown_px(font_pt / 72 * dpi * natural / width, natural)


def shown_px(text_at_natural: float, natural: float) -> dict[str, float]:
    """CSS px of text ``text_at_natural`` px high in an image ``natural`` CSS px wide, shrunk to
    the phone's column and to the laptop's."""
    return {"phone": text_at_natural * min(natural, PHONE_COLUMN) / natural,
            "laptop": text_at_natural * min(natural, LAPTOP_COLUMN) / natural}


def test_the_chapters_have_their_figures():
    names = [f["name"] for f in FIGURES]
    assert len(names) >= 50 and len(set(names)) == len(names), names


def test_figure_text_is_large_enough_on_phone_and_laptop():
    base = style_font_pt()
    assert base >= 9, f"the book's style draws {base:g}-pt text"
    small = []
    for figure in FIGURES:
        font_pt = cell_font_pt(figure["source"], base)
        px = text_px(figure, font_pt)
        too_small = [f"{where} {px[where]:.1f} px (needs {MIN_PX[where]:g})"
                     for where in MIN_PX if px[where] < MIN_PX[where]]
        if too_small:
            small.append(f"{figure['name']} ({font_pt:g} pt): " + ", ".join(too_small))
    assert not small, f"{len(small)} figures with text too small:\n" + "\n".join(small)


def test_the_text_size_arithmetic():
    """A 6-inch figure of 11-pt text at 80 dpi, shown at its width (480 px) on a laptop and at
    352 px on a phone: 12.2 px and 9.0 px."""
    png = (b"\x89PNG\r\n\x1a\n" + struct.pack(">I4sII", 13, b"IHDR", 960, 500) + b"\0" * 9
           + struct.pack(">I4sIIB", 9, b"pHYs", round(160 / 0.0254), round(160 / 0.0254), 1))
    px = text_px({"name": "t", "png": png, "width": 480}, 11)
    assert px["laptop"] == pytest.approx(11 / 72 * 80, rel=1e-3)
    assert px["phone"] == pytest.approx(11 / 72 * 80 * 352 / 480, rel=1e-3)
    assert cell_font_pt('ax.legend(fontsize=8); ax.text(0, 0, "a", size="small")', 11) == 8
    assert cell_font_pt('ax.legend(fontsize="small")', 11) == pytest.approx(11 * 0.833)


PACKAGE_DIAGRAMS = {
    **{f"fig-ch{chapter:02d}-map": (architecture, {"highlight": highlight})
       for chapter, highlight in ((2, "attention"), (3, "attention"), (4, "multi_head"),
                                  (5, "positional"), (6, "encoder"), (7, "decoder"),
                                  (8, "training"), (13, "decoder_only"))},
    "fig-ch04-sdpa": (scaled_dot_product_diagram, {}),
    "fig-ch04-multi-head": (multi_head_diagram,
                            {"batch": "B", "seq": "n", "d_model": 512, "heads": 8}),
    "fig-ch07-teacher-forcing": (teacher_forcing_diagram, {"tokens": list("2026-11-24")}),
    "fig-ch08-label-smoothing": (label_smoothing_diagram, {
        "num_classes": 8, "target": 2, "smoothing": 0.1, "labels": list("01234567")}),
    "fig-ch08-decoding-steps": (decoding_steps_diagram, {
        "tokens": list("2026-"), "probabilities": [0.90, 0.90, 0.90, 0.91, 0.90]}),
    "fig-ch08-beam-tree": (beam_tree, {
        "hypotheses": [list("1901"), list("1906"), list("2019")],
        "scores": [[-0.59, -0.70, -1.01, -2.39], [-0.59, -0.70, -1.01, -2.28],
                   [-1.34, -1.44, -2.63, -3.13]]}),
}


def drawn_texts(fig) -> list[Text]:
    """The figure's visible, non-empty texts, without those of hidden axes or of ticks outside
    the axes' limits (matplotlib keeps them but does not draw them)."""
    hidden = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            hidden |= {id(t) for t in axis.findobj(Text)} if not ax.axison else {
                id(t) for tick in axis.get_major_ticks() + axis.get_minor_ticks()
                if not low - 1e-9 <= tick.get_loc() <= high + 1e-9 for t in tick.findobj(Text)}
    found = {id(t): t for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip() and id(t) not in hidden}
    return list(found.values())


def overlap(a, b) -> bool:
    """Whether two display boxes share more than a pixel's sliver."""
    return min(a.x1, b.x1) - max(a.x0, b.x0) > 1 and min(a.y1, b.y1) - max(a.y0, b.y0) > 1


def inside(a, b) -> bool:
    return b.x0 < a.x0 and a.x1 < b.x1 and b.y0 < a.y0 and a.y1 < b.y1


def layout_problems(fig, renderer) -> list[str]:
    """Texts outside the figure, box labels outside their box (the smallest box around the
    text's anchor), texts over a box they are not in, and texts over one another."""
    texts = drawn_texts(fig)
    boxes = [p.get_window_extent(renderer)
             for p in fig.findobj(lambda a: isinstance(a, (FancyBboxPatch, Circle)))
             if p.get_visible() and p.get_edgecolor()[3] > 0]
    extents = [t.get_window_extent(renderer) for t in texts]
    problems = []
    for i, (text, extent) in enumerate(zip(texts, extents, strict=True)):
        name = repr(text.get_text())
        if not inside(extent, fig.bbox):
            problems.append(f"{name} leaves the figure")
        anchor = text.get_transform().transform(text.get_position())
        around = [(round(b.width * b.height), -k) for k, b in enumerate(boxes)
                  if b.contains(*anchor)]  # its box: the smallest, the last drawn of equals
        if around and not inside(extent, boxes[-min(around)[1]]):
            problems.append(f"{name} does not fit its box")
        if any(overlap(extent, b) for b in boxes if not b.contains(*anchor)):
            problems.append(f"{name} overlaps a box it is not in")
        problems += [f"{name} overlaps {other.get_text()!r}"
                     for other, e in zip(texts[i + 1:], extents[i + 1:], strict=True)
                     if overlap(extent, e)]
    return problems


def test_package_diagrams_are_the_chapters_figures():
    cells = {f["name"]: f["source"] for f in FIGURES}
    for name, (draw, _) in PACKAGE_DIAGRAMS.items():
        assert draw.__name__ in cells.get(name, ""), f"{name} is not drawn by {draw.__name__}"


@pytest.mark.parametrize("name", PACKAGE_DIAGRAMS)
def test_package_diagram_text_is_large_enough_and_fits_its_boxes(name):
    """Drawn with the chapter's arguments: the smallest text at the figure's width and at the
    width the inline backend crops it to (its drawing plus 0.1 inch around), on a phone and a
    laptop; then the layout."""
    draw, kwargs = PACKAGE_DIAGRAMS[name]
    fig = draw(**kwargs)
    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    font_pt = min(t.get_fontsize() for t in drawn_texts(fig))
    dpi = BOOK_RC["figure.dpi"]  # CSS px per inch where the page shows a figure at its size
    for width in (fig.get_size_inches()[0], fig.get_tightbbox(renderer).width + 0.2):
        px = shown_px(font_pt / 72 * dpi, width * dpi)
        assert all(px[where] >= MIN_PX[where] for where in MIN_PX), (
            f"{name} ({font_pt:g} pt, {width:.2f} in): "
            + ", ".join(f"{where} {px[where]:.1f} px" for where in MIN_PX))
    assert layout_problems(fig, renderer) == []


def test_the_package_diagram_checks_catch_small_text_and_crowded_boxes():
    from transformer_book.figures._drawing import box, canvas, label

    fig, ax = canvas(None, 6.0, 2.0)
    box(ax, 1.5, 1.0, 1.0, 0.5, "a label far too long for its box")
    label(ax, 4.0, 1.0, "small", size=8)
    label(ax, 4.1, 1.0, "on top")
    assert min(t.get_fontsize() for t in drawn_texts(fig)) == 8
    FigureCanvasAgg(fig).draw()
    problems = layout_problems(fig, fig.canvas.get_renderer())
    assert "'a label far too long for its box' does not fit its box" in problems
    assert "'small' overlaps 'on top'" in problems


FILE_NAME = re.compile(r"^[\w./\\-]+\.(png|svg|jpe?g|gif)$|^[0-9a-f]{16,}", re.I)


def alt_problem(alt: str | None) -> str | None:
    """Why ``alt`` does not describe a figure, or None."""
    if not alt or not alt.strip():
        return "no alt text"
    if FILE_NAME.search(alt.strip()) or "_images/" in alt:
        return f"alt text is a file name: {alt!r}"
    if len(alt.split()) < 6:
        return f"alt text too short to say what the figure shows: {alt!r}"
    return None


def test_every_figure_has_alt_text_that_describes_it():
    problems = [f"{f['notebook']} {f['name']}: {alt_problem(f['alt'])}" for f in FIGURES
                if alt_problem(f["alt"])]
    assert not problems, "\n".join(problems)


def test_alt_problem_catches_file_names_and_empty_alts():
    assert alt_problem("") and alt_problem(None) and alt_problem("fig-1.png")
    assert alt_problem("../_images/" + "ab12" * 16 + ".png")
    assert alt_problem("a plot") and not alt_problem("Line plot of the loss falling over steps.")


# Colour-vision deficiency in linear RGB, severity 1 (Machado, Oliveira and Fernandes, 2009).
CVD = {
    "protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
}
MIN_DISTANCE = 15.0  # CIELAB distance under which two simulated colours look alike


def _linear_rgb(colour: str) -> np.ndarray:
    c = np.array(matplotlib.colors.to_rgb(colour))
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _lab(rgb: np.ndarray) -> np.ndarray:
    to_xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                       [0.0193, 0.1192, 0.9505]])
    xyz = to_xyz @ np.clip(rgb, 0.0, 1.0) / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def red_green_pairs(colours) -> list[tuple[str, str, str]]:
    return [(a, b, name) for a, b in itertools.combinations(colours, 2)
            for name, m in CVD.items()
            if np.linalg.norm(_lab(m @ _linear_rgb(a)) - _lab(m @ _linear_rgb(b))) < MIN_DISTANCE]


def test_the_colour_cycle_is_okabe_ito_with_a_line_style_each():
    cycle = BOOK_RC["axes.prop_cycle"].by_key()
    assert list(cycle["color"]) == list(OKABE_ITO)
    assert list(cycle["linestyle"]) == list(LINE_STYLES)
    assert len({str(s) for s in LINE_STYLES}) == len(OKABE_ITO)


def test_no_red_green_pair_in_the_colour_cycle():
    assert red_green_pairs(OKABE_ITO[:-1]) == []  # black is told apart by its lightness
    assert {(a, b) for a, b, _ in red_green_pairs(["tab:green", "tab:red"])} == {
        ("tab:green", "tab:red")}  # the check finds matplotlib's default pair


def test_reading_times_match_the_guide_and_the_chapters():
    import reading_times  # scripts/, on the path through conftest

    assert reading_times.problems(reading_times.reading_times()) == []


def test_every_chapter_with_figures_draws_them_in_the_book_style():
    """The text sizes above assume BOOK_RC, which importing figures.plotting applies."""
    missing = sorted({f["notebook"] for f in FIGURES}
                     - {p.name for p in NOTEBOOKS
                        if "transformer_book.figures.plotting" in p.read_text(encoding="utf-8")})
    assert not missing, f"chapters drawing figures without the book's style: {missing}"
