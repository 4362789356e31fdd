//! OKX v5, USDT-margined linear perpetual swaps (instType SWAP), keyless.
//!
//! Per cycle, three all-instrument calls: funding (`funding-rate?instId=ANY`), open interest
//! (`open-interest?instType=SWAP`) and tickers (`market/tickers?instType=SWAP`). Per coin,
//! every 5 minutes: the OI history (5-minute and hourly bars, with USD) and, on the reference
//! venue, the retail and top-trader account ratios and the taker volume; plus, on the
//! reference venue, one 13-candle call per cycle for the 1 h change. Liquidations:
//! `liquidation-orders` on `/ws/v5/public`.

mod stream;
#[cfg(test)]
mod tests;
mod wire;

use super::bybit::{at_lags, decode_error, long_short, short_frame, SlowCache};
use super::http::{Cost, FetchError, HttpSetup, Pool, VenueHttp};
use super::num::Num;
use super::venue::{
    BoxFuture, CoinReading, FundingQuote, Instrument, Keepalive, OiReading, PriceReading, Reading,
    StreamSpec, Venue, VenueApi, VenueCycle,
};
use crate::model::{GapReason, LongShort, TakerFlow};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use stream::Watched;
use wire::{Envelope, FundingRow, InstrumentRow, OiRow, TickerRow};

/// OKX limits each endpoint separately (docs-v5, per endpoint): these are the IP-wide ones.
const INSTRUMENTS: Cost = cost("instruments");
const FUNDING: Cost = cost("funding-rate");
const OPEN_INTEREST: Cost = cost("open-interest");
const TICKERS: Cost = cost("tickers");
const CANDLES: Cost = cost("candles");
/// The trading-statistics (rubik) contract endpoints are limited per IP *and instrument*
/// (open-interest-history 10 per 2 s, the account ratios and taker volume 5 per 2 s each).
/// The per-IP pools of [`VenueHttp`] cannot express that, so they are not declared there:
/// the 5-minute cache keeps each instrument at one request per endpoint per 5 minutes (two
/// for the OI history), far below those limits. Refusals still pause the venue.
const RUBIK: Cost = cost("rubik per instrument");
/// `code` meaning "Rate limit reached" (also sent with HTTP 429).
const RATE_LIMIT_CODE: f64 = 50011.0;

const fn cost(pool: &'static str) -> Cost {
    Cost { pool, weight: 1 }
}

fn pool(cost: Cost, limit: u32) -> Pool {
    Pool {
        name: cost.pool,
        limit,
        window: Duration::from_secs(2),
    }
}

/// The keyless OKX client.
pub(crate) struct Okx {
    http: VenueHttp,
    ws_base: String,
    oi_history: SlowCache<OiHistory>,
    retail: SlowCache<LongShort>,
    top: SlowCache<LongShort>,
    taker: SlowCache<TakerFlow>,
}

/// (USD, coins) open interest at a time; USD is used directly, coins scale the current USD
/// figure where a row has no USD.
type OiPoint = (Option<f64>, Option<f64>);

#[derive(Debug, Clone, Default)]
struct OiHistory {
    five_min: Vec<(DateTime<Utc>, OiPoint)>,
    hourly: Vec<(DateTime<Utc>, OiPoint)>,
}

/// What one coin's per-instrument requests brought this cycle (`None`: not asked).
type Slow<T> = Option<Result<Reading<T>, FetchError>>;

impl Okx {
    pub(crate) fn new(rest_base: &str, ws_base: &str) -> Self {
        let http = VenueHttp::new(HttpSetup {
            venue: Venue::Okx,
            base_url: rest_base.trim_end_matches('/').to_string(),
            pools: vec![
                pool(INSTRUMENTS, 20),
                pool(FUNDING, 10),
                pool(OPEN_INTEREST, 20),
                pool(TICKERS, 20),
                pool(CANDLES, 40),
            ],
            usage_header: None,
            timeout: Duration::from_secs(10),
        });
        Okx {
            http,
            ws_base: ws_base.trim_end_matches('/').to_string(),
            oi_history: SlowCache::default(),
            retail: SlowCache::default(),
            top: SlowCache::default(),
            taker: SlowCache::default(),
        }
    }

    async fn poll_cycle(
        &mut self,
        instruments: &[Instrument],
        reference: bool,
        now: DateTime<Utc>,
    ) -> VenueCycle {
        let http = &self.http;
        let (funding, oi, tickers) = futures::future::join3(
            rows::<FundingRow>(
                http,
                "/api/v5/public/funding-rate",
                &[("instId", "ANY")],
                FUNDING,
            ),
            rows::<OiRow>(
                http,
                "/api/v5/public/open-interest",
                &[("instType", "SWAP")],
                OPEN_INTEREST,
            ),
            rows::<TickerRow>(
                http,
                "/api/v5/market/tickers",
                &[("instType", "SWAP")],
                TICKERS,
            ),
        )
        .await;
        let funding = by_inst(funding, |r| &r.inst_id);
        let oi = by_inst(oi, |r| &r.inst_id);
        let tickers = by_inst(tickers, |r| &r.inst_id);

        let jobs = instruments.iter().map(|inst| {
            let id = inst.id.as_str();
            let need_oi = self.oi_history.fresh(id, now).is_none();
            let need_retail = reference && self.retail.fresh(id, now).is_none();
            let need_top = reference && self.top.fresh(id, now).is_none();
            let need_taker = reference && self.taker.fresh(id, now).is_none();
            async move {
                let ratio = |path| async move { ratio(http, path, id).await };
                let (oi, retail, top, taker, candles) = futures::join!(
                    maybe(need_oi, || async { oi_history(http, id).await.map(Ok) }),
                    maybe(need_retail, || ratio("long-short-account-ratio-contract")),
                    maybe(need_top, || ratio(
                        "long-short-account-ratio-contract-top-trader"
                    )),
                    maybe(need_taker, || taker(http, id)),
                    maybe(reference, || change_1h(http, id)),
                );
                (oi, retail, top, taker, candles)
            }
        });
        let fetched = futures::future::join_all(jobs).await;

        let mut cycle = VenueCycle::new();
        for (inst, (oi_hist, retail, top, taker, candles)) in instruments.iter().zip(fetched) {
            let id = &inst.id;
            let oi_hist = self.oi_history.take(id, now, oi_hist);
            let (retail, top, taker) = match reference {
                true => (
                    self.retail.take(id, now, retail),
                    self.top.take(id, now, top),
                    self.taker.take(id, now, taker),
                ),
                false => (
                    Err(GapReason::Pending),
                    Err(GapReason::Pending),
                    Err(GapReason::Pending),
                ),
            };
            let ticker = lookup(&tickers, id);
            let price = ticker.and_then(|t| price(t, candles));
            let last = price.as_ref().ok().map(|p| p.price);
            cycle.insert(
                inst.coin.clone(),
                CoinReading {
                    funding: lookup(&funding, id).and_then(funding_quote),
                    open_interest: lookup(&oi, id)
                        .and_then(|o| open_interest(o, last, oi_hist, now)),
                    price,
                    retail,
                    top,
                    taker,
                },
            );
        }
        cycle
    }
}

async fn maybe<T, F, Fut>(ask: bool, f: F) -> Slow<T>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Reading<T>, FetchError>>,
{
    match ask {
        true => Some(f().await),
        false => None,
    }
}

type ByInst<T> = Result<HashMap<String, T>, GapReason>;

fn by_inst<T>(rows: Result<Vec<T>, FetchError>, id: impl Fn(&T) -> &String) -> ByInst<T> {
    rows.map(|rows| rows.into_iter().map(|r| (id(&r).clone(), r)).collect())
        .map_err(|e| e.gap())
}

fn lookup<'a, T>(all: &'a ByInst<T>, id: &str) -> Result<&'a T, GapReason> {
    match all {
        Ok(map) => map.get(id).ok_or(GapReason::NotReported),
        Err(reason) => Err(reason.clone()),
    }
}

fn funding_quote(f: &FundingRow) -> Reading<FundingQuote> {
    let id = &f.inst_id;
    let rate = f.funding_rate.need(&format!("OKX {id} fundingRate"))?;
    // OKX: "focus on the difference between fundingTime and nextFundingTime to determine the
    // funding fee interval" (1, 2, 4, 6 or 8 h).
    let interval_hours = match (f.funding_time.get(), f.next_funding_time.get()) {
        (Some(t), Some(next)) if next > t => Some((next - t) / 3_600_000.0),
        _ => None,
    };
    Ok(FundingQuote {
        rate_pct: rate * 100.0,
        interval_hours,
        next_funding_time: f.funding_time.time_ms(),
    })
}

fn open_interest(
    o: &OiRow,
    last_price: Option<f64>,
    history: Reading<OiHistory>,
    now: DateTime<Utc>,
) -> Reading<OiReading> {
    let id = &o.inst_id;
    let usd = match (&o.oi_usd, last_price) {
        (Num::Absent, Some(price)) => o.oi_ccy.need(&format!("OKX {id} oiCcy"))? * price,
        (usd, _) => usd.need(&format!("OKX {id} oiUsd"))?,
    };
    let past_usd = match history {
        Ok(h) => {
            let latest_coins = h
                .five_min
                .iter()
                .max_by_key(|(at, _)| *at)
                .and_then(|(_, (_, coins))| *coins);
            at_lags(&h.five_min, &h.hourly, now).map(|point| match (point, latest_coins) {
                (Some((Some(past_usd), _)), _) => Some(past_usd),
                // No USD in the row: the current USD scaled by past / current coins.
                (Some((None, Some(coins))), Some(latest)) if latest > 0.0 => {
                    Some(usd * coins / latest)
                }
                _ => None,
            })
        }
        Err(_) => [None; 6],
    };
    Ok(OiReading { usd, past_usd })
}

fn price(t: &TickerRow, change_1h: Slow<f64>) -> Reading<PriceReading> {
    let id = &t.inst_id;
    let last = t.last.need(&format!("OKX {id} last"))?;
    let change_24h_pct = t
        .open_24h
        .get()
        .filter(|o| *o > 0.0)
        .map(|o| (last / o - 1.0) * 100.0);
    Ok(PriceReading {
        price: last,
        change_1h_pct: change_1h.and_then(|c| c.ok()?.ok()),
        change_24h_pct,
    })
}

/// Rows of arrays of strings (rubik, candles), newest first whatever order they came in.
async fn cells(
    http: &VenueHttp,
    path: &str,
    query: &[(&str, &str)],
    cost: Cost,
) -> Result<Vec<Vec<Num>>, FetchError> {
    let mut rows: Vec<Vec<Num>> = rows(http, path, query, cost).await?;
    rows.sort_by(|a, b| {
        let ts = |r: &Vec<Num>| r.first().and_then(Num::get).unwrap_or(f64::MIN);
        ts(b).total_cmp(&ts(a))
    });
    Ok(rows)
}

fn cell(row: &[Num], i: usize, what: &str) -> Result<f64, GapReason> {
    row.get(i).unwrap_or(&Num::Absent).need(what)
}

async fn oi_history(http: &VenueHttp, id: &str) -> Result<OiHistory, FetchError> {
    let path = "/api/v5/rubik/stat/contracts/open-interest-history";
    let query = |period, limit| [("instId", id), ("period", period), ("limit", limit)];
    let (five, hourly) = futures::future::join(
        // 49 five-minute bars reach the 4 h look-back; the hourly series the 24 h one.
        cells(http, path, &query("5m", "49"), RUBIK),
        cells(http, path, &query("1H", "25"), RUBIK),
    )
    .await;
    // Rows are [ts, oi (contracts), oiCcy (coins), oiUsd].
    let series = |rows: Vec<Vec<Num>>| {
        rows.iter()
            .filter_map(|r| {
                let at = r.first()?.time_ms()?;
                Some((
                    at,
                    (r.get(3).and_then(Num::get), r.get(2).and_then(Num::get)),
                ))
            })
            .collect()
    };
    Ok(OiHistory {
        five_min: series(five?),
        hourly: hourly.map(series).unwrap_or_default(),
    })
}

/// An account long/short ratio endpoint: rows `[ts, ratio]`, ratio = long / short accounts.
async fn ratio(
    http: &VenueHttp,
    endpoint: &str,
    id: &str,
) -> Result<Reading<LongShort>, FetchError> {
    let path = format!("/api/v5/rubik/stat/contracts/{endpoint}");
    let query = [("instId", id), ("period", "5m"), ("limit", "1")];
    let rows = cells(http, &path, &query, RUBIK).await?;
    let Some(row) = rows.first() else {
        return Ok(Err(GapReason::NotReported));
    };
    let parse = || -> Reading<LongShort> {
        let r = cell(row, 1, &format!("OKX {id} {endpoint} ratio"))?;
        let bar_time = row
            .first()
            .and_then(Num::time_ms)
            .ok_or_else(|| GapReason::FetchFailed(format!("OKX {id} {endpoint} ts")))?;
        if r < 0.0 {
            return Err(GapReason::FetchFailed(format!(
                "OKX {id} {endpoint} ratio {r}"
            )));
        }
        let long = r / (1.0 + r) * 100.0;
        Ok(long_short(
            long,
            100.0 - long,
            bar_time,
            format!("OKX {id} 5m"),
        ))
    };
    Ok(parse())
}

/// The last hour of taker volume: twelve 5-minute rows `[ts, sellVol, buyVol]` (SELL first),
/// in USD (`unit=2`).
async fn taker(http: &VenueHttp, id: &str) -> Result<Reading<TakerFlow>, FetchError> {
    let query = [
        ("instId", id),
        ("period", "5m"),
        ("unit", "2"),
        ("limit", "12"),
    ];
    let rows = cells(
        http,
        "/api/v5/rubik/stat/taker-volume-contract",
        &query,
        RUBIK,
    )
    .await?;
    if rows.is_empty() {
        return Ok(Err(GapReason::NotReported));
    }
    let sum = |i: usize, name: &str| -> Result<f64, GapReason> {
        rows.iter()
            .take(12)
            .map(|r| cell(r, i, &format!("OKX {id} taker {name}")))
            .sum()
    };
    let flow = || -> Reading<TakerFlow> {
        let (sell, buy) = (sum(1, "sellVol")?, sum(2, "buyVol")?);
        Ok(TakerFlow {
            buy_pct: (buy + sell > 0.0).then(|| buy / (buy + sell) * 100.0),
            buy_usd: Some(buy),
            sell_usd: Some(sell),
        })
    };
    Ok(flow())
}

/// The 1 h change from thirteen 5-minute candles `[ts, o, h, l, c, …]`: the newest close
/// against the open of the candle twelve bars earlier (60–65 minutes ago).
async fn change_1h(http: &VenueHttp, id: &str) -> Result<Reading<f64>, FetchError> {
    let query = [("instId", id), ("bar", "5m"), ("limit", "13")];
    let rows = cells(http, "/api/v5/market/candles", &query, CANDLES).await?;
    let (Some(newest), Some(hour_ago)) = (rows.first(), rows.get(12)) else {
        return Ok(Err(GapReason::NotReported));
    };
    let change = || -> Reading<f64> {
        let close = cell(newest, 4, &format!("OKX {id} candle close"))?;
        let open = cell(hour_ago, 1, &format!("OKX {id} candle open"))?;
        Ok((close / open - 1.0) * 100.0)
    };
    Ok(change().and_then(|c| match c.is_finite() {
        true => Ok(c),
        false => Err(GapReason::FetchFailed(format!("OKX {id} candle open is 0"))),
    }))
}

/// GETs an OKX endpoint and unwraps the envelope: `code` "0" → `data` rows; 50011 pauses the
/// venue; any other code is an API error with `msg`.
async fn rows<T: DeserializeOwned>(
    http: &VenueHttp,
    path: &str,
    query: &[(&str, &str)],
    cost: Cost,
) -> Result<Vec<T>, FetchError> {
    let query: Vec<(&str, String)> = query.iter().map(|(k, v)| (*k, v.to_string())).collect();
    let env: Envelope = http.get(path, &query, cost).await?;
    match env.code.get() {
        Some(0.0) => {}
        Some(c) if c == RATE_LIMIT_CODE => return Err(http.rate_limited_by_envelope(None)),
        Some(c) => {
            let msg = match &env.msg {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            return Err(FetchError::Api {
                venue: Venue::Okx,
                message: format!("{path}: {} (code {c})", short_frame(&msg)),
            });
        }
        None => return Err(decode_error(Venue::Okx, path, "no code".into())),
    }
    serde_json::from_value(env.data).map_err(|e| decode_error(Venue::Okx, path, e.to_string()))
}

/// The watched coins among the live USDT-margined linear swaps (`BTC-USDT-SWAP`). OKX names
/// no multiplier instruments: sizes are contracts of `ctVal` coins.
fn match_coins(rows: &[InstrumentRow], coins: &[String]) -> Vec<Instrument> {
    coins
        .iter()
        .filter_map(|coin| {
            let row = rows.iter().find(|r| {
                let base = [&r.inst_family, &r.uly, &r.inst_id]
                    .into_iter()
                    .find(|s| !s.is_empty())
                    .and_then(|s| s.split('-').next())
                    .unwrap_or("");
                r.settle_ccy == "USDT"
                    && r.ct_type == "linear"
                    && r.state == "live"
                    && r.inst_id.ends_with("-USDT-SWAP")
                    && base.eq_ignore_ascii_case(coin)
            })?;
            let Some(ct_val) = row.ct_val.get().filter(|v| *v > 0.0) else {
                tracing::warn!(inst = %row.inst_id, "OKX instrument without a usable ctVal: skipped");
                return None;
            };
            Some(Instrument {
                coin: coin.clone(),
                id: row.inst_id.clone(),
                price_multiplier: 1.0,
                contract_size: ct_val * row.ct_mult.get().filter(|m| *m > 0.0).unwrap_or(1.0),
            })
        })
        .collect()
}

impl VenueApi for Okx {
    fn venue(&self) -> Venue {
        Venue::Okx
    }

    fn http(&self) -> &VenueHttp {
        &self.http
    }

    fn instruments<'a>(
        &'a mut self,
        coins: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<Instrument>, FetchError>> {
        Box::pin(async move {
            let all: Vec<InstrumentRow> = rows(
                &self.http,
                "/api/v5/public/instruments",
                &[("instType", "SWAP")],
                INSTRUMENTS,
            )
            .await?;
            Ok(match_coins(&all, coins))
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
        let watched: HashMap<String, Watched> = instruments
            .iter()
            .map(|i| {
                let w = Watched {
                    coin: i.coin.clone(),
                    contract_size: i.contract_size,
                };
                (i.id.clone(), w)
            })
            .collect();
        let subscribe = serde_json::json!({
            "op": "subscribe",
            "args": [{"channel": "liquidation-orders", "instType": "SWAP"}],
        });
        StreamSpec {
            venue: Venue::Okx,
            url: format!("{}/ws/v5/public", self.ws_base),
            subscribe: vec![subscribe.to_string()],
            // The server closes a connection after 30 s without data.
            keepalive: Keepalive::SendText {
                text: "ping".into(),
                every: Duration::from_secs(20),
            },
            max_age: None,
            parse: Arc::new(move |frame| stream::parse_frame(frame, &watched)),
        }
    }
}
