"""Journal: a writer thread owns the SQLite connection (WAL mode).

The order path is the exception, kept off both the writer thread and the
engine loop's own time, because any other thread that works while an order
is in flight competes with the loop for the interpreter lock exactly then:

* an order's intent is appended to the intent log (``OrderIntentLog``, an
  append-only file of the order frames beside the journal) immediately
  before the order leaves, so an order can never reach the venue without a
  record that survives the process;
* the ``orders`` and ``fills`` rows are staged by ``OrderJournal`` on the loop
  (an order's row waits for its first answer) and written in batches by the
  order journal process (``OrderWriterProcess``), or in process if that
  process is unavailable.

The writer thread handles every other table and runs the WAL checkpoints.

Every write through the writer thread returns a ``concurrent.futures.Future``
that resolves once the row is committed, so callers that must know a row is
durable can await it, and nobody else waits. Writes queued together are
committed in one transaction. In WAL mode a committed transaction survives a
crash or ``kill -9`` of the process whatever the ``synchronous`` setting
(``NORMAL`` here, ``OFF`` for the order rows); only an OS crash or a
power loss can lose the last ones.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import sqlite3
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from engine.journal.connection import connect
from engine.journal.intent_log import OrderIntentLog
from engine.journal.migrations import migrate
from engine.journal.order_journal import OrderJournal
from engine.journal.order_rows import (
    INSERT_FILL,
    UPSERT_REPORTED,
    OrderRows,
    intent_row,
    reported_row,
)
from engine.journal.order_writer_process import OrderWriterProcess
from engine.journal.recovery import restore_unwritten_intents
from engine.journal.statements import INSERT_INTENT
from engine.model.commands import NewOrder
from engine.model.enums import Scope, TradingState
from engine.model.events import Fill, OrderUpdate, RiskEvent

log = logging.getLogger(__name__)

_STOP = object()


class Journal:
    """Append-mostly record of what the engine did; one writer thread."""

    def __init__(self, path: Path, batch_max: int = 512) -> None:
        self.path = path
        self._batch_max = batch_max
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.committed = 0
        self.failed = 0
        self.checkpoint_interval_s = 2.0

    # -- lifecycle -----------------------------------------------------------
    def open(self) -> None:
        """Create/migrate the database and start the writer thread (idempotent)."""
        if self._thread is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = connect(self.path)
        start_version = migrate(conn)
        if start_version:
            log.info("journal %s at schema version %d", self.path, start_version)
        restore_unwritten_intents(conn, self.intent_path)
        self._thread = threading.Thread(
            target=self._run, args=(conn,), name="journal-writer", daemon=True
        )
        self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        """Commit what is queued, stop the writer and close the connection."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._queue.put(_STOP)
        thread.join(timeout)
        if thread.is_alive():
            log.error("journal writer did not stop within %.1f s", timeout)

    @property
    def is_open(self) -> bool:
        return self._thread is not None

    @property
    def intent_path(self) -> Path:
        return self.path.with_name(self.path.stem + ".intents.log")

    def intent_log(self) -> OrderIntentLog:
        """The order sender's intent log (see OrderIntentLog)."""
        return OrderIntentLog(self.intent_path)

    def order_journal(self, *, in_process: bool = False) -> OrderJournal:
        """The engine loop's journal of order rows (see OrderJournal).

        The rows are written by a child process unless ``in_process``: on the order
        path the SQLite work is the engine loop's largest single cost.
        """
        if not in_process:
            try:
                return OrderJournal(OrderWriterProcess.start(self.path))
            except OSError as exc:
                log.error("could not start the order journal process (%s): writing in process", exc)
        return OrderJournal(OrderRows(self.path))

    # -- writing -------------------------------------------------------------
    def submit(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> Future[None]:
        """Queue one statement; the future resolves when it is committed."""
        fut: Future[None] = Future()
        if self._thread is None:
            fut.set_exception(RuntimeError("journal is not open"))
            return fut
        self._queue.put((sql, params, fut))
        return fut

    async def write(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> None:
        """Queue one statement and wait (without blocking the loop) until committed."""
        await asyncio.wrap_future(self.submit(sql, params))

    def _run(self, conn: sqlite3.Connection) -> None:
        try:
            while True:
                try:
                    item = self._queue.get(timeout=self.checkpoint_interval_s)
                except queue.Empty:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                    continue
                if item is _STOP:
                    return
                batch = [item]
                stop = False
                while len(batch) < self._batch_max:
                    try:
                        nxt = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is _STOP:
                        stop = True
                        break
                    batch.append(nxt)
                self._commit(conn, batch)
                if stop:
                    return
        finally:
            conn.close()

    def _commit(self, conn: sqlite3.Connection, batch: list[Any]) -> None:
        outcomes: list[tuple[Future[None], BaseException | None]] = []
        try:
            conn.execute("BEGIN")
            for sql, params, fut in batch:
                try:
                    conn.execute(sql, params)
                    outcomes.append((fut, None))
                except sqlite3.Error as exc:
                    log.error("journal statement failed: %s (%s)", exc, sql.split("(")[0].strip())
                    outcomes.append((fut, exc))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            log.exception("journal commit failed")
            outcomes = [(fut, exc) for _, _, fut in batch]
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        for fut, err in outcomes:
            if err is None:
                self.committed += 1
                fut.set_result(None)
            else:
                self.failed += 1
                fut.set_exception(err)

    # -- typed records ---------------------------------------------------------
    def record_order_intent(self, order: NewOrder, ts: int) -> Future[None]:
        """Record an order's row (the link itself uses OrderIntentLog and OrderJournal)."""
        return self.submit(INSERT_INTENT, intent_row(order, ts))

    def record_order_update(self, u: OrderUpdate) -> Future[None]:
        return self.submit(UPSERT_REPORTED, reported_row(u))

    def record_fill(self, f: Fill) -> Future[None]:
        return self.submit(
            INSERT_FILL,
            (
                f.exec_id,
                f.client_order_id,
                f.strategy_id,
                f.symbol,
                f.side,
                f.qty,
                f.price,
                f.fee,
                f.fee_asset,
                f.liquidity,
                int(f.unsolicited),
                f.ts_event,
            ),
        )

    def record_risk_event(self, e: RiskEvent) -> Future[None]:
        return self.submit(
            "INSERT INTO risk_events (ts, kind, scope, target, source, message, seq)"
            " VALUES (?,?,?,?,?,?,?)",
            (e.ts_event, e.kind.value, e.scope.value, e.target or "", e.source, e.message, e.seq),
        )

    def save_agent_state(
        self, agent_id: str, symbol: str, state: str, payload: dict[str, Any], ts: int
    ) -> Future[None]:
        return self.submit(
            "INSERT INTO agent_states (agent_id, symbol, state, payload, ts_updated) VALUES (?,?,?,?,?)"
            " ON CONFLICT(agent_id) DO UPDATE SET symbol=excluded.symbol, state=excluded.state,"
            " payload=excluded.payload, ts_updated=excluded.ts_updated",
            (agent_id, symbol, state, json.dumps(payload, sort_keys=True), ts),
        )

    def record_decision(
        self,
        ts: int,
        agent_id: str,
        symbol: str,
        action: str,
        reason: str,
        qty: float,
        price: float | None,
        client_order_id: str | None,
        detail: dict[str, Any],
    ) -> Future[None]:
        return self.submit(
            "INSERT INTO agent_decisions (ts, agent_id, symbol, action, reason, qty, price,"
            " client_order_id, detail) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                ts,
                agent_id,
                symbol,
                action,
                reason,
                qty,
                price,
                client_order_id,
                json.dumps(detail, sort_keys=True, default=str),
            ),
        )

    def record_watchtower(
        self,
        ts: int,
        agent_id: str,
        symbol: str,
        event: str,
        reason: str,
        figures: dict[str, Any],
    ) -> Future[None]:
        """One line of the Watchtower's log (an evaluation, a reap, a replacement)."""
        return self.submit(
            "INSERT INTO watchtower_log (ts, agent_id, symbol, event, reason, figures)"
            " VALUES (?,?,?,?,?,?)",
            (ts, agent_id, symbol, event, reason, json.dumps(figures, sort_keys=True, default=str)),
        )

    def record_performance(
        self, agent_id: str, ts: int, equity: float, pnl: float, position: float, trades: int
    ) -> Future[None]:
        return self.submit(
            "INSERT OR REPLACE INTO performance (agent_id, ts, equity, pnl, position, trades)"
            " VALUES (?,?,?,?,?,?)",
            (agent_id, ts, equity, pnl, position, trades),
        )

    def record_forge_run(
        self,
        task_id: str,
        symbol: str,
        slot: str,
        status: str,
        ts_started: int,
        *,
        agent_id: str | None = None,
        report: dict[str, Any] | None = None,
        ts_finished: int | None = None,
    ) -> Future[None]:
        return self.submit(
            "INSERT INTO forge_runs (task_id, symbol, slot, status, agent_id, report, ts_started,"
            " ts_finished) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(task_id) DO UPDATE SET"
            " status=excluded.status, agent_id=excluded.agent_id, report=excluded.report,"
            " ts_finished=excluded.ts_finished",
            (
                task_id,
                symbol,
                slot,
                status,
                agent_id,
                json.dumps(report, sort_keys=True, default=str) if report is not None else None,
                ts_started,
                ts_finished,
            ),
        )

    def set_trading_state(
        self,
        scope: Scope,
        target: str | None,
        state: TradingState,
        entries_paused: bool,
        reason: str,
        ts: int,
    ) -> Future[None]:
        return self.submit(
            "INSERT INTO trading_state (scope, target, state, entries_paused, reason, ts)"
            " VALUES (?,?,?,?,?,?) ON CONFLICT(scope, target) DO UPDATE SET state=excluded.state,"
            " entries_paused=excluded.entries_paused, reason=excluded.reason, ts=excluded.ts",
            (scope.value, target or "", state.value, int(entries_paused), reason, ts),
        )
