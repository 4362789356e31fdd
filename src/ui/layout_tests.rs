//! The layouts at every size (compact, normal, wide), the key bar on the last row, and how the
//! dashboard takes and gives back the terminal (mouse capture, the screen left empty).

use super::tests::{key, live, rows, screen, text};
use super::view::{self, density, Density};
use super::{before_leaving, enter, UiOptions};
use ratatui::layout::Rect;

/// The sizes the issue names, and a few in between.
const SIZES: [(u16, u16); 9] = [
    (60, 20),
    (79, 24),
    (80, 23),
    (80, 24),
    (100, 30),
    (120, 36),
    (140, 40),
    (200, 23),
    (200, 50),
];

#[test]
fn each_size_gets_its_density() {
    for (w, h, want) in [
        (59, 20, None),
        (60, 19, None),
        (60, 20, Some(Density::Compact)),
        (79, 60, Some(Density::Compact)),
        (80, 23, Some(Density::Compact)),
        (200, 23, Some(Density::Compact)),
        (80, 24, Some(Density::Normal)),
        (139, 50, Some(Density::Normal)),
        (140, 24, Some(Density::Wide)),
        (200, 50, Some(Density::Wide)),
    ] {
        assert_eq!(density(w, h), want, "{w}×{h}");
    }
}

fn overlap(a: Rect, b: Rect) -> bool {
    a.width > 0 && b.width > 0 && a.height > 0 && b.height > 0 && a.intersects(b)
}

#[test]
fn every_layout_tiles_the_screen_with_the_key_bar_last() {
    for w in (60..=240).step_by(7) {
        for h in (20..=70).step_by(3) {
            let area = Rect::new(0, 0, w, h);
            let l = view::layout(area).unwrap_or_else(|| panic!("{w}×{h} refused"));
            let compact = l.density == Density::Compact;
            let parts = [
                ("top", l.top),
                ("funding", l.funding),
                ("taker", l.taker),
                ("open interest", l.open_interest),
                ("liquidations", l.liquidations),
                ("positioning", l.positioning),
                ("active", l.active),
                ("feed", l.feed),
                ("status", l.status),
                ("keys", l.keys),
            ];
            for (i, (name, r)) in parts.iter().enumerate() {
                assert!(
                    area.contains(r.as_position()) || r.width == 0,
                    "{w}×{h} {name}"
                );
                assert!(r.right() <= w && r.bottom() <= h, "{w}×{h} {name}: {r:?}");
                for (other, o) in &parts[i + 1..] {
                    assert!(!overlap(*r, *o), "{w}×{h}: {name} overlaps {other}");
                }
            }
            let covered: u32 = parts
                .iter()
                .map(|(_, r)| u32::from(r.width) * u32::from(r.height))
                .sum();
            assert_eq!(covered, u32::from(w) * u32::from(h), "{w}×{h}: a gap");
            assert_eq!((l.keys.y, l.keys.height), (h - 1, 1), "{w}×{h}: keys last");
            assert_eq!((l.status.y, l.status.height), (h - 2, 1), "{w}×{h}");
            assert_eq!(l.body, Rect::new(0, 1, w, h - 3), "{w}×{h}");
            // Every panel keeps room for its lines: OI and liquidations two (three when
            // normal), positioning three, the feed two (five when normal).
            let (small, feed) = if compact { (4, 4) } else { (4, 7) };
            assert!(
                l.open_interest.height >= small + u16::from(!compact),
                "{w}×{h}"
            );
            assert!(l.liquidations.height >= small, "{w}×{h}");
            assert!(l.positioning.height >= 5, "{w}×{h}");
            assert!(l.feed.height >= feed, "{w}×{h}");
            assert!(l.funding.height >= 9, "{w}×{h}");
        }
    }
}

#[test]
fn whole_screen_at_60x20() {
    insta::assert_snapshot!(screen(&live(60, 20)).backend());
}

#[test]
fn whole_screen_at_80x23() {
    insta::assert_snapshot!(screen(&live(80, 23)).backend());
}

#[test]
fn whole_screen_at_140x40() {
    insta::assert_snapshot!(screen(&live(140, 40)).backend());
}

#[test]
fn no_number_is_cut_at_any_size() {
    // Whole numbers of the sketch's BTC, as each panel prints them (at the narrowest, a panel
    // shows fewer of them, never part of one).
    let everywhere = [
        "$97,000.00",
        "+3.40%",
        "+0.1196%",
        "+0.1500%",
        "2h13m",
        "$57.4B",
        "+7.0%",
        "+12.1%",
        "$42.1M",
        "$8.3M",
        "70.0% long",
        "52.0% long",
        "divergence 18.0 pts",
        "68.0%",
        "32.0% sell",
        "Hyper",
    ];
    for (w, h) in SIZES {
        let shown = text(&screen(&live(w, h)));
        for number in everywhere {
            assert!(shown.contains(number), "{w}×{h}: no {number:?}\n{shown}");
        }
    }
}

#[test]
fn the_key_bar_is_the_last_row_on_every_screen() {
    for (w, h) in SIZES {
        let mut s = live(w, h);
        let bar = |s: &super::state::UiState| rows(&screen(s)).last().cloned().unwrap_or_default();
        let main = bar(&s);
        assert!(
            main.starts_with(" ←→ symbol") && main.contains("? help  q quit"),
            "{w}×{h}: {main}"
        );
        update_key(&mut s, 'e');
        let errors = bar(&s);
        assert!(errors.contains("Esc/q close"), "{w}×{h}: {errors}");
        assert!(!errors.contains("q quit"), "q does not quit here: {errors}");
        update_key(&mut s, 'e');
        update_key(&mut s, '?');
        assert!(bar(&s).contains("Esc/q close"), "{w}×{h}");
    }
    // Before the first cycle too.
    let s = super::state::UiState::new(super::sample::t0(), (80, 23), super::tests::color());
    assert!(rows(&screen(&s))
        .last()
        .is_some_and(|r| r.contains("? help  q quit")));
}

fn update_key(s: &mut super::state::UiState, c: char) {
    super::update(s, key(c));
}

#[test]
fn the_wide_layout_shows_full_names_the_feed_messages_and_positioning_history() {
    for (w, h) in [(140, 40), (200, 50)] {
        let shown = text(&screen(&live(w, h)));
        assert!(shown.contains("│Hyperliquid +0.0125%"), "{w}×{h}: {shown}");
        assert!(!shown.contains("Hyperli."), "{w}×{h}: {shown}");
        assert!(
            shown.contains("Extreme positive funding: 0.1375% per 8h — The numbers"),
            "{w}×{h}: the message after the title\n{shown}"
        );
        assert!(
            shown.contains("long share, one point per cycle"),
            "{w}×{h}: {shown}"
        );
        assert!(shown.contains("retail ▄▄▄"), "{w}×{h}: {shown}");
    }
    // Normal: no messages in the feed rows (Enter shows them), but positioning fills its rows.
    let normal = text(&screen(&live(120, 36)));
    assert!(!normal.contains("— The numbers"), "{normal}");
    assert!(normal.contains("retail ▄▄▄"), "{normal}");
}

#[test]
fn the_funding_table_widens_with_its_panel() {
    // 80 columns: the quoted columns, names cut; 120: full names and each exchange's OI; the
    // compact 60: the 8h rate and next funding with full names.
    let at = |w, h| text(&screen(&live(w, h)));
    let normal = at(80, 24);
    assert!(
        normal.contains("│Hyperli. +0.0125%    1h +0.1000% 0h28m│"),
        "{normal}"
    );
    let wide = at(120, 36);
    assert!(
        wide.contains("│Hyperliquid +0.0125%    1h +0.1000% 0h28m    $3.0B"),
        "{wide}"
    );
    assert!(wide.contains("OI"), "{wide}");
    let compact = at(60, 20);
    assert!(compact.contains("│Hyperliquid +0.1000% 0h28m"), "{compact}");
}

#[test]
fn the_dashboard_captures_the_mouse_only_when_asked_and_leaves_an_empty_screen() {
    const MOUSE_ON: &str = "\x1b[?1000h";
    const MOUSE_OFF: &str = "\x1b[?1000l";
    const CLEAR: &str = "\x1b[2J";
    let bytes = |f: &dyn Fn(&mut Vec<u8>) -> std::io::Result<()>| {
        let mut out = Vec::new();
        f(&mut out).expect("writes to a Vec");
        String::from_utf8_lossy(&out).into_owned()
    };
    let on = UiOptions { mouse: true };
    let off = UiOptions { mouse: false };
    assert!(bytes(&|o| enter(o, on)).contains(MOUSE_ON));
    assert_eq!(
        bytes(&|o| enter(o, off)),
        "",
        "--no-mouse asks nothing of the terminal"
    );
    let leaving = bytes(&|o| before_leaving(o, on));
    assert!(
        leaving.contains(MOUSE_OFF) && leaving.contains(CLEAR),
        "{leaving:?}"
    );
    let leaving = bytes(&|o| before_leaving(o, off));
    assert!(!leaving.contains("\x1b[?1000"), "{leaving:?}");
    assert!(
        leaving.contains(CLEAR),
        "the screen is emptied either way: {leaving:?}"
    );
    assert_eq!(UiOptions::default(), on);
}
