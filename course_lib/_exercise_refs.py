"""Reference answers for the self-checks of chapters 10, 14 and 15, computed out of the reader's sight.

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
