//! Thresholds: `[thresholds]` and `[symbol.<COIN>.thresholds]` overlaid on the defaults: the
//! static numbers ([`Thresholds`]) and the relative mode's percentiles ([`Percentiles`]), merged
//! the same way. `mode` and `window` (global only) are ordinary keys read by the layers.

use super::error::{cut, quoted, ConfigError, Origin};
use super::keys::{SYMBOL, THRESHOLDS};
use super::layers::{FileLayer, Raw};
use super::parse::parse_symbol;
use super::Thresholds;
use crate::signals::relative::Percentiles;
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

/// Every `[thresholds]` number key, from `Thresholds` itself.
pub(super) fn threshold_keys() -> Vec<String> {
    threshold_table(&Thresholds::default())
        .keys()
        .cloned()
        .collect()
}

fn percentile_table(p: &Percentiles) -> Table {
    // Percentiles is a flat struct of f64 fields: serializing it cannot fail.
    Table::try_from(p).unwrap_or_default()
}

/// Every `<family>_percentile` key, from `Percentiles` itself.
pub(super) fn percentile_keys() -> Vec<String> {
    percentile_table(&Percentiles::default())
        .keys()
        .cloned()
        .collect()
}

/// The keys every `[...thresholds]` table may hold: the numbers and the percentiles (the global
/// table also `mode` and `window`).
pub(super) fn number_keys() -> Vec<String> {
    let mut keys = threshold_keys();
    keys.extend(percentile_keys());
    keys
}

const PERCENTILE_EXPECTED: &str =
    "a number above 0 and below 100 (a percentile of the symbol's own history, like 99)";

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

    /// `low < high`: a band that sits below an extreme, and is empty when it reaches it.
    fn band(
        low: &'static str,
        low_value: f64,
        high: &'static str,
        high_value: f64,
        rule: &str,
    ) -> Order {
        Order {
            low,
            low_value,
            high,
            high_value,
            holds: low_value < high_value,
            low_expected: format!("below {high} ({high_value}), or {rule} can never fire"),
            high_expected: format!("above {low} ({low_value}), or {rule} can never fire"),
        }
    }
}

/// The first pair out of order, as an error blaming the key set last (the low one on a tie).
fn check_orders(
    layers: &[ThresholdLayer<'_>],
    path: &Path,
    orders: impl IntoIterator<Item = Order>,
) -> Result<(), ConfigError> {
    for o in orders {
        if o.holds {
            continue;
        }
        let low = threshold_source(layers, o.low, o.low_value, path);
        let high = threshold_source(layers, o.high, o.high_value, path);
        let ((key, value, origin, _), expected) = if high.3 > low.3 {
            (high, o.high_expected)
        } else {
            (low, o.low_expected)
        };
        return Err(ConfigError::Invalid {
            key,
            value,
            origin,
            expected,
        });
    }
    Ok(())
}

/// `defaults` (a struct's own table) overlaid with the numbers `layers` set for its keys (other
/// keys of the same tables are read elsewhere), each checked with `rule`, read back as `T`.
fn overlay_numbers<T: serde::de::DeserializeOwned>(
    defaults: Table,
    layers: &[ThresholdLayer<'_>],
    path: &Path,
    rule: impl Fn(&str) -> (fn(f64) -> bool, &'static str),
) -> Result<T, ConfigError> {
    let mut merged = defaults;
    for layer in layers {
        for (name, value) in layer.table {
            if !merged.contains_key(name) {
                continue;
            }
            let number = match value {
                Value::Float(f) => *f,
                Value::Integer(i) => *i as f64,
                _ => {
                    return Err(ConfigError::Invalid {
                        key: format!("{}.{name}", layer.prefix),
                        value: Raw::Toml(value.clone()).render(false),
                        origin: Origin::File(path.to_path_buf()),
                        expected: rule(name).1.to_string(),
                    })
                }
            };
            merged.insert(name.clone(), Value::Float(number));
        }
    }
    for (name, value) in &merged {
        let v = value.as_float().unwrap_or(f64::NAN);
        let (ok, expected) = rule(name);
        if !(v.is_finite() && ok(v)) {
            let (key, value, origin, _) = threshold_source(layers, name, v, path);
            return Err(ConfigError::Invalid {
                key,
                value,
                origin,
                expected: expected.to_string(),
            });
        }
    }
    merged.try_into().map_err(|e: toml::de::Error| {
        let prefix = layers.last().map_or(THRESHOLDS, |l| l.prefix);
        ConfigError::Invalid {
            key: prefix.to_string(),
            value: "(table)".to_string(),
            origin: Origin::File(path.to_path_buf()),
            expected: e.message().to_string(),
        }
    })
}

/// Defaults overlaid with `layers` in order, each value checked.
fn resolve_thresholds(
    layers: &[ThresholdLayer<'_>],
    path: &Path,
) -> Result<Thresholds, ConfigError> {
    let th: Thresholds = overlay_numbers(
        threshold_table(&Thresholds::default()),
        layers,
        path,
        threshold_rule,
    )?;

    // Pairs that must be ordered, or the lower level can never fire (an "elevated" band at or
    // above the "extreme" one, a "moving" band at or above the surge); blame the one set last
    // (the low one on a tie). Each names the other key and its value. Not a pair:
    // `liq_elevated_usd` (both sides' total) and `liq_cascade_usd` (one side): a total above
    // the cascade level with neither side above it is still "elevated".
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
        Order::band(
            "oi_moving_pct",
            th.oi_moving_pct,
            "oi_surge_pct",
            th.oi_surge_pct,
            "oi_moving",
        ),
        Order::band(
            "funding_elevated_pct",
            th.funding_elevated_pct,
            "funding_extreme_long_pct",
            th.funding_extreme_long_pct,
            "funding_elevated on the long side",
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
    check_orders(layers, path, ordered)?;
    Ok(th)
}

/// The relative mode's percentiles: defaults overlaid with `layers`, each checked.
fn resolve_percentiles(
    layers: &[ThresholdLayer<'_>],
    path: &Path,
) -> Result<Percentiles, ConfigError> {
    let p: Percentiles = overlay_numbers(
        percentile_table(&Percentiles::default()),
        layers,
        path,
        |_| (|v| v > 0.0 && v < 100.0, PERCENTILE_EXPECTED),
    )?;
    // The same bands as the static pairs, for the percentiles of one metric. Not ordered: the
    // liquidation pair (a total vs one side, like the dollars) and the families that have no
    // band below them.
    check_orders(
        layers,
        path,
        [
            Order::band(
                "oi_moving_percentile",
                p.oi_moving_percentile,
                "oi_surge_percentile",
                p.oi_surge_percentile,
                "oi_moving",
            ),
            Order::band(
                "funding_elevated_percentile",
                p.funding_elevated_percentile,
                "funding_extreme_percentile",
                p.funding_extreme_percentile,
                "funding_elevated",
            ),
        ],
    )?;
    Ok(p)
}

/// Every threshold the file sets, global and per symbol.
#[derive(Debug, Clone, Default)]
pub(super) struct Resolved {
    pub(super) global: Thresholds,
    pub(super) per_symbol: BTreeMap<String, Thresholds>,
    pub(super) percentiles: Percentiles,
    pub(super) symbol_percentiles: BTreeMap<String, Percentiles>,
}

/// Global thresholds and percentiles, and every symbol's merged ones.
pub(super) fn resolve_all_thresholds(file: Option<&FileLayer>) -> Result<Resolved, ConfigError> {
    let Some(file) = file else {
        return Ok(Resolved::default());
    };
    let mut base: Vec<ThresholdLayer<'_>> = Vec::new();
    if let Some(table) = file.table.get(THRESHOLDS).and_then(Value::as_table) {
        base.push(ThresholdLayer {
            prefix: THRESHOLDS,
            table,
        });
    }
    let mut out = Resolved {
        global: resolve_thresholds(&base, &file.path)?,
        percentiles: resolve_percentiles(&base, &file.path)?,
        ..Resolved::default()
    };
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
        let percentiles = resolve_percentiles(&layers, &file.path)?;
        if out.per_symbol.insert(symbol.clone(), th).is_some() {
            return Err(ConfigError::Invalid {
                key: format!("{SYMBOL}.{coin}"),
                value: format!("{coin:?}"),
                origin: file.origin(),
                expected: format!("one section per coin ({symbol} appears twice)"),
            });
        }
        out.symbol_percentiles.insert(symbol, percentiles);
    }
    Ok(out)
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
                    "below oi_surge_pct (5)",
                ],
            ),
            (
                "[thresholds]\noi_moving_pct = 3\noi_surge_pct = 2",
                &["thresholds.oi_moving_pct = 3", "below oi_surge_pct (2)"],
            ),
            (
                "[thresholds]\noi_moving_pct = 3\n[symbol.SOL.thresholds]\noi_surge_pct = 2",
                &[
                    "symbol.SOL.thresholds.oi_surge_pct = 2",
                    "above oi_moving_pct (3)",
                ],
            ),
            (
                "[thresholds]\nfunding_elevated_pct = 0.2",
                &[
                    "thresholds.funding_elevated_pct = 0.2",
                    "below funding_extreme_long_pct (0.1)",
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
        // A band equal to its extreme is empty too; equal bounds of a range are fine.
        for (file, wanted) in [
            (
                "[thresholds]\noi_moving_pct = 5",
                "below oi_surge_pct (5), or oi_moving can never fire",
            ),
            (
                "[thresholds]\nfunding_elevated_pct = 0.1",
                "below funding_extreme_long_pct (0.1), or funding_elevated on the long side can never fire",
            ),
        ] {
            let message = err(&[], &[], Some(file));
            assert!(message.contains(wanted), "{wanted:?} not in {message:?}");
        }
        let c = ok(
            &[],
            &[],
            Some("[thresholds]\ndeleveraging_retail_low_pct = 60\ntaker_sell_pressure_pct = 65"),
        );
        assert_eq!(c.thresholds.deleveraging_retail_low_pct, 60.0);
        // The liquidation pair is not ordered: a total above the cascade level with neither
        // side above it is still elevated.
        let c = ok(&[], &[], Some("[thresholds]\nliq_elevated_usd = 60000000"));
        assert_eq!(c.thresholds.liq_elevated_usd, 60e6);
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

    #[test]
    fn config_threshold_mode_from_file_env_and_flag() {
        use crate::signals::relative::ThresholdMode::{Relative, Static};
        assert_eq!(ok(&[], &[], None).relative.mode, Relative, "the default");
        let file = "[thresholds]\nmode = \"static\"";
        assert_eq!(ok(&[], &[], Some(file)).relative.mode, Static);
        let env = [("PERPWATCH_THRESHOLD_MODE", "relative")];
        assert_eq!(
            ok(&[], &env, Some(file)).relative.mode,
            Relative,
            "the environment beats the file"
        );
        let flag = ["--threshold-mode", "STATIC"];
        assert_eq!(
            ok(&flag, &env, Some(file)).relative.mode,
            Static,
            "the flag beats both"
        );
        for (args, env, file, wanted) in [
            (
                &["--threshold-mode", "zscore"][..],
                &[][..],
                None,
                "thresholds.mode = \"zscore\" in flag --threshold-mode: expected relative or static",
            ),
            (
                &[],
                &[("PERPWATCH_THRESHOLD_MODE", "percentile")][..],
                None,
                "thresholds.mode = \"percentile\" in environment variable \
                 PERPWATCH_THRESHOLD_MODE: expected relative or static",
            ),
            (
                &[],
                &[],
                Some("[thresholds]\nmode = 1"),
                "thresholds.mode = 1 in /etc/perpwatch/test.toml: expected relative or static",
            ),
        ] {
            let message = err(args, env, file);
            assert!(message.contains(wanted), "{wanted:?} not in {message:?}");
        }
    }

    #[test]
    fn config_threshold_window_with_its_range() {
        use crate::signals::relative::{DAY_MS, HOUR_MS, MIN_HISTORY_MS};
        let c = ok(&[], &[], None);
        assert_eq!(c.relative.window_ms, 30 * DAY_MS);
        assert_eq!(c.relative.min_history_ms, MIN_HISTORY_MS);
        assert_eq!(c.relative.sample_ms, HOUR_MS);
        let c = ok(&[], &[], Some("[thresholds]\nwindow = \"90d\""));
        assert_eq!(c.relative.window_ms, 90 * DAY_MS);
        assert_eq!(c.relative.window_label(), "90d");
        // A week: the rules use half of it as their warm-up.
        let c = ok(&[], &[], Some("[thresholds]\nwindow = \"7d\""));
        assert_eq!(c.relative.min_history_ms, 3 * DAY_MS + 12 * HOUR_MS);
        let c = ok(&[], &[], Some("[thresholds]\nwindow = 1209600"));
        assert_eq!(c.relative.window_ms, 14 * DAY_MS, "plain seconds");
        for bad in ["\"6d23h\"", "\"366d\"", "\"soon\"", "0", "-5"] {
            let message = err(&[], &[], Some(&format!("[thresholds]\nwindow = {bad}")));
            assert!(
                message.contains(&format!(
                    "thresholds.window = {bad} in /etc/perpwatch/test.toml"
                )) && message.contains("between 7d and 365d"),
                "{message}"
            );
        }
    }

    #[test]
    fn config_percentiles_globally_and_per_symbol() {
        let c = ok(&[], &[], None);
        assert_eq!(c.relative.percentiles, Percentiles::default());
        // Every key, globally; one of them again for a coin.
        let mut file = String::from("symbols = [\"BTC\", \"DOGE\"]\n[thresholds]\n");
        let keys = percentile_keys();
        assert_eq!(keys.len(), 11, "{keys:?}");
        for (i, k) in keys.iter().enumerate() {
            file.push_str(&format!("{k} = {}\n", 50 + i));
        }
        file.push_str("[symbol.doge.thresholds]\nliq_cascade_percentile = 99.5\n");
        let c = ok(&[], &[], Some(&file));
        let global = percentile_table(&c.relative.percentiles);
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(global[k].as_float(), Some(50.0 + i as f64), "{k}");
        }
        let doge = c.relative_for("DOGE");
        assert_eq!(doge.percentiles.liq_cascade_percentile, 99.5);
        assert_eq!(
            Percentiles {
                liq_cascade_percentile: 99.5,
                ..c.relative.percentiles
            },
            doge.percentiles,
            "the rest from [thresholds]"
        );
        assert_eq!(c.relative_for("doge"), doge, "lookup is case-insensitive");
        assert_eq!(c.relative_for("BTC"), c.relative);
        assert_eq!(doge.window_ms, c.relative.window_ms);
        // Numbers and percentiles share a coin's section.
        let c = ok(
            &[],
            &[],
            Some("[symbol.SOL.thresholds]\noi_surge_pct = 8\noi_surge_percentile = 99.9"),
        );
        assert_eq!(c.thresholds_for("SOL").oi_surge_pct, 8.0);
        assert_eq!(c.relative_for("SOL").percentiles.oi_surge_percentile, 99.9);
    }

    #[test]
    fn config_bad_percentiles_name_the_key_value_origin_and_range() {
        for (file, wanted) in [
            (
                "[thresholds]\nfunding_extreme_percentile = 100",
                "thresholds.funding_extreme_percentile = 100 in /etc/perpwatch/test.toml: \
                 expected a number above 0 and below 100",
            ),
            (
                "[thresholds]\nretail_percentile = 0",
                "thresholds.retail_percentile = 0 in",
            ),
            (
                "[thresholds]\ntaker_percentile = -5.5",
                "thresholds.taker_percentile = -5.5 in",
            ),
            (
                "[symbol.ETH.thresholds]\nflow_percentile = \"high\"",
                "symbol.ETH.thresholds.flow_percentile = \"high\" in /etc/perpwatch/test.toml: \
                 expected a number above 0 and below 100",
            ),
            (
                "[symbol.ETH.thresholds]\nsetup_percentile = 250",
                "symbol.ETH.thresholds.setup_percentile = 250 in",
            ),
        ] {
            let message = err(&[], &[], Some(file));
            assert!(message.contains(wanted), "{wanted:?} not in {message:?}");
        }
    }

    /// In relative mode a band must sit below its extreme too: both keys named, the one set
    /// last blamed.
    #[test]
    fn config_percentile_bands_that_can_never_fire_are_refused() {
        for (file, wanted) in [
            (
                "[thresholds]\noi_moving_percentile = 99",
                &[
                    "thresholds.oi_moving_percentile = 99",
                    "below oi_surge_percentile (99), or oi_moving can never fire",
                ][..],
            ),
            (
                "[thresholds]\nfunding_elevated_percentile = 99.5",
                &[
                    "thresholds.funding_elevated_percentile = 99.5",
                    "below funding_extreme_percentile (99)",
                ],
            ),
            (
                "[thresholds]\nfunding_elevated_percentile = 90\n\
                 [symbol.ETH.thresholds]\nfunding_extreme_percentile = 90",
                &[
                    "symbol.ETH.thresholds.funding_extreme_percentile = 90",
                    "above funding_elevated_percentile (90), or funding_elevated can never fire",
                ],
            ),
        ] {
            let message = err(&[], &[], Some(file));
            for part in wanted {
                assert!(message.contains(part), "{part:?} not in {message:?}");
            }
        }
        // The liquidation pair is not a band (a total vs one side).
        let c = ok(
            &[],
            &[],
            Some("[thresholds]\nliq_elevated_percentile = 99.5\nliq_cascade_percentile = 99"),
        );
        assert_eq!(c.relative.percentiles.liq_elevated_percentile, 99.5);
    }

    #[test]
    fn config_mode_and_window_are_global_only_and_unknown_keys_list_the_allowed() {
        let message = err(&[], &[], Some("[symbol.SOL.thresholds]\nmode = \"static\""));
        assert!(
            message.contains("symbol.SOL.thresholds.mode = \"static\"")
                && message.contains("in [thresholds] only"),
            "{message}"
        );
        let message = err(&[], &[], Some("[symbol.SOL.thresholds]\nwindow = \"7d\""));
        assert!(message.contains("in [thresholds] only"), "{message}");
        let message = err(&[], &[], Some("[thresholds]\nfunding_percentile = 99"));
        assert!(
            message.contains("unknown key \"thresholds.funding_percentile\"")
                && message.contains("funding_extreme_percentile")
                && message.contains("mode")
                && message.contains("window"),
            "{message}"
        );
    }
}
