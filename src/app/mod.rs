//! Wiring: picks the source (CoinGlass, the exchanges or the demo), starts the monitor task and the frontend, maps how
//! they end to the documented exit codes.
//!
//! The frontend starts first and the source connects inside the monitor's task, so that the
//! dashboard says `connecting…` at once, a shutdown signal during start-up is a clean exit, and
//! `--once` keeps its deadline while connecting too.

use crate::alerts;
use crate::config::{Config, SourceChoice};
use crate::exit;
use crate::headless::{self, HeadlessExit};
use crate::model::{GapReason, SourceKind};
use crate::monitor::{self, Command, MonitorExit, MonitorOptions, ThresholdBook, Update};
use crate::signals::record::RecordBook;
use crate::source::coinglass::{ApiError, ClientOptions, LiveConfig, LiveSource};
use crate::source::demo::DemoSource;
use crate::source::exchanges::{ExchangesSource, ExchangesStartError};
use crate::source::{Source, SourceLabel};
use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

mod check;
pub use check::check;

/// How long shutdown (`--once`, SIGINT/SIGTERM) starts sends of unsent alerts (SIGTERM exits
/// within 2 s when none is in flight). A send in flight then is finished within its request
/// timeout and recorded (`alerts::worst_case_shutdown`); the rest stays in the outbox.
pub const ALERT_FLUSH: std::time::Duration = std::time::Duration::from_millis(1200);

/// The same when `--once` finished its cycle: cron and scripts send no signal that must be
/// answered within 2 s, and the alert is the point of the run. Shutdown returns as soon as
/// everything is sent, so this costs nothing when the sink answers.
pub const ONCE_ALERT_FLUSH: std::time::Duration = std::time::Duration::from_secs(10);

/// How long the frontend waits for the monitor's own account of how it ended (a fatal error,
/// `--once` done) before it stops it.
const MONITOR_SETTLE: Duration = Duration::from_secs(2);

/// Says something the user must read, exactly once: in headless mode the log already goes to
/// stderr; with the dashboard (not started yet, or already restored) it goes to the log file and
/// to stderr.
pub fn tell_user(config: &Config, msg: &str) {
    tracing::error!("{msg}");
    if config.mode.ui {
        eprintln!("perpwatch: {msg}");
    }
}

/// The thresholds of every configured symbol, resolved once (no history yet).
pub fn threshold_book(config: &Config) -> ThresholdBook {
    config.symbols.iter().fold(
        ThresholdBook::new(config.thresholds, config.relative),
        |book, s| book.with_symbol(s, config.thresholds_for(s), config.relative_for(s)),
    )
}

/// How thresholds are derived, in a few words (`perpwatch check`).
fn thresholds_text(config: &Config) -> String {
    match config.relative.mode {
        crate::signals::relative::ThresholdMode::Static => {
            "static: the fixed numbers of [thresholds]".to_string()
        }
        crate::signals::relative::ThresholdMode::Relative => format!(
            "relative: percentiles of each symbol's last {} (the static numbers while a rule \
             warms up)",
            config.relative.window_label()
        ),
    }
}

/// Reads the stored cycles of the running source (`kind`) in the threshold window on a
/// blocking thread (relative mode only), to seed the baselines before the first cycle.
fn read_stored_history(
    config: &Config,
    kind: SourceKind,
) -> Option<tokio::task::JoinHandle<monitor::History>> {
    if config.relative.mode != crate::signals::relative::ThresholdMode::Relative {
        return None;
    }
    let dir = config.data_dir.clone();
    let symbols = config.symbols.clone();
    let window = config.relative.window_ms;
    Some(tokio::task::spawn_blocking(move || {
        monitor::stored_samples(&dir, &symbols, window, kind, chrono::Utc::now())
    }))
}

/// The stored history [`read_stored_history`] started reading (none when it did not).
async fn stored_history(
    reading: Option<tokio::task::JoinHandle<monitor::History>>,
) -> monitor::History {
    match reading {
        Some(task) => task.await.unwrap_or_default(),
        None => Vec::new(),
    }
}

/// Seeds the baselines with stored history and says how much there was.
fn seed_book(book: &mut ThresholdBook, history: monitor::History) {
    let mut hours = Vec::new();
    for (symbol, samples) in history {
        if !samples.is_empty() {
            hours.push(format!("{symbol} {} h", samples.len()));
            book.seed(&symbol, &samples);
        }
    }
    if !hours.is_empty() {
        tracing::info!(
            "relative thresholds: seeded from the stored live cycles ({})",
            hours.join(", ")
        );
    }
}

fn live_config(config: &Config, key: secrecy::SecretString) -> LiveConfig {
    LiveConfig {
        base_url: config.base_url.clone(),
        api_key: key,
        symbols: config.symbols.clone(),
        poll_interval: config.poll_interval,
        plan_override: config.plan,
        reference_exchange: config.reference_exchange.clone(),
        reference_quote: config.reference_quote.clone(),
        client: ClientOptions::default(),
    }
}

/// Why the source could not start, and the exit code that says so.
#[derive(Debug, Clone, PartialEq, Eq)]
struct StartError {
    code: u8,
    msg: String,
}

/// A refused key, in the words every command uses.
fn key_refused(e: &ApiError) -> StartError {
    StartError {
        code: exit::KEY_REFUSED,
        msg: format!(
            "{e}. Check COINGLASS_API_KEY: it may be invalid or expired \
             (without a key, --source exchanges reads Binance, Bybit and OKX public data)."
        ),
    }
}

/// Connects to CoinGlass, or says why not with the exit code to use.
async fn connect_live(config: &Config) -> Result<LiveSource, StartError> {
    let Some(key) = config.api_key.clone() else {
        return Err(StartError {
            code: exit::USAGE,
            msg: "no COINGLASS_API_KEY is set".into(),
        });
    };
    match LiveSource::connect(live_config(config, key)).await {
        Ok(source) => Ok(source),
        Err(e @ ApiError::Unauthorized { .. }) => Err(key_refused(&e)),
        Err(e) => Err(StartError {
            code: exit::FAILURE,
            msg: format!("cannot start the CoinGlass client: {e}"),
        }),
    }
}

/// A source ready to poll, the poll interval its schedule settled on, and the stored history
/// for the baselines.
struct Started<S> {
    source: S,
    poll_interval: Duration,
    history: monitor::History,
}

/// Connects to CoinGlass, plans the schedule and seeds the prices: the live source, ready.
async fn start_live(config: Config) -> Result<Started<LiveSource>, StartError> {
    // The store is read while the source connects.
    let reading = read_stored_history(&config, SourceKind::Live);
    let mut source = connect_live(&config).await?;
    if let Some(note) = source.plan_note() {
        // Headless: on stderr with the log; dashboard: the log file, and the top bar's label.
        tracing::warn!("{note}");
    }
    let schedule = source.schedule();
    if let Some(requested) = schedule.stretched_from {
        let msg = format!(
            "the configured symbols do not fit the {} plan's budget at a {}s interval: {}. Polling every {}s instead.",
            source.plan(),
            requested.as_secs(),
            schedule.explanation,
            schedule.poll_interval.as_secs()
        );
        // Headless, the log is on stderr; with the dashboard, in the log file.
        tracing::warn!("{msg}");
    } else {
        // The one line that says what a cycle costs (the source's "ready" line does not).
        tracing::info!(plan = %source.plan(), "{}", schedule.explanation);
    }
    let poll_interval = schedule.poll_interval;
    for (coin, prices) in crate::store::recent_live_prices(&config.data_dir, &source.symbols()) {
        source.seed_prices(&coin, &prices);
    }
    let history = stored_history(reading).await;
    Ok(Started {
        source,
        poll_interval,
        history,
    })
}

/// The exchanges source's label before it starts: `LIVE · Binance+Bybit+OKX` (what its
/// `label()` says once running).
fn exchanges_label(config: &Config) -> SourceLabel {
    SourceLabel {
        kind: SourceKind::Exchanges,
        plan: Some(
            config
                .venues
                .iter()
                .map(|v| v.name())
                .collect::<Vec<_>>()
                .join("+"),
        ),
    }
}

/// Resolves each venue's instruments and starts the liquidation streams: the exchanges source,
/// ready. A coin no reachable venue lists is a usage error (exit 2).
async fn start_exchanges(config: Config) -> Result<Started<ExchangesSource>, StartError> {
    let reading = read_stored_history(&config, SourceKind::Exchanges);
    let source = ExchangesSource::start(config.exchanges_config())
        .await
        .map_err(|e| match e {
            ExchangesStartError::NotListed { .. } => StartError {
                code: exit::USAGE,
                msg: e.to_string(),
            },
        })?;
    // Coins skipped on a venue, venues unreachable at start: said once.
    for note in source.start_notes() {
        tracing::warn!("{note}");
    }
    Ok(Started {
        source,
        poll_interval: config.poll_interval,
        history: stored_history(reading).await,
    })
}

/// `perpwatch` / `perpwatch --no-ui`: runs the monitor and a frontend until quit.
pub async fn run(config: Config) -> ExitCode {
    // From here on SIGINT/SIGTERM end the run cleanly (exit 0), also while connecting.
    let shutdown = shutdown_signal();
    // `--once` ends within the poll interval and never after ONCE_DEADLINE, connecting included.
    let run_deadline = config
        .mode
        .once
        .then(|| Instant::now() + config.poll_interval.min(monitor::ONCE_DEADLINE));
    let thresholds = threshold_book(&config);
    // `--once` has no time for a track record: its signals carry none.
    let records = if config.mode.once {
        RecordBook::default()
    } else {
        RecordBook::new()
    };
    if config.source == SourceChoice::Exchanges {
        if config.source_auto {
            tracing::info!(
                "no COINGLASS_API_KEY set: reading {} public data (--demo for the simulated market)",
                exchanges_label(&config).plan.unwrap_or_default()
            );
        }
        if records.is_on() {
            // No history download for the exchanges: records come from their stored cycles.
            start_records(
                &config,
                crate::record::HistorySource::Exchanges,
                records.clone(),
                None,
            );
        }
        return drive(
            start_exchanges(config.clone()),
            exchanges_label(&config),
            &config,
            Judging {
                thresholds,
                seeds: None,
                records,
            },
            run_deadline,
            shutdown,
        )
        .await;
    }
    if config.is_demo() {
        let source = DemoSource::new(config.symbols.clone(), config.mode.demo_speed);
        // The demo's market hours last seconds: its baselines fill at the market's pace. Its
        // stored cycles never seed them (the simulation starts afresh each run).
        let thresholds = thresholds.with_time_scale(chrono::Utc::now(), source.time_factor());
        let started = Started {
            source,
            poll_interval: config.poll_interval,
            history: Vec::new(),
        };
        let label = SourceLabel {
            kind: SourceKind::Demo,
            plan: None,
        };
        if records.is_on() {
            start_records(
                &config,
                crate::record::HistorySource::Demo,
                records.clone(),
                None,
            );
        }
        let start = async move { Ok(started) };
        return drive(
            start,
            label,
            &config,
            Judging {
                thresholds,
                seeds: None,
                records,
            },
            run_deadline,
            shutdown,
        )
        .await;
    }
    let label = SourceLabel {
        kind: SourceKind::Live,
        plan: None,
    };
    // History the record job downloads also seeds the relative thresholds' baselines.
    let (seed_tx, seed_rx) = tokio::sync::mpsc::channel(64);
    let start = start_live_with_records(config.clone(), records.clone(), seed_tx);
    drive(
        start,
        label,
        &config,
        Judging {
            thresholds,
            seeds: Some(seed_rx),
            records,
        },
        run_deadline,
        shutdown,
    )
    .await
}

/// [`start_live`], then (with the record book on) the track-record job on the source's client:
/// its history downloads share the key's budget and give way to the polls.
async fn start_live_with_records(
    config: Config,
    records: RecordBook,
    seeds: tokio::sync::mpsc::Sender<crate::monitor::Seed>,
) -> Result<Started<LiveSource>, StartError> {
    let started = start_live(config.clone()).await?;
    if records.is_on() {
        let source = &started.source;
        let reserve = crate::record::live_reserve(source.schedule(), config.symbols.len());
        let history = crate::record::HistorySource::CoinGlass {
            client: source.client().background(reserve),
            plan: source.plan(),
        };
        // A full queue drops a seed: the baseline then fills from live cycles, as without it.
        let hook: crate::record::HistoryHook = Arc::new(move |symbol, bars, interval_ms| {
            let seed = crate::monitor::Seed {
                symbol: symbol.to_string(),
                samples: crate::record::samples_of(bars, interval_ms),
            };
            if seeds.try_send(seed).is_err() {
                tracing::warn!(
                    symbol,
                    "downloaded history not handed to the thresholds: queue full"
                );
            }
        });
        start_records(&config, history, records, Some(hook));
    }
    Ok(started)
}

/// Starts the track-record job (at start, then daily) filling `records`.
fn start_records(
    config: &Config,
    source: crate::record::HistorySource,
    records: RecordBook,
    on_history: Option<crate::record::HistoryHook>,
) {
    let job = crate::record::RecordJob {
        config: config.clone(),
        source,
        book: records,
        // Downloaded history also seeds the relative thresholds' baselines.
        on_history,
    };
    job.spawn(Arc::new(crate::record::SystemClock));
}

/// How the frontend ended.
#[derive(Debug)]
enum FrontendEnd {
    /// The user quit, or a shutdown signal arrived.
    Stopped,
    /// The monitor finished (`--once`) and the frontend has shown everything.
    MonitorDone,
    /// The monitor sent a fatal update.
    Fatal(String),
}

/// How the monitor's task ended.
#[derive(Debug)]
enum Ended {
    Monitor(MonitorExit),
    StartFailed(StartError),
    Crashed(String),
}

/// What the monitor judges signals with: the thresholds (and history arriving for their
/// baselines) and the track records.
struct Judging {
    thresholds: ThresholdBook,
    seeds: Option<tokio::sync::mpsc::Receiver<crate::monitor::Seed>>,
    records: RecordBook,
}

/// Starts the frontend at once and the source (then the monitor) in a task beside it.
async fn drive<S, F>(
    start: F,
    label: SourceLabel,
    config: &Config,
    judging: Judging,
    run_deadline: Option<Instant>,
    shutdown: impl Future<Output = ()>,
) -> ExitCode
where
    S: Source + 'static,
    F: Future<Output = Result<Started<S>, StartError>> + Send + 'static,
{
    let (update_tx, update_rx) = mpsc::channel::<Update>(64);
    let (command_tx, command_rx) = mpsc::channel::<Command>(8);
    // The alerter (None without a sink). Its `state` receiver is what the status bar shows.
    let alerter = match alerts::start(alerts::AlerterOptions::from_config(config)).await {
        Ok(a) => a,
        Err(e) => {
            let fix = match e {
                alerts::AlertError::Db { .. } => "check the data directory (--data-dir)",
                alerts::AlertError::Sink { .. } => {
                    "check the alert settings (TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID, WEBHOOK_URL)"
                }
            };
            tell_user(config, &format!("{e}; {fix}"));
            return ExitCode::from(exit::FAILURE);
        }
    };
    if alerter.is_none() {
        tracing::info!("alerts off: no TELEGRAM_BOT_TOKEN/TELEGRAM_CHAT_ID or WEBHOOK_URL set");
    }
    let history = start_history(config, label.kind, &update_tx);
    // Service mode: /metrics and /healthz (metrics_addr), systemd notify (NOTIFY_SOCKET).
    let service_opts = crate::service::ServiceOptions {
        metrics_addr: config.metrics_addr,
        poll_interval: config.poll_interval,
    };
    let service = match crate::service::start(service_opts).await {
        Ok(s) => s,
        Err(e) => {
            tell_user(config, &e.to_string());
            return ExitCode::from(exit::FAILURE);
        }
    };
    let opts = MonitorOptions {
        poll_interval: config.poll_interval,
        once: config.mode.once,
        thresholds: judging.thresholds,
        seeds: judging.seeds,
        report_taps: history
            .iter()
            .map(|h| h.tap())
            .chain(alerter.iter().map(|a| a.tap.clone()))
            .chain(service.iter().map(|s| s.tap()))
            .collect(),
        symbols: config.symbols.clone(),
        run_deadline,
        records: judging.records,
    };
    let mut monitor = supervise(start, label, opts, update_tx, command_rx);
    let frontend = if config.mode.ui {
        let sink_state = alerter
            .as_ref()
            .map(|a| a.state.clone())
            .unwrap_or_else(crate::alerts::off_state);
        let options = crate::ui::UiOptions {
            mouse: config.mode.mouse,
        };
        crate::ui::run(update_rx, command_tx, sink_state, shutdown, options)
            .await
            .map(|exit| match exit {
                crate::ui::UiExit::Quit => FrontendEnd::Stopped,
                crate::ui::UiExit::Fatal(msg) => FrontendEnd::Fatal(msg),
            })
    } else {
        let result = headless::run(update_rx, config.mode.json, shutdown).await;
        drop(command_tx);
        result.map(|exit| match exit {
            HeadlessExit::Done => FrontendEnd::MonitorDone,
            HeadlessExit::Stopped => FrontendEnd::Stopped,
            HeadlessExit::Fatal(msg) => FrontendEnd::Fatal(msg),
        })
    };
    // The frontend is done. If the monitor ended first, hear how; otherwise (quit, signal) stop
    // it. Then flush what alerts can go.
    let settled = if matches!(
        frontend,
        Ok(FrontendEnd::MonitorDone) | Ok(FrontendEnd::Fatal(_))
    ) {
        tokio::time::timeout(MONITOR_SETTLE, &mut monitor)
            .await
            .ok()
    } else {
        None
    };
    let joined = match settled {
        Some(joined) => joined,
        None => {
            monitor.abort();
            monitor.await
        }
    };
    // Aborted (stopped on purpose) reads as done.
    let ended = joined.unwrap_or(Ended::Monitor(MonitorExit::Done));
    // Flush alerts and the last stored cycles side by side, bounded so that SIGTERM still exits
    // within 2 s.
    let alert_flush = if matches!(frontend, Ok(FrontendEnd::MonitorDone)) {
        ONCE_ALERT_FLUSH
    } else {
        ALERT_FLUSH
    };
    let flush_alerts = async {
        if let Some(alerter) = alerter {
            alerter.shutdown(alert_flush).await;
        }
    };
    let flush_history = async {
        if let Some(writer) = history {
            let _ = tokio::task::spawn_blocking(move || writer.finish(ALERT_FLUSH)).await;
        }
    };
    tokio::join!(flush_alerts, flush_history);
    exit_code(config, frontend, ended)
}

/// Maps how the frontend and the monitor ended to the exit code, saying why once.
fn exit_code(config: &Config, frontend: std::io::Result<FrontendEnd>, ended: Ended) -> ExitCode {
    let code = match (frontend, ended) {
        (_, Ended::Crashed(crash)) => {
            tell_user(config, &crash);
            exit::FAILURE
        }
        (Err(e), _) => {
            tell_user(config, &format!("cannot write output: {e}"));
            exit::FAILURE
        }
        (_, Ended::StartFailed(e)) => {
            tell_user(config, &e.msg);
            e.code
        }
        (_, Ended::Monitor(MonitorExit::Fatal(msg))) | (Ok(FrontendEnd::Fatal(msg)), _) => {
            tell_user(config, &msg);
            exit::KEY_REFUSED
        }
        (_, Ended::Monitor(MonitorExit::NoData(cause))) => {
            tell_user(config, &format!("no data: {cause}"));
            exit::NO_DATA
        }
        (
            Ok(FrontendEnd::Stopped | FrontendEnd::MonitorDone),
            Ended::Monitor(MonitorExit::Done),
        ) => exit::OK,
    };
    ExitCode::from(code)
}

/// Starts the history store's writer (a report tap) and sends the dashboard its stored
/// sparkline history. Without a usable store perpwatch runs on, unrecorded (logged).
fn start_history(
    config: &Config,
    kind: crate::model::SourceKind,
    updates: &mpsc::Sender<Update>,
) -> Option<crate::store::StoreWriter> {
    let seeds = crate::store::load_spark_seeds(&config.data_dir, &config.symbols, kind);
    if seeds
        .iter()
        .any(|s| !s.oi_usd.is_empty() || !s.funding_8h_pct.is_empty())
    {
        let _ = updates.try_send(Update::History(std::sync::Arc::new(seeds)));
    }
    let path = crate::store::db_path(&config.data_dir);
    crate::store::StoreWriter::spawn(&path, config.history_retention, crate::store::WRITE_QUEUE)
        .map_err(|e| tracing::warn!("{e}; history is not recorded this run"))
        .ok()
}

/// Starts the source and then runs the monitor in their own task, and turns a panic into a
/// fatal update, so that a crashed worker stops the frontend (and restores the terminal) instead
/// of leaving a frozen screen.
///
/// With a run deadline (`--once`) start-up counts against it: a source that cannot start in time
/// ends the run with a cycle of absent rows (exit code 6) instead of hanging.
fn supervise<S, F>(
    start: F,
    label: SourceLabel,
    mut opts: MonitorOptions,
    updates: mpsc::Sender<Update>,
    commands: mpsc::Receiver<Command>,
) -> tokio::task::JoinHandle<Ended>
where
    S: Source + 'static,
    F: Future<Output = Result<Started<S>, StartError>> + Send + 'static,
{
    let crash_tx = updates.clone();
    let worker = tokio::spawn(async move {
        let started_at = chrono::Utc::now();
        let begun = Instant::now();
        let started = match opts.run_deadline {
            Some(deadline) => match tokio::time::timeout_at(deadline, start).await {
                Ok(started) => started,
                Err(_) => {
                    let secs = deadline.saturating_duration_since(begun).as_secs();
                    let why = format!("no answer while connecting (timed out after {secs} s)");
                    let reason = GapReason::FetchFailed(why);
                    let report = monitor::unanswered_cycle(1, started_at, label, &opts, reason);
                    let cause = report.no_data().unwrap_or_default();
                    for e in &report.errors {
                        tracing::warn!(cycle = 1, "{e}");
                    }
                    let _ = updates.send(Update::Cycle(Arc::new(report))).await;
                    return Ended::Monitor(MonitorExit::NoData(cause));
                }
            },
            None => start.await,
        };
        match started {
            Ok(Started {
                source,
                poll_interval,
                history,
            }) => {
                opts.poll_interval = poll_interval;
                seed_book(&mut opts.thresholds, history);
                Ended::Monitor(monitor::run(source, opts, updates, commands).await)
            }
            Err(e) => {
                // Stops the frontend; the exit code and the message come from `Ended`.
                let _ = updates.send(Update::Fatal(e.msg.clone())).await;
                Ended::StartFailed(e)
            }
        }
    });
    tokio::spawn(async move {
        // Aborting the supervisor must also stop the worker.
        struct AbortOnDrop(tokio::task::AbortHandle);
        impl Drop for AbortOnDrop {
            fn drop(&mut self) {
                self.0.abort();
            }
        }
        let _guard = AbortOnDrop(worker.abort_handle());
        match worker.await {
            Ok(ended) => ended,
            Err(e) => {
                let msg = format!("the monitor task crashed: {e}");
                let _ = crash_tx.send(Update::Fatal(msg.clone())).await;
                Ended::Crashed(msg)
            }
        }
    })
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is called (not when it
/// is first polled), so call it before anything slow: from then on a signal is a clean exit.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                (Ok(mut one), Err(_)) | (Err(_), Ok(mut one)) => {
                    one.recv().await;
                }
                (Err(_), Err(_)) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
            tracing::info!("shutdown requested");
        }
    }
    #[cfg(not(unix))]
    {
        async move {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("shutdown requested");
        }
    }
}

/// `perpwatch alert-test`: sends a test message through every configured sink and says what
/// happened, one line per sink. Exit codes: 0 every sink accepted it; 2 no sink configured;
/// 4 a sink refused it (bad token, chat not found, …); 5 a sink was unreachable, failed on its
/// side or rate limited (when sinks disagree, 4 wins: it needs a fix, not a wait).
pub async fn alert_test(config: Config) -> ExitCode {
    if config.telegram.is_none() && config.webhook.is_none() {
        eprintln!(
            "perpwatch: no alert sink configured: set TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID, \
             or WEBHOOK_URL (environment, .env or the config file)"
        );
        return ExitCode::from(exit::USAGE);
    }
    let results = alerts::send_test(
        config.telegram.as_ref(),
        config.webhook.as_ref(),
        alerts::DeliveryOptions::default().request_timeout,
    )
    .await;
    let mut code = exit::OK;
    for r in &results {
        println!("{}: {}", r.sink, r.message);
        match r.verdict {
            alerts::TestVerdict::Ok => tracing::info!("alert-test {}: {}", r.sink, r.message),
            alerts::TestVerdict::Refused => {
                tracing::warn!("alert-test {}: {}", r.sink, r.message);
                code = exit::ALERT_REFUSED;
            }
            alerts::TestVerdict::Unreachable => {
                tracing::warn!("alert-test {}: {}", r.sink, r.message);
                if code == exit::OK {
                    code = exit::ALERT_UNREACHABLE;
                }
            }
        }
    }
    ExitCode::from(code)
}
