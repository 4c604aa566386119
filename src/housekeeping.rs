//! Database housekeeping: once at start and then daily, delete what is older
//! than `[daemon] retention` (see [`Store::purge_before`] for what is kept
//! whatever its age). Off unless `retention` is set. It owns no SQL, and it
//! never VACUUMs: SQLite reuses freed pages, and a VACUUM would lock the
//! database for as long as it takes to copy it.

use crate::clock::Clock;
use crate::store::{Purged, Store, StoreError};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

/// How often the pass runs.
pub const EVERY: Duration = Duration::from_secs(24 * 3600);

/// Mentions deleted per transaction: small enough that a poll committing a
/// page waits only milliseconds for the lock.
pub const BATCH: usize = 500;

/// One pass: deletes what was created before `now - retention`.
pub fn pass(store: &Store, retention: Duration, now: DateTime<Utc>) -> Result<Purged, StoreError> {
    let cutoff = now - chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
    store.purge_before(cutoff, BATCH)
}

/// Runs a pass now and then every [`EVERY`] until `cancel` fires.
pub async fn run(store: Arc<Store>, clock: Arc<dyn Clock>, retention: Duration, cancel: CancellationToken) {
    loop {
        let now = clock.now();
        let s = store.clone();
        // Deleting is blocking SQLite work: keep it off the async workers.
        match tokio::task::spawn_blocking(move || pass(&s, retention, now)).await {
            Ok(Ok(p)) => info!(
                mentions = p.mentions,
                outbox = p.outbox,
                notices = p.notices,
                replies = p.replies,
                retention = %humantime::format_duration(retention),
                "housekeeping done"
            ),
            Ok(Err(e)) => error!(error = %e, "housekeeping failed; will try again tomorrow"),
            Err(e) => error!(error = %e, "housekeeping task panicked; will try again tomorrow"),
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(EVERY) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Class, Platform, Status};
    use crate::store::tests::t;
    use crate::store::{MentionFilter, NewMention, PagedMention, PlannedPage, Reply};

    const DAY: i64 = 86_400;

    /// The store tests' mention, with an author and text of its own.
    fn mention(id: &str, class: Class, created: i64) -> NewMention {
        NewMention { author_id: format!("a{id}"), text: format!("texto {id}"), reasons: vec![], ..crate::store::tests::mention(id, class, created) }
    }

    fn ids(store: &Store) -> Vec<String> {
        store.mentions(&MentionFilter::default()).unwrap().into_iter().map(|m| m.platform_id).collect()
    }

    #[test]
    fn old_mentions_go_but_open_complaints_with_alerts_to_come_stay() {
        let s = Store::open_in_memory().unwrap();
        let old = -200 * DAY;
        let page = [
            mention("old-praise", Class::Praise, old),
            mention("old-unpaged-complaint", Class::Complaint, old),
            mention("old-paged-complaint", Class::Complaint, old),
            mention("old-pending-outbox", Class::Complaint, old),
            mention("old-answered", Class::Complaint, old),
            mention("recent-praise", Class::Praise, -DAY),
        ];
        let out = s.commit_page("q", t(old), &page, &[], "c", t(old + 1)).unwrap();
        let id = |name: &str| out.inserted[page.iter().position(|m| m.platform_id == name).unwrap()];
        let answer = Reply {
            brand: "acme".into(),
            platform: Platform::X,
            platform_id: "r1".into(),
            in_reply_to_id: Some("old-answered".into()),
            in_reply_to_author_id: None,
            conversation_id: None,
            created_at: t(old + 60),
        };
        s.commit_page("q", t(old), &[], &[answer], "c", t(old + 61)).unwrap();
        // One page already sent, one still waiting for the SMTP server.
        let sent = PlannedPage { recipient: "a@x.org".into(), brand: "acme".into(), step: 0, mention_ids: vec![id("old-paged-complaint")], not_before: None };
        let waiting = PlannedPage { recipient: "a@x.org".into(), brand: "acme".into(), step: 0, mention_ids: vec![id("old-pending-outbox")], not_before: None };
        // Enqueued at different moments: pages due together would share a row.
        let sent_row = s.enqueue_pages(&[sent], &[PagedMention { id: id("old-paged-complaint"), step: 0, next_page_at: None }], t(old + 1800)).unwrap();
        s.enqueue_pages(&[waiting], &[PagedMention { id: id("old-pending-outbox"), step: 0, next_page_at: None }], t(old + 1900)).unwrap();
        s.delivered(crate::store::Queue::Outbox, sent_row[0], t(old + 1801)).unwrap();

        let purged = pass(&s, Duration::from_secs(180 * DAY as u64), t(0)).unwrap();

        let mut left = ids(&s);
        left.sort();
        assert_eq!(left, vec!["old-pending-outbox", "old-unpaged-complaint", "recent-praise"]);
        assert_eq!(purged.mentions, 3);
        assert_eq!(purged.outbox, 1, "the sent row lost its only mention");
        assert_eq!(purged.replies, 1);
        let counts = s.outbox_counts().unwrap();
        assert_eq!(counts, vec![("pending".to_string(), 1)]);
        // The kept complaints are still due: nothing was lost for them.
        let due: Vec<_> = s.due(t(0)).unwrap().into_iter().map(|d| d.mention.platform_id).collect();
        assert_eq!(due, vec!["old-unpaged-complaint"]);
        assert_eq!(s.pending_outbox(t(0)).unwrap()[0].mention_ids, vec![id("old-pending-outbox")]);
    }

    #[test]
    fn a_second_pass_deletes_nothing_more_and_recent_rows_survive_every_pass() {
        let s = Store::open_in_memory().unwrap();
        let page: Vec<_> = (0..1200).map(|i| mention(&format!("m{i}"), Class::Neutral, -(i as i64) * 3600)).collect();
        s.commit_page("q", t(-2000 * 3600), &page, &[], "c", t(0)).unwrap();
        // 30 days = 720 hours: mentions 0..=720 h old stay (created_at >= cutoff).
        let first = pass(&s, Duration::from_secs(30 * DAY as u64), t(0)).unwrap();
        assert_eq!(first.mentions, 1200 - 721, "several batches of {BATCH}");
        assert_eq!(pass(&s, Duration::from_secs(30 * DAY as u64), t(0)).unwrap(), Purged::default());
        let left = s.mentions(&MentionFilter::default()).unwrap();
        assert_eq!(left.len(), 721);
        assert!(left.iter().all(|m| m.status == Status::Open && m.created_at >= t(-30 * DAY)));
    }
}
