"""What the engine publishes for the signal panels (the radar's persistence diagram and
warm-up history, the influence graph's lead-lag edges), and the panels drawing it live."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from engine.core import topics
from engine.core.bus import EventBus
from engine.core.clock import SimClock
from engine.core.tasks import TaskSupervisor
from engine.model.enums import OrderType, Side
from engine.model.market import Bar
from engine.signals.config import RadarConfig
from engine.signals.influence import InfluenceMapper
from engine.signals.radar import RadarState, TopologicalRadar, radar_frame
from engine.signals.tda import persistence_diagrams, point_clouds
from tests.gui.conftest import REPO, Cockpit, open_cockpit
from tests.kit.configs import make_config
from tests.unit.engine.signals.leaders import led_closes

SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
CFG = RadarConfig(window=20, trailing=40, min_trailing=10, n_bins=50)


def _closes(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    r = rng.normal(size=(n, len(SYMBOLS))) * 1e-3
    r[90:100] *= 8
    index = pd.date_range("2024-01-01", periods=n, freq="1min", tz="UTC", name="ts")
    return pd.DataFrame(100 * np.exp(np.cumsum(r, axis=0)), index=index, columns=list(SYMBOLS))


def _bars(closes: pd.DataFrame, row: int) -> list[Bar]:
    ts = int(closes.index[row].value)
    return [Bar(s, "1m", ts, c, c, c, c, 1.0) for s, c in closes.iloc[row].items()]


class _Recorder:
    def __init__(self, bus: EventBus, *patterns: str) -> None:
        self.got: list[tuple[str, Any]] = []
        for p in patterns:
            bus.subscribe(p, lambda t, m: self.got.append((t, m)), direct=True)

    def on(self, topic: str) -> list[Any]:
        return [m for t, m in self.got if t == topic]


def test_each_live_radar_reading_carries_the_diagram_its_score_came_from() -> None:
    closes = _closes()
    state = RadarState(SYMBOLS, CFG)
    readings = [r for i in range(len(closes)) for r in state.on_bars(_bars(closes, i))]
    returns = np.diff(np.log(closes.to_numpy()), axis=0)
    clouds = point_clouds(returns, CFG.window)
    assert len(readings) == len(clouds)
    for reading, cloud in zip(readings[::17], clouds[::17], strict=True):
        expected = persistence_diagrams(cloud, CFG.homology_dimensions)
        assert reading.diagram is not None
        assert set(reading.diagram) == {"h0", "h1"}
        for d in CFG.homology_dimensions:
            np.testing.assert_allclose(
                np.asarray(reading.diagram[f"h{d}"]).reshape(-1, 2), expected[d]
            )
        assert len(reading.diagram["h0"]) > 0
    frame = radar_frame(closes, CFG).iloc[CFG.window :]  # keeping the diagram changed no value
    np.testing.assert_allclose([r.values["l1"] for r in readings], frame["l1"])


async def test_radar_publishes_its_warm_up_history_then_a_diagram_per_reading(
    tmp_path: Path,
) -> None:
    closes = _closes()
    supervisor = TaskSupervisor()
    bus = EventBus(supervisor, md_queue_size=100_000)
    rec = _Recorder(bus, topics.RADAR_HISTORY, topics.RADAR_DIAGRAM, topics.all_of("signal"))
    clock = SimClock(int(closes.index[100].value))
    radar = TopologicalRadar(bus, clock, make_config(tmp_path, signals={"radar": CFG.model_dump()}),
                             supervisor)  # fmt: skip
    radar.warm_start(closes)  # rows from 100 on are in the future: fed live below
    await radar.start()
    [history] = rec.on(topics.RADAR_HISTORY)
    frame = radar_frame(closes, CFG)
    warm = frame.iloc[:100].dropna()
    assert list(history.ts_bar) == [int(t.value) for t in warm.index]
    np.testing.assert_allclose(history.score, warm["score"])
    assert list(history.detected) == list(warm["regime_change_detected"])
    for i in range(100, len(closes)):
        for bar in _bars(closes, i):
            bus.publish(topics.md_bar(bar.symbol, "1m"), bar)
    await radar.idle()
    await radar.stop()
    diagrams = rec.on(topics.RADAR_DIAGRAM)
    live = [m for t, m in rec.got if t == "signal.radar" and m.available]
    assert len(diagrams) == len(live) == 1 + len(closes) - 100  # the warm-up's last, then live
    assert [d.score for d in diagrams] == [u.values["score"] for u in live]
    assert [d.ts_bar for d in diagrams[1:]] == [int(t.value) for t in closes.index[100:]]
    assert all(len(d.diagrams["h0"]) > 0 for d in diagrams)
    await supervisor.stop()


async def test_influence_publishes_the_lead_lag_graph_it_read(tmp_path: Path) -> None:
    closes = led_closes(200, "BTC/USDT", ["ETH/USDT", "SOL/USDT"], seed=3)
    supervisor = TaskSupervisor()
    bus = EventBus(supervisor, md_queue_size=100_000)
    rec = _Recorder(bus, topics.all_of("signal"))
    config = make_config(
        tmp_path, signals={"influence": {"model_dir": str(REPO / "models/influence")}}
    )
    clock = SimClock(int(closes.index[-1].value) + 60_000_000_000)
    mapper = InfluenceMapper(bus, clock, config, supervisor)
    mapper.warm_start(closes)
    await mapper.start()
    await mapper.stop()
    [graph] = rec.on("signal.influence_graph")
    assert graph.available
    edges = {k: v for k, v in graph.values.items() if not k.endswith(".lag")}
    assert len(edges) == 6  # every ordered pair of 3 symbols
    # BTC leads both followers by one bar; nothing leads BTC.
    assert graph.values["BTC/USDT>ETH/USDT"] > 0.3
    assert graph.values["BTC/USDT>ETH/USDT.lag"] == 1.0
    assert graph.values["BTC/USDT>SOL/USDT"] > 0.2
    assert abs(graph.values["ETH/USDT>BTC/USDT"]) < graph.values["BTC/USDT>ETH/USDT"] / 2
    await supervisor.stop()


def test_signal_panels_draw_the_live_radar_and_influence(population: Cockpit) -> None:
    c = population
    panels = c.window.panels
    # The radar warmed up on the venue's recent bars: its history is on the chart at once.
    c.wait(lambda: panels.radar.points > 20, 10, "the radar's warm-up history")
    c.wait(lambda: panels.radar.diagram_pairs > 0, 30, "a persistence diagram")
    first = panels.radar.points
    c.wait(lambda: panels.radar.points > first, 30, "a live radar reading")
    assert "score" in panels.radar.status.text()
    c.wait(lambda: len(panels.influence.edges) == 6, 30, "the influence graph's edges")
    assert set(panels.influence.influence) == set(c.config.universe.symbols)
    assert panels.influence.updates > 0
    periods = panels.regimes.periods()
    assert c.window.chart.regimes_shown == min(len(periods), 40)


def test_chart_opens_with_the_venues_bars_and_marks_fills(cockpit: Cockpit) -> None:
    c = cockpit
    chart = c.window.chart
    c.wait(lambda: len(chart.bars()) >= 60, 10, "the venue's recent bars")
    closes = [b.ts_open for b in chart.bars()]
    assert closes == sorted(closes)
    assert len(set(closes)) == len(closes)
    symbol = chart.symbol or ""
    c.wait(lambda: c.engine.risk.mid(symbol)[0] is not None, 10, "a mid")
    c.run(c.engine.commands.submit_order(symbol, Side.BUY, OrderType.MARKET, 0.02))
    c.wait(lambda: len(chart.fills.data) > 0, 5, "a fill marker")
    assert chart.fills.data["data"][-1] == "manual buy"


def test_gauges_say_no_model_plainly_without_one(cockpit: Cockpit) -> None:
    c = cockpit
    dials = c.window.panels.gauges.dials
    c.wait(lambda: all("unavailable" in d.reason for d in dials.values()), 10, "the MCE's reason")
    assert all(d.skew is None for d in dials.values())


@pytest.mark.slow
def test_gauges_show_skew_and_pressure_with_the_trained_model(
    qapp: Any, qloop: Any, tmp_path: Path, cerebellum_binary: Path
) -> None:
    import shutil

    shutil.copytree(REPO / "models/mce", tmp_path / "models/mce")
    c = open_cockpit(qapp, tmp_path, cerebellum_binary, qloop,
                     signals={"influence": {"enabled": False}})  # fmt: skip
    try:
        c.window.docks["mce"].raise_()
        dials = c.window.panels.gauges.dials
        c.wait(lambda: all(d.skew is not None for d in dials.values()), 30, "MCE readings")
        for d in dials.values():
            assert -1.0 <= (d.skew or 0.0) <= 1.0
            assert 0.0 <= (d.prob or 0.0) <= 1.0
        c.wait(lambda: all(len(d.skews) >= 3 for d in dials.values()), 10, "a history strip")
        c.wait(lambda: all(d.paints > 0 for d in dials.values()), 5, "painted dials")
    finally:
        c.close()
