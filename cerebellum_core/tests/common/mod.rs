//! Test kit: a core over the simulated venue driven by a manual clock.
#![allow(dead_code)]

pub mod bybit_standin;
pub mod wire;

use cerebellum_core::{
    clock::{ManualClock, NS_PER_MS},
    config::Config,
    server::core::{Core, Out},
    types::Side,
    venue::sim::{tape::DEFAULT_T0_NS, SimVenue},
};
use serde_json::{json, Value};

/// Replies and pushed reports produced by one step.
#[derive(Debug, Default)]
pub struct Step {
    /// Messages addressed to the sending peer.
    pub replies: Vec<Value>,
    /// Journaled reports pushed to registered peers.
    pub reports: Vec<Value>,
}

impl Step {
    /// Returns the single reply.
    pub fn reply(&self) -> &Value {
        assert_eq!(
            self.replies.len(),
            1,
            "expected one reply, got {:?}",
            self.replies
        );
        &self.replies[0]
    }

    /// Returns the order updates of one client order id.
    pub fn updates_of(&self, client_order_id: &str) -> Vec<&Value> {
        self.reports
            .iter()
            .filter(|r| r["type"] == "OrderUpdate" && r["client_order_id"] == client_order_id)
            .collect()
    }

    /// Returns the statuses of one order's updates in order.
    pub fn statuses_of(&self, client_order_id: &str) -> Vec<String> {
        self.updates_of(client_order_id)
            .iter()
            .map(|u| u["status"].as_str().unwrap_or("").to_owned())
            .collect()
    }
}

/// A core with a simulated venue and a manual clock.
pub struct Harness {
    pub core: Core,
    pub clock: ManualClock,
    route: Vec<Vec<u8>>,
    req_id: i64,
}

/// A config whose books start empty and stay quiet: no background flow, no
/// arbitrage, no snapshots, so tests build the book with agent orders.
pub fn quiet_config() -> Config {
    let mut config = Config::default();
    config.sim.warmup_s = 0.0;
    config.sim.backfill_minutes = 0;
    config.sim.book_hz = 0.0;
    for s in &mut config.sim.symbols {
        s.flow.limit_rate = 0.0;
        s.flow.market_rate = 0.0;
        s.flow.cancel_rate = 0.0;
        s.flow.arb_margin_ticks = 1e9;
    }
    config.risk.duplicate_window_ms = 0;
    config
}

impl Harness {
    /// A quiet market with the standard book (see [`standard_book`]).
    pub fn quiet() -> Self {
        Self::build(quiet_config(), standard_book)
    }

    /// A quiet market with a custom config and the standard book.
    pub fn quiet_with(config: Config) -> Self {
        Self::build(config, standard_book)
    }

    /// Any config, with empty books unless the config has background flow.
    pub fn with_config(config: Config) -> Self {
        Self::build(config, |_| {})
    }

    /// Any config; `seed` places background orders before the core starts.
    pub fn build(config: Config, seed: impl FnOnce(&mut SimVenue)) -> Self {
        let mut h = Self::build_silent(config, seed);
        let step = h.send(json!({"type": "Hello", "client": "test"}));
        assert_eq!(step.reply()["type"], "Welcome");
        h
    }

    /// Like [`Harness::build`] but the test peer never says `Hello`.
    pub fn build_silent(config: Config, seed: impl FnOnce(&mut SimVenue)) -> Self {
        let clock = ManualClock::new(DEFAULT_T0_NS);
        let instruments = config.sim_instruments().expect("valid test config");
        let mut venue = SimVenue::new(&config.sim, instruments, DEFAULT_T0_NS);
        seed(&mut venue);
        let core = Core::new(config, Box::new(venue), Box::new(clock.clone()));
        Self {
            core,
            clock,
            route: vec![b"peer-1".to_vec()],
            req_id: 0,
        }
    }

    fn collect(out: Vec<Out>) -> Step {
        let mut step = Step::default();
        for o in out {
            match o {
                Out::To(_, bytes) => step
                    .replies
                    .push(serde_json::from_slice(&bytes).expect("reply is JSON")),
                Out::Report(bytes) => step
                    .reports
                    .push(serde_json::from_slice(&bytes).expect("report is JSON")),
            }
        }
        step
    }

    /// Sends a command (adds `v` and a fresh `req_id`).
    pub fn send(&mut self, mut command: Value) -> Step {
        self.req_id += 1;
        command["v"] = json!(1);
        command["req_id"] = json!(self.req_id);
        let bytes = serde_json::to_vec(&command).expect("serialisable");
        self.send_raw(&bytes)
    }

    /// Sends raw bytes as one frame.
    pub fn send_raw(&mut self, bytes: &[u8]) -> Step {
        let mut out = Vec::new();
        self.core.handle_frame(&self.route, bytes, &mut out);
        Self::collect(out)
    }

    /// Advances the clock and runs the timers.
    pub fn advance_ms(&mut self, ms: i64) -> Step {
        self.clock.advance(ms * NS_PER_MS);
        let mut out = Vec::new();
        self.core.tick(&mut out);
        Self::collect(out)
    }

    /// Sends a limit order.
    pub fn limit(
        &mut self,
        id: &str,
        strategy: &str,
        symbol: &str,
        side: &str,
        price: f64,
        qty: f64,
    ) -> Step {
        self.send(json!({"type": "NewOrder", "client_order_id": id, "strategy_id": strategy, "symbol": symbol,
            "side": side, "order_type": "LIMIT", "price": price, "qty": qty}))
    }

    /// Sends a market order.
    pub fn market(&mut self, id: &str, strategy: &str, symbol: &str, side: &str, qty: f64) -> Step {
        self.send(json!({"type": "NewOrder", "client_order_id": id, "strategy_id": strategy, "symbol": symbol,
            "side": side, "order_type": "MARKET", "qty": qty}))
    }

    /// Posts a two-sided quote from a market-maker strategy so that a mid exists.
    pub fn quote(&mut self, symbol: &str, bid: f64, ask: f64, qty: f64) {
        let n = self.req_id;
        let b = self.limit(&format!("mm-b-{n}"), "mm", symbol, "BUY", bid, qty);
        assert_eq!(b.reply()["type"], "Ack", "{:?}", b.replies);
        let a = self.limit(&format!("mm-a-{n}"), "mm", symbol, "SELL", ask, qty);
        assert_eq!(a.reply()["type"], "Ack", "{:?}", a.replies);
        self.advance_ms(1);
    }

    /// Requests a snapshot.
    pub fn snapshot(&mut self) -> Value {
        self.send(json!({"type": "Snapshot"})).reply().clone()
    }
}

/// Background liquidity of the quiet harness (ticks: BTC 0.5, ETH 0.05, SOL 0.01):
/// * BTC/USDT bids 59999.5 x 1.0, 59999.0 x 2.0; asks 60000.5 x 1.0, 60001.0 x 2.0
/// * ETH/USDT bids 2999.95 x 10, 2999.90 x 20; asks 3000.05 x 10, 3000.10 x 20
/// * SOL/USDT bids 149.99 x 100, 149.98 x 200; asks 150.01 x 100, 150.02 x 200
pub fn standard_book(venue: &mut SimVenue) {
    type Levels = [(i64, i64); 2];
    let levels: [(u16, Levels, Levels); 3] = [
        (
            0,
            [(119_999, 10_000), (119_998, 20_000)],
            [(120_001, 10_000), (120_002, 20_000)],
        ),
        (
            1,
            [(59_999, 10_000), (59_998, 20_000)],
            [(60_001, 10_000), (60_002, 20_000)],
        ),
        (
            2,
            [(14_999, 10_000), (14_998, 20_000)],
            [(15_001, 10_000), (15_002, 20_000)],
        ),
    ];
    for (symbol, bids, asks) in levels {
        for (p, q) in bids {
            venue
                .add_background_order(symbol, Side::Buy, p, q)
                .expect("bid rests");
        }
        for (p, q) in asks {
            venue
                .add_background_order(symbol, Side::Sell, p, q)
                .expect("ask rests");
        }
    }
}

/// Approximate float equality.
pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}
