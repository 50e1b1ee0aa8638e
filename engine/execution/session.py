"""LinkSession: the conversation with one core session.

Hello/Welcome at start, the heartbeat replies (a new session id or a report
the core counted but we never saw), replays of missing reports, and
reconciliation from a Snapshot: the link is CONNECTED again only once the
order gateway has adopted the core's open orders and positions.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from engine.core import topics
from engine.core.errors import LinkDown, OrderRejected
from engine.execution import protocol
from engine.model.commands import NewOrder
from engine.model.enums import LinkStatus, RiskEventKind
from engine.model.events import RiskEvent

if TYPE_CHECKING:
    import asyncio

    from engine.execution.link import CerebellumLink

log = logging.getLogger(__name__)


class LinkSession:
    """Handshake, replay and reconciliation for a CerebellumLink."""

    def __init__(self, link: CerebellumLink) -> None:
        self._link = link
        self._behind_heartbeats = 0
        self._replaying = False
        self._reconcile_task: asyncio.Task[None] | None = None

    # -- start -------------------------------------------------------------------
    async def handshake(self) -> None:
        link = self._link
        deadline = link.clock.monotonic_ns() + int(link.settings.startup_timeout_s * 1e9)
        while True:
            try:
                welcome = await link.request(protocol.encode_hello, timeout_ms=500)
                break
            except TimeoutError:
                if link.clock.monotonic_ns() > deadline:
                    raise LinkDown("cerebellum_core did not answer Hello") from None
        if not isinstance(welcome, protocol.Welcome):
            raise LinkDown(f"unexpected answer to Hello: {type(welcome).__name__}")
        self._adopt_welcome(welcome)
        await self._reconcile("initial snapshot")

    def _adopt_welcome(self, welcome: protocol.Welcome) -> None:
        link = self._link
        link.session_id = welcome.session_id
        link.venue = welcome.venue
        link.instruments = {i.symbol: i for i in welcome.instruments}
        link.trading_state = welcome.trading_state
        missing = sorted(set(link.config.universe.symbols) - set(link.instruments))
        if missing:
            log.error("the venue does not list configured symbols %s; they cannot trade", missing)

    # -- heartbeats and replays ---------------------------------------------------------
    def on_heartbeat(self, hb: protocol.HeartbeatReply) -> None:
        link = self._link
        link.trading_state = hb.trading_state
        if link.session_id is not None and hb.session_id != link.session_id:
            self.begin_reconcile(f"core session changed ({link.session_id} -> {hb.session_id})")
            return
        if link.status is LinkStatus.SILENT:
            link.set_status(LinkStatus.CONNECTED, "core answering again")
        # Heartbeats travel on their own socket, so a report may trail the heartbeat that
        # counts it: only a gap that persists across two heartbeats means a lost report.
        if link.sequence.behind(hb.last_seq) and link.sequence.missing_from is None:
            self._behind_heartbeats += 1
            if self._behind_heartbeats >= 2:
                self._behind_heartbeats = 0
                self.request_replay()
        else:
            self._behind_heartbeats = 0

    def request_replay(self) -> None:
        if self._replaying or self._link.stopped:
            return
        self._replaying = True
        self._link.supervisor.spawn("link:replay", self._replay())

    async def _replay(self) -> None:
        link = self._link
        try:
            from_seq = link.sequence.last_seq + 1
            log.warning("report gap: replaying from seq %d", from_seq)
            reply = await link.request(lambda rid: protocol.encode_replay(rid, from_seq))
            if isinstance(reply, protocol.Reject):
                self.begin_reconcile(f"replay unavailable ({reply.reason})")
        except (TimeoutError, LinkDown) as exc:
            log.warning("replay failed: %s", exc)
        finally:
            self._replaying = False

    async def recover_unknown_outcome(self, order: NewOrder) -> Any:
        """An order went unanswered: ask the core about it, resend only if it never saw it."""
        link = self._link
        log.warning("no answer for order %s; querying the core", order.client_order_id)
        try:
            state = await link.request(
                lambda rid: protocol.encode_query_order(rid, order.client_order_id)
            )
        except TimeoutError:
            raise LinkDown(
                f"outcome of order {order.client_order_id} unknown: core silent"
            ) from None
        if isinstance(state, protocol.OrderState) and state.known and state.order is not None:
            return protocol.Ack(
                v=1,
                req_id=state.req_id,
                last_seq=state.last_seq,
                client_order_id=order.client_order_id,
                venue_order_id=state.order.venue_order_id,
                status=state.order.status,
                duplicate=True,
            )
        # The core never saw it: the id is idempotent, so one resend is safe.
        try:
            return await link.request(lambda rid: protocol.encode_command(rid, order), True)
        except TimeoutError:
            raise LinkDown(f"order {order.client_order_id} not acknowledged") from None

    # -- reconciliation ------------------------------------------------------------------
    def begin_reconcile(self, why: str) -> None:
        if self._reconcile_task is not None and not self._reconcile_task.done():
            return
        self._link.set_status(LinkStatus.RECONCILING, why)
        self._reconcile_task = self._link.supervisor.spawn("link:reconcile", self._rehandshake(why))

    async def _rehandshake(self, why: str) -> None:
        link = self._link
        try:
            welcome = await link.request(protocol.encode_hello)
            if isinstance(welcome, protocol.Welcome):
                if welcome.session_id != link.session_id:
                    link.sequence.reset(0)
                self._adopt_welcome(welcome)
            await self._reconcile(why)
        except (TimeoutError, LinkDown, OrderRejected) as exc:
            log.warning("reconcile failed (%r); will retry", exc)
            link.set_status(LinkStatus.SILENT, f"reconcile failed: {exc}")

    async def _reconcile(self, why: str) -> None:
        link = self._link
        snap = await link.request_snapshot()
        link.sequence.reset(snap.last_seq)
        notes = link.on_snapshot(snap)
        link.trading_state = snap.trading_state
        message = (
            f"reconciled from snapshot ({why}): {len(snap.open_orders)} open orders, "
            f"{len(snap.positions)} positions"
        )
        if notes:
            message += "; " + "; ".join(notes[:10])
            log.warning("%s", message)
        link.bus.publish(
            topics.RISK_EVENT,
            RiskEvent(RiskEventKind.RECONCILED, message, link.clock.timestamp_ns()),
        )
        link.set_status(LinkStatus.CONNECTED, why)
