//! End-to-end runs of the real binary with alerts on, against a local Telegram mock: a SIGKILL
//! during a send followed by a restart loses nothing and repeats at most the in-flight message;
//! a clean exit (`--once`, SIGTERM) finishes the send in flight and never repeats it; `--once`
//! flushes its alerts; an outbox that cannot be written or an unusable data dir still sends and
//! says so; `alert-test` says what happened and exits with the documented code.

mod common;

use common::{run, text, wait_until, Sandbox};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "987654:E2E-bot-token-SECRET-abc";
const CHAT: &str = "-1001112223334";

/// Records every sendMessage body; answers ok, after a long delay while `slow` is set (else
/// after `delay`, if set).
#[derive(Clone, Default)]
struct Recorder {
    bodies: Arc<Mutex<Vec<Value>>>,
    slow: Arc<AtomicBool>,
    delay: Arc<Mutex<Option<Duration>>>,
    reply: Arc<Mutex<Option<ResponseTemplate>>>,
}

impl Respond for Recorder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        self.bodies.lock().unwrap().push(body);
        let reply = self.reply.lock().unwrap().clone().unwrap_or_else(|| {
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": true, "result": {"message_id": 7}}))
        });
        if self.slow.load(Ordering::SeqCst) {
            reply.set_delay(Duration::from_secs(30))
        } else if let Some(d) = *self.delay.lock().unwrap() {
            reply.set_delay(d)
        } else {
            reply
        }
    }
}

impl Recorder {
    fn texts(&self) -> Vec<String> {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .map(|b| b["text"].as_str().unwrap_or_default().to_string())
            .collect()
    }
    fn count(&self) -> usize {
        self.bodies.lock().unwrap().len()
    }
}

async fn telegram(rec: &Recorder) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/bot{TOKEN}/sendMessage")))
        .respond_with(rec.clone())
        .mount(&server)
        .await;
    server
}

fn with_telegram(cmd: &mut Command, api: &str) {
    cmd.env("TELEGRAM_BOT_TOKEN", TOKEN)
        .env("TELEGRAM_CHAT_ID", CHAT)
        .env("TELEGRAM_API_URL", api);
}

/// Symbols whose demo phase fires MEDIUM/HIGH signals on the first cycle.
const SYMBOLS: &str = "SOL,XRP,DOGE,ADA,AVAX";

fn daemon(sb: &Sandbox, api: &str, run: u32) -> Child {
    let mut cmd = sb.command();
    with_telegram(&mut cmd, api);
    let out = std::fs::File::create(sb.path().join(format!("stdout{run}"))).unwrap();
    let err = std::fs::File::create(sb.path().join(format!("stderr{run}"))).unwrap();
    cmd.args([
        "--no-ui",
        "--demo",
        "--demo-speed",
        "20",
        "--poll-interval",
        "10s",
        "--symbols",
        SYMBOLS,
    ])
    .stdout(Stdio::from(out))
    .stderr(Stdio::from(err));
    cmd.spawn().expect("spawn perpwatch")
}

/// (id, state, attempts, html) of every outbox row.
fn outbox(sb: &Sandbox) -> Vec<(i64, String, i64, String)> {
    let Ok(conn) = rusqlite::Connection::open_with_flags(
        sb.data_dir().join("perpwatch.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    ) else {
        return Vec::new();
    };
    let Ok(mut stmt) =
        conn.prepare("SELECT id, state, attempts, payload FROM alert_outbox ORDER BY id")
    else {
        return Vec::new();
    };
    stmt.query_map([], |r| {
        let payload: String = r.get(3)?;
        let v: Value = serde_json::from_str(&payload).unwrap_or(Value::Null);
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            v["html"].as_str().unwrap_or_default().to_string(),
        ))
    })
    .map(|rows| rows.filter_map(Result::ok).collect())
    .unwrap_or_default()
}

/// `(symbol, signal id)` pairs a message alerts on: its `<code>id</code>` tags and the symbol
/// in its bold header ("HIGH · SOL").
fn alerted_pairs(html: &str) -> Vec<(String, String)> {
    let symbol = html
        .split("<b>")
        .nth(1)
        .and_then(|h| h.split("</b>").next())
        .and_then(|h| h.split(" · ").nth(1))
        .unwrap_or_default()
        .to_string();
    html.split("<code>")
        .skip(1)
        .filter_map(|c| c.split("</code>").next())
        .map(|id| (symbol.clone(), id.to_string()))
        .collect()
}

fn assert_no_token(sb: &Sandbox, runs: u32) {
    for run in 1..=runs {
        for f in ["stdout", "stderr"] {
            let s =
                std::fs::read_to_string(sb.path().join(format!("{f}{run}"))).unwrap_or_default();
            assert!(!s.contains(TOKEN), "token in {f}{run}");
        }
    }
    assert!(!sb.logs().contains(TOKEN), "token in the log files");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_send_then_restart_loses_nothing() {
    let rec = Recorder::default();
    rec.slow.store(true, Ordering::SeqCst);
    let server = telegram(&rec).await;
    let sb = Sandbox::new();

    // Run 1: the first alert's send hangs at the mock; kill -9 while it is in flight.
    let mut first = daemon(&sb, &server.uri(), 1);
    wait_until("the first send", 30, || rec.count() >= 1).await;
    wait_until("the first cycle's rows", 10, || outbox(&sb).len() >= 3).await;
    first.kill().expect("SIGKILL");
    first.wait().expect("reap");
    let before = outbox(&sb);
    assert_eq!(rec.count(), 1, "one send in flight at the kill");
    assert!(
        before.iter().all(|(_, state, _, _)| state == "pending"),
        "nothing was acknowledged: {before:?}"
    );
    assert_eq!(before[0].2, 1, "the in-flight row counted its attempt");
    let in_flight = rec.texts()[0].clone();
    assert_eq!(
        in_flight, before[0].3,
        "the in-flight message is the oldest row"
    );

    // Run 2 on the same data dir, with a prompt mock: the outbox drains.
    rec.slow.store(false, Ordering::SeqCst);
    let mut second = daemon(&sb, &server.uri(), 2);
    wait_until("every row sent", 30, || {
        let rows = outbox(&sb);
        rows.len() >= before.len() && rows.iter().all(|(_, s, _, _)| s == "sent")
    })
    .await;
    // SIGTERM still exits promptly with the alerter running.
    let (status, took) = common::terminate(&mut second);
    assert_eq!(status.code(), Some(0));
    assert!(took < Duration::from_secs(2), "{took:?}");

    // At the mock: every row arrived; only the in-flight one may have arrived twice.
    let after = outbox(&sb);
    let texts = rec.texts();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for t in &texts {
        *counts.entry(t.as_str()).or_default() += 1;
    }
    let rows: HashSet<&str> = after.iter().map(|(_, _, _, h)| h.as_str()).collect();
    assert_eq!(
        rows.len(),
        after.len(),
        "distinct bodies, so counting them is meaningful"
    );
    for (_, state, _, html) in &after {
        assert_eq!(state, "sent");
        assert!(
            counts.contains_key(html.as_str()),
            "row never delivered: {html}"
        );
    }
    for t in counts.keys() {
        assert!(rows.contains(t), "a message that is not in the outbox: {t}");
    }
    let twice: Vec<&&str> = counts
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(t, _)| t)
        .collect();
    assert!(twice.len() <= 1, "more than one repeat: {twice:?}");
    assert!(counts.values().all(|n| *n <= 2));
    if let Some(t) = twice.first() {
        assert_eq!(**t, in_flight, "only the in-flight message repeats");
    }
    assert_eq!(texts.len(), after.len() + twice.len());
    // The cooldown survived the restart: run 2 did not alert the pairs run 1 queued.
    let run1: HashSet<(String, String)> = before
        .iter()
        .flat_map(|(_, _, _, h)| alerted_pairs(h))
        .collect();
    assert!(!run1.is_empty());
    let max_before = before.iter().map(|r| r.0).max().unwrap_or(0);
    for (id, _, _, html) in after.iter().filter(|r| r.0 > max_before) {
        for pair in alerted_pairs(html) {
            assert!(
                !run1.contains(&pair),
                "row {id} re-alerted {pair:?} after restart"
            );
        }
    }
    // Every message is marked DEMO.
    assert!(texts.iter().all(|t| t.contains("<b>DEMO</b>")));
    let logs = sb.logs();
    assert!(
        logs.contains("unsent message(s) from an earlier run"),
        "{logs}"
    );
    assert_no_token(&sb, 2);
    println!(
        "kill -9 e2e: {} rows queued before the kill, {} in all, {} request(s) at the mock, {} repeated",
        before.len(),
        after.len(),
        texts.len(),
        twice.len()
    );
}

#[tokio::test]
async fn once_flushes_its_alerts_before_exiting() {
    let rec = Recorder::default();
    let server = telegram(&rec).await;
    let sb = Sandbox::new();
    let mut cmd = sb.command();
    with_telegram(&mut cmd, &server.uri());
    cmd.args(["--no-ui", "--once", "--demo", "--symbols", "SOL"]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("SOL"));
    let texts = rec.texts();
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(texts[0].contains("· SOL"), "{}", texts[0]);
    assert!(
        texts[0].contains("<b>DEMO</b>: simulated market"),
        "{}",
        texts[0]
    );
    assert!(texts[0].contains("Funding 8h: "), "{}", texts[0]);
    assert!(!stderr.contains(TOKEN) && !stdout.contains(TOKEN) && !sb.logs().contains(TOKEN));
}

async fn alert_test(api: &str) -> (Option<i32>, String, String, String) {
    let sb = Sandbox::new();
    let mut cmd = sb.command();
    with_telegram(&mut cmd, api);
    cmd.arg("alert-test");
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    (out.status.code(), stdout, stderr, sb.logs())
}

#[tokio::test]
async fn alert_test_wording_and_exit_codes() {
    let cases: Vec<(Option<ResponseTemplate>, Option<i32>, &str)> = vec![
        (None, Some(0), "telegram: ok: test message delivered to chat -1001112223334"),
        (
            Some(ResponseTemplate::new(401).set_body_json(
                json!({"ok": false, "error_code": 401, "description": "Unauthorized"}),
            )),
            Some(4),
            "telegram: bad token: Telegram refused the bot token",
        ),
        (
            Some(ResponseTemplate::new(400).set_body_json(
                json!({"ok": false, "error_code": 400, "description": "Bad Request: chat not found"}),
            )),
            Some(4),
            "telegram: chat not found: ",
        ),
    ];
    for (reply, code, says) in cases {
        let rec = Recorder::default();
        *rec.reply.lock().unwrap() = reply;
        let server = telegram(&rec).await;
        let (got, stdout, stderr, logs) = alert_test(&server.uri()).await;
        assert_eq!(got, code, "{says}: {stdout} {stderr}");
        assert!(stdout.contains(says), "expected {says:?} in {stdout}");
        assert_eq!(rec.count(), 1, "one attempt, no retry loop");
        for s in [&stdout, &stderr, &logs] {
            assert!(!s.contains(TOKEN), "{s}");
        }
    }

    // Unreachable: a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let (got, stdout, stderr, logs) = alert_test(&format!("http://127.0.0.1:{port}")).await;
    assert_eq!(got, Some(5), "{stdout} {stderr}");
    assert!(stdout.contains("telegram: unreachable: "), "{stdout}");
    for s in [&stdout, &stderr, &logs] {
        assert!(!s.contains(TOKEN), "{s}");
    }

    // No sink at all.
    let sb = Sandbox::new();
    let mut cmd = sb.command();
    cmd.arg("alert-test");
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("no alert sink configured"), "{stderr}");
    assert!(stdout.is_empty());
}

#[tokio::test]
async fn alert_test_covers_every_sink() {
    let rec = Recorder::default();
    let server = telegram(&rec).await;
    let hook = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook/SECRET-PATH"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&hook)
        .await;
    let sb = Sandbox::new();
    let mut cmd = sb.command();
    with_telegram(&mut cmd, &server.uri());
    cmd.env("WEBHOOK_URL", format!("{}/hook/SECRET-PATH", hook.uri()))
        .arg("alert-test");
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout} {stderr}");
    assert!(stdout.contains("telegram: ok"), "{stdout}");
    assert!(
        stdout.contains("webhook: ok: test message accepted by http://127.0.0.1:"),
        "{stdout}"
    );
    assert!(!stdout.contains("SECRET-PATH") && !sb.logs().contains("SECRET-PATH"));
    let received = hook.received_requests().await.unwrap_or_default();
    assert_eq!(received.len(), 1);
    let body: Value = serde_json::from_slice(&received[0].body).unwrap();
    assert_eq!(body["kind"], "test");
    assert!(body["text"]
        .as_str()
        .is_some_and(|t| t.contains("perpwatch test alert")));
}

/// Four `--once` runs against a Telegram that answers after 3 s: the send in flight at each
/// exit is finished and recorded, so every message arrives once (it used to arrive four times).
#[tokio::test]
async fn once_runs_with_a_slow_telegram_deliver_each_alert_once() {
    let rec = Recorder::default();
    *rec.delay.lock().unwrap() = Some(Duration::from_secs(3));
    let server = telegram(&rec).await;
    let sb = Sandbox::new();
    let mut took = Vec::new();
    for run_no in 1..=4 {
        let mut cmd = sb.command();
        with_telegram(&mut cmd, &server.uri());
        cmd.args(["--no-ui", "--once", "--demo", "--symbols", "SOL"]);
        let started = std::time::Instant::now();
        let out = run(cmd).await;
        took.push(started.elapsed());
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "run {run_no}: {stderr}");
        assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN));
    }
    let rows = outbox(&sb);
    assert!(!rows.is_empty(), "the first run queued an alert");
    assert!(
        rows.iter()
            .all(|(_, state, attempts, _)| state == "sent" && *attempts == 1),
        "every row sent, in one attempt: {rows:?}"
    );
    let texts = rec.texts();
    assert_eq!(texts.len(), rows.len(), "one request per row: {texts:?}");
    for (id, _, _, html) in &rows {
        assert_eq!(
            texts.iter().filter(|t| *t == html).count(),
            1,
            "row {id} delivered once"
        );
    }
    // Bounded: the flush window, then at most 6 s for the answer (about 8 s); generous for CI.
    for t in &took {
        assert!(*t < Duration::from_secs(30), "{took:?}");
    }
    assert!(!sb.logs().contains(TOKEN));
    println!(
        "four --once runs with a 3 s Telegram: {took:?}, {} request(s)",
        texts.len()
    );
}

/// SIGTERM while a send is in flight: perpwatch waits for the answer (bounded by the request
/// timeout), records it and exits 0; nothing is left half-sent.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_send_finishes_and_records_it() {
    let rec = Recorder::default();
    *rec.delay.lock().unwrap() = Some(Duration::from_secs(3));
    let server = telegram(&rec).await;
    let sb = Sandbox::new();
    let mut child = daemon(&sb, &server.uri(), 1);
    wait_until("the first send", 30, || rec.count() >= 1).await;
    let in_flight = rec.texts()[0].clone();
    // Worst case: the 1.2 s flush window, then at most 6 s for the answer, then the record.
    let (status, took) = common::terminate_within(&mut child, 20);
    assert_eq!(status.code(), Some(0));
    let rows = outbox(&sb);
    let row = rows
        .iter()
        .find(|r| r.3 == in_flight)
        .unwrap_or_else(|| panic!("the in-flight message is a row: {rows:?}"));
    assert_eq!(row.1, "sent", "recorded: the next start will not repeat it");
    let texts = rec.texts();
    for (id, state, attempts, html) in &rows {
        let arrived = texts.iter().filter(|t| *t == html).count();
        assert!(arrived <= 1, "row {id} arrived {arrived} times");
        // Every row is either sent (and arrived) or was never started.
        match state.as_str() {
            "sent" => assert_eq!(arrived, 1, "row {id}"),
            _ => assert_eq!((*attempts, arrived), (0, 0), "row {id} half-sent"),
        }
    }
    assert_no_token(&sb, 1);
    println!("SIGTERM with a 3 s send in flight: exit after {took:?}");
}

/// The outbox cannot be written (injected: inserts fail with "database or disk is full"): the
/// run still delivers its alert, says so once and exits 0.
#[tokio::test]
async fn an_unwritable_outbox_still_delivers() {
    let rec = Recorder::default();
    let server = telegram(&rec).await;
    let sb = Sandbox::new();
    let once = |symbols: &str| {
        let mut cmd = sb.command();
        with_telegram(&mut cmd, &server.uri());
        cmd.args(["--no-ui", "--once", "--demo", "--symbols", symbols]);
        cmd
    };
    let out = run(once("SOL")).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let sent_before = rec.count();
    let rows = outbox(&sb);
    let rows_before = rows.len();
    // Under load the first run can exit before its flush window sends everything; those rows
    // wait in the outbox and the next run delivers them first (the outbox is durable).
    let pending_before: Vec<String> = rows
        .into_iter()
        .filter(|(_, state, _, _)| state != "sent")
        .map(|(_, _, _, html)| html)
        .collect();
    {
        let db = rusqlite::Connection::open(sb.data_dir().join("perpwatch.db")).expect("db");
        db.execute_batch(
            "CREATE TRIGGER disk_full BEFORE INSERT ON alert_outbox
             BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END;",
        )
        .expect("trigger");
    }
    let out = run(once("XRP")).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        stderr
            .matches("alerts are sent without queueing them")
            .count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("database or disk is full"), "{stderr}");
    let texts = rec.texts();
    let new = &texts[sent_before..];
    assert!(
        new.iter().any(|t| t.contains("· XRP")),
        "{stderr}\n{texts:?}"
    );
    assert!(
        new.iter()
            .all(|t| t.contains("· XRP") || pending_before.contains(t)),
        "only XRP and what the first run left queued: {texts:?}"
    );
    assert_eq!(outbox(&sb).len(), rows_before, "nothing was written");
    assert!(!stderr.contains(TOKEN));
}

/// `PERPWATCH_DATA_DIR` naming a file is a config error (exit 2) naming the key, the path and
/// what is allowed.
#[tokio::test]
async fn a_data_dir_that_is_a_file_is_a_config_error() {
    let sb = Sandbox::new();
    std::fs::write(sb.data_dir(), "not a directory").expect("file");
    let mut cmd = sb.command();
    cmd.args(["--no-ui", "--once", "--demo"]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout} {stderr}");
    let shown = sb.data_dir().display().to_string();
    assert!(
        stderr.contains(&format!(
            "config error: data_dir = {shown:?} in environment variable PERPWATCH_DATA_DIR"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("expected a directory path"), "{stderr}");
    assert!(stderr.contains("it is an existing file"), "{stderr}");
}

/// A data dir whose files cannot be written (`logs` is a file, `perpwatch.db` a directory:
/// unwritable even for root): stderr says what failed and what still works, the log lines
/// still reach stderr, the alert is still sent, exit 0.
#[tokio::test]
async fn an_unwritable_data_dir_is_said_on_stderr_and_alerts_still_go() {
    let rec = Recorder::default();
    let server = telegram(&rec).await;
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.data_dir()).expect("data dir");
    std::fs::write(sb.data_dir().join("logs"), "in the way").expect("logs file");
    std::fs::create_dir(sb.data_dir().join("perpwatch.db")).expect("db dir");
    let mut cmd = sb.command();
    with_telegram(&mut cmd, &server.uri());
    cmd.args(["--no-ui", "--once", "--demo", "--symbols", "SOL"]);
    let out = run(cmd).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("SOL"), "{stdout}");
    let logs = sb.data_dir().join("logs").display().to_string();
    assert!(
        stderr.contains(&format!("cannot create the log directory {logs}")),
        "{stderr}"
    );
    assert!(stderr.contains("log lines go to stderr only"), "{stderr}");
    let db = sb.data_dir().join("perpwatch.db").display().to_string();
    assert!(
        stderr.contains(&format!("cannot write {db} (it is a directory)")),
        "{stderr}"
    );
    assert!(
        stderr.contains("history is not recorded")
            && stderr.contains("monitoring, the output and sending alerts still work"),
        "{stderr}"
    );
    // Ordinary log lines are not lost.
    assert!(stderr.contains("alert queued: SOL"), "{stderr}");
    assert_eq!(rec.count(), 1, "{stderr}");
    assert!(!stderr.contains(TOKEN));
}
