"""course_lib.data: every dataset loads offline with known facts; bad files are refused."""

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from course_lib import bundled, data

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A private copy of datasets/ that a test may damage."""
    src = data.data_dir()
    dst = tmp_path / "datasets"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("build.py", "__pycache__"))
    monkeypatch.setenv("COURSE_DATA_DIR", str(dst))
    bundled._VERIFIED.clear()
    yield dst
    bundled._VERIFIED.clear()


def test_manifest_lists_every_shipped_file():
    entries = data.manifest()
    shipped = {p.name for p in data.data_dir().iterdir() if p.name not in ("MANIFEST", "build.py", "__pycache__")}
    assert set(entries) == shipped
    for name, e in entries.items():
        assert len(e["sha256"]) == 64 and e["licence"] and e["source"], name
        assert int(e["bytes"]) == (data.data_dir() / name).stat().st_size, name
    total = sum((data.data_dir() / n).stat().st_size for n in entries)
    assert total < 25e6, f"datasets/ must stay under 25 MB, is {total / 1e6:.1f} MB"


def test_mnist_is_the_real_mnist():
    (x, y), (xt, yt) = data.load_mnist()
    assert x.shape == (60000, 28, 28) and xt.shape == (10000, 28, 28) and x.dtype == np.uint8
    assert list(y[:5]) == [5, 0, 4, 1, 9]
    assert list(np.bincount(y)[:3]) == [5923, 6742, 5958]
    assert list(np.bincount(yt)[:2]) == [980, 1135]
    assert abs(x.mean() / 255 - 0.1307) < 1e-3 and abs(x.std() / 255 - 0.3081) < 1e-3


def test_fashion_mnist_subset_is_balanced_and_real():
    (x, y), (xt, yt) = data.load_fashion_mnist()
    assert x.shape == (16000, 28, 28) and xt.shape == (5000, 28, 28)
    assert list(y[:6]) == [9, 0, 0, 3, 0, 2]  # the first Fashion-MNIST training labels
    assert set(np.bincount(y)) == {1600} and set(np.bincount(yt)) == {500}
    assert len(data.FASHION_CLASSES) == 10


def test_movie_reviews():
    (x, y), (xt, yt) = data.load_movie_reviews()
    assert len(x) + len(xt) == 10568 and abs(len(xt) / 10568 - 0.2) < 0.001
    assert isinstance(x[0], str) and set(np.unique(y)) == {0, 1}
    assert 0.45 < y.mean() < 0.55
    (x2, _), _ = data.load_movie_reviews(seed=1)
    assert list(x2[:5]) != list(x[:5])  # the seed changes the split
    with pytest.raises(ValueError, match="test_fraction"):
        data.load_movie_reviews(test_fraction=1.5)


def test_shakespeare():
    text = data.load_shakespeare()
    assert len(text) == 5_057_280 and len(set(text)) == 84
    assert "To be, or not to be" in text and "HAMLET" in text
    assert "Paradise Lost" not in text  # Milton ships in the same package; it is left out


@pytest.mark.parametrize("name, column, n, first", [("sunspots", "SUNACTIVITY", 309, 5.0),
                                                    ("co2", "co2", 2284, 316.1),
                                                    ("seattle_weather", "temp_max", 1461, 12.8)])
def test_timeseries(name, column, n, first):
    ts = data.load_timeseries(name)
    assert len(ts[column]) == n and ts[column][0] == first
    assert ts[column].dtype == np.float64


def test_timeseries_bad_names():
    with pytest.raises(ValueError, match="name"):
        data.load_timeseries("stocks")
    with pytest.raises(ValueError, match="jena_climate"):
        data.load_timeseries("jena_climate")
    with pytest.raises(ValueError, match="bundled"):
        data.load_timeseries("sunspots", source="online")


def test_model_scale_table_is_cited():
    t = data.load_model_scale()
    assert len(t["model"]) >= 10 and all(s.strip() for s in t["source"])
    gpt3 = list(t["model"]).index("GPT-3")
    assert t["params"][gpt3] == 1.75e11 and t["train_flops"][gpt3] == 3.14e23
    assert np.all(np.diff(t["year"]) >= 0), "rows are in time order"


@pytest.mark.parametrize("loader", [data.load_mnist, data.load_fashion_mnist, data.load_movie_reviews,
                                    data.load_shakespeare, data.load_timeseries])
def test_bad_source_is_rejected(loader):
    with pytest.raises(ValueError, match="source"):
        loader(source="internet")


def _fixes(err: BaseException) -> list[str]:
    """The commands/snippets an error's "Fix:" suggests (each in backticks)."""
    text = str(err)
    assert "Fix:" in text, text
    return re.findall(r"`([^`]+)`", text.split("Fix:", 1)[1])


def _apply_python_fix(snippet: str, monkeypatch) -> None:
    if snippet in ("del os.environ['COURSE_DATA_DIR']", "unset COURSE_DATA_DIR"):
        monkeypatch.delenv("COURSE_DATA_DIR")
    else:
        exec(snippet, {"shutil": shutil, "os": os})  # noqa: S102 - the suggested fix, run as a user would
    bundled._VERIFIED.clear()


def test_corrupt_file_in_a_data_dir_copy_is_refused_with_a_working_fix(data_copy, monkeypatch):
    path = data_copy / "mnist.npz"
    blob = bytearray(path.read_bytes())
    blob[1000] ^= 0xFF
    path.write_bytes(bytes(blob))
    with pytest.raises(data.DatasetError, match="mnist.npz is corrupt: sha256") as err:
        data.load_mnist()
    copy, unset = _fixes(err.value)
    _apply_python_fix(copy, monkeypatch)
    assert path.read_bytes() == (data.default_data_dir() / "mnist.npz").read_bytes()
    assert data.load_mnist()[1][1][0] == 7
    path.write_bytes(bytes(blob))
    _apply_python_fix(unset, monkeypatch)
    assert data.data_dir() == data.default_data_dir() and data.load_mnist()[1][1][0] == 7


def test_missing_file_is_refused_with_a_working_fix(data_copy, monkeypatch):
    (data_copy / "shakespeare.txt.xz").unlink()
    with pytest.raises(data.DatasetError, match="shakespeare.txt.xz is missing") as err:
        data.load_shakespeare()
    _apply_python_fix(_fixes(err.value)[0], monkeypatch)
    assert len(data.load_shakespeare()) == 5_057_280


def test_missing_manifest(data_copy, monkeypatch):
    (data_copy / "MANIFEST").unlink()
    with pytest.raises(data.DatasetError, match="holds no MANIFEST") as err:
        data.load_timeseries("co2")
    assert "COURSE_DATA_DIR" in str(err.value)
    _apply_python_fix(_fixes(err.value)[-1], monkeypatch)  # copy the course's datasets/ into it
    assert len(data.load_timeseries("co2")["co2"]) == 2284


@pytest.mark.parametrize("kind", ["missing", "empty", "a file"])
def test_course_data_dir_naming_no_datasets_folder_blames_the_variable(kind, tmp_path, monkeypatch):
    target = tmp_path / "data"
    if kind == "empty":
        target.mkdir()
    elif kind == "a file":
        target.write_text("not a folder")
    monkeypatch.setenv("COURSE_DATA_DIR", str(target))
    bundled._VERIFIED.clear()
    with pytest.raises(data.DatasetError, match=r"COURSE_DATA_DIR=.*(does not exist|empty folder)") as err:
        data.load_timeseries("sunspots")
    assert "MANIFEST is missing" not in str(err.value)
    unset, unset_in_shell, fill = _fixes(err.value)
    assert unset_in_shell == "unset COURSE_DATA_DIR"
    _apply_python_fix(unset, monkeypatch)
    assert len(data.load_timeseries("sunspots")["YEAR"]) == 309
    if kind == "empty":
        monkeypatch.setenv("COURSE_DATA_DIR", str(target))
        _apply_python_fix(fill, monkeypatch)
        assert len(data.load_timeseries("sunspots")["YEAR"]) == 309


def test_course_data_dir_naming_the_course_folder_gets_the_git_fix(monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(data.default_data_dir()))
    assert bundled._fix("co2.csv").startswith('Fix: restore it with `git -C "')
    assert len(data.manifest()) == 8


# --- real git checkouts: Windows line ends, and every "Fix:" run as the user would -------------------

LOAD_ALL = """
import sys
from course_lib import data
for name in data.manifest():
    data.verify(name)
for name in data.TIMESERIES:
    data.load_timeseries(name)
data.load_model_scale()
data.load_movie_reviews()
print("loaded", len(data.manifest()))
"""


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def _clone(dest: Path) -> Path:
    """A real autocrlf clone of the committed repository, running this working tree's course_lib."""
    subprocess.run(["git", "clone", "-q", "-c", "core.autocrlf=true", str(ROOT), str(dest)], check=True)
    shutil.copytree(ROOT / "course_lib", dest / "course_lib", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def _load_in(checkout: Path) -> subprocess.CompletedProcess:
    """Load every bundled dataset with the checkout's own course_lib and datasets/ (no COURSE_DATA_DIR)."""
    env = {k: v for k, v in os.environ.items() if k != "COURSE_DATA_DIR"}
    env["PYTHONPATH"] = str(checkout)
    return subprocess.run([sys.executable, "-c", LOAD_ALL], cwd=checkout, env=env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def crlf_clone(tmp_path_factory):
    """A real `git clone -c core.autocrlf=true` of this repository (what Git for Windows does by default)."""
    return _clone(tmp_path_factory.mktemp("windows") / "course")


def test_autocrlf_clone_loads_every_dataset_byte_for_byte(crlf_clone):
    assert _git("config", "core.autocrlf", cwd=crlf_clone).strip() == "true"
    for name in data.manifest():
        assert (crlf_clone / "datasets" / name).read_bytes() == (ROOT / "datasets" / name).read_bytes(), name
    out = _load_in(crlf_clone)
    assert out.returncode == 0 and "loaded 8" in out.stdout, out.stderr


def _crlf_like_an_old_clone(repo: Path) -> None:
    """Check co2.csv out as a clone made before .gitattributes did: autocrlf rewrites it to CRLF."""
    _git("rm", "-q", "--cached", ".gitattributes", cwd=repo)  # gone from the index and the work tree
    (repo / ".gitattributes").unlink()
    (repo / "datasets" / "co2.csv").unlink()
    _git("checkout", "--", "datasets/co2.csv", cwd=repo)  # the old message's fix: CRLF again
    assert b"\r\n" in (repo / "datasets" / "co2.csv").read_bytes()
    # As in a real old clone, the CRLF file is older than the index, so git trusts its stat data and a plain
    # `git checkout -- datasets/co2.csv` skips it (it passed only by luck, within git's "racy" second).
    old = time.time() - 3600
    os.utime(repo / "datasets" / "co2.csv", (old, old))
    _git("update-index", "-q", "--refresh", cwd=repo)
    _git("-c", "core.autocrlf=false", "checkout", "--", "datasets/co2.csv", cwd=repo)
    assert b"\r\n" in (repo / "datasets" / "co2.csv").read_bytes(), "git rewrote a stat-clean file after all"


def _manifest_line(repo: Path, name: str, edit) -> None:
    path = repo / "datasets" / "MANIFEST"
    lines = path.read_bytes().split(b"\n")
    i = next(k for k, ln in enumerate(lines) if ln.startswith(name.encode()))
    lines[i] = edit(lines[i])
    path.write_bytes(b"\n".join(lines))


DAMAGE = {
    "crlf-old-clone": (_crlf_like_an_old_clone, r"co2\.csv is corrupt: its line ends were converted to Windows CRLF"),
    "crlf-editor": (lambda r: (r / "datasets" / "sunspots.csv").write_bytes(
        (r / "datasets" / "sunspots.csv").read_bytes().replace(b"\n", b"\r\n")), r"sunspots\.csv .*CRLF"),
    "flipped-byte": (lambda r: (r / "datasets" / "model_scale.csv").write_bytes(
        (r / "datasets" / "model_scale.csv").read_bytes().replace(b"GPT-3", b"GPT-4")),
        r"model_scale\.csv is corrupt: sha256"),
    "missing-file": (lambda r: (r / "datasets" / "seattle_weather.csv").unlink(), r"seattle_weather\.csv is missing"),
    "missing-manifest": (lambda r: (r / "datasets" / "MANIFEST").unlink(), r"MANIFEST is missing"),
    "manifest-spaces-for-tabs": (lambda r: _manifest_line(r, "co2.csv", lambda ln: ln.replace(b"\t", b"    ")),
                                 r"MANIFEST line 2 is malformed: it has 1 tab-separated fields"),
    "manifest-short-sha": (lambda r: _manifest_line(r, "sunspots.csv", lambda ln: ln.replace(b"f67889b1", b"f67889")),
                           r"MANIFEST line 9 is malformed: sha256 'f67889"),
    "manifest-latin1": (lambda r: _manifest_line(r, "fashion_mnist.npz", lambda ln: ln.replace(
        b"Zalando", "Zaländo".encode("latin-1"))), r"MANIFEST line 3 is not UTF-8 text"),
    "manifest-utf16": (lambda r: (r / "datasets" / "MANIFEST").write_bytes(
        (r / "datasets" / "MANIFEST").read_text(encoding="utf-8").encode("utf-16")), r"MANIFEST line 1 is not UTF-8"),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_every_suggested_fix_fixes_its_error_in_a_real_checkout(damage, tmp_path):
    repo = _clone(tmp_path / "course")
    harm, message = DAMAGE[damage]
    harm(repo)
    broken = _load_in(repo)
    assert broken.returncode != 0
    err = broken.stderr.strip().splitlines()[-1]
    assert err.startswith("course_lib.bundled.DatasetError: ") and re.search(message, err), err
    (fix,) = _fixes(err)
    assert fix.startswith("git -C ")
    subprocess.run(fix, shell=True, check=True, cwd=tmp_path)
    fixed = _load_in(repo)
    assert fixed.returncode == 0 and "loaded 8" in fixed.stdout, fixed.stderr
    for name in [*data.manifest(), "MANIFEST"]:
        assert (repo / "datasets" / name).read_bytes() == (ROOT / "datasets" / name).read_bytes(), name


def test_manifest_tolerates_a_byte_order_mark_and_crlf(data_copy):
    path = data_copy / "MANIFEST"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    assert set(data.manifest()) == set(data.manifest()) and len(data.manifest()) == 8
    assert data.manifest()["co2.csv"]["licence"] == "public domain"


def test_outside_a_git_checkout_the_fix_is_a_fresh_clone(tmp_path):
    plain = tmp_path / "download"  # e.g. a zip of the course: no .git
    shutil.copytree(ROOT / "course_lib", plain / "course_lib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "datasets", plain / "datasets")
    (plain / "datasets" / "co2.csv").write_bytes(b"date,co2\n")
    broken = _load_in(plain)
    err = broken.stderr.strip().splitlines()[-1]
    assert "co2.csv is corrupt" in err and "not in a git checkout" in err and "`git clone`" in err
    fresh = _clone(tmp_path / "fresh")
    shutil.copy2(fresh / "datasets" / "co2.csv", plain / "datasets" / "co2.csv")
    assert _load_in(plain).returncode == 0


def test_verify_rejects_unknown_names():
    with pytest.raises(ValueError, match="name"):
        data.verify("cifar10.npz")


def test_online_failure_is_fast_and_clear(monkeypatch):
    import keras

    def offline():
        raise Exception("URL fetch failure: no network")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(data.DatasetError, match="source='bundled'"):
        data.load_mnist(source="online")


def test_online_loaders_use_keras(monkeypatch):
    import keras

    fake = ((np.zeros((2, 28, 28), np.uint8), np.array([1, 2])), (np.zeros((1, 28, 28), np.uint8), np.array([3])))
    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", lambda: fake)
    (x, y), (xt, yt) = data.load_fashion_mnist(source="online")
    assert list(y) == [1, 2] and list(yt) == [3]


def test_as_dataset_and_to_dataset():
    train, test = data.load_mnist(as_dataset=True, batch_size=256)
    xb, yb = next(iter(train))
    assert xb.shape == (256, 28, 28) and yb.shape == (256,)
    assert test.cardinality().numpy() == int(np.ceil(10000 / 256))
    ds = data.to_dataset(np.arange(10.0), np.arange(10), batch_size=4, shuffle=True,
                         map_fn=lambda x, y: (x * 2, y))
    xs = np.concatenate([b[0].numpy() for b in ds])
    assert sorted(xs) == [2.0 * i for i in range(10)]
    assert isinstance(ds, tf.data.Dataset)
    with pytest.raises(ValueError, match="batch_size"):
        data.to_dataset(np.arange(3), batch_size=0)
    with pytest.raises(ValueError, match="same length"):
        data.to_dataset(np.arange(3), np.arange(4))


def test_describe_lists_licences():
    text = data.describe()
    assert "mnist.npz" in text and "CC BY-SA 3.0" in text and "MIT" in text


def test_idx_parser_from_build_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("build", data.data_dir().parent / "datasets" / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    raw = bytes([0, 0, 8, 3]) + (2).to_bytes(4, "big") + (2).to_bytes(4, "big") + (3).to_bytes(4, "big") + bytes(
        range(12))
    arr = build._idx(raw)
    assert arr.shape == (2, 2, 3) and arr[1, 1, 2] == 11
    assert set(build.SOURCES) == set(data.manifest())


def test_load_tfds_is_offered_by_data_with_the_other_loaders():
    from course_lib import tfds_load

    assert data.load_tfds is tfds_load.load_tfds  # one module for every loader (tests: tests/test_tfds.py)
    assert "load_tfds" in data.__doc__
    with pytest.raises(ValueError, match="source"):
        data.load_tfds("mnist", source="internet")
