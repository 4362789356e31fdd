//! Liquidations panel: the last hour's long and short liquidations as two bars (share of the
//! total), the dominant side and the imbalance ratio.

use super::state::UiState;
use super::widgets::{self, read};
use crate::format;
use crate::model::Liquidations;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::Frame;

const LABEL_W: usize = 7;
const VALUE_W: usize = 8;

pub(super) fn render(frame: &mut Frame, area: Rect, state: &UiState) {
    let theme = state.theme;
    let reading = read(
        state.selected_snapshot().map(|s| &s.liquidations),
        state.now,
    );
    widgets::field_panel(
        frame,
        area,
        "Liquidations · last 1h",
        reading,
        theme,
        |liq, width| {
            let bar_w = (width as usize)
                .saturating_sub(LABEL_W + VALUE_W + 1)
                .min(widgets::MAX_BAR);
            let total = liq.total_1h_usd().filter(|t| *t > 0.0);
            vec![
                side("longs", liq.long_1h_usd, total, bar_w, theme.short(), state),
                side(
                    "shorts",
                    liq.short_1h_usd,
                    total,
                    bar_w,
                    theme.long(),
                    state,
                ),
                verdict(liq, state),
            ]
        },
    );
}

/// `longs  ██████░░░░  $42.1M`; the bar is the side's share of the total.
fn side(
    label: &str,
    usd: Option<f64>,
    total: Option<f64>,
    bar_w: usize,
    fill: Style,
    state: &UiState,
) -> Line<'static> {
    let mut spans = vec![Span::raw(format!("{label:<LABEL_W$}"))];
    match (usd, total) {
        (Some(v), Some(t)) => spans.extend(widgets::bar_spans(v / t, bar_w, fill, state.theme)),
        _ => spans.extend(widgets::bar_spans(0.0, bar_w, fill, state.theme)),
    }
    spans.push(Span::raw(format!(" {:>VALUE_W$}", format::usd(usd))));
    Line::from(spans)
}

fn verdict(liq: &Liquidations, state: &UiState) -> Line<'static> {
    let dim = state.theme.dim();
    let (Some(long), Some(short)) = (liq.long_1h_usd, liq.short_1h_usd) else {
        return Line::styled("dominant: n/a (one side not reported)", dim);
    };
    let (side, big, small) = if long >= short {
        ("longs", long, short)
    } else {
        ("shorts", short, long)
    };
    if big <= 0.0 {
        return Line::styled("no liquidations in the last hour", dim);
    }
    let ratio = if small > 0.0 {
        format!("{:.1}×", big / small)
    } else {
        "one-sided".to_string()
    };
    Line::from(vec![
        Span::styled("dominant: ", dim),
        Span::styled(side.to_string(), state.theme.bold()),
        Span::styled(" · imbalance ", dim),
        Span::raw(ratio),
    ])
}
