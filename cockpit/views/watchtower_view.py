"""WatchtowerView: the Watchtower's log (evaluations, reaps, replacements), newest on top."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from cockpit.models.filters import FieldFilter
from cockpit.models.watchtower_model import WatchtowerModel
from cockpit.views.blotter_view import make_table

EVENTS = ("all", "keep", "undecided", "reap", "reaped", "replaced")


class WatchtowerView(QWidget):
    def __init__(self, model: WatchtowerModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.proxy = FieldFilter(model, self)
        self.table = make_table(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.event_filter = QComboBox()
        self.event_filter.addItems(list(EVENTS))
        self.count = QLabel("")
        top = QHBoxLayout()
        top.addWidget(QLabel("Event"))
        top.addWidget(self.event_filter)
        top.addStretch(1)
        top.addWidget(self.count)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
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
