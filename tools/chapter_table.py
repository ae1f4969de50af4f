#!/usr/bin/env python3
"""Write the chapter table into README.md and the exercise list into docs/TEACHING.md.

Full-mode runtimes come from the stored notebooks themselves (nbclient records when each cell
started and finished during `make execute`). Fast-mode runtimes come from a pytest run:

    COURSE_FAST=1 .venv/bin/pytest -p no:cacheprovider --nbval-lax --durations=0 chapters > /tmp/fast.txt
    python tools/chapter_table.py --fast /tmp/fast.txt
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import datetime
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from book import summary_of, title_of  # noqa: E402


def full_seconds(nb: nbformat.NotebookNode) -> float | None:
    stamps = []
    for c in nb.cells:
        ex = c.get("metadata", {}).get("execution", {})
        for key in ("iopub.execute_input", "shell.execute_reply"):
            if key in ex:
                stamps.append(datetime.fromisoformat(ex[key].replace("Z", "+00:00")))
    return (max(stamps) - min(stamps)).total_seconds() if stamps else None


def fast_seconds(report: Path | None) -> dict[str, float]:
    """Sum pytest's per-cell durations (setup/call/teardown) per chapter file."""
    out: dict[str, float] = {}
    if report is None:
        return out
    for m in re.finditer(r"^([\d.]+)s \w+\s+chapters/(\d\d)_[^:]+::", report.read_text(), re.M):
        out[m.group(2)] = out.get(m.group(2), 0.0) + float(m.group(1))
    return out


def previous_fast(readme: str) -> dict[str, str]:
    """Fast-mode cells of the current README table, kept for chapters the new report does not cover.

    Keyed by the chapter's file name, not its number: when a chapter is renumbered (14 -> 20) or a new
    chapter takes a freed number, an old time must not be attached to a different chapter.
    """
    row = re.compile(r"^\| \d\d \|.*\]\(chapters/([^)]+\.ipynb)\).*\| ([^|]+) \| [^|]+ \|$", re.M)
    return {m.group(1): m.group(2) for m in row.finditer(readme)}


def first_sentence(text: str, limit: int = 170) -> str:
    sentence = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rsplit(" ", 1)[0] + "…"


def fmt(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def exercises(nb: nbformat.NotebookNode) -> list[str]:
    items = []
    for prev, cell in zip(nb.cells, nb.cells[1:], strict=False):
        if cell.cell_type == "code" and "### BEGIN SOLUTION" in cell.source and prev.cell_type == "markdown":
            source = re.sub(r"^#+ .*$", "", prev.source, flags=re.M)  # drop a heading such as "## Exercises"
            text = re.sub(r"\*\*Exercise \d+[^*]*\*\*\s*", "", source).replace("\n", " ").strip()
            items.append(text.split(". ")[0].rstrip(".") + ".")
    return items


def replace_between(text: str, marker: str, body: str) -> str:
    start, end = f"<!-- {marker} -->", f"<!-- /{marker} -->"
    if end in text:
        block = start + "\n" + body + "\n" + end
        return re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _m: block, text, flags=re.S)
    return text.replace(start, start + "\n" + body + "\n" + end)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fast", type=Path, help="pytest --durations=0 output for the chapters")
    args = ap.parse_args(argv)
    fast = fast_seconds(args.fast)
    readme = ROOT / "README.md"
    readme_text = readme.read_text(encoding="utf-8")
    kept = previous_fast(readme_text)
    rows = ["| # | chapter | what it teaches | fast mode | full mode |", "|---|---|---|---|---|"]
    teach = []
    for path in sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        nn, title = path.stem[:2], title_of(nb).split("·", 1)[-1].strip()
        about = first_sentence(summary_of(nb))
        fast_cell = fmt(fast[nn]) if nn in fast else kept.get(path.name, "–").strip()
        rows.append(f"| {nn} | [{title}](chapters/{path.name}) | {about} | {fast_cell} | "
                    f"{fmt(full_seconds(nb))} |")
        ex = exercises(nb)
        teach.append(f"### {nn} · {title}\nCPU time: fast mode {fast_cell}, full mode "
                     f"{fmt(full_seconds(nb))}.\n" + "\n".join(f"{i}. {e}" for i, e in enumerate(ex, 1)))
    readme.write_text(replace_between(readme_text, "CHAPTER TABLE", "\n".join(rows)),
                      encoding="utf-8")
    guide = ROOT / "docs" / "TEACHING.md"
    if guide.exists():
        guide.write_text(replace_between(guide.read_text(encoding="utf-8"), "EXERCISES", "\n\n".join(teach)),
                         encoding="utf-8")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
