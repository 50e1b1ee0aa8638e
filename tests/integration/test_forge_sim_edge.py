"""Issue 14: an edge the forge can honestly find on the sim, proven on a stretch it never saw.

Simulated history with the default seed (``data.simulate.seed``): 60 days of 1m
bars of BTC/USDT, ETH/USDT and SOL/USDT, generated once per test session. The
forge (``--budget small``, default gates, labels and taker costs) runs on the
first 45 days of each symbol; the agents it registers are then backtested, as
``AgentBundle.signals`` through the forge's backtester with taker costs, on the
last 15 days, which no stage of the forge saw. The followers (ETH, SOL) see
the leader's bars of the same minutes through the cross-asset features and
must register and earn after fees there; the leader itself (BTC, which nothing
leads) must end in a verdict. The factory's batch and incremental paths are
compared on the same simulated bars with leader minutes missing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.features.config import FeaturesConfig
from engine.features.factory import FeatureFactory
from engine.forge.backtest import CostModel, backtest, bar_returns, trade_stats
from engine.forge.config import ForgeConfig
from engine.forge.gauntlet import random_entry_test
from engine.forge.pipeline import run_forge_job, signals_digest
from engine.forge.registry import AgentBundle, load_bundle
from engine.forge.report import format_outcome
from engine.forge.task import ForgeJob, ForgeOutcome, ForgeTask
from engine.marketdata.bars import frame_to_bars
from engine.marketdata.config import SimulateConfig
from engine.marketdata.simulate import simulate_into_store
from engine.marketdata.store import BarStore
from engine.model.market import Bar
from tests.kit.forged import SIM_SYMBOLS

pytestmark = pytest.mark.slow

SEED = SimulateConfig().seed
DAYS, FORGE_DAYS = 60, 45
LEADER = FeaturesConfig().cross_asset.leader
FOLLOWERS = tuple(s for s in SIM_SYMBOLS if s != LEADER)
EXCHANGE = "sim"


@pytest.fixture(scope="session")
def sim_root(tmp_path_factory: pytest.TempPathFactory, cerebellum_binary: Path) -> Path:
    root = tmp_path_factory.mktemp("sim-edge")
    simulate_into_store(
        BarStore(root / "bars"), cerebellum_binary, SIM_SYMBOLS, days=DAYS, seed=SEED
    )
    return root


def _split(root: Path) -> pd.Timestamp:
    """The last bar the forge may see: the end of the first ``FORGE_DAYS`` days."""
    first = BarStore(root / "bars").first_timestamp(EXCHANGE, LEADER, "1m")
    assert first is not None
    return pd.Timestamp(first) + pd.Timedelta(days=FORGE_DAYS) - pd.Timedelta(minutes=1)


@pytest.fixture(scope="session")
def forged(sim_root: Path) -> dict[str, ForgeOutcome]:
    """One forge task per symbol on the first stretch (in this process, budget small)."""
    split = _split(sim_root)
    outcomes = {}
    for symbol in SIM_SYMBOLS:
        job = ForgeJob(
            task=ForgeTask(symbol, f"{symbol}#edge", budget="small", end=split.isoformat()),
            bars_root=str(sim_root / "bars"),
            models_dir=str(sim_root / "models"),
            forge=ForgeConfig().model_dump(mode="json"),
            features=FeaturesConfig().model_dump(mode="json"),
            exchange=EXCHANGE,
            created_ns=0,
        )
        outcomes[symbol] = run_forge_job(job, lambda _update: None)
        print(f"{symbol} forged on {FORGE_DAYS} days:\n{format_outcome(outcomes[symbol])}")
    return outcomes


def _features(root: Path, bundle: AgentBundle) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The bundle's symbol's bars over the whole history and their features (with context)."""
    store = BarStore(root / "bars")
    factory = FeatureFactory(FeaturesConfig.model_validate(bundle.metadata["features_config"]))
    assert factory.feature_set_id == bundle.feature_set_id
    bars = store.load(EXCHANGE, bundle.symbol, "1m")
    context = {s: store.load(EXCHANGE, s, "1m") for s in factory.context_symbols(bundle.symbol)}
    return bars, factory.batch(bars, symbol=bundle.symbol, context=context)


@pytest.mark.parametrize("symbol", FOLLOWERS)
def test_a_forged_follower_earns_after_taker_costs_on_a_later_stretch(
    sim_root: Path, forged: dict[str, ForgeOutcome], symbol: str
) -> None:
    outcome = forged[symbol]
    assert outcome.status == "registered", outcome.reason
    assert outcome.agent_id is not None
    bundle = load_bundle(sim_root / "models" / outcome.agent_id)
    split = _split(sim_root)
    assert pd.Timestamp(bundle.metadata["data_range"]["end"]) <= split
    assert FeatureFactory(
        FeaturesConfig.model_validate(bundle.metadata["features_config"])
    ).context_symbols(symbol) == (LEADER,)
    bars, features = _features(sim_root, bundle)
    # The public API (symbol + the leader's bars as context) gives the features the forge judged.
    hold = bundle.metadata["holdout_range"]
    holdout = features.loc[hold["start"] : hold["end"]]
    assert signals_digest(bundle.signals(holdout)) == bundle.metadata["gauntlet_signals"]

    later = features.index > split
    frame, prices = features.loc[later], bars.loc[later]
    assert len(frame) == (DAYS - FORGE_DAYS) * 1440
    config = ForgeConfig()
    costs = CostModel.from_config(config.costs)
    assert costs.maker_fraction == 0.0  # live agents send market orders: taker fees
    assert costs.per_unit == pytest.approx(
        (config.costs.taker_fee_bps + config.costs.slippage_bps) / 1e4
    )
    signals = bundle.signals(frame)
    open_, close = prices["open"].to_numpy(), prices["close"].to_numpy()
    result = backtest(signals, open_, close, costs, config.annual_bars)
    returns = bar_returns(open_, close)
    gross = float(np.sum(np.log1p(result.held * returns)))
    fees = costs.per_unit * result.turnover
    pvalue, _ = random_entry_test(result, returns, costs.per_unit, 200, np.random.default_rng(SEED))
    stats = trade_stats(result)
    print(
        f"{symbol} {bundle.agent_id} on the {DAYS - FORGE_DAYS} later days: "
        f"return {result.total_return:+.4f} after fees (fees {fees:.4f} of turnover "
        f"{result.turnover:.0f}), Sharpe {result.sharpe:.1f}, {result.trades} trades, "
        f"win rate {stats['win_rate']:.2f}, mean trade {stats['mean_return'] * 1e4:+.1f} bp, "
        f"max drawdown {result.max_drawdown:.4f}, random-entry p {pvalue:.3f}, "
        f"buy and hold {close[-1] / open_[0] - 1:+.4f}"
    )
    assert result.trades >= config.gates.min_trades
    assert gross > fees > 0
    assert result.total_return > 0
    assert stats["mean_return"] > 0
    assert pvalue <= config.gates.max_random_entry_pvalue


def test_the_leader_ends_in_a_verdict_on_its_own_bars(
    sim_root: Path, forged: dict[str, ForgeOutcome]
) -> None:
    outcome = forged[LEADER]
    assert outcome.status in ("registered", "rejected"), outcome.reason
    assert outcome.report["bars"] > (FORGE_DAYS - 2) * 1440
    if outcome.status == "rejected":
        gates = [g["name"] for g in outcome.report.get("gauntlet", {}).get("gates", [])]
        assert outcome.reason.startswith("bake-off") or any(g in outcome.reason for g in gates)
    else:
        assert outcome.agent_id is not None
        bundle = load_bundle(sim_root / "models" / outcome.agent_id)
        assert (
            FeatureFactory(
                FeaturesConfig.model_validate(bundle.metadata["features_config"])
            ).context_symbols(LEADER)
            == ()
        )


@pytest.mark.parametrize("symbol", FOLLOWERS)
def test_simulated_follower_features_agree_in_batch_and_incremental_with_missing_leader_minutes(
    sim_root: Path, symbol: str
) -> None:
    store = BarStore(sim_root / "bars")
    factory = FeatureFactory()
    n = factory.warmup_bars + 1_500
    bars = store.load(EXCHANGE, symbol, "1m").iloc[1_000 : 1_000 + n]
    leader = store.load(EXCHANGE, LEADER, "1m").loc[bars.index[0] : bars.index[-1]]
    rng = np.random.default_rng(SEED)
    missing = rng.random(len(leader)) < 0.03
    missing[2_400:2_460] = True  # and a whole hour
    leader = leader.loc[~missing]
    batch = factory.batch(bars, symbol=symbol, context={LEADER: leader})
    stream = factory.incremental(symbol)
    by_minute = {b.ts_open: b for b in frame_to_bars(leader, LEADER)}
    previous: Bar | None = None
    rows = []
    for bar in frame_to_bars(bars, symbol):
        context = by_minute.get(bar.ts_open)
        # A missing minute arrives as nothing, or as the leader's last (stale) bar.
        rows.append(
            stream.update(bar, {LEADER: context or previous} if context or previous else None)
        )
        previous = context or previous
    streamed = pd.DataFrame(rows, index=bars.index)[factory.feature_names]
    assert (streamed.isna().to_numpy() == batch.isna().to_numpy()).all()
    worst = float(np.nanmax((streamed - batch).abs().to_numpy()))
    print(
        f"{symbol}: {n} simulated bars, {int(missing.sum())} leader minutes missing: max |diff| {worst:.2e}"
    )
    assert worst <= 1e-9
    assert batch.iloc[-1].notna().all()
