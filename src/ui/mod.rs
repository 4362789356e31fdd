//! The interactive dashboard. It only consumes the monitor's [`Update`]s and sends [`Command`]s
//! back: no network code here.
//!
//! `app` holds the state and the pure `update(state, event) -> effects`; `view` and one module per
//! panel draw the state (`overview` the screen of every symbol); `keys` is the key table both the
//! handler and the help read. [`run`] is the
//! event loop: it redraws only when something changed (input, data, the 1 Hz clock tick).

mod active;
mod errors;
mod feed;
mod funding;
mod help;
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
mod tests;

pub use state::{update, Effect, Event, UiState};
pub use theme::Theme;

use crate::monitor::{Command, Update};
use chrono::Utc;
use crossterm::event::{DisableMouseCapture, EnableMouseCapture, EventStream};
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

/// Runs the dashboard until the user quits, a fatal update, a signal, or `shutdown` resolves.
///
/// Takes over the terminal (`ratatui::init`, which installs a panic hook that restores it; call
/// `color_eyre::install()` before this so that hook wraps color-eyre's), enables mouse capture,
/// and restores both on every exit path, including panics.
pub async fn run(
    updates: mpsc::Receiver<Update>,
    commands: mpsc::Sender<Command>,
    alert_sink: tokio::sync::watch::Receiver<crate::alerts::SinkState>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<UiExit> {
    let theme = Theme::from_env();
    let mut terminal = ratatui::try_init()?;
    install_mouse_restore_hook();
    // From here on every path goes through `leave`.
    let result = match crossterm::execute!(io::stdout(), EnableMouseCapture) {
        Ok(()) => {
            event_loop(
                &mut terminal,
                theme,
                updates,
                commands,
                alert_sink,
                shutdown,
            )
            .await
        }
        Err(e) => Err(e),
    };
    leave();
    result
}

/// Gives the terminal back: mouse capture off, raw mode off, main screen. Errors are ignored:
/// after SIGHUP the terminal may be gone, and there is nothing better to do.
fn leave() {
    let _ = crossterm::execute!(io::stdout(), DisableMouseCapture);
    ratatui::restore();
}

/// ratatui's panic hook restores raw mode and the screen but not mouse capture.
fn install_mouse_restore_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = crossterm::execute!(io::stdout(), DisableMouseCapture);
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
    mut updates: mpsc::Receiver<Update>,
    commands: mpsc::Sender<Command>,
    mut alert_sink: tokio::sync::watch::Receiver<crate::alerts::SinkState>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<UiExit> {
    let size = terminal.size()?;
    let mut state = UiState::new(Utc::now(), (size.width, size.height), theme);
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
