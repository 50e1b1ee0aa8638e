"""Read helpers over the journal (their own read-only connection; WAL allows it)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.journal.connection import connect
from engine.model.enums import Scope, TradingState


@dataclass(frozen=True, slots=True)
class PersistedTradingState:
    scope: Scope
    target: str | None
    state: TradingState
    entries_paused: bool
    reason: str
    ts: int


class JournalReader:
    """Read-only queries; safe to call from any thread, one connection each."""

    def __init__(self, path: Path) -> None:
        self._conn: sqlite3.Connection = connect(path, readonly=True)

    def close(self) -> None:
        self._conn.close()

    def trading_states(self) -> list[PersistedTradingState]:
        rows = self._conn.execute(
            "SELECT scope, target, state, entries_paused, reason, ts FROM trading_state"
        ).fetchall()
        return [
            PersistedTradingState(
                Scope(r["scope"]),
                r["target"] or None,
                TradingState(r["state"]),
                bool(r["entries_paused"]),
                r["reason"],
                r["ts"],
            )
            for r in rows
        ]

    def open_orders(self) -> list[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT * FROM orders WHERE status IN ('PENDING_NEW','NEW','PARTIALLY_FILLED')"
        ).fetchall()
        return [dict(r) for r in rows]

    def order(self, client_order_id: str) -> dict[str, Any] | None:
        row = self._conn.execute(
            "SELECT * FROM orders WHERE client_order_id=?", (client_order_id,)
        ).fetchone()
        return dict(row) if row else None

    def fills(self, strategy_id: str | None = None) -> list[dict[str, Any]]:
        if strategy_id is None:
            rows = self._conn.execute("SELECT * FROM fills ORDER BY ts_event").fetchall()
        else:
            rows = self._conn.execute(
                "SELECT * FROM fills WHERE strategy_id=? ORDER BY ts_event", (strategy_id,)
            ).fetchall()
        return [dict(r) for r in rows]

    def agent_states(self) -> dict[str, dict[str, Any]]:
        rows = self._conn.execute("SELECT * FROM agent_states").fetchall()
        return {
            r["agent_id"]: {"symbol": r["symbol"], "state": r["state"], **json.loads(r["payload"])}
            for r in rows
        }

    def decisions(self, agent_id: str, limit: int = 100) -> list[dict[str, Any]]:
        """An agent's newest decisions first, ``detail`` decoded."""
        rows = self._conn.execute(
            "SELECT * FROM agent_decisions WHERE agent_id=? ORDER BY id DESC LIMIT ?",
            (agent_id, limit),
        ).fetchall()
        return [dict(r) | {"detail": json.loads(r["detail"])} for r in rows]

    def watchtower_log(self, limit: int = 200) -> list[dict[str, Any]]:
        """The Watchtower's newest lines first, ``figures`` decoded."""
        rows = self._conn.execute(
            "SELECT * FROM watchtower_log ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
        return [dict(r) | {"figures": json.loads(r["figures"])} for r in rows]

    def performance(self, agent_id: str, since_ts: int = 0) -> list[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT * FROM performance WHERE agent_id=? AND ts>=? ORDER BY ts", (agent_id, since_ts)
        ).fetchall()
        return [dict(r) for r in rows]

    def risk_events(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT * FROM risk_events ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
        return [dict(r) for r in rows]

    def forge_runs(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self._conn.execute("SELECT * FROM forge_runs").fetchall()]

    def count(self, table: str) -> int:
        if not table.isidentifier():
            raise ValueError(f"bad table name {table!r}")
        return int(self._conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
