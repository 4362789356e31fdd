//! The key bar: the last row of every screen, htop/k9s style (`←→ symbol  ↑↓ feed  …  ? help
//! q quit`). Its items come from the key table (`Binding::bar`, and `Binding::popup_bar` while a
//! popup is open), so it only ever shows keys in force. On a narrow terminal the least important
//! items give way; `? help` and `q quit` (in a popup: `Esc/q close`) always stay.

use super::keys::{Action, BarItem, BINDINGS, KEEP};
use super::state::{Screen, UiState};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

/// Between two items.
const GAP: &str = "  ";

/// The bar's items for the state, in the key table's order, before fitting.
pub(super) fn items(state: &UiState) -> Vec<BarItem> {
    let popup = state.help_open || state.errors_open;
    BINDINGS
        .iter()
        .filter_map(|b| {
            if !popup {
                return match state.screen {
                    Screen::Detail => b.bar,
                    Screen::Overview if b.detail_only => b.overview_bar,
                    Screen::Overview => b.overview_bar.or(b.bar),
                };
            }
            // Scrolling is offered only where there is something to scroll.
            let scrolls = b.action == Action::FeedDown;
            if scrolls && !(state.help_open && super::view::help_max_scroll(state) > 0) {
                return None;
            }
            b.popup_bar
        })
        .collect()
}

fn item_width(item: &BarItem) -> usize {
    Span::raw(item.keys).width() + 1 + Span::raw(item.label).width()
}

/// Columns `items` take on the bar: a leading space, then the items `GAP` apart.
fn bar_width(items: &[BarItem]) -> usize {
    1 + items.iter().map(item_width).sum::<usize>() + GAP.len() * items.len().saturating_sub(1)
}

/// `items` fitted to `width`: the highest priority number goes first (the rightmost of equals);
/// [`KEEP`] items stay even when they do not fit.
pub(super) fn fit(mut items: Vec<BarItem>, width: usize) -> Vec<BarItem> {
    while bar_width(&items) > width {
        let drop = items
            .iter()
            .enumerate()
            .filter(|(_, i)| i.priority != KEEP)
            .max_by_key(|(at, i)| (i.priority, *at))
            .map(|(at, _)| at);
        match drop {
            Some(at) => {
                items.remove(at);
            }
            None => break,
        }
    }
    items
}

fn line(items: &[BarItem], state: &UiState) -> Line<'static> {
    let theme = state.theme;
    let mut spans = vec![Span::raw(" ")];
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw(GAP));
        }
        spans.push(Span::styled(item.keys, theme.key()));
        spans.push(Span::raw(format!(" {}", item.label)));
    }
    Line::from(spans)
}

pub(super) fn render(frame: &mut Frame, area: Rect, state: &UiState) {
    let items = fit(items(state), area.width as usize);
    frame.render_widget(Paragraph::new(line(&items, state)), area);
}

/// The bar of a screen too small for the dashboard: how to quit, and nothing that would need
/// room to show.
pub(super) fn render_quit_only(frame: &mut Frame, area: Rect, state: &UiState) {
    let items: Vec<BarItem> = BINDINGS
        .iter()
        .filter(|b| b.action == Action::Quit)
        .filter_map(|b| b.bar)
        .collect();
    frame.render_widget(Paragraph::new(line(&items, state)), area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::sample;
    use crate::ui::theme::Theme;

    fn state(w: u16, h: u16) -> UiState {
        sample::sketch_state((w, h), Theme { color: true }, sample::live_hobbyist())
    }

    fn text(items: &[BarItem]) -> String {
        items
            .iter()
            .map(|i| format!("{} {}", i.keys, i.label))
            .collect::<Vec<_>>()
            .join(GAP)
    }

    #[test]
    fn the_main_bar_lists_the_keys_in_table_order() {
        let all = items(&state(200, 50));
        assert_eq!(
            text(&all),
            "←→ symbol  ↑↓ feed  ⏎ expand  o overview  f filter  s this symbol  r refresh  \
             p pause  e errors  ? help  q quit"
        );
        assert_eq!(fit(all.clone(), 200), all, "room for all");
    }

    #[test]
    fn the_overview_bar_shows_its_own_keys_and_none_of_the_details() {
        let mut s = state(200, 50);
        s.screen = crate::ui::state::Screen::Overview;
        assert_eq!(
            text(&items(&s)),
            "↑↓ move  ⏎ open  o detail  < > i sort  r refresh  p pause  e errors  ? help  q quit"
        );
    }

    #[test]
    fn a_narrow_bar_drops_the_least_important_first_and_keeps_help_and_quit() {
        let all = items(&state(200, 50));
        let mut previous = all.len();
        for width in (0..=bar_width(&all)).rev() {
            let fitted = fit(all.clone(), width);
            let shown = text(&fitted);
            assert!(
                shown.contains("? help") && shown.contains("q quit"),
                "{width}: {shown}"
            );
            assert!(
                bar_width(&fitted) <= width || fitted.iter().all(|i| i.priority == KEEP),
                "{width}: {shown}"
            );
            assert!(fitted.len() <= previous, "narrower never shows more");
            previous = fitted.len();
            // Whatever stays keeps the table's order.
            let order: Vec<usize> = fitted
                .iter()
                .map(|i| all.iter().position(|a| a == i).unwrap_or(usize::MAX))
                .collect();
            assert!(order.windows(2).all(|w| w[0] < w[1]), "{shown}");
        }
        assert_eq!(
            text(&fit(all.clone(), 60)),
            "←→ symbol  ↑↓ feed  o overview  e errors  ? help  q quit"
        );
        assert_eq!(text(&fit(all, 10)), "? help  q quit");
    }

    #[test]
    fn with_a_popup_open_the_bar_says_how_to_close_it() {
        let mut s = state(120, 36);
        s.errors_open = true;
        assert_eq!(text(&items(&s)), "Esc/q close  Ctrl-C quit");
        s.errors_open = false;
        s.help_open = true;
        assert_eq!(
            text(&items(&s)),
            "Esc/q close  Ctrl-C quit",
            "the help fits"
        );
        // On a short terminal the help scrolls, and the bar says so.
        s.size = (60, 20);
        assert_eq!(text(&items(&s)), "↑↓ scroll  Esc/q close  Ctrl-C quit");
    }
}
