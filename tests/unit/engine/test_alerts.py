"""Alerts: the bus's bad news stays until acknowledged; repeats count instead of piling up."""

from __future__ import annotations

from engine.alerts import AlertCenter
from engine.core import topics
from engine.core.bus import EventBus
from engine.core.clock import SimClock
from engine.core.tasks import TaskSupervisor
from engine.model.enums import AgentState, ForgeStage, RiskEventKind, Scope
from engine.model.events import AgentFault, AgentLifecycle, Alert, ForgeProgress, RiskEvent


async def test_breaches_reaps_faults_and_forge_rejections_become_alerts_until_acknowledged() -> (
    None
):
    tasks = TaskSupervisor()
    bus = EventBus(tasks)
    clock = SimClock(1_000)
    center = AlertCenter(bus, clock)
    seen: list[Alert] = []
    bus.subscribe(topics.ALERT, lambda _t, a: seen.append(a), direct=True)
    await center.start()
    bus.publish(topics.RISK_EVENT, RiskEvent(RiskEventKind.LIMIT_BREACH, "breaker DAILY_LOSS", 1))
    bus.publish(topics.RISK_EVENT, RiskEvent(RiskEventKind.RECONCILED, "fine", 1))  # not news
    for _ in range(3):
        bus.publish(
            topics.RISK_EVENT,
            RiskEvent(RiskEventKind.ORDER_REFUSED, "BUY 1 X refused: STALE_MARK: old", 2,
                      Scope.STRATEGY, "a1"),
        )  # fmt: skip
    bus.publish(
        topics.agent_lifecycle("a2"), AgentLifecycle("a2", "BTC/USDT", AgentState.REAPED, 3, "PnL")
    )
    bus.publish(topics.agent_fault("a3"), AgentFault("a3", "ETH/USDT", "boom", 3, 4, True))
    bus.publish(
        topics.forge_progress("t1"),
        ForgeProgress("t1", "SOL/USDT", ForgeStage.REJECTED, 5, message="deflated_sharpe FAIL"),
    )
    bus.publish(
        topics.forge_progress("t2"), ForgeProgress("t2", "SOL/USDT", ForgeStage.EVOLVING, 6)
    )
    open_alerts = center.unacknowledged()
    assert [a.source for a in open_alerts] == [
        "risk LIMIT_BREACH",
        "risk ORDER_REFUSED",
        "arena",
        "agent",
        "forge",
    ]
    refused = open_alerts[1]
    assert refused.count == 3
    assert open_alerts[3].severity == "warning"  # the fault paused the agent
    assert "deflated_sharpe" in open_alerts[4].message
    acked = center.acknowledge(refused.alert_id)
    assert acked.acknowledged
    assert refused.alert_id not in [a.alert_id for a in center.unacknowledged()]
    assert seen[-1] == acked
    # After an acknowledgement the same trouble is news again.
    bus.publish(
        topics.RISK_EVENT,
        RiskEvent(RiskEventKind.ORDER_REFUSED, "BUY 1 X refused: STALE_MARK: old", 7,
                  Scope.STRATEGY, "a1"),
    )  # fmt: skip
    newest = center.unacknowledged()[-1]
    assert newest.alert_id != refused.alert_id
    assert newest.count == 1
    await center.stop()
    await tasks.stop()
