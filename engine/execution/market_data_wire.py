"""Market-data wire v1 (docs/protocol.md, PUB/SUB): one BookSnapshot or Trade per envelope.

Decoded straight into the engine's normalized types; anything malformed raises
``protocol.ProtocolError``, which the market-data channel counts and logs.
"""

from __future__ import annotations

import msgspec

from engine.execution.protocol import SIDES, ProtocolError, SideName, Wire, check_size
from engine.model.market import BookSnapshot, Trade, levels_array


class _BookWire(Wire, frozen=True, tag="BookSnapshot"):
    symbol: str
    seq: int
    ts_event: int
    bids: list[tuple[float, float]]
    asks: list[tuple[float, float]]


class _TradeWire(Wire, frozen=True, tag="Trade"):
    symbol: str
    seq: int
    ts_event: int
    price: float
    qty: float
    aggressor: SideName
    trade_id: str


_MD_DECODER: msgspec.json.Decoder[_BookWire | _TradeWire] = msgspec.json.Decoder(
    _BookWire | _TradeWire
)


def decode_market_data(frame: bytes, ts_init: int) -> BookSnapshot | Trade:
    """Decode one PUB body (BookSnapshot or Trade) into the engine's normalized types."""
    check_size(frame)
    try:
        msg = _MD_DECODER.decode(frame)
    except msgspec.DecodeError as exc:
        raise ProtocolError(f"malformed market data: {exc}") from None
    if isinstance(msg, _BookWire):
        return BookSnapshot(
            symbol=msg.symbol,
            ts_event=msg.ts_event,
            ts_init=ts_init,
            bids=levels_array(msg.bids),
            asks=levels_array(msg.asks),
            seq=msg.seq,
        )
    return Trade(
        symbol=msg.symbol,
        ts_event=msg.ts_event,
        ts_init=ts_init,
        price=msg.price,
        qty=msg.qty,
        aggressor=SIDES[msg.aggressor],
        trade_id=msg.trade_id,
        seq=msg.seq,
    )
