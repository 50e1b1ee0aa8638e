"""Blotter: open orders (with a Cancel button per row) and fills."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex
from PySide6.QtWidgets import QHeaderView, QPushButton, QTableView, QTabWidget, QWidget

from cockpit.commands import CommandFacade
from cockpit.models.trading_models import FillsModel, OrdersModel


def make_table(model: object, parent: QWidget | None = None) -> QTableView:
    view = QTableView(parent)
    view.setModel(model)  # type: ignore[arg-type]
    view.setAlternatingRowColors(True)
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(22)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    view.horizontalHeader().setStretchLastSection(True)
    return view


def fixed_column(view: QTableView, column: int, width: int) -> None:
    """A column of ``width`` pixels (e.g. one drawn by a delegate), not sized to its text."""
    view.horizontalHeader().setSectionResizeMode(column, QHeaderView.ResizeMode.Fixed)
    view.horizontalHeader().resizeSection(column, width)


class BlotterView(QTabWidget):
    """Orders and fills tabs."""

    def __init__(self, orders: OrdersModel, fills: FillsModel, facade: CommandFacade) -> None:
        super().__init__()
        self._orders = orders
        self._facade = facade
        self.orders_view = make_table(orders, self)
        self.fills_view = make_table(fills, self)
        self.addTab(self.orders_view, "Open orders")
        self.addTab(self.fills_view, "Fills")
        self._action_col = [c.key for c in orders.columns].index("action")
        orders.rowsInserted.connect(self._add_buttons)

    def _add_buttons(self, _parent: QModelIndex, first: int, last: int) -> None:
        for row in range(first, last + 1):
            cid = self._orders.key_at(row)
            button = QPushButton("Cancel")
            button.setObjectName(f"cancel:{cid}")
            button.clicked.connect(lambda _=False, c=cid: self._facade.cancel_order(c))
            self.orders_view.setIndexWidget(self._orders.index(row, self._action_col), button)

    def cancel_button(self, client_order_id: str) -> QPushButton | None:
        return self.orders_view.findChild(QPushButton, f"cancel:{client_order_id}")
