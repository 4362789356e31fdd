//! The domain model: what perpwatch knows about one symbol at one moment.
//!
//! Nothing here knows about HTTP or JSON wire shapes. Every value that can be missing is an
//! `Option`, and a whole metric group that could not be read carries the reason (`Gap`) so that
//! frontends can say "n/a: not in your plan" or "stale 4m" instead of showing a number they do not
//! have. Percentages are percent (`0.01` = 0.01 %), money is USD.

mod history;

pub use history::{Bar, HistorySeries, BAR_COLUMNS};

/// Runs `$body` with `$field` bound to each of a snapshot's seven metric groups in turn (their
/// value types differ, so a closure cannot).
macro_rules! each_group {
    ($snap:expr, $field:ident => $body:block) => {{
        {
            let $field = &mut $snap.funding;
            $body
        }
        {
            let $field = &mut $snap.open_interest;
            $body
        }
        {
            let $field = &mut $snap.liquidations;
            $body
        }
        {
            let $field = &mut $snap.retail;
            $body
        }
        {
            let $field = &mut $snap.top;
            $body
        }
        {
            let $field = &mut $snap.taker;
            $body
        }
        {
            let $field = &mut $snap.price;
            $body
        }
    }};
}

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::fmt;

/// Where the numbers come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// CoinGlass (paid key).
    Live,
    /// The venues' public APIs, aggregated (no key).
    Exchanges,
    Demo,
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SourceKind::Live => "live",
            SourceKind::Exchanges => "exchanges",
            SourceKind::Demo => "demo",
        })
    }
}

/// Signal / symbol severity. Ordered: `None < Low < Medium < High`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    #[default]
    None,
    Low,
    Medium,
    High,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "NONE",
            Level::Low => "LOW",
            Level::Medium => "MEDIUM",
            Level::High => "HIGH",
        }
    }

    /// Parses `high`, `MEDIUM`, `med`, `low`, `none` (case-insensitive).
    pub fn parse(s: &str) -> Option<Level> {
        match s.trim().to_ascii_lowercase().as_str() {
            "high" => Some(Level::High),
            "medium" | "med" => Some(Level::Medium),
            "low" => Some(Level::Low),
            "none" => Some(Level::None),
            _ => None,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which way a signal leans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Bias {
    Bullish,
    Bearish,
    Neutral,
}

impl Bias {
    pub fn as_str(self) -> &'static str {
        match self {
            Bias::Bullish => "bullish",
            Bias::Bearish => "bearish",
            Bias::Neutral => "neutral",
        }
    }
}

impl fmt::Display for Bias {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a metric has no current value (or only an old one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum GapReason {
    /// The key's plan does not include the endpoint or interval.
    NotInPlan,
    /// Not fetched yet (first cycle still running, or scheduled for later).
    Pending,
    /// The API answered but did not report this value (missing/null field, empty list).
    NotReported,
    /// The last fetch failed; the text says how (never contains a secret).
    FetchFailed(String),
    /// The client-side limiter or the server refused for rate reasons.
    RateLimited,
    /// The data does not exist for this symbol and will not be asked for (the text says why,
    /// e.g. "no BTC/USDT pair on OKX"). Not a failure: nothing went wrong fetching it.
    Unavailable(String),
    /// The value is new but covers only part of what it sums: a venue's share is missing (the
    /// text says which and why).
    Partial(String),
}

impl fmt::Display for GapReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GapReason::NotInPlan => f.write_str("not in your plan"),
            GapReason::Pending => f.write_str("not fetched yet"),
            GapReason::NotReported => f.write_str("not reported by the API"),
            GapReason::FetchFailed(why) => write!(f, "fetch failed: {why}"),
            GapReason::RateLimited => f.write_str("rate limited"),
            GapReason::Unavailable(why) => f.write_str(why),
            GapReason::Partial(why) => write!(f, "partial: {why}"),
        }
    }
}

/// One metric group as the frontends see it: the last good value (if any), when it was observed,
/// and, when the latest attempt did not produce a fresh value, why.
///
/// * `value: Some, gap: None`  → fresh
/// * `value: Some, gap: Some`  → stale (kept from an earlier fetch)
/// * `value: None, gap: Some`  → absent, with the reason
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Field<T> {
    pub value: Option<T>,
    pub observed_at: Option<DateTime<Utc>>,
    pub gap: Option<GapReason>,
}

impl<T> Default for Field<T> {
    fn default() -> Self {
        Field {
            value: None,
            observed_at: None,
            gap: Some(GapReason::Pending),
        }
    }
}

impl<T> Field<T> {
    pub fn fresh(value: T, at: DateTime<Utc>) -> Self {
        Field {
            value: Some(value),
            observed_at: Some(at),
            gap: None,
        }
    }

    pub fn absent(reason: GapReason) -> Self {
        Field {
            value: None,
            observed_at: None,
            gap: Some(reason),
        }
    }

    /// Keeps the last good value but records that the newest attempt failed.
    pub fn mark_failed(&mut self, reason: GapReason) {
        self.gap = Some(reason);
    }

    pub fn get(&self) -> Option<&T> {
        self.value.as_ref()
    }

    pub fn is_stale(&self) -> bool {
        self.value.is_some() && self.gap.is_some()
    }

    /// Seconds since the value was observed, if there is one.
    pub fn age_s(&self, now: DateTime<Utc>) -> Option<i64> {
        self.observed_at.map(|at| (now - at).num_seconds().max(0))
    }

    /// Drops a kept value that is too old to act on; the gap reason stays.
    pub fn expire_older_than(&mut self, now: DateTime<Utc>, max_age_s: i64) {
        if self.age_s(now).is_some_and(|age| age > max_age_s) {
            self.value = None;
            self.observed_at = None;
            if self.gap.is_none() {
                self.gap = Some(GapReason::NotReported);
            }
        }
    }
}

/// Margin type of a perpetual contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Margin {
    Stablecoin,
    Token,
}

/// One exchange's current funding for one coin.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExchangeFunding {
    pub exchange: String,
    pub margin: Margin,
    /// As quoted: percent per funding interval.
    pub rate_pct: f64,
    /// Funding interval in hours (8, 4, 1 …); `None` when the API did not say. Such a row
    /// cannot be normalised: its `rate_8h_pct` is the rate as quoted, the table shows "?", and
    /// it is left out of the weighted mean ([`oi_weighted_funding_8h`]).
    pub interval_hours: Option<f64>,
    /// `rate_pct × 8 / interval_hours` (the quoted rate when the interval is unknown).
    pub rate_8h_pct: f64,
    pub next_funding_time: Option<DateTime<Utc>>,
    /// The exchange's open interest for this coin, used as the weight.
    pub oi_usd: Option<f64>,
}

/// Funding across exchanges, normalised to 8 h.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Funding {
    /// OI-weighted mean of stablecoin-margined 8h rates (simple mean when no OI is known).
    pub rate_8h_pct: Option<f64>,
    /// Every exchange row (stablecoin- and token-margined), sorted by OI descending.
    pub by_exchange: Vec<ExchangeFunding>,
}

/// Aggregated open interest and its percent changes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct OpenInterest {
    pub oi_usd: Option<f64>,
    pub change_5m_pct: Option<f64>,
    pub change_15m_pct: Option<f64>,
    pub change_30m_pct: Option<f64>,
    pub change_1h_pct: Option<f64>,
    pub change_4h_pct: Option<f64>,
    pub change_24h_pct: Option<f64>,
}

/// USD liquidated in the rolling last hour, all exchanges.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Liquidations {
    pub long_1h_usd: Option<f64>,
    pub short_1h_usd: Option<f64>,
    /// The sums come from a venue stream that samples (Binance, OKX push at most one order per
    /// symbol per interval): the real figure is at least this.
    pub lower_bound: bool,
    /// Seconds of the last hour no liquidation stream covered (a stream was down, or has not
    /// run an hour yet); `None` when the whole hour was covered.
    pub uncovered_s: Option<u32>,
}

impl Liquidations {
    pub fn total_1h_usd(&self) -> Option<f64> {
        match (self.long_1h_usd, self.short_1h_usd) {
            (Some(l), Some(s)) => Some(l + s),
            _ => None,
        }
    }
}

/// Account long/short split of one population on the reference pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LongShort {
    pub long_pct: Option<f64>,
    pub short_pct: Option<f64>,
    /// Start of the bar the numbers belong to.
    pub bar_time: DateTime<Utc>,
    /// e.g. "Binance BTCUSDT 4h".
    pub source: String,
}

/// Taker buy/sell split over the last hour.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct TakerFlow {
    pub buy_pct: Option<f64>,
    pub buy_usd: Option<f64>,
    pub sell_usd: Option<f64>,
}

/// Price of the coin (reference pair or aggregate) and its recent changes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Price {
    pub price: Option<f64>,
    pub change_1h_pct: Option<f64>,
    pub change_24h_pct: Option<f64>,
}

/// Everything known about one symbol after one cycle.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    pub symbol: String,
    pub source: SourceKind,
    /// When the cycle that produced this snapshot ran.
    pub time: DateTime<Utc>,
    pub funding: Field<Funding>,
    pub open_interest: Field<OpenInterest>,
    pub liquidations: Field<Liquidations>,
    pub retail: Field<LongShort>,
    pub top: Field<LongShort>,
    pub taker: Field<TakerFlow>,
    pub price: Field<Price>,
}

impl Snapshot {
    /// An empty snapshot: every metric pending.
    pub fn new(symbol: impl Into<String>, source: SourceKind, time: DateTime<Utc>) -> Self {
        Snapshot {
            symbol: symbol.into(),
            source,
            time,
            funding: Field::default(),
            open_interest: Field::default(),
            liquidations: Field::default(),
            retail: Field::default(),
            top: Field::default(),
            taker: Field::default(),
            price: Field::default(),
        }
    }

    /// The flat numbers the signal rules read. Absent stays absent.
    pub fn inputs(&self) -> SignalInputs {
        let oi = self.open_interest.get();
        let liq = self.liquidations.get();
        let retail = self.retail.get();
        let top = self.top.get();
        SignalInputs {
            funding_8h_pct: self.funding.get().and_then(|f| f.rate_8h_pct),
            oi_change_1h_pct: oi.and_then(|o| o.change_1h_pct),
            liq_long_1h_usd: liq.and_then(|l| l.long_1h_usd),
            liq_short_1h_usd: liq.and_then(|l| l.short_1h_usd),
            retail_long_pct: retail.and_then(|r| r.long_pct),
            retail_short_pct: retail.and_then(|r| r.short_pct),
            top_long_pct: top.and_then(|t| t.long_pct),
            top_short_pct: top.and_then(|t| t.short_pct),
            taker_buy_pct: self.taker.get().and_then(|t| t.buy_pct),
            price_change_1h_pct: self.price.get().and_then(|p| p.change_1h_pct),
        }
    }

    /// Drops kept values of failed fetches once they are older than `max_age_s`, so that a long
    /// outage shows as absent instead of feeding hour-old numbers to the rules. Values carried over
    /// by schedule (no gap) are untouched.
    pub fn expire_stale(&mut self, max_age_s: i64) {
        let now = self.time;
        each_group!(self, field => {
            if field.is_stale() {
                field.expire_older_than(now, max_age_s);
            }
        });
    }

    /// Marks every metric group failed with `reason` (a kept value stays, stale; a group the
    /// plan does not include stays "not in your plan").
    pub fn mark_all_failed(&mut self, reason: &GapReason) {
        each_group!(self, field => {
            if field.gap != Some(GapReason::NotInPlan) {
                field.mark_failed(reason.clone());
            }
        });
    }

    /// `(metric group name, field gap, age)` for every group that is stale or absent.
    pub fn gaps(&self) -> Vec<MetricGap> {
        let mut out = Vec::new();
        let now = self.time;
        let mut push = |metric: &'static str, gap: &Option<GapReason>, age: Option<i64>| {
            if let Some(reason) = gap {
                out.push(MetricGap {
                    metric,
                    reason: reason.clone(),
                    age_s: age,
                });
            }
        };
        push("funding", &self.funding.gap, self.funding.age_s(now));
        push(
            "open_interest",
            &self.open_interest.gap,
            self.open_interest.age_s(now),
        );
        push(
            "liquidations",
            &self.liquidations.gap,
            self.liquidations.age_s(now),
        );
        push(
            "retail_long_short",
            &self.retail.gap,
            self.retail.age_s(now),
        );
        push("top_long_short", &self.top.gap, self.top.age_s(now));
        push("taker", &self.taker.gap, self.taker.age_s(now));
        push("price", &self.price.gap, self.price.age_s(now));
        out
    }
}

/// A metric group that is stale (value kept, `age_s` set) or absent (`age_s` None).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricGap {
    pub metric: &'static str,
    pub reason: GapReason,
    pub age_s: Option<i64>,
}

/// The flat, copyable view of a snapshot that the signal rules evaluate. Also built directly
/// from history bars by the backtest. `None` means unknown, never zero.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct SignalInputs {
    pub funding_8h_pct: Option<f64>,
    pub oi_change_1h_pct: Option<f64>,
    pub liq_long_1h_usd: Option<f64>,
    pub liq_short_1h_usd: Option<f64>,
    pub retail_long_pct: Option<f64>,
    pub retail_short_pct: Option<f64>,
    pub top_long_pct: Option<f64>,
    pub top_short_pct: Option<f64>,
    pub taker_buy_pct: Option<f64>,
    pub price_change_1h_pct: Option<f64>,
}

impl SignalInputs {
    /// Field names, in [`SignalInputs::values`] order (also the store's column names).
    pub const NAMES: [&'static str; 10] = [
        "funding_8h_pct",
        "oi_change_1h_pct",
        "liq_long_1h_usd",
        "liq_short_1h_usd",
        "retail_long_pct",
        "retail_short_pct",
        "top_long_pct",
        "top_short_pct",
        "taker_buy_pct",
        "price_change_1h_pct",
    ];

    /// Every field, in [`SignalInputs::NAMES`] order.
    pub fn values(&self) -> [Option<f64>; 10] {
        [
            self.funding_8h_pct,
            self.oi_change_1h_pct,
            self.liq_long_1h_usd,
            self.liq_short_1h_usd,
            self.retail_long_pct,
            self.retail_short_pct,
            self.top_long_pct,
            self.top_short_pct,
            self.taker_buy_pct,
            self.price_change_1h_pct,
        ]
    }

    /// The inverse of [`SignalInputs::values`].
    pub fn from_values(v: [Option<f64>; 10]) -> Self {
        let [funding_8h_pct, oi_change_1h_pct, liq_long_1h_usd, liq_short_1h_usd, retail_long_pct, retail_short_pct, top_long_pct, top_short_pct, taker_buy_pct, price_change_1h_pct] =
            v;
        SignalInputs {
            funding_8h_pct,
            oi_change_1h_pct,
            liq_long_1h_usd,
            liq_short_1h_usd,
            retail_long_pct,
            retail_short_pct,
            top_long_pct,
            top_short_pct,
            taker_buy_pct,
            price_change_1h_pct,
        }
    }
}

/// Normalises a funding rate quoted per `interval_hours` to its 8-hour equivalent.
/// An unknown or non-positive interval is taken as 8 h (the common default).
pub fn funding_to_8h(rate_pct: f64, interval_hours: Option<f64>) -> f64 {
    match interval_hours {
        Some(h) if h > 0.0 && h.is_finite() => rate_pct * 8.0 / h,
        _ => rate_pct,
    }
}

/// A funding interval that a rate can be normalised with (positive and finite hours).
pub fn known_interval(interval_hours: Option<f64>) -> bool {
    interval_hours.is_some_and(|h| h > 0.0 && h.is_finite())
}

/// OI-weighted mean of the stablecoin-margined 8h rates, over exchanges whose OI is known;
/// the simple mean when no OI is known; `None` when there are no stablecoin rows. Rows whose
/// funding interval is unknown are left out: their rate cannot be brought to 8 h.
pub fn oi_weighted_funding_8h(rows: &[ExchangeFunding]) -> Option<f64> {
    let stable = rows
        .iter()
        .filter(|r| r.margin == Margin::Stablecoin && known_interval(r.interval_hours));
    let (mut weighted, mut weight) = (0.0, 0.0);
    let (mut sum, mut count) = (0.0, 0usize);
    for r in stable {
        if !r.rate_8h_pct.is_finite() {
            continue;
        }
        sum += r.rate_8h_pct;
        count += 1;
        if let Some(w) = r.oi_usd.filter(|w| *w > 0.0 && w.is_finite()) {
            weighted += r.rate_8h_pct * w;
            weight += w;
        }
    }
    if weight > 0.0 {
        Some(weighted / weight)
    } else if count > 0 {
        Some(sum / count as f64)
    } else {
        None
    }
}

/// Display band for an 8h funding rate (signals.md "Funding bands"). The labels say which side
/// is crowded (the side paying), never a direction: positive funding is read the contrarian way
/// by the rules (bearish), so a "bullish" label next to it would contradict them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FundingBand {
    /// Above +0.10 %: longs crowded, at risk of a flush.
    ExtremeGreed,
    /// +0.05 … +0.10 %: longs crowded.
    ElevatedLongs,
    Neutral,
    /// −0.10 … −0.05 %: shorts crowded.
    ElevatedShorts,
    /// Below −0.10 %: shorts crowded, at risk of a squeeze.
    ExtremeFear,
}

impl FundingBand {
    pub fn of(rate_8h_pct: f64) -> FundingBand {
        if rate_8h_pct > 0.10 {
            FundingBand::ExtremeGreed
        } else if rate_8h_pct > 0.05 {
            FundingBand::ElevatedLongs
        } else if rate_8h_pct >= -0.05 {
            FundingBand::Neutral
        } else if rate_8h_pct >= -0.10 {
            FundingBand::ElevatedShorts
        } else {
            FundingBand::ExtremeFear
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            FundingBand::ExtremeGreed => "extreme: longs crowded",
            FundingBand::ElevatedLongs => "elevated: longs crowded",
            FundingBand::Neutral => "neutral",
            FundingBand::ElevatedShorts => "elevated: shorts crowded",
            FundingBand::ExtremeFear => "extreme: shorts crowded",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(margin: Margin, rate: f64, hours: Option<f64>, oi: Option<f64>) -> ExchangeFunding {
        ExchangeFunding {
            exchange: "X".into(),
            margin,
            rate_pct: rate,
            interval_hours: hours,
            rate_8h_pct: funding_to_8h(rate, hours),
            next_funding_time: None,
            oi_usd: oi,
        }
    }

    #[test]
    fn normalises_funding_to_8h() {
        assert_eq!(funding_to_8h(0.0125, Some(1.0)), 0.1);
        assert_eq!(funding_to_8h(0.02, Some(4.0)), 0.04);
        assert_eq!(funding_to_8h(0.01, Some(8.0)), 0.01);
        assert_eq!(funding_to_8h(0.01, None), 0.01);
        assert_eq!(funding_to_8h(0.01, Some(0.0)), 0.01);
    }

    #[test]
    fn weights_by_open_interest_over_stablecoin_rows_only() {
        let rows = [
            row(Margin::Stablecoin, 0.01, Some(8.0), Some(3.0)),
            row(Margin::Stablecoin, 0.0125, Some(1.0), Some(1.0)), // 0.10 per 8h
            row(Margin::Token, 5.0, Some(8.0), Some(100.0)),       // ignored
        ];
        let w = oi_weighted_funding_8h(&rows).unwrap();
        assert!((w - (0.01 * 3.0 + 0.1) / 4.0).abs() < 1e-12);
    }

    #[test]
    fn rows_of_unknown_interval_are_left_out_of_the_mean() {
        let rows = [
            row(Margin::Stablecoin, 0.01, Some(8.0), Some(1.0)),
            row(Margin::Stablecoin, 0.5, None, Some(100.0)),
            row(Margin::Stablecoin, 0.5, Some(0.0), Some(100.0)),
        ];
        assert!((oi_weighted_funding_8h(&rows).unwrap() - 0.01).abs() < 1e-12);
        assert_eq!(
            oi_weighted_funding_8h(&[row(Margin::Stablecoin, 0.02, None, Some(5.0))]),
            None
        );
        assert!(known_interval(Some(4.0)));
        assert!(!known_interval(None));
        assert!(!known_interval(Some(f64::NAN)));
    }

    #[test]
    fn unavailable_says_why_in_its_own_words() {
        let r = GapReason::Unavailable("no BTC/USDT pair on OKX".into());
        assert_eq!(r.to_string(), "no BTC/USDT pair on OKX");
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["kind"], "unavailable");
    }

    #[test]
    fn falls_back_to_simple_mean_without_oi_and_none_without_rows() {
        let rows = [
            row(Margin::Stablecoin, 0.01, Some(8.0), None),
            row(Margin::Stablecoin, 0.03, Some(8.0), None),
        ];
        assert!((oi_weighted_funding_8h(&rows).unwrap() - 0.02).abs() < 1e-12);
        assert_eq!(oi_weighted_funding_8h(&[]), None);
        assert_eq!(
            oi_weighted_funding_8h(&[row(Margin::Token, 0.01, None, None)]),
            None
        );
    }

    #[test]
    fn funding_bands_follow_signals_md() {
        assert_eq!(FundingBand::of(0.1375), FundingBand::ExtremeGreed);
        assert_eq!(FundingBand::of(0.10), FundingBand::ElevatedLongs);
        assert_eq!(FundingBand::of(0.06), FundingBand::ElevatedLongs);
        assert_eq!(FundingBand::of(0.05), FundingBand::Neutral);
        assert_eq!(FundingBand::of(-0.05), FundingBand::Neutral);
        assert_eq!(FundingBand::of(-0.07), FundingBand::ElevatedShorts);
        assert_eq!(FundingBand::of(-0.10), FundingBand::ElevatedShorts);
        assert_eq!(FundingBand::of(-0.11), FundingBand::ExtremeFear);
    }

    #[test]
    fn funding_band_labels_say_who_is_crowded_not_a_direction() {
        // Positive funding is a bearish (contrarian) signal: its band must not read "bullish".
        for (rate, side) in [
            (0.2, "longs crowded"),
            (0.07, "longs crowded"),
            (-0.07, "shorts crowded"),
            (-0.2, "shorts crowded"),
        ] {
            let label = FundingBand::of(rate).label();
            assert!(label.contains(side), "{rate}: {label}");
            assert!(
                !label.contains("bullish") && !label.contains("bearish"),
                "{label}"
            );
        }
        assert_eq!(FundingBand::of(0.0).label(), "neutral");
    }

    #[test]
    fn signal_inputs_values_round_trip_in_name_order() {
        let i = SignalInputs {
            funding_8h_pct: Some(0.1),
            top_short_pct: Some(48.0),
            price_change_1h_pct: Some(-1.5),
            ..Default::default()
        };
        let v = i.values();
        assert_eq!(SignalInputs::from_values(v), i);
        let at = |name| SignalInputs::NAMES.iter().position(|n| *n == name).unwrap();
        assert_eq!(v[at("funding_8h_pct")], Some(0.1));
        assert_eq!(v[at("top_short_pct")], Some(48.0));
        assert_eq!(v[at("price_change_1h_pct")], Some(-1.5));
        assert_eq!(v.iter().filter(|x| x.is_some()).count(), 3);
    }

    #[test]
    fn absent_is_not_zero_in_inputs() {
        let s = Snapshot::new("BTC", SourceKind::Demo, Utc::now());
        let i = s.inputs();
        assert_eq!(i, SignalInputs::default());
        assert!(i.funding_8h_pct.is_none());
        assert_eq!(s.gaps().len(), 7);
    }

    #[test]
    fn expire_stale_drops_only_old_failed_values() {
        let t0 = Utc::now();
        let mut s = Snapshot::new("BTC", SourceKind::Live, t0 + chrono::Duration::seconds(900));
        s.taker = Field::fresh(TakerFlow::default(), t0); // carried over by schedule: kept
        s.liquidations = Field::fresh(Liquidations::default(), t0);
        s.liquidations
            .mark_failed(GapReason::FetchFailed("HTTP 500".into()));
        s.price = Field::fresh(Price::default(), t0 + chrono::Duration::seconds(800));
        s.price.mark_failed(GapReason::RateLimited); // stale but young: kept
        s.expire_stale(600);
        assert!(s.taker.get().is_some());
        assert!(s.liquidations.get().is_none());
        assert_eq!(
            s.liquidations.gap,
            Some(GapReason::FetchFailed("HTTP 500".into()))
        );
        assert!(s.price.get().is_some());
    }

    #[test]
    fn stale_field_keeps_value_and_expires() {
        let t0 = Utc::now();
        let mut f = Field::fresh(1.0, t0);
        assert!(!f.is_stale());
        f.mark_failed(GapReason::FetchFailed("timeout".into()));
        assert!(f.is_stale());
        assert_eq!(f.get(), Some(&1.0));
        f.expire_older_than(t0 + chrono::Duration::seconds(100), 60);
        assert_eq!(f.get(), None);
        assert!(f.gap.is_some());
    }
}
