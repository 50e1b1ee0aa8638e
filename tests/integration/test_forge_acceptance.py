"""Issue 7 acceptance: the forge on simulated history, its controls, and exact reloads.

1. 90 days of simulated 1m bars: ``crucible forge --budget small`` finishes
   and registers an agent or says which gate refused (its time, <= 5 minutes
   wanted, is measured by ``crucible bench forge``).
2. A registered bundle loads in a fresh process and reproduces the gauntlet's
   signals bit for bit (registration forced with permissive gates on simulated
   ETH/USDT, whose features need BTC/USDT's bars, so the reload path with
   context is always exercised; and a planted edge under the default gates,
   where the forward selection tries ensembles of every kind).
3. A positive control: a planted, tradable edge (regime drift) is registered;
   its bundle reproduces the judged ensemble vote and the stored trade stats.
4. Controls where no edge can exist (driftless random walk; the simulated
   series with its bars shuffled): ``--budget small`` registers nothing for 5
   seeds, and each report names the gate that rejected.
5. Issue 14: the forge on 5-minute bars, and a validation stretch whose labels
   lack ENTRY ends in a verdict (the boosters skipped, with the reason).
6. ``tests/kit/forged.py`` forges real agents for the sim's symbols.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from engine.features.config import FeaturesConfig
from engine.features.factory import FeatureFactory
from engine.forge.backtest import CostModel, backtest, trade_stats
from engine.forge.config import ForgeConfig
from engine.forge.ensemble import ensemble_signals
from engine.forge.pipeline import signals_digest
from engine.forge.registry import AgentBundle, list_agents, load_bundle
from engine.forge.report import format_outcome
from engine.forge.task import ForgeJob, ForgeOutcome, ForgeTask
from engine.forge.worker import run_job
from engine.marketdata.simulate import simulate_into_store
from engine.marketdata.store import BarStore
from tests.conftest import REPO_ROOT
from tests.kit.forged import (
    PLANTED_FEATURES,
    SIM_PRICES,
    bars_from_log_returns,
    forge_bars,
    forge_planted_agent,
    random_walk_bars,
    regime_drift_bars,
    shuffled_bars,
)

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
store = BarStore(Path(sys.argv[2]))
context = {
    other: store.load(meta["exchange"], other, meta["timeframe"], bars.index[0], bars.index[-1])
    for other in factory.context_symbols(meta["symbol"])
}
features = factory.batch(bars, symbol=meta["symbol"], context=context)
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
    # The wall time is a figure of `crucible bench forge` (forge_small_cycle_s), not a test.
    print(f"forge --budget small on 90 days: {took:.1f} s -> {outcome['status']}")
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
    # BTC/USDT too: the follower's features need the leader's bars, here and on reload.
    simulate_into_store(
        BarStore(tmp_path / "var" / "data" / "bars"),
        cerebellum_binary,
        ["BTC/USDT", "ETH/USDT"],
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
    meta = load_bundle(bundle).metadata
    assert FeatureFactory(FeaturesConfig.model_validate(meta["features_config"])).context_symbols(
        "ETH/USDT"
    ) == ("BTC/USDT",)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_no_agent_on_a_driftless_random_walk(tmp_path: Path, seed: int) -> None:
    outcome = forge_bars(tmp_path, "BTC/USDT", random_walk_bars(seed, CONTROL_DAYS), seed)
    print(f"random walk seed {seed}:\n{format_outcome(outcome)}")
    _assert_names_a_gate(outcome.to_dict())
    assert not (tmp_path / "models").exists()


def _check_registered_ensemble(root: Path, outcome: ForgeOutcome) -> AgentBundle:
    """The bundle holds the bake-off's members and reproduces the judged signals and trades."""
    assert outcome.status == "registered", outcome.reason
    assert outcome.agent_id is not None
    report = outcome.report
    assert all(g["passed"] for g in report["gauntlet"]["gates"])
    curve = report["holdout_equity"]  # the cockpit draws it
    assert len(curve["ts"]) == len(curve["equity"]) >= 2
    assert curve["equity"][-1] > 1.0  # the planted edge paid on the holdout
    metrics = report["gauntlet"]["metrics"]
    tried = len(report["selection"])
    assert metrics["n_trials"] == report["gp_evaluations"] + report["gbm_candidates"] + max(
        1, tried
    )
    # The forward selection: the members are the best candidate plus every accepted addition,
    # each of which beat the ensemble before it on validation.
    entries = {e["name"]: e for e in report["bake_off"]}
    accepted = [step for step in report["selection"] if step["accepted"]]
    best = max((e for e in report["bake_off"] if e["eligible"]), key=lambda e: e["sharpe"])
    sharpe = best["sharpe"]
    for step in accepted:
        assert step["sharpe"] > sharpe
        sharpe = step["sharpe"]
    final = accepted[-1]["members"] if accepted else [best["name"]]
    assert sorted(report["members"]) == sorted(final)
    assert all(entries[name]["member"] for name in report["members"])
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
    factory = FeatureFactory(FeaturesConfig.model_validate(bundle.metadata["features_config"]))
    assert factory.context_symbols(bundle.symbol) == ()
    features = factory.batch(bars)
    hold = bundle.metadata["holdout_range"]
    frame = features.loc[hold["start"] : hold["end"]]
    votes = bundle.votes(frame)
    signals = bundle.signals(frame)
    np.testing.assert_array_equal(signals, ensemble_signals(votes))
    assert signals_digest(signals) == report["gauntlet_signals"]
    prices = bars.loc[frame.index]
    config = ForgeConfig(timeframe=bundle.metadata["timeframe"])
    assert bundle.metadata["bars_per_year"] == report["bars_per_year"] == config.annual_bars
    result = backtest(
        signals,
        prices["open"].to_numpy(),
        prices["close"].to_numpy(),
        CostModel.from_config(config.costs),
        config.annual_bars,
    )
    assert metrics["holdout_sharpe"] == pytest.approx(result.sharpe, rel=1e-12)
    assert bundle.metadata["trade_stats"] == report["trade_stats"] == trade_stats(result)
    assert report["trade_stats"]["trades"] == result.trades >= config.gates.min_trades
    return bundle


def test_forge_registers_an_agent_when_a_real_edge_exists(tmp_path: Path) -> None:
    outcome = forge_bars(tmp_path, "BTC/USDT", regime_drift_bars(1, CONTROL_DAYS), 1)
    print(f"planted regime drift:\n{format_outcome(outcome)}")
    _check_registered_ensemble(tmp_path, outcome)


def test_forge_on_short_planted_regimes_tries_ensembles_and_reloads_exactly(
    tmp_path: Path,
) -> None:
    """Short regimes with a strong drift: every kind trades, so the selection tries ensembles
    (the members are whatever beat the best candidate alone on validation)."""
    bars = regime_drift_bars(1, CONTROL_DAYS, drift=0.001, flip_every=40)
    outcome = forge_bars(tmp_path, "BTC/USDT", bars, 1)
    print(f"planted short regimes:\n{format_outcome(outcome)}")
    bundle = _check_registered_ensemble(tmp_path, outcome)
    assert len(outcome.report["selection"]) >= 1
    assert {e["kind"] for e in outcome.report["bake_off"] if e["eligible"]} == {
        "gp",
        "lightgbm",
        "xgboost",
    }
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
    outcome = forge_bars(tmp_path, "BTC/USDT", shuffled_bars(simulated_bars, seed), seed)
    print(f"shuffled sim seed {seed}:\n{format_outcome(outcome)}")
    _assert_names_a_gate(outcome.to_dict())
    assert not (tmp_path / "models").exists()


def test_forge_on_5_minute_bars_registers_a_planted_edge_annualised_for_5m(
    tmp_path: Path,
) -> None:
    bars = regime_drift_bars(1, 40, drift=0.001, flip_every=40, timeframe="5m")
    outcome = forge_bars(tmp_path, "ETH/USDT", bars, 1, timeframe="5m", features=PLANTED_FEATURES)
    print(f"planted edge, 5m bars:\n{format_outcome(outcome)}")
    bundle = _check_registered_ensemble(tmp_path, outcome)
    assert bundle.metadata["timeframe"] == "5m"
    assert outcome.report["bars_per_year"] == 365 * 288
    digest = _reload_digest(tmp_path / "models" / bundle.agent_id, tmp_path / "bars")
    assert digest == outcome.report["gauntlet_signals"]


def _calm_in_validation(seed: int, days: int) -> pd.DataFrame:
    """5m bars: a random walk whose middle stretch -- the validation segment and its label
    horizons -- is calm (0.5 bp a bar) but for a short sell-off every 150 bars.

    The sell-offs keep the volatility estimate, hence the barriers, far wider than
    the calm moves, so the validation labels are HOLD and EXIT only (no ENTRY), as
    on the real 5m series where the forge used to fail."""
    rng = np.random.default_rng(seed)
    n = days * 288
    ret = rng.normal(0.0, 0.001, n)
    wicks = np.abs(rng.normal(0.0, 0.0004, (n, 2)))
    calm = np.arange(int(n * 0.5), int(n * 0.9))
    ret[calm] = rng.normal(0.0, 0.00005, calm.size)
    ret[calm[(calm - calm[0]) % 150 < 10]] = -0.002
    wicks[calm] *= 0.02
    rel = np.column_stack([-ret, wicks[:, 0], -wicks[:, 1]])
    return bars_from_log_returns(
        ret, rel, rng.lognormal(2.0, 0.5, n), timeframe="5m", price=SIM_PRICES["SOL/USDT"]
    )


def test_validation_without_entry_labels_skips_the_boosters_and_ends_in_a_verdict(
    tmp_path: Path,
) -> None:
    """Issue 14: real 5m bars failed with 'calibration labels lack classes [1]'."""
    BarStore(tmp_path / "bars").write("sim", "SOL/USDT", "5m", _calm_in_validation(3, 40))
    job = ForgeJob(
        task=ForgeTask("SOL/USDT", "SOL/USDT#calm", budget="small", seed=3, timeframe="5m"),
        bars_root=str(tmp_path / "bars"),
        models_dir=str(tmp_path / "models"),
        forge=ForgeConfig().model_dump(mode="json"),
        features=PLANTED_FEATURES.model_dump(mode="json"),
        exchange="sim",
        created_ns=0,
    )
    progress: list[Any] = []
    outcome = run_job(job, SimpleNamespace(put=progress.append))  # the worker's own wrapper
    print(f"calm validation segment, 5m bars:\n{format_outcome(outcome)}")
    assert outcome.status in ("rejected", "registered"), outcome.reason
    if outcome.status == "rejected":
        _assert_names_a_gate(outcome.to_dict())
    skipped = outcome.report["skipped"]
    assert [(s["kind"], s["stage"]) for s in skipped[:2]] == [
        ("lightgbm", "training"),
        ("xgboost", "training"),
    ]
    assert all("calibration labels lack classes [1]" in s["reason"] for s in skipped[:2])
    assert outcome.report["timeframe"] == "5m"
    assert outcome.report["gbm_candidates"] == 0
    assert [e["kind"] for e in outcome.report["bake_off"]] == ["gp"] * 5
    assert "Skipped lightgbm (training): calibration labels lack classes [1]" in format_outcome(
        outcome
    )


def test_forge_planted_agent_forges_agents_for_two_sim_symbols_into_one_models_dir(
    tmp_path: Path,
) -> None:
    models = tmp_path / "models"
    before = pd.Timestamp.now(tz="UTC")
    btc = forge_planted_agent(models, "BTC/USDT", seed=1, bars_root=tmp_path / "btc")
    eth = forge_planted_agent(models, "ETH/USDT", seed=2, end=pd.Timestamp("2025-06-01 12:34Z"))
    assert list_agents(models) == sorted([btc, eth])
    btc_bundle, eth_bundle = load_bundle(models / btc), load_bundle(models / eth)
    assert (btc_bundle.symbol, eth_bundle.symbol) == ("BTC/USDT", "ETH/USDT")
    assert btc.startswith("BTCUSDT-")
    assert eth.startswith("ETHUSDT-")
    # Planted edges live in one symbol's bars: the agents need no leader's bars.
    for bundle in (btc_bundle, eth_bundle):
        config = FeaturesConfig.model_validate(bundle.metadata["features_config"])
        assert not config.cross_asset.enabled
        assert FeatureFactory(config).context_symbols(bundle.symbol) == ()
    # ETH ends at the given end's last hh:59 bar; BTC's bars end within the hour before now.
    assert pd.Timestamp(eth_bundle.metadata["data_range"]["end"]) == pd.Timestamp(
        "2025-06-01 11:59Z"
    )
    btc_end = pd.Timestamp(btc_bundle.metadata["data_range"]["end"])
    assert before - pd.Timedelta(minutes=62) <= btc_end < pd.Timestamp.now(tz="UTC")
    assert btc_end.minute == 59
    # The BTC bars were kept where asked, priced like the sim venue's BTC/USDT.
    bars = BarStore(tmp_path / "btc" / "bars").load("sim", "BTC/USDT", "1m")
    assert bars.index[-1] == btc_end
    assert 0.5 * SIM_PRICES["BTC/USDT"] < bars["close"].iloc[0] < 2 * SIM_PRICES["BTC/USDT"]
