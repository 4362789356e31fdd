//! The selected symbol's price and its 1h and 24h change: the first line under the symbol's
//! name. Fresh, stale (`stale 4m`) or `price n/a: <reason>`; never a zero for a missing value.

use super::state::UiState;
use super::widgets::{self, read, Reading};
use crate::format;
use crate::model::Price;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// The price line in at most `width` columns: the most that fits of
/// `price $97,000.00  1h +1.20%  24h +3.40%  stale 4m (HTTP 500)`.
pub(super) fn line(state: &UiState, width: usize) -> Line<'static> {
    let theme = state.theme;
    let reading = read(state.selected_snapshot().map(|s| &s.price), state.now);
    let p: &Price = match &reading {
        Reading::Fresh(p) | Reading::Stale(p, ..) => p,
        Reading::Absent(reason) => {
            return Line::styled(
                widgets::ellipsize(&format!("price {}", widgets::gap_text(reason)), width),
                theme.warn(),
            );
        }
    };
    let value_style = reading.value_style(theme);
    let price = match p.price.filter(|v| v.is_finite()) {
        Some(v) => Span::styled(format::price(v), value_style.patch(theme.bold())),
        None => Span::styled("n/a (not reported)", theme.warn()),
    };
    let change = |v: Option<f64>| -> Span<'static> {
        match v.filter(|v| v.is_finite()) {
            Some(v) => Span::styled(format::signed_pct(v, 2), theme.sign(v).patch(value_style)),
            None => Span::styled("n/a", theme.dim()),
        }
    };
    let (c1, c24) = (change(p.change_1h_pct), change(p.change_24h_pct));
    let (age, why) = match &reading {
        Reading::Stale(_, age, why) => (
            Some(format!("stale {}", format::age(*age))),
            Some(why.to_string()),
        ),
        _ => (None, None),
    };
    let dim = theme.dim();
    let build = |label: bool, gap: &'static str, with_1h: bool, note: Option<String>| {
        let mut spans: Vec<Span<'static>> = Vec::with_capacity(8);
        if label {
            spans.push(Span::styled("price ", dim));
        }
        spans.push(price.clone());
        if with_1h {
            spans.push(Span::styled(format!("{gap}1h "), dim));
            spans.push(c1.clone());
        }
        spans.push(Span::styled(format!("{gap}24h "), dim));
        spans.push(c24.clone());
        if let Some(note) = note {
            spans.push(Span::styled(format!("{gap}{note}"), theme.warn()));
        }
        Line::from(spans)
    };
    let long_note = age
        .as_ref()
        .map(|a| format!("{a} ({})", why.clone().unwrap_or_default()));
    let candidates = [
        build(true, "  ", true, long_note),
        build(true, "  ", true, age.clone()),
        build(true, " ", true, age.clone()),
        build(false, " ", true, age.clone()),
        build(false, " ", false, age.clone()),
    ];
    let fallback = candidates[candidates.len() - 1].clone();
    candidates
        .into_iter()
        .find(|l| l.width() <= width)
        .unwrap_or(fallback)
        .style(Style::new())
}
