//! The one key table: what each key does. The key handler, the help screen (`?`) and
//! `h2scope open --help` all read [`KEYS`], so a binding and its documentation cannot
//! drift apart (as gitui's `key_list.rs` keeps them).
//!
//! The filter prompt (`/`) takes every printable key and has its own few keys, listed in
//! [`FILTER_KEYS`].

use super::app::{Action, Tab};
use ratatui::crossterm::event::KeyCode;

/// A key, with or without Control (Shift is part of the character: `G`, `S`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chord {
    pub code: KeyCode,
    pub ctrl: bool,
}

const fn key(code: KeyCode) -> Chord {
    Chord { code, ctrl: false }
}

const fn char(c: char) -> Chord {
    key(KeyCode::Char(c))
}

const fn ctrl(c: char) -> Chord {
    Chord {
        code: KeyCode::Char(c),
        ctrl: true,
    }
}

/// One line of the help: the keys as shown, what they do, and the chords behind them.
#[derive(Debug)]
pub struct Binding {
    pub keys: &'static str,
    pub what: &'static str,
    /// Each chord and the action it gives; empty for the mouse, which has its own path.
    pub chords: &'static [(Chord, Action)],
}

/// Every key of the main screens, in the order the help lists them.
pub const KEYS: &[Binding] = &[
    Binding {
        keys: "q  Ctrl-C",
        what: "quit",
        chords: &[(char('q'), Action::Quit), (ctrl('c'), Action::Quit)],
    },
    Binding {
        keys: "Esc",
        what: "back; clear the filter; quit",
        chords: &[(key(KeyCode::Esc), Action::Back)],
    },
    Binding {
        keys: "?",
        what: "this help (any key closes it)",
        chords: &[(char('?'), Action::ToggleHelp)],
    },
    Binding {
        keys: "↑↓  j k",
        what: "move; scroll",
        chords: &[
            (key(KeyCode::Up), Action::Move(-1)),
            (char('k'), Action::Move(-1)),
            (key(KeyCode::Down), Action::Move(1)),
            (char('j'), Action::Move(1)),
        ],
    },
    Binding {
        keys: "PgUp PgDn  Space",
        what: "page (also Ctrl-U Ctrl-B, Ctrl-D Ctrl-F)",
        chords: &[
            (key(KeyCode::PageUp), Action::Page(-1)),
            (ctrl('u'), Action::Page(-1)),
            (ctrl('b'), Action::Page(-1)),
            (key(KeyCode::PageDown), Action::Page(1)),
            (char(' '), Action::Page(1)),
            (ctrl('d'), Action::Page(1)),
            (ctrl('f'), Action::Page(1)),
        ],
    },
    Binding {
        keys: "Home End  g G",
        what: "first, last",
        chords: &[
            (key(KeyCode::Home), Action::Top),
            (char('g'), Action::Top),
            (key(KeyCode::End), Action::Bottom),
            (char('G'), Action::Bottom),
        ],
    },
    Binding {
        keys: "Tab  Shift-Tab",
        what: "next / previous pane",
        chords: &[
            (key(KeyCode::Tab), Action::NextPane),
            (key(KeyCode::BackTab), Action::PrevPane),
        ],
    },
    Binding {
        keys: "Enter",
        what: "backend: only its calls · call: open · message: open",
        chords: &[(key(KeyCode::Enter), Action::Enter)],
    },
    Binding {
        keys: "/",
        what: "filter: text in method/path; backend:X status:X grpc:X grpc:!OK",
        chords: &[(char('/'), Action::StartFilter)],
    },
    Binding {
        keys: "c",
        what: "clear filters",
        chords: &[(char('c'), Action::ClearFilters)],
    },
    Binding {
        keys: "s  S",
        what: "next sort column · reverse order",
        chords: &[
            (char('s'), Action::CycleSort),
            (char('S'), Action::ReverseSort),
        ],
    },
    Binding {
        keys: "←→  h l",
        what: "call: detail tab, timeline cursor · message: prev/next",
        chords: &[
            (key(KeyCode::Left), Action::Left),
            (char('h'), Action::Left),
            (key(KeyCode::Right), Action::Right),
            (char('l'), Action::Right),
        ],
    },
    Binding {
        keys: "1 2 3",
        what: "Headers, Messages, Frames tab",
        chords: &[
            (char('1'), Action::ShowTab(Tab::Headers)),
            (char('2'), Action::ShowTab(Tab::Messages)),
            (char('3'), Action::ShowTab(Tab::Frames)),
        ],
    },
    Binding {
        keys: "f",
        what: "follow the newest call (moving up stops it)",
        chords: &[(char('f'), Action::ToggleFollow)],
    },
    Binding {
        keys: "p",
        what: "pause the view (capture goes on; resume catches up)",
        chords: &[(char('p'), Action::TogglePause)],
    },
    Binding {
        keys: "mouse",
        what: "wheel scrolls, click selects, click again opens",
        chords: &[],
    },
];

/// The keys of the filter prompt; any other printable key is typed.
pub const FILTER_KEYS: &[Binding] = &[
    Binding {
        keys: "Enter",
        what: "apply the filter",
        chords: &[(key(KeyCode::Enter), Action::FilterSubmit)],
    },
    Binding {
        keys: "Esc",
        what: "cancel",
        chords: &[(key(KeyCode::Esc), Action::FilterCancel)],
    },
    Binding {
        keys: "Backspace  Ctrl-U",
        what: "delete a character · clear the text",
        chords: &[
            (key(KeyCode::Backspace), Action::FilterBackspace),
            (ctrl('u'), Action::FilterClearText),
        ],
    },
];

/// The action `code` gives in `table`. A chord with Control is looked up as such first;
/// failing that, Control is ignored (Ctrl-Q quits like q), as terminals and users mix them.
pub fn lookup(table: &[Binding], code: KeyCode, ctrl: bool) -> Option<Action> {
    let find = |ctrl: bool| {
        table
            .iter()
            .flat_map(|b| b.chords)
            .find(|(c, _)| c.code == code && c.ctrl == ctrl)
            .map(|(_, a)| a.clone())
    };
    find(ctrl).or_else(|| if ctrl { find(false) } else { None })
}

/// The table as text, one binding a line (for `open --help` and `sniff --help`).
pub fn help_text() -> String {
    let mut out = String::new();
    for (title, table) in [
        ("Keys in the terminal UI:", KEYS),
        ("In the filter prompt (/):", FILTER_KEYS),
    ] {
        out.push_str(title);
        out.push('\n');
        for b in table {
            out.push_str(&format!("  {:<19}{}\n", b.keys, b.what));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_chord_is_bound_twice() {
        for table in [KEYS, FILTER_KEYS] {
            let all: Vec<Chord> = table
                .iter()
                .flat_map(|b| b.chords)
                .map(|(c, _)| *c)
                .collect();
            for (i, c) in all.iter().enumerate() {
                assert!(!all[..i].contains(c), "{c:?} bound twice");
            }
        }
    }

    #[test]
    fn control_falls_back_to_the_plain_key() {
        assert_eq!(lookup(KEYS, KeyCode::Char('q'), true), Some(Action::Quit));
        assert_eq!(
            lookup(KEYS, KeyCode::Char('u'), true),
            Some(Action::Page(-1))
        );
        assert_eq!(lookup(KEYS, KeyCode::Char('u'), false), None);
        assert_eq!(
            lookup(FILTER_KEYS, KeyCode::Char('u'), true),
            Some(Action::FilterClearText)
        );
    }
}
