//! Running 24/7 as a service: Prometheus `/metrics` and `/healthz` on `metrics_addr` (off by
//! default), and systemd notifications (READY, STATUS, WATCHDOG) when `NOTIFY_SOCKET` is set.
//!
//! Both read every finished cycle through one report tap, like the alerter and the store; the
//! health state machine ([`health`]) decides what `/healthz`, the STATUS line and the watchdog
//! say. Counters that only other modules see (requests, alert outcomes, outbox depth, store
//! write time) are recorded there with the `metrics` facade macros ([`prometheus`] lists them).

mod health;
mod http;
mod notify;
mod prometheus;

use crate::report::CycleReport;
use health::{CycleSummary, Health};
use notify::{Announcer, Notifier};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Reports queued between the monitor and the service tap (handled in microseconds).
const TAP_CAPACITY: usize = 16;
/// How often the recorder's histograms are maintained.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// What service mode needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServiceOptions {
    /// Serve `/metrics` and `/healthz` here (`None`: off).
    pub(crate) metrics_addr: Option<SocketAddr>,
    /// The effective poll interval (after any stretch to fit the plan).
    pub(crate) poll_interval: Duration,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ServiceError {
    #[error(
        "cannot serve /metrics and /healthz on {addr}: {source}; choose another address with \
         --metrics-addr, PERPWATCH_METRICS_ADDR or metrics_addr in the config file"
    )]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot install the metrics recorder: {0}")]
    Recorder(String),
}

/// The running service side: a report tap for the monitor, the responder and the watchdog.
/// Dropping it tells systemd STOPPING=1 and stops its tasks.
pub(crate) struct Service {
    tap: mpsc::Sender<Arc<CycleReport>>,
    notifier: Option<Arc<Notifier>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Service {
    /// A sender for `MonitorOptions::report_taps`.
    pub(crate) fn tap(&self) -> mpsc::Sender<Arc<CycleReport>> {
        self.tap.clone()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(n) = &self.notifier {
            n.send(&[notify::Message::Stopping]);
        }
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Starts what `opts` and the environment ask for, or returns `None` when neither metrics nor
/// systemd notifications are wanted. Binds `metrics_addr` now so that a taken port fails at
/// start, not silently later.
pub(crate) async fn start(opts: ServiceOptions) -> Result<Option<Service>, ServiceError> {
    let notifier = Notifier::from_env().map(Arc::new);
    if opts.metrics_addr.is_none() && notifier.is_none() {
        return Ok(None);
    }
    let health = Arc::new(Mutex::new(Health::new(
        opts.poll_interval,
        tokio::time::Instant::now(),
    )));
    let stall = health
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .stall_after();
    let mut tasks = Vec::new();

    let recording = match opts.metrics_addr {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|source| ServiceError::Bind { addr, source })?;
            let (recorder, handle) = prometheus::recorder();
            metrics::set_global_recorder(recorder)
                .map_err(|e| ServiceError::Recorder(e.to_string()))?;
            prometheus::describe();
            let upkeep = handle.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    tokio::time::sleep(UPKEEP_EVERY).await;
                    upkeep.run_upkeep();
                }
            }));
            let endpoints = Arc::new(http::Endpoints {
                metrics: handle,
                health: Arc::clone(&health),
            });
            tasks.push(tokio::spawn(http::serve(listener, endpoints)));
            tracing::info!("serving http://{addr}/metrics and http://{addr}/healthz");
            true
        }
        None => false,
    };

    let mut announcer = Announcer::new(stall);
    if let Some(n) = &notifier {
        n.send(&announcer.starting());
        if let Some(timeout) = sd_notify::watchdog_enabled() {
            let pinger = Arc::clone(n);
            tasks.push(tokio::spawn(notify::watchdog(
                timeout / 2,
                Arc::clone(&health),
                move |m| pinger.send(&[m]),
            )));
            tracing::info!(
                "systemd watchdog on: pinging every {}s while cycles complete (pings stop after \
                 {}s without one)",
                (timeout / 2).as_secs_f32(),
                stall.as_secs()
            );
        }
    }

    let (tap, mut reports) = mpsc::channel::<Arc<CycleReport>>(TAP_CAPACITY);
    let cycle_notifier = notifier.clone();
    tasks.push(tokio::spawn(async move {
        while let Some(report) = reports.recv().await {
            let summary = CycleSummary::of(&report);
            if recording {
                prometheus::record_cycle(&report, &summary);
            }
            if let Some(n) = &cycle_notifier {
                n.send(&announcer.on_cycle(&summary));
            }
            health
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .observe(summary, tokio::time::Instant::now());
        }
    }));
    Ok(Some(Service {
        tap,
        notifier,
        tasks,
    }))
}
