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
                     requests: int = 2000, warmup: int = 200) -> list[dict[str, Any]]:
    """Load-test each model (label -> SavedModel or base path) with and without server-side batching.

    For each of :data:`BATCHING_SETTINGS`, start a fresh server with every model; for each model send
    ``warmup`` requests, then run :func:`load_test`. Returns one dict per run: ``model``, ``setting`` and the
    :func:`load_test` figures. Used by chapter 13 and ``benchmarks/serve_load.py``.
    """
    if not models:
        raise ValueError("models must map at least one label to a SavedModel path")
    rows = []
    names = {label: f"m{i}" for i, label in enumerate(models)}
    for setting, flags in BATCHING_SETTINGS.items():
        with launch({names[label]: path for label, path in models.items()}, args=flags) as server:
            for label in models:
                url = f"{server.url(names[label])}:predict"
                load_test(url, body, concurrency=min(concurrency, warmup), requests=warmup)
                rows.append({"model": label, "setting": setting,
                             **load_test(url, body, concurrency=concurrency, requests=requests)})
    return sorted(rows, key=lambda r: list(models).index(r["model"]))


def table(rows: list[dict[str, Any]]) -> str:
    """:func:`compare_batching`'s rows as a Markdown table (p50/p99 in ms, requests per second)."""
    lines = ["| model | server | concurrent connections | requests | p50 latency (ms) | p99 latency (ms) "
             "| requests/s |",
             "|---|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['model']} | {r['setting']} | {r['concurrency']} | {r['requests']} | {r['p50_ms']:.0f} | "
              f"{r['p99_ms']:.0f} | {r['requests_per_s']:.0f} |" for r in rows]
    return "\n".join(lines)
