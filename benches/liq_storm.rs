//! A replayed liquidation storm (never a real host): a local websocket server on its own
//! thread sends Binance-shaped `forceOrder` frames, 1,000 a second for `LIQ_STORM_SECS`
//! (default 60) over 20 symbols, through `stream::spawn` into a liquidation book. Then the
//! same again with event times more than an hour later (the book's clock moved on with them),
//! so the rolling hour has rolled over.
//!
//! Printed: frames sent vs liquidations counted (must be equal), CPU time during each replay
//! as % of one core (the process, the server thread alone, and the difference: the client
//! side), and resident memory before, after the replay, and after the rolled-over replay.
//!
//! `cargo bench --bench liq_storm`; without `--bench` (e.g. `cargo test --benches`) it runs a
//! one-second smoke pass.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use perpwatch::source::exchanges::bench_support::{ReplayPart, ReplayServer, StormClient};
use perpwatch::source::exchanges::venue::{
    Keepalive, LiqEvent, LiqSide, Parsed, StreamSpec, Venue,
};
use serde::Deserialize;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

const RATE: u32 = 1000;
const SYMBOLS: [&str; 20] = [
    "BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT", "BNBUSDT", "ADAUSDT", "AVAXUSDT",
    "LINKUSDT", "DOTUSDT", "LTCUSDT", "TRXUSDT", "SUIUSDT", "APTUSDT", "ARBUSDT", "OPUSDT",
    "NEARUSDT", "FILUSDT", "ATOMUSDT", "INJUSDT",
];
/// How far the second replay's events (and the book's clock) lie after the first.
const ROLL: TimeDelta = TimeDelta::minutes(61);
/// Linux's USER_HZ: the unit of utime and stime in /proc/*/stat.
const TICKS_PER_S: f64 = 100.0;

/// `Utc::now()` shifted by the bench's offset (shared by the server's event times and the
/// book's clock).
fn shifted_now(offset_ms: &AtomicI64) -> DateTime<Utc> {
    Utc::now() + TimeDelta::milliseconds(offset_ms.load(Ordering::SeqCst))
}

/// The `i`-th frame, in the documented `!forceOrder@arr` shape (numbers as strings).
fn force_order(i: u64, at: DateTime<Utc>) -> String {
    let symbol = SYMBOLS[i as usize % SYMBOLS.len()];
    let side = if i % 3 == 0 { "BUY" } else { "SELL" };
    let ms = at.timestamp_millis();
    format!(
        r#"{{"e":"forceOrder","E":{ms},"o":{{"s":"{symbol}","S":"{side}","o":"LIMIT","f":"IOC","q":"0.014","p":"9910","ap":"9910.5","X":"FILLED","l":"0.014","z":"0.014","T":{ms}}}}}"#
    )
}

#[derive(Deserialize)]
struct ForceOrderFrame {
    o: ForceOrder,
}

#[derive(Deserialize)]
struct ForceOrder {
    s: String,
    #[serde(rename = "S")]
    side: String,
    q: String,
    p: String,
    ap: String,
    z: String,
    #[serde(rename = "T")]
    trade_time: i64,
}

fn num(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|x| x.is_finite() && *x > 0.0)
}

/// A Binance-shaped parser: SELL = a long liquidated; USD = z × ap, else q × p.
fn parse_force_order(text: &str) -> Parsed {
    let Ok(frame) = serde_json::from_str::<ForceOrderFrame>(text) else {
        return Parsed::Malformed("not a forceOrder frame".into());
    };
    let o = frame.o;
    let side = match o.side.as_str() {
        "SELL" => LiqSide::Long,
        "BUY" => LiqSide::Short,
        other => return Parsed::Malformed(format!("side {other:?}")),
    };
    let usd = match (num(&o.z), num(&o.ap)) {
        (Some(z), Some(ap)) => z * ap,
        _ => match (num(&o.q), num(&o.p)) {
            (Some(q), Some(p)) => q * p,
            _ => return Parsed::Malformed("no size or price".into()),
        },
    };
    let (Some(coin), Some(at)) = (
        o.s.strip_suffix("USDT"),
        Utc.timestamp_millis_opt(o.trade_time).single(),
    ) else {
        return Parsed::Malformed(format!("symbol {} or time", o.s));
    };
    Parsed::Events(vec![LiqEvent {
        coin: coin.to_string(),
        side,
        usd,
        at,
    }])
}

/// utime + stime of `/proc/self/stat` or `/proc/self/task/<tid>/stat`, in seconds.
fn cpu_s(stat_path: &str) -> f64 {
    let stat = std::fs::read_to_string(stat_path).expect("read /proc stat");
    // Fields after the command name (which is in parentheses and may hold spaces): state is
    // field 3, utime 14, stime 15.
    let fields: Vec<&str> = stat[stat.rfind(')').expect("stat format") + 2..]
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / TICKS_PER_S
}

fn rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

/// The calling thread's id, from `/proc/thread-self` (`<pid>/task/<tid>`).
fn thread_id() -> String {
    let link = std::fs::read_link("/proc/thread-self").expect("read /proc/thread-self");
    link.file_name()
        .expect("a thread id")
        .to_string_lossy()
        .into_owned()
}

fn wait_for(what: &str, within: Duration, done: impl Fn() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// CPU and wall time of one replay.
struct Span {
    wall_s: f64,
    process_s: f64,
    server_s: f64,
}

impl Span {
    fn print(&self, label: &str) {
        let pct = |s: f64| s / self.wall_s * 100.0;
        println!(
            "  {label}: {:.1} s wall; CPU % of one core: process {:.2} %, server thread {:.2} %, client (process − server) {:.2} %",
            self.wall_s,
            pct(self.process_s),
            pct(self.server_s),
            pct(self.process_s - self.server_s),
        );
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let secs: u64 = std::env::var("LIQ_STORM_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if full { 60 } else { 1 });
    let frames = secs * u64::from(RATE);
    let offset_ms = Arc::new(AtomicI64::new(0));
    let go_on = Arc::new(Notify::new());
    let stop = Arc::new(Notify::new());

    // The server on its own thread and runtime, so its CPU time can be told apart.
    let (tx, rx) = std::sync::mpsc::channel();
    let server_thread = {
        let (offset_ms, go_on, stop) = (offset_ms.clone(), go_on.clone(), stop.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("server runtime");
            rt.block_on(async move {
                let make: Arc<dyn Fn(u64) -> String + Send + Sync> =
                    Arc::new(move |i| force_order(i, shifted_now(&offset_ms)));
                let replay = |make| ReplayPart::Frames {
                    count: frames,
                    per_second: RATE,
                    make,
                };
                let server = ReplayServer::start(vec![
                    replay(make.clone()),
                    ReplayPart::WaitFor(go_on),
                    replay(make),
                ])
                .await;
                tx.send((server, thread_id()))
                    .expect("hand the server over");
                stop.notified().await;
            });
        })
    };
    let (server, server_tid) = rx.recv().expect("server started");
    let server_stat = format!("/proc/self/task/{server_tid}/stat");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("client runtime");
    let rss_before = rss_kb();
    let client = {
        let _enter = rt.enter();
        let clock_offset = offset_ms.clone();
        let spec = StreamSpec {
            venue: Venue::Binance,
            url: server.url(),
            subscribe: Vec::new(),
            keepalive: Keepalive::AnswerPings,
            max_age: Some(Duration::from_secs(24 * 3600)),
            parse: Arc::new(parse_force_order),
        };
        StormClient::spawn(spec, Arc::new(move || shifted_now(&clock_offset)))
    };
    wait_for("the stream to come up", Duration::from_secs(10), || {
        client.is_up()
    });

    let measure = |target: u64| {
        let (t0, p0, s0) = (
            Instant::now(),
            cpu_s("/proc/self/stat"),
            cpu_s(&server_stat),
        );
        wait_for(
            "every frame counted",
            Duration::from_secs(secs + 30),
            || server.sent() >= target && client.counted() >= target,
        );
        Span {
            wall_s: t0.elapsed().as_secs_f64(),
            process_s: cpu_s("/proc/self/stat") - p0,
            server_s: cpu_s(&server_stat) - s0,
        }
    };

    println!(
        "liquidation storm: {RATE} frames/s for {secs} s over {} symbols",
        SYMBOLS.len()
    );
    let first = measure(frames);
    let (sent_1, counted_1) = (server.sent(), client.counted());
    let rss_after = rss_kb();

    // An hour and a minute later: the book's clock and the events move on together.
    offset_ms.store(ROLL.num_milliseconds(), Ordering::SeqCst);
    go_on.notify_one();
    let second = measure(2 * frames);
    let (sent_2, counted_2) = (server.sent(), client.counted());
    let rss_rolled = rss_kb();
    let now = shifted_now(&offset_ms);
    let hour_usd: f64 = SYMBOLS
        .iter()
        .filter_map(|s| client.totals(s.strip_suffix("USDT").unwrap(), Venue::Binance, now))
        .filter_map(|l| l.total_1h_usd())
        .sum();

    println!(
        "  replay: sent {sent_1}, counted {counted_1}; rolled-over replay: sent {}, counted {}",
        sent_2 - sent_1,
        counted_2 - counted_1
    );
    println!(
        "  dropped by the book {}, malformed {}, connections {}",
        client.dropped(),
        client.malformed(),
        server.connections()
    );
    first.print("replay");
    second.print("rolled-over replay");
    println!(
        "  resident memory: before {rss_before} kB, after the replay {rss_after} kB, after the rolled-over replay {rss_rolled} kB ({:+} kB)",
        rss_rolled as i64 - rss_after as i64
    );
    let expected_hour_usd = frames as f64 * 0.014 * 9910.5;
    println!(
        "  last hour after the roll: {hour_usd:.0} USD (the second replay alone: {expected_hour_usd:.0} USD)"
    );

    assert_eq!((sent_1, counted_1), (frames, frames), "every frame counted");
    assert_eq!(
        (sent_2, counted_2),
        (2 * frames, 2 * frames),
        "every frame counted"
    );
    assert!(
        (hour_usd - expected_hour_usd).abs() < 1e-6 * expected_hour_usd,
        "the first replay left the hour"
    );

    drop(client);
    drop(server);
    stop.notify_one();
    server_thread.join().expect("server thread");
}
