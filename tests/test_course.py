"""What a course relies on: one version number to pin (pyproject.toml, the package, CITATION.cff,
the changelog), and an instructor guide whose plan is true (one course length, labs that fit,
deliverables the book defines)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import yaml

import transformer_book

ROOT = Path(__file__).resolve().parents[1]


def project_version() -> str:
    match = re.search(r'^version = "([^"]+)"$', (ROOT / "pyproject.toml").read_text(), re.MULTILINE)
    assert match, "pyproject.toml has no version"
    return match.group(1)


def test_the_package_has_the_project_version():
    assert re.fullmatch(r"\d+\.\d+\.\d+", project_version())
    assert transformer_book.__version__ == project_version()


def test_citation_file_is_valid_and_has_the_version():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert citation["cff-version"] == "1.2.0"
    assert str(citation["version"]) == project_version()
    for key in ("message", "title", "authors", "date-released"):
        assert citation.get(key), f"CITATION.cff: no {key}"
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert citation["repository-code"] == config["repository"]["url"]
    assert citation["url"] == config["html"]["baseurl"]


def test_the_changelog_describes_this_version():
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    heading = re.search(r"^## (\S+) \((\d{4}-\d{2}-\d{2})\)$", changelog, re.MULTILINE)
    assert heading, "CHANGELOG.md: no '## <version> (<date>)' heading"
    assert heading.groups() == (project_version(), str(citation["date-released"]))


# --- the instructor guide's course plan is true -------------------------------------------------

GUIDE = ROOT / "book" / "instructor_guide.md"
WORDS = {"ten": 10, "eleven": 11, "twelve": 12}


def table(heading: str) -> list[list[str]]:
    """The rows of the first Markdown table after ``heading`` in the guide (header excluded)."""
    lines = GUIDE.read_text(encoding="utf-8").split(heading, 1)[1].splitlines()
    lines = lines[next(i for i, line in enumerate(lines) if line.startswith("|")):]
    rows = [line for line in lines[:next((i for i, line in enumerate(lines)
                                           if not line.startswith("|")), len(lines))]]
    return [[c.strip() for c in row.strip().strip("|").split("|")] for row in rows[2:]]


def plan() -> list[list[str]]:
    return table("## A ten-week course")


def test_one_course_length_everywhere():
    weeks = len(plan())
    word = {n: w for w, n in WORDS.items()}[weeks]
    guide = GUIDE.read_text(encoding="utf-8")
    assert f"## A {word}-week course" in guide and f"a {word}-week plan" in guide
    for page in (ROOT / "README.md", ROOT / "book" / "intro.md", GUIDE):
        found = set(re.findall(r"\b(ten|eleven|twelve)-week\b", page.read_text(encoding="utf-8")))
        assert found <= {word}, f"{page.name} speaks of a {found - {word}}-week course"


def problem_set() -> dict[str, int]:
    """Exercise label -> the minutes the problem set gives it."""
    return {row[1].strip("`"): int(re.match(r"\d+", row[3]).group(0))
            for row in table("## The problem set")}


def test_the_labs_fit_and_the_minutes_add_up():
    minutes = problem_set()
    planned = []
    for week, _, _, lab, homework, _ in plan():
        for column, most in ((lab, 60), (homework, 45)):
            if column == "none":
                continue
            labels = re.findall(r"`(ch\d+-[\w-]+)`", column)
            stated = int(re.search(r"\((\d+)\)$", column).group(1))
            assert stated == sum(minutes[label] for label in labels), f"week {week}: {column}"
            assert stated <= most, f"week {week}: {stated} minutes do not fit in {most}"
            planned += labels
    assert len(planned) == len(set(planned)), "an exercise planned twice"
    chapters = {re.search(r"notebooks/(\d+)_", row[1]).group(1) for row in plan()}
    assert set(planned) == {label for label in minutes if label[2:4] in chapters}, (
        "every exercise of a planned chapter is in its week's lab or homework")


def defined_names() -> set[str]:
    """Every function, class and variable the chapters and the package define."""
    sources = [p.read_text(encoding="utf-8") for p in (ROOT / "transformer_book").rglob("*.py")]
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        sources += [c.source for c in nbformat.read(path, as_version=4).cells
                    if c.cell_type == "code"]
    names = set()
    for source in sources:
        names |= set(re.findall(r"^\s*(?:def|class)\s+(\w+)", source, re.MULTILINE))
        names |= set(re.findall(r"^(\w+)(?:\s*,\s*\w+)*\s*=", source, re.MULTILINE))
    return names


def test_every_deliverable_is_something_the_book_defines():
    names = defined_names()
    for week, *_, hand_in in plan():
        for name in re.findall(r"`(\w+)`", hand_in):
            assert name in names, f"week {week} asks for `{name}`, which no chapter defines"
