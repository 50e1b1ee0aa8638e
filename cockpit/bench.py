"""``crucible bench cockpit``: responsiveness of the window with the sim at full rate.

Phase 1: the real cockpit on 3 live symbols (books at 30 Hz each, every trade);
a 5 ms QTimer measures how late the Qt event loop runs it (p50/p99 lag).
Phase 2: heatmap throughput: push a column and fully render a 400 x 600
heatmap (widget.grab()) as fast as possible; frames per second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def run(args: argparse.Namespace) -> dict[str, Any]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import qasync

    from cockpit.app import create_qapp

    app = create_qapp()
    seconds = 5.0 if args.quick else 20.0
    with tempfile.TemporaryDirectory(prefix="crucible-bench-") as tmp:
        result: dict[str, Any] = qasync.run(_measure(app, Path(tmp), seconds))
    print(
        f"loop lag p50 {result['loop_lag_p50_ms']:.2f} ms, p99 {result['loop_lag_p99_ms']:.2f} ms "
        f"over {seconds:.0f} s ({result['md_msgs_per_s']:,.0f} md msgs/s); heatmap "
        f"{result['heatmap_levels']}x{result['heatmap_columns']}: {result['heatmap_fps']:.0f} fps"
    )
    return result


async def _measure(app: Any, tmp: Path, seconds: float) -> dict[str, Any]:
    from PySide6.QtCore import QSettings, QTimer

    from cockpit.main_window import MainWindow
    from engine.assembly import build_engine
    from engine.config import config_with_overrides

    config = config_with_overrides(
        {"engine": {"log_level": "WARNING"}, "cerebellum": {"core": {"sim": {"book_hz": 30.0}}}},
        root=tmp,
    )
    engine = build_engine(config)
    window = MainWindow(
        engine, config, settings=QSettings(str(tmp / "c.ini"), QSettings.Format.IniFormat)
    )
    window.resize(1600, 1000)
    window.show()
    await engine.start()
    try:
        await asyncio.sleep(2.0)  # books fill, first frames drawn
        lags: list[float] = []
        timer = QTimer()
        timer.setSingleShot(True)
        state = {"due": 0.0}

        def tick() -> None:
            now = time.perf_counter()
            lags.append((now - state["due"]) * 1e3)
            state["due"] = now + 0.005
            timer.start(5)

        timer.timeout.connect(tick)
        state["due"] = time.perf_counter() + 0.005
        timer.start(5)
        md0, t0 = engine.link.md_count, time.perf_counter()
        frames0 = window.heatmap.frames_drawn
        await asyncio.sleep(seconds)
        timer.stop()
        elapsed = time.perf_counter() - t0
        md_rate = (engine.link.md_count - md0) / elapsed
        live_fps = (window.heatmap.frames_drawn - frames0) / elapsed
        fps = _heatmap_throughput(window, frames=60 if seconds < 10 else 200)
    finally:
        window.close()
        await engine.stop()
    arr = np.asarray(lags)
    return {
        "bench": "cockpit",
        "loop_lag_p50_ms": float(np.percentile(arr, 50)),
        "loop_lag_p99_ms": float(np.percentile(arr, 99)),
        "loop_lag_max_ms": float(arr.max()),
        "md_msgs_per_s": md_rate,
        "heatmap_live_fps": live_fps,
        "heatmap_fps": fps,
        "heatmap_levels": window.heatmap.levels,
        "heatmap_columns": window.heatmap.columns,
    }


def _heatmap_throughput(window: Any, frames: int) -> float:
    """Push a column and fully render the heatmap widget ``frames`` times; frames per second."""
    heatmap = window.heatmap
    t0 = time.perf_counter()
    for _ in range(frames):
        heatmap.ring.push(heatmap.ring.view()[:, -1].copy())
        heatmap.render()
        heatmap.grab()
    return frames / (time.perf_counter() - t0)
