//! Notices: messages rendered when they are enqueued (a source stopped
//! working or recovered, a digest), delivered like pages; and the state
//! that makes each go out once: source health and digest fire times.

use super::db::{self, Conn};
use super::{from_ms, to_ms, Notice, Result, SourceHealth, Store};
use chrono::{DateTime, Utc};

/// (recipient, subject, text, html)
pub type Rendered = (String, String, String, String);

fn insert_notices(c: &mut dyn Conn, notices: &[Rendered], now: DateTime<Utc>) -> Result<()> {
    for (to, subject, text, html) in notices {
        c.exec(
            "INSERT INTO notices (recipient, subject, text, html, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $5)",
            &[to, subject, text, html, &to_ms(now)],
        )?;
    }
    Ok(())
}

fn health(c: &mut dyn Conn, source: &str) -> Result<SourceHealth> {
    let row = c.row("SELECT failing_since, last_error, last_success, alerted_at FROM source_health WHERE source = $1", &[&source])?;
    let Some(r) = row else { return Ok(SourceHealth::default()) };
    Ok(SourceHealth {
        failing_since: r.get::<Option<i64>>(0)?.map(from_ms),
        last_error: r.get(1)?,
        last_success: r.get::<Option<i64>>(2)?.map(from_ms),
        alerted_at: r.get::<Option<i64>>(3)?.map(from_ms),
    })
}

impl Store {
    pub fn source_health(&self, source: &str) -> Result<SourceHealth> {
        self.read(|c| health(c, source))
    }

    /// Every source's last good round, for `/metrics`.
    pub fn last_successes(&self) -> Result<Vec<(String, DateTime<Utc>)>> {
        self.read(|c| {
            c.rows("SELECT source, last_success FROM source_health WHERE last_success IS NOT NULL ORDER BY source", &[])?
                .iter()
                .map(|r| Ok((r.get(0)?, from_ms(r.get(1)?))))
                .collect()
        })
    }

    /// Records a failed round; the failure clock starts at the first one.
    pub fn source_failed(&self, source: &str, error: &str, now: DateTime<Utc>) -> Result<SourceHealth> {
        self.write(|c| {
            c.exec(
                "INSERT INTO source_health (source, failing_since, last_error) VALUES ($1, $2, $3)
                 ON CONFLICT (source) DO UPDATE SET failing_since = COALESCE(source_health.failing_since, excluded.failing_since),
                    last_error = excluded.last_error",
                &[&source, &to_ms(now), &error],
            )?;
            health(c, source)
        })
    }

    /// Records a good round. Returns the health before it, so the caller can
    /// tell whether a "recovered" notice is due.
    pub fn source_succeeded(&self, source: &str, now: DateTime<Utc>) -> Result<SourceHealth> {
        self.write(|c| {
            let before = health(c, source)?;
            c.exec(
                "INSERT INTO source_health (source, last_success) VALUES ($1, $2)
                 ON CONFLICT (source) DO UPDATE SET failing_since = NULL, alerted_at = NULL, last_success = excluded.last_success",
                &[&source, &to_ms(now)],
            )?;
            Ok(before)
        })
    }

    /// Enqueues notices and, in the same transaction, records that the
    /// source's failure was announced (`alerted = Some(now)`) or that its
    /// recovery was (`alerted = None`): a restart never repeats either.
    pub fn enqueue_health_notices(&self, source: &str, alerted: Option<DateTime<Utc>>, notices: &[Rendered], now: DateTime<Utc>) -> Result<()> {
        self.write(|c| {
            insert_notices(c, notices, now)?;
            c.exec(
                "INSERT INTO source_health (source, alerted_at) VALUES ($1, $2)
                 ON CONFLICT (source) DO UPDATE SET alerted_at = excluded.alerted_at",
                &[&source, &alerted.map(to_ms)],
            )?;
            Ok(())
        })
    }

    pub fn pending_notices(&self, now: DateTime<Utc>) -> Result<Vec<Notice>> {
        self.read(|c| {
            c.rows(
                "SELECT id, recipient, subject, text, html, attempts FROM notices
                 WHERE state = 'pending' AND next_attempt_at <= $1 ORDER BY created_at, id",
                &[&to_ms(now)],
            )?
            .iter()
            .map(|r| Ok(Notice { id: r.get(0)?, recipient: r.get(1)?, subject: r.get(2)?, text: r.get(3)?, html: r.get(4)?, attempts: r.get(5)? }))
            .collect()
        })
    }

    /// Enqueues pre-rendered messages: (recipient, subject, text, html).
    pub fn enqueue_notices(&self, notices: &[Rendered], now: DateTime<Utc>) -> Result<()> {
        self.write(|c| insert_notices(c, notices, now))
    }

    /// When the digest `key` last fired; the first call records `now` (the
    /// first digest covers the time since the daemon first started).
    pub fn digest_last_fire(&self, key: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
        let ms: i64 = self.write(|c| {
            c.exec("INSERT INTO digest_state (key, last_fire) VALUES ($1, $2) ON CONFLICT DO NOTHING", &[&key, &to_ms(now)])?;
            db::one(c, "SELECT last_fire FROM digest_state WHERE key = $1", &[&key])
        })?;
        Ok(from_ms(ms))
    }

    /// Enqueues a digest for the fire time `fire` and records it, in one
    /// transaction, unless a digest at or after `fire` was already recorded
    /// (by this daemon before a restart, or by another one): returns false
    /// then, and enqueues nothing.
    pub fn enqueue_digest(&self, key: &str, fire: DateTime<Utc>, notices: &[Rendered], now: DateTime<Utc>) -> Result<bool> {
        self.write(|c| {
            let n = c.exec(
                "INSERT INTO digest_state (key, last_fire) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET last_fire = excluded.last_fire WHERE digest_state.last_fire < excluded.last_fire",
                &[&key, &to_ms(fire)],
            )?;
            if n == 0 {
                return Ok(false);
            }
            insert_notices(c, notices, now)?;
            Ok(true)
        })
    }
}
