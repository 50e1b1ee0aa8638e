"""Price/quantity grid helpers (tick and lot sizes)."""

from __future__ import annotations

import math


def on_grid(value: float, step: float, tolerance: float = 1e-6) -> bool:
    """True if ``value`` is a whole multiple of ``step`` (within a relative tolerance)."""
    n = value / step
    return math.isfinite(n) and abs(n - round(n)) <= tolerance


def round_to_step(value: float, step: float) -> float:
    """Nearest multiple of ``step``, printed without float noise."""
    decimals = max(0, -math.floor(math.log10(step))) + 2
    return round(round(value / step) * step, decimals)
