"""DESIGN invariant 2: an agent's holdings change only when a fill arrives, at its price and size.

Two proofs:

* behaviour: an agent takes decisions and receives random order reports (acks,
  partial fills at prices away from the decision, cancels, rejects, replays);
  after every step its position, entry price, cash, fees and realised PnL have
  moved only if the step carried a fill, and then by exactly that fill;
* source: nothing in engine/agents assigns to those fields outside
  ``AgentState`` (whose only writers are ``apply_fill`` and the helpers it calls).
"""

from __future__ import annotations

import ast
import random
from pathlib import Path

import pytest

from engine.agents.agent import Agent
from engine.agents.signal_board import SignalSnapshot
from engine.model.enums import Liquidity, OrderStatus, OrderType, Side
from engine.model.events import Fill, OrderUpdate
from tests.unit.engine.agents.test_agent import ENTRY_TREE, EXIT_TREE, MARKET, _agent

HOLDINGS = ("qty", "entry_price", "cash", "fees", "realized_pnl", "entry_ts", "n_trades")
ROOT = Path(__file__).resolve().parents[2]


def _holdings(agent: Agent) -> tuple[float, ...]:
    return tuple(float(getattr(agent.state, f)) for f in HOLDINGS)


def _update(
    agent: Agent,
    cid: str,
    side: Side,
    status: OrderStatus,
    qty: float,
    cum: float,
    fill: bool,
    px: float,
    n: int,
) -> OrderUpdate:
    return OrderUpdate(
        seq=n, client_order_id=cid, venue_order_id="V", strategy_id=agent.id,
        symbol=agent.symbol, side=side, order_type=OrderType.MARKET, status=status, price=None,
        qty=qty, cum_qty=cum, avg_price=px if cum else 0.0, leaves_qty=qty - cum,
        ts_event=n, ts_init=n, last_qty=(cum if fill else None), last_price=(px if fill else None),
        fee=(cum * px * 5.5e-4 if fill else None), fee_asset=("USDT" if fill else None),
        liquidity=(Liquidity.TAKER if fill else None), exec_id=(f"E{n}" if fill else None),
    )  # fmt: skip


@pytest.mark.parametrize("seed", range(5))
def test_holdings_move_only_by_the_fills_that_arrive(seed: int) -> None:
    rng = random.Random(seed)
    agent = _agent([ENTRY_TREE, EXIT_TREE], trade_stats={"win_rate": 0.65, "payoff_ratio": 1.5})
    n = fills = trades_closed = 0
    for _ in range(60):
        before = _holdings(agent)
        if rng.random() < 0.4:
            agent.state.weights = [rng.random() + 0.01, rng.random() + 0.01]
            plan = agent.decide(agent.infer(), SignalSnapshot(), MARKET)
            if plan.sends_order:
                agent.order_sent(f"A-{n}", plan)
            assert _holdings(agent) == before, "a decision moved holdings"
            continue
        cid = agent.state.pending_order or f"stray-{n}"
        side = Side.BUY if agent.state.flat else Side.SELL
        qty = agent.state.qty if side is Side.SELL else 0.01
        filled = round(qty * rng.choice((0.25, 0.5, 1.0)), 8)
        status = rng.choice(
            (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED)
        )  # fmt: skip
        fill = status in (OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED) and filled > 0
        px = 60_000.0 * (1 + rng.uniform(-0.01, 0.01))  # away from any decision price
        n += 1
        update = _update(agent, cid, side, status, qty, filled if fill else 0.0, fill, px, n)
        report_fill = Fill.from_update(update) if fill else None
        agent.on_report(update, report_fill)
        after = _holdings(agent)
        if report_fill is None:
            assert after == before, f"{status} without a fill moved holdings"
            continue
        fills += 1
        trades_closed += after[6] > before[6]
        signed = report_fill.qty * report_fill.side.sign
        assert after[0] == pytest.approx(before[0] + signed, abs=1e-12)
        assert after[2] == pytest.approx(before[2] - signed * report_fill.price - report_fill.fee)
        assert after[3] == pytest.approx(before[3] + report_fill.fee)
    assert fills >= 5  # the walk exercised entries and exits, not only no-ops
    assert trades_closed >= 1


_GUARDED = {"qty", "entry_price", "cash", "fees", "realized_pnl", "entry_ts", "entry_width"}


def _writes_outside_state(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            for sub in ast.walk(target):
                if isinstance(sub, ast.Attribute) and sub.attr in _GUARDED:
                    found.append(f"{path.name}:{sub.lineno} .{sub.attr}")
    return found


def test_no_agent_code_but_agent_state_writes_holdings() -> None:
    agents = ROOT / "engine" / "agents"
    files = [p for p in agents.glob("*.py") if p.name != "state.py"]
    assert len(files) > 5
    offenders = [w for p in files for w in _writes_outside_state(p)]
    assert offenders == []


def test_the_source_check_sees_a_write(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f(agent):\n    agent.state.qty += 1\n    agent.state.cash = 0\n")
    assert _writes_outside_state(bad) == ["bad.py:2 .qty", "bad.py:3 .cash"]
