"""course_lib.sequence (generated from chapter 07): the CO2 windows, the forecasters and the sentiment models."""

import keras
import numpy as np
import pytest

from course_lib.sequence import build_classifier, build_forecaster, window_dataset


def _series(n: int = 200) -> np.ndarray:
    return np.cumsum(np.random.default_rng(0).normal(size=n)).astype("float64") + 300.0


def test_window_dataset_inputs_and_targets_line_up():
    series, window, horizon, shift, scale = _series(), 10, 3, 0.1, 2.0
    ds = window_dataset(series, 50, 80, window=window, horizon=horizon, shift=shift, scale=scale, batch_size=7)
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds], strict=True)
    x, y = np.concatenate(xs), np.concatenate(ys)
    assert x.shape == (30, window, 1) and y.shape == (30, 1)      # one window per target step 50..79
    for j, target in enumerate(range(50, 80)):
        last = target - horizon                                   # last observed step of the window
        expected_x = (series[last - window + 1:last + 1] - series[last]) / scale
        np.testing.assert_allclose(x[j, :, 0], expected_x, atol=1e-4)  # float32 of values near 300
        np.testing.assert_allclose(y[j, 0], (series[target] - series[last] - shift) / scale, atol=1e-4)
    assert x[:, -1, 0].max() == 0.0                               # every window ends at its own reference value


def test_window_dataset_shuffle_is_seeded_and_keeps_the_windows():
    kw = dict(window=5, horizon=2, shift=0.0, scale=1.0, batch_size=100)
    plain = next(iter(window_dataset(_series(), 6, 60, **kw)))[1].numpy()[:, 0]
    a = next(iter(window_dataset(_series(), 6, 60, shuffle=True, seed=1, **kw)))[1].numpy()[:, 0]
    b = next(iter(window_dataset(_series(), 6, 60, shuffle=True, seed=1, **kw)))[1].numpy()[:, 0]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, plain) and np.allclose(np.sort(a), np.sort(plain))


def test_window_dataset_rejects_bad_ranges_and_the_suggested_fix_works():
    kw = dict(window=10, horizon=3, shift=0.0, scale=1.0)
    with pytest.raises(ValueError, match=r"first_target must be >= window - 1 \+ horizon = 12, got 11"):
        window_dataset(_series(), 11, 50, **kw)
    assert sum(int(x.shape[0]) for x, _ in window_dataset(_series(), 12, 50, **kw)) == 38
    with pytest.raises(ValueError, match="end must be in"):
        window_dataset(_series(), 12, 201, **kw)


@pytest.mark.parametrize("kind, params", [("linear", 53), ("LSTM", 4_385), ("GRU", 3_393), ("Conv1D", 5_377)])
def test_build_forecaster_matches_the_chapter(kind, params):
    model = build_forecaster(kind, 52)   # parameter counts printed in chapter 07, section 5
    assert model.count_params() == params
    assert model.input_shape == (None, 52, 1) and model.output_shape == (None, 1)
    assert model.optimizer.clipnorm == 1.0 and model.loss == "mse"
    out = model(np.zeros((2, 52, 1), "float32"))
    assert out.shape == (2, 1)


def test_build_forecaster_rejects_unknown_kind():
    with pytest.raises(ValueError, match="kind must be 'linear', 'LSTM', 'GRU' or 'Conv1D', got 'RNN'"):
        build_forecaster("RNN")


@pytest.mark.parametrize("kind, params", [("LSTM", 652_449), ("GRU", 649_441), ("Conv1D", 660_609)])
def test_build_classifier_matches_the_chapter(kind, params):
    model = build_classifier(kind, 10_000, 40)   # parameter counts printed in chapter 07, section 6
    assert model.count_params() == params
    p = model.predict(np.array([[5, 9, 2] + [0] * 37]), verbose=0)
    assert p.shape == (1, 1) and 0.0 < float(p[0, 0]) < 1.0


def test_build_classifier_masks_padding_for_recurrent_kinds():
    model = build_classifier("LSTM", 50, 8)
    short = np.array([[3, 4, 5, 0, 0, 0, 0, 0]])
    unpadded = keras.Sequential([keras.Input((None,), dtype="int64")] + model.layers[1:])
    np.testing.assert_allclose(model.predict(short, verbose=0), unpadded.predict(short[:, :3], verbose=0),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="kind must be 'LSTM', 'GRU' or 'Conv1D', got 'Transformer'"):
        build_classifier("Transformer")


def test_models_work_under_mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        clf = build_classifier("GRU", 30, 6)
        forecaster = build_forecaster("Conv1D", 20)
        p = clf(np.array([[1, 2, 3, 0, 0, 0]]))
        f = forecaster(np.zeros((1, 20, 1), "float32"))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert keras.backend.standardize_dtype(p.dtype) == keras.backend.standardize_dtype(f.dtype) == "float32"
    assert np.isfinite(np.asarray(p)).all() and np.isfinite(np.asarray(f)).all()
