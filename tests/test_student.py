"""Student edition (tools/student.py): solutions stubbed nbgrader-style; the edition runs up to the
first exercise, and putting the solution back makes that exercise's self-check pass."""

import importlib.util
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("student", ROOT / "tools" / "student.py")
student = importlib.util.module_from_spec(spec)
spec.loader.exec_module(student)

CHAPTER = ROOT / "chapters" / "00_setup_and_hardware.ipynb"


def test_strip_solutions_keeps_indentation_and_code_around():
    src = "a = 1\nif a:\n    ### BEGIN SOLUTION\n    b = 2\n    ### END SOLUTION\ncheck(b)"
    out = student.strip_solutions(src)
    assert out == "a = 1\nif a:\n    # YOUR CODE HERE\n    raise NotImplementedError()\ncheck(b)"


def test_strip_solutions_refuses_unbalanced_markers():
    with pytest.raises(ValueError, match="BEGIN"):
        student.strip_solutions("### BEGIN SOLUTION\nx = 1\n")


def test_every_chapter_exercise_is_stubbed(tmp_path):
    student.main(["--out", str(tmp_path)])
    for path in sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb")):
        original = nbformat.read(path, as_version=4)
        edition = nbformat.read(tmp_path / "chapters" / path.name, as_version=4)
        assert len(edition.cells) == len(original.cells)
        for before, after in zip(original.cells, edition.cells, strict=True):
            if before.cell_type == "code" and student.BEGIN in before.source:
                assert "raise NotImplementedError()" in after.source and student.BEGIN not in after.source
                assert after.outputs == [] and after.execution_count is None
                solution = before.source.split(student.BEGIN)[1].split(student.END)[0].strip()
                assert solution and solution not in after.source
            else:
                assert after == before


def _first_exercise(nb):
    return next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "raise NotImplementedError" in c.source)


def _run(nb, env_strict, monkeypatch):
    # monkeypatch, not os.environ: a changed variable would leak into every later notebook of this worker
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1" if env_strict else "0")
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}})
    return client.execute()


def test_student_edition_runs_to_the_first_exercise_and_solution_passes(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "1")
    original = nbformat.read(CHAPTER, as_version=4)
    edition, _ = student.student_notebook(original)
    k = _first_exercise(edition)

    # 1. The student edition executes every cell before the first exercise, then stops there.
    with pytest.raises(CellExecutionError, match="NotImplementedError"):
        _run(edition, env_strict=True, monkeypatch=monkeypatch)
    executed = [i for i, c in enumerate(edition.cells) if c.cell_type == "code" and c.execution_count]
    assert executed and max(executed) == k
    assert not any(o.get("output_type") == "error" for c in edition.cells[:k] for o in c.get("outputs", []))

    # 2. Putting the instructor's solution back makes the self-check pass (strict mode raises otherwise).
    restored = nbformat.from_dict(edition)
    restored.cells = restored.cells[: k + 1]
    restored.cells[k].source = original.cells[k].source
    _run(restored, env_strict=True, monkeypatch=monkeypatch)
    text = "".join(o.get("text", "") for o in restored.cells[k].outputs)
    assert "PASS" in text and "NOT YET" not in text
