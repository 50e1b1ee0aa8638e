//! Market data on the PUB socket: two frames (topic, JSON body), with a
//! per-symbol sequence number shared by the symbol's books and trades.
//!
//! A symbol's trades from one loop turn travel in one message, one envelope
//! per line (JSON Lines, as on the command socket): a burst of fills then
//! costs subscribers one receive instead of one per trade. A book snapshot is
//! always its own message, sent after the trades that precede it.

use crate::{
    protocol::reports::{book_topic, encode, trade_topic, BookSnapshot, Trade},
    types::Instrument,
    venue::MarketData,
};

/// Numbers and encodes market data; the socket is optional (tests, history).
pub struct Publisher {
    socket: Option<zmq::Socket>,
    seq: Vec<u64>,
    topics: Vec<(String, String)>,
    buf: Vec<u8>,
    /// Per symbol: the trades of this turn not yet sent, joined by `\n`.
    trades: Vec<Vec<u8>>,
    /// Messages the socket refused (PUB drops at its high-water mark).
    pub dropped: u64,
    /// Messages sent.
    pub sent: u64,
}

impl Publisher {
    /// Creates a publisher for the instruments.
    pub fn new(socket: Option<zmq::Socket>, instruments: &[Instrument]) -> Self {
        Self {
            socket,
            seq: vec![0; instruments.len()],
            topics: instruments
                .iter()
                .map(|i| (book_topic(&i.symbol), trade_topic(&i.symbol)))
                .collect(),
            buf: Vec::with_capacity(4096),
            trades: vec![Vec::new(); instruments.len()],
            dropped: 0,
            sent: 0,
        }
    }

    /// Encodes one market data item; returns `(topic, body)` and advances the symbol's seq.
    pub fn encode<'a>(
        &'a mut self,
        md: &MarketData,
        instruments: &[Instrument],
    ) -> Option<(&'a str, &'a [u8])> {
        let (symbol, is_book) = match md {
            MarketData::Book { symbol, .. } => (*symbol, true),
            MarketData::Trade { symbol, .. } => (*symbol, false),
        };
        let s = usize::from(symbol);
        let instrument = instruments.get(s)?;
        let seq = self.seq.get_mut(s)?;
        *seq += 1;
        let seq = *seq;
        match md {
            MarketData::Book {
                ts_event,
                bids,
                asks,
                ..
            } => {
                encode(
                    &mut self.buf,
                    &BookSnapshot::new(instrument, seq, *ts_event, bids, asks),
                );
            }
            MarketData::Trade {
                ts_event,
                price_ticks,
                qty_lots,
                aggressor,
                trade_id,
                ..
            } => {
                encode(
                    &mut self.buf,
                    &Trade::new(
                        instrument,
                        seq,
                        *ts_event,
                        *price_ticks,
                        *qty_lots,
                        *aggressor,
                        *trade_id,
                    ),
                );
            }
        }
        let (book, trade) = self.topics.get(s)?;
        Some((if is_book { book } else { trade }, &self.buf))
    }

    /// Publishes one turn's market data, in order per symbol, trades coalesced.
    pub fn publish_all(&mut self, items: &[MarketData], instruments: &[Instrument]) {
        for md in items {
            let (symbol, is_book) = match md {
                MarketData::Book { symbol, .. } => (usize::from(*symbol), true),
                MarketData::Trade { symbol, .. } => (usize::from(*symbol), false),
            };
            if is_book {
                self.flush_trades(symbol);
            }
            if self.encode(md, instruments).is_none() {
                continue;
            }
            let Self {
                socket,
                topics,
                buf,
                trades,
                sent,
                dropped,
                ..
            } = self;
            if is_book {
                let topic = topics.get(symbol).map_or("", |(book, _)| book.as_str());
                send(socket.as_ref(), topic, buf, sent, dropped);
                continue;
            }
            let Some(pending) = trades.get_mut(symbol) else {
                continue;
            };
            if !pending.is_empty() {
                pending.push(b'\n');
            }
            pending.extend_from_slice(buf);
            if pending.len() >= MAX_TRADE_BATCH_BYTES {
                self.flush_trades(symbol);
            }
        }
        for symbol in 0..self.trades.len() {
            self.flush_trades(symbol);
        }
    }

    fn flush_trades(&mut self, symbol: usize) {
        let Self {
            socket,
            topics,
            trades,
            sent,
            dropped,
            ..
        } = self;
        let Some(pending) = trades.get_mut(symbol) else {
            return;
        };
        if !pending.is_empty() {
            let topic = topics.get(symbol).map_or("", |(_, trade)| trade.as_str());
            send(socket.as_ref(), topic, pending, sent, dropped);
            pending.clear();
        }
    }
}

fn send(socket: Option<&zmq::Socket>, topic: &str, body: &[u8], sent: &mut u64, dropped: &mut u64) {
    let Some(socket) = socket else {
        return;
    };
    match socket.send_multipart([topic.as_bytes(), body], zmq::DONTWAIT) {
        Ok(()) => *sent += 1,
        Err(_) => *dropped += 1,
    }
}

/// A message of coalesced trades is sent once it reaches this size.
const MAX_TRADE_BATCH_BYTES: usize = 32 * 1024;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Side;

    fn trade(symbol: u16, trade_id: u64) -> MarketData {
        MarketData::Trade {
            symbol,
            ts_event: 1,
            price_ticks: 100,
            qty_lots: 1,
            aggressor: Side::Buy,
            trade_id,
        }
    }

    fn book(symbol: u16) -> MarketData {
        MarketData::Book {
            symbol,
            ts_event: 1,
            bids: vec![(99, 1)],
            asks: vec![(101, 1)],
        }
    }

    #[test]
    fn test_a_symbols_trades_of_one_turn_share_a_message_in_sequence() -> Result<(), String> {
        let instruments = vec![
            Instrument::new_checked("BTC/USDT", 0.1, 0.001, 0.001)?,
            Instrument::new_checked("ETH/USDT", 0.01, 0.01, 0.01)?,
        ];
        let ctx = zmq::Context::new();
        let publisher = ctx.socket(zmq::PUB).map_err(|e| e.to_string())?;
        publisher
            .bind("inproc://md-test")
            .map_err(|e| e.to_string())?;
        let sub = ctx.socket(zmq::SUB).map_err(|e| e.to_string())?;
        sub.connect("inproc://md-test").map_err(|e| e.to_string())?;
        sub.set_subscribe(b"md.").map_err(|e| e.to_string())?;
        sub.set_rcvtimeo(2_000).map_err(|e| e.to_string())?;
        std::thread::sleep(std::time::Duration::from_millis(50)); // the subscription lands
        let mut p = Publisher::new(Some(publisher), &instruments);
        let items = [trade(0, 1), trade(1, 2), trade(0, 3), book(0), trade(0, 4)];
        p.publish_all(&items, &instruments);
        assert_eq!(
            p.sent, 4,
            "BTC trades 1+3, BTC book, BTC trade 4, ETH trade 2"
        );
        let mut messages = Vec::new();
        for _ in 0..4 {
            let parts = sub.recv_multipart(0).map_err(|e| e.to_string())?;
            let topic = String::from_utf8_lossy(&parts[0]).into_owned();
            let envelopes: Vec<serde_json::Value> = parts[1]
                .split(|b| *b == b'\n')
                .map(|line| serde_json::from_slice(line).map_err(|e| e.to_string()))
                .collect::<Result<_, _>>()?;
            let seqs: Vec<u64> = envelopes.iter().filter_map(|e| e["seq"].as_u64()).collect();
            messages.push((topic, seqs));
        }
        assert_eq!(
            messages,
            [
                ("md.trade.BTC/USDT".to_owned(), vec![1, 2]),
                ("md.book.BTC/USDT".to_owned(), vec![3]),
                ("md.trade.BTC/USDT".to_owned(), vec![4]),
                ("md.trade.ETH/USDT".to_owned(), vec![1]),
            ]
        );
        Ok(())
    }
}
