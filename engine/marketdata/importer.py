"""Import a user's OHLCV file (CSV, Parquet or Feather) into the bar store.

``prepare_import(path)`` reads the file (format from its extension), finds the
timestamp and OHLCV columns (common spellings, any case), reads the timestamps
(ISO strings, datetimes, or epoch seconds / ms / us / ns told apart by
magnitude), infers the timeframe from the median spacing unless one is given,
and validates every row. It returns the bars in the store's frame convention
and an ``ImportReport``; when the report lists problems the frame is empty and
nothing may be written. ``write_import`` then merges the bars into a
``BarStore`` month by month (a re-import replaces bars at the same timestamps,
so it adds no rows).

Rows are numbered as in the file's data: row 1 is the first row after the
header. Problems (each fails the import): unreadable timestamps, duplicate
timestamps, rows out of order (unless ``sort``), missing or non-finite values,
prices <= 0, negative volume, high below max(open, close) or low above
min(open, close), open times off the timeframe grid. Gaps (missing bars) are
reported as warnings, never filled.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from tqdm import tqdm

from engine.core.errors import DataError
from engine.marketdata.frames import BAR_COLUMNS, INDEX_NAME, Gap, empty_bar_frame, find_gaps
from engine.marketdata.import_table import file_format, find_columns, read_table
from engine.marketdata.import_timestamps import (
    IntArray,
    ParsedTimestamps,
    infer_timeframe,
    parse_timestamps,
)
from engine.marketdata.timeframes import timeframe_ms, timeframe_ns

if TYPE_CHECKING:
    from engine.marketdata.store import BarStore

_SHOWN_ROWS: Final = 5
_SHOWN_GAPS: Final = 3


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What ``prepare_import`` found in a file; ``problems`` empty means it may be written."""

    path: Path
    file_format: str
    rows: int
    timestamp_column: str
    timestamp_unit: str
    timeframe: str | None
    timeframe_inferred: bool
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    sorted_rows: int = 0
    ignored_columns: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    gaps: tuple[Gap, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def missing_bars(self) -> int:
        return sum(g.missing for g in self.gaps)

    def largest_gaps(self, limit: int = _SHOWN_GAPS) -> list[Gap]:
        """The ``limit`` gaps with the most missing bars, largest first."""
        return sorted(self.gaps, key=lambda g: (-g.missing, g.after))[:limit]

    def gap_warning(self) -> str | None:
        """One line on the gaps (count, bars missing, the largest), or None without gaps."""
        if not self.gaps:
            return None
        largest = ", ".join(
            f"{g.after} .. {g.before} ({g.missing} missing)" for g in self.largest_gaps()
        )
        return (
            f"{self.path.name}: {len(self.gaps)} gaps ({self.missing_bars} bars missing at "
            f"{self.timeframe}), not filled; largest: {largest}"
        )

    def error(self) -> str:
        """One line naming every problem."""
        return f"cannot import {self.path}, nothing written: " + "; ".join(self.problems)

    def summary(self) -> str:
        """One line: rows, range, timeframe, gaps."""
        how = "inferred" if self.timeframe_inferred else "given"
        gaps = (
            f"{len(self.gaps)} gaps ({self.missing_bars} bars missing)" if self.gaps else "no gaps"
        )
        order = f", {self.sorted_rows} rows sorted" if self.sorted_rows else ""
        return (
            f"{self.rows} rows {self.first} .. {self.last}, timeframe {self.timeframe} ({how}), "
            f"{gaps}{order}"
        )


# -- columns and timestamps ----------------------------------------------------
# -- validation ----------------------------------------------------------------
def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _rows(positions: npt.NDArray[np.intp] | Sequence[int], rows: IntArray) -> str:
    """``rows 3, 8, 9 and 4 more`` from positions into ``rows`` (file row numbers)."""
    shown = ", ".join(str(int(rows[p])) for p in positions[:_SHOWN_ROWS])
    more = len(positions) - _SHOWN_ROWS
    word = "row" if len(positions) == 1 else "rows"
    return f"{word} {shown}" + (f" and {more} more" if more > 0 else "")


def _value_problems(values: npt.NDArray[np.float64], rows: IntArray) -> list[str]:
    prices, volume = values[:, :4], values[:, 4]
    problems: list[str] = []
    non_finite = ~np.isfinite(values).all(axis=1)
    checks = [
        (non_finite, "with missing or non-finite values"),
        (~non_finite & (prices <= 0).any(axis=1), "with a price <= 0"),
        (~non_finite & (volume < 0), "with negative volume"),
    ]
    with np.errstate(invalid="ignore"):
        bad_high = values[:, 1] < np.maximum(values[:, 0], values[:, 3])
        bad_low = values[:, 2] > np.minimum(values[:, 0], values[:, 3])
    checks.append(
        (
            ~non_finite & (bad_high | bad_low),
            "where high < max(open, close) or low > min(open, close)",
        )
    )
    for mask, what in checks:
        where = np.flatnonzero(mask)
        if len(where):
            problems.append(f"{_count(len(where), 'row')} {what} ({_rows(where, rows)})")
    return problems


def _timestamp_problems(stamps: ParsedTimestamps, rows: IntArray) -> list[str]:
    problems: list[str] = []
    unreadable = np.flatnonzero(stamps.unreadable)
    if len(unreadable):
        problems.append(
            f"{_count(len(unreadable), 'unreadable or out-of-range timestamp')} "
            f"({_rows(unreadable, rows)})"
        )
    wrong = np.flatnonzero(stamps.wrong_unit)
    if len(wrong):
        problems.append(
            f"{_count(len(wrong), 'epoch timestamp')} of another magnitude than the file's epoch "
            f"{stamps.unit} ({_rows(wrong, rows)})"
        )
    return problems


def _order_problems(ns: IntArray, rows: IntArray, *, sort: bool) -> tuple[list[str], int]:
    """Duplicates always fail; rows out of order fail unless ``sort``. Returns (problems, n)."""
    problems: list[str] = []
    duplicated = np.asarray(pd.Series(ns).duplicated(keep="first"), dtype=bool)
    if duplicated.any():
        first_row: dict[int, int] = {}
        for position, value in enumerate(ns):
            first_row.setdefault(int(value), int(rows[position]))
        where = np.flatnonzero(duplicated)
        examples = ", ".join(
            f"row {int(rows[p])} repeats row {first_row[int(ns[p])]} "
            f"({pd.Timestamp(int(ns[p]), tz='UTC')})"
            for p in where[:_SHOWN_ROWS]
        )
        problems.append(f"{_count(len(where), 'duplicate timestamp')} ({examples})")
    late = np.zeros(len(ns), dtype=bool)
    if len(ns) > 1:
        late[1:] = ns[1:] < np.maximum.accumulate(ns)[:-1]
    late &= ~duplicated
    out_of_order = int(late.sum())
    if out_of_order and not sort:
        first = int(np.flatnonzero(late)[0])
        before = int(np.argmax(ns[:first]))
        problems.append(
            f"{_count(out_of_order, 'row')} out of order ({_rows(np.flatnonzero(late), rows)}; row "
            f"{int(rows[first])} at {pd.Timestamp(int(ns[first]), tz='UTC')} is earlier than row "
            f"{int(rows[before])} at {pd.Timestamp(int(ns[before]), tz='UTC')}); "
            f"give --sort to sort them"
        )
    return problems, out_of_order


def _resolve_timeframe(
    ns: IntArray, timeframe: str | None
) -> tuple[str | None, list[str], list[str]]:
    """(timeframe, problems, warnings): the given one (checked) or the inferred one."""
    try:
        inferred: str | None = infer_timeframe(ns)
        why = ""
    except DataError as exc:
        inferred, why = None, str(exc)
    if timeframe is None:
        return inferred, ([why] if inferred is None else []), []
    timeframe_ms(timeframe)
    warnings = []
    if inferred is not None and timeframe_ms(inferred) != timeframe_ms(timeframe):
        warnings.append(f"the median spacing is {inferred} but --timeframe {timeframe} was given")
    return timeframe, [], warnings


def _grid_problem(ns: IntArray, rows: IntArray, timeframe: str) -> list[str]:
    off = np.flatnonzero(ns % timeframe_ns(timeframe) != 0)
    if not len(off):
        return []
    return [
        f"{_count(len(off), 'row')} not on the {timeframe} grid ({_rows(off, rows)}; "
        f"bar open times must be whole multiples of {timeframe} since 1970-01-01 UTC)"
    ]


def validate(
    raw: pd.DataFrame,
    *,
    path: Path,
    file_format: str,
    timeframe: str | None = None,
    sort: bool = False,
) -> tuple[pd.DataFrame, ImportReport]:
    """Check ``raw`` (a table as read) and build its bar frame (empty when there are problems)."""
    if raw.empty:
        raise DataError(f"{path}: no rows")
    columns = find_columns(list(raw.columns))
    rows = np.arange(1, len(raw) + 1, dtype=np.int64)
    stamps = parse_timestamps(raw[columns["timestamp"]])
    values = np.column_stack(
        [
            pd.to_numeric(raw[columns[c]], errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan
            )
            for c in BAR_COLUMNS
        ]
    )
    problems = _timestamp_problems(stamps, rows)
    problems += _value_problems(values, rows)
    valid = stamps.valid
    ns, valid_rows = stamps.ns[valid], rows[valid]
    order, out_of_order = _order_problems(ns, valid_rows, sort=sort)
    problems += order
    chosen, tf_problems, warnings = _resolve_timeframe(ns, timeframe)
    problems += tf_problems
    gaps: tuple[Gap, ...] = ()
    if chosen is not None:
        problems += _grid_problem(ns, valid_rows, chosen)
        distinct = pd.DatetimeIndex(pd.to_datetime(np.unique(ns), unit="ns", utc=True))
        gaps = find_gaps(distinct, chosen)
    used = set(columns.values())
    report = ImportReport(
        path=Path(path),
        file_format=file_format,
        rows=len(raw),
        timestamp_column=columns["timestamp"],
        timestamp_unit=stamps.unit,
        timeframe=chosen,
        timeframe_inferred=timeframe is None,
        first=pd.Timestamp(int(ns.min()), tz="UTC") if len(ns) else None,
        last=pd.Timestamp(int(ns.max()), tz="UTC") if len(ns) else None,
        sorted_rows=out_of_order if sort else 0,
        ignored_columns=tuple(str(c) for c in raw.columns if str(c) not in used),
        problems=tuple(problems),
        warnings=tuple(warnings),
        gaps=gaps,
    )
    if problems:
        return empty_bar_frame(), report
    return _bar_frame(stamps.ns, values), report


def _bar_frame(ns: IntArray, values: npt.NDArray[np.float64]) -> pd.DataFrame:
    order = np.argsort(ns, kind="stable")
    index = pd.DatetimeIndex(pd.to_datetime(ns[order], unit="ns", utc=True)).as_unit("ns")
    frame = pd.DataFrame(values[order], columns=list(BAR_COLUMNS), index=index)
    frame.index.name = INDEX_NAME
    return frame


def prepare_import(
    path: Path, *, timeframe: str | None = None, sort: bool = False, progress: bool = False
) -> tuple[pd.DataFrame, ImportReport]:
    """Read and validate ``path``: its bar frame (empty if the report has problems) and report.

    Raises ``DataError`` when the file cannot be read as a table of bars at all
    (unsupported extension, unreadable, no rows, missing columns, bad ``timeframe``).
    """
    fmt = file_format(Path(path))
    raw = read_table(Path(path), progress=progress)
    return validate(raw, path=Path(path), file_format=fmt, timeframe=timeframe, sort=sort)


# -- writing -------------------------------------------------------------------
def write_import(
    store: BarStore,
    exchange: str,
    symbol: str,
    timeframe: str,
    frame: pd.DataFrame,
    *,
    progress: bool = False,
) -> int:
    """Merge a validated bar frame into ``store`` one month at a time; return new bars added."""
    if frame.empty:
        return 0
    index = pd.DatetimeIndex(frame.index)
    months = np.asarray(index.year * 12 + index.month, dtype=np.int64)
    bounds = [0, *(np.flatnonzero(np.diff(months)) + 1).tolist(), len(frame)]
    added = 0
    with tqdm(
        total=len(frame),
        desc=f"writing {exchange} {symbol} {timeframe}",
        unit="bar",
        disable=not progress,
        leave=False,
    ) as bar:
        for start, stop in itertools.pairwise(bounds):
            added += store.write(exchange, symbol, timeframe, frame.iloc[start:stop])
            bar.update(stop - start)
    return added
