//! Binance USDⓈ-M futures (`https://fapi.binance.com`), keyless: instruments, one REST cycle
//! of funding / open interest / price (and, as the reference venue, account long/short and taker
//! flow), and the all-market liquidation stream.
//!
//! Cost of a steady cycle for `n` coins (documented request weights):
//! * `weight` pool (2400 per minute): premiumIndex without symbol 10, ticker/24hr without symbol
//!   40, openInterest 1 per coin, and as reference klines (limit 13) 1 per coin;
//! * `data` pool (1000 requests per 5 minutes, every `/futures/data/*`): openInterestHist per
//!   coin, and as reference the two account ratios and the taker volume per coin, each at most
//!   once per 5 minutes (cached);
//! * `funding` pool (500 per 5 minutes, `fundingRate` + `fundingInfo`): fundingInfo once an hour.

pub(crate) mod history;
mod readings;
mod stream;
#[cfg(test)]
mod tests;
mod wire;

use super::http::{Cost, FetchError, HttpSetup, Pool, VenueHttp};
use super::num::Num;
use super::venue::{
    BoxFuture, CoinReading, Instrument, Keepalive, Reading, StreamSpec, Venue, VenueApi, VenueCycle,
};
use crate::model::{GapReason, LongShort};
use chrono::{DateTime, Utc};
use readings::{field, funding, long_short, open_interest, price, taker_flow};
use serde::de::DeserializeOwned;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use wire::{
    AccountRatioRow, ExchangeInfo, FundingInfo, Kline, OiHistRow, OpenInterest, PremiumIndex,
    TakerRow, Ticker24h,
};

const EXCHANGE_INFO: &str = "/fapi/v1/exchangeInfo";
const PREMIUM_INDEX: &str = "/fapi/v1/premiumIndex";
const TICKER_24H: &str = "/fapi/v1/ticker/24hr";
const FUNDING_INFO: &str = "/fapi/v1/fundingInfo";
const OPEN_INTEREST: &str = "/fapi/v1/openInterest";
const KLINES: &str = "/fapi/v1/klines";
const FUNDING_RATE: &str = "/fapi/v1/fundingRate";
const OI_HIST: &str = "/futures/data/openInterestHist";
const GLOBAL_ACCOUNTS: &str = "/futures/data/globalLongShortAccountRatio";
const TOP_ACCOUNTS: &str = "/futures/data/topLongShortAccountRatio";
const TAKER_VOLUME: &str = "/futures/data/takerlongshortRatio";

const WEIGHT: &str = "weight";
const DATA: &str = "data";
const FUNDING: &str = "funding";

const fn cost(pool: &'static str, weight: u32) -> Cost {
    Cost { pool, weight }
}
const EXCHANGE_INFO_COST: Cost = cost(WEIGHT, 1);
/// premiumIndex without a symbol (1 with one).
const PREMIUM_ALL_COST: Cost = cost(WEIGHT, 10);
/// ticker/24hr without a symbol (1 with one).
const TICKER_ALL_COST: Cost = cost(WEIGHT, 40);
const OPEN_INTEREST_COST: Cost = cost(WEIGHT, 1);
/// Every `/futures/data/*` request counts once in its own pool (weight 0 in `weight`).
const DATA_COST: Cost = cost(DATA, 1);
/// `fundingInfo` and `fundingRate` share 500 requests per 5 minutes (weight 0 in `weight`).
const FUNDING_COST: Cost = cost(FUNDING, 1);

/// Documented klines weight by `limit`: [1,100) 1, [100,500) 2, [500,1000] 5, above 10.
const fn klines_cost(limit: u32) -> Cost {
    let weight = match limit {
        0..=99 => 1,
        100..=499 => 2,
        500..=1000 => 5,
        _ => 10,
    };
    cost(WEIGHT, weight)
}

/// Requests of one cycle in flight at once.
const MAX_IN_FLIGHT: usize = 8;
/// 5-minute bars: a new one at most every 5 minutes.
const SLOW_TTL: chrono::TimeDelta = chrono::TimeDelta::minutes(5);
/// How often the funding-interval list is asked again.
const INTERVALS_TTL: chrono::TimeDelta = chrono::TimeDelta::hours(1);
/// How long a funding-interval list is trusted when it cannot be refreshed.
const INTERVALS_MAX_AGE: chrono::TimeDelta = chrono::TimeDelta::hours(6);
/// Symbols `fundingInfo` does not list settle every 8 h (its documentation).
const DEFAULT_INTERVAL_H: f64 = 8.0;
/// 24 h of 5-minute OI bars plus the current one.
const OI_HIST_LIMIT: u32 = 289;
/// Twelve 5-minute taker bars: the last hour.
const TAKER_LIMIT: u32 = 12;
/// Thirteen 5-minute klines: now and an hour before.
const KLINES_1H_LIMIT: u32 = 13;
const MIN_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;
/// An OI bar stands for a look-back when it is at most this much older than the moment
/// asked for (bars come every 5 minutes; the slack absorbs publication delay).
const LAG_TOLERANCE_MS: i64 = 7 * MIN_MS + 30_000;

/// Binance's names for multiplied contracts (`1000PEPEUSDT` quotes 1000 PEPE,
/// `1MBABYDOGEUSDT` and `1000000MOGUSDT` a million), tried after the plain name.
const MULTIPLIER_PREFIXES: [(&str, f64); 4] = [
    ("", 1.0),
    ("1000", 1_000.0),
    ("1000000", 1_000_000.0),
    ("1M", 1_000_000.0),
];

/// A slow series' rows and when they were fetched.
#[derive(Debug, Clone)]
struct Cached<R> {
    at: DateTime<Utc>,
    rows: Vec<R>,
}

/// The 5-minute series of one symbol, fetched at most every [`SLOW_TTL`].
#[derive(Debug, Default)]
struct SlowSeries {
    oi_hist: Option<Cached<OiHistRow>>,
    retail: Option<Cached<AccountRatioRow>>,
    top: Option<Cached<AccountRatioRow>>,
    taker: Option<Cached<TakerRow>>,
}

fn due<R>(cached: &Option<Cached<R>>, now: DateTime<Utc>) -> bool {
    cached.as_ref().is_none_or(|c| now - c.at >= SLOW_TTL)
}

/// `fundingInfo`: the symbols whose interval differs from the default.
#[derive(Debug)]
struct FundingIntervals {
    at: DateTime<Utc>,
    hours: HashMap<String, Num>,
}

/// The Binance USDⓈ-M client.
#[derive(Debug)]
pub(crate) struct Binance {
    http: VenueHttp,
    ws_base: String,
    intervals: Option<FundingIntervals>,
    slow: HashMap<String, SlowSeries>,
}

impl Binance {
    pub(crate) fn new(rest_base: &str, ws_base: &str) -> Self {
        let http = VenueHttp::new(HttpSetup {
            venue: Venue::Binance,
            base_url: rest_base.trim_end_matches('/').to_string(),
            pools: vec![
                Pool {
                    name: WEIGHT,
                    limit: 2400,
                    window: Duration::from_secs(60),
                },
                Pool {
                    name: DATA,
                    limit: 1000,
                    window: Duration::from_secs(300),
                },
                Pool {
                    name: FUNDING,
                    limit: 500,
                    window: Duration::from_secs(300),
                },
            ],
            usage_header: Some(("x-mbx-used-weight-1m", WEIGHT)),
            timeout: Duration::from_secs(10),
        });
        Binance {
            http,
            ws_base: ws_base.trim_end_matches('/').to_string(),
            intervals: None,
            slow: HashMap::new(),
        }
    }

    /// The symbol's funding interval: listed in `fundingInfo`, else 8 h; `None` without a
    /// recent list (or when its entry is not a positive number).
    fn interval_hours(&self, id: &str, now: DateTime<Utc>) -> Option<f64> {
        let list = self
            .intervals
            .as_ref()
            .filter(|l| now - l.at <= INTERVALS_MAX_AGE)?;
        match list.hours.get(id) {
            None => Some(DEFAULT_INTERVAL_H),
            Some(h) => h.get().filter(|h| *h > 0.0),
        }
    }

    async fn cycle(
        &mut self,
        instruments: &[Instrument],
        reference: bool,
        now: DateTime<Utc>,
    ) -> VenueCycle {
        let gate = Semaphore::new(MAX_IN_FLIGHT);
        let http = &self.http;
        let wants: Vec<Wants> = instruments
            .iter()
            .map(|i| {
                let (oi_hist, retail, top, taker) =
                    self.slow.get(&i.id).map_or((true, true, true, true), |s| {
                        (
                            due(&s.oi_hist, now),
                            due(&s.retail, now),
                            due(&s.top, now),
                            due(&s.taker, now),
                        )
                    });
                Wants {
                    oi_hist,
                    klines: reference,
                    retail: reference && retail,
                    top: reference && top,
                    taker: reference && taker,
                }
            })
            .collect();
        let intervals_due = self
            .intervals
            .as_ref()
            .is_none_or(|l| now - l.at >= INTERVALS_TTL);
        let (premium, tickers, intervals, coins) = tokio::join!(
            fetch::<Vec<PremiumIndex>>(http, &gate, PREMIUM_INDEX, vec![], PREMIUM_ALL_COST),
            fetch::<Vec<Ticker24h>>(http, &gate, TICKER_24H, vec![], TICKER_ALL_COST),
            maybe(
                intervals_due,
                fetch::<Vec<FundingInfo>>(http, &gate, FUNDING_INFO, vec![], FUNDING_COST)
            ),
            futures::future::join_all(
                instruments
                    .iter()
                    .zip(&wants)
                    .map(|(i, w)| fetch_coin(http, &gate, &i.id, *w))
            ),
        );
        if let Some(Ok(rows)) = intervals {
            let hours = rows
                .into_iter()
                .filter_map(|r| Some((r.symbol?, r.funding_interval_hours)))
                .collect();
            self.intervals = Some(FundingIntervals { at: now, hours });
        }
        let premium = by_symbol(premium, |r| r.symbol.clone());
        let tickers = by_symbol(tickers, |r| r.symbol.clone());
        let mut out = VenueCycle::new();
        for (inst, fetched) in instruments.iter().zip(coins) {
            let interval = self.interval_hours(&inst.id, now);
            let slow = self.slow.entry(inst.id.clone()).or_default();
            let oi_hist = settle(&mut slow.oi_hist, fetched.oi_hist, now);
            let series = |rows: Reading<Vec<AccountRatioRow>>, what: &str| {
                rows.and_then(|rows| long_short(&rows, &inst.id, what))
            };
            type Reference = (
                Reading<LongShort>,
                Reading<LongShort>,
                Reading<Vec<TakerRow>>,
            );
            let (retail, top, taker): Reference = if reference {
                (
                    series(
                        settle(&mut slow.retail, fetched.retail, now),
                        "globalLongShortAccountRatio",
                    ),
                    series(
                        settle(&mut slow.top, fetched.top, now),
                        "topLongShortAccountRatio",
                    ),
                    settle(&mut slow.taker, fetched.taker, now),
                )
            } else {
                // Not asked: the reference venue's metrics come from elsewhere.
                let pending = GapReason::Pending;
                (Err(pending.clone()), Err(pending.clone()), Err(pending))
            };
            let mark = lookup(&premium, &inst.id)
                .and_then(|r| r.mark_price.need(&field(&inst.id, "markPrice")));
            let ticker = lookup(&tickers, &inst.id);
            let quoted_price = ticker
                .as_ref()
                .ok()
                .and_then(|t| t.last_price.get())
                .or_else(|| mark.as_ref().ok().copied());
            let reading = CoinReading {
                funding: lookup(&premium, &inst.id).and_then(|r| funding(r, &inst.id, interval)),
                open_interest: open_interest(fetched.oi, &mark, &oi_hist, &inst.id, now),
                price: ticker.and_then(|t| price(t, inst, fetched.klines)),
                retail,
                top,
                taker: taker.and_then(|rows| taker_flow(&rows, &inst.id, quoted_price)),
            };
            out.insert(inst.coin.clone(), reading);
        }
        out
    }
}

impl VenueApi for Binance {
    fn venue(&self) -> Venue {
        Venue::Binance
    }

    fn http(&self) -> &VenueHttp {
        &self.http
    }

    fn instruments<'a>(
        &'a mut self,
        coins: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<Instrument>, FetchError>> {
        Box::pin(async move {
            let info: ExchangeInfo = self
                .http
                .get(EXCHANGE_INFO, &[], EXCHANGE_INFO_COST)
                .await?;
            Ok(resolve(coins, &info))
        })
    }

    fn poll<'a>(
        &'a mut self,
        instruments: &'a [Instrument],
        reference: bool,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, VenueCycle> {
        Box::pin(self.cycle(instruments, reference, now))
    }

    fn liq_stream(&self, instruments: &[Instrument]) -> StreamSpec {
        let watched = stream::watched(instruments);
        StreamSpec {
            venue: Venue::Binance,
            // The /market route: the same stream on another route receives nothing.
            url: format!("{}/market/ws/!forceOrder@arr", self.ws_base),
            subscribe: Vec::new(),
            keepalive: Keepalive::AnswerPings,
            max_age: Some(Duration::from_secs(24 * 3600)),
            parse: Arc::new(move |text| stream::parse_frame(&watched, text)),
        }
    }
}

/// The watched coins Binance lists as trading USDT perpetuals, plain or multiplied names.
fn resolve(coins: &[String], info: &ExchangeInfo) -> Vec<Instrument> {
    let listed: HashSet<&str> = info
        .symbols
        .iter()
        .filter(|s| {
            s.contract_type.as_deref() == Some("PERPETUAL")
                && s.quote_asset.as_deref() == Some("USDT")
                && s.status.as_deref() == Some("TRADING")
        })
        .filter_map(|s| s.symbol.as_deref())
        .collect();
    coins
        .iter()
        .filter_map(|coin| {
            let base = coin.trim().to_ascii_uppercase();
            MULTIPLIER_PREFIXES.iter().find_map(|(prefix, multiplier)| {
                let id = format!("{prefix}{base}USDT");
                listed.contains(id.as_str()).then(|| Instrument {
                    coin: coin.clone(),
                    id,
                    price_multiplier: *multiplier,
                    contract_size: 1.0,
                })
            })
        })
        .collect()
}

/// Which per-symbol requests a cycle sends for one coin.
#[derive(Debug, Clone, Copy)]
struct Wants {
    oi_hist: bool,
    klines: bool,
    retail: bool,
    top: bool,
    taker: bool,
}

/// What one coin's requests brought (`None`: not asked this cycle).
struct CoinFetch {
    oi: Result<OpenInterest, FetchError>,
    oi_hist: Option<Result<Vec<OiHistRow>, FetchError>>,
    klines: Option<Result<Vec<Kline>, FetchError>>,
    retail: Option<Result<Vec<AccountRatioRow>, FetchError>>,
    top: Option<Result<Vec<AccountRatioRow>, FetchError>>,
    taker: Option<Result<Vec<TakerRow>, FetchError>>,
}

async fn fetch<T: DeserializeOwned>(
    http: &VenueHttp,
    gate: &Semaphore,
    path: &str,
    query: Vec<(&'static str, String)>,
    cost: Cost,
) -> Result<T, FetchError> {
    // The semaphore is never closed; a permit bounds the requests in flight.
    let _permit = gate.acquire().await.ok();
    http.get(path, &query, cost).await
}

async fn maybe<F: std::future::Future>(want: bool, f: F) -> Option<F::Output> {
    if want {
        Some(f.await)
    } else {
        None
    }
}

async fn fetch_coin(http: &VenueHttp, gate: &Semaphore, id: &str, w: Wants) -> CoinFetch {
    let symbol = || vec![("symbol", id.to_string())];
    let stats = |limit: u32| {
        vec![
            ("symbol", id.to_string()),
            ("period", "5m".to_string()),
            ("limit", limit.to_string()),
        ]
    };
    let klines_query = {
        let mut q = symbol();
        q.push(("interval", "5m".into()));
        q.push(("limit", KLINES_1H_LIMIT.to_string()));
        q
    };
    let (oi, oi_hist, klines, retail, top, taker) = tokio::join!(
        fetch(http, gate, OPEN_INTEREST, symbol(), OPEN_INTEREST_COST),
        maybe(
            w.oi_hist,
            fetch(http, gate, OI_HIST, stats(OI_HIST_LIMIT), DATA_COST)
        ),
        maybe(
            w.klines,
            fetch(
                http,
                gate,
                KLINES,
                klines_query,
                klines_cost(KLINES_1H_LIMIT)
            )
        ),
        maybe(
            w.retail,
            fetch(http, gate, GLOBAL_ACCOUNTS, stats(1), DATA_COST)
        ),
        maybe(w.top, fetch(http, gate, TOP_ACCOUNTS, stats(1), DATA_COST)),
        maybe(
            w.taker,
            fetch(http, gate, TAKER_VOLUME, stats(TAKER_LIMIT), DATA_COST)
        ),
    );
    CoinFetch {
        oi,
        oi_hist,
        klines,
        retail,
        top,
        taker,
    }
}

/// A slow series for this cycle: fresh rows are cached; a failed fetch is this cycle's gap
/// (and asked again next cycle); not asked means the cache is fresh.
fn settle<R: Clone>(
    cache: &mut Option<Cached<R>>,
    fetched: Option<Result<Vec<R>, FetchError>>,
    now: DateTime<Utc>,
) -> Reading<Vec<R>> {
    match fetched {
        Some(Ok(rows)) => {
            *cache = Some(Cached {
                at: now,
                rows: rows.clone(),
            });
            Ok(rows)
        }
        Some(Err(e)) => Err(e.gap()),
        None => cache
            .as_ref()
            .map(|c| c.rows.clone())
            .ok_or(GapReason::Pending),
    }
}

/// An all-symbol answer keyed by symbol, or the gap every coin shows.
fn by_symbol<R>(
    answer: Result<Vec<R>, FetchError>,
    symbol: impl Fn(&R) -> Option<String>,
) -> Result<HashMap<String, R>, GapReason> {
    let rows = answer.map_err(|e| e.gap())?;
    Ok(rows
        .into_iter()
        .filter_map(|r| Some((symbol(&r)?, r)))
        .collect())
}

fn lookup<'m, R>(
    rows: &'m Result<HashMap<String, R>, GapReason>,
    id: &str,
) -> Result<&'m R, GapReason> {
    rows.as_ref()
        .map_err(Clone::clone)?
        .get(id)
        .ok_or(GapReason::NotReported)
}
