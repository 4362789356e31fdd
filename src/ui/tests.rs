//! Rendering tests: the whole screen and every panel on a `TestBackend`, with a fixed clock.

use super::sample::{self, t0};
use super::state::{update, Event, LastError, UiState};
use super::theme::Theme;
use super::view;
use crate::alerts::SinkState;
use crate::monitor::Update;
use chrono::Duration;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};
use ratatui::{Frame, Terminal};

pub(super) type PanelFn = fn(&mut Frame, Rect, &UiState);

pub(super) fn color() -> Theme {
    Theme { color: true }
}

pub(super) fn live(w: u16, h: u16) -> UiState {
    sample::sketch_state((w, h), color(), sample::live_hobbyist())
}

pub(super) fn screen(state: &UiState) -> Terminal<TestBackend> {
    let (w, h) = state.size;
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    t.draw(|f| view::render(f, state)).expect("draw");
    t
}

pub(super) fn panel(state: &UiState, w: u16, h: u16, render: PanelFn) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    t.draw(|f| render(f, f.area(), state)).expect("draw");
    t
}

pub(super) fn text(t: &Terminal<TestBackend>) -> String {
    t.backend().to_string()
}

/// The sketch's market with BTC's metrics replaced by the gappy snapshot.
fn gappy() -> UiState {
    let mut s = live(120, 36);
    let at = t0() + Duration::minutes(1);
    let report = sample::cycle(
        49,
        at,
        sample::live_hobbyist(),
        vec![crate::fixtures::symbol_report(
            sample::gappy_snapshot("BTC", at),
            vec![],
        )],
    );
    update(&mut s, Event::Monitor(Update::Cycle(report)));
    s
}

const PANELS: [(&str, PanelFn, u16, u16); 5] = [
    ("funding", super::funding::render, 60, 14),
    ("open_interest", super::open_interest::render, 60, 5),
    ("liquidations", super::liquidations::render, 60, 5),
    ("positioning", super::positioning::render, 60, 5),
    ("taker", super::taker::render, 60, 3),
];

#[test]
fn panels_with_full_data() {
    let s = live(120, 36);
    for (name, render, w, h) in PANELS {
        insta::assert_snapshot!(
            format!("panel_{name}_full"),
            panel(&s, w, h, render).backend()
        );
    }
}

#[test]
fn panels_with_missing_and_stale_data() {
    let s = gappy();
    for (name, render, w, h) in PANELS {
        insta::assert_snapshot!(
            format!("panel_{name}_gaps"),
            panel(&s, w, h, render).backend()
        );
    }
    let funding = text(&panel(&s, 60, 14, super::funding::render));
    assert!(funding.contains("stale 4m"), "{funding}");
    let wide = text(&panel(&s, 80, 14, super::funding::render));
    assert!(wide.contains("stale 4m (fetch failed: HTTP 500)"), "{wide}");
    let oi = text(&panel(&s, 60, 5, super::open_interest::render));
    assert!(oi.contains("n/a: not in your plan"), "{oi}");
    let liq = text(&panel(&s, 60, 5, super::liquidations::render));
    assert!(liq.contains("n/a: not fetched yet"), "{liq}");
    let pos = text(&panel(&s, 60, 5, super::positioning::render));
    assert!(pos.contains("retail n/a: not in your plan"), "{pos}");
    assert!(pos.contains("stale 4m"), "{pos}");
    let taker = text(&panel(&s, 60, 3, super::taker::render));
    assert!(taker.contains("n/a: not reported by the API"), "{taker}");
}

#[test]
fn panels_at_half_of_80_columns_fit_their_numbers() {
    let s = live(80, 24);
    let funding = text(&panel(&s, 40, 12, super::funding::render));
    // The table's last column must not be cut at the narrowest layout.
    assert!(
        funding.contains("Binance  +0.1500%    8h +0.1500% 2h13m"),
        "{funding}"
    );
    let oi = text(&panel(&s, 40, 5, super::open_interest::render));
    assert!(oi.contains("24h  +12.1%"), "{oi}");
}

#[test]
fn whole_screen_at_80x24() {
    insta::assert_snapshot!(screen(&live(80, 24)).backend());
}

#[test]
fn whole_screen_at_120x36() {
    insta::assert_snapshot!(screen(&live(120, 36)).backend());
}

#[test]
fn whole_screen_at_200x50() {
    insta::assert_snapshot!(screen(&live(200, 50)).backend());
}

#[test]
fn whole_screen_with_gaps_at_120x36() {
    insta::assert_snapshot!(screen(&gappy()).backend());
}

#[test]
fn demo_is_labelled() {
    let s = sample::sketch_state((120, 36), color(), sample::demo());
    let t = screen(&s);
    insta::assert_snapshot!(t.backend());
    let top: String = (0..120)
        .map(|x| t.backend().buffer()[(x, 0)].symbol().to_string())
        .collect();
    assert!(top.contains(" DEMO "), "{top}");
    let live_top = text(&screen(&live(120, 36)));
    assert!(!live_top.contains("DEMO"));
}

#[test]
fn before_the_first_cycle() {
    let s = UiState::new(t0(), (80, 24), color());
    insta::assert_snapshot!(screen(&s).backend());
}

#[test]
fn every_level_has_its_tab_marker_and_the_selection_is_reversed() {
    let t = screen(&live(120, 36));
    let buf = t.backend().buffer();
    let top: String = (0..120).map(|x| buf[(x, 0)].symbol().to_string()).collect();
    for tab in [
        " BTC ● HIGH ",
        " ETH ◐ MED ",
        " SOL ○ LOW ",
        " XRP · ",
        " DOGE ◐ MED ",
    ] {
        assert!(top.contains(tab), "{tab:?} missing from {top:?}");
    }
    let hits = view::tab_hits(&live(120, 36), 120);
    let (btc, eth) = (hits[0], hits[1]);
    let btc_cell = &buf[(btc.x + 1, 0)];
    assert!(btc_cell.modifier.contains(Modifier::REVERSED));
    assert_eq!(btc_cell.fg, Color::Red);
    assert!(!buf[(eth.x + 1, 0)].modifier.contains(Modifier::REVERSED));
    assert_eq!(buf[(eth.x + 1, 0)].fg, Color::Yellow);
    assert_eq!(buf[(hits[2].x + 1, 0)].fg, Color::Green);
    assert!(buf[(hits[3].x + 1, 0)].modifier.contains(Modifier::DIM));
    insta::assert_snapshot!(top);
}

#[test]
fn many_symbols_scroll_the_tabs_with_markers() {
    let mut s = sample::loaded_state(20, (80, 24));
    let first = text(&screen(&s));
    let top = first.lines().next().unwrap_or_default().to_string();
    assert!(
        top.contains("SYM0") && top.contains('›') && !top.contains('‹'),
        "{top}"
    );
    for _ in 0..12 {
        update(&mut s, key('l'));
    }
    let t = screen(&s);
    let top = text(&t).lines().next().unwrap_or_default().to_string();
    assert!(top.contains("SYM12") && top.contains('‹'), "{top}");
    insta::assert_snapshot!(t.backend());
}

pub(super) fn key(c: char) -> Event {
    Event::Key(crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char(c),
        crossterm::event::KeyModifiers::NONE,
    ))
}

#[test]
fn help_popup_lists_every_binding_and_the_legend() {
    let mut s = live(120, 36);
    update(&mut s, key('?'));
    let t = screen(&s);
    insta::assert_snapshot!(t.backend());
    let shown = text(&t);
    for b in super::keys::BINDINGS {
        assert!(shown.contains(b.help), "help lacks {:?}", b.help);
        assert!(
            shown.contains(&super::keys::keys_text(b)),
            "help lacks keys of {:?}",
            b.help
        );
    }
    for legend in [
        "● HIGH ◐ MED ○ LOW",
        "✕ n/a",
        "▲ ▼ ·",
        "bullish, bearish, neutral",
        "Only q and Ctrl-C quit. Esc never quits",
        "click a tab",
    ] {
        assert!(shown.contains(legend), "help lacks {legend:?}:\n{shown}");
    }
    assert!(!shown.contains("↑↓ 1–"), "it all fits: no scrolling");
}

/// The popup's text at 60 columns (where it spans the screen), as one line of words.
fn flat_words(t: &Terminal<TestBackend>) -> String {
    let rows = rows(t);
    let body = &rows[..rows.len() - 1];
    body.iter()
        .map(|r| r.replace('│', " "))
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn the_help_fits_60x20_by_scrolling_and_says_so() {
    let mut s = live(60, 20);
    update(&mut s, key('?'));
    let first = screen(&s);
    insta::assert_snapshot!(first.backend());
    let max = view::help_max_scroll(&s);
    assert!(max > 0);
    let mut seen = String::new();
    for page in 0..=max {
        let t = screen(&s);
        let all = rows(&t);
        let bar = all.last().cloned().unwrap_or_default();
        assert!(
            bar.contains("↑↓ scroll") && bar.contains("Esc/q close"),
            "{page}: {bar}"
        );
        assert!(
            all[all.len() - 2].contains(&format!(" {}–", page + 1)),
            "the frame says where: {}",
            all[all.len() - 2]
        );
        seen.push_str(&flat_words(&t));
        seen.push(' ');
        update(&mut s, key('j'));
    }
    for b in super::keys::BINDINGS {
        assert!(seen.contains(b.help), "never shown: {:?}", b.help);
    }
    for legend in [
        "✕ n/a",
        "bullish, bearish, neutral",
        "Only q and Ctrl-C quit.",
    ] {
        assert!(seen.contains(legend), "never shown: {legend:?}");
    }
}

#[test]
fn the_help_says_when_the_mouse_is_left_to_the_terminal() {
    let mut s = live(120, 36);
    s.mouse = false;
    update(&mut s, key('?'));
    let shown = text(&screen(&s));
    assert!(
        shown.contains("Mouse: off (--no-mouse): the terminal selects text"),
        "{shown}"
    );
    assert!(!shown.contains("click a tab"), "{shown}");
}

#[test]
fn too_small_says_so_names_the_minimum_and_never_panics() {
    for (w, h) in [
        (0, 0),
        (1, 1),
        (0, 24),
        (80, 0),
        (59, 20),
        (60, 19),
        (20, 3),
        (300, 2),
    ] {
        let mut s = live(w, h);
        update(&mut s, key('?'));
        let t = screen(&s);
        if w > 0 && h > 0 {
            let shown = text(&t);
            assert!(
                shown.contains("terminal too small") || w < 20,
                "{w}×{h}: {shown}"
            );
        }
    }
    let t = screen(&live(59, 20));
    insta::assert_snapshot!(t.backend());
    let shown = rows(&t);
    assert!(
        shown.iter().any(|r| r.contains("need 60×20, have 59×20")),
        "{shown:?}"
    );
    assert!(
        shown.last().is_some_and(|r| r.trim() == "q quit"),
        "how to quit: {shown:?}"
    );
    assert!(text(&screen(&live(60, 19))).contains("need 60×20, have 60×19"));
    for (w, h) in [(60, 20), (80, 23), (79, 24)] {
        let shown = text(&screen(&live(w, h)));
        assert!(!shown.contains("too small"), "{w}×{h}: {shown}");
    }
}

#[test]
fn feed_filters_and_expansion_show() {
    let mut s = live(120, 36);
    update(&mut s, key('f'));
    update(&mut s, key('j'));
    update(
        &mut s,
        Event::Key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Enter,
            crossterm::event::KeyModifiers::NONE,
        )),
    );
    let t = screen(&s);
    let shown = text(&t);
    assert!(
        shown.contains("Signals · all symbols · ≥ MEDIUM"),
        "{shown}"
    );
    assert!(
        shown.contains("funding_extreme_long · HIGH · bearish"),
        "{shown}"
    );
    insta::assert_snapshot!(t.backend());
    update(&mut s, key('s'));
    update(&mut s, key('4'));
    let shown = text(&screen(&s));
    assert!(shown.contains("Signals · XRP only · ≥ MEDIUM"), "{shown}");
    assert!(shown.contains("no signals pass the filters"), "{shown}");
    update(&mut s, key('f'));
    let shown = text(&screen(&s));
    assert!(shown.contains("Signals · XRP only · HIGH only"), "{shown}");
    update(&mut s, key('f'));
    let shown = text(&screen(&s));
    assert!(shown.contains("Signals · XRP only · all levels"), "{shown}");
}

#[test]
fn a_long_expansion_scrolls_into_view_at_80x24() {
    let mut s = live(80, 24);
    for _ in 0..4 {
        update(&mut s, key('j'));
    }
    update(
        &mut s,
        Event::Key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Enter,
            crossterm::event::KeyModifiers::NONE,
        )),
    );
    let shown = text(&screen(&s));
    let title = "New longs: OI and price up";
    assert!(shown.contains(title), "{shown}");
    // The threshold it crossed comes right after the message; the when/what line after that
    // needs two more rows than this feed has (one
    // goes to the key bar).
    assert!(
        shown.contains("threshold ±0.42 % OI in 1h = p75 of 30d"),
        "{shown}"
    );
    s.size = (80, 26);
    let shown = text(&screen(&s));
    assert!(shown.contains("flow_new_longs · LOW · bullish"), "{shown}");
}

#[test]
fn status_bar_through_a_refresh_while_paused_and_a_resume() {
    let mut s = live(120, 36);
    let status = |s: &UiState| {
        let screen = text(&screen(s));
        let wanted = ["paused", "refreshed", "fetching", "next poll", "no poll"];
        screen
            .lines()
            .find(|l| wanted.iter().any(|w| l.contains(w)))
            .unwrap_or_default()
            .to_string()
    };
    update(
        &mut s,
        Event::Monitor(Update::Paused {
            paused: true,
            next_poll_at: None,
        }),
    );
    assert!(status(&s).contains("paused (p resumes)"), "{}", status(&s));
    let at = s.now + Duration::seconds(5);
    update(
        &mut s,
        Event::Monitor(Update::CycleStarted { cycle: 49, at }),
    );
    let fetching = status(&s);
    assert!(fetching.contains("fetching…"), "{fetching}");
    assert!(!fetching.contains("paused"), "{fetching}");
    let mut report = crate::fixtures::cycle_report(49, at, sample::live_hobbyist(), vec![]);
    report.finished_at = at + Duration::seconds(2);
    update(
        &mut s,
        Event::Monitor(Update::Cycle(std::sync::Arc::new(report))),
    );
    s.now = at + Duration::seconds(14);
    let refreshed = status(&s);
    assert!(
        refreshed.contains("refreshed 12s ago (paused) · p resumes"),
        "{refreshed}"
    );
    update(
        &mut s,
        Event::Monitor(Update::Paused {
            paused: false,
            next_poll_at: Some(at + Duration::seconds(60)),
        }),
    );
    let resumed = status(&s);
    assert!(resumed.contains("next poll 46s"), "{resumed}");
    assert!(!resumed.contains("paused"), "{resumed}");
}

#[test]
fn status_bar_states() {
    let mut s = live(200, 36);
    s.now += Duration::seconds(12);
    let last_line = |s: &UiState| status_row(&screen(s));
    let idle = last_line(&s);
    assert!(idle.contains("next poll 30s"), "{idle}");
    assert!(idle.contains("requests 21/30 this min"), "{idle}");
    assert!(idle.contains("alerts off"), "{idle}");
    assert!(idle.contains("last error: none"), "{idle}");
    assert!(
        !idle.contains("help") && !idle.contains("quit"),
        "keys are the key bar's: {idle}"
    );

    s.poll.fetching = true;
    assert!(last_line(&s).contains("fetching…"));
    s.poll.fetching = false;
    s.poll.paused = true;
    assert!(last_line(&s).contains("paused"));
    update(
        &mut s,
        Event::AlertSink(SinkState::Disabled {
            sink: crate::alerts::SinkKind::Telegram,
            reason: "bot token refused (401)".into(),
        }),
    );
    s.last_error = Some(LastError {
        at: s.now - Duration::minutes(4),
        text: "BTC taker: fetch failed: HTTP 500".into(),
        more: 2,
    });
    let busy = last_line(&s);
    assert!(
        busy.contains("telegram disabled: bot token refused (401)"),
        "{busy}"
    );
    assert!(
        busy.contains("last error 4m ago: BTC taker: fetch failed: HTTP 500 (+2 more)"),
        "{busy}"
    );
    update(&mut s, Event::MonitorClosed);
    let stopped = last_line(&s);
    assert!(stopped.contains("monitor stopped"), "{stopped}");
    insta::assert_snapshot!(stopped);
}

#[test]
fn no_color_sets_no_colours_anywhere() {
    let mut plain = sample::sketch_state((120, 36), Theme { color: false }, sample::demo());
    update(&mut plain, key('?'));
    for state in [plain.clone(), gappy_with(Theme { color: false })] {
        let t = screen(&state);
        for cell in t.backend().buffer().content() {
            assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "{cell:?}");
        }
    }
    // Levels still read as text, and the selection as reversed video.
    let t = screen(&sample::sketch_state(
        (120, 36),
        Theme { color: false },
        sample::demo(),
    ));
    let shown = text(&t);
    assert!(
        shown.contains("BTC ● HIGH") && shown.contains("ETH ◐ MED") && shown.contains(" DEMO ")
    );
    assert!(t.backend().buffer()[(14, 0)]
        .modifier
        .contains(Modifier::REVERSED));
    // And the same screen in colour does use colours (the check above can fail).
    let coloured = screen(&live(120, 36));
    assert!(coloured
        .backend()
        .buffer()
        .content()
        .iter()
        .any(|c| c.fg == Color::Red));
}

fn gappy_with(theme: Theme) -> UiState {
    let mut s = gappy();
    s.theme = theme;
    s
}

#[test]
fn ages_and_countdowns_follow_the_clock_in_state() {
    let mut s = live(120, 36);
    let before = text(&screen(&s));
    assert!(before.contains("14:32:07 UTC"), "{before}");
    update(&mut s, Event::Tick(t0() + Duration::seconds(2)));
    let after = text(&screen(&s));
    assert!(
        after.contains("14:32:09 UTC") && after.contains("next poll 40s"),
        "{after}"
    );
}

/// The status bar: the row above the key bar.
pub(super) fn status_row(t: &Terminal<TestBackend>) -> String {
    let all = rows(t);
    all[all.len().saturating_sub(2)].clone()
}

/// The screen's rows.
pub(super) fn rows(t: &Terminal<TestBackend>) -> Vec<String> {
    let buf = t.backend().buffer();
    let (w, h) = (buf.area.width, buf.area.height);
    (0..h)
        .map(|y| (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect())
        .collect()
}

/// Nothing of `reason` is cut mid-word in `shown`: where a line (or a panel's part of it) ends on
/// a piece of one of its words, that piece is the whole word, or ends in `…` (a cut made at a
/// word boundary before it).
fn no_word_cut(shown: &str, reason: &str) {
    let words: Vec<&str> = reason.split_whitespace().collect();
    for line in shown.lines() {
        for part in line.split(['│', '"']) {
            let Some(last) = part.split_whitespace().last() else {
                continue;
            };
            if last.ends_with('…') || words.contains(&last) {
                continue;
            }
            assert!(
                !words.iter().any(|w| w.starts_with(last)),
                "{last:?} is a word of the reason cut short in:\n{shown}"
            );
        }
    }
}

#[test]
fn a_dead_source_says_no_data_on_both_bars_tabs_and_panels() {
    let mut s = live(120, 36);
    let names = ["BTC", "ETH", "SOL", "XRP", "DOGE"];
    let at = t0() + Duration::minutes(1);
    update(
        &mut s,
        Event::Monitor(Update::Cycle(sample::dead_cycle(
            49,
            at,
            &names,
            sample::REFUSED,
        ))),
    );
    assert_eq!(s.no_data.as_deref(), Some(sample::REFUSED));
    let t = screen(&s);
    insta::assert_snapshot!(t.backend());
    let shown = rows(&t);
    let (top, status) = (&shown[0], &shown[shown.len() - 2]);
    assert!(top.contains(" no data: temporary failure"), "{top}");
    assert!(status.contains("no data: temporary failure"), "{status}");
    assert!(
        status.contains("· e errors"),
        "the full list is one key away: {status}"
    );
    assert!(!status.contains("last error: none"), "{status}");
    // No tab reads as a calm market.
    for name in names.iter().take(3) {
        assert!(top.contains(&format!(" {name} ✕ n/a ")), "{name}: {top}");
        assert!(!top.contains(&format!(" {name} · ")), "{name}: {top}");
    }
    let hits = view::tab_hits(&s, 120);
    let cell = &t.backend().buffer()[(hits[1].x + 1, 0)];
    assert_eq!(
        cell.fg,
        Color::Magenta,
        "the no-data colour, not the calm dim"
    );
    // Stale values stay on screen with their age and the reason, never as zero.
    let all = text(&t);
    assert!(all.contains("stale 1m"), "{all}");
    for line in [top, status] {
        no_word_cut(line, &format!("no data: {}", sample::REFUSED));
    }
}

/// BTC and ETH at 80×24 after a first cycle against a refusing network: nothing fetched.
pub(super) fn dead_first_cycle_80x24() -> UiState {
    let mut s = UiState::new(t0(), (80, 24), color());
    update(
        &mut s,
        Event::Monitor(Update::Cycle(sample::dead_first_cycle(
            t0(),
            &["BTC", "ETH"],
            sample::REFUSED,
        ))),
    );
    s
}

#[test]
fn a_first_cycle_against_a_dead_network_wraps_its_reasons_at_words() {
    let s = dead_first_cycle_80x24();
    let t = screen(&s);
    insta::assert_snapshot!(t.backend());
    let shown = text(&t);
    assert!(!shown.contains("last error: none"), "{shown}");
    assert!(shown.contains("✕ n/a"), "{shown}");
    // Each panel gives the reason in whole words (wrapped, or cut at a word with `…`).
    for (_, render, w, h) in PANELS {
        let p = text(&panel(&s, w, h, render));
        assert!(p.contains("n/a: fetch failed"), "{p}");
        no_word_cut(&p, &format!("n/a: fetch failed: {}", sample::REFUSED));
    }
    // And so does the whole screen below the tabs (whose `✕ n/a` is a marker, not a reason).
    let body = rows(&t)[1..].join("\n");
    no_word_cut(&body, &format!("n/a: fetch failed: {}", sample::REFUSED));
}

#[test]
fn the_errors_popup_lists_every_distinct_error_in_full() {
    let mut s = live(120, 36);
    let at = t0() + Duration::minutes(1);
    update(
        &mut s,
        Event::Monitor(Update::Cycle(sample::dead_cycle(
            49,
            at,
            &["BTC", "ETH", "SOL", "XRP", "DOGE"],
            sample::REFUSED,
        ))),
    );
    assert_eq!(
        s.cycle_errors,
        vec![format!(
            "every metric (all symbols): fetch failed: {}",
            sample::REFUSED
        )],
        "one line for one cause, not 35"
    );
    update(&mut s, key('e'));
    assert!(s.errors_open);
    let t = screen(&s);
    insta::assert_snapshot!(t.backend());
    let shown = text(&t);
    assert!(shown.contains("cycle 49: 1 distinct error"), "{shown}");
    // The whole text is there, wrapped at words.
    let flat: String = rows(&t)
        .iter()
        .map(|r| r.replace('│', " "))
        .collect::<Vec<_>>()
        .join(" ");
    let flat = flat.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("tcp connect error: Connection refused (os error 111))"),
        "{flat}"
    );
    // `e` and Esc close it; nothing moves beneath it.
    update(&mut s, key('l'));
    assert_eq!(s.selected, 0, "modal");
    update(&mut s, key('e'));
    assert!(!s.errors_open);
    update(&mut s, key('e'));
    update(
        &mut s,
        Event::Key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Esc,
            crossterm::event::KeyModifiers::NONE,
        )),
    );
    assert!(!s.errors_open);
}

#[test]
fn connecting_shows_the_first_cycles_progress_and_never_no_error() {
    let mut s = UiState::new(t0(), (120, 36), color());
    let status = |s: &UiState| status_row(&screen(s));
    let before = status(&s);
    assert!(before.contains(" connecting…"), "{before}");
    assert!(before.contains("no data yet") && !before.contains("last error: none"));
    update(
        &mut s,
        Event::Monitor(Update::CycleStarted { cycle: 1, at: t0() }),
    );
    update(
        &mut s,
        Event::Monitor(Update::Progress {
            cycle: 1,
            done: 120,
            total: 245,
        }),
    );
    let during = status(&s);
    assert!(
        during.contains("connecting… first cycle: 120 of 245 requests"),
        "{during}"
    );
    insta::assert_snapshot!(during);
    // A later cycle's progress reads as fetching.
    let mut s = live(120, 36);
    update(
        &mut s,
        Event::Monitor(Update::CycleStarted {
            cycle: 49,
            at: t0(),
        }),
    );
    update(
        &mut s,
        Event::Monitor(Update::Progress {
            cycle: 49,
            done: 3,
            total: 9,
        }),
    );
    assert!(
        status(&s).contains("fetching… 3 of 9 requests"),
        "{}",
        status(&s)
    );
}

#[test]
fn a_long_last_error_is_cut_at_a_word_on_a_narrow_status_bar() {
    let mut s = live(80, 24);
    let text_ = format!(
        "every metric (all symbols): fetch failed: {}",
        sample::REFUSED
    );
    s.last_error = Some(LastError {
        at: s.now - Duration::minutes(2),
        text: text_.clone(),
        more: 1,
    });
    let status = status_row(&screen(&s));
    assert!(status.contains("last error 2m ago: every"), "{status}");
    assert!(
        status.contains("… (+1 more)"),
        "cut with a mark, the count kept: {status}"
    );
    no_word_cut(&status, &text_);
}

#[test]
fn the_word_cut_check_can_fail() {
    let cut = std::panic::catch_unwind(|| no_word_cut("│temporary fail│", "temporary failure"));
    assert!(cut.is_err(), "a word cut short is caught");
    no_word_cut("│temporary…│ failure", "temporary failure");
}
