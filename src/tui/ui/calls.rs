//! The calls table: one row per call (HTTP/2 stream), filtered and sorted by the view.

use super::fmt;
use super::layout;
use crate::model::record::Timestamp;
use crate::text::visible;
use crate::tui::app::{Pane, Screen, SortKey, ViewState};
use crate::tui::model::{CallEntry, Model};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Row, Table};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Col {
    Time,
    Backend,
    Client,
    Method,
    Status,
    Duration,
    Request,
    Response,
    Messages,
}

impl Col {
    fn title(self) -> &'static str {
        match self {
            Col::Time => "Time",
            Col::Backend => "Backend",
            Col::Client => "Client",
            Col::Method => "Method / path",
            Col::Status => "Status",
            Col::Duration => "Duration",
            Col::Request => "Req",
            Col::Response => "Resp",
            Col::Messages => "Msgs",
        }
    }

    fn sort_key(self) -> Option<SortKey> {
        Some(match self {
            Col::Time => SortKey::Time,
            Col::Backend => SortKey::Backend,
            Col::Method => SortKey::Method,
            Col::Status => SortKey::Status,
            Col::Duration => SortKey::Duration,
            Col::Request => SortKey::Request,
            Col::Response => SortKey::Response,
            Col::Client | Col::Messages => return None,
        })
    }

    fn right(self) -> bool {
        matches!(
            self,
            Col::Time | Col::Duration | Col::Request | Col::Response | Col::Messages
        )
    }
}

/// Columns for a width: the narrowest terminal keeps what answers "who served what, how".
fn columns(width: u16) -> Vec<(Col, Constraint)> {
    let mut v = vec![(Col::Time, Constraint::Length(7))];
    if width >= 140 {
        v.push((Col::Backend, Constraint::Length(16)));
        v.push((Col::Client, Constraint::Length(21)));
    } else if width >= 100 {
        v.push((Col::Backend, Constraint::Length(15)));
    } else {
        v.push((Col::Backend, Constraint::Length(10)));
    }
    v.push((Col::Method, Constraint::Min(12)));
    let status = if width >= 100 { 18 } else { 11 };
    v.push((Col::Status, Constraint::Length(status)));
    v.push((Col::Duration, Constraint::Length(8)));
    v.push((Col::Request, Constraint::Length(6)));
    v.push((Col::Response, Constraint::Length(6)));
    if width >= 100 {
        v.push((Col::Messages, Constraint::Length(5)));
    }
    v
}

/// Time zero of the capture: its first packet (or the first call while that is unknown).
pub fn t0(model: &Model) -> Timestamp {
    model
        .progress
        .first_ts
        .or_else(|| model.calls().map(|c| c.rec.start).min())
        .unwrap_or_default()
}

fn cell(model: &Model, c: &CallEntry, col: Col, width: u16, t0: Timestamp) -> Cell<'static> {
    let text = match col {
        Col::Time => fmt::offset(c.rec.start, t0),
        Col::Backend => visible(&model.backend_name(c.rec.server)),
        Col::Client => c.rec.client.to_string(),
        Col::Method => visible(&c.name(width >= 140)),
        Col::Status => {
            let style = if c.is_error() {
                Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
            } else if c.grpc_status() == Some(0) || c.http_status().is_some_and(|s| s < 400) {
                Style::new().fg(Color::Green)
            } else {
                Style::new().fg(Color::Yellow)
            };
            return Cell::from(Span::styled(visible(&c.status_text()), style));
        }
        Col::Duration => fmt::duration(c.duration_ns()),
        Col::Request => fmt::bytes(c.rec.bytes[0]),
        Col::Response => fmt::bytes(c.rec.bytes[1]),
        Col::Messages => c
            .message_counts()
            .map_or("-".to_string(), |(a, b)| format!("{a}/{b}")),
    };
    let line = Line::from(text);
    Cell::from(if col.right() {
        line.right_aligned()
    } else {
        line
    })
}

pub fn render(f: &mut Frame, model: &Model, view: &ViewState, area: Rect) {
    let focused = view.screen == Screen::Main && view.focus == Pane::Calls;
    let border = if focused { Color::Yellow } else { Color::Gray };
    let arrow = if view.descending { "↓" } else { "↑" };
    let mut title = vec![
        Span::styled(" Calls ", Style::new().add_modifier(Modifier::BOLD)),
        Span::raw(format!(
            "{}/{} ",
            fmt::count(view.visible.len() as u64),
            fmt::count(model.kept_calls() as u64)
        )),
    ];
    if view.filters_active() {
        title.push(Span::styled("(filtered) ", Style::new().fg(Color::Yellow)));
    }
    if view.following {
        title.push(Span::styled("following ", Style::new().fg(Color::Cyan)));
    }
    title.push(Span::styled(
        format!("sorted by {} {arrow} ", view.sort.title()),
        Style::new().fg(Color::Gray),
    ));
    let block = Block::bordered()
        .border_style(Style::new().fg(border))
        .title(Line::from(title));
    let cols = columns(area.width);
    let t0 = t0(model);
    let rows_shown = layout::table_rows(area);
    let offset = layout::scroll_offset(view.calls_sel, view.calls_offset, rows_shown);
    let rows = view
        .visible
        .iter()
        .enumerate()
        .skip(offset)
        .take(rows_shown)
        .filter_map(|(pos, &i)| {
            let c = model.call(i)?;
            let row = Row::new(
                cols.iter()
                    .map(|(col, _)| cell(model, c, *col, area.width, t0)),
            );
            Some(if pos == view.calls_sel {
                row.style(if focused {
                    Style::new().add_modifier(Modifier::REVERSED)
                } else {
                    Style::new().add_modifier(Modifier::UNDERLINED)
                })
            } else {
                row
            })
        });
    let header = Row::new(cols.iter().map(|(col, _)| {
        let sorted = col.sort_key() == Some(view.sort);
        let title = if sorted {
            format!("{}{arrow}", col.title())
        } else {
            col.title().to_string()
        };
        let style = if sorted {
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD)
        } else {
            Style::new().fg(Color::Gray).add_modifier(Modifier::BOLD)
        };
        let line = Line::from(Span::styled(title, style));
        Cell::from(if col.right() {
            line.right_aligned()
        } else {
            line
        })
    }));
    let table = Table::new(rows, cols.iter().map(|(_, w)| *w))
        .header(header)
        .block(block);
    f.render_widget(table, area);
    if view.visible.is_empty() {
        let inner = Block::bordered().inner(area);
        if inner.height > 1 {
            let msg = if model.kept_calls() == 0 {
                "  (no HTTP/2 streams yet)"
            } else {
                "  (no call matches the filter: Esc or c clears it)"
            };
            f.render_widget(
                Line::from(Span::styled(msg, Style::new().fg(Color::DarkGray))),
                Rect {
                    y: inner.y + 1,
                    height: 1,
                    ..inner
                },
            );
        }
    }
}
