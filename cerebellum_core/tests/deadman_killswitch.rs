//! Dead-man's switch and kill switch behaviour through the core.

mod common;

use common::{quiet_config, Harness};
use serde_json::json;

fn heartbeat(h: &mut Harness, loop_age_ms: u64) -> common::Step {
    h.send(json!({"type": "Heartbeat", "ts_init": 0, "loop_age_ms": loop_age_ms}))
}

fn risk_events(step: &common::Step) -> Vec<&serde_json::Value> {
    step.reports
        .iter()
        .filter(|r| r["type"] == "RiskEvent")
        .collect()
}

#[test]
fn test_deadman_is_disarmed_without_any_sign_of_life() {
    // A peer that never said Hello: its orders do not arm the switch.
    let mut h = Harness::build_silent(quiet_config(), common::standard_book);
    h.limit("o1", "a", "BTC/USDT", "BUY", 59_000.0, 0.1);
    let step = h.advance_ms(60_000);
    assert!(step.reports.is_empty());
    assert_eq!(h.core.open_order_count(), 1);
}

#[test]
fn test_deadman_armed_by_hello_cancels_orders_of_an_engine_that_never_heartbeats() {
    // Harness::quiet says Hello; the engine then sends an order and freezes.
    let mut h = Harness::quiet();
    h.advance_ms(1_000);
    h.limit("o1", "a", "BTC/USDT", "BUY", 59_000.0, 0.1);
    assert_eq!(h.core.open_order_count(), 1);
    // The order itself is a sign of life (t = 1 s): nothing before t = 6 s.
    assert!(h.advance_ms(4_900).reports.is_empty());
    let fired = h.advance_ms(200);
    let events = risk_events(&fired);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["kind"], "DEADMAN");
    assert_eq!(fired.updates_of("o1")[0]["status"], "CANCELED");
    assert_eq!(fired.updates_of("o1")[0]["reason"], "deadman");
    assert_eq!(h.core.open_order_count(), 0);
}

#[test]
fn test_hello_alone_arms_the_deadman() {
    let mut h = Harness::quiet();
    // Without any order or heartbeat the switch still fires once (nothing to cancel).
    let fired = h.advance_ms(5_100);
    let events = risk_events(&fired);
    assert_eq!(events.len(), 1);
    assert!(events[0]["message"]
        .as_str()
        .unwrap()
        .contains("cancelled 0 resting orders"));
}

#[test]
fn test_orders_from_a_registered_engine_keep_the_deadman_alive() {
    let mut h = Harness::quiet();
    for i in 0..10 {
        h.advance_ms(3_000);
        let id = format!("o{i}");
        assert_eq!(
            h.limit(&id, "a", "BTC/USDT", "BUY", 59_000.0, 0.1).reply()["type"],
            "Ack"
        );
    }
    assert_eq!(h.core.open_order_count(), 10);
    assert!(risk_events(&h.advance_ms(4_000)).is_empty());
    assert_eq!(risk_events(&h.advance_ms(1_100)).len(), 1);
    assert_eq!(h.core.open_order_count(), 0);
}

#[test]
fn test_deadman_cancels_resting_orders_after_the_timeout_and_rearms() {
    let mut h = Harness::quiet();
    assert_eq!(heartbeat(&mut h, 0).reply()["type"], "Heartbeat");
    h.limit("o1", "a", "BTC/USDT", "BUY", 59_000.0, 0.1);
    h.limit("o2", "b", "ETH/USDT", "SELL", 3_100.0, 1.0);
    assert!(h.advance_ms(4_900).reports.is_empty());
    let fired = h.advance_ms(200);
    let events = risk_events(&fired);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["kind"], "DEADMAN");
    assert_eq!(events[0]["scope"], "GLOBAL");
    assert!(events[0]["message"]
        .as_str()
        .unwrap()
        .contains("cancelled 2 resting orders"));
    assert_eq!(fired.updates_of("o1")[0]["reason"], "deadman");
    assert_eq!(fired.updates_of("o2")[0]["status"], "CANCELED");
    assert_eq!(h.core.open_order_count(), 0);
    // It fires once, then waits for the next heartbeat to re-arm.
    assert!(h.advance_ms(10_000).reports.is_empty());
    heartbeat(&mut h, 0);
    h.limit("o3", "a", "BTC/USDT", "BUY", 59_000.0, 0.1);
    let again = h.advance_ms(5_100);
    assert_eq!(risk_events(&again).len(), 1);
    assert_eq!(again.updates_of("o3")[0]["reason"], "deadman");
}

#[test]
fn test_heartbeats_from_a_frozen_engine_loop_do_not_keep_the_deadman_alive() {
    let mut h = Harness::quiet();
    heartbeat(&mut h, 0);
    h.limit("o1", "a", "BTC/USDT", "BUY", 59_000.0, 0.1);
    for _ in 0..6 {
        h.advance_ms(1_000);
        // The link thread still beats, but the engine loop last ran long ago.
        heartbeat(&mut h, 6_000);
    }
    assert_eq!(
        h.core.open_order_count(),
        0,
        "stale heartbeats count as absent"
    );
}

#[test]
fn test_regular_heartbeats_keep_orders_alive() {
    let mut h = Harness::quiet();
    h.limit("o1", "a", "BTC/USDT", "BUY", 59_000.0, 0.1);
    for _ in 0..20 {
        heartbeat(&mut h, 3);
        let step = h.advance_ms(500);
        assert!(risk_events(&step).is_empty());
    }
    assert_eq!(h.core.open_order_count(), 1);
}

#[test]
fn test_global_halt_cancels_everything_flattens_and_then_accepts_only_reduce_only() {
    let mut h = Harness::quiet();
    h.market("b1", "a", "BTC/USDT", "BUY", 0.5);
    h.market("s1", "b", "ETH/USDT", "SELL", 2.0);
    h.limit("o1", "a", "SOL/USDT", "BUY", 149.0, 1.0);
    let step = h.send(
        json!({"type": "KillSwitch", "scope": "GLOBAL", "target": null, "state": "HALTED",
        "reason": "operator"}),
    );
    let ack = step.reply();
    assert_eq!(ack["type"], "Ack");
    assert_eq!(ack["canceled"], 1);
    assert_eq!(ack["orders"], 2);
    assert_eq!(ack["trading_state"]["global"], "HALTED");
    let events = risk_events(&step);
    assert_eq!(events[0]["kind"], "KILL_SWITCH");
    assert_eq!(step.updates_of("o1")[0]["reason"], "kill_switch");
    assert_eq!(h.core.position("a", "BTC/USDT").unwrap().qty_lots, 0);
    assert_eq!(h.core.position("b", "ETH/USDT").unwrap().qty_lots, 0);
    let flatten: Vec<_> = step
        .reports
        .iter()
        .filter(|r| {
            r["type"] == "OrderUpdate"
                && r["client_order_id"].as_str().unwrap().starts_with("flat-")
        })
        .collect();
    assert!(flatten
        .iter()
        .any(|r| r["status"] == "FILLED" && r["strategy_id"] == "a"));

    assert_eq!(
        h.market("n1", "a", "BTC/USDT", "BUY", 0.1).reply()["code"],
        "HALTED"
    );
    h.send(json!({"type": "Resume", "scope": "GLOBAL", "target": null}));
    assert_eq!(
        h.market("n2", "a", "BTC/USDT", "BUY", 0.1).reply()["type"],
        "Ack"
    );
    let ro = h.send(json!({"type": "KillSwitch", "scope": "GLOBAL", "state": "HALTED"}));
    assert_eq!(ro.reply()["orders"], 1);
}

#[test]
fn test_strategy_scope_halts_only_that_strategy() {
    let mut h = Harness::quiet();
    h.limit("a1", "a", "BTC/USDT", "BUY", 59_000.0, 0.1);
    h.limit("b1", "b", "BTC/USDT", "BUY", 59_000.0, 0.1);
    let step = h.send(
        json!({"type": "KillSwitch", "scope": "STRATEGY", "target": "a", "state": "HALTED",
        "reason": "watchtower"}),
    );
    assert_eq!(step.reply()["canceled"], 1);
    assert_eq!(step.reply()["trading_state"]["strategies"]["a"], "HALTED");
    assert_eq!(step.updates_of("a1")[0]["status"], "CANCELED");
    assert!(step.updates_of("b1").is_empty());
    assert_eq!(
        h.limit("a2", "a", "BTC/USDT", "BUY", 59_000.0, 0.1).reply()["code"],
        "HALTED"
    );
    assert_eq!(
        h.limit("b2", "b", "BTC/USDT", "BUY", 59_000.0, 0.1).reply()["type"],
        "Ack"
    );
    let resumed = h.send(json!({"type": "Resume", "scope": "STRATEGY", "target": "a"}));
    assert_eq!(risk_events(&resumed)[0]["kind"], "RESUMED");
    assert_eq!(
        h.limit("a3", "a", "BTC/USDT", "BUY", 59_000.0, 0.1).reply()["type"],
        "Ack"
    );
}

#[test]
fn test_symbol_scope_reducing_accepts_only_reduce_only_and_cancels_nothing() {
    let mut h = Harness::quiet();
    h.market("b1", "a", "ETH/USDT", "BUY", 1.0);
    h.limit("o1", "a", "ETH/USDT", "BUY", 2_990.0, 1.0);
    let step = h.send(
        json!({"type": "KillSwitch", "scope": "SYMBOL", "target": "ETH/USDT", "state": "REDUCING"}),
    );
    assert_eq!(step.reply()["canceled"], 0);
    assert_eq!(
        step.reply()["trading_state"]["symbols"]["ETH/USDT"],
        "REDUCING"
    );
    assert_eq!(h.core.open_order_count(), 1);
    assert_eq!(
        h.market("b2", "a", "ETH/USDT", "BUY", 1.0).reply()["code"],
        "REDUCE_ONLY"
    );
    let reduce = h.send(json!({"type": "NewOrder", "client_order_id": "r1", "strategy_id": "a",
        "symbol": "ETH/USDT", "side": "SELL", "order_type": "MARKET", "qty": 1.0, "reduce_only": true}));
    assert_eq!(reduce.reply()["type"], "Ack");
    assert_eq!(
        h.market("x1", "a", "BTC/USDT", "BUY", 0.1).reply()["type"],
        "Ack"
    );
}

#[test]
fn test_halt_with_latency_repeats_cancels_until_the_scope_is_empty_then_flattens() {
    let mut config = quiet_config();
    config.sim.latency_us = 20_000;
    let mut h = Harness::quiet_with(config);
    h.market("b1", "a", "BTC/USDT", "BUY", 0.5);
    h.advance_ms(30);
    assert_eq!(h.core.position("a", "BTC/USDT").unwrap().qty_lots, 5_000);
    h.limit("o1", "a", "BTC/USDT", "BUY", 59_000.0, 0.1);
    h.advance_ms(30);
    let step = h.send(
        json!({"type": "KillSwitch", "scope": "GLOBAL", "state": "HALTED", "reason": "test"}),
    );
    assert_eq!(step.reply()["canceled"], 1);
    assert_eq!(
        step.reply()["orders"],
        0,
        "flatten waits until the venue confirms the cancels"
    );
    let mut flattened = false;
    for _ in 0..20 {
        h.advance_ms(50);
        if h.core.position("a", "BTC/USDT").unwrap().qty_lots == 0 {
            flattened = true;
            break;
        }
    }
    assert!(flattened);
    assert_eq!(h.core.open_order_count(), 0);
}
