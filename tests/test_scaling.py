"""course_lib.scaling (scaling-law fits), course_lib.scaling_sweep (sweep runs) and `make scaling` (smoke)."""

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from course_lib import scaling
from course_lib.scaling import (
    ChinchillaFit,
    IsoFLOPMinimum,
    bootstrap,
    fit_chinchilla,
    fit_kaplan,
    fit_power_law,
    huber,
    isoflop_minimum,
    kaplan_loss,
)

ROOT = Path(__file__).resolve().parent.parent
TRUE = ChinchillaFit(E=1.6, A=80.0, B=300.0, alpha=0.35, beta=0.42)


def _synthetic(noise: float, seed: int = 0):
    """Runs on an IsoFLOP-like grid (6 sizes x 5 compute levels) from a known L(N, D), with log-normal noise."""
    rng = np.random.default_rng(seed)
    n = np.repeat([2.5e4, 8.5e4, 2e5, 3.9e5, 6.7e5, 1.06e6], 5)
    c = np.tile([1e10, 3e10, 1e11, 3e11, 1e12], 6)
    d = c / (6 * n)
    loss = TRUE.loss(n, d) * np.exp(rng.normal(0, noise, n.size))
    return n, d, loss


def test_fit_chinchilla_recovers_known_exponents_from_noisy_data():
    n, d, loss = _synthetic(noise=0.003)
    fit = fit_chinchilla(n, d, loss)
    assert abs(fit.alpha - TRUE.alpha) < 0.05 and abs(fit.beta - TRUE.beta) < 0.05
    assert abs(fit.E - TRUE.E) < 0.1
    # the fitted surface predicts a point outside the data within 1 %
    assert abs(fit.loss(3e6, 3e7) / TRUE.loss(3e6, 3e7) - 1) < 0.01


def test_fit_chinchilla_exact_without_noise_and_from_a_start():
    n, d, loss = _synthetic(noise=0.0)
    fit = fit_chinchilla(n, d, loss)
    assert np.allclose([fit.alpha, fit.beta, fit.E], [TRUE.alpha, TRUE.beta, TRUE.E], rtol=1e-2)
    again = fit_chinchilla(n, d, loss, starts=[fit])
    assert np.isclose(again.alpha, fit.alpha, rtol=1e-3)


def test_compute_optimal_matches_brute_force_and_hoffmann_eq4():
    c = 1e12
    n_opt, d_opt = TRUE.compute_optimal(c)
    grid = np.logspace(3, 8, 20001)
    brute = grid[np.argmin(TRUE.loss(grid, c / (6 * grid)))]
    assert abs(np.log(n_opt / brute)) < 1e-3 and np.isclose(6 * n_opt * d_opt, c)
    # exponent a = beta / (alpha + beta): N_opt grows as C^a
    n2, _ = TRUE.compute_optimal(10 * c)
    assert np.isclose(np.log10(n2 / n_opt), TRUE.beta / (TRUE.alpha + TRUE.beta))


def test_isoflop_minimum_recovers_the_optimum_and_says_it_is_bracketed():
    c = 1e11
    n_opt, _ = TRUE.compute_optimal(c)
    n = n_opt * np.logspace(-0.6, 0.6, 9)
    m = isoflop_minimum(n, TRUE.loss(n, c / (6 * n)))
    assert isinstance(m, IsoFLOPMinimum) and m.bracketed and "bracketed" in m.note
    assert abs(np.log(m.n_opt / n_opt)) < 0.1
    assert abs(m.loss_min - TRUE.loss(n_opt, c / (6 * n_opt))) < 0.01


def test_isoflop_minimum_flags_unbracketed_curves():
    c = 1e11
    n_opt, _ = TRUE.compute_optimal(c)
    right = n_opt * np.logspace(0.3, 1.2, 6)  # every run larger than the optimum: the valley's one wall
    m = isoflop_minimum(right, TRUE.loss(right, c / (6 * right)))
    assert not m.bracketed and m.n_opt < right.min() * 1.0001
    down = isoflop_minimum(right, 10 - TRUE.loss(right, c / (6 * right)))  # a parabola opening downwards
    assert not down.bracketed and "downwards" in down.note
    assert down.n_opt == right[np.argmin(10 - TRUE.loss(right, c / (6 * right)))]
    # lowest run at the edge although the vertex is inside the range
    edge = isoflop_minimum([1e4, 2e4, 4e4, 8e4], [3.0, 2.0, 1.99, 1.985])
    assert not edge.bracketed


def test_power_law_and_kaplan_fits():
    x = np.logspace(4, 7, 8)
    k, p = fit_power_law(x, 3.0 * x**-0.2)
    assert np.isclose(k, 3.0) and np.isclose(p, -0.2)
    n = np.repeat(np.logspace(4, 6, 5), 4)
    d = np.tile(np.logspace(4, 7, 4), 5)
    truth = {"n_c": 1e9, "d_c": 1e8, "alpha_n": 0.2, "alpha_d": 0.25}
    fit = fit_kaplan(n, d, kaplan_loss(n, d, **truth))
    assert np.isclose(fit["alpha_n"], 0.2, rtol=1e-2) and np.isclose(fit["alpha_d"], 0.25, rtol=1e-2)


def test_kaplan_fit_does_not_overflow(recwarn):
    # a shallow alpha_D makes (N_c/N)^(alpha_N/alpha_D) overflow float64 unless computed in log space
    assert np.isfinite(kaplan_loss(1e4, 1e5, n_c=1e30, d_c=1e6, alpha_n=0.5, alpha_d=0.01))
    n, d = _synthetic(noise=0.01)[:2]
    fit = fit_kaplan(n, d, TRUE.loss(n, d))
    assert all(np.isfinite(v) for v in fit.values())
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_huber_and_bootstrap():
    assert np.allclose(huber([0.0, 1e-3, 3e-3], 1e-3), [0.0, 5e-7, 1e-3 * 2.5e-3])
    values = np.arange(20.0)
    low, high, draws = bootstrap(lambda idx: values[idx].mean(), 20, samples=300, seed=1)
    assert low < values.mean() < high and draws.shape == (300,)
    low2, high2, _ = bootstrap(lambda idx: values[idx].mean(), 20, samples=300, seed=1)
    assert low == low2 and high == high2


@pytest.mark.parametrize("call, name", [
    (lambda: fit_chinchilla([1, 2, 3, 4, 5], [1, 2, 3, 4], [1, 2, 3, 4, 5]), "same length"),
    (lambda: fit_chinchilla([1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]), "loss"),
    (lambda: fit_chinchilla([1, -2, 3, 4, 5], [1, 2, 3, 4, 5], [1, 2, 3, 4, 5]), "n_params"),
    (lambda: fit_chinchilla([1, 2, 3, 4, 5], [1, 2, 3, 4, 5], [1, 2, 3, 4, 5], delta=0), "delta"),
    (lambda: isoflop_minimum([1, 2], [1, 2]), "n_params"),
    (lambda: isoflop_minimum([1, 1, 2], [1, 2, 3]), "n_params"),
    (lambda: isoflop_minimum([1, 2, 3], [1, 0, 3]), "loss"),
    (lambda: fit_power_law([1], [1]), "x"),
    (lambda: bootstrap(np.mean, 1), "n_runs"),
    (lambda: bootstrap(np.mean, 5, level=1.5), "level"),
    (lambda: huber([1.0], delta=-1), "delta"),
    (lambda: TRUE.compute_optimal(-1), "flops"),
])
def test_bad_input_raises_value_error_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_bad_types_raise_type_error():
    with pytest.raises(TypeError, match="tokens"):
        fit_chinchilla([1, 2, 3, 4, 5], "abcde", [1, 2, 3, 4, 5])
    with pytest.raises(TypeError, match="loss"):
        fit_kaplan([1, 2, 3, 4], [1, 2, 3, 4], object())


# --- course_lib.scaling_sweep (needs TensorFlow) ------------------------------------------------------------

def test_family_and_compute_counts():
    from course_lib.gpt import build_gpt
    from course_lib.scaling_sweep import WIDTHS, compute_flops, family_config, non_embedding_params

    config = family_config(48)
    assert (config.n_layers, config.d_model, config.n_heads, config.d_ff) == (2, 48, 2, 192)
    model = build_gpt(config, seed=0)
    n = non_embedding_params(config)
    assert n == model.count_params() - (config.vocab_size + config.context_length) * config.d_model
    assert n == 2 * (12 * 48**2 + 13 * 48) + 2 * 48
    flops = compute_flops(config, 1000)
    assert flops["six_nd"] == 6 * n * 1000
    assert flops["with_attention"] - flops["six_nd"] == 6 * 2 * 64 * 48 * 1000
    assert flops["model"] - flops["with_attention"] == 6 * 512 * 48 * 1000
    sizes = [non_embedding_params(family_config(w)) for w in WIDTHS]
    assert len(sizes) >= 6 and sizes[0] < 1e4 and sizes[-1] > 5e5 and sizes == sorted(sizes)
    with pytest.raises(ValueError, match="d_model"):
        family_config(0)
    with pytest.raises(ValueError, match="d_model"):
        family_config(17)
    with pytest.raises(TypeError, match="config"):
        non_embedding_params("gpt")
    with pytest.raises(ValueError, match="tokens"):
        compute_flops(config, 0)


def test_recipe_rules_and_schedule_matches_keras_cosine_decay():
    import keras

    from course_lib.scaling_sweep import RunSchedule, SweepRecipe, learning_rate

    recipe = SweepRecipe()
    peak = recipe.peak_lr(64)
    assert peak == pytest.approx(recipe.lr_ref * (recipe.d_ref / 64) ** recipe.lr_exponent)
    assert recipe.peak_lr(16) > recipe.peak_lr(192)  # wider models take smaller steps
    ref = keras.optimizers.schedules.CosineDecay(0.0, decay_steps=90, alpha=recipe.final_fraction,
                                                 warmup_target=peak, warmup_steps=10)
    ours = [learning_rate(s, 100, recipe, peak) for s in range(100)]
    assert np.allclose(ours, [float(ref(s)) for s in range(100)], rtol=1e-5, atol=1e-9)
    graph = RunSchedule(recipe)
    graph.set_run(100, peak)
    assert np.allclose([float(graph(s)) for s in range(0, 100, 7)], ours[::7], rtol=1e-5, atol=1e-9)
    with pytest.raises(ValueError, match="peak"):
        graph.set_run(100, 5.0)
    # batch: a multiple of min_batch giving about target_steps steps, within [min_batch, max_batch]
    assert recipe.batch_size(4 * 64 * 25) == recipe.min_batch == 4 and recipe.steps(4 * 64 * 25) == 25
    assert recipe.batch_size(10**9) == recipe.max_batch
    mid = recipe.target_steps * recipe.context_length * 16
    assert recipe.batch_size(mid) == 16 and recipe.steps(mid) == recipe.target_steps
    assert recipe.batch_size(recipe.target_steps * recipe.context_length * 25) == 24
    assert recipe.steps(1) == 10
    with pytest.raises(ValueError, match="tokens"):
        recipe.batch_size(0)


def test_training_windows_pool_and_errors():
    from course_lib.scaling_sweep import training_windows

    ids = np.arange(64 * 100 + 1) % 500
    ds = training_windows(ids, 64, 8, unique_tokens=64 * 16, seed=3)
    starts = set()
    for x, y in ds.take(10):  # 80 windows drawn from a pool of 16: each seen 5 times
        assert x.shape == (8, 64) and np.array_equal(x.numpy()[:, 1:], y.numpy()[:, :-1])
        starts.update(int(v) for v in x.numpy()[:, 0])
    assert len(starts) == 16
    with pytest.raises(ValueError, match="unique_tokens"):
        training_windows(ids, 64, 8, unique_tokens=64 * 4)
    with pytest.raises(TypeError, match="ids"):
        training_windows(np.ones(100), 64, 8)


def test_size_trainer_reproducible_and_scores_like_heldout_bits_per_byte():
    from course_lib.scaling_sweep import SizeTrainer, SweepRecipe, heldout_bits_per_byte, sweep_data

    data = sweep_data(heldout_stride=64)
    assert data["heldout"].shape[1] == 65 and data["token_bytes"][0] == 0
    trainer = SizeTrainer(16)
    first = trainer.run(5120, seed=0, **data)
    other = trainer.run(5120, seed=1, **data)
    again = trainer.run(5120, seed=0, **data)
    assert first["heldout_bpb"] == pytest.approx(again["heldout_bpb"], rel=1e-6)
    assert first["heldout_bpb"] != other["heldout_bpb"]
    assert first["steps"] == 20 and first["tokens"] == 5120 and first["heldout_bpb"] < 8
    assert first["batch_size"] == 4 and first["peak_lr"] == pytest.approx(trainer.recipe.peak_lr(16))
    quick = SizeTrainer(16, SweepRecipe(target_steps=10))
    bigger = quick.run(32 * 64 * 10, seed=0, **data)  # a bigger budget: bigger batches, one trace for both
    smaller = quick.run(8 * 64 * 10, seed=0, **data)
    assert (bigger["batch_size"], bigger["steps"], smaller["batch_size"]) == (32, 10, 8)
    eager = heldout_bits_per_byte(trainer.model, data["heldout"], data["token_bytes"])
    assert eager == pytest.approx(again["heldout_bpb"], rel=1e-4)


def test_make_scaling_smoke(tmp_path):
    out = tmp_path / "smoke.json"
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = subprocess.run(["make", "-s", "scaling", "SMOKE=1", f"SCALING_OUT={out}"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    data = json.loads(out.read_text())
    kinds = [r["kind"] for r in data["runs"]]
    assert kinds.count("sweep") >= 5 and "verify" in kinds and "seeds" in kinds and "repeat" in kinds
    assert "lr" in kinds
    pred = data["meta"]["prediction"]
    assert pred["interval_95"][0] <= pred["interval_95"][1] and pred["target_flops"] > pred["max_fit_flops"]
    assert data["meta"]["sessions"][0]["git"] and data["meta"]["sessions"][0]["command"]
    assert all(r["heldout_bpb"] > 0 and r["train_seconds"] > 0 for r in data["runs"])
    # a rerun resumes: nothing is trained again
    proc = subprocess.run(["make", "-s", "scaling", "SMOKE=1", f"SCALING_OUT={out}"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0 and len(json.loads(out.read_text())["runs"]) == len(kinds)


def test_scaling_module_names():
    assert scaling.INIT_GRID["alpha"] and callable(scaling.fit_chinchilla)
