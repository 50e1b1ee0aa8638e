//! Same seed, same market: tape hashes across runs and across realtime and
//! fast-forward, and the latent process independent of the flow scale.

use std::process::Command;

use cerebellum_core::{
    config::Config,
    venue::sim::{
        market::{MarketOut, MarketSpec, SimMarket},
        tape::{run_tape, DEFAULT_T0_NS},
    },
};

fn config(seed: u64) -> Config {
    let mut c = Config::default();
    c.sim.seed = seed;
    c
}

#[test]
fn test_same_seed_gives_the_same_tape_hash() {
    let c = config(11);
    let a = run_tape(&c.sim, c.sim_instruments().unwrap(), 120.0, false, 0);
    let b = run_tape(&c.sim, c.sim_instruments().unwrap(), 120.0, false, 0);
    assert_eq!(a.tape_sha256, b.tape_sha256);
    assert!(a.trades > 100, "{a:?}");
    let other = config(12);
    let c2 = run_tape(
        &other.sim,
        other.sim_instruments().unwrap(),
        120.0,
        false,
        0,
    );
    assert_ne!(a.tape_sha256, c2.tape_sha256);
}

#[test]
fn test_realtime_and_fastforward_tapes_are_identical() {
    let c = config(5);
    let fast = run_tape(&c.sim, c.sim_instruments().unwrap(), 2.0, false, 0);
    let real = run_tape(&c.sim, c.sim_instruments().unwrap(), 2.0, true, 0);
    assert_eq!(fast.tape_sha256, real.tape_sha256);
    assert_eq!(fast.trades, real.trades);
    assert_eq!(fast.snapshots, real.snapshots);
}

#[test]
fn test_tapes_with_the_serve_backfill_are_identical_in_both_modes_and_differ_from_none() {
    let c = config(5);
    let fast = run_tape(&c.sim, c.sim_instruments().unwrap(), 2.0, false, 10);
    let real = run_tape(&c.sim, c.sim_instruments().unwrap(), 2.0, true, 10);
    assert_eq!(fast.tape_sha256, real.tape_sha256);
    assert_eq!(fast.snapshots, real.snapshots);
    let again = run_tape(&c.sim, c.sim_instruments().unwrap(), 2.0, false, 10);
    assert_eq!(fast.tape_sha256, again.tape_sha256);
    // Like with like only: the backfill moves the books and the latent clock.
    let none = run_tape(&c.sim, c.sim_instruments().unwrap(), 2.0, false, 0);
    assert_ne!(fast.tape_sha256, none.tape_sha256);
}

#[test]
fn test_splitting_time_arbitrarily_does_not_change_the_market() {
    let c = config(9);
    let spec = MarketSpec {
        t0_ns: DEFAULT_T0_NS,
        flow_scale: 1.0,
        snapshot_hz: 10.0,
        depth: 20,
    };
    let mut one = SimMarket::new(&c.sim, c.sim_instruments().unwrap(), &spec);
    let mut many = SimMarket::new(&c.sim, c.sim_instruments().unwrap(), &spec);
    let end = DEFAULT_T0_NS + 30_000_000_000;
    let mut out_one = MarketOut::default();
    one.run_until(end, &mut out_one);
    let mut out_many = MarketOut::default();
    let mut t = DEFAULT_T0_NS;
    let mut step = 1_234_567i64;
    while t < end {
        t = (t + step).min(end);
        step = (step * 7 + 3_000_001) % 97_000_000 + 1;
        many.run_until(t, &mut out_many);
    }
    let mut a = out_one.matched.trades.clone();
    let mut b = out_many.matched.trades.clone();
    a.sort_by_key(|t| (t.symbol, t.ts, t.trade_id));
    b.sort_by_key(|t| (t.symbol, t.ts, t.trade_id));
    assert_eq!(a, b);
    assert_eq!(out_one.books, out_many.books);
}

#[test]
fn test_latent_regimes_do_not_depend_on_the_flow_scale() {
    let c = config(3);
    let regimes = |scale: f64| {
        let spec = MarketSpec {
            t0_ns: DEFAULT_T0_NS,
            flow_scale: scale,
            snapshot_hz: 0.0,
            depth: 1,
        };
        let mut m = SimMarket::new(&c.sim, c.sim_instruments().unwrap(), &spec);
        let mut out = MarketOut::default();
        let mut labels = Vec::new();
        for minute in 1..=240 {
            m.run_until(DEFAULT_T0_NS + minute * 60_000_000_000, &mut out);
            out.clear();
            labels.push((m.regime(), m.fair_price(1).to_bits()));
        }
        labels
    };
    assert_eq!(regimes(1.0), regimes(0.05));
}

#[test]
fn test_tape_command_prints_the_same_hash_in_both_modes() {
    let bin = env!("CARGO_BIN_EXE_cerebellum_core");
    let run = |mode: &str, backfill: &str| {
        let out = Command::new(bin)
            .args(["tape", "--seed", "21", "--seconds", "1.5", "--mode", mode])
            .args(["--backfill-minutes", backfill])
            .output()
            .expect("binary runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
        v["tape_sha256"].as_str().unwrap().to_owned()
    };
    assert_eq!(run("realtime", "0"), run("fastforward", "0"));
    assert_eq!(run("realtime", "240"), run("fastforward", "240"));
    // The serve default (sim.backfill_minutes = 2600), twice: same seed, same market.
    let default = run("fastforward", "2600");
    assert_eq!(default, run("realtime", "2600"));
    assert_eq!(default, run("fastforward", "2600"));
}
