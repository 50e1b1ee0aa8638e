"""An accelerated soak in the suite: agents trade on the sim in fast-forward for six hours of
market time while the books are checked every second against the core's snapshot
(``crucible bench soak`` runs the whole living population for an hour of wall time).

Checks, throughout and at the end:
* each agent's position, realised PnL, fees and equity (cash plus position at mark)
  reconcile with the core's per-strategy position;
* no agent's cash and no venue balance goes negative;
* every order an agent sent has its journal row (once its first report is in);
* no orphan orders: the engine's open orders are the core's, and none are left open.
The numbers of orders, fills and checks are printed.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from engine.bench.soak import reconcile, unjournaled
from engine.core import topics
from engine.forge.registry import load_bundle, save_bundle
from engine.journal.queries import JournalReader
from engine.model.events import Fill
from engine.model.market import Bar
from tests.integration.test_population import _plant_churner
from tests.kit.configs import FAST_SIM
from tests.kit.engine_harness import running_engine, wait_until
from tests.kit.forged import forge_planted_agent

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

MARKET_HOURS = 6.0  # in fast-forward: half a minute or so
SOAK = {
    "cerebellum": FAST_SIM,
    "signals": {"influence": {"enabled": False}, "mce": {"enabled": False}},
}


def _population(models: Path) -> int:
    """Three forged agents (one per symbol), each also under a second id, and a churner."""
    forged = models.parent / "forged"
    ids = [forge_planted_agent(forged, s, seed=1) for s in ("BTC/USDT", "ETH/USDT", "SOL/USDT")]
    for agent_id in ids:
        shutil.copytree(forged / agent_id, models / agent_id)
        bundle = load_bundle(forged / agent_id)
        meta = {k: v for k, v in bundle.metadata.items() if k not in ("agent_id", "specialists")}
        save_bundle(models, f"{agent_id[:40]}-twin", bundle.specialists, meta)
    _plant_churner(models)
    return 2 * len(ids) + 1


async def _check(engine: object, counts: dict[str, int]) -> None:
    problems = await reconcile(engine)  # type: ignore[arg-type]
    assert problems == []
    counts["checks"] += 1


async def test_an_hour_of_trading_reconciles_with_the_core_throughout(
    tmp_path: Path, cerebellum_binary: Path
) -> None:
    agents = _population(tmp_path / "models")
    counts = {"checks": 0}
    async with running_engine(tmp_path, cerebellum_binary, **SOAK) as engine:
        assert len(engine.arena.agents) == agents
        fills: list[Fill] = []
        bars: list[Bar] = []
        engine.bus.subscribe(topics.all_of("exec.fill"), lambda _t, f: fills.append(f), direct=True)
        engine.bus.subscribe(
            topics.md_bar("ETH/USDT", "1m"), lambda _t, b: bars.append(b), direct=True
        )
        while len(bars) < MARKET_HOURS * 60:
            await asyncio.sleep(1.0)
            await _check(engine, counts)
        await engine.commands.flatten()
        await wait_until(
            lambda: all(a.state.flat for a in engine.arena.agents.values()), 30, "agents flat"
        )
        await wait_until(
            lambda: all(a.state.pending_order is None for a in engine.arena.agents.values()),
            30,
            "no order in flight",
        )
        await _check(engine, counts)
        snap = await engine.commands.snapshot()
        assert snap.open_orders == ()
        agent_ids = set(engine.arena.agents)
        sent = {
            cid for cid, o in engine.gateway.orders.orders.items() if o.strategy_id in agent_ids
        }
    missing, still_open = unjournaled(engine.journal.path, sent)
    assert missing == set(), f"{len(missing)} orders without a journal row"
    assert still_open == set(), "orders the journal still holds open"
    reader = JournalReader(engine.journal.path)
    try:
        fill_rows = reader.count("fills")
    finally:
        reader.close()
    agent_fills = [f for f in fills if f.strategy_id in agent_ids]
    print(
        f"soak: {MARKET_HOURS:g} h of market time ({len(bars)} ETH bars), {agents} agents, "
        f"{len(sent)} orders, {len(agent_fills)} fills ({fill_rows} fill rows), "
        f"{counts['checks']} checks"
    )
    assert counts["checks"] >= 5
    assert len(sent) >= 20
    assert fill_rows >= len(agent_fills) > 0
