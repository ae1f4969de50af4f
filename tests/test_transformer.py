"""course_lib.transformer (generated from chapter 08): positions, block, embeddings, models, pipeline."""

import keras
import numpy as np
import pytest

from course_lib.transformer import (
    TokenAndPositionEmbedding,
    TransformerBlock,
    build_char_lm,
    build_transformer_classifier,
    char_dataset,
    chunks,
    positional_encoding,
)


def test_positional_encoding_follows_vaswani_et_al():
    pe = positional_encoding(50, 16)
    assert pe.shape == (50, 16) and pe.dtype == np.float32
    pos, i = 37, 3
    angle = pos / 10000 ** (2 * i / 16)
    np.testing.assert_allclose([pe[pos, 2 * i], pe[pos, 2 * i + 1]], [np.sin(angle), np.cos(angle)], rtol=1e-5)
    gram = pe @ pe.T                                   # depends only on the offset (Toeplitz)
    np.testing.assert_allclose(gram[3, 8], gram[20, 25], rtol=1e-4)
    with pytest.raises(ValueError, match="d_model must be even, got 15"):
        positional_encoding(10, 15)
    with pytest.raises(ValueError, match="length must be >= 0"):
        positional_encoding(-1, 16)


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_block_parameters_causality_and_padding(norm_first):
    d, d_ff = 64, 128
    block = TransformerBlock(d, 2, d_ff, dropout=0.0, norm_first=norm_first)
    x = np.random.default_rng(0).normal(size=(2, 6, d)).astype("float32")
    y = block(x).numpy()
    assert y.shape == x.shape
    assert block.count_params() == 4 * (d * d + d) + (d * d_ff + d_ff + d_ff * d + d) + 2 * (2 * d)  # 33,472
    changed = x.copy()
    changed[:, 4:] += 1.0
    causal_a, causal_b = block(x, causal=True).numpy(), block(changed, causal=True).numpy()
    np.testing.assert_allclose(causal_a[:, :4], causal_b[:, :4], atol=1e-5)   # the future is invisible
    assert not np.allclose(causal_a[:, 4:], causal_b[:, 4:])
    real = np.array([[True] * 4 + [False] * 2] * 2)
    masked_a, masked_b = block(x, padding_mask=real).numpy(), block(changed, padding_mask=real).numpy()
    np.testing.assert_allclose(masked_a[:, :4], masked_b[:, :4], atol=1e-5)   # padding is ignored
    out, weights = block(x, causal=True, return_attention=True)
    assert weights.shape == (2, 2, 6, 6)
    np.testing.assert_allclose(np.triu(weights.numpy()[0, 0], 1), 0.0)


def test_transformer_block_config_round_trip_and_bad_heads():
    block = TransformerBlock(32, 4, 64, dropout=0.2, norm_first=True, activation="gelu", name="b")
    clone = TransformerBlock.from_config(block.get_config())
    assert clone.get_config() == block.get_config() and clone.norm_first
    with pytest.raises(ValueError, match=r"d_model \(30\) must be divisible by num_heads \(4\)"):
        TransformerBlock(30, 4, 64)


def test_token_and_position_embedding_both_kinds():
    emb = TokenAndPositionEmbedding(20, 10, 8, sinusoidal=True)
    tokens = np.array([[1, 2, 3]])
    out = emb(tokens).numpy()
    table = emb.token.embeddings.numpy()
    np.testing.assert_allclose(out[0], table[[1, 2, 3]] * np.sqrt(8) + positional_encoding(3, 8), rtol=1e-5)
    learned = TokenAndPositionEmbedding(20, 10, 8)
    out = learned(tokens).numpy()
    np.testing.assert_allclose(out[0], learned.token.embeddings.numpy()[[1, 2, 3]]
                               + learned.position.embeddings.numpy()[:3], rtol=1e-5)
    assert learned.count_params() == 20 * 8 + 10 * 8 and emb.count_params() == 20 * 8


def test_models_match_the_chapter_parameter_counts():
    # printed in chapter 08: "Transformer: 676,225 parameters" and "418,388 parameters" (84 characters)
    assert build_transformer_classifier(10_000, 40).count_params() == 676_225
    lm = build_char_lm(84, 128)
    assert lm.count_params() == 418_388
    logits = lm(np.zeros((2, 7), "int32"))
    assert logits.shape == (2, 7, 84)


def test_char_lm_is_causal_and_works_under_mixed_precision():
    lm = build_char_lm(10, max_len=16, d_model=16, num_heads=2, d_ff=32, num_layers=1)
    a = np.array([[1, 2, 3, 4, 5, 6]], "int32")
    b = a.copy()
    b[0, 4:] = 9
    np.testing.assert_allclose(lm(a).numpy()[:, :4], lm(b).numpy()[:, :4], atol=1e-5)
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        lm16 = build_char_lm(10, max_len=16, d_model=16, num_heads=2, d_ff=32, num_layers=1)
        clf16 = build_transformer_classifier(30, 8, d_model=16, d_ff=32)
        logits = lm16(a)
        p = clf16(np.array([[1, 2, 3, 0, 0, 0, 0, 0]]))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert keras.backend.standardize_dtype(logits.dtype) == "float32" and np.isfinite(np.asarray(logits)).all()
    assert keras.backend.standardize_dtype(p.dtype) == "float32" and 0.0 < float(np.asarray(p)[0, 0]) < 1.0


def test_chunks_and_char_dataset():
    ids = np.arange(100, dtype=np.int32)
    pairs = list(chunks(ids, seq_len=9))
    assert len(pairs) == 10                               # 100 // (9 + 1); nothing left over here
    x, y = (t.numpy() for t in pairs[1])
    np.testing.assert_array_equal(x, np.arange(10, 19))
    np.testing.assert_array_equal(y, np.arange(11, 20))   # the target is the input shifted by one
    val = list(char_dataset(ids, shuffle=False, seq_len=9, batch_size=4))
    assert [tuple(b[0].shape) for b in val] == [(4, 9), (4, 9)]  # 10 chunks -> 2 full batches
    train = char_dataset(ids, shuffle=True, seq_len=9, batch_size=4, seed=3)
    batches = [b[0].numpy() for b in train.take(6)]       # repeats forever: more batches than one pass holds
    assert len(batches) == 6
    again = [b[0].numpy() for b in char_dataset(ids, shuffle=True, seq_len=9, batch_size=4, seed=3).take(6)]
    np.testing.assert_array_equal(np.stack(batches), np.stack(again))
