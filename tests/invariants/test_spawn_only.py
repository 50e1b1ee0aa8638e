"""DESIGN invariant 8: worker processes use spawn; DEAP's creator setup is idempotent.

The engine never forks a process that could inherit threads or library state
(LightGBM, XGBoost, torch); every multiprocessing context it makes is "spawn".
A spawned process re-imports the forge modules, so creating DEAP's types twice
must neither warn nor replace the classes.
"""

from __future__ import annotations

import ast
import importlib
import multiprocessing as mp
import warnings
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "engine"
DIRECT = {"Process", "Pool", "Queue", "SimpleQueue", "Pipe", "Manager"}


def _parse(path: Path) -> ast.Module:
    source = path.read_text()
    try:
        return ast.parse(source, filename=str(path))
    except SystemError:
        # CPython 3.11 can report "AST constructor recursion depth mismatch" once after an
        # unrelated failure left its recursion counter off (gh-106905); a second parse is clean.
        return ast.parse(source, filename=str(path))


def _violations(path: Path) -> list[str]:
    tree = _parse(path)
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = getattr(func, "attr", getattr(func, "id", ""))
        owner = getattr(getattr(func, "value", None), "id", "")
        args = [a.value for a in node.args if isinstance(a, ast.Constant)]
        if name in ("get_context", "set_start_method") and args != ["spawn"]:
            out.append(f"{name}({args})")
        if name in DIRECT and owner in ("mp", "multiprocessing"):
            out.append(f"{owner}.{name} without a spawn context")
        if name == "ProcessPoolExecutor":
            ctx = {k.arg for k in node.keywords}
            if "mp_context" not in ctx:
                out.append("ProcessPoolExecutor without mp_context")
        if name == "fork" and owner == "os":
            out.append("os.fork")
    return out


def test_engine_creates_processes_only_through_spawn_contexts() -> None:
    offenders = []
    for path in sorted(ENGINE.rglob("*.py")):
        offenders += [f"{path.relative_to(ENGINE.parent)}: {v}" for v in _violations(path)]
    assert offenders == []


def _creator_twice(queue: mp.Queue) -> None:  # type: ignore[type-arg]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        import engine.forge.creator as creator_module

        first = creator_module.ensure_creator_types()
        importlib.reload(creator_module)
        second = creator_module.ensure_creator_types()
    queue.put((first == second, mp.get_start_method(), first[1].__name__))


def test_creator_setup_is_idempotent_in_a_spawned_process() -> None:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_creator_twice, args=(queue,))
    proc.start()
    same, method, name = queue.get(timeout=60)
    proc.join(10)
    assert proc.exitcode == 0
    assert same
    assert method == "spawn"
    assert name == "CrucibleIndividual"


def test_creator_setup_twice_in_one_process_keeps_the_classes() -> None:
    from engine.forge.creator import build_toolbox, ensure_creator_types
    from engine.forge.primitives import build_primitive_set

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        first = ensure_creator_types()
        build_toolbox(build_primitive_set(["x"]), 6)
        assert ensure_creator_types() == first
