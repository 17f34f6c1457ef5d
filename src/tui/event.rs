//! Where input comes from: the terminal, or a script (tests).

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyModifiers};
use std::collections::VecDeque;
use std::io;
use std::time::Duration;

/// A source of input events.
pub trait EventSource {
    /// The next event, waiting at most `timeout`; `None` when nothing came.
    fn next(&mut self, timeout: Duration) -> io::Result<Option<Event>>;

    /// Whether an event is waiting (without taking it): the UI stops applying updates
    /// to answer it. Sources that cannot tell say no.
    fn pending(&mut self) -> bool {
        false
    }
}

/// The terminal, through crossterm.
pub struct TerminalEvents;

impl EventSource for TerminalEvents {
    fn next(&mut self, timeout: Duration) -> io::Result<Option<Event>> {
        if event::poll(timeout)? {
            event::read().map(Some)
        } else {
            Ok(None)
        }
    }

    fn pending(&mut self) -> bool {
        event::poll(Duration::ZERO).unwrap_or(false)
    }
}

/// Events given in advance; when they run out, Ctrl-C (so a script always ends the app).
#[derive(Debug, Default)]
pub struct Script {
    events: VecDeque<Event>,
}

impl Script {
    pub fn new(events: impl IntoIterator<Item = Event>) -> Self {
        Script {
            events: events.into_iter().collect(),
        }
    }

    /// Key presses written as text, one key per character, with `<name>` for named keys:
    /// `<enter>`, `<esc>`, `<tab>`, `<backtab>`, `<up>`, `<down>`, `<left>`, `<right>`,
    /// `<pgup>`, `<pgdn>`, `<home>`, `<end>`, `<bs>`.
    pub fn keys(text: &str) -> Self {
        Script::new(keys(text).into_iter().map(Event::Key))
    }
}

impl EventSource for Script {
    fn next(&mut self, _timeout: Duration) -> io::Result<Option<Event>> {
        Ok(Some(self.events.pop_front().unwrap_or(Event::Key(
            KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL),
        ))))
    }
}

/// Parses the key notation of [`Script::keys`].
pub fn keys(text: &str) -> Vec<KeyEvent> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '<'
            && let Some(end) = rest.find('>')
        {
            let code = match &rest[1..end] {
                "enter" => Some(KeyCode::Enter),
                "esc" => Some(KeyCode::Esc),
                "tab" => Some(KeyCode::Tab),
                "backtab" => Some(KeyCode::BackTab),
                "up" => Some(KeyCode::Up),
                "down" => Some(KeyCode::Down),
                "left" => Some(KeyCode::Left),
                "right" => Some(KeyCode::Right),
                "pgup" => Some(KeyCode::PageUp),
                "pgdn" => Some(KeyCode::PageDown),
                "home" => Some(KeyCode::Home),
                "end" => Some(KeyCode::End),
                "bs" => Some(KeyCode::Backspace),
                _ => None,
            };
            if let Some(code) = code {
                out.push(KeyEvent::new(code, KeyModifiers::NONE));
                rest = &rest[end + 1..];
                continue;
            }
        }
        let mods = if c.is_ascii_uppercase() {
            KeyModifiers::SHIFT
        } else {
            KeyModifiers::NONE
        };
        out.push(KeyEvent::new(KeyCode::Char(c), mods));
        rest = &rest[c.len_utf8()..];
    }
    out
}
