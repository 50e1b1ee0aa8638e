"""L2Collector: records book snapshots and trades from the bus to rotating Parquet files.

Books are sampled: per symbol, a snapshot is kept only if ``interval_ms`` has
passed (in ``ts_event``) since the last one kept, truncated to ``depth``
levels. Trades are all kept (``record_trades``). Rows are buffered on the
loop and handed to a single writer thread every ``flush_rows`` rows or ten
seconds, whichever comes first (disk
writes never run on the event loop, and one thread keeps them in order).
A file is closed and a new one started every ``rotate_minutes``, so a crash
loses at most one rotation period. Format: ``engine.marketdata.recording``.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from engine.core import topics
from engine.core.bus import EventBus, Subscription
from engine.core.clock import Clock
from engine.core.tasks import TaskSupervisor
from engine.marketdata.config import L2CollectorConfig
from engine.marketdata.recording import books_to_table, trades_to_table
from engine.marketdata.store import symbol_to_dirname
from engine.model.market import BookSnapshot, Trade

log = logging.getLogger(__name__)

_FLUSH_EVERY_S = 10.0


class _RotatingWriters:
    """Parquet writers per (symbol, kind); used only from the collector's writer thread."""

    def __init__(self, root: Path, rotate_ns: int) -> None:
        self.root = root
        self.rotate_ns = rotate_ns
        self._open: dict[tuple[str, str], tuple[pq.ParquetWriter, int, Path]] = {}
        self.files: list[Path] = []
        self.rows = 0

    def write(self, symbol: str, kind: str, table: pa.Table, now_ns: int) -> None:
        key = (symbol, kind)
        current = self._open.get(key)
        if current is not None and now_ns - current[1] >= self.rotate_ns:
            self._close(key)
            current = None
        if current is None:
            folder = self.root / symbol_to_dirname(symbol) / kind
            folder.mkdir(parents=True, exist_ok=True)
            stamp = f"{now_ns // 1_000_000_000:011d}-{now_ns % 1_000_000_000:09d}"
            path = folder / f"{stamp}.parquet"
            writer = pq.ParquetWriter(path, table.schema, compression="zstd")
            current = self._open[key] = (writer, now_ns, path)
            self.files.append(path)
        current[0].write_table(table)
        self.rows += table.num_rows

    def _close(self, key: tuple[str, str]) -> None:
        writer, _, path = self._open.pop(key)
        writer.close()
        log.debug("closed L2 recording %s", path)

    def close_all(self) -> None:
        for key in list(self._open):
            self._close(key)


class L2Collector:
    """Engine component recording ``md.book.*`` (sampled) and ``md.trade.*`` to Parquet."""

    def __init__(
        self,
        bus: EventBus,
        clock: Clock,
        config: L2CollectorConfig,
        supervisor: TaskSupervisor,
        root: Path,
    ) -> None:
        self.name = "l2-collector"
        self.bus = bus
        self.supervisor = supervisor
        self._timer: asyncio.Task[Any] | None = None
        self.clock = clock
        self.config = config
        self.root = Path(root)
        self._interval_ns = config.interval_ms * 1_000_000
        self._writers = _RotatingWriters(self.root, int(config.rotate_minutes * 60e9))
        self._books: dict[str, list[BookSnapshot]] = {}
        self._trades: dict[str, list[Trade]] = {}
        self._last_kept: dict[str, int] = {}
        self._buffered = 0
        self._subs: list[Subscription] = []
        self._executor: ThreadPoolExecutor | None = None
        self._pending: list[Future[None]] = []
        self.recorded_books = 0
        self.recorded_trades = 0
        self.write_errors = 0

    @property
    def files(self) -> list[Path]:
        """Every file this collector has opened."""
        return list(self._writers.files)

    async def start(self) -> None:
        if self._executor is not None or not self.config.enabled:
            if not self.config.enabled:
                log.info("L2 collector disabled (data.l2.enabled = false)")
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="l2-writer")
        self._subs.append(
            self.bus.subscribe(topics.all_of("md.book"), self.on_book, name="l2:books")
        )
        if self.config.record_trades:
            self._subs.append(
                self.bus.subscribe(topics.all_of("md.trade"), self.on_trade, name="l2:trades")
            )
        self._timer = self.supervisor.spawn(f"{self.name}:flush", self._flush_periodically())

    async def stop(self) -> None:
        executor = self._executor
        if executor is None:
            return
        for sub in self._subs:
            self.bus.unsubscribe(sub)
        self._subs.clear()
        if self._timer is not None:
            self._timer.cancel()
            await asyncio.gather(self._timer, return_exceptions=True)
            self._timer = None
        self.flush()
        self._pending.append(executor.submit(self._writers.close_all))
        pending, self._pending = self._pending, []
        await asyncio.gather(*(asyncio.wrap_future(f) for f in pending), return_exceptions=True)
        executor.shutdown(wait=True)
        self._executor = None

    def on_book(self, _topic: str, snap: BookSnapshot) -> None:
        """Bus handler: keep the snapshot if the sampling interval has passed."""
        last = self._last_kept.get(snap.symbol)
        if last is not None and snap.ts_event - last < self._interval_ns:
            return
        self._last_kept[snap.symbol] = snap.ts_event
        self._books.setdefault(snap.symbol, []).append(snap)
        self.recorded_books += 1
        self._count_row()

    def on_trade(self, _topic: str, trade: Trade) -> None:
        """Bus handler: keep every trade."""
        self._trades.setdefault(trade.symbol, []).append(trade)
        self.recorded_trades += 1
        self._count_row()

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(_FLUSH_EVERY_S)
            self.flush()

    def _count_row(self) -> None:
        self._buffered += 1
        if self._buffered >= self.config.flush_rows:
            self.flush()

    def flush(self) -> None:
        """Hand every buffered row to the writer thread."""
        if self._executor is None:
            return
        books, self._books = self._books, {}
        trades, self._trades = self._trades, {}
        self._buffered = 0
        if not books and not trades:
            return
        now = self.clock.timestamp_ns()
        future = self._executor.submit(self._write, books, trades, now)
        future.add_done_callback(self._on_written)
        self._pending = [f for f in self._pending if not f.done()] + [future]

    def _write(
        self, books: dict[str, list[BookSnapshot]], trades: dict[str, list[Trade]], now: int
    ) -> None:
        for symbol, rows in books.items():
            self._writers.write(symbol, "book", books_to_table(rows, self.config.depth), now)
        for symbol, items in trades.items():
            self._writers.write(symbol, "trades", trades_to_table(items), now)

    def _on_written(self, future: Future[Any]) -> None:
        exc = future.exception()
        if exc is not None:
            self.write_errors += 1
            log.error("L2 collector write failed: %r", exc)
