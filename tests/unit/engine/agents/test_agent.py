"""An agent's decisions on real feature windows, with specialists whose votes are known.

Constant GP trees (``signal(true, false)`` always votes ENTRY, ``signal(false, true)``
EXIT, ``signal(false, false)`` HOLD) make each vote certain, so the tests check
the ensemble rule, the Hedge weights, the sizing and the state machinery.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.agents.agent import Agent, Market
from engine.agents.config import AgentsConfig
from engine.agents.feature_hub import FeatureHub, FeatureWindow
from engine.agents.signal_board import SignalSnapshot
from engine.agents.state import AgentState
from engine.agents.summary import summarize
from engine.features.config import FeaturesConfig, ParticleFilterConfig
from engine.features.factory import FeatureFactory
from engine.forge.registry import AgentBundle
from engine.forge.specialists import GPSpecialist, RobustScaler
from engine.model.enums import Liquidity, OrderStatus, OrderType, Side
from engine.model.events import Fill, OrderUpdate
from engine.model.market import Bar

ENTRY_TREE, EXIT_TREE, HOLD_TREE = (
    "signal(true, false)",
    "signal(false, true)",
    "signal(false, false)",
)
SYMBOL = "BTC/USDT"
T0 = 1_700_000_040 * 1_000_000_000 // 60_000_000_000 * 60_000_000_000
MINUTE = 60_000_000_000
FEATURES = FeaturesConfig(
    timeframes=("1m",),
    return_lags=(1,),
    volatility_window=3,
    atr_period=2,
    rsi_period=2,
    macd_fast=2,
    macd_slow=3,
    macd_signal=2,
    bollinger_window=3,
    volume_window=3,
    particle_filter=ParticleFilterConfig(enabled=False),
)
MARKET = Market(
    lot_size=0.0001, min_qty=0.0001, max_position_notional=1e9, regime_thresholds=(1.5, 3.0)
)
CONFIG = AgentsConfig(capital_per_agent=10_000.0)


def _bars(n: int, start: int = 0, seed: int = 3, drift: float = 0.0) -> list[Bar]:
    rng = np.random.default_rng(seed)
    price = 60_000.0
    out = []
    for i in range(start, start + n):
        close = price * float(np.exp(drift + rng.normal(0, 0.001)))
        high, low = max(price, close) * 1.0005, min(price, close) * 0.9995
        out.append(Bar(SYMBOL, "1m", T0 + i * MINUTE, price, high, low, close, 1.0 + i % 5))
        price = close
    return out


def _window(n: int = 300) -> FeatureWindow:
    factory = FeatureFactory(FEATURES)
    window, _ = FeatureHub(300).window_for(
        SYMBOL, FEATURES.model_dump(mode="json"), factory.feature_set_id
    )
    for bar in _bars(n):
        assert window.update(bar)
    return window


def _bundle(trees: list[str], trade_stats: dict[str, Any] | None = None) -> AgentBundle:
    factory = FeatureFactory(FEATURES)
    names = (factory.feature_names[0],)
    specialists = tuple(GPSpecialist(t, names, RobustScaler((0.0,), (1.0,))) for t in trees)
    metadata = {
        "symbol": SYMBOL,
        "timeframe": "1m",
        "feature_set_id": factory.feature_set_id,
        "features_config": FEATURES.model_dump(mode="json"),
        "labels": {"profit_take": 2.0, "stop_loss": 2.0, "horizon_bars": 16, "vol_span": 20},
        "trade_stats": trade_stats or {"win_rate": 0.6, "payoff_ratio": 1.5},
    }
    return AgentBundle("BTCUSDT-test", Path("."), metadata, specialists, names)


def _agent(trees: list[str], **kw: Any) -> Agent:
    return Agent(_bundle(trees, kw.pop("trade_stats", None)), _window(), CONFIG, **kw)


def _decide(agent: Agent, weights: list[float] | None = None) -> Any:
    if weights is not None:
        agent.state.weights = weights
    return agent.decide(agent.infer(), SignalSnapshot(), MARKET)


def _hold(agent: Agent, qty: float, price: float) -> None:
    agent.state.apply_fill(Side.BUY, qty, price, 0.0, agent.window.bar_close_ts)


def test_specialists_vote_on_the_latest_bar_once_enough_rows_are_finite() -> None:
    agent = _agent([ENTRY_TREE, EXIT_TREE, HOLD_TREE])
    assert agent.ready() is None
    assert agent.infer().votes == (1, 2, 0)
    young = Agent(_bundle([ENTRY_TREE]), _window(100), CONFIG)
    assert young.ready() is not None
    assert "warming up" in (young.ready() or "")


def test_a_weighted_exit_majority_exits_though_exit_is_not_the_top_vote_by_count() -> None:
    agent = _agent([EXIT_TREE, HOLD_TREE, HOLD_TREE])
    _hold(agent, 0.1, 60_000.0)
    plan = _decide(agent, [0.6, 0.2, 0.2])
    assert plan.action == "exit"
    assert plan.reason == "exit_vote"
    assert plan.side is Side.SELL
    assert plan.qty == pytest.approx(0.1)
    assert plan.detail["votes"] == ["EXIT", "HOLD", "HOLD"]
    equal = _agent([EXIT_TREE, HOLD_TREE, HOLD_TREE])
    _hold(equal, 0.1, 60_000.0)
    assert _decide(equal).action == "hold"


def test_weights_change_the_outcome_of_a_vote() -> None:
    equal = _agent([ENTRY_TREE, HOLD_TREE, HOLD_TREE])
    assert _decide(equal).action == "wait"
    trusted = _agent([ENTRY_TREE, HOLD_TREE, HOLD_TREE])
    plan = _decide(trusted, [0.6, 0.2, 0.2])
    assert plan.action == "enter"
    assert plan.side is Side.BUY


def test_an_entry_of_trees_alone_is_sized_by_kelly_on_the_gauntlets_trade_stats() -> None:
    agent = _agent([ENTRY_TREE], trade_stats={"win_rate": 0.6, "payoff_ratio": 1.5})
    plan = _decide(agent)
    sizing = plan.detail["sizing"]
    kelly = 0.6 - 0.4 / 1.5
    assert sizing["kelly"] == pytest.approx(kelly)
    notional = 10_000.0 * CONFIG.sizing.kelly_fraction * kelly
    close = agent.window.closes[-1]
    assert plan.qty == pytest.approx(np.floor(notional / close / 1e-4) * 1e-4)
    assert plan.width > 0


def test_no_edge_in_the_trade_stats_means_no_entry() -> None:
    agent = _agent([ENTRY_TREE], trade_stats={"win_rate": 0.3, "payoff_ratio": 1.0})
    plan = _decide(agent)
    assert plan.action == "wait"
    assert "kelly" in plan.reason


def test_hedge_moves_weight_to_the_specialist_whose_vote_earned() -> None:
    agent = _agent([ENTRY_TREE, EXIT_TREE])
    _decide(agent)  # the ENTRY specialist is now long by its own vote, the other flat
    assert agent.state.specialist_positions == [1, 0]
    rising = _bars(1, start=300, drift=0.004)[0]
    rising = Bar(SYMBOL, "1m", rising.ts_open, agent.window.closes[-1], rising.high * 1.01,
                 rising.low, agent.window.closes[-1] * 1.003, 1.0)  # fmt: skip
    assert agent.window.update(rising)
    _decide(agent)
    long_w, flat_w = agent.state.weights
    assert long_w > flat_w


def test_an_order_in_flight_holds_every_new_decision() -> None:
    agent = _agent([ENTRY_TREE], trade_stats={"win_rate": 0.6, "payoff_ratio": 1.5})
    plan = _decide(agent)
    agent.order_sent("A-1", plan)
    again = _decide(agent)
    assert again.action == "skip"
    assert "A-1" in again.reason


def _report(
    cid: str, status: OrderStatus, qty: float, price: float, exec_id: str | None
) -> tuple[OrderUpdate, Fill | None]:
    update = OrderUpdate(
        seq=1, client_order_id=cid, venue_order_id="V", strategy_id="BTCUSDT-test",
        symbol=SYMBOL, side=Side.BUY, order_type=OrderType.MARKET, status=status,
        price=None, qty=0.02, cum_qty=qty, avg_price=price, leaves_qty=0.02 - qty,
        ts_event=T0, ts_init=T0, last_qty=qty if exec_id else None,
        last_price=price if exec_id else None, fee=0.5 if exec_id else None,
        fee_asset="USDT" if exec_id else None, liquidity=Liquidity.TAKER if exec_id else None,
        exec_id=exec_id,
    )  # fmt: skip
    return update, Fill.from_update(update) if exec_id else None


def test_holdings_move_only_on_fills_and_a_partial_fill_keeps_the_order_in_flight() -> None:
    agent = _agent([ENTRY_TREE], trade_stats={"win_rate": 0.6, "payoff_ratio": 1.5})
    plan = _decide(agent)
    agent.order_sent("A-1", plan)
    assert agent.state.flat  # sending moved nothing
    agent.on_report(*_report("A-1", OrderStatus.NEW, 0.0, 0.0, None))
    assert agent.state.flat
    agent.on_report(*_report("A-1", OrderStatus.PARTIALLY_FILLED, 0.01, 60_123.0, "E1"))
    assert agent.state.qty == pytest.approx(0.01)
    assert agent.state.entry_price == pytest.approx(60_123.0)  # the fill's, not the decision's
    assert agent.state.pending_order == "A-1"
    assert agent.state.entry_width == pytest.approx(plan.width)
    agent.on_report(*_report("A-1", OrderStatus.CANCELED, 0.01, 60_123.0, None))
    assert agent.state.pending_order is None
    assert agent.state.qty == pytest.approx(0.01)
    assert agent.state.cash == pytest.approx(10_000.0 - 0.01 * 60_123.0 - 0.5)


def test_state_restored_after_a_restart_continues_where_it_stopped() -> None:
    agent = _agent([ENTRY_TREE, EXIT_TREE])
    _decide(agent)
    _hold(agent, 0.05, 61_000.0)
    saved = json.loads(json.dumps(agent.state.to_json()))
    again = Agent(agent.bundle, agent.window, CONFIG, AgentState.from_json(saved))
    assert again.state.weights == agent.state.weights
    assert again.state.specialist_positions == [1, 0]
    assert again.state.qty == pytest.approx(0.05)
    assert again.state.entry_price == pytest.approx(61_000.0)
    assert again.state.bars_seen == agent.state.bars_seen
    assert _decide(again).action in ("hold", "exit")


def test_the_summary_says_when_the_open_position_was_entered_and_zero_when_flat() -> None:
    agent = _agent([HOLD_TREE])
    assert summarize(agent, None, halted=False).entry_ns == 0
    _hold(agent, 0.5, 100.0)
    held = summarize(agent, 101.0, halted=False)
    assert held.entry_ns == agent.window.bar_close_ts > 0
    agent.state.apply_fill(Side.SELL, 0.5, 101.0, 0.0, agent.window.bar_close_ts + 60_000_000_000)
    assert summarize(agent, 101.0, halted=False).entry_ns == 0
