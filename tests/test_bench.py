"""benchmarks/bench.py: the table, the registry, and every bench end to end in --smoke mode (tiny sizes)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks" / "bench.py"
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench  # noqa: E402


def test_format_table_aligns_columns():
    rows = [bench.Row("06", "MNIST", "a", 5, 12.345, "test accuracy", 0.99123, "PASS"),
            bench.Row("07", "CO2", "longer model name", 40, 1.0, "MAE", 0.5)]
    lines = bench.format_table(rows).splitlines()
    assert lines[0].startswith("chapter") and set(lines[1]) <= {"-", " "}
    col = lines[0].index("seconds")
    assert lines[2][col:].startswith("12.3") and lines[3][col:].startswith("1.0")
    assert "0.9912" in lines[2] and lines[2].endswith("PASS")


def test_registry_rejects_duplicate_names():
    with pytest.raises(ValueError, match="already registered"):
        bench.bench("mnist")(lambda cfg: [])


def test_smoke_config_shrinks_runs():
    cfg = bench.Config(smoke=True)
    assert cfg.epochs(15) == 1 and cfg.limit(60_000) == 2000 and cfg.seeds((0, 1, 2)) == (0, 1)
    assert bench.Config().epochs(15) == 15 and bench.Config().limit(60_000) == 60_000
    assert bench.Config().seeds((0, 1, 2)) == (0, 1, 2)


def test_every_bench_runs_in_smoke_mode(tmp_path):
    import json

    stored = tmp_path / "bench.json"
    out = subprocess.run([sys.executable, str(BENCH), "--smoke", "--out", str(stored)], capture_output=True,
                         text=True, timeout=1200, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    for name in bench.BENCHES:
        assert f"[bench] {name} done" in out.stdout
    for text in ("Simple MNIST convnet", "mnist_cnn, 2 seeds", "mnist_cnn vs reference, 2 seeds",
                 "fashion_cnn, 2 seeds", "LSTM(32)", "Transformer encoder", "char Transformer LM", "miniature GPT",
                 "SHAKESPEARE_GPT", "GPT vs reference, 2 seeds", "ch08 char model, 2 seeds"):
        assert text in out.stdout
    # gpt_seeds reuses the gpt bench's GPT runs (same seeds) instead of training them again
    assert out.stdout.count("[bench] gpt seed ") == 2
    result = json.loads(stored.read_text())
    assert result["meta"]["smoke"] is True and set(result["meta"]["benches"]) == set(bench.BENCHES)
    assert len(result["rows"]) >= 2 * len(bench.BENCHES) and {"model", "value", "note"} <= set(result["rows"][0])


def test_importing_bench_leaves_the_environment_alone():
    # Regression: bench.py once set COURSE_FAST=0 at import, so every notebook that the same pytest
    # worker executed afterwards ran in full mode and timed out.
    code = ("import os, sys; sys.path.insert(0, sys.argv[1]); os.environ['COURSE_FAST'] = '1'; "
            "before = dict(os.environ); import bench; assert dict(os.environ) == before, 'bench changed os.environ'")
    result = subprocess.run([sys.executable, "-c", code, str(ROOT / "benchmarks")], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def test_gpt_bench_smoke_returns_consistent_figures():
    import ch15

    r = ch15.bench_gpt_vs_reference(smoke=True)
    for key in ("ref", "gpt"):
        assert r[key]["seconds"] > 0 and r[key]["tokens_per_s"] > 0 and 0 < r[key]["mfu"] < 1
        assert 0 < r[key]["bpb"] < 12  # 11 bits per byte = a uniform guess over 2,048 tokens of ~2.7 bytes
    assert len(r["gpt"]["curve"]) == r["gpt"]["epochs"] and r["gpt"]["curve"][-1] == r["gpt"]["bpb"]
    assert r["gpt"]["params"] == 1_071_872
    # MFU's N leaves out lookup-only embedding tables: the reference's token (2,048 x 256) and position (100 x 256)
    # tables, the GPT's position table; the GPT's token table is its tied output layer, so it stays
    ref = ch15.reference_miniature_gpt(2048, maxlen=100)
    assert ch15.flop_params(ref) == ref.count_params() - 2048 * 256 - 100 * 256
    from course_lib.gpt import SHAKESPEARE_GPT, build_gpt

    gpt = build_gpt(SHAKESPEARE_GPT, seed=0)
    assert ch15.flop_params(gpt) == gpt.count_params() - SHAKESPEARE_GPT.context_length * SHAKESPEARE_GPT.d_model
    assert r["runs"] == [r["gpt"]] and r["ratios"] == [r["gpt"]["ratio"]]
    # the 2-slice schedule with scoring in between trains exactly what gpt_on_plays' single slice trains, so
    # gpt_seeds may reuse these runs
    assert abs(ch15.gpt_on_plays(0, smoke=True)["bpb"] - r["gpt"]["bpb"]) < 1e-5
    with pytest.raises(ValueError, match="seeds"):
        ch15.bench_gpt_vs_reference(smoke=True, seeds=())


def test_seed_summary_needs_the_mean_to_clear_the_bar_by_more_than_the_spread():
    mean, sd, ok = bench.seed_summary([0.9124, 0.9080, 0.9102], 0.91)
    assert abs(mean - 0.9102) < 1e-9 and abs(sd - 0.0022) < 1e-9
    assert not ok  # mean - bar = 0.0002 is inside the spread: the bar is not met
    assert bench.seed_summary([0.9124, 0.9080, 0.9102], 0.90)[2]  # 0.0102 > 0.0022
    assert not bench.seed_summary([0.95, 0.85], 0.89)[2]  # mean 0.90 clears 0.89 by 0.01, sd 0.07
    with pytest.raises(ValueError, match="at least 2"):
        bench.seed_summary([0.91], 0.9)
    # a time ratio must stay below its bar by more than its spread
    assert bench.seed_summary([0.40, 0.42, 0.44], 0.5, lower_is_better=True)[2]  # 0.08 > 0.02
    assert not bench.seed_summary([0.94, 0.97, 1.0], 1.0, lower_is_better=True)[2]  # 0.03 <= 0.03
    assert not bench.seed_summary([0.4, float("nan")], 0.5, lower_is_better=True)[2]  # a run never got there


def test_headline_rows_run_at_least_three_seeds():
    assert len(set(bench.FASHION_SEEDS)) >= 3 and 0.5 < bench.FASHION_BAR < 1
    assert len(set(bench.MNIST_SEEDS)) >= 3 and len(set(bench.GPT_SEEDS)) >= 3
