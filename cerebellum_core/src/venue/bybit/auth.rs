//! Bybit v5 request signing (HMAC-SHA256) and credentials.
//!
//! Bybit v5 signs `timestamp + api_key + recv_window + payload`, where the
//! payload is the query string exactly as sent (GET) or the raw JSON body
//! exactly as sent (POST). The signature is the lowercase hex HMAC-SHA256 of
//! that string keyed with the API secret, sent in `X-BAPI-SIGN` together with
//! `X-BAPI-API-KEY`, `X-BAPI-TIMESTAMP` (ms), `X-BAPI-RECV-WINDOW` (ms) and
//! `X-BAPI-SIGN-TYPE: 2` (HMAC).
//!
//! The key and the secret never appear in `Debug`, `Display`, logs or errors.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::error::VenueError;

/// Environment variable holding the API key.
pub const API_KEY_ENV: &str = "BYBIT_API_KEY";
/// Environment variable holding the API secret.
pub const API_SECRET_ENV: &str = "BYBIT_API_SECRET";

/// Header carrying the API key.
pub const HEADER_API_KEY: &str = "X-BAPI-API-KEY";
/// Header carrying the request timestamp in ms.
pub const HEADER_TIMESTAMP: &str = "X-BAPI-TIMESTAMP";
/// Header carrying the signature.
pub const HEADER_SIGN: &str = "X-BAPI-SIGN";
/// Header naming the signature type (`2` = HMAC-SHA256).
pub const HEADER_SIGN_TYPE: &str = "X-BAPI-SIGN-TYPE";
/// Header carrying the receive window in ms.
pub const HEADER_RECV_WINDOW: &str = "X-BAPI-RECV-WINDOW";
/// `X-BAPI-SIGN-TYPE` value for HMAC-SHA256.
pub const SIGN_TYPE_HMAC: &str = "2";

const REDACTED: &str = "<redacted>";

type HmacSha256 = Hmac<Sha256>;

/// A Bybit API key pair. `Debug` and `Display` never show either half.
///
/// The secret is kept only as a keyed HMAC state, never as text.
#[derive(Clone)]
pub struct Credentials {
    api_key: String,
    mac: HmacSha256,
}

impl Credentials {
    /// Builds credentials from a key and a secret.
    ///
    /// # Errors
    /// `InvalidRequest` when either is empty or contains whitespace or control
    /// characters (they could not travel in an HTTP header).
    pub fn new(
        api_key: impl Into<String>,
        api_secret: impl Into<String>,
    ) -> Result<Self, VenueError> {
        let api_key = api_key.into();
        let api_secret = api_secret.into();
        for (what, value) in [("API key", &api_key), ("API secret", &api_secret)] {
            if value.is_empty() {
                return Err(VenueError::InvalidRequest(format!("Bybit {what} is empty")));
            }
            if !value.chars().all(|c| c.is_ascii_graphic()) {
                return Err(VenueError::InvalidRequest(format!(
                    "Bybit {what} contains whitespace or non-printable characters"
                )));
            }
        }
        let mac = keyed_mac(&api_secret)?;
        Ok(Self { api_key, mac })
    }

    /// Reads `BYBIT_API_KEY` and `BYBIT_API_SECRET`.
    ///
    /// # Errors
    /// `MissingCredentials` naming the absent variable; `InvalidRequest` for an
    /// unusable value.
    pub fn from_env() -> Result<Self, VenueError> {
        Self::from_env_vars(API_KEY_ENV, API_SECRET_ENV)
    }

    /// Reads the key and the secret from the named environment variables.
    ///
    /// # Errors
    /// As [`Credentials::from_env`].
    pub fn from_env_vars(key_var: &str, secret_var: &str) -> Result<Self, VenueError> {
        let read = |name: &str| match std::env::var(name) {
            Ok(v) if !v.trim().is_empty() => Ok(v.trim().to_owned()),
            _ => Err(VenueError::MissingCredentials(name.to_owned())),
        };
        Self::new(read(key_var)?, read(secret_var)?)
    }

    /// Signs `payload` (query string or raw body) for `timestamp_ms`.
    pub fn sign(&self, timestamp_ms: u64, recv_window_ms: u64, payload: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(sign_string(timestamp_ms, &self.api_key, recv_window_ms, payload).as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Returns the five authentication headers for one request.
    pub fn headers(
        &self,
        timestamp_ms: u64,
        recv_window_ms: u64,
        payload: &str,
    ) -> [(&'static str, String); 5] {
        [
            (HEADER_API_KEY, self.api_key.clone()),
            (HEADER_TIMESTAMP, timestamp_ms.to_string()),
            (
                HEADER_SIGN,
                self.sign(timestamp_ms, recv_window_ms, payload),
            ),
            (HEADER_SIGN_TYPE, SIGN_TYPE_HMAC.to_owned()),
            (HEADER_RECV_WINDOW, recv_window_ms.to_string()),
        ]
    }

    /// Replaces any occurrence of the API key in `text`.
    ///
    /// Bybit echoes the signed string, which contains the API key, in some
    /// `retMsg`s (`error sign! origin_string[...]`): every venue text goes
    /// through this before it reaches an error or a log line. (The secret is
    /// never sent, so the venue cannot echo it.)
    pub fn redact(&self, text: &str) -> String {
        text.replace(&self.api_key, REDACTED)
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("api_key", &REDACTED)
            .field("api_secret", &REDACTED)
            .finish()
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bybit credentials ({REDACTED})")
    }
}

/// Returns the exact string Bybit v5 signs:
/// `timestamp + api_key + recv_window + payload`.
pub fn sign_string(timestamp_ms: u64, api_key: &str, recv_window_ms: u64, payload: &str) -> String {
    format!("{timestamp_ms}{api_key}{recv_window_ms}{payload}")
}

/// Returns the lowercase hex HMAC-SHA256 of [`sign_string`] keyed with `api_secret`.
///
/// # Errors
/// `InvalidRequest` if the HMAC cannot be keyed (it accepts any key length,
/// so this does not happen in practice).
pub fn sign_payload(
    api_secret: &str,
    timestamp_ms: u64,
    api_key: &str,
    recv_window_ms: u64,
    payload: &str,
) -> Result<String, VenueError> {
    let mut mac = keyed_mac(api_secret)?;
    mac.update(sign_string(timestamp_ms, api_key, recv_window_ms, payload).as_bytes());
    Ok(hex::encode(mac.finalize().into_bytes()))
}

fn keyed_mac(api_secret: &str) -> Result<HmacSha256, VenueError> {
    HmacSha256::new_from_slice(api_secret.as_bytes())
        .map_err(|_| VenueError::InvalidRequest("Bybit API secret cannot key HMAC-SHA256".into()))
}
