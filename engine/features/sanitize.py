"""Sanitization of feature values and the checkpoint before any model (DESIGN invariant 3).

The rule is causal: +/-inf becomes NaN, then a NaN takes the last finite value
*before* it (forward fill). Nothing is ever filled backwards in time and
nothing is interpolated, because both would let a value at t depend on data
after t (the old system's ``bfill`` and ``interpolate(limit_direction="both")``
leaked the future into training sets). Warm-up rows, which have no earlier
finite value, stay NaN; the caller drops them and then calls ``check_finite``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from engine.core.errors import DataError


def sanitize_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Return ``df`` with infinities turned into NaN and NaNs forward-filled (causal)."""
    values = df.to_numpy(dtype=np.float64, copy=True)
    values[~np.isfinite(values)] = np.nan
    return pd.DataFrame(values, index=df.index, columns=df.columns).ffill()


class LastFinite:
    """Streaming counterpart of ``sanitize_frame`` for one row of values at a time."""

    def __init__(self, width: int) -> None:
        self._last = [math.nan] * width

    def apply(self, values: list[float]) -> list[float]:
        last = self._last
        for i, v in enumerate(values):
            if math.isfinite(v):
                last[i] = v
        return list(last)


def check_finite(df: pd.DataFrame, context: str) -> None:
    """Raise ``DataError`` naming every column that holds NaN or +/-inf (with counts).

    Call it on exactly what goes to a model, after dropping warm-up rows.
    """
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"{context}: expected a DataFrame, got {type(df).__name__}")
    numeric = df.select_dtypes(include=[np.number, "bool"])
    others = [c for c in df.columns if c not in numeric.columns]
    if others:
        raise DataError(f"{context}: non-numeric columns cannot go to a model: {others}")
    if numeric.empty:
        return
    values = numeric.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    counts = bad.sum(axis=0)
    offending = [f"{col} ({int(n)})" for col, n in zip(numeric.columns, counts, strict=True) if n]
    first_row = int(np.flatnonzero(bad.any(axis=1))[0])
    raise DataError(
        f"{context}: non-finite values in {len(offending)} column(s): {', '.join(offending)}; "
        f"first at row {first_row} ({df.index[first_row]})"
    )


def drop_warmup(df: pd.DataFrame) -> pd.DataFrame:
    """Drop the leading rows where any column is still NaN (the features' warm-up)."""
    if df.empty:
        return df
    complete = df.notna().all(axis=1).to_numpy()
    if not complete.any():
        return df.iloc[:0]
    return df.iloc[int(np.argmax(complete)) :]
