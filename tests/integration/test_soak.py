"""An accelerated one-hour soak: agents trade on the sim in fast-forward for an hour of market
time while the books are checked every few seconds against the core's snapshot.

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

from engine.core import topics
from engine.forge.registry import load_bundle, save_bundle
from engine.journal.queries import JournalReader
from engine.model.events import Fill
from engine.model.market import Bar
from tests.integration.test_population import _plant_churner
from tests.kit.engine_harness import running_engine, wait_until
from tests.kit.forged import forge_planted_agent

pytestmark = pytest.mark.slow

MARKET_HOURS = 1.0
SOAK = {
    "cerebellum": {"core": {"sim": {"mode": "fastforward"}}},
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
    arena = engine.arena  # type: ignore[attr-defined]
    snap = await engine.commands.snapshot()  # type: ignore[attr-defined]
    venue = {(p.strategy_id, p.symbol): p for p in snap.positions}
    marks = snap.mids
    for agent in arena.agents.values():
        if agent.state.pending_order is not None:
            continue  # its fills may be on the wire
        st = agent.state
        pos = venue.get((agent.id, agent.symbol))
        qty = pos.qty if pos else 0.0
        assert st.qty == pytest.approx(qty, abs=1e-9), agent.id
        if pos is not None:
            assert st.fees == pytest.approx(pos.fees, rel=1e-6, abs=1e-6), agent.id
            assert st.realized_pnl == pytest.approx(pos.realized_pnl - pos.fees, abs=1e-4), agent.id
            mark = marks.get(agent.symbol)
            if mark is not None:
                venue_equity = (
                    st.capital + pos.realized_pnl - pos.fees + qty * (mark - pos.avg_price)
                )
                assert st.equity(mark) == pytest.approx(venue_equity, abs=1e-3), agent.id
        assert st.cash >= -1e-9, f"{agent.id} cash {st.cash}"
    assert all(b.total >= 0 for b in snap.balances)
    engine_open = {
        o.client_order_id
        for o in engine.gateway.orders.open_orders()
        if o.strategy_id in arena.agents  # type: ignore[attr-defined]
    }
    core_open = {o.client_order_id for o in snap.open_orders if o.strategy_id in arena.agents}
    pending = {a.state.pending_order for a in arena.agents.values()} - {None}
    assert core_open <= engine_open | pending, "an order open at the venue the engine lost"
    assert engine_open - core_open <= pending, "an order the engine thinks open, the venue not"
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
            await asyncio.sleep(3.0)
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
    reader = JournalReader(engine.journal.path)
    try:
        rows = {r["client_order_id"] for r in reader.open_orders()}
        journaled = {cid for cid in sent if reader.order(cid) is not None}
        fill_rows = reader.count("fills")
    finally:
        reader.close()
    assert journaled == sent, f"{len(sent - journaled)} orders without a journal row"
    assert not rows & sent, "orders the journal still holds open"
    agent_fills = [f for f in fills if f.strategy_id in agent_ids]
    print(
        f"soak: {MARKET_HOURS:g} h of market time ({len(bars)} ETH bars), {agents} agents, "
        f"{len(sent)} orders, {len(agent_fills)} fills ({fill_rows} fill rows), "
        f"{counts['checks']} checks"
    )
    assert counts["checks"] >= 5
    assert len(sent) >= 20
    assert fill_rows >= len(agent_fills) > 0
