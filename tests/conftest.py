"""What the tests share: the ``slow`` marker and a small model.

``pytest -m "not slow"`` runs the package's unit tests and doctests; plain ``pytest`` runs
everything. Slow are the notebooks run by nbval, the site build, the student edition, the command
lines run as subprocesses and the benchmark scripts: the hook below marks them by where they
live, so that a new test in one of those files is slow without anyone remembering to say so.
(tests/test_notebooks.py only reads the committed notebooks, in a second, and stays fast.)
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from transformer_book import Transformer, TransformerConfig, set_seed

# The author and teacher tools in scripts/ are modules the tests import by name (they import
# one another the same way).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

# The unit tests compute on small tensors, where a second thread costs more than it gives, and on
# a machine busy with other work many times more (a training test: 6 s on one thread, 80 s on
# two). Notebooks and command lines run in their own processes and keep their own settings.
torch.set_num_threads(1)

SLOW_TEST_FILES = {
    "test_nbval_strict.py",  # nbval on a notebook, in a subprocess
    "test_site.py",  # the book's HTML build
    "test_site_alt.py",  # the book's HTML build: images' alt texts
    "test_student_edition.py",  # the student edition and the chapters' exercises
    "test_cli.py",  # python -m transformer_book.train / .translate, as subprocesses
    "test_benchmarks.py",  # the benchmark scripts, end to end
    "test_race_tuning.py",  # chapter 9's tuning runs, a smoke run as a subprocess
    "test_site_layout.py",  # the built book in headless Chromium
    "test_site_axe.py",  # every page of the built book checked by axe-core in Chromium
    "test_pdf.py",  # the PDF built with TeX Live
    "test_launch.py",  # the setup cell in a real kernel, the setup script as a subprocess
    "test_nbgrader_course.py",  # an nbgrader course, graded: notebooks in kernels
    "test_distributed.py",  # torchrun, two training processes
    "test_jupyterlab.py",  # JupyterLab servers and the chapters in headless Chromium
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    slow = pytest.mark.slow
    for item in items:
        if item.path.suffix == ".ipynb" or item.path.name in SLOW_TEST_FILES:
            item.add_marker(slow)


@pytest.fixture
def tiny_model() -> Callable[..., Transformer]:
    """``tiny_model(vocab_size, seed=0, **overrides)``: a freshly seeded ``tiny`` Transformer."""

    def make(vocab_size: int, seed: int = 0, **overrides) -> Transformer:
        set_seed(seed)
        return Transformer(TransformerConfig.tiny(vocab_size, **overrides))

    return make


SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
"""Byte-identical copies of the real corpora (Tatoeba, Multi30k), next to the checkout, so that
no test needs the network."""


@pytest.fixture
def shared_data() -> Path:
    """``SHARED_DATA``, or a failed test that says it is missing."""
    if not (SHARED_DATA / "SHA256SUMS").is_file():
        pytest.fail(f"the shared data folder {SHARED_DATA} is missing: these tests need its "
                    f"copies of Tatoeba and Multi30k (see its README)")
    return SHARED_DATA


@pytest.fixture
def seeded_cache(tmp_path: Path, shared_data: Path) -> Path:
    """A cache folder holding Multi30k's .gz files, as a first download would leave it."""
    from transformer_book.text.datasets import MULTI30K_SHA256

    folder = tmp_path / "cache" / "multi30k"
    folder.mkdir(parents=True)
    for name in MULTI30K_SHA256:
        shutil.copyfile(shared_data / "multi30k" / name, folder / name)
    return tmp_path / "cache"
