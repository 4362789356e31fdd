//! Open interest panel: the total in human units with a sparkline, and its changes over six
//! windows, coloured by sign.

use super::state::UiState;
use super::widgets::{self, read};
use crate::format;
use crate::model::OpenInterest;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

pub(super) fn render(frame: &mut Frame, area: Rect, state: &UiState) {
    let theme = state.theme;
    let history = state.selected_view().map(|v| &v.oi_history);
    let reading = read(
        state.selected_snapshot().map(|s| &s.open_interest),
        state.now,
    );
    // The exchanges source sums the venues' open interest: the title says which.
    let with_venues = state
        .data_venues()
        .map(|venues| format!("Open interest · {venues}"));
    let titles: Vec<&str> = with_venues
        .iter()
        .map(String::as_str)
        .chain(["Open interest", "OI"])
        .collect();
    widgets::field_panel(frame, area, &titles, reading, theme, |oi, width, height| {
        let total = format::usd(oi.oi_usd);
        let spark_w = (width as usize).saturating_sub(total.len() + 2);
        let spark = match history {
            Some(h) if h.len() >= 2 => widgets::sparkline(h.last(spark_w)),
            _ => String::new(),
        };
        let mut lines = vec![Line::from(vec![
            Span::styled(total, theme.bold()),
            Span::raw("  "),
            Span::raw(spark),
        ])];
        lines.extend(changes(
            oi,
            width as usize,
            height.saturating_sub(1) as usize,
            state,
        ));
        lines
    });
}

/// ` 1h   +7.0%`: a window's label and its change.
const CELL_W: usize = 3 + 1 + 7;
const CELL_GAP: usize = 2;
/// Which windows stay when not all fit, most telling first.
const PRIORITY: [usize; 6] = [3, 5, 4, 1, 0, 2];

/// The six windows' changes in `lines` rows of `width` columns, in time order: all six (three
/// a row) when they fit, else the most telling ones (1h, 24h, 4h, 15m, 5m, 30m) that do.
fn changes(oi: &OpenInterest, width: usize, lines: usize, state: &UiState) -> Vec<Line<'static>> {
    let windows = [
        ("5m", oi.change_5m_pct),
        ("15m", oi.change_15m_pct),
        ("30m", oi.change_30m_pct),
        ("1h", oi.change_1h_pct),
        ("4h", oi.change_4h_pct),
        ("24h", oi.change_24h_pct),
    ];
    let per_line = ((width + CELL_GAP) / (CELL_W + CELL_GAP)).clamp(1, 3);
    let room = (per_line * lines).min(windows.len());
    let mut keep: Vec<usize> = PRIORITY.iter().take(room).copied().collect();
    keep.sort_unstable();
    keep.chunks(per_line)
        .map(|chunk| {
            let mut spans = Vec::with_capacity(2 * chunk.len());
            for (i, &w) in chunk.iter().enumerate() {
                let (label, v) = windows[w];
                let gap = if i == 0 { "" } else { "  " };
                spans.push(Span::styled(format!("{gap}{label:>3} "), state.theme.dim()));
                spans.push(widgets::signed_cell(v, 1, 7, state.theme));
            }
            Line::from(spans)
        })
        .collect()
}
