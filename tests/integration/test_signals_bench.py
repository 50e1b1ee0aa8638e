"""`crucible bench signals --quick`: the last line is JSON with the three latency figures.

The test checks that the benchmark runs and reports well-formed figures; whether
they meet their targets is the benchmark's business (bench/run_all.py, README),
never a test's: a shared CPU makes any bound flaky.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

from engine.config import REPO_ROOT


def test_bench_signals_quick_prints_the_latency_keys() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "engine", "bench", "signals", "--quick"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    print("\n" + proc.stdout)
    for key in ("tda", "mce", "gnn"):
        median, p99 = result[f"{key}_median_ms"], result[f"{key}_p99_ms"]
        assert isinstance(median, float), result
        assert isinstance(p99, float), result
        assert math.isfinite(p99), result
        assert p99 >= median >= 0, result
