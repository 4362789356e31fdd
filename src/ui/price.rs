//! The selected symbol's price and its 1h and 24h change: the first line under the symbol's
//! name. Fresh, stale (`stale 4m`) or `price n/a: <reason>`; never a zero for a missing value.

use super::state::UiState;
use super::widgets::{self, read, Reading};
use crate::format;
use crate::model::Price;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// A price with the precision its size needs: `$97,000.00`, `$3.4512`, `$0.0000123400`.
pub(super) fn price_text(v: f64) -> String {
    let a = v.abs();
    let sign = if v < 0.0 { "-" } else { "" };
    if a >= 1000.0 {
        let cents = (a * 100.0).round() as u128;
        let (whole, frac) = (cents / 100, cents % 100);
        let digits = whole.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        format!("{sign}${grouped}.{frac:02}")
    } else if a >= 100.0 {
        format!("{sign}${a:.2}")
    } else if a >= 1.0 {
        format!("{sign}${a:.4}")
    } else if a > 0.0 {
        // Six significant digits.
        let decimals = (5 - a.log10().floor() as i32).clamp(0, 12) as usize;
        format!("{sign}${a:.decimals$}")
    } else {
        "$0".to_string()
    }
}

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
        Some(v) => Span::styled(price_text(v), value_style.patch(theme.bold())),
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

#[cfg(test)]
mod tests {
    use super::price_text;

    #[test]
    fn prices_keep_the_precision_their_size_needs() {
        assert_eq!(price_text(97_000.0), "$97,000.00");
        assert_eq!(price_text(1_234_567.891), "$1,234,567.89");
        assert_eq!(price_text(1000.0), "$1,000.00");
        assert_eq!(price_text(245.5), "$245.50");
        assert_eq!(price_text(3.45123), "$3.4512");
        assert_eq!(price_text(0.5), "$0.500000");
        assert_eq!(price_text(0.0000123456), "$0.0000123456");
        assert_eq!(price_text(0.0), "$0");
    }
}
