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
        &["Liquidations · last 1h", "Liquidations 1h", "Liq. 1h"],
        reading,
        theme,
        |liq, width, height| {
            let bar_w = (width as usize)
                .saturating_sub(LABEL_W + VALUE_W + 1)
                .min(widgets::MAX_BAR);
            let total = liq.total_1h_usd().filter(|t| *t > 0.0);
            let mut lines = vec![
                side("longs", liq.long_1h_usd, total, bar_w, theme.short(), state),
                side(
                    "shorts",
                    liq.short_1h_usd,
                    total,
                    bar_w,
                    theme.long(),
                    state,
                ),
            ];
            // Short of a line (compact), the bars and their values say who dominates.
            if height >= 3 {
                lines.push(verdict(liq, width as usize, state));
            }
            lines
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

/// `dominant: longs · imbalance 5.1×`, shorter on a narrow panel (never a number cut).
fn verdict(liq: &Liquidations, width: usize, state: &UiState) -> Line<'static> {
    let dim = state.theme.dim();
    let (Some(long), Some(short)) = (liq.long_1h_usd, liq.short_1h_usd) else {
        return Line::styled(
            widgets::ellipsize("dominant: n/a (one side not reported)", width),
            dim,
        );
    };
    let (side, big, small) = if long >= short {
        ("longs", long, short)
    } else {
        ("shorts", short, long)
    };
    if big <= 0.0 {
        return Line::styled(
            widgets::ellipsize("no liquidations in the last hour", width),
            dim,
        );
    }
    let ratio = if small > 0.0 {
        format!("{:.1}×", big / small)
    } else {
        "one-sided".to_string()
    };
    let line = |lead: &'static str, between: &'static str| {
        Line::from(vec![
            Span::styled(lead, dim),
            Span::styled(side.to_string(), state.theme.bold()),
            Span::styled(between, dim),
            Span::raw(ratio.clone()),
        ])
    };
    let wide = line("dominant: ", " · imbalance ");
    if wide.width() <= width {
        wide
    } else {
        line("dominant: ", " · ")
    }
}
