//! Rendering: pure functions of `(&Model, &ViewState, Rect)` that draw into a frame and
//! change nothing else. One function per pane; [`render`] lays the screen out.

pub mod backends;
pub mod calls;
pub mod detail;
pub mod fmt;
pub mod layout;
pub mod message;
pub mod timeline;

use super::app::{Pane, Screen, ViewState};
use super::model::{Model, SourceState};
use crate::text::visible;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

/// Draws the whole screen.
pub fn render(f: &mut Frame, model: &Model, view: &ViewState) {
    let area = f.area();
    let open = view.open.and_then(|i| model.call(i));
    match (view.screen, open) {
        (Screen::Call, Some(c)) => {
            let l = layout::call(area, model, view);
            header(f, model, view, l.header);
            call_title(f, model, c, l.title);
            let cursor = (view.focus == Pane::Timeline).then_some(view.cursor);
            timeline::render(
                f,
                model,
                c,
                l.timeline,
                cursor,
                view.focus == Pane::Timeline,
                layout::swimlanes(area, model, view),
            );
            detail::render(f, model, view, c, l.detail);
            footer(f, model, view, l.footer);
        }
        (Screen::Message, Some(c)) => {
            let l = layout::message(area);
            header(f, model, view, l.header);
            message::render(f, model, view, c, l.body);
            footer(f, model, view, l.footer);
        }
        _ => {
            let l = layout::main(area, model);
            header(f, model, view, l.header);
            backends::render(f, model, view, l.backends);
            calls::render(f, model, view, l.calls);
            if let Some(p) = l.preview {
                let c = view.selected().and_then(|i| model.call(i));
                timeline::preview(f, model, c, p);
            }
            footer(f, model, view, l.footer);
        }
    }
    if view.help {
        help(f, area);
    }
}

/// Two lines: the source, its time span and reading (or capturing) state; then the counts.
fn header(f: &mut Frame, model: &Model, view: &ViewState, area: Rect) {
    let p = &model.progress;
    let mut first = vec![
        Span::styled(
            " h2scope ",
            Style::new()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
        ),
        Span::raw(" "),
        Span::styled(
            visible(&model.source),
            Style::new().add_modifier(Modifier::BOLD),
        ),
    ];
    first.push(Span::raw("  "));
    let live = model.live;
    match &model.state {
        SourceState::Reading if live => first.push(Span::styled(
            "● capturing",
            Style::new().fg(Color::Green).add_modifier(Modifier::BOLD),
        )),
        SourceState::Done if live => {
            first.push(Span::styled("■ stopped", Style::new().fg(Color::Yellow)))
        }
        SourceState::Damaged(e) if live => first.push(Span::styled(
            format!("⚠ capture stopped: {}", visible(e)),
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        )),
        SourceState::Reading => {
            let (pct, bar) = match p.total {
                Some(t) if t > 0 => {
                    let frac = (p.done as f64 / t as f64).clamp(0.0, 1.0);
                    let filled = (frac * 12.0).round() as usize;
                    (
                        format!(" {:.0}%", frac * 100.0),
                        format!("{}{}", "█".repeat(filled), "░".repeat(12 - filled)),
                    )
                }
                _ => (String::new(), "reading".to_string()),
            };
            first.push(Span::styled(
                format!("reading {bar}{pct}"),
                Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            ));
        }
        SourceState::Done => first.push(Span::styled("✓ read", Style::new().fg(Color::Green))),
        SourceState::Damaged(e) => first.push(Span::styled(
            format!("⚠ stopped at damage: {}", visible(e)),
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        )),
    }
    if view.paused {
        first.push(Span::raw("  "));
        first.push(Span::styled(
            format!(
                " PAUSED · {} {} pending ",
                fmt::count(view.pending as u64),
                fmt::plural(view.pending as u64, "update", "updates")
            ),
            Style::new()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
        ));
    }
    if model.evicted > 0 {
        // The window (`--keep-calls`): the backends still count what left it.
        first.push(Span::styled(
            format!(
                "  {} evicted, newest {} kept",
                fmt::count(model.evicted as u64),
                fmt::count(model.kept_calls() as u64)
            ),
            Style::new().fg(Color::Magenta),
        ));
    }
    if let (Some(a), Some(b)) = (p.first_ts, p.last_ts) {
        first.push(Span::styled(
            format!(
                "  {} UTC, {} span",
                fmt::utc(a),
                fmt::duration(b.saturating_sub(a))
            ),
            Style::new().fg(Color::Gray),
        ));
    }
    let n = |v: u64, what: &str| {
        vec![
            Span::styled(fmt::count(v), Style::new().add_modifier(Modifier::BOLD)),
            Span::styled(format!(" {what}  "), Style::new().fg(Color::Gray)),
        ]
    };
    let mut second = vec![Span::raw(" ")];
    if live {
        second.extend(n(
            p.packets,
            fmt::plural(p.packets, "packet captured", "packets captured"),
        ));
        let drops = p.kernel_drops.unwrap_or(0);
        let mut d = n(drops, "dropped by the kernel");
        if drops > 0 {
            d[0].style = d[0].style.fg(Color::Red);
        }
        second.extend(d);
    } else {
        second.extend(n(p.packets, fmt::plural(p.packets, "packet", "packets")));
    }
    second.push(Span::styled(
        format!("{}  ", fmt::bytes(p.bytes)),
        Style::new().add_modifier(Modifier::BOLD),
    ));
    let conns = model.total_connections();
    second.extend(n(conns, fmt::plural(conns, "connection", "connections")));
    let streams = model.total_calls() as u64;
    second.extend(n(streams, fmt::plural(streams, "stream", "streams")));
    second.extend(n(
        model.grpc_calls,
        fmt::plural(model.grpc_calls, "gRPC call", "gRPC calls"),
    ));
    let anomalies = model.anomalies();
    let mut a = n(anomalies, fmt::plural(anomalies, "anomaly", "anomalies"));
    if anomalies > 0 {
        a[0].style = a[0].style.fg(Color::Yellow);
    }
    second.extend(a);
    f.render_widget(
        Paragraph::new(vec![Line::from(first), Line::from(second)]),
        area,
    );
}

/// The call screen's two title lines: what, where, outcome.
fn call_title(f: &mut Frame, model: &Model, c: &super::model::CallEntry, area: Rect) {
    let status_style = if c.is_error() {
        Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
    } else {
        Style::new().fg(Color::Green).add_modifier(Modifier::BOLD)
    };
    let lines = vec![
        Line::from(vec![
            Span::raw(" "),
            Span::styled(
                visible(&c.name(true)),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Span::raw("  "),
            Span::styled(visible(&c.status_text()), status_style),
            Span::raw(format!("  {}", fmt::duration(c.duration_ns()))),
        ]),
        Line::from(Span::styled(
            format!(
                " {} → {}{}  connection {} stream {}  at {}s",
                c.rec.client,
                c.rec.server,
                model
                    .backends
                    .iter()
                    .find(|b| b.server == c.rec.server)
                    .and_then(|b| b.label.as_deref())
                    .map(|l| format!(" ({})", visible(l)))
                    .unwrap_or_default(),
                c.rec.conn,
                c.rec.stream_id,
                fmt::offset(c.rec.start, calls::t0(model))
            ),
            Style::new().fg(Color::Gray),
        )),
    ];
    f.render_widget(Paragraph::new(lines), area);
}

fn key_hints(pairs: &[(&str, &str)]) -> Vec<Span<'static>> {
    let mut v = Vec::new();
    for (k, what) in pairs {
        v.push(Span::styled(
            format!(" {k} "),
            Style::new().fg(Color::Black).bg(Color::Gray),
        ));
        v.push(Span::styled(
            format!(" {what} "),
            Style::new().fg(Color::Gray),
        ));
    }
    v
}

/// The bottom line: the filter being typed, or the active filters and the keys.
fn footer(f: &mut Frame, model: &Model, view: &ViewState, area: Rect) {
    let live_ui = model.live;
    let line = if view.editing {
        Line::from(vec![
            Span::styled(" / ", Style::new().fg(Color::Black).bg(Color::Yellow)),
            Span::raw(" "),
            Span::raw(visible(&view.filter_text)),
            Span::styled("█", Style::new().fg(Color::Yellow)),
            Span::styled(
                "   text, backend:X status:X grpc:X grpc:!OK · Enter keep · Esc cancel",
                Style::new().fg(Color::DarkGray),
            ),
        ])
    } else {
        let mut spans = Vec::new();
        if view.screen == Screen::Main && view.filters_active() {
            let mut what = Vec::new();
            if let Some(b) = view.backend_filter {
                what.push(format!("backend {b}"));
            }
            if !view.filter_text.is_empty() {
                what.push(format!("\"{}\"", visible(&view.filter_text)));
            }
            spans.push(Span::styled(
                format!(" filter: {} ", what.join(" + ")),
                Style::new().fg(Color::Black).bg(Color::Yellow),
            ));
        }
        let follow = if view.following { "unfollow" } else { "follow" };
        let pause = if view.paused { "resume" } else { "pause" };
        let live = [
            ("?", "help"),
            ("Enter", "open"),
            ("/", "filter"),
            ("f", follow),
            ("p", pause),
            ("q", "quit"),
        ];
        let hints: &[(&str, &str)] = match view.screen {
            Screen::Main if live_ui => &live,
            Screen::Main => &[
                ("?", "help"),
                ("Tab", "pane"),
                ("Enter", "open"),
                ("/", "filter"),
                ("s", "sort"),
                ("q", "quit"),
            ],
            Screen::Call => &[
                ("?", "help"),
                ("Tab", "pane"),
                ("←→", "tab"),
                ("Enter", "message"),
                ("Esc", "back"),
            ],
            Screen::Message => &[("↑↓", "scroll"), ("←→", "prev/next"), ("Esc", "back")],
        };
        spans.extend(key_hints(hints));
        Line::from(spans)
    };
    f.render_widget(Paragraph::new(line), area);
}

fn help(f: &mut Frame, area: Rect) {
    let width = area.width.min(76);
    let keys = crate::tui::keys::KEYS;
    let height = (keys.len() as u16 + 4).min(area.height);
    let [_, mid, _] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(height),
        Constraint::Fill(1),
    ])
    .areas(area);
    let [_, rect, _] = Layout::horizontal([
        Constraint::Fill(1),
        Constraint::Length(width),
        Constraint::Fill(1),
    ])
    .areas(mid);
    f.render_widget(Clear, rect);
    let mut lines: Vec<Line> = keys
        .iter()
        .map(|b| {
            Line::from(vec![
                Span::styled(
                    format!(" {:<18}", b.keys),
                    Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
                ),
                Span::raw(b.what),
            ])
        })
        .collect();
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(
        " Errors: non-OK gRPC status, HTTP status ≥ 500, or RST_STREAM with an error.",
        Style::new().fg(Color::Gray),
    )));
    f.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .border_style(Style::new().fg(Color::Yellow))
                .title(" h2scope keys "),
        ),
        rect,
    );
}
