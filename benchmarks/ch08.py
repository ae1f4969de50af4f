"""Chapter 08 benchmarks (attention and Transformers), registered in benchmarks/bench.py.

Both functions repeat the chapter's full-mode training of one model, with the same data, pipeline,
hyper-parameters and seeds, and return one dict each:
``{"chapter", "dataset", "model", "epochs", "seconds", "metric", "value", ...}``.
Nothing touches the network (bundled data only). The keyword arguments exist only to make a quick smoke
test possible; call both without arguments for the real benchmark.
"""

from __future__ import annotations

import time
from typing import Any


def _ch08_layers() -> tuple[type, type]:
    """The chapter's two custom layers: TransformerBlock and TokenAndPositionEmbedding (same code)."""
    import keras
    import numpy as np

    def positional_encoding(length: int, d_model: int) -> np.ndarray:
        pos = np.arange(length)[:, None]
        omega = 1.0 / 10000 ** (np.arange(0, d_model, 2) / d_model)
        pe = np.zeros((length, d_model), dtype="float32")
        pe[:, 0::2] = np.sin(pos * omega)
        pe[:, 1::2] = np.cos(pos * omega)
        return pe

    class TransformerBlock(keras.layers.Layer):
        def __init__(self, d_model, num_heads, d_ff, dropout=0.1, norm_first=False, activation="relu", **kwargs):
            super().__init__(**kwargs)
            self.attention = keras.layers.MultiHeadAttention(num_heads, key_dim=d_model // num_heads,
                                                             dropout=dropout)
            self.ffn = keras.Sequential([keras.layers.Dense(d_ff, activation=activation),
                                         keras.layers.Dense(d_model)])
            self.norm1 = keras.layers.LayerNormalization(epsilon=1e-6)
            self.norm2 = keras.layers.LayerNormalization(epsilon=1e-6)
            self.drop1 = keras.layers.Dropout(dropout)
            self.drop2 = keras.layers.Dropout(dropout)
            self.norm_first = norm_first

        def call(self, x, padding_mask=None, causal=False, training=None):
            mask = None if padding_mask is None else keras.ops.expand_dims(padding_mask, 1)

            def attend(h):
                return self.attention(h, h, attention_mask=mask, use_causal_mask=causal, training=training)

            if self.norm_first:
                x = x + self.drop1(attend(self.norm1(x)), training=training)
                return x + self.drop2(self.ffn(self.norm2(x)), training=training)
            x = self.norm1(x + self.drop1(attend(x), training=training))
            return self.norm2(x + self.drop2(self.ffn(x), training=training))

    class TokenAndPositionEmbedding(keras.layers.Layer):
        def __init__(self, vocab_size, max_len, d_model, sinusoidal=False, **kwargs):
            super().__init__(**kwargs)
            self.token = keras.layers.Embedding(vocab_size, d_model)
            self.sinusoidal = sinusoidal
            if sinusoidal:
                self.table = keras.ops.convert_to_tensor(positional_encoding(max_len, d_model))
                self.scale = float(np.sqrt(d_model))
            else:
                self.position = keras.layers.Embedding(max_len, d_model)

        def call(self, tokens):
            n = keras.ops.shape(tokens)[-1]
            if self.sinusoidal:
                return self.token(tokens) * self.scale + self.table[:n]
            return self.token(tokens) + self.position(keras.ops.arange(n))

    return TransformerBlock, TokenAndPositionEmbedding


def bench_sentiment_transformer(epochs: int = 6) -> dict[str, Any]:
    """One-block Transformer encoder (d_model 64, 2 heads, d_ff 128) on the bundled movie reviews
    (chapter 08, section 5).

    Same split and TextVectorization as chapter 07 (10,000 words, 40 tokens, last 10% of the training
    split for validation); learned positions, LayerNorm after the embeddings, masked average pooling;
    Adam(1e-3), up to 6 epochs, early stopping (patience 1) on validation accuracy. ``value`` is the test
    accuracy (about 0.77 in the chapter); ``majority`` the majority-class rate (promise: >= majority + 0.05).
    """
    import keras
    from ch07 import fit_and_score, review_datasets

    reviews = review_datasets()
    vocab, seq_len = reviews["vocab"], reviews["seq_len"]
    TransformerBlock, TokenAndPositionEmbedding = _ch08_layers()
    keras.utils.set_random_seed(0)
    tokens = keras.Input(shape=(seq_len,), dtype="int64")
    not_padding = keras.layers.Lambda(lambda t: keras.ops.not_equal(t, 0))(tokens)
    x = TokenAndPositionEmbedding(vocab, seq_len, 64)(tokens)
    x = keras.layers.LayerNormalization(epsilon=1e-6)(x)
    x = keras.layers.Dropout(0.1)(x)
    x = TransformerBlock(64, 2, 128, dropout=0.1)(x, padding_mask=not_padding)
    x = keras.layers.GlobalAveragePooling1D()(x, mask=not_padding)
    x = keras.layers.Dropout(0.5)(x)
    model = keras.Model(tokens, keras.layers.Dense(1, activation="sigmoid")(x))
    return {"chapter": "08", "model": "Transformer encoder (1 block, d_model 64, 2 heads)",
            **fit_and_score(model, reviews, epochs)}


def bench_char_lm(epochs: int = 6, steps_per_epoch: int = 125) -> dict[str, Any]:
    """Decoder-only character Transformer (2 pre-LN blocks, d_model 128, 4 heads, d_ff 512, causal) on the
    bundled Shakespeare (chapter 08, section 6).

    Trains on the first 2,000,000 characters in chunks of 128 (batch 32, 6 x 125 steps = 3.07 M characters),
    Adam with 100 warm-up steps to 3e-3 then cosine decay, clipnorm 1; validates on the last 60,000
    characters of the corpus (end of The Winter's Tale). ``value`` is the validation loss in bits per
    character (about 2.5 in the chapter; the unigram model gives 4.68).
    """
    import keras
    import numpy as np
    import tensorflow as tf

    from course_lib import data, runtime

    runtime.setup(seed=42, verbose=False)
    TransformerBlock, TokenAndPositionEmbedding = _ch08_layers()
    text = data.load_shakespeare()
    chars = sorted(set(text))
    char_to_id = {ch: i for i, ch in enumerate(chars)}
    ids_all = np.array([char_to_id[ch] for ch in text], dtype=np.int32)
    train_ids, val_ids = ids_all[:2_000_000], ids_all[-60_000:]
    seq, batch, warmup = 128, 32, min(100, epochs * steps_per_epoch // 5)

    def char_dataset(ids: np.ndarray, shuffle: bool) -> tf.data.Dataset:
        ds = tf.data.Dataset.from_tensor_slices(ids).batch(seq + 1, drop_remainder=True)
        ds = ds.map(lambda chunk: (chunk[:-1], chunk[1:]), num_parallel_calls=tf.data.AUTOTUNE).cache()
        if shuffle:
            ds = ds.shuffle(20_000, seed=0).repeat()
        return ds.batch(batch, drop_remainder=True).prefetch(tf.data.AUTOTUNE)

    keras.utils.set_random_seed(0)
    tokens = keras.Input(shape=(None,), dtype="int32")
    x = TokenAndPositionEmbedding(len(chars), seq, 128, sinusoidal=True)(tokens)
    for _ in range(2):
        x = TransformerBlock(128, 4, 512, dropout=0.0, norm_first=True, activation="gelu")(x, causal=True)
    x = keras.layers.LayerNormalization(epsilon=1e-6)(x)
    model = keras.Model(tokens, keras.layers.Dense(len(chars))(x))
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=epochs * steps_per_epoch - warmup, alpha=0.1, warmup_target=3e-3, warmup_steps=warmup)
    model.compile(optimizer=keras.optimizers.Adam(schedule, clipnorm=1.0),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    val_ds = char_dataset(val_ids, shuffle=False)
    start = time.perf_counter()
    model.fit(char_dataset(train_ids, shuffle=True), epochs=epochs, steps_per_epoch=steps_per_epoch,
              validation_data=val_ds, verbose=0)
    seconds = time.perf_counter() - start
    val_loss = float(model.evaluate(val_ds, verbose=0))
    return {"chapter": "08", "dataset": "Shakespeare (first 2 M chars; validation: last 60 k chars)",
            "model": f"char Transformer LM (2 blocks, d_model 128, {model.count_params():,} params)",
            "epochs": epochs, "seconds": round(seconds, 1), "metric": "val_bits_per_char",
            "value": round(val_loss / float(np.log(2)), 4), "val_loss_nats": round(val_loss, 4),
            "perplexity": round(float(np.exp(val_loss)), 3)}


if __name__ == "__main__":
    print(bench_sentiment_transformer())
    print(bench_char_lm())
