"""AlertsView: the alerts, an Acknowledge button per open one, "Acknowledge all", and a
filter to show only the open ones. The count badge lives in the status bar."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from cockpit.commands import CommandFacade
from cockpit.models.alerts_model import AlertsModel
from cockpit.models.filters import FieldFilter
from cockpit.views.blotter_view import fixed_column, make_table
from cockpit.views.button_delegate import ButtonDelegate


class AlertsView(QWidget):
    def __init__(
        self, model: AlertsModel, facade: CommandFacade, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.model = model
        self._facade = facade
        self.proxy = FieldFilter(model, self)
        self.table = make_table(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(
            [c.key for c in model.columns].index("ts_last"), Qt.SortOrder.DescendingOrder
        )
        self.action_column = [c.key for c in model.columns].index("action")
        self.table.setItemDelegateForColumn(self.action_column, ButtonDelegate(self.table))
        fixed_column(self.table, self.action_column, 110)
        self.open_only = QCheckBox("open only")
        self.ack_all = QPushButton("Acknowledge all")
        self.summary = QLabel("no alerts")
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.open_only)
        top.addWidget(self.ack_all)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        self.table.clicked.connect(self._on_click)
        self.ack_all.clicked.connect(lambda: self._facade.acknowledge_all())
        self.open_only.toggled.connect(
            lambda on: self.proxy.set_field("acknowledged", False if on else None)
        )
        model.sigCountChanged.connect(self._on_count)
        self._on_count(0, "")

    def _on_click(self, index: QModelIndex) -> None:
        if index.column() != self.action_column or not index.data():
            return
        self._facade.acknowledge_alert(int(self.proxy.key_at(index.row())))

    def _on_count(self, n: int, worst: str) -> None:
        self.ack_all.setEnabled(n > 0)
        self.summary.setText(f"{n} open alert{'s' if n != 1 else ''}" + (
            f" (worst: {worst})" if worst else ""))  # fmt: skip

    def button_rect_of(self, alert_id: int) -> object:
        """Where the Acknowledge button of ``alert_id`` is drawn (viewport coordinates)."""
        for r in range(self.proxy.rowCount()):
            if self.proxy.key_at(r) == alert_id:
                return self.table.visualRect(self.proxy.index(r, self.action_column))
        return None
