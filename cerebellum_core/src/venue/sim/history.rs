//! `history`: 1-minute OHLCV bars (and optional L2 samples) from the same
//! market model as `serve`, run fast-forward.
//!
//! History runs the order flow at `history_flow_scale` times the serve rates
//! (all Poisson rates, cancellations included, so the book's stationary
//! depth is unchanged; it refills more slowly). The latent regime/fair-value
//! process is identical: it runs on its own RNG stream and time grid.

use std::{
    fs::File,
    io::{BufWriter, Write},
    path::{Path, PathBuf},
    time::Instant,
};

use serde::Serialize;

use super::{
    market::{MarketOut, MarketSpec, SimMarket},
    matching::TradeRec,
};
use crate::{
    clock::NS_PER_MS,
    config::SimConfig,
    protocol::reports::{encode, BookSnapshot, Trade},
    types::Instrument,
};

/// What to generate.
#[derive(Clone, Debug)]
pub struct HistoryArgs {
    /// Symbols to simulate (must be in the config).
    pub symbols: Vec<String>,
    /// Number of 1-minute bars.
    pub minutes: u64,
    /// RNG seed.
    pub seed: u64,
    /// Output directory for the CSV files.
    pub out_dir: PathBuf,
    /// Open time of the first bar, ms since the epoch.
    pub start_ms: i64,
    /// Optional JSON-lines file of BookSnapshot / Trade bodies.
    pub l2_out: Option<PathBuf>,
    /// Snapshots per second in the L2 file.
    pub l2_hz: f64,
    /// Levels per side in the L2 file.
    pub l2_depth: usize,
    /// Flow-rate scale (`None` = `sim.history_flow_scale`).
    pub flow_scale: Option<f64>,
}

/// What was written.
#[derive(Clone, Debug, Serialize)]
pub struct HistorySummary {
    /// Bars per symbol.
    pub minutes: u64,
    /// CSV files.
    pub files: Vec<String>,
    /// L2 lines written.
    pub l2_lines: u64,
    /// Flow scale used.
    pub flow_scale: f64,
    /// Book events simulated.
    pub book_events: u64,
    /// Wall seconds.
    pub wall_seconds: f64,
}

#[derive(Clone, Copy, Debug)]
struct Bar {
    open: i64,
    high: i64,
    low: i64,
    close: i64,
    volume: i64,
    trades: u64,
}

impl Bar {
    fn flat(price: i64) -> Self {
        Self {
            open: price,
            high: price,
            low: price,
            close: price,
            volume: 0,
            trades: 0,
        }
    }

    fn add(&mut self, t: &TradeRec) {
        if self.trades == 0 {
            *self = Self::flat(t.price);
        }
        self.high = self.high.max(t.price);
        self.low = self.low.min(t.price);
        self.close = t.price;
        self.volume += t.qty;
        self.trades += 1;
    }
}

fn file_name(symbol: &str) -> String {
    format!("{}_1m.csv", symbol.replace('/', "-"))
}

/// Generates the bars (and L2 samples).
///
/// # Errors
/// A message for unknown symbols or I/O failures.
pub fn run_history(config: &SimConfig, args: &HistoryArgs) -> Result<HistorySummary, String> {
    let mut sim = config.clone();
    sim.seed = args.seed;
    let wanted: Vec<&str> = args.symbols.iter().map(String::as_str).collect();
    for w in &wanted {
        if !sim.symbols.iter().any(|s| s.symbol == *w) {
            return Err(format!("symbol {w} is not in sim.symbols of the config"));
        }
    }
    // Keep config order so that a symbol's random streams do not depend on the argument order.
    sim.symbols.retain(|s| wanted.contains(&s.symbol.as_str()));
    let instruments: Vec<Instrument> = sim
        .symbols
        .iter()
        .map(|s| Instrument::new_checked(&s.symbol, s.tick_size, s.lot_size, s.min_qty))
        .collect::<Result<_, _>>()?;
    if args.minutes > 10_000_000 {
        return Err("--minutes must be at most 10 000 000".into());
    }
    if !(0..=4_000_000_000_000).contains(&args.start_ms) {
        return Err("--start-ms must be within 1970..2096".into());
    }
    let flow_scale = args.flow_scale.unwrap_or(sim.history_flow_scale);
    if !(flow_scale.is_finite() && flow_scale > 0.0) {
        return Err("flow scale must be positive".into());
    }
    std::fs::create_dir_all(&args.out_dir)
        .map_err(|e| format!("{}: {e}", args.out_dir.display()))?;
    let t0 = args.start_ms.saturating_mul(NS_PER_MS);
    let spec = MarketSpec {
        t0_ns: t0,
        flow_scale,
        snapshot_hz: if args.l2_out.is_some() {
            args.l2_hz
        } else {
            0.0
        },
        depth: args.l2_depth.max(1),
    };
    let mut market = SimMarket::new(&sim, instruments.clone(), &spec);
    let mut files = Vec::new();
    let mut writers = Vec::new();
    for inst in &instruments {
        let path = args.out_dir.join(file_name(&inst.symbol));
        let file = File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut w = BufWriter::with_capacity(1 << 16, file);
        writeln!(w, "ts_ms,open,high,low,close,volume,trades,regime").map_err(|e| e.to_string())?;
        files.push(path.display().to_string());
        writers.push(w);
    }
    let mut l2 = match &args.l2_out {
        Some(path) => Some(open_l2(path)?),
        None => None,
    };
    let mut l2_seq = vec![0u64; instruments.len()];
    let mut l2_lines = 0u64;
    let mut buf = Vec::with_capacity(4096);
    let mut last_close: Vec<Option<i64>> = (0..instruments.len())
        .map(|i| {
            let (b, a) = market.top(i as u16);
            match (b, a) {
                (Some(b), Some(a)) => Some((b + a) / 2),
                _ => None,
            }
        })
        .collect();
    let mut out = MarketOut::default();
    let started = Instant::now();
    let report_every = (args.minutes / 20).max(1);
    for m in 0..args.minutes {
        let bar_start = t0 + (m as i64) * 60_000 * NS_PER_MS;
        let bar_end = bar_start + 60_000 * NS_PER_MS;
        market.run_until(bar_end, &mut out);
        let mut bars: Vec<Option<Bar>> = vec![None; instruments.len()];
        for t in &out.matched.trades {
            let s = usize::from(t.symbol);
            bars[s].get_or_insert_with(|| Bar::flat(t.price)).add(t);
        }
        if let Some(w) = l2.as_mut() {
            l2_lines += write_l2(w, &out, &instruments, &mut l2_seq, &mut buf)?;
        }
        out.clear();
        let regime = market.regime().as_str();
        for (s, w) in writers.iter_mut().enumerate() {
            let bar = match bars[s] {
                Some(b) => b,
                None => match last_close[s] {
                    Some(p) => Bar::flat(p),
                    None => continue,
                },
            };
            last_close[s] = Some(bar.close);
            let inst = &instruments[s];
            writeln!(
                w,
                "{},{},{},{},{},{},{},{}",
                bar_start / NS_PER_MS,
                inst.price(bar.open),
                inst.price(bar.high),
                inst.price(bar.low),
                inst.price(bar.close),
                inst.qty(bar.volume),
                bar.trades,
                regime
            )
            .map_err(|e| e.to_string())?;
        }
        if (m + 1) % report_every == 0 || m + 1 == args.minutes {
            eprintln!(
                "history: {}/{} minutes ({:.0}%), {:.1} s",
                m + 1,
                args.minutes,
                100.0 * (m + 1) as f64 / args.minutes as f64,
                started.elapsed().as_secs_f64()
            );
        }
    }
    for w in &mut writers {
        w.flush().map_err(|e| e.to_string())?;
    }
    if let Some(w) = l2.as_mut() {
        w.flush().map_err(|e| e.to_string())?;
    }
    Ok(HistorySummary {
        minutes: args.minutes,
        files,
        l2_lines,
        flow_scale,
        book_events: market.counts().book_events(),
        wall_seconds: started.elapsed().as_secs_f64(),
    })
}

fn open_l2(path: &Path) -> Result<BufWriter<File>, String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let file = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(BufWriter::with_capacity(1 << 20, file))
}

/// Writes books and trades of one segment in time order (books at a given
/// time before trades at that time), numbering them like the PUB socket.
fn write_l2(
    w: &mut BufWriter<File>,
    out: &MarketOut,
    instruments: &[Instrument],
    seq: &mut [u64],
    buf: &mut Vec<u8>,
) -> Result<u64, String> {
    let mut books = out.books.iter().peekable();
    let mut trades = out.matched.trades.iter().collect::<Vec<_>>();
    trades.sort_by_key(|t| (t.ts, t.symbol));
    let mut trades = trades.into_iter().peekable();
    let mut lines = 0;
    loop {
        let take_book = match (books.peek(), trades.peek()) {
            (Some(b), Some(t)) => b.ts <= t.ts,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        if take_book {
            let Some(b) = books.next() else { break };
            let s = usize::from(b.symbol);
            let Some(inst) = instruments.get(s) else {
                continue;
            };
            seq[s] += 1;
            encode(
                buf,
                &BookSnapshot::new(inst, seq[s], b.ts, &b.bids, &b.asks),
            );
        } else {
            let Some(t) = trades.next() else { break };
            let s = usize::from(t.symbol);
            let Some(inst) = instruments.get(s) else {
                continue;
            };
            seq[s] += 1;
            encode(
                buf,
                &Trade::new(inst, seq[s], t.ts, t.price, t.qty, t.aggressor, t.trade_id),
            );
        }
        buf.push(b'\n');
        w.write_all(buf).map_err(|e| e.to_string())?;
        lines += 1;
    }
    Ok(lines)
}
