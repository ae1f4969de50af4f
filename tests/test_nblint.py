"""tools/nblint.py: the chapters pass; broken notebooks are caught with a clear message."""

import importlib.util
import shutil
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("nblint", ROOT / "tools" / "nblint.py")
nblint = importlib.util.module_from_spec(spec)
spec.loader.exec_module(nblint)

CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.name for p in CHAPTERS])
def test_chapters_pass_the_lint(path):
    assert nblint.lint(path) == []


@pytest.fixture
def nb_copy(tmp_path):
    dst = tmp_path / "00_setup_and_hardware.ipynb"
    shutil.copy(ROOT / "chapters" / "00_setup_and_hardware.ipynb", dst)
    return dst


def _code(nb, k):
    return [c for c in nb.cells if c.cell_type == "code"][k]


def _edit(path, fn):
    nb = nbformat.read(path, as_version=4)
    fn(nb)
    nbformat.write(nb, path)


def test_error_output_is_caught(nb_copy):
    def add_error(nb):
        _code(nb, 1).outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue="x", traceback=[])]
    _edit(nb_copy, add_error)
    assert any("error output (ValueError)" in p for p in nblint.lint(nb_copy))


def test_out_of_order_and_unexecuted_cells_are_caught(nb_copy):
    def shuffle(nb):
        code = [c for c in nb.cells if c.cell_type == "code"]
        code[1].execution_count, code[2].execution_count = 9, None
    _edit(nb_copy, shuffle)
    problems = nblint.lint(nb_copy)
    assert any("execution count 9" in p for p in problems) and any("not executed" in p for p in problems)


def test_missing_install_cell_and_badge_are_caught_and_fixed(nb_copy):
    def strip(nb):
        del nb.cells[0]
        nb.cells[0].source = nb.cells[0].source.split("\n", 1)[1]
    _edit(nb_copy, strip)
    problems = nblint.lint(nb_copy)
    assert any("Colab-install" in p for p in problems) and any("badge" in p for p in problems)
    nblint.lint(nb_copy, fix=True)
    nb = nbformat.read(nb_copy, as_version=4)
    assert nb.cells[0].source == nblint.install_cell(nblint.repo_url())
    assert nb.cells[1].source.startswith(nblint.badge(nblint.repo_url(), nb_copy.name))


def test_badge_url_comes_from_pyproject():
    url = nblint.repo_url()
    b = nblint.badge(url, "03_x.ipynb")
    assert b.endswith(f"github/{url.removeprefix('https://github.com/')}/blob/main/chapters/03_x.ipynb)")
    assert url in nblint.install_cell(url) and "--no-deps" in nblint.install_cell(url)


def test_large_output_and_missing_objectives_are_caught(nb_copy):
    def bloat(nb):
        _code(nb, 1).outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * 1_100_000)]
        for c in nb.cells:
            if c.cell_type == "markdown":
                c.source = c.source.replace("Learning objectives", "Goals")
    _edit(nb_copy, bloat)
    problems = nblint.lint(nb_copy)
    assert any("max 1 MB" in p for p in problems) and any("Learning objectives" in p for p in problems)


def test_bad_name_and_invalid_json(tmp_path):
    bad = tmp_path / "Chapter.ipynb"
    bad.write_text("{not json")
    assert any("not valid nbformat" in p for p in nblint.lint(bad))
    assert nblint.main([str(bad)]) == 1


def test_install_cell_must_be_collapsed_and_tagged(nb_copy):
    def unhide(nb):
        nb.cells[0].metadata = {"tags": ["other"]}
    _edit(nb_copy, unhide)
    assert any("collapsed and tagged" in p for p in nblint.lint(nb_copy))
    assert nblint.lint(nb_copy, fix=True) == []
    meta = nbformat.read(nb_copy, as_version=4).cells[0].metadata
    assert meta["jupyter"]["source_hidden"] is True and meta["tags"] == ["colab-install"]
    assert meta["cellView"] == "form"


def test_old_install_cell_is_replaced_not_duplicated(nb_copy):
    old = ("# Colab only: install the course helpers (course_lib) and its datasets.\nimport os\n"
           "import sys\n")
    _edit(nb_copy, lambda nb: setattr(nb.cells[0], "source", old))
    n = len(nbformat.read(nb_copy, as_version=4).cells)
    assert nblint.lint(nb_copy, fix=True) == []
    nb = nbformat.read(nb_copy, as_version=4)
    assert len(nb.cells) == n and nb.cells[0].source == nblint.install_cell(nblint.repo_url())
