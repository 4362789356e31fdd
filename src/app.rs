//! Wiring: picks the source (live or demo), starts the monitor task and the frontend, maps how
//! they end to the documented exit codes.

use crate::alerts;
use crate::config::Config;
use crate::exit;
use crate::headless::{self, HeadlessExit};
use crate::monitor::{self, Command, MonitorExit, MonitorOptions, ThresholdBook, Update};
use crate::source::coinglass::{ApiError, ClientOptions, LiveConfig, LiveSource};
use crate::source::demo::DemoSource;
use crate::source::Source;
use std::process::ExitCode;
use tokio::sync::mpsc;

/// How long shutdown (`--once`, SIGINT/SIGTERM) starts sends of unsent alerts (SIGTERM exits
/// within 2 s when none is in flight). A send in flight then is finished within its request
/// timeout and recorded (`alerts::worst_case_shutdown`); the rest stays in the outbox.
pub const ALERT_FLUSH: std::time::Duration = std::time::Duration::from_millis(1200);

/// Says something the user must read, exactly once: in headless mode the log already goes to
/// stderr; with the dashboard (not started yet, or already restored) it goes to the log file and
/// to stderr.
pub fn tell_user(config: &Config, msg: &str) {
    tracing::error!("{msg}");
    if config.mode.ui {
        eprintln!("perpwatch: {msg}");
    }
}

/// The thresholds of every configured symbol, resolved once.
pub fn threshold_book(config: &Config) -> ThresholdBook {
    ThresholdBook {
        default: config.thresholds,
        per_symbol: config
            .symbols
            .iter()
            .map(|s| (s.clone(), config.thresholds_for(s)))
            .collect(),
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

/// Connects to CoinGlass, or says why not with the exit code to use.
async fn connect_live(config: &Config) -> Result<LiveSource, (u8, String)> {
    let Some(key) = config.api_key.clone() else {
        return Err((exit::USAGE, "no COINGLASS_API_KEY is set".into()));
    };
    match LiveSource::connect(live_config(config, key)).await {
        Ok(source) => Ok(source),
        Err(e @ ApiError::Unauthorized { .. }) => Err((
            exit::KEY_REFUSED,
            format!(
                "{e}. Check COINGLASS_API_KEY: it may be invalid or expired \
                 (without a key perpwatch runs the demo market)."
            ),
        )),
        Err(e) => Err((
            exit::FAILURE,
            format!("cannot start the CoinGlass client: {e}"),
        )),
    }
}

/// `perpwatch` / `perpwatch --no-ui`: runs the monitor and a frontend until quit.
pub async fn run(config: Config) -> ExitCode {
    let thresholds = threshold_book(&config);
    let mut poll_interval = config.poll_interval;
    if config.is_demo() {
        if config.api_key.is_none() && !config.mode.demo {
            tracing::info!("no COINGLASS_API_KEY set: running the DEMO market (simulated data)");
        }
        let source = DemoSource::new(config.symbols.clone(), config.mode.demo_speed);
        return drive(source, &config, poll_interval, thresholds).await;
    }
    let mut source = match connect_live(&config).await {
        Ok(s) => s,
        Err((code, msg)) => {
            tell_user(&config, &msg);
            return ExitCode::from(code);
        }
    };
    let schedule = source.schedule();
    if let Some(requested) = schedule.stretched_from {
        let msg = format!(
            "the configured symbols do not fit the {} plan's budget at a {}s interval: {}. Polling every {}s instead.",
            source.plan(),
            requested.as_secs(),
            schedule.explanation,
            schedule.poll_interval.as_secs()
        );
        tracing::warn!("{msg}");
        if !config.mode.ui {
            eprintln!("perpwatch: {msg}");
        }
    } else {
        tracing::info!(plan = %source.plan(), "{}", schedule.explanation);
    }
    poll_interval = schedule.poll_interval;
    for (coin, prices) in crate::store::recent_live_prices(&config.data_dir, &source.symbols()) {
        source.seed_prices(&coin, &prices);
    }
    drive(source, &config, poll_interval, thresholds).await
}

/// Starts the monitor task for `source` and runs the frontend on this task.
async fn drive<S: Source + 'static>(
    source: S,
    config: &Config,
    poll_interval: std::time::Duration,
    thresholds: ThresholdBook,
) -> ExitCode {
    let (update_tx, update_rx) = mpsc::channel::<Update>(64);
    let (command_tx, command_rx) = mpsc::channel::<Command>(8);
    // The alerter (None without a sink). Its `state` receiver is what the status bar shows.
    let alerter = match alerts::start(alerts::AlerterOptions::from_config(config)).await {
        Ok(a) => a,
        Err(e) => {
            tell_user(
                config,
                &format!(
                    "{e}. Alerts cannot be queued safely; check the data directory (--data-dir)"
                ),
            );
            return ExitCode::from(exit::FAILURE);
        }
    };
    if alerter.is_none() {
        tracing::info!("alerts off: no TELEGRAM_BOT_TOKEN/TELEGRAM_CHAT_ID or WEBHOOK_URL set");
    }
    let history = start_history(config, source.label().kind, &update_tx);
    // Service mode: /metrics and /healthz (metrics_addr), systemd notify (NOTIFY_SOCKET).
    let service_opts = crate::service::ServiceOptions {
        metrics_addr: config.metrics_addr,
        poll_interval,
    };
    let service = match crate::service::start(service_opts).await {
        Ok(s) => s,
        Err(e) => {
            tell_user(config, &e.to_string());
            return ExitCode::from(exit::FAILURE);
        }
    };
    let opts = MonitorOptions {
        poll_interval,
        once: config.mode.once,
        thresholds,
        report_taps: history
            .iter()
            .map(|h| h.tap())
            .chain(alerter.iter().map(|a| a.tap.clone()))
            .chain(service.iter().map(|s| s.tap()))
            .collect(),
    };
    let monitor = supervise(source, opts, update_tx, command_rx);
    let frontend = if config.mode.ui {
        let sink_state = alerter
            .as_ref()
            .map(|a| a.state.clone())
            .unwrap_or_else(crate::alerts::off_state);
        crate::ui::run(update_rx, command_tx, sink_state, shutdown_signal())
            .await
            .map(|exit| match exit {
                crate::ui::UiExit::Quit => None,
                crate::ui::UiExit::Fatal(msg) => Some(msg),
            })
    } else {
        let result = headless::run(update_rx, config.mode.json, shutdown_signal()).await;
        drop(command_tx);
        result.map(|exit| match exit {
            HeadlessExit::Done => None,
            HeadlessExit::Fatal(msg) => Some(msg),
        })
    };
    // The frontend is done (quit, signal, --once, fatal): stop polling, flush what alerts can go.
    monitor.abort();
    let monitor_exit = monitor.await.ok();
    // Flush alerts and the last stored cycles side by side, bounded so that SIGTERM still exits
    // within 2 s.
    let flush_alerts = async {
        if let Some(alerter) = alerter {
            alerter.shutdown(ALERT_FLUSH).await;
        }
    };
    let flush_history = async {
        if let Some(writer) = history {
            let _ = tokio::task::spawn_blocking(move || writer.finish(ALERT_FLUSH)).await;
        }
    };
    tokio::join!(flush_alerts, flush_history);
    if let Some(Err(crash)) = &monitor_exit {
        tell_user(config, crash);
        return ExitCode::from(exit::FAILURE);
    }
    match frontend {
        Ok(Some(msg)) => {
            tell_user(config, &msg);
            ExitCode::from(exit::KEY_REFUSED)
        }
        Ok(None) => match monitor_exit {
            Some(Ok(MonitorExit::Fatal(msg))) => {
                tell_user(config, &msg);
                ExitCode::from(exit::KEY_REFUSED)
            }
            _ => ExitCode::from(exit::OK),
        },
        Err(e) => {
            tell_user(config, &format!("cannot write output: {e}"));
            ExitCode::from(exit::FAILURE)
        }
    }
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

/// Runs the monitor in its own task and turns a panic into a fatal update, so that a crashed
/// worker stops the frontend (and restores the terminal) instead of leaving a frozen screen.
fn supervise<S: Source + 'static>(
    source: S,
    opts: MonitorOptions,
    updates: mpsc::Sender<Update>,
    commands: mpsc::Receiver<Command>,
) -> tokio::task::JoinHandle<Result<MonitorExit, String>> {
    let crash_tx = updates.clone();
    let worker = tokio::spawn(monitor::run(source, opts, updates, commands));
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
            Ok(exit) => Ok(exit),
            Err(e) => {
                let msg = format!("the monitor task crashed: {e}");
                let _ = crash_tx.send(Update::Fatal(msg.clone())).await;
                Err(msg)
            }
        }
    })
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("shutdown requested");
}

/// `perpwatch check`: validates the configuration (already done by loading it) and, with a key,
/// prints the plan, the per-minute limit and the requests one cycle costs.
pub async fn check(config: Config) -> ExitCode {
    println!("configuration ok");
    match &config.config_path {
        Some(p) => println!("  config file:     {}", p.display()),
        None => println!("  config file:     none (defaults, .env, environment, flags)"),
    }
    println!("  symbols:         {}", config.symbols.join(", "));
    println!("  poll interval:   {}s", config.poll_interval.as_secs());
    println!(
        "  reference pair:  {} <COIN>{}",
        config.reference_exchange, config.reference_quote
    );
    println!("  data dir:        {}", config.data_dir.display());
    if config.api_key.is_none() {
        println!("  API key:         not set: perpwatch runs the DEMO market (simulated, offline)");
        return ExitCode::from(exit::OK);
    }
    if config.mode.demo {
        println!("  API key:         set, but --demo asks for the DEMO market");
    }
    match connect_live(&config).await {
        Ok(source) => {
            let s = source.schedule();
            let stats = source.request_stats();
            println!("  plan:            {}", source.plan());
            if let Some(limit) = stats.limit_per_minute {
                println!("  limit:           {limit} requests/minute");
            }
            println!(
                "  one cycle costs: {:.1} requests per symbol on average, {:.1} requests/minute in all",
                s.est_requests_per_symbol_per_cycle, s.est_requests_per_minute
            );
            println!("  schedule:        {}", s.explanation);
            if let Some(requested) = s.stretched_from {
                println!(
                    "  note:            the interval was stretched from {}s to {}s to fit the plan",
                    requested.as_secs(),
                    s.poll_interval.as_secs()
                );
            }
            ExitCode::from(exit::OK)
        }
        Err((code, msg)) => {
            eprintln!("perpwatch: {msg}");
            ExitCode::from(code)
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
