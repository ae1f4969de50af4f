"""Deployment helpers: SavedModel export, TFLite/LiteRT conversion and inference, latency measurement.

Used by the compression (11) and deployment (13) chapters and by :mod:`course_lib.serve`;
:class:`TFLiteModel` (defined in :mod:`course_lib.litert`) runs what :func:`to_tflite` makes.
Everything here works under each precision policy :func:`course_lib.runtime.setup` can pick
(``float32``, ``mixed_float16``, ``mixed_bfloat16``): TFLite conversion always converts a float32
copy of the model (see :func:`course_lib.runtime.as_float32`), because the converter cannot lower float16/bfloat16 ops.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from course_lib import runtime
from course_lib.litert import TFLiteModel  # noqa: F401  (re-exported: chapters call deploy.TFLiteModel)

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


# --- TFLite conversion ---------------------------------------------------------------------------


def _input_specs(model: Any) -> list[tuple[str, np.dtype, tuple[int | None, ...]]]:
    """(name, dtype, shape) of each input; a subclassed model's one float32 input comes from its build shape."""
    try:
        return [(t.name, np.dtype(t.dtype), tuple(t.shape)) for t in model.inputs]
    except AttributeError:  # a subclassed model has no symbolic inputs
        shape = (model.get_build_config() or {}).get("input_shape")
        if not isinstance(shape, (tuple, list)) or not shape or isinstance(shape[0], (tuple, list, dict)):
            raise ValueError(f"model {model.name!r} has no known input shape (a subclassed model, or a Sequential "
                             "without keras.Input): call it once on a batch, model(x), before converting") from None
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
