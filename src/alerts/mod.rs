//! Alerts: every finished cycle reaches the alerter through a monitor tap; the alerter applies the
//! persisted cooldown, composes one message per symbol, and writes it to the durable outbox in the
//! same transaction as the cooldown entries. One delivery task per sink (Telegram, webhook) drains
//! the outbox. Nothing here blocks the monitor: SQLite runs on the blocking pool and sending
//! happens on the delivery tasks.
//!
//! ```text
//! monitor ─tap─► processor: health, cooldown ─► compose ─► alert_outbox ─► delivery (telegram)
//!                                                                       └► delivery (webhook)
//! ```
//!
//! Delivery is at-least-once: a row is marked sent only after the sink said ok, so the only
//! message that can arrive twice is one whose send was in flight when the process died. A clean
//! exit (`--once`, SIGINT/SIGTERM) finishes a send in flight and records it.
//!
//! When the outbox cannot be written (disk full, a read-only or broken `perpwatch.db`), alerts
//! are still sent, from memory (best effort: one that cannot be sent is not retried after a
//! restart); the log says so once and the sink state shows "not durable" until the outbox works
//! again. When `perpwatch.db` cannot be opened at all, the outbox lives in memory for the run.

pub mod compose;
pub(crate) mod cooldown;
pub(crate) mod delivery;
pub(crate) mod outbox;
pub mod telegram;
pub(crate) mod webhook;

use crate::config::{AlertsConfig, Config, TelegramConfig, WebhookConfig};
use crate::model::{GapReason, Level, Snapshot};
use crate::report::CycleReport;
use chrono::{DateTime, Utc};
use compose::{Alert, AlertKind, SPLIT_AT};
use cooldown::Cooldowns;
use delivery::{Outcome, SinkStatus, Stop};
use outbox::{Db, NewRow, Payload, Row};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio::task::JoinHandle;

/// An alert sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SinkKind {
    Telegram,
    Webhook,
}

impl SinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SinkKind::Telegram => "telegram",
            SinkKind::Webhook => "webhook",
        }
    }
}

impl fmt::Display for SinkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A sink's state, for the status bar and the logs (changes are logged once each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkState {
    /// No alert sink configured.
    Off,
    /// Configured; the last send (if any) went through.
    Ok { sink: SinkKind },
    /// Sending, but without the durable outbox (it cannot be written): an alert that cannot be
    /// sent now is not retried after a restart.
    NotDurable { sink: SinkKind, reason: String },
    /// The last send failed and is being retried.
    Retrying { sink: SinkKind, reason: String },
    /// Stopped for good (until restart): the credentials were refused.
    Disabled { sink: SinkKind, reason: String },
}

impl fmt::Display for SinkState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SinkState::Off => f.write_str("alerts off"),
            SinkState::Ok { sink } => write!(f, "{sink} ok"),
            SinkState::NotDurable { sink, reason } => {
                write!(f, "{sink} ok, not durable: {reason}")
            }
            SinkState::Retrying { sink, reason } => write!(f, "{sink} retrying: {reason}"),
            SinkState::Disabled { sink, reason } => write!(f, "{sink} disabled: {reason}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlertError {
    #[error("cannot use the alert database {}: {reason}", path.display())]
    Db { path: PathBuf, reason: String },
    #[error("cannot set up the {sink} alert sink: {reason}")]
    Sink { sink: SinkKind, reason: String },
}

/// Timing of delivery. The defaults suit Telegram (about 1 message/s per chat, short bursts
/// tolerated); tests shrink them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeliveryOptions {
    /// One message per this, per sink, after a burst.
    pub min_spacing: Duration,
    /// Messages that may leave back to back.
    pub burst: u32,
    /// First retry delay after a network or server error; doubles per failure.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Upper bound on a 429's `retry_after`.
    pub max_retry_after: Duration,
    /// Per request.
    pub request_timeout: Duration,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        DeliveryOptions {
            min_spacing: Duration::from_secs(1),
            burst: 3,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(3600),
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// What the alerter needs.
#[derive(Debug, Clone)]
pub struct AlerterOptions {
    /// Holds `perpwatch.db`.
    pub data_dir: PathBuf,
    pub alerts: AlertsConfig,
    pub telegram: Option<TelegramConfig>,
    pub webhook: Option<WebhookConfig>,
    pub delivery: DeliveryOptions,
}

impl AlerterOptions {
    pub fn from_config(config: &Config) -> AlerterOptions {
        AlerterOptions {
            data_dir: config.data_dir.clone(),
            alerts: config.alerts,
            telegram: config.telegram.clone(),
            webhook: config.webhook.clone(),
            delivery: DeliveryOptions::default(),
        }
    }
}

/// A running alerter.
pub struct AlerterHandle {
    /// Give a clone to the monitor (`MonitorOptions::report_taps`).
    pub tap: mpsc::Sender<Arc<CycleReport>>,
    /// The state of the main sink (Telegram when configured, else the webhook): for the status
    /// bar. Its `Display` is the short text ("telegram ok", "telegram retrying: HTTP 502").
    pub state: watch::Receiver<SinkState>,
    /// Every sink's state, in the order Telegram, webhook (configured ones only).
    pub sink_states: Vec<watch::Receiver<SinkState>>,
    db: Db,
    processor_stop: oneshot::Sender<()>,
    processor: JoinHandle<()>,
    delivery_stop: watch::Sender<Stop>,
    deliveries: Vec<JoinHandle<()>>,
    request_timeout: Duration,
}

/// A receiver that always says [`SinkState::Off`] (no sink configured).
pub fn off_state() -> watch::Receiver<SinkState> {
    watch::channel(SinkState::Off).1
}

/// Reports queued between the monitor and the alerter; the processor takes each in milliseconds.
const TAP_CAPACITY: usize = 64;
/// Messages held in memory per sink while the outbox cannot be written.
const UNQUEUED_CAPACITY: usize = 256;
/// At shutdown, how long past the flush window a send in flight may still take (its request
/// timeout, capped so that a clean exit stays within the shipped systemd unit's
/// `TimeoutStopSec=10`).
const IN_FLIGHT_GRACE: Duration = Duration::from_secs(6);
/// At shutdown, time allowed after that to record the answer.
const RECORD_MARGIN: Duration = Duration::from_secs(1);

/// How long a clean exit may wait for the alerter at most: the flush window, then a send in
/// flight at its end finishes within its request timeout (at most 6 s) and is recorded.
pub fn worst_case_shutdown(flush: Duration, delivery: &DeliveryOptions) -> Duration {
    flush + delivery.request_timeout.min(IN_FLIGHT_GRACE) + RECORD_MARGIN
}

/// Starts the alerter, or returns `None` when no sink is configured.
pub async fn start(opts: AlerterOptions) -> Result<Option<AlerterHandle>, AlertError> {
    if opts.telegram.is_none() && opts.webhook.is_none() {
        return Ok(None);
    }
    let data_dir = opts.data_dir.clone();
    let db_file = opts.data_dir.join(outbox::DB_FILE);
    let opened = tokio::task::spawn_blocking(move || Db::open(&data_dir))
        .await
        .map_err(|e| AlertError::Db {
            path: db_file.clone(),
            reason: e.to_string(),
        })?;
    // Without a usable perpwatch.db the alerts still go out: the outbox lives in memory.
    let (db, not_durable) = match opened {
        Ok(db) => (db, None),
        Err(e) => {
            let db = Db::in_memory(db_file.clone()).map_err(|m| AlertError::Db {
                path: db_file.clone(),
                reason: m.to_string(),
            })?;
            tracing::error!(
                "alerts: {e}; alerts are queued in memory this run (sent as usual, but an unsent one                  and the cooldown are forgotten at exit)"
            );
            // The status bar gets the cause; the log (above) and stderr name the file.
            let cause = match &e {
                AlertError::Db { reason, .. } => reason.clone(),
                other => other.to_string(),
            };
            (db, Some(format!("outbox in memory only ({cause})")))
        }
    };
    let (delivery_stop, stop_rx) = watch::channel(Stop::Run);
    let mut sinks = Vec::new();
    let mut deliveries = Vec::new();
    let mut spawn_ctx = |kind: SinkKind| {
        let status = Arc::new(SinkStatus::new(kind));
        status.set_unqueued(not_durable.clone());
        let wake = Arc::new(Notify::new());
        let (unqueued_tx, unqueued_rx) = mpsc::channel(UNQUEUED_CAPACITY);
        sinks.push(SinkSlot {
            kind,
            state: status.subscribe(),
            status: Arc::clone(&status),
            wake: Arc::clone(&wake),
            unqueued: unqueued_tx,
        });
        delivery::Ctx {
            db: db.clone(),
            opts: opts.delivery,
            max_age: opts.alerts.max_age,
            status,
            wake,
            stop: stop_rx.clone(),
            unqueued: unqueued_rx,
        }
    };
    let timeout = opts.delivery.request_timeout;
    if let Some(cfg) = &opts.telegram {
        let sink =
            telegram::TelegramSink::new(cfg, timeout).map_err(|reason| AlertError::Sink {
                sink: SinkKind::Telegram,
                reason,
            })?;
        let ctx = spawn_ctx(SinkKind::Telegram);
        tracing::info!(chat_id = %cfg.chat_id, "alerts: telegram on");
        deliveries.push(tokio::spawn(delivery::run(sink, ctx)));
    }
    if let Some(cfg) = &opts.webhook {
        let sink = webhook::WebhookSink::new(cfg, timeout).map_err(|reason| AlertError::Sink {
            sink: SinkKind::Webhook,
            reason,
        })?;
        let ctx = spawn_ctx(SinkKind::Webhook);
        tracing::info!(url = %sink.shown_url(), "alerts: webhook on");
        deliveries.push(tokio::spawn(delivery::run(sink, ctx)));
    }
    for slot in &sinks {
        let kind = slot.kind;
        match db.call(move |c| outbox::pending_count(c, kind)).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                sink = kind.as_str(),
                "alerts: {n} unsent message(s) from an earlier run: sending those younger than max_age"
            ),
            Err(e) => tracing::warn!("{e}"),
        }
    }
    let sink_states: Vec<_> = sinks.iter().map(|s| s.state.clone()).collect();
    let state = sink_states.first().cloned().unwrap_or_else(off_state);
    let (tap, rx) = mpsc::channel(TAP_CAPACITY);
    let (processor_stop, processor_stop_rx) = oneshot::channel();
    let processor = Processor {
        db: db.clone(),
        cfg: opts.alerts,
        sinks,
        health: Health::new(opts.alerts.failure_cycles),
        memory: Cooldowns::default(),
        outbox_failing: false,
        not_durable,
    };
    let processor = tokio::spawn(processor.run(rx, processor_stop_rx));
    Ok(Some(AlerterHandle {
        tap,
        state,
        sink_states,
        db,
        processor_stop,
        processor,
        delivery_stop,
        deliveries,
        request_timeout: opts.delivery.request_timeout,
    }))
}

impl AlerterHandle {
    /// The database the outbox lives in.
    pub fn db_path(&self) -> PathBuf {
        self.db.path().to_path_buf()
    }

    /// Stops the alerter: queues the reports already tapped, then starts the sends that can
    /// start within `deadline`. A send in flight when the deadline passes is finished (bounded by
    /// its request timeout, at most 6 s) and recorded, so a clean exit never repeats a delivered
    /// message; the whole takes at most [`worst_case_shutdown`]. Rows not started stay in the outbox for the
    /// next start.
    pub async fn shutdown(self, deadline: Duration) {
        let until = tokio::time::Instant::now() + deadline;
        let AlerterHandle {
            tap,
            processor_stop,
            mut processor,
            delivery_stop,
            deliveries,
            request_timeout,
            ..
        } = self;
        drop(tap);
        let _ = processor_stop.send(());
        if tokio::time::timeout_at(until, &mut processor)
            .await
            .is_err()
        {
            tracing::warn!("alerts: the last cycle could not be queued in time");
            processor.abort();
        }
        let _ = delivery_stop.send(Stop::Flush(until));
        let grace = request_timeout.min(IN_FLIGHT_GRACE) + RECORD_MARGIN;
        for mut task in deliveries {
            if tokio::time::timeout_at(until + grace, &mut task)
                .await
                .is_err()
            {
                // Still no answer: the row stays pending and may be sent again at the next
                // start (as after a crash).
                tracing::warn!(
                    "alerts: a send was still unanswered {:.1}s after shutdown began; it stays \
                     pending and may be sent again at the next start",
                    (deadline + grace).as_secs_f64()
                );
                task.abort();
            }
        }
    }
}

struct SinkSlot {
    kind: SinkKind,
    state: watch::Receiver<SinkState>,
    status: Arc<SinkStatus>,
    wake: Arc<Notify>,
    /// Messages the outbox could not take, straight to the delivery task.
    unqueued: mpsc::Sender<Row>,
}

struct Processor {
    db: Db,
    cfg: AlertsConfig,
    sinks: Vec<SinkSlot>,
    health: Health,
    /// Cooldown entries of alerts sent without the outbox (the database did not take them).
    memory: Cooldowns,
    /// The last cycle's alerts could not be written to the outbox.
    outbox_failing: bool,
    /// Why the outbox is in memory for this run, if it is.
    not_durable: Option<String>,
}

impl Processor {
    async fn run(
        mut self,
        mut rx: mpsc::Receiver<Arc<CycleReport>>,
        mut stop: oneshot::Receiver<()>,
    ) {
        loop {
            tokio::select! {
                biased;
                report = rx.recv() => match report {
                    Some(r) => self.handle(r).await,
                    None => return,
                },
                _ = &mut stop => {
                    rx.close();
                    while let Some(r) = rx.recv().await {
                        self.handle(r).await;
                    }
                    return;
                }
            }
        }
    }

    async fn handle(&mut self, report: Arc<CycleReport>) {
        let health = self.health.observe(&report);
        let active: Vec<SinkKind> = self
            .sinks
            .iter()
            .filter(|s| !s.status.is_disabled())
            .map(|s| s.kind)
            .collect();
        if active.is_empty() {
            return;
        }
        let cfg = self.cfg;
        let memory = self.memory.clone();
        let (r, sinks) = (Arc::clone(&report), active.clone());
        let queued = self
            .db
            .call(move |c| queue_cycle(c, &r, &cfg, health, &sinks, &memory))
            .await;
        match queued {
            Ok(alerts) => {
                // A cycle with nothing to queue wrote nothing: it proves nothing either way.
                if self.outbox_failing && !alerts.is_empty() {
                    self.outbox_failing = false;
                    tracing::info!("alerts: the alert outbox can be written again");
                    for s in &self.sinks {
                        s.status.set_unqueued(self.not_durable.clone());
                    }
                }
                if alerts.is_empty() {
                    return;
                }
                for a in &alerts {
                    tracing::info!("alert queued: {}", describe(a));
                }
                for s in &self.sinks {
                    s.wake.notify_one();
                }
            }
            Err(e) => self.send_unqueued(report, health, &active, e).await,
        }
    }

    /// The outbox did not take this cycle: compose it anyway (cooldown from the database where
    /// it can still be read, and from memory) and hand the messages to the delivery tasks.
    async fn send_unqueued(
        &mut self,
        report: Arc<CycleReport>,
        health: Option<HealthEvent>,
        active: &[SinkKind],
        error: AlertError,
    ) {
        let cause = match &error {
            AlertError::Db { reason, .. } => reason.clone(),
            other => other.to_string(),
        };
        let reason = format!("cannot write the alert outbox ({cause})");
        if !self.outbox_failing {
            self.outbox_failing = true;
            tracing::error!(
                "alerts: {error}: alerts are sent without queueing them until it can be written \
                 again (best effort: one that cannot be sent is not retried after a restart)"
            );
            for s in &self.sinks {
                s.status.set_unqueued(Some(reason.clone()));
            }
        } else {
            tracing::debug!("alerts: still {reason}");
        }
        let cfg = self.cfg;
        let memory = self.memory.clone();
        let r = Arc::clone(&report);
        let planned = self
            .db
            .call(move |c| {
                plan_cycle(&r, &cfg, health, |symbol| {
                    let stored = cooldown::load(c, symbol).unwrap_or_default();
                    Ok(memory.merged(symbol, stored))
                })
            })
            .await;
        let planned = match planned {
            Ok(p) => p,
            Err(_) => {
                let memory = self.memory.clone();
                plan_cycle(&report, &cfg, health, |symbol| {
                    Ok(memory.merged(symbol, Default::default()))
                })
                .unwrap_or_default()
            }
        };
        for (symbol, signals, at) in &planned.records {
            self.memory.record(symbol, signals, *at);
        }
        for alert in &planned.alerts {
            tracing::info!("alert (unqueued): {}", describe(alert));
            for row in rows_for(alert, active) {
                let Some(slot) = self.sinks.iter().find(|s| s.kind == row.sink) else {
                    continue;
                };
                if slot.unqueued.try_send(Row::unqueued(row)).is_err() {
                    tracing::warn!(
                        sink = slot.kind.as_str(),
                        "alerts: too many unqueued messages waiting: {} dropped",
                        describe(alert)
                    );
                }
            }
        }
        for s in &self.sinks {
            s.wake.notify_one();
        }
    }
}

/// A cycle's alerts and the cooldown entries they set.
#[derive(Debug, Default)]
struct Planned {
    alerts: Vec<Alert>,
    /// (symbol, the signals that alerted, when).
    records: Vec<(String, Vec<crate::signals::Signal>, DateTime<Utc>)>,
}

/// Health message and cooldown → compose: the alerts of one cycle, given each symbol's
/// cooldown entries (`entries_of`). Writes nothing.
fn plan_cycle(
    report: &CycleReport,
    cfg: &AlertsConfig,
    health: Option<HealthEvent>,
    mut entries_of: impl FnMut(
        &str,
    ) -> rusqlite::Result<
        std::collections::HashMap<crate::signals::SignalId, cooldown::Entry>,
    >,
) -> rusqlite::Result<Planned> {
    let mut planned = Planned::default();
    let kind = report.source.kind;
    let label = report.source.to_string();
    match health {
        Some(HealthEvent::Failing { cycles, since }) => {
            planned.alerts.push(compose::failing_alert(
                kind,
                &label,
                report.started_at,
                since,
                cycles,
                &report.errors,
            ))
        }
        Some(HealthEvent::Recovered { since }) => planned.alerts.push(compose::recovered_alert(
            kind,
            &label,
            report.started_at,
            since,
        )),
        None => {}
    }
    for sym in &report.symbols {
        let eligible: Vec<&crate::signals::Signal> = sym
            .signals
            .iter()
            .filter(|s| s.level >= cfg.min_level && s.level > Level::None)
            .collect();
        if eligible.is_empty() {
            continue;
        }
        let now = sym.snapshot.time;
        let entries = entries_of(&sym.snapshot.symbol)?;
        let (new, old): (Vec<&crate::signals::Signal>, Vec<&crate::signals::Signal>) = eligible
            .into_iter()
            .partition(|s| cooldown::is_due(entries.get(&s.id), s.level, now, cfg));
        if new.is_empty() {
            continue;
        }
        let new: Vec<crate::signals::Signal> = new.into_iter().cloned().collect();
        planned
            .records
            .push((sym.snapshot.symbol.clone(), new.clone(), now));
        planned
            .alerts
            .push(compose::signals_alert(sym, &report.source, new, &old));
    }
    Ok(planned)
}

/// Cooldown → compose → outbox, in one transaction: either the messages are queued and their
/// cooldown recorded, or neither. `memory` holds cooldown entries of alerts sent while the
/// outbox could not be written.
fn queue_cycle(
    conn: &mut rusqlite::Connection,
    report: &CycleReport,
    cfg: &AlertsConfig,
    health: Option<HealthEvent>,
    sinks: &[SinkKind],
    memory: &Cooldowns,
) -> rusqlite::Result<Vec<Alert>> {
    // IMMEDIATE: take the write lock up front (waiting in busy_timeout). A deferred transaction
    // that reads first fails at once with "database is locked" when the other writer of this
    // file (alerts / history store) committed in between.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let planned = plan_cycle(report, cfg, health, |symbol| {
        Ok(memory.merged(symbol, cooldown::load(&tx, symbol)?))
    })?;
    for (symbol, signals, at) in &planned.records {
        cooldown::record(&tx, symbol, signals, *at)?;
    }
    let mut rows = Vec::new();
    for a in &planned.alerts {
        rows.extend(rows_for(a, sinks));
    }
    outbox::insert(&tx, &rows)?;
    tx.commit()?;
    Ok(planned.alerts)
}

fn describe(a: &Alert) -> String {
    match a.kind {
        AlertKind::Signals => {
            let ids: Vec<&str> = a.signals.iter().map(|s| s.id.as_str()).collect();
            format!(
                "{} {} ({})",
                a.symbol.as_deref().unwrap_or("?"),
                a.level.unwrap_or_default(),
                ids.join(", ")
            )
        }
        other => other.as_str().to_string(),
    }
}

/// The outbox rows of one alert: a row per Telegram message part, one webhook row.
pub fn rows_for(alert: &Alert, sinks: &[SinkKind]) -> Vec<NewRow> {
    let mut rows = Vec::new();
    for &sink in sinks {
        let new = |payload| NewRow {
            sink,
            kind: alert.kind.as_str().to_string(),
            symbol: alert.symbol.clone(),
            created_at: alert.time,
            payload,
        };
        match sink {
            SinkKind::Telegram => {
                for part in alert.text.parts(SPLIT_AT) {
                    rows.push(new(Payload::Telegram {
                        html: part.html,
                        plain: part.plain,
                    }));
                }
            }
            SinkKind::Webhook => rows.push(new(Payload::Webhook {
                body: compose::webhook_body(alert),
            })),
        }
    }
    rows
}

/// A failed cycle: at least one fetch failed (a metric group's gap is "fetch failed" or "rate
/// limited") and no metric group of any symbol was refreshed (fresh means `gap == None` and
/// `observed_at == snapshot.time`). Values carried over by schedule count as neither.
pub fn cycle_failed(report: &CycleReport) -> bool {
    let mut fetch_failed = false;
    let mut refreshed = false;
    for s in &report.symbols {
        for (gap, observed_at) in groups(&s.snapshot) {
            if matches!(
                gap,
                Some(GapReason::FetchFailed(_)) | Some(GapReason::RateLimited)
            ) {
                fetch_failed = true;
            }
            if gap.is_none() && observed_at == Some(s.snapshot.time) {
                refreshed = true;
            }
        }
    }
    fetch_failed && !refreshed
}

fn groups(s: &Snapshot) -> [(&Option<GapReason>, Option<DateTime<Utc>>); 7] {
    [
        (&s.funding.gap, s.funding.observed_at),
        (&s.open_interest.gap, s.open_interest.observed_at),
        (&s.liquidations.gap, s.liquidations.observed_at),
        (&s.retail.gap, s.retail.observed_at),
        (&s.top.gap, s.top.observed_at),
        (&s.taker.gap, s.taker.observed_at),
        (&s.price.gap, s.price.observed_at),
    ]
}

/// A change of the data source's health worth one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthEvent {
    /// `cycles` consecutive failed cycles, the first at `since`.
    Failing { cycles: u32, since: DateTime<Utc> },
    /// The first good cycle after a `Failing`.
    Recovered { since: DateTime<Utc> },
}

/// Counts consecutive failed cycles: one `Failing` when the count reaches the threshold, one
/// `Recovered` at the next good cycle, nothing in between. (In memory: a restart during an
/// outage counts again from zero.)
#[derive(Debug, Clone)]
pub struct Health {
    threshold: u32,
    consecutive: u32,
    first_failed_at: Option<DateTime<Utc>>,
    announced: bool,
}

impl Health {
    pub fn new(threshold: u32) -> Health {
        Health {
            threshold: threshold.max(1),
            consecutive: 0,
            first_failed_at: None,
            announced: false,
        }
    }

    pub fn observe(&mut self, report: &CycleReport) -> Option<HealthEvent> {
        if cycle_failed(report) {
            if self.consecutive == 0 {
                self.first_failed_at = Some(report.started_at);
            }
            self.consecutive = self.consecutive.saturating_add(1);
            if self.consecutive >= self.threshold && !self.announced {
                self.announced = true;
                return Some(HealthEvent::Failing {
                    cycles: self.consecutive,
                    since: self.first_failed_at.unwrap_or(report.started_at),
                });
            }
            None
        } else {
            let event = self.announced.then(|| HealthEvent::Recovered {
                since: self.first_failed_at.unwrap_or(report.started_at),
            });
            self.consecutive = 0;
            self.announced = false;
            self.first_failed_at = None;
            event
        }
    }
}

/// How `perpwatch alert-test` went for one sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestVerdict {
    Ok,
    /// The sink refused (bad token, chat not found, …): fix the configuration.
    Refused,
    /// Could not reach it, or it failed on its side / rate limited: try again later.
    Unreachable,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestResult {
    pub sink: SinkKind,
    pub verdict: TestVerdict,
    /// One line in plain words, for the user.
    pub message: String,
}

/// Sends a test message through every configured sink, directly (not through the outbox), and
/// says what happened. Empty when no sink is configured.
pub async fn send_test(
    telegram: Option<&TelegramConfig>,
    webhook: Option<&WebhookConfig>,
    timeout: Duration,
) -> Vec<TestResult> {
    let alert = compose::test_alert(Utc::now());
    let mut out = Vec::new();
    if let Some(cfg) = telegram {
        let result = match telegram::TelegramSink::new(cfg, timeout) {
            Err(reason) => TestResult {
                sink: SinkKind::Telegram,
                verdict: TestVerdict::Unreachable,
                message: format!("cannot start an HTTP client: {reason}"),
            },
            Ok(mut sink) => {
                let part = alert
                    .text
                    .parts(SPLIT_AT)
                    .into_iter()
                    .next()
                    .unwrap_or(compose::Part {
                        html: String::new(),
                        plain: String::new(),
                    });
                let payload = Payload::Telegram {
                    html: part.html,
                    plain: part.plain,
                };
                let outcome = delivery::send_resolved(&mut sink, &payload, &mut false).await;
                telegram_verdict(outcome, sink.chat_id(), &cfg.api_url)
            }
        };
        out.push(result);
    }
    if let Some(cfg) = webhook {
        let result = match webhook::WebhookSink::new(cfg, timeout) {
            Err(reason) => TestResult {
                sink: SinkKind::Webhook,
                verdict: TestVerdict::Unreachable,
                message: format!("cannot start an HTTP client: {reason}"),
            },
            Ok(mut sink) => {
                let payload = Payload::Webhook {
                    body: compose::webhook_body(&alert),
                };
                let outcome = delivery::send_resolved(&mut sink, &payload, &mut false).await;
                webhook_verdict(outcome, &sink.shown_url())
            }
        };
        out.push(result);
    }
    out
}

fn telegram_verdict(outcome: Outcome, chat_id: &str, api_url: &str) -> TestResult {
    let (verdict, message) = match outcome {
        Outcome::Sent => (
            TestVerdict::Ok,
            format!("ok: test message delivered to chat {chat_id}"),
        ),
        Outcome::Disable { reason } => (
            TestVerdict::Refused,
            format!("bad token: Telegram refused the bot token ({reason}). Check TELEGRAM_BOT_TOKEN (from @BotFather)"),
        ),
        Outcome::Drop { reason } if reason.starts_with("chat not found") => (
            TestVerdict::Refused,
            format!("chat not found: Telegram does not know chat {chat_id} ({reason}). Check TELEGRAM_CHAT_ID, and that the bot is a member of the chat (for a private chat, message the bot first)"),
        ),
        Outcome::Drop { reason } => (
            TestVerdict::Refused,
            format!("refused: Telegram did not accept the message: {reason}"),
        ),
        Outcome::Retry {
            reason,
            unreachable: true,
        } => (
            TestVerdict::Unreachable,
            format!("unreachable: cannot reach the Bot API at {api_url} ({reason}). Check TELEGRAM_API_URL and the network"),
        ),
        Outcome::Retry { reason, .. } => (
            TestVerdict::Unreachable,
            format!("Telegram failed on its side ({reason}); try again later"),
        ),
        Outcome::RetryAfter { reason, .. } => (
            TestVerdict::Unreachable,
            format!("rate limited by Telegram ({reason}); try again later"),
        ),
        Outcome::ResendPlain { reason } | Outcome::RetryNow { reason } => (
            TestVerdict::Refused,
            format!("refused: {reason}"),
        ),
    };
    TestResult {
        sink: SinkKind::Telegram,
        verdict,
        message,
    }
}

fn webhook_verdict(outcome: Outcome, shown_url: &str) -> TestResult {
    let (verdict, message) = match outcome {
        Outcome::Sent => (
            TestVerdict::Ok,
            format!("ok: test message accepted by {shown_url}"),
        ),
        Outcome::Drop { reason } | Outcome::Disable { reason } => (
            TestVerdict::Refused,
            format!("refused: {shown_url} did not accept the message: {reason}. Check WEBHOOK_URL"),
        ),
        Outcome::Retry {
            reason,
            unreachable: true,
        } => (
            TestVerdict::Unreachable,
            format!("unreachable: cannot reach {shown_url} ({reason}). Check WEBHOOK_URL and the network"),
        ),
        Outcome::Retry { reason, .. } | Outcome::RetryAfter { reason, .. } => (
            TestVerdict::Unreachable,
            format!("{shown_url} failed on its side ({reason}); try again later"),
        ),
        Outcome::ResendPlain { reason } | Outcome::RetryNow { reason } => (
            TestVerdict::Refused,
            format!("refused: {reason}"),
        ),
    };
    TestResult {
        sink: SinkKind::Webhook,
        verdict,
        message,
    }
}

#[cfg(test)]
mod tests;
