//! Silences: no pages for a brand (or one platform or author of it) for a
//! while; the mentions they hold go out together when they end.

use super::db;
use super::{from_ms, to_ms, Result, Silence, Store};
use chrono::{DateTime, Utc};

impl Store {
    /// Stores a silence; returns its id.
    #[allow(clippy::too_many_arguments)]
    pub fn add_silence(
        &self,
        brand: &str,
        platform: Option<&str>,
        author: Option<&str>,
        until: DateTime<Utc>,
        reason: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        self.write(|c| {
            db::one(
                c,
                "INSERT INTO silences (brand, platform, author, starts_at, until, reason, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                &[&brand, &platform, &author, &to_ms(now), &to_ms(until), &reason, &by],
            )
        })
    }

    /// Silences in force at `now`, oldest first.
    pub fn active_silences(&self, now: DateTime<Utc>) -> Result<Vec<Silence>> {
        self.read(|c| {
            c.rows(
                "SELECT id, brand, platform, author, starts_at, until, reason, created_by FROM silences
                 WHERE ended_at IS NULL AND starts_at <= $1 AND until > $1 ORDER BY id",
                &[&to_ms(now)],
            )?
            .iter()
            .map(|r| {
                Ok(Silence {
                    id: r.get(0)?,
                    brand: r.get(1)?,
                    platform: r.get(2)?,
                    author: r.get(3)?,
                    starts_at: from_ms(r.get(4)?),
                    until: from_ms(r.get(5)?),
                    reason: r.get(6)?,
                    created_by: r.get(7)?,
                })
            })
            .collect()
        })
    }

    /// Ends a silence now: the mentions it held are due at once (and go out
    /// together in the next message). False if no such active silence.
    pub fn end_silence(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        self.write(|c| {
            let n = c.exec("UPDATE silences SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL AND until > $2", &[&id, &to_ms(now)])?;
            c.exec("UPDATE mentions SET held_until = NULL, held_by = NULL WHERE held_by = $1", &[&id])?;
            Ok(n == 1)
        })
    }

    /// Records that a silence holds these mentions back until it ends.
    pub fn hold(&self, held: &[(i64, i64, DateTime<Utc>)]) -> Result<()> {
        self.write(|c| {
            for (mention, silence, until) in held {
                c.exec("UPDATE mentions SET held_until = $2, held_by = $3 WHERE id = $1", &[mention, &to_ms(*until), silence])?;
            }
            Ok(())
        })
    }

    /// How many mentions a silence holds back right now.
    pub fn held_count(&self, silence: i64) -> Result<u64> {
        self.read(|c| db::one(c, "SELECT COUNT(*) FROM mentions WHERE held_by = $1 AND status = 'open'", &[&silence]))
    }
}
