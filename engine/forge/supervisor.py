"""ForgeSupervisor: the engine component that queues, runs and reports forge tasks.

* a bounded queue (``forge.max_queue``) and ``forge.max_workers`` concurrent jobs;
* one task per slot at a time (a second request for a busy slot gets the
  running task's id back);
* progress streamed to the bus as ForgeProgress (stage, generation, best/mean
  fitness, elapsed, ETA) on ``forge.progress.<task_id>``;
* a per-task timeout enforced by the backend (terminate, then kill);
* every end -- registered, rejected, failed, timed out, cancelled -- becomes a
  final ForgeProgress with the reason, and a journal row when a journal is given.

Nothing here runs forge work on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from engine.config import CrucibleConfig
from engine.core import topics
from engine.core.bus import EventBus
from engine.core.clock import Clock
from engine.core.errors import OperationalError, TemporaryError
from engine.core.tasks import TaskSupervisor
from engine.forge.backends import ForgeBackend, LocalProcessBackend, RayBackend
from engine.forge.task import DEFAULT_ENTRYPOINT, ForgeJob, ForgeOutcome, ForgeTask, ProgressUpdate
from engine.model.enums import ForgeStage
from engine.model.events import ForgeProgress

log = logging.getLogger(__name__)

FINAL_STAGE = {
    "registered": ForgeStage.DONE,
    "rejected": ForgeStage.REJECTED,
    "failed": ForgeStage.FAILED,
    "timed_out": ForgeStage.TIMED_OUT,
    "cancelled": ForgeStage.CANCELLED,
}


def make_backend(config: CrucibleConfig) -> ForgeBackend:
    forge = config.forge
    if forge.backend == "ray":
        return RayBackend(forge.ray_address, forge.kill_grace_s)
    return LocalProcessBackend(forge.max_workers, forge.kill_grace_s)


@dataclass
class _Running:
    job: ForgeJob
    started_ns: int = 0
    started_mono_ns: int = 0
    stage: ForgeStage = ForgeStage.QUEUED
    cancelled: bool = False  # by an operator (not by the engine stopping)
    job_task: asyncio.Task[ForgeOutcome] | None = None
    done: asyncio.Future[ForgeOutcome] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class ForgeSupervisor:
    """Runs forge tasks in worker processes; the engine never waits on one."""

    name = "forge"

    def __init__(
        self,
        bus: EventBus,
        clock: Clock,
        config: CrucibleConfig,
        tasks: TaskSupervisor,
        *,
        journal: Any | None = None,
        backend: ForgeBackend | None = None,
    ) -> None:
        self._bus = bus
        self._clock = clock
        self._config = config
        self._tasks = tasks
        self._journal = journal
        self._backend = backend
        self._queue: asyncio.Queue[_Running] | None = None
        self._by_task: dict[str, _Running] = {}
        self._by_slot: dict[str, str] = {}
        self._runners: list[asyncio.Task[Any]] = []
        self.outcomes: dict[str, ForgeOutcome] = {}

    # -- lifecycle -------------------------------------------------------------
    async def start(self) -> None:
        if self._queue is not None:
            return
        self._queue = asyncio.Queue(maxsize=self._config.forge.max_queue)
        if self._backend is None:
            self._backend = make_backend(self._config)
        for i in range(self._config.forge.max_workers):
            self._runners.append(self._tasks.spawn(f"forge:runner-{i}", self._runner()))

    async def stop(self) -> None:
        """Cancel running jobs (their workers are killed) and queued ones; idempotent."""
        if self._queue is None:
            return
        runners, self._runners = self._runners, []
        for r in runners:
            r.cancel()
        await asyncio.gather(*runners, return_exceptions=True)
        # Jobs whose runner was cancelled kill their workers as they end: wait for that.
        jobs = [r.job_task for r in self._by_task.values() if r.job_task is not None]
        await asyncio.gather(*jobs, return_exceptions=True)
        for running in list(self._by_task.values()):
            self._finish(
                running, ForgeOutcome("cancelled", "the engine stopped before the task finished")
            )
        if self._backend is not None:
            await self._backend.close()
        self._queue = None

    # -- API -------------------------------------------------------------------
    def submit(self, task: ForgeTask, *, entrypoint: str = DEFAULT_ENTRYPOINT) -> str:
        """Queue ``task``; return its id (or the id of the task already busy with its slot).

        Raises TemporaryError when the queue is full, OperationalError when stopped.
        """
        if self._queue is None:
            raise OperationalError("the forge supervisor is not running")
        busy = self._by_slot.get(task.slot)
        if busy is not None:
            log.info("forge slot %s is busy with task %s; not queueing another", task.slot, busy)
            return busy
        if self._queue.full():
            raise TemporaryError(
                f"forge queue is full ({self._queue.maxsize} tasks); try again later"
            )
        running = _Running(self._job(task, entrypoint), started_ns=self._clock.timestamp_ns())
        self._by_task[task.task_id] = running
        self._by_slot[task.slot] = task.task_id
        self._queue.put_nowait(running)
        self._publish(running, ProgressUpdate(ForgeStage.QUEUED, message=f"slot {task.slot}"))
        self._journal_run(running, "QUEUED")
        return task.task_id

    async def wait(self, task_id: str, timeout: float | None = None) -> ForgeOutcome:
        """Wait for a task's outcome (for the CLI and tests; the engine subscribes instead)."""
        if task_id in self.outcomes:
            return self.outcomes[task_id]
        running = self._by_task.get(task_id)
        if running is None:
            raise KeyError(f"unknown forge task {task_id}")
        return await asyncio.wait_for(asyncio.shield(running.done), timeout)

    def cancel(self, task_id: str) -> bool:
        """Cancel a queued or running task (its worker is killed); False if it is not active."""
        running = self._by_task.get(task_id)
        if running is None:
            return False
        running.cancelled = True
        if running.job_task is not None:
            running.job_task.cancel()
        else:
            self._finish(running, ForgeOutcome("cancelled", "cancelled by the operator"))
        return True

    @property
    def active_slots(self) -> dict[str, str]:
        return dict(self._by_slot)

    def _job(self, task: ForgeTask, entrypoint: str) -> ForgeJob:
        c = self._config
        return ForgeJob(
            task=task,
            bars_root=str(c.paths.resolve(c.paths.data_dir) / "bars"),
            models_dir=str(c.paths.resolve(c.paths.models_dir)),
            forge=c.forge.model_dump(mode="json"),
            features=c.features.model_dump(mode="json"),
            exchange=c.forge.exchange,
            created_ns=self._clock.timestamp_ns(),
            entrypoint=entrypoint,
        )

    # -- running ---------------------------------------------------------------
    async def _runner(self) -> None:
        queue = self._queue
        if queue is None:
            return
        while True:
            running = await queue.get()
            try:
                if not running.cancelled:
                    await self._run_one(running)
            finally:
                queue.task_done()

    async def _run_one(self, running: _Running) -> None:
        backend = self._backend
        if backend is None:
            raise OperationalError("no forge backend")
        running.started_mono_ns = self._clock.monotonic_ns()
        self._journal_run(running, "RUNNING")
        running.job_task = self._tasks.spawn(
            f"forge:job-{running.job.task.task_id}",
            backend.run(
                running.job,
                lambda update: self._publish(running, update),
                self._config.forge.task_timeout_s,
            ),
        )
        try:
            outcome = await running.job_task
        except asyncio.CancelledError:
            if running.cancelled:  # an operator's cancel: the worker was killed, carry on
                self._finish(running, ForgeOutcome("cancelled", "cancelled by the operator"))
                return
            running.job_task.cancel()
            self._finish(
                running, ForgeOutcome("cancelled", "the engine stopped while the task ran")
            )
            raise
        except Exception as exc:
            log.exception("forge backend failed on task %s", running.job.task.task_id)
            outcome = ForgeOutcome("failed", f"backend error: {type(exc).__name__}: {exc}")
        self._finish(running, outcome)

    def _finish(self, running: _Running, outcome: ForgeOutcome) -> None:
        task = running.job.task
        if self._by_task.pop(task.task_id, None) is None:
            return
        if self._by_slot.get(task.slot) == task.task_id:
            del self._by_slot[task.slot]
        self.outcomes[task.task_id] = outcome
        stage = FINAL_STAGE[outcome.status]
        self._publish(
            running, ProgressUpdate(stage, message=outcome.reason), agent_id=outcome.agent_id
        )
        self._journal_run(running, outcome.status.upper(), outcome)
        if not running.done.done():
            running.done.set_result(outcome)
        log.info(
            "forge task %s (%s): %s %s", task.task_id, task.symbol, outcome.status, outcome.reason
        )

    # -- reporting -------------------------------------------------------------
    def _publish(
        self, running: _Running, update: ProgressUpdate, agent_id: str | None = None
    ) -> None:
        running.stage = update.stage
        elapsed = 0.0
        if running.started_mono_ns:
            elapsed = (self._clock.monotonic_ns() - running.started_mono_ns) / 1e9
        eta = None
        if update.stage is ForgeStage.EVOLVING and update.generations and update.generation:
            eta = elapsed / update.generation * max(update.generations - update.generation, 0)
        task = running.job.task
        self._bus.publish(
            topics.forge_progress(task.task_id),
            ForgeProgress(
                task_id=task.task_id,
                symbol=task.symbol,
                stage=update.stage,
                ts_event=self._clock.timestamp_ns(),
                generation=update.generation,
                generations=update.generations,
                best_fitness=update.best_fitness,
                mean_fitness=update.mean_fitness,
                elapsed_s=elapsed,
                eta_s=eta,
                message=update.message,
                agent_id=agent_id,
            ),
        )

    def _journal_run(
        self, running: _Running, status: str, outcome: ForgeOutcome | None = None
    ) -> None:
        if self._journal is None:
            return
        task = running.job.task
        report = None
        if outcome is not None:
            report = outcome.report | {"reason": outcome.reason}
        try:
            self._journal.record_forge_run(
                task.task_id,
                task.symbol,
                task.slot,
                status,
                running.started_ns,
                agent_id=outcome.agent_id if outcome else None,
                report=report,
                ts_finished=self._clock.timestamp_ns() if outcome else None,
            )
        except Exception:
            log.exception("could not journal forge task %s", task.task_id)
