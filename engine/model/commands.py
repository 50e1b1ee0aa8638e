"""Commands the engine sends to Cerebellum (imperative names, immutable)."""

from __future__ import annotations

from dataclasses import dataclass

from engine.model.enums import OrderType, Scope, Side, TimeInForce, TradingState


@dataclass(frozen=True, slots=True)
class NewOrder:
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


@dataclass(frozen=True, slots=True)
class Cancel:
    client_order_id: str


@dataclass(frozen=True, slots=True)
class CancelAll:
    strategy_id: str | None = None
    symbol: str | None = None


@dataclass(frozen=True, slots=True)
class Flatten:
    strategy_id: str | None = None
    symbol: str | None = None


@dataclass(frozen=True, slots=True)
class KillSwitch:
    scope: Scope = Scope.GLOBAL
    target: str | None = None
    state: TradingState = TradingState.HALTED
    reason: str = "operator"


@dataclass(frozen=True, slots=True)
class Resume:
    scope: Scope = Scope.GLOBAL
    target: str | None = None


Command = NewOrder | Cancel | CancelAll | Flatten | KillSwitch | Resume
