//! Value parsers (each returns what is allowed when the value is not).

use super::cli::THRESHOLD_MODE_EXPECTED;
use super::error::quoted;
use super::layers::Raw;
use super::{
    Level, Plan, LOG_LEVELS, MAX_ALERT_DURATION, MAX_FAILURE_CYCLES, MAX_SYMBOLS,
    MAX_THRESHOLD_WINDOW, MIN_THRESHOLD_WINDOW,
};
use crate::signals::relative::ThresholdMode;
use secrecy::SecretString;
use std::path::PathBuf;
use std::time::Duration;
use toml::Value;

const DURATION_EXPECTED: &str =
    "a duration greater than 0 like \"60s\", \"5m\", \"1h30m\" or plain seconds \"90\"";
/// Longest coin accepted. Real ones are far shorter (`1000000MOG` is 10); a longer value is a
/// paste mistake, not a coin.
pub(super) const MAX_SYMBOL_LEN: usize = 20;
const SYMBOL_EXPECTED: &str =
    "a coin made of A-Z and 0-9 like BTC or 1000PEPE, at most 20 characters";

/// Parses `60s`, `5m`, `1h`, `1d`, compounds in descending order (`1h30m`) and plain seconds
/// (`90`). Rejects zero, negatives, fractions and anything else; the error says what is allowed.
pub(super) fn parse_duration(s: &str) -> Result<Duration, String> {
    let err = || DURATION_EXPECTED.to_string();
    let s = s.trim();
    if s.is_empty() {
        return Err(err());
    }
    let secs = if s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse::<u64>().map_err(|_| err())?
    } else {
        let mut total: u64 = 0;
        let mut number: Option<u64> = None;
        let mut last_unit = u64::MAX;
        for c in s.chars() {
            if let Some(digit) = c.to_digit(10) {
                let n = number
                    .unwrap_or(0)
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(u64::from(digit)))
                    .ok_or_else(err)?;
                number = Some(n);
                continue;
            }
            let unit = match c {
                'd' => 86_400,
                'h' => 3_600,
                'm' => 60,
                's' => 1,
                _ => return Err(err()),
            };
            let n = number.take().ok_or_else(err)?;
            if unit >= last_unit {
                return Err(err());
            }
            last_unit = unit;
            total = n
                .checked_mul(unit)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(err)?;
        }
        if number.is_some() {
            return Err(err());
        }
        total
    };
    if secs == 0 {
        return Err(err());
    }
    Ok(Duration::from_secs(secs))
}

/// Formats whole seconds the way [`parse_duration`] reads them: `90s` → `1m30s`, `3600s` → `1h`.
pub(super) fn format_duration(d: Duration) -> String {
    let mut secs = d.as_secs();
    if secs == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (unit, name) in [(86_400, 'd'), (3_600, 'h'), (60, 'm'), (1, 's')] {
        if secs >= unit {
            out.push_str(&format!("{}{name}", secs / unit));
            secs %= unit;
        }
    }
    out
}

/// Normalises one coin: trimmed, upper case, `[A-Z0-9]{1,20}`.
pub(super) fn parse_symbol(s: &str) -> Result<String, String> {
    let symbol = s.trim().to_ascii_uppercase();
    let ok = !symbol.is_empty()
        && symbol.len() <= MAX_SYMBOL_LEN
        && symbol.bytes().all(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(symbol)
    } else {
        Err(SYMBOL_EXPECTED.to_string())
    }
}

/// Why `item` is not a coin, in a few words, its value cut.
fn not_a_coin(item: &str) -> String {
    let len = item.trim().chars().count();
    if len > MAX_SYMBOL_LEN && item.trim().bytes().all(|b| b.is_ascii_alphanumeric()) {
        format!(
            "{} is {len} characters long: at most {MAX_SYMBOL_LEN}",
            quoted(item)
        )
    } else {
        format!("{} is not a coin", quoted(item))
    }
}

pub(super) fn parse_symbol_list(raw: &Raw) -> Result<Vec<String>, String> {
    let expected = format!(
        "1 to {MAX_SYMBOLS} coins made of A-Z and 0-9 (at most {MAX_SYMBOL_LEN} characters each), \
         like [\"BTC\", \"ETH\"] in the file or BTC,ETH in the environment and flags"
    );
    let items: Vec<String> = match raw {
        Raw::Toml(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or_else(|| expected.clone())?,
        _ => raw
            .text()
            .ok_or_else(|| expected.clone())?
            .split(',')
            .map(str::to_string)
            .collect(),
    };
    let mut symbols: Vec<String> = Vec::new();
    for item in items.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        let symbol =
            parse_symbol(item).map_err(|_| format!("{expected} ({})", not_a_coin(item)))?;
        if !symbols.contains(&symbol) {
            symbols.push(symbol);
        }
    }
    if symbols.is_empty() || symbols.len() > MAX_SYMBOLS {
        return Err(expected);
    }
    Ok(symbols)
}

/// A duration within `[min, max]`; a TOML integer counts as seconds.
pub(super) fn duration_between(
    raw: &Raw,
    min: Duration,
    max: Duration,
) -> Result<Duration, String> {
    let expected = || {
        format!(
            "a duration like \"60s\" or \"5m\" between {} and {}",
            format_duration(min),
            format_duration(max)
        )
    };
    let duration = match raw {
        Raw::Toml(Value::Integer(n)) => u64::try_from(*n)
            .ok()
            .filter(|n| *n > 0)
            .map(Duration::from_secs),
        _ => raw.text().and_then(|s| parse_duration(s).ok()),
    };
    duration
        .filter(|d| (min..=max).contains(d))
        .ok_or_else(expected)
}

/// `[thresholds] window`: a duration within [`MIN_THRESHOLD_WINDOW`, `MAX_THRESHOLD_WINDOW`].
pub(super) fn parse_threshold_window(raw: &Raw) -> Result<Duration, String> {
    duration_between(raw, MIN_THRESHOLD_WINDOW, MAX_THRESHOLD_WINDOW).map_err(|_| {
        format!(
            "a duration like \"30d\" between {} and {} (the trailing history relative \
             thresholds are drawn from)",
            format_duration(MIN_THRESHOLD_WINDOW),
            format_duration(MAX_THRESHOLD_WINDOW)
        )
    })
}

/// `thresholds.mode`, `PERPWATCH_THRESHOLD_MODE`, `--threshold-mode`.
pub(super) fn parse_threshold_mode(raw: &Raw) -> Result<ThresholdMode, String> {
    raw.text()
        .and_then(ThresholdMode::parse)
        .ok_or_else(|| THRESHOLD_MODE_EXPECTED.to_string())
}

pub(super) fn alert_duration(raw: &Raw) -> Result<Duration, String> {
    duration_between(raw, Duration::from_secs(1), MAX_ALERT_DURATION)
}

pub(super) fn parse_plan(raw: &Raw) -> Result<Plan, String> {
    raw.text().and_then(|t| Plan::parse(t).ok()).ok_or_else(|| {
        let names: Vec<String> = Plan::ALL
            .iter()
            .map(|p| p.as_str().to_ascii_lowercase())
            .collect();
        format!("one of {}", names.join(", "))
    })
}

pub(super) fn parse_exchange(raw: &Raw) -> Result<String, String> {
    let expected = || "an exchange name like Binance, OKX or Bybit".to_string();
    let name = raw.text().map(str::trim).ok_or_else(expected)?;
    let ok = name.chars().count() <= 40
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " .-_".contains(c));
    if ok {
        Ok(name.to_string())
    } else {
        Err(expected())
    }
}

pub(super) fn parse_quote(raw: &Raw) -> Result<String, String> {
    raw.text()
        .and_then(|s| parse_symbol(s).ok())
        .ok_or_else(|| "a quote currency made of A-Z and 0-9 like USDT or USDC".to_string())
}

/// A secret made of printable ASCII without `forbidden` characters.
fn parse_secret(raw: &Raw, forbidden: &str, expected: &str) -> Result<SecretString, String> {
    let value = raw
        .text()
        .map(str::trim)
        .ok_or_else(|| expected.to_string())?;
    if value
        .chars()
        .all(|c| c.is_ascii_graphic() && !forbidden.contains(c))
    {
        Ok(SecretString::from(value))
    } else {
        Err(expected.to_string())
    }
}

pub(super) fn parse_api_key(raw: &Raw) -> Result<SecretString, String> {
    parse_secret(raw, "", "an API key without spaces or control characters")
}

pub(super) fn parse_bot_token(raw: &Raw) -> Result<SecretString, String> {
    parse_secret(
        raw,
        "/?#%",
        "a bot token like 123456:ABC-DEF… from @BotFather (no spaces, /, ?, # or %)",
    )
}

pub(super) fn parse_chat_id(raw: &Raw) -> Result<String, String> {
    let expected = || {
        "a numeric chat id like -1001234567890 or a channel username like @mychannel".to_string()
    };
    let id = match raw {
        Raw::Toml(Value::Integer(n)) => n.to_string(),
        _ => raw.text().ok_or_else(expected)?.trim().to_string(),
    };
    let digits = id.strip_prefix('-').unwrap_or(&id);
    let numeric = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    let username = id.strip_prefix('@').is_some_and(|u| {
        !u.is_empty() && u.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    });
    if numeric || username {
        Ok(id)
    } else {
        Err(expected())
    }
}

/// An `http(s)://host…` URL, returned without trailing slashes.
pub(super) fn parse_http_url(raw: &Raw, example: &str) -> Result<String, String> {
    let expected = || format!("an http:// or https:// URL like {example}");
    let text = raw.text().map(str::trim).ok_or_else(expected)?;
    let url = reqwest::Url::parse(text).map_err(|_| expected())?;
    let ok =
        matches!(url.scheme(), "http" | "https") && url.host_str().is_some_and(|h| !h.is_empty());
    if ok {
        Ok(text.trim_end_matches('/').to_string())
    } else {
        Err(expected())
    }
}

const DATA_DIR_EXPECTED: &str = "a directory path like \"/var/lib/perpwatch\"";

pub(super) fn parse_path(raw: &Raw) -> Result<PathBuf, String> {
    match raw {
        Raw::Path(path) => Ok(path.clone()),
        _ => raw
            .text()
            .map(|s| PathBuf::from(s.trim()))
            .ok_or_else(|| DATA_DIR_EXPECTED.to_string()),
    }
}

/// The data directory: a path that is a directory or can become one (no existing file on the
/// way to it).
pub(super) fn parse_data_dir(raw: &Raw) -> Result<PathBuf, String> {
    let path = parse_path(raw)?;
    usable_dir(&path)?;
    Ok(path)
}

/// Fails when `path`, or the nearest part of it that exists, is not a directory.
pub(super) fn usable_dir(path: &std::path::Path) -> Result<(), String> {
    for part in path.ancestors().filter(|p| !p.as_os_str().is_empty()) {
        match std::fs::metadata(part) {
            Ok(m) if m.is_dir() => return Ok(()),
            Ok(_) => {
                let what = if part == path {
                    "it is an existing file".to_string()
                } else {
                    format!(
                        "{} is an existing file",
                        quoted(&part.display().to_string())
                    )
                };
                return Err(format!("{DATA_DIR_EXPECTED} ({what}, not a directory)"));
            }
            Err(_) => continue,
        }
    }
    Ok(())
}

pub(super) fn parse_log_level(raw: &Raw) -> Result<String, String> {
    raw.text()
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| LOG_LEVELS.contains(&s.as_str()))
        .ok_or_else(|| format!("one of {}", LOG_LEVELS.join(", ")))
}

pub(super) fn parse_min_level(raw: &Raw) -> Result<Level, String> {
    raw.text()
        .and_then(Level::parse)
        .filter(|l| *l != Level::None)
        .ok_or_else(|| "one of high, medium, low".to_string())
}

/// `metrics_addr`: `IP:PORT` (`127.0.0.1:9184`, `[::1]:9184`) or a bare port, which means
/// loopback (`9184` = `127.0.0.1:9184`). Port 0 is refused: nobody could find the endpoint.
pub(super) fn parse_metrics_addr(raw: &Raw) -> Result<std::net::SocketAddr, String> {
    let expected = || {
        "an address IP:PORT like 127.0.0.1:9184 (loopback), [::1]:9184 or a bare port like 9184 \
         (port 1 to 65535)"
            .to_string()
    };
    let addr = match raw {
        Raw::Toml(Value::Integer(n)) => u16::try_from(*n)
            .ok()
            .map(|port| std::net::SocketAddr::from(([127, 0, 0, 1], port))),
        _ => raw.text().map(str::trim).and_then(|s| {
            s.parse::<std::net::SocketAddr>().ok().or_else(|| {
                s.parse::<u16>()
                    .ok()
                    .map(|port| std::net::SocketAddr::from(([127, 0, 0, 1], port)))
            })
        }),
    };
    addr.filter(|a| a.port() != 0).ok_or_else(expected)
}

/// A switch: `true` or `false` (a TOML boolean, or the words in any case).
pub(super) fn parse_bool(raw: &Raw) -> Result<bool, String> {
    match raw {
        Raw::Toml(Value::Boolean(b)) => Ok(*b),
        _ => match raw.text().map(|s| s.trim().to_ascii_lowercase()).as_deref() {
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            _ => Err("true or false".to_string()),
        },
    }
}

pub(super) fn parse_failure_cycles(raw: &Raw) -> Result<u32, String> {
    let n = match raw {
        Raw::Toml(Value::Integer(n)) => Some(*n),
        _ => raw.text().and_then(|s| s.trim().parse::<i64>().ok()),
    };
    n.filter(|n| (1..=MAX_FAILURE_CYCLES).contains(n))
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| format!("a whole number of poll cycles from 1 to {MAX_FAILURE_CYCLES}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_support::{err, ok};
    use crate::config::{MAX_POLL_INTERVAL, MIN_POLL_INTERVAL};

    #[test]
    fn config_too_many_symbols() {
        let list: Vec<String> = (0..=MAX_SYMBOLS).map(|i| format!("C{i}")).collect();
        let message = err(&["--symbols", &list.join(",")], &[], None);
        assert!(message.contains("flag --symbols"), "{message}");
        assert!(message.contains("1 to 100 coins"), "{message}");
        let list = &list[..MAX_SYMBOLS];
        assert_eq!(
            ok(&["--symbols", &list.join(",")], &[], None).symbols.len(),
            MAX_SYMBOLS
        );
    }

    /// Real tickers fit (1000PEPE, 1000000MOG); a 72-character "symbol" is a mistake named with
    /// its length and the limit.
    #[test]
    fn config_symbol_length_is_limited() {
        let longest = "1".repeat(MAX_SYMBOL_LEN);
        let c = ok(
            &["--symbols", &format!("1000PEPE,1000000MOG,{longest}")],
            &[],
            None,
        );
        assert_eq!(c.symbols, ["1000PEPE", "1000000MOG", longest.as_str()]);
        let long = "ABCDEFGH".repeat(9);
        assert_eq!(long.len(), 72);
        let message = err(&[], &[("PERPWATCH_SYMBOLS", &format!("BTC,{long}"))], None);
        assert!(message.contains("PERPWATCH_SYMBOLS"), "{message}");
        assert!(
            message.contains(&format!("({:?} is 72 characters long: at most 20)", long)),
            "{message}"
        );
        let message = err(
            &[],
            &[],
            Some(&format!("[symbol.{long}.thresholds]\noi_surge_pct = 6")),
        );
        assert!(message.contains("at most 20 characters"), "{message}");
        let message = err(&[], &[], Some(&format!("symbols = [\"{long}x\"]")));
        assert!(
            message.contains("is 73 characters long: at most 20"),
            "{message}"
        );
        assert!(parse_symbol(&"A".repeat(21)).is_err());
    }

    /// A data dir that is an existing file (or under one) is named with the key, the path and
    /// what is allowed.
    #[test]
    fn config_data_dir_that_is_a_file_is_an_error() -> Result<(), crate::config::ConfigError> {
        let dir = crate::config::test_support::temp_dir()?;
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, "x").map_err(|source| crate::config::ConfigError::Io {
            path: file.clone(),
            source,
        })?;
        let shown = file.display().to_string();
        let message = err(&[], &[("PERPWATCH_DATA_DIR", shown.as_str())], None);
        assert!(
            message.contains(&format!(
                "data_dir = {shown:?} in environment variable PERPWATCH_DATA_DIR"
            )),
            "{message}"
        );
        assert!(message.contains("a directory path"), "{message}");
        assert!(message.contains("it is an existing file"), "{message}");
        let under = file.join("sub");
        let message = err(&["--data-dir", &under.display().to_string()], &[], None);
        assert!(message.contains("flag --data-dir"), "{message}");
        assert!(
            message.contains(&format!("{shown:?} is an existing file")),
            "{message}"
        );
        let message = err(&[], &[], Some(&format!("data_dir = {shown:?}")));
        assert!(
            message.contains("data_dir = ") && message.contains("test.toml"),
            "{message}"
        );
        // A directory, or one that does not exist yet, is fine.
        assert_eq!(
            ok(
                &[],
                &[("PERPWATCH_DATA_DIR", &dir.path().display().to_string())],
                None
            )
            .data_dir,
            dir.path()
        );
        let fresh = dir.path().join("a/b");
        assert_eq!(
            ok(&["--data-dir", &fresh.display().to_string()], &[], None).data_dir,
            fresh
        );
        Ok(())
    }

    #[test]
    fn config_symbols_are_trimmed_upper_cased_and_deduplicated() {
        let c = ok(&["--symbols", " btc, eth,,BTC,1000pepe, "], &[], None);
        assert_eq!(c.symbols, ["BTC", "ETH", "1000PEPE"]);
    }

    #[test]
    fn config_file_values_may_be_integers() {
        let file = "poll_interval = 90\n[alerts]\ncooldown_low = 3600\n[telegram]\nbot_token = \"1:a\"\nchat_id = -1001234";
        let c = ok(&[], &[], Some(file));
        assert_eq!(c.poll_interval, Duration::from_secs(90));
        assert_eq!(c.alerts.cooldown_low, Duration::from_secs(3600));
        assert_eq!(c.telegram.map(|t| t.chat_id), Some("-1001234".to_string()));
    }

    #[test]
    fn config_duration_parsing() {
        let good = [
            ("60s", 60),
            ("5m", 300),
            ("1h", 3600),
            ("90", 90),
            ("1h30m", 5400),
            ("1d", 86_400),
            ("2h0m5s", 7205),
            (" 2m ", 120),
        ];
        for (text, secs) in good {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_secs(secs)),
                "{text}"
            );
        }
        for bad in [
            "0s",
            "0",
            "-5s",
            "abc",
            "",
            "1.5h",
            "1h30",
            "30m1h",
            "5x",
            "5 m",
            "1hh",
            "99999999999999999999d",
        ] {
            let e = parse_duration(bad);
            assert_eq!(e, Err(DURATION_EXPECTED.to_string()), "{bad}");
        }
        for secs in [1, 59, 60, 90, 3600, 5400, 86_400 + 61] {
            let d = Duration::from_secs(secs);
            assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn config_poll_interval_bounds() {
        assert_eq!(
            ok(&["--poll-interval", "10s"], &[], None).poll_interval,
            MIN_POLL_INTERVAL
        );
        assert_eq!(
            ok(&["--poll-interval", "1h"], &[], None).poll_interval,
            MAX_POLL_INTERVAL
        );
        for bad in ["9s", "1h0m1s", "0s", "-5s"] {
            let message = err(&[&format!("--poll-interval={bad}")], &[], None);
            assert!(
                message.contains(&format!("poll_interval = {bad:?}")),
                "{message}"
            );
        }
    }

    #[test]
    fn config_plan_parse_and_display() {
        for plan in Plan::ALL {
            assert_eq!(Plan::parse(&plan.to_string()), Ok(plan));
            assert_eq!(Plan::parse(&plan.as_str().to_ascii_lowercase()), Ok(plan));
        }
        assert_eq!(Plan::parse(" Startup "), Ok(Plan::Startup));
        assert!(Plan::parse("pro").is_err());
    }
}
