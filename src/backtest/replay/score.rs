//! Scoring a replay: onsets, hits against the unconditional base rate, and the track record
//! the live process attaches to its signals.

use super::{adverse, hit, median, outcome, walk, Outcome, Setup};
use crate::backtest::{human_ms, DAY_MS};
use crate::model::{Bar, Bias, SignalInputs};
use crate::signals::{Record, SignalId};
use serde::Serialize;

/// Unconditional rates over every bar with a complete horizon, fractions 0..1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BaseRates {
    pub scored_bars: usize,
    pub up: Option<f64>,
    pub down: Option<f64>,
    pub either: Option<f64>,
}

impl BaseRates {
    fn of(&self, bias: Bias) -> Option<f64> {
        match bias {
            Bias::Bullish => self.up,
            Bias::Bearish => self.down,
            Bias::Neutral => self.either,
        }
    }
}

/// One signal id's score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignalScore {
    pub id: SignalId,
    /// `bullish`, `bearish`, `neutral`, or `mixed` when firings had different biases; empty when
    /// it never fired.
    pub bias: String,
    /// Onsets: bars where the signal is active and was not at the bar before (which must be in
    /// the data).
    pub fired: usize,
    /// Onsets with a complete horizon after them.
    pub scored: usize,
    pub hits: usize,
    pub hit_rate_pct: Option<f64>,
    /// The base rate for the same biases (mean over the scored firings), percent.
    pub base_rate_pct: Option<f64>,
    /// Scored onsets followed by a move of `move_pct` in either direction.
    pub either_hits: usize,
    /// `either_hits / scored`, percent: compare with the base rate's `either`. A directional
    /// rule with an ordinary hit rate but a high `either_hit_pct` marks coming volatility rather
    /// than a direction.
    pub either_hit_pct: Option<f64>,
    /// Median raw price return at the horizon, percent (not sign-adjusted for the bias).
    pub median_return_pct: Option<f64>,
    /// Worst move against the bias within the horizon, percent (≤ 0); none for neutral.
    pub worst_adverse_pct: Option<f64>,
}

impl SignalScore {
    /// A rule with no onset in the replay.
    pub fn silent(id: SignalId) -> SignalScore {
        SignalScore {
            id,
            bias: String::new(),
            fired: 0,
            scored: 0,
            hits: 0,
            hit_rate_pct: None,
            base_rate_pct: None,
            either_hits: 0,
            either_hit_pct: None,
            median_return_pct: None,
            worst_adverse_pct: None,
        }
    }
}

/// The whole replay.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplayResult {
    pub bars: usize,
    pub base: BaseRates,
    /// Fired signal ids, in [`SignalId::ALL`] order ([`ReplayResult::every_rule`] adds the
    /// others with 0 onsets).
    pub signals: Vec<SignalScore>,
    /// Inputs absent at every bar (not observable at this interval, or not in the data).
    pub never_observed: Vec<&'static str>,
}

impl ReplayResult {
    /// Every rule in [`SignalId::ALL`] order: the fired ones' scores, and 0 onsets for the rules
    /// that never fired (listed, not omitted).
    pub fn every_rule(&self) -> Vec<SignalScore> {
        SignalId::ALL
            .iter()
            .map(|&id| {
                self.signals
                    .iter()
                    .find(|s| s.id == id)
                    .cloned()
                    .unwrap_or_else(|| SignalScore::silent(id))
            })
            .collect()
    }
}

#[derive(Default)]
struct Acc {
    fired: usize,
    scored: usize,
    hits: usize,
    either_hits: usize,
    returns: Vec<f64>,
    worst: Option<f64>,
    base_sum: f64,
    base_n: usize,
    biases: Vec<Bias>,
}

fn pct_of(n: usize, of: usize) -> Option<f64> {
    (of > 0).then(|| n as f64 / of as f64 * 100.0)
}

/// See [`super::replay`].
pub(super) fn replay(bars: &[Bar], setup: &Setup) -> ReplayResult {
    let outcomes: Vec<Option<Outcome>> = (0..bars.len()).map(|t| outcome(bars, t, setup)).collect();
    let scored: Vec<&Outcome> = outcomes.iter().flatten().collect();
    let rate = |f: &dyn Fn(&Outcome) -> bool| {
        (!scored.is_empty())
            .then(|| scored.iter().filter(|o| f(o)).count() as f64 / scored.len() as f64)
    };
    let base = BaseRates {
        scored_bars: scored.len(),
        up: rate(&|o| hit(o, Bias::Bullish, setup.move_pct)),
        down: rate(&|o| hit(o, Bias::Bearish, setup.move_pct)),
        either: rate(&|o| hit(o, Bias::Neutral, setup.move_pct)),
    };

    let mut acc: Vec<Acc> = SignalId::ALL.iter().map(|_| Acc::default()).collect();
    let mut was_active = [false; SignalId::ALL.len()];
    let mut observed = [false; SignalInputs::NAMES.len()];
    walk(bars, setup, |t, e| {
        for (seen, v) in observed.iter_mut().zip(e.inputs.values()) {
            *seen |= v.is_some();
        }
        // The bar before must be in the data to tell an onset from a signal already running.
        let after_known_bar = t > 0 && bars[t].time_ms - bars[t - 1].time_ms == setup.interval_ms;
        let mut active = [false; SignalId::ALL.len()];
        for s in &e.signals {
            let i = s.id as usize;
            active[i] = true;
            if was_active[i] || !after_known_bar {
                continue;
            }
            let a = &mut acc[i];
            a.fired += 1;
            if !a.biases.contains(&s.bias) {
                a.biases.push(s.bias);
            }
            if let Some(o) = &outcomes[t] {
                a.scored += 1;
                a.hits += usize::from(hit(o, s.bias, setup.move_pct));
                a.either_hits += usize::from(hit(o, Bias::Neutral, setup.move_pct));
                a.returns.push(o.return_pct);
                if let Some(adv) = adverse(o, s.bias) {
                    a.worst = Some(a.worst.map_or(adv, |w: f64| w.min(adv)));
                }
                if let Some(b) = base.of(s.bias) {
                    a.base_sum += b;
                    a.base_n += 1;
                }
            }
        }
        was_active = active;
    });

    let signals = SignalId::ALL
        .iter()
        .zip(acc)
        .filter(|(_, a)| a.fired > 0)
        .map(|(&id, mut a)| SignalScore {
            id,
            bias: match a.biases.as_slice() {
                [one] => one.as_str().to_string(),
                _ => "mixed".to_string(),
            },
            fired: a.fired,
            scored: a.scored,
            hits: a.hits,
            hit_rate_pct: pct_of(a.hits, a.scored),
            base_rate_pct: (a.base_n > 0).then(|| a.base_sum / a.base_n as f64 * 100.0),
            either_hits: a.either_hits,
            either_hit_pct: pct_of(a.either_hits, a.scored),
            median_return_pct: median(&mut a.returns),
            worst_adverse_pct: a.worst,
        })
        .collect();
    ReplayResult {
        bars: bars.len(),
        base,
        signals,
        never_observed: SignalInputs::NAMES
            .iter()
            .zip(observed)
            .filter(|(_, seen)| !seen)
            .map(|(name, _)| *name)
            .collect(),
    }
}

/// Every signal's track record on `bars` (one symbol's history, ascending, one `setup` interval
/// apart, gaps allowed): one replay, every rule in [`SignalId::ALL`] order (0 onsets included),
/// nothing printed. The live process calls this with the same threshold settings it evaluates
/// with (`setup.relative`), so a record describes the signal as it fires now.
///
/// `days` is the span the bars cover (first bar's start to last bar's end); whether that is
/// enough history to show is the caller's call.
///
/// ```
/// use perpwatch::backtest::replay::{track_record, Setup};
/// use perpwatch::signals::relative::RelativeSettings;
/// use perpwatch::signals::Thresholds;
/// use std::time::Duration;
///
/// let hour = 3_600_000;
/// let setup = Setup::new(hour, Duration::from_secs(24 * 3600), 3.0, Thresholds::default())
///     .expect("a horizon of at least one bar")
///     .with_relative(RelativeSettings::default());
/// let bars = perpwatch::backtest::fetch::demo_bars("BTC", hour, 0, 30 * 24 * hour);
/// for (id, record) in track_record(&bars, &setup) {
///     assert_eq!(record.interval, "1h");
///     assert!(record.scored <= record.fired, "{id}");
/// }
/// ```
pub fn track_record(bars: &[Bar], setup: &Setup) -> Vec<(SignalId, Record)> {
    let result = replay(bars, setup);
    let days = match (bars.first(), bars.last()) {
        (Some(a), Some(b)) => (b.time_ms - a.time_ms + setup.interval_ms) as f64 / DAY_MS as f64,
        _ => 0.0,
    };
    let interval = human_ms(setup.interval_ms);
    let horizon = human_ms(setup.horizon_ms());
    result
        .every_rule()
        .into_iter()
        .map(|s| {
            (
                s.id,
                Record {
                    days,
                    interval: interval.clone(),
                    fired: s.fired,
                    scored: s.scored,
                    hits: s.hits,
                    hit_rate_pct: s.hit_rate_pct,
                    base_rate_pct: s.base_rate_pct,
                    either_hit_pct: s.either_hit_pct,
                    horizon: horizon.clone(),
                    move_pct: setup.move_pct,
                },
            )
        })
        .collect()
}
