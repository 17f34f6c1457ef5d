//! A call on a time axis: one lane per direction for its HTTP/2 frames and one for its gRPC
//! messages, a lane for the connection's own frames (PING, SETTINGS, GOAWAY,
//! WINDOW_UPDATE on stream 0) and, room permitting, one swimlane per other stream of the
//! connection that overlapped it.
//!
//! ```text
//! ┌ Timeline 0.820ms ───────────────────────────────┐
//! │client→ H·D······················W···            │
//! │   msgs ●······························            │
//! │←server ·····H··D···························T    │
//! │   msgs ········●··························    │
//! │   conn ··P························                │
//! │        0               0.410ms           0.820ms│
//! │H headers D data T trailers W window R reset ● message
//! ```

use super::fmt;
use crate::model::record::FrameRecord;
use crate::model::record::Role;
use crate::model::record::Timestamp;
use crate::model::record::{FrameType, Message};
use crate::tui::model::{CallEntry, Model};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

/// Width of the lane labels.
const LABEL: u16 = 8;

/// Something on the call's axis that the cursor can land on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Index into the stream's frames.
    Frame(usize),
    /// Position in `CallEntry::messages`.
    Message(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    pub ts: Timestamp,
    pub dir: Role,
    pub kind: Kind,
}

/// The call's frames and messages, by time.
pub fn events(c: &CallEntry) -> Vec<Event> {
    let mut v: Vec<Event> = c
        .rec
        .frames
        .iter()
        .enumerate()
        .map(|(i, f)| Event {
            ts: f.ts,
            dir: f.from,
            kind: Kind::Frame(i),
        })
        .chain(c.messages().iter().enumerate().map(|(i, (d, m))| Event {
            ts: m.ts,
            dir: *d,
            kind: Kind::Message(i),
        }))
        .collect();
    v.sort_by_key(|e| {
        (
            e.ts,
            matches!(e.kind, Kind::Message(_)),
            match e.kind {
                Kind::Frame(i) | Kind::Message(i) => i,
            },
        )
    });
    v
}

/// Other calls of the same connection whose lifetime overlapped this one, by start.
pub fn concurrent<'a>(model: &'a Model, c: &CallEntry) -> Vec<&'a CallEntry> {
    let Some(ids) = model.by_conn.get(&c.rec.conn) else {
        return Vec::new();
    };
    let mut v: Vec<&CallEntry> = ids
        .iter()
        .filter_map(|&i| model.call(i))
        .filter(|o| {
            o.rec.stream_id != c.rec.stream_id
                && o.rec.start <= c.rec.end
                && o.rec.end >= c.rec.start
        })
        .collect();
    v.sort_by_key(|o| (o.rec.start, o.rec.stream_id));
    v
}

/// Maps times to lane columns.
struct Axis {
    t0: i64,
    span: i64,
    x: u16,
    width: u16,
}

impl Axis {
    fn new(c: &CallEntry, inner: Rect) -> Axis {
        Axis {
            t0: c.rec.start.0,
            span: c.rec.end.saturating_sub(c.rec.start).max(1),
            x: inner.x + LABEL,
            width: inner.width.saturating_sub(LABEL).max(1),
        }
    }

    /// Column (from 0) of a time, clamped to the lane.
    fn col(&self, ts: Timestamp) -> u16 {
        let d = ts.0.saturating_sub(self.t0).clamp(0, self.span) as i128;
        (d * i128::from(self.width - 1) / i128::from(self.span)) as u16
    }
}

fn inner(area: Rect) -> Rect {
    Block::bordered().inner(area)
}

/// The event nearest a clicked column.
pub fn event_near(c: &CallEntry, area: Rect, column: u16) -> Option<usize> {
    let axis = Axis::new(c, inner(area));
    let want = column.checked_sub(axis.x)?;
    events(c)
        .iter()
        .enumerate()
        .min_by_key(|(_, e)| axis.col(e.ts).abs_diff(want))
        .map(|(i, _)| i)
}

/// A frame's mark and how much it matters when marks share a cell.
fn frame_mark(f: &FrameRecord, nth_headers: usize) -> (char, u8, Color) {
    match f.kind {
        FrameType::RstStream => ('R', 9, Color::Red),
        FrameType::Headers if nth_headers > 0 => ('T', 8, Color::Magenta),
        FrameType::Headers => ('H', 7, Color::Cyan),
        FrameType::Continuation => ('C', 6, Color::Cyan),
        FrameType::PushPromise => ('u', 6, Color::Blue),
        FrameType::Data => ('D', 5, Color::Green),
        FrameType::WindowUpdate => ('W', 3, Color::DarkGray),
        FrameType::Priority | FrameType::PriorityUpdate => ('p', 2, Color::DarkGray),
        _ => ('?', 1, Color::DarkGray),
    }
}

fn conn_mark(f: &FrameRecord) -> (char, u8, Color) {
    match f.kind {
        FrameType::Goaway => ('G', 9, Color::Red),
        FrameType::Ping => ('P', 7, Color::Blue),
        FrameType::Settings => ('S', 5, Color::Cyan),
        FrameType::WindowUpdate => ('w', 3, Color::DarkGray),
        _ => ('?', 1, Color::DarkGray),
    }
}

/// One lane: a row of cells, each keeping its most important mark.
struct Lane {
    cells: Vec<Option<(char, u8, Color, bool)>>,
}

impl Lane {
    fn new(width: u16) -> Lane {
        Lane {
            cells: vec![None; usize::from(width)],
        }
    }

    fn put(&mut self, col: u16, mark: (char, u8, Color), cursor: bool) {
        let Some(cell) = self.cells.get_mut(usize::from(col)) else {
            return;
        };
        let cursor = cursor || cell.is_some_and(|c| c.3);
        match cell {
            Some(c) if c.1 > mark.1 && !cursor => {}
            Some(c) if c.1 > mark.1 => c.3 = true,
            _ => *cell = Some((mark.0, mark.1, mark.2, cursor)),
        }
    }

    fn line(self, label: &str) -> Line<'static> {
        let mut spans = vec![Span::styled(
            format!("{label:>7} "),
            Style::new().fg(Color::Gray),
        )];
        for cell in self.cells {
            spans.push(match cell {
                None => Span::styled("·", Style::new().fg(Color::DarkGray)),
                Some((ch, _, color, cursor)) => {
                    let mut style = Style::new().fg(color).add_modifier(Modifier::BOLD);
                    if cursor {
                        style = style.add_modifier(Modifier::REVERSED);
                    }
                    Span::styled(ch.to_string(), style)
                }
            });
        }
        Line::from(spans)
    }
}

/// Draws the timeline of `c`; `cursor` is the selected event when the pane has focus.
pub fn render(
    f: &mut Frame,
    model: &Model,
    c: &CallEntry,
    area: Rect,
    cursor: Option<usize>,
    focused: bool,
    swimlanes: usize,
) {
    let border = if focused { Color::Yellow } else { Color::Gray };
    let block = Block::bordered()
        .border_style(Style::new().fg(border))
        .title(Line::from(vec![
            Span::styled(" Timeline ", Style::new().add_modifier(Modifier::BOLD)),
            Span::raw(format!(
                "{}, stream {} ",
                fmt::duration(c.duration_ns()),
                c.rec.stream_id
            )),
        ]));
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inner.width <= LABEL + 2 || inner.height == 0 {
        return;
    }
    let axis = Axis::new(c, inner);
    let events = events(c);
    let messages = c.messages();
    let selected = cursor.and_then(|i| events.get(i));
    let mut lanes: Vec<Lane> = (0..4).map(|_| Lane::new(axis.width)).collect();
    let mut headers_seen = [0usize; 2];
    for (i, fr) in c.rec.frames.iter().enumerate() {
        let d = fr.from.index();
        let mark = frame_mark(fr, headers_seen[d]);
        if fr.kind == FrameType::Headers {
            headers_seen[d] += 1;
        }
        let is_cursor = selected.is_some_and(|e| e.kind == Kind::Frame(i));
        lanes[d * 2].put(axis.col(fr.ts), mark, is_cursor);
    }
    for (i, (d, m)) in messages.iter().enumerate() {
        let is_cursor = selected.is_some_and(|e| e.kind == Kind::Message(i));
        let color = if m.error.is_some() {
            Color::Red
        } else {
            Color::Yellow
        };
        lanes[d.index() * 2 + 1].put(axis.col(m.ts), ('●', 5, color), is_cursor);
    }
    let mut conn = Lane::new(axis.width);
    let conn_record = model.connections.get(&c.rec.conn);
    if let Some(rec) = conn_record {
        for fr in rec
            .frames
            .iter()
            .filter(|fr| fr.stream_id == 0 && fr.ts >= c.rec.start && fr.ts <= c.rec.end)
        {
            conn.put(axis.col(fr.ts), conn_mark(fr), false);
        }
    }
    let mut lines: Vec<Line> = Vec::new();
    let [client, client_msgs, server, server_msgs] = {
        let mut it = lanes.into_iter();
        [(); 4].map(|()| it.next().unwrap_or_else(|| Lane::new(1)))
    };
    lines.push(client.line("client→"));
    lines.push(client_msgs.line("msgs"));
    lines.push(server.line("←server"));
    lines.push(server_msgs.line("msgs"));
    if conn_record.is_some() {
        lines.push(conn.line("conn"));
    } else {
        lines.push(Line::from(vec![
            Span::styled(format!("{:>7} ", "conn"), Style::new().fg(Color::Gray)),
            Span::styled(
                "(connection still open: its PINGs and GOAWAY show when it ends)",
                Style::new().fg(Color::DarkGray),
            ),
        ]));
    }
    for other in concurrent(model, c).into_iter().take(swimlanes) {
        let (a, b) = (axis.col(other.rec.start), axis.col(other.rec.end));
        let mut spans = vec![Span::styled(
            format!("{:>7} ", format!("s{}", other.rec.stream_id)),
            Style::new().fg(Color::Gray),
        )];
        spans.push(Span::raw(" ".repeat(usize::from(a))));
        let color = if other.is_error() {
            Color::Red
        } else {
            Color::Blue
        };
        spans.push(Span::styled(
            "━".repeat(usize::from(b - a + 1)),
            Style::new().fg(color),
        ));
        lines.push(Line::from(spans));
    }
    lines.push(axis_line(c, &axis));
    lines.push(match selected {
        Some(e) => describe(c, e, &messages),
        None => legend(),
    });
    f.render_widget(Paragraph::new(lines), inner);
}

fn axis_line(c: &CallEntry, axis: &Axis) -> Line<'static> {
    let w = usize::from(axis.width);
    let total = fmt::duration(c.duration_ns());
    let half = fmt::duration(c.duration_ns() / 2);
    let mut s = vec![' '; w];
    let put = |s: &mut Vec<char>, at: usize, text: &str| {
        for (i, ch) in text.chars().enumerate() {
            if let Some(cell) = s.get_mut(at + i) {
                *cell = ch;
            }
        }
    };
    put(&mut s, 0, "0");
    if w > total.len() + half.len() + 6 {
        put(&mut s, w / 2 - half.len() / 2, &half);
    }
    put(&mut s, w.saturating_sub(total.len()), &total);
    Line::from(vec![
        Span::raw(" ".repeat(usize::from(LABEL))),
        Span::styled(
            s.into_iter().collect::<String>(),
            Style::new().fg(Color::Gray),
        ),
    ])
}

fn legend() -> Line<'static> {
    let item = |k: &'static str, color: Color, what: &'static str| {
        [
            Span::styled(k, Style::new().fg(color).add_modifier(Modifier::BOLD)),
            Span::styled(what, Style::new().fg(Color::Gray)),
        ]
    };
    let mut spans = vec![Span::raw(" ".repeat(usize::from(LABEL)))];
    for (k, c, w) in [
        ("H", Color::Cyan, " headers "),
        ("D", Color::Green, " data "),
        ("T", Color::Magenta, " trailers "),
        ("W", Color::DarkGray, " window "),
        ("R", Color::Red, " reset "),
        ("●", Color::Yellow, " message "),
        ("P", Color::Blue, " ping "),
        ("G", Color::Red, " goaway"),
    ] {
        spans.extend(item(k, c, w));
    }
    Line::from(spans)
}

/// HTTP/2 flag names of a frame type (RFC 9113 §6).
pub fn flag_names(kind: FrameType, flags: u8) -> String {
    let known: &[(u8, &str)] = match kind {
        FrameType::Data => &[(0x1, "END_STREAM"), (0x8, "PADDED")],
        FrameType::Headers => &[
            (0x1, "END_STREAM"),
            (0x4, "END_HEADERS"),
            (0x8, "PADDED"),
            (0x20, "PRIORITY"),
        ],
        FrameType::PushPromise => &[(0x4, "END_HEADERS"), (0x8, "PADDED")],
        FrameType::Continuation => &[(0x4, "END_HEADERS")],
        FrameType::Settings | FrameType::Ping => &[(0x1, "ACK")],
        _ => &[],
    };
    let mut names: Vec<String> = known
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, n)| (*n).to_string())
        .collect();
    let rest = flags & !known.iter().fold(0, |a, (b, _)| a | b);
    if rest != 0 {
        names.push(format!("0x{rest:02x}"));
    }
    names.join("|")
}

pub fn dir_arrow(d: Role) -> &'static str {
    match d {
        Role::Client => "client→server",
        Role::Server => "server→client",
    }
}

/// The caption for the event under the cursor.
fn describe(c: &CallEntry, e: &Event, messages: &[(Role, &Message)]) -> Line<'static> {
    let at = format!("+{}", fmt::duration(e.ts.saturating_sub(c.rec.start)));
    let text = match e.kind {
        Kind::Frame(i) => match c.rec.frames.get(i) {
            Some(fr) => format!(
                "{at}  {}  {}  len {}  {}  packet {}",
                dir_arrow(fr.from),
                fr.kind.name(),
                fr.length,
                flag_names(fr.kind, fr.flags),
                fr.packet
            ),
            None => at,
        },
        Kind::Message(i) => match messages.get(i) {
            Some((d, m)) => format!(
                "{at}  {}  message #{}  {}{}  (Enter opens it)",
                dir_arrow(*d),
                m.index,
                fmt::bytes(u64::from(m.size)),
                if m.compressed { " compressed" } else { "" }
            ),
            None => at,
        },
    };
    Line::from(vec![
        Span::styled("  ▲ at ", Style::new().fg(Color::Yellow)),
        Span::raw(text),
    ])
}

/// The preview pane of the main screen (tall terminals): the selected call's timeline.
pub fn preview(f: &mut Frame, model: &Model, c: Option<&CallEntry>, area: Rect) {
    match c {
        Some(c) => render(f, model, c, area, None, false, 0),
        None => f.render_widget(Block::bordered().title(" Timeline "), area),
    }
}
