#!/usr/bin/env python3
"""Render the chapters, with their stored outputs, to a static HTML book (``make book``)
or reveal.js slides (``make slides``), using nbconvert.

    python tools/book.py                       # dist/book/index.html + one page per chapter
    python tools/book.py --slides chapters/03_backpropagation.ipynb   # dist/slides/03_....slides.html

Each book page carries a tiny script that records, once the page has loaded, how many of its
images really decoded (``<body data-images-loaded="N">``); the browser test reads it.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter, SlidesExporter

ROOT = Path(__file__).resolve().parent.parent
PROBE = ("<script>window.addEventListener('load', () => { const ok = [...document.images]"
         ".filter(i => i.complete && i.naturalWidth > 0).length; document.body.dataset.imagesLoaded = ok; });"
         "</script>")


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


def build_book(out: Path, notebooks: list[Path]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter(template_name="lab")
    rows, pages = [], []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        body, _ = exporter.from_notebook_node(nb)
        body = body.replace("</body>", PROBE + "</body>", 1)
        page = out / f"{path.stem}.html"
        page.write_text(body, encoding="utf-8")
        pages.append(page)
        n_img = sum(1 for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                    if "image/png" in o.get("data", {}))
        rows.append(f"<tr><td>{path.stem[:2]}</td><td><a href='{page.name}'>{html.escape(title_of(nb))}</a></td>"
                    f"<td>{html.escape(summary_of(nb))}</td><td>{n_img}</td></tr>")
    index = f"""<!doctype html><html><head><meta charset="utf-8"><title>Large Models with Keras &amp; TensorFlow</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}}
table{{border-collapse:collapse}}td,th{{border-bottom:1px solid #ddd;padding:.5rem;text-align:left;vertical-align:top}}
</style></head><body><h1>Large Models with Keras &amp; TensorFlow</h1>
<p>The course rendered with the outputs of a full-mode run. Source: the notebooks in <code>chapters/</code>.</p>
<table><tr><th>#</th><th>Chapter</th><th>What it teaches</th><th>Figures</th></tr>
{''.join(rows)}</table>{PROBE}</body></html>"""
    (out / "index.html").write_text(index, encoding="utf-8")
    return pages


def build_slides(out: Path, path: Path) -> Path:
    """One slide per '## ' section, sub-slides for the cells under it."""
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        starts = cell.cell_type == "markdown" and (cell.source.startswith("## ") or "\n# " in "\n" + cell.source)
        cell.metadata["slideshow"] = {"slide_type": "slide" if starts or i == 0 else "subslide"}
    body, _ = SlidesExporter().from_notebook_node(nb)
    out.mkdir(parents=True, exist_ok=True)
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
    else:
        pages = build_book(args.out or ROOT / "dist" / "book", notebooks)
        print(f"book: {len(pages)} chapters + index.html in {(args.out or ROOT / 'dist' / 'book')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
