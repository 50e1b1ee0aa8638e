//! `BybitVenue` against a local stand-in for Bybit's REST API.
//!
//! The stand-in is a tiny HTTP/1.1 server on 127.0.0.1 that checks every
//! signed request the way Bybit does (API key, `X-BAPI-SIGN-TYPE: 2`,
//! timestamp inside `recv_window` of its clock, HMAC-SHA256 recomputed here
//! with the `hmac` crate, independently of the adapter's code) and answers
//! with Bybit-shaped bodies: `retCode` 10003/10002/10004 when authentication
//! fails, otherwise whatever the test's script says. Nothing of the adapter
//! is mocked. The stand-in lives in `tests/common/bybit_standin.rs`.

use std::{
    io::{self, Write},
    net::TcpListener,
    sync::{Arc, Mutex},
    thread,
    time::{Duration, Instant},
};

use cerebellum_core::venue::bybit::{
    BybitConfig, BybitVenue, Credentials, Decimal, ExecKind, Liquidity, OrderRequest, OrderStatus,
    OrderType, RetryPolicy, Side, TimeInForce, UnsolicitedReason, VenueError,
};
use serde_json::{json, Value};

mod common;

use common::bybit_standin::{now_ms, Exchange, Reply, Request, KEY, SECRET};

// ---------------------------------------------------------------- helpers

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(80),
        max_rate_limit_wait: Duration::from_secs(2),
        deadline: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(2),
    }
}

fn config(url: &str) -> BybitConfig {
    BybitConfig {
        base_url: Some(url.to_owned()),
        retry: fast_retry(),
        fills_since_ms: Some(1_700_000_000_000),
        ..BybitConfig::default()
    }
}

fn venue(exchange: &Exchange) -> BybitVenue {
    BybitVenue::new(
        config(&exchange.url()),
        Credentials::new(KEY, SECRET).unwrap(),
    )
    .unwrap()
}

fn dec(s: &str) -> Decimal {
    Decimal::new_checked(s).unwrap()
}

fn limit_buy(id: &str) -> OrderRequest {
    OrderRequest {
        client_order_id: id.to_owned(),
        symbol: "BTC/USDT".to_owned(),
        side: Side::Buy,
        order_type: OrderType::Limit,
        qty: dec("0.010"),
        price: Some(dec("63250.50")),
        time_in_force: TimeInForce::Gtc,
        reduce_only: false,
    }
}

fn created(request: &Request) -> Reply {
    let link = request.json()["orderLinkId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    Reply::ok(json!({"orderId": format!("oid-{link}"), "orderLinkId": link}))
}

fn order_row(link: &str, status: &str, cum: &str) -> Value {
    json!({
        "orderId": format!("oid-{link}"), "orderLinkId": link, "blockTradeId": "",
        "symbol": "BTCUSDT", "price": "63250.5", "qty": "0.01", "side": "Buy", "isLeverage": "",
        "positionIdx": 0, "orderStatus": status, "cancelType": "UNKNOWN", "rejectReason": "EC_NoError",
        "avgPrice": if cum == "0" { "" } else { "63250.5" }, "leavesQty": "0", "leavesValue": "0",
        "cumExecQty": cum, "cumExecValue": "0", "cumExecFee": "0", "timeInForce": "GTC",
        "orderType": "Limit", "stopOrderType": "", "triggerPrice": "", "takeProfit": "", "stopLoss": "",
        "reduceOnly": false, "closeOnTrigger": false, "createdTime": "1700000000000",
        "updatedTime": "1700000000500"
    })
}

#[allow(clippy::too_many_arguments)]
fn exec_row(
    exec_id: &str,
    link: &str,
    order_id: &str,
    exec_type: &str,
    side: &str,
    qty: &str,
    price: &str,
    time: u64,
) -> Value {
    json!({
        "symbol": "BTCUSDT", "orderType": "Limit", "underlyingPrice": "", "orderLinkId": link,
        "side": side, "indexPrice": "", "orderId": order_id, "stopOrderType": "UNKNOWN",
        "leavesQty": "0", "execTime": time.to_string(), "feeCurrency": "", "isMaker": true,
        "execFee": "0.0632505", "feeRate": "0.0001", "execId": exec_id, "tradeIv": "",
        "blockTradeId": "", "markPrice": "63251", "execPrice": price, "markIv": "",
        "orderQty": qty, "orderPrice": price, "execValue": "632.505", "execType": exec_type,
        "execQty": qty, "closedSize": "", "seq": 4688002127u64
    })
}

fn page(list: Vec<Value>, cursor: &str) -> Reply {
    Reply::ok(json!({"category": "linear", "list": list, "nextPageCursor": cursor}))
}

// ---------------------------------------------------------------- orders

#[test]
fn test_submit_limit_order_sends_signed_bybit_body_and_returns_ack() {
    let exchange = Exchange::start(created);
    let mut venue = venue(&exchange);

    let ack = venue.submit(&limit_buy("a1-000001")).unwrap();

    assert_eq!(ack.client_order_id, "a1-000001");
    assert_eq!(ack.venue_order_id, "oid-a1-000001");
    assert!(!ack.duplicate);
    let requests = exchange.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path.as_str()),
        ("POST", "/v5/order/create")
    );
    assert_eq!(
        requests[0].json(),
        json!({"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit",
               "qty": "0.01", "price": "63250.5", "timeInForce": "GTC", "reduceOnly": false,
               "orderLinkId": "a1-000001"})
    );
}

#[test]
fn test_submit_market_and_post_only_orders_map_bybit_fields() {
    let exchange = Exchange::start(created);
    let mut venue = venue(&exchange);
    let market = OrderRequest {
        order_type: OrderType::Market,
        price: None,
        side: Side::Sell,
        reduce_only: true,
        time_in_force: TimeInForce::Ioc,
        ..limit_buy("m-1")
    };
    let post_only = OrderRequest {
        time_in_force: TimeInForce::PostOnly,
        ..limit_buy("p-1")
    };

    venue.submit(&market).unwrap();
    venue.submit(&post_only).unwrap();

    let requests = exchange.requests();
    let market_body = requests[0].json();
    assert_eq!(market_body["orderType"], "Market");
    assert_eq!(market_body["side"], "Sell");
    assert_eq!(market_body["reduceOnly"], true);
    assert!(market_body.get("price").is_none());
    assert!(market_body.get("timeInForce").is_none());
    assert_eq!(requests[1].json()["timeInForce"], "PostOnly");
}

#[test]
fn test_submit_invalid_order_is_refused_locally_without_a_request() {
    let exchange = Exchange::start(created);
    let mut venue = venue(&exchange);
    let bad_id = limit_buy("a1.000001:x"); // protocol-legal, not a Bybit orderLinkId
    let no_price = OrderRequest {
        price: None,
        ..limit_buy("a1-2")
    };
    let zero_qty = OrderRequest {
        qty: dec("0"),
        ..limit_buy("a1-3")
    };
    let bad_symbol = OrderRequest {
        symbol: "BTC-USDT".into(),
        ..limit_buy("a1-4")
    };

    for order in [bad_id, no_price, zero_qty, bad_symbol] {
        let err = venue.submit(&order).unwrap_err();
        assert!(matches!(err, VenueError::InvalidRequest(_)), "{err:?}");
    }
    assert!(exchange.requests().is_empty());
}

#[test]
fn test_submit_business_error_is_not_retried_and_keeps_bybit_code() {
    let exchange = Exchange::start(|_| Reply::ret(110007, "ab not enough for new order"));
    let mut venue = venue(&exchange);

    let err = venue.submit(&limit_buy("a1-000002")).unwrap_err();

    assert_eq!(exchange.count("/v5/order/create"), 1);
    match err {
        VenueError::Api {
            code,
            msg,
            attempts,
            ..
        } => {
            assert_eq!(code, 110007);
            assert_eq!(msg, "ab not enough for new order");
            assert_eq!(attempts, 1);
        }
        other => panic!("expected Api error, got {other:?}"),
    }
}

#[test]
fn test_rate_limit_10006_waits_for_reset_timestamp_then_succeeds() {
    let mut calls = 0;
    let reset_at = Arc::new(Mutex::new(0u64));
    let reset_seen = reset_at.clone();
    let exchange = Exchange::start(move |request| {
        calls += 1;
        if calls == 1 {
            let reset = now_ms() + 400;
            *reset_seen.lock().unwrap() = reset;
            Reply::ret(10006, "Too many visits!")
                .header("X-Bapi-Limit", 10)
                .header("X-Bapi-Limit-Status", 0)
                .header("X-Bapi-Limit-Reset-Timestamp", reset)
        } else {
            created(request)
                .header("X-Bapi-Limit", 10)
                .header("X-Bapi-Limit-Status", 9)
        }
    });
    let mut venue = venue(&exchange);

    let ack = venue.submit(&limit_buy("a1-000003")).unwrap();

    assert_eq!(ack.venue_order_id, "oid-a1-000003");
    assert_eq!(exchange.count("/v5/order/create"), 2);
    let second = exchange.requests()[1].headers["x-bapi-timestamp"]
        .parse::<u64>()
        .unwrap();
    let reset = *reset_at.lock().unwrap();
    // Far beyond the 10-80 ms exponential backoff: the reset header was honoured.
    assert!(
        second + 30 >= reset,
        "resent at {second}, window reset at {reset}"
    );
}

#[test]
fn test_exhausted_limit_status_delays_the_next_request_until_reset() {
    let reset_at = Arc::new(Mutex::new(0u64));
    let reset_seen = reset_at.clone();
    let exchange = Exchange::start(move |_| {
        let mut reset = reset_seen.lock().unwrap();
        if *reset == 0 {
            *reset = now_ms() + 300;
            page(vec![], "")
                .header("X-Bapi-Limit-Status", 0)
                .header("X-Bapi-Limit-Reset-Timestamp", *reset)
        } else {
            page(vec![], "")
                .header("X-Bapi-Limit-Status", 49)
                .header("X-Bapi-Limit-Reset-Timestamp", now_ms())
        }
    });
    let mut venue = venue(&exchange);

    venue.positions().unwrap();
    venue.positions().unwrap();

    let requests = exchange.requests();
    assert_eq!(requests.len(), 2, "no attempt was spent on a certain 10006");
    let second = requests[1].headers["x-bapi-timestamp"]
        .parse::<u64>()
        .unwrap();
    let reset = *reset_at.lock().unwrap();
    assert!(
        second + 30 >= reset,
        "sent at {second}, window reset at {reset}"
    );
}

#[test]
fn test_http_403_ip_ban_is_not_retried() {
    let exchange = Exchange::start(|_| Reply::raw(403, "access too frequent"));
    let mut venue = venue(&exchange);

    let err = venue.positions().unwrap_err();

    assert!(
        matches!(
            err,
            VenueError::Http {
                status: 403,
                attempts: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(exchange.count("/v5/position/list"), 1);
}

#[test]
fn test_venue_can_move_to_a_worker_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<BybitVenue>();
}

#[test]
fn test_http_429_and_5xx_are_retried_with_backoff_then_succeed() {
    let mut calls = 0;
    let exchange = Exchange::start(move |request| {
        calls += 1;
        match calls {
            1 => Reply::raw(503, "<html>503 Service Temporarily Unavailable</html>"),
            2 => Reply::raw(429, "").header("X-Bapi-Limit-Reset-Timestamp", now_ms() + 50),
            3 => Reply::ret(10016, "Server error."),
            _ => created(request),
        }
    });
    let mut venue = venue(&exchange);

    let ack = venue.submit(&limit_buy("a1-000004")).unwrap();

    assert_eq!(ack.venue_order_id, "oid-a1-000004");
    assert_eq!(exchange.count("/v5/order/create"), 4);
    // Each resend is signed afresh and still carries the same orderLinkId.
    for request in exchange.requests() {
        assert_eq!(request.json()["orderLinkId"], "a1-000004");
    }
}

#[test]
fn test_submit_with_every_attempt_failing_transiently_reports_outcome_unknown() {
    let exchange = Exchange::start(|_| Reply::raw(502, "bad gateway"));
    let mut venue = venue(&exchange);

    let err = venue.submit(&limit_buy("a1-000005")).unwrap_err();

    assert_eq!(exchange.count("/v5/order/create"), 4);
    match &err {
        VenueError::OutcomeUnknown {
            client_order_id,
            source,
        } => {
            assert_eq!(client_order_id, "a1-000005");
            assert!(
                matches!(
                    **source,
                    VenueError::Http {
                        status: 502,
                        attempts: 4,
                        ..
                    }
                ),
                "{source:?}"
            );
        }
        other => panic!("expected OutcomeUnknown, got {other:?}"),
    }
}

#[test]
fn test_resend_after_lost_reply_resolves_duplicate_order_link_id_by_query() {
    // First create "succeeds" on the exchange but the reply is a 504; the resend
    // meets 110072, and the adapter finds the order instead of failing.
    let mut placed = false;
    let exchange = Exchange::start(move |request| match request.path.as_str() {
        "/v5/order/create" if !placed => {
            placed = true;
            Reply::raw(504, "gateway timeout")
        }
        "/v5/order/create" => Reply::ret(110072, "OrderLinkedID is duplicate"),
        "/v5/order/realtime" => page(vec![order_row("a1-000006", "New", "0")], ""),
        _ => Reply::ret(10001, "unexpected"),
    });
    let mut venue = venue(&exchange);

    let ack = venue.submit(&limit_buy("a1-000006")).unwrap();

    assert!(ack.duplicate);
    assert_eq!(ack.venue_order_id, "oid-a1-000006");
    assert_eq!(exchange.count("/v5/order/create"), 2);
    let query = exchange
        .requests()
        .into_iter()
        .find(|r| r.path == "/v5/order/realtime")
        .unwrap();
    assert_eq!(query.param("orderLinkId").as_deref(), Some("a1-000006"));
    assert_eq!(query.param("symbol").as_deref(), Some("BTCUSDT"));
}

#[test]
fn test_duplicate_order_link_id_of_a_different_order_is_an_error() {
    let exchange = Exchange::start(|request| match request.path.as_str() {
        "/v5/order/create" => Reply::ret(110072, "OrderLinkedID is duplicate"),
        _ => {
            let mut row = order_row("a1-000007", "Filled", "0.01");
            row["side"] = json!("Sell");
            page(vec![row], "")
        }
    });
    let mut venue = venue(&exchange);

    let err = venue.submit(&limit_buy("a1-000007")).unwrap_err();

    assert!(
        matches!(err, VenueError::DuplicateClientOrderId { .. }),
        "{err:?}"
    );
}

#[test]
fn test_duplicate_order_link_id_that_cannot_be_read_back_leaves_outcome_unknown() {
    let exchange = Exchange::start(|request| match request.path.as_str() {
        "/v5/order/create" => Reply::ret(110072, "OrderLinkedID is duplicate"),
        _ => page(vec![], ""),
    });
    let mut venue = venue(&exchange);

    let err = venue.submit(&limit_buy("a1-000016")).unwrap_err();

    assert!(matches!(err, VenueError::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(err.ret_code(), Some(110072));
    assert_eq!(
        exchange.count("/v5/order/history"),
        1,
        "looked in history too"
    );
}

#[test]
fn test_timestamp_outside_recv_window_resyncs_clock_and_retries_once() {
    // The stand-in's clock runs 20 s ahead: the first request is too old.
    let exchange = Exchange::start_with_skew(20_000, created);
    let mut venue = venue(&exchange);

    let ack = venue.submit(&limit_buy("a1-000008")).unwrap();

    assert_eq!(ack.venue_order_id, "oid-a1-000008");
    assert_eq!(
        exchange.count("/v5/order/create"),
        1,
        "only the resent request passed auth"
    );
}

#[test]
fn test_cancel_sends_order_link_id_and_unknown_order_maps_to_order_not_found() {
    let exchange = Exchange::start(|request| {
        let link = request.json()["orderLinkId"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if link == "gone-1" {
            Reply::ret(110001, "Order does not exist.")
        } else {
            Reply::ok(json!({"orderId": format!("oid-{link}"), "orderLinkId": link}))
        }
    });
    let mut venue = venue(&exchange);

    let canceled = venue.cancel("BTC/USDT", "a1-000009").unwrap();
    let err = venue.cancel("BTC/USDT", "gone-1").unwrap_err();

    assert_eq!(canceled.venue_order_id, "oid-a1-000009");
    assert!(
        matches!(err, VenueError::OrderNotFound { ref client_order_id } if client_order_id == "gone-1")
    );
    let requests = exchange.requests();
    assert_eq!(requests.len(), 2, "110001 is not retried");
    assert_eq!(requests[0].path, "/v5/order/cancel");
    assert_eq!(
        requests[0].json(),
        json!({"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "a1-000009"})
    );
}

#[test]
fn test_cancel_all_by_symbol_or_settle_coin_returns_cancelled_orders() {
    let exchange = Exchange::start(|_| {
        Reply::ok(json!({"list": [
            {"orderId": "oid-1", "orderLinkId": "a1-1"},
            {"orderId": "oid-2", "orderLinkId": ""}
        ], "success": "1"}))
    });
    let mut venue = venue(&exchange);

    let by_symbol = venue.cancel_all(Some("ETH/USDT")).unwrap();
    let everything = venue.cancel_all(None).unwrap();

    assert_eq!(by_symbol.len(), 2);
    assert_eq!(by_symbol[0].client_order_id, "a1-1");
    assert_eq!(everything[1].venue_order_id, "oid-2");
    let requests = exchange.requests();
    assert_eq!(requests[0].path, "/v5/order/cancel-all");
    assert_eq!(
        requests[0].json(),
        json!({"category": "linear", "symbol": "ETHUSDT"})
    );
    assert_eq!(
        requests[1].json(),
        json!({"category": "linear", "settleCoin": "USDT"})
    );
}

// ---------------------------------------------------------------- positions and queries

fn position_row(symbol: &str, side: &str, size: &str, avg: &str) -> Value {
    json!({
        "positionIdx": 0, "riskId": 1, "riskLimitValue": "2000000", "symbol": symbol, "side": side,
        "size": size, "avgPrice": avg, "positionValue": "632.5", "tradeMode": 0,
        "positionStatus": "Normal", "autoAddMargin": 0, "adlRankIndicator": 2, "leverage": "10",
        "positionBalance": "63.3", "markPrice": "63300", "liqPrice": "", "bustPrice": "",
        "positionMM": "3.1", "positionIM": "63.2", "tpslMode": "Full", "takeProfit": "0",
        "stopLoss": "0", "trailingStop": "0", "unrealisedPnl": "0.495", "curRealisedPnl": "-0.38",
        "cumRealisedPnl": "-0.38", "seq": 1, "isReduceOnly": false, "createdTime": "1700000000000",
        "updatedTime": "1700000001000"
    })
}

#[test]
fn test_positions_follow_the_cursor_and_sign_short_sizes() {
    let exchange = Exchange::start(|request| match request.param("cursor").as_deref() {
        None => page(
            vec![
                position_row("BTCUSDT", "Buy", "0.01", "63250.5"),
                position_row("SOLUSDT", "", "0", "0"),
            ],
            "page2%3A1",
        ),
        Some("page2%3A1") => page(vec![position_row("ETHUSDT", "Sell", "0.5", "3100")], ""),
        Some(other) => Reply::ret(10001, &format!("bad cursor {other}")),
    });
    let mut venue = venue(&exchange);

    let positions = venue.positions().unwrap();

    assert_eq!(positions.len(), 2, "the flat row is not a position");
    assert_eq!(positions[0].symbol, "BTC/USDT");
    assert_eq!(positions[0].qty, dec("0.01"));
    assert_eq!(positions[0].avg_price, dec("63250.5"));
    assert_eq!(positions[0].mark_price, Some(dec("63300")));
    assert_eq!(positions[0].liq_price, None);
    assert_eq!(positions[1].symbol, "ETH/USDT");
    assert_eq!(positions[1].qty, dec("-0.5"));
    let first = &exchange.requests()[0];
    assert_eq!(first.method, "GET");
    assert_eq!(first.param("category").as_deref(), Some("linear"));
    assert_eq!(first.param("settleCoin").as_deref(), Some("USDT"));
}

#[test]
fn test_positions_with_unreadable_row_fail_closed_instead_of_reporting_flat() {
    let exchange =
        Exchange::start(|_| page(vec![position_row("BTCUSDT", "", "0.01", "63250.5")], ""));
    let mut venue = venue(&exchange);

    let err = venue.positions().unwrap_err();

    assert!(matches!(err, VenueError::Parse { .. }), "{err:?}");
}

#[test]
fn test_query_order_falls_back_to_history_and_reports_none_when_unknown() {
    let exchange = Exchange::start(|request| {
        let link = request.param("orderLinkId").unwrap_or_default();
        match (request.path.as_str(), link.as_str()) {
            ("/v5/order/history", "a1-000010") => {
                page(vec![order_row("a1-000010", "Filled", "0.01")], "")
            }
            _ => page(vec![], ""),
        }
    });
    let mut venue = venue(&exchange);

    let state = venue.query_order(None, "a1-000010").unwrap().unwrap();
    let unknown = venue.query_order(Some("BTC/USDT"), "never-sent").unwrap();

    assert_eq!(state.status, OrderStatus::Filled);
    assert_eq!(state.cum_qty, dec("0.01"));
    assert_eq!(state.avg_price, Some(dec("63250.5")));
    assert_eq!(state.venue_order_id, "oid-a1-000010");
    assert_eq!(state.symbol, "BTC/USDT");
    assert_eq!(unknown, None);
    let first = &exchange.requests()[0];
    assert_eq!(first.path, "/v5/order/realtime");
    assert_eq!(first.param("settleCoin").as_deref(), Some("USDT"));
}

#[test]
fn test_open_orders_lists_every_page_and_refuses_a_partial_list() {
    let exchange = Exchange::start(|request| {
        match (
            request.param("symbol").as_deref(),
            request.param("cursor").as_deref(),
        ) {
            (None, None) => page(vec![order_row("o-1", "New", "0")], "c2"),
            (None, Some("c2")) => page(vec![order_row("o-2", "PartiallyFilled", "0.004")], ""),
            // For BTCUSDT the cursor never advances.
            _ => page(vec![order_row("o-3", "New", "0")], "stuck"),
        }
    });
    let mut venue = venue(&exchange);

    let open = venue.open_orders(None).unwrap();
    let err = venue.open_orders(Some("BTC/USDT")).unwrap_err();

    let ids: Vec<_> = open.iter().map(|o| o.client_order_id.as_str()).collect();
    assert_eq!(ids, ["o-1", "o-2"]);
    assert_eq!(open[1].status, OrderStatus::PartiallyFilled);
    assert_eq!(open[1].cum_qty, dec("0.004"));
    assert!(matches!(err, VenueError::Parse { .. }), "{err:?}");
    assert_eq!(
        exchange.requests()[0].param("settleCoin").as_deref(),
        Some("USDT")
    );
}

// ---------------------------------------------------------------- fills

#[test]
fn test_poll_fills_applies_each_exec_id_once_across_pages_and_polls() {
    let t0 = 1_700_000_000_100u64;
    let mut polls = 0;
    let exchange = Exchange::start(move |request| match request.path.as_str() {
        "/v5/order/create" => created(request),
        _ => {
            if request.param("cursor").is_none() {
                polls += 1;
            }
            let e1 = exec_row(
                "e-1",
                "a1-000011",
                "oid-1",
                "Trade",
                "Buy",
                "0.004",
                "63250.5",
                t0,
            );
            let e2 = exec_row(
                "e-2",
                "a1-000011",
                "oid-1",
                "Trade",
                "Buy",
                "0.006",
                "63250",
                t0 + 5,
            );
            let e3 = exec_row(
                "e-3",
                "a1-000011",
                "oid-1",
                "Trade",
                "Buy",
                "0.001",
                "63249",
                t0 + 9,
            );
            match (polls, request.param("cursor").as_deref()) {
                // Newest first, as Bybit sorts; e-1 repeats on the next page.
                (1, None) => page(vec![e2.clone(), e1.clone()], "next-1"),
                (1, Some("next-1")) => page(vec![e1], ""),
                // The overlap window re-reads e-1 and e-2.
                _ => page(vec![e3, e2, e1], ""),
            }
        }
    });
    let mut venue = venue(&exchange);
    venue.submit(&limit_buy("a1-000011")).unwrap();

    let first = venue.poll_fills().unwrap();
    let second = venue.poll_fills().unwrap();

    let ids = |b: &cerebellum_core::venue::bybit::FillBatch| {
        b.fills
            .iter()
            .map(|f| f.exec_id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(&first),
        ["e-1", "e-2"],
        "oldest first, duplicate dropped"
    );
    assert_eq!(ids(&second), ["e-3"]);
    assert!(first.complete && second.complete);
    let fill = &first.fills[0];
    assert_eq!(fill.client_order_id, "a1-000011");
    assert_eq!(fill.venue_order_id, "oid-1");
    assert_eq!(fill.symbol, "BTC/USDT");
    assert_eq!(
        (fill.side, fill.qty.clone(), fill.price.clone()),
        (Side::Buy, dec("0.004"), dec("63250.5"))
    );
    assert_eq!(fill.fee, dec("0.0632505"));
    assert_eq!(fill.liquidity, Liquidity::Maker);
    assert_eq!(fill.kind, ExecKind::Trade);
    assert_eq!(fill.unsolicited, None);
    assert_eq!(fill.ts_event, t0 * 1_000_000);
    // The first poll starts one overlap before `fills_since_ms`; the second
    // one overlap before the newest execution seen.
    let starts: Vec<u64> = exchange
        .requests()
        .iter()
        .filter(|r| r.path == "/v5/execution/list" && r.param("cursor").is_none())
        .map(|r| r.param("startTime").unwrap().parse().unwrap())
        .collect();
    assert_eq!(starts, [1_700_000_000_000 - 60_000, t0 + 5 - 60_000]);
    assert_eq!(venue.fill_watermark_ms(), t0 + 9);
}

#[test]
fn test_poll_fills_reports_liquidation_adl_and_foreign_fills_as_unsolicited() {
    let t0 = 1_700_000_000_200u64;
    let exchange = Exchange::start(move |request| match request.path.as_str() {
        "/v5/order/create" => created(request),
        _ => page(
            vec![
                exec_row(
                    "e-bust",
                    "",
                    "liq-oid",
                    "BustTrade",
                    "Sell",
                    "0.01",
                    "60000",
                    t0 + 4,
                ),
                exec_row(
                    "e-adl",
                    "",
                    "adl-oid",
                    "AdlTrade",
                    "Sell",
                    "0.02",
                    "60100",
                    t0 + 3,
                ),
                exec_row(
                    "e-web",
                    "manual-from-web",
                    "web-oid",
                    "Trade",
                    "Buy",
                    "0.03",
                    "60200",
                    t0 + 2,
                ),
                exec_row(
                    "e-new",
                    "",
                    "",
                    "MovePosition",
                    "Buy",
                    "0.04",
                    "60300",
                    t0 + 1,
                ),
                {
                    let mut perp = exec_row(
                        "e-perp",
                        "",
                        "p-oid",
                        "Trade",
                        "Buy",
                        "0.05",
                        "60400",
                        t0 + 1,
                    );
                    perp["symbol"] = json!("BTCPERP");
                    perp
                },
                exec_row("e-fund", "", "", "Funding", "Buy", "0.01", "60000", t0),
                exec_row(
                    "e-mine",
                    "a1-000012",
                    "oid-mine",
                    "Trade",
                    "Buy",
                    "0.01",
                    "60000",
                    t0,
                ),
            ],
            "",
        ),
    });
    let mut venue = venue(&exchange);
    venue.submit(&limit_buy("a1-000012")).unwrap();

    let batch = venue.poll_fills().unwrap();

    let by_id = |id: &str| batch.fills.iter().find(|f| f.exec_id == id).unwrap();
    assert_eq!(
        batch.fills.len(),
        6,
        "funding is not a fill; nothing else is dropped"
    );
    let perp = by_id("e-perp");
    assert_eq!(
        perp.symbol, "BTCPERP",
        "unmapped contracts keep Bybit's symbol"
    );
    assert_eq!(
        perp.unsolicited,
        Some(UnsolicitedReason::NotIssuedByAdapter)
    );
    assert_eq!(by_id("e-mine").unsolicited, None);
    let bust = by_id("e-bust");
    assert_eq!(bust.unsolicited, Some(UnsolicitedReason::Liquidation));
    assert_eq!(bust.kind, ExecKind::BustTrade);
    assert_eq!(
        bust.client_order_id, "bybit-liq-oid",
        "venue-made id for an order without orderLinkId"
    );
    assert_eq!(bust.side, Side::Sell);
    assert!(bust.is_unsolicited());
    assert_eq!(
        by_id("e-adl").unsolicited,
        Some(UnsolicitedReason::AutoDeleverage)
    );
    let web = by_id("e-web");
    assert_eq!(web.unsolicited, Some(UnsolicitedReason::NotIssuedByAdapter));
    assert_eq!(web.client_order_id, "manual-from-web");
    let odd = by_id("e-new");
    assert_eq!(
        odd.unsolicited,
        Some(UnsolicitedReason::UnrecognisedExecType)
    );
    assert_eq!(odd.kind, ExecKind::Other("MovePosition".into()));
    assert_eq!(odd.client_order_id, "bybit-exec-e-new");
    assert_eq!(batch.funding.len(), 1);
    assert_eq!(batch.funding[0].exec_id, "e-fund");
}

#[test]
fn test_adopted_client_order_ids_are_solicited_after_restart() {
    let t0 = 1_700_000_000_300u64;
    let exchange = Exchange::start(move |_| {
        page(
            vec![exec_row(
                "e-old",
                "prev-session-7",
                "oid-7",
                "Trade",
                "Sell",
                "0.01",
                "61000",
                t0,
            )],
            "",
        )
    });
    let mut venue = venue(&exchange);
    venue.adopt_client_order_id("prev-session-7").unwrap();

    let batch = venue.poll_fills().unwrap();

    assert_eq!(batch.fills.len(), 1);
    assert_eq!(batch.fills[0].unsolicited, None);
}

#[test]
fn test_malformed_execution_fails_the_poll_and_is_delivered_once_fixed() {
    let t0 = 1_700_000_000_400u64;
    let mut polls = 0;
    let exchange = Exchange::start(move |_| {
        polls += 1;
        let good = exec_row("e-good", "", "oid-9", "Trade", "Buy", "0.01", "61000", t0);
        let mut bad = exec_row(
            "e-bad",
            "",
            "oid-9",
            "Trade",
            "Buy",
            "0.02",
            "61000",
            t0 + 1,
        );
        if polls == 1 {
            bad["execPrice"] = json!("NaN");
        }
        page(vec![bad, good], "")
    });
    let mut venue = venue(&exchange);

    let err = venue.poll_fills().unwrap_err();
    let batch = venue.poll_fills().unwrap();

    assert!(matches!(err, VenueError::Parse { .. }), "{err:?}");
    let ids: Vec<_> = batch.fills.iter().map(|f| f.exec_id.as_str()).collect();
    assert_eq!(ids, ["e-good", "e-bad"], "the failed poll consumed nothing");
}

#[test]
fn test_poll_fills_holds_watermark_when_the_cursor_does_not_advance() {
    let t0 = 1_700_000_000_500u64;
    let exchange = Exchange::start(move |_| {
        page(
            vec![exec_row(
                "e-loop", "", "oid-l", "Trade", "Buy", "0.01", "61000", t0,
            )],
            "same-cursor",
        )
    });
    let mut venue = venue(&exchange);
    let before = venue.fill_watermark_ms();

    let batch = venue.poll_fills().unwrap();

    assert!(!batch.complete);
    assert_eq!(batch.fills.len(), 1);
    assert_eq!(venue.fill_watermark_ms(), before);
    assert_eq!(
        exchange.count("/v5/execution/list"),
        2,
        "stopped when the cursor repeated"
    );
}

// ---------------------------------------------------------------- transport, timeouts, secrets

#[test]
fn test_connection_refused_is_retried_then_reported_as_transport_error() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut venue = BybitVenue::new(
        config(&format!("http://127.0.0.1:{port}")),
        Credentials::new(KEY, SECRET).unwrap(),
    )
    .unwrap();

    let err = venue.positions().unwrap_err();

    assert!(
        matches!(err, VenueError::Transport { attempts: 4, .. }),
        "{err:?}"
    );
}

#[test]
fn test_unresponsive_server_times_out_within_the_budget() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // Accepts connections and never answers.
    let hold = thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(2).flatten() {
            held.push(stream);
        }
        thread::sleep(Duration::from_secs(3));
    });
    let mut cfg = config(&format!("http://{addr}"));
    cfg.retry.max_attempts = 2;
    cfg.retry.request_timeout = Duration::from_millis(300);
    let mut venue = BybitVenue::new(cfg, Credentials::new(KEY, SECRET).unwrap()).unwrap();
    let started = Instant::now();

    let err = venue.submit(&limit_buy("a1-000013")).unwrap_err();

    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    assert!(matches!(err, VenueError::OutcomeUnknown { .. }), "{err:?}");
    drop(hold);
}

#[test]
fn test_config_refuses_plain_http_to_a_remote_host() {
    let cfg = BybitConfig {
        base_url: Some("http://api.bybit.com".into()),
        ..BybitConfig::default()
    };
    let err = BybitVenue::new(cfg, Credentials::new(KEY, SECRET).unwrap()).unwrap_err();
    assert!(matches!(err, VenueError::Config(_)), "{err:?}");
    assert_eq!(
        BybitConfig {
            testnet: false,
            ..BybitConfig::default()
        }
        .effective_base_url(),
        "https://api.bybit.com"
    );
    assert_eq!(
        BybitConfig::default().effective_base_url(),
        "https://api-testnet.bybit.com"
    );
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[test]
fn test_key_and_secret_never_reach_debug_output_errors_or_logs() {
    let mut calls = 0;
    let exchange = Exchange::start(move |request| {
        calls += 1;
        match (calls, request.path.as_str()) {
            (1, _) => Reply::raw(503, "busy"),
            (_, "/v5/order/create") => created(request),
            _ => page(
                vec![exec_row(
                    "e-s",
                    "",
                    "oid-s",
                    "BustTrade",
                    "Sell",
                    "0.01",
                    "60000",
                    1_700_000_000_600,
                )],
                "",
            ),
        }
    });
    let logs = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();

    let mut texts = Vec::new();
    tracing::subscriber::with_default(subscriber, || {
        let mut good = venue(&exchange);
        good.submit(&limit_buy("a1-000014")).unwrap(); // retried once: warn logs
        good.poll_fills().unwrap(); // unsolicited fill: warn log
        texts.push(format!("{good:?}"));
        // A wrong secret: the stand-in answers 10004 echoing the signed string,
        // API key included, as Bybit does.
        let mut wrong = BybitVenue::new(
            config(&exchange.url()),
            Credentials::new(KEY, "not-the-secret").unwrap(),
        )
        .unwrap();
        let err = wrong.submit(&limit_buy("a1-000015")).unwrap_err();
        assert_eq!(err.ret_code(), Some(10004));
        texts.push(format!("{err}"));
        texts.push(format!("{err:?}"));
        tracing::error!(error = %err, "logged the way the core will log it");
    });
    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    texts.push(logged.clone());

    assert!(
        logged.contains("retrying"),
        "expected retry logs, got: {logged}"
    );
    assert!(
        logged.contains("unsolicited"),
        "expected the unsolicited-fill warning: {logged}"
    );
    assert!(
        texts[2].contains("origin_string["),
        "venue text kept, minus the key: {}",
        texts[2]
    );
    for text in &texts {
        assert!(!text.contains(KEY), "API key leaked: {text}");
        assert!(!text.contains(SECRET), "secret leaked: {text}");
        assert!(!text.contains("not-the-secret"), "secret leaked: {text}");
    }
}

// ---------------------------------------------------------------- decimals

// ---------------------------------------------------------------- market data

#[test]
fn test_instrument_spec_reads_tick_step_and_min_qty_from_instruments_info() {
    let exchange = Exchange::start(|r| {
        assert_eq!(r.path, "/v5/market/instruments-info");
        assert_eq!(r.query, "category=linear&symbol=BTCUSDT");
        Reply::ok(
            json!({"category": "linear", "nextPageCursor": "", "list": [{
                "symbol": "BTCUSDT", "contractType": "LinearPerpetual", "status": "Trading",
                "baseCoin": "BTC", "quoteCoin": "USDT", "settleCoin": "USDT", "priceScale": "2",
                "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
                "priceFilter": {"minPrice": "0.10", "maxPrice": "199999.80", "tickSize": "0.10"},
                "lotSizeFilter": {"maxOrderQty": "100.000", "minOrderQty": "0.001", "qtyStep": "0.001",
                    "postOnlyMaxOrderQty": "1000.000", "maxMktOrderQty": "100.000", "minNotionalValue": "5"}
            }]}),
        )
    });
    let spec = venue(&exchange).instrument_spec("BTC/USDT").unwrap();
    assert_eq!(spec.symbol, "BTC/USDT");
    assert_eq!(spec.status, "Trading");
    assert_eq!(spec.tick_size, dec("0.1"));
    assert_eq!(spec.qty_step, dec("0.001"));
    assert_eq!(spec.min_qty, dec("0.001"));
}

#[test]
fn test_instrument_spec_of_an_unlisted_or_malformed_symbol_is_an_error() {
    let exchange = Exchange::start(|r| {
        if r.param("symbol").as_deref() == Some("ETHUSDT") {
            Reply::ok(json!({"list": [{"symbol": "ETHUSDT", "status": "Trading",
                "priceFilter": {"tickSize": "0"}, "lotSizeFilter": {"qtyStep": "0.01", "minOrderQty": "0.01"}}]}))
        } else {
            Reply::ok(json!({"category": "linear", "list": []}))
        }
    });
    let mut venue = venue(&exchange);
    assert!(matches!(
        venue.instrument_spec("BTC/USDT"),
        Err(VenueError::Parse { .. })
    ));
    assert!(matches!(
        venue.instrument_spec("ETH/USDT"),
        Err(VenueError::Parse { .. })
    ));
}

#[test]
fn test_quote_reads_best_bid_and_ask_and_an_empty_side_is_none() {
    let exchange = Exchange::start(|r| {
        assert_eq!(r.path, "/v5/market/tickers");
        let symbol = r.param("symbol").unwrap();
        let bid = if symbol == "BTCUSDT" { "63250.5" } else { "" };
        Reply::ok(
            json!({"category": "linear", "list": [{"symbol": symbol, "lastPrice": "63251",
            "bid1Price": bid, "bid1Size": "1.2", "ask1Price": "63251.0", "ask1Size": "0.5"}]}),
        )
    });
    let mut venue = venue(&exchange);
    let quote = venue.quote("BTC/USDT").unwrap();
    assert_eq!(quote.bid, Some(dec("63250.5")));
    assert_eq!(quote.ask, Some(dec("63251")));
    assert_eq!(venue.quote("ETH/USDT").unwrap().bid, None);
}

#[test]
fn test_closed_klines_drop_the_open_bar_and_come_oldest_first() {
    let exchange = Exchange::start(|r| {
        assert_eq!(r.path, "/v5/market/kline");
        assert_eq!(r.param("interval").as_deref(), Some("1"));
        assert_eq!(r.param("limit").as_deref(), Some("4"));
        let minute = now_ms() / 60_000 * 60_000;
        let row = |back: u64, close: &str| {
            json!([
                (minute - back * 60_000).to_string(),
                "100.1",
                "101.0",
                "99.5",
                close,
                "12.5",
                "1250"
            ])
        };
        Reply::ok(json!({"category": "linear", "symbol": "SOLUSDT",
            "list": [row(0, "100.9"), row(1, "100.8"), row(2, "100.7"), row(3, "100.6")]}))
    });
    let klines = venue(&exchange).closed_klines("SOL/USDT", 3, None).unwrap();
    assert_eq!(klines.len(), 3);
    let closes: Vec<&str> = klines.iter().map(|k| k.close.as_str()).collect();
    assert_eq!(closes, ["100.6", "100.7", "100.8"]);
    assert!(klines
        .windows(2)
        .all(|w| w[1].start_ms == w[0].start_ms + 60_000));
    assert!(klines[2].start_ms + 60_000 <= now_ms() as i64);
    assert_eq!(klines[0].volume, dec("12.5"));
}

/// A kline endpoint like Bybit's: at most 1000 rows per request (newest first,
/// the first one the bar still open), the newest at or before `end`, none
/// before `first_ms`. With `ignore_end` it always answers the latest rows.
fn kline_history(first_ms: i64, ignore_end: bool) -> impl FnMut(&Request) -> Reply {
    move |r: &Request| {
        assert_eq!(r.path, "/v5/market/kline");
        let limit: i64 = r.param("limit").unwrap().parse().unwrap();
        assert!((1..=1000).contains(&limit), "limit {limit}");
        let now_minute = now_ms() as i64 / 60_000 * 60_000;
        let newest = match r.param("end") {
            Some(end) if !ignore_end => {
                (end.parse::<i64>().unwrap() / 60_000 * 60_000).min(now_minute)
            }
            _ => now_minute,
        };
        let list: Vec<Value> = (0..limit)
            .map(|i| newest - i * 60_000)
            .filter(|&start| start >= first_ms)
            .map(|start| {
                let close = format!("{}.5", 100 + (start / 60_000) % 50);
                json!([
                    start.to_string(),
                    "100.1",
                    "160.0",
                    "99.0",
                    close,
                    "1.5",
                    "150"
                ])
            })
            .collect();
        Reply::ok(json!({"category": "linear", "symbol": "BTCUSDT", "list": list}))
    }
}

fn kline_requests(exchange: &Exchange) -> Vec<(String, Option<String>)> {
    exchange
        .requests()
        .iter()
        .filter(|r| r.path == "/v5/market/kline")
        .map(|r| (r.param("limit").unwrap(), r.param("end")))
        .collect()
}

#[test]
fn test_closed_klines_page_backwards_past_bybits_1000_rows() {
    let exchange = Exchange::start(kline_history(0, false));
    let mut venue = venue(&exchange);
    let klines = venue.closed_klines("BTC/USDT", 2_600, None).unwrap();
    let last_closed = now_ms() as i64 / 60_000 * 60_000 - 60_000;
    assert_eq!(klines.len(), 2_600);
    assert!(klines
        .windows(2)
        .all(|w| w[1].start_ms == w[0].start_ms + 60_000));
    // A minute may have closed while paging; the newest is the last closed one then.
    let newest = klines[2_599].start_ms;
    assert!(
        newest == last_closed || newest == last_closed + 60_000,
        "{newest}"
    );
    // Three requests: 1000 rows (one of them open), then 1000 and 601 before
    // the oldest start of the previous page.
    let requests = kline_requests(&exchange);
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert_eq!(requests[0], ("1000".into(), None));
    let ends: Vec<i64> = requests[1..]
        .iter()
        .map(|(_, e)| e.as_deref().unwrap().parse().unwrap())
        .collect();
    assert_eq!(requests[1].0, "1000");
    assert_eq!(requests[2].0, "601");
    assert_eq!(ends[0], klines[1_601].start_ms - 1);
    assert_eq!(ends[1], klines[601].start_ms - 1);

    // `before_ms` pages from an earlier time: the newest kline opened before it.
    let before = klines[1_000].start_ms;
    let older = venue
        .closed_klines("BTC/USDT", 1_500, Some(before))
        .unwrap();
    assert_eq!(older.len(), 1_500);
    assert_eq!(older.last().unwrap().start_ms, before - 60_000);
    assert_eq!(older[500..], klines[..1_000]);
    assert!(older
        .windows(2)
        .all(|w| w[1].start_ms == w[0].start_ms + 60_000));
}

#[test]
fn test_closed_klines_paging_stops_at_the_start_of_history_or_a_stuck_cursor() {
    // Only 1500 minutes of history: two requests, then Bybit has no more.
    let first = now_ms() as i64 / 60_000 * 60_000 - 1_500 * 60_000;
    let exchange = Exchange::start(kline_history(first, false));
    let klines = venue(&exchange)
        .closed_klines("BTC/USDT", 3_000, None)
        .unwrap();
    // 1500 closed minutes since `first` (1501 if a minute closed meanwhile).
    assert!((1_500..=1_501).contains(&klines.len()), "{}", klines.len());
    assert_eq!(klines[0].start_ms, first);
    assert_eq!(kline_requests(&exchange).len(), 2);

    // An endpoint that ignores `end` answers the same rows again: the second
    // page adds nothing and paging stops instead of looping.
    let exchange = Exchange::start(kline_history(0, true));
    let klines = venue(&exchange)
        .closed_klines("BTC/USDT", 3_000, None)
        .unwrap();
    assert_eq!(klines.len(), 999);
    assert!(klines
        .windows(2)
        .all(|w| w[1].start_ms == w[0].start_ms + 60_000));
    assert_eq!(kline_requests(&exchange).len(), 2);
}

#[test]
fn test_decimal_round_trips_between_text_ticks_and_floats() {
    assert_eq!(dec("063250.500").as_str(), "63250.5");
    assert_eq!(dec("-0.000").as_str(), "0");
    assert_eq!(Decimal::from_scaled(15, 3).unwrap().as_str(), "0.015");
    assert_eq!(Decimal::from_scaled(-1265, 1).unwrap().as_str(), "-126.5");
    assert_eq!(dec("63250.5").to_scaled(1), Some(632_505));
    assert_eq!(dec("63250.55").to_scaled(1), None, "off the grid");
    assert_eq!(Decimal::from_f64(0.1 + 0.2, 8).unwrap().as_str(), "0.3");
    for bad in ["", "1e5", "NaN", "1.", ".5", "+1", "1,5", "--1"] {
        assert!(Decimal::new_checked(bad).is_err(), "{bad:?}");
    }
    assert!(Decimal::from_f64(f64::INFINITY, 2).is_err());
}

#[test]
fn test_decimal_converts_exactly_to_and_from_ticks_and_lots() {
    let tick = dec("0.5");
    let lot = dec("0.001");
    assert_eq!(dec("63250.5").to_ticks(&tick), Some(126_501));
    assert_eq!(dec("63250.3").to_ticks(&tick), None, "off tick");
    assert_eq!(dec("0.015").to_ticks(&lot), Some(15));
    assert_eq!(dec("-2").to_ticks(&lot), Some(-2000));
    assert_eq!(dec("1").to_ticks(&dec("0")), None);
    assert_eq!(Decimal::from_ticks(126_501, &tick).unwrap(), dec("63250.5"));
    assert_eq!(Decimal::from_ticks(15, &lot).unwrap().as_str(), "0.015");
    assert!(Decimal::from_ticks(i64::MAX, &dec("10")).is_err());
}
