"""Where forge jobs run: local spawned processes (default) or a Ray cluster.

Both run the same ``engine.forge.worker`` code and hand progress and the outcome
back as the same messages. Neither blocks the event loop: process start, joins
and queue reads happen in a small thread pool. A job that outlives its timeout
is terminated, then killed (local: its whole process group; Ray: a forced
cancel that kills the worker process).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing as mp
import os
import queue
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from engine.forge.task import ForgeJob, ForgeOutcome, ProgressUpdate
from engine.forge.worker import worker_main

log = logging.getLogger(__name__)

ProgressCallback = Callable[[ProgressUpdate], None]
_POLL_S = 0.25


class ForgeBackend(Protocol):
    """Runs one job to its outcome within ``timeout_s``; never raises for job failures."""

    name: str

    async def run(
        self, job: ForgeJob, on_progress: ProgressCallback, timeout_s: float
    ) -> ForgeOutcome: ...

    async def close(self) -> None: ...


def _get(q: Any, timeout: float) -> Any:
    try:
        return q.get(timeout=timeout)
    except (queue.Empty, EOFError, OSError):
        return None
    except Exception as exc:  # ray.util.queue.Empty is not a queue.Empty subclass
        if type(exc).__name__ == "Empty":
            return None
        raise


class LocalProcessBackend:
    """One spawned, non-daemonic process per job (it may start its own pool)."""

    name = "local"

    def __init__(self, max_workers: int, kill_grace_s: float) -> None:
        self._kill_grace_s = kill_grace_s
        self._io = ThreadPoolExecutor(
            max_workers=2 * max_workers + 1, thread_name_prefix="forge-io"
        )
        self._ctx = mp.get_context("spawn")
        self.live_pids: set[int] = set()

    async def run(
        self, job: ForgeJob, on_progress: ProgressCallback, timeout_s: float
    ) -> ForgeOutcome:
        loop = asyncio.get_running_loop()
        channel = self._ctx.Queue()
        proc = self._ctx.Process(
            target=worker_main, args=(job, channel), name=f"forge-{job.task.task_id}", daemon=False
        )
        deadline = loop.time() + timeout_s
        try:
            await loop.run_in_executor(self._io, proc.start)
            if proc.pid is not None:
                self.live_pids.add(proc.pid)
            return await self._pump(proc, channel, on_progress, deadline, timeout_s)
        finally:
            await self._stop(proc)
            channel.close()
            channel.cancel_join_thread()

    async def _pump(
        self,
        proc: Any,
        channel: Any,
        on_progress: ProgressCallback,
        deadline: float,
        timeout_s: float,
    ) -> ForgeOutcome:
        loop = asyncio.get_running_loop()
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                await self._stop(proc)
                return ForgeOutcome(
                    "timed_out", f"worker ran past its {timeout_s:g} s timeout; killed"
                )
            msg = await loop.run_in_executor(self._io, _get, channel, min(remaining, _POLL_S))
            if msg is None:
                if not proc.is_alive():
                    msg = await loop.run_in_executor(self._io, _get, channel, _POLL_S)
                    if msg is None:
                        return ForgeOutcome(
                            "failed",
                            f"worker process exited with code {proc.exitcode} and no result",
                        )
                else:
                    continue
            kind, payload = msg
            if kind == "progress":
                on_progress(payload)
            elif kind == "outcome":
                return payload  # type: ignore[no-any-return]

    async def _stop(self, proc: Any) -> None:
        """Terminate, wait ``kill_grace_s``, then kill: the worker and its process group."""
        if proc.pid is None:
            return
        loop = asyncio.get_running_loop()
        if proc.is_alive():
            self._signal(proc, signal.SIGTERM)
            await loop.run_in_executor(self._io, proc.join, self._kill_grace_s)
        if proc.is_alive():
            log.warning("forge worker %s ignored SIGTERM; killing it", proc.pid)
            self._signal(proc, signal.SIGKILL)
            await loop.run_in_executor(self._io, proc.join, self._kill_grace_s)
        await loop.run_in_executor(self._io, proc.join, 0.1)
        self.live_pids.discard(proc.pid)

    @staticmethod
    def _signal(proc: Any, sig: int) -> None:
        try:
            os.killpg(proc.pid, sig)  # the worker made itself leader of its own group
        except (ProcessLookupError, PermissionError, OSError):
            with contextlib.suppress(ProcessLookupError, OSError):
                os.kill(proc.pid, sig)

    async def close(self) -> None:
        self._io.shutdown(wait=False, cancel_futures=True)


def _ray_worker(job: ForgeJob, channel: Any) -> None:
    worker_main(job, channel, own_process_group=False)


class RayBackend:
    """Runs jobs as Ray tasks on the cluster at ``address`` (None: start a local Ray)."""

    name = "ray"

    def __init__(
        self, address: str | None, kill_grace_s: float, init_kwargs: dict[str, Any] | None = None
    ) -> None:
        self._address = address
        self._kill_grace_s = kill_grace_s
        self._init_kwargs = dict(init_kwargs or {})
        self._io = ThreadPoolExecutor(max_workers=4, thread_name_prefix="forge-ray")
        self._remote: Any = None
        self._started_ray = False

    def _ensure_ray(self) -> Any:
        import ray

        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            kwargs |= self._init_kwargs
            ray.init(address=self._address, **kwargs)
            self._started_ray = True
        if self._remote is None:
            self._remote = ray.remote(num_cpus=1, max_retries=0)(_ray_worker)
        return ray

    async def run(
        self, job: ForgeJob, on_progress: ProgressCallback, timeout_s: float
    ) -> ForgeOutcome:
        loop = asyncio.get_running_loop()
        ray = await loop.run_in_executor(self._io, self._ensure_ray)
        from ray.util.queue import Queue

        channel = await loop.run_in_executor(self._io, lambda: Queue(actor_options={"num_cpus": 0}))
        ref = self._remote.remote(job, channel)
        deadline = loop.time() + timeout_s
        try:
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    ray.cancel(ref, force=True)
                    return ForgeOutcome(
                        "timed_out", f"Ray task ran past its {timeout_s:g} s timeout; cancelled"
                    )
                msg = await loop.run_in_executor(self._io, _get, channel, min(remaining, _POLL_S))
                if msg is None:
                    ready, _ = await loop.run_in_executor(
                        self._io, lambda: ray.wait([ref], timeout=0)
                    )
                    if ready:
                        msg = await loop.run_in_executor(self._io, _get, channel, _POLL_S)
                        if msg is None:
                            return await self._dead_task(ray, ref)
                    else:
                        continue
                kind, payload = msg
                if kind == "progress":
                    on_progress(payload)
                elif kind == "outcome":
                    return payload  # type: ignore[no-any-return]
        except asyncio.CancelledError:
            ray.cancel(ref, force=True)
            raise
        finally:
            with contextlib.suppress(Exception):
                ray.kill(channel.actor)

    async def _dead_task(self, ray: Any, ref: Any) -> ForgeOutcome:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._io, ray.get, ref)
        except Exception as exc:
            return ForgeOutcome("failed", f"Ray task died: {type(exc).__name__}: {exc}")
        return ForgeOutcome("failed", "Ray task finished without sending a result")

    async def close(self) -> None:
        if self._started_ray:
            import ray

            await asyncio.get_running_loop().run_in_executor(self._io, ray.shutdown)
            self._started_ray = False
        self._io.shutdown(wait=False, cancel_futures=True)
