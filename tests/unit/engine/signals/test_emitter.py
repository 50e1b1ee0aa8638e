"""SignalEmitter: values every time, unavailability once per change of state."""

from __future__ import annotations

from engine.signals.emitter import SignalEmitter
from tests.unit.engine.signals.conftest import BusKit


async def test_emitter_publishes_unavailable_once_per_state_change(bus_kit: BusKit) -> None:
    e = SignalEmitter(bus_kit.bus, bus_kit.clock, "mce", "BTC/USDT")
    assert e.unavailable("no model") is not None
    assert e.unavailable("no model") is None
    assert e.unavailable("book stale") is not None
    e.publish({"skew": 0.1}, 0.5)
    e.publish({"skew": 0.2}, 0.5)
    assert e.unavailable("book stale") is not None
    got = bus_kit.recorder.of("mce", "BTC/USDT")
    assert [u.available for u in got] == [False, False, True, True, False]
    assert [u.reason for u in got if not u.available] == ["no model", "book stale", "book stale"]
    assert got[2].values == {"skew": 0.1}
    assert got[2].compute_ms == 0.5


async def test_emitter_topic_without_symbol_is_the_signal_family(bus_kit: BusKit) -> None:
    e = SignalEmitter(bus_kit.bus, bus_kit.clock, "radar", None)
    assert e.topic == "signal.radar"
    e.publish({"score": 1.0}, 1.0, flags={"regime_change_detected": False})
    assert bus_kit.recorder.of("radar")[0].flags == {"regime_change_detected": False}
