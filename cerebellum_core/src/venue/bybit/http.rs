//! Signed REST client for Bybit v5 over `ureq`.
//!
//! * Every call has a connect timeout, a per-attempt timeout and an overall
//!   deadline covering all retries (DESIGN invariant 9, bounded waits).
//! * Transient failures are retried with exponential backoff and jitter:
//!   transport errors, HTTP 5xx and 429, `retCode` 10006 (rate limit: waits
//!   until `X-Bapi-Limit-Reset-Timestamp`), 10016 (server error) and 10000
//!   (server timeout). Retrying `order/create` is safe because Bybit refuses a
//!   second order with the same `orderLinkId` (110072), which the venue layer
//!   resolves by querying the order.
//! * `retCode` 10002 (timestamp outside `recv_window`) triggers one clock
//!   resync against `/v5/market/time` and one resend.
//! * Everything else (business errors, auth errors, 4xx) fails at once with
//!   Bybit's `retCode`/`retMsg`.
//! * Redirects are not followed: ureq would forward the `X-BAPI-*` headers.
//! * Headers are never logged; venue text is redacted of the API key.

use std::{
    collections::HashMap,
    thread,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use rand::Rng;
use serde::{de::DeserializeOwned, Serialize};

use super::{
    auth::Credentials,
    error::{codes, VenueError},
    models::{Envelope, ServerTimeResult},
};

const SERVER_TIME_PATH: &str = "/v5/market/time";
const LIMIT_STATUS_HEADER: &str = "X-Bapi-Limit-Status";
const LIMIT_RESET_HEADER: &str = "X-Bapi-Limit-Reset-Timestamp";
const MAX_BODY_IN_ERROR: usize = 256;

/// Retry and timeout budget of every REST call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Sends per call, first included (at least 1).
    pub max_attempts: u32,
    /// Backoff before the second send; doubles each time.
    pub base_backoff: Duration,
    /// Backoff ceiling.
    pub max_backoff: Duration,
    /// Longest wait for a rate-limit window to reset.
    pub max_rate_limit_wait: Duration,
    /// Overall budget of one call, all attempts and waits included.
    pub deadline: Duration,
    /// TCP connect timeout of one attempt.
    pub connect_timeout: Duration,
    /// Whole-request timeout of one attempt (connect, send, read).
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(4),
            max_rate_limit_wait: Duration::from_secs(5),
            deadline: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    Get,
    Post,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
        }
    }
}

/// What one attempt came to.
enum Step {
    Done(serde_json::Value),
    Retry {
        err: VenueError,
        wait: Option<Duration>,
    },
    ResyncClock(VenueError),
    Fail(VenueError),
}

#[derive(Clone, Copy, Debug, Default)]
struct LimitState {
    remaining: Option<u64>,
    reset_ms: Option<u64>,
}

/// The signed REST client. One per adapter; not shared between threads.
pub struct HttpClient {
    agent: ureq::Agent,
    base_url: String,
    creds: Credentials,
    recv_window_ms: u64,
    retry: RetryPolicy,
    time_offset_ms: i64,
    limits: HashMap<String, LimitState>,
}

impl HttpClient {
    /// Builds a client for `base_url` (no trailing slash needed).
    pub fn new(
        base_url: &str,
        creds: Credentials,
        recv_window_ms: u64,
        retry: RetryPolicy,
    ) -> Self {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(retry.connect_timeout)
            .timeout(retry.request_timeout)
            .redirects(0)
            .user_agent(concat!("cerebellum_core/", env!("CARGO_PKG_VERSION")))
            .build();
        Self {
            agent,
            base_url: base_url.trim_end_matches('/').to_owned(),
            creds,
            recv_window_ms,
            retry,
            time_offset_ms: 0,
            limits: HashMap::new(),
        }
    }

    /// Current estimate of `server clock - local clock`, ms.
    pub fn time_offset_ms(&self) -> i64 {
        self.time_offset_ms
    }

    /// Current time on the server clock estimate, ms since the epoch.
    pub fn now_ms(&self) -> u64 {
        let local = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        local.saturating_add_signed(self.time_offset_ms)
    }

    /// Signed GET with `params` as the query string, in the given order.
    ///
    /// # Errors
    /// See the module doc; `Parse` when `result` does not match `T`.
    pub fn get<T: DeserializeOwned>(
        &mut self,
        path: &str,
        params: &[(&str, &str)],
    ) -> Result<T, VenueError> {
        let query = encode_query(params);
        let value = self.execute(Method::Get, path, &query, "")?;
        decode_result(path, value)
    }

    /// Signed POST with `body` serialized once; the same bytes are signed and sent.
    ///
    /// # Errors
    /// See the module doc; `Parse` when `result` does not match `T`.
    pub fn post<T: DeserializeOwned, B: Serialize>(
        &mut self,
        path: &str,
        body: &B,
    ) -> Result<T, VenueError> {
        let body = serde_json::to_string(body).map_err(|e| {
            VenueError::InvalidRequest(format!("cannot serialize {path} body: {e}"))
        })?;
        let value = self.execute(Method::Post, path, "", &body)?;
        decode_result(path, value)
    }

    /// Measures the server clock offset with `/v5/market/time` (one attempt,
    /// unsigned) and uses it for later timestamps. Returns the offset in ms.
    ///
    /// # Errors
    /// `Transport`, `Http`, `Api` or `Parse` when the server time is unavailable.
    pub fn sync_time(&mut self) -> Result<i64, VenueError> {
        let path = SERVER_TIME_PATH;
        let before = self.local_ms();
        let url = format!("{}{}", self.base_url, path);
        let resp = match self.agent.get(&url).call() {
            Ok(resp) => resp,
            Err(ureq::Error::Status(status, resp)) => {
                let body = self.read_body(path, 1, resp).unwrap_or_default();
                return Err(VenueError::Http {
                    path: path.into(),
                    status,
                    body,
                    attempts: 1,
                });
            }
            Err(ureq::Error::Transport(t)) => {
                return Err(VenueError::Transport {
                    path: path.into(),
                    detail: self.creds.redact(&t.to_string()),
                    attempts: 1,
                })
            }
        };
        let after = self.local_ms();
        let text = self.read_body(path, 1, resp)?;
        let envelope: Envelope = serde_json::from_str(&text)
            .map_err(|e| VenueError::parse(path, format!("not a Bybit envelope: {e}")))?;
        if envelope.ret_code != codes::OK {
            return Err(self.api_error(path, &envelope, 1));
        }
        let result: ServerTimeResult = decode_result(path, envelope.result)?;
        let server_ms = result
            .time_nano
            .parse::<u64>()
            .map(|ns| ns / 1_000_000)
            .or_else(|_| result.time_second.parse::<u64>().map(|s| s * 1000))
            .map_err(|_| VenueError::parse(path, "no usable timeNano/timeSecond"))?;
        let midpoint = before / 2 + after / 2;
        self.time_offset_ms = server_ms as i64 - midpoint as i64;
        tracing::info!(
            offset_ms = self.time_offset_ms,
            "Bybit server clock offset measured"
        );
        Ok(self.time_offset_ms)
    }

    fn local_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }

    fn execute(
        &mut self,
        method: Method,
        path: &str,
        query: &str,
        body: &str,
    ) -> Result<serde_json::Value, VenueError> {
        let deadline = Instant::now() + self.retry.deadline;
        let max_attempts = self.retry.max_attempts.max(1);
        let mut resynced = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.respect_rate_limit(path, deadline);
            tracing::debug!(method = method.as_str(), path, attempt, "Bybit request");
            let (err, wait) = match self.send_once(method, path, query, body, attempt) {
                Step::Done(value) => return Ok(value),
                Step::Fail(err) => return Err(err),
                Step::ResyncClock(err) => {
                    if resynced {
                        return Err(err);
                    }
                    resynced = true;
                    tracing::warn!(
                        path,
                        "Bybit says the timestamp is outside recv_window; resyncing clock"
                    );
                    if let Err(sync_err) = self.sync_time() {
                        tracing::warn!(path, error = %sync_err, "Bybit clock resync failed");
                        return Err(err);
                    }
                    (err, Some(Duration::ZERO))
                }
                Step::Retry { err, wait } => (err, wait),
            };
            if attempt >= max_attempts {
                tracing::warn!(path, attempt, error = %err, "Bybit request failed; retry budget spent");
                return Err(err);
            }
            let wait = wait.unwrap_or_else(|| self.backoff(attempt));
            if Instant::now() + wait > deadline {
                tracing::warn!(path, attempt, error = %err, "Bybit request failed; deadline reached");
                return Err(err);
            }
            tracing::warn!(
                path,
                attempt,
                wait_ms = wait.as_millis() as u64,
                error = %err,
                "Bybit request failed transiently; retrying"
            );
            thread::sleep(wait);
        }
    }

    fn send_once(
        &mut self,
        method: Method,
        path: &str,
        query: &str,
        body: &str,
        attempt: u32,
    ) -> Step {
        let url = if query.is_empty() {
            format!("{}{}", self.base_url, path)
        } else {
            format!("{}{}?{}", self.base_url, path, query)
        };
        let payload = match method {
            Method::Get => query,
            Method::Post => body,
        };
        let mut request = self.agent.request(method.as_str(), &url);
        for (name, value) in self
            .creds
            .headers(self.now_ms(), self.recv_window_ms, payload)
        {
            request = request.set(name, &value);
        }
        let result = match method {
            Method::Get => request.call(),
            Method::Post => request
                .set("Content-Type", "application/json")
                .send_string(body),
        };
        match result {
            Ok(resp) => self.on_ok(path, attempt, resp),
            Err(ureq::Error::Status(status, resp)) => self.on_status(path, attempt, status, resp),
            Err(ureq::Error::Transport(t)) => {
                let err = VenueError::Transport {
                    path: path.to_owned(),
                    detail: self.creds.redact(&t.to_string()),
                    attempts: attempt,
                };
                match t.kind() {
                    ureq::ErrorKind::InvalidUrl
                    | ureq::ErrorKind::UnknownScheme
                    | ureq::ErrorKind::InsecureRequestHttpsOnly
                    | ureq::ErrorKind::InvalidProxyUrl => Step::Fail(err),
                    _ => Step::Retry { err, wait: None },
                }
            }
        }
    }

    fn on_ok(&mut self, path: &str, attempt: u32, resp: ureq::Response) -> Step {
        let reset_ms = self.record_limits(path, &resp);
        let text = match self.read_body(path, attempt, resp) {
            Ok(text) => text,
            Err(err) => return Step::Retry { err, wait: None },
        };
        let envelope: Envelope = match serde_json::from_str(&text) {
            Ok(envelope) => envelope,
            Err(e) => {
                return Step::Fail(VenueError::parse(
                    path,
                    format!("not a Bybit envelope ({e}): {}", self.snippet(&text)),
                ))
            }
        };
        match envelope.ret_code {
            codes::OK => Step::Done(envelope.result),
            codes::RATE_LIMITED => Step::Retry {
                err: self.api_error(path, &envelope, attempt),
                wait: self.rate_limit_wait(reset_ms),
            },
            codes::SERVER_ERROR | codes::SERVER_TIMEOUT => Step::Retry {
                err: self.api_error(path, &envelope, attempt),
                wait: None,
            },
            codes::TIMESTAMP_OUT_OF_WINDOW => {
                Step::ResyncClock(self.api_error(path, &envelope, attempt))
            }
            _ => Step::Fail(self.api_error(path, &envelope, attempt)),
        }
    }

    fn on_status(&mut self, path: &str, attempt: u32, status: u16, resp: ureq::Response) -> Step {
        let reset_ms = self.record_limits(path, &resp);
        let text = self.read_body(path, attempt, resp).unwrap_or_default();
        let envelope = serde_json::from_str::<Envelope>(&text)
            .ok()
            .filter(|e| e.ret_code != codes::OK);
        let err = match &envelope {
            Some(envelope) => self.api_error(path, envelope, attempt),
            None => VenueError::Http {
                path: path.to_owned(),
                status,
                body: self.snippet(&text),
                attempts: attempt,
            },
        };
        match status {
            429 => Step::Retry {
                err,
                wait: self.rate_limit_wait(reset_ms),
            },
            500..=599 => Step::Retry { err, wait: None },
            _ => Step::Fail(err),
        }
    }

    fn read_body(
        &self,
        path: &str,
        attempt: u32,
        resp: ureq::Response,
    ) -> Result<String, VenueError> {
        resp.into_string().map_err(|e| VenueError::Transport {
            path: path.to_owned(),
            detail: format!("reading body: {e}"),
            attempts: attempt,
        })
    }

    fn api_error(&self, path: &str, envelope: &Envelope, attempt: u32) -> VenueError {
        VenueError::Api {
            path: path.to_owned(),
            code: envelope.ret_code,
            msg: self.snippet(&envelope.ret_msg),
            attempts: attempt,
        }
    }

    fn snippet(&self, text: &str) -> String {
        let redacted = self.creds.redact(text);
        match redacted.char_indices().nth(MAX_BODY_IN_ERROR) {
            Some((cut, _)) => format!("{}...", &redacted[..cut]),
            None => redacted,
        }
    }

    /// Remembers the endpoint's rate-limit headers; returns this response's
    /// reset timestamp (ms, server clock) if it carried one.
    fn record_limits(&mut self, path: &str, resp: &ureq::Response) -> Option<u64> {
        let remaining = resp
            .header(LIMIT_STATUS_HEADER)
            .and_then(|v| v.trim().parse().ok());
        let reset_ms = resp
            .header(LIMIT_RESET_HEADER)
            .and_then(|v| v.trim().parse().ok());
        if remaining.is_some() || reset_ms.is_some() {
            self.limits.insert(
                path.to_owned(),
                LimitState {
                    remaining,
                    reset_ms,
                },
            );
        }
        reset_ms
    }

    /// Time until the rate-limit window of this response resets, capped;
    /// `None` when the response had no reset timestamp (exponential backoff then).
    fn rate_limit_wait(&self, reset_ms: Option<u64>) -> Option<Duration> {
        let reset_ms = reset_ms?;
        let until = reset_ms.saturating_sub(self.now_ms());
        let wait = Duration::from_millis(until).min(self.retry.max_rate_limit_wait);
        Some(wait.max(self.retry.base_backoff.min(Duration::from_millis(50))))
    }

    /// Waits before sending when the last answer said no request is left in
    /// the current window, so the adapter does not spend an attempt on a 10006.
    fn respect_rate_limit(&self, path: &str, deadline: Instant) {
        let Some(LimitState {
            remaining: Some(0),
            reset_ms: Some(reset_ms),
        }) = self.limits.get(path).copied()
        else {
            return;
        };
        let until = reset_ms.saturating_sub(self.now_ms());
        if until == 0 {
            return;
        }
        let budget = deadline.saturating_duration_since(Instant::now());
        let wait = Duration::from_millis(until)
            .min(self.retry.max_rate_limit_wait)
            .min(budget);
        tracing::debug!(
            path,
            wait_ms = wait.as_millis() as u64,
            "Bybit rate-limit window exhausted; waiting"
        );
        thread::sleep(wait);
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .retry
            .base_backoff
            .saturating_mul(1u32 << (attempt - 1).min(16));
        let capped = exp.min(self.retry.max_backoff);
        let jitter = rand::thread_rng().gen_range(0.0..0.25);
        capped.mul_f64(1.0 + jitter).min(self.retry.max_backoff)
    }
}

fn decode_result<T: DeserializeOwned>(
    path: &str,
    value: serde_json::Value,
) -> Result<T, VenueError> {
    serde_json::from_value(value)
        .map_err(|e| VenueError::parse(path, format!("unexpected result shape: {e}")))
}

/// Builds `k=v&k=v` in the given order. Values keep `[A-Za-z0-9-_.~%:,]`
/// verbatim (Bybit cursors arrive percent-encoded and must be sent back as
/// they came); anything else is percent-encoded so a value cannot inject a
/// parameter. The signed string is exactly this text.
pub fn encode_query(params: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (key, value)) in params.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(key);
        out.push('=');
        for byte in value.bytes() {
            if byte.is_ascii_alphanumeric() || b"-_.~%:,".contains(&byte) {
                out.push(byte as char);
            } else {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    out
}
