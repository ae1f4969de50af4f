"""Back-of-the-envelope sizing for large models: parameters, compute, memory, storage, time, bandwidth.

Answers the questions every large-model FAQ asks ("how much compute, memory, storage and bandwidth
does it take?") with the standard rules of thumb, each from the paper that introduced it:

===========================  ==========================================  =====================================
question                     function                                    rule (source)
===========================  ==========================================  =====================================
how many parameters?         :func:`transformer_params`                  12·d² + 13·d per GPT layer + embeddings
how much training compute?   :func:`training_flops`                      ≈ 6·N·D FLOPs (Kaplan et al., 2020)
how much inference compute?  :func:`inference_flops`                     ≈ 2·N FLOPs per token (Kaplan et al.)
how much training memory?    :func:`training_memory`                     16 bytes/param with Adam in mixed
                                                                         precision (ZeRO, Rajbhandari et al.)
activations?                 :func:`activation_memory`                   s·b·h·(34 + 5·a·s/h) bytes per layer
                                                                         (Korthikanti et al., 2022)
serving memory?              :func:`weights_bytes`, :func:`kv_cache_bytes`
storage?                     :func:`checkpoint_bytes`
===========================  ==========================================  =====================================

How long, on what hardware, and how much communication (training time, devices to fit, ring all-reduce
traffic and time, datasheet figures) is :mod:`course_lib.cluster`; those names import from here too.

Bytes are plain bytes; :func:`human_bytes` prints them with SI units (1 GB = 10⁹ bytes, as the papers
use). FLOPs are floating-point operations (a multiply-add counts as 2). Nothing here needs TensorFlow.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass

__all__ = [
    "TrainingMemory",
    "activation_memory",
    "bytes_per_value",
    "checkpoint_bytes",
    "human_bytes",
    "inference_flops",
    "kv_cache_bytes",
    "training_flops",
    "training_memory",
    "transformer_params",
    "weights_bytes",
]

# --- argument checks (every public function names the argument it refuses) ---------------------


def _number(value: object, arg: str, *, positive: bool = True, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{arg} must be a number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{arg} must be finite, got {value!r}")
    if positive and (value < 0 or (value == 0 and not allow_zero)):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{arg} must be {bound}, got {value!r}")
    return value


def _integer(value: object, arg: str, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{arg} must be an int, got {type(value).__name__}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{arg} must be >= {minimum}, got {value!r}")
    return value


def _choice(value: object, arg: str, options: tuple[str, ...]) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{arg} must be a string, one of {options}, got {type(value).__name__}")
    key = value.strip().lower()
    if key not in options:
        raise ValueError(f"{arg} must be one of {options}, got {value!r}")
    return key


# --- number formats ------------------------------------------------------------------------------

_BYTES = {
    "float64": 8.0, "fp64": 8.0,
    "float32": 4.0, "fp32": 4.0,
    "bfloat16": 2.0, "bf16": 2.0, "float16": 2.0, "fp16": 2.0,
    "float8": 1.0, "fp8": 1.0, "int8": 1.0,
    "int4": 0.5,
}


def bytes_per_value(dtype: str) -> float:
    """Bytes one number takes in ``dtype``: ``"fp32"``/``"float32"`` 4, ``"bf16"``/``"fp16"`` 2,
    ``"fp8"``/``"int8"`` 1, ``"int4"`` 0.5 (``"fp64"`` 8)."""
    return _BYTES[_choice(dtype, "dtype", tuple(_BYTES))]


# --- parameters ------------------------------------------------------------------------------------


def transformer_params(
    n_layers: int,
    d_model: int,
    vocab_size: int,
    *,
    context_length: int = 0,
    ffn_mult: float = 4.0,
    d_ff: int | None = None,
    gated_ffn: bool = False,
    biases: bool = True,
    norm: str = "layernorm",
    tied_embeddings: bool = True,
    n_heads: int | None = None,
    n_kv_heads: int | None = None,
) -> int:
    """Parameter count of a decoder-only Transformer (GPT style, or LLaMA style with the options).

    Per layer: attention has four ``d×d`` projections (Q, K, V, output); with grouped-query attention
    (Ainslie et al., 2023, arXiv:2305.13245; used by Llama 2 70B and Llama 3) only ``n_kv_heads`` of the
    ``n_heads`` heads have their own keys and values, so K and V are ``d × (n_kv_heads·d/n_heads)``
    each (``n_kv_heads = 1`` is multi-query attention). The feed-forward block has
    two ``d×d_ff`` matrices (three with a gated/SwiGLU FFN); two norms. A GPT layer with biases,
    LayerNorm and ``d_ff = 4·d`` therefore holds ``12·d² + 13·d`` parameters. Add the token embedding
    (``vocab_size·d``, shared with the output layer when ``tied_embeddings``), learned position
    embeddings (``context_length·d``; leave 0 for rotary/sinusoidal positions) and a final norm.

    Args:
        n_layers: number of Transformer blocks.
        d_model: width of the residual stream (the hidden size).
        vocab_size: number of tokens in the vocabulary.
        context_length: learned position embeddings (GPT-2/3: the context length); 0 for none.
        ffn_mult: ``d_ff = ffn_mult·d_model`` when ``d_ff`` is not given.
        d_ff: inner width of the feed-forward block (overrides ``ffn_mult``).
        gated_ffn: three FFN matrices (SwiGLU, as in LLaMA) instead of two.
        biases: linear layers carry biases (GPT: yes; LLaMA: no).
        norm: ``"layernorm"`` (scale and shift, 2·d) or ``"rmsnorm"`` (scale only, d).
        tied_embeddings: the output layer reuses the input embedding matrix.
        n_heads: number of query heads; needed only with ``n_kv_heads`` (must divide ``d_model``).
        n_kv_heads: number of key/value heads for grouped-query attention (must divide ``n_heads``);
            ``None`` (default) means one per query head, i.e. standard multi-head attention.

    Raises:
        ValueError / TypeError naming the argument for non-positive or non-integer sizes, an unknown
        ``norm``, ``n_kv_heads`` without ``n_heads``, or heads that do not divide evenly.

    Examples:
        GPT-3 175B (96 layers, d 12288, vocab 50257, context 2048) gives about 174.6e9;
        LLaMA-7B (32, 4096, 32000, d_ff 11008, gated, no biases, RMSNorm, untied) gives 6.74e9;
        Llama 3 8B (32, 4096, 128256, d_ff 14336, 32 heads, 8 KV heads, gated, no biases, RMSNorm,
        untied) gives 8.03e9 (Meta's model card: 8.03B; Grattafiori et al., 2024, Table 3 for shapes).
    """
    n_layers = _integer(n_layers, "n_layers")
    d = _integer(d_model, "d_model")
    vocab = _integer(vocab_size, "vocab_size")
    ctx = _integer(context_length, "context_length", minimum=0)
    if d_ff is None:
        ff = int(round(_number(ffn_mult, "ffn_mult") * d))
        if ff < 1:
            raise ValueError(f"ffn_mult gives d_ff = {ff}; it must be >= 1")
    else:
        ff = _integer(d_ff, "d_ff")
    for flag, name in ((gated_ffn, "gated_ffn"), (biases, "biases"), (tied_embeddings, "tied_embeddings")):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be True or False, got {flag!r}")
    norm_params = {"layernorm": 2 * d, "rmsnorm": d}[_choice(norm, "norm", ("layernorm", "rmsnorm"))]
    kv_dim = d
    if n_kv_heads is not None:
        if n_heads is None:
            raise ValueError("n_kv_heads needs n_heads (the number of query heads) to size K and V")
        heads, kv_heads = _integer(n_heads, "n_heads"), _integer(n_kv_heads, "n_kv_heads")
        if d % heads:
            raise ValueError(f"n_heads={heads} must divide d_model={d}")
        if heads % kv_heads:
            raise ValueError(f"n_kv_heads={kv_heads} must divide n_heads={heads}")
        kv_dim = kv_heads * (d // heads)
    elif n_heads is not None:
        heads = _integer(n_heads, "n_heads")
        if d % heads:
            raise ValueError(f"n_heads={heads} must divide d_model={d}")

    attention = 2 * d * d + 2 * d * kv_dim + (2 * d + 2 * kv_dim if biases else 0)
    n_mats = 3 if gated_ffn else 2
    ffn = n_mats * d * ff + ((n_mats - 1) * ff + d if biases else 0)
    per_layer = attention + ffn + 2 * norm_params
    embeddings = vocab * d * (1 if tied_embeddings else 2) + ctx * d
    return n_layers * per_layer + embeddings + norm_params


# --- compute ------------------------------------------------------------------------------------------


def training_flops(n_params: float, n_tokens: float, *, recompute: bool = False) -> float:
    """Training compute in FLOPs: ``6·N·D`` (Kaplan et al., 2020, §2.1).

    Each token costs ``2·N`` FLOPs in the forward pass (one multiply-add per weight) and ``4·N`` in the
    backward pass (gradients with respect to activations and to weights). With full activation
    recomputation (``recompute=True``) the forward pass runs twice: ``8·N·D`` (Narayanan et al., 2021).
    """
    n = _number(n_params, "n_params")
    tokens = _number(n_tokens, "n_tokens")
    if not isinstance(recompute, bool):
        raise TypeError(f"recompute must be True or False, got {recompute!r}")
    return (8.0 if recompute else 6.0) * n * tokens


def inference_flops(n_params: float, n_tokens: float = 1) -> float:
    """Forward-pass compute in FLOPs: ``2·N`` per token processed or generated (Kaplan et al., 2020).

    Ignores the attention over the context (``2·n_layers·context·d`` per token), small next to ``2·N``
    unless the context is much longer than ``d_model``.
    """
    return 2.0 * _number(n_params, "n_params") * _number(n_tokens, "n_tokens")


# --- memory -------------------------------------------------------------------------------------------

_SLOTS = {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}
_PRECISIONS = ("fp32", "mixed", "bf16")


@dataclass(frozen=True)
class TrainingMemory:
    """Bytes held during training, by kind (see :func:`training_memory`)."""

    weights: float
    gradients: float
    optimizer_states: float
    master_weights: float
    activations: float = 0.0

    @property
    def model_states(self) -> float:
        """Everything except activations: what ZeRO calls the *model states*."""
        return self.weights + self.gradients + self.optimizer_states + self.master_weights

    @property
    def total(self) -> float:
        """All bytes: model states plus activations."""
        return self.model_states + self.activations

    def as_dict(self) -> dict[str, float]:
        """The parts as a ``{name: bytes}`` dict (handy for tables and stacked bar plots)."""
        return asdict(self)


def training_memory(
    n_params: float,
    *,
    precision: str = "mixed",
    optimizer: str = "adam",
    activations: float = 0.0,
) -> TrainingMemory:
    """Memory to train a model of ``n_params`` parameters, split into weights, gradients, optimizer
    states, fp32 master weights and (optionally given) activations.

    ``precision``:

    - ``"fp32"``: everything in 32-bit: weights 4, gradients 4, Adam's two moments 8 bytes/param = 16.
    - ``"mixed"``: 16-bit weights and gradients (2 + 2) plus fp32 master weights (4) and fp32 Adam
      moments (8) = **16 bytes/param**, the rule of ZeRO (Rajbhandari et al., 2020, §3.1): a 7.5B model
      needs 120 GB before any activation. (Keras' ``mixed_*`` policies keep the variables in fp32 and
      cast them on the fly, which also comes to 16 bytes/param with Adam.)
    - ``"bf16"``: everything in bfloat16, no master copy: 2 + 2 + 4 = 8 bytes/param (cheaper, but
      small updates can vanish when added to bf16 weights).

    ``optimizer``: ``"sgd"`` (no state), ``"momentum"`` (one slot), ``"adam"``/``"adamw"`` (two slots).
    ``activations``: bytes of activations to add (e.g. from :func:`activation_memory`).
    """
    n = _number(n_params, "n_params")
    prec = _choice(precision, "precision", _PRECISIONS)
    slots = _SLOTS[_choice(optimizer, "optimizer", tuple(_SLOTS))]
    act = _number(activations, "activations", allow_zero=True)
    if prec == "fp32":
        return TrainingMemory(4 * n, 4 * n, 4 * slots * n, 0.0, act)
    if prec == "mixed":
        return TrainingMemory(2 * n, 2 * n, 4 * slots * n, 4 * n, act)
    return TrainingMemory(2 * n, 2 * n, 2 * slots * n, 0.0, act)


def activation_memory(
    n_layers: int,
    d_model: int,
    n_heads: int,
    seq_len: int,
    batch_size: int,
    *,
    recompute: str = "none",
) -> float:
    """Bytes of activations a Transformer keeps for the backward pass, with 16-bit activations.

    Korthikanti et al. (2022), eq. (1)-(2): per layer ``s·b·h·(34 + 5·a·s/h)`` bytes without
    recomputation (``s`` sequence length, ``b`` micro-batch, ``h`` d_model, ``a`` heads; the ``5·a·s/h``
    term is the ``s×s`` attention matrices); ``34·s·b·h`` with *selective* recomputation of the attention
    core; ``2·s·b·h`` (only each layer's input) with *full* recomputation.
    """
    L = _integer(n_layers, "n_layers")
    h = _integer(d_model, "d_model")
    a = _integer(n_heads, "n_heads")
    s = _integer(seq_len, "seq_len")
    b = _integer(batch_size, "batch_size")
    mode = _choice(recompute, "recompute", ("none", "selective", "full"))
    sbh = float(s) * b * h
    per_layer = {"none": sbh * (34 + 5 * a * s / h), "selective": 34 * sbh, "full": 2 * sbh}[mode]
    return L * per_layer


def weights_bytes(n_params: float, dtype: str = "bf16") -> float:
    """Bytes to hold the weights alone (what serving needs before the KV cache): ``N·bytes(dtype)``."""
    return _number(n_params, "n_params") * bytes_per_value(dtype)


def kv_cache_bytes(
    n_layers: int,
    d_model: int,
    seq_len: int,
    batch_size: int = 1,
    *,
    dtype: str = "bf16",
    n_kv_heads: int | None = None,
    n_heads: int | None = None,
) -> float:
    """Bytes of the key/value cache when generating: ``2·L·s·b·d_kv·bytes`` (keys and values, every layer).

    ``d_kv = d_model`` for ordinary multi-head attention; with grouped-query attention give ``n_heads``
    and ``n_kv_heads`` and it shrinks by ``n_kv_heads/n_heads``.
    """
    L = _integer(n_layers, "n_layers")
    d = _integer(d_model, "d_model")
    s = _integer(seq_len, "seq_len")
    b = _integer(batch_size, "batch_size")
    if (n_kv_heads is None) != (n_heads is None):
        raise ValueError("n_kv_heads and n_heads must be given together (grouped-query attention) or not at all")
    d_kv = float(d)
    if n_heads is not None:
        heads = _integer(n_heads, "n_heads")
        kv = _integer(n_kv_heads, "n_kv_heads")
        if kv > heads or heads % kv:
            raise ValueError(f"n_kv_heads must divide n_heads, got n_kv_heads={kv}, n_heads={heads}")
        d_kv = d * kv / heads
    return 2.0 * L * s * b * d_kv * bytes_per_value(dtype)


def checkpoint_bytes(
    n_params: float,
    *,
    weights_dtype: str = "bf16",
    optimizer_state: bool = False,
    optimizer: str = "adam",
) -> float:
    """Storage for one checkpoint.

    Weights only (to serve or share the model): ``N·bytes(weights_dtype)``, e.g. 2 bytes/param in bf16.
    With ``optimizer_state=True`` (to *resume* training): add the optimizer slots in fp32 and, when the
    weights are not fp32, an fp32 master copy: Adam with fp32 weights 4 + 8 = 12 bytes/param, with bf16
    weights 2 + 4 + 8 = 14.
    """
    n = _number(n_params, "n_params")
    per = bytes_per_value(weights_dtype)
    if not isinstance(optimizer_state, bool):
        raise TypeError(f"optimizer_state must be True or False, got {optimizer_state!r}")
    slots = _SLOTS[_choice(optimizer, "optimizer", tuple(_SLOTS))]
    if optimizer_state:
        per += 4.0 * slots + (0.0 if per == 4.0 else 4.0)
    return n * per


# --- printing (human_time is in course_lib.cluster) ----------------------------------------


def human_bytes(n_bytes: float) -> str:
    """``120e9`` -> ``"120 GB"`` (SI units, three significant figures)."""
    b = _number(n_bytes, "n_bytes", allow_zero=True)
    for unit, scale in (("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if b >= scale:
            return f"{b / scale:.3g} {unit}"
    return f"{b:.3g} B"


# --- the cluster half (course_lib.cluster), importable from here as before -------------------------

_CLUSTER_NAMES = frozenset({"ACCELERATORS", "Accelerator", "INFINIBAND_NDR", "accelerator", "allreduce_bytes",
                            "allreduce_time", "devices_to_fit", "human_time", "training_time"})


def __getattr__(name: str) -> object:
    """Names of :mod:`course_lib.cluster` (which imports this module's checks), loaded on first use (PEP 562)."""
    if name in _CLUSTER_NAMES:
        from course_lib import cluster

        return getattr(cluster, name)
    raise AttributeError(f"module 'course_lib.sizing' has no attribute {name!r}")


__all__ += sorted(_CLUSTER_NAMES)
