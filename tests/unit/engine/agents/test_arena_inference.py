"""Where the Arena runs an agent's inference: light on the loop, heavy (or unknown) in the pool."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from engine.agents.arena import Arena
from engine.agents.config import AgentsConfig
from engine.agents.inference import Inference


class _Runner:
    """Records the thread it ran on; ``cost_ms`` is what the arena decides by."""

    rows_needed = 1

    def __init__(self, cost_ms: float | None, hang_s: float = 0.0) -> None:
        self.cost_ms = cost_ms
        self.hang_s = hang_s
        self.threads: list[int] = []

    def run(self, _values: np.ndarray) -> Inference:
        self.threads.append(threading.get_ident())
        if self.hang_s:
            time.sleep(self.hang_s)
        return Inference((0,), (None,))


def _agent(runner: _Runner) -> Any:
    window = SimpleNamespace(latest=lambda _cols, rows: np.zeros((rows, 1)))
    return SimpleNamespace(
        window=window, runner=runner, bundle=SimpleNamespace(feature_names=("f",))
    )


def _arena(pool: ThreadPoolExecutor, **cfg: Any) -> Any:
    return SimpleNamespace(_cfg=AgentsConfig(**cfg), _pool=pool)


def test_light_agents_decide_on_the_loop_and_heavy_or_new_ones_in_the_pool() -> None:
    async def main() -> None:
        loop_thread = threading.get_ident()
        with ThreadPoolExecutor(1) as pool:
            arena = _arena(pool, inline_inference_ms=1.0)
            light, heavy, new = _Runner(0.3), _Runner(5.0), _Runner(None)
            for runner in (light, heavy, new):
                assert (await Arena._infer(arena, _agent(runner))).votes == (0,)
            assert light.threads == [loop_thread]
            assert heavy.threads[0] != loop_thread
            assert new.threads[0] != loop_thread
            everything_off = _arena(pool, inline_inference_ms=0.0)
            await Arena._infer(everything_off, _agent(light))
            assert light.threads[-1] != loop_thread

    asyncio.run(main())


def test_a_hung_agent_in_the_pool_times_out_and_the_loop_goes_on() -> None:
    async def main() -> None:
        with ThreadPoolExecutor(1) as pool:
            arena = _arena(pool, decision_timeout_ms=50)
            with pytest.raises(TimeoutError):
                await Arena._infer(arena, _agent(_Runner(50.0, hang_s=0.5)))

    asyncio.run(main())
