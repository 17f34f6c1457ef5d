//! Where each pane goes, as pure functions of the area and the model: rendering uses them
//! to draw and the view uses them to map mouse clicks and page sizes, so both agree.

use crate::tui::app::ViewState;
use crate::tui::model::Model;
use ratatui::layout::{Constraint, Layout, Rect};

/// Lines of the header at the top of every screen.
pub const HEADER: u16 = 2;
/// Height of the timeline pane without swimlanes: 5 lanes, the axis, a caption and borders.
pub const TIMELINE: u16 = 9;

pub struct MainLayout {
    pub header: Rect,
    pub backends: Rect,
    pub calls: Rect,
    /// The selected call's timeline, on tall terminals.
    pub preview: Option<Rect>,
    pub footer: Rect,
}

pub fn main(area: Rect, model: &Model) -> MainLayout {
    let rows = model.backends.len().max(1) as u16;
    let cap = if area.height >= 40 {
        area.height / 3
    } else {
        (area.height.saturating_sub(HEADER + 1) / 3).max(4)
    };
    let backends = (rows + 3).min(cap);
    let preview = if area.height >= 40 { TIMELINE } else { 0 };
    let [header, backends, calls, preview_area, footer] = Layout::vertical([
        Constraint::Length(HEADER),
        Constraint::Length(backends),
        Constraint::Min(3),
        Constraint::Length(preview),
        Constraint::Length(1),
    ])
    .areas(area);
    MainLayout {
        header,
        backends,
        calls,
        preview: (preview > 0).then_some(preview_area),
        footer,
    }
}

pub struct CallLayout {
    pub header: Rect,
    pub title: Rect,
    pub timeline: Rect,
    pub detail: Rect,
    pub footer: Rect,
}

/// Swimlanes (other streams of the connection) the timeline has room for.
pub fn swimlanes(area: Rect, model: &Model, view: &ViewState) -> usize {
    let room = usize::from(area.height.saturating_sub(30) / 2);
    let others = view
        .open
        .and_then(|i| model.call(i))
        .map_or(0, |c| super::timeline::concurrent(model, c).len());
    // The connection's own lane comes first, then one per other stream.
    room.min(others)
}

pub fn call(area: Rect, model: &Model, view: &ViewState) -> CallLayout {
    let lanes = swimlanes(area, model, view) as u16;
    let [header, title, timeline, detail, footer] = Layout::vertical([
        Constraint::Length(HEADER),
        Constraint::Length(2),
        Constraint::Length(TIMELINE + lanes),
        Constraint::Min(4),
        Constraint::Length(1),
    ])
    .areas(area);
    CallLayout {
        header,
        title,
        timeline,
        detail,
        footer,
    }
}

pub struct MessageLayout {
    pub header: Rect,
    pub body: Rect,
    pub footer: Rect,
}

pub fn message(area: Rect) -> MessageLayout {
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(HEADER),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    MessageLayout {
        header,
        body,
        footer,
    }
}

/// Data rows of a bordered table with a header row.
pub fn table_rows(area: Rect) -> usize {
    usize::from(area.height.saturating_sub(3))
}

/// The first row to show so that `sel` is visible, moving `offset` as little as possible.
pub fn scroll_offset(sel: usize, offset: usize, rows: usize) -> usize {
    if rows == 0 || sel < offset {
        sel
    } else if sel >= offset + rows {
        sel + 1 - rows
    } else {
        offset
    }
}
