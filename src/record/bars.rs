//! Bars from stored live cycles, and the one series a record is computed on.
//!
//! The history store keeps every live cycle (`history_snapshots`, one row per poll and symbol).
//! Grouped by bar period (epoch-aligned, as CoinGlass bars are), a period's rows make one bar:
//!
//! | bar value | from the period's rows |
//! |---|---|
//! | open / high / low / close | first / highest / lowest / last price seen (polls sample the price, so high and low are at most the true range) |
//! | `oi_usd`, `funding_8h_pct`, `retail_long_pct`, `top_long_pct`, `taker_buy_pct` | the last known value |
//! | `liq_long_usd` / `liq_short_usd` | per hour, the rolling 1 h sum as last seen in that hour; a bar longer than 1 h adds its hours, and is unknown unless every hour was seen |
//!
//! "Last known" is the last non-empty value of the period: a cycle that could not read a metric
//! does not blank the bar. A period with no rows is no bar (gaps stay gaps), and the period still
//! running is not a bar yet. Only live rows are read: demo cycles are stored too (tagged `demo`)
//! but are simulated and never mix into real history.

use crate::backtest::HOUR_MS;
use crate::model::Bar;
use crate::store::StoredSnapshot;
use std::collections::BTreeMap;

/// Keeps the later of two maybe-known values.
fn later(old: Option<f64>, new: Option<f64>) -> Option<f64> {
    new.filter(|v| v.is_finite()).or(old)
}

/// The last rolling-1h liquidations (long, short) seen in one hour.
type HourLiq = (Option<f64>, Option<f64>);

/// One bar period being assembled.
#[derive(Debug, Default)]
struct Period {
    bar: Bar,
    /// Per hour of the period (index from its start).
    liq: BTreeMap<i64, HourLiq>,
}

/// Live bars of `interval_ms` (a whole number of hours) from `rows` (one symbol, live rows, any
/// order): only periods that ended by `now_ms`, oldest first.
pub fn bars_from_cycles(rows: &[StoredSnapshot], interval_ms: i64, now_ms: i64) -> Vec<Bar> {
    let iv = interval_ms.max(HOUR_MS);
    let mut sorted: Vec<&StoredSnapshot> = rows.iter().collect();
    sorted.sort_by_key(|r| r.time.timestamp_millis());
    let mut periods: BTreeMap<i64, Period> = BTreeMap::new();
    for r in sorted {
        let t = r.time.timestamp_millis();
        let start = t - t.rem_euclid(iv);
        let p = periods.entry(start).or_insert_with(|| Period {
            bar: Bar::at(start),
            liq: BTreeMap::new(),
        });
        let b = &mut p.bar;
        if let Some(price) = r.price.filter(|v| v.is_finite() && *v > 0.0) {
            b.open = b.open.or(Some(price));
            b.high = Some(b.high.map_or(price, |h| h.max(price)));
            b.low = Some(b.low.map_or(price, |l| l.min(price)));
            b.close = Some(price);
        }
        let i = &r.inputs;
        b.oi_usd = later(b.oi_usd, r.oi_usd);
        b.funding_8h_pct = later(b.funding_8h_pct, i.funding_8h_pct);
        b.retail_long_pct = later(b.retail_long_pct, i.retail_long_pct);
        b.top_long_pct = later(b.top_long_pct, i.top_long_pct);
        b.taker_buy_pct = later(b.taker_buy_pct, i.taker_buy_pct);
        let hour = (t - start) / HOUR_MS;
        let seen = p.liq.entry(hour).or_default();
        *seen = (
            later(seen.0, i.liq_long_1h_usd),
            later(seen.1, i.liq_short_1h_usd),
        );
    }
    let hours = iv / HOUR_MS;
    periods
        .into_iter()
        .filter(|(start, _)| start + iv <= now_ms)
        .map(|(_, p)| {
            let mut bar = p.bar;
            let sum = |side: fn(&HourLiq) -> Option<f64>| {
                if i64::try_from(p.liq.len()).ok() != Some(hours) {
                    return None;
                }
                p.liq.values().map(side).sum::<Option<f64>>()
            };
            bar.liq_long_usd = sum(|l| l.0);
            bar.liq_short_usd = sum(|l| l.1);
            bar
        })
        .collect()
}

/// One series from downloaded bars and live-derived bars of the same interval: a downloaded
/// bar where there is one, the live one where not. Ascending, one bar per period.
pub fn merge(downloaded: Vec<Bar>, live: Vec<Bar>) -> Vec<Bar> {
    let mut by_time: BTreeMap<i64, Bar> = live.into_iter().map(|b| (b.time_ms, b)).collect();
    for b in downloaded {
        by_time.insert(b.time_ms, b);
    }
    by_time.into_values().collect()
}

/// Days of history in `bars`: bars with a price (the only ones a move can be measured on)
/// times the interval.
pub fn days_of(bars: &[Bar], interval_ms: i64) -> f64 {
    let priced = bars.iter().filter(|b| b.close.is_some()).count();
    priced as f64 * interval_ms as f64 / crate::backtest::DAY_MS as f64
}
