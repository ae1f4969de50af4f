"""course_lib.tfds_builders / tfds_load: the bundled datasets as TFDS datasets, offline; online fails fast."""

import hashlib
import re
import shutil
import socket
import time

import numpy as np
import pytest
import tensorflow_datasets as tfds

from course_lib import bundled, corpus, data, tfds_builders, tfds_load
from course_lib.tfds_builders import (
    BUILDERS,
    CourseFashionMnist,
    CourseMnist,
    CourseModelScale,
    CourseMovieReviews,
    CourseShakespeare,
    CourseTimeseries,
    tfds_dir,
)
from course_lib.tfds_load import COURSE_DATASETS, is_online, load_tfds

tfds.disable_progress_bar()

SPLITS = {  # the documented sizes (module tables of tfds_builders and tfds_load)
    "mnist": {"train": 60000, "test": 10000},
    "fashion_mnist": {"train": 16000, "test": 5000},
    "movie_reviews": {"train": 8454, "test": 2114},
    "shakespeare": {"train": 36, "validation": 3, "test": 3},
    "sunspots": {"train": 309},
    "co2": {"train": 2284},
    "seattle_weather": {"train": 1461},
    "model_scale": {"train": 12},
}


@pytest.fixture(scope="session")
def prepared(tmp_path_factory):
    """Every course dataset prepared once, into a temporary TFDS data_dir (never the repo's)."""
    folder = tmp_path_factory.mktemp("tfds")
    infos = {name: load_tfds(name, data_dir=folder, with_info=True)[1] for name in COURSE_DATASETS}
    return folder, infos


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A private copy of datasets/ that a test may damage (COURSE_DATA_DIR points at it)."""
    dst = tmp_path / "datasets"
    shutil.copytree(bundled.default_data_dir(), dst, ignore=shutil.ignore_patterns("build.py", "__pycache__"))
    monkeypatch.setenv("COURSE_DATA_DIR", str(dst))
    bundled._VERIFIED.clear()
    yield dst
    bundled._VERIFIED.clear()


def _sha(*arrays) -> str:
    return hashlib.sha256(b"".join(np.ascontiguousarray(a).tobytes() for a in arrays)).hexdigest()


def _offline(monkeypatch) -> None:
    """No network at all: any connection or name lookup fails at once."""
    def refuse(*args, **kwargs):
        raise OSError("network is unreachable (simulated by the test)")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.mark.parametrize("name", list(COURSE_DATASETS))
def test_every_builder_prepares_with_the_documented_counts_and_manifest_facts(prepared, name):
    _, infos = prepared
    info = infos[name]
    assert {s: info.splits[s].num_examples for s in info.splits} == SPLITS[name]
    entry = data.manifest()[info.metadata["file"]]
    assert info.metadata["sha256"] == entry["sha256"]  # prepared from the file the MANIFEST vouches for
    assert info.redistribution_info.license == entry["licence"]
    assert info.description and info.citation.startswith("@") and info.homepage.startswith("https://")
    assert info.disable_shuffling  # row i of a split is row i of the course's loader
    assert info.full_name.startswith(COURSE_DATASETS[name][0])


def test_builder_classes_and_names():
    assert {cls.name for cls in BUILDERS.values()} == {
        "course_mnist", "course_fashion_mnist", "course_movie_reviews", "course_shakespeare", "course_timeseries",
        "course_model_scale"}
    assert CourseMnist.name == "course_mnist" and CourseFashionMnist.CLASSES == data.FASHION_CLASSES
    assert [c.name for c in CourseTimeseries.BUILDER_CONFIGS] == list(data.TIMESERIES)
    for cls in (CourseMnist, CourseFashionMnist, CourseMovieReviews, CourseShakespeare, CourseModelScale):
        assert cls.name in tfds.list_builders(with_community_datasets=False)


@pytest.mark.parametrize("name, loader", [("mnist", data.load_mnist), ("fashion_mnist", data.load_fashion_mnist)])
def test_images_are_the_bundled_arrays_byte_for_byte(prepared, name, loader):
    folder, _ = prepared
    for (x, y), split in zip(loader(), ("train", "test"), strict=True):
        ds = load_tfds(name, split=split, as_supervised=True, data_dir=folder).batch(100_000)
        images, labels = next(iter(tfds.as_numpy(ds)))
        assert images.shape == (*x.shape, 1) and images.dtype == np.uint8
        assert _sha(images[..., 0], labels.astype(np.uint8)) == _sha(x, y.astype(np.uint8)), split


def test_text_and_tables_are_the_bundled_data(prepared):
    folder, _ = prepared
    (x, y), (xt, yt) = data.load_movie_reviews()
    for split, (texts, labels) in (("train", (x, y)), ("test", (xt, yt))):
        rows = list(tfds.as_numpy(load_tfds("movie_reviews", split=split, data_dir=folder)))
        assert [r["text"].decode() for r in rows] == list(texts)
        assert [r["label"] for r in rows] == list(labels)
        assert all((r["score"] > 0) == bool(r["label"]) for r in rows)
    for split, ours in (("train", "train"), ("validation", "val"), ("test", "test")):
        works = list(tfds.as_numpy(load_tfds("shakespeare", split=split, data_dir=folder)))
        assert [w["title"].decode() for w in works] == corpus.play_split()[ours]
        assert "".join(w["text"].decode() for w in works) == corpus.split_text(ours)
    for name in data.TIMESERIES:
        columns = data.load_timeseries(name)
        rows = list(tfds.as_numpy(load_tfds(name, split="train", data_dir=folder)))
        for col, values in columns.items():
            got = [r[col].decode() if values.dtype == object else r[col] for r in rows]
            np.testing.assert_array_equal(np.array(got, dtype=values.dtype), values, err_msg=f"{name}.{col}")
    table = data.load_model_scale()
    rows = list(tfds.as_numpy(load_tfds("model_scale", split="train", data_dir=folder)))
    assert [r["model"].decode() for r in rows] == list(table["model"])
    np.testing.assert_array_equal([r["train_flops"] for r in rows], table["train_flops"])  # NaN where empty


@pytest.mark.parametrize("split, n", [("train[:80%]", 12800), ("train[80%:]", 3200), ("test[:10%]", 500),
                                      ("train[:1000]", 1000), ("train[-500:]", 500)])
def test_split_slicing_gives_the_documented_sizes(prepared, split, n):
    folder, _ = prepared
    ds = load_tfds("fashion_mnist", split=split, data_dir=folder)
    assert int(ds.cardinality()) == n == sum(1 for _ in ds)


def test_slices_are_disjoint_and_in_file_order(prepared):
    folder, _ = prepared
    (_, y), _ = data.load_fashion_mnist()
    train, val = load_tfds("fashion_mnist", split=["train[:80%]", "train[80%:]"], as_supervised=True,
                           data_dir=folder)
    labels = np.concatenate([np.array([lab for _, lab in tfds.as_numpy(ds)]) for ds in (train, val)])
    np.testing.assert_array_equal(labels, y)


def test_plain_tfds_load_prepares_offline_without_any_network(tmp_path, monkeypatch):
    _offline(monkeypatch)
    ds, info = tfds.load("course_timeseries/sunspots", split="train", data_dir=str(tmp_path), with_info=True)
    assert info.splits["train"].num_examples == 309
    first = next(iter(tfds.as_numpy(ds)))
    assert first["YEAR"] == 1700 and first["SUNACTIVITY"] == 5.0


def test_a_corrupt_file_raises_the_course_error_and_its_fix_works(data_copy, tmp_path, monkeypatch):
    path = data_copy / "sunspots.csv"
    path.write_bytes(path.read_bytes().replace(b"1700,5", b"1700,7"))
    for call in (lambda: load_tfds("sunspots", data_dir=tmp_path / "tfds"),
                 lambda: tfds.load("course_timeseries/sunspots", data_dir=str(tmp_path / "plain"))):
        with pytest.raises(bundled.DatasetError, match=r"sunspots\.csv is corrupt: sha256") as err:
            call()
    assert not (tmp_path / "plain" / "course_timeseries" / "sunspots").exists() or not list(
        (tmp_path / "plain" / "course_timeseries" / "sunspots").glob("*/dataset_info.json"))
    fix = re.findall(r"`([^`]+)`", str(err.value).split("Fix:", 1)[1])[0]
    exec(fix, {"shutil": shutil})  # noqa: S102 - the suggested fix, run as a user would
    bundled._VERIFIED.clear()
    assert load_tfds("sunspots", split="train", data_dir=tmp_path / "tfds").cardinality() == 309


def test_a_changed_bundled_file_is_prepared_again(data_copy, tmp_path):
    folder = tmp_path / "tfds"
    assert next(iter(tfds.as_numpy(load_tfds("sunspots", split="train[:1]", data_dir=folder))))["SUNACTIVITY"] == 5
    # a new release of datasets/: a new value, and the MANIFEST line updated to match
    path = data_copy / "sunspots.csv"
    old_sha = hashlib.sha256(path.read_bytes()).hexdigest()
    path.write_bytes(path.read_bytes().replace(b"1700,5", b"1700,6"))
    new_sha = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest = data_copy / "MANIFEST"
    manifest.write_bytes(manifest.read_bytes().replace(old_sha.encode(), new_sha.encode()))
    bundled._VERIFIED.clear()
    ds, info = load_tfds("sunspots", split="train[:1]", data_dir=folder, with_info=True)
    assert next(iter(tfds.as_numpy(ds)))["SUNACTIVITY"] == 6 and info.metadata["sha256"] == new_sha


def test_online_without_network_fails_fast_with_a_fix_that_works(prepared, monkeypatch, tmp_path):
    folder, _ = prepared
    _offline(monkeypatch)
    start = time.perf_counter()
    with pytest.raises(bundled.DatasetError, match=r"source='online' needs the internet .*'fashion_mnist'") as err:
        load_tfds("fashion_mnist", split="train[:80%]", source="online", data_dir=folder)
    assert time.perf_counter() - start < 20
    assert "nothing was downloaded" in str(err.value)
    assert not (folder / "fashion_mnist").exists()  # TFDS did not start preparing the catalogue dataset
    (fix,) = re.findall(r"`([^`]+)`", str(err.value).split("Fix:", 1)[1])
    ds = eval(fix, {"data": data})  # noqa: S307 - the suggested fix, run as a user would
    assert int(ds.cardinality()) == 12800
    # a name with no bundled copy: the message says what to do instead
    with pytest.raises(bundled.DatasetError, match=r"'cifar10'.*Fix: connect to the internet"):
        load_tfds("cifar10", source="online", data_dir=tmp_path)


def test_the_probe_is_bounded_even_when_the_name_lookup_hangs(monkeypatch):
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: time.sleep(60))
    start = time.perf_counter()
    assert is_online(timeout=0.5) is False
    assert time.perf_counter() - start < 2
    _offline(monkeypatch)
    assert is_online() is False


def test_online_asks_tfds_catalogue_for_the_full_dataset(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(tfds_load, "is_online", lambda *a, **k: True)
    monkeypatch.setattr(tfds, "load", lambda name, **kw: calls.append((name, kw)) or "dataset")
    for course, catalogue in (("movie_reviews", "imdb_reviews"), ("shakespeare", "tiny_shakespeare"),
                              ("mnist", "mnist"), ("cifar10", "cifar10")):
        assert load_tfds(course, split="train", source="online", data_dir=tmp_path, as_supervised=True) == "dataset"
        assert calls[-1][0] == catalogue and calls[-1][1]["split"] == "train" and calls[-1][1]["as_supervised"]


@pytest.mark.parametrize("kwargs, exc, arg", [
    (dict(name=3), TypeError, "name"),
    (dict(name="mnist", source="internet"), ValueError, "source"),
    (dict(name="mnist", split=5), TypeError, "split"),
    (dict(name="mnist", as_supervised="yes"), TypeError, "as_supervised"),
    (dict(name="mnist", with_info=1), TypeError, "with_info"),
    (dict(name="mnist", data_dir=3), TypeError, "data_dir"),
    (dict(name="cifar10"), ValueError, "source='online'"),
    (dict(name="mnistt", source="online"), ValueError, r"did you mean \['mnist'"),
])
def test_bad_arguments_are_named(kwargs, exc, arg):
    name = kwargs.pop("name")
    with pytest.raises(exc, match=arg):
        load_tfds(name, **kwargs)


def test_errors_that_name_another_choice_are_right(prepared):
    folder, _ = prepared
    with pytest.raises(ValueError, match="bundled counterpart is 'movie_reviews'"):
        load_tfds("imdb_reviews", data_dir=folder)
    assert int(load_tfds("movie_reviews", split="test", data_dir=folder).cardinality()) == 2114
    with pytest.raises(ValueError, match="bundled only .* use source='bundled'"):
        load_tfds("co2", source="online", data_dir=folder)
    assert int(load_tfds("co2", source="bundled", split="train", data_dir=folder).cardinality()) == 2284
    assert set(load_tfds("course_shakespeare", data_dir=folder)) == {"train", "validation", "test"}


def test_tfds_dir_is_the_course_folder_or_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("COURSE_TFDS_DIR", raising=False)
    assert tfds_dir() in (bundled.default_data_dir().parent / "tfds_data",
                          tfds_builders.Path(tfds_builders.tempfile.gettempdir()) / "course_tensorflow_datasets")
    monkeypatch.setenv("COURSE_TFDS_DIR", str(tmp_path / "mine"))
    assert tfds_dir() == tmp_path / "mine" and (tmp_path / "mine").is_dir()
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("COURSE_TFDS_DIR", str(blocker / "sub"))
    with pytest.raises(ValueError, match="COURSE_TFDS_DIR"):
        tfds_dir()
    monkeypatch.delenv("COURSE_TFDS_DIR")  # the fix the message gives
    assert tfds_dir().is_dir()


def test_the_repo_folder_is_git_ignored():
    root = bundled.default_data_dir().parent
    assert "/tfds_data/" in (root / ".gitignore").read_text(encoding="utf-8").splitlines()
