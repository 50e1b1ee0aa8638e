"""CerebellumLink: the transport to cerebellum_core.

It starts (or attaches to) the core, says hello, sends commands and awaits
their Ack/Reject with a timeout, delivers the core's reports exactly once and
in order (gaps are replayed; see ``session.py``) to one report handler, the
order gateway, exchanges heartbeats on its own thread and goes fail-closed
when the core falls silent (``watchdog.py``). It knows nothing of strategies,
risk or positions: only ``engine.execution.gateway.OrderGateway`` may call the
methods that send commands (``TRANSPORT_SEND_METHODS``; a test enforces it).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from functools import partial
from typing import Any, Final

import zmq

from engine.config import CrucibleConfig
from engine.core import topics
from engine.core.bus import EventBus
from engine.core.busy_poll import BusyPollEventLoop
from engine.core.clock import Clock
from engine.core.errors import LinkDown, OrderRejected
from engine.core.tasks import TaskSupervisor
from engine.execution import protocol
from engine.execution.command_channel import CommandChannel, FrameBatch
from engine.execution.io_thread import LinkIo
from engine.execution.market_data_channel import MarketDataChannel
from engine.execution.process import CoreProcess
from engine.execution.recent_bars import read_recent_bars
from engine.execution.requests import PendingRequests
from engine.execution.sequencing import SequenceTracker
from engine.execution.session import LinkSession
from engine.execution.watchdog import LinkWatchdog
from engine.journal import Journal
from engine.marketdata.router import MarketDataRouter
from engine.model.commands import Cancel, CancelAll, Flatten, KillSwitch, NewOrder, Resume
from engine.model.enums import LinkStatus
from engine.model.events import LinkState, OrderUpdate, RiskEvent
from engine.model.market import Bar, BookSnapshot, Trade

log = logging.getLogger(__name__)

# The methods that put a command on the wire. Nothing outside engine/execution/ may call
# them (tests/invariants/test_dependency_direction.py): strategies, agents and the
# cockpit go through the OrderGateway, which runs the pre-trade checks first.
TRANSPORT_SEND_METHODS: Final = frozenset(
    {
        "send_order",
        "send_order_and_confirm",
        "send_cancel",
        "send_cancel_all",
        "send_flatten",
        "send_kill_switch",
        "send_resume",
    }
)

ReportHandler = Callable[[OrderUpdate], None]
SnapshotHandler = Callable[[protocol.SnapshotReport], list[str]]


class CerebellumLink:
    """Component: the transport to cerebellum_core (commands, reports, market data)."""

    name = "cerebellum-link"

    def __init__(
        self,
        config: CrucibleConfig,
        bus: EventBus,
        clock: Clock,
        supervisor: TaskSupervisor,
        journal: Journal | None = None,
        loop_age_ms: Callable[[], float] | None = None,
        market_data: MarketDataRouter | None = None,
    ) -> None:
        self.config = config
        self.settings = config.cerebellum
        self.bus = bus
        self.clock = clock
        self.supervisor = supervisor
        self.journal = journal
        self._loop_age_ms = loop_age_ms or (lambda: 0.0)
        self.market_data = market_data or MarketDataRouter(bus, clock, config.data)
        self.process: CoreProcess | None = None
        self._ctx: zmq.Context[Any] | None = None
        self.io: LinkIo | None = None
        self.channel: CommandChannel | None = None
        self._md_channel: MarketDataChannel | None = None
        self._req_ids = itertools.count(1)
        self.requests = PendingRequests(clock, self.settings.command_timeout_ms, self._req_ids)
        self.sequence: SequenceTracker[OrderUpdate | RiskEvent] = SequenceTracker()
        self.session = LinkSession(self)
        self._watchdog = LinkWatchdog(self)
        self._on_report: ReportHandler = lambda _u: None
        self.on_snapshot: SnapshotHandler = lambda _s: []
        self.status = LinkStatus.DISCONNECTED
        self.session_id: str | None = None
        self.venue: str | None = None
        self.instruments: dict[str, protocol.Instrument] = {}
        self.trading_state = protocol.TradingStates()
        self.protocol_errors = 0
        self.md_count = 0
        self.stopped = False

    def set_report_handler(self, on_report: ReportHandler, on_snapshot: SnapshotHandler) -> None:
        """Where ordered OrderUpdates go, and who adopts a Snapshot (the order gateway)."""
        self._on_report = on_report
        self.on_snapshot = on_snapshot

    # -- lifecycle -------------------------------------------------------------
    async def start(self) -> None:
        self.process = CoreProcess(self.config)
        if not self.settings.attach:
            await self.process.start()
        loop = asyncio.get_running_loop()
        self._ctx = zmq.Context()
        self.channel = CommandChannel(
            self._ctx,
            self.process.cmd_endpoint,
            loop,
            self._on_frames,
            self.journal.intent_log() if self.journal else None,
            self.clock,
        )
        self._md_channel = MarketDataChannel(
            self._ctx, self.process.md_endpoint, loop, self._on_market_data, self.clock
        )
        self.io = LinkIo(
            ctx=self._ctx,
            cmd_endpoint=self.process.cmd_endpoint,
            loop=loop,
            on_heartbeat=self.session.on_heartbeat,
            heartbeat_interval_s=self.settings.heartbeat_interval_ms / 1e3,
            loop_age_ms=lambda: self._loop_age_ms(),
            req_ids=self._req_ids,
            clock=self.clock,
        )
        self.io.start_and_wait()
        if isinstance(loop, BusyPollEventLoop):
            # A bound C method (no Python frame): the selector asks it on every poll.
            loop.set_busy_poll(self.requests.waiting.__len__, self.settings.busy_poll_us)
        self.set_status(LinkStatus.CONNECTING, "saying hello")
        await self.session.handshake()
        self.supervisor.spawn("link:monitor", self._watchdog.run())
        self.supervisor.spawn("link:book-age", self.market_data.watch_age())

    async def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        loop = asyncio.get_running_loop()
        if isinstance(loop, BusyPollEventLoop):
            loop.set_busy_poll(None, 0)
        self.requests.fail_all(LinkDown("link stopped"))
        if self.channel is not None:
            self.channel.close()
        if self._md_channel is not None:
            self._md_channel.close()
        if self.io is not None:
            await loop.run_in_executor(None, self.io.stop)
        if self._ctx is not None:
            self._ctx.term()
        if self.process is not None and not self.settings.detach_on_exit:
            await self.process.stop()
            self.process.cleanup()
        self.set_status(LinkStatus.DISCONNECTED, "stopped")

    # -- status ----------------------------------------------------------------
    @property
    def can_trade(self) -> bool:
        return self.status is LinkStatus.CONNECTED

    def set_status(self, status: LinkStatus, detail: str = "") -> None:
        changed = status is not self.status
        self.status = status
        if changed:
            log.info("link %s%s", status.value.lower(), f": {detail}" if detail else "")
        self.bus.publish(topics.LINK_STATE, self.link_state(detail))

    def link_state(self, detail: str = "") -> LinkState:
        io = self.io
        hb_age = None
        if io is not None and io.last_heartbeat_reply_ns:
            hb_age = (self.clock.monotonic_ns() - io.last_heartbeat_reply_ns) / 1e6
        return LinkState(
            status=self.status,
            ts_event=self.clock.timestamp_ns(),
            session_id=self.session_id,
            venue=self.venue,
            heartbeat_age_ms=hb_age,
            rtt_us=io.rtt_us if io else None,
            last_seq=self.sequence.last_seq,
            detail=detail,
        )

    # -- commands (the order gateway's; see TRANSPORT_SEND_METHODS) -------------------
    def send_order(self, order: NewOrder) -> asyncio.Future[Any]:
        """Send a new order now; the returned future resolves with its Ack or Reject.

        Raises LinkDown at once when the link is not CONNECTED; the future fails
        with TimeoutError if the core does not answer in time.
        """
        self.require_connected()
        return self.send_request(
            partial(protocol.encode_new_order, order=order), True, order_id=order.client_order_id
        )

    async def send_order_and_confirm(self, order: NewOrder) -> protocol.Ack:
        """Send a new order and await its Ack (raises OrderRejected / LinkDown).

        If no answer comes in time the link asks the core about that client order
        id instead of resending blindly; only a core that never saw it gets it again.
        """
        try:
            reply = await self.send_order(order)
        except TimeoutError:
            reply = await self.session.recover_unknown_outcome(order)
        return ack_or_raise(reply)

    async def send_cancel(self, client_order_id: str) -> protocol.Ack:
        return ack_or_raise(await self._command(Cancel(client_order_id)))

    async def send_cancel_all(
        self, strategy_id: str | None = None, symbol: str | None = None
    ) -> protocol.Ack:
        return ack_or_raise(await self._command(CancelAll(strategy_id, symbol)))

    async def send_flatten(
        self, strategy_id: str | None = None, symbol: str | None = None
    ) -> protocol.Ack:
        return ack_or_raise(await self._command(Flatten(strategy_id, symbol)))

    async def send_kill_switch(self, cmd: KillSwitch) -> protocol.Ack:
        """Halt (or reduce) trading in the core; allowed even when the link is not CONNECTED."""
        return ack_or_raise(await self._command(cmd, require_connected=False))

    async def send_resume(self, cmd: Resume) -> protocol.Ack:
        return ack_or_raise(await self._command(cmd))

    # -- reads -------------------------------------------------------------------
    async def fetch_recent_bars(
        self, symbol: str, timeframe: str = "1m", limit: int = 240
    ) -> list[Bar]:
        """The venue's latest closed bars of ``symbol``, oldest first (read in pages)."""
        return await read_recent_bars(self.request, symbol, timeframe, limit)

    async def request_snapshot(self) -> protocol.SnapshotReport:
        reply = await self.request(protocol.encode_snapshot)
        if not isinstance(reply, protocol.SnapshotReport):
            raise OrderRejected(
                "UNEXPECTED", f"expected SnapshotReport, got {type(reply).__name__}"
            )
        return reply

    # -- request plumbing --------------------------------------------------------------
    async def _command(
        self,
        cmd: Cancel | CancelAll | Flatten | KillSwitch | Resume,
        *,
        require_connected: bool = True,
    ) -> Any:
        if require_connected:
            self.require_connected()
        try:
            return await self.request(lambda rid: protocol.encode_command(rid, cmd))
        except TimeoutError:
            raise LinkDown(f"{type(cmd).__name__} not acknowledged in time") from None

    def require_connected(self) -> None:
        if self.channel is None or self.status is not LinkStatus.CONNECTED:
            raise LinkDown(f"executor link is {self.status.value}: no new orders (fail-closed)")

    def send_request(
        self,
        encode: Callable[[int], bytes],
        is_order: bool = False,
        timeout_ms: int | None = None,
        order_id: str | None = None,
    ) -> asyncio.Future[Any]:
        if self.channel is None:
            raise LinkDown("link not started")
        req_id, fut = self.requests.open(timeout_ms, order_id)
        # Alone in flight: send at once (latency); in a burst: one frame and one intent-log
        # write per 32 commands or per loop turn (see CommandChannel.send).
        self.channel.send(encode(req_id), is_order, batch=len(self.requests) > 1)
        return fut

    async def request(
        self,
        encode: Callable[[int], bytes],
        is_order: bool = False,
        timeout_ms: int | None = None,
    ) -> Any:
        """Send and await the reply (bounded here too: the monitor may not be running yet)."""
        timeout_s = (timeout_ms or self.settings.command_timeout_ms) / 1e3
        return await asyncio.wait_for(self.send_request(encode, is_order, timeout_ms), timeout_s)

    # -- incoming (engine loop) ---------------------------------------------------------
    def _on_frames(self, batch: FrameBatch) -> None:
        for msg in batch:
            if isinstance(msg, protocol.ProtocolError):
                self.protocol_errors += 1
                log.warning("malformed frame from cerebellum_core: %s", msg)
            elif isinstance(msg, OrderUpdate | RiskEvent):
                self._offer_report(msg)
            else:
                self.requests.resolve(msg)

    def _offer_report(self, report: OrderUpdate | RiskEvent) -> None:
        for ready in self.sequence.offer(report.seq, report):
            if isinstance(ready, RiskEvent):
                self.record_risk_event(ready)
            else:
                self._on_report(ready)
        if self.sequence.missing_from is not None:
            self.session.request_replay()

    def record_risk_event(self, event: RiskEvent) -> None:
        if self.journal is not None:
            self.journal.record_risk_event(event)
        self.bus.publish(topics.RISK_EVENT, event)

    def _on_market_data(self, batch: list[BookSnapshot | Trade]) -> None:
        self.md_count += len(batch)
        handle = self.market_data.handle
        for msg in batch:
            handle(msg)


def ack_or_raise(reply: Any) -> protocol.Ack:
    if isinstance(reply, protocol.Ack):
        return reply
    if isinstance(reply, protocol.Reject):
        raise OrderRejected(reply.code, reply.reason)
    raise OrderRejected("UNEXPECTED", f"unexpected reply {type(reply).__name__}")
