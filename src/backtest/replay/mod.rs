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

use super::{human_ms, HOUR_MS};
use crate::model::Bar;
use crate::model::{Bias, SignalInputs};
use crate::signals::{evaluate, SignalId, Thresholds};
use serde::Serialize;

/// How a replay is scored.
#[derive(Debug, Clone, PartialEq)]
pub struct Setup {
    pub interval_ms: i64,
    /// Whole bars in the horizon (the horizon rounded down to whole bars, at least one).
    pub horizon_bars: usize,
    pub move_pct: f64,
    pub thresholds: Thresholds,
}

impl Setup {
    /// Fails when the horizon is shorter than one bar (nothing could be measured).
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
        })
    }

    pub fn horizon_ms(&self) -> i64 {
        self.interval_ms
            .saturating_mul(i64::try_from(self.horizon_bars).unwrap_or(i64::MAX))
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

/// The signals active at every bar, each computed from the bars up to it.
pub fn active_per_bar(bars: &[Bar], setup: &Setup) -> Vec<Vec<(SignalId, Bias)>> {
    (0..bars.len())
        .map(|t| {
            evaluate(
                &inputs_at(&bars[..=t], setup.interval_ms),
                &setup.thresholds,
            )
            .into_iter()
            .map(|s| (s.id, s.bias))
            .collect()
        })
        .collect()
}

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
    /// `bullish`, `bearish`, `neutral`, or `mixed` when firings had different biases.
    pub bias: String,
    /// Onsets: bars where the signal is active and was not at the bar before.
    pub fired: usize,
    /// Onsets with a complete horizon after them.
    pub scored: usize,
    pub hits: usize,
    pub hit_rate_pct: Option<f64>,
    /// The base rate for the same biases (mean over the scored firings), percent.
    pub base_rate_pct: Option<f64>,
    /// Median raw price return at the horizon, percent (not sign-adjusted for the bias).
    pub median_return_pct: Option<f64>,
    /// Worst move against the bias within the horizon, percent (≤ 0); none for neutral.
    pub worst_adverse_pct: Option<f64>,
}

/// The whole replay.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplayResult {
    pub bars: usize,
    pub base: BaseRates,
    /// Fired signal ids, in [`SignalId::ALL`] order.
    pub signals: Vec<SignalScore>,
    /// Inputs absent at every bar (not observable at this interval, or not in the data).
    pub never_observed: Vec<&'static str>,
}

#[derive(Default)]
struct Acc {
    fired: usize,
    scored: usize,
    hits: usize,
    returns: Vec<f64>,
    worst: Option<f64>,
    base_sum: f64,
    base_n: usize,
    biases: Vec<Bias>,
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

/// Replays `bars` (ascending, one interval apart, gaps allowed) and scores every signal.
pub fn replay(bars: &[Bar], setup: &Setup) -> ReplayResult {
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
    for t in 0..bars.len() {
        // Only bars ≤ t are visible here.
        let inputs = inputs_at(&bars[..=t], setup.interval_ms);
        for (seen, v) in observed.iter_mut().zip(inputs.values()) {
            *seen |= v.is_some();
        }
        let mut active = [false; SignalId::ALL.len()];
        for s in evaluate(&inputs, &setup.thresholds) {
            let i = s.id as usize;
            active[i] = true;
            if was_active[i] {
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
    }

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
            hit_rate_pct: (a.scored > 0).then(|| a.hits as f64 / a.scored as f64 * 100.0),
            base_rate_pct: (a.base_n > 0).then(|| a.base_sum / a.base_n as f64 * 100.0),
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

#[cfg(test)]
mod tests;
