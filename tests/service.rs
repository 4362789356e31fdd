//! Service mode, end to end with the real binary: `/metrics` and `/healthz` scraped over
//! 127.0.0.1 (demo market, a healthy CoinGlass mock, a CoinGlass mock that answers nothing
//! usable), a taken metrics port, and systemd notifications through a Unix datagram socket.

mod common;

use common::{Sandbox, TEST_KEY};
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "424242:SERVICE-bot-token-SECRET";
const CHAT: &str = "-1009998887776";
const HOOK_SECRET: &str = "HOOK-PATH-SECRET-77";
/// Demo symbols whose phase fires MEDIUM/HIGH signals on the first cycle (so alerts go out).
const SIGNAL_SYMBOLS: &str = "SOL,XRP,DOGE,ADA,AVAX";

/// A running perpwatch, killed if the test fails before it is terminated.
struct Daemon {
    child: Option<Child>,
    stdout: std::path::PathBuf,
    stderr: std::path::PathBuf,
}

impl Daemon {
    fn spawn(sb: &Sandbox, mut cmd: Command) -> Daemon {
        let stdout = sb.path().join("stdout.txt");
        let stderr = sb.path().join("stderr.txt");
        let out = std::fs::File::create(&stdout).expect("stdout file");
        let err = std::fs::File::create(&stderr).expect("stderr file");
        cmd.stdout(Stdio::from(out)).stderr(Stdio::from(err));
        Daemon {
            child: Some(cmd.spawn().expect("spawn perpwatch")),
            stdout,
            stderr,
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// SIGTERM once the frontend printed a cycle (it handles signals from then on; a signal
    /// during start-up is another test's subject); the exit code.
    fn terminate(&mut self) -> Option<i32> {
        let until = Instant::now() + Duration::from_secs(60);
        while std::fs::metadata(&self.stdout).map_or(0, |m| m.len()) == 0 {
            assert!(
                Instant::now() < until,
                "no output; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut child = self.child.take().expect("running");
        common::terminate(&mut child).0.code()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// GET `http://127.0.0.1:port{path}`: status and body, or None while nothing answers.
async fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .ok()?;
    let resp = client
        .get(format!("http://127.0.0.1:{port}{path}"))
        .send()
        .await
        .ok()?;
    let status = resp.status().as_u16();
    Some((status, resp.text().await.ok()?))
}

/// Scrapes `path` until `want` holds for its answer (generous bound: CI has 2 cores).
async fn scrape_until(
    daemon: &Daemon,
    port: u16,
    path: &str,
    what: &str,
    want: impl Fn(u16, &str) -> bool,
) -> (u16, String) {
    let until = Instant::now() + Duration::from_secs(60);
    let mut last = None;
    loop {
        if let Some((status, body)) = get(port, path).await {
            if want(status, &body) {
                return (status, body);
            }
            last = Some((status, body));
        }
        assert!(
            Instant::now() < until,
            "timed out waiting for {what} on {path}; last answer {last:?}; stderr:\n{}",
            daemon.stderr()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn assert_no_secret(text: &str) {
    for secret in [TEST_KEY, TOKEN, HOOK_SECRET] {
        assert!(!text.contains(secret), "{secret} leaked into:\n{text}");
    }
}

/// The value of the sample `name{labels}` (exact series), if present.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|l| {
        let rest = l.strip_prefix(series)?.strip_prefix(' ')?;
        rest.trim().parse().ok()
    })
}

#[tokio::test]
async fn service_demo_metrics_and_healthz_over_loopback_without_secrets() {
    let telegram = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/bot{TOKEN}/sendMessage")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": true, "result": {"message_id": 1}})),
        )
        .mount(&telegram)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/hooks/{HOOK_SECRET}")))
        .respond_with(ResponseTemplate::new(204))
        .mount(&telegram)
        .await;
    let sb = Sandbox::new();
    let port = free_port();
    let mut cmd = sb.command();
    cmd.env("COINGLASS_API_KEY", TEST_KEY)
        .env("TELEGRAM_BOT_TOKEN", TOKEN)
        .env("TELEGRAM_CHAT_ID", CHAT)
        .env("TELEGRAM_API_URL", telegram.uri())
        .env(
            "WEBHOOK_URL",
            format!("{}/hooks/{HOOK_SECRET}", telegram.uri()),
        )
        .args(["--demo", "--no-ui", "--poll-interval", "10s", "--symbols"])
        .arg(SIGNAL_SYMBOLS)
        .arg("--metrics-addr")
        .arg(format!("127.0.0.1:{port}"));
    let mut daemon = Daemon::spawn(&sb, cmd);

    let (_, health) = scrape_until(&daemon, port, "/healthz", "200", |s, _| s == 200).await;
    assert!(health.starts_with("ok: cycle "), "{health}");
    // The first cycle's alerts reach both sinks; the metrics say so.
    let (_, metrics) = scrape_until(&daemon, port, "/metrics", "alerts sent", |_, m| {
        sample(
            m,
            "perpwatch_alerts_total{sink=\"telegram\",outcome=\"sent\"}",
        )
        .is_some()
            && sample(
                m,
                "perpwatch_alerts_total{sink=\"webhook\",outcome=\"sent\"}",
            )
            .is_some()
            && m.contains("perpwatch_store_write_seconds_count")
    })
    .await;
    for symbol in SIGNAL_SYMBOLS.split(',') {
        let fresh = format!("perpwatch_metric_groups{{symbol=\"{symbol}\",state=\"fresh\"}}");
        assert_eq!(sample(&metrics, &fresh), Some(7.0), "{fresh}\n{metrics}");
        let absent = format!("perpwatch_metric_groups{{symbol=\"{symbol}\",state=\"absent\"}}");
        assert_eq!(sample(&metrics, &absent), Some(0.0), "{absent}\n{metrics}");
    }
    for needle in [
        "# TYPE perpwatch_cycle_duration_seconds histogram",
        "perpwatch_cycle_duration_seconds_bucket{le=\"",
        "# TYPE perpwatch_store_write_seconds histogram",
        "perpwatch_signals_fired_total{symbol=\"",
        "perpwatch_source_info{kind=\"demo\",plan=\"\"} 1",
        "perpwatch_alert_outbox_depth{sink=\"telegram\"}",
        "perpwatch_healthy 1",
    ] {
        assert!(metrics.contains(needle), "{needle} missing:\n{metrics}");
    }
    assert!(sample(&metrics, "perpwatch_cycles_total").is_some_and(|n| n >= 1.0));
    assert_eq!(
        sample(&metrics, "perpwatch_cycle_fetched_metric_groups"),
        Some(35.0)
    );
    // The demo sends no CoinGlass request: no request counter, and no made-up rate-limit use.
    assert!(!metrics.contains("perpwatch_requests_total{"), "{metrics}");
    assert!(!metrics.contains("perpwatch_rate_limit_used "), "{metrics}");
    assert_no_secret(&metrics);
    assert_no_secret(&health);

    let (status, body) = get(port, "/nope").await.expect("answer");
    assert_eq!(status, 404, "{body}");
    assert_eq!(daemon.terminate(), Some(0), "stderr:\n{}", daemon.stderr());
    let stderr = daemon.stderr();
    assert!(
        stderr.contains(&format!("serving http://127.0.0.1:{port}/metrics")),
        "{stderr}"
    );
    assert_no_secret(&stderr);
}

#[tokio::test]
async fn service_live_metrics_count_requests_by_endpoint_and_outcome() {
    let server = common::coinglass().await;
    let sb = Sandbox::new();
    let port = free_port();
    let mut cmd = sb.live_command(&server);
    cmd.args(["--no-ui", "--symbols", "BTC", "--metrics-addr"])
        .arg(port.to_string());
    let mut daemon = Daemon::spawn(&sb, cmd);
    let (_, health) = scrape_until(&daemon, port, "/healthz", "200", |s, _| s == 200).await;
    assert!(health.starts_with("ok: cycle 1 "), "{health}");
    let (_, metrics) = scrape_until(&daemon, port, "/metrics", "a cycle", |_, m| {
        sample(m, "perpwatch_cycles_total").is_some()
    })
    .await;
    // Every cycle request, counted by route (the start-up subscription check runs before the
    // exporter exists).
    for series in [
        "perpwatch_requests_total{endpoint=\"/api/futures/funding-rate/exchange-list\",outcome=\"ok\"}",
        "perpwatch_requests_total{endpoint=\"/api/futures/open-interest/exchange-list\",outcome=\"ok\"}",
        "perpwatch_requests_total{endpoint=\"/api/futures/pairs-markets\",outcome=\"ok\"}",
    ] {
        assert!(
            sample(&metrics, series).is_some_and(|n| n >= 1.0),
            "{series} missing:\n{metrics}"
        );
    }
    // The mock's API-KEY-MAX-LIMIT header (Hobbyist: 30/min).
    assert_eq!(
        sample(&metrics, "perpwatch_rate_limit_per_minute"),
        Some(30.0)
    );
    assert!(
        metrics.contains("perpwatch_source_info{kind=\"live\",plan=\"HOBBYIST\"} 1"),
        "{metrics}"
    );
    assert!(sample(&metrics, "perpwatch_cycle_requests").is_some_and(|n| n >= 1.0));
    assert_no_secret(&metrics);
    assert_eq!(daemon.terminate(), Some(0), "stderr:\n{}", daemon.stderr());
    assert_no_secret(&daemon.stderr());
}

#[tokio::test]
async fn service_healthz_is_503_with_the_cause_when_a_cycle_fetches_nothing() {
    // The key is accepted, but every market endpoint answers something that is not V4 JSON.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/user/account/subscription"))
        .and(header("CG-API-KEY", TEST_KEY))
        .respond_with(common::ok(
            json!({"level": "STANDARD", "expire_time": 4102444800000u64, "expired": false}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"))
        .mount(&server)
        .await;
    let sb = Sandbox::new();
    let port = free_port();
    let mut cmd = sb.live_command(&server);
    cmd.args(["--no-ui", "--symbols", "BTC,ETH", "--metrics-addr"])
        .arg(format!("127.0.0.1:{port}"));
    let mut daemon = Daemon::spawn(&sb, cmd);
    let (status, health) = scrape_until(&daemon, port, "/healthz", "a dead cycle", |_, b| {
        b.starts_with("last cycle fetched nothing")
    })
    .await;
    assert_eq!(status, 503, "{health}");
    assert!(health.contains("malformed answer"), "{health}");
    assert!(
        health.lines().count() == 1 && health.len() < 300,
        "{health}"
    );
    let (status, metrics) = get(port, "/metrics").await.expect("metrics");
    assert_eq!(status, 200);
    assert_eq!(
        sample(&metrics, "perpwatch_cycle_fetched_metric_groups"),
        Some(0.0)
    );
    assert_eq!(sample(&metrics, "perpwatch_healthy"), Some(0.0));
    assert!(
        metrics.contains("perpwatch_requests_total{endpoint=\"/api/futures/funding-rate/exchange-list\",outcome=\""),
        "{metrics}"
    );
    assert!(
        !metrics.contains("perpwatch_requests_total{endpoint=\"/api/futures/funding-rate/exchange-list\",outcome=\"ok\"}"),
        "{metrics}"
    );
    // Nothing was fetched: every group of both symbols is absent or stale, none fresh.
    for symbol in ["BTC", "ETH"] {
        let fresh = format!("perpwatch_metric_groups{{symbol=\"{symbol}\",state=\"fresh\"}}");
        assert_eq!(sample(&metrics, &fresh), Some(0.0), "{metrics}");
    }
    assert_no_secret(&metrics);
    assert_no_secret(&health);
    assert_eq!(daemon.terminate(), Some(0), "stderr:\n{}", daemon.stderr());
}

#[tokio::test]
async fn service_metrics_port_taken_is_a_clear_startup_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let sb = Sandbox::new();
    let mut cmd = sb.command();
    cmd.args(["--demo", "--once", "--metrics-addr"])
        .arg(format!("127.0.0.1:{port}"));
    let out = common::run(cmd).await;
    let (stdout, stderr) = common::text(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "cannot serve /metrics and /healthz on 127.0.0.1:{port}"
        )) && stderr.contains("--metrics-addr"),
        "{stderr}"
    );
    assert!(stdout.is_empty(), "no cycle ran: {stdout}");

    // A bad address is a configuration error (exit 2) naming the value and what is allowed.
    let mut cmd = sb.command();
    cmd.args(["--demo", "--once", "--metrics-addr", "localhost:9184"]);
    let out = common::run(cmd).await;
    let (_, stderr) = common::text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("metrics_addr = \"localhost:9184\"") && stderr.contains("IP:PORT"),
        "{stderr}"
    );
    drop(taken);
}

#[cfg(unix)]
#[tokio::test]
async fn service_notifies_systemd_ready_status_watchdog_and_stopping() {
    use std::os::unix::net::UnixDatagram;
    let sb = Sandbox::new();
    let socket_path = sb.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).expect("bind the notify socket");
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let mut cmd = sb.command();
    cmd.env("NOTIFY_SOCKET", &socket_path)
        // systemd's WatchdogSec=2s: pings every second.
        .env("WATCHDOG_USEC", "2000000")
        .args(["--demo", "--no-ui", "--poll-interval", "10s"]);
    let mut daemon = Daemon::spawn(&sb, cmd);

    let mut messages: Vec<String> = Vec::new();
    let receive_until =
        |what: &str, done: &dyn Fn(&[String]) -> bool, messages: &mut Vec<String>| {
            let until = Instant::now() + Duration::from_secs(60);
            let mut buf = [0u8; 4096];
            while !done(messages) {
                assert!(
                    Instant::now() < until,
                    "timed out waiting for {what}; got {messages:?}; stderr:\n{}",
                    daemon.stderr()
                );
                if let Ok(n) = socket.recv(&mut buf) {
                    messages.push(String::from_utf8_lossy(&buf[..n]).into_owned());
                }
            }
        };
    receive_until(
        "READY and a watchdog ping",
        &|m| m.iter().any(|x| x.contains("READY=1")) && m.iter().any(|x| x == "WATCHDOG=1\n"),
        &mut messages,
    );
    // Starting first (with an extended start timeout), then READY with the cycle's STATUS.
    let first = &messages[0];
    assert!(
        first.contains("STATUS=starting: first cycle running\n")
            && first.contains("EXTEND_TIMEOUT_USEC=30000000\n"),
        "{messages:?}"
    );
    let ready = messages
        .iter()
        .find(|m| m.contains("READY=1"))
        .expect("READY=1");
    assert!(
        ready.starts_with(
            "READY=1\nSTATUS=cycle 1: 14 fresh, 0 stale, 0 absent metric groups of 2 symbols;"
        ),
        "{ready:?}"
    );
    assert_eq!(
        messages.iter().filter(|m| m.contains("READY=1")).count(),
        1,
        "{messages:?}"
    );
    assert_eq!(daemon.terminate(), Some(0), "stderr:\n{}", daemon.stderr());
    let mut buf = [0u8; 4096];
    let mut rest = Vec::new();
    while let Ok(n) = socket.recv(&mut buf) {
        rest.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert!(rest.iter().any(|m| m == "STOPPING=1\n"), "{rest:?}");
}
