//! Rolling-hour liquidation sums per coin and side, across venues, with the coverage of each
//! venue's stream (a stream that was down inside the hour makes the sum incomplete).
//! INTERFACE STUB written by the lead: the streams engineer replaces the bodies.

use super::venue::{LiqEvent, Venue};
use crate::model::Liquidations;
use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex};

/// Shared between the stream tasks (writers) and the source's poll (reader). Cheap to clone.
#[derive(Debug, Clone, Default)]
pub(crate) struct LiqBook {
    inner: Arc<Mutex<()>>,
}

impl LiqBook {
    /// An empty book; no stream has been up before `started_at`.
    pub(crate) fn new(started_at: DateTime<Utc>) -> LiqBook {
        let _ = started_at;
        LiqBook::default()
    }

    /// Counts one liquidation of `venue` (the event's `at` places it in the hour).
    pub(crate) fn record(&self, venue: Venue, event: &LiqEvent) {
        let _ = (venue, event, &self.inner);
    }

    /// The venue's stream is connected and subscribed from `at`.
    pub(crate) fn stream_up(&self, venue: Venue, at: DateTime<Utc>) {
        let _ = (venue, at);
    }

    /// The venue's stream was lost at `at`.
    pub(crate) fn stream_down(&self, venue: Venue, at: DateTime<Utc>) {
        let _ = (venue, at);
    }

    /// The hour ending at `now` for `coin`, summed over `venues` (those that list it):
    /// `lower_bound` when any of them samples, `uncovered_s` the seconds of the hour in which
    /// any of their streams was not up. `None` when no stream of `venues` was up at any moment
    /// of the hour (nothing is known, not zero).
    pub(crate) fn totals(
        &self,
        coin: &str,
        venues: &[Venue],
        now: DateTime<Utc>,
    ) -> Option<Liquidations> {
        let _ = (coin, venues, now);
        None
    }

    /// Seconds of the hour ending at `now` that `venue`'s stream was not up (`None`: up all hour).
    pub(crate) fn uncovered_s(&self, venue: Venue, now: DateTime<Utc>) -> Option<u32> {
        let _ = (venue, now);
        None
    }

    /// Liquidations recorded since start (all venues).
    pub(crate) fn counted(&self) -> u64 {
        0
    }
}
