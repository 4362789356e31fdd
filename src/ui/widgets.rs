//! Helpers the panels share: the "value, stale or n/a" reading of a field, panel frames, bars,
//! sparklines, fixed-width numbers, word wrap.

use super::theme::Theme;
use crate::format;
use crate::model::{Field, GapReason};
use chrono::{DateTime, Utc};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

/// How a metric group reads right now.
#[derive(Debug)]
pub(super) enum Reading<'a, T> {
    Fresh(&'a T),
    /// An earlier value kept after a failed attempt: its age in seconds, and why the newest
    /// attempt failed.
    Stale(&'a T, i64, GapReason),
    Absent(GapReason),
}

/// Reads a field (or a symbol with no snapshot yet: pending) at `now`.
pub(super) fn read<'a, T>(field: Option<&'a Field<T>>, now: DateTime<Utc>) -> Reading<'a, T> {
    let Some(field) = field else {
        return Reading::Absent(GapReason::Pending);
    };
    match (&field.value, &field.gap) {
        (Some(v), None) => Reading::Fresh(v),
        (Some(v), Some(gap)) => Reading::Stale(v, field.age_s(now).unwrap_or(0), gap.clone()),
        (None, gap) => Reading::Absent(gap.clone().unwrap_or(GapReason::NotReported)),
    }
}

impl<T> Reading<'_, T> {
    /// `stale 4m` for a kept value, nothing otherwise.
    pub(super) fn stale_note(&self) -> Option<String> {
        match self {
            Reading::Stale(_, _, GapReason::Partial(_)) => Some("partial".to_string()),
            Reading::Stale(_, age, _) => Some(format!("stale {}", format::age(*age))),
            _ => None,
        }
    }

    /// The style the value is drawn in: dim when stale.
    pub(super) fn value_style(&self, theme: Theme) -> Style {
        match self {
            Reading::Stale(..) => theme.dim(),
            _ => Style::new(),
        }
    }
}

/// `n/a: not in your plan`.
pub(super) fn gap_text(reason: &GapReason) -> String {
    format!("n/a: {reason}")
}

/// A bordered panel with a title and, when the data is stale, a `stale 4m` note in the title.
pub(super) fn panel(title: &str, note: Option<String>, theme: Theme) -> Block<'static> {
    let mut spans = vec![Span::styled(format!(" {title} "), theme.bold())];
    if let Some(note) = note {
        spans.push(Span::styled(format!("· {note} "), theme.warn()));
    }
    Block::bordered()
        .border_style(theme.border())
        .title(Line::from(spans))
}

/// The title and note a panel `width` columns wide shows: the first of `titles` (most
/// descriptive first) that fits with the note, the note saying why when there is room for it.
/// Failing all, the last (shortest) title with the short note.
pub(super) fn fit_title(
    titles: &[&str],
    notes: &[String],
    width: usize,
) -> (String, Option<String>) {
    let last = titles.last().copied().unwrap_or_default().to_string();
    // ` title ` plus `· note ` plus the corners.
    let used = |t: &str, n: Option<&String>| {
        t.chars().count() + 4 + n.map_or(0, |n| n.chars().count() + 3)
    };
    if notes.is_empty() {
        let title = titles.iter().find(|t| used(t, None) <= width);
        return (title.map_or(last, |t| t.to_string()), None);
    }
    for note in notes {
        if let Some(t) = titles.iter().find(|t| used(t, Some(note)) <= width) {
            return (t.to_string(), Some(note.clone()));
        }
    }
    (last, notes.last().cloned())
}

/// The usual panel body: a frame around either the lines `body` builds from the value (dimmed
/// when stale) or the one-line reason the value is missing. `titles` go from the most
/// descriptive to the shortest; the first that fits is used.
pub(super) fn field_panel<T>(
    frame: &mut Frame,
    area: Rect,
    titles: &[&str],
    reading: Reading<'_, T>,
    theme: Theme,
    body: impl FnOnce(&T, u16, u16) -> Vec<Line<'static>>,
) {
    field_panel_led(frame, area, titles, None, reading, theme, body);
}

/// [`field_panel`] with a `lead` line above the body that does not depend on the field (the
/// price above the funding). `body` gets the inner width and height left for it.
pub(super) fn field_panel_led<T>(
    frame: &mut Frame,
    area: Rect,
    titles: &[&str],
    lead: Option<Line<'static>>,
    reading: Reading<'_, T>,
    theme: Theme,
    body: impl FnOnce(&T, u16, u16) -> Vec<Line<'static>>,
) {
    // The title says how old, and why when there is room for it.
    let notes = match (&reading, reading.stale_note()) {
        (Reading::Stale(_, _, why), Some(age)) => vec![format!("{age} ({why})"), age],
        _ => Vec::new(),
    };
    let (title, note) = fit_title(titles, &notes, area.width as usize);
    let block = panel(&title, note, theme);
    let mut inner = block.inner(area);
    frame.render_widget(block, area);
    if let Some(lead) = lead {
        if inner.height > 0 {
            frame.render_widget(Paragraph::new(lead), Rect { height: 1, ..inner });
            inner.y += 1;
            inner.height -= 1;
        }
    }
    let (lines, style) = match &reading {
        Reading::Fresh(v) | Reading::Stale(v, ..) => (
            body(v, inner.width, inner.height),
            reading.value_style(theme),
        ),
        // The reason in full words: wrapped, and cut at a word boundary only when the panel
        // has no more lines.
        Reading::Absent(reason) => (
            wrap_clipped(
                &gap_text(reason),
                inner.width as usize,
                inner.height as usize,
            )
            .into_iter()
            .map(Line::from)
            .collect(),
            theme.warn(),
        ),
    };
    frame.render_widget(Paragraph::new(lines).style(style), inner);
}

/// A horizontal bar `████░░░░` of `width` cells filled to `fraction` (clamped to 0..=1).
pub(super) fn bar(fraction: f64, width: usize) -> (String, String) {
    let f = if fraction.is_finite() {
        fraction.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let filled = ((f * width as f64).round() as usize).min(width);
    ("█".repeat(filled), "░".repeat(width - filled))
}

/// Bars stop growing here: on wide screens a longer bar says nothing more.
pub(super) const MAX_BAR: usize = 48;

/// Bar spans: the filled part in `fill`, the rest dim.
pub(super) fn bar_spans(
    fraction: f64,
    width: usize,
    fill: Style,
    theme: Theme,
) -> [Span<'static>; 2] {
    let (a, b) = bar(fraction, width);
    [Span::styled(a, fill), Span::styled(b, theme.dim())]
}

const SPARK: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A one-line sparkline of `values` (oldest first), scaled between their own min and max so
/// that small moves show. Flat series draw mid-height.
pub(super) fn sparkline(values: impl Iterator<Item = f64> + Clone) -> String {
    let (lo, hi) = values
        .clone()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    let span = hi - lo;
    values
        .map(|v| {
            if span > 0.0 && span.is_finite() {
                let i = ((v - lo) / span * 7.0).round() as usize;
                SPARK[i.min(7)]
            } else {
                SPARK[3]
            }
        })
        .collect()
}

/// A signed percent right-aligned in `width` cells, coloured by sign; `n/a` when absent.
pub(super) fn signed_cell(
    v: Option<f64>,
    decimals: usize,
    width: usize,
    theme: Theme,
) -> Span<'static> {
    match v.filter(|v| v.is_finite()) {
        Some(v) => Span::styled(
            format!("{:>width$}", format::signed_pct(v, decimals)),
            theme.sign(v),
        ),
        None => Span::styled(format!("{:>width$}", "n/a"), theme.dim()),
    }
}

/// Pads or cuts `s` to exactly `width` cells (cut names end in `.`).
pub(super) fn fit(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width {
        format!("{s:<width$}")
    } else if width == 0 {
        String::new()
    } else {
        let mut out: String = s.chars().take(width - 1).collect();
        out.push('.');
        out
    }
}

/// `s` in at most `width` columns: whole if it fits, else cut at the last word boundary that
/// leaves room for `…` (a single word longer than the room is cut where it must be).
pub(super) fn ellipsize(s: &str, width: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let room = width - 1;
    let head: String = s.chars().take(room).collect();
    let at_boundary = s.chars().nth(room).is_some_and(char::is_whitespace);
    let kept = if at_boundary {
        head.as_str()
    } else {
        match head.rfind(char::is_whitespace) {
            Some(i) => &head[..i],
            None => head.as_str(),
        }
    };
    format!("{}…", kept.trim_end())
}

/// [`wrap`] to `width` columns, at most `max_lines` lines: when the text needs more, the last
/// line ends in `…` at a word boundary.
pub(super) fn wrap_clipped(text: &str, width: usize, max_lines: usize) -> Vec<String> {
    let lines = wrap(text, width);
    if lines.len() <= max_lines {
        return lines;
    }
    if max_lines == 0 {
        return Vec::new();
    }
    let mut out = lines[..max_lines - 1].to_vec();
    out.push(ellipsize(&lines[max_lines - 1..].join(" "), width.max(1)));
    out
}

/// A `w`×`h` rectangle centred in `area`, shrunk to fit (popups).
pub(super) fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Greedy word wrap to `width` columns (long words are cut). Always at least one line.
pub(super) fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word: String = word.to_string();
        loop {
            let line_len = line.chars().count();
            let word_len = word.chars().count();
            let needed = if line.is_empty() {
                word_len
            } else {
                line_len + 1 + word_len
            };
            if needed <= width {
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(&word);
                break;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            // A word longer than the line: cut it.
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            lines.push(head);
            if word.is_empty() {
                break;
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_sum_reads_partial_and_a_kept_value_its_age() {
        let now = Utc::now();
        let mut f = Field::fresh(1.0, now - chrono::Duration::seconds(240));
        f.gap = Some(GapReason::Partial("Bybit unreachable".into()));
        assert_eq!(read(Some(&f), now).stale_note().as_deref(), Some("partial"));
        f.gap = Some(GapReason::RateLimited);
        assert_eq!(
            read(Some(&f), now).stale_note().as_deref(),
            Some("stale 4m")
        );
        assert_eq!(read(Some(&Field::fresh(1.0, now)), now).stale_note(), None);
    }

    #[test]
    fn bars_fill_proportionally_and_clamp() {
        assert_eq!(bar(0.5, 4), ("██".to_string(), "░░".to_string()));
        assert_eq!(bar(2.0, 3).0, "███");
        assert_eq!(bar(f64::NAN, 3).1, "░░░");
        assert_eq!(bar(0.3, 0), (String::new(), String::new()));
    }

    #[test]
    fn sparkline_scales_to_its_range() {
        let v = [1.0, 2.0, 3.0, 8.0];
        assert_eq!(sparkline(v.iter().copied()), "▁▂▃█");
        assert_eq!(sparkline([5.0, 5.0].iter().copied()), "▄▄");
        assert_eq!(sparkline(std::iter::empty::<f64>()), "");
    }

    #[test]
    fn wrap_breaks_on_words_and_cuts_long_words() {
        assert_eq!(wrap("aa bb cc", 5), vec!["aa bb", "cc"]);
        assert_eq!(wrap("abcdefgh", 3), vec!["abc", "def", "gh"]);
        assert_eq!(wrap("", 3), vec![""]);
    }

    #[test]
    fn ellipsize_cuts_at_a_word_boundary() {
        assert_eq!(ellipsize("connection refused", 40), "connection refused");
        assert_eq!(
            ellipsize("temporary failure (connection refused)", 24),
            "temporary failure…"
        );
        // Cut exactly before a space: the whole word stays.
        assert_eq!(ellipsize("abc def ghi", 8), "abc def…");
        assert_eq!(ellipsize("abc def ghi", 7), "abc…");
        // One long word has no boundary: cut where it must be.
        assert_eq!(ellipsize("abcdefghij", 5), "abcd…");
        assert_eq!(ellipsize("abc", 0), "");
        for w in 1..40 {
            let cut = ellipsize(
                "fetch failed: temporary failure (HTTP 500 from the server)",
                w,
            );
            assert!(cut.chars().count() <= w, "{w}: {cut}");
        }
    }

    #[test]
    fn wrap_clipped_ends_in_an_ellipsis_at_a_word() {
        let text = "n/a: fetch failed: temporary failure (connection refused)";
        assert_eq!(
            wrap_clipped(text, 20, 5),
            vec![
                "n/a: fetch failed:",
                "temporary failure",
                "(connection refused)"
            ]
        );
        assert_eq!(
            wrap_clipped(text, 20, 2),
            vec!["n/a: fetch failed:", "temporary failure…"]
        );
        assert!(wrap_clipped(text, 20, 0).is_empty());
    }

    #[test]
    fn fit_pads_and_cuts() {
        assert_eq!(fit("OKX", 5), "OKX  ");
        assert_eq!(fit("Hyperliquid", 9), "Hyperliq.");
        assert_eq!(fit("abc", 0), "");
    }

    #[test]
    fn reading_tells_fresh_stale_and_absent_apart() {
        let now = crate::ui::sample::t0();
        let mut f = Field::fresh(1.0, now - chrono::Duration::minutes(4));
        assert!(matches!(read(Some(&f), now), Reading::Fresh(_)));
        f.mark_failed(GapReason::RateLimited);
        let r = read(Some(&f), now);
        assert!(matches!(r, Reading::Stale(_, 240, GapReason::RateLimited)));
        assert_eq!(r.stale_note().as_deref(), Some("stale 4m"));
        let absent: Field<f64> = Field::absent(GapReason::NotInPlan);
        assert!(matches!(
            read(Some(&absent), now),
            Reading::Absent(GapReason::NotInPlan)
        ));
        assert!(matches!(
            read::<f64>(None, now),
            Reading::Absent(GapReason::Pending)
        ));
    }
}
