//! Rolling-hour liquidation sums per coin and side, across venues, with the coverage of each
//! venue's stream (a stream that was down inside the hour makes the sum incomplete).
//!
//! Memory is bounded: per coin and venue (allocated at its first liquidation) a ring of
//! [`BUCKETS`] ten-second buckets, each holding its bucket number and the long and short USD of
//! those ten seconds. A bucket is reused once the hour has moved past it, so nothing grows after
//! the hour rolls over. The hour of [`LiqBook::totals`] is the last 360 buckets, the current one
//! partial: between 59 min 50 s and 60 min of liquidations.
//!
//! Coverage: each venue's up intervals, kept only while they reach into the last hour. Before
//! the first [`LiqBook::stream_up`] (and before `started_at`) a venue counts as not up.

use super::venue::{LiqEvent, LiqSide, Venue};
use crate::model::Liquidations;
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

#[cfg(test)]
mod tests;

/// Width of one bucket.
const BUCKET_MS: i64 = 10_000;
const HOUR_MS: i64 = 3_600_000;
/// Buckets per ring: exactly one hour.
const BUCKETS: usize = (HOUR_MS / BUCKET_MS) as usize;
/// An event stamped up to this far after our clock (venue clocks run a little ahead) counts in
/// the current bucket; later than that it is dropped as bogus.
const FUTURE_TOLERANCE_MS: i64 = 60_000;
/// Closed up intervals kept per venue at most (a flapping stream reconnects at most about once a
/// second, so an hour holds fewer; dropping the oldest only ever overstates the gap).
const MAX_INTERVALS: usize = 4096;

/// Where the book reads "now" (the wall clock; the tests and the bench shift it).
pub(crate) type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Shared between the stream tasks (writers) and the source's poll (reader). Cheap to clone.
#[derive(Clone)]
pub(crate) struct LiqBook {
    inner: Arc<Mutex<Inner>>,
    clock: Clock,
}

impl std::fmt::Debug for LiqBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let g = self.lock();
        f.debug_struct("LiqBook")
            .field("started_at", &g.started_at)
            .field("coins", &g.coins.len())
            .field("counted", &g.counted)
            .field("dropped", &g.dropped)
            .finish_non_exhaustive()
    }
}

impl Default for LiqBook {
    fn default() -> Self {
        LiqBook::new(Utc::now())
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// `at_ms / BUCKET_MS` of the ten seconds this bucket holds (`i64::MIN`: never used).
    number: i64,
    long_usd: f64,
    short_usd: f64,
}

const EMPTY_BUCKET: Bucket = Bucket {
    number: i64::MIN,
    long_usd: 0.0,
    short_usd: 0.0,
};

type Ring = Box<[Bucket; BUCKETS]>;

/// One venue's stream coverage.
#[derive(Debug, Default)]
struct Coverage {
    /// Up since, while up.
    up_since: Option<DateTime<Utc>>,
    /// Closed up intervals, oldest first.
    closed: VecDeque<(DateTime<Utc>, DateTime<Utc>)>,
}

#[derive(Debug)]
struct Inner {
    started_at: DateTime<Utc>,
    /// Per coin, per venue (index in [`Venue::ALL`]).
    coins: HashMap<String, [Option<Ring>; 3]>,
    coverage: [Coverage; 3],
    counted: u64,
    /// Events too old for the hour, too far in the future, or without a sane USD value.
    dropped: u64,
}

fn venue_index(venue: Venue) -> usize {
    match venue {
        Venue::Binance => 0,
        Venue::Bybit => 1,
        Venue::Okx => 2,
    }
}

fn bucket_number(at_ms: i64) -> i64 {
    at_ms.div_euclid(BUCKET_MS)
}

/// The oldest bucket number inside the hour ending at `now_ms`.
fn first_bucket_of_hour(now_ms: i64) -> i64 {
    bucket_number(now_ms) - (BUCKETS as i64 - 1)
}

impl LiqBook {
    /// An empty book; no stream has been up before `started_at`.
    pub(crate) fn new(started_at: DateTime<Utc>) -> LiqBook {
        LiqBook::with_clock(started_at, Arc::new(Utc::now))
    }

    /// A book reading "now" from `clock` (what it drops as too old or too far ahead, and the
    /// times the stream runner reports).
    pub(crate) fn with_clock(started_at: DateTime<Utc>, clock: Clock) -> LiqBook {
        LiqBook {
            inner: Arc::new(Mutex::new(Inner {
                started_at,
                coins: HashMap::new(),
                coverage: Default::default(),
                counted: 0,
                dropped: 0,
            })),
            clock,
        }
    }

    /// The book's clock.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves plain numbers behind: keep using them.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one liquidation of `venue` (the event's `at` places it in the hour).
    pub(crate) fn record(&self, venue: Venue, event: &LiqEvent) {
        let now_ms = self.now().timestamp_millis();
        let mut at_ms = event.at.timestamp_millis();
        let mut g = self.lock();
        if !(event.usd.is_finite() && event.usd >= 0.0)
            || at_ms > now_ms + FUTURE_TOLERANCE_MS
            || bucket_number(at_ms) < first_bucket_of_hour(now_ms)
        {
            g.dropped += 1;
            tracing::debug!(
                venue = venue.id(),
                coin = %event.coin,
                "liquidation dropped (outside the hour or no sane USD value)"
            );
            return;
        }
        at_ms = at_ms.min(now_ms);
        let number = bucket_number(at_ms);
        let rings = match g.coins.get_mut(event.coin.as_str()) {
            Some(rings) => rings,
            None => g.coins.entry(event.coin.clone()).or_default(),
        };
        let ring =
            rings[venue_index(venue)].get_or_insert_with(|| Box::new([EMPTY_BUCKET; BUCKETS]));
        let bucket = &mut ring[number.rem_euclid(BUCKETS as i64) as usize];
        if bucket.number > number {
            // The slot already holds a later hour: only a clock that went back gets here.
            g.dropped += 1;
            return;
        }
        if bucket.number < number {
            *bucket = Bucket {
                number,
                ..EMPTY_BUCKET
            };
        }
        match event.side {
            LiqSide::Long => bucket.long_usd += event.usd,
            LiqSide::Short => bucket.short_usd += event.usd,
        }
        g.counted += 1;
    }

    /// The venue's stream is connected and subscribed from `at`. Idempotent: a second call
    /// while up changes nothing.
    pub(crate) fn stream_up(&self, venue: Venue, at: DateTime<Utc>) {
        let mut g = self.lock();
        let cov = &mut g.coverage[venue_index(venue)];
        cov.up_since.get_or_insert(at);
        prune(cov, at);
    }

    /// The venue's stream was lost at `at`. Idempotent: nothing happens while it is down.
    pub(crate) fn stream_down(&self, venue: Venue, at: DateTime<Utc>) {
        let mut g = self.lock();
        let cov = &mut g.coverage[venue_index(venue)];
        if let Some(since) = cov.up_since.take() {
            cov.closed.push_back((since, at.max(since)));
            if cov.closed.len() > MAX_INTERVALS {
                cov.closed.pop_front();
            }
        }
        prune(cov, at);
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
        let g = self.lock();
        let window = (now - TimeDelta::milliseconds(HOUR_MS), now);
        let per_venue: Vec<Vec<Span>> = venues
            .iter()
            .map(|&v| up_spans(&g.coverage[venue_index(v)], window))
            .collect();
        if per_venue.iter().all(Vec::is_empty) {
            return None;
        }
        let covered_by_all = per_venue
            .into_iter()
            .reduce(|a, b| intersect(&a, &b))
            .unwrap_or_default();
        let (mut long_usd, mut short_usd) = (0.0, 0.0);
        if let Some(rings) = g.coins.get(coin) {
            let now_ms = now.timestamp_millis();
            let hour = first_bucket_of_hour(now_ms)..=bucket_number(now_ms);
            for &venue in venues {
                let Some(ring) = &rings[venue_index(venue)] else {
                    continue;
                };
                for bucket in ring.iter().filter(|b| hour.contains(&b.number)) {
                    long_usd += bucket.long_usd;
                    short_usd += bucket.short_usd;
                }
            }
        }
        Some(Liquidations {
            long_1h_usd: Some(long_usd),
            short_1h_usd: Some(short_usd),
            lower_bound: venues.iter().any(|v| v.liquidations_sampled()),
            uncovered_s: uncovered_seconds(&covered_by_all, window),
        })
    }

    /// Seconds of the hour ending at `now` that `venue`'s stream was not up (`None`: up all hour).
    pub(crate) fn uncovered_s(&self, venue: Venue, now: DateTime<Utc>) -> Option<u32> {
        let g = self.lock();
        let window = (now - TimeDelta::milliseconds(HOUR_MS), now);
        uncovered_seconds(&up_spans(&g.coverage[venue_index(venue)], window), window)
    }

    /// Liquidations recorded since start (all venues).
    #[cfg(any(test, feature = "test-support"))]
    pub(crate) fn counted(&self) -> u64 {
        self.lock().counted
    }

    /// Events not recorded since start: older than the hour, far ahead of the clock, or
    /// without a sane USD value.
    #[allow(dead_code)] // wired by the exchanges source (the tests and the bench read it)
    pub(crate) fn dropped(&self) -> u64 {
        self.lock().dropped
    }
}

/// Forgets closed intervals that ended before the hour ending at `now`.
fn prune(cov: &mut Coverage, now: DateTime<Utc>) {
    let hour_start = now - TimeDelta::milliseconds(HOUR_MS);
    while cov.closed.front().is_some_and(|&(_, end)| end < hour_start) {
        cov.closed.pop_front();
    }
}

/// An up interval in milliseconds since the epoch, `start <= end`.
type Span = (i64, i64);

/// The venue's up intervals clipped to `window`, sorted and merged. A stream up at any moment
/// of the window yields at least one (possibly empty) span.
fn up_spans(cov: &Coverage, window: (DateTime<Utc>, DateTime<Utc>)) -> Vec<Span> {
    let (from, to) = (window.0.timestamp_millis(), window.1.timestamp_millis());
    let open = cov.up_since.map(|s| (s, window.1));
    let mut spans: Vec<Span> = cov
        .closed
        .iter()
        .copied()
        .chain(open)
        .map(|(s, e)| (s.timestamp_millis().max(from), e.timestamp_millis().min(to)))
        .filter(|(s, e)| s <= e)
        .collect();
    spans.sort_unstable();
    let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

/// The spans covered by both sorted, merged lists.
fn intersect(a: &[Span], b: &[Span]) -> Vec<Span> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        let (s, e) = (a[i].0.max(b[j].0), a[i].1.min(b[j].1));
        if s < e {
            out.push((s, e));
        }
        if a[i].1 < b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// Seconds of `window` outside `covered`, rounded up (any gap shows); `None` when there is none.
fn uncovered_seconds(covered: &[Span], window: (DateTime<Utc>, DateTime<Utc>)) -> Option<u32> {
    let total = (window.1 - window.0).num_milliseconds();
    let covered_ms: i64 = covered.iter().map(|(s, e)| e - s).sum();
    let gap_ms = (total - covered_ms).max(0);
    (gap_ms > 0).then(|| u32::try_from((gap_ms + 999) / 1000).unwrap_or(u32::MAX))
}
