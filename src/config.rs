//! Configuration: defaults < TOML file < `.env` < environment < flags, validated into [`Config`].
//!
//! Every setting is described once by a [`Key`] (its file key, environment variable and flag) and
//! read through one resolver ([`Layers::get`]) that takes the highest layer holding a non-empty
//! value and validates it with the key's parser. A bad value becomes one [`ConfigError`] naming the
//! key, the value (never for secrets), where it came from and what is allowed.
//!
//! Thresholds come only from the file: `[thresholds]` overlays [`Thresholds::default`] and each
//! `[symbol.<COIN>.thresholds]` overlays the result, by merging TOML tables and deserializing
//! the merged table into [`Thresholds`] (no twin struct).

use crate::cli::{Cli, Command};
use crate::model::Level;
use crate::signals::Thresholds;
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::{Table, Value};

pub const DEFAULT_SYMBOLS: [&str; 2] = ["BTC", "ETH"];
pub const MAX_SYMBOLS: usize = 100;
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(60);
/// CoinGlass caches its lists for 10–20 s: polling faster buys nothing.
pub const MIN_POLL_INTERVAL: Duration = Duration::from_secs(10);
pub const MAX_POLL_INTERVAL: Duration = Duration::from_secs(3600);
pub const DEFAULT_REFERENCE_EXCHANGE: &str = "Binance";
pub const DEFAULT_REFERENCE_QUOTE: &str = "USDT";
pub const DEFAULT_BASE_URL: &str = "https://open-api-v4.coinglass.com";
pub const DEFAULT_TELEGRAM_API_URL: &str = "https://api.telegram.org";
pub const DEFAULT_LOG_LEVEL: &str = "info";
pub const LOG_LEVELS: [&str; 5] = ["trace", "debug", "info", "warn", "error"];
pub const DEFAULT_DEMO_SPEED: f64 = 1.0;
/// Fallback data directory when the platform has no home directory.
pub const FALLBACK_DATA_DIR: &str = "./perpwatch-data";

/// Longest cooldown / alert age accepted (keeps `Instant + Duration` far from overflow).
const MAX_ALERT_DURATION: Duration = Duration::from_secs(30 * 86_400);
/// `[history] retention`: 30 days by default, 1 hour to 10 years.
pub const DEFAULT_HISTORY_RETENTION: Duration = Duration::from_secs(30 * 86_400);
const MIN_HISTORY_RETENTION: Duration = Duration::from_secs(3600);
const MAX_HISTORY_RETENTION: Duration = Duration::from_secs(3650 * 86_400);
const MAX_FAILURE_CYCLES: i64 = 1000;
const HIDDEN: &str = "<hidden>";

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

/// CoinGlass subscription plan; one type shared with the client (`crate::source::coinglass::Plan`).
pub use crate::source::coinglass::Plan;

/// The resolved, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Coins, upper case, deduplicated, in the order given.
    pub symbols: Vec<String>,
    pub poll_interval: Duration,
    /// Override of the plan read from the API.
    pub plan: Option<Plan>,
    pub reference_exchange: String,
    pub reference_quote: String,
    pub api_key: Option<SecretString>,
    /// Without a trailing slash.
    pub base_url: String,
    pub data_dir: PathBuf,
    /// One of [`LOG_LEVELS`].
    pub log_level: String,
    /// Global thresholds: defaults overlaid with `[thresholds]`.
    pub thresholds: Thresholds,
    /// Fully merged thresholds of every symbol with a `[symbol.<COIN>.thresholds]` section.
    pub symbol_thresholds: BTreeMap<String, Thresholds>,
    pub alerts: AlertsConfig,
    /// How long the history store keeps cycle snapshots and signals (`[history] retention`).
    pub history_retention: Duration,
    /// `Some` only when both the bot token and the chat id are set.
    pub telegram: Option<TelegramConfig>,
    pub webhook: Option<WebhookConfig>,
    pub mode: Mode,
    /// The config file actually read.
    pub config_path: Option<PathBuf>,
    /// Things worth telling the user once logging is up (never contain secrets).
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlertsConfig {
    /// Lowest level pushed to the alert sinks.
    pub min_level: Level,
    pub cooldown_high: Duration,
    pub cooldown_medium: Duration,
    pub cooldown_low: Duration,
    /// Consecutive failed cycles before one "data source failing" message.
    pub failure_cycles: u32,
    /// How long an unsent alert stays worth sending.
    pub max_age: Duration,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            min_level: Level::Medium,
            cooldown_high: Duration::from_secs(30 * 60),
            cooldown_medium: Duration::from_secs(60 * 60),
            cooldown_low: Duration::from_secs(6 * 3600),
            failure_cycles: 3,
            max_age: Duration::from_secs(30 * 60),
        }
    }
}

/// Telegram sink. `bot_token` is secret: its `Debug` is redacted.
#[derive(Debug, Clone)]
pub struct TelegramConfig {
    pub bot_token: SecretString,
    pub chat_id: String,
    /// Without a trailing slash.
    pub api_url: String,
}

/// Webhook sink. Webhook URLs often embed a token, so `Debug` shows only scheme and host.
#[derive(Clone)]
pub struct WebhookConfig {
    pub url: String,
}

impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = reqwest::Url::parse(&self.url)
            .ok()
            .and_then(|u| u.host_str().map(|h| format!("{}://{h}/…", u.scheme())))
            .unwrap_or_else(|| HIDDEN.to_string());
        f.debug_struct("WebhookConfig")
            .field("url", &shown)
            .finish()
    }
}

/// How perpwatch runs, from the flags.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mode {
    /// The terminal dashboard; false with `--no-ui` or `--once`.
    pub ui: bool,
    /// JSON lines instead of text (headless only).
    pub json: bool,
    /// One cycle, print, exit.
    pub once: bool,
    /// `--demo` (or `backtest --demo`). See also [`Config::is_demo`].
    pub demo: bool,
    pub demo_speed: f64,
}

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
    #[error("config error: unknown key \"{key}\" in {origin}; allowed: {allowed}")]
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

fn line_suffix(at: Option<(usize, usize)>) -> String {
    match at {
        Some((line, 0)) => format!(" line {line}"),
        Some((line, column)) => format!(" line {line}, column {column}"),
        None => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

/// One setting: its (dotted) file key, environment variable and flag.
#[derive(Debug, Clone, Copy)]
struct Key {
    name: &'static str,
    env: Option<&'static str>,
    flag: Option<&'static str>,
    /// Never echo the value.
    secret: bool,
}

impl Key {
    const fn file(name: &'static str) -> Key {
        Key {
            name,
            env: None,
            flag: None,
            secret: false,
        }
    }
    const fn env(self, var: &'static str) -> Key {
        Key {
            env: Some(var),
            ..self
        }
    }
    const fn flag(self, flag: &'static str) -> Key {
        Key {
            flag: Some(flag),
            ..self
        }
    }
    const fn secret(self) -> Key {
        Key {
            secret: true,
            ..self
        }
    }
}

const SYMBOLS: Key = Key::file("symbols")
    .env("PERPWATCH_SYMBOLS")
    .flag("--symbols");
const POLL_INTERVAL: Key = Key::file("poll_interval")
    .env("PERPWATCH_POLL_INTERVAL")
    .flag("--poll-interval");
const PLAN: Key = Key::file("plan").env("PERPWATCH_PLAN").flag("--plan");
const REFERENCE_EXCHANGE: Key = Key::file("reference_exchange")
    .env("PERPWATCH_REFERENCE_EXCHANGE")
    .flag("--reference-exchange");
const REFERENCE_QUOTE: Key = Key::file("reference_quote");
const API_KEY: Key = Key::file("coinglass_api_key")
    .env("COINGLASS_API_KEY")
    .secret();
const BASE_URL: Key = Key::file("coinglass_base_url").env("COINGLASS_BASE_URL");
const DATA_DIR: Key = Key::file("data_dir")
    .env("PERPWATCH_DATA_DIR")
    .flag("--data-dir");
const LOG_LEVEL: Key = Key::file("log_level")
    .env("PERPWATCH_LOG")
    .flag("--log-level");
const MIN_LEVEL: Key = Key::file("alerts.min_level");
const COOLDOWN_HIGH: Key = Key::file("alerts.cooldown_high");
const COOLDOWN_MEDIUM: Key = Key::file("alerts.cooldown_medium");
const COOLDOWN_LOW: Key = Key::file("alerts.cooldown_low");
const FAILURE_CYCLES: Key = Key::file("alerts.failure_cycles");
const MAX_AGE: Key = Key::file("alerts.max_age");
const HISTORY_RETENTION: Key = Key::file("history.retention").env("PERPWATCH_HISTORY_RETENTION");
const TELEGRAM_BOT_TOKEN: Key = Key::file("telegram.bot_token")
    .env("TELEGRAM_BOT_TOKEN")
    .secret();
const TELEGRAM_CHAT_ID: Key = Key::file("telegram.chat_id").env("TELEGRAM_CHAT_ID");
const TELEGRAM_API_URL: Key = Key::file("telegram.api_url").env("TELEGRAM_API_URL");
const WEBHOOK_URL: Key = Key::file("webhook.url").env("WEBHOOK_URL").secret();
/// Flag-only; named in errors about `--demo-speed`.
const DEMO_SPEED: Key = Key::file("demo_speed").flag("--demo-speed");

/// Every key the config file may hold outside `[thresholds]` and `[symbol.*]`, in file order.
const KEYS: [Key; 20] = [
    SYMBOLS,
    POLL_INTERVAL,
    PLAN,
    REFERENCE_EXCHANGE,
    REFERENCE_QUOTE,
    API_KEY,
    BASE_URL,
    DATA_DIR,
    LOG_LEVEL,
    MIN_LEVEL,
    COOLDOWN_HIGH,
    COOLDOWN_MEDIUM,
    COOLDOWN_LOW,
    FAILURE_CYCLES,
    MAX_AGE,
    HISTORY_RETENTION,
    TELEGRAM_BOT_TOKEN,
    TELEGRAM_CHAT_ID,
    TELEGRAM_API_URL,
    WEBHOOK_URL,
];
const THRESHOLDS: &str = "thresholds";
const SYMBOL: &str = "symbol";

/// Keys allowed at the top level of the file, in file order.
fn top_level_keys() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for key in KEYS {
        let first = key.name.split('.').next().unwrap_or(key.name);
        if !out.iter().any(|k| k == first) {
            out.push(first.to_string());
        }
    }
    out.push(THRESHOLDS.to_string());
    out.push(SYMBOL.to_string());
    out
}

/// Keys allowed inside the `[section]` table (empty when `section` is not a table of keys).
fn section_keys(section: &str) -> Vec<String> {
    KEYS.iter()
        .filter_map(|k| k.name.strip_prefix(section)?.strip_prefix('.'))
        .map(str::to_string)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Layers: file, environment (+ .env), flags
// ---------------------------------------------------------------------------------------------

/// A value as found in one layer.
#[derive(Debug, Clone)]
enum Raw {
    Text(String),
    Path(PathBuf),
    Toml(Value),
}

impl Raw {
    fn text(&self) -> Option<&str> {
        match self {
            Raw::Text(s) | Raw::Toml(Value::String(s)) => Some(s),
            Raw::Path(p) => p.to_str(),
            Raw::Toml(_) => None,
        }
    }

    /// Empty strings count as unset, in every layer.
    fn is_empty(&self) -> bool {
        match self {
            Raw::Text(s) | Raw::Toml(Value::String(s)) => s.trim().is_empty(),
            Raw::Path(p) => p.as_os_str().is_empty(),
            Raw::Toml(_) => false,
        }
    }

    fn render(&self, secret: bool) -> String {
        if secret {
            return HIDDEN.to_string();
        }
        let shown = match self {
            Raw::Text(s) => format!("{s:?}"),
            Raw::Path(p) => format!("{:?}", p.display().to_string()),
            Raw::Toml(v) => v.to_string(),
        };
        truncate(shown)
    }
}

fn truncate(s: String) -> String {
    const MAX: usize = 120;
    if s.chars().count() <= MAX {
        s
    } else {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

/// Variables read from a `.env` file.
#[derive(Debug, Clone)]
struct DotEnv {
    path: PathBuf,
    vars: BTreeMap<String, String>,
}

impl DotEnv {
    /// Reads `path` without touching the process environment. A missing file is `None`. A parse
    /// error names the line but never echoes it (it may hold a secret).
    fn read(path: &Path) -> Result<Option<DotEnv>, ConfigError> {
        let io_error = |source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        };
        let iter = match dotenvy::from_path_iter(path) {
            Ok(iter) => iter,
            Err(e) if e.not_found() => return Ok(None),
            Err(dotenvy::Error::Io(source)) => return Err(io_error(source)),
            Err(_) => {
                return Err(ConfigError::DotEnv {
                    path: path.to_path_buf(),
                    line: None,
                })
            }
        };
        let mut vars = BTreeMap::new();
        for item in iter {
            match item {
                Ok((name, value)) => {
                    vars.insert(name, value);
                }
                Err(dotenvy::Error::Io(source)) => return Err(io_error(source)),
                Err(dotenvy::Error::LineParse(bad, _)) => {
                    return Err(ConfigError::DotEnv {
                        path: path.to_path_buf(),
                        line: line_number_of(path, &bad),
                    })
                }
                Err(_) => {
                    return Err(ConfigError::DotEnv {
                        path: path.to_path_buf(),
                        line: None,
                    })
                }
            }
        }
        Ok(Some(DotEnv {
            path: path.to_path_buf(),
            vars,
        }))
    }
}

/// 1-based number of the first line of `path` equal to the first line of `bad`.
fn line_number_of(path: &Path, bad: &str) -> Option<usize> {
    let text = std::fs::read_to_string(path).ok()?;
    let first = bad.lines().next()?.trim_end();
    text.lines()
        .position(|l| l.trim_end() == first)
        .map(|i| i + 1)
}

/// The environment: the real one (injected for tests) first, then `.env`.
struct Env<'a> {
    real: &'a dyn Fn(&str) -> Option<String>,
    dotenv: Option<DotEnv>,
}

impl Env<'_> {
    fn get(&self, var: &str) -> Option<(String, Origin)> {
        if let Some(v) = (self.real)(var).filter(|v| !v.trim().is_empty()) {
            return Some((v, Origin::Env(var.to_string())));
        }
        let dotenv = self.dotenv.as_ref()?;
        let v = dotenv.vars.get(var).filter(|v| !v.trim().is_empty())?;
        Some((
            v.clone(),
            Origin::DotEnv {
                var: var.to_string(),
                path: dotenv.path.clone(),
            },
        ))
    }
}

/// The parsed config file.
#[derive(Debug, Clone)]
struct FileLayer {
    path: PathBuf,
    table: Table,
    /// Group or others may read it (unix).
    shared: bool,
}

impl FileLayer {
    /// Reads `explicit` (must exist) or else `default` (may be missing).
    fn load(
        explicit: Option<&Path>,
        default: Option<&Path>,
    ) -> Result<Option<FileLayer>, ConfigError> {
        let (path, required) = match (explicit, default) {
            (Some(path), _) => (path, true),
            (None, Some(path)) => (path, false),
            (None, None) => return Ok(None),
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let mut layer = FileLayer::parse(&text, path.to_path_buf())?;
                layer.shared = readable_by_others(path);
                Ok(Some(layer))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if required {
                    Err(ConfigError::FileNotFound {
                        path: path.to_path_buf(),
                    })
                } else {
                    Ok(None)
                }
            }
            Err(source) => Err(ConfigError::Io {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Parses TOML text and rejects unknown keys. `path` is only used in messages.
    fn parse(text: &str, path: PathBuf) -> Result<FileLayer, ConfigError> {
        let table: Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Syntax {
                line: e.span().and_then(|span| line_col(text, span.start)),
                message: e.message().trim().replace('\n', "; "),
                path: path.clone(),
            })?;
        check_keys(&table, &path)?;
        Ok(FileLayer {
            path,
            table,
            shared: false,
        })
    }

    /// The value at a dotted key, e.g. `alerts.min_level`.
    fn get(&self, dotted: &str) -> Option<&Value> {
        let mut parts = dotted.split('.');
        let mut value = self.table.get(parts.next()?)?;
        for part in parts {
            value = value.as_table()?.get(part)?;
        }
        Some(value)
    }

    fn origin(&self) -> Origin {
        Origin::File(self.path.clone())
    }
}

#[cfg(unix)]
fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o044 != 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn readable_by_others(_path: &Path) -> bool {
    false
}

fn line_col(text: &str, offset: usize) -> Option<(usize, usize)> {
    let before = text.get(..offset)?;
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Some((line, column))
}

/// Rejects unknown keys (naming the full dotted key and the allowed ones) and sections that are
/// not tables.
fn check_keys(table: &Table, path: &Path) -> Result<(), ConfigError> {
    let origin = || Origin::File(path.to_path_buf());
    let unknown = |key: String, allowed: &[String]| ConfigError::UnknownKey {
        key,
        origin: origin(),
        allowed: allowed.join(", "),
    };
    let as_table = |key: &str, value: &'_ Value, expected: &str| -> Result<Table, ConfigError> {
        value
            .as_table()
            .cloned()
            .ok_or_else(|| ConfigError::Invalid {
                key: key.to_string(),
                value: Raw::Toml(value.clone()).render(false),
                origin: origin(),
                expected: expected.to_string(),
            })
    };
    let threshold_keys = threshold_keys();
    let check_thresholds = |prefix: &str, value: &Value| -> Result<(), ConfigError> {
        let section = as_table(prefix, value, &format!("a [{prefix}] table of numbers"))?;
        match section.keys().find(|k| !threshold_keys.contains(k)) {
            Some(k) => Err(unknown(format!("{prefix}.{k}"), &threshold_keys)),
            None => Ok(()),
        }
    };

    for (name, value) in table {
        if name == THRESHOLDS {
            check_thresholds(THRESHOLDS, value)?;
        } else if name == SYMBOL {
            let coins = as_table(
                SYMBOL,
                value,
                "per-coin sections like [symbol.DOGE.thresholds]",
            )?;
            for (coin, section) in &coins {
                let prefix = format!("{SYMBOL}.{coin}");
                let section = as_table(
                    &prefix,
                    section,
                    &format!("a section like [{prefix}.thresholds]"),
                )?;
                for (key, value) in &section {
                    if key == THRESHOLDS {
                        check_thresholds(&format!("{prefix}.{THRESHOLDS}"), value)?;
                    } else {
                        return Err(unknown(
                            format!("{prefix}.{key}"),
                            &[THRESHOLDS.to_string()],
                        ));
                    }
                }
            }
        } else {
            let allowed = section_keys(name);
            if !allowed.is_empty() {
                let section = as_table(name, value, &format!("a [{name}] table"))?;
                if let Some(k) = section.keys().find(|k| !allowed.contains(k)) {
                    return Err(unknown(format!("{name}.{k}"), &allowed));
                }
            } else if !KEYS.iter().any(|k| k.name == name) {
                return Err(unknown(name.clone(), &top_level_keys()));
            }
        }
    }
    Ok(())
}

/// All layers, in precedence order: flag > environment > `.env` > file.
struct Layers<'a> {
    env: &'a Env<'a>,
    file: Option<&'a FileLayer>,
}

impl Layers<'_> {
    fn lookup(&self, key: Key, flag: Option<Raw>) -> Option<(Raw, Origin)> {
        let from_flag = key
            .flag
            .zip(flag)
            .filter(|(_, raw)| !raw.is_empty())
            .map(|(name, raw)| (raw, Origin::Flag(name)));
        from_flag
            .or_else(|| {
                let (v, origin) = self.env.get(key.env?)?;
                Some((Raw::Text(v), origin))
            })
            .or_else(|| {
                let file = self.file?;
                let raw = Raw::Toml(file.get(key.name)?.clone());
                (!raw.is_empty()).then(|| (raw, file.origin()))
            })
    }

    /// The one reader of "flag or environment or file" for a key: the highest non-empty layer,
    /// validated by `parse` (which returns what is allowed on failure).
    fn get<T>(
        &self,
        key: Key,
        flag: Option<Raw>,
        parse: impl FnOnce(&Raw) -> Result<T, String>,
    ) -> Result<Option<(T, Origin)>, ConfigError> {
        let Some((raw, origin)) = self.lookup(key, flag) else {
            return Ok(None);
        };
        match parse(&raw) {
            Ok(value) => Ok(Some((value, origin))),
            Err(expected) => Err(ConfigError::Invalid {
                key: key.name.to_string(),
                value: raw.render(key.secret),
                origin,
                expected,
            }),
        }
    }

    /// [`Layers::get`] without the origin, falling back to `default`.
    fn get_or<T>(
        &self,
        key: Key,
        flag: Option<Raw>,
        parse: impl FnOnce(&Raw) -> Result<T, String>,
        default: impl FnOnce() -> T,
    ) -> Result<T, ConfigError> {
        Ok(self
            .get(key, flag, parse)?
            .map_or_else(default, |(value, _)| value))
    }
}

// ---------------------------------------------------------------------------------------------
// Value parsers (each returns what is allowed when the value is not)
// ---------------------------------------------------------------------------------------------

const DURATION_EXPECTED: &str =
    "a duration greater than 0 like \"60s\", \"5m\", \"1h30m\" or plain seconds \"90\"";
const SYMBOL_EXPECTED: &str = "a coin made of A-Z and 0-9 like BTC or 1000PEPE";

/// Parses `60s`, `5m`, `1h`, `1d`, compounds in descending order (`1h30m`) and plain seconds
/// (`90`). Rejects zero, negatives, fractions and anything else; the error says what is allowed.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
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
pub fn format_duration(d: Duration) -> String {
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

/// Normalises one coin: trimmed, upper case, `[A-Z0-9]+`.
pub fn parse_symbol(s: &str) -> Result<String, String> {
    let symbol = s.trim().to_ascii_uppercase();
    if !symbol.is_empty() && symbol.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(symbol)
    } else {
        Err(SYMBOL_EXPECTED.to_string())
    }
}

fn parse_symbol_list(raw: &Raw) -> Result<Vec<String>, String> {
    let expected = format!(
        "1 to {MAX_SYMBOLS} coins made of A-Z and 0-9, like [\"BTC\", \"ETH\"] in the file or \
         BTC,ETH in the environment and flags"
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
            parse_symbol(item).map_err(|_| format!("{expected} ({item:?} is not a coin)"))?;
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
fn duration_between(raw: &Raw, min: Duration, max: Duration) -> Result<Duration, String> {
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

fn alert_duration(raw: &Raw) -> Result<Duration, String> {
    duration_between(raw, Duration::from_secs(1), MAX_ALERT_DURATION)
}

fn parse_plan(raw: &Raw) -> Result<Plan, String> {
    raw.text().and_then(|t| Plan::parse(t).ok()).ok_or_else(|| {
        let names: Vec<String> = Plan::ALL
            .iter()
            .map(|p| p.as_str().to_ascii_lowercase())
            .collect();
        format!("one of {}", names.join(", "))
    })
}

fn parse_exchange(raw: &Raw) -> Result<String, String> {
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

fn parse_quote(raw: &Raw) -> Result<String, String> {
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

fn parse_api_key(raw: &Raw) -> Result<SecretString, String> {
    parse_secret(raw, "", "an API key without spaces or control characters")
}

fn parse_bot_token(raw: &Raw) -> Result<SecretString, String> {
    parse_secret(
        raw,
        "/?#%",
        "a bot token like 123456:ABC-DEF… from @BotFather (no spaces, /, ?, # or %)",
    )
}

fn parse_chat_id(raw: &Raw) -> Result<String, String> {
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
fn parse_http_url(raw: &Raw, example: &str) -> Result<String, String> {
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

fn parse_path(raw: &Raw) -> Result<PathBuf, String> {
    match raw {
        Raw::Path(path) => Ok(path.clone()),
        _ => raw
            .text()
            .map(|s| PathBuf::from(s.trim()))
            .ok_or_else(|| "a directory path like \"/var/lib/perpwatch\"".to_string()),
    }
}

fn parse_log_level(raw: &Raw) -> Result<String, String> {
    raw.text()
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| LOG_LEVELS.contains(&s.as_str()))
        .ok_or_else(|| format!("one of {}", LOG_LEVELS.join(", ")))
}

fn parse_min_level(raw: &Raw) -> Result<Level, String> {
    raw.text()
        .and_then(Level::parse)
        .filter(|l| *l != Level::None)
        .ok_or_else(|| "one of high, medium, low".to_string())
}

fn parse_failure_cycles(raw: &Raw) -> Result<u32, String> {
    let n = match raw {
        Raw::Toml(Value::Integer(n)) => Some(*n),
        _ => raw.text().and_then(|s| s.trim().parse::<i64>().ok()),
    };
    n.filter(|n| (1..=MAX_FAILURE_CYCLES).contains(n))
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| format!("a whole number of poll cycles from 1 to {MAX_FAILURE_CYCLES}"))
}

// ---------------------------------------------------------------------------------------------
// Thresholds
// ---------------------------------------------------------------------------------------------

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
fn threshold_keys() -> Vec<String> {
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

    // Pairs that must be ordered; blame the one set last (the low one on a tie).
    let ordered = [
        (
            "deleveraging_retail_low_pct",
            th.deleveraging_retail_low_pct,
            "deleveraging_retail_high_pct",
            th.deleveraging_retail_high_pct,
        ),
        (
            "taker_sell_pressure_pct",
            th.taker_sell_pressure_pct,
            "taker_buy_pressure_pct",
            th.taker_buy_pressure_pct,
        ),
    ];
    for (low_name, low, high_name, high) in ordered {
        if low <= high {
            continue;
        }
        let low_rank = threshold_source(layers, low_name, low, path).3;
        let high_rank = threshold_source(layers, high_name, high, path).3;
        return Err(if high_rank > low_rank {
            invalid(high_name, high, format!("at least {low_name} ({low})"))
        } else {
            invalid(low_name, low, format!("at most {high_name} ({high})"))
        });
    }
    Ok(th)
}

/// Global thresholds and every symbol's merged thresholds.
fn resolve_all_thresholds(
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
            key: format!("{SYMBOL}.{coin}"),
            value: format!("{coin:?}"),
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

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

/// Platform defaults (injected in tests so they never see the developer's files).
struct Defaults {
    config_file: Option<PathBuf>,
    data_dir: PathBuf,
}

impl Defaults {
    fn system() -> Defaults {
        Defaults {
            config_file: default_config_path(),
            data_dir: default_data_dir(),
        }
    }
}

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "perpwatch")
}

/// `$XDG_CONFIG_HOME/perpwatch/config.toml` on Linux (the platform's config dir elsewhere).
pub fn default_config_path() -> Option<PathBuf> {
    project_dirs().map(|d| d.config_dir().join("config.toml"))
}

/// `$XDG_DATA_HOME/perpwatch` on Linux, else [`FALLBACK_DATA_DIR`].
pub fn default_data_dir() -> PathBuf {
    project_dirs().map_or_else(
        || PathBuf::from(FALLBACK_DATA_DIR),
        |d| d.data_dir().to_path_buf(),
    )
}

impl Config {
    /// Loads `.env` from the current directory (without touching the process environment), the
    /// config file, the environment and the flags.
    pub fn load(cli: &Cli) -> Result<Config, ConfigError> {
        let dotenv_path = std::env::current_dir()
            .map(|d| d.join(".env"))
            .unwrap_or_else(|_| PathBuf::from(".env"));
        let dotenv = DotEnv::read(&dotenv_path)?;
        let real = |name: &str| std::env::var(name).ok();
        Config::resolve(
            cli,
            &Env {
                real: &real,
                dotenv,
            },
            &Defaults::system(),
        )
    }

    /// Like [`Config::load`] but with `env` as the whole environment and no `.env` file.
    pub fn load_from(
        cli: &Cli,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        Config::resolve(
            cli,
            &Env {
                real: env,
                dotenv: None,
            },
            &Defaults::system(),
        )
    }

    fn resolve(cli: &Cli, env: &Env<'_>, defaults: &Defaults) -> Result<Config, ConfigError> {
        let file = FileLayer::load(cli.config.as_deref(), defaults.config_file.as_deref())?;
        Config::build(cli, env, file, defaults)
    }

    fn build(
        cli: &Cli,
        env: &Env<'_>,
        file: Option<FileLayer>,
        defaults: &Defaults,
    ) -> Result<Config, ConfigError> {
        let layers = Layers {
            env,
            file: file.as_ref(),
        };
        let flag = |value: &Option<String>| value.clone().map(Raw::Text);

        let symbols = layers.get_or(SYMBOLS, flag(&cli.symbols), parse_symbol_list, || {
            DEFAULT_SYMBOLS.iter().map(|s| s.to_string()).collect()
        })?;
        let poll_interval = layers.get_or(
            POLL_INTERVAL,
            flag(&cli.poll_interval),
            |raw| duration_between(raw, MIN_POLL_INTERVAL, MAX_POLL_INTERVAL),
            || DEFAULT_POLL_INTERVAL,
        )?;
        let plan = layers
            .get(PLAN, flag(&cli.plan), parse_plan)?
            .map(|(p, _)| p);
        let reference_exchange = layers.get_or(
            REFERENCE_EXCHANGE,
            flag(&cli.reference_exchange),
            parse_exchange,
            || DEFAULT_REFERENCE_EXCHANGE.to_string(),
        )?;
        let reference_quote = layers.get_or(REFERENCE_QUOTE, None, parse_quote, || {
            DEFAULT_REFERENCE_QUOTE.to_string()
        })?;
        let api_key = layers.get(API_KEY, None, parse_api_key)?;
        let base_url = layers.get_or(
            BASE_URL,
            None,
            |raw| parse_http_url(raw, DEFAULT_BASE_URL),
            || DEFAULT_BASE_URL.to_string(),
        )?;
        let data_dir = layers.get_or(
            DATA_DIR,
            cli.data_dir.clone().map(Raw::Path),
            parse_path,
            || defaults.data_dir.clone(),
        )?;
        let log_level = layers.get_or(LOG_LEVEL, flag(&cli.log_level), parse_log_level, || {
            DEFAULT_LOG_LEVEL.to_string()
        })?;

        let d = AlertsConfig::default();
        let alerts = AlertsConfig {
            min_level: layers.get_or(MIN_LEVEL, None, parse_min_level, || d.min_level)?,
            cooldown_high: layers
                .get_or(COOLDOWN_HIGH, None, alert_duration, || d.cooldown_high)?,
            cooldown_medium: layers
                .get_or(COOLDOWN_MEDIUM, None, alert_duration, || d.cooldown_medium)?,
            cooldown_low: layers.get_or(COOLDOWN_LOW, None, alert_duration, || d.cooldown_low)?,
            failure_cycles: layers.get_or(FAILURE_CYCLES, None, parse_failure_cycles, || {
                d.failure_cycles
            })?,
            max_age: layers.get_or(MAX_AGE, None, alert_duration, || d.max_age)?,
        };

        let history_retention = layers.get_or(
            HISTORY_RETENTION,
            None,
            |raw| duration_between(raw, MIN_HISTORY_RETENTION, MAX_HISTORY_RETENTION),
            || DEFAULT_HISTORY_RETENTION,
        )?;

        let telegram = Config::telegram(&layers)?;
        let webhook = layers
            .get(WEBHOOK_URL, None, |raw| {
                parse_http_url(raw, "https://example.com/hooks/perpwatch")
            })?
            .map(|(url, _)| WebhookConfig { url });

        let (thresholds, symbol_thresholds) = resolve_all_thresholds(file.as_ref())?;

        let demo_speed = match cli.demo_speed {
            None => DEFAULT_DEMO_SPEED,
            Some(v) if v.is_finite() && v > 0.0 => v,
            Some(v) => {
                return Err(ConfigError::Invalid {
                    key: DEMO_SPEED.name.to_string(),
                    value: v.to_string(),
                    origin: Origin::Flag(DEMO_SPEED.flag.unwrap_or("--demo-speed")),
                    expected: "a number greater than 0, like 10".to_string(),
                })
            }
        };
        let backtest_demo = matches!(&cli.command, Some(Command::Backtest(b)) if b.demo);
        let mode = Mode {
            ui: !(cli.no_ui || cli.once),
            json: cli.json,
            once: cli.once,
            demo: cli.demo || backtest_demo,
            demo_speed,
        };

        let warnings = file.as_ref().map(file_warnings).unwrap_or_default();

        Ok(Config {
            symbols,
            poll_interval,
            plan,
            reference_exchange,
            reference_quote,
            api_key: api_key.map(|(key, _)| key),
            base_url,
            data_dir,
            log_level,
            thresholds,
            symbol_thresholds,
            alerts,
            history_retention,
            telegram,
            webhook,
            mode,
            config_path: file.map(|f| f.path),
            warnings,
        })
    }

    /// Telegram is on when both the token and the chat id are set; one alone is an error.
    fn telegram(layers: &Layers<'_>) -> Result<Option<TelegramConfig>, ConfigError> {
        let token = layers.get(TELEGRAM_BOT_TOKEN, None, parse_bot_token)?;
        let chat_id = layers.get(TELEGRAM_CHAT_ID, None, parse_chat_id)?;
        let api_url = layers.get_or(
            TELEGRAM_API_URL,
            None,
            |raw| parse_http_url(raw, DEFAULT_TELEGRAM_API_URL),
            || DEFAULT_TELEGRAM_API_URL.to_string(),
        )?;
        let missing = |missing: Key, present: Key, origin: Origin| {
            ConfigError::Missing {
            key: missing.name.to_string(),
            reason: format!(
                "{} is set in {origin} but {} is not; set {} in the config file or {} (or remove {})",
                present.name,
                missing.name,
                missing.name,
                missing.env.unwrap_or(missing.name),
                present.name,
            ),
        }
        };
        match (token, chat_id) {
            (Some((bot_token, _)), Some((chat_id, _))) => Ok(Some(TelegramConfig {
                bot_token,
                chat_id,
                api_url,
            })),
            (None, None) => Ok(None),
            (Some((_, origin)), None) => Err(missing(TELEGRAM_CHAT_ID, TELEGRAM_BOT_TOKEN, origin)),
            (None, Some((_, origin))) => Err(missing(TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID, origin)),
        }
    }

    /// The thresholds for `symbol`: its `[symbol.<COIN>.thresholds]` merged onto the global ones,
    /// or the global ones.
    pub fn thresholds_for(&self, symbol: &str) -> Thresholds {
        self.symbol_thresholds
            .get(symbol)
            .or_else(|| {
                self.symbol_thresholds
                    .get(&symbol.trim().to_ascii_uppercase())
            })
            .copied()
            .unwrap_or(self.thresholds)
    }

    /// Demo market: asked for, or no API key.
    pub fn is_demo(&self) -> bool {
        self.mode.demo || self.api_key.is_none()
    }
}

/// Warnings about secrets kept in the config file.
fn file_warnings(file: &FileLayer) -> Vec<String> {
    let mut warnings = Vec::new();
    let holds = |key: Key| {
        file.get(key.name)
            .is_some_and(|v| !Raw::Toml(v.clone()).is_empty())
    };
    if holds(API_KEY) {
        warnings.push(format!(
            "{} is set in {}; prefer the {} environment variable (or a .env file) so the key \
             stays out of the config file",
            API_KEY.name,
            file.path.display(),
            API_KEY.env.unwrap_or(API_KEY.name),
        ));
    }
    let secrets: Vec<&str> = [API_KEY, TELEGRAM_BOT_TOKEN, WEBHOOK_URL]
        .into_iter()
        .filter(|k| holds(*k))
        .map(|k| k.name)
        .collect();
    if file.shared && !secrets.is_empty() {
        warnings.push(format!(
            "{} holds secrets ({}) and other users can read it; run: chmod 600 {}",
            file.path.display(),
            secrets.join(", "),
            file.path.display(),
        ));
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use secrecy::ExposeSecret;
    use std::collections::HashMap;

    const TEST_PATH: &str = "/etc/perpwatch/test.toml";
    const EXAMPLE: &str = include_str!("../assets/config.example.toml");
    const ENV_EXAMPLE: &str = include_str!("../.env.example");

    fn cli(args: &[&str]) -> Cli {
        match Cli::try_parse_from(std::iter::once("perpwatch").chain(args.iter().copied())) {
            Ok(cli) => cli,
            Err(e) => panic!("bad test arguments {args:?}: {e}"),
        }
    }

    fn env_map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn test_defaults() -> Defaults {
        Defaults {
            config_file: None,
            data_dir: PathBuf::from("/default/data"),
        }
    }

    /// Builds a config from flags, an injected environment and config-file text (never the
    /// developer's real files or environment).
    fn build(
        args: &[&str],
        env: &[(&str, &str)],
        file: Option<&str>,
    ) -> Result<Config, ConfigError> {
        let vars = env_map(env);
        let real = move |name: &str| vars.get(name).cloned();
        let file = file
            .map(|text| FileLayer::parse(text, PathBuf::from(TEST_PATH)))
            .transpose()?;
        let env = Env {
            real: &real,
            dotenv: None,
        };
        Config::build(&cli(args), &env, file, &test_defaults())
    }

    fn ok(args: &[&str], env: &[(&str, &str)], file: Option<&str>) -> Config {
        match build(args, env, file) {
            Ok(config) => config,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }

    fn err(args: &[&str], env: &[(&str, &str)], file: Option<&str>) -> String {
        match build(args, env, file) {
            Ok(config) => panic!("expected an error, got {config:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn config_history_retention_from_file_and_env_with_a_clear_error() {
        assert_eq!(
            ok(&[], &[], None).history_retention,
            Duration::from_secs(30 * 86_400)
        );
        let file = "[history]\nretention = \"7d\"";
        assert_eq!(
            ok(&[], &[], Some(file)).history_retention,
            Duration::from_secs(7 * 86_400)
        );
        let env = [("PERPWATCH_HISTORY_RETENTION", "90d")];
        assert_eq!(
            ok(&[], &env, Some(file)).history_retention,
            Duration::from_secs(90 * 86_400),
            "environment beats the file"
        );
        let message = err(&[], &[], Some("[history]\nretention = \"10m\""));
        assert!(
            message.contains("history.retention = \"10m\"") && message.contains("between 1h and"),
            "{message}"
        );
        let message = err(&[], &[("PERPWATCH_HISTORY_RETENTION", "forever")], None);
        assert!(message.contains("PERPWATCH_HISTORY_RETENTION"), "{message}");
    }

    #[test]
    fn config_defaults_without_file_env_or_flags() {
        let c = ok(&[], &[], None);
        assert_eq!(c.symbols, ["BTC", "ETH"]);
        assert_eq!(c.poll_interval, Duration::from_secs(60));
        assert_eq!(c.plan, None);
        assert_eq!(c.reference_exchange, "Binance");
        assert_eq!(c.reference_quote, "USDT");
        assert!(c.api_key.is_none());
        assert_eq!(c.base_url, DEFAULT_BASE_URL);
        assert_eq!(c.data_dir, PathBuf::from("/default/data"));
        assert_eq!(c.log_level, "info");
        assert_eq!(c.thresholds, Thresholds::default());
        assert!(c.symbol_thresholds.is_empty());
        assert_eq!(c.alerts, AlertsConfig::default());
        assert_eq!(c.alerts.min_level, Level::Medium);
        assert_eq!(c.alerts.cooldown_high, Duration::from_secs(1800));
        assert_eq!(c.alerts.cooldown_medium, Duration::from_secs(3600));
        assert_eq!(c.alerts.cooldown_low, Duration::from_secs(6 * 3600));
        assert_eq!(c.alerts.failure_cycles, 3);
        assert_eq!(c.alerts.max_age, Duration::from_secs(1800));
        assert!(c.telegram.is_none());
        assert!(c.webhook.is_none());
        assert_eq!(
            c.mode,
            Mode {
                ui: true,
                json: false,
                once: false,
                demo: false,
                demo_speed: 1.0
            }
        );
        assert!(c.is_demo(), "no API key means demo");
        assert_eq!(c.config_path, None);
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn config_precedence_file_env_flag() {
        let file = r#"
            symbols = ["ada"]
            poll_interval = "2m"
            plan = "hobbyist"
            coinglass_base_url = "http://file.example"
            reference_exchange = "OKX"
            log_level = "warn"
            data_dir = "/file/data"
        "#;
        let env = [
            ("PERPWATCH_SYMBOLS", "xrp,doge"),
            ("PERPWATCH_POLL_INTERVAL", "3m"),
            ("PERPWATCH_PLAN", "startup"),
            ("COINGLASS_BASE_URL", "http://env.example/"),
            ("PERPWATCH_REFERENCE_EXCHANGE", "Bybit"),
            ("PERPWATCH_LOG", "debug"),
            ("PERPWATCH_DATA_DIR", "/env/data"),
        ];
        let flags = [
            "--symbols",
            "sol",
            "--poll-interval",
            "90",
            "--plan",
            "Professional",
            "--reference-exchange",
            "Gate",
            "--log-level",
            "ERROR",
            "--data-dir",
            "/flag/data",
        ];

        let c = ok(&[], &[], Some(file));
        assert_eq!(c.symbols, ["ADA"]);
        assert_eq!(c.poll_interval, Duration::from_secs(120));
        assert_eq!(c.plan, Some(Plan::Hobbyist));
        assert_eq!(c.base_url, "http://file.example");
        assert_eq!(c.reference_exchange, "OKX");
        assert_eq!(c.log_level, "warn");
        assert_eq!(c.data_dir, PathBuf::from("/file/data"));
        assert_eq!(c.config_path, Some(PathBuf::from(TEST_PATH)));

        let c = ok(&[], &env, Some(file));
        assert_eq!(c.symbols, ["XRP", "DOGE"]);
        assert_eq!(c.poll_interval, Duration::from_secs(180));
        assert_eq!(c.plan, Some(Plan::Startup));
        assert_eq!(c.base_url, "http://env.example", "trailing slash dropped");
        assert_eq!(c.reference_exchange, "Bybit");
        assert_eq!(c.log_level, "debug");
        assert_eq!(c.data_dir, PathBuf::from("/env/data"));

        let c = ok(&flags, &env, Some(file));
        assert_eq!(c.symbols, ["SOL"]);
        assert_eq!(c.poll_interval, Duration::from_secs(90));
        assert_eq!(c.plan, Some(Plan::Professional));
        assert_eq!(c.base_url, "http://env.example", "no flag for the base url");
        assert_eq!(c.reference_exchange, "Gate");
        assert_eq!(c.log_level, "error");
        assert_eq!(c.data_dir, PathBuf::from("/flag/data"));
    }

    #[test]
    fn config_empty_env_var_or_flag_counts_as_unset() {
        let file = "plan = \"standard\"\ncoinglass_api_key = \"file-key\"";
        let c = ok(
            &["--plan", ""],
            &[("PERPWATCH_PLAN", ""), ("COINGLASS_API_KEY", "  ")],
            Some(file),
        );
        assert_eq!(c.plan, Some(Plan::Standard));
        assert_eq!(
            c.api_key.as_ref().map(|k| k.expose_secret().to_string()),
            Some("file-key".to_string())
        );
        let c = ok(
            &[],
            &[("COINGLASS_API_KEY", "")],
            Some("coinglass_api_key = \"\""),
        );
        assert!(c.api_key.is_none() && c.is_demo());
    }

    fn write_dotenv(dir: &tempfile::TempDir, text: &str) -> PathBuf {
        let path = dir.path().join(".env");
        if let Err(e) = std::fs::write(&path, text) {
            panic!("cannot write {}: {e}", path.display());
        }
        path
    }

    #[test]
    fn config_dotenv_never_overrides_real_env_but_overrides_the_file() -> Result<(), ConfigError> {
        let dir = tempfile::tempdir().map_err(|source| ConfigError::Io {
            path: PathBuf::from("tempdir"),
            source,
        })?;
        let path = write_dotenv(
            &dir,
            "COINGLASS_BASE_URL=http://dotenv.example\nPERPWATCH_PLAN=startup\n\
             # a comment\nPERPWATCH_SYMBOLS=\"avax, link\"\nPERPWATCH_LOG=\n",
        );
        let dotenv = DotEnv::read(&path)?;
        let vars = env_map(&[("COINGLASS_BASE_URL", "http://real.example")]);
        let real = move |name: &str| vars.get(name).cloned();
        let env = Env {
            real: &real,
            dotenv,
        };
        let file = FileLayer::parse(
            "plan = \"standard\"\nlog_level = \"warn\"",
            PathBuf::from(TEST_PATH),
        )?;
        let c = Config::build(&cli(&[]), &env, Some(file), &test_defaults())?;
        assert_eq!(c.base_url, "http://real.example", "real env beats .env");
        assert_eq!(c.plan, Some(Plan::Startup), ".env beats the file");
        assert_eq!(c.symbols, ["AVAX", "LINK"]);
        assert_eq!(c.log_level, "warn", "an empty .env value is unset");

        let c = Config::build(
            &cli(&["--plan", "professional"]),
            &env,
            None,
            &test_defaults(),
        )?;
        assert_eq!(c.plan, Some(Plan::Professional), "a flag beats .env");
        Ok(())
    }

    #[test]
    fn config_dotenv_errors_name_the_file_and_hide_the_line() -> Result<(), ConfigError> {
        let dir = tempfile::tempdir().map_err(|source| ConfigError::Io {
            path: PathBuf::from("tempdir"),
            source,
        })?;
        let path = write_dotenv(&dir, "PERPWATCH_POLL_INTERVAL=5\n");
        let dotenv = DotEnv::read(&path)?;
        let no_env = |_: &str| None;
        let env = Env {
            real: &no_env,
            dotenv,
        };
        let message = match Config::build(&cli(&[]), &env, None, &test_defaults()) {
            Ok(c) => panic!("expected an error, got {c:?}"),
            Err(e) => e.to_string(),
        };
        assert!(message.contains("poll_interval = \"5\""), "{message}");
        assert!(
            message.contains(&format!("PERPWATCH_POLL_INTERVAL in {}", path.display())),
            "{message}"
        );

        let path = write_dotenv(
            &dir,
            "PERPWATCH_PLAN=startup\nCOINGLASS_API_KEY='sup3r-s3cret\n",
        );
        let message = match DotEnv::read(&path) {
            Ok(vars) => panic!("expected a parse error, got {vars:?}"),
            Err(e) => e.to_string(),
        };
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("line 2"), "{message}");
        assert!(!message.contains("sup3r-s3cret"), "{message}");

        assert!(DotEnv::read(&dir.path().join("missing.env"))?.is_none());
        Ok(())
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
                    "allowed: symbols, poll_interval, plan,",
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
                &[("PERPWATCH_PLAN", "enterprise")],
                None,
                &["plan = \"enterprise\" in environment variable PERPWATCH_PLAN", "hobbyist"],
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

    #[test]
    fn config_symbols_are_trimmed_upper_cased_and_deduplicated() {
        let c = ok(&["--symbols", " btc, eth,,BTC,1000pepe, "], &[], None);
        assert_eq!(c.symbols, ["BTC", "ETH", "1000PEPE"]);
    }

    #[test]
    fn config_demo_speed_validated_even_when_cli_is_built_by_hand() {
        let mut args = cli(&["--demo", "--demo-speed", "4"]);
        let no_env = |_: &str| None;
        let env = Env {
            real: &no_env,
            dotenv: None,
        };
        let c = Config::build(&args, &env, None, &test_defaults());
        assert_eq!(c.map(|c| c.mode.demo_speed).ok(), Some(4.0));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            args.demo_speed = Some(bad);
            let message = Config::build(&args, &env, None, &test_defaults())
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(message.contains("demo_speed = "), "{message}");
            assert!(message.contains("flag --demo-speed"), "{message}");
            assert!(message.contains("greater than 0"), "{message}");
        }
    }

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

    #[test]
    fn config_secrets_never_reach_debug_or_errors() {
        const KEY: &str = "cg-KEY-0123456789";
        const TOKEN: &str = "123456:TOKEN-abcdef";
        const HOOK: &str = "https://hooks.example/services/HOOK-SECRET";
        let c = ok(
            &[],
            &[
                ("COINGLASS_API_KEY", KEY),
                ("TELEGRAM_BOT_TOKEN", TOKEN),
                ("TELEGRAM_CHAT_ID", "@alerts"),
                ("WEBHOOK_URL", HOOK),
            ],
            None,
        );
        assert!(!c.is_demo());
        let debug = format!("{c:?} {:?} {:?}", c.telegram, c.webhook);
        for secret in [KEY, TOKEN, "HOOK-SECRET"] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
        assert!(debug.contains("hooks.example"), "{debug}");
        assert_eq!(
            c.telegram
                .as_ref()
                .map(|t| t.bot_token.expose_secret().to_string()),
            Some(TOKEN.to_string())
        );
        assert_eq!(c.webhook.as_ref().map(|w| w.url.as_str()), Some(HOOK));

        let bad: &[(&str, &str, &str)] = &[
            (
                "COINGLASS_API_KEY",
                "cg key with spaces",
                "coinglass_api_key = <hidden>",
            ),
            (
                "TELEGRAM_BOT_TOKEN",
                "123:tok/en",
                "telegram.bot_token = <hidden>",
            ),
            (
                "WEBHOOK_URL",
                "ftp://hooks.example/SECRET-PATH",
                "webhook.url = <hidden>",
            ),
        ];
        for (var, value, wanted) in bad {
            let e = match build(&[], &[(var, value)], None) {
                Ok(c) => panic!("expected an error, got {c:?}"),
                Err(e) => e,
            };
            let text = format!("{e} {e:?}");
            assert!(text.contains(wanted), "{text}");
            assert!(text.contains(var), "{text}");
            assert!(!text.contains(value), "{value} in {text}");
        }
        let e = err(&[], &[], Some("coinglass_api_key = 12345"));
        assert!(
            e.contains("coinglass_api_key = <hidden>") && !e.contains("12345"),
            "{e}"
        );
        let e = err(&[], &[], Some("coinglass_api_key = \"abc\ndef\""));
        assert!(!e.contains("abc"), "{e}");
    }

    #[test]
    fn config_warns_about_an_api_key_in_the_file() {
        let c = ok(&[], &[], Some("coinglass_api_key = \"cg-in-file\""));
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        assert!(c.warnings[0].contains("COINGLASS_API_KEY"));
        assert!(!c.warnings[0].contains("cg-in-file"));
        let c = ok(&[], &[("COINGLASS_API_KEY", "cg-in-env")], None);
        assert!(c.warnings.is_empty());
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
    fn config_mode_from_flags() {
        let c = ok(&["--no-ui", "--json"], &[], None);
        assert!(!c.mode.ui && c.mode.json && !c.mode.once);
        let c = ok(&["--once"], &[], None);
        assert!(!c.mode.ui && c.mode.once, "--once is headless");
        let c = ok(&["backtest", "--demo"], &[("COINGLASS_API_KEY", "k")], None);
        assert!(c.mode.demo && c.is_demo());
        let c = ok(&[], &[("COINGLASS_API_KEY", "k")], None);
        assert!(!c.is_demo());
        let c = ok(&["--demo"], &[("COINGLASS_API_KEY", "k")], None);
        assert!(c.is_demo());
    }

    #[test]
    fn config_explicit_file_must_exist_default_may_not() -> Result<(), ConfigError> {
        let dir = tempfile::tempdir().map_err(|source| ConfigError::Io {
            path: PathBuf::from("tempdir"),
            source,
        })?;
        let missing = dir.path().join("nope.toml");
        let no_env = |_: &str| None;
        let env = Env {
            real: &no_env,
            dotenv: None,
        };
        let arg = missing.display().to_string();
        let message = match Config::resolve(&cli(&["--config", &arg]), &env, &test_defaults()) {
            Ok(c) => panic!("expected an error, got {c:?}"),
            Err(e) => e.to_string(),
        };
        assert!(
            message.contains(&arg) && message.contains("does not exist"),
            "{message}"
        );

        let defaults = Defaults {
            config_file: Some(missing.clone()),
            data_dir: PathBuf::from("/d"),
        };
        assert_eq!(
            Config::resolve(&cli(&[]), &env, &defaults)?.config_path,
            None
        );

        std::fs::write(&missing, "symbols = [\"ltc\"]").map_err(|source| ConfigError::Io {
            path: missing.clone(),
            source,
        })?;
        let c = Config::resolve(&cli(&[]), &env, &defaults)?;
        assert_eq!(c.symbols, ["LTC"]);
        assert_eq!(c.config_path, Some(missing.clone()));

        // The public entry point with an injected environment.
        let vars = env_map(&[
            ("COINGLASS_API_KEY", "cg-injected"),
            ("PERPWATCH_PLAN", "standard"),
        ]);
        let injected = move |name: &str| vars.get(name).cloned();
        let c = Config::load_from(&cli(&["--config", &arg]), &injected)?;
        assert_eq!(c.symbols, ["LTC"]);
        assert_eq!(c.plan, Some(Plan::Standard));
        assert!(!c.is_demo());
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn config_warns_when_a_file_with_secrets_is_readable_by_others() -> Result<(), ConfigError> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().map_err(|source| ConfigError::Io {
            path: PathBuf::from("tempdir"),
            source,
        })?;
        let path = dir.path().join("config.toml");
        let io = |source| ConfigError::Io {
            path: path.clone(),
            source,
        };
        std::fs::write(&path, "[telegram]\nbot_token = \"1:a\"\nchat_id = \"1\"").map_err(io)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).map_err(io)?;
        let layer = FileLayer::load(Some(&path), None)?;
        let warnings = layer.as_ref().map(file_warnings).unwrap_or_default();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("telegram.bot_token") && warnings[0].contains("chmod 600"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        let layer = FileLayer::load(Some(&path), None)?;
        assert!(layer
            .as_ref()
            .map(file_warnings)
            .unwrap_or_default()
            .is_empty());
        Ok(())
    }

    #[test]
    fn config_example_file_parses_validates_and_shows_the_defaults() -> Result<(), ConfigError> {
        let file = FileLayer::parse(EXAMPLE, PathBuf::from("assets/config.example.toml"))?;
        let no_env = |_: &str| None;
        let env = Env {
            real: &no_env,
            dotenv: None,
        };
        let c = Config::build(&cli(&[]), &env, Some(file), &test_defaults())?;
        let d = ok(&[], &[], None);
        assert_eq!(c.symbols, d.symbols);
        assert_eq!(c.poll_interval, d.poll_interval);
        assert_eq!(c.reference_exchange, d.reference_exchange);
        assert_eq!(c.reference_quote, d.reference_quote);
        assert_eq!(c.base_url, d.base_url);
        assert_eq!(c.log_level, d.log_level);
        assert_eq!(
            c.thresholds,
            Thresholds::default(),
            "[thresholds] shows the defaults"
        );
        assert_eq!(
            c.alerts,
            AlertsConfig::default(),
            "[alerts] shows the defaults"
        );
        assert_eq!(c.history_retention, DEFAULT_HISTORY_RETENTION);
        assert!(c.telegram.is_none() && c.webhook.is_none() && c.api_key.is_none());
        assert_eq!(c.thresholds_for("DOGE").liq_cascade_usd, 5_000_000.0);
        assert!(c.warnings.is_empty());
        // Every key is documented, commented out or not.
        for key in KEYS {
            let leaf = key.name.rsplit('.').next().unwrap_or(key.name);
            assert!(
                EXAMPLE.contains(&format!("{leaf} = ")),
                "{} missing",
                key.name
            );
            if let Some(var) = key.env {
                assert!(EXAMPLE.contains(var), "{var} not mentioned");
            }
            if let Some(flag) = key.flag {
                assert!(EXAMPLE.contains(flag), "{flag} not mentioned");
            }
        }
        for name in threshold_keys() {
            assert!(EXAMPLE.contains(&format!("\n{name} = ")), "{name} missing");
        }
        Ok(())
    }

    #[test]
    fn config_env_example_lists_every_variable() {
        for var in KEYS.iter().filter_map(|k| k.env) {
            assert!(
                ENV_EXAMPLE
                    .lines()
                    .any(|l| l.starts_with(&format!("{var}="))),
                "{var} missing from .env.example"
            );
        }
        for line in ENV_EXAMPLE
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let var = line.split('=').next().unwrap_or(line);
            assert!(KEYS.iter().any(|k| k.env == Some(var)), "{var} is not read");
        }
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
