//! Help popup: every binding of the key table as the handler uses it, a legend of the markers
//! (levels, no data, bias), how to quit and what the mouse does. Long texts wrap at words in a
//! narrow popup; on a short terminal the popup scrolls (↑↓, PgUp/PgDn, g/G, the wheel).

use super::keys::{keys_text, BINDINGS};
use super::state::UiState;
use super::view::{level_marker, NO_DATA_MARKER};
use super::widgets;
use crate::model::Level;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

/// One row of a two-column list: the left column (keys or markers) and its text.
type Row = (Vec<Span<'static>>, &'static str);

fn binding_rows(state: &UiState) -> Vec<Row> {
    let bold = state.theme.bold();
    BINDINGS
        .iter()
        .map(|b| (vec![Span::styled(keys_text(b), bold)], b.help))
        .collect()
}

/// The markers the screen uses, in the colours it uses them in.
fn legend_rows(state: &UiState) -> Vec<Row> {
    let theme = state.theme;
    let mut levels = Vec::new();
    for (i, level) in [Level::High, Level::Medium, Level::Low]
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            levels.push(Span::raw(" "));
        }
        levels.push(Span::styled(level_marker(level), theme.level(level)));
    }
    let bias = |s: &'static str, style: Style| Span::styled(s, style);
    vec![
        (levels, "a tab's level: its most severe signal"),
        (
            vec![Span::styled(level_marker(Level::None), theme.dim())],
            "no signal",
        ),
        (
            vec![Span::styled(NO_DATA_MARKER, theme.no_data_tab())],
            "nothing fetched for it in the last cycle",
        ),
        (
            vec![
                bias(
                    super::feed::bias_marker(crate::model::Bias::Bullish),
                    theme.long(),
                ),
                Span::raw(" "),
                bias(
                    super::feed::bias_marker(crate::model::Bias::Bearish),
                    theme.short(),
                ),
                Span::raw(" "),
                bias(
                    super::feed::bias_marker(crate::model::Bias::Neutral),
                    theme.dim(),
                ),
            ],
            "a signal's bias: bullish, bearish, neutral",
        ),
    ]
}

/// The closing notes: quitting, the mouse, how to close.
fn notes(state: &UiState) -> [&'static str; 3] {
    [
        "Only q and Ctrl-C quit. Esc never quits: in a popup, Esc and q close it.",
        if state.mouse {
            "Mouse: click a tab to select it, or an overview row (twice opens it); the wheel \
             scrolls (--no-mouse leaves the mouse to the terminal, to select text)."
        } else {
            "Mouse: off (--no-mouse): the terminal selects text; use the keys."
        },
        "Esc, q or ? closes this help.",
    ]
}

fn col_width(rows: &[Row]) -> usize {
    rows.iter()
        .map(|(left, _)| left.iter().map(Span::width).sum::<usize>())
        .max()
        .unwrap_or(0)
}

/// A two-column list in `width` columns: the text wraps at words under its own column.
fn list(rows: Vec<Row>, width: usize) -> Vec<Line<'static>> {
    let left_w = col_width(&rows);
    let text_w = width.saturating_sub(left_w + 3).max(12);
    let mut lines = Vec::new();
    for (left, text) in rows {
        let pad = left_w - left.iter().map(Span::width).sum::<usize>();
        for (i, part) in widgets::wrap(text, text_w).into_iter().enumerate() {
            let mut spans = vec![Span::raw(" ")];
            if i == 0 {
                spans.extend(left.iter().cloned());
                spans.push(Span::raw(" ".repeat(pad + 2)));
            } else {
                spans.push(Span::raw(" ".repeat(left_w + 2)));
            }
            spans.push(Span::raw(part));
            lines.push(Line::from(spans));
        }
    }
    lines
}

/// Everything the popup says, for an inner width of `width`.
fn content(state: &UiState, width: usize) -> Vec<Line<'static>> {
    let dim = state.theme.dim();
    let mut lines = list(binding_rows(state), width);
    lines.push(Line::raw(""));
    lines.extend(list(legend_rows(state), width));
    lines.push(Line::raw(""));
    for note in notes(state) {
        for part in widgets::wrap(note, width.saturating_sub(2).max(12)) {
            lines.push(Line::styled(format!(" {part}"), dim));
        }
    }
    lines
}

/// The widest line the popup wants (unwrapped), frame included.
fn natural_width(state: &UiState) -> u16 {
    let widest = |rows: &[Row]| {
        let left = col_width(rows);
        rows.iter()
            .map(|(_, text)| 1 + left + 2 + Span::raw(*text).width() + 1)
            .max()
            .unwrap_or(0)
    };
    let w = widest(&binding_rows(state))
        .max(widest(&legend_rows(state)))
        .max(60);
    w as u16 + 2
}

/// The popup's rectangle in `area`, and its content at that width.
fn geometry(state: &UiState, area: Rect) -> (Rect, Vec<Line<'static>>) {
    let w = natural_width(state).min(area.width);
    let lines = content(state, w.saturating_sub(2) as usize);
    let popup = widgets::centered(area, w, lines.len() as u16 + 2);
    (popup, lines)
}

/// Lines the popup shows at once in `area`.
pub(super) fn page(state: &UiState, area: Rect) -> usize {
    let (popup, _) = geometry(state, area);
    popup.height.saturating_sub(2).max(1) as usize
}

/// How far the popup scrolls in `area` (0 when everything fits).
pub(super) fn max_scroll(state: &UiState, area: Rect) -> usize {
    let (popup, lines) = geometry(state, area);
    lines
        .len()
        .saturating_sub(popup.height.saturating_sub(2) as usize)
}

pub(super) fn render(frame: &mut Frame, area: Rect, state: &UiState) {
    let (popup, lines) = geometry(state, area);
    let shown = popup.height.saturating_sub(2) as usize;
    let total = lines.len();
    let scroll = state.help_scroll.min(total.saturating_sub(shown));
    let mut block = widgets::panel("Keys", None, state.theme);
    if total > shown {
        block = block.title_bottom(
            Line::styled(
                format!(" ↑↓ {}–{} of {total} ", scroll + 1, scroll + shown),
                state.theme.dim(),
            )
            .right_aligned(),
        );
    }
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .scroll((scroll as u16, 0)),
        popup,
    );
}
