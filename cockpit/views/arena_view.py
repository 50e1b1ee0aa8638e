"""ArenaView: the agents table with filters, row actions and a context menu.

Actions (Reap, Forge replacement, Pause, Resume, Evaluate now) go to the
CommandFacade; the view holds no engine logic. Reaping asks for confirmation.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QItemSelection, QModelIndex, QPoint, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from cockpit.commands import CommandFacade
from cockpit.models.agents_model import STATES, AgentsModel
from cockpit.models.filters import FieldFilter
from cockpit.views.sparkline_delegate import SparklineDelegate

ALL = "all"
Confirm = Callable[[str, str], bool]


class ArenaView(QWidget):
    """Filter bar, the agents table (sortable), action buttons."""

    sigAgentSelected = Signal(str)  # agent id ("" when nothing is selected)

    def __init__(
        self,
        model: AgentsModel,
        facade: CommandFacade,
        symbols: tuple[str, ...],
        confirm: Confirm,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.model = model
        self._facade = facade
        self._confirm = confirm
        self.proxy = FieldFilter(model, self)
        self.symbol_filter = QComboBox()
        self.symbol_filter.addItems([ALL, *symbols])
        self.state_filter = QComboBox()
        self.state_filter.addItems([ALL, *STATES])
        self.text_filter = QLineEdit()
        self.text_filter.setPlaceholderText("agent id contains…")
        self.count = QLabel("0 agents")
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(24)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(model.equity_column, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(model.equity_column, 130)
        header.setStretchLastSection(True)
        self.table.setItemDelegateForColumn(model.equity_column, SparklineDelegate(self.table))
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # long ids, if squeezed
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.reap = QPushButton("Reap…")
        self.forge = QPushButton("Forge replacement")
        self.pause = QPushButton("Pause")
        self.resume = QPushButton("Resume")
        self.evaluate = QPushButton("Evaluate now")
        self.evaluate.setToolTip("Have the Watchtower score every agent now (and reap losers)")
        for b, tip in (
            (self.reap, "Flatten the agent, archive its bundle, keep its history"),
            (self.forge, "Forge a new agent for this symbol; it replaces this one once it joins"),
            (self.pause, "Stop this agent deciding (its position is kept)"),
            (self.resume, "Let the agent decide again"),
        ):
            b.setToolTip(tip)
        filters = QHBoxLayout()
        for label, widget in (("Symbol", self.symbol_filter), ("State", self.state_filter)):
            filters.addWidget(QLabel(label))
            filters.addWidget(widget)
        filters.addWidget(self.text_filter, 1)
        filters.addWidget(self.count)
        actions = QHBoxLayout()
        for b in (self.reap, self.forge, self.pause, self.resume):
            actions.addWidget(b)
        actions.addStretch(1)
        actions.addWidget(self.evaluate)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addLayout(actions)
        self.symbol_filter.currentTextChanged.connect(
            lambda t: self.proxy.set_field("symbol", None if t == ALL else t)
        )
        self.state_filter.currentTextChanged.connect(
            lambda t: self.proxy.set_field("state", None if t == ALL else t)
        )
        self.text_filter.textChanged.connect(self._on_text)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.doubleClicked.connect(lambda _i: self._emit_selected())
        self.reap.clicked.connect(lambda: self.reap_selected())
        self.forge.clicked.connect(lambda: self.forge_replacement())
        self.pause.clicked.connect(lambda: self.pause_selected())
        self.resume.clicked.connect(lambda: self.resume_selected())
        self.evaluate.clicked.connect(lambda: self._facade.evaluate_agents())
        for signal in (model.rowsInserted, model.rowsRemoved, model.dataChanged):
            signal.connect(self._update_buttons)
        self._update_buttons()

    # -- selection -------------------------------------------------------------------
    def selected_agent(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return str(self.proxy.key_at(rows[0].row()))

    def select_agent(self, agent_id: str) -> bool:
        for r in range(self.proxy.rowCount()):
            if self.proxy.key_at(r) == agent_id:
                self.table.selectRow(r)
                return True
        return False

    def _on_selection(self, _sel: QItemSelection, _desel: QItemSelection) -> None:
        self._update_buttons()
        self._emit_selected()

    def _emit_selected(self) -> None:
        self.sigAgentSelected.emit(self.selected_agent() or "")

    def _on_text(self, text: str) -> None:
        needle = text.strip().lower()
        self.proxy.set_predicate((lambda r: needle in r["agent_id"].lower()) if needle else None)

    def _update_buttons(self, *_args: object) -> None:
        agent = self.selected_agent()
        row = self.model.row(agent) if agent else None
        state = row["state"] if row else None
        live = row is not None and state != "reaped"
        self.reap.setEnabled(live)
        self.forge.setEnabled(row is not None)
        self.pause.setEnabled(live and state != "paused")
        self.resume.setEnabled(live and state in ("paused", "faulted"))
        self.count.setText(f"{self.proxy.rowCount()} of {self.model.rowCount()} agents")

    # -- actions -----------------------------------------------------------------------
    def _context_menu(self, pos: QPoint) -> None:
        index: QModelIndex = self.table.indexAt(pos)
        if not index.isValid():
            return
        self.table.selectRow(index.row())
        menu = QMenu(self)
        for button in (self.reap, self.forge, self.pause, self.resume):
            action = menu.addAction(button.text())
            action.setEnabled(button.isEnabled())
            action.triggered.connect(button.click)
        menu.popup(self.table.viewport().mapToGlobal(pos))
        self.context_menu = menu  # kept for tests (and so it is not collected while open)

    def reap_selected(self) -> None:
        agent = self.selected_agent()
        if agent and self._confirm(
            "Reap agent", f"Reap {agent}? It is flattened and its bundle archived."
        ):
            self._facade.reap_agent(agent)

    def forge_replacement(self) -> None:
        agent = self.selected_agent()
        row = self.model.row(agent) if agent else None
        if agent and row:
            replaces = "" if row["state"] == "reaped" else agent
            self._facade.forge_agent(row["symbol"], replaces)

    def pause_selected(self) -> None:
        agent = self.selected_agent()
        if agent:
            self._facade.pause_agent(agent)

    def resume_selected(self) -> None:
        agent = self.selected_agent()
        if agent:
            self._facade.resume_agent(agent)
