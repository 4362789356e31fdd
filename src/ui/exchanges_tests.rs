//! The dashboard on the exchanges source: the venues in the top bar and the panel titles, a
//! venue that is not fully working in the status bar, liquidation sums marked as a lower bound
//! and an hour the streams did not cover, and every venue down said plainly.

use super::sample::{self, t0, venue};
use super::state::{update, Event, UiState};
use super::tests::{panel, screen, text};
use super::theme::Theme;
use crate::model::{GapReason, SourceKind};
use crate::monitor::Update;
use crate::source::VenueStatus;

const PLAIN: Theme = Theme { color: false };

fn venues(bybit: &str) -> Vec<VenueStatus> {
    vec![
        venue("binance", "ok", None),
        venue("bybit", bybit, None),
        venue("okx", "ok", None),
    ]
}

/// Bybit's stream down 2 minutes, two minutes of the hour not covered.
fn bybit_down(size: (u16, u16)) -> UiState {
    sample::exchanges_state(size, PLAIN, venues("stream down 2m"), Some(120))
}

#[test]
fn the_detail_names_the_venues_and_the_one_that_is_down() {
    let t = screen(&bybit_down((120, 36)));
    insta::assert_snapshot!(t.backend());
    let shown = text(&t);
    let rows: Vec<&str> = shown.lines().collect();
    assert!(rows[0].contains("LIVE · Binance+Bybit+OKX"), "{}", rows[0]);
    let status = rows[rows.len() - 2];
    assert!(status.contains("Bybit stream down 2m"), "{status}");
    for wanted in [
        "Liquidations 1h · Binance+Bybit+OKX",
        "Open interest · Binance+Bybit+OKX",
        "≥$12.4M",
        "≥$3.1M",
        // The panel has one line under the bars: the legend in shorter words.
        "≥ sampled by Binance and OKX · 2m not covered",
        "Positioning · Binance BTCUSDT 5m",
    ] {
        assert!(shown.contains(wanted), "{wanted} missing:\n{shown}");
    }
    // The funding table lists the venues with their own intervals.
    for row in ["Binance", "Bybit", "OKX", "4h"] {
        assert!(shown.contains(row), "{row} missing:\n{shown}");
    }
}

#[test]
fn a_restricted_venue_is_said_at_the_normal_and_compact_sizes() {
    for size in [(80, 24), (60, 20)] {
        let mut v = venues("ok");
        v[0] = venue(
            "binance",
            "restricted region (HTTP 451)",
            Some("Binance refuses this region; the others carry on"),
        );
        let state = sample::exchanges_state(size, PLAIN, v, None);
        let t = screen(&state);
        insta::assert_snapshot!(format!("restricted_{}x{}", size.0, size.1), t.backend());
        let shown = text(&t);
        let status = shown.lines().rev().nth(1).unwrap_or_default();
        assert!(status.contains("Binance restricted region"), "{status}");
        assert!(!shown.contains("incomplete"), "a covered hour: {shown}");
    }
}

#[test]
fn every_venue_down_says_which_and_suggests_the_demo() {
    let mut state = bybit_down((120, 36));
    let at = t0() + chrono::Duration::minutes(1);
    let mut report = (*sample::dead_first_cycle(at, &["BTC", "ETH", "SOL"], "unreachable")).clone();
    report.source = crate::fixtures::exchanges_label();
    for s in &mut report.symbols {
        s.snapshot.source = SourceKind::Exchanges;
        s.snapshot
            .mark_all_failed(&GapReason::FetchFailed("every venue unreachable".into()));
    }
    report.venues = vec![
        venue("binance", "restricted region (HTTP 451)", None),
        venue("bybit", "unreachable", Some("connection refused")),
        venue("okx", "banned until 14:05Z", None),
    ];
    update(
        &mut state,
        Event::Monitor(Update::Cycle(std::sync::Arc::new(report))),
    );
    let t = screen(&state);
    insta::assert_snapshot!(t.backend());
    let cause = state.no_data.clone().unwrap_or_default();
    assert_eq!(
        cause,
        "Binance restricted region (HTTP 451); Bybit unreachable: connection refused; \
         OKX banned until 14:05Z; try --demo for the simulated market"
    );
    let shown = text(&t);
    let status = shown.lines().rev().nth(1).unwrap_or_default();
    assert!(
        status.contains("no data: Binance restricted region (HTTP 451)"),
        "{status}"
    );
    // The venues are in the message: not said twice.
    assert_eq!(status.matches("Binance").count(), 1, "{status}");
    // `e` lists each venue in full.
    let effects = update(&mut state, super::tests::key('e'));
    assert!(effects.is_empty());
    let t = screen(&state);
    insta::assert_snapshot!("every_venue_down_errors_popup", t.backend());
    let popup = text(&t);
    for line in [
        "Bybit unreachable: connection refused",
        "OKX banned until 14:05Z",
        "try --demo",
    ] {
        assert!(popup.contains(line), "{line} missing:\n{popup}");
    }
}

#[test]
fn the_liquidations_legend_gives_way_line_by_line() {
    let state = bybit_down((120, 36));
    let render = super::liquidations::render;
    // Inner heights 5, 4, 3 and 2: verdict and both legend lines; both legend lines; one
    // short legend line; the bars alone.
    let tall = text(&panel(&state, 60, 7, render));
    insta::assert_snapshot!("liquidations_60x7", tall);
    assert!(tall.contains("dominant: longs") && tall.contains("incomplete: 2m of the hour"));
    let four = text(&panel(&state, 60, 6, render));
    assert!(
        !four.contains("dominant") && four.contains("≥ lower bound: Binance"),
        "{four}"
    );
    let three = text(&panel(&state, 60, 5, render));
    assert!(
        three.contains("≥ sampled by Binance and OKX · 2m not covered"),
        "{three}"
    );
    let three_narrow = text(&panel(&state, 40, 5, render));
    assert!(
        three_narrow.contains("≥ lower bound · incomplete 2m"),
        "{three_narrow}"
    );
    let two = text(&panel(&state, 60, 4, render));
    assert!(
        two.contains("≥$12.4M") && !two.contains("lower bound"),
        "{two}"
    );
    // A narrow panel keeps a shorter title.
    let narrow = text(&panel(&state, 30, 7, render));
    assert!(narrow.contains("Liquidations"), "{narrow}");
    assert!(!narrow.contains("Binance+Bybit+OKX"), "{narrow}");
}

#[test]
fn coinglass_panels_keep_their_titles_and_whole_sums() {
    let state = sample::sketch_state((120, 36), PLAIN, sample::live_hobbyist());
    let shown = text(&screen(&state));
    assert!(shown.contains("Liquidations · last 1h"), "{shown}");
    assert!(
        !shown.contains('≥') && !shown.contains("Binance+Bybit"),
        "{shown}"
    );
}
