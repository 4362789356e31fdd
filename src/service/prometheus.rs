//! The Prometheus recorder and the metrics perpwatch derives from every cycle report.
//!
//! Other modules record what only they see with the `metrics` facade macros, one line each
//! (they are no-ops while no recorder is installed, i.e. without `metrics_addr`):
//!
//! | metric | where |
//! |---|---|
//! | `perpwatch_requests_total{endpoint,outcome}` | the CoinGlass client, per HTTP attempt |
//! | `perpwatch_alerts_total{sink,outcome}` (`sent`, `retried`, `dropped`) | alert delivery |
//! | `perpwatch_alert_outbox_depth{sink}` | alert delivery, before each row |
//! | `perpwatch_store_write_seconds` | the history store, per committed write |
//!
//! Labels are route paths, symbols, signal ids, sink kinds and outcome words: never a URL, a
//! key or a token.

use super::health::CycleSummary;
use crate::report::CycleReport;
use crate::report::MetricCounts;
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

pub(crate) const CYCLE_DURATION: &str = "perpwatch_cycle_duration_seconds";
pub(crate) const STORE_WRITE: &str = "perpwatch_store_write_seconds";

/// Cycle durations: a cycle ends within the poll interval (10 s to 1 h), `--once` within 30 s.
const CYCLE_BUCKETS: [f64; 13] = [
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0,
];
/// SQLite write transactions: milliseconds normally, seconds when the disk or a lock is slow.
const STORE_BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// A recorder (histograms as real Prometheus histograms) and the handle that renders it.
pub(crate) fn recorder() -> (PrometheusRecorder, PrometheusHandle) {
    let builder = PrometheusBuilder::new();
    let builder = builder
        .set_buckets_for_metric(Matcher::Full(CYCLE_DURATION.into()), &CYCLE_BUCKETS)
        .and_then(|b| b.set_buckets_for_metric(Matcher::Full(STORE_WRITE.into()), &STORE_BUCKETS))
        // Both bucket lists are non-empty constants: this cannot fail, but stay total anyway.
        .unwrap_or_else(|_| PrometheusBuilder::new());
    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    (recorder, handle)
}

/// HELP texts of every metric (shown by `/metrics`).
pub(crate) fn describe() {
    describe_counter!(
        "perpwatch_requests_total",
        "CoinGlass HTTP requests by endpoint (route path) and outcome (ok, or the error kind)"
    );
    describe_gauge!(
        "perpwatch_rate_limit_used",
        "Requests counted against the API key in the current minute (server's figure when sent)"
    );
    describe_gauge!(
        "perpwatch_rate_limit_per_minute",
        "The API key's per-minute request limit"
    );
    describe_gauge!(
        "perpwatch_cycle_requests",
        "HTTP requests the last cycle sent, retries included"
    );
    describe_counter!("perpwatch_cycles_total", "Poll cycles completed");
    describe_histogram!(
        CYCLE_DURATION,
        metrics::Unit::Seconds,
        "How long each poll cycle took"
    );
    describe_gauge!(
        "perpwatch_last_cycle_timestamp_seconds",
        "Unix time the last cycle finished"
    );
    describe_gauge!(
        "perpwatch_cycle_fetched_metric_groups",
        "Metric groups the last cycle fetched (0: nothing was fetched, the source is dead)"
    );
    describe_gauge!(
        "perpwatch_metric_groups",
        "Metric groups per symbol in the last cycle by state: fresh, stale (kept value with a \
         reason) or absent (no value, with a reason)"
    );
    describe_gauge!(
        "perpwatch_symbol_level",
        "Highest signal level per symbol in the last cycle: 0 none, 1 low, 2 medium, 3 high"
    );
    describe_counter!(
        "perpwatch_signals_fired_total",
        "Signals fired, counted once per cycle in which they fire, by symbol, signal and level"
    );
    describe_gauge!(
        "perpwatch_source_info",
        "The data source: kind (live, demo) and plan"
    );
    describe_counter!(
        "perpwatch_alerts_total",
        "Alert messages by sink and outcome: sent, retried (a failed attempt that will be \
         retried) or dropped (refused, or older than alerts.max_age)"
    );
    describe_gauge!(
        "perpwatch_alert_outbox_depth",
        "Alert messages waiting in the outbox, by sink"
    );
    describe_histogram!(
        STORE_WRITE,
        metrics::Unit::Seconds,
        "History store write transactions (committed), duration"
    );
}

/// Records what one cycle report says, through the installed recorder.
pub(crate) fn record_cycle(report: &CycleReport, summary: &CycleSummary) {
    counter!("perpwatch_cycles_total").increment(1);
    histogram!(CYCLE_DURATION).record(summary.duration.as_secs_f64());
    gauge!("perpwatch_last_cycle_timestamp_seconds")
        .set(report.finished_at.timestamp_millis() as f64 / 1000.0);
    gauge!("perpwatch_cycle_fetched_metric_groups").set(summary.fetched as f64);
    gauge!("perpwatch_cycle_requests").set(f64::from(report.requests.this_cycle));
    // Unknown stays unknown: no 0 for a figure the API never gave.
    if let Some(used) = report.requests.used_this_minute {
        gauge!("perpwatch_rate_limit_used").set(f64::from(used));
    }
    if let Some(limit) = report.requests.limit_per_minute {
        gauge!("perpwatch_rate_limit_per_minute").set(f64::from(limit));
    }
    gauge!(
        "perpwatch_source_info",
        "kind" => report.source.kind.to_string(),
        "plan" => report.source.plan.clone().unwrap_or_default()
    )
    .set(1.0);
    for sym in &report.symbols {
        let symbol = sym.snapshot.symbol.clone();
        let c = MetricCounts::of(&sym.snapshot);
        for (state, n) in [("fresh", c.fresh), ("stale", c.stale), ("absent", c.absent)] {
            gauge!("perpwatch_metric_groups", "symbol" => symbol.clone(), "state" => state)
                .set(n as f64);
        }
        gauge!("perpwatch_symbol_level", "symbol" => symbol.clone()).set(level_number(sym.level));
        for sig in &sym.signals {
            counter!(
                "perpwatch_signals_fired_total",
                "symbol" => symbol.clone(),
                "signal" => sig.id.as_str(),
                "level" => sig.level.as_str()
            )
            .increment(1);
        }
    }
}

fn level_number(level: crate::model::Level) -> f64 {
    match level {
        crate::model::Level::None => 0.0,
        crate::model::Level::Low => 1.0,
        crate::model::Level::Medium => 2.0,
        crate::model::Level::High => 3.0,
    }
}

/// The `perpwatch_healthy` gauge, computed at scrape time (a stalled loop records nothing).
pub(crate) fn healthy_gauge(healthy: bool) -> String {
    format!(
        "# HELP perpwatch_healthy 1 while cycles complete with data fetched (as /healthz says)\n\
         # TYPE perpwatch_healthy gauge\n\
         perpwatch_healthy {}\n",
        u8::from(healthy)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{cycle_report, live_label, signal, symbol_report};
    use crate::model::{Bias, Field, Funding, GapReason, Level, Snapshot, SourceKind};
    use crate::signals::SignalId;
    use chrono::Utc;

    #[test]
    fn metrics_from_a_cycle_report() {
        let (recorder, handle) = recorder();
        let at = Utc::now();
        let mut btc = Snapshot::new("BTC", SourceKind::Live, at);
        btc.funding = Field::fresh(Funding::default(), at);
        btc.taker = Field::absent(GapReason::NotInPlan);
        let mut report = cycle_report(
            3,
            at,
            live_label(Some("STANDARD")),
            vec![symbol_report(
                btc,
                vec![signal(
                    SignalId::FundingExtremeLong,
                    Level::High,
                    Bias::Bearish,
                    "t",
                    "m",
                )],
            )],
        );
        report.finished_at = at + chrono::Duration::milliseconds(1500);
        report.requests.this_cycle = 12;
        report.requests.limit_per_minute = Some(300);
        let summary = CycleSummary::of(&report);
        metrics::with_local_recorder(&recorder, || {
            describe();
            record_cycle(&report, &summary);
            record_cycle(&report, &summary);
        });
        let text = handle.render();
        for line in [
            "perpwatch_cycles_total 2",
            "perpwatch_cycle_duration_seconds_bucket{le=\"2.5\"} 2",
            "perpwatch_cycle_duration_seconds_count 2",
            "perpwatch_cycle_requests 12",
            "perpwatch_rate_limit_per_minute 300",
            "perpwatch_cycle_fetched_metric_groups 1",
            "perpwatch_metric_groups{symbol=\"BTC\",state=\"fresh\"} 1",
            "perpwatch_metric_groups{symbol=\"BTC\",state=\"stale\"} 0",
            "perpwatch_metric_groups{symbol=\"BTC\",state=\"absent\"} 6",
            "perpwatch_symbol_level{symbol=\"BTC\"} 3",
            "perpwatch_signals_fired_total{symbol=\"BTC\",signal=\"funding_extreme_long\",level=\"HIGH\"} 2",
            "perpwatch_source_info{kind=\"live\",plan=\"STANDARD\"} 1",
            "# HELP perpwatch_metric_groups Metric groups per symbol",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        // The server never sent its usage figure: no made-up 0.
        assert!(!text.contains("perpwatch_rate_limit_used "), "{text}");
        assert_eq!(
            healthy_gauge(false).lines().last(),
            Some("perpwatch_healthy 0")
        );
    }
}
