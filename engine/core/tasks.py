"""TaskSupervisor: every background task is owned, named, logged and stopped."""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)

FailureCallback = Callable[[str, BaseException, str], None]


class TaskSupervisor:
    """Spawns tasks, keeps references, logs failures with name and traceback.

    A failing task never takes the engine down: its exception is logged and
    reported to ``on_failure``; ``stop()`` cancels and awaits everything.
    """

    def __init__(self, on_failure: FailureCallback | None = None) -> None:
        self._tasks: dict[asyncio.Task[Any], str] = {}
        self._on_failure = on_failure
        self.failures: list[tuple[str, str]] = []
        self._closed = False

    def spawn(self, name: str, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Start ``coro`` as a supervised task called ``name``."""
        if self._closed:
            coro.close()
            raise RuntimeError(f"cannot spawn {name!r}: the supervisor is stopped")
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks[task] = name
        task.add_done_callback(self._on_done)
        return task

    def _on_done(self, task: asyncio.Task[Any]) -> None:
        name = self._tasks.pop(task, task.get_name())
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            return
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        log.error("task %r failed: %r\n%s", name, exc, tb)
        self.failures.append((name, repr(exc)))
        if self._on_failure is not None:
            try:
                self._on_failure(name, exc, tb)
            except Exception:
                log.exception("failure callback for task %r raised", name)

    @property
    def names(self) -> list[str]:
        return sorted(self._tasks.values())

    def __len__(self) -> int:
        return len(self._tasks)

    async def stop(self, timeout: float = 5.0) -> list[str]:
        """Cancel every task and wait up to ``timeout`` s; return names still alive."""
        self._closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if not tasks:
            return []
        _done, pending = await asyncio.wait(tasks, timeout=timeout)
        stuck = [self._tasks.get(t, t.get_name()) for t in pending]
        if stuck:
            log.error("tasks did not stop within %.1f s: %s", timeout, stuck)
        return stuck
