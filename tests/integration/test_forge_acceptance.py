"""Issue 7 acceptance: the forge on simulated history, its controls, and exact reloads.

1. 90 days of simulated 1m bars: ``crucible forge --budget small`` finishes in
   <= 5 minutes and registers an agent or says which gate refused.
2. A registered bundle loads in a fresh process and reproduces the gauntlet's
   signals bit for bit (registration forced with permissive gates, so the
   reload path is always exercised; and an ensemble of several kinds forged on
   a planted edge under the default gates).
3. A positive control: a planted, tradable edge (regime drift) is registered;
   its bundle reproduces the judged ensemble vote and the stored trade stats.
4. Controls where no edge can exist (driftless random walk; the simulated
   series with its bars shuffled): ``--budget small`` registers nothing for 5
   seeds, and each report names the gate that rejected.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from engine.features.config import FeaturesConfig
from engine.features.factory import FeatureFactory
from engine.forge.backtest import CostModel, backtest, trade_stats
from engine.forge.config import ForgeConfig
from engine.forge.ensemble import ensemble_signals
from engine.forge.pipeline import run_forge_job, signals_digest
from engine.forge.registry import AgentBundle, load_bundle
from engine.forge.report import format_outcome
from engine.forge.task import ForgeJob, ForgeOutcome, ForgeTask
from engine.marketdata.simulate import simulate_into_store
from engine.marketdata.store import BarStore
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

GATE_NAMES = (
    "min_trades",
    "max_drawdown",
    "deflated_sharpe",
    "random_entry_pvalue",
    "mc_drawdown_p95",
    "walk_forward_sharpe",
    "positive_fold_fraction",
    "bake-off",
)
CONTROL_DAYS = 30


def _write_config(root: Path, extra: str = "") -> Path:
    path = root / "crucible.toml"
    path.write_text(f'[paths]\nroot = "{root}"\n{extra}')
    return path


def _run_cli(config: Path, *args: str, timeout: float) -> tuple[float, dict[str, Any], str]:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine",
            "--config",
            str(config),
            "forge",
            "--no-progress",
            "--json",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_ROOT,
    )
    took = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    return took, json.loads(lines[-1]), "\n".join(lines[:-1])


def _reload_digest(bundle: Path, bars_root: Path) -> dict[str, Any]:
    """Load the bundle in a fresh interpreter and recompute its holdout signals."""
    script = """
import hashlib, json, sys
from pathlib import Path
import numpy as np
from engine.features.config import FeaturesConfig
from engine.features.factory import FeatureFactory
from engine.forge.pipeline import signals_digest
from engine.forge.registry import load_bundle
from engine.marketdata.store import BarStore

bundle = load_bundle(Path(sys.argv[1]))
meta = bundle.metadata
rng = meta["task_range"]
bars = BarStore(Path(sys.argv[2])).load(meta["exchange"], meta["symbol"], meta["timeframe"], rng["start"], rng["end"])
factory = FeatureFactory(FeaturesConfig.model_validate(meta["features_config"]))
assert factory.feature_set_id == bundle.feature_set_id
features = factory.batch(bars)
hold = meta["holdout_range"]
print(json.dumps(signals_digest(bundle.signals(features.loc[hold["start"]:hold["end"]]))))
"""
    proc = subprocess.run(
        [sys.executable, "-c", script, str(bundle), str(bars_root)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO_ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _assert_names_a_gate(outcome: dict[str, Any]) -> None:
    assert outcome["status"] == "rejected", outcome["reason"]
    assert any(name in outcome["reason"] for name in GATE_NAMES), outcome["reason"]


def test_forge_small_on_90_days_of_simulated_bars(tmp_path: Path, cerebellum_binary: Path) -> None:
    config = _write_config(tmp_path)
    store = BarStore(tmp_path / "var" / "data" / "bars")
    simulate_into_store(store, cerebellum_binary, ["BTC/USDT"], days=90, seed=11)
    took, outcome, text = _run_cli(
        config, "--symbol", "BTC/USDT", "--budget", "small", "--seed", "7", timeout=330
    )
    print(text)
    print(f"forge --budget small on 90 days: {took:.1f} s -> {outcome['status']}")
    assert took <= 300.0
    assert outcome["report"]["bars"] > 120_000
    if outcome["status"] == "registered":
        bundle = tmp_path / "models" / outcome["agent_id"]
        digest = _reload_digest(bundle, tmp_path / "var" / "data" / "bars")
        assert digest == outcome["report"]["gauntlet_signals"]
    else:
        _assert_names_a_gate(outcome)


def test_registered_bundle_reproduces_gauntlet_signals_in_a_fresh_process(
    tmp_path: Path, cerebellum_binary: Path
) -> None:
    permissive = (
        "[forge.gates]\nmin_trades = 1\nmax_drawdown = 0.99\nmin_deflated_sharpe = 0.0\n"
        "max_random_entry_pvalue = 1.0\nmax_mc_drawdown_p95 = 0.99\nmin_walk_forward_sharpe = -1000.0\n"
        "min_positive_fold_fraction = 0.0\n"
    )
    config = _write_config(tmp_path, permissive)
    simulate_into_store(
        BarStore(tmp_path / "var" / "data" / "bars"),
        cerebellum_binary,
        ["ETH/USDT"],
        days=20,
        seed=5,
    )
    _took, outcome, text = _run_cli(config, "--symbol", "ETH/USDT", "--seed", "3", timeout=330)
    print(text)
    assert outcome["status"] == "registered", outcome["reason"]
    bundle = tmp_path / "models" / outcome["agent_id"]
    assert sorted(p.name for p in bundle.iterdir())[0] == "agent.json"
    digest = _reload_digest(bundle, tmp_path / "var" / "data" / "bars")
    print(f"reloaded {outcome['agent_id']}: {digest}")
    assert digest == outcome["report"]["gauntlet_signals"]
    assert digest["entry"] > 0


def _bars_from_log_returns(
    ret: np.ndarray, rel: np.ndarray, volume: np.ndarray, start: str
) -> pd.DataFrame:
    """Bars whose closes follow ``ret``; ``rel`` = (open, high, low) as log offsets from the close."""
    close = 100.0 * np.exp(np.cumsum(ret))
    open_ = close * np.exp(rel[:, 0])
    high = np.maximum(close * np.exp(rel[:, 1]), np.maximum(open_, close))
    low = np.minimum(close * np.exp(rel[:, 2]), np.minimum(open_, close))
    index = pd.date_range(start, periods=ret.size, freq="1min", tz="UTC", name="ts")
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index
    )


def _random_walk(seed: int, days: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = days * 1440
    ret = rng.normal(0.0, 0.0008, n)  # driftless
    rel = np.column_stack(
        [
            -ret + rng.normal(0, 0.0002, n),
            np.abs(rng.normal(0, 0.0004, n)),
            -np.abs(rng.normal(0, 0.0004, n)),
        ]
    )
    return _bars_from_log_returns(ret, rel, rng.lognormal(2.0, 0.5, n), "2024-01-01")


def _shuffled(bars: pd.DataFrame, seed: int) -> pd.DataFrame:
    close = bars["close"].to_numpy()
    ret = np.diff(np.log(close), prepend=np.log(close[0]))
    rel = np.log(bars[["open", "high", "low"]].to_numpy() / close[:, None])
    order = np.random.default_rng(seed).permutation(close.size)
    return _bars_from_log_returns(
        ret[order], rel[order], bars["volume"].to_numpy()[order], "2024-01-01"
    )


def _forge(root: Path, symbol: str, bars: pd.DataFrame, seed: int) -> ForgeOutcome:
    store = BarStore(root / "bars")
    store.write("sim", symbol, "1m", bars)
    job = ForgeJob(
        task=ForgeTask(symbol, f"{symbol}#control", budget="small", seed=seed),
        bars_root=str(root / "bars"),
        models_dir=str(root / "models"),
        forge=ForgeConfig().model_dump(mode="json"),
        features=FeaturesConfig().model_dump(mode="json"),
        exchange="sim",
        created_ns=0,
    )
    return run_forge_job(job, lambda _update: None)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_no_agent_on_a_driftless_random_walk(tmp_path: Path, seed: int) -> None:
    outcome = _forge(tmp_path, "BTC/USDT", _random_walk(seed, CONTROL_DAYS), seed)
    print(f"random walk seed {seed}:\n{format_outcome(outcome)}")
    _assert_names_a_gate(outcome.to_dict())
    assert not (tmp_path / "models").exists()


def _regime_drift(
    seed: int, days: int, drift: float = 0.0003, flip_every: float = 300.0
) -> pd.DataFrame:
    """A planted edge: the drift flips sign every ~``flip_every`` bars (trend following pays)."""
    rng = np.random.default_rng(seed)
    n = days * 1440
    state = np.cumsum(rng.random(n) < 1 / flip_every) % 2 * 2 - 1
    ret = drift * state + rng.normal(0.0, 0.001, n)
    rel = np.column_stack(
        [-ret, np.abs(rng.normal(0, 0.0004, n)), -np.abs(rng.normal(0, 0.0004, n))]
    )
    return _bars_from_log_returns(ret, rel, rng.lognormal(2.0, 0.5, n), "2024-01-01")


def _check_registered_ensemble(root: Path, outcome: ForgeOutcome) -> AgentBundle:
    """The bundle holds the bake-off's members and reproduces the judged signals and trades."""
    assert outcome.status == "registered", outcome.reason
    assert outcome.agent_id is not None
    report = outcome.report
    assert all(g["passed"] for g in report["gauntlet"]["gates"])
    metrics = report["gauntlet"]["metrics"]
    assert metrics["n_trials"] == report["gp_evaluations"] + report["gbm_candidates"] + 1
    bundle = load_bundle(root / "models" / outcome.agent_id)
    members = bundle.metadata["ensemble"]["members"]
    assert [m["name"] for m in members] == report["members"]
    assert [s.kind for s in bundle.specialists] == [m["kind"] for m in members]
    assert outcome.agent_id.split("-")[1] == "_".join(m["kind"] for m in members)
    for entry in bundle.metadata["specialists"]:
        if entry["kind"] != "gp":
            assert 0 < len(entry["top_features"]) <= 10
    # The ensemble vote on the holdout, recomputed here, backtests to the stored trade stats.
    bars = BarStore(root / "bars").load("sim", bundle.symbol, bundle.metadata["timeframe"])
    features = FeatureFactory(FeaturesConfig()).batch(bars)
    hold = bundle.metadata["holdout_range"]
    frame = features.loc[hold["start"] : hold["end"]]
    votes = bundle.votes(frame)
    signals = bundle.signals(frame)
    np.testing.assert_array_equal(signals, ensemble_signals(votes))
    assert signals_digest(signals) == report["gauntlet_signals"]
    prices = bars.loc[frame.index]
    config = ForgeConfig()
    result = backtest(
        signals,
        prices["open"].to_numpy(),
        prices["close"].to_numpy(),
        CostModel.from_config(config.costs),
        config.bars_per_year,
    )
    assert bundle.metadata["trade_stats"] == report["trade_stats"] == trade_stats(result)
    assert report["trade_stats"]["trades"] == result.trades >= config.gates.min_trades
    return bundle


def test_forge_registers_an_agent_when_a_real_edge_exists(tmp_path: Path) -> None:
    outcome = _forge(tmp_path, "BTC/USDT", _regime_drift(1, CONTROL_DAYS), 1)
    print(f"planted regime drift:\n{format_outcome(outcome)}")
    _check_registered_ensemble(tmp_path, outcome)


def test_forge_registers_an_ensemble_of_several_kinds_that_reloads_exactly(
    tmp_path: Path,
) -> None:
    """Short regimes with a strong drift: the boosters trade often enough to join the GP tree."""
    bars = _regime_drift(1, CONTROL_DAYS, drift=0.001, flip_every=40)
    outcome = _forge(tmp_path, "BTC/USDT", bars, 1)
    print(f"planted short regimes:\n{format_outcome(outcome)}")
    bundle = _check_registered_ensemble(tmp_path, outcome)
    assert 2 <= len(bundle.specialists) <= 3
    frame = FeatureFactory(FeaturesConfig()).batch(bars)
    hold = bundle.metadata["holdout_range"]
    votes = bundle.votes(frame.loc[hold["start"] : hold["end"]])
    assert all(not np.array_equal(v, ensemble_signals(votes)) for v in votes)
    digest = _reload_digest(tmp_path / "models" / bundle.agent_id, tmp_path / "bars")
    assert digest == outcome.report["gauntlet_signals"]


@pytest.fixture(scope="module")
def simulated_bars(
    tmp_path_factory: pytest.TempPathFactory, cerebellum_binary: Path
) -> pd.DataFrame:
    store = BarStore(tmp_path_factory.mktemp("sim") / "bars")
    simulate_into_store(store, cerebellum_binary, ["BTC/USDT"], days=CONTROL_DAYS, seed=21)
    return store.load("sim", "BTC/USDT", "1m")


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_no_agent_on_simulated_bars_with_shuffled_returns(
    tmp_path: Path, simulated_bars: pd.DataFrame, seed: int
) -> None:
    outcome = _forge(tmp_path, "BTC/USDT", _shuffled(simulated_bars, seed), seed)
    print(f"shuffled sim seed {seed}:\n{format_outcome(outcome)}")
    _assert_names_a_gate(outcome.to_dict())
    assert not (tmp_path / "models").exists()
