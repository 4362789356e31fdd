//! What a cycle produced, as every consumer sees it: the monitor builds a [`CycleReport`] and hands
//! the same value to the frontends, the alerter and the history store. [`json`] is the one JSON
//! shape of a symbol's report, printed by `--json` and posted by the webhook sink.

pub(crate) mod json;

use crate::model::{Field, GapReason, Level, Snapshot, SourceKind};
use crate::signals::Signal;
use crate::source::{RequestStats, SourceLabel, VenueStatus};
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
    /// Each venue's state (exchanges source; empty for the others).
    pub venues: Vec<VenueStatus>,
}

impl SymbolReport {
    /// Whether this cycle fetched any of the symbol's metrics: a fresh value observed at or after
    /// the cycle's moment. Values carried over by schedule keep their older observation time, and
    /// stale values (kept after a failure) have a gap, so neither counts.
    pub fn fetched_anything(&self) -> bool {
        MetricCounts::of(&self.snapshot).fetched > 0
    }
}

impl CycleReport {
    /// Whether any metric of any symbol was fetched in this cycle.
    pub fn fetched_anything(&self) -> bool {
        self.symbols.iter().any(SymbolReport::fetched_anything)
    }

    /// `Some(cause)` when the cycle fetched nothing at all (a dead source), see
    /// [`CycleReport::main_cause`]. `None` when anything was fetched.
    pub fn no_data(&self) -> Option<String> {
        if self.fetched_anything() {
            return None;
        }
        let cause = self
            .main_cause()
            .unwrap_or_else(|| "nothing was fetched this cycle".to_string());
        if self.source.kind != SourceKind::Exchanges {
            return Some(cause);
        }
        // The exchanges source: which venues failed and why, and where to look instead.
        let down: Vec<String> = self
            .venues
            .iter()
            .filter(|v| !v.is_ok())
            .map(venue_text)
            .collect();
        let what = if down.is_empty() {
            cause
        } else {
            down.join("; ")
        };
        Some(format!("{what}; try --demo for the simulated market"))
    }

    /// Why values are missing this cycle: the most common failure (the first one seen on a
    /// tie), or, without a failure, the most common reason a value is missing. `None` when
    /// nothing is missing.
    pub fn main_cause(&self) -> Option<String> {
        let gaps: Vec<GapReason> = self
            .symbols
            .iter()
            .flat_map(|s| s.snapshot.gaps())
            .map(|g| g.reason)
            .collect();
        let failures: Vec<&GapReason> = gaps.iter().filter(|r| is_failure(r)).collect();
        let pool: Vec<&GapReason> = if failures.is_empty() {
            gaps.iter().collect()
        } else {
            failures
        };
        let mut counts: Vec<(String, usize)> = Vec::new();
        for reason in pool {
            let text = cause_text(reason);
            match counts.iter_mut().find(|(t, _)| *t == text) {
                Some((_, n)) => *n += 1,
                None => counts.push((text, 1)),
            }
        }
        // `max_by_key` keeps the last of equals: scan reversed so the first seen wins a tie.
        counts
            .into_iter()
            .rev()
            .max_by_key(|(_, n)| *n)
            .map(|(text, _)| text)
    }
}

/// Fresh / stale / absent metric groups of one snapshot, and how many of the fresh ones this
/// cycle fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MetricCounts {
    pub fresh: usize,
    pub stale: usize,
    pub absent: usize,
    pub fetched: usize,
}

impl MetricCounts {
    pub fn of(s: &Snapshot) -> MetricCounts {
        let mut c = MetricCounts::default();
        let mut add = |value: bool, gap: bool, observed: Option<DateTime<Utc>>| {
            match (value, gap) {
                (true, false) => {
                    c.fresh += 1;
                    // Values carried over by schedule keep their original observation time.
                    if observed.is_some_and(|at| at >= s.time) {
                        c.fetched += 1;
                    }
                }
                (true, true) => c.stale += 1,
                (false, _) => c.absent += 1,
            }
        };
        // A partial sum is new this cycle: it counts as fresh (its gap says which share is
        // missing).
        fn parts<T>(f: &Field<T>) -> (bool, bool, Option<DateTime<Utc>>) {
            let stale = f
                .gap
                .as_ref()
                .is_some_and(|g| !matches!(g, GapReason::Partial(_)));
            (f.value.is_some(), stale, f.observed_at)
        }
        for (value, gap, observed) in [
            parts(&s.funding),
            parts(&s.open_interest),
            parts(&s.liquidations),
            parts(&s.retail),
            parts(&s.top),
            parts(&s.taker),
            parts(&s.price),
        ] {
            add(value, gap, observed);
        }
        c
    }
}

/// A fetch that went wrong (as opposed to a value the plan or the API does not have).
pub fn is_failure(reason: &GapReason) -> bool {
    matches!(reason, GapReason::FetchFailed(_) | GapReason::RateLimited)
}

/// What a dead source's cause reads as after "no data: ": the failure itself, without the
/// "fetch failed" every failure shares.
fn cause_text(reason: &GapReason) -> String {
    match reason {
        GapReason::FetchFailed(why) => why.clone(),
        other => other.to_string(),
    }
}

/// `Bybit stream down 2m` or, with what lies behind it, `Binance restricted region (HTTP 451):
/// the venue refuses this region`: one venue's state in words.
pub fn venue_text(v: &VenueStatus) -> String {
    let name = crate::source::exchanges::Venue::parse(&v.venue)
        .map_or(v.venue.as_str(), |venue| venue.name());
    let head = format!("{name} {}", v.state);
    match &v.detail {
        // A detail that is the error itself already starts with "Binance unreachable".
        Some(detail) if detail.starts_with(&head) => detail.clone(),
        Some(detail) => format!("{head}: {detail}"),
        None => head,
    }
}

/// Sparkline points of one symbol, oldest first, for seeding the dashboard.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SparkSeed {
    pub symbol: String,
    pub funding_8h_pct: Vec<f64>,
    pub oi_usd: Vec<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{cycle_report, live_label, symbol_report};
    use crate::model::{Funding, SourceKind};
    use chrono::Duration;

    fn report(snapshots: Vec<Snapshot>) -> CycleReport {
        let at = snapshots.first().map_or_else(Utc::now, |s| s.time);
        let symbols = snapshots
            .into_iter()
            .map(|s| symbol_report(s, vec![]))
            .collect();
        cycle_report(1, at, live_label(Some("HOBBYIST")), symbols)
    }

    fn failing(symbol: &str, now: DateTime<Utc>, reasons: [&GapReason; 7]) -> Snapshot {
        let mut s = Snapshot::new(symbol, SourceKind::Live, now);
        let [a, b, c, d, e, f, g] = reasons.map(|r| r.clone());
        s.funding = Field::absent(a);
        s.open_interest = Field::absent(b);
        s.liquidations = Field::absent(c);
        s.retail = Field::absent(d);
        s.top = Field::absent(e);
        s.taker = Field::absent(f);
        s.price = Field::absent(g);
        s
    }

    #[test]
    fn one_fresh_value_anywhere_is_data() {
        let now = Utc::now();
        let http = GapReason::FetchFailed("HTTP 500".into());
        let dead = failing("ETH", now, [&http; 7]);
        let mut alive = failing("BTC", now, [&http; 7]);
        alive.taker = Field::fresh(Default::default(), now);
        let r = report(vec![alive, dead]);
        assert!(r.fetched_anything());
        assert!(r.symbols[0].fetched_anything());
        assert!(!r.symbols[1].fetched_anything());
        assert_eq!(r.no_data(), None);
    }

    #[test]
    fn stale_and_carried_over_values_are_not_fetched_this_cycle() {
        let now = Utc::now();
        let earlier = now - Duration::minutes(3);
        let timeout = GapReason::FetchFailed("timed out".into());
        let mut s = failing("BTC", now, [&timeout; 7]);
        // Kept after a failure: stale.
        s.funding = Field::fresh(Funding::default(), earlier);
        s.funding.mark_failed(timeout.clone());
        // Carried over by schedule: fresh, but observed in an earlier cycle.
        s.retail = Field::fresh(
            crate::model::LongShort {
                long_pct: Some(55.0),
                short_pct: Some(45.0),
                bar_time: earlier,
                source: "Binance BTCUSDT 4h".into(),
            },
            earlier,
        );
        let r = report(vec![s]);
        assert!(!r.fetched_anything());
        assert_eq!(r.no_data().as_deref(), Some("timed out"));
    }

    #[test]
    fn the_cause_is_the_most_common_failure_and_the_first_seen_on_a_tie() {
        let now = Utc::now();
        let refused = GapReason::FetchFailed("connection refused".into());
        let http = GapReason::FetchFailed("HTTP 500".into());
        let rate = GapReason::RateLimited;
        let gate = GapReason::NotInPlan;
        // 4 × refused, 3 × HTTP 500 … in BTC; ETH adds 3 rate limited and 4 gates (not failures).
        let btc = failing(
            "BTC",
            now,
            [&http, &refused, &refused, &http, &refused, &http, &refused],
        );
        let eth = failing(
            "ETH",
            now,
            [&rate, &rate, &rate, &gate, &gate, &gate, &gate],
        );
        assert_eq!(
            report(vec![btc.clone(), eth]).no_data().as_deref(),
            Some("connection refused")
        );
        let tie = failing(
            "BTC",
            now,
            [&http, &refused, &http, &refused, &gate, &gate, &gate],
        );
        assert_eq!(report(vec![tie]).no_data().as_deref(), Some("HTTP 500"));
        let limited = failing(
            "BTC",
            now,
            [&rate, &rate, &gate, &gate, &gate, &gate, &gate],
        );
        assert_eq!(
            report(vec![limited]).no_data().as_deref(),
            Some("rate limited")
        );
        // Without any failure, the most common reason a value is missing.
        let empty = GapReason::NotReported;
        let quiet = failing(
            "BTC",
            now,
            [&empty, &empty, &empty, &gate, &gate, &empty, &empty],
        );
        assert_eq!(
            report(vec![quiet]).no_data().as_deref(),
            Some("not reported by the API")
        );
    }

    fn venue(venue: &str, state: &str, detail: Option<&str>) -> VenueStatus {
        VenueStatus {
            venue: venue.into(),
            state: state.into(),
            detail: detail.map(str::to_string),
        }
    }

    #[test]
    fn a_dead_exchanges_cycle_names_each_failed_venue_and_suggests_the_demo() {
        let now = Utc::now();
        let refused = GapReason::FetchFailed("Bybit unreachable: connection refused".into());
        let mut s = failing("BTC", now, [&refused; 7]);
        s.source = SourceKind::Exchanges;
        let mut r = report(vec![s.clone()]);
        r.source = crate::fixtures::exchanges_label();
        r.venues = vec![
            venue("binance", "restricted region (HTTP 451)", None),
            venue("bybit", "unreachable", Some("connection refused")),
            // A detail that is the error itself is not prefixed twice.
            venue("okx", "unreachable", Some("OKX unreachable: timed out")),
        ];
        assert_eq!(
            r.no_data().as_deref(),
            Some(
                "Binance restricted region (HTTP 451); Bybit unreachable: connection refused; \
                 OKX unreachable: timed out; try --demo for the simulated market"
            )
        );
        // Without venue states, the most common failure, and the same suggestion.
        r.venues.clear();
        assert_eq!(
            r.no_data().as_deref(),
            Some("Bybit unreachable: connection refused; try --demo for the simulated market")
        );
        // Something fetched: no cause at all.
        let mut alive = s;
        alive.price = Field::fresh(Default::default(), now);
        r.symbols = vec![symbol_report(alive, vec![])];
        assert_eq!(r.no_data(), None);
        // CoinGlass cycles say the cause alone.
        let dead = failing("BTC", now, [&refused; 7]);
        assert_eq!(
            report(vec![dead]).no_data().as_deref(),
            Some("Bybit unreachable: connection refused")
        );
    }
}
