"""Report sequencing: deliver journaled reports exactly once and in order.

Reports arrive with ``seq`` = 1, 2, 3... per Cerebellum session. A report
ahead of the next expected one is held back and a replay is requested; the
held reports are released once the gap is filled. Duplicates (a replay
overlapping what already arrived) are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class SequenceTracker(Generic[T]):
    """Orders reports by ``seq``; tells the caller when to ask for a replay."""

    last_seq: int = 0
    held: dict[int, T] = field(default_factory=dict)
    duplicates: int = 0
    gaps: int = 0

    def reset(self, last_seq: int = 0) -> None:
        """Start over (new session, or after a Snapshot reconciled everything up to ``last_seq``)."""
        self.last_seq = last_seq
        self.held = {s: r for s, r in self.held.items() if s > last_seq}

    def offer(self, seq: int, report: T) -> list[T]:
        """Accept one report; return those now deliverable, in order."""
        if seq <= self.last_seq or seq in self.held:
            self.duplicates += 1
            return []
        if seq != self.last_seq + 1:
            if not self.held:
                self.gaps += 1
            self.held[seq] = report
            return []
        out = [report]
        self.last_seq = seq
        while (nxt := self.last_seq + 1) in self.held:
            out.append(self.held.pop(nxt))
            self.last_seq = nxt
        return out

    @property
    def missing_from(self) -> int | None:
        """The first missing seq when reports are held back, else None."""
        return self.last_seq + 1 if self.held else None

    def behind(self, remote_last_seq: int) -> bool:
        """True when the core says it journaled more than we have seen (a lost report)."""
        return remote_last_seq > self.last_seq
