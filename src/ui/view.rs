//! The whole screen: the layouts (compact, normal, wide), the top bar (tabs, source, clock), the
//! status bar and, on the last row, the key bar. Pure over the state: "now" comes from the state,
//! never from the system clock.

use super::state::{Screen, SymbolView, UiState};
use super::theme::Theme;
use super::widgets::ellipsize;
use super::{
    active, errors, feed, funding, help, keybar, liquidations, open_interest, overview,
    positioning, taker,
};
use crate::format;
use crate::model::Level;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

/// The smallest terminal the dashboard draws on (the compact layout); smaller gets a message.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 20;
/// From this size up the normal layout; below it (down to the minimum) the compact one. An
/// 80×24 terminal with tmux's status line is 80×23: compact, not refused.
pub const NORMAL_WIDTH: u16 = 80;
pub const NORMAL_HEIGHT: u16 = 24;
/// From this width up (at the normal height) the wide layout: the same places as the normal
/// one, with more in them (the feed's messages).
pub const WIDE_WIDTH: u16 = 140;

/// Rows of the metric panels: the right column's three panels need 15 (13 stacked tighter in
/// the compact layout); more goes to the funding table, up to 22, and the rest to the feed.
const PANELS_MIN: u16 = 15;
const PANELS_MIN_COMPACT: u16 = 13;
const PANELS_MAX: u16 = 22;
/// The feed keeps at least 5 lines (2 in the compact layout), plus its frame: at exactly 24
/// rows the liquidations' verdict line gives way for the feed's fifth.
const FEED_MIN: u16 = 7;
const FEED_MIN_COMPACT: u16 = 4;
/// The top bar, and below the body the status bar and the key bar.
const CHROME_ROWS: u16 = 3;

/// How much the screen holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Density {
    /// From [`MIN_WIDTH`]×[`MIN_HEIGHT`] to below [`NORMAL_WIDTH`]×[`NORMAL_HEIGHT`]: panels
    /// stacked tighter, a shorter feed, narrower tables.
    Compact,
    Normal,
    /// [`WIDE_WIDTH`] columns and more.
    Wide,
}

/// The density for a `width`×`height` terminal; `None` below the minimum.
pub fn density(width: u16, height: u16) -> Option<Density> {
    if width < MIN_WIDTH || height < MIN_HEIGHT {
        None
    } else if width < NORMAL_WIDTH || height < NORMAL_HEIGHT {
        Some(Density::Compact)
    } else if width < WIDE_WIDTH {
        Some(Density::Normal)
    } else {
        Some(Density::Wide)
    }
}

/// Where everything goes on a screen of at least [`MIN_WIDTH`]×[`MIN_HEIGHT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScreenLayout {
    pub density: Density,
    pub top: Rect,
    /// Everything between the top bar and the status bar: the detail's panels and feed.
    pub body: Rect,
    pub funding: Rect,
    pub taker: Rect,
    pub open_interest: Rect,
    pub liquidations: Rect,
    pub positioning: Rect,
    /// The selected symbol's active signals, left of the feed.
    pub active: Rect,
    pub feed: Rect,
    pub status: Rect,
    /// The key bar: always the last row.
    pub keys: Rect,
}

/// Plain arithmetic (no constraint solver): cheap, and the same every frame for a given size.
pub fn layout(area: Rect) -> Option<ScreenLayout> {
    let density = density(area.width, area.height)?;
    let (panels_min, feed_min) = match density {
        Density::Compact => (PANELS_MIN_COMPACT, FEED_MIN_COMPACT),
        Density::Normal | Density::Wide => (PANELS_MIN, FEED_MIN),
    };
    let rows = |y: u16, height: u16| Rect {
        x: area.x,
        y,
        width: area.width,
        height,
    };
    let body_h = area.height - CHROME_ROWS;
    let panels_h = (body_h * 11 / 20)
        .clamp(panels_min, PANELS_MAX)
        .min(body_h - feed_min);
    let top = rows(area.y, 1);
    let body = rows(area.y + 1, body_h);
    let panels_y = body.y;
    let bottom = rows(panels_y + panels_h, body_h - panels_h);
    // Wide enough: the active list gets its own panel left of the feed; narrower, it is one
    // line pinned at the top of the feed (a zero-width `active`).
    let active_w = if active_pinned(area.width) {
        0
    } else {
        (area.width * 2 / 5).clamp(34, 64)
    };
    let active = Rect {
        width: active_w,
        ..bottom
    };
    let feed = Rect {
        x: bottom.x + active_w,
        width: bottom.width - active_w,
        ..bottom
    };
    let status = rows(area.y + area.height - 2, 1);
    let keys = rows(area.y + area.height - 1, 1);
    let left_w = area.width / 2;
    let left = Rect {
        x: area.x,
        y: panels_y,
        width: left_w,
        height: panels_h,
    };
    let right = Rect {
        x: area.x + left_w,
        width: area.width - left_w,
        ..left
    };
    let taker_h = 3;
    let funding = Rect {
        height: panels_h - taker_h,
        ..left
    };
    let taker = Rect {
        y: funding.y + funding.height,
        height: taker_h,
        ..left
    };
    // Open interest and liquidations take 5 rows each (4 when short: their lines condensed);
    // positioning the rest, at least 5.
    let oi_h = if panels_h > PANELS_MIN_COMPACT { 5 } else { 4 };
    let liq_h = if panels_h >= PANELS_MIN { 5 } else { 4 };
    let open_interest = Rect {
        height: oi_h,
        ..right
    };
    let liquidations = Rect {
        y: right.y + oi_h,
        height: liq_h,
        ..right
    };
    let positioning = Rect {
        y: right.y + oi_h + liq_h,
        height: panels_h - oi_h - liq_h,
        ..right
    };
    Some(ScreenLayout {
        density,
        top,
        body,
        funding,
        taker,
        open_interest,
        liquidations,
        positioning,
        active,
        feed,
        status,
        keys,
    })
}

/// Below this width the selected symbol's active signals are one line on the feed's bottom
/// border; from it on they have their own panel left of the feed.
pub const ACTIVE_PANEL_WIDTH: u16 = 120;

/// Whether the active list is the feed's pinned first line at this terminal width.
pub fn active_pinned(width: u16) -> bool {
    width < ACTIVE_PANEL_WIDTH
}

/// Feed lines per page (PgUp/PgDn) at the current terminal size.
pub fn feed_page(state: &UiState) -> usize {
    layout(Rect::new(0, 0, state.size.0, state.size.1))
        .map_or(1, |l| l.feed.height.saturating_sub(2).max(1) as usize)
}

/// Help popup lines per page (PgUp/PgDn) at the current terminal size.
pub(super) fn help_page(state: &UiState) -> usize {
    help::page(state, popup_area(state.size))
}

/// How far the help popup can scroll at the current terminal size.
pub(super) fn help_max_scroll(state: &UiState) -> usize {
    help::max_scroll(state, popup_area(state.size))
}

/// Where popups go: the whole screen but the key bar, which keeps saying how to close them.
fn popup_area(size: (u16, u16)) -> Rect {
    Rect::new(0, 0, size.0, size.1.saturating_sub(1))
}

pub fn render(frame: &mut Frame, state: &UiState) {
    let area = frame.area();
    let Some(l) = layout(area) else {
        too_small(frame, area, state);
        return;
    };
    top_bar(frame, l.top, state);
    if state.screen == Screen::Overview {
        overview::render(frame, l.body, state);
    } else {
        detail(frame, &l, state);
    }
    status_bar(frame, l.status, state);
    keybar::render(frame, l.keys, state);
    let popups = popup_area((area.width, area.height));
    if state.help_open {
        help::render(frame, popups, state);
    } else if state.errors_open {
        errors::render(frame, popups, state);
    }
}

/// The selected symbol's panels, active signals and the feed.
fn detail(frame: &mut Frame, l: &ScreenLayout, state: &UiState) {
    funding::render(frame, l.funding, state);
    taker::render(frame, l.taker, state);
    open_interest::render(frame, l.open_interest, state);
    liquidations::render(frame, l.liquidations, state);
    positioning::render(frame, l.positioning, state);
    if l.active.width > 0 {
        active::render(frame, l.active, state);
    }
    feed::render(frame, l.feed, state, l.density);
}

/// Below the minimum: what is needed, and (on the last row) how to quit.
fn too_small(frame: &mut Frame, area: Rect, state: &UiState) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let msg = format!(
        "terminal too small — need {MIN_WIDTH}×{MIN_HEIGHT}, have {}×{}",
        area.width, area.height
    );
    let line = Rect {
        y: area.y + area.height / 2,
        height: 1,
        ..area
    };
    frame.render_widget(
        Paragraph::new(ellipsize(&msg, area.width as usize)).alignment(Alignment::Center),
        line,
    );
    if area.height >= 3 {
        let last = Rect {
            y: area.y + area.height - 1,
            height: 1,
            ..area
        };
        keybar::render_quit_only(frame, last, state);
    }
}

/// `● HIGH`, `◐ MED`, `○ LOW`, `·`: the level in text, so it reads without colour.
pub fn level_marker(level: Level) -> &'static str {
    match level {
        Level::High => "● HIGH",
        Level::Medium => "◐ MED",
        Level::Low => "○ LOW",
        Level::None => "·",
    }
}

/// The tab marker of a symbol the last cycle fetched nothing for: not the calm `·`.
pub const NO_DATA_MARKER: &str = "✕ n/a";

/// A symbol's marker as its tab shows it: its level, or [`NO_DATA_MARKER`].
pub(super) fn symbol_marker(v: &SymbolView) -> &'static str {
    if v.no_data {
        NO_DATA_MARKER
    } else {
        level_marker(v.level)
    }
}

/// The style of a symbol's marker and tab: its level's, or the no-data alarm.
pub(super) fn symbol_marker_style(v: &SymbolView, theme: Theme) -> Style {
    if v.no_data {
        theme.no_data_tab()
    } else {
        theme.level(v.level)
    }
}

/// What the `‹` / `›` marker of the top bar says about the tabs scrolled out of view on its
/// side: how many, and the worst of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HiddenTabs {
    pub count: usize,
    /// The most severe level among them (a symbol without data has no level).
    pub worst: Level,
    /// Some of them had no data in the last cycle.
    pub no_data: bool,
    /// Only the arrow fits (the selected tab takes the rest): it still carries the colour.
    pub short: bool,
}

impl HiddenTabs {
    fn of<'a>(views: impl Iterator<Item = &'a SymbolView>) -> HiddenTabs {
        views.fold(
            HiddenTabs {
                count: 0,
                worst: Level::None,
                no_data: false,
                short: false,
            },
            |h, v| HiddenTabs {
                count: h.count + 1,
                worst: if v.no_data {
                    h.worst
                } else {
                    h.worst.max(v.level)
                },
                no_data: h.no_data || v.no_data,
                short: false,
            },
        )
    }

    /// `●`, `◐`, `○` for the worst level; `✕` when the worst is a symbol without data; `·`.
    fn glyph(&self) -> &'static str {
        match self.worst {
            Level::High => "●",
            Level::Medium => "◐",
            Level::Low => "○",
            Level::None if self.no_data => "✕",
            Level::None => "·",
        }
    }

    /// `‹●2` (left) or `●2›` (right): the worst marker and how many are hidden (only the arrow
    /// when [`HiddenTabs::short`]).
    pub fn text(&self, left: bool) -> String {
        if self.short {
            (if left { "‹" } else { "›" }).to_string()
        } else if left {
            format!("‹{}{}", self.glyph(), self.count)
        } else {
            format!("{}{}›", self.glyph(), self.count)
        }
    }

    fn style(&self, theme: Theme) -> Style {
        match self.worst {
            Level::None if self.no_data => theme.no_data_tab(),
            level => theme.level(level),
        }
    }
}

/// Columns a hidden-tabs marker for `count` tabs takes: the arrow, the glyph, the digits (only
/// the arrow when `short`).
fn hidden_width(count: usize, short: bool) -> u16 {
    match count {
        0 => 0,
        _ if short => 1,
        _ => 2 + count.to_string().len() as u16,
    }
}

const BRAND: &str = " perpwatch │";
const SEP: &str = "│";

fn tab_label(state: &UiState, index: usize) -> String {
    state.symbols.get(index).map_or_else(String::new, |v| {
        format!(" {} {} ", v.symbol, symbol_marker(v))
    })
}

fn width_of(s: &str) -> u16 {
    Span::raw(s).width() as u16
}

/// The right end of the top bar: a dead source's `no data: <cause>` banner, the source and the
/// clock. The banner takes at most a quarter of the width, so the tabs keep theirs (cut at a
/// word; `e` shows it all).
fn top_right(state: &UiState, width: u16) -> Vec<Span<'static>> {
    let theme = state.theme;
    let source = match &state.source {
        Some(s) if state.is_demo() => Span::styled(format!(" {s} "), theme.demo()),
        Some(s) => Span::styled(format!(" {s} "), theme.bold()),
        None => Span::styled(" connecting… ", theme.dim()),
    };
    let mut spans = Vec::with_capacity(6);
    if let Some(cause) = &state.no_data {
        let room = (width as usize / 4).clamp(16, 60);
        let banner = ellipsize(&format!("no data: {cause}"), room);
        spans.push(Span::raw(SEP));
        spans.push(Span::styled(format!(" {banner} "), theme.no_data()));
    }
    spans.extend([
        Span::raw(SEP),
        source,
        Span::raw(SEP),
        Span::raw(format!(" {} ", state.now.format("%H:%M:%S UTC"))),
    ]);
    spans
}

/// One clickable tab on the top bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TabHit {
    pub x: u16,
    pub width: u16,
    pub index: usize,
}

/// Which tabs fit between the brand and the right end, around the selected one, and what is
/// hidden on either side.
struct TabStrip {
    hits: Vec<TabHit>,
    left: Option<HiddenTabs>,
    right: Option<HiddenTabs>,
}

fn tab_strip(state: &UiState, width: u16) -> TabStrip {
    let n = state.symbols.len();
    let right_w: u16 = top_right(state, width)
        .iter()
        .map(|s| s.width() as u16)
        .sum();
    let x0 = width_of(BRAND);
    let avail = width.saturating_sub(x0 + right_w);
    let widths: Vec<u16> = (0..n).map(|i| width_of(&tab_label(state, i)) + 1).collect();
    let fits = |start: usize, end: usize| {
        let markers = hidden_width(start, false) + hidden_width(n - end, false);
        widths[start..end].iter().sum::<u16>() + markers <= avail
    };
    let sel = state.selected.min(n.saturating_sub(1));
    let mut start = 0;
    while start < sel && !fits(start, sel + 1) {
        start += 1;
    }
    let mut end = (sel + 1).min(n);
    while end < n && fits(start, end + 1) {
        end += 1;
    }
    // When even the selected tab leaves no room for the full markers, they shrink to arrows.
    let short = !fits(start, end);
    let mut x = x0 + hidden_width(start, short);
    let mut hits = Vec::with_capacity(end - start);
    for (i, w) in widths.iter().enumerate().take(end).skip(start) {
        hits.push(TabHit {
            x,
            width: w - 1,
            index: i,
        });
        x += w;
    }
    let hidden = |range: std::ops::Range<usize>| {
        (!range.is_empty()).then(|| HiddenTabs {
            short,
            ..HiddenTabs::of(state.symbols[range].iter())
        })
    };
    TabStrip {
        hits,
        left: hidden(0..start),
        right: hidden(end..n),
    }
}

/// The tabs as drawn on row 0 of a `width`-wide screen, for mouse clicks.
pub fn tab_hits(state: &UiState, width: u16) -> Vec<TabHit> {
    if density(width, state.size.1).is_none() || state.screen == Screen::Overview {
        return Vec::new();
    }
    tab_strip(state, width).hits
}

/// The hidden-tabs markers of the detail's top bar at `width` columns: (left, right).
pub fn hidden_tabs(state: &UiState, width: u16) -> (Option<HiddenTabs>, Option<HiddenTabs>) {
    if state.symbols.is_empty() {
        return (None, None);
    }
    let strip = tab_strip(state, width);
    (strip.left, strip.right)
}

fn top_bar(frame: &mut Frame, area: Rect, state: &UiState) {
    let theme = state.theme;
    let mut left = vec![Span::styled(BRAND, theme.bold())];
    if state.symbols.is_empty() {
        let right_w: usize = top_right(state, area.width).iter().map(Span::width).sum();
        let room = (area.width as usize).saturating_sub(width_of(BRAND) as usize + right_w + 2);
        let waiting = ellipsize("waiting for the first cycle…", room);
        left.push(Span::styled(format!(" {waiting} "), theme.dim()));
    } else if state.screen == Screen::Overview {
        let right_w: u16 = top_right(state, area.width)
            .iter()
            .map(|s| s.width() as u16)
            .sum();
        let room = area.width.saturating_sub(width_of(BRAND) + right_w);
        left.extend(overview::top_bar(state, room as usize));
    } else {
        let strip = tab_strip(state, area.width);
        if let Some(h) = strip.left {
            left.push(Span::styled(h.text(true), h.style(theme)));
        }
        for hit in &strip.hits {
            let v = &state.symbols[hit.index];
            let mut style = symbol_marker_style(v, theme);
            if hit.index == state.selected {
                style = style.patch(theme.selected()).patch(theme.bold());
            }
            left.push(Span::styled(tab_label(state, hit.index), style));
            left.push(Span::raw(SEP));
        }
        if let Some(h) = strip.right {
            left.push(Span::styled(h.text(false), h.style(theme)));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(left)), area);
    let right = Line::from(top_right(state, area.width));
    frame.render_widget(Paragraph::new(right).alignment(Alignment::Right), area);
}

/// Columns the status bar keeps for its message (an error, `no data: …`) before the request
/// count and the sink state give way.
const MESSAGE_MIN: usize = 40;

/// The status bar: the one place for machinery (polls, budget, sinks, errors). Before the first
/// cycle ends it says `connecting…` with the cycle's progress; a dead source reads
/// `no data: <cause>` (cut at a word; `e` lists every error in full).
fn status_bar(frame: &mut Frame, area: Rect, state: &UiState) {
    let theme = state.theme;
    let p = &state.poll;
    let sep = || Span::styled(" · ", theme.dim());
    let progress = p.progress.filter(|pr| pr.total > 0);
    let poll = if p.monitor_stopped {
        Span::styled(" monitor stopped: showing the last data", theme.error())
    } else if p.last_cycle.is_none() {
        match progress {
            Some(pr) => Span::raw(format!(
                " connecting… {}",
                crate::monitor::progress_text(pr.cycle, pr.done, pr.total)
            )),
            None => Span::raw(" connecting…"),
        }
    } else if p.fetching {
        match progress {
            Some(pr) => Span::raw(format!(" fetching… {} of {} requests", pr.done, pr.total)),
            None => Span::raw(" fetching…"),
        }
    } else if p.paused {
        match p.refreshed_while_paused {
            Some(at) => Span::styled(
                format!(
                    " refreshed {} ago (paused) · p resumes",
                    format::age((state.now - at).num_seconds())
                ),
                theme.warn(),
            ),
            None => Span::styled(" paused (p resumes)", theme.warn()),
        }
    } else {
        match p.next_poll_at {
            Some(at) => Span::raw(format!(
                " next poll {}",
                format::countdown((at - state.now).num_seconds())
            )),
            None => Span::raw(" no poll scheduled"),
        }
    };
    let requests = match state.requests {
        Some(r) => match (r.used_this_minute, r.limit_per_minute) {
            (Some(used), Some(limit)) => format!("requests {used}/{limit} this min"),
            (Some(used), None) => format!("requests {used} this min"),
            _ => format!("requests {} total", r.total),
        },
        None => "requests n/a".to_string(),
    };
    let (text, suffix, style) = if let Some(cause) = &state.no_data {
        (
            format!("no data: {cause}"),
            " · e errors".to_string(),
            theme.error().add_modifier(ratatui::style::Modifier::BOLD),
        )
    } else if let Some(e) = &state.last_error {
        let more = if e.more > 0 {
            format!(" (+{} more)", e.more)
        } else {
            String::new()
        };
        (
            format!(
                "last error {} ago: {}",
                format::age((state.now - e.at).num_seconds()),
                e.text
            ),
            more,
            theme.error(),
        )
    } else if state.ever_fetched {
        ("last error: none".to_string(), String::new(), theme.dim())
    } else {
        // Nothing fetched yet: "no error" would read as "all is well".
        ("no data yet".to_string(), String::new(), theme.dim())
    };
    // The message is what matters when something is wrong: it gets at least MESSAGE_MIN
    // columns, the request count and then the sink state giving way for it.
    let sep_w = 3;
    let width = area.width as usize;
    // A venue that is not fully working says so (`Bybit stream down 2m`), in at most half the
    // bar; a dead source's message already names every venue that failed.
    let troubles = state.venue_troubles();
    let venues = (state.no_data.is_none() && !troubles.is_empty())
        .then(|| Span::styled(ellipsize(&troubles.join(", "), width / 2), theme.warn()));
    let venues_w = venues.as_ref().map_or(0, |v| v.width() + sep_w);
    let wanted =
        Span::raw(text.as_str()).width().min(MESSAGE_MIN) + Span::raw(suffix.as_str()).width();
    let mut requests = Some(Span::raw(requests));
    let mut sink = Some(Span::raw(state.alert_sink.to_string()));
    let fixed = |r: &Option<Span>, k: &Option<Span>| {
        poll.width()
            + sep_w
            + venues_w
            + [r, k]
                .iter()
                .filter_map(|x| x.as_ref())
                .map(|x| x.width() + sep_w)
                .sum::<usize>()
    };
    if fixed(&requests, &sink) + wanted > width {
        requests = None;
    }
    if fixed(&requests, &sink) + wanted > width {
        sink = None;
    }
    let room = width
        .saturating_sub(fixed(&requests, &sink))
        .saturating_sub(Span::raw(suffix.as_str()).width());
    let message = Span::styled(format!("{}{suffix}", ellipsize(&text, room)), style);
    let machinery: Vec<Span> = [requests, sink].into_iter().flatten().collect();
    let mut left = vec![poll];
    if let Some(v) = venues {
        left.push(sep());
        left.push(v);
    }
    if state.no_data.is_some() {
        // A dead source leads: the machinery follows it.
        left.push(sep());
        left.push(message);
        for m in machinery {
            left.push(sep());
            left.push(m);
        }
    } else {
        for m in machinery {
            left.push(sep());
            left.push(m);
        }
        left.push(sep());
        left.push(message);
    }
    frame.render_widget(Paragraph::new(Line::from(left)), area);
}
