//! The delivery loop shared by every sink: takes the oldest pending outbox row, spaces sends,
//! asks the sink to send it and acts on the sink's classification of the answer. Sinks differ only
//! in how they build the request and classify the answer ([`Sink`]).

use super::outbox::{self, Db, Payload, Row};
use super::{DeliveryOptions, SinkKind, SinkState};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch, Notify};
use tokio::time::Instant;

/// What a sink made of one attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Delivered.
    Sent,
    /// The sink could not parse the formatted text: send the same message as plain text.
    ResendPlain { reason: String },
    /// Retry at once (the sink changed something, e.g. followed a chat migration).
    RetryNow { reason: String },
    /// Rate limited: retry after this long.
    RetryAfter { after: Duration, reason: String },
    /// Network error or server error: retry with backoff.
    Retry { reason: String, unreachable: bool },
    /// Refused for this message: never retry it.
    Drop { reason: String },
    /// Refused for every message (bad credentials): stop the sink.
    Disable { reason: String },
}

/// An alert sink: builds the request for a row and classifies the answer.
pub(crate) trait Sink: Send + 'static {
    fn kind(&self) -> SinkKind;

    /// One attempt. `plain` asks for the plain-text form of the payload.
    fn send(
        &mut self,
        payload: &Payload,
        plain: bool,
    ) -> impl std::future::Future<Output = Outcome> + Send;
}

/// A transport failure with the URL stripped (the Telegram URL holds the bot token; webhook URLs
/// often hold one too). Holds only text, so neither `Display` nor `Debug` can leak it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct TransportError {
    pub detail: String,
    pub timeout: bool,
}

impl TransportError {
    pub fn from_reqwest(e: reqwest::Error, timeout_after: Duration) -> TransportError {
        let timeout = e.is_timeout();
        let connect = e.is_connect();
        let e = e.without_url();
        if timeout {
            return TransportError {
                detail: format!("timed out after {}s", timeout_after.as_secs_f64()),
                timeout,
            };
        }
        // reqwest's own text ("error sending request") says little; the innermost cause says
        // why (connection refused, DNS, TLS) in a few words. None of them carries the URL.
        let head = if connect {
            "cannot connect".to_string()
        } else {
            e.to_string()
        };
        let mut root = None;
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            root = Some(s.to_string());
            source = s.source();
        }
        let detail = match root {
            Some(root) => format!("{head}: {root}"),
            None => head,
        };
        TransportError { detail, timeout }
    }
}

/// An HTTP answer, read whatever the status.
#[derive(Debug, Clone)]
pub struct HttpAnswer {
    pub status: u16,
    /// The `Retry-After` header in seconds, when present.
    pub retry_after: Option<u64>,
    pub body: String,
}

/// POSTs a JSON body and reads the answer, whatever its status (never `error_for_status()`:
/// its error carries the URL, and the body says what went wrong).
pub(crate) async fn post_json(
    client: &reqwest::Client,
    url: &str,
    body: &serde_json::Value,
    timeout: Duration,
) -> Result<HttpAnswer, TransportError> {
    let resp = client
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(|e| TransportError::from_reqwest(e, timeout))?;
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let body = resp
        .text()
        .await
        .map_err(|e| TransportError::from_reqwest(e, timeout))?;
    Ok(HttpAnswer {
        status,
        retry_after,
        body,
    })
}

/// Builds the HTTP client the sinks use.
pub(crate) fn http_client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("perpwatch/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.without_url().to_string())
}

/// The first line of an answer body, cut to 200 characters, for log lines.
pub(crate) fn snippet(body: &str) -> String {
    let line = body
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut s: String = line.chars().take(200).collect();
    if line.chars().count() > 200 {
        s.push('…');
    }
    s
}

/// Sends one payload, resolving the immediate follow-ups: a plain-text resend after "can't parse
/// entities", an immediate retry after a chat migration. `plain` carries over between attempts of
/// the same row (once plain, stays plain).
pub(crate) async fn send_resolved<S: Sink>(
    sink: &mut S,
    payload: &Payload,
    plain: &mut bool,
) -> Outcome {
    for _ in 0..4 {
        match sink.send(payload, *plain).await {
            Outcome::ResendPlain { reason } => {
                if *plain {
                    return Outcome::Drop { reason };
                }
                tracing::warn!(
                    sink = sink.kind().as_str(),
                    "the formatted message was refused ({reason}); resending it as plain text"
                );
                *plain = true;
            }
            Outcome::RetryNow { .. } => continue,
            other => return other,
        }
    }
    Outcome::Drop {
        reason: "refused after repeated immediate retries".into(),
    }
}

/// Spaces sends: at most `burst` at once, then one per `spacing` (a GCRA token bucket).
#[derive(Debug)]
pub(crate) struct RateLimiter {
    spacing: Duration,
    burst: u32,
    /// Theoretical arrival time of the next send.
    tat: Option<Instant>,
}

impl RateLimiter {
    pub(crate) fn new(spacing: Duration, burst: u32) -> Self {
        RateLimiter {
            spacing,
            burst: burst.max(1),
            tat: None,
        }
    }

    /// How long to wait before sending at `now`; books the send.
    pub(crate) fn reserve(&mut self, now: Instant) -> Duration {
        let tat = self.tat.unwrap_or(now).max(now);
        let allowance = self.spacing * (self.burst - 1);
        let earliest = tat.checked_sub(allowance).unwrap_or(now);
        let wait = earliest.saturating_duration_since(now);
        self.tat = Some(tat + self.spacing);
        wait
    }
}

/// Exponential backoff with ±20 % jitter: base, 2×base, 4×base … capped at `max`.
pub(crate) fn backoff(failures: u32, base: Duration, max: Duration) -> Duration {
    let exp = failures.saturating_sub(1).min(16);
    let d = base.saturating_mul(1u32 << exp).min(max);
    let jitter = 0.8 + fastrand::f64() * 0.4;
    d.mul_f64(jitter).min(max)
}

/// How the loop should stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    Run,
    /// Shutting down: start sends until the deadline, then return. A request already in flight
    /// at the deadline is finished (its request timeout bounds it) and recorded, so a clean exit
    /// never leaves a delivered message pending (which the next start would send again).
    Flush(Instant),
}

/// One sink's state as the status bar shows it, shared by the processor (which knows whether
/// the outbox can be written) and the delivery task (which knows how sends go). Every change is
/// logged once.
#[derive(Debug)]
pub(crate) struct SinkStatus {
    kind: SinkKind,
    tx: watch::Sender<SinkState>,
    /// Why alerts currently go out without the durable outbox (`None`: they are queued).
    unqueued: Mutex<Option<String>>,
}

impl SinkStatus {
    pub(crate) fn new(kind: SinkKind) -> SinkStatus {
        SinkStatus {
            kind,
            tx: watch::channel(SinkState::Ok { sink: kind }).0,
            unqueued: Mutex::new(None),
        }
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<SinkState> {
        self.tx.subscribe()
    }

    pub(crate) fn is_disabled(&self) -> bool {
        matches!(*self.tx.borrow(), SinkState::Disabled { .. })
    }

    fn unqueued_reason(&self) -> Option<String> {
        self.unqueued
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The healthy state: ok, or ok but unqueued while the outbox cannot be written.
    fn healthy(&self) -> SinkState {
        match self.unqueued_reason() {
            Some(reason) => SinkState::NotDurable {
                sink: self.kind,
                reason,
            },
            None => SinkState::Ok { sink: self.kind },
        }
    }

    /// A send went through.
    pub(crate) fn sent(&self) {
        self.set(self.healthy());
    }

    /// The processor found the outbox writable (`None`) or not (`Some(why)`). A sink that is
    /// retrying or disabled keeps that state (it says more); a healthy one shows the change.
    pub(crate) fn set_unqueued(&self, reason: Option<String>) {
        *self.unqueued.lock().unwrap_or_else(|p| p.into_inner()) = reason;
        let healthy = matches!(
            *self.tx.borrow(),
            SinkState::Ok { .. } | SinkState::NotDurable { .. }
        );
        if healthy {
            self.set(self.healthy());
        }
    }

    pub(crate) fn set(&self, new: SinkState) {
        let kind = self.kind;
        self.tx.send_if_modified(|cur| {
            if *cur == new {
                return false;
            }
            match &new {
                SinkState::Ok { .. } => tracing::info!("alerts: {new}"),
                SinkState::NotDurable { .. } | SinkState::Retrying { .. } => {
                    tracing::warn!("alerts: {new}")
                }
                SinkState::Disabled { .. } => tracing::error!("alerts: {new}"),
                SinkState::Off => tracing::info!("alerts: {} off", kind.as_str()),
            }
            *cur = new;
            true
        });
    }
}

pub(crate) struct Ctx {
    pub db: Db,
    pub opts: DeliveryOptions,
    pub max_age: Duration,
    pub status: Arc<SinkStatus>,
    pub wake: Arc<Notify>,
    pub stop: watch::Receiver<Stop>,
    /// Rows the processor could not write to the outbox: sent best effort, from memory.
    pub unqueued: mpsc::Receiver<Row>,
}

impl Ctx {
    /// Sleeps `d`; false when the loop must return instead (shutting down, or a flush deadline
    /// the sleep would overrun).
    async fn pause(&mut self, d: Duration) -> bool {
        let until = Instant::now() + d;
        loop {
            if let Stop::Flush(deadline) = *self.stop.borrow() {
                if until > deadline {
                    return false;
                }
            }
            tokio::select! {
                _ = tokio::time::sleep_until(until) => return true,
                changed = self.stop.changed() => if changed.is_err() { return false },
            }
        }
    }

    /// Whether a new request may start now: always while running; while flushing, only before
    /// the deadline.
    fn may_start(&self) -> bool {
        match *self.stop.borrow() {
            Stop::Run => true,
            Stop::Flush(deadline) => Instant::now() < deadline,
        }
    }

    fn flushing(&self) -> bool {
        matches!(*self.stop.borrow(), Stop::Flush(_))
    }
}

/// The delivery task of one sink. Returns when stopped, when the sink is disabled, or (flushing)
/// when nothing is left or the deadline has passed. Unqueued rows still unsent then are lost
/// (said in the log).
pub(crate) async fn run<S: Sink>(mut sink: S, mut ctx: Ctx) {
    let name = sink.kind().as_str();
    let mut held: VecDeque<Row> = VecDeque::new();
    let ended = deliver(&mut sink, &mut ctx, &mut held).await;
    ctx.unqueued.close();
    while let Ok(row) = ctx.unqueued.try_recv() {
        held.push_back(row);
    }
    // The alerter may hand over an unqueued row just after the flush found nothing left: it has
    // no other home, so it gets one more pass within the same deadline.
    if ended == Delivery::Returned && !held.is_empty() && ctx.flushing() && ctx.may_start() {
        deliver(&mut sink, &mut ctx, &mut held).await;
    }
    if !held.is_empty() {
        tracing::warn!(
            sink = name,
            "alerts: {} unqueued message(s) were not sent before exit and are lost (the outbox could not be written)",
            held.len()
        );
    }
}

/// The next row to send: an unqueued one first (it has no other home), else the oldest pending
/// outbox row; `None` when the loop must return.
async fn next_row(ctx: &mut Ctx, held: &mut VecDeque<Row>, kind: SinkKind) -> Option<Row> {
    let mut failures = 0u32;
    let mut channel_open = true;
    loop {
        if let Some(row) = held.pop_front() {
            return Some(row);
        }
        if let Ok(row) = ctx.unqueued.try_recv() {
            return Some(row);
        }
        match ctx.db.call(move |c| outbox::next_pending(c, kind)).await {
            Ok(Some(row)) => return Some(row),
            Ok(None) => {}
            Err(e) => {
                tracing::error!(sink = kind.as_str(), "cannot read the alert outbox: {e}");
                failures += 1;
                let d = backoff(failures, ctx.opts.backoff_base, ctx.opts.backoff_max);
                if !ctx.pause(d).await {
                    return None;
                }
                continue;
            }
        }
        if ctx.flushing() {
            return None;
        }
        tokio::select! {
            _ = ctx.wake.notified() => {}
            row = ctx.unqueued.recv(), if channel_open => match row {
                Some(row) => return Some(row),
                None => channel_open = false,
            },
            changed = ctx.stop.changed() => if changed.is_err() { return None },
        }
    }
}

/// How [`deliver`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    /// The sink refused for good (bad credentials): nothing more is sent to it.
    Disabled,
    /// Stopped, or flushed as far as the deadline allowed.
    Returned,
}

async fn deliver<S: Sink>(sink: &mut S, ctx: &mut Ctx, held: &mut VecDeque<Row>) -> Delivery {
    let kind = sink.kind();
    let name = kind.as_str();
    let mut limiter = RateLimiter::new(ctx.opts.min_spacing, ctx.opts.burst);
    let mut failures = 0u32;
    let mut plain_for: Option<i64> = None;
    loop {
        if let Ok(depth) = ctx.db.call(move |c| outbox::pending_count(c, kind)).await {
            metrics::gauge!("perpwatch_alert_outbox_depth", "sink" => name).set(depth as f64);
        }
        let Some(row) = next_row(ctx, held, kind).await else {
            return Delivery::Returned;
        };
        if expired(ctx, &row).await {
            continue;
        }
        let wait = limiter.reserve(Instant::now());
        if (!wait.is_zero() && !ctx.pause(wait).await) || !ctx.may_start() {
            // Shutting down: this row is not started (an outbox row stays pending).
            if row.unqueued {
                held.push_front(row);
            }
            return Delivery::Returned;
        }
        let id = row.id;
        // Counted before the request leaves: a crash from here on may deliver this row twice
        // (Telegram has no idempotency key), never zero times. A clean exit waits for the
        // answer and records it (see `Stop::Flush`).
        if !row.unqueued {
            if let Err(e) = ctx.db.call(move |c| outbox::mark_attempt(c, id)).await {
                tracing::error!(sink = name, "cannot update the alert outbox: {e}");
            }
        }
        let mut plain = plain_for == Some(id) && !row.unqueued;
        let outcome = send_resolved(sink, &row.payload, &mut plain).await;
        plain_for = (plain && !row.unqueued).then_some(id);
        let counted = match outcome {
            Outcome::Sent => "sent",
            Outcome::Drop { .. } | Outcome::Disable { .. } => "dropped",
            _ => "retried",
        };
        metrics::counter!("perpwatch_alerts_total", "sink" => name, "outcome" => counted)
            .increment(1);
        match outcome {
            Outcome::Sent => {
                failures = 0;
                if !row.unqueued {
                    if let Err(e) = ctx.db.call(move |c| outbox::mark_sent(c, id)).await {
                        // It left; if the mark is lost it will be sent again after a restart.
                        tracing::error!(sink = name, "cannot mark {} sent: {e}", row.describe());
                    }
                }
                tracing::debug!(sink = name, "sent {}", row.describe());
                ctx.status.sent();
            }
            Outcome::Drop { reason } => {
                tracing::warn!(
                    sink = name,
                    "{} was refused and will not be retried: {reason}",
                    row.describe()
                );
                if !row.unqueued {
                    let r = reason.clone();
                    if let Err(e) = ctx.db.call(move |c| outbox::mark_dropped(c, id, &r)).await {
                        tracing::error!(sink = name, "cannot update the alert outbox: {e}");
                    }
                }
            }
            Outcome::Disable { reason } => {
                if !row.unqueued {
                    let r = reason.clone();
                    let _ = ctx.db.call(move |c| outbox::note_error(c, id, &r)).await;
                } else {
                    held.push_front(row);
                }
                ctx.status.set(SinkState::Disabled { sink: kind, reason });
                return Delivery::Disabled;
            }
            Outcome::RetryAfter { after, reason } => {
                note(ctx, &row, &reason).await;
                if row.unqueued {
                    held.push_front(row);
                }
                ctx.status.set(SinkState::Retrying { sink: kind, reason });
                if !ctx.pause(after.min(ctx.opts.max_retry_after)).await {
                    return Delivery::Returned;
                }
            }
            Outcome::Retry { reason, .. } => {
                failures += 1;
                note(ctx, &row, &reason).await;
                if row.unqueued {
                    held.push_front(row);
                }
                ctx.status.set(SinkState::Retrying { sink: kind, reason });
                let d = backoff(failures, ctx.opts.backoff_base, ctx.opts.backoff_max);
                if !ctx.pause(d).await {
                    return Delivery::Returned;
                }
            }
            // send_resolved resolves these two.
            Outcome::ResendPlain { .. } | Outcome::RetryNow { .. } => {}
        }
    }
}

async fn note(ctx: &Ctx, row: &Row, reason: &str) {
    if row.unqueued {
        return;
    }
    let id = row.id;
    let r = reason.to_string();
    if let Err(e) = ctx.db.call(move |c| outbox::note_error(c, id, &r)).await {
        tracing::error!("cannot update the alert outbox: {e}");
    }
}

/// Drops a row older than its usefulness window; true when it did.
async fn expired(ctx: &Ctx, row: &Row) -> bool {
    let age = chrono::Utc::now() - row.created_at;
    let max = chrono::Duration::from_std(ctx.max_age).unwrap_or(chrono::Duration::MAX);
    if age <= max {
        return false;
    }
    tracing::warn!(
        sink = row.sink.as_str(),
        "dropping unsent {} from {}: older than max_age ({} min) after {} attempt(s)",
        row.describe(),
        row.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
        ctx.max_age.as_secs() / 60,
        row.attempts
    );
    let sink = row.sink.as_str();
    metrics::counter!("perpwatch_alerts_total", "sink" => sink, "outcome" => "dropped")
        .increment(1);
    if row.unqueued {
        return true;
    }
    let id = row.id;
    if let Err(e) = ctx
        .db
        .call(move |c| outbox::mark_dropped(c, id, "older than max_age"))
        .await
    {
        tracing::error!("cannot update the alert outbox: {e}");
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_allows_a_burst_then_spaces() {
        let t0 = Instant::now();
        let mut l = RateLimiter::new(Duration::from_secs(1), 3);
        assert_eq!(l.reserve(t0), Duration::ZERO);
        assert_eq!(l.reserve(t0), Duration::ZERO);
        assert_eq!(l.reserve(t0), Duration::ZERO);
        assert_eq!(l.reserve(t0), Duration::from_secs(1));
        assert_eq!(l.reserve(t0), Duration::from_secs(2));
        // After a quiet spell the burst is back.
        let later = t0 + Duration::from_secs(60);
        assert_eq!(l.reserve(later), Duration::ZERO);
    }

    #[test]
    fn backoff_grows_and_caps() {
        let base = Duration::from_secs(1);
        let max = Duration::from_secs(60);
        let b1 = backoff(1, base, max);
        assert!(b1 >= Duration::from_millis(800) && b1 <= Duration::from_millis(1200));
        let b3 = backoff(3, base, max);
        assert!(b3 >= Duration::from_millis(3200) && b3 <= Duration::from_millis(4800));
        assert!(backoff(40, base, max) <= max);
    }

    #[test]
    fn snippet_is_one_short_line() {
        assert_eq!(snippet("\n  hello \nworld"), "hello");
        assert_eq!(snippet(&"x".repeat(300)).chars().count(), 201);
    }
}
