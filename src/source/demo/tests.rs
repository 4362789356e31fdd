use super::*;
use crate::signals::{evaluate, SignalId, Thresholds};
use std::collections::BTreeSet;

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000, 0).unwrap_or_default()
}

fn market(symbols: &[&str], speed: f64) -> DemoMarket {
    DemoMarket::new(symbols.iter().map(|s| s.to_string()).collect(), speed)
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

#[test]
fn same_inputs_give_the_same_snapshot() {
    let a = market(&["BTC", "ETH", "PEPE"], 1.0);
    let b = market(&["BTC", "ETH", "PEPE"], 1.0);
    for s in [0.0, 33.3, 290.0, 1234.5] {
        assert_eq!(
            a.snapshots_at(secs(s), now()),
            b.snapshots_at(secs(s), now())
        );
    }
    // … and time moves the market.
    assert_ne!(
        a.snapshot_at("BTC", secs(0.0), now()).inputs(),
        a.snapshot_at("BTC", secs(180.0), now()).inputs()
    );
}

#[test]
fn every_signal_fires_for_btc_over_one_loop() {
    let m = market(&["BTC"], 1.0);
    let th = Thresholds::default();
    let mut seen = BTreeSet::new();
    for step in 0..60 {
        let snap = m.snapshot_at("BTC", secs(step as f64 * 10.0), now());
        seen.extend(evaluate(&snap.inputs(), &th).into_iter().map(|s| s.id));
    }
    let missing: Vec<_> = SignalId::ALL
        .iter()
        .filter(|id| !seen.contains(id))
        .collect();
    assert!(missing.is_empty(), "never fired: {missing:?}");
}

/// The monitor's path in relative mode: the default demo (speed 1, a poll every 60 s), its
/// baselines on the demo's own clock, warmed up over one 30-day window (35 loops); then one
/// round of the episodes' turns. Every signal fires, each with a threshold drawn from the
/// market's own history.
#[test]
fn every_signal_fires_for_btc_with_relative_thresholds_once_warm() {
    use crate::monitor::{build_reports, ThresholdBook};
    use crate::signals::relative::{ThresholdMode, DAY_MS};
    let m = market(&["BTC"], 1.0);
    let origin = now();
    let mut book = ThresholdBook::default().with_time_scale(origin, m.time_factor());
    let window_s = (30 * DAY_MS) as f64 / 1000.0 / m.time_factor();
    let end_s = window_s + EPISODE_ROUND_LOOPS * LOOP_S;
    let mut seen = BTreeSet::new();
    let (mut cycles, mut firing) = (0usize, 0usize);
    let mut elapsed = 0.0;
    while elapsed < end_s {
        let at = origin + chrono::Duration::milliseconds((elapsed * 1000.0) as i64);
        let reports = build_reports(m.snapshots_at(secs(elapsed), at), &mut book);
        if elapsed >= window_s {
            cycles += 1;
            let signals = &reports[0].signals;
            firing += usize::from(!signals.is_empty());
            for s in signals {
                let t = s.threshold.as_ref();
                assert_eq!(t.map(|t| t.mode), Some(ThresholdMode::Relative), "{}", s.id);
                seen.insert(s.id);
            }
        }
        elapsed += 60.0;
    }
    let missing: Vec<_> = SignalId::ALL
        .iter()
        .filter(|id| !seen.contains(id))
        .collect();
    assert!(missing.is_empty(), "never fired: {missing:?}");
    // Relative thresholds make signals the exception, not the rule.
    assert!(
        firing * 3 < cycles,
        "{firing} of {cycles} cycles fired something"
    );
}

#[test]
fn values_stay_sane_for_every_kind_of_symbol() {
    let m = market(&["BTC", "ETH", "SOL", "DOGE", "NEWCOIN", "x"], 1.0);
    for step in 0..120 {
        for snap in m.snapshots_at(secs(step as f64 * 5.0), now()) {
            let who = format!("{} at {}s", snap.symbol, step * 5);
            assert_eq!(snap.source, SourceKind::Demo);
            assert_eq!(snap.gaps(), vec![], "{who}");
            let i = snap.inputs();
            for (name, v) in [
                ("retail long", i.retail_long_pct),
                ("retail short", i.retail_short_pct),
                ("top long", i.top_long_pct),
                ("top short", i.top_short_pct),
                ("taker buy", i.taker_buy_pct),
            ] {
                let v = v.unwrap_or(f64::NAN);
                assert!((0.0..=100.0).contains(&v), "{who}: {name} {v}");
            }
            let pair = |a: Option<f64>, b: Option<f64>| a.unwrap_or(0.0) + b.unwrap_or(0.0);
            assert!((pair(i.retail_long_pct, i.retail_short_pct) - 100.0).abs() < 1e-9);
            assert!((pair(i.top_long_pct, i.top_short_pct) - 100.0).abs() < 1e-9);
            let oi = snap
                .open_interest
                .get()
                .and_then(|o| o.oi_usd)
                .unwrap_or(0.0);
            assert!(oi > 0.0, "{who}: oi {oi}");
            let price = snap.price.get().and_then(|p| p.price).unwrap_or(0.0);
            assert!(price > 0.0, "{who}: price {price}");
            assert!(i.liq_long_1h_usd.unwrap_or(-1.0) >= 0.0, "{who}");
            assert!(i.liq_short_1h_usd.unwrap_or(-1.0) >= 0.0, "{who}");
            let f = i.funding_8h_pct.unwrap_or(f64::NAN);
            assert!(f.abs() < 0.5, "{who}: funding {f}");
        }
    }
}

#[test]
fn funding_table_has_the_venues_the_ui_must_handle() {
    let snap = market(&["ETH"], 1.0).snapshot_at("ETH", secs(170.0), now());
    let f = snap.funding.get().cloned().unwrap_or_default();
    let rows = &f.by_exchange;
    assert!(rows.len() >= 4);
    let has = |h: f64| rows.iter().any(|r| r.interval_hours == Some(h));
    assert!(has(1.0) && has(4.0) && has(8.0));
    assert!(rows.iter().any(|r| r.margin == Margin::Token));
    assert!(
        rows.windows(2).all(|w| w[0].oi_usd >= w[1].oi_usd),
        "sorted by OI"
    );
    for r in rows {
        let next = r.next_funding_time.unwrap_or(now());
        assert!(next > now(), "{}", r.exchange);
        let hours = r.interval_hours.unwrap_or(8.0);
        assert!(next - now() <= chrono::Duration::seconds((hours * 3600.0) as i64));
        assert!((r.rate_8h_pct - r.rate_pct * 8.0 / hours).abs() < 1e-12);
    }
    // The headline rate is the model's OI-weighted mean of the table.
    assert_eq!(f.rate_8h_pct, oi_weighted_funding_8h(rows));
    let retail = snap.retail.get().map(|r| r.source.as_str());
    assert_eq!(retail, Some("Binance ETHUSDT 4h (demo)"));
}

#[test]
fn speed_scales_the_loop() {
    let one = market(&["BTC"], 1.0);
    let two = market(&["BTC"], 2.0);
    assert_eq!(one.loop_duration(), Duration::from_secs(620));
    assert_eq!(two.loop_duration(), Duration::from_secs(310));
    for s in [0.0, 45.0, 140.0, 299.0, 5000.0] {
        assert_eq!(
            two.snapshot_at("BTC", secs(s), now()),
            one.snapshot_at("BTC", secs(2.0 * s), now())
        );
        assert_eq!(
            two.regime_at("BTC", secs(s)),
            one.regime_at("BTC", secs(2.0 * s))
        );
    }
    // The loop loops: calm is calm in every loop.
    assert_eq!(
        one.snapshot_at("BTC", secs(37.0), now()),
        one.snapshot_at("BTC", secs(657.0), now())
    );
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert_eq!(
            market(&["BTC"], bad).loop_duration(),
            Duration::from_secs(620)
        );
    }
    assert!(market(&["BTC"], 1e-300).loop_duration() > Duration::from_secs(1_000_000));
}

#[test]
fn consecutive_minute_polls_move_smoothly() {
    // A 60 s poll at speed 1 covers two market hours of the compressed script. The bounds are
    // what the most violent real two hours look like (a cascade, a squeeze), never more:
    // price 10 %, open interest 15 %, funding 0.15 points per 8h, account ratios 20 points,
    // taker share 40 points (it is flow, so it can swing from capitulation to squeeze).
    let m = market(&["BTC", "ETH", "SOL", "DOGE", "NEWCOIN"], 1.0);
    let levels = |s: &Snapshot| {
        let price = s.price.get().and_then(|p| p.price).unwrap_or(f64::NAN);
        let oi = s
            .open_interest
            .get()
            .and_then(|o| o.oi_usd)
            .unwrap_or(f64::NAN);
        (price, oi, s.inputs())
    };
    let step =
        |a: Option<f64>, b: Option<f64>| (a.unwrap_or(f64::NAN) - b.unwrap_or(f64::NAN)).abs();
    // Every one-second phase of the first loop, and of the loop in which each episode is
    // at the height of its turn, as the start of a poll pair.
    let firsts = m.symbols().iter().flat_map(|sym| {
        let p = Profile::of(sym);
        let peaks = (0..EPISODES.len()).map(move |e| peak_loop(sym, e) * LOOP_S - p.offset_s);
        std::iter::once((sym, 0.0)).chain(peaks.map(move |s| (sym, s)))
    });
    for (sym, first) in firsts {
        for phase in 0..LOOP_S as u64 {
            let t0 = secs(first + phase as f64);
            let t1 = secs(first + phase as f64 + 60.0);
            let start = first + phase as f64;
            let (p0, o0, i0) = levels(&m.snapshot_at(sym, t0, now()));
            let (p1, o1, i1) = levels(&m.snapshot_at(sym, t1, now()));
            let who = format!("{sym} from {start}s");
            assert!((p1 / p0 - 1.0).abs() < 0.10, "{who}: price {p0} -> {p1}");
            assert!((o1 / o0 - 1.0).abs() < 0.15, "{who}: oi {o0} -> {o1}");
            assert!(
                step(i1.funding_8h_pct, i0.funding_8h_pct) < 0.15,
                "{who}: funding"
            );
            assert!(
                step(i1.retail_long_pct, i0.retail_long_pct) < 20.0,
                "{who}: retail"
            );
            assert!(step(i1.top_long_pct, i0.top_long_pct) < 20.0, "{who}: top");
            assert!(
                step(i1.taker_buy_pct, i0.taker_buy_pct) < 40.0,
                "{who}: taker"
            );
        }
    }
}

/// The loop (≥ 1) in which episode `e` of `symbol` is at the height of its turn.
fn peak_loop(symbol: &str, e: usize) -> f64 {
    let seed = Profile::of(symbol).seed;
    let at = (e as f64 + 0.5) / EPISODES.len() as f64 - unit(seed, AMP_CH, 0);
    (at.rem_euclid(1.0) * EPISODE_ROUND_LOOPS).round().max(1.0)
}

#[test]
fn each_episode_plays_further_from_calm_in_its_turn_and_as_written_otherwise() {
    let m = market(&["BTC"], 1.0);
    // BTC starts its loop at 0: loop k begins at k × LOOP_S.
    let at = |k: f64, loop_time: f64| m.snapshot_at("BTC", secs(k * LOOP_S + loop_time), now());
    let funding = |s: &Snapshot| s.inputs().funding_8h_pct.unwrap_or(f64::NAN);
    let euphoria = peak_loop("BTC", 0);
    // The euphoria's peak funding (0.13 %) is a third further from calm (0.01 %), give or
    // take the noise.
    let peak = funding(&at(euphoria, 185.0));
    assert!((peak - (0.01 + 1.3 * 0.12)).abs() < 0.01, "{peak}");
    assert!((funding(&at(0.0, 185.0)) - 0.13).abs() < 0.01);
    // Calm, and the other episodes, play as written in that loop.
    for loop_time in [20.0, 300.0, 425.0, 460.0] {
        assert_eq!(
            at(euphoria, loop_time).inputs(),
            at(0.0, loop_time).inputs(),
            "{loop_time}"
        );
    }
    // The short build-up's turn is another loop.
    let build_up = peak_loop("BTC", 2);
    assert_ne!(build_up, euphoria);
    assert!(funding(&at(build_up, 425.0)) < funding(&at(0.0, 425.0)) - 0.015);
}

#[test]
fn regimes_walk_in_order_and_symbols_are_phase_shifted() {
    let m = market(&["BTC", "ETH", "SOL", "DOGE"], 1.0);
    let names: Vec<_> = [0.0, 150.0, 300.0, 420.0, 550.0]
        .iter()
        .map(|s| m.regime_at("BTC", secs(*s)))
        .collect();
    assert_eq!(
        names,
        [
            "calm",
            "euphoria",
            "long cascade",
            "short squeeze",
            "recovery"
        ]
    );
    let at_start: BTreeSet<_> = m
        .symbols()
        .iter()
        .map(|s| m.regime_at(s, secs(0.0)))
        .collect();
    assert!(at_start.len() >= 3, "{at_start:?}");
}

#[test]
fn unknown_symbols_work_and_empty_lists_give_nothing() {
    let m = market(&["FOOBAR", "btc"], 1.0);
    let snaps = m.snapshots_at(secs(42.0), now());
    assert_eq!(snaps.len(), 2);
    assert_eq!(snaps[0].symbol, "FOOBAR");
    // Case-insensitive profile lookup: "btc" plays BTC's script.
    assert_eq!(
        snaps[1].inputs(),
        m.snapshot_at("BTC", secs(42.0), now()).inputs()
    );
    let foo = snaps[0].price.get().and_then(|p| p.price).unwrap_or(0.0);
    assert!(foo > 0.0 && foo < 1_000.0);
    assert!(market(&[], 1.0).snapshots_at(secs(10.0), now()).is_empty());
}
