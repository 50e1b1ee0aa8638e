"""`crucible run --headless`: logs that it runs, exits 0 on SIGINT, leaves nothing.

How fast it starts and stops is a benchmark figure (``crucible bench headless``:
``headless_start_s``, ``headless_stop_s``), never a test's assertion; the
timeouts here only guard against a hang.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from engine.config import REPO_ROOT
from tests.kit.procs import children_of, wait_gone


def test_headless_run_stops_cleanly_on_sigint(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONASYNCIODEBUG="0", PYTHONUNBUFFERED="1")
    config = tmp_path / "crucible.toml"
    config.write_text(f'[paths]\nroot = "{tmp_path}"\n')
    proc = subprocess.Popen(
        [sys.executable, "-m", "cockpit", "--config", str(config), "run", "--headless"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    running = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "engine running" in line.lower():
                running.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        assert running.wait(120), "engine never logged that it is running:\n" + "".join(lines)
        time.sleep(1.0)  # let it run for a moment (market data, heartbeats)
        kids = children_of(proc.pid)
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=60)  # a hang guard: the stop time is reported by the benchmark
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(5)
    log = "".join(lines)
    assert rc == 0, log
    assert kids, "the engine started no child process (the core)"
    assert wait_gone(kids, timeout=30.0) == set(), f"child processes left: {kids}\n{log}"
    assert "engine stopped" in log
    assert "tasks left after stop" not in log
    assert "Task was destroyed but it is pending" not in log
    assert "Traceback" not in log, log


def test_bench_headless_quick_reports_start_stop_and_busy_poll_figures() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "engine", "bench", "headless", "--quick"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=240,  # a hang guard, under pytest-timeout
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    print("\n" + proc.stdout)
    assert result["bench"] == "headless"
    assert result["cycles"] == 1
    figures = (
        "headless_start_s",
        "headless_stop_s",
        "headless_stop_max_s",
        "busy_poll_idle_cpu_fraction",
        "busy_poll_timer_late_ms",
        "busy_poll_timer_late_p99_ms",
        "busy_poll_timer_late_nospin_ms",
    )
    for figure in figures:  # well-formed; whether they meet their targets is the bench's business
        assert isinstance(result[figure], float), result
        assert math.isfinite(result[figure]), result
    assert result["headless_stop_max_s"] >= result["headless_stop_s"] >= 0
    assert result["headless_start_s"] >= 0
    assert result["busy_poll_idle_cpu_fraction"] >= 0
