//! `serve --venue bybit` end to end, without the network: the real binary
//! trades on a local stand-in for Bybit (signatures verified, a tiny order
//! book, executions, tickers, klines) and is driven over a real ZeroMQ
//! DEALER like the engine drives it.

mod common;

use std::{
    io::Read,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use common::{
    bybit_standin::{Exchange, FakeBybit, FaultKind, KEY, SECRET},
    wire::Dealer,
};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_cerebellum_core");
const WAIT: Duration = Duration::from_secs(10);
const REPLY: Duration = Duration::from_secs(5);

/// A `serve --venue bybit` child process; killed on drop.
struct Server {
    child: Child,
    dir: PathBuf,
    cmd: String,
}

impl Server {
    fn start(exchange: &Exchange, tag: &str, deadman_timeout_ms: u64) -> Self {
        Self::try_start(exchange, tag, deadman_timeout_ms).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts `serve`; the error carries what it printed when it gave no READY line.
    fn try_start(exchange: &Exchange, tag: &str, deadman_timeout_ms: u64) -> Result<Self, String> {
        let dir =
            std::env::temp_dir().join(format!("cerebellum-bybit-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cmd = format!("ipc://{}/cmd.sock", dir.display());
        let config = json!({
            "venue": "bybit",
            "cmd_endpoint": cmd,
            "md_endpoint": format!("ipc://{}/md.sock", dir.display()),
            "session": {"deadman_timeout_ms": deadman_timeout_ms, "heartbeat_interval_ms": 100},
            "risk": {"max_mid_age_ms": 1500, "duplicate_window_ms": 0},
            "bybit": {
                "base_url": exchange.url(),
                "symbols": ["BTC/USDT", "ETH/USDT"],
                "ticker_interval_ms": 100,
                "fill_poll_interval_ms": 100,
                "open_orders_interval_ms": 200,
                "request_timeout_ms": 2000,
                "call_deadline_ms": 8000,
                "unknown_order_queries": 2
            }
        });
        let path = dir.join("config.json");
        std::fs::write(&path, config.to_string()).unwrap();
        let mut child = Command::new(BIN)
            .args(["serve", "--config"])
            .arg(&path)
            .args(["--log-level", "info"])
            .env("BYBIT_API_KEY", KEY)
            .env("BYBIT_API_SECRET", SECRET)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::File::create(dir.join("stderr.log")).unwrap(),
            ))
            .spawn()
            .expect("serve starts");
        let mut stdout = child.stdout.take().unwrap();
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while stdout.read(&mut byte).unwrap_or(0) == 1 && byte[0] != b'\n' {
            line.push(byte[0]);
        }
        let line = String::from_utf8_lossy(&line).into_owned();
        let mut server = Self { child, dir, cmd };
        if line.starts_with("READY") {
            return Ok(server);
        }
        let status = server.child.wait().ok();
        Err(format!(
            "no READY line ({line:?}), exit {status:?}; stderr: {}",
            server.log()
        ))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default()
    }

    fn connect(&self) -> Dealer {
        Dealer::connect(&self.cmd)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn hello(d: &mut Dealer) -> Value {
    let welcome = d.request(json!({"type": "Hello", "client": "test"}), REPLY);
    assert_eq!(welcome["type"], "Welcome", "{welcome}");
    welcome
}

/// Waits until the core has a mid for every symbol (tickers were polled).
fn wait_for_mids(d: &mut Dealer) {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        let snap = d.request(json!({"type": "Snapshot"}), REPLY);
        if snap["mids"]["BTC/USDT"].is_f64() && snap["mids"]["ETH/USDT"].is_f64() {
            assert!((snap["mids"]["BTC/USDT"].as_f64().unwrap() - 60_000.0).abs() < 1e-6);
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no mids from the tickers");
}

fn limit(id: &str, strategy: &str, symbol: &str, side: &str, price: f64, qty: f64) -> Value {
    json!({"type": "NewOrder", "client_order_id": id, "strategy_id": strategy, "symbol": symbol,
        "side": side, "order_type": "LIMIT", "price": price, "qty": qty})
}

fn market(id: &str, strategy: &str, symbol: &str, side: &str, qty: f64) -> Value {
    json!({"type": "NewOrder", "client_order_id": id, "strategy_id": strategy, "symbol": symbol,
        "side": side, "order_type": "MARKET", "qty": qty})
}

fn position(snapshot: &Value, strategy: &str, symbol: &str) -> f64 {
    snapshot["positions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["strategy_id"] == strategy && p["symbol"] == symbol)
        .map_or(0.0, |p| p["qty"].as_f64().unwrap())
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn test_bybit_order_lifecycle_over_the_wire() {
    let (fake, exchange) = FakeBybit::start();
    let server = Server::start(&exchange, "life", 60_000);
    let mut d = server.connect();

    let welcome = hello(&mut d);
    assert_eq!(welcome["venue"], "bybit");
    assert_eq!(welcome["mode"], "testnet");
    let instruments = welcome["instruments"].as_array().unwrap();
    assert_eq!(instruments.len(), 2);
    assert_eq!(instruments[0]["symbol"], "BTC/USDT");
    assert_eq!(instruments[0]["tick_size"], 0.1);
    assert_eq!(instruments[0]["lot_size"], 0.001);
    assert_eq!(instruments[0]["min_qty"], 0.001);
    assert_eq!(instruments[1]["tick_size"], 0.01);
    wait_for_mids(&mut d);

    // A resting limit order: Ack at once, NEW when Bybit accepted it.
    let ack = d.request(limit("o-1", "a", "BTC/USDT", "BUY", 59_990.0, 0.01), REPLY);
    assert_eq!(ack["type"], "Ack", "{ack}");
    assert_eq!(ack["status"], "NEW");
    let new = d.wait_status("o-1", "NEW", WAIT);
    let venue_id = new["venue_order_id"].as_str().unwrap().to_owned();
    assert!(venue_id.starts_with("oid-"), "{new}");
    assert!(!new["unsolicited"].as_bool().unwrap());
    let placed = fake.order("o-1").unwrap();
    assert_eq!(
        (placed.price.as_str(), placed.side.as_str()),
        ("59990", "Buy")
    );

    // The stand-in fills it in two parts.
    fake.fill("o-1", "0.004", "59990");
    let part = d.wait_status("o-1", "PARTIALLY_FILLED", WAIT);
    assert!(close(part["last_qty"].as_f64().unwrap(), 0.004));
    assert_eq!(part["liquidity"], "MAKER");
    assert_eq!(part["fee_asset"], "USDT");
    assert!(part["fee"].as_f64().unwrap() > 0.0);
    fake.fill("o-1", "0.006", "59990");
    let filled = d.wait_status("o-1", "FILLED", WAIT);
    assert!(close(filled["cum_qty"].as_f64().unwrap(), 0.01));
    assert!(close(filled["avg_price"].as_f64().unwrap(), 59_990.0));
    assert!(filled["exec_id"].as_str().unwrap().starts_with("x-"));
    assert_ne!(part["exec_id"], filled["exec_id"]);
    assert_eq!(filled["venue_order_id"], venue_id.as_str());

    // Cancel.
    d.request(limit("o-2", "a", "BTC/USDT", "BUY", 59_000.0, 0.002), REPLY);
    d.wait_status("o-2", "NEW", WAIT);
    let cancel = d.request(json!({"type": "Cancel", "client_order_id": "o-2"}), REPLY);
    assert_eq!(cancel["type"], "Ack", "{cancel}");
    let canceled = d.wait_status("o-2", "CANCELED", WAIT);
    assert_eq!(canceled["reason"], "user");
    assert_eq!(fake.order("o-2").unwrap().status, "Cancelled");

    // CancelAll.
    d.request(
        limit("o-3", "a", "BTC/USDT", "SELL", 61_000.0, 0.002),
        REPLY,
    );
    d.request(limit("o-4", "b", "ETH/USDT", "BUY", 2_900.0, 0.5), REPLY);
    d.wait_status("o-3", "NEW", WAIT);
    d.wait_status("o-4", "NEW", WAIT);
    let all = d.request(json!({"type": "CancelAll"}), REPLY);
    assert_eq!(all["canceled"], 2, "{all}");
    d.wait_status("o-3", "CANCELED", WAIT);
    d.wait_status("o-4", "CANCELED", WAIT);

    // A market order fills at the ask as taker.
    d.request(market("m-1", "a", "BTC/USDT", "BUY", 0.002), REPLY);
    let taken = d.wait_status("m-1", "FILLED", WAIT);
    assert_eq!(taken["liquidity"], "TAKER");
    assert!(close(taken["last_price"].as_f64().unwrap(), 60_000.1));

    // An IOC limit that does not cross closes as ioc_remainder.
    let ioc = json!({"type": "NewOrder", "client_order_id": "i-1", "strategy_id": "a",
        "symbol": "BTC/USDT", "side": "BUY", "order_type": "LIMIT", "price": 59_000.0,
        "qty": 0.001, "time_in_force": "IOC"});
    d.request(ioc, REPLY);
    assert_eq!(
        d.wait_status("i-1", "CANCELED", WAIT)["reason"],
        "ioc_remainder"
    );

    // A post-only order that would take is cancelled by Bybit after the ack.
    let post_only = json!({"type": "NewOrder", "client_order_id": "p-1", "strategy_id": "a",
        "symbol": "BTC/USDT", "side": "BUY", "order_type": "LIMIT", "price": 60_000.1,
        "qty": 0.001, "post_only": true});
    d.request(post_only, REPLY);
    assert_eq!(
        d.wait_status("p-1", "CANCELED", WAIT)["reason"],
        "post_only_would_take"
    );

    // A client order id Bybit cannot carry is refused before anything is sent.
    let bad = d.request(
        limit("a1:0001", "a", "BTC/USDT", "BUY", 59_000.0, 0.001),
        REPLY,
    );
    assert_eq!(bad["code"], "INVALID_VALUE", "{bad}");
    assert!(fake.order("a1:0001").is_none());

    // Positions follow the fills; each exec_id came once.
    let snap = d.request(json!({"type": "Snapshot"}), REPLY);
    assert!(close(position(&snap, "a", "BTC/USDT"), 0.012), "{snap}");
    let mut exec_ids: Vec<String> = d
        .reports
        .iter()
        .filter_map(|r| r["exec_id"].as_str().map(str::to_owned))
        .collect();
    let n = exec_ids.len();
    exec_ids.sort();
    exec_ids.dedup();
    assert_eq!(exec_ids.len(), n);
    assert_eq!(n, 3);

    // Journaled reports are numbered without gaps.
    let seqs: Vec<u64> = d.reports.iter().filter_map(|r| r["seq"].as_u64()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");

    // Bars from /v5/market/kline: closed, oldest first, no trade count.
    let bars = d.request(
        json!({"type": "Bars", "symbol": "BTC/USDT", "timeframe": "1m", "limit": 5}),
        REPLY,
    );
    assert_eq!(bars["type"], "BarsReport", "{bars}");
    let rows = bars["bars"].as_array().unwrap();
    assert_eq!(rows.len(), 5);
    let now_ms = common::bybit_standin::now_ms() as i64;
    let starts: Vec<i64> = rows.iter().map(|r| r[0].as_i64().unwrap()).collect();
    assert!(starts.windows(2).all(|w| w[1] == w[0] + 60_000));
    assert!(starts[4] + 60_000 <= now_ms);
    assert!(rows[0][6].is_null());
    // Paging backwards: the bars that opened before the oldest one above.
    let before = d.request(
        json!({"type": "Bars", "symbol": "BTC/USDT", "limit": 3, "before_ms": starts[0]}),
        REPLY,
    );
    let older: Vec<i64> = before["bars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].as_i64().unwrap())
        .collect();
    assert_eq!(
        older,
        [1, 2, 3].map(|k| starts[0] - (4 - k) * 60_000),
        "{before}"
    );
    // More than Bybit's 1000 rows: the adapter reads pages (`end` = oldest
    // start - 1 ms); the reply keeps the newest bars that fit in 64 KiB.
    let kline_reads = exchange.count("/v5/market/kline");
    let many = d.request(
        json!({"type": "Bars", "symbol": "BTC/USDT", "limit": 2600}),
        REPLY,
    );
    let many: Vec<i64> = many["bars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].as_i64().unwrap())
        .collect();
    assert!(many.len() >= 900, "{}", many.len());
    assert!(many.windows(2).all(|w| w[1] == w[0] + 60_000));
    assert!(*many.last().unwrap() + 60_000 <= common::bybit_standin::now_ms() as i64);
    let paged: Vec<Option<String>> = exchange
        .requests()
        .iter()
        .filter(|r| r.path == "/v5/market/kline")
        .skip(kline_reads)
        .map(|r| r.param("end"))
        .collect();
    assert_eq!(paged.len(), 3, "{paged:?}");
    assert!(paged[0].is_none() && paged[1].is_some() && paged[2].is_some());
    let unknown = d.request(
        json!({"type": "Bars", "symbol": "DOGE/USDT", "limit": 5}),
        REPLY,
    );
    assert_eq!(unknown["code"], "UNKNOWN_SYMBOL");

    // The keys never reach the log.
    let log = server.log();
    assert!(!log.contains(SECRET) && !log.contains(KEY), "{log}");
}

#[test]
fn test_bybit_unsolicited_adl_and_kill_switch_flatten() {
    let (fake, exchange) = FakeBybit::start();
    let server = Server::start(&exchange, "kill", 60_000);
    let mut d = server.connect();
    hello(&mut d);
    wait_for_mids(&mut d);

    d.request(market("b-1", "a", "BTC/USDT", "BUY", 0.005), REPLY);
    d.request(market("s-1", "b", "ETH/USDT", "SELL", 0.5), REPLY);
    d.request(limit("r-1", "a", "BTC/USDT", "BUY", 59_000.0, 0.001), REPLY);
    d.wait_status("b-1", "FILLED", WAIT);
    d.wait_status("s-1", "FILLED", WAIT);
    d.wait_status("r-1", "NEW", WAIT);

    // Bybit auto-deleverages part of the position: an execution nobody ordered.
    fake.unsolicited("AdlTrade", "BTCUSDT", "Sell", "0.001", "60000.0");
    let adl = d
        .wait_for(WAIT, |m| {
            m["type"] == "OrderUpdate" && m["unsolicited"] == true
        })
        .expect("the ADL arrives as an unsolicited OrderUpdate");
    assert_eq!(adl["status"], "FILLED");
    assert_eq!(adl["strategy_id"], "venue");
    assert_eq!(adl["side"], "SELL");
    assert!(close(adl["last_qty"].as_f64().unwrap(), 0.001));
    assert!(adl["client_order_id"]
        .as_str()
        .unwrap()
        .starts_with("bybit-"));

    let kill = d.request(
        json!({"type": "KillSwitch", "scope": "GLOBAL", "state": "HALTED", "reason": "test"}),
        REPLY,
    );
    assert_eq!(kill["type"], "Ack", "{kill}");
    assert_eq!(kill["canceled"], 1);
    assert_eq!(kill["trading_state"]["global"], "HALTED");
    assert_eq!(
        d.wait_status("r-1", "CANCELED", WAIT)["reason"],
        "kill_switch"
    );

    // Once no order is open, every position is closed with reduce-only market orders.
    let deadline = Instant::now() + WAIT;
    let mut flat = false;
    while Instant::now() < deadline && !flat {
        d.drain(Duration::from_millis(100));
        let snap = d.request(json!({"type": "Snapshot"}), REPLY);
        flat = ["a", "b", "venue"].iter().all(|s| {
            close(position(&snap, s, "BTC/USDT"), 0.0) && close(position(&snap, s, "ETH/USDT"), 0.0)
        }) && snap["open_orders"].as_array().unwrap().is_empty();
    }
    assert!(flat, "positions were not flattened: {:?}", d.reports);
    let flatten: Vec<_> = fake
        .orders()
        .into_iter()
        .filter(|o| o.link.starts_with("flat-"))
        .collect();
    assert_eq!(flatten.len(), 3, "{flatten:?}");
    assert!(flatten
        .iter()
        .all(|o| o.reduce_only && o.order_type == "Market" && o.status == "Filled"));
    let sides: Vec<(&str, &str)> = flatten
        .iter()
        .map(|o| (o.symbol.as_str(), o.side.as_str()))
        .collect();
    assert!(sides.contains(&("BTCUSDT", "Sell")) && sides.contains(&("ETHUSDT", "Buy")));
    // While halted, new risk is refused.
    let refused = d.request(limit("n-1", "a", "BTC/USDT", "BUY", 59_000.0, 0.001), REPLY);
    assert_eq!(refused["code"], "HALTED");
}

#[test]
fn test_bybit_rate_limit_does_not_stall_heartbeats_and_stale_mids_fail_closed() {
    let (fake, exchange) = FakeBybit::start();
    let server = Server::start(&exchange, "rate", 60_000);
    let mut d = server.connect();
    hello(&mut d);
    wait_for_mids(&mut d);

    // The next three creates answer 10006 with a reset 400 ms ahead: the
    // submit worker waits about 1.2 s, the socket loop does not.
    fake.fault(
        "/v5/order/create",
        3,
        FaultKind::RetCode {
            code: 10006,
            msg: "Too many visits!".into(),
            reset_ms: 400,
        },
    );
    let sent = Instant::now();
    let ack = d.request(
        limit("rl-1", "a", "BTC/USDT", "BUY", 59_000.0, 0.001),
        REPLY,
    );
    assert_eq!(ack["type"], "Ack");
    assert!(
        sent.elapsed() < Duration::from_millis(200),
        "{:?}",
        sent.elapsed()
    );
    let mut worst = Duration::ZERO;
    let mut beats = 0;
    while d.updates_of("rl-1").is_empty() && sent.elapsed() < WAIT {
        let t = Instant::now();
        let reply = d.request(json!({"type": "Heartbeat", "loop_age_ms": 0}), REPLY);
        assert_eq!(reply["type"], "Heartbeat");
        worst = worst.max(t.elapsed());
        beats += 1;
        d.drain(Duration::from_millis(50));
    }
    let new = d.wait_status("rl-1", "NEW", WAIT);
    assert!(
        sent.elapsed() >= Duration::from_millis(800),
        "the retries waited for the reset"
    );
    assert!(beats >= 5, "{beats} heartbeats while Bybit rate-limited");
    assert!(
        worst < Duration::from_millis(150),
        "slowest heartbeat reply {worst:?}"
    );
    assert!(new["venue_order_id"].is_string());
    assert_eq!(fake.orders().len(), 1, "placed once");

    // Tickers stop answering: the mid turns stale and new orders fail closed.
    fake.fault(
        "/v5/market/tickers",
        1_000_000,
        FaultKind::RetCode {
            code: 10001,
            msg: "params error".into(),
            reset_ms: 0,
        },
    );
    std::thread::sleep(Duration::from_millis(2_000));
    let stale = d.request(
        limit("st-1", "a", "BTC/USDT", "BUY", 59_000.0, 0.001),
        REPLY,
    );
    assert_eq!(stale["code"], "STALE_REFERENCE", "{stale}");
}

#[test]
fn test_bybit_unknown_submit_outcome_is_resolved_by_query_not_resent() {
    let (fake, exchange) = FakeBybit::start();
    let server = Server::start(&exchange, "unknown", 60_000);
    let mut d = server.connect();
    hello(&mut d);
    wait_for_mids(&mut d);

    // The order is placed but every reply is lost (four attempts, the default
    // retry budget): the call ends OutcomeUnknown and the adapter finds the
    // order by its orderLinkId.
    fake.fault("/v5/order/create", 1, FaultKind::DoThenHttp500);
    fake.fault("/v5/order/create", 3, FaultKind::Http500);
    d.request(limit("u-1", "a", "BTC/USDT", "BUY", 59_000.0, 0.001), REPLY);
    let new = d.wait_status("u-1", "NEW", Duration::from_secs(20));
    assert!(new["venue_order_id"].as_str().unwrap().starts_with("oid-"));
    assert_eq!(fake.orders().len(), 1);

    // Nothing placed and every attempt lost: after the configured queries it is REJECTED.
    fake.fault("/v5/order/create", 4, FaultKind::Http500);
    d.request(limit("u-2", "a", "BTC/USDT", "BUY", 59_000.0, 0.001), REPLY);
    let rejected = d.wait_status("u-2", "REJECTED", Duration::from_secs(20));
    assert!(rejected["reason"]
        .as_str()
        .unwrap()
        .starts_with("VENUE_ERROR: submit outcome unknown"));
    assert!(fake.order("u-2").is_none());
    // A business refusal keeps Bybit's code and message.
    fake.fault(
        "/v5/order/create",
        1,
        FaultKind::RetCode {
            code: 110007,
            msg: "ab not enough for new order".into(),
            reset_ms: 0,
        },
    );
    d.request(limit("u-3", "a", "BTC/USDT", "BUY", 59_000.0, 0.001), REPLY);
    let refused = d.wait_status("u-3", "REJECTED", WAIT);
    assert_eq!(
        refused["reason"],
        "VENUE_ERROR: Bybit retCode 110007: ab not enough for new order"
    );
}

#[test]
fn test_bybit_deadman_cancels_resting_orders_of_an_engine_that_never_heartbeats() {
    let (fake, exchange) = FakeBybit::start();
    let server = Server::start(&exchange, "deadman", 1_500);
    let mut d = server.connect();
    // Hello arms the switch; the engine then orders and freezes without a heartbeat.
    hello(&mut d);
    wait_for_mids(&mut d);
    d.request(
        limit("dm-1", "a", "BTC/USDT", "BUY", 59_000.0, 0.001),
        REPLY,
    );
    d.request(limit("dm-2", "a", "ETH/USDT", "SELL", 3_100.0, 0.1), REPLY);
    d.wait_status("dm-1", "NEW", WAIT);
    d.wait_status("dm-2", "NEW", WAIT);
    let fired = d
        .wait_for(WAIT, |m| m["type"] == "RiskEvent" && m["kind"] == "DEADMAN")
        .expect("the dead-man's switch fires");
    assert!(fired["message"].as_str().unwrap().contains("cancelled 2"));
    assert_eq!(d.wait_status("dm-1", "CANCELED", WAIT)["reason"], "deadman");
    assert_eq!(d.wait_status("dm-2", "CANCELED", WAIT)["reason"], "deadman");
    assert_eq!(fake.order("dm-1").unwrap().status, "Cancelled");
    assert_eq!(fake.order("dm-2").unwrap().status, "Cancelled");
}

#[test]
fn test_bybit_positions_held_at_startup_are_adopted_and_closed_by_the_kill_switch() {
    let (fake, exchange) = FakeBybit::start();
    fake.hold("BTCUSDT", "Buy", "0.005", "59000.0", 0);
    fake.hold("ETHUSDT", "Sell", "0.5", "3100.00", 0);
    fake.hold("SOLUSDT", "Buy", "3", "150.0", 0);
    let server = Server::start(&exchange, "held", 60_000);
    let mut d = server.connect();
    hello(&mut d);
    wait_for_mids(&mut d);

    let snap = d.request(json!({"type": "Snapshot"}), REPLY);
    assert!(close(position(&snap, "venue", "BTC/USDT"), 0.005), "{snap}");
    assert!(close(position(&snap, "venue", "ETH/USDT"), -0.5), "{snap}");
    let held = snap["positions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["symbol"] == "BTC/USDT")
        .expect("the BTC position");
    assert!(
        close(held["avg_price"].as_f64().unwrap(), 59_000.0),
        "{held}"
    );
    assert!(
        server.log().contains("SOL/USDT"),
        "a position outside bybit.symbols is named in the log: {}",
        server.log()
    );

    let kill = d.request(
        json!({"type": "KillSwitch", "scope": "GLOBAL", "state": "HALTED", "reason": "test"}),
        REPLY,
    );
    assert_eq!(kill["type"], "Ack", "{kill}");
    let deadline = Instant::now() + WAIT;
    let mut flat = false;
    while Instant::now() < deadline && !flat {
        d.drain(Duration::from_millis(100));
        let snap = d.request(json!({"type": "Snapshot"}), REPLY);
        flat = close(position(&snap, "venue", "BTC/USDT"), 0.0)
            && close(position(&snap, "venue", "ETH/USDT"), 0.0);
    }
    assert!(flat, "held positions were not flattened: {:?}", d.reports);
    let mut flatten: Vec<(String, String, i64, bool)> = fake
        .orders()
        .into_iter()
        .filter(|o| o.link.starts_with("flat-"))
        .map(|o| (o.symbol, o.side, o.qty, o.reduce_only))
        .collect();
    flatten.sort();
    assert_eq!(
        flatten,
        [
            ("BTCUSDT".to_owned(), "Sell".to_owned(), 500_000, true),
            ("ETHUSDT".to_owned(), "Buy".to_owned(), 50_000_000, true),
        ],
        "SOL/USDT is not traded here, so it is not flattened"
    );
}

#[test]
fn test_bybit_a_hedge_mode_position_at_startup_refuses_to_start() {
    let (fake, exchange) = FakeBybit::start();
    fake.hold("BTCUSDT", "Buy", "0.005", "59000.0", 1);
    let Err(why) = Server::try_start(&exchange, "hedge", 60_000) else {
        panic!("serve started with a hedge-mode position it cannot represent");
    };
    assert!(why.contains("hedge-mode"), "{why}");
}
