"""``make scaling``: chapter 16's scaling sweep on this machine, stored in benchmarks/results/scaling.json.

The family of ``course_lib.scaling_sweep`` (2 layers, d_model 8..192, non-embedding N from 1.8e3 to 8.9e5),
trained at five IsoFLOP compute levels C (6·N·D FLOPs, half a decade apart, 1e10 to 1e12): D = C / (6·N)
tokens, each run with its schedule ending at its own budget, its width's peak learning rate and its budget's
batch size (``SweepRecipe``). At each level only the widths whose tokens per parameter D/N lie in
``[ratio_low, ratio_high]`` are trained: a window that moves with C, as Hoffmann et al.'s (2022, §3.2) IsoFLOP
model ranges do, wide enough to bracket the minimum on both sides.

Stages, in order: (1) ``lr``: a learning-rate check on the validation plays (three widths x four peak rates at
one level) of the rule in ``SweepRecipe``; (2) the sweep runs at the levels <= ``fit_threshold``;
(3) predict, then verify: L(N, D) is fitted on them, the predicted loss (with a bootstrap interval) of the
compute-optimal family model at ``verify_factor`` x their largest compute is written to the results file,
*then* that model is trained (a new seed) and its loss stored; (4) the levels above the threshold but the
last; (5) two extra seeds at three points (the noise floor); (6) runs that repeat a smaller pool of tokens
4x, 16x and 64x (Muennighoff et al., 2023); (7) the highest level, the most expensive.

Every run is stored as soon as it ends (with git hash, command, seed, timings, load); a rerun skips runs
already stored, so an interrupted ``make scaling`` resumes. ``SMOKE=1`` (or ``--smoke``): a tiny grid into a
scratch file (tests/test_scaling.py). Nothing touches the network.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from course_lib import scaling  # noqa: E402
from course_lib import scaling_sweep as sw  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from ch15 import peak_matmul_flops as _ch15_peak  # noqa: E402
from provenance import git_hash  # noqa: E402

FULL = {"widths": list(sw.WIDTHS), "levels": [1e10, 10**10.5, 1e11, 10**11.5, 1e12], "ratio_low": 1.0,
        "ratio_high": 3000.0, "heldout_stride": 4, "fit_threshold": 1.5e11, "verify_factor": 4.0, "verify_seed": 100,
        "bootstrap": 200, "seed_points": [(16, 10**10.5), (24, 1e11), (32, 1e11)], "extra_seeds": [1, 2],
        "repeat": {"d_model": 24, "level": 1e11, "epochs": [4, 16, 64]},
        "lr_check": {"widths": [12, 24, 48], "level": 10**10.5, "peaks": [3e-3, 6e-3, 1.2e-2, 2.4e-2]}}
SMOKE = {"widths": [16, 24, 32], "levels": [5e8, 1e9, 2e9], "ratio_low": 0.01, "ratio_high": 1e4,
         "heldout_stride": 64, "fit_threshold": 1.5e9, "verify_factor": 2.0, "verify_seed": 100, "bootstrap": 5,
         "seed_points": [(16, 5e8)], "extra_seeds": [1], "repeat": {"d_model": 16, "level": 1e9, "epochs": [4]},
         "lr_check": {"widths": [16], "level": 5e8, "peaks": [3e-3, 1e-2]}}
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "scaling.json"


def peak_matmul_flops(n: int = 1024, repeats: int = 5) -> float:
    """Best FLOP/s of an n x n float32 matrix product, measured now (``benchmarks/ch15.py``'s measurement)."""
    return _ch15_peak(n, repeats)


def n_params(d_model: int, recipe: sw.SweepRecipe) -> int:
    return sw.non_embedding_params(sw.family_config(d_model, context_length=recipe.context_length))


def tokens_for(level: float, d_model: int, recipe: sw.SweepRecipe) -> int:
    """D = C / (6·N), rounded to whole steps of the run's batch."""
    ideal = max(1, round(level / (6 * n_params(d_model, recipe))))
    per_step = recipe.batch_size(ideal) * recipe.context_length
    return recipe.steps(ideal) * per_step


def widths_at(level: float, grid: dict[str, Any], recipe: sw.SweepRecipe) -> list[int]:
    """The widths trained at compute ``level``: those with ratio_low <= D/N <= ratio_high."""
    return [w for w in grid["widths"]
            if grid["ratio_low"] <= level / (6 * n_params(w, recipe) ** 2) <= grid["ratio_high"]]


class Store:
    """The results file: metadata and a list of run records, rewritten after every run."""

    def __init__(self, path: Path, grid: dict[str, Any]) -> None:
        self.path = path
        self.data = json.loads(path.read_text()) if path.exists() else {"meta": {}, "runs": []}
        meta = self.data["meta"]
        meta.setdefault("sessions", []).append({
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "git": git_hash("course_lib", "benchmarks/scaling.py"),
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "load_average": list(os.getloadavg()), "nice": os.nice(0), "host": platform.platform(),
            "cpus": os.cpu_count()})
        meta["grid"] = grid
        meta["recipe"] = sw.asdict(sw.SweepRecipe())
        meta.setdefault("peak_flops", [])
        self.save()

    def key(self, rec: dict[str, Any]) -> tuple:
        return (rec["kind"], rec["d_model"], rec["tokens"], rec["seed"], rec.get("unique_request"),
                round(rec["peak_lr"], 8))

    def has(self, kind: str, d_model: int, tokens: int, seed: int, unique: int | None, peak: float) -> bool:
        return (kind, d_model, tokens, seed, unique, round(peak, 8)) in {self.key(r) for r in self.data["runs"]}

    def add(self, rec: dict[str, Any]) -> None:
        self.data["runs"].append(rec)
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1))
        tmp.replace(self.path)


def run_sweep(grid: dict[str, Any], store: Store) -> None:
    recipe = sw.SweepRecipe()
    data = sw.sweep_data(context_length=recipe.context_length, heldout_stride=grid["heldout_stride"])
    store.data["meta"]["data"] = {"train_tokens": int(len(data["train_ids"])),
                                  "heldout_tokens": int(data["heldout"][:, 1:].size),
                                  "heldout_bytes": int(data["token_bytes"][data["heldout"][:, 1:]].sum())}
    trainers: dict[int, sw.SizeTrainer] = {}
    store.data["meta"]["peak_flops"].append(peak_matmul_flops())

    def one(kind: str, d_model: int, level: float, seed: int = 0, epochs: float | None = None,
            peak: float | None = None) -> None:
        tokens = tokens_for(level, d_model, recipe)
        unique = None if epochs is None else int(tokens / epochs)
        lr = recipe.peak_lr(d_model) if peak is None else peak
        if store.has(kind, d_model, tokens, seed, unique, lr):
            return
        t0 = time.perf_counter()
        if d_model not in trainers:
            trainers[d_model] = sw.SizeTrainer(d_model, recipe)
        build = time.perf_counter() - t0
        t0 = time.perf_counter()
        rec = trainers[d_model].run(tokens, seed=seed, unique_tokens=unique, peak_lr=lr, **data)
        rec.update(kind=kind, level=level, unique_request=unique, wall_seconds=time.perf_counter() - t0 + build,
                   load_average=list(os.getloadavg()), git=store.data["meta"]["sessions"][-1]["git"])
        print(f"{kind:7s} d={d_model:>3} N={rec['n_params']:>7,} D={rec['tokens']:>9,} B={rec['batch_size']:>2} "
              f"steps={rec['steps']:>5} lr={lr:.4f} seed={seed} epochs={rec['epochs']:.2f} "
              f"bpb={rec['heldout_bpb']:.4f} train {rec['train_seconds']:.0f}s wall {rec['wall_seconds']:.0f}s "
              f"load {os.getloadavg()[0]:.1f}", flush=True)
        store.add(rec)

    check = grid["lr_check"]
    for d_model in check["widths"]:
        for peak in check["peaks"]:
            one("lr", d_model, check["level"], peak=peak)
    below = [c for c in grid["levels"] if c <= grid["fit_threshold"]]
    above = [c for c in grid["levels"] if c > grid["fit_threshold"]]
    for level in below:
        for d_model in widths_at(level, grid, recipe):
            one("sweep", d_model, level)
    store.data["meta"]["peak_flops"].append(peak_matmul_flops())
    verify(grid, store, data, trainers, recipe)
    for level in above[:-1]:
        for d_model in widths_at(level, grid, recipe):
            one("sweep", d_model, level)
        store.data["meta"]["peak_flops"].append(peak_matmul_flops())
        store.save()
    for d_model, level in grid["seed_points"]:
        for seed in grid["extra_seeds"]:
            one("seeds", d_model, level, seed)
    rep = grid["repeat"]
    for epochs in rep["epochs"]:
        one("repeat", rep["d_model"], rep["level"], 0, epochs)
    for level in above[-1:]:  # the most expensive level last: an interrupted sweep keeps everything else
        for d_model in widths_at(level, grid, recipe):
            one("sweep", d_model, level)
    store.data["meta"]["peak_flops"].append(peak_matmul_flops())
    store.save()


def verify(grid: dict[str, Any], store: Store, data: dict[str, Any], trainers: dict[int, sw.SizeTrainer],
           recipe: sw.SweepRecipe) -> None:
    """Predict, then verify: fit on the sweep runs of the levels <= the threshold, write the prediction down for the
    compute-optimal family model at ``verify_factor`` x their largest compute, then train it (a new seed)."""
    if any(r["kind"] == "verify" for r in store.data["runs"]):
        return
    fit_runs = [r for r in store.data["runs"] if r["kind"] == "sweep" and r["level"] <= grid["fit_threshold"]]
    n, d, loss = (np.array([r[k] for r in fit_runs], dtype=float) for k in ("n_params", "tokens", "heldout_bpb"))
    fit = scaling.fit_chinchilla(n, d, loss)
    target = grid["verify_factor"] * max(r["six_nd"] for r in fit_runs)
    n_opt, d_opt = fit.compute_optimal(target)
    sizes = {w: n_params(w, recipe) for w in grid["widths"]}
    width = min(sizes, key=lambda w: abs(np.log(sizes[w] / n_opt)))
    tokens = tokens_for(target, width, recipe)
    predicted = float(fit.loss(sizes[width], tokens))

    def statistic(idx: np.ndarray) -> float:
        f = scaling.fit_chinchilla(n[idx], d[idx], loss[idx], starts=[fit])
        return float(f.loss(sizes[width], tokens))

    low, high, _ = scaling.bootstrap(statistic, len(fit_runs), samples=grid["bootstrap"], seed=0)
    store.data["meta"]["prediction"] = {
        "written": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "fit_runs": len(fit_runs), "fit_threshold": grid["fit_threshold"], "max_fit_flops": target / grid[
            "verify_factor"], "target_flops": target, "fit": sw.asdict(fit), "n_opt": float(n_opt),
        "d_opt": float(d_opt), "d_model": width, "n_params": sizes[width], "tokens": tokens,
        "predicted_bpb": predicted, "interval_95": [float(low), float(high)], "seed": grid["verify_seed"]}
    store.save()
    print(f"prediction written: d={width} N={sizes[width]:,} D={tokens:,} at C={target:.3g}: "
          f"{predicted:.4f} bpb [{float(low):.4f}, {float(high):.4f}]", flush=True)
    if width not in trainers:
        trainers[width] = sw.SizeTrainer(width, recipe)
    t0 = time.perf_counter()
    rec = trainers[width].run(tokens, seed=grid["verify_seed"], **data)
    rec.update(kind="verify", level=target, unique_request=None, wall_seconds=time.perf_counter() - t0,
               load_average=list(os.getloadavg()), git=store.data["meta"]["sessions"][-1]["git"])
    store.add(rec)
    print(f"verify: measured {rec['heldout_bpb']:.4f} bpb, predicted {predicted:.4f} "
          f"({100 * (predicted / rec['heldout_bpb'] - 1):+.2f} %)", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", default=os.environ.get("SMOKE", "") == "1")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    grid = SMOKE if args.smoke else FULL
    out = args.out or (Path(os.environ.get("TMPDIR", "/tmp")) / "scaling_smoke.json" if args.smoke else DEFAULT_OUT)
    store = Store(out, grid)
    start = time.perf_counter()
    run_sweep(grid, store)
    store.data["meta"]["sessions"][-1]["seconds"] = time.perf_counter() - start
    store.save()
    print(f"wrote {out} in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
