"""ForgePanel: deployment slots, forge tasks with progress, fitness per generation, reports.

The fitness plot follows the running task unless a task is selected; selecting
a finished task shows its gauntlet report (read from the journal through
``EngineQueries``). "Forge" and "Cancel task" go to the CommandFacade.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QItemSelection, Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from cockpit.charts.fitness_plot import FitnessPlot
from cockpit.commands import CommandFacade
from cockpit.models.filters import FieldFilter
from cockpit.models.forge_models import ForgeTasksModel, SlotsModel
from cockpit.queries import EngineQueries
from cockpit.views.blotter_view import fixed_column, make_table
from cockpit.views.gauntlet_report import GauntletReportView
from cockpit.views.progress_delegate import ProgressDelegate
from engine.model.events import ForgeProgress

REREAD_MS = 500
MAX_REREADS = 10


class ForgePanel(QWidget):
    """Slots and tasks (top), fitness plot and gauntlet report (bottom)."""

    def __init__(
        self,
        facade: CommandFacade,
        queries: EngineQueries,
        symbols: tuple[str, ...],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._facade = facade
        self._queries = queries
        self.tasks_model = ForgeTasksModel()
        self.slots_model = SlotsModel()
        self._runs: dict[str, dict[str, Any]] = {}
        self._rereads = 0
        self.symbol = QComboBox()
        self.symbol.addItems(list(symbols))
        self.forge = QPushButton("Forge")
        self.forge.setToolTip("Commission a forge task for this symbol (into a free slot)")
        self.cancel = QPushButton("Cancel task")
        self.cancel.setToolTip("Cancel the selected queued or running task (its worker is killed)")
        self.cancel.setEnabled(False)
        self.status = QLabel("")
        top = QHBoxLayout()
        top.addWidget(QLabel("Symbol"))
        top.addWidget(self.symbol)
        top.addWidget(self.forge)
        top.addWidget(self.cancel)
        top.addWidget(self.status, 1)
        self.tasks_proxy = FieldFilter(self.tasks_model, self)
        self.tasks = make_table(self.tasks_proxy)
        self.tasks.setSortingEnabled(True)
        self.tasks.sortByColumn(0, Qt.SortOrder.DescendingOrder)  # the newest news on top
        self.tasks.setSelectionMode(self.tasks.SelectionMode.SingleSelection)
        progress_col = [c.key for c in self.tasks_model.columns].index("progress")
        self.tasks.setItemDelegateForColumn(progress_col, ProgressDelegate(self.tasks))
        fixed_column(self.tasks, progress_col, 110)
        self.slots = make_table(self.slots_model)
        upper = QTabWidget()
        upper.addTab(self.tasks, "Tasks")
        upper.addTab(self.slots, "Deployment slots")
        self.upper_tabs = upper
        self.fitness = FitnessPlot()
        self.report = GauntletReportView()
        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(self.fitness)
        lower.addWidget(self.report)
        lower.setSizes([380, 620])
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(upper)
        split.addWidget(lower)
        split.setSizes([190, 330])  # the report below needs the room more than the list
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        self.forge.clicked.connect(self.forge_selected_symbol)
        self.cancel.clicked.connect(self.cancel_selected)
        self.tasks.selectionModel().selectionChanged.connect(self._on_selection)
        facade.sigForgeSubmitted.connect(self._on_submitted)
        queries.sigForgeRuns.connect(self.on_runs)

    # -- inputs ------------------------------------------------------------------------
    def on_progress(self, p: ForgeProgress) -> None:
        self.tasks_model.on_progress(p)
        selected = self.selected_task()
        follow = selected is None or selected == p.task_id
        if follow and p.task_id in self.tasks_model.fitness:
            self.fitness.set_history(
                f"{p.symbol} task {p.task_id}", self.tasks_model.fitness[p.task_id]
            )
        if not self.tasks_model.is_active(p.task_id):
            self._queries.forge_runs()  # its report is in the journal now
        self._update_cancel()

    def on_runs(self, runs: list[dict[str, Any]]) -> None:
        self._runs = {r["task_id"]: r for r in runs}
        self.tasks_model.on_runs(runs)
        selected = self.selected_task()
        if selected and not self.tasks_model.is_active(selected):
            run = self._finished_run(selected)
            if run is not None:
                self._rereads = 0
                self.report.show_run(run)
            elif self._rereads < MAX_REREADS:  # its row is not committed yet: look again soon
                self._rereads += 1
                QTimer.singleShot(REREAD_MS, self._queries.forge_runs)

    def _finished_run(self, task_id: str) -> dict[str, Any] | None:
        run = self._runs.get(task_id)
        return None if run is None or run["status"] in ("QUEUED", "RUNNING") else run

    def symbols(self) -> list[str]:
        return [self.symbol.itemText(i) for i in range(self.symbol.count())]

    @property
    def runs(self) -> dict[str, dict[str, Any]]:
        """The journal's forge runs as last read (task id -> row, report decoded)."""
        return dict(self._runs)

    def selected_task(self) -> str | None:
        rows = self.tasks.selectionModel().selectedRows()
        return str(self.tasks_proxy.key_at(rows[0].row())) if rows else None

    def select_task(self, task_id: str) -> bool:
        for r in range(self.tasks_proxy.rowCount()):
            if self.tasks_proxy.key_at(r) == task_id:
                self.tasks.selectRow(r)
                return True
        return False

    # -- actions -----------------------------------------------------------------------
    def forge_selected_symbol(self) -> None:
        self._facade.forge_agent(self.symbol.currentText(), "")

    def cancel_selected(self) -> None:
        task = self.selected_task()
        if task and self.tasks_model.is_active(task):
            self._facade.cancel_forge_task(task)

    def _on_submitted(self, symbol: str, task_id: str) -> None:
        self.status.setText(f"forge task {task_id} queued for {symbol}")

    def _on_selection(self, _sel: QItemSelection, _desel: QItemSelection) -> None:
        task = self.selected_task()
        self._update_cancel()
        if task is None:
            return
        row = self.tasks_model.row(task) or {}
        self.fitness.set_history(
            f"{row.get('symbol', '')} task {task}", self.tasks_model.fitness.get(task, [])
        )
        if self.tasks_model.is_active(task):
            self.report.clear()
        elif self._finished_run(task) is not None:
            self.report.show_run(self._runs[task])
        else:  # not journaled yet as finished (the journal writes in batches): read again
            self._queries.forge_runs()

    def _update_cancel(self) -> None:
        task = self.selected_task()
        self.cancel.setEnabled(
            task is not None and task != "history" and self.tasks_model.is_active(task)
        )
