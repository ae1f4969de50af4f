"""A chapter that exports a function or class to course_lib must not define it a second time in another cell:
the later definition would shadow the exported one, and the chapter would run code the library does not hold."""

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MARK = re.compile(r"^#\s*export:\s*course_lib/\w+\.py\s*$")
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))


def _definitions(source: str) -> set[str]:
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]  # IPython magics
    tree = ast.parse("\n".join(lines))
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}


def exported_and_redefined(nb_path: Path) -> list[str]:
    cells = [c for c in json.loads(nb_path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
    sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in cells]
    exported: set[str] = set()
    others: list[set[str]] = []
    for src in sources:
        names = _definitions(src)
        if src.strip() and MARK.match(src.lstrip().splitlines()[0]):
            exported |= names
        else:
            others.append(names)
    return sorted(exported & set().union(*others))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_exported_names_are_defined_once(path):
    assert exported_and_redefined(path) == []


def test_the_check_catches_a_shadowing_definition(tmp_path):
    cells = ["# export: course_lib/demo.py\n\"\"\"Demo.\"\"\"\n\n\ndef f():\n    return 1",
             "def f():\n    return 2", "def g():\n    return 3"]
    nb = {"cells": [{"cell_type": "code", "source": s, "metadata": {}, "outputs": []} for s in cells],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "15_demo.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    assert exported_and_redefined(path) == ["f"]
