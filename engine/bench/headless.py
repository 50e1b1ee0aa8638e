"""The headless engine's lifecycle and its busy-poll loop.

Figures (medians; targets in brackets, checked here and never in a test):

* ``headless_start_s``: from spawning ``crucible run --headless`` (simulated
  venue, a fresh root) to its "engine running" log line.
* ``headless_stop_s``: from SIGINT to the process's exit with code 0 [≤ 2 s].
* ``busy_poll_idle_cpu_fraction``: CPU time over wall time of a
  ``BusyPollEventLoop`` told to spin (1 ms budget) while it waits 200 ms for a
  timer: near 0 when it sleeps after its budget, 1 if it spins throughout
  [≤ 0.25].
* ``busy_poll_timer_late_ms`` (and ``_p99_ms``): how much later than due a
  2 ms timer fires while the loop is told to spin for 10 ms, i.e. spinning
  never delays a timer [median ≤ 7 ms]; ``busy_poll_timer_late_nospin_ms`` is
  the same timer on the same loop not spinning, for comparison.

``--quick`` runs one engine cycle and fewer loop samples.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from engine.core import busy_poll
from engine.core.busy_poll import BusyPollEventLoop

_RUNNING = "engine running"
_START_TIMEOUT_S = 180.0  # guards against a hang; not a target
_STOP_TIMEOUT_S = 60.0


class _Output:
    """Collects a child's output on a thread and signals when the engine runs."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self.running = threading.Event()
        self._proc = proc
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self.lines.append(line)
            if _RUNNING in line.lower():
                self.running.set()

    def join(self) -> str:
        self._thread.join(10)
        return "".join(self.lines)


def headless_cycle(root: Path, settle_s: float = 1.0) -> tuple[float, float]:
    """Start ``crucible run --headless`` in ``root``, let it run, SIGINT it: (start_s, stop_s)."""
    config = root / "crucible.toml"
    config.write_text(f'[paths]\nroot = "{root}"\n')
    cmd = [sys.executable, "-m", "engine", "--config", str(config), "run", "--headless"]
    env = dict(os.environ, PYTHONASYNCIODEBUG="0", PYTHONUNBUFFERED="1")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    out = _Output(proc)
    try:
        if not out.running.wait(_START_TIMEOUT_S):
            raise RuntimeError("the headless engine never logged that it runs")
        start_s = time.perf_counter() - t0
        time.sleep(settle_s)  # market data and heartbeats flowing, as a user would stop it
        t1 = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=_STOP_TIMEOUT_S)
        stop_s = time.perf_counter() - t1
    except BaseException:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        raise RuntimeError("headless cycle failed:\n" + out.join()[-4000:]) from None
    log = out.join()
    if rc != 0:
        raise RuntimeError(f"the headless engine exited with {rc}:\n{log[-4000:]}")
    return start_s, stop_s


async def _idle_cpu_fraction(wait_s: float) -> float:
    loop = asyncio.get_running_loop()
    assert isinstance(loop, BusyPollEventLoop)
    loop.set_busy_poll(lambda: True, 1_000)  # spin 1 ms, then block
    c0, t0 = time.process_time(), time.perf_counter()
    await asyncio.sleep(wait_s)
    return (time.process_time() - c0) / (time.perf_counter() - t0)


async def _timer_late_ms(samples: int, spin: bool) -> list[float]:
    loop = asyncio.get_running_loop()
    assert isinstance(loop, BusyPollEventLoop)
    loop.set_busy_poll((lambda: True) if spin else None, 10_000)  # 10 ms against a 2 ms timer
    late: list[float] = []
    for _ in range(samples):
        t0 = time.perf_counter()
        await asyncio.sleep(0.002)
        late.append((time.perf_counter() - t0 - 0.002) * 1e3)
    return late


def run(args: argparse.Namespace) -> dict[str, Any]:
    quick = bool(args.quick)
    cycles = 1 if quick else 3
    # The loop figures first: process_time counts every thread of this process.
    idle = [busy_poll.run(_idle_cpu_fraction(0.2)) for _ in range(3 if quick else 5)]
    late = busy_poll.run(_timer_late_ms(20 if quick else 200, spin=True))
    late_nospin = busy_poll.run(_timer_late_ms(20 if quick else 200, spin=False))
    print(
        f"busy poll: idle CPU fraction {[f'{x:.3f}' for x in idle]}; 2 ms timer late by "
        f"median {np.median(late):.3f} ms, p99 {np.percentile(late, 99):.3f} ms while spinning "
        f"(median {np.median(late_nospin):.3f} ms without)"
    )
    starts: list[float] = []
    stops: list[float] = []
    for i in range(cycles):
        with tempfile.TemporaryDirectory(prefix="crucible-bench-headless-") as tmp:
            start_s, stop_s = headless_cycle(Path(tmp))
        starts.append(start_s)
        stops.append(stop_s)
        print(f"headless cycle {i + 1}: running after {start_s:.2f} s, stopped in {stop_s:.2f} s")
    return {
        "bench": "headless",
        "cycles": cycles,
        "headless_start_s": round(float(np.median(starts)), 3),
        "headless_stop_s": round(float(np.median(stops)), 3),
        "headless_stop_max_s": round(max(stops), 3),
        "busy_poll_idle_cpu_fraction": round(float(np.median(idle)), 4),
        "busy_poll_timer_late_ms": round(float(np.median(late)), 4),
        "busy_poll_timer_late_p99_ms": round(float(np.percentile(late, 99)), 4),
        "busy_poll_timer_late_nospin_ms": round(float(np.median(late_nospin)), 4),
    }
