"""Hedge weights: the update, the specialists' own positions, and the regret bound."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.agents.hedge import (
    equal_weights,
    hedge_update,
    next_position,
    optimal_eta,
    regret_bound,
    vote_loss,
)
from engine.forge.ensemble import ENTRY, EXIT, HOLD


def test_the_specialist_with_the_smaller_loss_gains_weight() -> None:
    w = hedge_update([0.5, 0.5], [0.0, 1.0], eta=0.5)
    assert w[0] > w[1]
    assert sum(w) == pytest.approx(1.0)
    assert w[0] / w[1] == pytest.approx(math.exp(0.5))
    assert hedge_update([0.5, 0.5], [0.3, 0.3], eta=0.5) == pytest.approx([0.5, 0.5])


def test_huge_losses_never_underflow_to_nan() -> None:
    w = hedge_update([1e-300, 1.0 - 1e-300], [0.0, 1.0], eta=1e4)
    assert all(math.isfinite(x) for x in w)
    assert sum(w) == pytest.approx(1.0)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_regret_stays_within_sqrt_t_ln_n_over_2(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, rounds = 5, 2_000
    # Specialists of different quality plus noise: losses in [0, 1].
    means = rng.uniform(0.3, 0.7, size=n)
    losses = np.clip(rng.normal(means, 0.2, size=(rounds, n)), 0.0, 1.0)
    eta = optimal_eta(n, rounds)
    weights = equal_weights(n)
    hedge_loss = 0.0
    for row in losses:
        hedge_loss += float(np.dot(weights, row))
        weights = hedge_update(weights, row.tolist(), eta)
    best = float(losses.sum(axis=0).min())
    regret = hedge_loss - best
    assert regret <= regret_bound(n, rounds)
    # Not trivially: Hedge ends up on the best specialist.
    assert int(np.argmax(weights)) == int(np.argmin(losses.sum(axis=0)))


def test_a_specialists_position_follows_its_own_votes() -> None:
    assert next_position(0, ENTRY) == 1
    assert next_position(1, HOLD) == 1
    assert next_position(1, EXIT) == 0
    assert next_position(0, HOLD) == 0


def test_vote_loss_is_half_when_flat_and_saturates() -> None:
    assert vote_loss(0, 0.03, 0.005) == 0.5
    assert vote_loss(1, 0.0025, 0.005) == pytest.approx(0.25)
    assert vote_loss(1, 0.02, 0.005) == 0.0
    assert vote_loss(1, -0.02, 0.005) == 1.0
