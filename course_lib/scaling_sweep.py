"""One point of a scaling sweep: a GPT of a given width, trained on a given number of tokens, scored in bits per byte.

The model family (one rule, so that a single number, the width, picks the model): two Transformer blocks,
two attention heads, ``d_ff = 4·d_model``, and ``d_model`` on the ladder :data:`WIDTHS` (8 to 192, steps of
×1.33-1.5), so that N grows by about ×2 per step from 1.8·10³ to 8.9·10⁵. Depth is fixed because on a 2-core
CPU every extra layer adds per-step overhead that small models cannot amortise; Kaplan et al. (2020, §3.1,
fig. 5) found the loss to depend mainly on N over a wide range of aspect ratios d_model/n_layers (here 4 to
96), with very shallow models somewhat worse at equal N, so the family is self-consistent but not of the
best shape. N is the *non-embedding* parameter count (Kaplan et al., 2020, §2.1): every parameter except
the token and position embeddings.

Each run has its own learning-rate schedule that ends at its own budget (linear warm-up over the first 10 %
of steps, cosine decay to 10 % of the peak at the last step), as Hoffmann et al. (2022, §3.1 and fig. A1)
showed is needed: scoring a long schedule part-way overstates the loss of a short run. The peak learning
rate falls with the width, ``lr = lr_ref·(d_ref/d_model)^lr_exponent`` (wider layers take smaller Adam steps,
the direction of μP, Yang et al., 2022; the constants were chosen on the validation plays), and the batch
grows with the budget so that every run takes enough optimizer steps (:meth:`SweepRecipe.batch_size`).

Compute is counted two ways (FLOPs; Kaplan et al., 2020, table 1): ``6·N·D``, and ``6·N·D`` plus the
attention-score term ``6·n_layers·n_ctx·d_model·D`` (3 × the forward pass's ``2·n_layers·n_ctx·d_attn``).
The wall time of the training loop and the model FLOPs utilisation (MFU, Chowdhery et al., 2022, app. B) are
measured: MFU = (all FLOPs the model needs, embeddings and attention included) / (seconds · peak FLOP/s).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from course_lib import sizing
from course_lib.gpt import GPTConfig, build_gpt, lm_loss
from course_lib.validation import int_at_least, positive_int

WIDTHS: tuple[int, ...] = (8, 12, 16, 24, 32, 48, 64, 96, 128, 192)
"""The family's d_model ladder; with 2 layers, N = 2·(12·d² + 13·d) + 2·d from 1,760 to 890,112."""
N_LAYERS = 2
N_HEADS = 2


def family_config(d_model: int, vocab_size: int = 512, context_length: int = 64) -> GPTConfig:
    """The sweep's model of width ``d_model``: 2 layers, 2 heads (of width d_model / 2), d_ff = 4·d_model.

    Raises TypeError / ValueError naming the argument when a size is not a positive int or ``d_model`` is odd.
    """
    d = int_at_least(d_model, "d_model", 2)
    if d % N_HEADS:
        raise ValueError(f"d_model must be divisible by the {N_HEADS} heads, got {d}")
    return GPTConfig(vocab_size=int_at_least(vocab_size, "vocab_size", 2), context_length=positive_int(context_length,
                     "context_length"), d_model=d, n_layers=N_LAYERS, n_heads=N_HEADS)


def non_embedding_params(config: GPTConfig) -> int:
    """N: all parameters except token and position embeddings (Kaplan et al., 2020, §2.1).

    Computed with ``course_lib.sizing.transformer_params`` (12·d² + 13·d per layer, plus the final
    LayerNorm's 2·d) minus the (vocab_size + context_length)·d embedding entries.
    """
    if not isinstance(config, GPTConfig):
        raise TypeError(f"config must be a GPTConfig, got {type(config).__name__}")
    total = sizing.transformer_params(config.n_layers, config.d_model, config.vocab_size,
                                      context_length=config.context_length, d_ff=config.d_ff)
    return total - (config.vocab_size + config.context_length) * config.d_model


def compute_flops(config: GPTConfig, tokens: float) -> dict[str, float]:
    """Training FLOPs of ``tokens`` tokens, three ways (Kaplan et al., 2020, table 1 and §2.1).

    ``six_nd``: 6·N·D with N non-embedding (``sizing.training_flops``); ``with_attention``: adds the
    attention scores and their weighted sum, 6·n_layers·n_ctx·d_model·D; ``model``: also the tied
    output layer (logits), 6·vocab_size·d_model·D — what the hardware must do, used for MFU.
    """
    if not isinstance(config, GPTConfig):
        raise TypeError(f"config must be a GPTConfig, got {type(config).__name__}")
    if isinstance(tokens, bool) or not isinstance(tokens, (int, float, np.number)) or not tokens > 0:
        raise ValueError(f"tokens must be a positive number, got {tokens!r}")
    n, d = non_embedding_params(config), float(tokens)
    six_nd = sizing.training_flops(n, d)
    attention = 6.0 * config.n_layers * config.context_length * config.d_model * d
    logits = 6.0 * config.vocab_size * config.d_model * d
    return {"six_nd": six_nd, "with_attention": six_nd + attention, "model": six_nd + attention + logits}


@dataclass(frozen=True)
class SweepRecipe:
    """How every sweep run trains: AdamW, warm-up then cosine ending at the run's own last step.

    Per run: :meth:`batch_size` windows of ``context_length`` tokens per step (a multiple of ``min_batch``
    that gives about ``target_steps`` steps, clipped to [``min_batch``, ``max_batch``]); :meth:`steps` =
    tokens // (batch · context_length); peak learning rate :meth:`peak_lr` =
    ``lr_ref·(d_ref/d_model)^lr_exponent``.
    """

    context_length: int = 64
    min_batch: int = 4
    max_batch: int = 64
    target_steps: int = 384
    lr_ref: float = 7.3e-3
    d_ref: int = 32
    lr_exponent: float = 0.5
    warmup_fraction: float = 0.1
    final_fraction: float = 0.1
    weight_decay: float = 0.1
    beta_2: float = 0.95
    clipnorm: float = 1.0

    def batch_size(self, tokens: int) -> int:
        """Windows per step for a budget of ``tokens``: the multiple of ``min_batch`` nearest to
        tokens / (target_steps · context_length), clipped to [min_batch, max_batch]; so most runs take about
        ``target_steps`` steps (the smallest budgets fewer, the largest more)."""
        ideal = positive_int(tokens, "tokens") / (self.target_steps * self.context_length)
        return int(min(self.max_batch, max(self.min_batch, self.min_batch * round(ideal / self.min_batch))))

    def steps(self, tokens: int) -> int:
        """Optimizer steps for a budget of ``tokens`` tokens (at least 10)."""
        return max(10, positive_int(tokens, "tokens") // (self.batch_size(tokens) * self.context_length))

    def peak_lr(self, d_model: int) -> float:
        """Peak learning rate of a model of width ``d_model``: lr_ref·(d_ref/d_model)^lr_exponent."""
        return self.lr_ref * (self.d_ref / positive_int(d_model, "d_model")) ** self.lr_exponent


def training_windows(ids: Any, context_length: int, batch_size: int, *, unique_tokens: int | None = None,
                     seed: int = 0) -> tf.data.Dataset:
    """Endless shuffled ``(inputs, targets)`` batches from ``unique_tokens`` tokens of ``ids`` (all if None).

    The windows (``context_length + 1`` tokens, one every ``context_length``) kept are a random subset
    drawn with ``seed``, so a smaller pool is as varied as the whole text; each pass over the pool is a new
    permutation, so a run of D tokens sees each window D / unique_tokens times (the "epochs" of
    Muennighoff et al., 2023).
    """
    arr = np.asarray(ids)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"ids must be a 1-D array of token ids, got shape {arr.shape}, dtype {arr.dtype}")
    t, b = positive_int(context_length, "context_length"), positive_int(batch_size, "batch_size")
    windows = np.lib.stride_tricks.sliding_window_view(arr.astype(np.int32), t + 1)[::t]
    if unique_tokens is not None:
        k = positive_int(unique_tokens, "unique_tokens") // t
        if not b <= k <= len(windows):
            raise ValueError(f"unique_tokens must give between batch_size={b} and {len(windows)} windows "
                             f"of {t} tokens, got {unique_tokens}")
        windows = windows[np.sort(np.random.default_rng(seed).choice(len(windows), k, replace=False))]
    ds = tf.data.Dataset.from_tensor_slices(np.ascontiguousarray(windows))
    # Endless, so every batch is full; no drop_remainder, so the batch dimension stays unknown (one trace).
    ds = ds.shuffle(len(windows), seed=seed, reshuffle_each_iteration=True).repeat().batch(b)
    return ds.map(lambda w: (w[:, :-1], w[:, 1:])).prefetch(tf.data.AUTOTUNE)


def heldout_bits_per_byte(model: Any, windows: np.ndarray, token_bytes: np.ndarray, batch_size: int = 256) -> float:
    """Bits per byte of ``model`` on held-out ``windows`` (k, t + 1): nats / (ln 2 · bytes of the targets).

    ``token_bytes[i]`` is the UTF-8 length of token i (byte-level BPE: each token is a fixed byte string),
    so the denominator counts exactly the bytes whose tokens were predicted (Gao et al., 2020, §3).
    """
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")
    nats = 0.0
    for i in range(0, len(windows), batch_size):
        w = windows[i:i + batch_size]
        nats += float(loss(w[:, 1:], model(w[:, :-1], training=False)))
    return nats / (math.log(2) * float(token_bytes[windows[:, 1:]].sum()))


def sweep_data(vocab_size: int = 512, context_length: int = 64, heldout_stride: int = 2) -> dict[str, Any]:
    """The sweep's data: ``train_ids`` (the training plays), ``heldout`` windows and ``token_bytes``.

    ``heldout``: every ``heldout_stride``-th window of ``context_length + 1`` tokens of the validation plays
    (spread over all three plays), shape (k, context_length + 1). ``token_bytes[i]``: bytes of token i (each
    character of a byte-level BPE token stands for one byte; the special EOT token has none).
    """
    from course_lib import tokenizer

    t, stride = positive_int(context_length, "context_length"), positive_int(heldout_stride, "heldout_stride")
    tok = tokenizer.course_tokenizer(vocab_size)
    special = set(tok.get_added_tokens_decoder()) if hasattr(tok, "get_added_tokens_decoder") else {0}
    token_bytes = np.array([0 if i in special else len(tok.id_to_token(i)) for i in range(tok.get_vocab_size())])
    val = tokenizer.encode_split("val", vocab_size)
    heldout = np.lib.stride_tricks.sliding_window_view(val, t + 1)[::t][::stride]
    return {"train_ids": tokenizer.encode_split("train", vocab_size), "heldout": np.ascontiguousarray(heldout),
            "token_bytes": token_bytes}


def learning_rate(step: int, steps: int, recipe: SweepRecipe, peak: float) -> float:
    """The run's learning rate at ``step`` (0-based) of ``steps``: linear warm-up from 0 to ``peak`` over
    ``warmup_fraction·steps`` steps, then cosine decay to ``final_fraction`` of the peak at the last step
    (the values of ``keras.optimizers.schedules.CosineDecay`` with ``warmup_target``, checked in tests)."""
    warmup = max(1, int(recipe.warmup_fraction * steps))
    if step < warmup:
        return peak * step / warmup
    progress = min(step - warmup, steps - warmup) / (steps - warmup)
    return peak * ((1 - recipe.final_fraction) * 0.5 * (1 + math.cos(math.pi * progress)) + recipe.final_fraction)


class RunSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """:func:`learning_rate` inside the traced graph, its length held in variables.

    ``set_run(steps, peak)`` re-targets it to a new run without re-tracing the train step (the optimizer's
    step counter must be reset to 0 at the same time)."""

    def __init__(self, recipe: SweepRecipe) -> None:
        self.recipe = recipe
        self.steps = keras.Variable(100.0, trainable=False, name="schedule_steps")
        self.warmup = keras.Variable(10.0, trainable=False, name="schedule_warmup")
        self.peak = keras.Variable(1e-3, trainable=False, name="schedule_peak")

    def set_run(self, steps: int, peak: float) -> None:
        if not (isinstance(peak, (int, float)) and 0 < peak < 1):
            raise ValueError(f"peak must be a learning rate in (0, 1), got {peak!r}")
        self.steps.assign(float(steps))
        self.warmup.assign(float(max(1, int(self.recipe.warmup_fraction * steps))))
        self.peak.assign(float(peak))

    def __call__(self, step: Any) -> Any:
        r, step = self.recipe, keras.ops.cast(step, "float32")
        progress = keras.ops.minimum(keras.ops.maximum(step - self.warmup, 0.0), self.steps - self.warmup) / (
            self.steps - self.warmup)
        cosine = (1 - r.final_fraction) * 0.5 * (1 + keras.ops.cos(math.pi * progress)) + r.final_fraction
        return self.peak * keras.ops.where(step < self.warmup, step / self.warmup, cosine)

    def get_config(self) -> dict[str, Any]:
        return {"recipe": asdict(self.recipe)}


class SizeTrainer:
    """Trains and scores many runs of one model size, tracing Keras' train and test steps only once.

    Tracing a step function costs tens of seconds on a busy CPU, more than a small run's training; so the
    model is built and compiled once, and each run restarts it: the initial weights of its seed (those of
    ``build_gpt(config, seed)``), zeroed AdamW state, and its own schedule (:func:`learning_rate`, set before
    every step inside the graph by :class:`RunSchedule`, whose length is a variable). The traced functions
    are built by a warm-up step in the constructor, so ``train_seconds`` never includes tracing.
    """

    def __init__(self, d_model: int, recipe: SweepRecipe | None = None, vocab_size: int = 512) -> None:
        self.recipe = recipe or SweepRecipe()
        self.config = family_config(d_model, vocab_size, self.recipe.context_length)
        self.model = build_gpt(self.config, seed=0)
        r = self.recipe
        self.schedule = RunSchedule(r)
        opt = keras.optimizers.AdamW(self.schedule, weight_decay=r.weight_decay, beta_2=r.beta_2,
                                     clipnorm=r.clipnorm)
        opt.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
        self.model.compile(optimizer=opt, loss=lm_loss())
        self._inits: dict[int, list[np.ndarray]] = {}
        # Trace the train and test steps now, on inputs of the same structure as the runs' (zeros; the batch
        # dimension is left unknown, so runs with different batch sizes share one trace).
        dummy = np.zeros(2 * r.min_batch * r.context_length + 1, dtype=np.int32)
        self.model.fit(training_windows(dummy, r.context_length, r.min_batch), epochs=1, steps_per_epoch=1,
                       verbose=0)
        warm = np.zeros((130, r.context_length), dtype=np.int32)
        self.model.evaluate(warm, warm, batch_size=128, verbose=0)

    def _restart(self, seed: int) -> None:
        if seed not in self._inits:
            self._inits[seed] = build_gpt(self.config, seed=seed).get_weights()
        self.model.set_weights(self._inits[seed])
        for v in self.model.optimizer.variables:
            v.assign(np.zeros(v.shape, dtype=v.dtype))

    def run(self, tokens: int, *, train_ids: Any, heldout: np.ndarray, token_bytes: np.ndarray, seed: int = 0,
            unique_tokens: int | None = None, peak_lr: float | None = None) -> dict[str, Any]:
        """Train on ``tokens`` tokens (seeded init and data order) and score; returns the run's record:
        sizes (``n_params`` non-embedding, ``total_params``), ``tokens`` trained (whole steps), ``steps``,
        ``batch_size``, ``peak_lr`` (default: the recipe's rule for this width), the FLOP counts of
        :func:`compute_flops`, ``train_seconds`` (training loop only), ``heldout_bpb``, ``epochs``."""
        r, seed = self.recipe, int_at_least(seed, "seed", 0)
        steps, batch = r.steps(tokens), r.batch_size(tokens)
        peak = r.peak_lr(self.config.d_model) if peak_lr is None else float(peak_lr)
        trained = steps * batch * r.context_length
        self._restart(seed)
        keras.utils.set_random_seed(seed)  # the data order depends on the seed only, not on earlier runs
        data = training_windows(train_ids, r.context_length, batch, unique_tokens=unique_tokens, seed=seed)
        self.schedule.set_run(steps, peak)
        start = time.perf_counter()
        self.model.fit(data, epochs=1, steps_per_epoch=steps, verbose=0)
        seconds = time.perf_counter() - start
        x, y = heldout[:, :-1], heldout[:, 1:]
        mean_nats = self.model.evaluate(x, y, batch_size=128, verbose=0)
        bpb = mean_nats * y.size / (math.log(2) * float(token_bytes[y].sum()))
        pool = unique_tokens or (len(np.asarray(train_ids)) - 1) // r.context_length * r.context_length
        return {"n_layers": self.config.n_layers, "d_model": self.config.d_model,
                "n_params": non_embedding_params(self.config), "total_params": int(self.model.count_params()),
                "tokens": trained, "steps": steps, "batch_size": batch, "peak_lr": peak, "seed": seed,
                "unique_tokens": pool, "epochs": trained / pool,
                **compute_flops(self.config, trained), "train_seconds": seconds, "heldout_bpb": float(bpb)}
