//! The poll loop: owns the schedule, asks the source for snapshots, evaluates signals and sends one
//! [`Update`] per event to whichever frontend runs. It is the only producer of updates.

use crate::model::{Level, Snapshot, SourceKind};
use crate::signals::Signal;
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// What the source is, for labels: `LIVE · HOBBYIST` or `DEMO`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLabel {
    pub kind: SourceKind,
    /// The plan name for live sources (e.g. "HOBBYIST").
    pub plan: Option<String>,
}

impl std::fmt::Display for SourceLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.kind, &self.plan) {
            (SourceKind::Demo, _) => f.write_str("DEMO"),
            (SourceKind::Live, Some(plan)) => write!(f, "LIVE · {plan}"),
            (SourceKind::Live, None) => f.write_str("LIVE"),
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

/// Messages from the monitor to the frontend.
#[derive(Debug, Clone)]
pub enum Update {
    /// A cycle began fetching.
    CycleStarted { cycle: u64, at: DateTime<Utc> },
    /// A cycle finished.
    Cycle(Arc<CycleReport>),
    /// Polling paused or resumed (by a command).
    Paused(bool),
    /// The source cannot go on (the API key was refused). Frontends exit with code 3.
    Fatal(String),
}

/// Messages from the frontend to the monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    RefreshNow,
    TogglePause,
}
