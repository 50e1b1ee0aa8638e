"""Tables of the agent detail view: its round trips and its recent decisions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cockpit import theme
from cockpit.models.columns import Column, fmt_opt, fmt_price_row, fmt_qty_row, sign_colour
from cockpit.models.keyed_table import KeyedTableModel
from engine.agents.state import TradeRecord
from engine.model.events import AgentDecision

_ACTION_COLOUR = {"enter": theme.LONG, "exit": theme.SHORT, "skip": theme.TEXT_DIM}
MULTIPLIERS = ("regime", "mce", "influence")


def fmt_clock(v: Any) -> str:
    if not v:
        return ""
    return dt.datetime.fromtimestamp(v / 1e9, tz=dt.UTC).strftime("%m-%d %H:%M:%S")


def _floats(v: Any) -> str:
    return " / ".join(f"{x:.2f}" for x in v) if v else ""


def _mult(v: Any) -> str:
    return "" if v is None else f"×{v:.2f}"


class TradesModel(KeyedTableModel):
    """One agent's round trips, newest first."""

    def __init__(self) -> None:
        pnl = sign_colour(theme.LONG, theme.SHORT)
        super().__init__(
            [
                Column("entry_ts", "Entry time", fmt_clock),
                Column("exit_ts", "Exit time", fmt_clock),
                Column("qty", "Qty", row_fmt=fmt_qty_row(), align_right=True),
                Column("entry_price", "Entry", row_fmt=fmt_price_row(), align_right=True),
                Column("exit_price", "Exit", row_fmt=fmt_price_row(), align_right=True),
                Column("pnl", "PnL (after fees)", fmt_opt(2), align_right=True, colour=pnl),
                Column("fees", "Fees", fmt_opt(2), align_right=True),
                Column("held", "Held (bars)", fmt_opt(0), align_right=True),
                Column("exit_reason", "Exit reason"),
            ],
            key="entry_ts",
        )

    def set_trades(self, trades: tuple[TradeRecord, ...], digits: int, qty_digits: int) -> None:
        self.clear()
        for t in sorted(trades, key=lambda t: -t.entry_ts):
            self.upsert(
                {
                    "entry_ts": t.entry_ts,
                    "exit_ts": t.exit_ts,
                    "qty": t.qty,
                    "entry_price": t.entry_price,
                    "exit_price": t.exit_price,
                    "pnl": t.pnl,
                    "fees": t.fees,
                    "held": t.held_bars,
                    "exit_reason": t.exit_reason,
                    "digits": digits,
                    "qty_digits": qty_digits,
                }
            )


def decision_row(
    ts: int, action: str, reason: str, qty: float, price: float | None, detail: dict[str, Any]
) -> dict[str, Any]:
    sizing = detail.get("sizing") or {}
    votes = detail.get("votes") or []
    kinds = detail.get("kinds") or []
    return {
        "ts": ts,
        "action": action,
        "reason": reason,
        "votes": ", ".join(f"{k}:{v}" for k, v in zip(kinds, votes, strict=False)),
        "weights": tuple(detail.get("weights") or ()),
        "shares": tuple(detail.get("shares") or ()),
        "kelly": sizing.get("kelly"),
        "fraction": sizing.get("fraction"),
        "regime": sizing.get("regime"),
        "mce": sizing.get("mce"),
        "influence": sizing.get("influence"),
        "qty": qty,
        "price": price,
        "detail": detail,
    }


class DecisionsModel(KeyedTableModel):
    """One agent's recent decisions (journal, then live), newest last; bounded."""

    def __init__(self, max_rows: int = 300) -> None:
        super().__init__(
            [
                Column("ts", "Time", fmt_clock),
                Column("action", "Action", colour=_ACTION_COLOUR.get),
                Column("reason", "Reason"),
                Column("votes", "Votes"),
                Column("weights", "Weights", _floats),
                Column("shares", "Shares (hold/entry/exit)", _floats),
                Column("kelly", "Kelly", fmt_opt(3), align_right=True),
                Column("fraction", "Fraction", fmt_opt(3), align_right=True),
                Column("regime", "Regime", _mult, align_right=True),
                Column("mce", "MCE", _mult, align_right=True),
                Column("influence", "Influence", _mult, align_right=True),
                Column("qty", "Qty", fmt_opt(6), align_right=True),
            ],
            key="ts",
            max_rows=max_rows,
        )

    def set_journal(self, rows: tuple[dict[str, Any], ...]) -> None:
        """The journal's rows (newest first, as ``agent_detail`` gives them)."""
        self.clear()
        self.merge_journal(rows)

    def merge_journal(self, rows: tuple[dict[str, Any], ...]) -> None:
        """Add the journal rows not shown yet (a decision seen live is the same row)."""
        for r in reversed(rows):
            self.upsert(
                decision_row(
                    int(r["ts"]), r["action"], r["reason"], float(r.get("qty") or 0.0),
                    r.get("price"), r.get("detail") or {},
                )
            )  # fmt: skip

    def add_live(self, d: AgentDecision) -> None:
        self.upsert(decision_row(d.ts_event, d.action, d.reason, d.qty, d.price, d.detail))
