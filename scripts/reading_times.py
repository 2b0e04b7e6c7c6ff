"""How long each chapter takes to read and run, from its text and its measured run time.

    python scripts/reading_times.py            # print the instructor guide's table
    python scripts/reading_times.py --write    # write it into the guide (between its markers)
    python scripts/reading_times.py --check    # exit 1 if the guide or a chapter disagrees

The measure, stated so that anyone can redo it:

- **prose**: the words of the chapter's Markdown cells that a reader reads on the way through
  (cells removed from the page, and the Exercises section with its solutions, left out), at
  150 words a minute, a careful pace for technical text;
- **code**: the non-empty lines of the code cells shown on the way through (cells removed from the
  page or with hidden input, and the Exercises section, left out), at 10 lines a minute;
- **run**: the chapter's measured wall time top to bottom in a fresh kernel, the *wall s* column of
  the instructor guide's compute table (``scripts/execute_notebooks.py`` prints it).

A chapter's total is rounded to 5 minutes, and its opening's **Time.** paragraph ("About N minutes
to read and run", or "About an hour" for 60) must give that number. Exercises are not included:
the guide's problem set gives their minutes.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "book" / "instructor_guide.md"
WORDS_PER_MINUTE, CODE_LINES_PER_MINUTE = 150, 10
HIDDEN = {"remove-cell", "remove-input", "hide-input"}
BEGIN, END = "<!-- reading-times: begin -->", "<!-- reading-times: end -->"
WORD = re.compile(r"[A-Za-z0-9\uac00-\ud7a3][\w'\-\uac00-\ud7a3]*")
TIME_CLAIM = re.compile(r"\*\*Time\.\*\* About (an hour|(\d+) minutes)")


def chapters() -> list[Path]:
    """The numbered chapters, in order."""
    return sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _words(markdown: str) -> int:
    text = re.sub(r"```.*?```", " ", markdown, flags=re.S)  # code in Markdown counts as code
    text = re.sub(r"\{[a-z-]+\}`([^`<]*)(<[^>]*>)?`", r"\1", text)  # {term}`word <target>` -> word
    text = re.sub(r"\$\$.*?\$\$|\$[^$]*\$", " x ", text, flags=re.S)  # a formula reads as a word
    text = re.sub(r"^:::.*$|^:[a-z-]+:.*$", " ", text, flags=re.M)  # directive fences and options
    return len(WORD.findall(text))


def chapter_counts(path: Path) -> tuple[int, int]:
    """(prose words, code lines) of the chapter's main path, exercises left out."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    words = lines = 0
    in_exercises = False
    for cell in cells:
        source = "".join(cell["source"])
        if HIDDEN & set(cell["metadata"].get("tags", [])):
            continue
        if cell["cell_type"] == "markdown":
            # a level-2 heading anywhere in the cell opens or closes the Exercises section
            for part in re.split(r"^(?=## )", source, flags=re.M):
                if part.startswith("## "):
                    in_exercises = part.startswith("## Exercises")
                if not in_exercises:
                    words += _words(part)
        elif cell["cell_type"] == "code" and not in_exercises:
            lines += sum(1 for line in source.splitlines() if line.strip())
    return words, lines


def run_seconds(guide: str = None) -> dict[str, float]:
    """Chapter number -> measured wall seconds, from the guide's compute table."""
    guide = GUIDE.read_text(encoding="utf-8") if guide is None else guide
    table = guide.split(":name: compute-table", 1)[1].split("```", 1)[0]
    rows = re.findall(r"\* - (\d+)\. [^\n]*\n  - [\d.]+\n  - ([\d.]+)\n", table)
    return {int(n): float(wall) for n, wall in rows}


def reading_times() -> list[dict]:
    seconds = run_seconds()
    rows = []
    for path in chapters():
        number = int(path.name[:2])
        words, lines = chapter_counts(path)
        total = words / WORDS_PER_MINUTE + lines / CODE_LINES_PER_MINUTE + seconds[number] / 60
        rows.append({"chapter": number, "notebook": path.stem, "words": words, "lines": lines,
                     "run_s": seconds[number], "minutes": total,
                     "rounded": max(5, 5 * round(total / 5))})
    return rows


def table(rows: list[dict]) -> str:
    lines = [BEGIN, "| chapter | prose words | code lines | run (s) | minutes | stated |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['chapter']} | {r['words']:,} | {r['lines']} | {r['run_s']:g} | "
                     f"{r['minutes']:.0f} | {r['rounded']} |")
    lines.append(END)
    return "\n".join(lines)


def claimed_minutes(path: Path) -> int | None:
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        match = TIME_CLAIM.search("".join(cell["source"]))
        if match:
            return 60 if match.group(1) == "an hour" else int(match.group(2))
    return None


def problems(rows: list[dict]) -> list[str]:
    found = []
    guide = GUIDE.read_text(encoding="utf-8")
    if table(rows) not in guide:
        found.append(f"{GUIDE.name}: the reading-times table is out of date (run this script)")
    for r in rows:
        path = ROOT / "notebooks" / f"{r['notebook']}.ipynb"
        claim = claimed_minutes(path)
        if claim != r["rounded"]:
            found.append(f"{path.name}: its opening says {claim} minutes, the measure gives "
                         f"{r['rounded']}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 on a disagreement")
    parser.add_argument("--write", action="store_true", help="write the table into the guide")
    args = parser.parse_args(argv)
    rows = reading_times()
    if args.write:
        guide = GUIDE.read_text(encoding="utf-8")
        if BEGIN in guide:
            head, rest = guide.split(BEGIN, 1)
            guide = head + table(rows) + rest.split(END, 1)[1]
        else:
            guide = guide.replace("READING_TABLE", table(rows))
        GUIDE.write_text(guide, encoding="utf-8")
    if args.check:
        found = problems(rows)
        for line in found:
            print(line)
        return 1 if found else 0
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
