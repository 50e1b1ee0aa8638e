"""Declarative column specs: header, how to format a row value, alignment, colour."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    header: str
    fmt: Callable[[Any], str] = str
    align_right: bool = False
    colour: Callable[[Any], str | None] | None = None  # row value -> "#rrggbb" or None
    # Formatting that needs the rest of the row (e.g. a price at its instrument's precision).
    row_fmt: Callable[[Any, Row], str] | None = None
    background: Callable[[Any], str | None] | None = None
    # What the column sorts by (default: the value itself, None and NaN last).
    sort_key: Callable[[Any], Any] | None = None
    tooltip: Callable[[Any, Row], str] | None = None

    def display(self, value: Any, row: Row) -> str:
        return self.row_fmt(value, row) if self.row_fmt is not None else self.fmt(value)

    def sort_value(self, value: Any) -> Any:
        """A value QSortFilterProxyModel can compare (numbers as floats, else text)."""
        if self.sort_key is not None:
            value = self.sort_key(value)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return float("-inf")
        if isinstance(value, bool | int | float):
            return float(value)
        return str(value)

    @property
    def alignment(self) -> Qt.AlignmentFlag:
        h = Qt.AlignmentFlag.AlignRight if self.align_right else Qt.AlignmentFlag.AlignLeft
        return h | Qt.AlignmentFlag.AlignVCenter


def fmt_num(digits: int) -> Callable[[Any], str]:
    def f(v: Any) -> str:
        return "" if v is None else f"{v:,.{digits}f}"

    return f


def fmt_qty(v: Any) -> str:
    return "" if v is None else f"{v:.6g}"


def fmt_time_ns(v: Any) -> str:
    import datetime as dt

    if not v:
        return ""
    return dt.datetime.fromtimestamp(v / 1e9, tz=dt.UTC).strftime("%H:%M:%S.%f")[:-3]


def fmt_price_row(digits_key: str = "digits") -> Callable[[Any, Row], str]:
    """A price with the instrument's precision (``row[digits_key]`` decimals)."""

    def f(v: Any, row: Row) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return ""
        return f"{v:,.{int(row.get(digits_key, 2))}f}"

    return f


def fmt_qty_row(digits_key: str = "qty_digits") -> Callable[[Any, Row], str]:
    """A quantity with the instrument's lot precision."""

    def f(v: Any, row: Row) -> str:
        if v is None:
            return ""
        return f"{v:.{int(row.get(digits_key, 6))}f}"

    return f


def fmt_pct(digits: int = 1) -> Callable[[Any], str]:
    def f(v: Any) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return ""
        return f"{v:.{digits}%}"

    return f


def fmt_opt(digits: int) -> Callable[[Any], str]:
    """A number, blank for None and NaN."""

    def f(v: Any) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return ""
        return f"{v:,.{digits}f}"

    return f


def fmt_age_ns(now_ns: Callable[[], int]) -> Callable[[Any], str]:
    """How long ago a ns timestamp was, as 45s / 12m / 3.2h / 2.1d."""

    def f(v: Any) -> str:
        if not v:
            return ""
        s = max(now_ns() - int(v), 0) / 1e9
        if s < 90:
            return f"{s:.0f}s"
        if s < 5400:
            return f"{s / 60:.0f}m"
        if s < 172_800:
            return f"{s / 3600:.1f}h"
        return f"{s / 86_400:.1f}d"

    return f


def digits_of(step: float | None, default: int = 2) -> int:
    """Decimals needed to show multiples of ``step`` (0.01 -> 2, 0.5 -> 1, 1 -> 0)."""
    if not step or step <= 0:
        return default
    d = 0
    while d < 10 and abs(round(step * 10**d) - step * 10**d) > 1e-9 * 10**d:
        d += 1
    return d


def sign_colour(positive: str, negative: str) -> Callable[[Any], str | None]:
    def f(v: Any) -> str | None:
        if not isinstance(v, int | float) or v == 0:
            return None
        return positive if v > 0 else negative

    return f
