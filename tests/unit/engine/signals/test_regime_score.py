"""Regime score: batch and incremental agree, it is causal, and hysteresis does not flap."""

from __future__ import annotations

import numpy as np

from engine.signals.regime_score import RegimeScorer, hysteresis, trailing_scores


def _norms(n: int = 300, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.exp(rng.normal(size=n) * 0.2) * 100
    x[200:220] *= 20
    return x


def test_trailing_scores_match_the_incremental_scorer() -> None:
    norms = _norms()
    batch = trailing_scores(norms, trailing=60, min_trailing=20)
    flags = hysteresis(batch, 3.0, 1.5)
    scorer = RegimeScorer(60, 20, 3.0, 1.5)
    live = [scorer.update(v) for v in norms]
    np.testing.assert_allclose([s for s, _, _ in live], batch, equal_nan=True)
    assert [d for _, d, _ in live] == list(flags)


def test_trailing_scores_are_causal_under_truncation() -> None:
    norms = _norms()
    full = trailing_scores(norms, 60, 20)
    for t in (25, 100, 210):
        assert trailing_scores(norms[: t + 1], 60, 20)[t] == full[t]


def test_trailing_scores_flag_the_spike() -> None:
    scores = trailing_scores(_norms(), 60, 20)
    assert np.isnan(scores[:20]).all()
    assert scores[200] > 5
    assert np.nanmax(np.abs(scores[100:199])) < 5


def test_hysteresis_stays_on_between_exit_and_enter() -> None:
    s = np.array([0.0, 3.5, 2.0, 1.6, 1.4, 2.9, 3.0, np.nan, 0.0])
    assert list(hysteresis(s, 3.0, 1.5)) == [
        False,
        True,
        True,
        True,
        False,
        False,
        True,
        True,
        False,
    ]


def test_regime_scorer_reports_onset_once() -> None:
    scorer = RegimeScorer(30, 10, 3.0, 1.5)
    onsets = [scorer.update(v)[2] for v in _norms(260)]
    assert sum(onsets) >= 1
    assert onsets.index(True) >= 200
