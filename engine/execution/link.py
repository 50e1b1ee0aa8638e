"""CerebellumLink: the engine's only path to the venue.

It starts (or attaches to) the core, sends commands and awaits their
Ack/Reject with a timeout, routes OrderUpdates to per-strategy callbacks and
the bus exactly once and in order (gaps are replayed), exchanges heartbeats,
and goes fail-closed when the core falls silent: no new orders until it
answers again and the engine has reconciled from a Snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import sqlite3
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import zmq

from engine.config import CrucibleConfig
from engine.core import topics
from engine.core.bus import EventBus
from engine.core.busy_poll import BusyPollEventLoop
from engine.core.clock import Clock
from engine.core.errors import LinkDown, OperationalError, OrderRejected
from engine.core.tasks import TaskSupervisor
from engine.execution import protocol
from engine.execution.command_channel import CommandChannel, FrameBatch
from engine.execution.io_thread import LinkIo
from engine.execution.market_data_channel import MarketDataChannel
from engine.execution.order_tracker import OrderTracker
from engine.execution.process import CoreProcess
from engine.execution.sequencing import SequenceTracker
from engine.journal import Journal
from engine.journal.order_journal import OrderJournal
from engine.marketdata.router import MarketDataRouter
from engine.model.commands import Cancel, CancelAll, Flatten, KillSwitch, NewOrder, Resume
from engine.model.enums import LinkStatus, OrderStatus, RiskEventKind
from engine.model.events import Fill, LinkState, OrderUpdate, RiskEvent
from engine.model.market import Bar, BookSnapshot, Trade
from engine.model.orders import OrderView

log = logging.getLogger(__name__)

StrategyCallback = Callable[[OrderUpdate, Fill | None], None]


class CerebellumLink:
    """Component: the link to cerebellum_core (commands, reports, market data)."""

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
        self._config = config
        self._cfg = config.cerebellum
        self._bus = bus
        self._clock = clock
        self._supervisor = supervisor
        self._journal = journal
        self._loop_age_ms = loop_age_ms or (lambda: 0.0)
        self.market_data = market_data or MarketDataRouter(bus, clock, config.data)
        self.process: CoreProcess | None = None
        self._ctx: zmq.Context[Any] | None = None
        self._io: LinkIo | None = None
        self._channel: CommandChannel | None = None
        self._order_journal: OrderJournal | None = None
        self._journal_flush: asyncio.TimerHandle | None = None
        self._md_channel: MarketDataChannel | None = None
        self._behind_heartbeats = 0
        self._req_ids = itertools.count(1)
        # req_id -> (reply future, monotonic deadline in ns); expired by the monitor.
        self._pending: dict[int, tuple[asyncio.Future[Any], int]] = {}
        self._callbacks: dict[str, StrategyCallback] = {}
        self._strategy_topics: dict[str, tuple[str, str]] = {}
        self.orders = OrderTracker()
        self.sequence: SequenceTracker[OrderUpdate | RiskEvent] = SequenceTracker()
        self.status = LinkStatus.DISCONNECTED
        self.session_id: str | None = None
        self.venue: str | None = None
        self.instruments: dict[str, protocol.Instrument] = {}
        self.trading_state = protocol.TradingStates()
        self.protocol_errors = 0
        self.md_count = 0
        self._replaying = False
        self._reconcile_task: asyncio.Task[None] | None = None
        self._stopped = False

    # -- lifecycle -------------------------------------------------------------
    async def start(self) -> None:
        self.process = CoreProcess(self._config)
        if not self._cfg.attach:
            await self.process.start()
        loop = asyncio.get_running_loop()
        self._ctx = zmq.Context()
        self._order_journal = self._journal.order_journal() if self._journal else None
        self._channel = CommandChannel(
            self._ctx,
            self.process.cmd_endpoint,
            loop,
            self._on_frames,
            self._journal.intent_log() if self._journal else None,
        )
        self._md_channel = MarketDataChannel(
            self._ctx, self.process.md_endpoint, loop, self._on_market_data
        )
        self._io = LinkIo(
            ctx=self._ctx,
            cmd_endpoint=self.process.cmd_endpoint,
            loop=loop,
            on_heartbeat=self._on_heartbeat,
            heartbeat_interval_s=self._cfg.heartbeat_interval_ms / 1e3,
            loop_age_ms=lambda: self._loop_age_ms(),
            req_ids=self._req_ids,
        )
        self._io.start_and_wait()
        if isinstance(loop, BusyPollEventLoop):
            loop.set_busy_poll(lambda: bool(self._pending), self._cfg.busy_poll_us)
        self._set_status(LinkStatus.CONNECTING, "saying hello")
        await self._handshake()
        self._supervisor.spawn("link:monitor", self._monitor())
        self._supervisor.spawn("link:book-age", self.market_data.watch_age())

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        loop = asyncio.get_running_loop()
        if isinstance(loop, BusyPollEventLoop):
            loop.set_busy_poll(None, 0)
        for fut, _ in self._pending.values():
            if not fut.done():
                fut.set_exception(LinkDown("link stopped"))
        self._pending.clear()
        if self._journal_flush is not None:
            self._journal_flush.cancel()
        self._flush_journal(everything=True)
        journal, self._order_journal = self._order_journal, None  # reports from now on: not staged
        if journal is not None:
            # Waits for the journal process to commit its last batches: not on the loop.
            await asyncio.get_running_loop().run_in_executor(None, journal.close)
        if self._channel is not None:
            self._channel.close()
        if self._md_channel is not None:
            self._md_channel.close()
        if self._io is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._io.stop)
        if self._ctx is not None:
            self._ctx.term()
        if self.process is not None and not self._cfg.detach_on_exit:
            await self.process.stop()
            self.process.cleanup()
        self._set_status(LinkStatus.DISCONNECTED, "stopped")

    # -- status ----------------------------------------------------------------
    @property
    def can_trade(self) -> bool:
        return self.status is LinkStatus.CONNECTED

    def _set_status(self, status: LinkStatus, detail: str = "") -> None:
        changed = status is not self.status
        self.status = status
        if changed:
            log.info("link %s%s", status.value.lower(), f": {detail}" if detail else "")
        self._bus.publish(topics.LINK_STATE, self.link_state(detail))

    def link_state(self, detail: str = "") -> LinkState:
        io = self._io
        hb_age = None
        if io is not None and io.last_heartbeat_reply_ns:
            hb_age = (time.monotonic_ns() - io.last_heartbeat_reply_ns) / 1e6
        return LinkState(
            status=self.status,
            ts_event=self._clock.timestamp_ns(),
            session_id=self.session_id,
            venue=self.venue,
            heartbeat_age_ms=hb_age,
            rtt_us=io.rtt_us if io else None,
            last_seq=self.sequence.last_seq,
            detail=detail,
        )

    # -- routing registration ----------------------------------------------------
    def register_strategy(self, strategy_id: str, callback: StrategyCallback) -> None:
        """Route this strategy's OrderUpdates (and their fills) to ``callback``."""
        self._callbacks[strategy_id] = callback

    def unregister_strategy(self, strategy_id: str) -> None:
        self._callbacks.pop(strategy_id, None)

    # -- commands -----------------------------------------------------------------
    async def submit(self, order: NewOrder) -> protocol.Ack:
        """Send a new order; return its Ack or raise OrderRejected / LinkDown.

        The order's intent is journaled before it leaves. If no answer comes in
        time the link asks the core about that client order id instead of
        resending blindly; only a core that never saw it gets it again.
        """
        try:
            reply = await self.submit_nowait(order)
        except TimeoutError:
            reply = await self._recover_unknown_outcome(order)
        return self._ack_or_raise(reply)

    def submit_nowait(self, order: NewOrder) -> asyncio.Future[Any]:
        """Send a new order now; the returned future resolves with its Ack or Reject.

        For callers that keep many orders in flight (their fills arrive through the
        strategy callback). Raises LinkDown at once when the link is not CONNECTED;
        the future fails with TimeoutError if the core does not answer in time.
        """
        self._require_link()
        self.orders.on_submitted(
            OrderView(
                order.client_order_id,
                order.strategy_id,
                order.symbol,
                order.side,
                order.order_type,
                order.qty,
                order.price,
                OrderStatus.PENDING_NEW,
            )
        )
        if self._order_journal is not None:
            self._order_journal.stage_intent(order, self._clock.timestamp_ns(), time.monotonic_ns())
            self._schedule_journal()
        return self._send_request(partial(protocol.encode_new_order, order=order), True)

    async def _recover_unknown_outcome(self, order: NewOrder) -> Any:
        log.warning("no answer for order %s; querying the core", order.client_order_id)
        try:
            state = await self._request(
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
            return await self._request(lambda rid: protocol.encode_command(rid, order), True)
        except TimeoutError:
            raise LinkDown(f"order {order.client_order_id} not acknowledged") from None

    async def cancel(self, client_order_id: str) -> protocol.Ack:
        return self._ack_or_raise(await self._command(Cancel(client_order_id)))

    async def cancel_all(
        self, strategy_id: str | None = None, symbol: str | None = None
    ) -> protocol.Ack:
        return self._ack_or_raise(await self._command(CancelAll(strategy_id, symbol)))

    async def flatten(
        self, strategy_id: str | None = None, symbol: str | None = None
    ) -> protocol.Ack:
        return self._ack_or_raise(await self._command(Flatten(strategy_id, symbol)))

    async def kill_switch(self, cmd: KillSwitch) -> protocol.Ack:
        """Halt (or reduce) trading in the core; allowed even when the link is not CONNECTED."""
        return self._ack_or_raise(await self._command(cmd, require_connected=False))

    async def resume(self, cmd: Resume) -> protocol.Ack:
        return self._ack_or_raise(await self._command(cmd))

    async def recent_bars(self, symbol: str, timeframe: str = "1m", limit: int = 240) -> list[Bar]:
        """The venue's latest closed bars of ``symbol``, oldest first (for warming signals up)."""
        reply = await self._request(lambda rid: protocol.encode_bars(rid, symbol, timeframe, limit))
        if isinstance(reply, protocol.Reject):
            raise OrderRejected(reply.code, reply.reason)
        if not isinstance(reply, protocol.BarsReport):
            raise OrderRejected("UNEXPECTED", f"expected BarsReport, got {type(reply).__name__}")
        return [
            Bar(symbol, reply.timeframe, ts_ms * 1_000_000, o, h, lo, c, v, trades or 0, True)
            for ts_ms, o, h, lo, c, v, trades in reply.bars
        ]

    async def snapshot(self) -> protocol.SnapshotReport:
        reply = await self._request(protocol.encode_snapshot)
        if not isinstance(reply, protocol.SnapshotReport):
            raise OrderRejected(
                "UNEXPECTED", f"expected SnapshotReport, got {type(reply).__name__}"
            )
        return reply

    async def _command(
        self,
        cmd: Cancel | CancelAll | Flatten | KillSwitch | Resume,
        *,
        require_connected: bool = True,
    ) -> Any:
        if require_connected:
            self._require_link()
        try:
            return await self._request(lambda rid: protocol.encode_command(rid, cmd))
        except TimeoutError:
            raise LinkDown(f"{type(cmd).__name__} not acknowledged in time") from None

    def _require_link(self) -> None:
        if self._channel is None or self.status is not LinkStatus.CONNECTED:
            raise LinkDown(f"executor link is {self.status.value}: no new orders (fail-closed)")

    @staticmethod
    def _ack_or_raise(reply: Any) -> protocol.Ack:
        if isinstance(reply, protocol.Ack):
            return reply
        if isinstance(reply, protocol.Reject):
            raise OrderRejected(reply.code, reply.reason)
        raise OrderRejected("UNEXPECTED", f"unexpected reply {type(reply).__name__}")

    def _send_request(
        self,
        encode: Callable[[int], bytes],
        is_order: bool = False,
        timeout_ms: int | None = None,
    ) -> asyncio.Future[Any]:
        if self._channel is None:
            raise LinkDown("link not started")
        req_id = next(self._req_ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        deadline = time.monotonic_ns() + (timeout_ms or self._cfg.command_timeout_ms) * 1_000_000
        self._pending[req_id] = (fut, deadline)
        # Alone in flight: send at once (latency); in a burst: one frame and one intent-log
        # write per 32 commands or per loop turn (see CommandChannel.send).
        self._channel.send(encode(req_id), is_order, batch=len(self._pending) > 1)
        return fut

    async def _request(
        self,
        encode: Callable[[int], bytes],
        is_order: bool = False,
        timeout_ms: int | None = None,
    ) -> Any:
        """Send and await the reply (bounded here too: the monitor may not be running yet)."""
        timeout_s = (timeout_ms or self._cfg.command_timeout_ms) / 1e3
        return await asyncio.wait_for(self._send_request(encode, is_order, timeout_ms), timeout_s)

    def _expire_requests(self, now_ns: int) -> None:
        """Fail the requests whose answer is overdue (checked by the monitor, 10 times a second)."""
        expired = [rid for rid, (_, deadline) in self._pending.items() if deadline <= now_ns]
        for rid in expired:
            fut, _ = self._pending.pop(rid)
            if not fut.done():
                fut.set_exception(TimeoutError(f"no answer to request {rid}"))

    # -- incoming (engine loop) ---------------------------------------------------------
    def _on_frames(self, batch: FrameBatch) -> None:
        for msg in batch:
            if isinstance(msg, protocol.ProtocolError):
                self.protocol_errors += 1
                log.warning("malformed frame from cerebellum_core: %s", msg)
            elif isinstance(msg, OrderUpdate | RiskEvent):
                self._offer_report(msg)
            else:
                self._resolve(msg)

    def _resolve(self, msg: Any) -> None:
        req_id = getattr(msg, "req_id", None)
        entry = self._pending.pop(req_id, None) if req_id is not None else None
        if entry is not None and not entry[0].done():
            entry[0].set_result(msg)
        elif isinstance(msg, protocol.Reject):
            log.warning("cerebellum_core rejected a frame: %s %s", msg.code, msg.reason)

    def _offer_report(self, report: OrderUpdate | RiskEvent) -> None:
        for ready in self.sequence.offer(report.seq, report):
            self._apply_report(ready)
        if self.sequence.missing_from is not None:
            self._request_replay()

    def _apply_report(self, report: OrderUpdate | RiskEvent) -> None:
        if isinstance(report, RiskEvent):
            if self._journal is not None:
                self._journal.record_risk_event(report)
            self._bus.publish(topics.RISK_EVENT, report)
            return
        fill = self.orders.on_update(report)
        if self._order_journal is not None:
            self._order_journal.stage_update(report)
            self._schedule_journal()
        # The strategy that owns the order hears first; bus subscribers are woken after it.
        callback = self._callbacks.get(report.strategy_id)
        if callback is not None:
            try:
                callback(report, fill)
            except Exception:
                log.exception("order callback of %s failed", report.strategy_id)
        order_topic, fill_topic = self._topics_of(report.strategy_id)
        self._bus.publish(order_topic, report)
        if fill is not None:
            self._bus.publish(fill_topic, fill)

    def _topics_of(self, strategy_id: str) -> tuple[str, str]:
        """A strategy's order and fill topics (built once: this is the report path)."""
        pair = self._strategy_topics.get(strategy_id)
        if pair is None:
            pair = (topics.exec_order(strategy_id), topics.exec_fill(strategy_id))
            self._strategy_topics[strategy_id] = pair
        return pair

    def _schedule_journal(self, delay_s: float = 0.002) -> None:
        # A moment later, in one transaction: whoever awaits the report runs (and sends) first.
        if self._journal_flush is None:
            self._journal_flush = asyncio.get_running_loop().call_later(
                delay_s, self._flush_journal
            )

    def _flush_journal(self, *, everything: bool = False) -> None:
        self._journal_flush = None
        journal = self._order_journal
        if journal is None:
            return
        try:
            journal.flush(time.monotonic_ns(), everything=everything)
        except sqlite3.Error:
            log.exception("could not journal a batch of orders and reports")
        if journal.held and not everything:
            self._schedule_journal(0.05)  # unanswered intents: written once held too long

    def _on_heartbeat(self, hb: protocol.HeartbeatReply) -> None:
        self.trading_state = hb.trading_state
        if self.session_id is not None and hb.session_id != self.session_id:
            self._begin_reconcile(f"core session changed ({self.session_id} -> {hb.session_id})")
            return
        if self.status is LinkStatus.SILENT:
            self._set_status(LinkStatus.CONNECTED, "core answering again")
        # Heartbeats travel on their own socket, so a report may trail the heartbeat that
        # counts it: only a gap that persists across two heartbeats means a lost report.
        if self.sequence.behind(hb.last_seq) and self.sequence.missing_from is None:
            self._behind_heartbeats += 1
            if self._behind_heartbeats >= 2:
                self._behind_heartbeats = 0
                self._request_replay()
        else:
            self._behind_heartbeats = 0

    def _request_replay(self) -> None:
        if self._replaying or self._stopped:
            return
        self._replaying = True
        self._supervisor.spawn("link:replay", self._replay())

    async def _replay(self) -> None:
        try:
            from_seq = self.sequence.last_seq + 1
            log.warning("report gap: replaying from seq %d", from_seq)
            reply = await self._request(lambda rid: protocol.encode_replay(rid, from_seq))
            if isinstance(reply, protocol.Reject):
                self._begin_reconcile(f"replay unavailable ({reply.reason})")
        except (TimeoutError, LinkDown) as exc:
            log.warning("replay failed: %s", exc)
        finally:
            self._replaying = False

    def _on_market_data(self, batch: list[BookSnapshot | Trade]) -> None:
        self.md_count += len(batch)
        handle = self.market_data.handle
        for msg in batch:
            handle(msg)

    # -- handshake, reconcile, monitor -------------------------------------------------
    async def _handshake(self) -> None:
        deadline = time.monotonic() + self._cfg.startup_timeout_s
        while True:
            try:
                welcome = await self._request(protocol.encode_hello, timeout_ms=500)
                break
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise LinkDown("cerebellum_core did not answer Hello") from None
        if not isinstance(welcome, protocol.Welcome):
            raise LinkDown(f"unexpected answer to Hello: {type(welcome).__name__}")
        self._adopt_welcome(welcome)
        await self._reconcile("initial snapshot")

    def _adopt_welcome(self, welcome: protocol.Welcome) -> None:
        self.session_id = welcome.session_id
        self.venue = welcome.venue
        self.instruments = {i.symbol: i for i in welcome.instruments}
        self.trading_state = welcome.trading_state
        missing = sorted(set(self._config.universe.symbols) - set(self.instruments))
        if missing:
            log.error("the venue does not list configured symbols %s; they cannot trade", missing)

    def _begin_reconcile(self, why: str) -> None:
        if self._reconcile_task is not None and not self._reconcile_task.done():
            return
        self._set_status(LinkStatus.RECONCILING, why)
        self._reconcile_task = self._supervisor.spawn("link:reconcile", self._rehandshake(why))

    async def _rehandshake(self, why: str) -> None:
        try:
            welcome = await self._request(protocol.encode_hello)
            if isinstance(welcome, protocol.Welcome):
                if welcome.session_id != self.session_id:
                    self.sequence.reset(0)
                self._adopt_welcome(welcome)
            await self._reconcile(why)
        except (TimeoutError, LinkDown, OrderRejected) as exc:
            log.warning("reconcile failed (%r); will retry", exc)
            self._set_status(LinkStatus.SILENT, f"reconcile failed: {exc}")

    async def _reconcile(self, why: str) -> None:
        snap = await self.snapshot()
        self.sequence.reset(snap.last_seq)
        notes = self.orders.reconcile(snap)
        self.trading_state = snap.trading_state
        message = (
            f"reconciled from snapshot ({why}): {len(snap.open_orders)} open orders, "
            f"{len(snap.positions)} positions"
        )
        if notes:
            message += "; " + "; ".join(notes[:10])
            log.warning("%s", message)
        self._bus.publish(
            topics.RISK_EVENT,
            RiskEvent(RiskEventKind.RECONCILED, message, self._clock.timestamp_ns()),
        )
        self._set_status(LinkStatus.CONNECTED, why)

    async def _monitor(self) -> None:
        silence_ns = self._cfg.silence_timeout_ms * 1_000_000
        backoff = self._cfg.reconnect_backoff_s
        last_state_publish = 0.0
        while not self._stopped:
            await asyncio.sleep(0.1)
            io = self._io
            if io is None or self._stopped:
                continue
            if io.errors:
                raise RuntimeError(f"link I/O thread died: {io.errors[-1]}")
            now = time.monotonic_ns()
            self._expire_requests(now)
            last_rx = io.last_heartbeat_reply_ns
            if self._channel is not None:
                last_rx = max(last_rx, self._channel.last_rx_ns)
            silent = now - last_rx > silence_ns
            if silent and self.status in (LinkStatus.CONNECTED, LinkStatus.RECONCILING):
                self._go_silent()
            if self.process is not None and not self._cfg.attach and not self.process.running:
                try:
                    await self._restart_core(backoff)
                    backoff = self._cfg.reconnect_backoff_s
                except OperationalError as exc:
                    log.error("could not restart cerebellum_core: %s", exc)
                    backoff = min(backoff * 2, 30.0)
            elif self.status is LinkStatus.SILENT and not silent:
                self._begin_reconcile("core answering again")
            if time.monotonic() - last_state_publish > 1.0:
                last_state_publish = time.monotonic()
                self._bus.publish(topics.LINK_STATE, self.link_state())

    def _go_silent(self) -> None:
        msg = f"no answer from cerebellum_core for > {self._cfg.silence_timeout_ms} ms: fail-closed"
        self._set_status(LinkStatus.SILENT, msg)
        self.market_data.mark_all_stale("executor silent")
        event = RiskEvent(RiskEventKind.LINK_DOWN, msg, self._clock.timestamp_ns())
        if self._journal is not None:
            self._journal.record_risk_event(event)
        self._bus.publish(topics.RISK_EVENT, event)

    async def _restart_core(self, backoff: float) -> None:
        assert self.process is not None
        if self.status is not LinkStatus.SILENT:
            self._go_silent()
        code = self.process.returncode
        log.error("cerebellum_core exited (code %s); restarting in %.1f s", code, backoff)
        await asyncio.sleep(backoff)
        with contextlib.suppress(Exception):
            await self.process.stop()
        await self.process.start()
        self._begin_reconcile("core restarted")
