"""Every image of the built book has alt text that says what it shows: none is empty or a file
name (myst-nb otherwise gives a notebook figure its own path, ``../_images/<hash>.png``, which a
screen reader reads out). The book is built once per run unless BOOK_HTML names a built one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from site_pages import TOC_FILES, Page, built_html

FILE_NAME = re.compile(r"(^|/)[\w.-]+\.(png|svg|jpe?g|gif|webp)$|_images/|^[0-9a-f]{16,}", re.I)


def alt_problem(alt: str) -> str | None:
    alt = alt.strip()
    if not alt:
        return "empty alt"
    if FILE_NAME.search(alt):
        return f"alt is a file name ({alt!r})"
    return None


def test_alt_problem():
    assert alt_problem("") and alt_problem("../_images/" + "a1" * 32 + ".png")
    assert alt_problem("architecture.svg")
    assert alt_problem("Line plot of the loss against the step.") is None


@pytest.fixture(scope="module")
def html() -> Path:
    return built_html()


def test_no_image_alt_is_empty_or_a_file_name(html):
    problems, seen = [], 0
    for file in TOC_FILES:
        page = Page(html / f"{file}.html")
        for image in page.images:
            seen += 1
            problem = alt_problem(image["alt"])
            if problem:
                problems.append(f"{file}: {Path(image['src']).name}: {problem}")
    assert seen >= 45, f"only {seen} images found"
    assert not problems, f"{len(problems)} images without a describing alt:\n" + "\n".join(problems)
