"""Clients for :mod:`course_lib.serve`: start the server as a process, and measure it under load.

Used by chapter 13, ``benchmarks/serve_load.py`` and the tests. The load generator is *closed
loop* and bounded: ``concurrency`` connections on 127.0.0.1, each sending its next request as soon
as the previous answer arrives, ``requests`` requests in all. Latency is measured per request from
the first byte sent to the last byte received; throughput is requests / wall time.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """A running ``python -m course_lib.serve`` process; use as a context manager (stops on exit)."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, names: list[str]) -> None:
        self.proc, self.port, self.names = proc, port, names
        self.root = f"http://127.0.0.1:{port}"

    def url(self, name: str | None = None) -> str:
        """``http://127.0.0.1:<port>/v1/models/<name>`` (the first model when ``name`` is None)."""
        return f"{self.root}/v1/models/{name or self.names[0]}"

    def alive(self) -> bool:
        """True while the server process runs."""
        return self.proc.poll() is None

    def stop(self) -> None:
        """Terminate the server and wait for it (kill after 10 s)."""
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def launch(models: Mapping[str, str | Path], *, args: Sequence[str] = (), port: int | None = None,
           timeout_s: float = 120.0) -> ServerProcess:
    """Start ``python -m course_lib.serve`` serving ``models`` (name -> path) and wait until it answers.

    Raises ``ValueError`` for an empty ``models`` and ``RuntimeError`` (with the server's output)
    when it exits or does not answer within ``timeout_s`` seconds.
    """
    import httpx

    if not models:
        raise ValueError("models must name at least one model: {name: SavedModel path}")
    port = port or free_port()
    cmd = [sys.executable, "-m", "course_lib.serve", "--port", str(port), *args]
    for name, path in models.items():
        cmd += ["--model", f"{name}={path}"]
    root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    server = ServerProcess(proc, port, list(models))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not server.alive():
            raise RuntimeError(f"the server exited: {proc.stdout.read().decode(errors='replace')[-2000:]}")
        try:
            if httpx.get(server.url(), timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"the server did not answer within {timeout_s:g} s")


async def _one_connection(port: int, request: bytes, todo: list[int], latencies: list[float],
                          statuses: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while todo:
            todo.pop()
            t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                key, _, value = line.partition(b":")
                if key.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - t0)
            statuses.append(int(head.split(b" ", 2)[1]))
    finally:
        writer.close()


def load_test(url: str, body: bytes, *, concurrency: int = 200, requests: int = 2000) -> dict[str, float]:
    """POST ``body`` to ``url`` ``requests`` times over ``concurrency`` keep-alive connections.

    Returns ``p50_ms``, ``p99_ms`` (latency percentiles in milliseconds), ``requests_per_s``,
    ``non_200`` (answers other than 200) and the settings. Works inside Jupyter (runs its own
    event loop in a thread). Raises ``ValueError`` for a bad ``url``/``concurrency``/``requests``.
    """
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"url must be http://127.0.0.1:<port>/..., got {url!r}")
    if not isinstance(concurrency, int) or not isinstance(requests, int) or not 1 <= concurrency <= requests:
        raise ValueError(f"need ints 1 <= concurrency <= requests, got {concurrency!r}, {requests!r}")
    hostport, _, path = url[len("http://"):].partition("/")
    port = int(hostport.split(":")[1])
    request = (f"POST /{path} HTTP/1.1\r\nhost: {hostport}\r\ncontent-type: application/json\r\n"
               f"content-length: {len(body)}\r\n\r\n").encode() + body
    todo, latencies, statuses = list(range(requests)), [], []
    elapsed: list[float] = []

    async def run() -> None:
        t0 = time.perf_counter()
        await asyncio.gather(*(_one_connection(port, request, todo, latencies, statuses) for _ in range(concurrency)))
        elapsed.append(time.perf_counter() - t0)

    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(run())
        except (OSError, asyncio.IncompleteReadError, ValueError) as err:
            errors.append(err)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors or not elapsed:
        raise RuntimeError(f"the load test failed (is the server running?): {errors[:1]}")
    lat = np.array(latencies) * 1e3
    return {"concurrency": concurrency, "requests": len(lat), "p50_ms": float(np.percentile(lat, 50)),
            "p99_ms": float(np.percentile(lat, 99)), "requests_per_s": len(lat) / elapsed[0],
            "non_200": int(sum(s != 200 for s in statuses))}


BATCHING_SETTINGS = {"no batching": [], "batching (max 32, 2 ms)": ["--enable_batching", "--max_batch_size", "32",
                                                                   "--batch_timeout_micros", "2000"]}


def compare_batching(models: Mapping[str, str | Path], body: bytes, *, concurrency: int = 200,
                     requests: int = 1000, warmup: int = 200, repeats: int = 3) -> list[dict[str, Any]]:
    """Load-test each model (label -> SavedModel or base path) with and without server-side batching.

    Starts one server per setting of :data:`BATCHING_SETTINGS`, each serving every model, warms each
    model up with ``warmup`` requests, then runs :func:`load_test` ``repeats`` times per model and
    setting, alternating settings so that a change in the machine's load hits both alike. Returns one
    dict per model and setting: ``model``, ``setting``, ``concurrency``, ``requests`` (per run),
    ``repeats``, the mean and sample standard deviation (``*_sd``) over runs of ``p50_ms``, ``p99_ms``
    and ``requests_per_s``, and ``non_200`` (summed). Used by chapter 13 and ``benchmarks/serve_load.py``.
    """
    if not models:
        raise ValueError("models must map at least one label to a SavedModel path")
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be an int >= 1, got {repeats!r}")
    names = {label: f"m{i}" for i, label in enumerate(models)}
    servers: dict[str, ServerProcess] = {}
    runs: dict[tuple[str, str], list[dict[str, float]]] = {(m, s): [] for m in models for s in BATCHING_SETTINGS}
    try:
        for setting, flags in BATCHING_SETTINGS.items():
            servers[setting] = launch({names[label]: path for label, path in models.items()}, args=flags)
        def url(label: str, setting: str) -> str:
            return f"{servers[setting].url(names[label])}:predict"

        for label in models:  # warm-up, not recorded
            for setting in servers:
                load_test(url(label, setting), body, concurrency=min(concurrency, warmup), requests=warmup)
        for _ in range(repeats):
            for label in models:
                for setting in servers:
                    runs[label, setting].append(load_test(url(label, setting), body, concurrency=concurrency,
                                                          requests=requests))
    finally:
        for server in servers.values():
            server.stop()
    rows = []
    for label in models:
        for setting in BATCHING_SETTINGS:
            r = runs[label, setting]
            row: dict[str, Any] = {"model": label, "setting": setting, "concurrency": concurrency,
                                   "requests": requests, "repeats": len(r), "non_200": sum(x["non_200"] for x in r)}
            for key in ("p50_ms", "p99_ms", "requests_per_s"):
                values = np.array([x[key] for x in r])
                row[key] = float(values.mean())
                row[key + "_sd"] = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
            rows.append(row)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """:func:`compare_batching`'s rows as a Markdown table: mean ± sd over runs of p50/p99 latency (ms)
    and requests per second."""
    def pm(r: dict[str, Any], key: str) -> str:
        return f"{r[key]:.0f} ± {r[key + '_sd']:.0f}"

    lines = ["| model | server | concurrent connections | requests × runs | p50 latency (ms) | p99 latency (ms) "
             "| requests/s |", "|---|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['model']} | {r['setting']} | {r['concurrency']} | {r['requests']} × {r['repeats']} | "
              f"{pm(r, 'p50_ms')} | {pm(r, 'p99_ms')} | {pm(r, 'requests_per_s')} |" for r in rows]
    return "\n".join(lines)
