"""Schema migrations, applied in order; ``PRAGMA user_version`` is the schema version."""

from __future__ import annotations

import sqlite3

# Each migration is one SQL script, run atomically together with the version bump.
_V1_INITIAL = """
        CREATE TABLE orders (
            client_order_id TEXT PRIMARY KEY,
            strategy_id     TEXT NOT NULL,
            symbol          TEXT NOT NULL,
            side            TEXT NOT NULL,
            order_type      TEXT NOT NULL,
            qty             REAL NOT NULL,
            price           REAL,
            time_in_force   TEXT NOT NULL,
            post_only       INTEGER NOT NULL,
            reduce_only     INTEGER NOT NULL,
            status          TEXT NOT NULL,
            cum_qty         REAL NOT NULL DEFAULT 0,
            avg_price       REAL NOT NULL DEFAULT 0,
            venue_order_id  TEXT,
            reason          TEXT,
            ts_created      INTEGER NOT NULL,
            ts_updated      INTEGER NOT NULL
        );
        CREATE INDEX orders_by_strategy ON orders(strategy_id, ts_created);
        CREATE TABLE fills (
            exec_id         TEXT PRIMARY KEY,
            client_order_id TEXT NOT NULL,
            strategy_id     TEXT NOT NULL,
            symbol          TEXT NOT NULL,
            side            TEXT NOT NULL,
            qty             REAL NOT NULL,
            price           REAL NOT NULL,
            fee             REAL NOT NULL,
            fee_asset       TEXT NOT NULL,
            liquidity       TEXT,
            unsolicited     INTEGER NOT NULL DEFAULT 0,
            ts_event        INTEGER NOT NULL
        );
        CREATE INDEX fills_by_strategy ON fills(strategy_id, ts_event);
        CREATE TABLE agent_states (
            agent_id   TEXT PRIMARY KEY,
            symbol     TEXT NOT NULL,
            state      TEXT NOT NULL,
            payload    TEXT NOT NULL,
            ts_updated INTEGER NOT NULL
        );
        CREATE TABLE performance (
            agent_id TEXT NOT NULL,
            ts       INTEGER NOT NULL,
            equity   REAL NOT NULL,
            pnl      REAL NOT NULL,
            position REAL NOT NULL,
            trades   INTEGER NOT NULL,
            PRIMARY KEY (agent_id, ts)
        );
        CREATE TABLE forge_runs (
            task_id     TEXT PRIMARY KEY,
            symbol      TEXT NOT NULL,
            slot        TEXT NOT NULL,
            status      TEXT NOT NULL,
            agent_id    TEXT,
            report      TEXT,
            ts_started  INTEGER NOT NULL,
            ts_finished INTEGER
        );
        CREATE TABLE risk_events (
            id       INTEGER PRIMARY KEY AUTOINCREMENT,
            ts       INTEGER NOT NULL,
            kind     TEXT NOT NULL,
            scope    TEXT NOT NULL,
            target   TEXT NOT NULL DEFAULT '',
            source   TEXT NOT NULL,
            message  TEXT NOT NULL,
            seq      INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE trading_state (
            scope          TEXT NOT NULL,
            target         TEXT NOT NULL DEFAULT '',
            state          TEXT NOT NULL,
            entries_paused INTEGER NOT NULL DEFAULT 0,
            reason         TEXT NOT NULL,
            ts             INTEGER NOT NULL,
            PRIMARY KEY (scope, target)
        );
"""

# Every agent decision, including why it did nothing (votes, weights, multipliers and
# size in ``detail``, JSON); a person can query it with any SQLite client.
_V2_AGENT_DECISIONS = """
        CREATE TABLE agent_decisions (
            id              INTEGER PRIMARY KEY AUTOINCREMENT,
            ts              INTEGER NOT NULL,
            agent_id        TEXT NOT NULL,
            symbol          TEXT NOT NULL,
            action          TEXT NOT NULL,
            reason          TEXT NOT NULL,
            qty             REAL NOT NULL DEFAULT 0,
            price           REAL,
            client_order_id TEXT,
            detail          TEXT NOT NULL
        );
        CREATE INDEX agent_decisions_by_agent ON agent_decisions(agent_id, ts);
"""

# The Watchtower's log: every evaluation (keep / reap / undecided), every reap and
# what replaced it, with the reason and the figures (JSON).
_V3_WATCHTOWER = """
        CREATE TABLE watchtower_log (
            id       INTEGER PRIMARY KEY AUTOINCREMENT,
            ts       INTEGER NOT NULL,
            agent_id TEXT NOT NULL,
            symbol   TEXT NOT NULL,
            event    TEXT NOT NULL,
            reason   TEXT NOT NULL,
            figures  TEXT NOT NULL
        );
        CREATE INDEX watchtower_log_by_agent ON watchtower_log(agent_id, ts);
"""

MIGRATIONS: tuple[str, ...] = (_V1_INITIAL, _V2_AGENT_DECISIONS, _V3_WATCHTOWER)
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring ``conn``'s database to SCHEMA_VERSION; return the version it started at."""
    current = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if current > SCHEMA_VERSION:
        raise RuntimeError(
            f"journal schema version {current} is newer than this Crucible ({SCHEMA_VERSION})"
        )
    for version in range(current, SCHEMA_VERSION):
        conn.executescript(
            f"BEGIN;\n{MIGRATIONS[version]}\nPRAGMA user_version = {version + 1};\nCOMMIT;"
        )
    return current
