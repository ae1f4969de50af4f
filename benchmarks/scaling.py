"""``make scaling``: chapter 16's scaling sweep on this machine, stored in benchmarks/results/scaling.json.

The sweep: the model family of ``course_lib.scaling_sweep`` (n_layers 2..7, d_model = 16·n_layers,
non-embedding N from 2.5e4 to 1.1e6), each trained at four IsoFLOP compute levels C (6·N·D FLOPs, log-spaced
by 2x): D = C / (6·N) tokens (at least 10 steps), each run with its schedule ending at its own budget.
Predict, then verify: after the runs with 6·N·D <= ``fit_threshold`` (the two lowest levels), L(N, D) is fitted
on them, the predicted loss (with a bootstrap interval) of the compute-optimal family model at 4x their largest
compute is written to the results file, *then* that model is trained (a new seed) and its loss stored.
Then the two higher levels, 2 extra seeds at three points (the noise floor) and two runs that repeat a smaller
pool of tokens 4x and 16x (Muennighoff et al., 2023).

Every run is stored as soon as it ends (with git hash, command, seed, timings); a rerun skips runs already
stored, so an interrupted ``make scaling`` resumes. ``SMOKE=1`` (or ``--smoke``): a tiny grid into a scratch
file (tests/test_scaling.py). Nothing touches the network.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
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

FULL = {"layers": [2, 3, 4, 5, 6, 7], "levels": [7.8125e9, 1.5625e10, 3.125e10, 6.25e10], "heldout_stride": 4,
        "fit_threshold": 1.6e10, "verify_factor": 4.0, "verify_seed": 100, "bootstrap": 200,
        "seed_points": [(2, 1.5625e10), (4, 1.5625e10), (3, 3.125e10)], "extra_seeds": [1, 2],
        "repeat": {"n_layers": 3, "level": 3.125e10, "epochs": [4, 16]}}
SMOKE = {"layers": [1, 2, 3], "levels": [1e8, 2e8, 4e8], "heldout_stride": 64, "fit_threshold": 1e10,
         "verify_factor": 2.0, "verify_seed": 100, "bootstrap": 5, "seed_points": [(1, 1e8)], "extra_seeds": [1],
         "repeat": {"n_layers": 1, "level": 2e8, "epochs": [4]}}
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "scaling.json"


def peak_matmul_flops(n: int = 1024, repeats: int = 5) -> float:
    """Best FLOP/s of an n x n float32 matrix product, measured now (``benchmarks/ch15.py``'s measurement)."""
    return _ch15_peak(n, repeats)


def git_hash() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "course_lib", "benchmarks/scaling.py"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
        return out.stdout.strip() + ("+uncommitted" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def tokens_for(level: float, n_layers: int, recipe: sw.SweepRecipe) -> int:
    """D = C / (6·N), rounded to whole steps."""
    n = sw.non_embedding_params(sw.family_config(n_layers, context_length=recipe.context_length))
    per_step = recipe.batch_size * recipe.context_length
    return recipe.steps(max(1, round(level / (6 * n) / per_step)) * per_step) * per_step


class Store:
    """The results file: metadata and a list of run records, rewritten after every run."""

    def __init__(self, path: Path, grid: dict[str, Any]) -> None:
        self.path = path
        self.data = json.loads(path.read_text()) if path.exists() else {"meta": {}, "runs": []}
        meta = self.data["meta"]
        meta.setdefault("sessions", []).append({
            "command": " ".join([Path(sys.executable).name, *sys.argv]), "git": git_hash(),
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "load_average": list(os.getloadavg()), "nice": os.nice(0), "host": platform.platform(),
            "cpus": os.cpu_count()})
        meta["grid"] = grid
        meta["recipe"] = sw.asdict(sw.SweepRecipe())
        meta.setdefault("peak_flops", [])
        self.save()

    def key(self, rec: dict[str, Any]) -> tuple:
        return (rec["kind"], rec["n_layers"], rec["tokens"], rec["seed"], rec.get("unique_request"))

    def has(self, kind: str, n_layers: int, tokens: int, seed: int, unique: int | None) -> bool:
        return (kind, n_layers, tokens, seed, unique) in {self.key(r) for r in self.data["runs"]}

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

    def one(kind: str, n_layers: int, level: float, seed: int = 0, epochs: float | None = None) -> None:
        tokens = tokens_for(level, n_layers, recipe)
        unique = None if epochs is None else int(tokens / epochs)
        if store.has(kind, n_layers, tokens, seed, unique):
            return
        if n_layers not in trainers:
            t0 = time.perf_counter()
            trainers[n_layers] = sw.SizeTrainer(n_layers, recipe)
            build = time.perf_counter() - t0
        else:
            build = 0.0
        t0 = time.perf_counter()
        rec = trainers[n_layers].run(tokens, seed=seed, unique_tokens=unique, **data)
        rec.update(kind=kind, level=level, unique_request=unique, wall_seconds=time.perf_counter() - t0 + build,
                   load_average=list(os.getloadavg()), git=store.data["meta"]["sessions"][-1]["git"])
        print(f"{kind:7s} L={n_layers} N={rec['n_params']:>8,} D={rec['tokens']:>9,} seed={seed} "
              f"epochs={rec['epochs']:.2f} bpb={rec['heldout_bpb']:.4f} train {rec['train_seconds']:.0f}s "
              f"wall {rec['wall_seconds']:.0f}s load {os.getloadavg()[0]:.1f}", flush=True)
        store.add(rec)

    below = [c for c in grid["levels"] if c <= grid["fit_threshold"]]
    above = [c for c in grid["levels"] if c > grid["fit_threshold"]]
    for level in below:
        for n_layers in grid["layers"]:
            one("sweep", n_layers, level)
    store.data["meta"]["peak_flops"].append(peak_matmul_flops())
    verify(grid, store, data, trainers, recipe)
    for level in above:
        for n_layers in grid["layers"]:
            one("sweep", n_layers, level)
        store.data["meta"]["peak_flops"].append(peak_matmul_flops())
        store.save()
    for n_layers, level in grid["seed_points"]:
        for seed in grid["extra_seeds"]:
            one("seeds", n_layers, level, seed)
    rep = grid["repeat"]
    for epochs in rep["epochs"]:
        one("repeat", rep["n_layers"], rep["level"], 0, epochs)
    store.data["meta"]["peak_flops"].append(peak_matmul_flops())
    store.save()


def verify(grid: dict[str, Any], store: Store, data: dict[str, Any], trainers: dict[int, sw.SizeTrainer],
           recipe: sw.SweepRecipe) -> None:
    """Predict, then verify: fit on sweep runs with 6·N·D <= the threshold, write the prediction down for the
    compute-optimal family model at ``verify_factor`` x their largest compute, then train it (a new seed)."""
    if any(r["kind"] == "verify" for r in store.data["runs"]):
        return
    fit_runs = [r for r in store.data["runs"] if r["kind"] == "sweep" and r["six_nd"] <= grid["fit_threshold"]]
    n, d, loss = (np.array([r[k] for r in fit_runs], dtype=float) for k in ("n_params", "tokens", "heldout_bpb"))
    fit = scaling.fit_chinchilla(n, d, loss)
    target = grid["verify_factor"] * max(r["six_nd"] for r in fit_runs)
    n_opt, d_opt = fit.compute_optimal(target)
    sizes = {L: sw.non_embedding_params(sw.family_config(L, context_length=recipe.context_length))
             for L in range(1, 9)}
    depth = min(sizes, key=lambda L: abs(np.log(sizes[L] / n_opt)))
    tokens = tokens_for(target, depth, recipe)
    predicted = float(fit.loss(sizes[depth], tokens))

    def statistic(idx: np.ndarray) -> float:
        f = scaling.fit_chinchilla(n[idx], d[idx], loss[idx], starts=[fit])
        return float(f.loss(sizes[depth], tokens))

    low, high, _ = scaling.bootstrap(statistic, len(fit_runs), samples=grid["bootstrap"], seed=0)
    store.data["meta"]["prediction"] = {
        "written": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "fit_runs": len(fit_runs), "fit_threshold": grid["fit_threshold"], "max_fit_flops": target / grid[
            "verify_factor"], "target_flops": target, "fit": sw.asdict(fit), "n_opt": float(n_opt),
        "d_opt": float(d_opt), "n_layers": depth, "n_params": sizes[depth], "tokens": tokens,
        "predicted_bpb": predicted, "interval_95": [float(low), float(high)], "seed": grid["verify_seed"]}
    store.save()
    print(f"prediction written: L={depth} N={sizes[depth]:,} D={tokens:,} at C={target:.3g}: "
          f"{predicted:.4f} bpb [{float(low):.4f}, {float(high):.4f}]", flush=True)
    if depth not in trainers:
        trainers[depth] = sw.SizeTrainer(depth, recipe)
    t0 = time.perf_counter()
    rec = trainers[depth].run(tokens, seed=grid["verify_seed"], **data)
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
