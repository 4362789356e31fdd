use super::*;
use crate::source::coinglass::wire::OiExchangeRow;

fn d(status: u16, body: &str) -> Result<Vec<OiExchangeRow>, ApiError> {
    decode("/p", status, body.as_bytes())
}

#[test]
fn classifies_codes_over_http_200() {
    assert!(matches!(
        d(
            200,
            r#"{"code":"400","msg":"Required String parameter 'range' is not present"}"#
        ),
        Err(ApiError::BadRequest { .. })
    ));
    assert!(matches!(
        d(200, r#"{"code":"401","msg":"Upgrade plan"}"#),
        Err(ApiError::PlanGated { .. })
    ));
    assert!(matches!(
        d(200, r#"{"code":"401","msg":"API key missing"}"#),
        Err(ApiError::Unauthorized { .. })
    ));
    assert!(matches!(
        d(200, r#"{"code":"403"}"#),
        Err(ApiError::PlanGated { .. })
    ));
    assert!(matches!(
        d(200, r#"{"code":429}"#),
        Err(ApiError::RateLimited { .. })
    ));
    assert!(matches!(
        d(200, r#"{"code":"500","msg":"Server Error"}"#),
        Err(ApiError::Transient { .. })
    ));
    assert!(matches!(
        d(200, r#"{"code":"x9"}"#),
        Err(ApiError::BadRequest { .. })
    ));
}

#[test]
fn classifies_http_statuses() {
    assert!(matches!(d(401, ""), Err(ApiError::Unauthorized { .. })));
    assert!(matches!(d(403, "{}"), Err(ApiError::PlanGated { .. })));
    assert!(matches!(d(404, "<html>"), Err(ApiError::BadRequest { .. })));
    assert!(matches!(d(429, ""), Err(ApiError::RateLimited { .. })));
    assert!(matches!(d(503, ""), Err(ApiError::Transient { .. })));
    // HTTP 200 is not enough: code "0" is also required.
    assert!(matches!(
        d(200, r#"{"msg":"ok"}"#),
        Err(ApiError::Malformed { .. })
    ));
}

#[test]
fn null_or_missing_data_is_an_empty_list() {
    assert_eq!(
        d(200, r#"{"code":"0","data":null}"#).map(|v| v.len()),
        Ok(0)
    );
    assert_eq!(d(200, r#"{"code":"0"}"#).map(|v| v.len()), Ok(0));
}

#[test]
fn body_head_is_bounded_and_char_safe() {
    let long = "é".repeat(300);
    let h = body_head(long.as_bytes());
    assert!(h.len() <= BODY_HEAD_BYTES);
    assert!(h.starts_with("éé"));
}

#[test]
fn backoff_grows_and_is_capped() {
    let c = CoinGlassClient::new(
        "http://127.0.0.1:9",
        SecretString::from("k-123456"),
        ClientOptions::default(),
    )
    .unwrap();
    for attempt in 1..10 {
        let exp = Duration::from_millis(500)
            .saturating_mul(2u32.pow(attempt - 1))
            .min(Duration::from_secs(8));
        let b = c.backoff(attempt);
        assert!(b >= exp / 2 && b <= exp, "attempt {attempt}: {b:?}");
    }
}

#[test]
fn rejects_empty_keys_and_bad_base_urls() {
    let o = ClientOptions::default();
    assert!(matches!(
        CoinGlassClient::new("http://x", SecretString::from(" "), o.clone()),
        Err(ApiError::Unauthorized { .. })
    ));
    assert!(matches!(
        CoinGlassClient::new("not a url", SecretString::from("k"), o),
        Err(ApiError::BadRequest { .. })
    ));
}

/// `{"code": code, "msg": msg}` over `status`.
fn answer(status: u16, code: &str, msg: &str) -> ApiError {
    let body = serde_json::json!({"code": code, "msg": msg}).to_string();
    d(status, &body).unwrap_err()
}

#[test]
fn a_refused_key_is_unauthorized_whatever_the_code() {
    for (status, code, msg) in [
        // The quickstart lists 400 for "invalid parameters or API key".
        (200, "400", "Invalid API key"),
        (200, "400", "invalid parameters or API key"),
        (200, "400", "API key is missing"),
        (200, "400", "apiKey error"),
        (200, "400", "CG-API-KEY header is required"),
        (200, "400", "The API key does not exist"),
        (400, "400", "api_key invalid"),
        (200, "403", "Invalid secret"),
        (403, "403", "API key disabled"),
        (200, "403", "Your subscription has expired"),
        (200, "401", "Unauthorized"),
        (200, "401", "API key missing"),
        (401, "", ""),
        (200, "AUTH_FAILED", "invalid api key"),
    ] {
        let e = answer(status, code, msg);
        assert!(
            matches!(e, ApiError::Unauthorized { .. }),
            "HTTP {status} code {code:?} {msg:?}: {e}"
        );
        assert!(e.is_fatal());
        assert!(!e.is_retryable());
    }
}

#[test]
fn a_parameter_problem_stays_a_bad_request() {
    for (status, code, msg) in [
        (
            200,
            "400",
            "Required String parameter 'range' is not present",
        ),
        (200, "400", "Invalid parameter: interval"),
        (200, "400", "symbol BTCUSDT not supported"),
        (200, "400", "exchange_list must not be empty"),
        (200, "422", "start_time must be before end_time"),
        (400, "400", ""),
        (404, "", "Not Found"),
        (200, "x9", ""),
    ] {
        let e = answer(status, code, msg);
        assert!(
            matches!(e, ApiError::BadRequest { .. }),
            "HTTP {status} code {code:?} {msg:?}: {e}"
        );
        assert!(!e.is_fatal() && !e.is_retryable());
    }
}

#[test]
fn an_upgrade_plan_answer_is_a_plan_gate_whatever_the_code() {
    for (status, code, msg) in [
        (200, "401", "Upgrade plan"),
        (200, "400", "Upgrade plan"),
        (200, "403", "Upgrade plan"),
        (200, "500", "Upgrade plan"),
        (200, "404", "upgrade plan"),
        (500, "500", "Upgrade plan"),
        (200, "403", "interval not allowed"),
        (403, "", ""),
        (
            200,
            "400",
            "This interval requires a higher subscription level",
        ),
        (
            200,
            "401",
            "API key has no permission for this endpoint, please upgrade",
        ),
    ] {
        let e = answer(status, code, msg);
        assert!(
            matches!(e, ApiError::PlanGated { .. }),
            "HTTP {status} code {code:?} {msg:?}: {e}"
        );
        assert!(!e.is_fatal() && !e.is_retryable());
    }
}

#[test]
fn rate_limits_and_server_errors_are_never_read_as_a_refused_key() {
    let e = answer(
        200,
        "429",
        "Too many requests, upgrade your plan for a higher limit",
    );
    assert!(matches!(e, ApiError::RateLimited { .. }), "{e}");
    let e = answer(429, "", "");
    assert!(matches!(e, ApiError::RateLimited { .. }), "{e}");
    for (status, code, msg) in [
        (200, "500", "authentication service unavailable"),
        (503, "", "API key store unavailable"),
        (200, "500", "Server Error"),
        (408, "", ""),
    ] {
        let e = answer(status, code, msg);
        assert!(
            matches!(e, ApiError::Transient { .. }),
            "HTTP {status} code {code:?} {msg:?}: {e}"
        );
    }
}

#[test]
fn retry_after_reads_seconds_only() {
    assert_eq!(parse_retry_after("12"), Some(Duration::from_secs(12)));
    assert_eq!(
        parse_retry_after(" 1.5 "),
        Some(Duration::from_millis(1500))
    );
    assert_eq!(parse_retry_after("0"), Some(Duration::ZERO));
    assert_eq!(parse_retry_after("-3"), None);
    assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    assert_eq!(parse_retry_after("NaN"), None);
}

#[test]
fn a_rate_limit_error_says_how_long_everything_waits() {
    let e = answer(429, "", "").with_pause(Duration::from_millis(41_200));
    assert!(e.to_string().contains("waits 42 s"), "{e}");
    let other = answer(200, "500", "Server Error");
    assert_eq!(other.clone().with_pause(Duration::from_secs(5)), other);
}

/// A background clone waits while the key's window has no more than its reserve to spare, and
/// goes as soon as the window clears; a foreground client never waits for it.
#[tokio::test(start_paused = true)]
async fn background_requests_leave_the_reserve_to_the_live_polls() {
    let client = CoinGlassClient::new(
        "http://127.0.0.1:9",
        SecretString::from("k"),
        ClientOptions::default(),
    )
    .unwrap();
    client.limiter().set_plan_limit(30); // 27 allowed per window
    let background = client.background(10);
    // 17 used: 17 + 10 reserved = 27, nothing to spare.
    for _ in 0..17 {
        client.limiter().acquire().await.answered();
    }
    let waited = tokio::time::timeout(Duration::from_secs(30), background.give_way()).await;
    assert!(waited.is_err(), "must wait while the reserve is not free");
    client.give_way().await; // the foreground never waits
    let waited = tokio::time::timeout(Duration::from_secs(40), background.give_way()).await;
    assert!(
        waited.is_ok(),
        "the window cleared: the background request goes"
    );
    assert_eq!(client.limiter().used_this_minute(), 0);

    // A reserve larger than the whole window still lets one background request through when
    // the window is empty.
    client.background(1000).give_way().await;
}
