//! The terminal UI, `h2scope open`: backends and calls at a glance, then any call's
//! timeline, headers, frames and decoded gRPC messages.
//!
//! # Design
//! ```text
//! worker thread                         UI thread (owns Model and ViewState)
//! CaptureReader -> Engine -> Tracker    ┌──────────────────────────────────────────┐
//!   -> feed::Sink: CallRecord,          │ Update  -> Model::apply                  │
//!      ConnectionRecord, Progress ──────┼─> (then Action::ModelChanged)            │
//!      in batches (sync_channel)        │ Event   -> app::action_for -> Action     │
//!                                       │ Action  -> ViewState::apply (one match)  │
//!                                       │ ui::render(&Model, &ViewState) -> Frame  │
//!                                       └──────────────────────────────────────────┘
//! ```
//! - [`feed`] turns the pipeline's output into owned [`feed::Update`]s; a live capture
//!   will send the same updates.
//! - [`model::Model`] keeps every call and the per-backend aggregates; only
//!   `Model::apply` changes it.
//! - [`app::ViewState`] is what is shown and how; only `ViewState::apply` changes it.
//! - [`ui`] draws; its functions take the model and view by shared reference.
//! - [`App::run`] works over any ratatui `Backend` and any [`event::EventSource`], so tests
//!   run it on `TestBackend` with scripted keys; [`open`] runs it on the real terminal.
//! - Captured text is hostile: every string from the wire goes through
//!   [`crate::text::visible`] before it reaches a widget (ratatui drops control and
//!   zero-width characters when it fills the buffer, but silently: we show them escaped, so
//!   the user sees what the peer sent).
//!
//! Nothing here reads the wall clock except the run loop's timeouts and the worker's
//! batching: what is drawn depends only on the updates received and the actions applied.

pub mod app;
pub mod event;
pub mod feed;
pub mod keys;
pub mod model;
mod terminal;
pub mod ui;

use crate::capture::CaptureReader;
use app::{Action, ViewState, action_for};
use event::EventSource;
use feed::{FeedOptions, Update};
use model::Model;
use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::crossterm::event::Event;
use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, Instant};

/// How long the UI spends applying updates before it draws and looks at input again: a key
/// pressed meanwhile waits this long plus one draw (under 50 ms on a 1 GB capture,
/// scripts/bench-open.sh).
const DRAIN_BUDGET: Duration = Duration::from_millis(20);

/// The model, the view, and where updates come from.
pub struct App {
    pub model: Model,
    pub view: ViewState,
    updates: Option<Receiver<Update>>,
    /// Updates received while paused, applied in order on resume.
    pending: VecDeque<Update>,
    /// Set from outside (SIGTERM during a live capture): the run loop ends.
    stop: Option<&'static AtomicBool>,
}

impl App {
    pub fn new(model: Model, width: u16, height: u16) -> Self {
        App {
            model,
            view: ViewState::new(width, height),
            updates: None,
            pending: VecDeque::new(),
            stop: None,
        }
    }

    /// Takes updates from a channel while running.
    pub fn with_updates(mut self, rx: Receiver<Update>) -> Self {
        self.updates = Some(rx);
        self
    }

    /// Ends the run loop when `stop` is set.
    pub fn with_stop(mut self, stop: &'static AtomicBool) -> Self {
        self.stop = Some(stop);
        self
    }

    /// Applies one update to the model (or keeps it while paused) and lets the view catch
    /// up.
    pub fn update(&mut self, u: Update) {
        if self.receive(u) {
            self.model_changed();
        }
    }

    /// Settles the model (backends' percentiles and order) and lets the view catch up: once
    /// per burst of updates, however many were applied.
    fn model_changed(&mut self) {
        self.model.settle();
        self.view.apply(&self.model, Action::ModelChanged);
    }

    /// Applies an update, or keeps it while paused; whether the model changed. Progress is
    /// applied even while paused (the capture's counters show it goes on): it is a snapshot
    /// of counters and changes no call, backend or selection.
    fn receive(&mut self, u: Update) -> bool {
        if self.view.paused && !matches!(u, Update::Progress(_)) {
            if let Update::Records(r) = &u {
                self.view.pending += r.len();
            }
            self.pending.push_back(u);
            // At most the window waits: beyond it the oldest updates reach the model (which
            // evicts), so a long pause cannot hold an hour of capture.
            let cap = self.model.keep_calls.unwrap_or(usize::MAX);
            let mut changed = false;
            while self.view.pending > cap {
                let Some(old) = self.pending.pop_front() else {
                    break;
                };
                if let Update::Records(r) = &old {
                    self.view.pending -= r.len();
                }
                self.model.apply_unsettled(old);
                changed = true;
            }
            return changed;
        }
        self.model.apply_unsettled(u);
        true
    }

    pub fn action(&mut self, a: Action) {
        self.view.apply(&self.model, a);
        if !self.view.paused && !self.pending.is_empty() {
            // Resumed: what waited reaches the model in the order it came.
            for u in std::mem::take(&mut self.pending) {
                self.model.apply_unsettled(u);
            }
            self.view.pending = 0;
            self.model_changed();
        }
    }

    /// Handles one input event.
    pub fn handle(&mut self, e: &Event) {
        if let Some(a) = action_for(e, &self.view) {
            self.action(a);
        }
    }

    /// Applies waiting updates for at most `budget`, or until input is `pending`; whether
    /// anything changed.
    fn drain(&mut self, budget: Duration, pending: &mut dyn FnMut() -> bool) -> bool {
        let Some(rx) = self.updates.take() else {
            return false;
        };
        let start = Instant::now();
        let mut changed = false;
        let mut connected = true;
        loop {
            match rx.try_recv() {
                Ok(u) => {
                    // While paused the view still redraws: the counters move on.
                    self.receive(u);
                    changed = true;
                    if start.elapsed() >= budget || pending() {
                        break;
                    }
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    connected = false;
                    break;
                }
            }
        }
        if connected {
            self.updates = Some(rx);
        }
        if changed {
            self.model_changed();
        }
        changed
    }

    /// Draws the current state.
    pub fn draw<B: Backend>(&mut self, terminal: &mut Terminal<B>) -> io::Result<()> {
        let size = terminal.size().map_err(backend_error)?;
        if (size.width, size.height) != (self.view.width, self.view.height) {
            self.action(Action::Resize {
                width: size.width,
                height: size.height,
            });
        }
        let (model, view) = (&self.model, &self.view);
        terminal
            .draw(|f| ui::render(f, model, view))
            .map_err(backend_error)?;
        Ok(())
    }

    /// Runs until the user quits: drains updates, draws when something changed, waits for
    /// input.
    pub fn run<B: Backend>(
        &mut self,
        terminal: &mut Terminal<B>,
        events: &mut impl EventSource,
    ) -> io::Result<()> {
        let mut dirty = true;
        let mut input = false;
        loop {
            // A key press is answered first: its frame is drawn before more updates are
            // applied, so it waits for one draw, not for a drain and a draw. A key that
            // came in during a drain is handled before drawing: one draw shows both (a draw
            // after a drain changes many cells, 5-13 ms on the 1 GB bench capture).
            let mut answer_first = false;
            if !std::mem::take(&mut input) {
                dirty |= self.drain(DRAIN_BUDGET, &mut || events.pending());
                answer_first = dirty && events.pending();
            }
            if dirty && !answer_first {
                self.draw(terminal)?;
                dirty = false;
            }
            if self.view.quit || self.stop.is_some_and(|s| s.load(Ordering::SeqCst)) {
                return Ok(());
            }
            let timeout = if self.updates.is_some() {
                Duration::from_millis(50)
            } else {
                Duration::from_millis(500)
            };
            if let Some(e) = events.next(timeout)? {
                self.handle(&e);
                dirty = true;
                input = true;
            }
            if self.view.quit {
                return Ok(());
            }
        }
    }
}

fn backend_error<E: std::fmt::Display>(e: E) -> io::Error {
    io::Error::other(e.to_string())
}

/// What `h2scope open` was asked to do.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    /// The name shown in the header.
    pub source: String,
    /// A response header or trailer naming the backend.
    pub backend_header: Option<String>,
    /// Completed calls the UI keeps (`None`: all); older ones are evicted but counted.
    pub keep_calls: Option<usize>,
    pub feed: FeedOptions,
}

/// Opens the UI on the terminal and reads `reader` on a worker thread; returns when the
/// user quits. The terminal is restored on return, on error and on panic.
pub fn open(reader: CaptureReader, options: OpenOptions) -> io::Result<()> {
    let rx = feed::spawn_file(reader, options.feed)?;
    let model = Model::new(options.source, options.backend_header.as_deref())
        .with_keep_calls(options.keep_calls);
    terminal::run(App::new(model, 80, 24).with_updates(rx))
}

/// What `h2scope sniff` with the terminal UI was asked to do.
pub struct SniffOptions {
    /// The name shown in the header (`live:IFACE`).
    pub source: String,
    pub backend_header: Option<String>,
    pub feed: FeedOptions,
    pub until: crate::engine::Until,
    /// Completed calls the UI keeps (`None`: all); older ones are evicted but counted.
    pub keep_calls: Option<usize>,
}

/// Opens the UI on the terminal over a live capture run on a worker thread; returns when
/// the user quits or `stop` is set (SIGTERM), after stopping the capture and joining the
/// worker, with how the capture ended (the `-w` writer still to be finished).
pub fn sniff<W: io::Write + Send + 'static>(
    capture: Box<dyn crate::capture::live::LiveSource + Send>,
    save: Option<crate::capture::writer::PcapngWriter<W>>,
    options: SniffOptions,
    stop: &'static AtomicBool,
) -> io::Result<feed::LiveEnd<W>> {
    let (rx, worker) = feed::spawn_live(capture, save, options.feed, stop, options.until)?;
    let model = Model::new(options.source, options.backend_header.as_deref())
        .live()
        .with_keep_calls(options.keep_calls);
    let mut app = App::new(model, 80, 24).with_updates(rx).with_stop(stop);
    app.view.following = true;
    let shown = terminal::run(app);
    // Quitting the UI stops the capture; the worker then finishes its last batch.
    stop.store(true, Ordering::SeqCst);
    let end = worker
        .join()
        .map_err(|_| io::Error::other("the capture thread panicked"))?;
    shown.map(|()| end)
}
