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
    widgets::field_panel(frame, area, "Open interest", reading, theme, |oi, width| {
        let total = format::usd(oi.oi_usd);
        let spark_w = (width as usize).saturating_sub(total.len() + 2);
        let spark = match history {
            Some(h) if h.len() >= 2 => widgets::sparkline(h.last(spark_w)),
            _ => String::new(),
        };
        vec![
            Line::from(vec![
                Span::styled(total, theme.bold()),
                Span::raw("  "),
                Span::raw(spark),
            ]),
            changes(oi, 0, state),
            changes(oi, 3, state),
        ]
    });
}

/// One row of three `label value` cells, starting at window `from`.
fn changes(oi: &OpenInterest, from: usize, state: &UiState) -> Line<'static> {
    let windows = [
        ("5m", oi.change_5m_pct),
        ("15m", oi.change_15m_pct),
        ("30m", oi.change_30m_pct),
        ("1h", oi.change_1h_pct),
        ("4h", oi.change_4h_pct),
        ("24h", oi.change_24h_pct),
    ];
    let mut spans = Vec::with_capacity(6);
    for (i, (label, v)) in windows.iter().skip(from).take(3).enumerate() {
        let gap = if i == 0 { "" } else { "  " };
        spans.push(Span::styled(format!("{gap}{label:>3} "), state.theme.dim()));
        spans.push(widgets::signed_cell(*v, 1, 7, state.theme));
    }
    Line::from(spans)
}
