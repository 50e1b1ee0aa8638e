"""ForgeSupervisor with local spawned workers: timeouts, failures, dedupe, journal, events."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from engine.core import topics
from engine.core.bus import EventBus
from engine.core.clock import LiveClock
from engine.core.errors import TemporaryError
from engine.core.tasks import TaskSupervisor
from engine.forge.supervisor import ForgeSupervisor
from engine.forge.task import ForgeTask
from engine.journal import Journal
from engine.model.enums import ForgeStage
from tests.kit.configs import make_config
from tests.kit.procs import alive

STUBS = "tests.unit.engine.forge.stub_workers"


class Harness:
    def __init__(self, forge: ForgeSupervisor, bus: EventBus, events: list[Any]) -> None:
        self.forge = forge
        self.bus = bus
        self.events = events

    def stages(self, task_id: str) -> list[ForgeStage]:
        return [e.stage for e in self.events if e.task_id == task_id]


async def _harness(tmp_path: Path, journal: Journal | None = None, **forge: Any) -> Harness:
    settings = {"task_timeout_s": 6.0, "kill_grace_s": 1.0} | forge
    config = make_config(tmp_path, forge=settings)
    tasks = TaskSupervisor()
    bus = EventBus(tasks)
    events: list[Any] = []
    bus.subscribe(topics.all_of("forge.progress"), lambda _t, m: events.append(m), direct=True)
    sup = ForgeSupervisor(bus, LiveClock(), config, tasks, journal=journal)
    await sup.start()
    h = Harness(sup, bus, events)
    h.tasks = tasks  # type: ignore[attr-defined]
    return h


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    h = await _harness(tmp_path)
    yield h
    await h.forge.stop()
    await h.tasks.stop()  # type: ignore[attr-defined]


async def test_hung_worker_is_killed_at_timeout_and_reported_without_blocking_the_loop(
    harness: Harness,
) -> None:
    gaps: list[float] = []

    async def ticker() -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.02)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    tick = asyncio.create_task(ticker())
    task_id = harness.forge.submit(ForgeTask("BTC/USDT", "s1"), entrypoint=f"{STUBS}:hang")
    outcome = await harness.forge.wait(task_id, timeout=30)
    tick.cancel()
    assert outcome.status == "timed_out"
    assert "timeout" in outcome.reason
    stages = harness.stages(task_id)
    assert stages[0] is ForgeStage.QUEUED
    assert ForgeStage.EVOLVING in stages
    assert stages[-1] is ForgeStage.TIMED_OUT
    pid = int(
        next(e.message for e in harness.events if e.stage is ForgeStage.EVOLVING).split("=")[1]
    )
    assert not alive(pid)
    # The event loop kept running throughout (a blocked loop would tick once or not at all;
    # how regularly it ticked is a benchmark's business, not a test's).
    assert len(gaps) >= 20


async def test_worker_that_ignores_sigterm_is_killed(tmp_path: Path) -> None:
    h = await _harness(tmp_path, task_timeout_s=5.0, kill_grace_s=0.5)
    try:
        task_id = h.forge.submit(
            ForgeTask("BTC/USDT", "s1"), entrypoint=f"{STUBS}:hang_ignoring_sigterm"
        )
        outcome = await h.forge.wait(task_id, timeout=30)
        assert outcome.status == "timed_out"
        pid = int(next(e.message for e in h.events if e.stage is ForgeStage.EVOLVING).split("=")[1])
        assert not alive(pid)
    finally:
        await h.forge.stop()
        await h.tasks.stop()  # type: ignore[attr-defined]


async def test_worker_that_raises_is_reported_as_failed_with_the_reason(harness: Harness) -> None:
    task_id = harness.forge.submit(ForgeTask("ETH/USDT", "s1"), entrypoint=f"{STUBS}:crash")
    outcome = await harness.forge.wait(task_id, timeout=30)
    assert outcome.status == "failed"
    assert "RuntimeError: boom inside the forge worker" in outcome.reason
    final = [e for e in harness.events if e.task_id == task_id][-1]
    assert final.stage is ForgeStage.FAILED
    assert "boom" in final.message


async def test_worker_that_dies_without_a_result_is_reported(harness: Harness) -> None:
    task_id = harness.forge.submit(ForgeTask("ETH/USDT", "s1"), entrypoint=f"{STUBS}:die")
    outcome = await harness.forge.wait(task_id, timeout=30)
    assert outcome.status == "failed"
    assert "exited with code 3" in outcome.reason


async def test_missing_market_data_is_a_failed_task_not_a_crash(tmp_path: Path) -> None:
    h = await _harness(tmp_path, task_timeout_s=120.0)
    try:
        task_id = h.forge.submit(ForgeTask("SOL/USDT", "s1"))
        outcome = await h.forge.wait(task_id, timeout=150)
    finally:
        await h.forge.stop()
        await h.tasks.stop()  # type: ignore[attr-defined]
    assert outcome.status == "failed"
    assert "DataError" in outcome.reason
    assert "SOL/USDT" in outcome.reason


async def test_progress_events_carry_generation_fitness_and_eta(harness: Harness) -> None:
    task_id = harness.forge.submit(
        ForgeTask("BTC/USDT", "s1"), entrypoint=f"{STUBS}:evolve_briefly"
    )
    outcome = await harness.forge.wait(task_id, timeout=30)
    assert outcome.status == "rejected"
    evolving = [
        e for e in harness.events if e.task_id == task_id and e.stage is ForgeStage.EVOLVING
    ]
    assert [e.generation for e in evolving] == [1, 2, 3]
    assert [e.best_fitness for e in evolving] == [1.0, 2.0, 3.0]
    assert evolving[0].eta_s is not None
    assert evolving[-1].eta_s == 0.0
    assert all(math.isfinite(e.elapsed_s) and e.elapsed_s >= 0 for e in evolving)
    final = [e for e in harness.events if e.task_id == task_id][-1]
    assert final.stage is ForgeStage.REJECTED
    assert "no edge for BTC/USDT" in final.message


async def test_same_slot_is_deduplicated_and_a_full_queue_refuses(tmp_path: Path) -> None:
    h = await _harness(tmp_path, max_queue=1, max_workers=1)
    try:
        first = h.forge.submit(ForgeTask("BTC/USDT", "slot-a"), entrypoint=f"{STUBS}:hang")
        assert h.forge.submit(ForgeTask("BTC/USDT", "slot-a"), entrypoint=f"{STUBS}:hang") == first
        with pytest.raises(TemporaryError, match="queue is full"):
            h.forge.submit(ForgeTask("BTC/USDT", "slot-b"), entrypoint=f"{STUBS}:hang")
        assert h.forge.active_slots == {"slot-a": first}
    finally:
        await h.forge.stop()
        await h.tasks.stop()  # type: ignore[attr-defined]
    assert h.forge.outcomes[first].status == "cancelled"
    assert h.stages(first)[-1] is ForgeStage.CANCELLED


async def test_stop_kills_a_running_worker(tmp_path: Path) -> None:
    h = await _harness(tmp_path, task_timeout_s=60.0)
    task_id = h.forge.submit(ForgeTask("BTC/USDT", "s1"), entrypoint=f"{STUBS}:hang")
    for _ in range(400):
        if ForgeStage.EVOLVING in h.stages(task_id):
            break
        await asyncio.sleep(0.05)
    pid = int(next(e.message for e in h.events if e.stage is ForgeStage.EVOLVING).split("=")[1])
    assert alive(pid)
    await h.forge.stop()
    await h.tasks.stop()  # type: ignore[attr-defined]
    assert not alive(pid)
    assert h.forge.outcomes[task_id].status == "cancelled"


async def test_outcomes_are_journaled(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    journal.open()
    h = await _harness(tmp_path, journal=journal)
    try:
        task_id = h.forge.submit(ForgeTask("BTC/USDT", "s9"), entrypoint=f"{STUBS}:evolve_briefly")
        await h.forge.wait(task_id, timeout=30)
    finally:
        await h.forge.stop()
        await h.tasks.stop()  # type: ignore[attr-defined]
        journal.close()
    import sqlite3

    rows = (
        sqlite3.connect(tmp_path / "journal.sqlite")
        .execute("SELECT task_id, symbol, slot, status, report, ts_finished FROM forge_runs")
        .fetchall()
    )
    assert len(rows) == 1
    assert rows[0][:4] == (task_id, "BTC/USDT", "s9", "REJECTED")
    assert "no edge" in rows[0][4]
    assert rows[0][5] is not None
