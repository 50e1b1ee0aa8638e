"""Start a real engine (real cerebellum_core, real sockets) for integration tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from engine.assembly import build_engine
from engine.kernel import CrucibleEngine
from tests.kit.configs import make_config


def engine_config(tmp_path: Path, binary: Path, **overrides: Any) -> Any:
    cerebellum = {"binary": str(binary), "seed": 11, **overrides.pop("cerebellum", {})}
    return make_config(tmp_path, cerebellum=cerebellum, **overrides)


@asynccontextmanager
async def running_engine(
    tmp_path: Path,
    binary: Path,
    before_start: Callable[[CrucibleEngine], None] | None = None,
    **overrides: Any,
) -> AsyncIterator[CrucibleEngine]:
    """Build and start an engine; ``before_start`` subscribes before anything can trade."""
    engine = build_engine(engine_config(tmp_path, binary, **overrides))
    if before_start is not None:
        before_start(engine)
    await engine.start()
    try:
        yield engine
    finally:
        await engine.stop()


async def wait_until(
    predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition"
) -> float:
    """Poll ``predicate`` on the running loop; return seconds waited or raise TimeoutError."""
    t0 = time.monotonic()
    while not predicate():
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"timed out after {timeout:.1f} s waiting for {what}")
        await asyncio.sleep(0.01)
    return time.monotonic() - t0
