//! The exchanges source's sample: the sketch's symbols read from Binance, Bybit and OKX, with
//! funding per venue, liquidations from sampled streams (a lower bound) over an hour a stream
//! did not wholly cover, and each venue's state.

use super::{full_snapshot, signal, t0};
use crate::fixtures::symbol_report;
use crate::model::{Bias, ExchangeFunding, Field, Funding, Level, Liquidations, Margin, Snapshot};
use crate::monitor::Update;
use crate::report::CycleReport;
use crate::signals::SignalId;
use crate::source::VenueStatus;
use crate::ui::state::{update, Event, UiState};
use crate::ui::theme::Theme;
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;

/// A venue's state.
pub fn venue(venue: &str, state: &str, detail: Option<&str>) -> VenueStatus {
    VenueStatus {
        venue: venue.into(),
        state: state.into(),
        detail: detail.map(str::to_string),
    }
}

/// One venue's funding row: `rate` percent per `hours`.
fn venue_row(name: &str, rate: f64, hours: f64, oi: f64, now: DateTime<Utc>) -> ExchangeFunding {
    ExchangeFunding {
        exchange: name.into(),
        margin: Margin::Stablecoin,
        rate_pct: rate,
        interval_hours: Some(hours),
        rate_8h_pct: crate::model::funding_to_8h(rate, Some(hours)),
        next_funding_time: Some(now + Duration::minutes(88)),
        oi_usd: Some(oi),
    }
}

/// `symbol` as the exchanges source reports it: the sketch's numbers, funding from the three
/// venues (Bybit on a 4 h interval), positioning from Binance 5m bars, and liquidations from
/// the streams: a lower bound, with `uncovered_s` of the hour not covered.
fn exchanges_snapshot(
    symbol: &str,
    at: DateTime<Utc>,
    k: f64,
    uncovered_s: Option<u32>,
) -> Snapshot {
    let mut s = full_snapshot(symbol, at, k);
    s.source = crate::model::SourceKind::Exchanges;
    let by_exchange = vec![
        venue_row("Binance", 0.012 * k, 8.0, 9e9, at),
        venue_row("Bybit", 0.004 * k, 4.0, 5e9, at),
        venue_row("OKX", 0.010 * k, 8.0, 3e9, at),
    ];
    s.funding = Field::fresh(
        Funding {
            rate_8h_pct: crate::model::oi_weighted_funding_8h(&by_exchange),
            by_exchange,
        },
        at,
    );
    for ls in [s.retail.value.as_mut(), s.top.value.as_mut()]
        .into_iter()
        .flatten()
    {
        ls.source = format!("Binance {symbol}USDT 5m");
    }
    s.liquidations = Field::fresh(
        Liquidations {
            long_1h_usd: Some(12.4e6),
            short_1h_usd: Some(3.1e6),
            lower_bound: true,
            uncovered_s,
        },
        at,
    );
    s
}

/// A finished exchanges cycle of `symbols` at `at` with the venues' states.
pub fn exchanges_cycle(
    cycle: u64,
    at: DateTime<Utc>,
    symbols: &[&str],
    venues: Vec<VenueStatus>,
    uncovered_s: Option<u32>,
) -> Arc<CycleReport> {
    let reports = symbols
        .iter()
        .map(|name| {
            let signals = if *name == "BTC" {
                vec![signal(
                    SignalId::LongLiquidationCascade,
                    Level::High,
                    Bias::Bearish,
                    "Long liquidation cascade: ≥$12.4M in 1h",
                )]
            } else {
                vec![]
            };
            // The numbers move a little from cycle to cycle, so sparklines have a shape.
            let k = 0.7 + 0.05 * cycle as f64;
            symbol_report(exchanges_snapshot(name, at, k, uncovered_s), signals)
        })
        .collect();
    let mut report =
        (*super::cycle(cycle, at, crate::fixtures::exchanges_label(), reports)).clone();
    report.requests = crate::source::RequestStats {
        this_cycle: 9,
        used_this_minute: None,
        limit_per_minute: None,
        total: 9 * cycle,
    };
    report.venues = venues;
    Arc::new(report)
}

/// BTC, ETH and SOL on the exchanges source: a few cycles (for the sparklines), the last one
/// with `venues` and `uncovered_s` seconds of the hour not covered by the streams.
pub fn exchanges_state(
    size: (u16, u16),
    theme: Theme,
    venues: Vec<VenueStatus>,
    uncovered_s: Option<u32>,
) -> UiState {
    let names = ["BTC", "ETH", "SOL"];
    let ok = || {
        ["binance", "bybit", "okx"]
            .map(|v| venue(v, "ok", None))
            .to_vec()
    };
    let mut state = UiState::new(t0(), size, theme);
    let cycles = 6;
    for i in 0..cycles {
        let at = t0() - Duration::minutes(cycles - 1 - i);
        let last = i == cycles - 1;
        let report = exchanges_cycle(
            i as u64 + 1,
            at,
            &names,
            if last { venues.clone() } else { ok() },
            if last { uncovered_s } else { None },
        );
        update(&mut state, Event::Monitor(Update::Cycle(report)));
    }
    state
}
