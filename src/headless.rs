//! `--no-ui` output: one line per symbol per cycle on stdout, human text or JSON lines.
//! Absent values print as `n/a` (text) or `null` (JSON), never as zero.

use crate::format::{self, usd};
use crate::model::{ExchangeFunding, Level, SourceKind};
use crate::monitor::{CycleReport, SymbolReport, Update};
use crate::signals::Signal;
use serde::Serialize;
use std::io::Write;

/// The JSON object printed per symbol per cycle (`--no-ui --json`). Field names are a contract.
#[derive(Debug, Serialize)]
pub struct JsonLine<'a> {
    pub time: String,
    pub symbol: &'a str,
    pub source: SourceKind,
    pub level: Level,
    pub metrics: JsonMetrics<'a>,
    pub signals: Vec<JsonSignal<'a>>,
    pub stale: Vec<JsonGap>,
}

#[derive(Debug, Serialize)]
pub struct JsonMetrics<'a> {
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
pub struct JsonSignal<'a> {
    pub id: &'static str,
    pub level: Level,
    pub bias: &'static str,
    pub title: &'a str,
    pub message: &'a str,
}

#[derive(Debug, Serialize)]
pub struct JsonGap {
    pub metric: &'static str,
    pub reason: String,
    /// Age of the kept value in seconds; `null` when there is no value at all.
    pub age_s: Option<i64>,
}

impl<'a> JsonLine<'a> {
    pub fn new(report: &'a SymbolReport) -> Self {
        let s = &report.snapshot;
        let funding = s.funding.get();
        let oi = s.open_interest.get().copied().unwrap_or_default();
        let liq = s.liquidations.get().copied().unwrap_or_default();
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
        }
    }
}

/// `+0.0123%`, or `n/a` when absent. Shared with the alert messages.
pub fn pct(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "n/a".to_string(), |v| format::signed_pct(v, decimals))
}

/// `64.0%`, or `n/a` when absent. Shared with the alert messages.
pub fn share(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_string(), |v| format::share_pct(v, 1))
}

/// One human line: time, source, symbol, level, signal count, funding 8h, OI change 1h,
/// liquidations 1h, retail/top long %. Stale or absent metric groups are listed at the end.
pub fn text_line(report: &SymbolReport) -> String {
    let s = &report.snapshot;
    let i = s.inputs();
    let liq = s.liquidations.get().copied().unwrap_or_default();
    let mut line = format!(
        "{} {} {:<8} {:<6} signals={} funding_8h={} oi_1h={} liq_1h=long {} / short {} retail_long={} top_long={}",
        s.time.format("%Y-%m-%dT%H:%M:%SZ"),
        match s.source {
            SourceKind::Demo => "DEMO",
            SourceKind::Live => "LIVE",
        },
        s.symbol,
        report.level.as_str(),
        report.signals.len(),
        pct(i.funding_8h_pct, 4),
        pct(i.oi_change_1h_pct, 2),
        usd(liq.long_1h_usd),
        usd(liq.short_1h_usd),
        share(i.retail_long_pct),
        share(i.top_long_pct),
    );
    let gaps = s.gaps();
    if !gaps.is_empty() {
        let list: Vec<String> = gaps
            .iter()
            .map(|g| match g.age_s {
                Some(age) => format!("{} stale {}s ({})", g.metric, age, g.reason),
                None => format!("{} n/a ({})", g.metric, g.reason),
            })
            .collect();
        line.push_str(" | ");
        line.push_str(&list.join("; "));
    }
    line
}

/// Writes one cycle: a line per symbol, plus (text mode) one line per signal fired.
pub fn write_cycle(out: &mut impl Write, report: &CycleReport, json: bool) -> std::io::Result<()> {
    for sym in &report.symbols {
        if json {
            serde_json::to_writer(&mut *out, &JsonLine::new(sym))?;
            writeln!(out)?;
        } else {
            writeln!(out, "{}", text_line(sym))?;
            for sig in &sym.signals {
                writeln!(
                    out,
                    "    {} {:<6} {:<7} {}: {}",
                    sym.snapshot.symbol,
                    sig.level.as_str(),
                    sig.bias.as_str(),
                    sig.id,
                    sig.message
                )?;
            }
        }
    }
    out.flush()
}

/// How the headless frontend ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadlessExit {
    /// The monitor finished (`--once`) or a shutdown signal arrived.
    Done,
    /// The source refused to go on (API key refused).
    Fatal(String),
}

/// Consumes updates until the monitor ends, a fatal error, or `shutdown` resolves.
pub async fn run(
    mut updates: tokio::sync::mpsc::Receiver<Update>,
    json: bool,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<HeadlessExit> {
    tokio::pin!(shutdown);
    let stdout = std::io::stdout();
    loop {
        tokio::select! {
            _ = &mut shutdown => return Ok(HeadlessExit::Done),
            update = updates.recv() => match update {
                None => return Ok(HeadlessExit::Done),
                Some(Update::Cycle(report)) => {
                    let mut lock = stdout.lock();
                    match write_cycle(&mut lock, &report, json) {
                        // A closed pipe (e.g. `| head`) ends the run quietly.
                        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                            return Ok(HeadlessExit::Done)
                        }
                        other => other?,
                    }
                }
                Some(Update::Fatal(msg)) => return Ok(HeadlessExit::Fatal(msg)),
                Some(Update::CycleStarted { .. })
                | Some(Update::Paused(_))
                | Some(Update::History(_)) => {}
            },
        }
    }
}
