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

/// Every reported signal carries what the record book says about it: its record, or why it has
/// none (a book that is off leaves both empty, as in the tests above).
#[tokio::test]
async fn reported_signals_carry_the_record_book() {
    use crate::signals::record::{NoRecord, RecordBook, SymbolRecords};
    let (tx, mut rx) = mpsc::channel(16);
    let (_ctx, crx) = mpsc::channel(1);
    let src = Scripted {
        polls: 0,
        fatal_at: None,
    };
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
