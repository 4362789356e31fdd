//! Bar-by-bar evaluation: at bar `t`, the inputs come from bars `..=t` and the thresholds from
//! bars `..t` (relative mode) or the configuration (static mode).

use super::{inputs_at, Setup};
use crate::model::{Bar, Bias, SignalInputs};
use crate::signals::relative::{Baseline, Sample, ThresholdMode};
use crate::signals::{evaluate, Signal, SignalId, Thresholds};

/// What the engine saw and said at one bar.
#[derive(Debug, Clone)]
pub struct BarEval {
    pub inputs: SignalInputs,
    /// The thresholds the rules compared with at this bar.
    pub thresholds: Thresholds,
    /// The signals active at this bar (most severe first, as [`evaluate`] returns them).
    pub signals: Vec<Signal>,
}

/// Evaluates every bar in order and hands each one to `f` with its index.
///
/// Relative mode: the thresholds at bar `t` are derived from a [`Baseline`] holding the samples of
/// bars `..t` only (within the window); bar `t`'s sample is pushed after it is evaluated. The
/// liquidation thresholds, kept as shares of open interest, turn into dollars with bar `t`'s own
/// open interest (known when bar `t` closes, like every other input at `t`).
pub fn walk(bars: &[Bar], setup: &Setup, mut f: impl FnMut(usize, BarEval)) {
    let settings = &setup.relative;
    let relative = settings.mode == ThresholdMode::Relative;
    let mut baseline = Baseline::default();
    for (t, bar) in bars.iter().enumerate() {
        let inputs = inputs_at(&bars[..=t], setup.interval_ms);
        let thresholds = if relative {
            baseline
                .derive(&setup.thresholds, settings, bar.oi_usd)
                .thresholds
        } else {
            setup.thresholds
        };
        let signals = evaluate(&inputs, &thresholds);
        if relative {
            baseline.push(
                bar.time_ms,
                &Sample::of(&inputs, bar.oi_usd),
                settings.window_ms,
            );
        }
        f(
            t,
            BarEval {
                inputs,
                thresholds,
                signals,
            },
        );
    }
}

/// The signals active at every bar, each computed from the bars up to it.
pub fn active_per_bar(bars: &[Bar], setup: &Setup) -> Vec<Vec<(SignalId, Bias)>> {
    let mut out = Vec::with_capacity(bars.len());
    walk(bars, setup, |_, e| {
        out.push(e.signals.iter().map(|s| (s.id, s.bias)).collect());
    });
    out
}

/// The thresholds the rules used at every bar.
pub fn thresholds_per_bar(bars: &[Bar], setup: &Setup) -> Vec<Thresholds> {
    let mut out = Vec::with_capacity(bars.len());
    walk(bars, setup, |_, e| out.push(e.thresholds));
    out
}
