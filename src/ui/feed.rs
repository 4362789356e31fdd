//! Signal feed: new signals of all symbols (or the selected one), newest first, filtered by a
//! minimum level; the highlighted entry can be expanded to its full message. The wide layout
//! shows each signal's message after its title.

use super::state::{duration_text, FeedEntry, FeedKind, UiState};
use super::view::Density;
use super::widgets::{self, wrap};
use crate::model::{Bias, Level};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

/// Indent of an expanded message, under the title column.
const INDENT: usize = 4;

pub(super) fn level_short(level: Level) -> &'static str {
    match level {
        Level::High => "HIGH",
        Level::Medium => "MED",
        Level::Low => "LOW",
        Level::None => "-",
    }
}

pub(super) fn bias_marker(bias: Bias) -> &'static str {
    match bias {
        Bias::Bullish => "▲",
        Bias::Bearish => "▼",
        Bias::Neutral => "·",
    }
}

/// The feed title says which filters are on: `Signals · all symbols · ≥ MEDIUM`, `… · HIGH only`.
pub(super) fn title(state: &UiState) -> String {
    let who = match (state.this_symbol_only, state.selected_view()) {
        (true, Some(v)) => format!("{} only", v.symbol),
        _ => "all symbols".to_string(),
    };
    let levels = match state.min_level {
        Level::None => "all levels".to_string(),
        Level::High => "HIGH only".to_string(),
        l => format!("≥ {l}"),
    };
    format!("Signals · {who} · {levels}")
}

pub(super) fn render(frame: &mut Frame, area: Rect, state: &UiState, density: Density) {
    let with_message = density == Density::Wide;
    let theme = state.theme;
    let total = state.visible_feed_len();
    let count = if total > 0 {
        Some(format!("{}/{total}", state.feed_cursor + 1))
    } else {
        None
    };
    let block = widgets::panel(&title(state), None, theme).title_bottom(
        Line::from(count.map(|c| format!(" {c} ")).unwrap_or_default()).right_aligned(),
    );
    // On a narrow screen the selected symbol's active signals sit on the bottom border, left of
    // the count: no feed line is given up for them.
    let block = if super::view::active_pinned(state.size.0) {
        let count_w = total.to_string().len() * 2 + 3;
        let room = (area.width as usize).saturating_sub(count_w + 6);
        block.title_bottom(super::active::summary(state, room).left_aligned())
    } else {
        block
    };
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if total == 0 {
        let msg = if state.feed.is_empty() {
            "no signals yet: they appear here when they fire"
        } else {
            "no signals pass the filters (f: level, s: symbol)"
        };
        frame.render_widget(Paragraph::new(Line::styled(msg, theme.dim())), inner);
        return;
    }
    let height = inner.height as usize;
    let width = inner.width as usize;
    let sym_w = state
        .symbols
        .iter()
        .map(|s| s.symbol.chars().count())
        .max()
        .unwrap_or(3)
        .clamp(3, 8);
    let entry_lines = |e: &FeedEntry| -> usize {
        if state.expanded == Some(e.seq) {
            1 + expansion(e, width).len()
        } else {
            1
        }
    };
    // Scroll so that the highlighted entry (with its expansion) is on screen; the newest entry
    // stays at the top for as long as that holds.
    let before: usize = state
        .visible_feed()
        .take(state.feed_cursor)
        .map(entry_lines)
        .sum();
    let cursor_end = before
        + state
            .visible_feed()
            .nth(state.feed_cursor)
            .map_or(1, entry_lines);
    let first_line = cursor_end.saturating_sub(height).min(before);

    let mut lines = Vec::with_capacity(height);
    let mut line_no = 0;
    for (i, e) in state.visible_feed().enumerate() {
        if lines.len() >= height {
            break;
        }
        let n = entry_lines(e);
        if line_no + n <= first_line {
            line_no += n;
            continue;
        }
        let highlighted = i == state.feed_cursor;
        let mut block = vec![row(e, sym_w, width, highlighted, with_message, state)];
        if n > 1 {
            block.extend(
                expansion(e, width)
                    .into_iter()
                    .map(|l| Line::from(format!("{:INDENT$}{l}", ""))),
            );
        }
        for l in block {
            if line_no >= first_line && lines.len() < height {
                lines.push(l);
            }
            line_no += 1;
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// Columns a message needs to be worth showing after the title (` — ` and a few words).
const MESSAGE_MIN: usize = 16;

fn row(
    e: &FeedEntry,
    sym_w: usize,
    width: usize,
    highlighted: bool,
    with_message: bool,
    state: &UiState,
) -> Line<'static> {
    let theme = state.theme;
    // Today's entries show the time; older ones the date, so a days-long session stays readable.
    let when = if e.at.date_naive() == state.now.date_naive() {
        e.at.format("%H:%M").to_string()
    } else {
        e.at.format("%m-%d").to_string()
    };
    let ended = matches!(e.kind, FeedKind::Ended { .. });
    let level_style = if ended {
        theme.dim()
    } else {
        theme.level(e.level)
    };
    // The change is what the line is about: the title gives way for it.
    let suffix = change_text(e);
    let fixed = when.chars().count() + 1 + sym_w + 1 + 4 + 3;
    let room = width
        .saturating_sub(fixed)
        .saturating_sub(suffix.chars().count());
    let mut spans = vec![
        Span::styled(when, theme.dim()),
        Span::raw(" "),
        Span::raw(widgets::fit(&e.symbol, sym_w)),
        Span::raw(" "),
        Span::styled(format!("{:<4}", level_short(e.level)), level_style),
        Span::raw(format!(" {} ", bias_marker(e.bias))),
    ];
    // Cut at a word with `…` rather than mid-word at the panel's edge.
    let title = widgets::ellipsize(&e.title, room);
    let title_w = title.chars().count();
    spans.push(Span::raw(title));
    if !suffix.is_empty() {
        spans.push(Span::styled(
            suffix,
            if ended { theme.dim() } else { theme.bold() },
        ));
    }
    // Wide: the message follows, as much of it as fits (cut at a word).
    let left = room.saturating_sub(title_w);
    // (A message that opens with the title does not say it twice.)
    let message = e
        .message
        .strip_prefix(e.title.as_str())
        .map_or(e.message.as_str(), |rest| {
            rest.trim_start_matches(['.', ':', ' '])
        })
        .trim();
    if with_message && left >= MESSAGE_MIN && !message.is_empty() {
        let message = widgets::ellipsize(message, left - 3);
        spans.push(Span::styled(format!(" — {message}"), theme.dim()));
    }
    let line = Line::from(spans);
    if highlighted {
        line.style(theme.selected())
    } else {
        line
    }
}

/// What a level change or an end adds to the title: ` · MEDIUM → HIGH`, ` ended after 2h10m`.
pub(super) fn change_text(e: &FeedEntry) -> String {
    match e.kind {
        FeedKind::Onset => String::new(),
        FeedKind::LevelChanged { from } => format!(" · {from} → {}", e.level),
        FeedKind::Ended { after_s } => format!(" ended after {}", duration_text(after_s)),
    }
}

/// The expanded entry: its message, the threshold it crossed, its track record, then
/// when/what/which way.
fn expansion(e: &FeedEntry, width: usize) -> Vec<String> {
    let text_w = width.saturating_sub(INDENT).max(10);
    let mut out = wrap(&e.message, text_w);
    if let Some(t) = &e.threshold {
        out.extend(wrap(&t.describe(e.id), text_w));
    }
    if let Some(record) = &e.record {
        out.extend(wrap(record, text_w));
    }
    let what = match e.kind {
        FeedKind::Onset => "began".to_string(),
        FeedKind::LevelChanged { from } => format!("{from} → {}", e.level),
        FeedKind::Ended { after_s } => format!("ended after {}", duration_text(after_s)),
    };
    let meta = format!(
        "{} · {} · {} · {} · {what}",
        e.at.format("%Y-%m-%d %H:%M:%S UTC"),
        e.id,
        e.level,
        e.bias
    );
    // Wrapped too: on a narrow feed it must not lose its end ("began", "ended after 2h10m").
    out.extend(wrap(&meta, text_w));
    out
}
