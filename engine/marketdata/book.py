"""L2Book: a price-level order book rebuilt from a snapshot plus incremental diffs."""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable

import numpy as np

from engine.model.market import BookSnapshot, FloatArray, levels_array

Level = tuple[float, float]


class L2Book:
    """Aggregated size per price level for one symbol.

    A diff sets the size at a price; a size of zero removes the level (the
    convention of Binance, Bybit and ccxt). ``top(depth)`` returns the best
    levels first as (n, 2) arrays.
    """

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}

    def reset(self, bids: Iterable[Level], asks: Iterable[Level]) -> None:
        """Replace the whole book with a snapshot's levels."""
        self.bids = {}
        self.asks = {}
        self.apply(bids, asks)

    def apply(self, bids: Iterable[Level], asks: Iterable[Level]) -> None:
        """Apply one diff: set each level's size, removing levels whose size is zero."""
        for side, levels in ((self.bids, bids), (self.asks, asks)):
            for price, qty in levels:
                if qty > 0:
                    side[price] = qty
                else:
                    side.pop(price, None)

    def top(self, depth: int) -> tuple[FloatArray, FloatArray]:
        """The best ``depth`` levels per side, best first."""
        bids = heapq.nlargest(depth, self.bids.items())
        asks = heapq.nsmallest(depth, self.asks.items())
        return levels_array(bids), levels_array(asks)

    @property
    def best_bid(self) -> float:
        return max(self.bids) if self.bids else math.nan

    @property
    def best_ask(self) -> float:
        return min(self.asks) if self.asks else math.nan

    def snapshot(self, *, depth: int, ts_event: int, ts_init: int, seq: int = 0) -> BookSnapshot:
        """A ``BookSnapshot`` of the top ``depth`` levels."""
        bids, asks = self.top(depth)
        return BookSnapshot(self.symbol, ts_event, ts_init, bids, asks, seq)

    def __len__(self) -> int:
        return len(self.bids) + len(self.asks)


def parse_levels(raw: Iterable[Iterable[object]]) -> list[Level]:
    """``[["2683.80", "3.03"], ...]`` (strings or numbers) -> ``[(2683.8, 3.03), ...]``.

    Raises ``ValueError`` on a level that is not two finite numbers.
    """
    out: list[Level] = []
    for level in raw:
        price_raw, qty_raw = list(level)[:2]
        price, qty = float(price_raw), float(qty_raw)  # type: ignore[arg-type]
        if not (np.isfinite(price) and np.isfinite(qty)) or price <= 0 or qty < 0:
            raise ValueError(f"bad book level {price_raw!r} x {qty_raw!r}")
        out.append((price, qty))
    return out
