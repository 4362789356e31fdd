use super::*;
use crate::ui::keys::BINDINGS;
use crate::ui::sample::{self, t0};
use crossterm::event::{KeyEventState, KeyModifiers, MouseButton};

fn key(code: KeyCode, modifiers: KeyModifiers, kind: KeyEventKind) -> Event {
    Event::Key(KeyEvent {
        code,
        modifiers,
        kind,
        state: KeyEventState::NONE,
    })
}

fn press(state: &mut UiState, code: KeyCode) -> Vec<Effect> {
    update(state, key(code, KeyModifiers::NONE, KeyEventKind::Press))
}

fn ch(state: &mut UiState, c: char) -> Vec<Effect> {
    press(state, KeyCode::Char(c))
}

/// Five symbols (BTC ETH SOL XRP DOGE) with the sketch's signals: a feed of 8 entries.
fn state() -> UiState {
    sample::sketch_state((120, 36), Theme { color: true }, sample::live_hobbyist())
}

/// Nine symbols with five signals each: every digit selects one.
fn nine_symbols() -> UiState {
    let mut s = UiState::new(t0(), (120, 36), Theme { color: true });
    let reports = (1..=9)
        .map(|i| {
            let snap = sample::full_snapshot(&format!("S{i}"), t0(), 1.0);
            crate::fixtures::symbol_report(snap, sample::btc_signals())
        })
        .collect();
    let report = sample::cycle(1, t0(), sample::live_hobbyist(), reports);
    update(&mut s, Event::Monitor(Update::Cycle(report)));
    s
}

fn selected(state: &UiState) -> &str {
    &state.symbols[state.selected].symbol
}

fn click(state: &mut UiState, column: u16, row: u16) {
    update(
        state,
        Event::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column,
            row,
            modifiers: KeyModifiers::NONE,
        }),
    );
}

#[test]
fn symbol_navigation_wraps_both_ways() {
    let mut s = state();
    assert_eq!(selected(&s), "BTC");
    press(&mut s, KeyCode::Left);
    assert_eq!(selected(&s), "DOGE");
    press(&mut s, KeyCode::Right);
    assert_eq!(selected(&s), "BTC");
    ch(&mut s, 'l');
    assert_eq!(selected(&s), "ETH");
    ch(&mut s, 'h');
    assert_eq!(selected(&s), "BTC");
    press(&mut s, KeyCode::Tab);
    assert_eq!(selected(&s), "ETH");
    update(
        &mut s,
        key(KeyCode::BackTab, KeyModifiers::SHIFT, KeyEventKind::Press),
    );
    assert_eq!(selected(&s), "BTC");
}

#[test]
fn digits_jump_and_out_of_range_digits_are_ignored() {
    let mut s = state();
    ch(&mut s, '3');
    assert_eq!(selected(&s), "SOL");
    ch(&mut s, '5');
    assert_eq!(selected(&s), "DOGE");
    s.dirty = false;
    ch(&mut s, '9');
    assert_eq!(selected(&s), "DOGE");
    assert!(!s.dirty, "nothing changed, nothing to redraw");
    ch(&mut s, '0');
    assert_eq!(selected(&s), "DOGE");
}

#[test]
fn navigation_without_symbols_does_nothing() {
    let mut s = UiState::new(t0(), (80, 24), Theme { color: true });
    for c in ['h', 'l', '1', 'j', 'k', 'g', 'G'] {
        assert!(ch(&mut s, c).is_empty());
    }
    press(&mut s, KeyCode::Enter);
    assert_eq!((s.selected, s.feed_cursor, s.expanded), (0, 0, None));
}

#[test]
fn feed_scrolls_within_bounds() {
    let mut s = state();
    let len = s.visible_feed_len();
    assert_eq!(len, 8);
    ch(&mut s, 'k');
    assert_eq!(s.feed_cursor, 0, "cannot go above the newest");
    ch(&mut s, 'j');
    press(&mut s, KeyCode::Down);
    assert_eq!(s.feed_cursor, 2);
    press(&mut s, KeyCode::Up);
    assert_eq!(s.feed_cursor, 1);
    ch(&mut s, 'G');
    assert_eq!(s.feed_cursor, len - 1);
    ch(&mut s, 'j');
    assert_eq!(s.feed_cursor, len - 1, "cannot go below the oldest");
    ch(&mut s, 'g');
    assert_eq!(s.feed_cursor, 0);
    // 120×36: the feed shows 13 lines, more than the 8 entries: a page reaches the end.
    press(&mut s, KeyCode::PageDown);
    assert_eq!(s.feed_cursor, len - 1);
    press(&mut s, KeyCode::PageUp);
    assert_eq!(s.feed_cursor, 0);
}

#[test]
fn page_keys_move_by_the_feed_height() {
    let mut s = state();
    s.size = (80, 24); // feed: 5 lines
    press(&mut s, KeyCode::PageDown);
    assert_eq!(s.feed_cursor, 5);
    press(&mut s, KeyCode::PageUp);
    assert_eq!(s.feed_cursor, 0);
}

#[test]
fn enter_expands_and_collapses_the_highlighted_entry() {
    let mut s = state();
    ch(&mut s, 'j');
    press(&mut s, KeyCode::Enter);
    let second = s.visible_feed().nth(1).map(|e| e.seq);
    assert_eq!(s.expanded, second);
    press(&mut s, KeyCode::Enter);
    assert_eq!(s.expanded, None);
}

#[test]
fn f_cycles_the_minimum_level_and_every_step_changes_what_is_shown() {
    let mut s = state();
    let shown = |s: &UiState| s.visible_feed().map(|e| e.seq).collect::<Vec<_>>();
    // sample::sketch_state: BTC 3 HIGH, 1 MED, 1 LOW; ETH MED; SOL LOW; DOGE MED.
    let levels: std::collections::BTreeSet<Level> = s.feed.entries().map(|e| e.level).collect();
    assert_eq!(
        levels.into_iter().collect::<Vec<_>>(),
        vec![Level::Low, Level::Medium, Level::High],
        "the feed holds every level a signal can have"
    );
    let mut seen = vec![(s.min_level, shown(&s))];
    for _ in 0..3 {
        ch(&mut s, 'f');
        seen.push((s.min_level, shown(&s)));
    }
    let counts: Vec<(Level, usize)> = seen.iter().map(|(l, v)| (*l, v.len())).collect();
    assert_eq!(
        counts,
        vec![
            (Level::None, 8),
            (Level::Medium, 6),
            (Level::High, 3),
            (Level::None, 8)
        ]
    );
    // Each press shows a different set of entries; the third comes back to all.
    for pair in seen.windows(2) {
        assert_ne!(pair[0].1, pair[1].1, "{:?} → {:?}", pair[0].0, pair[1].0);
    }
    assert_eq!(seen[0], seen[3]);
    // A filter set some other way (LOW) still steps on to one that changes something.
    assert_eq!(next_level_filter(Level::Low), Level::Medium);
}

#[test]
fn s_toggles_this_symbol_only() {
    let mut s = state();
    let all = s.visible_feed_len();
    ch(&mut s, 's');
    assert!(s.this_symbol_only);
    assert!(s.visible_feed().all(|e| e.symbol == "BTC"));
    assert_eq!(s.visible_feed_len(), 5);
    ch(&mut s, '2');
    assert!(s.visible_feed().all(|e| e.symbol == "ETH"));
    ch(&mut s, 's');
    assert_eq!(s.visible_feed_len(), all);
}

#[test]
fn r_and_p_send_commands() {
    let mut s = state();
    assert_eq!(ch(&mut s, 'r'), vec![Effect::Send(Command::RefreshNow)]);
    assert_eq!(ch(&mut s, 'p'), vec![Effect::Send(Command::TogglePause)]);
    // The pause shows once the monitor confirms it.
    update(&mut s, Event::Monitor(paused(true, None)));
    assert!(s.poll.paused);
}

fn paused(paused: bool, next_poll_at: Option<DateTime<Utc>>) -> Update {
    Update::Paused {
        paused,
        next_poll_at,
    }
}

#[test]
fn r_while_paused_says_when_it_refreshed_and_resuming_counts_down_at_once() {
    let mut s = state();
    assert!(s.poll.next_poll_at.is_some());
    update(&mut s, Event::Monitor(paused(true, None)));
    assert!(s.poll.paused);
    assert_eq!(s.poll.next_poll_at, None, "paused: nothing scheduled");
    assert_eq!(s.poll.refreshed_while_paused, None);
    // `r` asks the monitor, which runs one cycle and stays paused.
    assert_eq!(ch(&mut s, 'r'), vec![Effect::Send(Command::RefreshNow)]);
    let at = t0() + chrono::Duration::seconds(20);
    update(
        &mut s,
        Event::Monitor(Update::CycleStarted { cycle: 49, at }),
    );
    assert!(s.poll.fetching && s.poll.paused);
    let done = at + chrono::Duration::seconds(3);
    let mut report = crate::fixtures::cycle_report(49, at, sample::live_hobbyist(), vec![]);
    report.finished_at = done;
    update(
        &mut s,
        Event::Monitor(Update::Cycle(std::sync::Arc::new(report))),
    );
    assert!(!s.poll.fetching && s.poll.paused);
    assert_eq!(s.poll.refreshed_while_paused, Some(done));
    // Resuming carries the monitor's next poll time: no "no poll scheduled" gap.
    let next = at + chrono::Duration::seconds(60);
    update(&mut s, Event::Monitor(paused(false, Some(next))));
    assert!(!s.poll.paused);
    assert_eq!(s.poll.next_poll_at, Some(next));
    assert_eq!(s.poll.refreshed_while_paused, None);
    // A cycle that finishes while not paused is no "refresh while paused".
    update(&mut s, Event::Monitor(paused(true, None)));
    update(&mut s, Event::Monitor(paused(false, Some(next))));
    let report = crate::fixtures::cycle_report(50, next, sample::live_hobbyist(), vec![]);
    update(
        &mut s,
        Event::Monitor(Update::Cycle(std::sync::Arc::new(report))),
    );
    assert_eq!(s.poll.refreshed_while_paused, None);
}

#[test]
fn help_opens_and_esc_or_q_close_it_then_esc_goes_back_to_the_overview_never_quitting() {
    let mut s = state();
    assert!(ch(&mut s, '?').is_empty());
    assert!(s.help_open);
    // Modal: other keys do nothing beneath it.
    ch(&mut s, 'l');
    assert_eq!(selected(&s), "BTC");
    assert!(ch(&mut s, 'r').is_empty());
    assert!(press(&mut s, KeyCode::Esc).is_empty());
    assert!(!s.help_open);
    ch(&mut s, '?');
    assert!(
        ch(&mut s, 'q').is_empty(),
        "q closes the popup, it does not quit"
    );
    assert!(!s.help_open);
    assert_eq!(s.screen, Screen::Detail, "the popup closed, nothing else");
    assert!(press(&mut s, KeyCode::Esc).is_empty());
    assert_eq!(s.screen, Screen::Overview);
    assert!(press(&mut s, KeyCode::Esc).is_empty(), "Esc never quits");
    assert_eq!(s.screen, Screen::Overview);
    ch(&mut s, '?');
    ch(&mut s, '?');
    assert!(!s.help_open, "? toggles");
}

#[test]
fn esc_never_quits_and_only_q_and_ctrl_c_do() {
    let mut s = state();
    assert!(
        press(&mut s, KeyCode::Esc).is_empty(),
        "Esc on a symbol's detail"
    );
    assert_eq!(s.screen, Screen::Overview, "goes back to the overview");
    s.dirty = false;
    assert!(
        press(&mut s, KeyCode::Esc).is_empty(),
        "Esc on the overview"
    );
    assert!(!s.dirty, "changes nothing");
    assert_eq!(ch(&mut s, 'q'), vec![Effect::Quit]);
    let ctrl_c = key(
        KeyCode::Char('c'),
        KeyModifiers::CONTROL,
        KeyEventKind::Press,
    );
    assert_eq!(update(&mut s, ctrl_c.clone()), vec![Effect::Quit]);
    // In a popup, q closes it; Ctrl-C still quits from anywhere.
    for popup in ['?', 'e'] {
        ch(&mut s, popup);
        assert_eq!(update(&mut s, ctrl_c.clone()), vec![Effect::Quit]);
        assert!(ch(&mut s, 'q').is_empty());
        assert!(!s.help_open && !s.errors_open, "{popup}");
    }
}

#[test]
fn the_help_scrolls_on_a_short_terminal_within_its_content() {
    let mut s = state();
    ch(&mut s, '?');
    s.dirty = false;
    ch(&mut s, 'j');
    assert_eq!(
        s.help_scroll, 0,
        "120×36: everything fits, nothing to scroll"
    );
    assert!(!s.dirty);
    s.size = (60, 20);
    let max = crate::ui::view::help_max_scroll(&s);
    assert!(max > 0, "60×20 is too short for the whole help");
    ch(&mut s, 'j');
    press(&mut s, KeyCode::Down);
    assert_eq!(s.help_scroll, 2);
    assert_eq!(s.selected, 0, "the feed keys scroll the help, not the feed");
    assert_eq!(s.feed_cursor, 0);
    ch(&mut s, 'G');
    assert_eq!(s.help_scroll, max);
    ch(&mut s, 'j');
    assert_eq!(s.help_scroll, max, "not past the end");
    press(&mut s, KeyCode::PageUp);
    assert_eq!(
        s.help_scroll,
        max.saturating_sub(crate::ui::view::help_page(&s))
    );
    ch(&mut s, 'g');
    assert_eq!(s.help_scroll, 0);
    // Reopened, it starts at the top.
    ch(&mut s, 'G');
    ch(&mut s, '?');
    ch(&mut s, '?');
    assert_eq!(s.help_scroll, 0);
}

#[test]
fn releases_and_repeats_are_ignored() {
    let mut s = state();
    s.dirty = false;
    for kind in [KeyEventKind::Release, KeyEventKind::Repeat] {
        for code in [KeyCode::Char('q'), KeyCode::Right, KeyCode::Char('?')] {
            assert!(update(&mut s, key(code, KeyModifiers::NONE, kind)).is_empty());
        }
    }
    assert_eq!((selected(&s), s.help_open, s.dirty), ("BTC", false, false));
}

#[test]
fn every_key_in_the_table_does_something_on_one_screen_or_the_other() {
    for b in BINDINGS {
        for k in b.keys {
            let code = if k.code == KeyCode::Char('2') {
                KeyCode::Char('1')
            } else {
                k.code
            };
            let acts = |screen: Screen| {
                let mut s = nine_symbols();
                ch(&mut s, 'j'); // cursor mid-feed, so up and down both move
                ch(&mut s, '2'); // a middle symbol, so every jump but '2' moves
                if screen == Screen::Overview {
                    ch(&mut s, 'o');
                    ch(&mut s, 'j'); // a middle row, so up and down both move
                }
                s.dirty = false;
                let effects = update(&mut s, key(code, k.mods, KeyEventKind::Press));
                s.dirty || !effects.is_empty()
            };
            assert!(
                acts(Screen::Detail) || acts(Screen::Overview),
                "{:?} ({}) did nothing",
                k,
                b.help
            );
        }
    }
}

#[test]
fn clicking_a_tab_selects_it() {
    let mut s = state();
    let hits = view::tab_hits(&s, s.size.0);
    let sol = hits.iter().find(|h| h.index == 2).copied();
    let sol = sol.expect("SOL tab on screen at 120 columns");
    click(&mut s, sol.x + sol.width - 1, 0);
    assert_eq!(selected(&s), "SOL");
    // Outside the tabs and below the top bar: nothing.
    click(&mut s, 1, 0);
    click(&mut s, sol.x, 5);
    assert_eq!(selected(&s), "SOL");
}

#[test]
fn wheel_scrolls_the_feed() {
    let mut s = state();
    let wheel = |kind| {
        Event::Mouse(MouseEvent {
            kind,
            column: 10,
            row: 30,
            modifiers: KeyModifiers::NONE,
        })
    };
    update(&mut s, wheel(MouseEventKind::ScrollDown));
    assert_eq!(s.feed_cursor, 1);
    update(&mut s, wheel(MouseEventKind::ScrollUp));
    assert_eq!(s.feed_cursor, 0);
}

fn one_symbol_cycle(n: u64, signals: Vec<Signal>) -> Event {
    let at = t0() + chrono::Duration::minutes(n as i64);
    Event::Monitor(Update::Cycle(sample::cycle(
        n,
        at,
        sample::live_hobbyist(),
        vec![crate::fixtures::symbol_report(
            sample::full_snapshot("BTC", at, 1.0),
            signals,
        )],
    )))
}

#[test]
fn feed_shows_new_signals_and_level_changes_only() {
    let mut s = UiState::new(t0(), (120, 36), Theme { color: true });
    let sig = |level| sample::signal(SignalId::OiMoving, level, Bias::Neutral, "OI moving");
    update(&mut s, one_symbol_cycle(1, vec![sig(Level::Medium)]));
    update(&mut s, one_symbol_cycle(2, vec![sig(Level::Medium)]));
    assert_eq!(s.feed.len(), 1, "the same signal again is not news");
    update(&mut s, one_symbol_cycle(3, vec![sig(Level::High)]));
    assert_eq!(s.feed.len(), 2, "a level change is");
    update(&mut s, one_symbol_cycle(4, vec![]));
    assert_eq!(s.feed.len(), 3, "so is its end (issue 12)");
    update(&mut s, one_symbol_cycle(5, vec![sig(Level::High)]));
    assert_eq!(s.feed.len(), 4, "a signal that went away and came back is");
    let levels: Vec<Level> = s.feed.entries().map(|e| e.level).collect();
    assert_eq!(
        levels,
        vec![Level::High, Level::High, Level::High, Level::Medium]
    );
}

fn feed_kinds(s: &UiState) -> Vec<FeedKind> {
    s.feed.entries().map(|e| e.kind).collect()
}

#[test]
fn the_feed_records_onset_level_change_and_end_with_how_long() {
    let mut s = UiState::new(t0(), (120, 36), Theme { color: true });
    let sig = |level| sample::signal(SignalId::OiMoving, level, Bias::Neutral, "OI moving");
    // Cycles are a minute apart (see `one_symbol_cycle`).
    update(&mut s, one_symbol_cycle(1, vec![sig(Level::High)]));
    update(&mut s, one_symbol_cycle(2, vec![sig(Level::High)]));
    update(&mut s, one_symbol_cycle(3, vec![sig(Level::Medium)]));
    update(&mut s, one_symbol_cycle(131, vec![sig(Level::Medium)]));
    update(&mut s, one_symbol_cycle(132, vec![]));
    assert_eq!(
        feed_kinds(&s),
        vec![
            FeedKind::Ended { after_s: 131 * 60 },
            FeedKind::LevelChanged { from: Level::High },
            FeedKind::Onset,
        ]
    );
    let ended = s.feed.entries().next().unwrap();
    assert_eq!(ended.level, Level::Medium, "an end keeps the last level");
    assert_eq!(ended.title, "OI moving");
    assert_eq!(duration_text(131 * 60), "2h11m");
    assert!(s.feed.active("BTC").is_empty());
}

#[test]
fn onset_is_kept_per_symbol_and_signal_across_level_changes() {
    let mut s = UiState::new(t0(), (120, 36), Theme { color: true });
    let oi = |level| sample::signal(SignalId::OiMoving, level, Bias::Neutral, "OI moving");
    let tb = sample::signal(
        SignalId::TakerBuyPressure,
        Level::Low,
        Bias::Bullish,
        "Taker buy",
    );
    update(&mut s, one_symbol_cycle(1, vec![oi(Level::Low)]));
    update(
        &mut s,
        one_symbol_cycle(2, vec![oi(Level::High), tb.clone()]),
    );
    update(&mut s, one_symbol_cycle(3, vec![oi(Level::High), tb]));
    let active = s.feed.active("BTC");
    let got: Vec<(SignalId, Level, i64)> = active
        .iter()
        .map(|a| (a.id, a.level, (a.since - t0()).num_minutes()))
        .collect();
    assert_eq!(
        got,
        vec![
            (SignalId::OiMoving, Level::High, 1),
            (SignalId::TakerBuyPressure, Level::Low, 2),
        ],
        "most severe first; a level change keeps the onset"
    );
    assert!(s.feed.active("ETH").is_empty(), "per symbol");
    assert_eq!(s.feed.active_level("BTC"), Level::High);
}

#[test]
fn a_cycle_without_data_for_a_symbol_does_not_end_its_signals() {
    let mut s = state();
    let before = s.feed.active("BTC").len();
    assert!(before > 0);
    let feed_len = s.feed.len();
    let at = t0() + chrono::Duration::minutes(1);
    update(
        &mut s,
        Event::Monitor(Update::Cycle(sample::dead_cycle(
            49,
            at,
            &["BTC"],
            "HTTP 502",
        ))),
    );
    assert_eq!(
        s.feed.len(),
        feed_len,
        "no end is made up from missing data"
    );
    assert_eq!(s.feed.active("BTC").len(), before);
}

#[test]
fn a_tab_is_never_calm_while_its_symbol_has_an_active_signal() {
    let mut s = UiState::new(t0(), (120, 36), Theme { color: true });
    let sig = sample::signal(
        SignalId::OiMoving,
        Level::Medium,
        Bias::Neutral,
        "OI moving",
    );
    // A report whose symbol level lags its signals (as a setup-only level could).
    let at = t0() + chrono::Duration::minutes(1);
    let mut report =
        crate::fixtures::symbol_report(sample::full_snapshot("BTC", at, 1.0), vec![sig]);
    report.level = Level::None;
    update(
        &mut s,
        Event::Monitor(Update::Cycle(sample::cycle(
            1,
            at,
            sample::live_hobbyist(),
            vec![report],
        ))),
    );
    assert_eq!(s.symbols[0].level, Level::Medium);
    // Once the signal ends the tab may be calm again.
    update(&mut s, one_symbol_cycle(2, vec![]));
    assert_eq!(s.symbols[0].level, Level::None);
    assert!(matches!(
        s.feed.entries().next().map(|e| e.kind),
        Some(FeedKind::Ended { after_s: 60 })
    ));
}

#[test]
fn feed_is_bounded_and_keeps_the_newest() {
    let mut s = UiState::new(t0(), (120, 36), Theme { color: true });
    for n in 0..(FEED_CAP as u64 + 50) {
        let level = if n % 2 == 0 { Level::High } else { Level::Low };
        let sig = sample::signal(SignalId::OiMoving, level, Bias::Neutral, "x");
        update(&mut s, one_symbol_cycle(n, vec![sig]));
    }
    assert_eq!(s.feed.len(), FEED_CAP);
    assert_eq!(
        s.feed.entries().next().map(|e| e.seq),
        Some(FEED_CAP as u64 + 50)
    );
}

#[test]
fn a_scrolled_reader_keeps_their_entry_when_news_arrives() {
    let mut s = state();
    ch(&mut s, 'j');
    ch(&mut s, 'j');
    let watched = s.visible_feed().nth(s.feed_cursor).map(|e| e.seq);
    let sig = sample::signal(SignalId::OiFlush, Level::High, Bias::Neutral, "flush");
    update(&mut s, one_symbol_cycle(100, vec![sig]));
    assert_eq!(s.visible_feed().nth(s.feed_cursor).map(|e| e.seq), watched);
    // At the top, the reader follows the news.
    ch(&mut s, 'g');
    let sig = sample::signal(SignalId::OiSurge, Level::High, Bias::Neutral, "surge");
    update(&mut s, one_symbol_cycle(101, vec![sig]));
    assert_eq!(s.feed_cursor, 0);
    assert_eq!(
        s.visible_feed().next().map(|e| e.id),
        Some(SignalId::OiSurge)
    );
}

#[test]
fn histories_are_bounded_and_skip_absent_and_stale_values() {
    let mut s = UiState::new(t0(), (120, 36), Theme { color: true });
    for n in 0..(HISTORY_CAP as u64 + 10) {
        update(&mut s, one_symbol_cycle(n, vec![]));
    }
    assert_eq!(s.symbols[0].funding_history.len(), HISTORY_CAP);
    assert_eq!(s.symbols[0].oi_history.len(), HISTORY_CAP);
    assert_eq!(s.symbols[0].retail_long_history.len(), HISTORY_CAP);
    assert_eq!(s.symbols[0].top_long_history.len(), HISTORY_CAP);
    s.symbols[0].retail_long_history = History::default();
    s.symbols[0].top_long_history = History::default();
    // Stale funding and top, absent OI and retail: nothing enters.
    let at = t0() + chrono::Duration::days(2);
    let gappy = sample::gappy_snapshot("BTC", at);
    let mut h = History::default();
    std::mem::swap(&mut h, &mut s.symbols[0].funding_history);
    s.symbols[0].oi_history = History::default();
    update(
        &mut s,
        Event::Monitor(Update::Cycle(sample::cycle(
            9999,
            at,
            sample::live_hobbyist(),
            vec![crate::fixtures::symbol_report(gappy, vec![])],
        ))),
    );
    assert!(s.symbols[0].funding_history.is_empty());
    assert!(s.symbols[0].oi_history.is_empty());
    assert!(s.symbols[0].retail_long_history.is_empty());
    assert!(s.symbols[0].top_long_history.is_empty());
    assert!(s.symbols[0]
        .snapshot
        .as_ref()
        .is_some_and(|snap| snap.funding.is_stale() && snap.top.is_stale()));
}

#[test]
fn positioning_history_takes_fresh_known_shares_in_order() {
    let mut s = UiState::new(t0(), (120, 36), Theme { color: true });
    let cycle = |n: u64, retail: Option<f64>, top: Option<f64>| {
        let at = t0() + chrono::Duration::minutes(n as i64);
        let mut snap = sample::full_snapshot("BTC", at, 1.0);
        if let Some(ls) = snap.retail.value.as_mut() {
            ls.long_pct = retail;
        }
        if let Some(ls) = snap.top.value.as_mut() {
            ls.long_pct = top;
        }
        Event::Monitor(Update::Cycle(sample::cycle(
            n,
            at,
            sample::live_hobbyist(),
            vec![crate::fixtures::symbol_report(snap, vec![])],
        )))
    };
    update(&mut s, cycle(1, Some(61.0), Some(50.0)));
    // Fetched, but the share not reported: not a zero, no point.
    update(&mut s, cycle(2, None, Some(51.0)));
    update(&mut s, cycle(3, Some(63.5), None));
    let points = |h: &History| h.last(10).collect::<Vec<f64>>();
    assert_eq!(points(&s.symbols[0].retail_long_history), [61.0, 63.5]);
    assert_eq!(points(&s.symbols[0].top_long_history), [50.0, 51.0]);
}

#[test]
fn stored_history_seeds_the_sparklines_before_the_first_point() {
    let mut s = UiState::new(t0(), (120, 36), Theme { color: true });
    let seed = |symbol: &str| crate::report::SparkSeed {
        symbol: symbol.into(),
        funding_8h_pct: vec![0.01, 0.02],
        oi_usd: vec![1e9, f64::NAN, 2e9],
    };
    update(
        &mut s,
        Event::Monitor(Update::History(std::sync::Arc::new(vec![seed("BTC")]))),
    );
    assert!(s.symbols.is_empty(), "no view before its first snapshot");
    let snap = sample::full_snapshot("BTC", t0(), 1.0);
    let live_funding = snap.funding.get().and_then(|f| f.rate_8h_pct);
    update(
        &mut s,
        Event::Monitor(Update::Cycle(sample::cycle(
            1,
            t0(),
            sample::live_hobbyist(),
            vec![crate::fixtures::symbol_report(snap, vec![])],
        ))),
    );
    let v = &s.symbols[0];
    let funding: Vec<f64> = v.funding_history.last(10).collect();
    assert_eq!(funding[..2], [0.01, 0.02], "stored points first");
    assert_eq!(funding.get(2).copied(), live_funding, "then the live one");
    assert_eq!(v.oi_history.len(), 3, "non-finite stored points skipped");
    // A seed for a symbol already on screen goes before its points.
    update(
        &mut s,
        Event::Monitor(Update::History(std::sync::Arc::new(vec![seed("BTC")]))),
    );
    assert_eq!(s.symbols[0].funding_history.last(1).next(), live_funding);
    assert_eq!(s.symbols[0].funding_history.len(), 5);
}

#[test]
fn monitor_updates_drive_the_status() {
    let mut s = state();
    update(
        &mut s,
        Event::Monitor(Update::CycleStarted {
            cycle: 49,
            at: t0() + chrono::Duration::seconds(60),
        }),
    );
    assert!(s.poll.fetching);
    assert_eq!(s.now, t0() + chrono::Duration::seconds(60));
    update(&mut s, one_symbol_cycle(50, vec![]));
    assert!(!s.poll.fetching);
    assert_eq!(s.poll.last_cycle, Some(50));
    assert_eq!(
        update(&mut s, Event::Monitor(Update::Fatal("key refused".into()))),
        vec![Effect::Fatal("key refused".into())]
    );
    update(&mut s, Event::MonitorClosed);
    assert!(s.poll.monitor_stopped);
    assert_eq!(s.symbols.len(), 5, "the last data stays");
    update(&mut s, Event::Resize(100, 40));
    assert_eq!(s.size, (100, 40));
    let later = t0() + chrono::Duration::hours(1);
    update(&mut s, Event::Tick(later));
    assert_eq!(s.now, later);
}

#[test]
fn cycle_errors_become_the_last_error() {
    let mut s = state();
    let mut report = (*sample::cycle(60, t0(), sample::live_hobbyist(), vec![])).clone();
    report.errors = vec![
        "BTC taker: fetch failed: HTTP 500".into(),
        "ETH oi: rate limited".into(),
    ];
    update(
        &mut s,
        Event::Monitor(Update::Cycle(std::sync::Arc::new(report))),
    );
    let e = s.last_error.clone().expect("error kept");
    assert_eq!(
        (e.text.as_str(), e.more),
        ("BTC taker: fetch failed: HTTP 500", 1)
    );
    // A clean cycle keeps the last error (with its age) on screen.
    update(&mut s, one_symbol_cycle(61, vec![]));
    assert!(s.last_error.is_some());
}

#[test]
fn progress_belongs_to_the_running_cycle() {
    let mut s = UiState::new(t0(), (120, 36), Theme { color: true });
    update(
        &mut s,
        Event::Monitor(Update::CycleStarted { cycle: 1, at: t0() }),
    );
    assert_eq!(s.poll.progress, None);
    s.dirty = false;
    update(
        &mut s,
        Event::Monitor(Update::Progress {
            cycle: 1,
            done: 120,
            total: 245,
        }),
    );
    assert!(s.dirty, "progress redraws");
    assert_eq!(
        s.poll.progress,
        Some(Progress {
            cycle: 1,
            done: 120,
            total: 245
        })
    );
    update(&mut s, one_symbol_cycle(1, vec![]));
    assert_eq!(s.poll.progress, None, "the report supersedes it");
    update(
        &mut s,
        Event::Monitor(Update::Progress {
            cycle: 2,
            done: 1,
            total: 9,
        }),
    );
    update(
        &mut s,
        Event::Monitor(Update::CycleStarted { cycle: 3, at: t0() }),
    );
    assert_eq!(s.poll.progress, None, "a new cycle starts from nothing");
}

#[test]
fn a_cycle_that_fetched_nothing_marks_the_source_dead_until_one_does() {
    let mut s = state();
    assert!(s.ever_fetched && s.no_data.is_none());
    let names = ["BTC", "ETH", "SOL", "XRP", "DOGE"];
    let at = t0() + chrono::Duration::minutes(1);
    update(
        &mut s,
        Event::Monitor(Update::Cycle(sample::dead_cycle(
            49, at, &names, "HTTP 502",
        ))),
    );
    assert_eq!(s.no_data.as_deref(), Some("HTTP 502"));
    assert!(s
        .symbols
        .iter()
        .all(|v| v.no_data && v.level == Level::None));
    assert_eq!(s.cycle_errors.len(), 1);
    assert!(s.last_error.is_some());
    // `e` opens the list; it is modal and Esc closes it.
    ch(&mut s, 'e');
    assert!(s.errors_open);
    ch(&mut s, '?');
    assert!(!s.help_open, "one popup at a time");
    press(&mut s, KeyCode::Esc);
    assert!(!s.errors_open);
    // One fetched value anywhere and the source is alive again.
    update(&mut s, one_symbol_cycle(50, vec![]));
    assert_eq!(s.no_data, None);
    let btc = s.symbols.iter().find(|v| v.symbol == "BTC").unwrap();
    assert!(!btc.no_data);
}

#[test]
fn what_arrives_during_a_long_first_cycle_is_shown_and_a_reported_cycle_wins() {
    let mut s = UiState::new(t0(), (120, 36), Theme { color: true });
    update(
        &mut s,
        Event::Monitor(Update::CycleStarted { cycle: 1, at: t0() }),
    );
    let mut early = Snapshot::new("BTC", crate::model::SourceKind::Live, t0());
    early.funding = crate::model::Field::fresh(
        crate::model::Funding {
            rate_8h_pct: Some(0.0123),
            by_exchange: vec![],
        },
        t0(),
    );
    update(
        &mut s,
        Event::Monitor(Update::Arrived {
            cycle: 1,
            snapshots: std::sync::Arc::new(vec![early.clone()]),
        }),
    );
    let btc = s
        .selected_view()
        .expect("the symbol shows before its cycle ends");
    assert_eq!(btc.symbol, "BTC");
    assert_eq!(
        btc.snapshot
            .as_ref()
            .and_then(|snap| snap.funding.get())
            .and_then(|f| f.rate_8h_pct),
        Some(0.0123)
    );
    assert_eq!(
        btc.level,
        Level::None,
        "no level before the cycle's signals"
    );
    assert!(btc.funding_history.is_empty(), "no history from a preview");

    // The cycle reports; a late arrival of that same cycle changes nothing.
    update(&mut s, one_symbol_cycle(1, vec![]));
    let reported = s.selected_view().and_then(|v| v.snapshot.clone());
    update(
        &mut s,
        Event::Monitor(Update::Arrived {
            cycle: 1,
            snapshots: std::sync::Arc::new(vec![early]),
        }),
    );
    assert_eq!(s.selected_view().and_then(|v| v.snapshot.clone()), reported);
}
