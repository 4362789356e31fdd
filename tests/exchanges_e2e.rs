//! The keyless exchanges source end to end: the real binary against local Binance, Bybit and
//! OKX mocks (REST and liquidation websockets). Nothing here reaches a real host.

mod common;

use common::venues::{Venues, BINANCE_LONG_USD, BYBIT_LONG_USD, OKX_SHORT_USD};
use common::{run, text, Sandbox};
use serde_json::Value;
use std::time::Duration;
use wiremock::{Mock, ResponseTemplate};

/// `perpwatch --no-ui --json --once --source exchanges --symbols …` against `venues`.
async fn once(venues: &Venues, symbols: &str) -> (Option<i32>, Vec<Value>, String) {
    let sandbox = Sandbox::new();
    let mut cmd = sandbox.command();
    cmd.envs(venues.env()).args([
        "--no-ui",
        "--json",
        "--once",
        "--source",
        "exchanges",
        "--poll-interval",
        "20s",
        "--symbols",
        symbols,
    ]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    let lines = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    (out.status.code(), lines, stderr)
}

fn venue<'a>(line: &'a Value, id: &str) -> &'a Value {
    line["venues"]
        .as_array()
        .and_then(|v| v.iter().find(|v| v["venue"] == id))
        .unwrap_or_else(|| panic!("no venue {id} in {line}"))
}

fn close(a: &Value, b: f64) -> bool {
    a.as_f64()
        .is_some_and(|a| (a - b).abs() <= 1e-9 * b.abs().max(1.0))
}

#[tokio::test]
async fn three_healthy_venues_give_one_aggregated_line_per_coin() {
    let venues = Venues::start(&["BTC", "ETH"], Duration::ZERO).await;
    let (code, lines, stderr) = once(&venues, "BTC,ETH").await;
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(lines.len(), 2, "{lines:?}");
    let btc = &lines[0];
    assert_eq!(btc["symbol"], "BTC");
    assert_eq!(btc["source"], "exchanges");
    for id in ["binance", "bybit", "okx"] {
        assert_eq!(venue(btc, id)["state"], "ok", "{btc}");
    }
    let m = &btc["metrics"];
    // Binance 0.01 % per 1 h, Bybit 0.02 % per 4 h, OKX 0.01 % per 8 h, weighted by OI
    // 5e9 (100,000 contracts × 50,000), 2e9 (one side), 1e9.
    let rows = m["funding_by_exchange"].as_array().expect("rows");
    assert_eq!(rows.len(), 3, "{m}");
    assert_eq!(rows[0]["exchange"], "Binance");
    assert!(close(&rows[0]["interval_hours"], 1.0), "{m}");
    assert!(close(&rows[0]["rate_8h_pct"], 0.08), "{m}");
    let want = (0.08 * 5e9 + 0.04 * 2e9 + 0.01 * 1e9) / 8e9;
    assert!(close(&m["funding_8h_pct"], want), "{m}");
    assert!(close(&m["oi_usd"], 8e9), "{m}");
    assert!(m["oi_change_24h_pct"].is_number(), "{m}");
    // The reference venue (Binance): 70 % of accounts long, top traders 45 %, taker 15 : 10.
    assert!(close(&m["retail_long_pct"], 70.0), "{m}");
    assert!(close(&m["top_long_pct"], 45.0), "{m}");
    assert!(close(&m["taker_buy_pct"], 60.0), "{m}");
    assert!(close(&m["price"], 50_000.0), "{m}");
    // One scripted liquidation per stream: Binance SELL and Bybit Buy are longs, OKX buy a short.
    assert!(
        close(&m["liq_long_1h_usd"], BINANCE_LONG_USD + BYBIT_LONG_USD),
        "{btc}"
    );
    assert!(close(&m["liq_short_1h_usd"], OKX_SHORT_USD), "{m}");
    assert_eq!(m["liq_lower_bound"], true, "{m}");
    // A single run covers a few seconds of the hour, and says so.
    assert!(
        m["liq_uncovered_s"].as_u64().is_some_and(|s| s > 3000),
        "{m}"
    );
    // The streams were asked on their documented routes.
    let paths = venues.ws.paths.lock().unwrap().clone();
    for route in [
        "/market/ws/!forceOrder@arr",
        "/v5/public/linear",
        "/ws/v5/public",
    ] {
        assert!(paths.iter().any(|p| p == route), "{route} not in {paths:?}");
    }
}

#[tokio::test]
async fn a_restricted_venue_is_said_once_and_the_others_carry_on() {
    let venues = Venues::start(&["BTC"], Duration::ZERO).await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(451).set_body_string("restricted location"))
        .with_priority(1)
        .expect(1)
        .mount(&venues.binance)
        .await;
    let (code, lines, stderr) = once(&venues, "BTC").await;
    assert_eq!(code, Some(0), "{stderr}");
    let btc = &lines[0];
    assert_eq!(
        venue(btc, "binance")["state"],
        "restricted region (HTTP 451)",
        "{btc}"
    );
    assert_eq!(venue(btc, "okx")["state"], "ok", "{btc}");
    let m = &btc["metrics"];
    let rows = m["funding_by_exchange"].as_array().expect("rows");
    let names: Vec<&str> = rows.iter().filter_map(|r| r["exchange"].as_str()).collect();
    assert_eq!(names, ["Bybit", "OKX"], "{m}");
    assert!(close(&m["oi_usd"], 3e9), "{m}");
    // Long/short comes from the reference venue, which refused: absent, with why.
    assert!(m["retail_long_pct"].is_null(), "{m}");
    let stale = btc["stale"].to_string();
    assert!(
        stale.contains("retail_long_short") && stale.contains("451"),
        "{stale}"
    );
    // The OI total lacks Binance's share, and says so.
    assert!(stale.contains("partial: Binance"), "{stale}");
}

#[tokio::test]
async fn a_coin_listed_on_no_venue_exits_2_naming_it_and_the_venues() {
    let venues = Venues::start(&["BTC"], Duration::ZERO).await;
    let (code, _, stderr) = once(&venues, "BTC,NOPE").await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("NOPE is not listed") && stderr.contains("binance, bybit, okx"),
        "{stderr}"
    );
}

/// `perpwatch check --source exchanges …` against `venues`.
async fn check(venues: &Venues, args: &[&str]) -> (Option<i32>, String, String) {
    let sandbox = Sandbox::new();
    let mut cmd = sandbox.command();
    cmd.envs(venues.env())
        .args(["check", "--source", "exchanges"])
        .args(args);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    (out.status.code(), stdout, stderr)
}

#[tokio::test]
async fn check_reaches_each_venue_and_prints_its_state_and_budget() {
    let venues = Venues::start(&["BTC", "ETH"], Duration::ZERO).await;
    let (code, stdout, stderr) = check(&venues, &["--symbols", "BTC,ETH"]).await;
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    for line in [
        "Binance:         ok",
        "Bybit:           ok",
        "OKX:             ok",
        "weight 1 of 2400 per 1m (ours: half)",
        "ip 1 of 600 per 5s (ours: half)",
    ] {
        assert!(stdout.contains(line), "{line:?} not in\n{stdout}");
    }
    // Bybit as the reference gives retail only, and says so.
    let (code, stdout, _) = check(
        &venues,
        &[
            "--symbols",
            "BTC",
            "--exchanges",
            "bybit,okx",
            "--reference-exchange",
            "bybit",
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains("top-trader long/short and taker flow not offered by Bybit"),
        "{stdout}"
    );
    assert!(!stdout.contains("Binance:"), "{stdout}");
}

#[tokio::test]
async fn check_stops_at_a_coin_no_venue_lists_and_says_which_coin_a_venue_skips() {
    let venues = Venues::start(&["BTC"], Duration::ZERO).await;
    let (code, stdout, stderr) = check(&venues, &["--symbols", "BTC,NOPE"]).await;
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert!(stdout.contains("not listed there: NOPE"), "{stdout}");
    assert!(
        stderr.contains("NOPE is not listed") && stderr.contains("binance, bybit, okx"),
        "{stderr}"
    );
}

/// Binance history in the documented shapes, answering each page by `startTime`/`endTime`/
/// `limit`: hourly klines (taker buys 60 % of the volume), funding every 8 h at 0.01 %, no
/// statistics rows.
struct BinanceHistory;

impl wiremock::Respond for BinanceHistory {
    fn respond(&self, req: &wiremock::Request) -> ResponseTemplate {
        let q = |k: &str| -> i64 {
            req.url
                .query_pairs()
                .find(|(key, _)| key == k)
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0)
        };
        let (start, end, limit) = (q("startTime"), q("endTime"), q("limit").max(1));
        let grid = |step: i64| {
            let first = start + (step - start.rem_euclid(step)) % step;
            (0..limit)
                .map(move |i| first + i * step)
                .take_while(move |t| *t <= end)
        };
        let body: Vec<Value> = match req.url.path() {
            "/fapi/v1/klines" => grid(3_600_000)
                .map(|t| {
                    serde_json::json!([
                        t,
                        "50000",
                        "50500",
                        "49500",
                        "50200",
                        "100",
                        t + 3_599_999,
                        "5000000",
                        10,
                        "60",
                        "3000000",
                        "0"
                    ])
                })
                .collect(),
            "/fapi/v1/fundingRate" => grid(8 * 3_600_000)
                .map(|t| {
                    serde_json::json!({"symbol": "BTCUSDT", "fundingTime": t,
                    "fundingRate": "0.00010000", "markPrice": "50000"})
                })
                .collect(),
            _ => Vec::new(),
        };
        ResponseTemplate::new(200).set_body_json(body)
    }
}

#[tokio::test]
async fn backtest_from_the_exchanges_reads_binance_history() {
    let venues = Venues::start(&["BTC"], Duration::ZERO).await;
    for at in ["/fapi/v1/klines", "/fapi/v1/fundingRate"] {
        Mock::given(wiremock::matchers::path(at))
            .respond_with(BinanceHistory)
            .with_priority(1)
            .mount(&venues.binance)
            .await;
    }
    Mock::given(wiremock::matchers::path_regex("^/futures/data/"))
        .respond_with(BinanceHistory)
        .with_priority(1)
        .mount(&venues.binance)
        .await;
    let sandbox = Sandbox::new();
    let mut cmd = sandbox.command();
    cmd.envs(venues.env()).args([
        "backtest",
        "--source",
        "exchanges",
        "--symbol",
        "BTC",
        "--interval",
        "1h",
        "--days",
        "3",
        "--json",
    ]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    let json: Value = serde_json::from_str(&stdout).expect("one JSON document");
    assert_eq!(json["source"], "binance", "{json}");
    assert_eq!(json["bars"], 3 * 24, "{json}");
    // The bars came from the local Binance mock.
    let klines = venues
        .binance
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == "/fapi/v1/klines")
        .count();
    assert!(klines >= 1, "klines asked");
}
