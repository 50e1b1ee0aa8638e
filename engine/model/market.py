"""Market data types: bars, trades and L2 book snapshots (normalized, venue-neutral)."""

from __future__ import annotations

import math

import msgspec
import numpy as np
import numpy.typing as npt

from engine.model.enums import Side

FloatArray = npt.NDArray[np.float64]

_EMPTY_LEVELS: FloatArray = np.zeros((0, 2), dtype=np.float64)
_EMPTY_LEVELS.setflags(write=False)


class Bar(msgspec.Struct, frozen=True):
    """An OHLCV bar. ``ts_open`` is the bar's open time; it is final once ``closed``."""

    symbol: str
    timeframe: str
    ts_open: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    trades: int = 0
    closed: bool = True


class Trade(msgspec.Struct, frozen=True):
    """One trade on the venue; ``aggressor`` is the taker's side."""

    symbol: str
    ts_event: int
    ts_init: int
    price: float
    qty: float
    aggressor: Side
    trade_id: str
    seq: int = 0


def levels_array(levels: object) -> FloatArray:
    """Convert ``[[price, qty], ...]`` into a read-only (n, 2) float64 array."""
    arr = np.asarray(levels, dtype=np.float64)
    if arr.size == 0:
        return _EMPTY_LEVELS
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"book levels must be [[price, qty], ...], got shape {arr.shape}")
    arr.setflags(write=False)
    return arr


class BookSnapshot(msgspec.Struct, frozen=True, eq=False):
    """Top-of-book levels, best first: ``bids``/``asks`` are (n, 2) arrays of (price, qty).

    ``stale`` marks a book that failed an integrity check (sequence gap, crossed,
    no update for too long); agents do not trade on a stale book.
    """

    symbol: str
    ts_event: int
    ts_init: int
    bids: FloatArray = msgspec.field(default_factory=lambda: _EMPTY_LEVELS)
    asks: FloatArray = msgspec.field(default_factory=lambda: _EMPTY_LEVELS)
    seq: int = 0
    stale: bool = False

    @property
    def best_bid(self) -> float:
        return float(self.bids[0, 0]) if len(self.bids) else math.nan

    @property
    def best_ask(self) -> float:
        return float(self.asks[0, 0]) if len(self.asks) else math.nan

    @property
    def mid(self) -> float:
        return 0.5 * (self.best_bid + self.best_ask)

    @property
    def spread(self) -> float:
        return self.best_ask - self.best_bid

    @property
    def is_crossed(self) -> bool:
        return bool(len(self.bids) and len(self.asks) and self.best_bid >= self.best_ask)
