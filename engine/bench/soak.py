"""An accelerated soak: the living population on the sim in fast-forward, checked throughout.

``crucible bench soak`` runs the default deployment (the Singularity forges the
agents from simulated history, the Watchtower scores and reaps them, every
minute here) on the sim in fast-forward for an hour of wall time (two minutes
with ``--quick``, and ``--seconds`` to choose), several hundred times faster
than real time. Every few seconds ``reconcile`` checks:

* each agent's position, realised PnL, fees and equity (cash plus position at
  mark) against the core's per-strategy position;
* no agent's cash and no venue balance is negative;
* the engine's open orders are the core's (no orphans either way);
and at the end every order has its journal row and none is left open. A check
whose snapshot the core does not answer in time (a loaded machine: the core
answers between fast-forward turns) is counted as missed and the next one runs.
The last line counts orders, fills, checks, missed checks, problems, agents,
reaps and market hours.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from engine.assembly import build_engine
from engine.config import config_with_overrides
from engine.core import topics
from engine.core.errors import LinkDown
from engine.journal.queries import JournalReader
from engine.kernel import CrucibleEngine
from engine.model.events import Fill
from engine.model.market import Bar

FAST_SIM: dict[str, Any] = {
    "core": {"sim": {"mode": "fastforward", "book_hz": 2.0, "fastforward_chunk_ms": 2_000}}
}
_TOL = 1e-6


async def reconcile(engine: CrucibleEngine) -> list[str]:
    """What does not add up between the agents, the engine and the core (empty: all good)."""
    arena = engine.arena
    for _ in range(20):
        snap = await engine.commands.snapshot()
        # Reports applied after the snapshot was taken make the agents newer than it:
        # compare only a quiet moment (no report between the snapshot and now).
        if engine.link.sequence.last_seq <= snap.last_seq:
            break
    else:
        return []
    venue = {(p.strategy_id, p.symbol): p for p in snap.positions}
    problems = []
    for agent in list(arena.agents.values()):
        st = agent.state
        if st.pending_order is not None:
            continue  # its fills may be on the wire
        pos = venue.get((agent.id, agent.symbol))
        qty = pos.qty if pos else 0.0
        if abs(st.qty - qty) > 1e-9:
            problems.append(f"{agent.id}: position {st.qty:g} vs the core's {qty:g}")
        if pos is not None:
            if abs(st.fees - pos.fees) > _TOL + 1e-6 * abs(pos.fees):
                problems.append(f"{agent.id}: fees {st.fees:.6f} vs the core's {pos.fees:.6f}")
            if abs(st.realized_pnl - (pos.realized_pnl - pos.fees)) > 1e-4:
                problems.append(f"{agent.id}: realised PnL {st.realized_pnl:.6f} vs the core's")
            mark = snap.mids.get(agent.symbol)
            if mark is not None:
                core_equity = (
                    st.capital + pos.realized_pnl - pos.fees + qty * (mark - pos.avg_price)
                )
                if abs(st.equity(mark) - core_equity) > 1e-3:
                    problems.append(
                        f"{agent.id}: equity {st.equity(mark):.4f} vs {core_equity:.4f}"
                    )
        if st.cash < -1e-9:
            problems.append(f"{agent.id}: negative cash {st.cash:.4f}")
    problems += [f"negative balance {b.asset} {b.total}" for b in snap.balances if b.total < 0]
    ids = set(arena.agents)
    engine_open = {
        o.client_order_id for o in engine.gateway.orders.open_orders() if o.strategy_id in ids
    }
    core_open = {o.client_order_id for o in snap.open_orders if o.strategy_id in ids}
    pending = {a.state.pending_order for a in arena.agents.values()} - {None}
    problems += [
        f"order {c} open at the core, unknown to the engine"
        for c in core_open - engine_open - pending
    ]
    problems += [
        f"order {c} open in the engine, not at the core" for c in engine_open - core_open - pending
    ]
    return problems


def unjournaled(path: Path, sent: set[str]) -> tuple[set[str], set[str]]:
    """(orders without a journal row, orders the journal still holds open) among ``sent``."""
    reader = JournalReader(path)
    try:
        missing = {cid for cid in sent if reader.order(cid) is None}
        still_open = {r["client_order_id"] for r in reader.open_orders()} & sent
    finally:
        reader.close()
    return missing, still_open


async def soak(root: Path, seconds: float, check_every_s: float = 5.0) -> dict[str, Any]:
    config = config_with_overrides(
        {
            "paths": {"root": str(root)},
            "engine": {"log_level": "WARNING"},
            "cerebellum": FAST_SIM,
            "watchtower": {"interval_minutes": 1.0},
        }
    )
    engine = build_engine(config)
    fills: list[Fill] = []
    bars: list[Bar] = []
    counts = {"checks": 0, "missed": 0}
    problems: list[str] = []
    await engine.start()
    try:
        engine.bus.subscribe(topics.all_of("exec.fill"), lambda _t, f: fills.append(f), direct=True)
        engine.bus.subscribe(
            topics.md_bar("ETH/USDT", "1m"), lambda _t, b: bars.append(b), direct=True
        )
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            await asyncio.sleep(check_every_s)
            try:
                problems += await reconcile(engine)
            except (TimeoutError, LinkDown) as exc:
                counts["missed"] += 1
                print(f"soak: check missed ({type(exc).__name__}: {exc})", flush=True)
                continue
            counts["checks"] += 1
        await engine.commands.kill_switch("end of soak")
        await asyncio.sleep(2.0)
        problems += await reconcile(engine)
        counts["checks"] += 1
        agents = {o.strategy_id for o in engine.gateway.orders.orders.values()} - {"manual"}
        sent = {cid for cid, o in engine.gateway.orders.orders.items() if o.strategy_id in agents}
        reaped = (
            sum(1 for _ in (root / "models" / "archive").glob("*"))
            if (root / "models" / "archive").exists()
            else 0
        )
    finally:
        await engine.stop()
    missing, still_open = unjournaled(engine.journal.path, sent)
    problems += [f"{len(missing)} orders without a journal row"] if missing else []
    problems += [f"{len(still_open)} orders the journal holds open"] if still_open else []
    return {
        "soak_seconds": seconds,
        "soak_market_hours": len(bars) / 60.0,
        "soak_agents": float(len(agents)),
        "soak_reaped": float(reaped),
        "soak_orders": float(len(sent)),
        "soak_fills": float(sum(1 for f in fills if f.strategy_id in agents)),
        "soak_checks": float(counts["checks"]),
        "soak_checks_missed": float(counts["missed"]),
        "soak_problems": float(len(problems)),
        "soak_problem_examples": problems[:10],
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    seconds = float(getattr(args, "seconds", None) or (120.0 if args.quick else 3_600.0))
    with tempfile.TemporaryDirectory(prefix="crucible-soak-") as tmp:
        result = asyncio.run(soak(Path(tmp), seconds))
    print(
        f"soak: {result['soak_seconds']:.0f} s, {result['soak_market_hours']:.1f} h of market time, "
        f"{result['soak_agents']:.0f} agents ({result['soak_reaped']:.0f} reaped), "
        f"{result['soak_orders']:.0f} orders, {result['soak_fills']:.0f} fills, "
        f"{result['soak_checks']:.0f} checks ({result['soak_checks_missed']:.0f} missed), "
        f"{result['soak_problems']:.0f} problems"
    )
    return {"bench": "soak"} | result
