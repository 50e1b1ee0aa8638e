"""The Arena on the real core (sim in fast-forward): forged agents load, trade and agree with the core.

Two agents are forged with the real forge (small budget) on bars with a
planted edge, for BTC/USDT and ETH/USDT; a third bundle is a tampered copy.
The engine starts on a fast-forward sim whose backfill covers the default
features' warm-up, so the agents decide from the first bars.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from engine.core import topics
from engine.kernel import CrucibleEngine
from engine.model.enums import AgentState as Lifecycle
from engine.model.events import AgentDecision, Fill
from tests.kit.configs import FAST_SIM as SIM_FF
from tests.kit.engine_harness import running_engine, wait_until
from tests.kit.forged import forge_planted_agent

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

FAST_SIM = {"core": {"sim": {**SIM_FF["core"]["sim"], "backfill_minutes": 2_600}}}
QUIET_SIGNALS = {"influence": {"enabled": False}, "mce": {"enabled": False}}


@pytest.fixture(scope="module")
def forged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    models = tmp_path_factory.mktemp("forged") / "models"
    ids = [
        forge_planted_agent(models, "BTC/USDT", seed=1),
        forge_planted_agent(models, "ETH/USDT", seed=2),
    ]
    return models, ids


def _copy_models(forged: tuple[Path, list[str]], root: Path) -> tuple[Path, list[str]]:
    source, ids = forged
    models = root / "models"
    shutil.copytree(source, models)
    return models, ids


def _tamper(models: Path, agent_id: str) -> str:
    """A copy of a bundle with one byte of its metadata changed (the manifest no longer matches)."""
    bad = "BTCUSDT-tampered"
    shutil.copytree(models / agent_id, models / bad)
    meta = json.loads((models / bad / "agent.json").read_text())
    meta["labels"]["profit_take"] = 9.0
    (models / bad / "agent.json").write_text(json.dumps(meta))
    return bad


async def test_forged_agents_load_trade_and_their_positions_equal_the_cores(
    tmp_path: Path, cerebellum_binary: Path, forged: tuple[Path, list[str]]
) -> None:
    models, ids = _copy_models(forged, tmp_path)
    bad = _tamper(models, ids[0])
    fills: list[Fill] = []
    decisions: list[AgentDecision] = []

    def listen(engine: CrucibleEngine) -> None:
        engine.bus.subscribe(topics.all_of("exec.fill"), lambda _t, f: fills.append(f), direct=True)
        engine.bus.subscribe(
            topics.all_of("agent.decision"), lambda _t, d: decisions.append(d), direct=True
        )

    async with running_engine(
        tmp_path,
        cerebellum_binary,
        before_start=listen,
        cerebellum=FAST_SIM,
        signals=QUIET_SIGNALS,
    ) as engine:
        arena = engine.arena
        assert sorted(arena.agents) == sorted(ids)
        assert bad in arena.refused
        assert "SHA-256" in arena.refused[bad]
        traders = set(ids)
        await wait_until(
            lambda: {f.strategy_id for f in fills} >= traders, 240, "both agents to trade"
        )
        # Paused agents send nothing more (in fast-forward the next bar comes within a second):
        # once their last orders are answered, the core's positions are final.
        for agent_id in ids:
            engine.commands.pause_agent(agent_id, "compare with the core")
        await wait_until(
            lambda: all(a.state.pending_order is None for a in arena.agents.values()),
            30,
            "no order in flight",
        )
        snap = await engine.commands.snapshot()
        await wait_until(
            lambda: engine.link.sequence.last_seq >= snap.last_seq, 10, "the snapshot's reports"
        )
        venue = {(p.strategy_id, p.symbol): p.qty for p in snap.positions}
        for agent in arena.agents.values():
            assert agent.state.qty == pytest.approx(venue.get((agent.id, agent.symbol), 0.0))
            assert agent.state.qty == pytest.approx(
                engine.gateway.portfolio.position(agent.id, agent.symbol).qty
            )
            mine = [f for f in fills if f.strategy_id == agent.id]
            bought = sum(f.qty * f.side.sign for f in mine)
            assert agent.state.qty == pytest.approx(bought)
        acted = {d.action for d in decisions}
        assert "enter" in acted
        assert all(d.detail.get("votes") for d in decisions if d.action in ("enter", "exit"))
    # Every decision was journaled where a person can query it.
    from engine.journal.queries import JournalReader

    reader = JournalReader(engine.journal.path)
    try:
        rows = reader.decisions(ids[0], limit=10_000)
    finally:
        reader.close()
    assert rows
    assert {r["action"] for r in rows} <= {"enter", "exit", "hold", "wait", "skip"}


async def test_agents_leave_flat_pause_and_halt_with_the_kill_switch(
    tmp_path: Path, cerebellum_binary: Path, forged: tuple[Path, list[str]]
) -> None:
    models, ids = _copy_models(forged, tmp_path)
    async with running_engine(
        tmp_path, cerebellum_binary, cerebellum=FAST_SIM, signals=QUIET_SIGNALS
    ) as engine:
        commands = engine.commands
        arena = engine.arena
        first, second = ids
        commands.pause_agent(second, "test")
        assert arena.agents[second].lifecycle is Lifecycle.PAUSED
        await wait_until(
            lambda: any(a.state.n_trades or not a.state.flat for a in arena.agents.values()),
            240,
            "an agent to hold a position",
        )
        await commands.reap_agent(first, "test")
        assert first not in arena.agents
        assert (models / "archive" / first / "agent.json").is_file()
        assert not (models / first).exists()
        assert engine.gateway.portfolio.position(first, "BTC/USDT").qty == pytest.approx(0.0)
        # It joins again from its archived bundle, without a restart.
        again = await arena.add(models / "archive" / first)
        assert again is not None
        assert again.id in arena.agents
        commands.resume_agent(second)
        assert arena.agents[second].lifecycle is Lifecycle.ACTIVE
        await commands.kill_switch("test")
        assert arena.halted
        await asyncio.sleep(3.0)  # a few fast-forward bars: every decision is a skip
        summaries = commands.list_agents()
        assert {s.agent_id for s in summaries} == set(ids)
        assert all(s.halted for s in summaries)
        snap = await commands.snapshot()
        assert snap.is_flat
        await commands.resume()
        assert not arena.halted
