"""BookIntegrityGuard: marks a symbol's book stale on sequence gaps, crossed books, silence.

On the sim wire a symbol's book snapshots and trades share one sequence
counter, so a jump across either means messages were lost. A stale book is
not traded on (agents) and is shown as such (cockpit) until a fresh snapshot
resyncs it: a snapshot that directly follows the last sequence number and is
neither crossed nor one-sided. A ``seq`` of 0 means the source has no
sequence numbers (ccxt); only the other checks apply then.

The guard starts stale ("no book yet"), so the first good snapshot publishes
a fresh ``BookStatus``.
"""

from __future__ import annotations

from msgspec.structs import replace

from engine.model.events import BookStatus
from engine.model.market import BookSnapshot, Trade


class BookIntegrityGuard:
    """Integrity state of one symbol's book (pure logic; the caller publishes)."""

    def __init__(self, symbol: str, max_age_ms: int) -> None:
        if max_age_ms <= 0:
            raise ValueError("max_age_ms must be positive")
        self.symbol = symbol
        self.max_age_ns = max_age_ms * 1_000_000
        self.stale = True
        self.reason = "no book yet"
        self.last_seq = 0
        self.last_book_ns: int | None = None
        self.gaps = 0
        self.crossed = 0

    def _transition(self, stale: bool, reason: str, ts: int) -> BookStatus | None:
        if stale == self.stale:
            if stale:
                self.reason = reason
            return None
        self.stale = stale
        self.reason = reason
        return BookStatus(self.symbol, stale, reason, ts)

    def _sequence_problem(self, seq: int) -> str | None:
        """Check ``seq`` against the last one seen and advance; describe a break, if any."""
        if seq == 0:
            return None
        last = self.last_seq
        self.last_seq = seq
        if last == 0:
            return None
        if seq > last + 1:
            self.gaps += 1
            return f"sequence gap: {last} -> {seq} ({seq - last - 1} messages lost)"
        if seq <= last:
            self.gaps += 1
            return f"sequence went back from {last} to {seq} (feed restarted?)"
        return None

    def on_snapshot(self, snap: BookSnapshot) -> tuple[BookSnapshot, BookStatus | None]:
        """Check one snapshot; return it (``stale`` set if it cannot be trusted) and any change."""
        ts = snap.ts_event
        self.last_book_ns = snap.ts_init or snap.ts_event
        problem = self._sequence_problem(snap.seq)
        if problem is None and snap.is_crossed:
            self.crossed += 1
            problem = f"crossed book: bid {snap.best_bid} >= ask {snap.best_ask}"
        if problem is None and (len(snap.bids) == 0 or len(snap.asks) == 0):
            problem = "one-sided book: a side has no levels"
        if problem is not None:
            status = self._transition(True, problem, ts)
            return (snap if snap.stale else replace(snap, stale=True)), status
        status = self._transition(False, "fresh snapshot", ts)
        return (replace(snap, stale=False) if snap.stale else snap), status

    def on_trade(self, trade: Trade) -> BookStatus | None:
        """Check a trade's sequence number (shared with the book's on the sim wire)."""
        problem = self._sequence_problem(trade.seq)
        if problem is None:
            return None
        return self._transition(True, problem, trade.ts_event)

    def check_age(self, now_ns: int) -> BookStatus | None:
        """Mark the book stale when no snapshot arrived for longer than ``max_age_ms``."""
        if self.last_book_ns is None or self.stale:
            return None
        age = now_ns - self.last_book_ns
        if age <= self.max_age_ns:
            return None
        return self._transition(True, f"no book update for {age / 1e6:.0f} ms", now_ns)

    def mark_stale(self, reason: str, now_ns: int) -> BookStatus | None:
        """Mark the book stale from outside (the source stopped or disconnected)."""
        return self._transition(True, reason, now_ns)
