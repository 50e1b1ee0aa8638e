"""Order rows lost to a crash between the intent log and the journal come back at open."""

from __future__ import annotations

from pathlib import Path

from engine.journal import Journal
from engine.journal.intent_log import OrderIntentLog, read_intents
from engine.journal.queries import JournalReader
from engine.journal.recovery import LOOKBACK_NS
from engine.model.commands import NewOrder
from engine.model.enums import OrderType, Side


def _frame(cid: str, qty: float = 0.5) -> bytes:
    return (
        b'{"v":1,"type":"NewOrder","req_id":1,"client_order_id":"%s","strategy_id":"s",'
        b'"symbol":"BTC/USDT","side":"SELL","order_type":"LIMIT","price":101.5,"qty":%r,'
        b'"time_in_force":"GTC","post_only":true,"reduce_only":false}' % (cid.encode(), qty)
    )


def _order(cid: str) -> NewOrder:
    return NewOrder(cid, "s", "BTC/USDT", Side.SELL, OrderType.LIMIT, 0.5, 101.5, post_only=True)


def test_intents_without_a_row_are_restored_as_pending_new(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    journal.open()
    oj = journal.order_journal()
    log = OrderIntentLog(journal.intent_path)
    t0 = 1_700_000_000_000_000_000
    log.append([_frame("OLD")], t0)
    log.append([_frame("DONE")], t0 + LOOKBACK_NS + 1)
    log.append([_frame("LOST-1"), _frame("LOST-2")], t0 + LOOKBACK_NS + 2)
    log.close()
    # DONE was written before the crash, with its answer; OLD was written long before.
    oj.stage_intent(_order("DONE"), t0 + LOOKBACK_NS + 1, now_ns=0)
    oj.flush(now_ns=0, everything=True)
    oj.close()
    journal.close()

    reopened = Journal(tmp_path / "j.sqlite")
    reopened.open()
    reader = JournalReader(reopened.path)
    lost = reader.order("LOST-1") or {}
    assert (lost["status"], lost["side"], lost["price"], lost["post_only"]) == (
        "PENDING_NEW",
        "SELL",
        101.5,
        1,
    )
    assert reader.order("LOST-2") is not None
    # Older than the look-back before the newest row: not re-read (the log may be large).
    assert reader.order("OLD") is None
    assert [o["client_order_id"] for o in reader.open_orders()] == ["DONE", "LOST-1", "LOST-2"]
    reader.close()
    reopened.close()


def test_the_log_tail_is_read_across_block_boundaries(tmp_path: Path) -> None:
    from engine.journal import intent_log

    path = tmp_path / "i.log"
    log = OrderIntentLog(path)
    for i in range(200):
        log.append([_frame(f"C{i}")], 1_000 + i)
    log.close()
    lines = intent_log._lines_since(path, 1_150, block=97)  # blocks cut lines everywhere
    assert [int(line.split(b" ")[0]) for line in lines] == list(range(1_150, 1_200))
    assert [r.client_order_id for r in read_intents(path, 1_198)] == ["C198", "C199"]
    assert len(read_intents(path)) == 200
