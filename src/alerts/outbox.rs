//! The durable outbox (`alert_outbox` in `<data dir>/perpwatch.db`): every message is written
//! here, in the same transaction as its cooldown entries, before any send; a delivery task marks
//! it `sent` after the sink said ok. A crash loses nothing: on restart the `pending` rows are sent
//! (if still young enough) — only a row whose send was in flight can arrive twice.
//!
//! All SQLite work runs on the blocking pool ([`Db::call`]), never on the async workers.

use super::{AlertError, SinkKind};
use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The database file in the data dir (shared with the history store, which adds its own tables).
pub(crate) const DB_FILE: &str = "perpwatch.db";

/// Sent and dropped rows are kept this long (for inspection), then deleted at start.
const KEEP_DONE_DAYS: i64 = 7;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS alert_outbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    sink        TEXT    NOT NULL,             -- 'telegram' | 'webhook'
    kind        TEXT    NOT NULL,             -- 'signals' | 'source_failing' | 'source_recovered'
    symbol      TEXT,
    created_at  INTEGER NOT NULL,             -- cycle time, unix ms: start of the usefulness window
    payload     TEXT    NOT NULL,             -- JSON, see Payload
    state       TEXT    NOT NULL DEFAULT 'pending',  -- 'pending' | 'sent' | 'dropped'
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    done_at     INTEGER                       -- unix ms, when sent or dropped
);
CREATE INDEX IF NOT EXISTS alert_outbox_pending ON alert_outbox (sink, state, id);
CREATE TABLE IF NOT EXISTS alert_cooldown (
    symbol      TEXT    NOT NULL,
    signal_id   TEXT    NOT NULL,
    level       INTEGER NOT NULL,             -- 1 LOW, 2 MEDIUM, 3 HIGH
    alerted_at  INTEGER NOT NULL,             -- unix ms
    PRIMARY KEY (symbol, signal_id)
);
";

/// What a row sends. Telegram rows hold one message part (HTML and its plain-text twin, for the
/// "can't parse entities" fallback); webhook rows hold the JSON body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Payload {
    Telegram { html: String, plain: String },
    Webhook { body: serde_json::Value },
}

/// A pending row, as the delivery task sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub id: i64,
    pub sink: SinkKind,
    pub kind: String,
    pub symbol: Option<String>,
    pub created_at: DateTime<Utc>,
    pub payload: Payload,
    pub attempts: u32,
    /// Not in the outbox (it could not be written): sent best effort from memory, never marked.
    pub unqueued: bool,
}

impl Row {
    /// A row the outbox could not take, to send from memory (id 0: it has no outbox id).
    pub(crate) fn unqueued(new: NewRow) -> Row {
        Row {
            id: 0,
            sink: new.sink,
            kind: new.kind,
            symbol: new.symbol,
            created_at: new.created_at,
            payload: new.payload,
            attempts: 0,
            unqueued: true,
        }
    }

    /// "signals alert #3 for SOL" / "source_failing alert #4" / "signals alert for SOL
    /// (unqueued)", for log lines.
    pub(crate) fn describe(&self) -> String {
        let id = if self.unqueued {
            String::new()
        } else {
            format!(" #{}", self.id)
        };
        let tail = if self.unqueued { " (unqueued)" } else { "" };
        match &self.symbol {
            Some(s) => format!("{} alert{id} for {s}{tail}", self.kind),
            None => format!("{} alert{id}{tail}", self.kind),
        }
    }
}

/// A row to insert.
#[derive(Debug, Clone)]
pub struct NewRow {
    pub sink: SinkKind,
    pub kind: String,
    pub symbol: Option<String>,
    pub created_at: DateTime<Utc>,
    pub payload: Payload,
}

pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The shared connection. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Db {
    conn: Arc<Mutex<Connection>>,
    path: Arc<PathBuf>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("path", &self.path).finish()
    }
}

impl Db {
    /// Opens (creating) `<data_dir>/perpwatch.db` in WAL mode and creates the alert tables.
    pub(crate) fn open(data_dir: &Path) -> Result<Db, AlertError> {
        let path = data_dir.join(DB_FILE);
        let fail = |e: &dyn std::fmt::Display| AlertError::Db {
            path: path.clone(),
            reason: e.to_string(),
        };
        std::fs::create_dir_all(data_dir).map_err(|e| fail(&e))?;
        let conn = Connection::open(&path).map_err(|e| fail(&e))?;
        // Before anything else: the history store shares the file, and switching to WAL or
        // creating tables must wait for its lock instead of failing.
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| fail(&e))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| fail(&e))?;
        // NORMAL is durable across a process crash (the case the outbox is for) in WAL mode.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| fail(&e))?;
        conn.execute_batch(SCHEMA).map_err(|e| fail(&e))?;
        let cutoff = ms(Utc::now() - chrono::Duration::days(KEEP_DONE_DAYS));
        conn.execute(
            "DELETE FROM alert_outbox WHERE state != 'pending' AND done_at < ?1",
            params![cutoff],
        )
        .map_err(|e| fail(&e))?;
        Ok(Db {
            conn: Arc::new(Mutex::new(conn)),
            path: Arc::new(path),
        })
    }

    /// An outbox in memory, for a run whose data dir cannot hold `perpwatch.db`: alerts are
    /// queued and sent as usual, but a restart forgets the unsent ones and the cooldown.
    /// `path` is the file that could not be used (for messages).
    pub(crate) fn in_memory(path: PathBuf) -> rusqlite::Result<Db> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch(SCHEMA)?;
        Ok(Db {
            conn: Arc::new(Mutex::new(conn)),
            path: Arc::new(path),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the blocking pool with the connection.
    pub(crate) async fn call<T, F>(&self, f: F) -> Result<T, AlertError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        let path = Arc::clone(&self.path);
        let fail = move |reason: String| AlertError::Db {
            path: path.to_path_buf(),
            reason,
        };
        let joined = tokio::task::spawn_blocking(move || {
            // A panic while holding the lock poisons it; the connection itself is still usable.
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await;
        match joined {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(fail(e.to_string())),
            Err(e) => Err(fail(format!("database task failed: {e}"))),
        }
    }
}

/// Inserts rows (inside the caller's transaction).
pub(crate) fn insert(conn: &Connection, rows: &[NewRow]) -> rusqlite::Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO alert_outbox (sink, kind, symbol, created_at, payload) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut ids = Vec::with_capacity(rows.len());
    for r in rows {
        let payload = serde_json::to_string(&r.payload)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        stmt.execute(params![
            r.sink.as_str(),
            r.kind,
            r.symbol,
            ms(r.created_at),
            payload
        ])?;
        ids.push(conn.last_insert_rowid());
    }
    Ok(ids)
}

/// The oldest pending row of `sink`.
pub(crate) fn next_pending(conn: &Connection, sink: SinkKind) -> rusqlite::Result<Option<Row>> {
    let raw = conn
        .query_row(
            "SELECT id, kind, symbol, created_at, payload, attempts FROM alert_outbox
             WHERE sink = ?1 AND state = 'pending' ORDER BY id LIMIT 1",
            params![sink.as_str()],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            },
        )
        .optional()?;
    let Some((id, kind, symbol, created, payload, attempts)) = raw else {
        return Ok(None);
    };
    match serde_json::from_str::<Payload>(&payload) {
        Ok(payload) => Ok(Some(Row {
            id,
            sink,
            kind,
            symbol,
            created_at: from_ms(created),
            payload,
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            unqueued: false,
        })),
        Err(e) => {
            // A row nobody can read (hand-edited, or from a future version): set it aside.
            tracing::warn!(id, "dropping an unreadable outbox row: {e}");
            mark_dropped(conn, id, &format!("unreadable payload: {e}"))?;
            next_pending(conn, sink)
        }
    }
}

/// Counts a send attempt (written before the request leaves).
pub(crate) fn mark_attempt(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE alert_outbox SET attempts = attempts + 1 WHERE id = ?1",
        params![id],
    )?;
    Ok(())
}

pub(crate) fn mark_sent(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE alert_outbox SET state = 'sent', done_at = ?2, last_error = NULL WHERE id = ?1",
        params![id, ms(Utc::now())],
    )?;
    Ok(())
}

pub(crate) fn mark_dropped(conn: &Connection, id: i64, reason: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE alert_outbox SET state = 'dropped', done_at = ?2, last_error = ?3 WHERE id = ?1",
        params![id, ms(Utc::now()), reason],
    )?;
    Ok(())
}

pub(crate) fn note_error(conn: &Connection, id: i64, reason: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE alert_outbox SET last_error = ?2 WHERE id = ?1",
        params![id, reason],
    )?;
    Ok(())
}

/// Pending rows of `sink`.
pub(crate) fn pending_count(conn: &Connection, sink: SinkKind) -> rusqlite::Result<u64> {
    conn.query_row(
        "SELECT COUNT(*) FROM alert_outbox WHERE sink = ?1 AND state = 'pending'",
        params![sink.as_str()],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| u64::try_from(n).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(sink: SinkKind, n: u32) -> NewRow {
        NewRow {
            sink,
            kind: "signals".into(),
            symbol: Some(format!("S{n}")),
            created_at: Utc::now(),
            payload: Payload::Telegram {
                html: format!("<b>{n}</b>"),
                plain: n.to_string(),
            },
        }
    }

    #[tokio::test]
    async fn rows_survive_reopen_in_order_until_marked() -> Result<(), AlertError> {
        let dir = tempfile::tempdir().map_err(|e| AlertError::Db {
            path: "tmp".into(),
            reason: e.to_string(),
        })?;
        let db = Db::open(dir.path())?;
        let ids = db
            .call(|c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let ids = insert(
                    &tx,
                    &[
                        row(SinkKind::Telegram, 1),
                        row(SinkKind::Webhook, 2),
                        row(SinkKind::Telegram, 3),
                    ],
                )?;
                tx.commit()?;
                Ok(ids)
            })
            .await?;
        drop(db);
        let db = Db::open(dir.path())?;
        let first = db
            .call(|c| next_pending(c, SinkKind::Telegram))
            .await?
            .map(|r| (r.id, r.symbol));
        assert_eq!(first, Some((ids[0], Some("S1".into()))));
        let id0 = ids[0];
        db.call(move |c| {
            mark_attempt(c, id0)?;
            mark_sent(c, id0)
        })
        .await?;
        let next = db.call(|c| next_pending(c, SinkKind::Telegram)).await?;
        assert_eq!(next.map(|r| r.id), Some(ids[2]));
        let id2 = ids[2];
        db.call(move |c| mark_dropped(c, id2, "chat not found"))
            .await?;
        assert_eq!(db.call(|c| pending_count(c, SinkKind::Telegram)).await?, 0);
        assert_eq!(db.call(|c| pending_count(c, SinkKind::Webhook)).await?, 1);
        Ok(())
    }

    #[tokio::test]
    async fn unreadable_rows_are_set_aside() -> Result<(), AlertError> {
        let dir = tempfile::tempdir().map_err(|e| AlertError::Db {
            path: "tmp".into(),
            reason: e.to_string(),
        })?;
        let db = Db::open(dir.path())?;
        let got = db
            .call(|c| {
                c.execute(
                    "INSERT INTO alert_outbox (sink, kind, created_at, payload) VALUES ('telegram', 'signals', 0, 'not json')",
                    [],
                )?;
                insert(c, &[row(SinkKind::Telegram, 7)])?;
                next_pending(c, SinkKind::Telegram)
            })
            .await?;
        assert_eq!(got.and_then(|r| r.symbol), Some("S7".into()));
        Ok(())
    }
}
