//! `Bars`: recent closed 1-minute bars of the simulated venue, from the
//! backfill run before real time and growing while serving.

mod common;

use cerebellum_core::{clock::NS_PER_MS, config::Config, venue::sim::tape::DEFAULT_T0_NS};
use common::Harness;
use serde_json::{json, Value};

const T0_MS: i64 = DEFAULT_T0_NS / NS_PER_MS;

fn config(seed: u64, backfill_minutes: u64) -> Config {
    let mut c = Config::default();
    c.sim.seed = seed;
    c.sim.backfill_minutes = backfill_minutes;
    c
}

fn bars(h: &mut Harness, symbol: &str, limit: u64) -> Value {
    h.send(json!({"type": "Bars", "symbol": symbol, "timeframe": "1m", "limit": limit}))
        .reply()
        .clone()
}

fn rows(report: &Value) -> Vec<Vec<f64>> {
    report["bars"]
        .as_array()
        .expect("bars is an array")
        .iter()
        .map(|row| {
            row.as_array()
                .expect("a bar is an array")
                .iter()
                .map(|x| x.as_f64().expect("numbers"))
                .collect()
        })
        .collect()
}

#[test]
fn test_bars_after_backfill_are_closed_aligned_and_oldest_first() {
    let mut h = Harness::with_config(config(7, 30));
    let report = bars(&mut h, "BTC/USDT", 1000);
    assert_eq!(report["type"], "BarsReport", "{report}");
    assert_eq!(report["symbol"], "BTC/USDT");
    assert_eq!(report["timeframe"], "1m");
    assert_eq!(report["last_seq"], 0);
    let rows = rows(&report);
    assert_eq!(rows.len(), 30);
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.len(), 7);
        assert_eq!(r[0] as i64, T0_MS - (30 - i as i64) * 60_000, "minute {i}");
        let (open, high, low, close, volume, trades) = (r[1], r[2], r[3], r[4], r[5], r[6]);
        assert!(low <= open.min(close) && high >= open.max(close), "{r:?}");
        assert!(low > 50_000.0 && high < 70_000.0, "{r:?}");
        assert!(volume >= 0.0 && trades >= 0.0);
    }
    let traded: f64 = rows.iter().map(|r| r[6]).sum();
    assert!(traded > 100.0, "the backfill trades: {traded}");
    // The close of a bar is the open of the next one only by coincidence, but
    // prices are continuous: no bar jumps more than 2 %.
    assert!(rows
        .windows(2)
        .all(|w| (w[1][1] / w[0][4] - 1.0).abs() < 0.02));
}

#[test]
fn test_bars_limit_returns_the_newest_bars() {
    let mut h = Harness::with_config(config(7, 30));
    let all = rows(&bars(&mut h, "ETH/USDT", 1000));
    let last5 = rows(&bars(&mut h, "ETH/USDT", 5));
    assert_eq!(last5, all[all.len() - 5..].to_vec());
}

#[test]
fn test_bars_keep_growing_while_serving() {
    let mut h = Harness::with_config(config(7, 10));
    assert_eq!(rows(&bars(&mut h, "SOL/USDT", 1000)).len(), 10);
    for _ in 0..(3 * 60 * 10) {
        h.advance_ms(100);
    }
    let rows = rows(&bars(&mut h, "SOL/USDT", 1000));
    assert_eq!(rows.len(), 13);
    assert_eq!(rows.last().unwrap()[0] as i64, T0_MS + 2 * 60_000);
}

#[test]
fn test_bars_are_deterministic_for_a_seed() {
    let get = |seed| {
        let mut h = Harness::with_config(config(seed, 20));
        (
            bars(&mut h, "BTC/USDT", 1000)["bars"].clone(),
            bars(&mut h, "SOL/USDT", 1000)["bars"].clone(),
        )
    };
    assert_eq!(get(3), get(3));
    assert_ne!(get(3), get(4));
}

#[test]
fn test_bars_of_an_unknown_symbol_or_timeframe_are_rejected() {
    let mut h = Harness::with_config(config(7, 0));
    let reject = bars(&mut h, "DOGE/USDT", 10);
    assert_eq!(reject["type"], "Reject");
    assert_eq!(reject["code"], "UNKNOWN_SYMBOL");
    assert!(reject["req_id"].is_i64());
    let bad = h
        .send(json!({"type": "Bars", "symbol": "BTC/USDT", "timeframe": "1h", "limit": 10}))
        .reply()
        .clone();
    assert_eq!(bad["code"], "INVALID_VALUE");
    // Without a backfill there is no closed bar yet.
    let empty = bars(&mut h, "BTC/USDT", 10);
    assert_eq!(empty["type"], "BarsReport");
    assert_eq!(empty["bars"], json!([]));
}

#[test]
fn test_bars_report_stays_within_the_frame_limit() {
    let mut c = config(7, 120);
    c.session.max_frame_bytes = 2_048;
    let mut h = Harness::with_config(c);
    let step = h.send(json!({"type": "Bars", "symbol": "BTC/USDT", "limit": 1000}));
    let report = step.reply();
    let size = serde_json::to_vec(report).unwrap().len();
    assert!(size <= 2_048, "{size}");
    let rows = rows(report);
    assert!(rows.len() > 10 && rows.len() < 120, "{}", rows.len());
    // The newest bars are the ones kept.
    assert_eq!(rows.last().unwrap()[0] as i64, T0_MS - 60_000);
}

/// Bars of `symbol` read the way an engine held to 64 KiB frames reads them:
/// newest page first, each page the bars that opened before the previous one.
fn paged(h: &mut Harness, symbol: &str, limit: usize) -> (Vec<Vec<f64>>, usize) {
    let mut all: Vec<Vec<f64>> = Vec::new();
    let mut requests = 0;
    while all.len() < limit {
        let mut cmd = json!({"type": "Bars", "symbol": symbol, "limit": limit - all.len()});
        if let Some(first) = all.first() {
            cmd["before_ms"] = json!(first[0] as i64);
        }
        let report = h.send(cmd).reply().clone();
        assert_eq!(report["type"], "BarsReport", "{report}");
        assert!(serde_json::to_vec(&report).unwrap().len() <= 65_536);
        requests += 1;
        let page = rows(&report);
        if page.is_empty() {
            break;
        }
        all.splice(0..0, page);
    }
    (all, requests)
}

#[test]
fn test_bars_serve_2600_minutes_after_a_2600_minute_backfill() {
    let mut c = config(7, 2_600);
    // Room for 2600 bars in one reply (the default 64 KiB holds about 1000).
    c.session.max_frame_bytes = 262_144;
    let mut h = Harness::with_config(c);
    let report = bars(&mut h, "BTC/USDT", 2_600);
    assert_eq!(report["type"], "BarsReport", "{report}");
    let all = rows(&report);
    assert_eq!(all.len(), 2_600);
    // 2600 consecutive minutes, the last one the minute that ended at t0.
    for (i, r) in all.iter().enumerate() {
        assert_eq!(
            r[0] as i64,
            T0_MS - (2_600 - i as i64) * 60_000,
            "minute {i}"
        );
        let (open, high, low, close) = (r[1], r[2], r[3], r[4]);
        assert!(low <= open.min(close) && high >= open.max(close), "{r:?}");
        assert!(low > 0.0 && high.is_finite(), "{r:?}");
    }
    // Every minute of the backfill traded (flow scale 0.05 still gives dozens per minute).
    assert!(all.iter().all(|r| r[6] > 0.0 && r[5] > 0.0));
    // A larger limit is served as what the ring holds (at most MAX_BARS = 3000).
    assert_eq!(
        rows(&bars(&mut h, "BTC/USDT", 5_000)),
        all,
        "only 2600 bars exist"
    );

    // At the default frame limit the same 2600 bars come in pages with `before_ms`.
    let mut d = config(7, 2_600);
    d.session.max_frame_bytes = 65_536;
    let mut h = Harness::with_config(d);
    let (joined, requests) = paged(&mut h, "BTC/USDT", 2_600);
    assert_eq!(joined, all);
    assert!((3..=4).contains(&requests), "{requests}");
}

#[test]
fn test_bars_before_a_time_page_backwards() {
    let mut h = Harness::with_config(config(7, 30));
    let all = rows(&bars(&mut h, "ETH/USDT", 1000));
    let before = all[20][0] as i64;
    let page = h
        .send(json!({"type": "Bars", "symbol": "ETH/USDT", "limit": 5, "before_ms": before}))
        .reply()
        .clone();
    assert_eq!(rows(&page), all[15..20].to_vec());
    // Not on a minute boundary: the bars that opened strictly before it.
    let page = h
        .send(json!({"type": "Bars", "symbol": "ETH/USDT", "limit": 100, "before_ms": before + 1}))
        .reply()
        .clone();
    assert_eq!(rows(&page), all[..21].to_vec());
    // Before the first bar: none.
    let none = h
        .send(json!({"type": "Bars", "symbol": "ETH/USDT", "limit": 5, "before_ms": all[0][0] as i64}))
        .reply()
        .clone();
    assert_eq!(none["bars"], json!([]));
    let bad = h
        .send(json!({"type": "Bars", "symbol": "ETH/USDT", "limit": 5, "before_ms": -5}))
        .reply()
        .clone();
    assert_eq!(bad["code"], "INVALID_VALUE");
}
