//! Funding panel: the OI-weighted 8h rate and its band, the min/max exchange, a sparkline of the
//! rate, and the per-exchange table (stablecoin-margined rows, by OI).

use super::state::UiState;
use super::widgets::{self, fit, read};
use crate::format;
use crate::model::{ExchangeFunding, Funding, FundingBand, Margin};
use chrono::{DateTime, Utc};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

const EXCHANGE_W: usize = 8;

pub(super) fn render(frame: &mut Frame, area: Rect, state: &UiState) {
    let view = state.selected_view();
    let reading = read(state.selected_snapshot().map(|s| &s.funding), state.now);
    let theme = state.theme;
    // Two for the frame, one for the price, four for the headline, sparkline and table header.
    let rows_room = area.height.saturating_sub(2 + 1 + 4) as usize;
    // The symbol leads the first panel's title so the screen says whose numbers these are.
    let title = match view {
        Some(v) => format!("{} · Funding · 8h OI-weighted", v.symbol),
        None => "Funding · 8h OI-weighted".to_string(),
    };
    let price = super::price::line(state, area.width.saturating_sub(2) as usize);
    widgets::field_panel_led(
        frame,
        area,
        &title,
        Some(price),
        reading,
        theme,
        |funding, width| {
            let mut lines = headline(funding, width as usize, state);
            lines.push(match view.map(|v| &v.funding_history) {
                Some(h) if h.len() >= 2 => {
                    // Room for the longest label first, then say how many points are drawn.
                    let label_w = format!(" last {}", h.len()).len();
                    let w = (width as usize).saturating_sub(label_w).max(1);
                    Line::from(vec![
                        Span::raw(widgets::sparkline(h.last(w))),
                        Span::styled(format!(" last {}", h.len().min(w)), theme.dim()),
                    ])
                }
                _ => Line::styled("collecting history…", theme.dim()),
            });
            lines.extend(table(&funding.by_exchange, rows_room, state.now, state));
            lines
        },
    );
}

fn headline(f: &Funding, width: usize, state: &UiState) -> Vec<Line<'static>> {
    let theme = state.theme;
    let first = match f.rate_8h_pct.filter(|r| r.is_finite()) {
        Some(rate) => {
            let band = FundingBand::of(rate);
            Line::from(vec![
                Span::styled(
                    format::signed_pct(rate, 4),
                    theme
                        .band(band)
                        .add_modifier(ratatui::style::Modifier::BOLD),
                ),
                Span::raw(" "),
                Span::styled(band.label(), theme.band(band)),
            ])
        }
        None => Line::styled("n/a: no stablecoin-margined rate", theme.warn()),
    };
    let stable: Vec<&ExchangeFunding> = stable_rows(&f.by_exchange).collect();
    let min = stable
        .iter()
        .min_by(|a, b| a.rate_8h_pct.total_cmp(&b.rate_8h_pct));
    let max = stable
        .iter()
        .max_by(|a, b| a.rate_8h_pct.total_cmp(&b.rate_8h_pct));
    let second = match (min, max) {
        (Some(lo), Some(hi)) => {
            // `min X +0.0000%  max Y +0.0000%`: names are cut when the panel is narrow.
            const FIXED: usize = "min  +0.0000%  max  +0.0000%".len();
            let both = lo.exchange.chars().count() + hi.exchange.chars().count();
            let cut = both + FIXED > width;
            let name_w = width.saturating_sub(FIXED) / 2;
            let mut spans = extreme("min ", lo, cut.then_some(name_w), state).to_vec();
            spans.extend(extreme("  max ", hi, cut.then_some(name_w), state));
            Line::from(spans)
        }
        _ => Line::styled("min/max: n/a", theme.dim()),
    };
    vec![first, second]
}

/// `min Bybit +0.0400%`, the name cut to `name_w` when given.
fn extreme(
    label: &'static str,
    row: &ExchangeFunding,
    name_w: Option<usize>,
    state: &UiState,
) -> [Span<'static>; 3] {
    let name = match name_w {
        Some(w) => fit(&row.exchange, w).trim_end().to_string(),
        None => row.exchange.clone(),
    };
    [
        Span::styled(label, state.theme.dim()),
        Span::raw(format!("{name} ")),
        Span::styled(
            format::signed_pct(row.rate_8h_pct, 4),
            state.theme.sign(row.rate_8h_pct),
        ),
    ]
}

fn stable_rows(rows: &[ExchangeFunding]) -> impl Iterator<Item = &ExchangeFunding> {
    rows.iter()
        .filter(|r| r.margin == Margin::Stablecoin && r.rate_8h_pct.is_finite())
}

/// Header plus as many rows as fit in `room` lines (already sorted by OI); the last line says how
/// many did not fit.
fn table(
    rows: &[ExchangeFunding],
    room: usize,
    now: DateTime<Utc>,
    state: &UiState,
) -> Vec<Line<'static>> {
    let theme = state.theme;
    let mut lines = vec![Line::styled(
        format!(
            "{:<EXCHANGE_W$} {:>8} {:>5} {:>8} {:>5}",
            "exchange", "quoted", "every", "→ 8h", "next"
        ),
        theme.dim(),
    )];
    let stable: Vec<&ExchangeFunding> = stable_rows(rows).collect();
    let others = rows.len() - stable.len();
    let total = stable.len();
    let fits_all = total <= room;
    let shown = if fits_all {
        total
    } else {
        room.saturating_sub(1)
    };
    for r in stable.iter().take(shown) {
        let next = r.next_funding_time.map_or_else(
            || "?".to_string(),
            |t| format::hours_minutes((t - now).num_seconds()),
        );
        lines.push(Line::from(vec![
            Span::raw(fit(&r.exchange, EXCHANGE_W)),
            Span::raw(" "),
            widgets::signed_cell(Some(r.rate_pct), 4, 8, theme),
            Span::raw(format!(" {:>5} ", format::interval_hours(r.interval_hours))),
            widgets::signed_cell(Some(r.rate_8h_pct), 4, 8, theme),
            Span::raw(format!(" {next:>5}")),
        ]));
    }
    let hidden = total - shown;
    if hidden > 0 || (others > 0 && shown < room) {
        let mut note = Vec::new();
        if hidden > 0 {
            note.push(format!("+{hidden} more"));
        }
        if others > 0 {
            note.push(format!("{others} coin-margined not listed"));
        }
        lines.push(Line::styled(note.join(" · "), theme.dim()));
    }
    if total == 0 {
        lines.push(Line::styled("no exchange rows reported", theme.dim()));
    }
    lines
}
