//! One full dashboard frame at 200×50 with 20 symbols, 24 h of sparkline history (1440 points
//! each) and a full 500-entry signal feed, drawn on ratatui's `TestBackend`; and the overview of
//! 100 symbols at the same size.
//!
//! `cargo bench --bench render` (`-- overview` for the overview alone)

use criterion::{criterion_group, criterion_main, Criterion};
use perpwatch::ui::state::{Column, Screen, Sort};
use perpwatch::ui::{sample, view, UiState};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn draw(terminal: &mut Terminal<TestBackend>, state: &UiState) {
    // A redraw of the whole frame each time: the buffer diff must not hide the work.
    terminal.clear().ok();
    terminal.draw(|f| view::render(f, state)).ok();
}

fn render(c: &mut Criterion) {
    let state = sample::loaded_state(20, (200, 50));
    assert_eq!(state.feed.len(), perpwatch::ui::state::FEED_CAP);
    assert!(state
        .symbols
        .iter()
        .all(|s| s.funding_history.len() == perpwatch::report::HISTORY_CAP));
    let mut terminal = match Terminal::new(TestBackend::new(200, 50)) {
        Ok(t) => t,
        Err(e) => panic!("test backend: {e}"),
    };
    c.bench_function("frame_200x50_20_symbols_full_history", |b| {
        b.iter(|| draw(&mut terminal, &state))
    });
    // The worst feed case: the cursor at the oldest entry, expanded.
    let mut deep = state.clone();
    deep.feed_cursor = deep.visible_feed_len() - 1;
    deep.expanded = deep.visible_feed().last().map(|e| e.seq);
    c.bench_function("frame_200x50_feed_scrolled_to_oldest", |b| {
        b.iter(|| draw(&mut terminal, &deep))
    });
}

fn overview(c: &mut Criterion) {
    let mut state = sample::loaded_state(100, (200, 50));
    assert_eq!(state.feed.len(), perpwatch::ui::state::FEED_CAP);
    assert!(state
        .symbols
        .iter()
        .all(|s| s.funding_history.len() == perpwatch::report::HISTORY_CAP));
    state.screen = Screen::Overview;
    let mut terminal = match Terminal::new(TestBackend::new(200, 50)) {
        Ok(t) => t,
        Err(e) => panic!("test backend: {e}"),
    };
    c.bench_function("overview_200x50_100_symbols", |b| {
        b.iter(|| draw(&mut terminal, &state))
    });
    // The costliest sort: every row's active signals are looked up to order the rows.
    state.overview.sort = Sort {
        column: Column::TopSignal,
        descending: true,
    };
    c.bench_function("overview_200x50_100_symbols_sorted_by_signal", |b| {
        b.iter(|| draw(&mut terminal, &state))
    });
}

criterion_group!(benches, render, overview);
criterion_main!(benches);
