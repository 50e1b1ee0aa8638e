"""``crucible mce train|ofi``: train the micro-causality engine; measure OFI's explanatory power."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("mce", help="micro-causality engine: train the model, analyse L2 recordings")
    mce_sub = p.add_subparsers(dest="mce_command", metavar="ACTION", required=True)

    train = mce_sub.add_parser("train", help="train the MCE on recorded or simulated L2")
    src = train.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--from",
        dest="source",
        type=Path,
        help="L2 recording: wire JSON lines, Parquet, or a Binance capture",
    )
    src.add_argument(
        "--sim-minutes", type=int, help="generate this many minutes of simulated L2 first"
    )
    train.add_argument("--seed", type=int, default=7, help="simulation and training seed")
    train.add_argument("--l2-hz", type=float, default=5.0, help="snapshot rate of generated L2")
    train.add_argument(
        "--out", type=Path, default=None, help="model directory (default signals.mce.model_dir)"
    )
    train.add_argument("--horizon-ms", type=int, default=1000)
    train.add_argument("--seq-len", type=int, default=32)
    train.add_argument("--epochs", type=int, default=30)
    train.add_argument("--patience", type=int, default=4)
    train.set_defaults(handler=_cmd_train)

    ofi = mce_sub.add_parser(
        "ofi", help="R^2 of mid changes on order-flow imbalance (Cont et al. 2014)"
    )
    ofi.add_argument("--from", dest="source", type=Path, required=True, help="L2 recording")
    ofi.add_argument("--intervals-ms", type=int, nargs="+", default=[1000, 10000])
    ofi.set_defaults(handler=_cmd_ofi)


def read_l2(path: Path) -> Any:
    """Events of an L2 recording (Binance capture, wire JSON lines or a Parquet recording)."""
    from engine.marketdata.replay_source import open_recording

    return open_recording(path)


def _cmd_train(args: argparse.Namespace, _gui: Any) -> int:
    from tqdm import tqdm

    from engine.cli import load_cli_config
    from engine.execution.process import resolve_binary
    from engine.logs import setup_logging
    from engine.signals.mce.features import l2_feature_frames
    from engine.signals.mce.training import MCETrainParams, save_mce, train_mce
    from engine.signals.sim_history import run_sim_history

    config = load_cli_config(args)
    setup_logging(args.log_level or config.engine.log_level)
    out = args.out or config.paths.resolve(config.signals.mce.model_dir)
    with tempfile.TemporaryDirectory(prefix="crucible-mce-") as tmp:
        if args.source is not None:
            source, path = str(args.source), args.source
        else:
            print(f"generating {args.sim_minutes} simulated minutes of L2 (seed {args.seed}) ...")
            sim = run_sim_history(
                resolve_binary(config),
                Path(tmp),
                config.universe.symbols,
                args.sim_minutes,
                args.seed,
                l2_hz=args.l2_hz,
            )
            if sim.l2_path is None:
                raise RuntimeError("cerebellum_core history wrote no L2 file")
            source = (
                f"sim history --minutes {args.sim_minutes} --seed {args.seed} --l2-hz {args.l2_hz}"
            )
            path = sim.l2_path
        events = tqdm(read_l2(path), desc="l2 features", unit="ev", mininterval=1.0)
        frames = l2_feature_frames(events)
    print("snapshots per symbol:", {s: len(f.mid) for s, f in frames.items()})
    params = MCETrainParams(
        seq_len=args.seq_len,
        horizon_ms=args.horizon_ms,
        max_epochs=args.epochs,
        patience=args.patience,
        seed=args.seed,
    )
    result = train_mce(frames, params, source=source, progress=True)
    save_mce(result, out)
    print(json.dumps(result.metadata["metrics"], indent=2))
    print(f"saved the MCE model to {out}")
    return 0


def _cmd_ofi(args: argparse.Namespace, _gui: Any) -> int:
    from engine.signals.mce.features import l2_feature_frames
    from engine.signals.mce.ofi import ofi_regression

    frames = l2_feature_frames(read_l2(args.source))
    report = {
        symbol: [vars_of(ofi_regression(frame, ms)) for ms in args.intervals_ms]
        for symbol, frame in frames.items()
    }
    print(json.dumps(report, indent=2))
    return 0


def vars_of(obj: Any) -> dict[str, Any]:
    return {k: getattr(obj, k) for k in obj.__slots__}
