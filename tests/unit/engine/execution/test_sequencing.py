"""SequenceTracker: exactly-once, in-order delivery across gaps and replays."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.execution.sequencing import SequenceTracker


def test_in_order_reports_are_delivered_immediately() -> None:
    t: SequenceTracker[str] = SequenceTracker()
    assert t.offer(1, "a") == ["a"]
    assert t.offer(2, "b") == ["b"]
    assert t.missing_from is None


def test_gap_holds_reports_and_a_replay_releases_them_in_order() -> None:
    t: SequenceTracker[str] = SequenceTracker()
    t.offer(1, "a")
    assert t.offer(4, "d") == []
    assert t.offer(5, "e") == []
    assert t.missing_from == 2
    assert t.gaps == 1
    # The replay resends 2..5; 4 and 5 arrive twice.
    assert t.offer(2, "b") == ["b"]
    assert t.offer(3, "c") == ["c", "d", "e"]
    assert t.offer(4, "d") == []
    assert t.offer(5, "e") == []
    assert t.duplicates == 2
    assert t.missing_from is None


def test_heartbeat_last_seq_ahead_reveals_a_lost_tail_report() -> None:
    t: SequenceTracker[str] = SequenceTracker()
    t.offer(1, "a")
    assert t.behind(2)
    assert not t.behind(1)


def test_reset_after_snapshot_drops_what_it_covered() -> None:
    t: SequenceTracker[str] = SequenceTracker()
    t.offer(3, "c")
    t.offer(7, "g")
    t.reset(5)
    assert t.offer(6, "f") == ["f", "g"]


@settings(deadline=None)  # hypothesis's default 200 ms per example is a timed assertion
@given(st.permutations(list(range(1, 40))), st.lists(st.integers(1, 39), max_size=20))
def test_any_arrival_order_with_duplicates_delivers_each_report_once_in_order(
    order: list[int], dups: list[int]
) -> None:
    t: SequenceTracker[int] = SequenceTracker()
    delivered: list[int] = []
    for seq in order + dups:
        delivered.extend(t.offer(seq, seq))
    assert delivered == list(range(1, 40))
