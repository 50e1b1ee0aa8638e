//! Pre-trade checks, through the core (real venue, real registry) and as pure functions.

mod common;

use cerebellum_core::{
    config::RiskConfig,
    protocol::commands::TradingState,
    risk::checks::{check_collar, pre_trade, OrderIntent, Reference, RiskInputs},
    types::{OrderType, Side},
};
use common::{quiet_config, Harness};
use serde_json::json;

fn code_of(step: &common::Step) -> String {
    step.reply()["code"].as_str().unwrap_or("").to_owned()
}

#[test]
fn test_order_above_max_order_qty_is_rejected_max_qty() {
    let mut h = Harness::quiet();
    assert_eq!(
        code_of(&h.limit("q1", "a", "BTC/USDT", "BUY", 59_990.0, 5.5)),
        "MAX_QTY"
    );
    assert_eq!(
        h.limit("q2", "a", "BTC/USDT", "BUY", 59_990.0, 0.5).reply()["type"],
        "Ack"
    );
}

#[test]
fn test_order_above_max_order_notional_is_rejected_max_notional() {
    let mut config = quiet_config();
    config.risk.max_order_notional = 10_000.0;
    let mut h = Harness::quiet_with(config);
    assert_eq!(
        code_of(&h.limit("n1", "a", "BTC/USDT", "BUY", 59_990.0, 0.2)),
        "MAX_NOTIONAL"
    );
    assert_eq!(
        code_of(&h.market("n2", "a", "ETH/USDT", "BUY", 4.0)),
        "MAX_NOTIONAL"
    );
    assert_eq!(
        h.market("n3", "a", "ETH/USDT", "BUY", 3.0).reply()["type"],
        "Ack"
    );
}

#[test]
fn test_position_limit_counts_open_orders_on_the_same_side() {
    let mut config = quiet_config();
    config.risk.max_position_notional = 100_000.0;
    let mut h = Harness::quiet_with(config);
    assert_eq!(
        h.limit("p1", "a", "BTC/USDT", "BUY", 59_990.0, 1.0).reply()["type"],
        "Ack"
    );
    // 1.0 open + 0.7 new at ~60k = 102k > 100k although nothing is filled yet.
    assert_eq!(
        code_of(&h.limit("p2", "b", "BTC/USDT", "BUY", 59_990.0, 0.7)),
        "MAX_POSITION"
    );
    // The other side reduces the projected position and passes.
    assert_eq!(
        h.limit("p3", "b", "BTC/USDT", "SELL", 60_010.0, 0.7)
            .reply()["type"],
        "Ack"
    );
}

#[test]
fn test_total_exposure_sums_over_symbols() {
    let mut config = quiet_config();
    config.risk.max_total_exposure = 100_000.0;
    let mut h = Harness::quiet_with(config);
    assert_eq!(
        h.market("x1", "a", "BTC/USDT", "BUY", 1.0).reply()["type"],
        "Ack"
    );
    h.advance_ms(1);
    // 60k of BTC held; 20 ETH at 3000 = 60k more: above 100k.
    assert_eq!(
        code_of(&h.market("x2", "a", "ETH/USDT", "BUY", 15.0)),
        "MAX_EXPOSURE"
    );
    assert_eq!(
        h.market("x3", "a", "ETH/USDT", "BUY", 10.0).reply()["type"],
        "Ack"
    );
}

#[test]
fn test_limit_price_outside_the_collar_is_rejected_price_collar() {
    let mut h = Harness::quiet();
    // Mid 60000, collar 500 bps: [57000, 63000].
    assert_eq!(
        code_of(&h.limit("c1", "a", "BTC/USDT", "BUY", 56_000.0, 0.1)),
        "PRICE_COLLAR"
    );
    assert_eq!(
        code_of(&h.limit("c2", "a", "BTC/USDT", "SELL", 63_500.0, 0.1)),
        "PRICE_COLLAR"
    );
    assert_eq!(
        h.limit("c3", "a", "BTC/USDT", "BUY", 57_500.0, 0.1).reply()["type"],
        "Ack"
    );
}

#[test]
fn test_missing_mid_is_a_stale_reference() {
    let mut h = Harness::with_config(quiet_config());
    assert_eq!(
        code_of(&h.limit("s1", "a", "BTC/USDT", "BUY", 60_000.0, 0.1)),
        "STALE_REFERENCE"
    );
    assert_eq!(
        code_of(&h.market("s2", "a", "BTC/USDT", "BUY", 0.1)),
        "STALE_REFERENCE"
    );
}

#[test]
fn test_stale_mid_is_a_stale_reference() {
    let limits = RiskConfig::default();
    let intent = OrderIntent {
        strategy_id: "a",
        symbol: "BTC/USDT",
        side: Side::Buy,
        order_type: OrderType::Limit,
        price: Some(60_000.0),
        qty: 0.1,
        reduce_only: false,
    };
    let fresh = Reference {
        mid: 60_000.0,
        age_ms: 10,
    };
    let stale = Reference {
        mid: 60_000.0,
        age_ms: 6_000,
    };
    assert!(check_collar(&intent, Some(fresh), &limits).is_ok());
    let err = check_collar(&intent, Some(stale), &limits).unwrap_err();
    assert_eq!(err.code.as_str(), "STALE_REFERENCE");
    assert!(err.reason.contains("6000 ms old"));
}

#[test]
fn test_checks_run_in_protocol_order_trading_state_first() {
    let limits = RiskConfig::default();
    let intent = OrderIntent {
        strategy_id: "a",
        symbol: "BTC/USDT",
        side: Side::Buy,
        order_type: OrderType::Limit,
        price: Some(1.0),
        qty: 100.0,
        reduce_only: false,
    };
    let inputs = RiskInputs {
        state: TradingState::Halted,
        reference: None,
        strategy_position: 0.0,
        symbol_position: 0.0,
        open_same_side: 0.0,
        other_exposure: 0.0,
    };
    assert_eq!(
        pre_trade(&intent, &inputs, &limits)
            .unwrap_err()
            .code
            .as_str(),
        "HALTED"
    );
    let active = RiskInputs {
        state: TradingState::Active,
        ..inputs
    };
    assert_eq!(
        pre_trade(&intent, &active, &limits)
            .unwrap_err()
            .code
            .as_str(),
        "MAX_QTY"
    );
}

#[test]
fn test_orders_per_second_are_limited_per_strategy_and_in_total() {
    let mut config = quiet_config();
    config.risk.max_orders_per_sec_strategy = 3;
    config.risk.max_orders_per_sec_total = 5;
    let mut h = Harness::quiet_with(config);
    for i in 0..3 {
        assert_eq!(
            h.limit(&format!("r{i}"), "a", "SOL/USDT", "BUY", 149.0, 1.0)
                .reply()["type"],
            "Ack"
        );
    }
    assert_eq!(
        code_of(&h.limit("r3", "a", "SOL/USDT", "BUY", 149.0, 1.0)),
        "RATE_LIMIT"
    );
    assert_eq!(
        h.limit("r4", "b", "SOL/USDT", "BUY", 149.0, 1.0).reply()["type"],
        "Ack"
    );
    assert_eq!(
        h.limit("r5", "b", "SOL/USDT", "BUY", 149.0, 1.0).reply()["type"],
        "Ack"
    );
    let total = h.limit("r6", "c", "SOL/USDT", "BUY", 149.0, 1.0);
    assert_eq!(code_of(&total), "RATE_LIMIT");
    assert!(total.reply()["reason"].as_str().unwrap().contains("total"));
    h.advance_ms(1_001);
    assert_eq!(
        h.limit("r7", "a", "SOL/USDT", "BUY", 149.0, 1.0).reply()["type"],
        "Ack"
    );
}

#[test]
fn test_same_order_under_a_new_id_within_the_window_is_a_duplicate() {
    let mut config = quiet_config();
    config.risk.duplicate_window_ms = 100;
    let mut h = Harness::quiet_with(config);
    assert_eq!(
        h.limit("d1", "a", "SOL/USDT", "BUY", 149.0, 1.0).reply()["type"],
        "Ack"
    );
    assert_eq!(
        code_of(&h.limit("d2", "a", "SOL/USDT", "BUY", 149.0, 1.0)),
        "DUPLICATE_ORDER"
    );
    assert_eq!(
        h.limit("d3", "a", "SOL/USDT", "BUY", 149.0, 2.0).reply()["type"],
        "Ack"
    );
    assert_eq!(
        h.limit("d4", "b", "SOL/USDT", "BUY", 149.0, 1.0).reply()["type"],
        "Ack"
    );
    h.advance_ms(150);
    assert_eq!(
        h.limit("d5", "a", "SOL/USDT", "BUY", 149.0, 1.0).reply()["type"],
        "Ack"
    );
}

#[test]
fn test_reduce_only_order_that_would_increase_the_position_is_rejected() {
    let mut h = Harness::quiet();
    let ro = |h: &mut Harness, id: &str, side: &str, qty: f64| {
        h.send(json!({"type": "NewOrder", "client_order_id": id, "strategy_id": "a", "symbol": "BTC/USDT",
            "side": side, "order_type": "MARKET", "qty": qty, "reduce_only": true}))
    };
    assert_eq!(code_of(&ro(&mut h, "ro1", "SELL", 0.1)), "REDUCE_ONLY");
    h.market("b1", "a", "BTC/USDT", "BUY", 0.5);
    assert_eq!(code_of(&ro(&mut h, "ro2", "BUY", 0.1)), "REDUCE_ONLY");
    assert_eq!(code_of(&ro(&mut h, "ro3", "SELL", 0.6)), "REDUCE_ONLY");
    assert_eq!(ro(&mut h, "ro4", "SELL", 0.5).reply()["type"], "Ack");
    assert_eq!(h.core.position("a", "BTC/USDT").unwrap().qty_lots, 0);
}
