"""Server-side batching of concurrent ``:predict`` requests, as TF Serving's ``--enable_batching`` does.

Requests for the same model version and signature whose inputs agree in dtype and in every
dimension but the first are queued; the queue runs as one batch when it holds ``max_batch_size``
examples or when the first request has waited ``batch_timeout_micros`` (TF Serving's
``BatchingParameters`` of the same names, ``tensorflow_serving/g3doc/serving_config.md`` section
"Batching Configuration"). The model then runs once on the concatenated batch, and each request
gets its own rows back. Larger batches use the CPU better (one call, one set of weight reads);
the price is the wait for the batch to fill.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

import numpy as np

Predict = Callable[[dict[str, np.ndarray], str], dict[str, np.ndarray]]


class Batcher:
    """Queue concurrent requests and run them through ``predict`` in batches (on ``executor``).

    Args:
        executor: where the model runs (a thread pool), so the event loop stays free.
        max_batch_size: most examples in one batch (>= 1).
        batch_timeout_micros: longest wait, in microseconds, for a batch to fill (>= 0).
    """

    def __init__(self, executor: Executor, *, max_batch_size: int = 32, batch_timeout_micros: int = 2000) -> None:
        if not isinstance(max_batch_size, int) or max_batch_size < 1:
            raise ValueError(f"max_batch_size must be an int >= 1, got {max_batch_size!r}")
        if not isinstance(batch_timeout_micros, int) or batch_timeout_micros < 0:
            raise ValueError(f"batch_timeout_micros must be an int >= 0, got {batch_timeout_micros!r}")
        self.executor = executor
        self.max_batch_size = max_batch_size
        self.timeout_s = batch_timeout_micros / 1e6
        self._queues: dict[Any, list[tuple[dict[str, np.ndarray], int, asyncio.Future[Any]]]] = {}
        self._timers: dict[Any, asyncio.TimerHandle] = {}
        self.batch_sizes: list[int] = []  # examples per batch run, for the curious

    @staticmethod
    def rows(tensors: dict[str, np.ndarray]) -> int | None:
        """The shared batch size of ``tensors`` (first dimension), or ``None`` when they do not share one."""
        sizes = {t.shape[0] if t.ndim else None for t in tensors.values()}
        return sizes.pop() if len(sizes) == 1 and None not in sizes else None

    async def predict(self, predict: Predict, key: Any, tensors: dict[str, np.ndarray], signature: str) -> Any:
        """Run ``predict(tensors, signature)``, batched with other requests that share ``key``."""
        loop = asyncio.get_running_loop()
        n = self.rows(tensors)
        if n is None or n == 0 or n >= self.max_batch_size:  # nothing to gain: run it alone
            return await loop.run_in_executor(self.executor, predict, tensors, signature)
        shape_key = (key, signature, tuple((k, t.dtype.str, t.shape[1:]) for k, t in sorted(tensors.items())))
        future: asyncio.Future[Any] = loop.create_future()
        queue = self._queues.setdefault(shape_key, [])
        queue.append((tensors, n, future))
        if sum(item[1] for item in queue) >= self.max_batch_size:
            self._flush(shape_key, predict, signature)
        elif len(queue) == 1:
            self._timers[shape_key] = loop.call_later(self.timeout_s, self._flush, shape_key, predict, signature)
        return await future

    def _flush(self, shape_key: Any, predict: Predict, signature: str) -> None:
        timer = self._timers.pop(shape_key, None)
        if timer is not None:
            timer.cancel()
        items = self._queues.pop(shape_key, [])
        if items:
            asyncio.get_running_loop().create_task(self._run(items, predict, signature))

    async def _run(self, items: list[Any], predict: Predict, signature: str) -> None:
        loop = asyncio.get_running_loop()
        total = sum(n for _, n, _ in items)
        self.batch_sizes.append(total)
        names = items[0][0].keys()
        batch = {k: np.concatenate([t[k] for t, _, _ in items]) for k in names}
        try:
            out = await loop.run_in_executor(self.executor, predict, batch, signature)
            if any(np.ndim(a) == 0 or np.shape(a)[0] != total for a in out.values()):
                raise ValueError("an output has no batch dimension")
        except Exception:  # noqa: BLE001 - isolate the failing request: run each one alone
            for tensors, _, future in items:
                try:
                    result = await loop.run_in_executor(self.executor, predict, tensors, signature)
                    if not future.done():
                        future.set_result(result)
                except Exception as err:  # noqa: BLE001 - handed to the waiting request
                    if not future.done():
                        future.set_exception(err)
            return
        start = 0
        for _, n, future in items:
            if not future.done():
                future.set_result({k: a[start:start + n] for k, a in out.items()})
            start += n
