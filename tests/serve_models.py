"""Small SavedModels for the serving tests, written the way TF Serving's own test models are.

``half_plus_three`` mirrors TF Serving's ``saved_model_half_plus_three`` (version 123, input ``x``,
output ``y = 0.5 x + 3``), the model of api_rest.md's worked example. ``sensors`` has the three
named inputs of api_rest.md's row/columnar examples (``tag``, ``signal``, ``sensor``) and several
named outputs. ``slow`` sleeps ``seconds`` inside TensorFlow (a long prediction).
"""

from pathlib import Path

import tensorflow as tf


def _save(module, path: Path, signatures) -> Path:
    tf.saved_model.save(module, str(path), signatures=signatures)
    return path


def half_plus_three(base: Path, versions=(123,)) -> Path:
    for v in versions:
        m = tf.Module()
        m.f = tf.function(lambda x: {"y": 0.5 * x + 3.0}, input_signature=[tf.TensorSpec([None], tf.float32, "x")])
        _save(m, base / f"{v:08d}", {"serving_default": m.f})
    return base


def sensors(path: Path) -> Path:
    m = tf.Module()

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, "tag"),
                                  tf.TensorSpec([None, 5], tf.float32, "signal"),
                                  tf.TensorSpec([None, 2, 2], tf.float32, "sensor")])
    def serve(tag, signal, sensor):
        return {"signal_sum": tf.reduce_sum(signal, axis=1), "sensor_max": tf.reduce_max(sensor, axis=[1, 2]),
                "tag_length": tf.strings.length(tag), "tag_bytes": tag}

    @tf.function(input_signature=[tf.TensorSpec([None, 5], tf.float32, "signal")])
    def total(signal):
        return {"total": tf.reduce_sum(signal)[None] + 0 * signal[:, 0]}

    m.serve, m.total = serve, total
    return _save(m, path, {"serving_default": serve, "total": total})


def words(path: Path) -> Path:
    m = tf.Module()
    m.f = tf.function(lambda x: {"length": tf.strings.length(x)},
                      input_signature=[tf.TensorSpec([None], tf.string, "x")])
    return _save(m, path, {"serving_default": m.f})


def pairs(path: Path) -> Path:
    m = tf.Module()
    m.f = tf.function(lambda x: {"y": 2.0 * x}, input_signature=[tf.TensorSpec([None, 1, 2], tf.float32, "x")])
    return _save(m, path, {"serving_default": m.f})


def typed(path: Path) -> Path:
    m = tf.Module()

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, "f32"), tf.TensorSpec([None], tf.int32, "i32"),
                                  tf.TensorSpec([None], tf.int8, "i8"), tf.TensorSpec([None], tf.bool, "flag"),
                                  tf.TensorSpec([None], tf.float64, "f64"), tf.TensorSpec([None], tf.int64, "i64")])
    def f(f32, i32, i8, flag, f64, i64):
        return {"ratio": f32 / tf.cast(i32, tf.float32),
                "total": tf.cast(i32, tf.int64) + tf.cast(i8, tf.int64) + tf.cast(flag, tf.int64) + i64,
                "f64": f64 * 1.0}

    m.f = f
    return _save(m, path, {"serving_default": f})


def slow(path: Path) -> Path:
    """Sleeps ``seconds`` inside TensorFlow (tf.data's SleepDataset: a long call that leaves the CPU free,
    so timing other requests meanwhile measures the server, not a CPU this test itself keeps busy)."""
    from tensorflow.python.data.experimental.ops import testing

    m = tf.Module()

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, "seconds")])
    def f(seconds):
        start = tf.timestamp()
        sleep = testing.sleep(tf.cast(seconds[0] * 1e6, tf.int64))
        tf.data.Dataset.from_tensors(0).apply(sleep).reduce(0, tf.add)
        return {"waited": tf.cast(tf.timestamp() - start, tf.float32) + 0 * seconds}

    m.f = f
    return _save(m, path, {"serving_default": f})
