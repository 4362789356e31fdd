//! Signal evaluation throughput: `cargo bench --bench signals`.
//!
//! Two pre-generated input sets, each reported as snapshots/s (criterion "elements"):
//! * `market_mix`: a seeded synthetic market shaped like ordinary hours — mostly quiet, a tail of
//!   extremes, a few missing fields — where most snapshots fire 0–3 signals;
//! * `demo_loop`: every second of one demo loop for four coins, a deliberately eventful mix.
//!
//! And one cycle of the monitor in relative mode: `relative_cycle_100_symbols` derives the
//! thresholds of 100 symbols from warm 30-day baselines, evaluates every rule with them and
//! observes the cycle (target: under 1 ms). Every timed cycle starts a new hour, so each one
//! also moves every baseline's windows on (the costliest cycle); `…_within_the_hour` times the
//! other cycles, which only note the hour's newest values.

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use perpwatch::model::SignalInputs;
use perpwatch::monitor::{build_reports, fresh_inputs, ThresholdBook};
use perpwatch::signals::relative::{Sample, HOUR_MS};
use perpwatch::signals::{evaluate, Thresholds};
use perpwatch::source::demo::DemoMarket;
use perpwatch::source::demo::SIM_HOUR_S;
use std::time::Duration;

/// Standard normal from a seeded generator (Box–Muller).
fn normal(rng: &mut fastrand::Rng) -> f64 {
    let u1 = rng.f64().max(1e-12);
    let u2 = rng.f64();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn market_mix(n: usize) -> Vec<SignalInputs> {
    let mut z = fastrand::Rng::with_seed(0x5eed);
    let mut gaps = fastrand::Rng::with_seed(0x9a95);
    (0..n)
        .map(|_| {
            // Each metric goes missing now and then (plan gaps, failed fetches).
            let mut maybe = |v: f64| (gaps.f64() >= 0.03).then_some(v);
            let retail_long = (52.0 + 6.0 * normal(&mut z)).clamp(5.0, 95.0);
            let top_long = (retail_long + 4.0 * normal(&mut z)).clamp(5.0, 95.0);
            SignalInputs {
                funding_8h_pct: maybe(0.01 + 0.025 * normal(&mut z)),
                oi_change_1h_pct: maybe(1.5 * normal(&mut z)),
                liq_long_1h_usd: maybe((5e6f64.ln() + normal(&mut z)).exp()),
                liq_short_1h_usd: maybe((4e6f64.ln() + normal(&mut z)).exp()),
                retail_long_pct: maybe(retail_long),
                retail_short_pct: maybe(100.0 - retail_long),
                top_long_pct: maybe(top_long),
                top_short_pct: maybe(100.0 - top_long),
                taker_buy_pct: maybe(50.0 + 6.0 * normal(&mut z)),
                price_change_1h_pct: maybe(0.8 * normal(&mut z)),
            }
        })
        .collect()
}

fn demo_loop() -> Vec<SignalInputs> {
    let coins = ["BTC", "ETH", "SOL", "DOGE"].map(String::from).to_vec();
    let market = DemoMarket::new(coins, 1.0);
    let now = chrono::DateTime::from_timestamp(1_750_000_000, 0).unwrap_or_default();
    (0..600)
        .flat_map(|s| market.snapshots_at(Duration::from_secs(s), now))
        .map(|snap| snap.inputs())
        .collect()
}

fn describe(name: &str, inputs: &[SignalInputs], th: &Thresholds) {
    let counts: Vec<usize> = inputs.iter().map(|i| evaluate(i, th).len()).collect();
    let quiet = counts.iter().filter(|c| **c == 0).count();
    let up_to_3 = counts.iter().filter(|c| **c <= 3).count();
    let mean = counts.iter().sum::<usize>() as f64 / counts.len().max(1) as f64;
    eprintln!(
        "{name}: {} snapshots, {:.2} signals each on average, {:.0}% fire none, {:.0}% fire 0-3",
        inputs.len(),
        mean,
        100.0 * quiet as f64 / inputs.len().max(1) as f64,
        100.0 * up_to_3 as f64 / inputs.len().max(1) as f64,
    );
}

fn bench(c: &mut Criterion) {
    let th = Thresholds::default();
    let mut group = c.benchmark_group("evaluate");
    for (name, inputs) in [
        ("market_mix", market_mix(10_000)),
        ("demo_loop", demo_loop()),
    ] {
        describe(name, &inputs, &th);
        group.throughput(Throughput::Elements(inputs.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                for i in &inputs {
                    black_box(evaluate(black_box(i), &th));
                }
            })
        });
    }
    group.finish();
}

/// 100 demo symbols with 30 days of hourly history each, and the next cycle's snapshots.
fn warm_book() -> (ThresholdBook, Vec<perpwatch::model::Snapshot>, i64) {
    let symbols: Vec<String> = (0..100).map(|i| format!("C{i}")).collect();
    let market = DemoMarket::new(symbols.clone(), 1.0);
    let end_ms = 1_750_000_000_000 - 1_750_000_000_000 % HOUR_MS;
    let at = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
    let market_hour = |h: i64| Duration::from_secs_f64(h as f64 * SIM_HOUR_S);
    let mut book = ThresholdBook::default();
    for symbol in &symbols {
        let history: Vec<(i64, Sample)> = (0..30 * 24)
            .map(|h| {
                let t = end_ms - (30 * 24 - h) * HOUR_MS;
                let snap = market.snapshot_at(symbol, market_hour(h), at(t));
                let (inputs, oi) = fresh_inputs(&snap);
                (t, Sample::of(&inputs, oi))
            })
            .collect();
        book.seed(symbol, &history);
    }
    let now = market.snapshots_at(market_hour(30 * 24), at(end_ms));
    (book, now, end_ms)
}

fn bench_relative(c: &mut Criterion) {
    let (mut book, snapshots, start_ms) = warm_book();
    let warming = snapshots
        .iter()
        .filter(|s| book.derive(s).warming())
        .count();
    let fired: usize = snapshots.iter().map(|s| book.evaluate(s).len()).sum();
    eprintln!(
        "relative_cycle_100_symbols: {} symbols, {warming} still warming up, {fired} signals \
         in the first cycle",
        snapshots.len()
    );
    let mut hour = 0i64;
    let mut group = c.benchmark_group("monitor");
    // The cycles within an hour only note the hour's newest values.
    let mut same_hour = book.clone();
    let t = chrono::DateTime::from_timestamp_millis(start_ms + HOUR_MS / 2).unwrap_or_default();
    let mut mid_hour = snapshots.clone();
    for s in &mut mid_hour {
        s.time = t;
    }
    group.bench_function("relative_cycle_100_symbols_within_the_hour", |b| {
        b.iter_batched(
            || mid_hour.clone(),
            |cycle| black_box(build_reports(cycle, &mut same_hour)),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("relative_cycle_100_symbols", |b| {
        b.iter_batched(
            || {
                hour += 1;
                let t = chrono::DateTime::from_timestamp_millis(start_ms + hour * HOUR_MS)
                    .unwrap_or_default();
                let mut cycle = snapshots.clone();
                for s in &mut cycle {
                    s.time = t;
                }
                cycle
            },
            |cycle| black_box(build_reports(cycle, &mut book)),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench, bench_relative);
criterion_main!(benches);
