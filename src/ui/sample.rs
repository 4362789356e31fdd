//! Deterministic sample data for the dashboard's tests and the render benchmark (not used by the
//! running program): a five-symbol market with a busy BTC, the figures the snapshot tests show.

use super::state::{update, Event, UiState};
use super::theme::Theme;
use crate::fixtures::symbol_report;
use crate::model::{
    oi_weighted_funding_8h, Bias, ExchangeFunding, Field, Funding, Level, Liquidations, LongShort,
    Margin, OpenInterest, Price, Snapshot, SourceKind, TakerFlow,
};
use crate::monitor::Update;
use crate::report::{CycleReport, SymbolReport};
use crate::signals::{Signal, SignalId};
use crate::source::{RequestStats, SourceLabel};
use chrono::{DateTime, Duration, TimeZone, Utc};
use std::sync::Arc;

/// A fixed clock: 2025-11-25 14:32:07 UTC.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, 25, 14, 32, 7)
        .single()
        .unwrap_or_default()
}

pub fn live_hobbyist() -> SourceLabel {
    crate::fixtures::live_label(Some("HOBBYIST"))
}

pub fn demo() -> SourceLabel {
    SourceLabel {
        kind: SourceKind::Demo,
        plan: None,
    }
}

fn row(
    exchange: &str,
    margin: Margin,
    rate: f64,
    hours: Option<f64>,
    oi: f64,
    now: DateTime<Utc>,
    next_min: i64,
) -> ExchangeFunding {
    ExchangeFunding {
        exchange: exchange.into(),
        margin,
        rate_pct: rate,
        interval_hours: hours,
        rate_8h_pct: crate::model::funding_to_8h(rate, hours),
        next_funding_time: Some(now + Duration::minutes(next_min)),
        oi_usd: Some(oi),
    }
}

/// Every metric fresh. `k` (0.0 ..= 1.0) moves the numbers so that histories have a shape.
pub fn full_snapshot(symbol: &str, now: DateTime<Utc>, k: f64) -> Snapshot {
    let mut s = Snapshot::new(symbol, SourceKind::Live, now);
    let by_exchange = vec![
        row(
            "Binance",
            Margin::Stablecoin,
            0.15 * k,
            Some(8.0),
            10e9,
            now,
            133,
        ),
        row(
            "OKX",
            Margin::Stablecoin,
            0.145 * k,
            Some(8.0),
            6e9,
            now,
            133,
        ),
        row(
            "Bybit",
            Margin::Stablecoin,
            0.02 * k,
            Some(4.0),
            5e9,
            now,
            73,
        ),
        row(
            "Hyperliquid",
            Margin::Stablecoin,
            0.0125 * k,
            Some(1.0),
            3e9,
            now,
            28,
        ),
        row("Binance", Margin::Token, 0.01 * k, Some(8.0), 1e9, now, 133),
    ];
    let rate_8h_pct = oi_weighted_funding_8h(&by_exchange);
    s.funding = Field::fresh(
        Funding {
            rate_8h_pct,
            by_exchange,
        },
        now,
    );
    s.open_interest = Field::fresh(
        OpenInterest {
            oi_usd: Some(50e9 + 7.4e9 * k),
            change_5m_pct: Some(0.3),
            change_15m_pct: Some(0.6),
            change_30m_pct: Some(-1.4),
            change_1h_pct: Some(7.0 * k),
            change_4h_pct: Some(9.0),
            change_24h_pct: Some(12.1),
        },
        now,
    );
    s.liquidations = Field::fresh(
        Liquidations {
            long_1h_usd: Some(42.1e6),
            short_1h_usd: Some(8.3e6),
        },
        now,
    );
    let ls = |long: f64| LongShort {
        long_pct: Some(long),
        short_pct: Some(100.0 - long),
        bar_time: now,
        source: format!("Binance {symbol}USDT 4h"),
    };
    s.retail = Field::fresh(ls(70.0), now);
    s.top = Field::fresh(ls(52.0), now);
    s.taker = Field::fresh(
        TakerFlow {
            buy_pct: Some(68.0),
            buy_usd: Some(1.36e9),
            sell_usd: Some(0.64e9),
        },
        now,
    );
    s.price = Field::fresh(
        Price {
            price: Some(97_000.0),
            change_1h_pct: Some(1.2),
            change_24h_pct: Some(3.4),
        },
        now,
    );
    s
}

/// Every metric missing in a different way: not in plan, stale 4 min after a failed fetch,
/// pending, not reported.
pub fn gappy_snapshot(symbol: &str, now: DateTime<Utc>) -> Snapshot {
    use crate::model::GapReason;
    let full = full_snapshot(symbol, now - Duration::minutes(4), 1.0);
    let mut s = Snapshot::new(symbol, SourceKind::Live, now);
    s.funding = full.funding;
    s.funding
        .mark_failed(GapReason::FetchFailed("HTTP 500".into()));
    s.open_interest = Field::absent(GapReason::NotInPlan);
    s.liquidations = Field::absent(GapReason::Pending);
    s.retail = Field::absent(GapReason::NotInPlan);
    s.top = full.top;
    s.top.mark_failed(GapReason::RateLimited);
    s.taker = Field::absent(GapReason::NotReported);
    s
}

pub fn signal(id: SignalId, level: Level, bias: Bias, title: &str) -> Signal {
    Signal {
        id,
        level,
        bias,
        title: title.into(),
        message: format!(
            "{title}. The numbers that fired it are quoted here, in a paragraph long enough to wrap \
             over more than one line of the feed when it is expanded."
        ),
        threshold: None,
        record: None,
        no_record: None,
    }
}

/// The signals of the sketch's BTC.
pub fn btc_signals() -> Vec<Signal> {
    vec![
        signal(
            SignalId::SetupClassicTop,
            Level::High,
            Bias::Bearish,
            "Classic top setup: funding 0.14%, OI +7.0% 1h, retail 70% long",
        ),
        signal(
            SignalId::FundingExtremeLong,
            Level::High,
            Bias::Bearish,
            "Extreme positive funding: 0.1375% per 8h",
        ),
        signal(
            SignalId::OiSurge,
            Level::High,
            Bias::Neutral,
            "Open interest surged 7.0% in 1h",
        ),
        signal(
            SignalId::TakerBuyPressure,
            Level::Medium,
            Bias::Bullish,
            "Taker buy pressure: 68.0% of taker volume",
        ),
        signal(
            SignalId::FlowNewLongs,
            Level::Low,
            Bias::Bullish,
            "New longs: OI and price up",
        ),
    ]
}

/// A finished live cycle with the status bar's sample request figures and a poll due in 42 s.
pub fn cycle(
    cycle: u64,
    at: DateTime<Utc>,
    source: SourceLabel,
    symbols: Vec<SymbolReport>,
) -> Arc<CycleReport> {
    cycle_at(cycle, at, source, symbols)
}

fn cycle_at(
    cycle: u64,
    at: DateTime<Utc>,
    source: SourceLabel,
    symbols: Vec<SymbolReport>,
) -> Arc<CycleReport> {
    let mut report = crate::fixtures::cycle_report(cycle, at, source, symbols);
    report.requests = RequestStats {
        this_cycle: 7,
        used_this_minute: Some(21),
        limit_per_minute: Some(30),
        total: 7 * cycle,
    };
    report.next_poll_at = Some(at + Duration::seconds(42));
    Arc::new(report)
}

/// The sketch's market: BTC HIGH, ETH MEDIUM, SOL LOW, XRP NONE, DOGE MEDIUM, with history.
pub fn sketch_state(size: (u16, u16), theme: Theme, source: SourceLabel) -> UiState {
    let names = ["BTC", "ETH", "SOL", "XRP", "DOGE"];
    let mut state = UiState::new(t0(), size, theme);
    let samples = 48;
    for i in 0..samples {
        let at = t0() - Duration::minutes(samples - 1 - i);
        let k = 0.4 + 0.6 * (i as f64 / (samples - 1) as f64);
        let last = i == samples - 1;
        let reports = names
            .iter()
            .map(|name| {
                let signals = match (*name, last) {
                    ("BTC", true) => btc_signals(),
                    ("ETH", _) => vec![signal(
                        SignalId::LiquidationsElevated,
                        Level::Medium,
                        Bias::Neutral,
                        "Liquidations elevated: $31.0M in 1h",
                    )],
                    ("SOL", true) => vec![signal(
                        SignalId::FlowShortCovering,
                        Level::Low,
                        Bias::Neutral,
                        "Short covering: OI down, price up",
                    )],
                    ("DOGE", true) => vec![signal(
                        SignalId::TakerBuyPressure,
                        Level::Medium,
                        Bias::Bullish,
                        "Taker buy pressure: 66.2% of taker volume",
                    )],
                    _ => vec![],
                };
                symbol_report(full_snapshot(name, at, k), signals)
            })
            .collect();
        update(
            &mut state,
            Event::Monitor(Update::Cycle(cycle(
                i as u64 + 1,
                at,
                source.clone(),
                reports,
            ))),
        );
    }
    state
}

/// The benchmark's worst case: `n` symbols, full history ([`crate::report::HISTORY_CAP`] points), a
/// full feed ([`super::state::FEED_CAP`] entries).
pub fn loaded_state(n: usize, size: (u16, u16)) -> UiState {
    let names: Vec<String> = (0..n).map(|i| format!("SYM{i}")).collect();
    let mut state = UiState::new(t0(), size, Theme { color: true });
    let cycles = crate::report::HISTORY_CAP;
    for i in 0..cycles {
        let at = t0() - Duration::minutes((cycles - 1 - i) as i64);
        let k = 0.5 + 0.5 * ((i as f64) / 37.0).sin();
        let reports = names
            .iter()
            .enumerate()
            .map(|(j, name)| {
                // Alternating levels make a new feed entry every cycle for every symbol.
                let level = if (i + j) % 2 == 0 {
                    Level::High
                } else {
                    Level::Medium
                };
                let signals = vec![signal(
                    SignalId::FundingElevated,
                    level,
                    Bias::Bearish,
                    "Elevated funding: 0.0700% per 8h",
                )];
                symbol_report(full_snapshot(name, at, k), signals)
            })
            .collect();
        update(
            &mut state,
            Event::Monitor(Update::Cycle(cycle(
                i as u64 + 1,
                at,
                live_hobbyist(),
                reports,
            ))),
        );
    }
    state
}

/// What a dead network reads as at the client, word for word.
pub const REFUSED: &str = "temporary failure (error sending request: client error (Connect): \
                           tcp connect error: Connection refused (os error 111))";

/// A cycle in which nothing was fetched: every metric of every symbol failed with `why`,
/// values of earlier cycles kept as stale (that is how a live source reports a dead network),
/// with the cycle's errors as the monitor words them.
pub fn dead_cycle(cycle: u64, at: DateTime<Utc>, symbols: &[&str], why: &str) -> Arc<CycleReport> {
    use crate::model::GapReason;
    let reason = GapReason::FetchFailed(why.to_string());
    let reports: Vec<SymbolReport> = symbols
        .iter()
        .map(|name| {
            let mut s = full_snapshot(name, at - Duration::minutes(1), 1.0);
            s.time = at;
            s.funding.mark_failed(reason.clone());
            s.open_interest.mark_failed(reason.clone());
            s.liquidations.mark_failed(reason.clone());
            s.retail.mark_failed(reason.clone());
            s.top.mark_failed(reason.clone());
            s.taker.mark_failed(reason.clone());
            s.price.mark_failed(reason.clone());
            symbol_report(s, vec![])
        })
        .collect();
    let errors = crate::monitor::cycle_errors(&reports);
    let mut report = (*cycle_at(cycle, at, live_hobbyist(), reports)).clone();
    report.errors = errors;
    Arc::new(report)
}

/// A cycle in which nothing was ever fetched: every metric of every symbol absent with `why`
/// (a first cycle against a dead network).
pub fn dead_first_cycle(at: DateTime<Utc>, symbols: &[&str], why: &str) -> Arc<CycleReport> {
    use crate::model::GapReason;
    let reason = GapReason::FetchFailed(why.to_string());
    let reports: Vec<SymbolReport> = symbols
        .iter()
        .map(|name| {
            let mut s = Snapshot::new(*name, SourceKind::Live, at);
            s.funding = Field::absent(reason.clone());
            s.open_interest = Field::absent(reason.clone());
            s.liquidations = Field::absent(reason.clone());
            s.retail = Field::absent(reason.clone());
            s.top = Field::absent(reason.clone());
            s.taker = Field::absent(reason.clone());
            s.price = Field::absent(reason.clone());
            symbol_report(s, vec![])
        })
        .collect();
    let errors = crate::monitor::cycle_errors(&reports);
    let mut report = (*cycle_at(1, at, live_hobbyist(), reports)).clone();
    report.errors = errors;
    Arc::new(report)
}
