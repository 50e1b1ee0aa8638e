"""The ensemble rule: how an agent's specialists vote HOLD / ENTRY / EXIT (numpy only).

Each specialist casts one class per bar; each vote carries a weight (Hedge
weights in a live agent, equal weights in the forge). Weights are normalised to
sum to one, so a class's *share* is the total weight of the specialists voting
for it. Per bar:

* **exit** when the EXIT share exceeds one half (a weighted majority wants out,
  even if EXIT is not the most common vote by count);
* otherwise **enter** when ENTRY is the strict weighted top class;
* otherwise **hold**.

A share "exceeds" another only by more than ``TOLERANCE`` (1e-9), so weights
that are meant to tie (0.25 + 0.25 against 0.5) tie whatever their float
rounding. ``tally`` (one bar) and ``ensemble_signals`` (every bar at once) add
the weights in the same order and agree bar for bar. The forge judges a bundle
with this rule and ``AgentBundle.signals`` reproduces it; agents import it from
here, which pulls in numpy and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# The class values of engine.forge.labels (a test checks they agree); repeated here
# so that importing the rule does not import pandas.
HOLD = 0
ENTRY = 1
EXIT = 2
N_CLASSES = 3
TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class VoteTally:
    """One bar's vote.

    ``shares[c]`` is the normalised weight voting for class ``c`` (they sum to
    one); ``counts[c]`` the number of specialists voting for it; ``top`` the
    class with the strictly largest share (HOLD when the largest share is tied).
    """

    shares: tuple[float, float, float]
    counts: tuple[int, int, int]
    top: int

    @property
    def exits(self) -> bool:
        """The EXIT share exceeds one half."""
        return self.shares[EXIT] > 0.5 + TOLERANCE

    @property
    def enters(self) -> bool:
        """ENTRY is the strict weighted top class."""
        return self.top == ENTRY

    @property
    def signal(self) -> int:
        """The ensemble's decision: EXIT, else ENTRY, else HOLD."""
        if self.exits:
            return EXIT
        return ENTRY if self.enters else HOLD


def normalised_weights(weights: Sequence[float] | np.ndarray | None, n: int) -> np.ndarray:
    """Weights scaled to sum to one; None or all zero gives equal weights.

    Raises ValueError for a wrong length, a negative or a non-finite weight,
    or no specialist at all.
    """
    if n < 1:
        raise ValueError("an ensemble needs at least one specialist")
    if weights is None:
        return np.full(n, 1.0 / n)
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.size != n:
        raise ValueError(f"{w.size} weights for {n} specialists")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"weights must be finite and >= 0, got {w.tolist()}")
    total = float(w.sum())
    if total <= 0.0:
        return np.full(n, 1.0 / n)
    return np.asarray(w / total)


def _checked_votes(votes: np.ndarray) -> np.ndarray:
    v = np.asarray(votes)
    if v.ndim != 2:
        raise ValueError(f"votes must be (n_specialists, n_bars), got shape {v.shape}")
    if v.size and (v.min() < HOLD or v.max() > EXIT):
        raise ValueError("votes must be HOLD (0), ENTRY (1) or EXIT (2)")
    return v.astype(np.intp, copy=False)


def weighted_shares(votes: np.ndarray, weights: Sequence[float] | np.ndarray | None) -> np.ndarray:
    """Per class and bar, the normalised weight voting for it: shape (3, n_bars)."""
    v = _checked_votes(votes)
    w = normalised_weights(weights, v.shape[0])
    shares = np.zeros((N_CLASSES, v.shape[1]), dtype=np.float64)
    bars = np.arange(v.shape[1])
    # One specialist at a time, in order: tally and ensemble_signals add the same
    # floats in the same order, so their ties and thresholds agree exactly.
    for i in range(v.shape[0]):
        shares[v[i], bars] += w[i]
    return shares


def _signals_from_shares(shares: np.ndarray) -> np.ndarray:
    hold, entry, exit_ = shares
    out = np.full(shares.shape[1], HOLD, dtype=np.int8)
    out[(entry > hold + TOLERANCE) & (entry > exit_ + TOLERANCE)] = ENTRY
    out[exit_ > 0.5 + TOLERANCE] = EXIT
    return out


def tally(
    classes: Sequence[int] | np.ndarray, weights: Sequence[float] | np.ndarray | None = None
) -> VoteTally:
    """Count one bar's votes (one class per specialist) under ``weights``.

    Plain Python (a live agent tallies once a bar; numpy's per-call cost dominates
    three numbers), adding the same floats in the same order as ``weighted_shares``.
    """
    votes = [int(c) for c in np.asarray(classes).reshape(-1)]
    if any(v < HOLD or v > EXIT for v in votes):
        raise ValueError("votes must be HOLD (0), ENTRY (1) or EXIT (2)")
    w = normalised_weights(weights, len(votes)).tolist()
    shares = [0.0, 0.0, 0.0]
    counts = [0, 0, 0]
    for v, wi in zip(votes, w, strict=True):
        shares[v] += wi
        counts[v] += 1
    top = HOLD
    for c in (HOLD, ENTRY, EXIT):
        if all(shares[c] > shares[o] + TOLERANCE for o in (HOLD, ENTRY, EXIT) if o != c):
            top = c
    return VoteTally(
        shares=(shares[HOLD], shares[ENTRY], shares[EXIT]),
        counts=(counts[HOLD], counts[ENTRY], counts[EXIT]),
        top=top,
    )


def ensemble_signals(
    votes: np.ndarray, weights: Sequence[float] | np.ndarray | None = None
) -> np.ndarray:
    """The ensemble's HOLD/ENTRY/EXIT per bar from ``votes[specialist, bar]`` (int8).

    EXIT where the weighted EXIT share exceeds one half, else ENTRY where ENTRY
    is the strict weighted top class, else HOLD. With one specialist the result
    is that specialist's signals.
    """
    return _signals_from_shares(weighted_shares(votes, weights))
