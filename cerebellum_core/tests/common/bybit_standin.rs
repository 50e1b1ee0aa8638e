//! A local stand-in for Bybit's v5 REST API, shared by the Bybit tests.
//!
//! A tiny HTTP/1.1 server on 127.0.0.1 that checks every signed request the
//! way Bybit does (API key, `X-BAPI-SIGN-TYPE: 2`, timestamp inside
//! `recv_window` of its clock, HMAC-SHA256 recomputed here with the `hmac`
//! crate, independently of the adapter's code) and answers with Bybit-shaped
//! bodies: `retCode` 10003/10002/10004 when authentication fails, otherwise
//! whatever the test's handler says. `/v5/market/time` is answered unsigned.

use std::{
    collections::HashMap,
    io::{self, BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    thread,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

/// The API key the stand-in accepts.
pub const KEY: &str = "STANDINKEY42";
/// The API secret the stand-in verifies signatures with.
pub const SECRET: &str = "standin-secret-do-not-use-7f3a";

// ---------------------------------------------------------------- stand-in

#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Request {
    pub fn param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == name).then(|| v.to_owned())
        })
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn ok(result: Value) -> Self {
        Self::json(
            200,
            json!({"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": now_ms()}),
        )
    }

    pub fn ret(code: i64, msg: &str) -> Self {
        Self::json(
            200,
            json!({"retCode": code, "retMsg": msg, "result": {}, "retExtInfo": {}, "time": now_ms()}),
        )
    }

    pub fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.to_string(),
        }
    }

    pub fn raw(status: u16, body: &str) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.to_owned(),
        }
    }

    pub fn header(mut self, name: &str, value: impl ToString) -> Self {
        self.headers.push((name.to_owned(), value.to_string()));
        self
    }
}

pub type Handler = Box<dyn FnMut(&Request) -> Reply + Send>;

/// The local exchange. Records every request that reached the handler.
pub struct Exchange {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
}

impl Exchange {
    pub fn start(handler: impl FnMut(&Request) -> Reply + Send + 'static) -> Self {
        Self::start_with_skew(0, handler)
    }

    /// `skew_ms` moves the stand-in's clock relative to the local one.
    pub fn start_with_skew(
        skew_ms: i64,
        handler: impl FnMut(&Request) -> Reply + Send + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen2, stop2) = (seen.clone(), stop.clone());
        let mut handler: Handler = Box::new(handler);
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let _ = serve(stream, skew_ms, &seen2, &mut handler);
            }
        });
        Self { addr, seen, stop }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.seen.lock().unwrap().clone()
    }

    pub fn count(&self, path: &str) -> usize {
        self.requests().iter().filter(|r| r.path == path).count()
    }
}

impl Drop for Exchange {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn serve(
    stream: TcpStream,
    skew_ms: i64,
    seen: &Mutex<Vec<Request>>,
    handler: &mut Handler,
) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let request = Request {
        method,
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let server_now = now_ms().saturating_add_signed(skew_ms);
    let reply = if request.path == "/v5/market/time" {
        Reply::ok(json!({
            "timeSecond": (server_now / 1000).to_string(),
            "timeNano": (server_now as u128 * 1_000_000).to_string()
        }))
    } else if let Some(rejection) = authenticate(&request, server_now) {
        rejection
    } else {
        seen.lock().unwrap().push(request.clone());
        handler(&request)
    };
    write_reply(stream, reply)
}

/// Bybit's checks, reimplemented here from the v5 integration guide.
pub fn authenticate(request: &Request, server_now: u64) -> Option<Reply> {
    let header = |name: &str| {
        request
            .headers
            .get(&name.to_ascii_lowercase())
            .cloned()
            .unwrap_or_default()
    };
    if header("X-BAPI-API-KEY") != KEY {
        return Some(Reply::ret(10003, "API key is invalid."));
    }
    if header("X-BAPI-SIGN-TYPE") != "2" {
        return Some(Reply::ret(10004, "sign type must be 2 (HMAC)"));
    }
    let recv_window: u64 = header("X-BAPI-RECV-WINDOW").parse().unwrap_or(5000);
    let Ok(timestamp) = header("X-BAPI-TIMESTAMP").parse::<u64>() else {
        return Some(Reply::ret(10002, "missing timestamp"));
    };
    if timestamp + recv_window < server_now || timestamp >= server_now + 1000 {
        return Some(Reply::ret(
            10002,
            &format!(
                "invalid request, please check your server timestamp or recv_window param. \
                 req_timestamp[{timestamp}],server_timestamp[{server_now}],recv_window[{recv_window}]"
            ),
        ));
    }
    let payload = if request.method == "GET" {
        &request.query
    } else {
        &request.body
    };
    if request.method == "POST" && !header("Content-Type").starts_with("application/json") {
        return Some(Reply::ret(10001, "Content-Type must be application/json"));
    }
    let origin = format!("{timestamp}{KEY}{}{payload}", header("X-BAPI-RECV-WINDOW"));
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(origin.as_bytes());
    let expected = hex::encode(mac.finalize().into_bytes());
    if header("X-BAPI-SIGN") != expected {
        // Bybit echoes the signed string, API key included.
        return Some(Reply::ret(
            10004,
            &format!("error sign! origin_string[{origin}]"),
        ));
    }
    None
}

fn write_reply(mut stream: TcpStream, reply: Reply) -> io::Result<()> {
    let reason = match reply.status {
        200 => "OK",
        403 => "Forbidden",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reply.body.len()
    );
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(reply.body.as_bytes())?;
    stream.flush()
}

// ------------------------------------------------------------ order book

/// Fixed-point scale of quantities and prices inside the fake exchange.
const SCALE: i64 = 100_000_000;

fn units(text: &str) -> i64 {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let frac = format!("{frac:0<8}");
    int.parse::<i64>().unwrap_or(0) * SCALE + frac[..8].parse::<i64>().unwrap_or(0)
}

fn text(units: i64) -> String {
    let s = format!("{}.{:08}", units / SCALE, units % SCALE);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_owned()
}

/// One order held by the fake exchange.
#[derive(Clone, Debug)]
pub struct FakeOrder {
    pub order_id: String,
    pub link: String,
    pub symbol: String,
    pub side: String,
    pub order_type: String,
    pub price: String,
    pub qty: i64,
    pub cum: i64,
    pub avg_price: String,
    pub status: String,
    pub time_in_force: String,
    pub reduce_only: bool,
    pub reject_reason: String,
    pub updated_ms: u64,
}

impl FakeOrder {
    pub fn is_open(&self) -> bool {
        matches!(self.status.as_str(), "New" | "PartiallyFilled")
    }

    fn row(&self) -> Value {
        json!({
            "orderId": self.order_id, "orderLinkId": self.link, "symbol": self.symbol,
            "price": self.price, "qty": text(self.qty), "side": self.side,
            "orderStatus": self.status, "rejectReason": self.reject_reason,
            "avgPrice": self.avg_price, "cumExecQty": text(self.cum),
            "leavesQty": text(if self.is_open() { self.qty - self.cum } else { 0 }),
            "timeInForce": self.time_in_force, "orderType": self.order_type,
            "reduceOnly": self.reduce_only, "positionIdx": 0,
            "createdTime": self.updated_ms.to_string(), "updatedTime": self.updated_ms.to_string()
        })
    }
}

/// Errors the fake exchange answers instead of the next requests to a path.
#[derive(Clone, Debug)]
pub struct Fault {
    pub path: String,
    pub remaining: u32,
    pub kind: FaultKind,
}

/// What a fault does.
#[derive(Clone, Debug)]
pub enum FaultKind {
    /// Answer this `retCode` (10006 carries a reset timestamp `reset_ms` ahead).
    RetCode {
        code: i64,
        msg: String,
        reset_ms: u64,
    },
    /// Answer HTTP 500 without doing anything.
    Http500,
    /// Do the request, then answer HTTP 500 (a lost reply).
    DoThenHttp500,
}

/// The fake exchange's state.
#[derive(Debug, Default)]
pub struct FakeState {
    pub orders: Vec<FakeOrder>,
    /// Execution rows, oldest first.
    pub executions: Vec<Value>,
    /// `(bid, ask)` per venue symbol.
    pub quotes: HashMap<String, (String, String)>,
    /// `/v5/position/list` rows (positions held before the core started).
    pub positions: Vec<Value>,
    pub faults: Vec<Fault>,
    next_id: u64,
}

/// A tiny Bybit: instruments, tickers, klines, orders, cancels and executions,
/// behind [`Exchange`]'s signature checks.
#[derive(Clone)]
pub struct FakeBybit {
    pub state: Arc<Mutex<FakeState>>,
}

/// Grid of a fake instrument: `(tick, qty step, min qty)`.
fn grid(symbol: &str) -> Option<(&'static str, &'static str, &'static str)> {
    match symbol {
        "BTCUSDT" => Some(("0.10", "0.001", "0.001")),
        "ETHUSDT" => Some(("0.01", "0.01", "0.01")),
        _ => None,
    }
}

impl FakeBybit {
    /// Starts the fake exchange with quotes BTC 59999.9/60000.1, ETH 2999.99/3000.01.
    pub fn start() -> (Self, Exchange) {
        let mut state = FakeState::default();
        state
            .quotes
            .insert("BTCUSDT".into(), ("59999.9".into(), "60000.1".into()));
        state
            .quotes
            .insert("ETHUSDT".into(), ("2999.99".into(), "3000.01".into()));
        let fake = Self {
            state: Arc::new(Mutex::new(state)),
        };
        let handler = fake.clone();
        let exchange = Exchange::start(move |r| handler.handle(r));
        (fake, exchange)
    }

    /// Makes the next `count` requests to `path` fail with `kind`.
    pub fn fault(&self, path: &str, count: u32, kind: FaultKind) {
        self.state.lock().unwrap().faults.push(Fault {
            path: path.into(),
            remaining: count,
            kind,
        });
    }

    /// Makes the exchange hold a position (one-way mode unless `position_idx` says otherwise).
    pub fn hold(&self, symbol: &str, side: &str, size: &str, avg_price: &str, position_idx: i64) {
        self.state.lock().unwrap().positions.push(json!({
            "symbol": symbol, "side": side, "size": size, "avgPrice": avg_price,
            "markPrice": avg_price, "unrealisedPnl": "0", "liqPrice": "",
            "positionIdx": position_idx, "updatedTime": now_ms().to_string()
        }));
    }

    /// Returns a copy of an order by `orderLinkId`.
    pub fn order(&self, link: &str) -> Option<FakeOrder> {
        let state = self.state.lock().unwrap();
        state.orders.iter().find(|o| o.link == link).cloned()
    }

    /// Returns a copy of every order.
    pub fn orders(&self) -> Vec<FakeOrder> {
        self.state.lock().unwrap().orders.clone()
    }

    /// Fills `qty` of a resting order at `price` as maker.
    pub fn fill(&self, link: &str, qty: &str, price: &str) {
        let mut state = self.state.lock().unwrap();
        let i = state
            .orders
            .iter()
            .position(|o| o.link == link && o.is_open())
            .expect("an open order to fill");
        Self::execute(&mut state, i, units(qty), price, true, "Trade");
    }

    /// Adds an execution of an order the engine never sent (ADL, liquidation).
    pub fn unsolicited(&self, exec_type: &str, symbol: &str, side: &str, qty: &str, price: &str) {
        let mut state = self.state.lock().unwrap();
        state.next_id += 1;
        let id = state.next_id;
        let fee = text(units(price) / SCALE * units(qty) * 6 / 10_000);
        state.executions.push(json!({
            "symbol": symbol, "orderId": format!("{}-{id}", exec_type.to_lowercase()),
            "orderLinkId": "", "side": side, "execId": format!("x-{id}"),
            "execPrice": price, "execQty": qty, "execFee": fee, "feeCurrency": "USDT",
            "execType": exec_type, "isMaker": false, "leavesQty": "0", "orderType": "Market",
            "execTime": now_ms().to_string()
        }));
    }

    fn execute(
        state: &mut FakeState,
        i: usize,
        qty: i64,
        price: &str,
        maker: bool,
        exec_type: &str,
    ) {
        state.next_id += 1;
        let id = state.next_id;
        let now = now_ms();
        let order = &mut state.orders[i];
        let qty = qty.min(order.qty - order.cum);
        let before = order.cum;
        order.cum += qty;
        // Average price over the order's fills (prices are positive, so units are safe).
        let old_avg = if order.avg_price.is_empty() {
            0
        } else {
            units(&order.avg_price)
        };
        let avg = (i128::from(old_avg) * i128::from(before)
            + i128::from(units(price)) * i128::from(qty))
            / i128::from(order.cum);
        order.avg_price = text(avg as i64);
        order.status = if order.cum == order.qty {
            "Filled".into()
        } else {
            "PartiallyFilled".into()
        };
        order.updated_ms = now;
        let rate = if maker { 2 } else { 6 };
        let fee = (i128::from(units(price)) * i128::from(qty) * rate / 10_000) / i128::from(SCALE);
        let row = json!({
            "symbol": order.symbol, "orderId": order.order_id, "orderLinkId": order.link,
            "side": order.side, "execId": format!("x-{id}"), "execPrice": price,
            "execQty": text(qty), "execFee": text(fee as i64), "feeCurrency": "USDT",
            "execType": exec_type, "isMaker": maker, "leavesQty": text(order.qty - order.cum),
            "orderType": order.order_type, "execTime": now.to_string()
        });
        state.executions.push(row);
    }

    fn take_fault(&self, path: &str) -> Option<FaultKind> {
        let mut state = self.state.lock().unwrap();
        let fault = state
            .faults
            .iter_mut()
            .find(|f| f.path == path && f.remaining > 0)?;
        fault.remaining -= 1;
        Some(fault.kind.clone())
    }

    fn handle(&self, r: &Request) -> Reply {
        let fault = self.take_fault(&r.path);
        match fault {
            Some(FaultKind::RetCode {
                code,
                msg,
                reset_ms,
            }) => {
                return Reply::ret(code, &msg)
                    .header("X-Bapi-Limit-Status", 0)
                    .header("X-Bapi-Limit-Reset-Timestamp", now_ms() + reset_ms)
            }
            Some(FaultKind::Http500) => return Reply::raw(500, "upstream down"),
            Some(FaultKind::DoThenHttp500) => {
                let _ = self.route(r);
                return Reply::raw(500, "reply lost");
            }
            None => {}
        }
        self.route(r)
    }

    fn route(&self, r: &Request) -> Reply {
        match r.path.as_str() {
            "/v5/market/instruments-info" => {
                let symbol = r.param("symbol").unwrap_or_default();
                let list: Vec<Value> = grid(&symbol)
                    .map(|(tick, step, min)| {
                        json!({"symbol": symbol, "contractType": "LinearPerpetual", "status": "Trading",
                            "baseCoin": symbol.trim_end_matches("USDT"), "quoteCoin": "USDT",
                            "settleCoin": "USDT", "priceScale": "2",
                            "priceFilter": {"minPrice": "0.10", "maxPrice": "1999999.80", "tickSize": tick},
                            "lotSizeFilter": {"maxOrderQty": "100", "minOrderQty": min, "qtyStep": step,
                                "maxMktOrderQty": "100", "minNotionalValue": "5"}})
                    })
                    .into_iter()
                    .collect();
                Reply::ok(json!({"category": "linear", "list": list, "nextPageCursor": ""}))
            }
            "/v5/market/tickers" => {
                let symbol = r.param("symbol").unwrap_or_default();
                let state = self.state.lock().unwrap();
                let list: Vec<Value> = state
                    .quotes
                    .get(&symbol)
                    .map(|(bid, ask)| {
                        json!({"symbol": symbol, "bid1Price": bid, "bid1Size": "1.5",
                            "ask1Price": ask, "ask1Size": "2.0", "lastPrice": bid})
                    })
                    .into_iter()
                    .collect();
                Reply::ok(json!({"category": "linear", "list": list}))
            }
            "/v5/market/kline" => {
                let symbol = r.param("symbol").unwrap_or_default();
                // Like Bybit: at most 1000 rows (default 200), newest first, the
                // newest starting at or before `end` (default: the bar still open).
                let limit: i64 = r
                    .param("limit")
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(200)
                    .clamp(1, 1000);
                let now_minute = now_ms() as i64 / 60_000 * 60_000;
                let minute = r
                    .param("end")
                    .and_then(|e| e.parse::<i64>().ok())
                    .map_or(now_minute, |end| {
                        (end.div_euclid(60_000) * 60_000).min(now_minute)
                    });
                let list: Vec<Value> = (0..limit)
                    .map(|i| {
                        let start = minute - i * 60_000;
                        let base = 60_000 + (start / 60_000) % 7;
                        json!([
                            start.to_string(),
                            format!("{base}.1"),
                            format!("{}.5", base + 3),
                            format!("{}.2", base - 2),
                            format!("{base}.3"),
                            "12.345",
                            "740700"
                        ])
                    })
                    .collect();
                Reply::ok(json!({"category": "linear", "symbol": symbol, "list": list}))
            }
            "/v5/order/create" => self.create(&r.json()),
            "/v5/order/cancel" => {
                let body = r.json();
                let link = body["orderLinkId"].as_str().unwrap_or_default();
                let mut state = self.state.lock().unwrap();
                match state
                    .orders
                    .iter_mut()
                    .find(|o| o.link == link && o.is_open())
                {
                    Some(o) => {
                        o.status = "Cancelled".into();
                        o.reject_reason = "EC_PerCancelRequest".into();
                        o.updated_ms = now_ms();
                        Reply::ok(json!({"orderId": o.order_id, "orderLinkId": o.link}))
                    }
                    None => Reply::ret(110001, "order not exists or too late to cancel"),
                }
            }
            "/v5/order/cancel-all" => {
                let mut state = self.state.lock().unwrap();
                let mut list = Vec::new();
                for o in state.orders.iter_mut().filter(|o| o.is_open()) {
                    o.status = "Cancelled".into();
                    o.updated_ms = now_ms();
                    list.push(json!({"orderId": o.order_id, "orderLinkId": o.link}));
                }
                Reply::ok(json!({"list": list, "success": "1"}))
            }
            "/v5/order/realtime" | "/v5/order/history" => {
                let open = r.path == "/v5/order/realtime";
                let link = r.param("orderLinkId");
                let state = self.state.lock().unwrap();
                let list: Vec<Value> = state
                    .orders
                    .iter()
                    .filter(|o| o.is_open() == open)
                    .filter(|o| link.as_deref().is_none_or(|l| l == o.link))
                    .map(FakeOrder::row)
                    .collect();
                Reply::ok(json!({"category": "linear", "list": list, "nextPageCursor": ""}))
            }
            "/v5/execution/list" => {
                let start: u64 = r
                    .param("startTime")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                let state = self.state.lock().unwrap();
                let list: Vec<Value> = state
                    .executions
                    .iter()
                    .rev()
                    .filter(|e| {
                        e["execTime"]
                            .as_str()
                            .and_then(|t| t.parse::<u64>().ok())
                            .is_some_and(|t| t >= start)
                    })
                    .cloned()
                    .collect();
                Reply::ok(json!({"category": "linear", "list": list, "nextPageCursor": ""}))
            }
            "/v5/position/list" => {
                let list = self.state.lock().unwrap().positions.clone();
                Reply::ok(json!({"category": "linear", "list": list, "nextPageCursor": ""}))
            }
            other => Reply::ret(10001, &format!("unknown path {other}")),
        }
    }

    fn create(&self, body: &Value) -> Reply {
        let field = |k: &str| body[k].as_str().unwrap_or_default().to_owned();
        let link = field("orderLinkId");
        let symbol = field("symbol");
        let mut state = self.state.lock().unwrap();
        if state.orders.iter().any(|o| o.link == link) {
            return Reply::ret(110072, "OrderLinkedID is duplicate");
        }
        let Some((bid, ask)) = state.quotes.get(&symbol).cloned() else {
            return Reply::ret(10001, "params error: symbol invalid");
        };
        state.next_id += 1;
        let order_id = format!("oid-{}-{link}", state.next_id);
        let side = field("side");
        let order_type = field("orderType");
        let tif = body["timeInForce"].as_str().unwrap_or("IOC").to_owned();
        let price = field("price");
        state.orders.push(FakeOrder {
            order_id: order_id.clone(),
            link: link.clone(),
            symbol,
            side: side.clone(),
            order_type: order_type.clone(),
            price: price.clone(),
            qty: units(&field("qty")),
            cum: 0,
            avg_price: String::new(),
            status: "New".into(),
            time_in_force: tif.clone(),
            reduce_only: body["reduceOnly"].as_bool().unwrap_or(false),
            reject_reason: "EC_NoError".into(),
            updated_ms: now_ms(),
        });
        let i = state.orders.len() - 1;
        let touch = if side == "Buy" { ask } else { bid };
        let crosses = order_type == "Market"
            || (side == "Buy" && units(&price) >= units(&touch))
            || (side == "Sell" && units(&price) <= units(&touch));
        if crosses && tif == "PostOnly" {
            let o = &mut state.orders[i];
            o.status = "Cancelled".into();
            o.reject_reason = "EC_PostOnlyWillTakeLiquidity".into();
        } else if crosses {
            let qty = state.orders[i].qty;
            Self::execute(&mut state, i, qty, &touch, false, "Trade");
        } else if tif == "IOC" {
            let o = &mut state.orders[i];
            o.status = "Cancelled".into();
            o.reject_reason = "EC_CancelForNoFullFill".into();
        }
        Reply::ok(json!({"orderId": order_id, "orderLinkId": link}))
    }
}
