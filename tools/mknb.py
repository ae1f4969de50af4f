#!/usr/bin/env python3
"""Build a notebook from a percent-format script (an authoring aid).

    python tools/mknb.py draft.py chapters/03_backprop.ipynb

Cells start with ``# %%`` (code) or ``# %% [markdown]`` (markdown; each line's
leading ``# `` is removed). The generated Colab cell and badge are added by
``tools/nblint.py --fix``; run ``make execute NB=...`` to fill in outputs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat


def parse(text: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    kind, lines = None, []

    def flush() -> None:
        if kind is None:
            return
        body = "\n".join(lines).strip("\n")
        if kind == "markdown":
            body = "\n".join(ln[2:] if ln.startswith("# ") else ln.lstrip("#") for ln in body.split("\n"))
            nb.cells.append(nbformat.v4.new_markdown_cell(body))
        elif body:
            nb.cells.append(nbformat.v4.new_code_cell(body))

    for line in text.split("\n"):
        if line.startswith("# %%"):
            flush()
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        else:
            lines.append(line)
    flush()
    return nb


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    src, dst = Path(sys.argv[1]), Path(sys.argv[2])
    nbformat.write(parse(src.read_text(encoding="utf-8")), dst)
    print(f"wrote {dst}")


if __name__ == "__main__":
    main()
