"""Invariant 4: stop() leaves no task behind and is idempotent."""

from __future__ import annotations

import asyncio
from pathlib import Path

from engine.assembly import build_engine
from engine.model.enums import EngineState
from tests.kit.engine_harness import engine_config
from tests.kit.procs import wait_gone


async def test_engine_stop_leaves_no_task_no_process_and_is_idempotent(
    tmp_path: Path, cerebellum_binary: Path
) -> None:
    before = {t for t in asyncio.all_tasks() if not t.done()}
    engine = build_engine(engine_config(tmp_path, cerebellum_binary))
    await engine.start()
    assert engine.state is EngineState.RUNNING
    core_pid = engine.link.process.pid if engine.link.process else None
    assert core_pid is not None
    assert len(engine.supervisor) >= 1
    await engine.stop()
    await engine.stop()
    assert engine.state is EngineState.STOPPED
    assert len(engine.supervisor) == 0
    left = {t for t in asyncio.all_tasks() if not t.done()} - before - {asyncio.current_task()}
    assert left == set()
    assert not engine.journal.is_open
    assert engine.link.process is not None
    assert engine.link.process.pid is None  # stopped and forgotten
    assert wait_gone({core_pid}, 2.0) == set()
    assert not engine.link.process.runtime_dir.exists()
