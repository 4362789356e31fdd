//! What a cycle produced, as every consumer sees it: the monitor builds a [`CycleReport`] and hands
//! the same value to the frontends, the alerter and the history store. [`json`] is the one JSON
//! shape of a symbol's report, printed by `--json` and posted by the webhook sink.

pub(crate) mod json;

use crate::model::{Level, Snapshot};
use crate::signals::Signal;
use crate::source::{RequestStats, SourceLabel};
use chrono::{DateTime, Utc};

/// Points kept per symbol in the dashboard's sparklines (24 h at a 60 s poll); also the most
/// the store hands back when seeding them after a restart.
pub const HISTORY_CAP: usize = 1440;

/// One symbol's result of one cycle.
#[derive(Debug, Clone, PartialEq)]
pub struct SymbolReport {
    pub snapshot: Snapshot,
    pub signals: Vec<Signal>,
    pub level: Level,
}

/// Everything one cycle produced.
#[derive(Debug, Clone, PartialEq)]
pub struct CycleReport {
    pub cycle: u64,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub source: SourceLabel,
    pub symbols: Vec<SymbolReport>,
    pub requests: RequestStats,
    /// When the next cycle is due (None when paused or after `--once`).
    pub next_poll_at: Option<DateTime<Utc>>,
    /// Human-readable problems of this cycle (never containing a secret).
    pub errors: Vec<String>,
}

/// Sparkline points of one symbol, oldest first, for seeding the dashboard.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SparkSeed {
    pub symbol: String,
    pub funding_8h_pct: Vec<f64>,
    pub oi_usd: Vec<f64>,
}
