//! The dashboard's state and its pure transition function: `update(&mut state, event)` returns
//! the effects the event loop must carry out. No I/O, no clock: "now" arrives with `Tick` and
//! with the monitor's updates, so the same events always give the same state.

use super::keys::{self, Action};
use super::theme::Theme;
use super::view;
use crate::model::{Bias, Level, Snapshot};
use crate::monitor::{Command, Update};
use crate::report::{CycleReport, SymbolReport};
use crate::signals::relative::ThresholdInfo;
use crate::signals::{Signal, SignalId};
use crate::source::{RequestStats, SourceLabel, VenueStatus};
use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind};
use std::collections::{HashMap, VecDeque};

mod overview;
pub(crate) use overview::window;
pub use overview::{Column, OverviewState, Screen, Sort};

use crate::report::HISTORY_CAP;
/// Signal feed entries kept (all symbols).
pub const FEED_CAP: usize = 500;

/// What the event loop feeds `update`.
#[derive(Debug, Clone)]
pub enum Event {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// The 1 Hz tick, carrying the wall clock.
    Tick(DateTime<Utc>),
    Monitor(Update),
    /// The monitor's channel closed: keep showing the last data.
    MonitorClosed,
    /// The alert sink changed state (ok, retrying, disabled).
    AlertSink(SinkState),
}

/// What the event loop must do after an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Send(Command),
    Quit,
    /// The source cannot go on: restore the terminal and hand the message to main.
    Fatal(String),
}

/// A bounded series of one metric for one symbol, oldest first.
#[derive(Debug, Clone, Default)]
pub struct History {
    points: VecDeque<f64>,
}

impl History {
    /// Appends a point, dropping the oldest beyond [`HISTORY_CAP`]. Non-finite values are skipped.
    pub fn push(&mut self, v: f64) {
        if !v.is_finite() {
            return;
        }
        if self.points.len() >= HISTORY_CAP {
            self.points.pop_front();
        }
        self.points.push_back(v);
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Puts older points (oldest first) before the current ones, keeping the newest
    /// [`HISTORY_CAP`]. Non-finite values are skipped.
    pub fn prepend(&mut self, older: &[f64]) {
        let mut points: VecDeque<f64> = older.iter().copied().filter(|v| v.is_finite()).collect();
        points.extend(self.points.drain(..));
        while points.len() > HISTORY_CAP {
            points.pop_front();
        }
        self.points = points;
    }

    /// The newest `n` points, oldest first.
    pub fn last(&self, n: usize) -> impl Iterator<Item = f64> + Clone + '_ {
        self.points
            .iter()
            .skip(self.points.len().saturating_sub(n))
            .copied()
    }
}

/// Everything the dashboard keeps about one symbol.
#[derive(Debug, Clone)]
pub struct SymbolView {
    pub symbol: String,
    pub level: Level,
    pub snapshot: Option<Snapshot>,
    pub funding_history: History,
    pub oi_history: History,
    /// Retail's and top traders' long share (percent), one point per cycle that fetched it.
    pub retail_long_history: History,
    pub top_long_history: History,
    /// The last cycle fetched none of this symbol's metrics: its tab must not look calm.
    pub no_data: bool,
}

impl SymbolView {
    fn new(symbol: &str) -> Self {
        SymbolView {
            symbol: symbol.to_string(),
            level: Level::None,
            no_data: false,
            snapshot: None,
            funding_history: History::default(),
            oi_history: History::default(),
            retail_long_history: History::default(),
            top_long_history: History::default(),
        }
    }

    fn seed(&mut self, seed: &crate::report::SparkSeed) {
        self.funding_history.prepend(&seed.funding_8h_pct);
        self.oi_history.prepend(&seed.oi_usd);
    }

    /// Takes a cycle's snapshot. Only fresh, known values enter the sparklines: a stale value is an
    /// old observation repeated and an absent one is not zero.
    fn observe(&mut self, level: Level, snapshot: &Snapshot) {
        self.level = level;
        if snapshot.funding.gap.is_none() {
            if let Some(rate) = snapshot.funding.get().and_then(|f| f.rate_8h_pct) {
                self.funding_history.push(rate);
            }
        }
        if snapshot.open_interest.gap.is_none() {
            if let Some(oi) = snapshot.open_interest.get().and_then(|o| o.oi_usd) {
                self.oi_history.push(oi);
            }
        }
        for (field, history) in [
            (&snapshot.retail, &mut self.retail_long_history),
            (&snapshot.top, &mut self.top_long_history),
        ] {
            if field.gap.is_none() {
                if let Some(long) = field.get().and_then(|ls| ls.long_pct) {
                    history.push(long);
                }
            }
        }
        self.snapshot = Some(snapshot.clone());
    }
}

/// What a feed line records about a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedKind {
    /// The signal appeared.
    Onset,
    /// The signal went from `from` to the entry's level.
    LevelChanged { from: Level },
    /// The signal stopped firing after `after_s` seconds; the entry keeps its last level.
    Ended { after_s: i64 },
}

/// One line of the signal feed.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEntry {
    /// Unique, increasing: identifies the entry across scrolling and trimming.
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub symbol: String,
    pub id: SignalId,
    pub level: Level,
    pub bias: Bias,
    pub title: String,
    pub message: String,
    /// The threshold it crossed, when the report said.
    pub threshold: Option<ThresholdInfo>,
    pub kind: FeedKind,
    /// The signal's track record (or why it has none) as the cycle reported it; `None` for an
    /// end, and when no record is computed in this run.
    pub record: Option<String>,
}

/// A signal that is firing now for one symbol: as of its newest cycle, and since when.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveSignal {
    pub id: SignalId,
    pub level: Level,
    pub bias: Bias,
    pub title: String,
    pub message: String,
    /// Its threshold as of the newest cycle.
    pub threshold: Option<ThresholdInfo>,
    /// The first cycle of this run of the signal (a level change does not reset it).
    pub since: DateTime<Utc>,
    /// Its place in the newest report (most severe first, as the signals module orders them).
    pub rank: usize,
}

/// `2h10m`, `45m`, `30s`, `3d4h`: how long a signal has been (or was) active.
pub fn duration_text(secs: i64) -> String {
    let s = secs.max(0);
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m", s / 60)
    } else if s < 86_400 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}d{}h", s / 86_400, (s % 86_400) / 3600)
    }
}

/// The signal feed, newest first, bounded, and the signals active now. A (symbol, id) pair
/// enters the feed when it appears, when its level changes and when it ends, not on every cycle
/// it keeps firing.
#[derive(Debug, Clone, Default)]
pub struct Feed {
    entries: VecDeque<FeedEntry>,
    /// Each symbol's signals as of the last cycle that fetched anything for the symbol.
    active: HashMap<String, HashMap<SignalId, ActiveSignal>>,
    next_seq: u64,
}

impl Feed {
    /// Records the signals of one cycle; returns how many entries were added (at the front).
    /// A symbol the cycle fetched nothing for keeps its active signals: no data says nothing
    /// about whether they ended.
    pub fn observe(&mut self, symbols: &[SymbolReport], at: DateTime<Utc>) -> usize {
        let mut added: Vec<FeedEntry> = Vec::new();
        for report in symbols {
            if !report.fetched_anything() {
                continue;
            }
            let symbol = report.snapshot.symbol.as_str();
            let mut previous = self.active.remove(symbol).unwrap_or_default();
            let mut now_active: HashMap<SignalId, ActiveSignal> =
                HashMap::with_capacity(report.signals.len());
            for (rank, s) in report.signals.iter().enumerate() {
                if now_active.contains_key(&s.id) {
                    continue;
                }
                let before = previous.remove(&s.id);
                let kind = match &before {
                    None => Some(FeedKind::Onset),
                    Some(b) if b.level != s.level => Some(FeedKind::LevelChanged { from: b.level }),
                    Some(_) => None,
                };
                if let Some(kind) = kind {
                    added.push(entry(symbol, s, at, kind));
                } else {
                    self.refresh_record(symbol, s);
                }
                now_active.insert(
                    s.id,
                    ActiveSignal {
                        id: s.id,
                        level: s.level,
                        bias: s.bias,
                        title: s.title.clone(),
                        message: s.message.clone(),
                        threshold: s.threshold.clone(),
                        since: before.map_or(at, |b| b.since),
                        rank,
                    },
                );
            }
            // What fired before and not now has ended, in the order it was reported.
            let mut ended: Vec<ActiveSignal> = previous.into_values().collect();
            ended.sort_by(|a, b| b.level.cmp(&a.level).then(a.id.cmp(&b.id)));
            for a in ended {
                let after_s = (at - a.since).num_seconds();
                added.push(FeedEntry {
                    seq: 0,
                    at,
                    symbol: symbol.to_string(),
                    id: a.id,
                    level: a.level,
                    bias: a.bias,
                    title: a.title,
                    message: a.message,
                    threshold: a.threshold,
                    kind: FeedKind::Ended { after_s },
                    record: None,
                });
            }
            self.active.insert(symbol.to_string(), now_active);
        }
        // Within a cycle keep the report's order (symbols as configured, most severe first) at
        // the top of the feed.
        let n = added.len();
        for mut e in added.into_iter().rev() {
            self.next_seq += 1;
            e.seq = self.next_seq;
            self.entries.push_front(e);
        }
        self.entries.truncate(FEED_CAP);
        n.min(FEED_CAP)
    }

    /// A signal still active: its newest entry takes the record the cycle brought (one that was
    /// still being computed at the onset, or refreshed since).
    fn refresh_record(&mut self, symbol: &str, s: &Signal) {
        let Some(line) = crate::signals::record::record_line(s) else {
            return;
        };
        let newest = self
            .entries
            .iter_mut()
            .find(|e| e.symbol == symbol && e.id == s.id);
        if let Some(e) = newest.filter(|e| !matches!(e.kind, FeedKind::Ended { .. })) {
            if e.record.as_deref() != Some(line.as_str()) {
                e.record = Some(line);
            }
        }
    }

    /// The signals `symbol` has now, most severe first, then in the report's order.
    pub fn active(&self, symbol: &str) -> Vec<&ActiveSignal> {
        let mut out: Vec<&ActiveSignal> = self
            .active
            .get(symbol)
            .map(|m| m.values().collect())
            .unwrap_or_default();
        out.sort_by(|a, b| b.level.cmp(&a.level).then(a.rank.cmp(&b.rank)));
        out
    }

    /// The most severe level among `symbol`'s active signals (`Level::None` without any).
    pub fn active_level(&self, symbol: &str) -> Level {
        self.active
            .get(symbol)
            .and_then(|m| m.values().map(|a| a.level).max())
            .unwrap_or(Level::None)
    }

    /// Newest first.
    pub fn entries(&self) -> impl Iterator<Item = &FeedEntry> {
        self.entries.iter()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn entry(symbol: &str, s: &Signal, at: DateTime<Utc>, kind: FeedKind) -> FeedEntry {
    FeedEntry {
        seq: 0,
        at,
        symbol: symbol.to_string(),
        id: s.id,
        level: s.level,
        bias: s.bias,
        title: s.title.clone(),
        message: s.message.clone(),
        threshold: s.threshold.clone(),
        kind,
        record: crate::signals::record::record_line(s),
    }
}

/// The feed's level filter after `f`: all → ≥ MEDIUM → HIGH only → all. Every feed entry is a
/// signal (LOW at least), so a "≥ LOW" step would change nothing and is skipped.
pub(crate) fn next_level_filter(min_level: Level) -> Level {
    match min_level {
        Level::None | Level::Low => Level::Medium,
        Level::Medium => Level::High,
        Level::High => Level::None,
    }
}

/// State of the alert sink, for the status bar (one type with the alerter's).
use crate::alerts::SinkState;

/// How far the running cycle has got (from the monitor's `Update::Progress`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub cycle: u64,
    pub done: u32,
    pub total: u32,
}

/// The poll loop as the status bar tells it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollState {
    pub fetching: bool,
    /// Progress of the running cycle, when the source reports it.
    pub progress: Option<Progress>,
    pub paused: bool,
    pub next_poll_at: Option<DateTime<Utc>>,
    /// When the last cycle run while paused (by `r`) finished; cleared by pausing or resuming.
    pub refreshed_while_paused: Option<DateTime<Utc>>,
    pub last_cycle: Option<u64>,
    /// The monitor's channel closed; the data shown is the last it sent.
    pub monitor_stopped: bool,
}

/// The newest problem the monitor reported (already sanitised by the monitor).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastError {
    pub at: DateTime<Utc>,
    pub text: String,
    /// Further errors of the same cycle.
    pub more: usize,
}

/// Everything the view draws. Public so tests and benches can look; change it through `update`.
#[derive(Debug, Clone)]
pub struct UiState {
    pub now: DateTime<Utc>,
    /// Terminal size (columns, rows), for mouse hit tests and feed paging.
    pub size: (u16, u16),
    pub theme: Theme,
    pub source: Option<SourceLabel>,
    /// Each venue's state as of the last cycle (the exchanges source; empty for the others).
    pub venues: Vec<VenueStatus>,
    pub symbols: Vec<SymbolView>,
    pub selected: usize,
    /// The detail of the selected symbol, or the overview of every symbol (`o`).
    pub screen: Screen,
    pub overview: OverviewState,
    pub feed: Feed,
    /// Index of the highlighted row among the feed entries that pass the filters.
    pub feed_cursor: usize,
    /// `seq` of the expanded feed entry.
    pub expanded: Option<u64>,
    /// Feed shows entries at or above this level.
    pub min_level: Level,
    /// Feed shows only the selected symbol.
    pub this_symbol_only: bool,
    pub help_open: bool,
    /// Lines the help popup is scrolled down by (it scrolls when the terminal is short).
    pub help_scroll: usize,
    /// The errors popup (`e`): every distinct error of the last cycle.
    pub errors_open: bool,
    /// The dashboard captures the mouse (clicks, wheel); off with `--no-mouse`, leaving text
    /// selection to the terminal. The help says which.
    pub mouse: bool,
    pub poll: PollState,
    pub requests: Option<RequestStats>,
    pub last_error: Option<LastError>,
    /// The distinct errors of the last finished cycle, as the monitor said them.
    pub cycle_errors: Vec<String>,
    /// `Some(cause)` while the last cycle fetched nothing at all: a dead source.
    pub no_data: Option<String>,
    /// Some cycle has fetched something since start (until then "last error: none" would
    /// be a lie).
    pub ever_fetched: bool,
    pub alert_sink: SinkState,
    /// Set by `update` when the screen must be redrawn; the event loop clears it after drawing.
    pub dirty: bool,
    /// Stored sparkline history of symbols not shown yet, applied when they first appear.
    pub pending_history: HashMap<String, crate::report::SparkSeed>,
}

impl UiState {
    pub fn new(now: DateTime<Utc>, size: (u16, u16), theme: Theme) -> Self {
        UiState {
            now,
            size,
            theme,
            source: None,
            venues: Vec::new(),
            symbols: Vec::new(),
            selected: 0,
            screen: Screen::default(),
            overview: OverviewState::default(),
            feed: Feed::default(),
            feed_cursor: 0,
            expanded: None,
            min_level: Level::None,
            this_symbol_only: false,
            help_open: false,
            help_scroll: 0,
            errors_open: false,
            mouse: true,
            poll: PollState::default(),
            requests: None,
            last_error: None,
            cycle_errors: Vec::new(),
            no_data: None,
            ever_fetched: false,
            alert_sink: SinkState::Off,
            dirty: true,
            pending_history: HashMap::new(),
        }
    }

    pub fn selected_view(&self) -> Option<&SymbolView> {
        self.symbols.get(self.selected)
    }

    pub fn selected_snapshot(&self) -> Option<&Snapshot> {
        self.selected_view().and_then(|v| v.snapshot.as_ref())
    }

    pub fn is_demo(&self) -> bool {
        self.source
            .as_ref()
            .is_some_and(|s| s.kind == crate::model::SourceKind::Demo)
    }

    /// The venues the data comes from (`Binance+Bybit+OKX`) when the exchanges source runs.
    pub fn data_venues(&self) -> Option<&str> {
        self.source
            .as_ref()
            .filter(|s| s.kind == crate::model::SourceKind::Exchanges)
            .and_then(|s| s.plan.as_deref())
    }

    /// Each venue that is not fully working, in a few words: `Bybit stream down 2m`,
    /// `Binance restricted region (HTTP 451)`.
    pub fn venue_troubles(&self) -> Vec<String> {
        self.venues
            .iter()
            .filter(|v| !v.is_ok())
            .map(|v| {
                let name = crate::source::exchanges::Venue::parse(&v.venue)
                    .map_or(v.venue.as_str(), |venue| venue.name());
                format!("{name} {}", v.state)
            })
            .collect()
    }

    fn passes_filter(&self, e: &FeedEntry) -> bool {
        e.level >= self.min_level
            && (!self.this_symbol_only
                || self.selected_view().is_some_and(|v| v.symbol == e.symbol))
    }

    /// The feed entries the filters let through, newest first.
    pub fn visible_feed(&self) -> impl Iterator<Item = &FeedEntry> {
        self.feed.entries().filter(|e| self.passes_filter(e))
    }

    pub fn visible_feed_len(&self) -> usize {
        self.visible_feed().count()
    }

    fn clamp_cursor(&mut self) {
        let len = self.visible_feed_len();
        self.feed_cursor = self.feed_cursor.min(len.saturating_sub(1));
    }

    fn select(&mut self, index: usize) {
        if index < self.symbols.len() && index != self.selected {
            self.selected = index;
            if self.this_symbol_only {
                self.feed_cursor = 0;
                self.expanded = None;
            }
            self.dirty = true;
        }
    }

    fn move_cursor(&mut self, delta: isize) {
        let len = self.visible_feed_len();
        if len == 0 {
            return;
        }
        let target = self.feed_cursor.saturating_add_signed(delta).min(len - 1);
        if target != self.feed_cursor {
            self.feed_cursor = target;
            self.dirty = true;
        }
    }

    /// Stored history: seeds the sparklines of symbols on screen now, or when they appear.
    fn on_history(&mut self, seeds: &[crate::report::SparkSeed]) {
        for seed in seeds {
            match self.symbols.iter_mut().find(|v| v.symbol == seed.symbol) {
                Some(view) => view.seed(seed),
                None => {
                    self.pending_history
                        .insert(seed.symbol.clone(), seed.clone());
                }
            }
        }
    }

    /// What the running cycle has fetched so far: the values show at once (a long first cycle
    /// is not a blank screen); levels, signals and history wait for the cycle's report. Ignored
    /// once that cycle has reported.
    fn on_arrived(&mut self, cycle: u64, snapshots: &[Snapshot]) {
        if self.poll.last_cycle.is_some_and(|last| last >= cycle) {
            return;
        }
        for snap in snapshots {
            let index = self.view_index(&snap.symbol);
            self.symbols[index].snapshot = Some(snap.clone());
        }
        self.sync_overview();
    }

    /// The view of `name`, made (and seeded from stored history) the first time it is seen.
    fn view_index(&mut self, name: &str) -> usize {
        match self.symbols.iter().position(|v| v.symbol == name) {
            Some(i) => i,
            None => {
                let mut view = SymbolView::new(name);
                if let Some(seed) = self.pending_history.remove(name) {
                    view.seed(&seed);
                }
                self.symbols.push(view);
                self.symbols.len() - 1
            }
        }
    }

    fn on_cycle(&mut self, report: &CycleReport) {
        self.now = self.now.max(report.finished_at);
        self.source = Some(report.source.clone());
        self.venues.clone_from(&report.venues);
        self.requests = Some(report.requests);
        self.poll.fetching = false;
        self.poll.progress = None;
        self.poll.next_poll_at = report.next_poll_at;
        if self.poll.paused {
            self.poll.refreshed_while_paused = Some(report.finished_at);
        }
        self.poll.last_cycle = Some(report.cycle);
        self.cycle_errors.clone_from(&report.errors);
        self.no_data = report.no_data();
        self.ever_fetched |= self.no_data.is_none();
        if let Some(first) = report.errors.first() {
            self.last_error = Some(LastError {
                at: report.finished_at,
                text: first.clone(),
                more: report.errors.len() - 1,
            });
        }
        for sym in &report.symbols {
            let index = self.view_index(&sym.snapshot.symbol);
            self.symbols[index].observe(sym.level, &sym.snapshot);
            self.symbols[index].no_data = !sym.fetched_anything();
        }
        let added = self.feed.observe(&report.symbols, report.finished_at);
        // A tab never looks calmer than the signals its symbol has active.
        // (A symbol the cycle fetched nothing for shows its `n/a` marker instead.)
        for view in self.symbols.iter_mut().filter(|v| !v.no_data) {
            view.level = view.level.max(self.feed.active_level(&view.symbol));
        }
        let added_visible = self
            .feed
            .entries()
            .take(added)
            .filter(|e| self.passes_filter(e))
            .count();
        // A reader scrolled down keeps looking at the same entry; one at the top follows the news.
        if self.feed_cursor > 0 {
            self.feed_cursor += added_visible;
        }
        self.clamp_cursor();
        if let Some(seq) = self.expanded {
            if !self.feed.entries().any(|e| e.seq == seq) {
                self.expanded = None;
            }
        }
        // The rows may have re-sorted: the cursor stays on its symbol, and in view.
        self.sync_overview();
    }

    fn close_popups(&mut self) {
        self.help_open = false;
        self.errors_open = false;
        self.dirty = true;
    }

    /// Scrolls the help popup by `delta` lines, within what its content needs at this size.
    fn scroll_help(&mut self, delta: isize) {
        let max = view::help_max_scroll(self);
        let target = self
            .help_scroll
            .min(max)
            .saturating_add_signed(delta)
            .min(max);
        if target != self.help_scroll {
            self.help_scroll = target;
            self.dirty = true;
        }
    }

    fn on_action(&mut self, action: Action, key: &KeyEvent) -> Vec<Effect> {
        if self.help_open || self.errors_open {
            // A popup is modal: `q`, Esc and its own key close it, the feed keys scroll the help,
            // and only Ctrl-C quits; nothing else happens beneath it.
            let page = view::help_page(self) as isize;
            match action {
                Action::ForceQuit => return vec![Effect::Quit],
                Action::Back | Action::Quit => self.close_popups(),
                Action::ToggleHelp if self.help_open => self.close_popups(),
                Action::ToggleErrors if self.errors_open => self.close_popups(),
                _ if !self.help_open => {}
                Action::FeedUp => self.scroll_help(-1),
                Action::FeedDown => self.scroll_help(1),
                Action::FeedPageUp => self.scroll_help(-page),
                Action::FeedPageDown => self.scroll_help(page),
                Action::FeedTop => self.scroll_help(isize::MIN),
                Action::FeedBottom => self.scroll_help(isize::MAX),
                _ => {}
            }
            return vec![];
        }
        if self.screen == Screen::Overview {
            if let Some(effects) = self.on_overview_action(action, key) {
                return effects;
            }
        }
        let n = self.symbols.len();
        match action {
            Action::PrevSymbol if n > 0 => self.select((self.selected + n - 1) % n),
            Action::NextSymbol if n > 0 => self.select((self.selected + 1) % n),
            Action::PrevSymbol | Action::NextSymbol => {}
            Action::JumpToSymbol => {
                if let KeyCode::Char(c) = key.code {
                    if let Some(d) = c.to_digit(10).filter(|d| *d >= 1) {
                        self.select(d as usize - 1);
                    }
                }
            }
            Action::FeedUp => self.move_cursor(-1),
            Action::FeedDown => self.move_cursor(1),
            Action::FeedPageUp => self.move_cursor(-(view::feed_page(self) as isize)),
            Action::FeedPageDown => self.move_cursor(view::feed_page(self) as isize),
            Action::FeedTop => self.move_cursor(isize::MIN),
            Action::FeedBottom => self.move_cursor(isize::MAX),
            Action::ToggleExpand => {
                let seq = self.visible_feed().nth(self.feed_cursor).map(|e| e.seq);
                if let Some(seq) = seq {
                    self.expanded = if self.expanded == Some(seq) {
                        None
                    } else {
                        Some(seq)
                    };
                    self.dirty = true;
                }
            }
            Action::CycleLevelFilter => {
                self.min_level = next_level_filter(self.min_level);
                self.feed_cursor = 0;
                self.dirty = true;
            }
            Action::ToggleSymbolFilter => {
                self.this_symbol_only = !self.this_symbol_only;
                self.feed_cursor = 0;
                self.dirty = true;
            }
            Action::RefreshNow => return vec![Effect::Send(Command::RefreshNow)],
            Action::TogglePause => return vec![Effect::Send(Command::TogglePause)],
            Action::ToggleHelp => {
                self.help_open = true;
                self.help_scroll = 0;
                self.dirty = true;
            }
            Action::ToggleErrors => {
                self.errors_open = true;
                self.dirty = true;
            }
            // On the detail, Esc goes back to the overview; it never quits: only `q` and Ctrl-C.
            Action::ToggleOverview | Action::Back => self.show_overview(),
            // Sorting is the overview's: the detail has nothing to sort.
            Action::Sort => {}
            Action::Quit | Action::ForceQuit => return vec![Effect::Quit],
        }
        vec![]
    }

    fn on_mouse(&mut self, m: &MouseEvent) {
        if self.help_open {
            match m.kind {
                MouseEventKind::ScrollUp => self.scroll_help(-1),
                MouseEventKind::ScrollDown => self.scroll_help(1),
                _ => {}
            }
            return;
        }
        if self.errors_open {
            return;
        }
        if self.screen == Screen::Overview {
            self.on_overview_mouse(m);
            return;
        }
        match m.kind {
            MouseEventKind::Down(MouseButton::Left) if m.row == 0 => {
                let hit = view::tab_hits(self, self.size.0)
                    .into_iter()
                    .find(|h| m.column >= h.x && m.column < h.x.saturating_add(h.width));
                if let Some(hit) = hit {
                    self.select(hit.index);
                }
            }
            MouseEventKind::ScrollUp => self.move_cursor(-1),
            MouseEventKind::ScrollDown => self.move_cursor(1),
            _ => {}
        }
    }
}

/// Applies one event to the state; returns what the event loop must do. Sets `state.dirty` when
/// the screen changed.
pub fn update(state: &mut UiState, event: Event) -> Vec<Effect> {
    match event {
        Event::Key(key) => {
            // Act on presses only: some terminals also report repeats and releases.
            if key.kind != KeyEventKind::Press {
                return vec![];
            }
            match keys::lookup(&key) {
                Some(action) => state.on_action(action, &key),
                None => vec![],
            }
        }
        Event::Mouse(m) => {
            state.on_mouse(&m);
            vec![]
        }
        Event::Resize(w, h) => {
            state.size = (w, h);
            state.sync_overview();
            state.dirty = true;
            vec![]
        }
        Event::AlertSink(sink) => {
            state.alert_sink = sink;
            state.dirty = true;
            vec![]
        }
        Event::Tick(now) => {
            state.now = now;
            state.dirty = true;
            vec![]
        }
        Event::Monitor(update) => {
            state.dirty = true;
            match update {
                Update::CycleStarted { at, .. } => {
                    state.now = state.now.max(at);
                    state.poll.fetching = true;
                    state.poll.progress = None;
                }
                Update::Progress { cycle, done, total } => {
                    state.poll.progress = Some(Progress { cycle, done, total });
                }
                Update::Arrived { cycle, snapshots } => state.on_arrived(cycle, &snapshots),
                Update::Cycle(report) => state.on_cycle(&report),
                Update::Paused {
                    paused,
                    next_poll_at,
                } => {
                    state.poll.paused = paused;
                    state.poll.next_poll_at = next_poll_at;
                    state.poll.refreshed_while_paused = None;
                }
                Update::Fatal(msg) => return vec![Effect::Fatal(msg)],
                Update::History(seeds) => state.on_history(&seeds),
            }
            vec![]
        }
        Event::MonitorClosed => {
            state.poll.monitor_stopped = true;
            state.poll.fetching = false;
            state.dirty = true;
            vec![]
        }
    }
}

#[cfg(test)]
mod tests;
