"""Watchtower scores: fills replayed into round trips, Sharpe and drawdown, and the verdict."""

from __future__ import annotations

import math
from typing import Any

import pytest

from engine.agents.scoring import (
    KEEP,
    REAP,
    UNDECIDED,
    max_drawdown,
    replay_fills,
    score_agent,
    sharpe_from_equity,
)
from engine.config import WatchtowerConfig

CFG = WatchtowerConfig(min_trades=2, min_pnl_fraction=-0.01, max_drawdown=0.05, min_hit_rate=0.3)


def fill(side: str, qty: float, price: float, fee: float = 0.0) -> dict[str, Any]:
    return {"side": side, "qty": qty, "price": price, "fee": fee}


def test_fills_replay_into_round_trips_with_their_fees() -> None:
    book = replay_fills(
        [
            fill("BUY", 1.0, 100.0, 0.1),
            fill("SELL", 1.0, 110.0, 0.1),  # +10 - 0.2: a win
            fill("BUY", 2.0, 100.0, 0.1),
            fill("SELL", 1.0, 99.0, 0.05),  # partial exit: the trip goes on
            fill("SELL", 1.0, 99.5, 0.05),  # -1.5 - 0.2: a loss
        ]
    )
    assert (book.trades, book.wins) == (2, 1)
    assert book.position == 0.0
    assert book.fees == pytest.approx(0.4)
    assert book.realized_pnl == pytest.approx(10.0 - 1.5 - 0.4)


def test_an_open_position_is_kept_with_its_average_price() -> None:
    book = replay_fills([fill("BUY", 1.0, 100.0), fill("BUY", 1.0, 104.0)])
    assert book.position == pytest.approx(2.0)
    assert book.avg_price == pytest.approx(102.0)
    assert book.trades == 0


def test_sharpe_and_drawdown_of_equity_samples() -> None:
    assert math.isnan(sharpe_from_equity([100.0, 101.0, 102.0], 5.0))
    rising = [100.0 * (1.001**i) * (1 + 0.0005 * (-1) ** i) for i in range(50)]
    assert sharpe_from_equity(rising, 5.0) > 0
    assert sharpe_from_equity(list(reversed(rising)), 5.0) < 0
    assert max_drawdown([100.0, 120.0, 90.0, 130.0]) == pytest.approx(0.25)


def _score(
    fills: list[dict[str, Any]], equity: list[float] | None = None, mark: float | None = None
) -> Any:
    return score_agent(
        agent_id="a",
        capital=10_000.0,
        fills=fills,
        equity_history=equity or [],
        mark=mark,
        now=1,
        config=CFG,
    )


def test_no_verdict_before_enough_round_trips() -> None:
    score = _score([fill("BUY", 10.0, 100.0), fill("SELL", 10.0, 50.0)])
    assert score.verdict == UNDECIDED
    assert "1 of 2" in score.reason


def test_a_loser_is_reaped_with_every_failed_threshold_named() -> None:
    trips = [fill("BUY", 10.0, 100.0, 1.0), fill("SELL", 10.0, 95.0, 1.0)] * 3
    score = _score(trips)
    assert score.verdict == REAP
    assert score.pnl == pytest.approx(-156.0)
    assert "PnL" in score.reason
    assert "hit rate 0%" in score.reason


def test_an_open_loss_counts_at_the_mark_and_drawdown_can_reap() -> None:
    trips = [fill("BUY", 1.0, 100.0), fill("SELL", 1.0, 101.0)] * 2 + [fill("BUY", 50.0, 100.0)]
    score = _score(trips, equity=[10_000.0, 10_002.0], mark=89.0)
    assert score.position == pytest.approx(50.0)
    assert score.equity == pytest.approx(10_002.0 - 550.0)
    assert score.verdict == REAP
    assert "drawdown" in score.reason


def test_a_winner_is_kept() -> None:
    trips = [fill("BUY", 1.0, 100.0, 0.01), fill("SELL", 1.0, 103.0, 0.01)] * 3
    score = _score(trips, equity=[10_000.0, 10_003.0, 10_006.0])
    assert score.verdict == KEEP
    assert score.hit_rate == 1.0
