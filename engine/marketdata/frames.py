"""The bar DataFrame convention, and cleaning of bar frames that break it.

A bar frame has a UTC ``DatetimeIndex`` named ``ts`` holding each bar's *open*
time (nanosecond resolution), float64 columns ``open high low close volume``,
and optionally ``trades`` (int64) and ``regime`` (str, simulated data only).

``clean_bars`` repairs what can be repaired (order, duplicates, high/low that
do not bracket open/close) and drops rows that cannot be trusted (non-finite
or non-positive prices, negative volume, timestamps off the timeframe grid),
reporting every count. Gaps are reported, never filled: a synthetic bar would
be invented data. ``require_bar_frame`` is the strict check for consumers that
must not silently change their input (the FeatureFactory).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from engine.core.errors import DataError
from engine.marketdata.timeframes import timeframe_ns

PRICE_COLUMNS: Final = ("open", "high", "low", "close")
BAR_COLUMNS: Final = (*PRICE_COLUMNS, "volume")
OPTIONAL_COLUMNS: Final = ("trades", "regime")
INDEX_NAME: Final = "ts"


@dataclass(frozen=True, slots=True)
class Gap:
    """Missing bars between ``after`` (last bar present) and ``before`` (next bar present)."""

    after: pd.Timestamp
    before: pd.Timestamp
    missing: int


@dataclass(frozen=True, slots=True)
class CleanReport:
    """What ``clean_bars`` changed, row by row category."""

    rows_in: int
    rows_out: int
    bad_timestamps: int = 0
    out_of_order: int = 0
    duplicates: int = 0
    non_finite: int = 0
    non_positive_price: int = 0
    negative_volume: int = 0
    off_grid: int = 0
    repaired_high_low: int = 0
    gaps: tuple[Gap, ...] = field(default_factory=tuple)

    @property
    def dropped(self) -> int:
        return self.rows_in - self.rows_out

    @property
    def missing_bars(self) -> int:
        return sum(g.missing for g in self.gaps)

    @property
    def changed(self) -> bool:
        return bool(self.dropped or self.out_of_order or self.repaired_high_low)

    def summary(self) -> str:
        """One line listing every non-zero count."""
        counts = {
            "bad timestamps": self.bad_timestamps,
            "out of order": self.out_of_order,
            "duplicates": self.duplicates,
            "non-finite": self.non_finite,
            "non-positive price": self.non_positive_price,
            "negative volume": self.negative_volume,
            "off grid": self.off_grid,
            "high/low repaired": self.repaired_high_low,
        }
        parts = [f"{k} {v}" for k, v in counts.items() if v]
        if self.gaps:
            parts.append(f"{len(self.gaps)} gaps ({self.missing_bars} bars missing)")
        detail = "; ".join(parts) if parts else "clean"
        return f"{self.rows_in} rows in, {self.rows_out} kept: {detail}"


def index_ns(index: pd.Index) -> npt.NDArray[np.int64]:
    """Epoch nanoseconds of a DatetimeIndex (whatever its stored resolution)."""
    return np.asarray(pd.DatetimeIndex(index).as_unit("ns").asi8, dtype=np.int64)


def empty_bar_frame() -> pd.DataFrame:
    """A bar frame with no rows (the right columns, dtypes and index)."""
    index = pd.DatetimeIndex([], tz="UTC", name=INDEX_NAME).as_unit("ns")
    return pd.DataFrame({c: np.zeros(0, dtype=np.float64) for c in BAR_COLUMNS}, index=index)


def bars_from_arrays(
    ts_ms: np.ndarray,
    ohlcv: np.ndarray,
    trades: np.ndarray | None = None,
    regime: np.ndarray | None = None,
) -> pd.DataFrame:
    """Build a bar frame from epoch-millisecond open times and an (n, 5) OHLCV array."""
    values = np.asarray(ohlcv, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != len(BAR_COLUMNS):
        raise DataError(f"OHLCV rows must have 5 values, got shape {values.shape}")
    index = pd.DatetimeIndex(pd.to_datetime(np.asarray(ts_ms, dtype=np.int64), unit="ms", utc=True))
    frame = pd.DataFrame(values, columns=list(BAR_COLUMNS), index=index.as_unit("ns"))
    frame.index.name = INDEX_NAME
    if trades is not None:
        frame["trades"] = np.asarray(trades, dtype=np.int64)
    if regime is not None:
        frame["regime"] = pd.array(np.asarray(regime, dtype=object), dtype="str")
    return frame


def _as_utc_index(df: pd.DataFrame, context: str) -> pd.DatetimeIndex:
    if isinstance(df.index, pd.DatetimeIndex):
        index = df.index
    elif INDEX_NAME in df.columns:
        index = _parse_timestamps(df[INDEX_NAME], context)
    else:
        raise DataError(
            f"{context}: bars need a DatetimeIndex (bar open time) or a {INDEX_NAME!r} column"
        )
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    return index.as_unit("ns")


def _parse_timestamps(values: pd.Series, context: str) -> pd.DatetimeIndex:
    """Epoch numbers (unit guessed from magnitude: s, ms, us or ns) or date strings -> UTC."""
    if pd.api.types.is_numeric_dtype(values):
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
        finite = np.isfinite(numbers)
        magnitude = float(np.abs(numbers[finite]).max(initial=0.0))
        scale = (
            1
            if magnitude > 1e17
            else 1_000
            if magnitude > 1e14
            else 1_000_000
            if magnitude > 1e11
            else 1_000_000_000
        )
        ns = np.zeros(len(numbers), dtype=np.int64)
        ns[finite] = np.round(numbers[finite]).astype(np.int64) * scale
        stamps = pd.to_datetime(ns, unit="ns", utc=True).to_numpy(dtype="datetime64[ns]")
        stamps[~finite] = np.datetime64("NaT")
        return pd.DatetimeIndex(stamps).tz_localize("UTC")
    try:
        return pd.DatetimeIndex(pd.to_datetime(values.to_numpy(), utc=True, errors="coerce"))
    except (TypeError, ValueError) as exc:
        raise DataError(f"{context}: cannot read timestamps: {exc}") from None


def clean_bars(
    df: pd.DataFrame, timeframe: str = "1m", *, context: str = "bars"
) -> tuple[pd.DataFrame, CleanReport]:
    """Return ``df`` in the bar convention with bad rows removed, and what was done.

    Raises ``DataError`` only when the frame cannot be read as bars at all
    (not a DataFrame, missing columns, no timestamps).
    """
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"{context}: expected a DataFrame of bars, got {type(df).__name__}")
    missing = [c for c in BAR_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"{context}: missing bar columns {missing} (have {list(df.columns)})")
    step = timeframe_ns(timeframe)
    rows_in = len(df)
    index = _as_utc_index(df, context)
    frame = pd.DataFrame(
        {c: pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=np.float64) for c in BAR_COLUMNS},
        index=index,
    )
    if "trades" in df.columns:
        trades = pd.to_numeric(df["trades"], errors="coerce").to_numpy(dtype=np.float64)
        frame["trades"] = np.where(np.isfinite(trades) & (trades >= 0), trades, 0).astype(np.int64)
    if "regime" in df.columns:
        frame["regime"] = pd.array(df["regime"].to_numpy(dtype=object), dtype="str")

    bad_ts = np.asarray(frame.index.isna())
    frame = frame[~bad_ts]

    ns = index_ns(frame.index)
    out_of_order = int(np.count_nonzero(ns[1:] < np.maximum.accumulate(ns)[:-1])) if len(ns) else 0
    if out_of_order:
        frame = frame.iloc[np.argsort(ns, kind="stable")]
    dup_mask = np.asarray(frame.index.duplicated(keep="last"))
    frame = frame[~dup_mask]

    prices = frame[list(PRICE_COLUMNS)].to_numpy()
    volume = frame["volume"].to_numpy()
    non_finite = ~np.isfinite(prices).all(axis=1) | ~np.isfinite(volume)
    non_positive = ~non_finite & (prices <= 0).any(axis=1)
    negative_volume = ~non_finite & ~non_positive & (volume < 0)
    off_grid = (index_ns(frame.index) % step) != 0
    off_grid &= ~(non_finite | non_positive | negative_volume)
    keep = ~(non_finite | non_positive | negative_volume | off_grid)
    frame = frame[keep]

    prices = frame[list(PRICE_COLUMNS)].to_numpy()
    top, bottom = prices.max(axis=1), prices.min(axis=1)
    repaired = (frame["high"].to_numpy() != top) | (frame["low"].to_numpy() != bottom)
    if repaired.any():
        frame = frame.assign(high=top, low=bottom)
    frame.index.name = INDEX_NAME

    report = CleanReport(
        rows_in=rows_in,
        rows_out=len(frame),
        bad_timestamps=int(bad_ts.sum()),
        out_of_order=out_of_order,
        duplicates=int(dup_mask.sum()),
        non_finite=int(non_finite.sum()),
        non_positive_price=int(non_positive.sum()),
        negative_volume=int(negative_volume.sum()),
        off_grid=int(off_grid.sum()),
        repaired_high_low=int(repaired.sum()),
        gaps=find_gaps(frame.index, timeframe),
    )
    return frame, report


def find_gaps(index: pd.DatetimeIndex, timeframe: str = "1m") -> tuple[Gap, ...]:
    """Return every place where consecutive bars are more than one timeframe apart."""
    if len(index) < 2:
        return ()
    step = timeframe_ns(timeframe)
    ns = index_ns(index)
    jumps = np.diff(ns)
    where = np.flatnonzero(jumps > step)
    return tuple(Gap(index[i], index[i + 1], int(jumps[i] // step) - 1) for i in where)


def require_bar_frame(df: pd.DataFrame, context: str = "bars") -> None:
    """Raise ``DataError`` unless ``df`` already follows the bar convention exactly.

    Checks: a UTC DatetimeIndex, strictly increasing (no duplicates, no
    disorder), the OHLCV columns, finite positive prices, finite non-negative
    volume. The message says what is wrong and where, and points at
    ``clean_bars``.
    """
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"{context}: expected a DataFrame of bars, got {type(df).__name__}")
    missing = [c for c in BAR_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"{context}: missing bar columns {missing}")
    if not isinstance(df.index, pd.DatetimeIndex) or df.index.tz is None:
        raise DataError(
            f"{context}: the index must be a tz-aware UTC DatetimeIndex of bar open times"
        )
    hint = "; clean it with engine.marketdata.frames.clean_bars first"
    if df.index.hasnans:
        raise DataError(f"{context}: the index has missing timestamps{hint}")
    ns = index_ns(df.index)
    if len(ns) > 1 and not (np.diff(ns) > 0).all():
        bad = int(np.flatnonzero(np.diff(ns) <= 0)[0]) + 1
        raise DataError(
            f"{context}: timestamps must strictly increase (duplicate or out of order at "
            f"row {bad}, {df.index[bad]}){hint}"
        )
    prices = df[list(PRICE_COLUMNS)].to_numpy(dtype=np.float64)
    volume = df["volume"].to_numpy(dtype=np.float64)
    bad_rows = ~np.isfinite(prices).all(axis=1) | (prices <= 0).any(axis=1)
    bad_rows |= ~np.isfinite(volume) | (volume < 0)
    if bad_rows.any():
        first = int(np.flatnonzero(bad_rows)[0])
        raise DataError(
            f"{context}: {int(bad_rows.sum())} bars have non-finite or non-positive prices or "
            f"negative volume (first at {df.index[first]}){hint}"
        )
