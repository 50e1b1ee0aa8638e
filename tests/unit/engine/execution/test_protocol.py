"""Wire protocol (engine side): round trips, validation, never crashing on junk."""

from __future__ import annotations

import contextlib
import json

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.execution import protocol
from engine.execution.market_data_wire import decode_market_data
from engine.execution.protocol import ProtocolError, decode_message
from engine.model.commands import CancelAll, KillSwitch, NewOrder
from engine.model.enums import OrderStatus, OrderType, Scope, Side, TradingState
from engine.model.events import OrderUpdate, RiskEvent
from engine.model.market import BookSnapshot, Trade

UPDATE = {
    "v": 1,
    "type": "OrderUpdate",
    "seq": 18,
    "client_order_id": "a1-000001",
    "venue_order_id": "S-42",
    "strategy_id": "agent-btc-1",
    "symbol": "BTC/USDT",
    "side": "BUY",
    "order_type": "LIMIT",
    "status": "PARTIALLY_FILLED",
    "price": 63250.5,
    "qty": 0.01,
    "last_qty": 0.004,
    "last_price": 63250.5,
    "fee": 0.1265,
    "fee_asset": "USDT",
    "liquidity": "MAKER",
    "exec_id": "E-901",
    "cum_qty": 0.004,
    "avg_price": 63250.5,
    "leaves_qty": 0.006,
    "reason": None,
    "ts_event": 1717200000100000000,
    "ts_init": 1717200000100020000,
}


def test_order_update_from_protocol_doc_decodes_with_its_fill() -> None:
    msg = decode_message(json.dumps(UPDATE).encode())
    assert isinstance(msg, OrderUpdate)
    assert msg.status is OrderStatus.PARTIALLY_FILLED
    assert msg.is_fill
    assert msg.last_qty == pytest.approx(0.004)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("seq"), "missing required field `seq`"),
        (lambda d: d.update(status="LOST"), r"Invalid enum value 'LOST' - at `\$.status`"),
        (lambda d: d.update(qty="0.01"), r"Expected `float`, got `str` - at `\$.qty`"),
        (lambda d: d.update(v=2), r"Invalid enum value 2 - at `\$.v`"),
        (lambda d: d.update(type="Nope"), r"Invalid value 'Nope' - at `\$.type`"),
        (lambda d: d.update(seq=True), r"Expected `int`, got `bool` - at `\$.seq`"),
    ],
)
def test_malformed_report_raises_protocol_error_naming_the_problem(mutate, message) -> None:  # type: ignore[no-untyped-def]
    d = dict(UPDATE)
    mutate(d)
    with pytest.raises(ProtocolError, match=message):
        decode_message(json.dumps(d).encode())


def test_nan_and_oversized_frames_are_protocol_errors() -> None:
    with pytest.raises(ProtocolError, match="malformed"):
        decode_message(json.dumps({**UPDATE, "price": float("nan")}).encode())
    with pytest.raises(ProtocolError, match="out of range"):
        decode_message(json.dumps({**UPDATE, "price": 1e308}).encode().replace(b"1e+308", b"1e999"))
    with pytest.raises(ProtocolError, match="exceeds"):
        decode_message(b" " * (protocol.MAX_FRAME_BYTES + 1))


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=512))
def test_random_bytes_never_raise_anything_but_protocol_error(data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        decode_message(data)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(sorted(UPDATE)), _json_values)
def test_any_single_field_mutation_is_decoded_or_rejected_cleanly(key: str, value: object) -> None:
    d = {**UPDATE, key: value}
    with contextlib.suppress(ProtocolError):
        decode_message(json.dumps(d).encode())


def test_new_order_encodes_every_field_the_core_needs() -> None:
    order = NewOrder("c1", "s1", "BTC/USDT", Side.SELL, OrderType.LIMIT, 0.5, 60000.5)
    body = json.loads(protocol.encode_command(7, order))
    assert body == {
        "v": 1,
        "type": "NewOrder",
        "req_id": 7,
        "client_order_id": "c1",
        "strategy_id": "s1",
        "symbol": "BTC/USDT",
        "side": "SELL",
        "order_type": "LIMIT",
        "price": 60000.5,
        "qty": 0.5,
        "time_in_force": "GTC",
        "post_only": False,
        "reduce_only": False,
    }


def test_nan_quantity_is_refused_before_encoding() -> None:
    with pytest.raises(ProtocolError):
        protocol.encode_command(
            1, NewOrder("c", "s", "BTC/USDT", Side.BUY, OrderType.MARKET, float("nan"))
        )


def test_kill_switch_and_cancel_all_encode_scope_and_filters() -> None:
    ks = json.loads(
        protocol.encode_command(1, KillSwitch(Scope.SYMBOL, "ETH/USDT", TradingState.REDUCING, "r"))
    )
    assert (ks["scope"], ks["target"], ks["state"]) == ("SYMBOL", "ETH/USDT", "REDUCING")
    ca = json.loads(protocol.encode_command(2, CancelAll(strategy_id="x")))
    assert (ca["strategy_id"], ca["symbol"]) == ("x", None)


def test_market_data_decodes_to_normalized_types() -> None:
    book = decode_market_data(
        json.dumps(
            {
                "v": 1,
                "type": "BookSnapshot",
                "symbol": "BTC/USDT",
                "seq": 5,
                "ts_event": 9,
                "bids": [[100.0, 1.0], [99.5, 2.0]],
                "asks": [[100.5, 3.0]],
            }
        ).encode(),
        10,
    )
    assert isinstance(book, BookSnapshot)
    assert book.mid == pytest.approx(100.25)
    assert book.bids.shape == (2, 2)
    trade = decode_market_data(
        json.dumps(
            {
                "v": 1,
                "type": "Trade",
                "symbol": "BTC/USDT",
                "seq": 6,
                "ts_event": 9,
                "price": 100.5,
                "qty": 0.1,
                "aggressor": "BUY",
                "trade_id": "T1",
            }
        ).encode(),
        10,
    )
    assert isinstance(trade, Trade)
    assert trade.aggressor is Side.BUY
    with pytest.raises(ProtocolError, match="bids"):
        decode_market_data(
            json.dumps(
                {
                    "v": 1,
                    "type": "BookSnapshot",
                    "symbol": "X",
                    "seq": 1,
                    "ts_event": 1,
                    "bids": [[1.0]],
                    "asks": [],
                }
            ).encode(),
            1,
        )


def test_a_frame_decodes_in_one_call_to_what_its_lines_decode_to() -> None:
    """The one-call path (lines as a JSON array) and the line-by-line path agree."""
    ack = {"v": 1, "type": "Ack", "req_id": 7, "last_seq": 17, "status": "NEW"}
    risk = {
        "v": 1,
        "type": "RiskEvent",
        "seq": 20,
        "kind": "DEADMAN",
        "scope": "GLOBAL",
        "message": "no heartbeat",
        "ts_event": 5,
    }
    lines = [json.dumps(m).encode() for m in (ack, UPDATE, {**UPDATE, "seq": 19}, risk)]
    frame = b"\n".join(lines)
    fast = protocol.decode_frame(frame)
    by_line = [protocol.decode_message(line) for line in lines]
    assert fast[:3] == by_line[:3]
    risk_fast, risk_line = fast[3], by_line[3]
    assert isinstance(risk_fast, RiskEvent)
    assert isinstance(risk_line, RiskEvent)
    # Each decode mints its own event id; everything else is the same.
    assert msgspec.structs.replace(risk_fast, event_id="") == msgspec.structs.replace(
        risk_line, event_id=""
    )
    assert [type(m).__name__ for m in fast] == [
        "Ack",
        "_OrderUpdateWire",
        "_OrderUpdateWire",
        "RiskEvent",
    ]
    # One bad line: the frame is decoded line by line and the bad one is marked in place.
    slow = protocol.decode_frame(b"\n".join([lines[0], b'{"v":1,"type":"Ack"', lines[1]]))
    assert isinstance(slow[1], protocol.ProtocolError)
    assert slow[0] == fast[0]
    assert slow[2] == fast[1]
