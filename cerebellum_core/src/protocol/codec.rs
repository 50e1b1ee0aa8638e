//! Decoding of command frames: size limit, JSON, version, type dispatch and
//! field validation. Every failure is a [`DecodeError`] carrying the reject
//! code and whatever of `req_id` / `client_order_id` could be read; nothing
//! here panics on input.

use serde_json::{Map, Value};

use super::commands::{Command, Filter, NewOrder, Request, Scope, TradingState};
use crate::types::{OrderType, RejectCode, Side, TimeInForce};

/// The protocol version this core speaks.
pub const PROTOCOL_VERSION: u64 = 1;

/// Longest `client_order_id`.
pub const MAX_ID_LEN: usize = 64;

/// Why a frame could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// The frame's `req_id`, if it could be read.
    pub req_id: Option<i64>,
    /// The frame's `client_order_id`, if it could be read.
    pub client_order_id: Option<String>,
    /// Wire code.
    pub code: RejectCode,
    /// Human explanation.
    pub reason: String,
}

struct Fields<'a> {
    obj: &'a Map<String, Value>,
    req_id: Option<i64>,
    client_order_id: Option<String>,
}

impl<'a> Fields<'a> {
    fn err(&self, code: RejectCode, reason: impl Into<String>) -> DecodeError {
        DecodeError {
            req_id: self.req_id,
            client_order_id: self.client_order_id.clone(),
            code,
            reason: reason.into(),
        }
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.obj.get(name).filter(|v| !v.is_null())
    }

    fn req_str(&self, name: &str) -> Result<&'a str, DecodeError> {
        match self.get(name) {
            None => Err(self.err(RejectCode::MissingField, format!("missing field `{name}`"))),
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(self.err(
                RejectCode::InvalidValue,
                format!("`{name}` must be a string"),
            )),
        }
    }

    fn opt_str(&self, name: &str) -> Result<Option<&'a str>, DecodeError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.err(
                RejectCode::InvalidValue,
                format!("`{name}` must be a string or null"),
            )),
        }
    }

    fn opt_bool(&self, name: &str) -> Result<bool, DecodeError> {
        match self.get(name) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(self.err(
                RejectCode::InvalidValue,
                format!("`{name}` must be a boolean"),
            )),
        }
    }

    fn positive_number(&self, name: &str, value: &Value) -> Result<f64, DecodeError> {
        let Some(x) = value.as_f64() else {
            return Err(self.err(
                RejectCode::InvalidValue,
                format!("`{name}` must be a number"),
            ));
        };
        if !x.is_finite() || x <= 0.0 {
            return Err(self.err(
                RejectCode::InvalidValue,
                format!("`{name}` must be positive and finite, got {x}"),
            ));
        }
        Ok(x)
    }

    fn name(&self, name: &str, max_len: usize) -> Result<String, DecodeError> {
        let s = self.req_str(name)?;
        check_name(s, max_len)
            .map_err(|why| self.err(RejectCode::InvalidValue, format!("`{name}` {why}")))?;
        Ok(s.to_owned())
    }

    fn opt_name(&self, name: &str, max_len: usize) -> Result<Option<String>, DecodeError> {
        match self.opt_str(name)? {
            None => Ok(None),
            Some(s) => {
                check_name(s, max_len)
                    .map_err(|why| self.err(RejectCode::InvalidValue, format!("`{name}` {why}")))?;
                Ok(Some(s.to_owned()))
            }
        }
    }
}

/// Whether `id` is a legal client order id: 1–64 chars of `[A-Za-z0-9._:-]`.
pub fn is_valid_client_order_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

fn check_name(s: &str, max_len: usize) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if s.len() > max_len {
        return Err(format!("is longer than {max_len} bytes"));
    }
    if s.chars().any(char::is_control) {
        return Err("contains control characters".into());
    }
    Ok(())
}

/// Decodes one command frame.
///
/// # Errors
/// [`DecodeError`] with the reject code of `docs/protocol.md`.
pub fn decode(frame: &[u8], max_bytes: usize) -> Result<Request, DecodeError> {
    let bare = |code, reason: String| DecodeError {
        req_id: None,
        client_order_id: None,
        code,
        reason,
    };
    if frame.len() > max_bytes {
        return Err(bare(
            RejectCode::Oversized,
            format!(
                "frame of {} bytes exceeds the limit of {max_bytes}",
                frame.len()
            ),
        ));
    }
    let value: Value = serde_json::from_slice(frame)
        .map_err(|e| bare(RejectCode::Malformed, format!("not valid JSON: {e}")))?;
    let Value::Object(obj) = &value else {
        return Err(bare(
            RejectCode::Malformed,
            "frame is not a JSON object".into(),
        ));
    };
    let req_id = obj.get("req_id").and_then(Value::as_i64);
    let client_order_id = obj
        .get("client_order_id")
        .and_then(Value::as_str)
        .filter(|s| is_valid_client_order_id(s))
        .map(str::to_owned);
    let f = Fields {
        obj,
        req_id,
        client_order_id,
    };
    match f.get("v") {
        None => return Err(f.err(RejectCode::MissingField, "missing field `v`")),
        Some(v) if v.as_u64() == Some(PROTOCOL_VERSION) => {}
        Some(v) => {
            return Err(f.err(
                RejectCode::UnsupportedVersion,
                format!(
                    "protocol version {v} is not supported (this core speaks {PROTOCOL_VERSION})"
                ),
            ))
        }
    }
    let kind = f.req_str("type")?;
    let command = match kind {
        "Hello" => Command::Hello {
            client: f.opt_str("client")?.map(|s| s.chars().take(128).collect()),
        },
        "NewOrder" => Command::NewOrder(decode_new_order(&f)?),
        "Cancel" => Command::Cancel {
            client_order_id: client_order_id_field(&f)?,
        },
        "CancelAll" => Command::CancelAll(decode_filter(&f)?),
        "Flatten" => Command::Flatten(decode_filter(&f)?),
        "KillSwitch" => {
            let scope = decode_scope(&f)?;
            let state = match f.req_str("state")? {
                "HALTED" => TradingState::Halted,
                "REDUCING" => TradingState::Reducing,
                other => {
                    return Err(f.err(
                        RejectCode::InvalidValue,
                        format!("`state` must be HALTED or REDUCING (use Resume to reactivate), got {other:?}"),
                    ))
                }
            };
            let reason = f.opt_str("reason")?.map(|s| s.chars().take(256).collect());
            Command::KillSwitch {
                scope,
                state,
                reason,
            }
        }
        "Resume" => Command::Resume {
            scope: decode_scope(&f)?,
        },
        "Heartbeat" => {
            let ts_init = match f.get("ts_init") {
                None => None,
                Some(v) => Some(v.as_i64().ok_or_else(|| {
                    f.err(
                        RejectCode::InvalidValue,
                        "`ts_init` must be an integer (ns)",
                    )
                })?),
            };
            let loop_age_ms = match f.get("loop_age_ms") {
                None => 0,
                Some(v) => match v.as_f64() {
                    Some(x) if x.is_finite() && x >= 0.0 => x.min(u64::MAX as f64) as u64,
                    _ => {
                        return Err(f.err(
                            RejectCode::InvalidValue,
                            "`loop_age_ms` must be a non-negative number",
                        ))
                    }
                },
            };
            Command::Heartbeat {
                ts_init,
                loop_age_ms,
            }
        }
        "Snapshot" => Command::Snapshot,
        "QueryOrder" => Command::QueryOrder {
            client_order_id: client_order_id_field(&f)?,
        },
        "ReplayReports" => {
            let from_seq = match f.get("from_seq") {
                None => return Err(f.err(RejectCode::MissingField, "missing field `from_seq`")),
                Some(v) => v.as_u64().ok_or_else(|| {
                    f.err(
                        RejectCode::InvalidValue,
                        "`from_seq` must be a non-negative integer",
                    )
                })?,
            };
            Command::ReplayReports { from_seq }
        }
        "Bars" => decode_bars(&f)?,
        other => {
            let shown: String = other.chars().take(64).collect();
            return Err(f.err(
                RejectCode::UnknownType,
                format!("unknown command type {shown:?}"),
            ));
        }
    };
    let req_id = match f.get("req_id") {
        None => return Err(f.err(RejectCode::MissingField, "missing field `req_id`")),
        Some(v) => v
            .as_i64()
            .ok_or_else(|| f.err(RejectCode::InvalidValue, "`req_id` must be an integer"))?,
    };
    Ok(Request { req_id, command })
}

fn client_order_id_field(f: &Fields<'_>) -> Result<String, DecodeError> {
    let id = f.req_str("client_order_id")?;
    if !is_valid_client_order_id(id) {
        return Err(f.err(
            RejectCode::InvalidValue,
            "`client_order_id` must be 1-64 characters of [A-Za-z0-9._:-]",
        ));
    }
    Ok(id.to_owned())
}

fn decode_new_order(f: &Fields<'_>) -> Result<NewOrder, DecodeError> {
    let client_order_id = client_order_id_field(f)?;
    let strategy_id = f.name("strategy_id", 128)?;
    let symbol = f.name("symbol", 64)?;
    let side_text = f.req_str("side")?;
    let side = Side::parse(side_text).ok_or_else(|| {
        f.err(
            RejectCode::InvalidValue,
            format!("`side` must be BUY or SELL, got {side_text:?}"),
        )
    })?;
    let type_text = f.req_str("order_type")?;
    let order_type = OrderType::parse(type_text).ok_or_else(|| {
        f.err(
            RejectCode::InvalidValue,
            format!("`order_type` must be MARKET or LIMIT, got {type_text:?}"),
        )
    })?;
    let price = match (order_type, f.get("price")) {
        (OrderType::Limit, None) => {
            return Err(f.err(
                RejectCode::MissingField,
                "missing field `price` (required for LIMIT)",
            ))
        }
        (OrderType::Limit, Some(v)) => Some(f.positive_number("price", v)?),
        (OrderType::Market, None) => None,
        (OrderType::Market, Some(_)) => {
            return Err(f.err(
                RejectCode::InvalidValue,
                "`price` must be absent or null for MARKET",
            ))
        }
    };
    let qty = match f.get("qty") {
        None => return Err(f.err(RejectCode::MissingField, "missing field `qty`")),
        Some(v) => f.positive_number("qty", v)?,
    };
    let time_in_force = match f.opt_str("time_in_force")? {
        None => TimeInForce::Gtc,
        Some(t) => TimeInForce::parse(t).ok_or_else(|| {
            f.err(
                RejectCode::InvalidValue,
                format!("`time_in_force` must be GTC or IOC, got {t:?}"),
            )
        })?,
    };
    let post_only = f.opt_bool("post_only")?;
    let reduce_only = f.opt_bool("reduce_only")?;
    if post_only && order_type == OrderType::Market {
        return Err(f.err(
            RejectCode::InvalidValue,
            "`post_only` is only valid for LIMIT orders",
        ));
    }
    if post_only && time_in_force == TimeInForce::Ioc {
        return Err(f.err(
            RejectCode::InvalidValue,
            "`post_only` cannot be combined with IOC",
        ));
    }
    Ok(NewOrder {
        client_order_id,
        strategy_id,
        symbol,
        side,
        order_type,
        price,
        qty,
        time_in_force,
        post_only,
        reduce_only,
    })
}

/// The only bar timeframe the core serves.
pub const BAR_TIMEFRAME: &str = "1m";

fn decode_bars(f: &Fields<'_>) -> Result<Command, DecodeError> {
    let symbol = f.name("symbol", 64)?;
    match f.opt_str("timeframe")? {
        None | Some(BAR_TIMEFRAME) => {}
        Some(other) => {
            let shown: String = other.chars().take(16).collect();
            return Err(f.err(
                RejectCode::InvalidValue,
                format!("`timeframe` must be \"1m\", got {shown:?}"),
            ));
        }
    }
    let limit = match f.get("limit") {
        None => return Err(f.err(RejectCode::MissingField, "missing field `limit`")),
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => usize::try_from(n)
                .unwrap_or(usize::MAX)
                .min(crate::venue::MAX_BARS),
            _ => {
                return Err(f.err(
                    RejectCode::InvalidValue,
                    "`limit` must be a positive integer",
                ))
            }
        },
    };
    let before_ms = match f.get("before_ms") {
        None => None,
        Some(v) => match v.as_i64() {
            Some(ms) if ms >= 0 => Some(ms),
            _ => {
                return Err(f.err(
                    RejectCode::InvalidValue,
                    "`before_ms` must be a non-negative integer (ms since the epoch)",
                ))
            }
        },
    };
    Ok(Command::Bars {
        symbol,
        limit,
        before_ms,
    })
}

fn decode_filter(f: &Fields<'_>) -> Result<Filter, DecodeError> {
    Ok(Filter {
        strategy_id: f.opt_name("strategy_id", 128)?,
        symbol: f.opt_name("symbol", 64)?,
    })
}

fn decode_scope(f: &Fields<'_>) -> Result<Scope, DecodeError> {
    let kind = f.req_str("scope")?;
    let target = || -> Result<String, DecodeError> {
        f.opt_name("target", 128)?.ok_or_else(|| {
            f.err(
                RejectCode::MissingField,
                format!("missing field `target` (required for scope {kind})"),
            )
        })
    };
    match kind {
        "GLOBAL" => Ok(Scope::Global),
        "STRATEGY" => Ok(Scope::Strategy(target()?)),
        "SYMBOL" => Ok(Scope::Symbol(target()?)),
        other => Err(f.err(
            RejectCode::InvalidValue,
            format!("`scope` must be GLOBAL, STRATEGY or SYMBOL, got {other:?}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(frame: &str) -> RejectCode {
        decode(frame.as_bytes(), 65_536).unwrap_err().code
    }

    #[test]
    fn new_order_decodes_with_defaults() {
        let req = decode(
            br#"{"v":1,"type":"NewOrder","req_id":2,"client_order_id":"a1-000001","strategy_id":"agent-btc-1",
                "symbol":"BTC/USDT","side":"BUY","order_type":"LIMIT","price":63250.5,"qty":0.01}"#,
            65_536,
        )
        .unwrap();
        assert_eq!(req.req_id, 2);
        let Command::NewOrder(o) = req.command else {
            panic!("not a NewOrder")
        };
        assert_eq!(o.time_in_force, TimeInForce::Gtc);
        assert!(!o.post_only && !o.reduce_only);
        assert_eq!(o.price, Some(63250.5));
    }

    #[test]
    fn each_malformation_maps_to_its_code() {
        assert_eq!(code("{"), RejectCode::Malformed);
        assert_eq!(code("[1,2]"), RejectCode::Malformed);
        assert_eq!(
            code(r#"{"type":"Hello","req_id":1}"#),
            RejectCode::MissingField
        );
        assert_eq!(
            code(r#"{"v":2,"type":"Hello","req_id":1}"#),
            RejectCode::UnsupportedVersion
        );
        assert_eq!(
            code(r#"{"v":1.5,"type":"Hello","req_id":1}"#),
            RejectCode::UnsupportedVersion
        );
        assert_eq!(
            code(r#"{"v":1,"type":"Launch","req_id":1}"#),
            RejectCode::UnknownType
        );
        assert_eq!(
            code(r#"{"v":1,"type":"Ack","req_id":1}"#),
            RejectCode::UnknownType
        );
        assert_eq!(code(r#"{"v":1,"type":"Hello"}"#), RejectCode::MissingField);
        assert_eq!(
            code(r#"{"v":1,"type":"Hello","req_id":"x"}"#),
            RejectCode::InvalidValue
        );
        assert_eq!(
            code(r#"{"v":1,"type":"Cancel","req_id":1,"client_order_id":"bad id!"}"#),
            RejectCode::InvalidValue
        );
        assert_eq!(
            code(
                r#"{"v":1,"type":"NewOrder","req_id":1,"client_order_id":"a","strategy_id":"s",
                "symbol":"BTC/USDT","side":"BUY","order_type":"MARKET","price":1.0,"qty":1}"#
            ),
            RejectCode::InvalidValue
        );
        assert_eq!(
            code(
                r#"{"v":1,"type":"NewOrder","req_id":1,"client_order_id":"a","strategy_id":"s",
                "symbol":"BTC/USDT","side":"BUY","order_type":"LIMIT","qty":-1,"price":5}"#
            ),
            RejectCode::InvalidValue
        );
        assert_eq!(
            code(r#"{"v":1,"type":"KillSwitch","req_id":1,"scope":"STRATEGY","state":"HALTED"}"#),
            RejectCode::MissingField
        );
    }

    #[test]
    fn bars_decodes_and_caps_the_limit() {
        let req = decode(
            br#"{"v":1,"type":"Bars","req_id":3,"symbol":"BTC/USDT","timeframe":"1m","limit":5000}"#,
            65_536,
        )
        .unwrap();
        assert_eq!(
            req.command,
            Command::Bars {
                symbol: "BTC/USDT".into(),
                limit: crate::venue::MAX_BARS,
                before_ms: None,
            }
        );
        assert_eq!(crate::venue::MAX_BARS, 3000);
        let paged = decode(
            br#"{"v":1,"type":"Bars","req_id":4,"symbol":"BTC/USDT","limit":1000,"before_ms":1717199820000}"#,
            65_536,
        )
        .unwrap();
        assert_eq!(
            paged.command,
            Command::Bars {
                symbol: "BTC/USDT".into(),
                limit: 1000,
                before_ms: Some(1_717_199_820_000),
            }
        );
        for bad in ["-1", "1.5", "\"soon\""] {
            assert_eq!(
                code(&format!(
                    r#"{{"v":1,"type":"Bars","req_id":3,"symbol":"BTC/USDT","limit":5,"before_ms":{bad}}}"#
                )),
                RejectCode::InvalidValue,
                "{bad}"
            );
        }
        assert_eq!(
            code(
                r#"{"v":1,"type":"Bars","req_id":3,"symbol":"BTC/USDT","timeframe":"5m","limit":5}"#
            ),
            RejectCode::InvalidValue
        );
        assert_eq!(
            code(r#"{"v":1,"type":"Bars","req_id":3,"symbol":"BTC/USDT","limit":0}"#),
            RejectCode::InvalidValue
        );
        assert_eq!(
            code(r#"{"v":1,"type":"Bars","req_id":3,"symbol":"BTC/USDT"}"#),
            RejectCode::MissingField
        );
    }

    #[test]
    fn oversized_frame_is_refused_before_parsing() {
        let frame = vec![b' '; 70_000];
        assert_eq!(
            decode(&frame, 65_536).unwrap_err().code,
            RejectCode::Oversized
        );
    }

    #[test]
    fn reject_echoes_req_id_and_client_order_id_when_readable() {
        let err = decode(
            br#"{"v":1,"type":"NewOrder","req_id":9,"client_order_id":"x-1"}"#,
            65_536,
        )
        .unwrap_err();
        assert_eq!(err.req_id, Some(9));
        assert_eq!(err.client_order_id.as_deref(), Some("x-1"));
    }
}
