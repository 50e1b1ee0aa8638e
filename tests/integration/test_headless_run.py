"""`crucible run --headless`: logs that it runs, exits 0 on SIGINT within 2 s, leaves nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

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
        assert running.wait(60), "engine never logged that it is running:\n" + "".join(lines)
        time.sleep(1.0)  # let it run for a moment (market data, heartbeats)
        kids = children_of(proc.pid)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=10)
        elapsed = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(5)
    log = "".join(lines)
    assert rc == 0, log
    assert elapsed < 2.0, f"took {elapsed:.2f} s to stop"
    assert wait_gone(kids, timeout=2.0) == set(), f"child processes left: {kids}\n{log}"
    assert "engine stopped" in log
    assert "tasks left after stop" not in log
    assert "Task was destroyed but it is pending" not in log
    assert "Traceback" not in log, log
