//! The poll loop: owns the schedule, asks the source for snapshots, evaluates signals and sends one
//! [`Update`] per event to whichever frontend runs. It is the only producer of updates.

mod book;

pub use book::{fresh_inputs, hourly_samples, stored_samples, History, Seed, ThresholdBook};

use crate::model::{GapReason, Snapshot, SourceKind};
use crate::report::{CycleReport, SparkSeed, SymbolReport};
use crate::source::{Arrived, FatalSourceError, PollContext, PollProgress, Source, SourceLabel};
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
    /// What the running cycle has fetched so far (before it ends): frontends may show these
    /// values; levels, signals and history wait for the cycle's report.
    Arrived {
        cycle: u64,
        snapshots: Arc<Vec<Snapshot>>,
    },
    /// A cycle finished.
    Cycle(Arc<CycleReport>),
    /// Polling paused or resumed (by a command). On resume, `next_poll_at` is when the next
    /// cycle is due (now, if the interval ran out while paused); `None` while paused.
    Paused {
        paused: bool,
        next_poll_at: Option<DateTime<Utc>>,
    },
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
#[derive(Debug)]
pub struct MonitorOptions {
    pub poll_interval: std::time::Duration,
    /// Run one cycle and return.
    pub once: bool,
    pub thresholds: ThresholdBook,
    /// History for the baselines that arrives while the loop runs (downloaded in the
    /// background): applied before the next cycle is evaluated.
    pub seeds: Option<mpsc::Receiver<Seed>>,
    /// Other consumers of every finished cycle (alerter, history store). Each gets the report
    /// before the frontend; a consumer that has gone away is skipped.
    pub report_taps: Vec<mpsc::Sender<Arc<CycleReport>>>,
    /// The configured symbols: the rows of a cycle the source could not answer at all.
    pub symbols: Vec<String>,
    /// When the whole run must be over, start-up included (`--once`: [`ONCE_DEADLINE`] after
    /// start); no cycle runs past it.
    pub run_deadline: Option<Instant>,
    /// Track records set on every reported signal (`RecordBook::default()`: none).
    pub records: crate::signals::record::RecordBook,
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

/// Evaluates the signals of every snapshot of one cycle with each symbol's thresholds as they
/// stood before the cycle, then feeds the cycle's fresh values to the baselines.
pub fn build_reports(snapshots: Vec<Snapshot>, book: &mut ThresholdBook) -> Vec<SymbolReport> {
    snapshots
        .into_iter()
        .map(|snapshot| {
            let report = report_of(snapshot, book);
            book.observe(&report.snapshot);
            report
        })
        .collect()
}

fn report_of(snapshot: Snapshot, book: &ThresholdBook) -> SymbolReport {
    let signals = book.evaluate(&snapshot);
    let level = crate::signals::level_of(&signals);
    SymbolReport {
        snapshot,
        signals,
        level,
    }
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
            s.mark_all_failed(reason);
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
    // Nothing was observed: nothing to feed the baselines.
    let symbols: Vec<SymbolReport> = snapshots
        .into_iter()
        .map(|s| report_of(s, &opts.thresholds))
        .collect();
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
        venues: Vec::new(),
    }
}

/// What a running poll reports besides its result.
struct Watched {
    progress: watch::Receiver<PollProgress>,
    arrived: watch::Receiver<Arrived>,
}

/// Polls `source` within `ctx.deadline` (plus [`OVERRUN_GRACE`]), passing its progress and what
/// has arrived on to the frontend as they come. `None` when the source overran.
async fn poll_watched<S: Source>(
    source: &mut S,
    ctx: &PollContext,
    watched: Watched,
    cycle: u64,
    updates: &mpsc::Sender<Update>,
) -> Option<Result<Vec<Snapshot>, FatalSourceError>> {
    let Watched {
        mut progress,
        mut arrived,
    } = watched;
    let poll = tokio::time::timeout_at(ctx.deadline + OVERRUN_GRACE, source.poll(ctx));
    tokio::pin!(poll);
    let mut watching = true;
    let mut watching_arrivals = true;
    loop {
        tokio::select! {
            polled = &mut poll => return polled.ok(),
            changed = arrived.changed(), if watching_arrivals => match changed {
                Ok(()) => {
                    let latest = arrived.borrow_and_update().clone();
                    if let Some(snapshots) = latest {
                        // A courtesy like progress: never hold the poll up for the frontend.
                        let _ = updates.try_send(Update::Arrived { cycle, snapshots });
                    }
                }
                Err(_) => watching_arrivals = false,
            },
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
    mut opts: MonitorOptions,
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
        let (arrived_tx, arrived_rx) = watch::channel(None);
        let ctx = PollContext {
            now: started_at,
            deadline,
            progress: progress_tx,
            arrived: arrived_tx,
        };
        let watch = Watched {
            progress: progress_rx,
            arrived: arrived_rx,
        };
        let snapshots = match poll_watched(&mut source, &ctx, watch, cycle, &updates).await {
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
        if let Some(seeds) = opts.seeds.as_mut() {
            while let Ok(seed) = seeds.try_recv() {
                opts.thresholds.seed(&seed.symbol, &seed.samples);
            }
        }
        let mut symbols = build_reports(snapshots, &mut opts.thresholds);
        for r in &mut symbols {
            opts.records.annotate(&r.snapshot.symbol, &mut r.signals);
        }
        let errors = cycle_errors(&symbols);
        for e in &errors {
            tracing::warn!(cycle, "{e}");
        }
        let requests = source.request_stats();
        // When the next cycle is due by the schedule (`due`, as wall time).
        let due_at = started_at
            + chrono::Duration::from_std(opts.poll_interval).unwrap_or(chrono::Duration::MAX);
        let next_poll_at = (!opts.once && !paused).then_some(due_at);
        let report = CycleReport {
            cycle,
            started_at,
            finished_at: Utc::now(),
            source: source.label(),
            symbols,
            requests,
            next_poll_at,
            errors,
            venues: source.venues(),
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
                        // Resuming keeps the schedule: the next cycle is due when it was (at
                        // once if that has passed), and the frontend can count down to it.
                        let next_poll_at = (!paused).then(|| due_at.max(Utc::now()));
                        let update = Update::Paused {
                            paused,
                            next_poll_at,
                        };
                        if updates.send(update).await.is_err() {
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
mod tests;
