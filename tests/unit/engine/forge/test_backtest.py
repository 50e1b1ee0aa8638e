"""Vectorized backtester cross-checked against a plain loop."""

from __future__ import annotations

import numpy as np
import pytest

from engine.forge.backtest import CostModel, backtest, positions_from_signals, trade_stats
from engine.forge.labels import ENTRY, EXIT, HOLD

COSTS = CostModel(maker_fee=0.0002, taker_fee=0.0006, slippage=0.0001, maker_fraction=0.25)


def _market(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    open_ = np.concatenate(([100.0], close[:-1])) * np.exp(rng.normal(0, 0.0003, n))
    return open_, close


def _loop_backtest(signals, open_, close, cost):
    n = signals.size
    desired = 0.0
    held_prev = 0.0
    equity = 1.0
    pnl = np.zeros(n)
    trades = 0
    for i in range(n):
        held = desired  # decided at the previous bar's close, executed at this open
        if held and not held_prev:
            trades += 1
        ret = open_[i + 1] / open_[i] - 1 if i + 1 < n else close[i] / open_[i] - 1
        pnl[i] = held * ret - cost * abs(held - held_prev)
        equity *= 1 + pnl[i]
        held_prev = held
        if signals[i] == ENTRY:
            desired = 1.0
        elif signals[i] == EXIT:
            desired = 0.0
    return pnl, equity, trades


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_backtest_vectorized_matches_loop_on_random_signals(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 5000
    open_, close = _market(n, seed)
    signals = rng.choice([HOLD, ENTRY, EXIT], size=n, p=[0.9, 0.05, 0.05])
    got = backtest(signals, open_, close, COSTS, bars_per_year=525_600)
    pnl, equity, trades = _loop_backtest(signals, open_, close, COSTS.per_unit)
    np.testing.assert_allclose(got.pnl, pnl, rtol=0, atol=1e-15)
    assert got.equity[-1] == pytest.approx(equity, rel=1e-12)
    assert got.trades == trades
    assert trades > 10
    assert np.prod(1 + got.trade_returns) == pytest.approx(got.equity[-1], rel=1e-9)


def test_backtest_signal_on_a_bar_does_not_earn_that_bar() -> None:
    open_ = np.array([100.0, 100.0, 110.0, 110.0])
    close = np.array([100.0, 110.0, 110.0, 110.0])
    signals = np.array([HOLD, ENTRY, HOLD, HOLD])  # entry decided at close of the jump bar
    got = backtest(signals, open_, close, CostModel(0, 0, 0), bars_per_year=1)
    assert got.total_return == pytest.approx(0.0)
    assert got.held.tolist() == [0.0, 0.0, 1.0, 1.0]


def test_backtest_costs_reduce_return_by_fee_per_round_trip() -> None:
    open_ = np.full(10, 100.0)
    close = np.full(10, 100.0)
    signals = np.array([ENTRY, HOLD, EXIT] + [HOLD] * 7)
    cost = CostModel(maker_fee=0.0, taker_fee=0.001, slippage=0.0)
    got = backtest(signals, open_, close, cost, bars_per_year=1)
    assert got.total_return == pytest.approx((1 - 0.001) ** 2 - 1)
    assert got.trades == 1
    assert got.holding_bars.tolist() == [2]
    assert got.turnover == pytest.approx(2.0)


def test_backtest_max_drawdown_and_sharpe_of_a_losing_hold() -> None:
    close = np.linspace(100, 80, 50)
    open_ = np.concatenate(([100.0], close[:-1]))
    got = backtest(np.array([ENTRY] + [HOLD] * 49), open_, close, CostModel(0, 0, 0), 525_600)
    assert got.max_drawdown == pytest.approx(1 - 80 / open_[1], rel=1e-6)
    assert got.sharpe < 0
    assert got.sortino < 0


def test_positions_from_signals_hold_keeps_the_last_decision() -> None:
    sig = np.array([HOLD, ENTRY, HOLD, ENTRY, EXIT, HOLD, EXIT, ENTRY])
    assert positions_from_signals(sig).tolist() == [0, 1, 1, 1, 0, 0, 0, 1]


def test_backtest_mismatched_lengths_raise() -> None:
    with pytest.raises(ValueError, match="signals"):
        backtest(np.zeros(3), np.ones(4), np.ones(4), COSTS, 1.0)


def _loop_trades(signals: np.ndarray, open_: np.ndarray, close: np.ndarray, cost: float):
    """Each trade's compounded net return and bars held, walking the loop backtest's PnL."""
    pnl, _equity, _trades = _loop_backtest(signals, open_, close, cost)
    desired, held_prev, trades, current = 0.0, 0.0, [], None
    for i in range(signals.size):
        held = desired
        if held and not held_prev:
            current = [1.0, 0]
        if held or held_prev:  # a trade's exit cost lands on the bar after it
            if current is not None:
                current[0] *= 1 + pnl[i]
                current[1] += int(bool(held))
            if not held and current is not None:
                trades.append((current[0] - 1, current[1]))
                current = None
        held_prev = held
        desired = 1.0 if signals[i] == ENTRY else 0.0 if signals[i] == EXIT else desired
    if current is not None:
        trades.append((current[0] - 1, current[1]))
    return trades


def test_trade_stats_agree_with_the_trades_of_a_loop_backtest() -> None:
    open_, close = _market(3000, 21)
    rng = np.random.default_rng(22)
    signals = rng.choice([HOLD, ENTRY, EXIT], size=3000, p=[0.9, 0.05, 0.05])
    res = backtest(signals, open_, close, COSTS, 525_600)
    stats = trade_stats(res)
    trades = _loop_trades(signals, open_, close, COSTS.per_unit)
    returns = np.array([r for r, _ in trades])
    held = np.array([h for _, h in trades])
    assert stats["trades"] == res.trades == len(trades) > 20
    assert stats["win_rate"] == pytest.approx(np.mean(returns > 0))
    assert stats["avg_win"] == pytest.approx(returns[returns > 0].mean())
    assert stats["avg_loss"] == pytest.approx(-returns[returns <= 0].mean())
    assert stats["payoff_ratio"] == pytest.approx(stats["avg_win"] / stats["avg_loss"])
    assert stats["holding_bars_median"] == pytest.approx(np.median(held))
    assert stats["holding_bars_p90"] == pytest.approx(np.percentile(held, 90))
    assert stats["holding_bars_max"] == int(held.max())


def test_trade_stats_without_trades_or_losses_stay_json_safe() -> None:
    open_, close = _market(200, 23)
    flat = trade_stats(backtest(np.zeros(200, dtype=np.int8), open_, close, COSTS, 525_600))
    assert flat["trades"] == 0
    assert flat["payoff_ratio"] is None
    assert flat["holding_bars_max"] == 0
    rising = np.linspace(100, 120, 200)
    one_win = trade_stats(
        backtest(np.r_[ENTRY, np.zeros(199, np.int8)], rising, rising, CostModel(0, 0, 0), 525_600)
    )
    assert one_win["win_rate"] == 1.0
    assert one_win["payoff_ratio"] is None  # no loss to divide by
