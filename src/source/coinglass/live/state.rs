//! What the live source keeps about each watched symbol between cycles: the last value of every
//! metric group, the long/short bar bookkeeping and its own price observations.

use super::Side;
use crate::model::{
    Field, Funding, Liquidations, LongShort, OpenInterest, Price, Snapshot, SourceKind, TakerFlow,
};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, VecDeque};

/// Own price observations kept per symbol (enough for the 1h change at any sane cadence).
pub(super) const PRICE_RING_MAX: usize = 256;
pub(super) const PRICE_RING_SPAN_MIN: i64 = 120;
/// A self-computed 1h change uses an observation between 55 and 80 minutes old (the closest
/// to 60): with price every 25-30 min there is always one, and never a much shorter span.
pub(super) const CHANGE_1H_MIN_AGE_MIN: i64 = 55;
pub(super) const CHANGE_1H_MAX_AGE_MIN: i64 = 80;

/// One exchange's open interest of one coin, in USD: the funding weights.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(super) struct ExchangeOi {
    /// Every contract (`open_interest_usd`).
    pub(super) total: Option<f64>,
    /// Stablecoin-margined contracts only (`open_interest_by_stable_coin_margin`).
    pub(super) stable: Option<f64>,
}

/// How far the reference pair id is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PairState {
    /// Not looked up yet (or the lookup failed): `<COIN><QUOTE>` is used, unverified.
    Guessed,
    /// Taken from `supported-exchange-pairs`.
    Resolved,
    /// The exchange lists no such pair: long/short is not requested; the text says so.
    Missing(String),
}

/// Long/short fetch bookkeeping of one series.
#[derive(Debug, Clone, Default)]
pub(super) struct LsState {
    pub(super) last_bar: Option<DateTime<Utc>>,
    pub(super) next_due: Option<DateTime<Utc>>,
}

/// Own price observations, for the 1h change when the API does not give one.
#[derive(Debug, Clone, Default)]
pub(super) struct PriceRing(pub(super) VecDeque<(DateTime<Utc>, f64)>);

impl PriceRing {
    pub(super) fn push(&mut self, at: DateTime<Utc>, price: f64) {
        if self.0.back().is_some_and(|(t, _)| *t >= at) {
            self.0.pop_back();
        }
        self.0.push_back((at, price));
        let horizon = at - chrono::Duration::minutes(PRICE_RING_SPAN_MIN);
        while self.0.front().is_some_and(|(t, _)| *t < horizon) || self.0.len() > PRICE_RING_MAX {
            self.0.pop_front();
        }
    }

    /// Percent change against the observation closest to one hour before `now`, if one between
    /// 55 and 80 minutes old exists.
    pub(super) fn change_1h_pct(&self, now: DateTime<Utc>, price: f64) -> Option<f64> {
        let target = 60 * 60_000i64;
        self.0
            .iter()
            .filter_map(|(t, p)| {
                let age = (now - *t).num_milliseconds();
                let in_range = (CHANGE_1H_MIN_AGE_MIN * 60_000..=CHANGE_1H_MAX_AGE_MIN * 60_000)
                    .contains(&age);
                (in_range && *p > 0.0).then_some(((age - target).abs(), *p))
            })
            .min_by_key(|(distance, _)| *distance)
            .map(|(_, base)| (price / base - 1.0) * 100.0)
    }

    /// Records a price seen now and builds the `Price` metric: the API's changes where it gives
    /// them, otherwise the 1h change from our own observations.
    pub(super) fn observe(
        &mut self,
        now: DateTime<Utc>,
        price: f64,
        api_change_1h_pct: Option<f64>,
        api_change_24h_pct: Option<f64>,
    ) -> Price {
        self.push(now, price);
        Price {
            price: Some(price),
            change_1h_pct: api_change_1h_pct.or_else(|| self.change_1h_pct(now, price)),
            change_24h_pct: api_change_24h_pct,
        }
    }
}

/// Everything kept about one watched symbol between cycles.
#[derive(Debug, Clone)]
pub(super) struct SymbolState {
    pub(super) coin: String,
    /// Reference pair id, e.g. `BTCUSDT` or `BTC-USDT-SWAP`.
    pub(super) pair: String,
    pub(super) pair_state: PairState,
    pub(super) funding: Field<Funding>,
    pub(super) oi: Field<OpenInterest>,
    pub(super) liq: Field<Liquidations>,
    pub(super) retail: Field<LongShort>,
    pub(super) top: Field<LongShort>,
    pub(super) taker: Field<TakerFlow>,
    pub(super) price: Field<Price>,
    /// Exchange key ([`exchange_key`](super::super::wire::exchange_key)) → open interest
    /// (funding weights).
    pub(super) weights: HashMap<String, ExchangeOi>,
    pub(super) ls: [LsState; 2],
    pub(super) ring: PriceRing,
}

impl SymbolState {
    pub(super) fn new(coin: String, quote: &str) -> Self {
        SymbolState {
            pair: format!("{coin}{quote}"),
            pair_state: PairState::Guessed,
            coin,
            funding: Field::default(),
            oi: Field::default(),
            liq: Field::default(),
            retail: Field::default(),
            top: Field::default(),
            taker: Field::default(),
            price: Field::default(),
            weights: HashMap::new(),
            ls: [LsState::default(), LsState::default()],
            ring: PriceRing::default(),
        }
    }

    pub(super) fn ls_field(&mut self, side: Side) -> &mut Field<LongShort> {
        match side {
            Side::Retail => &mut self.retail,
            Side::Top => &mut self.top,
        }
    }

    pub(super) fn snapshot(&self, now: DateTime<Utc>) -> Snapshot {
        Snapshot {
            symbol: self.coin.clone(),
            source: SourceKind::Live,
            time: now,
            funding: self.funding.clone(),
            open_interest: self.oi.clone(),
            liquidations: self.liq.clone(),
            retail: self.retail.clone(),
            top: self.top.clone(),
            taker: self.taker.clone(),
            price: self.price.clone(),
        }
    }
}
