"""The launch buttons' environments: Binder's requirements and the Colab setup cell.

* Binder installs ``binder/requirements.txt``: it must resolve to PyTorch's CPU wheel (checked
  statically: the CPU index and a ``+cpu`` pin), at the versions ``requirements.txt`` pins.
* Colab installs the package from the repository (``pip install git+...``), which brings only
  the dependencies declared in ``pyproject.toml``: they must cover what the package imports.
* ``scripts/setup_cell.py`` is idempotent, and its cell, run in a real kernel outside Colab,
  installs nothing; in a kernel that looks like Colab it asks ``%pip`` for the package.
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder" / "requirements.txt"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
SCRIPT = ROOT / "scripts" / "setup_cell.py"
import setup_cell  # noqa: E402  (scripts/, on the path by conftest.py)


def _requirement_lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def _pins(path: Path) -> dict[str, str]:
    """{name: version} of the ``name==version`` lines that apply to Python 3.11 (Binder's)."""
    pins = {}
    for line in _requirement_lines(path):
        requirement, _, marker = line.partition(";")
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", requirement.strip())
        if match and (not marker or ">=" in marker):  # the `python_version >= "3.11"` variant
            pins[match.group(1).lower()] = match.group(2)
    return pins


# --- Binder ------------------------------------------------------------------------------------

def test_binder_installs_the_cpu_wheel_of_the_pinned_torch():
    lines = _requirement_lines(BINDER)
    indexes = [line.split(None, 1)[1] for line in lines
               if line.startswith(("--extra-index-url", "--index-url"))]
    assert CPU_INDEX in [i.rstrip("/") for i in indexes], f"{BINDER}: no {CPU_INDEX} index"
    torch = [line for line in lines if re.match(r"torch\b", line)]
    assert len(torch) == 1, f"{BINDER}: expected one torch line, found {torch}"
    # A `+cpu` local version exists only on the CPU index, so pip cannot pick a CUDA build.
    version = _pins(ROOT / "requirements.txt")["torch"]
    assert torch[0] == f"torch=={version}+cpu", (
        f"{BINDER}: torch line {torch[0]!r}, expected 'torch=={version}+cpu'")
    assert not any(re.match(r"nvidia-|triton\b", line) for line in lines), lines


def test_binder_pins_agree_with_requirements_and_install_the_package():
    binder, main = _pins(BINDER), _pins(ROOT / "requirements.txt")
    binder.pop("torch")
    differ = {name: (version, main.get(name)) for name, version in binder.items()
              if main.get(name) != version}
    assert not differ, f"binder/requirements.txt vs requirements.txt (binder, main): {differ}"
    assert "." in _requirement_lines(BINDER), "binder/requirements.txt does not install the package"


def test_the_package_declares_every_library_it_imports():
    """``pip install git+<repository>`` (Colab) installs only the declared dependencies."""
    # The installed package's metadata: what pip read from pyproject.toml's dependencies.
    declared = {re.split(r"[<>=!~;\[ ]", d, maxsplit=1)[0].lower().replace("_", "-")
                for d in importlib.metadata.requires("transformer-book") or []
                if "extra ==" not in d}
    distributions = importlib.metadata.packages_distributions()
    missing = {}
    for path in sorted((ROOT / "transformer_book").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top == "transformer_book":
                    continue
                names = {n.lower().replace("_", "-") for n in distributions.get(top, [top])}
                if not names & declared:
                    missing.setdefault(top, set()).add(path.name)
    assert not missing, (
        "pyproject.toml [project] dependencies lack what the package imports (module: files): "
        f"{ {k: sorted(v) for k, v in missing.items()} }")


# --- the setup cell ----------------------------------------------------------------------------

@pytest.fixture()
def chapter(tmp_path) -> Path:
    """A copy of a real chapter, without its setup cell."""
    source = sorted((ROOT / "notebooks").glob("*.ipynb"))[0]
    nb = nbformat.read(source, as_version=4)
    nb.cells = [c for c in nb.cells if setup_cell.TAG not in c.metadata.get("tags", [])]
    copy = tmp_path / source.name
    nbformat.write(nb, copy)
    return copy


def _run_script(*args: Path | str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT, check=False)


def test_setup_cell_script_inserts_the_cell_once(chapter):
    original = nbformat.read(chapter, as_version=4)
    assert _run_script("--check", chapter).returncode == 1
    assert _run_script(chapter).returncode == 0
    once = chapter.read_bytes()
    assert _run_script(chapter).returncode == 0
    assert chapter.read_bytes() == once, "a second run changed the notebook"
    assert _run_script("--check", chapter).returncode == 0
    nb = nbformat.read(chapter, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].source == setup_cell.cell_source()
    assert code[0].metadata["tags"][:2] == ["colab-setup", "remove-cell"]
    assert [c.source for c in nb.cells if c is not code[0]] == [c.source for c in original.cells]
    first_code = next(i for i, c in enumerate(original.cells) if c.cell_type == "code")
    assert nb.cells.index(code[0]) == first_code, "the cell is not just before the first code"


def test_setup_cell_script_updates_an_outdated_cell(chapter):
    nb = nbformat.read(chapter, as_version=4)
    old = nbformat.v4.new_code_cell("!pip install something-else", metadata={"tags": [
        "colab-setup", "hide-input"]})
    nb.cells.insert(len(nb.cells) - 1, old)
    nbformat.write(nb, chapter)
    assert _run_script(chapter).returncode == 0
    cells = nbformat.read(chapter, as_version=4).cells
    tagged = [c for c in cells if "colab-setup" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0].source == setup_cell.cell_source()
    assert tagged[0].metadata["tags"] == ["colab-setup", "remove-cell", "hide-input"]
    assert tagged[0] is next(c for c in cells if c.cell_type == "code")


def test_the_setup_page_shows_the_cell_as_it_is():
    page = (ROOT / "book" / "setup.md").read_text(encoding="utf-8")
    assert f"```python\n{setup_cell.cell_source()}\n```" in page, (
        "book/setup.md does not show the current source of scripts/setup_cell.py's cell")


def test_setup_cell_names_the_repository_of_the_launch_buttons():
    source = setup_cell.cell_source()
    requirement = setup_cell.package_requirement()
    assert requirement.startswith("git+https://github.com/") and f'"{requirement}"' in source


PROBE = """
import importlib.metadata, sys, types
from matplotlib_inline.backend_inline import InlineBackend
def installed():
    return sorted((d.metadata["Name"], d.version) for d in importlib.metadata.distributions())
"""


def test_setup_cell_installs_nothing_outside_colab_and_the_package_in_colab():
    """Run the cell in a real kernel, as a reader would: first as is, then as if in Colab."""
    source = setup_cell.cell_source()
    cells = [
        PROBE + "BEFORE = installed()",
        source,  # outside Colab: the real %pip is never reached
        "assert installed() == BEFORE\n"
        "assert 'google.colab' not in sys.modules\n"
        "assert InlineBackend.instance().figure_formats == {'retina'}, "
        "InlineBackend.instance().figure_formats",
        # as if in Colab: a google.colab module, and a %pip that records instead of installing
        "sys.modules['google.colab'] = types.ModuleType('google.colab')\n"
        "CALLS = []\n"
        "get_ipython().register_magic_function(CALLS.append, 'line', 'pip')",
        source,
        "print(CALLS)",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    outside = nb.cells[1].outputs
    assert outside == [], f"outside Colab the cell printed {outside}"
    calls = ast.literal_eval(nb.cells[-1].outputs[0]["text"])
    assert calls == [f'install --quiet "{setup_cell.package_requirement()}"'], calls
