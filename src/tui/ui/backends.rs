//! The backends panel: which server served how many calls, as a share bar, with errors,
//! latency and connections; the title says whether the spread is even.

use super::fmt;
use super::layout;
use crate::text::visible;
use crate::tui::app::{Pane, Screen, ViewState};
use crate::tui::model::{Model, Spread};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Row, Table};

/// The verdict in the panel's title.
fn verdict(model: &Model) -> Span<'static> {
    let warn = Style::new()
        .fg(Color::Black)
        .bg(Color::Yellow)
        .add_modifier(Modifier::BOLD);
    match model.spread() {
        Spread::Empty => Span::styled(" no calls yet", Style::new().fg(Color::Gray)),
        Spread::Single { calls, conns } => Span::styled(
            format!(
                " ⚠ all {calls} {} on one backend, over {conns} {} ",
                fmt::plural(calls, "call", "calls"),
                fmt::plural(conns as u64, "connection", "connections")
            ),
            warn,
        ),
        Spread::Even { backends } => Span::styled(
            format!(" even spread over {backends} backends"),
            Style::new().fg(Color::Green),
        ),
        Spread::Uneven {
            server,
            share,
            fair,
        } => Span::styled(
            format!(
                " ⚠ uneven: {} has {:.0}% of calls (fair share {:.0}%) ",
                visible(&model.backend_name(server)),
                share * 100.0,
                fair * 100.0
            ),
            warn,
        ),
    }
}

/// A bar of `width` cells filled to `share` (0..=1), in eighths.
fn bar(share: f64, width: usize) -> String {
    const PARTS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    let eighths = (share.clamp(0.0, 1.0) * width as f64 * 8.0).round() as usize;
    let mut s = "█".repeat(eighths / 8);
    if !eighths.is_multiple_of(8) {
        s.push(PARTS[eighths % 8]);
    }
    let used = s.chars().count();
    s.push_str(&"·".repeat(width.saturating_sub(used)));
    s
}

pub fn render(f: &mut Frame, model: &Model, view: &ViewState, area: Rect) {
    let focused = view.screen == Screen::Main && view.focus == Pane::Backends;
    let border = if focused { Color::Yellow } else { Color::Gray };
    let conns: u64 = model.backends.iter().map(|b| b.connections()).sum();
    let block = Block::bordered()
        .border_style(Style::new().fg(border))
        .title(Line::from(vec![
            Span::styled(" Backends ", Style::new().add_modifier(Modifier::BOLD)),
            Span::raw("·"),
            verdict(model),
            Span::raw(" "),
        ]))
        .title_bottom(Line::from(Span::styled(
            format!(
                " {} {} · {} HTTP/2 {} · Enter: only its calls ",
                model.backends.len(),
                fmt::plural(model.backends.len() as u64, "backend", "backends"),
                conns,
                fmt::plural(conns, "connection", "connections")
            ),
            Style::new().fg(Color::DarkGray),
        )));
    let total = model.total_backend_calls();
    let fair = 1.0 / model.backends.len().max(1) as f64;
    let single = matches!(model.spread(), Spread::Single { .. });
    let has_labels = model.backends.iter().any(|b| b.label.is_some());
    let wide = area.width >= 120;
    let addr_width = model
        .backends
        .iter()
        .map(|b| b.server.to_string().len() + 2)
        .max()
        .unwrap_or(15)
        .clamp(15, 48) as u16;
    let label_width = if has_labels {
        model
            .backends
            .iter()
            .filter_map(|b| b.label.as_ref())
            .map(|l| visible(l).chars().count())
            .max()
            .unwrap_or(0)
            .clamp(5, if wide { 24 } else { 12 }) as u16
    } else {
        0
    };
    // What is left for the bar once the other columns (and the 1-cell gaps) are placed.
    let fixed = addr_width + if has_labels { label_width + 1 } else { 0 } + 6 + 6 + 8 + 8 + 5 + 6;
    let share_width = area.width.saturating_sub(2 + fixed).max(10);
    let rows_shown = layout::table_rows(area);
    let offset = layout::scroll_offset(view.backend_sel, view.backend_offset, rows_shown);
    let rows = model
        .backends
        .iter()
        .enumerate()
        .skip(offset)
        .take(rows_shown)
        .map(|(i, b)| {
            let share = if total == 0 {
                0.0
            } else {
                b.calls as f64 / total as f64
            };
            let off = total > 0 && (single || share > 1.5 * fair || share < 0.5 * fair);
            let bar_color = if off { Color::Yellow } else { Color::Green };
            let marker = if view.backend_filter == Some(b.server) {
                "» "
            } else {
                ""
            };
            let width = usize::from(share_width).saturating_sub(5).min(60);

            let mut cells = vec![Cell::from(format!("{marker}{}", b.server))];
            if has_labels {
                cells.push(Cell::from(visible(b.label.as_deref().unwrap_or("-"))));
            }
            cells.extend([
                Cell::from(Line::from(fmt::count(b.calls)).right_aligned()),
                Cell::from(Line::from(vec![
                    Span::raw(format!("{:>3.0}% ", share * 100.0)),
                    Span::styled(bar(share, width), Style::new().fg(bar_color)),
                ])),
                Cell::from(Line::from(fmt::count(b.errors)).right_aligned().style(
                    if b.errors > 0 {
                        Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
                    } else {
                        Style::new()
                    },
                )),
                Cell::from(Line::from(b.p50.map_or("-".into(), fmt::duration)).right_aligned()),
                Cell::from(Line::from(b.p99.map_or("-".into(), fmt::duration)).right_aligned()),
                Cell::from(Line::from(b.connections().to_string()).right_aligned()),
            ]);
            let mut row = Row::new(cells);
            if i == view.backend_sel && focused {
                row = row.style(Style::new().add_modifier(Modifier::REVERSED));
            } else if view.backend_filter == Some(b.server) {
                row = row.style(Style::new().add_modifier(Modifier::BOLD));
            }
            row
        });
    let mut header = vec!["Backend"];
    let mut widths = vec![Constraint::Length(addr_width)];
    if has_labels {
        header.push("Label");
        widths.push(Constraint::Length(label_width));
    }
    header.extend(["Calls", "Share", "Errors", "p50", "p99", "Conns"]);
    widths.extend([
        Constraint::Length(6),
        Constraint::Fill(1),
        Constraint::Length(6),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Length(5),
    ]);
    let header = Row::new(header.into_iter().map(|h| {
        let l = Line::from(h);
        Cell::from(
            if matches!(h, "Calls" | "Errors" | "p50" | "p99" | "Conns") {
                l.right_aligned()
            } else {
                l
            },
        )
    }))
    .style(Style::new().add_modifier(Modifier::BOLD).fg(Color::Gray));
    let table = Table::new(rows, widths).header(header).block(block);
    f.render_widget(table, area);
    if model.backends.is_empty() {
        let inner = Block::bordered().inner(area);
        if inner.height > 1 {
            f.render_widget(
                Line::from(Span::styled(
                    "  (no HTTP/2 server yet)",
                    Style::new().fg(Color::DarkGray),
                )),
                Rect {
                    y: inner.y + 1,
                    height: 1,
                    ..inner
                },
            );
        }
    }
}
