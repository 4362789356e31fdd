//! The key table: one list of bindings that both the key handler and the help popup read, so the
//! help always shows the keys actually in force.

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
    /// Esc: closes a popup first; on a symbol's detail goes back to the overview.
    Back,
    Quit,
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

/// One line of the table: the keys, what the help says, what they do.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Binding {
    pub keys: &'static [Key],
    /// Replaces the generated key list in the help (for long runs like 1–9).
    pub keys_label: Option<&'static str>,
    pub help: &'static str,
    pub action: Action,
}

const fn bind(keys: &'static [Key], help: &'static str, action: Action) -> Binding {
    Binding {
        keys,
        keys_label: None,
        help,
        action,
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
    ),
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
    ),
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
    ),
    bind(
        &[ch('o')],
        "overview of every symbol / detail of one",
        Action::ToggleOverview,
    ),
    bind(
        &[ch('<'), ch('>'), ch('i')],
        "overview: sort by column ← / →, i reverses",
        Action::Sort,
    ),
    bind(
        &[ch('f')],
        "feed filter: all → ≥ LOW → ≥ MEDIUM → HIGH",
        Action::CycleLevelFilter,
    ),
    bind(
        &[ch('s')],
        "feed filter: this symbol only / all symbols",
        Action::ToggleSymbolFilter,
    ),
    bind(&[ch('r')], "refresh now", Action::RefreshNow),
    bind(&[ch('p')], "pause / resume polling", Action::TogglePause),
    bind(
        &[ch('e')],
        "errors of the last cycle, in full",
        Action::ToggleErrors,
    ),
    bind(&[ch('?')], "this help", Action::ToggleHelp),
    bind(
        &[plain(KeyCode::Esc)],
        "close the popup, or back to the overview",
        Action::Back,
    ),
    bind(
        &[
            ch('q'),
            Key {
                code: KeyCode::Char('c'),
                mods: KeyModifiers::CONTROL,
            },
        ],
        "quit",
        Action::Quit,
    ),
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
            Some(Action::Quit)
        );
        assert_eq!(lookup(&ev(KeyCode::Char('c'), KeyModifiers::NONE)), None);
        assert_eq!(lookup(&ev(KeyCode::Char('q'), KeyModifiers::CONTROL)), None);
    }

    #[test]
    fn help_names_read_like_keys() {
        assert_eq!(keys_text(&BINDINGS[0]), "← h Shift-Tab");
        assert_eq!(keys_text(&BINDINGS[2]), "1–9");
        let quit = BINDINGS.iter().find(|b| b.action == Action::Quit);
        assert_eq!(quit.map(keys_text).as_deref(), Some("q Ctrl-C"));
    }
}
