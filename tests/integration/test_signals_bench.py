"""`crucible bench signals --quick`: the last line is JSON with the three p99 keys."""

from __future__ import annotations

import json
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
        assert result[f"{key}_p99_ms"] >= result[f"{key}_median_ms"] > 0
    # Medians against the acceptance limits on p99 (p99 itself is at the mercy of a shared CPU).
    assert result["tda_median_ms"] <= 20
    assert result["mce_median_ms"] <= 2
    assert result["gnn_median_ms"] <= 10
