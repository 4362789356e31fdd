//! The JSON object of one symbol's cycle: one line of `--no-ui --json`, and the body the webhook
//! sink posts. Field names are a contract users script against (README, "JSON output").

use super::SymbolReport;
use crate::model::{ExchangeFunding, Level, SourceKind};
use crate::signals::Signal;
use crate::source::VenueStatus;
use serde::Serialize;

/// The JSON object printed per symbol per cycle (`--no-ui --json`). Field names are a contract.
#[derive(Debug, Serialize)]
pub(crate) struct JsonLine<'a> {
    pub time: String,
    pub symbol: &'a str,
    pub source: SourceKind,
    pub level: Level,
    pub metrics: JsonMetrics<'a>,
    pub signals: Vec<JsonSignal<'a>>,
    pub stale: Vec<JsonGap>,
    /// Each venue's state this cycle (`{"venue", "state", "detail"}`), the exchanges source's;
    /// empty for the others.
    pub venues: &'a [VenueStatus],
}

#[derive(Debug, Serialize)]
pub(crate) struct JsonMetrics<'a> {
    pub funding_8h_pct: Option<f64>,
    pub funding_by_exchange: &'a [ExchangeFunding],
    pub oi_usd: Option<f64>,
    pub oi_change_5m_pct: Option<f64>,
    pub oi_change_15m_pct: Option<f64>,
    pub oi_change_30m_pct: Option<f64>,
    pub oi_change_1h_pct: Option<f64>,
    pub oi_change_4h_pct: Option<f64>,
    pub oi_change_24h_pct: Option<f64>,
    pub liq_long_1h_usd: Option<f64>,
    pub liq_short_1h_usd: Option<f64>,
    pub liq_total_1h_usd: Option<f64>,
    /// The liquidation sums come from streams that sample (Binance, OKX): the real figure is at
    /// least this. `null` when there are no sums (absent is never `false`).
    pub liq_lower_bound: Option<bool>,
    /// Seconds of the last hour no liquidation stream covered; `null` when all of it was.
    pub liq_uncovered_s: Option<u32>,
    pub retail_long_pct: Option<f64>,
    pub retail_short_pct: Option<f64>,
    pub top_long_pct: Option<f64>,
    pub top_short_pct: Option<f64>,
    pub long_short_source: Option<&'a str>,
    pub taker_buy_pct: Option<f64>,
    pub taker_buy_usd: Option<f64>,
    pub taker_sell_usd: Option<f64>,
    pub price: Option<f64>,
    pub price_change_1h_pct: Option<f64>,
    pub price_change_24h_pct: Option<f64>,
}

#[derive(Debug, Serialize)]
pub(crate) struct JsonSignal<'a> {
    pub id: &'static str,
    pub level: Level,
    pub bias: &'static str,
    pub title: &'a str,
    pub message: &'a str,
    /// Always present: `null` when the producer did not say.
    pub threshold: Option<&'a crate::signals::relative::ThresholdInfo>,
    pub record: Option<&'a crate::signals::Record>,
}

#[derive(Debug, Serialize)]
pub(crate) struct JsonGap {
    pub metric: &'static str,
    pub reason: String,
    /// Age of the kept value in seconds; `null` when there is no value at all.
    pub age_s: Option<i64>,
}

impl<'a> JsonLine<'a> {
    /// `venues`: the cycle's venue states ([`super::CycleReport::venues`]).
    pub(crate) fn new(report: &'a SymbolReport, venues: &'a [VenueStatus]) -> Self {
        let s = &report.snapshot;
        let funding = s.funding.get();
        let oi = s.open_interest.get().copied().unwrap_or_default();
        let liq_field = s.liquidations.get();
        let liq = liq_field.copied().unwrap_or_default();
        let retail = s.retail.get();
        let top = s.top.get();
        let taker = s.taker.get().copied().unwrap_or_default();
        let price = s.price.get().copied().unwrap_or_default();
        let inputs = s.inputs();
        JsonLine {
            time: s.time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            symbol: &s.symbol,
            source: s.source,
            level: report.level,
            metrics: JsonMetrics {
                funding_8h_pct: inputs.funding_8h_pct,
                funding_by_exchange: funding.map(|f| f.by_exchange.as_slice()).unwrap_or(&[]),
                oi_usd: oi.oi_usd,
                oi_change_5m_pct: oi.change_5m_pct,
                oi_change_15m_pct: oi.change_15m_pct,
                oi_change_30m_pct: oi.change_30m_pct,
                oi_change_1h_pct: oi.change_1h_pct,
                oi_change_4h_pct: oi.change_4h_pct,
                oi_change_24h_pct: oi.change_24h_pct,
                liq_long_1h_usd: liq.long_1h_usd,
                liq_short_1h_usd: liq.short_1h_usd,
                liq_total_1h_usd: liq.total_1h_usd(),
                liq_lower_bound: liq_field.map(|l| l.lower_bound),
                liq_uncovered_s: liq.uncovered_s,
                retail_long_pct: inputs.retail_long_pct,
                retail_short_pct: inputs.retail_short_pct,
                top_long_pct: inputs.top_long_pct,
                top_short_pct: inputs.top_short_pct,
                long_short_source: retail.or(top).map(|ls| ls.source.as_str()),
                taker_buy_pct: taker.buy_pct,
                taker_buy_usd: taker.buy_usd,
                taker_sell_usd: taker.sell_usd,
                price: price.price,
                price_change_1h_pct: price.change_1h_pct,
                price_change_24h_pct: price.change_24h_pct,
            },
            signals: report.signals.iter().map(JsonSignal::from).collect(),
            stale: s
                .gaps()
                .into_iter()
                .map(|g| JsonGap {
                    metric: g.metric,
                    reason: g.reason.to_string(),
                    age_s: g.age_s,
                })
                .collect(),
            venues,
        }
    }
}

impl<'a> From<&'a Signal> for JsonSignal<'a> {
    fn from(s: &'a Signal) -> Self {
        JsonSignal {
            id: s.id.as_str(),
            level: s.level,
            bias: s.bias.as_str(),
            title: &s.title,
            message: &s.message,
            threshold: s.threshold.as_ref(),
            record: s.record.as_ref(),
        }
    }
}
