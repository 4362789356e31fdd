use super::bars::{bars_from_cycles, merge};
use super::*;
use crate::model::{Field, Funding, OpenInterest, Price, SignalInputs, Snapshot};
use crate::signals::record::MIN_DAYS;
use crate::signals::{SignalId, Thresholds};
use crate::store::StoredSnapshot;
use std::collections::HashMap;

/// 2025-06-01 00:00 UTC, an hour (and day) boundary.
const H0: i64 = 1_748_736_000_000;
const MIN: i64 = 60_000;

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// A stored live row: price, OI, funding and the rolling 1 h liquidations.
fn row(
    ms: i64,
    price: Option<f64>,
    funding: Option<f64>,
    liq: (Option<f64>, Option<f64>),
) -> StoredSnapshot {
    StoredSnapshot {
        symbol: "BTC".into(),
        time: at(ms),
        source: "live".into(),
        price,
        price_at: price.map(|_| at(ms)),
        oi_usd: price.map(|p| p * 10.0),
        inputs: SignalInputs {
            funding_8h_pct: funding,
            liq_long_1h_usd: liq.0,
            liq_short_1h_usd: liq.1,
            ..SignalInputs::default()
        },
    }
}

#[test]
fn live_bars_follow_hour_boundaries_keep_gaps_and_skip_the_running_hour() {
    let rows = vec![
        // Out of order on purpose: the store's order is not relied on.
        row(H0 + 30 * MIN, Some(105.0), None, (Some(3e6), Some(1e6))),
        row(H0, Some(100.0), Some(0.01), (Some(1e6), Some(2e6))),
        // The hour's last row could read nothing: the bar keeps the last known values.
        row(H0 + 60 * MIN - 1, None, None, (None, None)),
        row(H0 + 59 * MIN, Some(95.0), None, (None, Some(4e6))),
        // Exactly on the next hour: the next bar.
        row(
            H0 + 60 * MIN,
            Some(101.0),
            Some(0.02),
            (Some(5e6), Some(6e6)),
        ),
        // H0+2h: nothing stored (a gap).
        row(
            H0 + 3 * 60 * MIN + 5 * MIN,
            Some(99.0),
            Some(0.03),
            (Some(7e6), Some(8e6)),
        ),
        // The running hour is not a bar yet.
        row(
            H0 + 4 * 60 * MIN + 5 * MIN,
            Some(98.0),
            Some(0.04),
            (Some(1.0), Some(1.0)),
        ),
    ];
    let now = H0 + 4 * 60 * MIN + 10 * MIN;
    let bars = bars_from_cycles(&rows, HOUR_MS, now);
    let times: Vec<i64> = bars.iter().map(|b| (b.time_ms - H0) / HOUR_MS).collect();
    assert_eq!(
        times,
        vec![0, 1, 3],
        "gaps stay gaps, the running hour waits"
    );
    let b = bars[0];
    assert_eq!(
        (b.open, b.high, b.low, b.close),
        (Some(100.0), Some(105.0), Some(95.0), Some(95.0))
    );
    assert_eq!(b.oi_usd, Some(950.0), "the last known OI");
    assert_eq!(b.funding_8h_pct, Some(0.01), "the last known funding");
    assert_eq!(
        (b.liq_long_usd, b.liq_short_usd),
        (Some(3e6), Some(4e6)),
        "the rolling 1 h sums as last seen in the hour"
    );
    assert_eq!(bars[1].close, Some(101.0));
    assert_eq!(bars[1].liq_long_usd, Some(5e6));

    // 4 h bars add each hour's liquidations, and need every hour to have been seen.
    let four = bars_from_cycles(&rows, 4 * HOUR_MS, H0 + 8 * HOUR_MS);
    assert_eq!(four.len(), 2);
    assert_eq!(four[0].time_ms, H0);
    assert_eq!(
        (four[0].open, four[0].high, four[0].low, four[0].close),
        (Some(100.0), Some(105.0), Some(95.0), Some(99.0))
    );
    assert_eq!(four[0].liq_long_usd, None, "hour 2 was never seen");
    let full: Vec<StoredSnapshot> = (0..4)
        .map(|h| {
            row(
                H0 + h * HOUR_MS + 30 * MIN,
                Some(100.0),
                None,
                (Some(1e6), Some(2e6)),
            )
        })
        .collect();
    let four = bars_from_cycles(&full, 4 * HOUR_MS, H0 + 4 * HOUR_MS);
    assert_eq!(
        (four[0].liq_long_usd, four[0].liq_short_usd),
        (Some(4e6), Some(8e6))
    );
}

#[test]
fn downloaded_bars_win_over_live_ones_of_the_same_period() {
    let live = vec![
        Bar {
            close: Some(1.0),
            ..Bar::at(H0)
        },
        Bar {
            close: Some(2.0),
            ..Bar::at(H0 + HOUR_MS)
        },
    ];
    let downloaded = vec![
        Bar {
            close: Some(10.0),
            ..Bar::at(H0 + HOUR_MS)
        },
        Bar {
            close: Some(30.0),
            ..Bar::at(H0 - HOUR_MS)
        },
    ];
    let closes: Vec<Option<f64>> = merge(downloaded, live).iter().map(|b| b.close).collect();
    assert_eq!(closes, vec![Some(30.0), Some(1.0), Some(10.0)]);
}

/// A stored cycle of one symbol from `source` with a price and funding.
fn cycle(source: SourceKind, ms: i64, price: f64) -> crate::report::CycleReport {
    let t = at(ms);
    let mut s = Snapshot::new("BTC", source, t);
    s.price = Field::fresh(
        Price {
            price: Some(price),
            change_1h_pct: None,
            change_24h_pct: None,
        },
        t,
    );
    s.open_interest = Field::fresh(
        OpenInterest {
            oi_usd: Some(1e9),
            change_5m_pct: None,
            change_15m_pct: None,
            change_30m_pct: None,
            change_1h_pct: None,
            change_4h_pct: None,
            change_24h_pct: None,
        },
        t,
    );
    s.funding = Field::fresh(
        Funding {
            rate_8h_pct: Some(0.01),
            by_exchange: vec![],
        },
        t,
    );
    let label = match source {
        SourceKind::Live | SourceKind::Exchanges => crate::fixtures::live_label(Some("STARTUP")),
        SourceKind::Demo => crate::fixtures::demo_label(),
    };
    crate::fixtures::cycle_report(1, t, label, vec![crate::fixtures::symbol_report(s, vec![])])
}

#[test]
fn the_stored_series_reads_live_cycles_only_and_prefers_downloaded_bars() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_in(dir.path()).unwrap();
    store
        .write_cycle(&cycle(SourceKind::Live, H0 + 10 * MIN, 100.0))
        .unwrap();
    // A demo run in between: stored, but never real history.
    store
        .write_cycle(&cycle(SourceKind::Demo, H0 + 70 * MIN, 5.0))
        .unwrap();
    store
        .write_cycle(&cycle(SourceKind::Live, H0 + 130 * MIN, 102.0))
        .unwrap();
    store
        .write_cycle(&cycle(SourceKind::Live, H0 + 190 * MIN, 103.0))
        .unwrap();
    let downloaded = Bar {
        close: Some(200.0),
        ..Bar::at(H0 + 2 * HOUR_MS)
    };
    store
        .upsert_bar_columns("BTC", "1h", ORIGIN_COINGLASS, &[3], &[downloaded])
        .unwrap();
    let span = Span {
        interval_ms: HOUR_MS,
        download_end_ms: H0 + 3 * HOUR_MS,
        start_ms: H0 - 10 * DAY_MS,
    };
    let (bars, only_downloaded) =
        stored_history(&store, "BTC", &span, at(H0 + 4 * HOUR_MS)).unwrap();
    let got: Vec<(i64, Option<f64>)> = bars
        .iter()
        .map(|b| ((b.time_ms - H0) / HOUR_MS, b.close))
        .collect();
    assert_eq!(
        got,
        vec![(0, Some(100.0)), (2, Some(200.0)), (3, Some(103.0))],
        "no demo bar at hour 1; the downloaded bar wins at hour 2"
    );
    assert_eq!(only_downloaded, vec![downloaded]);
    assert_eq!(bars[0].funding_8h_pct, Some(0.01));
    assert_eq!(bars[0].oi_usd, Some(1e9));
}

#[test]
fn the_exchanges_history_reads_its_own_stored_cycles_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_in(dir.path()).unwrap();
    for (kind, minute, price) in [
        (SourceKind::Exchanges, 10, 100.0),
        (SourceKind::Live, 70, 7.0),
        (SourceKind::Demo, 75, 5.0),
        (SourceKind::Exchanges, 130, 102.0),
    ] {
        store
            .write_cycle(&cycle(kind, H0 + minute * MIN, price))
            .unwrap();
    }
    let now = at(H0 + 4 * HOUR_MS);
    let span = Span::of(&HistorySource::Exchanges, now);
    assert_eq!(span.interval_ms, HOUR_MS);
    let bars = stored_cycle_bars(&store, "BTC", &span, SourceKind::Exchanges, now).unwrap();
    let got: Vec<(i64, Option<f64>)> = bars
        .iter()
        .map(|b| ((b.time_ms - H0) / HOUR_MS, b.close))
        .collect();
    assert_eq!(
        got,
        vec![(0, Some(100.0)), (2, Some(102.0))],
        "no CoinGlass or demo bar at hour 1"
    );
}

/// Flat hourly bars at 100 with funding 0, except: funding spikes to 0.2 % (above the static
/// 0.10 % extreme) for one bar at each of `spikes`, and after the spikes in `drops` the price
/// dips to 95 (−5 %) for the bars 3–5 hours later.
fn synthetic(days: i64, spikes: &[usize], drops: &[usize]) -> Vec<Bar> {
    let n = usize::try_from(days * 24).unwrap_or(0);
    let mut bars: Vec<Bar> = (0..n)
        .map(|i| {
            let price = Some(100.0);
            Bar {
                open: price,
                high: price,
                low: price,
                close: price,
                funding_8h_pct: Some(0.0),
                ..Bar::at(H0 + i64::try_from(i).unwrap_or(0) * HOUR_MS)
            }
        })
        .collect();
    for &s in spikes {
        bars[s].funding_8h_pct = Some(0.2);
    }
    for &d in drops {
        for b in &mut bars[d + 3..=d + 5] {
            b.open = Some(95.0);
            b.high = Some(95.0);
            b.low = Some(95.0);
            b.close = Some(95.0);
        }
    }
    bars
}

/// Brute force, independent of the engine: the share of bars (with a full horizon) after which
/// the low within the next `h` bars is at least `move` % under the next bar's open.
fn base_down_pct(bars: &[Bar], h: usize, mv: f64) -> f64 {
    let mut n = 0;
    let mut hits = 0;
    for t in 0..bars.len() {
        if t + h >= bars.len() {
            break;
        }
        let entry = bars[t + 1].open.unwrap_or(f64::NAN);
        let low = bars[t + 1..=t + h]
            .iter()
            .filter_map(|b| b.low)
            .fold(f64::INFINITY, f64::min);
        n += 1;
        hits += usize::from(low <= entry * (1.0 - mv / 100.0) + 1e-9);
    }
    hits as f64 / n as f64 * 100.0
}

#[test]
fn the_record_of_a_known_series_has_the_known_numbers() {
    // 40 days of 1h bars; four funding spikes, two of them followed by a 5 % dip within 24 h.
    let spikes = [100, 300, 500, 700];
    let bars = synthetic(40, &spikes, &[300, 700]);
    let setup = Setup::new(
        HOUR_MS,
        RECORD_HORIZON,
        RECORD_MOVE_PCT,
        Thresholds::default(),
    )
    .unwrap();
    let SymbolRecords::Computed(per) = score::records_for(&bars, "1h", &setup) else {
        panic!("40 days is enough history");
    };
    let r = per[&SignalId::FundingExtremeLong].clone().unwrap();
    assert_eq!((r.fired, r.scored, r.hits), (4, 4, 2));
    assert_eq!(r.hit_rate_pct, Some(50.0));
    // Each dip is 3 bars long; the bars whose next-24h window sees it from a 100 entry.
    let base = base_down_pct(&bars, 24, 3.0);
    assert!(
        (r.base_rate_pct.unwrap_or(f64::NAN) - base).abs() < 1e-9,
        "{r:?} vs {base}"
    );
    // No onset saw a 3 % rise: either direction counts the same two onsets.
    assert_eq!(r.either_hit_pct, Some(50.0));
    assert_eq!((r.interval.as_str(), r.move_pct), ("1h", 3.0));
    assert!((r.days - 40.0).abs() < 1e-9, "{}", r.days);
    // Retail never had a value: no record, and it says which input is missing.
    assert_eq!(
        per[&SignalId::RetailExtremeLong],
        Err(NoRecord::NotObservable {
            interval: "1h".into(),
            inputs: vec!["retail_long_pct"],
        })
    );
    // Funding was there and elevated never fired: a record of zero onsets.
    let never = per[&SignalId::FundingExtremeShort].clone().unwrap();
    assert_eq!(
        (never.fired, never.scored, never.hit_rate_pct),
        (0, 0, None)
    );
}

#[test]
fn too_little_history_is_no_record_and_says_how_much_there_is() {
    let bars = synthetic(12, &[100], &[]);
    let setup = Setup::new(
        HOUR_MS,
        RECORD_HORIZON,
        RECORD_MOVE_PCT,
        Thresholds::default(),
    )
    .unwrap();
    assert_eq!(
        score::records_for(&bars, "1h", &setup),
        SymbolRecords::None(NoRecord::ShortHistory {
            days: 12.0,
            needs_days: MIN_DAYS
        })
    );
}

/// A clock that reads tokio's (paused) time from a fixed start, plus a jump that tests can set
/// (a machine waking from suspend).
struct TestClock {
    start: tokio::time::Instant,
    base: DateTime<Utc>,
    jump: std::sync::Mutex<chrono::Duration>,
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = chrono::Duration::from_std(self.start.elapsed()).unwrap_or_default();
        self.base + elapsed + *self.jump.lock().unwrap()
    }
}

#[tokio::test(start_paused = true)]
async fn the_job_runs_at_start_and_then_at_most_once_a_day() {
    let clock = Arc::new(TestClock {
        start: tokio::time::Instant::now(),
        base: at(H0),
        jump: std::sync::Mutex::new(chrono::Duration::zero()),
    });
    let runs = Arc::new(std::sync::Mutex::new(Vec::<DateTime<Utc>>::new()));
    let seen = Arc::clone(&runs);
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let task = tokio::spawn(daily(dyn_clock, move |now| {
        seen.lock().unwrap().push(now);
        async {}
    }));
    let hours = |h: u64| std::time::Duration::from_secs(h * 3600);
    tokio::time::sleep(hours(1)).await;
    assert_eq!(runs.lock().unwrap().len(), 1, "at start");
    tokio::time::sleep(hours(22)).await;
    assert_eq!(runs.lock().unwrap().len(), 1, "not again within the day");
    tokio::time::sleep(hours(2)).await;
    assert_eq!(runs.lock().unwrap().len(), 2, "the next day");
    // The machine sleeps for three days: one refresh when it wakes, not three.
    *clock.jump.lock().unwrap() = chrono::Duration::days(3);
    tokio::time::sleep(hours(1)).await;
    assert_eq!(runs.lock().unwrap().len(), 3);
    tokio::time::sleep(hours(20)).await;
    assert_eq!(runs.lock().unwrap().len(), 3);
    let times = runs.lock().unwrap().clone();
    for w in times.windows(2) {
        assert!(w[1] - w[0] >= REFRESH_EVERY, "{times:?}");
    }
    task.abort();
}

#[test]
fn the_history_interval_and_span_follow_the_plan() {
    let now = at(H0 + 15 * HOUR_MS + 7 * MIN);
    let client = CoinGlassClient::new(
        "http://127.0.0.1:9",
        secrecy::SecretString::from("k"),
        Default::default(),
    )
    .unwrap();
    let span = |plan| {
        Span::of(
            &HistorySource::CoinGlass {
                client: client.clone(),
                plan,
            },
            now,
        )
    };
    // Hobbyist serves 4h bars 180 days back; Startup 1h bars 180 days; Standard 1h 360 days;
    // Professional 720 days, capped at a year.
    for (plan, iv, days) in [
        (Plan::Hobbyist, 4 * HOUR_MS, 180),
        (Plan::Startup, HOUR_MS, 180),
        (Plan::Standard, HOUR_MS, 360),
        (Plan::Professional, HOUR_MS, 365),
        (Plan::Enterprise, HOUR_MS, 365),
    ] {
        let s = span(plan);
        assert_eq!(s.interval_ms, iv, "{plan}");
        assert_eq!(
            s.download_end_ms, H0,
            "{plan}: downloads end at the day's start"
        );
        assert_eq!(s.start_ms, H0 - days * DAY_MS, "{plan}");
    }
    let demo = Span::of(&HistorySource::Demo, now);
    assert_eq!(
        (demo.interval_ms, demo.start_ms),
        (HOUR_MS, H0 - DEMO_HISTORY_DAYS * DAY_MS)
    );
}

/// The JSON line's `record` has exactly the contract's keys, and is null without a record.
#[test]
fn the_json_record_has_exactly_the_contract_keys() {
    let mut with = crate::fixtures::signal(
        SignalId::OiSurge,
        crate::model::Level::High,
        crate::model::Bias::Neutral,
        "t",
        "m",
    );
    with.record = Some(crate::signals::Record {
        days: 180.0,
        interval: "1h".into(),
        fired: 14,
        scored: 13,
        hits: 9,
        hit_rate_pct: Some(69.2),
        base_rate_pct: Some(31.0),
        either_hit_pct: None,
        horizon: "24h".into(),
        move_pct: 3.0,
    });
    let mut without = with.clone();
    without.record = None;
    without.no_record = Some(NoRecord::Computing);
    let report = crate::fixtures::symbol_report(
        Snapshot::new("BTC", SourceKind::Live, at(H0)),
        vec![with, without],
    );
    let line = serde_json::to_value(crate::report::json::JsonLine::new(&report, &[])).unwrap();
    let record = &line["signals"][0]["record"];
    let mut keys: Vec<&str> = record
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    keys.sort_unstable();
    let mut want = vec![
        "days",
        "interval",
        "fired",
        "scored",
        "hits",
        "hit_rate_pct",
        "base_rate_pct",
        "either_hit_pct",
        "horizon",
        "move_pct",
    ];
    want.sort_unstable();
    assert_eq!(keys, want);
    assert_eq!(record["fired"], 14);
    assert_eq!(record["interval"], "1h");
    assert!(record["either_hit_pct"].is_null());
    assert!(line["signals"][1]["record"].is_null());
    assert!(line["signals"][1].get("no_record").is_none());
}

/// `score::reads` names exactly what each rule needs: on an input vector where the signal fires,
/// taking away any input it lists silences it, and taking away any other input does not.
#[test]
fn what_each_signal_reads_matches_the_rules() {
    use crate::backtest::fetch::demo_bars;
    use crate::backtest::replay::inputs_at;
    let th = Thresholds::default();
    let mut firing: HashMap<SignalId, SignalInputs> = HashMap::new();
    for symbol in ["BTC", "ETH", "SOL", "DOGE", "XRP"] {
        let bars = demo_bars(symbol, HOUR_MS, H0, H0 + 30 * DAY_MS);
        for t in 0..bars.len() {
            let inputs = inputs_at(&bars[..=t], HOUR_MS);
            for s in crate::signals::evaluate(&inputs, &th) {
                firing.entry(s.id).or_insert(inputs);
            }
        }
    }
    let fires = |inputs: &SignalInputs, id: SignalId| {
        crate::signals::evaluate(inputs, &th)
            .iter()
            .any(|s| s.id == id)
    };
    let without = |inputs: &SignalInputs, name: &str| {
        let mut v = inputs.values();
        if let Some(i) = SignalInputs::NAMES.iter().position(|n| *n == name) {
            v[i] = None;
        }
        SignalInputs::from_values(v)
    };
    let mut checked = Vec::new();
    for (id, inputs) in &firing {
        for name in SignalInputs::NAMES {
            let listed = score::reads(*id).contains(&name);
            assert_eq!(
                fires(&without(inputs, name), *id),
                !listed,
                "{id} without {name}: listed as read = {listed}"
            );
        }
        checked.push(*id);
    }
    // The demo market fires every signal, so every id was checked.
    checked.sort();
    assert_eq!(checked, SignalId::ALL.to_vec());
}
