//! Housekeeping's deletes: what is older than the retention and done with.

use super::db;
use super::{to_ms, Result, Store};
use chrono::{DateTime, Utc};

/// What a housekeeping pass deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub mentions: usize,
    pub outbox: usize,
    pub notices: usize,
    pub replies: usize,
}

impl Store {
    /// Deletes what is older than `cutoff` (by the platform's `created_at`):
    /// mentions, their outbox links, outbox rows and notices that are done
    /// (sent, resolved, dead) and the brand's old replies. A mention with an
    /// alert still to go is kept whatever its age: an open complaint not yet
    /// paged, with a chain step ahead, or in a pending outbox row. Works in
    /// batches of `batch` mentions, each its own short transaction, so the
    /// daemon's writers wait milliseconds, not the whole pass. No VACUUM:
    /// SQLite reuses the freed pages.
    pub fn purge_before(&self, cutoff: DateTime<Utc>, batch: usize) -> Result<Purged> {
        let cutoff = to_ms(cutoff);
        let mut out = Purged::default();
        loop {
            let deleted = self.write(|c| {
                let ids: Vec<i64> = db::column(
                    c,
                    "SELECT id FROM mentions m WHERE created_at < $1
                       AND NOT (status = 'open' AND history = 0 AND deadline IS NOT NULL
                                AND (alerted_at IS NULL OR next_page_at IS NOT NULL))
                       AND NOT EXISTS (SELECT 1 FROM outbox_mentions om JOIN outbox o ON o.id = om.outbox_id
                                       WHERE om.mention_id = m.id AND o.state = 'pending')
                     LIMIT $2",
                    &[&cutoff, &(batch.max(1) as i64)],
                )?;
                let mut n = 0;
                for id in &ids {
                    c.exec("DELETE FROM outbox_mentions WHERE mention_id = $1", &[id])?;
                    c.exec("DELETE FROM notes WHERE mention_id = $1", &[id])?;
                    n += c.exec("DELETE FROM mentions WHERE id = $1", &[id])? as usize;
                }
                Ok((ids.len(), n))
            })?;
            out.mentions += deleted.1;
            if deleted.0 == 0 {
                break;
            }
        }
        let (outbox, notices, replies) = self.write(|c| {
            let outbox = c.exec(
                "DELETE FROM outbox WHERE state IN ('sent', 'resolved', 'dead') AND created_at < $1
                   AND NOT EXISTS (SELECT 1 FROM outbox_mentions om WHERE om.outbox_id = outbox.id)",
                &[&cutoff],
            )?;
            let notices = c.exec("DELETE FROM notices WHERE state != 'pending' AND created_at < $1", &[&cutoff])?;
            let replies = c.exec("DELETE FROM replies WHERE created_at < $1", &[&cutoff])?;
            Ok((outbox, notices, replies))
        })?;
        out.outbox = outbox as usize;
        out.notices = notices as usize;
        out.replies = replies as usize;
        Ok(out)
    }
}
