//! Track records against a local CoinGlass mock: the history is downloaded once into the store,
//! a restart on the same day spends no request, the next day's refresh asks only for that day,
//! and the records come out of the cached bars.

mod common;

use common::{ok, Sandbox, TEST_KEY};
use perpwatch::config::cli::Cli;
use perpwatch::config::Config;
use perpwatch::record::{HistorySource, RecordJob};
use perpwatch::signals::record::{NoRecord, RecordBook};
use perpwatch::signals::SignalId;
use perpwatch::source::coinglass::{ClientOptions, CoinGlassClient, Plan};
use serde_json::json;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request};

const HOUR_MS: i64 = 3_600_000;

fn param(req: &Request, key: &str) -> Option<i64> {
    req.url
        .query_pairs()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.parse().ok())
}

async fn history_mock() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/futures/supported-exchanges"))
        .respond_with(ok(json!(["Binance", "OKX"])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/futures/supported-exchange-pairs"))
        .respond_with(ok(json!({
            "Binance": [{"instrument_id": "BTCUSDT", "base_asset": "BTC", "quote_asset": "USDT"}]
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("history$"))
        .respond_with(common::HistoryPages {
            interval_ms: Some(4 * HOUR_MS),
            retail_swings: false,
            funding_open: "0",
        })
        .mount(&server)
        .await;
    server
}

fn config(sb: &Sandbox, server: &MockServer) -> Config {
    let cfg_file = sb.path().join("empty.toml");
    std::fs::write(&cfg_file, "").expect("write config");
    let argv = [
        "perpwatch".to_string(),
        "--config".into(),
        cfg_file.display().to_string(),
        "--data-dir".into(),
        sb.data_dir().display().to_string(),
        "--symbols".into(),
        "BTC".into(),
    ];
    let cli = <Cli as clap::Parser>::try_parse_from(argv).expect("arguments");
    let uri = server.uri();
    let env = move |name: &str| match name {
        "COINGLASS_API_KEY" => Some(TEST_KEY.to_string()),
        "COINGLASS_BASE_URL" => Some(uri.clone()),
        _ => None,
    };
    Config::load_from(&cli, &env).expect("config")
}

/// A fresh start: a new client (as a new process has) and an empty book.
fn job(config: &Config, server: &MockServer) -> RecordJob {
    let client = CoinGlassClient::new(
        server.uri(),
        secrecy::SecretString::from(TEST_KEY),
        ClientOptions::default(),
    )
    .expect("client");
    RecordJob {
        config: config.clone(),
        source: HistorySource::CoinGlass {
            client: client.background(5),
            plan: Plan::Hobbyist,
        },
        book: RecordBook::new(),
        on_history: None,
    }
}

/// 2025-06-15 15:06:40 UTC.
fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(1_750_000_000_000).expect("time")
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.unwrap_or_default().len()
}

#[tokio::test]
async fn history_is_downloaded_once_and_a_restart_reads_the_cache() {
    let server = history_mock().await;
    let sb = Sandbox::new();
    let config = config(&sb, &server);

    let first = job(&config, &server);
    first.refresh(now()).await;
    // Hobbyist: 4h bars, 180 days = 1080 bars = 2 pages for each of the 7 series, plus the
    // exchange list (liquidations) and the reference pair's lookup.
    assert_eq!(requests(&server).await, 7 * 2 + 2);
    let record = match first.book.get("BTC", SignalId::FundingExtremeLong) {
        Some(Ok(r)) => r,
        other => panic!("expected a record, got {other:?}"),
    };
    assert_eq!(record.interval, "4h");
    assert!((record.days - 180.0).abs() < 1e-9, "{record:?}");
    assert!(record.fired > 0, "{record:?}");
    assert_eq!(record.move_pct, 3.0);
    // 4h bars carry no 1 h change: an OI rule has no record, and says why.
    match first.book.get("BTC", SignalId::OiSurge) {
        Some(Err(NoRecord::NotObservable { interval, inputs })) => {
            assert_eq!(interval, "4h");
            assert_eq!(inputs, vec!["oi_change_1h_pct"]);
        }
        other => panic!("expected no record, got {other:?}"),
    }

    // A restart later the same day: everything from the store, not one request.
    let again = job(&config, &server);
    again.refresh(now() + chrono::Duration::hours(3)).await;
    assert_eq!(
        requests(&server).await,
        7 * 2 + 2,
        "the restart spent nothing"
    );
    assert_eq!(
        again.book.get("BTC", SignalId::FundingExtremeLong),
        Some(Ok(record))
    );

    // The next day's refresh asks for the day that passed only: one page per series.
    let before = requests(&server).await;
    again.refresh(now() + chrono::Duration::days(1)).await;
    let asked: Vec<Request> =
        server.received_requests().await.unwrap_or_default()[before..].to_vec();
    let pages: Vec<&Request> = asked
        .iter()
        .filter(|r| r.url.path().ends_with("history"))
        .collect();
    assert_eq!(pages.len(), 7, "{asked:?}");
    for p in pages {
        let span = param(p, "end_time").unwrap_or(0) - param(p, "start_time").unwrap_or(0);
        assert_eq!(span, 24 * HOUR_MS, "{}", p.url);
    }
}
