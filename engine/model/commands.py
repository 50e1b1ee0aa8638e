"""Commands the engine sends to Cerebellum (imperative names, immutable)."""

from __future__ import annotations

import msgspec

from engine.model.enums import OrderType, Scope, Side, TimeInForce, TradingState


class NewOrder(msgspec.Struct, frozen=True):
    client_order_id: str
    strategy_id: str
    symbol: str
    side: Side
    order_type: OrderType
    qty: float
    price: float | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    reduce_only: bool = False

    def __post_init__(self) -> None:
        if self.order_type is OrderType.LIMIT and self.price is None:
            raise ValueError("a LIMIT order needs a price")
        if self.order_type is OrderType.MARKET and self.price is not None:
            raise ValueError("a MARKET order takes no price")


class Cancel(msgspec.Struct, frozen=True):
    client_order_id: str


class CancelAll(msgspec.Struct, frozen=True):
    strategy_id: str | None = None
    symbol: str | None = None


class Flatten(msgspec.Struct, frozen=True):
    strategy_id: str | None = None
    symbol: str | None = None


class KillSwitch(msgspec.Struct, frozen=True):
    scope: Scope = Scope.GLOBAL
    target: str | None = None
    state: TradingState = TradingState.HALTED
    reason: str = "operator"


class Resume(msgspec.Struct, frozen=True):
    scope: Scope = Scope.GLOBAL
    target: str | None = None


Command = NewOrder | Cancel | CancelAll | Flatten | KillSwitch | Resume
