#!/usr/bin/env python3
"""Write the student edition of the chapters (``make student`` → ``dist/student/``).

Every solution between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (nbgrader's markers) is
replaced by a stub that *runs*: each name the solution binds and later code reads becomes
``name = ...``, each function it defines keeps its signature and returns ``...``. So a student who
runs the stub sees the exercise's self-check say ``NOT YET`` (``course_lib.checks`` treats ``...``
as "no answer yet"), never a crash, and replaces each ``...`` with code. Solution blocks that bind
nothing later code reads become a bare ``...``. The outputs of exercise cells are cleared;
everything else, outputs included, is kept. The instructor edition is the repository itself.
tests/test_exercises.py runs every stub and every solution of every chapter.
"""

from __future__ import annotations

import argparse
import ast
import io
import re
import shutil
import sys
import textwrap
import tokenize
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
HEADER = "# YOUR CODE HERE: replace each ... with your code"
_BLOCK = re.compile(r"^([ \t]*)### BEGIN SOLUTION[^\n]*\n(.*?)^[ \t]*### END SOLUTION[^\n]*$", re.S | re.M)
_WORD = re.compile(r"[A-Za-z_]\w*")


_OWN_SCOPE = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Lambda)


def _stored_names(node: ast.AST) -> list[str]:
    """Names a statement assigns in the enclosing scope (not inside comprehensions or lambdas)."""
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
        return [node.id]
    if isinstance(node, _OWN_SCOPE):
        return [n.id for n in ast.walk(node) if isinstance(n, ast.NamedExpr) and isinstance(n.target, ast.Name)
                for n in [n.target]]
    return [name for child in ast.iter_child_nodes(node) for name in _stored_names(child)]


def _bindings(tree: ast.Module) -> list[tuple[str, str]]:
    """(name, stub line(s)) for each name bound at the top level of a solution, in order."""
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            keyword = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
            returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
            found.setdefault(node.name, f"{keyword} {node.name}({ast.unparse(node.args)}){returns}:\n    return ...")
        elif isinstance(node, ast.ClassDef):
            found.setdefault(node.name, f"class {node.name}:\n    ...")
        elif not isinstance(node, (ast.Import, ast.ImportFrom)):
            for name in _stored_names(node):
                found.setdefault(name, f"{name} = ...")
    found.pop("_", None)
    return list(found.items())


def _names_read(code: str) -> set[str]:
    """Identifiers in ``code`` outside strings and comments (any word, if it does not tokenize)."""
    try:
        return {t.string for t in tokenize.generate_tokens(io.StringIO(code).readline) if t.type == tokenize.NAME}
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return set(_WORD.findall(code))


def stub_for(solution: str, later: str) -> str:
    """The stub for one solution block (dedented): the names ``later`` code reads, set to ``...``."""
    tree = ast.parse(textwrap.dedent(solution))
    read_later = _names_read(later)
    lines = [text for name, text in _bindings(tree) if name in read_later]
    return "\n".join([HEADER, *lines] if lines else [HEADER, "..."])


def strip_solutions(source: str, later: str = "") -> str:
    """Replace each solution block by its stub, indented like the block; refuse unbalanced markers.

    ``later`` is the code that runs after this cell (the rest of the notebook): a name the solution
    binds is stubbed when the rest of the cell or ``later`` mentions it.
    """
    if source.count(BEGIN) != source.count(END):
        raise ValueError(f"source has {source.count(BEGIN)} BEGIN and {source.count(END)} END SOLUTION markers")

    def stub(m: re.Match) -> str:
        rest = textwrap.dedent(source[m.end():]) + "\n" + later
        return textwrap.indent(stub_for(m.group(2), rest), m.group(1), lambda line: True)

    return _BLOCK.sub(stub, source)


def student_notebook(nb: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, int]:
    """Return a copy of ``nb`` with solutions stubbed, and how many cells were changed."""
    out = nbformat.from_dict(nb)
    changed = 0
    for i, cell in enumerate(out.cells):
        if cell.cell_type == "code" and BEGIN in cell.source:
            later = "\n".join(c.source for c in nb.cells[i + 1:] if c.cell_type == "code")
            cell.source = strip_solutions(cell.source, later)
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
