"""AlignedCloses joins bars of several symbols on open time."""

from __future__ import annotations

import numpy as np
import pytest

from engine.model.market import Bar
from engine.signals.bar_window import AlignedCloses


def _bar(symbol: str, minute: int, close: float) -> Bar:
    return Bar(symbol, "1m", minute * 60_000_000_000, close, close, close, close, 1.0)


def test_aligned_closes_completes_a_row_when_every_symbol_arrived() -> None:
    w = AlignedCloses(("A", "B"), maxlen=5)
    assert not w.add(_bar("B", 0, 2.0))
    assert w.add(_bar("A", 0, 1.0))
    np.testing.assert_array_equal(w.closes(), [[1.0, 2.0]])


def test_aligned_closes_discards_rows_overtaken_by_a_newer_complete_row() -> None:
    w = AlignedCloses(("A", "B"), maxlen=5)
    w.add(_bar("A", 1, 1.0))
    w.add(_bar("A", 2, 1.1))
    w.add(_bar("B", 2, 2.1))
    assert w.discarded == 1
    assert not w.add(_bar("B", 1, 2.0))  # too late: older than the last complete row
    assert len(w) == 1


def test_aligned_closes_ignores_unknown_symbols_and_bad_prices() -> None:
    w = AlignedCloses(("A", "B"), maxlen=5)
    assert not w.add(_bar("C", 0, 1.0))
    assert not w.add(_bar("A", 0, float("nan")))
    assert not w.add(_bar("A", 0, -1.0))
    assert len(w) == 0


def test_aligned_closes_log_returns_of_the_last_rows() -> None:
    w = AlignedCloses(("A", "B"), maxlen=3)
    for m, (a, b) in enumerate([(1, 1), (2, 1), (4, 2), (8, 4)]):
        w.add(_bar("A", m, a))
        w.add(_bar("B", m, b))
    np.testing.assert_allclose(w.log_returns(), np.log([[2, 2], [2, 2]]))


def test_aligned_closes_needs_two_symbols() -> None:
    with pytest.raises(ValueError, match="two symbols"):
        AlignedCloses(("A",), maxlen=3)
