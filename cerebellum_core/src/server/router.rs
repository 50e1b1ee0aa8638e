//! ROUTER identity handling: splitting a received message into its route and
//! body, and the set of peers (routes) that said `Hello` and get pushed reports.

/// The frames a ROUTER needs to address a peer: its identity, plus an empty
/// delimiter for REQ-style peers.
pub type Route = Vec<Vec<u8>>;

/// Why a received message is not one command frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The message had no body frame.
    Empty,
    /// More than one body frame.
    Multipart,
}

/// Splits `[identity, (empty,) body]` into route and body.
///
/// # Errors
/// [`FrameError`] when the message is not a single command frame; the route
/// (if any) is still returned so the peer can be answered.
pub fn split(mut frames: Vec<Vec<u8>>) -> (Route, Result<Vec<u8>, FrameError>) {
    if frames.len() < 2 {
        return (frames, Err(FrameError::Empty));
    }
    if frames.len() == 2 {
        let body = frames.pop().unwrap_or_default();
        return (frames, Ok(body));
    }
    if frames.len() == 3 && frames[1].is_empty() {
        let body = frames.pop().unwrap_or_default();
        return (frames, Ok(body));
    }
    frames.truncate(1);
    (frames, Err(FrameError::Multipart))
}

#[derive(Clone, Debug)]
struct Peer {
    route: Route,
    last_seen_ns: i64,
}

/// Peers that registered with `Hello`. A peer stays registered (a silent
/// engine, e.g. paused in a debugger, must not lose its pushes for good);
/// beyond `max_peers` the least recently seen one is dropped. Pushing to a
/// peer that disconnected costs nothing: the ROUTER drops unroutable messages.
#[derive(Clone, Debug, Default)]
pub struct Peers {
    peers: Vec<Peer>,
    max_peers: usize,
}

impl Peers {
    /// Creates an empty set of at most `max_peers` peers.
    pub fn new(max_peers: usize) -> Self {
        Self {
            peers: Vec::new(),
            max_peers: max_peers.max(1),
        }
    }

    /// Registers (or refreshes) a peer.
    pub fn register(&mut self, route: &Route, now_ns: i64) {
        if let Some(p) = self.peers.iter_mut().find(|p| &p.route == route) {
            p.last_seen_ns = now_ns;
            return;
        }
        if self.peers.len() >= self.max_peers {
            if let Some(oldest) = self
                .peers
                .iter()
                .enumerate()
                .min_by_key(|(_, p)| p.last_seen_ns)
                .map(|(i, _)| i)
            {
                self.peers.swap_remove(oldest);
            }
        }
        self.peers.push(Peer {
            route: route.clone(),
            last_seen_ns: now_ns,
        });
    }

    /// Notes traffic from a peer (registered peers only).
    pub fn touch(&mut self, route: &Route, now_ns: i64) {
        if let Some(p) = self.peers.iter_mut().find(|p| &p.route == route) {
            p.last_seen_ns = now_ns;
        }
    }

    /// Whether a peer has registered with `Hello`.
    pub fn is_registered(&self, route: &Route) -> bool {
        self.peers.iter().any(|p| &p.route == route)
    }

    /// Returns the routes of all peers.
    pub fn routes(&self) -> impl Iterator<Item = &Route> {
        self.peers.iter().map(|p| &p.route)
    }

    /// Returns the number of peers.
    pub fn len(&self) -> usize {
        self.peers.len()
    }

    /// Whether no peer is registered.
    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }
}
