//! What the liquidation-storm bench (`benches/liq_storm.rs`) needs from the crate: the stream
//! runner into a liquidation book, and the local websocket server replaying frames. Compiled
//! only with the `test-support` feature; not an API.

use super::liq::LiqBook;
use super::stream::server::{Step, WsServer};
use super::stream::{self, StreamHandle, StreamState};
use super::venue::{StreamSpec, Venue};
use crate::model::Liquidations;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use tokio::sync::Notify;

/// A stream runner feeding its own liquidation book.
pub struct StormClient {
    book: LiqBook,
    handle: StreamHandle,
}

impl StormClient {
    /// Starts `spec` (inside a tokio runtime) into a book reading "now" from `clock`.
    pub fn spawn(spec: StreamSpec, clock: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>) -> Self {
        let book = LiqBook::with_clock(clock(), clock);
        let handle = stream::spawn(spec, book.clone());
        StormClient { book, handle }
    }

    pub fn is_up(&self) -> bool {
        matches!(self.handle.state(), StreamState::Up { .. })
    }

    /// Liquidations recorded.
    pub fn counted(&self) -> u64 {
        self.book.counted()
    }

    /// Events dropped by the book (outside the hour, no sane USD value).
    pub fn dropped(&self) -> u64 {
        self.book.dropped()
    }

    /// Frames the parser did not know.
    pub fn malformed(&self) -> u64 {
        self.handle.malformed()
    }

    pub fn totals(&self, coin: &str, venue: Venue, now: DateTime<Utc>) -> Option<Liquidations> {
        self.book.totals(coin, &[venue], now)
    }
}

/// One part of the replay every connection gets.
pub enum ReplayPart {
    /// `count` text frames made by `make(i)`, `per_second` of them a second.
    Frames {
        count: u64,
        per_second: u32,
        make: Arc<dyn Fn(u64) -> String + Send + Sync>,
    },
    /// Wait until notified.
    WaitFor(Arc<Notify>),
}

/// A local websocket server (127.0.0.1) replaying the same parts to every connection; it runs
/// on the tokio runtime that started it.
pub struct ReplayServer(WsServer);

impl ReplayServer {
    pub async fn start(parts: Vec<ReplayPart>) -> ReplayServer {
        let steps: Vec<Step> = parts
            .into_iter()
            .map(|part| match part {
                ReplayPart::Frames {
                    count,
                    per_second,
                    make,
                } => Step::Paced {
                    count,
                    per_second,
                    make,
                },
                ReplayPart::WaitFor(go) => Step::Wait(go),
            })
            .collect();
        ReplayServer(WsServer::start(move |_| steps.clone()).await)
    }

    /// `ws://127.0.0.1:<port>/ws`.
    pub fn url(&self) -> String {
        self.0.url()
    }

    /// Text frames sent so far, all connections.
    pub fn sent(&self) -> u64 {
        self.0.connections().iter().map(|c| c.sent).sum()
    }

    pub fn connections(&self) -> usize {
        self.0.connections().len()
    }
}
