"""GauntletReportView: a finished forge task's verdict, every gate, the metrics behind them.

The report is the one the forge journals (``EngineCommands.forge_runs``): the
ensemble's holdout equity (thinned to a few hundred points) is drawn between
the gates and the figures. Reports from before the forge kept that series have
none, and the view says so.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QSplitter, QVBoxLayout, QWidget

from cockpit import theme
from cockpit.charts.equity_chart import EquityChart
from cockpit.models.forge_models import GatesModel
from cockpit.views.blotter_view import make_table

_MIN_CURVE_PX = 120
_MIN_TEXT_PX = 60  # the figures scroll; the gates should not
NO_EQUITY = "No holdout equity curve: this report predates the forge keeping it."


def holdout_samples(report: dict[str, Any]) -> list[tuple[int, float]]:
    """The report's holdout equity as (ts ns, equity); empty if it has none or it is unreadable."""
    series = report.get("holdout_equity") or {}
    ts, equity = series.get("ts") or [], series.get("equity") or []
    if len(ts) != len(equity) or not ts:
        return []
    try:
        stamps = pd.to_datetime(ts, utc=True).as_unit("ns").asi8
    except (ValueError, TypeError):
        return []
    return [(int(t), float(v)) for t, v in zip(stamps, equity, strict=True)]


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def report_text(report: dict[str, Any]) -> str:
    """Metrics, trade statistics, the bake-off and the timings as aligned text."""
    lines: list[str] = []
    gauntlet = report.get("gauntlet") or {}
    metrics = gauntlet.get("metrics") or {}
    if metrics:
        lines.append("Holdout metrics")
        lines += [f"  {k:<28} {_fmt(v)}" for k, v in sorted(metrics.items())]
    stats = report.get("trade_stats") or {}
    if stats:
        lines.append("Holdout trades")
        lines += [f"  {k:<28} {_fmt(v)}" for k, v in stats.items()]
    if not holdout_samples(report):
        lines.append("")
        lines.append(NO_EQUITY)
    bake = report.get("bake_off") or []
    if bake:
        lines.append("")
        lines.append("Bake-off on validation (Sharpe, trades; * = ensemble member)")
        for e in bake:
            mark = "*" if e.get("member") else " "
            lines.append(f" {mark} {e.get('name', ''):<24} {e.get('sharpe', 0.0):>8.3f} "
                         f"{e.get('trades', 0):>6}")  # fmt: skip
    if report.get("data_range"):
        rng = report["data_range"]
        lines.append("")
        lines.append(f"Data {rng.get('start')} .. {rng.get('end')} ({report.get('bars')} bars), "
                     f"seed {report.get('seed')}, budget {report.get('budget')}")  # fmt: skip
    timings = report.get("timings_s") or {}
    if timings:
        lines.append("Timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    return "\n".join(lines)


class GauntletReportView(QWidget):
    """The verdict line, the gates table and the figures (text)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.verdict = QLabel("Select a finished task to see its gauntlet report")
        self.verdict.setWordWrap(True)
        self.verdict.setStyleSheet("font-weight: bold; padding: 4px;")
        self.gates_model = GatesModel()
        self.gates = make_table(self.gates_model)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setStyleSheet("font-family: monospace; font-size: 11px;")
        self.equity = EquityChart()
        self.equity.setTitle("holdout equity", color=theme.TEXT_DIM, size="9pt")
        self.equity.setMinimumHeight(_MIN_CURVE_PX)  # shorter, its price labels overlap
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.gates)
        split.addWidget(self.equity)
        split.addWidget(self.text)
        split.setSizes([200, 160, 200])
        split.setStretchFactor(0, 0)  # when the panel or the verdict line changes height,
        split.setStretchFactor(1, 1)  # the curve and the figures give or take the room
        split.setStretchFactor(2, 1)
        self.split = split
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.verdict)
        layout.addWidget(split, 1)
        self.task_id: str | None = None

    def show_run(self, run: dict[str, Any]) -> None:
        """One ``forge_runs`` row (report decoded)."""
        self.task_id = run["task_id"]
        report = run.get("report") or {}
        gauntlet = report.get("gauntlet") or {}
        status = run.get("status", "")
        colour = theme.LONG if status == "REGISTERED" else theme.WARN
        agent = f" → {run['agent_id']}" if run.get("agent_id") else ""
        reason = report.get("reason") or gauntlet.get("reason") or ""
        self.verdict.setText(
            f"<span style='color:{colour}'>{run['symbol']} task {run['task_id']}: "
            f"{status}{agent}</span><br><span style='font-weight:normal'>{reason}</span>"
        )
        self.gates_model.set_gates(list(gauntlet.get("gates") or []))
        samples = holdout_samples(report)
        self.equity.set_data(samples, [])
        self.equity.setVisible(bool(samples))
        rows = self.gates_model.rowCount()
        if rows:  # every gate visible; the curve and the text share the rest
            header = self.gates.horizontalHeader()
            head = max(header.height(), header.sizeHint().height())  # not laid out yet at first
            need = head + rows * self.gates.rowHeight(0) + 2 * self.gates.frameWidth() + 4
            total = sum(self.split.sizes())
            floor = _MIN_CURVE_PX + _MIN_TEXT_PX
            gates = min(need, total - floor)
            rest = max(total - gates, floor)
            curve = max(rest * 3 // 5, _MIN_CURVE_PX)
            self.split.setSizes([gates, curve, rest - curve])
        text = report_text(report)
        if not gauntlet:
            text = "The task ended before the gauntlet (no gates were run).\n\n" + text
        self.text.setPlainText(text)

    def clear(self) -> None:
        self.task_id = None
        self.verdict.setText("Select a finished task to see its gauntlet report")
        self.gates_model.clear()
        self.equity.set_data([], [])
        self.text.clear()
