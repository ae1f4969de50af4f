"""course_lib.deploy.TFLiteModel runs every kind of model the TFLite converter makes, like Keras does.

Regression tests for issue 12, section 4. Before the fix TFLiteModel quantized int32 token ids with
scale 0 (every input gave the same answer), clipped uint8 inputs to the int8 range, refused a model
with a variable-length axis, took one input and one output only, and invoked the interpreter once
per example. Each test compares with the Keras model on the same inputs, within the quantization error.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import deploy

RNG = np.random.default_rng(12)


def _convert(model, *, input_type=None, output_type=None, representative=None):
    """Full-integer conversion with the converter's own options (uint8 I/O is not in deploy.to_tflite)."""
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([r[None] for r in row] for row in zip(*representative, strict=True))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type, converter.inference_output_type = input_type, output_type
    return converter.convert()


def _count_invocations(lite):
    """Wrap the interpreter's invoke() to count calls."""
    calls = []
    real = lite.interpreter.invoke
    lite.interpreter.invoke = lambda: (calls.append(1), real())[1]
    return calls


@pytest.fixture(scope="module")
def token_model():
    """Token ids of any length -> 3 logits: Embedding, mean over the sequence, Dense."""
    keras.utils.set_random_seed(1)
    ids = keras.Input((None,), dtype="int32", name="token_ids")
    x = keras.layers.Embedding(50, 8)(ids)
    x = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(ids, keras.layers.Dense(3)(x))


def test_token_ids_are_fed_as_ids_not_quantized(token_model):
    lite = deploy.TFLiteModel(deploy.to_tflite(token_model))
    ids = RNG.integers(0, 50, size=(16, 7)).astype("int32")
    out = lite(ids)
    np.testing.assert_allclose(out, token_model.predict(ids, verbose=0), atol=1e-5)
    assert np.ptp(out, axis=0).min() > 1e-3                   # different inputs, different answers
    np.testing.assert_allclose(lite(ids.tolist()), out)        # lists of Python ints work too


def test_fixed_length_ids():
    """The old code divided ids by their scale 0, so every input gave the same answer."""
    keras.utils.set_random_seed(2)
    ids = keras.Input((6,), dtype="int32", name="ids")
    model = keras.Model(ids, keras.layers.Dense(2)(keras.layers.Flatten()(keras.layers.Embedding(200, 4)(ids))))
    lite = deploy.TFLiteModel(deploy.to_tflite(model))
    x = RNG.integers(0, 200, size=(10, 6))
    np.testing.assert_allclose(lite(x), model.predict(x, verbose=0), atol=1e-5)


def test_variable_length_axis_is_resized_per_call(token_model):
    lite = deploy.TFLiteModel(deploy.to_tflite(token_model))
    assert lite.inputs[0].shape == (-1, -1)                     # shape_signature: batch and length dynamic
    for length in (1, 5, 40, 3):
        ids = RNG.integers(0, 50, size=(4, length)).astype("int32")
        np.testing.assert_allclose(lite(ids), token_model.predict(ids, verbose=0), atol=1e-5, err_msg=str(length))


def test_bad_ids_are_refused_with_the_input_named(token_model):
    lite = deploy.TFLiteModel(deploy.to_tflite(token_model))
    with pytest.raises(ValueError, match="'token_ids' takes integers"):
        lite(np.array([[1.5, 2.0]]))
    with pytest.raises(ValueError, match=r"'token_ids' takes int32 values in \[-2147483648"):
        lite(np.array([[2**40]]))
    with pytest.raises(ValueError, match=r"expected input 'token_ids' of shape \(n, \?\)"):
        lite(np.array([1, 2, 3]))
    with pytest.raises(TypeError, match="takes numbers"):
        lite(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="at least one example"):
        lite(np.zeros((0, 3), "int32"))


@pytest.fixture(scope="module")
def image_model():
    """A small CNN on [0, 1] images: the kind of model chapters 11 and 13 quantize."""
    keras.utils.set_random_seed(3)
    return keras.Sequential([keras.Input((8, 8, 1), name="image"), keras.layers.Conv2D(4, 3, activation="relu"),
                             keras.layers.Flatten(), keras.layers.Dense(5)])


@pytest.mark.parametrize("in_type,out_type", [(tf.uint8, tf.uint8), (tf.int8, tf.int8), (tf.uint8, tf.float32)])
def test_quantized_inputs_and_outputs_use_their_own_range(image_model, in_type, out_type):
    """uint8 inputs of [0, 1] images have scale 1/255 and zero point 0: values above 0.5 need codes above 127."""
    calib = RNG.random((100, 8, 8, 1)).astype("float32")
    lite = deploy.TFLiteModel(_convert(image_model, input_type=in_type, output_type=out_type,
                                       representative=[calib]))
    x = calib[:50]                    # inside the calibrated ranges: no saturation, only rounding error
    ref = image_model.predict(x, verbose=0)
    out_scale = lite.interpreter.get_output_details()[0]["quantization"][0]
    np.testing.assert_allclose(lite(x), ref, atol=0.05 * np.ptp(ref) + 2 * out_scale)
    inp, out = lite.inputs[0], lite.outputs[0]
    assert inp.dtype == np.dtype(in_type.as_numpy_dtype) and out.dtype == np.dtype(out_type.as_numpy_dtype)
    q = inp.encode(x)
    if in_type == tf.uint8:
        assert q.max() > 200 and q.min() < 50                  # the whole uint8 range is used, not clipped at 127


def test_uint8_input_dequantizes_exactly(image_model):
    """Encoding a value and decoding its code is the identity up to half a quantization step."""
    calib = RNG.random((100, 8, 8, 1)).astype("float32")
    lite = deploy.TFLiteModel(_convert(image_model, input_type=tf.uint8, output_type=tf.uint8,
                                       representative=[calib]))
    port = lite.inputs[0]
    x = RNG.random((20, 8, 8, 1))
    assert np.abs(port.decode(port.encode(x)) - x).max() <= port.scale[0] / 2 + 1e-6


@pytest.fixture(scope="module")
def two_in_two_out():
    """Inputs deliberately not in alphabetical order: 'zeta' ids (variable length) and 'alpha' features."""
    keras.utils.set_random_seed(4)
    ids = keras.Input((None,), dtype="int32", name="zeta")
    feats = keras.Input((3,), name="alpha")
    table = keras.layers.Embedding(20, 4, embeddings_initializer=keras.initializers.RandomUniform(-1, 1))
    pooled = keras.layers.GlobalAveragePooling1D()(table(ids))
    joint = keras.layers.Concatenate()([pooled, feats])
    return keras.Model([ids, feats], [keras.layers.Dense(2, name="first")(joint),
                                      keras.layers.Dense(1, name="second")(pooled)])


def test_several_inputs_and_outputs_match_by_name(two_in_two_out):
    lite = deploy.TFLiteModel(deploy.to_tflite(two_in_two_out))
    assert lite.input_names == ["zeta", "alpha"] and lite.output_names == ["output_0", "output_1"]
    ids, feats = RNG.integers(0, 20, (9, 5)), RNG.normal(size=(9, 3)).astype("float32")
    first, second = two_in_two_out.predict([ids, feats], verbose=0)
    for x in ({"alpha": feats, "zeta": ids}, (ids, feats), [ids, feats]):
        out = lite(x)
        assert sorted(out) == ["output_0", "output_1"]
        np.testing.assert_allclose(out["output_0"], first, atol=1e-5)
        np.testing.assert_allclose(out["output_1"], second, atol=1e-5)
    with pytest.raises(ValueError, match=r"missing \['alpha'\]"):
        lite({"zeta": ids})
    with pytest.raises(TypeError, match="2 inputs"):
        lite(ids)
    with pytest.raises(ValueError, match="same batch size"):
        lite({"zeta": ids, "alpha": feats[:4]})


def test_full_int8_with_ids_and_features(two_in_two_out):
    """deploy.to_tflite(quantize='int8') calibrates several inputs; ids stay int32, features become int8."""
    ids, feats = RNG.integers(0, 20, (200, 5)), RNG.normal(size=(200, 3)).astype("float32")
    flat = deploy.to_tflite(two_in_two_out, quantize="int8", representative_data=[(ids[:100], feats[:100]),
                                                                                  {"zeta": ids[100:],
                                                                                   "alpha": feats[100:]}])
    lite = deploy.TFLiteModel(flat)
    zeta, alpha = lite.inputs
    assert zeta.dtype == np.int32 and not zeta.scale.size and alpha.dtype == np.int8 and alpha.scale.size
    out = lite((ids[:30], feats[:30]))
    for name, ref in zip(lite.output_names, two_in_two_out.predict([ids[:30], feats[:30]], verbose=0), strict=True):
        port = next(p for p in lite.outputs if p.name == name)
        np.testing.assert_allclose(out[name], ref, atol=0.05 * np.ptp(ref) + 2 * port.scale[0], err_msg=name)
    with pytest.raises(ValueError, match="2 arrays"):
        deploy.to_tflite(two_in_two_out, quantize="int8", representative_data=[ids])


def test_batches_run_in_one_invocation_per_batch_size(image_model):
    lite = deploy.TFLiteModel(deploy.to_tflite(image_model))
    calls = _count_invocations(lite)
    x = RNG.random((100, 8, 8, 1)).astype("float32")
    np.testing.assert_allclose(lite(x), image_model.predict(x, verbose=0), atol=1e-5)
    assert len(calls) == 1                                      # the old code invoked once per example: 100
    small = deploy.TFLiteModel(deploy.to_tflite(image_model), batch_size=np.int64(32))
    calls = _count_invocations(small)
    np.testing.assert_allclose(small(x), lite(x), atol=1e-6)
    assert len(calls) == 4                                      # 32 + 32 + 32 + 4
    with pytest.raises(ValueError, match="batch_size"):
        deploy.TFLiteModel(deploy.to_tflite(image_model), batch_size=0)
    with pytest.raises(ValueError, match="flatbuffer is not a valid .tflite model"):
        deploy.TFLiteModel(b"not a tflite model at all")


def test_a_fixed_batch_axis_is_run_in_slices_of_that_size():
    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.Input(batch_shape=(4, 3), name="x"), keras.layers.Dense(2)])
    lite = deploy.TFLiteModel(deploy.to_tflite(model))
    assert lite.inputs[0].shape == (4, 3)
    calls = _count_invocations(lite)
    x = RNG.normal(size=(10, 3)).astype("float32")            # 4 + 4 + 2 (padded to 4, padding dropped)
    np.testing.assert_allclose(lite(x), model.predict(x, verbose=0), atol=1e-5)
    assert len(calls) == 3
    with pytest.raises(ValueError, match=r"expected input 'x' of shape \(4, 3\)"):
        lite(np.zeros((2, 5)))


def test_float_variable_length_sequences():
    keras.utils.set_random_seed(6)
    seq = keras.Input((None, 3), name="series")
    model = keras.Model(seq, keras.layers.Dense(1)(keras.layers.GlobalMaxPooling1D()(keras.layers.Conv1D(4, 2)(seq))))
    lite = deploy.TFLiteModel(deploy.to_tflite(model, quantize="dynamic"))
    for length in (2, 9, 30):
        x = RNG.normal(size=(5, length, 3)).astype("float32")
        ref = model.predict(x, verbose=0)
        np.testing.assert_allclose(lite(x), ref, atol=0.05 * np.ptp(ref) + 1e-3, err_msg=str(length))


class SmallSubclassed(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = keras.layers.Dense(4, activation="relu")
        self.out = keras.layers.Dense(2)

    def call(self, x):
        return self.out(self.hidden(x))


def test_subclassed_models_convert_once_called():
    keras.utils.set_random_seed(7)
    model = SmallSubclassed()
    with pytest.raises(ValueError, match=r"call it once on a batch, model\(x\)"):
        deploy.to_tflite(model)
    x = RNG.normal(size=(6, 3)).astype("float32")
    model(x[:1])                                               # the fix the message suggests
    for quantize in (None, "int8"):
        lite = deploy.TFLiteModel(deploy.to_tflite(model, quantize=quantize, representative_data=[x]))
        ref = model.predict(x, verbose=0)
        np.testing.assert_allclose(lite(x), ref, atol=1e-5 if quantize is None else 0.05 * np.ptp(ref) + 0.02)


def test_port_quantization_arithmetic_per_tensor_and_per_channel():
    """The encode/decode rules on hand-made tensor details: q = clip(round(x / s) + z), x = s * (q - z)."""
    from course_lib.litert import _Port

    def details(dtype, scales, zeros, axis=0, shape=(-1, 2)):
        return {"index": 0, "dtype": dtype, "shape": np.array([1, 2]), "shape_signature": np.array(shape),
                "quantization": (scales[0] if len(scales) == 1 else 0.0, zeros[0] if len(zeros) == 1 else 0),
                "quantization_parameters": {"scales": np.array(scales, "float32"),
                                            "zero_points": np.array(zeros, "int32"), "quantized_dimension": axis}}

    u8 = _Port.of(details(np.uint8, [0.5], [10]), "u8")
    np.testing.assert_array_equal(u8.encode([[0.0, 60.0], [-100.0, 1000.0]]), [[10, 130], [0, 255]])
    np.testing.assert_allclose(u8.decode(np.array([[10, 130]], np.uint8)), [[0.0, 60.0]])
    i16 = _Port.of(details(np.int16, [0.001], [0]), "i16")
    assert i16.encode([[40.0, -40.0]]).tolist() == [[32767, -32768]]          # int16's own range
    per_channel = _Port.of(details(np.int8, [0.1, 1.0], [0, -5], axis=1), "pc")
    np.testing.assert_array_equal(per_channel.encode([[1.0, 1.0]]), [[10, -4]])
    np.testing.assert_allclose(per_channel.decode(np.array([[10, -4]], np.int8)), [[1.0, 1.0]])
    ids = _Port.of(details(np.int32, [], []), "ids")
    assert not ids.scale.size and ids.encode([[3.0, 4.0]]).dtype == np.int32
    assert "'ids' of shape (n, 2)" in ids.described()
