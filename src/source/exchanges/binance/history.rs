//! History bars from Binance for `backtest --source exchanges`: OHLC and taker share from
//! klines (years), funding from the funding-rate history (years), and for the last 30 days only
//! open interest and the account long/short splits from `/futures/data/*`.
//!
//! The `/futures/data/*` rows are snapshots taken at their timestamp; a row is given to the bar
//! it closes (a bar describes itself as it stood at its end).

use super::super::http::{Cost, FetchError, VenueHttp};
use super::super::num::Num;
use super::super::venue::Instrument;
use super::wire::{AccountRatioRow, FundingRateRow, Kline, OiHistRow};
use super::{
    klines_cost, DATA_COST, FUNDING_COST, FUNDING_RATE, GLOBAL_ACCOUNTS, HOUR_MS, KLINES, OI_HIST,
    TOP_ACCOUNTS,
};
use crate::model::{funding_to_8h, Bar};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Klines per call: 1000 weighs 5, 1500 weighs 10, so 1000 is the cheaper page per bar.
const KLINES_PAGE: u32 = 1000;
const FUNDING_PAGE: u32 = 1000;
const STATS_PAGE: i64 = 500;
const DAY_MS: i64 = 24 * HOUR_MS;
/// How far `/futures/data/*` reaches back (with an hour's margin so the first page is not
/// refused as too old).
const STATS_REACH_MS: i64 = 30 * DAY_MS - HOUR_MS;
/// Funding settled before the first bar, so the first bars have a rate.
const FUNDING_LOOKBACK_MS: i64 = DAY_MS;
/// Our own budget refusing a page (nothing is sent) is waited out in these steps, up to
/// [`BUDGET_PATIENCE`]; bans are not waited for.
const BUDGET_STEP: Duration = Duration::from_secs(1);
const BUDGET_PATIENCE: Duration = Duration::from_secs(180);

const KLINE_INTERVALS: [(&str, i64); 14] = [
    ("1m", 60_000),
    ("3m", 3 * 60_000),
    ("5m", 5 * 60_000),
    ("15m", 15 * 60_000),
    ("30m", 30 * 60_000),
    ("1h", HOUR_MS),
    ("2h", 2 * HOUR_MS),
    ("4h", 4 * HOUR_MS),
    ("6h", 6 * HOUR_MS),
    ("8h", 8 * HOUR_MS),
    ("12h", 12 * HOUR_MS),
    ("1d", DAY_MS),
    ("3d", 3 * DAY_MS),
    ("1w", 7 * DAY_MS),
];
/// The periods `/futures/data/*` accepts.
const STATS_PERIODS: [&str; 9] = ["5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d"];

/// Bars of `inst` with `time_ms` in `[start_ms, end_ms)` on an `interval_ms` grid, and notes on
/// what could not be covered. Prices are per coin. `Err` when the klines or the funding
/// history could not be fetched; the 30-day series only add notes when they fail.
pub(crate) async fn history_bars(
    http: &VenueHttp,
    inst: &Instrument,
    interval_ms: i64,
    start_ms: i64,
    end_ms: i64,
) -> Result<(Vec<Bar>, Vec<String>), FetchError> {
    let Some(name) = KLINE_INTERVALS
        .iter()
        .find(|(_, ms)| *ms == interval_ms)
        .map(|(n, _)| *n)
    else {
        let choices: Vec<&str> = KLINE_INTERVALS.iter().map(|(n, _)| *n).collect();
        return Err(FetchError::Api {
            venue: http.venue(),
            message: format!(
                "no klines every {interval_ms} ms; Binance offers {}",
                choices.join(", ")
            ),
        });
    };
    let mut bars = klines(http, inst, name, interval_ms, start_ms, end_ms).await?;
    let rates = funding_8h(http, &inst.id, start_ms - FUNDING_LOOKBACK_MS, end_ms).await?;
    fill_funding(&mut bars, &rates, interval_ms);
    let mut notes = Vec::new();
    let now_ms = chrono::Utc::now().timestamp_millis();
    stats(
        http,
        inst,
        name,
        interval_ms,
        start_ms,
        end_ms,
        now_ms,
        &mut bars,
        &mut notes,
    )
    .await;
    notes.push(
        "liquidations: Binance publishes no liquidation history; those bars have none".into(),
    );
    Ok((bars, notes))
}

async fn klines(
    http: &VenueHttp,
    inst: &Instrument,
    name: &str,
    interval_ms: i64,
    start_ms: i64,
    end_ms: i64,
) -> Result<Vec<Bar>, FetchError> {
    let per_coin = |n: &Num| n.get().map(|p| p / inst.price_multiplier);
    let mut bars: Vec<Bar> = Vec::new();
    let mut cursor = start_ms;
    while cursor < end_ms {
        let query = vec![
            ("symbol", inst.id.clone()),
            ("interval", name.to_string()),
            ("startTime", cursor.to_string()),
            ("endTime", (end_ms - 1).to_string()),
            ("limit", KLINES_PAGE.to_string()),
        ];
        let rows: Vec<Kline> = patiently(http, KLINES, query, klines_cost(KLINES_PAGE)).await?;
        let mut last_open = None;
        for k in &rows {
            let Some(t) = k.open_time.get().map(|t| t as i64) else {
                continue;
            };
            last_open = last_open.max(Some(t));
            if t < start_ms || t >= end_ms || bars.last().is_some_and(|b| b.time_ms >= t) {
                continue;
            }
            let taker_buy_pct = match (k.taker_buy_base.get(), k.volume.get()) {
                (Some(buy), Some(vol)) if vol > 0.0 => Some(buy / vol * 100.0),
                _ => None,
            };
            bars.push(Bar {
                open: per_coin(&k.open),
                high: per_coin(&k.high),
                low: per_coin(&k.low),
                close: per_coin(&k.close),
                taker_buy_pct,
                ..Bar::at(t)
            });
        }
        match last_open {
            Some(t) if rows.len() >= KLINES_PAGE as usize && t >= cursor => {
                cursor = t + interval_ms;
            }
            _ => break,
        }
    }
    Ok(bars)
}

/// Settled funding as (time, percent normalised to 8 h), ascending. Each rate's interval is
/// the time since the settlement before it (the first takes the one after it); a missed
/// settlement would read as a longer interval.
async fn funding_8h(
    http: &VenueHttp,
    id: &str,
    from_ms: i64,
    end_ms: i64,
) -> Result<Vec<(i64, f64)>, FetchError> {
    let mut raw: Vec<(i64, f64)> = Vec::new();
    let mut cursor = from_ms;
    loop {
        let query = vec![
            ("symbol", id.to_string()),
            ("startTime", cursor.to_string()),
            ("endTime", (end_ms - 1).to_string()),
            ("limit", FUNDING_PAGE.to_string()),
        ];
        let page: Vec<FundingRateRow> = patiently(http, FUNDING_RATE, query, FUNDING_COST).await?;
        let mut last = None;
        for r in &page {
            if let (Some(t), Some(rate)) = (r.funding_time.get(), r.funding_rate.get()) {
                raw.push((t as i64, rate * 100.0));
                last = last.max(Some(t as i64));
            }
        }
        match last {
            Some(t) if page.len() >= FUNDING_PAGE as usize && t >= cursor => cursor = t + 1,
            _ => break,
        }
    }
    raw.sort_by_key(|r| r.0);
    raw.dedup_by_key(|r| r.0);
    let hours =
        |a: i64, b: i64| Some(((b - a) as f64 / HOUR_MS as f64).round()).filter(|h| *h >= 1.0);
    Ok((0..raw.len())
        .filter_map(|i| {
            let interval = match i {
                0 => raw.get(1).and_then(|next| hours(raw[0].0, next.0)),
                _ => hours(raw[i - 1].0, raw[i].0),
            };
            // A lone rate has no interval to normalise with: left out, never assumed 8 h.
            interval.map(|h| (raw[i].0, funding_to_8h(raw[i].1, Some(h))))
        })
        .collect())
}

/// Each bar takes the latest rate settled by its end.
fn fill_funding(bars: &mut [Bar], rates: &[(i64, f64)], interval_ms: i64) {
    let mut next = 0;
    let mut current = None;
    for bar in bars {
        while next < rates.len() && rates[next].0 < bar.time_ms + interval_ms {
            current = Some(rates[next].1);
            next += 1;
        }
        bar.funding_8h_pct = current;
    }
}

/// OI and the account splits for the part of the window inside Binance's 30 days.
#[allow(clippy::too_many_arguments)]
async fn stats(
    http: &VenueHttp,
    inst: &Instrument,
    name: &str,
    interval_ms: i64,
    start_ms: i64,
    end_ms: i64,
    now_ms: i64,
    bars: &mut [Bar],
    notes: &mut Vec<String>,
) {
    if !STATS_PERIODS.contains(&name) {
        notes.push(format!(
            "OI, long/short: Binance keeps them for {} bars only; {name} bars have none",
            STATS_PERIODS.join(", ")
        ));
        return;
    }
    let from = start_ms.max(now_ms - STATS_REACH_MS);
    if from > start_ms {
        notes.push("OI, long/short: Binance keeps 30 days; earlier bars have none".into());
    }
    if from >= end_ms {
        return;
    }
    let window = (from, end_ms);
    match stats_rows::<OiHistRow>(http, OI_HIST, &inst.id, name, interval_ms, window).await {
        Ok(rows) => place(
            bars,
            interval_ms,
            &rows,
            |r| &r.timestamp,
            |b, r| {
                b.oi_usd = r.sum_open_interest_value.get();
            },
        ),
        Err(e) => notes.push(format!("OI history: {e}; those bars have none")),
    }
    for (path, label, set) in [
        (
            GLOBAL_ACCOUNTS,
            "retail long/short",
            (|b: &mut Bar, v| b.retail_long_pct = v) as fn(&mut Bar, Option<f64>),
        ),
        (TOP_ACCOUNTS, "top-trader long/short", |b, v| {
            b.top_long_pct = v
        }),
    ] {
        match stats_rows::<AccountRatioRow>(http, path, &inst.id, name, interval_ms, window).await {
            Ok(rows) => place(
                bars,
                interval_ms,
                &rows,
                |r| &r.timestamp,
                |b, r| {
                    set(b, r.long_account.get().map(|f| f * 100.0));
                },
            ),
            Err(e) => notes.push(format!("{label} history: {e}; those bars have none")),
        }
    }
}

/// One `/futures/data/*` series over `[from, to)`, in windows of at most 500 periods (so every
/// row of a window fits one answer whichever end the server counts from).
async fn stats_rows<R: DeserializeOwned>(
    http: &VenueHttp,
    path: &str,
    id: &str,
    period: &str,
    interval_ms: i64,
    (from, to): (i64, i64),
) -> Result<Vec<R>, FetchError> {
    let mut rows = Vec::new();
    let mut cursor = from;
    while cursor < to {
        let window_end = (cursor + STATS_PAGE * interval_ms).min(to);
        let query = vec![
            ("symbol", id.to_string()),
            ("period", period.to_string()),
            ("startTime", cursor.to_string()),
            ("endTime", (window_end - 1).to_string()),
            ("limit", STATS_PAGE.to_string()),
        ];
        let mut page: Vec<R> = patiently(http, path, query, DATA_COST).await?;
        rows.append(&mut page);
        cursor = window_end;
    }
    Ok(rows)
}

/// Gives each snapshot row to the bar it closes (`time_ms < t <= time_ms + interval`).
fn place<R>(
    bars: &mut [Bar],
    interval_ms: i64,
    rows: &[R],
    ts: fn(&R) -> &Num,
    set: impl Fn(&mut Bar, &R),
) {
    for r in rows {
        let Some(t) = ts(r).get().map(|t| t as i64) else {
            continue;
        };
        let before = bars.partition_point(|b| b.time_ms < t);
        if let Some(bar) = before.checked_sub(1).and_then(|i| bars.get_mut(i)) {
            if t <= bar.time_ms + interval_ms {
                set(bar, r);
            }
        }
    }
}

/// A GET that waits while our own budget (or a 429's pause) refuses it; nothing is sent while
/// refused, so the wait cannot deepen a ban. Other errors return at once.
async fn patiently<T: DeserializeOwned>(
    http: &VenueHttp,
    path: &str,
    query: Vec<(&'static str, String)>,
    cost: Cost,
) -> Result<T, FetchError> {
    let mut waited = Duration::ZERO;
    loop {
        match http.get(path, &query, cost).await {
            Err(FetchError::RateLimited { .. }) if waited < BUDGET_PATIENCE => {
                tokio::time::sleep(BUDGET_STEP).await;
                waited += BUDGET_STEP;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests;
