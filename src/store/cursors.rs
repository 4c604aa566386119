//! Where each source query stands: its cursor (committed with the page it
//! belongs to) and its poll schedule (next poll, failures, rate limit), so
//! that a restart, or another daemon taking the source over, resumes it.

use super::db::{self, Conn};
use super::{from_ms, to_ms, Result, Store};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorRow {
    pub cursor: String,
    pub first_polled_at: DateTime<Utc>,
}

/// A source query's schedule, as the last round left it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollState {
    /// Not before this.
    pub next_poll_at: Option<DateTime<Utc>>,
    /// Failed rounds in a row.
    pub failures: u32,
    /// The platform asked us to wait until then.
    pub rate_limited_until: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

pub(super) fn set_cursor(c: &mut dyn Conn, query_key: &str, cursor: &str, first_polled_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<()> {
    c.exec(
        "INSERT INTO cursors (query_key, cursor, first_polled_at, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (query_key) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
        &[&query_key, &cursor, &to_ms(first_polled_at), &to_ms(now)],
    )?;
    Ok(())
}

impl Store {
    pub fn cursor(&self, query_key: &str) -> Result<Option<CursorRow>> {
        self.read(|c| {
            c.row("SELECT cursor, first_polled_at FROM cursors WHERE query_key = $1", &[&query_key])?
                .map(|r| Ok(CursorRow { cursor: r.get(0)?, first_polled_at: from_ms(r.get(1)?) }))
                .transpose()
        })
    }

    /// The schedule the last round of this query left (default: never polled).
    pub fn poll_state(&self, query_key: &str) -> Result<PollState> {
        self.read(|c| {
            let row =
                c.row("SELECT next_poll_at, failures, rate_limited_until, last_success, last_error FROM poll_state WHERE query_key = $1", &[&query_key])?;
            let Some(r) = row else { return Ok(PollState::default()) };
            Ok(PollState {
                next_poll_at: r.get::<Option<i64>>(0)?.map(from_ms),
                failures: r.get(1)?,
                rate_limited_until: r.get::<Option<i64>>(2)?.map(from_ms),
                last_success: r.get::<Option<i64>>(3)?.map(from_ms),
                last_error: r.get(4)?,
            })
        })
    }

    /// Records the schedule of these queries after a round, in one transaction.
    pub fn set_poll_states(&self, states: &[(&str, &PollState)], now: DateTime<Utc>) -> Result<()> {
        self.write(|c| {
            for (key, s) in states {
                c.exec(
                    "INSERT INTO poll_state (query_key, next_poll_at, failures, rate_limited_until, last_success, last_error, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT (query_key) DO UPDATE SET next_poll_at = excluded.next_poll_at, failures = excluded.failures,
                        rate_limited_until = excluded.rate_limited_until, last_success = excluded.last_success,
                        last_error = excluded.last_error, updated_at = excluded.updated_at",
                    &[key, &s.next_poll_at.map(to_ms), &s.failures, &s.rate_limited_until.map(to_ms), &s.last_success.map(to_ms), &s.last_error, &to_ms(now)],
                )?;
            }
            Ok(())
        })
    }

    /// How many queries have a cursor (for `migrate`'s and tests' counts).
    pub fn cursor_count(&self) -> Result<u64> {
        self.read(|c| db::one(c, "SELECT COUNT(*) FROM cursors", &[]))
    }
}
