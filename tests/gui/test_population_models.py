"""The population's table models pass Qt's model tester, sort and filter as shown, and the
helpers behind the panels (GP tree, regime periods, lead-lag edges, digits) say what they should."""

from __future__ import annotations

import math
import os
from typing import Any

import pytest
from PySide6.QtCore import Qt

from cockpit.charts.influence_graph import parse_edges
from cockpit.models.agents_model import AgentsModel
from cockpit.models.alerts_model import AlertsModel
from cockpit.models.columns import digits_of
from cockpit.models.detail_models import DecisionsModel, TradesModel
from cockpit.models.filters import FieldFilter
from cockpit.models.forge_models import ForgeTasksModel, GatesModel, SlotsModel, progress_of
from cockpit.models.gp_tree import indented, parse
from cockpit.models.keyed_table import SORT_ROLE
from cockpit.models.regime_series import RegimeSeries
from cockpit.models.risk_models import LimitsModel, RiskEventsModel
from cockpit.models.watchtower_model import WatchtowerModel
from engine.agents.singularity import SlotStatus
from engine.agents.state import TradeRecord
from engine.agents.summary import AgentSummary
from engine.config import RiskConfig
from engine.model.enums import AgentState, ForgeStage, RiskEventKind
from engine.model.events import (
    AgentDecision,
    AgentLifecycle,
    AgentScored,
    Alert,
    ForgeProgress,
    PortfolioState,
    RadarDiagram,
    RadarHistory,
    RiskEvent,
)
from engine.model.positions import Position

NOW = 1_700_000_000_000_000_000


def summary(agent_id: str, symbol: str, position: float = 0.0, **kw: Any) -> AgentSummary:
    base: dict[str, Any] = {
        "agent_id": agent_id, "symbol": symbol, "kinds": ("gp", "lightgbm"), "lifecycle": AgentState.ACTIVE,
        "reason": "", "position": position, "entry_price": 60_000.0 if position else 0.0,
        "entry_ns": NOW - 600_000_000_000 if position else 0, "mark": 60_100.0,
        "cash": 10_000.0, "equity": 10_000.0 + 100 * position, "unrealized_pnl": 100 * position,
        "realized_pnl": -3.5, "fees": 3.5, "trades": 4, "wins": 3, "weights": (0.6, 0.4), "pending_order": None,
        "created_ns": NOW - 3_600_000_000_000, "halted": False,
    }  # fmt: skip
    base.update(kw)
    return AgentSummary(**base)


def agents_model() -> AgentsModel:
    model = AgentsModel(lambda s: (1, 3) if s == "BTC/USDT" else (2, 2), now_ns=lambda: NOW)
    model.update_agents(
        [
            summary("a1", "BTC/USDT", 0.5),
            summary("a2", "ETH/USDT", lifecycle=AgentState.PAUSED, reason="operator"),
            summary("a3", "BTC/USDT", trades=0, wins=0),
        ]
    )
    return model


def test_agents_model_passes_the_model_tester_and_formats_with_the_instrument(
    qtmodeltester: Any,
) -> None:
    model = agents_model()
    qtmodeltester.check(model)
    cols = [c.key for c in model.columns]
    r = model.row_of("a1")
    assert r is not None
    assert model.data(model.index(r, cols.index("entry_price"))) == "60,000.0"  # BTC: 1 decimal
    assert model.data(model.index(r, cols.index("position"))) == "0.500"
    assert model.data(model.index(r, cols.index("state"))) == "long"
    assert model.data(model.index(r, cols.index("weights"))) == "0.60 / 0.40"
    assert model.data(model.index(r, cols.index("trades"))) == "4 (75% won)"
    assert model.data(model.index(r, cols.index("created_ns"))) == "60m"
    paused = model.row("a2")
    assert paused is not None
    assert paused["state"] == "paused"


def test_agents_model_keeps_a_reaped_agent_and_takes_the_watchtowers_figures(
    qtmodeltester: Any,
) -> None:
    model = agents_model()
    figures = {"sharpe": 1.25, "max_drawdown": 0.031, "pnl": 12.0}
    model.on_scored(AgentScored("a1", "BTC/USDT", NOW, "keep", "fine", figures))
    row = model.row("a1")
    assert row is not None
    assert (row["sharpe"], row["drawdown"], row["verdict"]) == (1.25, 0.031, "keep")
    model.on_lifecycle(AgentLifecycle("a3", "BTC/USDT", AgentState.REAPED, NOW, "operator"))
    model.update_agents([summary("a1", "BTC/USDT", 0.5)])  # a2 is gone too, a3 was reaped
    assert model.rowCount() == 3
    assert [model.row(k)["state"] for k in ("a2", "a3")] == ["reaped", "reaped"]  # type: ignore[index]
    qtmodeltester.check(model)


def test_agents_filter_sorts_numbers_as_numbers_and_filters_by_symbol_and_state(
    qtmodeltester: Any,
) -> None:
    model = agents_model()
    model.update_agents(
        [summary("a1", "BTC/USDT", 0.5, realized_pnl=-20.0),
         summary("a2", "ETH/USDT", realized_pnl=5.0),
         summary("a3", "BTC/USDT", realized_pnl=100.0)]
    )  # fmt: skip
    proxy = FieldFilter(model)
    qtmodeltester.check(proxy)
    col = [c.key for c in model.columns].index("realized_pnl")
    proxy.sort(col, Qt.SortOrder.DescendingOrder)
    assert [proxy.key_at(r) for r in range(3)] == ["a3", "a2", "a1"]
    assert proxy.index(0, col).data(SORT_ROLE) == 100.0
    proxy.set_field("symbol", "BTC/USDT")
    assert sorted(proxy.key_at(r) for r in range(proxy.rowCount())) == ["a1", "a3"]
    proxy.set_field("state", "long")
    assert [proxy.key_at(r) for r in range(proxy.rowCount())] == ["a1"]
    proxy.set_field("state", None)
    proxy.set_field("symbol", None)
    assert proxy.rowCount() == 3


def test_agents_model_keeps_equity_samples_for_the_sparkline() -> None:
    model = agents_model()
    model.seed_equity("a1", [(NOW - 600_000_000_000, 9_900.0), (NOW - 300_000_000_000, 9_950.0)])
    samples = model.equity_samples("a1")
    assert [v for _t, v in samples] == [9_900.0, 9_950.0, 10_050.0]
    model.update_agents([summary("a1", "BTC/USDT", 0.5, equity=10_080.0)])
    values = model.row("a1")["equity"]  # type: ignore[index]
    assert values[:2] == (9_900.0, 9_950.0)
    assert values[-1] == 10_080.0  # the newest sample follows the mark


def test_detail_models_pass_the_model_tester(qtmodeltester: Any) -> None:
    trades = TradesModel()
    trades.set_trades(
        (TradeRecord(NOW, NOW + 300_000_000_000, 0.1, 60_000.0, 60_300.0, 25.0, 5.0, "take_profit"),),
        1, 3,
    )  # fmt: skip
    qtmodeltester.check(trades)
    assert trades.data(trades.index(0, 7)) == "5"  # held 5 bars
    decisions = DecisionsModel()
    detail = {"votes": ["ENTRY", "HOLD"], "kinds": ["gp", "xgboost"], "weights": [0.7, 0.3],
              "shares": [0.3, 0.7, 0.0], "sizing": {"kelly": 0.2, "fraction": 0.05,
              "regime": 0.5, "mce": 1.0, "influence": 0.8}}  # fmt: skip
    decisions.set_journal(({"ts": NOW, "action": "wait", "reason": "no entry vote", "qty": 0.0,
                            "price": 60_000.0, "detail": {}},))  # fmt: skip
    decisions.add_live(AgentDecision("a1", "BTC/USDT", NOW + 60, "enter", "entry vote", 0.1,
                                     60_000.0, "c1", detail))  # fmt: skip
    decisions.add_live(AgentDecision("a1", "BTC/USDT", NOW, "wait", "no entry vote"))  # the same
    qtmodeltester.check(decisions)
    assert decisions.rowCount() == 2
    row = decisions.row(NOW + 60)
    assert row is not None
    assert row["votes"] == "gp:ENTRY, xgboost:HOLD"
    assert (row["regime"], row["mce"], row["influence"]) == (0.5, 1.0, 0.8)


def _progress(
    task: str, stage: ForgeStage, gen: int = 0, gens: int = 0, **kw: Any
) -> ForgeProgress:
    return ForgeProgress(task, "BTC/USDT", stage, NOW, gen, gens, **kw)


def test_forge_models_pass_the_model_tester_and_follow_a_task(qtmodeltester: Any) -> None:
    tasks = ForgeTasksModel()
    tasks.on_progress(_progress("t1", ForgeStage.QUEUED))
    for g in (1, 2):
        tasks.on_progress(_progress("t1", ForgeStage.EVOLVING, g, 4, best_fitness=0.1 * g,
                                    mean_fitness=0.05 * g, eta_s=10.0))  # fmt: skip
    assert tasks.is_active("t1")
    assert tasks.row("t1")["progress"] == pytest.approx(0.2 + 0.5 * 2 / 4)  # type: ignore[index]
    tasks.on_progress(_progress("t1", ForgeStage.REJECTED, message="no edge"))
    assert not tasks.is_active("t1")
    assert tasks.fitness["t1"] == [(1, 0.1, 0.05), (2, 0.2, 0.1)]
    tasks.on_progress(ForgeProgress("history", "*", ForgeStage.LOADING_DATA, NOW, 30, 120))
    assert tasks.row("history")["progress"] == pytest.approx(0.25)  # type: ignore[index]
    tasks.on_runs([{"task_id": "old", "symbol": "SOL/USDT", "status": "REGISTERED",
                    "agent_id": "SOLUSDT-gp-old", "ts_started": NOW, "ts_finished": NOW + 10**10,
                    "report": {"reason": "passed", "gp_history": [[1, 0.3, 0.1]]}}])  # fmt: skip
    assert tasks.row("old")["stage"] == "DONE"  # type: ignore[index]
    assert tasks.fitness["old"] == [(1, 0.3, 0.1)]
    qtmodeltester.check(tasks)
    slots = SlotsModel()
    slots.update_slots([SlotStatus("BTC/USDT#0", "BTC/USDT", task_id="t2", attempts=2,
                                   last_outcome="rejected", last_reason="no edge",
                                   retry_at_ns=5_000_000_000)], now_mono_ns=0)  # fmt: skip
    qtmodeltester.check(slots)
    assert slots.row("BTC/USDT#0")["retry_in"] == 5.0  # type: ignore[index]
    gates = GatesModel()
    gates.set_gates([{"name": "min_trades", "value": 12.0, "threshold": 30.0,
                      "higher_is_better": True, "passed": False, "margin": -18.0}])  # fmt: skip
    qtmodeltester.check(gates)
    assert gates.data(gates.index(0, 2)) == ">= 30"
    assert gates.data(gates.index(0, 3)) == "FAIL"


def test_progress_of_history_and_of_a_final_stage() -> None:
    assert progress_of(ForgeProgress("history", "*", ForgeStage.DONE, NOW)) == 1.0
    assert progress_of(_progress("t", ForgeStage.FAILED)) == 1.0
    assert progress_of(_progress("t", ForgeStage.GAUNTLET)) == pytest.approx(0.9)


def test_alerts_model_counts_open_alerts_and_their_worst_severity(qtmodeltester: Any) -> None:
    model = AlertsModel()
    seen: list[tuple[int, str]] = []
    model.sigCountChanged.connect(lambda n, worst: seen.append((n, worst)))
    model.on_alert(Alert(1, "k1", "info", "forge", "rejected", NOW, NOW))
    model.on_alert(Alert(2, "k2", "critical", "risk", "kill switch", NOW, NOW))
    model.on_alert(Alert(2, "k2", "critical", "risk", "kill switch", NOW, NOW, 1, True))
    qtmodeltester.check(model)
    assert seen == [(1, "info"), (2, "critical"), (1, "info")]
    assert model.pending() == [1]


def test_watchtower_and_risk_models_pass_the_model_tester(qtmodeltester: Any) -> None:
    wt = WatchtowerModel()
    wt.on_log([{"ts": NOW, "agent_id": "a1", "symbol": "BTC/USDT", "event": "replaced",
                "reason": "replaced by a9", "figures": {"agent_id": "a9"}},
               {"ts": NOW - 1, "agent_id": "a1", "symbol": "BTC/USDT", "event": "reaped",
                "reason": "drawdown", "figures": {}}])  # fmt: skip
    wt.on_scored(AgentScored("a2", "ETH/USDT", NOW, "keep", "", {"sharpe": math.nan,
                                                               "max_drawdown": 0.02}))  # fmt: skip
    wt.on_lifecycle(AgentLifecycle("a1", "BTC/USDT", AgentState.REAPED, NOW - 1, "drawdown"))
    qtmodeltester.check(wt)
    assert wt.rowCount() == 3  # the live reap and the journal's line are one row
    assert [r["event"] for r in wt.rows()][:2] == ["reaped", "replaced"]
    limits = LimitsModel(RiskConfig())
    limits.on_portfolio(PortfolioState(NOW, 99_000.0, 0.0, -1_000.0, 30_000.0, 0.01, 100_000.0,
                                       -1_000.0, (Position("a1", "BTC/USDT", 0.5, 60_000.0),),
                                       {"BTC/USDT": 60_000.0}, stale_symbols=("BTC/USDT",)))  # fmt: skip
    limits.on_strategies([{"strategy_id": "a1", "day_pnl": -500.0, "daily_loss_limit": 2_500.0,
                           "position_notional": 30_000.0, "max_position_notional": 25_000.0,
                           "disabled": ""}])  # fmt: skip
    qtmodeltester.check(limits)
    assert limits.row("gross exposure")["usage"] == pytest.approx(0.2)  # type: ignore[index]
    assert limits.row("daily loss (NAV breaker)")["usage"] == pytest.approx(0.2)  # type: ignore[index]
    assert limits.row("BTC/USDT net position")["note"].startswith("stale")  # type: ignore[index]
    assert limits.row("a1 position")["usage"] == pytest.approx(1.2)  # type: ignore[index]
    events = RiskEventsModel()
    events.on_event(RiskEvent(RiskEventKind.KILL_SWITCH, "operator", NOW))
    qtmodeltester.check(events)


def test_gp_expression_prints_as_an_indented_tree() -> None:
    expr = "if_gt(rsi_14, 0.5, sub(ema_12, ema_26), neg(0.01))"
    root = parse(expr)
    assert (root.label, len(root.children), root.size(), root.depth()) == ("if_gt", 4, 8, 3)
    assert indented(expr).splitlines() == [
        "if_gt", "  rsi_14", "  0.5", "  sub", "    ema_12", "    ema_26", "  neg", "    0.01",
    ]  # fmt: skip
    assert indented("add(x, ") == "add(x, "  # not a tree: shown as it is
    with pytest.raises(ValueError, match="expected ',' or '\\)'"):
        parse("add(x y)")


def test_regime_series_periods_and_onsets() -> None:
    series = RegimeSeries()
    changes: list[int] = []
    series.sigChanged.connect(lambda: changes.append(1))
    minute = 60_000_000_000
    series.set_history(RadarHistory(NOW, tuple(NOW + i * minute for i in range(6)),
                                    (0.0, 3.5, 2.0, 1.0, 0.5, 4.0),
                                    (False, True, True, False, False, True)))  # fmt: skip
    series.add(RadarDiagram(NOW, NOW + 6 * minute, {"h0": ((0.0, 1.0),)}, 1.2, False))
    t0 = NOW / 1e9 + 60
    assert series.periods() == [(t0, t0 + 120), (t0 + 240, t0 + 300)]
    times, scores = series.onsets()
    assert list(times) == [t0 + 60, t0 + 300]
    assert list(scores) == [3.5, 4.0]
    assert len(series) == 7
    assert len(changes) == 2


def test_lead_lag_edges_parse_and_digits_follow_the_tick() -> None:
    edges = parse_edges({"BTC/USDT>ETH/USDT": 0.6, "BTC/USDT>ETH/USDT.lag": 1.0,
                         "ETH/USDT>BTC/USDT": -0.1, "ETH/USDT>BTC/USDT.lag": 3.0})  # fmt: skip
    assert edges == {("BTC/USDT", "ETH/USDT"): (0.6, 1), ("ETH/USDT", "BTC/USDT"): (-0.1, 3)}
    assert [digits_of(x) for x in (0.01, 0.5, 1.0, 0.001, 0.1)] == [2, 1, 0, 3, 1]
    assert digits_of(None) == 2


def test_bench_full_flag_reaches_the_cockpit_benchmark(monkeypatch: pytest.MonkeyPatch) -> None:
    from cockpit.bench import FULL_ENV
    from cockpit.cli import _take_bench_flags

    monkeypatch.setenv(FULL_ENV, "0")  # restored after the test
    assert _take_bench_flags(["bench", "link", "--quick"]) == ["bench", "link", "--quick"]
    assert _take_bench_flags(["bench", "cockpit", "--quick"]) == ["bench", "cockpit", "--quick"]
    assert os.environ[FULL_ENV] == "0"
    args = ["--config", "x.toml", "bench", "cockpit", "--full", "--quick"]
    assert _take_bench_flags(args) == ["--config", "x.toml", "bench", "cockpit", "--quick"]
    assert os.environ[FULL_ENV] == "1"


def test_blotter_and_positions_models_pass_the_model_tester(qtmodeltester: Any) -> None:
    from cockpit.models.trading_models import FillsModel, OrdersModel, PositionsModel
    from engine.model.enums import Liquidity, OrderStatus, OrderType, Side
    from engine.model.events import Fill, OrderUpdate

    orders = OrdersModel()
    update = OrderUpdate(1, "c1", "v1", "manual", "BTC/USDT", Side.BUY, OrderType.LIMIT,
                         OrderStatus.NEW, 59_000.0, 0.01, 0.0, 0.0, 0.01, NOW, NOW)  # fmt: skip
    orders.on_update(update)
    qtmodeltester.check(orders)
    orders.on_update(
        OrderUpdate(2, "c1", "v1", "manual", "BTC/USDT", Side.BUY, OrderType.LIMIT,
                    OrderStatus.FILLED, 59_000.0, 0.01, 0.01, 59_000.0, 0.0, NOW, NOW)
    )  # fmt: skip
    assert orders.rowCount() == 0  # a closed order leaves
    fills = FillsModel(max_rows=2)
    for i in range(3):
        fills.on_fill(Fill(f"e{i}", "c1", "a1", "BTC/USDT", Side.SELL, 0.01, 59_000.0 + i, 0.3,
                           "USDT", Liquidity.TAKER, NOW + i, NOW + i))  # fmt: skip
    qtmodeltester.check(fills)
    assert fills.keys() == ["e1", "e2"]  # bounded, oldest out
    positions = PositionsModel()
    positions.set_position(Position("a1", "BTC/USDT", 0.5, 59_000.0, 10.0, 1.0), 59_100.0)
    qtmodeltester.check(positions)
    assert positions.row(("a1", "BTC/USDT"))["upnl"] == pytest.approx(50.0)  # type: ignore[index]


def test_an_empty_watchtower_log_says_when_its_first_lines_come(qapp: Any) -> None:
    from cockpit.views.watchtower_view import WatchtowerView
    from engine.config import WatchtowerConfig

    wt = WatchtowerModel()
    view = WatchtowerView(wt, WatchtowerConfig(interval_minutes=2.5, min_trades=7))
    assert not view.empty_hint.isHidden()
    assert "every 2.5 min" in view.empty_hint.text()
    assert "7 round trips" in view.empty_hint.text()
    wt.on_scored(AgentScored("a2", "ETH/USDT", NOW, "keep", "", {"max_drawdown": 0.02}))
    assert view.empty_hint.isHidden()
    assert view.count.text() == "1 line"
    off = WatchtowerView(WatchtowerModel(), WatchtowerConfig(enabled=False))
    assert "off" in off.empty_hint.text()
