//! The binary's subcommands: config printing and errors, serve's READY line and
//! clean exits (SIGTERM, parent gone), history files, bench output.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use cerebellum_core::config::Config;

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_cerebellum_core");

fn wait_exit(
    child: &mut std::process::Child,
    timeout: Duration,
) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

fn spawn_serve(extra: &[&str], tag: &str) -> (std::process::Child, String) {
    let dir = std::env::temp_dir().join(format!("cerebellum-cli-{}-{tag}", std::process::id()));
    let cmd = format!("ipc://{}/cmd.sock", dir.display());
    let md = format!("ipc://{}/md.sock", dir.display());
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--cmd-endpoint",
            &cmd,
            "--md-endpoint",
            &md,
            "--log-level",
            "warn",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("a READY line");
    (child, line)
}

#[test]
fn test_print_default_config_prints_a_config_that_loads_back() {
    let out = Command::new(BIN)
        .arg("print-default-config")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let config = Config::from_json(&text).expect("the default config loads");
    assert_eq!(config.sim.symbols.len(), 3);
}

#[test]
fn test_bad_config_exits_with_code_two_naming_the_field() {
    let path = std::env::temp_dir().join(format!("cerebellum-bad-{}.json", std::process::id()));
    std::fs::write(&path, r#"{"risk": {"collar_bps": "wide"}}"#).unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("risk.collar_bps"), "{err}");
}

#[test]
fn test_serve_prints_ready_and_exits_cleanly_on_sigterm() {
    let (mut child, line) = spawn_serve(&[], "term");
    assert!(line.starts_with("READY cmd=ipc://"), "{line}");
    assert!(line.contains(" md=ipc://"), "{line}");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = wait_exit(&mut child, Duration::from_secs(5)).expect("exits after SIGTERM");
    assert_eq!(exit.code(), Some(0));
}

#[test]
fn test_serve_exits_when_the_parent_process_is_gone() {
    let mut parent = Command::new("sleep").arg("1").spawn().unwrap();
    let pid = parent.id().to_string();
    let (mut child, line) = spawn_serve(&["--parent-pid", &pid], "parent");
    assert!(line.starts_with("READY"));
    let _ = parent.wait();
    let exit =
        wait_exit(&mut child, Duration::from_secs(5)).expect("exits once the parent is gone");
    assert_eq!(exit.code(), Some(0));
}

#[test]
fn test_history_writes_one_csv_per_symbol_with_the_documented_header() {
    let dir = std::env::temp_dir().join(format!("cerebellum-history-{}", std::process::id()));
    let l2 = dir.join("l2.jsonl");
    let out = Command::new(BIN)
        .args([
            "history",
            "--symbols",
            "BTC/USDT,SOL/USDT",
            "--minutes",
            "30",
            "--seed",
            "3",
            "--out",
        ])
        .arg(&dir)
        .args(["--l2-hz", "1", "--l2-depth", "5", "--l2-out"])
        .arg(&l2)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(dir.join("BTC-USDT_1m.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("ts_ms,open,high,low,close,volume,trades,regime")
    );
    let first: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(first[0], "1704067200000");
    assert!(["calm", "trending", "volatile", "crash"].contains(&first[7]));
    assert_eq!(csv.lines().count(), 31);
    assert!(dir.join("SOL-USDT_1m.csv").exists());
    assert!(!dir.join("ETH-USDT_1m.csv").exists());
    let first_l2: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&l2)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(first_l2["type"], "BookSnapshot");
    assert_eq!(first_l2["seq"], 1);
    assert_eq!(first_l2["bids"].as_array().unwrap().len(), 5);
}

#[test]
fn test_history_refuses_a_symbol_that_is_not_configured() {
    let out = Command::new(BIN)
        .args([
            "history",
            "--symbols",
            "DOGE/USDT",
            "--minutes",
            "1",
            "--out",
            "/tmp/cerebellum-none",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("DOGE/USDT"));
}

#[test]
fn test_bench_sim_reports_events_per_second() {
    let out = Command::new(BIN)
        .args(["bench-sim", "--seconds", "60", "--symbols", "BTC/USDT"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["sim_events_per_s"].as_f64().unwrap() > 0.0);
    assert_eq!(v["symbols"], serde_json::json!(["BTC/USDT"]));
}

#[test]
fn test_serve_backfills_recent_bars_and_is_ready_quickly() {
    let started = Instant::now();
    let (mut child, line) = spawn_serve(&["--seed", "5"], "bars");
    let ready = started.elapsed();
    assert!(line.starts_with("READY"), "{line}");
    // Default sim.backfill_minutes = 2600 on three symbols; measured ~0.5 s.
    assert!(ready < Duration::from_secs(5), "READY after {ready:?}");
    let cmd = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("cmd="))
        .unwrap()
        .to_owned();
    let mut d = common::wire::Dealer::connect(&cmd);
    let welcome = d.request(
        serde_json::json!({"type": "Hello", "client": "test"}),
        Duration::from_secs(5),
    );
    assert_eq!(welcome["type"], "Welcome");
    let bars = d.request(
        serde_json::json!({"type": "Bars", "symbol": "ETH/USDT", "timeframe": "1m", "limit": 1000}),
        Duration::from_secs(5),
    );
    assert_eq!(bars["type"], "BarsReport", "{bars}");
    let rows = bars["bars"].as_array().unwrap();
    // 1000 bars fit in the 64 KiB reply; the rest come with `before_ms`.
    assert_eq!(rows.len(), 1000);
    let mut opens: Vec<i64> = rows.iter().map(|r| r[0].as_i64().unwrap()).collect();
    while opens.len() < 2_700 {
        let page = d.request(
            serde_json::json!({"type": "Bars", "symbol": "ETH/USDT", "limit": 1000, "before_ms": opens[0]}),
            Duration::from_secs(5),
        );
        let page: Vec<i64> = page["bars"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r[0].as_i64().unwrap())
            .collect();
        if page.is_empty() {
            break;
        }
        opens.splice(0..0, page);
    }
    assert!((2_600..=2_601).contains(&opens.len()), "{}", opens.len());
    assert!(opens.windows(2).all(|w| w[1] == w[0] + 60_000));
    let last_open = *opens.last().unwrap();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!(last_open + 60_000 <= now_ms && now_ms - last_open < 130_000);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn test_serve_bybit_without_keys_exits_with_code_two_naming_the_variable() {
    let out = Command::new(BIN)
        .args(["serve", "--venue", "bybit"])
        .env_remove("BYBIT_API_KEY")
        .env_remove("BYBIT_API_SECRET")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("BYBIT_API_KEY"), "{err}");
}
