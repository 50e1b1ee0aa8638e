"""Journal: WAL, migrations, typed records, and durability across kill -9."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from engine.journal import Journal
from engine.journal.migrations import SCHEMA_VERSION, migrate
from engine.journal.queries import JournalReader
from engine.model.commands import NewOrder
from engine.model.enums import (
    Liquidity,
    OrderStatus,
    OrderType,
    RiskEventKind,
    Scope,
    Side,
    TradingState,
)
from engine.model.events import Fill, OrderUpdate, RiskEvent


def test_journal_opens_in_wal_mode_at_current_schema(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite")
    j.open()
    j.close()
    conn = sqlite3.connect(tmp_path / "j.sqlite")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {
        "orders",
        "fills",
        "agent_states",
        "performance",
        "forge_runs",
        "risk_events",
        "trading_state",
    } <= tables


def test_migrate_is_idempotent_and_refuses_newer_schema(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "m.sqlite", isolation_level=None)
    assert migrate(conn) == 0
    assert migrate(conn) == SCHEMA_VERSION
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(RuntimeError, match="newer"):
        migrate(conn)


async def test_order_lifecycle_fill_and_state_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    j = Journal(path)
    j.open()
    order = NewOrder("c-1", "agent-1", "BTC/USDT", Side.BUY, OrderType.LIMIT, 0.5, 60000.0)
    j.record_order_intent(order, ts=1)
    update = OrderUpdate(
        seq=1,
        client_order_id="c-1",
        venue_order_id="S-1",
        strategy_id="agent-1",
        symbol="BTC/USDT",
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        status=OrderStatus.FILLED,
        price=60000.0,
        qty=0.5,
        cum_qty=0.5,
        avg_price=60000.0,
        leaves_qty=0.0,
        ts_event=2,
        ts_init=2,
        last_qty=0.5,
        last_price=60000.0,
        fee=3.0,
        fee_asset="USDT",
        liquidity=Liquidity.MAKER,
        exec_id="E-1",
    )
    j.record_order_update(update)
    fill = Fill.from_update(update)
    j.record_fill(fill)
    j.record_fill(fill)  # a replayed fill is recorded once
    await j.write("SELECT 1")
    j.record_risk_event(RiskEvent(RiskEventKind.KILL_SWITCH, "operator", 3))
    j.set_trading_state(Scope.GLOBAL, None, TradingState.HALTED, False, "operator", 3)
    j.save_agent_state("agent-1", "BTC/USDT", "ACTIVE", {"position": 0.5}, 4).result(5)
    j.close()

    reader = JournalReader(path)
    row = reader.order("c-1")
    assert row is not None
    assert row["status"] == "FILLED"
    assert row["venue_order_id"] == "S-1"
    assert [f["exec_id"] for f in reader.fills("agent-1")] == ["E-1"]
    assert reader.trading_states()[0].state is TradingState.HALTED
    assert reader.agent_states()["agent-1"]["position"] == 0.5
    assert reader.risk_events()[0]["kind"] == "KILL_SWITCH"
    reader.close()


def test_failed_statement_fails_only_its_own_future(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite")
    j.open()
    order = NewOrder("dup", "a", "BTC/USDT", Side.BUY, OrderType.MARKET, 1.0)
    j.record_order_intent(order, 1)
    first = j.submit("SELECT 1")
    second = j.submit("INSERT INTO fills (exec_id) VALUES ('incomplete')")  # NOT NULL columns
    third = j.submit(
        "INSERT INTO risk_events (ts, kind, scope, source, message) VALUES (1,'X','GLOBAL','t','m')"
    )
    first.result(5)
    with pytest.raises(sqlite3.IntegrityError):
        second.result(5)
    third.result(5)
    assert j.failed == 1
    j.close()


_CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from engine.journal import Journal

    j = Journal(Path(sys.argv[1]), batch_max=64)
    j.open()

    def acked(i):
        def cb(fut):
            if fut.exception() is None:
                sys.stdout.write(f"{i}\\n")
                sys.stdout.flush()
        return cb

    i = 0
    while True:
        fut = j.submit(
            "INSERT INTO risk_events (ts, kind, scope, source, message) VALUES (?,?,?,?,?)",
            (i, "LIMIT_BREACH", "GLOBAL", "child", "x" * 200 + str(i)),
        )
        fut.add_done_callback(acked(i))
        i += 1
        if i % 256 == 0:
            fut.result()
    """
)


def test_kill_9_mid_write_keeps_every_committed_row(tmp_path: Path) -> None:
    path = tmp_path / "crash.sqlite"
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    acked: list[int] = []
    deadline = time.monotonic() + 60
    while len(acked) < 5_000 and time.monotonic() < deadline:
        line = child.stdout.readline()
        if not line:
            break
        acked.append(int(line))
    child.send_signal(signal.SIGKILL)  # mid-write: the child never stops submitting
    child.wait(10)
    # Acks already in the pipe were committed too.
    acked.extend(int(x) for x in child.stdout.read().split())
    assert len(acked) >= 5_000, "child did not write enough before the deadline"

    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = {r[0] for r in conn.execute("SELECT ts FROM risk_events")}
    missing = set(acked) - stored
    assert not missing, f"{len(missing)} committed rows lost, e.g. {sorted(missing)[:5]}"
    assert len(stored) >= len(acked)
    # Reopening through the Journal (migrations on an existing file) works too.
    j = Journal(path)
    j.open()
    j.close()
