"""Topic names, built only here (dotted, lowercase, most general part first).

Market data and signals are *lossy* topics: a slow subscriber loses the oldest
messages (counted). Everything else (orders, fills, risk, link, lifecycle,
forge) is *reliable*: never dropped.
"""

from __future__ import annotations

from typing import Final

from engine.model import events, market

LOSSY_PREFIXES: Final = ("md.", "signal.")


def md_book(symbol: str) -> str:
    return f"md.book.{symbol}"


def md_trade(symbol: str) -> str:
    return f"md.trade.{symbol}"


def md_bar(symbol: str, timeframe: str) -> str:
    return f"md.bar.{symbol}.{timeframe}"


def md_status(symbol: str) -> str:
    return f"md.status.{symbol}"


MD_STATS: Final = "md.stats"


def exec_order(agent_id: str) -> str:
    return f"exec.order.{agent_id}"


def exec_fill(agent_id: str) -> str:
    return f"exec.fill.{agent_id}"


RISK_EVENT: Final = "risk.event"
RISK_STATE: Final = "risk.state"
RISK_PORTFOLIO: Final = "risk.portfolio"
LINK_STATE: Final = "link.state"
ENGINE_STATE: Final = "engine.state"
ENGINE_TASK_FAILED: Final = "engine.task_failed"
ALERT: Final = "alert"
RADAR_DIAGRAM: Final = "radar.diagram"
RADAR_HISTORY: Final = "radar.history"


def agent_lifecycle(agent_id: str) -> str:
    return f"agent.lifecycle.{agent_id}"


def agent_decision(agent_id: str) -> str:
    return f"agent.decision.{agent_id}"


def agent_score(agent_id: str) -> str:
    return f"agent.score.{agent_id}"


def agent_fault(agent_id: str) -> str:
    return f"agent.fault.{agent_id}"


def forge_progress(task_id: str) -> str:
    return f"forge.progress.{task_id}"


def signal(name: str, symbol: str | None = None) -> str:
    return f"signal.{name}.{symbol}" if symbol else f"signal.{name}"


def all_of(family: str) -> str:
    """Pattern matching every topic under ``family`` (``"md.book"`` -> ``"md.book.*"``)."""
    return f"{family}.*"


# The message type each topic family carries (checked on publish).
TOPIC_TYPES: Final[dict[str, type]] = {
    "md.book": market.BookSnapshot,
    "md.trade": market.Trade,
    "md.bar": market.Bar,
    "md.status": events.BookStatus,
    "md.stats": events.FeedStats,
    "exec.order": events.OrderUpdate,
    "exec.fill": events.Fill,
    "risk.event": events.RiskEvent,
    "risk.state": events.TradingStateChanged,
    "risk.portfolio": events.PortfolioState,
    "link.state": events.LinkState,
    "engine.state": events.EngineStateChanged,
    "engine.task_failed": events.TaskFailed,
    "agent.lifecycle": events.AgentLifecycle,
    "agent.decision": events.AgentDecision,
    "agent.fault": events.AgentFault,
    "agent.score": events.AgentScored,
    "forge.progress": events.ForgeProgress,
    "alert": events.Alert,
    "signal": events.SignalUpdate,
    "radar.diagram": events.RadarDiagram,
    "radar.history": events.RadarHistory,
}


def family_of(topic: str) -> str:
    """Return the registered family of ``topic`` (longest matching prefix)."""
    parts = topic.split(".")
    for n in (2, 1):
        candidate = ".".join(parts[:n])
        if candidate in TOPIC_TYPES:
            return candidate
    raise KeyError(f"unknown topic family for {topic!r}")


def is_lossy(topic: str) -> bool:
    return topic.startswith(LOSSY_PREFIXES)


def matches(pattern: str, topic: str) -> bool:
    """``"*"`` matches all; ``"a.b.*"`` matches ``a.b.<anything>``; otherwise exact."""
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return topic.startswith(pattern[:-1])
    return pattern == topic
