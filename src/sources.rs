//! The two [`Source`]s the monitor can poll: the live CoinGlass client and the demo market.

use crate::coinglass::{ApiError, LiveSource};
use crate::demo::DemoMarket;
use crate::model::{Snapshot, SourceKind};
use crate::monitor::{FatalSourceError, RequestStats, Source, SourceLabel};
use chrono::{DateTime, Utc};
use std::time::Instant;

/// The demo market, clocked by wall time since start.
pub struct DemoSource {
    market: DemoMarket,
    started: Instant,
}

impl DemoSource {
    pub fn new(symbols: Vec<String>, speed: f64) -> Self {
        DemoSource {
            market: DemoMarket::new(symbols, speed),
            started: Instant::now(),
        }
    }
}

impl Source for DemoSource {
    fn label(&self) -> SourceLabel {
        SourceLabel {
            kind: SourceKind::Demo,
            plan: None,
        }
    }

    async fn poll(&mut self, now: DateTime<Utc>) -> Result<Vec<Snapshot>, FatalSourceError> {
        Ok(self.market.snapshots_at(self.started.elapsed(), now))
    }

    fn request_stats(&self) -> RequestStats {
        RequestStats::default()
    }
}

impl Source for LiveSource {
    fn label(&self) -> SourceLabel {
        SourceLabel {
            kind: SourceKind::Live,
            plan: Some(self.plan().to_string().to_uppercase()),
        }
    }

    async fn poll(&mut self, now: DateTime<Utc>) -> Result<Vec<Snapshot>, FatalSourceError> {
        LiveSource::poll(self, now).await.map_err(|e| match e {
            ApiError::Unauthorized { .. } => FatalSourceError(format!(
                "{e}. Check COINGLASS_API_KEY: it may be invalid or expired."
            )),
            other => FatalSourceError(other.to_string()),
        })
    }

    fn request_stats(&self) -> RequestStats {
        LiveSource::request_stats(self)
    }
}
