//! A local mock of the CoinGlass V4 API answering in the real shapes (numbers sometimes as
//! strings, upper-cased exchange names, `coin_margin_list`), shared by the end-to-end tests.
#![allow(dead_code)] // each test binary uses part of it

pub(crate) mod venues;

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockBuilder, MockServer, Request, Respond, ResponseTemplate};

/// The key the tests use; it must never appear in any output or log.
pub(crate) const TEST_KEY: &str = "cg-test-key-5f1d2c3b4a-SECRET";

/// A V4 success envelope with the rate-limit headers every answer carries.
pub(crate) fn ok(data: Value) -> ResponseTemplate {
    envelope(json!({"code": "0", "msg": "success", "data": data}))
}

pub(crate) fn envelope(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("API-KEY-MAX-LIMIT", "30")
        .insert_header("API-KEY-USE-LIMIT", "1")
        .set_body_json(body)
}

/// Answers per `symbol` query parameter from a closure.
struct BySymbol(fn(&str) -> Value);

impl Respond for BySymbol {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let symbol = req
            .url
            .query_pairs()
            .find(|(k, _)| k == "symbol")
            .map(|(_, v)| v.to_string())
            .unwrap_or_default();
        ok((self.0)(&symbol))
    }
}

pub(crate) fn funding_list() -> Value {
    json!([
        {"symbol": "BTC",
         "stablecoin_margin_list": [
            {"exchange": "BINANCE", "funding_rate": 0.01, "funding_rate_interval": 8, "next_funding_time": 1764086400000u64},
            {"exchange": "OKX", "funding_rate": "0.0125", "funding_rate_interval": 1, "next_funding_time": 1764072000000u64},
            {"exchange": "Bybit", "funding_rate": 0.02, "funding_rate_interval": 4}
         ],
         "coin_margin_list": [
            {"exchange": "Binance", "funding_rate": 0.05, "funding_rate_interval": 8}
         ]},
        {"symbol": "ETH",
         "stablecoin_margin_list": [
            {"exchange": "Binance", "funding_rate": -0.08, "funding_rate_interval": 8},
            {"exchange": "OKX", "funding_rate": null, "funding_rate_interval": 8}
         ],
         "token_margin_list": []}
    ])
}

/// BTC: Binance $10B, OKX $5B, Bybit $5B → OI-weighted 8h funding
/// (0.01×10 + 0.10×5 + 0.04×5) / 20 = 0.04 %.
pub(crate) fn oi_list(symbol: &str) -> Value {
    match symbol {
        "BTC" => json!([
            {"exchange": "All", "symbol": "BTC", "open_interest_usd": 57.4e9, "open_interest_quantity": 600000.0,
             "open_interest_change_percent_5m": 0.3, "open_interest_change_percent_15m": 0.6,
             "open_interest_change_percent_30m": 1.4, "open_interest_change_percent_1h": 7.0,
             "open_interest_change_percent_4h": 9.0, "open_interest_change_percent_24h": 12.1},
            {"exchange": "Binance", "symbol": "BTC", "open_interest_usd": 10e9},
            {"exchange": "OKX", "symbol": "BTC", "open_interest_usd": "5000000000"},
            {"exchange": "Bybit", "symbol": "BTC", "open_interest_usd": 5e9}
        ]),
        "ETH" => json!([
            {"exchange": "All", "symbol": "ETH", "open_interest_usd": 20e9,
             "open_interest_change_percent_1h": -1.0}
        ]),
        other => json!([
            {"exchange": "All", "symbol": other, "open_interest_usd": 1e9,
             "open_interest_change_percent_5m": 0.1, "open_interest_change_percent_15m": 0.2,
             "open_interest_change_percent_30m": 0.4, "open_interest_change_percent_1h": 0.8,
             "open_interest_change_percent_4h": 1.5, "open_interest_change_percent_24h": 3.0},
            {"exchange": "Binance", "symbol": other, "open_interest_usd": 4e8},
            {"exchange": "OKX", "symbol": other, "open_interest_usd": 3e8}
        ]),
    }
}

/// Coins the mock's coins-markets pages list (Standard plan and above).
pub(crate) const COIN_UNIVERSE: [&str; 40] = [
    "BTC", "ETH", "SOL", "XRP", "DOGE", "BNB", "ADA", "AVAX", "LINK", "DOT", "TRX", "TON", "SUI",
    "LTC", "BCH", "NEAR", "APT", "ARB", "OP", "INJ", "ATOM", "FIL", "ETC", "HBAR", "XLM", "AAVE",
    "UNI", "SEI", "TIA", "WLD", "PEPE", "WIF", "ORDI", "JUP", "PYTH", "ENA", "RUNE", "STX", "IMX",
    "MKR",
];

/// One coins-markets row per coin of the universe.
pub(crate) fn coins_markets() -> Value {
    let rows: Vec<Value> = COIN_UNIVERSE
        .iter()
        .map(|c| {
            json!({"symbol": c, "current_price": 100.0, "avg_funding_rate_by_oi": 0.01,
                   "open_interest_usd": 1e9, "open_interest_change_percent_5m": 0.1,
                   "open_interest_change_percent_15m": 0.2, "open_interest_change_percent_30m": 0.4,
                   "open_interest_change_percent_1h": 0.8, "open_interest_change_percent_4h": 1.5,
                   "open_interest_change_percent_24h": 3.0, "price_change_percent_1h": 0.3,
                   "price_change_percent_24h": 1.2, "liquidation_usd_1h": 2e6,
                   "long_liquidation_usd_1h": 1.2e6, "short_liquidation_usd_1h": 8e5})
        })
        .collect();
    Value::Array(rows)
}

pub(crate) fn liq_list(symbol: &str) -> Value {
    match symbol {
        "BTC" => json!([
            {"exchange": "All", "liquidation_usd": 62e6, "long_liquidation_usd": 55e6, "short_liquidation_usd": 7e6},
            {"exchange": "Binance", "liquidation_usd": 30e6, "long_liquidation_usd": 27e6, "short_liquidation_usd": 3e6}
        ]),
        _ => {
            json!([{"exchange": "All", "liquidation_usd": 1e6, "long_liquidation_usd": 4e5, "short_liquidation_usd": 6e5}])
        }
    }
}

pub(crate) fn taker(symbol: &str) -> Value {
    json!({"symbol": symbol, "buy_ratio": 68.0, "sell_ratio": 32.0, "buy_vol_usd": 6.8e9, "sell_vol_usd": 3.2e9,
           "exchange_list": [{"exchange": "Binance", "buy_ratio": 66.0, "sell_ratio": 34.0}]})
}

pub(crate) fn pairs_markets(symbol: &str) -> Value {
    let price = if symbol == "BTC" { 97000.0 } else { 3500.0 };
    json!([
        {"instrument_id": format!("{symbol}USDT"), "exchange_name": "Binance", "symbol": format!("{symbol}/USDT"),
         "current_price": price, "price_change_percent_24h": -2.5, "open_interest_usd": 10e9, "funding_rate": 0.01}
    ])
}

/// Long/short history answering with the latest bar of the requested interval at the mock's
/// clock (the real clock, or a simulated one a benchmark drives).
struct LongShortBars {
    pop: &'static str,
    long: f64,
    clock: Option<SimClock>,
}

/// Milliseconds since the epoch, set by whoever simulates time.
pub(crate) type SimClock = std::sync::Arc<std::sync::atomic::AtomicI64>;

impl Respond for LongShortBars {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let now_ms = match &self.clock {
            Some(c) => c.load(std::sync::atomic::Ordering::SeqCst),
            None => chrono::Utc::now().timestamp_millis(),
        };
        let interval_ms = req
            .url
            .query_pairs()
            .find(|(k, _)| k == "interval")
            .and_then(|(_, v)| interval_ms(&v))
            .unwrap_or(4 * 3600 * 1000);
        ok(ls_history(
            self.pop,
            self.long,
            now_ms - now_ms % interval_ms,
        ))
    }
}

/// `30m` → 1_800_000.
fn interval_ms(s: &str) -> Option<i64> {
    let (num, unit) = s.split_at(s.len().checked_sub(1)?);
    let n: i64 = num.parse().ok()?;
    let unit_ms = match unit {
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => return None,
    };
    Some(n * unit_ms)
}

fn ls_history(pop: &str, long: f64, bar: i64) -> Value {
    json!([{
        "time": bar,
        format!("{pop}_account_long_percent"): format!("{long}"),
        format!("{pop}_account_short_percent"): format!("{}", 100.0 - long),
        format!("{pop}_account_long_short_ratio"): long / (100.0 - long)
    }])
}

/// How the mock behaves.
#[derive(Debug, Clone)]
pub(crate) struct MockOptions {
    /// The subscription level it reports: "HOBBYIST", "STANDARD", …
    pub level: &'static str,
    /// Added to every answer.
    pub delay: std::time::Duration,
    /// The clock long/short bars follow (None: the real clock).
    pub clock: Option<SimClock>,
}

impl Default for MockOptions {
    fn default() -> Self {
        MockOptions {
            level: "HOBBYIST",
            delay: std::time::Duration::ZERO,
            clock: None,
        }
    }
}

/// Starts a mock that answers every endpoint the monitor calls on the Hobbyist plan.
pub(crate) async fn coinglass() -> MockServer {
    coinglass_with(MockOptions::default()).await
}

/// Starts a mock that answers every endpoint the monitor calls, as `opts` says.
pub(crate) async fn coinglass_with(opts: MockOptions) -> MockServer {
    let server = MockServer::start().await;
    let limit = level_limit(opts.level);
    mount_market_with(&server, opts.delay, limit, opts.clock.clone()).await;
    Mock::given(method("GET"))
        .and(path("/api/user/account/subscription"))
        .and(header("CG-API-KEY", TEST_KEY))
        .respond_with(Served {
            inner: Box::new(Fixed(
                json!({"level": opts.level, "expire_time": 4102444800000u64, "expired": false}),
            )),
            delay: opts.delay,
            limit,
        })
        .mount(&server)
        .await;
    server
}

/// Mounts the market endpoints (not the subscription).
pub(crate) async fn mount_market(server: &MockServer) {
    mount_market_with(server, std::time::Duration::ZERO, 30, None).await
}

/// Answers every request after `delay`, with the plan's per-minute limit in the header.
struct Served {
    inner: Box<dyn Respond>,
    delay: std::time::Duration,
    limit: u32,
}

impl Respond for Served {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        self.inner
            .respond(req)
            .set_delay(self.delay)
            .insert_header("API-KEY-MAX-LIMIT", self.limit.to_string().as_str())
    }
}

/// A fixed answer as a responder.
struct Fixed(Value);

impl Respond for Fixed {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        ok(self.0.clone())
    }
}

/// Requests per minute of a subscription level, as CoinGlass sends in `API-KEY-MAX-LIMIT`.
fn level_limit(level: &str) -> u32 {
    match level.to_ascii_uppercase().as_str() {
        "STARTUP" => 80,
        "STANDARD" => 300,
        "PROFESSIONAL" => 1200,
        _ => 30,
    }
}

async fn mount_market_with(
    server: &MockServer,
    delay: std::time::Duration,
    limit: u32,
    clock: Option<SimClock>,
) {
    let get = |p: &'static str| Mock::given(method("GET")).and(path(p));
    // In mounting order: the first mock that matches answers.
    let routes: Vec<(MockBuilder, Box<dyn Respond>)> = vec![
        (
            get("/api/futures/funding-rate/exchange-list"),
            Box::new(Fixed(funding_list())),
        ),
        (
            get("/api/futures/open-interest/exchange-list"),
            Box::new(BySymbol(oi_list)),
        ),
        (
            get("/api/futures/liquidation/exchange-list").and(query_param("range", "1h")),
            Box::new(BySymbol(liq_list)),
        ),
        (
            get("/api/futures/taker-buy-sell-volume/exchange-list"),
            Box::new(BySymbol(taker)),
        ),
        (
            get("/api/futures/pairs-markets"),
            Box::new(BySymbol(pairs_markets)),
        ),
        (
            get("/api/futures/coins-markets").and(query_param("page", "1")),
            Box::new(Fixed(coins_markets())),
        ),
        (
            get("/api/futures/coins-markets"),
            Box::new(Fixed(json!([]))),
        ),
        (
            get("/api/futures/global-long-short-account-ratio/history")
                .and(query_param("exchange", "Binance")),
            Box::new(LongShortBars {
                pop: "global",
                long: 70.0,
                clock: clock.clone(),
            }),
        ),
        (
            get("/api/futures/top-long-short-account-ratio/history")
                .and(query_param("exchange", "Binance")),
            Box::new(LongShortBars {
                pop: "top",
                long: 52.0,
                clock,
            }),
        ),
    ];
    for (route, inner) in routes {
        route
            .respond_with(Served {
                inner,
                delay,
                limit,
            })
            .mount(server)
            .await;
    }
}

/// The venues' base-URL variables and their schemes.
pub(crate) const VENUE_URL_VARS: [(&str, &str); 6] = [
    ("BINANCE_FAPI_URL", "http"),
    ("BINANCE_WS_URL", "ws"),
    ("BYBIT_API_URL", "http"),
    ("BYBIT_WS_URL", "ws"),
    ("OKX_API_URL", "http"),
    ("OKX_WS_URL", "ws"),
];

/// A port nothing listens on (the discard service's, unprivileged tests cannot bind it).
pub(crate) const CLOSED_PORT: u16 = 9;

/// A sandbox for one run of the binary: its own HOME, config dir, data dir and cwd, so no user
/// file or `.env` leaks in.
pub(crate) struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub(crate) fn new() -> Self {
        Sandbox {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The binary with a clean environment pointing into the sandbox. The venues' base URLs
    /// point at a closed local port: a run that forgot `--demo` (or a key) fails there instead
    /// of reaching Binance, Bybit or OKX.
    pub(crate) fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_perpwatch"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.path())
            .env("XDG_CONFIG_HOME", self.path().join("config"))
            .env("XDG_DATA_HOME", self.path().join("xdg-data"))
            .env("PERPWATCH_DATA_DIR", self.data_dir())
            .current_dir(self.path());
        for (var, scheme) in VENUE_URL_VARS {
            cmd.env(var, format!("{scheme}://127.0.0.1:{CLOSED_PORT}"));
        }
        cmd
    }

    /// The binary as [`Sandbox::command`] makes it, on the test key with `server` as the CoinGlass
    /// base URL.
    pub(crate) fn live_command(&self, server: &MockServer) -> Command {
        let mut cmd = self.command();
        cmd.env("COINGLASS_API_KEY", TEST_KEY)
            .env("COINGLASS_BASE_URL", server.uri());
        cmd
    }

    /// Everything perpwatch wrote to its log directory.
    pub(crate) fn logs(&self) -> String {
        let mut all = String::new();
        if let Ok(entries) = std::fs::read_dir(self.data_dir().join("logs")) {
            for e in entries.flatten() {
                all.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
            }
        }
        all
    }
}

pub(crate) fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs a blocking command from an async test without stalling the mock server.
pub(crate) async fn run(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().expect("run perpwatch"))
        .await
        .expect("join")
}

/// Sends SIGTERM to `child` and waits for it (at most 5 s, then kills it and panics).
/// Returns the exit status and how long the exit took.
#[cfg(unix)]
pub(crate) fn terminate(
    child: &mut std::process::Child,
) -> (std::process::ExitStatus, std::time::Duration) {
    terminate_within(child, 5)
}

/// Sends SIGTERM to `child` and waits up to `secs` for the exit (then kills it and panics).
#[cfg(unix)]
pub(crate) fn terminate_within(
    child: &mut std::process::Child,
    secs: u64,
) -> (std::process::ExitStatus, std::time::Duration) {
    use std::time::{Duration, Instant};
    let sent = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success(), "kill -TERM failed");
    loop {
        if let Some(status) = child.try_wait().expect("wait for perpwatch") {
            return (status, sent.elapsed());
        }
        if sent.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            panic!("still running {secs} s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Polls `cond` every 10 ms until it holds; panics naming `what` once `secs` seconds have passed.
pub(crate) async fn wait_until(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !cond() {
        assert!(
            std::time::Instant::now() < until,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// Captures this thread's log lines (the tests run on a current-thread runtime, so the tasks
/// they spawn log here too).
#[derive(Clone, Default)]
pub(crate) struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}

impl Logs {
    /// Captures DEBUG and above until the guard is dropped.
    pub(crate) fn install(&self) -> tracing::subscriber::DefaultGuard {
        self.install_at(tracing::Level::DEBUG)
    }

    /// Captures `level` and above until the guard is dropped.
    pub(crate) fn install_at(&self, level: tracing::Level) -> tracing::subscriber::DefaultGuard {
        tracing::subscriber::set_default(
            tracing_subscriber::fmt()
                .with_writer(self.clone())
                .with_ansi(false)
                .with_max_level(level)
                .finish(),
        )
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The requests `server` received for `path`, oldest first.
pub(crate) async fn requests_to(server: &MockServer, path: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path() == path)
        .collect()
}

const HISTORY_HOUR_MS: i64 = 3_600_000;

/// Answers every CoinGlass history path with at most `limit` bars from `start_time` (before
/// `end_time`), in the path's own field names, values as numeric strings: price swings ±10 % on
/// a slow sine, funding ±0.12 % (past the static extremes now and then).
pub(crate) struct HistoryPages {
    /// Bar length; `None`: the request's `interval` (1h, 4h or 6h; anything else is a 400).
    pub interval_ms: Option<i64>,
    /// Retail long % swings 40–70 on its own sine; otherwise it stays at 55.
    pub retail_swings: bool,
    /// The funding bars' open.
    pub funding_open: &'static str,
}

impl Respond for HistoryPages {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let param = |k: &str| {
            req.url
                .query_pairs()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.to_string())
        };
        let iv = match (self.interval_ms, param("interval").as_deref()) {
            (Some(ms), _) => ms,
            (None, Some("6h")) => 6 * HISTORY_HOUR_MS,
            (None, Some("4h")) => 4 * HISTORY_HOUR_MS,
            (None, Some("1h")) => HISTORY_HOUR_MS,
            (None, _) => return ResponseTemplate::new(400),
        };
        let num = |k: &str| param(k).and_then(|v| v.parse::<i64>().ok());
        let (Some(start), Some(end), Some(limit)) =
            (num("start_time"), num("end_time"), num("limit"))
        else {
            return ok(json!({"code": "400"}));
        };
        let first = start + (iv - start.rem_euclid(iv)) % iv;
        let p = req.url.path().to_string();
        let rows: Vec<Value> = (0..limit)
            .map(|i| first + i * iv)
            .take_while(|t| *t < end)
            .map(|t| {
                let x = (t / iv) as f64;
                let price = 100.0 + 10.0 * (x / 9.0).sin();
                if p.contains("liquidation") {
                    json!({"time": t, "aggregated_long_liquidation_usd": 1e6, "aggregated_short_liquidation_usd": 2e6})
                } else if p.contains("global-long-short") {
                    let long = if self.retail_swings {
                        format!("{}", 55.0 + 15.0 * (x / 7.0).sin())
                    } else {
                        "55".to_string()
                    };
                    json!({"time": t, "global_account_long_percent": long, "global_account_short_percent": "45"})
                } else if p.contains("top-long-short") {
                    json!({"time": t, "top_account_long_percent": "50.0", "top_account_short_percent": "50.0"})
                } else if p.contains("taker") {
                    json!({"time": t, "taker_buy_volume_usd": "600", "taker_sell_volume_usd": "400"})
                } else if p.contains("funding") {
                    let f = 0.12 * (x / 5.0).sin();
                    json!({"time": t, "open": self.funding_open, "high": "0.2", "low": "0", "close": format!("{f}")})
                } else {
                    json!({"time": t, "open": format!("{price}"), "high": format!("{}", price + 1.0), "low": format!("{}", price - 1.0), "close": format!("{price}")})
                }
            })
            .collect();
        ok(Value::Array(rows))
    }
}
