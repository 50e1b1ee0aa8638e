"""Timeframe strings (``30s``, ``1m``, ``1h``, ``1d``, ``1w``): lengths, pandas rules, prefixes."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from engine.core.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

_TIMEFRAME_RE: Final = re.compile(r"^([1-9][0-9]{0,3})([smhdw])$")
_UNIT_MS: Final = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_PANDAS_UNIT: Final = {"s": "s", "m": "min", "h": "h", "d": "D", "w": "W"}


def _parse(timeframe: str) -> tuple[int, str]:
    match = _TIMEFRAME_RE.match(timeframe) if isinstance(timeframe, str) else None
    if match is None:
        raise DataError(
            f"timeframe {timeframe!r} is not of the form <n><s|m|h|d|w> (e.g. 1m, 15m, 1h)"
        )
    return int(match.group(1)), match.group(2)


def timeframe_ms(timeframe: str) -> int:
    """Return the length of one bar of ``timeframe`` in milliseconds."""
    n, unit = _parse(timeframe)
    return n * _UNIT_MS[unit]


def timeframe_ns(timeframe: str) -> int:
    """Return the length of one bar of ``timeframe`` in nanoseconds."""
    return timeframe_ms(timeframe) * 1_000_000


def timeframe_delta(timeframe: str) -> pd.Timedelta:
    """Return the length of one bar of ``timeframe`` as a Timedelta."""
    import pandas as pd  # imported here: configuration loading should not pull in pandas

    return pd.Timedelta(milliseconds=timeframe_ms(timeframe))


def pandas_rule(timeframe: str) -> str:
    """Return the pandas resampling rule for ``timeframe`` (``15m`` -> ``15min``)."""
    n, unit = _parse(timeframe)
    if unit == "w":
        # Weekly bars are fixed 7-day buckets from the epoch, as the other units are.
        return f"{7 * n}D"
    return f"{n}{_PANDAS_UNIT[unit]}"


def feature_prefix(timeframe: str) -> str:
    """Return an identifier-safe prefix for feature names (``15m`` -> ``m15``, ``1h`` -> ``h1``)."""
    n, unit = _parse(timeframe)
    return f"{unit}{n}"


def timeframe_from_ms(milliseconds: int) -> str:
    """Return the timeframe string of a bar length in ms (``300_000`` -> ``5m``).

    The largest unit that divides the length is used, so the result round-trips
    through ``timeframe_ms``. Raises ``DataError`` for a length that is not a
    positive whole number of seconds or needs more than four digits.
    """
    if milliseconds <= 0 or milliseconds % 1_000:
        raise DataError(
            f"a bar length of {milliseconds} ms is not a positive whole number of seconds"
        )
    for unit, unit_ms in sorted(_UNIT_MS.items(), key=lambda item: -item[1]):
        if milliseconds % unit_ms == 0 and milliseconds // unit_ms < 10_000:
            return f"{milliseconds // unit_ms}{unit}"
    raise DataError(f"a bar length of {milliseconds} ms has no timeframe string")
