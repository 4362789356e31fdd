use perpwatch::app;
use perpwatch::config::cli::Command;
use perpwatch::config::Config;
use perpwatch::exit;
use std::io::IsTerminal;
use std::process::ExitCode;

fn main() -> ExitCode {
    if let Err(e) = color_eyre::install() {
        eprintln!("perpwatch: cannot install the error reporter: {e}");
    }
    let cli = perpwatch::config::cli::parse();
    let mut config = match Config::load(&cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("perpwatch: {e}");
            return ExitCode::from(exit::USAGE);
        }
    };
    // The dashboard needs a terminal; piped or redirected output gets the headless lines
    // (`--json` included). Subcommands print their own output and log to the file only.
    let dashboard_without_terminal =
        match config.settle_output(cli.command.is_some(), std::io::stdout().is_terminal()) {
            Ok(switched) => switched,
            Err(e) => {
                eprintln!("perpwatch: {e}");
                return ExitCode::from(exit::USAGE);
            }
        };
    // Logs go to stderr only when nothing else owns the terminal.
    let headless = !config.mode.ui;
    let _log_guard = match perpwatch::logging::init(&config.data_dir, &config.log_level, headless) {
        Ok(g) => Some(g),
        Err(e) => {
            eprintln!("perpwatch: {e:#} (continuing without a log file)");
            None
        }
    };
    for problem in perpwatch::store::unwritable(&config.data_dir) {
        app::tell_user(&config, &problem);
    }
    if dashboard_without_terminal {
        tracing::info!("stdout is not a terminal: running headless (as with --no-ui)");
    }
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("perpwatch: cannot start the async runtime: {e}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    let code = runtime.block_on(async {
        match cli.command {
            Some(Command::Check(_)) => app::check(config).await,
            Some(Command::AlertTest) => app::alert_test(config).await,
            Some(Command::Backtest(args)) => perpwatch::backtest::command(&config, &args).await,
            Some(Command::Import(args)) => perpwatch::import::command(&config, &args),
            None => app::run(config).await,
        }
    });
    // Don't wait for in-flight requests on the way out: SIGTERM must exit promptly.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    code
}
