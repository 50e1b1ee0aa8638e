"""``crucible data``: fill and inspect the bar store.

* ``download``: paginated ccxt OHLCV download (resumable, rate limited).
* ``simulate``: bars from Cerebellum's history mode, stored as exchange ``sim``.
* ``import``: a user's own OHLCV file (CSV, Parquet, Feather), validated, into the store.
* ``info``: what the store holds (range, rows, gaps) per series.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any, Final

from engine.core.errors import DataError

# Imported files are stored under this exchange name unless --exchange is given.
IMPORT_EXCHANGE: Final = "import"


def _symbols(text: str) -> list[str]:
    symbols = [s.strip().upper() for s in text.split(",") if s.strip()]
    if not symbols:
        raise argparse.ArgumentTypeError("give at least one symbol, e.g. BTC/USDT,ETH/USDT")
    return symbols


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("data", help="download, simulate and inspect market history")
    data_sub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    dl = data_sub.add_parser("download", help="download OHLCV history with ccxt into the store")
    dl.add_argument("--exchange", default="bybit", help="ccxt exchange id (default bybit)")
    dl.add_argument(
        "--symbols", type=_symbols, required=True, help="comma-separated, e.g. BTC/USDT,ETH/USDT"
    )
    dl.add_argument("--timeframe", default="1m", help="bar timeframe (default 1m)")
    dl.add_argument("--since", required=True, help="first bar to fetch, e.g. 2024-01-01")
    dl.add_argument("--until", default=None, help="stop before this time (default: now)")
    dl.add_argument("--no-progress", action="store_true", help="no progress bar")
    dl.set_defaults(handler=_cmd_download)

    sim = data_sub.add_parser("simulate", help="fill the store from Cerebellum's simulator")
    sim.add_argument(
        "--symbols", type=_symbols, default=None, help="default: the configured universe"
    )
    sim.add_argument(
        "--days", type=int, default=None, help="days of 1m bars (default data.simulate.days)"
    )
    sim.add_argument(
        "--seed", type=int, default=None, help="simulator seed (default data.simulate.seed)"
    )
    sim.add_argument(
        "--start", default=None, help="open time of the first bar (default 2024-01-01)"
    )
    sim.add_argument("--binary", type=Path, default=None, help="cerebellum_core binary")
    sim.add_argument(
        "--keep", action="store_true", help="merge into existing sim bars instead of replacing them"
    )
    sim.add_argument("--no-progress", action="store_true", help="no progress bar")
    sim.set_defaults(handler=_cmd_simulate)

    _register_import(data_sub)

    info = data_sub.add_parser("info", help="list stored series with their range and gaps")
    info.add_argument("--exchange", default=None, help="only this exchange")
    info.add_argument("--timeframe", default="1m", help="timeframe (default 1m)")
    info.set_defaults(handler=_cmd_info)


def _register_import(data_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    imp = data_sub.add_parser(
        "import", help="validate an OHLCV file (CSV, Parquet, Feather) and store its bars"
    )
    imp.add_argument("file", type=Path, help="a .csv, .parquet or .feather file")
    imp.add_argument("--symbol", required=True, help="symbol to store it as, e.g. BTC/USDT")
    imp.add_argument(
        "--exchange",
        default=IMPORT_EXCHANGE,
        help=f"exchange name in the store (default {IMPORT_EXCHANGE})",
    )
    imp.add_argument(
        "--timeframe", default=None, help="bar timeframe (default: inferred from the spacing)"
    )
    imp.add_argument(
        "--sort", action="store_true", help="sort rows that are out of order instead of failing"
    )
    imp.add_argument("--no-progress", action="store_true", help="no progress bar")
    imp.set_defaults(handler=_cmd_import)


def _timestamp(text: str | None, option: str) -> Any:
    """Parse a date/time option as UTC; a clear error instead of a traceback."""
    if text is None:
        return None
    import pandas as pd

    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError):
        raise DataError(f"{option} {text!r} is not a date or time (e.g. 2024-01-01)") from None
    if stamp is pd.NaT:
        raise DataError(f"{option} {text!r} is not a date or time (e.g. 2024-01-01)")
    return stamp.tz_localize("UTC") if stamp.tz is None else stamp.tz_convert("UTC")


def _setup(args: argparse.Namespace) -> Any:
    from engine.cli import load_cli_config
    from engine.logs import setup_logging

    config = load_cli_config(args)
    setup_logging(args.log_level or config.engine.log_level)
    return config


def _cmd_download(args: argparse.Namespace, _gui: Any) -> int:
    from engine.marketdata.history import download_history
    from engine.marketdata.store import BarStore
    from engine.marketdata.timeframes import timeframe_ms

    config = _setup(args)
    timeframe_ms(args.timeframe)
    since, until = _timestamp(args.since, "--since"), _timestamp(args.until, "--until")
    store = BarStore.from_config(config)
    results = asyncio.run(
        download_history(
            args.exchange,
            args.symbols,
            args.timeframe,
            since,
            store,
            config.data.download,
            until=until,
            progress=not args.no_progress,
        )
    )
    for r in results:
        gaps = (
            f", {len(r.gaps)} gaps ({sum(g.missing for g in r.gaps)} bars missing)"
            if r.gaps
            else ""
        )
        span = f" {r.first} .. {r.last}" if r.first is not None else ""
        detail = f": {r.message}" if r.message else ""
        print(
            f"{r.exchange} {r.symbol} {r.timeframe}: +{r.rows_added} bars in {r.pages} pages{span}"
            f"{gaps}; stopped: {r.stop_reason.value}{detail}"
        )
    return 0 if all(r.ok for r in results) else 1


def _cmd_simulate(args: argparse.Namespace, _gui: Any) -> int:

    from engine.config import REPO_ROOT
    from engine.marketdata.simulate import simulate_into_store
    from engine.marketdata.store import BarStore

    config = _setup(args)
    binary = args.binary or config.cerebellum.binary
    binary = binary if binary.is_absolute() else REPO_ROOT / binary
    days = args.days if args.days is not None else config.data.simulate.days
    if days <= 0:
        raise DataError("--days must be positive")
    results = simulate_into_store(
        BarStore.from_config(config),
        binary,
        args.symbols or list(config.universe.symbols),
        days=days,
        seed=args.seed if args.seed is not None else config.data.simulate.seed,
        start=_timestamp(args.start, "--start"),
        replace=not args.keep,
        timeout_s=config.data.simulate.timeout_s,
        progress=not args.no_progress,
    )
    for r in results:
        regimes = ", ".join(f"{k} {v}" for k, v in sorted(r.regimes.items()))
        print(
            f"sim {r.symbol} 1m: {r.rows} bars {r.first} .. {r.last} (+{r.rows_added}); regimes: {regimes}"
        )
    return 0


def _cmd_info(args: argparse.Namespace, _gui: Any) -> int:
    import pandas as pd

    from engine.marketdata.frames import find_gaps
    from engine.marketdata.store import BarStore

    config = _setup(args)
    store = BarStore.from_config(config)
    exchanges = [args.exchange] if args.exchange else store.exchanges()
    shown = 0
    for exchange in exchanges:
        for symbol in store.symbols(exchange, args.timeframe):
            frame = store.load(exchange, symbol, args.timeframe)
            gaps = find_gaps(pd.DatetimeIndex(frame.index), args.timeframe) if len(frame) else ()
            missing = sum(g.missing for g in gaps)
            span = f"{frame.index[0]} .. {frame.index[-1]}" if len(frame) else "empty"
            print(
                f"{exchange} {symbol} {args.timeframe}: {len(frame)} bars {span}; {len(gaps)} gaps ({missing} missing)"
            )
            shown += 1
    if not shown:
        print(f"no {args.timeframe} bars under {store.root}")
    return 0


def _cmd_import(args: argparse.Namespace, _gui: Any) -> int:
    """Exit 2 when the file cannot be imported (nothing is written), 0 once it is stored."""
    from engine.marketdata.importer import prepare_import, write_import
    from engine.marketdata.store import BarStore

    config = _setup(args)
    store = BarStore.from_config(config)
    symbol = args.symbol.strip().upper()
    try:
        store.partition(args.exchange, symbol, args.timeframe or "1m")
        frame, report = prepare_import(
            args.file, timeframe=args.timeframe, sort=args.sort, progress=not args.no_progress
        )
    except DataError as exc:
        print(f"crucible: error: {exc}", file=sys.stderr)
        return 2
    if not report.ok:
        print(f"crucible: error: {report.error()}", file=sys.stderr)
        return 2
    assert report.timeframe is not None
    for warning in [*report.warnings, report.gap_warning()]:
        if warning:
            print(f"crucible: warning: {warning}", file=sys.stderr)
    added = write_import(
        store, args.exchange, symbol, report.timeframe, frame, progress=not args.no_progress
    )
    print(f"{args.exchange} {symbol} {report.timeframe}: {report.summary()}; +{added} new bars")
    return 0
