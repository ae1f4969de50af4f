"""course_lib.runtime: fast mode, pick, seeds, and the device → strategy → precision decision.

The TPU and GPU branches run with the device queries faked (this machine has neither);
the real multi-device branch is in test_distributed.py.
"""

import random

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import runtime


@pytest.fixture(autouse=True)
def _reset_policy():
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("value, expected", [("1", True), ("true", True), ("0", False), ("", False), ("off", False)])
def test_fast_mode_reads_env(monkeypatch, value, expected):
    monkeypatch.setenv("COURSE_FAST", value)
    assert runtime.fast_mode() is expected


def test_fast_mode_rejects_garbage(monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "maybe")
    with pytest.raises(ValueError, match="COURSE_FAST"):
        runtime.fast_mode()


def test_pick(monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "1")
    assert runtime.pick(full=10, fast=1) == 1
    assert runtime.pick(full=None, fast=2000) == 2000
    monkeypatch.setenv("COURSE_FAST", "0")
    assert runtime.pick(full=10, fast=1) == 10
    assert runtime.pick(full=0.5, fast=1) == 0.5
    with pytest.raises(TypeError, match="full"):
        runtime.pick(full="ten", fast=1)


def test_on_colab(monkeypatch):
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    assert runtime.on_colab() is False
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20261101")
    assert runtime.on_colab() is True


def test_set_seed_makes_runs_repeatable():
    def draw():
        return random.random(), np.random.rand(), float(tf.random.uniform(())), float(keras.random.uniform(()))

    runtime.set_seed(7)
    a = draw()
    runtime.set_seed(7)
    assert draw() == a
    runtime.set_seed(8)
    assert draw() != a


@pytest.mark.parametrize("bad", [-1, 1.5, "42", True])
def test_set_seed_rejects_bad_seed(bad):
    with pytest.raises(ValueError, match="seed"):
        runtime.set_seed(bad)


def test_setup_on_cpu(capsys, monkeypatch):
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    strategy = runtime.setup(seed=3)
    out = capsys.readouterr().out
    assert "CPU" in out and "float32" in out and "seed 3" in out and "hint" not in out
    assert strategy.num_replicas_in_sync == 1
    info = runtime.info()
    assert info.precision == "float32" and info.deterministic and info.replicas == 1
    assert keras.mixed_precision.global_policy().name == "float32"


def test_setup_cpu_on_colab_gives_a_hint(capsys, monkeypatch):
    monkeypatch.setenv("COLAB_RELEASE_TAG", "x")
    runtime.setup()
    assert "Change runtime type" in capsys.readouterr().out


def test_setup_refuses_mixed_precision_on_cpu():
    with pytest.raises(ValueError, match="mixed_precision"):
        runtime.setup(mixed_precision=True, verbose=False)


@pytest.mark.parametrize("kwargs, arg", [({"cpu_devices": 0}, "cpu_devices"), ({"cpu_devices": 1.0}, "cpu_devices"),
                                         ({"mixed_precision": "yes"}, "mixed_precision"),
                                         ({"deterministic": 1}, "deterministic")])
def test_setup_rejects_bad_arguments(kwargs, arg):
    with pytest.raises((ValueError, TypeError), match=arg):
        runtime.setup(verbose=False, **kwargs)


class _FakeStrategy:
    def __init__(self, *args, **kwargs):
        self.args = args
        self.num_replicas_in_sync = len(args[0]) if args and isinstance(args[0], list) else 1


class _FakeTPUStrategy(_FakeStrategy):
    def __init__(self, resolver):
        super().__init__(resolver)
        self.num_replicas_in_sync = 8


def _fake_gpus(monkeypatch, n, cc):
    monkeypatch.setattr(runtime, "_tpu_resolver", lambda: None)
    monkeypatch.setattr(runtime, "_gpus", lambda: [f"gpu{i}" for i in range(n)])
    monkeypatch.setattr(runtime, "_gpu_details", lambda g: {"compute_capability": cc, "device_name": "Fake GPU"})
    monkeypatch.setattr(tf.distribute, "MirroredStrategy", type("MirroredStrategy", (_FakeStrategy,), {}))
    monkeypatch.setattr(tf.distribute, "OneDeviceStrategy", type("OneDeviceStrategy", (_FakeStrategy,), {}))


def test_setup_tpu_branch(monkeypatch, capsys):
    monkeypatch.setattr(runtime, "_tpu_resolver", lambda: "fake-resolver")
    monkeypatch.setattr(tf.distribute, "TPUStrategy", _FakeTPUStrategy)
    strategy = runtime.setup(verbose=True)
    assert isinstance(strategy, _FakeTPUStrategy) and strategy.args == ("fake-resolver",)
    info = runtime.info()
    assert info.precision == "mixed_bfloat16" and not info.deterministic and info.replicas == 8
    assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
    assert "TPU" in capsys.readouterr().out


def test_setup_several_gpus_branch(monkeypatch):
    _fake_gpus(monkeypatch, 4, (8, 0))
    strategy = runtime.setup(verbose=False)
    assert type(strategy).__name__ == "MirroredStrategy"
    assert strategy.args == (["/gpu:0", "/gpu:1", "/gpu:2", "/gpu:3"],)
    assert runtime.info().precision == "mixed_float16" and runtime.info().replicas == 4
    assert keras.mixed_precision.global_policy().name == "mixed_float16"


def test_setup_one_gpu_branch(monkeypatch):
    _fake_gpus(monkeypatch, 1, (7, 5))
    strategy = runtime.setup(verbose=False)
    assert type(strategy).__name__ == "OneDeviceStrategy" and strategy.args == ("/gpu:0",)
    assert runtime.info().precision == "mixed_float16"


def test_old_gpu_stays_in_float32(monkeypatch):
    _fake_gpus(monkeypatch, 1, (6, 1))  # Pascal: no Tensor Cores
    runtime.setup(verbose=False)
    assert runtime.info().precision == "float32"


def test_mixed_precision_can_be_forced_off_on_gpu(monkeypatch):
    _fake_gpus(monkeypatch, 1, (9, 0))
    runtime.setup(verbose=False, mixed_precision=False)
    assert runtime.info().precision == "float32"


def test_tpu_resolver_is_not_tried_without_a_hint(monkeypatch):
    for var in ("COLAB_TPU_ADDR", "TPU_NAME", "TPU_ACCELERATOR_TYPE"):
        monkeypatch.delenv(var, raising=False)
    assert runtime._tpu_resolver() is None or __import__("os").path.exists("/dev/accel0")


def test_versions_lists_the_stack():
    v = runtime.versions()
    assert v["tensorflow"] == tf.__version__ and v["keras"] == keras.__version__
    assert set(v) >= {"python", "numpy", "matplotlib"}


def test_info_line_mentions_mode():
    info = runtime.RuntimeInfo("CPU", "Default", 1, "float32", 42, True, True)
    assert "FAST mode" in info.line() and "(1 replica)" in info.line()


def test_info_before_setup_is_an_error(monkeypatch):
    monkeypatch.setattr(runtime, "_LAST", None)
    with pytest.raises(RuntimeError, match="setup"):
        runtime.info()
