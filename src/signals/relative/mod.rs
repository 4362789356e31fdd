//! Relative thresholds: each rule's threshold is a percentile of the symbol's own trailing
//! history of the metric it reads, never less strict than an absolute floor. The rules
//! themselves (`rules`, `setups`) are unchanged: [`Baseline::derive`] turns the history into an
//! ordinary [`Thresholds`] for this symbol and moment, and records where each number came from.
//!
//! * **Samples.** One sample per metric per `sample_ms` (an hour live, one bar in the backtest):
//!   live cycles of the same hour replace each other, and an hour's sample enters the window only
//!   once the next hour has begun, so a threshold never contains the value it judges.
//! * **Percentiles**, not z-scores: funding, liquidations and OI moves are fat-tailed and
//!   skewed; a percentile means the same thing ("rarer than 99 % of the last 30 days") on every
//!   symbol and needs no distribution assumption. Interpolated between ranks ("type 7").
//! * **Ties.** Funding can sit on one value for weeks (Binance's resting 0.0100 %). When the
//!   percentile lands on the window's extreme (its maximum for an upper threshold, its minimum
//!   for a lower one), a value equal to it counts as beyond it: otherwise a rule whose threshold
//!   is the cap could never fire. The absolute floors (strict) keep a plateau at the resting rate
//!   from being called extreme.
//! * **Warm-up.** A metric with fewer samples than `min_history_ms` covers keeps the static
//!   threshold, and says so ([`Provenance::Warming`]).
//! * **Liquidations** are judged as a share of the symbol's open interest (a $50M hour is huge
//!   for a small coin and noise for BTC on a crash day); the share threshold is turned back into
//!   dollars with the current open interest, so messages still quote dollars.

mod window;

pub use window::TrailingWindow;

use super::{SignalId, Thresholds};
use crate::model::SignalInputs;
use serde::{Deserialize, Serialize};

/// Which thresholds the rules use (`[thresholds] mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThresholdMode {
    /// Percentiles of the symbol's own history, with absolute floors.
    #[default]
    Relative,
    /// The fixed numbers of `[thresholds]`, exactly.
    Static,
}

impl ThresholdMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ThresholdMode::Relative => "relative",
            ThresholdMode::Static => "static",
        }
    }

    pub fn parse(s: &str) -> Option<ThresholdMode> {
        match s.trim().to_ascii_lowercase().as_str() {
            "relative" => Some(ThresholdMode::Relative),
            "static" => Some(ThresholdMode::Static),
            _ => None,
        }
    }
}

/// The percentile each rule family uses, 0–100 (`[thresholds] <family>_percentile`). An upper
/// threshold uses `p`, the matching lower one `100 − p`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Percentiles {
    /// `funding_extreme_long` / `_short`: funding beyond its own p-th / (100−p)-th percentile.
    pub funding_extreme_percentile: f64,
    /// `funding_elevated`: |funding| beyond its own p-th percentile.
    pub funding_elevated_percentile: f64,
    /// `oi_surge` / `oi_flush`: |1h OI change| beyond its p-th percentile.
    pub oi_surge_percentile: f64,
    /// `oi_moving`.
    pub oi_moving_percentile: f64,
    /// Cascades: the larger side's 1h liquidations, as a share of OI.
    pub liq_cascade_percentile: f64,
    /// `liquidations_elevated`: both sides' 1h liquidations, as a share of OI.
    pub liq_elevated_percentile: f64,
    /// `retail_extreme_long` / `retail_heavy_short`: retail long / short share.
    pub retail_percentile: f64,
    /// `smart_money_divergence` (and the fading setups' gap): |top − retail| long share.
    pub divergence_percentile: f64,
    /// `taker_buy_pressure` / `taker_sell_pressure`: taker buy share.
    pub taker_percentile: f64,
    /// Setups' "OI rising/falling" and "retail crowded" judgements (and deleveraging's "not
    /// crowded either way": within its (100 − p)-th to p-th percentiles).
    pub setup_percentile: f64,
    /// The OI × price reads' dead bands.
    pub flow_percentile: f64,
}

impl Default for Percentiles {
    fn default() -> Self {
        Percentiles {
            funding_extreme_percentile: 99.0,
            funding_elevated_percentile: 95.0,
            oi_surge_percentile: 99.0,
            oi_moving_percentile: 95.0,
            liq_cascade_percentile: 99.0,
            liq_elevated_percentile: 97.0,
            retail_percentile: 98.0,
            divergence_percentile: 98.0,
            taker_percentile: 98.0,
            setup_percentile: 90.0,
            flow_percentile: 75.0,
        }
    }
}

/// How relative thresholds are derived for one symbol.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RelativeSettings {
    pub mode: ThresholdMode,
    /// The trailing window (`[thresholds] window`, default 30 days).
    pub window_ms: i64,
    /// A metric needs samples covering this much time before its percentile is used.
    pub min_history_ms: i64,
    /// One sample per this much time (an hour live; the bar length in the backtest).
    pub sample_ms: i64,
    pub percentiles: Percentiles,
}

pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR_MS;
/// Default `[thresholds] window`.
pub const DEFAULT_WINDOW_MS: i64 = 30 * DAY_MS;
/// History a metric needs before its percentile replaces the static threshold.
pub const MIN_HISTORY_MS: i64 = 7 * DAY_MS;
/// Fewer samples than this never make a percentile, whatever the span (a 1w-bar backtest).
pub const MIN_SAMPLES: usize = 24;

impl Default for RelativeSettings {
    fn default() -> Self {
        RelativeSettings {
            mode: ThresholdMode::Relative,
            window_ms: DEFAULT_WINDOW_MS,
            min_history_ms: MIN_HISTORY_MS,
            sample_ms: HOUR_MS,
            percentiles: Percentiles::default(),
        }
    }
}

impl RelativeSettings {
    /// Samples a metric needs before its percentile is used.
    pub fn min_samples(&self) -> usize {
        let per = self.min_history_ms / self.sample_ms.max(1);
        usize::try_from(per).unwrap_or(usize::MAX).max(MIN_SAMPLES)
    }

    /// `30d`, `12h`: the window as the config spells it.
    pub fn window_label(&self) -> String {
        if self.window_ms % DAY_MS == 0 {
            format!("{}d", self.window_ms / DAY_MS)
        } else if self.window_ms % HOUR_MS == 0 {
            format!("{}h", self.window_ms / HOUR_MS)
        } else {
            format!("{}m", self.window_ms / 60_000)
        }
    }
}

/// The metrics whose history the thresholds are drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Metric {
    Funding,
    FundingAbs,
    OiChangeAbs,
    /// The larger side's 1h liquidations, % of OI.
    LiqMaxShare,
    /// Both sides' 1h liquidations, % of OI.
    LiqTotalShare,
    RetailLong,
    RetailShort,
    /// |top − retail| long share, points.
    GapAbs,
    TakerBuy,
    PriceChangeAbs,
}

const METRICS: usize = 10;

impl Metric {
    fn index(self) -> usize {
        self as usize
    }
}

/// One sample of every metric (absent where the input was).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Sample([Option<f64>; METRICS]);

impl Sample {
    /// The metrics of one snapshot or bar. `oi_usd` turns liquidations into shares of OI.
    pub fn of(inputs: &SignalInputs, oi_usd: Option<f64>) -> Sample {
        let finite = |v: Option<f64>| v.filter(|x| x.is_finite());
        let oi = finite(oi_usd).filter(|o| *o > 0.0);
        let long = finite(inputs.liq_long_1h_usd);
        let short = finite(inputs.liq_short_1h_usd);
        let share = |usd: f64| oi.map(|o| usd / o * 100.0);
        let funding = finite(inputs.funding_8h_pct);
        let retail_long = finite(inputs.retail_long_pct);
        let mut v = [None; METRICS];
        v[Metric::Funding.index()] = funding;
        v[Metric::FundingAbs.index()] = funding.map(f64::abs);
        v[Metric::OiChangeAbs.index()] = finite(inputs.oi_change_1h_pct).map(f64::abs);
        v[Metric::LiqMaxShare.index()] = match (long, short) {
            (Some(l), Some(s)) => share(l.max(s)),
            _ => None,
        };
        v[Metric::LiqTotalShare.index()] = match (long, short) {
            (Some(l), Some(s)) => share(l + s),
            _ => None,
        };
        v[Metric::RetailLong.index()] = retail_long;
        v[Metric::RetailShort.index()] =
            finite(inputs.retail_short_pct).or_else(|| retail_long.map(|l| 100.0 - l));
        v[Metric::GapAbs.index()] = match (finite(inputs.top_long_pct), retail_long) {
            (Some(t), Some(r)) => Some((t - r).abs()),
            _ => None,
        };
        v[Metric::TakerBuy.index()] = finite(inputs.taker_buy_pct);
        v[Metric::PriceChangeAbs.index()] = finite(inputs.price_change_1h_pct).map(f64::abs);
        Sample(v)
    }

    /// Each metric from `self`, or from `older` where `self` does not know it.
    fn or(self, older: Sample) -> Sample {
        Sample(std::array::from_fn(|i| self.0[i].or(older.0[i])))
    }

    /// Whether no metric is known.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }
}

/// Where one threshold came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Provenance {
    /// Static mode: the configured number.
    Static,
    /// Relative mode, not enough history yet: the configured number.
    Warming,
    /// Relative mode, but an input it needs is unknown now (open interest for liquidations):
    /// the configured number.
    NeedsOi,
    /// The `percentile`-th percentile of the window (or the floor, when `floored`).
    Relative { percentile: f64, floored: bool },
}

/// One rule's threshold as the JSON and the UI tell it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThresholdInfo {
    /// The mode actually applied to this rule now.
    pub mode: ThresholdMode,
    /// The threshold, in the rule's own unit (percent per 8 h, %, points, USD).
    pub value: f64,
    /// The percentile, for a relative threshold.
    pub percentile: Option<f64>,
    /// The window, for a relative threshold: `30d`.
    pub window: Option<String>,
    /// Why a relative-mode rule uses its static threshold, or that the floor binds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
}

/// The `note` of a relative threshold held to its absolute floor.
pub const FLOOR_NOTE: &str =
    "floor: the window's percentile is less strict than the absolute floor";

impl ThresholdInfo {
    /// One line for people: `threshold 0.0213 %/8h = p99 of 30d`, `threshold 0.01 %/8h =
    /// floor (p99 of 30d is lower)`, `warming up: static threshold 0.10 %/8h`,
    /// `threshold ±5 % OI in 1h (static)`. `id` gives the unit.
    pub fn describe(&self, id: SignalId) -> String {
        let value = value_text(primary_field(id), self.value);
        let of = || {
            let p = self
                .percentile
                .map_or_else(|| "?".to_string(), |p| trimmed(p, 0, 2));
            let window = self.window.as_deref().unwrap_or("the window");
            format!("p{p} of {window}")
        };
        match (self.mode, self.note) {
            (ThresholdMode::Relative, None) => format!("threshold {value} = {}", of()),
            (ThresholdMode::Relative, Some(_)) => {
                let side = match DERIVATIONS[primary_field(id) as usize].tail {
                    Tail::Upper => "lower",
                    Tail::Lower => "higher",
                };
                format!("threshold {value} = floor ({} is {side})", of())
            }
            (ThresholdMode::Static, Some(note)) => format!("{note} {value}"),
            (ThresholdMode::Static, None) => format!("threshold {value} (static)"),
        }
    }
}

/// `v` with at most `max_dp` decimals, trailing zeros dropped down to `min_dp`.
fn trimmed(v: f64, min_dp: usize, max_dp: usize) -> String {
    let mut s = format!("{v:.max_dp$}");
    if max_dp > 0 {
        let keep = s.len() - (max_dp - min_dp.min(max_dp));
        while s.len() > keep && s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s.starts_with('-') && s[1..].bytes().all(|b| b == b'0' || b == b'.') {
        s.remove(0);
    }
    s
}

/// A threshold in its field's unit, with the decimals its size needs (a relative funding
/// threshold of 0.0137 keeps all four).
fn value_text(f: Field, v: f64) -> String {
    let plain = |min_dp: usize| {
        let max_dp = if v.abs() < 1.0 {
            4
        } else if v.abs() < 100.0 {
            2
        } else {
            1
        };
        trimmed(v, min_dp, max_dp)
    };
    match f {
        Field::FundingExtremeLong | Field::FundingExtremeShort => format!("{} %/8h", plain(2)),
        Field::FundingElevated => format!("±{} %/8h", plain(2)),
        Field::OiSurge | Field::OiMoving | Field::SetupOi | Field::FlowOi => {
            format!("±{} % OI in 1h", plain(0))
        }
        Field::FlowPrice => format!("±{} % price in 1h", plain(0)),
        Field::LiqCascade | Field::LiqElevated => format!("{} in 1h", crate::format::usd(Some(v))),
        Field::RetailExtremeLong
        | Field::DeleveragingLow
        | Field::DeleveragingHigh
        | Field::DistributionRetailLong => format!("{} % long", plain(0)),
        Field::RetailHeavyShort | Field::AccumulationRetailShort => format!("{} % short", plain(0)),
        Field::Divergence => format!("{} pts", plain(0)),
        Field::TakerBuy | Field::TakerSell => format!("{} % taker buy", plain(0)),
    }
}

/// The thresholds fields relative mode derives, in [`Thresholds`] field order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    FundingExtremeLong,
    FundingExtremeShort,
    FundingElevated,
    OiSurge,
    OiMoving,
    LiqCascade,
    LiqElevated,
    RetailExtremeLong,
    RetailHeavyShort,
    Divergence,
    TakerBuy,
    TakerSell,
    SetupOi,
    DeleveragingLow,
    DeleveragingHigh,
    DistributionRetailLong,
    AccumulationRetailShort,
    FlowOi,
    FlowPrice,
}

const FIELDS: usize = 19;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tail {
    Upper,
    Lower,
}

/// How one field is derived: the metric, the percentile (for an upper tail; a lower tail uses
/// `100 − p`), the absolute floor (a threshold is never less strict than it), and for
/// liquidations the scaling back to dollars.
struct Derivation {
    field: Field,
    metric: Metric,
    tail: Tail,
    percentile: fn(&Percentiles) -> f64,
    floor: Option<f64>,
    /// A share of OI, turned into USD with the current OI.
    oi_share: bool,
}

/// Absolute floors: a dead-calm market never fires on its own noise. Upper thresholds are at
/// least this, lower ones at most this.
pub mod floors {
    /// Funding inside ±0.01 % per 8 h is never extreme nor elevated.
    pub const FUNDING_PCT: f64 = 0.01;
    /// An OI surge/flush is at least a 1 % move in an hour; "moving" at least 0.5 %.
    pub const OI_SURGE_PCT: f64 = 1.0;
    pub const OI_MOVING_PCT: f64 = 0.5;
    /// A cascade is at least 0.05 % of OI liquidated on one side in an hour; elevated, 0.02 %
    /// on both sides together.
    pub const LIQ_CASCADE_OI_PCT: f64 = 0.05;
    pub const LIQ_ELEVATED_OI_PCT: f64 = 0.02;
    /// Retail is crowded long above 55 % long, heavily short above 52 % short.
    pub const RETAIL_LONG_PCT: f64 = 55.0;
    pub const RETAIL_SHORT_PCT: f64 = 52.0;
    /// Top traders and retail differ by at least 3 points.
    pub const DIVERGENCE_PTS: f64 = 3.0;
    /// Taker buy share above 55 % / below 45 %.
    pub const TAKER_BUY_PCT: f64 = 55.0;
    pub const TAKER_SELL_PCT: f64 = 45.0;
    /// Setups: OI rising/falling at least 0.5 % in 1 h; retail crowded at least 52 % / 50 %.
    pub const SETUP_OI_PCT: f64 = 0.5;
    pub const SETUP_RETAIL_LONG_PCT: f64 = 52.0;
    pub const SETUP_RETAIL_SHORT_PCT: f64 = 50.0;
    /// Flow reads: OI beyond ±0.3 % and price beyond ±0.2 % in 1 h.
    pub const FLOW_OI_PCT: f64 = 0.3;
    pub const FLOW_PRICE_PCT: f64 = 0.2;
}

const DERIVATIONS: [Derivation; FIELDS] = {
    use floors::*;
    const fn d(
        field: Field,
        metric: Metric,
        tail: Tail,
        percentile: fn(&Percentiles) -> f64,
        floor: Option<f64>,
    ) -> Derivation {
        Derivation {
            field,
            metric,
            tail,
            percentile,
            floor,
            oi_share: false,
        }
    }
    [
        d(
            Field::FundingExtremeLong,
            Metric::Funding,
            Tail::Upper,
            |p| p.funding_extreme_percentile,
            Some(FUNDING_PCT),
        ),
        d(
            Field::FundingExtremeShort,
            Metric::Funding,
            Tail::Lower,
            |p| p.funding_extreme_percentile,
            Some(-FUNDING_PCT),
        ),
        d(
            Field::FundingElevated,
            Metric::FundingAbs,
            Tail::Upper,
            |p| p.funding_elevated_percentile,
            Some(FUNDING_PCT),
        ),
        d(
            Field::OiSurge,
            Metric::OiChangeAbs,
            Tail::Upper,
            |p| p.oi_surge_percentile,
            Some(OI_SURGE_PCT),
        ),
        d(
            Field::OiMoving,
            Metric::OiChangeAbs,
            Tail::Upper,
            |p| p.oi_moving_percentile,
            Some(OI_MOVING_PCT),
        ),
        Derivation {
            oi_share: true,
            ..d(
                Field::LiqCascade,
                Metric::LiqMaxShare,
                Tail::Upper,
                |p| p.liq_cascade_percentile,
                Some(LIQ_CASCADE_OI_PCT),
            )
        },
        Derivation {
            oi_share: true,
            ..d(
                Field::LiqElevated,
                Metric::LiqTotalShare,
                Tail::Upper,
                |p| p.liq_elevated_percentile,
                Some(LIQ_ELEVATED_OI_PCT),
            )
        },
        d(
            Field::RetailExtremeLong,
            Metric::RetailLong,
            Tail::Upper,
            |p| p.retail_percentile,
            Some(RETAIL_LONG_PCT),
        ),
        d(
            Field::RetailHeavyShort,
            Metric::RetailShort,
            Tail::Upper,
            |p| p.retail_percentile,
            Some(RETAIL_SHORT_PCT),
        ),
        d(
            Field::Divergence,
            Metric::GapAbs,
            Tail::Upper,
            |p| p.divergence_percentile,
            Some(DIVERGENCE_PTS),
        ),
        d(
            Field::TakerBuy,
            Metric::TakerBuy,
            Tail::Upper,
            |p| p.taker_percentile,
            Some(TAKER_BUY_PCT),
        ),
        d(
            Field::TakerSell,
            Metric::TakerBuy,
            Tail::Lower,
            |p| p.taker_percentile,
            Some(TAKER_SELL_PCT),
        ),
        d(
            Field::SetupOi,
            Metric::OiChangeAbs,
            Tail::Upper,
            |p| p.setup_percentile,
            Some(SETUP_OI_PCT),
        ),
        // The deleveraging band is "retail not crowded either way": between the (100 − p)-th
        // and p-th percentiles of retail long, p the setups' own "crowded" percentile.
        d(
            Field::DeleveragingLow,
            Metric::RetailLong,
            Tail::Lower,
            |p| p.setup_percentile,
            None,
        ),
        d(
            Field::DeleveragingHigh,
            Metric::RetailLong,
            Tail::Upper,
            |p| p.setup_percentile,
            None,
        ),
        d(
            Field::DistributionRetailLong,
            Metric::RetailLong,
            Tail::Upper,
            |p| p.setup_percentile,
            Some(SETUP_RETAIL_LONG_PCT),
        ),
        d(
            Field::AccumulationRetailShort,
            Metric::RetailShort,
            Tail::Upper,
            |p| p.setup_percentile,
            Some(SETUP_RETAIL_SHORT_PCT),
        ),
        d(
            Field::FlowOi,
            Metric::OiChangeAbs,
            Tail::Upper,
            |p| p.flow_percentile,
            Some(FLOW_OI_PCT),
        ),
        d(
            Field::FlowPrice,
            Metric::PriceChangeAbs,
            Tail::Upper,
            |p| p.flow_percentile,
            Some(FLOW_PRICE_PCT),
        ),
    ]
};

fn field_mut(th: &mut Thresholds, f: Field) -> &mut f64 {
    match f {
        Field::FundingExtremeLong => &mut th.funding_extreme_long_pct,
        Field::FundingExtremeShort => &mut th.funding_extreme_short_pct,
        Field::FundingElevated => &mut th.funding_elevated_pct,
        Field::OiSurge => &mut th.oi_surge_pct,
        Field::OiMoving => &mut th.oi_moving_pct,
        Field::LiqCascade => &mut th.liq_cascade_usd,
        Field::LiqElevated => &mut th.liq_elevated_usd,
        Field::RetailExtremeLong => &mut th.retail_extreme_long_pct,
        Field::RetailHeavyShort => &mut th.retail_heavy_short_pct,
        Field::Divergence => &mut th.divergence_pts,
        Field::TakerBuy => &mut th.taker_buy_pressure_pct,
        Field::TakerSell => &mut th.taker_sell_pressure_pct,
        Field::SetupOi => &mut th.setup_oi_change_pct,
        Field::DeleveragingLow => &mut th.deleveraging_retail_low_pct,
        Field::DeleveragingHigh => &mut th.deleveraging_retail_high_pct,
        Field::DistributionRetailLong => &mut th.distribution_retail_long_pct,
        Field::AccumulationRetailShort => &mut th.accumulation_retail_short_pct,
        Field::FlowOi => &mut th.flow_oi_deadband_pct,
        Field::FlowPrice => &mut th.flow_price_deadband_pct,
    }
}

/// The field whose threshold a signal is reported with (a setup's most telling condition).
pub fn primary_field(id: SignalId) -> Field {
    match id {
        SignalId::FundingExtremeLong | SignalId::SetupClassicTop => Field::FundingExtremeLong,
        SignalId::FundingExtremeShort | SignalId::SetupShortSqueeze => Field::FundingExtremeShort,
        SignalId::FundingElevated => Field::FundingElevated,
        SignalId::OiSurge | SignalId::OiFlush => Field::OiSurge,
        SignalId::OiMoving => Field::OiMoving,
        SignalId::LongLiquidationCascade | SignalId::ShortLiquidationCascade => Field::LiqCascade,
        SignalId::LiquidationsElevated => Field::LiqElevated,
        SignalId::RetailExtremeLong => Field::RetailExtremeLong,
        SignalId::RetailHeavyShort => Field::RetailHeavyShort,
        SignalId::SmartMoneyDivergence
        | SignalId::SetupDistribution
        | SignalId::SetupAccumulation => Field::Divergence,
        SignalId::TakerBuyPressure => Field::TakerBuy,
        SignalId::TakerSellPressure => Field::TakerSell,
        SignalId::SetupDeleveraging => Field::SetupOi,
        SignalId::FlowNewLongs
        | SignalId::FlowNewShorts
        | SignalId::FlowShortCovering
        | SignalId::FlowLongCapitulation => Field::FlowOi,
    }
}

/// Thresholds for one symbol at one moment, and where each came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Derived {
    /// What the rules compare with.
    pub thresholds: Thresholds,
    provenance: [Provenance; FIELDS],
    /// The value each field is reported with (the comparison value may sit a hair inside it,
    /// see "Ties" in the module docs).
    shown: [f64; FIELDS],
    window: Option<String>,
}

impl Derived {
    /// Static thresholds, reported as such.
    pub fn fixed(th: &Thresholds) -> Derived {
        let mut th = *th;
        let shown = std::array::from_fn(|i| *field_mut(&mut th, DERIVATIONS[i].field));
        Derived {
            thresholds: th,
            provenance: [Provenance::Static; FIELDS],
            shown,
            window: None,
        }
    }

    pub fn provenance(&self, f: Field) -> Provenance {
        self.provenance[f as usize]
    }

    /// The threshold a signal is reported with.
    pub fn info(&self, id: SignalId) -> ThresholdInfo {
        let f = primary_field(id) as usize;
        let (mode, percentile, window, note) = match self.provenance[f] {
            Provenance::Static => (ThresholdMode::Static, None, None, None),
            Provenance::Warming => (
                ThresholdMode::Static,
                None,
                None,
                Some("warming up: static threshold"),
            ),
            Provenance::NeedsOi => (
                ThresholdMode::Static,
                None,
                None,
                Some("open interest unknown: static threshold"),
            ),
            Provenance::Relative {
                percentile,
                floored,
            } => (
                ThresholdMode::Relative,
                Some(percentile),
                self.window.clone(),
                floored.then_some(FLOOR_NOTE),
            ),
        };
        ThresholdInfo {
            mode,
            value: self.shown[f],
            percentile,
            window,
            note,
        }
    }

    /// Whether any field still waits for history.
    pub fn warming(&self) -> bool {
        self.provenance.contains(&Provenance::Warming)
    }
}

/// A symbol's trailing history of every metric.
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    windows: [TrailingWindow; METRICS],
    /// The current sample period's newest sample, not yet in the windows.
    pending: Option<(i64, Sample)>,
}

impl Baseline {
    /// Records one live observation. Observations within one `sample_ms` period replace each
    /// other; the period's last one enters the windows when a later period begins.
    ///
    /// Within a period, each metric keeps its newest known value: an observation that lacks a
    /// metric (a failed fetch, a stale value left out) does not erase one seen earlier in the
    /// period.
    pub fn observe(&mut self, time_ms: i64, sample: Sample, settings: &RelativeSettings) {
        let period = time_ms.div_euclid(settings.sample_ms.max(1));
        match self.pending {
            Some((t, s)) if t.div_euclid(settings.sample_ms.max(1)) < period => {
                self.push(t, &s, settings.window_ms);
                self.pending = Some((time_ms, sample));
            }
            Some((t, _)) if t > time_ms => {}
            Some((_, earlier)) => self.pending = Some((time_ms, sample.or(earlier))),
            None => self.pending = Some((time_ms, sample)),
        }
    }

    /// Adds history (downloaded bars, stored cycles) in any order, before or after live
    /// observations: one sample per `settings.sample_ms` period and metric, a period that
    /// already has a value keeping it. Samples in or after the period now being observed are
    /// left to the live observations.
    pub fn seed(&mut self, samples: &[(i64, Sample)], settings: &RelativeSettings) {
        let period = settings.sample_ms.max(1);
        let live_from = self.pending.map(|(t, _)| t.div_euclid(period));
        let mut items: Vec<(i64, f64)> = Vec::with_capacity(samples.len());
        for (m, w) in self.windows.iter_mut().enumerate() {
            items.clear();
            items.extend(samples.iter().filter_map(|(t, s)| {
                let before_live = live_from.is_none_or(|p| t.div_euclid(period) < p);
                s.0[m].filter(|_| before_live).map(|v| (*t, v))
            }));
            if !items.is_empty() {
                w.merge(&items, period, settings.window_ms);
            }
        }
    }

    /// Adds one sample to the windows directly (a history bar, already one per period).
    pub fn push(&mut self, time_ms: i64, sample: &Sample, window_ms: i64) {
        for (w, v) in self.windows.iter_mut().zip(sample.0) {
            match v {
                Some(v) => w.push(time_ms, v, window_ms),
                None => w.evict_before(time_ms.saturating_sub(window_ms)),
            }
        }
    }

    /// Samples in the window of the metric behind `f`.
    pub fn samples(&self, f: Field) -> usize {
        self.windows[DERIVATIONS[f as usize].metric.index()].len()
    }

    /// The thresholds for now: each field from its window's percentile (at least its floor)
    /// once the window is warm, else the static value. `oi_usd` is the symbol's current open
    /// interest (liquidation shares become dollars with it).
    pub fn derive(
        &self,
        static_th: &Thresholds,
        settings: &RelativeSettings,
        oi_usd: Option<f64>,
    ) -> Derived {
        if settings.mode == ThresholdMode::Static {
            return Derived::fixed(static_th);
        }
        let mut out = Derived::fixed(static_th);
        out.window = Some(settings.window_label());
        let min = settings.min_samples();
        let oi = oi_usd.filter(|o| o.is_finite() && *o > 0.0);
        for (i, d) in DERIVATIONS.iter().enumerate() {
            let w = &self.windows[d.metric.index()];
            if w.len() < min {
                out.provenance[i] = Provenance::Warming;
                continue;
            }
            let p = (d.percentile)(&settings.percentiles).clamp(0.0, 100.0);
            let (p_used, q, at_extreme) = match d.tail {
                Tail::Upper => {
                    let q = w.percentile(p).unwrap_or(f64::NAN);
                    (p, q, w.max() == Some(q))
                }
                Tail::Lower => {
                    let q = w.percentile(100.0 - p).unwrap_or(f64::NAN);
                    (100.0 - p, q, w.min() == Some(q))
                }
            };
            if !q.is_finite() {
                out.provenance[i] = Provenance::Warming;
                continue;
            }
            let (shown, floored) = match (d.floor, d.tail) {
                (Some(f), Tail::Upper) if q <= f => (f, true),
                (Some(f), Tail::Lower) if q >= f => (f, true),
                _ => (q, false),
            };
            // At the window's extreme, equal counts as beyond (the rules compare strictly).
            let nudge = 1e-9 * shown.abs().max(1.0);
            let mut compare = match (at_extreme && !floored, d.tail) {
                (true, Tail::Upper) => shown - nudge,
                (true, Tail::Lower) => shown + nudge,
                (false, _) => shown,
            };
            let mut shown = shown;
            if d.oi_share {
                let Some(oi) = oi else {
                    out.provenance[i] = Provenance::NeedsOi;
                    continue;
                };
                compare *= oi / 100.0;
                shown *= oi / 100.0;
            }
            *field_mut(&mut out.thresholds, d.field) = compare;
            out.shown[i] = shown;
            out.provenance[i] = Provenance::Relative {
                percentile: p_used,
                floored,
            };
        }
        out
    }
}

#[cfg(test)]
mod tests;
