"""All three signals inside a running CrucibleEngine, fed simulated bars and L2 over its bus.

The components run as the lead wires them (engine bus, clock, supervisor and
CPU pool); models are trained here in a temporary directory. Every signal
must publish computed values with their compute time, and the engine must
stop with no task left behind.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest

from engine.core import topics
from engine.kernel import CrucibleEngine
from engine.marketdata.replay import read_l2_jsonl
from engine.model.events import SignalUpdate
from engine.model.market import Bar, BookSnapshot, Trade
from engine.signals.bar_inputs import aligned_closes, read_history_dir
from engine.signals.influence import InfluenceMapper
from engine.signals.influence_training import InfluenceTrainParams, save_influence, train_influence
from engine.signals.mce.engine import MicroCausalityEngine
from engine.signals.mce.features import l2_feature_frames
from engine.signals.mce.training import MCETrainParams, save_mce, train_mce
from engine.signals.radar import TopologicalRadar
from engine.signals.sim_history import run_sim_history
from tests.kit.configs import make_config

SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")


@pytest.fixture(scope="module")
def sim(cerebellum_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(bars dir, L2 file) of a short simulated history, with the influence and MCE models trained."""
    root = tmp_path_factory.mktemp("signals-engine")
    bars = run_sim_history(cerebellum_binary, root / "bars", SYMBOLS, 1500, 3)
    l2 = run_sim_history(cerebellum_binary, root / "l2", SYMBOLS, 6, 3, l2_hz=5.0)
    assert l2.l2_path is not None
    closes = aligned_closes(read_history_dir(bars.bars_dir, list(SYMBOLS)))
    save_influence(
        train_influence(closes, InfluenceTrainParams(window=60, max_epochs=5)), root / "influence"
    )
    frames = l2_feature_frames(read_l2_jsonl(l2.l2_path))
    save_mce(train_mce(frames, MCETrainParams(seq_len=8, d_model=8, max_epochs=1)), root / "mce")
    return bars.bars_dir, l2.l2_path


async def test_radar_influence_and_mce_publish_inside_the_engine(
    sim: tuple[Path, Path], tmp_path: Path
) -> None:
    bars_dir, l2_path = sim
    models = l2_path.parent.parent
    config = make_config(
        tmp_path,
        signals={
            "radar": {"window": 30, "trailing": 30, "min_trailing": 10},
            "influence": {"model_dir": str(models / "influence")},
            "mce": {"model_dir": str(models / "mce")},
        },
    )
    engine = CrucibleEngine(config)
    parts = (TopologicalRadar, InfluenceMapper, MicroCausalityEngine)
    radar, influence, mce = (
        p(engine.bus, engine.clock, config, engine.supervisor, engine.cpu_pool) for p in parts
    )
    for component in (radar, influence, mce):
        engine.add_component(component)
    got: list[SignalUpdate] = []
    engine.bus.subscribe(
        topics.all_of("signal"), lambda _t, m: got.append(m), name="test", direct=True
    )
    await engine.start()
    try:
        closes = aligned_closes(read_history_dir(bars_dir, list(SYMBOLS))).iloc[:120]
        for ts, row in closes.iterrows():
            for symbol, close in row.items():
                bar = Bar(str(symbol), "1m", int(ts.value), close, close, close, close, 1.0)
                engine.bus.publish(topics.md_bar(str(symbol), "1m"), bar)
        for ev in itertools.islice(read_l2_jsonl(l2_path), 3000):
            if isinstance(ev, BookSnapshot):
                engine.bus.publish(topics.md_book(ev.symbol), ev)
            elif isinstance(ev, Trade):
                engine.bus.publish(topics.md_trade(ev.symbol), ev)
        for component in (radar, influence, mce):
            await component.idle(timeout=30)
    finally:
        await engine.stop()
    assert not engine.supervisor.names
    live = [u for u in got if u.available]
    names = {(u.name, u.symbol) for u in live}
    assert ("radar", None) in names
    for symbol in SYMBOLS:
        assert ("influence", symbol) in names
        assert ("mce", symbol) in names
    by_name = {n: [u for u in live if u.name == n] for n in ("radar", "influence", "mce")}
    for name, updates in by_name.items():
        times = sorted(u.compute_ms for u in updates)
        print(f"{name}: {len(updates)} updates, median compute {times[len(times) // 2]:.3f} ms")
        assert all(math.isfinite(u.compute_ms) and u.compute_ms >= 0 for u in updates)
