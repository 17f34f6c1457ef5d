//! One gRPC message, whole: decoded JSON, or the schema-less reading and a hex dump.

use super::detail::{message_body, message_heading};
use super::fmt;
use crate::tui::app::ViewState;
use crate::tui::model::{CallEntry, Model};
use crate::tui::sanitize::sanitize;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

/// Cuts lines longer than `width` characters into several (JSON can hold long strings).
fn wrap(lines: Vec<Line<'static>>, width: u16) -> Vec<Line<'static>> {
    let width = usize::from(width.max(8));
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        if line.width() <= width {
            out.push(line);
            continue;
        }
        let mut current: Vec<Span<'static>> = Vec::new();
        let mut used = 0;
        for span in line.spans {
            let style = span.style;
            let mut chunk = String::new();
            for ch in span.content.chars() {
                if used == width {
                    if !chunk.is_empty() {
                        current.push(Span::styled(std::mem::take(&mut chunk), style));
                    }
                    out.push(Line::from(std::mem::take(&mut current)));
                    used = 0;
                }
                chunk.push(ch);
                used += 1;
            }
            if !chunk.is_empty() {
                current.push(Span::styled(chunk, style));
            }
        }
        if !current.is_empty() {
            out.push(Line::from(current));
        }
    }
    out
}

/// Everything the message screen shows for message `sel` of the call, wrapped to `width`.
pub fn lines(c: &CallEntry, sel: usize, width: u16) -> Vec<Line<'static>> {
    let msgs = c.messages();
    let Some((d, m)) = msgs.get(sel) else {
        return vec![Line::from("(no message)")];
    };
    let mut out = vec![Line::from(message_heading(c, *d, m))];
    let method = c
        .rec
        .grpc
        .as_ref()
        .and_then(|g| g.service.as_ref().zip(g.method.as_ref()))
        .map(|(s, m)| format!("{s}/{m}"))
        .unwrap_or_else(|| "?".to_string());
    out.push(Line::from(Span::styled(
        format!(
            "of {} on stream {} (connection {}), {} of {} messages, captured at {} UTC",
            sanitize(&method),
            c.rec.stream_id,
            c.rec.conn,
            sel + 1,
            msgs.len(),
            fmt::utc(m.ts)
        ),
        Style::new().fg(Color::Gray),
    )));
    out.push(Line::default());
    if !m.decoded() && m.raw.is_some() {
        out.push(Line::from(Span::styled(
            "Schema-less reading (no descriptor for this method, or the bytes do not parse as its type):",
            Style::new().fg(Color::Magenta),
        )));
    }
    out.extend(message_body(m, ""));
    if let Some(raw) = &m.raw {
        let bytes = &raw.bytes;
        out.push(Line::default());
        out.push(Line::from(Span::styled(
            format!("Bytes ({}):", bytes.len()),
            Style::new().add_modifier(Modifier::BOLD),
        )));
        out.extend(fmt::hexdump(bytes).into_iter().map(Line::from));
    }
    wrap(out, width)
}

pub fn render(f: &mut Frame, _model: &Model, view: &ViewState, c: &CallEntry, area: Rect) {
    let block = Block::bordered()
        .border_style(Style::new().fg(Color::Yellow))
        .title(Span::styled(
            " Message ",
            Style::new().add_modifier(Modifier::BOLD),
        ));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let lines: Vec<Line> = lines(c, view.msg_sel, inner.width)
        .into_iter()
        .skip(view.message_scroll)
        .take(usize::from(inner.height))
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}
