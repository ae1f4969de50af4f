"""course_lib.sizing: the rules of thumb reproduce published figures (within 5%); bad input is refused."""

import math

import numpy as np
import pytest

from course_lib import sizing
from course_lib.sizing import (
    ACCELERATORS,
    Accelerator,
    TrainingMemory,
    accelerator,
    activation_memory,
    allreduce_bytes,
    allreduce_time,
    bytes_per_value,
    checkpoint_bytes,
    devices_to_fit,
    human_bytes,
    human_time,
    inference_flops,
    kv_cache_bytes,
    training_flops,
    training_memory,
    training_time,
    transformer_params,
    weights_bytes,
)


def close(value, published, rel=0.05):
    return abs(value - published) <= rel * abs(published)


# --- published figures ---------------------------------------------------------------------------------


def test_gpt3_parameter_count_from_its_architecture():
    # Brown et al. (2020), Table 2.1: 96 layers, d_model 12288, context 2048; GPT-2 vocabulary of 50257.
    n = transformer_params(96, 12288, 50257, context_length=2048)
    assert close(n, 175e9)
    assert n == 96 * (12 * 12288**2 + 13 * 12288) + 50257 * 12288 + 2048 * 12288 + 2 * 12288


def test_llama_7b_parameter_count():
    # Touvron et al. (2023), Table 2: 6.7B; dim 4096, 32 layers, SwiGLU FFN of 11008, RMSNorm, untied, no biases.
    n = transformer_params(32, 4096, 32000, d_ff=11008, gated_ffn=True, biases=False, norm="rmsnorm",
                           tied_embeddings=False)
    assert n == 6_738_415_616  # the exact count of the released checkpoint
    assert close(n, 6.7e9)


def test_gpt3_training_compute():
    # Brown et al. (2020), Table D.1: 3.14e23 FLOPs for 175B on 300B tokens.
    assert close(training_flops(175e9, 300e9), 3.14e23)


def test_chinchilla_training_compute():
    # Hoffmann et al. (2022), Table 3: 70B on 1.4T tokens, 5.76e23 FLOPs.
    assert close(training_flops(70e9, 1.4e12), 5.76e23)


def test_llama3_405b_training_compute():
    # Llama 3 Herd of Models (2024): 405B params, 15.6T tokens, 3.8e25 FLOPs.
    assert close(training_flops(405e9, 15.6e12), 3.8e25)


def test_zero_16_bytes_per_param():
    # Rajbhandari et al. (2020), §3.1: Adam in mixed precision needs 16 bytes/param: 7.5B -> 120 GB.
    mem = training_memory(7.5e9, precision="mixed", optimizer="adam")
    assert close(mem.model_states, 120e9)
    assert mem.model_states / 7.5e9 == 16
    # ...and GPT-2 (1.5B) needs "at least 24 GB" of model states against 3 GB of fp16 weights.
    gpt2 = training_memory(1.5e9)
    assert close(gpt2.model_states, 24e9) and close(gpt2.weights, 3e9)


def test_gpt3_on_1024_a100s_takes_about_34_days():
    # Narayanan et al. (2021), §5.1: 8·T·P/(n·X) with X = 140 TFLOP/s per A100 -> about 34 days.
    seconds = training_time(training_flops(175e9, 300e9, recompute=True), n_devices=1024, accelerator="A100",
                            mfu=140 / 312)
    assert close(seconds / 86400, 34)


def test_activation_memory_matches_korthikanti():
    # Korthikanti et al. (2022) eq. (1): per layer s·b·h·(34 + 5·a·s/h) bytes; full recompute keeps 2·s·b·h.
    s, b, h, a, L = 2048, 1, 12288, 96, 96
    assert activation_memory(L, h, a, s, b) == pytest.approx(L * s * b * h * (34 + 5 * a * s / h))
    assert activation_memory(L, h, a, s, b, recompute="selective") == pytest.approx(L * 34 * s * b * h)
    assert activation_memory(L, h, a, s, b, recompute="full") == pytest.approx(L * 2 * s * b * h)


# --- the rules themselves ------------------------------------------------------------------------------------


def test_gpt_block_matches_keras_count():
    # A GPT block built from Keras layers has exactly 12·d² + 13·d parameters.
    import keras

    d, heads = 32, 4
    x = keras.Input((5, d))
    y = keras.layers.LayerNormalization()(x)
    y = keras.layers.MultiHeadAttention(heads, d // heads)(y, y)
    y = keras.layers.LayerNormalization()(y)
    y = keras.layers.Dense(4 * d)(y)
    y = keras.layers.Dense(d)(y)
    block = keras.Model(x, y).count_params()
    two, one = transformer_params(2, d, 10), transformer_params(1, d, 10)
    assert two - one == block == 12 * d * d + 13 * d


def test_precisions_and_optimizers():
    n = 1e9
    assert training_memory(n, precision="fp32").model_states == 16 * n
    assert training_memory(n, precision="bf16").model_states == 8 * n
    assert training_memory(n, precision="fp32", optimizer="sgd").model_states == 8 * n
    assert training_memory(n, precision="mixed", optimizer="momentum").model_states == 12 * n
    mem = training_memory(n, activations=5e9)
    assert isinstance(mem, TrainingMemory) and mem.total == 21 * n
    assert set(mem.as_dict()) == {"weights", "gradients", "optimizer_states", "master_weights", "activations"}


def test_inference_and_serving():
    assert inference_flops(7e9) == 14e9
    assert inference_flops(7e9, 1000) == 14e12
    assert weights_bytes(70e9) == 140e9 and weights_bytes(70e9, "int4") == 35e9
    # Llama 2 70B: 80 layers, d 8192, 64 heads, 8 KV heads: 4k tokens cost 1.34 GB of bf16 KV cache.
    assert kv_cache_bytes(80, 8192, 4096, n_heads=64, n_kv_heads=8) == 2 * 80 * 4096 * 1024 * 2
    assert kv_cache_bytes(2, 8, 3, 2, dtype="fp32") == 2 * 2 * 3 * 2 * 8 * 4


def test_checkpoints():
    assert checkpoint_bytes(1e9) == 2e9
    assert checkpoint_bytes(1e9, weights_dtype="fp32", optimizer_state=True) == 12e9
    assert checkpoint_bytes(1e9, weights_dtype="bf16", optimizer_state=True) == 14e9
    assert checkpoint_bytes(1e9, weights_dtype="fp32", optimizer_state=True, optimizer="sgd") == 4e9


def test_bytes_per_value():
    assert bytes_per_value("float32") == bytes_per_value("FP32") == 4
    assert bytes_per_value("bfloat16") == bytes_per_value("fp16") == 2
    assert bytes_per_value("int8") == 1 and bytes_per_value("int4") == 0.5


def test_accelerators_and_time():
    assert accelerator("a100").bf16_flops == 312e12
    assert accelerator("H100").bf16_flops == 989e12
    assert accelerator("tpu v4") is ACCELERATORS["TPU v4"]
    custom = Accelerator("toy", 1e12, 1e11, 1e9, 1e9, 1e9, "none")
    assert accelerator(custom) is custom
    assert training_time(1e12, accelerator=custom, mfu=1.0) == 1.0
    assert training_time(1e12, accelerator=custom, mfu=0.5, n_devices=2) == 1.0
    assert training_time(1e11, accelerator=custom, mfu=1.0, dtype="fp32") == 1.0
    assert devices_to_fit(120e9, "A100") == 2
    assert devices_to_fit(0) == 1
    for acc in ACCELERATORS.values():
        assert acc.source.startswith("https://")


def ring_allreduce(chunks_per_worker):
    """Simulate a ring all-reduce; return the result each worker ends with and the values each sent."""
    n = len(chunks_per_worker)
    buf = [np.array_split(np.array(w, dtype=np.float64), n) for w in chunks_per_worker]
    sent = [0] * n
    for step in range(n - 1):  # reduce-scatter: worker i passes chunk (i - step) to worker i+1
        msgs = [(i, (i - step) % n, buf[i][(i - step) % n].copy()) for i in range(n)]
        for i, c, payload in msgs:
            buf[(i + 1) % n][c] = buf[(i + 1) % n][c] + payload
            sent[i] += payload.size
    for step in range(n - 1):  # all-gather: pass the fully reduced chunk (i + 1 - step) around
        msgs = [(i, (i + 1 - step) % n, buf[i][(i + 1 - step) % n].copy()) for i in range(n)]
        for i, c, payload in msgs:
            buf[(i + 1) % n][c] = payload
            sent[i] += payload.size
    return [np.concatenate(b) for b in buf], sent


@pytest.mark.parametrize("n", [1, 2, 3, 4, 8])
def test_allreduce_formula_matches_a_simulated_ring(n):
    rng = np.random.default_rng(n)
    size = 40 * n
    grads = [rng.normal(size=size) for _ in range(n)]
    results, sent = ring_allreduce(grads)
    for r in results:
        np.testing.assert_allclose(r, np.sum(grads, axis=0))
    assert all(s == allreduce_bytes(size, n) for s in sent)
    assert allreduce_time(size * 4, n, 4.0) == pytest.approx(allreduce_bytes(size, n))


def test_human_formats():
    assert human_bytes(120e9) == "120 GB"
    assert human_bytes(2.45e12) == "2.45 TB"
    assert human_bytes(512) == "512 B"
    assert human_time(34 * 86400) == "34 days"
    assert human_time(90) == "1.5 min"
    assert human_time(2) == "2 s"
    assert human_time(2 * 365.25 * 86400) == "2 years"


# --- bad input ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("call, exc, arg", [
    (lambda: transformer_params(0, 12, 10), ValueError, "n_layers"),
    (lambda: transformer_params(2.5, 12, 10), TypeError, "n_layers"),
    (lambda: transformer_params(2, "12", 10), TypeError, "d_model"),
    (lambda: transformer_params(2, 12, 0), ValueError, "vocab_size"),
    (lambda: transformer_params(2, 12, 10, context_length=-1), ValueError, "context_length"),
    (lambda: transformer_params(2, 12, 10, ffn_mult=0), ValueError, "ffn_mult"),
    (lambda: transformer_params(2, 12, 10, d_ff=0), ValueError, "d_ff"),
    (lambda: transformer_params(2, 12, 10, norm="batchnorm"), ValueError, "norm"),
    (lambda: transformer_params(2, 12, 10, biases=1), TypeError, "biases"),
    (lambda: transformer_params(2, 12, 10, n_kv_heads=2), ValueError, "n_heads"),
    (lambda: transformer_params(2, 12, 10, n_heads=5), ValueError, "n_heads"),
    (lambda: transformer_params(2, 12, 10, n_heads=4, n_kv_heads=3), ValueError, "n_kv_heads"),
    (lambda: transformer_params(2, 12, 10, n_heads=4, n_kv_heads=0), ValueError, "n_kv_heads"),
    (lambda: training_flops(-1, 10), ValueError, "n_params"),
    (lambda: training_flops(1e9, float("inf")), ValueError, "n_tokens"),
    (lambda: training_flops(True, 10), TypeError, "n_params"),
    (lambda: training_flops(1e9, 10, recompute="yes"), TypeError, "recompute"),
    (lambda: inference_flops("7B"), TypeError, "n_params"),
    (lambda: training_memory(1e9, precision="fp8"), ValueError, "precision"),
    (lambda: training_memory(1e9, optimizer="lion"), ValueError, "optimizer"),
    (lambda: training_memory(1e9, optimizer=2), TypeError, "optimizer"),
    (lambda: training_memory(1e9, activations=-1), ValueError, "activations"),
    (lambda: activation_memory(1, 8, 2, 4, 0), ValueError, "batch_size"),
    (lambda: activation_memory(1, 8, 2, 4, 1, recompute="half"), ValueError, "recompute"),
    (lambda: weights_bytes(1e9, "int3"), ValueError, "dtype"),
    (lambda: bytes_per_value(32), TypeError, "dtype"),
    (lambda: kv_cache_bytes(1, 8, 4, n_heads=8), ValueError, "n_kv_heads"),
    (lambda: kv_cache_bytes(1, 8, 4, n_heads=8, n_kv_heads=3), ValueError, "n_kv_heads"),
    (lambda: checkpoint_bytes(1e9, optimizer_state="yes"), TypeError, "optimizer_state"),
    (lambda: checkpoint_bytes(1e9, weights_dtype="fp9"), ValueError, "dtype"),
    (lambda: accelerator("B200"), ValueError, "accelerator"),
    (lambda: accelerator(100), TypeError, "accelerator"),
    (lambda: training_time(1e20, mfu=1.5), ValueError, "mfu"),
    (lambda: training_time(1e20, mfu=0), ValueError, "mfu"),
    (lambda: training_time(1e20, n_devices=0), ValueError, "n_devices"),
    (lambda: training_time(-1e20), ValueError, "total_flops"),
    (lambda: training_time(1e20, dtype="int8"), ValueError, "dtype"),
    (lambda: devices_to_fit(1e9, "Z80"), ValueError, "accelerator"),
    (lambda: allreduce_bytes(1e9, 0), ValueError, "n_workers"),
    (lambda: allreduce_bytes(-5, 2), ValueError, "gradient_bytes"),
    (lambda: allreduce_time(1e9, 2, 0), ValueError, "bandwidth"),
    (lambda: human_bytes(-1), ValueError, "n_bytes"),
    (lambda: human_time(None), TypeError, "seconds"),
])
def test_bad_input_names_the_argument(call, exc, arg):
    with pytest.raises(exc, match=arg):
        call()


def test_numpy_numbers_are_accepted():
    assert transformer_params(np.int64(2), np.int32(8), 10) == transformer_params(2, 8, 10)
    assert training_flops(np.float32(2.0), np.int64(3)) == 36.0
    assert math.isclose(sizing.training_flops(1e9, 1e9), 6e18)


LLAMA3 = dict(gated_ffn=True, biases=False, norm="rmsnorm", tied_embeddings=False)


@pytest.mark.parametrize("layers, d, d_ff, heads, published", [
    (32, 4096, 14336, 32, 8.03e9),      # Llama 3 8B (Meta model card: 8.03B)
    (126, 16384, 53248, 128, 405.9e9),  # Llama 3 405B (shapes: Grattafiori et al., 2024, Table 3)
])
def test_grouped_query_attention_llama3(layers, d, d_ff, heads, published):
    n = transformer_params(layers, d, 128256, d_ff=d_ff, n_heads=heads, n_kv_heads=8, **LLAMA3)
    assert abs(n - published) / published < 0.005
    # without GQA (8 KV heads -> one per query head) the same shapes overshoot by far more than 0.5%
    full = transformer_params(layers, d, 128256, d_ff=d_ff, **LLAMA3)
    assert (full - published) / published > 0.01


def test_gqa_special_cases():
    d = 64
    mha = transformer_params(2, d, 10)
    assert transformer_params(2, d, 10, n_heads=8) == mha == transformer_params(2, d, 10, n_heads=8, n_kv_heads=8)
    mqa = transformer_params(2, d, 10, n_heads=8, n_kv_heads=1)
    # K and V shrink from d x d (+ bias d) to d x d/8 (+ bias d/8) each, in each of 2 layers
    assert mha - mqa == 2 * 2 * ((d * d + d) - (d * d // 8 + d // 8))


# --- the cluster half: per-direction bandwidth, and the split keeps every name importable from sizing ----------


def test_link_bandwidths_are_per_direction():
    # NVIDIA quotes both directions added up (NVLink 4: 18 links x 50 GB/s = 900 GB/s); the tables hold one way.
    bidirectional_datasheet = {"V100": 300e9, "A100": 600e9, "H100": 900e9, "T4": 32e9}
    for name, both_ways in bidirectional_datasheet.items():
        assert accelerator(name).link_bandwidth == both_ways / 2, name
    assert sizing.INFINIBAND_NDR == 400e9 / 8  # 400 Gb/s per port, per direction


def test_allreduce_time_is_per_direction_bytes_over_per_direction_bandwidth():
    # 7B model, bf16 gradients (14 GB), 8 H100s on NVLink 4: 2*(7/8)*14e9 bytes at 450 GB/s each way = 54.4 ms.
    t = allreduce_time(14e9, 8, accelerator("H100").link_bandwidth)
    assert t == pytest.approx(2 * 7 / 8 * 14e9 / 450e9) and round(t * 1e3, 1) == 54.4
    # the same step as the ring does it: 2(n-1) rounds, each moving one G/n chunk per worker at the link's rate
    n, g, bw = 64, 14e9, sizing.INFINIBAND_NDR
    assert allreduce_time(g, n, bw) == pytest.approx(2 * (n - 1) * (g / n) / bw)
    # a bidirectional total in place of the per-direction rate would halve the time: the bug this fixes
    assert allreduce_time(14e9, 8, 900e9) == pytest.approx(t / 2)


def test_cluster_names_import_from_sizing_and_cluster_alike():
    import subprocess
    import sys

    from course_lib import cluster

    for name in cluster.__all__:
        assert getattr(sizing, name) is getattr(cluster, name), name
        assert name in sizing.__all__
    assert sizing.human_time is cluster.human_time and sizing.training_time(1e12, accelerator=Accelerator(
        "toy", 1e12, 1e11, 1e9, 1e9, 1e9, "none"), mfu=1.0) == 1.0
    with pytest.raises(AttributeError, match="no_such_name"):
        sizing.no_such_name  # noqa: B018
    for first in ("course_lib.cluster", "course_lib.sizing"):  # either module may be imported first
        code = (f"import {first}; from course_lib.sizing import allreduce_time, ACCELERATORS, transformer_params; "
                "from course_lib.cluster import training_time, human_time; print('ok')")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert out.stdout.strip() == "ok", out.stderr
