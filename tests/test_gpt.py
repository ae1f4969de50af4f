"""course_lib.gpt (generated from chapter 15): sizes, parameter count, keras-hub equivalence, KV cache, save/load."""

import importlib.util
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from course_lib import sizing
from course_lib.gpt import (
    GPT,
    SHAKESPEARE_GPT,
    CausalSelfAttention,
    GPTConfig,
    LMRecipe,
    TransformerBlock,
    build_gpt,
    causal_attention,
    gpt2_backbone_kwargs,
    gpt2_backbone_weights,
    lm_loss,
)

SMALL = GPTConfig(vocab_size=97, context_length=24, d_model=16, n_layers=2, n_heads=4)


@pytest.fixture(scope="module")
def model():
    return build_gpt(SMALL, seed=0)


def _ids(shape, vocab=SMALL.vocab_size, seed=0):
    return np.random.default_rng(seed).integers(0, vocab, shape).astype("int32")


def test_config_defaults_and_errors():
    assert SMALL.d_ff == 64 and SMALL.d_head == 4
    assert GPTConfig(10, 8, 12, 1, 3, d_ff=7).d_ff == 7
    with pytest.raises(ValueError, match="n_heads must divide d_model"):
        GPTConfig(10, 8, 10, 1, 3)
    with pytest.raises(TypeError, match="d_model"):
        GPTConfig(10, 8, 12.0, 1, 3)
    with pytest.raises(ValueError, match="vocab_size"):
        GPTConfig(0, 8, 12, 1, 3)
    with pytest.raises(ValueError, match="dropout"):
        GPTConfig(10, 8, 12, 1, 3, dropout=1.0)
    with pytest.raises(TypeError, match="config"):
        build_gpt({"vocab_size": 10})
    with pytest.raises(TypeError, match="config"):
        GPT(3)


@pytest.mark.parametrize("cfg", [SMALL, GPTConfig(50, 16, 8, 3, 2), GPTConfig(300, 64, 32, 1, 1, d_ff=48)])
def test_parameter_count_equals_sizing_and_keras_hub(cfg):
    keras_hub = pytest.importorskip("keras_hub")
    ours = build_gpt(cfg).count_params()
    expected = sizing.transformer_params(cfg.n_layers, cfg.d_model, cfg.vocab_size, context_length=cfg.context_length,
                                         d_ff=cfg.d_ff)
    hub = keras_hub.models.GPT2Backbone(**gpt2_backbone_kwargs(cfg)).count_params()
    assert ours == expected == hub


def test_weights_load_into_gpt2_backbone_with_identical_logits(model):
    keras_hub = pytest.importorskip("keras_hub")
    hub = keras_hub.models.GPT2Backbone(**gpt2_backbone_kwargs(SMALL))
    weights = gpt2_backbone_weights(model)
    assert set(weights) == {w.path for w in hub.weights}
    for w in hub.weights:
        w.assign(weights[w.path])
    ids = _ids((2, SMALL.context_length))
    hidden = hub({"token_ids": ids, "padding_mask": np.ones_like(ids)})
    theirs = keras.ops.convert_to_numpy(hub.token_embedding(hidden, reverse=True))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(ids)), theirs, rtol=1e-5, atol=1e-5)
    with pytest.raises(TypeError, match="model"):
        gpt2_backbone_weights(hub)
    with pytest.raises(TypeError, match="config"):
        gpt2_backbone_kwargs({"vocab_size": 3})


def test_causality_future_tokens_do_not_change_past_logits(model):
    ids = _ids((1, 12))
    changed = ids.copy()
    changed[0, 8:] = (changed[0, 8:] + 1) % SMALL.vocab_size
    a, b = (keras.ops.convert_to_numpy(model(x)) for x in (ids, changed))
    np.testing.assert_allclose(a[:, :8], b[:, :8], atol=1e-6)
    assert np.abs(a[:, 8:] - b[:, 8:]).max() > 1e-4


def test_kv_cache_logits_equal_full_recomputation(model):
    ids = _ids((3, SMALL.context_length), seed=1)
    full = keras.ops.convert_to_numpy(model(ids))
    logits, cache = model.forward(ids[:, :5])
    parts = [keras.ops.convert_to_numpy(logits)]
    for i in range(5, SMALL.context_length):
        logits, cache = model.forward(ids[:, i:i + 1], past=cache)
        parts.append(keras.ops.convert_to_numpy(logits))
    np.testing.assert_allclose(np.concatenate(parts, axis=1), full, rtol=1e-5, atol=1e-5)
    assert len(cache) == SMALL.n_layers
    assert tuple(cache[0][0].shape) == (3, SMALL.n_heads, SMALL.context_length, SMALL.d_head)
    kv_bytes = sum(np.prod(k.shape) * 4 + np.prod(v.shape) * 4 for k, v in cache) / 3
    assert kv_bytes == sizing.kv_cache_bytes(SMALL.n_layers, SMALL.d_model, SMALL.context_length, dtype="fp32")
    with pytest.raises(ValueError, match="context_length"):
        model.forward(ids[:, :1], past=cache)


def test_causal_attention_matches_numpy_reference():
    rng = np.random.default_rng(3)
    q, k, v = (rng.normal(size=(1, 2, 5, 4)).astype("float32") for _ in range(3))
    scores = q @ k.transpose(0, 1, 3, 2) / 2.0
    scores = np.where(np.tril(np.ones((5, 5), bool)), scores, -np.inf)
    w = np.exp(scores - scores.max(-1, keepdims=True))
    expected = (w / w.sum(-1, keepdims=True)) @ v
    np.testing.assert_allclose(keras.ops.convert_to_numpy(causal_attention(q, k, v)), expected, rtol=1e-5, atol=1e-6)
    # the last 2 queries against all 5 keys = the last 2 rows of the full result
    np.testing.assert_allclose(keras.ops.convert_to_numpy(causal_attention(q[:, :, 3:], k, v)), expected[:, :, 3:],
                               rtol=1e-5, atol=1e-6)


def test_save_and_reload_give_identical_logits(model, tmp_path):
    ids = _ids((2, 10))
    path = tmp_path / "gpt.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert isinstance(reloaded, GPT) and reloaded.config == SMALL
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(reloaded(ids)), keras.ops.convert_to_numpy(model(ids)))


def test_layers_round_trip_their_config():
    att = CausalSelfAttention(16, 4, 0.1)
    assert CausalSelfAttention.from_config(att.get_config()).n_heads == 4
    block = TransformerBlock(16, 4, 40, 0.0, 1e-6)
    again = TransformerBlock.from_config(block.get_config())
    assert (again.d_ff, again.layer_norm_epsilon) == (40, 1e-6)
    y, (k, v) = block(np.zeros((2, 3, 16), "float32"))
    assert tuple(y.shape) == (2, 3, 16) and tuple(k.shape) == (2, 4, 3, 4)


def test_a_few_training_steps_lower_the_loss():
    cfg = GPTConfig(vocab_size=11, context_length=8, d_model=16, n_layers=1, n_heads=2)
    m = build_gpt(cfg, seed=0)
    m.compile(optimizer=keras.optimizers.AdamW(3e-3), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    ids = np.tile(np.arange(9) % 11, (16, 1)).astype("int32")  # a fixed pattern, learnable
    first = float(m.evaluate(ids[:, :-1], ids[:, 1:], verbose=0))
    m.fit(ids[:, :-1], ids[:, 1:], epochs=30, verbose=0)
    assert float(m.evaluate(ids[:, :-1], ids[:, 1:], verbose=0)) < 0.5 * first


def test_runs_on_the_jax_backend():
    """The model code uses keras.layers/keras.ops only: on KERAS_BACKEND=jax it trains, caches and reloads.
    jax is not in requirements.txt (the course runs on TensorFlow), so this runs where jax is installed."""
    if importlib.util.find_spec("jax") is None:
        pytest.skip("jax is not installed")
    code = """
import numpy as np, keras
from course_lib.gpt import GPTConfig, build_gpt
assert keras.backend.backend() == "jax"
m = build_gpt(GPTConfig(vocab_size=50, context_length=16, d_model=8, n_layers=2, n_heads=2), seed=0)
ids = np.random.default_rng(0).integers(0, 50, (2, 10)).astype("int32")
full = keras.ops.convert_to_numpy(m(ids))
logits, cache = m.forward(ids[:, :6])
parts = [keras.ops.convert_to_numpy(logits)]
for t in range(6, 10):
    logits, cache = m.forward(ids[:, t:t + 1], past=cache)
    parts.append(keras.ops.convert_to_numpy(logits))
assert np.abs(np.concatenate(parts, 1) - full).max() < 1e-5
m.compile(optimizer="adamw", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
m.fit(ids[:, :-1], ids[:, 1:], epochs=1, verbose=0)
"""
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr[-2000:]


def test_lm_recipe_schedule_optimizer_and_errors():
    recipe = LMRecipe(steps=100, warmup_steps=10, peak_learning_rate=1e-3)
    lr = recipe.schedule()
    assert float(lr(0)) == 0.0
    assert abs(float(lr(10)) - 1e-3) < 1e-9  # the peak, at the end of the warm-up
    assert abs(float(lr(5)) - 5e-4) < 1e-9  # linear warm-up
    assert abs(float(lr(100)) - 1e-4) < 1e-9  # cosine down to final_fraction = 0.1 of the peak
    assert float(lr(55)) < float(lr(30))
    opt = recipe.optimizer()
    assert isinstance(opt, keras.optimizers.AdamW) and opt.weight_decay == 0.1 and opt.clipnorm == 1.0
    with pytest.raises(ValueError, match="warmup_steps"):
        LMRecipe(steps=10, warmup_steps=10)
    with pytest.raises(TypeError, match="batch_size"):
        LMRecipe(batch_size=3.5)
    with pytest.raises(ValueError, match="peak_learning_rate"):
        LMRecipe(peak_learning_rate=0.0)
    with pytest.raises(TypeError, match="clipnorm"):
        LMRecipe(clipnorm="1")
    with pytest.raises(ValueError, match="beta_2"):
        LMRecipe(beta_2=1.0)
    with pytest.raises(TypeError, match="weight_decay"):
        LMRecipe(weight_decay=None)
    assert SHAKESPEARE_GPT.vocab_size == 2048 and build_gpt(SHAKESPEARE_GPT).count_params() == 1_071_872


def test_lm_loss_is_mean_next_token_cross_entropy_in_nats():
    logits = np.zeros((2, 3, 4), "float32")  # uniform over 4 tokens: ln 4 nats per token
    assert abs(float(lm_loss()(np.zeros((2, 3), "int32"), logits)) - np.log(4)) < 1e-6
