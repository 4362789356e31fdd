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

pub mod cli;
mod error;
mod keys;
mod layers;
mod model;
mod parse;
mod paths;
mod sources;
#[cfg(test)]
mod test_support;
mod thresholds;

use crate::model::Level;
use crate::signals::relative::{self, Percentiles, RelativeSettings};
use crate::signals::Thresholds;
use crate::source::exchanges::ExchangesConfig;
use cli::{Cli, Command};
use keys::{
    Key, API_KEY, BASE_URL, COOLDOWN_HIGH, COOLDOWN_LOW, COOLDOWN_MEDIUM, DATA_DIR, DEMO_SPEED,
    FAILURE_CYCLES, HISTORY_RETENTION, LOG_LEVEL, MAX_AGE, METRICS_ADDR, MIN_LEVEL, PLAN,
    POLL_INTERVAL, REFERENCE_EXCHANGE, REFERENCE_QUOTE, SYMBOLS, TELEGRAM_API_URL,
    TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID, THRESHOLD_MODE, THRESHOLD_WINDOW, UI_MOUSE, WEBHOOK_URL,
};
use layers::{DotEnv, Env, FileLayer, Layers, Raw};
use parse::{
    alert_duration, duration_between, parse_api_key, parse_bool, parse_bot_token, parse_chat_id,
    parse_data_dir, parse_exchange, parse_failure_cycles, parse_http_url, parse_log_level,
    parse_metrics_addr, parse_min_level, parse_plan, parse_quote, parse_symbol_list,
    parse_threshold_mode, parse_threshold_window, usable_dir,
};
use sources::{resolve_sources, SourceFlags};
use std::path::PathBuf;
use std::time::Duration;
use thresholds::resolve_all_thresholds;

pub use error::{cut, quoted, ConfigError, Origin, QUOTE_MAX};
pub use model::{AlertsConfig, Config, Mode, SourceChoice, TelegramConfig, WebhookConfig};
pub use paths::{machine_help, ConfigFile, Paths};

/// CoinGlass subscription plan; one type shared with the client (`crate::source::coinglass::Plan`).
pub use crate::source::coinglass::Plan;

const DEFAULT_SYMBOLS: [&str; 2] = ["BTC", "ETH"];
const MAX_SYMBOLS: usize = 100;
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(60);
/// CoinGlass caches its lists for 10–20 s: polling faster buys nothing.
const MIN_POLL_INTERVAL: Duration = Duration::from_secs(10);
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(3600);
const DEFAULT_REFERENCE_EXCHANGE: &str = "Binance";
const DEFAULT_REFERENCE_QUOTE: &str = "USDT";
use crate::source::coinglass::DEFAULT_BASE_URL;
const DEFAULT_TELEGRAM_API_URL: &str = "https://api.telegram.org";
const DEFAULT_LOG_LEVEL: &str = "info";
const LOG_LEVELS: [&str; 5] = ["trace", "debug", "info", "warn", "error"];
const DEFAULT_DEMO_SPEED: f64 = 1.0;
/// Fallback data directory when the platform has no home directory.
const FALLBACK_DATA_DIR: &str = "./perpwatch-data";

/// Longest cooldown / alert age accepted (keeps `Instant + Duration` far from overflow).
const MAX_ALERT_DURATION: Duration = Duration::from_secs(30 * 86_400);
/// `[history] retention`: 30 days by default, 1 hour to 10 years.
const DEFAULT_HISTORY_RETENTION: Duration = Duration::from_secs(30 * 86_400);
const MIN_HISTORY_RETENTION: Duration = Duration::from_secs(3600);
const MAX_HISTORY_RETENTION: Duration = Duration::from_secs(3650 * 86_400);
const MAX_FAILURE_CYCLES: i64 = 1000;
/// `[thresholds] window`: 30 days by default, 7 days to a year.
const DEFAULT_THRESHOLD_WINDOW: Duration = Duration::from_secs(30 * 86_400);
const MIN_THRESHOLD_WINDOW: Duration = Duration::from_secs(7 * 86_400);
const MAX_THRESHOLD_WINDOW: Duration = Duration::from_secs(365 * 86_400);
const HIDDEN: &str = "<hidden>";

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
fn default_config_path() -> Option<PathBuf> {
    project_dirs().map(|d| d.config_dir().join("config.toml"))
}

/// `$XDG_DATA_HOME/perpwatch` on Linux, else [`FALLBACK_DATA_DIR`].
fn default_data_dir() -> PathBuf {
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
        // A subcommand's own `--symbols`, `--plan`, … win over the ones given before it.
        let cli = &cli.settled();
        let flag = |value: &Option<String>| value.clone().map(Raw::Text);

        let symbols = layers.get_or(SYMBOLS, flag(&cli.poll.symbols), parse_symbol_list, || {
            DEFAULT_SYMBOLS.iter().map(|s| s.to_string()).collect()
        })?;
        // Set by the user (any layer), or `None`: the default depends on the source (below).
        let poll_interval_set = layers
            .get(POLL_INTERVAL, flag(&cli.poll.poll_interval), |raw| {
                duration_between(raw, MIN_POLL_INTERVAL, MAX_POLL_INTERVAL)
            })?
            .map(|(d, _)| d);
        let plan = layers
            .get(PLAN, flag(&cli.source.plan), parse_plan)?
            .map(|(p, _)| p);
        let reference_set = layers.get(
            REFERENCE_EXCHANGE,
            flag(&cli.source.reference_exchange),
            parse_exchange,
        )?;
        let reference_exchange = reference_set.as_ref().map_or_else(
            || DEFAULT_REFERENCE_EXCHANGE.to_string(),
            |(e, _)| e.clone(),
        );
        let reference_quote = layers.get_or(REFERENCE_QUOTE, None, parse_quote, || {
            DEFAULT_REFERENCE_QUOTE.to_string()
        })?;
        let api_key = layers.get(API_KEY, None, parse_api_key)?;
        let backtest_demo = matches!(&cli.command, Some(Command::Backtest(b)) if b.demo);
        let sources = resolve_sources(
            &layers,
            SourceFlags {
                source: cli.source.source.as_deref(),
                exchanges: cli.poll.exchanges.as_deref(),
                demo: cli.demo || backtest_demo,
            },
            api_key.is_some(),
            reference_set.as_ref(),
        )?;
        let base_url = layers.http_url_or(BASE_URL, DEFAULT_BASE_URL)?;
        let (data_dir, data_dir_origin) = match layers.get(
            DATA_DIR,
            cli.data_dir.clone().map(Raw::Path),
            parse_data_dir,
        )? {
            Some(found) => found,
            None => {
                let dir = defaults.data_dir.clone();
                usable_dir(&dir).map_err(|expected| ConfigError::Invalid {
                    key: DATA_DIR.name.to_string(),
                    value: Raw::Path(dir.clone()).render(false),
                    origin: Origin::Default,
                    expected,
                })?;
                (dir, Origin::Default)
            }
        };
        let log_level = layers.get_or(LOG_LEVEL, flag(&cli.log_level), parse_log_level, || {
            DEFAULT_LOG_LEVEL.to_string()
        })?;

        let metrics_addr = layers
            .get(METRICS_ADDR, flag(&cli.metrics_addr), parse_metrics_addr)?
            .map(|(addr, _)| addr);

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

        // `--no-mouse` is the flag layer of `[ui] mouse`: it can only turn the mouse off.
        let no_mouse = cli
            .no_mouse
            .then_some(Raw::Toml(toml::Value::Boolean(false)));
        let mouse = layers.get_or(UI_MOUSE, no_mouse, parse_bool, || true)?;

        let telegram = Config::telegram(&layers)?;
        let webhook = layers
            .get(WEBHOOK_URL, None, |raw| {
                parse_http_url(raw, "https://example.com/hooks/perpwatch")
            })?
            .map(|(url, _)| WebhookConfig { url });

        let resolved = resolve_all_thresholds(file.as_ref())?;
        let threshold_mode = layers.get_or(
            THRESHOLD_MODE,
            flag(&cli.threshold_mode),
            parse_threshold_mode,
            relative::ThresholdMode::default,
        )?;
        let window = layers.get_or(THRESHOLD_WINDOW, None, parse_threshold_window, || {
            DEFAULT_THRESHOLD_WINDOW
        })?;
        let relative = relative_settings(threshold_mode, window, resolved.percentiles);

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
        let demo = sources.source == SourceChoice::Demo;
        // The demo's clock runs `demo_speed` times faster: so does its default poll, or a sped-up
        // loop would be sampled at the same phase every cycle and the screen would not move.
        let poll_interval = match poll_interval_set {
            Some(d) => d,
            None if demo => demo_poll_interval(demo_speed),
            None => DEFAULT_POLL_INTERVAL,
        };
        let mode = Mode {
            ui: !(cli.no_ui || cli.once),
            json: cli.json,
            once: cli.once,
            demo,
            demo_speed,
            mouse,
        };

        let mut warnings = file.as_ref().map(file_warnings).unwrap_or_default();
        if let Some(addr) = metrics_addr.filter(|a| !a.ip().is_loopback()) {
            warnings.push(format!(
                "{} = {addr} is not a loopback address: /metrics and /healthz answer anyone who \
                 can reach it, without authentication (use 127.0.0.1:{} to keep them local)",
                METRICS_ADDR.name,
                addr.port()
            ));
        }

        Ok(Config {
            symbols,
            poll_interval,
            plan,
            reference_exchange,
            reference_quote,
            source: sources.source,
            source_auto: sources.auto,
            venues: sources.venues,
            reference_venue: sources.reference,
            venue_urls: sources.urls,
            api_key: api_key.map(|(key, _)| key),
            base_url,
            data_dir,
            data_dir_origin,
            log_level,
            metrics_addr,
            thresholds: resolved.global,
            symbol_thresholds: resolved.per_symbol,
            relative,
            symbol_percentiles: resolved.symbol_percentiles,
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
        let api_url = layers.http_url_or(TELEGRAM_API_URL, DEFAULT_TELEGRAM_API_URL)?;
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

    /// How `symbol`'s relative thresholds are derived: the global settings with its
    /// `[symbol.<COIN>.thresholds]` percentiles, if any.
    pub fn relative_for(&self, symbol: &str) -> RelativeSettings {
        let percentiles = self
            .symbol_percentiles
            .get(symbol)
            .or_else(|| {
                self.symbol_percentiles
                    .get(&symbol.trim().to_ascii_uppercase())
            })
            .copied()
            .unwrap_or(self.relative.percentiles);
        RelativeSettings {
            percentiles,
            ..self.relative
        }
    }

    /// The demo market runs (`--demo`, `--source demo`, `backtest --demo`).
    pub fn is_demo(&self) -> bool {
        self.source == SourceChoice::Demo
    }

    /// What the exchanges source is asked to watch.
    pub fn exchanges_config(&self) -> ExchangesConfig {
        ExchangesConfig {
            symbols: self.symbols.clone(),
            venues: self.venues.clone(),
            reference: self.reference_venue,
            urls: self.venue_urls.clone(),
            poll_interval: self.poll_interval,
        }
    }
}

/// The relative settings of a live run: hourly samples over `window`, each metric usable once
/// it has [`relative::MIN_HISTORY_MS`] of history (half the window when that is shorter).
fn relative_settings(
    mode: relative::ThresholdMode,
    window: Duration,
    percentiles: Percentiles,
) -> RelativeSettings {
    let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
    RelativeSettings {
        mode,
        window_ms,
        min_history_ms: relative::MIN_HISTORY_MS.min(window_ms / 2),
        sample_ms: relative::HOUR_MS,
        percentiles,
    }
}

/// The demo's default poll interval at `speed`: the default interval divided by the speed-up,
/// kept within the allowed poll intervals (10 s to 1 h). Used only when no poll interval is set.
pub fn demo_poll_interval(speed: f64) -> Duration {
    let secs = DEFAULT_POLL_INTERVAL.as_secs_f64() / speed;
    if !secs.is_finite() {
        return DEFAULT_POLL_INTERVAL;
    }
    Duration::from_secs_f64(secs.clamp(
        MIN_POLL_INTERVAL.as_secs_f64(),
        MAX_POLL_INTERVAL.as_secs_f64(),
    ))
}

impl Config {
    /// Settles the frontend for where stdout goes. The dashboard needs a terminal: piped or
    /// redirected output runs headless, as with `--no-ui` (`--json` included, so
    /// `perpwatch --json | jq` works). On a terminal `--json` needs `--no-ui` or `--once`.
    /// Subcommands print their own output and are left alone. Returns whether the run switched
    /// to headless because stdout is not a terminal.
    pub fn settle_output(
        &mut self,
        subcommand: bool,
        stdout_is_terminal: bool,
    ) -> Result<bool, ConfigError> {
        if subcommand || !self.mode.ui {
            return Ok(false);
        }
        if !stdout_is_terminal {
            self.mode.ui = false;
            return Ok(true);
        }
        if self.mode.json {
            return Err(ConfigError::Missing {
                key: "--no-ui".to_string(),
                reason: "--json prints JSON lines instead of the dashboard; on a terminal add \
                         --no-ui (or --once), or pipe the output (perpwatch --json | jq)"
                    .to_string(),
            });
        }
        Ok(false)
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
    use super::keys::KEYS;
    use super::test_support::{cli, err, ok, temp_dir, test_defaults};
    use super::thresholds::{percentile_keys, threshold_keys};
    use super::*;
    const EXAMPLE: &str = include_str!("../../assets/config.example.toml");

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
    fn config_mouse_is_on_by_default_and_off_from_the_file_or_the_flag() {
        assert!(ok(&[], &[], None).mode.mouse, "on by default");
        let off = "[ui]\nmouse = false";
        assert!(!ok(&[], &[], Some(off)).mode.mouse);
        assert!(!ok(&["--no-mouse"], &[], None).mode.mouse);
        assert!(
            !ok(&["--no-mouse"], &[], Some("[ui]\nmouse = true"))
                .mode
                .mouse,
            "the flag wins over the file"
        );
        assert!(ok(&[], &[], Some("[ui]\nmouse = true")).mode.mouse);
        let e = err(&[], &[], Some("[ui]\nmouse = \"sometimes\""));
        assert!(
            e.contains("ui.mouse") && e.contains("true or false") && e.contains("sometimes"),
            "{e}"
        );
        let e = err(&[], &[], Some("[ui]\nmice = false"));
        assert!(e.contains("ui.mice") && e.contains("mouse"), "{e}");
    }

    #[test]
    fn a_subcommands_own_options_reach_the_configuration() {
        let c = ok(
            &["check", "--symbols", "sol", "--poll-interval", "2m"],
            &[],
            None,
        );
        assert_eq!(c.symbols, ["SOL"]);
        assert_eq!(c.poll_interval, Duration::from_secs(120));
        let c = ok(
            &["--symbols", "ada", "check", "--plan", "startup"],
            &[],
            None,
        );
        assert_eq!(c.symbols, ["ADA"]);
        assert_eq!(c.plan, Some(Plan::Startup));
        let c = ok(&["backtest", "--reference-exchange", "OKX"], &[], None);
        assert_eq!(c.reference_exchange, "OKX");
        assert!(ok(&["check", "--demo"], &[], None).mode.demo);
    }

    #[test]
    fn config_metrics_addr_is_off_by_default_and_validated_in_every_layer() {
        use std::net::SocketAddr;
        let addr = |s: &str| s.parse::<SocketAddr>().ok();
        assert_eq!(ok(&[], &[], None).metrics_addr, None, "off by default");
        let c = ok(&["--metrics-addr", "127.0.0.1:9184"], &[], None);
        assert_eq!(c.metrics_addr, addr("127.0.0.1:9184"));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        // A bare port is loopback; IPv6 loopback is loopback too.
        let c = ok(&[], &[("PERPWATCH_METRICS_ADDR", "9200")], None);
        assert_eq!(c.metrics_addr, addr("127.0.0.1:9200"));
        let c = ok(&[], &[], Some("metrics_addr = 9300"));
        assert_eq!(c.metrics_addr, addr("127.0.0.1:9300"));
        let c = ok(&[], &[], Some("metrics_addr = \"[::1]:9184\""));
        assert_eq!(c.metrics_addr, addr("[::1]:9184"));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        // Precedence: flag > environment > file.
        let c = ok(
            &["--metrics-addr", "127.0.0.1:1"],
            &[("PERPWATCH_METRICS_ADDR", "127.0.0.1:2")],
            Some("metrics_addr = \"127.0.0.1:3\""),
        );
        assert_eq!(c.metrics_addr, addr("127.0.0.1:1"));
        // Another host may scrape it only because the user said so: allowed, with a warning.
        let c = ok(&["--metrics-addr", "0.0.0.0:9184"], &[], None);
        assert_eq!(c.metrics_addr, addr("0.0.0.0:9184"));
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        assert!(
            c.warnings[0].contains("0.0.0.0:9184") && c.warnings[0].contains("not a loopback"),
            "{:?}",
            c.warnings
        );
        // Bad values name the culprit, where it came from and what is allowed.
        for bad in [
            "localhost:9184",
            "127.0.0.1",
            "127.0.0.1:0",
            "0",
            "127.0.0.1:70000",
            "x",
        ] {
            let message = err(&["--metrics-addr", bad], &[], None);
            assert!(
                message.contains(&format!("metrics_addr = {bad:?}"))
                    && message.contains("flag --metrics-addr")
                    && message.contains("IP:PORT like 127.0.0.1:9184"),
                "{message}"
            );
        }
        let message = err(&[], &[("PERPWATCH_METRICS_ADDR", "9184x")], None);
        assert!(message.contains("PERPWATCH_METRICS_ADDR"), "{message}");
        let message = err(&[], &[], Some("metrics_addr = 70000"));
        assert!(message.contains("metrics_addr = 70000"), "{message}");
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
                demo_speed: 1.0,
                mouse: true,
            }
        );
        assert_eq!(
            c.source,
            SourceChoice::Exchanges,
            "no API key: the exchanges' public data"
        );
        assert!(c.source_auto && !c.is_demo());
        assert_eq!(c.venues, crate::source::exchanges::Venue::ALL.to_vec());
        assert_eq!(c.config_path, None);
        assert!(c.warnings.is_empty());
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
    fn config_warns_about_an_api_key_in_the_file() {
        let c = ok(&[], &[], Some("coinglass_api_key = \"cg-in-file\""));
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        assert!(c.warnings[0].contains("COINGLASS_API_KEY"));
        assert!(!c.warnings[0].contains("cg-in-file"));
        let c = ok(&[], &[("COINGLASS_API_KEY", "cg-in-env")], None);
        assert!(c.warnings.is_empty());
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
    fn config_json_without_no_ui_runs_headless_when_stdout_is_not_a_terminal() {
        // `perpwatch --json | cat`: headless JSON lines, as documented.
        let mut c = ok(&["--json"], &[], None);
        assert_eq!(c.settle_output(false, false).ok(), Some(true));
        assert!(!c.mode.ui && c.mode.json);
        // Piped dashboard without --json: headless text.
        let mut c = ok(&[], &[], None);
        assert_eq!(c.settle_output(false, false).ok(), Some(true));
        assert!(!c.mode.ui && !c.mode.json);
        // Already headless, or a subcommand: nothing to switch.
        let mut c = ok(&["--no-ui", "--json"], &[], None);
        assert_eq!(c.settle_output(false, false).ok(), Some(false));
        assert!(!c.mode.ui && c.mode.json);
        let mut c = ok(&["check"], &[], None);
        assert_eq!(c.settle_output(true, false).ok(), Some(false));
        // On a terminal the dashboard stays; --json there needs --no-ui or --once, said clearly.
        let mut c = ok(&[], &[], None);
        assert_eq!(c.settle_output(false, true).ok(), Some(false));
        assert!(c.mode.ui);
        let mut c = ok(&["--json"], &[], None);
        let message = c
            .settle_output(false, true)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            message.contains("--json") && message.contains("--no-ui") && message.contains("--once"),
            "{message}"
        );
        let mut c = ok(&["--json", "--once"], &[], None);
        assert_eq!(c.settle_output(false, true).ok(), Some(false));
    }

    #[test]
    fn config_demo_speed_scales_the_default_poll_only() {
        let secs = |c: &Config| c.poll_interval.as_secs_f64();
        // The demo runs: its default poll follows the speed-up.
        assert_eq!(secs(&ok(&["--demo", "--demo-speed", "4"], &[], None)), 15.0);
        assert_eq!(secs(&ok(&["--demo", "--demo-speed", "2"], &[], None)), 30.0);
        let env = [("PERPWATCH_SOURCE", "demo")];
        assert_eq!(secs(&ok(&["--demo-speed", "4"], &env, None)), 15.0);
        // Bounded by the allowed poll intervals (10 s to 1 h).
        let demo = |speed: &str| ok(&["--demo", "--demo-speed", speed], &[], None);
        assert_eq!(secs(&demo("10")), 10.0);
        assert_eq!(secs(&demo("1000")), 10.0);
        assert_eq!(secs(&demo("0.5")), 120.0);
        assert_eq!(secs(&demo("0.001")), 3600.0);
        assert_eq!(
            secs(&ok(&["--demo"], &[], None)),
            60.0,
            "speed 1: the default"
        );
        // Without a key the exchanges run: the speed-up is the demo's, the default stays 60 s.
        assert_eq!(secs(&ok(&["--demo-speed", "10"], &[], None)), 60.0);
        // A poll interval the user set wins, from any layer.
        assert_eq!(
            secs(&ok(
                &["--demo", "--demo-speed", "10", "--poll-interval", "45s"],
                &[],
                None
            )),
            45.0
        );
        let env = [("PERPWATCH_POLL_INTERVAL", "90s")];
        assert_eq!(
            secs(&ok(&["--demo", "--demo-speed", "10"], &env, None)),
            90.0
        );
        let file = "poll_interval = \"20s\"";
        assert_eq!(
            secs(&ok(&["--demo", "--demo-speed", "10"], &[], Some(file))),
            20.0
        );
        // Live (a key, no --demo): the speed-up is the demo's, the default stays 60 s.
        let key = [("COINGLASS_API_KEY", "k")];
        assert_eq!(secs(&ok(&["--demo-speed", "10"], &key, None)), 60.0);
        assert_eq!(
            secs(&ok(&["--demo", "--demo-speed", "10"], &key, None)),
            10.0
        );
    }

    #[cfg(unix)]
    #[test]
    fn config_warns_when_a_file_with_secrets_is_readable_by_others() -> Result<(), ConfigError> {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir()?;
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
        assert_eq!(
            (c.source, c.source_auto, &c.venues, c.reference_venue),
            (d.source, d.source_auto, &d.venues, d.reference_venue)
        );
        assert_eq!(c.venue_urls, d.venue_urls);
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
        assert!(c.mode.mouse, "[ui] shows the default");
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
        for name in threshold_keys().into_iter().chain(percentile_keys()) {
            assert!(EXAMPLE.contains(&format!("\n{name} = ")), "{name} missing");
        }
        assert_eq!(
            c.relative, d.relative,
            "mode, window and percentiles show the defaults"
        );
        Ok(())
    }
}
