//! The signal engine: pure functions of a symbol's [`SignalInputs`] and its [`Thresholds`].
//! No I/O, no clock. Rules and ids are documented in `docs/signals.md`.

pub mod record;
pub mod relative;
mod rules;
mod setups;
mod text;

use crate::model::{Bias, Level, SignalInputs};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Stable signal ids (cooldown key, JSON output, store). Never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalId {
    FundingExtremeLong,
    FundingExtremeShort,
    FundingElevated,
    OiSurge,
    OiFlush,
    OiMoving,
    LongLiquidationCascade,
    ShortLiquidationCascade,
    LiquidationsElevated,
    RetailExtremeLong,
    RetailHeavyShort,
    SmartMoneyDivergence,
    TakerBuyPressure,
    TakerSellPressure,
    SetupClassicTop,
    SetupShortSqueeze,
    SetupDeleveraging,
    SetupDistribution,
    SetupAccumulation,
    FlowNewLongs,
    FlowNewShorts,
    FlowShortCovering,
    FlowLongCapitulation,
}

impl SignalId {
    pub const ALL: [SignalId; 23] = [
        SignalId::FundingExtremeLong,
        SignalId::FundingExtremeShort,
        SignalId::FundingElevated,
        SignalId::OiSurge,
        SignalId::OiFlush,
        SignalId::OiMoving,
        SignalId::LongLiquidationCascade,
        SignalId::ShortLiquidationCascade,
        SignalId::LiquidationsElevated,
        SignalId::RetailExtremeLong,
        SignalId::RetailHeavyShort,
        SignalId::SmartMoneyDivergence,
        SignalId::TakerBuyPressure,
        SignalId::TakerSellPressure,
        SignalId::SetupClassicTop,
        SignalId::SetupShortSqueeze,
        SignalId::SetupDeleveraging,
        SignalId::SetupDistribution,
        SignalId::SetupAccumulation,
        SignalId::FlowNewLongs,
        SignalId::FlowNewShorts,
        SignalId::FlowShortCovering,
        SignalId::FlowLongCapitulation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SignalId::FundingExtremeLong => "funding_extreme_long",
            SignalId::FundingExtremeShort => "funding_extreme_short",
            SignalId::FundingElevated => "funding_elevated",
            SignalId::OiSurge => "oi_surge",
            SignalId::OiFlush => "oi_flush",
            SignalId::OiMoving => "oi_moving",
            SignalId::LongLiquidationCascade => "long_liquidation_cascade",
            SignalId::ShortLiquidationCascade => "short_liquidation_cascade",
            SignalId::LiquidationsElevated => "liquidations_elevated",
            SignalId::RetailExtremeLong => "retail_extreme_long",
            SignalId::RetailHeavyShort => "retail_heavy_short",
            SignalId::SmartMoneyDivergence => "smart_money_divergence",
            SignalId::TakerBuyPressure => "taker_buy_pressure",
            SignalId::TakerSellPressure => "taker_sell_pressure",
            SignalId::SetupClassicTop => "setup_classic_top",
            SignalId::SetupShortSqueeze => "setup_short_squeeze",
            SignalId::SetupDeleveraging => "setup_deleveraging",
            SignalId::SetupDistribution => "setup_distribution",
            SignalId::SetupAccumulation => "setup_accumulation",
            SignalId::FlowNewLongs => "flow_new_longs",
            SignalId::FlowNewShorts => "flow_new_shorts",
            SignalId::FlowShortCovering => "flow_short_covering",
            SignalId::FlowLongCapitulation => "flow_long_capitulation",
        }
    }

    pub fn parse(s: &str) -> Option<SignalId> {
        SignalId::ALL.into_iter().find(|id| id.as_str() == s)
    }
}

impl fmt::Display for SignalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One fired signal: what, how bad, which way, and a message quoting the numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Signal {
    pub id: SignalId,
    pub level: Level,
    pub bias: Bias,
    pub title: String,
    pub message: String,
    /// The threshold the signal crossed and where it came from; `None` from the bare
    /// [`evaluate`] (the caller knows its thresholds).
    pub threshold: Option<relative::ThresholdInfo>,
    /// How this (symbol, signal) did on the symbol's stored history; `None` until there is
    /// enough history.
    pub record: Option<Record>,
    /// Why `record` is `None` (`record::NoRecord`: too little history, still computing …);
    /// `None` when no record was computed in this run. Not part of the JSON (`record` is null).
    #[serde(skip)]
    pub no_record: Option<record::NoRecord>,
}

/// A signal's track record on one symbol's history (the backtest engine's result), as the JSON
/// `record` object, the feed detail and the alert messages tell it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    /// Days of history scored.
    pub days: f64,
    /// Bar length of that history: `1h`.
    pub interval: String,
    /// Onsets in the history.
    pub fired: usize,
    /// Onsets whose horizon lies inside the history.
    pub scored: usize,
    /// Scored onsets followed by a move of `move_pct` in the signal's direction.
    pub hits: usize,
    pub hit_rate_pct: Option<f64>,
    /// The same move after any bar: what the hit rate must beat.
    pub base_rate_pct: Option<f64>,
    /// Scored onsets followed by a move of `move_pct` either way.
    pub either_hit_pct: Option<f64>,
    /// How long after the onset the move is looked for: `24h`.
    pub horizon: String,
    pub move_pct: f64,
}

/// Rule thresholds, with the defaults `docs/signals.md` lists. Every key can be set globally
/// (`[thresholds]`) and per symbol (`[symbol.<COIN>.thresholds]`); `config::thresholds` merges
/// the two.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// `funding_extreme_long` when funding_8h > this (percent per 8 h).
    pub funding_extreme_long_pct: f64,
    /// `funding_extreme_short` when funding_8h < this (negative).
    pub funding_extreme_short_pct: f64,
    /// `funding_elevated` when |funding_8h| > this and not extreme.
    pub funding_elevated_pct: f64,
    /// `oi_surge` / `oi_flush` when oi_change_1h > +this / < −this.
    pub oi_surge_pct: f64,
    /// `oi_moving` when |oi_change_1h| > this and not a surge/flush.
    pub oi_moving_pct: f64,
    /// Cascade when one side's 1h liquidations exceed this (USD).
    pub liq_cascade_usd: f64,
    /// `liquidations_elevated` when the 1h total exceeds this and no cascade (USD).
    pub liq_elevated_usd: f64,
    /// `retail_extreme_long` when retail long % > this.
    pub retail_extreme_long_pct: f64,
    /// `retail_heavy_short` when retail short % > this.
    pub retail_heavy_short_pct: f64,
    /// `smart_money_divergence` when |top_long − retail_long| ≥ this (points); also the
    /// top-vs-retail gap of the distribution/accumulation setups.
    pub divergence_pts: f64,
    /// `taker_buy_pressure` when taker buy % > this.
    pub taker_buy_pressure_pct: f64,
    /// `taker_sell_pressure` when taker buy % < this.
    pub taker_sell_pressure_pct: f64,
    /// Setups: OI "rising"/"falling" means |oi_change_1h| beyond this.
    pub setup_oi_change_pct: f64,
    /// `setup_deleveraging`: retail long within [low, high].
    pub deleveraging_retail_low_pct: f64,
    pub deleveraging_retail_high_pct: f64,
    /// `setup_distribution`: retail long above this.
    pub distribution_retail_long_pct: f64,
    /// `setup_accumulation`: retail short above this.
    pub accumulation_retail_short_pct: f64,
    /// OI × price reads fire only when |oi_change_1h| exceeds this …
    pub flow_oi_deadband_pct: f64,
    /// … and |price_change_1h| exceeds this.
    pub flow_price_deadband_pct: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            funding_extreme_long_pct: 0.10,
            funding_extreme_short_pct: -0.05,
            funding_elevated_pct: 0.05,
            oi_surge_pct: 5.0,
            oi_moving_pct: 2.5,
            liq_cascade_usd: 50_000_000.0,
            liq_elevated_usd: 25_000_000.0,
            retail_extreme_long_pct: 65.0,
            retail_heavy_short_pct: 60.0,
            divergence_pts: 10.0,
            taker_buy_pressure_pct: 65.0,
            taker_sell_pressure_pct: 35.0,
            setup_oi_change_pct: 2.5,
            deleveraging_retail_low_pct: 40.0,
            deleveraging_retail_high_pct: 60.0,
            distribution_retail_long_pct: 60.0,
            accumulation_retail_short_pct: 55.0,
            flow_oi_deadband_pct: 1.0,
            flow_price_deadband_pct: 0.5,
        }
    }
}

/// Evaluates every rule, setup and positioning read. Signals come out most severe first
/// (stable order within a level: single-metric rules, then setups, then flow reads).
pub fn evaluate(inputs: &SignalInputs, th: &Thresholds) -> Vec<Signal> {
    let mut out = Vec::new();
    rules::evaluate_into(inputs, th, &mut out);
    setups::evaluate_into(inputs, th, &mut out);
    // Stable sort: rule order survives within a level.
    out.sort_by_key(|s| std::cmp::Reverse(s.level));
    out
}

/// A symbol's level: the highest among its signals, NONE when there are none.
pub fn level_of(signals: &[Signal]) -> Level {
    signals.iter().map(|s| s.level).max().unwrap_or(Level::None)
}

/// Tolerance for the inclusive (`≥`) point-gap comparisons: percentages arrive with two decimals,
/// and `62.35 − 52.35` is a hair under 10 in binary floating point.
const GE_EPS: f64 = 1e-9;

/// A rule input that can be acted on: present and finite. NaN or ±inf from a bad feed counts as
/// missing, never as a number that fires.
fn known(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::{Signal, SignalId, Thresholds};
    use crate::model::SignalInputs;

    /// Every input missing; tests fill in what a case needs with `..NONE`.
    pub(crate) const NONE: SignalInputs = SignalInputs {
        funding_8h_pct: None,
        oi_change_1h_pct: None,
        liq_long_1h_usd: None,
        liq_short_1h_usd: None,
        retail_long_pct: None,
        retail_short_pct: None,
        top_long_pct: None,
        top_short_pct: None,
        taker_buy_pct: None,
        price_change_1h_pct: None,
    };

    /// The ids one evaluator fires, in emission order.
    pub(crate) fn ids(
        inputs: &SignalInputs,
        th: &Thresholds,
        eval: fn(&SignalInputs, &Thresholds, &mut Vec<Signal>),
    ) -> Vec<SignalId> {
        let mut out = Vec::new();
        eval(inputs, th, &mut out);
        out.into_iter().map(|s| s.id).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::NONE;
    use super::*;

    /// A busy snapshot: HIGH, MEDIUM and LOW signals from both evaluators.
    fn busy() -> SignalInputs {
        SignalInputs {
            funding_8h_pct: Some(0.07),  // funding_elevated (MEDIUM)
            oi_change_1h_pct: Some(6.0), // oi_surge (HIGH)
            liq_long_1h_usd: Some(20e6), // liquidations_elevated (MEDIUM)
            liq_short_1h_usd: Some(10e6),
            retail_long_pct: Some(68.0), // retail_extreme_long (HIGH)
            retail_short_pct: Some(32.0),
            top_long_pct: Some(50.0), // smart_money_divergence (HIGH)
            top_short_pct: Some(50.0),
            taker_buy_pct: Some(70.0),      // taker_buy_pressure (MEDIUM)
            price_change_1h_pct: Some(1.0), // flow_new_longs (LOW)
        }
    }

    #[test]
    fn evaluate_sorts_most_severe_first_and_keeps_rule_order_within_a_level() {
        let got: Vec<(SignalId, Level)> = evaluate(&busy(), &Thresholds::default())
            .into_iter()
            .map(|s| (s.id, s.level))
            .collect();
        assert_eq!(
            got,
            vec![
                (SignalId::OiSurge, Level::High),
                (SignalId::RetailExtremeLong, Level::High),
                (SignalId::SmartMoneyDivergence, Level::High),
                (SignalId::FundingElevated, Level::Medium),
                (SignalId::LiquidationsElevated, Level::Medium),
                (SignalId::TakerBuyPressure, Level::Medium),
                (SignalId::FlowNewLongs, Level::Low),
            ]
        );
    }

    #[test]
    fn level_of_is_the_highest_or_none() {
        let th = Thresholds::default();
        assert_eq!(level_of(&[]), Level::None);
        assert_eq!(level_of(&evaluate(&NONE, &th)), Level::None);
        assert_eq!(level_of(&evaluate(&busy(), &th)), Level::High);
        let low_only = SignalInputs {
            oi_change_1h_pct: Some(-1.5),
            price_change_1h_pct: Some(-1.0),
            ..NONE
        };
        assert_eq!(level_of(&evaluate(&low_only, &th)), Level::Low);
        let medium = SignalInputs {
            taker_buy_pct: Some(20.0),
            ..low_only
        };
        assert_eq!(level_of(&evaluate(&medium, &th)), Level::Medium);
    }

    #[test]
    fn quiet_market_fires_nothing() {
        let quiet = SignalInputs {
            funding_8h_pct: Some(0.01),
            oi_change_1h_pct: Some(0.4),
            liq_long_1h_usd: Some(3e6),
            liq_short_1h_usd: Some(2e6),
            retail_long_pct: Some(52.0),
            retail_short_pct: Some(48.0),
            top_long_pct: Some(50.0),
            top_short_pct: Some(50.0),
            taker_buy_pct: Some(50.0),
            price_change_1h_pct: Some(0.2),
        };
        assert!(evaluate(&quiet, &Thresholds::default()).is_empty());
    }

    #[test]
    fn every_id_round_trips_through_its_name() {
        for id in SignalId::ALL {
            assert_eq!(SignalId::parse(id.as_str()), Some(id));
        }
        assert_eq!(SignalId::parse("nope"), None);
    }
}
