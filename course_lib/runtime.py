"""Runtime set-up: seeds, devices, distribution strategy, precision and fast mode.

Every chapter starts with::

    from course_lib import runtime
    strategy = runtime.setup(seed=42)

which seeds Python, NumPy and TensorFlow, finds the best hardware (TPU, then
several GPUs, then one GPU, then the CPU), builds the matching
``tf.distribute`` strategy, turns on mixed precision only where it pays off,
and prints one line saying what it found and chose. Every course_lib path works under each
policy it can pick (:data:`POLICIES`); :func:`precision_policy` sets one for a block, and
:func:`as_float32` gives the float32 copy of a mixed-precision model that TFLite conversion needs.
"""

from __future__ import annotations

import contextlib
import os
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}
#: The precision policies :func:`setup` can pick: float32 (CPU, older GPUs), mixed_float16 (GPUs with
#: compute capability >= 7.0), mixed_bfloat16 (TPUs).
POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")
#: Floating dtypes/policies that :func:`as_float32` replaces by float32.
_NON_FLOAT32 = ("mixed_bfloat16", "mixed_float16", "bfloat16", "float16", "float64")


def fast_mode() -> bool:
    """Return True when ``COURSE_FAST`` asks for the quick, small-data run.

    ``make test`` sets ``COURSE_FAST=1`` so every chapter executes in seconds.
    Unset or ``0`` means full mode. Any other value is an error, not a guess.
    """
    value = os.environ.get("COURSE_FAST", "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"COURSE_FAST must be 1/0 (or true/false), got {value!r}")


def pick(*, full: T, fast: T) -> T:
    """Return ``fast`` in fast mode and ``full`` otherwise.

    Both modes run the same code; only sizes such as epochs or sample counts differ::

        epochs = pick(full=12, fast=1)
        limit = pick(full=None, fast=2000)   # None: use everything
    """
    numbers = isinstance(full, (int, float)) and isinstance(fast, (int, float))
    if full is not None and fast is not None and type(full) is not type(fast) and not numbers:
        raise TypeError(f"pick(): 'full' and 'fast' should have the same type, got {type(full).__name__} "
                        f"and {type(fast).__name__}")
    return fast if fast_mode() else full


def on_colab() -> bool:
    """True inside Google Colab."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def set_seed(seed: int = 42, *, deterministic: bool = False) -> None:
    """Seed Python, NumPy and TensorFlow; optionally make TF ops deterministic."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    import keras
    import tensorflow as tf

    os.environ["PYTHONHASHSEED"] = str(int(seed))
    random.seed(int(seed))
    np.random.seed(int(seed))
    keras.utils.set_random_seed(int(seed))  # Python, NumPy, TF and Keras' own generator
    if deterministic:
        tf.config.experimental.enable_op_determinism()


# --- device queries: small functions so tests can fake the hardware -----------------------------


def _tpu_resolver() -> Any | None:
    """Return a connected TPUClusterResolver, or None when there is no TPU.

    Only tries when the environment says a TPU may be there, so CPU and GPU
    machines never wait on a network look-up.
    """
    hints = ("COLAB_TPU_ADDR", "TPU_NAME", "TPU_ACCELERATOR_TYPE")
    if not any(os.environ.get(h) for h in hints) and not os.path.exists("/dev/accel0"):
        return None
    import tensorflow as tf

    try:
        tpu = os.environ.get("TPU_NAME") or ("local" if os.path.exists("/dev/accel0") else None)
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return resolver
    except (ValueError, RuntimeError, tf.errors.OpError):
        return None


def _gpus() -> list[Any]:
    import tensorflow as tf

    return list(tf.config.list_physical_devices("GPU"))


def _gpu_details(gpu: Any) -> dict[str, Any]:
    import tensorflow as tf

    return dict(tf.config.experimental.get_device_details(gpu))


def _split_cpu(n: int) -> list[str]:
    """Split the CPU into ``n`` logical devices (must run before TF initialises)."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    existing = tf.config.get_logical_device_configuration(cpu)
    if not existing or len(existing) != n:
        try:
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)
        except RuntimeError as err:
            raise RuntimeError(
                f"cpu_devices={n} must be set before TensorFlow starts using the CPU: "
                "call runtime.setup(cpu_devices=...) first in a fresh kernel"
            ) from err
    return [d.name for d in tf.config.list_logical_devices("CPU")]


# --- the decision -------------------------------------------------------------------------------


@dataclass
class RuntimeInfo:
    """What :func:`setup` found and chose (also printed as one line)."""

    hardware: str
    strategy: str
    replicas: int
    precision: str
    seed: int
    deterministic: bool
    fast: bool
    devices: list[str] = field(default_factory=list)
    hint: str = ""

    def line(self) -> str:
        det = "deterministic ops" if self.deterministic else "ops not forced deterministic"
        mode = "FAST mode (COURSE_FAST=1)" if self.fast else "full mode"
        text = (f"[course_lib] {self.hardware} -> {self.strategy} ({self.replicas} replica"
                f"{'s' if self.replicas != 1 else ''}), precision {self.precision}, "
                f"seed {self.seed}, {det}, {mode}")
        return text + (f"\n[course_lib] hint: {self.hint}" if self.hint else "")


_LAST: RuntimeInfo | None = None


def info() -> RuntimeInfo:
    """Return what the last :func:`setup` call found and chose."""
    if _LAST is None:
        raise RuntimeError("call runtime.setup() first")
    return _LAST


def _precision_for(kind: str, compute_capability: tuple[int, int] | None) -> str:
    if kind == "tpu":
        return "mixed_bfloat16"
    if kind == "gpu" and compute_capability is not None and compute_capability >= (7, 0):
        return "mixed_float16"
    return "float32"


def setup(
    seed: int = 42,
    *,
    mixed_precision: bool | None = None,
    deterministic: bool | None = None,
    cpu_devices: int = 1,
    verbose: bool = True,
) -> Any:
    """Seed everything, pick hardware, strategy and precision; return the strategy.

    Args:
        seed: seed for Python, NumPy and TensorFlow.
        mixed_precision: ``None`` (default) turns it on only where it helps: a GPU
            with compute capability >= 7.0 (``mixed_float16``) or a TPU
            (``mixed_bfloat16``). ``False`` forces float32; ``True`` forces it on
            for GPU/TPU and is refused on a CPU, where it is slower.
        deterministic: make TF ops deterministic. ``None`` means yes on CPU (the
            results in the text are reproducible) and no on accelerators (speed).
        cpu_devices: on a machine without accelerators, split the CPU into this many
            logical devices and use ``MirroredStrategy`` across them, to try
            multi-device code on a laptop. Must be called before TF is used.
        verbose: print the one-line summary.

    Returns:
        A ``tf.distribute.Strategy``: ``TPUStrategy``, ``MirroredStrategy``,
        ``OneDeviceStrategy`` (one GPU) or the default strategy (CPU).
    """
    global _LAST
    if not isinstance(cpu_devices, int) or isinstance(cpu_devices, bool) or cpu_devices < 1:
        raise ValueError(f"cpu_devices must be an int >= 1, got {cpu_devices!r}")
    if mixed_precision is not None and not isinstance(mixed_precision, bool):
        raise TypeError(f"mixed_precision must be None, True or False, got {mixed_precision!r}")
    if deterministic is not None and not isinstance(deterministic, bool):
        raise TypeError(f"deterministic must be None, True or False, got {deterministic!r}")

    import keras
    import tensorflow as tf

    fast = fast_mode()
    hint = ""
    cc: tuple[int, int] | None = None
    resolver = _tpu_resolver()
    if resolver is not None:
        kind = "tpu"
        strategy = tf.distribute.TPUStrategy(resolver)
        devices = [d.name for d in tf.config.list_logical_devices("TPU")]
        hardware = f"TPU with {strategy.num_replicas_in_sync} cores"
    else:
        gpus = _gpus()
        if gpus:
            kind = "gpu"
            details = [_gpu_details(g) for g in gpus]
            ccs = [d.get("compute_capability") for d in details]
            cc = min(ccs) if all(ccs) else None
            names = sorted({d.get("device_name", "GPU") for d in details})
            devices = [f"/gpu:{i}" for i in range(len(gpus))]
            hardware = f"{len(gpus)} x GPU ({', '.join(names)}, compute capability {cc})"
            if len(gpus) > 1:
                strategy = tf.distribute.MirroredStrategy(devices)
            else:
                strategy = tf.distribute.OneDeviceStrategy(devices[0])
        else:
            kind = "cpu"
            cores = os.cpu_count() or 1
            if cpu_devices > 1:
                devices = _split_cpu(cpu_devices)
                strategy = tf.distribute.MirroredStrategy(devices)
                hardware = f"CPU ({cores} cores) split into {cpu_devices} logical devices"
            else:
                devices = ["/cpu:0"]
                strategy = tf.distribute.get_strategy()
                hardware = f"CPU ({cores} cores), no GPU/TPU found"
            if on_colab():
                hint = "on Colab, choose Runtime > Change runtime type > T4 GPU (or a TPU) for 10-50x faster training"

    auto = _precision_for(kind, cc)
    if mixed_precision is None:
        precision = auto
    elif mixed_precision:
        if kind == "cpu":
            raise ValueError("mixed_precision=True needs a GPU or TPU; on a CPU it only slows training down")
        precision = "mixed_bfloat16" if kind == "tpu" else "mixed_float16"
    else:
        precision = "float32"
    keras.mixed_precision.set_global_policy(precision)

    det = (kind == "cpu") if deterministic is None else deterministic
    set_seed(seed, deterministic=det)

    _LAST = RuntimeInfo(
        hardware=hardware,
        strategy=type(strategy).__name__.lstrip("_"),
        replicas=int(strategy.num_replicas_in_sync),
        precision=precision,
        seed=int(seed),
        deterministic=det,
        fast=fast,
        devices=devices,
        hint=hint,
    )
    if verbose:
        print(_LAST.line())
    return strategy


# --- precision policies and float32 copies --------------------------------------------------------


@contextlib.contextmanager
def precision_policy(name: str) -> Iterator[None]:
    """Run a block under Keras' global dtype policy ``name``, then restore the previous policy::

        with runtime.precision_policy("mixed_bfloat16"):
            model = build_model()        # its layers compute in bfloat16

    Raises:
        ValueError: ``name`` is not one of :data:`POLICIES`.
    """
    import keras

    if name not in POLICIES:
        raise ValueError(f"name must be one of {POLICIES}, got {name!r}")
    before = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(before)


def _float32_name(name: str) -> str:
    for low in _NON_FLOAT32:  # "mixed_float16" -> "float32", "int8_from_mixed_bfloat16" -> "int8_from_float32"
        if name == low or name.endswith("_from_" + low):
            return name[: len(name) - len(low)] + "float32"
    return name


def _float32_config(obj: Any, key: str = "") -> Any:
    """A copy of a (nested) Keras config with every non-float32 floating dtype policy set to float32."""
    if isinstance(obj, dict):
        if key == "dtype" and isinstance(obj.get("config"), dict):  # a serialized DTypePolicy
            return {**obj, "config": {k: _float32_name(v) if isinstance(v, str) and k in ("name", "source_name")
                                      else v for k, v in obj["config"].items()}}
        return {k: _float32_config(v, k) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_float32_config(v) for v in obj]
    return _float32_name(obj) if key == "dtype" and isinstance(obj, str) else obj


def as_float32(model: Any) -> Any:
    """``model`` itself when every layer computes in float32, else a float32 copy with the same weights.

    Under ``mixed_float16``/``mixed_bfloat16`` layers compute in 16 bits but keep float32 variables
    (Micikevicius et al., 2018, *Mixed Precision Training*); the copy is rebuilt from the model's
    config with every such policy replaced by ``float32``, then gets the very same weights. Its
    outputs differ from the mixed model's only by the 16-bit rounding of the original.

    Raises:
        TypeError: ``model`` is not a ``keras.Model``, or cannot be rebuilt from its config
            (a subclassed model without ``get_config``); the message says how to rebuild it by hand.
    """
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    fix = ("rebuild it by hand: keras.mixed_precision.set_global_policy('float32'), build the same model again "
           "as model32, then model32.set_weights(model.get_weights())")
    layers = list(model._flatten_layers(include_self=True, recursive=True))  # every layer, nested ones too
    if all(_float32_name(layer.dtype_policy.name) == layer.dtype_policy.name for layer in layers):
        return model
    try:
        config = keras.saving.serialize_keras_object(model)
    except NotImplementedError as err:
        raise TypeError(f"model {model.name!r} has no get_config, so no float32 copy can be made: {fix}") from err
    config32 = _float32_config({k: v for k, v in config.items() if k != "compile_config"})  # no loss needed
    classes = {type(layer).__name__: type(layer) for layer in layers}  # custom layers, registered or not
    with precision_policy("float32"):
        try:
            copy = keras.saving.deserialize_keras_object(config32, custom_objects=classes)
            copy.set_weights(model.get_weights())
        except (TypeError, ValueError) as err:
            raise TypeError(f"could not rebuild model {model.name!r} in float32 from its config ({err}): {fix}") \
                from err
    return copy


def versions() -> dict[str, str]:
    """Versions of Python and the main libraries, for the environment check."""
    import importlib.metadata as md
    import platform

    out = {"python": platform.python_version()}
    for pkg in ("tensorflow", "keras", "numpy", "matplotlib", "scikit-learn"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "not installed"
    return out
