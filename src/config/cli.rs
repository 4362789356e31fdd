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
  COINGLASS_API_KEY             CoinGlass API key (without one perpwatch reads Binance, Bybit
                                and OKX public data: --source exchanges)
  COINGLASS_BASE_URL            CoinGlass API base URL
  PERPWATCH_SOURCE              same as --source
  PERPWATCH_EXCHANGES           same as --exchanges
  BINANCE_FAPI_URL, BINANCE_WS_URL, BYBIT_API_URL, BYBIT_WS_URL, OKX_API_URL, OKX_WS_URL
                                the venues' REST and websocket base URLs (mirrors, tests)
  PERPWATCH_DATA_DIR            same as --data-dir
  PERPWATCH_SYMBOLS             same as --symbols
  PERPWATCH_POLL_INTERVAL       same as --poll-interval
  PERPWATCH_PLAN                same as --plan
  PERPWATCH_REFERENCE_EXCHANGE  same as --reference-exchange
  PERPWATCH_LOG                 same as --log-level
  PERPWATCH_METRICS_ADDR        same as --metrics-addr
  PERPWATCH_THRESHOLD_MODE      same as --threshold-mode
  PERPWATCH_HISTORY_RETENTION   how long the history store keeps cycles and signals (30d)
  TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID, TELEGRAM_API_URL   Telegram alerts
  WEBHOOK_URL                   webhook alerts
Precedence, lowest first: defaults, config file, .env, environment, flags.";

/// The clap command: the definitions below plus what is known only at run time (the defaults of
/// `--symbols` and `--poll-interval`, and the paths resolved on this machine at the end of the
/// top-level `--help`).
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    Cli::command()
        .after_help(format!("{AFTER_HELP}\n\n{}", crate::config::machine_help()))
        .mut_args(with_default)
        .mut_subcommands(|sub| sub.mut_args(with_default))
}

/// Appends the built-in default to the help of the settings that have one but no clap default
/// (a clap default would hide the config file and the environment).
fn with_default(arg: clap::Arg) -> clap::Arg {
    let default = match arg.get_id().as_str() {
        "symbols" => super::DEFAULT_SYMBOLS.join(","),
        "poll_interval" => {
            let secs = super::DEFAULT_POLL_INTERVAL.as_secs();
            format!("{secs}s; the demo: {secs}s / --demo-speed")
        }
        _ => return arg,
    };
    let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
    arg.help(format!("{help} [default: {default}]"))
}

/// Parses `args` (the program name first) as `perpwatch` does: clap's errors (exit code 2), and
/// an option of the main command given before a subcommand that does not take it is one too.
pub fn try_parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::FromArgMatches;
    let mut cmd = command();
    let matches = cmd.try_get_matches_from_mut(args)?;
    let cli = Cli::from_arg_matches(&matches).map_err(|e| e.with_cmd(&cmd))?;
    match misplaced(&mut cmd, &matches, &cli) {
        Some(e) => Err(e),
        None => Ok(cli),
    }
}

/// The command line of this process, parsed (see [`try_parse_from`]); exits on an error or
/// after `--help` / `--version`.
pub fn parse() -> Cli {
    try_parse_from(std::env::args_os()).unwrap_or_else(|e| e.exit())
}

/// An option of the main command given before a subcommand that does not take it
/// (`perpwatch --poll-interval 5m backtest`): an error like clap's own, not an option silently
/// ignored. Options every command takes (`global`) and those the subcommand shares pass.
fn misplaced(
    cmd: &mut clap::Command,
    matches: &clap::ArgMatches,
    cli: &Cli,
) -> Option<clap::Error> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    use clap::parser::ValueSource;
    let shared = cli.command.as_ref()?.shared_ids();
    let (name, _) = matches.subcommand()?;
    let arg = cmd
        .get_arguments()
        .find(|a| {
            !a.is_global_set()
                && !shared.contains(a.get_id())
                && matches.value_source(a.get_id().as_str()) == Some(ValueSource::CommandLine)
        })?
        .clone();
    let flag = format!("--{}", arg.get_long().unwrap_or(arg.get_id().as_str()));
    let sub = cmd.find_subcommand_mut(name)?;
    let own = sub.get_arguments().any(|a| a.get_id() == arg.get_id());
    let tip = if own {
        format!(
            "to give '{flag}' to {name}, put it after the subcommand: 'perpwatch {name} {flag}'"
        )
    } else {
        format!("'perpwatch {name} --help' lists the options {name} takes")
    };
    let usage = sub.render_usage();
    let mut err = clap::Error::new(ErrorKind::ArgumentConflict).with_cmd(sub);
    err.insert(
        ContextKind::InvalidArg,
        ContextValue::String(arg.to_string()),
    );
    err.insert(
        ContextKind::PriorArg,
        ContextValue::String(format!("perpwatch {name}")),
    );
    err.insert(
        ContextKind::Suggested,
        ContextValue::StyledStrs(vec![tip.into()]),
    );
    err.insert(ContextKind::Usage, ContextValue::StyledStr(usage));
    Some(err)
}

/// Where the options every command takes are listed: after a command's own options.
const GLOBAL_ORDER: usize = 100;

/// `perpwatch [OPTIONS] [COMMAND]`. Each subcommand takes only the options it uses: `--config`,
/// `--data-dir` and `--log-level` go anywhere; the poll and source options ([`PollArgs`],
/// [`SourceArgs`]) belong to the main command and to the subcommands that use them, before or
/// after the subcommand's name ([`Cli::settled`] says which value is in force); the rest belong
/// to the main command (the dashboard and headless runs) only.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "perpwatch",
    version,
    about = "Watch crypto perpetual futures (funding, open interest, liquidations, long/short \
             positioning) through Binance, Bybit and OKX public data or the CoinGlass API V4, \
             and fire signals",
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// Config file [default: $XDG_CONFIG_HOME/perpwatch/config.toml]
    #[arg(long, global = true, value_name = "FILE", display_order = GLOBAL_ORDER)]
    pub config: Option<PathBuf>,

    /// Directory for the database and logs [env: PERPWATCH_DATA_DIR]
    #[arg(long, global = true, value_name = "DIR", display_order = GLOBAL_ORDER)]
    pub data_dir: Option<PathBuf>,

    #[command(flatten)]
    pub poll: PollArgs,

    #[command(flatten)]
    pub source: SourceArgs,

    /// Log level: trace, debug, info, warn or error [env: PERPWATCH_LOG]
    #[arg(long, global = true, value_name = "LEVEL", display_order = GLOBAL_ORDER)]
    pub log_level: Option<String>,

    /// Serve Prometheus /metrics and /healthz on this address, e.g. 127.0.0.1:9184 (off by
    /// default) [env: PERPWATCH_METRICS_ADDR]
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<String>,

    /// Signal thresholds: relative (percentiles of each symbol's own history, the default) or
    /// static (the fixed numbers of [thresholds]) [env: PERPWATCH_THRESHOLD_MODE]
    #[arg(long, value_name = "MODE")]
    pub threshold_mode: Option<String>,

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

    /// Use the built-in simulated demo market (same as --source demo)
    #[arg(long)]
    pub demo: bool,

    /// Leave the mouse to the terminal (select and copy text); the dashboard's clicks and wheel
    /// are off [config: [ui] mouse = false]
    #[arg(long)]
    pub no_mouse: bool,

    /// Demo clock speed-up factor (> 0), e.g. 10
    #[arg(long, value_name = "FACTOR", value_parser = parse_demo_speed)]
    pub demo_speed: Option<f64>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Validate the configuration, print the settings and paths in force and how the source
    /// stands: CoinGlass's plan, limit and cost per cycle, or each venue's state, request
    /// budget and unlisted coins
    Check(CheckArgs),
    /// Send a test message through every configured alert sink (Telegram, webhook) and say what
    /// happened. Exit codes: 0 ok, 2 no sink configured, 4 refused (bad token, chat not found),
    /// 5 unreachable or failing (try again later)
    AlertTest,
    /// Replay history (CoinGlass, Binance with --source exchanges, imported, or --demo) through
    /// the signal rules and score each signal against the base rate
    Backtest(BacktestArgs),
    /// Import a CSV of your own history for one symbol (header: time,price,oi_usd,
    /// funding_8h_pct,liq_long_usd,liq_short_usd,retail_long_pct,top_long_pct,taker_buy_pct)
    Import(ImportArgs),
}

/// The poll loop's options: the main command (dashboard, headless) and `check`, which prices a
/// cycle of these symbols at this interval.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct PollArgs {
    /// Coins to watch, comma-separated, e.g. BTC,ETH,SOL [env: PERPWATCH_SYMBOLS]
    #[arg(long, value_name = "LIST")]
    pub symbols: Option<String>,

    /// Time between polls: "60s", "5m", "1h30m" or plain seconds "90"; 10s to 1h
    /// [env: PERPWATCH_POLL_INTERVAL]
    #[arg(long, value_name = "DURATION")]
    pub poll_interval: Option<String>,

    /// Venues the exchanges source reads, comma-separated: binance, bybit, okx
    /// [default: binance,bybit,okx] [env: PERPWATCH_EXCHANGES]
    #[arg(long, value_name = "LIST")]
    pub exchanges: Option<String>,
}

/// The source's options: the main command, `check` and `backtest` (which downloads history
/// from the same source and pair).
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct SourceArgs {
    /// Where market data comes from: auto (CoinGlass with COINGLASS_API_KEY, else exchanges),
    /// coinglass, exchanges (Binance, Bybit, OKX public data, no key) or demo
    /// [default: auto] [env: PERPWATCH_SOURCE]
    #[arg(long, value_name = "SOURCE")]
    pub source: Option<String>,

    /// CoinGlass plan, overriding the one read from the API: hobbyist, startup, standard,
    /// professional or enterprise [env: PERPWATCH_PLAN]
    #[arg(long, value_name = "PLAN")]
    pub plan: Option<String>,

    /// Exchange whose pair gives the retail/top-trader long/short ratios and the price, e.g.
    /// Binance [env: PERPWATCH_REFERENCE_EXCHANGE]
    #[arg(long, value_name = "NAME")]
    pub reference_exchange: Option<String>,
}

impl PollArgs {
    /// `self`, with `over`'s values where it has them.
    fn overlaid(&self, over: &PollArgs) -> PollArgs {
        PollArgs {
            symbols: over.symbols.clone().or_else(|| self.symbols.clone()),
            poll_interval: over
                .poll_interval
                .clone()
                .or_else(|| self.poll_interval.clone()),
            exchanges: over.exchanges.clone().or_else(|| self.exchanges.clone()),
        }
    }
}

impl SourceArgs {
    /// `self`, with `over`'s values where it has them.
    fn overlaid(&self, over: &SourceArgs) -> SourceArgs {
        SourceArgs {
            source: over.source.clone().or_else(|| self.source.clone()),
            plan: over.plan.clone().or_else(|| self.plan.clone()),
            reference_exchange: over
                .reference_exchange
                .clone()
                .or_else(|| self.reference_exchange.clone()),
        }
    }
}

#[derive(Debug, Clone, Default, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub poll: PollArgs,

    #[command(flatten)]
    pub source: SourceArgs,

    /// Check the configuration of a --demo run (a key that is set is checked anyway)
    #[arg(long)]
    pub demo: bool,
}

/// What a subcommand shares with the main command: the same option, meaning the same thing.
struct Shared<'a> {
    poll: Option<&'a PollArgs>,
    source: Option<&'a SourceArgs>,
    demo: Option<bool>,
}

impl Command {
    fn shared(&self) -> Shared<'_> {
        match self {
            Command::Check(c) => Shared {
                poll: Some(&c.poll),
                source: Some(&c.source),
                demo: Some(c.demo),
            },
            Command::Backtest(b) => Shared {
                poll: None,
                source: Some(&b.source),
                demo: None,
            },
            Command::AlertTest | Command::Import(_) => Shared {
                poll: None,
                source: None,
                demo: None,
            },
        }
    }

    /// The ids of the options this subcommand shares with the main command.
    fn shared_ids(&self) -> Vec<clap::Id> {
        fn ids<A: Args>() -> Vec<clap::Id> {
            A::augment_args(clap::Command::new("ids"))
                .get_arguments()
                .map(|a| a.get_id().clone())
                .collect()
        }
        let shared = self.shared();
        let mut out = Vec::new();
        if shared.poll.is_some() {
            out.extend(ids::<PollArgs>());
        }
        if shared.source.is_some() {
            out.extend(ids::<SourceArgs>());
        }
        if shared.demo.is_some() {
            out.push(clap::Id::from("demo"));
        }
        out
    }
}

impl Cli {
    /// The options in force for the command that runs: a shared option given to the subcommand
    /// wins over the same option given before it (`perpwatch --symbols BTC check --symbols ETH`
    /// checks ETH), as a later flag wins.
    pub fn settled(&self) -> Cli {
        let mut cli = self.clone();
        if let Some(sub) = &self.command {
            let shared = sub.shared();
            if let Some(poll) = shared.poll {
                cli.poll = self.poll.overlaid(poll);
            }
            if let Some(source) = shared.source {
                cli.source = self.source.overlaid(source);
            }
            cli.demo |= shared.demo.unwrap_or(false);
        }
        cli
    }
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

    /// Backtest on the demo market's generated history (same as --source demo)
    #[arg(long)]
    pub demo: bool,

    #[command(flatten)]
    pub source: SourceArgs,
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

/// What `--threshold-mode` (and `[thresholds] mode`, `PERPWATCH_THRESHOLD_MODE`) accept.
pub const THRESHOLD_MODE_EXPECTED: &str = "relative or static";

/// `--threshold-mode relative|static` as a clap value parser (`backtest` uses it; the global
/// flag is kept raw and validated with the file and environment values).
pub fn parse_threshold_mode(s: &str) -> Result<ThresholdMode, String> {
    ThresholdMode::parse(s).ok_or_else(|| format!("expected {THRESHOLD_MODE_EXPECTED}"))
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
        try_parse_from(std::iter::once("perpwatch").chain(args.iter().copied()))
    }

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
        command().debug_assert();
    }

    #[test]
    fn no_arguments_means_dashboard_with_defaults() -> Result<(), clap::Error> {
        let cli = parse(&[])?;
        assert!(cli.command.is_none());
        assert!(!cli.no_ui && !cli.json && !cli.once && !cli.demo);
        assert_eq!(cli.config, None);
        assert_eq!(cli.poll, PollArgs::default());
        assert_eq!(cli.source, SourceArgs::default());
        assert_eq!(cli.demo_speed, None);
        Ok(())
    }

    #[test]
    fn main_command_options_are_kept_raw() -> Result<(), clap::Error> {
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
        assert_eq!(cli.poll.symbols.as_deref(), Some("btc,ETH, sol"));
        assert_eq!(cli.poll.poll_interval.as_deref(), Some("5m"));
        assert_eq!(cli.source.plan.as_deref(), Some("startup"));
        assert_eq!(cli.source.reference_exchange.as_deref(), Some("OKX"));
        assert_eq!(cli.log_level.as_deref(), Some("debug"));
        assert!(cli.no_ui && cli.json && cli.once && cli.demo);
        assert_eq!(cli.demo_speed, Some(2.5));
        Ok(())
    }

    #[test]
    fn global_options_work_after_a_subcommand() -> Result<(), clap::Error> {
        let cli = parse(&["check", "--config", "x.toml", "--symbols", "BTC"])?;
        assert!(matches!(cli.command, Some(Command::Check(_))));
        assert_eq!(cli.config, Some(PathBuf::from("x.toml")));
        assert_eq!(cli.settled().poll.symbols.as_deref(), Some("BTC"));
        let cli = parse(&["alert-test", "--data-dir", "/d", "--log-level", "debug"])?;
        assert!(matches!(cli.command, Some(Command::AlertTest)));
        assert_eq!(cli.data_dir, Some(PathBuf::from("/d")));
        assert_eq!(cli.log_level.as_deref(), Some("debug"));
        let cli = parse(&["--config", "x.toml", "import", "f.csv", "--symbol", "BTC"])?;
        assert_eq!(cli.config, Some(PathBuf::from("x.toml")));
        let cli = parse(&["backtest", "--config", "x.toml", "--data-dir", "/d"])?;
        assert_eq!(cli.data_dir, Some(PathBuf::from("/d")));
        Ok(())
    }

    /// The long flags a `--help` lists.
    fn help_flags(args: &[&str]) -> Vec<String> {
        let mut argv = args.to_vec();
        argv.push("--help");
        let err = match parse(&argv) {
            Ok(cli) => panic!("--help parsed as {cli:?}"),
            Err(e) => e,
        };
        assert_eq!(err.kind(), ErrorKind::DisplayHelp);
        let mut flags: Vec<String> = err
            .to_string()
            .lines()
            .filter_map(|l| {
                let l = l
                    .trim_start()
                    .trim_start_matches("-h, ")
                    .trim_start_matches("-V, ");
                let flag = l.strip_prefix("--")?.split([' ', '=']).next()?;
                Some(flag.to_string())
            })
            .collect();
        flags.sort();
        flags
    }

    #[test]
    fn each_subcommand_help_lists_only_the_options_it_uses() {
        let every = ["config", "data-dir", "help", "log-level"];
        let with = |own: &[&str]| {
            let mut all: Vec<String> = own.iter().chain(&every).map(|s| s.to_string()).collect();
            all.sort();
            all
        };
        let poll = ["symbols", "poll-interval", "exchanges"];
        let source = ["source", "plan", "reference-exchange"];
        let cases: [(&str, Vec<String>); 4] = [
            ("check", with(&[&poll[..], &source[..], &["demo"]].concat())),
            ("alert-test", with(&[])),
            (
                "backtest",
                with(
                    &[
                        &[
                            "symbol",
                            "days",
                            "interval",
                            "horizon",
                            "move",
                            "json",
                            "csv",
                            "demo",
                            "threshold-mode",
                        ][..],
                        &source[..],
                    ]
                    .concat(),
                ),
            ),
            ("import", with(&["symbol"])),
        ];
        for (sub, expected) in cases {
            assert_eq!(help_flags(&[sub]), expected, "perpwatch {sub} --help");
        }
        let backtest = help_flags(&["backtest"]);
        for absent in ["poll-interval", "metrics-addr", "symbols", "no-ui", "once"] {
            assert!(
                !backtest.iter().any(|f| f == absent),
                "{absent}: {backtest:?}"
            );
        }
        // The main command lists them all.
        let main = help_flags(&[]);
        for flag in [
            &poll[..],
            &source[..],
            &every[..],
            &["metrics-addr", "no-ui", "demo-speed"],
        ]
        .concat()
        {
            assert!(main.iter().any(|f| f == flag), "{flag}: {main:?}");
        }
    }

    #[test]
    fn top_level_help_shows_the_default_symbols_and_poll_interval() {
        let help = command().render_help().to_string();
        let line = |flag: &str| {
            help.lines()
                .find(|l| l.trim_start().starts_with(flag))
                .unwrap_or_default()
                .to_string()
        };
        let symbols = line("--symbols");
        assert!(symbols.contains("[default: BTC,ETH]"), "{symbols}");
        let poll = line("--poll-interval");
        assert!(
            poll.contains("[default: 60s; the demo: 60s / --demo-speed]"),
            "{poll}"
        );
        // And check, which prices a cycle of them, says the same.
        let check = help_flags(&["check"]);
        assert!(check.iter().any(|f| f == "symbols"));
        let mut cmd = command();
        let check_help = cmd
            .find_subcommand_mut("check")
            .map(|c| c.render_help().to_string())
            .unwrap_or_default();
        assert!(check_help.contains("[default: BTC,ETH]"), "{check_help}");
    }

    #[test]
    fn an_option_a_subcommand_does_not_use_is_refused_not_ignored() {
        let cases: &[(&[&str], ErrorKind, &str)] = &[
            (
                &["backtest", "--poll-interval", "5m"],
                ErrorKind::UnknownArgument,
                "'--poll-interval'",
            ),
            (
                &["--poll-interval", "5m", "backtest"],
                ErrorKind::ArgumentConflict,
                "the argument '--poll-interval <DURATION>' cannot be used with 'perpwatch \
                 backtest'",
            ),
            (
                &["--metrics-addr", "127.0.0.1:9184", "check"],
                ErrorKind::ArgumentConflict,
                "'perpwatch check --help' lists the options check takes",
            ),
            (
                &["--no-ui", "import", "f.csv", "--symbol", "BTC"],
                ErrorKind::ArgumentConflict,
                "cannot be used with 'perpwatch import'",
            ),
            (
                &["import", "f.csv", "--symbol", "BTC", "--plan", "startup"],
                ErrorKind::UnknownArgument,
                "'--plan'",
            ),
            (
                &["alert-test", "--symbols", "BTC"],
                ErrorKind::UnknownArgument,
                "'--symbols'",
            ),
            (
                &["--symbols", "BTC", "backtest"],
                ErrorKind::ArgumentConflict,
                "'--symbols <LIST>'",
            ),
            // backtest has a --demo of its own: the dashboard's, before it, is not it.
            (
                &["--demo", "backtest"],
                ErrorKind::ArgumentConflict,
                "put it after the subcommand: 'perpwatch backtest --demo'",
            ),
            (
                &["--json", "backtest", "--csv"],
                ErrorKind::ArgumentConflict,
                "'perpwatch backtest --json'",
            ),
        ];
        for (args, kind, says) in cases {
            let err = match parse(args) {
                Ok(cli) => panic!("{args:?} parsed as {cli:?}"),
                Err(e) => e,
            };
            assert_eq!(err.kind(), *kind, "{args:?}: {err}");
            assert_eq!(err.exit_code(), 2, "{args:?}");
            let text = err.to_string();
            assert!(text.contains(says), "{args:?}: {text}");
            assert!(text.contains("Usage: perpwatch "), "{args:?}: {text}");
        }
    }

    #[test]
    fn shared_options_apply_before_or_after_the_subcommand() -> Result<(), clap::Error> {
        let cases: &[(&str, &str, &str)] = &[
            ("check", "--symbols", "SOL"),
            ("check", "--poll-interval", "2m"),
            ("check", "--plan", "startup"),
            ("check", "--reference-exchange", "OKX"),
            ("backtest", "--plan", "startup"),
            ("backtest", "--reference-exchange", "OKX"),
            ("check", "--source", "exchanges"),
            ("check", "--exchanges", "okx"),
            ("backtest", "--source", "exchanges"),
        ];
        for (sub, flag, value) in cases {
            let before = parse(&[flag, value, sub])?.settled();
            let after = parse(&[sub, flag, value])?.settled();
            assert_eq!(
                (&before.poll, &before.source),
                (&after.poll, &after.source),
                "{sub} {flag}"
            );
            let set = [
                before.poll.symbols,
                before.poll.poll_interval,
                before.poll.exchanges,
                before.source.source,
                before.source.plan,
                before.source.reference_exchange,
            ];
            assert_eq!(
                set.iter().flatten().collect::<Vec<_>>(),
                vec![value],
                "{sub} {flag}"
            );
        }
        // Given both ways, the subcommand's wins, as a later flag does.
        let cli = parse(&[
            "--symbols",
            "BTC",
            "--plan",
            "startup",
            "check",
            "--symbols",
            "ETH",
        ])?;
        let settled = cli.settled();
        assert_eq!(settled.poll.symbols.as_deref(), Some("ETH"));
        assert_eq!(settled.source.plan.as_deref(), Some("startup"));
        // `--demo` before `check` still checks a demo run.
        assert!(parse(&["--demo", "check"])?.settled().demo);
        assert!(parse(&["check", "--demo"])?.settled().demo);
        assert!(!parse(&["check"])?.settled().demo);
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
    fn threshold_mode_is_kept_raw_and_its_parser_is_reusable() -> Result<(), clap::Error> {
        assert_eq!(parse(&[])?.threshold_mode, None);
        let cli = parse(&["--threshold-mode", "Static"])?;
        assert_eq!(cli.threshold_mode.as_deref(), Some("Static"));
        // A bad value is refused by the config layer (same message as the file and env).
        assert_eq!(
            parse(&["--threshold-mode", "zscore"])?
                .threshold_mode
                .as_deref(),
            Some("zscore")
        );
        assert_eq!(parse_threshold_mode(" STATIC "), Ok(ThresholdMode::Static));
        assert_eq!(
            parse_threshold_mode("relative"),
            Ok(ThresholdMode::Relative)
        );
        assert_eq!(
            parse_threshold_mode("zscore"),
            Err("expected relative or static".to_string())
        );
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
