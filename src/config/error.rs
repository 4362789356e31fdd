//! Configuration errors and where a value came from.

use std::fmt;
use std::path::PathBuf;

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    File(PathBuf),
    Env(String),
    DotEnv { var: String, path: PathBuf },
    Flag(&'static str),
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File(path) => write!(f, "{}", path.display()),
            Origin::Env(var) => write!(f, "environment variable {var}"),
            Origin::DotEnv { var, path } => write!(f, "{var} in {}", path.display()),
            Origin::Flag(flag) => write!(f, "flag {flag}"),
            Origin::Default => f.write_str("the defaults"),
        }
    }
}

/// A configuration problem. `Display` is the whole user-facing message, starting with
/// `config error: `; it never contains a secret. main prints it and exits with code 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config error: config file {} does not exist", .path.display())]
    FileNotFound { path: PathBuf },
    #[error("config error: cannot read {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config error: {}{} is not valid TOML: {message}", .path.display(), line_suffix(*.line))]
    Syntax {
        path: PathBuf,
        /// 1-based line and column, when known.
        line: Option<(usize, usize)>,
        message: String,
    },
    #[error("config error: {}{} cannot be parsed: expected NAME=value lines", .path.display(), line_suffix(.line.map(|l| (l, 0))))]
    DotEnv { path: PathBuf, line: Option<usize> },
    #[error("config error: unknown key {} in {origin}; allowed: {allowed}", quoted(.key))]
    UnknownKey {
        key: String,
        origin: Origin,
        allowed: String,
    },
    /// `value` is already rendered (quoted), or `<hidden>` for secrets.
    #[error("config error: {key} = {value} in {origin}: expected {expected}")]
    Invalid {
        key: String,
        value: String,
        origin: Origin,
        expected: String,
    },
    #[error("config error: {key} is not set: {reason}")]
    Missing { key: String, reason: String },
}

/// Characters of a user's value quoted in a message; the rest is cut (a 5 MB cell or setting
/// must not become a 5 MB error message).
pub const QUOTE_MAX: usize = 80;

/// `value` cut to [`QUOTE_MAX`] characters: itself when short, else its start, an ellipsis and
/// the total length (`abcd… (5242880 characters)`).
pub fn cut(value: &str) -> String {
    let total = value.chars().count();
    if total <= QUOTE_MAX {
        return value.to_string();
    }
    let head: String = value.chars().take(QUOTE_MAX).collect();
    format!("{head}… ({total} characters)")
}

/// `value` quoted for a message (`"abc"`), cut like [`cut`]: `"abcd…" (5242880 characters)`.
pub fn quoted(value: &str) -> String {
    let total = value.chars().count();
    if total <= QUOTE_MAX {
        return format!("{value:?}");
    }
    let head: String = value.chars().take(QUOTE_MAX).collect();
    format!("{:?} ({total} characters)", format!("{head}…"))
}

fn line_suffix(at: Option<(usize, usize)>) -> String {
    match at {
        Some((line, 0)) => format!(" line {line}"),
        Some((line, column)) => format!(" line {line}, column {column}"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::{cut, quoted, QUOTE_MAX};
    use crate::config::test_support::err;

    #[test]
    fn long_values_are_cut_with_their_length() {
        assert_eq!(quoted("BTC"), "\"BTC\"");
        assert_eq!(cut("BTC"), "BTC");
        let exact = "x".repeat(QUOTE_MAX);
        assert_eq!(quoted(&exact), format!("{exact:?}"));
        let huge = "é".repeat(5 * 1024 * 1024);
        let q = quoted(&huge);
        assert!(q.chars().count() < 120, "{q}");
        assert!(
            q.starts_with(&format!("\"{}…\"", "é".repeat(QUOTE_MAX))),
            "{q}"
        );
        assert!(q.ends_with("(5242880 characters)"), "{q}");
        let c = cut(&huge);
        assert!(
            c.ends_with("… (5242880 characters)") && c.chars().count() < 120,
            "{c}"
        );
    }

    /// A 5 MB value in the config file, the environment or a flag: the message quotes its
    /// first 80 characters and says how long it is.
    #[test]
    fn a_huge_value_is_quoted_cut() {
        let huge = "A".repeat(5 * 1024 * 1024);
        for message in [
            err(&[], &[("PERPWATCH_SYMBOLS", huge.as_str())], None),
            err(&["--poll-interval", &huge], &[], None),
            err(&[], &[], Some(&format!("reference_quote = \"{huge}\""))),
            err(
                &[],
                &[],
                Some(&format!("[symbol.{huge}.thresholds]\noi_surge_pct = 1")),
            ),
            err(&[], &[], Some(&format!("{huge} = 1"))),
        ] {
            assert!(
                message.len() < 2000,
                "{} bytes: {}",
                message.len(),
                &message[..200]
            );
            assert!(message.contains("(5242880 characters)"), "{message}");
        }
    }

    /// Every bad value: one message naming the key, the value, the source and what is allowed.
    #[test]
    fn config_validation_errors_name_key_value_source_and_allowed() {
        type Case<'a> = (
            &'a [&'a str],
            &'a [(&'a str, &'a str)],
            Option<&'a str>,
            &'a [&'a str],
        );
        let cases: &[Case<'_>] = &[
            (
                &[],
                &[],
                Some("poll_interval = \"5\""),
                &[
                    "config error: poll_interval = \"5\" in /etc/perpwatch/test.toml",
                    "expected a duration like \"60s\" or \"5m\" between 10s and 1h",
                ],
            ),
            (
                &[],
                &[("PERPWATCH_POLL_INTERVAL", "2h")],
                None,
                &[
                    "poll_interval = \"2h\" in environment variable PERPWATCH_POLL_INTERVAL",
                    "between 10s and 1h",
                ],
            ),
            (
                &["--poll-interval", "abc"],
                &[],
                None,
                &["poll_interval = \"abc\" in flag --poll-interval", "between 10s and 1h"],
            ),
            (
                &[],
                &[],
                Some("pol_interval = \"60s\""),
                &[
                    "unknown key \"pol_interval\" in /etc/perpwatch/test.toml",
                    "allowed: symbols, poll_interval, source, exchanges, plan,",
                    "thresholds, symbol",
                ],
            ),
            (
                &[],
                &[],
                Some("[thresholds]\nfunding_extreme = 0.2"),
                &[
                    "unknown key \"thresholds.funding_extreme\" in /etc/perpwatch/test.toml",
                    "allowed: ",
                    "funding_extreme_long_pct",
                    "taker_sell_pressure_pct",
                ],
            ),
            (
                &[],
                &[],
                Some("[symbol.DOGE.thresholds]\nliq_cascade = 5"),
                &[
                    "unknown key \"symbol.DOGE.thresholds.liq_cascade\" in /etc/perpwatch/test.toml",
                    "liq_cascade_usd",
                ],
            ),
            (
                &[],
                &[],
                Some("[symbol.DOGE]\ncooldown = \"1h\""),
                &["unknown key \"symbol.DOGE.cooldown\"", "allowed: thresholds"],
            ),
            (
                &[],
                &[],
                Some("[alerts]\nmin_lvl = \"high\""),
                &["unknown key \"alerts.min_lvl\"", "allowed: min_level, cooldown_high"],
            ),
            (
                &[],
                &[],
                Some("[telegram]\ntoken = \"x\""),
                &["unknown key \"telegram.token\"", "allowed: bot_token, chat_id, api_url"],
            ),
            (
                &["--plan", "pro"],
                &[],
                None,
                &[
                    "plan = \"pro\" in flag --plan",
                    "expected one of hobbyist, startup, standard, professional",
                ],
            ),
            (
                &[],
                &[("PERPWATCH_PLAN", "platinum")],
                None,
                &["plan = \"platinum\" in environment variable PERPWATCH_PLAN", "hobbyist"],
            ),
            (
                &[],
                &[],
                Some("[alerts]\nmin_level = \"urgent\""),
                &[
                    "alerts.min_level = \"urgent\" in /etc/perpwatch/test.toml",
                    "expected one of high, medium, low",
                ],
            ),
            (
                &[],
                &[],
                Some("[alerts]\nmin_level = \"none\""),
                &["alerts.min_level = \"none\"", "high, medium, low"],
            ),
            (
                &[],
                &[("PERPWATCH_SYMBOLS", "BTC,DO-GE")],
                None,
                &[
                    "symbols = \"BTC,DO-GE\" in environment variable PERPWATCH_SYMBOLS",
                    "A-Z and 0-9",
                    "(\"DO-GE\" is not a coin)",
                ],
            ),
            (
                &[],
                &[],
                Some("symbols = []"),
                &["symbols = [] in /etc/perpwatch/test.toml", "expected 1 to 100 coins"],
            ),
            (
                &[],
                &[],
                Some("symbols = [\"BTC\", 5]"),
                &["symbols = [\"BTC\", 5]", "expected 1 to 100 coins"],
            ),
            (
                &["--symbols", "BTC,ETH!"],
                &[],
                None,
                &["symbols = \"BTC,ETH!\" in flag --symbols", "\"ETH!\" is not a coin"],
            ),
            (
                &[],
                &[("TELEGRAM_BOT_TOKEN", "123:abc")],
                None,
                &[
                    "telegram.chat_id is not set",
                    "telegram.bot_token is set in environment variable TELEGRAM_BOT_TOKEN",
                    "TELEGRAM_CHAT_ID",
                ],
            ),
            (
                &[],
                &[],
                Some("[telegram]\nchat_id = -1001"),
                &[
                    "telegram.bot_token is not set",
                    "telegram.chat_id is set in /etc/perpwatch/test.toml",
                    "TELEGRAM_BOT_TOKEN",
                ],
            ),
            (
                &[],
                &[("TELEGRAM_CHAT_ID", "my chat"), ("TELEGRAM_BOT_TOKEN", "1:a")],
                None,
                &[
                    "telegram.chat_id = \"my chat\" in environment variable TELEGRAM_CHAT_ID",
                    "@mychannel",
                ],
            ),
            (
                &[],
                &[],
                Some("[thresholds]\nfunding_extreme_short_pct = 0.05"),
                &[
                    "thresholds.funding_extreme_short_pct = 0.05 in /etc/perpwatch/test.toml",
                    "below 0",
                ],
            ),
            (
                &[],
                &[],
                Some("[thresholds]\nretail_extreme_long_pct = 150"),
                &["thresholds.retail_extreme_long_pct = 150", "from 0 to 100"],
            ),
            (
                &[],
                &[],
                Some("[thresholds]\noi_surge_pct = \"5\""),
                &["thresholds.oi_surge_pct = \"5\"", "expected a finite number"],
            ),
            (
                &[],
                &[],
                Some("[symbol.DOGE.thresholds]\nliq_cascade_usd = nan"),
                &["symbol.DOGE.thresholds.liq_cascade_usd = nan", "finite"],
            ),
            (
                &[],
                &[],
                Some("[thresholds]\nliq_elevated_usd = -inf"),
                &["thresholds.liq_elevated_usd = -inf", "finite"],
            ),
            (
                &[],
                &[],
                Some("[thresholds]\ndeleveraging_retail_low_pct = 70"),
                &[
                    "thresholds.deleveraging_retail_low_pct = 70 in /etc/perpwatch/test.toml",
                    "expected at most deleveraging_retail_high_pct (60)",
                ],
            ),
            (
                &[],
                &[],
                Some("[symbol.SOL.thresholds]\ntaker_buy_pressure_pct = 30"),
                &[
                    "symbol.SOL.thresholds.taker_buy_pressure_pct = 30",
                    "at least taker_sell_pressure_pct (35)",
                ],
            ),
            (
                &[],
                &[],
                Some("[symbol.DO-GE.thresholds]\nliq_cascade_usd = 5"),
                &["symbol.DO-GE = \"DO-GE\"", "A-Z and 0-9"],
            ),
            (
                &[],
                &[],
                Some("[alerts]\ncooldown_high = \"0s\""),
                &["alerts.cooldown_high = \"0s\"", "between 1s and 30d"],
            ),
            (
                &[],
                &[],
                Some("[alerts]\nmax_age = -5"),
                &["alerts.max_age = -5", "between 1s and 30d"],
            ),
            (
                &[],
                &[],
                Some("[alerts]\nfailure_cycles = 0"),
                &["alerts.failure_cycles = 0", "from 1 to 1000"],
            ),
            (
                &[],
                &[("COINGLASS_BASE_URL", "ftp://files.example")],
                None,
                &[
                    "coinglass_base_url = \"ftp://files.example\" in environment variable COINGLASS_BASE_URL",
                    "an http:// or https:// URL",
                ],
            ),
            (
                &[],
                &[],
                Some("[telegram]\napi_url = \"not a url\""),
                &["telegram.api_url = \"not a url\"", "https://api.telegram.org"],
            ),
            (
                &["--log-level", "verbose"],
                &[],
                None,
                &[
                    "log_level = \"verbose\" in flag --log-level",
                    "one of trace, debug, info, warn, error",
                ],
            ),
            (
                &[],
                &[("PERPWATCH_REFERENCE_EXCHANGE", "Bin/ance")],
                None,
                &["reference_exchange = \"Bin/ance\"", "an exchange name"],
            ),
            (
                &[],
                &[],
                Some("reference_quote = \"US-DT\""),
                &["reference_quote = \"US-DT\"", "USDT or USDC"],
            ),
            (
                &[],
                &[],
                Some("alerts = 5"),
                &["alerts = 5 in /etc/perpwatch/test.toml", "expected a [alerts] table"],
            ),
            (
                &[],
                &[],
                Some("symbols = [\"BTC\"\npoll_interval = \"60s\""),
                &["config error: /etc/perpwatch/test.toml line ", "is not valid TOML"],
            ),
        ];
        for (args, env, file, wanted) in cases {
            let message = err(args, env, *file);
            assert!(message.starts_with("config error: "), "{message}");
            for part in *wanted {
                assert!(message.contains(part), "{part:?} not in {message:?}");
            }
        }
    }
}
