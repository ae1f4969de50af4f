"""A model server that speaks TensorFlow Serving's REST API (FastAPI + uvicorn).

TensorFlow Serving itself is a C++ server shipped as a Docker image or Debian package; it cannot
be installed in every classroom. This server loads the same SavedModels and answers the same
requests with the same JSON, status codes and error texts, so a client written against it works
against TF Serving (tensorflow/serving ``tensorflow_serving/g3doc/api_rest.md``; routing as in
``tensorflow_serving/model_servers/http_rest_api_handler.cc``; JSON as in
``tensorflow_serving/util/json_tensor.cc``, ported in :mod:`course_lib.serve_protocol`):

- ``GET  /v1/models/<name>[/versions/<n>|/labels/<label>]``            model status
- ``GET  /v1/models/<name>[/versions/<n>|/labels/<label>]/metadata``   ``GetModelMetadataResponse``
- ``POST /v1/models/<name>[/versions/<n>|/labels/<label>]:predict``    row (``instances``) or columnar
  (``inputs``) body, optional ``signature_name``; answer ``predictions`` or ``outputs``

Every error is ``{"error": "<message>"}`` with a 4xx status: 400 for a malformed body or URL
(TF Serving's ``InvalidArgument``), 404 for an unknown model or version, 408 for a client too slow
to send its headers or body, 413 for a body over ``max_body_bytes``.

Inference, JSON decoding and JSON encoding run in a thread pool, never on the event loop, so a
long prediction does not delay status or metadata requests. ``enable_batching`` groups concurrent
requests into one model call (:mod:`course_lib.serve_batching`), as ``--enable_batching`` does.

Run it with::

    python -m course_lib.serve --model path/to/savedmodel --name mnist     # binds 127.0.0.1:8501
    python -m course_lib.serve --model mnist=models/mnist --label stable=1 --enable_batching
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.requests import ClientDisconnect

from course_lib.deploy import ServingModel
from course_lib.serve_batching import Batcher
from course_lib.serve_protocol import (
    ServingError,
    check_shapes,
    encode_predict,
    error_body,
    loads,
    metadata_body,
    parse_predict,
    status_body,
)
from course_lib.serve_tensors import invalid

DEFAULT_HOST = "127.0.0.1"  # never exposed beyond this machine unless asked
DEFAULT_PORT = 8501  # TF Serving's REST port
MAX_BODY_BYTES = 10 * 2**20
# TF Serving's URL patterns (http_rest_api_handler.cc), with the /labels/ form of newer releases.
_VERSION = r"(?:/versions/(\d+)|/labels/([^/:]+))?"
PREDICT_ROUTE = re.compile(rf"/v1/models/([^/:]+){_VERSION}:(classify|regress|predict)", re.IGNORECASE)
STATUS_ROUTE = re.compile(rf"/v1/models(?:/([^/:]+))?{_VERSION}(?:/(metadata))?", re.IGNORECASE)
_OP_ERROR_STATUS = {3: 400, 9: 400, 11: 400, 5: 404, 8: 429}  # tf.errors codes -> HTTP, as TF Serving maps them


def load_versions(path: str | Path) -> dict[int, ServingModel]:
    """Load a SavedModel folder, or every numbered version folder under a TF Serving base path.

    ``models/mnist/1/saved_model.pb`` and ``models/mnist/2/...`` give versions 1 and 2 of
    ``models/mnist``; a SavedModel folder itself is version ``int(name)`` if its name is a number, else 1.
    Raises ``ValueError`` naming ``path`` when it holds no SavedModel.
    """
    path = Path(path)
    if (path / "saved_model.pb").is_file():
        return {int(path.name) if path.name.isdigit() else 1: ServingModel(path)}
    found = sorted((int(p.name), p) for p in path.glob("*") if p.name.isdigit() and (p / "saved_model.pb").is_file())
    if not found:
        raise ValueError(f"path must be a SavedModel folder or a folder of numbered versions, got {str(path)!r}")
    return {v: ServingModel(p) for v, p in found}


def _run_model(model: ServingModel, tensors: dict[str, Any], signature: str) -> dict[str, Any]:
    """Call the model; errors TensorFlow raises about the inputs become 4xx, as in TF Serving."""
    import tensorflow as tf

    try:
        return model.predict(tensors, signature)
    except tf.errors.OpError as err:
        status = _OP_ERROR_STATUS.get(err.error_code)
        if status is None:
            raise
        raise ServingError(status, err.message) from None
    except (TypeError, ValueError) as err:
        raise invalid(str(err)) from None


def _decode(body: bytes, model: ServingModel) -> tuple[str, str, dict[str, Any]]:
    """Body bytes -> (signature, format, checked tensors). Runs in the worker pool."""
    literals = b"true" in body or b"false" in body or b"null" in body
    try:
        signature, fmt, tensors = parse_predict(loads(body), model.signatures, literals=literals)
    except RecursionError:
        raise invalid("JSON value nests too deep") from None
    check_shapes(tensors, model.signatures[signature].inputs)
    return signature, fmt, tensors


def _decode_run_encode(body: bytes, model: ServingModel) -> bytes:
    signature, fmt, tensors = _decode(body, model)
    return encode_predict(_run_model(model, tensors, signature), fmt)


def create_app(models: dict[str, Any], *, max_body_bytes: int = MAX_BODY_BYTES,
               labels: dict[str, dict[str, int]] | None = None, enable_batching: bool = False,
               max_batch_size: int = 32, batch_timeout_micros: int = 2000, num_workers: int = 4,
               body_timeout_s: float = 30.0) -> Any:
    """Build the FastAPI app.

    Args:
        models: model name -> :class:`ServingModel`, or -> ``{version: ServingModel}``.
        labels: model name -> ``{label: version}`` (TF Serving's ``version_labels``).
        enable_batching, max_batch_size, batch_timeout_micros: server-side batching
            (:class:`course_lib.serve_batching.Batcher`).
        num_workers: threads that decode JSON, run the model and encode JSON.
        body_timeout_s: a request body not received within this many seconds gets a 408.
    """
    if not isinstance(models, dict) or not models:
        raise ValueError("models must be a non-empty dict of name -> ServingModel (or -> {version: ServingModel})")
    if not isinstance(max_body_bytes, int) or max_body_bytes < 1:
        raise ValueError(f"max_body_bytes must be a positive int, got {max_body_bytes!r}")
    if not isinstance(num_workers, int) or num_workers < 1:
        raise ValueError(f"num_workers must be an int >= 1, got {num_workers!r}")
    registry = {name: dict(m) if isinstance(m, dict) else {1: m} for name, m in models.items()}
    labels = labels or {}
    for name, table in labels.items():
        for label, version in table.items():
            if name not in registry or version not in registry[name]:
                raise ValueError(f"labels: {name}/{label} -> version {version}, which is not loaded")
    pool = ThreadPoolExecutor(max_workers=num_workers, thread_name_prefix="serve")
    batcher = Batcher(pool, max_batch_size=max_batch_size,
                      batch_timeout_micros=batch_timeout_micros) if enable_batching else None
    app = FastAPI(title="course_lib model server (TF Serving REST protocol)",
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.batcher = batcher

    def resolve(name: str, version: str | None, label: str | None) -> tuple[int, ServingModel]:
        versions = registry.get(name)
        if label is not None:
            if versions is None or label not in labels.get(name, {}):
                raise invalid(f"Unrecognized servable version label: {label}")
            v = labels[name][label]
            return v, versions[v]
        if version is not None:
            if len(version) > 18 or versions is None or int(version) not in versions:
                raise ServingError(404, f"Servable not found for request: Specific({name}, {version})")
            return int(version), versions[int(version)]
        if versions is None:
            raise ServingError(404, f"Servable not found for request: Latest({name})")
        v = max(versions)
        return v, versions[v]

    def json_response(payload: Any, status: int = 200) -> Response:
        content = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        # After 408/413 the rest of the body is not read: close the connection rather than reuse it.
        headers = {"connection": "close"} if status in (408, 413) else None
        return Response(content=content, status_code=status, media_type="application/json", headers=headers)

    async def read_body(request: Request) -> bytes:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_body_bytes:
            raise ServingError(413, f"request body of {declared} bytes is over the limit of {max_body_bytes}")
        chunks, size = [], 0
        try:
            async with asyncio.timeout(body_timeout_s):
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > max_body_bytes:
                        raise ServingError(413, f"request body is over the limit of {max_body_bytes} bytes")
                    chunks.append(chunk)
        except TimeoutError:
            raise ServingError(408, f"request body not received within {body_timeout_s:g} s") from None
        except ClientDisconnect:
            raise invalid("client disconnected before sending the whole body") from None
        return b"".join(chunks)

    async def predict(request: Request, name: str, version: str | None, label: str | None, verb: str) -> Response:
        v, model = resolve(name, version, label)
        if verb.lower() != "predict":
            raise invalid(f"{verb} needs a signature with method_name tensorflow/serving/{verb.lower()}; "
                          f"this server runs predict signatures only: POST .../models/{name}:predict")
        body = await read_body(request)
        loop = asyncio.get_running_loop()
        if batcher is None:  # decode, run and encode in one trip to the pool
            return json_response(await loop.run_in_executor(pool, _decode_run_encode, body, model))
        signature, fmt, tensors = await loop.run_in_executor(pool, _decode, body, model)
        outputs = await batcher.predict(functools.partial(_run_model, model), (name, v), tensors, signature)
        return json_response(await loop.run_in_executor(pool, encode_predict, outputs, fmt))

    def status(name: str | None, version: str | None, label: str | None, sub: str | None) -> Response:
        if not name:
            raise invalid("Missing model name in request.")
        if sub:  # metadata
            v, model = resolve(name, version, label)
            return json_response(metadata_body(name, v, model.signature_defs))
        if name not in registry:
            raise ServingError(404, f"Could not find any versions of model {name}")
        if label is not None or version is not None:
            if version is not None and (len(version) > 18 or int(version) not in registry[name]):
                raise ServingError(404, f"Could not find version {version} of model {name}")
            v, _ = resolve(name, version, label)
            return json_response(status_body([v]))
        return json_response(status_body(sorted(registry[name])))

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
    async def handle(request: Request) -> Response:
        path, method = request.url.path, request.method
        try:
            if not path.lower().startswith("/v1/"):
                raise ServingError(404, f"Not found: {method} {path} (the REST API lives under /v1/models/)")
            if method == "POST" and (m := PREDICT_ROUTE.fullmatch(path)):
                return await predict(request, *m.groups())
            if method == "GET" and (m := STATUS_ROUTE.fullmatch(path)):
                return status(*m.groups())
            raise invalid(f"Malformed request: {method} {path}")
        except ServingError as err:
            return json_response(error_body(err.message), err.status)

    return app


def _timed_protocol(header_timeout_s: float) -> type:
    """uvicorn's h11 protocol with a deadline on request headers (uvicorn has none): a client that
    opens a connection and sends no complete request line + headers within ``header_timeout_s``
    gets a 408 and is disconnected. Idle keep-alive connections are closed by uvicorn's own timer."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class TimedH11Protocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def _arm(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(header_timeout_s, self._expire)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is h11.IDLE:
                self._arm()  # part of a request line or headers: the clock started at the first byte
            else:
                self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def send_400_response(self, msg: str) -> None:  # unparseable HTTP: answer in the protocol's layout too
            body = error_body(f"Malformed request: {msg}")
            self.transport.write(b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n"
                                 b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
            self.transport.close()

        def _expire(self) -> None:
            self._header_timer = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                body = error_body(f"request headers not received within {header_timeout_s:g} s")
                self.transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
                                     b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
                self.transport.close()

    return TimedH11Protocol


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, action="append",
                    help="[NAME=]PATH: a SavedModel folder or a base folder of numbered versions (repeatable)")
    ap.add_argument("--name", default="model", help="URL name of a --model given without NAME= (default: model)")
    ap.add_argument("--label", action="append", default=[], help="[NAME:]LABEL=VERSION, e.g. stable=1 (repeatable)")
    ap.add_argument("--host", default=DEFAULT_HOST, help="address to bind (default 127.0.0.1: this machine only)")
    ap.add_argument("--port", default=DEFAULT_PORT, type=int)
    ap.add_argument("--max-body-bytes", default=MAX_BODY_BYTES, type=int)
    ap.add_argument("--enable_batching", "--enable-batching", action="store_true",
                    help="batch concurrent requests into one model call (TF Serving's flag)")
    ap.add_argument("--max_batch_size", "--max-batch-size", default=32, type=int)
    ap.add_argument("--batch_timeout_micros", "--batch-timeout-micros", default=2000, type=int)
    ap.add_argument("--num-workers", default=4, type=int, help="threads for JSON and inference (default 4)")
    ap.add_argument("--header-timeout", default=10.0, type=float, help="seconds to receive request headers")
    ap.add_argument("--body-timeout", default=30.0, type=float, help="seconds to receive a request body")
    ap.add_argument("--keep-alive-timeout", default=5.0, type=float, help="seconds an idle connection stays open")
    args = ap.parse_args(argv)
    import uvicorn

    models = {}
    for spec in args.model:
        name, _, path = spec.rpartition("=") if "=" in spec else (args.name, "", spec)
        models[name] = load_versions(path)
    labels: dict[str, dict[str, int]] = {}
    for spec in args.label:
        target, _, version = spec.partition("=")
        name, _, label = target.rpartition(":")
        if not version.isdigit() or not label:
            ap.error(f"--label must look like stable=1 or mnist:stable=1, got {spec!r}")
        labels.setdefault(name or next(iter(models)), {})[label] = int(version)
    app = create_app(models, max_body_bytes=args.max_body_bytes, labels=labels,
                     enable_batching=args.enable_batching, max_batch_size=args.max_batch_size,
                     batch_timeout_micros=args.batch_timeout_micros, num_workers=args.num_workers,
                     body_timeout_s=args.body_timeout)
    for name, versions in models.items():
        print(f"serving '{name}' versions {sorted(versions)} on http://{args.host}:{args.port}/v1/models/{name}"
              f"{' (batching on)' if args.enable_batching else ''}", flush=True)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning", loop="asyncio",
                            http=_timed_protocol(args.header_timeout), timeout_keep_alive=args.keep_alive_timeout)
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
