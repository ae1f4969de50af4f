"""A small model server that speaks TensorFlow Serving's REST API (FastAPI + uvicorn).

TensorFlow Serving itself cannot be installed everywhere (it is a C++ server shipped as a
Docker image or Debian package for x86 servers), so the course serves its SavedModels with
this Python server. It speaks the same protocol, so a client written against it works
unchanged against TF Serving in production:

- ``GET  /v1/models/<name>``           model status
- ``GET  /v1/models/<name>/metadata``  input name, shape and dtype
- ``POST /v1/models/<name>:predict``   body ``{"instances": [...]}`` (row format) or
  ``{"inputs": [...]}`` (columnar); answer ``{"predictions": [...]}`` or ``{"outputs": [...]}``

Bad requests get a 4xx status with ``{"error": "<message>"}`` and never crash the server:
malformed JSON (400), missing ``instances``/``inputs`` (400), non-numeric values or a wrong
shape (400), an unknown model (404), a body over ``max_body_bytes`` (413).

Run it with::

    python -m course_lib.serve --model path/to/savedmodel --name mnist   # binds 127.0.0.1:8501
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from course_lib.deploy import ServingModel

DEFAULT_HOST = "127.0.0.1"  # never exposed beyond this machine unless asked
DEFAULT_PORT = 8501  # TF Serving's REST port
MAX_BODY_BYTES = 10 * 2**20


def create_app(models: dict[str, ServingModel], *, max_body_bytes: int = MAX_BODY_BYTES) -> Any:
    """Build the FastAPI app serving ``models`` (name → :class:`ServingModel`)."""
    if not isinstance(models, dict) or not models:
        raise ValueError("models must be a non-empty dict of name -> ServingModel")
    if not isinstance(max_body_bytes, int) or max_body_bytes < 1:
        raise ValueError(f"max_body_bytes must be a positive int, got {max_body_bytes!r}")

    app = FastAPI(title="course_lib model server (TF Serving REST protocol)")

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    def lookup(name: str) -> ServingModel | JSONResponse:
        if name not in models:
            return error(404, f"Servable not found for request: Latest({name}); serving {sorted(models)}")
        return models[name]

    @app.get("/v1/models/{name}")
    def status(name: str) -> Any:
        model = lookup(name)
        if isinstance(model, JSONResponse):
            return model
        return {"model_version_status": [{"version": "1", "state": "AVAILABLE",
                                          "status": {"error_code": "OK", "error_message": ""}}]}

    @app.get("/v1/models/{name}/metadata")
    def metadata(name: str) -> Any:
        model = lookup(name)
        if isinstance(model, JSONResponse):
            return model
        return {"model_spec": {"name": name, "version": "1"},
                "metadata": {"signature_def": {"serving_default": {
                    "inputs": {model.input_name: {"shape": [-1 if d is None else d for d in model.input_shape],
                                                  "dtype": np.dtype(model.input_dtype).name}},
                    "outputs": model.output_names}}}}

    @app.post("/v1/models/{name}:predict")
    async def predict(name: str, request: Request) -> Any:
        model = lookup(name)
        if isinstance(model, JSONResponse):
            return model
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body_bytes:
            return error(413, f"request body of {declared} bytes is over the limit of {max_body_bytes}")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_body_bytes:
                return error(413, f"request body is over the limit of {max_body_bytes} bytes")
        try:
            payload = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            return error(400, f"malformed JSON: {err}")
        if not isinstance(payload, dict) or ("instances" in payload) == ("inputs" in payload):
            return error(400, "body must be a JSON object with exactly one of 'instances' or 'inputs'")
        key = "instances" if "instances" in payload else "inputs"
        try:
            x = np.asarray(payload[key], dtype=model.input_dtype)
        except (TypeError, ValueError) as err:
            return error(400, f"'{key}' must be a (nested) list of numbers of equal lengths: {err}")
        if x.ndim == 0 or len(x) == 0:
            return error(400, f"'{key}' must hold at least one example")
        try:
            model.check(x)
        except ValueError as err:
            return error(400, str(err))
        y = model(x)
        return {"predictions" if key == "instances" else "outputs": y.tolist()}

    return app


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, type=Path, help="SavedModel folder (from model.export)")
    ap.add_argument("--name", default="model", help="model name in the URL (default: model)")
    ap.add_argument("--host", default=DEFAULT_HOST, help="address to bind (default 127.0.0.1: this machine only)")
    ap.add_argument("--port", default=DEFAULT_PORT, type=int)
    ap.add_argument("--max-body-bytes", default=MAX_BODY_BYTES, type=int)
    args = ap.parse_args(argv)
    import uvicorn

    app = create_app({args.name: ServingModel(args.model)}, max_body_bytes=args.max_body_bytes)
    print(f"serving {args.model} as '{args.name}' on http://{args.host}:{args.port}/v1/models/{args.name}")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
