//! The seam between the venue clients and the aggregation: which venues there are, how a coin is
//! listed on one, and what one venue reports for one coin in one cycle.

use crate::model::{GapReason, LongShort, TakerFlow};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// A venue the exchanges source reads. Ordered as shown: Binance, Bybit, OKX.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Venue {
    /// Binance USDⓈ-M futures.
    Binance,
    /// Bybit v5, linear (USDT) perpetuals.
    Bybit,
    /// OKX v5, USDT-margined SWAP.
    Okx,
}

impl Venue {
    pub const ALL: [Venue; 3] = [Venue::Binance, Venue::Bybit, Venue::Okx];

    /// The name in configs, flags and JSON: `binance`, `bybit`, `okx`.
    pub fn id(self) -> &'static str {
        match self {
            Venue::Binance => "binance",
            Venue::Bybit => "bybit",
            Venue::Okx => "okx",
        }
    }

    /// The name shown to people: `Binance`, `Bybit`, `OKX`.
    pub fn name(self) -> &'static str {
        match self {
            Venue::Binance => "Binance",
            Venue::Bybit => "Bybit",
            Venue::Okx => "OKX",
        }
    }

    /// `binance`, `Bybit`, `OKX` … (case-insensitive).
    pub fn parse(s: &str) -> Option<Venue> {
        let s = s.trim();
        Venue::ALL
            .into_iter()
            .find(|v| v.id().eq_ignore_ascii_case(s))
    }

    /// A comma-separated list (`binance,bybit,okx`), in the order given, without repeats. The
    /// error names the culprit and the choices.
    pub fn parse_list(s: &str) -> Result<Vec<Venue>, String> {
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let v = Venue::parse(part).ok_or_else(|| {
                format!("unknown venue {part:?}; choose from {}", Venue::choices())
            })?;
            if !out.contains(&v) {
                out.push(v);
            }
        }
        if out.is_empty() {
            return Err(format!("no venue given; choose from {}", Venue::choices()));
        }
        Ok(out)
    }

    /// `binance, bybit, okx`.
    pub fn choices() -> String {
        Venue::ALL.map(Venue::id).join(", ")
    }

    /// Whether the venue publishes this reference-venue metric at all.
    pub fn offers(self, metric: ReferenceMetric) -> bool {
        !matches!(
            (self, metric),
            (Venue::Bybit, ReferenceMetric::Top | ReferenceMetric::Taker)
        )
    }

    /// Whether the venue's liquidation stream samples (pushes only some orders): its sums are
    /// a lower bound.
    pub fn liquidations_sampled(self) -> bool {
        matches!(self, Venue::Binance | Venue::Okx)
    }
}

impl std::fmt::Display for Venue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The metrics taken from the reference venue only (they do not add up across venues).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceMetric {
    Retail,
    Top,
    Taker,
}

/// "not offered by Bybit".
pub(crate) fn not_offered(venue: Venue) -> GapReason {
    GapReason::Unavailable(format!("not offered by {}", venue.name()))
}

/// A watched coin as one venue lists it (a linear USDT perpetual).
#[derive(Debug, Clone, PartialEq)]
pub struct Instrument {
    /// The coin as configured: `BTC`, `PEPE`.
    pub coin: String,
    /// The venue's id: `BTCUSDT`, `1000PEPEUSDT`, `BTC-USDT-SWAP`.
    pub id: String,
    /// Coins the quoted price is for: 1000 for `1000PEPEUSDT`, 1 otherwise. Per-coin price =
    /// quoted price / multiplier.
    pub price_multiplier: f64,
    /// Coins per contract where the venue counts in contracts (OKX `ctVal`); 1 where sizes are
    /// in the quoted unit already.
    pub contract_size: f64,
}

/// Open-interest look-backs, in minutes, in the order of [`OiReading::past_usd`]
/// (5m, 15m, 30m, 1h, 4h, 24h: the model's `change_*_pct` fields).
pub const OI_LAGS_MIN: [i64; 6] = [5, 15, 30, 60, 240, 1440];

/// A venue's current funding for one coin, as quoted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FundingQuote {
    /// Percent per funding interval (the venue's fraction × 100).
    pub rate_pct: f64,
    /// The symbol's current interval in hours, `None` when the venue did not say.
    pub interval_hours: Option<f64>,
    pub next_funding_time: Option<DateTime<Utc>>,
}

/// A venue's open interest for one coin, one side (long = short), in USD.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OiReading {
    pub usd: f64,
    /// The same, [`OI_LAGS_MIN`] minutes ago (`None`: not known).
    pub past_usd: [Option<f64>; 6],
}

/// A venue's price for one coin (per coin, multipliers divided out).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriceReading {
    pub price: f64,
    pub change_1h_pct: Option<f64>,
    pub change_24h_pct: Option<f64>,
}

/// A value, or why there is none.
pub type Reading<T> = Result<T, GapReason>;

/// What one venue reported for one coin in one cycle. The reference-venue metrics are
/// `Err(..)` on the other venues (they are not asked).
#[derive(Debug, Clone, PartialEq)]
pub struct CoinReading {
    pub funding: Reading<FundingQuote>,
    pub open_interest: Reading<OiReading>,
    pub price: Reading<PriceReading>,
    pub retail: Reading<LongShort>,
    pub top: Reading<LongShort>,
    pub taker: Reading<TakerFlow>,
}

impl CoinReading {
    /// Every metric absent for the same reason.
    pub fn absent(reason: GapReason) -> CoinReading {
        CoinReading {
            funding: Err(reason.clone()),
            open_interest: Err(reason.clone()),
            price: Err(reason.clone()),
            retail: Err(reason.clone()),
            top: Err(reason.clone()),
            taker: Err(reason),
        }
    }
}

/// One venue's cycle: a reading per coin it lists (keyed by [`Instrument::coin`]).
pub type VenueCycle = BTreeMap<String, CoinReading>;

/// Which side's positions were liquidated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LiqSide {
    Long,
    Short,
}

/// One liquidation order from a venue's stream.
#[derive(Debug, Clone, PartialEq)]
pub struct LiqEvent {
    pub coin: String,
    pub side: LiqSide,
    pub usd: f64,
    pub at: DateTime<Utc>,
}

/// What one websocket text frame held.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// Liquidations (of watched coins only; others are dropped by the parser).
    Events(Vec<LiqEvent>),
    /// A subscribe acknowledgement, pong or other control message.
    Control,
    /// The venue reported an error (e.g. a refused subscription): the text says which.
    Refused(String),
    /// Not a shape we know: counted and logged, never taken as "no liquidations".
    Malformed(String),
}

/// How a connection is kept alive.
#[derive(Debug, Clone, PartialEq)]
pub enum Keepalive {
    /// The server pings and expects pongs (Binance); the websocket layer answers them.
    AnswerPings,
    /// Send this text frame on a timer (Bybit `{"op":"ping"}` every 20 s, OKX `ping`).
    SendText { text: String, every: Duration },
}

/// Parses one text frame of a venue's liquidation stream.
pub type FrameParser = Arc<dyn Fn(&str) -> Parsed + Send + Sync>;

/// Everything the stream runner needs to keep one venue's liquidation feed.
#[derive(Clone)]
pub struct StreamSpec {
    pub venue: Venue,
    /// Full websocket URL (the right route, e.g. Binance `/market/ws/!forceOrder@arr`).
    pub url: String,
    /// Text frames sent after each (re)connect, in order.
    pub subscribe: Vec<String>,
    pub keepalive: Keepalive,
    /// The server closes connections after this long (Binance 24 h): the runner opens the next
    /// one before, so there is no gap.
    pub max_age: Option<Duration>,
    pub parse: FrameParser,
}

impl std::fmt::Debug for StreamSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamSpec")
            .field("venue", &self.venue)
            .field("url", &self.url)
            .field("subscribe", &self.subscribe)
            .field("keepalive", &self.keepalive)
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

/// A boxed future, so venue clients can sit behind `dyn VenueApi`.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// One venue's client: its instrument list, one cycle of REST, and its liquidation stream.
/// Implemented by `binance::Binance`, `bybit::Bybit`, `okx::Okx`.
pub(crate) trait VenueApi: Send {
    fn venue(&self) -> Venue;

    /// The venue's transport (standing, budget use, request counts).
    fn http(&self) -> &super::http::VenueHttp;

    /// The watched coins this venue lists as linear USDT perpetuals (one instrument-list
    /// fetch, following pages). Coins not in the answer are not listed there. `Err` only when
    /// the list could not be fetched.
    fn instruments<'a>(
        &'a mut self,
        coins: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<Instrument>, super::http::FetchError>>;

    /// One cycle of REST for `instruments`: a [`CoinReading`] per instrument's coin. With
    /// `reference` it also reads retail / top-trader long/short and taker flow (a metric the
    /// venue does not publish is `Err(not_offered(venue))`); without, those are
    /// `Err(GapReason::Pending)` (not asked). Never fails as a whole: every metric carries its
    /// own reason.
    fn poll<'a>(
        &'a mut self,
        instruments: &'a [Instrument],
        reference: bool,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, VenueCycle>;

    /// The liquidation stream for `instruments` (URL on the right route, subscriptions,
    /// keep-alive, and a parser that maps the venue's side to [`LiqSide`] and size to USD).
    fn liq_stream(&self, instruments: &[Instrument]) -> StreamSpec;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn venue_lists_parse_in_order_and_name_the_culprit() {
        assert_eq!(
            Venue::parse_list("okx, Binance,okx").unwrap(),
            vec![Venue::Okx, Venue::Binance]
        );
        let e = Venue::parse_list("binance,kraken").unwrap_err();
        assert!(
            e.contains("\"kraken\"") && e.contains("binance, bybit, okx"),
            "{e}"
        );
        assert!(Venue::parse_list(" , ").is_err());
    }

    #[test]
    fn bybit_offers_retail_only() {
        assert!(Venue::Bybit.offers(ReferenceMetric::Retail));
        assert!(!Venue::Bybit.offers(ReferenceMetric::Top));
        assert!(!Venue::Bybit.offers(ReferenceMetric::Taker));
        assert!(Venue::Okx.offers(ReferenceMetric::Taker));
        assert_eq!(
            not_offered(Venue::Bybit).to_string(),
            "not offered by Bybit"
        );
    }
}
