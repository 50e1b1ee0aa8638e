"""Wire protocol v1 (docs/protocol.md): encode commands, decode replies and reports.

Decoding validates every field it reads; anything malformed raises
``ProtocolError`` with a reason, which the link logs and counts, never crashes on.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from engine.model.commands import Cancel, CancelAll, Flatten, KillSwitch, NewOrder, Resume
from engine.model.enums import (
    Liquidity,
    OrderStatus,
    OrderType,
    RiskEventKind,
    Scope,
    Side,
    TradingState,
)
from engine.model.events import OrderUpdate, RiskEvent
from engine.model.market import BookSnapshot, Trade, levels_array

VERSION: Final = 1
MAX_FRAME_BYTES: Final = 65_536


class ProtocolError(ValueError):
    """A frame that does not follow docs/protocol.md."""


# -- replies -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Instrument:
    symbol: str
    base: str
    quote: str
    tick_size: float
    lot_size: float
    min_qty: float


@dataclass(frozen=True, slots=True)
class TradingStates:
    """Trading state per scope as Cerebellum reports it."""

    global_state: TradingState = TradingState.ACTIVE
    strategies: dict[str, TradingState] = field(default_factory=dict)
    symbols: dict[str, TradingState] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Welcome:
    req_id: int
    session_id: str
    venue: str
    mode: str
    last_seq: int
    instruments: tuple[Instrument, ...]
    trading_state: TradingStates


@dataclass(frozen=True, slots=True)
class Ack:
    req_id: int
    last_seq: int
    client_order_id: str | None = None
    venue_order_id: str | None = None
    status: OrderStatus | None = None
    duplicate: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Reject:
    req_id: int | None
    last_seq: int
    code: str
    reason: str
    client_order_id: str | None = None


@dataclass(frozen=True, slots=True)
class HeartbeatReply:
    req_id: int
    last_seq: int
    session_id: str
    ts_init: int
    trading_state: TradingStates


@dataclass(frozen=True, slots=True)
class OrderSnapshot:
    client_order_id: str
    venue_order_id: str | None
    strategy_id: str
    symbol: str
    side: Side
    order_type: OrderType
    price: float | None
    qty: float
    cum_qty: float
    avg_price: float
    status: OrderStatus
    ts_event: int


@dataclass(frozen=True, slots=True)
class PositionSnapshot:
    strategy_id: str
    symbol: str
    qty: float
    avg_price: float
    realized_pnl: float
    fees: float


@dataclass(frozen=True, slots=True)
class SnapshotReport:
    req_id: int
    last_seq: int
    session_id: str
    ts_init: int
    trading_state: TradingStates
    open_orders: tuple[OrderSnapshot, ...]
    positions: tuple[PositionSnapshot, ...]
    balances: dict[str, float]
    mids: dict[str, float]

    def net_position(self, symbol: str) -> float:
        return sum(p.qty for p in self.positions if p.symbol == symbol)

    @property
    def is_flat(self) -> bool:
        return all(abs(p.qty) < 1e-12 for p in self.positions)


@dataclass(frozen=True, slots=True)
class OrderState:
    req_id: int
    last_seq: int
    known: bool
    order: OrderSnapshot | None


@dataclass(frozen=True, slots=True)
class ReplayDone:
    req_id: int
    from_seq: int
    to_seq: int
    last_seq: int


Reply = Welcome | Ack | Reject | HeartbeatReply | SnapshotReport | OrderState | ReplayDone
Report = OrderUpdate | RiskEvent


# -- encoding ------------------------------------------------------------------


def _envelope(kind: str, req_id: int, **fields: Any) -> bytes:
    body = {"v": VERSION, "type": kind, "req_id": req_id, **fields}
    return json.dumps(body, separators=(",", ":"), allow_nan=False).encode()


def encode_hello(req_id: int, client: str = "crucible-engine") -> bytes:
    return _envelope("Hello", req_id, client=client)


def encode_heartbeat(req_id: int, ts_init: int, loop_age_ms: float) -> bytes:
    return _envelope("Heartbeat", req_id, ts_init=ts_init, loop_age_ms=int(loop_age_ms))


def encode_snapshot(req_id: int) -> bytes:
    return _envelope("Snapshot", req_id)


def encode_query_order(req_id: int, client_order_id: str) -> bytes:
    return _envelope("QueryOrder", req_id, client_order_id=client_order_id)


def encode_replay(req_id: int, from_seq: int) -> bytes:
    return _envelope("ReplayReports", req_id, from_seq=from_seq)


def encode_command(
    req_id: int, cmd: NewOrder | Cancel | CancelAll | Flatten | KillSwitch | Resume
) -> bytes:
    """Encode one engine command as a v1 frame."""
    match cmd:
        case NewOrder():
            if not math.isfinite(cmd.qty) or (
                cmd.price is not None and not math.isfinite(cmd.price)
            ):
                raise ProtocolError("order quantity and price must be finite")
            return _envelope(
                "NewOrder",
                req_id,
                client_order_id=cmd.client_order_id,
                strategy_id=cmd.strategy_id,
                symbol=cmd.symbol,
                side=cmd.side.value,
                order_type=cmd.order_type.value,
                price=cmd.price,
                qty=cmd.qty,
                time_in_force=cmd.time_in_force.value,
                post_only=cmd.post_only,
                reduce_only=cmd.reduce_only,
            )
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


class _Fields:
    """Typed access to a decoded JSON object; every failure is a ProtocolError."""

    __slots__ = ("_d", "_kind")

    def __init__(self, d: dict[str, Any], kind: str) -> None:
        self._d = d
        self._kind = kind

    def _get(self, key: str) -> Any:
        try:
            return self._d[key]
        except KeyError:
            raise ProtocolError(f"{self._kind}: missing field {key!r}") from None

    def text(self, key: str) -> str:
        v = self._get(key)
        if not isinstance(v, str):
            raise ProtocolError(f"{self._kind}.{key}: expected string, got {v!r}")
        return v

    def opt_text(self, key: str) -> str | None:
        v = self._d.get(key)
        if v is None:
            return None
        if not isinstance(v, str):
            raise ProtocolError(f"{self._kind}.{key}: expected string, got {v!r}")
        return v

    def integer(self, key: str) -> int:
        v = self._get(key)
        if isinstance(v, bool) or not isinstance(v, int):
            raise ProtocolError(f"{self._kind}.{key}: expected integer, got {v!r}")
        return v

    def opt_integer(self, key: str) -> int | None:
        return None if self._d.get(key) is None else self.integer(key)

    def number(self, key: str) -> float:
        v = self._get(key)
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ProtocolError(f"{self._kind}.{key}: expected a finite number, got {v!r}")
        return float(v)

    def opt_number(self, key: str) -> float | None:
        return None if self._d.get(key) is None else self.number(key)

    def flag(self, key: str, default: bool = False) -> bool:
        v = self._d.get(key, default)
        if not isinstance(v, bool):
            raise ProtocolError(f"{self._kind}.{key}: expected boolean, got {v!r}")
        return v

    def array(self, key: str) -> list[Any]:
        v = self._get(key)
        if not isinstance(v, list):
            raise ProtocolError(f"{self._kind}.{key}: expected list")
        return v

    def obj(self, key: str) -> dict[str, Any]:
        v = self._get(key)
        if not isinstance(v, dict):
            raise ProtocolError(f"{self._kind}.{key}: expected object")
        return v

    def enum(self, key: str, enum: Any) -> Any:
        raw = self.text(key)
        try:
            return enum(raw)
        except ValueError:
            raise ProtocolError(f"{self._kind}.{key}: unknown value {raw!r}") from None

    def opt_enum(self, key: str, enum: Any) -> Any:
        return None if self._d.get(key) is None else self.enum(key, enum)


def parse_frame(frame: bytes) -> dict[str, Any]:
    """Bytes -> JSON object with a supported version; raises ProtocolError."""
    if len(frame) > MAX_FRAME_BYTES:
        raise ProtocolError(f"frame of {len(frame)} bytes exceeds {MAX_FRAME_BYTES}")
    try:
        obj = json.loads(frame)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"malformed JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ProtocolError("frame is not a JSON object")
    if obj.get("v") != VERSION:
        raise ProtocolError(f"unsupported protocol version {obj.get('v')!r}")
    if not isinstance(obj.get("type"), str):
        raise ProtocolError("frame has no type")
    return obj


def _trading_states(d: dict[str, Any]) -> TradingStates:
    f = _Fields(d, "trading_state")

    def states(key: str) -> dict[str, TradingState]:
        raw = d.get(key) or {}
        if not isinstance(raw, dict):
            raise ProtocolError(f"trading_state.{key}: expected object")
        try:
            return {str(k): TradingState(v) for k, v in raw.items()}
        except ValueError as exc:
            raise ProtocolError(f"trading_state.{key}: {exc}") from None

    return TradingStates(f.enum("global", TradingState), states("strategies"), states("symbols"))


def _order_snapshot(d: Any) -> OrderSnapshot:
    if not isinstance(d, dict):
        raise ProtocolError("order: expected object")
    f = _Fields(d, "order")
    return OrderSnapshot(
        client_order_id=f.text("client_order_id"),
        venue_order_id=f.opt_text("venue_order_id"),
        strategy_id=f.text("strategy_id"),
        symbol=f.text("symbol"),
        side=f.enum("side", Side),
        order_type=f.enum("order_type", OrderType),
        price=f.opt_number("price"),
        qty=f.number("qty"),
        cum_qty=f.number("cum_qty"),
        avg_price=f.number("avg_price"),
        status=f.enum("status", OrderStatus),
        ts_event=f.integer("ts_event"),
    )


def _order_update(d: dict[str, Any], f: _Fields) -> OrderUpdate:
    liquidity = f.opt_enum("liquidity", Liquidity)
    return OrderUpdate(
        seq=f.integer("seq"),
        client_order_id=f.text("client_order_id"),
        venue_order_id=f.opt_text("venue_order_id"),
        strategy_id=f.text("strategy_id"),
        symbol=f.text("symbol"),
        side=f.enum("side", Side),
        order_type=f.enum("order_type", OrderType),
        status=f.enum("status", OrderStatus),
        price=f.opt_number("price"),
        qty=f.number("qty"),
        cum_qty=f.number("cum_qty"),
        avg_price=f.number("avg_price"),
        leaves_qty=f.number("leaves_qty"),
        ts_event=f.integer("ts_event"),
        ts_init=f.integer("ts_init"),
        last_qty=f.opt_number("last_qty"),
        last_price=f.opt_number("last_price"),
        fee=f.opt_number("fee"),
        fee_asset=f.opt_text("fee_asset"),
        liquidity=liquidity,
        exec_id=f.opt_text("exec_id"),
        reason=f.opt_text("reason"),
        unsolicited=f.flag("unsolicited"),
    )


def _risk_event(d: dict[str, Any], f: _Fields) -> RiskEvent:
    return RiskEvent(
        kind=f.enum("kind", RiskEventKind),
        message=f.text("message"),
        ts_event=f.integer("ts_event"),
        scope=f.enum("scope", Scope),
        target=f.opt_text("target"),
        seq=f.integer("seq"),
        source="cerebellum",
    )


_ACK_FIELDS = frozenset(
    {"v", "type", "req_id", "last_seq", "client_order_id", "venue_order_id", "status", "duplicate"}
)


def _ack(d: dict[str, Any], f: _Fields) -> Ack:
    return Ack(
        req_id=f.integer("req_id"),
        last_seq=f.integer("last_seq"),
        client_order_id=f.opt_text("client_order_id"),
        venue_order_id=f.opt_text("venue_order_id"),
        status=f.opt_enum("status", OrderStatus),
        duplicate=f.flag("duplicate"),
        extra={k: v for k, v in d.items() if k not in _ACK_FIELDS},
    )


def _reject(d: dict[str, Any], f: _Fields) -> Reject:
    return Reject(
        req_id=f.opt_integer("req_id"),
        last_seq=f.opt_integer("last_seq") or 0,
        code=f.text("code"),
        reason=f.text("reason"),
        client_order_id=f.opt_text("client_order_id"),
    )


def _heartbeat(d: dict[str, Any], f: _Fields) -> HeartbeatReply:
    return HeartbeatReply(
        req_id=f.integer("req_id"),
        last_seq=f.integer("last_seq"),
        session_id=f.text("session_id"),
        ts_init=f.integer("ts_init"),
        trading_state=_trading_states(f.obj("trading_state")),
    )


def _objects(f: _Fields, key: str) -> list[_Fields]:
    out = []
    for raw in f.array(key):
        if not isinstance(raw, dict):
            raise ProtocolError(f"{key}: expected a list of objects")
        out.append(_Fields(raw, key))
    return out


def _welcome(d: dict[str, Any], f: _Fields) -> Welcome:
    instruments = tuple(
        Instrument(
            g.text("symbol"),
            g.text("base"),
            g.text("quote"),
            g.number("tick_size"),
            g.number("lot_size"),
            g.number("min_qty"),
        )
        for g in _objects(f, "instruments")
    )
    return Welcome(
        req_id=f.integer("req_id"),
        session_id=f.text("session_id"),
        venue=f.text("venue"),
        mode=f.text("mode"),
        last_seq=f.integer("last_seq"),
        instruments=instruments,
        trading_state=_trading_states(f.obj("trading_state")),
    )


def _snapshot(d: dict[str, Any], f: _Fields) -> SnapshotReport:
    positions = tuple(
        PositionSnapshot(
            g.text("strategy_id"),
            g.text("symbol"),
            g.number("qty"),
            g.number("avg_price"),
            g.number("realized_pnl"),
            g.number("fees"),
        )
        for g in _objects(f, "positions")
    )
    balances = {g.text("asset"): g.number("total") for g in _objects(f, "balances")}
    mids = {
        str(k): float(v)
        for k, v in f.obj("mids").items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }
    return SnapshotReport(
        req_id=f.integer("req_id"),
        last_seq=f.integer("last_seq"),
        session_id=f.text("session_id"),
        ts_init=f.integer("ts_init"),
        trading_state=_trading_states(f.obj("trading_state")),
        open_orders=tuple(_order_snapshot(o) for o in f.array("open_orders")),
        positions=positions,
        balances=balances,
        mids=mids,
    )


def _order_state(d: dict[str, Any], f: _Fields) -> OrderState:
    order = d.get("order")
    return OrderState(
        req_id=f.integer("req_id"),
        last_seq=f.integer("last_seq"),
        known=f.flag("known"),
        order=_order_snapshot(order) if order is not None else None,
    )


def _replay_done(d: dict[str, Any], f: _Fields) -> ReplayDone:
    return ReplayDone(
        f.integer("req_id"), f.integer("from_seq"), f.integer("to_seq"), f.integer("last_seq")
    )


_DECODERS: dict[str, Callable[[dict[str, Any], _Fields], Reply | Report]] = {
    "OrderUpdate": _order_update,
    "RiskEvent": _risk_event,
    "Ack": _ack,
    "Reject": _reject,
    "Heartbeat": _heartbeat,
    "Welcome": _welcome,
    "SnapshotReport": _snapshot,
    "OrderState": _order_state,
    "ReplayDone": _replay_done,
}


def decode_message(frame: bytes) -> Reply | Report:
    """Decode one frame from the command socket into a typed reply or report."""
    d = parse_frame(frame)
    kind: str = d["type"]
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise ProtocolError(f"unknown message type {kind!r}")
    return decoder(d, _Fields(d, kind))


def decode_market_data(frame: bytes, ts_init: int) -> BookSnapshot | Trade:
    """Decode one PUB body (BookSnapshot or Trade) into the engine's normalized types."""
    d = parse_frame(frame)
    kind = d["type"]
    f = _Fields(d, kind)
    if kind == "BookSnapshot":
        try:
            bids = levels_array(f.array("bids"))
            asks = levels_array(f.array("asks"))
        except (ValueError, TypeError) as exc:
            raise ProtocolError(f"BookSnapshot levels: {exc}") from None
        return BookSnapshot(
            symbol=f.text("symbol"),
            ts_event=f.integer("ts_event"),
            ts_init=ts_init,
            bids=bids,
            asks=asks,
            seq=f.integer("seq"),
        )
    if kind == "Trade":
        return Trade(
            symbol=f.text("symbol"),
            ts_event=f.integer("ts_event"),
            ts_init=ts_init,
            price=f.number("price"),
            qty=f.number("qty"),
            aggressor=f.enum("aggressor", Side),
            trade_id=f.text("trade_id"),
            seq=f.integer("seq"),
        )
    raise ProtocolError(f"unknown market data type {kind!r}")
