//! The overview: one row per symbol (price, 1h and 24h change, funding, open interest and its 1h
//! change, the last hour's liquidations, retail long share, level and top active signal), sorted
//! by any column, scrolling to keep the cursor's row in view. Pure over the state.
//!
//! Columns drop by priority on a narrow body (symbol, level, price, funding and the top signal
//! stay down to 60 columns) and widen from [`WIDE`] columns. Absent values read `—`, stale ones
//! `~` before the value, dimmed (the panels' dim for a kept value).

mod rows;

#[cfg(test)]
mod tests;

pub(crate) use rows::order;

use super::feed::bias_marker;
use super::state::{duration_text, window, Column, SymbolView, UiState};
use super::theme::Theme;
use super::view::{self, symbol_marker, symbol_marker_style};
use super::widgets::ellipsize;
use crate::format;
use crate::model::FundingBand;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::Frame;
use rows::{has_level, number, Cell};
use std::borrow::Cow;

/// From this body width on, the columns widen (full header names; wider gaps when there is
/// room), as long as no column has to go for it.
pub(super) const WIDE: u16 = 140;

/// The top signal column keeps at least this much room before an optional column is added.
const SIGNAL_MIN: usize = 20;
/// From this width on the top signal also says how many more are active and since when.
const SIGNAL_LONG: usize = 40;

/// What an absent value reads as.
const ABSENT: &str = "—";
/// What precedes a stale value.
const STALE: &str = "~";

/// A column's header (narrow and wide), the width of its values, and its alignment.
struct Spec {
    narrow: &'static str,
    wide: &'static str,
    /// Widest value, with the stale mark (symbol and price are measured on the data).
    value_w: usize,
    right: bool,
}

fn spec(column: Column) -> Spec {
    let (narrow, wide, value_w, right) = match column {
        Column::Symbol => ("symbol", "symbol", 0, false),
        Column::Level => ("level", "level", 6, false),
        Column::Price => ("price", "price", 0, true),
        Column::Change1h => ("1h", "price 1h", 8, true),
        Column::Change24h => ("24h", "price 24h", 8, true),
        Column::Funding8h => ("fund 8h", "funding 8h", 9, true),
        Column::OpenInterest => ("OI", "OI (USD)", 8, true),
        Column::OiChange1h => ("OI 1h", "OI 1h", 7, true),
        Column::LiqLong1h => ("liq L", "liq L 1h", 8, true),
        Column::LiqShort1h => ("liq S", "liq S 1h", 8, true),
        Column::RetailLong => ("retail", "retail long", 7, true),
        Column::TopSignal => ("top signal", "top active signal", 0, false),
    };
    Spec {
        narrow,
        wide,
        value_w,
        right,
    }
}

/// The long name of a column, as the top bar says what the rows are sorted by.
pub(super) fn column_name(column: Column) -> &'static str {
    spec(column).wide
}

/// Shown whatever the width.
const REQUIRED: [Column; 4] = [
    Column::Symbol,
    Column::Level,
    Column::Price,
    Column::Funding8h,
];

/// The optional columns, most wanted first; a group comes or goes as one.
const OPTIONAL: [&[Column]; 6] = [
    &[Column::Change1h],
    &[Column::OiChange1h],
    &[Column::Change24h],
    &[Column::OpenInterest],
    &[Column::RetailLong],
    &[Column::LiqLong1h, Column::LiqShort1h],
];

/// One shown column: where it starts in the body and how wide it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Placed {
    pub column: Column,
    pub x: u16,
    pub width: u16,
}

/// The shown columns of a body `width` columns wide, in screen order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Columns {
    /// The long header names.
    pub wide: bool,
    pub placed: Vec<Placed>,
}

/// The widths the data decides: the longest symbol name and the longest price.
fn measure(state: &UiState) -> (usize, usize) {
    let mut sym_w = 0;
    let mut price_w = 0;
    for v in &state.symbols {
        sym_w = sym_w.max(v.symbol.chars().count());
        if let Some(Cell {
            value: Some(p),
            stale,
        }) = number(v, Column::Price, state.now)
        {
            price_w = price_w.max(format::price(p).chars().count() + usize::from(stale));
        }
    }
    (sym_w.min(16), price_w.max(ABSENT.len()))
}

fn columns(width: u16, wide: bool, gap: usize, (sym_w, price_w): (usize, usize)) -> Columns {
    let width_of = |c: Column| {
        let s = spec(c);
        let header = if wide { s.wide } else { s.narrow };
        let value = match c {
            Column::Symbol => sym_w,
            Column::Price => price_w,
            _ => s.value_w,
        };
        // One more for the sort mark, so the columns do not move when the sort does.
        value.max(header.chars().count() + 1)
    };
    let mut chosen: Vec<Column> = REQUIRED.to_vec();
    let mut used: usize = chosen.iter().map(|&c| width_of(c) + gap).sum();
    for group in OPTIONAL {
        let add: usize = group.iter().map(|&c| width_of(c) + gap).sum();
        if used + add + SIGNAL_MIN > width as usize {
            break;
        }
        chosen.extend_from_slice(group);
        used += add;
    }
    let mut placed = Vec::with_capacity(chosen.len() + 1);
    let mut x = 0usize;
    for c in Column::ALL {
        let w = if c == Column::TopSignal {
            (width as usize).saturating_sub(x)
        } else if chosen.contains(&c) {
            width_of(c)
        } else {
            continue;
        };
        placed.push(Placed {
            column: c,
            x: x.min(u16::MAX as usize) as u16,
            width: w.min(u16::MAX as usize) as u16,
        });
        x += w + gap;
    }
    Columns { wide, placed }
}

/// The columns of the overview in a body `width` columns wide: the most that fit with short
/// headers; from [`WIDE`] on the same columns with long headers and, room permitting, wider
/// gaps.
fn columns_for(state: &UiState, width: u16) -> Columns {
    let measured = measure(state);
    let narrow = columns(width, false, 1, measured);
    if width >= WIDE {
        for gap in [2, 1] {
            let wide = columns(width, true, gap, measured);
            if wide.placed.len() == narrow.placed.len() {
                return wide;
            }
        }
    }
    narrow
}

/// The columns shown on a terminal `width` columns wide (the sort keys step through these).
pub(crate) fn shown_columns(state: &UiState, width: u16) -> Vec<Column> {
    let body_w = view::layout(Rect::new(0, 0, width, state.size.1)).map_or(width, |l| l.body.width);
    columns_for(state, body_w)
        .placed
        .iter()
        .map(|p| p.column)
        .collect()
}

/// The overview's body at the current terminal size.
fn body(state: &UiState) -> Option<Rect> {
    view::layout(Rect::new(0, 0, state.size.0, state.size.1)).map(|l| l.body)
}

/// Rows of symbols on one page (below the header) at the current terminal size.
pub(crate) fn page(state: &UiState) -> usize {
    body(state).map_or(1, |b| b.height.saturating_sub(1).max(1) as usize)
}

/// What a click on the overview hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hit {
    Header(Column),
    /// A row: its symbol, as an index into `state.symbols`.
    Row(usize),
}

/// What is drawn at (`x`, `y`) on the screen, if anything of the overview.
pub(crate) fn hit(state: &UiState, x: u16, y: u16) -> Option<Hit> {
    let body = body(state)?;
    if x < body.x || x >= body.x + body.width || y < body.y || y >= body.y + body.height {
        return None;
    }
    if y == body.y {
        let rel = x - body.x;
        return columns_for(state, body.width)
            .placed
            .iter()
            .find(|p| rel >= p.x && rel < p.x.saturating_add(p.width))
            .map(|p| Hit::Header(p.column));
    }
    let order = order(state);
    let first = first_row(state, &order, page(state));
    order
        .get(first + (y - body.y - 1) as usize)
        .map(|&i| Hit::Row(i))
}

/// The first row shown: the stored offset, moved only as far as the cursor's row needs.
fn first_row(state: &UiState, order: &[usize], height: usize) -> usize {
    let row = order
        .iter()
        .position(|&i| i == state.overview.cursor)
        .unwrap_or(0);
    window(state.overview.offset, row, height, order.len())
}

/// The left part of the top bar on the overview, in at most `room` columns:
/// ` Overview · 5 of 25 · sorted by funding 8h ▼ · ~ stale, — absent `, shortened to fit.
pub(super) fn top_bar(state: &UiState, room: usize) -> Vec<Span<'static>> {
    let theme = state.theme;
    let n = state.symbols.len();
    let order = order(state);
    let row = order
        .iter()
        .position(|&i| i == state.overview.cursor)
        .map_or(0, |r| r + 1);
    let sort = state.overview.sort;
    let arrow = if sort.descending { "▼" } else { "▲" };
    let name = column_name(sort.column);
    let candidates = [
        format!(" {row} of {n} · sorted by {name} {arrow} · {STALE} stale, {ABSENT} absent "),
        format!(" {row} of {n} · sorted by {name} {arrow} "),
        format!(" {row}/{n} · {name} {arrow} "),
        format!(" {row}/{n} "),
    ];
    const LABEL: &str = " Overview ·";
    for c in &candidates {
        if LABEL.chars().count() + c.chars().count() <= room {
            return vec![
                Span::styled(LABEL, theme.bold()),
                Span::styled(c.clone(), theme.dim()),
            ];
        }
    }
    let last = &candidates[candidates.len() - 1];
    vec![Span::styled(ellipsize(last, room), theme.dim())]
}

pub(super) fn render(frame: &mut Frame, area: Rect, state: &UiState) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let theme = state.theme;
    let buf = frame.buffer_mut();
    if state.symbols.is_empty() {
        buf.set_stringn(
            area.x + 1,
            area.y,
            "waiting for the first cycle…",
            area.width.saturating_sub(1) as usize,
            theme.dim(),
        );
        return;
    }
    let cols = columns_for(state, area.width);
    header(buf, area, &cols, state);
    let order = order(state);
    let height = area.height.saturating_sub(1) as usize;
    let first = first_row(state, &order, height);
    for (r, &index) in order.iter().skip(first).take(height).enumerate() {
        let y = area.y + 1 + r as u16;
        let line = Rect {
            y,
            height: 1,
            ..area
        };
        if index == state.overview.cursor {
            buf.set_style(line, theme.selected());
        }
        row(buf, line, &cols, &state.symbols[index], state);
    }
}

/// Writes `text` into `width` cells at (`x`, `y`), right-aligned when `right`; returns the
/// cells written. Printable ASCII (most of the table: numbers, names, titles) goes straight into
/// the cells, one per byte, skipping the grapheme segmentation `set_stringn` needs for the rest.
fn put(buf: &mut Buffer, x: u16, y: u16, width: u16, text: &str, style: Style, right: bool) -> u16 {
    if text.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        let len = text.len().min(u16::MAX as usize) as u16;
        let x = if right {
            x + width.saturating_sub(len)
        } else {
            x
        };
        let n = len.min(width);
        for (i, b) in text.bytes().take(n as usize).enumerate() {
            match buf.cell_mut((x + i as u16, y)) {
                Some(cell) => {
                    cell.set_char(char::from(b)).set_style(style);
                }
                None => break,
            }
        }
        n
    } else {
        let len = text.chars().count() as u16;
        let x = if right {
            x + width.saturating_sub(len)
        } else {
            x
        };
        let (end, _) = buf.set_stringn(x, y, text, width as usize, style);
        end.saturating_sub(x)
    }
}

fn header(buf: &mut Buffer, area: Rect, cols: &Columns, state: &UiState) {
    let theme = state.theme;
    let sort = state.overview.sort;
    for p in &cols.placed {
        let s = spec(p.column);
        let name = if cols.wide { s.wide } else { s.narrow };
        let (text, style) = if p.column == sort.column {
            let arrow = if sort.descending { "▼" } else { "▲" };
            (format!("{name}{arrow}"), theme.bold())
        } else {
            (name.to_string(), theme.bold().patch(theme.dim()))
        };
        put(buf, area.x + p.x, area.y, p.width, &text, style, s.right);
    }
}

/// A number as its column writes it.
fn number_text(column: Column, v: f64) -> String {
    match column {
        Column::Price => format::price(v),
        Column::Change1h | Column::Change24h => format::signed_pct(v, 2),
        Column::Funding8h => format::signed_pct(v, 4),
        Column::OiChange1h => format::signed_pct(v, 1),
        Column::OpenInterest | Column::LiqLong1h | Column::LiqShort1h => format::usd(Some(v)),
        Column::RetailLong => format::share_pct(v, 1),
        Column::Symbol | Column::Level | Column::TopSignal => String::new(),
    }
}

/// A number's colour: changes by sign, funding by band, the rest plain.
fn number_style(column: Column, v: f64, theme: Theme) -> Style {
    match column {
        Column::Change1h | Column::Change24h | Column::OiChange1h => theme.sign(v),
        Column::Funding8h => theme.band(FundingBand::of(v)),
        _ => Style::new(),
    }
}

fn row(buf: &mut Buffer, line: Rect, cols: &Columns, view: &SymbolView, state: &UiState) {
    let theme = state.theme;
    for p in &cols.placed {
        let x = line.x + p.x;
        let (text, style, right) = match p.column {
            Column::Symbol => (Cow::Borrowed(view.symbol.as_str()), theme.bold(), false),
            Column::Level => (
                Cow::Borrowed(symbol_marker(view)),
                symbol_marker_style(view, theme),
                false,
            ),
            Column::TopSignal => {
                let mut at = x;
                for span in top_signal(view, p.width as usize, state) {
                    let room = (x + p.width).saturating_sub(at);
                    at += put(buf, at, line.y, room, &span.content, span.style, false);
                }
                continue;
            }
            c => match number(view, c, state.now).and_then(|cell| cell.value.map(|v| (v, cell))) {
                Some((v, cell)) => {
                    let mut text = number_text(c, v);
                    let mut style = number_style(c, v, theme);
                    if cell.stale {
                        text.insert_str(0, STALE);
                        style = style.patch(theme.dim());
                    }
                    (Cow::Owned(text), style, true)
                }
                None => (Cow::Borrowed(ABSENT), theme.dim(), true),
            },
        };
        put(buf, x, line.y, p.width, &text, style, right);
    }
}

/// The symbol's most severe active signal: `▼ Classic top setup: fund… +4`; from
/// [`SIGNAL_LONG`] columns, with how many more and for how long (`+4 more · 2h10m`). A symbol
/// without data this cycle shows its last known signal dimmed, or `no data this cycle`.
fn top_signal(view: &SymbolView, width: usize, state: &UiState) -> Vec<Span<'static>> {
    let wide = width >= SIGNAL_LONG;
    let theme = state.theme;
    let active = state.feed.active(&view.symbol);
    let Some(top) = active.first() else {
        let (text, style) = if view.snapshot.is_none() {
            ("waiting for the first cycle…", theme.dim())
        } else if view.no_data {
            ("no data this cycle", theme.no_data_tab())
        } else {
            ("", theme.dim())
        };
        return vec![Span::styled(ellipsize(text, width), style)];
    };
    let more = active.len() - 1;
    let mut suffix = match (more, wide) {
        (0, _) => String::new(),
        (m, false) => format!(" +{m}"),
        (m, true) => format!("  +{m} more"),
    };
    if wide {
        let since = duration_text((state.now - top.since).num_seconds());
        suffix.push_str(if more > 0 { " · " } else { "  " });
        suffix.push_str(&since);
        if !has_level(view) {
            suffix.push_str(" (last known)");
        }
    }
    let head = format!("{} ", bias_marker(top.bias));
    let room = width.saturating_sub(head.chars().count() + suffix.chars().count());
    let title_style = if has_level(view) {
        theme.level(top.level)
    } else {
        theme.dim()
    };
    vec![
        Span::styled(head, title_style),
        Span::styled(ellipsize(&top.title, room), title_style),
        Span::styled(suffix, theme.dim()),
    ]
}
