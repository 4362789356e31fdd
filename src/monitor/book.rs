//! The thresholds of every symbol: the configured numbers, how relative thresholds are derived,
//! and each symbol's [`Baseline`] (its trailing history), seeded at start and fed every cycle.
//!
//! Each cycle, per symbol: derive the thresholds from the baseline as it stood before the cycle,
//! evaluate the rules with them, tell every signal its threshold, then observe the cycle's fresh
//! values. A baseline changes only when an hour's sample enters it, so deriving is a handful of
//! lookups in windows that are already sorted.

use crate::model::{SignalInputs, Snapshot};
use crate::signals::relative::{Baseline, Derived, RelativeSettings, Sample, ThresholdMode};
use crate::signals::{Signal, Thresholds};
use crate::store::StoredSnapshot;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::path::Path;

/// History for one symbol's baseline, sent to a running monitor
/// ([`super::MonitorOptions::seeds`]): samples timed in market time (see
/// [`ThresholdBook::seed`]).
#[derive(Debug, Clone)]
pub struct Seed {
    pub symbol: String,
    pub samples: Vec<(i64, Sample)>,
}

/// Maps a snapshot's wall-clock time to the market time its baseline runs on: the same for a
/// live source; the demo compresses market hours into seconds from `origin_ms` on.
#[derive(Debug, Clone, Copy)]
struct Clock {
    origin_ms: i64,
    factor: f64,
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            origin_ms: 0,
            factor: 1.0,
        }
    }
}

impl Clock {
    fn market_ms(&self, t: DateTime<Utc>) -> i64 {
        let ms = t.timestamp_millis();
        if self.factor == 1.0 || ms <= self.origin_ms {
            return ms;
        }
        self.origin_ms + ((ms - self.origin_ms) as f64 * self.factor) as i64
    }
}

/// Global thresholds plus per-symbol overrides (resolved once at start), the relative settings
/// and every symbol's baseline.
#[derive(Debug, Clone, Default)]
pub struct ThresholdBook {
    pub default: Thresholds,
    pub per_symbol: HashMap<String, Thresholds>,
    /// Mode, window and the global percentiles.
    pub relative: RelativeSettings,
    /// Symbols with their own percentiles (`[symbol.<COIN>.thresholds]`).
    pub per_symbol_relative: HashMap<String, RelativeSettings>,
    baselines: HashMap<String, Baseline>,
    clock: Clock,
}

impl ThresholdBook {
    /// `default` thresholds and `relative` settings for every symbol (see
    /// [`ThresholdBook::with_symbol`]), no history yet.
    pub fn new(default: Thresholds, relative: RelativeSettings) -> ThresholdBook {
        ThresholdBook {
            default,
            relative,
            ..ThresholdBook::default()
        }
    }

    /// `symbol` with its own thresholds and percentiles.
    pub fn with_symbol(
        mut self,
        symbol: &str,
        thresholds: Thresholds,
        relative: RelativeSettings,
    ) -> ThresholdBook {
        self.per_symbol.insert(symbol.to_string(), thresholds);
        self.per_symbol_relative
            .insert(symbol.to_string(), relative);
        self
    }

    /// The configured numbers of `symbol`: its static thresholds, and what a rule falls back on
    /// while its history is short.
    pub fn for_symbol(&self, symbol: &str) -> &Thresholds {
        self.per_symbol.get(symbol).unwrap_or(&self.default)
    }

    pub fn relative_for(&self, symbol: &str) -> &RelativeSettings {
        self.per_symbol_relative
            .get(symbol)
            .unwrap_or(&self.relative)
    }

    pub fn mode(&self) -> ThresholdMode {
        self.relative.mode
    }

    /// The demo: from `origin` on, market time runs `factor` times faster than the wall clock
    /// (the demo's market hours last seconds), so its baselines fill at the market's pace.
    pub fn with_time_scale(mut self, origin: DateTime<Utc>, factor: f64) -> ThresholdBook {
        if factor.is_finite() && factor > 0.0 {
            self.clock = Clock {
                origin_ms: origin.timestamp_millis(),
                factor,
            };
        }
        self
    }

    /// Adds history to `symbol`'s baseline, in any order and before or after live cycles: one
    /// sample per hour and metric (an hour that already has a value keeps it; the hour being
    /// observed now is left to the live cycles). Times are market time: real time for a live
    /// source; for the demo, history that ends where the run starts.
    pub fn seed(&mut self, symbol: &str, samples: &[(i64, Sample)]) {
        if self.mode() == ThresholdMode::Static || samples.is_empty() {
            return;
        }
        let settings = *self.relative_for(symbol);
        self.baselines
            .entry(symbol.to_string())
            .or_default()
            .seed(samples, &settings);
    }

    /// `symbol`'s thresholds now, before `snapshot` is observed.
    pub fn derive(&self, snapshot: &Snapshot) -> Derived {
        let symbol = snapshot.symbol.as_str();
        let th = self.for_symbol(symbol);
        let settings = self.relative_for(symbol);
        if settings.mode == ThresholdMode::Static {
            return Derived::fixed(th);
        }
        let oi = snapshot.open_interest.get().and_then(|o| o.oi_usd);
        match self.baselines.get(symbol) {
            Some(b) => b.derive(th, settings, oi),
            None => Baseline::default().derive(th, settings, oi),
        }
    }

    /// The signals of `snapshot` with its symbol's thresholds now, each carrying its threshold.
    pub fn evaluate(&self, snapshot: &Snapshot) -> Vec<Signal> {
        let derived = self.derive(snapshot);
        let mut signals = crate::signals::evaluate(&snapshot.inputs(), &derived.thresholds);
        for s in &mut signals {
            s.threshold = Some(derived.info(s.id));
        }
        signals
    }

    /// Feeds `snapshot`'s fresh values to its symbol's baseline (nothing in static mode).
    pub fn observe(&mut self, snapshot: &Snapshot) {
        if self.mode() == ThresholdMode::Static {
            return;
        }
        let (inputs, oi) = fresh_inputs(snapshot);
        let sample = Sample::of(&inputs, oi);
        if sample.is_empty() {
            return;
        }
        let time = self.clock.market_ms(snapshot.time);
        let settings = *self.relative_for(&snapshot.symbol);
        match self.baselines.get_mut(snapshot.symbol.as_str()) {
            Some(b) => b.observe(time, sample, &settings),
            None => {
                let mut b = Baseline::default();
                b.observe(time, sample, &settings);
                self.baselines.insert(snapshot.symbol.clone(), b);
            }
        }
    }

    /// `symbol`'s baseline, if it has one yet.
    pub fn baseline(&self, symbol: &str) -> Option<&Baseline> {
        self.baselines.get(symbol)
    }
}

/// The inputs of `s` that are new observations, and its fresh open interest: a value kept from
/// an earlier cycle after a failed fetch (stale) is not a new observation of the market.
/// Values a schedule carries over unchanged between refreshes are fresh (no gap).
pub fn fresh_inputs(s: &Snapshot) -> (SignalInputs, Option<f64>) {
    let mut i = s.inputs();
    if s.funding.is_stale() {
        i.funding_8h_pct = None;
    }
    if s.open_interest.is_stale() {
        i.oi_change_1h_pct = None;
    }
    if s.liquidations.is_stale() {
        i.liq_long_1h_usd = None;
        i.liq_short_1h_usd = None;
    }
    if s.retail.is_stale() {
        i.retail_long_pct = None;
        i.retail_short_pct = None;
    }
    if s.top.is_stale() {
        i.top_long_pct = None;
        i.top_short_pct = None;
    }
    if s.taker.is_stale() {
        i.taker_buy_pct = None;
    }
    if s.price.is_stale() {
        i.price_change_1h_pct = None;
    }
    let oi = s
        .open_interest
        .get()
        .filter(|_| !s.open_interest.is_stale())
        .and_then(|o| o.oi_usd);
    (i, oi)
}

const HOUR_MS: i64 = crate::signals::relative::HOUR_MS;

/// History for the baselines, by symbol: `(symbol, [(time_ms, sample)])`.
pub type History = Vec<(String, Vec<(i64, Sample)>)>;

/// One sample per hour of stored cycles (oldest first): the hour's last stored cycle, for the
/// hours before `before_ms`'s (the hour in progress is left to the live cycles).
pub fn hourly_samples(rows: &[StoredSnapshot], before_ms: i64) -> Vec<(i64, Sample)> {
    let current_hour = before_ms.div_euclid(HOUR_MS);
    let mut out: Vec<(i64, Sample)> = Vec::new();
    let mut last_hour = None;
    for r in rows {
        let t = r.time.timestamp_millis();
        let hour = t.div_euclid(HOUR_MS);
        if hour >= current_hour {
            break;
        }
        let sample = Sample::of(&r.inputs, r.oi_usd);
        if last_hour == Some(hour) {
            if let Some(last) = out.last_mut() {
                *last = (t, sample);
            }
        } else {
            out.push((t, sample));
            last_hour = Some(hour);
        }
    }
    out
}

/// The stored cycles of the running source (`kind`: CoinGlass cycles seed a CoinGlass run,
/// exchanges cycles an exchanges run) of the last `window_ms` of each symbol, one sample per
/// hour, to seed the baselines with ([`ThresholdBook::seed`]). Never demo rows: a demo run
/// stores its cycles too (tagged `demo`), but its market is simulated and starts afresh each
/// run (the demo does not call this). A store that cannot be read seeds nothing (logged): the
/// rules use their static thresholds until the history is there.
pub fn stored_samples(
    data_dir: &Path,
    symbols: &[String],
    window_ms: i64,
    kind: crate::model::SourceKind,
    now: DateTime<Utc>,
) -> History {
    let since = now - chrono::Duration::milliseconds(window_ms);
    let read = || -> Result<History, crate::store::StoreError> {
        let store = crate::store::Store::open_in(data_dir)?;
        symbols
            .iter()
            .map(|symbol| {
                let rows = store.snapshots_since(symbol, kind, since)?;
                Ok((
                    symbol.clone(),
                    hourly_samples(&rows, now.timestamp_millis()),
                ))
            })
            .collect()
    };
    read().unwrap_or_else(|e| {
        tracing::warn!("{e}; relative thresholds start from an empty history");
        Vec::new()
    })
}
