//! The overview's values and order: each symbol's numbers read from its snapshot (fresh, stale
//! or absent, never a zero for a missing value) and the rows sorted by one column, absent values
//! last in either direction, ties in the configured order.

use crate::model::{Field, Level};
use crate::ui::state::{Column, SymbolView, UiState};
use crate::ui::widgets::{read, Reading};
use chrono::{DateTime, Utc};
use std::cmp::Ordering;

/// One number of a row: absent (`value: None`), or a value and whether it is stale (an earlier
/// value kept after a failed fetch).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Cell {
    pub value: Option<f64>,
    pub stale: bool,
}

fn cell<T>(field: Option<&Field<T>>, now: DateTime<Utc>, get: impl Fn(&T) -> Option<f64>) -> Cell {
    let (value, stale) = match read(field, now) {
        Reading::Fresh(v) => (get(v), false),
        Reading::Stale(v, ..) => (get(v), true),
        Reading::Absent(_) => (None, false),
    };
    let value = value.filter(|v| v.is_finite());
    Cell {
        stale: stale && value.is_some(),
        value,
    }
}

/// The number a numeric column shows for `view`; `None` for the columns that are not numbers
/// (symbol, level, top signal).
pub(super) fn number(view: &SymbolView, column: Column, now: DateTime<Utc>) -> Option<Cell> {
    let snap = view.snapshot.as_ref();
    let price = snap.map(|s| &s.price);
    let oi = snap.map(|s| &s.open_interest);
    let liq = snap.map(|s| &s.liquidations);
    Some(match column {
        Column::Price => cell(price, now, |p| p.price),
        Column::Change1h => cell(price, now, |p| p.change_1h_pct),
        Column::Change24h => cell(price, now, |p| p.change_24h_pct),
        Column::Funding8h => cell(snap.map(|s| &s.funding), now, |f| f.rate_8h_pct),
        Column::OpenInterest => cell(oi, now, |o| o.oi_usd),
        Column::OiChange1h => cell(oi, now, |o| o.change_1h_pct),
        Column::LiqLong1h => cell(liq, now, |l| l.long_1h_usd),
        Column::LiqShort1h => cell(liq, now, |l| l.short_1h_usd),
        Column::RetailLong => cell(snap.map(|s| &s.retail), now, |r| r.long_pct),
        Column::Symbol | Column::Level | Column::TopSignal => return None,
    })
}

/// Whether the symbol's level is a market reading: it has data, and the last cycle fetched some.
pub(super) fn has_level(view: &SymbolView) -> bool {
    view.snapshot.is_some() && !view.no_data
}

/// What a row sorts by in one column.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Key<'a> {
    Name(&'a str),
    Number(Option<f64>),
    /// A level, then how many signals share it (the top signal column).
    Rank(Option<(Level, usize)>),
}

fn key<'a>(state: &'a UiState, view: &'a SymbolView, column: Column) -> Key<'a> {
    match column {
        Column::Symbol => Key::Name(&view.symbol),
        Column::Level => Key::Rank(has_level(view).then_some((view.level, 0))),
        Column::TopSignal => {
            let active = state.feed.active(&view.symbol);
            Key::Rank(active.first().map(|a| (a.level, active.len())))
        }
        c => Key::Number(number(view, c, state.now).and_then(|c| c.value)),
    }
}

/// Present values in the asked direction, absent ones after them either way.
fn absent_last<T>(
    a: Option<T>,
    b: Option<T>,
    descending: bool,
    cmp: impl FnOnce(&T, &T) -> Ordering,
) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) if descending => cmp(&b, &a),
        (Some(a), Some(b)) => cmp(&a, &b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

fn compare(a: Key<'_>, b: Key<'_>, descending: bool) -> Ordering {
    match (a, b) {
        (Key::Name(a), Key::Name(b)) => absent_last(Some(a), Some(b), descending, |a, b| a.cmp(b)),
        (Key::Number(a), Key::Number(b)) => absent_last(a, b, descending, f64::total_cmp),
        (Key::Rank(a), Key::Rank(b)) => absent_last(a, b, descending, Ord::cmp),
        _ => Ordering::Equal,
    }
}

/// The rows in the overview's order, as indices into `state.symbols`.
pub(crate) fn order(state: &UiState) -> Vec<usize> {
    let sort = state.overview.sort;
    let mut keyed: Vec<(usize, Key<'_>)> = state
        .symbols
        .iter()
        .enumerate()
        .map(|(i, v)| (i, key(state, v, sort.column)))
        .collect();
    keyed.sort_by(|(ia, a), (ib, b)| compare(*a, *b, sort.descending).then(ia.cmp(ib)));
    keyed.into_iter().map(|(i, _)| i).collect()
}
