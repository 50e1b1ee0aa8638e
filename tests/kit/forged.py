"""Synthetic bars for forge tests (with or without an edge) and a real forge run on them.

``regime_drift_bars`` plants a tradable edge; ``random_walk_bars`` and
``shuffled_bars`` are controls where no edge can exist; ``forge_bars`` stores
bars and runs one forge task on them in this process (``run_forge_job``).
Shared by ``tests/integration/test_forge_acceptance.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine.features.config import FeaturesConfig
from engine.forge.config import ForgeConfig
from engine.forge.pipeline import run_forge_job
from engine.forge.task import ForgeJob, ForgeOutcome, ForgeTask
from engine.marketdata.store import BarStore
from engine.marketdata.timeframes import timeframe_delta

SIM_SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
# The sim venue's initial prices (cerebellum_core/src/config.rs), so forged bars look alike.
SIM_PRICES = {"BTC/USDT": 60_000.0, "ETH/USDT": 3_000.0, "SOL/USDT": 150.0}
EXCHANGE = "sim"


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
) -> ForgeOutcome:
    """Store ``bars`` under ``root / "bars"`` and run one forge task on them in this process.

    ``forge`` holds ``[forge]`` settings merged over the defaults; the agent, if
    any, goes to ``models_dir`` (default ``root / "models"``).
    """
    store = BarStore(root / "bars")
    store.write(EXCHANGE, symbol, timeframe, bars)
    settings = ForgeConfig().model_dump(mode="json") | (forge or {})
    job = ForgeJob(
        task=ForgeTask(symbol, f"{symbol}#test", budget=budget, seed=seed, timeframe=timeframe),
        bars_root=str(root / "bars"),
        models_dir=str(models_dir if models_dir is not None else root / "models"),
        forge=ForgeConfig.model_validate(settings).model_dump(mode="json"),
        features=FeaturesConfig().model_dump(mode="json"),
        exchange=EXCHANGE,
        created_ns=0,
    )
    return run_forge_job(job, lambda _update: None)
