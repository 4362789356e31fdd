//! Which screen shows (one symbol's detail, or the overview of every symbol) and the overview's
//! own state: its sort and its cursor. The cursor is a symbol, not a row, so a cycle that
//! re-sorts the rows never moves it to another coin.

use super::{Effect, UiState};
use crate::ui::keys::Action;
use crate::ui::overview;
use crossterm::event::{KeyCode, KeyEvent, MouseButton, MouseEvent, MouseEventKind};

/// The two screens of the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Screen {
    /// One symbol: its panels, its active signals and the feed.
    #[default]
    Detail,
    /// Every symbol, one row each.
    Overview,
}

/// A column of the overview, in screen order (left to right).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    Symbol,
    Level,
    Price,
    Change1h,
    Change24h,
    Funding8h,
    OpenInterest,
    OiChange1h,
    LiqLong1h,
    LiqShort1h,
    RetailLong,
    TopSignal,
}

impl Column {
    /// Every column, in screen order.
    pub const ALL: [Column; 12] = [
        Column::Symbol,
        Column::Level,
        Column::Price,
        Column::Change1h,
        Column::Change24h,
        Column::Funding8h,
        Column::OpenInterest,
        Column::OiChange1h,
        Column::LiqLong1h,
        Column::LiqShort1h,
        Column::RetailLong,
        Column::TopSignal,
    ];

    /// The order a column sorts in when first chosen: names A→Z, everything else largest (or
    /// most severe) first.
    pub fn default_descending(self) -> bool {
        self != Column::Symbol
    }
}

/// The overview's sort: a column and a direction. Absent values sort last either way; ties keep
/// the configured order of the symbols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub column: Column,
    pub descending: bool,
}

impl Default for Sort {
    /// Most severe level first: what a trader opening the overview wants to see.
    fn default() -> Self {
        Sort {
            column: Column::Level,
            descending: true,
        }
    }
}

/// The overview's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OverviewState {
    pub sort: Sort,
    /// The symbol under the cursor, as an index into `UiState::symbols` (which only ever grows).
    pub cursor: usize,
    /// The first row shown: kept between frames so the list scrolls only as far as the cursor
    /// needs.
    pub offset: usize,
}

/// The first row to show so that `cursor_row` is visible in `height` rows, moving `offset` as
/// little as possible (and never past the end of `len` rows).
pub(crate) fn window(offset: usize, cursor_row: usize, height: usize, len: usize) -> usize {
    let height = height.max(1);
    let mut first = offset.min(len.saturating_sub(height));
    if cursor_row < first {
        first = cursor_row;
    } else if cursor_row >= first + height {
        first = cursor_row + 1 - height;
    }
    first
}

impl UiState {
    /// The rows of the overview in their sorted order, as indices into `symbols`.
    pub fn overview_order(&self) -> Vec<usize> {
        overview::order(self)
    }

    /// The row the cursor is on in `order`.
    fn cursor_row(&self, order: &[usize]) -> usize {
        order
            .iter()
            .position(|&i| i == self.overview.cursor)
            .unwrap_or(0)
    }

    /// Switches to the overview, the cursor on the symbol the detail showed.
    pub(super) fn show_overview(&mut self) {
        self.screen = Screen::Overview;
        self.overview.cursor = self.selected.min(self.symbols.len().saturating_sub(1));
        self.sync_overview();
        self.dirty = true;
    }

    /// Opens the detail of symbol `index` (an index into `symbols`).
    fn open_symbol(&mut self, index: usize) {
        if index < self.symbols.len() {
            self.select(index);
            self.screen = Screen::Detail;
            self.dirty = true;
        }
    }

    /// Keeps the stored scroll offset showing the cursor row at the current size and sort.
    pub(super) fn sync_overview(&mut self) {
        if self.symbols.is_empty() {
            self.overview.cursor = 0;
            self.overview.offset = 0;
            return;
        }
        self.overview.cursor = self.overview.cursor.min(self.symbols.len() - 1);
        let order = self.overview_order();
        let row = self.cursor_row(&order);
        let height = overview::page(self);
        self.overview.offset = window(self.overview.offset, row, height, order.len());
    }

    fn move_overview_cursor(&mut self, delta: isize) {
        let order = self.overview_order();
        if order.is_empty() {
            return;
        }
        let row = self.cursor_row(&order);
        let target = row.saturating_add_signed(delta).min(order.len() - 1);
        if order[target] != self.overview.cursor {
            self.overview.cursor = order[target];
            self.sync_overview();
            self.dirty = true;
        }
    }

    fn set_sort(&mut self, column: Column) {
        self.overview.sort = if self.overview.sort.column == column {
            Sort {
                column,
                descending: !self.overview.sort.descending,
            }
        } else {
            Sort {
                column,
                descending: column.default_descending(),
            }
        };
        self.sync_overview();
        self.dirty = true;
    }

    /// Moves the sort to the next column shown at the current width, left (`step < 0`) or right.
    fn step_sort_column(&mut self, step: isize) {
        let shown = overview::shown_columns(self, self.size.0);
        let all = Column::ALL;
        let n = all.len() as isize;
        let from = all
            .iter()
            .position(|&c| c == self.overview.sort.column)
            .unwrap_or(0) as isize;
        let next = (1..=n)
            .map(|k| all[(from + step * k).rem_euclid(n) as usize])
            .find(|c| shown.contains(c));
        if let Some(column) = next {
            if column != self.overview.sort.column {
                self.set_sort(column);
            }
        }
    }

    /// What a key does on the overview; `None` for keys that act the same on both screens.
    pub(super) fn on_overview_action(
        &mut self,
        action: Action,
        key: &KeyEvent,
    ) -> Option<Vec<Effect>> {
        let page = overview::page(self) as isize;
        match action {
            Action::FeedUp => self.move_overview_cursor(-1),
            Action::FeedDown => self.move_overview_cursor(1),
            Action::FeedPageUp => self.move_overview_cursor(-page),
            Action::FeedPageDown => self.move_overview_cursor(page),
            Action::FeedTop => self.move_overview_cursor(isize::MIN),
            Action::FeedBottom => self.move_overview_cursor(isize::MAX),
            Action::ToggleExpand => self.open_symbol(self.overview.cursor),
            Action::JumpToSymbol => {
                if let KeyCode::Char(c) = key.code {
                    if let Some(d) = c.to_digit(10).filter(|d| *d >= 1) {
                        self.open_symbol(d as usize - 1);
                    }
                }
            }
            Action::ToggleOverview => {
                self.screen = Screen::Detail;
                self.dirty = true;
            }
            Action::Sort => match key.code {
                KeyCode::Char('<') => self.step_sort_column(-1),
                KeyCode::Char('>') => self.step_sort_column(1),
                KeyCode::Char('i') => {
                    let column = self.overview.sort.column;
                    self.set_sort(column);
                }
                _ => {}
            },
            // The symbol tabs and the feed are not on this screen; Esc has nowhere to go back to.
            Action::PrevSymbol
            | Action::NextSymbol
            | Action::CycleLevelFilter
            | Action::ToggleSymbolFilter
            | Action::Back => {}
            Action::RefreshNow
            | Action::TogglePause
            | Action::ToggleHelp
            | Action::ToggleErrors
            | Action::Quit
            | Action::ForceQuit => return None,
        }
        Some(vec![])
    }

    /// The mouse on the overview: a click on a header sorts by that column (again: reverses), a
    /// click on a row puts the cursor there, a click on the cursor's row opens it; the wheel moves
    /// the cursor.
    pub(super) fn on_overview_mouse(&mut self, m: &MouseEvent) {
        match m.kind {
            MouseEventKind::Down(MouseButton::Left) => match overview::hit(self, m.column, m.row) {
                Some(overview::Hit::Header(column)) => self.set_sort(column),
                Some(overview::Hit::Row(index)) if index == self.overview.cursor => {
                    self.open_symbol(index)
                }
                Some(overview::Hit::Row(index)) => {
                    self.overview.cursor = index;
                    self.sync_overview();
                    self.dirty = true;
                }
                None => {}
            },
            MouseEventKind::ScrollUp => self.move_overview_cursor(-1),
            MouseEventKind::ScrollDown => self.move_overview_cursor(1),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Level;
    use crate::monitor::Update;
    use crate::ui::sample::{self, t0};
    use crate::ui::state::{update, Event};
    use crate::ui::theme::Theme;
    use crossterm::event::{KeyEventKind, KeyEventState, KeyModifiers};

    fn press(s: &mut UiState, code: KeyCode) -> Vec<Effect> {
        update(
            s,
            Event::Key(KeyEvent {
                code,
                modifiers: KeyModifiers::NONE,
                kind: KeyEventKind::Press,
                state: KeyEventState::NONE,
            }),
        )
    }

    fn ch(s: &mut UiState, c: char) -> Vec<Effect> {
        press(s, KeyCode::Char(c))
    }

    fn mouse(s: &mut UiState, kind: MouseEventKind, column: u16, row: u16) {
        update(
            s,
            Event::Mouse(MouseEvent {
                kind,
                column,
                row,
                modifiers: KeyModifiers::NONE,
            }),
        );
    }

    fn click(s: &mut UiState, column: u16, row: u16) {
        mouse(s, MouseEventKind::Down(MouseButton::Left), column, row);
    }

    /// 25 symbols at 80×24 on the detail screen: 21 rows fit below the overview's header.
    fn market() -> UiState {
        let mut s = sample::market_state(25, (80, 24), Theme { color: true });
        s.screen = Screen::Detail;
        s
    }

    fn cursor_symbol(s: &UiState) -> &str {
        &s.symbols[s.overview.cursor].symbol
    }

    fn selected_symbol(s: &UiState) -> &str {
        &s.symbols[s.selected].symbol
    }

    fn row_of(s: &UiState, symbol: &str) -> usize {
        let order = s.overview_order();
        order
            .iter()
            .position(|&i| s.symbols[i].symbol == symbol)
            .expect("symbol on the overview")
    }

    #[test]
    fn o_toggles_and_esc_goes_from_the_detail_to_the_overview() {
        let mut s = market();
        assert_eq!(s.screen, Screen::Detail, "the detail is the default");
        ch(&mut s, '3');
        assert!(ch(&mut s, 'o').is_empty());
        assert_eq!(s.screen, Screen::Overview);
        assert_eq!(
            cursor_symbol(&s),
            "SOL",
            "the cursor starts on the symbol shown"
        );
        ch(&mut s, 'o');
        assert_eq!(s.screen, Screen::Detail);
        assert_eq!(selected_symbol(&s), "SOL", "o goes back to the same symbol");
        assert!(press(&mut s, KeyCode::Esc).is_empty());
        assert_eq!(s.screen, Screen::Overview);
        s.dirty = false;
        assert!(press(&mut s, KeyCode::Esc).is_empty(), "Esc never quits");
        assert_eq!((s.screen, s.dirty), (Screen::Overview, false));
        assert_eq!(ch(&mut s, 'q'), vec![Effect::Quit]);
    }

    #[test]
    fn the_cursor_moves_by_row_page_and_end_and_enter_opens_its_symbol() {
        let mut s = market();
        ch(&mut s, 'o');
        let order = s.overview_order();
        assert_eq!(order.len(), 25);
        let at = |s: &UiState| row_of(s, cursor_symbol(s));
        assert_eq!(at(&s), 0);
        ch(&mut s, 'j');
        press(&mut s, KeyCode::Down);
        assert_eq!(at(&s), 2);
        ch(&mut s, 'k');
        assert_eq!(at(&s), 1);
        press(&mut s, KeyCode::Up);
        press(&mut s, KeyCode::Up);
        assert_eq!(at(&s), 0, "stops at the top");
        press(&mut s, KeyCode::PageDown);
        assert_eq!(
            at(&s),
            20,
            "a page is the 20 rows between the header and the status bar"
        );
        press(&mut s, KeyCode::PageDown);
        assert_eq!(at(&s), 24, "stops at the bottom");
        press(&mut s, KeyCode::PageUp);
        assert_eq!(at(&s), 4);
        ch(&mut s, 'G');
        assert_eq!(at(&s), 24);
        ch(&mut s, 'g');
        assert_eq!(at(&s), 0);
        ch(&mut s, 'j');
        ch(&mut s, 'j');
        let under = cursor_symbol(&s).to_string();
        let feed_cursor = s.feed_cursor;
        assert!(press(&mut s, KeyCode::Enter).is_empty());
        assert_eq!(s.screen, Screen::Detail);
        assert_eq!(selected_symbol(&s), under);
        assert_eq!(s.feed_cursor, feed_cursor, "the feed did not move");
        // On the detail the same keys scroll the feed again.
        ch(&mut s, 'j');
        assert_eq!(s.feed_cursor, feed_cursor + 1);
    }

    #[test]
    fn the_list_scrolls_only_as_far_as_the_cursor_needs() {
        let mut s = market();
        ch(&mut s, 'o');
        assert_eq!(s.overview.offset, 0);
        for _ in 0..20 {
            ch(&mut s, 'j');
        }
        assert_eq!(s.overview.offset, 1, "row 20 is one past the first page");
        ch(&mut s, 'G');
        assert_eq!(s.overview.offset, 5, "25 rows, 20 shown");
        for _ in 0..19 {
            ch(&mut s, 'k');
        }
        assert_eq!(
            s.overview.offset, 5,
            "moving up inside the page does not scroll"
        );
        ch(&mut s, 'k');
        assert_eq!(s.overview.offset, 4);
        // A taller terminal shows everything.
        update(&mut s, Event::Resize(80, 40));
        assert_eq!(s.overview.offset, 0);
    }

    #[test]
    fn digits_open_that_symbol_and_the_detail_keys_do_nothing_on_the_overview() {
        let mut s = market();
        ch(&mut s, 'o');
        s.dirty = false;
        for c in ['l', 'h', 'f', 's'] {
            ch(&mut s, c);
        }
        press(&mut s, KeyCode::Tab);
        assert!(
            !s.dirty,
            "symbol tabs and feed filters are not on this screen"
        );
        assert_eq!((s.min_level, s.this_symbol_only), (Level::None, false));
        ch(&mut s, '4');
        assert_eq!((s.screen, selected_symbol(&s)), (Screen::Detail, "XRP"));
        // r, p, e and ? work on both screens.
        ch(&mut s, 'o');
        assert_eq!(
            ch(&mut s, 'r'),
            vec![Effect::Send(crate::monitor::Command::RefreshNow)]
        );
        ch(&mut s, '?');
        assert!(s.help_open);
        ch(&mut s, 'j');
        assert_eq!(row_of(&s, cursor_symbol(&s)), 1, "modal");
        press(&mut s, KeyCode::Esc);
        assert_eq!((s.help_open, s.screen), (false, Screen::Overview));
    }

    #[test]
    fn sort_keys_step_through_the_shown_columns_and_i_reverses() {
        let mut s = market();
        ch(&mut s, '>');
        assert_eq!(s.overview.sort, Sort::default(), "no sorting on the detail");
        ch(&mut s, 'o');
        assert_eq!(
            s.overview.sort,
            Sort {
                column: Column::Level,
                descending: true
            }
        );
        let shown = overview::shown_columns(&s, 80);
        assert!(!shown.contains(&Column::LiqLong1h), "{shown:?}");
        let mut seen = vec![s.overview.sort.column];
        for _ in 1..shown.len() {
            ch(&mut s, '>');
            seen.push(s.overview.sort.column);
        }
        let mut expected = shown.clone();
        let start = shown.iter().position(|&c| c == Column::Level).unwrap_or(0);
        expected.rotate_left(start);
        assert_eq!(seen, expected, "every shown column once, in screen order");
        ch(&mut s, '>');
        assert_eq!(s.overview.sort.column, Column::Level, "wraps around");
        ch(&mut s, '<');
        assert_eq!(s.overview.sort.column, Column::Symbol);
        assert!(!s.overview.sort.descending, "names sort A→Z first");
        ch(&mut s, 'i');
        assert!(s.overview.sort.descending);
        ch(&mut s, '>');
        assert_eq!(
            s.overview.sort,
            Sort {
                column: Column::Level,
                descending: true
            },
            "a new column starts in its own direction"
        );
        ch(&mut s, '<');
        ch(&mut s, '<');
        assert_eq!(s.overview.sort.column, Column::TopSignal, "wraps both ways");
    }

    #[test]
    fn the_cursor_follows_its_symbol_when_a_cycle_re_sorts_the_rows() {
        let mut s = market();
        ch(&mut s, 'o');
        while s.overview.sort.column != Column::Funding8h {
            ch(&mut s, '>');
        }
        // The coin with the lowest funding, at the bottom of the list.
        ch(&mut s, 'G');
        let coin = cursor_symbol(&s).to_string();
        assert_eq!(row_of(&s, &coin), 24);
        let index = s.overview.cursor;
        // Next cycle its funding is the highest of all.
        let at = t0() + chrono::Duration::minutes(1);
        let reports = (0..25)
            .map(|i| {
                let mut snap = sample::market_snapshot(i, at);
                if i == index {
                    if let Some(f) = snap.funding.value.as_mut() {
                        f.rate_8h_pct = Some(0.5);
                    }
                }
                crate::fixtures::symbol_report(snap, sample::market_signals(i))
            })
            .collect();
        let report = sample::cycle(3, at, sample::live_hobbyist(), reports);
        update(&mut s, Event::Monitor(Update::Cycle(report)));
        assert_eq!(cursor_symbol(&s), coin, "the cursor stays on its coin");
        assert_eq!(row_of(&s, &coin), 0, "which moved to the top");
        assert_eq!(s.overview.offset, 0, "and is in view");
        ch(&mut s, 'j');
        assert_eq!(
            row_of(&s, cursor_symbol(&s)),
            1,
            "moves on from its new row"
        );
    }

    #[test]
    fn a_click_selects_a_row_a_second_click_opens_it_and_the_header_sorts() {
        let mut s = market();
        ch(&mut s, 'o');
        // Row 0 is the top bar, row 1 the header, rows 2.. the symbols.
        click(&mut s, 3, 4);
        let picked = s.overview_order()[2];
        assert_eq!(s.overview.cursor, picked);
        assert_eq!(s.screen, Screen::Overview, "one click selects");
        click(&mut s, 3, 4);
        assert_eq!(s.screen, Screen::Detail, "a second click opens");
        assert_eq!(s.selected, picked);
        ch(&mut s, 'o');
        // The header: a click sorts by that column, again reverses.
        click(&mut s, 1, 1);
        assert_eq!(
            s.overview.sort,
            Sort {
                column: Column::Symbol,
                descending: false
            }
        );
        click(&mut s, 1, 1);
        assert!(s.overview.sort.descending);
        // Below the last row and on the status bar: nothing.
        let before = s.overview.clone();
        click(&mut s, 3, 23);
        assert_eq!(s.overview, before);
        // The wheel moves the cursor.
        ch(&mut s, 'g');
        mouse(&mut s, MouseEventKind::ScrollDown, 10, 10);
        mouse(&mut s, MouseEventKind::ScrollDown, 10, 10);
        assert_eq!(row_of(&s, cursor_symbol(&s)), 2);
        mouse(&mut s, MouseEventKind::ScrollUp, 10, 10);
        assert_eq!(row_of(&s, cursor_symbol(&s)), 1);
        // The top bar has no tabs on the overview.
        let before = (s.selected, s.screen);
        click(&mut s, 20, 0);
        assert_eq!((s.selected, s.screen), before);
    }

    #[test]
    fn a_click_on_a_scrolled_list_hits_the_row_drawn_there() {
        let mut s = market();
        ch(&mut s, 'o');
        ch(&mut s, 'G');
        assert_eq!(s.overview.offset, 5);
        click(&mut s, 3, 2);
        assert_eq!(row_of(&s, cursor_symbol(&s)), 5, "the first row shown");
    }

    #[test]
    fn without_symbols_the_overview_keys_do_nothing() {
        let mut s = UiState::new(t0(), (80, 24), Theme { color: true });
        ch(&mut s, 'o');
        assert_eq!(s.screen, Screen::Overview);
        for c in ['j', 'k', 'G', 'g', '>', '<', 'i', '1'] {
            ch(&mut s, c);
        }
        press(&mut s, KeyCode::Enter);
        click(&mut s, 3, 2);
        assert_eq!((s.screen, s.overview.cursor), (Screen::Overview, 0));
    }

    #[test]
    fn window_keeps_the_offset_while_the_cursor_is_in_view() {
        assert_eq!(window(0, 0, 10, 25), 0);
        assert_eq!(window(0, 9, 10, 25), 0);
        assert_eq!(window(0, 10, 10, 25), 1);
        assert_eq!(window(5, 7, 10, 25), 5);
        assert_eq!(window(5, 3, 10, 25), 3);
        assert_eq!(window(20, 24, 10, 25), 15, "never past the end");
        assert_eq!(window(3, 0, 10, 5), 0, "everything fits");
        assert_eq!(window(0, 0, 0, 0), 0);
    }
}
