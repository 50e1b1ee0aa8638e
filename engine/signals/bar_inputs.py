"""Close prices for the cross-asset signals' training and evaluation, aligned on bar open time.

Sources: a directory of ``cerebellum_core history`` CSVs
(``<BASE>-<QUOTE>_1m.csv`` with ``ts_ms,open,high,low,close,volume,trades,regime``)
or the BarStore (``exchange`` "sim" for simulated history), both read with
the market-data package's readers; only timestamps present for every symbol
are kept (an inner join: no invented bars).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from engine.core.errors import DataError


def read_history_dir(directory: Path, symbols: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """Every ``*_1m.csv`` in ``directory`` (or just ``symbols``), keyed by symbol."""
    from engine.marketdata.simulate import read_history_csv
    from engine.marketdata.store import dirname_to_symbol

    files = sorted(directory.glob("*_1m.csv"))
    if not files:
        raise DataError(f"no *_1m.csv bar files in {directory}")
    out = {dirname_to_symbol(f.name.split("_", 1)[0]): read_history_csv(f) for f in files}
    if symbols:
        missing = [s for s in symbols if s not in out]
        if missing:
            raise DataError(f"{directory} has no bars for {missing} (found {sorted(out)})")
        out = {s: out[s] for s in symbols}
    return out


def aligned_closes(bars: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """(time x symbol) closes at the timestamps every symbol has."""
    if len(bars) < 2:
        raise DataError("need bars of at least two symbols")
    closes = pd.concat({s: df["close"] for s, df in bars.items()}, axis=1, join="inner")
    if closes.empty:
        raise DataError("the symbols' bars share no timestamps")
    return closes


def load_store_closes(
    data_dir: Path, exchange: str, symbols: list[str], timeframe: str = "1m"
) -> pd.DataFrame:
    """Aligned closes of ``symbols`` from the BarStore under ``data_dir / "bars"``."""
    from engine.marketdata.store import BarStore

    store = BarStore(data_dir / "bars")
    return aligned_closes({s: store.load(exchange, s, timeframe) for s in symbols})
