//! Cooldown per (symbol, signal id), persisted in `alert_cooldown` so a restart does not re-send.
//! A signal alerts when it has no entry, when its cooldown (by level: HIGH 30 min, MEDIUM 60 min,
//! LOW 6 h by default) has passed since the last alert, or at once when its level rose above the
//! level last alerted.

use crate::config::AlertsConfig;
use crate::model::Level;
use crate::signals::{Signal, SignalId};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};
use std::collections::HashMap;

use super::outbox::{from_ms, ms};

/// The last alert of one (symbol, signal id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub level: Level,
    pub alerted_at: DateTime<Utc>,
}

pub(crate) fn cooldown_for(level: Level, cfg: &AlertsConfig) -> std::time::Duration {
    match level {
        Level::High => cfg.cooldown_high,
        Level::Medium => cfg.cooldown_medium,
        Level::Low | Level::None => cfg.cooldown_low,
    }
}

/// Whether a signal at `level` firing at `now` alerts, given its last alert.
pub(crate) fn is_due(
    entry: Option<&Entry>,
    level: Level,
    now: DateTime<Utc>,
    cfg: &AlertsConfig,
) -> bool {
    let Some(e) = entry else { return true };
    if level > e.level {
        return true; // escalation
    }
    // An entry from the future (the clock was set back) would silence the signal for as long
    // as the jump: treat it as expired instead.
    if e.alerted_at > now + chrono::Duration::minutes(1) {
        return true;
    }
    let cooldown =
        chrono::Duration::from_std(cooldown_for(level, cfg)).unwrap_or(chrono::Duration::MAX);
    now - e.alerted_at >= cooldown
}

fn level_num(level: Level) -> i64 {
    match level {
        Level::None => 0,
        Level::Low => 1,
        Level::Medium => 2,
        Level::High => 3,
    }
}

fn level_from(n: i64) -> Level {
    match n {
        3.. => Level::High,
        2 => Level::Medium,
        1 => Level::Low,
        _ => Level::None,
    }
}

/// The entries of one symbol.
pub(crate) fn load(conn: &Connection, symbol: &str) -> rusqlite::Result<HashMap<SignalId, Entry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT signal_id, level, alerted_at FROM alert_cooldown WHERE symbol = ?1",
    )?;
    let rows = stmt.query_map(params![symbol], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    let mut out = HashMap::new();
    for row in rows {
        let (id, level, at) = row?;
        // Ids this version does not know (renamed rules) are ignored.
        if let Some(id) = SignalId::parse(&id) {
            out.insert(
                id,
                Entry {
                    level: level_from(level),
                    alerted_at: from_ms(at),
                },
            );
        }
    }
    Ok(out)
}

/// Records that `signals` of `symbol` alerted at `now`.
pub(crate) fn record(
    conn: &Connection,
    symbol: &str,
    signals: &[Signal],
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO alert_cooldown (symbol, signal_id, level, alerted_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (symbol, signal_id) DO UPDATE SET level = excluded.level, alerted_at = excluded.alerted_at",
    )?;
    for s in signals {
        stmt.execute(params![symbol, s.id.as_str(), level_num(s.level), ms(now)])?;
    }
    Ok(())
}

/// Cooldown entries kept in memory: those of alerts sent while the outbox (and with it
/// `alert_cooldown`) could not be written, so a full disk does not re-alert every cycle.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cooldowns(HashMap<String, HashMap<SignalId, Entry>>);

impl Cooldowns {
    pub(crate) fn record(&mut self, symbol: &str, signals: &[Signal], now: DateTime<Utc>) {
        let entries = self.0.entry(symbol.to_string()).or_default();
        for s in signals {
            entries.insert(
                s.id,
                Entry {
                    level: s.level,
                    alerted_at: now,
                },
            );
        }
    }

    /// `stored` (from the database) with the entries held here; the later alert wins.
    pub(crate) fn merged(
        &self,
        symbol: &str,
        mut stored: HashMap<SignalId, Entry>,
    ) -> HashMap<SignalId, Entry> {
        for (id, mine) in self.0.get(symbol).into_iter().flatten() {
            match stored.get(id) {
                Some(theirs) if theirs.alerted_at >= mine.alerted_at => {}
                _ => {
                    stored.insert(*id, *mine);
                }
            }
        }
        stored
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(min: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap_or_default()
            + chrono::Duration::minutes(min)
    }

    /// Entries kept in memory (outbox not writable) merge with the stored ones: the later alert
    /// wins, per signal id and symbol.
    #[test]
    fn memory_entries_merge_with_stored_ones() {
        let sig = |id, level| crate::signals::Signal {
            id,
            level,
            bias: crate::model::Bias::Neutral,
            title: "t".into(),
            message: "m".into(),
            threshold: None,
            record: None,
            no_record: None,
        };
        let mut memory = Cooldowns::default();
        memory.record(
            "BTC",
            &[
                sig(SignalId::OiSurge, Level::High),
                sig(SignalId::OiMoving, Level::Medium),
            ],
            at(10),
        );
        let stored: HashMap<SignalId, Entry> = [
            (
                SignalId::OiSurge,
                Entry {
                    level: Level::Medium,
                    alerted_at: at(0),
                },
            ),
            (
                SignalId::OiMoving,
                Entry {
                    level: Level::Low,
                    alerted_at: at(20),
                },
            ),
        ]
        .into_iter()
        .collect();
        let merged = memory.merged("BTC", stored.clone());
        assert_eq!(merged[&SignalId::OiSurge].alerted_at, at(10));
        assert_eq!(merged[&SignalId::OiSurge].level, Level::High);
        assert_eq!(
            merged[&SignalId::OiMoving].alerted_at,
            at(20),
            "stored is later"
        );
        assert_eq!(memory.merged("ETH", stored.clone()), stored);
        assert!(memory.merged("ETH", HashMap::new()).is_empty());
    }

    #[test]
    fn cooldown_by_level_and_escalation() {
        let cfg = AlertsConfig::default();
        let high = Entry {
            level: Level::High,
            alerted_at: at(0),
        };
        assert!(is_due(None, Level::Medium, at(0), &cfg));
        assert!(!is_due(Some(&high), Level::High, at(29), &cfg));
        assert!(is_due(Some(&high), Level::High, at(30), &cfg));
        let medium = Entry {
            level: Level::Medium,
            alerted_at: at(0),
        };
        assert!(!is_due(Some(&medium), Level::Medium, at(59), &cfg));
        assert!(is_due(Some(&medium), Level::Medium, at(60), &cfg));
        assert!(
            is_due(Some(&medium), Level::High, at(1), &cfg),
            "escalation alerts at once"
        );
        let low = Entry {
            level: Level::Low,
            alerted_at: at(0),
        };
        assert!(!is_due(Some(&low), Level::Low, at(359), &cfg));
        assert!(is_due(Some(&low), Level::Low, at(360), &cfg));
        // De-escalation waits for the lower level's cooldown.
        assert!(!is_due(Some(&high), Level::Medium, at(45), &cfg));
        // An entry from the future does not silence forever.
        assert!(is_due(Some(&high), Level::High, at(-600), &cfg));
    }

    #[test]
    fn entries_round_trip() -> rusqlite::Result<()> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch(
            "CREATE TABLE alert_cooldown (symbol TEXT NOT NULL, signal_id TEXT NOT NULL, level INTEGER NOT NULL, alerted_at INTEGER NOT NULL, PRIMARY KEY (symbol, signal_id));",
        )?;
        let sig = |id, level| Signal {
            id,
            level,
            bias: crate::model::Bias::Neutral,
            title: String::new(),
            message: String::new(),
            threshold: None,
            record: None,
            no_record: None,
        };
        record(&conn, "BTC", &[sig(SignalId::OiSurge, Level::High)], at(0))?;
        record(&conn, "BTC", &[sig(SignalId::OiSurge, Level::High)], at(31))?;
        record(
            &conn,
            "ETH",
            &[sig(SignalId::OiMoving, Level::Medium)],
            at(0),
        )?;
        let btc = load(&conn, "BTC")?;
        assert_eq!(btc.len(), 1);
        assert_eq!(
            btc.get(&SignalId::OiSurge),
            Some(&Entry {
                level: Level::High,
                alerted_at: at(31)
            })
        );
        Ok(())
    }
}
