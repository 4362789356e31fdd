//! One symbol's records from its bar series: the backtest engine's track record of every
//! signal, or why there is none.

use super::bars::days_of;
use crate::backtest::replay::{inputs_at, track_record, Setup};
use crate::backtest::HOUR_MS;
use crate::model::{Bar, SignalInputs};
use crate::signals::record::{NoRecord, SymbolRecords, MIN_DAYS};
use crate::signals::SignalId;
use std::collections::HashMap;

/// The inputs each signal reads (one of them absent and it cannot fire), by their
/// [`SignalInputs::NAMES`] names. A signal whose inputs never appear in a history has no record
/// there: "never fired" would be a claim the history cannot make.
pub fn reads(id: SignalId) -> &'static [&'static str] {
    const FUNDING: &str = "funding_8h_pct";
    const OI: &str = "oi_change_1h_pct";
    const LIQ_LONG: &str = "liq_long_1h_usd";
    const LIQ_SHORT: &str = "liq_short_1h_usd";
    const RETAIL_LONG: &str = "retail_long_pct";
    const RETAIL_SHORT: &str = "retail_short_pct";
    const TOP_LONG: &str = "top_long_pct";
    const TOP_SHORT: &str = "top_short_pct";
    const TAKER: &str = "taker_buy_pct";
    const PRICE: &str = "price_change_1h_pct";
    match id {
        SignalId::FundingExtremeLong
        | SignalId::FundingExtremeShort
        | SignalId::FundingElevated => &[FUNDING],
        SignalId::OiSurge | SignalId::OiFlush | SignalId::OiMoving => &[OI],
        SignalId::LongLiquidationCascade => &[LIQ_LONG],
        SignalId::ShortLiquidationCascade => &[LIQ_SHORT],
        SignalId::LiquidationsElevated => &[LIQ_LONG, LIQ_SHORT],
        SignalId::RetailExtremeLong => &[RETAIL_LONG],
        SignalId::RetailHeavyShort => &[RETAIL_SHORT],
        SignalId::SmartMoneyDivergence => &[TOP_LONG, RETAIL_LONG],
        SignalId::TakerBuyPressure | SignalId::TakerSellPressure => &[TAKER],
        SignalId::SetupClassicTop | SignalId::SetupDeleveraging => &[FUNDING, OI, RETAIL_LONG],
        SignalId::SetupShortSqueeze => &[FUNDING, OI, RETAIL_SHORT],
        SignalId::SetupDistribution => &[OI, RETAIL_LONG, RETAIL_SHORT, TOP_SHORT],
        SignalId::SetupAccumulation => &[OI, RETAIL_LONG, RETAIL_SHORT, TOP_LONG],
        SignalId::FlowNewLongs
        | SignalId::FlowNewShorts
        | SignalId::FlowShortCovering
        | SignalId::FlowLongCapitulation => &[OI, PRICE],
    }
}

/// Which inputs are present at some bar of `bars`, in [`SignalInputs::NAMES`] order.
fn observed(bars: &[Bar], interval_ms: i64) -> [bool; SignalInputs::NAMES.len()] {
    let mut seen = [false; SignalInputs::NAMES.len()];
    for t in 0..bars.len() {
        for (s, v) in seen
            .iter_mut()
            .zip(inputs_at(&bars[..=t], interval_ms).values())
        {
            *s |= v.is_some();
        }
        if seen.iter().all(|s| *s) {
            break;
        }
    }
    seen
}

/// The record's horizon as people say it: `24h`, `48h` (the engine's interval names would say
/// `1d`); beyond two days, or not whole hours, the engine's label.
fn horizon_label(ms: i64) -> String {
    if ms > 0 && ms % HOUR_MS == 0 && ms <= 48 * HOUR_MS {
        format!("{}h", ms / HOUR_MS)
    } else {
        crate::backtest::human_ms(ms)
    }
}

/// Every signal's record on `bars` (ascending, `setup.interval_ms` apart, gaps allowed), or why
/// there is none: fewer than [`MIN_DAYS`] days of priced bars, or inputs the bars never carry.
pub fn records_for(bars: &[Bar], interval: &str, setup: &Setup) -> SymbolRecords {
    let days = days_of(bars, setup.interval_ms);
    if days < f64::from(MIN_DAYS) {
        return SymbolRecords::None(NoRecord::ShortHistory {
            days,
            needs_days: MIN_DAYS,
        });
    }
    let seen = observed(bars, setup.interval_ms);
    let unseen = |id: SignalId| -> Vec<&'static str> {
        reads(id)
            .iter()
            .copied()
            .filter(|name| {
                SignalInputs::NAMES
                    .iter()
                    .position(|n| n == name)
                    .is_some_and(|i| !seen[i])
            })
            .collect()
    };
    let horizon = horizon_label(setup.horizon_ms());
    let mut per: HashMap<SignalId, _> = track_record(bars, setup)
        .into_iter()
        .map(|(id, mut record)| {
            record.horizon.clone_from(&horizon);
            let missing = unseen(id);
            let entry = if record.fired == 0 && !missing.is_empty() {
                Err(NoRecord::NotObservable {
                    interval: interval.to_string(),
                    inputs: missing,
                })
            } else {
                Ok(record)
            };
            (id, entry)
        })
        .collect();
    // Every id answers, even one the engine left out.
    for id in SignalId::ALL {
        per.entry(id).or_insert_with(|| {
            Err(NoRecord::Unavailable(
                "the backtest engine returned no result for it".into(),
            ))
        });
    }
    SymbolRecords::Computed(per)
}
