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

/// The exchange column is never narrower than its header (`exchange`), nor wider than this.
const EXCHANGE_MIN: usize = 8;
const EXCHANGE_MAX: usize = 20;

pub(super) fn render(frame: &mut Frame, area: Rect, state: &UiState) {
    let view = state.selected_view();
    let reading = read(state.selected_snapshot().map(|s| &s.funding), state.now);
    let theme = state.theme;
    // The symbol leads the first panel's title so the screen says whose numbers these are.
    let (long, short) = match view {
        Some(v) => (
            format!("{} · Funding · 8h OI-weighted", v.symbol),
            format!("{} · Funding 8h", v.symbol),
        ),
        None => (
            "Funding · 8h OI-weighted".to_string(),
            "Funding 8h".to_string(),
        ),
    };
    let price = super::price::line(state, area.width.saturating_sub(2) as usize);
    widgets::field_panel_led(
        frame,
        area,
        &[&long, &short],
        Some(price),
        reading,
        theme,
        |funding, width, height| {
            let mut lines = headline(funding, width as usize, state);
            // Under the headline: the sparkline, the table header, then rows.
            let stable = stable_rows(&funding.by_exchange).count();
            let rows_room = (height as usize).saturating_sub(lines.len() + 2);
            // Short of rows (fewer than MIN_ROWS of the exchanges shown), the sparkline gives
            // its line to the table.
            let spark = rows_room >= stable || rows_room > MIN_ROWS;
            if spark {
                lines.push(sparkline(view.map(|v| &v.funding_history), width, state));
            }
            let rows_room = rows_room + usize::from(!spark);
            lines.extend(table(
                &funding.by_exchange,
                rows_room,
                width as usize,
                state.now,
                state,
            ));
            lines
        },
    );
}

/// The table shows at least this many exchanges before the sparkline takes a line.
const MIN_ROWS: usize = 3;

fn sparkline(
    history: Option<&super::state::History>,
    width: u16,
    state: &UiState,
) -> Line<'static> {
    let theme = state.theme;
    match history {
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
    }
}

fn headline(f: &Funding, width: usize, state: &UiState) -> Vec<Line<'static>> {
    let theme = state.theme;
    let first = match f.rate_8h_pct.filter(|r| r.is_finite()) {
        Some(rate) => {
            let band = FundingBand::of(rate);
            let value = format::signed_pct(rate, 4);
            // The rate is whole; its band's words give way (cut at a word) on a narrow panel.
            let label = widgets::ellipsize(band.label(), width.saturating_sub(value.len() + 1));
            Line::from(vec![
                Span::styled(
                    value,
                    theme
                        .band(band)
                        .add_modifier(ratatui::style::Modifier::BOLD),
                ),
                Span::raw(" "),
                Span::styled(label, theme.band(band)),
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
            // `min X +0.0000%  max Y +0.0000%`: names are cut when the panel is narrow, and
            // left out when too little of them would be left; the rates always stay whole.
            const FIXED: usize = "min  +0.0000%  max  +0.0000%".len();
            let (lo_n, hi_n) = (lo.exchange.chars().count(), hi.exchange.chars().count());
            let room = width.saturating_sub(FIXED);
            // A short name keeps all of it; the other gets the rest.
            let (lo_w, hi_w) = if lo_n + hi_n <= room {
                (lo_n, hi_n)
            } else if lo_n <= room / 2 {
                (lo_n, room - lo_n)
            } else if hi_n <= room / 2 {
                (room - hi_n, hi_n)
            } else {
                (room / 2, room - room / 2)
            };
            let mut spans = extreme("min ", lo, lo_w, state).to_vec();
            spans.extend(extreme("  max ", hi, hi_w, state));
            Line::from(spans)
        }
        _ => Line::styled("min/max: n/a", theme.dim()),
    };
    vec![first, second]
}

/// `min Bybit +0.0400%`, the name cut to `name_w` columns (`Bina.`), or left out when fewer
/// than four would be left of it.
fn extreme(
    label: &'static str,
    row: &ExchangeFunding,
    name_w: usize,
    state: &UiState,
) -> [Span<'static>; 3] {
    let name = if row.exchange.chars().count() <= name_w {
        format!("{} ", row.exchange)
    } else if name_w < 4 {
        String::new()
    } else {
        format!("{} ", fit(&row.exchange, name_w).trim_end())
    };
    [
        Span::styled(label, state.theme.dim()),
        Span::raw(name),
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

/// The table's columns at one width: the exchange names' width, and which optional columns show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Columns {
    name_w: usize,
    /// `quoted` and `every`: the rate as the exchange quotes it, and its interval.
    quoted: bool,
    /// The exchange's open interest (the weight of its rate).
    oi: bool,
}

/// ` +0.0000%`, ` every`, ` +0.0000%`, ` 2h13m`, `  $12.3B`.
const QUOTED_W: usize = 1 + 8 + 1 + 5;
const RATE_W: usize = 1 + 8 + 1 + 5;
const OI_W: usize = 1 + 8;

impl Columns {
    /// The most the table can show in `width` columns, in this order: every column with full
    /// names, the quoted columns with full names, the quoted columns with names cut (not below
    /// [`EXCHANGE_MIN`]), then the 8h rate and the next funding only, names as long as fit.
    fn fit(names: &[&str], width: usize) -> Columns {
        let longest = names
            .iter()
            .map(|n| n.chars().count())
            .max()
            .unwrap_or(0)
            .clamp(EXCHANGE_MIN, EXCHANGE_MAX);
        let with = |name_w, quoted, oi| Columns { name_w, quoted, oi };
        [with(longest, true, true), with(longest, true, false)]
            .into_iter()
            .find(|c| c.width() <= width)
            .unwrap_or_else(|| {
                let cut = width.saturating_sub(QUOTED_W + RATE_W);
                if cut >= EXCHANGE_MIN {
                    with(cut, true, false)
                } else {
                    with(longest.min(width.saturating_sub(RATE_W)), false, false)
                }
            })
    }

    fn width(&self) -> usize {
        self.name_w
            + RATE_W
            + if self.quoted { QUOTED_W } else { 0 }
            + if self.oi { OI_W } else { 0 }
    }
}

/// Header plus as many rows as fit in `room` lines (already sorted by OI); the last line says how
/// many did not fit. The columns are the most that fit in `width`.
fn table(
    rows: &[ExchangeFunding],
    room: usize,
    width: usize,
    now: DateTime<Utc>,
    state: &UiState,
) -> Vec<Line<'static>> {
    let theme = state.theme;
    let stable: Vec<&ExchangeFunding> = stable_rows(rows).collect();
    let names: Vec<&str> = stable.iter().map(|r| r.exchange.as_str()).collect();
    let cols = Columns::fit(&names, width);
    let name_w = cols.name_w;
    let mut header = format!("{:<name_w$}", "exchange");
    if cols.quoted {
        header.push_str(&format!(" {:>8} {:>5}", "quoted", "every"));
    }
    header.push_str(&format!(" {:>8} {:>5}", "→ 8h", "next"));
    if cols.oi {
        header.push_str(&format!(" {:>8}", "OI"));
    }
    let mut lines = vec![Line::styled(header, theme.dim())];
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
        let mut spans = vec![Span::raw(fit(&r.exchange, name_w))];
        if cols.quoted {
            spans.push(Span::raw(" "));
            spans.push(widgets::signed_cell(Some(r.rate_pct), 4, 8, theme));
            spans.push(Span::raw(format!(
                " {:>5}",
                format::interval_hours(r.interval_hours)
            )));
        }
        spans.push(Span::raw(" "));
        spans.push(widgets::signed_cell(Some(r.rate_8h_pct), 4, 8, theme));
        spans.push(Span::raw(format!(" {next:>5}")));
        if cols.oi {
            spans.push(Span::styled(
                format!(" {:>8}", format::usd(r.oi_usd)),
                theme.dim(),
            ));
        }
        lines.push(Line::from(spans));
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
        lines.push(Line::styled(
            widgets::ellipsize(&note.join(" · "), width),
            theme.dim(),
        ));
    }
    if total == 0 {
        lines.push(Line::styled("no exchange rows reported", theme.dim()));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 4] = ["Binance", "OKX", "Bybit", "Hyperliquid"];

    fn cols(name_w: usize, quoted: bool, oi: bool) -> Columns {
        Columns { name_w, quoted, oi }
    }

    #[test]
    fn the_table_keeps_the_quoted_columns_then_full_names_then_the_oi() {
        // Half of 80 columns: the quoted columns, names cut to 8 (as before).
        assert_eq!(Columns::fit(&NAMES, 38), cols(8, true, false));
        // Half of 100: room for the longest name.
        assert_eq!(Columns::fit(&NAMES, 48), cols(11, true, false));
        // Half of 120 and wider: every column.
        assert_eq!(Columns::fit(&NAMES, 58), cols(11, true, true));
        assert_eq!(Columns::fit(&NAMES, 98), cols(11, true, true));
        // Half of 60 (compact): the 8h rate and next funding, with full names.
        assert_eq!(Columns::fit(&NAMES, 28), cols(11, false, false));
        // Narrower still: names cut, the numbers whole.
        assert_eq!(Columns::fit(&NAMES, 24), cols(9, false, false));
        for width in 23..120 {
            let c = Columns::fit(&NAMES, width);
            assert!(c.width() <= width, "{width}: {c:?}");
            assert!(c.name_w >= EXCHANGE_MIN, "{width}: {c:?}");
        }
        // Short names never make the column narrower than its header.
        assert_eq!(Columns::fit(&["OKX"], 80).name_w, EXCHANGE_MIN);
        let long = ["An exchange with a very long name indeed"];
        assert_eq!(Columns::fit(&long, 200).name_w, EXCHANGE_MAX);
    }

    #[test]
    fn min_and_max_keep_a_short_name_whole_and_their_rates_always() {
        let row = |name: &str, rate: f64| ExchangeFunding {
            exchange: name.to_string(),
            margin: Margin::Stablecoin,
            rate_pct: rate,
            interval_hours: Some(8.0),
            rate_8h_pct: rate,
            next_funding_time: None,
            oi_usd: None,
        };
        let funding = Funding {
            rate_8h_pct: Some(0.01),
            by_exchange: vec![row("OKX", 0.0039), row("Hyperliquid", 0.0139)],
        };
        let state = crate::ui::sample::sketch_state(
            (80, 24),
            crate::ui::theme::Theme { color: false },
            crate::ui::sample::demo(),
        );
        let line = |width| headline(&funding, width, &state)[1].to_string();
        assert_eq!(line(60), "min OKX +0.0039%  max Hyperliquid +0.0139%");
        assert_eq!(line(38), "min OKX +0.0039%  max Hyperl. +0.0139%");
        assert_eq!(line(28), "min +0.0039%  max +0.0139%");
    }
}
