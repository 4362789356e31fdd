//! Live-source figures against a local CoinGlass mock (never a real host):
//!
//! 1. cycle latency: one cycle of 10 symbols on the Standard plan, every answer delayed 100 ms;
//! 2. requests per symbol per cycle, counted at the mock over one simulated hour, per plan;
//! 3. resident memory of the real binary running headless with 20 symbols (live and demo).
//!
//! `cargo bench --bench live_cycle` measures everything; under `cargo test` (no `--bench`
//! argument) it runs a quick smoke pass so the code stays working.

#[path = "../tests/common/mod.rs"]
mod common;

use chrono::{DateTime, TimeZone, Utc};
use common::{MockOptions, SimClock, TEST_KEY};
use perpwatch::source::coinglass::{LiveConfig, LiveSource, Plan};
use secrecy::SecretString;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

fn symbols(n: usize) -> Vec<String> {
    common::COIN_UNIVERSE[..n]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn live_config(uri: String, n: usize, poll: Duration) -> LiveConfig {
    let mut cfg = LiveConfig::new(uri, SecretString::from(TEST_KEY), symbols(n));
    cfg.poll_interval = poll;
    cfg
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

/// Time of one cycle of 10 symbols on Standard with 100 ms added to every answer: the first
/// cycle of a fresh source (everything due) and a steady-state cycle a minute later.
async fn cycle_latency(runs: usize) {
    let server = common::coinglass_with(MockOptions {
        level: "STANDARD",
        delay: Duration::from_millis(100),
        clock: None,
    })
    .await;
    let (mut first, mut steady) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let cfg = live_config(server.uri(), 10, Duration::from_secs(60));
        let mut source = LiveSource::connect(cfg).await.expect("connect to the mock");
        assert_eq!(source.plan(), Plan::Standard);
        let now = Utc::now();
        let t = Instant::now();
        let snaps = source.poll(now).await.expect("poll");
        first.push(t.elapsed());
        assert_eq!(snaps.len(), 10);
        let t = Instant::now();
        source
            .poll(now + chrono::Duration::seconds(60))
            .await
            .expect("poll");
        steady.push(t.elapsed());
    }
    println!(
        "cycle latency, 10 symbols, Standard, mock +100 ms/answer ({runs} runs): \
         first cycle median {:?} max {:?}; steady cycle median {:?} max {:?}  (target < 1 s)",
        median(first.clone()),
        first.iter().max().unwrap(),
        median(steady.clone()),
        steady.iter().max().unwrap()
    );
}

/// Requests per symbol per cycle over one simulated hour, counted at the mock.
async fn requests_per_cycle(level: &'static str, n: usize, poll_s: u64, hours: u32) {
    let clock: SimClock = Default::default();
    let t0: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 11, 25, 10, 7, 0).unwrap();
    clock.store(t0.timestamp_millis(), Ordering::SeqCst);
    let server = common::coinglass_with(MockOptions {
        level,
        delay: Duration::ZERO,
        clock: Some(clock.clone()),
    })
    .await;
    let mut cfg = live_config(server.uri(), n, Duration::from_secs(poll_s));
    // Simulated time runs faster than the limiter's real minute: shrink its window so the
    // hour does not take an hour (the per-window limit is unchanged).
    cfg.client.rate_window = Duration::from_millis(50);
    let mut source = LiveSource::connect(cfg).await.expect("connect to the mock");
    let schedule = source.schedule().clone();
    let before = server.received_requests().await.unwrap_or_default().len();
    let cycles = (3600 * hours as u64 / schedule.poll_interval.as_secs()) as usize;
    for k in 0..cycles {
        let now =
            t0 + chrono::Duration::seconds((k as u64 * schedule.poll_interval.as_secs()) as i64);
        clock.store(now.timestamp_millis(), Ordering::SeqCst);
        source.poll(now).await.expect("poll");
    }
    let sent = server.received_requests().await.unwrap_or_default().len() - before;
    let per_symbol_cycle = sent as f64 / (cycles * n) as f64;
    let per_minute = sent as f64 / (60.0 * hours as f64);
    println!(
        "requests, {level:<9} {n:>2} symbols every {:>3}s{}: {sent} in {hours} h ({cycles} cycles) = \
         {per_symbol_cycle:.2} per symbol per cycle, {per_minute:.1}/min (limit {}/min; planner estimate {:.2})",
        schedule.poll_interval.as_secs(),
        match schedule.stretched_from {
            Some(d) => format!(" (stretched from {}s)", d.as_secs()),
            None => String::new(),
        },
        Plan::parse(level).map(|p| p.requests_per_minute()).unwrap_or(0),
        schedule.est_requests_per_symbol_per_cycle,
    );
}

/// Peak resident memory of the real binary running headless for `secs`.
fn peak_rss(args: &[&str], base_url: Option<&str>, secs: u64) -> (u64, u64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_perpwatch"));
    cmd.env_clear()
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("PERPWATCH_DATA_DIR", dir.path().join("data"))
        .current_dir(dir.path())
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if let Some(url) = base_url {
        cmd.env("COINGLASS_API_KEY", TEST_KEY)
            .env("COINGLASS_BASE_URL", url);
    }
    let mut child = cmd.spawn().expect("spawn perpwatch");
    let status_path = format!("/proc/{}/status", child.id());
    let field = |text: &str, name: &str| -> u64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let (mut rss, mut hwm) = (0, 0);
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if let Ok(text) = std::fs::read_to_string(&status_path) {
            rss = field(&text, "VmRSS:");
            hwm = field(&text, "VmHWM:");
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let _ = child.kill();
    let _ = child.wait();
    (rss, hwm)
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        cycle_latency(if full { 9 } else { 1 }).await;
        if full {
            for (level, n, poll) in [
                ("HOBBYIST", 2, 60),
                ("HOBBYIST", 10, 60),
                ("HOBBYIST", 40, 300),
                ("STANDARD", 2, 60),
                ("STANDARD", 10, 60),
                ("STANDARD", 40, 60),
            ] {
                requests_per_cycle(level, n, poll, 1).await;
            }
        } else {
            requests_per_cycle("HOBBYIST", 2, 60, 1).await;
        }
    });
    if !full {
        println!("resident memory: measured with `cargo bench --bench live_cycle` only");
        return;
    }
    let server = runtime.block_on(common::coinglass());
    let twenty = symbols(20).join(",");
    let (rss, hwm) = peak_rss(
        &[
            "--no-ui",
            "--json",
            "--poll-interval",
            "10s",
            "--symbols",
            &twenty,
        ],
        Some(&server.uri()),
        35,
    );
    println!("resident memory, headless live, 20 symbols, 35 s (4 cycles): VmRSS {rss} kB, peak VmHWM {hwm} kB (target < 20 MB)");
    let (rss, hwm) = peak_rss(
        &[
            "--no-ui",
            "--json",
            "--demo",
            "--poll-interval",
            "10s",
            "--symbols",
            &twenty,
        ],
        None,
        25,
    );
    println!(
        "resident memory, headless demo, 20 symbols, 25 s: VmRSS {rss} kB, peak VmHWM {hwm} kB"
    );
}
