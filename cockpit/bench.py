"""``crucible bench cockpit [--full]``: responsiveness of the window with the sim at full rate.

Phase 1: the real cockpit on 3 live symbols (books at 30 Hz each, every trade);
a 5 ms QTimer measures how late the Qt event loop runs it (p50/p99 lag).
With ``--full`` the window also runs a living population: 8 agents on 3
symbols (real forged bundles, one per symbol, copied under 8 ids, as
``engine/bench/arena.py`` does), every signal (radar, influence, MCE, with the
repository's trained models), an agent selected in the Arena (its detail
refreshed), and a real forge task submitted as the measurement starts; it
measures for 75 s so every agent decides on at least one closed bar.
Phase 2: heatmap throughput: push a column and fully render a 400 x 600
heatmap (widget.grab()) as fast as possible; frames per second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

FULL_ENV = "CRUCIBLE_BENCH_COCKPIT_FULL"  # cockpit/cli.py sets it for ``--full``
REPO = Path(__file__).resolve().parents[1]


def run(args: argparse.Namespace) -> dict[str, Any]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import qasync

    from cockpit.app import create_qapp

    full = bool(getattr(args, "full", False)) or os.environ.get(FULL_ENV) == "1"
    app = create_qapp()
    seconds = (20.0 if args.quick else 75.0) if full else (5.0 if args.quick else 20.0)
    with tempfile.TemporaryDirectory(prefix="crucible-bench-") as tmp:
        root = Path(tmp)
        if full:
            _prepare_population(root)
        result: dict[str, Any] = qasync.run(_measure(app, root, seconds, full))
    print(
        f"loop lag p50 {result['loop_lag_p50_ms']:.2f} ms, p99 {result['loop_lag_p99_ms']:.2f} ms "
        f"over {seconds:.0f} s ({result['md_msgs_per_s']:,.0f} md msgs/s); heatmap "
        f"{result['heatmap_levels']}x{result['heatmap_columns']}: {result['heatmap_fps']:.0f} fps"
    )
    if full:
        print(
            f"population: {result['agents']} agents, {result['decisions']} decisions, "
            f"{result['agent_fills']} agent fills, forge task {result['forge_stage']} "
            f"({result['forge_events']} progress events)"
        )
    return result


def _prepare_population(root: Path) -> None:
    """Forge one bundle per symbol (bars and bundles in the engine's own store), clone 8."""
    from engine.bench.arena import clone_population, forge_bundles

    t0 = time.perf_counter()
    data = root / "var" / "data"  # forge_bundles keeps its bars in data/bars: the engine's store
    bundles = forge_bundles(data)
    clone_population(bundles, root / "models", 8)
    for name in ("mce", "influence"):
        shutil.copytree(REPO / "models" / name, root / "models" / name)
    print(f"forged {len(bundles)} bundles in {time.perf_counter() - t0:.0f} s", flush=True)


def _config(root: Path, full: bool) -> Any:
    from engine.config import config_with_overrides

    overrides: dict[str, Any] = {
        "engine": {"log_level": "WARNING"},
        "cerebellum": {"core": {"sim": {"book_hz": 30.0}}},
    }
    if full:
        # The Singularity and the Watchtower stay quiet: the measured forge task is the
        # one submitted below, and no agent is reaped during the measurement.
        overrides |= {"deployment": {"enabled": False}, "watchtower": {"enabled": False}}
    return config_with_overrides(overrides, root=root)


async def _measure(app: Any, root: Path, seconds: float, full: bool) -> dict[str, Any]:
    from PySide6.QtCore import QSettings, QTimer

    from cockpit.main_window import MainWindow
    from engine.assembly import build_engine

    config = _config(root, full)
    engine = build_engine(config)
    window = MainWindow(
        engine, config, settings=QSettings(str(root / "c.ini"), QSettings.Format.IniFormat)
    )
    window.resize(1600, 1000)
    window.show()
    await engine.start()
    counts = {"decisions": 0, "fills": 0, "forge_events": 0}
    if full:
        window.bridge.sigAgentDecision.connect(lambda _d: _bump(counts, "decisions"))
        window.bridge.sigFillReceived.connect(
            lambda f: _bump(counts, "fills") if f.strategy_id != "manual" else None
        )
        window.bridge.sigForgeProgress.connect(lambda _p: _bump(counts, "forge_events"))
    try:
        await asyncio.sleep(2.0)  # books fill, first frames drawn
        task_id = ""
        if full:
            await _wait_for_agents(engine, 8)
            window.queries.poll()
            await asyncio.sleep(0.5)
            window.panels.arena.table.selectRow(0)
            task_id = engine.commands.forge_agent("ETH/USDT")
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
        forge_row = window.panels.forge.tasks_model.row(task_id) if task_id else None
        agents = len(engine.arena.agents)
        fps = _heatmap_throughput(window, frames=60 if seconds < 10 else 200)
    finally:
        window.close()
        await engine.stop()
    arr = np.asarray(lags)
    result: dict[str, Any] = {
        "bench": "cockpit",
        "full": full,
        "seconds": seconds,
        "loop_lag_p50_ms": float(np.percentile(arr, 50)),
        "loop_lag_p99_ms": float(np.percentile(arr, 99)),
        "loop_lag_max_ms": float(arr.max()),
        "md_msgs_per_s": md_rate,
        "heatmap_live_fps": live_fps,
        "heatmap_fps": fps,
        "heatmap_levels": window.heatmap.levels,
        "heatmap_columns": window.heatmap.columns,
    }
    if full:
        result |= {
            "agents": agents,
            "decisions": counts["decisions"],
            "agent_fills": counts["fills"],
            "forge_events": counts["forge_events"],
            "forge_stage": (forge_row or {}).get("stage", "none"),
        }
    return result


def _bump(counts: dict[str, int], key: str) -> None:
    counts[key] += 1


async def _wait_for_agents(engine: Any, n: int, timeout: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(engine.arena.agents) < n:
        if loop.time() > deadline:
            raise RuntimeError(f"only {len(engine.arena.agents)} of {n} agents loaded")
        await asyncio.sleep(0.2)


def _heatmap_throughput(window: Any, frames: int) -> float:
    """Push a column and fully render the heatmap widget ``frames`` times; frames per second."""
    heatmap = window.heatmap
    t0 = time.perf_counter()
    for _ in range(frames):
        heatmap.ring.push(heatmap.ring.view()[:, -1].copy())
        heatmap.render()
        heatmap.grab()
    return frames / (time.perf_counter() - t0)
