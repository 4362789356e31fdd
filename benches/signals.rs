//! Signal evaluation throughput: `cargo bench --bench signals`.
//!
//! Two pre-generated input sets, each reported as snapshots/s (criterion "elements"):
//! * `market_mix`: a seeded synthetic market shaped like ordinary hours — mostly quiet, a tail of
//!   extremes, a few missing fields — where most snapshots fire 0–3 signals;
//! * `demo_loop`: every second of one demo loop for four coins, a deliberately eventful mix.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use perpwatch::model::SignalInputs;
use perpwatch::signals::{evaluate, Thresholds};
use perpwatch::source::demo::DemoMarket;
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

criterion_group!(benches, bench);
criterion_main!(benches);
