//! `ExchangesSource`: Binance, Bybit and OKX read concurrently each cycle and combined into one
//! [`Snapshot`] per watched coin ([`aggregate`](super::aggregate)), with the liquidation sums
//! from the venues' streams.
//!
//! Like the CoinGlass source it keeps the last good value of every metric: a later failure
//! leaves it stale with the new reason (until it is too old to act on), never a hole without a
//! why and never zero. Every venue runs under the cycle's deadline; one that has not answered by
//! then is said to have not answered, and the others carry on.

use super::aggregate;
use super::liq::LiqBook;
use super::stream::{StreamHandle, StreamState};
use super::venue::{Reading, Venue, VenueApi, VenueCycle};
use super::ExchangesConfig;
use crate::model::{GapReason, Liquidations, Snapshot, SourceKind};
use crate::source::{
    FatalSourceError, PollContext, PollProgress, RequestStats, Source, SourceLabel, VenueStatus,
};
use chrono::{DateTime, Utc};
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use std::time::Duration;
use tokio::time::Instant;

mod merge;
mod slot;
mod status;
mod venue_check;
use super::clients::venue_client;

use merge::{keep_all, readings_of, Early};
use slot::{error_text, fetch_list, Slot};
use status::{liquidations_gap, venue_status, RestHealth, VenueFacts};
pub use venue_check::{check, VenueCheck};

/// How long start waits for the venues' instrument lists.
const START_LIST_TIMEOUT: Duration = Duration::from_secs(10);
/// How often an instrument list that failed is asked for again.
const LIST_RETRY: Duration = Duration::from_secs(60);
/// How long the first poll waits for the liquidation streams to connect (`--once`).
const FIRST_POLL_STREAM_WAIT: Duration = Duration::from_secs(3);
/// How long the first poll listens to the connected streams before it sums them.
const FIRST_FRAMES_GRACE: Duration = Duration::from_millis(500);

/// Why the exchanges source cannot start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExchangesStartError {
    /// A coin that no reachable venue lists (exit 2).
    #[error("{coin} is not listed as a USDT perpetual on {venues}; choose coins those venues list (1000PEPEUSDT is PEPE)")]
    NotListed { coin: String, venues: String },
}

/// What one venue gave in one cycle.
#[derive(Debug, Clone)]
enum VenueOutcome {
    /// Its instrument list is still not fetched: every coin's metrics absent for this reason.
    Unreached(GapReason),
    /// A reading per coin it lists.
    Answered {
        listed: Vec<String>,
        cycle: VenueCycle,
    },
    /// It did not answer by the deadline.
    TimedOut,
}

/// The keyless live source: Binance, Bybit and OKX public data, aggregated.
pub struct ExchangesSource {
    coins: Vec<String>,
    reference: Venue,
    poll_interval: Duration,
    slots: Vec<Slot>,
    book: LiqBook,
    /// Per coin (in `coins` order), every metric as it stands after the last cycle.
    kept: Vec<Snapshot>,
    notes: Vec<String>,
    polls: u64,
    stats: RequestStats,
    stream_wait: Duration,
}

impl std::fmt::Debug for ExchangesSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExchangesSource")
            .field("coins", &self.coins)
            .field("venues", &self.label().plan)
            .field("reference", &self.reference)
            .finish_non_exhaustive()
    }
}

impl ExchangesSource {
    /// Fetches every configured venue's instrument list (concurrently, within 10 s) and starts
    /// the liquidation streams. A venue that cannot be reached is retried on later polls; a coin
    /// that no venue whose list was fetched lists is an error.
    pub async fn start(config: ExchangesConfig) -> Result<ExchangesSource, ExchangesStartError> {
        let clients = config
            .venues
            .iter()
            .map(|&v| venue_client(v, &config.urls))
            .collect();
        ExchangesSource::with_clients(config, clients).await
    }

    /// [`ExchangesSource::start`] with the given venue clients (in display order).
    pub(crate) async fn with_clients(
        config: ExchangesConfig,
        clients: Vec<Box<dyn VenueApi>>,
    ) -> Result<ExchangesSource, ExchangesStartError> {
        let coins = normalise(&config.symbols);
        let mut slots: Vec<Slot> = clients.into_iter().map(Slot::new).collect();
        let lists = futures::future::join_all(
            slots
                .iter_mut()
                .map(|slot| fetch_list(slot.client.as_mut(), &coins)),
        )
        .await;
        let mut notes = Vec::new();
        for (slot, list) in slots.iter_mut().zip(lists) {
            let venue = slot.client.venue();
            match list {
                Ok(list) => slot.listed(list, &coins),
                Err(e) => {
                    notes.push(format!(
                        "{} unreachable at start: {}; retrying",
                        venue.name(),
                        error_text(&e)
                    ));
                    slot.rest = RestHealth::ListMissing(e.to_string());
                    slot.list_failure = Some((e, Instant::now() + LIST_RETRY));
                }
            }
        }
        let fetched: Vec<&Slot> = slots.iter().filter(|s| s.instruments.is_some()).collect();
        if !fetched.is_empty() {
            if let Some(coin) = coins.iter().find(|c| !fetched.iter().any(|s| s.lists(c))) {
                return Err(ExchangesStartError::NotListed {
                    coin: coin.clone(),
                    venues: fetched
                        .iter()
                        .map(|s| s.client.venue().id())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        } else if !slots.is_empty() {
            notes.push(
                "no venue could be reached: every metric stays absent until one answers \
                 (--demo shows the simulated market)"
                    .to_string(),
            );
        }
        let book = LiqBook::new(Utc::now());
        let mut skipped = Vec::new();
        for slot in &mut slots {
            if let Some(note) = slot.unlisted_note() {
                skipped.push(note);
            }
            slot.start_stream(&book);
        }
        skipped.append(&mut notes);
        let notes = skipped;
        let total = slots
            .iter()
            .map(|s| s.client.http().take_cycle_count().1)
            .sum();
        let now = Utc::now();
        Ok(ExchangesSource {
            kept: coins
                .iter()
                .map(|c| Snapshot::new(c.clone(), SourceKind::Exchanges, now))
                .collect(),
            coins,
            reference: config.reference,
            poll_interval: config.poll_interval,
            slots,
            book,
            notes,
            polls: 0,
            stats: RequestStats {
                total,
                ..RequestStats::default()
            },
            stream_wait: FIRST_POLL_STREAM_WAIT,
        })
    }

    /// Said once at start (by the caller, which logs them): coins skipped on a venue, venues
    /// unreachable at start.
    pub fn start_notes(&self) -> Vec<String> {
        self.notes.clone()
    }

    /// One cycle: every venue concurrently under `ctx.deadline`, then the snapshots.
    async fn cycle(&mut self, ctx: &PollContext) -> Vec<Snapshot> {
        let started = Instant::now();
        let now = ctx.now;
        let total = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
        let mut progress = PollProgress { done: 0, total };
        ctx.progress.send_replace(progress);
        let listed_before: Vec<Option<Vec<String>>> =
            self.slots.iter().map(Slot::listed_coins).collect();
        let venues: Vec<Venue> = self.slots.iter().map(|s| s.client.venue()).collect();
        let mut outcomes: Vec<Option<VenueOutcome>> = self.slots.iter().map(|_| None).collect();
        {
            let ExchangesSource {
                coins,
                reference,
                slots,
                book,
                kept,
                ..
            } = self;
            let (coins, reference, deadline) = (&*coins, *reference, ctx.deadline);
            let mut running: FuturesUnordered<_> = slots
                .iter_mut()
                .enumerate()
                .map(|(i, slot)| {
                    let book = book.clone();
                    let is_reference = slot.client.venue() == reference;
                    async move {
                        let work = slot.run(coins, is_reference, now, &book);
                        let outcome = tokio::time::timeout_at(deadline, work).await;
                        (i, outcome.unwrap_or(VenueOutcome::TimedOut))
                    }
                })
                .collect();
            while let Some((i, outcome)) = running.next().await {
                outcomes[i] = Some(outcome);
                progress.done += 1;
                ctx.progress.send_replace(progress);
                if progress.done < total && ctx.arrived.receiver_count() > 0 {
                    let early = Early {
                        coins,
                        kept,
                        reference,
                        venues: &venues,
                        listed_before: &listed_before,
                    }
                    .snapshots(&outcomes, now);
                    ctx.arrived.send_replace(Some(std::sync::Arc::new(early)));
                }
            }
        }
        let outcomes: Vec<VenueOutcome> = outcomes
            .into_iter()
            .map(|o| o.unwrap_or(VenueOutcome::TimedOut))
            .collect();
        for (slot, outcome) in self.slots.iter_mut().zip(&outcomes) {
            slot.rest = RestHealth::after(outcome, slot.list_failure.as_ref().map(|f| &f.0));
        }
        if self.polls == 0 {
            self.wait_for_streams((started + self.stream_wait).min(ctx.deadline))
                .await;
        }
        self.polls += 1;
        let (mut this_cycle, mut total) = (0u32, 0u64);
        for slot in &self.slots {
            let (n, t) = slot.client.http().take_cycle_count();
            this_cycle = this_cycle.saturating_add(n);
            total += t;
        }
        self.stats = RequestStats {
            this_cycle,
            used_this_minute: None,
            limit_per_minute: None,
            total,
        };
        let max_stale_s = crate::monitor::max_stale_age(self.poll_interval);
        // The streams' hour ends now, not at the cycle's start: the first poll listened to
        // them after `now`, and what they delivered meanwhile belongs in the sums.
        let liq_until = Utc::now().max(now);
        for i in 0..self.coins.len() {
            let coin = &self.coins[i];
            let readings = readings_of(coin, &outcomes, &listed_before, &venues);
            let liq = self.liquidations(coin, liq_until);
            let fresh = aggregate::snapshot(coin, now, &readings, self.reference, liq);
            let kept = &mut self.kept[i];
            kept.time = now;
            keep_all(kept, fresh);
            kept.expire_stale(max_stale_s);
        }
        self.kept.clone()
    }

    /// Waits (until `until`) while a liquidation stream is still connecting, then a moment
    /// more for what the connected streams deliver, so a single cycle (`--once`) has some
    /// liquidations to show (its `uncovered_s` says how little of the hour they cover).
    /// (`&mut`: the source is not `Sync`.)
    async fn wait_for_streams(&mut self, until: Instant) {
        while self.any_stream_connecting() && Instant::now() < until {
            let step = until.saturating_duration_since(Instant::now());
            tokio::time::sleep(step.min(Duration::from_millis(50))).await;
        }
        let any_up = self.slots.iter().any(|s| {
            s.stream
                .as_ref()
                .is_some_and(|h| matches!(h.state(), StreamState::Up { .. }))
        });
        if any_up {
            tokio::time::sleep_until((Instant::now() + FIRST_FRAMES_GRACE).min(until)).await;
        }
    }

    fn any_stream_connecting(&self) -> bool {
        self.slots.iter().any(|s| {
            s.stream
                .as_ref()
                .is_some_and(|h| h.state() == StreamState::Connecting)
        })
    }

    /// The streams' rolling hour for `coin` over the venues that list it, or why there is none.
    fn liquidations(&self, coin: &str, now: DateTime<Utc>) -> Reading<Liquidations> {
        let listing: Vec<&Slot> = self.slots.iter().filter(|s| s.lists(coin)).collect();
        let venues: Vec<Venue> = listing
            .iter()
            .filter(|s| s.stream.is_some())
            .map(|s| s.client.venue())
            .collect();
        if let Some(totals) = self.book.totals(coin, &venues, now) {
            return Ok(totals);
        }
        let streams: Vec<(Venue, StreamState)> = listing
            .iter()
            .filter_map(|s| Some((s.client.venue(), s.stream.as_ref()?.state())))
            .collect();
        let unreached: Vec<(Venue, String)> = self
            .slots
            .iter()
            .filter_map(|s| {
                let (e, _) = s
                    .list_failure
                    .as_ref()
                    .filter(|_| s.instruments.is_none())?;
                Some((s.client.venue(), e.to_string()))
            })
            .collect();
        Err(liquidations_gap(coin, &streams, &unreached))
    }

    /// Shortens the first poll's wait for the streams (tests).
    #[cfg(test)]
    fn with_stream_wait(mut self, wait: Duration) -> ExchangesSource {
        self.stream_wait = wait;
        self
    }
}

impl Source for ExchangesSource {
    fn label(&self) -> SourceLabel {
        let names: Vec<&str> = self.slots.iter().map(|s| s.client.venue().name()).collect();
        SourceLabel {
            kind: SourceKind::Exchanges,
            plan: Some(names.join("+")),
        }
    }

    async fn poll(&mut self, ctx: &PollContext) -> Result<Vec<Snapshot>, FatalSourceError> {
        Ok(self.cycle(ctx).await)
    }

    fn request_stats(&self) -> RequestStats {
        self.stats
    }

    fn venues(&self) -> Vec<VenueStatus> {
        let now = Utc::now();
        self.slots
            .iter()
            .map(|s| {
                venue_status(VenueFacts {
                    venue: s.client.venue(),
                    standing: s.client.http().standing(),
                    rest: &s.rest,
                    stream: s.stream.as_ref().map(StreamHandle::state),
                    missed_s: s
                        .stream
                        .as_ref()
                        .and_then(|_| self.book.uncovered_s(s.client.venue(), now)),
                    malformed: s.stream.as_ref().map_or(0, StreamHandle::malformed),
                    unlisted: &s.unlisted,
                    now,
                })
            })
            .collect()
    }
}

/// Coins upper-cased, trimmed, without repeats, in configuration order.
fn normalise(symbols: &[String]) -> Vec<String> {
    let mut coins: Vec<String> = Vec::new();
    for s in symbols {
        let coin = s.trim().to_ascii_uppercase();
        if !coin.is_empty() && !coins.contains(&coin) {
            coins.push(coin);
        }
    }
    coins
}

#[cfg(test)]
mod tests;
