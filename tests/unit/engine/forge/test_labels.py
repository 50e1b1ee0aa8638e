"""Triple-barrier labels and purged splits."""

from __future__ import annotations

import numpy as np
import pytest

from engine.forge.labels import (
    ENTRY,
    EXIT,
    HOLD,
    UNDEFINED,
    Segment,
    chronological_split,
    purged_mask,
    triple_barrier_labels,
    walk_forward_folds,
)


def _walk(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.001, n)))
    high = close * np.exp(np.abs(rng.normal(0, 0.0005, n)))
    low = close * np.exp(-np.abs(rng.normal(0, 0.0005, n)))
    return close, high, low


def _loop_labels(close, high, low, pt, sl, horizon, vol):
    n = close.size
    out = np.full(n, UNDEFINED)
    width = vol * np.sqrt(horizon)
    for t in range(n):
        if t + horizon >= n or not np.isfinite(width[t]):
            continue
        up = close[t] * np.exp(pt * width[t])
        down = close[t] * np.exp(-sl * width[t])
        out[t] = HOLD
        for k in range(1, horizon + 1):
            if low[t + k] <= down:
                out[t] = EXIT
                break
            if high[t + k] >= up:
                out[t] = ENTRY
                break
    return out


def test_triple_barrier_labels_vectorized_matches_a_plain_loop() -> None:
    from engine.forge.labels import ewm_volatility

    close, high, low = _walk(3000, 1)
    got = triple_barrier_labels(
        close, high, low, profit_take=1.5, stop_loss=1.0, horizon=20, vol_span=30
    )
    want = _loop_labels(close, high, low, 1.5, 1.0, 20, ewm_volatility(close, 30))
    np.testing.assert_array_equal(got.labels, want)
    assert {HOLD, ENTRY, EXIT} <= set(np.unique(got.labels).tolist())


def test_triple_barrier_labels_last_horizon_bars_are_undefined() -> None:
    close, high, low = _walk(500, 2)
    got = triple_barrier_labels(
        close, high, low, profit_take=1, stop_loss=1, horizon=25, vol_span=10
    )
    assert np.all(got.labels[-25:] == UNDEFINED)
    assert np.all(got.labels[:9] == UNDEFINED)  # volatility warm-up


def test_triple_barrier_labels_event_end_within_horizon_and_after_the_bar() -> None:
    close, high, low = _walk(2000, 3)
    got = triple_barrier_labels(
        close, high, low, profit_take=1, stop_loss=1, horizon=15, vol_span=20
    )
    d = got.defined
    span = got.event_end[d] - np.flatnonzero(d)
    assert span.min() >= 1
    assert span.max() <= 15


def test_triple_barrier_labels_do_not_change_when_later_unrelated_data_is_appended() -> None:
    close, high, low = _walk(1200, 4)
    kw = {"profit_take": 1.0, "stop_loss": 1.0, "horizon": 10, "vol_span": 20}
    short = triple_barrier_labels(close[:1000], high[:1000], low[:1000], **kw)
    full = triple_barrier_labels(close, high, low, **kw)
    d = short.defined
    np.testing.assert_array_equal(short.labels[d], full.labels[:1000][d])


def test_chronological_split_segments_are_ordered_and_embargoed() -> None:
    s = chronological_split(1000, 0.6, 0.2, embargo=10)
    assert s.train.stop + 10 == s.validation.start
    assert s.validation.stop + 10 == s.holdout.start
    assert s.holdout.stop == 1000


def test_chronological_split_too_short_raises() -> None:
    with pytest.raises(ValueError, match="no holdout"):
        chronological_split(100, 0.6, 0.3, embargo=20)


def test_purged_mask_drops_labels_that_reach_past_the_segment() -> None:
    event_end = np.arange(100) + 5
    mask = purged_mask(event_end, Segment(0, 50))
    assert mask[:45].all()
    assert not mask[45:].any()


def test_walk_forward_folds_tile_the_segment_and_train_before_test() -> None:
    folds = walk_forward_folds(Segment(600, 1000), n_folds=4, train_length=300, embargo=20)
    assert [f[1].start for f in folds] == [600, 700, 800, 900]
    assert folds[-1][1].stop == 1000
    for train, test in folds:
        assert train.stop + 20 == test.start
        assert len(train) == 300
