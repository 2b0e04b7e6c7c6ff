"""The built book in headless Chromium at phone (400 px) and desktop (1400 px) widths.

What cannot wrap (code, outputs, display math, tables) scrolls in its own box: nothing may reach
past the page, or past the article column for what is inside the article; and one search field
at most is on show. A box that scrolls shows that it does (a shadow on the edge where more is
hidden), and a table's last column comes into view when it is scrolled. The probe that
measures this is site_layout.js. The search page, served over HTTP as on the web, quotes the
pages' text with formulas in plain text. Chromium: the first of
CHROMIUM (a path), `chromium`, `chromium-browser`, `google-chrome` on the PATH (Debian:
`apt-get install chromium`). The book is built once per run unless BOOK_HTML names a built one.
"""

from __future__ import annotations

import html as html_lib
import json
import re
import subprocess
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from site_pages import TOC_FILES, built_html, chromium

WIDTHS = (400, 1400)


@pytest.fixture(scope="module")
def html() -> Path:
    return built_html()


@pytest.fixture(scope="module")
def reports(html, tmp_path_factory) -> dict[int, dict[str, dict]]:
    """The probe's report of every page at each width in WIDTHS."""
    return {width: _layout(html, TOC_FILES, width, tmp_path_factory.mktemp(f"layout{width}"))
            for width in WIDTHS}


def _dump_dom(workdir: Path, url: str, *options: str) -> list[str]:
    """The command that prints the DOM of ``url`` once loaded, in a headless Chromium of its own
    (profile in ``workdir``)."""
    return [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={workdir / 'profile'}", *options, "--dump-dom", url]


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
    command = _dump_dom(workdir, harness.as_uri(), "--hide-scrollbars",
                        "--allow-file-access-from-files", "--virtual-time-budget=60000",
                        f"--window-size={max(width, 500) + 20},820")
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
    """On a phone and on a laptop, a wide equation, table, code cell or output scrolls in its
    box, and a shadow on its edge shows that more is hidden (scrollbars are hidden on touch
    screens and macOS): a background that scrolls with the content (attachment local) over
    shadows that stay (scroll). A table's last column (the path lengths of chapter 9's Table 1)
    comes into view at the end of the scroll."""
    boxes = [(f"{file} at {width} px", box) for width in WIDTHS
             for file, page in reports[width].items() for box in page.get("scrollers", [])]
    assert any("table" in box["element"] for _, box in boxes), "no wide table at 400 px to check"
    assert any(box["element"].split(" > ")[-1].startswith("pre") for _, box in boxes), \
        "no wide code cell or output to check"
    assert any(file == "notebooks/09_why_it_won at 400 px" and "lastColumnInView" in box
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


def test_every_icon_is_drawn(reports):
    """The pages load a subset of Font Awesome's icons (book_site.icon_subset): every icon of
    the header, the sidebar and the page navigation is drawn, at both widths."""
    problems = []
    for width in WIDTHS:
        for file, page in sorted(reports[width].items()):
            icons = page.get("icons", {})
            if not icons.get("drawn"):
                problems.append(f"{file} at {width} px: no icon drawn ({icons})")
            problems += [f"{file} at {width} px: {c} not drawn" for c in icons.get("missing", [])]
    assert not problems, "\n".join(problems[:40])


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_search_results_quote_the_text_with_formulas_in_plain_text(html, tmp_path):
    """Sphinx's search page fetches each page found and quotes it around the word (it needs
    HTTP: a file:// page cannot fetch). The quotes come from the article, not its menus and
    contents list, and give each formula's plain reading (book.js), not its TeX."""
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 partial(_QuietHandler, directory=str(html)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/search.html?q=divide"
    command = _dump_dom(tmp_path, url, "--virtual-time-budget=30000")
    try:
        page = subprocess.run(command, capture_output=True, text=True, timeout=300,
                              check=False).stdout
    finally:
        server.shutdown()
        server.server_close()
    quotes = [" ".join(html_lib.unescape(re.sub(r"<[^>]+>", "", q)).split())
              for q in re.findall(r'<p class="context">(.*?)</p>', page, flags=re.DOTALL)]
    assert len(quotes) >= 5, page[-3000:]
    tex = [q for q in quotes if re.search(r"\\[(\[)\]]|\\[A-Za-z]+\{?", q)]
    assert not tex, tex
    assert any("divides by √d_k" in q for q in quotes), quotes
    assert any("Σ_j" in q for q in quotes), quotes  # chapter 3's softmax shift
    menus = [q for q in quotes if ".pdf" in q or "2.2. Three roles" in q]
    assert not menus, menus
