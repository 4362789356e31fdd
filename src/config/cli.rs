//! Command-line definitions (clap derive). The names here are a contract users script against.
//!
//! Settings that can also come from the config file or the environment (`--symbols`,
//! `--poll-interval`, `--plan`, `--data-dir`, `--log-level`, …) are kept as the raw text the user
//! typed: [`crate::config::Config::load`] validates them with the same code as the file and
//! environment values, so a bad value gets the same message whichever layer it came from. For the
//! same reason clap does not read environment variables itself: `.env` is loaded by the config
//! layer, after argument parsing, and must be able to supply them too.

use super::parse::{parse_duration, parse_symbol};
use crate::signals::relative::ThresholdMode;
use clap::{ArgGroup, Args, Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

/// Intervals the CoinGlass V4 history endpoints accept (V4 spelling).
pub const HISTORY_INTERVALS: [&str; 12] = [
    "1m", "3m", "5m", "15m", "30m", "1h", "4h", "6h", "8h", "12h", "1d", "1w",
];

const AFTER_HELP: &str = "\
Environment (an empty variable counts as unset; a .env file in the current directory is read \
too, never overriding the real environment):
  COINGLASS_API_KEY             CoinGlass API key (without one perpwatch runs the demo market)
  COINGLASS_BASE_URL            CoinGlass API base URL
  PERPWATCH_DATA_DIR            same as --data-dir
  PERPWATCH_SYMBOLS             same as --symbols
  PERPWATCH_POLL_INTERVAL       same as --poll-interval
  PERPWATCH_PLAN                same as --plan
  PERPWATCH_REFERENCE_EXCHANGE  same as --reference-exchange
  PERPWATCH_LOG                 same as --log-level
  PERPWATCH_METRICS_ADDR        same as --metrics-addr
  PERPWATCH_HISTORY_RETENTION   how long the history store keeps cycles and signals (30d)
  TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID, TELEGRAM_API_URL   Telegram alerts
  WEBHOOK_URL                   webhook alerts
Precedence, lowest first: defaults, config file, .env, environment, flags.";

/// The clap command with the machine-specific part of `--help` (defaults, resolved paths)
/// appended at run time.
pub fn command_with_paths() -> clap::Command {
    use clap::CommandFactory;
    Cli::command().after_help(format!("{AFTER_HELP}\n\n{}", crate::config::machine_help()))
}

/// `perpwatch [OPTIONS] [COMMAND]`
#[derive(Debug, Clone, Parser)]
#[command(
    name = "perpwatch",
    version,
    about = "Watch crypto perpetual futures (funding, open interest, liquidations, long/short \
             positioning) through the CoinGlass API V4 and fire signals",
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// Config file [default: $XDG_CONFIG_HOME/perpwatch/config.toml]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Directory for the database and logs [env: PERPWATCH_DATA_DIR]
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Coins to watch, comma-separated, e.g. BTC,ETH,SOL [env: PERPWATCH_SYMBOLS]
    #[arg(long, global = true, value_name = "LIST")]
    pub symbols: Option<String>,

    /// Time between polls: "60s", "5m", "1h30m" or plain seconds "90"; 10s to 1h
    /// [env: PERPWATCH_POLL_INTERVAL]
    #[arg(long, global = true, value_name = "DURATION")]
    pub poll_interval: Option<String>,

    /// CoinGlass plan, overriding the one read from the API: hobbyist, startup, standard,
    /// professional or enterprise [env: PERPWATCH_PLAN]
    #[arg(long, global = true, value_name = "PLAN")]
    pub plan: Option<String>,

    /// Exchange whose pair gives the retail/top-trader long/short ratios and the price, e.g.
    /// Binance [env: PERPWATCH_REFERENCE_EXCHANGE]
    #[arg(long, global = true, value_name = "NAME")]
    pub reference_exchange: Option<String>,

    /// Log level: trace, debug, info, warn or error [env: PERPWATCH_LOG]
    #[arg(long, global = true, value_name = "LEVEL")]
    pub log_level: Option<String>,

    /// Serve Prometheus /metrics and /healthz on this address, e.g. 127.0.0.1:9184 (off by
    /// default) [env: PERPWATCH_METRICS_ADDR]
    #[arg(long, global = true, value_name = "ADDR")]
    pub metrics_addr: Option<String>,

    /// Run headless: print updates as text instead of the terminal dashboard
    #[arg(long)]
    pub no_ui: bool,

    /// Print updates as JSON lines (headless: with --no-ui or --once, or when stdout is not a
    /// terminal, e.g. perpwatch --json | jq)
    #[arg(long)]
    pub json: bool,

    /// Run one poll cycle, print it (headless) and exit
    #[arg(long)]
    pub once: bool,

    /// Use the built-in demo market instead of CoinGlass (also the default without an API key)
    #[arg(long)]
    pub demo: bool,

    /// Demo clock speed-up factor (> 0), e.g. 10
    #[arg(long, value_name = "FACTOR", value_parser = parse_demo_speed)]
    pub demo_speed: Option<f64>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Validate the configuration and, with an API key, print the plan, the per-minute request
    /// limit and the requests one poll cycle costs
    Check,
    /// Send a test message through every configured alert sink (Telegram, webhook) and say what
    /// happened. Exit codes: 0 ok, 2 no sink configured, 4 refused (bad token, chat not found),
    /// 5 unreachable or failing (try again later)
    AlertTest,
    /// Replay history (CoinGlass, imported, or --demo) through the signal rules and score each
    /// signal against the base rate
    Backtest(BacktestArgs),
    /// Import a CSV of your own history for one symbol (header: time,price,oi_usd,
    /// funding_8h_pct,liq_long_usd,liq_short_usd,retail_long_pct,top_long_pct,taker_buy_pct)
    Import(ImportArgs),
}

#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("format").args(["json", "csv"])))]
pub struct BacktestArgs {
    /// Coin to backtest, e.g. BTC
    #[arg(long, value_name = "COIN", default_value = "BTC", value_parser = parse_symbol_arg)]
    pub symbol: String,

    /// Days of history to replay (1 to 3650)
    #[arg(long, value_name = "N", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub days: u32,

    /// Bar interval (V4 spelling)
    #[arg(long, value_name = "INTERVAL", default_value = "4h",
          value_parser = clap::builder::PossibleValuesParser::new(HISTORY_INTERVALS))]
    pub interval: String,

    /// How long after a signal to look for the move, e.g. "24h"
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = parse_duration_arg)]
    pub horizon: Duration,

    /// Price move, in percent, that counts as the signal playing out (> 0)
    #[arg(long = "move", value_name = "PCT", default_value_t = 5.0, value_parser = parse_move_pct)]
    pub move_pct: f64,

    /// Print the results as JSON
    #[arg(long)]
    pub json: bool,

    /// Print the results as CSV
    #[arg(long)]
    pub csv: bool,

    /// Backtest on the demo market instead of CoinGlass history
    #[arg(long)]
    pub demo: bool,

    /// Thresholds to replay with: relative (each bar's from the bars before it) or static (the
    /// configured numbers) [default: relative]
    #[arg(long, value_name = "MODE", value_parser = parse_threshold_mode)]
    pub threshold_mode: Option<ThresholdMode>,
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// History file to import
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Coin the file's rows belong to, e.g. BTC
    #[arg(long, value_name = "COIN", value_parser = parse_symbol_arg)]
    pub symbol: String,
}

fn parse_positive_finite(s: &str, example: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("expected a number greater than 0, like {example}")),
    }
}

/// `--demo-speed`: a finite factor greater than 0.
fn parse_demo_speed(s: &str) -> Result<f64, String> {
    parse_positive_finite(s, "10")
}

fn parse_move_pct(s: &str) -> Result<f64, String> {
    parse_positive_finite(s, "5")
}

fn parse_threshold_mode(s: &str) -> Result<ThresholdMode, String> {
    ThresholdMode::parse(s).ok_or_else(|| "expected relative or static".to_string())
}

fn parse_symbol_arg(s: &str) -> Result<String, String> {
    parse_symbol(s).map_err(|e| format!("expected {e}"))
}

fn parse_duration_arg(s: &str) -> Result<Duration, String> {
    parse_duration(s).map_err(|e| format!("expected {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("perpwatch").chain(args.iter().copied()))
    }

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_arguments_means_dashboard_with_defaults() -> Result<(), clap::Error> {
        let cli = parse(&[])?;
        assert!(cli.command.is_none());
        assert!(!cli.no_ui && !cli.json && !cli.once && !cli.demo);
        assert_eq!(cli.config, None);
        assert_eq!(cli.symbols, None);
        assert_eq!(cli.demo_speed, None);
        Ok(())
    }

    #[test]
    fn global_options_are_kept_raw() -> Result<(), clap::Error> {
        let cli = parse(&[
            "--config",
            "/etc/perpwatch.toml",
            "--data-dir",
            "/var/lib/perpwatch",
            "--symbols",
            "btc,ETH, sol",
            "--poll-interval",
            "5m",
            "--plan",
            "startup",
            "--reference-exchange",
            "OKX",
            "--log-level",
            "debug",
            "--no-ui",
            "--json",
            "--once",
            "--demo",
            "--demo-speed",
            "2.5",
        ])?;
        assert_eq!(cli.config, Some(PathBuf::from("/etc/perpwatch.toml")));
        assert_eq!(cli.data_dir, Some(PathBuf::from("/var/lib/perpwatch")));
        assert_eq!(cli.symbols.as_deref(), Some("btc,ETH, sol"));
        assert_eq!(cli.poll_interval.as_deref(), Some("5m"));
        assert_eq!(cli.plan.as_deref(), Some("startup"));
        assert_eq!(cli.reference_exchange.as_deref(), Some("OKX"));
        assert_eq!(cli.log_level.as_deref(), Some("debug"));
        assert!(cli.no_ui && cli.json && cli.once && cli.demo);
        assert_eq!(cli.demo_speed, Some(2.5));
        Ok(())
    }

    #[test]
    fn global_options_work_after_a_subcommand() -> Result<(), clap::Error> {
        let cli = parse(&["check", "--config", "x.toml", "--symbols", "BTC"])?;
        assert!(matches!(cli.command, Some(Command::Check)));
        assert_eq!(cli.config, Some(PathBuf::from("x.toml")));
        assert_eq!(cli.symbols.as_deref(), Some("BTC"));
        let cli = parse(&["alert-test"])?;
        assert!(matches!(cli.command, Some(Command::AlertTest)));
        Ok(())
    }

    #[test]
    fn json_parses_alone_for_piped_output() -> Result<(), clap::Error> {
        // `perpwatch --json | jq`: whether it may run (stdout not a terminal) is settled by
        // `Config::settle_output`, not refused by the parser.
        let cli = parse(&["--json"])?;
        assert!(cli.json && !cli.no_ui && !cli.once);
        assert!(parse(&["--json", "--no-ui"])?.json);
        assert!(parse(&["--json", "--once"])?.json);
        Ok(())
    }

    #[test]
    fn demo_speed_must_be_positive_and_finite() {
        for bad in ["0", "-1", "abc", "inf", "NaN"] {
            let arg = format!("--demo-speed={bad}");
            let err = parse(&[&arg]).err();
            assert_eq!(
                err.as_ref().map(|e| e.kind()),
                Some(ErrorKind::ValueValidation),
                "{bad}"
            );
            let text = err.map(|e| e.to_string()).unwrap_or_default();
            assert!(text.contains("--demo-speed"), "{text}");
            assert!(text.contains("greater than 0"), "{text}");
        }
    }

    #[test]
    fn backtest_defaults() -> Result<(), clap::Error> {
        let cli = parse(&["backtest"])?;
        let Some(Command::Backtest(args)) = cli.command else {
            panic!("expected backtest, got {:?}", cli.command);
        };
        assert_eq!(args.symbol, "BTC");
        assert_eq!(args.days, 30);
        assert_eq!(args.interval, "4h");
        assert_eq!(args.horizon, Duration::from_secs(24 * 3600));
        assert_eq!(args.move_pct, 5.0);
        assert!(!args.json && !args.csv && !args.demo);
        assert_eq!(args.threshold_mode, None, "the configured mode applies");
        Ok(())
    }

    #[test]
    fn backtest_threshold_mode() -> Result<(), clap::Error> {
        for (value, want) in [
            ("relative", ThresholdMode::Relative),
            ("static", ThresholdMode::Static),
            ("Static", ThresholdMode::Static),
        ] {
            let cli = parse(&["backtest", "--threshold-mode", value])?;
            let Some(Command::Backtest(args)) = cli.command else {
                panic!("expected backtest, got {:?}", cli.command);
            };
            assert_eq!(args.threshold_mode, Some(want), "{value}");
        }
        let err = parse(&["backtest", "--threshold-mode", "fixed"]).expect_err("not a mode");
        assert_eq!(err.kind(), ErrorKind::ValueValidation);
        assert!(
            err.to_string().contains("expected relative or static"),
            "{err}"
        );
        Ok(())
    }

    #[test]
    fn backtest_options() -> Result<(), clap::Error> {
        let cli = parse(&[
            "backtest",
            "--symbol",
            "eth",
            "--days",
            "90",
            "--interval",
            "1h",
            "--horizon",
            "12h",
            "--move",
            "3.5",
            "--csv",
            "--demo",
        ])?;
        let Some(Command::Backtest(args)) = cli.command else {
            panic!("expected backtest, got {:?}", cli.command);
        };
        assert_eq!(args.symbol, "ETH");
        assert_eq!(args.days, 90);
        assert_eq!(args.interval, "1h");
        assert_eq!(args.horizon, Duration::from_secs(12 * 3600));
        assert_eq!(args.move_pct, 3.5);
        assert!(args.csv && args.demo && !args.json);
        Ok(())
    }

    #[test]
    fn backtest_rejects_bad_values() {
        let cases: &[(&[&str], ErrorKind)] = &[
            (
                &["backtest", "--json", "--csv"],
                ErrorKind::ArgumentConflict,
            ),
            (&["backtest", "--interval", "h1"], ErrorKind::InvalidValue),
            (&["backtest", "--days", "0"], ErrorKind::ValueValidation),
            (&["backtest", "--horizon", "0s"], ErrorKind::ValueValidation),
            (&["backtest", "--move", "0"], ErrorKind::ValueValidation),
            (
                &["backtest", "--symbol", "BTC-USDT"],
                ErrorKind::ValueValidation,
            ),
        ];
        for (args, kind) in cases {
            assert_eq!(parse(args).err().map(|e| e.kind()), Some(*kind), "{args:?}");
        }
    }

    #[test]
    fn import_needs_a_file_and_a_symbol() -> Result<(), clap::Error> {
        let cli = parse(&["import", "btc.csv", "--symbol", "btc"])?;
        let Some(Command::Import(args)) = cli.command else {
            panic!("expected import, got {:?}", cli.command);
        };
        assert_eq!(args.file, PathBuf::from("btc.csv"));
        assert_eq!(args.symbol, "BTC");
        assert_eq!(
            parse(&["import", "btc.csv"]).err().map(|e| e.kind()),
            Some(ErrorKind::MissingRequiredArgument)
        );
        Ok(())
    }
}
