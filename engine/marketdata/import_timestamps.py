"""Reading a column of timestamps (datetimes, ISO strings or epoch numbers) and the
timeframe of their spacing.

Epoch units (s, ms, us, ns) are told apart by magnitude; a row whose magnitude
does not match the file's is marked rather than guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from engine.core.errors import DataError
from engine.marketdata.timeframes import timeframe_from_ms

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Epoch units told apart by magnitude (|value| below the bound), with their size in ns.
_EPOCH_UNITS: Final = (("s", 1e11, 1_000_000_000), ("ms", 1e14, 1_000_000), ("us", 1e17, 1_000))
_NS_LIMIT: Final = 9.2e18
_FIRST_NS: Final = pd.Timestamp("1678-01-01", tz="UTC")
_LAST_NS: Final = pd.Timestamp("2262-01-01", tz="UTC")


@dataclass(frozen=True, slots=True)
class ParsedTimestamps:
    """Epoch ns per row; ``unreadable`` and ``wrong_unit`` mark rows without a usable time."""

    ns: IntArray
    unreadable: BoolArray
    wrong_unit: BoolArray
    unit: str

    @property
    def valid(self) -> BoolArray:
        return ~(self.unreadable | self.wrong_unit)


def parse_timestamps(values: pd.Series) -> ParsedTimestamps:
    """Epoch ns (UTC) of every value: datetimes, ISO strings, or epoch numbers.

    Epoch numbers take the unit of the file's median magnitude (below 1e11 s,
    1e14 ms, 1e17 us, else ns); a value of another magnitude is ``wrong_unit``.
    Naive times are read as UTC.
    """
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return _from_datetimes(pd.DatetimeIndex(values), "datetime")
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return _from_epoch(values)
    text = values.astype("string")
    numbers = pd.to_numeric(text, errors="coerce")
    if numbers.notna().any() and numbers.notna().sum() >= text.notna().sum():
        return _from_epoch(numbers)
    stamps = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
    return _from_datetimes(pd.DatetimeIndex(stamps), "iso")


def _from_datetimes(index: pd.DatetimeIndex, unit: str) -> ParsedTimestamps:
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    in_range = np.asarray((index >= _FIRST_NS) & (index < _LAST_NS), dtype=bool)
    unreadable = np.asarray(index.isna(), dtype=bool) | ~in_range
    ns = np.zeros(len(index), dtype=np.int64)
    ns[~unreadable] = index[~unreadable].as_unit("ns").asi8
    return ParsedTimestamps(ns, unreadable, np.zeros(len(index), dtype=bool), unit)


def _epoch_bucket(magnitude: npt.NDArray[np.float64]) -> IntArray:
    bounds = np.array([bound for _, bound, _ in _EPOCH_UNITS])
    return np.searchsorted(bounds, magnitude, side="right").astype(np.int64)


def _from_epoch(values: pd.Series) -> ParsedTimestamps:
    numbers = pd.to_numeric(values, errors="coerce")
    floats = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    unreadable = ~np.isfinite(floats)
    n = len(floats)
    ns = np.zeros(n, dtype=np.int64)
    if unreadable.all():
        return ParsedTimestamps(ns, unreadable, np.zeros(n, dtype=bool), "epoch")
    magnitude = np.abs(floats)
    bucket = _epoch_bucket(magnitude)
    chosen = int(_epoch_bucket(np.array([np.median(magnitude[~unreadable])]))[0])
    wrong_unit = ~unreadable & (bucket != chosen)
    names = [name for name, _, _ in _EPOCH_UNITS] + ["ns"]
    unit_ns = [size for _, _, size in _EPOCH_UNITS] + [1]
    scale = unit_ns[chosen]
    use = ~unreadable & ~wrong_unit
    unreadable |= use & (magnitude * scale >= _NS_LIMIT)
    use &= ~unreadable
    if pd.api.types.is_integer_dtype(numbers.dtype):
        ns[use] = numbers.to_numpy(dtype=np.int64, na_value=0)[use] * scale
    elif scale >= 1_000:
        # Whole microseconds are exact in float64 for any date the store can hold.
        micros = np.round(floats[use] * (scale // 1_000)).astype(np.int64)
        ns[use] = micros * 1_000
    else:
        ns[use] = np.round(floats[use]).astype(np.int64)
    return ParsedTimestamps(ns, unreadable, wrong_unit, names[chosen])


def infer_timeframe(ns: IntArray) -> str:
    """The timeframe of the median spacing of the distinct timestamps ``ns``.

    Raises ``DataError`` with fewer than two distinct timestamps or a spacing
    that is not a whole number of seconds.
    """
    distinct = np.unique(ns)
    if len(distinct) < 2:
        raise DataError("cannot infer the timeframe from fewer than two bars; give --timeframe")
    spacing = np.sort(np.diff(distinct))[(len(distinct) - 1) // 2]
    if spacing % 1_000_000:
        raise DataError(
            f"the median spacing {pd.Timedelta(int(spacing))} is not a whole number of seconds"
        )
    try:
        return timeframe_from_ms(int(spacing // 1_000_000))
    except DataError as exc:
        raise DataError(f"the median spacing {pd.Timedelta(int(spacing))}: {exc}") from None
