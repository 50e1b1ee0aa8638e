"""Issue 6, acceptance 3: radar, influence and MCE all publish on the bus on the live sim.

The engine runs as `crucible run --headless` would (build_engine, the real core
on the simulated venue), with the committed MCE and influence models; the bar
signals are warmed up on the venue's recent 1-minute bars.
"""

from __future__ import annotations

from pathlib import Path

from engine.config import REPO_ROOT
from engine.core import topics
from engine.model.events import SignalUpdate
from tests.kit.engine_harness import running_engine, wait_until


async def test_all_three_signals_publish_values_on_the_live_sim(
    tmp_path: Path, cerebellum_binary: Path
) -> None:
    models = REPO_ROOT / "models"
    signals = {
        "mce": {"model_dir": str(models / "mce")},
        "influence": {"model_dir": str(models / "influence")},
    }
    async with running_engine(tmp_path, cerebellum_binary, signals=signals) as engine:
        seen: list[SignalUpdate] = []
        engine.bus.subscribe(topics.all_of("signal"), lambda _t, m: seen.append(m), direct=True)
        symbols = engine.config.universe.symbols

        def have(name: str, symbol: str | None) -> bool:
            return any(u.name == name and u.symbol == symbol and u.available for u in seen)

        def all_three() -> bool:
            return (
                have("radar", None)
                and all(have("influence", s) for s in symbols)
                and all(have("mce", s) for s in symbols)
            )

        waited = await wait_until(all_three, 120, "radar, influence and MCE values on the bus")
        latest = {(u.name, u.symbol): u for u in seen if u.available}
        for (name, symbol), u in sorted(latest.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
            print(f"{name:9s} {symbol or '-':9s} {u.compute_ms:6.2f} ms  {u.values}")
        print(f"all three signals on the bus {waited:.1f} s after start")
        for u in latest.values():
            assert u.compute_ms >= 0
            assert all(v == v for v in u.values.values())  # no NaN reaches the bus
