use super::*;
use crate::model::{Field, Funding, Level, OpenInterest, Price, Snapshot};
use crate::signals::SignalId;

fn t(min: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000 + min * 60, 0).unwrap_or_default()
}

/// A snapshot with funding, OI and price known and everything else absent.
fn snapshot(symbol: &str, at: DateTime<Utc>, price: f64) -> Snapshot {
    let mut s = Snapshot::new(symbol, SourceKind::Live, at);
    s.funding = Field::fresh(
        Funding {
            rate_8h_pct: Some(0.012),
            by_exchange: vec![],
        },
        at,
    );
    s.open_interest = Field::fresh(
        OpenInterest {
            oi_usd: Some(5e9),
            change_1h_pct: Some(1.5),
            ..OpenInterest::default()
        },
        at,
    );
    s.price = Field::fresh(
        Price {
            price: Some(price),
            ..Price::default()
        },
        at,
    );
    s
}

fn report(cycle: u64, at: DateTime<Utc>, symbols: &[&str]) -> CycleReport {
    let symbols = symbols
        .iter()
        .map(|s| {
            let signal = fixtures::signal(
                SignalId::FundingElevated,
                Level::Medium,
                Bias::Bullish,
                "t",
                "funding 0.06 %",
            );
            fixtures::symbol_report(snapshot(s, at, 100.0 + cycle as f64), vec![signal])
        })
        .collect();
    fixtures::cycle_report(cycle, at, fixtures::live_label(None), symbols)
}

use crate::fixtures;
use crate::model::Bias;

fn temp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("data").join(DB_FILE);
    (dir, path)
}

#[test]
fn schema_creation_is_idempotent_and_leaves_other_tables_alone() -> Result<(), StoreError> {
    let (_dir, path) = temp();
    {
        let s = Store::open(&path)?;
        // Another component's table in the same file.
        s.conn
            .execute_batch(
                "CREATE TABLE alert_outbox (id INTEGER PRIMARY KEY, body TEXT);
                            INSERT INTO alert_outbox (body) VALUES ('keep me');",
            )
            .map_err(s.err())?;
    }
    let mut s = Store::open(&path)?;
    let again = Store::open(&path)?;
    drop(again);
    s.write_cycle(&report(1, t(0), &["BTC"]))?;
    let kept: String = s
        .conn
        .query_row("SELECT body FROM alert_outbox", [], |r| r.get(0))
        .map_err(s.err())?;
    assert_eq!(kept, "keep me");
    let mode: String = s
        .conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .map_err(s.err())?;
    assert_eq!(mode.to_ascii_lowercase(), "wal");
    Ok(())
}

#[test]
fn round_trip_keeps_absent_as_null() -> Result<(), StoreError> {
    let (_dir, path) = temp();
    let mut s = Store::open(&path)?;
    s.write_cycle(&report(7, t(0), &["BTC", "ETH"]))?;
    let rows = s.snapshots_since("BTC", SourceKind::Live, t(-1))?;
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r.time, t(0));
    assert_eq!(r.price, Some(107.0));
    assert_eq!(r.price_at, Some(t(0)));
    assert_eq!(r.oi_usd, Some(5e9));
    assert_eq!(r.inputs.funding_8h_pct, Some(0.012));
    assert_eq!(r.inputs.oi_change_1h_pct, Some(1.5));
    // Never observed: NULL in the file, None here — not 0.
    assert_eq!(r.inputs.liq_long_1h_usd, None);
    assert_eq!(r.inputs.retail_long_pct, None);
    assert_eq!(r.inputs.taker_buy_pct, None);
    let nulls: i64 = s
        .conn
        .query_row(
            "SELECT COUNT(*) FROM history_snapshots WHERE liq_long_1h_usd IS NULL AND taker_buy_pct IS NULL",
            [],
            |r| r.get(0),
        )
        .map_err(s.err())?;
    assert_eq!(nulls, 2);
    let sig = s.signals_since("ETH", t(-1))?;
    assert_eq!(sig.len(), 1);
    assert_eq!(
        (
            sig[0].signal_id.as_str(),
            sig[0].level.as_str(),
            sig[0].bias.as_str()
        ),
        ("funding_elevated", "MEDIUM", "bullish")
    );
    // Demo rows never seed a live session.
    assert!(s
        .snapshots_since("BTC", SourceKind::Demo, t(-1))?
        .is_empty());
    Ok(())
}

#[test]
fn retention_prunes_old_snapshots_and_signals_only() -> Result<(), StoreError> {
    let (_dir, path) = temp();
    let mut s = Store::open(&path)?;
    s.write_cycle(&report(1, t(0), &["BTC"]))?;
    s.write_cycle(&report(2, t(120), &["BTC"]))?;
    s.upsert_bar_columns(
        "BTC",
        "4h",
        ORIGIN_COINGLASS,
        &[3],
        &[Bar {
            close: Some(1.0),
            ..Bar::at(0)
        }],
    )?;
    let deleted = s.prune(t(60))?;
    assert_eq!(deleted, 2, "one snapshot and one signal");
    let left = s.snapshots_since("BTC", SourceKind::Live, t(-10))?;
    assert_eq!(
        left.iter().map(|r| r.time).collect::<Vec<_>>(),
        vec![t(120)]
    );
    assert_eq!(s.signals_since("BTC", t(-10))?.len(), 1);
    assert_eq!(
        s.bars("BTC", "4h", ORIGIN_COINGLASS, 0, 1)?.len(),
        1,
        "bars are not pruned"
    );
    Ok(())
}

#[test]
fn a_second_connection_reads_and_writes_the_same_file() -> Result<(), StoreError> {
    let (_dir, path) = temp();
    let mut a = Store::open(&path)?;
    let other = Connection::open(&path).map_err(a.err())?;
    other
        .busy_timeout(Duration::from_secs(5))
        .map_err(a.err())?;
    other
        .execute_batch(
            "CREATE TABLE IF NOT EXISTS alert_cooldown (k TEXT PRIMARY KEY, until INTEGER);",
        )
        .map_err(a.err())?;
    // A reader holding an open read transaction does not block the writer (WAL).
    other
        .execute_batch("BEGIN; SELECT COUNT(*) FROM history_snapshots;")
        .map_err(a.err())?;
    a.write_cycle(&report(1, t(0), &["BTC"]))?;
    other.execute_batch("COMMIT;").map_err(a.err())?;
    other
        .execute("INSERT INTO alert_cooldown VALUES ('BTC/oi_surge', 1)", [])
        .map_err(a.err())?;
    let n: i64 = other
        .query_row("SELECT COUNT(*) FROM history_snapshots", [], |r| r.get(0))
        .map_err(a.err())?;
    assert_eq!(n, 1);
    a.write_cycle(&report(2, t(1), &["BTC"]))?;
    Ok(())
}

#[test]
fn seeds_come_from_the_last_rows_oldest_first() -> Result<(), StoreError> {
    let (_dir, path) = temp();
    let mut s = Store::open(&path)?;
    for i in 0..5 {
        s.write_cycle(&report(i, t(i as i64 * 30), &["BTC"]))?;
    }
    let seeds = s.spark_seeds(&["BTC".into(), "SOL".into()], SourceKind::Live, t(45), 2)?;
    assert_eq!(seeds[0].oi_usd.len(), 2, "capped to the newest");
    assert_eq!(seeds[0].funding_8h_pct, vec![0.012, 0.012]);
    assert!(seeds[1].oi_usd.is_empty(), "nothing stored for SOL");
    let prices = s.price_observations("BTC", t(45))?;
    assert_eq!(
        prices,
        vec![(t(60), 102.0), (t(90), 103.0), (t(120), 104.0)]
    );
    Ok(())
}

#[test]
fn import_replacement_is_all_or_nothing_per_symbol() -> Result<(), StoreError> {
    let (_dir, path) = temp();
    let mut s = Store::open(&path)?;
    let bar = |ms: i64, c: f64| Bar {
        close: Some(c),
        ..Bar::at(ms)
    };
    s.replace_import("BTC", "1h", &[bar(0, 1.0), bar(3_600_000, 2.0)])?;
    s.replace_import("BTC", "4h", &[bar(0, 5.0)])?;
    assert_eq!(s.imported_intervals("BTC")?, vec![("4h".to_string(), 1)]);
    let b = s.bars("BTC", "4h", ORIGIN_IMPORT, i64::MIN, i64::MAX)?;
    assert_eq!(b.len(), 1);
    assert_eq!((b[0].close, b[0].oi_usd), (Some(5.0), None));
    Ok(())
}

#[test]
fn writer_stores_cycles_off_the_caller_thread() -> Result<(), StoreError> {
    let (_dir, path) = temp();
    let writer = StoreWriter::spawn(&path, Duration::from_secs(86_400), 8)?;
    let tap = writer.tap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(StoreError::Thread)?;
    rt.block_on(async {
        for i in 0..3 {
            let _ = tap.send(Arc::new(report(i, t(i as i64), &["BTC"]))).await;
        }
    });
    drop(tap);
    assert!(writer.finish(Duration::from_secs(10)), "writer finished");
    let s = Store::open(&path)?;
    assert_eq!(s.snapshots_since("BTC", SourceKind::Live, t(-1))?.len(), 3);
    Ok(())
}

#[test]
fn a_locked_database_never_blocks_the_caller() -> Result<(), StoreError> {
    let (_dir, path) = temp();
    let writer = StoreWriter::spawn(&path, Duration::from_secs(86_400), 4)?;
    // Another connection holds the write lock: the writer thread waits in busy_timeout.
    let blocker = Connection::open(&path).map_err(|source| StoreError::Sqlite {
        path: path.clone(),
        source,
    })?;
    blocker
        .execute_batch("BEGIN EXCLUSIVE;")
        .map_err(|source| StoreError::Sqlite {
            path: path.clone(),
            source,
        })?;
    let tap = writer.tap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(StoreError::Thread)?;
    let sent = 50;
    let started = std::time::Instant::now();
    rt.block_on(async {
        for i in 0..sent {
            let send = tap.send(Arc::new(report(i, t(i as i64), &["BTC"])));
            tokio::time::timeout(Duration::from_secs(2), send)
                .await
                .expect("a tap send never waits on the database")
                .expect("writer alive");
        }
    });
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // Let the forwarder see the last reports, then count: the queue (4) plus the report in
    // the writer's hands were kept, the rest dropped.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while writer.dropped() + 5 < sent && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(writer.dropped() >= sent - 6, "dropped {}", writer.dropped());
    blocker
        .execute_batch("COMMIT;")
        .map_err(|source| StoreError::Sqlite {
            path: path.clone(),
            source,
        })?;
    drop(tap);
    assert!(writer.finish(Duration::from_secs(15)));
    Ok(())
}

#[test]
fn snapshot_input_columns_follow_signal_inputs_names() -> Result<(), StoreError> {
    let (_dir, path) = temp();
    let s = Store::open(&path)?;
    let mut st = s
        .conn
        .prepare("SELECT name FROM pragma_table_info('history_snapshots') ORDER BY cid")
        .unwrap();
    let columns: Vec<String> = st
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        &columns[INPUT_COLUMNS_START..],
        &SignalInputs::NAMES.map(String::from)[..]
    );
    Ok(())
}

/// The start-up check names the file, the cause, what is lost and what still works; a good
/// data dir gets no message and no new file.
#[test]
fn unwritable_data_dir_files_are_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(unwritable(dir.path()).is_empty());
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("list").count(),
        0,
        "the probe leaves nothing behind (no perpwatch.db either)"
    );

    std::fs::create_dir(db_path(dir.path())).expect("dir in the way");
    let problems = unwritable(dir.path());
    assert_eq!(problems.len(), 1, "{problems:?}");
    let p = &problems[0];
    assert!(
        p.starts_with(&format!(
            "cannot write {} (it is a directory)",
            db_path(dir.path()).display()
        )),
        "{p}"
    );
    assert!(p.contains("history is not recorded"), "{p}");
    assert!(p.contains("sending alerts still work"), "{p}");

    let file = dir.path().join("file");
    std::fs::write(&file, "x").expect("file");
    let problems = unwritable(&file.join("data"));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with(&format!(
            "cannot create the data directory {}",
            file.join("data").display()
        )),
        "{problems:?}"
    );
}

#[test]
fn gated_series_are_remembered_per_symbol_interval_and_series() -> Result<(), StoreError> {
    let dir = tempfile::tempdir().map_err(|source| StoreError::Dir {
        path: "tmp".into(),
        source,
    })?;
    let store = Store::open_in(dir.path())?;
    assert_eq!(store.gated("BTC", "4h", "liquidations")?, None);
    let gate = Gate {
        plan: "HOBBYIST".into(),
        reason: "Upgrade plan".into(),
        at: t(0),
    };
    store.set_gated("BTC", "4h", "liquidations", &gate)?;
    assert_eq!(store.gated("BTC", "4h", "liquidations")?, Some(gate));
    assert_eq!(store.gated("BTC", "1h", "liquidations")?, None);
    assert_eq!(store.gated("ETH", "4h", "liquidations")?, None);
    drop(store);
    let store = Store::open_in(dir.path())?;
    assert!(store.gated("BTC", "4h", "liquidations")?.is_some(), "kept");
    store.clear_gated("BTC", "4h", "liquidations")?;
    assert_eq!(store.gated("BTC", "4h", "liquidations")?, None);
    Ok(())
}

#[test]
fn demo_cycles_never_seed_and_live_seeds_never_read_demo_rows() -> Result<(), StoreError> {
    let dir = tempfile::tempdir().expect("temp dir");
    let now = Utc::now();
    let mut s = Store::open_in(dir.path())?;
    // An earlier demo run (OI 9e9, funding 0.3) and a live run (OI 5e9, funding 0.012).
    let demo = |cycle: u64, at: DateTime<Utc>| {
        let mut snap = snapshot("BTC", at, 50.0);
        snap.source = SourceKind::Demo;
        snap.funding = Field::fresh(
            Funding {
                rate_8h_pct: Some(0.3),
                by_exchange: vec![],
            },
            at,
        );
        snap.open_interest = Field::fresh(
            OpenInterest {
                oi_usd: Some(9e9),
                ..OpenInterest::default()
            },
            at,
        );
        let symbols = vec![fixtures::symbol_report(snap, vec![])];
        fixtures::cycle_report(cycle, at, fixtures::demo_label(), symbols)
    };
    for i in 0..3 {
        s.write_cycle(&demo(i, now - chrono::Duration::minutes(30 - i as i64)))?;
    }
    s.write_cycle(&report(9, now - chrono::Duration::minutes(10), &["BTC"]))?;
    let symbols = ["BTC".to_string()];
    // The demo rows are kept apart in the store ...
    assert_eq!(
        s.snapshots_since("BTC", SourceKind::Demo, now - SEED_SPAN)?
            .len(),
        3
    );
    drop(s);
    // ... but a demo run's sparklines start empty rather than from an earlier demo run.
    assert!(load_spark_seeds(dir.path(), &symbols, SourceKind::Demo).is_empty());
    // A live run is seeded from the live row only.
    let live = load_spark_seeds(dir.path(), &symbols, SourceKind::Live);
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].oi_usd, vec![5e9]);
    assert_eq!(live[0].funding_8h_pct, vec![0.012]);
    // The live price ring is seeded from live prices only (the demo's 50.0 never appears).
    let prices = recent_live_prices(dir.path(), &symbols);
    let btc: Vec<f64> = prices[0].1.iter().map(|(_, p)| *p).collect();
    assert_eq!(btc, vec![109.0]);
    Ok(())
}
