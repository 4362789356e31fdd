//! The combined exchanges source: one snapshot per coin from every configured venue.
//! STUB written for the wiring branch (the exchanges-source engineer writes the real one): the
//! signatures are the contract; `start` gives a source whose every metric is pending, and
//! `check` reports nothing.

use super::ExchangesConfig;
use crate::model::{Snapshot, SourceKind};
use crate::source::{
    FatalSourceError, PollContext, RequestStats, Source, SourceLabel, VenueStatus,
};

/// The keyless live source: Binance, Bybit and OKX public data, aggregated.
#[derive(Debug)]
pub struct ExchangesSource {
    config: ExchangesConfig,
}

/// Why the exchanges source could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExchangesStartError {
    /// A coin that no reachable venue lists (exit 2).
    #[error("{coin} is not listed as a USDT perpetual on {venues}; choose coins those venues list (1000PEPEUSDT is PEPE)")]
    NotListed { coin: String, venues: String },
}

impl ExchangesSource {
    pub async fn start(config: ExchangesConfig) -> Result<ExchangesSource, ExchangesStartError> {
        Ok(ExchangesSource { config })
    }

    /// Said once at start: coins skipped on a venue, venues unreachable at start.
    pub fn start_notes(&self) -> Vec<String> {
        Vec::new()
    }
}

impl Source for ExchangesSource {
    fn label(&self) -> SourceLabel {
        SourceLabel {
            kind: SourceKind::Exchanges,
            plan: Some(
                self.config
                    .venues
                    .iter()
                    .map(|v| v.name())
                    .collect::<Vec<_>>()
                    .join("+"),
            ),
        }
    }

    async fn poll(&mut self, ctx: &PollContext) -> Result<Vec<Snapshot>, FatalSourceError> {
        Ok(self
            .config
            .symbols
            .iter()
            // Every metric of a new snapshot is `GapReason::Pending`.
            .map(|coin| Snapshot::new(coin, SourceKind::Exchanges, ctx.now))
            .collect())
    }

    fn request_stats(&self) -> RequestStats {
        RequestStats::default()
    }

    fn venues(&self) -> Vec<VenueStatus> {
        Vec::new()
    }
}

/// `perpwatch check`: reaches each configured venue once and says how it stands.
pub async fn check(config: &ExchangesConfig) -> Vec<VenueCheck> {
    let _ = config;
    Vec::new()
}

/// One venue as `perpwatch check` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct VenueCheck {
    pub status: crate::source::VenueStatus,
    /// The budget as lines: "weight 12 of 2400 per 1m (ours: half)".
    pub budget: Vec<String>,
    /// Watched coins this venue does not list.
    pub unlisted: Vec<String>,
}
