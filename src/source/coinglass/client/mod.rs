//! Transport: one generic `GET` with the V4 envelope, typed errors, retries and the rate limiter,
//! plus thin typed wrappers for the endpoints perpwatch reads.
//!
//! The API key travels only in the `CG-API-KEY` header (marked sensitive); every error text is
//! built from the endpoint path, the query (which never holds the key) and the server's message,
//! and is scrubbed of the key once more before it leaves this module.

use super::budget::{Limiter, Plan, RateLimitHint};
use super::wire::{
    CoinMarket, Envelope, ExchangeName, ExchangePairs, FundingCoin, LiquidationBar,
    LiquidationExchangeRow, LongShortBar, OhlcBar, OiExchangeRow, PairMarket, Subscription,
    TakerBar, TakerExchangeList,
};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

mod classify;

use classify::classify;

/// Production base URL (overridable through `COINGLASS_BASE_URL` in the config layer).
pub const DEFAULT_BASE_URL: &str = "https://open-api-v4.coinglass.com";
/// Bytes of an unexpected body kept in [`ApiError::Malformed`].
pub(crate) const BODY_HEAD_BYTES: usize = 200;

/// Endpoint paths (V4).
pub mod paths {
    pub const SUBSCRIPTION: &str = "/api/user/account/subscription";
    pub const FUNDING_EXCHANGE_LIST: &str = "/api/futures/funding-rate/exchange-list";
    pub const FUNDING_OI_WEIGHT_HISTORY: &str = "/api/futures/funding-rate/oi-weight-history";
    pub const OI_EXCHANGE_LIST: &str = "/api/futures/open-interest/exchange-list";
    pub const OI_AGGREGATED_HISTORY: &str = "/api/futures/open-interest/aggregated-history";
    pub const LIQUIDATION_EXCHANGE_LIST: &str = "/api/futures/liquidation/exchange-list";
    pub const LIQUIDATION_AGGREGATED_HISTORY: &str = "/api/futures/liquidation/aggregated-history";
    pub const TAKER_EXCHANGE_LIST: &str = "/api/futures/taker-buy-sell-volume/exchange-list";
    pub const TAKER_PAIR_HISTORY: &str = "/api/futures/v2/taker-buy-sell-volume/history";
    pub const GLOBAL_LONG_SHORT_HISTORY: &str =
        "/api/futures/global-long-short-account-ratio/history";
    pub const TOP_LONG_SHORT_HISTORY: &str = "/api/futures/top-long-short-account-ratio/history";
    pub const TOP_POSITION_LONG_SHORT_HISTORY: &str =
        "/api/futures/top-long-short-position-ratio/history";
    pub const PAIRS_MARKETS: &str = "/api/futures/pairs-markets";
    pub const COINS_MARKETS: &str = "/api/futures/coins-markets";
    pub const PRICE_HISTORY: &str = "/api/futures/price/history";
    pub const SUPPORTED_EXCHANGES: &str = "/api/futures/supported-exchanges";
    pub const SUPPORTED_EXCHANGE_PAIRS: &str = "/api/futures/supported-exchange-pairs";
}

/// Transport knobs; the defaults are the production values, tests shorten them.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientOptions {
    pub connect_timeout: Duration,
    /// Whole request, body included.
    pub request_timeout: Duration,
    /// Attempts per request for transient and rate-limit failures (1 = no retry).
    pub max_attempts: u32,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// The limiter's window (the API counts per minute; tests may shorten it).
    pub rate_window: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
            max_attempts: 3,
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(8),
            rate_window: Duration::from_secs(60),
        }
    }
}

/// Why a request failed. `endpoint` is the path and query (never the key).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// Missing or invalid key, or an expired subscription: fatal (exit code 3).
    #[error("{endpoint}: the API key was refused ({detail})")]
    Unauthorized { endpoint: String, detail: String },
    /// The endpoint or interval is not in the key's plan: degrade, do not retry.
    #[error("{endpoint}: not in your plan ({detail})")]
    PlanGated { endpoint: String, detail: String },
    /// Wrong path or parameter: a bug, not retried.
    #[error("{endpoint}: bad request ({detail})")]
    BadRequest { endpoint: String, detail: String },
    #[error("{endpoint}: rate limited ({detail})")]
    RateLimited { endpoint: String, detail: String },
    /// 5xx, timeouts, refused or reset connections.
    #[error("{endpoint}: temporary failure ({detail})")]
    Transient { endpoint: String, detail: String },
    /// The body was not the expected JSON; `body_head` holds at most its first 200 bytes.
    #[error("{endpoint}: unexpected answer ({detail}); body starts with {body_head:?}")]
    Malformed {
        endpoint: String,
        detail: String,
        body_head: String,
    },
}

impl ApiError {
    pub fn endpoint(&self) -> &str {
        match self {
            ApiError::Unauthorized { endpoint, .. }
            | ApiError::PlanGated { endpoint, .. }
            | ApiError::BadRequest { endpoint, .. }
            | ApiError::RateLimited { endpoint, .. }
            | ApiError::Transient { endpoint, .. }
            | ApiError::Malformed { endpoint, .. } => endpoint,
        }
    }

    /// The source cannot go on (the caller exits with code 3).
    pub fn is_fatal(&self) -> bool {
        matches!(self, ApiError::Unauthorized { .. })
    }

    /// Worth another attempt after a pause.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ApiError::Transient { .. } | ApiError::RateLimited { .. }
        )
    }

    /// Short kind name for logs and gap texts.
    pub fn kind(&self) -> &'static str {
        match self {
            ApiError::Unauthorized { .. } => "unauthorized",
            ApiError::PlanGated { .. } => "not in plan",
            ApiError::BadRequest { .. } => "bad request",
            ApiError::RateLimited { .. } => "rate limited",
            ApiError::Transient { .. } => "temporary failure",
            ApiError::Malformed { .. } => "malformed answer",
        }
    }

    /// A rate-limit error that says how long every request now waits.
    fn with_pause(self, pause: Duration) -> ApiError {
        match self {
            ApiError::RateLimited { endpoint, detail } => ApiError::RateLimited {
                endpoint,
                detail: format!(
                    "{detail}; every request waits {} s for the key's window to clear",
                    pause.as_secs_f64().ceil() as u64
                ),
            },
            other => other,
        }
    }

    fn map_text(self, f: impl Fn(String) -> String) -> ApiError {
        match self {
            ApiError::Unauthorized { endpoint, detail } => ApiError::Unauthorized {
                endpoint: f(endpoint),
                detail: f(detail),
            },
            ApiError::PlanGated { endpoint, detail } => ApiError::PlanGated {
                endpoint: f(endpoint),
                detail: f(detail),
            },
            ApiError::BadRequest { endpoint, detail } => ApiError::BadRequest {
                endpoint: f(endpoint),
                detail: f(detail),
            },
            ApiError::RateLimited { endpoint, detail } => ApiError::RateLimited {
                endpoint: f(endpoint),
                detail: f(detail),
            },
            ApiError::Transient { endpoint, detail } => ApiError::Transient {
                endpoint: f(endpoint),
                detail: f(detail),
            },
            ApiError::Malformed {
                endpoint,
                detail,
                body_head,
            } => ApiError::Malformed {
                endpoint: f(endpoint),
                detail: f(detail),
                body_head: f(body_head),
            },
        }
    }
}

/// Query parameters of one request.
pub(crate) type Params = Vec<(&'static str, String)>;

/// Common parameters of the history endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryQuery {
    /// V4 spelling: `1m … 4h … 1d 1w`.
    pub interval: String,
    /// Rows (API default and maximum 1000).
    pub limit: Option<u32>,
    /// Epoch milliseconds.
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
}

impl HistoryQuery {
    pub fn new(interval: impl Into<String>) -> HistoryQuery {
        HistoryQuery {
            interval: interval.into(),
            limit: None,
            start_time: None,
            end_time: None,
        }
    }

    pub fn limit(mut self, limit: u32) -> HistoryQuery {
        self.limit = Some(limit);
        self
    }

    pub fn range_ms(mut self, start_time: i64, end_time: i64) -> HistoryQuery {
        self.start_time = Some(start_time);
        self.end_time = Some(end_time);
        self
    }

    fn push(&self, params: &mut Params) {
        params.push(("interval", self.interval.clone()));
        if let Some(l) = self.limit {
            params.push(("limit", l.to_string()));
        }
        if let Some(s) = self.start_time {
            params.push(("start_time", s.to_string()));
        }
        if let Some(e) = self.end_time {
            params.push(("end_time", e.to_string()));
        }
    }
}

/// Which long/short population.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LongShortKind {
    /// Retail: all accounts.
    GlobalAccount,
    TopAccount,
    TopPosition,
}

impl LongShortKind {
    pub fn path(self) -> &'static str {
        match self {
            LongShortKind::GlobalAccount => paths::GLOBAL_LONG_SHORT_HISTORY,
            LongShortKind::TopAccount => paths::TOP_LONG_SHORT_HISTORY,
            LongShortKind::TopPosition => paths::TOP_POSITION_LONG_SHORT_HISTORY,
        }
    }
}

/// CoinGlass V4 client. Cheap to clone; clones share the limiter and the request counter.
#[derive(Clone)]
pub struct CoinGlassClient {
    inner: Arc<Inner>,
    /// Requests of the key's window this clone leaves to the others (0: none, it is one of
    /// them). See [`CoinGlassClient::background`].
    give_way: u32,
}

/// How often a [`CoinGlassClient::background`] request looks again for room in the window.
const GIVE_WAY_POLL: Duration = Duration::from_secs(1);

struct Inner {
    http: reqwest::Client,
    base_url: String,
    key: SecretString,
    options: ClientOptions,
    limiter: Limiter,
    requests: AtomicU64,
}

impl fmt::Debug for CoinGlassClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CoinGlassClient")
            .field("base_url", &self.inner.base_url)
            .field("api_key", &"[redacted]")
            .field("requests_total", &self.requests_total())
            .finish()
    }
}

impl CoinGlassClient {
    /// A client for `base_url` (no trailing path). The limiter starts at the Hobbyist figure
    /// until the plan or an `API-KEY-MAX-LIMIT` header says otherwise.
    pub fn new(
        base_url: impl Into<String>,
        api_key: SecretString,
        options: ClientOptions,
    ) -> Result<CoinGlassClient, ApiError> {
        let base_url = base_url.into().trim().trim_end_matches('/').to_owned();
        let setup = |detail: &str| ApiError::BadRequest {
            endpoint: "client setup".into(),
            detail: detail.into(),
        };
        if api_key.expose_secret().trim().is_empty() {
            return Err(ApiError::Unauthorized {
                endpoint: "client setup".into(),
                detail: "no API key given".into(),
            });
        }
        let mut key_header =
            HeaderValue::from_str(api_key.expose_secret().trim()).map_err(|_| {
                ApiError::Unauthorized {
                    endpoint: "client setup".into(),
                    detail: "the API key contains characters not allowed in an HTTP header".into(),
                }
            })?;
        key_header.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert("CG-API-KEY", key_header);
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(options.connect_timeout)
            .timeout(options.request_timeout)
            .user_agent(concat!("perpwatch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| setup(&error_chain(&e.without_url())))?;
        if reqwest::Url::parse(&base_url).is_err() {
            return Err(setup("the base URL is not a valid URL"));
        }
        Ok(CoinGlassClient {
            inner: Arc::new(Inner {
                http,
                base_url,
                limiter: Limiter::new(Plan::Hobbyist.requests_per_minute(), options.rate_window),
                key: SecretString::from(api_key.expose_secret().trim().to_owned()),
                options,
                requests: AtomicU64::new(0),
            }),
            give_way: 0,
        })
    }

    /// A clone (same key, limiter and counter) for work that must not slow the live polls, such
    /// as history downloads: each of its requests first waits until the key's window has more
    /// than `reserve` requests to spare (and no 429 pause), so a poll cycle costing up to
    /// `reserve` requests always finds its room. `reserve` is capped so that background work
    /// still gets one request whenever the window is empty.
    pub fn background(&self, reserve: u32) -> CoinGlassClient {
        CoinGlassClient {
            inner: Arc::clone(&self.inner),
            give_way: reserve,
        }
    }

    /// Waits until a background request may go (see [`CoinGlassClient::background`]).
    async fn give_way(&self) {
        if self.give_way == 0 {
            return;
        }
        let limiter = &self.inner.limiter;
        loop {
            let allowed = super::budget::allowed_per_window(limiter.limit());
            let reserve = self.give_way.min(allowed.saturating_sub(1));
            if !limiter.is_throttled() && limiter.used_this_minute() + reserve < allowed {
                return;
            }
            tokio::time::sleep(GIVE_WAY_POLL).await;
        }
    }

    /// The shared limiter (plan limit, usage this minute).
    pub fn limiter(&self) -> &Limiter {
        &self.inner.limiter
    }

    /// Request attempts since creation, retries included, also those that never reached the
    /// server (the limiter refunds those: they spend no budget).
    pub fn requests_total(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    pub fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    /// `GET path?params`, unwrapped from the envelope and decoded as `T`.
    ///
    /// Every attempt waits for the limiter; an attempt that never reached the server gives its
    /// slot back. Transient and rate-limit failures are retried with exponential backoff and
    /// jitter, at most `max_attempts` times in all; a 429 pauses every request of this client
    /// (not just this one) until the key's window clears. Dropping the future (a cycle deadline)
    /// stops it at once, whether it is waiting for the limiter, in flight or backing off.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        params: &[(&str, String)],
    ) -> Result<T, ApiError> {
        let endpoint = endpoint_name(path, params);
        let url = format!("{}{}", self.inner.base_url, path);
        let attempts = self.inner.options.max_attempts.max(1);
        self.give_way().await;
        let mut attempt = 1;
        loop {
            let permit = self.inner.limiter.acquire().await;
            self.inner.requests.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(endpoint = %endpoint, attempt, probe = permit.is_probe(), "coinglass request");
            let (result, delivery) = self.send_once::<T>(&endpoint, &url, params).await;
            let result = result.map_err(|e| self.scrub(e));
            let outcome = result.as_ref().map_or_else(ApiError::kind, |_| "ok");
            metrics::counter!("perpwatch_requests_total", "endpoint" => path.to_owned(), "outcome" => outcome).increment(1);
            let mut err = match result {
                Ok(v) => {
                    permit.answered();
                    return Ok(v);
                }
                Err(e) => e,
            };
            match delivery {
                Delivery::NotSent => permit.not_sent(),
                Delivery::NoAnswer => permit.no_answer(),
                Delivery::Answered(hint) if matches!(err, ApiError::RateLimited { .. }) => {
                    if let Some(pause) = permit.rate_limited(hint) {
                        err = err.with_pause(pause);
                    }
                }
                Delivery::Answered(_) => permit.answered(),
            }
            if !err.is_retryable() || attempt >= attempts {
                if err.is_fatal() {
                    // The caller stops and tells the user once; don't say it twice.
                    tracing::debug!(error = %err, attempt, "coinglass request refused");
                } else {
                    // The source sums a cycle's failures up once per distinct problem.
                    tracing::debug!(error = %err, attempt, "coinglass request failed");
                }
                return Err(err);
            }
            let delay = self.backoff(attempt);
            tracing::info!(error = %err, attempt, delay_ms = delay.as_millis() as u64, "coinglass request will be retried");
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// One attempt, and how far it got (for the limiter).
    async fn send_once<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        url: &str,
        params: &[(&str, String)],
    ) -> (Result<T, ApiError>, Delivery) {
        let resp = match self.inner.http.get(url).query(params).send().await {
            Ok(resp) => resp,
            Err(e) => {
                // Connect errors (refused, DNS, connect timeout, TLS) and builder errors happen
                // before a byte of the request is sent.
                let delivery = if e.is_connect() || e.is_builder() {
                    Delivery::NotSent
                } else {
                    Delivery::NoAnswer
                };
                return (Err(transport_error(endpoint, e)), delivery);
            }
        };
        let status = resp.status().as_u16();
        let headers = resp.headers();
        let header_u32 = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|s| s.trim().parse::<u32>().ok())
        };
        let hint = RateLimitHint {
            retry_after: headers
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after),
            max_limit: header_u32("API-KEY-MAX-LIMIT"),
            used: header_u32("API-KEY-USE-LIMIT"),
        };
        if hint.max_limit.is_some() || hint.used.is_some() {
            self.inner
                .limiter
                .observe_headers(hint.max_limit, hint.used);
        }
        let delivery = Delivery::Answered(hint);
        match resp.bytes().await {
            Ok(body) => (decode(endpoint, status, &body), delivery),
            Err(e) => (Err(transport_error(endpoint, e)), delivery),
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let o = &self.inner.options;
        let exp = o
            .backoff_base
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(o.backoff_cap);
        // Equal jitter: half fixed, half random, so concurrent retries spread out.
        let half = exp / 2;
        half + half.mul_f64(fastrand::f64())
    }

    /// Removes the key from every text of an error (a server could echo it back).
    fn scrub(&self, e: ApiError) -> ApiError {
        let key = self.inner.key.expose_secret();
        if key.is_empty() {
            return e;
        }
        e.map_text(|s| {
            if s.contains(key) {
                s.replace(key, "[redacted]")
            } else {
                s
            }
        })
    }

    // -----------------------------------------------------------------------------------------
    // Typed endpoints
    // -----------------------------------------------------------------------------------------

    /// The key's plan: `{level, expire_time, expired}`.
    pub async fn subscription(&self) -> Result<Subscription, ApiError> {
        self.get(paths::SUBSCRIPTION, &[]).await
    }

    /// Current funding of every coin on every exchange (one request for all coins).
    pub async fn funding_exchange_list(&self) -> Result<Vec<FundingCoin>, ApiError> {
        self.get(paths::FUNDING_EXCHANGE_LIST, &[]).await
    }

    /// Open interest of one coin per exchange (first row `All`).
    pub async fn oi_exchange_list(&self, coin: &str) -> Result<Vec<OiExchangeRow>, ApiError> {
        self.get(paths::OI_EXCHANGE_LIST, &[("symbol", coin.to_owned())])
            .await
    }

    /// Liquidations of one coin over a rolling `range` (`1h`, `4h`, `12h`, `24h`).
    pub async fn liquidation_exchange_list(
        &self,
        coin: &str,
        range: &str,
    ) -> Result<Vec<LiquidationExchangeRow>, ApiError> {
        self.get(
            paths::LIQUIDATION_EXCHANGE_LIST,
            &[("range", range.to_owned()), ("symbol", coin.to_owned())],
        )
        .await
    }

    /// Taker buy/sell of one coin over `range` (an object with an `exchange_list`).
    pub async fn taker_exchange_list(
        &self,
        coin: &str,
        range: &str,
    ) -> Result<TakerExchangeList, ApiError> {
        self.get(
            paths::TAKER_EXCHANGE_LIST,
            &[("symbol", coin.to_owned()), ("range", range.to_owned())],
        )
        .await
    }

    /// Every pair of one coin: price, OI, funding, 24h liquidations.
    pub async fn pairs_markets(&self, coin: &str) -> Result<Vec<PairMarket>, ApiError> {
        self.get(paths::PAIRS_MARKETS, &[("symbol", coin.to_owned())])
            .await
    }

    /// One page (1-based) of every coin's market figures (Standard+).
    pub async fn coins_markets(
        &self,
        page: u32,
        per_page: u32,
    ) -> Result<Vec<CoinMarket>, ApiError> {
        self.get(
            paths::COINS_MARKETS,
            &[
                ("page", page.to_string()),
                ("per_page", per_page.to_string()),
            ],
        )
        .await
    }

    /// Long/short account (or position) history of one exchange pair (`symbol` = `BTCUSDT`).
    pub async fn long_short_history(
        &self,
        kind: LongShortKind,
        exchange: &str,
        pair: &str,
        query: &HistoryQuery,
    ) -> Result<Vec<LongShortBar>, ApiError> {
        let mut p: Params = vec![
            ("exchange", exchange.to_owned()),
            ("symbol", pair.to_owned()),
        ];
        query.push(&mut p);
        self.get(kind.path(), &p).await
    }

    /// Aggregated open-interest OHLC of one coin (USD).
    pub async fn oi_aggregated_history(
        &self,
        coin: &str,
        query: &HistoryQuery,
    ) -> Result<Vec<OhlcBar>, ApiError> {
        self.coin_history(paths::OI_AGGREGATED_HISTORY, coin, None, query)
            .await
    }

    /// OI-weighted funding OHLC of one coin (percent per interval as served).
    pub async fn funding_oi_weight_history(
        &self,
        coin: &str,
        query: &HistoryQuery,
    ) -> Result<Vec<OhlcBar>, ApiError> {
        self.coin_history(paths::FUNDING_OI_WEIGHT_HISTORY, coin, None, query)
            .await
    }

    /// Aggregated liquidations of one coin over `exchanges` (required, no "all" value).
    pub async fn liquidation_aggregated_history(
        &self,
        coin: &str,
        exchanges: &[String],
        query: &HistoryQuery,
    ) -> Result<Vec<LiquidationBar>, ApiError> {
        self.coin_history(
            paths::LIQUIDATION_AGGREGATED_HISTORY,
            coin,
            Some(exchanges),
            query,
        )
        .await
    }

    /// Taker buy/sell volume history of one exchange pair (`symbol` = `BTCUSDT`).
    pub async fn taker_pair_history(
        &self,
        exchange: &str,
        pair: &str,
        query: &HistoryQuery,
    ) -> Result<Vec<TakerBar>, ApiError> {
        let mut p: Params = vec![
            ("exchange", exchange.to_owned()),
            ("symbol", pair.to_owned()),
        ];
        query.push(&mut p);
        self.get(paths::TAKER_PAIR_HISTORY, &p).await
    }

    /// Price OHLC of one exchange pair.
    pub async fn price_history(
        &self,
        exchange: &str,
        pair: &str,
        query: &HistoryQuery,
    ) -> Result<Vec<OhlcBar>, ApiError> {
        let mut p: Params = vec![
            ("exchange", exchange.to_owned()),
            ("symbol", pair.to_owned()),
        ];
        query.push(&mut p);
        self.get(paths::PRICE_HISTORY, &p).await
    }

    pub async fn supported_exchanges(&self) -> Result<Vec<ExchangeName>, ApiError> {
        self.get(paths::SUPPORTED_EXCHANGES, &[]).await
    }

    /// Pairs per exchange, optionally of one exchange only.
    pub async fn supported_exchange_pairs(
        &self,
        exchange: Option<&str>,
    ) -> Result<ExchangePairs, ApiError> {
        let p: Params = exchange
            .map(|e| vec![("exchange", e.to_owned())])
            .unwrap_or_default();
        self.get(paths::SUPPORTED_EXCHANGE_PAIRS, &p).await
    }

    async fn coin_history<T: DeserializeOwned>(
        &self,
        path: &str,
        coin: &str,
        exchanges: Option<&[String]>,
        query: &HistoryQuery,
    ) -> Result<Vec<T>, ApiError> {
        let mut p: Params = Vec::with_capacity(6);
        if let Some(ex) = exchanges {
            p.push(("exchange_list", ex.join(",")));
        }
        p.push(("symbol", coin.to_owned()));
        query.push(&mut p);
        self.get(path, &p).await
    }
}

/// `path?k=v&…` for messages (parameters never hold the key).
fn endpoint_name(path: &str, params: &[(&str, String)]) -> String {
    if params.is_empty() {
        return path.to_owned();
    }
    let q: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{path}?{}", q.join("&"))
}

/// The error and its causes, without the URL.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        src = s.source();
    }
    out
}

fn transport_error(endpoint: &str, e: reqwest::Error) -> ApiError {
    let e = e.without_url();
    // The innermost cause ("Connection refused (os error 111)", "failed to lookup address …")
    // is what a user can act on; reqwest's and hyper's wrappers around it are not.
    let root = {
        let mut inner: &(dyn std::error::Error + 'static) = &e;
        while let Some(next) = inner.source() {
            inner = next;
        }
        inner.to_string()
    };
    let detail = if e.is_timeout() {
        format!("timed out: {root}")
    } else if e.is_connect() {
        format!("cannot connect: {root}")
    } else {
        error_chain(&e)
    };
    if e.is_builder() {
        ApiError::BadRequest {
            endpoint: endpoint.to_owned(),
            detail,
        }
    } else {
        ApiError::Transient {
            endpoint: endpoint.to_owned(),
            detail,
        }
    }
}

/// First [`BODY_HEAD_BYTES`] of a body, cut on a character boundary.
pub(crate) fn body_head(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(BODY_HEAD_BYTES)]).into_owned();
    let mut end = text.len().min(BODY_HEAD_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// How far one attempt got, for the limiter.
#[derive(Debug, Clone, Copy)]
enum Delivery {
    /// Nothing reached the server (refused connection, DNS failure, connect timeout).
    NotSent,
    /// Sent, but no answer arrived (timeout, reset).
    NoAnswer,
    /// The server answered (any status), with what its headers said about the key's window.
    Answered(RateLimitHint),
}

/// `Retry-After` in seconds (the HTTP-date form is not used by APIs like this one and is
/// ignored).
fn parse_retry_after(v: &str) -> Option<Duration> {
    let secs = v.trim().parse::<f64>().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

/// Turns one HTTP answer into `T` or a typed error.
pub(crate) fn decode<T: DeserializeOwned>(
    endpoint: &str,
    status: u16,
    body: &[u8],
) -> Result<T, ApiError> {
    let envelope = serde_json::from_slice::<Envelope>(body);
    let malformed = |detail: String| ApiError::Malformed {
        endpoint: endpoint.to_owned(),
        detail,
        body_head: body_head(body),
    };
    if !(200..300).contains(&status) {
        let msg = envelope
            .as_ref()
            .ok()
            .and_then(|e| e.msg.clone())
            .unwrap_or_default();
        return Err(classify(
            endpoint,
            &format!("HTTP {status}"),
            Some(status),
            &msg,
        ));
    }
    let envelope = envelope.map_err(|e| malformed(format!("not a JSON envelope: {e}")))?;
    let code = envelope
        .code
        .as_deref()
        .map(str::trim)
        .ok_or_else(|| malformed("envelope without a code".into()))?;
    if code != "0" {
        let msg = envelope.msg.as_deref().unwrap_or("");
        return Err(match code.parse::<u16>() {
            Ok(n) => classify(endpoint, &format!("code {n}"), Some(n), msg),
            Err(_) => classify(endpoint, &format!("unexpected code {code:?}"), None, msg),
        });
    }
    // A missing or null `data` on a list endpoint means "no rows".
    let data = envelope.data.unwrap_or(serde_json::Value::Null);
    match serde_json::from_value::<T>(data.clone()) {
        Ok(v) => Ok(v),
        Err(first) if data.is_null() => {
            serde_json::from_value::<T>(serde_json::Value::Array(Vec::new()))
                .map_err(|_| malformed(format!("no data: {first}")))
        }
        Err(e) => Err(malformed(format!("data has an unexpected shape: {e}"))),
    }
}

#[cfg(test)]
mod tests;
