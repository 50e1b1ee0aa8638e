//! Market data on the PUB socket: two frames (topic, JSON body), with a
//! per-symbol sequence number shared by the symbol's books and trades.

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

    /// Publishes one item on the socket (if any).
    pub fn publish(&mut self, md: &MarketData, instruments: &[Instrument]) {
        let Some(socket) = self.socket.take() else {
            let _ = self.encode(md, instruments);
            return;
        };
        if let Some((topic, body)) = self.encode(md, instruments) {
            let frames: [&[u8]; 2] = [topic.as_bytes(), body];
            match socket.send_multipart(frames, zmq::DONTWAIT) {
                Ok(()) => self.sent += 1,
                Err(_) => self.dropped += 1,
            }
        }
        self.socket = Some(socket);
    }
}
