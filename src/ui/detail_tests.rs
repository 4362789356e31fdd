//! Rendering tests of the detail view's header and lists: the price line, the Active-now list,
//! the feed's onset/level/end entries and track records, and the top bar's hidden-tab summary.

use super::sample::{self, t0};
use super::state::{update, Event, UiState};
use super::tests::{color, dead_first_cycle_80x24, key, live, panel, rows, screen, text};
use super::view;
use crate::monitor::Update;
use chrono::Duration;
use ratatui::style::Color;

/// The live sketch with BTC's price replaced, `minutes` after the sketch's last cycle.
fn with_price(
    w: u16,
    h: u16,
    price: crate::model::Field<crate::model::Price>,
    minutes: i64,
) -> UiState {
    let mut s = live(w, h);
    s.now = t0() + Duration::minutes(minutes);
    s.symbols[0].snapshot.as_mut().expect("BTC snapshot").price = price;
    s
}

fn price_header(s: &UiState) -> String {
    // The frame, the price line and the first funding line: the detail's header area.
    text(&panel(s, 40, 4, super::funding::render))
}

#[test]
fn the_price_header_fresh_stale_and_absent() {
    use crate::model::{Field, GapReason, Price};
    let fresh = live(80, 24);
    let mut stale_price = fresh.selected_snapshot().unwrap().price.clone();
    stale_price.mark_failed(GapReason::FetchFailed("HTTP 500".into()));
    let stale = with_price(80, 24, stale_price, 4);
    let absent = with_price(80, 24, Field::absent(GapReason::NotInPlan), 0);
    let partial = with_price(
        80,
        24,
        Field::fresh(
            Price {
                price: Some(0.000_012_345_6),
                change_1h_pct: None,
                change_24h_pct: Some(-12.5),
            },
            t0(),
        ),
        0,
    );
    insta::assert_snapshot!("price_header_fresh", price_header(&fresh));
    insta::assert_snapshot!("price_header_stale", price_header(&stale));
    insta::assert_snapshot!("price_header_absent", price_header(&absent));
    insta::assert_snapshot!("price_header_partial", price_header(&partial));
    // Wider, the stale note says why.
    let wide = text(&panel(&stale, 100, 4, super::funding::render));
    assert!(wide.contains("stale 4m (fetch failed: HTTP 500)"), "{wide}");
    // Absent is never a zero.
    for s in [&absent, &partial] {
        let h = price_header(s);
        assert!(!h.contains("$0 ") && !h.contains("+0.00%"), "{h}");
    }
    assert!(price_header(&absent).contains("price n/a: not in your plan"));
}

#[test]
fn the_price_shows_at_every_size() {
    for (w, h) in [(80, 24), (120, 36), (200, 50)] {
        let shown = text(&screen(&live(w, h)));
        assert!(
            shown.contains("$97,000.00") && shown.contains("+1.20%") && shown.contains("+3.40%"),
            "{w}×{h}: {shown}"
        );
    }
}

#[test]
fn active_now_lists_the_selected_symbols_signals() {
    let mut s = live(120, 36);
    s.now = t0() + Duration::minutes(130);
    insta::assert_snapshot!(
        "panel_active_now",
        panel(&s, 60, 8, super::active::render).backend()
    );
    // At 80 columns the same list is one line on the feed's bottom border.
    s.size = (80, 24);
    let shown = text(&screen(&s));
    assert!(shown.contains("BTC now: HIGH Classic top"), "{shown}");
    assert!(shown.contains("2h10m"), "{shown}");
}

#[test]
fn the_feed_says_when_a_signal_ended_and_when_its_level_changed() {
    use crate::signals::SignalId;
    let mut s = live(80, 24);
    let at = t0() + Duration::minutes(130);
    // BTC: everything ends but the classic top, which drops to MEDIUM.
    let mut top = sample::btc_signals()
        .into_iter()
        .find(|x| x.id == SignalId::SetupClassicTop)
        .expect("classic top");
    top.level = crate::model::Level::Medium;
    let report = sample::cycle(
        49,
        at,
        sample::live_hobbyist(),
        vec![crate::fixtures::symbol_report(
            sample::full_snapshot("BTC", at, 1.0),
            vec![top],
        )],
    );
    update(&mut s, Event::Monitor(Update::Cycle(report)));
    let shown = text(&screen(&s));
    assert!(shown.contains("· HIGH → MEDIUM"), "{shown}");
    assert!(shown.contains("ended after 2h10m"), "{shown}");
    insta::assert_snapshot!("feed_onset_end_and_level_change_at_80x24", shown);
}

#[test]
fn hidden_tabs_are_summarised_by_count_and_worst_level() {
    use crate::model::Level;
    let mut s = sample::market_state(25, (80, 24), color());
    s.screen = super::state::Screen::Detail;
    let worst =
        |s: &UiState, range: std::ops::Range<usize>| s.symbols[range].iter().map(|v| v.level).max();
    for selected in 0..25 {
        s.selected = selected;
        let hits = view::tab_hits(&s, 80);
        let (first, last) = (hits[0].index, hits[hits.len() - 1].index);
        assert!((first..=last).contains(&selected));
        let (left, right) = view::hidden_tabs(&s, 80);
        assert_eq!(left.map(|h| h.count).unwrap_or(0), first, "{selected}");
        assert_eq!(right.map(|h| h.count).unwrap_or(0), 24 - last, "{selected}");
        assert_eq!(left.map(|h| h.worst), worst(&s, 0..first), "{selected}");
        assert_eq!(
            right.map(|h| h.worst),
            worst(&s, last + 1..25),
            "{selected}"
        );
        let top = rows(&screen(&s))[0].clone();
        for (h, is_left) in [(left, true), (right, false)] {
            if let Some(h) = h {
                assert!(!h.short, "{selected}: {top}");
                assert!(top.contains(&h.text(is_left)), "{selected}: {top}");
            }
        }
    }
    // BTC selected: the hidden tabs on the right include a HIGH one, drawn in its colour.
    s.selected = 0;
    let t = screen(&s);
    let top = rows(&t)[0].clone();
    let (_, right) = view::hidden_tabs(&s, 80);
    let right = right.expect("hidden on the right");
    assert_eq!(right.worst, Level::High);
    let text = format!("●{}›", right.count);
    assert!(top.contains(&text), "{top}");
    let x = top[..top.find(&text).unwrap_or(0)].chars().count() as u16;
    assert_eq!(t.backend().buffer()[(x, 0)].fg, Color::Red);
    insta::assert_snapshot!("hidden_tabs_summary_top_bar", top);
    // Hidden symbols without data and no level read `✕`, in the no-data colour.
    for v in s.symbols.iter_mut().skip(1) {
        v.no_data = true;
    }
    let t = screen(&s);
    let top = rows(&t)[0].clone();
    let count = view::hidden_tabs(&s, 80).1.map_or(0, |h| h.count);
    let text = format!("✕{count}›");
    assert!(top.contains(&text), "{top}");
    let x = top[..top.find(&text).unwrap_or(0)].chars().count() as u16;
    assert_eq!(t.backend().buffer()[(x, 0)].fg, Color::Magenta);
    // And calm ones read `·`.
    for v in s.symbols.iter_mut() {
        v.no_data = false;
        v.level = Level::None;
    }
    let count = view::hidden_tabs(&s, 80).1.map_or(0, |h| h.count);
    let top = rows(&screen(&s))[0].clone();
    assert!(top.contains(&format!("·{count}›")), "{top}");
}

#[test]
fn with_no_room_for_the_counts_the_hidden_tab_markers_shrink_to_arrows() {
    // A dead source's banner leaves room for one tab at 80 columns.
    let s = dead_first_cycle_80x24();
    let (_, right) = view::hidden_tabs(&s, 80);
    let right = right.expect("ETH hidden");
    assert!(right.short);
    assert_eq!(right.text(false), "›");
    let top = rows(&screen(&s))[0].clone();
    assert!(top.contains("│ BTC ✕ n/a │›│"), "{top}");
}

/// Enter on a signal shows its track record under the message; one without enough history says
/// how much there is instead of a number.
#[test]
fn the_expanded_entry_shows_the_track_record_or_why_there_is_none() {
    use crate::signals::record::{NoRecord, MIN_DAYS};
    use crate::signals::SignalId;
    let mut s = UiState::new(t0(), (100, 14), color());
    let mut with = sample::signal(
        SignalId::FundingExtremeLong,
        crate::model::Level::High,
        crate::model::Bias::Bearish,
        "Extreme positive funding: 0.1375% per 8h",
    );
    with.record = Some(crate::fixtures::record_9_hits_of_14());
    let mut without = sample::signal(
        SignalId::OiSurge,
        crate::model::Level::High,
        crate::model::Bias::Neutral,
        "Open interest surged 7.0% in 1h",
    );
    without.no_record = Some(NoRecord::ShortHistory {
        days: 12.4,
        needs_days: MIN_DAYS,
    });
    // At the onset the record is still being computed; the next cycle brings it.
    let mut computing = with.clone();
    computing.record = None;
    computing.no_record = Some(NoRecord::Computing);
    let cycle = |n: u64, signals: Vec<crate::signals::Signal>| {
        let at = t0() - Duration::minutes(2 - n as i64);
        sample::cycle(
            n,
            at,
            sample::live_hobbyist(),
            vec![crate::fixtures::symbol_report(
                sample::full_snapshot("BTC", at, 1.0),
                signals,
            )],
        )
    };
    update(
        &mut s,
        Event::Monitor(Update::Cycle(cycle(1, vec![computing, without.clone()]))),
    );
    update(
        &mut s,
        Event::Monitor(Update::Cycle(cycle(2, vec![with, without]))),
    );
    let enter = || {
        Event::Key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Enter,
            crossterm::event::KeyModifiers::NONE,
        ))
    };
    update(&mut s, enter());
    let shown = text(&panel(&s, 100, 14, |f, a, s| {
        super::feed::render(f, a, s, super::view::Density::Normal)
    }));
    assert!(
        shown.contains("Track record: fired 14× in 180 d; ≥ 3 % move down within 24 h after 9"),
        "{shown}"
    );
    insta::assert_snapshot!("feed_expanded_with_track_record", shown);
    update(&mut s, key('j'));
    update(&mut s, enter());
    let shown = text(&panel(&s, 100, 14, |f, a, s| {
        super::feed::render(f, a, s, super::view::Density::Normal)
    }));
    assert!(
        shown.contains("No track record yet: 12 days of history (needs 30)"),
        "{shown}"
    );
    assert!(!shown.contains("Track record: fired"), "{shown}");
}
