"""TensorFlow Serving's REST protocol: JSON request bodies to typed tensors, tensors to JSON answers.

A line-by-line port of TF Serving's own conversion code, so that a client written for TF Serving
gets the same answers (and the same error messages) from :mod:`course_lib.serve`:

- request layouts and error texts: ``FillPredictRequestFromJson``, ``FillTensorMapFromInstancesList``,
  ``FillTensorMapFromInputsMap``, ``AddValueToTensor``, ``IsLosslessDecimal`` in
  tensorflow/serving ``tensorflow_serving/util/json_tensor.cc``;
- answers: ``MakeRowFormatJsonFromTensors`` / ``MakeColumnarFormatJsonFromTensors`` and
  ``WriteDecimal`` (float32 written with the shortest round-trip digits, ``NaN``, ``Infinity``,
  ``-Infinity`` as bare tokens) in the same file;
- the documented forms: ``tensorflow_serving/g3doc/api_rest.md`` (row ``instances`` / columnar
  ``inputs``, named tensors, ``{"b64": ...}`` for binary strings, ``_bytes`` output names).

The value-level conversion (dtypes, ranges, base64) lives in :mod:`course_lib.serve_tensors`.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from course_lib.serve_tensors import (
    ServingError,
    TensorInfo,
    fast_tensor,
    invalid,
    is_b64,
    loads,
    to_tensor,
    value_to_string,
)

__all__ = ["ServingError", "Signature", "TensorInfo", "check_shapes", "encode_predict", "error_body", "loads",
           "metadata_body", "parse_predict", "status_body"]


@dataclass(frozen=True)
class Signature:
    """A signature's named inputs and outputs (sorted by name) and its ``method_name``."""

    inputs: dict[str, TensorInfo]
    outputs: dict[str, TensorInfo] = field(default_factory=dict)
    method_name: str = "tensorflow/serving/predict"



# ---------------------------------------------------------------- a whole :predict request
def _instances(rows: list[Any], inputs: Mapping[str, TensorInfo], literals: bool) -> dict[str, np.ndarray]:
    """``FillTensorMapFromInstancesList``: one tensor per input, batched over the ``instances`` list."""
    first = rows[0]
    objects = isinstance(first, dict) and not is_b64(first)
    if not objects and len(inputs) > 1:
        raise invalid("instances is a plain list, but expecting list of objects as multiple input tensors "
                      "required as per tensorinfo_map")
    if not objects:
        (name, info), = inputs.items()
        for i, row in enumerate(rows):
            if isinstance(row, dict) and not is_b64(row):
                raise invalid(f"Expecting value/list but got object at item {i} of input list")
        return {name: _batched(rows, name, info, literals)}
    names = set(inputs)
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or is_b64(row):
            raise invalid(f"Expecting object but got list at item {i} of input list")
        for key in row:
            if key not in inputs:
                raise invalid(f"Failed to process element: {i} key: {key} of 'instances' list. Error: "
                              f"Invalid argument: JSON object: does not have named input: {key}")
        if set(row) != names:
            raise invalid(f"Failed to process element: {i} of 'instances' list. JSON object: "
                          f"{value_to_string(row)} keys must be equal to: {','.join(sorted(names))}")
    return {name: _batched([row[name] for row in rows], name, info, literals, keyed=True)
            for name, info in inputs.items()}


def _batched(items: list[Any], name: str, info: TensorInfo, literals: bool, keyed: bool = False) -> np.ndarray:
    """Stack one input's items into a batch; every item must have the same shape (``AddInstanceItem``)."""
    if not literals:
        fast = fast_tensor(items, info.dtype)
        if fast is not None:
            return fast
    shape0: list[int] | None = None
    parts = []
    for i, item in enumerate(items):
        where = f"Failed to process element: {i}{f' key: {name}' if keyed else ''} of 'instances' list. Error: "
        try:
            t = to_tensor(item, info.dtype)
        except ServingError as err:
            raise invalid(where + "Invalid argument: " + err.message) from None
        if shape0 is None:
            shape0 = list(t.shape)
        elif list(t.shape) != shape0:
            size0, size = int(np.prod(shape0)), int(t.size)
            detail = (f"Expecting tensor size: {size0} but got: {size}" if size != size0 else
                      f"Expecting shape [{','.join(map(str, shape0))}] but got: [{','.join(map(str, t.shape))}]")
            raise invalid(where + "Invalid argument: " + detail)
        parts.append(t)
    return np.stack(parts)


def parse_predict(payload: Any, signatures: Mapping[str, Signature], *,
                  literals: bool = True) -> tuple[str, str, dict[str, np.ndarray]]:
    """Read a ``:predict`` body (``FillPredictRequestFromJson``).

    Returns ``(signature_name, "row" | "columnar", {input name: array})``; raises :class:`ServingError`
    (400) with TF Serving's message for every malformed body.
    """
    if not isinstance(payload, dict):
        raise invalid(f"JSON Value: {value_to_string(payload)} Is not object")
    signame = payload.get("signature_name", "")
    if not isinstance(signame, str):
        raise invalid(f"JSON Value: {value_to_string(payload)} not formatted correctly. "
                      "'signature_name' key must be a string value.")
    signame = signame or "serving_default"
    if signame not in signatures:
        raise invalid(f'Serving signature name: "{signame}" not found in signature def')
    inputs = signatures[signame].inputs
    if not inputs:
        raise invalid(f"Failed to get input map for signature: {signame}")
    if "instances" in payload and "inputs" in payload:
        raise invalid(f"JSON Value: {value_to_string(payload)} Not formatted correctly expecting only one of "
                      "'inputs' or 'instances' keys to exist ")
    if "instances" in payload:
        rows = payload["instances"]
        if not isinstance(rows, list):
            raise invalid(f"JSON Value: {value_to_string(payload)} Excepting 'instances' to be an list/array")
        if not rows:
            raise invalid(f"JSON Value: {value_to_string(payload)} No values in 'instances' array")
        return signame, "row", _instances(rows, inputs, literals)
    if "inputs" in payload:
        value = payload["inputs"]
        if not isinstance(value, dict) or is_b64(value):  # FillTensorMapFromInputsMap
            if len(inputs) > 1:
                raise invalid("inputs is a plain value/list, but expecting an object as multiple input "
                              "tensors required as per tensorinfo_map")
            (name, info), = inputs.items()
            return signame, "columnar", {name: to_tensor(value, info.dtype, literals=literals)}
        tensors = {}
        for name, info in inputs.items():
            if name not in value:
                raise invalid(f"Missing named input: {name} in 'inputs' object.")
            tensors[name] = to_tensor(value[name], info.dtype, literals=literals)
        return signame, "columnar", tensors
    raise invalid("Missing 'inputs' or 'instances' key")


def check_shapes(tensors: Mapping[str, np.ndarray], inputs: Mapping[str, TensorInfo]) -> None:
    """400 when a tensor's rank or a fixed dimension differs from the signature (TF would fail at run time)."""
    for name, t in tensors.items():
        want = inputs[name].shape
        if want is None:
            continue
        if t.ndim != len(want) or any(w != -1 and w != g for w, g in zip(want, t.shape, strict=True)):
            raise invalid(f"input '{name}' must have shape [{','.join(map(str, want))}] (-1: any size), "
                          f"got [{','.join(map(str, t.shape))}]")


# ---------------------------------------------------------------- tensors -> JSON answer
_TOKENS = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _text(a: np.ndarray, name: str) -> str:
    """One tensor as JSON text, written as TF Serving's ``AddTensorValues`` writes it."""
    a = np.asarray(a) if not isinstance(a, (bytes, str)) else np.array(a, dtype=object)
    if a.dtype == object or a.dtype.kind in "SU":
        as_b64 = name.endswith("_bytes")
        def one(v: Any) -> Any:
            v = v if isinstance(v, bytes) else str(v).encode()
            return {"b64": base64.b64encode(v).decode()} if as_b64 else v.decode("utf-8", "replace")
        return orjson.dumps(np.vectorize(one, otypes=[object])(a).tolist() if a.ndim else one(a.item())).decode()
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        strs = a.astype(np.float32 if a.dtype.itemsize <= 4 else np.float64).astype(str)
        strs = np.vectorize(lambda s: _TOKENS.get(s, s), otypes=[object])(strs)
        def nest(x: Any) -> str:
            return "[" + ",".join(nest(v) for v in x) + "]" if isinstance(x, np.ndarray) else x
        return nest(strs) if strs.ndim else strs.item()
    return orjson.dumps(a[()] if a.ndim == 0 else a, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def encode_predict(outputs: Mapping[str, np.ndarray], fmt: str) -> bytes:
    """The ``:predict`` answer: ``{"predictions": ...}`` (row) or ``{"outputs": ...}`` (columnar).

    One output: its value, name omitted. Several: row format gives one object per example,
    columnar one object keyed by output name (``MakeRowFormatJsonFromTensors`` /
    ``MakeColumnarFormatJsonFromTensors``).
    """
    outs = {k: np.asarray(v) for k, v in sorted(outputs.items())}
    if not outs:
        raise invalid("Cannot convert empty tensor map to JSON")
    if fmt == "columnar":
        if len(outs) == 1:
            (name, a), = outs.items()
            return b'{"outputs":' + _text(a, name).encode() + b"}"
        body = ",".join(f"{orjson.dumps(k).decode()}:{_text(a, k)}" for k, a in outs.items())
        return b'{"outputs":{' + body.encode() + b"}}"
    batch = None
    for name, a in outs.items():
        if a.ndim == 0:
            raise invalid(f"Tensor name: {name} has no shape information ")
        if batch is not None and a.shape[0] != batch:
            raise invalid(f"Tensor name: {name} has inconsistent batch size: {a.shape[0]} expecting: {batch}")
        batch = a.shape[0]
    if len(outs) == 1:
        (name, a), = outs.items()
        return b'{"predictions":' + _text(a, name).encode() + b"}"
    keys = {k: orjson.dumps(k).decode() for k in outs}
    rows = ("{" + ",".join(f"{keys[k]}:{_text(a[i], k)}" for k, a in outs.items()) + "}" for i in range(batch or 0))
    return b'{"predictions":[' + ",".join(rows).encode() + b"]}"


def error_body(message: str) -> bytes:
    """``{"error": "<message>"}``, the one error layout of every TF Serving REST endpoint."""
    return orjson.dumps({"error": message})


def status_body(versions: list[int]) -> dict[str, Any]:
    """``GetModelStatusResponse`` as JSON (the model status endpoint)."""
    return {"model_version_status": [{"version": str(v), "state": "AVAILABLE",
                                      "status": {"error_code": "OK", "error_message": ""}} for v in versions]}


def metadata_body(name: str, version: int, signature_defs: Mapping[str, Any]) -> dict[str, Any]:
    """``GetModelMetadataResponse`` as TF Serving prints it: ``model_spec`` and the ``SignatureDefMap``
    (proto field names kept, defaults printed; ``ProcessModelMetadataRequest`` in
    ``tensorflow_serving/model_servers/http_rest_api_handler.cc``)."""
    return {"model_spec": {"name": name, "signature_name": "", "version": str(version)},
            "metadata": {"signature_def": {"signature_def": dict(signature_defs)}}}
