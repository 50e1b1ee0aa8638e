"""BarStore: OHLCV history in Parquet, partitioned by exchange / symbol / timeframe / month.

Layout under ``root`` (``config.paths.data_dir / "bars"``)::

    <exchange>/<BASE-QUOTE>/<timeframe>/<YYYY-MM>.parquet

Monthly files keep a merge cheap: writing a page of bars rewrites only the
months it touches (about 45k rows per month of 1-minute bars). Each file is
written to a temporary name and renamed into place, so a reader never sees a
half-written file. Simulated history is stored under exchange ``sim``.
Methods block on disk I/O: call them from a thread when on the event loop.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from engine.core.errors import DataError
from engine.marketdata.frames import BAR_COLUMNS, INDEX_NAME, clean_bars, empty_bar_frame
from engine.marketdata.timeframes import timeframe_ms

if TYPE_CHECKING:
    from engine.config import CrucibleConfig

log = logging.getLogger(__name__)

_EXCHANGE_RE: Final = re.compile(r"^[a-z0-9_]{2,32}$")
_SYMBOL_RE: Final = re.compile(r"^[A-Z0-9]{1,20}/[A-Z0-9]{1,20}(:[A-Z0-9]{1,20})?$")
_MONTH_FILE_RE: Final = re.compile(r"^(\d{4})-(\d{2})\.parquet$")


def symbol_to_dirname(symbol: str) -> str:
    """``BTC/USDT`` -> ``BTC-USDT``; ``BTC/USDT:USDT`` (a perpetual) -> ``BTC-USDT_USDT``."""
    if not isinstance(symbol, str) or not _SYMBOL_RE.match(symbol):
        raise DataError(f"symbol {symbol!r} is not of the form BASE/QUOTE (e.g. BTC/USDT)")
    return symbol.replace("/", "-").replace(":", "_")


def dirname_to_symbol(name: str) -> str:
    """Inverse of ``symbol_to_dirname``."""
    return name.replace("-", "/", 1).replace("_", ":", 1)


def _check_exchange(exchange: str) -> str:
    if not isinstance(exchange, str) or not _EXCHANGE_RE.match(exchange):
        raise DataError(f"exchange name {exchange!r} must be lowercase letters, digits or '_'")
    return exchange


class BarStore:
    """Read and write bar frames (see ``engine.marketdata.frames``) on disk."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @classmethod
    def from_config(cls, config: CrucibleConfig) -> BarStore:
        """The store at ``paths.data_dir / "bars"``."""
        return cls(config.paths.resolve(config.paths.data_dir) / "bars")

    # -- paths -----------------------------------------------------------------
    def partition(self, exchange: str, symbol: str, timeframe: str) -> Path:
        """Directory holding one exchange/symbol/timeframe series."""
        timeframe_ms(timeframe)
        return self.root / _check_exchange(exchange) / symbol_to_dirname(symbol) / timeframe

    def _month_files(self, exchange: str, symbol: str, timeframe: str) -> list[Path]:
        folder = self.partition(exchange, symbol, timeframe)
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir() if _MONTH_FILE_RE.match(p.name))

    # -- write -----------------------------------------------------------------
    def write(self, exchange: str, symbol: str, timeframe: str, df: pd.DataFrame) -> int:
        """Merge ``df`` into the store; return how many new timestamps were added.

        The frame is cleaned first (``clean_bars``); a bar already stored at the
        same timestamp is replaced by the new one (newer data is more final).
        """
        folder = self.partition(exchange, symbol, timeframe)
        frame, report = clean_bars(df, timeframe, context=f"{exchange} {symbol} {timeframe}")
        if report.dropped or report.repaired_high_low:
            log.warning("%s %s %s: %s", exchange, symbol, timeframe, report.summary())
        if frame.empty:
            return 0
        folder.mkdir(parents=True, exist_ok=True)
        added = 0
        months = np.asarray(pd.DatetimeIndex(frame.index).strftime("%Y-%m"))
        for month in sorted(set(months)):
            part = frame[months == month]
            path = folder / f"{month}.parquet"
            if path.exists():
                existing = self._read_file(path)
                merged = pd.concat([existing, part])
                merged = merged[~merged.index.duplicated(keep="last")].sort_index()
                added += len(merged) - len(existing)
            else:
                merged = part
                added += len(part)
            self._write_file(path, merged)
        return added

    def delete(self, exchange: str, symbol: str, timeframe: str) -> bool:
        """Remove one series entirely; return whether anything was there."""
        folder = self.partition(exchange, symbol, timeframe)
        if not folder.exists():
            return False
        shutil.rmtree(folder)
        return True

    @staticmethod
    def _write_file(path: Path, frame: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(frame.reset_index(), preserve_index=False)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)

    @staticmethod
    def _read_file(
        path: Path, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None
    ) -> pd.DataFrame:
        try:
            frame = pq.read_table(path).to_pandas()
        except (OSError, pa.ArrowException) as exc:
            raise DataError(f"cannot read bar file {path}: {exc}") from None
        index = pd.DatetimeIndex(frame.pop(INDEX_NAME)).as_unit("ns")
        frame.index = index.tz_convert("UTC") if index.tz is not None else index.tz_localize("UTC")
        frame.index.name = INDEX_NAME
        if start is not None or end is not None:
            frame = frame.loc[start:end]
        return pd.DataFrame(frame)

    # -- read ------------------------------------------------------------------
    def load(
        self,
        exchange: str,
        symbol: str,
        timeframe: str,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """Return stored bars with ``start <= ts <= end`` (either bound optional).

        Raises ``DataError`` when nothing at all is stored for the series; an
        empty range of a stored series gives an empty frame.
        """
        files = self._month_files(exchange, symbol, timeframe)
        if not files:
            raise DataError(
                f"no {timeframe} bars stored for {exchange} {symbol} under {self.root}; "
                f"fill the store with `crucible data download` or `crucible data simulate`"
            )
        start_ts, end_ts = _utc(start), _utc(end)
        wanted = [p for p in files if _month_overlaps(p, start_ts, end_ts)]
        parts = [self._read_file(p, start_ts, end_ts) for p in wanted]
        parts = [p for p in parts if not p.empty]
        if not parts:
            return empty_bar_frame()
        frame = pd.concat(parts).sort_index()
        frame = frame[~frame.index.duplicated(keep="last")]
        for column in BAR_COLUMNS:
            frame[column] = frame[column].astype(np.float64)
        return frame

    def last_timestamp(self, exchange: str, symbol: str, timeframe: str) -> pd.Timestamp | None:
        """Open time of the newest stored bar, or None when the series is empty."""
        for path in reversed(self._month_files(exchange, symbol, timeframe)):
            column = pq.read_table(path, columns=[INDEX_NAME]).column(INDEX_NAME)
            if len(column):
                newest = pd.Timestamp(pc.max(column).as_py())
                return newest.tz_localize("UTC") if newest.tz is None else newest.tz_convert("UTC")
        return None

    def first_timestamp(self, exchange: str, symbol: str, timeframe: str) -> pd.Timestamp | None:
        """Open time of the oldest stored bar, or None when the series is empty."""
        for path in self._month_files(exchange, symbol, timeframe):
            column = pq.read_table(path, columns=[INDEX_NAME]).column(INDEX_NAME)
            if len(column):
                oldest = pd.Timestamp(pc.min(column).as_py())
                return oldest.tz_localize("UTC") if oldest.tz is None else oldest.tz_convert("UTC")
        return None

    def symbols(self, exchange: str, timeframe: str) -> list[str]:
        """Every symbol with stored bars of ``timeframe`` on ``exchange``."""
        folder = self.root / _check_exchange(exchange)
        if not folder.is_dir():
            return []
        return sorted(
            dirname_to_symbol(d.name)
            for d in folder.iterdir()
            if d.is_dir() and any((d / timeframe).glob("*.parquet"))
        )

    def exchanges(self) -> list[str]:
        """Every exchange with a folder in the store."""
        if not self.root.is_dir():
            return []
        return sorted(
            d.name for d in self.root.iterdir() if d.is_dir() and _EXCHANGE_RE.match(d.name)
        )

    def timeframes(self, exchange: str, symbol: str) -> list[str]:
        """Every timeframe stored for one exchange and symbol."""
        folder = self.root / _check_exchange(exchange) / symbol_to_dirname(symbol)
        if not folder.is_dir():
            return []
        return sorted(d.name for d in folder.iterdir() if d.is_dir() and any(d.glob("*.parquet")))


def _utc(ts: pd.Timestamp | str | None) -> pd.Timestamp | None:
    if ts is None:
        return None
    stamp = pd.Timestamp(ts)
    return stamp.tz_localize("UTC") if stamp.tz is None else stamp.tz_convert("UTC")


def _month_overlaps(path: Path, start: pd.Timestamp | None, end: pd.Timestamp | None) -> bool:
    match = _MONTH_FILE_RE.match(path.name)
    if match is None:
        return False
    first = pd.Timestamp(year=int(match.group(1)), month=int(match.group(2)), day=1, tz="UTC")
    after = first + pd.offsets.MonthBegin(1)
    if start is not None and after <= start:
        return False
    return not (end is not None and first > end)
