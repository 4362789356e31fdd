//! Number and time formatting shared by the headless printer and the dashboard.
//!
//! Fixed decimals everywhere, so right-aligned columns do not jitter between polls.

/// `$57.4B`, `$42.1M`, `$8.3K`, `$12`, or `n/a`.
pub(crate) fn usd(v: Option<f64>) -> String {
    let Some(v) = v.filter(|v| v.is_finite()) else {
        return "n/a".to_string();
    };
    let a = v.abs();
    let sign = if v < 0.0 { "-" } else { "" };
    if a >= 1e9 {
        format!("{sign}${:.1}B", a / 1e9)
    } else if a >= 1e6 {
        format!("{sign}${:.1}M", a / 1e6)
    } else if a >= 1e3 {
        format!("{sign}${:.1}K", a / 1e3)
    } else {
        format!("{sign}${a:.0}")
    }
}

/// A liquidation sum: [`usd`], prefixed `≥` when it is a lower bound (sampled streams):
/// `≥$42.1M`. Absent stays `n/a`.
pub(crate) fn liq_usd(v: Option<f64>, lower_bound: bool) -> String {
    match v.filter(|v| v.is_finite()) {
        Some(_) if lower_bound => format!("≥{}", usd(v)),
        _ => usd(v),
    }
}

/// `incomplete 2m` when `uncovered_s` seconds of the hour had no liquidation stream up.
pub(crate) fn liq_incomplete(uncovered_s: Option<u32>) -> Option<String> {
    uncovered_s
        .filter(|s| *s > 0)
        .map(|s| format!("incomplete {}", age(i64::from(s))))
}

/// A signed percent with fixed decimals: `+0.1375%`, `-1.40%`, `+0.0%` (never `-0.0%`).
pub(crate) fn signed_pct(v: f64, decimals: usize) -> String {
    // Rounds first so that a tiny negative value does not print as "-0.00%".
    let scale = 10f64.powi(decimals.min(12) as i32);
    let rounded = (v * scale).round() / scale;
    let rounded = if rounded == 0.0 { 0.0 } else { rounded };
    format!("{rounded:+.decimals$}%")
}

/// An unsigned share with fixed decimals: `70.0%`.
pub(crate) fn share_pct(v: f64, decimals: usize) -> String {
    format!("{v:.decimals$}%")
}

/// A signed percent (see [`signed_pct`]), or `n/a` when absent.
pub(crate) fn signed_pct_or_na(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "n/a".to_string(), |v| signed_pct(v, decimals))
}

/// A share with one decimal (see [`share_pct`]), or `n/a` when absent.
pub(crate) fn share_pct_or_na(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_string(), |v| share_pct(v, 1))
}

/// A price with the precision its size needs: `$97,000.00`, `$3.4512`, `$0.0000123400`.
pub(crate) fn price(v: f64) -> String {
    let a = v.abs();
    let sign = if v < 0.0 { "-" } else { "" };
    if a >= 1000.0 {
        let cents = (a * 100.0).round() as u128;
        let (whole, frac) = (cents / 100, cents % 100);
        let digits = whole.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        format!("{sign}${grouped}.{frac:02}")
    } else if a >= 100.0 {
        format!("{sign}${a:.2}")
    } else if a >= 1.0 {
        format!("{sign}${a:.4}")
    } else if a > 0.0 {
        // Six significant digits.
        let decimals = (5 - a.log10().floor() as i32).clamp(0, 12) as usize;
        format!("{sign}${a:.decimals$}")
    } else {
        "$0".to_string()
    }
}

/// Hours and minutes, for countdowns to funding: `2h13m`, `0h28m`; `due` at or below zero.
pub(crate) fn hours_minutes(secs: i64) -> String {
    if secs <= 0 {
        return "due".to_string();
    }
    let mins = (secs + 59) / 60;
    format!("{}h{:02}m", mins / 60, mins % 60)
}

/// A short countdown, for the next poll: `42s`, `3m05s`, `1h02m`; `now` at or below zero.
pub(crate) fn countdown(secs: i64) -> String {
    match secs {
        s if s <= 0 => "now".to_string(),
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// How old something is, coarsely: `45s`, `4m`, `2h`, `3d`.
pub(crate) fn age(secs: i64) -> String {
    let s = secs.max(0);
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m", s / 60)
    } else if s < 86_400 {
        format!("{}h", s / 3600)
    } else {
        format!("{}d", s / 86_400)
    }
}

/// A funding interval in hours as the table shows it: `8h`, `1h`, `0.5h`, `?` when unknown.
pub(crate) fn interval_hours(h: Option<f64>) -> String {
    match h {
        Some(h) if h.is_finite() && h > 0.0 && h.fract() == 0.0 => format!("{h:.0}h"),
        Some(h) if h.is_finite() && h > 0.0 => format!("{h:.1}h"),
        _ => "?".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liquidation_sums_say_when_they_are_a_lower_bound_or_incomplete() {
        assert_eq!(liq_usd(Some(42.1e6), true), "≥$42.1M");
        assert_eq!(liq_usd(Some(42.1e6), false), "$42.1M");
        assert_eq!(liq_usd(None, true), "n/a", "absent is never a bound");
        assert_eq!(liq_incomplete(Some(130)).as_deref(), Some("incomplete 2m"));
        assert_eq!(liq_incomplete(Some(0)), None);
        assert_eq!(liq_incomplete(None), None);
    }

    #[test]
    fn usd_uses_human_units() {
        assert_eq!(usd(Some(57.4e9)), "$57.4B");
        assert_eq!(usd(Some(42.1e6)), "$42.1M");
        assert_eq!(usd(Some(8_300.0)), "$8.3K");
        assert_eq!(usd(Some(12.0)), "$12");
        assert_eq!(usd(Some(-2.5e6)), "-$2.5M");
        assert_eq!(usd(None), "n/a");
        assert_eq!(usd(Some(f64::NAN)), "n/a");
    }

    #[test]
    fn percents_have_fixed_decimals_and_no_negative_zero() {
        assert_eq!(signed_pct(0.1375, 4), "+0.1375%");
        assert_eq!(signed_pct(-0.08, 4), "-0.0800%");
        assert_eq!(signed_pct(7.0, 1), "+7.0%");
        assert_eq!(signed_pct(-0.0001, 1), "+0.0%");
        assert_eq!(share_pct(70.0, 1), "70.0%");
    }

    #[test]
    fn durations_and_ages() {
        assert_eq!(hours_minutes(2 * 3600 + 13 * 60), "2h13m");
        assert_eq!(hours_minutes(28 * 60 - 10), "0h28m");
        assert_eq!(hours_minutes(0), "due");
        assert_eq!(countdown(42), "42s");
        assert_eq!(countdown(185), "3m05s");
        assert_eq!(countdown(3720), "1h02m");
        assert_eq!(countdown(-3), "now");
        assert_eq!(age(45), "45s");
        assert_eq!(age(240), "4m");
        assert_eq!(age(7200), "2h");
        assert_eq!(age(3 * 86_400), "3d");
        assert_eq!(age(-5), "0s");
        assert_eq!(interval_hours(Some(8.0)), "8h");
        assert_eq!(interval_hours(Some(0.5)), "0.5h");
        assert_eq!(interval_hours(None), "?");
    }

    #[test]
    fn prices_keep_the_precision_their_size_needs() {
        assert_eq!(price(97_000.0), "$97,000.00");
        assert_eq!(price(1_234_567.891), "$1,234,567.89");
        assert_eq!(price(1000.0), "$1,000.00");
        assert_eq!(price(245.5), "$245.50");
        assert_eq!(price(3.45123), "$3.4512");
        assert_eq!(price(0.5), "$0.500000");
        assert_eq!(price(0.0000123456), "$0.0000123456");
        assert_eq!(price(0.0), "$0");
    }
}
