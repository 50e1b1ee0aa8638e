"""The ensemble rule: weighted shares, the exit and entry rules, vectorised == per bar."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from engine.forge import labels
from engine.forge.ensemble import (
    ENTRY,
    EXIT,
    HOLD,
    ensemble_signals,
    normalised_weights,
    tally,
)
from tests.conftest import REPO_ROOT


def test_class_values_are_those_of_the_labels_module() -> None:
    assert (HOLD, ENTRY, EXIT) == (labels.HOLD, labels.ENTRY, labels.EXIT)


def test_tally_shares_are_normalised_weights_and_counts_are_unweighted() -> None:
    t = tally([ENTRY, HOLD, ENTRY, EXIT], [2.0, 1.0, 3.0, 2.0])
    assert t.shares == pytest.approx((0.125, 0.625, 0.25))
    assert sum(t.shares) == pytest.approx(1.0)
    assert t.counts == (1, 2, 1)
    assert t.top == ENTRY
    assert t.signal == ENTRY


@pytest.mark.parametrize("weights", [None, [0.0, 0.0, 0.0], [5.0, 5.0, 5.0]])
def test_tally_without_weights_or_with_all_zero_weights_counts_every_vote_equally(
    weights: list[float] | None,
) -> None:
    t = tally([EXIT, EXIT, HOLD], weights)
    assert t.shares == pytest.approx((1 / 3, 0.0, 2 / 3))
    assert t.top == EXIT
    assert t.signal == EXIT


def test_exit_needs_more_than_half_the_weight_even_when_exit_is_outvoted_by_count() -> None:
    t = tally([EXIT, HOLD, HOLD], [0.6, 0.2, 0.2])
    assert t.counts == (2, 0, 1)
    assert t.exits
    assert t.signal == EXIT
    # The same votes with equal weights: HOLD wins by count and by weight.
    assert tally([EXIT, HOLD, HOLD]).signal == HOLD


def test_exactly_half_the_weight_on_exit_does_not_exit() -> None:
    t = tally([EXIT, ENTRY], [0.5, 0.5])
    assert not t.exits
    assert t.top == HOLD  # ENTRY and EXIT tie at the top
    assert t.signal == HOLD
    # Rounding must not break a tie that the weights mean: 0.1 + 0.2 against 0.3.
    t = tally([EXIT, EXIT, ENTRY], [0.1, 0.2, 0.3])
    assert t.top == HOLD
    assert t.signal == HOLD


def test_entry_needs_to_be_the_strict_weighted_top_class() -> None:
    assert tally([ENTRY, HOLD, EXIT], [0.4, 0.3, 0.3]).signal == ENTRY
    assert tally([ENTRY, HOLD, EXIT], [0.4, 0.4, 0.2]).signal == HOLD  # tied with HOLD
    assert tally([ENTRY, HOLD, HOLD], [0.4, 0.3, 0.3]).signal == HOLD  # HOLD weighs 0.6


def test_ensemble_signals_agree_with_tally_bar_by_bar_on_random_votes_and_weights() -> None:
    rng = np.random.default_rng(0)
    checked = {HOLD: 0, ENTRY: 0, EXIT: 0}
    for k in range(1, 7):
        votes = rng.integers(0, 3, size=(k, 400)).astype(np.int8)
        for weights in (
            None,
            rng.random(k),
            rng.integers(0, 4, size=k).astype(float),  # small integers: many ties
            np.zeros(k),
        ):
            got = ensemble_signals(votes, weights)
            assert got.dtype == np.int8
            want = [tally(votes[:, j], weights).signal for j in range(votes.shape[1])]
            np.testing.assert_array_equal(got, want)
            for c in checked:
                checked[c] += int(np.count_nonzero(got == c))
    assert min(checked.values()) > 100  # every outcome was exercised


def test_ensemble_signals_with_one_specialist_returns_its_signals_unchanged() -> None:
    votes = np.random.default_rng(1).integers(0, 3, size=(1, 500)).astype(np.int8)
    np.testing.assert_array_equal(ensemble_signals(votes), votes[0])
    np.testing.assert_array_equal(ensemble_signals(votes, [3.0]), votes[0])


def test_exit_can_win_the_vector_rule_without_being_the_most_voted_class() -> None:
    votes = np.array([[EXIT, EXIT], [HOLD, ENTRY], [HOLD, ENTRY]], dtype=np.int8)
    np.testing.assert_array_equal(ensemble_signals(votes, [0.6, 0.2, 0.2]), [EXIT, EXIT])
    np.testing.assert_array_equal(ensemble_signals(votes), [HOLD, ENTRY])


def test_bad_votes_and_weights_are_refused() -> None:
    with pytest.raises(ValueError, match="HOLD"):
        ensemble_signals(np.array([[0, 3]]))
    with pytest.raises(ValueError, match="n_specialists"):
        ensemble_signals(np.array([0, 1]))
    with pytest.raises(ValueError, match="2 weights for 3"):
        tally([0, 1, 2], [0.5, 0.5])
    with pytest.raises(ValueError, match=">= 0"):
        normalised_weights([1.0, -0.1], 2)
    with pytest.raises(ValueError, match="finite"):
        normalised_weights([1.0, float("nan")], 2)
    with pytest.raises(ValueError, match="at least one"):
        tally([])


def test_importing_the_rule_pulls_in_no_heavy_forge_dependency() -> None:
    script = (
        "import json, sys\nimport engine\nbefore = set(sys.modules)\n"
        "import engine.forge.ensemble\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    new = json.loads(proc.stdout)
    assert "engine.forge.ensemble" in new
    heavy = ("pandas", "scipy", "sklearn", "lightgbm", "xgboost", "deap", "numba")
    assert [m for m in new if m.split(".")[0] in heavy] == []
