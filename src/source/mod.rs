//! Where market data comes from. Every source implements [`Source`]: one call per cycle gives
//! one [`Snapshot`] per watched symbol, with each metric fresh, stale or absent (with the reason).
//! A source knows HTTP and JSON (or the simulation); nothing downstream does.
//!
//! * [`coinglass`]: the live CoinGlass API V4 source and its client;
//! * [`exchanges`]: Binance, Bybit and OKX public data, aggregated (no key needed);
//! * [`demo`]: the deterministic simulated market (`--demo`).

pub mod coinglass;
pub mod demo;
pub mod exchanges;

use crate::model::{Snapshot, SourceKind};
use chrono::{DateTime, Utc};

/// What the source is, for labels: `LIVE · HOBBYIST` or `DEMO`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLabel {
    pub kind: SourceKind,
    /// The plan name for CoinGlass (e.g. "HOBBYIST"); the venues for the exchanges source
    /// ("Binance+Bybit+OKX").
    pub plan: Option<String>,
}

impl std::fmt::Display for SourceLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.kind, &self.plan) {
            (SourceKind::Demo, _) => f.write_str("DEMO"),
            (SourceKind::Live | SourceKind::Exchanges, Some(plan)) => write!(f, "LIVE · {plan}"),
            (SourceKind::Live | SourceKind::Exchanges, None) => f.write_str("LIVE"),
        }
    }
}

/// Request accounting, for the status bar and the closing figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestStats {
    /// HTTP requests the last cycle sent (retries included).
    pub this_cycle: u32,
    /// Requests counted against the key in the current minute (server's figure when known).
    pub used_this_minute: Option<u32>,
    /// The key's per-minute limit.
    pub limit_per_minute: Option<u32>,
    /// Requests since start.
    pub total: u64,
}

/// How far a poll has got: requests answered (or given up) out of those it plans this cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PollProgress {
    pub done: u32,
    pub total: u32,
}

/// The terms of one poll: the moment the cycle stands for, the deadline by which the source must
/// return with whatever it has, and where it reports its progress (the monitor passes that on
/// to the frontends while a long cycle runs).
#[derive(Debug, Clone)]
pub struct PollContext {
    pub now: DateTime<Utc>,
    pub deadline: tokio::time::Instant,
    pub progress: tokio::sync::watch::Sender<PollProgress>,
    /// What has arrived so far, published while a long cycle runs (e.g. every symbol's funding
    /// from the one funding list) so frontends can show it before the cycle ends.
    pub arrived: tokio::sync::watch::Sender<Arrived>,
}

/// Snapshots of what a running cycle has fetched so far (`None` until something arrived).
pub type Arrived = Option<std::sync::Arc<Vec<Snapshot>>>;

impl PollContext {
    /// A poll at `now` that must end within `budget`, with nobody watching its progress.
    pub fn within(now: DateTime<Utc>, budget: std::time::Duration) -> PollContext {
        PollContext {
            now,
            deadline: tokio::time::Instant::now() + budget,
            progress: tokio::sync::watch::Sender::new(PollProgress::default()),
            arrived: tokio::sync::watch::Sender::new(None),
        }
    }
}

/// A market data source: live CoinGlass or the demo market. Knows HTTP and JSON (or simulation);
/// nothing after it does.
pub trait Source: Send {
    /// `LIVE · HOBBYIST` / `DEMO`.
    fn label(&self) -> SourceLabel;

    /// One snapshot per configured symbol, by `ctx.deadline`. `Err` only when the source cannot
    /// go on at all (the API key was refused); individual metric failures are inside the
    /// snapshots.
    fn poll(
        &mut self,
        ctx: &PollContext,
    ) -> impl std::future::Future<Output = Result<Vec<Snapshot>, FatalSourceError>> + Send;

    /// Request accounting so far.
    fn request_stats(&self) -> RequestStats;

    /// How each venue of a multi-venue source stands (the exchanges source); empty for the others.
    fn venues(&self) -> Vec<VenueStatus> {
        Vec::new()
    }
}

/// One venue's state, for the status bar, `check` and the JSON `venues` array. Field names are
/// a contract (README, "JSON output").
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VenueStatus {
    /// `binance`, `bybit`, `okx`.
    pub venue: String,
    /// Short state: `restricted region (HTTP 451)`, `banned until 14:05Z`, `rate limited`,
    /// `unreachable`, `failing`, `stream down 2m`, `stream connecting`, `ok`.
    pub state: String,
    /// What lies behind the state (the error, what is skipped), `None` when there is nothing to add.
    pub detail: Option<String>,
}

impl VenueStatus {
    /// Whether the venue is fully working (REST and stream).
    pub fn is_ok(&self) -> bool {
        self.state == "ok"
    }
}

/// The source cannot go on; the message is for the user (never contains a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FatalSourceError(pub String);
