//! The core's share of an order round trip: in-process command handling and a
//! real DEALER -> ROUTER round trip over loopback TCP (Rust on both ends).
//! Prints the figures; the asserted bounds are loose (shared CI machines).

mod common;

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc, Arc,
    },
    thread,
    time::{Duration, Instant},
};

use cerebellum_core::{
    clock::{Clock, WallClock},
    config::Config,
    server::{self, core::Core, ServerOptions},
    venue::sim::SimVenue,
};
use common::{quiet_config, Harness};
use serde_json::json;

fn percentile(samples: &mut [f64], q: f64) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
    samples[i]
}

#[test]
fn test_core_handles_new_order_and_cancel_in_microseconds() {
    let mut config = quiet_config();
    config.risk.max_orders_per_sec_strategy = 1_000_000;
    config.risk.max_orders_per_sec_total = 1_000_000;
    let mut h = Harness::quiet_with(config);
    let mut new_us = Vec::new();
    let mut cancel_us = Vec::new();
    let mut hb_us = Vec::new();
    for i in 0..5_000 {
        let id = format!("p-{i}");
        let order = serde_json::to_vec(&json!({"v":1,"type":"NewOrder","req_id":i,"client_order_id":id,
            "strategy_id":"perf","symbol":"BTC/USDT","side":"BUY","order_type":"LIMIT","price":59_000.0,"qty":0.01}))
        .unwrap();
        let cancel =
            serde_json::to_vec(&json!({"v":1,"type":"Cancel","req_id":i,"client_order_id":id}))
                .unwrap();
        let t = Instant::now();
        let step = h.send_raw(&order);
        new_us.push(t.elapsed().as_secs_f64() * 1e6);
        assert_eq!(step.reply()["type"], "Ack");
        let t = Instant::now();
        h.send_raw(&cancel);
        cancel_us.push(t.elapsed().as_secs_f64() * 1e6);
        let t = Instant::now();
        h.send_raw(br#"{"v":1,"type":"Heartbeat","req_id":1,"loop_age_ms":0}"#);
        hb_us.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let (n50, n99) = (percentile(&mut new_us, 0.5), percentile(&mut new_us, 0.99));
    let (c50, c99) = (
        percentile(&mut cancel_us, 0.5),
        percentile(&mut cancel_us, 0.99),
    );
    let (h50, h99) = (percentile(&mut hb_us, 0.5), percentile(&mut hb_us, 0.99));
    println!(
        "in-process (decode + risk + venue + journal + encode, JSON parse of the test's outputs included): \
         NewOrder p50 {n50:.1} us p99 {n99:.1} us; Cancel p50 {c50:.1} us p99 {c99:.1} us; Heartbeat p50 {h50:.1} us p99 {h99:.1} us"
    );
    assert!(n50 < 200.0 && c50 < 200.0 && h50 < 100.0);
}

#[test]
fn test_order_round_trip_over_zeromq_is_well_under_a_millisecond() {
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
        config.risk.duplicate_window_ms = 0;
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
    let endpoint = rx.recv_timeout(Duration::from_secs(30)).expect("bound");
    let context = zmq::Context::new();
    let socket = context.socket(zmq::DEALER).unwrap();
    socket.set_rcvtimeo(5_000).unwrap();
    socket.set_linger(0).unwrap();
    socket.connect(&endpoint).unwrap();
    let ask = |body: &[u8]| -> serde_json::Value {
        socket.send(body, 0).unwrap();
        // The reply is the frame's first envelope; the order's reports may follow it.
        let frame = socket.recv_bytes(0).unwrap();
        serde_json::from_slice(frame.split(|b| *b == b'\n').next().unwrap()).unwrap()
    };
    // Wait for the book (the warm-up runs before the socket is bound).
    let snapshot = ask(br#"{"v":1,"type":"Snapshot","req_id":1}"#);
    let mid = snapshot["mids"]["ETH/USDT"].as_f64().expect("ETH mid");
    let price = ((mid * 0.99) / 0.05).round() * 0.05;
    let mut rtt_us = Vec::new();
    for i in 0..3_000 {
        let order = serde_json::to_vec(&json!({"v":1,"type":"NewOrder","req_id":i + 10,"client_order_id":format!("z-{i}"),
            "strategy_id":"perf","symbol":"ETH/USDT","side":"BUY","order_type":"LIMIT","price":price,"qty":0.01}))
        .unwrap();
        let t = Instant::now();
        let reply = ask(&order);
        rtt_us.push(t.elapsed().as_secs_f64() * 1e6);
        assert_eq!(reply["type"], "Ack", "{reply}");
    }
    let (p50, p99) = (percentile(&mut rtt_us, 0.5), percentile(&mut rtt_us, 0.99));
    println!("NewOrder -> Ack over loopback TCP (Rust DEALER, JSON both ways): p50 {p50:.1} us, p99 {p99:.1} us");
    shutdown.store(true, Ordering::SeqCst);
    assert!(handle.join().expect("no panic").is_ok());
    assert!(p50 < 1_000.0);
}
