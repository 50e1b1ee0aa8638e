"""The Ray backend runs the same worker code and yields the same events (local Ray)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from engine.core import topics
from engine.core.bus import EventBus
from engine.core.clock import LiveClock
from engine.core.tasks import TaskSupervisor
from engine.forge.backends import RayBackend
from engine.forge.supervisor import ForgeSupervisor
from engine.forge.task import ForgeTask
from engine.model.enums import ForgeStage
from tests.conftest import REPO_ROOT
from tests.kit.configs import make_config

ray = pytest.importorskip("ray", reason="ray is not installed (pip install '.[dev]')")

STUBS = "tests.unit.engine.forge.stub_workers"


@pytest.mark.slow
async def test_ray_backend_reports_progress_failures_and_timeouts_like_local(
    tmp_path: Path,
) -> None:
    config = make_config(
        tmp_path, forge={"backend": "ray", "task_timeout_s": 20.0, "kill_grace_s": 1.0}
    )
    ray_tmp = tempfile.mkdtemp(prefix="cr-ray-")
    backend = RayBackend(
        None,
        kill_grace_s=1.0,
        init_kwargs={
            "num_cpus": 1,
            "runtime_env": {"env_vars": {"PYTHONPATH": str(REPO_ROOT)}},
            "_temp_dir": ray_tmp,  # short: Ray's socket paths must fit in 107 bytes
        },
    )
    tasks = TaskSupervisor()
    bus = EventBus(tasks)
    events: list[Any] = []
    bus.subscribe(topics.all_of("forge.progress"), lambda _t, m: events.append(m), direct=True)
    forge = ForgeSupervisor(bus, LiveClock(), config, tasks, backend=backend)
    await forge.start()
    try:
        ok = forge.submit(ForgeTask("BTC/USDT", "r1"), entrypoint=f"{STUBS}:evolve_briefly")
        outcome = await forge.wait(ok, timeout=120)
        assert outcome.status == "rejected"
        assert "no edge for BTC/USDT" in outcome.reason
        gens = [e.generation for e in events if e.task_id == ok and e.stage is ForgeStage.EVOLVING]
        assert gens == [1, 2, 3]

        bad = forge.submit(ForgeTask("BTC/USDT", "r2"), entrypoint=f"{STUBS}:crash")
        outcome = await forge.wait(bad, timeout=60)
        assert outcome.status == "failed"
        assert "boom inside the forge worker" in outcome.reason

        forge._config = make_config(tmp_path, forge={"backend": "ray", "task_timeout_s": 4.0})
        hung = forge.submit(ForgeTask("BTC/USDT", "r3"), entrypoint=f"{STUBS}:hang")
        outcome = await forge.wait(hung, timeout=60)
        assert outcome.status == "timed_out"
        assert [e.stage for e in events if e.task_id == hung][-1] is ForgeStage.TIMED_OUT
        pid = int(
            next(
                e.message for e in events if e.task_id == hung and e.stage is ForgeStage.EVOLVING
            ).split("=")[1]
        )
        from tests.kit.procs import wait_gone

        assert not wait_gone({pid}, timeout=10.0)  # ray.cancel(force=True) killed the worker
    finally:
        await forge.stop()
        await tasks.stop()
        shutil.rmtree(ray_tmp, ignore_errors=True)
