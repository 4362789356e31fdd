//! Pure conversions from V4 answers (wire rows) to the model's metric groups, and how a failed
//! fetch marks a field. No I/O.

use super::super::client::ApiError;
use super::super::pairs::pair_key;
use super::super::wire::ms_to_time;
use super::super::wire::{
    exchange_key, same_exchange, FundingCoin, FundingRow, LiquidationExchangeRow, OiExchangeRow,
    PairMarket, TakerExchangeList,
};
use super::state::ExchangeOi;
use crate::model::{
    funding_to_8h, known_interval, oi_weighted_funding_8h, ExchangeFunding, Field, Funding,
    GapReason, Liquidations, Margin, OpenInterest, TakerFlow,
};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// The gap reason of a metric whose request had not finished when the cycle's deadline came.
pub(super) const TIMED_OUT: &str = "timed out at the cycle deadline";

/// Why a request of the cycle produced no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Failure {
    /// The API or the transport said no (after the client's retries).
    Api(ApiError),
    /// The cycle's deadline came first (not started, or still in flight).
    TimedOut,
}

impl Failure {
    /// The key was refused: the source cannot go on.
    pub(super) fn is_fatal(&self) -> bool {
        matches!(self, Failure::Api(e) if e.is_fatal())
    }

    /// The text a gap shows for it (never the key: the client scrubs every error).
    pub(super) fn gap_text(&self) -> String {
        match self {
            Failure::Api(e) => gap_text(e),
            Failure::TimedOut => TIMED_OUT.to_owned(),
        }
    }
}

/// A fresh value, or none in the answer.
pub(super) fn settle<T>(field: &mut Field<T>, value: Option<T>, now: DateTime<Utc>) {
    *field = match value {
        Some(v) => Field::fresh(v, now),
        None => Field::absent(GapReason::NotReported),
    };
}

/// The answer came but without the value: the last value stays (stale) with the reason, so a
/// null is never shown as a fresh hole without a why.
pub(super) fn unreported<T>(field: &mut Field<T>) {
    field.mark_failed(GapReason::NotReported);
}

/// A failed fetch: keep the last value (stale) with the reason; a plan gate empties the field.
pub(super) fn fail<T>(field: &mut Field<T>, failure: &Failure) {
    match failure {
        Failure::Api(ApiError::PlanGated { .. }) => *field = Field::absent(GapReason::NotInPlan),
        Failure::Api(ApiError::RateLimited { .. }) => field.mark_failed(GapReason::RateLimited),
        other => field.mark_failed(GapReason::FetchFailed(other.gap_text())),
    }
}

fn gap_text(err: &ApiError) -> String {
    // A transient failure's detail says it all ("cannot connect: …", "timed out: …", "HTTP 503");
    // the others need their kind ("bad request (HTTP 400)", "malformed answer (…)").
    if let ApiError::Transient { detail, .. } = err {
        return detail.clone();
    }
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

/// The `All` row's sides, in either spelling (`long_liquidation_usd` as documented, or
/// `longLiquidation_usd` as recorded from the V4 host).
pub(super) fn liquidations_of(rows: &[LiquidationExchangeRow]) -> Option<Liquidations> {
    rows.iter()
        .find(|r| is_all_row(&r.exchange))
        .map(|r| Liquidations {
            long_1h_usd: r.long_usd(),
            short_1h_usd: r.short_usd(),
            ..Default::default()
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

/// Per-exchange open interest of one coin (funding weights), keyed by [`exchange_key`]; the
/// `All` row and rows without any figure are left out.
pub(super) fn funding_weights(rows: &[OiExchangeRow]) -> HashMap<String, ExchangeOi> {
    rows.iter()
        .filter(|r| !is_all_row(&r.exchange))
        .filter_map(|r| {
            let total = r.open_interest_usd.filter(|v| *v > 0.0);
            let stable = r.open_interest_by_stable_coin_margin.filter(|v| *v >= 0.0);
            (total.is_some() || stable.is_some())
                .then(|| (exchange_key(&r.exchange), ExchangeOi { total, stable }))
        })
        .collect()
}

/// The open interest a funding row of `margin` stands for: the stablecoin-margined share for
/// stablecoin-margined rows, the rest for token-margined rows. An answer without the
/// stablecoin-margined split gives the exchange's total to both (the best figure there is).
fn weight_of(oi: &ExchangeOi, margin: Margin) -> Option<f64> {
    match (margin, oi.total, oi.stable) {
        (Margin::Stablecoin, _, Some(stable)) => Some(stable),
        (Margin::Token, Some(total), Some(stable)) => Some(total - stable).filter(|v| *v > 0.0),
        (_, total, None) => total,
        (Margin::Token, None, Some(_)) => None,
    }
}

fn funding_rows(
    list: &[FundingRow],
    margin: Margin,
    weights: &HashMap<String, ExchangeOi>,
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
                    .get(&exchange_key(&r.exchange))
                    .and_then(|oi| weight_of(oi, margin)),
            })
        })
        .collect()
}

/// Something about a funding answer the user should hear once (the key says which).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FundingNote {
    pub(super) key: String,
    pub(super) text: String,
}

/// The coin's funding, and what had to be left out of its weighted mean and why.
pub(super) fn funding_of(
    coin: &FundingCoin,
    weights: &HashMap<String, ExchangeOi>,
) -> (Option<Funding>, Vec<FundingNote>) {
    let mut rows = funding_rows(&coin.stablecoin_margin_list, Margin::Stablecoin, weights);
    rows.extend(funding_rows(coin.token_rows(), Margin::Token, weights));
    if rows.is_empty() {
        return (None, Vec::new());
    }
    let symbol = coin.symbol.trim().to_ascii_uppercase();
    let mut notes = Vec::new();
    for r in rows.iter().filter(|r| r.margin == Margin::Stablecoin) {
        if !known_interval(r.interval_hours) {
            notes.push(FundingNote {
                key: format!("funding-interval {symbol} {}", exchange_key(&r.exchange)),
                text: format!(
                    "{symbol} funding on {}: the API gave no funding interval, so its rate cannot                      be brought to 8 h; it is shown as quoted (interval \"?\") and left out of the                      OI-weighted rate",
                    r.exchange
                ),
            });
        } else if r.oi_usd.is_none() && !weights.is_empty() {
            notes.push(FundingNote {
                key: format!("funding-weight {symbol} {}", exchange_key(&r.exchange)),
                text: format!(
                    "{symbol} funding on {}: the open-interest list has no figure for this                      exchange, so it carries no weight in the OI-weighted rate",
                    r.exchange
                ),
            });
        }
    }
    // OI descending, unknown OI last.
    rows.sort_by(|a, b| {
        b.oi_usd
            .unwrap_or(f64::NEG_INFINITY)
            .total_cmp(&a.oi_usd.unwrap_or(f64::NEG_INFINITY))
    });
    let funding = Funding {
        rate_8h_pct: oi_weighted_funding_8h(&rows),
        by_exchange: rows,
    };
    (Some(funding), notes)
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
