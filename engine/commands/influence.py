"""``crucible influence train``: train the InfluenceMapper's GNN on aligned 1m bars."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("influence", help="cross-asset influence GNN")
    inf_sub = p.add_subparsers(dest="influence_command", metavar="ACTION", required=True)
    train = inf_sub.add_parser("train", help="train the influence GNN")
    src = train.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--from", dest="source", type=Path, help="directory of <BASE>-<QUOTE>_1m.csv history files"
    )
    src.add_argument(
        "--exchange", help="load the universe's 1m bars of this exchange from the BarStore"
    )
    src.add_argument("--sim-minutes", type=int, help="generate this many simulated minutes first")
    train.add_argument("--seed", type=int, default=7, help="simulation and training seed")
    train.add_argument(
        "--out",
        type=Path,
        default=None,
        help="model directory (default signals.influence.model_dir)",
    )
    train.add_argument("--window", type=int, default=120)
    train.add_argument("--epochs", type=int, default=60)
    train.set_defaults(handler=_cmd_train)


def _cmd_train(args: argparse.Namespace, _gui: Any) -> int:
    from engine.cli import load_cli_config
    from engine.execution.process import resolve_binary
    from engine.logs import setup_logging
    from engine.signals.bar_inputs import aligned_closes, load_store_closes, read_history_dir
    from engine.signals.influence_training import (
        InfluenceTrainParams,
        save_influence,
        train_influence,
    )
    from engine.signals.sim_history import run_sim_history

    config = load_cli_config(args)
    setup_logging(args.log_level or config.engine.log_level)
    symbols = list(config.universe.symbols)
    out = args.out or config.paths.resolve(config.signals.influence.model_dir)
    if args.exchange:
        closes = load_store_closes(
            config.paths.resolve(config.paths.data_dir), args.exchange, symbols
        )
        source = f"barstore {args.exchange}"
    elif args.source:
        closes = aligned_closes(read_history_dir(args.source, symbols))
        source = str(args.source)
    else:
        with tempfile.TemporaryDirectory(prefix="crucible-influence-") as tmp:
            print(f"generating {args.sim_minutes} simulated minutes (seed {args.seed}) ...")
            sim = run_sim_history(
                resolve_binary(config), Path(tmp), tuple(symbols), args.sim_minutes, args.seed
            )
            closes = aligned_closes(read_history_dir(sim.bars_dir, symbols))
        source = f"sim history --minutes {args.sim_minutes} --seed {args.seed}"
    print(f"{len(closes)} aligned bars of {symbols}")
    params = InfluenceTrainParams(window=args.window, max_epochs=args.epochs, seed=args.seed)
    result = train_influence(closes, params, source=source, progress=True)
    save_influence(result, out)
    print(json.dumps(result.metadata["metrics"], indent=2))
    print(f"saved the influence model to {out}")
    return 0
