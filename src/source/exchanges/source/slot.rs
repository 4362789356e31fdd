//! One configured venue inside the source: its client, the coins it lists, its liquidation
//! stream, and its part of a cycle.

use super::status::RestHealth;
use super::{VenueOutcome, LIST_RETRY, START_LIST_TIMEOUT};
use crate::model::GapReason;
use crate::source::exchanges::http::FetchError;
use crate::source::exchanges::liq::LiqBook;
use crate::source::exchanges::stream::{self, StreamHandle};
use crate::source::exchanges::venue::{Instrument, VenueApi, VenueCycle};
use chrono::{DateTime, Utc};
use tokio::time::Instant;

/// One configured venue: its client, the coins it lists, its stream.
pub(super) struct Slot {
    pub(super) client: Box<dyn VenueApi>,
    /// The watched coins it lists; `None` until its instrument list was fetched.
    pub(super) instruments: Option<Vec<Instrument>>,
    /// Why the list is not fetched yet, and when to ask again.
    pub(super) list_failure: Option<(FetchError, Instant)>,
    /// Watched coins it does not list (skipped there).
    pub(super) unlisted: Vec<String>,
    pub(super) stream: Option<StreamHandle>,
    pub(super) rest: RestHealth,
}

impl Slot {
    pub(super) fn new(client: Box<dyn VenueApi>) -> Slot {
        Slot {
            client,
            instruments: None,
            list_failure: None,
            unlisted: Vec::new(),
            stream: None,
            rest: RestHealth::NotYet,
        }
    }

    pub(super) fn lists(&self, coin: &str) -> bool {
        self.instruments
            .as_ref()
            .is_some_and(|l| l.iter().any(|i| i.coin == coin))
    }

    pub(super) fn listed_coins(&self) -> Option<Vec<String>> {
        let list = self.instruments.as_ref()?;
        Some(list.iter().map(|i| i.coin.clone()).collect())
    }

    /// Takes the venue's instrument list (only the watched coins' instruments).
    pub(super) fn listed(&mut self, list: Vec<Instrument>, coins: &[String]) {
        let list: Vec<Instrument> = list
            .into_iter()
            .filter(|i| coins.contains(&i.coin))
            .collect();
        self.unlisted = coins
            .iter()
            .filter(|c| !list.iter().any(|i| &i.coin == *c))
            .cloned()
            .collect();
        self.instruments = Some(list);
        self.list_failure = None;
    }

    /// "OKX does not list PEPE, WIF: skipped there".
    pub(super) fn unlisted_note(&self) -> Option<String> {
        (self.instruments.is_some() && !self.unlisted.is_empty()).then(|| {
            format!(
                "{} does not list {} as a USDT perpetual: skipped there",
                self.client.venue().name(),
                self.unlisted.join(", ")
            )
        })
    }

    /// Starts the liquidation stream once the venue lists at least one watched coin.
    pub(super) fn start_stream(&mut self, book: &LiqBook) {
        match &self.instruments {
            Some(list) if !list.is_empty() && self.stream.is_none() => {
                let spec = self.client.liq_stream(list);
                self.stream = Some(stream::spawn(spec, book.clone()));
            }
            _ => {}
        }
    }

    /// The venue's part of a cycle: its instrument list first if it is still missing (at most
    /// once a minute), then one REST cycle for the coins it lists.
    pub(super) async fn run(
        &mut self,
        coins: &[String],
        reference: bool,
        now: DateTime<Utc>,
        book: &LiqBook,
    ) -> VenueOutcome {
        if self.instruments.is_none() {
            let venue = self.client.venue();
            match &mut self.list_failure {
                Some((e, next)) if Instant::now() < *next => {
                    return VenueOutcome::Unreached(e.gap())
                }
                // Due now; the next try is a minute away even if this one runs out of time.
                Some((_, next)) => *next = Instant::now() + LIST_RETRY,
                None => {}
            }
            match fetch_list(self.client.as_mut(), coins).await {
                Ok(list) => {
                    self.listed(list, coins);
                    tracing::info!(
                        venue = venue.id(),
                        "venue reachable again: instrument list fetched"
                    );
                    if let Some(note) = self.unlisted_note() {
                        tracing::info!("{note}");
                    }
                    self.start_stream(book);
                }
                Err(e) => {
                    let gap = e.gap();
                    self.list_failure = Some((e, Instant::now() + LIST_RETRY));
                    return VenueOutcome::Unreached(gap);
                }
            }
        }
        let Some(instruments) = &self.instruments else {
            return VenueOutcome::Unreached(GapReason::Pending);
        };
        let listed = instruments.iter().map(|i| i.coin.clone()).collect();
        let cycle = if instruments.is_empty() {
            VenueCycle::new()
        } else {
            self.client.poll(instruments, reference, now).await
        };
        VenueOutcome::Answered { listed, cycle }
    }
}

/// One instrument-list fetch within [`START_LIST_TIMEOUT`].
pub(super) async fn fetch_list(
    client: &mut dyn VenueApi,
    coins: &[String],
) -> Result<Vec<Instrument>, FetchError> {
    let venue = client.venue();
    match tokio::time::timeout(START_LIST_TIMEOUT, client.instruments(coins)).await {
        Ok(answer) => answer,
        Err(_) => Err(FetchError::Transport {
            venue,
            message: format!(
                "no instrument list within {} s",
                START_LIST_TIMEOUT.as_secs()
            ),
        }),
    }
}

/// The error without its venue prefix where it has one ("connection failed").
pub(super) fn error_text(e: &FetchError) -> String {
    match e {
        FetchError::Transport { message, .. } => message.clone(),
        other => other.to_string(),
    }
}
