"""The compiled fitness kernel agrees with the reference numpy backtester."""

from __future__ import annotations

import numpy as np
import pytest

from engine.forge.backtest import CostModel, backtest
from engine.forge.kernels import fitness_moments


@pytest.mark.parametrize("density", [0.02, 0.3, 0.9])
def test_fitness_moments_match_the_numpy_backtest(density: float) -> None:
    rng = np.random.default_rng(int(density * 100))
    n = 20_000
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.001, n)))
    open_ = np.concatenate(([100.0], close[:-1]))
    signals = rng.choice([0, 1, 2], size=n, p=[1 - density, density / 2, density / 2]).astype(
        np.int8
    )
    costs = CostModel(0.0002, 0.0006, 0.0001, 0.3)
    ref = backtest(signals, open_, close, costs, 525_600)
    returns = np.append(open_[1:] / open_[:-1] - 1, close[-1] / open_[-1] - 1)
    total, total_sq, trades = fitness_moments(signals, returns, costs.per_unit)
    assert total == pytest.approx(ref.pnl.sum(), rel=1e-9, abs=1e-12)
    assert total_sq == pytest.approx((ref.pnl**2).sum(), rel=1e-9)
    assert trades == ref.trades > 0


def test_fitness_moments_length_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="signals"):
        fitness_moments(np.zeros(3, dtype=np.int8), np.zeros(4), 0.001)
