//! Labels people gave (`escucha learn`, `escucha correct`, the "not a
//! complaint" link in alerts) and corrections of a stored mention's class.
//! The learned classifier is refit from these; this file only stores them.
//!
//! A correction is one transaction: the mention's class, its alerting state
//! and the label it teaches change together, so the daemon never pages for
//! a mention a person just called praise, and a label never exists for a
//! correction that did not happen.

use super::db::{self, Conn, Param};
use super::outbox::mark_acked;
use super::{from_ms, to_ms, Result, Store};
use crate::model::{Class, Label, LabelOrigin, NewLabel};
use chrono::{DateTime, Utc};

/// What `Store::correct` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorrectOutcome {
    /// The class changed from `from`; a label was stored.
    Corrected {
        from: Class,
    },
    /// The mention already had that class: nothing changed.
    AlreadyThat,
    NotFound,
}

fn insert_label(c: &mut dyn Conn, l: &NewLabel, now: DateTime<Utc>) -> Result<()> {
    c.exec(
        "INSERT INTO labels (text, class, lang, brand, mention_id, labelled_by, at, origin) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[&l.text, &l.class.as_str(), &l.lang, &l.brand, &l.mention_id, &l.by, &to_ms(now), &l.origin.as_str()],
    )?;
    Ok(())
}

impl Store {
    /// Stores labels, all or none. Returns how many.
    pub fn add_labels(&self, labels: &[NewLabel], now: DateTime<Utc>) -> Result<usize> {
        self.write(|c| {
            for l in labels {
                insert_label(c, l, now)?;
            }
            Ok(labels.len())
        })
    }

    /// Every label, in the order they were given.
    pub fn labels(&self) -> Result<Vec<Label>> {
        self.read(|c| {
            c.rows("SELECT id, text, class, lang, brand, mention_id, labelled_by, at, origin FROM labels ORDER BY id", &[])?
                .iter()
                .map(|r| {
                    Ok(Label {
                        id: r.get(0)?,
                        text: r.get(1)?,
                        // The table's CHECK constraints keep both readable.
                        class: Class::parse(r.str(2)).unwrap_or(Class::Neutral),
                        lang: r.get(3)?,
                        brand: r.get(4)?,
                        mention_id: r.get(5)?,
                        by: r.get(6)?,
                        at: from_ms(r.get(7)?),
                        origin: LabelOrigin::parse(r.str(8)).unwrap_or(LabelOrigin::Learn),
                    })
                })
                .collect()
        })
    }

    /// (how many labels, the newest label's id or 0): changes whenever a
    /// label is added (or removed), and costs one index lookup, so the
    /// daemon can poll it to know when to refit.
    pub fn labels_version(&self) -> Result<(u64, i64)> {
        self.read(|c| {
            let r = c.row("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM labels", &[])?.unwrap_or(db::Row(vec![]));
            Ok((r.get(0)?, r.get(1)?))
        })
    }

    /// Relabels a stored mention as `class`, on `by`'s word, and stores the
    /// label it teaches.
    ///
    /// To praise or neutral: it stops alerting at once. A mention already
    /// paged and still open is resolved as if `by` acknowledged it (status
    /// acked, the chain stops, paged webhooks get their acknowledge notice);
    /// one not paged yet simply loses its deadline.
    ///
    /// To complaint or escalation: it is no longer history, and its
    /// deadline is `deadline` (the caller's `created_at` + the brand's
    /// `respond_within` for the class, in business hours), so the alert
    /// loop pages it at once if that has passed. A mention that did not
    /// need an answer before starts its chain from the beginning (reopened
    /// if a correction to praise had acknowledged it); a complaint turned
    /// escalation keeps a chain already under way. A mention the brand
    /// answered stays answered and is not paged.
    pub fn correct(&self, id: i64, class: Class, by: &str, origin: LabelOrigin, now: DateTime<Utc>, deadline: Option<DateTime<Utc>>) -> Result<CorrectOutcome> {
        self.write_now(|c| correct_in(c, id, class, by, origin, now, deadline))
    }
}

/// `correct` inside the caller's transaction (taken with the write lock:
/// the row is read and then written).
fn correct_in(
    c: &mut dyn Conn,
    id: i64,
    class: Class,
    by: &str,
    origin: LabelOrigin,
    now: DateTime<Utc>,
    deadline: Option<DateTime<Utc>>,
) -> Result<CorrectOutcome> {
    let Some(row) = c.row("SELECT class, text, lang, brand, status, alerted_at IS NOT NULL, reasons FROM mentions WHERE id = $1", &[&id])? else {
        return Ok(CorrectOutcome::NotFound);
    };
    let (text, lang, brand): (String, Option<String>, String) = (row.get(1)?, row.get(2)?, row.get(3)?);
    let (status, alerted): (String, bool) = (row.get(4)?, row.get(5)?);
    let from = Class::parse(row.str(0)).unwrap_or(Class::Neutral);
    if from == class {
        return Ok(CorrectOutcome::AlreadyThat);
    }
    let mut reasons: Vec<String> = serde_json::from_str(row.str(6)).unwrap_or_default();
    reasons.push(format!("{}:corrected-by:{by}", class.as_str()));
    let reasons = serde_json::to_string(&reasons).unwrap_or_else(|_| "[]".into());
    let common: [&dyn Param; 6] = [&id, &class.as_str(), &reasons, &by, &to_ms(now), &deadline.map(to_ms)];
    if class.needs_answer() && !from.needs_answer() {
        c.exec(
            "UPDATE mentions SET class = $2, reasons = $3, corrected_by = $4, corrected_at = $5, deadline = $6, history = 0,
                status = CASE WHEN status = 'answered' THEN 'answered' ELSE 'open' END,
                acked_by = CASE WHEN status = 'answered' THEN acked_by END,
                acked_at = CASE WHEN status = 'answered' THEN acked_at END,
                alerted_at = NULL, page_step = 0, next_page_at = NULL, held_until = NULL, held_by = NULL
             WHERE id = $1",
            &common,
        )?;
    } else if class.needs_answer() {
        // Complaint <-> escalation: only a chain not started yet takes the
        // new class's deadline.
        c.exec(
            "UPDATE mentions SET class = $2, reasons = $3, corrected_by = $4, corrected_at = $5, history = 0,
                deadline = CASE WHEN alerted_at IS NULL THEN CAST($6 AS BIGINT) ELSE deadline END
             WHERE id = $1",
            &common,
        )?;
    } else {
        c.exec(
            "UPDATE mentions SET class = $2, reasons = $3, corrected_by = $4, corrected_at = $5, deadline = NULL, next_page_at = NULL
             WHERE id = $1",
            &common[..5],
        )?;
        if status == "open" && alerted {
            // As `ack` does: pending pages about it are resolved before
            // sending (dispatch skips mentions that are not open).
            mark_acked(c, id, by, now)?;
        }
    }
    let label = NewLabel { text, class, lang, brand: Some(brand), mention_id: Some(id), by: by.to_string(), origin };
    insert_label(c, &label, now)?;
    Ok(CorrectOutcome::Corrected { from })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{mention, t};
    use super::super::{MentionFilter, OutboxKind, PagedMention, PlannedPage, Queue};
    use super::*;
    use crate::model::Status;

    fn label(text: &str, class: Class) -> NewLabel {
        NewLabel { text: text.into(), class, lang: Some("es".into()), brand: None, mention_id: None, by: "ana".into(), origin: LabelOrigin::Learn }
    }

    /// Pages mention `id` to a webhook and an email address, delivered.
    fn page_and_deliver(s: &Store, id: i64, at: i64) {
        let page = |to: &str| PlannedPage { recipient: to.into(), brand: "acme".into(), step: 0, mention_ids: vec![id], not_before: None };
        s.enqueue_pages(&[page("webhook:pd"), page("ana@x.org")], &[PagedMention { id, step: 0, next_page_at: Some(t(at + 600)) }], t(at)).unwrap();
        for row in s.pending_outbox(t(at)).unwrap() {
            s.delivered(Queue::Outbox, row.id, t(at)).unwrap();
        }
    }

    fn labels_are_stored_in_order_and_the_version_moves_with_them(s: Store) {
        assert_eq!(s.labels_version().unwrap(), (0, 0));
        assert!(s.labels().unwrap().is_empty());
        let mut second = label("gracias, excelente", Class::Praise);
        second.brand = Some("acme".into());
        second.lang = None;
        assert_eq!(s.add_labels(&[label("sin respuesta", Class::Complaint), second], t(5)).unwrap(), 2);
        assert_eq!(s.add_labels(&[], t(6)).unwrap(), 0);
        let all = s.labels().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!((all[0].text.as_str(), all[0].class, all[0].lang.as_deref()), ("sin respuesta", Class::Complaint, Some("es")));
        assert_eq!((all[1].class, all[1].brand.as_deref(), all[1].lang.as_deref()), (Class::Praise, Some("acme"), None));
        assert_eq!((all[1].by.as_str(), all[1].at, all[1].origin), ("ana", t(5), LabelOrigin::Learn));
        assert!(all[0].id < all[1].id);
        assert_eq!(s.labels_version().unwrap(), (2, all[1].id));
    }

    #[test]
    fn labels_survive_reopening_and_the_purge_of_their_mention() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.db");
        {
            let s = Store::open(&path).unwrap();
            let id = s.commit_page("q", t(0), &[mention("1", Class::Praise, 0)], &[], "c", t(1)).unwrap().inserted[0];
            s.correct(id, Class::Complaint, "ana", LabelOrigin::Correct, t(2), Some(t(1800))).unwrap();
            s.add_labels(&[label("fatal", Class::Complaint)], t(3)).unwrap();
            s.ack(id, "ana", t(4)).unwrap();
            assert_eq!(s.purge_before(t(10_000), 10).unwrap().mentions, 1);
        }
        let s = Store::open(&path).unwrap();
        let all = s.labels().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!((all[0].origin, all[0].mention_id.is_some(), all[0].text.as_str()), (LabelOrigin::Correct, true, "no funciona"));
    }

    fn correcting_a_paged_complaint_to_praise_acks_it_stops_the_chain_and_teaches_a_label(s: Store) {
        let id = s.commit_page("q", t(0), &[mention("1", Class::Complaint, 0)], &[], "c", t(1)).unwrap().inserted[0];
        page_and_deliver(&s, id, 1800);
        let out = s.correct(id, Class::Praise, "ana", LabelOrigin::Correct, t(1900), None).unwrap();
        assert_eq!(out, CorrectOutcome::Corrected { from: Class::Complaint });
        let m = s.mention(id).unwrap().unwrap();
        assert_eq!((m.class, m.status, m.acked_by.as_deref(), m.deadline), (Class::Praise, Status::Acked, Some("ana"), None));
        assert_eq!((m.corrected_by.as_deref(), m.corrected_at), (Some("ana"), Some(t(1900))));
        assert_eq!(m.score, 0.8, "the score is the classifier's, kept");
        assert_eq!(m.reasons.last().map(String::as_str), Some("praise:corrected-by:ana"));
        // The chain's next step (due at 2400) never comes.
        assert!(s.due(t(100_000)).unwrap().is_empty());
        // The webhook that was paged is told, as with an ack; email is not.
        let notices: Vec<(OutboxKind, String)> = s.pending_outbox(t(1900)).unwrap().into_iter().map(|r| (r.kind, r.recipient)).collect();
        assert_eq!(notices, vec![(OutboxKind::Ack, "webhook:pd".to_string())]);
        let labels = s.labels().unwrap();
        assert_eq!(labels.len(), 1);
        let l = &labels[0];
        assert_eq!((l.class, l.mention_id, l.brand.as_deref(), l.lang.as_deref()), (Class::Praise, Some(id), Some("acme"), Some("es")));
        assert_eq!((l.text.as_str(), l.by.as_str(), l.origin, l.at), ("no funciona", "ana", LabelOrigin::Correct, t(1900)));
        // The same class again changes nothing and teaches nothing.
        assert_eq!(s.correct(id, Class::Praise, "beto", LabelOrigin::Link, t(2000), None).unwrap(), CorrectOutcome::AlreadyThat);
        assert_eq!(s.mention(id).unwrap().unwrap().corrected_by.as_deref(), Some("ana"));
        assert_eq!(s.labels_version().unwrap().0, 1);
        assert_eq!(s.pending_outbox(t(2000)).unwrap().len(), 1);
    }

    fn a_complaint_not_paged_yet_corrected_to_neutral_is_never_due_and_stays_open(s: Store) {
        let id = s.commit_page("q", t(0), &[mention("1", Class::Complaint, 0)], &[], "c", t(1)).unwrap().inserted[0];
        let out = s.correct(id, Class::Neutral, "ana", LabelOrigin::Link, t(10), None).unwrap();
        assert_eq!(out, CorrectOutcome::Corrected { from: Class::Complaint });
        let m = s.mention(id).unwrap().unwrap();
        assert_eq!((m.class, m.status, m.deadline, m.acked_by), (Class::Neutral, Status::Open, None, None));
        assert!(s.due(t(100_000)).unwrap().is_empty());
        assert_eq!(s.next_wakeup().unwrap(), None);
        assert_eq!(s.labels().unwrap()[0].origin, LabelOrigin::Link);
    }

    fn praise_corrected_to_complaint_past_its_deadline_is_due_at_once_even_from_history(s: Store) {
        let mut old = mention("1", Class::Praise, 0);
        old.history = true;
        old.deadline = None;
        let id = s.commit_page("q", t(0), &[old], &[], "c", t(1)).unwrap().inserted[0];
        assert!(s.due(t(5000)).unwrap().is_empty());
        let out = s.correct(id, Class::Complaint, "ana", LabelOrigin::Correct, t(5000), Some(t(1800))).unwrap();
        assert_eq!(out, CorrectOutcome::Corrected { from: Class::Praise });
        let due = s.due(t(5000)).unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!((due[0].mention.id, due[0].mention.class, due[0].mention.history), (id, Class::Complaint, false));
        assert_eq!(due[0].mention.deadline, Some(t(1800)));
        // One not overdue yet waits for its deadline.
        let id2 = s.commit_page("q", t(0), &[mention("2", Class::Neutral, 4000)], &[], "c", t(4001)).unwrap().inserted[0];
        s.correct(id2, Class::Escalation, "ana", LabelOrigin::Correct, t(5000), Some(t(5300))).unwrap();
        assert_eq!(s.due(t(5000)).unwrap().len(), 1);
        assert_eq!(s.due(t(5300)).unwrap().len(), 2);
    }

    fn a_mention_acked_by_a_correction_and_corrected_back_pages_again_from_the_first_step(s: Store) {
        let id = s.commit_page("q", t(0), &[mention("1", Class::Complaint, 0)], &[], "c", t(1)).unwrap().inserted[0];
        page_and_deliver(&s, id, 1800);
        s.correct(id, Class::Praise, "ana", LabelOrigin::Correct, t(1900), None).unwrap();
        let out = s.correct(id, Class::Complaint, "beto", LabelOrigin::Correct, t(2000), Some(t(1800))).unwrap();
        assert_eq!(out, CorrectOutcome::Corrected { from: Class::Praise });
        let due = s.due(t(2000)).unwrap();
        assert_eq!(due.len(), 1);
        let m = &due[0].mention;
        assert_eq!((m.status, m.acked_by.as_deref(), m.alerted_at, due[0].page_step), (Status::Open, None, None, 0));
        assert_eq!(m.corrected_by.as_deref(), Some("beto"));
        assert_eq!(s.labels().unwrap().len(), 2);
    }

    fn a_complaint_turned_escalation_takes_the_shorter_deadline_unless_already_paged(s: Store) {
        let ids = s.commit_page("q", t(0), &[mention("1", Class::Complaint, 0), mention("2", Class::Complaint, 0)], &[], "c", t(1)).unwrap().inserted;
        s.correct(ids[0], Class::Escalation, "ana", LabelOrigin::Correct, t(10), Some(t(300))).unwrap();
        assert_eq!(s.mention(ids[0]).unwrap().unwrap().deadline, Some(t(300)));
        page_and_deliver(&s, ids[1], 1800);
        s.correct(ids[1], Class::Escalation, "ana", LabelOrigin::Correct, t(1900), Some(t(300))).unwrap();
        let m = s.mention(ids[1]).unwrap().unwrap();
        assert_eq!((m.class, m.deadline, m.status, m.alerted_at), (Class::Escalation, Some(t(1800)), Status::Open, Some(t(1800))));
        // Its chain goes on: the next step is still due at 2400.
        assert_eq!(s.due(t(2400)).unwrap().iter().filter(|d| d.mention.id == ids[1]).count(), 1);
    }

    fn an_answered_mention_corrected_to_complaint_stays_answered_and_unpaged(s: Store) {
        let mut m = mention("1", Class::Praise, 0);
        m.deadline = None;
        s.commit_page("q", t(0), &[m], &[], "c", t(1)).unwrap();
        let r = super::super::Reply {
            brand: "acme".into(),
            platform: crate::model::Platform::X,
            platform_id: "r1".into(),
            in_reply_to_id: Some("1".into()),
            in_reply_to_author_id: None,
            conversation_id: None,
            created_at: t(60),
        };
        let id = s.commit_page("q", t(0), &[], &[r], "c", t(61)).unwrap().answered[0];
        s.correct(id, Class::Complaint, "ana", LabelOrigin::Correct, t(5000), Some(t(1800))).unwrap();
        let m = s.mention(id).unwrap().unwrap();
        assert_eq!((m.class, m.status), (Class::Complaint, Status::Answered));
        assert!(s.due(t(5000)).unwrap().is_empty());
    }

    fn correcting_an_unknown_mention_is_not_found_and_stores_nothing(s: Store) {
        assert_eq!(s.correct(99, Class::Praise, "ana", LabelOrigin::Correct, t(0), None).unwrap(), CorrectOutcome::NotFound);
        assert_eq!(s.labels_version().unwrap(), (0, 0));
        assert!(s.mentions(&MentionFilter::default()).unwrap().is_empty());
    }

    on_both!(
        labels_are_stored_in_order_and_the_version_moves_with_them,
        correcting_a_paged_complaint_to_praise_acks_it_stops_the_chain_and_teaches_a_label,
        a_complaint_not_paged_yet_corrected_to_neutral_is_never_due_and_stays_open,
        praise_corrected_to_complaint_past_its_deadline_is_due_at_once_even_from_history,
        a_mention_acked_by_a_correction_and_corrected_back_pages_again_from_the_first_step,
        a_complaint_turned_escalation_takes_the_shorter_deadline_unless_already_paged,
        an_answered_mention_corrected_to_complaint_stays_answered_and_unpaged,
        correcting_an_unknown_mention_is_not_found_and_stores_nothing,
    );
}
