"""CommandChannel over a real ZeroMQ socket pair: frames of several envelopes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import zmq

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

    channel = CommandChannel(ctx, endpoint, loop, on_frames, None)
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
