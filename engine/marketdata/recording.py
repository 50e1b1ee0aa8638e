"""Parquet format of Crucible's own L2 recordings (written by the L2 collector, read by replay).

Layout: ``<root>/<BASE-QUOTE>/book/<start>.parquet`` and
``<root>/<BASE-QUOTE>/trades/<start>.parquet``, one file per rotation period.
Book rows hold the top levels as list columns (best first); trade rows
mirror ``Trade``. Timestamps are int64 ns since the epoch.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from engine.core.errors import DataError
from engine.model.enums import Side
from engine.model.market import BookSnapshot, Trade

BOOK_SCHEMA: Final = pa.schema(
    [
        ("ts_event", pa.int64()),
        ("ts_init", pa.int64()),
        ("symbol", pa.string()),
        ("seq", pa.int64()),
        ("stale", pa.bool_()),
        ("bid_px", pa.list_(pa.float64())),
        ("bid_qty", pa.list_(pa.float64())),
        ("ask_px", pa.list_(pa.float64())),
        ("ask_qty", pa.list_(pa.float64())),
    ]
)
TRADE_SCHEMA: Final = pa.schema(
    [
        ("ts_event", pa.int64()),
        ("ts_init", pa.int64()),
        ("symbol", pa.string()),
        ("seq", pa.int64()),
        ("price", pa.float64()),
        ("qty", pa.float64()),
        ("aggressor", pa.string()),
        ("trade_id", pa.string()),
    ]
)


def books_to_table(snapshots: Iterable[BookSnapshot], depth: int) -> pa.Table:
    """Book snapshots (top ``depth`` levels each) as a table of ``BOOK_SCHEMA``."""
    rows = list(snapshots)
    return pa.table(
        {
            "ts_event": [s.ts_event for s in rows],
            "ts_init": [s.ts_init for s in rows],
            "symbol": [s.symbol for s in rows],
            "seq": [s.seq for s in rows],
            "stale": [s.stale for s in rows],
            "bid_px": [s.bids[:depth, 0].tolist() for s in rows],
            "bid_qty": [s.bids[:depth, 1].tolist() for s in rows],
            "ask_px": [s.asks[:depth, 0].tolist() for s in rows],
            "ask_qty": [s.asks[:depth, 1].tolist() for s in rows],
        },
        schema=BOOK_SCHEMA,
    )


def trades_to_table(trades: Iterable[Trade]) -> pa.Table:
    """Trades as a table of ``TRADE_SCHEMA``."""
    rows = list(trades)
    return pa.table(
        {
            "ts_event": [t.ts_event for t in rows],
            "ts_init": [t.ts_init for t in rows],
            "symbol": [t.symbol for t in rows],
            "seq": [t.seq for t in rows],
            "price": [t.price for t in rows],
            "qty": [t.qty for t in rows],
            "aggressor": [t.aggressor.value for t in rows],
            "trade_id": [t.trade_id for t in rows],
        },
        schema=TRADE_SCHEMA,
    )


def _levels(prices: list[float], qtys: list[float]) -> np.ndarray:
    return np.column_stack([prices, qtys]) if prices else np.zeros((0, 2))


def _read_file(path: Path) -> Iterator[BookSnapshot | Trade]:
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise DataError(f"cannot read recording {path}: {exc}") from None
    names = set(table.schema.names)
    if {"bid_px", "ask_px"} <= names:
        for row in table.to_pylist():
            bids = _levels(row["bid_px"], row["bid_qty"])
            asks = _levels(row["ask_px"], row["ask_qty"])
            bids.setflags(write=False)
            asks.setflags(write=False)
            yield BookSnapshot(
                row["symbol"], row["ts_event"], row["ts_init"], bids, asks, row["seq"], row["stale"]
            )
    elif {"price", "aggressor"} <= names:
        for row in table.to_pylist():
            yield Trade(
                row["symbol"],
                row["ts_event"],
                row["ts_init"],
                row["price"],
                row["qty"],
                Side(row["aggressor"]),
                row["trade_id"],
                row["seq"],
            )
    else:
        raise DataError(f"{path} is not an L2 recording (columns {sorted(names)})")


def read_l2_parquet(path: Path | str) -> Iterator[BookSnapshot | Trade]:
    """Replay a recording (one file, or every ``.parquet`` under a folder) in time order."""
    path = Path(path)
    files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
    if not files or not all(f.is_file() for f in files):
        raise DataError(f"no L2 recording at {path}")
    streams = [_read_file(f) for f in files]
    yield from heapq.merge(*streams, key=lambda record: record.ts_event)
