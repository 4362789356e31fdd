//! Positioning panel: retail and top-trader long share as two gauges on the reference pair, and
//! their divergence in points. Retail and top are fetched separately, so each line says on its
//! own whether it is fresh, stale or missing.

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
    let title = match source {
        Some(src) => format!("Positioning · {src}"),
        None => "Positioning".to_string(),
    };
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
    let lines = vec![
        gauge("retail", &retail, bar_w, width, state),
        gauge("top", &top, bar_w, width, state),
        divergence(&retail, &top, width, state),
    ];
    frame.render_widget(Paragraph::new(lines), inner);
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
        return Line::styled("divergence: n/a (needs retail and top)", dim);
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
    let reading = if fixed + wide.len() <= width {
        wide
    } else {
        narrow
    };
    Line::from(vec![
        Span::styled("divergence ", dim),
        Span::styled(value, state.theme.bold()),
        Span::styled(format!(": {reading}"), dim),
    ])
}
