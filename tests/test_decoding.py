"""course_lib.decoding (generated from chapter 15): filters, sampling, generation with and without a KV cache."""

import numpy as np
import pytest

from course_lib.decoding import generate, ms_per_token, sample_next, top_k_filter, top_p_filter
from course_lib.gpt import GPTConfig, build_gpt

PROBS = np.array([[0.1, 0.4, 0.05, 0.3, 0.15]])


@pytest.fixture(scope="module")
def model():
    return build_gpt(GPTConfig(vocab_size=31, context_length=16, d_model=16, n_layers=2, n_heads=2), seed=0)


def test_top_k_keeps_the_k_largest():
    kept = np.isfinite(top_k_filter(np.log(PROBS), 2))
    np.testing.assert_array_equal(kept, [[False, True, False, True, False]])
    assert np.isfinite(top_k_filter(np.log(PROBS), 5)).all()
    np.testing.assert_allclose(top_k_filter(np.log(PROBS), 3)[0, [1, 3, 4]], np.log(PROBS)[0, [1, 3, 4]])
    for bad in (0, 6, 2.0, True):
        with pytest.raises(ValueError, match="k must be"):
            top_k_filter(PROBS, bad)
    with pytest.raises(ValueError, match="logits"):
        top_k_filter(PROBS[0], 1)


@pytest.mark.parametrize("p, expected", [(0.3, [1]), (0.4, [1]), (0.41, [1, 3]), (0.7, [1, 3]), (0.71, [1, 3, 4]),
                                         (0.96, [0, 1, 2, 3, 4]), (1.0, [0, 1, 2, 3, 4])])
def test_top_p_keeps_the_smallest_nucleus(p, expected):
    kept = np.flatnonzero(np.isfinite(top_p_filter(np.log(PROBS), p)[0]))
    np.testing.assert_array_equal(kept, expected)


def test_top_p_rows_are_independent_and_errors():
    logits = np.log(np.array([[0.9, 0.05, 0.05], [0.34, 0.33, 0.33]]))
    kept = np.isfinite(top_p_filter(logits, 0.8))
    np.testing.assert_array_equal(kept, [[True, False, False], [True, True, True]])
    for bad in (0.0, 1.5, -1, "0.5"):
        with pytest.raises(ValueError, match="p must be"):
            top_p_filter(logits, bad)


def test_sample_next_greedy_temperature_and_frequencies():
    logits = np.log(np.repeat(PROBS, 4, axis=0))
    np.testing.assert_array_equal(sample_next(logits, temperature=0), [1, 1, 1, 1])
    rng = np.random.default_rng(0)
    draws = sample_next(np.log(np.repeat(PROBS, 40_000, axis=0)), rng=rng)
    np.testing.assert_allclose(np.bincount(draws, minlength=5) / len(draws), PROBS[0], atol=0.01)
    draws = sample_next(np.log(np.repeat(PROBS, 40_000, axis=0)), top_k=2, rng=rng)
    np.testing.assert_allclose(np.bincount(draws, minlength=5)[[1, 3]] / len(draws), [4 / 7, 3 / 7], atol=0.01)
    cold = sample_next(np.log(np.repeat(PROBS, 5_000, axis=0)), temperature=0.25, rng=rng)
    assert (cold == 1).mean() > 0.7  # 0.4^4 / sum(p^4) = 0.74
    with pytest.raises(ValueError, match="temperature"):
        sample_next(PROBS, temperature=-1)


def test_generate_with_cache_equals_without(model):
    prompt = np.array([[3, 1, 4], [1, 5, 9]], dtype=np.int32)
    a = generate(model, prompt, 10, use_cache=True)
    b = generate(model, prompt, 10, use_cache=False)
    assert a.shape == (2, 13) and (a[:, :3] == prompt).all()
    np.testing.assert_array_equal(a, b)
    s1 = generate(model, prompt, 10, temperature=1.0, top_p=0.9, seed=4)
    s2 = generate(model, prompt, 10, temperature=1.0, top_p=0.9, seed=4, use_cache=False)
    np.testing.assert_array_equal(s1, s2)


def test_generate_errors(model):
    with pytest.raises(ValueError, match="max_new_tokens"):
        generate(model, np.zeros((1, 10), np.int32), 7)
    with pytest.raises(ValueError, match="prompt_ids"):
        generate(model, np.zeros(4, np.int32), 2)
    with pytest.raises(ValueError, match="max_new_tokens"):
        generate(model, np.zeros((1, 2), np.int32), -1)


def test_ms_per_token_runs_and_validates(model):
    assert ms_per_token(model, 8, use_cache=True, repeats=2) > 0
    assert ms_per_token(model, 16, use_cache=False, repeats=2) > 0
    with pytest.raises(ValueError, match="context_length"):
        ms_per_token(model, 17, use_cache=True)
