"""The engine's order status table and cerebellum's are the same table.

``engine.model.orders.ORDER_TRANSITIONS`` mirrors ``OrderStatus::transition`` in
``cerebellum_core/src/orders/status.rs``. The binary prints its table
(``cerebellum_core transitions``, derived from ``transition`` over every status
and event); both must have the same statuses, initial state and edges.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from engine.model.enums import OrderStatus
from engine.model.orders import ORDER_TRANSITIONS


def _core_table(binary: Path) -> dict[str, object]:
    proc = subprocess.run(
        [str(binary), "transitions"], capture_output=True, text=True, timeout=30, check=False
    )
    assert proc.returncode == 0, proc.stderr
    table: dict[str, object] = json.loads(proc.stdout)
    return table


def _edges(transitions: dict[str, list[str]]) -> set[tuple[str, str]]:
    return {(src, dst) for src, targets in transitions.items() for dst in targets}


def test_order_state_tables_exported_core_table_equals_engine_table(
    cerebellum_binary: Path,
) -> None:
    core = _core_table(cerebellum_binary)
    transitions = core["transitions"]
    assert isinstance(transitions, dict)
    engine = {str(s): sorted(str(t) for t in targets) for s, targets in ORDER_TRANSITIONS.items()}

    assert set(transitions) == set(engine) == {str(s) for s in OrderStatus}
    assert _edges(transitions) == _edges(engine)


def test_order_state_tables_initial_state_is_pending_new_and_only_it_may_reject(
    cerebellum_binary: Path,
) -> None:
    core = _core_table(cerebellum_binary)
    assert core["initial"] == OrderStatus.PENDING_NEW
    transitions = core["transitions"]
    assert isinstance(transitions, dict)
    rejecting = {src for src, dst in _edges(transitions) if dst == OrderStatus.REJECTED}
    assert rejecting == {OrderStatus.PENDING_NEW}
