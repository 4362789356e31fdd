//! Errors popup (`e`): every distinct error of the last cycle, in full, wrapped at words; a dead
//! source's cause first; then each venue that is not fully working (the exchanges source).

use super::state::UiState;
use super::widgets;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

const CLOSE_HINT: &str = " Esc or e closes this list";

pub(super) fn render(frame: &mut Frame, area: Rect, state: &UiState) {
    let theme = state.theme;
    // Most of the screen: error texts are long, and wrapped rather than cut.
    let popup_w = (area.width.saturating_mul(9) / 10).max(20).min(area.width);
    let text_w = (popup_w as usize).saturating_sub(4).max(1);
    let mut lines: Vec<Line> = Vec::new();
    let bullet = |text: &str, style, lines: &mut Vec<Line>| {
        for (i, l) in widgets::wrap(text, text_w.saturating_sub(2).max(1))
            .into_iter()
            .enumerate()
        {
            let lead = if i == 0 { " • " } else { "   " };
            lines.push(Line::styled(format!("{lead}{l}"), style));
        }
    };
    match state.poll.last_cycle {
        None => lines.push(Line::styled(
            " no cycle has finished yet: nothing to report",
            theme.dim(),
        )),
        Some(cycle) => {
            let n = state.cycle_errors.len();
            let what = match n {
                0 => "no errors".to_string(),
                1 => "1 distinct error".to_string(),
                n => format!("{n} distinct errors"),
            };
            lines.push(Line::styled(
                format!(" cycle {cycle}: {what}"),
                theme.bold(),
            ));
            if state.no_data.is_some() {
                lines.push(Line::styled(
                    " no data: nothing was fetched in this cycle",
                    theme.error(),
                ));
            }
            for e in &state.cycle_errors {
                bullet(e, ratatui::style::Style::new(), &mut lines);
            }
            // The exchanges source: every venue that is not fully working, with what lies
            // behind its state.
            let venues: Vec<String> = state
                .venues
                .iter()
                .filter(|v| !v.is_ok())
                .map(crate::report::venue_text)
                .collect();
            if !venues.is_empty() {
                lines.push(Line::styled(" venues:", theme.bold()));
                for v in &venues {
                    bullet(v, theme.warn(), &mut lines);
                }
                if state.no_data.is_some() {
                    lines.push(Line::styled(
                        " try --demo for the simulated market meanwhile",
                        theme.dim(),
                    ));
                }
            }
        }
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(CLOSE_HINT, theme.dim()));
    let max_h = area.height.saturating_sub(2).max(3);
    let room = max_h.saturating_sub(2) as usize;
    if lines.len() > room && room >= 2 {
        // Keep the close hint; say how much did not fit.
        let hidden = lines.len() - room;
        lines.truncate(room - 2);
        lines.push(Line::styled(
            format!(" … {hidden} more lines: enlarge the terminal (the log has them all)"),
            theme.dim(),
        ));
        lines.push(Line::styled(CLOSE_HINT, theme.dim()));
    }
    let popup = widgets::centered(area, popup_w, lines.len() as u16 + 2);
    frame.render_widget(Clear, popup);
    let block = widgets::panel("Errors of the last cycle", None, theme);
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}
