"""Restore the order rows a crash kept from reaching the journal.

The engine writes an order's frame to the intent log before sending it, and
its ``orders`` row later (see ``OrderJournal``). If the process dies in
between, the row is missing; at the next open the log's recent intents that
have no row are inserted as PENDING_NEW: sent, outcome not yet known.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from engine.journal.intent_log import read_intents
from engine.journal.order_rows import intent_row
from engine.journal.statements import INSERT_INTENT

log = logging.getLogger(__name__)

# Rows are written in batches up to a few hundred ms after their intent: look back further.
LOOKBACK_NS = 60 * 1_000_000_000


def restore_unwritten_intents(conn: sqlite3.Connection, intent_path: Path) -> list[str]:
    """Insert a PENDING_NEW row for each recent intent without one; return their ids."""
    latest = conn.execute("SELECT MAX(ts_created) FROM orders").fetchone()[0]
    since = None if latest is None else int(latest) - LOOKBACK_NS
    records = read_intents(intent_path, since)
    if not records:
        return []
    known = {
        row[0]
        for row in conn.execute(
            "SELECT client_order_id FROM orders WHERE ts_created >= ?", (since or 0,)
        )
    }
    missing = [r for r in records if r.client_order_id not in known]
    if missing:
        with conn:
            conn.execute("BEGIN")
            conn.executemany(INSERT_INTENT, [intent_row(r, r.ts) for r in missing])
        log.warning(
            "restored %d order rows from the intent log (sent before a crash, outcome unknown)",
            len(missing),
        )
    return [r.client_order_id for r in missing]
