"""Every exercise of every chapter: the student edition's stub says NOT YET, the solution says PASS.

One fast-mode run per chapter (``COURSE_FAST=1``; lenient checks, so a NOT YET prints instead of
raising). Each exercise cell runs twice in the same kernel, in the order a student meets it: first
the stub that ``tools/student.py`` writes (every name the solution binds and later code reads set to
``...``, functions returning ``...``), then the instructor's solution, so the cells after it see the
real values. A stub must run without an error and every check it reaches must say ``NOT YET``
(``course_lib.checks`` turns ``...`` into NOT YET; a check that passes on a stub tests nothing); the
solution must run without an error and every check must say ``PASS``. Each chapter's failures are
listed together in one assertion.

Cost: one more fast-mode execution of each chapter (the nbval run executes the stored chapters; it
cannot run the stubs in between). ``make test`` distributes test *files* over its 2 workers
(``--dist loadfile``), so the chapters are split over two files of about equal run time: this one
takes every other chapter from the first, tests/test_exercises_2.py the rest. ``make exercises``
runs both.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
HALF = CHAPTERS[0::2]  # the other half, CHAPTERS[1::2], is in tests/test_exercises_2.py
spec = importlib.util.spec_from_file_location("student", ROOT / "tools" / "student.py")
student = importlib.util.module_from_spec(spec)
spec.loader.exec_module(student)

CHECK_LINE = re.compile(r"^(PASS|NOT YET)  (.*?)(?: -- hint: .*)?$", re.M)


def paired_notebook(nb: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, list[tuple[int, int, int]]]:
    """The chapter with each exercise cell preceded by its student stub: (exercise no., stub cell, solution cell)."""
    edition, _ = student.student_notebook(nb)
    out = nbformat.from_dict(nb)
    out.cells, pairs = [], []
    for cell, stub in zip(nb.cells, edition.cells, strict=True):
        if cell.cell_type == "code" and student.BEGIN in cell.source:
            out.cells.append(nbformat.from_dict(stub))
            out.cells.append(nbformat.from_dict(cell))
            pairs.append((len(pairs) + 1, len(out.cells) - 2, len(out.cells) - 1))
        else:
            out.cells.append(nbformat.from_dict(cell))
    for cell in out.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return out, pairs


def _text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


def _error(cell) -> str | None:
    for o in cell.get("outputs", []):
        if o.get("output_type") == "error":
            return f"{o.get('ename')}: {o.get('evalue', '')}"[:300]
    return None


def exercise_problems(nb: nbformat.NotebookNode, pairs: list[tuple[int, int, int]]) -> list[str]:
    """What is wrong with each executed (stub, solution) pair, and any other cell that raised."""
    problems = []
    paired = {i for _, s, t in pairs for i in (s, t)}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and i not in paired and _error(cell):
            problems.append(f"cell {i} (not an exercise) raised {_error(cell)}")
    for k, s, t in pairs:
        for role, idx, want in (("stub", s, "NOT YET"), ("solution", t, "PASS")):
            cell = nb.cells[idx]
            if cell.get("execution_count") is None:
                problems.append(f"exercise {k} {role}: did not run")
                continue
            if _error(cell):
                problems.append(f"exercise {k} {role}: raised {_error(cell)}")
                continue
            found = CHECK_LINE.findall(_text(cell))
            if not found:
                problems.append(f"exercise {k} {role}: no check printed PASS or NOT YET")
            wrong = [name for verdict, name in found if verdict != want]
            if wrong:
                problems.append(f"exercise {k} {role}: expected {want}, got the opposite for {wrong}")
    return problems


def check_chapter(path: Path, monkeypatch) -> None:
    """Run one chapter with every exercise's stub before its solution; one assertion lists every problem."""
    nb, pairs = paired_notebook(nbformat.read(path, as_version=4))
    assert pairs, f"{path.name} has no exercise"
    monkeypatch.setenv("COURSE_FAST", "1")
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "0")  # a NOT YET must print, not stop the kernel
    client = NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except (CellTimeoutError, DeadKernelError) as err:
        pytest.fail(f"{path.name}: {type(err).__name__}: {str(err)[:300]}")
    problems = exercise_problems(nb, pairs)
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("path", HALF, ids=lambda p: p.stem)
def test_stub_fails_and_solution_passes(path, monkeypatch):
    check_chapter(path, monkeypatch)


def test_every_chapter_is_in_one_half():
    import test_exercises_2

    assert sorted(HALF + test_exercises_2.HALF) == CHAPTERS


def test_problems_are_found():
    """The checker itself: a stub that passes, a solution that fails and a crash are all reported."""
    code = nbformat.v4.new_code_cell
    nb = nbformat.v4.new_notebook(cells=[code(""), code(""), code(""), code(""), code("")])
    outs = ["PASS  a\n", "NOT YET  a -- hint: h\n", "NOT YET  b\n", "PASS  b\n"]
    for cell, text in zip(nb.cells, outs, strict=False):
        cell.execution_count, cell.outputs = 1, [nbformat.v4.new_output("stream", name="stdout", text=text)]
    nb.cells[4].execution_count = 1
    nb.cells[4].outputs = [nbformat.v4.new_output("error", ename="TypeError", evalue="bad", traceback=[])]
    problems = exercise_problems(nb, [(1, 0, 1), (2, 2, 3)])
    assert problems == ["cell 4 (not an exercise) raised TypeError: bad",
                        "exercise 1 stub: expected NOT YET, got the opposite for ['a']",
                        "exercise 1 solution: expected PASS, got the opposite for ['a']"]
