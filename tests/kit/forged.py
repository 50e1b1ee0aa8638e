"""Forged agents for tests: synthetic bars (with or without an edge) and real forge runs on them.

``forge_planted_agent(models_dir, "BTC/USDT", seed=1)`` runs the real forge
(``run_forge_job`` in this process, ``--budget small``, the default gates) on
30 days of 1-minute bars with a planted, tradable edge and returns the id of
the agent it registered (it asserts that it did); the bundle is at
``models_dir / agent_id``. The bars end at the latest hh:59 bar at or before
``end`` (default: the last closed minute, so within the hour before now) and
start at the sim venue's price for the symbol. The planted edge lives in one
symbol's bars, so planted agents use ``PLANTED_FEATURES`` (no cross-asset
features): they need no leader's bars, forged or live. All 15 (symbol, seed)
pairs of BTC/ETH/SOL x seeds 1-5 register a lone GP tree (94-176 holdout
trades); the seed picks the tree whatever the symbol, except ETH/USDT seed 2.

Time on the 2-core development machine: 2.7-5 s a call (load average ~1-2),
up to 14 s while other work keeps the cores busy.

The bar builders are shared with ``tests/integration/test_forge_acceptance.py``:
``regime_drift_bars`` (the planted edge), ``random_walk_bars`` and
``shuffled_bars`` (controls where no edge can exist); ``forge_bars`` stores bars
and runs one forge task on them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine.features.config import CrossAssetConfig, FeaturesConfig
from engine.forge.config import ForgeConfig
from engine.forge.pipeline import run_forge_job
from engine.forge.task import ForgeJob, ForgeOutcome, ForgeTask
from engine.marketdata.store import BarStore
from engine.marketdata.timeframes import timeframe_delta

SIM_SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
# The sim venue's initial prices (cerebellum_core/src/config.rs), so forged bars look alike.
SIM_PRICES = {"BTC/USDT": 60_000.0, "ETH/USDT": 3_000.0, "SOL/USDT": 150.0}
EXCHANGE = "sim"
# The planted edge of forge_planted_agent: +/-10 bp a bar, the sign flipping every ~40 bars.
PLANTED_DAYS = 30
PLANTED_DRIFT = 0.001
PLANTED_FLIP_EVERY = 40.0
# A planted edge lives in one symbol's bars, so planted agents are forged without the
# cross-asset features: they need no leader's bars, forged or live.
PLANTED_FEATURES = FeaturesConfig(cross_asset=CrossAssetConfig(enabled=False))


def bars_from_log_returns(
    ret: np.ndarray,
    rel: np.ndarray,
    volume: np.ndarray,
    *,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    price: float = 100.0,
    timeframe: str = "1m",
) -> pd.DataFrame:
    """Bars whose closes follow ``ret``; ``rel`` = (open, high, low) as log offsets from the close.

    The index starts at ``start`` or ends at ``end`` (floored to the bar), one
    bar per ``timeframe``; with neither it starts at 2024-01-01.
    """
    close = price * np.exp(np.cumsum(ret))
    open_ = close * np.exp(rel[:, 0])
    high = np.maximum(close * np.exp(rel[:, 1]), np.maximum(open_, close))
    low = np.minimum(close * np.exp(rel[:, 2]), np.minimum(open_, close))
    step = timeframe_delta(timeframe)
    if end is not None:
        last = pd.Timestamp(end)
        last = (last.tz_localize("UTC") if last.tz is None else last.tz_convert("UTC")).floor(step)
        index = pd.date_range(end=last, periods=ret.size, freq=step, tz="UTC", name="ts")
    else:
        first = pd.Timestamp(start if start is not None else "2024-01-01", tz="UTC")
        index = pd.date_range(first, periods=ret.size, freq=step, tz="UTC", name="ts")
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index
    )


def random_walk_bars(seed: int, days: int) -> pd.DataFrame:
    """A driftless 1m random walk: no strategy can have an edge."""
    rng = np.random.default_rng(seed)
    n = days * 1440
    ret = rng.normal(0.0, 0.0008, n)
    rel = np.column_stack(
        [
            -ret + rng.normal(0, 0.0002, n),
            np.abs(rng.normal(0, 0.0004, n)),
            -np.abs(rng.normal(0, 0.0004, n)),
        ]
    )
    return bars_from_log_returns(ret, rel, rng.lognormal(2.0, 0.5, n))


def shuffled_bars(bars: pd.DataFrame, seed: int) -> pd.DataFrame:
    """``bars`` with their returns (and bar shapes, volumes) in random order."""
    close = bars["close"].to_numpy()
    ret = np.diff(np.log(close), prepend=np.log(close[0]))
    rel = np.log(bars[["open", "high", "low"]].to_numpy() / close[:, None])
    order = np.random.default_rng(seed).permutation(close.size)
    return bars_from_log_returns(ret[order], rel[order], bars["volume"].to_numpy()[order])


def bars_per_day(timeframe: str) -> int:
    return int(pd.Timedelta(days=1) / timeframe_delta(timeframe))


def regime_drift_bars(
    seed: int,
    days: int,
    *,
    drift: float = 0.0003,
    flip_every: float = 300.0,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    price: float = 100.0,
    timeframe: str = "1m",
) -> pd.DataFrame:
    """A planted edge: a drift of +/-``drift`` a bar whose sign flips every ~``flip_every``
    bars (trend following pays), under 10 bp of noise a bar."""
    rng = np.random.default_rng(seed)
    n = days * bars_per_day(timeframe)
    state = np.cumsum(rng.random(n) < 1 / flip_every) % 2 * 2 - 1
    ret = drift * state + rng.normal(0.0, 0.001, n)
    rel = np.column_stack(
        [-ret, np.abs(rng.normal(0, 0.0004, n)), -np.abs(rng.normal(0, 0.0004, n))]
    )
    volume = rng.lognormal(2.0, 0.5, n)
    return bars_from_log_returns(
        ret, rel, volume, start=start, end=end, price=price, timeframe=timeframe
    )


def forge_bars(
    root: Path,
    symbol: str,
    bars: pd.DataFrame,
    seed: int,
    *,
    models_dir: Path | None = None,
    timeframe: str = "1m",
    forge: dict[str, Any] | None = None,
    budget: str = "small",
    features: FeaturesConfig | None = None,
    context: Mapping[str, pd.DataFrame] | None = None,
) -> ForgeOutcome:
    """Store ``bars`` under ``root / "bars"`` and run one forge task on them in this process.

    ``forge`` holds ``[forge]`` settings merged over the defaults; ``features``
    is the feature configuration (default ``FeaturesConfig()``, whose
    cross-asset features need the leader's bars for any other symbol: pass
    them in ``context``, symbol -> bars, stored next to ``bars``). The agent, if
    any, goes to ``models_dir`` (default ``root / "models"``).
    """
    store = BarStore(root / "bars")
    store.write(EXCHANGE, symbol, timeframe, bars)
    for other, frame in (context or {}).items():
        store.write(EXCHANGE, other, timeframe, frame)
    settings = ForgeConfig().model_dump(mode="json") | (forge or {})
    job = ForgeJob(
        task=ForgeTask(symbol, f"{symbol}#test", budget=budget, seed=seed, timeframe=timeframe),
        bars_root=str(root / "bars"),
        models_dir=str(models_dir if models_dir is not None else root / "models"),
        forge=ForgeConfig.model_validate(settings).model_dump(mode="json"),
        features=(features or FeaturesConfig()).model_dump(mode="json"),
        exchange=EXCHANGE,
        created_ns=0,
    )
    return run_forge_job(job, lambda _update: None)


def last_closed_minute() -> pd.Timestamp:
    """Open time of the newest closed 1-minute bar."""
    return pd.Timestamp.now(tz="UTC").floor("1min") - pd.Timedelta(minutes=1)


def hour_aligned_end(end: pd.Timestamp) -> pd.Timestamp:
    """The latest hh:59 bar at or before ``end``.

    The 15m and 1h features resample on the clock, so where the bars end within
    the hour changes the features and, with them, the forge's verdict; ending
    every series at hh:59 makes a (symbol, seed) forge the same agent at any time.
    """
    ts = pd.Timestamp(end)
    ts = ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")
    minute = pd.Timedelta(minutes=1)
    return (ts.floor("1min") + minute).floor("1h") - minute


def forge_planted_agent(
    models_dir: Path,
    symbol: str,
    *,
    seed: int,
    end: pd.Timestamp | None = None,
    days: int = PLANTED_DAYS,
    bars_root: Path | None = None,
) -> str:
    """Forge a real agent for ``symbol`` on planted-edge 1m bars ending by ``end``.

    The last bar is the latest hh:59 bar at or before ``end`` (default: the last
    closed minute), so the bars end within the hour before ``end`` and a given
    (symbol, seed, days) always forges the same agent. Asserts that the agent
    registered and returns its id. ``bars_root`` keeps the bars the agent was
    forged on (a store at ``bars_root / "bars"``, exchange ``sim``, timeframe
    1m); by default they go to a temporary directory removed afterwards.
    """
    bars = regime_drift_bars(
        seed,
        days,
        drift=PLANTED_DRIFT,
        flip_every=PLANTED_FLIP_EVERY,
        end=hour_aligned_end(end if end is not None else last_closed_minute()),
        price=SIM_PRICES.get(symbol, 100.0),
    )
    if bars_root is not None:
        outcome = forge_bars(
            bars_root, symbol, bars, seed, models_dir=models_dir, features=PLANTED_FEATURES
        )
    else:
        with tempfile.TemporaryDirectory(prefix="crucible-forged-") as tmp:
            outcome = forge_bars(
                Path(tmp), symbol, bars, seed, models_dir=models_dir, features=PLANTED_FEATURES
            )
    assert outcome.status == "registered", f"{symbol} seed {seed}: {outcome.reason}"
    assert outcome.agent_id is not None
    return outcome.agent_id
