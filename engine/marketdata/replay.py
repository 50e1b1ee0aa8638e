"""Readers for recorded market data, yielding the engine's normalized types.

* ``read_binance_capture``: raw Binance websocket captures
  (``<receive ns> <json>`` per line, streams ``@depth``, ``@trade``,
  ``@bookTicker`` plus REST depth snapshots). The book is rebuilt by Binance's
  documented procedure: buffer diffs, take the snapshot, drop diffs with
  ``u <= lastUpdateId``, start at the diff with ``U <= lastUpdateId + 1 <= u``,
  then require ``U == previous u + 1``; a break marks the book stale until the
  next snapshot.
* ``read_l2_jsonl``: JSON lines in the wire format of docs/protocol.md
  (Cerebellum's ``history --l2-out``, or any dump of the PUB stream).
* ``read_book_tickers``: the capture's ``@bookTicker`` stream (best bid/ask),
  used to check the rebuilt book.

Malformed lines are counted and skipped (a summary is logged), never fatal.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import IO, Any, Final

from engine.core.errors import DataError
from engine.marketdata.book import L2Book, parse_levels
from engine.model.enums import Side
from engine.model.events import BookStatus
from engine.model.market import BookSnapshot, Trade, levels_array

log = logging.getLogger(__name__)

MarketRecord = BookSnapshot | Trade | BookStatus

_QUOTES: Final = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "BTC", "ETH", "BNB", "EUR", "TRY", "USD")
_MAX_BUFFERED_DIFFS: Final = 10_000


def unified_symbol(exchange_symbol: str) -> str:
    """``ETHUSDT`` -> ``ETH/USDT`` (by the quote assets Binance lists)."""
    upper = exchange_symbol.upper()
    if "/" in upper:
        return upper
    for quote in _QUOTES:
        if upper.endswith(quote) and len(upper) > len(quote):
            return f"{upper[: -len(quote)]}/{quote}"
    raise DataError(f"cannot tell base and quote apart in symbol {exchange_symbol!r}")


def _open_text(path: Path) -> IO[str]:
    if not path.is_file():
        raise DataError(f"recording {path} does not exist")
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open("r", encoding="utf-8")


@dataclass(frozen=True, slots=True)
class BookTicker:
    """One ``@bookTicker`` message: the venue's best bid/ask after update ``update_id``."""

    update_id: int
    bid: float
    bid_qty: float
    ask: float
    ask_qty: float
    ts_init: int


class _SyncState(Enum):
    WAIT_SNAPSHOT = "wait_snapshot"
    SYNCING = "syncing"
    LIVE = "live"


class BinanceBookSync:
    """Binance's snapshot + diff synchronisation for one symbol's book."""

    def __init__(self, symbol: str, depth: int) -> None:
        self.symbol = symbol
        self.depth = depth
        self.book = L2Book(symbol)
        self.state = _SyncState.WAIT_SNAPSHOT
        self.last_update_id = 0
        self.buffer: deque[tuple[int, dict[str, Any]]] = deque(maxlen=_MAX_BUFFERED_DIFFS)
        self.applied = 0
        self.skipped = 0
        self.gaps = 0

    def on_snapshot(self, ts_init: int, data: dict[str, Any]) -> Iterator[MarketRecord]:
        self.book.reset(parse_levels(data["bids"]), parse_levels(data["asks"]))
        self.last_update_id = int(data["lastUpdateId"])
        self.state = _SyncState.SYNCING
        pending = list(self.buffer)
        self.buffer.clear()
        for recv, diff in pending:
            yield from self.on_diff(recv, diff)

    def on_diff(self, ts_init: int, data: dict[str, Any]) -> Iterator[MarketRecord]:
        first, last = int(data["U"]), int(data["u"])
        bids, asks = (
            parse_levels(data["b"]),
            parse_levels(data["a"]),
        )  # malformed: raise before any change
        ts_event = int(data.get("E", 0)) * 1_000_000 or ts_init
        if self.state is _SyncState.WAIT_SNAPSHOT:
            self.buffer.append((ts_init, data))
            return
        if last <= self.last_update_id:
            self.skipped += 1
            return
        expected = self.last_update_id + 1
        if self.state is _SyncState.SYNCING:
            if first > expected:
                self.gaps += 1
                self.state = _SyncState.WAIT_SNAPSHOT
                self.buffer.append((ts_init, data))
                yield BookStatus(
                    self.symbol,
                    True,
                    f"snapshot lastUpdateId={self.last_update_id} is older than the diff stream "
                    f"(first diff U={first}); waiting for a new snapshot",
                    ts_event,
                )
                return
            self.state = _SyncState.LIVE
            yield BookStatus(self.symbol, False, f"synced at update id {last}", ts_event)
        elif first != expected:
            self.gaps += 1
            self.state = _SyncState.WAIT_SNAPSHOT
            self.buffer.append((ts_init, data))
            yield BookStatus(
                self.symbol,
                True,
                f"update id gap: expected U={expected}, got U={first}; waiting for a new snapshot",
                ts_event,
            )
            return
        self.book.apply(bids, asks)
        self.last_update_id = last
        self.applied += 1
        yield self.book.snapshot(depth=self.depth, ts_event=ts_event, ts_init=ts_init, seq=last)


def _split_capture_line(line: str) -> tuple[int, dict[str, Any]]:
    stamp, _, payload = line.partition(" ")
    obj = json.loads(payload)
    if not isinstance(obj, dict):
        raise ValueError("payload is not a JSON object")
    return int(stamp), obj


def _binance_trade(symbol: str, ts_init: int, data: dict[str, Any]) -> Trade:
    price, qty = float(data["p"]), float(data["q"])
    if not (price > 0 and qty >= 0):
        raise ValueError(f"bad trade price {price} qty {qty}")
    # "m": the buyer is the maker, so the seller took liquidity.
    aggressor = Side.SELL if data["m"] else Side.BUY
    return Trade(symbol, int(data["T"]) * 1_000_000, ts_init, price, qty, aggressor, str(data["t"]))


def read_binance_capture(
    path: Path | str, *, depth: int = 20, symbol: str | None = None
) -> Iterator[MarketRecord]:
    """Replay a raw Binance capture: rebuilt book snapshots, trades and sync status.

    A ``BookSnapshot`` (top ``depth`` levels, ``seq`` = the diff's last update
    id) follows every applied diff; ``BookStatus`` marks sync and every gap.
    A REST snapshot names no symbol: it belongs to the stream it is wrapped
    in, else to the only book of the capture (held until that book's first
    diff when it comes first).
    """
    path = Path(path)
    syncs: dict[str, BinanceBookSync] = {}
    orphan: tuple[int, dict[str, Any]] | None = None
    bad = 0
    with _open_text(path) as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                ts_init, obj = _split_capture_line(line)
                data = obj.get("data", obj)
                if "lastUpdateId" in data:
                    name = symbol or _symbol_of_snapshot(obj, syncs)
                    if name is None:
                        orphan = (ts_init, data)
                        continue
                    yield from _sync_for(syncs, name, depth).on_snapshot(ts_init, data)
                    continue
                kind = data.get("e")
                if kind == "depthUpdate":
                    name = symbol or unified_symbol(data["s"])
                    sync = syncs.get(name)
                    if sync is None:
                        sync = _sync_for(syncs, name, depth)
                        if orphan is not None:
                            yield from sync.on_snapshot(*orphan)
                            orphan = None
                    yield from sync.on_diff(ts_init, data)
                elif kind == "trade":
                    yield _binance_trade(symbol or unified_symbol(data["s"]), ts_init, data)
            except (ValueError, KeyError, TypeError, DataError) as exc:
                bad += 1
                if bad <= 3:
                    log.warning("%s: skipping malformed line: %s", path.name, exc)
    if bad:
        log.warning("%s: %d malformed lines skipped", path.name, bad)


def _sync_for(syncs: dict[str, BinanceBookSync], symbol: str, depth: int) -> BinanceBookSync:
    sync = syncs.get(symbol)
    if sync is None:
        sync = syncs[symbol] = BinanceBookSync(symbol, depth)
    return sync


def _symbol_of_snapshot(obj: dict[str, Any], syncs: dict[str, BinanceBookSync]) -> str | None:
    """The stream's symbol, else the only book seen so far, else None (not known yet)."""
    stream = obj.get("stream")
    if isinstance(stream, str):
        return unified_symbol(stream.split("@", 1)[0])
    if len(syncs) == 1:
        return next(iter(syncs))
    if not syncs:
        return None
    raise DataError("a depth snapshot without a symbol in a capture of several books")


def read_book_tickers(path: Path | str) -> Iterator[BookTicker]:
    """The ``@bookTicker`` messages of a Binance capture, in file order."""
    path = Path(path)
    with _open_text(path) as fh:
        for line in fh:
            if "bookTicker" not in line:
                continue
            try:
                ts_init, obj = _split_capture_line(line)
                d = obj.get("data", obj)
                yield BookTicker(
                    int(d["u"]), float(d["b"]), float(d["B"]), float(d["a"]), float(d["A"]), ts_init
                )
            except (ValueError, KeyError, TypeError):
                continue


def _wire_record(obj: dict[str, Any]) -> BookSnapshot | Trade | None:
    if obj.get("v") != 1:
        raise ValueError(f"unsupported protocol version {obj.get('v')!r}")
    kind = obj.get("type")
    ts_event = int(obj["ts_event"])
    ts_init = int(obj.get("ts_init", ts_event))
    if kind == "BookSnapshot":
        bids = levels_array(parse_levels(obj["bids"]))
        asks = levels_array(parse_levels(obj["asks"]))
        return BookSnapshot(str(obj["symbol"]), ts_event, ts_init, bids, asks, int(obj["seq"]))
    if kind == "Trade":
        price, qty = float(obj["price"]), float(obj["qty"])
        if not (price > 0 and qty >= 0):
            raise ValueError(f"bad trade price {price} qty {qty}")
        return Trade(
            str(obj["symbol"]),
            ts_event,
            ts_init,
            price,
            qty,
            Side(obj["aggressor"]),
            str(obj["trade_id"]),
            int(obj["seq"]),
        )
    return None


def read_l2_jsonl(path: Path | str) -> Iterator[BookSnapshot | Trade]:
    """Read wire-format ``BookSnapshot`` / ``Trade`` JSON lines (other types are ignored)."""
    path = Path(path)
    bad = 0
    with _open_text(path) as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                if not isinstance(obj, dict):
                    raise ValueError("line is not a JSON object")
                record = _wire_record(obj)
            except (ValueError, KeyError, TypeError) as exc:
                bad += 1
                if bad <= 3:
                    log.warning("%s: skipping malformed line: %s", path.name, exc)
                continue
            if record is not None:
                yield record
    if bad:
        log.warning("%s: %d malformed lines skipped", path.name, bad)
