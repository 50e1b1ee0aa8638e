//! A DEALER client of the core's command socket, for tests against the
//! real binary over real ZeroMQ sockets.

use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

use serde_json::{json, Value};

/// One engine connection: sends commands, keeps every pushed report.
pub struct Dealer {
    socket: zmq::Socket,
    _context: zmq::Context,
    req_id: i64,
    /// Envelopes received but not yet handed out (a frame may carry several).
    inbox: VecDeque<Value>,
    /// Journaled reports and late replies received so far, in arrival order.
    pub reports: Vec<Value>,
}

impl Dealer {
    /// Connects to a command endpoint.
    pub fn connect(endpoint: &str) -> Self {
        let context = zmq::Context::new();
        let socket = context.socket(zmq::DEALER).expect("dealer socket");
        socket.set_linger(0).expect("linger");
        socket.set_rcvtimeo(20).expect("rcvtimeo");
        socket.connect(endpoint).expect("connect");
        Self {
            socket,
            _context: context,
            req_id: 0,
            inbox: VecDeque::new(),
            reports: Vec::new(),
        }
    }

    /// Sends a command (adds `v` and a fresh `req_id`) without waiting; returns the `req_id`.
    pub fn send(&mut self, mut command: Value) -> i64 {
        self.req_id += 1;
        command["v"] = json!(1);
        command["req_id"] = json!(self.req_id);
        self.socket
            .send(serde_json::to_vec(&command).expect("json"), 0)
            .expect("send");
        self.req_id
    }

    fn receive_one(&mut self) -> Option<Value> {
        if let Some(m) = self.inbox.pop_front() {
            return Some(m);
        }
        match self.socket.recv_bytes(0) {
            Ok(bytes) => {
                // The core joins a peer's envelopes with newlines (JSON Lines).
                for line in bytes.split(|b| *b == b'\n') {
                    self.inbox
                        .push_back(serde_json::from_slice(line).expect("the core sends JSON"));
                }
                self.inbox.pop_front()
            }
            Err(zmq::Error::EAGAIN) => None,
            Err(e) => panic!("recv: {e}"),
        }
    }

    /// Sends a command and returns its reply (other messages are kept in `reports`).
    pub fn request(&mut self, command: Value, timeout: Duration) -> Value {
        let id = self.send(command.clone());
        self.reply_to(id, timeout)
            .unwrap_or_else(|| panic!("no reply to {command} within {timeout:?}"))
    }

    /// Waits for the reply with `req_id` (kept in `reports` if it came earlier).
    pub fn reply_to(&mut self, req_id: i64, timeout: Duration) -> Option<Value> {
        let is_reply = |m: &Value| m["req_id"] == json!(req_id) && m.get("seq").is_none();
        if let Some(i) = self.reports.iter().position(is_reply) {
            return Some(self.reports.remove(i));
        }
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(m) = self.receive_one() {
                if is_reply(&m) {
                    return Some(m);
                }
                self.reports.push(m);
            }
        }
        None
    }

    /// Waits until a received message matches `pred`; returns it.
    pub fn wait_for(&mut self, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Option<Value> {
        if let Some(m) = self.reports.iter().find(|m| pred(m)) {
            return Some(m.clone());
        }
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(m) = self.receive_one() {
                let hit = pred(&m);
                self.reports.push(m);
                if hit {
                    return self.reports.last().cloned();
                }
            }
        }
        None
    }

    /// Receives for `duration`, keeping everything.
    pub fn drain(&mut self, duration: Duration) {
        let deadline = Instant::now() + duration;
        while Instant::now() < deadline {
            if let Some(m) = self.receive_one() {
                self.reports.push(m);
            }
        }
    }

    /// Returns the order updates of one client order id, in arrival order.
    pub fn updates_of(&self, client_order_id: &str) -> Vec<Value> {
        self.reports
            .iter()
            .filter(|r| r["type"] == "OrderUpdate" && r["client_order_id"] == client_order_id)
            .cloned()
            .collect()
    }

    /// Waits for an `OrderUpdate` of `client_order_id` with `status`.
    pub fn wait_status(&mut self, client_order_id: &str, status: &str, timeout: Duration) -> Value {
        self.wait_for(timeout, |m| {
            m["type"] == "OrderUpdate"
                && m["client_order_id"] == client_order_id
                && m["status"] == status
        })
        .unwrap_or_else(|| {
            panic!(
                "no {status} for {client_order_id} within {timeout:?}; got {:?}",
                self.updates_of(client_order_id)
            )
        })
    }
}
