"""The built book in headless Chromium at phone (400 px) and desktop (1400 px) widths.

What cannot wrap (code, outputs, display math, tables) scrolls in its own box: nothing may reach
past the page, or past the article column for what is inside the article; and one search field
at most is on show. A box that scrolls shows that it does (a shadow on the edge where more is
hidden), and a table's last column comes into view when it is scrolled. The text in the
chapters' figures is large enough to read: at least 9 CSS px on a phone, 11 on a laptop. The
probe that measures this is site_layout.js. Chromium: the first of
CHROMIUM (a path), `chromium`, `chromium-browser`, `google-chrome` on the PATH (Debian:
`apt-get install chromium`). The book is built once per run unless BOOK_HTML names a built one.
"""

from __future__ import annotations

import html as html_lib
import json
import re
import struct
import subprocess
from pathlib import Path
from urllib.parse import unquote

import pytest
from site_pages import CHAPTERS, TOC_FILES, built_html, chromium

WIDTHS = (400, 1400)
# The smallest text in a figure, in CSS px, where the figure is displayed at each width.
MIN_FIGURE_TEXT_PX = {400: 9.0, 1400: 11.0}


@pytest.fixture(scope="module")
def html() -> Path:
    return built_html()


@pytest.fixture(scope="module")
def reports(html, tmp_path_factory) -> dict[int, dict[str, dict]]:
    """The probe's report of every page at each width in WIDTHS."""
    return {width: _layout(html, TOC_FILES, width, tmp_path_factory.mktemp(f"layout{width}"))
            for width in WIDTHS}


def _layout(html: Path, files: list[str], width: int, workdir: Path) -> dict[str, dict]:
    """Open the pages ``files`` (no ``.html``) at ``width`` CSS pixels; the probe's report.

    Chromium's window cannot be narrower than 500 px, so each page is an iframe of the width
    (its own viewport: the theme's phone layout applies), all in one window.
    """
    frames = "".join(
        f'<iframe data-page="{file}" src="{(html / f"{file}.html").resolve().as_uri()}" '
        f'style="position:absolute;top:0;left:0;width:{width}px;height:800px;border:0"></iframe>'
        for file in files)
    probe = (Path(__file__).with_name("site_layout.js")).read_text(encoding="utf-8")
    harness = workdir / "harness.html"
    harness.write_text(f"<!doctype html><html><body style='margin:0'>{frames}"
                       f"<script>{probe}</script></body></html>", encoding="utf-8")
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--hide-scrollbars", "--allow-file-access-from-files",
               f"--user-data-dir={workdir / 'profile'}", "--virtual-time-budget=60000",
               f"--window-size={max(width, 500) + 20},820", "--dump-dom", harness.as_uri()]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    reports = re.findall(r'<pre id="site-probe">(.*?)</pre>', result.stdout, flags=re.DOTALL)
    assert reports, f"the browser gave no layout report:\n{result.stderr[-3000:]}"
    return json.loads(html_lib.unescape(reports[-1]))


def test_the_layout_probe_finds_what_runs_off_the_page(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "page.html").write_text(
        "<!doctype html><html><body style='margin:0'><article class='bd-article' "
        "style='width:300px'><p>fits</p><pre style='overflow-x:auto'>" + "scrolls " * 80
        + "</pre><div id='wide' style='width:350px'>too wide for the column</div></article>"
        "<div id='page-wide' style='width:700px'>wider than the page</div></body></html>",
        encoding="utf-8")
    found = _layout(site, ["page"], 400, tmp_path)["page"]["found"]
    assert [f["element"] for f in found] == ["div#wide", "div#page-wide"], found
    assert [f["limit"] for f in found] == [300, 400], found


def test_the_layout_probe_counts_search_fields(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "page.html").write_text(
        "<!doctype html><html><body><button class='search-button-field'>Search</button>"
        "<dialog><form class='bd-search'></form></dialog><div style='display:none'>"
        "<button class='search-button-field'></button></div><form class='bd-search'>"
        "<input></form></body></html>", encoding="utf-8")
    assert _layout(site, ["page"], 1400, tmp_path)["page"]["searches"] == 2


@pytest.mark.parametrize("width", WIDTHS)
def test_nothing_is_wider_than_the_page(reports, width):
    """At phone and desktop widths, what cannot wrap scrolls in its own box (code, outputs,
    display math, tables); nothing reaches past the page or the article column; one search
    field at most."""
    report = reports[width]
    assert sorted(report) == sorted(TOC_FILES), sorted(report)
    problems = []
    for file, page in sorted(report.items()):
        if "error" in page:
            problems.append(f"{file}: the probe failed: {page['error']}")
            continue
        assert page["width"] == width, (file, page["width"])
        if page["searches"] > 1:
            problems.append(f"{file}: {page['searches']} search fields on show")
        problems += [f"{file}: {f['element']} reaches {f['right']} px > {f['limit']} px: "
                     f"{f['text']!r}" for f in page["found"]]
    summary = f"at {width} px, {len(problems)} elements too wide:"
    assert not problems, "\n".join([summary, *problems])


def test_what_scrolls_shows_that_it_does(reports):
    """On a phone, a wide equation or table scrolls in its box, and a shadow on its edge shows
    that more is hidden (scrollbars are hidden on touch screens): a background that scrolls with
    the content (attachment local) over shadows that stay (scroll). A table's last column (the
    path lengths of chapter 9's Table 1) comes into view at the end of the scroll."""
    boxes = [(file, box) for file, page in reports[400].items()
             for box in page.get("scrollers", [])]
    assert any("table" in box["element"] for _, box in boxes), "no wide table at 400 px to check"
    assert any(file == "notebooks/09_why_it_won" and "lastColumnInView" in box
               for file, box in boxes), "chapter 9's Table 1 no longer scrolls at 400 px"
    problems = []
    for file, box in boxes:
        where = f"{file}: {box['element']} ({box['text']!r})"
        attachments = {a.strip() for a in box["backgroundAttachment"].split(",")}
        if box["overflowX"] not in ("auto", "scroll"):
            problems.append(f"{where}: does not scroll (overflow-x {box['overflowX']})")
        if "gradient" not in box["backgroundImage"] or not {"local", "scroll"} <= attachments:
            problems.append(f"{where}: no scroll shadow ({box['backgroundAttachment']})")
        if box.get("lastColumnInView") is False:
            problems.append(f"{where}: the last column stays out of view")
    assert not problems, f"{len(problems)} boxes hide their overflow:\n" + "\n".join(problems)


def png_size_and_dpi(path: Path) -> tuple[int, int, float | None]:
    """(width, height, dots per inch) of a PNG; the dpi from its pHYs chunk, None without one."""
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG")
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


def smallest_figure_text_pt() -> float:
    """The smallest text, in points, that the book's figure style (BOOK_RC) draws: tick labels,
    legends, axis labels, titles."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.font_manager import FontProperties

    import transformer_book.plotting  # noqa: F401  (applies BOOK_RC)

    keys = ("font.size", "xtick.labelsize", "ytick.labelsize", "legend.fontsize",
            "axes.labelsize", "axes.titlesize")
    return min(FontProperties(size=plt.rcParams[k]).get_size_in_points() for k in keys)


def figure_text_px(png: Path, displayed_width: float, font_pt: float) -> float:
    """CSS px of ``font_pt``-point text in the figure ``png`` shown ``displayed_width`` px wide."""
    width, _, dpi = png_size_and_dpi(png)
    if dpi is None:
        raise ValueError(f"{png.name} has no pHYs chunk: its resolution is unknown")
    return font_pt / 72 * dpi * displayed_width / width


def figure_text_sizes(html: Path, reports: dict, font_pt: float) -> list[dict]:
    """Every PNG figure of the chapters at each width: its caption and the CSS px of its text."""
    sizes = []
    for width in WIDTHS:
        for chapter in CHAPTERS:
            for figure in reports[width][chapter].get("figures", []):
                png = (html / chapter).parent / unquote(figure["src"])
                if png.suffix.lower() != ".png" or figure["width"] <= 0:
                    continue
                sizes.append({"chapter": chapter, "caption": figure["caption"], "width": width,
                              "shown": round(figure["width"]), "file": png.name,
                              "px": figure_text_px(png, figure["width"], font_pt)})
    return sizes


def test_figure_text_is_large_enough(html, reports):
    """The text in every figure of the chapters (tick labels, legends: the smallest text that the
    book's style draws) is at least 9 CSS px on a 400-px phone and 11 px on a 1400-px laptop,
    from each PNG's pixels and resolution (its pHYs chunk) and its width on the page, measured
    in the browser. The figures must be drawn with BOOK_RC (transformer_book.plotting)."""
    font_pt = smallest_figure_text_pt()
    sizes = figure_text_sizes(html, reports, font_pt)
    assert len({s["file"] for s in sizes}) >= 40, f"only {len(sizes)} figures measured"
    small = [f"{s['chapter']} {s['caption'] or s['file']}: {s['px']:.1f} px at {s['width']} px "
             f"(shown {s['shown']} px wide; needs {MIN_FIGURE_TEXT_PX[s['width']]:g})"
             for s in sizes if s["px"] < MIN_FIGURE_TEXT_PX[s["width"]]]
    assert not small, (f"{len(small)} of {len(sizes)} figure displays with {font_pt:g}-pt text "
                       "too small:\n" + "\n".join(small))
