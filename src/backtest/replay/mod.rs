//! Bar-by-bar replay of the signal engine, and the outcome maths.
//!
//! **No look-ahead.** The inputs at bar `t` are computed from `bars[..=t]` only (the function
//! cannot see anything else), i.e. from what was known when bar `t` closed. The trade a signal
//! implies starts at the **next bar's open** and is judged over the following `horizon_bars` bars.
//!
//! **Inputs per interval** (`iv` = bar length; every "1h" input is exact or absent, never faked):
//!
//! | input | derived from |
//! |---|---|
//! | `funding_8h_pct` | the bar's OI-weighted funding close, already normalised to 8 h |
//! | `retail_long_pct` / `top_long_pct` | the bar's long percent; short = 100 − long |
//! | `oi_change_1h_pct` | iv ≤ 1h: OI close now vs. the close 1h earlier (`60/iv` bars back); iv > 1h: absent |
//! | `price_change_1h_pct` | same, from the price close |
//! | `liq_{long,short}_1h_usd` | iv ≤ 1h: sum of the last `60/iv` bars; iv > 1h: absent (a 4h total spread over 4 hours would dilute a one-hour cascade, so it is not scaled) |
//! | `taker_buy_pct` | iv ≤ 1h: mean of the last `60/iv` bars' shares; iv > 1h: absent |
//!
//! Any input whose bars are missing (a gap in the series, an empty cell) is absent.
//!
//! **Thresholds** ([`ThresholdMode`]): static mode uses the configured numbers at every bar, exactly
//! as the live engine's static mode does. Relative mode derives bar `t`'s thresholds from the
//! samples of bars **strictly before** `t` (a [`Baseline`](crate::signals::relative::Baseline) with one sample per bar: derived
//! before bar `t` is evaluated, bar `t`'s own sample pushed after), so neither the inputs nor the
//! thresholds can see the bar they judge, let alone a later one. Until a metric's window covers
//! `min_history` (7 days) its rules use the static threshold, as live.
//!
//! **Onsets.** A signal's onset is a bar where it is active and was not on the bar before; the
//! bar before must be in the data (one interval earlier), so the first bar of the window, and the
//! first bar after a gap, are never onsets: whether the signal was already active there is
//! unknown.

mod score;
mod walk;

pub use score::{track_record, BaseRates, ReplayResult, SignalScore};
pub use walk::{active_per_bar, thresholds_per_bar, walk, BarEval};

use super::{human_ms, HOUR_MS};
use crate::model::Bar;
use crate::model::{Bias, SignalInputs};
use crate::signals::relative::{RelativeSettings, ThresholdMode};
use crate::signals::Thresholds;

/// Replays `bars` (ascending, one interval apart, gaps allowed) and scores every signal.
pub fn replay(bars: &[Bar], setup: &Setup) -> ReplayResult {
    score::replay(bars, setup)
}

/// How a replay is scored.
#[derive(Debug, Clone, PartialEq)]
pub struct Setup {
    pub interval_ms: i64,
    /// Whole bars in the horizon (the horizon rounded down to whole bars, at least one).
    pub horizon_bars: usize,
    pub move_pct: f64,
    /// The static thresholds: used as they are in static mode, and by each rule in relative mode
    /// until its metric has enough history.
    pub thresholds: Thresholds,
    /// Threshold mode, window, minimum history and percentiles; `sample_ms` is always the bar
    /// length (one sample per bar). [`Setup::new`] starts in static mode.
    pub relative: RelativeSettings,
    /// The horizon asked for, in ms (differs from [`Setup::horizon_ms`] when it was rounded).
    pub requested_horizon_ms: i64,
}

impl Setup {
    /// A static-mode setup (the configured thresholds at every bar); [`Setup::with_relative`]
    /// switches to relative thresholds. Fails when the horizon is shorter than one bar (nothing
    /// could be measured).
    pub fn new(
        interval_ms: i64,
        horizon: std::time::Duration,
        move_pct: f64,
        thresholds: Thresholds,
    ) -> Result<Setup, String> {
        let horizon_ms = i64::try_from(horizon.as_millis()).unwrap_or(i64::MAX);
        if interval_ms <= 0 || horizon_ms < interval_ms {
            return Err(format!(
                "--horizon {} is shorter than one {} bar; use --horizon {} or longer (or a shorter --interval)",
                human_ms(horizon_ms),
                human_ms(interval_ms),
                human_ms(interval_ms)
            ));
        }
        Ok(Setup {
            interval_ms,
            horizon_bars: usize::try_from(horizon_ms / interval_ms).unwrap_or(usize::MAX),
            move_pct,
            thresholds,
            relative: RelativeSettings {
                mode: ThresholdMode::Static,
                sample_ms: interval_ms,
                ..RelativeSettings::default()
            },
            requested_horizon_ms: horizon_ms,
        })
    }

    /// The same setup with these threshold settings (mode, window, minimum history,
    /// percentiles). One sample per bar: `sample_ms` becomes the bar length whatever it was.
    pub fn with_relative(mut self, settings: RelativeSettings) -> Setup {
        self.relative = RelativeSettings {
            sample_ms: self.interval_ms,
            ..settings
        };
        self
    }

    pub fn mode(&self) -> ThresholdMode {
        self.relative.mode
    }

    pub fn horizon_ms(&self) -> i64 {
        self.interval_ms
            .saturating_mul(i64::try_from(self.horizon_bars).unwrap_or(i64::MAX))
    }

    /// Says what the horizon was rounded to, when it was not a whole number of bars.
    pub fn horizon_note(&self) -> Option<String> {
        (self.requested_horizon_ms != self.horizon_ms()).then(|| {
            format!(
                "--horizon {} is not a whole number of {} bars: rounded down to {} ({} bars)",
                human_ms(self.requested_horizon_ms),
                human_ms(self.interval_ms),
                human_ms(self.horizon_ms()),
                self.horizon_bars
            )
        })
    }

    /// The thresholds in one line, for the report's header.
    pub fn thresholds_label(&self) -> String {
        match self.mode() {
            ThresholdMode::Static => {
                "static: the configured [thresholds] numbers at every bar".to_string()
            }
            ThresholdMode::Relative => format!(
                "relative: each bar's from the percentiles of the {} of bars strictly before it; \
                 a rule keeps its static threshold until its metric has {} of bars ({} bars)",
                self.relative.window_label(),
                RelativeSettings {
                    window_ms: self.relative.min_history_ms,
                    ..self.relative
                }
                .window_label(),
                self.relative.min_samples()
            ),
        }
    }
}

/// The last `n` bars of `history` if they are consecutive (no missing bar in between).
fn tail(history: &[Bar], n: usize, interval_ms: i64) -> Option<&[Bar]> {
    let start = history.len().checked_sub(n)?;
    let w = &history[start..];
    let span = interval_ms.checked_mul(i64::try_from(n.checked_sub(1)?).ok()?)?;
    (w.last()?.time_ms - w.first()?.time_ms == span).then_some(w)
}

fn pct_change(now: Option<f64>, before: Option<f64>) -> Option<f64> {
    match (now, before) {
        (Some(a), Some(b)) if b > 0.0 && a.is_finite() && b.is_finite() => {
            Some((a / b - 1.0) * 100.0)
        }
        _ => None,
    }
}

fn sum(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    values.sum()
}

/// The signal inputs at the **last** bar of `history`, from `history` alone. See the module
/// docs for how each is derived.
pub fn inputs_at(history: &[Bar], interval_ms: i64) -> SignalInputs {
    let Some(bar) = history.last() else {
        return SignalInputs::default();
    };
    let short_of = |long: Option<f64>| long.map(|l| 100.0 - l);
    let mut inputs = SignalInputs {
        funding_8h_pct: bar.funding_8h_pct,
        retail_long_pct: bar.retail_long_pct,
        retail_short_pct: short_of(bar.retail_long_pct),
        top_long_pct: bar.top_long_pct,
        top_short_pct: short_of(bar.top_long_pct),
        ..SignalInputs::default()
    };
    // Bars per hour, when an hour is a whole number of bars.
    let per_hour = (interval_ms > 0 && interval_ms <= HOUR_MS && HOUR_MS % interval_ms == 0)
        .then(|| usize::try_from(HOUR_MS / interval_ms).ok())
        .flatten();
    if let Some(k) = per_hour {
        if let Some(w) = tail(history, k + 1, interval_ms) {
            inputs.oi_change_1h_pct = pct_change(bar.oi_usd, w[0].oi_usd);
            inputs.price_change_1h_pct = pct_change(bar.close, w[0].close);
        }
        if let Some(w) = tail(history, k, interval_ms) {
            inputs.liq_long_1h_usd = sum(w.iter().map(|b| b.liq_long_usd));
            inputs.liq_short_1h_usd = sum(w.iter().map(|b| b.liq_short_usd));
            inputs.taker_buy_pct = sum(w.iter().map(|b| b.taker_buy_pct)).map(|s| s / k as f64);
        }
    }
    inputs
}

/// The bar's open; an imported file has one price per row, so there the open is the previous
/// (consecutive) bar's close.
fn open_of(bars: &[Bar], j: usize, interval_ms: i64) -> Option<f64> {
    bars[j].open.or_else(|| {
        let prev = bars.get(j.checked_sub(1)?)?;
        (bars[j].time_ms - prev.time_ms == interval_ms)
            .then_some(prev.close)
            .flatten()
    })
}

/// High and low; without them (imported files), the larger and smaller of open and close.
fn range_of(bars: &[Bar], j: usize, interval_ms: i64) -> Option<(f64, f64)> {
    let b = &bars[j];
    match (b.high, b.low) {
        (Some(h), Some(l)) => Some((h, l)),
        _ => {
            let close = b.close?;
            let open = open_of(bars, j, interval_ms).unwrap_or(close);
            Some((open.max(close), open.min(close)))
        }
    }
}

/// What happened after bar `t`: entry at bar `t+1`'s open, judged over bars `t+1 ..= t+m`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// Close of the last horizon bar vs. the entry, percent.
    pub return_pct: f64,
    /// Highest high vs. the entry, percent.
    pub max_up_pct: f64,
    /// Lowest low vs. the entry, percent (negative when price dipped below the entry).
    pub max_down_pct: f64,
}

/// The outcome of bar `t`, or `None` when the horizon runs past the data, has a missing bar, or
/// lacks a price.
pub fn outcome(bars: &[Bar], t: usize, setup: &Setup) -> Option<Outcome> {
    let m = setup.horizon_bars;
    let last = t.checked_add(m)?;
    if last >= bars.len() {
        return None;
    }
    let span = setup.interval_ms.checked_mul(i64::try_from(m).ok()?)?;
    if bars[last].time_ms - bars[t].time_ms != span {
        return None;
    }
    let entry = open_of(bars, t + 1, setup.interval_ms).filter(|p| *p > 0.0)?;
    let (mut hi, mut lo) = (f64::MIN, f64::MAX);
    for j in t + 1..=last {
        let (h, l) = range_of(bars, j, setup.interval_ms)?;
        hi = hi.max(h);
        lo = lo.min(l);
    }
    let pct = |p: f64| (p / entry - 1.0) * 100.0;
    Some(Outcome {
        return_pct: pct(bars[last].close?),
        max_up_pct: pct(hi),
        max_down_pct: pct(lo),
    })
}

/// Tolerance on the move threshold: prices with few decimals sit exactly on it.
const EPS: f64 = 1e-9;

fn hit(o: &Outcome, bias: Bias, move_pct: f64) -> bool {
    let up = o.max_up_pct >= move_pct - EPS;
    let down = o.max_down_pct <= -move_pct + EPS;
    match bias {
        Bias::Bullish => up,
        Bias::Bearish => down,
        Bias::Neutral => up || down,
    }
}

/// The move against the bias (≤ 0, percent); none for neutral signals, which have no side.
fn adverse(o: &Outcome, bias: Bias) -> Option<f64> {
    match bias {
        // `+ 0.0` turns a −0.0 (no adverse move at all) into 0.0 for display.
        Bias::Bullish => Some(o.max_down_pct.min(0.0) + 0.0),
        Bias::Bearish => Some((-o.max_up_pct).min(0.0) + 0.0),
        Bias::Neutral => None,
    }
}

pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

#[cfg(test)]
mod tests;
