"""BatchWorker: an ordered inbox drained in batches on an executor, never on the event loop.

Bus handlers stay cheap (``direct=True`` appends to the inbox); one supervised
task hands everything that queued up meanwhile to ``process`` in a worker
thread, then publishes its result back on the loop. The inbox is bounded: when
the computation falls behind, the oldest items are dropped and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Generic, TypeVar

from engine.core.tasks import TaskSupervisor

log = logging.getLogger(__name__)

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")


class BatchWorker(Generic[ItemT, ResultT]):
    """Run ``process(batch)`` off the loop for every batch of queued items; ``deliver`` on the loop."""

    def __init__(
        self,
        name: str,
        process: Callable[[list[ItemT]], ResultT],
        deliver: Callable[[ResultT], None],
        on_error: Callable[[BaseException], None],
        *,
        executor: Executor | None = None,
        capacity: int = 10_000,
    ) -> None:
        self.name = name
        self._process = process
        self._deliver = deliver
        self._on_error = on_error
        self._executor = executor
        self._inbox: deque[ItemT] = deque()
        self._capacity = capacity
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._busy = False
        self.dropped = 0
        self.batches = 0

    def submit(self, item: ItemT) -> None:
        """Queue ``item`` (cheap; safe to call from a direct bus handler)."""
        if len(self._inbox) >= self._capacity:
            self._inbox.popleft()
            self.dropped += 1
        self._inbox.append(item)
        self._wakeup.set()

    def start(self, supervisor: TaskSupervisor) -> None:
        if self._task is None:
            self._task = supervisor.spawn(self.name, self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def idle(self, timeout: float = 5.0) -> None:
        """Wait until the inbox is empty and no batch is in flight (tests, shutdown)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._inbox or self._busy:
            if loop.time() > deadline:
                raise TimeoutError(f"{self.name} did not go idle within {timeout} s")
            await asyncio.sleep(0.005)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            if not self._inbox:
                continue
            batch = list(self._inbox)
            self._inbox.clear()
            self._busy = True
            try:
                result = await loop.run_in_executor(self._executor, self._process, batch)
                self.batches += 1
                self._deliver(result)
            except Exception as exc:
                self._on_error(exc)
            finally:
                self._busy = False
