//! Orders through the core and the simulated venue: statuses, fills at book
//! prices, idempotency, positions, cash and the journal.

mod common;

use common::{close, quiet_config, Harness};
use serde_json::json;

#[test]
fn test_limit_order_rests_then_fills_partially_and_fully_when_crossed() {
    let mut h = Harness::quiet();
    let step = h.limit("maker-1", "alpha", "BTC/USDT", "SELL", 60_000.0, 0.3);
    let ack = step.reply();
    assert_eq!(ack["type"], "Ack");
    assert_eq!(ack["status"], "NEW");
    assert_eq!(ack["duplicate"], false);
    assert_eq!(step.statuses_of("maker-1"), ["NEW"]);

    let taker = h.market("taker-1", "beta", "BTC/USDT", "BUY", 0.1);
    let maker_fill = &taker.updates_of("maker-1")[0];
    assert_eq!(maker_fill["status"], "PARTIALLY_FILLED");
    assert_eq!(maker_fill["last_price"], 60_000.0);
    assert!(close(maker_fill["last_qty"].as_f64().unwrap(), 0.1));
    assert_eq!(maker_fill["liquidity"], "MAKER");
    assert!(close(maker_fill["leaves_qty"].as_f64().unwrap(), 0.2));
    // Accepted and filled in one venue turn: one update, no separate NEW.
    assert_eq!(taker.statuses_of("taker-1"), ["FILLED"]);
    let taker_fill = taker.updates_of("taker-1")[0];
    assert_eq!(taker_fill["liquidity"], "TAKER");
    assert_eq!(taker_fill["last_price"], 60_000.0);

    let rest = h.market("taker-2", "beta", "BTC/USDT", "BUY", 0.2);
    let done = rest.updates_of("maker-1");
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["status"], "FILLED");
    assert!(close(done[0]["cum_qty"].as_f64().unwrap(), 0.3));
    assert_eq!(done[0]["avg_price"], 60_000.0);
    assert_eq!(h.core.open_order_count(), 0);
}

#[test]
fn test_market_order_walks_the_book_and_reports_each_level_at_book_prices() {
    let mut h = Harness::quiet();
    // Asks: 60000.5 x 1.0, 60001.0 x 2.0.
    let step = h.market("m-1", "alpha", "BTC/USDT", "BUY", 1.5);
    let updates = step.updates_of("m-1");
    let fills: Vec<_> = updates.iter().filter(|u| !u["exec_id"].is_null()).collect();
    assert_eq!(fills.len(), 2);
    assert_eq!(fills[0]["last_price"], 60_000.5);
    assert!(close(fills[0]["last_qty"].as_f64().unwrap(), 1.0));
    assert_eq!(fills[0]["status"], "PARTIALLY_FILLED");
    assert_eq!(fills[1]["last_price"], 60_001.0);
    assert!(close(fills[1]["last_qty"].as_f64().unwrap(), 0.5));
    assert_eq!(fills[1]["status"], "FILLED");
    let avg = fills[1]["avg_price"].as_f64().unwrap();
    assert!(close(avg, (60_000.5 + 0.5 * 60_001.0) / 1.5), "{avg}");
    let fee = fills[0]["fee"].as_f64().unwrap();
    assert!(close(fee, 60_000.5 * 1.0 * 5.5e-4), "taker fee {fee}");
    assert_ne!(fills[0]["exec_id"], fills[1]["exec_id"]);
}

#[test]
fn test_market_order_larger_than_the_book_is_filled_then_cancelled_for_no_liquidity() {
    let mut h = Harness::quiet();
    let step = h.market("m-big", "alpha", "BTC/USDT", "BUY", 4.0);
    let statuses = step.statuses_of("m-big");
    assert_eq!(
        statuses,
        ["PARTIALLY_FILLED", "PARTIALLY_FILLED", "CANCELED"]
    );
    let last = step.updates_of("m-big")[2];
    assert_eq!(last["reason"], "no_liquidity");
    assert!(close(last["cum_qty"].as_f64().unwrap(), 3.0));
    // With one side empty there is no mid: the pre-trade check refuses first.
    let again = h.market("m-none", "alpha", "BTC/USDT", "BUY", 0.1);
    assert_eq!(again.reply()["code"], "STALE_REFERENCE");
}

#[test]
fn test_market_order_reaching_an_empty_side_after_latency_is_rejected_no_liquidity() {
    let mut config = quiet_config();
    config.sim.latency_us = 1_000;
    let mut h = Harness::quiet_with(config);
    assert_eq!(
        h.market("eat", "alpha", "BTC/USDT", "BUY", 3.0).reply()["type"],
        "Ack"
    );
    assert_eq!(
        h.market("late", "alpha", "BTC/USDT", "BUY", 0.1).reply()["type"],
        "Ack"
    );
    let step = h.advance_ms(2);
    assert_eq!(
        step.statuses_of("eat").last().map(String::as_str),
        Some("FILLED")
    );
    assert_eq!(step.statuses_of("late"), ["REJECTED"]);
    assert!(step.updates_of("late")[0]["reason"]
        .as_str()
        .unwrap()
        .starts_with("NO_LIQUIDITY"));
}

#[test]
fn test_ioc_limit_remainder_is_cancelled_with_reason_ioc_remainder() {
    let mut h = Harness::quiet();
    let step = h.send(
        json!({"type": "NewOrder", "client_order_id": "ioc-1", "strategy_id": "alpha",
        "symbol": "ETH/USDT", "side": "BUY", "order_type": "LIMIT", "price": 3000.05, "qty": 15.0,
        "time_in_force": "IOC"}),
    );
    assert_eq!(step.reply()["type"], "Ack");
    assert_eq!(step.statuses_of("ioc-1"), ["PARTIALLY_FILLED", "CANCELED"]);
    let last = step.updates_of("ioc-1")[1];
    assert_eq!(last["reason"], "ioc_remainder");
    assert!(close(last["cum_qty"].as_f64().unwrap(), 10.0));
    assert_eq!(h.core.open_order_count(), 0);
}

#[test]
fn test_post_only_order_that_would_take_is_rejected_and_one_that_rests_is_accepted() {
    let mut h = Harness::quiet();
    let take = h.send(
        json!({"type": "NewOrder", "client_order_id": "po-1", "strategy_id": "alpha",
        "symbol": "SOL/USDT", "side": "BUY", "order_type": "LIMIT", "price": 150.01, "qty": 1.0,
        "post_only": true}),
    );
    assert_eq!(take.reply()["code"], "POST_ONLY_WOULD_TAKE");
    assert!(take.reports.is_empty());
    let rest = h.send(
        json!({"type": "NewOrder", "client_order_id": "po-2", "strategy_id": "alpha",
        "symbol": "SOL/USDT", "side": "BUY", "order_type": "LIMIT", "price": 150.0, "qty": 1.0,
        "post_only": true}),
    );
    assert_eq!(rest.reply()["status"], "NEW");
    // The refused id was never registered: it can be used again.
    let q = h.send(json!({"type": "QueryOrder", "client_order_id": "po-1"}));
    assert_eq!(q.reply()["known"], false);
}

#[test]
fn test_duplicate_new_order_is_idempotent_and_acks_the_existing_state() {
    let mut h = Harness::quiet();
    let first = h.market("dup-1", "alpha", "BTC/USDT", "BUY", 0.5);
    assert_eq!(first.reply()["duplicate"], false);
    let second = h.market("dup-1", "alpha", "BTC/USDT", "BUY", 0.5);
    let ack = second.reply();
    assert_eq!(ack["type"], "Ack");
    assert_eq!(ack["duplicate"], true);
    assert_eq!(ack["status"], "FILLED");
    assert_eq!(ack["venue_order_id"], first.reply()["venue_order_id"]);
    assert!(
        second.reports.is_empty(),
        "a duplicate is not submitted again"
    );
    let position = h.core.position("alpha", "BTC/USDT").unwrap();
    assert_eq!(position.qty_lots, 5_000);
}

#[test]
fn test_cancel_of_unknown_or_closed_order_is_rejected_and_of_open_order_is_acked() {
    let mut h = Harness::quiet();
    assert_eq!(
        h.send(json!({"type": "Cancel", "client_order_id": "nope"}))
            .reply()["code"],
        "UNKNOWN_ORDER"
    );
    h.market("closed", "alpha", "BTC/USDT", "BUY", 0.1);
    assert_eq!(
        h.send(json!({"type": "Cancel", "client_order_id": "closed"}))
            .reply()["code"],
        "ORDER_CLOSED"
    );
    h.limit("open", "alpha", "BTC/USDT", "BUY", 59_990.0, 0.1);
    let step = h.send(json!({"type": "Cancel", "client_order_id": "open"}));
    assert_eq!(step.reply()["type"], "Ack");
    let updates = step.updates_of("open");
    assert_eq!(updates[0]["status"], "CANCELED");
    assert_eq!(updates[0]["reason"], "user");
}

#[test]
fn test_off_grid_and_out_of_range_numbers_are_rejected_with_their_codes() {
    let mut h = Harness::quiet();
    assert_eq!(
        h.limit("g1", "a", "BTC/USDT", "BUY", 59_990.3, 0.1).reply()["code"],
        "OFF_TICK"
    );
    assert_eq!(
        h.limit("g2", "a", "BTC/USDT", "BUY", 59_990.0, 0.00015)
            .reply()["code"],
        "OFF_LOT"
    );
    assert_eq!(
        h.limit("g3", "a", "DOGE/USDT", "BUY", 1.0, 1.0).reply()["code"],
        "UNKNOWN_SYMBOL"
    );
    let reject = h.limit("g4", "a", "BTC/USDT", "BUY", 59_990.3, 0.1);
    assert_eq!(reject.reply()["client_order_id"], "g4");
    assert!(reject.reply()["reason"].as_str().unwrap().contains("tick"));
}

#[test]
fn test_positions_realized_pnl_fees_and_cash_follow_fills() {
    let mut h = Harness::quiet();
    h.market("b1", "alpha", "BTC/USDT", "BUY", 1.0); // 60000.5
    h.limit("s1", "alpha", "BTC/USDT", "SELL", 59_999.5, 1.0); // crosses the bid at 59999.5
    let p = h.core.position("alpha", "BTC/USDT").unwrap().clone();
    assert_eq!(p.qty_lots, 0);
    assert!(close(p.realized_pnl, -1.0), "{}", p.realized_pnl);
    let fees = 60_000.5 * 5.5e-4 + 59_999.5 * 5.5e-4;
    assert!(close(p.fees, fees), "{}", p.fees);
    assert!(
        close(h.core.cash(), 100_000.0 - 1.0 - fees),
        "{}",
        h.core.cash()
    );
    let snap = h.snapshot();
    assert_eq!(snap["positions"][0]["strategy_id"], "alpha");
    assert_eq!(snap["positions"][0]["qty"], 0.0);
    assert!(close(
        snap["balances"][0]["total"].as_f64().unwrap(),
        100_000.0 - 1.0 - fees
    ));
}

#[test]
fn test_journal_sequence_starts_at_one_increases_by_one_and_replays_unchanged() {
    let mut h = Harness::quiet();
    let mut seqs = Vec::new();
    let mut reports = Vec::new();
    for i in 0..5 {
        let step = h.limit(&format!("j-{i}"), "alpha", "ETH/USDT", "BUY", 2999.0, 0.1);
        for r in step.reports {
            seqs.push(r["seq"].as_u64().unwrap());
            reports.push(r);
        }
    }
    assert_eq!(seqs, (1..=5).collect::<Vec<u64>>());
    let replay = h.send(json!({"type": "ReplayReports", "from_seq": 3}));
    assert_eq!(replay.replies.len(), 4);
    assert_eq!(replay.replies[0], reports[2]);
    assert_eq!(replay.replies[2], reports[4]);
    let done = &replay.replies[3];
    assert_eq!(done["type"], "ReplayDone");
    assert_eq!(done["from_seq"], 3);
    assert_eq!(done["to_seq"], 5);
    assert_eq!(done["last_seq"], 5);
}

#[test]
fn test_replay_from_an_evicted_sequence_is_refused() {
    let mut config = quiet_config();
    config.session.journal_capacity = 2;
    let mut h = Harness::quiet_with(config);
    for i in 0..4 {
        h.limit(&format!("e-{i}"), "alpha", "ETH/USDT", "BUY", 2999.0, 0.1);
    }
    let step = h.send(json!({"type": "ReplayReports", "from_seq": 1}));
    assert_eq!(step.reply()["code"], "REPLAY_UNAVAILABLE");
    let ok = h.send(json!({"type": "ReplayReports", "from_seq": 3}));
    assert_eq!(ok.replies.len(), 3);
}

#[test]
fn test_agent_limit_order_keeps_its_queue_position_behind_existing_liquidity() {
    let mut h = Harness::quiet();
    // 1.0 BTC of background liquidity rests at 60000.5 before the agent's order.
    h.limit("q-1", "alpha", "BTC/USDT", "SELL", 60_000.5, 0.5);
    let first = h.market("t-1", "beta", "BTC/USDT", "BUY", 0.8);
    assert!(
        first.updates_of("q-1").is_empty(),
        "background order ahead fills first"
    );
    let second = h.market("t-2", "beta", "BTC/USDT", "BUY", 0.4);
    let fill = second.updates_of("q-1");
    assert_eq!(fill.len(), 1);
    assert!(
        close(fill[0]["last_qty"].as_f64().unwrap(), 0.2),
        "{:?}",
        fill[0]
    );
}

#[test]
fn test_snapshot_and_query_report_open_orders_with_their_state() {
    let mut h = Harness::quiet();
    h.limit("o-1", "alpha", "SOL/USDT", "BUY", 149.5, 2.0);
    let snap = h.snapshot();
    assert_eq!(snap["type"], "SnapshotReport");
    assert_eq!(snap["open_orders"].as_array().unwrap().len(), 1);
    assert_eq!(snap["open_orders"][0]["client_order_id"], "o-1");
    assert_eq!(snap["open_orders"][0]["price"], 149.5);
    assert_eq!(snap["mids"]["SOL/USDT"], 150.0);
    assert_eq!(snap["trading_state"]["global"], "ACTIVE");
    let q = h.send(json!({"type": "QueryOrder", "client_order_id": "o-1"}));
    assert_eq!(q.reply()["known"], true);
    assert_eq!(q.reply()["order"]["status"], "NEW");
}

#[test]
fn test_latency_delays_arrival_and_fills_until_the_clock_passes_it() {
    let mut config = quiet_config();
    config.sim.latency_us = 5_000;
    let mut h = Harness::quiet_with(config);
    let step = h.market("lat-1", "alpha", "BTC/USDT", "BUY", 0.1);
    assert_eq!(step.reply()["status"], "NEW");
    assert!(
        step.reports.is_empty(),
        "nothing reaches the book before the latency"
    );
    let early = h.advance_ms(2);
    assert!(early.reports.is_empty());
    let later = h.advance_ms(4);
    assert_eq!(later.statuses_of("lat-1"), ["FILLED"]);
    let fill = later.updates_of("lat-1")[0];
    assert_eq!(fill["last_price"], 60_000.5);
}

#[test]
fn test_post_only_refused_on_arrival_after_latency_is_reported_rejected() {
    let mut config = quiet_config();
    config.sim.latency_us = 1_000;
    let mut h = Harness::quiet_with(config);
    let step = h.send(
        json!({"type": "NewOrder", "client_order_id": "po-late", "strategy_id": "alpha",
        "symbol": "BTC/USDT", "side": "SELL", "order_type": "LIMIT", "price": 59_999.5, "qty": 0.1,
        "post_only": true}),
    );
    assert_eq!(step.reply()["type"], "Ack");
    let later = h.advance_ms(2);
    assert_eq!(later.statuses_of("po-late"), ["REJECTED"]);
    assert!(later.updates_of("po-late")[0]["reason"]
        .as_str()
        .unwrap()
        .contains("POST_ONLY_WOULD_TAKE"));
}

#[test]
fn test_ack_last_seq_never_runs_ahead_of_reports_already_sent() {
    let mut h = Harness::quiet();
    let mut seen = 0u64;
    for i in 0..4 {
        let step = h.market(&format!("ls-{i}"), "alpha", "BTC/USDT", "BUY", 0.01);
        assert!(step.reply()["last_seq"].as_u64().unwrap() <= seen);
        for r in &step.reports {
            let seq = r["seq"].as_u64().unwrap();
            assert_eq!(seq, seen + 1);
            seen = seq;
        }
    }
}
