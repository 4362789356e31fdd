//! One venue's REST transport: a GET with a timeout, a client-side budget per rate-limit pool
//! (fed by the venue's usage header where it sends one; a burst waits up to 3 s for room, then
//! is refused as rate limited), and the venue's refusals kept as its standing so no request
//! deepens them:
//!
//! * 429: paused until `Retry-After` (or the pool's window) has passed;
//! * 418, and 403 meaning "too frequent" (Bybit) or a WAF ban (Binance): banned until
//!   `Retry-After` (or 10 minutes);
//! * 451, and 403 for a blocked region: unavailable here; asked again once an hour, quietly.
//!
//! Nothing is retried inside a cycle: the next cycle asks again if the standing allows.

use super::venue::Venue;
use crate::model::GapReason;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Share of each pool's limit perpwatch allows itself (the rest is left to other tools on the
/// same IP, and to the server's own accounting differences).
pub(crate) const BUDGET_SHARE: f64 = 0.5;

/// The longest a request waits for room in its pool before it is refused as rate limited.
const MAX_BUDGET_WAIT: Duration = Duration::from_secs(3);

/// How long a ban lasts when the venue does not say (`Retry-After` missing).
const DEFAULT_BAN: Duration = Duration::from_secs(600);

/// How often a venue that refused this region is asked again.
const RESTRICTED_RECHECK: Duration = Duration::from_secs(3600);

/// A rate-limit pool of a venue: at most `limit` weight per `window` (e.g. Binance's 2400
/// weight per minute, or its 1000 requests per 5 minutes on `/futures/data`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Pool {
    pub name: &'static str,
    pub limit: u32,
    pub window: Duration,
}

/// What one request costs, in which pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cost {
    pub pool: &'static str,
    pub weight: u32,
}

/// How a venue's transport is set up.
#[derive(Debug, Clone)]
pub(crate) struct HttpSetup {
    pub venue: Venue,
    /// Scheme and host (and port), no trailing slash: `https://fapi.binance.com`.
    pub base_url: String,
    pub pools: Vec<Pool>,
    /// An answer header carrying the server's count of a pool's used weight
    /// (Binance `X-MBX-USED-WEIGHT-1M` → the `weight` pool).
    pub usage_header: Option<(&'static str, &'static str)>,
    pub timeout: Duration,
}

/// Why a request gave nothing.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum FetchError {
    /// The venue said 429 (or its envelope said "too many"), or our own budget is spent.
    #[error("{venue} rate limited")]
    RateLimited { venue: Venue },
    #[error("{venue} banned this IP until {}", hhmm(*until))]
    Banned { venue: Venue, until: DateTime<Utc> },
    #[error("{venue} is not available in this region (HTTP {status})")]
    Restricted { venue: Venue, status: u16 },
    #[error("{venue} answered HTTP {status}{}", body_suffix(body))]
    Status {
        venue: Venue,
        status: u16,
        body: String,
    },
    #[error("{venue} error: {message}")]
    Api { venue: Venue, message: String },
    #[error("{venue} unreachable: {0}", .message)]
    Transport { venue: Venue, message: String },
    #[error("{venue} sent an unexpected answer to {what}: {message}")]
    Decode {
        venue: Venue,
        what: String,
        message: String,
    },
}

impl FetchError {
    /// The gap a metric shows when this request was what it needed.
    pub(crate) fn gap(&self) -> GapReason {
        match self {
            FetchError::RateLimited { .. } => GapReason::RateLimited,
            FetchError::Restricted { .. } => GapReason::Unavailable(self.to_string()),
            other => GapReason::FetchFailed(other.to_string()),
        }
    }
}

/// `14:05Z`.
pub(crate) fn hhmm(t: DateTime<Utc>) -> String {
    t.format("%H:%MZ").to_string()
}

fn body_suffix(body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        format!(": {body}")
    }
}

/// How a venue stands with us, from its last refusals.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Standing {
    Ok,
    /// 429: no request until then.
    Paused {
        until: DateTime<Utc>,
    },
    /// 418 / 403: no request until then.
    Banned {
        until: DateTime<Utc>,
    },
    /// 451 / region 403: asked again at `recheck`.
    Restricted {
        status: u16,
    },
}

/// A pool's use in its current window, for `check` and the budget figures.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PoolUsage {
    pub name: &'static str,
    pub used: u32,
    pub limit: u32,
    pub window: Duration,
}

#[derive(Debug)]
struct Guard {
    standing: Standing,
    /// Until when `standing` holds (monotonic, so tests can pause time).
    standing_until: Option<Instant>,
    /// (sent at, pool, weight) of the requests inside the longest pool window.
    sent: VecDeque<(Instant, &'static str, u32)>,
    /// The server's own count of a pool, when it said one: (when, used).
    server_used: Option<(Instant, &'static str, u32)>,
    total: u64,
    this_cycle: u32,
}

/// One venue's REST transport. Cheap to clone; clones share the budget and standing.
#[derive(Debug, Clone)]
pub(crate) struct VenueHttp {
    setup: Arc<HttpSetup>,
    client: reqwest::Client,
    guard: Arc<Mutex<Guard>>,
}

impl VenueHttp {
    pub(crate) fn new(setup: HttpSetup) -> VenueHttp {
        VenueHttp {
            setup: Arc::new(setup),
            client: shared_client(),
            guard: Arc::new(Mutex::new(Guard {
                standing: Standing::Ok,
                standing_until: None,
                sent: VecDeque::new(),
                server_used: None,
                total: 0,
                this_cycle: 0,
            })),
        }
    }

    pub(crate) fn venue(&self) -> Venue {
        self.setup.venue
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, Guard> {
        self.guard.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// GETs `path` with `query` and decodes the JSON answer. `what` names the endpoint in errors.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        cost: Cost,
    ) -> Result<T, FetchError> {
        let text = self.get_text(path, query, cost).await?;
        serde_json::from_str(&text).map_err(|e| FetchError::Decode {
            venue: self.venue(),
            what: path.to_string(),
            message: e.to_string(),
        })
    }

    /// GETs `path` and returns the body of a 2xx answer.
    pub(crate) async fn get_text(
        &self,
        path: &str,
        query: &[(&str, String)],
        cost: Cost,
    ) -> Result<String, FetchError> {
        let venue = self.venue();
        self.admit_within_budget(cost).await?;
        let url = format!("{}{}", self.setup.base_url, path);
        let sent = self
            .client
            .get(&url)
            .query(query)
            .timeout(self.setup.timeout)
            .send()
            .await;
        let answer = match sent {
            Ok(a) => a,
            Err(e) => {
                let message = if e.is_timeout() {
                    "timed out".to_string()
                } else if e.is_connect() {
                    "connection failed".to_string()
                } else {
                    // reqwest's text names the URL; these are public endpoints, no secret.
                    e.without_url().to_string()
                };
                return Err(FetchError::Transport { venue, message });
            }
        };
        let status = answer.status().as_u16();
        let headers = answer.headers().clone();
        self.read_usage(&headers);
        let body = answer.text().await.unwrap_or_default();
        if (200..300).contains(&status) {
            return Ok(body);
        }
        let retry_after = headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        Err(self.refusal(status, &body, retry_after))
    }

    /// Takes a refusal the venue put in a 200 answer's envelope (Bybit `retCode` 10006, OKX
    /// code 50011): pauses like a 429.
    pub(crate) fn rate_limited_by_envelope(&self, retry_after: Option<Duration>) -> FetchError {
        self.refusal(429, "", retry_after)
    }

    /// Maps a non-2xx status to its error, updating the standing.
    fn refusal(&self, status: u16, body: &str, retry_after: Option<Duration>) -> FetchError {
        let venue = self.venue();
        let now = Instant::now();
        let too_frequent = body.to_ascii_lowercase().contains("too frequent")
            || body.to_ascii_lowercase().contains("too many");
        let mut g = self.guard();
        match status {
            429 => {
                let wait = retry_after
                    .unwrap_or_else(|| self.longest_window().min(Duration::from_secs(60)));
                g.standing = Standing::Paused {
                    until: Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default(),
                };
                g.standing_until = Some(now + wait);
                FetchError::RateLimited { venue }
            }
            418 => ban(&mut g, venue, retry_after.unwrap_or(DEFAULT_BAN), now),
            403 if too_frequent || venue == Venue::Binance => {
                ban(&mut g, venue, retry_after.unwrap_or(DEFAULT_BAN), now)
            }
            403 | 451 => {
                g.standing = Standing::Restricted { status };
                g.standing_until = Some(now + RESTRICTED_RECHECK);
                FetchError::Restricted { venue, status }
            }
            _ => FetchError::Status {
                venue,
                status,
                body: body.chars().take(120).collect(),
            },
        }
    }

    fn longest_window(&self) -> Duration {
        self.setup
            .pools
            .iter()
            .map(|p| p.window)
            .max()
            .unwrap_or(Duration::from_secs(60))
    }

    /// Refuses locally while the venue pauses or bans us; when the request would take a pool
    /// past our share, says how long until it would not; otherwise counts it.
    fn admit(&self, cost: Cost) -> Result<(), Refusal> {
        let venue = self.venue();
        let now = Instant::now();
        let mut g = self.guard();
        if g.standing_until.is_some_and(|until| now >= until) {
            g.standing = Standing::Ok;
            g.standing_until = None;
        }
        match g.standing {
            Standing::Ok => {}
            Standing::Paused { .. } => return Err(Refusal::Now(FetchError::RateLimited { venue })),
            Standing::Banned { until } => {
                return Err(Refusal::Now(FetchError::Banned { venue, until }))
            }
            Standing::Restricted { status } => {
                return Err(Refusal::Now(FetchError::Restricted { venue, status }))
            }
        }
        let longest = self.longest_window();
        while g
            .sent
            .front()
            .is_some_and(|(at, _, _)| now.duration_since(*at) > longest)
        {
            g.sent.pop_front();
        }
        if let Some(pool) = self.setup.pools.iter().find(|p| p.name == cost.pool) {
            let used = used_in(&g, pool, now);
            if f64::from(used + cost.weight) > f64::from(pool.limit) * BUDGET_SHARE {
                return Err(Refusal::Until(frees_at(&g, pool, now)));
            }
        }
        g.sent.push_back((now, cost.pool, cost.weight));
        g.total += 1;
        g.this_cycle += 1;
        Ok(())
    }

    /// [`VenueHttp::admit`], waiting (at most [`MAX_BUDGET_WAIT`]) for a pool's window to make
    /// room: a burst of a cycle's requests is spread instead of refused.
    async fn admit_within_budget(&self, cost: Cost) -> Result<(), FetchError> {
        loop {
            match self.admit(cost) {
                Ok(()) => return Ok(()),
                Err(Refusal::Now(e)) => return Err(e),
                Err(Refusal::Until(at)) if at <= Instant::now() + MAX_BUDGET_WAIT => {
                    tokio::time::sleep_until(at).await;
                }
                Err(Refusal::Until(_)) => {
                    return Err(FetchError::RateLimited {
                        venue: self.venue(),
                    })
                }
            }
        }
    }

    fn read_usage(&self, headers: &reqwest::header::HeaderMap) {
        let Some((header, pool)) = self.setup.usage_header else {
            return;
        };
        let used = headers
            .get(header)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u32>().ok());
        if let Some(used) = used {
            self.guard().server_used = Some((Instant::now(), pool, used));
        }
    }

    /// How the venue stands now.
    pub(crate) fn standing(&self) -> Standing {
        let mut g = self.guard();
        if g.standing_until
            .is_some_and(|until| Instant::now() >= until)
        {
            g.standing = Standing::Ok;
            g.standing_until = None;
        }
        g.standing.clone()
    }

    /// Each pool's use in its current window (the server's figure when it is higher).
    pub(crate) fn usage(&self) -> Vec<PoolUsage> {
        let now = Instant::now();
        let g = self.guard();
        self.setup
            .pools
            .iter()
            .map(|p| PoolUsage {
                name: p.name,
                used: used_in(&g, p, now),
                limit: p.limit,
                window: p.window,
            })
            .collect()
    }

    /// Requests sent since the last call (and since start).
    pub(crate) fn take_cycle_count(&self) -> (u32, u64) {
        let mut g = self.guard();
        let n = std::mem::take(&mut g.this_cycle);
        (n, g.total)
    }
}

/// One HTTP client for every venue: clients are cheap to clone but each built one carries its
/// own TLS configuration and connection pool (memory a 24/7 process keeps).
fn shared_client() -> reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .user_agent(concat!("perpwatch/", env!("CARGO_PKG_VERSION")))
                .build()
                .unwrap_or_default()
        })
        .clone()
}

/// Why a request may not go now.
enum Refusal {
    /// The venue's standing forbids it.
    Now(FetchError),
    /// Our share of a pool is used up until then.
    Until(Instant),
}

/// When the pool's use next drops: the oldest of our requests in it leaves the window, or the
/// server's count of it does.
fn frees_at(g: &Guard, pool: &Pool, now: Instant) -> Instant {
    let ours = g
        .sent
        .iter()
        .find(|(at, name, _)| *name == pool.name && now.duration_since(*at) <= pool.window)
        .map(|(at, _, _)| *at);
    let server = g
        .server_used
        .filter(|(at, name, used)| {
            *name == pool.name && *used > 0 && now.duration_since(*at) <= pool.window
        })
        .map(|(at, _, _)| at);
    let since = match (ours, server) {
        (Some(a), Some(b)) => a.max(b),
        (a, b) => a.or(b).unwrap_or(now),
    };
    since + pool.window + Duration::from_millis(1)
}

fn ban(g: &mut Guard, venue: Venue, wait: Duration, now: Instant) -> FetchError {
    let until = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
    g.standing = Standing::Banned { until };
    g.standing_until = Some(now + wait);
    FetchError::Banned { venue, until }
}

/// Weight a pool used inside its window: our own count, or the server's when it said more.
fn used_in(g: &Guard, pool: &Pool, now: Instant) -> u32 {
    let ours: u32 = g
        .sent
        .iter()
        .filter(|(at, name, _)| *name == pool.name && now.duration_since(*at) <= pool.window)
        .map(|(_, _, w)| *w)
        .sum();
    let server = g
        .server_used
        .filter(|(at, name, _)| *name == pool.name && now.duration_since(*at) <= pool.window)
        .map_or(0, |(_, _, used)| used);
    ours.max(server)
}

#[cfg(test)]
mod tests;
