//! View state and actions: input becomes an [`Action`], and [`ViewState::apply`] is the one
//! place that changes what is shown.
//!
//! The view keeps positions and choices (screen, focused pane, selection, scroll, filter,
//! sort), never copies of the data: calls are named by their index in `Model::calls`. What
//! the view derives from the model (the filtered, sorted list of calls) is refreshed by
//! [`Action::ModelChanged`], merging new calls into the sorted list rather than sorting
//! everything again, so a long capture streaming in stays cheap.

use super::keys;
use super::model::{CallEntry, Model};
use super::ui::layout;
use super::ui::timeline;
use ratatui::crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};
use std::cmp::Ordering;
use std::net::SocketAddr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    /// Backends and calls.
    Main,
    /// One call: timeline and detail.
    Call,
    /// One gRPC message, whole.
    Message,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Backends,
    Calls,
    Timeline,
    Detail,
}

/// What the detail pane of a call shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    Headers,
    Messages,
    Frames,
}

impl Tab {
    pub const ALL: [Tab; 3] = [Tab::Headers, Tab::Messages, Tab::Frames];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Headers => "Headers",
            Tab::Messages => "Messages",
            Tab::Frames => "Frames",
        }
    }

    fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }
}

/// The calls table's sort column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    Time,
    Backend,
    Method,
    Status,
    Duration,
    Request,
    Response,
}

impl SortKey {
    const ALL: [SortKey; 7] = [
        SortKey::Time,
        SortKey::Backend,
        SortKey::Method,
        SortKey::Status,
        SortKey::Duration,
        SortKey::Request,
        SortKey::Response,
    ];

    pub fn title(self) -> &'static str {
        match self {
            SortKey::Time => "time",
            SortKey::Backend => "backend",
            SortKey::Method => "method",
            SortKey::Status => "status",
            SortKey::Duration => "duration",
            SortKey::Request => "request size",
            SortKey::Response => "response size",
        }
    }

    fn next(self) -> SortKey {
        let i = SortKey::ALL.iter().position(|k| *k == self).unwrap_or(0);
        SortKey::ALL[(i + 1) % SortKey::ALL.len()]
    }

    /// What a call is sorted by. Computed once per call per sort (random access into
    /// the calls is what makes sorting a long capture slow, not the comparisons).
    fn value<'a>(self, model: &'a Model, ranks: &[u32], c: &'a CallEntry) -> SortValue<'a> {
        match self {
            SortKey::Time => SortValue::Int(c.rec.start.0),
            SortKey::Backend => {
                let (label, addr) = model.backend_sort_key(c.rec.server);
                SortValue::Backend(label, addr)
            }
            SortKey::Method => {
                SortValue::Int(ranks.get(c.name_id as usize).map_or(0, |&r| i64::from(r)))
            }
            SortKey::Status => SortValue::Status(c.status_key()),
            SortKey::Duration => SortValue::Int(c.duration_ns()),
            SortKey::Request => SortValue::Int(c.rec.bytes[0] as i64),
            SortKey::Response => SortValue::Int(c.rec.bytes[1] as i64),
        }
    }
}

/// A sort key's value for one call (one variant per sort key, never compared across).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum SortValue<'a> {
    Int(i64),
    Backend(Option<&'a str>, SocketAddr),
    Status((bool, Option<u32>, Option<u16>, Option<u32>)),
}

/// A parsed filter: every term must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Lower-cased substrings of the method or path.
    text: Vec<String>,
    /// `backend:` substrings of the address or label.
    backend: Vec<String>,
    /// `status:` prefixes of the status column or HTTP status.
    status: Vec<String>,
    /// `grpc:` status names, name fragments or codes; `!` negates.
    grpc: Vec<(bool, String)>,
}

impl Filter {
    pub fn parse(s: &str) -> Filter {
        let mut f = Filter::default();
        for word in s.split_whitespace() {
            let lower = word.to_lowercase();
            if let Some(v) = lower.strip_prefix("backend:") {
                f.backend.push(v.to_string());
            } else if let Some(v) = lower.strip_prefix("status:") {
                f.status.push(v.to_string());
            } else if let Some(v) = lower.strip_prefix("grpc:") {
                match v.strip_prefix('!') {
                    Some(v) => f.grpc.push((true, v.to_string())),
                    None => f.grpc.push((false, v.to_string())),
                }
            } else {
                f.text.push(lower);
            }
        }
        f
    }

    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    pub fn matches(&self, model: &Model, c: &CallEntry) -> bool {
        let lossy = |b: &[u8]| String::from_utf8_lossy(b).to_lowercase();
        if !self.text.is_empty() {
            let name = lossy(&c.name(true));
            let path = c.path().map(lossy).unwrap_or_default();
            if !self
                .text
                .iter()
                .all(|t| name.contains(t.as_str()) || path.contains(t.as_str()))
            {
                return false;
            }
        }
        if !self.backend.is_empty() {
            let addr = c.rec.server.to_string();
            let label = model.backend_name(c.rec.server).to_lowercase();
            if !self
                .backend
                .iter()
                .all(|t| addr.contains(t.as_str()) || label.contains(t.as_str()))
            {
                return false;
            }
        }
        if !self.status.is_empty() {
            let text = c.status_text().to_lowercase();
            let http = c.http_status().map(|s| s.to_string()).unwrap_or_default();
            if !self
                .status
                .iter()
                .all(|t| text.starts_with(t.as_str()) || http.starts_with(t.as_str()))
            {
                return false;
            }
        }
        for (negate, t) in &self.grpc {
            let Some(g) = &c.rec.grpc else {
                return false;
            };
            let name = g.status_name.unwrap_or("").to_lowercase();
            let code = g.status.map(|s| s.to_string()).unwrap_or_default();
            let hit = !t.is_empty() && (name.contains(t.as_str()) || code == *t);
            if hit == *negate {
                return false;
            }
        }
        true
    }
}

/// Everything the user can do, whatever the input device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Quit,
    /// Close, cancel or go back one level; quits from the first screen.
    Back,
    ToggleHelp,
    /// Move the selection (or scroll) by this many rows.
    Move(isize),
    /// Move by pages.
    Page(isize),
    Top,
    Bottom,
    Left,
    Right,
    NextPane,
    PrevPane,
    Enter,
    ShowTab(Tab),
    StartFilter,
    FilterChar(char),
    FilterBackspace,
    FilterClearText,
    FilterSubmit,
    FilterCancel,
    ClearFilters,
    CycleSort,
    ReverseSort,
    /// Mouse wheel over a point: `delta` rows.
    Scroll {
        column: u16,
        row: u16,
        delta: isize,
    },
    Click {
        column: u16,
        row: u16,
    },
    Resize {
        width: u16,
        height: u16,
    },
    /// Keep the newest call selected as calls arrive, or stop doing so.
    ToggleFollow,
    /// Freeze the calls and backends (updates wait), or apply what waited and go on.
    TogglePause,
    /// The model changed: refresh what the view derives from it.
    ModelChanged,
}

/// What is shown and how.
#[derive(Clone, Debug)]
pub struct ViewState {
    /// The terminal's size, for layouts computed outside rendering (mouse, paging).
    pub width: u16,
    pub height: u16,
    pub screen: Screen,
    pub focus: Pane,
    pub help: bool,
    pub quit: bool,
    pub backend_sel: usize,
    pub backend_offset: usize,
    /// Calls of this backend only (Enter in the backends panel).
    pub backend_filter: Option<SocketAddr>,
    pub filter_text: String,
    /// The filter as it was before editing began (restored by Esc).
    filter_before: String,
    pub editing: bool,
    pub filter: Filter,
    pub sort: SortKey,
    pub descending: bool,
    /// Indices into `Model::calls` that pass the filters, in sort order.
    pub visible: Vec<usize>,
    /// Position of the selected call in `visible`.
    pub calls_sel: usize,
    pub calls_offset: usize,
    /// The call shown on the call screen (index into `Model::calls`).
    pub open: Option<usize>,
    pub tab: Tab,
    /// Scroll of the Headers and Frames tabs.
    pub detail_scroll: usize,
    /// Selected message, in the merged (both directions, by time) list.
    pub msg_sel: usize,
    /// Selected event on the timeline.
    pub cursor: usize,
    pub message_scroll: usize,
    /// The message screen's text, made once per message and width (drawing only reads it).
    pub message_text: super::ui::message::TextCache,
    /// Calls of the model already merged into `visible`.
    seen_calls: usize,
    /// `Model::evicted` when `visible` was last cleaned of evicted calls.
    seen_evicted: usize,
    /// The newest call stays selected as calls arrive (on by default for live capture);
    /// moving the selection elsewhere turns it off.
    pub following: bool,
    /// Updates wait instead of reaching the model (the `App` keeps them).
    pub paused: bool,
    /// Records (calls and connections) waiting while paused; kept up to date by the `App`.
    pub pending: usize,
}

impl ViewState {
    pub fn new(width: u16, height: u16) -> Self {
        ViewState {
            width,
            height,
            screen: Screen::Main,
            focus: Pane::Calls,
            help: false,
            quit: false,
            backend_sel: 0,
            backend_offset: 0,
            backend_filter: None,
            filter_text: String::new(),
            filter_before: String::new(),
            editing: false,
            filter: Filter::default(),
            sort: SortKey::Time,
            descending: false,
            visible: Vec::new(),
            calls_sel: 0,
            calls_offset: 0,
            open: None,
            tab: Tab::Headers,
            detail_scroll: 0,
            msg_sel: 0,
            cursor: 0,
            message_scroll: 0,
            message_text: Default::default(),
            seen_calls: 0,
            seen_evicted: 0,
            following: false,
            paused: false,
            pending: 0,
        }
    }

    pub fn area(&self) -> Rect {
        Rect::new(0, 0, self.width, self.height)
    }

    /// The selected call of the calls table (index into `Model::calls`).
    pub fn selected(&self) -> Option<usize> {
        self.visible.get(self.calls_sel).copied()
    }

    pub fn filters_active(&self) -> bool {
        self.backend_filter.is_some() || !self.filter.is_empty()
    }

    /// The one place the view changes.
    pub fn apply(&mut self, model: &Model, action: Action) {
        if self.help
            && !matches!(
                action,
                Action::Quit | Action::ToggleHelp | Action::Resize { .. } | Action::ModelChanged
            )
        {
            // Any input closes the help, and does nothing else.
            self.help = false;
            return;
        }
        match action {
            Action::Quit => self.quit = true,
            Action::Back => self.back(model),
            Action::ToggleHelp => self.help = !self.help,
            Action::Move(d) => self.move_by(model, self.focus, d),
            Action::Page(n) => {
                let page = self.page_rows(model, self.focus).max(1) as isize;
                self.move_by(model, self.focus, n * page);
            }
            Action::Top => self.move_by(model, self.focus, isize::MIN / 2),
            Action::Bottom => self.move_by(model, self.focus, isize::MAX / 2),
            Action::Left | Action::Right => {
                let d = if action == Action::Left { -1 } else { 1 };
                match (self.screen, self.focus) {
                    (Screen::Call, Pane::Detail) => {
                        let i = (self.tab.index() as isize + d).rem_euclid(3) as usize;
                        self.show_tab(Tab::ALL[i]);
                    }
                    (Screen::Call, Pane::Timeline) => self.move_by(model, Pane::Timeline, d),
                    (Screen::Message, _) => {
                        let n = self.open_messages(model);
                        if n > 0 {
                            self.msg_sel = step(self.msg_sel, d, n);
                            self.message_scroll = 0;
                        }
                    }
                    _ => {}
                }
            }
            Action::NextPane | Action::PrevPane => {
                self.focus = match (self.screen, self.focus) {
                    (Screen::Main, Pane::Backends) => Pane::Calls,
                    (Screen::Main, _) => Pane::Backends,
                    (Screen::Call, Pane::Timeline) => Pane::Detail,
                    (Screen::Call, _) => Pane::Timeline,
                    (Screen::Message, f) => f,
                };
            }
            Action::Enter => self.enter(model),
            Action::ShowTab(t) => {
                if self.screen == Screen::Call {
                    self.show_tab(t);
                    self.focus = Pane::Detail;
                }
            }
            Action::StartFilter => {
                self.editing = true;
                self.filter_before = self.filter_text.clone();
                if self.screen != Screen::Main {
                    self.screen = Screen::Main;
                }
                self.focus = Pane::Calls;
            }
            Action::FilterChar(c) => {
                self.filter_text.push(c);
                self.set_filter(model);
            }
            Action::FilterBackspace => {
                self.filter_text.pop();
                self.set_filter(model);
            }
            Action::FilterClearText => {
                self.filter_text.clear();
                self.set_filter(model);
            }
            Action::FilterSubmit => self.editing = false,
            Action::FilterCancel => {
                self.editing = false;
                self.filter_text = std::mem::take(&mut self.filter_before);
                self.set_filter(model);
            }
            Action::ClearFilters => self.clear_filters(model),
            Action::CycleSort => {
                self.sort = self.sort.next();
                self.descending = false;
                self.rebuild(model);
            }
            Action::ReverseSort => {
                self.descending = !self.descending;
                self.rebuild(model);
            }
            Action::Scroll { column, row, delta } => {
                if let Some(pane) = self.pane_at(model, column, row) {
                    if self.screen != Screen::Message {
                        self.focus = pane;
                    }
                    self.move_by(model, pane, delta);
                }
            }
            Action::Click { column, row } => self.click(model, column, row),
            Action::Resize { width, height } => {
                self.width = width;
                self.height = height;
                self.keep_visible(model);
            }
            Action::ToggleFollow => self.following = !self.following,
            Action::TogglePause => self.paused = !self.paused,
            Action::ModelChanged => self.merge_new(model),
        }
        if self.following {
            self.select_newest(model);
        }
    }

    /// Selects the call that arrived last among the visible ones (the highest index: calls
    /// are numbered as they arrive, whatever the sort order).
    fn select_newest(&mut self, model: &Model) {
        if let Some((pos, _)) = self.visible.iter().enumerate().max_by_key(|&(_, &i)| i)
            && pos != self.calls_sel
        {
            self.calls_sel = pos;
            self.keep_visible(model);
        }
    }

    /// Whether the selected call is the newest visible one.
    fn on_newest(&self) -> bool {
        self.selected() == self.visible.iter().max().copied()
    }

    fn back(&mut self, model: &Model) {
        if self.editing {
            self.apply(model, Action::FilterCancel);
            return;
        }
        match self.screen {
            Screen::Message => self.screen = Screen::Call,
            Screen::Call => {
                self.screen = Screen::Main;
                self.focus = Pane::Calls;
            }
            Screen::Main if self.filters_active() => self.clear_filters(model),
            Screen::Main => self.quit = true,
        }
    }

    fn enter(&mut self, model: &Model) {
        match (self.screen, self.focus) {
            (Screen::Main, Pane::Backends) => {
                let Some(b) = model.backends.get(self.backend_sel) else {
                    return;
                };
                self.backend_filter = if self.backend_filter == Some(b.server) {
                    None
                } else {
                    Some(b.server)
                };
                self.focus = Pane::Calls;
                self.rebuild(model);
                self.calls_sel = 0;
                self.calls_offset = 0;
            }
            (Screen::Main, _) => {
                if let Some(i) = self.selected() {
                    self.open = Some(i);
                    self.screen = Screen::Call;
                    self.focus = Pane::Detail;
                    self.detail_scroll = 0;
                    self.msg_sel = 0;
                    self.cursor = 0;
                }
            }
            (Screen::Call, Pane::Detail) if self.tab == Tab::Messages => {
                if self.open_messages(model) > 0 {
                    self.screen = Screen::Message;
                    self.message_scroll = 0;
                }
            }
            (Screen::Call, Pane::Timeline) => {
                // On a message mark: open that message.
                let Some(entry) = self.open.and_then(|i| model.call(i)) else {
                    return;
                };
                let events = timeline::events(entry);
                if let Some(timeline::Event {
                    kind: timeline::Kind::Message(pos),
                    ..
                }) = events.get(self.cursor)
                {
                    self.msg_sel = *pos;
                    self.screen = Screen::Message;
                    self.message_scroll = 0;
                }
            }
            (Screen::Call, _) => self.show_tab(Tab::Messages),
            (Screen::Message, _) => {}
        }
    }

    fn show_tab(&mut self, t: Tab) {
        if self.tab != t {
            self.tab = t;
            self.detail_scroll = 0;
        }
    }

    fn open_messages(&self, model: &Model) -> usize {
        self.open
            .and_then(|i| model.call(i))
            .and_then(|c| c.rec.grpc.as_ref())
            .map_or(0, |g| g.request_messages.len() + g.response_messages.len())
    }

    fn clear_filters(&mut self, model: &Model) {
        self.backend_filter = None;
        self.filter_text.clear();
        self.filter = Filter::default();
        self.rebuild(model);
    }

    fn set_filter(&mut self, model: &Model) {
        self.filter = Filter::parse(&self.filter_text);
        self.rebuild(model);
        self.calls_sel = 0;
        self.calls_offset = 0;
    }

    /// Rows a pane shows at once.
    fn page_rows(&self, model: &Model, pane: Pane) -> usize {
        let area = self.area();
        match (self.screen, pane) {
            (Screen::Main, Pane::Backends) => {
                layout::table_rows(layout::main(area, model).backends)
            }
            (Screen::Main, _) => layout::table_rows(layout::main(area, model).calls),
            (Screen::Call, _) => layout::call(area, model, self)
                .detail
                .height
                .saturating_sub(3) as usize,
            (Screen::Message, _) => layout::message(area).body.height.saturating_sub(2) as usize,
        }
    }

    fn move_by(&mut self, model: &Model, pane: Pane, d: isize) {
        match (self.screen, pane) {
            (Screen::Main, Pane::Backends) => {
                self.backend_sel = step(self.backend_sel, d, model.backends.len());
            }
            (Screen::Main, _) => {
                self.calls_sel = step(self.calls_sel, d, self.visible.len());
                // Moving away from the newest call (up, in time order) stops following.
                self.following &= self.on_newest();
            }
            (Screen::Call, Pane::Timeline) => {
                let n = self
                    .open
                    .and_then(|i| model.call(i))
                    .map_or(0, |c| timeline::events(c).len());
                self.cursor = step(self.cursor, d, n);
            }
            (Screen::Call, _) => match self.tab {
                Tab::Messages => self.msg_sel = step(self.msg_sel, d, self.open_messages(model)),
                Tab::Headers | Tab::Frames => {
                    let lines = self
                        .open
                        .and_then(|i| model.call(i))
                        .map_or(0, |c| super::ui::detail::line_count(model, c, self.tab));
                    let max = lines.saturating_sub(self.page_rows(model, Pane::Detail));
                    self.detail_scroll = step(self.detail_scroll, d, max + 1);
                }
            },
            (Screen::Message, _) => {
                let lines = self
                    .open
                    .and_then(|i| model.call(i).map(|c| (i, c)))
                    .map_or(0, |(i, c)| {
                        super::ui::message::MessageText::new(
                            c,
                            i,
                            self.msg_sel,
                            self.width.saturating_sub(2),
                            &self.message_text,
                        )
                        .len()
                    });
                let max = lines.saturating_sub(self.page_rows(model, Pane::Detail));
                self.message_scroll = step(self.message_scroll, d, max + 1);
            }
        }
        self.keep_visible(model);
    }

    /// Scrolls tables so their selection shows.
    fn keep_visible(&mut self, model: &Model) {
        if self.screen != Screen::Main {
            return;
        }
        let l = layout::main(self.area(), model);
        self.calls_offset = layout::scroll_offset(
            self.calls_sel,
            self.calls_offset,
            layout::table_rows(l.calls),
        );
        self.backend_offset = layout::scroll_offset(
            self.backend_sel,
            self.backend_offset,
            layout::table_rows(l.backends),
        );
    }

    /// Which pane is under a point.
    fn pane_at(&self, model: &Model, column: u16, row: u16) -> Option<Pane> {
        let p = Position::new(column, row);
        match self.screen {
            Screen::Main => {
                let l = layout::main(self.area(), model);
                if l.backends.contains(p) {
                    Some(Pane::Backends)
                } else if l.calls.contains(p) || l.preview.is_some_and(|r| r.contains(p)) {
                    Some(Pane::Calls)
                } else {
                    None
                }
            }
            Screen::Call => {
                let l = layout::call(self.area(), model, self);
                if l.timeline.contains(p) {
                    Some(Pane::Timeline)
                } else if l.detail.contains(p) {
                    Some(Pane::Detail)
                } else {
                    None
                }
            }
            Screen::Message => Some(Pane::Detail),
        }
    }

    fn click(&mut self, model: &Model, column: u16, row: u16) {
        let Some(pane) = self.pane_at(model, column, row) else {
            return;
        };
        match self.screen {
            Screen::Main => {
                let l = layout::main(self.area(), model);
                let (area, offset) = match pane {
                    Pane::Backends => (l.backends, self.backend_offset),
                    _ => (l.calls, self.calls_offset),
                };
                self.focus = pane;
                // Tables: a border row, then a header row.
                let Some(r) = row.checked_sub(area.y + 2) else {
                    return;
                };
                if usize::from(r) >= layout::table_rows(area) {
                    return;
                }
                let i = offset + usize::from(r);
                match pane {
                    Pane::Backends if i < model.backends.len() => {
                        let again = self.backend_sel == i;
                        self.backend_sel = i;
                        if again {
                            self.enter(model);
                        }
                    }
                    Pane::Calls if i < self.visible.len() => {
                        let again = self.calls_sel == i;
                        self.calls_sel = i;
                        self.following &= self.on_newest();
                        if again {
                            self.enter(model);
                        }
                    }
                    _ => {}
                }
            }
            Screen::Call => {
                self.focus = pane;
                let l = layout::call(self.area(), model, self);
                if pane == Pane::Detail && row == l.detail.y + 1 {
                    // The tab bar: " Headers │ Messages │ Frames ".
                    let x = usize::from(column.saturating_sub(l.detail.x + 1));
                    let mut start = 0;
                    for t in Tab::ALL {
                        let w = t.title().len() + 3;
                        if x < start + w {
                            self.show_tab(t);
                            break;
                        }
                        start += w;
                    }
                } else if pane == Pane::Timeline
                    && let Some(entry) = self.open.and_then(|i| model.call(i))
                    && let Some(i) = timeline::event_near(entry, l.timeline, column)
                {
                    self.cursor = i;
                }
            }
            Screen::Message => {}
        }
        self.keep_visible(model);
    }

    /// Recomputes the visible calls from scratch (filter or sort changed), keeping the
    /// selected call selected when it still passes.
    fn rebuild(&mut self, model: &Model) {
        let keep = self.selected();
        self.visible.clear();
        self.seen_calls = 0;
        self.merge_new(model);
        if let Some(pos) = keep.and_then(|k| self.visible.iter().position(|&i| i == k)) {
            self.calls_sel = pos;
        }
        self.keep_visible(model);
    }

    /// Merges the calls that arrived since the last look into the sorted visible list.
    fn merge_new(&mut self, model: &Model) {
        let keep = self.selected();
        let passes = |c: &CallEntry| {
            self.backend_filter.is_none_or(|s| c.rec.server == s) && self.filter.matches(model, c)
        };
        let evicted = model.evicted;
        if self.seen_evicted < evicted {
            self.seen_evicted = evicted;
            // Calls left the window: they leave the list (and the screen, if open).
            self.visible.retain(|&i| i >= evicted);
            if self.open.is_some_and(|i| i < evicted) {
                self.open = None;
                self.screen = Screen::Main;
                self.focus = Pane::Calls;
            }
        }
        let mut new: Vec<usize> = (self.seen_calls.max(evicted)..model.total_calls())
            .filter(|&i| model.call(i).is_some_and(passes))
            .collect();
        self.seen_calls = model.total_calls();
        if !new.is_empty() {
            let (sort, descending) = (self.sort, self.descending);
            // Sorting by name compares each name's rank among the distinct names.
            let ranks = if sort == SortKey::Method {
                let mut by_name: Vec<u32> = (0..model.names.len() as u32).collect();
                by_name.sort_by(|a, b| model.names[*a as usize].cmp(&model.names[*b as usize]));
                let mut ranks = vec![0u32; by_name.len()];
                for (rank, id) in by_name.into_iter().enumerate() {
                    ranks[id as usize] = rank as u32;
                }
                ranks
            } else {
                Vec::new()
            };
            let key = |i: usize| {
                let c = model.call(i).expect("visible calls are kept");
                (sort.value(model, &ranks, c), i)
            };
            let ordered = |a: &(SortValue, usize), b: &(SortValue, usize)| {
                if descending { b.cmp(a) } else { a.cmp(b) }
            };
            let mut keyed: Vec<(SortValue, usize)> = new.drain(..).map(key).collect();
            keyed.sort_unstable_by(ordered);
            // Where each new call goes among the old ones: a binary search each, then one
            // pass of copies. New calls mostly land at the end when sorted by time.
            let old = std::mem::take(&mut self.visible);
            let mut merged = Vec::with_capacity(old.len() + keyed.len());
            let mut from = 0;
            for k in &keyed {
                let at = from
                    + old[from..].partition_point(|&o| ordered(&key(o), k) != Ordering::Greater);
                merged.extend_from_slice(&old[from..at]);
                merged.push(k.1);
                from = at;
            }
            merged.extend_from_slice(&old[from..]);
            self.visible = merged;
            if let Some(pos) = keep.and_then(|k| self.visible.iter().position(|&i| i == k)) {
                self.calls_sel = pos;
            }
        }
        self.calls_sel = self.calls_sel.min(self.visible.len().saturating_sub(1));
        self.backend_sel = self.backend_sel.min(model.backends.len().saturating_sub(1));
        self.keep_visible(model);
    }
}

/// `i + d` within `0..n` (0 when empty).
fn step(i: usize, d: isize, n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    (i as isize).saturating_add(d).clamp(0, n as isize - 1) as usize
}

/// The action an input event stands for, given what the view is doing (typing a filter
/// takes every printable key).
pub fn action_for(event: &Event, view: &ViewState) -> Option<Action> {
    match event {
        Event::Key(k) if k.kind != KeyEventKind::Release => key_action(k, view),
        Event::Mouse(m) => mouse_action(m),
        Event::Resize(width, height) => Some(Action::Resize {
            width: *width,
            height: *height,
        }),
        _ => None,
    }
}

fn key_action(k: &KeyEvent, view: &ViewState) -> Option<Action> {
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && matches!(k.code, KeyCode::Char('c')) {
        return Some(Action::Quit);
    }
    if view.help {
        // Any key closes the help.
        return Some(Action::ToggleHelp);
    }
    if view.editing {
        return keys::lookup(keys::FILTER_KEYS, k.code, ctrl).or(match k.code {
            KeyCode::Char(c) if !ctrl => Some(Action::FilterChar(c)),
            _ => None,
        });
    }
    keys::lookup(keys::KEYS, k.code, ctrl)
}

fn mouse_action(m: &MouseEvent) -> Option<Action> {
    let (column, row) = (m.column, m.row);
    match m.kind {
        MouseEventKind::ScrollUp => Some(Action::Scroll {
            column,
            row,
            delta: -1,
        }),
        MouseEventKind::ScrollDown => Some(Action::Scroll {
            column,
            row,
            delta: 1,
        }),
        MouseEventKind::Down(MouseButton::Left) => Some(Action::Click { column, row }),
        _ => None,
    }
}
