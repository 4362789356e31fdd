//! The key table: one list of bindings that the key handler, the help popup and the key bar all
//! read, so the help and the bar always show the keys actually in force.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key does. Pure intent; `state::update` decides what it means in the current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    PrevSymbol,
    NextSymbol,
    /// Jump to symbol N (the digit of the key pressed, 1-based).
    JumpToSymbol,
    FeedUp,
    FeedDown,
    FeedPageUp,
    FeedPageDown,
    FeedTop,
    FeedBottom,
    ToggleExpand,
    CycleLevelFilter,
    ToggleSymbolFilter,
    RefreshNow,
    TogglePause,
    ToggleHelp,
    /// The errors popup: every distinct error of the last cycle.
    ToggleErrors,
    /// Switches between the overview (every symbol) and the detail of one.
    ToggleOverview,
    /// Overview sort: `<` / `>` move the sort column left / right, `i` reverses the order (the
    /// key pressed says which).
    Sort,
    /// Esc: closes a popup; on a symbol's detail goes back to the overview; never quits.
    Back,
    /// `q`: closes a popup first, quits otherwise.
    Quit,
    /// Ctrl-C: quits from anywhere, a popup included.
    ForceQuit,
}

/// One key with the modifiers it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

const fn plain(code: KeyCode) -> Key {
    Key {
        code,
        mods: KeyModifiers::NONE,
    }
}

const fn ch(c: char) -> Key {
    plain(KeyCode::Char(c))
}

/// One item of the key bar: `←→ symbol`, `? help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BarItem {
    /// The keys as the bar shows them (may stand for a pair of bindings: `←→`).
    pub keys: &'static str,
    pub label: &'static str,
    /// Which items give way first on a narrow bar: the highest number goes first;
    /// [`KEEP`] is never dropped.
    pub priority: u8,
}

/// The priority of a bar item that is never dropped (`? help`, `q quit`).
pub(crate) const KEEP: u8 = 0;

/// One line of the table: the keys, what the help says, what they do, and how the key bar
/// shows them (on the main view, and while a popup is open).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Binding {
    pub keys: &'static [Key],
    /// Replaces the generated key list in the help (for long runs like 1–9).
    pub keys_label: Option<&'static str>,
    pub help: &'static str,
    pub action: Action,
    /// Its item on the key bar of the main view, if it has one.
    pub bar: Option<BarItem>,
    /// Its item on the key bar while a popup is open, if it has one.
    pub popup_bar: Option<BarItem>,
    /// Its item on the overview's key bar, when it differs from `bar` there.
    pub overview_bar: Option<BarItem>,
    /// The key does nothing on the overview: its `bar` item is left off there.
    pub detail_only: bool,
}

const fn bind(keys: &'static [Key], help: &'static str, action: Action) -> Binding {
    Binding {
        keys,
        keys_label: None,
        help,
        action,
        bar: None,
        popup_bar: None,
        overview_bar: None,
        detail_only: false,
    }
}

const fn item(keys: &'static str, label: &'static str, priority: u8) -> Option<BarItem> {
    Some(BarItem {
        keys,
        label,
        priority,
    })
}

impl Binding {
    const fn bar(self, keys: &'static str, label: &'static str, priority: u8) -> Binding {
        Binding {
            bar: item(keys, label, priority),
            ..self
        }
    }

    const fn popup_bar(self, keys: &'static str, label: &'static str, priority: u8) -> Binding {
        Binding {
            popup_bar: item(keys, label, priority),
            ..self
        }
    }

    const fn overview_bar(self, keys: &'static str, label: &'static str, priority: u8) -> Binding {
        Binding {
            overview_bar: item(keys, label, priority),
            ..self
        }
    }

    const fn detail_only(self) -> Binding {
        Binding {
            detail_only: true,
            ..self
        }
    }
}

/// Every binding, in the order the help lists them.
pub(crate) static BINDINGS: &[Binding] = &[
    bind(
        &[plain(KeyCode::Left), ch('h'), plain(KeyCode::BackTab)],
        "previous symbol",
        Action::PrevSymbol,
    ),
    bind(
        &[plain(KeyCode::Right), ch('l'), plain(KeyCode::Tab)],
        "next symbol",
        Action::NextSymbol,
    )
    .bar("←→", "symbol", 1)
    .detail_only(),
    Binding {
        keys: &[
            ch('1'),
            ch('2'),
            ch('3'),
            ch('4'),
            ch('5'),
            ch('6'),
            ch('7'),
            ch('8'),
            ch('9'),
        ],
        keys_label: Some("1–9"),
        help: "jump to symbol N",
        action: Action::JumpToSymbol,
        bar: None,
        popup_bar: None,
        overview_bar: None,
        detail_only: false,
    },
    bind(
        &[plain(KeyCode::Up), ch('k')],
        "up: overview row / signal feed",
        Action::FeedUp,
    ),
    bind(
        &[plain(KeyCode::Down), ch('j')],
        "down: overview row / signal feed",
        Action::FeedDown,
    )
    .bar("↑↓", "feed", 2)
    .popup_bar("↑↓", "scroll", 2)
    .overview_bar("↑↓", "move", 1),
    bind(
        &[plain(KeyCode::PageUp)],
        "page up: overview / signal feed",
        Action::FeedPageUp,
    ),
    bind(
        &[plain(KeyCode::PageDown)],
        "page down: overview / signal feed",
        Action::FeedPageDown,
    ),
    bind(&[ch('g')], "first row / newest signal", Action::FeedTop),
    bind(&[ch('G')], "last row / oldest signal", Action::FeedBottom),
    bind(
        &[plain(KeyCode::Enter)],
        "open the symbol / expand or collapse the signal",
        Action::ToggleExpand,
    )
    .bar("⏎", "expand", 4)
    .overview_bar("⏎", "open", 1),
    bind(
        &[ch('o')],
        "overview of every symbol / detail of one",
        Action::ToggleOverview,
    )
    .bar("o", "overview", 1)
    .overview_bar("o", "detail", 3),
    bind(
        &[ch('<'), ch('>'), ch('i')],
        "overview: sort by column ← / →, i reverses",
        Action::Sort,
    )
    .overview_bar("< > i", "sort", 2),
    bind(
        &[ch('f')],
        "feed filter: all → ≥ MEDIUM → HIGH only",
        Action::CycleLevelFilter,
    )
    .bar("f", "filter", 3)
    .detail_only(),
    bind(
        &[ch('s')],
        "feed filter: this symbol only / all symbols",
        Action::ToggleSymbolFilter,
    )
    .bar("s", "this symbol", 6)
    .detail_only(),
    bind(&[ch('r')], "refresh now", Action::RefreshNow).bar("r", "refresh", 5),
    bind(&[ch('p')], "pause / resume polling", Action::TogglePause).bar("p", "pause", 3),
    bind(
        &[ch('e')],
        "errors of the last cycle, in full",
        Action::ToggleErrors,
    )
    .bar("e", "errors", 2),
    bind(&[ch('?')], "this help", Action::ToggleHelp).bar("?", "help", KEEP),
    // Esc never quits: a pane kept open for days must not close on a stray Esc.
    bind(
        &[plain(KeyCode::Esc)],
        "close the popup, or back to the overview",
        Action::Back,
    )
    .popup_bar("Esc/q", "close", KEEP),
    bind(&[ch('q')], "quit (in a popup: close it)", Action::Quit).bar("q", "quit", KEEP),
    bind(
        &[Key {
            code: KeyCode::Char('c'),
            mods: KeyModifiers::CONTROL,
        }],
        "quit, from anywhere",
        Action::ForceQuit,
    )
    .popup_bar("Ctrl-C", "quit", 1),
];

/// Whether a pressed key matches a table key. Shift is ignored for characters and Shift-Tab
/// (terminals report `G` as Shift+`G` and Shift-Tab as BackTab+Shift); other modifiers must match.
fn matches(key: &Key, ev: &KeyEvent) -> bool {
    let mut mods = ev.modifiers;
    if matches!(ev.code, KeyCode::Char(_) | KeyCode::BackTab) {
        mods.remove(KeyModifiers::SHIFT);
    }
    key.code == ev.code && key.mods == mods
}

/// The action bound to a key press, if any.
pub(crate) fn lookup(ev: &KeyEvent) -> Option<Action> {
    BINDINGS
        .iter()
        .find(|b| b.keys.iter().any(|k| matches(k, ev)))
        .map(|b| b.action)
}

/// How a key reads in the help: `←`, `Shift-Tab`, `Ctrl-C`, `PgUp`, `q`.
pub(crate) fn key_name(key: &Key) -> String {
    let base = match key.code {
        KeyCode::Left => "←".to_string(),
        KeyCode::Right => "→".to_string(),
        KeyCode::Up => "↑".to_string(),
        KeyCode::Down => "↓".to_string(),
        KeyCode::Tab => "Tab".to_string(),
        KeyCode::BackTab => "Shift-Tab".to_string(),
        KeyCode::PageUp => "PgUp".to_string(),
        KeyCode::PageDown => "PgDn".to_string(),
        KeyCode::Enter => "Enter".to_string(),
        KeyCode::Esc => "Esc".to_string(),
        KeyCode::Char(c) if key.mods.contains(KeyModifiers::CONTROL) => {
            return format!("Ctrl-{}", c.to_ascii_uppercase())
        }
        KeyCode::Char(c) => c.to_string(),
        other => format!("{other:?}"),
    };
    base
}

/// The help's key column for a binding: `← h Shift-Tab`, or its label override.
pub(crate) fn keys_text(b: &Binding) -> String {
    match b.keys_label {
        Some(label) => label.to_string(),
        None => b.keys.iter().map(key_name).collect::<Vec<_>>().join(" "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyEventKind, KeyEventState};

    fn ev(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent {
            code,
            modifiers,
            kind: KeyEventKind::Press,
            state: KeyEventState::NONE,
        }
    }

    #[test]
    fn every_table_key_looks_up_its_own_action() {
        for b in BINDINGS {
            for k in b.keys {
                assert_eq!(lookup(&ev(k.code, k.mods)), Some(b.action), "{k:?}");
            }
        }
    }

    #[test]
    fn no_key_is_bound_twice() {
        let all: Vec<&Key> = BINDINGS.iter().flat_map(|b| b.keys.iter()).collect();
        for (i, a) in all.iter().enumerate() {
            assert!(!all[i + 1..].contains(a), "{a:?} bound twice");
        }
    }

    #[test]
    fn shift_is_ignored_for_characters_but_ctrl_is_not() {
        assert_eq!(
            lookup(&ev(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Action::FeedBottom)
        );
        assert_eq!(
            lookup(&ev(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(Action::PrevSymbol)
        );
        assert_eq!(
            lookup(&ev(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::ForceQuit)
        );
        assert_eq!(lookup(&ev(KeyCode::Char('c'), KeyModifiers::NONE)), None);
        assert_eq!(lookup(&ev(KeyCode::Char('q'), KeyModifiers::CONTROL)), None);
    }

    #[test]
    fn help_names_read_like_keys() {
        assert_eq!(keys_text(&BINDINGS[0]), "← h Shift-Tab");
        assert_eq!(keys_text(&BINDINGS[2]), "1–9");
        let keys_of = |action| BINDINGS.iter().find(|b| b.action == action).map(keys_text);
        assert_eq!(keys_of(Action::Quit).as_deref(), Some("q"));
        assert_eq!(keys_of(Action::ForceQuit).as_deref(), Some("Ctrl-C"));
    }

    /// The keys a bar item shows, as the help names them: `←→` is two keys, `Esc/q` too, `⏎`
    /// is Enter.
    fn bar_key_names(keys: &str) -> Vec<String> {
        if keys.contains('/') {
            keys.split('/').map(str::to_string).collect()
        } else if keys == "⏎" {
            vec!["Enter".to_string()]
        } else if keys.chars().all(|c| "←→↑↓".contains(c)) {
            keys.chars().map(String::from).collect()
        } else {
            vec![keys.to_string()]
        }
    }

    #[test]
    fn every_bar_item_shows_keys_that_are_bound() {
        let names: Vec<String> = BINDINGS
            .iter()
            .flat_map(|b| b.keys.iter().map(key_name))
            .collect();
        let items: Vec<BarItem> = BINDINGS
            .iter()
            .flat_map(|b| [b.bar, b.popup_bar])
            .flatten()
            .collect();
        assert!(items.len() >= 10, "{items:?}");
        for item in items {
            for name in bar_key_names(item.keys) {
                assert!(names.contains(&name), "{item:?}: {name} is not bound");
            }
        }
        // An item that stands for one binding shows that binding's own key.
        for b in BINDINGS {
            if let Some(item) = b.bar.filter(|i| bar_key_names(i.keys).len() == 1) {
                let own: Vec<String> = b.keys.iter().map(key_name).collect();
                assert!(own.contains(&bar_key_names(item.keys)[0]), "{item:?}");
            }
        }
    }

    #[test]
    fn help_and_quit_are_kept_on_every_bar() {
        let kept = |popup: bool| -> Vec<&str> {
            BINDINGS
                .iter()
                .filter_map(|b| if popup { b.popup_bar } else { b.bar })
                .filter(|i| i.priority == KEEP)
                .map(|i| i.label)
                .collect()
        };
        assert_eq!(kept(false), ["help", "quit"]);
        assert_eq!(kept(true), ["close"]);
    }
}
