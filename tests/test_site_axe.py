"""Accessibility of the built book in headless Chromium: axe-core on every page, keyboard use.

Every page of the table of contents is served over HTTP (as on the web: the favicon request,
relative links) and opened at desktop (1400 px) and phone (400 px) widths once MathJax has typeset
it. axe-core (the copy that the PyPI package axe-playwright-python ships; MPL-2.0) checks it
against WCAG 2.1 A and AA and axe's best practices: no serious or critical violation may remain,
except those named in UPSTREAM below, each with the reason it is left to the theme or extension
that makes it. The same pages also show: no request that fails (a missing favicon), every
formula out of the Tab order, a visible focus ring on the header buttons, Korean text marked
``lang="ko"``.
"""

from __future__ import annotations

import functools
import http.server
import importlib.resources
import json
import threading
from collections import Counter
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, sync_playwright
from site_pages import TOC_FILES, built_html, chromium

WIDTHS = (1400, 400)
BLOCKING = ("serious", "critical")
# Violations that come from the theme or an extension and that this book cannot fix from its own
# CSS, configuration or book_site.py: (rule id, CSS selector of the node) -> why it stays.
UPSTREAM: dict[tuple[str, str], str] = {}


def _axe_source() -> str:
    return (importlib.resources.files("axe_playwright_python") / "axe.min.js").read_text(
        encoding="utf-8")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """The built book over HTTP on a free local port; its base URL."""
    handler = functools.partial(_Quiet, directory=str(built_html()))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def _open(browser, url: str, width: int) -> tuple[Page, list[str]]:
    """The page at ``url`` in a fresh tab ``width`` CSS px wide, typeset; its failed requests."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("requestfailed", lambda r: failed.append(f"failed {r.url}"))
    page.goto(url, wait_until="load")
    page.evaluate("() => Promise.resolve(window.MathJax && MathJax.startup"
                  " && MathJax.startup.promise).then(() => document.fonts.ready)"
                  ".then(() => new Promise(done => setTimeout(done, 200)))")
    return page, failed


# WCAG 2.1 A and AA and axe's best practices; and label-content-name-mismatch (WCAG 2.5.3, which
# axe counts as experimental): a control's name must contain the text it shows.
AXE_OPTIONS = {
    "runOnly": {"type": "tag",
                "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
    "rules": {"label-content-name-mismatch": {"enabled": True}},
    "resultTypes": ["violations"],
}
RUN_AXE = """options => axe.run(document, options).then(r => ({
  violations: r.violations,
  rules: [...r.violations, ...r.passes, ...r.incomplete, ...r.inapplicable].map(x => x.id)}))"""


@pytest.fixture(scope="module")
def scans(browser, site) -> dict[tuple[str, int], dict]:
    """axe's violations and the failed requests of every page at every width."""
    axe = _axe_source()
    results = {}
    for width in WIDTHS:
        for file in TOC_FILES:
            page, failed = _open(browser, f"{site}/{file}.html", width)
            failed = list(failed)  # before axe, which asks for @import-ed CSS at wrong URLs
            page.evaluate(axe)
            # Colours do not change with the width: the phone scan leaves out the slowest rule.
            rules = {**AXE_OPTIONS["rules"], "color-contrast": {"enabled": width == WIDTHS[0]}}
            options = {**AXE_OPTIONS, "rules": rules}
            result = page.evaluate(RUN_AXE, options)
            results[(file, width)] = {**result, "failed": list(failed)}
            page.close()
    return results


def _nodes(scans: dict, impacts: tuple[str, ...]) -> list[tuple[str, int, str, str, str]]:
    """(page, width, rule, impact, selector) of every violating node of the given impacts."""
    return [(file, width, v["id"], v["impact"], json.dumps(node["target"]))
            for (file, width), scan in scans.items() for v in scan["violations"]
            if v["impact"] in impacts for node in v["nodes"]]


def test_axe_finds_no_serious_or_critical_violation(scans):
    """No serious or critical violation of WCAG 2.1 AA or axe's best practices on any page at
    either width, but the upstream ones named in UPSTREAM; the summary of all is printed."""
    assert all("label-content-name-mismatch" in scan["rules"] for scan in scans.values())
    everything = _nodes(scans, ("minor", "moderate", "serious", "critical"))
    counts = Counter((impact, rule) for _, _, rule, impact, _ in everything)
    print("\naxe violations (nodes) by impact and rule, all pages and widths:")
    for (impact, rule), n in sorted(counts.items()):
        print(f"  {impact:9s} {rule:32s} {n}")
    blocking = [n for n in _nodes(scans, BLOCKING) if (n[2], json.loads(n[4])[-1]) not in UPSTREAM]
    lines = [f"{file} @{width}px: {rule} ({impact}) {target}"
             for file, width, rule, impact, target in blocking]
    assert not lines, f"{len(lines)} serious or critical nodes:\n" + "\n".join(lines)


def test_no_request_fails(scans):
    """Every file a page asks for exists (the favicon included: without one, a 404 a page)."""
    failed = sorted({f"{file}: {request}" for (file, _), scan in scans.items()
                     for request in scan["failed"]})
    assert not failed, "\n".join(failed)


FOCUSABLE = """() => [...document.querySelectorAll(
  'a[href], button, input, select, textarea, summary, [tabindex]')].filter(e =>
  e.tabIndex >= 0 && !e.disabled && e.getClientRects().length > 0).map(e =>
  e.closest('mjx-container') ? 'math' : 'other')"""


def test_formulas_are_not_tab_stops(browser, site):
    """MathJax's menu makes every formula a Tab stop (195 of chapter 9's 401 once); without the
    menu (mathjax3_config options.enableMenu false) keyboard users tab through links and
    buttons, and through the display equations too wide for their box only (book.js), which
    they scroll with the arrow keys."""
    page, _ = _open(browser, f"{site}/notebooks/09_why_it_won.html", 1400)
    stops = Counter(page.evaluate(FOCUSABLE))
    formulas = page.evaluate("() => document.querySelectorAll('mjx-container').length")
    page.close()
    assert formulas > 100, formulas
    assert stops["math"] == 0 and 0 < stops["other"] < 300, stops
    page, _ = _open(browser, f"{site}/notebooks/05_positional_encoding.html", 400)
    wide = page.evaluate("""() => [...document.querySelectorAll('mjx-container[display="true"]')]
      .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.tabIndex)""")
    page.close()
    assert wide and all(index == 0 for index in wide), wide


HEADER = ".bd-header, .bd-header-article, .bd-sidebar-primary .sidebar-primary-items__start"
FOCUS_RING = """header => {
  const e = document.activeElement;
  if (!e || !e.closest(header)) return null;
  const s = getComputedStyle(e);
  return {element: e.tagName.toLowerCase() + '.' + [...e.classList].slice(0, 3).join('.'),
          label: e.getAttribute('aria-label') || e.textContent.trim().slice(0, 30),
          ring: (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2)
                || s.boxShadow !== 'none'};
}"""


@pytest.mark.parametrize("width", WIDTHS)
def test_header_buttons_show_where_the_keyboard_is(browser, site, width):
    """Tabbing from the top of a chapter reaches every button of the header, and each shows a
    focus ring (a 2-px outline at least, or a shadow) while it has the focus."""
    page, _ = _open(browser, f"{site}/notebooks/02_queries_keys_values.html", width)
    seen = {}
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUS_RING, HEADER)
        if focused:
            seen[focused["element"] + " " + focused["label"]] = focused["ring"]
    page.close()
    assert len(seen) >= 5, seen
    unringed = [name for name, ring in seen.items() if not ring]
    assert not unringed, f"no focus ring at {width} px on: {unringed}"
