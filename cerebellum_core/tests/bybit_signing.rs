//! Known-answer tests for Bybit v5 HMAC signing.
//!
//! Every expected signature below was computed outside this crate with
//! Python's standard library:
//!
//! ```text
//! python3 -c "import hmac,hashlib; print(hmac.new(SECRET.encode(),
//!     (TS + KEY + RECV_WINDOW + PAYLOAD).encode(), hashlib.sha256).hexdigest())"
//! ```
//!
//! and the first one cross-checked with
//! `printf '%s' "$SIGN_STRING" | openssl dgst -sha256 -hmac "$SECRET"`.

use cerebellum_core::venue::bybit::{
    auth::{self, Credentials},
    models::CreateOrderBody,
};

const SECRET: &str = "test-secret-NOT-REAL-0123456789";
const KEY: &str = "TESTKEY0123456789";
const TS: u64 = 1_658_384_314_791;
const RECV: u64 = 5000;
const QUERY: &str = "category=linear&symbol=BTCUSDT&orderLinkId=a1-000001";
const BODY: &str = r#"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.01","price":"63250.5","timeInForce":"GTC","reduceOnly":false,"orderLinkId":"a1-000001"}"#;

#[test]
fn test_sign_string_concatenates_timestamp_key_window_payload() {
    assert_eq!(
        auth::sign_string(TS, KEY, RECV, QUERY),
        "1658384314791TESTKEY01234567895000category=linear&symbol=BTCUSDT&orderLinkId=a1-000001"
    );
}

#[test]
fn test_sign_get_query_matches_python_hmac() {
    // python3 hmac over "1658384314791TESTKEY01234567895000" + QUERY; openssl agrees.
    let expected = "d63ed24db8d29a2372bc0a1f72e1117e6f1a89b18b00cf893ff5b8837a287bda";
    let creds = Credentials::new(KEY, SECRET).unwrap();
    assert_eq!(creds.sign(TS, RECV, QUERY), expected);
    assert_eq!(
        auth::sign_payload(SECRET, TS, KEY, RECV, QUERY).unwrap(),
        expected
    );
}

#[test]
fn test_sign_post_body_matches_python_hmac() {
    // python3 hmac over "1658384314791TESTKEY01234567895000" + BODY.
    let expected = "2fcccbdd72a349a6c2fc96d4c2f57610dd520fb2133fa6584cca7bcd5e8198b0";
    let creds = Credentials::new(KEY, SECRET).unwrap();
    assert_eq!(creds.sign(TS, RECV, BODY), expected);
}

#[test]
fn test_sign_empty_payload_matches_python_hmac() {
    // python3 hmac over "1658384314791TESTKEY01234567895000" (no payload).
    let expected = "91e03d82ff6e1cb0462c9dc34635e2b66335d348c8849569b770fbb1107cb715";
    assert_eq!(
        Credentials::new(KEY, SECRET).unwrap().sign(TS, RECV, ""),
        expected
    );
}

#[test]
fn test_sign_bybit_doc_examples_match_python_hmac() {
    // The sign strings of Bybit's v5 integration guide (GET and POST examples),
    // key "XXXXXXXXXX", with a made-up secret "YYYYYYYYYY".
    let creds = Credentials::new("XXXXXXXXXX", "YYYYYYYYYY").unwrap();
    assert_eq!(
        creds.sign(
            1_658_384_314_791,
            5000,
            "category=option&symbol=BTC-29JUL22-25000-C"
        ),
        "37813c67fafb3017e92354eb88f218e7e52a98f9f5eb74cfcf0b21f17edb143b"
    );
    assert_eq!(
        creds.sign(1_658_385_579_423, 5000, r#"{"category": "option"}"#),
        "4cbc693a498014a4d2c81ae4b7e33a28715cd1b6eec43163dc9b15acfa3c8763"
    );
}

#[test]
fn test_headers_carry_key_timestamp_signature_type_and_window() {
    let creds = Credentials::new(KEY, SECRET).unwrap();
    let headers = creds.headers(TS, RECV, QUERY);
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("X-BAPI-API-KEY"), Some(KEY));
    assert_eq!(get("X-BAPI-TIMESTAMP"), Some("1658384314791"));
    assert_eq!(
        get("X-BAPI-SIGN"),
        Some("d63ed24db8d29a2372bc0a1f72e1117e6f1a89b18b00cf893ff5b8837a287bda")
    );
    assert_eq!(get("X-BAPI-SIGN-TYPE"), Some("2"));
    assert_eq!(get("X-BAPI-RECV-WINDOW"), Some("5000"));
}

#[test]
fn test_create_order_body_serializes_to_the_signed_bytes() {
    // The adapter signs exactly what serde_json produces; field order is part of it.
    let body = CreateOrderBody {
        category: "linear",
        symbol: "BTCUSDT",
        side: "Buy",
        order_type: "Limit",
        qty: "0.01",
        price: Some("63250.5"),
        time_in_force: Some("GTC"),
        reduce_only: false,
        order_link_id: "a1-000001",
    };
    assert_eq!(serde_json::to_string(&body).unwrap(), BODY);
}

#[test]
fn test_credentials_debug_and_display_redact_key_and_secret() {
    let creds = Credentials::new(KEY, SECRET).unwrap();
    for text in [
        format!("{creds:?}"),
        format!("{creds}"),
        format!("{creds:#?}"),
    ] {
        assert!(!text.contains(KEY), "key leaked: {text}");
        assert!(!text.contains(SECRET), "secret leaked: {text}");
        assert!(text.contains("redacted"), "{text}");
    }
}

#[test]
fn test_credentials_redact_removes_key_from_venue_text() {
    let creds = Credentials::new(KEY, SECRET).unwrap();
    let msg = format!("error sign! origin_string[{TS}{KEY}{RECV}category=linear]");
    let redacted = creds.redact(&msg);
    assert!(!redacted.contains(KEY));
    assert!(redacted.contains("origin_string["));
}

#[test]
fn test_credentials_reject_empty_or_header_unsafe_values() {
    assert!(Credentials::new("", SECRET).is_err());
    assert!(Credentials::new(KEY, "").is_err());
    assert!(Credentials::new("key with space", SECRET).is_err());
    assert!(Credentials::new(KEY, "secret\nnewline").is_err());
}

#[test]
fn test_credentials_from_env_vars_reads_named_variables_and_reports_missing_ones() {
    // Unique names: tests run in parallel and share the process environment.
    std::env::set_var("CEREBELLUM_TEST_BYBIT_KEY_A", KEY);
    std::env::set_var("CEREBELLUM_TEST_BYBIT_SECRET_A", SECRET);
    let creds = Credentials::from_env_vars(
        "CEREBELLUM_TEST_BYBIT_KEY_A",
        "CEREBELLUM_TEST_BYBIT_SECRET_A",
    )
    .unwrap();
    assert_eq!(
        creds.sign(TS, RECV, QUERY),
        Credentials::new(KEY, SECRET).unwrap().sign(TS, RECV, QUERY)
    );

    let err =
        Credentials::from_env_vars("CEREBELLUM_TEST_BYBIT_KEY_A", "CEREBELLUM_TEST_BYBIT_UNSET")
            .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("CEREBELLUM_TEST_BYBIT_UNSET"), "{text}");
    assert!(!text.contains(KEY));
}
