//! The interactive dashboard. It only consumes the monitor's [`Update`]s and sends [`Command`]s
//! back: no network code here.
//!
//! `state` holds the state and the pure `update(state, event) -> effects`; `view` (the compact,
//! normal and wide layouts), `overview` (the screen of every symbol) and one module per panel
//! draw the state; `keys` is the key table the handler, the help and the key bar (`keybar`) all
//! read. [`run`] is the event loop: it redraws only when something changed (input, data, the 1 Hz
//! clock tick).

mod active;
mod errors;
mod feed;
mod funding;
mod help;
mod keybar;
pub(crate) mod keys;
mod liquidations;
mod open_interest;
mod overview;
mod positioning;
mod price;
#[doc(hidden)]
#[cfg(any(test, feature = "test-support"))]
pub mod sample;
pub mod state;
mod taker;
pub(crate) mod theme;
pub mod view;
mod widgets;

#[cfg(test)]
mod detail_tests;
#[cfg(test)]
mod exchanges_tests;
#[cfg(test)]
mod layout_tests;
#[cfg(test)]
mod matrix_tests;
#[cfg(test)]
mod tests;

pub use state::{update, Effect, Event, UiState};
pub use theme::Theme;

use crate::monitor::{Command, Update};
use chrono::Utc;
use crossterm::cursor::MoveTo;
use crossterm::event::{DisableMouseCapture, EnableMouseCapture, EventStream};
use crossterm::terminal::{Clear, ClearType};
use futures::StreamExt;
use std::future::Future;
use std::io;
use tokio::sync::mpsc;

/// How the dashboard ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UiExit {
    /// The user quit, or a shutdown signal arrived (SIGTERM, SIGHUP, the `shutdown` future).
    Quit,
    /// The monitor reported that the source cannot go on (a refused key, a source that could not
    /// start); the terminal is already restored, so the caller can print the message and exit
    /// with the code it picks.
    Fatal(String),
}

/// How the dashboard uses the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UiOptions {
    /// Capture the mouse (click a tab, wheel scrolls); off (`--no-mouse`, `[ui] mouse = false`)
    /// leaves the mouse to the terminal, so its own text selection works.
    pub mouse: bool,
}

impl Default for UiOptions {
    fn default() -> Self {
        UiOptions { mouse: true }
    }
}

/// Runs the dashboard until the user quits, a fatal update, a signal, or `shutdown` resolves.
///
/// Takes over the terminal (`ratatui::init`, which installs a panic hook that restores it; call
/// `color_eyre::install()` before this so that hook wraps color-eyre's), enables mouse capture
/// unless `options` say not to, and restores the terminal on every exit path, including panics.
pub async fn run(
    updates: mpsc::Receiver<Update>,
    commands: mpsc::Sender<Command>,
    alert_sink: tokio::sync::watch::Receiver<crate::alerts::SinkState>,
    shutdown: impl Future<Output = ()>,
    options: UiOptions,
) -> io::Result<UiExit> {
    let theme = Theme::from_env();
    let mut terminal = ratatui::try_init()?;
    install_leave_hook(options);
    // From here on every path goes through `leave`.
    let result = match enter(&mut io::stdout(), options) {
        Ok(()) => {
            event_loop(
                &mut terminal,
                theme,
                options,
                updates,
                commands,
                alert_sink,
                shutdown,
            )
            .await
        }
        Err(e) => Err(e),
    };
    leave(options);
    result
}

/// What the dashboard asks of the terminal beyond ratatui's raw mode and alternate screen: the
/// mouse, when the options want it.
fn enter(out: &mut impl io::Write, options: UiOptions) -> io::Result<()> {
    if options.mouse {
        crossterm::execute!(out, EnableMouseCapture)?;
    }
    Ok(())
}

/// Readies the alternate screen to be left: mouse capture off (when it was on), and the screen
/// cleared with the cursor home. Leaving a screen that still holds the dashboard after a resize
/// makes tmux (which resizes the alternate screen back to the main screen's old size on the way
/// out) push dashboard lines into the shell's screen; an empty one leaves nothing behind.
fn before_leaving(out: &mut impl io::Write, options: UiOptions) -> io::Result<()> {
    if options.mouse {
        crossterm::queue!(out, DisableMouseCapture)?;
    }
    crossterm::execute!(out, Clear(ClearType::All), MoveTo(0, 0))
}

/// Gives the terminal back: mouse capture off, an empty alternate screen, raw mode off, the main
/// screen. Errors are ignored: after SIGHUP the terminal may be gone, and there is nothing better
/// to do.
fn leave(options: UiOptions) {
    let _ = before_leaving(&mut io::stdout(), options);
    ratatui::restore();
}

/// ratatui's panic hook restores raw mode and the screen, but neither turns mouse capture off nor
/// empties the alternate screen first: this hook does, then runs ratatui's.
fn install_leave_hook(options: UiOptions) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = before_leaving(&mut io::stdout(), options);
        previous(info);
    }));
}

/// Resolves on SIGTERM or SIGHUP (tmux pane closed); never if they cannot be watched.
#[cfg(unix)]
async fn terminate_or_hangup() {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate());
    let hup = signal(SignalKind::hangup());
    match (term, hup) {
        (Ok(mut term), Ok(mut hup)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = hup.recv() => {}
            }
        }
        (Ok(mut one), Err(_)) | (Err(_), Ok(mut one)) => {
            one.recv().await;
        }
        (Err(_), Err(_)) => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn terminate_or_hangup() {
    std::future::pending().await
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    theme: Theme,
    options: UiOptions,
    mut updates: mpsc::Receiver<Update>,
    commands: mpsc::Sender<Command>,
    mut alert_sink: tokio::sync::watch::Receiver<crate::alerts::SinkState>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<UiExit> {
    let size = terminal.size()?;
    let mut state = UiState::new(Utc::now(), (size.width, size.height), theme);
    state.mouse = options.mouse;
    state.alert_sink = alert_sink.borrow_and_update().clone();
    let mut alerts_open = true;
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let signals = terminate_or_hangup();
    tokio::pin!(shutdown, signals);
    let mut monitor_open = true;
    loop {
        if state.dirty {
            terminal.draw(|frame| view::render(frame, &state))?;
            state.dirty = false;
        }
        let event = tokio::select! {
            _ = &mut shutdown => return Ok(UiExit::Quit),
            _ = &mut signals => return Ok(UiExit::Quit),
            input = events.next() => match input {
                Some(Ok(crossterm::event::Event::Key(k))) => Event::Key(k),
                Some(Ok(crossterm::event::Event::Mouse(m))) => Event::Mouse(m),
                Some(Ok(crossterm::event::Event::Resize(w, h))) => Event::Resize(w, h),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e),
                // The terminal's input ended: nobody can press q any more.
                None => return Ok(UiExit::Quit),
            },
            update = updates.recv(), if monitor_open => match update {
                Some(u) => Event::Monitor(u),
                None => {
                    monitor_open = false;
                    Event::MonitorClosed
                }
            },
            changed = alert_sink.changed(), if alerts_open => match changed {
                Ok(()) => Event::AlertSink(alert_sink.borrow_and_update().clone()),
                Err(_) => {
                    alerts_open = false;
                    continue;
                }
            },
            _ = tick.tick() => Event::Tick(Utc::now()),
        };
        for effect in update(&mut state, event) {
            match effect {
                Effect::Quit => return Ok(UiExit::Quit),
                Effect::Fatal(msg) => return Ok(UiExit::Fatal(msg)),
                // Never block the UI on the monitor: if its queue is full the press is dropped
                // (a refresh is already pending); if it is gone, nothing listens.
                Effect::Send(cmd) => {
                    if let Err(e) = commands.try_send(cmd) {
                        tracing::warn!(?cmd, "command not delivered to the monitor: {e}");
                    }
                }
            }
        }
    }
}
