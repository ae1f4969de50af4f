"""Deployment helpers: SavedModel export, TFLite/LiteRT conversion and inference, latency measurement.

Used by the compression (11) and deployment (13) chapters and by :mod:`course_lib.serve`.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

QUANTIZATIONS = (None, "dynamic", "int8")


def export_savedmodel(model: Any, path: str | Path) -> Path:
    """Write ``model`` as a SavedModel with a ``serving_default`` signature (``model.export``)."""
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
    """A loaded SavedModel: every signature, with named, typed inputs and outputs, callable on NumPy arrays.

    ``signatures`` maps each signature name (``serving_default`` first) to a
    :class:`course_lib.serve_protocol.Signature` (input/output names, TF dtype names, shapes with
    ``-1`` for unknown sizes). ``signature_defs`` holds the SavedModel's ``SignatureDef`` protos as
    JSON-ready dicts (what TF Serving's metadata endpoint prints). For a single-input model the
    old attributes still work: ``input_name``, ``input_shape`` (``None`` for unknown sizes),
    ``input_dtype`` (NumPy) and ``output_names``; ``model(x)`` returns the first output.

    Raises ``ValueError`` when ``path`` is not a SavedModel folder or has no signature.
    """

    def __init__(self, path: str | Path) -> None:
        import tensorflow as tf
        from google.protobuf import json_format
        from tensorflow.core.protobuf import saved_model_pb2

        from course_lib.serve_protocol import Signature, TensorInfo

        path = Path(path)
        if not (path / "saved_model.pb").is_file():
            raise ValueError(f"path must be a SavedModel folder (with saved_model.pb), got {str(path)!r}")
        self.path = path
        self._loaded = tf.saved_model.load(str(path))
        proto = saved_model_pb2.SavedModel()
        proto.ParseFromString((path / "saved_model.pb").read_bytes())
        defs = proto.meta_graphs[0].signature_def
        self.signature_defs: dict[str, Any] = {
            name: json_format.MessageToDict(defs[name], preserving_proto_field_name=True,
                                            always_print_fields_with_no_presence=True) for name in defs}
        self._functions = dict(self._loaded.signatures)
        if not self._functions:
            raise ValueError(f"the SavedModel at {str(path)!r} has no signatures (export it with model.export)")

        def info(spec: Any) -> Any:
            shape = None if spec.shape.rank is None else tuple(-1 if d is None else d for d in spec.shape.as_list())
            return TensorInfo(spec.dtype.name, shape)

        self.signatures: dict[str, Any] = {}
        for name in sorted(self._functions, key=lambda n: (n != "serving_default", n)):
            fn = self._functions[name]
            self.signatures[name] = Signature(
                inputs={k: info(v) for k, v in sorted(fn.structured_input_signature[1].items())},
                outputs={k: info(v) for k, v in sorted(fn.structured_outputs.items())},
                method_name=defs[name].method_name if name in defs else "tensorflow/serving/predict")
        self.signature = self._functions.get("serving_default", next(iter(self._functions.values())))
        default = self.signatures.get("serving_default", next(iter(self.signatures.values())))
        self.input_name = next(iter(default.inputs))
        spec = self.signature.structured_input_signature[1][self.input_name]
        self.input_shape: tuple[int | None, ...] = tuple(spec.shape.as_list())
        self.input_dtype = spec.dtype.as_numpy_dtype
        self.output_names = list(default.outputs)

    def check(self, x: np.ndarray) -> None:
        """Raise ``ValueError`` when ``x`` does not fit the first input's shape (batch axis free)."""
        want = self.input_shape
        if x.ndim != len(want) or any(w is not None and w != g for w, g in zip(want[1:], x.shape[1:], strict=True)):
            shape = ", ".join("n" if w is None else str(w) for w in want)
            raise ValueError(f"expected input of shape ({shape}), got {tuple(x.shape)}")

    def predict(self, inputs: dict[str, np.ndarray], signature_name: str = "serving_default") -> dict[str, np.ndarray]:
        """Run signature ``signature_name`` on named arrays; return every named output as a NumPy array.

        Float16/bfloat16 outputs (a model built under a mixed-precision policy) come back as float32,
        as TF Serving writes half-precision values as decimal floats.
        """
        if signature_name not in self._functions:
            raise ValueError(f"signature_name must be one of {sorted(self._functions)}, got {signature_name!r}")
        out = self._functions[signature_name](**inputs)
        arrays = {}
        for name in sorted(out):
            a = np.asarray(out[name])
            if a.dtype.kind == "f" and a.dtype.itemsize < 4 or a.dtype.name == "bfloat16":
                a = a.astype(np.float32)
            arrays[name] = a
        return arrays

    def __call__(self, x: Any) -> np.ndarray:
        """Predict for a batch ``x`` of a single-input model; returns the first (sorted) output."""
        if len(self.signatures.get("serving_default", next(iter(self.signatures.values()))).inputs) != 1:
            raise ValueError(f"model(x) needs a single-input model; use predict({{name: array}}) for inputs "
                             f"{list(self.signatures['serving_default'].inputs)}")
        x = np.asarray(x, dtype=self.input_dtype)
        self.check(x)
        return self.predict({self.input_name: x})[self.output_names[0]]


def to_tflite(
    model: Any,
    *,
    quantize: str | None = None,
    representative_data: Iterable[np.ndarray] | None = None,
) -> bytes:
    """Convert a Keras model to a TFLite flatbuffer.

    Args:
        quantize: ``None`` (float32), ``"dynamic"`` (int8 weights, float activations) or
            ``"int8"`` (full integer: weights and activations, int8 inputs/outputs).
        representative_data: for ``"int8"``: an iterable of input batches used to calibrate
            the activation ranges (a few hundred real examples).
    """
    import tensorflow as tf

    if quantize not in QUANTIZATIONS:
        raise ValueError(f"quantize must be one of {QUANTIZATIONS}, got {quantize!r}")
    if quantize == "int8" and representative_data is None:
        raise ValueError("quantize='int8' needs representative_data (real input batches for calibration)")
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if quantize is not None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "int8":
        batches = list(representative_data)  # type: ignore[arg-type]

        def gen() -> Iterable[list[np.ndarray]]:
            for b in batches:
                for row in np.asarray(b, dtype=np.float32):
                    yield [row[None]]

        converter.representative_dataset = gen
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    with _quiet():
        return converter.convert()


class TFLiteModel:
    """Run a ``.tflite`` flatbuffer with LiteRT (``ai-edge-litert``), quantizing I/O when needed."""

    def __init__(self, flatbuffer: bytes) -> None:
        if not isinstance(flatbuffer, (bytes, bytearray)) or len(flatbuffer) < 8:
            raise TypeError("flatbuffer must be the bytes of a .tflite model")
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_content=bytes(flatbuffer))
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self.size_bytes = len(flatbuffer)

    def __call__(self, x: Any) -> np.ndarray:
        """Predict for a batch ``x`` (float inputs; quantized models are fed int8 via their scale)."""
        x = np.asarray(x, dtype=np.float32)
        if x.shape[1:] != tuple(self.input["shape"][1:]):
            raise ValueError(f"expected inputs of shape (n, {', '.join(map(str, self.input['shape'][1:]))}), "
                             f"got {x.shape}")
        scale, zero = self.input["quantization"]
        if self.input["dtype"] != np.float32:
            x = np.clip(np.round(x / scale + zero), -128, 127).astype(self.input["dtype"])
        outs = []
        for row in x:  # the converted graph has batch size 1
            self.interpreter.resize_tensor_input(self.input["index"], [1, *row.shape])
            self.interpreter.allocate_tensors()
            self.interpreter.set_tensor(self.input["index"], row[None])
            self.interpreter.invoke()
            outs.append(self.interpreter.get_tensor(self.output["index"])[0])
        y = np.stack(outs)
        o_scale, o_zero = self.output["quantization"]
        if self.output["dtype"] != np.float32:
            y = (y.astype(np.float32) - o_zero) * o_scale
        return y


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
