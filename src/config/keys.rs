//! Keys: every setting's file key, environment variable and flag, described once.

/// One setting: its (dotted) file key, environment variable and flag.
#[derive(Debug, Clone, Copy)]
pub(super) struct Key {
    pub(super) name: &'static str,
    pub(super) env: Option<&'static str>,
    pub(super) flag: Option<&'static str>,
    /// Never echo the value.
    pub(super) secret: bool,
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

pub(super) const SYMBOLS: Key = Key::file("symbols")
    .env("PERPWATCH_SYMBOLS")
    .flag("--symbols");
pub(super) const POLL_INTERVAL: Key = Key::file("poll_interval")
    .env("PERPWATCH_POLL_INTERVAL")
    .flag("--poll-interval");
pub(super) const PLAN: Key = Key::file("plan").env("PERPWATCH_PLAN").flag("--plan");
pub(super) const REFERENCE_EXCHANGE: Key = Key::file("reference_exchange")
    .env("PERPWATCH_REFERENCE_EXCHANGE")
    .flag("--reference-exchange");
pub(super) const REFERENCE_QUOTE: Key = Key::file("reference_quote");
/// Where market data comes from: auto, coinglass, exchanges or demo.
pub(super) const SOURCE: Key = Key::file("source").env("PERPWATCH_SOURCE").flag("--source");
/// The venues of the exchanges source.
pub(super) const EXCHANGES: Key = Key::file("exchanges")
    .env("PERPWATCH_EXCHANGES")
    .flag("--exchanges");
pub(super) const BINANCE_FAPI_URL: Key = Key::file("binance_fapi_url").env("BINANCE_FAPI_URL");
pub(super) const BINANCE_WS_URL: Key = Key::file("binance_ws_url").env("BINANCE_WS_URL");
pub(super) const BYBIT_API_URL: Key = Key::file("bybit_api_url").env("BYBIT_API_URL");
pub(super) const BYBIT_WS_URL: Key = Key::file("bybit_ws_url").env("BYBIT_WS_URL");
pub(super) const OKX_API_URL: Key = Key::file("okx_api_url").env("OKX_API_URL");
pub(super) const OKX_WS_URL: Key = Key::file("okx_ws_url").env("OKX_WS_URL");
pub(super) const API_KEY: Key = Key::file("coinglass_api_key")
    .env("COINGLASS_API_KEY")
    .secret();
pub(super) const BASE_URL: Key = Key::file("coinglass_base_url").env("COINGLASS_BASE_URL");
pub(super) const DATA_DIR: Key = Key::file("data_dir")
    .env("PERPWATCH_DATA_DIR")
    .flag("--data-dir");
pub(super) const LOG_LEVEL: Key = Key::file("log_level")
    .env("PERPWATCH_LOG")
    .flag("--log-level");
pub(super) const MIN_LEVEL: Key = Key::file("alerts.min_level");
pub(super) const COOLDOWN_HIGH: Key = Key::file("alerts.cooldown_high");
pub(super) const COOLDOWN_MEDIUM: Key = Key::file("alerts.cooldown_medium");
pub(super) const COOLDOWN_LOW: Key = Key::file("alerts.cooldown_low");
pub(super) const FAILURE_CYCLES: Key = Key::file("alerts.failure_cycles");
pub(super) const MAX_AGE: Key = Key::file("alerts.max_age");
pub(super) const HISTORY_RETENTION: Key =
    Key::file("history.retention").env("PERPWATCH_HISTORY_RETENTION");
pub(super) const TELEGRAM_BOT_TOKEN: Key = Key::file("telegram.bot_token")
    .env("TELEGRAM_BOT_TOKEN")
    .secret();
pub(super) const TELEGRAM_CHAT_ID: Key = Key::file("telegram.chat_id").env("TELEGRAM_CHAT_ID");
pub(super) const TELEGRAM_API_URL: Key = Key::file("telegram.api_url").env("TELEGRAM_API_URL");
pub(super) const WEBHOOK_URL: Key = Key::file("webhook.url").env("WEBHOOK_URL").secret();
pub(super) const METRICS_ADDR: Key = Key::file("metrics_addr")
    .env("PERPWATCH_METRICS_ADDR")
    .flag("--metrics-addr");
/// `[ui] mouse = false` or `--no-mouse`: the dashboard leaves the mouse to the terminal.
pub(super) const UI_MOUSE: Key = Key::file("ui.mouse").flag("--no-mouse");
/// `[thresholds] mode`: relative or static thresholds.
pub(super) const THRESHOLD_MODE: Key = Key::file("thresholds.mode")
    .env("PERPWATCH_THRESHOLD_MODE")
    .flag("--threshold-mode");
/// `[thresholds] window`: the trailing window relative thresholds are drawn from.
pub(super) const THRESHOLD_WINDOW: Key = Key::file("thresholds.window");
/// Flag-only; named in errors about `--demo-speed`.
pub(super) const DEMO_SPEED: Key = Key::file("demo_speed").flag("--demo-speed");

/// Every key the config file may hold except the numbers of `[thresholds]` and `[symbol.*]`
/// (`config::thresholds` knows those), in file order, then `[thresholds]`' own.
pub(super) const KEYS: [Key; 32] = [
    SYMBOLS,
    POLL_INTERVAL,
    SOURCE,
    EXCHANGES,
    PLAN,
    REFERENCE_EXCHANGE,
    REFERENCE_QUOTE,
    API_KEY,
    BASE_URL,
    BINANCE_FAPI_URL,
    BINANCE_WS_URL,
    BYBIT_API_URL,
    BYBIT_WS_URL,
    OKX_API_URL,
    OKX_WS_URL,
    DATA_DIR,
    LOG_LEVEL,
    METRICS_ADDR,
    MIN_LEVEL,
    COOLDOWN_HIGH,
    COOLDOWN_MEDIUM,
    COOLDOWN_LOW,
    FAILURE_CYCLES,
    MAX_AGE,
    HISTORY_RETENTION,
    UI_MOUSE,
    TELEGRAM_BOT_TOKEN,
    TELEGRAM_CHAT_ID,
    TELEGRAM_API_URL,
    WEBHOOK_URL,
    THRESHOLD_MODE,
    THRESHOLD_WINDOW,
];
pub(super) const THRESHOLDS: &str = "thresholds";
pub(super) const SYMBOL: &str = "symbol";

/// Keys allowed at the top level of the file, in file order.
pub(super) fn top_level_keys() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for key in KEYS {
        let first = key.name.split('.').next().unwrap_or(key.name);
        if !out.iter().any(|k| k == first) {
            out.push(first.to_string());
        }
    }
    for section in [THRESHOLDS, SYMBOL] {
        if !out.iter().any(|k| k == section) {
            out.push(section.to_string());
        }
    }
    out
}

/// Keys allowed inside the `[section]` table (empty when `section` is not a table of keys).
pub(super) fn section_keys(section: &str) -> Vec<String> {
    KEYS.iter()
        .filter_map(|k| k.name.strip_prefix(section)?.strip_prefix('.'))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    const ENV_EXAMPLE: &str = include_str!("../../.env.example");

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
}
