"""TopologicalRadar: batch frame and live component agree; causal; degrades visibly."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.core import topics
from engine.model.market import Bar
from engine.signals.config import RadarConfig
from engine.signals.radar import RadarState, TopologicalRadar, radar_frame
from tests.kit.configs import make_config
from tests.unit.engine.signals.conftest import BusKit

SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
CFG = RadarConfig(window=20, trailing=40, min_trailing=10, n_bins=50)


def _closes(n: int = 120, seed: int = 0, burst: tuple[int, int] = (90, 100)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    r = rng.normal(size=(n, len(SYMBOLS))) * 1e-3
    r[burst[0] : burst[1]] *= 8
    index = pd.date_range("2024-01-01", periods=n, freq="1min", tz="UTC", name="ts")
    return pd.DataFrame(100 * np.exp(np.cumsum(r, axis=0)), index=index, columns=list(SYMBOLS))


def _bars(closes: pd.DataFrame, row: int) -> list[Bar]:
    ts = int(closes.index[row].value)
    return [Bar(s, "1m", ts, c, c, c, c, 1.0) for s, c in closes.iloc[row].items()]


def test_radar_frame_equals_the_live_state_bar_by_bar() -> None:
    closes = _closes()
    frame = radar_frame(closes, CFG)
    state = RadarState(SYMBOLS, CFG)
    live = [r for i in range(len(closes)) for r in state.on_bars(_bars(closes, i))]
    assert len(live) == len(closes) - CFG.window
    tail = frame.iloc[CFG.window :]
    np.testing.assert_allclose([r.values["l1"] for r in live], tail["l1"])
    np.testing.assert_allclose([r.score for r in live], tail["score"], equal_nan=True)
    assert [r.detected for r in live] == list(tail["regime_change_detected"])


def test_radar_frame_is_causal_under_truncation() -> None:
    closes = _closes()
    full = radar_frame(closes, CFG)
    for t in (40, 95):
        cut = radar_frame(closes.iloc[: t + 1], CFG)
        pd.testing.assert_series_equal(cut.iloc[t], full.iloc[t], check_names=False)


def test_radar_frame_detects_the_volatility_burst() -> None:
    frame = radar_frame(_closes(), CFG)
    assert frame["regime_change_detected"].iloc[91:100].any()
    assert not frame["regime_change_detected"].iloc[50:89].any()
    assert frame["l1"].iloc[: CFG.window].isna().all()


def test_radar_frame_rejects_gaps_and_single_assets() -> None:
    closes = _closes()
    with pytest.raises(ValueError, match="two symbols"):
        radar_frame(closes[["BTC/USDT"]], CFG)
    broken = closes.copy()
    broken.iloc[5, 0] = np.nan
    with pytest.raises(ValueError, match="complete"):
        radar_frame(broken, CFG)


async def test_radar_component_warms_up_once_then_publishes_batch_values(
    bus_kit: BusKit, tmp_path: Path
) -> None:
    config = make_config(tmp_path, signals={"radar": CFG.model_dump()})
    radar = TopologicalRadar(bus_kit.bus, bus_kit.clock, config, bus_kit.supervisor)
    await radar.start()
    closes = _closes()
    for i in range(len(closes)):
        for bar in _bars(closes, i):
            bus_kit.bus.publish(topics.md_bar(bar.symbol, "1m"), bar)
    await radar.idle()
    await radar.stop()
    await radar.stop()
    got = bus_kit.recorder.of("radar")
    unavailable = [u for u in got if not u.available]
    assert len(unavailable) == 1
    assert "warming up" in unavailable[0].reason
    readings = [u for u in got if u.available]
    frame = radar_frame(closes, CFG).dropna()
    assert len(readings) == len(frame)
    np.testing.assert_allclose([u.values["score"] for u in readings], frame["score"])
    assert all(math.isfinite(u.compute_ms) and u.compute_ms >= 0 for u in readings)
    assert [u.flags["regime_change_detected"] for u in readings] == list(
        frame["regime_change_detected"]
    )


async def test_radar_warm_start_from_history_then_live_bars_match_batch(
    bus_kit: BusKit, tmp_path: Path
) -> None:
    closes = _closes()
    config = make_config(tmp_path, signals={"radar": CFG.model_dump()})
    bus_kit.clock.set(int(closes.index[100].value))
    radar = TopologicalRadar(bus_kit.bus, bus_kit.clock, config, bus_kit.supervisor)
    radar.warm_start(closes)  # rows from index 100 on are "in the future" and ignored
    await radar.start()
    for i in range(100, len(closes)):
        for bar in _bars(closes, i):
            bus_kit.bus.publish(topics.md_bar(bar.symbol, "1m"), bar)
    await radar.idle()
    await radar.stop()
    got = bus_kit.recorder.of("radar")
    assert all(u.available for u in got)
    frame = radar_frame(closes, CFG)
    assert len(got) == 1 + len(closes) - 100
    np.testing.assert_allclose([u.values["score"] for u in got], frame["score"].iloc[99:])
