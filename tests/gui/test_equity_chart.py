"""The agent's equity chart marks every round trip's entry and exit, and the entry of the
position still open (an agent holding its first position showed no marker at all)."""

from __future__ import annotations

import numpy as np

from cockpit.charts.equity_chart import EquityChart
from engine.agents.state import TradeRecord

S = 1_000_000_000


def _trip(entry_s: int, exit_s: int) -> TradeRecord:
    return TradeRecord(
        entry_ts=entry_s * S, exit_ts=exit_s * S, qty=1.0, entry_price=100.0,
        exit_price=101.0, pnl=0.9, fees=0.1, exit_reason="take profit",
    )  # fmt: skip


def _xy(item: object) -> tuple[list[float], list[float]]:
    x, y = item.getData()  # type: ignore[attr-defined]
    return list(map(float, x)), list(map(float, y))


def test_an_open_position_s_entry_is_marked_with_the_round_trips(qapp: object) -> None:
    chart = EquityChart()
    samples = [(t * S, 10_000.0 + t) for t in range(0, 401, 50)]
    chart.set_data(samples, [_trip(100, 200)], open_entry_ns=325 * S)
    entry_x, entry_y = _xy(chart.entries)
    assert entry_x == [100.0, 325.0]
    assert np.allclose(entry_y, [10_100.0, 10_325.0])  # on the curve, interpolated
    assert _xy(chart.exits)[0] == [200.0]
    assert chart.legend.isVisible()


def test_a_flat_agent_has_only_its_round_trips_marked(qapp: object) -> None:
    chart = EquityChart()
    chart.set_data([(0, 10_000.0), (400 * S, 10_010.0)], [_trip(100, 200)])
    assert _xy(chart.entries)[0] == [100.0]
    chart.set_data([(0, 10_000.0)], [], open_entry_ns=0)
    assert _xy(chart.entries)[0] == []
    assert _xy(chart.exits)[0] == []
    assert not chart.legend.isVisible()  # e.g. the forge's holdout curve: no key to nothing
