//! Random and mutated frames over a real ZeroMQ socket to a running server:
//! every envelope (a frame carries one per line) is answered by exactly one
//! reply (a `Reject` or a valid reply), and the server is still alive and
//! answering at the end.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc, Arc,
    },
    thread,
    time::Duration,
};

use cerebellum_core::{
    clock::{Clock, WallClock},
    config::Config,
    server::{self, core::Core, ServerOptions},
    venue::sim::SimVenue,
};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::{json, Value};

const FRAMES: usize = 12_000;
const REPLY_TYPES: [&str; 7] = [
    "Ack",
    "Reject",
    "Welcome",
    "Heartbeat",
    "SnapshotReport",
    "ReplayDone",
    "OrderState",
];

struct Server {
    endpoint: String,
    shutdown: Arc<AtomicBool>,
    handle: thread::JoinHandle<Result<(), String>>,
}

fn start_server() -> Server {
    let shutdown = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&shutdown);
    let (tx, rx) = mpsc::channel();
    let handle = thread::spawn(move || {
        let mut config = Config {
            cmd_endpoint: "tcp://127.0.0.1:*".into(),
            md_endpoint: "tcp://127.0.0.1:*".into(),
            ..Config::default()
        };
        config.risk.max_orders_per_sec_strategy = 1_000_000;
        config.risk.max_orders_per_sec_total = 1_000_000;
        let clock = WallClock::new();
        let instruments = config.sim_instruments().map_err(|e| e.to_string())?;
        let venue = SimVenue::new(&config.sim, instruments, clock.now_ns());
        let core = Core::new(config.clone(), Box::new(venue), Box::new(clock));
        let mut on_bound = |b: &server::Bound| {
            let _ = tx.send(b.cmd.clone());
        };
        server::run(
            &config,
            core,
            &flag,
            &ServerOptions::default(),
            &mut on_bound,
        )
        .map_err(|e| e.to_string())
    });
    let endpoint = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("server bound");
    Server {
        endpoint,
        shutdown,
        handle,
    }
}

fn templates() -> Vec<Value> {
    vec![
        json!({"v":1,"type":"Hello","req_id":1,"client":"fuzz"}),
        json!({"v":1,"type":"NewOrder","req_id":2,"client_order_id":"f-1","strategy_id":"fz","symbol":"BTC/USDT",
               "side":"BUY","order_type":"LIMIT","price":59000.5,"qty":0.01,"time_in_force":"GTC","post_only":false,"reduce_only":false}),
        json!({"v":1,"type":"NewOrder","req_id":3,"client_order_id":"f-2","strategy_id":"fz","symbol":"ETH/USDT",
               "side":"SELL","order_type":"MARKET","price":null,"qty":0.5}),
        json!({"v":1,"type":"Cancel","req_id":4,"client_order_id":"f-1"}),
        json!({"v":1,"type":"CancelAll","req_id":5,"strategy_id":"fz","symbol":null}),
        json!({"v":1,"type":"Flatten","req_id":6,"strategy_id":null,"symbol":"ETH/USDT"}),
        json!({"v":1,"type":"KillSwitch","req_id":7,"scope":"STRATEGY","target":"fz","state":"REDUCING","reason":"fuzz"}),
        json!({"v":1,"type":"Resume","req_id":8,"scope":"STRATEGY","target":"fz"}),
        json!({"v":1,"type":"Heartbeat","req_id":9,"ts_init":1717200000000000000u64,"loop_age_ms":3}),
        json!({"v":1,"type":"Snapshot","req_id":10}),
        json!({"v":1,"type":"QueryOrder","req_id":11,"client_order_id":"f-1"}),
        json!({"v":1,"type":"ReplayReports","req_id":12,"from_seq":1}),
    ]
}

fn weird_value(rng: &mut StdRng) -> Value {
    match rng.gen_range(0..12) {
        0 => Value::Null,
        1 => json!(rng.gen::<bool>()),
        2 => json!(rng.gen::<i64>()),
        3 => json!(-rng.gen_range(0.0..1e6)),
        4 => json!(1e308),
        5 => json!(""),
        6 => json!("x".repeat(rng.gen_range(0..300))),
        7 => json!([1, 2, 3]),
        8 => json!({"nested": {"deeper": [null]}}),
        9 => json!(rng.gen_range(0.0..100_000.0)),
        10 => json!("BUY"),
        _ => json!(u64::MAX),
    }
}

fn mutate(rng: &mut StdRng, template: &Value) -> Vec<u8> {
    let mut value = template.clone();
    if let Value::Object(map) = &mut value {
        map.insert("req_id".into(), json!(rng.gen_range(0..1_000_000)));
        if let Some(Value::String(id)) = map.get_mut("client_order_id") {
            *id = format!("f-{}", rng.gen_range(0..50));
        }
        let keys: Vec<String> = map.keys().cloned().collect();
        for _ in 0..rng.gen_range(0..3) {
            let key = &keys[rng.gen_range(0..keys.len())];
            match rng.gen_range(0..3) {
                0 => {
                    map.remove(key);
                }
                1 => {
                    map.insert(key.clone(), weird_value(rng));
                }
                _ => {
                    map.insert(format!("extra{}", rng.gen_range(0..5)), weird_value(rng));
                }
            }
        }
    }
    let mut bytes = serde_json::to_vec(&value).unwrap_or_default();
    match rng.gen_range(0..6) {
        0 if !bytes.is_empty() => {
            for _ in 0..rng.gen_range(1..4) {
                let i = rng.gen_range(0..bytes.len());
                bytes[i] = rng.gen();
            }
        }
        1 if !bytes.is_empty() => {
            let cut = rng.gen_range(0..bytes.len());
            bytes.truncate(cut);
        }
        2 if !bytes.is_empty() => {
            let i = rng.gen_range(0..bytes.len());
            bytes.insert(i, b"{[\"\\,:}]0e-"[rng.gen_range(0..11)]);
        }
        _ => {}
    }
    bytes
}

fn random_frame(rng: &mut StdRng, templates: &[Value]) -> Vec<u8> {
    match rng.gen_range(0..100) {
        0..=14 => (0..rng.gen_range(0..200)).map(|_| rng.gen()).collect(),
        15..=16 => vec![b' '; 70_000],
        17 => format!("{}{}", "[".repeat(5_000), "]".repeat(5_000)).into_bytes(),
        18 => br#"{"v":1,"type":"Hello","req_id":1,"client":"\ud800"}"#.to_vec(),
        19 => b"null".to_vec(),
        20 => br#"{"v":1,"type":"NewOrder","req_id":1,"qty":1e999}"#.to_vec(),
        _ => {
            let pick = rng.gen_range(0..templates.len());
            mutate(rng, &templates[pick])
        }
    }
}

/// A DEALER on `endpoint` that waits at most 10 s for a reply.
fn connect(endpoint: &str) -> (zmq::Context, zmq::Socket) {
    let context = zmq::Context::new();
    let socket = context.socket(zmq::DEALER).unwrap();
    socket.set_rcvtimeo(10_000).unwrap();
    socket.set_linger(0).unwrap();
    socket.connect(endpoint).unwrap();
    (context, socket)
}

/// How many envelopes the core reads from `frame`: one per line, a trailing newline allowed.
fn envelopes_in(frame: &[u8]) -> usize {
    let body = frame.strip_suffix(b"\n").unwrap_or(frame);
    body.iter().filter(|b| **b == b'\n').count() + 1
}

/// Receives frames until `n` replies arrived (reports in between are checked and skipped).
fn recv_replies(socket: &zmq::Socket, n: usize) -> Vec<Value> {
    let mut replies = Vec::with_capacity(n);
    while replies.len() < n {
        let bytes = socket.recv_bytes(0).expect("a reply within the timeout");
        // One frame carries one or more envelopes, one per line.
        for line in bytes.split(|b| *b == b'\n') {
            let value: Value = serde_json::from_slice(line).expect("replies are JSON");
            assert_eq!(value["v"], 1, "{value}");
            let kind = value["type"].as_str().expect("typed").to_owned();
            if REPLY_TYPES.contains(&kind.as_str()) {
                replies.push(value);
            } else {
                assert!(
                    kind == "OrderUpdate" || kind == "RiskEvent",
                    "unexpected {kind}"
                );
            }
        }
    }
    assert_eq!(replies.len(), n, "more replies than envelopes: {replies:?}");
    replies
}

fn recv_reply(socket: &zmq::Socket) -> Value {
    recv_replies(socket, 1).remove(0)
}

#[test]
fn test_server_answers_every_random_or_mutated_frame_and_stays_alive() {
    let server = start_server();
    let (_context, socket) = connect(&server.endpoint);
    let mut rng = StdRng::seed_from_u64(0xF022);
    let templates = templates();
    let mut rejects = 0usize;
    let mut codes = std::collections::BTreeMap::<String, usize>::new();
    for i in 0..FRAMES {
        if i % 997 == 0 {
            // A two-frame message is not a command.
            socket
                .send_multipart([b"{}".as_slice(), b"{}".as_slice()], 0)
                .unwrap();
            let reply = recv_reply(&socket);
            assert_eq!(reply["code"], "MALFORMED");
            continue;
        }
        let frame = random_frame(&mut rng, &templates);
        socket.send(frame.as_slice(), 0).unwrap();
        for reply in recv_replies(&socket, envelopes_in(&frame)) {
            if reply["type"] == "Reject" {
                rejects += 1;
                let code = reply["code"].as_str().expect("reject code").to_owned();
                assert!(!reply["reason"].as_str().unwrap_or("").is_empty());
                *codes.entry(code).or_default() += 1;
            }
        }
    }
    assert!(
        rejects > FRAMES / 2,
        "most fuzz frames are rejected ({rejects})"
    );
    for code in [
        "MALFORMED",
        "OVERSIZED",
        "MISSING_FIELD",
        "INVALID_VALUE",
        "UNKNOWN_TYPE",
    ] {
        assert!(codes.contains_key(code), "no {code} seen: {codes:?}");
    }
    socket
        .send(
            br#"{"v":1,"type":"Heartbeat","req_id":424242,"loop_age_ms":0}"#.as_slice(),
            0,
        )
        .unwrap();
    let alive = recv_reply(&socket);
    assert_eq!(alive["type"], "Heartbeat");
    assert_eq!(alive["req_id"], 424242);
    server.shutdown.store(true, Ordering::SeqCst);
    let result = server.handle.join().expect("server thread did not panic");
    assert!(result.is_ok(), "{result:?}");
}

#[test]
fn test_an_orders_ack_and_its_reports_arrive_in_one_frame() {
    let server = start_server();
    let (_context, socket) = connect(&server.endpoint);
    socket
        .send(
            br#"{"v":1,"type":"Hello","req_id":1,"client":"frames"}"#.as_slice(),
            0,
        )
        .unwrap();
    assert_eq!(recv_reply(&socket)["type"], "Welcome");
    socket
        .send(
            concat!(
                r#"{"v":1,"type":"NewOrder","req_id":2,"client_order_id":"one-frame","#,
                r#""strategy_id":"fr","symbol":"BTC/USDT","side":"BUY","order_type":"MARKET","#,
                r#""price":null,"qty":0.001}"#
            )
            .as_bytes(),
            0,
        )
        .unwrap();
    let frame = socket.recv_bytes(0).expect("an answer");
    let envelopes: Vec<Value> = frame
        .split(|b| *b == b'\n')
        .map(|line| serde_json::from_slice(line).expect("each line is one JSON envelope"))
        .collect();
    assert_eq!(envelopes[0]["type"], "Ack", "{envelopes:?}");
    assert_eq!(envelopes[0]["req_id"], 2);
    let statuses: Vec<&str> = envelopes[1..]
        .iter()
        .filter(|e| e["client_order_id"] == "one-frame")
        .map(|e| e["status"].as_str().unwrap_or(""))
        .collect();
    // The default sim book is random: the order may take one level or a few.
    // Either way it is filled at once, so no separate NEW is reported.
    let (last, earlier) = statuses.split_last().expect("the order's reports");
    assert_eq!(*last, "FILLED", "{envelopes:?}");
    assert!(
        earlier.iter().all(|s| *s == "PARTIALLY_FILLED"),
        "{envelopes:?}"
    );
    let seqs: Vec<i64> = envelopes[1..]
        .iter()
        .filter_map(|e| e["seq"].as_i64())
        .collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    server.shutdown.store(true, Ordering::SeqCst);
    assert!(server.handle.join().expect("no panic").is_ok());
}

#[test]
fn test_each_envelope_of_a_multi_line_frame_is_answered_in_one_frame() {
    let server = start_server();
    let (_context, socket) = connect(&server.endpoint);
    socket
        .send(
            br#"{"v":1,"type":"Hello","req_id":1,"client":"lines"}"#.as_slice(),
            0,
        )
        .unwrap();
    assert_eq!(recv_reply(&socket)["type"], "Welcome");
    let order = |req_id: i64, cid: &str, side: &str| {
        format!(
            r#"{{"v":1,"type":"NewOrder","req_id":{req_id},"client_order_id":"{cid}","strategy_id":"ln","symbol":"BTC/USDT","side":"{side}","order_type":"MARKET","price":null,"qty":0.001}}"#
        )
    };
    // Two orders and a malformed line between them, with a trailing newline.
    let frame = format!(
        "{}\n{{\"v\":1,\"type\"\n{}\n",
        order(2, "l-1", "BUY"),
        order(3, "l-2", "SELL")
    );
    socket.send(frame.as_bytes(), 0).unwrap();
    let answer = socket.recv_bytes(0).expect("an answer");
    let envelopes: Vec<Value> = answer
        .split(|b| *b == b'\n')
        .map(|line| serde_json::from_slice(line).expect("JSON"))
        .collect();
    let replies: Vec<(String, Value)> = envelopes
        .iter()
        .filter(|e| REPLY_TYPES.contains(&e["type"].as_str().unwrap_or("")))
        .map(|e| {
            (
                e["type"].as_str().unwrap_or("").to_owned(),
                e["req_id"].clone(),
            )
        })
        .collect();
    assert_eq!(
        replies,
        [
            ("Ack".to_owned(), json!(2)),
            ("Reject".to_owned(), Value::Null),
            ("Ack".to_owned(), json!(3)),
        ],
        "{envelopes:?}"
    );
    let filled: Vec<&str> = envelopes
        .iter()
        .filter(|e| e["status"] == "FILLED")
        .map(|e| e["client_order_id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(filled, ["l-1", "l-2"]);

    // At most 1,024 envelopes are read from one frame; the rest get one MALFORMED reject.
    let lines: Vec<String> = (0..1_030)
        .map(|i| {
            format!(
                r#"{{"v":1,"type":"Heartbeat","req_id":{},"loop_age_ms":0}}"#,
                10 + i
            )
        })
        .collect();
    socket.send(lines.join("\n").as_bytes(), 0).unwrap();
    let replies = recv_replies(&socket, 1_025);
    assert!(replies[..1_024].iter().all(|r| r["type"] == "Heartbeat"));
    assert_eq!(replies[1_024]["code"], "MALFORMED");
    assert!(
        replies[1_024]["reason"]
            .as_str()
            .unwrap_or("")
            .contains("1024 envelopes"),
        "{}",
        replies[1_024]
    );
    server.shutdown.store(true, Ordering::SeqCst);
    assert!(server.handle.join().expect("no panic").is_ok());
}
