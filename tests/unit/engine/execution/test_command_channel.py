"""CommandChannel over a real ZeroMQ socket pair: frames of several envelopes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import zmq

from engine.core.clock import LiveClock
from engine.execution import protocol
from engine.execution.command_channel import CommandChannel, FrameBatch
from engine.model.enums import OrderStatus
from engine.model.events import OrderUpdate
from tests.unit.engine.execution.test_protocol import UPDATE


def _ack(req_id: int) -> dict[str, Any]:
    return {
        "v": 1,
        "type": "Ack",
        "req_id": req_id,
        "last_seq": 17,
        "client_order_id": "a1-000001",
        "venue_order_id": "S-42",
        "status": "NEW",
        "duplicate": False,
    }


async def test_a_frame_of_envelopes_arrives_as_one_batch_in_order(tmp_path: Path) -> None:
    """The core joins an Ack and its fills with newlines; a bad envelope spoils only itself."""
    ctx: zmq.Context[Any] = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    endpoint = f"ipc://{tmp_path}/cmd.sock"
    router.bind(endpoint)
    loop = asyncio.get_running_loop()
    batches: list[FrameBatch] = []
    got = asyncio.Event()

    def on_frames(batch: FrameBatch) -> None:
        batches.append(batch)
        got.set()

    channel = CommandChannel(ctx, endpoint, loop, on_frames, None, LiveClock())
    try:
        for _ in range(50):  # IMMEDIATE: nothing is queued until the connection is up
            channel.send(b'{"v":1,"type":"Hello","req_id":7}')
            if router.poll(100):
                break
        ident, _hello = router.recv_multipart(zmq.NOBLOCK)
        filled = {**UPDATE, "seq": 19, "status": "FILLED", "cum_qty": 0.01, "leaves_qty": 0.0}
        envelopes = [json.dumps(_ack(7)), json.dumps(UPDATE), "{not json", json.dumps(filled)]
        router.send_multipart([ident, "\n".join(envelopes).encode()])
        await asyncio.wait_for(got.wait(), 5)
    finally:
        channel.close()
        router.close(0)
        ctx.term()
    assert len(batches) == 1
    ack, partial, bad, fill = batches[0]
    assert isinstance(ack, protocol.Ack)
    assert ack.req_id == 7
    assert isinstance(partial, OrderUpdate)
    assert partial.seq == 18
    assert isinstance(bad, protocol.ProtocolError)
    assert isinstance(fill, OrderUpdate)
    assert fill.status is OrderStatus.FILLED
    assert channel.frames_received == 1


async def _burst_frames(tmp_path: Path, n: int, flush_at: int | None) -> list[bytes]:
    """Send ``n`` heartbeats in one loop turn; return the frames the core's side receives."""
    ctx: zmq.Context[Any] = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    endpoint = f"ipc://{tmp_path}/cmd-{n}.sock"
    router.bind(endpoint)
    channel = CommandChannel(
        ctx, endpoint, asyncio.get_running_loop(), lambda _b: None, None, LiveClock()
    )
    if flush_at is not None:
        channel.flush_at = flush_at
    try:
        for _ in range(50):
            channel.send(b'{"v":1,"type":"Hello","req_id":0}')
            if router.poll(100):
                break
        router.recv_multipart(zmq.NOBLOCK)
        for i in range(n):
            channel.send(b'{"v":1,"type":"Heartbeat","req_id":%d}' % (i + 1), batch=True)
        await asyncio.sleep(0.01)  # the end of the turn flushes the rest
        frames = []
        while router.poll(200):
            frames.append(router.recv_multipart(zmq.NOBLOCK)[1])
    finally:
        channel.close()
        router.close(0)
        ctx.term()
    req_ids = [json.loads(line)["req_id"] for f in frames for line in f.split(b"\n")]
    assert req_ids == list(range(1, n + 1))
    return frames


async def test_a_burst_of_commands_leaves_in_frames_of_lines(tmp_path: Path) -> None:
    """A burst leaves as frames of FLUSH_AT commands (the core starts on the first while
    the loop makes the next), the rest at the end of the turn; never above 256 a frame."""
    from engine.execution.command_channel import FLUSH_AT, MAX_ENVELOPES_PER_FRAME

    frames = await _burst_frames(tmp_path, 2 * FLUSH_AT + 5, None)
    assert [f.count(b"\n") + 1 for f in frames] == [FLUSH_AT, FLUSH_AT, 5]
    frames = await _burst_frames(tmp_path, MAX_ENVELOPES_PER_FRAME + 4, 100_000)
    assert [f.count(b"\n") + 1 for f in frames] == [MAX_ENVELOPES_PER_FRAME, 4]


async def test_a_message_of_trade_lines_arrives_as_trades_in_order(tmp_path: Path) -> None:
    """The core coalesces a symbol's trades of one turn into one PUB message."""
    from engine.execution.market_data_channel import MarketDataChannel
    from engine.model.market import Trade

    ctx: zmq.Context[Any] = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    endpoint = f"ipc://{tmp_path}/md.sock"
    pub.bind(endpoint)
    got: list[Any] = []
    arrived = asyncio.Event()

    def on_md(batch: list[Any]) -> None:
        got.extend(batch)
        arrived.set()

    channel = MarketDataChannel(ctx, endpoint, asyncio.get_running_loop(), on_md, LiveClock())

    def trade(seq: int) -> bytes:
        return json.dumps(
            {
                "v": 1,
                "type": "Trade",
                "symbol": "BTC/USDT",
                "seq": seq,
                "ts_event": 1_000 + seq,
                "price": 100.5,
                "qty": 0.002,
                "aggressor": "SELL",
                "trade_id": f"T{seq}",
            }
        ).encode()

    try:
        body = b"\n".join([trade(5), trade(6), b'{"v":1,"type":"Trade"}', trade(7)])
        for _ in range(50):  # a SUB misses what is published before its subscription lands
            pub.send_multipart([b"md.trade.BTC/USDT", body])
            try:
                await asyncio.wait_for(arrived.wait(), 0.1)
                break
            except TimeoutError:
                continue
    finally:
        channel.close()
        pub.close(0)
        ctx.term()
    first = got[:3]
    assert all(isinstance(t, Trade) for t in first)
    assert [(t.seq, t.trade_id) for t in first] == [(5, "T5"), (6, "T6"), (7, "T7")]
    assert channel.errors >= 1  # the bad line, and only it
