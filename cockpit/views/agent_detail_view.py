"""AgentDetailView: the selected agent's specialists, equity and trades, and decisions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QItemSelection, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cockpit.charts.equity_chart import EquityChart
from cockpit.models.detail_models import DecisionsModel, TradesModel
from cockpit.models.gp_tree import Node, parse
from cockpit.views.blotter_view import make_table
from engine.agents.summary import AgentDetail
from engine.model.events import AgentDecision


def _add_tree(parent: QTreeWidgetItem, node: Node) -> None:
    item = QTreeWidgetItem(parent, [node.label])
    for child in node.children:
        _add_tree(item, child)


def specialist_items(specialists: Sequence[dict[str, Any]]) -> list[QTreeWidgetItem]:
    """One top item per specialist: its GP tree (indented), or its kind and top features."""
    items = []
    for i, spec in enumerate(specialists):
        kind = str(spec.get("kind") or "?")
        top = QTreeWidgetItem([f"{i + 1}. {kind}"])
        expression = spec.get("expression")
        if expression:
            try:
                root = parse(str(expression))
            except ValueError:
                QTreeWidgetItem(top, [str(expression)])
            else:
                top.setText(1, f"{root.size()} nodes, depth {root.depth()}")
                _add_tree(top, root)
        features = spec.get("top_features") or []
        if features:
            group = QTreeWidgetItem(top, ["top features (share of gain)"])
            for name, share in features:
                QTreeWidgetItem(group, [str(name), f"{float(share):.1%}"])
        elif not expression:
            n = len(spec.get("feature_names") or [])
            QTreeWidgetItem(top, [f"{n} features"])
        items.append(top)
    return items


class AgentDetailView(QWidget):
    """Fed by ``show_detail`` (an AgentDetail) and live decisions of the same agent."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.agent_id: str | None = None
        self.header = QLabel("Select an agent in the Arena")
        self.header.setWordWrap(True)
        self.header.setStyleSheet("font-weight: bold; padding: 4px;")
        self.tabs = QTabWidget()
        self.specialists = QTreeWidget()
        self.specialists.setHeaderLabels(["specialist", ""])
        self.specialists.setColumnWidth(0, 320)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.specialists.setFont(mono)
        self.equity = EquityChart()
        self.trades_model = TradesModel()
        self.trades = make_table(self.trades_model)
        equity_split = QSplitter(Qt.Orientation.Vertical)
        equity_split.addWidget(self.equity)
        equity_split.addWidget(self.trades)
        equity_split.setSizes([260, 140])
        self.decisions_model = DecisionsModel()
        self.decisions = make_table(self.decisions_model)
        self.decision_text = QPlainTextEdit()
        self.decision_text.setReadOnly(True)
        self.decision_text.setFont(mono)
        self.decision_text.setPlaceholderText("select a decision to see its votes and sizing")
        decision_split = QSplitter(Qt.Orientation.Vertical)
        decision_split.addWidget(self.decisions)
        decision_split.addWidget(self.decision_text)
        decision_split.setSizes([260, 140])
        self.tabs.addTab(self.specialists, "Specialists")
        self.tabs.addTab(equity_split, "Equity && trades")
        self.tabs.addTab(decision_split, "Decisions")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.header)
        layout.addWidget(self.tabs, 1)
        self.decisions.selectionModel().selectionChanged.connect(self._on_decision)
        self.decisions_model.rowsInserted.connect(lambda *_: self.decisions.scrollToBottom())

    def clear(self, message: str = "Select an agent in the Arena") -> None:
        self.agent_id = None
        self.header.setText(message)
        self.specialists.clear()
        self.trades_model.clear()
        self.decisions_model.clear()
        self.decision_text.clear()
        self.equity.set_data([], [])

    def show_detail(
        self,
        detail: AgentDetail,
        live_equity: Sequence[tuple[int, float]],
        digits: tuple[int, int],
    ) -> None:
        s = detail.summary
        changed = s.agent_id != self.agent_id
        self.agent_id = s.agent_id
        stats = detail.trade_stats
        win = stats.get("win_rate")
        holdout = f"holdout win rate {win:.0%}, " if isinstance(win, int | float) else ""
        self.header.setText(
            f"{s.agent_id} · {s.symbol} · {'+'.join(s.kinds)} · {s.lifecycle.value.lower()} · "
            f"equity {s.equity:,.2f} · {s.trades} round trips · {holdout}"
            f"Hedge weights {' / '.join(f'{w:.2f}' for w in s.weights)}"
        )
        if changed or self.specialists.topLevelItemCount() != len(detail.specialists):
            self.specialists.clear()
            self.specialists.addTopLevelItems(specialist_items(detail.specialists))
            self.specialists.expandAll()
        self.trades_model.set_trades(detail.trades, *digits)
        self.equity.set_data([*detail.equity, *live_equity], detail.trades, s.entry_ns)
        if changed:
            self.decisions_model.set_journal(detail.decisions)
        else:
            self.decisions_model.merge_journal(detail.decisions)

    def on_decision(self, d: AgentDecision) -> None:
        if d.agent_id == self.agent_id:
            self.decisions_model.add_live(d)

    def _on_decision(self, _sel: QItemSelection, _desel: QItemSelection) -> None:
        rows = self.decisions.selectionModel().selectedRows()
        if not rows:
            return
        row = self.decisions_model.row(self.decisions_model.key_at(rows[0].row()))
        if row is not None:
            body = {"action": row["action"], "reason": row["reason"], **row["detail"]}
            self.decision_text.setPlainText(json.dumps(body, indent=2, default=str))
