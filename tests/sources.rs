//! End-to-end: choosing the source. Bad names exit 2 naming the culprit and the choices;
//! CoinGlass without a key says how to go on; the exchanges source with no venue reachable
//! (the sandbox points every venue at a closed local port) ends `--once` with exit 6, saying
//! so and suggesting `--demo`. Nothing here reaches a real host.

mod common;

use common::{run, text, Sandbox};

/// Runs the binary in a fresh sandbox with `args`: (exit code, stdout, stderr).
async fn perpwatch(args: &[&str]) -> (Option<i32>, String, String) {
    let sb = Sandbox::new();
    let mut cmd = sb.command();
    cmd.args(args);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    (out.status.code(), stdout, stderr)
}

#[tokio::test]
async fn an_unknown_source_exits_2_naming_it_and_the_choices() {
    for args in [
        &["--no-ui", "--once", "--source", "kraken"][..],
        &["check", "--source", "kraken"],
    ] {
        let (code, stdout, stderr) = perpwatch(args).await;
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "nothing started: {stdout}");
        assert!(
            stderr.contains("source = \"kraken\" in flag --source")
                && stderr.contains("auto, coinglass, exchanges or demo"),
            "{args:?}: {stderr}"
        );
    }
}

#[tokio::test]
async fn an_unknown_venue_exits_2_naming_it_and_the_choices() {
    let (code, stdout, stderr) =
        perpwatch(&["--no-ui", "--once", "--exchanges", "binance,kraken"]).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("exchanges = \"binance,kraken\"")
            && stderr.contains("unknown venue \"kraken\"")
            && stderr.contains("binance, bybit, okx"),
        "{stderr}"
    );
    // A reference venue that is not among the chosen ones.
    let (code, _, stderr) = perpwatch(&[
        "check",
        "--exchanges",
        "bybit,okx",
        "--reference-exchange",
        "binance",
    ])
    .await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("reference_exchange = \"binance\"") && stderr.contains("bybit, okx"),
        "{stderr}"
    );
}

#[tokio::test]
async fn coinglass_without_a_key_exits_2_saying_to_set_it_or_use_the_exchanges() {
    let (code, stdout, stderr) = perpwatch(&["--no-ui", "--once", "--source", "coinglass"]).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("COINGLASS_API_KEY") && stderr.contains("--source exchanges"),
        "{stderr}"
    );
    // The backtest's own --source says the same.
    let (code, _, stderr) = perpwatch(&["backtest", "--source", "coinglass"]).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("COINGLASS_API_KEY"), "{stderr}");
}

#[tokio::test]
async fn demo_and_another_source_disagree() {
    let (code, _, stderr) =
        perpwatch(&["--no-ui", "--once", "--demo", "--source", "exchanges"]).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--demo means --source demo"), "{stderr}");
    // `--source demo` is `--demo`.
    let (code, stdout, stderr) = perpwatch(&[
        "--no-ui",
        "--json",
        "--once",
        "--source",
        "demo",
        "--symbols",
        "BTC",
    ])
    .await;
    assert_eq!(code, Some(0), "{stderr}");
    let line: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    assert_eq!(line["source"], "demo");
    assert_eq!(line["venues"], serde_json::json!([]));
}

#[tokio::test]
async fn no_venue_reachable_ends_once_with_exit_6_and_suggests_the_demo() {
    let (code, stdout, stderr) = perpwatch(&[
        "--no-ui",
        "--json",
        "--once",
        "--source",
        "exchanges",
        "--symbols",
        "BTC",
        "--poll-interval",
        "10s",
    ])
    .await;
    assert_eq!(code, Some(6), "{stderr}");
    assert!(
        stderr.contains("no data: ") && stderr.contains("try --demo"),
        "{stderr}"
    );
    // The line is still printed: every metric null, the source said.
    let line: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    assert_eq!(line["source"], "exchanges");
    assert!(line["metrics"]["price"].is_null(), "{line}");
    assert!(line["venues"].is_array(), "{line}");
}
