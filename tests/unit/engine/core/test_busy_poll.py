"""BusyPollEventLoop: spins only on demand, never past a timer, and still sleeps."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

from engine.core import busy_poll
from engine.core.busy_poll import BusyPollEventLoop


async def _spins_until_readable(spin: bool) -> int:
    loop = asyncio.get_running_loop()
    assert isinstance(loop, BusyPollEventLoop)
    loop.set_busy_poll((lambda: True) if spin else None, 50_000)
    a, b = socket.socketpair()
    got = asyncio.Event()
    loop.add_reader(a.fileno(), lambda: (a.recv(16), got.set()))
    spins_before = loop.busy_poll_spins
    sender = threading.Timer(0.005, b.send, (b"x",))
    sender.start()
    await asyncio.wait_for(got.wait(), 2)
    loop.remove_reader(a.fileno())
    sender.join()
    a.close()
    b.close()
    return loop.busy_poll_spins - spins_before


def test_the_loop_spins_only_while_asked_to() -> None:
    spins = busy_poll.run(_spins_until_readable(spin=True))
    assert spins > 10  # polled repeatedly during the 5 ms before the byte came
    spins = busy_poll.run(_spins_until_readable(spin=False))
    assert spins == 0


async def _timer_lateness() -> float:
    loop = asyncio.get_running_loop()
    assert isinstance(loop, BusyPollEventLoop)
    loop.set_busy_poll(lambda: True, 10_000)  # a 10 ms spin budget ...
    t0 = time.perf_counter()
    await asyncio.sleep(0.002)  # ... must not delay a 2 ms timer
    return time.perf_counter() - t0


def test_spinning_never_delays_a_timer() -> None:
    assert busy_poll.run(_timer_lateness()) < 0.009


async def _spin_then_sleep() -> tuple[float, float, int]:
    loop = asyncio.get_running_loop()
    assert isinstance(loop, BusyPollEventLoop)
    loop.set_busy_poll(lambda: True, 1_000)  # 1 ms, then block
    c0, t0 = time.process_time(), time.perf_counter()
    await asyncio.sleep(0.2)
    return time.process_time() - c0, time.perf_counter() - t0, loop.busy_poll_spins


def test_after_its_budget_the_loop_sleeps_instead_of_burning_cpu() -> None:
    cpu, wall, spins = busy_poll.run(_spin_then_sleep())
    assert wall >= 0.2
    assert spins > 0
    assert cpu < 0.05, f"{cpu * 1e3:.1f} ms of CPU in a 200 ms sleep"
