//! Help popup: every binding of the key table, as the handler uses it.

use super::keys::{keys_text, BINDINGS};
use super::state::UiState;
use super::widgets;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

pub(super) fn render(frame: &mut Frame, area: Rect, state: &UiState) {
    let theme = state.theme;
    let rows: Vec<(String, &str)> = BINDINGS.iter().map(|b| (keys_text(b), b.help)).collect();
    let keys_w = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let text_w = rows
        .iter()
        .map(|(_, h)| h.chars().count())
        .max()
        .unwrap_or(0);
    let mut lines: Vec<Line> = rows
        .into_iter()
        .map(|(k, h)| {
            Line::from(vec![
                Span::styled(format!(" {k:<keys_w$}  "), theme.bold()),
                Span::raw(h),
            ])
        })
        .collect();
    // The blank line before the notes goes first when the screen is short.
    if lines.len() + 5 <= area.height as usize {
        lines.push(Line::raw(""));
    }
    lines.push(Line::styled(
        " mouse: click a tab or a row (twice opens it), wheel scrolls",
        theme.dim(),
    ));
    lines.push(Line::styled(" Esc or ? closes this help", theme.dim()));
    let want_w = (keys_w + text_w + 5) as u16;
    let want_h = lines.len() as u16 + 2;
    let popup = widgets::centered(area, want_w, want_h);
    frame.render_widget(Clear, popup);
    let block = widgets::panel("Keys", None, theme);
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}
