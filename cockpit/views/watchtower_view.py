"""WatchtowerView: the Watchtower's log (evaluations, reaps, replacements), newest on top."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from cockpit import theme
from cockpit.models.filters import FieldFilter
from cockpit.models.watchtower_model import WatchtowerModel
from cockpit.views.blotter_view import make_table
from engine.config import WatchtowerConfig

EVENTS = ("all", "keep", "undecided", "reap", "reaped", "replaced")


def empty_text(config: WatchtowerConfig) -> str:
    """What an empty log means: when the first lines will come, or that nothing will."""
    if not config.enabled:
        return "The Watchtower is off (watchtower.enabled = false): no agent is judged or reaped."
    return (
        f"No verdicts yet. The Watchtower judges every live agent every "
        f"{config.interval_minutes:g} min (a verdict after {config.min_trades} round trips) "
        f'and logs each line here; the Arena\'s "Evaluate now" runs it at once.'
    )


class WatchtowerView(QWidget):
    def __init__(
        self, model: WatchtowerModel, config: WatchtowerConfig, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.proxy = FieldFilter(model, self)
        self.table = make_table(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.event_filter = QComboBox()
        self.event_filter.addItems(list(EVENTS))
        self.count = QLabel("")
        self.empty_hint = QLabel(empty_text(config))
        self.empty_hint.setWordWrap(True)
        self.empty_hint.setStyleSheet(f"color: {theme.TEXT_DIM}; padding: 6px;")
        top = QHBoxLayout()
        top.addWidget(QLabel("Event"))
        top.addWidget(self.event_filter)
        top.addStretch(1)
        top.addWidget(self.count)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.empty_hint)
        layout.addWidget(self.table, 1)
        self.event_filter.currentTextChanged.connect(
            lambda t: self.proxy.set_field("event", None if t == "all" else t)
        )
        for signal in (model.rowsInserted, model.rowsRemoved, model.modelReset):
            signal.connect(self._count)
        self._count()

    def _count(self, *_args: object) -> None:
        n = self.model.rowCount()
        self.count.setText(f"{n} line{'s' if n != 1 else ''}")
        self.empty_hint.setVisible(n == 0)
