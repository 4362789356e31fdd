//! "Active now": every signal the selected symbol has at the moment, most severe first, with
//! its level, title and since when it has been firing.

use super::feed::level_short;
use super::state::{duration_text, ActiveSignal, UiState};
use super::widgets::{self, ellipsize};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

/// Wide enough to show `since 14:32 · ` before the duration.
const SINCE_MIN_WIDTH: usize = 56;
/// A threshold line starts under the title (after `HIGH ▼ `).
const THRESHOLD_INDENT: usize = 7;

pub(super) fn title(state: &UiState) -> String {
    match state.selected_view() {
        Some(v) if v.no_data => format!("Active now · {} · last known", v.symbol),
        Some(v) => format!("Active now · {}", v.symbol),
        None => "Active now".to_string(),
    }
}

pub(super) fn render(frame: &mut Frame, area: Rect, state: &UiState) {
    let theme = state.theme;
    let block = widgets::panel(&title(state), None, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(view) = state.selected_view() else {
        frame.render_widget(
            Paragraph::new(Line::styled("waiting for the first cycle…", theme.dim())),
            inner,
        );
        return;
    };
    let active = state.feed.active(&view.symbol);
    let width = inner.width as usize;
    let height = inner.height as usize;
    if active.is_empty() {
        let msg = if view.snapshot.is_none() {
            "waiting for the first cycle…".to_string()
        } else {
            format!("nothing active: no signal fires for {}", view.symbol)
        };
        frame.render_widget(
            Paragraph::new(Line::styled(ellipsize(&msg, width), theme.dim())),
            inner,
        );
        return;
    }
    // With room for two lines each, every signal says its threshold under its title.
    let with_threshold = active.len() * 2 <= height;
    let fits_all = active.len() <= height;
    let shown = if fits_all {
        active.len()
    } else {
        height.saturating_sub(1)
    };
    let mut lines: Vec<Line> = Vec::with_capacity(height);
    for a in active.iter().take(shown) {
        lines.push(row(a, width, state));
        if let (true, Some(t)) = (with_threshold, &a.threshold) {
            let text = ellipsize(&t.describe(a.id), width.saturating_sub(THRESHOLD_INDENT));
            lines.push(Line::styled(
                format!("{:THRESHOLD_INDENT$}{text}", ""),
                theme.dim(),
            ));
        }
    }
    if !fits_all {
        lines.push(Line::styled(
            ellipsize(
                &format!("+{} more (s: this symbol's feed)", active.len() - shown),
                width,
            ),
            theme.dim(),
        ));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// `HIGH ▼ Classic top setup: fund…  since 14:32 · 2h10m` (without `since` when narrow).
fn row(a: &ActiveSignal, width: usize, state: &UiState) -> Line<'static> {
    let theme = state.theme;
    let dur = duration_text((state.now - a.since).num_seconds());
    let when = if width >= SINCE_MIN_WIDTH {
        let at = if a.since.date_naive() == state.now.date_naive() {
            a.since.format("%H:%M").to_string()
        } else {
            a.since.format("%m-%d %H:%M").to_string()
        };
        format!("since {at} · {dur}")
    } else {
        dur
    };
    let head = format!("{:<4} {} ", level_short(a.level), bias(a.bias));
    let room = width
        .saturating_sub(head.chars().count())
        .saturating_sub(when.chars().count() + 1);
    let title = ellipsize(&a.title, room);
    let pad = room.saturating_sub(title.chars().count()) + 1;
    Line::from(vec![
        Span::styled(format!("{:<4}", level_short(a.level)), theme.level(a.level)),
        Span::raw(format!(" {} ", bias(a.bias))),
        Span::raw(title),
        Span::raw(" ".repeat(pad)),
        Span::styled(when, theme.dim()),
    ])
}

/// The active list as one line, for narrow screens:
/// `BTC now: HIGH Classic top setup 2h10m · HIGH Extreme… 5m · +3 more`, each signal with its
/// level, (shortened) title and how long it has been active.
pub(super) fn summary(state: &UiState, width: usize) -> Line<'static> {
    let theme = state.theme;
    let Some(view) = state.selected_view() else {
        return Line::styled(" now: waiting for the first cycle… ", theme.dim());
    };
    let active = state.feed.active(&view.symbol);
    let last_known = if view.no_data { " (last known)" } else { "" };
    let head = format!("{} now{last_known}: ", view.symbol);
    if active.is_empty() {
        let msg = if view.snapshot.is_none() {
            format!("{head}waiting for the first cycle…")
        } else {
            format!("{head}no signal active")
        };
        return Line::styled(
            format!(" {} ", ellipsize(&msg, width.saturating_sub(2))),
            theme.dim(),
        );
    }
    let mut spans = vec![Span::styled(format!(" {head}"), theme.bold())];
    let mut used = head.chars().count() + 2;
    // Each title gets a fair share of what is left, at least a few words.
    const TITLE_MIN: usize = 12;
    let n = active.len();
    for (i, a) in active.iter().enumerate() {
        let sep = if i == 0 { "" } else { " · " };
        let more = n - i - 1;
        let more_w = if more > 0 {
            format!(" · +{more} more").chars().count()
        } else {
            0
        };
        let dur = duration_text((state.now - a.since).num_seconds());
        let level = level_short(a.level);
        let fixed = sep.chars().count() + level.len() + 1 + 1 + dur.chars().count();
        let left = width.saturating_sub(used + fixed + more_w);
        let share = (left / (n - i)).max(TITLE_MIN).min(left);
        if share < TITLE_MIN && i > 0 {
            spans.push(Span::styled(format!(" · +{} more", n - i), theme.dim()));
            break;
        }
        let title = ellipsize(&a.title, share);
        used += fixed + title.chars().count();
        spans.push(Span::styled(sep.to_string(), theme.dim()));
        spans.push(Span::styled(level.to_string(), theme.level(a.level)));
        spans.push(Span::raw(format!(" {title} ")));
        spans.push(Span::styled(dur, theme.dim()));
    }
    spans.push(Span::raw(" "));
    Line::from(spans)
}

fn bias(b: crate::model::Bias) -> &'static str {
    super::feed::bias_marker(b)
}
