"""An operator cancels a forge task: a queued one never runs, a running one's worker is killed."""

from __future__ import annotations

import os
from pathlib import Path

from engine.core.bus import EventBus
from engine.core.clock import LiveClock
from engine.core.tasks import TaskSupervisor
from engine.forge.supervisor import ForgeSupervisor
from engine.forge.task import ForgeTask
from engine.model.enums import ForgeStage
from engine.model.events import ForgeProgress
from tests.kit.configs import make_config
from tests.kit.engine_harness import wait_until

STUBS = "tests.unit.engine.forge.stub_workers"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_cancelling_kills_the_running_worker_and_drops_the_queued_task(
    tmp_path: Path,
) -> None:
    config = make_config(tmp_path, forge={"task_timeout_s": 60.0, "kill_grace_s": 1.0})
    tasks = TaskSupervisor()
    bus = EventBus(tasks)
    events: list[ForgeProgress] = []
    bus.subscribe("forge.progress.*", lambda _t, e: events.append(e), direct=True)
    forge = ForgeSupervisor(bus, LiveClock(), config, tasks)
    await forge.start()
    try:
        running = forge.submit(ForgeTask("BTC/USDT", "a"), entrypoint=f"{STUBS}:hang")
        queued = forge.submit(ForgeTask("ETH/USDT", "b"), entrypoint=f"{STUBS}:hang")
        await wait_until(
            lambda: any(e.task_id == running and e.stage is ForgeStage.EVOLVING for e in events),
            60,
            "the worker to start",
        )
        pid = int(next(e.message for e in events if e.stage is ForgeStage.EVOLVING).split("=")[1])
        assert forge.cancel(queued)
        assert (await forge.wait(queued, timeout=5)).status == "cancelled"
        assert forge.cancel(running)
        outcome = await forge.wait(running, timeout=30)
        assert outcome.status == "cancelled"
        assert "operator" in outcome.reason
        await wait_until(lambda: not _alive(pid), 10, "the worker to die")
        assert not forge.cancel(running)  # nothing left to cancel
        assert forge.active_slots == {}
        for task_id in (running, queued):
            last = [e for e in events if e.task_id == task_id][-1]
            assert last.stage is ForgeStage.CANCELLED
    finally:
        await forge.stop()
        await tasks.stop()
