//! The history store and the backtest end to end: the real binary (demo, import, usage errors)
//! and the CoinGlass download against a local mock that answers history in pages.

mod common;

use common::{ok, run, text, Sandbox, TEST_KEY};
use perpwatch::backtest::fetch::{load_bars, BacktestError, BarSource};
use perpwatch::config::cli::{Cli, Command};
use perpwatch::config::Config;
use perpwatch::signals::SignalId;
use serde_json::{json, Value};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const HOUR_MS: i64 = 3_600_000;

fn param(req: &Request, key: &str) -> Option<String> {
    req.url
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.to_string())
}

async fn history_mock() -> MockServer {
    let server = MockServer::start().await;
    mount_history(&server).await;
    server
}

/// Mounts the subscription (HOBBYIST), the exchange list and every history path on `server`
/// (after any mock mounted before, which wins).
async fn mount_history(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/api/user/account/subscription"))
        .respond_with(ok(json!({"level": "HOBBYIST", "expired": false})))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/futures/supported-exchanges"))
        .respond_with(ok(json!(["Binance", "OKX", "Bybit"])))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/futures/supported-exchange-pairs"))
        .respond_with(ok(json!({
            "Binance": [{"instrument_id": "BTCUSDT", "base_asset": "BTC", "quote_asset": "USDT"}],
            "OKX": [{"instrument_id": "BTC-USDT-SWAP", "base_asset": "BTC", "quote_asset": "USDT"}]
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("history$"))
        .respond_with(common::HistoryPages {
            interval_ms: None,
            retail_swings: true,
            funding_open: "0.01",
        })
        .mount(server)
        .await;
}

fn config_for(
    sb: &Sandbox,
    server: &MockServer,
    args: &[&str],
) -> (Config, perpwatch::config::cli::BacktestArgs) {
    let cfg_file = sb.path().join("empty.toml");
    std::fs::write(&cfg_file, "").expect("write config");
    let data = sb.data_dir();
    let mut argv = vec![
        "perpwatch".to_string(),
        "--config".into(),
        cfg_file.display().to_string(),
        "--data-dir".into(),
        data.display().to_string(),
        "backtest".into(),
    ];
    argv.extend(args.iter().map(|s| s.to_string()));
    let cli = <Cli as clap::Parser>::try_parse_from(argv).expect("arguments");
    let uri = server.uri();
    let env = move |name: &str| match name {
        "COINGLASS_API_KEY" => Some(TEST_KEY.to_string()),
        "COINGLASS_BASE_URL" => Some(uri.clone()),
        _ => None,
    };
    let config = Config::load_from(&cli, &env).expect("config");
    let Some(Command::Backtest(args)) = cli.command else {
        panic!("not a backtest");
    };
    (config, args)
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(1_750_000_000_000).expect("time")
}

#[tokio::test]
async fn history_is_paged_cached_and_a_rerun_spends_nothing() {
    let server = history_mock().await;
    let sb = Sandbox::new();
    let (config, args) = config_for(&sb, &server, &["--symbol", "BTC", "--days", "180"]);

    let first = load_bars(&config, &args, now(), false)
        .await
        .expect("download");
    let requests = server.received_requests().await.unwrap_or_default();
    // 180 days of 4h bars = 1080 bars = 2 pages of ≤ 1000 for each of 7 series, plus the
    // subscription, the exchange list and the reference pair's lookup.
    assert_eq!(
        requests.len(),
        7 * 2 + 3,
        "{:?}",
        requests
            .iter()
            .map(|r| r.url.to_string())
            .collect::<Vec<_>>()
    );
    assert_eq!(first.bars.len(), 1080);
    assert_eq!(first.source, BarSource::CoinGlass { requests: 17 });
    let b = &first.bars[500];
    assert!(b.close.is_some() && b.oi_usd.is_some() && b.funding_8h_pct.is_some());
    assert_eq!(b.liq_long_usd, Some(1e6));
    assert_eq!(b.taker_buy_pct, Some(60.0));
    assert_eq!(b.top_long_pct, Some(50.0));

    // Pages are chunks of interval × limit by start_time.
    let price_pages: Vec<(i64, i64)> = requests
        .iter()
        .filter(|r| r.url.path() == "/api/futures/price/history")
        .map(|r| {
            let n = |k| {
                param(r, k)
                    .and_then(|v| v.parse::<i64>().ok())
                    .unwrap_or(-1)
            };
            (n("start_time"), n("end_time"))
        })
        .collect();
    let end = now().timestamp_millis() - now().timestamp_millis() % (4 * HOUR_MS);
    let start = end - 180 * 24 * HOUR_MS;
    assert_eq!(
        price_pages,
        vec![
            (start, start + 1000 * 4 * HOUR_MS),
            (start + 1000 * 4 * HOUR_MS, end)
        ]
    );
    assert!(requests
        .iter()
        .filter(|r| r.url.path().contains("liquidation"))
        .all(|r| param(r, "exchange_list").as_deref() == Some("Binance,OKX,Bybit")));
    assert!(requests
        .iter()
        .filter(|r| r.url.path().contains("long-short") || r.url.path().contains("price"))
        .all(|r| param(r, "symbol").as_deref() == Some("BTCUSDT")
            && param(r, "exchange").as_deref() == Some("Binance")));

    let again = load_bars(&config, &args, now(), false)
        .await
        .expect("cached");
    let after = server.received_requests().await.unwrap_or_default().len();
    assert_eq!(after, requests.len(), "the rerun spent no request");
    assert_eq!(again.source, BarSource::CoinGlass { requests: 0 });
    assert_eq!(again.bars, first.bars);
}

#[tokio::test]
async fn interval_below_the_plan_minimum_is_a_clear_error() {
    let server = history_mock().await;
    let sb = Sandbox::new();
    let (config, args) = config_for(&sb, &server, &["--interval", "1h"]);
    match load_bars(&config, &args, now(), false).await {
        Err(BacktestError::Usage(msg)) => {
            assert!(
                msg.contains("--interval 1h") && msg.contains("HOBBYIST") && msg.contains("4h"),
                "{msg}"
            );
        }
        other => panic!("expected a usage error, got {other:?}"),
    }
    let history_calls = server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path().ends_with("history"))
        .count();
    assert_eq!(history_calls, 0);

    // The real binary: exit 2, the message on stderr.
    let mut cmd = sb.live_command(&server);
    cmd.args(["backtest", "--interval", "30m"]);
    let out = run(cmd).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("below the HOBBYIST plan's minimum history interval of 4h"),
        "{stderr}"
    );
    assert!(!stderr.contains(TEST_KEY));
}

#[tokio::test]
async fn a_plan_that_cannot_be_read_is_said_and_nothing_is_downloaded() {
    let sb = Sandbox::new();
    for (answer, says) in [
        (
            ResponseTemplate::new(500).set_body_string("down"),
            "cannot read the CoinGlass subscription",
        ),
        (
            ok(json!({"level": "PLATINUM", "expired": false})),
            "PLATINUM",
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/user/account/subscription"))
            .respond_with(answer)
            .mount(&server)
            .await;
        mount_history(&server).await;
        let (config, args) = config_for(&sb, &server, &["--interval", "4h"]);
        match load_bars(&config, &args, now(), false).await {
            Err(BacktestError::Usage(msg)) => {
                assert!(msg.contains(says) && msg.contains("--plan"), "{msg}");
            }
            other => panic!("expected a usage error naming --plan, got {other:?}"),
        }
        let history_calls = server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.url.path().ends_with("history"))
            .count();
        assert_eq!(history_calls, 0, "no download on a guessed plan");
    }
}

#[tokio::test]
async fn the_reference_pair_is_looked_up_not_guessed() {
    // OKX calls the BTC perpetual BTC-USDT-SWAP: a guessed BTCUSDT would come back empty.
    let server = history_mock().await;
    let sb = Sandbox::new();
    let (mut config, args) = config_for(&sb, &server, &["--symbol", "BTC", "--days", "30"]);
    config.reference_exchange = "okx".into();
    let loaded = load_bars(&config, &args, now(), false)
        .await
        .expect("download");
    let pair_requests: Vec<String> = server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path().ends_with("price/history"))
        .map(|r| r.url.to_string())
        .collect();
    assert!(!pair_requests.is_empty());
    assert!(
        pair_requests
            .iter()
            .all(|u| u.contains("exchange=OKX") && u.contains("symbol=BTC-USDT-SWAP")),
        "{pair_requests:?}"
    );
    assert!(loaded.bars.iter().any(|b| b.close.is_some()));

    // A coin the exchange does not list: said, and its per-pair series are not asked for.
    let server = history_mock().await;
    let sb = Sandbox::new();
    let (mut config, args) = config_for(&sb, &server, &["--symbol", "ETH", "--days", "30"]);
    config.reference_exchange = "OKX".into();
    let loaded = load_bars(&config, &args, now(), false)
        .await
        .expect("download");
    assert!(
        loaded
            .notes
            .iter()
            .any(|n| n.contains("no ETH/USDT pair on OKX")),
        "{:?}",
        loaded.notes
    );
    let asked_pair_series = server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| {
            let p = r.url.path();
            p.ends_with("price/history") || p.contains("long-short") || p.contains("taker")
        })
        .count();
    assert_eq!(asked_pair_series, 0);
    assert!(loaded.bars.iter().all(|b| b.close.is_none()));
    assert!(loaded.bars.iter().any(|b| b.oi_usd.is_some()));
}

/// Requests to `path` since the `skip` first ones.
async fn requests_to(server: &MockServer, skip: usize, path: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .skip(skip)
        .filter(|r| r.url.path() == path)
        .count()
}

/// The depth the docs give per plan and interval: Hobbyist 360 days at 6h (no clamp for 300
/// days), Startup 180 days at 4h (a 200-day window is clamped, said in the notes).
#[tokio::test]
async fn history_depth_follows_the_plan_table() {
    let server = history_mock().await;
    let sb = Sandbox::new();
    let (config, args) = config_for(
        &sb,
        &server,
        &["--symbol", "BTC", "--interval", "6h", "--days", "300"],
    );
    let loaded = load_bars(&config, &args, now(), false)
        .await
        .expect("download");
    let end = now().timestamp_millis() - now().timestamp_millis() % (6 * HOUR_MS);
    assert_eq!(loaded.bars.len(), 300 * 4);
    assert_eq!(loaded.bars[0].time_ms, end - 300 * 24 * HOUR_MS);
    assert!(
        loaded.notes.iter().all(|n| !n.contains("back to")),
        "{:?}",
        loaded.notes
    );

    let sb = Sandbox::new();
    let (config, args) = config_for(
        &sb,
        &server,
        &[
            "--symbol",
            "ETH",
            "--interval",
            "4h",
            "--days",
            "200",
            "--plan",
            "startup",
        ],
    );
    let loaded = load_bars(&config, &args, now(), false)
        .await
        .expect("download");
    let end = now().timestamp_millis() - now().timestamp_millis() % (4 * HOUR_MS);
    let first = loaded.bars.first().map(|b| b.time_ms);
    assert_eq!(first, Some(end - 180 * 24 * HOUR_MS));
    assert!(
        loaded
            .notes
            .iter()
            .any(|n| n.contains("the STARTUP plan serves 4h bars back to")),
        "{:?}",
        loaded.notes
    );
}

/// A series the plan refuses ("Upgrade plan") is remembered with the plan: the next run on the
/// same plan does not ask for it, a different plan asks again.
#[tokio::test]
async fn a_plan_gated_series_is_remembered_until_the_plan_changes() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/futures/liquidation/aggregated-history"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(json!({"code": "403", "msg": "Upgrade plan"})),
        )
        .mount(&server)
        .await;
    mount_history(&server).await;
    let liq = "/api/futures/liquidation/aggregated-history";
    let sb = Sandbox::new();
    let (config, args) = config_for(&sb, &server, &["--symbol", "BTC", "--days", "30"]);

    let first = load_bars(&config, &args, now(), false)
        .await
        .expect("download");
    assert_eq!(
        requests_to(&server, 0, liq).await,
        1,
        "asked once, then gated"
    );
    assert!(
        first
            .notes
            .iter()
            .any(|n| n.starts_with("liquidations: ") && n.contains("not in your plan")),
        "{:?}",
        first.notes
    );
    assert!(
        first.bars.iter().all(|b| b.liq_long_usd.is_none()),
        "absent, never 0"
    );
    assert!(first.bars.iter().all(|b| b.close.is_some()));

    // Same plan: nothing but the subscription (which tells a plan change).
    let before = server.received_requests().await.unwrap_or_default().len();
    let again = load_bars(&config, &args, now(), false)
        .await
        .expect("rerun");
    let spent: Vec<String> = server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .skip(before)
        .map(|r| r.url.path().to_string())
        .collect();
    assert_eq!(spent, ["/api/user/account/subscription"], "{spent:?}");
    assert_eq!(again.source, BarSource::CoinGlass { requests: 1 });
    assert!(
        again
            .notes
            .iter()
            .any(|n| n.starts_with("liquidations: not in your HOBBYIST plan")
                && n.contains("remembered from")),
        "{:?}",
        again.notes
    );

    // Another plan: asked again.
    let (config, args) = config_for(
        &sb,
        &server,
        &["--symbol", "BTC", "--days", "30", "--plan", "standard"],
    );
    let before = server.received_requests().await.unwrap_or_default().len();
    load_bars(&config, &args, now(), false)
        .await
        .expect("other plan");
    assert_eq!(requests_to(&server, before, liq).await, 1);
}

fn run_ok(out: &std::process::Output) -> String {
    let (stdout, stderr) = text(out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {stderr}\nstdout: {stdout}"
    );
    stdout
}

#[tokio::test]
async fn demo_backtest_via_the_binary_prints_a_row_per_fired_signal() {
    let sb = Sandbox::new();
    let args = [
        "backtest",
        "--demo",
        "--interval",
        "1h",
        "--days",
        "20",
        "--horizon",
        "12h",
        "--move",
        "2",
    ];
    let mut cmd = sb.command();
    cmd.args(args).arg("--json");
    let json: Value = serde_json::from_str(&run_ok(&run(cmd).await)).expect("JSON");
    assert_eq!(json["source"], "demo");
    assert_eq!(json["bars"], 20 * 24);
    let signals = json["signals"].as_array().expect("signals");
    let ids: Vec<String> = signals
        .iter()
        .map(|s| s["id"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(ids.len(), SignalId::ALL.len(), "every rule is listed");
    let fired = signals.iter().filter(|s| s["fired"].as_u64() > Some(0));
    assert!(
        fired.count() >= 3,
        "the demo fires several signals: {ids:?}"
    );
    assert_eq!(json["threshold_mode"], "relative", "the default mode");
    assert_eq!(json["threshold_window"], "30d");
    let mut cmd = sb.command();
    cmd.args(args)
        .args(["--threshold-mode", "static", "--json"]);
    let stat: Value = serde_json::from_str(&run_ok(&run(cmd).await)).expect("JSON");
    assert_eq!(stat["threshold_mode"], "static");
    assert!(stat["threshold_window"].is_null());

    let mut cmd = sb.command();
    cmd.args(args);
    let table = run_ok(&run(cmd).await);
    assert!(table.contains("bars from: the demo market"), "{table}");
    for id in &ids {
        let rows = table
            .lines()
            .filter(|l| l.split_whitespace().next() == Some(id))
            .count();
        assert_eq!(rows, 1, "{id} in\n{table}");
    }

    let mut cmd = sb.command();
    cmd.args(args).arg("--csv");
    let csv = run_ok(&run(cmd).await);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], perpwatch::backtest::report::CSV_HEADER);
    assert_eq!(lines.len(), ids.len() + 1);
    assert!(
        !sb.data_dir().join("perpwatch.db").exists(),
        "--demo writes nothing"
    );
}

const GOOD_CSV: &str = "\
time,price,oi_usd,funding_8h_pct,liq_long_usd,liq_short_usd,retail_long_pct,top_long_pct,taker_buy_pct
2024-05-01T00:00:00Z,100,1000000000,0.01,,,70,50,
2024-05-01T01:00:00Z,101,1010000000,0.12,,,71,50,
1714528800000,102,1100000000,0.12,,,72,50,
2024-05-01T03:00:00Z,99,1100000000,0.02,,,60,50,
2024-05-01T04:00:00Z,97,1090000000,0.02,,,58,50,
2024-05-01T05:00:00Z,96,1080000000,0.02,,,57,50,
";

#[tokio::test]
async fn import_then_backtest_uses_the_imported_bars() {
    let sb = Sandbox::new();
    let file = sb.path().join("sol.csv");
    std::fs::write(&file, GOOD_CSV).expect("write csv");
    let mut cmd = sb.command();
    cmd.arg("import").arg(&file).args(["--symbol", "sol"]);
    let out = run_ok(&run(cmd).await);
    assert!(out.contains("imported 6 1h bars for SOL"), "{out}");
    assert!(
        out.contains("replay them with: perpwatch backtest --symbol SOL --interval 1h --days 1\n"),
        "{out}"
    );
    assert!(!out.contains("replaced"), "{out}");
    // Importing again replaces the first import, and says so.
    let mut cmd = sb.command();
    cmd.arg("import").arg(&file).args(["--symbol", "sol"]);
    let out = run_ok(&run(cmd).await);
    assert!(
        out.contains("replaced the earlier import for SOL: 6 1h bars (removed)"),
        "{out}"
    );

    // No key, no network: the imported bars are used and the output says so.
    let mut cmd = sb.command();
    cmd.args([
        "backtest",
        "--symbol",
        "SOL",
        "--horizon",
        "2h",
        "--move",
        "2",
        "--json",
    ]);
    let json: Value = serde_json::from_str(&run_ok(&run(cmd).await)).expect("JSON");
    assert_eq!(json["source"], "import");
    assert_eq!(json["interval"], "1h");
    assert_eq!(json["bars"], 6);
    // Empty cells are absent, not zero: taker and liquidations were never observed.
    let never: Vec<&str> = json["never_observed"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        never.contains(&"taker_buy_pct") && never.contains(&"liq_long_1h_usd"),
        "{never:?}"
    );
    let signals = json["signals"].as_array().expect("signals");
    assert_eq!(signals.len(), SignalId::ALL.len(), "every rule is listed");
    let fired = |id: &str| {
        signals
            .iter()
            .find(|s| s["id"] == id)
            .and_then(|s| s["fired"].as_u64())
    };
    // Funding jumps to 0.12 at the second bar: an onset.
    assert_eq!(fired("funding_extreme_long"), Some(1));
    // Retail is above 65 % long from the first bar on: already active there, so no onset (the
    // bar before the window is unknown). Listed with 0, not left out.
    assert_eq!(fired("retail_extreme_long"), Some(0));
    assert_eq!(
        fired("taker_sell_pressure"),
        Some(0),
        "an empty taker cell is not 0 %"
    );
}

#[tokio::test]
async fn a_bad_row_names_line_and_column_and_imports_nothing() {
    let sb = Sandbox::new();
    let file = sb.path().join("btc.csv");
    let bad = GOOD_CSV.replace("1714528800000,102,", "1714528800000,abc,");
    std::fs::write(&file, bad).expect("write csv");
    let mut cmd = sb.command();
    cmd.arg("import").arg(&file).args(["--symbol", "BTC"]);
    let out = run(cmd).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("line 4, column price"), "{stderr}");
    assert!(stderr.contains("nothing was imported"), "{stderr}");

    // Nothing to replay: the backtest goes for CoinGlass history (here unreachable).
    let mut cmd = sb.command();
    cmd.env("COINGLASS_API_KEY", "cg-history-test")
        .env(
            "COINGLASS_BASE_URL",
            format!("http://127.0.0.1:{}", common::CLOSED_PORT),
        )
        .args(["backtest", "--symbol", "BTC", "--plan", "hobbyist"]);
    let out = run(cmd).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("CoinGlass history download failed"),
        "{stderr}"
    );
}

/// 10 MB of random bytes, a missing file and a 5 MB cell: exit 2, naming the line or the
/// path, with quoted values cut (the error stays short).
#[tokio::test]
async fn bad_import_files_exit_2_naming_the_line_or_the_path() {
    let sb = Sandbox::new();
    let import = |file: &std::path::Path| {
        let mut cmd = sb.command();
        cmd.arg("import").arg(file).args(["--symbol", "BTC"]);
        cmd
    };
    let garbage = sb.path().join("garbage.csv");
    let mut rng = fastrand::Rng::with_seed(9);
    let bytes: Vec<u8> = (0..10 * 1024 * 1024).map(|_| rng.u8(..)).collect();
    std::fs::write(&garbage, &bytes).expect("write garbage");
    let out = run(import(&garbage)).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("garbage.csv: line "), "{stderr}");
    assert!(stderr.contains("is not UTF-8 text"), "{stderr}");
    assert!(stderr.len() < 1000, "{} bytes", stderr.len());

    let missing = sb.path().join("missing.csv");
    let out = run(import(&missing)).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot read {}", missing.display())),
        "{stderr}"
    );

    let big_cell = sb.path().join("big.csv");
    let cell = "9".repeat(5 * 1024 * 1024);
    let csv = GOOD_CSV.replace("1714528800000,102,", &format!("1714528800000,x{cell},"));
    std::fs::write(&big_cell, csv).expect("write csv");
    let out = run(import(&big_cell)).await;
    let (_, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        &stderr[..stderr.len().min(500)]
    );
    assert!(
        stderr.contains("line 4, column price"),
        "{}",
        &stderr[..stderr.len().min(500)]
    );
    assert!(
        stderr.contains("(5242881 characters)"),
        "{}",
        &stderr[..stderr.len().min(500)]
    );
    assert!(stderr.len() < 1000, "{} bytes", stderr.len());
}

#[tokio::test]
async fn a_live_cycle_is_recorded_in_the_store() {
    let server = common::coinglass().await;
    let sb = Sandbox::new();
    let mut cmd = sb.live_command(&server);
    cmd.args(["--no-ui", "--once", "--symbols", "BTC,ETH"]);
    run_ok(&run(cmd).await);
    let store = perpwatch::store::Store::open_in(&sb.data_dir()).expect("store");
    let since = chrono::Utc::now() - chrono::Duration::hours(1);
    let btc = store
        .snapshots_since("BTC", perpwatch::model::SourceKind::Live, since)
        .expect("read");
    assert_eq!(btc.len(), 1);
    // The mock's BTC OI change is +7 % and liquidations $55M long: both stored as seen.
    assert_eq!(btc[0].inputs.oi_change_1h_pct, Some(7.0));
    assert_eq!(btc[0].inputs.liq_long_1h_usd, Some(55e6));
    let signals = store.signals_since("BTC", since).expect("read");
    assert!(
        signals.iter().any(|s| s.signal_id == "oi_surge"),
        "{signals:?}"
    );
    assert_eq!(
        store
            .snapshots_since("ETH", perpwatch::model::SourceKind::Live, since)
            .expect("read")
            .len(),
        1
    );
}
