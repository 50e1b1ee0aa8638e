"""AgentState: fills are the only thing that move holdings; partial fills and odd prices."""

from __future__ import annotations

import json

import pytest

from engine.agents.state import AgentState
from engine.model.enums import Side


def _state() -> AgentState:
    return AgentState("a", "BTC/USDT", capital=10_000.0, cash=10_000.0)


def test_partial_entry_fills_average_their_prices_and_pay_their_fees() -> None:
    st = _state()
    st.pending_width = 0.02
    assert st.apply_fill(Side.BUY, 0.4, 100.0, 0.02, ts=1) is None
    assert st.apply_fill(Side.BUY, 0.6, 105.0, 0.03, ts=2) is None
    assert st.qty == pytest.approx(1.0)
    assert st.entry_price == pytest.approx(103.0)
    assert st.entry_ts == 1
    assert st.entry_width == pytest.approx(0.02)
    assert st.cash == pytest.approx(10_000.0 - 40.0 - 63.0 - 0.05)
    assert st.fees == pytest.approx(0.05)


def test_a_fill_away_from_the_decision_price_is_booked_at_the_fill_price() -> None:
    st = _state()
    st.apply_fill(Side.BUY, 1.0, 101.7, 0.0, ts=1)  # decided at 100.0, filled at 101.7
    assert st.entry_price == pytest.approx(101.7)
    st.pending_reason = "take_profit"
    trade = st.apply_fill(Side.SELL, 1.0, 99.2, 0.0, ts=2)  # decided at 104, filled lower
    assert trade is not None
    assert trade.exit_price == pytest.approx(99.2)
    assert trade.pnl == pytest.approx(-2.5)
    assert trade.exit_reason == "take_profit"


def test_partial_exits_make_one_trade_with_their_vwap_and_all_fees() -> None:
    st = _state()
    st.apply_fill(Side.BUY, 2.0, 100.0, 0.1, ts=1)
    assert st.apply_fill(Side.SELL, 0.5, 110.0, 0.05, ts=2) is None
    assert st.qty == pytest.approx(1.5)
    trade = st.apply_fill(Side.SELL, 1.5, 106.0, 0.15, ts=3)
    assert trade is not None
    assert st.flat
    assert trade.qty == pytest.approx(2.0)
    assert trade.exit_price == pytest.approx((0.5 * 110 + 1.5 * 106) / 2.0)
    assert trade.fees == pytest.approx(0.3)
    assert trade.pnl == pytest.approx(0.5 * 10 + 1.5 * 6 - 0.3)
    assert st.realized_pnl == pytest.approx(trade.pnl)
    assert st.cash == pytest.approx(10_000.0 + trade.pnl)
    assert (st.n_trades, st.n_wins) == (1, 1)


def test_equity_is_cash_plus_the_position_at_mark() -> None:
    st = _state()
    st.apply_fill(Side.BUY, 2.0, 100.0, 1.0, ts=1)
    assert st.equity(110.0) == pytest.approx(10_000.0 - 1.0 + 20.0)
    assert st.unrealized_pnl(110.0) == pytest.approx(20.0)


def test_the_state_survives_a_json_round_trip() -> None:
    st = _state()
    st.weights, st.specialist_positions = [0.7, 0.3], [1, 0]
    st.apply_fill(Side.BUY, 1.0, 100.0, 0.1, ts=1)
    st.apply_fill(Side.SELL, 1.0, 101.0, 0.1, ts=2)
    st.apply_fill(Side.BUY, 0.5, 102.0, 0.05, ts=3)
    st.pending_order = "A-1"
    restored = AgentState.from_json(json.loads(json.dumps(st.to_json())))
    assert restored.to_json() == st.to_json()
    assert restored.trades[0].pnl == pytest.approx(0.8)
    assert restored.qty == pytest.approx(0.5)


def test_reconciling_books_the_difference_as_one_fill() -> None:
    st = _state()
    st.apply_fill(Side.BUY, 1.0, 100.0, 0.0, ts=1)
    trade = st.reconcile(0.0, 95.0, ts=2)
    assert trade is not None
    assert trade.exit_reason == "reconciled with the venue"
    assert st.flat
    assert st.cash == pytest.approx(10_000.0 - 5.0)
