//! Builders for the values tests and benches need over and over: a source label, a signal, a
//! symbol's report, a cycle's report. Compiled only for tests and under the `test-support`
//! feature (which the crate's own tests and benches turn on), never into the release binary.

use crate::model::{Bias, Level, Snapshot, SourceKind};
use crate::report::{CycleReport, SymbolReport};
use crate::signals::{level_of, Signal, SignalId};
use crate::source::{RequestStats, SourceLabel};
use chrono::{DateTime, Utc};

/// `LIVE` (no plan) or `LIVE · <plan>`.
pub fn live_label(plan: Option<&str>) -> SourceLabel {
    SourceLabel {
        kind: SourceKind::Live,
        plan: plan.map(str::to_string),
    }
}

/// `LIVE · Binance+Bybit+OKX`: the exchanges source on every venue.
pub fn exchanges_label() -> SourceLabel {
    SourceLabel {
        kind: SourceKind::Exchanges,
        plan: Some("Binance+Bybit+OKX".to_string()),
    }
}

/// `DEMO`.
pub fn demo_label() -> SourceLabel {
    SourceLabel {
        kind: SourceKind::Demo,
        plan: None,
    }
}

/// A signal with the given id, level and bias, and free title and message.
pub fn signal(id: SignalId, level: Level, bias: Bias, title: &str, message: &str) -> Signal {
    Signal {
        id,
        level,
        bias,
        title: title.to_string(),
        message: message.to_string(),
        threshold: None,
        record: None,
        no_record: None,
    }
}

/// A symbol's report; its level is the highest of its signals' (as the monitor computes it).
pub fn symbol_report(snapshot: Snapshot, signals: Vec<Signal>) -> SymbolReport {
    SymbolReport {
        level: level_of(&signals),
        snapshot,
        signals,
    }
}

/// A finished cycle at `at` (started and finished then): no requests counted, no next poll,
/// no errors. Tests set those fields themselves where they matter.
pub fn cycle_report(
    cycle: u64,
    at: DateTime<Utc>,
    source: SourceLabel,
    symbols: Vec<SymbolReport>,
) -> CycleReport {
    CycleReport {
        cycle,
        started_at: at,
        finished_at: at,
        source,
        symbols,
        requests: RequestStats::default(),
        next_poll_at: None,
        errors: Vec::new(),
        venues: Vec::new(),
    }
}

/// A track record: fired 14 times in 180 days of 1h bars, a 3 % move within 24 h after 9 of
/// them (64 %) against 31 % after any bar, 11 either way (79 %).
pub fn record_9_hits_of_14() -> crate::signals::Record {
    crate::signals::Record {
        days: 180.0,
        interval: "1h".into(),
        fired: 14,
        scored: 14,
        hits: 9,
        hit_rate_pct: Some(9.0 / 14.0 * 100.0),
        base_rate_pct: Some(31.0),
        either_hit_pct: Some(11.0 / 14.0 * 100.0),
        horizon: "24h".into(),
        move_pct: 3.0,
    }
}
