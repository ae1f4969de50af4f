"""Reference answers for the self-checks of chapters 03, 04, 07, 10, 14 and 15, computed out of the reader's sight.

A check that compares a student's answer with a library call printed in the same cell can be passed by
copying that call. These functions compute what the exercises ask for (things no public course_lib function
returns) so the checks can compare against them without showing the method. Reading this file spoils
the exercises; tests/test_exercise_refs.py checks each function against the library.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from course_lib.bpe import byte_ranks, word_counts


def first_merge(texts: Iterable[str], tie_break: str = "library") -> tuple[tuple[bytes, bytes], int]:
    """Chapter 14, exercise 2: BPE's first merge on ``texts`` and how often the pair occurs.

    Adjacent byte pairs are counted inside each pre-token, weighted by the pre-token's frequency; the most
    frequent pair wins, ties broken by the smaller ``(rank(a), rank(b))`` under ``byte_ranks(tie_break)``.
    Returns ``((a, b), count)`` with ``a`` and ``b`` one-byte strings.
    """
    rank = byte_ranks(tie_break)
    counts: Counter[tuple[int, int]] = Counter()
    for word, freq in word_counts(texts).items():
        for i in range(len(word) - 1):
            counts[(word[i], word[i + 1])] += freq
    if not counts:
        raise ValueError("texts hold no pair of adjacent bytes inside a pre-token")
    best = min(counts, key=lambda p: (-counts[p], rank[p[0]], rank[p[1]]))
    return (bytes([best[0]]), bytes([best[1]])), counts[best]


def nucleus(probs: Sequence[float] | np.ndarray, p: float) -> list[int]:
    """Chapter 15, exercise 3: the indices top-p keeps, most probable first (equal probabilities: lower index
    first): the shortest such prefix whose probabilities sum to at least ``p`` (Holtzman et al., 2020, §3.1)."""
    arr = np.asarray(probs, dtype=np.float64)
    if arr.ndim != 1 or not 0.0 < p <= 1.0:
        raise ValueError(f"probs must be 1-D and p in (0, 1], got shape {arr.shape}, p={p!r}")
    order = sorted(range(len(arr)), key=lambda i: (-arr[i], i))
    kept, total = [], 0.0
    for i in order:
        kept.append(i)
        total += arr[i]
        if total >= p:
            break
    return kept


def temperature_bpb(model: Any, ids: Any, context_length: int, taus: Iterable[float], n_bytes: int) -> dict:
    """Chapter 15, exercise 4: bits per byte of ``model``'s logits / τ on every token ``ids[1:]``, per τ.

    Windows as in ``course_lib.lm_data.total_nll`` (consecutive windows of ``context_length`` predictions,
    then the remainder); the logits are computed once and rescaled for each τ.
    """
    arr = np.asarray(ids, dtype=np.int32)
    taus = [float(t) for t in taus]
    nats = dict.fromkeys(taus, 0.0)
    starts = range(0, len(arr) - 1, context_length)
    for s in starts:
        w = arr[s:s + context_length + 1]
        logits = np.asarray(model(w[None, :-1], training=False), dtype=np.float64)[0]
        for tau in taus:
            z = logits / tau
            z = z - z.max(axis=-1, keepdims=True)
            log_probs = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
            nats[tau] -= float(log_probs[np.arange(len(w) - 1), w[1:]].sum())
    return {tau: n / np.log(2) / n_bytes for tau, n in nats.items()}


def gpt_block_params(d_model: int, num_heads: int = 4) -> int:
    """Chapter 10, exercise 1: trainable parameters of one GPT block of width ``d_model``, counted by Keras.

    The block is the chapter's: LayerNorm, ``MultiHeadAttention`` (``num_heads`` heads of ``d_model //
    num_heads``), LayerNorm, ``Dense(4·d_model, gelu)``, ``Dense(d_model)``; it holds ``12d² + 13d``
    parameters (Radford et al., 2019; Brown et al., 2020, Table 2.1). Raises ``ValueError`` when ``num_heads``
    does not divide ``d_model``.
    """
    import keras  # only here: the other references need no TensorFlow

    if d_model <= 0 or num_heads <= 0 or d_model % num_heads:
        raise ValueError(f"d_model must be a positive multiple of num_heads, got {d_model} and {num_heads}")
    inp = keras.Input((4, d_model))
    h = keras.layers.LayerNormalization()(inp)
    h = keras.layers.MultiHeadAttention(num_heads=num_heads, key_dim=d_model // num_heads)(h, h)
    h = keras.layers.LayerNormalization()(h)
    h = keras.layers.Dense(4 * d_model, activation="gelu")(h)
    h = keras.layers.Dense(d_model)(h)
    return int(keras.Model(inp, h).count_params())


def palm_training_days() -> float:
    """Chapter 10, exercise 3: days of pure compute to train PaLM 540B, ``6·N·D / (chips · peak · MFU)``.

    N = 540e9 parameters and D = 780e9 tokens (§3) on 6,144 TPU v4 chips (§4) at 46.2% MFU (Table 3) of
    Chowdhery et al. (2022), https://arxiv.org/abs/2204.02311; a TPU v4 chip's dense bf16 peak is 275e12 FLOP/s
    (https://cloud.google.com/tpu/docs/v4). Restarts and other downtime are not counted.
    """
    n_params, n_tokens, chips, peak, mfu = 540e9, 780e9, 6144, 275e12, 0.462
    return 6 * n_params * n_tokens / (chips * peak * mfu) / 86400


# --- chapter 03 (backpropagation) -------------------------------------------------------------------


def dense_tanh_backward(X: np.ndarray, W: np.ndarray, b: np.ndarray, G: np.ndarray) -> tuple:
    """Chapter 03, exercise 1: (dL/dX, dL/dW, dL/db) of O = tanh(X W + b) given G = dL/dO, by GradientTape."""
    import tensorflow as tf

    Xv, Wv, bv = (tf.Variable(np.asarray(a, np.float64)) for a in (X, W, b))
    with tf.GradientTape() as tape:
        out = tf.tanh(Xv @ Wv + bv)
    grads = tape.gradient(out, [Xv, Wv, bv], output_gradients=tf.constant(np.asarray(G, np.float64)))
    return tuple(g.numpy() for g in grads)


def softmax_backward(Z: np.ndarray, G: np.ndarray) -> np.ndarray:
    """Chapter 03, exercise 2: dL/dZ for P = softmax(Z) (rows) given G = dL/dP, by GradientTape."""
    import tensorflow as tf

    Zv = tf.Variable(np.asarray(Z, np.float64))
    with tf.GradientTape() as tape:
        P = tf.nn.softmax(Zv, axis=1)
    return tape.gradient(P, Zv, output_gradients=tf.constant(np.asarray(G, np.float64))).numpy()


def line_gd(x: np.ndarray, y: np.ndarray, lr: float, steps: int) -> tuple[float, float]:
    """Chapter 03, exercise 3: (w, b) of y ~ w x + b after ``steps`` full-batch steps of
    ``keras.optimizers.SGD(lr)`` on the mean squared error, from w = b = 0 (a Keras ``Dense(1)``)."""
    import keras

    x = np.asarray(x, np.float32)
    line = keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(1, kernel_initializer="zeros")])
    line.compile(optimizer=keras.optimizers.SGD(learning_rate=lr), loss="mse")
    line.fit(np.tile(x, steps)[:, None], np.tile(np.asarray(y, np.float32), steps), batch_size=len(x),
             shuffle=False, verbose=0)
    kernel, bias = line.get_weights()
    return float(kernel[0, 0]), float(bias[0])


def combine_means(grads: Sequence[np.ndarray], sizes: Sequence[int]) -> np.ndarray:
    """Chapter 03, exercise 4: the full-batch mean gradient from per-batch mean gradients and batch sizes."""
    sizes = np.asarray(sizes, np.float64)
    return np.tensordot(sizes, np.asarray(grads, np.float64), axes=1) / sizes.sum()


def central_differences(f: Any, theta: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Chapter 03, exercise 5: (f(θ + ε e_i) − f(θ − ε e_i)) / 2ε for every entry i of ``theta`` (any shape)."""
    theta = np.array(theta, dtype=np.float64)
    out = np.empty_like(theta)
    for i in np.ndindex(theta.shape):
        plus, minus = theta.copy(), theta.copy()
        plus[i] += eps
        minus[i] -= eps
        out[i] = (f(plus) - f(minus)) / (2 * eps)
    return out


# --- chapter 04 (loss functions) --------------------------------------------------------------------


def weighted_bce_with_logits(z: np.ndarray, y: np.ndarray, q: float) -> np.ndarray:
    """Chapter 04, exercise 1: per-example −q y log σ(z) − (1 − y) log(1 − σ(z)), by TensorFlow's
    ``tf.nn.weighted_cross_entropy_with_logits`` (pos_weight = q)."""
    import tensorflow as tf

    return tf.nn.weighted_cross_entropy_with_logits(labels=np.asarray(y, np.float64), logits=np.asarray(z, np.float64),
                                                    pos_weight=float(q)).numpy()


def smoothed_cce(probs: np.ndarray, labels: np.ndarray, alpha: float) -> float:
    """Chapter 04, exercise 2: mean categorical cross-entropy of ``probs`` (n, K) against integer ``labels``
    smoothed by ``alpha``, by ``keras.losses.CategoricalCrossentropy(label_smoothing=alpha)``."""
    import keras

    probs = np.asarray(probs, np.float64)
    onehot = np.eye(probs.shape[1])[np.asarray(labels)]
    return float(keras.losses.CategoricalCrossentropy(label_smoothing=alpha)(onehot, probs).numpy())


def cce_logits_grad(Z: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Chapter 04, exercise 3: ∂L/∂Z of L = −(1/n) Σ_i Σ_c Y_ic log softmax(Z)_ic for any targets Y, by GradientTape."""
    import tensorflow as tf

    Zv = tf.Variable(np.asarray(Z, np.float64))
    with tf.GradientTape() as tape:
        loss = -tf.reduce_mean(tf.reduce_sum(np.asarray(Y, np.float64) * tf.nn.log_softmax(Zv, axis=1), axis=1))
    return tape.gradient(loss, Zv).numpy()


def baseline_bce(train_labels: np.ndarray, test_labels: np.ndarray) -> float:
    """Chapter 04, exercise 4: Keras' binary cross-entropy on ``test_labels`` of the constant prediction
    p = mean(train_labels)."""
    import keras

    test = np.asarray(test_labels, np.float64)[:, None]
    return float(keras.losses.BinaryCrossentropy()(test, np.full_like(test, np.mean(train_labels))).numpy())


def logsumexp_rows(Z: np.ndarray) -> np.ndarray:
    """Chapter 04, exercise 5: log Σ_j exp(Z_ij) for each row i, by ``scipy.special.logsumexp``."""
    from scipy.special import logsumexp

    return logsumexp(np.asarray(Z, np.float64), axis=1)


def val_accuracy_at(train: Any, loss: str, output_bias: float, seed: int, lr: float, epoch: int) -> float:
    """Chapter 04, exercise 6: the validation accuracy after ``epoch`` epochs (0 = before training) of chapter 04's
    ``train(loss, output_bias, seed, lr=lr)`` (which returns the model and its validation-accuracy curve)."""
    return float(train(loss, output_bias, seed, lr=lr)[1][epoch])


def smoothed_min_loss(K: int, alpha: float) -> float:
    """Chapter 04, exercise 2: the smallest label-smoothed cross-entropy of one example, the entropy (nats) of
    the smoothed target (1 − α + α/K for the true class, α/K for each other)."""
    target = np.full(K, alpha / K)
    target[0] += 1 - alpha
    return float(-np.sum(target * np.log(target)))


def exceeds_spread(a: Any, b: Any) -> bool | None:
    """Chapter 04, exercise 6: |mean(a) − mean(b)| > the larger sample standard deviation (ddof = 1) of the two;
    ``None`` when ``b`` (the student's array) is not at least two numbers."""
    try:
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    except (TypeError, ValueError):
        return None
    if b.ndim != 1 or len(b) < 2:
        return None
    return bool(abs(a.mean() - b.mean()) > max(a.std(ddof=1), b.std(ddof=1)))


# --- chapter 07 (sequences) -------------------------------------------------------------------------


def keras_window_count(length: int, window: int, horizon: int) -> int:
    """Chapter 07, exercise 3: how many windows ``keras.utils.timeseries_dataset_from_array`` cuts from a ``part``
    of ``length`` steps, as ``course_lib.sequence.window_dataset`` calls it (data ``part[:-horizon]``, targets
    ``part[window - 1 + horizon:]``, ``sequence_length=window``), counted by iterating the dataset."""
    import keras

    part = np.zeros(length, dtype="float32")
    ds = keras.utils.timeseries_dataset_from_array(part[:-horizon], targets=part[window - 1 + horizon:],
                                                   sequence_length=window, batch_size=None)
    return sum(1 for _ in ds)


def p_positive_from_ids(model: Any, ids: Any, padded_length: int = 40) -> float:
    """Chapter 07, exercise 5: P(positive) of the sentiment classifier ``model`` (``course_lib.sequence.
    build_classifier``) for a review's real token ids ``ids`` (1-D, no padding zeros).

    Reviews of at most ``padded_length`` tokens are scored as the model was trained, right-padded with zeros to
    ``padded_length`` (the embedding's mask hides the padding, which is what the exercise shows); longer ones
    through the same layers on an input of any length (the padded model could not take them whole).
    """
    import keras

    row = np.asarray(ids, dtype="int64").reshape(1, -1)
    if row.shape[1] <= padded_length:
        padded = np.zeros((1, padded_length), dtype="int64")
        padded[0, : row.shape[1]] = row
        return float(model.predict(padded, verbose=0)[0, 0])
    free = keras.Sequential([keras.Input((None,), dtype="int64")] + model.layers[1:])
    return float(free.predict(row, verbose=0)[0, 0])
