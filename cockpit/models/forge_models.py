"""Forge tables: tasks (live progress, finished verdicts), deployment slots, gauntlet gates."""

from __future__ import annotations

import math
from typing import Any

from cockpit import theme
from cockpit.models.columns import Column, fmt_opt
from cockpit.models.detail_models import fmt_clock
from cockpit.models.keyed_table import KeyedTableModel
from engine.agents.singularity import SlotStatus
from engine.model.enums import ForgeStage
from engine.model.events import ForgeProgress

ACTIVE_STAGES = frozenset(
    {
        ForgeStage.QUEUED, ForgeStage.LOADING_DATA, ForgeStage.FEATURES, ForgeStage.LABELS,
        ForgeStage.EVOLVING, ForgeStage.TRAINING, ForgeStage.BAKE_OFF, ForgeStage.GAUNTLET,
        ForgeStage.REGISTERING,
    }
)  # fmt: skip
# A rough share of a task's time per stage, for one progress bar across the stages.
_STAGE_SPAN = {
    ForgeStage.QUEUED: (0.0, 0.0),
    ForgeStage.LOADING_DATA: (0.0, 0.1),
    ForgeStage.FEATURES: (0.1, 0.15),
    ForgeStage.LABELS: (0.15, 0.2),
    ForgeStage.EVOLVING: (0.2, 0.7),
    ForgeStage.TRAINING: (0.7, 0.85),
    ForgeStage.BAKE_OFF: (0.85, 0.9),
    ForgeStage.GAUNTLET: (0.9, 0.97),
    ForgeStage.REGISTERING: (0.97, 1.0),
}
_STATUS_COLOUR = {
    "DONE": theme.LONG, "REGISTERED": theme.LONG, "REJECTED": theme.WARN, "FAILED": theme.HALT,
    "TIMED_OUT": theme.HALT, "CANCELLED": theme.TEXT_DIM,
}  # fmt: skip
HISTORY_TASK = "history"


def progress_of(p: ForgeProgress) -> float:
    """0..1 across the stages (within EVOLVING by generation; history by minutes done)."""
    if p.task_id == HISTORY_TASK:
        if p.stage is ForgeStage.DONE:
            return 1.0
        return p.generation / p.generations if p.generations else 0.0
    if p.stage not in _STAGE_SPAN:
        return 1.0
    lo, hi = _STAGE_SPAN[p.stage]
    if p.stage is ForgeStage.EVOLVING and p.generations:
        return lo + (hi - lo) * min(p.generation / p.generations, 1.0)
    return lo


def _eta(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return f"{v:.0f}s"


class ForgeTasksModel(KeyedTableModel):
    """Every task seen (newest last): stage, generation, fitness, ETA; the verdict once it ends."""

    def __init__(self) -> None:
        super().__init__(
            [
                Column("ts", "Updated", fmt_clock),
                Column("task_id", "Task"),
                Column("symbol", "Symbol"),
                Column("stage", "Stage", colour=_STATUS_COLOUR.get),
                Column("progress", "Progress", lambda v: f"{v:.0%}", sort_key=float),
                Column("generation", "Gen", align_right=True, row_fmt=lambda v, r: (
                    f"{v}/{r['generations']}" if r.get("generations") else "")),
                Column("best", "Best fitness", fmt_opt(4), align_right=True),
                Column("mean", "Mean fitness", fmt_opt(4), align_right=True),
                Column("elapsed", "Elapsed", _eta, align_right=True),
                Column("eta", "ETA", _eta, align_right=True),
                Column("message", "Message / verdict"),
            ],
            key="task_id",
        )  # fmt: skip
        self.fitness: dict[str, list[tuple[int, float, float]]] = {}

    def is_active(self, task_id: str) -> bool:
        row = self.row(task_id)
        return row is not None and row["stage"] in {s.value for s in ACTIVE_STAGES}

    def active_tasks(self) -> list[str]:
        """Tasks queued or running (not the history generation)."""
        return [k for k in self.keys() if k != HISTORY_TASK and self.is_active(k)]

    def on_progress(self, p: ForgeProgress) -> None:
        if p.stage is ForgeStage.EVOLVING and p.best_fitness is not None:
            history = self.fitness.setdefault(p.task_id, [])
            if not history or history[-1][0] != p.generation:
                history.append((p.generation, p.best_fitness, p.mean_fitness or math.nan))
        old = self.row(p.task_id) or {}
        symbol = "history (all)" if p.task_id == HISTORY_TASK else p.symbol
        message = p.message
        if p.agent_id:
            message = f"{p.agent_id}: {message}"
        self.upsert(
            {
                "task_id": p.task_id,
                "symbol": symbol,
                "stage": p.stage.value,
                "progress": progress_of(p),
                # Stages after EVOLVING report no generation: keep the last one shown.
                "generation": p.generation if p.generations else old.get("generation", 0),
                "generations": p.generations or old.get("generations", 0),
                "best": p.best_fitness if p.best_fitness is not None else old.get("best"),
                "mean": p.mean_fitness if p.mean_fitness is not None else old.get("mean"),
                "elapsed": p.elapsed_s,
                "eta": p.eta_s if p.stage in ACTIVE_STAGES else None,
                "message": message,
                "agent_id": p.agent_id,
                "ts": p.ts_event,
            }
        )

    def on_runs(self, runs: list[dict[str, Any]]) -> None:
        """Finished tasks from the journal (for tasks that ended before the window opened)."""
        for r in sorted(runs, key=lambda r: r.get("ts_started") or 0):
            if self.row(r["task_id"]) is not None or r["status"] in ("QUEUED", "RUNNING"):
                continue
            report = r.get("report") or {}
            self.fitness.setdefault(
                r["task_id"],
                [(int(g), float(b), float(m)) for g, b, m in report.get("gp_history", [])],
            )
            status = "DONE" if r["status"] == "REGISTERED" else r["status"]
            started, finished = r.get("ts_started") or 0, r.get("ts_finished") or 0
            self.upsert(
                {
                    "task_id": r["task_id"],
                    "symbol": r["symbol"],
                    "stage": status,
                    "progress": 1.0,
                    "generation": 0,
                    "generations": 0,
                    "best": None,
                    "mean": None,
                    "elapsed": (finished - started) / 1e9 if finished and started else None,
                    "eta": None,
                    "message": (f"{r['agent_id']}: " if r.get("agent_id") else "")
                    + str(report.get("reason", "")),
                    "agent_id": r.get("agent_id"),
                    "ts": finished,
                }
            )


class SlotsModel(KeyedTableModel):
    """The deployment's slots: the agent in each, the task working on it, the last outcome."""

    def __init__(self) -> None:
        super().__init__(
            [
                Column("slot", "Slot"),
                Column("agent_id", "Agent", lambda v: v or "—"),
                Column("task_id", "Task", lambda v: v or ""),
                Column("attempts", "Attempts", align_right=True),
                Column("last_outcome", "Last outcome", colour=lambda v: _STATUS_COLOUR.get(
                    str(v).upper())),
                Column("last_reason", "Reason"),
                Column("retry_in", "Retry in", _eta, align_right=True),
            ],
            key="slot",
        )  # fmt: skip

    def update_slots(self, slots: list[SlotStatus], now_mono_ns: int) -> None:
        for s in slots:
            wait = (s.retry_at_ns - now_mono_ns) / 1e9 if s.retry_at_ns else None
            self.upsert(
                {
                    "slot": s.slot,
                    "symbol": s.symbol,
                    "agent_id": s.agent_id,
                    "task_id": s.task_id,
                    "attempts": s.attempts,
                    "last_outcome": s.last_outcome,
                    "last_reason": s.last_reason,
                    "retry_in": wait if wait is not None and wait > 0 else None,
                }
            )


def _gate_value(v: Any, row: dict[str, Any]) -> str:
    return "" if v is None else f"{v:.4g}"


class GatesModel(KeyedTableModel):
    """One gauntlet's gates: value, threshold, pass/fail, margin."""

    def __init__(self) -> None:
        super().__init__(
            [
                Column("name", "Gate"),
                Column("value", "Value", row_fmt=_gate_value, align_right=True),
                Column("rule", "Needs", align_right=True),
                Column("passed", "Result", lambda v: "pass" if v else "FAIL",
                       background=lambda v: None if v else "#5c1f1f",
                       colour=lambda v: theme.LONG if v else theme.ASK),
                Column("margin", "Margin", fmt_opt(4), align_right=True),
            ],
            key="name",
        )  # fmt: skip

    def set_gates(self, gates: list[dict[str, Any]]) -> None:
        self.clear()
        for g in gates:
            op = ">=" if g.get("higher_is_better", True) else "<="
            margin = g.get("margin")
            self.upsert(
                {
                    "name": g["name"],
                    "value": g.get("value"),
                    "rule": f"{op} {g.get('threshold', float('nan')):.4g}",
                    "passed": bool(g.get("passed")),
                    "margin": margin if isinstance(margin, int | float) else None,
                }
            )
