"""Replay readers: Binance snapshot+diff sync on small scripted captures, wire JSON lines."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from engine.core.errors import DataError
from engine.marketdata.book import L2Book, parse_levels
from engine.marketdata.replay import (
    read_binance_capture,
    read_book_tickers,
    read_l2_jsonl,
    unified_symbol,
)
from engine.model.enums import Side
from engine.model.events import BookStatus
from engine.model.market import BookSnapshot, Trade


def _diff(first: int, last: int, bids: list[list[str]], asks: list[list[str]]) -> dict[str, Any]:
    data = {
        "e": "depthUpdate",
        "E": 1_700_000_000_000 + last,
        "s": "ETHUSDT",
        "U": first,
        "u": last,
        "b": bids,
        "a": asks,
    }
    return {"stream": "ethusdt@depth@100ms", "data": data}


def _snapshot(last_update_id: int) -> dict[str, Any]:
    return {
        "lastUpdateId": last_update_id,
        "bids": [["100.0", "1.0"], ["99.0", "2.0"]],
        "asks": [["101.0", "1.5"], ["102.0", "3.0"]],
    }


def _trade(tid: int, buyer_is_maker: bool) -> dict[str, Any]:
    data = {
        "e": "trade",
        "E": 1,
        "s": "ETHUSDT",
        "t": tid,
        "p": "100.5",
        "q": "0.25",
        "T": 1_700_000_000_123,
        "m": buyer_is_maker,
    }
    return {"stream": "ethusdt@trade", "data": data}


def _write_capture(path: Path, messages: list[dict[str, Any] | str]) -> Path:
    with gzip.open(path, "wt") as fh:
        for i, msg in enumerate(messages):
            payload = msg if isinstance(msg, str) else json.dumps(msg)
            fh.write(f"{1_700_000_000_000_000_000 + i} {payload}\n")
    return path


def _records(path: Path) -> list[BookSnapshot | Trade | BookStatus]:
    return list(read_binance_capture(path, depth=5))


def test_capture_sync_drops_old_diffs_and_applies_the_bridging_one(tmp_path: Path) -> None:
    path = _write_capture(
        tmp_path / "c.gz",
        [
            _diff(1, 5, [["100.0", "9.0"]], []),  # before the snapshot: dropped (u <= 10)
            _snapshot(10),
            _diff(6, 12, [["100.0", "4.0"]], [["101.0", "0"]]),  # bridges 11: applied
            _diff(13, 14, [["100.5", "1.0"]], []),
        ],
    )
    records = _records(path)
    statuses = [r for r in records if isinstance(r, BookStatus)]
    books = [r for r in records if isinstance(r, BookSnapshot)]
    assert [s.stale for s in statuses] == [False]
    assert [b.seq for b in books] == [12, 14]
    assert books[0].best_bid == 100.0
    assert books[0].bids[0, 1] == 4.0
    assert books[0].best_ask == 102.0
    assert books[1].best_bid == 100.5
    assert books[1].symbol == "ETH/USDT"


def test_capture_gap_in_update_ids_marks_the_book_stale_until_a_new_snapshot(
    tmp_path: Path,
) -> None:
    path = _write_capture(
        tmp_path / "c.gz",
        [
            _snapshot(10),
            _diff(11, 12, [], []),
            _diff(15, 16, [], []),  # 13..14 missing
            _diff(17, 18, [], []),  # buffered, waiting for a snapshot
            _snapshot(16),
            _diff(19, 20, [], []),
        ],
    )
    records = _records(path)
    statuses = [(r.stale, r.reason) for r in records if isinstance(r, BookStatus)]
    assert [s for s, _ in statuses] == [False, True, False]
    assert "expected U=13, got U=15" in statuses[1][1]
    assert [r.seq for r in records if isinstance(r, BookSnapshot)] == [12, 18, 20]


def test_capture_snapshot_older_than_the_diff_stream_waits_for_another(tmp_path: Path) -> None:
    path = _write_capture(
        tmp_path / "c.gz", [_diff(20, 25, [], []), _snapshot(10), _diff(26, 27, [], [])]
    )
    records = _records(path)
    assert not any(isinstance(r, BookSnapshot) for r in records)
    (status,) = [r for r in records if isinstance(r, BookStatus)]
    assert status.stale
    assert "older than the diff stream" in status.reason


def test_capture_trades_carry_the_taker_side(tmp_path: Path) -> None:
    path = _write_capture(tmp_path / "c.gz", [_trade(1, True), _trade(2, False)])
    trades = [r for r in _records(path) if isinstance(r, Trade)]
    assert [t.aggressor for t in trades] == [Side.SELL, Side.BUY]
    assert trades[0].ts_event == 1_700_000_000_123_000_000
    assert trades[0].trade_id == "1"


def test_capture_skips_malformed_lines_without_failing(tmp_path: Path) -> None:
    path = _write_capture(
        tmp_path / "c.gz",
        [
            "{not json",
            _snapshot(10),
            "[1,2]",
            _diff(11, 11, [["x", "1"]], []),
            _diff(11, 12, [], []),
        ],
    )
    books = [r for r in _records(path) if isinstance(r, BookSnapshot)]
    assert [b.seq for b in books] == [12]


def test_book_tickers_are_read_with_their_update_ids(tmp_path: Path) -> None:
    tick = {
        "stream": "ethusdt@bookTicker",
        "data": {"u": 7, "s": "ETHUSDT", "b": "1.5", "B": "2", "a": "1.6", "A": "3"},
    }
    (t,) = read_book_tickers(_write_capture(tmp_path / "c.gz", [tick, _trade(1, True)]))
    assert (t.update_id, t.bid, t.bid_qty, t.ask, t.ask_qty) == (7, 1.5, 2.0, 1.6, 3.0)


def test_read_l2_jsonl_parses_wire_bodies_and_skips_bad_lines(tmp_path: Path) -> None:
    lines = [
        {
            "v": 1,
            "type": "BookSnapshot",
            "symbol": "BTC/USDT",
            "seq": 1,
            "ts_event": 5,
            "bids": [[100.0, 1.0]],
            "asks": [[100.5, 2.0]],
        },
        {
            "v": 1,
            "type": "Trade",
            "symbol": "BTC/USDT",
            "seq": 2,
            "ts_event": 6,
            "price": 100.5,
            "qty": 0.1,
            "aggressor": "BUY",
            "trade_id": "T-1",
        },
        {"v": 2, "type": "Trade"},
        {"v": 1, "type": "Heartbeat", "ts_event": 7},
        {
            "v": 1,
            "type": "Trade",
            "symbol": "BTC/USDT",
            "seq": 3,
            "ts_event": 8,
            "price": -1,
            "qty": 0.1,
            "aggressor": "BUY",
            "trade_id": "T-2",
        },
    ]
    path = tmp_path / "l2.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n")
    book, trade = list(read_l2_jsonl(path))
    assert isinstance(book, BookSnapshot)
    assert book.seq == 1
    assert book.mid == 100.25
    assert isinstance(trade, Trade)
    assert trade.aggressor is Side.BUY
    assert trade.seq == 2


def test_readers_raise_a_data_error_for_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        list(read_l2_jsonl(tmp_path / "nope.jsonl"))


def test_unified_symbol_splits_known_quotes() -> None:
    assert unified_symbol("ETHUSDT") == "ETH/USDT"
    assert unified_symbol("solbtc") == "SOL/BTC"
    with pytest.raises(DataError):
        unified_symbol("XYZ")


def test_l2_book_applies_diffs_and_returns_the_best_levels_first() -> None:
    book = L2Book("X/Y")
    book.reset(parse_levels([["10", "1"], ["9", "2"]]), parse_levels([["11", "1"], ["12", "5"]]))
    book.apply([(10.0, 0.0), (9.5, 3.0)], [(10.5, 1.0)])
    bids, asks = book.top(2)
    assert bids.tolist() == [[9.5, 3.0], [9.0, 2.0]]
    assert asks.tolist() == [[10.5, 1.0], [11.0, 1.0]]
    assert (book.best_bid, book.best_ask, len(book)) == (9.5, 10.5, 5)


def test_parse_levels_rejects_non_finite_or_negative_values() -> None:
    for bad in ([["nan", "1"]], [["1", "-1"]], [["0", "1"]]):
        with pytest.raises(ValueError, match="bad book level"):
            parse_levels(bad)
