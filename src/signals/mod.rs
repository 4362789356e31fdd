//! The signal engine: pure functions of a symbol's [`SignalInputs`] and its [`Thresholds`].
//! No I/O, no clock. Rules and ids follow `../shared/signals.md`.

mod rules;
mod setups;

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
}

/// Rule thresholds. Defaults are signals.md's. Every key can be set globally (`[thresholds]`)
/// and per symbol (`[symbols.<COIN>.thresholds]`, see [`ThresholdOverrides`]).
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
    out.sort_by(|a, b| b.level.cmp(&a.level));
    out
}

/// A symbol's level: the highest among its signals, NONE when there are none.
pub fn level_of(signals: &[Signal]) -> Level {
    signals.iter().map(|s| s.level).max().unwrap_or(Level::None)
}
