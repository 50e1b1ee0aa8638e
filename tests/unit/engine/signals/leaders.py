"""Synthetic closes in which one asset leads the others by one bar (for influence tests)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def led_closes(n: int, leader: str, followers: list[str], seed: int = 0) -> pd.DataFrame:
    """``leader`` is a random walk; each follower repeats about half of its previous return."""
    rng = np.random.default_rng(seed)
    lead = rng.normal(size=n) * 1e-3
    cols = {leader: lead}
    for k, f in enumerate(followers):
        cols[f] = (0.6 - 0.1 * k) * np.r_[0.0, lead[:-1]] + rng.normal(size=n) * 8e-4
    r = pd.DataFrame(cols)[sorted(cols)]
    index = pd.date_range("2024-01-01", periods=n, freq="1min", tz="UTC", name="ts")
    return pd.DataFrame(
        100 * np.exp(np.cumsum(r.to_numpy(), axis=0)), index=index, columns=r.columns
    )
