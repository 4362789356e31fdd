//! History targets: `cargo bench --bench history`.
//!
//! * `replay/1y_1h_x20`: one year of 1h bars (8,760) for each of 20 symbols, replayed through
//!   the signal engine and scored with static thresholds (target: under 1 s for all 20);
//! * `replay/backtest_relative_1y_1h_20_symbols`: the same in relative mode, each bar's
//!   thresholds derived from the trailing 30 days of bars before it (target: under 1 s);
//! * `store/write_cycle_50`: one cycle's store write for 50 symbols with their signals (target:
//!   under 5 ms).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use perpwatch::backtest::fetch::demo_bars;
use perpwatch::backtest::replay::{replay, Setup};
use perpwatch::backtest::HOUR_MS;
use perpwatch::monitor::{build_reports, ThresholdBook};
use perpwatch::signals::relative::RelativeSettings;
use perpwatch::signals::Thresholds;
use perpwatch::source::demo::DemoMarket;
use perpwatch::store::Store;
use std::time::Duration;

const SYMBOLS: [&str; 20] = [
    "BTC", "ETH", "SOL", "XRP", "DOGE", "ADA", "AVAX", "LINK", "DOT", "TRX", "LTC", "BCH", "NEAR",
    "APT", "ARB", "OP", "SUI", "TIA", "INJ", "1000PEPE",
];

fn bench_replay(c: &mut Criterion) {
    let start = 1_700_000_000_000 - 1_700_000_000_000 % HOUR_MS;
    let series: Vec<_> = SYMBOLS
        .iter()
        .map(|s| demo_bars(s, HOUR_MS, start, start + 8760 * HOUR_MS))
        .collect();
    let setup = Setup::new(
        HOUR_MS,
        Duration::from_secs(24 * 3600),
        5.0,
        Thresholds::default(),
    )
    .expect("setup");
    let relative = setup.clone().with_relative(RelativeSettings::default());
    let mut g = c.benchmark_group("replay");
    g.sample_size(10);
    g.bench_function("1y_1h_x20", |b| {
        b.iter(|| {
            for bars in &series {
                black_box(replay(black_box(bars), &setup));
            }
        })
    });
    g.bench_function("backtest_relative_1y_1h_20_symbols", |b| {
        b.iter(|| {
            for bars in &series {
                black_box(replay(black_box(bars), &relative));
            }
        })
    });
    g.finish();
}

fn bench_store(c: &mut Criterion) {
    let symbols: Vec<String> = (0..50).map(|i| format!("C{i}")).collect();
    let market = DemoMarket::new(symbols, 1.0);
    let now = chrono::Utc::now();
    let snaps = market.snapshots_at(Duration::from_secs(150), now);
    let report = perpwatch::fixtures::cycle_report(
        1,
        now,
        perpwatch::fixtures::live_label(None),
        build_reports(snaps, &mut ThresholdBook::default()),
    );
    let signals: usize = report.symbols.iter().map(|s| s.signals.len()).sum();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::open_in(dir.path()).expect("store");
    let mut g = c.benchmark_group("store");
    g.bench_function(format!("write_cycle_50 ({signals} signals)"), |b| {
        b.iter(|| store.write_cycle(black_box(&report)).expect("write"))
    });
    g.finish();
}

criterion_group!(benches, bench_replay, bench_store);
criterion_main!(benches);
