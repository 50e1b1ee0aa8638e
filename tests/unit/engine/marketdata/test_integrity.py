"""BookIntegrityGuard: gaps, crossed books and silence mark the book stale until a resync."""

from __future__ import annotations

import numpy as np

from engine.marketdata.integrity import BookIntegrityGuard
from engine.model.enums import Side
from engine.model.market import BookSnapshot, Trade

MS = 1_000_000


def _snap(seq: int, bid: float = 100.0, ask: float = 100.5, ts: int = 0) -> BookSnapshot:
    return BookSnapshot(
        "BTC/USDT",
        ts or seq * MS,
        ts or seq * MS,
        np.array([[bid, 1.0]]),
        np.array([[ask, 1.0]]),
        seq,
    )


def _trade(seq: int) -> Trade:
    return Trade("BTC/USDT", seq * MS, seq * MS, 100.2, 0.1, Side.BUY, f"t{seq}", seq)


def test_guard_first_good_snapshot_announces_a_fresh_book() -> None:
    guard = BookIntegrityGuard("BTC/USDT", max_age_ms=1000)
    snap, status = guard.on_snapshot(_snap(1))
    assert not snap.stale
    assert status is not None
    assert not status.stale
    for seq in (2, 3):
        snap, again = guard.on_snapshot(_snap(seq))
        assert not snap.stale
        assert again is None


def test_guard_marks_the_snapshot_after_a_gap_stale_until_a_contiguous_one() -> None:
    guard = BookIntegrityGuard("BTC/USDT", max_age_ms=1000)
    guard.on_snapshot(_snap(1))
    snap, status = guard.on_snapshot(_snap(5))
    assert snap.stale
    assert status is not None
    assert status.stale
    assert "1 -> 5 (3 messages lost)" in status.reason
    fresh, resync = guard.on_snapshot(_snap(6))
    assert not fresh.stale
    assert resync is not None
    assert not resync.stale
    assert guard.gaps == 1


def test_guard_counts_trades_in_the_shared_sequence() -> None:
    guard = BookIntegrityGuard("BTC/USDT", max_age_ms=1000)
    guard.on_snapshot(_snap(1))
    assert guard.on_trade(_trade(2)) is None
    assert guard.on_snapshot(_snap(3))[1] is None
    status = guard.on_trade(_trade(7))
    assert status is not None
    assert status.stale
    assert guard.stale
    snap, resync = guard.on_snapshot(_snap(8))
    assert not snap.stale
    assert resync is not None
    assert not resync.stale


def test_guard_marks_a_crossed_book_stale() -> None:
    guard = BookIntegrityGuard("BTC/USDT", max_age_ms=1000)
    guard.on_snapshot(_snap(1))
    snap, status = guard.on_snapshot(_snap(2, bid=101.0, ask=100.0))
    assert snap.stale
    assert status is not None
    assert "crossed" in status.reason
    assert not guard.on_snapshot(_snap(3))[0].stale


def test_guard_marks_a_one_sided_book_stale() -> None:
    guard = BookIntegrityGuard("BTC/USDT", max_age_ms=1000)
    one_sided = BookSnapshot("BTC/USDT", MS, MS, np.array([[100.0, 1.0]]), np.zeros((0, 2)), 1)
    snap, status = guard.on_snapshot(one_sided)
    assert snap.stale
    assert status is None
    assert "one-sided" in guard.reason


def test_guard_check_age_marks_a_silent_stream_stale_once() -> None:
    guard = BookIntegrityGuard("BTC/USDT", max_age_ms=500)
    guard.on_snapshot(_snap(1, ts=10 * MS))
    assert guard.check_age(10 * MS + 500 * MS) is None
    status = guard.check_age(10 * MS + 501 * MS)
    assert status is not None
    assert status.stale
    assert "no book update" in status.reason
    assert guard.check_age(10 * MS + 900 * MS) is None
    assert not guard.on_snapshot(_snap(2, ts=11 * MS))[0].stale


def test_guard_treats_a_sequence_reset_as_a_break() -> None:
    guard = BookIntegrityGuard("BTC/USDT", max_age_ms=1000)
    guard.on_snapshot(_snap(100))
    snap, status = guard.on_snapshot(_snap(1))
    assert snap.stale
    assert status is not None
    assert "went back" in status.reason


def test_guard_without_sequence_numbers_checks_only_crossing_and_age() -> None:
    guard = BookIntegrityGuard("BTC/USDT", max_age_ms=1000)
    for _ in range(3):
        snap, _status = guard.on_snapshot(_snap(0, ts=MS))
        assert not snap.stale
