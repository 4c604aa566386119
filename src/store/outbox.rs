//! The outbox: pages written before they are sent, marked sent only after
//! the channel accepted them, so a restart never loses or repeats one; and
//! acknowledgements, which stop a mention's pages.

use super::db::{self, Conn};
use super::mentions::{mention_from_row, MENTION_COLUMNS, MENTION_COLUMN_COUNT};
use super::{from_ms, to_ms, Due, PagedMention, PlannedPage, Result, Store};
use chrono::{DateTime, Utc};

/// The two delivery queues, which share their delivery states: pages about
/// mentions (`outbox`) and messages rendered when enqueued (`notices`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    Outbox,
    Notices,
}

impl Queue {
    fn table(self) -> &'static str {
        match self {
            Queue::Outbox => "outbox",
            Queue::Notices => "notices",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckOutcome {
    Acked,
    AlreadyAcked,
    AlreadyAnswered,
    NotFound,
}

/// What an outbox row announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxKind {
    /// A page: these mentions are waiting for an answer.
    Alert,
    /// Someone acknowledged the mention (PagerDuty `acknowledge`).
    Ack,
    /// The brand answered the mention (PagerDuty `resolve`).
    Resolve,
}

impl OutboxKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxKind::Alert => "alert",
            OutboxKind::Ack => "ack",
            OutboxKind::Resolve => "resolve",
        }
    }
    fn parse(s: &str) -> OutboxKind {
        match s {
            "ack" => OutboxKind::Ack,
            "resolve" => OutboxKind::Resolve,
            _ => OutboxKind::Alert,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    pub id: i64,
    pub kind: OutboxKind,
    pub recipient: String,
    pub brand: String,
    pub step: u32,
    pub created_at: DateTime<Utc>,
    pub attempts: u32,
    pub mention_ids: Vec<i64>,
}

/// A delivery as `escucha outbox` lists it: a page or resolution
/// (`outbox`) or a notice (`notices`), still to go or dead-lettered.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Delivery {
    pub queue: &'static str,
    pub id: i64,
    /// alert, ack, resolve or notice.
    pub kind: String,
    pub recipient: String,
    /// pending or dead.
    pub state: String,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    /// The mentions it pages about (none for a notice).
    pub mention_ids: Vec<i64>,
}

/// Acknowledges open mention `id` on `by`'s word inside `c`: its chain
/// stops, and channels that hear of acknowledgements get their notice.
pub(super) fn mark_acked(c: &mut dyn Conn, id: i64, by: &str, now: DateTime<Utc>) -> Result<()> {
    c.exec("UPDATE mentions SET status = 'acked', acked_by = $2, acked_at = $3, next_page_at = NULL WHERE id = $1", &[&id, &by, &to_ms(now)])?;
    enqueue_resolutions(c, &[id], OutboxKind::Ack, now)
}

/// After `mention_ids` were acknowledged or answered: a resolution row for
/// each webhook that was paged about them (sent, or still pending and maybe
/// in flight). Whether a webhook wants the notice is the config's business
/// and is decided at delivery; email is never told. Runs inside the
/// caller's transaction, so the notice exists exactly when the state change
/// does.
pub(super) fn enqueue_resolutions(c: &mut dyn Conn, mention_ids: &[i64], kind: OutboxKind, now: DateTime<Utc>) -> Result<()> {
    for id in mention_ids {
        let targets = c.rows(
            "SELECT DISTINCT o.recipient, o.brand FROM outbox o JOIN outbox_mentions om ON om.outbox_id = o.id
             WHERE om.mention_id = $1 AND o.kind = 'alert' AND o.recipient LIKE 'webhook:%' AND o.state IN ('sent', 'pending')
             ORDER BY o.recipient",
            &[id],
        )?;
        for t in targets {
            let (recipient, brand): (String, String) = (t.get(0)?, t.get(1)?);
            let outbox_id: i64 = db::one(
                c,
                "INSERT INTO outbox (recipient, brand, step, created_at, next_attempt_at, kind) VALUES ($1, $2, 0, $3, $3, $4) RETURNING id",
                &[&recipient, &brand, &to_ms(now), &kind.as_str()],
            )?;
            c.exec("INSERT INTO outbox_mentions (outbox_id, mention_id) VALUES ($1, $2)", &[&outbox_id, id])?;
        }
    }
    Ok(())
}

impl Store {
    /// Open mentions whose first page or next chain step is due at `now`.
    pub fn due(&self, now: DateTime<Utc>) -> Result<Vec<Due>> {
        let sql = format!(
            "SELECT {MENTION_COLUMNS}, page_step FROM mentions
             WHERE status = 'open' AND history = 0 AND deadline IS NOT NULL
               AND ((alerted_at IS NULL AND deadline <= $1) OR (next_page_at IS NOT NULL AND next_page_at <= $1))
               AND (held_until IS NULL OR held_until <= $1)
             ORDER BY deadline, id"
        );
        self.read(|c| {
            c.rows(&sql, &[&to_ms(now)])?.iter().map(|r| Ok(Due { mention: mention_from_row(r)?, page_step: r.get(MENTION_COLUMN_COUNT)? })).collect()
        })
    }

    /// The earliest moment something will be due: a first page, a chain step
    /// or an outbox retry. The alert loop sleeps until then.
    pub fn next_wakeup(&self) -> Result<Option<DateTime<Utc>>> {
        self.read(|c| {
            let first: Option<i64> = db::one(
                c,
                "SELECT MIN(CASE WHEN held_until > deadline THEN held_until ELSE deadline END) FROM mentions
                 WHERE status = 'open' AND alerted_at IS NULL AND deadline IS NOT NULL AND history = 0",
                &[],
            )?;
            let step: Option<i64> = db::one(
                c,
                "SELECT MIN(CASE WHEN held_until > next_page_at THEN held_until ELSE next_page_at END) FROM mentions
                 WHERE status = 'open' AND next_page_at IS NOT NULL",
                &[],
            )?;
            let outbox: Option<i64> = db::one(c, "SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'pending'", &[])?;
            let notice: Option<i64> = db::one(c, "SELECT MIN(next_attempt_at) FROM notices WHERE state = 'pending'", &[])?;
            Ok([first, step, outbox, notice].into_iter().flatten().min().map(from_ms))
        })
    }

    /// Writes the pages to the outbox and records on each mention that it
    /// was paged, in one transaction: after this, delivery owns them.
    pub fn enqueue_pages(&self, pages: &[PlannedPage], paged: &[PagedMention], now: DateTime<Utc>) -> Result<Vec<i64>> {
        self.enqueue_pages_grouped(pages, paged, now, std::time::Duration::ZERO)
    }

    /// `enqueue_pages` with `[daemon] group_wait`: a new message waits
    /// `group_wait` after it may go out, and a page for the same recipient
    /// and brand that may go out within that window joins it (one message,
    /// not one per mention). Returns the outbox ids, one per page.
    pub fn enqueue_pages_grouped(
        &self,
        pages: &[PlannedPage],
        paged: &[PagedMention],
        now: DateTime<Utc>,
        group_wait: std::time::Duration,
    ) -> Result<Vec<i64>> {
        let wait = group_wait.as_millis() as i64;
        self.write(|c| {
            let mut ids = Vec::new();
            for p in pages {
                let send_at = to_ms(p.not_before.map_or(now, |t| t.max(now)));
                // Only rows never attempted: a row being retried has gone
                // out (or tried to) with its own content.
                let open: Option<i64> = c
                    .row(
                        "SELECT id FROM outbox WHERE state = 'pending' AND attempts = 0 AND recipient = $1 AND brand = $2
                           AND next_attempt_at >= $3 AND next_attempt_at <= $4
                         ORDER BY next_attempt_at, id LIMIT 1",
                        &[&p.recipient, &p.brand, &send_at, &(send_at + wait)],
                    )?
                    .map(|r| r.get(0))
                    .transpose()?;
                let id = match open {
                    Some(id) => id,
                    None => db::one(
                        c,
                        "INSERT INTO outbox (recipient, brand, step, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                        &[&p.recipient, &p.brand, &p.step, &to_ms(now), &(send_at + wait)],
                    )?,
                };
                for m in &p.mention_ids {
                    c.exec("INSERT INTO outbox_mentions (outbox_id, mention_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", &[&id, m])?;
                }
                ids.push(id);
            }
            for m in paged {
                c.exec(
                    "UPDATE mentions SET alerted_at = COALESCE(alerted_at, $2), page_step = $3,
                        next_page_at = CASE WHEN status = 'open' THEN CAST($4 AS BIGINT) END, held_until = NULL, held_by = NULL WHERE id = $1",
                    &[&m.id, &to_ms(now), &m.step, &m.next_page_at.map(to_ms)],
                )?;
            }
            Ok(ids)
        })
    }

    /// Outbox rows due for a delivery attempt, oldest first. When a row for
    /// a recipient is due, that recipient's older rows that already failed
    /// come too, whatever their own retry time (rows never tried wait for
    /// their time: quiet hours, grouping): after an outage the server gets the
    /// alerts in the order they fell due (older rows failed more often, so
    /// their jittered backoff alone would send them last).
    pub fn pending_outbox(&self, now: DateTime<Utc>) -> Result<Vec<OutboxRow>> {
        self.read(|c| {
            let mut rows: Vec<OutboxRow> = c
                .rows(
                    "SELECT id, recipient, brand, step, created_at, attempts, kind FROM outbox o
                     WHERE state = 'pending' AND (next_attempt_at <= $1 OR attempts > 0)
                       AND id <= (SELECT MAX(id) FROM outbox d
                                  WHERE d.state = 'pending' AND d.next_attempt_at <= $1 AND d.recipient = o.recipient)
                     ORDER BY created_at, id",
                    &[&to_ms(now)],
                )?
                .iter()
                .map(|r| {
                    Ok(OutboxRow {
                        id: r.get(0)?,
                        kind: OutboxKind::parse(r.str(6)),
                        recipient: r.get(1)?,
                        brand: r.get(2)?,
                        step: r.get(3)?,
                        created_at: from_ms(r.get(4)?),
                        attempts: r.get(5)?,
                        mention_ids: vec![],
                    })
                })
                .collect::<Result<_>>()?;
            for row in &mut rows {
                row.mention_ids = db::column(c, "SELECT mention_id FROM outbox_mentions WHERE outbox_id = $1 ORDER BY mention_id", &[&row.id])?;
            }
            Ok(rows)
        })
    }

    /// A delivery attempt succeeded: the row is never sent again.
    pub fn delivered(&self, q: Queue, id: i64, now: DateTime<Utc>) -> Result<()> {
        let sql = format!("UPDATE {} SET state = 'sent', sent_at = $2, attempts = attempts + 1, last_error = NULL WHERE id = $1", q.table());
        self.write(|c| c.exec(&sql, &[&id, &to_ms(now)]).map(drop))
    }

    /// A delivery attempt failed in a way worth retrying at `next_attempt_at`.
    pub fn retry(&self, q: Queue, id: i64, error: &str, next_attempt_at: DateTime<Utc>) -> Result<()> {
        let sql = format!("UPDATE {} SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3 WHERE id = $1", q.table());
        self.write(|c| c.exec(&sql, &[&id, &error, &to_ms(next_attempt_at)]).map(drop))
    }

    /// The channel refused the row for good: dead-lettered, kept for the record.
    pub fn dead(&self, q: Queue, id: i64, error: &str) -> Result<()> {
        let sql = format!("UPDATE {} SET state = 'dead', attempts = attempts + 1, last_error = $2 WHERE id = $1", q.table());
        self.write(|c| c.exec(&sql, &[&id, &error]).map(drop))
    }

    /// True while the row still waits for delivery.
    pub fn outbox_pending(&self, id: i64) -> Result<bool> {
        let state = self.read(|c| c.row("SELECT state FROM outbox WHERE id = $1", &[&id]))?;
        Ok(state.is_some_and(|r| r.str(0) == "pending"))
    }

    /// Nothing left to say in this row: its mentions were answered or acked
    /// before it could be sent.
    pub fn outbox_resolved(&self, id: i64) -> Result<()> {
        self.write(|c| c.exec("UPDATE outbox SET state = 'resolved' WHERE id = $1", &[&id]).map(drop))
    }

    /// True when an alert about `mention_id` was delivered to `recipient`:
    /// an ack or resolve notice only makes sense after a page.
    pub fn alert_delivered(&self, recipient: &str, mention_id: i64) -> Result<bool> {
        self.read(|c| {
            db::one(
                c,
                "SELECT EXISTS (SELECT 1 FROM outbox o JOIN outbox_mentions om ON om.outbox_id = o.id
                  WHERE om.mention_id = $2 AND o.recipient = $1 AND o.kind = 'alert' AND o.state = 'sent')",
                &[&recipient, &mention_id],
            )
        })
    }

    /// Alerts, resolutions and health notices waiting to be delivered
    /// (whether due now or backing off), for `/metrics`.
    pub fn outbox_depth(&self) -> Result<u64> {
        self.read(|c| db::one(c, "SELECT (SELECT COUNT(*) FROM outbox WHERE state = 'pending') + (SELECT COUNT(*) FROM notices WHERE state = 'pending')", &[]))
    }

    /// Counts of outbox rows by state, for tests and `stats`.
    pub fn outbox_counts(&self) -> Result<Vec<(String, u64)>> {
        self.read(|c| c.rows("SELECT state, COUNT(*) FROM outbox GROUP BY state ORDER BY state", &[])?.iter().map(|r| Ok((r.get(0)?, r.get(1)?))).collect())
    }

    /// Acknowledges a mention: no further pages for it.
    pub fn ack(&self, id: i64, by: &str, now: DateTime<Utc>) -> Result<AckOutcome> {
        self.write_now(|c| {
            let status = c.row("SELECT status FROM mentions WHERE id = $1", &[&id])?;
            Ok(match status.as_ref().map(|r| r.str(0)) {
                None => AckOutcome::NotFound,
                Some("acked") => AckOutcome::AlreadyAcked,
                Some("answered") => AckOutcome::AlreadyAnswered,
                Some(_) => {
                    mark_acked(c, id, by, now)?;
                    AckOutcome::Acked
                }
            })
        })
    }

    /// Acknowledges every open mention of a brand. Returns their ids.
    pub fn ack_all(&self, brand: &str, by: &str, now: DateTime<Utc>) -> Result<Vec<i64>> {
        let mut ids: Vec<i64> = self.write(|c| {
            db::column(
                c,
                "UPDATE mentions SET status = 'acked', acked_by = $2, acked_at = $3, next_page_at = NULL
                 WHERE brand = $1 AND status = 'open' RETURNING id",
                &[&brand, &by, &to_ms(now)],
            )
        })?;
        ids.sort_unstable();
        Ok(ids)
    }

    /// Deliveries still to go or dead-lettered, oldest first, pages before
    /// notices.
    pub fn deliveries(&self) -> Result<Vec<Delivery>> {
        self.read(|c| {
            let mut out = Vec::new();
            for (queue, sql) in [
                ("outbox", "SELECT id, kind, recipient, state, attempts, created_at, next_attempt_at, last_error FROM outbox WHERE state IN ('pending', 'dead') ORDER BY created_at, id"),
                ("notices", "SELECT id, 'notice', recipient, state, attempts, created_at, next_attempt_at, last_error FROM notices WHERE state IN ('pending', 'dead') ORDER BY created_at, id"),
            ] {
                for r in c.rows(sql, &[])? {
                    let id: i64 = r.get(0)?;
                    let mention_ids =
                        if queue == "outbox" { db::column(c, "SELECT mention_id FROM outbox_mentions WHERE outbox_id = $1 ORDER BY mention_id", &[&id])? } else { vec![] };
                    out.push(Delivery {
                        queue,
                        id,
                        kind: r.get(1)?,
                        recipient: r.get(2)?,
                        state: r.get(3)?,
                        attempts: r.get(4)?,
                        created_at: from_ms(r.get(5)?),
                        next_attempt_at: from_ms(r.get(6)?),
                        last_error: r.get(7)?,
                        mention_ids,
                    });
                }
            }
            Ok(out)
        })
    }

    /// Puts a dead-lettered row back in its queue, due at `now` (after the
    /// operator fixed what refused it). False when no such dead row.
    pub fn redeliver(&self, q: Queue, id: i64, now: DateTime<Utc>) -> Result<bool> {
        let sql = format!("UPDATE {} SET state = 'pending', next_attempt_at = $2 WHERE id = $1 AND state = 'dead'", q.table());
        Ok(self.write(|c| c.exec(&sql, &[&id, &to_ms(now)]))? == 1)
    }
}
