"""OFI's explanatory power: regress mid-price changes on order-flow imbalance per interval.

Cont, Kukanov & Stoikov (2014) sum the best-level OFI over fixed intervals and
regress the mid change over the same interval on it (dP = beta * OFI + e);
the R^2 is the share of short-horizon price variance that order flow explains.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import linregress

from engine.signals.mce.features import L2FeatureFrame


@dataclass(frozen=True, slots=True)
class OFIRegression:
    interval_ms: int
    intervals: int
    r_squared: float
    beta: float
    t_stat: float


def ofi_regression(frame: L2FeatureFrame, interval_ms: int) -> OFIRegression:
    """R^2 of mid changes on summed OFI over consecutive ``interval_ms`` buckets.

    A bucket's mid change is last mid in the bucket minus last mid of the
    bucket before (empty buckets are skipped, the change carries over).
    """
    if len(frame.ts_event) < 3:
        raise ValueError("need at least three snapshots")
    bucket = (frame.ts_event - frame.ts_event[0]) // (interval_ms * 1_000_000)
    _ids, first = np.unique(bucket, return_index=True)
    last = np.r_[first[1:], len(bucket)] - 1
    ofi = np.add.reduceat(frame.raw_ofi, first)
    dmid = np.diff(frame.mid[last])
    ofi = ofi[1:]  # the first bucket has no previous mid
    if len(ofi) < 3 or np.std(ofi) == 0 or np.std(dmid) == 0:
        return OFIRegression(interval_ms, len(ofi), float("nan"), float("nan"), float("nan"))
    fit = linregress(ofi, dmid)
    return OFIRegression(
        interval_ms=interval_ms,
        intervals=len(ofi),
        r_squared=float(fit.rvalue**2),
        beta=float(fit.slope),
        t_stat=float(fit.slope / fit.stderr) if fit.stderr else float("nan"),
    )
