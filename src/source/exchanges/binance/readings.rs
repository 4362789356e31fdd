//! One coin's readings from one cycle's answers: each metric from the answers it needs, with
//! the reason when one is missing or garbage (never a zero in its place).

use super::super::http::FetchError;
use super::super::num::Num;
use super::super::venue::{
    FundingQuote, Instrument, OiReading, PriceReading, Reading, OI_LAGS_MIN,
};
use super::wire::{
    AccountRatioRow, Kline, OiHistRow, OpenInterest, PremiumIndex, TakerRow, Ticker24h,
};
use super::{HOUR_MS, LAG_TOLERANCE_MS, MIN_MS};
use crate::model::{GapReason, LongShort, TakerFlow};
use chrono::{DateTime, Utc};

/// `Binance BTCUSDT lastFundingRate`: names the field in a garbage reason.
pub(super) fn field(id: &str, name: &str) -> String {
    format!("Binance {id} {name}")
}

pub(super) fn funding(
    row: &PremiumIndex,
    id: &str,
    interval: Option<f64>,
) -> Reading<FundingQuote> {
    let rate = row.last_funding_rate.need(&field(id, "lastFundingRate"))?;
    Ok(FundingQuote {
        rate_pct: rate * 100.0,
        interval_hours: interval,
        next_funding_time: row
            .next_funding_time
            .time_ms()
            .filter(|t| t.timestamp_millis() > 0),
    })
}

pub(super) fn price(
    t: &Ticker24h,
    inst: &Instrument,
    klines: Option<Result<Vec<Kline>, FetchError>>,
) -> Reading<PriceReading> {
    let quoted = t.last_price.need(&field(&inst.id, "lastPrice"))?;
    Ok(PriceReading {
        price: quoted / inst.price_multiplier,
        change_1h_pct: klines.and_then(Result::ok).and_then(|k| change_1h(&k)),
        change_24h_pct: t.price_change_percent.get(),
    })
}

/// Close of the latest 5-minute kline against the close of the one opened an hour before it.
pub(super) fn change_1h(rows: &[Kline]) -> Option<f64> {
    let point = |k: &Kline| Some((k.open_time.get()? as i64, k.close.get()?));
    let (last_open, now) = rows.iter().filter_map(point).max_by_key(|p| p.0)?;
    let (_, then) = rows
        .iter()
        .filter_map(point)
        .find(|p| p.0 == last_open - HOUR_MS)?;
    (then > 0.0).then(|| (now - then) / then * 100.0)
}

pub(super) fn open_interest(
    oi: Result<OpenInterest, FetchError>,
    mark: &Reading<f64>,
    history: &Reading<Vec<OiHistRow>>,
    id: &str,
    now: DateTime<Utc>,
) -> Reading<OiReading> {
    let contracts = oi
        .map_err(|e| e.gap())?
        .open_interest
        .need(&field(id, "openInterest"))?;
    let usd = contracts * mark.clone()?;
    let past_usd = match history {
        Ok(rows) => past_oi(rows, now),
        Err(_) => [None; 6],
    };
    Ok(OiReading { usd, past_usd })
}

/// `sumOpenInterestValue` (USD) at each of [`OI_LAGS_MIN`] before `now`: the latest bar at or
/// before that moment, if it is close enough to stand for it.
pub(super) fn past_oi(rows: &[OiHistRow], now: DateTime<Utc>) -> [Option<f64>; 6] {
    let mut points: Vec<(i64, f64)> = rows
        .iter()
        .filter_map(|r| Some((r.timestamp.get()? as i64, r.sum_open_interest_value.get()?)))
        .collect();
    points.sort_by_key(|p| p.0);
    let now_ms = now.timestamp_millis();
    OI_LAGS_MIN.map(|lag| {
        let target = now_ms - lag * MIN_MS;
        points
            .iter()
            .rev()
            .find(|(t, _)| *t <= target)
            .filter(|(t, _)| target - t <= LAG_TOLERANCE_MS)
            .map(|(_, usd)| *usd)
    })
}

/// The row with the latest readable timestamp (or why there is none).
pub(super) fn latest<'r, R>(
    rows: &'r [R],
    ts: fn(&R) -> &Num,
    what: &str,
) -> Reading<(&'r R, i64)> {
    let best = rows
        .iter()
        .filter_map(|r| Some((r, ts(r).get()? as i64)))
        .max_by_key(|(_, t)| *t);
    match (best, rows.first()) {
        (Some(found), _) => Ok(found),
        (None, Some(first)) => Err(ts(first).need(what).err().unwrap_or(GapReason::NotReported)),
        (None, None) => Err(GapReason::NotReported),
    }
}

/// The latest 5-minute account split (`longAccount` / `shortAccount` are fractions).
pub(super) fn long_short(rows: &[AccountRatioRow], id: &str, endpoint: &str) -> Reading<LongShort> {
    let (row, ts) = latest(rows, |r| &r.timestamp, &field(id, "timestamp"))?;
    let long = row.long_account.need(&field(id, "longAccount"))? * 100.0;
    let short = match &row.short_account {
        Num::Absent => 100.0 - long,
        other => other.need(&field(id, "shortAccount"))? * 100.0,
    };
    let bar_time = DateTime::from_timestamp_millis(ts).ok_or_else(|| {
        GapReason::FetchFailed(format!("{endpoint} {id}: timestamp {ts} out of range"))
    })?;
    Ok(LongShort {
        long_pct: Some(long),
        short_pct: Some(short),
        bar_time,
        source: format!("Binance {id} 5m"),
    })
}

/// Taker buy/sell over the last twelve 5-minute bars; volumes are in the contract's unit, so
/// USD uses the quoted (not per-coin) price.
pub(super) fn taker_flow(
    rows: &[TakerRow],
    id: &str,
    quoted_price: Option<f64>,
) -> Reading<TakerFlow> {
    let (_, last) = latest(rows, |r| &r.timestamp, &field(id, "timestamp"))?;
    let (mut buy, mut sell) = (0.0, 0.0);
    for r in rows {
        if r.timestamp
            .get()
            .is_some_and(|t| last - (t as i64) >= HOUR_MS)
        {
            continue;
        }
        buy += r.buy_vol.need(&field(id, "buyVol"))?;
        sell += r.sell_vol.need(&field(id, "sellVol"))?;
    }
    let total = buy + sell;
    Ok(TakerFlow {
        buy_pct: (total > 0.0).then(|| buy / total * 100.0),
        buy_usd: quoted_price.map(|p| buy * p),
        sell_usd: quoted_price.map(|p| sell * p),
    })
}
