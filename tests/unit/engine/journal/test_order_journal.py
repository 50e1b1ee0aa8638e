"""OrderJournal: batched order and fill rows, with an order's updates coalesced per batch."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.journal import Journal
from engine.journal.intent_log import OrderIntentLog, read_intents
from engine.journal.order_rows import OrderRows
from engine.journal.queries import JournalReader
from engine.model.commands import NewOrder
from engine.model.enums import Liquidity, OrderStatus, OrderType, Side
from engine.model.events import OrderUpdate


def _order(cid: str) -> NewOrder:
    return NewOrder(cid, "agent-1", "BTC/USDT", Side.BUY, OrderType.LIMIT, 0.02, 100.0)


def _update(
    seq: int, cid: str, status: OrderStatus, cum: float, exec_id: str | None = None
) -> OrderUpdate:
    return OrderUpdate(
        seq=seq,
        client_order_id=cid,
        venue_order_id=f"V-{cid}",
        strategy_id="agent-1",
        symbol="BTC/USDT",
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        status=status,
        price=100.0,
        qty=0.02,
        cum_qty=cum,
        avg_price=100.0 if cum else 0.0,
        leaves_qty=0.02 - cum,
        ts_event=1_000 + seq,
        ts_init=1_000 + seq,
        last_qty=0.01 if exec_id else None,
        last_price=100.0 if exec_id else None,
        fee=0.001 if exec_id else None,
        fee_asset="USDT" if exec_id else None,
        liquidity=Liquidity.MAKER if exec_id else None,
        exec_id=exec_id,
    )


def test_an_order_answered_within_its_batch_is_written_with_its_last_state(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    journal.open()
    oj = OrderRows(journal.path)
    oj.write(
        [(_order("A"), 10), (_order("B"), 11)],
        [
            _update(1, "A", OrderStatus.NEW, 0.0),
            _update(2, "A", OrderStatus.PARTIALLY_FILLED, 0.01, "E1"),
            _update(3, "A", OrderStatus.FILLED, 0.02, "E2"),
        ],
    )
    reader = JournalReader(journal.path)
    a, b = reader.order("A"), reader.order("B")
    assert a is not None
    assert b is not None
    assert (a["status"], a["cum_qty"], a["venue_order_id"], a["ts_created"]) == (
        "FILLED",
        0.02,
        "V-A",
        10,
    )
    assert (b["status"], b["cum_qty"]) == ("PENDING_NEW", 0.0)
    assert sorted(f["exec_id"] for f in reader.fills()) == ["E1", "E2"]

    # B answered in a later batch; a replayed older report of A does not move it backwards.
    oj.write(
        [],
        [
            _update(4, "B", OrderStatus.NEW, 0.0),
            _update(2, "A", OrderStatus.PARTIALLY_FILLED, 0.01, "E1"),
        ],
    )
    assert (reader.order("B") or {})["status"] == "NEW"
    assert (reader.order("A") or {})["status"] == "FILLED"
    assert len(reader.fills()) == 2

    # Sending A's id again (a recovery resend) with a stale answer changes nothing either.
    oj.write([(_order("A"), 20)], [_update(5, "A", OrderStatus.NEW, 0.0)])
    a = reader.order("A") or {}
    assert (a["status"], a["cum_qty"], a["ts_created"]) == ("FILLED", 0.02, 10)
    oj.close()
    journal.close()


def test_intent_log_keeps_every_frame_and_skips_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "j.intents.log"
    log = OrderIntentLog(path)
    frames = [
        b'{"v":1,"type":"NewOrder","req_id":%d,"client_order_id":"C%d","strategy_id":"s",'
        b'"symbol":"BTC/USDT","side":"BUY","order_type":"MARKET","price":null,"qty":0.5,'
        b'"time_in_force":"GTC","post_only":false,"reduce_only":false}' % (i, i)
        for i in range(3)
    ]
    log.append(frames[:2], 111)
    log.append(frames[2:], 222)
    log.close()
    with path.open("ab") as f:
        f.write(b'333 {"v":1,"type":"NewOrder","client_or')  # a write cut short by a crash
    records = read_intents(path)
    assert [(r.ts, r.client_order_id, r.qty) for r in records] == [
        (111, "C0", 0.5),
        (111, "C1", 0.5),
        (222, "C2", 0.5),
    ]
    # Reopening appends after what is there.
    log = OrderIntentLog(path)
    log.append([frames[0].replace(b'"C0"', b'"C9"')], 444)
    log.close()
    assert read_intents(path)[-1].client_order_id == "C9"


def test_a_staged_intent_is_written_once_with_its_first_answer(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    journal.open()
    oj = journal.order_journal(in_process=True)
    reader = JournalReader(journal.path)
    oj.stage_intent(_order("A"), 10, now_ns=1_000)
    oj.stage_intent(_order("B"), 11, now_ns=1_000)
    oj.flush(now_ns=2_000)
    # Nothing answered yet and nothing held too long: no row yet (the intent log has them).
    assert reader.order("A") is None
    assert oj.held == 2

    oj.stage_update(_update(1, "A", OrderStatus.NEW, 0.0))
    oj.stage_update(_update(2, "A", OrderStatus.FILLED, 0.02, "E1"))
    oj.flush(now_ns=3_000)
    a = reader.order("A") or {}
    assert (a["status"], a["cum_qty"], a["ts_created"]) == ("FILLED", 0.02, 10)
    assert reader.order("B") is None
    assert oj.held == 1

    # B is never answered: once held longer than the hold it is written as PENDING_NEW.
    oj.flush(now_ns=1_000 + 250_000_000)
    b = reader.order("B") or {}
    assert (b["status"], b["ts_created"]) == ("PENDING_NEW", 11)
    assert oj.held == 0

    # Its answer, arriving later still, updates the row.
    oj.stage_update(_update(3, "B", OrderStatus.NEW, 0.0))
    oj.flush(now_ns=1_000 + 260_000_000)
    assert (reader.order("B") or {})["status"] == "NEW"
    assert [f["exec_id"] for f in reader.fills()] == ["E1"]

    oj.stage_intent(_order("C"), 12, now_ns=1_000 + 261_000_000)
    oj.flush(now_ns=1_000 + 261_000_001, everything=True)
    assert (reader.order("C") or {})["status"] == "PENDING_NEW"
    reader.close()
    oj.close()
    journal.close()


def test_the_order_writer_process_commits_everything_it_was_sent(tmp_path: Path) -> None:
    """Rows reach the journal through the child; closing waits for the last batch."""
    journal = Journal(tmp_path / "j.sqlite")
    journal.open()
    oj = journal.order_journal()
    for i in range(200):
        cid = f"P{i}"
        oj.stage_intent(_order(cid), 10 + i, now_ns=0)
        oj.stage_update(_update(2 * i + 1, cid, OrderStatus.NEW, 0.0))
        oj.stage_update(_update(2 * i + 2, cid, OrderStatus.FILLED, 0.02, f"E{i}"))
        oj.flush(now_ns=0)
    oj.close()
    reader = JournalReader(journal.path)
    rows = [reader.order(f"P{i}") or {} for i in range(200)]
    assert {(r["status"], r["cum_qty"]) for r in rows} == {("FILLED", 0.02)}
    assert len(reader.fills()) == 200
    reader.close()
    journal.close()


def test_when_the_writer_process_dies_the_engine_writes_the_rows_itself(tmp_path: Path) -> None:
    """Batches the child did not acknowledge are written by the engine: none is lost."""
    import os
    import signal
    import time

    from engine.journal.order_writer_process import OrderWriterProcess

    journal = Journal(tmp_path / "j.sqlite")
    journal.open()
    sink = OrderWriterProcess.start(journal.path)
    os.kill(sink.pid, signal.SIGSTOP)  # it never gets to commit (or acknowledge) "before"
    sink.write([(_order("before"), 1)], [_update(1, "before", OrderStatus.NEW, 0.0)])
    assert sink.unacknowledged == 1
    os.kill(sink.pid, signal.SIGKILL)
    while sink.unacknowledged and not sink.in_process:  # the next write finds the pipe broken
        time.sleep(0.01)
        sink.write([], [])
    sink.write([(_order("after"), 2)], [_update(2, "after", OrderStatus.NEW, 0.0)])
    assert sink.in_process
    reader = JournalReader(journal.path)
    # "before" was never acknowledged, so the engine wrote it when it took over.
    assert (reader.order("before") or {}).get("status") == "NEW"
    assert (reader.order("after") or {}).get("status") == "NEW"
    sink.close()
    reader.close()
    journal.close()


def test_without_a_journal_process_the_engine_writes_the_rows_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise OSError("no processes left")

    journal = Journal(tmp_path / "j.sqlite")
    journal.open()
    monkeypatch.setattr(subprocess, "Popen", refuse)
    oj = journal.order_journal()
    oj.stage_intent(_order("A"), 1, now_ns=0)
    oj.stage_update(_update(1, "A", OrderStatus.NEW, 0.0))
    oj.flush(now_ns=0)
    reader = JournalReader(journal.path)
    assert (reader.order("A") or {}).get("status") == "NEW"  # written at once, in process
    reader.close()
    oj.close()
    journal.close()


def test_a_batch_the_process_cannot_commit_is_not_acknowledged_and_not_lost(
    tmp_path: Path,
) -> None:
    from engine.journal.order_writer_process import OrderWriterProcess

    path = tmp_path / "j.sqlite"  # no schema yet: every commit in the child fails
    sink = OrderWriterProcess.start(path)
    sink.write([(_order("A"), 1)], [_update(1, "A", OrderStatus.NEW, 0.0)])
    assert sink._proc.wait(10) == 1  # gave up after its retries, without acknowledging
    assert sink.acknowledged == 0
    journal = Journal(path)
    journal.open()  # the schema exists now: the engine's own write can succeed
    sink.close()
    assert sink.in_process
    reader = JournalReader(path)
    assert (reader.order("A") or {}).get("status") == "NEW"
    reader.close()
    journal.close()
