//! Pure conversions from V4 answers (wire rows) to the model's metric groups, and how a failed
//! fetch marks a field. No I/O.

use super::super::client::ApiError;
use super::super::wire::ms_to_time;
use super::super::wire::{
    same_exchange, FundingCoin, FundingRow, LiquidationExchangeRow, OiExchangeRow, PairMarket,
    TakerExchangeList,
};
use crate::model::{
    funding_to_8h, oi_weighted_funding_8h, ExchangeFunding, Field, Funding, GapReason,
    Liquidations, Margin, OpenInterest, TakerFlow,
};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// A fresh value, or none in the answer.
pub(super) fn settle<T>(field: &mut Field<T>, value: Option<T>, now: DateTime<Utc>) {
    *field = match value {
        Some(v) => Field::fresh(v, now),
        None => Field::absent(GapReason::NotReported),
    };
}

/// A failed fetch: keep the last value (stale) with the reason; a plan gate empties the field.
pub(super) fn fail<T>(field: &mut Field<T>, err: &ApiError) {
    match err {
        ApiError::PlanGated { .. } => *field = Field::absent(GapReason::NotInPlan),
        ApiError::RateLimited { .. } => field.mark_failed(GapReason::RateLimited),
        other => field.mark_failed(GapReason::FetchFailed(gap_text(other))),
    }
}

fn gap_text(err: &ApiError) -> String {
    let detail = match err {
        ApiError::Unauthorized { detail, .. }
        | ApiError::PlanGated { detail, .. }
        | ApiError::BadRequest { detail, .. }
        | ApiError::RateLimited { detail, .. }
        | ApiError::Transient { detail, .. }
        | ApiError::Malformed { detail, .. } => detail,
    };
    format!("{} ({detail})", err.kind())
}

pub(super) fn is_all_row(exchange: &str) -> bool {
    same_exchange(exchange, "All")
}

pub(super) fn open_interest_of(rows: &[OiExchangeRow]) -> Option<OpenInterest> {
    rows.iter()
        .find(|r| is_all_row(&r.exchange))
        .map(|r| OpenInterest {
            oi_usd: r.open_interest_usd,
            change_5m_pct: r.open_interest_change_percent_5m,
            change_15m_pct: r.open_interest_change_percent_15m,
            change_30m_pct: r.open_interest_change_percent_30m,
            change_1h_pct: r.open_interest_change_percent_1h,
            change_4h_pct: r.open_interest_change_percent_4h,
            change_24h_pct: r.open_interest_change_percent_24h,
        })
}

pub(super) fn liquidations_of(rows: &[LiquidationExchangeRow]) -> Option<Liquidations> {
    rows.iter()
        .find(|r| is_all_row(&r.exchange))
        .map(|r| Liquidations {
            long_1h_usd: r.long_liquidation_usd,
            short_1h_usd: r.short_liquidation_usd,
        })
        .filter(|l| l.long_1h_usd.is_some() || l.short_1h_usd.is_some())
}

pub(super) fn taker_of(t: &TakerExchangeList) -> Option<TakerFlow> {
    let from_volumes = match (t.buy_vol_usd, t.sell_vol_usd) {
        (Some(b), Some(s)) if b + s > 0.0 => Some(b / (b + s) * 100.0),
        _ => None,
    };
    let flow = TakerFlow {
        buy_pct: t.buy_ratio.or(from_volumes),
        buy_usd: t.buy_vol_usd,
        sell_usd: t.sell_vol_usd,
    };
    (flow != TakerFlow::default()).then_some(flow)
}

/// Strips separators and a perpetual suffix so `BTC-USDT-SWAP`, `BTC/USDT`, `BTCUSDT` compare.
pub(super) fn pair_key(id: &str) -> String {
    let up: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_uppercase();
    up.strip_suffix("SWAP")
        .or_else(|| up.strip_suffix("PERP"))
        .map(str::to_owned)
        .unwrap_or(up)
}

/// The reference exchange's reference pair, else the largest-OI row with a price.
pub(super) fn reference_pair<'a>(
    rows: &'a [PairMarket],
    exchange: &str,
    pair: &str,
) -> Option<&'a PairMarket> {
    let want = pair_key(pair);
    let matches_pair = |r: &PairMarket| {
        r.instrument_id.as_deref().map(pair_key).as_deref() == Some(want.as_str())
            || r.symbol.as_deref().map(pair_key).as_deref() == Some(want.as_str())
    };
    rows.iter()
        .filter(|r| r.current_price.is_some())
        .find(|r| same_exchange(&r.exchange_name, exchange) && matches_pair(r))
        .or_else(|| {
            rows.iter()
                .filter(|r| r.current_price.is_some())
                .max_by(|a, b| {
                    a.open_interest_usd
                        .unwrap_or(0.0)
                        .total_cmp(&b.open_interest_usd.unwrap_or(0.0))
                })
        })
}

fn funding_rows(
    list: &[FundingRow],
    margin: Margin,
    weights: &HashMap<String, f64>,
) -> Vec<ExchangeFunding> {
    list.iter()
        .filter_map(|r| {
            let rate = r.funding_rate?;
            Some(ExchangeFunding {
                exchange: r.exchange.clone(),
                margin,
                rate_pct: rate,
                interval_hours: r.funding_rate_interval,
                rate_8h_pct: funding_to_8h(rate, r.funding_rate_interval),
                next_funding_time: r.next_funding_time.and_then(ms_to_time),
                oi_usd: weights
                    .get(&r.exchange.trim().to_ascii_lowercase())
                    .copied(),
            })
        })
        .collect()
}

pub(super) fn funding_of(coin: &FundingCoin, weights: &HashMap<String, f64>) -> Option<Funding> {
    let mut rows = funding_rows(&coin.stablecoin_margin_list, Margin::Stablecoin, weights);
    rows.extend(funding_rows(coin.token_rows(), Margin::Token, weights));
    if rows.is_empty() {
        return None;
    }
    // OI descending, unknown OI last.
    rows.sort_by(|a, b| {
        b.oi_usd
            .unwrap_or(f64::NEG_INFINITY)
            .total_cmp(&a.oi_usd.unwrap_or(f64::NEG_INFINITY))
    });
    Some(Funding {
        rate_8h_pct: oi_weighted_funding_8h(&rows),
        by_exchange: rows,
    })
}

/// The first bar boundary after `now` counted from `bar_time`; when the server has not yet
/// published the bar we expected, look again after an eighth of the interval (or one poll).
pub(super) fn next_ls_due(
    bar_time: DateTime<Utc>,
    interval: chrono::Duration,
    now: DateTime<Utc>,
    advanced: bool,
    poll: chrono::Duration,
) -> DateTime<Utc> {
    let step = interval.num_milliseconds().max(60_000);
    let mut due = bar_time + chrono::Duration::milliseconds(step);
    if due <= now {
        let behind = (now - due).num_milliseconds() / step + 1;
        due += chrono::Duration::milliseconds(step.saturating_mul(behind));
    }
    if advanced {
        due
    } else {
        due.min(now + (interval / 8).max(poll))
    }
}
