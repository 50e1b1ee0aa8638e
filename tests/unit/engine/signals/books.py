"""Hand-built books and a small book stream for the signal tests (no simulator)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from engine.model.enums import Side
from engine.model.market import BookSnapshot, Trade

TICK = 0.01


def book(
    best_bid: float,
    best_ask: float,
    bid_sizes: list[float],
    ask_sizes: list[float],
    ts: int = 0,
    symbol: str = "BTC/USDT",
    stale: bool = False,
) -> BookSnapshot:
    """A snapshot with levels one tick apart from the given best prices."""
    bids = [[best_bid - i * TICK, q] for i, q in enumerate(bid_sizes)]
    asks = [[best_ask + i * TICK, q] for i, q in enumerate(ask_sizes)]
    return BookSnapshot(symbol, ts, ts, np.array(bids), np.array(asks), stale=stale)


def imbalance_stream(
    n: int, seed: int = 0, symbol: str = "BTC/USDT", step_ms: int = 100
) -> Iterator[BookSnapshot | Trade]:
    """Snapshots whose best-level imbalance leans the next tick move its way, with trades.

    Each step the bid/ask best queues are drawn; the mid then moves up one tick
    with probability rising in the imbalance (and down otherwise), so book
    imbalance and OFI carry real information about the next move.
    """
    rng = np.random.default_rng(seed)
    mid_ticks = 10_000
    for i in range(n):
        ts = i * step_ms * 1_000_000
        qb, qa = rng.gamma(2.0, 5.0, size=2) + 0.5
        imb = (qb - qa) / (qb + qa)
        deeper = list(rng.gamma(2.0, 5.0, size=9) + 0.5)
        yield book(
            (mid_ticks - 1) * TICK, (mid_ticks + 1) * TICK, [qb, *deeper], [qa, *deeper], ts, symbol
        )
        if rng.random() < 0.3:
            side = Side.BUY if rng.random() < 0.5 + 0.4 * imb else Side.SELL
            yield Trade(
                symbol, ts + 1, ts + 1, mid_ticks * TICK, float(rng.gamma(1.0, 1.0)), side, f"t{i}"
            )
        u = rng.random()
        if u < 0.35 + 0.3 * imb:
            mid_ticks += 1
        elif u > 0.65 + 0.3 * imb:
            mid_ticks -= 1
