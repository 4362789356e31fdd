//! The snapshot matrix: every screen at every size the dashboard supports, with 3 and 25
//! symbols, in colour and with `NO_COLOR`. Colour snapshots record each cell's style (ratatui's
//! buffer debug form), so a colour change shows in review; `NO_COLOR` ones must carry no colour
//! at all. Every frame must show the key bar on its last row.

use super::sample;
use super::state::{Screen, UiState};
use super::theme::Theme;
use super::view;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use ratatui::Terminal;

const SIZES: [(u16, u16); 5] = [(60, 20), (80, 23), (80, 24), (120, 36), (200, 50)];

fn draw(state: &UiState) -> Terminal<TestBackend> {
    let (w, h) = state.size;
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    t.draw(|f| view::render(f, state)).expect("draw");
    t
}

fn last_row(t: &Terminal<TestBackend>) -> String {
    let buf = t.backend().buffer();
    let y = buf.area.height - 1;
    (0..buf.area.width)
        .map(|x| buf[(x, y)].symbol().to_string())
        .collect()
}

fn screen_name(s: Screen) -> &'static str {
    match s {
        Screen::Detail => "detail",
        Screen::Overview => "overview",
    }
}

#[test]
fn every_screen_at_every_size_with_3_and_25_symbols_in_colour_and_no_color() {
    for screen in [Screen::Overview, Screen::Detail] {
        for (w, h) in SIZES {
            for n in [3, 25] {
                for color in [true, false] {
                    // The sample market: every level, an active feed, ETH with gaps, SOL without data.
                    let mut state = sample::market_with_gaps(n, (w, h), Theme { color });
                    state.screen = screen;
                    let t = draw(&state);
                    let name = format!(
                        "{}_{w}x{h}_{n}_symbols_{}",
                        screen_name(screen),
                        if color { "colour" } else { "no_color" }
                    );
                    let bar = last_row(&t);
                    assert!(
                        bar.contains("q quit") && bar.contains("? help"),
                        "{name}: the key bar is not on the last row: {bar:?}"
                    );
                    let buffer = t.backend().buffer();
                    if color {
                        assert!(
                            buffer.content().iter().any(|c| c.fg != Color::Reset),
                            "{name}: a colour frame without colour"
                        );
                        insta::assert_snapshot!(name, format!("{buffer:?}"));
                    } else {
                        for cell in buffer.content() {
                            assert_eq!(
                                (cell.fg, cell.bg),
                                (Color::Reset, Color::Reset),
                                "{name}: colour under NO_COLOR: {cell:?}"
                            );
                        }
                        insta::assert_snapshot!(name, t.backend());
                    }
                }
            }
        }
    }
}
