"""Declarative column specs: header, how to format a row value, alignment, colour."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    header: str
    fmt: Callable[[Any], str] = str
    align_right: bool = False
    colour: Callable[[Any], str | None] | None = None  # row value -> "#rrggbb" or None

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


def sign_colour(positive: str, negative: str) -> Callable[[Any], str | None]:
    def f(v: Any) -> str | None:
        if not isinstance(v, int | float) or v == 0:
            return None
        return positive if v > 0 else negative

    return f
