//! Taker flow panel: the last hour's taker buy/sell split as one bar.

use super::state::UiState;
use super::widgets::{self, read};
use crate::format;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

/// `buy 68.0% ` and ` 32.0% sell`.
const TEXT_W: usize = 10 + 11;

pub(super) fn render(frame: &mut Frame, area: Rect, state: &UiState) {
    let theme = state.theme;
    let reading = read(state.selected_snapshot().map(|s| &s.taker), state.now);
    widgets::field_panel(
        frame,
        area,
        &["Taker flow · 1h", "Taker 1h"],
        reading,
        theme,
        |t, width, _| {
            let Some(buy) = t.buy_pct.filter(|b| b.is_finite()) else {
                return vec![Line::styled(
                    widgets::gap_text(&crate::model::GapReason::NotReported),
                    theme.warn(),
                )];
            };
            let mut bar_w = (width as usize).saturating_sub(TEXT_W);
            // Wide panels also show the volumes behind the split.
            let volumes = match (t.buy_usd, t.sell_usd) {
                (Some(b), Some(s)) if bar_w > 40 => {
                    let v = format!("  {} / {}", format::usd(Some(b)), format::usd(Some(s)));
                    bar_w -= v.chars().count();
                    Some(v)
                }
                _ => None,
            };
            let bar_w = bar_w.min(widgets::MAX_BAR);
            let [filled, rest] = widgets::bar_spans(buy / 100.0, bar_w, theme.long(), theme);
            let mut spans = vec![
                Span::raw(format!("buy {:>5} ", format::share_pct(buy, 1))),
                filled,
                // The unfilled part is the sell side: red, not dim.
                Span::styled(rest.content, theme.short()),
                Span::raw(format!(" {:>5} sell", format::share_pct(100.0 - buy, 1))),
            ];
            if let Some(v) = volumes {
                spans.push(Span::styled(v, theme.dim()));
            }
            vec![Line::from(spans)]
        },
    );
}
