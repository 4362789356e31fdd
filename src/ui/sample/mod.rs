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
use crate::signals::relative::{ThresholdInfo, ThresholdMode};
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
            ..Default::default()
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

/// A relative threshold: the `percentile`-th of 30 days, held to its floor when `floored`.
fn relative(value: f64, percentile: f64, floored: bool) -> Option<ThresholdInfo> {
    Some(ThresholdInfo {
        mode: ThresholdMode::Relative,
        value,
        percentile: Some(percentile),
        window: Some("30d".into()),
        note: floored.then_some(crate::signals::relative::FLOOR_NOTE),
    })
}

/// The signals of the sketch's BTC, with their thresholds: relative, at the floor, and one
/// still warming up.
pub fn btc_signals() -> Vec<Signal> {
    let with = |mut s: Signal, threshold: Option<ThresholdInfo>| {
        s.threshold = threshold;
        s
    };
    vec![
        with(
            signal(
                SignalId::SetupClassicTop,
                Level::High,
                Bias::Bearish,
                "Classic top setup: funding 0.14%, OI +7.0% 1h, retail 70% long",
            ),
            relative(0.0213, 99.0, false),
        ),
        with(
            signal(
                SignalId::FundingExtremeLong,
                Level::High,
                Bias::Bearish,
                "Extreme positive funding: 0.1375% per 8h",
            ),
            relative(0.0213, 99.0, false),
        ),
        with(
            signal(
                SignalId::OiSurge,
                Level::High,
                Bias::Neutral,
                "Open interest surged 7.0% in 1h",
            ),
            relative(1.0, 99.0, true),
        ),
        with(
            signal(
                SignalId::TakerBuyPressure,
                Level::Medium,
                Bias::Bullish,
                "Taker buy pressure: 68.0% of taker volume",
            ),
            Some(ThresholdInfo {
                mode: ThresholdMode::Static,
                value: 65.0,
                percentile: None,
                window: None,
                note: Some("warming up: static threshold"),
            }),
        ),
        with(
            signal(
                SignalId::FlowNewLongs,
                Level::Low,
                Bias::Bullish,
                "New longs: OI and price up",
            ),
            relative(0.42, 75.0, false),
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

/// The overview's market: up to 25 well-known coins with prices of every size, funding from
/// negative to extreme, and a mix of signals (HIGH, MEDIUM, LOW, none).
pub const MARKET: [(&str, f64); 25] = [
    ("BTC", 97_000.0),
    ("ETH", 3_412.5),
    ("SOL", 245.5),
    ("XRP", 2.3114),
    ("DOGE", 0.381_25),
    ("BNB", 690.2),
    ("ADA", 1.0213),
    ("AVAX", 41.32),
    ("LINK", 23.41),
    ("DOT", 7.812),
    ("TRX", 0.2417),
    ("TON", 5.613),
    ("SUI", 3.921),
    ("LTC", 104.3),
    ("BCH", 480.7),
    ("NEAR", 6.102),
    ("APT", 12.21),
    ("ARB", 0.8512),
    ("OP", 2.104),
    ("INJ", 28.03),
    ("PEPE", 0.000_012_34),
    ("WIF", 2.913),
    ("HYPE", 31.52),
    ("SEI", 0.5213),
    ("TIA", 8.417),
];

/// Symbol `i` of [`MARKET`] at `at`, every metric fresh, its numbers spread by `i`.
pub fn market_snapshot(i: usize, at: DateTime<Utc>) -> Snapshot {
    let (name, price) = MARKET[i % MARKET.len()];
    // Funding from -0.05 % to +0.15 % per 8h: full_snapshot's rates scale with `k`.
    let k = ((i * 7 + 9) % 13) as f64 / 6.0 - 0.4;
    let mut s = full_snapshot(name, at, k);
    let step = |m: usize, n: usize| ((i * m) % n) as f64 - (n / 2) as f64;
    s.price = Field::fresh(
        Price {
            price: Some(price),
            change_1h_pct: Some(step(37, 21) * 0.13 + 0.04),
            change_24h_pct: Some(step(53, 31) * 0.41 - 0.07),
        },
        at,
    );
    if let Some(oi) = s.open_interest.value.as_mut() {
        oi.oi_usd = Some(60e9 / (i as f64 + 1.0).powf(1.4));
        oi.change_1h_pct = Some(step(29, 17) * 0.6 + 0.1);
    }
    s.liquidations = Field::fresh(
        Liquidations {
            long_1h_usd: Some(42.1e6 / (i as f64 + 1.0) * (1.0 + (i % 3) as f64)),
            short_1h_usd: Some(8.3e6 / (i as f64 + 1.0) * (1.0 + (i % 4) as f64)),
            ..Default::default()
        },
        at,
    );
    if let Some(r) = s.retail.value.as_mut() {
        let long = 45.0 + ((i * 11) % 31) as f64;
        r.long_pct = Some(long);
        r.short_pct = Some(100.0 - long);
    }
    s
}

/// The signals symbol `i` of [`MARKET`] has: BTC the sketch's five, then HIGH, MEDIUM, LOW and
/// none in turn.
pub fn market_signals(i: usize) -> Vec<Signal> {
    if i == 0 {
        return btc_signals();
    }
    match i % 4 {
        1 => vec![
            signal(
                SignalId::LiquidationsElevated,
                Level::Medium,
                Bias::Neutral,
                "Liquidations elevated: $31.0M in 1h",
            ),
            signal(
                SignalId::FlowNewLongs,
                Level::Low,
                Bias::Bullish,
                "New longs: OI and price up",
            ),
        ],
        2 => vec![signal(
            SignalId::FlowShortCovering,
            Level::Low,
            Bias::Neutral,
            "Short covering: OI down, price up",
        )],
        3 if i % 3 == 0 => vec![signal(
            SignalId::FundingExtremeLong,
            Level::High,
            Bias::Bearish,
            "Extreme positive funding: 0.1375% per 8h",
        )],
        _ => vec![],
    }
}

/// The first `n` (at most 25) symbols of [`MARKET`] after two live cycles, 2h10m before [`t0`]
/// and at it (the signals have been active since the first), the screen `size`, the overview
/// showing.
pub fn market_state(n: usize, size: (u16, u16), theme: Theme) -> UiState {
    let mut state = UiState::new(t0(), size, theme);
    for (k, at) in [(1, t0() - Duration::minutes(130)), (2, t0())] {
        let reports = (0..n.min(MARKET.len()))
            .map(|i| symbol_report(market_snapshot(i, at), market_signals(i)))
            .collect();
        update(
            &mut state,
            Event::Monitor(Update::Cycle(cycle(k, at, live_hobbyist(), reports))),
        );
    }
    state.screen = super::state::Screen::Overview;
    state
}

/// [`market_state`] four minutes later, in which ETH's metrics are gappy (stale funding, absent
/// open interest, liquidations and retail, no 1h price change) and SOL had no data at all (its
/// values kept as stale, its signals last known).
pub fn market_with_gaps(n: usize, size: (u16, u16), theme: Theme) -> UiState {
    use crate::model::GapReason;
    let mut state = market_state(n, size, theme);
    let at = t0() + Duration::minutes(4);
    let reports = (0..n.min(MARKET.len()))
        .map(|i| match MARKET[i].0 {
            "ETH" => {
                let mut s = gappy_snapshot("ETH", at);
                s.price = Field::fresh(
                    Price {
                        price: Some(MARKET[i].1),
                        change_1h_pct: None,
                        change_24h_pct: Some(-2.1),
                    },
                    at,
                );
                symbol_report(s, vec![])
            }
            "SOL" => {
                let mut s = market_snapshot(i, t0());
                s.time = at;
                let why = GapReason::FetchFailed("HTTP 500".into());
                s.mark_all_failed(&why);
                symbol_report(s, vec![])
            }
            _ => symbol_report(market_snapshot(i, at), market_signals(i)),
        })
        .collect();
    update(
        &mut state,
        Event::Monitor(Update::Cycle(cycle(3, at, live_hobbyist(), reports))),
    );
    state
}

mod exchanges;
pub use exchanges::{exchanges_cycle, exchanges_state, venue};
