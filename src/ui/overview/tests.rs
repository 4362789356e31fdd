use super::*;
use crate::model::{Field, GapReason, Level};
use crate::ui::sample::{self, t0};
use crate::ui::state::{update, Event, Screen, Sort};
use ratatui::backend::TestBackend;
use ratatui::style::{Color, Modifier};
use ratatui::Terminal;

fn color() -> Theme {
    Theme { color: true }
}

fn market(n: usize, w: u16, h: u16) -> UiState {
    sample::market_state(n, (w, h), color())
}

/// The market with gaps, and XRP's funding and price not in the plan: every numeric column
/// then has an absent value somewhere.
fn gaps(w: u16, h: u16, theme: Theme) -> UiState {
    let mut s = sample::market_with_gaps(25, (w, h), theme);
    let xrp = s.symbols.iter().position(|v| v.symbol == "XRP");
    let snap = xrp.and_then(|i| s.symbols[i].snapshot.as_mut());
    let snap = snap.expect("XRP");
    snap.funding = Field::absent(GapReason::NotInPlan);
    snap.price = Field::absent(GapReason::NotInPlan);
    s
}

fn screen(state: &UiState) -> Terminal<TestBackend> {
    let (w, h) = state.size;
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    t.draw(|f| view::render(f, state)).expect("draw");
    t
}

/// The overview alone in a `w`×`h` body (below the minimum screen size too).
fn body(state: &UiState, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    t.draw(|f| render(f, f.area(), state)).expect("draw");
    t
}

fn rows(t: &Terminal<TestBackend>) -> Vec<String> {
    let buf = t.backend().buffer();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect()
        })
        .collect()
}

fn sorted(s: &mut UiState, column: Column, descending: bool) -> Vec<usize> {
    s.overview.sort = Sort { column, descending };
    order(s)
}

fn value(s: &UiState, i: usize, column: Column) -> Option<f64> {
    number(&s.symbols[i], column, s.now).and_then(|c| c.value)
}

/// The columns that hold numbers: every column but the name, the level and the signal.
fn numeric() -> impl Iterator<Item = Column> {
    Column::ALL
        .into_iter()
        .filter(|c| !matches!(c, Column::Symbol | Column::Level | Column::TopSignal))
}

#[test]
fn every_number_column_sorts_both_ways_absent_last_ties_in_configured_order() {
    let mut s = gaps(200, 50, color());
    for column in numeric() {
        let present = (0..25).filter(|&i| value(&s, i, column).is_some()).count();
        assert!(
            (2..25).contains(&present),
            "{column:?}: the check needs values and gaps"
        );
        for descending in [true, false] {
            let order = sorted(&mut s, column, descending);
            let values: Vec<Option<f64>> = order.iter().map(|&i| value(&s, i, column)).collect();
            assert!(
                values[present..].iter().all(Option::is_none),
                "{column:?} {descending}: absent last: {values:?}"
            );
            for (k, pair) in order[..present].windows(2).enumerate() {
                let (a, b) = (values[k].unwrap_or(0.0), values[k + 1].unwrap_or(0.0));
                let in_order = if descending { a >= b } else { a <= b };
                assert!(in_order, "{column:?} {descending}: {values:?}");
                if a == b {
                    assert!(
                        pair[0] < pair[1],
                        "{column:?}: a tie keeps the configured order"
                    );
                }
            }
            assert!(
                order[present..].windows(2).all(|p| p[0] < p[1]),
                "{column:?}: absent rows in the configured order"
            );
        }
    }
}

#[test]
fn equal_rows_keep_the_configured_order_in_every_column_and_direction() {
    // Twenty symbols with the same numbers and one signal each.
    let mut s = sample::loaded_state(20, (200, 50));
    for column in numeric() {
        for descending in [true, false] {
            assert_eq!(
                sorted(&mut s, column, descending),
                (0..20).collect::<Vec<_>>(),
                "{column:?} {descending}"
            );
        }
    }
}

#[test]
fn symbols_sort_by_name_levels_by_severity_and_no_data_last() {
    let mut s = gaps(200, 50, color());
    let names = |s: &mut UiState, column: Column, descending: bool| -> Vec<String> {
        let order = sorted(s, column, descending);
        order.iter().map(|&i| s.symbols[i].symbol.clone()).collect()
    };
    let by_name = names(&mut s, Column::Symbol, false);
    let mut expected = by_name.clone();
    expected.sort();
    assert_eq!(by_name, expected);
    assert_eq!(by_name[0], "ADA");
    assert_eq!(names(&mut s, Column::Symbol, true)[0], "XRP", "Z→A");
    for descending in [true, false] {
        let by_level = sorted(&mut s, Column::Level, descending);
        let last = &s.symbols[by_level[24]];
        assert_eq!(last.symbol, "SOL", "no data is absent, last both ways");
        let levels: Vec<(Level, usize)> = by_level[..24]
            .iter()
            .map(|&i| (s.symbols[i].level, i))
            .collect();
        let mut expected = levels.clone();
        // By level, ties in the configured order.
        expected.sort_by(|a, b| {
            let by_level = if descending {
                b.0.cmp(&a.0)
            } else {
                a.0.cmp(&b.0)
            };
            by_level.then(a.1.cmp(&b.1))
        });
        assert_eq!(levels, expected);
    }
    let by_signal = names(&mut s, Column::TopSignal, true);
    assert_eq!(by_signal[0], "BTC", "HIGH with the most signals first");
    let quiet = by_signal
        .iter()
        .position(|n| s.feed.active(n).is_empty())
        .unwrap_or(25);
    assert!(
        by_signal[quiet..]
            .iter()
            .all(|n| s.feed.active(n).is_empty()),
        "symbols without a signal last"
    );
    let by_signal_up = names(&mut s, Column::TopSignal, false);
    assert!(
        s.feed.active(&by_signal_up[0]).len() == 1
            && s.feed.active(&by_signal_up[0])[0].level == Level::Low,
        "{by_signal_up:?}"
    );
}

fn shown(s: &UiState, width: u16) -> Vec<Column> {
    columns_for(s, width)
        .placed
        .iter()
        .map(|p| p.column)
        .collect()
}

#[test]
fn columns_drop_by_priority_when_narrow_and_all_show_when_wide() {
    let s = market(25, 200, 50);
    assert_eq!(
        shown(&s, 60),
        [
            Column::Symbol,
            Column::Level,
            Column::Price,
            Column::Funding8h,
            Column::TopSignal
        ]
    );
    let at_80 = shown(&s, 80);
    for c in [Column::Change1h, Column::OiChange1h] {
        assert!(at_80.contains(&c), "{c:?} at 80: {at_80:?}");
    }
    assert!(!at_80.contains(&Column::LiqLong1h), "{at_80:?}");
    assert_eq!(shown(&s, 200), Column::ALL);
    assert!(columns_for(&s, 140).wide, "long headers from 140 columns");
    let mut before: Vec<Column> = Vec::new();
    for width in 30..=300 {
        let cols = columns_for(&s, width);
        assert!(cols.wide || width < WIDE, "{width}");
        let now: Vec<Column> = cols.placed.iter().map(|p| p.column).collect();
        for c in REQUIRED.iter().chain([&Column::TopSignal]) {
            assert!(now.contains(c), "{c:?} at {width}");
        }
        // Columns do not overlap and stay inside the body.
        for pair in cols.placed.windows(2) {
            assert!(pair[0].x + pair[0].width < pair[1].x, "{width}: {pair:?}");
        }
        let last = cols.placed[cols.placed.len() - 1];
        assert!(last.x + last.width <= width.max(last.x), "{width}");
        if width >= 60 {
            let signal = last.width as usize;
            assert!(signal >= SIGNAL_MIN, "{width}: top signal {signal} wide");
        }
        // A wider body never loses a column, long headers or not.
        assert!(before.iter().all(|c| now.contains(c)), "{width}");
        before = now;
    }
}

#[test]
fn overview_3_symbols_80x24() {
    let t = screen(&market(3, 80, 24));
    insta::assert_snapshot!(t.backend());
    let shown = rows(&t);
    assert!(
        shown[0].contains("Overview · 1/3 · level ▼"),
        "{}",
        shown[0]
    );
    assert!(shown[1].contains("level▼"), "{}", shown[1]);
}

#[test]
fn overview_25_symbols_80x24() {
    let mut s = market(25, 80, 24);
    // The cursor far down: the list has scrolled to show it.
    update(
        &mut s,
        Event::Key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Char('G'),
            crossterm::event::KeyModifiers::SHIFT,
        )),
    );
    let t = screen(&s);
    insta::assert_snapshot!(t.backend());
    let shown = rows(&t);
    assert!(shown[0].contains("Overview · 25/25"), "{}", shown[0]);
    let cursor = &s.symbols[s.overview.cursor].symbol;
    assert!(shown[21].starts_with(cursor.as_str()), "{}", shown[21]);
    let buf = t.backend().buffer();
    assert!(buf[(0, 21)].modifier.contains(Modifier::REVERSED));
    assert!(
        buf[(79, 21)].modifier.contains(Modifier::REVERSED),
        "the whole row"
    );
    assert!(!buf[(0, 20)].modifier.contains(Modifier::REVERSED));
}

#[test]
fn overview_25_symbols_200x50() {
    let mut s = market(25, 200, 50);
    s.overview.sort = Sort {
        column: Column::Funding8h,
        descending: true,
    };
    let t = screen(&s);
    insta::assert_snapshot!(t.backend());
    let shown = rows(&t);
    for header in [
        "funding 8h▼",
        "liq S 1h",
        "retail long",
        "top active signal",
    ] {
        assert!(shown[1].contains(header), "{header}: {}", shown[1]);
    }
    // Every symbol on one screen.
    for (name, _) in sample::MARKET {
        assert!(
            shown[2..27]
                .iter()
                .any(|r| r.starts_with(&format!("{name} "))),
            "{name}"
        );
    }
    assert!(shown[0].contains("sorted by funding 8h ▼"), "{}", shown[0]);
    assert!(
        shown.iter().any(|r| r.contains("+4 more · 2h10m")),
        "BTC's top signal says how many more and since when"
    );
}

#[test]
fn overview_with_gaps_and_no_data_120x36() {
    let s = gaps(120, 36, color());
    let t = screen(&s);
    insta::assert_snapshot!(t.backend());
    let shown = rows(&t);
    let line = |name: &str| {
        shown
            .iter()
            .find(|r| r.starts_with(&format!("{name} ")))
            .cloned()
            .unwrap_or_default()
    };
    let eth = line("ETH");
    assert!(
        eth.contains('—') && !eth.contains("$0 ") && !eth.contains("+0.00%"),
        "{eth}"
    );
    assert!(eth.contains("~+"), "ETH's funding is stale: {eth}");
    let sol = line("SOL");
    assert!(sol.contains("✕ n/a") && sol.contains("~$245.50"), "{sol}");
    // Stale values are dimmed; absent ones too.
    let buf = t.backend().buffer();
    let y = shown
        .iter()
        .position(|r| r.starts_with("SOL "))
        .unwrap_or(0) as u16;
    let x = sol
        .find("~$")
        .map(|b| sol[..b].chars().count())
        .unwrap_or(0) as u16;
    assert!(buf[(x, y)].modifier.contains(Modifier::DIM), "{sol}");
    let xrp = line("XRP");
    assert!(xrp.contains('—'), "XRP's funding is not in the plan: {xrp}");
}

#[test]
fn the_overview_at_60_columns_keeps_symbol_level_price_funding_and_signal() {
    let mut s = gaps(60, 20, color());
    s.screen = Screen::Overview;
    let t = body(&s, 60, 17);
    insta::assert_snapshot!(t.backend());
    let shown = rows(&t);
    assert!(
        shown[0].starts_with("symbol  level▼")
            && shown[0].contains("price")
            && shown[0].contains("fund 8h")
            && shown[0].contains("top signal"),
        "{}",
        shown[0]
    );
    let btc = &shown[1];
    for value in [
        "BTC ",
        "● HIGH",
        "$97,000.00",
        "+0.1315%",
        "▼ Classic top… +4",
    ] {
        assert!(btc.contains(value), "{value}: {btc}");
    }
}

#[test]
fn no_color_overview_has_no_colours_but_keeps_markers_and_reverse() {
    let s = gaps(120, 36, Theme { color: false });
    let t = screen(&s);
    for cell in t.backend().buffer().content() {
        assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "{cell:?}");
    }
    let shown = rows(&t);
    assert!(shown.iter().any(|r| r.contains("● HIGH")));
    assert!(shown.iter().any(|r| r.contains("✕ n/a")));
    assert!(t.backend().buffer()[(0, 2)]
        .modifier
        .contains(Modifier::REVERSED));
    // The same in colour does use colours.
    let coloured = screen(&gaps(120, 36, color()));
    assert!(coloured
        .backend()
        .buffer()
        .content()
        .iter()
        .any(|c| c.fg == Color::Red));
}

#[test]
fn before_the_first_cycle_the_overview_waits() {
    let mut s = UiState::new(t0(), (80, 24), color());
    s.screen = Screen::Overview;
    let shown = rows(&screen(&s)).join("\n");
    assert!(shown.contains("waiting for the first cycle…"), "{shown}");
}

#[test]
fn the_top_bar_shortens_what_it_says_to_fit() {
    let s = market(25, 200, 50);
    let text = |room: usize| -> String {
        top_bar(&s, room)
            .iter()
            .map(|span| span.content.to_string())
            .collect()
    };
    assert_eq!(
        text(200),
        " Overview · 1 of 25 · sorted by level ▼ · ~ stale, — absent "
    );
    assert_eq!(text(45), " Overview · 1 of 25 · sorted by level ▼ ");
    assert_eq!(text(27), " Overview · 1/25 · level ▼ ");
    assert_eq!(text(17), " Overview · 1/25 ");
    for room in 0..70 {
        let t = text(room);
        assert!(t.chars().count() <= room, "{room}: {t:?}");
    }
}
