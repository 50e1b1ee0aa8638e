"""Invariant 4: stop() leaves no task behind and is idempotent."""

from __future__ import annotations

import asyncio
from pathlib import Path

from engine.assembly import build_engine
from engine.model.enums import EngineState
from tests.kit.configs import make_config


async def test_engine_stop_leaves_no_task_and_is_idempotent(tmp_path: Path) -> None:
    before = {t for t in asyncio.all_tasks() if not t.done()}
    engine = build_engine(make_config(tmp_path))
    await engine.start()
    assert engine.state is EngineState.RUNNING
    assert len(engine.supervisor) >= 1
    await engine.stop()
    await engine.stop()
    assert engine.state is EngineState.STOPPED
    assert len(engine.supervisor) == 0
    left = {t for t in asyncio.all_tasks() if not t.done()} - before - {asyncio.current_task()}
    assert left == set()
    assert not engine.journal.is_open
