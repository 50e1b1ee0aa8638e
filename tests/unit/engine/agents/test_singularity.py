"""The Singularity's slots: a rejected task is retried for its slot with a new seed after a
back-off, and the reason is kept. Real components (forge supervisor with worker processes,
arena, gateway) with a stub forge job that rejects at once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from engine.agents.arena import Arena
from engine.agents.singularity import Singularity, _Commission
from engine.agents.training_history import TrainingHistory
from engine.core.bus import EventBus
from engine.core.clock import LiveClock
from engine.core.tasks import TaskSupervisor
from engine.execution.gateway import OrderGateway
from engine.execution.link import CerebellumLink
from engine.execution.order_tracker import OrderTracker
from engine.execution.portfolio import Portfolio
from engine.forge.supervisor import ForgeSupervisor
from engine.forge.task import ForgeOutcome
from engine.journal import Journal
from engine.marketdata.store import BarStore
from engine.risk.manager import RiskManager
from tests.kit.configs import make_config
from tests.kit.engine_harness import wait_until

STUBS = "tests.unit.engine.forge.stub_workers"


def _fresh_history(store: BarStore, symbols: tuple[str, ...], days: int) -> None:
    end = pd.Timestamp.now(tz="UTC").floor("min")
    index = pd.date_range(end=end, periods=days * 1440, freq="1min", tz="UTC", name="ts")
    close = 100.0 * np.exp(np.cumsum(np.random.default_rng(1).normal(0, 1e-3, len(index))))
    bars = pd.DataFrame(
        {"open": close, "high": close * 1.001, "low": close * 0.999, "close": close, "volume": 1.0},
        index=index,
    )
    for symbol in symbols:
        store.write("sim", symbol, "1m", bars)


async def test_a_rejected_slot_is_retried_with_a_new_seed_after_a_back_off(
    tmp_path: Path, cerebellum_binary: Path
) -> None:
    config = make_config(
        tmp_path,
        deployment={
            "enabled": True,
            "agents": {"BTC/USDT": 1, "ETH/USDT": 0, "SOL/USDT": 0},
            "retry_backoff_s": 0.5,
            "check_interval_s": 0.1,
            "history_days": 3,
        },
    )
    clock, tasks = LiveClock(), TaskSupervisor()
    bus = EventBus(tasks)
    journal = Journal(config.paths.resolve(config.paths.journal))
    journal.open()
    orders, portfolio = OrderTracker(), Portfolio(100_000.0)
    link = CerebellumLink(config, bus, clock, tasks, journal)
    risk = RiskManager(config, bus, clock, tasks, journal, portfolio, orders)
    gateway = OrderGateway(config, bus, clock, tasks, link, risk, orders, portfolio, journal)
    arena = Arena(config, bus, clock, tasks, journal, gateway)
    forge = ForgeSupervisor(bus, clock, config, tasks, journal=journal)
    history = TrainingHistory(config, clock, cerebellum_binary)
    _fresh_history(history.store, config.universe.symbols, 3)
    singularity = Singularity(
        config, clock, tasks, arena, forge, history, entrypoint=f"{STUBS}:evolve_briefly"
    )
    await forge.start()
    await singularity.start()
    try:
        slot = singularity.slots["BTC/USDT#0"]
        seeds: list[int | None] = []

        def retried() -> bool:
            if slot.last_seed is not None and slot.last_seed not in seeds:
                seeds.append(slot.last_seed)
            return len(seeds) >= 2 and slot.last_outcome == "rejected"

        await wait_until(retried, 60, "a second attempt at the slot")
        assert history.detail.endswith("is recent")  # the fresh store was not simulated over
        assert list(singularity.slots) == ["BTC/USDT#0"]
        assert slot.attempts >= 2
        assert seeds[0] != seeds[1]
        assert slot.last_reason == "no edge for BTC/USDT"
        assert slot.retry_at_ns != 0  # a back-off is set
        assert slot.agent_id is None
    finally:
        await singularity.stop()
        await forge.stop()
        await tasks.stop()
        await asyncio.get_running_loop().run_in_executor(None, journal.close)


def test_a_slot_whose_agent_left_reads_empty_and_its_reap_is_still_followed(
    tmp_path: Path,
) -> None:
    """The slots never name an agent that is gone, and a reap reported after the slot was
    already seen empty still commissions (and later logs) the replacement."""
    config = make_config(
        tmp_path,
        deployment={"enabled": True, "agents": {"BTC/USDT": 0, "ETH/USDT": 1, "SOL/USDT": 0}},
    )
    agent = SimpleNamespace(
        id="ETHUSDT-gp-1", symbol="ETH/USDT", bundle=SimpleNamespace(metadata={})
    )
    arena: Any = SimpleNamespace(agents={agent.id: agent})
    unused: Any = None  # neither the forge nor the history is reached here
    singularity = Singularity(config, LiveClock(), TaskSupervisor(), arena, unused, unused)
    assert [s.agent_id for s in singularity.current_slots()] == ["ETHUSDT-gp-1"]
    del arena.agents[agent.id]  # the Watchtower removed it ...
    assert [s.agent_id for s in singularity.current_slots()] == [None]
    singularity.request_replacement("ETH/USDT", agent.id)  # ... and reports it afterwards
    assert singularity._reaped == {"ETH/USDT#0": agent.id}


def test_an_agent_reaped_before_the_singularity_first_looked_still_gets_its_replacement_logged(
    tmp_path: Path,
) -> None:
    """The Watchtower can reap an agent loaded at start before the Singularity has placed it
    (the training history takes a while): its reap claims a free slot of its symbol."""
    config = make_config(
        tmp_path,
        deployment={"enabled": True, "agents": {"BTC/USDT": 0, "ETH/USDT": 2, "SOL/USDT": 0}},
    )
    arena: Any = SimpleNamespace(agents={})
    unused: Any = None
    singularity = Singularity(config, LiveClock(), TaskSupervisor(), arena, unused, unused)
    singularity.request_replacement("ETH/USDT", "ETHUSDT-gp-early")
    singularity.request_replacement("ETH/USDT", "ETHUSDT-gp-early-too")
    assert singularity._reaped == {
        "ETH/USDT#0": "ETHUSDT-gp-early",
        "ETH/USDT#1": "ETHUSDT-gp-early-too",
    }
    assert [s.agent_id for s in singularity.current_slots()] == [None, None]


def test_a_slot_stays_busy_while_its_forged_agent_joins_and_a_late_placement_logs_the_reap(
    tmp_path: Path,
) -> None:
    """Joining awaits (loading, warm-up): the slot must not be commissioned again meanwhile
    (seen in CI: a second agent took the slot and the reaped slot's replacement went
    unlogged). An agent that lands in a reaped slot by placement logs the replacement too."""
    config = make_config(
        tmp_path,
        deployment={"enabled": True, "agents": {"BTC/USDT": 0, "ETH/USDT": 2, "SOL/USDT": 0}},
    )
    joined = asyncio.Event()
    new = SimpleNamespace(id="ETHUSDT-new", symbol="ETH/USDT", bundle=SimpleNamespace(metadata={}))

    async def add(_path: Path) -> Any:
        await joined.wait()
        arena.agents[new.id] = new
        return new

    arena: Any = SimpleNamespace(agents={}, models_dir=tmp_path, add=add)
    replacements: list[tuple[str, str, str]] = []
    unused: Any = None
    singularity = Singularity(config, LiveClock(), TaskSupervisor(), arena, unused, unused)
    singularity.watchtower = SimpleNamespace(  # type: ignore[assignment]
        record_replacement=lambda *args: replacements.append(args)
    )

    async def main() -> None:
        status = singularity.slots["ETH/USDT#1"]
        status.task_id = "t1"
        singularity._tasks["t1"] = _Commission("ETH/USDT#1", "ETH/USDT", None)
        outcome = ForgeOutcome("registered", "passed", agent_id=new.id)
        following = asyncio.create_task(singularity._on_outcome("t1", outcome))
        await asyncio.sleep(0.01)  # the agent is joining
        assert "ETH/USDT#1" not in {c.slot for c in singularity._plan()}
        joined.set()
        await following
        assert status.agent_id == new.id
        assert status.task_id is None

    asyncio.run(main())
    # A reaped agent's slot, filled by an agent that is placed rather than forged for it.
    singularity.request_replacement("ETH/USDT", "ETHUSDT-reaped")
    assert singularity._reaped == {"ETH/USDT#0": "ETHUSDT-reaped"}
    other = SimpleNamespace(
        id="ETHUSDT-other", symbol="ETH/USDT", bundle=SimpleNamespace(metadata={})
    )
    arena.agents[other.id] = other
    assert {s.slot: s.agent_id for s in singularity.current_slots()}["ETH/USDT#0"] == other.id
    assert replacements == [("ETHUSDT-reaped", "ETH/USDT", other.id)]
    assert singularity._reaped == {}
