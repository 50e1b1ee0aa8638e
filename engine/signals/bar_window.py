"""AlignedCloses: closes of several symbols joined on bar open time, for cross-asset signals."""

from __future__ import annotations

from collections import deque

import numpy as np
import numpy.typing as npt
import pandas as pd

from engine.core.errors import DataError
from engine.model.market import Bar

FloatArray = npt.NDArray[np.float64]


class AlignedCloses:
    """Keep the last ``maxlen`` rows of closes for which every symbol has a closed bar.

    A row is complete when each symbol's bar for the same open time has
    arrived (in any order). Rows older than the newest complete one that are
    still incomplete can never complete causally and are discarded (counted).
    """

    def __init__(self, symbols: tuple[str, ...], maxlen: int) -> None:
        if len(symbols) < 2:
            raise ValueError("a cross-asset window needs at least two symbols")
        self.symbols = symbols
        self._index = {s: i for i, s in enumerate(symbols)}
        self._rows: deque[FloatArray] = deque(maxlen=maxlen)
        self._times: deque[int] = deque(maxlen=maxlen)
        self._pending: dict[int, FloatArray] = {}
        self.discarded = 0

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def last_ts(self) -> int | None:
        return self._times[-1] if self._times else None

    def add(self, bar: Bar) -> bool:
        """Add a closed bar; return True when it completed a new row."""
        col = self._index.get(bar.symbol)
        if col is None or not bar.closed or not np.isfinite(bar.close) or bar.close <= 0:
            return False
        last = self.last_ts
        if last is not None and bar.ts_open <= last:
            return False
        row = self._pending.get(bar.ts_open)
        if row is None:
            row = np.full(len(self.symbols), np.nan)
            self._pending[bar.ts_open] = row
        row[col] = bar.close
        if np.isnan(row).any():
            return False
        del self._pending[bar.ts_open]
        stale = [t for t in self._pending if t < bar.ts_open]
        for t in stale:
            del self._pending[t]
        self.discarded += len(stale)
        self._rows.append(row)
        self._times.append(bar.ts_open)
        return True

    def closes(self) -> FloatArray:
        """(rows, symbols) array of closes, oldest first."""
        if not self._rows:
            return np.zeros((0, len(self.symbols)))
        return np.vstack(self._rows)

    def log_returns(self) -> FloatArray:
        """(rows - 1, symbols) log returns between consecutive complete rows."""
        c = self.closes()
        return np.diff(np.log(c), axis=0) if len(c) > 1 else np.zeros((0, len(self.symbols)))

    def timestamps(self) -> list[int]:
        return list(self._times)


def bars_from_closes(
    closes: pd.DataFrame, symbols: tuple[str, ...], timeframe: str, before_ns: int
) -> list[Bar]:
    """Closed bars (close-only) from a (time x symbol) close frame, rows opening before ``before_ns``.

    For warming the cross-asset signals from stored history; rows with a
    missing or non-positive close for any of ``symbols`` are skipped.
    """
    missing = [s for s in symbols if s not in closes.columns]
    if missing:
        raise DataError(f"warm-up history lacks {missing}")
    frame = closes[list(symbols)]
    ts = pd.DatetimeIndex(frame.index).as_unit("ns").asi8
    keep = (ts < before_ns) & np.isfinite(frame.to_numpy(dtype=np.float64)).all(axis=1)
    keep &= (frame.to_numpy(dtype=np.float64) > 0).all(axis=1)
    return [
        Bar(s, timeframe, int(t), float(c), float(c), float(c), float(c), 0.0)
        for t, row in zip(ts[keep], frame.to_numpy(dtype=np.float64)[keep], strict=True)
        for s, c in zip(symbols, row, strict=True)
    ]
