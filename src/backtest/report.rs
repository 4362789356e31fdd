//! The backtest's output: a table on stdout, or `--json` / `--csv`.
//!
//! Every rule is listed, in [`crate::signals::SignalId::ALL`] order, with 0 onsets when it never
//! fired (its bias then unknown: `-` in the table, JSON `null`, an empty CSV cell). Columns (table,
//! JSON `signals[]` and CSV alike):
//!
//! | column | meaning |
//! |---|---|
//! | `signal` (`id` in JSON) | signal id (signals.md) |
//! | `bias` | bullish / bearish / neutral, or mixed when its firings differed |
//! | `fired` | onsets: bars where it is active and was not the bar before (which must be in the data) |
//! | `scored` | onsets with a complete horizon after them |
//! | `hits` | scored onsets where price moved at least `--move` % in the bias direction (either for neutral) within the horizon, from the next bar's open |
//! | `hit_rate_pct` | hits / scored × 100 |
//! | `base_rate_pct` | the same move over all bars, whatever fired (for the signal's bias) |
//! | `median_return_pct` | median raw price return at the horizon (not bias-adjusted) |
//! | `worst_adverse_pct` | worst move against the bias within the horizon (≤ 0); empty for neutral |
//! | `either_hit_pct` | scored onsets followed by a `--move` % move in either direction, × 100; compare with the base rate `either` |
//!
//! The header (table) and the top-level JSON keys say the threshold mode and window. Empty CSV
//! cells and JSON `null` mean "no value" (e.g. nothing scored), never 0.

use super::fetch::Loaded;
use super::replay::{ReplayResult, Setup, SignalScore};
use super::{human_ms, ms_time};
use crate::signals::relative::ThresholdMode;
use serde_json::json;
use std::fmt::Write as _;

pub const CSV_HEADER: &str = "signal,bias,fired,scored,hits,hit_rate_pct,base_rate_pct,median_return_pct,worst_adverse_pct,either_hit_pct";

pub struct Report<'a> {
    symbol: &'a str,
    loaded: &'a Loaded,
    setup: &'a Setup,
    result: &'a ReplayResult,
}

fn pct(v: Option<f64>) -> Option<f64> {
    v.map(|f| f * 100.0)
}

fn cell(v: Option<f64>, width: usize) -> String {
    match v {
        Some(x) => format!("{x:>width$.2}"),
        None => format!("{:>width$}", "n/a"),
    }
}

fn csv_num(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.4}")).unwrap_or_default()
}

impl<'a> Report<'a> {
    pub fn new(
        symbol: &'a str,
        loaded: &'a Loaded,
        setup: &'a Setup,
        result: &'a ReplayResult,
    ) -> Self {
        Report {
            symbol,
            loaded,
            setup,
            result,
        }
    }

    fn span(&self) -> (Option<String>, Option<String>) {
        let b = &self.loaded.bars;
        let fmt = |ms: Option<i64>| ms.and_then(ms_time).map(|t| t.to_rfc3339());
        (
            fmt(b.first().map(|x| x.time_ms)),
            fmt(b.last().map(|x| x.time_ms)),
        )
    }

    /// What the reader should know besides the numbers: the loader's notes, then a horizon
    /// that was rounded to whole bars.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = self.loaded.notes.clone();
        notes.extend(self.setup.horizon_note());
        notes
    }

    /// Every rule, 0 onsets included.
    fn rows(&self) -> Vec<SignalScore> {
        self.result.every_rule()
    }

    pub fn table(&self) -> String {
        let r = self.result;
        let (from, to) = self.span();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "perpwatch backtest · {} · {} bars · {} bars from {} to {}",
            self.symbol,
            self.loaded.interval,
            r.bars,
            from.as_deref().unwrap_or("-"),
            to.as_deref().unwrap_or("-"),
        );
        let _ = writeln!(out, "bars from: {}", self.loaded.source.describe());
        let _ = writeln!(out, "thresholds: {}", self.setup.thresholds_label());
        let _ = writeln!(
            out,
            "hit = price moves {}% in the signal's direction (either way for neutral) within {} ({} bars), entering at the next bar's open",
            self.setup.move_pct,
            human_ms(self.setup.horizon_ms()),
            self.setup.horizon_bars
        );
        let _ = writeln!(
            out,
            "either % = onsets followed by a {}% move either way: well above the base \"either\" \
             rate while hit % is near its base, a directional rule marks volatility, not direction",
            self.setup.move_pct
        );
        let b = &r.base;
        let _ = writeln!(
            out,
            "base rates over all {} scored bars: up {}%  down {}%  either {}%",
            b.scored_bars,
            cell(pct(b.up), 0).trim(),
            cell(pct(b.down), 0).trim(),
            cell(pct(b.either), 0).trim(),
        );
        if !r.never_observed.is_empty() {
            let _ = writeln!(
                out,
                "never observed at this interval/data (rules needing them cannot fire): {}",
                r.never_observed.join(", ")
            );
        }
        for note in self.notes() {
            let _ = writeln!(out, "note: {note}");
        }
        let _ = writeln!(out);
        if r.signals.is_empty() {
            let _ = writeln!(out, "no signal fired (every rule is listed with 0 onsets)");
        }
        let _ = writeln!(
            out,
            "{:<26} {:<8} {:>6} {:>6} {:>6} {:>8} {:>8} {:>9} {:>12} {:>9}",
            "signal",
            "bias",
            "fired",
            "scored",
            "hits",
            "hit %",
            "base %",
            "median %",
            "worst adv %",
            "either %"
        );
        for s in self.rows() {
            let _ = writeln!(
                out,
                "{:<26} {:<8} {:>6} {:>6} {:>6} {} {} {} {} {}",
                s.id.as_str(),
                if s.fired == 0 { "-" } else { s.bias.as_str() },
                s.fired,
                s.scored,
                s.hits,
                cell(s.hit_rate_pct, 8),
                cell(s.base_rate_pct, 8),
                cell(s.median_return_pct, 9),
                cell(s.worst_adverse_pct, 12),
                cell(s.either_hit_pct, 9),
            );
        }
        out
    }

    pub fn json(&self) -> String {
        let r = self.result;
        let (from, to) = self.span();
        let requests = match self.loaded.source {
            super::fetch::BarSource::CoinGlass { requests } => Some(requests),
            _ => None,
        };
        let signals: Vec<_> = self
            .rows()
            .iter()
            .map(|s| {
                json!({
                    "id": s.id,
                    "bias": (s.fired > 0).then_some(s.bias.as_str()),
                    "fired": s.fired,
                    "scored": s.scored,
                    "hits": s.hits,
                    "hit_rate_pct": s.hit_rate_pct,
                    "base_rate_pct": s.base_rate_pct,
                    "median_return_pct": s.median_return_pct,
                    "worst_adverse_pct": s.worst_adverse_pct,
                    "either_hit_pct": s.either_hit_pct,
                })
            })
            .collect();
        let relative = self.setup.mode() == ThresholdMode::Relative;
        let settings = &self.setup.relative;
        let v = json!({
            "symbol": self.symbol,
            "interval": self.loaded.interval,
            "source": self.loaded.source.kind(),
            "source_detail": self.loaded.source.describe(),
            "requests": requests,
            "bars": r.bars,
            "from": from,
            "to": to,
            "threshold_mode": self.setup.mode(),
            "threshold_window": relative.then(|| settings.window_label()),
            "threshold_min_bars": relative.then(|| settings.min_samples()),
            "horizon": human_ms(self.setup.horizon_ms()),
            "horizon_bars": self.setup.horizon_bars,
            "move_pct": self.setup.move_pct,
            "base_rate": {
                "scored_bars": r.base.scored_bars,
                "up_pct": pct(r.base.up),
                "down_pct": pct(r.base.down),
                "either_pct": pct(r.base.either),
            },
            "never_observed": r.never_observed,
            "notes": self.notes(),
            "signals": signals,
        });
        let mut s =
            serde_json::to_string_pretty(&v).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
        s.push('\n');
        s
    }

    pub fn csv(&self) -> String {
        let mut out = String::from(CSV_HEADER);
        out.push('\n');
        for s in self.rows() {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{}",
                s.id.as_str(),
                s.bias,
                s.fired,
                s.scored,
                s.hits,
                csv_num(s.hit_rate_pct),
                csv_num(s.base_rate_pct),
                csv_num(s.median_return_pct),
                csv_num(s.worst_adverse_pct),
                csv_num(s.either_hit_pct),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::fetch::{demo_bars, BarSource};
    use crate::backtest::HOUR_MS;
    use crate::signals::relative::RelativeSettings;
    use crate::signals::{SignalId, Thresholds};

    /// 200 demo bars of `iv` (1h or 4h), a 4h horizon, a 2 % move.
    fn demo_report(
        mode: ThresholdMode,
        iv: i64,
        f: impl Fn(&Report<'_>) -> String,
    ) -> (String, ReplayResult) {
        let start = 1_700_000_000_000 - 1_700_000_000_000 % (4 * HOUR_MS);
        let bars = demo_bars("BTC", iv, start, start + 200 * iv);
        let loaded = Loaded {
            bars,
            interval: crate::backtest::human_ms(iv),
            interval_ms: iv,
            source: BarSource::Demo,
            notes: vec![],
        };
        let setup = Setup::new(
            iv,
            std::time::Duration::from_secs(4 * 3600),
            2.0,
            Thresholds::default(),
        )
        .expect("setup")
        .with_relative(RelativeSettings {
            mode,
            ..RelativeSettings::default()
        });
        let result = crate::backtest::replay::replay(&loaded.bars, &setup);
        let text = f(&Report::new("BTC", &loaded, &setup, &result));
        (text, result)
    }

    #[test]
    fn json_has_the_documented_shape() {
        let (text, result) = demo_report(ThresholdMode::Static, 4 * HOUR_MS, |r| r.json());
        let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(v["symbol"], "BTC");
        assert_eq!(v["source"], "demo");
        assert_eq!(v["interval"], "4h");
        assert_eq!(v["horizon"], "4h");
        assert_eq!(v["bars"], 200);
        assert!(v["requests"].is_null());
        assert_eq!(v["threshold_mode"], "static");
        assert!(v["threshold_window"].is_null() && v["threshold_min_bars"].is_null());
        for key in ["scored_bars", "up_pct", "down_pct", "either_pct"] {
            assert!(v["base_rate"].get(key).is_some(), "{key}");
        }
        let signals = v["signals"].as_array().expect("array");
        // Every rule, in SignalId::ALL order, fired or not.
        let ids: Vec<&str> = signals.iter().filter_map(|s| s["id"].as_str()).collect();
        let all: Vec<&str> = SignalId::ALL.iter().map(|id| id.as_str()).collect();
        assert_eq!(ids, all);
        assert!(!result.signals.is_empty());
        // On 4h bars the 1h inputs are never observed: their rules are listed with 0 onsets.
        assert!(result.signals.len() < all.len(), "some rules stay silent");
        for s in signals {
            for key in CSV_HEADER
                .split(',')
                .map(|k| if k == "signal" { "id" } else { k })
            {
                assert!(s.get(key).is_some(), "{key} in {s}");
            }
            if s["fired"] == 0 {
                // Never fired: 0 onsets, and no bias or rate invented.
                assert!(s["bias"].is_null(), "{s}");
                assert!(s["hit_rate_pct"].is_null() && s["either_hit_pct"].is_null());
            } else {
                assert!(s["bias"].is_string(), "{s}");
            }
        }
    }

    #[test]
    fn json_names_the_relative_window() {
        let (text, _) = demo_report(ThresholdMode::Relative, HOUR_MS, |r| r.json());
        let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(v["threshold_mode"], "relative");
        assert_eq!(v["threshold_window"], "30d");
        assert_eq!(v["threshold_min_bars"], 168, "7 days of 1h bars");
    }

    #[test]
    fn csv_has_a_header_and_one_row_per_rule() {
        let (text, result) = demo_report(ThresholdMode::Static, 4 * HOUR_MS, |r| r.csv());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], CSV_HEADER);
        assert_eq!(lines.len(), 1 + SignalId::ALL.len());
        for (line, s) in lines[1..].iter().zip(result.every_rule()) {
            let cells: Vec<&str> = line.split(',').collect();
            assert_eq!(cells.len(), 10, "{line}");
            assert_eq!(cells[0], s.id.as_str());
            assert_eq!(cells[2], s.fired.to_string());
            assert_eq!(cells[9], csv_num(s.either_hit_pct), "{line}");
            // Neutral signals have no adverse side: an empty cell, not 0.
            if s.bias == "neutral" {
                assert_eq!(cells[8], "", "{line}");
            }
            if s.fired == 0 {
                assert_eq!(
                    &cells[1..],
                    ["", "0", "0", "0", "", "", "", "", ""],
                    "{line}"
                );
            }
        }
    }

    #[test]
    fn either_hits_include_the_directional_hits() {
        let (_, result) = demo_report(ThresholdMode::Static, HOUR_MS, |r| r.csv());
        let mut directional = 0;
        for s in result.signals.iter().filter(|s| s.scored > 0) {
            assert!(s.either_hits >= s.hits, "{s:?}");
            if s.bias == "neutral" {
                assert_eq!(s.either_hits, s.hits, "{s:?}");
            } else {
                directional += 1;
            }
        }
        assert!(directional > 0, "the demo scores directional signals");
    }

    #[test]
    fn table_states_the_thresholds_and_lists_every_rule() {
        for (mode, says) in [
            (ThresholdMode::Static, "thresholds: static"),
            (
                ThresholdMode::Relative,
                "thresholds: relative: each bar's from the percentiles of the 30d of bars \
                 strictly before it",
            ),
        ] {
            let (text, result) = demo_report(mode, 4 * HOUR_MS, |r| r.table());
            assert!(text.contains("bars from: the demo market"), "{text}");
            assert!(text.contains(says), "{text}");
            assert!(text.contains("either %"), "{text}");
            for s in result.every_rule() {
                let rows: Vec<&str> = text
                    .lines()
                    .filter(|l| l.starts_with(&format!("{} ", s.id.as_str())))
                    .collect();
                assert_eq!(rows.len(), 1, "{text}");
                if s.fired == 0 {
                    let cells: Vec<&str> = rows[0].split_whitespace().collect();
                    assert_eq!(cells[1..5], ["-", "0", "0", "0"], "{}", rows[0]);
                }
            }
        }
    }

    #[test]
    fn a_rounded_horizon_is_a_note() {
        // 4h30m is not a whole number of 1h bars.
        let start = 1_700_000_000_000 - 1_700_000_000_000 % HOUR_MS;
        let loaded = Loaded {
            bars: demo_bars("BTC", HOUR_MS, start, start + 50 * HOUR_MS),
            interval: "1h".into(),
            interval_ms: HOUR_MS,
            source: BarSource::Demo,
            notes: vec!["loader note".into()],
        };
        let setup = Setup::new(
            HOUR_MS,
            std::time::Duration::from_secs(4 * 3600 + 1800),
            2.0,
            Thresholds::default(),
        )
        .expect("setup");
        let result = crate::backtest::replay::replay(&loaded.bars, &setup);
        let report = Report::new("BTC", &loaded, &setup, &result);
        let want = "--horizon 4h30m is not a whole number of 1h bars: rounded down to 4h (4 bars)";
        assert_eq!(report.notes(), ["loader note", want]);
        assert!(report.table().contains(&format!("note: {want}")));
        let v: serde_json::Value = serde_json::from_str(&report.json()).expect("JSON");
        assert_eq!(v["notes"][1], want);
        assert_eq!(v["horizon"], "4h");
    }
}
