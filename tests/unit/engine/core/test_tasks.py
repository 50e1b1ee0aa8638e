"""TaskSupervisor and the engine: a failing task is logged by name and does not kill the engine."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from engine.core import topics
from engine.core.tasks import TaskSupervisor
from engine.kernel import CrucibleEngine
from engine.model.enums import EngineState
from engine.model.events import TaskFailed
from tests.kit.configs import make_config


async def _explode() -> None:
    await asyncio.sleep(0.01)
    raise ValueError("deliberate failure in a background task")


async def test_supervisor_logs_failing_task_with_name_and_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sup = TaskSupervisor()
    with caplog.at_level(logging.ERROR):
        task = sup.spawn("feeds:exploding", _explode())
        with pytest.raises(ValueError, match="deliberate"):
            await task
        await asyncio.sleep(0)
    assert "feeds:exploding" in caplog.text
    assert "Traceback" in caplog.text
    assert "_explode" in caplog.text
    assert sup.failures == [
        ("feeds:exploding", "ValueError('deliberate failure in a background task')")
    ]
    assert len(sup) == 0


async def test_supervisor_stop_cancels_and_awaits_everything() -> None:
    sup = TaskSupervisor()
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.sleep(3600)

    tasks = [sup.spawn(f"t{i}", forever()) for i in range(5)]
    await started.wait()
    assert await sup.stop(timeout=1.0) == []
    assert all(t.done() for t in tasks)
    with pytest.raises(RuntimeError, match="stopped"):
        sup.spawn("late", forever())


async def test_engine_survives_a_failing_task_and_publishes_task_failed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = CrucibleEngine(make_config(tmp_path))
    failures: list[TaskFailed] = []
    engine.bus.subscribe(topics.ENGINE_TASK_FAILED, lambda _t, m: failures.append(m), direct=True)
    await engine.start()
    with caplog.at_level(logging.ERROR):
        engine.supervisor.spawn("strategy:broken", _explode())
        await asyncio.sleep(0.1)
    assert engine.state is EngineState.RUNNING
    assert [f.name for f in failures] == ["strategy:broken"]
    assert "Traceback" in failures[0].traceback
    assert "strategy:broken" in caplog.text
    # The engine still works afterwards: another task runs to completion.
    done = asyncio.Event()

    async def ok() -> None:
        done.set()

    engine.supervisor.spawn("after", ok())
    await asyncio.wait_for(done.wait(), 1.0)
    await engine.stop()
    assert engine.state is EngineState.STOPPED
