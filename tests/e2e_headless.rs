//! End-to-end runs of the real binary in headless mode against a local CoinGlass mock.

mod common;

use common::{run, text, Sandbox, TEST_KEY};
use serde_json::Value;
use std::time::Duration;

fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn by_symbol<'a>(lines: &'a [Value], symbol: &str) -> &'a Value {
    lines
        .iter()
        .find(|l| l["symbol"] == symbol)
        .unwrap_or_else(|| panic!("no line for {symbol}"))
}

/// The ids of a JSON line's signals.
fn signal_ids(line: &Value) -> Vec<&str> {
    line["signals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect()
}

fn approx(v: &Value, expected: f64) -> bool {
    v.as_f64()
        .is_some_and(|x| (x - expected).abs() < 1e-9 * expected.abs().max(1.0))
}

#[tokio::test]
async fn live_once_json_against_the_mock() {
    let server = common::coinglass().await;
    let sb = Sandbox::new();
    let mut cmd = sb.live_command(&server);
    cmd.args(["--no-ui", "--json", "--once", "--symbols", "BTC,ETH"]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    let lines = json_lines(&stdout);
    assert_eq!(lines.len(), 2, "one line per symbol: {stdout}");

    let btc = by_symbol(&lines, "BTC");
    assert_eq!(btc["source"], "live");
    assert!(btc["time"].as_str().is_some_and(|t| t.ends_with('Z')));
    let m = &btc["metrics"];
    // (0.01×10 + 0.0125×8/1×5 + 0.02×8/4×5) / 20, token-margined row ignored.
    assert!(approx(&m["funding_8h_pct"], 0.04), "{m}");
    assert_eq!(m["funding_by_exchange"].as_array().map(Vec::len), Some(4));
    assert!(approx(&m["oi_usd"], 57.4e9));
    assert!(approx(&m["oi_change_1h_pct"], 7.0));
    assert!(approx(&m["oi_change_24h_pct"], 12.1));
    assert!(approx(&m["liq_long_1h_usd"], 55e6));
    assert!(approx(&m["liq_short_1h_usd"], 7e6));
    assert!(approx(&m["retail_long_pct"], 70.0));
    assert!(approx(&m["top_long_pct"], 52.0));
    assert!(approx(&m["taker_buy_pct"], 68.0));
    assert!(approx(&m["price"], 97000.0));
    // One observation of price: the 1h change is unknown, and says so.
    assert!(m["price_change_1h_pct"].is_null());
    assert_eq!(btc["level"], "HIGH");
    let ids = signal_ids(btc);
    for expected in [
        "oi_surge",
        "long_liquidation_cascade",
        "retail_extreme_long",
        "smart_money_divergence",
        "taker_buy_pressure",
    ] {
        assert!(ids.contains(&expected), "{expected} missing from {ids:?}");
    }
    for s in btc["signals"].as_array().unwrap() {
        for key in ["id", "level", "bias", "title", "message"] {
            assert!(s[key].is_string(), "signal lacks {key}: {s}");
        }
        // A first run has no history: every rule is warming up on its static threshold.
        let t = &s["threshold"];
        assert_eq!(t["mode"], "static", "{s}");
        assert_eq!(t["note"], "warming up: static threshold", "{s}");
        assert!(t["value"].is_number() && t["percentile"].is_null() && t["window"].is_null());
        assert!(s["record"].is_null(), "{s}");
    }

    let eth = by_symbol(&lines, "ETH");
    // OKX's null rate is absent, not zero: ETH funding is Binance's alone.
    assert!(approx(&eth["metrics"]["funding_8h_pct"], -0.08));
    assert!(eth["metrics"]["oi_change_5m_pct"].is_null());
    let ids = signal_ids(eth);
    assert!(ids.contains(&"funding_extreme_short"), "{ids:?}");

    // The plan came from the subscription: no note that it is assumed.
    assert!(
        !stderr.contains("could not read the CoinGlass subscription"),
        "{stderr}"
    );
    // The key appears nowhere.
    assert!(!stdout.contains(TEST_KEY) && !stderr.contains(TEST_KEY));
    assert!(!sb.logs().contains(TEST_KEY));
    assert!(!sb.logs().is_empty(), "a log file was written");
}

#[tokio::test]
async fn demo_runs_the_labelled_simulation_without_a_key() {
    let sb = Sandbox::new();
    let mut cmd = sb.command();
    cmd.args(["--no-ui", "--json", "--once", "--demo"]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    let lines = json_lines(&stdout);
    let symbols: Vec<&str> = lines
        .iter()
        .map(|l| l["symbol"].as_str().unwrap())
        .collect();
    assert_eq!(symbols, ["BTC", "ETH"], "default symbols");
    for l in &lines {
        assert_eq!(l["source"], "demo");
        assert!(l["metrics"]["oi_usd"].as_f64().is_some_and(|v| v > 0.0));
        assert!(l["stale"].as_array().is_some_and(Vec::is_empty));
    }
}

#[tokio::test]
async fn json_with_piped_stdout_runs_headless_without_no_ui() {
    // `perpwatch --demo --json --once | cat`: JSON lines, exit 0.
    let sb = Sandbox::new();
    let mut cmd = sb.command();
    cmd.args(["--demo", "--json", "--once", "--symbols", "BTC,SOL"]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    let lines = json_lines(&stdout);
    let symbols: Vec<&str> = lines.iter().filter_map(|l| l["symbol"].as_str()).collect();
    assert_eq!(symbols, ["BTC", "SOL"], "{stdout}");
    assert!(lines.iter().all(|l| l["source"] == "demo"), "{stdout}");
}

/// `perpwatch --demo --json | cat` (no --no-ui, no --once): the piped run is headless and keeps
/// printing JSON lines until stopped, instead of being refused.
#[cfg(unix)]
#[tokio::test]
async fn json_alone_with_piped_stdout_streams_json_lines() {
    use std::io::{BufRead, BufReader};
    let sb = Sandbox::new();
    let mut cmd = sb.command();
    cmd.args(["--demo", "--json", "--symbols", "ETH"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("read a line");
    let line: Value = serde_json::from_str(&first).unwrap_or_else(|e| panic!("{e}: {first:?}"));
    assert_eq!(line["symbol"], "ETH");
    assert_eq!(line["source"], "demo");
    let (status, _) = common::terminate(&mut child);
    assert_eq!(status.code(), Some(0));
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        std::io::Read::read_to_string(&mut e, &mut stderr).expect("stderr");
    }
    assert!(
        stderr.contains("stdout is not a terminal: running headless"),
        "{stderr}"
    );
    assert!(!stderr.contains("config error"), "not refused: {stderr}");
}

/// The value of each `label  value` row of the paths block (`--help`: `config file  X`;
/// `check`: `config file:     X`).
fn path_rows(out: &str) -> Vec<String> {
    ["config file", "data dir", "log dir"]
        .iter()
        .map(|label| {
            out.lines()
                .find_map(|l| {
                    let rest = l.trim_start().strip_prefix(label)?;
                    Some(rest.trim_start_matches(':').trim_start().to_string())
                })
                .unwrap_or_else(|| panic!("no {label} row in {out}"))
        })
        .collect()
}

#[tokio::test]
async fn help_shows_the_defaults_and_this_machines_paths() {
    let sb = Sandbox::new();
    let mut cmd = sb.command();
    cmd.arg("--help");
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    let option = |flag: &str| {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(flag))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        option("--symbols").contains("[default: BTC,ETH]"),
        "{stdout}"
    );
    assert!(
        option("--poll-interval").contains("[default: 60s; the demo: 60s / --demo-speed]"),
        "{stdout}"
    );
    let config = sb
        .path()
        .join("config")
        .join("perpwatch")
        .join("config.toml");
    let data = sb.data_dir();
    let help_rows = path_rows(&stdout);
    assert_eq!(
        help_rows,
        [
            format!("{} (not there: defaults apply)", config.display()),
            format!(
                "{} (from environment variable PERPWATCH_DATA_DIR)",
                data.display()
            ),
            data.join("logs").display().to_string(),
        ]
    );
    // `check` prints the same paths, and the log dir is where the logs went.
    let mut cmd = sb.command();
    cmd.args(["check", "--demo"]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert_eq!(path_rows(&stdout), help_rows, "{stdout}");
    assert!(
        stdout.contains("thresholds:      relative: percentiles of each symbol's last 30d"),
        "{stdout}"
    );
    // The threshold mode from the environment (the flag belongs to the dashboard/headless run
    // and to `backtest`), and a bad one refused.
    let mut cmd = sb.command();
    cmd.args(["check", "--demo"])
        .env("PERPWATCH_THRESHOLD_MODE", "static");
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(stdout.contains("thresholds:      static"), "{stdout}");
    let mut cmd = sb.command();
    cmd.args(["check", "--demo"])
        .env("PERPWATCH_THRESHOLD_MODE", "zscore");
    let out = run(cmd).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains(
            "thresholds.mode = \"zscore\" in environment variable PERPWATCH_THRESHOLD_MODE: \
             expected relative or static"
        ),
        "{stderr}"
    );
    assert!(
        data.join("logs").is_dir(),
        "the log dir printed is the one logging uses"
    );
    // With a file and a data dir of its own, `check` says the ones in force.
    std::fs::write(sb.path().join("my.toml"), "").expect("write config");
    let mut cmd = sb.command();
    cmd.args([
        "check",
        "--demo",
        "--config",
        "my.toml",
        "--data-dir",
        "elsewhere",
    ]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert_eq!(
        path_rows(&stdout),
        [
            "my.toml (found)",
            "elsewhere (from flag --data-dir)",
            &std::path::Path::new("elsewhere")
                .join("logs")
                .display()
                .to_string(),
        ],
        "{stdout}"
    );
}

#[tokio::test]
async fn subcommand_help_lists_only_its_options_and_a_misplaced_one_exits_2() {
    let sb = Sandbox::new();
    let mut cmd = sb.command();
    cmd.args(["backtest", "--help"]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(stdout.contains("--interval <INTERVAL>"), "{stdout}");
    assert!(stdout.contains("--plan <PLAN>"), "{stdout}");
    assert!(stdout.contains("--data-dir <DIR>"), "{stdout}");
    for absent in ["--poll-interval", "--metrics-addr", "--symbols", "--no-ui"] {
        assert!(!stdout.contains(absent), "{absent} listed: {stdout}");
    }
    // Given to a subcommand that does not use it, before or after its name: a usage error,
    // not an option silently ignored (and nothing ran: no store, no log).
    for args in [
        &["backtest", "--demo", "--poll-interval", "5m"][..],
        &["--poll-interval", "5m", "backtest", "--demo"][..],
        &["--metrics-addr", "127.0.0.1:9184", "check"][..],
    ] {
        let mut cmd = sb.command();
        cmd.args(args);
        let out = run(cmd).await;
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(stderr.contains("Usage: perpwatch "), "{args:?}: {stderr}");
    }
    assert!(!sb.data_dir().exists(), "nothing ran");
    // The options a subcommand does use work on either side of its name.
    let mut cmd = sb.command();
    cmd.args([
        "--symbols",
        "SOL",
        "check",
        "--demo",
        "--poll-interval",
        "2m",
    ]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(stdout.contains("symbols:         SOL"), "{stdout}");
    assert!(stdout.contains("poll interval:   120s"), "{stdout}");
}

#[tokio::test]
async fn text_mode_labels_demo_and_prints_one_line_per_symbol() {
    let sb = Sandbox::new();
    let mut cmd = sb.command();
    cmd.args(["--no-ui", "--once", "--demo", "--symbols", "SOL,BTC,ETH"]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    let symbol_lines: Vec<&str> = stdout.lines().filter(|l| !l.starts_with(' ')).collect();
    assert_eq!(symbol_lines.len(), 3, "{stdout}");
    for (line, sym) in symbol_lines.iter().zip(["SOL", "BTC", "ETH"]) {
        assert!(line.contains(" DEMO "), "{line}");
        assert!(line.contains(sym), "{line}");
        assert!(line.contains("funding_8h="), "{line}");
    }
}

#[tokio::test]
async fn refused_key_exits_3_once() {
    let server = wiremock::MockServer::start().await;
    common::mount_market(&server).await;
    wiremock::Mock::given(wiremock::matchers::path("/api/user/account/subscription"))
        .respond_with(common::envelope(
            serde_json::json!({"code": "401", "msg": "API key invalid"}),
        ))
        .mount(&server)
        .await;
    let sb = Sandbox::new();
    let mut cmd = sb.live_command(&server);
    cmd.args(["--no-ui", "--json"]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "stderr: {stderr}");
    assert!(stdout.is_empty());
    let said = stderr.lines().filter(|l| l.contains("refused")).count();
    assert_eq!(said, 1, "said once: {stderr}");
    assert!(!stderr.contains(TEST_KEY));
    let requests = server.received_requests().await.unwrap_or_default();
    assert!(
        requests.len() <= 3,
        "not retried in a loop: {}",
        requests.len()
    );
}

#[tokio::test]
async fn bad_configuration_exits_2_naming_the_key() {
    let sb = Sandbox::new();
    let cfg = sb.path().join("bad.toml");
    std::fs::write(&cfg, "symbols = [\"BTC\"]\npoll_interval = \"5\"\n").unwrap();
    let mut cmd = sb.command();
    cmd.args(["--no-ui", "--once", "--demo", "--config"])
        .arg(&cfg);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stdout.is_empty(), "nothing started: {stdout}");
    assert!(stderr.contains("poll_interval"), "{stderr}");
    assert!(stderr.contains("bad.toml"), "{stderr}");

    let mut cmd = sb.command();
    cmd.args(["--no-ui", "--once", "--demo", "--poll-interval", "soon"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("soon"));
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_exits_0_within_two_seconds() {
    use std::io::{BufRead, BufReader};
    let sb = Sandbox::new();
    let mut cmd = sb.command();
    cmd.args(["--no-ui", "--demo", "--poll-interval", "10s"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().expect("spawn");
    let stdout = child.stdout.take().unwrap();
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).unwrap();
    assert!(first.contains("DEMO"), "{first}");
    let (status, took) = common::terminate(&mut child);
    assert_eq!(status.code(), Some(0));
    assert!(took < Duration::from_secs(2), "{took:?}");
}

#[tokio::test]
async fn check_prints_plan_limit_and_cycle_cost() {
    let server = common::coinglass().await;
    let sb = Sandbox::new();
    let mut cmd = sb.live_command(&server);
    cmd.args(["check", "--symbols", "BTC,ETH"]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(stdout.contains("configuration ok"), "{stdout}");
    assert!(stdout.contains("HOBBYIST"), "{stdout}");
    assert!(stdout.contains("30 requests/minute"), "{stdout}");
    assert!(stdout.contains("requests per symbol"), "{stdout}");
    assert!(!stdout.contains(TEST_KEY) && !stderr.contains(TEST_KEY));
    // The paths in force, as `--help` says them.
    let data = sb.data_dir();
    assert_eq!(
        path_rows(&stdout)[1..],
        [
            format!(
                "{} (from environment variable PERPWATCH_DATA_DIR)",
                data.display()
            ),
            data.join("logs").display().to_string(),
        ],
        "{stdout}"
    );

    // A demo run's check says the demo would run, and spends nothing.
    let mut cmd = sb.command();
    cmd.args(["check", "--demo"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out).0.contains("DEMO"));
}

#[tokio::test]
async fn too_many_symbols_for_the_plan_stretch_the_interval_and_say_so() {
    let server = common::coinglass().await;
    let sb = Sandbox::new();
    let symbols = common::COIN_UNIVERSE[..12].join(",");
    let mut cmd = sb.live_command(&server);
    cmd.args(["check", "--poll-interval", "60s", "--symbols", &symbols]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(
        stdout.contains("stretched from 60s"),
        "12 symbols at 60 s exceed Hobbyist's budget: {stdout}"
    );
    assert!(
        stdout.contains("12 symbols"),
        "the numbers are said: {stdout}"
    );
}

/// A port on 127.0.0.1 that nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    port
}

/// Runs `cmd` and says how long it took.
async fn timed(cmd: std::process::Command) -> (std::process::Output, Duration) {
    let started = std::time::Instant::now();
    let out = run(cmd).await;
    (out, started.elapsed())
}

/// Every line is one symbol with every metric null, in the order asked for.
fn all_null_lines(stdout: &str, symbols: &[&str]) {
    let lines = json_lines(stdout);
    let names: Vec<&str> = lines
        .iter()
        .map(|l| l["symbol"].as_str().unwrap())
        .collect();
    assert_eq!(
        names, symbols,
        "one line per symbol, still printed: {stdout}"
    );
    for l in &lines {
        let metrics = l["metrics"].as_object().expect("metrics");
        for (k, v) in metrics {
            assert!(
                v.is_null() || v.as_array().is_some_and(Vec::is_empty),
                "{k} is {v}, not absent: {l}"
            );
        }
        assert_eq!(l["level"], "NONE");
        assert!(
            l["stale"].as_array().is_some_and(|s| !s.is_empty()),
            "absent with reasons: {l}"
        );
    }
}

/// The one `no data: …` line on stderr, naming the cause.
fn no_data_line(stderr: &str) -> &str {
    let said: Vec<&str> = stderr.lines().filter(|l| l.contains("no data: ")).collect();
    assert_eq!(said.len(), 1, "said once: {stderr}");
    said[0]
}

#[tokio::test]
async fn once_against_a_closed_port_exits_6_within_35_s_and_names_the_cause() {
    let sb = Sandbox::new();
    let mut cmd = sb.command();
    cmd.env("COINGLASS_API_KEY", TEST_KEY)
        .env(
            "COINGLASS_BASE_URL",
            format!("http://127.0.0.1:{}", closed_port()),
        )
        .args(["--no-ui", "--json", "--once", "--symbols", "BTC,ETH"]);
    let (out, took) = timed(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(6), "stderr: {stderr}");
    eprintln!("perpwatch took {took:?}");
    assert!(took < Duration::from_secs(35), "took {took:?}");
    all_null_lines(&stdout, &["BTC", "ETH"]);
    let line = no_data_line(&stderr);
    assert!(line.contains("no data: "), "{line}");
    assert!(
        stderr.to_lowercase().contains("connection refused"),
        "the cause is named: {stderr}"
    );
    assert!(
        stderr.contains("could not read the CoinGlass subscription at start"),
        "the assumed plan is said, not shown as fact: {stderr}"
    );
    assert!(!stdout.contains(TEST_KEY) && !stderr.contains(TEST_KEY));
    assert!(!sb.logs().contains(TEST_KEY));
}

#[tokio::test]
async fn once_with_every_market_endpoint_failing_with_http_500_exits_6() {
    use wiremock::matchers::{header, method, path, path_regex};
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(method("GET"))
        .and(path("/api/user/account/subscription"))
        .and(header("CG-API-KEY", TEST_KEY))
        .respond_with(common::ok(
            serde_json::json!({"level": "HOBBYIST", "expire_time": 4102444800000u64, "expired": false}),
        ))
        .mount(&server)
        .await;
    wiremock::Mock::given(method("GET"))
        .and(path_regex("^/api/futures/"))
        .respond_with(wiremock::ResponseTemplate::new(500).set_body_string("upstream down"))
        .mount(&server)
        .await;
    let sb = Sandbox::new();
    let mut cmd = sb.live_command(&server);
    cmd.args([
        "--no-ui",
        "--json",
        "--once",
        "--symbols",
        "BTC",
        "--poll-interval",
        "10s",
    ]);
    let (out, took) = timed(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(6), "stderr: {stderr}");
    eprintln!("perpwatch took {took:?} (HTTP 500)");
    assert!(
        took < Duration::from_secs(15),
        "within the 10 s interval: {took:?}"
    );
    all_null_lines(&stdout, &["BTC"]);
    let line = no_data_line(&stderr);
    assert!(line.contains("HTTP 500"), "the cause is named: {line}");
    assert!(!stderr.contains(TEST_KEY));
}

#[tokio::test]
async fn once_against_a_hanging_server_exits_6_within_35_s() {
    // Connections are taken (the kernel's backlog) and never answered.
    let hanging = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = hanging.local_addr().expect("addr").port();
    let sb = Sandbox::new();
    let mut cmd = sb.command();
    cmd.env("COINGLASS_API_KEY", TEST_KEY)
        .env("COINGLASS_BASE_URL", format!("http://127.0.0.1:{port}"))
        .args(["--no-ui", "--json", "--once", "--symbols", "BTC,ETH"]);
    let (out, took) = timed(cmd).await;
    drop(hanging);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(6), "stderr: {stderr}");
    eprintln!("perpwatch took {took:?}");
    assert!(took < Duration::from_secs(35), "took {took:?}");
    all_null_lines(&stdout, &["BTC", "ETH"]);
    let line = no_data_line(&stderr);
    assert!(
        line.contains("no answer") || line.contains("timed out"),
        "says it waited in vain: {line}"
    );
    assert!(!stderr.contains(TEST_KEY));
}

#[tokio::test]
async fn once_against_a_429_storm_exits_6_within_its_interval() {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(
            wiremock::ResponseTemplate::new(429)
                .insert_header("API-KEY-MAX-LIMIT", "30")
                .insert_header("API-KEY-USE-LIMIT", "30")
                .set_body_json(serde_json::json!({"code": "429", "msg": "Too Many Requests"})),
        )
        .mount(&server)
        .await;
    let sb = Sandbox::new();
    let mut cmd = sb.live_command(&server);
    // The default interval's 30 s cap is shown against a closed port and a hanging server; here
    // a 10 s interval is the cap.
    cmd.args([
        "--no-ui",
        "--json",
        "--once",
        "--symbols",
        "BTC,ETH",
        "--poll-interval",
        "10s",
    ]);
    let (out, took) = timed(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(6), "stderr: {stderr}");
    eprintln!("perpwatch took {took:?}");
    assert!(took < Duration::from_secs(15), "took {took:?}");
    all_null_lines(&stdout, &["BTC", "ETH"]);
    no_data_line(&stderr);
    assert!(!stderr.contains(TEST_KEY));
}

#[tokio::test]
async fn check_offline_with_a_key_vouches_for_nothing() {
    let sb = Sandbox::new();
    let mut cmd = sb.command();
    cmd.env("COINGLASS_API_KEY", "garbage-key-123")
        .env(
            "COINGLASS_BASE_URL",
            format!("http://127.0.0.1:{}", closed_port()),
        )
        .arg("check");
    let (out, took) = timed(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(6),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    eprintln!("perpwatch took {took:?}");
    assert!(took < Duration::from_secs(35), "took {took:?}");
    assert!(!stdout.contains("configuration ok"), "{stdout}");
    assert!(!stdout.contains("plan:"), "no plan it never saw: {stdout}");
    assert!(!stdout.contains("requests/minute"), "{stdout}");
    assert!(stdout.contains("could NOT be reached"), "{stdout}");
    assert!(stderr.contains("cannot reach CoinGlass"), "{stderr}");
    assert!(!stdout.contains("garbage-key-123") && !stderr.contains("garbage-key-123"));
}

#[tokio::test]
async fn check_with_a_refused_key_exits_3_and_an_unknown_level_is_said_on_stderr() {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::path("/api/user/account/subscription"))
        .respond_with(common::envelope(
            serde_json::json!({"code": "401", "msg": "API key invalid"}),
        ))
        .mount(&server)
        .await;
    let sb = Sandbox::new();
    let mut cmd = sb.live_command(&server);
    cmd.arg("check");
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "stderr: {stderr}");
    assert!(!stdout.contains("configuration ok"), "{stdout}");
    assert!(stdout.contains("REFUSED"), "{stdout}");
    assert!(stderr.contains("refused"), "{stderr}");
    assert!(!stdout.contains(TEST_KEY) && !stderr.contains(TEST_KEY));

    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::path("/api/user/account/subscription"))
        .respond_with(common::ok(
            serde_json::json!({"level": "PLATINUM", "expire_time": 4102444800000u64, "expired": false}),
        ))
        .mount(&server)
        .await;
    let mut cmd = sb.live_command(&server);
    cmd.arg("check");
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "reached, key accepted: {stderr}"
    );
    assert!(stdout.contains("HOBBYIST (ASSUMED"), "{stdout}");
    assert!(
        stderr.contains("assuming HOBBYIST"),
        "not only in the log: {stderr}"
    );
    assert!(stderr.contains("PLATINUM"), "{stderr}");
}

/// Waits (at most 20 s) until `server` has received a request that `matches`.
async fn received(
    server: &wiremock::MockServer,
    what: &str,
    matches: impl Fn(&wiremock::Request) -> bool,
) {
    let until = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let requests = server.received_requests().await.unwrap_or_default();
        if requests.iter().any(&matches) {
            return;
        }
        assert!(std::time::Instant::now() < until, "no {what} arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_while_connecting_or_in_the_first_cycle_exits_0() {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(common::ok(serde_json::json!([])).set_delay(Duration::from_secs(600)))
        .mount(&server)
        .await;
    let sb = Sandbox::new();
    // While connecting: the subscription call hangs.
    let mut cmd = sb.live_command(&server);
    cmd.args(["--no-ui", "--symbols", "BTC"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().expect("spawn");
    received(&server, "the subscription call", |q| {
        q.url.path() == "/api/user/account/subscription"
    })
    .await;
    let (status, took) = common::terminate(&mut child);
    assert_eq!(status.code(), Some(0), "a clean exit, not 143");
    assert!(took < Duration::from_secs(2), "{took:?}");

    // During the first cycle: the subscription answers, the market hangs.
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::path("/api/user/account/subscription"))
        .respond_with(common::ok(
            serde_json::json!({"level": "HOBBYIST", "expire_time": 4102444800000u64, "expired": false}),
        ))
        .mount(&server)
        .await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(common::ok(serde_json::json!([])).set_delay(Duration::from_secs(600)))
        .mount(&server)
        .await;
    let mut cmd = sb.live_command(&server);
    cmd.args(["--no-ui", "--symbols", "BTC"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().expect("spawn");
    received(&server, "a market request", |q| {
        q.url.path().starts_with("/api/futures/")
    })
    .await;
    let (status, took) = common::terminate(&mut child);
    assert_eq!(status.code(), Some(0), "a clean exit, not 143");
    assert!(took < Duration::from_secs(2), "{took:?}");
}
