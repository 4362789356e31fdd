//! The reconnecting websocket runner of a venue's liquidation stream.
//!
//! One task per venue: connect, send the subscriptions, read frames into the [`LiqBook`], keep
//! the connection alive the venue's way, and when it is lost say so (state and book) and
//! reconnect with capped exponential backoff and jitter, subscribing again. A connection the
//! server will close at a known age (Binance, 24 h) is replaced before that age: the next one is
//! opened and subscribed while the old one is still read, then the runner switches to it and
//! closes the old one, so the coverage has no gap.
//!
//! Overlap at a switch: the old connection is not read once the new one is subscribed. An
//! event the server pushed on both in the instant between the new subscription taking effect
//! and the switch would be counted twice, one still in flight on the old connection at the
//! switch would be missed; both windows are a network round trip, once a day.

use super::liq::LiqBook;
use super::venue::{Keepalive, Parsed, StreamSpec};
use chrono::{DateTime, Utc};
use futures::{SinkExt, StreamExt};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{sleep, sleep_until, timeout, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

#[cfg(any(test, feature = "test-support"))]
#[cfg_attr(not(test), allow(dead_code))] // the bench uses a part of it
pub(crate) mod server;
#[cfg(test)]
mod tests;

/// How a stream stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StreamState {
    /// Not connected yet (first connect in progress).
    Connecting,
    Up {
        since: DateTime<Utc>,
    },
    /// Lost; reconnecting with backoff. `why` says what happened (never a secret).
    Down {
        since: DateTime<Utc>,
        why: String,
    },
}

/// A running stream task; dropping the handle stops it (and marks the venue's stream down in
/// the book).
#[derive(Debug)]
pub(crate) struct StreamHandle {
    task: tokio::task::JoinHandle<()>,
    state: watch::Receiver<StreamState>,
    malformed: Arc<AtomicU64>,
    book: LiqBook,
    venue: super::venue::Venue,
}

impl Drop for StreamHandle {
    fn drop(&mut self) {
        self.task.abort();
        self.book.stream_down(self.venue, self.book.now());
    }
}

impl StreamHandle {
    pub(crate) fn state(&self) -> StreamState {
        self.state.borrow().clone()
    }

    /// Frames that were not a shape the parser knows, since start.
    pub(crate) fn malformed(&self) -> u64 {
        self.malformed.load(Ordering::Relaxed)
    }
}

/// The runner's delays. The defaults are the production values; tests shorten them.
#[derive(Debug, Clone)]
pub(crate) struct Timing {
    /// First reconnect delay; doubles per failed attempt up to `backoff_cap`.
    pub(crate) backoff_base: Duration,
    pub(crate) backoff_cap: Duration,
    /// A connection that stayed up this long resets the backoff.
    pub(crate) stable_after: Duration,
    /// Silence that counts as a dead connection where the server pings (Binance pings every
    /// 3 minutes); with `Keepalive::SendText` it is three of its periods.
    pub(crate) silence_with_server_pings: Duration,
    /// Connect (TCP, TLS, websocket handshake) and each send.
    pub(crate) io_timeout: Duration,
    /// How long before `max_age` the next connection is opened, at most (a tenth of
    /// `max_age` when that is shorter).
    pub(crate) rollover_lead: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(60),
            stable_after: Duration::from_secs(60),
            silence_with_server_pings: Duration::from_secs(600),
            io_timeout: Duration::from_secs(10),
            rollover_lead: Duration::from_secs(300),
        }
    }
}

/// Reconnect delays: `base × 2^attempt`, capped, with "equal jitter" (between half and all of
/// it) so many clients restarting together do not reconnect in step.
#[derive(Debug)]
struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
}

impl Backoff {
    fn new(timing: &Timing) -> Backoff {
        Backoff {
            base: timing.backoff_base,
            cap: timing.backoff_cap,
            attempt: 0,
        }
    }

    fn next_delay(&mut self) -> Duration {
        let full = self
            .base
            .saturating_mul(1u32 << self.attempt.min(20))
            .min(self.cap);
        self.attempt = self.attempt.saturating_add(1);
        let half = full / 2;
        half + half.mul_f64(fastrand::f64())
    }

    fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// Starts the stream: connects, subscribes, keeps alive, reconnects, and records every parsed
/// liquidation in `book` (and the stream's up/down times, for the coverage of the sums).
pub(crate) fn spawn(spec: StreamSpec, book: LiqBook) -> StreamHandle {
    spawn_with(spec, book, Timing::default())
}

pub(crate) fn spawn_with(spec: StreamSpec, book: LiqBook, timing: Timing) -> StreamHandle {
    let (state_tx, state) = watch::channel(StreamState::Connecting);
    let malformed = Arc::new(AtomicU64::new(0));
    let venue = spec.venue;
    let runner = Runner {
        backoff: Backoff::new(&timing),
        spec,
        book: book.clone(),
        timing,
        state: state_tx,
        malformed: malformed.clone(),
        last_malformed_warn: None,
    };
    StreamHandle {
        task: tokio::spawn(runner.run()),
        state,
        malformed,
        book,
        venue,
    }
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// An open, subscribed connection.
struct Conn {
    ws: Ws,
    /// When the connect began (the server's age clock starts a little later).
    opened: Instant,
}

/// How reading a connection ended.
enum Ending {
    Lost(String),
    /// The venue refused the subscription: no data will come on this connection.
    Refused(String),
    /// Replaced by the next connection before the server's age limit.
    Replaced(Box<Conn>),
}

type Opening = Pin<Box<dyn Future<Output = Result<Conn, String>> + Send>>;

/// At most this much of a venue's text goes into a log line or a state.
const MAX_TEXT: usize = 160;

fn short(text: &str) -> String {
    match text.char_indices().nth(MAX_TEXT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// Connects and sends the subscriptions. Errors name the step, never the URL.
async fn open(spec: StreamSpec, io_timeout: Duration) -> Result<Conn, String> {
    let opened = Instant::now();
    let (mut ws, _) = timeout(io_timeout, connect_async(spec.url.as_str()))
        .await
        .map_err(|_| format!("connect timed out after {}s", io_timeout.as_secs()))?
        .map_err(|e| short(&format!("connect failed: {e}")))?;
    for frame in &spec.subscribe {
        timeout(io_timeout, ws.send(Message::text(frame.as_str())))
            .await
            .map_err(|_| "subscribe timed out".to_string())?
            .map_err(|e| short(&format!("subscribe failed: {e}")))?;
    }
    Ok(Conn { ws, opened })
}

/// Waits for the next keep-alive tick, or forever without a timer.
async fn tick(timer: &mut Option<tokio::time::Interval>) {
    match timer {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Waits for the next connection being opened, or forever when none is.
async fn opened(next: &mut Option<Opening>) -> Result<Conn, String> {
    match next {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

struct Runner {
    spec: StreamSpec,
    book: LiqBook,
    timing: Timing,
    backoff: Backoff,
    state: watch::Sender<StreamState>,
    malformed: Arc<AtomicU64>,
    last_malformed_warn: Option<Instant>,
}

impl Runner {
    async fn run(mut self) {
        let venue = self.spec.venue.name();
        let mut down_since = self.book.now();
        let mut next: Option<Conn> = None;
        loop {
            let conn = match next.take() {
                Some(conn) => conn,
                None => match open(self.spec.clone(), self.timing.io_timeout).await {
                    Ok(conn) => {
                        let since = self.book.now();
                        self.book.stream_up(self.spec.venue, since);
                        self.state.send_replace(StreamState::Up { since });
                        tracing::info!("{venue} liquidation stream up");
                        conn
                    }
                    Err(why) => {
                        self.wait_after(down_since, why).await;
                        continue;
                    }
                },
            };
            let opened = conn.opened;
            let ending = self.read(conn).await;
            if opened.elapsed() >= self.timing.stable_after {
                self.backoff.reset();
            }
            let why = match ending {
                Ending::Replaced(conn) => {
                    tracing::debug!("{venue} liquidation stream moved to a fresh connection");
                    next = Some(*conn);
                    continue;
                }
                Ending::Lost(why) => why,
                // Said at warn level by `wait_after`.
                Ending::Refused(text) => format!("subscription refused: {}", short(&text)),
            };
            down_since = self.book.now();
            self.book.stream_down(self.spec.venue, down_since);
            self.wait_after(down_since, why).await;
        }
    }

    /// Says the stream is down (since `since`, because of `why`) and waits the backoff delay.
    async fn wait_after(&mut self, since: DateTime<Utc>, why: String) {
        let delay = self.backoff.next_delay();
        tracing::warn!(
            "{} liquidation stream down: {why}; reconnecting in {:.1}s",
            self.spec.venue.name(),
            delay.as_secs_f64()
        );
        self.state.send_replace(StreamState::Down { since, why });
        sleep(delay).await;
    }

    /// Reads one connection until it is lost, refused, or replaced.
    async fn read(&mut self, mut conn: Conn) -> Ending {
        let io_timeout = self.timing.io_timeout;
        let (mut keepalive, ping_text, silence) = match &self.spec.keepalive {
            Keepalive::AnswerPings => (None, String::new(), self.timing.silence_with_server_pings),
            Keepalive::SendText { text, every } => {
                let mut timer = tokio::time::interval_at(Instant::now() + *every, *every);
                timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                (Some(timer), text.clone(), every.saturating_mul(3))
            }
        };
        let mut rollover_at = self.spec.max_age.map(|age| {
            let lead = (age / 10).min(self.timing.rollover_lead);
            conn.opened + age.saturating_sub(lead)
        });
        let mut next: Option<Opening> = None;
        let mut last_frame = Instant::now();
        loop {
            let rollover_due = rollover_at.filter(|_| next.is_none());
            tokio::select! {
                frame = conn.ws.next() => {
                    last_frame = Instant::now();
                    let ending = match frame {
                        None => Some(Ending::Lost("connection closed".into())),
                        Some(Err(e)) => Some(Ending::Lost(short(&format!("read failed: {e}")))),
                        Some(Ok(msg)) => self.take(msg, &mut conn).await,
                    };
                    if let Some(ending) = ending {
                        if matches!(ending, Ending::Refused(_)) {
                            retire(conn);
                        }
                        return ending;
                    }
                }
                () = tick(&mut keepalive) => {
                    match timeout(io_timeout, conn.ws.send(Message::text(ping_text.as_str()))).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => return Ending::Lost(short(&format!("keep-alive send failed: {e}"))),
                        Err(_) => return Ending::Lost("keep-alive send timed out".into()),
                    }
                }
                () = sleep_until(last_frame + silence) => {
                    return Ending::Lost(format!("no frame for {:.0?}", silence));
                }
                () = sleep_until_some(rollover_due) => {
                    next = Some(Box::pin(open(self.spec.clone(), io_timeout)));
                }
                result = opened(&mut next) => match result {
                    Ok(fresh) => {
                        retire(conn);
                        return Ending::Replaced(Box::new(fresh));
                    }
                    Err(why) => {
                        tracing::warn!(
                            "{} liquidation stream: the next connection failed ({why}); trying again",
                            self.spec.venue.name()
                        );
                        next = None;
                        rollover_at = Some(Instant::now() + self.timing.backoff_base);
                    }
                },
            }
        }
    }

    /// Handles one frame; `Some` ends the connection.
    async fn take(&mut self, msg: Message, conn: &mut Conn) -> Option<Ending> {
        match msg {
            Message::Text(text) => match (self.spec.parse)(text.as_str()) {
                Parsed::Events(events) => {
                    for event in &events {
                        self.book.record(self.spec.venue, event);
                    }
                }
                Parsed::Control => {}
                Parsed::Refused(why) => return Some(Ending::Refused(why)),
                Parsed::Malformed(why) => self.note_malformed(&why),
            },
            Message::Binary(bytes) => {
                self.note_malformed(&format!("binary frame of {} bytes", bytes.len()));
            }
            // tungstenite has queued the pong; it would go out with the next read, flush it now.
            Message::Ping(_) => match timeout(self.timing.io_timeout, conn.ws.flush()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Some(Ending::Lost(short(&format!("pong failed: {e}")))),
                Err(_) => return Some(Ending::Lost("pong timed out".into())),
            },
            Message::Pong(_) | Message::Frame(_) => {}
            Message::Close(frame) => {
                let why = match frame {
                    Some(f) => short(&format!("closed by the server ({} {})", f.code, f.reason)),
                    None => "closed by the server".into(),
                };
                return Some(Ending::Lost(why));
            }
        }
        None
    }

    /// Counts a frame of an unknown shape: debug each, warn at most once a minute.
    fn note_malformed(&mut self, why: &str) {
        let count = self.malformed.fetch_add(1, Ordering::Relaxed) + 1;
        let venue = self.spec.venue.name();
        tracing::debug!("{venue} liquidation stream: unknown frame: {}", short(why));
        if self
            .last_malformed_warn
            .is_none_or(|t| t.elapsed() >= MALFORMED_WARN_EVERY)
        {
            self.last_malformed_warn = Some(Instant::now());
            tracing::warn!(
                "{venue} liquidation stream: {count} frame(s) of an unknown shape since start, e.g. {}",
                short(why)
            );
        }
    }
}

const MALFORMED_WARN_EVERY: Duration = Duration::from_secs(60);

async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Closes a connection no longer read, in the background (bounded: the peer may not answer).
fn retire(mut conn: Conn) {
    tokio::spawn(async move {
        let _ = timeout(Duration::from_secs(2), conn.ws.close(None)).await;
    });
}
