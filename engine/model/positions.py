"""Position: a strategy's holding in one symbol, built only from fills."""

from __future__ import annotations

import msgspec


class Position(msgspec.Struct, frozen=True):
    """A strategy's position in one symbol: signed quantity, average entry, realised PnL."""

    strategy_id: str
    symbol: str
    qty: float = 0.0
    avg_price: float = 0.0
    realized_pnl: float = 0.0
    fees: float = 0.0

    def unrealized_pnl(self, mark: float) -> float:
        return self.qty * (mark - self.avg_price) if self.qty else 0.0
