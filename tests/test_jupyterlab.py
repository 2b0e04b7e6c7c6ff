"""The chapters as a reader sees them in JupyterLab, opened in headless Chromium.

Two editions, each in a JupyterLab of its own, started on a free port with a token and stopped
by its own process id: the chapters (notebooks/) with jupyterlab-myst, as the README's
`jupyter lab notebooks/` opens them, and the portable edition (portable/) in a JupyterLab
without jupyterlab-myst, as Colab, VS Code or a bare JupyterHub would show it. Each page must
show no raw role, directive fence or dollar sign in its rendered text, no maths error, every
figure loaded, and the chapter's first and last headings. Screenshots of chapters 2 and 8 at
1400 px are kept in $TEST_ARTIFACTS (default _build/test-artifacts). The notebooks are opened
from a copy, so that nothing JupyterLab writes can reach the committed files.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import sync_playwright
from site_pages import chromium

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", ROOT / "_build" / "test-artifacts"))
CHAPTERS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SCREENSHOTS = {"02", "08"}
RAW = re.compile(r"\{(?:term|doc|cite|numref|ref|eq|exercise|solution|solution-start|"
                 r"solution-end|figure|admonition|glossary|math)\}|:::|```|\$")
# References that JupyterLab cannot resolve inside one notebook: citations (the bibliography is a
# page of the online book) and the introduction's figure; they show as their label.
UNRESOLVED_ALLOWED = {"Citation Not Found": None, "Cross Reference Not Found": {"fig-architecture"}}
# JupyterLab settings for a quiet, complete page: every cell in the page (no windowing), no news.
SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
}

PROBE = """() => {
  const cells = [...document.querySelectorAll('.jp-Notebook .jp-MarkdownCell')];
  const text = [], headings = [], unresolved = [], mathErrors = [];
  for (const cell of cells) {
    const shown = cell.querySelector('.jp-Cell-inputArea .jp-RenderedMarkdown, '
      + '.jp-Cell-inputArea .myst');
    if (!shown) continue;
    const copy = shown.cloneNode(true);
    copy.querySelectorAll('.katex, mjx-container, code, pre, svg').forEach(e => e.remove());
    text.push(copy.textContent);
    shown.querySelectorAll('h1, h2, h3, h4').forEach(h =>
      headings.push(h.textContent.replace(/\\u00b6/g, '').trim()));
    shown.querySelectorAll('.text-yellow-600[title]').forEach(e => {
      const title = e.getAttribute('title');
      (/Not Found/.test(title) ? unresolved : mathErrors).push([title, e.textContent.trim()]);
    });
    // MathJax: a TeX error, or an undefined macro (shown as its name, in red)
    shown.querySelectorAll('mjx-merror, .katex-error, mtext[mathcolor="red"]').forEach(e =>
      mathErrors.push(['maths error', e.textContent.trim()]));
  }
  const images = [...document.querySelectorAll('.jp-Notebook .jp-OutputArea-output img')];
  return {markdown: cells.length, rendered: text.length, text: text.join('\\n'), headings,
          unresolved, mathErrors,
          images: images.length,
          broken: images.filter(i => !(i.complete && i.naturalWidth > 0)).length};
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def jupyterlab(root: Path, myst: bool):
    """A JupyterLab serving ``root``; yields ``(base_url, token)``; stopped by its process id."""
    home = root / ".lab"
    settings = home / "settings"
    for name, value in SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value), encoding="utf-8")
    config = home / "config"
    (config / "labconfig").mkdir(parents=True)
    disabled = {} if myst else {"jupyterlab-myst": True}
    (config / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": disabled}), encoding="utf-8")
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(settings),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
           "JUPYTER_CONFIG_DIR": str(config), "JUPYTER_RUNTIME_DIR": str(home / "runtime")}
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
               f"--port={port}", "--ip=127.0.0.1", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={root}", "--ServerApp.open_browser=False"]
    log = (home / "server.log").open("w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("JupyterLab did not start:\n"
                                       + (home / "server.log").read_text()[-3000:]) from None
                time.sleep(0.5)
        yield base, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _headings(path: Path) -> tuple[str, str]:
    """The first and the last heading of a chapter's markdown that a reader sees."""
    found = []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "markdown" and "remove-cell" not in cell.metadata.get("tags", []):
            found += re.findall(r"^#{1,4} +(.+?)\s*$", cell.source, flags=re.M)
    plain = [re.sub(r"\$([^$]*)\$", r"\1", re.sub(r"`([^`]*)`", r"\1", h)) for h in found]
    return plain[0], plain[-1]


def _read_pages(root: Path, folder: str, myst: bool, names=CHAPTERS) -> dict[str, dict]:
    """Open the notebooks ``names`` of ``root/folder`` in JupyterLab; the probe's reports."""
    reports = {}
    with jupyterlab(root, myst) as (base, token), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for name in names:
            page.goto(f"{base}/lab/tree/{folder}/{name}?token={token}&reset")
            page.wait_for_selector(".jp-Notebook .jp-MarkdownCell", timeout=120_000)
            report, previous = {}, None
            for _ in range(120):  # until every markdown cell has rendered (maths typeset,
                time.sleep(0.5)   # figures loaded) and two looks half a second apart agree
                report = page.evaluate(PROBE)
                done = report["rendered"] == report["markdown"] and not report["broken"]
                if done and report == previous:
                    break
                previous = report
            reports[name] = report
            if name[:2] in SCREENSHOTS:
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / f"jupyterlab-{folder}-{name[:2]}.png"))
            # one kernel at a time: shut down what opening the chapter started
            for kernel in json.load(urllib.request.urlopen(f"{base}/api/kernels?token={token}")):
                urllib.request.urlopen(urllib.request.Request(
                    f"{base}/api/kernels/{kernel['id']}?token={token}", method="DELETE"))
        browser.close()
    return reports


def _problems(name: str, report: dict, source: Path) -> list[str]:
    problems = []
    if report["rendered"] != report["markdown"]:
        problems.append(f"{report['markdown'] - report['rendered']} markdown cells not rendered")
    for match in sorted(set(RAW.findall(report["text"]))):
        at = report["text"].index(match)
        problems.append(f"raw syntax {match!r}: ...{report['text'][max(0, at - 60):at + 40]!r}")
    problems += [f"maths error: {title}: {text!r}" for title, text in report["mathErrors"]]
    for title, label in report["unresolved"]:
        allowed = UNRESOLVED_ALLOWED.get(title, set())
        if allowed is not None and label not in allowed:
            problems.append(f"{title}: {label!r}")
    if report["broken"] or not report["images"]:
        problems.append(f"{report['broken']} of {report['images']} figures did not load")
    first, last = _headings(source)
    for heading in (first, last):
        if heading not in report["headings"]:
            problems.append(f"heading {heading!r} missing from {report['headings'][:3]}...")
    return [f"{name}: {p}" for p in problems]


def _copy(folder: str, tmp: Path) -> Path:
    source = ROOT / folder
    assert source.is_dir(), f"{folder}/ is missing"
    shutil.copytree(source, tmp / folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return tmp


@pytest.mark.parametrize("folder, myst", [("notebooks", True), ("portable", False)],
                         ids=["chapters-with-myst", "portable-without-myst"])
def test_every_chapter_reads_cleanly_in_jupyterlab(folder, myst, tmp_path):
    root = _copy(folder, tmp_path)
    reports = _read_pages(root, folder, myst)
    assert sorted(reports) == CHAPTERS
    problems = [p for name, report in reports.items()
                for p in _problems(name, report, ROOT / folder / name)]
    assert not problems, "\n".join(problems)
    for chapter in SCREENSHOTS:
        shot = next(ARTIFACTS.glob(f"jupyterlab-{folder}-{chapter}.png"))
        assert shot.stat().st_size > 50_000, f"{shot} is too small to show a chapter"


def test_jupyterlab_myst_is_installed_and_compatible():
    """The README's install gives JupyterLab the MyST renderer, in versions that agree."""
    result = subprocess.run([sys.executable, "-m", "jupyterlab.labextensions", "list"],
                            capture_output=True, text=True, check=False)
    listing = result.stdout + result.stderr
    line = next((x for x in listing.splitlines() if "jupyterlab-myst" in x), "")
    assert "enabled" in line and "OK" in line, listing
    assert "not compatible" not in listing, listing


@pytest.mark.parametrize("myst", [True, False], ids=["with-myst", "without-myst"])
def test_the_probe_finds_raw_syntax_maths_errors_and_missing_figures(myst, tmp_path):
    """The same probe on a notebook with the defects it looks for."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(
                    "# First\n\nA $\\nosuchmacro{x}$ and {numref}`fig-nowhere`."),
                nbformat.v4.new_markdown_cell("## Last")]
    nbformat.write(nb, folder / "probe.ipynb")
    report = _read_pages(tmp_path, "notebooks", myst, ["probe.ipynb"])["probe.ipynb"]
    problems = "\n".join(_problems("probe", report, folder / "probe.ipynb"))
    assert "maths error" in problems and "nosuchmacro" in problems, problems
    assert "0 of 0 figures" in problems, problems
    assert "heading" not in problems, problems
    if myst:
        assert "Cross Reference Not Found: 'fig-nowhere'" in problems, problems
    else:
        assert "raw syntax '{numref}'" in problems, problems
