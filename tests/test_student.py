"""Student edition (tools/student.py): every solution becomes a stub that runs and makes its
self-check say NOT YET (tests/test_exercises.py does this for every chapter's exercise)."""

import importlib.util
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("student", ROOT / "tools" / "student.py")
student = importlib.util.module_from_spec(spec)
spec.loader.exec_module(student)


def test_strip_solutions_keeps_indentation_and_code_around():
    src = "a = 1\nif a:\n    ### BEGIN SOLUTION\n    b = 2\n    ### END SOLUTION\ncheck(b)"
    out = student.strip_solutions(src)
    assert out == f"a = 1\nif a:\n    {student.HEADER}\n    b = ...\ncheck(b)"


def test_strip_solutions_refuses_unbalanced_markers():
    with pytest.raises(ValueError, match="BEGIN"):
        student.strip_solutions("### BEGIN SOLUTION\nx = 1\n")


def test_stub_keeps_only_names_read_later_and_function_signatures():
    solution = ("conv = 3 * 3 + 1\n"
                "total, _ = conv * 32, 0\n"
                "squares = [k * k for k in range(3)]\n"
                "for t in range(2):\n    acc = t\n"
                "def f(x, *, scale: float = 2.0) -> float:\n    return x * scale\n"
                "import math\n")
    later = "check(total, f(1), acc)  # conv and squares only in this comment\nprint('squares', k)"
    assert student.stub_for(solution, later) == "\n".join([
        student.HEADER, "total = ...", "acc = ...", "def f(x, *, scale: float=2.0) -> float:", "    return ..."])
    assert student.stub_for("x = 1\n", "print(y)") == f"{student.HEADER}\n..."


def test_every_chapter_exercise_is_stubbed(tmp_path):
    student.main(["--out", str(tmp_path)])
    for path in sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb")):
        original = nbformat.read(path, as_version=4)
        edition = nbformat.read(tmp_path / "chapters" / path.name, as_version=4)
        assert len(edition.cells) == len(original.cells)
        for before, after in zip(original.cells, edition.cells, strict=True):
            if before.cell_type == "code" and student.BEGIN in before.source:
                assert student.HEADER in after.source and student.BEGIN not in after.source
                assert after.outputs == [] and after.execution_count is None
                solution = before.source.split(student.BEGIN)[1].split(student.END)[0].strip()
                assert solution and solution not in after.source
            else:
                assert after == before


def test_stubbed_notebook_runs_and_its_checks_say_not_yet(monkeypatch):
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "0")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import numpy as np\nfrom course_lib import checks"),
        nbformat.v4.new_code_cell("### BEGIN SOLUTION\ndef relu(x):\n    return np.maximum(x, 0)\n### END SOLUTION\n"
                                  "checks.check_close('relu', relu(np.arange(-2, 3)), [0, 0, 0, 1, 2])"),
        nbformat.v4.new_code_cell("### BEGIN SOLUTION\nn = 4 * 3\n### END SOLUTION\nchecks.check_equal('n', n, 12)"),
    ])
    for edition, expected in [(student.student_notebook(nb)[0], "NOT YET"), (nb, "PASS")]:
        NotebookClient(edition, timeout=60, kernel_name="python3",
                       resources={"metadata": {"path": str(ROOT)}}).execute()
        for cell in edition.cells[1:]:
            text = "".join(o.get("text", "") for o in cell.outputs)
            assert text.startswith(expected) and not any(o.output_type == "error" for o in cell.outputs)
