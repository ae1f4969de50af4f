"""One call for both data paths: the course's bundled TFDS datasets, or TFDS' public catalogue online.

``load_tfds`` has the call shape of ``tfds.load`` (``split``, ``as_supervised``, ``with_info``) and returns
what ``tfds.load`` returns. ``source="bundled"`` (the default) prepares the course's own builders
(:mod:`course_lib.tfds_builders`) from ``datasets/``, with no network; ``source="online"`` asks TFDS'
catalogue for the full dataset (``mnist``, ``fashion_mnist``, ``imdb_reviews``, ``tiny_shakespeare``...,
or any other TFDS name). TFDS retries for minutes when there is no network, so an online load first
checks, in at most :data:`PROBE_TIMEOUT_S` seconds, that it can reach :data:`PROBE_ADDRESS`, and
otherwise raises :class:`~course_lib.bundled.DatasetError` at once with a fix that works offline. A
dataset already prepared in ``data_dir`` loads offline with either source.

====================  ================================  =======================================
course name           bundled (TFDS name)               online (TFDS' catalogue)
====================  ================================  =======================================
mnist                 course_mnist (70,000)             mnist (70,000)
fashion_mnist         course_fashion_mnist (21,000)     fashion_mnist (70,000)
movie_reviews         course_movie_reviews (10,568)     imdb_reviews (50,000 labelled + 50,000)
shakespeare           course_shakespeare (42 works)     tiny_shakespeare (1.1 M characters)
sunspots, co2,        course_timeseries/<name>          (bundled only)
seattle_weather
model_scale           course_model_scale                (bundled only)
====================  ================================  =======================================
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from course_lib import bundled

COURSE_DATASETS: dict[str, tuple[str, str | None]] = {
    "mnist": ("course_mnist", "mnist"),
    "fashion_mnist": ("course_fashion_mnist", "fashion_mnist"),
    "movie_reviews": ("course_movie_reviews", "imdb_reviews"),
    "shakespeare": ("course_shakespeare", "tiny_shakespeare"),
    "sunspots": ("course_timeseries/sunspots", None),
    "co2": ("course_timeseries/co2", None),
    "seattle_weather": ("course_timeseries/seattle_weather", None),
    "model_scale": ("course_model_scale", None),
}
"""Course name -> (bundled TFDS name, TFDS catalogue name online or None when bundled only)."""

SOURCES = ("bundled", "online")
PROBE_ADDRESS = ("storage.googleapis.com", 443)  # where TFDS keeps most datasets' files and metadata
PROBE_TIMEOUT_S = 3.0


def is_online(address: tuple[str, int] | None = None, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether a TCP connection to ``address`` (default :data:`PROBE_ADDRESS`) opens within ``timeout`` s.

    The name lookup runs in a daemon thread too, so a hanging DNS server cannot stall the caller: the
    answer always comes within about ``timeout`` seconds.
    """
    host, port = address or PROBE_ADDRESS
    result: list[bool] = []

    def probe() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True, name="course-online-probe")
    thread.start()
    thread.join(timeout + 0.5)
    return bool(result and result[0])


def _check(name: object, split: object, source: object, flags: dict[str, object], data_dir: object) -> None:
    if not isinstance(name, str):
        raise TypeError(f"name must be a dataset name (str), got {type(name).__name__}")
    if not isinstance(source, str) or source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    if split is not None and not isinstance(split, (str, list, tuple)) and \
            type(split).__name__ != "ReadInstruction":
        raise TypeError(f"split must be None, a split string such as 'train[:80%]', or a list of them, got "
                        f"{type(split).__name__}")
    for flag, value in flags.items():
        if not isinstance(value, bool):
            raise TypeError(f"{flag} must be True or False, got {value!r}")
    if data_dir is not None and not isinstance(data_dir, (str, os.PathLike)):
        raise TypeError(f"data_dir must be a folder path (str or pathlib.Path) or None, got {type(data_dir).__name__}")


def _bundled_name(name: str) -> str:
    if name in COURSE_DATASETS:
        return COURSE_DATASETS[name][0]
    full = {bundled_name: short for short, (bundled_name, _) in COURSE_DATASETS.items()}
    if name in full:
        return name
    online_of = {online: short for short, (_, online) in COURSE_DATASETS.items() if online}
    hint = (f" (its bundled counterpart is {online_of[name]!r})" if name in online_of else
            " (for TFDS' public catalogue pass source='online')")
    raise ValueError(f"name must be one of the bundled datasets {sorted(COURSE_DATASETS)}, got {name!r}{hint}")


def _online_name(name: str) -> str:
    import tensorflow_datasets as tfds

    if name in COURSE_DATASETS:
        online = COURSE_DATASETS[name][1]
        if online is None:
            raise ValueError(f"name={name!r} is bundled only (complete in datasets/): use source='bundled'")
        return online
    known = tfds.list_builders(with_community_datasets=False)
    if name.split(":")[0].split("/")[0] not in known:
        close = get_close_matches(name, known, n=3)
        raise ValueError(f"name {name!r} is not in TFDS' catalogue" + (f"; did you mean {close}?" if close else ""))
    return name


def _fix_call(name: str, split: Any, data_dir: Any) -> str:
    args = [repr(name)] + ([f"split={split!r}"] if split is not None else [])
    args += [f"data_dir={str(data_dir)!r}"] if data_dir is not None else []
    return f"data.load_tfds({', '.join(args)}, source='bundled')"


def _prepare_bundled(tfds_name: str, data_dir: Path) -> None:
    """Prepare a course builder unless an up-to-date copy (same MANIFEST sha256) is already there."""
    import tensorflow_datasets as tfds

    from course_lib import tfds_builders  # noqa: F401 - registers the course's builders

    builder = tfds.builder(tfds_name, data_dir=os.fspath(data_dir))
    bundled.verify(builder.FILE)  # the course's DatasetError (with its fix) for a missing or corrupt file
    want = bundled.manifest()[builder.FILE]["sha256"]
    if builder.is_prepared():
        if builder.info.metadata.get("sha256") == want:
            return
        # Prepared from an older release of the file: drop it, and build afresh (a new builder, whose
        # DatasetInfo comes from the code and the current MANIFEST, not from the stale folder).
        shutil.rmtree(os.fspath(builder.data_path))
        builder = tfds.builder(tfds_name, data_dir=os.fspath(data_dir))
    builder.download_and_prepare()


def load_tfds(
    name: str,
    *,
    split: Any = None,
    source: str = "bundled",
    as_supervised: bool = False,
    with_info: bool = False,
    shuffle_files: bool = False,
    data_dir: str | os.PathLike | None = None,
) -> Any:
    """``tfds.load`` for the course: the bundled copy by default, TFDS' full dataset with ``source="online"``.

    Args:
        name: a course name (``"fashion_mnist"``, ``"movie_reviews"``... see the module table), a course
            TFDS name (``"course_mnist"``) for the bundled source, or any TFDS catalogue name online.
        split: as in ``tfds.load``: ``"train"``, ``"train[:80%]"``, ``"test[:1000]"``, a list of them, or
            ``None`` for a dict of every split.
        source: ``"bundled"`` (no network) or ``"online"``.
        as_supervised, with_info, shuffle_files: as in ``tfds.load``.
        data_dir: where prepared datasets live; default :func:`course_lib.tfds_builders.tfds_dir`.

    Returns:
        What ``tfds.load`` returns: a ``tf.data.Dataset`` (a dict of them when ``split`` is None), and its
        ``tfds.core.DatasetInfo`` too when ``with_info``.

    Raises:
        TypeError / ValueError: naming the bad argument (unknown ``name``, bad ``source``...).
        DatasetError: a bundled file is missing or corrupt (with the fix from :mod:`course_lib.bundled`),
            or ``source="online"`` without network for a dataset not yet prepared (raised within about
            :data:`PROBE_TIMEOUT_S` seconds, with a fix that works offline).
    """
    flags = {"as_supervised": as_supervised, "with_info": with_info, "shuffle_files": shuffle_files}
    _check(name, split, source, flags, data_dir)
    import tensorflow_datasets as tfds

    from course_lib.tfds_builders import tfds_dir

    folder = Path(data_dir) if data_dir is not None else tfds_dir()
    if source == "bundled":
        tfds_name = _bundled_name(name)
        _prepare_bundled(tfds_name, folder)
    else:
        tfds_name = _online_name(name)
        if not tfds.builder(tfds_name, data_dir=os.fspath(folder)).is_prepared() and not is_online():
            host, port = PROBE_ADDRESS
            fix = (f"use the course's bundled copy: `{_fix_call(name, split, data_dir)}`"
                   if name in COURSE_DATASETS else
                   f"connect to the internet and retry, or choose one of the bundled datasets "
                   f"{sorted(COURSE_DATASETS)} with source='bundled'")
            raise bundled.DatasetError(
                f"source='online' needs the internet to download {tfds_name!r}, but {host}:{port} cannot be "
                f"reached (offline?); nothing was downloaded. Fix: {fix}.")
    return tfds.load(tfds_name, split=split, data_dir=os.fspath(folder), as_supervised=as_supervised,
                     with_info=with_info, shuffle_files=shuffle_files)
