#!/usr/bin/env python3
"""Build the course book (``make book``) and reveal.js slides (``make slides``), readable offline.

    python tools/book.py                        # dist/book/: Sphinx + MyST-NB site of every chapter
    python tools/book.py --slides chapters/03_backpropagation.ipynb   # dist/slides/03_....slides.html

The book is a Sphinx site (configuration in ``book/conf.py``, theme ``sphinx-book-theme``, notebooks read
by MyST-NB with ``nb_execution_mode = "off"``): it shows the outputs stored in the notebooks and executes
nothing. Chapters are found by the glob ``chapters/[0-9][0-9]_*.ipynb``, so a new chapter appears in the
table of contents, the sidebar, the previous/next links and the search index without editing anything.
Before Sphinx reads them, the chapters are copied to ``build/book-src/chapters/`` with book-only changes:

* the Colab install cell (tag ``colab-install`` or the line ``# Colab only: install the course helpers``)
  gets the MyST-NB tag ``remove-cell``: it stays in the notebook, not in the book;
* exercise solutions (``### BEGIN SOLUTION``) are folded behind a "Show solution" toggle (``hide-input``);
* long text outputs (more than ``LONG_OUTPUT_LINES`` lines) are folded behind a "Show output" toggle;
* the Colab badge (an external image) becomes a bar of text links: open on Colab, download the
  notebook, download the student edition (solutions stubbed by tools/student.py).

Math is rendered by MathJax 3 shipped in the PyPI package ``sphinx-mathjax-offline``; the slides use the
same copy and reveal.js from the PyPI package ``sphinx-revealjs``: nothing is loaded from a CDN.
"""

from __future__ import annotations

import argparse
import html
import importlib.util
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
CONF_DIR = ROOT / "book"
INSTALL_MARK = "# Colab only: install the course helpers"
INSTALL_TAG = "colab-install"
BEGIN_SOLUTION = "### BEGIN SOLUTION"
LONG_OUTPUT_LINES = 30
BADGE_RE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)[ \t]*\n?")
TITLE = "Large Models with Keras & TensorFlow"


def repo_url() -> str:
    """``[project.urls] Repository`` of pyproject.toml (the one setting Colab links come from)."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return data["project"]["urls"]["Repository"].rstrip("/")


def colab_url(filename: str, repo: str | None = None) -> str:
    """The URL that opens ``chapters/<filename>`` of the repository's main branch on Colab."""
    path = (repo or repo_url()).removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{path}/blob/main/chapters/{filename}"


def title_of(nb: nbformat.NotebookNode) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.split("\n"):
                if line.startswith("# "):
                    return line[2:].strip()
    return "Untitled"


def summary_of(nb: nbformat.NotebookNode) -> str:
    """First paragraph of the title cell, without links and markup."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "# " in cell.source:
            paras = [p for p in cell.source.split("\n\n") if p.strip() and not p.lstrip().startswith(("[!", "#"))]
            return re.sub(r"[*`]", "", paras[0]).replace("\n", " ").strip() if paras else ""
    return ""


def is_install_cell(cell: nbformat.NotebookNode) -> bool:
    """The Colab-only install cell: tagged ``colab-install`` or carrying the marker line."""
    return cell.cell_type == "code" and (
        INSTALL_TAG in cell.metadata.get("tags", []) or INSTALL_MARK in cell.source)


def _output_lines(cell: nbformat.NotebookNode) -> int:
    lines = 0
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            lines += out.get("text", "").count("\n")
        elif "text/plain" in out.get("data", {}) and not ({"image/png", "text/html"} & set(out["data"])):
            lines += out["data"]["text/plain"].count("\n") + 1
    return lines


def _tag(cell: nbformat.NotebookNode, tag: str, show: str | None = None, hide: str | None = None) -> None:
    tags = cell.metadata.setdefault("tags", [])
    if tag not in tags:
        tags.append(tag)
    if show:
        cell.metadata.setdefault("mystnb", {}).update(code_prompt_show=show, code_prompt_hide=hide)


def link_bar(filename: str, repo: str | None = None) -> str:
    """The per-chapter links shown under the title (text links: no external image)."""
    esc = html.escape
    return ('<div class="chapter-links">'
            f'<a class="colab" href="{esc(colab_url(filename, repo))}">Open in Colab</a>'
            f'<a class="download" href="../notebooks/{esc(filename)}" download>Download the notebook</a>'
            f'<a class="student" href="../student/{esc(filename)}" download>Student edition (no solutions)</a>'
            '</div>')


def book_notebook(nb: nbformat.NotebookNode, filename: str, repo: str | None = None) -> nbformat.NotebookNode:
    """A copy of chapter ``nb`` prepared for the book (see the module docstring); ``nb`` is not changed."""
    out = nbformat.from_dict(nb)
    bar_done = False
    for cell in out.cells:
        if cell.cell_type == "markdown" and not bar_done and re.search(r"^# ", cell.source, re.M):
            src = BADGE_RE.sub("", cell.source)
            src = re.sub(r"^(# .*)$", lambda m: m.group(1) + "\n\n" + link_bar(filename, repo) + "\n",
                         src, count=1, flags=re.M)
            cell.source, bar_done = src, True
        elif cell.cell_type == "markdown":
            cell.source = BADGE_RE.sub("", cell.source)
        if cell.cell_type != "code":
            continue
        long_output = _output_lines(cell) > LONG_OUTPUT_LINES
        if is_install_cell(cell):
            _tag(cell, "remove-cell")
        elif BEGIN_SOLUTION in cell.source and long_output:
            _tag(cell, "hide-cell", "Show solution and its output", "Hide solution")
        elif BEGIN_SOLUTION in cell.source:
            _tag(cell, "hide-input", "Show solution", "Hide solution")
        elif long_output:
            _tag(cell, "hide-output", f"Show output ({_output_lines(cell)} lines)", "Hide output")
    return out


def index_md(notebooks: list[Path]) -> str:
    """The book's home page: what the course is, a table of chapters and the toctree (built by glob)."""
    rows, entries = [], []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        summary = summary_of(nb).replace("|", "\\|")
        rows.append(f"| {path.stem[:2]} | [{title_of(nb).split(' ', 2)[-1]}](chapters/{path.name}) | {summary} |")
        entries.append(f"chapters/{path.stem}")
    nl = "\n"
    return f"""# {TITLE}

A course in numbered Jupyter chapters. Every page shows the outputs of a real full-mode run of its
notebook; nothing is executed to build this book. Each chapter opens on Colab or downloads as a notebook
from the links under its title; the *student edition* has the exercise solutions removed. In the book,
solutions are folded behind a **Show solution** toggle.

| # | Chapter | What it teaches |
|---|---------|-----------------|
{nl.join(rows)}

```{{toctree}}
:maxdepth: 2
:caption: Chapters

{nl.join(entries)}
```
"""


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def stage(src: Path, notebooks: list[Path]) -> None:
    """Write the Sphinx source tree: ``index.md`` and the prepared chapters (unchanged files untouched,
    so Sphinx rebuilds only what changed)."""
    chapters = src / "chapters"
    chapters.mkdir(parents=True, exist_ok=True)
    repo = repo_url()
    wanted = {p.name for p in notebooks}
    for old in chapters.glob("*.ipynb"):
        if old.name not in wanted:
            old.unlink()
    for path in notebooks:
        nb = book_notebook(nbformat.read(path, as_version=4), path.name, repo)
        _write_if_changed(chapters / path.name, nbformat.writes(nb) + "\n")
    _write_if_changed(src / "index.md", index_md(notebooks))


def _student():
    spec = importlib.util.spec_from_file_location("student", ROOT / "tools" / "student.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def build_book(out: Path, notebooks: list[Path], work: Path | None = None) -> list[Path]:
    """Build the site into ``out`` and return the chapter pages, in order. ``work`` holds the staged
    sources and Sphinx's doctrees (default ``build/book``). Raises ``RuntimeError`` if Sphinx fails."""
    if not notebooks:
        raise ValueError("notebooks: no chapter to build")
    work = work or ROOT / "build" / "book"
    stage(work / "src", notebooks)
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-c", str(CONF_DIR),
           "-d", str(work / "doctrees"), str(work / "src"), str(out)]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"sphinx-build failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
    if run.stderr.strip():
        print(run.stderr.strip(), file=sys.stderr)
    # Pages of chapters that were renamed or removed since the last build (Sphinx leaves them behind).
    wanted = {p.stem for p in notebooks}
    for page in (out / "chapters").glob("*.html"):
        if page.stem not in wanted:
            page.unlink()
    # Downloads: the notebooks as stored, and the student edition (solutions stubbed).
    student = _student()
    for sub in ("notebooks", "student"):
        (out / sub).mkdir(parents=True, exist_ok=True)
        for old in (out / sub).glob("*.ipynb"):
            if old.stem not in wanted:
                old.unlink()
    for path in notebooks:
        shutil.copyfile(path, out / "notebooks" / path.name)
        nb, _ = student.student_notebook(nbformat.read(path, as_version=4))
        nbformat.write(nb, out / "student" / path.name)
    return [out / "chapters" / f"{p.stem}.html" for p in notebooks]


# --- slides --------------------------------------------------------------------------------------

def _package_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"package {module!r} is missing: run `make venv` (requirements.txt pins it)")
    return Path(next(iter(spec.submodule_search_locations)))


def mathjax_dir() -> Path:
    """MathJax 3 as shipped by the PyPI package sphinx-mathjax-offline."""
    return _package_dir("sphinx-mathjax-offline") / "static" / "mathjax"


def reveal_dir() -> Path:
    """reveal.js (dist/ and plugin/) as shipped by the PyPI package sphinx-revealjs."""
    return _package_dir("sphinx_revealjs") / "_static" / "revealjs"


def _copy_assets(out: Path) -> None:
    if not (out / "reveal.js" / "dist" / "reveal.js").exists():
        shutil.copytree(reveal_dir(), out / "reveal.js", dirs_exist_ok=True)
    if not (out / "mathjax" / "tex-chtml.js").exists():
        skip = shutil.ignore_patterns("*-full*.js", "tex-svg*.js", "tex-mml-*.js", "mml-*.js", "svg")
        shutil.copytree(mathjax_dir(), out / "mathjax", ignore=skip, dirs_exist_ok=True)


def build_slides(out: Path, path: Path) -> Path:
    """One slide per '## ' section, sub-slides for the cells under it; the install cell and solutions are
    skipped. reveal.js and MathJax are copied next to the slides, so they open offline."""
    from nbconvert import SlidesExporter

    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        starts = cell.cell_type == "markdown" and (cell.source.startswith("## ") or "\n# " in "\n" + cell.source)
        kind = "slide" if starts or i == 0 else "subslide"
        if is_install_cell(cell) or (cell.cell_type == "code" and BEGIN_SOLUTION in cell.source):
            kind = "skip"
        if cell.cell_type == "markdown":
            cell.source = BADGE_RE.sub(f"[Open in Colab]({colab_url(path.name)})\n", cell.source)
        cell.metadata["slideshow"] = {"slide_type": kind}
    exporter = SlidesExporter(extra_template_basedirs=[str(CONF_DIR / "templates")], template_name="slides_offline",
                              reveal_url_prefix="reveal.js", reveal_theme="white", mathjax_url="mathjax/tex-chtml.js")
    body, _ = exporter.from_notebook_node(nb)
    out.mkdir(parents=True, exist_ok=True)
    _copy_assets(out)
    dest = out / f"{path.stem}.slides.html"
    dest.write_text(body, encoding="utf-8")
    return dest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="*", type=Path)
    ap.add_argument("--slides", action="store_true", help="make reveal.js slides instead of the book")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
    if args.slides:
        for path in notebooks:
            print("wrote", build_slides(args.out or ROOT / "dist" / "slides", path))
        return 0
    out = args.out or ROOT / "dist" / "book"
    start = time.perf_counter()
    pages = build_book(out, notebooks)
    print(f"book: {len(pages)} chapters + index.html in {out} ({time.perf_counter() - start:.0f} s); "
          f"open {out / 'index.html'} or serve it: python -m http.server -d {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
