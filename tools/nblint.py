#!/usr/bin/env python3
"""Notebook lint for the chapters (run by `make lint` and `make test`).

Each chapter must:
- be valid nbformat 4, named ``NN_some_title.ipynb``;
- start with the generated Colab-install code cell, then a markdown cell with the
  "Open in Colab" badge (URL generated from ``[project.urls] Repository`` in
  pyproject.toml) and a ``# `` title;
- have a "Learning objectives" section;
- carry no error outputs, have every non-empty code cell executed, in order (1, 2, 3, ...);
- have no single output larger than 1 MB.

The install cell is generated per chapter: on Colab it installs course_lib with exactly the pyproject extras
that the chapter's imports need beyond Colab's image (tools/colab/colabenv.py); it is collapsed in JupyterLab
and tagged ``colab-install``.

``--fix`` rewrites the generated install cell (source and metadata) and badge line (nothing else).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
import tomllib
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
MAX_OUTPUT_BYTES = 1_000_000
NAME_RE = re.compile(r"^\d\d_[a-z0-9_]+\.ipynb$")
INSTALL_TITLE = "# @title Colab only: install"  # then what
INSTALL_TAG = "colab-install"  # the book hides cells with this tag
# Collapsed in JupyterLab (jupyter.source_hidden) and shown as a titled form in Colab (cellView).
INSTALL_METADATA = {"cellView": "form", "jupyter": {"source_hidden": True}, "tags": [INSTALL_TAG]}

spec = importlib.util.spec_from_file_location("colabenv", ROOT / "tools" / "colab" / "colabenv.py")
colabenv = sys.modules.setdefault("colabenv", importlib.util.module_from_spec(spec))
if not hasattr(colabenv, "needs"):
    spec.loader.exec_module(colabenv)


def repo_url() -> str:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    url = data["project"]["urls"]["Repository"].rstrip("/")
    if not url.startswith("https://github.com/"):
        raise SystemExit(f"pyproject.toml [project.urls] Repository must be a GitHub URL, got {url!r}")
    return url


def install_cell(url: str, extras: tuple[str, ...] = (), modules: tuple[str, ...] = (),
                 repairs: tuple[str, ...] = ()) -> str:
    """The first cell: on Colab, clone the course and install course_lib plus the pyproject ``extras`` this
    chapter needs beyond Colab's image (``modules`` are what those extras provide; ``repairs`` the
    ``dist==version`` pins that replace a broken Colab package, checked by version)."""
    if extras:
        what = f"course_lib, its datasets and {', '.join([*modules, *repairs])}"
        pip = f'"install", "-q", "-e", repo + "[{",".join(extras)}]"'
    else:
        what = "course_lib and its datasets"
        pip = '"install", "-q", "--no-deps", "-e", repo'
    check = ", ".join(f'"{m}"' for m in ("course_lib", *modules))
    missing = f"any(importlib.util.find_spec(m) is None for m in [{check}])"
    if repairs:
        pins = ", ".join(f'("{d}", "{v}")' for d, v in (r.split("==") for r in repairs))
        missing = f"{missing} \\\n            or any(version(d) != v for d, v in [{pins}])"
    extra_import = "\n    from importlib.metadata import version" if repairs else ""
    return f'''{INSTALL_TITLE} {what}
# Does nothing outside Colab. Never reinstalls TensorFlow, Keras or NumPy: Colab's own are used.
import os
import sys

if "google.colab" in sys.modules:
    import importlib.util
    import subprocess{extra_import}

    repo = os.environ.get("COURSE_COLAB_DIR", "/content/course")  # make test-colab sets it
    if not os.path.isdir(repo):
        subprocess.run(["git", "clone", "-q", "--depth", "1", "{url}", repo],
                       check=True)
    if {missing}:
        subprocess.run([sys.executable, "-m", "pip", {pip}], check=True)
        importlib.invalidate_caches()
    sys.path.insert(0, repo)'''


def is_install_cell(cell) -> bool:
    """The generated install cell, in this version or an older one."""
    return cell.cell_type == "code" and ("@title Colab only" in cell.source or "# Colab only:" in cell.source)


def chapter_install_cell(path: Path, url: str) -> tuple[str, list[str]]:
    """The install cell chapter ``path`` needs, and problems (imports Colab lacks that no extra provides)."""
    needs = colabenv.needs(path)
    problems = [f"imports {u}, which Colab's image lacks and no [project.optional-dependencies] extra in "
                "pyproject.toml provides: add it to an extra (then run tools/nblint.py --fix)"
                for u in needs.uncovered]
    return install_cell(url, needs.extras, needs.modules, needs.repairs), problems


def badge(url: str, filename: str) -> str:
    path = url.removeprefix("https://github.com/")
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"(https://colab.research.google.com/github/{path}/blob/main/chapters/{filename})")


def lint(path: Path, fix: bool = False) -> list[str]:
    problems: list[str] = []
    if not NAME_RE.match(path.name):
        problems.append("file name must look like NN_some_title.ipynb")
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # noqa: BLE001 - report any parse/validation failure
        return [f"not valid nbformat: {err}"]
    url = repo_url()
    cells = nb.cells
    cell0, problems_install = chapter_install_cell(path, url)
    problems += problems_install
    if fix and cells:
        if not is_install_cell(cells[0]):
            cells.insert(0, nbformat.v4.new_code_cell())
        cells[0].source = cell0
        cells[0].metadata = {**{k: v for k, v in cells[0].metadata.items() if k not in INSTALL_METADATA},
                             **INSTALL_METADATA}
        if len(cells) > 1 and cells[1].cell_type == "markdown":
            lines = cells[1].source.split("\n")
            if lines and "colab-badge.svg" in lines[0]:
                lines[0] = badge(url, path.name)
            else:
                lines.insert(0, badge(url, path.name))
            cells[1].source = "\n".join(lines)
        nbformat.write(nb, path)
    if not cells or cells[0].cell_type != "code" or cells[0].source.strip() != cell0.strip():
        problems.append("first cell must be the generated Colab-install cell for this chapter's imports "
                        "(run tools/nblint.py --fix)")
    elif any(cells[0].metadata.get(k) != v for k, v in INSTALL_METADATA.items()):
        problems.append(f"first cell must be collapsed and tagged: metadata {INSTALL_METADATA} "
                        "(run tools/nblint.py --fix)")
    if len(cells) < 2 or cells[1].cell_type != "markdown":
        problems.append("second cell must be markdown with the Colab badge and the title")
    else:
        lines = cells[1].source.split("\n")
        if lines[0].strip() != badge(url, path.name):
            problems.append("second cell must start with this chapter's Colab badge (run tools/nblint.py --fix)")
        if not any(ln.startswith("# ") for ln in lines):
            problems.append("second cell must hold the chapter title as a '# ' heading")
    text = "\n".join(c.source for c in cells if c.cell_type == "markdown").lower()
    if "learning objectives" not in text:
        problems.append("no 'Learning objectives' section")
    expected = 1
    for i, c in enumerate(cells):
        if c.cell_type != "code":
            continue
        for o in c.get("outputs", []):
            if o.get("output_type") == "error":
                problems.append(f"cell {i} has an error output ({o.get('ename')})")
            size = len(json.dumps(o))
            if size > MAX_OUTPUT_BYTES:
                problems.append(f"cell {i} has an output of {size / 1e6:.1f} MB (max 1 MB)")
        if not c.source.strip():
            continue
        if c.execution_count is None:
            problems.append(f"cell {i} was not executed")
        elif c.execution_count != expected:
            problems.append(f"cell {i} has execution count {c.execution_count}, expected {expected} "
                            "(run all cells in order from a fresh kernel)")
            expected = c.execution_count
        expected += 1
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="+", type=Path)
    ap.add_argument("--fix", action="store_true", help="rewrite the generated install cell and badge")
    args = ap.parse_args(argv)
    bad = 0
    for path in args.notebooks:
        for p in lint(path, fix=args.fix):
            print(f"{path}: {p}")
            bad += 1
    print(f"nblint: {len(args.notebooks)} notebooks, {bad} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
