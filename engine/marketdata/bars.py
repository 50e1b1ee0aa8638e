"""Causal bars: 1-minute bars from trades, resampling to higher timeframes, alignment.

Every function here respects DESIGN invariant 1. A higher-timeframe bar is
*closed* once the base bars covering its whole interval could have been seen,
i.e. at the first base bar whose close time reaches the bucket's close time;
only then does it join a base row. Buckets are aligned to the Unix epoch
(a 15m bar opens at :00, :15, :30, :45), the same rule on both paths: the
batch functions on DataFrames (history, forge) and the streaming classes
(live), which are tested to agree.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from msgspec.structs import replace

from engine.core.errors import DataError
from engine.marketdata.frames import BAR_COLUMNS, INDEX_NAME, index_ns
from engine.marketdata.timeframes import timeframe_ns
from engine.model.market import Bar, Trade


def resample_bars(
    df: pd.DataFrame, timeframe: str, *, base_timeframe: str = "1m", closed_only: bool = True
) -> pd.DataFrame:
    """Aggregate a bar frame into ``timeframe`` bars (indexed by their open time).

    Buckets without any base bar produce no row (a gap stays a gap). With
    ``closed_only`` the last bucket is dropped unless the input reaches its end.
    """
    step = timeframe_ns(timeframe)
    base = timeframe_ns(base_timeframe)
    if step % base:
        raise DataError(f"{timeframe} is not a multiple of {base_timeframe}")
    if df.empty:
        return df.iloc[:0].copy()
    ns = index_ns(df.index)
    keys = ns - ns % step
    spec: dict[str, tuple[str, str]] = {
        "open": ("open", "first"),
        "high": ("high", "max"),
        "low": ("low", "min"),
        "close": ("close", "last"),
        "volume": ("volume", "sum"),
    }
    if "trades" in df.columns:
        spec["trades"] = ("trades", "sum")
    if "regime" in df.columns:
        spec["regime"] = ("regime", "last")
    out = df.groupby(keys, sort=True).agg(**spec)
    out.index = pd.DatetimeIndex(
        pd.to_datetime(out.index.to_numpy(), unit="ns", utc=True), name=INDEX_NAME
    )
    if closed_only and len(out) and out.index.asi8[-1] + step > ns[-1] + base:
        out = out.iloc[:-1]
    return out


def closed_at(htf_index: pd.DatetimeIndex, timeframe: str) -> np.ndarray:
    """Epoch-ns time at which each bar of ``htf_index`` closes (its open time plus one bar)."""
    return index_ns(htf_index) + timeframe_ns(timeframe)


def align_to_base(
    base_index: pd.DatetimeIndex,
    htf: pd.DataFrame,
    timeframe: str,
    *,
    base_timeframe: str = "1m",
) -> pd.DataFrame:
    """For each base row, the latest ``htf`` row that had closed by the end of that base bar.

    Rows before the first closed higher-timeframe bar are NaN.
    """
    if htf.empty:
        return pd.DataFrame(np.nan, index=base_index, columns=htf.columns)
    available = closed_at(pd.DatetimeIndex(htf.index), timeframe)
    row_close = index_ns(base_index) + timeframe_ns(base_timeframe)
    pos = np.searchsorted(available, row_close, side="right") - 1
    out = htf.reset_index(drop=True).reindex(np.where(pos >= 0, pos, -1))
    out.index = base_index
    return out


class BarBuilder:
    """Builds bars of one symbol from its trades (streaming, causal).

    ``on_trade`` and ``on_time`` return the bars that closed. With ``fill_empty``
    a bucket with no trade closes as a flat zero-volume bar at the last price,
    so downstream features see one bar per minute. Trades older than the
    current bucket are counted in ``late_trades`` and ignored.
    """

    def __init__(self, symbol: str, timeframe: str = "1m", *, fill_empty: bool = True) -> None:
        self.symbol = symbol
        self.timeframe = timeframe
        self.fill_empty = fill_empty
        self.late_trades = 0
        self._step = timeframe_ns(timeframe)
        self._start: int | None = None
        self._open = self._high = self._low = self._close = float("nan")
        self._volume = 0.0
        self._count = 0
        self._last_close: float | None = None

    def current(self) -> Bar | None:
        """The forming bar (``closed=False``), or None before the first trade of the bucket."""
        if self._start is None or self._count == 0:
            return None
        return self._bar(closed=False)

    def on_trade(self, trade: Trade) -> list[Bar]:
        """Apply one trade; return bars closed by its arrival."""
        if not (
            math.isfinite(trade.price)
            and trade.price > 0
            and math.isfinite(trade.qty)
            and trade.qty >= 0
        ):
            raise DataError(
                f"{self.symbol}: trade {trade.trade_id} has price {trade.price} qty {trade.qty}"
            )
        closed = self.on_time(trade.ts_event)
        if self._start is None:
            self._start = trade.ts_event - trade.ts_event % self._step
        elif trade.ts_event < self._start:
            self.late_trades += 1
            return closed
        if self._count == 0:
            self._open = self._high = self._low = trade.price
        else:
            self._high = max(self._high, trade.price)
            self._low = min(self._low, trade.price)
        self._close = trade.price
        self._volume += trade.qty
        self._count += 1
        return closed

    def on_time(self, now_ns: int) -> list[Bar]:
        """Close every bucket that ended at or before ``now_ns``."""
        out: list[Bar] = []
        if self._start is None:
            return out
        while now_ns >= self._start + self._step:
            if self._count:
                out.append(self._bar(closed=True))
                self._last_close = self._close
            elif self.fill_empty and self._last_close is not None:
                price = self._last_close
                out.append(
                    Bar(self.symbol, self.timeframe, self._start, price, price, price, price, 0.0)
                )
            self._start += self._step
            self._count = 0
            self._volume = 0.0
            if not self.fill_empty and now_ns >= self._start + self._step:
                self._start = now_ns - now_ns % self._step
        return out

    def _bar(self, *, closed: bool) -> Bar:
        assert self._start is not None
        return Bar(
            self.symbol,
            self.timeframe,
            self._start,
            self._open,
            self._high,
            self._low,
            self._close,
            self._volume,
            self._count,
            closed,
        )


class BarResampler:
    """Aggregates closed base bars of one symbol into ``timeframe`` bars (streaming, causal).

    Agrees with ``resample_bars(..., closed_only=True)``: a bucket is emitted
    by the base bar that reaches its end, or by the first base bar of a later
    bucket when the end was missing (a gap).
    """

    def __init__(self, timeframe: str, *, base_timeframe: str = "1m") -> None:
        self.timeframe = timeframe
        self._step = timeframe_ns(timeframe)
        self._base = timeframe_ns(base_timeframe)
        if self._step % self._base:
            raise DataError(f"{timeframe} is not a multiple of {base_timeframe}")
        self._bar: Bar | None = None

    def on_bar(self, bar: Bar) -> list[Bar]:
        """Add one closed base bar; return the higher-timeframe bars it closed (0, 1 or 2)."""
        out: list[Bar] = []
        bucket = bar.ts_open - bar.ts_open % self._step
        current = self._bar
        if current is not None and bucket != current.ts_open:
            if bucket < current.ts_open:
                raise DataError(
                    f"{bar.symbol}: base bar at {bar.ts_open} is older than the open bucket"
                )
            out.append(replace(current, closed=True))
            current = None
        if current is None:
            current = Bar(
                bar.symbol,
                self.timeframe,
                bucket,
                bar.open,
                bar.high,
                bar.low,
                bar.close,
                bar.volume,
                bar.trades,
                False,
            )
        else:
            current = replace(
                current,
                high=max(current.high, bar.high),
                low=min(current.low, bar.low),
                close=bar.close,
                volume=current.volume + bar.volume,
                trades=current.trades + bar.trades,
            )
        if bar.ts_open + self._base >= bucket + self._step:
            out.append(replace(current, closed=True))
            current = None
        self._bar = current
        return out

    def on_time(self, now_ns: int) -> list[Bar]:
        """Close the open bucket if its end has passed (no more base bars can join it)."""
        current = self._bar
        if current is not None and now_ns >= current.ts_open + self._step:
            self._bar = None
            return [replace(current, closed=True)]
        return []

    def current(self) -> Bar | None:
        """The forming higher-timeframe bar (``closed=False``), if any."""
        return self._bar


def bars_to_frame(bars: list[Bar]) -> pd.DataFrame:
    """Turn a list of ``Bar`` into a bar frame (for tests, recordings and history writes)."""
    index = pd.DatetimeIndex(
        pd.to_datetime(np.array([b.ts_open for b in bars], dtype=np.int64), unit="ns", utc=True),
        name=INDEX_NAME,
    )
    data = {c: np.array([getattr(b, c) for b in bars], dtype=np.float64) for c in BAR_COLUMNS}
    frame = pd.DataFrame(data, index=index)
    frame["trades"] = np.array([b.trades for b in bars], dtype=np.int64)
    return frame


def frame_to_bars(df: pd.DataFrame, symbol: str, timeframe: str = "1m") -> list[Bar]:
    """Turn a bar frame into closed ``Bar`` objects (replaying history into the live path)."""
    ns = index_ns(df.index)
    cols = [df[c].to_numpy(dtype=np.float64) for c in BAR_COLUMNS]
    trades = (
        df["trades"].to_numpy(dtype=np.int64)
        if "trades" in df.columns
        else np.zeros(len(df), np.int64)
    )
    return [
        Bar(
            symbol,
            timeframe,
            int(ns[i]),
            float(cols[0][i]),
            float(cols[1][i]),
            float(cols[2][i]),
            float(cols[3][i]),
            float(cols[4][i]),
            int(trades[i]),
            True,
        )
        for i in range(len(df))
    ]
