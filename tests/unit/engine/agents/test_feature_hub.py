"""FeatureHub: a follower's window waits for the leader's bar of the same minute (cross-asset
features), or goes on without it after the grace period, and gives the stream's numbers."""

from __future__ import annotations

import asyncio
import math

import pytest

from engine.agents.feature_hub import FeatureHub, FeatureWindow
from engine.core.errors import DataError
from engine.features.config import CrossAssetConfig, FeaturesConfig, ParticleFilterConfig
from engine.features.factory import FeatureFactory
from engine.model.market import Bar

MINUTE = 60_000_000_000
T0 = 28_000_000 * MINUTE
CONFIG = FeaturesConfig(
    timeframes=("1m",),
    return_lags=(1,),
    volatility_window=3,
    atr_period=2,
    rsi_period=2,
    macd_fast=2,
    macd_slow=3,
    macd_signal=2,
    bollinger_window=3,
    volume_window=3,
    particle_filter=ParticleFilterConfig(enabled=False),
    cross_asset=CrossAssetConfig(lags=(0, 1), return_windows=(3,), vol_windows=(3,), corr_window=3),
)


def _bar(symbol: str, minute: int, close: float) -> Bar:
    return Bar(symbol, "1m", T0 + minute * MINUTE, close, close * 1.001, close * 0.999, close, 1.0)


def _closes(symbol: str, n: int) -> list[float]:
    base = 60_000.0 if symbol == "BTC/USDT" else 3_000.0
    return [
        base * (1 + 0.001 * math.sin(i * (1.3 if symbol == "BTC/USDT" else 0.7))) for i in range(n)
    ]


async def test_a_follower_waits_for_the_leaders_bar_and_matches_its_stream() -> None:
    ready: list[FeatureWindow] = []
    hub = FeatureHub(300, ready.extend, grace_s=30.0)
    fsid = FeatureFactory(CONFIG).feature_set_id
    eth, _ = hub.window_for("ETH/USDT", CONFIG.model_dump(mode="json"), fsid)
    btc, _ = hub.window_for("BTC/USDT", CONFIG.model_dump(mode="json"), fsid)
    assert eth.context_symbols == ("BTC/USDT",)
    assert btc.context_symbols == ()
    reference = FeatureFactory(CONFIG).incremental("ETH/USDT")
    for minute, (e, b) in enumerate(
        zip(_closes("ETH/USDT", 12), _closes("BTC/USDT", 12), strict=True)
    ):
        ready.clear()
        hub.on_bar(_bar("ETH/USDT", minute, e))  # the follower's bar comes first ...
        assert ready == []  # ... and waits
        hub.on_bar(_bar("BTC/USDT", minute, b))  # the leader's arrives: both are done
        assert {id(w) for w in ready} == {id(eth), id(btc)}
        expected = reference.update(
            _bar("ETH/USDT", minute, e), {"BTC/USDT": _bar("BTC/USDT", minute, b)}
        )
    last = eth.frame().iloc[-1]
    for name, value in expected.items():
        assert last[name] == pytest.approx(value, nan_ok=True)
    assert any(n.startswith("x_") or "lead" in n for n in eth.names)


async def test_without_the_leaders_bar_the_follower_goes_on_after_the_grace_period() -> None:
    ready: list[FeatureWindow] = []
    hub = FeatureHub(300, ready.extend, grace_s=0.05)
    fsid = FeatureFactory(CONFIG).feature_set_id
    eth, _ = hub.window_for("ETH/USDT", CONFIG.model_dump(mode="json"), fsid)
    hub.on_bar(_bar("ETH/USDT", 0, 3_000.0))
    assert ready == []
    await asyncio.sleep(0.2)
    assert ready == [eth]
    assert eth.count == 1
    # The next own bar also releases a held one at once (no second wait for the first).
    hub.on_bar(_bar("ETH/USDT", 1, 3_001.0))
    hub.on_bar(_bar("ETH/USDT", 2, 3_002.0))
    assert eth.count == 2
    assert eth.last_bar is not None
    assert eth.last_bar.ts_open == T0 + MINUTE


def test_warming_feeds_the_context_of_each_minute() -> None:
    hub = FeatureHub(300)
    fsid = FeatureFactory(CONFIG).feature_set_id
    eth, _ = hub.window_for("ETH/USDT", CONFIG.model_dump(mode="json"), fsid)
    eth_bars = [_bar("ETH/USDT", i, c) for i, c in enumerate(_closes("ETH/USDT", 20))]
    btc_bars = [_bar("BTC/USDT", i, c) for i, c in enumerate(_closes("BTC/USDT", 20))]
    assert FeatureHub.warm(eth, {"ETH/USDT": eth_bars, "BTC/USDT": btc_bars[2:]}) == 20
    reference = FeatureFactory(CONFIG).incremental("ETH/USDT")
    for i, bar in enumerate(eth_bars):
        expected = reference.update(bar, {"BTC/USDT": btc_bars[i]} if i >= 2 else {})
    last = eth.frame().iloc[-1]
    for name, value in expected.items():
        assert last[name] == pytest.approx(value, nan_ok=True)


async def test_live_bars_that_come_while_a_window_warms_up_are_applied_after_it() -> None:
    hub = FeatureHub(300)
    fsid = FeatureFactory(CONFIG).feature_set_id
    eth, _ = hub.window_for("ETH/USDT", CONFIG.model_dump(mode="json"), fsid)
    hub.warming.add(("ETH/USDT", fsid))
    closes_e, closes_b = _closes("ETH/USDT", 25), _closes("BTC/USDT", 25)
    for minute in (20, 21, 22):  # live bars during the warm-up: kept, not applied yet
        hub.on_bar(_bar("BTC/USDT", minute, closes_b[minute]))
        hub.on_bar(_bar("ETH/USDT", minute, closes_e[minute]))
    assert eth.count == 0
    history = {
        "ETH/USDT": [_bar("ETH/USDT", i, closes_e[i]) for i in range(21)],  # overlaps minute 20
        "BTC/USDT": [_bar("BTC/USDT", i, closes_b[i]) for i in range(21)],
    }
    FeatureHub.warm(eth, history)
    assert hub.catch_up(eth) == 2  # minutes 21 and 22; 20 came with the history
    assert eth.count == 23
    assert eth.last_bar is not None
    assert eth.last_bar.ts_open == T0 + 22 * MINUTE
    reference = FeatureFactory(CONFIG).incremental("ETH/USDT")
    for i in range(23):
        expected = reference.update(
            _bar("ETH/USDT", i, closes_e[i]), {"BTC/USDT": _bar("BTC/USDT", i, closes_b[i])}
        )
    last = eth.frame().iloc[-1]
    for name, value in expected.items():
        assert last[name] == pytest.approx(value, nan_ok=True)
    hub.on_bar(_bar("ETH/USDT", 23, closes_e[23]))  # warm: live bars flow again
    hub.on_bar(_bar("BTC/USDT", 23, closes_b[23]))
    assert eth.count == 24


def test_an_agents_slice_of_a_wrapped_window_is_the_whole_windows_tail() -> None:
    """``latest`` (what a decision reads) agrees with the full frame after the ring wraps,
    and ``finite_rows`` counts the finite tail of just the asked columns."""
    window = FeatureWindow("BTC/USDT", FeatureFactory(CONFIG), rows=7)
    for minute, close in enumerate(_closes("BTC/USDT", 19)):
        assert window.update(_bar("BTC/USDT", minute, close))
    full = window.frame()
    assert len(full) == 7
    columns = (window.names[-1], window.names[0])
    part = window.latest(columns, 4)
    assert part.shape == (4, 2)
    expected = full.loc[:, list(columns)].iloc[-4:].to_numpy()
    assert part.ravel() == pytest.approx(expected.ravel(), nan_ok=True)
    assert window.latest(columns, 4) is part  # built once per bar
    assert not part.flags.writeable  # shared by the agents on this feature set
    finite = [c for c in window.names if full[c].notna().all()]
    assert window.finite_rows(tuple(finite[:2])) == 7
    with pytest.raises(DataError, match="no column"):
        window.latest(("not_a_feature",), 2)
