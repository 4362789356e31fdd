//! The poll loop: owns the schedule, asks the source for snapshots, evaluates signals and sends one
//! [`Update`] per event to whichever frontend runs. It is the only producer of updates.

use crate::model::Snapshot;
use crate::report::{CycleReport, SparkSeed, SymbolReport};
use crate::source::{FatalSourceError, PollContext, Source};
use chrono::{DateTime, Utc};
use std::sync::Arc;

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
    /// Sparkline history from the store (last 24 h), sent once before the first cycle.
    History(Arc<Vec<SparkSeed>>),
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
    pub report_taps: Vec<tokio::sync::mpsc::Sender<Arc<CycleReport>>>,
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
    /// `--once` finished, or the frontend went away.
    Done,
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

/// How long one cycle may run: the poll interval (the next cycle is due then), and never more
/// than [`ONCE_DEADLINE`] for `--once`.
pub fn cycle_budget(opts: &MonitorOptions) -> std::time::Duration {
    if opts.once {
        opts.poll_interval.min(ONCE_DEADLINE)
    } else {
        opts.poll_interval
    }
}

/// Distinct fetch problems of a cycle, as "SYMBOL metric: reason" lines.
fn cycle_errors(reports: &[SymbolReport]) -> Vec<String> {
    let mut errors = Vec::new();
    for r in reports {
        for gap in r.snapshot.gaps() {
            if matches!(
                gap.reason,
                crate::model::GapReason::FetchFailed(_) | crate::model::GapReason::RateLimited
            ) {
                errors.push(format!(
                    "{} {}: {}",
                    r.snapshot.symbol, gap.metric, gap.reason
                ));
            }
        }
    }
    errors
}

/// The poll loop. Polls immediately, then every `poll_interval`; `Command::RefreshNow` polls at
/// once, `Command::TogglePause` stops/starts the schedule. Returns when `--once` is done, when the
/// frontend drops its receiver, or on a fatal source error (also sent as `Update::Fatal`).
pub async fn run<S: Source>(
    mut source: S,
    opts: MonitorOptions,
    updates: tokio::sync::mpsc::Sender<Update>,
    mut commands: tokio::sync::mpsc::Receiver<Command>,
) -> MonitorExit {
    use tokio::time::{sleep_until, Instant};
    let mut cycle = 0u64;
    let mut paused = false;
    let mut commands_open = true;
    loop {
        cycle += 1;
        let started_at = Utc::now();
        let due = Instant::now() + opts.poll_interval;
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
        let ctx = PollContext::within(started_at, cycle_budget(&opts));
        let snapshots = match source.poll(&ctx).await {
            Ok(s) => s,
            Err(FatalSourceError(msg)) => {
                // The frontend tells the user (once); this is for the log file's timeline.
                tracing::debug!(error = %msg, "data source refused to go on");
                let _ = updates.send(Update::Fatal(msg.clone())).await;
                return MonitorExit::Fatal(msg);
            }
        };
        let max_stale_s = max_stale_age(opts.poll_interval);
        let snapshots = snapshots
            .into_iter()
            .map(|mut s| {
                s.expire_stale(max_stale_s);
                s
            })
            .collect();
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
        tracing::info!(
            cycle,
            requests = requests.this_cycle,
            symbols = report.symbols.len(),
            "cycle done"
        );
        let report = Arc::new(report);
        for tap in &opts.report_taps {
            // Taps keep up (they queue durably and return); a closed one is ignored.
            let _ = tap.send(Arc::clone(&report)).await;
        }
        if updates.send(Update::Cycle(report)).await.is_err() || opts.once {
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
        assert_eq!(report.errors, vec!["BTC taker: fetch failed: HTTP 500"]);
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
}
