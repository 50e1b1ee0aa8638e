"""Issue 14 end to end: a population grows, trades, loses a bad member, replaces it, and stops.

Headless engine, real cerebellum_core (sim in fast-forward), real forge (small
budget) in worker processes. The models directory starts with one planted bad
agent only (it buys after every up bar and sells after every down bar, paying
fees on noise); every other slot is empty:

1. the Singularity simulates training history and commissions forge tasks for
   the empty slots; what passes the gauntlet joins the Arena and trades;
2. fills change the agents' state (their positions equal their fills);
3. the Watchtower reaps the planted agent (below its PnL threshold after its
   round trips) and the Singularity forges its replacement;
4. the kill switch leaves every agent and the venue flat and halted.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from engine.core import topics
from engine.features.config import FeaturesConfig
from engine.features.factory import FeatureFactory
from engine.forge.config import ForgeConfig
from engine.forge.registry import save_bundle
from engine.forge.specialists import GPSpecialist, RobustScaler
from engine.journal.queries import JournalReader
from engine.model.enums import TradingState
from engine.model.events import Fill
from tests.kit.configs import FAST_SIM
from tests.kit.engine_harness import running_engine, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

BAD = "ETHUSDT-planted-churner"
CHURN = "signal(gt(col(m1_ret_1), 0.0), lt(col(m1_ret_1), 0.0))"
POPULATION = {
    "deployment": {
        "enabled": True,
        "agents": {"BTC/USDT": 0, "ETH/USDT": 2, "SOL/USDT": 1},
        "history_days": 30,
        "check_interval_s": 2.0,
        "retry_backoff_s": 5.0,
        "max_backoff_s": 20.0,
    },
    "watchtower": {
        "enabled": True,
        "interval_minutes": 0.25,
        "min_trades": 4,
        "min_pnl_fraction": -0.0002,
        "max_drawdown": 0.5,
        "min_sharpe": -1e9,
        "min_hit_rate": 0.0,
    },
    "forge": {"max_workers": 1},
    "cerebellum": FAST_SIM,
    "signals": {"influence": {"enabled": False}, "mce": {"enabled": False}},
}


def _plant_churner(models: Path) -> None:
    features = FeaturesConfig()
    factory = FeatureFactory(features)
    names = ("m1_ret_1",)
    metadata = {
        "symbol": "ETH/USDT",
        "timeframe": "1m",
        "slot": "ETH/USDT#0",
        "created_ns": time.time_ns(),
        "feature_set_id": factory.feature_set_id,
        "features_config": features.model_dump(mode="json"),
        "labels": ForgeConfig().labels.model_dump(),
        "trade_stats": {"win_rate": 0.6, "payoff_ratio": 1.5, "holding_bars_p90": 5},
        "planted": "loses on purpose: momentum on one-minute noise, fees every bar",
    }
    save_bundle(models, BAD, [GPSpecialist(CHURN, names, RobustScaler((0.0,), (1e-3,)))], metadata)


async def test_a_population_grows_trades_reaps_a_loser_replaces_it_and_halts(
    tmp_path: Path, cerebellum_binary: Path
) -> None:
    _plant_churner(tmp_path / "models")
    async with running_engine(tmp_path, cerebellum_binary, **POPULATION) as engine:
        arena, commands = engine.arena, engine.commands
        assert list(arena.agents) == [BAD]
        fills: list[Fill] = []
        engine.bus.subscribe(topics.all_of("exec.fill"), lambda _t, f: fills.append(f), direct=True)
        joined: set[str] = set()  # every agent that ever joined (the Watchtower may reap any)
        engine.bus.subscribe(
            topics.all_of("agent.lifecycle"),
            lambda _t, e: (
                joined.add(e.agent_id) if e.reason == "loaded" and e.agent_id != BAD else None
            ),
            direct=True,
        )

        def forged() -> list[str]:
            return [a for a in arena.agents if a != BAD]

        # The churner trades on every other bar and loses: reaped, its slot forged anew.
        archived = tmp_path / "models" / "archive" / BAD / "agent.json"
        await wait_until(archived.is_file, 300, "the watchtower to reap and archive the churner")
        assert BAD not in arena.agents

        # 1. The empty slots (and the churner's) are forged and filled.
        await wait_until(lambda: slots_filled(commands), 600, "every slot filled")
        slots = {s.slot: s.agent_id for s in commands.slots()}
        assert set(slots) == {"ETH/USDT#0", "ETH/USDT#1", "SOL/USDT#0"}
        assert BAD not in slots.values()
        assert set(slots.values()) <= set(forged())
        replacement = slots["ETH/USDT#0"]

        # 2. Forged agents trade, and their state moved only with their fills.
        await wait_until(
            lambda: any(f.strategy_id in forged() for f in fills), 300, "a forged agent's fill"
        )
        await wait_until(
            lambda: all(a.state.pending_order is None for a in arena.agents.values()),
            30,
            "no order in flight",
        )
        for agent in arena.agents.values():
            mine = sum(f.qty * f.side.sign for f in fills if f.strategy_id == agent.id)
            assert agent.state.qty == pytest.approx(mine, abs=1e-9)

        # 4. The kill switch: every agent and the venue flat and halted.
        await commands.kill_switch("end of test")
        await wait_until(
            lambda: all(a.state.flat for a in arena.agents.values()), 30, "agents flat"
        )
        snap = await commands.snapshot()
        assert snap.is_flat
        assert snap.trading_state.global_state is TradingState.HALTED
        assert arena.halted
        assert all(s.halted for s in commands.list_agents())
        forged_ids = set(forged())
        assert forged_ids <= joined

    reader = JournalReader(engine.journal.path)
    try:
        log = reader.watchtower_log(1_000)
        reaped = [r for r in log if r["agent_id"] == BAD and r["event"] == "reaped"]
        replaced = [r for r in log if r["agent_id"] == BAD and r["event"] == "replaced"]
        churner_fills = reader.fills(BAD)
    finally:
        reader.close()
    assert reaped
    assert "PnL" in reaped[0]["reason"]
    assert replaced
    # The churner's replacement is a forged agent that joined; the Watchtower may
    # have reaped it too since (small thresholds), so it need not be live at the end.
    assert replaced[0]["figures"]["agent_id"] in {replacement, *forged_ids, *joined}
    assert replaced[0]["figures"]["agent_id"].startswith("ETHUSDT-")
    assert len(churner_fills) >= 8  # four round trips, at least


def slots_filled(commands: object) -> bool:
    return all(s.agent_id for s in commands.slots())  # type: ignore[attr-defined]
