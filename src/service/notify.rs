//! systemd notifications (`sd_notify`): `EXTEND_TIMEOUT_USEC` while starting, `READY=1` after
//! the first cycle that fetched data, `STATUS=` with every cycle's summary, `WATCHDOG=1` while
//! the poll loop completes cycles, `STOPPING=1` on the way out. Without `NOTIFY_SOCKET` (not
//! under systemd, or `Type=simple`) nothing is sent.

use super::health::{CycleSummary, Health};
use sd_notify::NotifyState;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Longest STATUS text sent (systemd shows it in `systemctl status`).
const MAX_STATUS_CHARS: usize = 400;

/// One notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Message {
    Ready,
    Status(String),
    /// While starting: "give me this long for the next message" (a long first cycle, a dead
    /// source at boot) instead of the unit's fixed `TimeoutStartSec`.
    ExtendTimeout(Duration),
    Watchdog,
    Stopping,
}

/// Decides what to tell systemd about each cycle (pure; [`Notifier`] sends it).
#[derive(Debug, Clone)]
pub(crate) struct Announcer {
    ready: bool,
    extend: Duration,
}

impl Announcer {
    /// `extend`: how long systemd should wait for the next cycle while perpwatch is starting.
    pub(crate) fn new(extend: Duration) -> Announcer {
        Announcer {
            ready: false,
            extend,
        }
    }

    pub(crate) fn starting(&self) -> Vec<Message> {
        vec![
            Message::Status("starting: first cycle running".to_string()),
            Message::ExtendTimeout(self.extend),
        ]
    }

    /// READY=1 once a cycle fetched data; until then the start timeout is extended for as long
    /// as cycles keep completing (a wedged loop still times out).
    pub(crate) fn on_cycle(&mut self, summary: &CycleSummary) -> Vec<Message> {
        let status = Message::Status(summary.status_line());
        if self.ready {
            return vec![status];
        }
        if summary.fetched_nothing() {
            return vec![status, Message::ExtendTimeout(self.extend)];
        }
        self.ready = true;
        vec![Message::Ready, status]
    }
}

/// Sends notifications to `NOTIFY_SOCKET`; says the first failure once in the log.
#[derive(Debug)]
pub(crate) struct Notifier {
    warned: AtomicBool,
}

impl Notifier {
    /// `Some` when systemd (or a compatible manager) listens.
    pub(crate) fn from_env() -> Option<Notifier> {
        std::env::var_os("NOTIFY_SOCKET")
            .filter(|v| !v.is_empty())
            .map(|_| Notifier {
                warned: AtomicBool::new(false),
            })
    }

    pub(crate) fn send(&self, messages: &[Message]) {
        if messages.is_empty() {
            return;
        }
        let texts: Vec<String> = messages.iter().filter_map(status_text).collect();
        let mut text_at = texts.iter();
        let states: Vec<NotifyState<'_>> = messages
            .iter()
            .filter_map(|m| match m {
                Message::Ready => Some(NotifyState::Ready),
                Message::Status(_) => text_at.next().map(|t| NotifyState::Status(t.as_str())),
                Message::ExtendTimeout(d) => Some(NotifyState::ExtendTimeoutUsec(
                    u32::try_from(d.as_micros()).unwrap_or(u32::MAX),
                )),
                Message::Watchdog => Some(NotifyState::Watchdog),
                Message::Stopping => Some(NotifyState::Stopping),
            })
            .collect();
        if let Err(e) = sd_notify::notify(&states) {
            if !self.warned.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "cannot notify systemd through NOTIFY_SOCKET: {e} (readiness, status and \
                     watchdog pings are not delivered)"
                );
            }
        }
    }
}

/// A STATUS text on one line, without control characters, cut to a readable length.
fn status_text(m: &Message) -> Option<String> {
    let Message::Status(text) = m else {
        return None;
    };
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_STATUS_CHARS)
        .collect();
    Some(one_line)
}

/// Pings the watchdog every `period` (half of systemd's `WATCHDOG_USEC`) while the poll loop is
/// alive (a cycle completed within the stall window). When cycles stop, so do the pings, and
/// systemd restarts perpwatch `WatchdogSec` later. Runs until aborted.
pub(crate) async fn watchdog(
    period: Duration,
    health: Arc<Mutex<Health>>,
    mut send: impl FnMut(Message),
) {
    let mut ticks = tokio::time::interval(period.max(Duration::from_millis(100)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stopped = false;
    loop {
        ticks.tick().await;
        let (alive, stall) = {
            let h = health.lock().unwrap_or_else(|e| e.into_inner());
            (h.loop_alive(tokio::time::Instant::now()), h.stall_after())
        };
        if alive {
            if stopped {
                tracing::info!("a cycle completed again: watchdog pings resumed");
                stopped = false;
            }
            send(Message::Watchdog);
        } else if !stopped {
            tracing::error!(
                "no poll cycle completed for {}: watchdog pings stopped (systemd restarts \
                 perpwatch when WatchdogSec runs out)",
                super::health::format_secs(stall)
            );
            stopped = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Level;

    fn summary(cycle: u64, fetched: usize) -> CycleSummary {
        CycleSummary {
            cycle,
            duration: Duration::from_secs(1),
            symbols: 1,
            fresh: fetched,
            stale: 0,
            absent: 7 - fetched,
            fetched,
            cause: Some("fetch failed: connection refused".to_string()),
            signals: 0,
            level: Level::None,
            requests: 5,
            interval: None,
        }
    }

    #[test]
    fn notify_ready_only_after_the_first_cycle_with_data() {
        let extend = Duration::from_secs(180);
        let mut a = Announcer::new(extend);
        assert_eq!(
            a.starting(),
            vec![
                Message::Status("starting: first cycle running".into()),
                Message::ExtendTimeout(extend)
            ]
        );
        // A dead source at boot: not ready, the start is extended, the status says why.
        assert_eq!(
            a.on_cycle(&summary(1, 0)),
            vec![
                Message::Status("cycle 1: no data: fetch failed: connection refused".into()),
                Message::ExtendTimeout(extend)
            ]
        );
        let first_good = a.on_cycle(&summary(2, 7));
        assert_eq!(first_good.first(), Some(&Message::Ready));
        assert!(
            matches!(&first_good[1], Message::Status(s) if s.starts_with("cycle 2: 7 fresh")),
            "{first_good:?}"
        );
        // Ready once; afterwards only the status, dead cycles included.
        assert!(matches!(
            &a.on_cycle(&summary(3, 7))[..],
            [Message::Status(_)]
        ));
        assert!(
            matches!(&a.on_cycle(&summary(4, 0))[..], [Message::Status(s)] if s.contains("no data")),
        );
    }

    #[test]
    fn notify_status_is_one_bounded_line() {
        let text = format!("a\nb\r{}", "x".repeat(1000));
        let shown = status_text(&Message::Status(text)).unwrap_or_default();
        assert!(shown.starts_with("a b x"));
        assert_eq!(shown.chars().count(), MAX_STATUS_CHARS);
        assert_eq!(status_text(&Message::Ready), None);
    }

    #[tokio::test(start_paused = true)]
    async fn notify_watchdog_pings_while_cycles_complete_and_stops_when_they_do_not() {
        let poll = Duration::from_secs(60);
        let health = Arc::new(Mutex::new(Health::new(poll, tokio::time::Instant::now())));
        let pings = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let counted = Arc::clone(&pings);
        let task = tokio::spawn(watchdog(
            Duration::from_secs(10),
            Arc::clone(&health),
            move |m| {
                assert_eq!(m, Message::Watchdog);
                counted.fetch_add(1, Ordering::Relaxed);
            },
        ));
        // Cycles every minute for 5 minutes: a ping every 10 s.
        for i in 1..=5 {
            tokio::time::sleep(poll).await;
            health
                .lock()
                .unwrap()
                .observe(summary(i, 7), tokio::time::Instant::now());
        }
        let while_alive = pings.load(Ordering::Relaxed);
        assert!((29..=32).contains(&while_alive), "{while_alive}");
        // The loop wedges: pings go on for the 3-interval stall window, then stop for good.
        tokio::time::sleep(Duration::from_secs(600)).await;
        let after = pings.load(Ordering::Relaxed) - while_alive;
        assert!((17..=19).contains(&after), "{after}");
        tokio::time::sleep(Duration::from_secs(600)).await;
        assert_eq!(pings.load(Ordering::Relaxed) - while_alive, after);
        // A cycle completes again: pings resume.
        health
            .lock()
            .unwrap()
            .observe(summary(6, 7), tokio::time::Instant::now());
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert!(pings.load(Ordering::Relaxed) - while_alive > after);
        task.abort();
    }
}
