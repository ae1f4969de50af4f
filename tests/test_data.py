"""course_lib.data: every dataset loads offline with known facts; bad files are refused."""

import shutil

import numpy as np
import pytest
import tensorflow as tf

from course_lib import data


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A private copy of datasets/ that a test may damage."""
    src = data.data_dir()
    dst = tmp_path / "datasets"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("build.py", "__pycache__"))
    monkeypatch.setenv("COURSE_DATA_DIR", str(dst))
    data._VERIFIED.clear()
    yield dst
    data._VERIFIED.clear()


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


def test_corrupt_file_is_refused_with_the_fix(data_copy):
    path = data_copy / "mnist.npz"
    blob = bytearray(path.read_bytes())
    blob[1000] ^= 0xFF
    path.write_bytes(bytes(blob))
    with pytest.raises(data.DatasetError, match="mnist.npz is corrupt") as err:
        data.load_mnist()
    assert "git checkout -- datasets/mnist.npz" in str(err.value) and "build.py" in str(err.value)


def test_missing_file_is_refused_with_the_fix(data_copy):
    (data_copy / "shakespeare.txt.xz").unlink()
    with pytest.raises(data.DatasetError, match="shakespeare.txt.xz is missing"):
        data.load_shakespeare()


def test_missing_manifest(data_copy):
    (data_copy / "MANIFEST").unlink()
    with pytest.raises(data.DatasetError, match="MANIFEST is missing"):
        data.load_timeseries("co2")


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
