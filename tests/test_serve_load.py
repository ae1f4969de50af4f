"""Smoke test of the serving load benchmark (benchmarks/serve_load.py, `make bench-serve`): it runs end
to end with and without batching, every answer is a 200, and it prints the table the README and
chapter 13 show. The figures themselves come from `make bench-serve`, not from a timed test."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from course_lib import serve_client

ROOT = Path(__file__).resolve().parent.parent


def test_load_benchmark_quick_run_prints_the_table():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "serve_load.py"), "--quick"],
                         capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    rows = [line for line in out.stdout.splitlines() if line.startswith("| ") and "server" not in line]
    assert [r.split("|")[2].strip() for r in rows] == ["no batching", "batching (max 32, 2 ms)"] * 2
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[2:4] == ["20", "100 × 2"]
        (p50, _), (p99, _), (rps, _) = (map(float, c.split(" ± ")) for c in cells[4:])
        assert 0 < p50 <= p99 and rps > 0
    assert re.search(r"non-200 answers: 0\b", out.stdout)


def test_load_test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="url"):
        serve_client.load_test("http://example.com/v1/models/m:predict", b"{}")
    with pytest.raises(ValueError, match="concurrency"):
        serve_client.load_test("http://127.0.0.1:1/v1/models/m:predict", b"{}", concurrency=5, requests=2)
    with pytest.raises(RuntimeError, match="load test failed"):
        serve_client.load_test(f"http://127.0.0.1:{serve_client.free_port()}/v1/models/m:predict", b"{}",
                               concurrency=1, requests=1)


def test_table_and_compare_batching_arguments():
    row = {"model": "m", "setting": "no batching", "concurrency": 2, "requests": 4, "repeats": 3, "p50_ms": 1.4,
           "p50_ms_sd": 0.2, "p99_ms": 2.6, "p99_ms_sd": 1.0, "requests_per_s": 99.5, "requests_per_s_sd": 3.4,
           "non_200": 0}
    assert serve_client.table([row]).splitlines()[-1] == "| m | no batching | 2 | 4 × 3 | 1 ± 0 | 3 ± 1 | 100 ± 3 |"
    with pytest.raises(ValueError, match="models"):
        serve_client.compare_batching({}, b"{}")
    with pytest.raises(ValueError, match="repeats"):
        serve_client.compare_batching({"m": "x"}, b"{}", repeats=0)
