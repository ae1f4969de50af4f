"""Colab parity, offline: what each chapter's first cell installs, and what that cell does on Colab.

The end-to-end run in a Colab-like venv is `make test-colab` (tools/colab/test_colab_e2e.py).
"""

import importlib.metadata as md
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools" / "colab"))
import colabenv  # noqa: E402
import testcolab  # noqa: E402

sys.path.insert(0, str(ROOT / "tools"))
import nblint  # noqa: E402

CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))


def test_freeze_is_colabs_published_image():
    image = colabenv.colab_image()
    assert len(image) > 500
    assert image["tensorflow"] == "2.20.0" and image["keras"] == "3.13.2" and image["numpy"] == "2.1.3"
    assert image["scikit-learn"] == "1.6.1" and image["scipy"] == "1.16.3"
    assert image["keras-hub"] == "0.26.0" and image["tokenizers"] == "0.22.2"
    for absent in ("sacrebleu", "rouge-score", "ai-edge-litert", "nbval"):
        assert absent not in image
    assert all("==" in c and "+" not in c for c in colabenv.constraints())


def _requirements_pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[colabenv.normalize(name)] = version.strip()
    return pins


def test_extras_hold_only_what_colab_lacks_pinned_as_in_requirements():
    pins = _requirements_pins()
    assert colabenv.extras(), "pyproject.toml has no [project.optional-dependencies]"
    for extra, reqs in colabenv.extras().items():
        for r in reqs:
            name = colabenv.requirement_name(r)
            if name in colabenv.COLAB_REPAIRS.get(extra, {}):  # replaces a Colab package that is broken there
                assert r.split("==")[1] != colabenv.colab_image()[name], f"{r} is Colab's own version"
                continue
            assert name not in colabenv.colab_image(), f"extra {extra!r} reinstalls {name}, which Colab ships"
            assert r.split("==")[1] == pins[name], f"{r} in extra {extra!r} disagrees with requirements.txt"


def test_module_to_distribution_map_agrees_with_installed_metadata():
    """Every module the course imports maps to the distribution that really provides it."""
    provided = md.packages_distributions()
    mods = set()
    for p in CHAPTERS:
        mods |= colabenv.modules_of_sources(colabenv.notebook_code(p))
    assert {"tensorflow", "keras", "numpy", "sklearn", "sacrebleu", "ai_edge_litert", "fastapi"} <= mods
    for m in mods:
        top = m.split(".")[0]
        dists = {colabenv.normalize(d) for d in provided.get(top, [])}
        assert colabenv.dist_of(m) in dists, f"{m} is provided by {dists}, not {colabenv.dist_of(m)}"


def test_each_chapter_needs_exactly_its_extras():
    got = {p.name[:2]: colabenv.needs(p) for p in CHAPTERS}
    assert got["09"].extras == ("metrics",) and set(got["09"].modules) == {"sacrebleu", "rouge_score"}
    assert got["11"].extras == ("litert",)  # imports ai_edge_litert itself
    assert got["13"].extras == ("litert",)  # through course_lib.deploy.TFLiteModel's lazy import
    assert got["00"].extras == () and got["06"].extras == ()
    # chapter 10 imports tensorflow_datasets, which Colab's own tensorflow-metadata breaks (COLAB_REPAIRS)
    assert got["10"].extras == ("tfds",) and got["10"].repairs == ("tensorflow-metadata==1.17.3",)
    assert [p for p, n in got.items() if "tfds" in n.extras] == ["10"]
    assert all(n.uncovered == () for n in got.values())


@pytest.mark.parametrize("code, extras, uncovered", [
    ("import sacrebleu", ("metrics",), ()),
    ("from rouge_score import rouge_scorer", ("metrics",), ()),
    ("from course_lib import deploy", ("litert",), ()),  # a lazy import inside course_lib counts
    ("subprocess.run([sys.executable, '-m', 'course_lib.serve'])", ("litert",), ()),  # serve -> deploy
    ("import keras_hub\nimport tokenizers\nfrom sklearn import svm", (), ()),  # Colab ships them
    ("def f():\n    import nbval", (), ("nbval (nbval)",)),  # Colab lacks it and no extra has it
    ("%matplotlib inline\nimport google.colab\nimport os", (), ()),
    ("import tensorflow_datasets as tfds", ("tfds",), ()),  # Colab ships it, broken: COLAB_REPAIRS
    ("from course_lib import data\nds = data.load_tfds('course_mnist', split='train')", ("tfds",), ()),
    ("from course_lib import data\nx = data.load_mnist()", (), ()),  # a lazy TFDS import does not count
])
def test_needs_are_computed_from_imports(code, extras, uncovered):
    n = colabenv.needs_of_sources([code])
    assert (n.extras, n.uncovered) == (extras, uncovered)


def test_image_holds_colab_versions_of_what_the_course_imports_and_no_extra():
    reqs = dict(r.split("==") for r in colabenv.image_requirements())
    assert reqs["tensorflow"] == "2.20.0" and reqs["scikit-learn"] == "1.6.1" and reqs["scipy"] == "1.16.3"
    assert reqs["fastapi"] == "0.141.1"  # course_lib.serve imports it
    assert "nbval" in reqs  # the harness
    in_extras = {colabenv.requirement_name(r) for rs in colabenv.extras().values() for r in rs}
    assert not (in_extras - colabenv.repaired_dists()) & set(reqs)


def _chapter_with(tmp_path, code: str) -> Path:
    dst = tmp_path / "00_setup_and_hardware.ipynb"
    nb = nbformat.read(ROOT / "chapters" / dst.name, as_version=4)
    cell = nbformat.v4.new_code_cell(code)
    cell.execution_count = max(c.execution_count or 0 for c in nb.cells if c.cell_type == "code") + 1
    nb.cells.append(cell)
    nbformat.write(nb, dst)
    return dst


def test_lint_wants_the_extra_once_a_chapter_imports_a_package_colab_lacks(tmp_path):
    path = _chapter_with(tmp_path, "import sacrebleu")
    assert any("first cell must be the generated Colab-install cell" in p for p in nblint.lint(path))
    assert nblint.lint(path, fix=True) == []
    first = nbformat.read(path, as_version=4).cells[0].source
    assert 'repo + "[metrics]"' in first and '"sacrebleu"' in first and "--no-deps" not in first


def test_lint_names_an_import_no_extra_provides(tmp_path):
    path = _chapter_with(tmp_path, "import nbval")
    problems = nblint.lint(path, fix=True)
    assert any("imports nbval (nbval), which Colab's image lacks" in p and "pyproject.toml" in p
               for p in problems)


def _run_cell(source: str, tmp_path: Path, repo: Path, importable: bool) -> dict:
    """Execute an install cell as on Colab, recording the commands it would run instead of running them."""
    script = tmp_path / "cell.py"
    script.write_text(
        "import json, subprocess, sys, types, importlib.util\n"
        "sys.modules['google.colab'] = types.ModuleType('google.colab')\n"
        f"real_find_spec, importable = importlib.util.find_spec, {importable}\n"
        "importlib.util.find_spec = lambda m: real_find_spec('json') if importable else None\n"
        "calls = []\n"
        "subprocess.run = lambda cmd, check: calls.append(cmd)\n"
        + source + "\n"
        "print(json.dumps({'calls': calls, 'path0': sys.path[0]}))\n")
    env = {**os.environ, "COURSE_COLAB_DIR": str(repo)}
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_install_cell_clones_from_the_repository_setting_and_installs_the_extras(tmp_path):
    url = nblint.repo_url()
    cell = nblint.install_cell(url, ("metrics",), ("rouge_score", "sacrebleu"))
    repo = tmp_path / "course"
    got = _run_cell(cell, tmp_path, repo, importable=False)
    clone, pip = got["calls"]
    assert clone == ["git", "clone", "-q", "--depth", "1", url, str(repo)]
    assert pip[1:] == ["-m", "pip", "install", "-q", "-e", f"{repo}[metrics]"]
    assert got["path0"] == str(repo)
    repo.mkdir()  # second run: checked out, packages importable -> nothing to do
    assert _run_cell(cell, tmp_path, repo, importable=True)["calls"] == []


def test_install_cell_without_extras_installs_course_lib_only(tmp_path):
    cell = nblint.install_cell(nblint.repo_url())
    (tmp_path / "course").mkdir()
    got = _run_cell(cell, tmp_path, tmp_path / "course", importable=False)
    assert got["calls"] == [[sys.executable, "-m", "pip", "install", "-q", "--no-deps", "-e",
                             str(tmp_path / "course")]]


def test_install_cell_does_nothing_outside_colab(tmp_path):
    cell = nblint.install_cell(nblint.repo_url(), ("litert",), ("ai_edge_litert",))
    out = subprocess.run([sys.executable, "-c", cell + "\nprint('done')"], capture_output=True, text=True,
                         env={**os.environ, "COURSE_COLAB_DIR": str(tmp_path / "nowhere")}, check=True)
    assert out.stdout.strip() == "done" and not (tmp_path / "nowhere").exists()


def test_chapters_first_cells_are_collapsed_tagged_and_short():
    for p in CHAPTERS:
        cell = nbformat.read(p, as_version=4).cells[0]
        assert cell.metadata["jupyter"]["source_hidden"] is True and "colab-install" in cell.metadata["tags"]
        assert cell.source.startswith("# @title Colab only: install") and len(cell.source.splitlines()) <= 20
        assert not cell.outputs


def test_stub_google_colab_is_a_package_beside_protobuf():
    stub = ROOT / "tools" / "colab" / "fake" / "google"
    assert (stub / "colab" / "__init__.py").is_file()
    assert not (stub / "__init__.py").exists(), "google/ must stay a namespace package (protobuf shares it)"
    code = f"import sys; sys.path.insert(0, {str(stub.parent)!r}); import google.colab, google.protobuf; " \
           "print('google.colab' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "True"


def test_make_test_colab_is_wired_into_ci():
    assert re.search(r"^test-colab:", (ROOT / "Makefile").read_text(), re.M)
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.index("make test") < ci.index("make test-colab")


def test_checkout_is_the_tree_a_clone_would_have(tmp_path):
    dest = testcolab.checkout(tmp_path / "course")
    assert (dest / "datasets" / "MANIFEST").read_bytes() == (ROOT / "datasets" / "MANIFEST").read_bytes()
    assert (dest / "pyproject.toml").is_file() and (dest / "course_lib" / "data.py").is_file()
    assert not (dest / ".venv").exists() and not (dest / ".venv-colab").exists()  # ignored: not in a clone
    assert not (dest / "datasets" / "co2.csv").samefile(ROOT / "datasets" / "co2.csv")


def test_git_guard_refuses_to_clone_but_runs_other_commands(tmp_path):
    guard = tmp_path / "git"
    guard.write_text(testcolab.GIT_GUARD.replace("GIT", "git"))
    guard.chmod(0o755)
    no = subprocess.run([str(guard), "clone", "-q", nblint.repo_url(), str(tmp_path / "x")], capture_output=True,
                        text=True)
    assert no.returncode == 1 and "refusing" in no.stderr and not (tmp_path / "x").exists()
    assert subprocess.run([str(guard), "--version"], capture_output=True, text=True).stdout.startswith("git version")


def test_installed_reads_dist_info_names(tmp_path):
    (tmp_path / "course_lib-0.1.0.dist-info").mkdir()
    (tmp_path / "rouge_score-0.1.2.dist-info").mkdir()
    assert testcolab.installed(tmp_path) == {"course-lib": "0.1.0", "rouge-score": "0.1.2"}
