"""Every course_lib path works under each precision policy runtime.setup() can pick (issue 12, section 3).

On a GPU with Tensor Cores (Colab's T4) setup() turns on mixed_float16, on a TPU mixed_bfloat16. These
tests set each policy on the CPU and run conversion, export, models, metrics and plots under it, plus the
course_lib calls that chapters 11 and 13 make. Before the fix deploy.to_tflite raised a ConverterError
under both mixed policies and metrics refused the bfloat16 arrays a mixed_bfloat16 model predicts.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import data, deploy, metrics, models, plots, runtime

POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")
#: How far a model computing in 16 bits may be from the same model in float32 (bfloat16 has 8 bits of mantissa).
TOLERANCE = {"float32": 1e-5, "mixed_float16": 5e-3, "mixed_bfloat16": 5e-2}


@pytest.fixture(params=POLICIES)
def policy(request):
    """Run the test under one global precision policy; always restore float32 afterwards."""
    keras.mixed_precision.set_global_policy(request.param)
    try:
        yield request.param
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_the_policies_are_the_ones_setup_picks():
    assert runtime.POLICIES == POLICIES
    assert {runtime._precision_for(kind, cc) for kind, cc in
            (("cpu", None), ("gpu", (7, 5)), ("gpu", (6, 1)), ("tpu", None))} == set(POLICIES)


def _small_cnn(name="image"):
    """Chapter 13's model, smaller: softmax in float32, as the mixed-precision guide asks."""
    return keras.Sequential([keras.Input((12, 12, 1), name=name), keras.layers.Conv2D(4, 3, activation="relu"),
                             keras.layers.MaxPooling2D(), keras.layers.Flatten(),
                             keras.layers.Dense(16, activation="relu"),
                             keras.layers.Dense(3, activation="softmax", dtype="float32")])


def _float_tensors(lite):
    return {np.dtype(d["dtype"]).name for d in lite.interpreter.get_tensor_details()
            if np.issubdtype(d["dtype"], np.floating)}


@pytest.mark.parametrize("quantize", [None, "dynamic", "int8"])
def test_to_tflite_converts_a_float32_model_under_every_policy(policy, quantize):
    keras.utils.set_random_seed(0)
    model = _small_cnn()
    assert model.layers[0].compute_dtype == {"float32": "float32", "mixed_float16": "float16",
                                             "mixed_bfloat16": "bfloat16"}[policy]
    x = np.random.default_rng(0).random((40, 12, 12, 1)).astype("float32")
    lite = deploy.TFLiteModel(deploy.to_tflite(model, quantize=quantize, representative_data=[x]))
    assert _float_tensors(lite) <= {"float32"}                            # no float16/bfloat16 left in the graph
    tol = {None: TOLERANCE[policy], "dynamic": 0.05, "int8": 0.05}[quantize]
    np.testing.assert_allclose(lite(x), model.predict(x, verbose=0), atol=tol)
    assert keras.mixed_precision.global_policy().name == policy          # the caller's policy is untouched
    assert model.layers[0].compute_dtype != "float32" or policy == "float32"


def test_as_float32_copies_architecture_and_weights(policy):
    keras.utils.set_random_seed(1)
    inner = keras.Sequential([keras.layers.Dense(8, activation="relu", name="hidden")], name="inner")
    inputs = keras.Input((5,), name="x")
    model = keras.Model(inputs, keras.layers.Dense(2, name="out")(inner(inputs)))
    copy = runtime.as_float32(model)
    if policy == "float32":
        assert copy is model                                              # nothing to do: no copy, no cost
        return
    assert copy is not model and keras.mixed_precision.global_policy().name == policy
    layers = [layer for m in (copy, copy.get_layer("inner")) for layer in m.layers]
    assert {layer.dtype_policy.name for layer in layers} == {"float32"}
    assert model.get_layer("out").dtype_policy.name == policy             # the original is left as it was
    for a, b in zip(model.get_weights(), copy.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    x = np.random.default_rng(1).normal(size=(6, 5)).astype("float32")
    np.testing.assert_allclose(copy.predict(x, verbose=0), model.predict(x, verbose=0).astype("float32"),
                               atol=TOLERANCE[policy] * 4)


class ScaledByGain(keras.layers.Layer):
    """A custom layer that is not registered with Keras: the copy must still rebuild it."""

    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, shape):
        self.gain = self.add_weight(shape=(shape[-1],), initializer="ones")

    def call(self, x):
        return x * self.factor * self.gain

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class TwoDense(keras.Model):
    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = keras.layers.Dense(8, activation="relu")
        self.out = keras.layers.Dense(units, dtype="float32")

    def call(self, x):
        return self.out(self.hidden(x))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@pytest.mark.parametrize("kind", ["custom layer", "subclassed"])
def test_conversion_of_custom_and_subclassed_models(policy, kind):
    keras.utils.set_random_seed(2)
    if kind == "custom layer":
        inputs = keras.Input((4,))
        model = keras.Model(inputs, keras.layers.Dense(3)(ScaledByGain(3.0)(inputs)))
    else:
        model = TwoDense()
        model(np.zeros((1, 4), "float32"))
    x = np.random.default_rng(2).normal(size=(7, 4)).astype("float32")
    lite = deploy.TFLiteModel(deploy.to_tflite(model))
    ref = np.asarray(model.predict(x, verbose=0), dtype="float32")
    np.testing.assert_allclose(lite(x), ref, atol=TOLERANCE[policy] * 10 * max(1, np.abs(ref).max()))


class NeedsWidth(keras.Model):
    """Needs an argument and has no get_config: Keras cannot rebuild it from its config."""

    def __init__(self, width):
        super().__init__()
        self.dense = keras.layers.Dense(width)

    def call(self, x):
        return self.dense(x)


def test_a_model_that_cannot_be_rebuilt_gets_a_fix_that_works():
    x = np.ones((2, 3), "float32")
    with runtime.precision_policy("mixed_float16"):
        model = NeedsWidth(2)
        model(x)
        with pytest.raises(TypeError, match=r"set_global_policy\('float32'\).*set_weights"):
            deploy.to_tflite(model)
    keras.mixed_precision.set_global_policy("float32")                   # the fix, as the message says
    model32 = NeedsWidth(2)
    model32(x)
    model32.set_weights(model.get_weights())
    lite = deploy.TFLiteModel(deploy.to_tflite(model32))
    np.testing.assert_allclose(lite(x), model(x).numpy().astype("float32"), atol=1e-2)


def test_precision_policy_restores_and_validates():
    with runtime.precision_policy("mixed_bfloat16"):
        assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
        with pytest.raises(RuntimeError), runtime.precision_policy("mixed_float16"):
            raise RuntimeError("inside")
        assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
    assert keras.mixed_precision.global_policy().name == "float32"
    with pytest.raises(ValueError, match="name must be one of"):
        with runtime.precision_policy("float8"):
            pass
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        runtime.as_float32("model.keras")


def test_export_and_serving_model_under_every_policy(policy, tmp_path):
    keras.utils.set_random_seed(3)
    model = _small_cnn()
    path = deploy.export_savedmodel(model, tmp_path / "m" / "1")
    served = deploy.ServingModel(path)
    x = np.random.default_rng(3).random((5, 12, 12, 1)).astype("float32")
    np.testing.assert_allclose(served(x), model.predict(x, verbose=0), atol=TOLERANCE[policy])


@pytest.mark.parametrize("builder", ["mnist_cnn", "fashion_cnn"])
def test_models_train_and_convert_under_every_policy(policy, builder):
    keras.utils.set_random_seed(4)
    if builder == "mnist_cnn":
        model, recipe = models.mnist_cnn((12, 12, 1), 3, dense_units=8), models.MNIST_RECIPE
    else:
        model, recipe = models.fashion_cnn((12, 12, 1), 3, widths=(4,), dense_units=8, seed=0), models.FASHION_RECIPE
    x = np.random.default_rng(4).random((32, 12, 12, 1)).astype("float32")
    y = np.arange(32) % 3
    model.compile(optimizer=recipe.optimizer(n_train=32), loss=recipe.loss(), metrics=["accuracy"])
    history = model.fit(data.to_dataset(x, y, batch_size=16, shuffle=True), epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    probs = model.predict(x, verbose=0)
    assert probs.dtype == np.float32 and np.allclose(probs.sum(1), 1, atol=1e-3)
    lite = deploy.TFLiteModel(deploy.to_tflite(model))
    np.testing.assert_allclose(lite(x), probs, atol=TOLERANCE[policy] * 2)
    fig = plots.plot_history(history)
    assert [ax.get_title() for ax in fig.axes] == ["accuracy", "loss"] or len(fig.axes) == 2


def test_metrics_and_plots_take_what_a_mixed_model_predicts(policy):
    keras.utils.set_random_seed(5)
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(6, activation="relu")(inputs)
    scores = keras.layers.Dense(1, activation="sigmoid")(hidden)               # no float32 output layer
    boxes = keras.layers.Dense(4, activation="relu")(hidden)
    model = keras.Model(inputs, [scores, boxes])
    x = np.random.default_rng(5).normal(size=(64, 4)).astype("float32")
    s, b = (keras.ops.convert_to_numpy(t) for t in model(x))                # bfloat16/float16 NumPy arrays
    assert s.dtype.name == {"float32": "float32", "mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}[policy]
    y = (x[:, 0] > 0).astype(int)
    s32 = s.astype("float32")
    assert metrics.roc_auc(y, s) == pytest.approx(metrics.roc_auc(y, s32))
    assert metrics.mse(s32, s) == pytest.approx(0.0)
    assert metrics.mae(y, s[:, 0]) == pytest.approx(metrics.mae(y, s32[:, 0]))
    corners = np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)
    np.testing.assert_allclose(metrics.iou(corners, corners[::-1]),
                               metrics.iou(corners.astype("float32"), corners[::-1].astype("float32")), atol=1e-6)
    mask = (s > 0.5).astype(s.dtype)
    assert metrics.iou(mask, mask, kind="mask") == (1.0 if mask.any() else 0.0)
    predicted = (s[:, 0] > 0.5).astype(int)
    assert plots.confusion_matrix(y, predicted).sum() == 64
    plots.plot_confusion_matrix(y, predicted, class_names=["no", "yes"])
    plots.image_grid(np.abs(b[:8, None, :, None] * np.ones((8, 4, 4, 1), s.dtype)), y[:8], predictions=predicted[:8])


def test_setup_on_a_t4_turns_on_mixed_float16_and_deployment_still_works(monkeypatch):
    """runtime.setup() on a (faked) Colab T4, then chapter 13's deployment calls."""
    monkeypatch.setattr(runtime, "_tpu_resolver", lambda: None)
    monkeypatch.setattr(runtime, "_gpus", lambda: ["gpu0"])
    monkeypatch.setattr(runtime, "_gpu_details", lambda g: {"compute_capability": (7, 5), "device_name": "Tesla T4"})
    monkeypatch.setattr(tf.distribute, "OneDeviceStrategy", lambda device: tf.distribute.get_strategy())
    try:
        runtime.setup(seed=42, verbose=False)
        assert runtime.info().precision == "mixed_float16"
        keras.utils.set_random_seed(6)
        model = _small_cnn()
        x = np.random.default_rng(6).random((10, 12, 12, 1)).astype("float32")
        for quantize in (None, "dynamic"):
            lite = deploy.TFLiteModel(deploy.to_tflite(model, quantize=quantize))
            assert np.mean(lite(x).argmax(1) == model.predict(x, verbose=0).argmax(1)) >= 0.9
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_chapter_13_course_lib_calls(policy, tmp_path):
    """The course_lib calls of chapter 13, in its order, on a small slice of the bundled MNIST."""
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    x_train = (x_train[:256, ..., None] / 255.0).astype("float32")
    x_test = (x_test[:64, ..., None] / 255.0).astype("float32")
    keras.utils.set_random_seed(42)
    model = keras.Sequential([keras.Input((28, 28, 1), name="image"), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.MaxPooling2D(), keras.layers.Flatten(),
                              keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(10, activation="softmax", dtype="float32")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(data.to_dataset(x_train, y_train[:256], batch_size=128, shuffle=True), epochs=1, verbose=0)
    served = deploy.ServingModel(deploy.export_savedmodel(model, tmp_path / "mnist" / "1"))
    direct = model.predict(x_test, verbose=0)
    np.testing.assert_allclose(served(x_test), direct, atol=TOLERANCE[policy])
    lite_float = deploy.TFLiteModel(deploy.to_tflite(model))
    lite_dynamic = deploy.TFLiteModel(deploy.to_tflite(model, quantize="dynamic"))
    assert lite_dynamic.size_bytes < lite_float.size_bytes
    np.testing.assert_allclose(lite_float(x_test), direct, atol=TOLERANCE[policy] * 2)
    assert np.mean(lite_dynamic(x_test).argmax(1) == direct.argmax(1)) >= 0.9
    stats = deploy.measure_latency(lite_float, x_test, repeats=3)
    assert stats["examples_per_s"] > 0
    plots.image_grid(x_test[:8], y_test[:8], predictions=direct[:8].argmax(1))


def test_chapter_11_conversion_under_mixed_precision(policy):
    """Chapter 11 converts with its own TFLiteConverter code: it works under a mixed policy on the float32 copy
    (runtime.as_float32), while the mixed model itself cannot be converted."""
    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input(shape=(12, 12, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.MaxPooling2D(), keras.layers.Flatten(), keras.layers.Dense(10)])
    x = np.random.default_rng(7).random((50, 12, 12, 1)).astype("float32")

    def convert(m):
        converter = tf.lite.TFLiteConverter.from_keras_model(m)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([x[i:i + 1]] for i in range(50))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = converter.inference_output_type = tf.int8
        return converter.convert()

    if policy != "float32":
        with pytest.raises(Exception, match="Could not translate MLIR to FlatBuffer|neither a custom op"):
            convert(model)
    lite = deploy.TFLiteModel(convert(runtime.as_float32(model)))
    ref = model.predict(x, verbose=0).astype("float32")
    np.testing.assert_allclose(lite(x), ref, atol=0.05 * np.ptp(ref) + 2 * lite.outputs[0].scale[0])
    int8 = deploy.TFLiteModel(deploy.to_tflite(model, quantize="int8", representative_data=[x]))
    assert np.mean(int8(x).argmax(1) == ref.argmax(1)) >= 0.9
