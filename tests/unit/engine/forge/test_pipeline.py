"""A forge task ends in a verdict: too little data is a rejection, a crash is a failure.

A follower's task loads the leader's bars as the features' context.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from engine.features.config import FeaturesConfig
from engine.forge.config import ForgeConfig
from engine.forge.pipeline import ForgeRun, load_features
from engine.forge.task import DEFAULT_ENTRYPOINT, ForgeJob, ForgeOutcome, ForgeTask
from engine.forge.worker import run_job
from engine.marketdata.store import BarStore
from tests.kit.forged import random_walk_bars

STUBS = "tests.unit.engine.forge.stub_workers"


def _job(root: Path, task: ForgeTask, entrypoint: str | None = None, **forge: Any) -> ForgeJob:
    return ForgeJob(
        task=task,
        bars_root=str(root / "bars"),
        models_dir=str(root / "models"),
        forge=ForgeConfig.model_validate(forge).model_dump(mode="json"),
        features=FeaturesConfig().model_dump(mode="json"),
        exchange="sim",
        created_ns=0,
        entrypoint=entrypoint or DEFAULT_ENTRYPOINT,
    )


def _run(job: ForgeJob) -> ForgeOutcome:
    return run_job(job, SimpleNamespace(put=lambda _message: None))


def _store(root: Path, bars_count: int) -> None:
    bars = random_walk_bars(1, 3).iloc[:bars_count]
    BarStore(root / "bars").write("sim", "BTC/USDT", "1m", bars)


def test_fewer_bars_than_the_forge_needs_is_a_rejection_not_a_failure(tmp_path: Path) -> None:
    _store(tmp_path, 1500)
    outcome = _run(_job(tmp_path, ForgeTask("BTC/USDT", "s", seed=1)))
    assert outcome.status == "rejected"
    assert outcome.reason.startswith("too few usable bars: only 1500 1m bars")
    assert outcome.report["timeframe"] == "1m"
    assert not (tmp_path / "models").exists()


def test_bars_mostly_spent_on_the_feature_warm_up_are_a_rejection(tmp_path: Path) -> None:
    _store(tmp_path, 3000)  # the 1h features need about 37 hours before their first value
    outcome = _run(_job(tmp_path, ForgeTask("BTC/USDT", "s", seed=1)))
    assert outcome.status == "rejected"
    assert "usable bars after warm-up; the forge needs >= 2000" in outcome.reason


def test_a_series_that_is_not_stored_is_still_a_failure(tmp_path: Path) -> None:
    outcome = _run(_job(tmp_path, ForgeTask("SOL/USDT", "s", seed=1)))
    assert outcome.status == "failed"
    assert "DataError" in outcome.reason
    assert "no 1m bars stored" in outcome.reason


def test_a_worker_that_raises_a_plain_runtime_error_still_fails(tmp_path: Path) -> None:
    outcome = _run(_job(tmp_path, ForgeTask("BTC/USDT", "s"), f"{STUBS}:crash"))
    assert outcome.status == "failed"
    assert outcome.reason == "RuntimeError: boom inside the forge worker"
    assert "Traceback" in outcome.report["traceback"]


def test_the_task_timeframe_overrides_the_config_and_sets_the_annualisation(
    tmp_path: Path,
) -> None:
    run = ForgeRun(_job(tmp_path, ForgeTask("BTC/USDT", "s", timeframe="5m")), print)
    assert run.config.timeframe == "5m"
    assert run.config.annual_bars == 365 * 288
    run = ForgeRun(_job(tmp_path, ForgeTask("BTC/USDT", "s"), timeframe="1h"), print)
    assert run.config.annual_bars == 365 * 24
    # An explicit bars_per_year wins over the timeframe.
    job = _job(tmp_path, ForgeTask("BTC/USDT", "s", timeframe="5m"), bars_per_year=100_000.0)
    assert ForgeRun(job, print).config.annual_bars == 100_000.0


def test_forge_config_derives_bars_per_year_from_its_timeframe() -> None:
    assert ForgeConfig().bars_per_year is None
    assert ForgeConfig().annual_bars == 525_600
    assert ForgeConfig(timeframe="15m").annual_bars == 35_040
    assert ForgeConfig(timeframe="1d").annual_bars == 365
    with pytest.raises(ValidationError, match="timeframe"):
        ForgeConfig(timeframe="5 minutes")


def test_a_followers_task_loads_the_leaders_bars_as_context(tmp_path: Path) -> None:
    leader, follower = random_walk_bars(1, 3), random_walk_bars(2, 3)
    store = BarStore(tmp_path / "bars")
    store.write("sim", "BTC/USDT", "1m", leader)
    store.write("sim", "ETH/USDT", "1m", follower)
    start, end = follower.index[100], follower.index[-200]
    job = _job(tmp_path, ForgeTask("ETH/USDT", "s", start=str(start), end=str(end)))
    bars, features, factory = load_features(job, "1m")
    assert (bars.index[0], bars.index[-1]) == (start, end)
    assert factory.context_symbols("ETH/USDT") == ("BTC/USDT",)
    stored_leader = store.load("sim", "BTC/USDT", "1m", start, end)
    expected = factory.batch(bars, symbol="ETH/USDT", context={"BTC/USDT": stored_leader})
    pd.testing.assert_frame_equal(features, expected)
    # The leader's returns, not the follower's own, fill the lead_ columns.
    own = factory.batch(bars)
    assert not np.allclose(features["lead_ret_lag0"].iloc[1:], own["lead_ret_lag0"].iloc[1:])
    np.testing.assert_allclose(
        features["lead_ret_lag0"].iloc[1:],
        np.diff(np.log(leader["close"].loc[start:end].to_numpy())),
        rtol=0,
        atol=1e-15,
    )
    # The leader's own task needs no context.
    leader_job = _job(tmp_path, ForgeTask("BTC/USDT", "s", start=str(start), end=str(end)))
    _bars, leader_features, _factory = load_features(leader_job, "1m")
    pd.testing.assert_frame_equal(leader_features, factory.batch(stored_leader))


def test_a_followers_task_without_the_leaders_bars_fails_naming_the_series(
    tmp_path: Path,
) -> None:
    BarStore(tmp_path / "bars").write("sim", "SOL/USDT", "1m", random_walk_bars(2, 3))
    outcome = _run(_job(tmp_path, ForgeTask("SOL/USDT", "s", seed=1)))
    assert outcome.status == "failed"
    assert "DataError" in outcome.reason
    assert "BTC/USDT" in outcome.reason
