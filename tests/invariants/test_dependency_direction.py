"""Dependency direction, enforced on the source (``ast``), not just written down.

* nothing under engine/ imports Qt, pyqtgraph, qasync or cockpit;
* features and signals are pure: they import nothing of execution, risk or agents;
* the forge imports nothing of execution, risk or the cockpit;
* agents reach the venue only through the order gateway (no other execution module);
* nothing outside engine/execution/ calls the transport's send methods
  (``CerebellumLink.TRANSPORT_SEND_METHODS``): every order goes through the
  OrderGateway, which runs the pre-trade checks first.
"""

from __future__ import annotations

import ast
from pathlib import Path

from engine.execution.link import TRANSPORT_SEND_METHODS, CerebellumLink

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "engine"
GUI_PACKAGES = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph", "qasync", "cockpit")
# package (under engine/) -> module prefixes it must not import
FORBIDDEN_LAYERS: dict[str, tuple[str, ...]] = {
    "features": ("engine.execution", "engine.risk", "engine.agents"),
    "signals": ("engine.execution", "engine.risk", "engine.agents"),
    "forge": ("engine.execution", "engine.risk", "cockpit"),
}
AGENT_EXECUTION_ALLOWED = ("engine.execution.gateway",)


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and getattr(node.func, "attr", getattr(node.func, "id", ""))
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.append(node.args[0].value)
    return names


def _calls_to(path: Path, methods: frozenset[str]) -> list[str]:
    """``obj.method(...)`` calls (and bare references ``obj.method``) to any of ``methods``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = [
        (node.lineno, node.attr)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in methods
    ]
    return [f"line {line}: .{attr}" for line, attr in sorted(found)]


def _under(prefixes: tuple[str, ...], name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _python_files(*roots: Path) -> list[Path]:
    return sorted(p for root in roots if root.exists() for p in root.rglob("*.py"))


def test_engine_never_imports_gui_packages() -> None:
    offenders = []
    files = _python_files(ENGINE)
    assert len(files) > 10
    for path in files:
        for name in _imports(path):
            if name.split(".")[0] in GUI_PACKAGES:
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []


def test_features_signals_and_forge_import_only_what_their_layer_allows() -> None:
    offenders = []
    for package, forbidden in FORBIDDEN_LAYERS.items():
        files = _python_files(ENGINE / package)
        assert files, f"engine/{package} has no modules"
        for path in files:
            offenders += [
                f"{path.relative_to(ROOT)} imports {name}"
                for name in _imports(path)
                if _under(forbidden, name)
            ]
    assert offenders == []


def test_agents_reach_execution_only_through_the_gateway() -> None:
    offenders = []
    for path in _python_files(ENGINE / "agents"):
        offenders += [
            f"{path.relative_to(ROOT)} imports {name}"
            for name in _imports(path)
            if _under(("engine.execution",), name)
            and not _under(AGENT_EXECUTION_ALLOWED, name)
            and name != "engine.execution"
        ]
    assert offenders == []


def test_only_engine_execution_calls_the_transports_send_methods() -> None:
    execution = ENGINE / "execution"
    offenders = []
    for path in _python_files(ENGINE, ROOT / "cockpit", ROOT / "bench"):
        if execution in path.parents:
            continue
        offenders += [
            f"{path.relative_to(ROOT)} {call}" for call in _calls_to(path, TRANSPORT_SEND_METHODS)
        ]
    assert offenders == []


def test_the_send_method_list_names_every_sending_method_of_the_link() -> None:
    defined = {name for name in vars(CerebellumLink) if name.startswith("send_")}
    assert defined - {"send_request"} == set(TRANSPORT_SEND_METHODS)


def test_the_scanners_catch_what_they_forbid(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from PySide6.QtCore import QObject\n"
        "import importlib\n"
        "importlib.import_module('cockpit.app')\n"
        "from engine.execution import link\n"
        "async def f(engine):\n"
        "    await engine.link.send_order_and_confirm(None)\n"
        "    send = engine.link.send_cancel\n"
    )
    names = _imports(bad)
    assert names[:3] == ["PySide6.QtCore", "PySide6.QtCore.QObject", "importlib"]
    assert "cockpit.app" in names
    assert _under(("engine.execution",), "engine.execution.link")
    assert not _under(AGENT_EXECUTION_ALLOWED, "engine.execution.link")
    assert _calls_to(bad, TRANSPORT_SEND_METHODS) == [
        "line 6: .send_order_and_confirm",
        "line 7: .send_cancel",
    ]
