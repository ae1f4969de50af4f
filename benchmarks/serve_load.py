"""Load benchmark of the course's model server (`course_lib.serve`): latency and throughput with and
without server-side batching, over real HTTP on 127.0.0.1.

The served model has chapter 13's MNIST CNN architecture (untrained weights: the cost of a forward
pass does not depend on their values). Each request is one 28x28 image in row format (about 6 KB of
JSON). The load generator is closed loop and bounded (`course_lib.serve_client.load_test`):
CONCURRENCY keep-alive connections, REQUESTS requests in all, each connection sending its next
request when the previous answer arrives. Client and server share this machine's CPUs.

    make bench-serve                      # 200 concurrent connections, 2000 requests per setting
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

SETTINGS = {"no batching": [], "batching (max 32, 2 ms)": ["--enable_batching", "--max_batch_size", "32",
                                                           "--batch_timeout_micros", "2000"]}


def cnn() -> object:
    import keras

    keras.utils.set_random_seed(0)
    return keras.Sequential([
        keras.Input((28, 28, 1), name="image"),
        keras.layers.Conv2D(16, 3, activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Flatten(), keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10, activation="softmax", dtype="float32"),
    ])


def run(concurrency: int, requests: int, warmup: int) -> list[dict]:
    image = np.random.default_rng(0).random((1, 28, 28, 1)).round(3).astype("float32")
    body = json.dumps({"instances": image.tolist()}).encode()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = deploy.export_savedmodel(cnn(), Path(tmp) / "mnist" / "1")
        for setting, args in SETTINGS.items():
            with serve_client.launch({"mnist": path.parent}, args=args) as server:
                serve_client.load_test(f"{server.url()}:predict", body, concurrency=min(concurrency, warmup),
                                       requests=warmup)
                stats = serve_client.load_test(f"{server.url()}:predict", body, concurrency=concurrency,
                                               requests=requests)
                rows.append({"setting": setting, **stats})
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| server | concurrent connections | requests | p50 latency (ms) | p99 latency (ms) | requests/s |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['setting']} | {r['concurrency']} | {r['requests']} | {r['p50_ms']:.0f} | "
                     f"{r['p99_ms']:.0f} | {r['requests_per_s']:.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--quick", action="store_true", help="20 connections, 100 requests (a smoke test)")
    args = ap.parse_args(argv)
    if args.quick:
        args.concurrency, args.requests = 20, 100
    rows = run(args.concurrency, args.requests, warmup=min(200, args.requests))
    print(table(rows))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n{os.cpu_count()} CPUs, 1-minute load average at the end {load:.2f}; "
          f"non-200 answers: {sum(r['non_200'] for r in rows)}")
    if any(r["non_200"] for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
