//! Positioning panel: retail and top-trader long share as two gauges on the reference pair, and
//! their divergence in points; with room to spare, the history of both shares as sparklines.
//! Retail and top are fetched separately, so each line says on its own whether it is fresh,
//! stale or missing.

use super::state::UiState;
use super::widgets::{self, read, Reading};
use crate::format;
use crate::model::LongShort;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

const LABEL_W: usize = 7;
/// ` 70.0% long`.
const VALUE_W: usize = 12;

pub(super) fn render(frame: &mut Frame, area: Rect, state: &UiState) {
    let theme = state.theme;
    let snap = state.selected_snapshot();
    let retail = read(snap.map(|s| &s.retail), state.now);
    let top = read(snap.map(|s| &s.top), state.now);
    let source = [&retail, &top].into_iter().find_map(|r| match r {
        Reading::Fresh(ls) | Reading::Stale(ls, ..) => Some(ls.source.clone()),
        Reading::Absent(_) => None,
    });
    // The pair and bar, cut at a word when the panel is narrow (`Binance BTCUSDT 4h…`).
    let long_title = source.map(|src| format!("Positioning · {src}"));
    let cut_title = long_title
        .as_deref()
        .map(|t| widgets::ellipsize(t, (area.width as usize).saturating_sub(4)))
        .filter(|t| t.chars().count() > "Positioning · ".len() + 4);
    let titles: Vec<&str> = long_title
        .iter()
        .chain(cut_title.iter())
        .map(String::as_str)
        .chain(["Positioning"])
        .collect();
    let (title, _) = widgets::fit_title(&titles, &[], area.width as usize);
    let block = widgets::panel(&title, None, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    // Both bars equally long, leaving room for a `stale 4m` note when either needs one.
    let note_w = [&retail, &top]
        .iter()
        .filter_map(|r| r.stale_note())
        .map(|n| n.chars().count() + 1)
        .max()
        .unwrap_or(0);
    let width = inner.width as usize;
    let bar_w = width
        .saturating_sub(LABEL_W + VALUE_W + note_w)
        .min(widgets::MAX_BAR);
    let mut lines = vec![
        gauge("retail", &retail, bar_w, width, state),
        gauge("top", &top, bar_w, width, state),
        divergence(&retail, &top, width, state),
    ];
    // Rows to spare: how both shares moved, one point per cycle that fetched them.
    let spare = (inner.height as usize).saturating_sub(lines.len());
    if let (Some(view), true) = (state.selected_view(), spare >= 2) {
        if spare >= 4 {
            lines.push(Line::raw(""));
        }
        if spare >= 3 {
            lines.push(Line::styled(
                widgets::ellipsize("long share, one point per cycle (low–high):", width),
                theme.dim(),
            ));
        }
        lines.push(history("retail", &view.retail_long_history, width, state));
        lines.push(history("top", &view.top_long_history, width, state));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// `retail ▁▂▃▅▇█ 62.0–70.0%`: the share's sparkline, scaled to its own range, which follows.
fn history(
    label: &str,
    h: &crate::ui::state::History,
    width: usize,
    state: &UiState,
) -> Line<'static> {
    let theme = state.theme;
    let head = Span::raw(format!("{label:<LABEL_W$}"));
    if h.len() < 2 {
        return Line::from(vec![
            head,
            Span::styled(
                widgets::ellipsize("collecting history…", width.saturating_sub(LABEL_W)),
                theme.dim(),
            ),
        ]);
    }
    // ` 100.0–100.0%` at most: the range of the points drawn.
    const RANGE_W: usize = 13;
    let spark_w = width.saturating_sub(LABEL_W + RANGE_W).min(h.len()).max(1);
    let (lo, hi) = h
        .last(spark_w)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    let range = if hi - lo < 0.05 {
        format!(" {} flat", format::share_pct(hi, 1))
    } else {
        format!(" {lo:.1}–{}", format::share_pct(hi, 1))
    };
    Line::from(vec![
        head,
        Span::styled(widgets::sparkline(h.last(spark_w)), theme.long()),
        Span::styled(range, theme.dim()),
    ])
}

fn long_pct(r: &Reading<'_, LongShort>) -> Option<f64> {
    match r {
        Reading::Fresh(ls) | Reading::Stale(ls, ..) => ls.long_pct.filter(|v| v.is_finite()),
        Reading::Absent(_) => None,
    }
}

/// `retail ██████████░░░░  70.0% long`, with `stale 4m` when kept from an earlier fetch; or
/// `retail n/a: <reason>`, cut at a word to the panel's `width`.
fn gauge(
    label: &str,
    r: &Reading<'_, LongShort>,
    bar_w: usize,
    width: usize,
    state: &UiState,
) -> Line<'static> {
    let theme = state.theme;
    let mut spans = vec![Span::raw(format!("{label:<LABEL_W$}"))];
    let reason = match r {
        Reading::Absent(reason) => Some(reason.clone()),
        _ => None,
    };
    match (long_pct(r), reason) {
        (Some(long), _) => {
            let style = r.value_style(theme);
            for s in widgets::bar_spans(long / 100.0, bar_w, theme.long().patch(style), theme) {
                spans.push(s);
            }
            spans.push(Span::styled(
                format!(" {:>6} long", format::share_pct(long, 1)),
                style,
            ));
            if let Some(note) = r.stale_note() {
                spans.push(Span::styled(format!(" {note}"), theme.warn()));
            }
        }
        (None, Some(reason)) => spans.push(Span::styled(
            widgets::ellipsize(&widgets::gap_text(&reason), width.saturating_sub(LABEL_W)),
            theme.warn(),
        )),
        (None, None) => spans.push(Span::styled(
            widgets::gap_text(&crate::model::GapReason::NotReported),
            theme.warn(),
        )),
    }
    Line::from(spans)
}

fn divergence(
    retail: &Reading<'_, LongShort>,
    top: &Reading<'_, LongShort>,
    width: usize,
    state: &UiState,
) -> Line<'static> {
    let dim = state.theme.dim();
    let (Some(r), Some(t)) = (long_pct(retail), long_pct(top)) else {
        return Line::styled(
            widgets::ellipsize("divergence: n/a (needs retail and top)", width),
            dim,
        );
    };
    let pts = t - r;
    // (wide, narrow) readings: the narrow one fits half of an 80-column screen.
    let (wide, narrow) = if pts.abs() < 1.0 {
        ("top traders and retail agree", "aligned")
    } else if pts < 0.0 {
        ("top traders fading retail longs", "top less long")
    } else {
        ("top traders longer than retail", "top more long")
    };
    let value = format!("{:.1} pts", pts.abs());
    let fixed = "divergence ".len() + value.len() + 2;
    // The reading that fits; on the narrowest panel the number alone (the bars show which way).
    let reading = [wide, narrow]
        .into_iter()
        .find(|r| fixed + r.len() <= width)
        .map(|r| format!(": {r}"))
        .unwrap_or_default();
    Line::from(vec![
        Span::styled("divergence ", dim),
        Span::styled(value, state.theme.bold()),
        Span::styled(reading, dim),
    ])
}
