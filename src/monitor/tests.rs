use super::*;
use crate::model::{Field, Funding, GapReason, SourceKind};
use crate::source::{RequestStats, SourceLabel};
use tokio::sync::mpsc;

/// A scripted source: funding rate per poll, or a fatal error.
struct Scripted {
    polls: u32,
    fatal_at: Option<u32>,
}

impl Scripted {
    /// A source that answers every poll and never fails.
    fn healthy() -> Scripted {
        Scripted {
            polls: 0,
            fatal_at: None,
        }
    }
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
        seeds: None,
        report_taps: Vec::new(),
        symbols: vec!["BTC".into()],
        run_deadline: None,
        records: Default::default(),
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
    let src = Scripted::healthy();
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
    let src = Scripted::healthy();
    let task = tokio::spawn(run(src, opts(false, 60), tx, crx));
    assert_eq!(next_cycle(&mut rx).await.cycle, 1);
    // The second cycle comes after the interval (paused clock auto-advances).
    let before = tokio::time::Instant::now();
    assert_eq!(next_cycle(&mut rx).await.cycle, 2);
    assert!(before.elapsed() >= std::time::Duration::from_secs(59));
    // Refresh now: no waiting.
    let before = tokio::time::Instant::now();
    ctx.send(Command::RefreshNow).await.unwrap();
    let third = next_cycle(&mut rx).await;
    assert_eq!(third.cycle, 3);
    assert!(before.elapsed() < std::time::Duration::from_secs(1));
    // Pause: no cycle for a long time; resume brings the next one.
    ctx.send(Command::TogglePause).await.unwrap();
    assert!(matches!(
        rx.recv().await,
        Some(Update::Paused {
            paused: true,
            next_poll_at: None
        })
    ));
    let waited = tokio::time::timeout(std::time::Duration::from_secs(600), rx.recv()).await;
    assert!(waited.is_err(), "no update while paused");
    ctx.send(Command::TogglePause).await.unwrap();
    match rx.recv().await {
        // The schedule's due time, said on the wall clock (which the test's paused clock does
        // not move, so it has not passed there; had it passed, it would say now).
        Some(Update::Paused {
            paused: false,
            next_poll_at: Some(at),
        }) => assert_eq!(Some(at), third.next_poll_at),
        other => panic!("expected a resume with the next poll time, got {other:?}"),
    }
    assert_eq!(next_cycle(&mut rx).await.cycle, 4);
    drop(rx);
    assert_eq!(task.await.unwrap(), MonitorExit::Done);
}

#[tokio::test(start_paused = true)]
async fn a_refresh_while_paused_runs_one_cycle_and_resuming_says_when_the_next_is_due() {
    let (tx, mut rx) = mpsc::channel(16);
    let (ctx, crx) = mpsc::channel(4);
    let src = Scripted::healthy();
    let task = tokio::spawn(run(src, opts(false, 60), tx, crx));
    assert_eq!(next_cycle(&mut rx).await.cycle, 1);
    ctx.send(Command::TogglePause).await.unwrap();
    assert!(matches!(
        rx.recv().await,
        Some(Update::Paused { paused: true, .. })
    ));
    // `r` while paused: one cycle, which schedules nothing (still paused).
    ctx.send(Command::RefreshNow).await.unwrap();
    assert!(matches!(
        rx.recv().await,
        Some(Update::CycleStarted { cycle: 2, .. })
    ));
    let refreshed = next_cycle(&mut rx).await;
    assert_eq!(refreshed.cycle, 2);
    assert_eq!(refreshed.next_poll_at, None, "paused: no poll scheduled");
    let waited = tokio::time::timeout(std::time::Duration::from_secs(30), rx.recv()).await;
    assert!(waited.is_err(), "still paused after the refresh");
    // Resume 30 s after the refresh: the next cycle is due a poll interval after the refresh
    // started, and the resume says so (on the wall clock, which the test's clock does not move).
    ctx.send(Command::TogglePause).await.unwrap();
    let due = refreshed.started_at + chrono::Duration::seconds(60);
    match rx.recv().await {
        Some(Update::Paused {
            paused: false,
            next_poll_at: Some(at),
        }) => assert_eq!(at, due),
        other => panic!("expected a resume with the next poll time, got {other:?}"),
    }
    let before = tokio::time::Instant::now();
    assert_eq!(next_cycle(&mut rx).await.cycle, 3);
    let waited = before.elapsed();
    assert!(
        waited >= std::time::Duration::from_secs(29)
            && waited <= std::time::Duration::from_secs(31),
        "the schedule kept: {waited:?}"
    );
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
    let reports = build_reports(snaps, &mut ThresholdBook::default());
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
    let reports = build_reports(dead, &mut ThresholdBook::default());
    assert_eq!(
        cycle_errors(&reports),
        vec!["every metric (all symbols): fetch failed: connection refused"]
    );
    // One symbol is named, not "all".
    let one = build_reports(vec![failed("BTC", now, "x")], &mut ThresholdBook::default());
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
        vec!["every metric (all symbols): fetch failed: timed out at the cycle deadline (28 s)"]
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

// ---------------------------------------------------------------------------------------------
// Thresholds: the book, its baselines and their history
// ---------------------------------------------------------------------------------------------

use crate::model::TakerFlow;
use crate::signals::relative::{
    Field as ThField, RelativeSettings, Sample, ThresholdMode, DAY_MS, HOUR_MS,
};
use crate::signals::{SignalId, Thresholds};

fn at_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// A live BTC snapshot at `t` with fresh funding `f` (percent per 8 h).
fn funding_snap(t: DateTime<Utc>, f: f64) -> Snapshot {
    let mut s = Snapshot::new("BTC", SourceKind::Live, t);
    s.funding = Field::fresh(
        Funding {
            rate_8h_pct: Some(f),
            by_exchange: vec![],
        },
        t,
    );
    s
}

/// `days` of hourly funding history ending one hour before `end_ms`: 0.005 % most hours, and
/// 0.0137 % (the window's top) on three hours in a hundred.
fn funding_seed(end_ms: i64, days: i64) -> Vec<(i64, Sample)> {
    let hours = days * 24;
    (0..hours)
        .map(|h| {
            let f = if h % 100 < 3 { 0.0137 } else { 0.005 };
            let inputs = crate::model::SignalInputs {
                funding_8h_pct: Some(f),
                ..Default::default()
            };
            (end_ms - (hours - h) * HOUR_MS, Sample::of(&inputs, None))
        })
        .collect()
}

const T0_MS: i64 = 1_760_000_000_000 - 1_760_000_000_000 % HOUR_MS;

#[test]
fn relative_thresholds_apply_once_seeded_and_the_static_ones_while_warming_up() {
    let now = at_ms(T0_MS + 20 * 60_000);
    let mut book = ThresholdBook::default();
    assert_eq!(book.mode(), ThresholdMode::Relative, "the default");
    // Warming up: the static 0.10 %; funding at 0.0137 % says nothing, 0.12 % fires and says
    // which threshold it crossed.
    assert!(book.evaluate(&funding_snap(now, 0.0137)).is_empty());
    let hot = book.evaluate(&funding_snap(now, 0.12));
    assert_eq!(hot[0].id, SignalId::FundingExtremeLong);
    let t = hot[0]
        .threshold
        .clone()
        .unwrap_or_else(|| panic!("no threshold"));
    assert_eq!(t.mode, ThresholdMode::Static);
    assert_eq!(t.value, 0.10);
    assert_eq!(t.note, Some("warming up: static threshold"));
    assert_eq!(
        t.describe(SignalId::FundingExtremeLong),
        "warming up: static threshold 0.10 %/8h"
    );

    // 30 days of this symbol's own history: its p99 is 0.0137 %, the window's top. A value
    // equal to the top counts as beyond it (ties), and the message quotes it in full.
    book.seed("BTC", &funding_seed(T0_MS, 30));
    let fired = book.evaluate(&funding_snap(now, 0.0137));
    let ids: Vec<SignalId> = fired.iter().map(|s| s.id).collect();
    assert_eq!(ids, vec![SignalId::FundingExtremeLong]);
    let t = fired[0]
        .threshold
        .clone()
        .unwrap_or_else(|| panic!("no threshold"));
    assert_eq!(t.mode, ThresholdMode::Relative);
    assert_eq!((t.value, t.percentile), (0.0137, Some(99.0)));
    assert_eq!(t.window.as_deref(), Some("30d"));
    assert_eq!(t.note, None);
    assert_eq!(
        t.describe(SignalId::FundingExtremeLong),
        "threshold 0.0137 %/8h = p99 of 30d"
    );
    assert!(
        fired[0].message.contains("above the +0.0137% extreme"),
        "{}",
        fired[0].message
    );
    // Another symbol has no history: still warming up.
    let mut eth = funding_snap(now, 0.0137);
    eth.symbol = "ETH".into();
    assert!(book.evaluate(&eth).is_empty());
}

#[test]
fn static_mode_gives_exactly_the_static_signals() {
    let now = at_ms(T0_MS);
    let static_settings = RelativeSettings {
        mode: ThresholdMode::Static,
        ..RelativeSettings::default()
    };
    let th = Thresholds {
        oi_surge_pct: 4.0,
        ..Thresholds::default()
    };
    let mut book = ThresholdBook::new(Thresholds::default(), static_settings).with_symbol(
        "BTC",
        th,
        static_settings,
    );
    // History is ignored in static mode.
    book.seed("BTC", &funding_seed(T0_MS, 30));
    assert!(book.baseline("BTC").is_none());
    let mut s = funding_snap(now, 0.07);
    s.open_interest = Field::fresh(
        crate::model::OpenInterest {
            oi_usd: Some(50e9),
            change_1h_pct: Some(4.5),
            ..Default::default()
        },
        now,
    );
    s.taker = Field::fresh(
        TakerFlow {
            buy_pct: Some(70.0),
            ..Default::default()
        },
        now,
    );
    let got = book.evaluate(&s);
    let want = crate::signals::evaluate(&s.inputs(), &th);
    assert!(!want.is_empty());
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(
            (g.id, g.level, g.bias, &g.title, &g.message),
            (w.id, w.level, w.bias, &w.title, &w.message)
        );
        let t = g
            .threshold
            .clone()
            .unwrap_or_else(|| panic!("no threshold"));
        assert_eq!(
            (t.mode, t.percentile, t.window, t.note),
            (ThresholdMode::Static, None, None, None)
        );
    }
    let surge = got.iter().find(|g| g.id == SignalId::OiSurge);
    assert_eq!(
        surge.and_then(|g| g.threshold.as_ref()).map(|t| t.value),
        Some(4.0)
    );
    // Nothing is observed either.
    let mut reports_book = book.clone();
    build_reports(vec![s], &mut reports_book);
    assert!(reports_book.baseline("BTC").is_none());
}

#[test]
fn only_fresh_values_enter_the_baseline_one_sample_per_hour() {
    let mut book = ThresholdBook::default();
    for minute in [0, 20, 40, 60, 80] {
        let t = at_ms(T0_MS + minute * 60_000);
        let mut s = funding_snap(t, 0.01);
        // Taker flow kept from an earlier cycle after a failed fetch: stale, not observed.
        s.taker = Field::fresh(
            TakerFlow {
                buy_pct: Some(60.0),
                ..Default::default()
            },
            t - chrono::Duration::minutes(5),
        );
        s.taker
            .mark_failed(GapReason::FetchFailed("HTTP 500".into()));
        build_reports(vec![s], &mut book);
    }
    let b = book
        .baseline("BTC")
        .unwrap_or_else(|| panic!("no baseline"));
    assert_eq!(
        b.samples(ThField::FundingExtremeLong),
        1,
        "the first hour entered when the second began; the second is still going"
    );
    assert_eq!(b.samples(ThField::TakerBuy), 0, "stale values never enter");
    let (inputs, oi) = fresh_inputs(&funding_snap(at_ms(T0_MS), 0.01));
    assert_eq!(inputs.funding_8h_pct, Some(0.01));
    assert_eq!(oi, None);
}

#[test]
fn the_demo_clock_fills_baselines_at_the_markets_pace() {
    // 120 market hours per wall hour: a poll every 30 s is a new market hour each time.
    let origin = at_ms(T0_MS);
    let mut book = ThresholdBook::default().with_time_scale(origin, 120.0);
    for i in 0..10 {
        let t = origin + chrono::Duration::seconds(30 * i);
        book.observe(&funding_snap(t, 0.01));
    }
    let b = book
        .baseline("BTC")
        .unwrap_or_else(|| panic!("no baseline"));
    assert_eq!(b.samples(ThField::FundingExtremeLong), 9);
}

#[test]
fn the_json_line_carries_each_signals_threshold() {
    let now = at_ms(T0_MS + 20 * 60_000);
    let threshold_of = |book: &mut ThresholdBook, f: f64| {
        let reports = build_reports(vec![funding_snap(now, f)], book);
        let line = serde_json::to_value(crate::report::json::JsonLine::new(&reports[0], &[]))
            .unwrap_or_default();
        let signal = &line["signals"][0];
        assert_eq!(signal["id"], "funding_extreme_long");
        assert!(signal["record"].is_null(), "no track record yet");
        signal["threshold"].clone()
    };
    let mut book = ThresholdBook::default();
    let warming = threshold_of(&mut book, 0.2);
    assert_eq!(
        warming,
        serde_json::json!({"mode": "static", "value": 0.1, "percentile": null, "window": null,
                           "note": "warming up: static threshold"})
    );
    let mut book = ThresholdBook::default();
    book.seed("BTC", &funding_seed(T0_MS, 30));
    let relative = threshold_of(&mut book, 0.2);
    assert_eq!(
        relative,
        serde_json::json!({"mode": "relative", "value": 0.0137, "percentile": 99.0,
                           "window": "30d"})
    );
}

#[tokio::test]
async fn history_arriving_while_running_applies_from_the_next_cycle() {
    let (tx, mut rx) = mpsc::channel(16);
    let (_ctx, crx) = mpsc::channel(1);
    let (seed_tx, seed_rx) = mpsc::channel(4);
    let now_ms = Utc::now().timestamp_millis();
    let end = now_ms - now_ms.rem_euclid(HOUR_MS);
    seed_tx
        .send(Seed {
            symbol: "BTC".into(),
            samples: funding_seed(end, 30),
        })
        .await
        .unwrap_or_else(|_| panic!("seed channel closed"));
    let mut o = opts(true, 60);
    o.seeds = Some(seed_rx);
    let src = Scripted::healthy();
    assert_eq!(run(src, o, tx, crx).await, MonitorExit::Done);
    let report = next_cycle(&mut rx).await;
    let t = report.symbols[0].signals[0].threshold.clone();
    assert_eq!(
        t.map(|t| (t.mode, t.value)),
        Some((ThresholdMode::Relative, 0.0137))
    );
}

/// A cycle report of BTC at `t` from `kind` with funding `f`.
fn stored_cycle(t: DateTime<Utc>, kind: SourceKind, f: f64) -> CycleReport {
    let mut s = funding_snap(t, f);
    s.source = kind;
    let label = match kind {
        SourceKind::Live | SourceKind::Exchanges => crate::fixtures::live_label(None),
        SourceKind::Demo => crate::fixtures::demo_label(),
    };
    crate::fixtures::cycle_report(1, t, label, vec![crate::fixtures::symbol_report(s, vec![])])
}

#[test]
fn stored_live_cycles_seed_hourly_and_demo_rows_never() -> Result<(), crate::store::StoreError> {
    let dir = tempfile::tempdir().map_err(|source| crate::store::StoreError::Dir {
        path: "tempdir".into(),
        source,
    })?;
    let mut store = crate::store::Store::open_in(dir.path())?;
    let now = at_ms(T0_MS + 30 * 60_000);
    // Ten days of live cycles every 20 minutes, the last one of each hour the highest; a demo
    // run in between with absurd funding; the hour in progress.
    let start = T0_MS - 10 * DAY_MS;
    let mut t = start;
    while t < T0_MS + 30 * 60_000 {
        let minute = (t - start) / 60_000 % 60;
        let f = 0.001 * (1.0 + minute as f64 / 20.0);
        store.write_cycle(&stored_cycle(at_ms(t), SourceKind::Live, f))?;
        store.write_cycle(&stored_cycle(at_ms(t + 60_000), SourceKind::Demo, 5.0))?;
        // An exchanges run's cycles: another source, another baseline.
        store.write_cycle(&stored_cycle(
            at_ms(t + 120_000),
            SourceKind::Exchanges,
            0.02,
        ))?;
        t += 20 * 60_000;
    }
    drop(store);
    let btc = ["BTC".to_string()];
    let exchanges = stored_samples(dir.path(), &btc, 30 * DAY_MS, SourceKind::Exchanges, now);
    let exchanges_row = Sample::of(
        &crate::model::SignalInputs {
            funding_8h_pct: Some(0.02),
            ..Default::default()
        },
        None,
    );
    assert_eq!(exchanges[0].1.len(), 10 * 24);
    assert!(
        exchanges[0].1.iter().all(|(_, s)| *s == exchanges_row),
        "the exchanges source reads its own cycles only"
    );
    let seeded = stored_samples(dir.path(), &btc, 30 * DAY_MS, SourceKind::Live, now);
    assert_eq!(seeded.len(), 1);
    let (symbol, samples) = &seeded[0];
    assert_eq!(symbol, "BTC");
    assert_eq!(
        samples.len(),
        10 * 24,
        "one per whole hour, none of the hour in progress"
    );
    let last_of_hour = Sample::of(
        &crate::model::SignalInputs {
            funding_8h_pct: Some(0.003),
            ..Default::default()
        },
        None,
    );
    for (t, s) in samples {
        assert_eq!(
            t.rem_euclid(HOUR_MS),
            40 * 60_000,
            "the hour's last stored cycle"
        );
        assert_eq!(*s, last_of_hour, "a live row, never the demo's");
    }
    // The window bounds what is read.
    let week = stored_samples(dir.path(), &btc, 7 * DAY_MS, SourceKind::Live, now);
    assert_eq!(week[0].1.len(), 7 * 24);
    // A demo-only symbol has nothing; an unreadable store seeds nothing.
    let eth = ["ETH".to_string()];
    let none = stored_samples(dir.path(), &eth, 30 * DAY_MS, SourceKind::Live, now);
    assert!(none[0].1.is_empty());
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").map_err(|source| crate::store::StoreError::Dir {
        path: file.clone(),
        source,
    })?;
    assert!(stored_samples(&file, &btc, 30 * DAY_MS, SourceKind::Live, now).is_empty());
    Ok(())
}

/// Every reported signal carries what the record book says about it: its record, or why it has
/// none (a book that is off leaves both empty, as in the tests above).
#[tokio::test]
async fn reported_signals_carry_the_record_book() {
    use crate::signals::record::{NoRecord, RecordBook, SymbolRecords};
    let (tx, mut rx) = mpsc::channel(16);
    let (_ctx, crx) = mpsc::channel(1);
    let src = Scripted::healthy();
    let book = RecordBook::new();
    let short = NoRecord::ShortHistory {
        days: 2.0,
        needs_days: 30,
    };
    book.set("BTC", SymbolRecords::None(short.clone()));
    let mut o = opts(true, 60);
    o.records = book;
    run(src, o, tx, crx).await;
    let report = next_cycle(&mut rx).await;
    let signals = &report.symbols[0].signals;
    assert!(!signals.is_empty());
    for s in signals {
        assert_eq!(s.record, None);
        assert_eq!(s.no_record.as_ref(), Some(&short), "{}", s.id);
    }
}
