//! The event loop: `zmq::poll` over the ROUTER socket with a timeout to the
//! next timer (simulated event, book snapshot, dead-man deadline), then drain
//! the socket, tick the core and publish market data. Nothing here panics on
//! input; commands never wait behind a sleep.

pub mod core;
pub mod journal;
pub mod publisher;
pub mod router;

use std::{
    io::Write,
    path::Path,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use self::{
    core::{Core, Out},
    publisher::Publisher,
    router::{split, FrameError, Peers, Route},
};
use crate::{clock::NS_PER_MS, config::Config, error::ServerError};

/// Largest message libzmq accepts at all; bigger ones drop the connection.
/// Frames between `max_frame_bytes` and this get an `OVERSIZED` reject.
const TRANSPORT_MAX_BYTES: i64 = 4 * 1024 * 1024;
/// Messages handled per loop turn before timers get a chance.
const MAX_BATCH: usize = 1024;

/// How the server runs.
#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    /// Exit when this process is gone.
    pub parent_pid: Option<u32>,
}

/// Endpoints actually bound (wildcard ports resolved).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bound {
    /// Command endpoint.
    pub cmd: String,
    /// Market data endpoint.
    pub md: String,
}

fn is_loopback_or_local(endpoint: &str) -> bool {
    if endpoint.starts_with("ipc://") || endpoint.starts_with("inproc://") {
        return true;
    }
    let Some(rest) = endpoint.strip_prefix("tcp://") else {
        return false;
    };
    let host = rest.rsplit_once(':').map_or(rest, |(h, _)| h);
    matches!(host, "127.0.0.1" | "localhost" | "[::1]" | "::1") || host.starts_with("127.")
}

fn prepare_ipc_dir(endpoint: &str) -> Result<(), ServerError> {
    let Some(path) = endpoint.strip_prefix("ipc://") else {
        return Ok(());
    };
    let Some(dir) = Path::new(path).parent() else {
        return Ok(());
    };
    if dir.as_os_str().is_empty() || dir.exists() {
        return Ok(());
    }
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| ServerError::Setup(format!("cannot create {}: {e}", dir.display())))
}

fn curve_key(config: &Config) -> Option<String> {
    std::env::var("CRUCIBLE_CURVE_SECRET_KEY")
        .ok()
        .filter(|k| !k.is_empty())
        .or_else(|| config.session.curve_secret_key.clone())
}

fn secure(socket: &zmq::Socket, endpoint: &str, config: &Config) -> Result<(), ServerError> {
    if is_loopback_or_local(endpoint) {
        return Ok(());
    }
    let key = curve_key(config).ok_or_else(|| {
        ServerError::Setup(format!(
            "{endpoint} is not loopback: set session.curve_secret_key or CRUCIBLE_CURVE_SECRET_KEY"
        ))
    })?;
    let secret = zmq::z85_decode(&key)
        .map_err(|_| ServerError::Setup("curve secret key is not valid Z85".into()))?;
    socket
        .set_curve_server(true)
        .map_err(|e| ServerError::zmq("curve_server", e))?;
    socket
        .set_curve_secretkey(&secret)
        .map_err(|e| ServerError::zmq("curve_secretkey", e))?;
    Ok(())
}

fn bind(socket: &zmq::Socket, endpoint: &str) -> Result<String, ServerError> {
    prepare_ipc_dir(endpoint)?;
    socket
        .bind(endpoint)
        .map_err(|e| ServerError::zmq(format!("bind {endpoint}"), e))?;
    let last = socket
        .get_last_endpoint()
        .map_err(|e| ServerError::zmq("last endpoint", e))?
        .unwrap_or_else(|_| endpoint.to_owned());
    Ok(last)
}

fn parent_alive(pid: u32) -> bool {
    let stat = match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => s,
        Err(_) => return false,
    };
    // The state follows the parenthesised command name: "pid (comm) S ...".
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, Some('Z' | 'X') | None)
}

/// Largest batch of envelopes joined into one frame for one peer.
const MAX_BATCH_BYTES: usize = 256 * 1024;

/// Sends everything in `out`, one frame per peer: the envelopes bound for a
/// peer are joined by `\n` (JSON Lines; compact JSON never contains a raw
/// newline). An order's Ack and its fill reports then arrive together, in one
/// wakeup of the engine, instead of one ZeroMQ message each.
fn send(router: &zmq::Socket, peers: &Peers, out: &mut Vec<Out>) {
    let mut batches: Vec<(Route, Vec<u8>)> = Vec::new();
    for item in out.drain(..) {
        match item {
            Out::To(route, body) => batch(router, &mut batches, route, &body),
            Out::Report(body) => {
                for route in peers.routes() {
                    batch(router, &mut batches, route.clone(), &body);
                }
            }
        }
    }
    for (route, body) in batches {
        send_one(router, &route, &body);
    }
}

fn batch(router: &zmq::Socket, batches: &mut Vec<(Route, Vec<u8>)>, route: Route, body: &[u8]) {
    let i = match batches.iter().position(|(r, _)| *r == route) {
        Some(i) => i,
        None => {
            batches.push((route, Vec::with_capacity(body.len())));
            batches.len() - 1
        }
    };
    let (route, buf) = &mut batches[i];
    if !buf.is_empty() && buf.len() + 1 + body.len() > MAX_BATCH_BYTES {
        send_one(router, route, buf);
        buf.clear();
    }
    if !buf.is_empty() {
        buf.push(b'\n');
    }
    buf.extend_from_slice(body);
}

fn send_one(router: &zmq::Socket, route: &[Vec<u8>], body: &[u8]) {
    let frames = route.iter().map(Vec::as_slice).chain(std::iter::once(body));
    if let Err(e) = router.send_multipart(frames, zmq::DONTWAIT) {
        tracing::debug!(error = %e, "reply not delivered");
    }
}

/// Runs the server until `shutdown` is set or the parent process is gone.
///
/// `on_bound` is called once the sockets are bound (the binary prints READY).
///
/// # Errors
/// [`ServerError`] when the sockets cannot be set up.
pub fn run(
    config: &Config,
    mut core: Core,
    shutdown: &Arc<AtomicBool>,
    options: &ServerOptions,
    on_bound: &mut dyn FnMut(&Bound),
) -> Result<(), ServerError> {
    let context = zmq::Context::new();
    let router = context
        .socket(zmq::ROUTER)
        .map_err(|e| ServerError::zmq("router socket", e))?;
    router
        .set_linger(0)
        .map_err(|e| ServerError::zmq("linger", e))?;
    router
        .set_rcvhwm(100_000)
        .map_err(|e| ServerError::zmq("rcvhwm", e))?;
    router
        .set_sndhwm(100_000)
        .map_err(|e| ServerError::zmq("sndhwm", e))?;
    router
        .set_maxmsgsize(TRANSPORT_MAX_BYTES)
        .map_err(|e| ServerError::zmq("maxmsgsize", e))?;
    secure(&router, &config.cmd_endpoint, config)?;
    let publisher_socket = context
        .socket(zmq::PUB)
        .map_err(|e| ServerError::zmq("pub socket", e))?;
    publisher_socket
        .set_linger(0)
        .map_err(|e| ServerError::zmq("linger", e))?;
    publisher_socket
        .set_sndhwm(20_000)
        .map_err(|e| ServerError::zmq("sndhwm", e))?;
    secure(&publisher_socket, &config.md_endpoint, config)?;
    let bound = Bound {
        cmd: bind(&router, &config.cmd_endpoint)?,
        md: bind(&publisher_socket, &config.md_endpoint)?,
    };
    let mut publisher = Publisher::new(Some(publisher_socket), core.instruments());
    tracing::info!(cmd = %bound.cmd, md = %bound.md, session = core.session_id(), venue = core.venue().name(),
        mode = core.venue().mode(), "cerebellum ready");
    on_bound(&bound);

    let mut out: Vec<Out> = Vec::with_capacity(256);
    let mut last_parent_check = Instant::now();
    let instruments = core.instruments().to_vec();
    loop {
        if shutdown.load(Ordering::SeqCst) {
            tracing::info!("shutdown requested");
            break;
        }
        if let Some(pid) = options.parent_pid {
            if last_parent_check.elapsed() >= Duration::from_millis(200) {
                last_parent_check = Instant::now();
                if !parent_alive(pid) {
                    tracing::info!(pid, "parent process is gone; exiting");
                    break;
                }
            }
        }
        let now = core.now_ns();
        let wait_ns = (core.next_deadline_ns() - now).clamp(0, 200 * NS_PER_MS);
        let timeout_ms = (wait_ns + NS_PER_MS - 1) / NS_PER_MS;
        let mut items = [router.as_poll_item(zmq::POLLIN)];
        match zmq::poll(&mut items, timeout_ms) {
            Ok(_) | Err(zmq::Error::EINTR) => {}
            Err(e) => return Err(ServerError::zmq("poll", e)),
        }
        for _ in 0..MAX_BATCH {
            match router.recv_multipart(zmq::DONTWAIT) {
                Ok(frames) => {
                    let (route, body) = split(frames);
                    match body {
                        Ok(body) => core.handle_frame(&route, &body, &mut out),
                        Err(FrameError::Empty) => continue,
                        Err(FrameError::Multipart) => core.reject_bad_envelope(
                            &route,
                            "a command must be exactly one frame",
                            &mut out,
                        ),
                    }
                    send(&router, core.peers(), &mut out);
                }
                Err(zmq::Error::EAGAIN) => break,
                Err(zmq::Error::EINTR) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "receive failed");
                    break;
                }
            }
        }
        core.tick(&mut out);
        send(&router, core.peers(), &mut out);
        publisher.publish_all(&core.take_market(), &instruments);
    }
    Ok(())
}

/// Prints the READY line on stdout and flushes it.
pub fn print_ready(bound: &Bound) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "READY cmd={} md={}", bound.cmd, bound.md);
    let _ = stdout.flush();
}
