//! `--no-ui` output: one line per symbol per cycle on stdout, human text or JSON lines.
//! Absent values print as `n/a` (text) or `null` (JSON), never as zero.
//! A long cycle's progress goes to stderr (`first cycle: 120 of 245 requests`), at most every
//! [`PROGRESS_EVERY`]; stdout carries only the cycle lines.

use crate::format::{self, liq_usd, share_pct_or_na, signed_pct_or_na};
use crate::model::SourceKind;
use crate::monitor::Update;
use crate::report::json::JsonLine;
use crate::report::{CycleReport, SymbolReport};
use std::io::Write;

/// One human line: time, source, symbol, level, signal count, funding 8h, OI change 1h,
/// liquidations 1h, retail/top long %. Stale or absent metric groups are listed at the end.
pub(crate) fn text_line(report: &SymbolReport) -> String {
    let s = &report.snapshot;
    let i = s.inputs();
    let liq = s.liquidations.get().copied().unwrap_or_default();
    let mut line = format!(
        "{} {} {:<8} {:<6} signals={} funding_8h={} oi_1h={} liq_1h=long {} / short {}{} retail_long={} top_long={}",
        s.time.format("%Y-%m-%dT%H:%M:%SZ"),
        match s.source {
            SourceKind::Demo => "DEMO",
            SourceKind::Live | SourceKind::Exchanges => "LIVE",
        },
        s.symbol,
        report.level.as_str(),
        report.signals.len(),
        signed_pct_or_na(i.funding_8h_pct, 4),
        signed_pct_or_na(i.oi_change_1h_pct, 2),
        liq_usd(liq.long_1h_usd, liq.lower_bound),
        liq_usd(liq.short_1h_usd, liq.lower_bound),
        format::liq_incomplete(liq.uncovered_s)
            .map(|t| format!(" ({t})"))
            .unwrap_or_default(),
        share_pct_or_na(i.retail_long_pct),
        share_pct_or_na(i.top_long_pct),
    );
    let gaps = s.gaps();
    if !gaps.is_empty() {
        let list: Vec<String> = gaps
            .iter()
            .map(|g| match (g.age_s, &g.reason) {
                // "open_interest partial: Binance unreachable: …"
                (Some(_), crate::model::GapReason::Partial(_)) => {
                    format!("{} {}", g.metric, g.reason)
                }
                (Some(age), _) => format!("{} stale {}s ({})", g.metric, age, g.reason),
                (None, _) => format!("{} n/a ({})", g.metric, g.reason),
            })
            .collect();
        line.push_str(" | ");
        line.push_str(&list.join("; "));
    }
    line
}

/// One signal's text line: who, level, bias, id, message, and the threshold it crossed in
/// brackets (when known).
pub(crate) fn signal_line(symbol: &str, sig: &crate::signals::Signal) -> String {
    let mut line = format!(
        "    {} {:<6} {:<7} {}: {}",
        symbol,
        sig.level.as_str(),
        sig.bias.as_str(),
        sig.id,
        sig.message
    );
    if let Some(t) = &sig.threshold {
        line.push_str(&format!(" [{}]", t.describe(sig.id)));
    }
    line
}

/// Writes one cycle: a line per symbol, plus (text mode) one line per signal fired.
pub(crate) fn write_cycle(
    out: &mut impl Write,
    report: &CycleReport,
    json: bool,
) -> std::io::Result<()> {
    for sym in &report.symbols {
        if json {
            serde_json::to_writer(&mut *out, &JsonLine::new(sym, &report.venues))?;
            writeln!(out)?;
        } else {
            writeln!(out, "{}", text_line(sym))?;
            for sig in &sym.signals {
                writeln!(out, "{}", signal_line(&sym.snapshot.symbol, sig))?;
            }
        }
    }
    out.flush()
}

/// How the headless frontend ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeadlessExit {
    /// The monitor finished (`--once`).
    Done,
    /// A shutdown signal arrived.
    Stopped,
    /// The source refused to go on (API key refused, or it could not start).
    Fatal(String),
}

/// A long cycle's progress says so at most this often on stderr, and not before the cycle has
/// run this long (a quick cycle prints nothing).
pub(crate) const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Decides when a progress line is due: not in a cycle's first [`PROGRESS_EVERY`], then at most
/// once per [`PROGRESS_EVERY`].
#[derive(Debug, Clone, Default)]
pub(crate) struct ProgressLines {
    cycle: u64,
    since: Option<tokio::time::Instant>,
    last: Option<tokio::time::Instant>,
}

impl ProgressLines {
    /// A cycle began at `at`.
    pub(crate) fn cycle_started(&mut self, cycle: u64, at: tokio::time::Instant) {
        *self = ProgressLines {
            cycle,
            since: Some(at),
            last: None,
        };
    }

    /// The line to print for progress `done`/`total` of `cycle` at `now`, if one is due.
    pub(crate) fn line(
        &mut self,
        cycle: u64,
        done: u32,
        total: u32,
        now: tokio::time::Instant,
    ) -> Option<String> {
        if cycle != self.cycle || self.since.is_none() {
            // Progress of a cycle whose start we did not see: count from now.
            self.cycle_started(cycle, now);
        }
        let since = self.since?;
        let quiet_since = self.last.unwrap_or(since);
        if total == 0 || now.saturating_duration_since(quiet_since) < PROGRESS_EVERY {
            return None;
        }
        self.last = Some(now);
        Some(crate::monitor::progress_text(cycle, done, total))
    }
}

/// Consumes updates until the monitor ends, a fatal error, or `shutdown` resolves.
pub(crate) async fn run(
    mut updates: tokio::sync::mpsc::Receiver<Update>,
    json: bool,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<HeadlessExit> {
    tokio::pin!(shutdown);
    let stdout = std::io::stdout();
    let mut progress = ProgressLines::default();
    loop {
        tokio::select! {
            _ = &mut shutdown => return Ok(HeadlessExit::Stopped),
            update = updates.recv() => match update {
                None => return Ok(HeadlessExit::Done),
                Some(Update::CycleStarted { cycle, .. }) => {
                    progress.cycle_started(cycle, tokio::time::Instant::now());
                }
                Some(Update::Progress { cycle, done, total }) => {
                    if let Some(line) = progress.line(cycle, done, total, tokio::time::Instant::now()) {
                        // stderr, beside the log: stdout carries only the cycle lines.
                        eprintln!("perpwatch: {line}");
                    }
                }
                Some(Update::Cycle(report)) => {
                    let mut lock = stdout.lock();
                    match write_cycle(&mut lock, &report, json) {
                        // A closed pipe (e.g. `| head`) ends the run quietly.
                        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                            return Ok(HeadlessExit::Done)
                        }
                        other => other?,
                    }
                }
                Some(Update::Fatal(msg)) => return Ok(HeadlessExit::Fatal(msg)),
                // Lines are per finished cycle; early arrivals are for the dashboard.
                Some(Update::Paused { .. })
                | Some(Update::History(_))
                | Some(Update::Arrived { .. }) => {}
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::time::Instant;

    #[test]
    fn a_signal_line_ends_with_its_threshold_when_known() {
        use crate::model::{Bias, Level};
        use crate::signals::relative::{ThresholdInfo, ThresholdMode};
        use crate::signals::SignalId;
        let mut sig = crate::fixtures::signal(
            SignalId::FundingExtremeShort,
            Level::High,
            Bias::Bullish,
            "Extreme negative funding",
            "Funding is -0.0210% per 8h.",
        );
        assert_eq!(
            signal_line("ETH", &sig),
            "    ETH HIGH   bullish funding_extreme_short: Funding is -0.0210% per 8h."
        );
        sig.threshold = Some(ThresholdInfo {
            mode: ThresholdMode::Relative,
            value: -0.0152,
            percentile: Some(1.0),
            window: Some("30d".into()),
            note: None,
        });
        assert_eq!(
            signal_line("ETH", &sig),
            "    ETH HIGH   bullish funding_extreme_short: Funding is -0.0210% per 8h. \
             [threshold -0.0152 %/8h = p1 of 30d]"
        );
    }

    #[test]
    fn exchanges_lines_mark_lower_bound_and_incomplete_liquidations() {
        use crate::model::{Field, Liquidations, SourceKind};
        let now = chrono::Utc::now();
        let mut s = crate::model::Snapshot::new("BTC", SourceKind::Exchanges, now);
        s.liquidations = Field::fresh(
            Liquidations {
                long_1h_usd: Some(42.1e6),
                short_1h_usd: Some(8.3e6),
                lower_bound: true,
                uncovered_s: Some(125),
            },
            now,
        );
        let report = crate::fixtures::symbol_report(s, vec![]);
        let line = text_line(&report);
        assert!(
            line.contains(" LIVE BTC ")
                && line.contains("liq_1h=long ≥$42.1M / short ≥$8.3M (incomplete 2m) retail_long="),
            "{line}"
        );
        let venues = [crate::source::VenueStatus {
            venue: "bybit".into(),
            state: "stream down 2m".into(),
            detail: Some("connection reset".into()),
        }];
        let mut out = Vec::new();
        let mut cycle =
            crate::fixtures::cycle_report(1, now, crate::fixtures::exchanges_label(), vec![report]);
        cycle.venues = venues.to_vec();
        write_cycle(&mut out, &cycle, true).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(json["source"], "exchanges");
        assert_eq!(json["metrics"]["liq_lower_bound"], true);
        assert_eq!(json["metrics"]["liq_uncovered_s"], 125);
        assert_eq!(
            json["venues"],
            serde_json::json!([{"venue": "bybit", "state": "stream down 2m", "detail": "connection reset"}])
        );
    }

    #[test]
    fn other_sources_have_no_venues_and_whole_liquidation_sums() {
        let now = chrono::Utc::now();
        let mut s = crate::model::Snapshot::new("BTC", crate::model::SourceKind::Live, now);
        s.liquidations = crate::model::Field::fresh(
            crate::model::Liquidations {
                long_1h_usd: Some(1e6),
                short_1h_usd: Some(2e6),
                ..Default::default()
            },
            now,
        );
        let cycle = crate::fixtures::cycle_report(
            1,
            now,
            crate::fixtures::live_label(Some("STARTUP")),
            vec![crate::fixtures::symbol_report(s, vec![])],
        );
        assert!(text_line(&cycle.symbols[0]).contains("liq_1h=long $1.0M / short $2.0M retail"));
        let mut out = Vec::new();
        write_cycle(&mut out, &cycle, true).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(json["source"], "live");
        assert_eq!(json["venues"], serde_json::json!([]));
        assert_eq!(json["metrics"]["liq_lower_bound"], false);
        assert!(json["metrics"]["liq_uncovered_s"].is_null());
        // No sums at all: null, never `false`.
        let mut cycle = cycle;
        cycle.symbols[0].snapshot.liquidations =
            crate::model::Field::absent(crate::model::GapReason::Pending);
        let mut out = Vec::new();
        write_cycle(&mut out, &cycle, true).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert!(json["metrics"]["liq_lower_bound"].is_null(), "{json}");
    }

    #[test]
    fn progress_lines_come_only_for_long_cycles_and_at_most_every_few_seconds() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut p = ProgressLines::default();
        p.cycle_started(1, t0);
        // A quick cycle prints nothing.
        assert_eq!(p.line(1, 3, 245, at(1)), None);
        assert_eq!(p.line(1, 30, 245, at(4)), None);
        assert_eq!(
            p.line(1, 40, 245, at(5)).as_deref(),
            Some("first cycle: 40 of 245 requests")
        );
        // Not again for PROGRESS_EVERY.
        assert_eq!(p.line(1, 41, 245, at(6)), None);
        assert_eq!(p.line(1, 60, 245, at(9)), None);
        assert_eq!(
            p.line(1, 120, 245, at(10)).as_deref(),
            Some("first cycle: 120 of 245 requests")
        );
        // A new cycle starts quiet again, and says its number.
        p.cycle_started(2, at(700));
        assert_eq!(p.line(2, 1, 9, at(701)), None);
        assert_eq!(
            p.line(2, 5, 9, at(706)).as_deref(),
            Some("cycle 2: 5 of 9 requests")
        );
        // Progress without a total says nothing.
        p.cycle_started(3, at(800));
        assert_eq!(p.line(3, 0, 0, at(900)), None);
    }
}
