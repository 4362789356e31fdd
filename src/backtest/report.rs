//! The backtest's output: a table on stdout, or `--json` / `--csv`.
//!
//! Columns (table, JSON `signals[]` and CSV alike):
//!
//! | column | meaning |
//! |---|---|
//! | `signal` (`id` in JSON) | signal id (signals.md) |
//! | `bias` | bullish / bearish / neutral, or mixed when its firings differed |
//! | `fired` | onsets: bars where it is active and was not the bar before |
//! | `scored` | onsets with a complete horizon after them |
//! | `hits` | scored onsets where price moved at least `--move` % in the bias direction (either for neutral) within the horizon, from the next bar's open |
//! | `hit_rate_pct` | hits / scored × 100 |
//! | `base_rate_pct` | the same move over all bars, whatever fired (for the signal's bias) |
//! | `median_return_pct` | median raw price return at the horizon (not bias-adjusted) |
//! | `worst_adverse_pct` | worst move against the bias within the horizon (≤ 0); empty for neutral |
//!
//! Empty CSV cells and JSON `null` mean "no value" (e.g. nothing scored), never 0.

use super::fetch::Loaded;
use super::replay::{ReplayResult, Setup};
use super::{human_ms, ms_time};
use serde_json::json;
use std::fmt::Write as _;

pub const CSV_HEADER: &str =
    "signal,bias,fired,scored,hits,hit_rate_pct,base_rate_pct,median_return_pct,worst_adverse_pct";

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
        let _ = writeln!(
            out,
            "hit = price moves {}% in the signal's direction (either way for neutral) within {} ({} bars), entering at the next bar's open",
            self.setup.move_pct,
            human_ms(self.setup.horizon_ms()),
            self.setup.horizon_bars
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
        for note in &self.loaded.notes {
            let _ = writeln!(out, "note: {note}");
        }
        let _ = writeln!(out);
        if r.signals.is_empty() {
            let _ = writeln!(out, "no signal fired");
            return out;
        }
        let _ = writeln!(
            out,
            "{:<26} {:<8} {:>6} {:>6} {:>6} {:>8} {:>8} {:>9} {:>12}",
            "signal",
            "bias",
            "fired",
            "scored",
            "hits",
            "hit %",
            "base %",
            "median %",
            "worst adv %"
        );
        for s in &r.signals {
            let _ = writeln!(
                out,
                "{:<26} {:<8} {:>6} {:>6} {:>6} {} {} {} {}",
                s.id.as_str(),
                s.bias,
                s.fired,
                s.scored,
                s.hits,
                cell(s.hit_rate_pct, 8),
                cell(s.base_rate_pct, 8),
                cell(s.median_return_pct, 9),
                cell(s.worst_adverse_pct, 12),
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
        let signals: Vec<_> = r
            .signals
            .iter()
            .map(|s| {
                json!({
                    "id": s.id,
                    "bias": s.bias,
                    "fired": s.fired,
                    "scored": s.scored,
                    "hits": s.hits,
                    "hit_rate_pct": s.hit_rate_pct,
                    "base_rate_pct": s.base_rate_pct,
                    "median_return_pct": s.median_return_pct,
                    "worst_adverse_pct": s.worst_adverse_pct,
                })
            })
            .collect();
        let v = json!({
            "symbol": self.symbol,
            "interval": self.loaded.interval,
            "source": self.loaded.source.kind(),
            "source_detail": self.loaded.source.describe(),
            "requests": requests,
            "bars": r.bars,
            "from": from,
            "to": to,
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
            "notes": self.loaded.notes,
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
        for s in &self.result.signals {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{},{}",
                s.id.as_str(),
                s.bias,
                s.fired,
                s.scored,
                s.hits,
                csv_num(s.hit_rate_pct),
                csv_num(s.base_rate_pct),
                csv_num(s.median_return_pct),
                csv_num(s.worst_adverse_pct),
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
    use crate::signals::Thresholds;

    fn demo_report(f: impl Fn(&Report<'_>) -> String) -> (String, ReplayResult) {
        let start = 1_700_000_000_000 - 1_700_000_000_000 % HOUR_MS;
        let bars = demo_bars("BTC", HOUR_MS, start, start + 200 * HOUR_MS);
        let loaded = Loaded {
            bars,
            interval: "1h".into(),
            interval_ms: HOUR_MS,
            source: BarSource::Demo,
            notes: vec![],
        };
        let setup = Setup::new(
            HOUR_MS,
            std::time::Duration::from_secs(4 * 3600),
            2.0,
            Thresholds::default(),
        )
        .expect("setup");
        let result = crate::backtest::replay::replay(&loaded.bars, &setup);
        let text = f(&Report::new("BTC", &loaded, &setup, &result));
        (text, result)
    }

    #[test]
    fn json_has_the_documented_shape() {
        let (text, result) = demo_report(|r| r.json());
        let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(v["symbol"], "BTC");
        assert_eq!(v["source"], "demo");
        assert_eq!(v["interval"], "1h");
        assert_eq!(v["horizon"], "4h");
        assert_eq!(v["bars"], 200);
        assert!(v["requests"].is_null());
        for key in ["scored_bars", "up_pct", "down_pct", "either_pct"] {
            assert!(v["base_rate"].get(key).is_some(), "{key}");
        }
        let signals = v["signals"].as_array().expect("array");
        assert!(!signals.is_empty());
        assert_eq!(signals.len(), result.signals.len());
        for s in signals {
            for key in CSV_HEADER
                .split(',')
                .map(|k| if k == "signal" { "id" } else { k })
            {
                assert!(s.get(key).is_some(), "{key} in {s}");
            }
        }
    }

    #[test]
    fn csv_has_a_header_and_one_row_per_fired_signal() {
        let (text, result) = demo_report(|r| r.csv());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], CSV_HEADER);
        assert_eq!(lines.len(), 1 + result.signals.len());
        for (line, s) in lines[1..].iter().zip(&result.signals) {
            let cells: Vec<&str> = line.split(',').collect();
            assert_eq!(cells.len(), 9, "{line}");
            assert_eq!(cells[0], s.id.as_str());
            assert_eq!(cells[2], s.fired.to_string());
            // Neutral signals have no adverse side: an empty cell, not 0.
            if s.bias == "neutral" {
                assert_eq!(cells[8], "", "{line}");
            }
        }
    }

    #[test]
    fn table_names_the_source_and_lists_each_fired_signal() {
        let (text, result) = demo_report(|r| r.table());
        assert!(text.contains("bars from: the demo market"), "{text}");
        for s in &result.signals {
            assert_eq!(
                text.lines()
                    .filter(|l| l.starts_with(&format!("{} ", s.id.as_str())))
                    .count(),
                1,
                "{text}"
            );
        }
    }
}
