"""Chapter 07 benchmarks (RNNs, LSTM, GRU), registered in benchmarks/bench.py.

Both functions repeat the chapter's full-mode training of its main recurrent model, with the same data,
pipeline, hyper-parameters and seeds, and return one dict each:
``{"chapter", "dataset", "model", "epochs", "seconds", "metric", "value", ...}``.
Nothing touches the network (bundled data only).
"""

from __future__ import annotations

import time
from typing import Any


def bench_timeseries(epochs: int = 40) -> dict[str, Any]:
    """LSTM(32) forecasting weekly Mauna Loa CO2 4 weeks ahead from 52 weeks (chapter 07, section 5).

    Chronological 70/15/15 split, change-from-last-value targets normalized with training statistics,
    Adam(3e-3, clipnorm=1), up to 40 epochs with early stopping (patience 5) on validation MAE.
    ``value`` is the test MAE in ppm; ``ratio_to_naive`` divides it by the better naive forecast
    (persistence or seasonal naive): the chapter promises < 0.9.
    """
    import keras
    import numpy as np
    import tensorflow as tf

    from course_lib import data, runtime

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

    def windows(first_target: int, end: int, shuffle: bool) -> tf.data.Dataset:
        part = level[first_target - window + 1 - horizon:end].astype("float32")
        ds = keras.utils.timeseries_dataset_from_array(
            part[:-horizon], targets=part[window - 1 + horizon:], sequence_length=window, batch_size=None)

        def normalize(x: tf.Tensor, t: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            return (x - x[-1])[:, None] / scale, tf.reshape((t - x[-1] - shift) / scale, [1])

        ds = ds.map(normalize, num_parallel_calls=tf.data.AUTOTUNE).cache()
        if shuffle:
            ds = ds.shuffle(4096, seed=0)
        return ds.batch(64).prefetch(tf.data.AUTOTUNE)

    train_ds = windows(window - 1 + horizon, n_train, True)
    val_ds = windows(n_train, n_val, False)
    test_ds = windows(n_val, n, False)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((window, 1)), keras.layers.LSTM(32), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(3e-3, clipnorm=1.0), loss="mse", metrics=["mae"])
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
    Returns ``{"train", "val", "test", "vocab", "seq_len", "majority"}``.
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

    train_ds = data.to_dataset(text_train, label_train, batch_size=64, shuffle=True, map_fn=to_ids)
    val_ds = data.to_dataset(text_val, label_val, batch_size=64, map_fn=to_ids)
    test_ds = data.to_dataset(text_test, label_test, batch_size=64, map_fn=to_ids)
    majority = float(max(label_test.mean(), 1 - label_test.mean()))
    return {"train": train_ds, "val": val_ds, "test": test_ds, "vocab": vocab, "seq_len": seq_len,
            "majority": majority}


def fit_and_score(model: Any, reviews: dict[str, Any], epochs: int) -> dict[str, Any]:
    """Adam(1e-3) + binary cross-entropy, early stopping (patience 1) on validation accuracy; timed fit, test score."""
    import keras

    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    hist = model.fit(reviews["train"], validation_data=reviews["val"], epochs=epochs, verbose=0, callbacks=[
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
    model = keras.Sequential([
        keras.Input((reviews["seq_len"],), dtype="int64"),
        keras.layers.Embedding(reviews["vocab"], 64, mask_zero=True),
        keras.layers.LSTM(32),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    return {"chapter": "07", "model": "Embedding+LSTM(32)", **fit_and_score(model, reviews, epochs)}


if __name__ == "__main__":
    print(bench_timeseries())
    print(bench_sentiment())
