"""L2 features: textbook cases of OFI, imbalance and micro-price; batch equals streaming."""

from __future__ import annotations

import numpy as np
import pytest

from engine.model.enums import Side
from engine.model.market import Trade
from engine.signals.mce.features import (
    FEATURE_NAMES,
    L2FeatureEngine,
    book_imbalance,
    l2_feature_frame,
    order_flow_imbalance,
)
from tests.unit.engine.signals.books import book, imbalance_stream

IDX = {n: i for i, n in enumerate(FEATURE_NAMES)}


@pytest.mark.parametrize(
    ("prev", "cur", "expected"),
    [
        ((10.0, 5.0, 10.02, 7.0), (10.0, 8.0, 10.02, 7.0), 3.0),  # bid queue grows
        ((10.0, 5.0, 10.02, 7.0), (10.01, 2.0, 10.02, 7.0), 2.0),  # bid price improves
        ((10.0, 5.0, 10.02, 7.0), (9.99, 4.0, 10.02, 7.0), -5.0),  # bid level wiped out
        ((10.0, 5.0, 10.02, 7.0), (10.0, 5.0, 10.02, 9.0), -2.0),  # ask queue grows
        ((10.0, 5.0, 10.02, 7.0), (10.0, 5.0, 10.03, 1.0), 7.0),  # ask level wiped out
    ],
)
def test_order_flow_imbalance_follows_cont_kukanov_stoikov(
    prev: tuple[float, ...], cur: tuple[float, ...], expected: float
) -> None:
    a = book(prev[0], prev[2], [prev[1]], [prev[3]])
    b = book(cur[0], cur[2], [cur[1]], [cur[3]])
    assert order_flow_imbalance(a, b) == pytest.approx(expected)


def test_book_imbalance_by_depth() -> None:
    snap = book(10.0, 10.02, [3, 1, 1], [1, 1, 5])
    assert book_imbalance(snap, 1) == pytest.approx(0.5)
    assert book_imbalance(snap, 3) == pytest.approx((5 - 7) / 12)


def test_engine_microprice_leans_to_the_heavier_queue() -> None:
    eng = L2FeatureEngine()
    heavy_bid = eng.on_snapshot(book(10.0, 10.02, [9, 1], [1, 1], ts=1))
    assert heavy_bid is not None
    assert heavy_bid[IDX["microprice_dev"]] == pytest.approx(0.4)
    assert heavy_bid[IDX["spread_bps"]] == pytest.approx(0.02 / 10.01 * 1e4)
    assert len(heavy_bid) == len(FEATURE_NAMES)


def test_engine_trade_imbalance_counts_taker_sides() -> None:
    eng = L2FeatureEngine()
    for i in range(3):
        eng.on_trade(Trade("BTC/USDT", i, i, 10.0, 1.0, Side.BUY, f"b{i}"))
    eng.on_trade(Trade("BTC/USDT", 3, 3, 10.0, 1.0, Side.SELL, "s"))
    vec = eng.on_snapshot(book(10.0, 10.02, [1], [1], ts=4))
    assert vec is not None
    assert vec[IDX["trade_imbalance"]] == pytest.approx(0.5, abs=1e-6)
    assert vec[IDX["trade_intensity"]] > 0


def test_engine_skips_crossed_and_stale_books_and_resets_after_stale() -> None:
    eng = L2FeatureEngine()
    assert eng.on_snapshot(book(10.0, 10.02, [1], [1], ts=1)) is not None
    assert eng.on_snapshot(book(10.03, 10.02, [1], [1], ts=2)) is None
    assert eng.on_snapshot(book(10.0, 10.02, [1], [1], ts=3, stale=True)) is None
    after = eng.on_snapshot(book(10.5, 10.52, [1], [1], ts=4))
    assert after is not None
    assert after[IDX["mid_change_bps"]] == 0.0  # no previous book after the reset
    assert eng.skipped == 2


def test_engine_depletion_rate_grows_when_the_best_bid_queue_is_eaten() -> None:
    eng = L2FeatureEngine()
    for i, q in enumerate([10.0, 8.0, 6.0, 4.0]):
        vec = eng.on_snapshot(book(10.0, 10.02, [q], [10.0], ts=i * 100_000_000))
    assert vec is not None
    assert vec[IDX["bid_depletion"]] > 0
    assert vec[IDX["ask_depletion"]] == 0


def test_feature_frame_equals_the_streaming_engine_and_is_finite() -> None:
    events = list(imbalance_stream(400, seed=2))
    frame = l2_feature_frame(events)
    eng = L2FeatureEngine()
    rows = []
    for ev in events:
        if isinstance(ev, Trade):
            eng.on_trade(ev)
        else:
            vec = eng.on_snapshot(ev)
            if vec is not None:
                rows.append(vec)
    np.testing.assert_allclose(frame.features.to_numpy(), np.vstack(rows))
    assert np.isfinite(frame.features.to_numpy()).all()
    assert len(frame.mid) == len(frame.ts_event) == len(frame.raw_ofi) == 400


def test_feature_frame_is_causal_under_truncation() -> None:
    events = list(imbalance_stream(300, seed=3))
    full = l2_feature_frame(events).features
    cut = l2_feature_frame(events[:200]).features
    np.testing.assert_allclose(cut.to_numpy(), full.iloc[: len(cut)].to_numpy())
