//! Contract tests of the CoinGlass V4 client and the live source against local mock servers that
//! answer in V4 shapes (see `docs/coinglass-v4.md`). Nothing here reaches a real host.

mod common;

use chrono::{DateTime, TimeZone, Utc};
use common::{requests_to, Logs};
use perpwatch::model::{GapReason, Margin};
use perpwatch::source::coinglass::{
    paths, ApiError, ClientOptions, CoinGlassClient, HistoryQuery, LiveConfig, LiveSource,
    LongShortKind, MarketsMode, Plan,
};
use secrecy::SecretString;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const KEY: &str = "cg-secret-key-0123456789abcdef";

/// Quick retries; timeouts generous enough that a loaded CI machine does not turn a slow local
/// answer into a failure (tests of hung servers set their own short timeout).
fn fast() -> ClientOptions {
    ClientOptions {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        max_attempts: 3,
        backoff_base: Duration::from_millis(5),
        backoff_cap: Duration::from_millis(20),
        rate_window: Duration::from_secs(60),
    }
}

fn key() -> SecretString {
    SecretString::from(KEY)
}

fn client(server: &MockServer) -> CoinGlassClient {
    CoinGlassClient::new(server.uri(), key(), fast()).unwrap()
}

/// A V4 success envelope without `msg` (it is optional) and with an unknown top-level key.
fn ok(data: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"code": "0", "data": data, "success": true}))
}

fn code(code: &str, msg: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"code": code, "msg": msg}))
}

async fn mount(server: &MockServer, p: &str, resp: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(p))
        .respond_with(resp)
        .mount(server)
        .await;
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

// ---------------------------------------------------------------------------------------------
// Endpoint wrappers
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn funding_list_sends_the_key_and_reads_strings_nulls_and_the_coin_margin_alias() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(paths::FUNDING_EXCHANGE_LIST))
        .and(header("CG-API-KEY", KEY))
        .and(header("accept", "application/json"))
        .respond_with(ok(json!([{
            "symbol": "BTC",
            "stablecoin_margin_list": [
                {"exchange": "BINANCE", "funding_rate": "0.0100", "funding_rate_interval": "8",
                 "next_funding_time": "1735718400000"},
                {"exchange": "Bybit", "funding_rate": null, "funding_rate_interval": 1},
                {"exchange": "OKX", "funding_rate": "", "funding_rate_interval": 4}
            ],
            "coin_margin_list": [{"exchange": "Binance", "funding_rate": 0.005, "funding_rate_interval": 8}]
        }])))
        .expect(1)
        .mount(&server)
        .await;
    let rows = client(&server).funding_exchange_list().await.unwrap();
    let btc = &rows[0];
    assert_eq!(btc.symbol, "BTC");
    let s = &btc.stablecoin_margin_list;
    assert_eq!(s[0].funding_rate, Some(0.01));
    assert_eq!(s[0].funding_rate_interval, Some(8.0));
    assert_eq!(s[0].next_funding_time, Some(1_735_718_400_000));
    assert_eq!(s[1].funding_rate, None, "null is absent, not 0");
    assert_eq!(s[2].funding_rate, None, "empty string is absent, not 0");
    assert_eq!(btc.token_rows()[0].funding_rate, Some(0.005));
}

#[tokio::test]
async fn snapshot_list_endpoints_send_v4_parameters() {
    let server = MockServer::start().await;
    Mock::given(path(paths::OI_EXCHANGE_LIST))
        .and(query_param("symbol", "BTC"))
        .respond_with(ok(json!([
            {"exchange": "ALL", "symbol": "BTC", "open_interest_usd": "57000000000.5",
             "open_interest_change_percent_1h": "-1.25", "open_interest_change_percent_24h": 3.1},
            {"exchange": "BINANCE", "open_interest_usd": 20000000000u64}
        ])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path(paths::LIQUIDATION_EXCHANGE_LIST))
        .and(query_param("symbol", "BTC"))
        .and(query_param("range", "1h"))
        .respond_with(ok(json!([
            {"exchange": "All", "liquidation_usd": 3000000, "long_liquidation_usd": "1000000",
             "short_liquidation_usd": 2000000}
        ])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path(paths::TAKER_EXCHANGE_LIST))
        .and(query_param("symbol", "BTC"))
        .and(query_param("range", "1h"))
        .respond_with(ok(json!({
            "symbol": "BTC", "buy_ratio": "52.4", "sell_ratio": 47.6, "buy_vol_usd": "524000000",
            "sell_vol_usd": 476000000,
            "exchange_list": [{"exchange": "BINANCE", "buy_ratio": 51.0, "sell_ratio": "49"}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path(paths::PAIRS_MARKETS))
        .and(query_param("symbol", "BTC"))
        .respond_with(ok(json!([
            {"instrument_id": "BTCUSDT", "exchange_name": "BINANCE", "symbol": "BTC/USDT",
             "current_price": "97000.5", "price_change_percent_24h": "-2.1",
             "open_interest_usd": 9e9, "funding_rate": "0.01", "long_liquidation_usd_24h": null}
        ])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path(paths::COINS_MARKETS))
        .and(query_param("page", "2"))
        .and(query_param("per_page", "100"))
        .respond_with(ok(json!([
            {"symbol": "BTC", "current_price": 97000, "open_interest_usd": "5.7e10",
             "price_change_percent_1h": "0.4", "long_liquidation_usd_1h": 1.5e6,
             "short_liquidation_usd_1h": "2.5e6", "avg_funding_rate_by_oi": "0.008"}
        ])))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);

    let oi = c.oi_exchange_list("BTC").await.unwrap();
    assert_eq!(oi[0].exchange, "ALL");
    assert_eq!(oi[0].open_interest_usd, Some(57_000_000_000.5));
    assert_eq!(oi[0].open_interest_change_percent_1h, Some(-1.25));
    assert_eq!(oi[0].open_interest_change_percent_5m, None);
    assert_eq!(oi[1].open_interest_usd, Some(2e10));

    let liq = c.liquidation_exchange_list("BTC", "1h").await.unwrap();
    assert_eq!(liq[0].long_liquidation_usd, Some(1e6));
    assert_eq!(liq[0].short_liquidation_usd, Some(2e6));

    let taker = c.taker_exchange_list("BTC", "1h").await.unwrap();
    assert_eq!(taker.buy_ratio, Some(52.4));
    assert_eq!(taker.sell_vol_usd, Some(4.76e8));
    assert_eq!(taker.exchange_list[0].sell_ratio, Some(49.0));

    let pairs = c.pairs_markets("BTC").await.unwrap();
    assert_eq!(pairs[0].current_price, Some(97000.5));
    assert_eq!(pairs[0].price_change_percent_24h, Some(-2.1));
    assert_eq!(pairs[0].long_liquidation_usd_24h, None);

    let markets = c.coins_markets(2, 100).await.unwrap();
    assert_eq!(markets[0].open_interest_usd, Some(5.7e10));
    assert_eq!(markets[0].short_liquidation_usd_1h, Some(2.5e6));
    assert_eq!(markets[0].price_change_percent_1h, Some(0.4));
}

#[tokio::test]
async fn history_endpoints_send_pair_or_coin_and_read_string_bars() {
    let server = MockServer::start().await;
    for (kind, prefix) in [
        (LongShortKind::GlobalAccount, "global_account"),
        (LongShortKind::TopAccount, "top_account"),
        (LongShortKind::TopPosition, "top_position"),
    ] {
        Mock::given(path(kind.path()))
            .and(query_param("exchange", "Binance"))
            .and(query_param("symbol", "BTCUSDT"))
            .and(query_param("interval", "4h"))
            .and(query_param("limit", "2"))
            .respond_with(ok(json!([
                {"time": 1735689600000u64, format!("{prefix}_long_percent"): "60.5",
                 format!("{prefix}_short_percent"): 39.5, format!("{prefix}_long_short_ratio"): "1.53"}
            ])))
            .expect(1)
            .mount(&server)
            .await;
    }
    let ohlc = json!([{"time": "1735689600000", "open": "1.5", "high": "2", "low": "1", "close": "1.75"},
                      {"time": 1735704000000u64, "open": null, "close": "x"}]);
    for p in [
        paths::OI_AGGREGATED_HISTORY,
        paths::FUNDING_OI_WEIGHT_HISTORY,
    ] {
        Mock::given(path(p))
            .and(query_param("symbol", "BTC"))
            .and(query_param("interval", "4h"))
            .and(query_param("start_time", "1735689600000"))
            .and(query_param("end_time", "1735776000000"))
            .respond_with(ok(ohlc.clone()))
            .expect(1)
            .mount(&server)
            .await;
    }
    Mock::given(path(paths::PRICE_HISTORY))
        .and(query_param("exchange", "Binance"))
        .and(query_param("symbol", "BTCUSDT"))
        .respond_with(ok(json!([{"time": 1, "open": "1", "high": "1", "low": "1", "close": "1", "volume_usd": "123.5"}])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path(paths::LIQUIDATION_AGGREGATED_HISTORY))
        .and(query_param("exchange_list", "Binance,OKX"))
        .and(query_param("symbol", "BTC"))
        .respond_with(ok(
            json!([{"time": 1, "aggregated_long_liquidation_usd": 5.5,
                                 "aggregated_short_liquidation_usd": "6.5"}]),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path(paths::TAKER_PAIR_HISTORY))
        .and(query_param("exchange", "Binance"))
        .and(query_param("symbol", "BTCUSDT"))
        .respond_with(ok(json!([{"time": 1, "aggregated_buy_volume_usd": "7",
                                 "aggregated_sell_volume_usd": 8}])))
        .expect(1)
        .mount(&server)
        .await;
    mount(
        &server,
        paths::SUPPORTED_EXCHANGES,
        ok(json!(["Binance", "OKX"])),
    )
    .await;
    mount(
        &server,
        paths::SUPPORTED_EXCHANGE_PAIRS,
        ok(json!({"Binance": [{"instrument_id": "BTCUSDT", "base_asset": "BTC", "quote_asset": "USDT"}]})),
    )
    .await;
    let c = client(&server);
    let q4 = HistoryQuery::new("4h").limit(2);

    for kind in [
        LongShortKind::GlobalAccount,
        LongShortKind::TopAccount,
        LongShortKind::TopPosition,
    ] {
        let bars = c
            .long_short_history(kind, "Binance", "BTCUSDT", &q4)
            .await
            .unwrap();
        assert_eq!(bars[0].time, Some(1_735_689_600_000));
        assert_eq!(bars[0].long_percent, Some(60.5), "{kind:?}");
        assert_eq!(bars[0].short_percent, Some(39.5));
        assert_eq!(bars[0].long_short_ratio, Some(1.53));
    }
    let range = HistoryQuery::new("4h").range_ms(1_735_689_600_000, 1_735_776_000_000);
    for bars in [
        c.oi_aggregated_history("BTC", &range).await.unwrap(),
        c.funding_oi_weight_history("BTC", &range).await.unwrap(),
    ] {
        assert_eq!(bars[0].time, Some(1_735_689_600_000));
        assert_eq!((bars[0].open, bars[0].close), (Some(1.5), Some(1.75)));
        assert_eq!((bars[1].open, bars[1].close), (None, None));
    }
    let price = c.price_history("Binance", "BTCUSDT", &q4).await.unwrap();
    assert_eq!(price[0].volume_usd, Some(123.5));
    let ex = vec!["Binance".to_owned(), "OKX".to_owned()];
    let liq = c
        .liquidation_aggregated_history("BTC", &ex, &q4)
        .await
        .unwrap();
    assert_eq!(
        (liq[0].long_liquidation_usd, liq[0].short_liquidation_usd),
        (Some(5.5), Some(6.5))
    );
    let taker = c
        .taker_pair_history("Binance", "BTCUSDT", &q4)
        .await
        .unwrap();
    assert_eq!(
        (taker[0].buy_volume_usd, taker[0].sell_volume_usd),
        (Some(7.0), Some(8.0))
    );
    let names: Vec<String> = c
        .supported_exchanges()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(names, ["Binance", "OKX"]);
    let pairs = c.supported_exchange_pairs(None).await.unwrap();
    assert_eq!(pairs["Binance"][0].instrument_id, "BTCUSDT");
}

#[tokio::test]
async fn subscription_and_empty_data() {
    let server = MockServer::start().await;
    mount(
        &server,
        paths::SUBSCRIPTION,
        ok(json!({"level": "HOBBYIST", "expire_time": "1767225600000", "expired": false})),
    )
    .await;
    mount(&server, paths::OI_EXCHANGE_LIST, ok(json!([]))).await;
    mount(
        &server,
        paths::PAIRS_MARKETS,
        ResponseTemplate::new(200)
            .set_body_json(json!({"code": 0, "msg": "success", "data": null})),
    )
    .await;
    let c = client(&server);
    let sub = c.subscription().await.unwrap();
    assert_eq!(sub.level.as_deref(), Some("HOBBYIST"));
    assert_eq!(sub.expire_time, Some(1_767_225_600_000));
    assert_eq!(sub.expired, Some(false));
    assert!(c.oi_exchange_list("BTC").await.unwrap().is_empty());
    assert!(c.pairs_markets("BTC").await.unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Errors and retries
// ---------------------------------------------------------------------------------------------

/// Serves `resp` on the OI list and returns the error plus the number of requests sent.
async fn error_of(resp: ResponseTemplate) -> (ApiError, u64) {
    let server = MockServer::start().await;
    mount(&server, paths::OI_EXCHANGE_LIST, resp).await;
    // A 429 holds the limiter for a whole window: keep it short here.
    let opts = ClientOptions {
        rate_window: Duration::from_millis(50),
        ..fast()
    };
    let c = CoinGlassClient::new(server.uri(), key(), opts).unwrap();
    let err = c.oi_exchange_list("BTC").await.unwrap_err();
    (err, c.requests_total())
}

#[tokio::test]
async fn business_codes_over_http_200_are_typed_and_only_transient_ones_retried() {
    let (e, n) = error_of(code(
        "400",
        "Required String parameter 'range' is not present",
    ))
    .await;
    assert!(matches!(e, ApiError::BadRequest { .. }), "{e}");
    assert_eq!(n, 1, "400 is not retried");
    assert!(e.to_string().contains(paths::OI_EXCHANGE_LIST), "{e}");
    assert!(e.to_string().contains("'range'"), "{e}");

    let (e, n) = error_of(code("401", "Upgrade plan")).await;
    assert!(matches!(e, ApiError::PlanGated { .. }), "{e}");
    assert_eq!(n, 1);

    let (e, n) = error_of(code("401", "API key is invalid")).await;
    assert!(matches!(e, ApiError::Unauthorized { .. }), "{e}");
    assert!(e.is_fatal());
    assert_eq!(n, 1);

    let (e, n) = error_of(code("403", "interval not allowed")).await;
    assert!(matches!(e, ApiError::PlanGated { .. }), "{e}");
    assert_eq!(n, 1);

    let (e, n) = error_of(code("500", "Server Error")).await;
    assert!(matches!(e, ApiError::Transient { .. }), "{e}");
    assert_eq!(n, 3, "retried up to max_attempts");

    let (e, n) = error_of(ResponseTemplate::new(200).set_body_json(json!({"code": "429"}))).await;
    assert!(matches!(e, ApiError::RateLimited { .. }), "{e}");
    assert_eq!(n, 3);
}

/// Issue 9, item 2: CoinGlass's quickstart lists 400 for "invalid parameters or API key", and a
/// key refused that way must stop perpwatch (exit 3), not pass for a bad request.
#[tokio::test]
async fn a_key_refused_with_code_400_is_unauthorized_and_a_parameter_400_is_not() {
    for resp in [
        code("400", "Invalid API key"),
        code("400", "invalid parameters or API key"),
        code("403", "CG-API-KEY is missing"),
        ResponseTemplate::new(400).set_body_json(json!({"code": "400", "msg": "apikey error"})),
        ResponseTemplate::new(403).set_body_json(json!({"msg": "secret invalid"})),
    ] {
        let (e, n) = error_of(resp).await;
        assert!(matches!(e, ApiError::Unauthorized { .. }), "{e}");
        assert!(e.is_fatal(), "{e}");
        assert_eq!(n, 1, "a refused key is not retried: {e}");
    }
    for resp in [
        code("400", "Required String parameter 'range' is not present"),
        code("400", "Invalid parameter: interval"),
        ResponseTemplate::new(400)
            .set_body_json(json!({"code": "400", "msg": "symbol not supported"})),
    ] {
        let (e, n) = error_of(resp).await;
        assert!(matches!(e, ApiError::BadRequest { .. }), "{e}");
        assert!(!e.is_fatal());
        assert_eq!(n, 1);
    }

    // At start-up the refusal stops the live source instead of becoming an assumed plan.
    let server = MockServer::start().await;
    mount(&server, paths::SUBSCRIPTION, code("400", "Invalid API key")).await;
    let err = LiveSource::connect(live_config(&server, &["BTC"], 300))
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::Unauthorized { .. }), "{err}");
    assert!(!err.to_string().contains(KEY));
}

/// Issue 9, item 6: "Upgrade plan" is a plan gate whatever its code, and it is not retried.
#[tokio::test]
async fn an_upgrade_plan_answer_is_plan_gated_under_any_code() {
    for resp in [
        code("400", "Upgrade plan"),
        code("403", "Upgrade plan"),
        code("500", "Upgrade plan"),
        ResponseTemplate::new(500).set_body_json(json!({"code": "500", "msg": "Upgrade plan"})),
        ResponseTemplate::new(403).set_body_json(json!({"code": "403", "msg": "Upgrade plan"})),
    ] {
        let (e, n) = error_of(resp).await;
        assert!(matches!(e, ApiError::PlanGated { .. }), "{e}");
        assert_eq!(n, 1, "a plan gate is not retried: {e}");
        assert!(e.to_string().contains("Upgrade plan"), "{e}");
    }
}

/// Issue 9, item 6: an Enterprise key is read as Enterprise (coins-markets, every interval), not
/// as Hobbyist.
#[tokio::test]
async fn an_enterprise_level_is_read_as_enterprise() {
    let server = MockServer::start().await;
    mount(
        &server,
        paths::SUBSCRIPTION,
        ok(json!({"level": "ENTERPRISE", "expire_time": 1893456000000u64, "expired": false})),
    )
    .await;
    let src = LiveSource::connect(live_config(&server, &["BTC", "ETH"], 60))
        .await
        .unwrap();
    assert_eq!(src.plan(), Plan::Enterprise);
    assert_eq!(src.schedule().mode, MarketsMode::CoinsMarkets);
    assert_eq!(src.request_stats().limit_per_minute, Some(6000));
    assert_eq!(src.schedule().ls_interval_str(), "1h");
    assert_eq!(Plan::parse("enterprise"), Ok(Plan::Enterprise));
}

#[tokio::test]
async fn http_statuses_are_typed() {
    let (e, n) = error_of(ResponseTemplate::new(404).set_body_string("Not Found")).await;
    assert!(matches!(e, ApiError::BadRequest { .. }), "{e}");
    assert_eq!(n, 1);
    let (e, n) = error_of(ResponseTemplate::new(401)).await;
    assert!(matches!(e, ApiError::Unauthorized { .. }), "{e}");
    assert_eq!(n, 1);
    let (e, _) = error_of(ResponseTemplate::new(403)).await;
    assert!(matches!(e, ApiError::PlanGated { .. }), "{e}");
    let (e, n) = error_of(ResponseTemplate::new(500).set_body_string("oops")).await;
    assert!(matches!(e, ApiError::Transient { .. }), "{e}");
    assert_eq!(n, 3);
}

#[tokio::test]
async fn http_429_pauses_the_limiter_and_is_retried_after_the_window() {
    let server = MockServer::start().await;
    Mock::given(path(paths::OI_EXCHANGE_LIST))
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount(
        &server,
        paths::OI_EXCHANGE_LIST,
        ok(json!([{"exchange": "All"}])),
    )
    .await;
    let opts = ClientOptions {
        rate_window: Duration::from_millis(300),
        ..fast()
    };
    let c = CoinGlassClient::new(server.uri(), key(), opts).unwrap();
    let started = Instant::now();
    let rows = c.oi_exchange_list("BTC").await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(c.requests_total(), 2);
    // The retry waited for the (shortened) window, not just the 5-20 ms backoff.
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn malformed_bodies_keep_at_most_200_bytes() {
    let long_garbage = format!("<html>{}</html>", "x".repeat(5000));
    let (e, n) = error_of(ResponseTemplate::new(200).set_body_string(long_garbage)).await;
    match &e {
        ApiError::Malformed { body_head, .. } => {
            assert!(body_head.len() <= 200);
            assert!(body_head.starts_with("<html>xxx"));
        }
        other => panic!("expected Malformed, got {other}"),
    }
    assert_eq!(n, 1, "malformed answers are not retried");
    // Truncated JSON and a wrong data shape (object where a list belongs).
    let (e, _) =
        error_of(ResponseTemplate::new(200).set_body_string(r#"{"code":"0","data":[{"#)).await;
    assert!(matches!(e, ApiError::Malformed { .. }), "{e}");
    let (e, _) = error_of(ok(json!({"exchange": "All"}))).await;
    assert!(matches!(e, ApiError::Malformed { .. }), "{e}");
}

#[tokio::test]
async fn a_500_then_200_succeeds_with_two_requests_counted() {
    let server = MockServer::start().await;
    Mock::given(path(paths::OI_EXCHANGE_LIST))
        .respond_with(code("500", "Server Error"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path(paths::OI_EXCHANGE_LIST))
        .respond_with(ok(json!([{"exchange": "All", "open_interest_usd": 1}])))
        .with_priority(2)
        .mount(&server)
        .await;
    let c = client(&server);
    let rows = c.oi_exchange_list("BTC").await.unwrap();
    assert_eq!(rows[0].open_interest_usd, Some(1.0));
    assert_eq!(c.requests_total(), 2);
}

/// A TCP server that accepts connections and never answers.
async fn silent_server() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    (format!("http://{addr}"), task)
}

#[tokio::test]
async fn a_server_that_never_answers_is_transient_after_retries_in_bounded_time() {
    let (url, task) = silent_server().await;
    let opts = ClientOptions {
        request_timeout: Duration::from_millis(200),
        max_attempts: 2,
        ..fast()
    };
    let c = CoinGlassClient::new(url, key(), opts).unwrap();
    let started = Instant::now();
    let e = c.funding_exchange_list().await.unwrap_err();
    assert!(matches!(e, ApiError::Transient { .. }), "{e}");
    assert!(e.to_string().contains("timed out"), "{e}");
    assert_eq!(c.requests_total(), 2);
    assert!(started.elapsed() < Duration::from_secs(2));
    task.abort();
}

#[tokio::test]
async fn a_refused_connection_is_transient() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let c = CoinGlassClient::new(format!("http://{addr}"), key(), fast()).unwrap();
    let e = c.funding_exchange_list().await.unwrap_err();
    assert!(matches!(e, ApiError::Transient { .. }), "{e}");
    assert_eq!(c.requests_total(), 3);
}

#[tokio::test]
async fn rate_headers_feed_the_limiter() {
    let server = MockServer::start().await;
    mount(
        &server,
        paths::FUNDING_EXCHANGE_LIST,
        ok(json!([]))
            .insert_header("API-KEY-MAX-LIMIT", "80")
            .insert_header("API-KEY-USE-LIMIT", "50"),
    )
    .await;
    let c = client(&server);
    assert_eq!(c.limiter().limit(), 30, "Hobbyist until told otherwise");
    c.funding_exchange_list().await.unwrap();
    assert_eq!(c.limiter().limit(), 80);
    // Another client on the same key used 49 more than our one request.
    assert_eq!(c.limiter().used_this_minute(), 50);
    assert_eq!(c.limiter().server_used(), Some(50));
    // A plan figure does not override the server's.
    c.limiter().set_plan_limit(30);
    assert_eq!(c.limiter().limit(), 80);
}

#[tokio::test]
async fn concurrent_requests_stay_under_the_limit_per_window() {
    let server = MockServer::start().await;
    let stamps = Arc::new(Mutex::new(Vec::<Instant>::new()));
    let s2 = stamps.clone();
    Mock::given(path(paths::OI_EXCHANGE_LIST))
        .respond_with(move |_: &Request| {
            s2.lock().unwrap().push(Instant::now());
            ok(json!([]))
        })
        .mount(&server)
        .await;
    // Limit 10 per 1 s window → 8 allowed (headroom 2).
    let opts = ClientOptions {
        rate_window: Duration::from_secs(1),
        ..fast()
    };
    let c = CoinGlassClient::new(server.uri(), key(), opts).unwrap();
    c.limiter().set_plan_limit(10);
    let started = Instant::now();
    let calls = (0..12).map(|_| c.oi_exchange_list("BTC"));
    let results = futures::future::join_all(calls).await;
    assert!(results.iter().all(|r| r.is_ok()));
    assert_eq!(c.requests_total(), 12);
    // 12 requests at 8 per window: the last 4 wait for the first window to pass.
    assert!(started.elapsed() >= Duration::from_secs(1));
    // Server-side arrival times (allowing for scheduling jitter): no 700 ms span holds more than 8.
    let mut t = stamps.lock().unwrap().clone();
    t.sort();
    assert_eq!(t.len(), 12);
    for (i, a) in t.iter().enumerate() {
        let n = t[i..]
            .iter()
            .filter(|b| **b - *a < Duration::from_millis(700))
            .count();
        assert!(n <= 8, "{n} requests within 700 ms");
    }
}

// ---------------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_key_never_appears_in_errors_debug_output_or_logs() {
    let logs = Logs::default();
    let _guard = logs.install_at(tracing::Level::TRACE);

    let server = MockServer::start().await;
    // A server that echoes the key back in its message and body.
    mount(
        &server,
        paths::OI_EXCHANGE_LIST,
        code("401", &format!("invalid key {KEY}")),
    )
    .await;
    mount(
        &server,
        paths::PAIRS_MARKETS,
        ResponseTemplate::new(200).set_body_string(format!("not json, your key is {KEY}")),
    )
    .await;
    mount(
        &server,
        paths::FUNDING_EXCHANGE_LIST,
        code("500", "Server Error"),
    )
    .await;
    mount(
        &server,
        paths::SUBSCRIPTION,
        ok(json!({"level": "HOBBYIST"})),
    )
    .await;
    let c = client(&server);
    let (silent, task) = silent_server().await;
    let slow = CoinGlassClient::new(
        silent,
        key(),
        ClientOptions {
            request_timeout: Duration::from_millis(150),
            max_attempts: 1,
            ..fast()
        },
    )
    .unwrap();

    let errors = vec![
        c.oi_exchange_list("BTC").await.unwrap_err(),
        c.pairs_markets("BTC").await.unwrap_err(),
        c.funding_exchange_list().await.unwrap_err(),
        slow.funding_exchange_list().await.unwrap_err(),
    ];
    c.subscription().await.unwrap();
    task.abort();
    assert!(matches!(errors[3], ApiError::Transient { .. }));
    for e in &errors {
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains(KEY), "key leaked: {shown}");
    }
    assert!(!format!("{c:?}").contains(KEY));
    let cfg = LiveConfig::new(server.uri(), key(), vec!["BTC".into()]);
    assert!(!format!("{cfg:?}").contains(KEY));

    let text = logs.text();
    assert!(
        text.contains("coinglass request"),
        "logs were captured: {text}"
    );
    assert!(!text.contains(KEY), "key leaked into logs");
}

// ---------------------------------------------------------------------------------------------
// LiveSource
// ---------------------------------------------------------------------------------------------

const BAR_4H_MS: i64 = 4 * 3600 * 1000;

/// The logical time of the cycle being polled, shared with dynamic mock answers.
#[derive(Clone)]
struct Clock(Arc<AtomicI64>);

impl Clock {
    fn new(t: DateTime<Utc>) -> Clock {
        Clock(Arc::new(AtomicI64::new(t.timestamp_millis())))
    }
    fn set(&self, t: DateTime<Utc>) {
        self.0.store(t.timestamp_millis(), Ordering::SeqCst);
    }
    fn ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

fn t0() -> DateTime<Utc> {
    // 03:30 UTC: the next 4h bar opens half an hour in.
    Utc.with_ymd_and_hms(2025, 1, 1, 3, 30, 0).unwrap()
}

fn live_config(server: &MockServer, symbols: &[&str], poll_s: u64) -> LiveConfig {
    let mut cfg = LiveConfig::new(
        server.uri(),
        key(),
        symbols.iter().map(|s| s.to_string()).collect(),
    );
    cfg.poll_interval = Duration::from_secs(poll_s);
    // A short limiter window: these tests run hours of cycles in well under a second.
    cfg.client = ClientOptions {
        rate_window: Duration::from_millis(1),
        max_attempts: 1,
        ..fast()
    };
    cfg
}

/// Mounts a realistic Hobbyist market for BTC and ETH. Long/short bars and prices follow `clock`.
async fn mount_market(server: &MockServer, clock: &Clock, level: &str) {
    mount(
        server,
        paths::SUBSCRIPTION,
        ok(json!({"level": level, "expired": false})),
    )
    .await;
    mount(
        server,
        paths::FUNDING_EXCHANGE_LIST,
        ok(json!([
            {"symbol": "BTC",
             "stablecoin_margin_list": [
                 {"exchange": "Binance", "funding_rate": "0.01", "funding_rate_interval": 8,
                  "next_funding_time": 1735718400000u64},
                 {"exchange": "Bybit", "funding_rate": 0.0125, "funding_rate_interval": "1"},
                 {"exchange": "OKX", "funding_rate": "0.02", "funding_rate_interval": 4},
                 {"exchange": "Gate", "funding_rate": null, "funding_rate_interval": 8}
             ],
             "coin_margin_list": [{"exchange": "Binance", "funding_rate": 0.005, "funding_rate_interval": 8}]},
            {"symbol": "ETH",
             "stablecoin_margin_list": [{"exchange": "BINANCE", "funding_rate": -0.02, "funding_rate_interval": 8}]}
        ])),
    )
    .await;
    for (coin, scale) in [("BTC", 1.0), ("ETH", 0.5)] {
        Mock::given(path(paths::OI_EXCHANGE_LIST))
            .and(query_param("symbol", coin))
            .respond_with(ok(json!([
                {"exchange": "ALL", "open_interest_usd": 1e10 * scale,
                 "open_interest_change_percent_5m": "0.1", "open_interest_change_percent_1h": "3.2",
                 "open_interest_change_percent_4h": -1, "open_interest_change_percent_24h": null},
                // Upper-, lower- and mixed-case names all match the funding rows.
                {"exchange": "BINANCE", "open_interest_usd": "6e9"},
                {"exchange": "bybit", "open_interest_usd": 3e9},
                {"exchange": "Okx", "open_interest_usd": 1e9}
            ])))
            .mount(server)
            .await;
        Mock::given(path(paths::LIQUIDATION_EXCHANGE_LIST))
            .and(query_param("symbol", coin))
            .and(query_param("range", "1h"))
            .respond_with(ok(json!([
                {"exchange": "All", "liquidation_usd": 3.5e7 * scale,
                 "long_liquidation_usd": format!("{}", 3e7 * scale), "short_liquidation_usd": 5e6 * scale},
                {"exchange": "Binance", "long_liquidation_usd": 1e7}
            ])))
            .mount(server)
            .await;
        Mock::given(path(paths::TAKER_EXCHANGE_LIST))
            .and(query_param("symbol", coin))
            .and(query_param("range", "1h"))
            .respond_with(ok(json!({"symbol": coin, "buy_ratio": "58.2", "sell_ratio": "41.8",
                                    "buy_vol_usd": 5.82e8, "sell_vol_usd": "4.18e8", "exchange_list": []})))
            .mount(server)
            .await;
        let c = clock.clone();
        let coin_owned = coin.to_owned();
        Mock::given(path(paths::PAIRS_MARKETS))
            .and(query_param("symbol", coin))
            .respond_with(move |_: &Request| {
                // Price rises by 1 per minute of logical time from 100 at t0.
                let minutes = (c.ms() - t0().timestamp_millis()) as f64 / 60_000.0;
                let price = (100.0 + minutes) * scale;
                ok(json!([
                    {"instrument_id": format!("{coin_owned}USDT_UMCBL"), "exchange_name": "Bitget",
                     "current_price": 1.0, "open_interest_usd": 1e12},
                    {"instrument_id": format!("{coin_owned}USDT"), "exchange_name": "BINANCE",
                     "current_price": price.to_string(), "price_change_percent_24h": "2.5",
                     "open_interest_usd": 6e9}
                ]))
            })
            .mount(server)
            .await;
    }
    for (kind, prefix, long) in [
        (LongShortKind::GlobalAccount, "global_account", 66.0),
        (LongShortKind::TopAccount, "top_account", 52.0),
    ] {
        let c = clock.clone();
        Mock::given(path(kind.path()))
            .and(query_param("exchange", "Binance"))
            .and(query_param("interval", "4h"))
            .respond_with(move |_: &Request| {
                // The server's newest bar is the one in progress at the logical time.
                let bar = c.ms() / BAR_4H_MS * BAR_4H_MS;
                ok(json!([
                    {"time": bar - BAR_4H_MS, format!("{prefix}_long_percent"): 50.0,
                     format!("{prefix}_short_percent"): 50.0},
                    {"time": bar.to_string(), format!("{prefix}_long_percent"): long.to_string(),
                     format!("{prefix}_short_percent"): 100.0 - long}
                ]))
            })
            .mount(server)
            .await;
    }
}

#[tokio::test]
async fn a_full_poll_produces_the_expected_snapshot() {
    let server = MockServer::start().await;
    let clock = Clock::new(t0());
    mount_market(&server, &clock, "HOBBYIST").await;
    let mut src = LiveSource::connect(live_config(&server, &["btc", "ETH"], 300))
        .await
        .unwrap();
    assert_eq!(src.plan(), Plan::Hobbyist);
    assert_eq!(src.schedule().mode, MarketsMode::PerSymbol);

    let snaps = src.poll(t0()).await.unwrap();
    assert_eq!(snaps.len(), 2);
    let btc = &snaps[0];
    assert_eq!(btc.symbol, "BTC");
    assert_eq!(btc.time, t0());
    assert!(btc.gaps().is_empty(), "{:?}", btc.gaps());

    // Funding: 0.01/8h, 0.0125/1h = 0.1/8h, 0.02/4h = 0.04/8h, weighted by OI 6:3:1.
    let f = btc.funding.get().unwrap();
    assert!(close(
        f.rate_8h_pct,
        (0.01 * 6.0 + 0.1 * 3.0 + 0.04 * 1.0) / 10.0
    ));
    let names: Vec<(&str, Margin)> = f
        .by_exchange
        .iter()
        .map(|r| (r.exchange.as_str(), r.margin))
        .collect();
    // Sorted by OI; the token-margined Binance row shares Binance's OI; Gate (null rate) is absent.
    assert_eq!(
        names[2..],
        [("Bybit", Margin::Stablecoin), ("OKX", Margin::Stablecoin)]
    );
    assert_eq!(names.len(), 4);
    assert!(names[..2].contains(&("Binance", Margin::Token)));
    let bybit = &f.by_exchange[2];
    assert_eq!(
        (bybit.rate_pct, bybit.interval_hours, bybit.oi_usd),
        (0.0125, Some(1.0), Some(3e9))
    );
    assert!((bybit.rate_8h_pct - 0.1).abs() < 1e-12);
    let binance = f
        .by_exchange
        .iter()
        .find(|r| r.margin == Margin::Stablecoin && r.exchange == "Binance")
        .unwrap();
    assert_eq!(
        binance.next_funding_time,
        Some(Utc.timestamp_millis_opt(1_735_718_400_000).unwrap())
    );
    assert!(close(snaps[1].funding.get().unwrap().rate_8h_pct, -0.02));

    let oi = btc.open_interest.get().unwrap();
    assert_eq!(oi.oi_usd, Some(1e10));
    assert_eq!(oi.change_1h_pct, Some(3.2));
    assert_eq!(oi.change_4h_pct, Some(-1.0));
    assert_eq!(oi.change_24h_pct, None, "null stays absent");
    assert_eq!(oi.change_15m_pct, None);

    let liq = btc.liquidations.get().unwrap();
    assert_eq!((liq.long_1h_usd, liq.short_1h_usd), (Some(3e7), Some(5e6)));
    assert_eq!(
        snaps[1].liquidations.get().unwrap().long_1h_usd,
        Some(1.5e7)
    );

    let taker = btc.taker.get().unwrap();
    assert_eq!(
        (taker.buy_pct, taker.buy_usd, taker.sell_usd),
        (Some(58.2), Some(5.82e8), Some(4.18e8))
    );

    // Price from the reference pair (Binance BTCUSDT), not the largest-OI pair.
    let price = btc.price.get().unwrap();
    assert_eq!(price.price, Some(100.0));
    assert_eq!(price.change_24h_pct, Some(2.5));
    assert_eq!(price.change_1h_pct, None, "no hour of own history yet");

    let retail = btc.retail.get().unwrap();
    assert_eq!(
        (retail.long_pct, retail.short_pct),
        (Some(66.0), Some(34.0))
    );
    assert_eq!(retail.source, "Binance BTCUSDT 4h");
    assert_eq!(
        retail.bar_time,
        Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()
    );
    assert_eq!(btc.top.get().unwrap().long_pct, Some(52.0));
    assert_eq!(snaps[1].retail.get().unwrap().source, "Binance ETHUSDT 4h");

    let inputs = btc.inputs();
    assert_eq!(inputs.retail_long_pct, Some(66.0));
    assert_eq!(inputs.taker_buy_pct, Some(58.2));

    // Cycle 0 fetches everything: funding 1 + the one-time reference-pair lookup 1
    // + 2 × (OI, liq, taker, pairs, 2 × L/S).
    let stats = src.request_stats();
    assert_eq!(stats.this_cycle, 14);
    assert_eq!(stats.total, 15, "plus the subscription");
    assert_eq!(stats.limit_per_minute, Some(30));
}

#[tokio::test]
async fn request_counts_per_cycle_follow_the_schedule() {
    let server = MockServer::start().await;
    let clock = Clock::new(t0());
    mount_market(&server, &clock, "hobbyist").await;
    let mut src = LiveSource::connect(live_config(&server, &["BTC", "ETH"], 60))
        .await
        .unwrap();
    let s = src.schedule().clone();
    assert_eq!((s.taker_every_cycles, s.price_every_cycles), (3, 5));
    let n = 2u32;
    let mut total = 0u32;
    let cycles = 60u64;
    let mut taker_seen_at = None;
    for k in 0..cycles {
        let now = t0() + chrono::Duration::minutes(k as i64);
        clock.set(now);
        let snaps = src.poll(now).await.unwrap();
        // 03:30 + 30 min opens the 04:00 bar: L/S is fetched on cycles 0 and 30 only.
        let ls = if k == 0 || k == 30 { 2 } else { 0 };
        let taker = u32::from(k % 3 == 0);
        let price = u32::from(k % 5 == 0);
        // Cycle 0 also looks the reference pairs up (once per session).
        let lookup = u32::from(k == 0);
        let expected = 1 + lookup + n * (2 + taker + price + ls);
        let got = src.request_stats().this_cycle;
        assert_eq!(got, expected, "cycle {k}");
        total += got;

        let btc = &snaps[0];
        // Not refreshed this cycle: carried over as fresh with the original observation time.
        assert_eq!(btc.taker.gap, None);
        if taker == 1 {
            taker_seen_at = Some(now);
        }
        assert_eq!(btc.taker.observed_at, taker_seen_at, "cycle {k}");
        let retail = btc.retail.get().unwrap();
        let expected_bar = if k < 30 {
            "2025-01-01T00:00:00Z"
        } else {
            "2025-01-01T04:00:00Z"
        };
        assert_eq!(
            retail
                .bar_time
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            expected_bar
        );

        // The self-computed 1h change appears only once an hour-old price exists.
        let change = btc.price.get().unwrap().change_1h_pct;
        if k < 55 {
            assert_eq!(change, None, "cycle {k}");
        } else {
            // At cycle 55 the price (155) is compared with the one seen at cycle 0 (100).
            assert!(close(change, 55.0), "cycle {k}: {change:?}");
        }
    }
    let measured = f64::from(total) / (cycles as f64 * f64::from(n));
    // The estimate amortises L/S evenly (2 per 4h); this hour happens to hold one boundary.
    assert!(measured <= 3.5, "measured {measured}");
    assert!(
        (measured - s.est_requests_per_symbol_per_cycle).abs() < 0.1,
        "measured {measured} vs estimated {}",
        s.est_requests_per_symbol_per_cycle
    );
    assert_eq!(
        requests_to(&server, paths::FUNDING_EXCHANGE_LIST)
            .await
            .len(),
        cycles as usize
    );
    assert_eq!(
        requests_to(&server, LongShortKind::GlobalAccount.path())
            .await
            .len(),
        4
    );
}

#[tokio::test]
async fn a_plan_gated_long_short_endpoint_is_not_in_plan_and_not_requested_again() {
    let server = MockServer::start().await;
    Mock::given(path(LongShortKind::GlobalAccount.path()))
        .respond_with(code("401", "Upgrade plan"))
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let clock = Clock::new(t0());
    mount_market(&server, &clock, "HOBBYIST").await;
    let mut src = LiveSource::connect(live_config(&server, &["BTC"], 300))
        .await
        .unwrap();
    for k in 0..3i64 {
        // Eight hours apart: a new L/S bar is due every cycle.
        let now = t0() + chrono::Duration::hours(8 * k);
        clock.set(now);
        let snaps = src.poll(now).await.unwrap();
        assert_eq!(snaps[0].retail.value, None);
        assert_eq!(snaps[0].retail.gap, Some(GapReason::NotInPlan));
        assert_eq!(snaps[0].top.gap, None, "top traders stay available");
        assert_eq!(snaps[0].top.observed_at, Some(now));
    }
    assert_eq!(
        requests_to(&server, LongShortKind::GlobalAccount.path())
            .await
            .len(),
        1
    );
    assert_eq!(
        requests_to(&server, LongShortKind::TopAccount.path())
            .await
            .len(),
        3
    );
}

#[tokio::test]
async fn a_failing_oi_endpoint_keeps_the_previous_value_stale_and_the_rest_fresh() {
    let server = MockServer::start().await;
    let clock = Clock::new(t0());
    mount_market(&server, &clock, "HOBBYIST").await;
    let mut src = LiveSource::connect(live_config(&server, &["BTC"], 300))
        .await
        .unwrap();
    let first = src.poll(t0()).await.unwrap().remove(0);
    assert_eq!(first.open_interest.gap, None);
    let rate_before = first.funding.get().unwrap().rate_8h_pct;

    Mock::given(path(paths::OI_EXCHANGE_LIST))
        .respond_with(code("500", "Server Error"))
        .with_priority(1)
        .mount(&server)
        .await;
    let t1 = t0() + chrono::Duration::minutes(5);
    clock.set(t1);
    let second = src.poll(t1).await.unwrap().remove(0);
    let oi = &second.open_interest;
    assert_eq!(oi.get().unwrap().oi_usd, Some(1e10), "last good value kept");
    assert_eq!(oi.observed_at, Some(t0()));
    assert!(oi.is_stale());
    match &oi.gap {
        Some(GapReason::FetchFailed(why)) => assert!(why.contains("Server Error"), "{why}"),
        other => panic!("expected FetchFailed, got {other:?}"),
    }
    // Everything else is fresh; funding still uses the last known OI weights.
    for (name, observed) in [
        ("funding", second.funding.observed_at),
        ("liquidations", second.liquidations.observed_at),
    ] {
        assert_eq!(observed, Some(t1), "{name}");
    }
    assert_eq!(second.funding.gap, None);
    assert_eq!(second.funding.get().unwrap().rate_8h_pct, rate_before);
    assert_eq!(second.gaps().len(), 1);
    assert!(src.last_cycle_errors()[0].contains(paths::OI_EXCHANGE_LIST));
}

#[tokio::test]
async fn unauthorized_is_an_error_and_other_failures_are_gaps() {
    let server = MockServer::start().await;
    let clock = Clock::new(t0());
    Mock::given(path(paths::TAKER_EXCHANGE_LIST))
        .respond_with(ResponseTemplate::new(200).set_body_string("garbage"))
        .with_priority(1)
        .mount(&server)
        .await;
    mount_market(&server, &clock, "HOBBYIST").await;
    let mut src = LiveSource::connect(live_config(&server, &["BTC"], 300))
        .await
        .unwrap();
    let snap = src.poll(t0()).await.unwrap().remove(0);
    assert!(matches!(snap.taker.gap, Some(GapReason::FetchFailed(_))));
    assert_eq!(snap.taker.value, None);

    Mock::given(path(paths::FUNDING_EXCHANGE_LIST))
        .respond_with(ResponseTemplate::new(401))
        .with_priority(1)
        .mount(&server)
        .await;
    let err = src
        .poll(t0() + chrono::Duration::minutes(5))
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::Unauthorized { .. }), "{err}");
    assert!(err.is_fatal());
}

#[tokio::test]
async fn a_key_revoked_mid_session_stops_the_cycle_early() {
    let server = MockServer::start().await;
    mount(
        &server,
        paths::SUBSCRIPTION,
        ok(json!({"level": "HOBBYIST"})),
    )
    .await;
    Mock::given(method("GET"))
        .respond_with(code("401", "API key invalid"))
        .with_priority(10)
        .mount(&server)
        .await;
    let symbols: Vec<String> = (0..20).map(|i| format!("C{i}")).collect();
    let refs: Vec<&str> = symbols.iter().map(String::as_str).collect();
    let mut src = LiveSource::connect(live_config(&server, &refs, 300))
        .await
        .unwrap();
    let err = src.poll(t0()).await.unwrap_err();
    assert!(matches!(err, ApiError::Unauthorized { .. }), "{err}");
    // The cycle would send 121 requests; it stops once the key is refused (at most the
    // 8 already in flight).
    let sent = src.request_stats().this_cycle;
    assert!((1..=8).contains(&sent), "{sent} requests sent");
}

#[tokio::test]
async fn connect_refuses_bad_keys_and_expired_subscriptions_and_survives_outages() {
    let server = MockServer::start().await;
    Mock::given(path(paths::SUBSCRIPTION))
        .respond_with(code("401", "Invalid API key"))
        .mount(&server)
        .await;
    let err = LiveSource::connect(live_config(&server, &["BTC"], 300))
        .await
        .unwrap_err();
    assert!(err.is_fatal(), "{err}");

    let server = MockServer::start().await;
    mount(
        &server,
        paths::SUBSCRIPTION,
        ok(json!({"level": "STANDARD", "expire_time": 1704067200000u64, "expired": true})),
    )
    .await;
    let err = LiveSource::connect(live_config(&server, &["BTC"], 300))
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::Unauthorized { .. }), "{err}");
    assert!(err.to_string().contains("expired"), "{err}");

    // A transient failure: the override, or else Hobbyist, is assumed.
    let server = MockServer::start().await;
    mount(&server, paths::SUBSCRIPTION, ResponseTemplate::new(503)).await;
    let src = LiveSource::connect(live_config(&server, &["BTC"], 300))
        .await
        .unwrap();
    assert_eq!(src.plan(), Plan::Hobbyist);
    let mut cfg = live_config(&server, &["BTC"], 300);
    cfg.plan_override = Some(Plan::Startup);
    let src = LiveSource::connect(cfg).await.unwrap();
    assert_eq!(src.plan(), Plan::Startup);
    assert_eq!(src.request_stats().limit_per_minute, Some(80));
    assert!(src.schedule().ls_interval >= Plan::Startup.min_interval());
}

async fn mount_standard(server: &MockServer, btc_page: u32) {
    mount(
        server,
        paths::SUBSCRIPTION,
        ok(json!({"level": "Standard"})).insert_header("API-KEY-MAX-LIMIT", "300"),
    )
    .await;
    for page in 1..=3u32 {
        let mut rows: Vec<Value> = (0..100)
            .map(|i| json!({"symbol": format!("C{page}X{i}")}))
            .collect();
        if page == 1 {
            rows[0] = json!({"symbol": "ETH", "current_price": "3300", "open_interest_usd": 2e10});
        }
        if page == btc_page {
            rows[5] = json!({
                "symbol": "BTC", "current_price": 97000.5, "price_change_percent_1h": "0.8",
                "price_change_percent_24h": -1.5, "open_interest_usd": "5.7e10",
                "open_interest_change_percent_1h": 5.5, "long_liquidation_usd_1h": "2e7",
                "short_liquidation_usd_1h": 1e6
            });
        }
        Mock::given(path(paths::COINS_MARKETS))
            .and(query_param("page", page.to_string()))
            .and(query_param("per_page", "100"))
            .respond_with(ok(Value::Array(rows)))
            .mount(server)
            .await;
    }
    // Past the last coin: an empty page.
    Mock::given(path(paths::COINS_MARKETS))
        .and(query_param("page", "4"))
        .respond_with(ok(json!([])))
        .mount(server)
        .await;
}

/// Standard's L/S interval is 1h (the market mocks answer 4h only).
async fn mount_ls_1h(server: &MockServer) {
    for (kind, prefix) in [
        (LongShortKind::GlobalAccount, "global_account"),
        (LongShortKind::TopAccount, "top_account"),
    ] {
        Mock::given(path(kind.path()))
            .and(query_param("interval", "1h"))
            .respond_with(ok(json!([{"time": t0().timestamp_millis(),
                                      format!("{prefix}_long_percent"): 61}])))
            .mount(server)
            .await;
    }
}

#[tokio::test]
async fn standard_reads_coins_markets_and_learns_which_pages_to_fetch() {
    let server = MockServer::start().await;
    let clock = Clock::new(t0());
    mount_standard(&server, 2).await;
    mount_market(&server, &clock, "Standard").await;
    mount_ls_1h(&server).await;
    let mut src = LiveSource::connect(live_config(&server, &["BTC", "ETH"], 60))
        .await
        .unwrap();
    assert_eq!(src.plan(), Plan::Standard);
    assert_eq!(src.schedule().mode, MarketsMode::CoinsMarkets);

    let snaps = src.poll(t0()).await.unwrap();
    let btc = &snaps[0];
    let oi = btc.open_interest.get().unwrap();
    assert_eq!((oi.oi_usd, oi.change_1h_pct), (Some(5.7e10), Some(5.5)));
    assert_eq!(btc.liquidations.get().unwrap().long_1h_usd, Some(2e7));
    let price = btc.price.get().unwrap();
    assert_eq!(
        (price.price, price.change_1h_pct, price.change_24h_pct),
        (Some(97000.5), Some(0.8), Some(-1.5))
    );
    assert_eq!(btc.retail.get().unwrap().source, "Binance BTCUSDT 1h");
    // Funding weights come from the per-exchange OI list.
    assert_eq!(btc.funding.get().unwrap().by_exchange[0].oi_usd, Some(6e9));
    assert_eq!(snaps[1].price.get().unwrap().price, Some(3300.0));
    // funding 1 + the one-time pair lookup 1 + pages 1 and 2 + per symbol (OI weights, taker,
    // 2 L/S).
    assert_eq!(src.request_stats().this_cycle, 1 + 1 + 2 + 2 * 4);
    assert_eq!(requests_to(&server, paths::PAIRS_MARKETS).await.len(), 0);
    assert_eq!(
        requests_to(&server, paths::LIQUIDATION_EXCHANGE_LIST)
            .await
            .len(),
        0
    );

    // Next cycle: pages 1-2 again (BTC lives on page 2), no weights, no taker, no L/S.
    let snaps = src.poll(t0() + chrono::Duration::minutes(1)).await.unwrap();
    assert_eq!(src.request_stats().this_cycle, 1 + 2);
    assert_eq!(
        snaps[0].open_interest.observed_at,
        Some(t0() + chrono::Duration::minutes(1))
    );
    assert_eq!(requests_to(&server, paths::COINS_MARKETS).await.len(), 4);
    let per_symbol = src.schedule().est_requests_per_symbol_per_cycle;
    assert!(per_symbol <= 1.5, "{per_symbol}");
}

#[tokio::test]
async fn coins_markets_outside_the_plan_falls_back_to_per_symbol_requests() {
    let server = MockServer::start().await;
    let clock = Clock::new(t0());
    Mock::given(path(paths::COINS_MARKETS))
        .respond_with(code("401", "Upgrade plan"))
        .expect(1)
        .mount(&server)
        .await;
    mount_market(&server, &clock, "HOBBYIST").await;
    let mut cfg = live_config(&server, &["BTC"], 300);
    // The user claims Standard; the key is Hobbyist.
    cfg.plan_override = Some(Plan::Standard);
    let mut src = LiveSource::connect(cfg).await.unwrap();
    assert_eq!(src.schedule().mode, MarketsMode::CoinsMarkets);
    let snap = src.poll(t0()).await.unwrap().remove(0);
    assert_eq!(src.schedule().mode, MarketsMode::PerSymbol);
    assert_eq!(snap.open_interest.get().unwrap().oi_usd, Some(1e10));
    assert_eq!(snap.liquidations.get().unwrap().long_1h_usd, Some(3e7));
    assert_eq!(snap.price.get().unwrap().price, Some(100.0));
    src.poll(t0() + chrono::Duration::minutes(5)).await.unwrap();
    assert_eq!(requests_to(&server, paths::COINS_MARKETS).await.len(), 1);
    assert_eq!(requests_to(&server, paths::OI_EXCHANGE_LIST).await.len(), 2);
}

#[tokio::test]
async fn a_coin_missing_from_coins_markets_is_not_reported_and_rescanned_only_occasionally() {
    let server = MockServer::start().await;
    let clock = Clock::new(t0());
    mount_standard(&server, 1).await;
    mount_market(&server, &clock, "Standard").await;
    mount_ls_1h(&server).await;
    let mut src = LiveSource::connect(live_config(&server, &["BTC", "NOPE"], 60))
        .await
        .unwrap();
    let w = src.schedule().weights_every_cycles;
    assert_eq!(w, 30);
    let snaps = src.poll(t0()).await.unwrap();
    assert_eq!(snaps[0].open_interest.gap, None);
    for gap in [
        &snaps[1].open_interest.gap,
        &snaps[1].liquidations.gap,
        &snaps[1].price.gap,
        &snaps[1].funding.gap,
    ] {
        assert_eq!(gap, &Some(GapReason::NotReported));
    }
    assert_eq!(snaps[1].open_interest.value, None);
    // Pages 1-4 were scanned once.
    assert_eq!(requests_to(&server, paths::COINS_MARKETS).await.len(), 4);
    let mut pages_per_cycle = Vec::new();
    for k in 1..=u64::from(w) {
        let before = requests_to(&server, paths::COINS_MARKETS).await.len();
        src.poll(t0() + chrono::Duration::minutes(k as i64))
            .await
            .unwrap();
        pages_per_cycle.push(requests_to(&server, paths::COINS_MARKETS).await.len() - before);
    }
    // One page per cycle (BTC is on page 1) until the rescan is due again.
    assert!(
        pages_per_cycle[..(w as usize - 1)].iter().all(|n| *n == 1),
        "{pages_per_cycle:?}"
    );
    assert_eq!(pages_per_cycle[w as usize - 1], 4);
}
