//! The detail pane of a call: its header lists, its gRPC messages, its frames, as tabs.

use super::fmt;
use super::timeline::{dir_arrow, flag_names};
use crate::model::record::Role;
use crate::model::record::{HeaderField, Message, Text};
use crate::text::visible;
use crate::tui::app::{Pane, Tab, ViewState};
use crate::tui::model::{CallEntry, Model, error_code_name};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

/// Lines of a message's body shown in the Messages tab; the message screen shows all.
const MESSAGE_PREVIEW: usize = 30;

fn key(s: &str) -> Span<'static> {
    Span::styled(s.to_string(), Style::new().fg(Color::Cyan))
}

fn section(title: &str) -> Line<'static> {
    Line::from(Span::styled(
        title.to_string(),
        Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
    ))
}

fn field_line(f: &HeaderField) -> Line<'static> {
    let name = visible(&f.display_name());
    let value = match &f.value {
        Text::Known(v) => Span::raw(visible(v)),
        Text::Unknown => Span::styled("<unknown>", Style::new().fg(Color::DarkGray)),
    };
    let mut spans = vec![Span::raw("  "), key(&name), Span::raw(": "), value];
    if f.never_indexed {
        spans.push(Span::styled(
            "  (never indexed)",
            Style::new().fg(Color::DarkGray),
        ));
    }
    Line::from(spans)
}

fn header_list(out: &mut Vec<Line<'static>>, title: &str, list: Option<&Vec<HeaderField>>) {
    if let Some(list) = list {
        out.push(section(title));
        out.extend(list.iter().map(field_line));
    }
}

/// The Headers tab: who, when, status, then every header list.
pub fn header_lines(model: &Model, c: &CallEntry) -> Vec<Line<'static>> {
    let r = &c.rec;
    let mut out = Vec::new();
    let backend = model
        .backends
        .iter()
        .find(|b| b.server == r.server)
        .and_then(|b| b.label.as_deref())
        .map(|l| format!(" ({})", visible(l)))
        .unwrap_or_default();
    out.push(Line::from(vec![
        key("stream   "),
        Span::raw(format!(
            "{} on connection {}   {} → {}{backend}",
            r.stream_id, r.conn, r.client, r.server
        )),
    ]));
    out.push(Line::from(vec![
        key("time     "),
        Span::raw(format!(
            "{} UTC, {}, request {} in {} DATA, response {} in {} DATA{}",
            fmt::utc(r.start),
            fmt::duration(c.duration_ns()),
            fmt::bytes(r.bytes[0]),
            r.data_frames[0],
            fmt::bytes(r.bytes[1]),
            r.data_frames[1],
            if r.complete { "" } else { ", incomplete" }
        )),
    ]));
    if let Some(g) = &r.grpc {
        let name = match (&g.service, &g.method) {
            (Some(s), Some(m)) => format!("{s}/{m}"),
            _ => "?".to_string(),
        };
        out.push(Line::from(vec![
            key("gRPC     "),
            Span::raw(format!(
                "{}  {}{}",
                visible(&name),
                visible(&g.protocol),
                g.encoding
                    .as_deref()
                    .map(|e| format!(", {}", visible(e)))
                    .unwrap_or_default()
            )),
        ]));
        let status = match (g.status_name, g.status) {
            (Some(n), Some(c)) => format!("{n} ({c})"),
            (None, Some(c)) => c.to_string(),
            _ => "none".to_string(),
        };
        let color = if g.status == Some(0) {
            Color::Green
        } else {
            Color::Red
        };
        let mut spans = vec![
            key("status   "),
            Span::styled(status, Style::new().fg(color).add_modifier(Modifier::BOLD)),
        ];
        if let Some(m) = g.message.as_deref().filter(|m| !m.is_empty()) {
            spans.push(Span::raw(format!("  \"{}\"", visible(m))));
        }
        out.push(Line::from(spans));
        if let Some(e) = &g.error {
            out.push(Line::from(vec![
                key("error    "),
                Span::styled(visible(e), Style::new().fg(Color::Red)),
            ]));
        }
        if let Some(d) = &g.status_details {
            out.push(Line::from(vec![
                key("details  "),
                Span::raw(visible(&d.to_string())),
            ]));
        }
    } else if let Some(s) = c.http_status() {
        out.push(Line::from(vec![key("status   "), Span::raw(s.to_string())]));
    }
    if let Some((from, code)) = r.reset {
        out.push(Line::from(vec![
            key("reset    "),
            Span::styled(
                format!(
                    "RST_STREAM {} from the {}",
                    error_code_name(code),
                    if from == Role::Client {
                        "client"
                    } else {
                        "server"
                    }
                ),
                Style::new().fg(Color::Red),
            ),
        ]));
    }
    header_list(&mut out, "Request headers", r.request_headers.as_ref());
    header_list(&mut out, "Request trailers", r.request_trailers.as_ref());
    for info in &r.informational {
        header_list(&mut out, "Informational response", Some(info));
    }
    header_list(&mut out, "Response headers", r.response_headers.as_ref());
    header_list(&mut out, "Trailers", r.trailers.as_ref());
    if !r.anomalies.is_empty() {
        out.push(section("Anomalies"));
        for a in &r.anomalies {
            out.push(Line::from(Span::styled(
                format!("  {}", visible(&a.text)),
                Style::new().fg(Color::Yellow),
            )));
        }
    }
    out
}

/// The Frames tab: one line per frame of the stream.
pub fn frame_lines(c: &CallEntry) -> Vec<Line<'static>> {
    let mut out = vec![Line::from(Span::styled(
        format!(
            "{:>6} {:>10}  {:<13}  {:<13} {:>7}  {:<22} {:>7}",
            "#", "time", "from", "type", "length", "flags", "packet"
        ),
        Style::new().add_modifier(Modifier::BOLD),
    ))];
    if c.rec.frames.is_empty() {
        out.push(Line::from("  (no frames recorded)"));
    }
    for f in &c.rec.frames {
        out.push(Line::from(format!(
            "{:>6} {:>10}  {:<13}  {:<13} {:>7}  {:<22} {:>7}",
            f.index,
            format!("+{}", fmt::duration(f.ts.saturating_sub(c.rec.start))),
            dir_arrow(f.from),
            f.kind.name(),
            f.length,
            flag_names(f.kind, f.flags),
            f.packet
        )));
    }
    out
}

/// A message's heading: direction, index, time, size, flags.
pub fn message_heading(c: &CallEntry, d: Role, m: &Message) -> Vec<Span<'static>> {
    let (arrow, what) = match d {
        Role::Client => ("→", "request"),
        Role::Server => ("←", "response"),
    };
    let index = if m.index == u32::MAX {
        "(framing lost)".to_string()
    } else {
        format!("#{}", m.index)
    };
    let mut spans = vec![
        Span::styled(
            format!("{arrow} {what} {index}"),
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!(
            "  +{}  {}",
            fmt::duration(m.ts.saturating_sub(c.rec.start)),
            fmt::bytes(u64::from(m.size))
        )),
    ];
    if m.compressed {
        spans.push(Span::raw("  compressed"));
    }
    if !m.decoded() && m.raw.is_some() {
        spans.push(Span::styled(
            "  schema-less",
            Style::new().fg(Color::Magenta),
        ));
    }
    spans
}

/// A JSON value as pretty, escaped (`text::visible`), lightly coloured lines.
pub fn json_lines(v: &serde_json::Value, indent: &str) -> Vec<Line<'static>> {
    let text = serde_json::to_string_pretty(v).unwrap_or_default();
    text.lines()
        .map(|l| {
            let l = visible(l);
            let trimmed = l.trim_start();
            let pad = &l[..l.len() - trimmed.len()];
            // `"key": value`: colour the key.
            if let Some(end) = trimmed
                .strip_prefix('"')
                .and_then(|rest| rest.find("\": ").map(|i| i + 2))
            {
                let (k, rest) = trimmed.split_at(end);
                Line::from(vec![
                    Span::raw(format!("{indent}{pad}")),
                    key(k),
                    Span::raw(rest.to_string()),
                ])
            } else {
                Line::from(format!("{indent}{l}"))
            }
        })
        .collect()
}

/// A message's body: decoded JSON, else the schema-less reading.
pub fn message_body(m: &Message, indent: &str) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    if let Some(e) = &m.error {
        out.push(Line::from(Span::styled(
            format!("{indent}! {}", visible(e)),
            Style::new().fg(Color::Red),
        )));
    }
    if let Some(j) = m.json_value() {
        out.extend(json_lines(&j, indent));
    } else if let Some(raw) = &m.raw {
        match raw.fields() {
            Some(tree) => out.extend(json_lines(&tree, indent)),
            None => out.push(Line::from(format!("{indent}(not protobuf)"))),
        }
    } else if m.error.is_none() {
        out.push(Line::from(format!("{indent}(body not kept)")));
    }
    out
}

/// The Messages tab from message `from` on, until at least `rows` lines are made (the tab
/// scrolls by message: earlier ones are off screen), and which line is highlighted (the
/// first, message `from`'s heading, when it exists). A streaming call can hold thousands
/// of messages; only those on screen are pretty-printed.
pub fn message_lines(
    c: &CallEntry,
    from: usize,
    rows: usize,
) -> (Vec<Line<'static>>, Option<usize>) {
    let mut out = Vec::new();
    let msgs = c.messages();
    if msgs.is_empty() {
        out.push(Line::from(if c.rec.grpc.is_some() {
            "  (no messages)"
        } else {
            "  (not a gRPC call)"
        }));
        return (out, None);
    }
    let (start, highlight) = if from < msgs.len() {
        (from, Some(0))
    } else {
        (0, None)
    };
    for &(d, m) in &msgs[start..] {
        if out.len() >= rows {
            break;
        }
        out.push(Line::from(message_heading(c, d, m)));
        let body = message_body(m, "    ");
        let more = body.len().saturating_sub(MESSAGE_PREVIEW);
        out.extend(body.into_iter().take(MESSAGE_PREVIEW));
        if more > 0 {
            out.push(Line::from(Span::styled(
                format!("    … {more} more lines (Enter opens the message)"),
                Style::new().fg(Color::DarkGray),
            )));
        }
    }
    (out, highlight)
}

pub fn line_count(model: &Model, c: &CallEntry, tab: Tab) -> usize {
    match tab {
        Tab::Headers => header_lines(model, c).len(),
        Tab::Messages => message_lines(c, 0, usize::MAX).0.len(),
        Tab::Frames => frame_lines(c).len(),
    }
}

pub fn render(f: &mut Frame, model: &Model, view: &ViewState, c: &CallEntry, area: Rect) {
    let focused = view.focus == Pane::Detail;
    let border = if focused { Color::Yellow } else { Color::Gray };
    let block = Block::bordered()
        .border_style(Style::new().fg(border))
        .title(Span::styled(
            " Detail ",
            Style::new().add_modifier(Modifier::BOLD),
        ));
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    let mut tabs = Vec::new();
    for (i, t) in Tab::ALL.iter().enumerate() {
        if i > 0 {
            tabs.push(Span::styled("│", Style::new().fg(Color::DarkGray)));
        }
        let style = if *t == view.tab {
            Style::new()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().fg(Color::Gray)
        };
        tabs.push(Span::styled(format!(" {} ", t.title()), style));
    }
    let counts = c
        .message_counts()
        .map(|(a, b)| {
            format!(
                "   {a} request / {b} response messages, {} frames",
                c.rec.frames.len()
            )
        })
        .unwrap_or_else(|| format!("   {} frames", c.rec.frames.len()));
    tabs.push(Span::styled(counts, Style::new().fg(Color::DarkGray)));
    f.render_widget(
        Paragraph::new(Line::from(tabs)),
        Rect { height: 1, ..inner },
    );
    let body = Rect {
        y: inner.y + 1,
        height: inner.height - 1,
        ..inner
    };
    let (lines, scroll, highlight) = match view.tab {
        Tab::Headers => (header_lines(model, c), view.detail_scroll, None),
        Tab::Frames => (frame_lines(c), view.detail_scroll, None),
        Tab::Messages => {
            let (lines, highlight) = message_lines(c, view.msg_sel, usize::from(body.height));
            (lines, 0, highlight)
        }
    };
    let lines: Vec<Line> = lines
        .into_iter()
        .enumerate()
        .skip(scroll)
        .take(usize::from(body.height))
        .map(|(i, l)| {
            if Some(i) == highlight {
                l.style(Style::new().add_modifier(Modifier::REVERSED))
            } else {
                l
            }
        })
        .collect();
    f.render_widget(Paragraph::new(lines), body);
}
