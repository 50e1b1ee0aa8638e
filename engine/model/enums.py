"""Enumerations. Values are wire strings (docs/protocol.md), never UI text."""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"


class TimeInForce(StrEnum):
    GTC = "GTC"
    IOC = "IOC"


class OrderStatus(StrEnum):
    """Order status. PENDING_NEW is engine-local: sent, not yet acknowledged."""

    PENDING_NEW = "PENDING_NEW"
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"

    @property
    def is_open(self) -> bool:
        return self in (OrderStatus.PENDING_NEW, OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)


class Liquidity(StrEnum):
    MAKER = "MAKER"
    TAKER = "TAKER"


class TradingState(StrEnum):
    """Trading state of a scope: everything, one strategy or one symbol."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


class Scope(StrEnum):
    GLOBAL = "GLOBAL"
    STRATEGY = "STRATEGY"
    SYMBOL = "SYMBOL"


class RiskEventKind(StrEnum):
    DEADMAN = "DEADMAN"
    KILL_SWITCH = "KILL_SWITCH"
    RESUMED = "RESUMED"
    LIMIT_BREACH = "LIMIT_BREACH"
    PAUSE_ENTRIES = "PAUSE_ENTRIES"
    LINK_DOWN = "LINK_DOWN"
    RECONCILED = "RECONCILED"
    ORDER_REFUSED = "ORDER_REFUSED"  # engine only: a pre-trade check refused an order


class LinkStatus(StrEnum):
    """State of the engine's link to Cerebellum. Only CONNECTED allows new orders."""

    CONNECTING = "CONNECTING"
    CONNECTED = "CONNECTED"
    SILENT = "SILENT"
    RECONCILING = "RECONCILING"
    DISCONNECTED = "DISCONNECTED"


class EngineState(StrEnum):
    INITIALIZED = "INITIALIZED"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"
    FAILED = "FAILED"


class AgentState(StrEnum):
    LOADING = "LOADING"
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    REAPED = "REAPED"
    FAULTED = "FAULTED"


class ForgeStage(StrEnum):
    QUEUED = "QUEUED"
    LOADING_DATA = "LOADING_DATA"
    FEATURES = "FEATURES"
    LABELS = "LABELS"
    EVOLVING = "EVOLVING"
    TRAINING = "TRAINING"
    BAKE_OFF = "BAKE_OFF"
    GAUNTLET = "GAUNTLET"
    REGISTERING = "REGISTERING"
    DONE = "DONE"
    FAILED = "FAILED"
    REJECTED = "REJECTED"
    TIMED_OUT = "TIMED_OUT"
    CANCELLED = "CANCELLED"
