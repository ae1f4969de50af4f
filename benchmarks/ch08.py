"""Chapter 08 benchmarks (attention and Transformers), registered in benchmarks/bench.py.

Both functions repeat the chapter's full-mode training of one model, with the same data, pipeline,
hyper-parameters and seeds, and return one dict each. The layers, models and the character pipeline are
imported from ``course_lib.transformer``, which ``make sync`` generates from the chapter's ``# export:``
cells, so the bench trains the chapter's code, not a copy:
``{"chapter", "dataset", "model", "epochs", "seconds", "metric", "value", ...}``.
Nothing touches the network (bundled data only). The keyword arguments exist only to make a quick smoke
test possible; call both without arguments for the real benchmark.
"""

from __future__ import annotations

import time
from typing import Any


def sentiment_transformer_model(vocab: int = 10_000, seq_len: int = 40) -> Any:
    """The bench's classifier: chapter 08's ``build_transformer_classifier`` from ``course_lib.transformer``."""
    from course_lib import transformer

    return transformer.build_transformer_classifier(vocab, seq_len)


def char_lm_model(vocab_size: int, seq_len: int = 128) -> Any:
    """The bench's language model: chapter 08's ``build_char_lm`` from ``course_lib.transformer``."""
    from course_lib import transformer

    return transformer.build_char_lm(vocab_size, seq_len)


def bench_sentiment_transformer(epochs: int = 6) -> dict[str, Any]:
    """One-block Transformer encoder (d_model 64, 2 heads, d_ff 128) on the bundled movie reviews
    (chapter 08, section 5).

    Same split and TextVectorization as chapter 07 (10,000 words, 40 tokens, last 10% of the training
    split for validation); learned positions, LayerNorm after the embeddings, masked average pooling;
    Adam(1e-3), up to 6 epochs, early stopping (patience 1) on validation accuracy. ``value`` is the test
    accuracy (0.7483 in the chapter's stored run); ``majority`` the majority-class rate (promise: >= majority + 0.05).
    """
    import keras
    from ch07 import fit_and_score, review_datasets

    reviews = review_datasets()
    vocab, seq_len = reviews["vocab"], reviews["seq_len"]
    keras.utils.set_random_seed(0)
    model = sentiment_transformer_model(vocab, seq_len)
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

    from course_lib import data, runtime, transformer

    runtime.setup(seed=42, verbose=False)
    text = data.load_shakespeare()
    chars = sorted(set(text))
    char_to_id = {ch: i for i, ch in enumerate(chars)}
    ids_all = np.array([char_to_id[ch] for ch in text], dtype=np.int32)
    train_ids, val_ids = ids_all[:2_000_000], ids_all[-60_000:]
    seq, batch, warmup = 128, 32, min(100, epochs * steps_per_epoch // 5)

    keras.utils.set_random_seed(0)
    model = char_lm_model(len(chars), seq)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=epochs * steps_per_epoch - warmup, alpha=0.1, warmup_target=3e-3, warmup_steps=warmup)
    model.compile(optimizer=keras.optimizers.Adam(schedule, clipnorm=1.0),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    val_ds = transformer.char_dataset(val_ids, shuffle=False, seq_len=seq, batch_size=batch)
    start = time.perf_counter()
    train_ds = transformer.char_dataset(train_ids, shuffle=True, seq_len=seq, batch_size=batch)
    model.fit(train_ds, epochs=epochs, steps_per_epoch=steps_per_epoch, validation_data=val_ds, verbose=0)
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
