"""JSON values to typed tensors, exactly as TensorFlow Serving converts them (used by :mod:`course_lib.serve`).

A port of ``AddValueToTensor``, ``IsLosslessDecimal``, ``GetDenseTensorShape``, ``FillTensorProto``
and ``JsonDecodeBase64Object`` in tensorflow/serving ``tensorflow_serving/util/json_tensor.cc``,
error texts included: a float input takes JSON numbers only (no strings, booleans or null), an
integer input takes whole numbers in its range only (1.7 is refused, never truncated), a string
input takes strings or ``{"b64": "..."}`` objects, and every list must be rectangular.
A vectorised fast path handles the common case (a big rectangular list of plain numbers); anything
doubtful goes through the exact per-value path, which names the offending value.

Two deliberate differences, both stricter or more useful: int8/int16/uint8 values are range-checked
against their own dtype (TF Serving checks the int32 range), and half/bfloat16 inputs are accepted
as decimal numbers (TF Serving answers "Unimplemented" for them).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

# TF dtype name -> (DataTypeString as TF Serving prints it in errors, numpy dtype)
_FLOATS = {"float32": ("float", np.float32, 24), "float64": ("double", np.float64, 53),
           "float16": ("half", np.float16, 11), "bfloat16": ("bfloat16", np.float32, 8)}
_INTS = {"int8": np.int8, "int16": np.int16, "int32": np.int32, "int64": np.int64,
         "uint8": np.uint8, "uint16": np.uint16, "uint32": np.uint32, "uint64": np.uint64}
MAX_RANK = 32  # deeper nesting is refused before any recursion
MAX_ERROR_VALUE_CHARS = 120  # JSON values quoted in error messages are cut here


class ServingError(Exception):
    """A request error: an HTTP ``status`` and the ``message`` sent back as ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def invalid(message: str) -> ServingError:
    """TF Serving's ``errors::InvalidArgument`` (HTTP 400)."""
    return ServingError(400, message)


@dataclass(frozen=True)
class TensorInfo:
    """One named tensor of a signature: TF dtype name (``"float32"``...) and shape (``-1`` = any)."""

    dtype: str
    shape: tuple[int, ...] | None


# ---------------------------------------------------------------- JSON text in and out
def loads(body: bytes) -> Any:
    """Parse a request body as TF Serving does (``NaN``/``Infinity`` tokens allowed); 400 on failure."""
    if not body.strip():
        raise invalid("JSON Parse error: The document is empty")
    try:
        return orjson.loads(body)  # fast path (about 5x the standard library)
    except orjson.JSONDecodeError:
        pass
    try:  # the standard library also accepts NaN, Infinity, -Infinity, as TF Serving does
        return json.loads(body)
    except json.JSONDecodeError as err:
        raise invalid(f"JSON Parse error: {err.msg} at offset: {err.pos}") from None
    except UnicodeDecodeError as err:
        raise invalid(f"JSON Parse error: Invalid encoding in string at offset: {err.start}") from None
    except RecursionError:
        raise invalid("JSON Parse error: nesting too deep") from None


def value_to_string(value: Any) -> str:
    """A JSON value as TF Serving quotes it in error messages (``JsonValueToString``), cut to a length."""
    try:
        text = json.dumps(value, separators=(",", ":"), allow_nan=True, ensure_ascii=False)
    except (ValueError, TypeError, RecursionError):
        text = repr(value)
    return text if len(text) <= MAX_ERROR_VALUE_CHARS else text[:MAX_ERROR_VALUE_CHARS] + "..."


def _json_type(value: Any) -> str:
    if value is None:
        return "Null"
    if value is True or value is False:
        return str(value)
    return {dict: "Object", list: "Array", str: "String"}.get(type(value), "Number")


def _type_error(value: Any, dtype: str) -> ServingError:
    name = _FLOATS[dtype][0] if dtype in _FLOATS else dtype
    return invalid(f"JSON Value: {value_to_string(value)} Type: {_json_type(value)} "
                   f"is not of expected type: {name}")


# ---------------------------------------------------------------- one JSON value -> one tensor
def is_b64(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("b64"), str)


def _leaf(value: Any, dtype: str) -> Any:
    """Check one JSON scalar against ``dtype`` (``AddValueToTensor``); return the Python value."""
    if dtype in _FLOATS:
        if type(value) not in (int, float):
            raise _type_error(value, dtype)
        digits = _FLOATS[dtype][2]
        if isinstance(value, int) and -(2**63) <= value < 2**64:
            if abs(value) > 2**digits - 1:
                raise invalid(f"Cannot convert JSON value: {value} to {_FLOATS[dtype][0]} without loss of precision.")
            return value
        try:
            x = float(value)
        except OverflowError:
            x = float("inf")
        top = float(np.finfo(_FLOATS[dtype][1] if dtype != "bfloat16" else np.float32).max)
        if dtype == "bfloat16":
            top = 3.3895313892515355e38
        if np.isfinite(x) and abs(x) > top:
            raise invalid(f"Cannot convert JSON value: {value_to_string(value)} to {_FLOATS[dtype][0]} "
                          "without loss of precision.")
        return x
    if dtype in _INTS:
        info = np.iinfo(_INTS[dtype])
        if type(value) is not int or not info.min <= value <= info.max:
            raise _type_error(value, dtype)
        return value
    if dtype == "bool":
        if type(value) is not bool:
            raise _type_error(value, dtype)
        return value
    if dtype == "string":
        if isinstance(value, str):
            return value.encode("utf-8")
        if isinstance(value, dict):  # JsonDecodeBase64Object
            if not is_b64(value):
                raise invalid(f"JSON Value: {value_to_string(value)} not formatted correctly for base64 data")
            text = value["b64"].replace("-", "+").replace("_", "/")  # absl also takes the URL-safe alphabet
            try:
                return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
            except (binascii.Error, ValueError):
                raise invalid("Unable to base64 decode") from None
        raise _type_error(value, dtype)
    raise ServingError(501, f"Conversion of JSON Value: {value_to_string(value)} to type: {dtype}")


def _dense_shape(value: Any) -> list[int]:
    """``GetDenseTensorShape``: the sizes met going down the first element of each list."""
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        if len(shape) > MAX_RANK:
            raise invalid(f"JSON value nests lists over {MAX_RANK} deep (tensors of rank > {MAX_RANK})")
        if not value:
            break
        value = value[0]
    return shape


def _fill(value: Any, level: int, shape: list[int], dtype: str, out: list[Any]) -> None:
    """``FillTensorProto``: every leaf at depth ``len(shape)``, every list of the expected size."""
    rank = len(shape)
    if not isinstance(value, list):
        if level != rank:
            raise invalid(f"JSON Value: {value_to_string(value)} found at incorrect level: {level + 1} "
                          f"in the JSON DOM. Expected at level: {rank}")
        if isinstance(value, dict) and dtype != "string":
            raise _type_error(value, dtype)
        out.append(_leaf(value, dtype))
        return
    if level >= rank:
        raise invalid(f"Encountered list at unexpected level: {level} expected < {rank}")
    if len(value) != shape[level]:
        raise invalid(f"Encountered list at unexpected size: {len(value)} at level: {level} "
                      f"expected size: {shape[level]}")
    for v in value:
        _fill(v, level + 1, shape, dtype, out)


def _numpy_dtype(dtype: str) -> Any:
    if dtype in _FLOATS:
        return _FLOATS[dtype][1]
    if dtype in _INTS:
        return _INTS[dtype]
    return {"bool": np.bool_, "string": object}.get(dtype, object)


def fast_tensor(value: Any, dtype: str) -> np.ndarray | None:
    """Vectorised conversion for the common case (a rectangular list of plain numbers), else ``None``.

    Only called when the body holds no ``true``/``false``/``null`` token, so NumPy cannot have
    turned a boolean or null into a number. Anything doubtful returns ``None`` and goes through
    the exact per-value path, which finds and names the offending value.
    """
    if dtype not in _FLOATS and dtype not in _INTS:
        return None
    try:
        a = np.array(value)
    except (ValueError, TypeError, OverflowError):
        return None
    if a.ndim > MAX_RANK or a.dtype.kind not in "if" or a.size == 0:
        return None
    if dtype in _FLOATS:
        name, np_dtype, digits = _FLOATS[dtype]
        if a.dtype.kind == "i":
            return a.astype(np_dtype) if np.abs(a).max() <= 2**digits - 1 else None
        finite = a[np.isfinite(a)]
        if finite.size:
            big = np.abs(finite)
            top = np.finfo(np.float32 if dtype == "bfloat16" else np_dtype).max
            if big.max() > top or np.any((big > 2**digits - 1) & (finite == np.round(finite))):
                return None  # out of range, or a large whole number that may have been a JSON integer
        return a.astype(np_dtype)
    info = np.iinfo(_INTS[dtype])
    if a.dtype.kind != "i" or a.min() < info.min or a.max() > info.max:
        return None
    return a.astype(_INTS[dtype])


def to_tensor(value: Any, dtype: str, *, literals: bool = True) -> np.ndarray:
    """Convert one JSON value (scalar or nested list) to a tensor of TF dtype ``dtype``.

    ``literals=False`` promises the body has no ``true``/``false``/``null`` and allows the fast path.
    Raises :class:`ServingError` (400) naming the first value that does not fit.
    """
    if not literals:
        fast = fast_tensor(value, dtype)
        if fast is not None:
            return fast
    shape = _dense_shape(value)
    flat: list[Any] = []
    _fill(value, 0, shape, dtype, flat)
    np_dtype = _numpy_dtype(dtype)
    if np_dtype is object:
        arr = np.empty(len(flat), dtype=object)
        arr[:] = flat
        return arr.reshape(shape)
    return np.array(flat, dtype=np_dtype).reshape(shape)
