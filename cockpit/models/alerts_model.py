"""AlertsModel: the engine's alerts (newest last) until someone acknowledges them."""

from __future__ import annotations

from PySide6.QtCore import Signal

from cockpit import theme
from cockpit.models.columns import Column, fmt_time_ns
from cockpit.models.keyed_table import KeyedTableModel
from engine.model.events import Alert

SEVERITIES = ("critical", "warning", "info")


class AlertsModel(KeyedTableModel):
    """Keyed by alert id; ``sigCountChanged(unacknowledged, worst severity)`` after each change."""

    sigCountChanged = Signal(int, str)

    def __init__(self, max_rows: int = 500) -> None:
        super().__init__(
            [
                Column("severity", "Severity", str.upper, colour=theme.SEVERITY.get),
                Column("action", ""),
                Column("ts_last", "Last seen", fmt_time_ns),
                Column("count", "Count", align_right=True),
                Column("source", "Source"),
                Column("message", "Message"),
            ],
            key="alert_id",
            max_rows=max_rows,
        )
        self.unacknowledged = 0
        self.worst = ""

    def on_alert(self, a: Alert) -> None:
        self.upsert(
            {
                "alert_id": a.alert_id,
                "severity": a.severity,
                "ts_last": a.ts_last,
                "source": a.source,
                "message": a.message,
                "count": a.count,
                "acknowledged": a.acknowledged,
                "action": "" if a.acknowledged else "Acknowledge",
            }
        )
        self._count()

    def on_alerts(self, alerts: list[Alert]) -> None:
        for a in alerts:
            self.on_alert(a)

    def pending(self) -> list[int]:
        return [r["alert_id"] for r in self.rows() if not r["acknowledged"]]

    def _count(self) -> None:
        open_rows = [r for r in self.rows() if not r["acknowledged"]]
        worst = next((s for s in SEVERITIES if any(r["severity"] == s for r in open_rows)), "")
        if (len(open_rows), worst) != (self.unacknowledged, self.worst):
            self.unacknowledged, self.worst = len(open_rows), worst
            self.sigCountChanged.emit(self.unacknowledged, worst)
