//! Thresholds: `[thresholds]` and `[symbol.<COIN>.thresholds]` overlaid on the defaults.

use super::error::{cut, quoted, ConfigError, Origin};
use super::keys::{SYMBOL, THRESHOLDS};
use super::layers::{FileLayer, Raw};
use super::parse::parse_symbol;
use super::Thresholds;
use std::collections::BTreeMap;
use std::path::Path;
use toml::{Table, Value};

/// Threshold keys that are shares of accounts or volume (or points between two shares).
const SHARE_KEYS: [&str; 9] = [
    "retail_extreme_long_pct",
    "retail_heavy_short_pct",
    "divergence_pts",
    "taker_buy_pressure_pct",
    "taker_sell_pressure_pct",
    "deleveraging_retail_low_pct",
    "deleveraging_retail_high_pct",
    "distribution_retail_long_pct",
    "accumulation_retail_short_pct",
];

fn threshold_table(th: &Thresholds) -> Table {
    // Thresholds is a flat struct of f64 fields: serializing it cannot fail.
    Table::try_from(th).unwrap_or_default()
}

/// Every `[thresholds]` key, from `Thresholds` itself.
pub(super) fn threshold_keys() -> Vec<String> {
    threshold_table(&Thresholds::default())
        .keys()
        .cloned()
        .collect()
}

/// The rule a single threshold must satisfy, and how to say it.
fn threshold_rule(name: &str) -> (fn(f64) -> bool, &'static str) {
    if SHARE_KEYS.contains(&name) {
        (
            |v| (0.0..=100.0).contains(&v),
            "a number from 0 to 100 (a share in percent)",
        )
    } else if name == "funding_extreme_short_pct" {
        (
            |v| v < 0.0,
            "a finite number below 0 (percent per 8 h, like -0.05)",
        )
    } else if name == "funding_extreme_long_pct" {
        (
            |v| v > 0.0,
            "a finite number above 0 (percent per 8 h, like 0.10)",
        )
    } else {
        (|v| v >= 0.0, "a finite number ≥ 0")
    }
}

/// One `[...thresholds]` table of the file.
#[derive(Debug, Clone, Copy)]
struct ThresholdLayer<'a> {
    /// `thresholds` or `symbol.<COIN>.thresholds`.
    prefix: &'a str,
    table: &'a Table,
}

/// Where a threshold's value came from: the last layer that sets it, else the defaults.
fn threshold_source(
    layers: &[ThresholdLayer<'_>],
    name: &str,
    value: f64,
    path: &Path,
) -> (String, String, Origin, usize) {
    for (i, layer) in layers.iter().enumerate().rev() {
        if let Some(v) = layer.table.get(name) {
            return (
                format!("{}.{name}", layer.prefix),
                v.to_string(),
                Origin::File(path.to_path_buf()),
                i + 1,
            );
        }
    }
    (
        format!("{THRESHOLDS}.{name}"),
        value.to_string(),
        Origin::Default,
        0,
    )
}

/// Two thresholds that must be ordered, and what to say when they are not.
struct Order {
    low: &'static str,
    low_value: f64,
    high: &'static str,
    high_value: f64,
    holds: bool,
    /// Said when the low one is blamed.
    low_expected: String,
    /// Said when the high one is blamed.
    high_expected: String,
}

impl Order {
    /// `low <= high`.
    fn plain(low: &'static str, low_value: f64, high: &'static str, high_value: f64) -> Order {
        Order {
            low,
            low_value,
            high,
            high_value,
            holds: low_value <= high_value,
            low_expected: format!("at most {high} ({high_value})"),
            high_expected: format!("at least {low} ({low_value})"),
        }
    }
}

/// Defaults overlaid with `layers` in order, each value checked.
fn resolve_thresholds(
    layers: &[ThresholdLayer<'_>],
    path: &Path,
) -> Result<Thresholds, ConfigError> {
    let mut merged = threshold_table(&Thresholds::default());
    for layer in layers {
        for (name, value) in layer.table {
            let number = match value {
                Value::Float(f) => *f,
                Value::Integer(i) => *i as f64,
                _ => {
                    return Err(ConfigError::Invalid {
                        key: format!("{}.{name}", layer.prefix),
                        value: Raw::Toml(value.clone()).render(false),
                        origin: Origin::File(path.to_path_buf()),
                        expected: threshold_rule(name).1.to_string(),
                    })
                }
            };
            merged.insert(name.clone(), Value::Float(number));
        }
    }
    let invalid = |name: &str, value: f64, expected: String| {
        let (key, value, origin, _) = threshold_source(layers, name, value, path);
        ConfigError::Invalid {
            key,
            value,
            origin,
            expected,
        }
    };
    for (name, value) in &merged {
        let v = value.as_float().unwrap_or(f64::NAN);
        let (ok, expected) = threshold_rule(name);
        if !(v.is_finite() && ok(v)) {
            return Err(invalid(name, v, expected.to_string()));
        }
    }
    let th: Thresholds = merged.try_into().map_err(|e: toml::de::Error| {
        let prefix = layers.last().map_or(THRESHOLDS, |l| l.prefix);
        ConfigError::Invalid {
            key: prefix.to_string(),
            value: "(table)".to_string(),
            origin: Origin::File(path.to_path_buf()),
            expected: e.message().to_string(),
        }
    })?;

    // Pairs that must be ordered, or the lower level can never fire (an "elevated" band above
    // the "extreme" one, a "moving" band above the surge); blame the one set last (the low one
    // on a tie). Each names the other key and its value.
    let ordered = [
        Order::plain(
            "deleveraging_retail_low_pct",
            th.deleveraging_retail_low_pct,
            "deleveraging_retail_high_pct",
            th.deleveraging_retail_high_pct,
        ),
        Order::plain(
            "taker_sell_pressure_pct",
            th.taker_sell_pressure_pct,
            "taker_buy_pressure_pct",
            th.taker_buy_pressure_pct,
        ),
        Order::plain(
            "oi_moving_pct",
            th.oi_moving_pct,
            "oi_surge_pct",
            th.oi_surge_pct,
        ),
        Order::plain(
            "funding_elevated_pct",
            th.funding_elevated_pct,
            "funding_extreme_long_pct",
            th.funding_extreme_long_pct,
        ),
        // |funding| above elevated and not extreme: on the short side "extreme" is below
        // funding_extreme_short_pct, so elevated must not exceed its size.
        Order {
            low: "funding_elevated_pct",
            low_value: th.funding_elevated_pct,
            high: "funding_extreme_short_pct",
            high_value: th.funding_extreme_short_pct,
            holds: th.funding_elevated_pct <= -th.funding_extreme_short_pct,
            low_expected: format!(
                "at most the size of funding_extreme_short_pct ({}), or funding_elevated can never fire on the short side",
                th.funding_extreme_short_pct
            ),
            high_expected: format!(
                "at most {}, the negative of funding_elevated_pct ({}), or funding_elevated can never fire on the short side",
                -th.funding_elevated_pct, th.funding_elevated_pct
            ),
        },
    ];
    for o in ordered {
        if o.holds {
            continue;
        }
        let low_rank = threshold_source(layers, o.low, o.low_value, path).3;
        let high_rank = threshold_source(layers, o.high, o.high_value, path).3;
        return Err(if high_rank > low_rank {
            invalid(o.high, o.high_value, o.high_expected)
        } else {
            invalid(o.low, o.low_value, o.low_expected)
        });
    }
    Ok(th)
}

/// Global thresholds and every symbol's merged thresholds.
pub(super) fn resolve_all_thresholds(
    file: Option<&FileLayer>,
) -> Result<(Thresholds, BTreeMap<String, Thresholds>), ConfigError> {
    let Some(file) = file else {
        return Ok((Thresholds::default(), BTreeMap::new()));
    };
    let mut base: Vec<ThresholdLayer<'_>> = Vec::new();
    if let Some(table) = file.table.get(THRESHOLDS).and_then(Value::as_table) {
        base.push(ThresholdLayer {
            prefix: THRESHOLDS,
            table,
        });
    }
    let global = resolve_thresholds(&base, &file.path)?;

    let mut per_symbol = BTreeMap::new();
    let coins = file.table.get(SYMBOL).and_then(Value::as_table);
    for (coin, section) in coins.into_iter().flatten() {
        let symbol = parse_symbol(coin).map_err(|expected| ConfigError::Invalid {
            key: format!("{SYMBOL}.{}", cut(coin)),
            value: quoted(coin),
            origin: file.origin(),
            expected: format!("{expected} as the section name, like [symbol.DOGE.thresholds]"),
        })?;
        let Some(table) = section.get(THRESHOLDS).and_then(Value::as_table) else {
            continue;
        };
        let prefix = format!("{SYMBOL}.{coin}.{THRESHOLDS}");
        let mut layers = base.clone();
        layers.push(ThresholdLayer {
            prefix: &prefix,
            table,
        });
        let th = resolve_thresholds(&layers, &file.path)?;
        if per_symbol.insert(symbol.clone(), th).is_some() {
            return Err(ConfigError::Invalid {
                key: format!("{SYMBOL}.{coin}"),
                value: format!("{coin:?}"),
                origin: file.origin(),
                expected: format!("one section per coin ({symbol} appears twice)"),
            });
        }
    }
    Ok((global, per_symbol))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_support::{err, ok};

    #[test]
    fn config_per_symbol_override_merges_onto_global_thresholds() {
        let file = r#"
            symbols = ["BTC", "DOGE"]
            [thresholds]
            funding_extreme_long_pct = 0.2
            liq_elevated_usd = 20000000
            [symbol.doge.thresholds]
            liq_cascade_usd = 5000000
            liq_elevated_usd = 2500000.5
            [symbol.PEPE.thresholds]
            oi_surge_pct = 8
            [symbol.XRP]
        "#;
        let c = ok(&[], &[], Some(file));
        let global = Thresholds {
            funding_extreme_long_pct: 0.2,
            liq_elevated_usd: 20_000_000.0,
            ..Thresholds::default()
        };
        assert_eq!(c.thresholds, global);
        let doge = Thresholds {
            liq_cascade_usd: 5_000_000.0,
            liq_elevated_usd: 2_500_000.5,
            ..global
        };
        assert_eq!(c.thresholds_for("DOGE"), doge);
        assert_eq!(c.thresholds_for("doge"), doge, "lookup is case-insensitive");
        assert_eq!(c.thresholds_for("BTC"), global);
        assert_eq!(
            c.thresholds_for("XRP"),
            global,
            "a section without thresholds"
        );
        // A coin that is not watched may still have an override.
        assert_eq!(
            c.thresholds_for("PEPE"),
            Thresholds {
                oi_surge_pct: 8.0,
                ..global
            }
        );
        assert_eq!(
            c.symbol_thresholds.keys().collect::<Vec<_>>(),
            ["DOGE", "PEPE"]
        );
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn config_same_coin_twice_with_different_case_is_an_error() {
        let file = "[symbol.doge.thresholds]\noi_surge_pct = 8\n[symbol.DOGE.thresholds]\noi_surge_pct = 9";
        let message = err(&[], &[], Some(file));
        assert!(message.contains("DOGE appears twice"), "{message}");
    }

    /// A lower band above the one it sits under can never fire: an error naming both keys and
    /// values, blaming the one set last.
    #[test]
    fn config_ordered_thresholds_name_both_keys_and_values() {
        let cases: &[(&str, &[&str])] = &[
            (
                "[thresholds]\noi_moving_pct = 6",
                &[
                    "thresholds.oi_moving_pct = 6 in /etc/perpwatch/test.toml",
                    "at most oi_surge_pct (5)",
                ],
            ),
            (
                "[thresholds]\noi_moving_pct = 3\noi_surge_pct = 2",
                &["thresholds.oi_moving_pct = 3", "at most oi_surge_pct (2)"],
            ),
            (
                "[thresholds]\noi_moving_pct = 3\n[symbol.SOL.thresholds]\noi_surge_pct = 2",
                &[
                    "symbol.SOL.thresholds.oi_surge_pct = 2",
                    "at least oi_moving_pct (3)",
                ],
            ),
            (
                "[thresholds]\nfunding_elevated_pct = 0.2",
                &[
                    "thresholds.funding_elevated_pct = 0.2",
                    "at most funding_extreme_long_pct (0.1)",
                ],
            ),
            (
                "[thresholds]\nfunding_extreme_long_pct = 0.3\nfunding_elevated_pct = 0.08",
                &[
                    "thresholds.funding_elevated_pct = 0.08",
                    "the size of funding_extreme_short_pct (-0.05)",
                ],
            ),
            (
                "[thresholds]\nfunding_elevated_pct = 0.04\n[symbol.ETH.thresholds]\nfunding_extreme_short_pct = -0.03",
                &[
                    "symbol.ETH.thresholds.funding_extreme_short_pct = -0.03",
                    "at most -0.04, the negative of funding_elevated_pct (0.04)",
                ],
            ),
        ];
        for (file, wanted) in cases {
            let message = err(&[], &[], Some(file));
            for part in *wanted {
                assert!(message.contains(part), "{part:?} not in {message:?}");
            }
        }
        // Equal bounds and the defaults are fine.
        let c = ok(
            &[],
            &[],
            Some("[thresholds]\noi_moving_pct = 5\nfunding_elevated_pct = 0.05"),
        );
        assert_eq!(c.thresholds.oi_moving_pct, c.thresholds.oi_surge_pct);
    }

    #[test]
    fn config_threshold_rules_cover_real_keys() {
        let keys = threshold_keys();
        assert_eq!(keys.len(), 19, "{keys:?}");
        for name in SHARE_KEYS
            .iter()
            .chain(&["funding_extreme_short_pct", "funding_extreme_long_pct"])
        {
            assert!(
                keys.iter().any(|k| k == name),
                "{name} is not a Thresholds field"
            );
        }
    }
}
