//! `cerebellum_core`: serve the wire, or use the simulator offline.

use std::{
    io::IsTerminal,
    path::PathBuf,
    process::ExitCode,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};

use anyhow::{anyhow, bail, Context, Result};
use cerebellum_core::{
    clock::{Clock, WallClock},
    config::{Config, SimMode, VenueKind, MAX_BACKFILL_MINUTES},
    orders::status::OrderStatus,
    server::{self, core::Core, ServerOptions},
    venue::{
        bybit::{BybitAdapter, Credentials},
        sim::{
            history::{run_history, HistoryArgs},
            tape::{run_bench, run_tape, DEFAULT_T0_NS},
            SimVenue,
        },
        Venue,
    },
};
use clap::{Parser, Subcommand, ValueEnum};

/// Longest `tape` / `bench-sim` run (about 3 years of simulated time).
const MAX_SECONDS: f64 = 1e8;

#[derive(Parser, Debug)]
#[command(
    name = "cerebellum_core",
    version,
    about = "Crucible's executor: order state, risk, simulated venue and Bybit"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum VenueArg {
    Sim,
    Bybit,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum ModeArg {
    Realtime,
    Fastforward,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Serve the wire protocol: ROUTER for commands, PUB for market data.
    Serve {
        /// JSON config file (defaults for everything not given).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Command endpoint (overrides the config).
        #[arg(long)]
        cmd_endpoint: Option<String>,
        /// Market data endpoint (overrides the config).
        #[arg(long)]
        md_endpoint: Option<String>,
        /// Simulator seed (overrides the config).
        #[arg(long)]
        seed: Option<u64>,
        /// Venue (overrides the config).
        #[arg(long, value_enum)]
        venue: Option<VenueArg>,
        /// Simulator mode (overrides the config).
        #[arg(long, value_enum)]
        mode: Option<ModeArg>,
        /// Exit when this process is gone.
        #[arg(long)]
        parent_pid: Option<u32>,
        /// tracing filter, e.g. info or cerebellum_core=debug.
        #[arg(long, default_value = "info")]
        log_level: String,
    },
    /// Print the full default JSON config.
    PrintDefaultConfig,
    /// Write 1-minute OHLCV bars (and optional L2 samples) from the simulator.
    History {
        /// Comma-separated symbols.
        #[arg(long, default_value = "BTC/USDT,ETH/USDT,SOL/USDT")]
        symbols: String,
        /// Number of 1-minute bars.
        #[arg(long)]
        minutes: u64,
        /// Seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Open time of the first bar (ms since the epoch; default 2024-01-01T00:00Z).
        #[arg(long, default_value_t = DEFAULT_T0_NS / 1_000_000)]
        start_ms: i64,
        /// JSON-lines file of BookSnapshot and Trade bodies.
        #[arg(long)]
        l2_out: Option<PathBuf>,
        /// Book snapshots per second in the L2 file.
        #[arg(long, default_value_t = 1.0)]
        l2_hz: f64,
        /// Levels per side in the L2 file.
        #[arg(long, default_value_t = 50)]
        l2_depth: usize,
        /// Order-flow rate scale (default: sim.history_flow_scale of the config).
        #[arg(long)]
        flow_scale: Option<f64>,
        /// JSON config file.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Run the simulator without agents and print the trade tape's SHA-256.
    Tape {
        /// Seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Simulated seconds.
        #[arg(long)]
        seconds: f64,
        /// realtime (follows the wall clock) or fastforward.
        #[arg(long, value_enum, default_value = "fastforward")]
        mode: ModeArg,
        /// Simulated minutes of history before t0, as `serve` runs them
        /// (`sim.backfill_minutes`); not hashed. Default 0: the market from t0 only.
        #[arg(long, default_value_t = 0)]
        backfill_minutes: u64,
        /// JSON config file.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Measure simulator throughput (book events per second, one core).
    BenchSim {
        /// Simulated seconds.
        #[arg(long, default_value_t = 600.0)]
        seconds: f64,
        /// Comma-separated symbols (default: all configured).
        #[arg(long)]
        symbols: Option<String>,
        /// Seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// JSON config file.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Print the order status table as JSON: each status with the statuses it may move to.
    Transitions,
}

/// The order status table, derived from [`OrderStatus::transition`]:
/// `{"initial": .., "transitions": {status: [next status, ..], ..}}`, every status a key.
fn transitions_json() -> serde_json::Value {
    let mut table = serde_json::Map::new();
    for from in OrderStatus::ALL {
        table.insert(from.name().to_owned(), serde_json::Value::Array(Vec::new()));
    }
    for (from, to) in OrderStatus::edges() {
        if let Some(serde_json::Value::Array(next)) = table.get_mut(from.name()) {
            next.push(to.name().into());
        }
    }
    serde_json::json!({
        "initial": OrderStatus::PendingNew.name(),
        "transitions": table,
    })
}

fn load_config(path: Option<&PathBuf>) -> Result<Config> {
    match path {
        Some(p) => Ok(Config::load(p)?),
        None => Ok(Config::default()),
    }
}

fn init_logging(level: &str) -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .map_err(|e| anyhow!("bad --log-level {level:?}: {e}"))?;
    let ansi = std::io::stderr().is_terminal();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .init();
    Ok(())
}

fn filter_symbols(config: &mut Config, symbols: &str) -> Result<()> {
    let wanted: Vec<&str> = symbols
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    for w in &wanted {
        if !config.sim.symbols.iter().any(|s| s.symbol == *w) {
            bail!("symbol {w} is not in sim.symbols of the config");
        }
    }
    config
        .sim
        .symbols
        .retain(|s| wanted.contains(&s.symbol.as_str()));
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn serve(
    config_path: Option<&PathBuf>,
    cmd_endpoint: Option<String>,
    md_endpoint: Option<String>,
    seed: Option<u64>,
    venue: Option<VenueArg>,
    mode: Option<ModeArg>,
    parent_pid: Option<u32>,
    log_level: &str,
) -> Result<()> {
    init_logging(log_level)?;
    let mut config = load_config(config_path)?;
    if let Some(e) = cmd_endpoint {
        config.cmd_endpoint = e;
    }
    if let Some(e) = md_endpoint {
        config.md_endpoint = e;
    }
    if let Some(s) = seed {
        config.sim.seed = s;
    }
    if let Some(v) = venue {
        config.venue = match v {
            VenueArg::Sim => VenueKind::Sim,
            VenueArg::Bybit => VenueKind::Bybit,
        };
    }
    if let Some(m) = mode {
        config.sim.mode = match m {
            ModeArg::Realtime => SimMode::Realtime,
            ModeArg::Fastforward => SimMode::Fastforward,
        };
    }
    config.validate()?;
    let clock = WallClock::new();
    let started = std::time::Instant::now();
    let venue: Box<dyn Venue> = match config.venue {
        VenueKind::Sim => {
            let instruments = config.sim_instruments()?;
            Box::new(SimVenue::new(&config.sim, instruments, clock.now_ns()))
        }
        VenueKind::Bybit => {
            // Keys come from BYBIT_API_KEY / BYBIT_API_SECRET only and are never logged.
            let credentials = Credentials::from_env()?;
            Box::new(BybitAdapter::start(
                &config.bybit,
                &credentials,
                clock.now_ns(),
            )?)
        }
    };
    tracing::info!(
        venue = venue.name(),
        startup_ms = started.elapsed().as_millis() as u64,
        "venue ready"
    );
    let mut core = Core::new(config.clone(), venue, Box::new(clock));
    let adopted = core.adopt_opening_positions();
    if adopted > 0 {
        tracing::warn!(
            adopted,
            "started with the venue's existing positions, booked as strategy 'venue'"
        );
    }
    let shutdown = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&shutdown);
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
        .context("installing the signal handler")?;
    let options = ServerOptions { parent_pid };
    server::run(&config, core, &shutdown, &options, &mut server::print_ready)?;
    tracing::info!("cerebellum stopped");
    Ok(())
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Cmd::Serve {
            config,
            cmd_endpoint,
            md_endpoint,
            seed,
            venue,
            mode,
            parent_pid,
            log_level,
        } => serve(
            config.as_ref(),
            cmd_endpoint,
            md_endpoint,
            seed,
            venue,
            mode,
            parent_pid,
            &log_level,
        ),
        Cmd::PrintDefaultConfig => {
            println!("{}", serde_json::to_string_pretty(&Config::default())?);
            Ok(())
        }
        Cmd::History {
            symbols,
            minutes,
            seed,
            out,
            start_ms,
            l2_out,
            l2_hz,
            l2_depth,
            flow_scale,
            config,
        } => {
            let config = load_config(config.as_ref())?;
            if !(l2_hz.is_finite() && l2_hz > 0.0 && l2_hz <= 1000.0) {
                bail!("--l2-hz must be within (0, 1000]");
            }
            let args = HistoryArgs {
                symbols: symbols
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect(),
                minutes,
                seed,
                out_dir: out,
                start_ms,
                l2_out,
                l2_hz,
                l2_depth,
                flow_scale,
            };
            let summary = run_history(&config.sim, &args).map_err(|e| anyhow!(e))?;
            println!("{}", serde_json::to_string(&summary)?);
            Ok(())
        }
        Cmd::Tape {
            seed,
            seconds,
            mode,
            backfill_minutes,
            config,
        } => {
            let mut config = load_config(config.as_ref())?;
            config.sim.seed = seed;
            if !(seconds.is_finite() && seconds > 0.0 && seconds <= MAX_SECONDS) {
                bail!("--seconds must be within (0, {MAX_SECONDS}]");
            }
            if backfill_minutes > MAX_BACKFILL_MINUTES {
                bail!("--backfill-minutes must be at most {MAX_BACKFILL_MINUTES}");
            }
            let summary = run_tape(
                &config.sim,
                config.sim_instruments()?,
                seconds,
                mode == ModeArg::Realtime,
                backfill_minutes,
            );
            println!("{}", serde_json::to_string(&summary)?);
            Ok(())
        }
        Cmd::BenchSim {
            seconds,
            symbols,
            seed,
            config,
        } => {
            let mut config = load_config(config.as_ref())?;
            config.sim.seed = seed;
            if let Some(s) = symbols {
                filter_symbols(&mut config, &s)?;
            }
            if !(seconds.is_finite() && seconds > 0.0 && seconds <= MAX_SECONDS) {
                bail!("--seconds must be within (0, {MAX_SECONDS}]");
            }
            let summary = run_bench(&config.sim, config.sim_instruments()?, seconds);
            println!("{}", serde_json::to_string(&summary)?);
            Ok(())
        }
        Cmd::Transitions => {
            println!("{}", transitions_json());
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cerebellum_core: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
