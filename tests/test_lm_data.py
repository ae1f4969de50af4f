"""course_lib.lm_data (generated from chapter 15): token windows and total negative log-likelihood."""

import math

import keras
import numpy as np
import pytest

from course_lib.lm_data import token_windows, total_nll


def test_windows_shift_targets_and_cover_each_token_once():
    ids = np.arange(1, 42)  # 41 tokens -> (41 - 1) // 8 = 5 windows of 8 + 1
    ds = token_windows(ids, context_length=8, batch_size=1)
    xs, ys = zip(*[(x.numpy()[0], y.numpy()[0]) for x, y in ds], strict=True)
    assert len(xs) == 5
    np.testing.assert_array_equal(np.concatenate(ys), np.arange(2, 42))  # every token after the first, once
    for x, y in zip(xs, ys, strict=True):
        np.testing.assert_array_equal(y[:-1], x[1:])


def test_shuffle_is_reproducible_and_repeat_loops():
    ids = np.arange(200)
    order = lambda seed: [x.numpy()[:, 0].tolist() for x, _ in token_windows(ids, 4, 5, shuffle=True, seed=seed)]  # noqa: E731
    assert order(1) == order(1) and order(1) != order(2)
    starts = sum(order(1), [])  # 49 windows, 9 full batches of 5: 45 distinct window starts per pass
    assert len(starts) == len(set(starts)) == 45 and set(starts) <= set(range(0, 196, 4))
    batches = list(token_windows(ids, 4, 5, repeat=True).take(25))
    assert len(batches) == 25 and batches[0][0].shape == (5, 4)


def test_window_errors():
    with pytest.raises(TypeError, match="ids"):
        token_windows(np.zeros((2, 3), int), 4, 1)
    with pytest.raises(TypeError, match="ids"):
        token_windows(np.zeros(10, float), 4, 1)
    with pytest.raises(ValueError, match="context_length"):
        token_windows(np.arange(10), 0, 1)
    with pytest.raises(TypeError, match="batch_size"):
        token_windows(np.arange(10), 2, 1.5)
    with pytest.raises(ValueError, match="batch_size"):
        token_windows(np.arange(10), 4, 5)


class Uniform(keras.Model):
    """Logits all zero: every token has probability 1/V."""

    def __init__(self, vocab):
        super().__init__()
        self.vocab = vocab

    def call(self, ids, training=False):
        return keras.ops.zeros((*keras.ops.shape(ids), self.vocab))


@pytest.mark.parametrize("n", [2, 9, 33, 50])
def test_total_nll_scores_every_token_once(n):
    nats, count = total_nll(Uniform(7), np.arange(n) % 7, context_length=8, batch_size=2)
    assert count == n - 1
    assert math.isclose(nats, (n - 1) * math.log(7), rel_tol=1e-5)


def test_total_nll_errors():
    with pytest.raises(ValueError, match="at least 2"):
        total_nll(Uniform(3), [1], 4)
    with pytest.raises(ValueError, match="context_length"):
        total_nll(Uniform(3), [1, 2, 3], 0)
