#!/usr/bin/env python3
"""Benchmark: train each chapter's main model in full mode and print one table.

    make bench                                   # everything
    .venv/bin/python benchmarks/bench.py --only mnist --only fashion
    .venv/bin/python benchmarks/bench.py --list
    .venv/bin/python benchmarks/bench.py --smoke # tiny sizes: checks the plumbing in seconds

Each row: chapter, dataset, model, epochs, training seconds, metric name and value.
Training seconds are wall-clock time spent inside the training epochs (the first epoch
includes filling the tf.data cache); evaluations done only to draw the table are not counted.

MNIST also trains the reference recipe, the Keras example "Simple MNIST convnet"
(https://keras.io/examples/vision/mnist_convnet/), in the same run, so the speed-up is a
ratio of two times measured side by side. The bar: our model reaches the reference's test
accuracy in at most half the reference's training time.

Adding a row (chapters 07, 08, ...): write a function that trains the chapter's main model
and returns a list of :class:`Row`, and register it with ``@bench("name")``::

    @bench("sentiment")
    def sentiment(cfg: Config) -> list[Row]:
        ...  # use cfg.epochs(full) and cfg.limit(n) so --smoke stays quick
        return [Row("07", "movie reviews", "GRU", epochs, seconds, "test accuracy", acc)]

Timings depend on what else the machine runs: after each bench the script prints how many CPU
seconds *other* processes used meanwhile (from /proc/stat, on Linux), and warns above 10%.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
if __name__ == "__main__":  # only the script sets the environment: importing this module (tests) must not
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ["COURSE_FAST"] = "0"  # benchmarks are always full mode (use --smoke for a quick check)

import keras  # noqa: E402
import numpy as np  # noqa: E402

SEED = 42


@dataclass
class Row:
    """One line of the table."""

    chapter: str
    dataset: str
    model: str
    epochs: int
    seconds: float
    metric: str
    value: float
    note: str = ""


@dataclass
class Config:
    """Run-wide settings handed to every bench function."""

    smoke: bool = False

    def epochs(self, full: int) -> int:
        """``full`` normally, 1 under ``--smoke``."""
        return 1 if self.smoke else full

    def limit(self, n: int) -> int:
        """``n`` examples normally, at most 2,000 under ``--smoke``."""
        return min(n, 2000) if self.smoke else n

    def seeds(self, full: tuple[int, ...]) -> tuple[int, ...]:
        """``full`` normally, its first two under ``--smoke`` (two runs still have a spread)."""
        return full[:2] if self.smoke else full


BENCHES: dict[str, Callable[[Config], list[Row]]] = {}


def bench(name: str) -> Callable[[Callable[[Config], list[Row]]], Callable[[Config], list[Row]]]:
    """Register a bench function under ``name`` (run alone with ``--only name``)."""

    def register(fn: Callable[[Config], list[Row]]) -> Callable[[Config], list[Row]]:
        if name in BENCHES:
            raise ValueError(f"bench name {name!r} is already registered")
        BENCHES[name] = fn
        return fn

    return register


# --- helpers ------------------------------------------------------------------------------------


class EpochClock(keras.callbacks.Callback):
    """Times the training epochs and, untimed, evaluates the model after each one.

    ``seconds[i]`` is the training time up to the end of epoch ``i``. With ``eval_data``,
    ``scores`` holds the metric from ``evaluate(eval_data)`` after every epoch, or with
    ``every_epoch=False`` only after the last one (``scores[-1]`` is the final score either way).
    """

    def __init__(self, eval_data: Any = None, *, every_epoch: bool = True) -> None:
        super().__init__()
        self.eval_data = eval_data
        self.every_epoch = every_epoch
        self.seconds: list[float] = []
        self.scores: list[float] = []
        self._spent = 0.0
        self._start = 0.0

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self._spent += time.perf_counter() - self._start
        self.seconds.append(self._spent)
        if self.eval_data is not None and (self.every_epoch or epoch + 1 == self.params["epochs"]):
            self.scores.append(float(self.model.evaluate(self.eval_data, verbose=0)[1]))


def _verdict(ok: bool, bar: str) -> str:
    return f"{'PASS' if ok else 'FAIL'} ({bar})"


def _scaled(x: Any, y: Any) -> tuple[Any, Any]:
    import tensorflow as tf

    return tf.cast(x, tf.float32)[..., None] / 255.0, y


def _load(name: str, cfg: Config) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    from course_lib import data

    (x_train, y_train), (x_test, y_test) = data.load_mnist() if name == "mnist" else data.load_fashion_mnist()
    n, m = cfg.limit(len(x_train)), cfg.limit(len(x_test))
    return (x_train[:n], y_train[:n]), (x_test[:m], y_test[:m])


def _train_main(builder: Callable[[], Any], recipe: Any, train: tuple, test: tuple, epochs: int, *,
                every_epoch: bool, seed: int = SEED) -> tuple[Any, Any]:
    """Train a course model exactly as chapter 06 does; return (model, clock).

    ``every_epoch``: score the test set after every epoch (for the time to an accuracy), not only the last.
    ``seed``: sets the initial weights, the augmentation draws and the order of the batches.
    """
    from course_lib import data, runtime

    runtime.set_seed(seed, deterministic=True)
    train_ds = data.to_dataset(*train, batch_size=recipe.batch_size, shuffle=True, seed=seed, map_fn=_scaled)
    test_ds = data.to_dataset(*test, batch_size=512, map_fn=_scaled)
    model = builder()
    model.compile(optimizer=recipe.optimizer(len(train[0])), loss=recipe.loss(), metrics=["accuracy"])
    clock = EpochClock(test_ds, every_epoch=every_epoch)
    model.fit(train_ds, epochs=epochs, callbacks=[clock], verbose=0)
    return model, clock


# --- chapter 06: CNNs -----------------------------------------------------------------------------


def reference_mnist_convnet() -> Any:
    """The Keras example "Simple MNIST convnet" (F. Chollet), as published."""
    layers = keras.layers
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])


#: Chapter 06's MNIST claims, over these seeds: test accuracy >= MNIST_BAR and the time to the reference's
#: accuracy <= MNIST_TIME_BAR of the reference's training time, each by more than its seed-to-seed sd.
MNIST_SEEDS = (0, 1, 2)
MNIST_BAR, MNIST_TIME_BAR = 0.99, 0.5


@bench("mnist")
def mnist(cfg: Config) -> list[Row]:
    """Chapter 06's MNIST CNN (3 seeds) against the Keras example, time to the reference's accuracy."""
    from course_lib import models, runtime

    (x_train, y_train), (x_test, y_test) = _load("mnist", cfg)

    # 1. The reference, exactly as in the Keras example: numpy arrays, one-hot labels, adam,
    #    batch 128, 15 epochs, 10% of the training set held out for validation.
    runtime.set_seed(SEED, deterministic=True)
    xr = np.expand_dims(x_train.astype("float32") / 255, -1)
    xr_test = np.expand_dims(x_test.astype("float32") / 255, -1)
    yr, yr_test = keras.utils.to_categorical(y_train, 10), keras.utils.to_categorical(y_test, 10)
    ref = reference_mnist_convnet()
    ref.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    ref_epochs = cfg.epochs(15)
    ref_clock = EpochClock()
    ref.fit(xr, yr, batch_size=128, epochs=ref_epochs, validation_split=0.1, callbacks=[ref_clock], verbose=0)
    ref_seconds = ref_clock.seconds[-1]
    ref_acc = float(ref.evaluate(xr_test, yr_test, verbose=0)[1])

    # 2. Ours: the chapter's model and recipe, from course_lib.models, once per seed.
    recipe = models.MNIST_RECIPE
    epochs = cfg.epochs(recipe.epochs)
    seeds = cfg.seeds(MNIST_SEEDS)
    scores, seconds, ratios = [], [], []
    for seed in seeds:
        _, clock = _train_main(models.mnist_cnn, recipe, (x_train, y_train), (x_test, y_test), epochs,
                               every_epoch=True, seed=seed)
        reached = [s for s, a in zip(clock.seconds, clock.scores, strict=True) if a >= ref_acc]
        scores.append(clock.scores[-1])
        seconds.append(clock.seconds[-1])
        ratios.append((reached[0] if reached else float("nan")) / ref_seconds)
        print(f"[bench] mnist seed {seed}: test accuracy {scores[-1]:.4f} in {seconds[-1]:.0f} s; "
              f"time to ref. / ref. time {ratios[-1]:.4f}", flush=True)
    mean, sd, ok = seed_summary(scores, MNIST_BAR)
    r_mean, r_sd, r_ok = seed_summary(ratios, MNIST_TIME_BAR, lower_is_better=True)
    n = len(seeds)
    return [
        Row("06", "MNIST", "Keras 'Simple MNIST convnet' (reference)", ref_epochs, ref_seconds,
            "test accuracy", ref_acc, f"trains on {len(x_train) - int(0.1 * len(x_train)):,} (validation_split=0.1)"),
        Row("06", "MNIST", f"course_lib.models.mnist_cnn, {n} seeds (mean; sd {sd:.4f})", epochs,
            float(np.mean(seconds)), "test accuracy", mean,
            f"{_margin_verdict(mean, sd, ok, MNIST_BAR)}; runs " + ", ".join(f"{v:.4f}" for v in scores)),
        Row("06", "MNIST", f"mnist_cnn vs reference, {n} seeds (mean; sd {r_sd:.4f})", epochs,
            r_mean * ref_seconds, "time to ref. accuracy / ref. time", r_mean,
            f"{_margin_verdict(r_mean, r_sd, r_ok, MNIST_TIME_BAR, lower_is_better=True)}; runs "
            + ", ".join(f"{v:.4f}" for v in ratios)),
    ]


#: Chapter 06's Fashion-MNIST claim: the mean over these seeds must clear FASHION_BAR by more than its sd.
FASHION_SEEDS = (0, 1, 2)
FASHION_BAR = 0.90


def seed_summary(values: list[float], bar: float, *, lower_is_better: bool = False) -> tuple[float, float, bool]:
    """Mean, sample standard deviation (ddof=1) and whether the mean clears ``bar`` by more than the sd:
    ``mean - bar > sd``, or ``bar - mean > sd`` when ``lower_is_better`` (a time, an error).

    A headline figure is only called a pass when it clears its bar by more than its
    seed-to-seed spread: a bar met by less than that is not met on another machine (bit-identical
    reruns hold on one CPU, not across CPUs). Needs at least two values, to have a spread; a NaN among
    them (a run that never reached its target) makes the mean NaN and the verdict False.
    """
    if len(values) < 2:
        raise ValueError(f"values must hold at least 2 runs (one per seed) to measure a spread, got {len(values)}")
    arr = np.asarray(values, dtype=np.float64)
    mean, sd = float(arr.mean()), float(arr.std(ddof=1))
    margin = bar - mean if lower_is_better else mean - bar
    return mean, sd, bool(margin > sd)


def _margin_verdict(mean: float, sd: float, ok: bool, bar: float, *, lower_is_better: bool = False) -> str:
    """'PASS (mean - bar = m > sd s)' or the FAIL, as the table prints it."""
    margin, name = (bar - mean, f"{bar} - mean") if lower_is_better else (mean - bar, f"mean - {bar}")
    return _verdict(ok, f"{name} = {margin:.4f} {'>' if ok else '<='} sd {sd:.4f}")


@bench("fashion")
def fashion(cfg: Config) -> list[Row]:
    """Chapter 06's Fashion-MNIST CNN on the bundled 16k/5k subset, 3 seeds (mean +- sd)."""
    from course_lib import models

    (x_train, y_train), (x_test, y_test) = _load("fashion", cfg)
    recipe = models.FASHION_RECIPE
    epochs = cfg.epochs(recipe.epochs)
    seeds = cfg.seeds(FASHION_SEEDS)
    scores, seconds = [], []
    for seed in seeds:
        _, clock = _train_main(models.fashion_cnn, recipe, (x_train, y_train), (x_test, y_test), epochs,
                               every_epoch=False, seed=seed)
        scores.append(clock.scores[-1])
        seconds.append(clock.seconds[-1])
        print(f"[bench] fashion seed {seed}: test accuracy {clock.scores[-1]:.4f} in {clock.seconds[-1]:.0f} s",
              flush=True)
    mean, sd, ok = seed_summary(scores, FASHION_BAR)
    verdict = _margin_verdict(mean, sd, ok, FASHION_BAR)
    return [
        Row("06", "Fashion-MNIST 16k/5k", f"course_lib.models.fashion_cnn, {len(seeds)} seeds (mean; sd {sd:.4f})",
            epochs, float(np.mean(seconds)), "test accuracy", mean,
            f"{verdict}; seconds per seed; runs " + ", ".join(f"{v:.4f}" for v in scores)),
    ]


# --- chapters 07 and 08: sequences (code in benchmarks/ch07.py and ch08.py) -------------------------


@bench("timeseries")
def timeseries(cfg: Config) -> list[Row]:
    """Chapter 07's LSTM forecaster of weekly Mauna Loa CO2, against the best naive forecast."""
    import ch07

    r = ch07.bench_timeseries(epochs=cfg.epochs(40))
    ratio = r["ratio_to_naive"]
    return [
        Row("07", "CO2 weekly, 4 weeks ahead", "best naive (persistence / seasonal)", 0, 0.0, "test MAE (ppm)",
            r["naive_mae"]),
        Row("07", "CO2 weekly, 4 weeks ahead", r["model"], r["epochs"], r["seconds"], "test MAE (ppm)", r["value"],
            _verdict(ratio <= 0.9, f"MAE / naive = {ratio:.2f}, bar <= 0.90")),
    ]


@bench("sentiment")
def sentiment(cfg: Config) -> list[Row]:
    """Chapters 07 and 08: LSTM and Transformer encoder on the bundled movie reviews."""
    import ch07
    import ch08

    rows = []
    for r in (ch07.bench_sentiment(epochs=cfg.epochs(6)), ch08.bench_sentiment_transformer(epochs=cfg.epochs(6))):
        ok = r["value"] >= r["majority"] + 0.05
        rows.append(Row(r["chapter"], "movie reviews (10,568)", r["model"], r["epochs"], r["seconds"],
                        "test accuracy", r["value"], _verdict(ok, f"majority {r['majority']:.3f} + 0.05")))
    return rows


@bench("charlm")
def charlm(cfg: Config) -> list[Row]:
    """Chapter 08's character-level Transformer language model on Shakespeare."""
    import ch08

    r = ch08.bench_char_lm(epochs=cfg.epochs(6), steps_per_epoch=10 if cfg.smoke else 125)
    return [Row("08", "Shakespeare (2 M chars)", r["model"], r["epochs"], r["seconds"], "val. bits/char", r["value"],
                _verdict(r["value"] < 4.68, "unigram model: 4.68 bits/char"))]


# --- chapter 15: a GPT from scratch (code in benchmarks/ch15.py) -------------------------------------


#: Chapter 15's GPT seeds: the bench's time ratio and the chapter's GPT-vs-character comparison share them.
GPT_SEEDS = (0, 1, 2)
GPT_TIME_BAR = 1.0
_GPT_RUNS: dict[int, dict[str, Any]] = {}  # runs of the ``gpt`` bench, reused by ``gpt_seeds`` in the same process


@bench("gpt")
def gpt(cfg: Config) -> list[Row]:
    """Chapter 15's GPT (3 seeds) against the Keras example "Text generation with a miniature GPT", same tokens."""
    import ch15

    seeds = cfg.seeds(GPT_SEEDS)
    r = ch15.bench_gpt_vs_reference(smoke=cfg.smoke, seeds=seeds)
    _GPT_RUNS.clear()
    _GPT_RUNS.update({run["seed"]: run for run in r["runs"]})
    ref, runs = r["ref"], r["runs"]
    for run in runs:
        print(f"[bench] gpt seed {run['seed']}: {run['bpb']:.4f} bits/byte in {run['seconds']:.0f} s; "
              f"time to ref. / ref. time {run['ratio']:.4f}", flush=True)
    data = f"Shakespeare BPE ({r['train_tokens']:,} train tokens; val plays)"
    peak = f"peak {r['peak_flops'] / 1e9:.0f} GFLOP/s"
    n = len(runs)
    bpb_mean = float(np.mean([x["bpb"] for x in runs]))
    bpb_sd = float(np.std([x["bpb"] for x in runs], ddof=1))
    r_mean, r_sd, r_ok = seed_summary(r["ratios"], GPT_TIME_BAR, lower_is_better=True)
    return [
        Row("15", data, f"Keras 'miniature GPT' (reference, {ref['params']:,} params)", 1, ref["seconds"],
            "val. bits/byte", ref["bpb"],
            f"{ref['tokens_per_s']:,.0f} tokens/s, MFU {ref['mfu']:.1%} ({peak})"),
        Row("15", data, f"course_lib.gpt SHAKESPEARE_GPT ({runs[0]['params']:,} params), {n} seeds (mean; sd "
            f"{bpb_sd:.4f})", runs[0]["epochs"], float(np.mean([x["seconds"] for x in runs])), "val. bits/byte",
            bpb_mean, f"{np.mean([x['tokens_per_s'] for x in runs]):,.0f} tokens/s, "
            f"MFU {np.mean([x['mfu'] for x in runs]):.1%}"),
        Row("15", data, f"GPT vs reference, {n} seeds (mean; sd {r_sd:.4f})", runs[0]["epochs"], r["time_to_ref"],
            "time to ref. bits/byte / ref. time", r_mean,
            f"{_margin_verdict(r_mean, r_sd, r_ok, GPT_TIME_BAR, lower_is_better=True)}; runs "
            + ", ".join(f"{v:.4f}" for v in r["ratios"])),
    ]


@bench("gpt_seeds")
def gpt_seeds(cfg: Config) -> list[Row]:
    """Chapter 15's GPT against chapter 08's character model on the held-out plays, 3 seeds each (the GPT runs
    of the ``gpt`` bench are reused when it ran first in the same command)."""
    import ch15

    seeds = cfg.seeds(GPT_SEEDS)
    r = ch15.bench_gpt_vs_char(seeds=seeds, smoke=cfg.smoke, gpt_done=_GPT_RUNS)
    gap = r["char"]["mean"] - r["gpt"]["mean"]
    spread = r["char"]["sd"] + r["gpt"]["sd"]
    n = len(r["seeds"])
    return [
        Row("08", "Shakespeare val plays", f"ch08 char model, {n} seeds (mean; sd {r['char']['sd']:.4f})",
            cfg.epochs(6), r["char"]["seconds"], "val. bits/byte", r["char"]["mean"]),
        Row("15", "Shakespeare val plays", f"GPT, {n} seeds (mean; sd {r['gpt']['sd']:.4f})", 1,
            r["gpt"]["seconds"], "val. bits/byte", r["gpt"]["mean"],
            _verdict(gap > spread, f"char - GPT = {gap:.3f} > sd sum {spread:.3f}")),
    ]


# --- main -----------------------------------------------------------------------------------------


def _busy_cpu_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (Linux /proc/stat), or None elsewhere."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def _load_note() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count() or 1} CPU cores"


def _contention_note(wall: float, busy0: float | None, own0: float) -> str:
    """How much CPU other processes took while a bench ran (the load average counts our own threads)."""
    busy1 = _busy_cpu_seconds()
    if busy0 is None or busy1 is None or wall <= 0:
        return "other processes: unknown (no /proc/stat)"
    others = max(0.0, (busy1 - busy0) - (_own_cpu_seconds() - own0))
    share = others / (wall * (os.cpu_count() or 1))
    flag = " -- timings inflated by contention" if share > 0.10 else ""
    return f"other processes used {others:.0f} CPU-s ({share:.0%} of the machine){flag}"


def format_table(rows: list[Row]) -> str:
    """The rows as an aligned text table."""
    head = ("chapter", "dataset", "model", "epochs", "seconds", "metric", "value", "note")
    body = [(r.chapter, r.dataset, r.model, str(r.epochs), f"{r.seconds:.1f}", r.metric, f"{r.value:.4f}", r.note)
            for r in rows]
    widths = [max(len(line[i]) for line in [head, *body]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in [head, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", action="append", metavar="NAME", help="run only this bench (repeatable)")
    ap.add_argument("--list", action="store_true", help="list the registered benches and exit")
    ap.add_argument("--smoke", action="store_true", help="1 epoch on 2,000 examples: test the script, not the speed")
    ap.add_argument("--out", type=Path, metavar="JSON",
                    help="also store the rows with the command, code version, load and times (make bench: "
                         "benchmarks/results/bench.json)")
    args = ap.parse_args(argv)
    if args.list:
        for name, fn in BENCHES.items():
            print(f"{name:<10} {(fn.__doc__ or '').strip().splitlines()[0]}")
        return 0
    names = args.only or list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        ap.error(f"unknown bench {unknown}; choose from {list(BENCHES)}")

    from course_lib import runtime

    runtime.setup(seed=SEED)
    cfg = Config(smoke=args.smoke)
    print(f"[bench] start: {_load_note()}", flush=True)
    meta: dict[str, Any] = {"command": " ".join(["benchmarks/bench.py", *(argv if argv is not None else sys.argv[1:])]),
                            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                            "load_average_start": list(os.getloadavg()), "cpu_count": os.cpu_count(),
                            "keras": keras.__version__, "benches": {}}
    rows: list[Row] = []
    t0 = time.perf_counter()
    for name in names:
        start, busy0, own0 = time.perf_counter(), _busy_cpu_seconds(), _own_cpu_seconds()
        rows += BENCHES[name](cfg)
        wall = time.perf_counter() - start
        contention = _contention_note(wall, busy0, own0)
        meta["benches"][name] = {"wall_seconds": round(wall, 1), "contention": contention}
        print(f"[bench] {name} done in {wall:.0f} s; {contention}; {_load_note()}", flush=True)
    print()
    print(format_table(rows))
    if args.out is not None:
        import json
        from dataclasses import asdict

        from provenance import git_hash

        meta.update(git=git_hash("course_lib", "benchmarks"), smoke=args.smoke,
                    wall_seconds=round(time.perf_counter() - t0, 1), load_average_end=list(os.getloadavg()))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"meta": meta, "rows": [asdict(r) for r in rows]}, indent=1) + "\n")
        print(f"[bench] rows stored in {args.out}")
    if args.smoke:
        print("\n(--smoke: tiny sizes, the numbers mean nothing)")
        return 0
    failed = [r for r in rows if r.note.startswith("FAIL")]
    if failed:
        print(f"\n{len(failed)} row(s) missed their bar")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
