//! The poll loop: owns the schedule, asks the source for snapshots, evaluates signals and sends one
//! [`Update`] per event to whichever frontend runs. It is the only producer of updates.

use crate::model::{GapReason, Snapshot, SourceKind};
use crate::report::{CycleReport, SparkSeed, SymbolReport};
use crate::source::{FatalSourceError, PollContext, PollProgress, Source, SourceLabel};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// Messages from the monitor to the frontend.
#[derive(Debug, Clone)]
pub enum Update {
    /// A cycle began fetching.
    CycleStarted { cycle: u64, at: DateTime<Utc> },
    /// How far the running cycle has got: requests answered (or given up) of those it plans.
    /// Sent while the cycle runs, as the source reports it; may skip values.
    Progress { cycle: u64, done: u32, total: u32 },
    /// A cycle finished.
    Cycle(Arc<CycleReport>),
    /// Polling paused or resumed (by a command).
    Paused(bool),
    /// The source cannot go on (the API key was refused, or it could not start). Frontends stop;
    /// the composition root says why and picks the exit code.
    Fatal(String),
    /// Sparkline history from the store (last 24 h), sent once before the first cycle.
    History(Arc<Vec<SparkSeed>>),
}

/// `first cycle: 120 of 245 requests` / `cycle 7: 3 of 9 requests`: how frontends word progress.
pub fn progress_text(cycle: u64, done: u32, total: u32) -> String {
    let which = if cycle <= 1 {
        "first cycle".to_string()
    } else {
        format!("cycle {cycle}")
    };
    format!("{which}: {done} of {total} requests")
}

/// Messages from the frontend to the monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    RefreshNow,
    TogglePause,
}

/// How the loop runs.
#[derive(Debug, Clone)]
pub struct MonitorOptions {
    pub poll_interval: std::time::Duration,
    /// Run one cycle and return.
    pub once: bool,
    pub thresholds: ThresholdBook,
    /// Other consumers of every finished cycle (alerter, history store). Each gets the report
    /// before the frontend; a consumer that has gone away is skipped.
    pub report_taps: Vec<mpsc::Sender<Arc<CycleReport>>>,
    /// The configured symbols: the rows of a cycle the source could not answer at all.
    pub symbols: Vec<String>,
    /// When the whole run must be over, start-up included (`--once`: [`ONCE_DEADLINE`] after
    /// start); no cycle runs past it.
    pub run_deadline: Option<Instant>,
}

/// Global thresholds plus per-symbol overrides, resolved once at start.
#[derive(Debug, Clone, Default)]
pub struct ThresholdBook {
    pub default: crate::signals::Thresholds,
    pub per_symbol: std::collections::HashMap<String, crate::signals::Thresholds>,
}

impl ThresholdBook {
    pub fn for_symbol(&self, symbol: &str) -> &crate::signals::Thresholds {
        self.per_symbol.get(symbol).unwrap_or(&self.default)
    }
}

/// How the loop ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MonitorExit {
    /// `--once` finished with data, or the frontend went away.
    Done,
    /// `--once` finished and its cycle fetched nothing (exit code 6); the cause.
    NoData(String),
    /// The source refused to go on (exit code 3).
    Fatal(String),
}

/// Evaluates the signals of every snapshot of one cycle.
pub fn build_reports(snapshots: Vec<Snapshot>, book: &ThresholdBook) -> Vec<SymbolReport> {
    snapshots
        .into_iter()
        .map(|snapshot| {
            let signals =
                crate::signals::evaluate(&snapshot.inputs(), book.for_symbol(&snapshot.symbol));
            let level = crate::signals::level_of(&signals);
            SymbolReport {
                snapshot,
                signals,
                level,
            }
        })
        .collect()
}

/// How long a value kept from before a failure may still be shown and acted on: three cycles,
/// at least 10 minutes.
pub fn max_stale_age(poll_interval: std::time::Duration) -> i64 {
    (poll_interval.as_secs() as i64 * 3).max(600)
}

/// The longest `--once` may take: cron and scripts must get an answer, data or not.
pub const ONCE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

/// How long past its deadline the monitor waits for a source before it gives up on the cycle
/// (a source is meant to return by the deadline with what it has; this only catches one that
/// does not).
pub const OVERRUN_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// How long one cycle may run: the poll interval (the next cycle is due then), and never more
/// than [`ONCE_DEADLINE`] for `--once`.
pub fn cycle_budget(opts: &MonitorOptions) -> std::time::Duration {
    if opts.once {
        opts.poll_interval.min(ONCE_DEADLINE)
    } else {
        opts.poll_interval
    }
}

/// The deadline of a cycle starting at `start`: [`cycle_budget`] later, and early enough
/// before the run's deadline that even a source that overruns it by [`OVERRUN_GRACE`] is given
/// up on by then.
pub fn cycle_deadline(opts: &MonitorOptions, start: Instant) -> Instant {
    let own = start + cycle_budget(opts);
    opts.run_deadline.map_or(own, |run| {
        own.min(run.checked_sub(OVERRUN_GRACE).unwrap_or(run))
    })
}

/// Metric groups per snapshot (`Snapshot::gaps` names them): an error line covering all of
/// them says "every metric".
const METRIC_GROUPS: usize = 7;

/// The metric groups as error lines name them.
fn metric_name(metric: &str) -> &str {
    match metric {
        "open_interest" => "open interest",
        "retail_long_short" => "retail long/short",
        "top_long_short" => "top-trader long/short",
        "taker" => "taker flow",
        other => other,
    }
}

/// The distinct fetch problems of a cycle, each said once: one line per failure reason and set
/// of symbols it hit, naming the metrics, e.g. `open interest for BTC, ETH: fetch failed: HTTP
/// 500`, `funding (all symbols): rate limited`, `every metric (all symbols): fetch failed: …`.
/// Lines come in the order the failures were first seen.
pub fn cycle_errors(reports: &[SymbolReport]) -> Vec<String> {
    // reason → [(metric, symbols it failed for)], both in first-seen order.
    type ByMetric<'a> = Vec<(&'static str, Vec<&'a str>)>;
    let mut by_reason: Vec<(String, ByMetric<'_>)> = Vec::new();
    for r in reports {
        let symbol = r.snapshot.symbol.as_str();
        for gap in r.snapshot.gaps() {
            if !crate::report::is_failure(&gap.reason) {
                continue;
            }
            let reason = gap.reason.to_string();
            let i = match by_reason.iter().position(|(t, _)| *t == reason) {
                Some(i) => i,
                None => {
                    by_reason.push((reason, Vec::new()));
                    by_reason.len() - 1
                }
            };
            let metrics = &mut by_reason[i].1;
            match metrics.iter_mut().find(|(m, _)| *m == gap.metric) {
                Some((_, symbols)) => symbols.push(symbol),
                None => metrics.push((gap.metric, vec![symbol])),
            }
        }
    }
    let all_symbols = reports.len();
    let mut lines = Vec::new();
    for (reason, metrics) in by_reason {
        // Metrics that failed for the same symbols share a line.
        let mut groups: Vec<(Vec<&str>, Vec<&str>)> = Vec::new();
        for (metric, symbols) in metrics {
            match groups.iter_mut().find(|(s, _)| *s == symbols) {
                Some((_, ms)) => ms.push(metric_name(metric)),
                None => groups.push((symbols, vec![metric_name(metric)])),
            }
        }
        for (symbols, metrics) in groups {
            let what = if metrics.len() == METRIC_GROUPS {
                "every metric".to_string()
            } else {
                metrics.join(", ")
            };
            let whom = if all_symbols > 1 && symbols.len() == all_symbols {
                "(all symbols)".to_string()
            } else {
                format!("for {}", symbols.join(", "))
            };
            lines.push(format!("{what} {whom}: {reason}"));
        }
    }
    lines
}

/// The snapshots of a cycle the source did not answer: the previous cycle's values kept (stale,
/// so they age out as usual) or, before any, the configured symbols with nothing; every metric
/// marked with `reason` (a metric not in the plan stays so).
fn unanswered_snapshots(
    previous: &[Snapshot],
    symbols: &[String],
    kind: SourceKind,
    now: DateTime<Utc>,
    reason: &GapReason,
) -> Vec<Snapshot> {
    let base: Vec<Snapshot> = if previous.is_empty() {
        symbols
            .iter()
            .map(|s| Snapshot::new(s.clone(), kind, now))
            .collect()
    } else {
        previous.to_vec()
    };
    base.into_iter()
        .map(|mut s| {
            s.time = now;
            macro_rules! mark {
                ($($field:ident),*) => {$(
                    if s.$field.gap != Some(GapReason::NotInPlan) {
                        s.$field.mark_failed(reason.clone());
                    }
                )*};
            }
            mark!(
                funding,
                open_interest,
                liquidations,
                retail,
                top,
                taker,
                price
            );
            s
        })
        .collect()
}

/// The report of a cycle that got no answer at all, e.g. because the source could not even
/// start before the run's deadline: every metric of every configured symbol absent with
/// `reason`.
pub fn unanswered_cycle(
    cycle: u64,
    started_at: DateTime<Utc>,
    source: SourceLabel,
    opts: &MonitorOptions,
    reason: GapReason,
) -> CycleReport {
    let snapshots = unanswered_snapshots(&[], &opts.symbols, source.kind, started_at, &reason);
    let symbols = build_reports(snapshots, &opts.thresholds);
    let errors = cycle_errors(&symbols);
    CycleReport {
        cycle,
        started_at,
        finished_at: Utc::now(),
        source,
        symbols,
        requests: Default::default(),
        next_poll_at: None,
        errors,
    }
}

/// Polls `source` within `ctx.deadline` (plus [`OVERRUN_GRACE`]), passing its progress on to the
/// frontend as it comes. `None` when the source overran.
async fn poll_watched<S: Source>(
    source: &mut S,
    ctx: &PollContext,
    mut progress: watch::Receiver<PollProgress>,
    cycle: u64,
    updates: &mpsc::Sender<Update>,
) -> Option<Result<Vec<Snapshot>, FatalSourceError>> {
    let poll = tokio::time::timeout_at(ctx.deadline + OVERRUN_GRACE, source.poll(ctx));
    tokio::pin!(poll);
    let mut watching = true;
    loop {
        tokio::select! {
            polled = &mut poll => return polled.ok(),
            changed = progress.changed(), if watching => match changed {
                Ok(()) => {
                    let p = *progress.borrow_and_update();
                    // Progress is a courtesy: never hold the poll up for a slow frontend.
                    let _ = updates.try_send(Update::Progress {
                        cycle,
                        done: p.done,
                        total: p.total,
                    });
                }
                Err(_) => watching = false,
            },
        }
    }
}

/// The poll loop. Polls immediately, then every `poll_interval`; `Command::RefreshNow` polls at
/// once, `Command::TogglePause` stops/starts the schedule. Returns when `--once` is done, when the
/// frontend drops its receiver, or on a fatal source error (also sent as `Update::Fatal`).
///
/// Every cycle ends by its deadline ([`cycle_deadline`]): a source that has not returned
/// [`OVERRUN_GRACE`] after it is given up on for that cycle, and its metrics are marked as
/// timed out.
pub async fn run<S: Source>(
    mut source: S,
    opts: MonitorOptions,
    updates: mpsc::Sender<Update>,
    mut commands: mpsc::Receiver<Command>,
) -> MonitorExit {
    use tokio::time::sleep_until;
    let mut cycle = 0u64;
    let mut paused = false;
    let mut commands_open = true;
    let mut previous: Vec<Snapshot> = Vec::new();
    loop {
        cycle += 1;
        let started_at = Utc::now();
        let start = Instant::now();
        let due = start + opts.poll_interval;
        if updates
            .send(Update::CycleStarted {
                cycle,
                at: started_at,
            })
            .await
            .is_err()
        {
            return MonitorExit::Done;
        }
        let deadline = cycle_deadline(&opts, start);
        let (progress_tx, progress_rx) = watch::channel(PollProgress::default());
        let ctx = PollContext {
            now: started_at,
            deadline,
            progress: progress_tx,
        };
        let snapshots = match poll_watched(&mut source, &ctx, progress_rx, cycle, &updates).await {
            Some(Ok(s)) => s,
            Some(Err(FatalSourceError(msg))) => {
                // The frontend tells the user (once); this is for the log file's timeline.
                tracing::debug!(error = %msg, "data source refused to go on");
                let _ = updates.send(Update::Fatal(msg.clone())).await;
                return MonitorExit::Fatal(msg);
            }
            None => {
                let secs = deadline.saturating_duration_since(start).as_secs();
                tracing::warn!(
                    cycle,
                    "the data source did not return by the cycle deadline ({secs} s); \
                     this cycle's metrics are marked as timed out"
                );
                let reason =
                    GapReason::FetchFailed(format!("timed out at the cycle deadline ({secs} s)"));
                unanswered_snapshots(
                    &previous,
                    &opts.symbols,
                    source.label().kind,
                    started_at,
                    &reason,
                )
            }
        };
        let max_stale_s = max_stale_age(opts.poll_interval);
        let snapshots: Vec<Snapshot> = snapshots
            .into_iter()
            .map(|mut s| {
                s.expire_stale(max_stale_s);
                s
            })
            .collect();
        previous.clone_from(&snapshots);
        let symbols = build_reports(snapshots, &opts.thresholds);
        let errors = cycle_errors(&symbols);
        for e in &errors {
            tracing::warn!(cycle, "{e}");
        }
        let requests = source.request_stats();
        let next_poll_at = (!opts.once && !paused).then(|| {
            started_at
                + chrono::Duration::from_std(opts.poll_interval).unwrap_or(chrono::Duration::MAX)
        });
        let report = CycleReport {
            cycle,
            started_at,
            finished_at: Utc::now(),
            source: source.label(),
            symbols,
            requests,
            next_poll_at,
            errors,
        };
        let no_data = report.no_data();
        // `--once` ends on it instead, and the composition root says it as the reason for exit 6.
        if let (Some(cause), false) = (&no_data, opts.once) {
            tracing::warn!(cycle, "no data: {cause}");
        }
        tracing::info!(
            cycle,
            requests = requests.this_cycle,
            symbols = report.symbols.len(),
            fetched = no_data.is_none(),
            "cycle done"
        );
        let report = Arc::new(report);
        for tap in &opts.report_taps {
            // Taps keep up (they queue durably and return); a closed one is ignored.
            let _ = tap.send(Arc::clone(&report)).await;
        }
        let delivered = updates.send(Update::Cycle(report)).await.is_ok();
        if opts.once {
            return match no_data {
                Some(cause) => MonitorExit::NoData(cause),
                None => MonitorExit::Done,
            };
        }
        if !delivered {
            return MonitorExit::Done;
        }
        // Wait for the next due time, a refresh, or (while paused) a resume.
        loop {
            tokio::select! {
                _ = sleep_until(due), if !paused => break,
                cmd = commands.recv(), if commands_open => match cmd {
                    Some(Command::RefreshNow) => break,
                    Some(Command::TogglePause) => {
                        paused = !paused;
                        if updates.send(Update::Paused(paused)).await.is_err() {
                            return MonitorExit::Done;
                        }
                    }
                    None => commands_open = false,
                },
                _ = updates.closed() => return MonitorExit::Done,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Field, Funding, GapReason, SourceKind};
    use crate::source::{RequestStats, SourceLabel};
    use tokio::sync::mpsc;

    /// A scripted source: funding rate per poll, or a fatal error.
    struct Scripted {
        polls: u32,
        fatal_at: Option<u32>,
    }

    impl Source for Scripted {
        fn label(&self) -> SourceLabel {
            SourceLabel {
                kind: SourceKind::Demo,
                plan: None,
            }
        }

        async fn poll(&mut self, ctx: &PollContext) -> Result<Vec<Snapshot>, FatalSourceError> {
            let now = ctx.now;
            self.polls += 1;
            if Some(self.polls) == self.fatal_at {
                return Err(FatalSourceError("API key refused".into()));
            }
            let mut s = Snapshot::new("BTC", SourceKind::Demo, now);
            s.funding = Field::fresh(
                Funding {
                    rate_8h_pct: Some(0.2),
                    by_exchange: vec![],
                },
                now,
            );
            s.taker = Field::absent(GapReason::FetchFailed("HTTP 500".into()));
            Ok(vec![s])
        }

        fn request_stats(&self) -> RequestStats {
            RequestStats {
                this_cycle: 3,
                ..Default::default()
            }
        }
    }

    fn opts(once: bool, secs: u64) -> MonitorOptions {
        MonitorOptions {
            poll_interval: std::time::Duration::from_secs(secs),
            once,
            thresholds: ThresholdBook::default(),
            report_taps: Vec::new(),
            symbols: vec!["BTC".into()],
            run_deadline: None,
        }
    }

    async fn next_cycle(rx: &mut mpsc::Receiver<Update>) -> Arc<CycleReport> {
        loop {
            match rx.recv().await.expect("monitor ended early") {
                Update::Cycle(r) => return r,
                _ => continue,
            }
        }
    }

    #[tokio::test]
    async fn once_runs_one_cycle_with_signals_and_errors() {
        let (tx, mut rx) = mpsc::channel(16);
        let (_ctx, crx) = mpsc::channel(1);
        let src = Scripted {
            polls: 0,
            fatal_at: None,
        };
        let exit = run(src, opts(true, 60), tx, crx).await;
        assert_eq!(exit, MonitorExit::Done);
        assert!(matches!(
            rx.recv().await,
            Some(Update::CycleStarted { cycle: 1, .. })
        ));
        let report = next_cycle(&mut rx).await;
        assert_eq!(report.cycle, 1);
        assert_eq!(report.symbols[0].level, crate::model::Level::High);
        assert!(report.symbols[0]
            .signals
            .iter()
            .any(|s| s.id == crate::signals::SignalId::FundingExtremeLong));
        assert_eq!(
            report.errors,
            vec!["taker flow for BTC: fetch failed: HTTP 500"]
        );
        assert_eq!(report.requests.this_cycle, 3);
        assert!(report.next_poll_at.is_none());
        assert!(rx.recv().await.is_none(), "nothing after --once");
    }

    #[tokio::test(start_paused = true)]
    async fn polls_on_schedule_refreshes_on_command_and_pauses() {
        let (tx, mut rx) = mpsc::channel(16);
        let (ctx, crx) = mpsc::channel(4);
        let src = Scripted {
            polls: 0,
            fatal_at: None,
        };
        let task = tokio::spawn(run(src, opts(false, 60), tx, crx));
        assert_eq!(next_cycle(&mut rx).await.cycle, 1);
        // The second cycle comes after the interval (paused clock auto-advances).
        let before = tokio::time::Instant::now();
        assert_eq!(next_cycle(&mut rx).await.cycle, 2);
        assert!(before.elapsed() >= std::time::Duration::from_secs(59));
        // Refresh now: no waiting.
        let before = tokio::time::Instant::now();
        ctx.send(Command::RefreshNow).await.unwrap();
        assert_eq!(next_cycle(&mut rx).await.cycle, 3);
        assert!(before.elapsed() < std::time::Duration::from_secs(1));
        // Pause: no cycle for a long time; resume brings the next one.
        ctx.send(Command::TogglePause).await.unwrap();
        assert!(matches!(rx.recv().await, Some(Update::Paused(true))));
        let waited = tokio::time::timeout(std::time::Duration::from_secs(600), rx.recv()).await;
        assert!(waited.is_err(), "no update while paused");
        ctx.send(Command::TogglePause).await.unwrap();
        assert!(matches!(rx.recv().await, Some(Update::Paused(false))));
        drop(rx);
        assert_eq!(task.await.unwrap(), MonitorExit::Done);
    }

    #[tokio::test]
    async fn fatal_error_is_sent_once_and_ends_the_loop() {
        let (tx, mut rx) = mpsc::channel(16);
        let (_ctx, crx) = mpsc::channel(1);
        let src = Scripted {
            polls: 0,
            fatal_at: Some(1),
        };
        let exit = run(src, opts(false, 60), tx, crx).await;
        assert_eq!(exit, MonitorExit::Fatal("API key refused".into()));
        assert!(matches!(rx.recv().await, Some(Update::CycleStarted { .. })));
        assert!(matches!(rx.recv().await, Some(Update::Fatal(m)) if m == "API key refused"));
        assert!(rx.recv().await.is_none());
    }

    /// A snapshot of `symbol` at `now` with every metric failed for `why`.
    fn failed(symbol: &str, now: DateTime<Utc>, why: &str) -> Snapshot {
        let mut s = Snapshot::new(symbol, SourceKind::Live, now);
        let r = GapReason::FetchFailed(why.into());
        s.funding = Field::absent(r.clone());
        s.open_interest = Field::absent(r.clone());
        s.liquidations = Field::absent(r.clone());
        s.retail = Field::absent(r.clone());
        s.top = Field::absent(r.clone());
        s.taker = Field::absent(r.clone());
        s.price = Field::absent(r);
        s
    }

    #[test]
    fn every_metric_group_is_counted() {
        let s = Snapshot::new("BTC", SourceKind::Live, Utc::now());
        assert_eq!(s.gaps().len(), METRIC_GROUPS);
    }

    #[test]
    fn each_distinct_error_is_said_once_per_cycle() {
        let now = Utc::now();
        let mut snaps: Vec<Snapshot> = ["BTC", "ETH", "SOL"]
            .iter()
            .map(|c| {
                let mut s = Snapshot::new(*c, SourceKind::Live, now);
                s.funding = Field::fresh(Funding::default(), now);
                s.liquidations = Field::fresh(Default::default(), now);
                s.retail = Field::fresh(
                    crate::model::LongShort {
                        long_pct: Some(60.0),
                        short_pct: Some(40.0),
                        bar_time: now,
                        source: "Binance".into(),
                    },
                    now,
                );
                s.top = s.retail.clone();
                s.taker = Field::fresh(Default::default(), now);
                s.price = Field::fresh(Default::default(), now);
                s.open_interest = Field::absent(GapReason::FetchFailed("HTTP 500".into()));
                s
            })
            .collect();
        // Two symbols also lose taker and price to a timeout; one is rate limited on funding.
        for s in &mut snaps[..2] {
            s.taker
                .mark_failed(GapReason::FetchFailed("timed out".into()));
            s.price = Field::absent(GapReason::FetchFailed("timed out".into()));
        }
        snaps[2].funding.mark_failed(GapReason::RateLimited);
        // A plan gate is not an error.
        snaps[2].retail = Field::absent(GapReason::NotInPlan);
        let reports = build_reports(snaps, &ThresholdBook::default());
        assert_eq!(
            cycle_errors(&reports),
            vec![
                "open interest (all symbols): fetch failed: HTTP 500",
                "taker flow, price for BTC, ETH: fetch failed: timed out",
                "funding for SOL: rate limited",
            ]
        );
        // A dead network is one line, not 21.
        let dead: Vec<Snapshot> = ["BTC", "ETH", "SOL"]
            .iter()
            .map(|c| failed(c, now, "connection refused"))
            .collect();
        let reports = build_reports(dead, &ThresholdBook::default());
        assert_eq!(
            cycle_errors(&reports),
            vec!["every metric (all symbols): fetch failed: connection refused"]
        );
        // One symbol is named, not "all".
        let one = build_reports(vec![failed("BTC", now, "x")], &ThresholdBook::default());
        assert_eq!(
            cycle_errors(&one),
            vec!["every metric for BTC: fetch failed: x"]
        );
    }

    #[test]
    fn a_run_deadline_caps_the_cycle_deadline() {
        let start = Instant::now();
        let mut o = opts(true, 300);
        assert_eq!(cycle_budget(&o), ONCE_DEADLINE);
        assert_eq!(cycle_deadline(&o, start), start + ONCE_DEADLINE);
        o.run_deadline = Some(start + std::time::Duration::from_secs(12));
        assert_eq!(
            cycle_deadline(&o, start),
            start + std::time::Duration::from_secs(12) - OVERRUN_GRACE,
            "the source's deadline leaves the grace inside the run's"
        );
        let o = opts(false, 20);
        assert_eq!(
            cycle_deadline(&o, start),
            start + std::time::Duration::from_secs(20)
        );
    }

    /// A source that reports progress as its requests come back, and may hang forever.
    struct Slow {
        total: u32,
        step: std::time::Duration,
        hang: bool,
        deadlines: Vec<Instant>,
    }

    impl Source for Slow {
        fn label(&self) -> SourceLabel {
            crate::fixtures::live_label(Some("HOBBYIST"))
        }

        async fn poll(&mut self, ctx: &PollContext) -> Result<Vec<Snapshot>, FatalSourceError> {
            self.deadlines.push(ctx.deadline);
            for done in 1..=self.total {
                tokio::time::sleep(self.step).await;
                ctx.progress.send_replace(PollProgress {
                    done,
                    total: self.total,
                });
            }
            if self.hang {
                std::future::pending::<()>().await;
            }
            let mut s = Snapshot::new("BTC", SourceKind::Live, ctx.now);
            s.funding = Field::fresh(Funding::default(), ctx.now);
            Ok(vec![s])
        }

        fn request_stats(&self) -> RequestStats {
            RequestStats::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn progress_is_passed_on_while_the_cycle_runs() {
        let (tx, mut rx) = mpsc::channel(64);
        let (_ctx, crx) = mpsc::channel(1);
        let src = Slow {
            total: 5,
            step: std::time::Duration::from_secs(2),
            hang: false,
            deadlines: vec![],
        };
        let exit = run(src, opts(true, 60), tx, crx).await;
        assert_eq!(exit, MonitorExit::Done);
        let mut seen = Vec::new();
        while let Some(u) = rx.recv().await {
            match u {
                Update::Progress { cycle, done, total } => {
                    assert_eq!((cycle, total), (1, 5));
                    seen.push(done);
                }
                Update::Cycle(r) => {
                    // Every step while the poll ran; the last one may coincide with the report,
                    // which supersedes it.
                    assert!(seen.starts_with(&[1, 2, 3, 4]), "{seen:?}");
                    assert!(seen.len() <= 5, "{seen:?}");
                    assert!(r.no_data().is_none());
                }
                _ => {}
            }
        }
        assert!(!seen.is_empty());
        assert_eq!(
            progress_text(1, 120, 245),
            "first cycle: 120 of 245 requests"
        );
        assert_eq!(progress_text(7, 3, 9), "cycle 7: 3 of 9 requests");
    }

    #[tokio::test(start_paused = true)]
    async fn a_source_that_overruns_its_deadline_is_given_up_on_and_once_says_no_data() {
        let (tx, mut rx) = mpsc::channel(64);
        let (_ctx, crx) = mpsc::channel(1);
        let src = Slow {
            total: 1,
            step: std::time::Duration::from_secs(1),
            hang: true,
            deadlines: vec![],
        };
        let mut o = opts(true, 60);
        o.symbols = vec!["BTC".into(), "ETH".into()];
        let started = Instant::now();
        o.run_deadline = Some(started + ONCE_DEADLINE);
        let exit = run(src, o, tx, crx).await;
        let took = started.elapsed();
        assert_eq!(
            took, ONCE_DEADLINE,
            "given up on at the source's deadline plus the grace: the run's deadline"
        );
        let MonitorExit::NoData(cause) = exit else {
            panic!("{exit:?}")
        };
        assert_eq!(cause, "timed out at the cycle deadline (28 s)");
        let report = next_cycle(&mut rx).await;
        let names: Vec<&str> = report
            .symbols
            .iter()
            .map(|s| s.snapshot.symbol.as_str())
            .collect();
        assert_eq!(names, ["BTC", "ETH"], "the configured symbols, absent");
        for s in &report.symbols {
            assert!(s.snapshot.inputs() == crate::model::SignalInputs::default());
            assert_eq!(s.snapshot.gaps().len(), METRIC_GROUPS);
        }
        assert_eq!(
            report.errors,
            vec![
                "every metric (all symbols): fetch failed: timed out at the cycle deadline (28 s)"
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_overrun_after_a_good_cycle_keeps_the_values_as_stale() {
        let (tx, mut rx) = mpsc::channel(64);
        let (ctx, crx) = mpsc::channel(4);
        struct GoodThenHung(u32);
        impl Source for GoodThenHung {
            fn label(&self) -> SourceLabel {
                crate::fixtures::live_label(None)
            }
            async fn poll(&mut self, c: &PollContext) -> Result<Vec<Snapshot>, FatalSourceError> {
                self.0 += 1;
                if self.0 > 1 {
                    std::future::pending::<()>().await;
                }
                let mut s = Snapshot::new("BTC", SourceKind::Live, c.now);
                s.funding = Field::fresh(
                    Funding {
                        rate_8h_pct: Some(0.01),
                        by_exchange: vec![],
                    },
                    c.now,
                );
                s.open_interest = Field::absent(GapReason::NotInPlan);
                Ok(vec![s])
            }
            fn request_stats(&self) -> RequestStats {
                RequestStats::default()
            }
        }
        let task = tokio::spawn(run(GoodThenHung(0), opts(false, 60), tx, crx));
        assert!(next_cycle(&mut rx).await.no_data().is_none());
        ctx.send(Command::RefreshNow).await.unwrap();
        let second = next_cycle(&mut rx).await;
        let btc = &second.symbols[0].snapshot;
        assert!(btc.funding.is_stale(), "kept, marked");
        assert_eq!(btc.inputs().funding_8h_pct, Some(0.01));
        assert_eq!(
            btc.open_interest.gap,
            Some(GapReason::NotInPlan),
            "a gate stays a gate"
        );
        assert_eq!(
            second.no_data().as_deref(),
            Some("timed out at the cycle deadline (60 s)")
        );
        drop(rx);
        task.abort();
    }

    #[tokio::test]
    async fn once_without_any_data_ends_with_the_cause() {
        struct Dead;
        impl Source for Dead {
            fn label(&self) -> SourceLabel {
                crate::fixtures::live_label(Some("HOBBYIST"))
            }
            async fn poll(&mut self, c: &PollContext) -> Result<Vec<Snapshot>, FatalSourceError> {
                Ok(vec![
                    failed("BTC", c.now, "HTTP 500"),
                    failed("ETH", c.now, "HTTP 500"),
                ])
            }
            fn request_stats(&self) -> RequestStats {
                RequestStats::default()
            }
        }
        let (tx, mut rx) = mpsc::channel(16);
        let (_ctx, crx) = mpsc::channel(1);
        let exit = run(Dead, opts(true, 60), tx, crx).await;
        assert_eq!(exit, MonitorExit::NoData("HTTP 500".into()));
        let report = next_cycle(&mut rx).await;
        assert_eq!(report.symbols.len(), 2, "the lines are still there");
        assert_eq!(report.errors.len(), 1);
    }

    #[test]
    fn an_unanswered_cycle_lists_every_configured_symbol_as_absent() {
        let mut o = opts(true, 60);
        o.symbols = vec!["BTC".into(), "SOL".into()];
        let r = unanswered_cycle(
            1,
            Utc::now(),
            crate::fixtures::live_label(None),
            &o,
            GapReason::FetchFailed("no answer while connecting".into()),
        );
        assert_eq!(r.symbols.len(), 2);
        assert_eq!(r.no_data().as_deref(), Some("no answer while connecting"));
        assert_eq!(
            r.errors,
            vec!["every metric (all symbols): fetch failed: no answer while connecting"]
        );
        assert!(r.symbols.iter().all(|s| s.signals.is_empty()));
    }
}
