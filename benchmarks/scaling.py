"""``make scaling``: chapter 16's scaling sweep on this machine, stored in benchmarks/results/scaling.json.

Phase ``sweep``: the model family of ``course_lib.scaling_sweep`` (n_layers 2..7, d_model = 16·n_layers,
non-embedding N from 2.5e4 to 1.1e6), each trained at four IsoFLOP compute levels C (6·N·D FLOPs, log-spaced
by 2x): D = C / (6·N) tokens, each run with its schedule ending at its own budget; then 2 extra seeds at three
points (the noise floor) and two runs that repeat a smaller pool of tokens (Muennighoff et al., 2023).
Phase ``verify`` (``--phase verify``): fits L(N, D) on the sweep (every sweep run lies below the threshold),
writes down the predicted loss of the compute-optimal model at 4x the sweep's largest compute level, *then*
trains that model and stores the outcome.

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

import keras  # noqa: E402
import numpy as np  # noqa: E402

from course_lib import scaling_sweep as sw  # noqa: E402

FULL = {"layers": [2, 3, 4, 5, 6, 7], "levels": [1.5625e10, 3.125e10, 6.25e10, 1.25e11], "heldout_stride": 4,
        "seed_points": [(2, 3.125e10), (4, 3.125e10), (3, 6.25e10)], "extra_seeds": [1, 2],
        "repeat": {"n_layers": 3, "level": 6.25e10, "epochs": [4, 16]}, "verify_factor": 4.0}
SMOKE = {"layers": [1, 2], "levels": [2e8, 4e8], "heldout_stride": 64, "seed_points": [(1, 2e8)],
         "extra_seeds": [1], "repeat": {"n_layers": 1, "level": 4e8, "epochs": [4]}, "verify_factor": 2.0}
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "scaling.json"


def peak_matmul_flops(n: int = 1024, repeats: int = 5) -> float:
    """Best FLOP/s of an n x n float32 matrix product (2n³ FLOPs), measured now (as benchmarks/ch15.py does)."""
    a, b = keras.random.normal((n, n), seed=0), keras.random.normal((n, n), seed=1)
    keras.ops.convert_to_numpy(keras.ops.matmul(a, b)[0, 0])
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        keras.ops.convert_to_numpy(keras.ops.matmul(a, b)[0, 0])
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


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
            "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
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

    for level in grid["levels"]:
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--phase", choices=["sweep", "verify", "all"], default="all")
    ap.add_argument("--smoke", action="store_true", default=os.environ.get("SMOKE", "") == "1")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    grid = SMOKE if args.smoke else FULL
    out = args.out or (Path(os.environ.get("TMPDIR", "/tmp")) / "scaling_smoke.json" if args.smoke else DEFAULT_OUT)
    store = Store(out, grid)
    start = time.perf_counter()
    if args.phase in ("sweep", "all"):
        run_sweep(grid, store)
    if args.phase in ("verify", "all"):
        raise SystemExit("phase verify: not written yet")
    store.data["meta"]["sessions"][-1]["seconds"] = time.perf_counter() - start
    store.save()
    print(f"wrote {out} in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
