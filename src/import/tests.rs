use super::*;

const HEAD: &str = "time,price,oi_usd,funding_8h_pct,liq_long_usd,liq_short_usd,retail_long_pct,top_long_pct,taker_buy_pct";

fn file(rows: &[&str]) -> String {
    std::iter::once(HEAD)
        .chain(rows.iter().copied())
        .collect::<Vec<_>>()
        .join("\n")
}

fn parse_err(text: &str) -> String {
    match parse(Path::new("my.csv"), text) {
        Ok(p) => panic!("expected an error, got {p:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn good_file_with_both_time_forms_and_empty_cells() {
    let text = file(&[
        "2024-05-01T00:00:00Z,100.5,1e9,0.01,5,6,61,55,51",
        "1714525200000,101,,,,,,,",
        "\"2024-05-01T03:00:00+00:00\", 99 ,2e9,-0.02,0,0,40,45,49",
    ]);
    let p = parse(Path::new("my.csv"), &text).expect("valid");
    assert_eq!(p.interval, "1h");
    assert_eq!(p.bars.len(), 3);
    assert_eq!(p.bars[0].time_ms, 1_714_521_600_000);
    assert_eq!(p.bars[1].time_ms, 1_714_525_200_000);
    assert_eq!(p.bars[0].close, Some(100.5));
    assert_eq!(p.bars[0].taker_buy_pct, Some(51.0));
    // Empty cells are absent, not zero; an explicit 0 stays 0.
    let b = p.bars[1];
    assert_eq!(
        (
            b.oi_usd,
            b.funding_8h_pct,
            b.liq_long_usd,
            b.retail_long_pct,
            b.taker_buy_pct
        ),
        (None, None, None, None, None)
    );
    assert_eq!(p.bars[2].liq_long_usd, Some(0.0));
    assert_eq!(p.bars[2].open, None, "one price per row: the close");
}

#[test]
fn bad_rows_name_line_and_column() {
    let ok_row = "2024-05-01T00:00:00Z,100,1,0.01,1,1,50,50,50";
    let cases: &[(String, &[&str])] = &[
        (
            file(&[ok_row, "2024-05-01T01:00:00Z,abc,1,0,1,1,50,50,50"]),
            &["my.csv: line 3, column price", "\"abc\" is not a number"],
        ),
        (
            file(&[ok_row, "2024-05-01T01:00:00Z,100,1,0,1,1,150,50,50"]),
            &["line 3, column retail_long_pct", "0 to 100"],
        ),
        (
            file(&[ok_row, "2024-05-01T01:00:00Z,-5,1,0,1,1,50,50,50"]),
            &["line 3, column price", "greater than 0"],
        ),
        (
            file(&[ok_row, "yesterday,100,1,0,1,1,50,50,50"]),
            &["line 3, column time", "RFC 3339"],
        ),
        (
            file(&[ok_row, "2024-05-01T01:00:00Z,100,1"]),
            &["line 3, column funding_8h_pct", "3 cells, expected 9"],
        ),
        (
            file(&[ok_row, ok_row]),
            &["line 3, column time", "ascending"],
        ),
        (
            file(&[ok_row, "2024-05-01T00:07:00Z,100,1,0,1,1,50,50,50"]),
            &["lines 2 and 3 are 7m (420000 ms) apart, the closest two rows"],
        ),
        (
            file(&[
                ok_row,
                "2024-05-01T01:00:00Z,100,1,0,1,1,50,50,50",
                "2024-05-01T02:30:00Z,100,1,0,1,1,50,50,50",
            ]),
            &[
                "line 4, column time: 1h30m (5400000 ms) after line 3: not a whole number of 1h \
                 bars (±1s)",
            ],
        ),
        (
            "time,close,oi_usd\n1,2,3".to_string(),
            &["line 1, column price", "header column 2 is \"close\""],
        ),
        (file(&[ok_row]), &["at least two rows"]),
        (String::new(), &["empty"]),
    ];
    for (text, wants) in cases {
        let msg = parse_err(text);
        for want in *wants {
            assert!(msg.contains(want), "{want:?} not in {msg:?}");
        }
    }
}

/// A 5 MB cell is quoted cut to 80 characters with its length, whichever column it is in.
#[test]
fn huge_cells_are_quoted_cut() {
    let huge = "z".repeat(5 * 1024 * 1024);
    let ok_row = "2024-05-01T00:00:00Z,100,1,0.01,1,1,50,50,50";
    let digits = format!("1{}", "0".repeat(5 * 1024 * 1024));
    let cases = [
        file(&[
            ok_row,
            &format!("2024-05-01T01:00:00Z,{huge},1,0,1,1,50,50,50"),
        ]),
        file(&[ok_row, &format!("{huge},100,1,0,1,1,50,50,50")]),
        file(&[
            ok_row,
            &format!("2024-05-01T01:00:00Z,100,1,0,1,1,{digits},50,50"),
        ]),
        format!("{huge},price\n1,2"),
        format!("{HEAD},{huge}\n1,2"),
    ];
    for text in cases {
        let msg = parse_err(&text);
        assert!(msg.len() < 600, "{} bytes: {}", msg.len(), &msg[..300]);
        assert!(
            msg.contains("(5242880 characters)") || msg.contains("(5242881 characters)"),
            "{msg}"
        );
    }
}

#[test]
fn binary_missing_and_directory_files_are_named() -> Result<(), ImportError> {
    let dir = tempfile::tempdir().map_err(|source| ImportError::Read {
        path: PathBuf::from("tmp"),
        source,
    })?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ImportError::Read { path, source }
    };
    let garbage = dir.path().join("garbage.csv");
    let mut bytes = format!("{HEAD}\n2024-05-01T00:00:00Z,1,,,,,,,\n").into_bytes();
    bytes.extend([0xff, 0xfe, 0x00, 0x80, b'\n', 0xc3]);
    std::fs::write(&garbage, &bytes).map_err(io(&garbage))?;
    let msg = match import(dir.path(), &garbage, "BTC") {
        Err(e @ ImportError::NotText { line: 3, .. }) => e.to_string(),
        other => panic!("expected line 3 not text, got {other:?}"),
    };
    assert!(
        msg.contains("garbage.csv: line 3 is not UTF-8 text"),
        "{msg}"
    );
    let missing = dir.path().join("nope.csv");
    let msg = import(dir.path(), &missing, "BTC")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        msg.contains(&format!("cannot read {}", missing.display())),
        "{msg}"
    );
    let msg = import(dir.path(), dir.path(), "BTC")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(msg.contains("is a directory"), "{msg}");
    Ok(())
}

#[test]
fn a_failed_import_leaves_the_previous_one() -> Result<(), ImportError> {
    let dir = tempfile::tempdir().map_err(|source| ImportError::Read {
        path: PathBuf::from("tmp"),
        source,
    })?;
    let good = dir.path().join("good.csv");
    let bad = dir.path().join("bad.csv");
    let rows = [
        "2024-05-01T00:00:00Z,100,,,,,,,",
        "2024-05-01T04:00:00Z,101,,,,,,,",
    ];
    std::fs::write(&good, file(&rows)).map_err(|source| ImportError::Read {
        path: good.clone(),
        source,
    })?;
    std::fs::write(&bad, file(&[rows[0], "2024-05-01T04:00:00Z,x,,,,,,,"])).map_err(|source| {
        ImportError::Read {
            path: bad.clone(),
            source,
        }
    })?;
    import(dir.path(), &good, "BTC")?;
    assert!(import(dir.path(), &bad, "BTC").is_err());
    let store = Store::open_in(dir.path())?;
    assert_eq!(
        store.imported_intervals("BTC")?,
        vec![("4h".to_string(), 2)]
    );
    Ok(())
}

/// Epoch-ms rows `ms_off` from each hour boundary after 2024-05-01T00:00:00Z.
fn jittered(offsets: &[i64]) -> String {
    let t0 = 1_714_521_600_000_i64;
    let rows: Vec<String> = offsets
        .iter()
        .enumerate()
        .map(|(i, off)| format!("{},100,,,,,,,", t0 + i as i64 * 3_600_000 + off))
        .collect();
    file(&rows.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn times_a_few_ms_off_the_boundary_are_rounded_onto_it() {
    let p = parse(Path::new("my.csv"), &jittered(&[3, -2, 0, 999, -1000, 17])).expect("valid");
    assert_eq!(p.interval, "1h");
    let t0 = 1_714_521_600_000_i64;
    let times: Vec<i64> = p.bars.iter().map(|b| b.time_ms).collect();
    let want: Vec<i64> = (0..6).map(|i| t0 + i * 3_600_000).collect();
    assert_eq!(times, want);
    assert_eq!((p.rounded, p.max_rounding_ms), (5, 1000));
    // The first row a hair before the boundary rounds forward, not back a whole bar.
    let p = parse(Path::new("my.csv"), &jittered(&[-3, 0, 4])).expect("valid");
    assert_eq!(p.bars[0].time_ms, t0);
    // Rows on the boundary are not "rounded".
    let p = parse(Path::new("my.csv"), &jittered(&[0, 0, 0])).expect("valid");
    assert_eq!((p.rounded, p.max_rounding_ms), (0, 0));
}

#[test]
fn a_time_beyond_the_tolerance_names_both_lines_and_the_spacing() {
    // Row 3 (line 4) is 1.5 s late: 1h0m1.5s after line 3 (a 3 ms late row).
    let msg = parse_err(&jittered(&[0, 3, 1_500, 0]));
    assert!(
        msg.contains(
            "line 4, column time: 1h0m1.497s (3601497 ms) after line 3: not a whole number of \
             1h bars (±1s)"
        ),
        "{msg}"
    );
    // Every row 20 s before the hour: evenly spaced, but not on a bar start.
    let msg = parse_err(&jittered(&[-20_000, -20_000, -20_000]));
    assert!(
        msg.contains(
            "line 2, column time: -20s (-20000 ms) off the 1h bar boundary: bars start on a \
             whole minute (±1s)"
        ),
        "{msg}"
    );
    // Closest rows 59m55s apart: no interval within ±1s of each row.
    let msg = parse_err(&jittered(&[0, -5_000, 0]));
    assert!(
        msg.contains("lines 2 and 3 are 59m55s (3595000 ms) apart, the closest two rows"),
        "{msg}"
    );
}

#[test]
fn the_suggested_backtest_covers_the_imported_span_and_interval() {
    let parsed = |interval: &'static str, step: i64, n: i64| Parsed {
        bars: (0..n)
            .map(|i| Bar::at(1_714_521_600_000 + i * step))
            .collect(),
        interval,
        rounded: 0,
        max_rounding_ms: 0,
    };
    let h = 3_600_000;
    let cases = [
        (
            parsed("1h", h, 6),
            "perpwatch backtest --symbol SOL --interval 1h --days 1",
        ),
        // 24 bars are exactly one day; 25 need two.
        (
            parsed("1h", h, 24),
            "perpwatch backtest --symbol SOL --interval 1h --days 1",
        ),
        (
            parsed("1h", h, 25),
            "perpwatch backtest --symbol SOL --interval 1h --days 2",
        ),
        (
            parsed("4h", 4 * h, 6 * 365),
            "perpwatch backtest --symbol SOL --interval 4h --days 365",
        ),
        (
            parsed("1w", 7 * DAY_MS, 30),
            "perpwatch backtest --symbol SOL --interval 1w --days 210 --horizon 7d",
        ),
        (
            parsed("1d", DAY_MS, 4000),
            "perpwatch backtest --symbol SOL --interval 1d --days 3650   # the newest 3650 \
             days: --days is at most 3650",
        ),
    ];
    for (p, want) in cases {
        assert_eq!(suggested_command("SOL", &p), want);
    }
}

#[test]
fn a_new_import_says_what_it_replaced() -> Result<(), ImportError> {
    let dir = tempfile::tempdir().map_err(|source| ImportError::Read {
        path: PathBuf::from("tmp"),
        source,
    })?;
    let write = |name: &str, text: String| -> Result<PathBuf, ImportError> {
        let path = dir.path().join(name);
        std::fs::write(&path, text).map_err(|source| ImportError::Read {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    };
    let first = write("first.csv", jittered(&[0, 2, 0, 0]))?;
    let second = write("second.csv", jittered(&[0, 0]))?;
    let done = import(dir.path(), &first, "BTC")?;
    assert!(done.replaced.is_empty());
    let lines = summary("BTC", &done);
    assert!(lines[0].starts_with("imported 4 1h bars for BTC (2024-05-01T00:00:00+00:00 to "));
    assert_eq!(
        lines[1],
        "rounded 1 row times onto the 1h bar boundaries (at most 0.002s off; tolerance ±1s)"
    );
    assert_eq!(
        lines[2],
        "replay them with: perpwatch backtest --symbol BTC --interval 1h --days 1"
    );
    assert!(!lines.iter().any(|l| l.contains("replaced")));

    let done = import(dir.path(), &second, "BTC")?;
    assert_eq!(done.replaced, vec![("1h".to_string(), 4)]);
    let lines = summary("BTC", &done);
    assert!(
        lines.contains(&"replaced the earlier import for BTC: 4 1h bars (removed)".to_string()),
        "{lines:?}"
    );
    // Another symbol's import is not replaced.
    assert!(import(dir.path(), &second, "ETH")?.replaced.is_empty());
    Ok(())
}
