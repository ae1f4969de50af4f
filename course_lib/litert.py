"""Run ``.tflite`` models with LiteRT (``ai-edge-litert``) on the same inputs as the Keras model.

:class:`TFLiteModel` (also available as ``course_lib.deploy.TFLiteModel``) handles every kind of model
the TFLite converter makes: float, quantized int8/uint8 and integer (token-id) tensors, dynamic axes,
several inputs and outputs, and batches.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class _Port:
    """One input or output tensor: its signature name, interpreter index, dtype, shape and quantization."""

    name: str
    index: int
    dtype: np.dtype
    shape: tuple[int, ...]  # shape_signature: -1 marks a dynamic axis
    scale: np.ndarray  # empty when not quantized (token ids, float tensors)
    zero_point: np.ndarray
    axis: int  # quantized dimension (per-channel scales)

    @classmethod
    def of(cls, d: dict[str, Any], name: str) -> _Port:
        q = d.get("quantization_parameters", {})
        scale = np.asarray(q.get("scales", []), dtype=np.float64)
        zero = np.asarray(q.get("zero_points", []), dtype=np.float64)
        if scale.size == 0 and d["quantization"][0] != 0:
            scale, zero = np.array([d["quantization"][0]]), np.array([d["quantization"][1]], dtype=np.float64)
        quantized = scale.size > 0 and bool(np.all(scale != 0)) and np.issubdtype(d["dtype"], np.integer)
        shape = tuple(int(s) for s in d.get("shape_signature", d["shape"]))
        return cls(name, int(d["index"]), np.dtype(d["dtype"]), shape, scale if quantized else np.array([]),
                   zero if quantized else np.array([]), int(q.get("quantized_dimension", 0)))

    def described(self) -> str:
        dims = ", ".join("n" if i == 0 and s == -1 else "?" if s == -1 else str(s) for i, s in enumerate(self.shape))
        return f"{self.name!r} of shape ({dims})"

    def _params(self, ndim: int) -> tuple[np.ndarray, np.ndarray]:
        if self.scale.size == 1:
            return self.scale[0], self.zero_point[0]
        shape = [-1 if i == self.axis else 1 for i in range(ndim)]
        return self.scale.reshape(shape), self.zero_point.reshape(shape)

    def encode(self, x: Any) -> np.ndarray:
        """The array to feed: floats quantized with this tensor's scale/zero point, ids passed as they are."""
        a = np.asarray(x)
        if self.dtype.kind in "OSU":  # a string input
            return a
        if a.dtype.kind not in "biuf" and a.dtype.name != "bfloat16":
            raise TypeError(f"input {self.name!r} takes numbers, got an array of dtype {a.dtype}")
        if self.scale.size:  # a quantized input: real values -> integers
            scale, zero = self._params(a.ndim)
            info = np.iinfo(self.dtype)
            return np.clip(np.round(a.astype(np.float64) / scale + zero), info.min, info.max).astype(self.dtype)
        if self.dtype.kind in "iu":  # token ids and other integers: no quantization
            if a.dtype.kind == "f" and not np.all(np.isfinite(a) & (a == np.round(a))):
                raise ValueError(f"input {self.name!r} takes integers (e.g. token ids), got non-integer values")
            info = np.iinfo(self.dtype)
            if a.size and (a.min() < info.min or a.max() > info.max):
                raise ValueError(f"input {self.name!r} takes {self.dtype.name} values in [{info.min}, {info.max}], "
                                 f"got values in [{a.min()}, {a.max()}]")
        return a.astype(self.dtype)

    def decode(self, q: np.ndarray) -> np.ndarray:
        """Real values of an output: ``scale * (q - zero_point)`` for quantized outputs."""
        if not self.scale.size:
            return q
        scale, zero = self._params(q.ndim)
        return ((q.astype(np.float64) - zero) * scale).astype(np.float32)


def _natural(name: str) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


class TFLiteModel:
    """Run a ``.tflite`` flatbuffer with LiteRT (``ai-edge-litert``), on the same inputs as the Keras model.

    Handles what the converter makes: float inputs and outputs; quantized int8/uint8 (or int16)
    ones, each converted with its own scale, zero point and range (``q = round(x / s) + z``,
    clipped to the integer type; ``x = s * (q - z)``, Jacob et al., 2018); integer inputs that are
    not quantized (token ids: fed as they are); dynamic axes (``shape_signature`` -1, resized per
    call); several inputs (a dict by name, or a tuple in :attr:`input_names` order) and several
    outputs (returned as a dict by name, in :attr:`output_names` order). A model with a dynamic
    batch axis runs ``batch_size`` examples per invocation; one with a fixed batch runs in slices
    of that size.

    Args:
        flatbuffer: the bytes of a ``.tflite`` model (e.g. from :func:`to_tflite`).
        batch_size: most examples per invocation for a dynamic batch axis (bounds memory).

    Attributes:
        inputs, outputs: one record per tensor: ``name``, ``index``, ``dtype``, ``shape`` (the
            ``shape_signature``, -1 for dynamic axes), ``scale`` and ``zero_point`` (empty when not
            quantized), with ``encode``/``decode`` between real values and what the tensor holds.
        input_names, output_names: the signature's names, in the order inputs and outputs are taken.
        size_bytes: size of the flatbuffer.
    """

    def __init__(self, flatbuffer: bytes, *, batch_size: int = 256) -> None:
        if not isinstance(flatbuffer, (bytes, bytearray)) or len(flatbuffer) < 8:
            raise TypeError("flatbuffer must be the bytes of a .tflite model")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        from ai_edge_litert.interpreter import Interpreter

        try:
            self.interpreter = Interpreter(model_content=bytes(flatbuffer))
        except ValueError as err:
            raise ValueError(f"flatbuffer is not a valid .tflite model ({err}): pass what to_tflite() returns, "
                             "or the bytes of a .tflite file") from err
        self.size_bytes = len(flatbuffer)
        self.batch_size = int(batch_size)
        ins, outs = self.interpreter.get_input_details(), self.interpreter.get_output_details()
        in_names = {d["index"]: d["name"] for d in ins}
        out_names = {d["index"]: d["name"] for d in outs}
        self._allocated = True
        try:
            self.interpreter.allocate_tensors()
        except RuntimeError:  # e.g. a dynamic length that is 1 in the placeholder shape is too short for a conv
            self._allocated = False
        signatures = self.interpreter.get_signature_list()
        if signatures:  # the names Keras gave the inputs and outputs ("image", "output_0", ...)
            runner = self.interpreter.get_signature_runner("serving_default" if "serving_default" in signatures
                                                           else sorted(signatures)[0])
            in_names.update({d["index"]: n for n, d in runner.get_input_details().items() if d["index"] in in_names})
            out_names.update({d["index"]: n for n, d in runner.get_output_details().items()
                              if d["index"] in out_names})
            del runner  # it holds views of the tensors, which would block allocate_tensors() after a resize
        self.inputs = [_Port.of(d, in_names[d["index"]]) for d in ins]  # interpreter order = Keras input order
        self.outputs = sorted((_Port.of(d, out_names[d["index"]]) for d in outs), key=lambda p: _natural(p.name))
        self.input_names = [p.name for p in self.inputs]
        self.output_names = [p.name for p in self.outputs]
        self._shapes = {d["index"]: tuple(int(s) for s in d["shape"]) for d in ins}

    def _arrays(self, x: Any) -> list[np.ndarray]:
        if isinstance(x, Mapping):
            unknown, missing = sorted(set(x) - set(self.input_names)), sorted(set(self.input_names) - set(x))
            if unknown or missing:
                raise ValueError(f"x must have the keys {self.input_names}, got unknown {unknown}, missing {missing}")
            return [np.asarray(x[n]) for n in self.input_names]
        if len(self.inputs) == 1:
            return [np.asarray(x)]
        if not isinstance(x, (tuple, list)) or len(x) != len(self.inputs):
            raise TypeError(f"this model has {len(self.inputs)} inputs {self.input_names}: pass x as a dict by "
                            f"name or a tuple of {len(self.inputs)} arrays, got {type(x).__name__}")
        return [np.asarray(a) for a in x]

    def _invoke(self, feeds: list[np.ndarray]) -> list[np.ndarray]:
        resized = False
        for port, a in zip(self.inputs, feeds, strict=True):
            if self._shapes[port.index] != a.shape:
                self.interpreter.resize_tensor_input(port.index, list(a.shape), strict=True)
                self._shapes[port.index], resized = a.shape, True
        if resized or not self._allocated:
            self.interpreter.allocate_tensors()
            self._allocated = True
        for port, a in zip(self.inputs, feeds, strict=True):
            self.interpreter.set_tensor(port.index, a)
        self.interpreter.invoke()
        return [self.interpreter.get_tensor(p.index) for p in self.outputs]

    def __call__(self, x: Any) -> np.ndarray | dict[str, np.ndarray]:
        """Predict for a batch ``x`` (real values, as the Keras model takes them; batch on axis 0).

        Returns one array for a one-output model, else a dict ``{output name: array}``.

        Raises:
            ValueError: an input's shape does not fit (the message gives the expected one), inputs
                disagree on the batch size, or integer inputs hold non-integers or out-of-range values.
            TypeError: ``x`` has the wrong structure for a several-input model, or non-numeric values.
        """
        arrays = self._arrays(x)
        for port, a in zip(self.inputs, arrays, strict=True):
            fixed = [(i, s) for i, s in enumerate(port.shape) if s != -1 and i > 0]
            if a.ndim != len(port.shape) or any(a.shape[i] != s for i, s in fixed):
                raise ValueError(f"expected input {port.described()}, got shape {a.shape}")
        feeds = [p.encode(a) for p, a in zip(self.inputs, arrays, strict=True)]
        if any(a.ndim == 0 for a in feeds):  # no batch axis at all
            outs = self._invoke(feeds)
        else:
            sizes = {len(a) for a in feeds}
            if len(sizes) != 1:
                raise ValueError(f"all inputs must have the same batch size, got {[len(a) for a in feeds]}")
            outs = self._batched(feeds, sizes.pop())
        result = {p.name: p.decode(y) for p, y in zip(self.outputs, outs, strict=True)}
        return result[self.output_names[0]] if len(result) == 1 else result

    def _batched(self, feeds: list[np.ndarray], n: int) -> list[np.ndarray]:
        if n == 0:
            raise ValueError("x must hold at least one example")
        fixed = [p.shape[0] for p in self.inputs if p.shape[0] != -1]
        step = fixed[0] if fixed else self.batch_size
        parts: list[list[np.ndarray]] = []
        for start in range(0, n, step):
            chunk = [a[start:start + step] for a in feeds]
            pad = step - len(chunk[0]) if fixed else 0
            if pad:  # a fixed batch axis: fill the last slice by repeating its last example, then drop those rows
                chunk = [np.concatenate([c, np.repeat(c[-1:], pad, axis=0)]) for c in chunk]
            parts.append([y[: len(y) - pad] for y in self._invoke(chunk)])
        return [np.concatenate(ys) for ys in zip(*parts, strict=True)]
