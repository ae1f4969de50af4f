"""Deployment helpers: SavedModel export, TFLite/LiteRT conversion and inference, latency measurement.

Used by the compression (11) and deployment (13) chapters and by :mod:`course_lib.serve`.
Everything here works under each precision policy :func:`course_lib.runtime.setup` can pick
(``float32``, ``mixed_float16``, ``mixed_bfloat16``): TFLite conversion always converts a float32
copy of the model (see :func:`course_lib.runtime.as_float32`), because the converter cannot lower float16/bfloat16 ops.
"""

from __future__ import annotations

import contextlib
import io
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from course_lib import runtime

QUANTIZATIONS = (None, "dynamic", "int8")


def export_savedmodel(model: Any, path: str | Path) -> Path:
    """Write ``model`` as a SavedModel with a ``serving_default`` signature (``model.export``).

    The model is exported as it is: under a mixed policy its graph computes in float16/bfloat16,
    exactly as in Keras (TensorFlow runs those ops on CPU and GPU alike).
    """
    if not hasattr(model, "export"):
        raise TypeError(f"model must be a Keras model, got {type(model).__name__}")
    path = Path(path)
    with _quiet():
        model.export(str(path), verbose=False)
    return path


@contextlib.contextmanager
def _quiet() -> Any:
    """Silence the export/convert chatter (printed signatures, 'Assets written to' logs)."""
    import tensorflow as tf

    logger, level = tf.get_logger(), tf.get_logger().level
    logger.setLevel("ERROR")
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)


class ServingModel:
    """A loaded SavedModel's ``serving_default`` signature with one input, callable on NumPy arrays."""

    def __init__(self, path: str | Path) -> None:
        import tensorflow as tf

        path = Path(path)
        if not (path / "saved_model.pb").is_file():
            raise ValueError(f"path must be a SavedModel folder (with saved_model.pb), got {str(path)!r}")
        self._loaded = tf.saved_model.load(str(path))
        self.signature = self._loaded.signatures["serving_default"]
        inputs = self.signature.structured_input_signature[1]
        if len(inputs) != 1:
            raise ValueError(f"only single-input models are supported, this one has inputs {sorted(inputs)}")
        ((self.input_name, spec),) = inputs.items()
        self.input_shape: tuple[int | None, ...] = tuple(spec.shape.as_list())
        self.input_dtype = spec.dtype.as_numpy_dtype
        self.output_names = sorted(self.signature.structured_outputs)

    def check(self, x: np.ndarray) -> None:
        """Raise ``ValueError`` when ``x`` does not fit the input's shape (batch axis free)."""
        want = self.input_shape
        if x.ndim != len(want) or any(w is not None and w != g for w, g in zip(want[1:], x.shape[1:], strict=True)):
            shape = ", ".join("n" if w is None else str(w) for w in want)
            raise ValueError(f"expected input of shape ({shape}), got {tuple(x.shape)}")

    def __call__(self, x: Any) -> np.ndarray:
        x = np.asarray(x, dtype=self.input_dtype)
        self.check(x)
        out = self.signature(**{self.input_name: x})
        return np.asarray(out[self.output_names[0]])


# --- TFLite conversion ---------------------------------------------------------------------------


def _input_specs(model: Any) -> list[tuple[str, np.dtype, tuple[int | None, ...]]]:
    """(name, dtype, shape) of each input; a subclassed model's one float32 input comes from its build shape."""
    try:
        return [(t.name, np.dtype(t.dtype), tuple(t.shape)) for t in model.inputs]
    except AttributeError:  # a subclassed model has no symbolic inputs
        shape = (model.get_build_config() or {}).get("input_shape")
        if not isinstance(shape, (tuple, list)) or not shape or isinstance(shape[0], (tuple, list, dict)):
            raise ValueError(f"model {model.name!r} is subclassed: call it once on a batch (model(x)) before "
                             "converting, so its input shape is known (one input only)") from None
        return [("input", np.dtype("float32"), (None, *shape[1:]))]


def _converter(model: Any, folder: str) -> Any:
    """A TFLiteConverter for ``model``; a subclassed one goes through a SavedModel of its inference call
    (``from_keras_model`` cannot find a Keras 3 subclassed model's input signature)."""
    import keras
    import tensorflow as tf

    if hasattr(model, "inputs"):
        return tf.lite.TFLiteConverter.from_keras_model(model)
    ((name, dtype, shape),) = _input_specs(model)
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", lambda x: model(x, training=False), [tf.TensorSpec(shape, dtype, name)])
    archive.write_out(folder, verbose=False)
    return tf.lite.TFLiteConverter.from_saved_model(folder)


def _representative(model: Any, batches: list[Any]) -> Callable[[], Iterator[list[np.ndarray]]]:
    """Calibration examples, one at a time, as a list in the order of the model's inputs."""
    specs = [(name, dtype) for name, dtype, _ in _input_specs(model)]
    rows = []
    for b in batches:
        if isinstance(b, Mapping):
            missing = sorted({n for n, _ in specs} - set(b))
            if missing:
                raise ValueError(f"representative_data batches must have keys {[n for n, _ in specs]}, "
                                 f"missing {missing}")
            parts = [b[n] for n, _ in specs]
        else:
            parts = list(b) if isinstance(b, (tuple, list)) and len(specs) > 1 else [b]
        if len(parts) != len(specs):
            raise ValueError(f"representative_data batches must hold {len(specs)} arrays (one per model input), "
                             f"got {len(parts)}")
        arrays = [np.asarray(p, dtype=dt) for p, (_, dt) in zip(parts, specs, strict=True)]
        rows += [[a[i:i + 1] for a in arrays] for i in range(len(arrays[0]))]

    def gen() -> Iterator[list[np.ndarray]]:
        yield from rows

    return gen


def to_tflite(
    model: Any,
    *,
    quantize: str | None = None,
    representative_data: Iterable[Any] | None = None,
) -> bytes:
    """Convert a Keras model to a TFLite flatbuffer that computes in float32 (or int8).

    A mixed-precision model is first replaced by its float32 copy (:func:`course_lib.runtime.as_float32`), and
    the conversion runs under a float32 global policy, so this works under every policy
    ``runtime.setup()`` picks.

    Args:
        quantize: ``None`` (float32), ``"dynamic"`` (int8 weights, float activations) or
            ``"int8"`` (full integer: weights and activations, int8 float inputs/outputs;
            integer inputs such as token ids stay integers).
        representative_data: for ``"int8"``: an iterable of input batches used to calibrate
            the activation ranges (a few hundred real examples). A batch is an array for a
            one-input model, else a tuple (in ``model.inputs`` order) or a dict by input name.
    """
    import tensorflow as tf

    if quantize not in QUANTIZATIONS:
        raise ValueError(f"quantize must be one of {QUANTIZATIONS}, got {quantize!r}")
    if quantize == "int8" and representative_data is None:
        raise ValueError("quantize='int8' needs representative_data (real input batches for calibration)")
    model32 = runtime.as_float32(model)
    with runtime.precision_policy("float32"), tempfile.TemporaryDirectory() as folder:
        converter = _converter(model32, folder)
        if quantize is not None:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "int8":
            converter.representative_dataset = _representative(model32, list(representative_data))  # type: ignore
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
        with _quiet():
            return converter.convert()


# --- running TFLite models -----------------------------------------------------------------------


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
    """

    def __init__(self, flatbuffer: bytes, *, batch_size: int = 256) -> None:
        if not isinstance(flatbuffer, (bytes, bytearray)) or len(flatbuffer) < 8:
            raise TypeError("flatbuffer must be the bytes of a .tflite model")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_content=bytes(flatbuffer))
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


def measure_latency(fn: Callable[[Any], Any], x: Any, *, repeats: int = 50, warmup: int = 3) -> dict[str, float]:
    """Time ``fn(x)``: median and 95th-percentile latency in ms, and throughput in examples/s."""
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if not isinstance(repeats, int) or repeats < 1 or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"repeats must be an int >= 1 and warmup an int >= 0, got {repeats!r}, {warmup!r}")
    for _ in range(warmup):
        fn(x)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t0)
    t = np.array(times)
    n = len(x) if hasattr(x, "__len__") else 1
    return {"p50_ms": float(np.median(t) * 1e3), "p95_ms": float(np.percentile(t, 95) * 1e3),
            "examples_per_s": float(n / np.median(t))}
