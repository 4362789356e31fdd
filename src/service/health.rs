//! The health state machine behind `/healthz`, the systemd STATUS line and the watchdog: what the
//! last cycle fetched, and whether cycles still complete. Pure: every method takes the moment.

use crate::model::Level;
use crate::report::{CycleReport, MetricCounts};
use std::time::Duration;
use tokio::time::Instant;

/// Cycles perpwatch may miss before it counts as stalled: the same window for `/healthz` and
/// for the watchdog pings.
pub(crate) const STALL_CYCLES: u32 = 3;

/// Longest cause quoted in a reason (a gap reason may quote an API message).
const MAX_CAUSE_CHARS: usize = 160;

/// What one finished cycle amounts to, for health and status.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CycleSummary {
    pub(crate) cycle: u64,
    pub(crate) duration: Duration,
    pub(crate) symbols: usize,
    /// Metric groups (7 per symbol) with a current value.
    pub(crate) fresh: usize,
    /// Metric groups showing a value kept from an earlier cycle, with the reason.
    pub(crate) stale: usize,
    /// Metric groups without a value.
    pub(crate) absent: usize,
    /// Metric groups whose value was fetched by this very cycle (not carried over).
    pub(crate) fetched: usize,
    /// Why nothing (or not everything) was fetched: the most frequent failure of the cycle.
    pub(crate) cause: Option<String>,
    pub(crate) signals: usize,
    pub(crate) level: Level,
    pub(crate) requests: u32,
    /// The poll interval the monitor runs at (the time to the next poll it announced), which may
    /// be longer than configured when the plan's budget stretched it.
    pub(crate) interval: Option<Duration>,
}

impl CycleSummary {
    pub(crate) fn of(report: &CycleReport) -> CycleSummary {
        let mut totals = MetricCounts::default();
        for sym in &report.symbols {
            let c = MetricCounts::of(&sym.snapshot);
            totals.fresh += c.fresh;
            totals.stale += c.stale;
            totals.absent += c.absent;
            totals.fetched += c.fetched;
        }
        let cause = match report.main_cause() {
            Some(c) => Some(cut(&c)),
            None if report.symbols.is_empty() => Some("no symbol was polled".to_string()),
            None => None,
        };
        CycleSummary {
            interval: report
                .next_poll_at
                .and_then(|next| (next - report.started_at).to_std().ok())
                .filter(|d| !d.is_zero()),
            cycle: report.cycle,
            duration: (report.finished_at - report.started_at)
                .to_std()
                .unwrap_or_default(),
            symbols: report.symbols.len(),
            fresh: totals.fresh,
            stale: totals.stale,
            absent: totals.absent,
            fetched: totals.fetched,
            cause,
            signals: report.symbols.iter().map(|s| s.signals.len()).sum(),
            level: report
                .symbols
                .iter()
                .map(|s| s.level)
                .max()
                .unwrap_or_default(),
            requests: report.requests.this_cycle,
        }
    }

    /// The cycle fetched no metric of any symbol.
    pub(crate) fn fetched_nothing(&self) -> bool {
        self.fetched == 0
    }

    /// One line for systemd's STATUS (and the log): what the cycle saw.
    pub(crate) fn status_line(&self) -> String {
        if self.fetched_nothing() {
            return format!(
                "cycle {}: no data: {}",
                self.cycle,
                self.cause.as_deref().unwrap_or("nothing was fetched")
            );
        }
        let mut line = format!(
            "cycle {}: {} fresh, {} stale, {} absent metric groups of {} symbol{}; {} signal{}",
            self.cycle,
            self.fresh,
            self.stale,
            self.absent,
            self.symbols,
            if self.symbols == 1 { "" } else { "s" },
            self.signals,
            if self.signals == 1 { "" } else { "s" },
        );
        if self.level > Level::None {
            line.push_str(&format!(" (highest {})", self.level));
        }
        line.push_str(&format!("; {} requests", self.requests));
        if let Some(cause) = self
            .cause
            .as_deref()
            .filter(|_| self.stale + self.absent > 0)
        {
            line.push_str(&format!("; gaps: {cause}"));
        }
        line
    }
}

fn cut(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() <= MAX_CAUSE_CHARS {
        one_line
    } else {
        let head: String = one_line.chars().take(MAX_CAUSE_CHARS).collect();
        format!("{head}…")
    }
}

/// `/healthz`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub(crate) healthy: bool,
    pub(crate) reason: String,
}

/// The state behind `/healthz` and the watchdog.
#[derive(Debug, Clone)]
pub(crate) struct Health {
    poll_interval: Duration,
    started: Instant,
    last: Option<(Instant, CycleSummary)>,
}

impl Health {
    pub(crate) fn new(poll_interval: Duration, now: Instant) -> Health {
        Health {
            poll_interval,
            started: now,
            last: None,
        }
    }

    /// How long perpwatch may go without completing a cycle before it counts as stalled.
    pub(crate) fn stall_after(&self) -> Duration {
        self.poll_interval.saturating_mul(STALL_CYCLES)
    }

    /// A cycle finished at `now`.
    pub(crate) fn observe(&mut self, summary: CycleSummary, now: Instant) {
        if let Some(interval) = summary.interval {
            self.poll_interval = interval;
        }
        self.last = Some((now, summary));
    }

    /// The poll loop is alive: a cycle completed (or perpwatch started) within the stall window.
    /// Decides whether the watchdog keeps pinging.
    pub(crate) fn loop_alive(&self, now: Instant) -> bool {
        let since = self.last.as_ref().map_or(self.started, |(at, _)| *at);
        now.saturating_duration_since(since) <= self.stall_after()
    }

    /// Healthy while cycles complete with data fetched; otherwise the reason.
    pub(crate) fn verdict(&self, now: Instant) -> Verdict {
        let unhealthy = |reason: String| Verdict {
            healthy: false,
            reason,
        };
        let window = format_secs(self.stall_after());
        let Some((at, last)) = &self.last else {
            let waited = now.saturating_duration_since(self.started);
            if waited > self.stall_after() {
                return unhealthy(format!(
                    "no cycle completed for {STALL_CYCLES} poll intervals ({window}) since start"
                ));
            }
            return unhealthy(format!(
                "starting: no cycle has completed yet ({} since start)",
                format_secs(waited)
            ));
        };
        let age = now.saturating_duration_since(*at);
        if age > self.stall_after() {
            return unhealthy(format!(
                "no cycle completed for {STALL_CYCLES} poll intervals ({window}): the last one, \
                 cycle {}, finished {} ago",
                last.cycle,
                format_secs(age)
            ));
        }
        if last.fetched_nothing() {
            return unhealthy(format!(
                "last cycle fetched nothing: {}",
                last.cause.as_deref().unwrap_or("no metric was fetched")
            ));
        }
        Verdict {
            healthy: true,
            reason: format!(
                "ok: cycle {} finished {} ago; {} fresh, {} stale, {} absent metric groups",
                last.cycle,
                format_secs(age),
                last.fresh,
                last.stale,
                last.absent
            ),
        }
    }
}

/// `95s` → `1m35s`, `0s` for less than a second.
pub(crate) fn format_secs(d: Duration) -> String {
    let secs = d.as_secs();
    match (secs / 3600, (secs % 3600) / 60, secs % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, 0, _) => format!("{h}h"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{cycle_report, demo_label, signal, symbol_report};
    use crate::model::{
        Bias, Field, Funding, GapReason, OpenInterest, Price, Snapshot, SourceKind,
    };
    use crate::signals::SignalId;
    use chrono::Utc;

    const POLL: Duration = Duration::from_secs(60);

    /// BTC with funding fetched now, open interest kept from 2 minutes ago after a failure,
    /// everything else failing with `why`.
    fn partly_fetched(at: chrono::DateTime<Utc>, why: &str) -> Snapshot {
        let mut s = Snapshot::new("BTC", SourceKind::Live, at);
        let failed = || GapReason::FetchFailed(why.to_string());
        s.funding = Field::fresh(
            Funding {
                rate_8h_pct: Some(0.01),
                by_exchange: vec![],
            },
            at,
        );
        s.open_interest =
            Field::fresh(OpenInterest::default(), at - chrono::Duration::seconds(120));
        s.open_interest.mark_failed(GapReason::RateLimited);
        s.liquidations = Field::absent(failed());
        s.retail = Field::absent(failed());
        s.top = Field::absent(GapReason::NotInPlan);
        s.taker = Field::absent(failed());
        // Carried over by schedule: fresh, but not fetched by this cycle.
        s.price = Field::fresh(Price::default(), at - chrono::Duration::seconds(60));
        s
    }

    /// Every group failed with `why`, except the price carried over by schedule.
    fn dead(at: chrono::DateTime<Utc>, why: &str) -> Snapshot {
        let mut s = partly_fetched(at, why);
        s.funding = Field::absent(GapReason::FetchFailed(why.to_string()));
        s
    }

    #[test]
    fn health_summary_counts_groups_and_names_the_most_frequent_failure() {
        let at = Utc::now();
        let mut report = cycle_report(
            7,
            at,
            demo_label(),
            vec![symbol_report(
                partly_fetched(at, "HTTP 502"),
                vec![signal(
                    SignalId::FundingElevated,
                    Level::Low,
                    Bias::Bearish,
                    "t",
                    "m",
                )],
            )],
        );
        report.finished_at = at + chrono::Duration::milliseconds(2500);
        report.requests.this_cycle = 9;
        let s = CycleSummary::of(&report);
        assert_eq!((s.fresh, s.stale, s.absent, s.fetched), (2, 1, 4, 1));
        assert_eq!(s.cause.as_deref(), Some("HTTP 502"));
        assert_eq!(s.duration, Duration::from_millis(2500));
        assert_eq!((s.signals, s.level, s.requests), (1, Level::Low, 9));
        assert!(!s.fetched_nothing());
        assert_eq!(
            s.status_line(),
            "cycle 7: 2 fresh, 1 stale, 4 absent metric groups of 1 symbol; 1 signal \
             (highest LOW); 9 requests; gaps: HTTP 502"
        );

        // A value carried over by schedule is not "fetched": a dead source says so.
        let report = cycle_report(
            8,
            at,
            demo_label(),
            vec![symbol_report(dead(at, "HTTP 502"), vec![])],
        );
        let s = CycleSummary::of(&report);
        assert_eq!((s.fresh, s.fetched), (1, 0));
        assert!(s.fetched_nothing());
        assert_eq!(s.status_line(), "cycle 8: no data: HTTP 502");

        // A long cause is cut to one short line.
        let long = format!("connection refused\n{}", "x".repeat(5000));
        let report = cycle_report(
            9,
            at,
            demo_label(),
            vec![symbol_report(dead(at, &long), vec![])],
        );
        let cause = CycleSummary::of(&report).cause.unwrap_or_default();
        assert!(cause.chars().count() <= MAX_CAUSE_CHARS + 1, "{cause}");
        assert!(cause.starts_with("connection refused x") && cause.ends_with('…'));

        let report = cycle_report(10, at, demo_label(), vec![]);
        let s = CycleSummary::of(&report);
        assert!(s.fetched_nothing());
        assert_eq!(s.cause.as_deref(), Some("no symbol was polled"));
    }

    #[test]
    fn health_follows_the_interval_the_monitor_announces() {
        let at = Utc::now();
        let t0 = Instant::now();
        let mut h = Health::new(POLL, t0);
        assert_eq!(h.stall_after(), POLL * STALL_CYCLES);
        // The plan's budget stretched a 60 s poll to 300 s: three of those are the stall window.
        let mut report = cycle_report(1, at, demo_label(), vec![]);
        report.next_poll_at = Some(at + chrono::Duration::seconds(300));
        h.observe(CycleSummary::of(&report), t0);
        assert_eq!(h.stall_after(), Duration::from_secs(300) * STALL_CYCLES);
        // `--once` announces no next poll: the interval stays as it was.
        report.next_poll_at = None;
        h.observe(CycleSummary::of(&report), t0);
        assert_eq!(h.stall_after(), Duration::from_secs(300) * STALL_CYCLES);
    }

    #[test]
    fn health_state_machine_starting_ok_dead_stalled_recovered() {
        let t0 = Instant::now();
        let at = Utc::now();
        let mut h = Health::new(POLL, t0);
        let s = |secs: u64| t0 + Duration::from_secs(secs);

        // Starting: unhealthy, but the loop counts as alive until the stall window passes.
        let v = h.verdict(s(5));
        assert!(!v.healthy);
        assert_eq!(
            v.reason,
            "starting: no cycle has completed yet (5s since start)"
        );
        assert!(h.loop_alive(s(180)) && !h.loop_alive(s(181)));
        assert_eq!(
            h.verdict(s(181)).reason,
            "no cycle completed for 3 poll intervals (3m) since start"
        );

        // A cycle with data: healthy.
        let good = cycle_report(
            1,
            at,
            demo_label(),
            vec![symbol_report(partly_fetched(at, "HTTP 502"), vec![])],
        );
        h.observe(CycleSummary::of(&good), s(10));
        let v = h.verdict(s(20));
        assert!(v.healthy, "{v:?}");
        assert_eq!(
            v.reason,
            "ok: cycle 1 finished 10s ago; 2 fresh, 1 stale, 4 absent metric groups"
        );

        // A cycle that fetched nothing: unhealthy with the cause, though the loop is alive.
        let bad = cycle_report(
            2,
            at,
            demo_label(),
            vec![symbol_report(dead(at, "connection refused"), vec![])],
        );
        h.observe(CycleSummary::of(&bad), s(70));
        let v = h.verdict(s(71));
        assert!(!v.healthy);
        assert_eq!(v.reason, "last cycle fetched nothing: connection refused");
        assert!(h.loop_alive(s(71)));

        // Recovered.
        h.observe(CycleSummary::of(&good), s(130));
        assert!(h.verdict(s(131)).healthy);

        // No cycle for 3 poll intervals: stalled, and the watchdog stops pinging.
        assert!(h.verdict(s(130 + 180)).healthy && h.loop_alive(s(130 + 180)));
        let v = h.verdict(s(130 + 181));
        assert!(!v.healthy && !h.loop_alive(s(130 + 181)));
        assert_eq!(
            v.reason,
            "no cycle completed for 3 poll intervals (3m): the last one, cycle 1, finished 3m1s ago"
        );
    }

    #[test]
    fn health_format_secs() {
        for (secs, text) in [
            (0, "0s"),
            (59, "59s"),
            (60, "1m"),
            (95, "1m35s"),
            (3600, "1h"),
            (5400, "1h30m"),
        ] {
            assert_eq!(format_secs(Duration::from_secs(secs)), text);
        }
    }
}
