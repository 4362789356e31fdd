//! Cheap message building for fired signals.
//!
//! Evaluation runs at millions of snapshots per second, so messages are assembled from static
//! text and fixed-point numbers written straight into one pre-sized `String`, instead of going
//! through `format!` (whose float formatting dominates the cost). Nothing here runs unless a rule
//! fired.

use super::{Signal, SignalId};
use crate::model::{Bias, Level};
use std::fmt::Write as _;

/// One piece of a message.
#[derive(Debug, Clone, Copy)]
pub(super) enum Part {
    /// Literal text.
    T(&'static str),
    /// A value with exactly `dp` decimals, sign only when negative: `68.4`.
    Num(f64, u32),
    /// A value with exactly `dp` decimals and an explicit sign: `+6.42`, `-0.0712`.
    Sgn(f64, u32),
    /// A threshold, signed, with at least `min_dp` decimals and as many more as three
    /// significant digits need (see [`threshold_dp`]), trailing zeros trimmed: `+0.10`, `-0.05`,
    /// `+5`, and relative thresholds like `+0.0137` or `+1.963`.
    SThr(f64, u32),
    /// A threshold, unsigned unless negative, written like `SThr`: `65`, `2.5`, `69.98`.
    Thr(f64, u32),
    /// US dollars, compact: `$62.4M`, `$1.25B`, `$850K`.
    Usd(f64),
    /// Dollars when known, `n/a` when not.
    OptUsd(Option<f64>),
}

/// Typical messages are 120–230 bytes: one allocation, no regrowth.
const MESSAGE_CAPACITY: usize = 256;

/// Builds the signal and appends it. The one place a `Signal` is constructed by the rules.
pub(super) fn push(
    out: &mut Vec<Signal>,
    id: SignalId,
    level: Level,
    bias: Bias,
    title: &'static str,
    parts: &[Part],
) {
    let mut message = String::with_capacity(MESSAGE_CAPACITY);
    for part in parts {
        write_part(&mut message, *part);
    }
    out.push(Signal {
        id,
        level,
        bias,
        title: title.to_owned(),
        message,
        threshold: None,
        record: None,
        no_record: None,
    });
}

fn write_part(buf: &mut String, part: Part) {
    match part {
        Part::T(s) => buf.push_str(s),
        Part::Num(v, dp) => fixed(buf, v, dp, dp, false),
        Part::Sgn(v, dp) => fixed(buf, v, dp, dp, true),
        Part::SThr(v, min_dp) => fixed(buf, v, min_dp, threshold_dp(v, min_dp), true),
        Part::Thr(v, min_dp) => fixed(buf, v, min_dp, threshold_dp(v, min_dp), false),
        Part::Usd(v) => usd(buf, v),
        Part::OptUsd(Some(v)) => usd(buf, v),
        Part::OptUsd(None) => buf.push_str("n/a"),
    }
}

/// The most decimals a threshold is written with.
const MAX_DP: u32 = 6;

/// Decimals for a threshold: enough for three significant digits (relative thresholds are
/// percentiles of the symbol's own history, so a funding threshold of 0.0137 % must not read
/// 0.01 %), at most two decimals from 10 up and three from 1 up, never fewer than `min_dp`.
fn threshold_dp(v: f64, min_dp: u32) -> u32 {
    let a = v.abs();
    let dp = if !a.is_finite() || a == 0.0 || a >= 10.0 {
        2
    } else if a >= 1.0 {
        3
    } else {
        // 0.0137: log10 = −1.86, floor −2 → 4 decimals.
        (2.0 - a.log10().floor()).clamp(0.0, f64::from(MAX_DP)) as u32
    };
    dp.max(min_dp)
}

/// Writes `v` rounded to `max_dp` decimals, then drops trailing zeros down to `min_dp`.
fn fixed(buf: &mut String, v: f64, min_dp: u32, max_dp: u32, signed: bool) {
    let max_dp = max_dp.min(9);
    let scale = 10u64.pow(max_dp);
    let scaled = (v.abs() * scale as f64).round();
    // Non-finite or beyond u64 precision: rare enough to leave to core's formatter.
    if !scaled.is_finite() || scaled >= 1e18 {
        if signed && v > 0.0 {
            buf.push('+');
        }
        let _ = write!(buf, "{v:.prec$}", prec = min_dp as usize);
        return;
    }
    let mut n = scaled as u64;
    let mut dp = max_dp;
    while dp > min_dp && n % 10 == 0 {
        n /= 10;
        dp -= 1;
    }
    if n != 0 {
        if v < 0.0 {
            buf.push('-');
        } else if signed {
            buf.push('+');
        }
    }
    let unit = 10u64.pow(dp);
    digits(buf, n / unit, 1);
    if dp > 0 {
        buf.push('.');
        digits(buf, n % unit, dp as usize);
    }
}

/// Writes `n` in decimal, left-padded with zeros to at least `width` digits.
fn digits(buf: &mut String, mut n: u64, width: usize) {
    let mut tmp = [b'0'; 20];
    let mut i = tmp.len();
    while n > 0 || tmp.len() - i < width {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if i == 0 {
            break;
        }
    }
    for &b in &tmp[i..] {
        buf.push(char::from(b));
    }
}

fn usd(buf: &mut String, v: f64) {
    let a = v.abs();
    let (scaled, dp, suffix) = if a >= 1e9 {
        (v / 1e9, 2, "B")
    } else if a >= 1e6 {
        (v / 1e6, 1, "M")
    } else if a >= 1e3 {
        (v / 1e3, 0, "K")
    } else {
        (v, 0, "")
    };
    if v < 0.0 {
        buf.push('-');
    }
    buf.push('$');
    fixed(buf, scaled.abs(), 0, dp, false);
    buf.push_str(suffix);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(part: Part) -> String {
        let mut s = String::new();
        write_part(&mut s, part);
        s
    }

    #[test]
    fn formats_numbers_like_the_messages_quote_them() {
        let cases: &[(Part, &str)] = &[
            (Part::Sgn(0.1375, 4), "+0.1375"),
            (Part::Sgn(-0.07126, 4), "-0.0713"),
            (Part::Sgn(0.0, 2), "0.00"),
            (Part::Sgn(6.4249, 2), "+6.42"),
            (Part::Num(68.44, 1), "68.4"),
            (Part::Num(100.0, 1), "100.0"),
            (Part::Num(-3.05, 1), "-3.1"),
            (Part::Num(0.04, 1), "0.0"),
            (Part::SThr(0.10, 2), "+0.10"),
            (Part::SThr(-0.05, 2), "-0.05"),
            (Part::SThr(0.075, 2), "+0.075"),
            (Part::SThr(5.0, 0), "+5"),
            (Part::Thr(2.5, 0), "2.5"),
            (Part::Thr(65.0, 0), "65"),
            // Relative thresholds keep three significant digits.
            (Part::SThr(0.013746, 2), "+0.0137"),
            (Part::Thr(0.013746, 2), "0.0137"),
            (Part::SThr(-0.0123, 2), "-0.0123"),
            (Part::Thr(0.000137, 2), "0.000137"),
            (Part::SThr(1.96332, 0), "+1.963"),
            (Part::Thr(69.97697, 0), "69.98"),
            (Part::Thr(0.5, 0), "0.5"),
            (Part::Thr(0.0, 2), "0.00"),
            (Part::Usd(85_234_000.0), "$85.2M"),
            (Part::Usd(50_000_000.0), "$50M"),
            (Part::Usd(1_250_000_000.0), "$1.25B"),
            (Part::Usd(850_400.0), "$850K"),
            (Part::Usd(12.0), "$12"),
            (Part::OptUsd(None), "n/a"),
            (Part::OptUsd(Some(6_100_000.0)), "$6.1M"),
            (Part::Num(1e30, 1), "1000000000000000019884624838656.0"),
            (Part::Sgn(f64::INFINITY, 2), "+inf"),
        ];
        for (part, want) in cases {
            assert_eq!(render(*part), *want, "{part:?}");
        }
    }

    #[test]
    fn builds_one_signal_per_push() {
        let mut out = Vec::new();
        push(
            &mut out,
            SignalId::OiSurge,
            Level::High,
            Bias::Neutral,
            "Open interest surge",
            &[Part::T("OI "), Part::Sgn(6.5, 2), Part::T("%")],
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].title, "Open interest surge");
        assert_eq!(out[0].message, "OI +6.50%");
        assert_eq!(out[0].level, Level::High);
    }
}
