#!/usr/bin/env python3
"""Write the student edition of the chapters (``make student`` → ``dist/student/``).

Every solution between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` is replaced by
``# YOUR CODE HERE`` and ``raise NotImplementedError()`` (the nbgrader convention, so the
same markers work with nbgrader), and the outputs of those exercise cells are cleared.
Everything else, outputs included, is kept. The instructor edition is the repository itself.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
_BLOCK = re.compile(r"^([ \t]*)### BEGIN SOLUTION[^\n]*\n.*?^[ \t]*### END SOLUTION[^\n]*$", re.S | re.M)


def strip_solutions(source: str) -> str:
    """Replace each solution block by an indented stub; refuse unbalanced markers."""
    if source.count(BEGIN) != source.count(END):
        raise ValueError(f"source has {source.count(BEGIN)} BEGIN and {source.count(END)} END SOLUTION markers")
    return _BLOCK.sub(lambda m: "\n".join(m.group(1) + line for line in STUB.split("\n")), source)


def student_notebook(nb: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, int]:
    """Return a copy of ``nb`` with solutions stubbed, and how many cells were changed."""
    out = nbformat.from_dict(nb)
    changed = 0
    for cell in out.cells:
        if cell.cell_type == "code" and BEGIN in cell.source:
            cell.source = strip_solutions(cell.source)
            cell.outputs = []
            cell.execution_count = None
            changed += 1
    return out, changed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "dist" / "student")
    ap.add_argument("notebooks", nargs="*", type=Path)
    args = ap.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
    dest = args.out / "chapters"
    if args.out.exists():
        shutil.rmtree(args.out)
    dest.mkdir(parents=True)
    total = 0
    for path in notebooks:
        nb, changed = student_notebook(nbformat.read(path, as_version=4))
        nbformat.write(nb, dest / path.name)
        total += changed
        print(f"{path.name}: {changed} exercise cells stubbed")
    print(f"student edition: {len(notebooks)} chapters, {total} exercises -> {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
