"""Wire protocol v1 (docs/protocol.md): encode commands, decode replies and reports.

Decoding is typed and validated by msgspec (field types, enums, required
fields, ``v``, and the ``type`` tag); anything malformed raises
``ProtocolError`` with msgspec's reason and JSON path, which the link logs and
counts, never crashes on. JSON cannot carry NaN or infinities, and msgspec
refuses out-of-range numbers, so every decoded number is finite.
"""

from __future__ import annotations

import math
from typing import Any, Final, Literal

import msgspec

from engine.model.commands import Cancel, CancelAll, Flatten, KillSwitch, NewOrder, Resume
from engine.model.enums import (
    OrderStatus,
    OrderType,
    RiskEventKind,
    Scope,
    Side,
    TradingState,
)
from engine.model.events import OrderUpdate, RiskEvent

VERSION: Final = 1
MAX_FRAME_BYTES: Final = 65_536


class ProtocolError(ValueError):
    """A frame that does not follow docs/protocol.md."""


class Wire(msgspec.Struct, frozen=True, tag_field="type"):
    """Base of every message read from the wire (unknown extra fields are ignored)."""

    v: Literal[1]


# -- replies -------------------------------------------------------------------


class Instrument(msgspec.Struct, frozen=True):
    symbol: str
    base: str
    quote: str
    tick_size: float
    lot_size: float
    min_qty: float


class TradingStates(msgspec.Struct, frozen=True):
    """Trading state per scope as Cerebellum reports it."""

    global_state: TradingState = msgspec.field(default=TradingState.ACTIVE, name="global")
    strategies: dict[str, TradingState] = msgspec.field(default_factory=dict)
    symbols: dict[str, TradingState] = msgspec.field(default_factory=dict)


class Welcome(Wire, frozen=True, tag="Welcome"):
    req_id: int
    session_id: str
    venue: str
    mode: str
    last_seq: int
    instruments: tuple[Instrument, ...]
    trading_state: TradingStates


class Ack(Wire, frozen=True, tag="Ack"):
    req_id: int
    last_seq: int
    client_order_id: str | None = None
    venue_order_id: str | None = None
    status: OrderStatus | None = None
    duplicate: bool = False
    canceled: int | None = None
    orders: int | None = None
    trading_state: TradingStates | None = None


class Reject(Wire, frozen=True, tag="Reject"):
    code: str
    reason: str
    req_id: int | None = None
    last_seq: int = 0
    client_order_id: str | None = None


class HeartbeatReply(Wire, frozen=True, tag="Heartbeat"):
    req_id: int
    last_seq: int
    session_id: str
    ts_init: int
    trading_state: TradingStates


class OrderSnapshot(msgspec.Struct, frozen=True):
    client_order_id: str
    strategy_id: str
    symbol: str
    side: Side
    order_type: OrderType
    qty: float
    cum_qty: float
    avg_price: float
    status: OrderStatus
    ts_event: int
    venue_order_id: str | None = None
    price: float | None = None


class PositionSnapshot(msgspec.Struct, frozen=True):
    strategy_id: str
    symbol: str
    qty: float
    avg_price: float
    realized_pnl: float
    fees: float


class Balance(msgspec.Struct, frozen=True):
    asset: str
    total: float


class SnapshotReport(Wire, frozen=True, tag="SnapshotReport"):
    req_id: int
    last_seq: int
    session_id: str
    ts_init: int
    trading_state: TradingStates
    open_orders: tuple[OrderSnapshot, ...]
    positions: tuple[PositionSnapshot, ...]
    balances: tuple[Balance, ...]
    mids: dict[str, float]

    def net_position(self, symbol: str) -> float:
        return sum(p.qty for p in self.positions if p.symbol == symbol)

    @property
    def is_flat(self) -> bool:
        return all(abs(p.qty) < 1e-12 for p in self.positions)


class OrderState(Wire, frozen=True, tag="OrderState"):
    req_id: int
    last_seq: int
    known: bool
    order: OrderSnapshot | None = None


class ReplayDone(Wire, frozen=True, tag="ReplayDone"):
    req_id: int
    from_seq: int
    to_seq: int
    last_seq: int


class BarsReport(Wire, frozen=True, tag="BarsReport"):
    """Closed bars, oldest first: ``[ts_ms, open, high, low, close, volume, trades]``."""

    req_id: int
    last_seq: int
    symbol: str
    timeframe: str
    bars: list[tuple[int, float, float, float, float, float, int | None]]


SideName = Literal["BUY", "SELL"]
SIDES = {m.value: m for m in Side}


class _OrderUpdateWire(OrderUpdate, frozen=True, kw_only=True, tag="OrderUpdate", tag_field="type"):
    """An OrderUpdate as it arrives: msgspec builds the engine's own type in C, no copy.

    The venue omits the ids and prices it does not know yet; the envelope's
    version is checked like every other message's.
    """

    v: Literal[1]
    venue_order_id: str | None = None
    price: float | None = None


class _RiskEventWire(Wire, frozen=True, tag="RiskEvent"):
    seq: int
    kind: RiskEventKind
    scope: Scope
    message: str
    ts_event: int
    target: str | None = None


Reply = (
    Welcome | Ack | Reject | HeartbeatReply | SnapshotReport | OrderState | ReplayDone | BarsReport
)
Report = OrderUpdate | RiskEvent


# -- encoding ------------------------------------------------------------------


def _envelope(kind: str, req_id: int, **fields: Any) -> bytes:
    return _ENCODER.encode({"v": VERSION, "type": kind, "req_id": req_id, **fields})


_ENCODER = msgspec.json.Encoder()


def encode_hello(req_id: int, client: str = "crucible-engine") -> bytes:
    return _envelope("Hello", req_id, client=client)


def encode_heartbeat(req_id: int, ts_init: int, loop_age_ms: float) -> bytes:
    return _envelope("Heartbeat", req_id, ts_init=ts_init, loop_age_ms=int(loop_age_ms))


def encode_snapshot(req_id: int) -> bytes:
    return _envelope("Snapshot", req_id)


def encode_query_order(req_id: int, client_order_id: str) -> bytes:
    return _envelope("QueryOrder", req_id, client_order_id=client_order_id)


def encode_bars(
    req_id: int, symbol: str, timeframe: str, limit: int, before_ms: int | None = None
) -> bytes:
    if before_ms is None:
        return _envelope("Bars", req_id, symbol=symbol, timeframe=timeframe, limit=limit)
    return _envelope(
        "Bars", req_id, symbol=symbol, timeframe=timeframe, limit=limit, before_ms=before_ms
    )


def encode_replay(req_id: int, from_seq: int) -> bytes:
    return _envelope("ReplayReports", req_id, from_seq=from_seq)


def encode_new_order(req_id: int, order: NewOrder) -> bytes:
    """Encode a NewOrder (the hot path): the struct's own fields are the wire's."""
    if not math.isfinite(order.qty) or (order.price is not None and not math.isfinite(order.price)):
        raise ProtocolError("order quantity and price must be finite")
    return b'{"v":1,"type":"NewOrder","req_id":%d,%s' % (req_id, _ENCODER.encode(order)[1:])


def encode_command(
    req_id: int, cmd: NewOrder | Cancel | CancelAll | Flatten | KillSwitch | Resume
) -> bytes:
    """Encode one engine command as a v1 frame."""
    match cmd:
        case NewOrder():
            return encode_new_order(req_id, cmd)
        case Cancel():
            return _envelope("Cancel", req_id, client_order_id=cmd.client_order_id)
        case CancelAll():
            return _envelope("CancelAll", req_id, strategy_id=cmd.strategy_id, symbol=cmd.symbol)
        case Flatten():
            return _envelope("Flatten", req_id, strategy_id=cmd.strategy_id, symbol=cmd.symbol)
        case KillSwitch():
            return _envelope(
                "KillSwitch",
                req_id,
                scope=cmd.scope.value,
                target=cmd.target,
                state=cmd.state.value,
                reason=cmd.reason,
            )
        case Resume():
            return _envelope("Resume", req_id, scope=cmd.scope.value, target=cmd.target)
    raise ProtocolError(f"unknown command {type(cmd).__name__}")


# -- decoding ------------------------------------------------------------------

_MESSAGE_DECODER: msgspec.json.Decoder[Reply | _OrderUpdateWire | _RiskEventWire] = (
    msgspec.json.Decoder(Reply | _OrderUpdateWire | _RiskEventWire)
)


def check_size(frame: bytes) -> None:
    if len(frame) > MAX_FRAME_BYTES:
        raise ProtocolError(f"frame of {len(frame)} bytes exceeds {MAX_FRAME_BYTES}")


def decode_message(frame: bytes) -> Reply | Report:
    """Decode one frame from the command socket into a typed reply or report."""
    check_size(frame)
    try:
        msg = _MESSAGE_DECODER.decode(frame)
    except msgspec.DecodeError as exc:
        raise ProtocolError(f"malformed frame: {exc}") from None
    return _risk_event(msg) if isinstance(msg, _RiskEventWire) else msg


def _risk_event(msg: _RiskEventWire) -> RiskEvent:
    return RiskEvent(
        kind=msg.kind,
        message=msg.message,
        ts_event=msg.ts_event,
        scope=msg.scope,
        target=msg.target,
        seq=msg.seq,
        source="cerebellum",
    )


_FRAME_DECODER: msgspec.json.Decoder[list[Reply | _OrderUpdateWire | _RiskEventWire]] = (
    msgspec.json.Decoder(list[Reply | _OrderUpdateWire | _RiskEventWire])
)


def decode_frame(frame: bytes) -> list[Reply | Report | ProtocolError]:
    """Decode a frame of envelopes (one per line) in order; a bad one becomes a ProtocolError.

    A well-formed frame is decoded in one call, as a JSON array (compact JSON has no
    raw newline, so the lines become its elements); a frame with a bad envelope, or
    larger than one envelope may be, is decoded line by line.
    """
    if b"\n" in frame and len(frame) <= MAX_FRAME_BYTES:
        try:
            msgs = _FRAME_DECODER.decode(b"[" + frame.replace(b"\n", b",") + b"]")
        except msgspec.DecodeError:
            pass
        else:
            return [_risk_event(m) if isinstance(m, _RiskEventWire) else m for m in msgs]
    out: list[Reply | Report | ProtocolError] = []
    for envelope in frame.split(b"\n"):
        try:
            out.append(decode_message(envelope))
        except ProtocolError as exc:
            out.append(exc)
    return out
