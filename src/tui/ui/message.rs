//! One gRPC message, whole: decoded JSON, or the schema-less reading and a hex dump.

use super::detail::{message_body, message_heading};
use super::fmt;
use crate::model::record::Message;
use crate::model::record::Role;
use crate::text::visible;
use crate::tui::app::ViewState;
use crate::tui::model::{CallEntry, Model};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use std::cell::RefCell;
use std::rc::Rc;

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

/// The text of the message last shown (call, message, width), kept between draws: a large
/// message's pretty JSON takes longer to make than a frame should, and the screen is drawn
/// (and its rows counted) on every key press. Calls do not change once in the model, and
/// their indices are never reused, so the key says whether it still holds.
#[derive(Clone, Default)]
pub struct TextCache(RefCell<Option<(TextKey, Rc<Vec<Line<'static>>>)>>);

/// Call index, message, width.
type TextKey = (usize, usize, u16);

// Only the key: the text can be megabytes of lines.
impl std::fmt::Debug for TextCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("TextCache").field(&self.key()).finish()
    }
}

impl TextCache {
    /// Which text it holds: (call index, message, width).
    pub fn key(&self) -> Option<TextKey> {
        self.0.borrow().as_ref().map(|(k, _)| *k)
    }
}

/// What the message screen shows for one message: its text (heading, body, wrapped), then
/// the hex dump of its bytes, whose rows are made only when on screen: a 16 MiB body is a
/// million dump lines, and the screen is drawn on every key press.
pub struct MessageText<'a> {
    head: Rc<Vec<Line<'static>>>,
    bytes: &'a [u8],
    /// The wrapping width ([`wrap`]'s).
    width: usize,
}

impl<'a> MessageText<'a> {
    /// Message `sel` of call `index` (`c`), wrapped to `width`; its text from `cache` when
    /// that holds it, else made and left there.
    pub fn new(c: &'a CallEntry, index: usize, sel: usize, width: u16, cache: &TextCache) -> Self {
        let key = (index, sel, width);
        let msgs = c.messages();
        let bytes = msgs
            .get(sel)
            .and_then(|(_, m)| m.raw.as_ref())
            .map_or(&[][..], |r| r.bytes.as_slice());
        let cached = match &*cache.0.borrow() {
            Some((k, head)) if *k == key => Some(Rc::clone(head)),
            _ => None,
        };
        let head = cached.unwrap_or_else(|| {
            let head = Rc::new(Self::head(c, &msgs, sel, width));
            *cache.0.borrow_mut() = Some((key, Rc::clone(&head)));
            head
        });
        MessageText {
            head,
            bytes,
            width: usize::from(width.max(8)),
        }
    }

    /// The rows before the dump.
    fn head(
        c: &CallEntry,
        msgs: &[(Role, &Message)],
        sel: usize,
        width: u16,
    ) -> Vec<Line<'static>> {
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
                visible(&method),
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
            out.push(Line::default());
            out.push(Line::from(Span::styled(
                format!("Bytes ({}):", raw.bytes.len()),
                Style::new().add_modifier(Modifier::BOLD),
            )));
        }
        wrap(out, width)
    }

    /// Screen rows of a dump line of `n` characters.
    fn rows(&self, n: usize) -> usize {
        n.div_ceil(self.width)
    }

    /// Rows in all.
    pub fn len(&self) -> usize {
        let full = self.bytes.len() / 16;
        let last = self.bytes.len() % 16;
        let dump = full * self.rows(fmt::hexdump_width(16))
            + if last > 0 {
                self.rows(fmt::hexdump_width(last))
            } else {
                0
            };
        self.head.len() + dump
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rows `skip..skip + take`.
    pub fn window(&self, skip: usize, take: usize) -> Vec<Line<'static>> {
        let mut out: Vec<Line<'static>> = self.head.iter().skip(skip).take(take).cloned().collect();
        // Every dump line but the last has 16 bytes, so the same number of rows: the first
        // line on screen is found by division.
        let mut skip = skip.saturating_sub(self.head.len());
        let per_line = self.rows(fmt::hexdump_width(16));
        let full = self.bytes.len() / 16;
        let mut i = if skip >= full * per_line {
            skip -= full * per_line;
            full
        } else {
            let i = skip / per_line;
            skip %= per_line;
            i
        };
        while out.len() < take && i * 16 < self.bytes.len() {
            let chunk = &self.bytes[i * 16..self.bytes.len().min(i * 16 + 16)];
            let line = Line::from(fmt::hexdump_line(i * 16, chunk));
            let rows = wrap(vec![line], self.width as u16);
            let room = take - out.len();
            out.extend(rows.into_iter().skip(skip).take(room));
            skip = 0;
            i += 1;
        }
        out
    }
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
    let Some(index) = view.open else {
        return;
    };
    let lines = MessageText::new(c, index, view.msg_sel, inner.width, &view.message_text)
        .window(view.message_scroll, usize::from(inner.height));
    f.render_widget(Paragraph::new(lines), inner);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(l: &Line) -> String {
        l.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    /// Windows of the dump made row by row are the rows of the whole text, wrapped.
    #[test]
    fn windows_are_the_whole_text_wrapped() {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(16 * 9 + 5).collect();
        for width in [8u16, 20, 61, 77, 78, 79, 200] {
            for n in [0, 1, 15, 16, 17, 32, bytes.len()] {
                let head = wrap(
                    vec![Line::from("heading"), Line::from("x".repeat(100))],
                    width,
                );
                let t = MessageText {
                    head: Rc::new(head.clone()),
                    bytes: &bytes[..n],
                    width: usize::from(width.max(8)),
                };
                let dump = bytes[..n]
                    .chunks(16)
                    .enumerate()
                    .map(|(i, c)| Line::from(fmt::hexdump_line(i * 16, c)))
                    .collect();
                let whole: Vec<String> = head.iter().chain(&wrap(dump, width)).map(text).collect();
                assert_eq!(t.len(), whole.len(), "width {width}, {n} bytes");
                for skip in 0..whole.len() + 2 {
                    for take in [0, 1, 3, 7, 40] {
                        let got: Vec<String> = t.window(skip, take).iter().map(text).collect();
                        let want: Vec<String> =
                            whole.iter().skip(skip).take(take).cloned().collect();
                        assert_eq!(got, want, "width {width}, {n} bytes, rows {skip}+{take}");
                    }
                }
            }
        }
    }
}
