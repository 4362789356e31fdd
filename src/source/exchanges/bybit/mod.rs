//! Bybit v5, linear USDT perpetuals (category=linear), keyless.
//!
//! Per cycle: one `/v5/market/tickers` call for every coin's funding, price, 24 h change and
//! one-side open interest; per coin, every 5 minutes, the OI history (5-minute and hourly
//! bars) and, on the reference venue, the retail account ratio. Funding intervals come from
//! the instrument list (minutes), refreshed hourly. Top-trader ratios and taker flow are not
//! published by Bybit. Liquidations: `allLiquidation.<SYMBOL>` on `/v5/public/linear`.
//!
//! Also home of the small helpers OKX uses too (slow-series cache, look-backs, long/short).

mod stream;
#[cfg(test)]
mod tests;
mod wire;

use super::http::{Cost, FetchError, HttpSetup, Pool, VenueHttp};
use super::num::Num;
use super::venue::{
    not_offered, BoxFuture, CoinReading, FundingQuote, Instrument, Keepalive, OiReading,
    PriceReading, Reading, StreamSpec, Venue, VenueApi, VenueCycle, OI_LAGS_MIN,
};
use crate::model::{GapReason, LongShort};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use wire::{Envelope, InstrumentRow, ListResult, OiRow, RatioRow, TickerRow};

/// Bybit counts every REST request against one IP pool: 600 per 5 s (docs v5 "Rate Limit
/// Rules"; over it: HTTP 403 "access too frequent", at least 10 minutes).
const POOL: &str = "ip";
const COST: Cost = Cost {
    pool: POOL,
    weight: 1,
};
/// `retCode`s meaning "too many requests": 10006 (per-UID/endpoint), 10018 (IP).
const RATE_LIMIT_CODES: [i64; 2] = [10006, 10018];
/// Instrument-list pages (1000 rows each; the linear list has some 500–700 rows).
const MAX_PAGES: usize = 10;
/// Topics per subscribe frame. Linear has no documented args count limit (only 21,000
/// characters of args per connection); small frames keep one refused topic from sinking many.
const TOPICS_PER_FRAME: usize = 10;

/// How long a slow series (OI history, account ratios, taker bars: 5-minute bars) is reused.
pub(crate) const SLOW_TTL: chrono::Duration = chrono::Duration::minutes(5);
/// How long funding intervals are reused.
const INTERVALS_TTL: chrono::Duration = chrono::Duration::hours(1);

/// The keyless Bybit client.
pub(crate) struct Bybit {
    http: VenueHttp,
    ws_base: String,
    /// Funding interval in minutes per symbol, and when it was read.
    intervals: HashMap<String, f64>,
    intervals_at: Option<DateTime<Utc>>,
    oi_history: SlowCache<OiHistory>,
    retail: SlowCache<LongShort>,
}

/// One-side open interest, in coins of the quoted unit, over time.
#[derive(Debug, Clone, Default)]
struct OiHistory {
    five_min: Vec<(DateTime<Utc>, f64)>,
    hourly: Vec<(DateTime<Utc>, f64)>,
}

impl Bybit {
    pub(crate) fn new(rest_base: &str, ws_base: &str) -> Self {
        let http = VenueHttp::new(HttpSetup {
            venue: Venue::Bybit,
            base_url: rest_base.trim_end_matches('/').to_string(),
            pools: vec![Pool {
                name: POOL,
                limit: 600,
                window: Duration::from_secs(5),
            }],
            usage_header: None,
            timeout: Duration::from_secs(10),
        });
        Bybit {
            http,
            ws_base: ws_base.trim_end_matches('/').to_string(),
            intervals: HashMap::new(),
            intervals_at: None,
            oi_history: SlowCache::default(),
            retail: SlowCache::default(),
        }
    }

    /// Every linear USDT perpetual that is trading, following the cursor.
    async fn perpetuals(&self) -> Result<Vec<InstrumentRow>, FetchError> {
        let mut rows = Vec::new();
        let mut cursor = String::new();
        for _ in 0..MAX_PAGES {
            let mut query = vec![("category", "linear".to_string()), ("limit", "1000".into())];
            if !cursor.is_empty() {
                query.push(("cursor", cursor.clone()));
            }
            let page: ListResult<InstrumentRow> =
                fetch(&self.http, "/v5/market/instruments-info", &query).await?;
            rows.extend(page.list.into_iter().filter(|r| {
                r.contract_type == "LinearPerpetual"
                    && r.quote_coin == "USDT"
                    && r.status == "Trading"
            }));
            match page.next_page_cursor {
                Some(next) if !next.is_empty() && next != cursor => cursor = next,
                _ => break,
            }
        }
        Ok(rows)
    }

    fn keep_intervals(&mut self, rows: &[InstrumentRow], now: DateTime<Utc>) {
        self.intervals = rows
            .iter()
            .filter_map(|r| Some((r.symbol.clone(), r.funding_interval.get()?)))
            .collect();
        self.intervals_at = Some(now);
    }

    async fn poll_cycle(
        &mut self,
        instruments: &[Instrument],
        reference: bool,
        now: DateTime<Utc>,
    ) -> VenueCycle {
        if self.intervals_at.is_none_or(|at| now - at >= INTERVALS_TTL) {
            // On failure the old intervals stay; the next cycle asks again.
            if let Ok(rows) = self.perpetuals().await {
                self.keep_intervals(&rows, now);
            }
        }
        let tickers = fetch::<ListResult<TickerRow>>(
            &self.http,
            "/v5/market/tickers",
            &[("category", "linear".to_string())],
        )
        .await
        .map(|r| {
            r.list
                .into_iter()
                .map(|t| (t.symbol.clone(), t))
                .collect::<HashMap<_, _>>()
        });

        let http = &self.http;
        let jobs = instruments.iter().map(|inst| {
            let need_oi = self.oi_history.fresh(&inst.id, now).is_none();
            let need_retail = reference && self.retail.fresh(&inst.id, now).is_none();
            async move {
                let oi = match need_oi {
                    true => Some(oi_history(http, &inst.id).await.map(Ok)),
                    false => None,
                };
                let retail = match need_retail {
                    true => Some(retail(http, &inst.id).await),
                    false => None,
                };
                (oi, retail)
            }
        });
        let fetched = futures::future::join_all(jobs).await;

        let mut cycle = VenueCycle::new();
        for (inst, (oi, retail)) in instruments.iter().zip(fetched) {
            let oi = self.oi_history.take(&inst.id, now, oi);
            let retail = match reference {
                true => self.retail.take(&inst.id, now, retail),
                false => Err(GapReason::Pending),
            };
            let ticker = match &tickers {
                Ok(all) => all.get(&inst.id).ok_or(GapReason::NotReported),
                Err(e) => Err(e.gap()),
            };
            cycle.insert(
                inst.coin.clone(),
                self.reading(inst, ticker, oi, retail, reference, now),
            );
        }
        cycle
    }

    fn reading(
        &self,
        inst: &Instrument,
        ticker: Result<&TickerRow, GapReason>,
        oi_history: Reading<OiHistory>,
        retail: Reading<LongShort>,
        reference: bool,
        now: DateTime<Utc>,
    ) -> CoinReading {
        // Bybit publishes neither top-trader ratios nor taker volume.
        let unoffered = || match reference {
            true => not_offered(Venue::Bybit),
            false => GapReason::Pending,
        };
        let t = match ticker {
            Ok(t) => t,
            Err(reason) => {
                let mut r = CoinReading::absent(reason);
                r.retail = retail;
                r.top = Err(unoffered());
                r.taker = Err(unoffered());
                return r;
            }
        };
        let id = &inst.id;
        CoinReading {
            funding: funding(t, self.intervals.get(id).copied()),
            open_interest: open_interest(t, oi_history, now),
            price: price(t, inst.price_multiplier),
            retail,
            top: Err(unoffered()),
            taker: Err(unoffered()),
        }
    }
}

fn funding(t: &TickerRow, interval_min: Option<f64>) -> Reading<FundingQuote> {
    let rate = t
        .funding_rate
        .need(&format!("Bybit {} fundingRate", t.symbol))?;
    Ok(FundingQuote {
        rate_pct: rate * 100.0,
        interval_hours: interval_min.filter(|m| *m > 0.0).map(|m| m / 60.0),
        next_funding_time: t.next_funding_time.time_ms(),
    })
}

fn open_interest(
    t: &TickerRow,
    history: Reading<OiHistory>,
    now: DateTime<Utc>,
) -> Reading<OiReading> {
    let usd = match &t.single_open_interest_value {
        Num::Absent => {
            // Only the both-sides figure: long = short, so one side is half of it.
            t.open_interest_value
                .need(&format!("Bybit {} openInterestValue", t.symbol))?
                / 2.0
        }
        one_side => one_side.need(&format!("Bybit {} singleOpenInterestValue", t.symbol))?,
    };
    // The history is in coins: the past USD figure is the current one scaled by the ratio of
    // past to current quantity (price moves are not in the change).
    let past_usd = match history {
        Ok(h) => {
            let latest = h.five_min.iter().max_by_key(|(at, _)| *at).map(|(_, q)| *q);
            at_lags(&h.five_min, &h.hourly, now).map(|past| match (past, latest) {
                (Some(p), Some(l)) if l > 0.0 => Some(usd * p / l),
                _ => None,
            })
        }
        Err(_) => [None; 6],
    };
    Ok(OiReading { usd, past_usd })
}

fn price(t: &TickerRow, multiplier: f64) -> Reading<PriceReading> {
    let last = t
        .last_price
        .need(&format!("Bybit {} lastPrice", t.symbol))?;
    // `prevPrice1h` is in the same all-symbol answer: the 1 h change costs no extra request.
    let change_1h_pct = t
        .prev_price_1h
        .get()
        .filter(|p| *p > 0.0)
        .map(|p| (last / p - 1.0) * 100.0);
    Ok(PriceReading {
        price: last / multiplier,
        change_1h_pct,
        change_24h_pct: t.price_24h_pcnt.get().map(|f| f * 100.0),
    })
}

async fn oi_history(http: &VenueHttp, symbol: &str) -> Result<OiHistory, FetchError> {
    let query = |interval: &str, limit: &str| {
        vec![
            ("category", "linear".to_string()),
            ("symbol", symbol.to_string()),
            ("intervalTime", interval.to_string()),
            ("limit", limit.to_string()),
        ]
    };
    let path = "/v5/market/open-interest";
    let (five, hourly) = futures::future::join(
        // 49 five-minute bars reach the 4 h look-back; the hourly series the 24 h one.
        fetch::<ListResult<OiRow>>(http, path, &query("5min", "49")),
        fetch::<ListResult<OiRow>>(http, path, &query("1h", "25")),
    )
    .await;
    let series = |rows: Vec<OiRow>| {
        rows.into_iter()
            .filter_map(|r| {
                let one_side = match r.single_open_interest.get() {
                    Some(q) => q,
                    None => r.open_interest.get()? / 2.0,
                };
                Some((r.timestamp.time_ms()?, one_side))
            })
            .collect()
    };
    Ok(OiHistory {
        five_min: series(five?.list),
        hourly: hourly.map(|h| series(h.list)).unwrap_or_default(),
    })
}

async fn retail(http: &VenueHttp, symbol: &str) -> Result<Reading<LongShort>, FetchError> {
    let query = [
        ("category", "linear".to_string()),
        ("symbol", symbol.to_string()),
        ("period", "5min".to_string()),
        ("limit", "1".to_string()),
    ];
    let rows: ListResult<RatioRow> = fetch(http, "/v5/market/account-ratio", &query).await?;
    let Some(row) = rows
        .list
        .into_iter()
        .max_by_key(|r| r.timestamp.get().map(|t| t as i64))
    else {
        return Ok(Err(GapReason::NotReported));
    };
    let parse = || -> Reading<LongShort> {
        let long = row.buy_ratio.need(&format!("Bybit {symbol} buyRatio"))?;
        let short = row.sell_ratio.need(&format!("Bybit {symbol} sellRatio"))?;
        let bar_time = need_time(&row.timestamp, &format!("Bybit {symbol} timestamp"))?;
        Ok(long_short(
            long * 100.0,
            short * 100.0,
            bar_time,
            format!("Bybit {symbol} 5m"),
        ))
    };
    Ok(parse())
}

/// GETs a Bybit endpoint and unwraps the envelope: `retCode` 0 → `result`; the rate-limit
/// codes pause the venue; any other code is an API error with `retMsg`.
async fn fetch<T: DeserializeOwned>(
    http: &VenueHttp,
    path: &str,
    query: &[(&str, String)],
) -> Result<T, FetchError> {
    let env: Envelope = http.get(path, query, COST).await?;
    let message = match &env.ret_msg {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match env.ret_code.get() {
        Some(0.0) => {}
        Some(c) if RATE_LIMIT_CODES.contains(&(c as i64)) => {
            return Err(http.rate_limited_by_envelope(None))
        }
        Some(c) => {
            return Err(FetchError::Api {
                venue: Venue::Bybit,
                message: format!("{path}: {} (retCode {c})", short_frame(&message)),
            })
        }
        None => {
            return Err(decode_error(Venue::Bybit, path, "no retCode".into()));
        }
    }
    serde_json::from_value(env.result).map_err(|e| decode_error(Venue::Bybit, path, e.to_string()))
}

pub(crate) fn decode_error(venue: Venue, path: &str, message: String) -> FetchError {
    FetchError::Decode {
        venue,
        what: path.to_string(),
        message,
    }
}

/// `1000PEPE` → (1000, `PEPE`); `SHIB1000` → (1000, `SHIB`); `BTC`, `1INCH` → `None`.
fn split_multiplier(base: &str) -> Option<(f64, &str)> {
    const MULTIPLIERS: [u64; 7] = [10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000];
    let lead = base.len() - base.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let trail = base.len() - base.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let (digits, rest) = if lead > 0 {
        (&base[..lead], &base[lead..])
    } else {
        (&base[base.len() - trail..], &base[..base.len() - trail])
    };
    let m: u64 = digits.parse().ok()?;
    (MULTIPLIERS.contains(&m) && !rest.is_empty()).then_some((m as f64, rest))
}

/// The watched coins among the listed perpetuals: an exact base coin first, else a
/// multiplier name (`1000PEPEUSDT` for PEPE).
fn match_coins(rows: &[InstrumentRow], coins: &[String]) -> Vec<Instrument> {
    coins
        .iter()
        .filter_map(|coin| {
            let exact = rows
                .iter()
                .find(|r| r.base_coin.eq_ignore_ascii_case(coin))
                .map(|r| (r, 1.0));
            let scaled = || {
                rows.iter().find_map(|r| {
                    let (m, base) = split_multiplier(&r.base_coin)?;
                    base.eq_ignore_ascii_case(coin).then_some((r, m))
                })
            };
            let (row, multiplier) = exact.or_else(scaled)?;
            Some(Instrument {
                coin: coin.clone(),
                id: row.symbol.clone(),
                price_multiplier: multiplier,
                contract_size: 1.0,
            })
        })
        .collect()
}

impl VenueApi for Bybit {
    fn venue(&self) -> Venue {
        Venue::Bybit
    }

    fn http(&self) -> &VenueHttp {
        &self.http
    }

    fn instruments<'a>(
        &'a mut self,
        coins: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<Instrument>, FetchError>> {
        Box::pin(async move {
            let rows = self.perpetuals().await?;
            self.keep_intervals(&rows, Utc::now());
            Ok(match_coins(&rows, coins))
        })
    }

    fn poll<'a>(
        &'a mut self,
        instruments: &'a [Instrument],
        reference: bool,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, VenueCycle> {
        Box::pin(self.poll_cycle(instruments, reference, now))
    }

    fn liq_stream(&self, instruments: &[Instrument]) -> StreamSpec {
        let coins: HashMap<String, String> = instruments
            .iter()
            .map(|i| (i.id.clone(), i.coin.clone()))
            .collect();
        let topics: Vec<String> = instruments
            .iter()
            .map(|i| format!("allLiquidation.{}", i.id))
            .collect();
        let subscribe = topics
            .chunks(TOPICS_PER_FRAME)
            .map(|args| serde_json::json!({"op": "subscribe", "args": args}).to_string())
            .collect();
        StreamSpec {
            venue: Venue::Bybit,
            url: format!("{}/v5/public/linear", self.ws_base),
            subscribe,
            keepalive: Keepalive::SendText {
                text: r#"{"op":"ping"}"#.into(),
                every: Duration::from_secs(20),
            },
            max_age: None,
            parse: Arc::new(move |frame| stream::parse_frame(frame, &coins)),
        }
    }
}

// ---- helpers shared with OKX -------------------------------------------------------------

/// Slow series per instrument, reused for [`SLOW_TTL`]. Only successes are kept: a failed
/// refresh is asked again next cycle.
#[derive(Debug)]
pub(crate) struct SlowCache<T> {
    entries: HashMap<String, (DateTime<Utc>, T)>,
}

impl<T> Default for SlowCache<T> {
    fn default() -> Self {
        SlowCache {
            entries: HashMap::new(),
        }
    }
}

impl<T: Clone> SlowCache<T> {
    /// The value fetched for `key` less than [`SLOW_TTL`] before `now`.
    pub(crate) fn fresh(&self, key: &str, now: DateTime<Utc>) -> Option<&T> {
        self.entries
            .get(key)
            .filter(|(at, _)| now - *at < SLOW_TTL && *at <= now)
            .map(|(_, v)| v)
    }

    /// This cycle's value: what was `fetched` now (kept when it arrived), else the fresh one.
    pub(crate) fn take(
        &mut self,
        key: &str,
        now: DateTime<Utc>,
        fetched: Option<Result<Reading<T>, FetchError>>,
    ) -> Reading<T> {
        match fetched {
            Some(Ok(Ok(v))) => {
                self.entries.insert(key.to_string(), (now, v.clone()));
                Ok(v)
            }
            Some(Ok(Err(reason))) => Err(reason),
            Some(Err(e)) => Err(e.gap()),
            None => self.fresh(key, now).cloned().ok_or(GapReason::Pending),
        }
    }
}

/// The values at each of [`OI_LAGS_MIN`] before `now`: from the 5-minute series up to 4 h,
/// from the hourly one for 24 h (the row nearest the moment, within one bar).
pub(crate) fn at_lags<T: Copy>(
    five_min: &[(DateTime<Utc>, T)],
    hourly: &[(DateTime<Utc>, T)],
    now: DateTime<Utc>,
) -> [Option<T>; 6] {
    OI_LAGS_MIN.map(|lag| {
        let at = now - chrono::Duration::minutes(lag);
        match lag {
            ..=240 => nearest(five_min, at, chrono::Duration::minutes(5)),
            _ => nearest(hourly, at, chrono::Duration::minutes(60)),
        }
    })
}

fn nearest<T: Copy>(
    rows: &[(DateTime<Utc>, T)],
    at: DateTime<Utc>,
    within: chrono::Duration,
) -> Option<T> {
    rows.iter()
        .map(|(t, v)| ((*t - at).abs(), *v))
        .filter(|(d, _)| *d <= within)
        .min_by_key(|(d, _)| *d)
        .map(|(_, v)| v)
}

pub(crate) fn long_short(
    long_pct: f64,
    short_pct: f64,
    bar_time: DateTime<Utc>,
    source: String,
) -> LongShort {
    LongShort {
        long_pct: Some(long_pct),
        short_pct: Some(short_pct),
        bar_time,
        source,
    }
}

/// A millisecond time, or why there is none.
pub(crate) fn need_time(n: &Num, what: &str) -> Result<DateTime<Utc>, GapReason> {
    n.need(what)?;
    n.time_ms()
        .ok_or_else(|| GapReason::FetchFailed(format!("{what} is not a time")))
}

/// The first characters of a frame or message, for a reason text.
pub(crate) fn short_frame(text: &str) -> String {
    text.chars().take(80).collect()
}
