//! The public types: the resolved configuration and its parts.

use super::{Level, Origin, Plan, Thresholds, HIDDEN};
use crate::signals::relative::{Percentiles, RelativeSettings};
use crate::source::exchanges::{Venue, VenueUrls};
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

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
    /// The source that runs, resolved (`auto` is CoinGlass with a key, else the exchanges).
    pub source: SourceChoice,
    /// `source` was `auto` (not set, or set to auto): `check` says why this source runs.
    pub source_auto: bool,
    /// The venues of the exchanges source, in the order given.
    pub venues: Vec<Venue>,
    /// The venue the exchanges source takes long/short and taker flow from (one of `venues`).
    pub reference_venue: Venue,
    /// Where each venue is reached (no trailing slash).
    pub venue_urls: VenueUrls,
    pub api_key: Option<SecretString>,
    /// Without a trailing slash.
    pub base_url: String,
    pub data_dir: PathBuf,
    /// Where `data_dir` was set ([`Origin::Default`]: the platform's default).
    pub data_dir_origin: Origin,
    /// One of [`LOG_LEVELS`](super::LOG_LEVELS).
    pub log_level: String,
    /// Where `/metrics` and `/healthz` are served (off when `None`).
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Global thresholds: defaults overlaid with `[thresholds]`.
    pub thresholds: Thresholds,
    /// Fully merged thresholds of every symbol with a `[symbol.<COIN>.thresholds]` section.
    pub symbol_thresholds: BTreeMap<String, Thresholds>,
    /// How thresholds are derived: the mode (`[thresholds] mode`, `PERPWATCH_THRESHOLD_MODE`,
    /// `--threshold-mode`), the window (`[thresholds] window`) and the global percentiles. Live
    /// cycles are sampled hourly ([`RelativeSettings::sample_ms`]); the backtest sets its bar
    /// length there.
    pub relative: RelativeSettings,
    /// Fully merged percentiles of every symbol with a `[symbol.<COIN>.thresholds]` section.
    pub symbol_percentiles: BTreeMap<String, Percentiles>,
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

/// Where market data comes from, resolved from `source` / `PERPWATCH_SOURCE` / `--source`
/// (and `--demo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceChoice {
    /// The CoinGlass API (needs `COINGLASS_API_KEY`).
    CoinGlass,
    /// Binance, Bybit and OKX public data (no key).
    Exchanges,
    /// The simulated market.
    Demo,
}

impl SourceChoice {
    /// `coinglass`, `exchanges`, `demo`: as the setting spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceChoice::CoinGlass => "coinglass",
            SourceChoice::Exchanges => "exchanges",
            SourceChoice::Demo => "demo",
        }
    }
}

impl fmt::Display for SourceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
    /// `--demo`, `--source demo` (or `backtest --demo`): the resolved source is the demo. See
    /// also [`Config::is_demo`].
    pub demo: bool,
    pub demo_speed: f64,
    /// The dashboard captures the mouse; false with `--no-mouse` or `[ui] mouse = false`, which
    /// leave the mouse to the terminal (text selection).
    pub mouse: bool,
}

#[cfg(test)]
mod tests {
    use crate::config::test_support::{build, err, ok};
    use secrecy::ExposeSecret;

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
}
