"""Load benchmark of the course's model server (`course_lib.serve`): latency and throughput with and
without server-side batching, over real HTTP on 127.0.0.1.

Two models are served (untrained weights: the cost of a forward pass does not depend on their values):
chapter 13's MNIST CNN, whose per-image compute is small next to HTTP and JSON handling, and a wide MLP
whose every call reads 80 MB of weights, so that batching can share that cost. Each request is one
28x28 image in row format (about 6 KB of JSON). The load generator is closed loop and bounded
(`course_lib.serve_client.load_test`): CONCURRENCY keep-alive connections, REQUESTS requests in all,
each connection sending its next request when the previous answer arrives. Client and server share this machine's CPUs.

    make bench-serve                      # 200 concurrent connections, 3 runs of 1000 requests per setting
    python benchmarks/serve_load.py --quick   # a few seconds (used by tests/test_serve_load.py)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from course_lib import deploy, serve_client  # noqa: E402


def cnn() -> object:
    """Chapter 13's MNIST CNN (57k parameters): one image costs little, HTTP and JSON dominate."""
    import keras

    keras.utils.set_random_seed(0)
    return keras.Sequential([
        keras.Input((28, 28, 1), name="image"),
        keras.layers.Conv2D(16, 3, activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Flatten(), keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10, activation="softmax", dtype="float32"),
    ])


def wide_mlp() -> object:
    """A wide MLP (20M parameters, 80 MB of float32 weights): each call reads every weight, so one
    call on 32 images costs little more than one call on one image."""
    import keras

    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((28, 28, 1), name="image"), keras.layers.Flatten(),
                             keras.layers.Dense(4096, activation="relu"), keras.layers.Dense(4096, activation="relu"),
                             keras.layers.Dense(10, activation="softmax")])


def run(concurrency: int, requests: int, warmup: int, repeats: int) -> list[dict]:
    image = np.random.default_rng(0).random((1, 28, 28, 1)).round(3).astype("float32")
    body = json.dumps({"instances": image.tolist()}).encode()
    with tempfile.TemporaryDirectory() as tmp:
        paths = {"CNN, 57k parameters": deploy.export_savedmodel(cnn(), Path(tmp) / "cnn" / "1"),
                 "wide MLP, 20M parameters": deploy.export_savedmodel(wide_mlp(), Path(tmp) / "mlp" / "1")}
        return serve_client.compare_batching(paths, body, concurrency=concurrency, requests=requests, warmup=warmup,
                                             repeats=repeats)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--requests", type=int, default=1000, help="requests per run")
    ap.add_argument("--repeats", type=int, default=3, help="runs per model and setting (mean ± sd)")
    ap.add_argument("--quick", action="store_true", help="20 connections, 100 requests, 2 runs (a smoke test)")
    args = ap.parse_args(argv)
    if args.quick:
        args.concurrency, args.requests, args.repeats = 20, 100, 2
    rows = run(args.concurrency, args.requests, warmup=min(200, args.requests), repeats=args.repeats)
    print(serve_client.table(rows))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n{os.cpu_count()} CPUs, 1-minute load average at the end {load:.2f}; "
          f"non-200 answers: {sum(r['non_200'] for r in rows)}")
    if any(r["non_200"] for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
