"""LinkWatchdog: the link's monitor loop.

Ten times a second it fails overdue requests, declares the core SILENT when
neither heartbeats nor reports have arrived for ``silence_timeout_ms``
(fail-closed: no new orders, books marked stale, a LINK_DOWN risk event),
restarts a core process that exited, and starts reconciliation once a silent
core answers again. Time comes from the link's clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from engine.core import topics
from engine.core.errors import OperationalError
from engine.model.enums import LinkStatus, RiskEventKind
from engine.model.events import RiskEvent

if TYPE_CHECKING:
    from engine.execution.link import CerebellumLink

log = logging.getLogger(__name__)


class LinkWatchdog:
    """Silence detection, request expiry and core restarts for a CerebellumLink."""

    def __init__(self, link: CerebellumLink) -> None:
        self._link = link

    async def run(self) -> None:
        link = self._link
        silence_ns = link.settings.silence_timeout_ms * 1_000_000
        backoff = link.settings.reconnect_backoff_s
        last_state_publish = 0
        while not link.stopped:
            await asyncio.sleep(0.1)
            io = link.io
            if io is None or link.stopped:
                continue
            if io.errors:
                raise RuntimeError(f"link I/O thread died: {io.errors[-1]}")
            link.requests.expire()
            now = link.clock.monotonic_ns()
            last_rx = io.last_heartbeat_reply_ns
            if link.channel is not None:
                last_rx = max(last_rx, link.channel.last_rx_ns)
            silent = now - last_rx > silence_ns
            if silent and link.status in (LinkStatus.CONNECTED, LinkStatus.RECONCILING):
                self.go_silent()
            process = link.process
            if process is not None and not link.settings.attach and not process.running:
                try:
                    await self._restart_core(backoff)
                    backoff = link.settings.reconnect_backoff_s
                except OperationalError as exc:
                    log.error("could not restart cerebellum_core: %s", exc)
                    backoff = min(backoff * 2, 30.0)
            elif link.status is LinkStatus.SILENT and not silent:
                link.session.begin_reconcile("core answering again")
            if now - last_state_publish > 1_000_000_000:
                last_state_publish = now
                link.bus.publish(topics.LINK_STATE, link.link_state())

    def go_silent(self) -> None:
        link = self._link
        msg = (
            f"no answer from cerebellum_core for > {link.settings.silence_timeout_ms} ms: "
            "fail-closed"
        )
        link.set_status(LinkStatus.SILENT, msg)
        link.market_data.mark_all_stale("executor silent")
        link.record_risk_event(RiskEvent(RiskEventKind.LINK_DOWN, msg, link.clock.timestamp_ns()))

    async def _restart_core(self, backoff: float) -> None:
        link = self._link
        process = link.process
        assert process is not None
        if link.status is not LinkStatus.SILENT:
            self.go_silent()
        log.error(
            "cerebellum_core exited (code %s); restarting in %.1f s", process.returncode, backoff
        )
        await asyncio.sleep(backoff)
        with contextlib.suppress(Exception):
            await process.stop()
        await process.start()
        link.session.begin_reconcile("core restarted")
