use super::*;
use crate::model::{Field, Funding, SourceKind};

fn report(cycle: u64, failed: bool) -> CycleReport {
    let t = Utc::now() + chrono::Duration::minutes(cycle as i64);
    let mut s = Snapshot::new("BTC", SourceKind::Live, t);
    if failed {
        // A value kept from before (stale) and a failed fetch: nothing refreshed.
        s.funding = Field::fresh(Funding::default(), t - chrono::Duration::minutes(5));
        s.funding
            .mark_failed(GapReason::FetchFailed("HTTP 500".into()));
        s.open_interest = Field::absent(GapReason::RateLimited);
    } else {
        s.funding = Field::fresh(Funding::default(), t);
        s.open_interest = Field::absent(GapReason::FetchFailed("HTTP 500".into()));
    }
    let symbol = crate::fixtures::symbol_report(s, vec![]);
    crate::fixtures::cycle_report(cycle, t, crate::fixtures::live_label(None), vec![symbol])
}

/// The alerter and the history store write the same file: queueing a cycle must wait for
/// the store's lock, never fail with "database is locked" (it once lost a cycle's alerts).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queueing_waits_for_the_history_store_instead_of_failing() {
    let dir = tempfile::tempdir().unwrap();
    let db = outbox::Db::open(dir.path()).unwrap();
    let mut store = crate::store::Store::open_in(dir.path()).unwrap();
    let writer = std::thread::spawn(move || {
        for k in 0..200 {
            store.write_cycle(&report(k, false)).unwrap();
        }
    });
    let cfg = AlertsConfig::default();
    for k in 0..200u64 {
        let mut r = report(k, false);
        r.symbols[0].signals.push(crate::signals::Signal {
            id: crate::signals::SignalId::OiSurge,
            level: if k % 2 == 0 {
                Level::Medium
            } else {
                Level::High
            },
            bias: crate::model::Bias::Neutral,
            title: "t".into(),
            message: "m".into(),
            threshold: None,
            record: None,
            no_record: None,
        });
        db.call(move |c| {
            queue_cycle(
                c,
                &r,
                &cfg,
                None,
                &[SinkKind::Telegram],
                &Cooldowns::default(),
            )
        })
        .await
        .unwrap_or_else(|e| panic!("cycle {k}: {e}"));
    }
    writer.join().unwrap();
}

#[test]
fn failed_cycle_definition() {
    assert!(cycle_failed(&report(1, true)));
    // One group refreshed: not failed, even with another fetch failing.
    assert!(!cycle_failed(&report(1, false)));
    // Nothing failed and nothing fetched (all carried over by schedule): not failed.
    let mut r = report(1, false);
    r.symbols[0].snapshot.open_interest = Field::default();
    r.symbols[0].snapshot.funding.observed_at = Some(r.started_at - chrono::Duration::minutes(1));
    assert!(!cycle_failed(&r));
}

#[test]
fn health_says_failing_once_and_recovered_once() {
    let mut h = Health::new(3);
    let mut events = Vec::new();
    for (i, failed) in [
        true, true, false, true, true, true, true, true, false, false,
    ]
    .into_iter()
    .enumerate()
    {
        if let Some(e) = h.observe(&report(i as u64, failed)) {
            events.push((i, e));
        }
    }
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(matches!(
        events[0],
        (5, HealthEvent::Failing { cycles: 3, .. })
    ));
    assert!(matches!(events[1], (8, HealthEvent::Recovered { .. })));
}

#[test]
fn sink_state_texts() {
    assert_eq!(
        SinkState::Ok {
            sink: SinkKind::Telegram
        }
        .to_string(),
        "telegram ok"
    );
    assert_eq!(
        SinkState::Retrying {
            sink: SinkKind::Telegram,
            reason: "HTTP 502".into()
        }
        .to_string(),
        "telegram retrying: HTTP 502"
    );
    assert_eq!(
        SinkState::Disabled {
            sink: SinkKind::Telegram,
            reason: "bot token refused (401)".into()
        }
        .to_string(),
        "telegram disabled: bot token refused (401)"
    );
    assert_eq!(SinkState::Off.to_string(), "alerts off");
}
