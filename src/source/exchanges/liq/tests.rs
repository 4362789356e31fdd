use super::*;
use chrono::TimeZone;
use std::sync::atomic::{AtomicI64, Ordering};

/// A book whose clock the test moves.
struct Fixture {
    book: LiqBook,
    now_ms: Arc<AtomicI64>,
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap()
}

fn secs(s: i64) -> TimeDelta {
    TimeDelta::seconds(s)
}

impl Fixture {
    /// Started at `t0`, the clock at `t0`.
    fn new() -> Fixture {
        let now_ms = Arc::new(AtomicI64::new(t0().timestamp_millis()));
        let read = now_ms.clone();
        let clock: Clock = Arc::new(move || {
            Utc.timestamp_millis_opt(read.load(Ordering::SeqCst))
                .unwrap()
        });
        Fixture {
            book: LiqBook::with_clock(t0(), clock),
            now_ms,
        }
    }

    fn set_now(&self, at: DateTime<Utc>) {
        self.now_ms.store(at.timestamp_millis(), Ordering::SeqCst);
    }

    fn liq(&self, venue: Venue, coin: &str, side: LiqSide, usd: f64, at: DateTime<Utc>) {
        self.book.record(
            venue,
            &LiqEvent {
                coin: coin.into(),
                side,
                usd,
                at,
            },
        );
    }
}

fn sums(l: &Liquidations) -> (f64, f64) {
    (l.long_1h_usd.unwrap(), l.short_1h_usd.unwrap())
}

#[test]
fn sums_per_coin_side_and_listed_venues() {
    let f = Fixture::new();
    for v in Venue::ALL {
        f.book.stream_up(v, t0());
    }
    let now = t0() + secs(600);
    f.set_now(now);
    f.liq(
        Venue::Binance,
        "BTC",
        LiqSide::Long,
        1000.0,
        t0() + secs(10),
    );
    f.liq(Venue::Bybit, "BTC", LiqSide::Long, 250.0, t0() + secs(20));
    f.liq(Venue::Bybit, "BTC", LiqSide::Short, 40.0, t0() + secs(590));
    f.liq(Venue::Okx, "ETH", LiqSide::Short, 7.0, t0() + secs(30));

    let all = f.book.totals("BTC", &Venue::ALL, now).unwrap();
    assert_eq!(sums(&all), (1250.0, 40.0));
    assert!(all.lower_bound, "Binance and OKX sample");
    let bybit = f.book.totals("BTC", &[Venue::Bybit], now).unwrap();
    assert_eq!(sums(&bybit), (250.0, 40.0));
    assert!(!bybit.lower_bound, "Bybit reports every liquidation");
    let eth = f
        .book
        .totals("ETH", &[Venue::Binance, Venue::Okx], now)
        .unwrap();
    assert_eq!(sums(&eth), (0.0, 7.0));
    assert_eq!(f.book.counted(), 4);
    assert_eq!(f.book.dropped(), 0);
}

#[test]
fn the_hour_rolls_and_old_or_bogus_events_are_dropped_and_counted() {
    let f = Fixture::new();
    f.book.stream_up(Venue::Bybit, t0());
    f.set_now(t0() + secs(30));
    f.liq(Venue::Bybit, "BTC", LiqSide::Long, 100.0, t0() + secs(5));
    // Slightly ahead of our clock: counted now; far ahead: dropped.
    f.liq(Venue::Bybit, "BTC", LiqSide::Long, 10.0, t0() + secs(50));
    f.liq(
        Venue::Bybit,
        "BTC",
        LiqSide::Long,
        1e9,
        t0() + secs(30 + 3600),
    );
    // Not a sane USD value.
    f.liq(
        Venue::Bybit,
        "BTC",
        LiqSide::Short,
        f64::NAN,
        t0() + secs(5),
    );
    f.liq(Venue::Bybit, "BTC", LiqSide::Short, -5.0, t0() + secs(5));
    let now = t0() + secs(30);
    assert_eq!(
        sums(&f.book.totals("BTC", &[Venue::Bybit], now).unwrap()),
        (110.0, 0.0)
    );
    assert_eq!((f.book.counted(), f.book.dropped()), (2, 3));

    // 59 min later both are still inside the hour; an hour and a bucket later they are not.
    let later = t0() + secs(59 * 60);
    assert_eq!(
        sums(&f.book.totals("BTC", &[Venue::Bybit], later).unwrap()).0,
        110.0
    );
    let rolled = t0() + secs(3600 + 60);
    f.set_now(rolled);
    assert_eq!(
        sums(&f.book.totals("BTC", &[Venue::Bybit], rolled).unwrap()),
        (0.0, 0.0)
    );
    // An event from before the hour is dropped, not counted into a reused bucket.
    f.liq(Venue::Bybit, "BTC", LiqSide::Long, 5.0, t0() + secs(5));
    assert_eq!(f.book.dropped(), 4);
    // A new event reuses the slot of an old one without adding it back.
    f.liq(Venue::Bybit, "BTC", LiqSide::Short, 3.0, t0() + secs(3605));
    assert_eq!(
        sums(&f.book.totals("BTC", &[Venue::Bybit], rolled).unwrap()),
        (0.0, 3.0)
    );
}

#[test]
fn memory_stays_bounded_after_the_hour_rolls_over() {
    let f = Fixture::new();
    f.book.stream_up(Venue::Binance, t0());
    let mut now = t0();
    // Three hours of a liquidation a second on two coins.
    for s in 0..3 * 3600 {
        now = t0() + secs(s);
        f.set_now(now);
        for coin in ["BTC", "ETH"] {
            f.liq(Venue::Binance, coin, LiqSide::Long, 1.0, now);
        }
        if s % 600 == 0 {
            f.book.stream_down(Venue::Binance, now);
            f.book.stream_up(Venue::Binance, now);
        }
    }
    let g = f.book.lock();
    assert_eq!(g.coins.len(), 2);
    let binance = &g.coins["BTC"][venue_index(Venue::Binance)];
    assert!(binance.is_some() && g.coins["BTC"][venue_index(Venue::Okx)].is_none());
    assert!(
        g.coverage[0].closed.len() <= 7,
        "{}",
        g.coverage[0].closed.len()
    );
    drop(g);
    // The last hour holds 3600 events per coin (360 ten-second buckets, the current one partial).
    let btc = f.book.totals("BTC", &[Venue::Binance], now).unwrap();
    assert!(
        (3591.0..=3600.0).contains(&btc.long_1h_usd.unwrap()),
        "{btc:?}"
    );
    assert_eq!(f.book.counted(), 2 * 3 * 3600);
}

#[test]
fn nothing_known_before_any_stream_was_up() {
    let f = Fixture::new();
    let now = t0() + secs(120);
    assert_eq!(f.book.totals("BTC", &Venue::ALL, now), None);
    assert_eq!(f.book.uncovered_s(Venue::Binance, now), Some(3600));
    assert_eq!(f.book.totals("BTC", &[], now), None);
}

#[test]
fn a_zero_while_the_streams_were_up_is_a_real_zero_and_the_time_before_start_is_uncovered() {
    let f = Fixture::new();
    f.book.stream_up(Venue::Okx, t0() + secs(2));
    // Twenty minutes after start: the first 40 minutes of the hour and 2 s were not covered.
    let now = t0() + secs(20 * 60);
    let l = f.book.totals("SOL", &[Venue::Okx], now).unwrap();
    assert_eq!(sums(&l), (0.0, 0.0));
    assert_eq!(l.uncovered_s, Some(40 * 60 + 2));
    // Up the whole hour: complete.
    let hour_later = t0() + secs(2 + 3600);
    let l = f.book.totals("SOL", &[Venue::Okx], hour_later).unwrap();
    assert_eq!(l.uncovered_s, None);
    assert_eq!(f.book.uncovered_s(Venue::Okx, hour_later), None);
}

#[test]
fn a_disconnect_inside_the_hour_is_uncovered_for_its_length_on_any_listed_venue() {
    let f = Fixture::new();
    for v in Venue::ALL {
        f.book.stream_up(v, t0());
    }
    // Bybit down 90 s, OKX down 30 s overlapping it by 10 s, Binance down 0.2 s.
    f.book.stream_down(Venue::Bybit, t0() + secs(1000));
    f.book.stream_up(Venue::Bybit, t0() + secs(1090));
    f.book.stream_down(Venue::Okx, t0() + secs(1080));
    f.book.stream_up(Venue::Okx, t0() + secs(1110));
    f.book.stream_down(Venue::Binance, t0() + secs(2000));
    f.book.stream_up(
        Venue::Binance,
        t0() + secs(2000) + TimeDelta::milliseconds(200),
    );
    let now = t0() + secs(3600);

    assert_eq!(f.book.uncovered_s(Venue::Bybit, now), Some(90));
    assert_eq!(f.book.uncovered_s(Venue::Okx, now), Some(30));
    assert_eq!(
        f.book.uncovered_s(Venue::Binance, now),
        Some(1),
        "any gap shows"
    );
    let bybit_okx = f
        .book
        .totals("BTC", &[Venue::Bybit, Venue::Okx], now)
        .unwrap();
    assert_eq!(bybit_okx.uncovered_s, Some(110), "the union of the gaps");
    let all = f.book.totals("BTC", &Venue::ALL, now).unwrap();
    assert_eq!(all.uncovered_s, Some(111));

    // Still down at `now`: the gap runs to now.
    f.book.stream_down(Venue::Bybit, t0() + secs(3500));
    assert_eq!(f.book.uncovered_s(Venue::Bybit, now), Some(190));
    // Down the whole of a later hour: nothing known from Bybit alone, OKX still answers.
    let much_later = t0() + secs(3500 + 3601);
    assert_eq!(f.book.totals("BTC", &[Venue::Bybit], much_later), None);
    assert_eq!(
        f.book
            .totals("BTC", &[Venue::Bybit, Venue::Okx], much_later)
            .unwrap()
            .uncovered_s,
        Some(3600)
    );
}

#[test]
fn repeated_up_and_down_calls_change_nothing() {
    let f = Fixture::new();
    f.book.stream_down(Venue::Binance, t0() + secs(1));
    f.book.stream_up(Venue::Binance, t0() + secs(10));
    f.book.stream_up(Venue::Binance, t0() + secs(20));
    f.book.stream_down(Venue::Binance, t0() + secs(30));
    f.book.stream_down(Venue::Binance, t0() + secs(40));
    let now = t0() + secs(3600);
    assert_eq!(f.book.uncovered_s(Venue::Binance, now), Some(3600 - 20));
}
