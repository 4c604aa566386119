//! The store's behaviour, on SQLite and on PostgreSQL alike: each test
//! runs once per backend (`on_both!`), on a fresh database.

use super::*;
use crate::model::{Class, Platform, Status};
use chrono::Duration;
use chrono::{DateTime, TimeZone, Utc};

pub(crate) fn t(s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
}

pub(crate) fn mention(id: &str, class: Class, created: i64) -> NewMention {
    NewMention {
        brand: "acme".into(),
        platform: Platform::X,
        platform_id: id.into(),
        url: format!("https://x.com/u/status/{id}"),
        author: "ana".into(),
        author_id: "100".into(),
        author_followers: Some(10),
        text: "no funciona".into(),
        lang: Some("es".into()),
        class,
        score: 0.8,
        reasons: vec!["complaint:phrase:no funciona".into()],
        created_at: t(created),
        deadline: class.needs_answer().then(|| t(created) + Duration::minutes(30)),
        history: false,
        reposts: 0,
        conversation_id: Some(id.into()),
        in_reply_to_id: None,
        rating: None,
    }
}

fn reply(id: &str, to: &str, at: i64) -> Reply {
    Reply {
        brand: "acme".into(),
        platform: Platform::X,
        platform_id: id.into(),
        in_reply_to_id: Some(to.into()),
        in_reply_to_author_id: Some("100".into()),
        conversation_id: Some(to.into()),
        created_at: t(at),
    }
}

fn a_mention_fetched_twice_is_stored_once(s: Store) {
    let m = mention("1", Class::Complaint, 0);
    let a = s.commit_page("q", t(0), std::slice::from_ref(&m), &[], "c1", t(1)).unwrap();
    let b = s.commit_page("q", t(0), &[m], &[], "c2", t(2)).unwrap();
    assert_eq!(a.inserted.len(), 1);
    assert_eq!((b.inserted.len(), b.duplicates), (0, 1));
    assert_eq!(s.mentions(&MentionFilter::default()).unwrap().len(), 1);
    assert_eq!(s.cursor("q").unwrap().unwrap().cursor, "c2");
}

fn an_edited_post_keeps_its_newest_text_without_a_new_alert_or_status(s: Store) {
    let first = mention("1", Class::Complaint, 0);
    let id = s.commit_page("q", t(0), std::slice::from_ref(&first), &[], "c1", t(1)).unwrap().inserted[0];
    // Paged, then acknowledged: the edit must change neither.
    let page = PlannedPage { recipient: "a@x.org".into(), brand: "acme".into(), step: 0, mention_ids: vec![id], not_before: None };
    s.enqueue_pages(&[page], &[PagedMention { id, step: 0, next_page_at: None }], t(1800)).unwrap();
    s.ack(id, "ana", t(1900)).unwrap();
    let mut edited = first.clone();
    edited.text = "no funciona (editado: ya lo arreglaron, gracias)".into();
    edited.class = Class::Praise;
    edited.author_followers = Some(20_000);
    edited.reposts = 7;
    edited.deadline = None;
    let out = s.commit_page("q", t(0), &[edited], &[], "c2", t(2000)).unwrap();
    assert_eq!((out.inserted.len(), out.duplicates), (0, 1), "an edit is a duplicate, not a new mention");
    let m = s.mention(id).unwrap().unwrap();
    assert_eq!(m.text, "no funciona (editado: ya lo arreglaron, gracias)");
    assert_eq!((m.author_followers, m.reposts), (Some(20_000), 7));
    assert_eq!(m.class, Class::Complaint, "the class it was judged and paged by stays");
    assert_eq!(m.status, Status::Acked);
    assert_eq!(m.alerted_at, Some(t(1800)));
    assert_eq!(s.pending_outbox(t(100_000)).unwrap().len(), 1, "only the one page from before the edit");
    assert!(s.due(t(100_000)).unwrap().is_empty(), "the edit is never paged again");
    // An older copy fetched later (another query, a stale cache) keeps
    // the newest reach; the text is what the platform shows now.
    let mut stale = first;
    stale.author_followers = None;
    stale.reposts = 2;
    s.commit_page("q", t(0), &[stale], &[], "c3", t(2100)).unwrap();
    let m = s.mention(id).unwrap().unwrap();
    assert_eq!((m.author_followers, m.reposts), (Some(20_000), 7));
}

fn an_open_complaint_edited_before_its_deadline_keeps_its_deadline_and_is_paged_once(s: Store) {
    let m = mention("1", Class::Complaint, 0);
    s.commit_page("q", t(0), std::slice::from_ref(&m), &[], "c1", t(1)).unwrap();
    let mut edited = m;
    edited.text = "no funciona, y ahora tampoco la app".into();
    edited.deadline = Some(t(99_999));
    s.commit_page("q", t(0), &[edited], &[], "c2", t(60)).unwrap();
    let due = s.due(t(1800)).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].mention.text, "no funciona, y ahora tampoco la app");
    assert_eq!(due[0].mention.deadline, Some(t(1800)));
}

fn the_same_post_is_a_mention_of_each_brand_it_names(s: Store) {
    let a = mention("1", Class::Complaint, 0);
    let mut b = a.clone();
    b.brand = "other".into();
    let out = s.commit_page("q", t(0), &[a, b], &[], "c", t(1)).unwrap();
    assert_eq!(out.inserted.len(), 2);
}

fn a_reply_answers_the_mention_whichever_arrives_first(s: Store) {
    // Reply first, mention later (different query).
    s.commit_page("brand-timeline", t(0), &[], &[reply("9", "1", 60)], "c", t(61)).unwrap();
    let out = s.commit_page("search", t(0), &[mention("1", Class::Complaint, 0)], &[], "c", t(62)).unwrap();
    assert_eq!(out.answered.len(), 1);
    let m = s.mention(out.inserted[0]).unwrap().unwrap();
    assert_eq!(m.status, Status::Answered);
    assert_eq!(m.answered_at, Some(t(60)));
    // Mention first, reply later.
    s.commit_page("search", t(0), &[mention("2", Class::Complaint, 100)], &[], "c", t(101)).unwrap();
    let out = s.commit_page("brand-timeline", t(0), &[], &[reply("10", "2", 200)], "c", t(201)).unwrap();
    assert_eq!(out.answered.len(), 1);
    assert!(s.due(t(100_000)).unwrap().is_empty(), "answered mentions are never due");
}

fn a_reply_in_the_same_conversation_to_the_same_author_answers(s: Store) {
    let mut m = mention("5", Class::Complaint, 0);
    m.conversation_id = Some("root".into());
    s.commit_page("q", t(0), &[m], &[], "c", t(1)).unwrap();
    let mut r = reply("11", "other-post", 30);
    r.conversation_id = Some("root".into());
    let out = s.commit_page("q", t(0), &[], &[r.clone()], "c", t(31)).unwrap();
    assert_eq!(out.answered.len(), 1);
    // A reply in the conversation posted before the mention does not answer it.
    let mut m2 = mention("6", Class::Complaint, 50);
    m2.conversation_id = Some("root".into());
    let out = s.commit_page("q", t(0), &[m2], &[], "c", t(51)).unwrap();
    assert!(out.answered.is_empty());
}

fn a_conversation_reply_stored_first_answers_the_mention_when_it_arrives(s: Store) {
    let mut r = reply("11", "other-post", 30);
    r.conversation_id = Some("root".into());
    // Before the mention, and to another author: neither answers.
    let mut early = reply("12", "other-post", -5);
    early.conversation_id = Some("root".into());
    let mut elsewhere = reply("13", "other-post", 40);
    elsewhere.conversation_id = Some("root".into());
    elsewhere.in_reply_to_author_id = Some("999".into());
    s.commit_page("q", t(0), &[], &[early, elsewhere], "c", t(41)).unwrap();
    let mut m = mention("5", Class::Complaint, 0);
    m.conversation_id = Some("root".into());
    let out = s.commit_page("q", t(0), std::slice::from_ref(&m), &[], "c", t(42)).unwrap();
    assert!(out.answered.is_empty());
    s.commit_page("q", t(0), &[], &[r], "c", t(43)).unwrap();
    let mut m2 = mention("6", Class::Complaint, 1);
    m2.conversation_id = Some("root".into());
    let out = s.commit_page("q", t(0), &[m2], &[], "c", t(44)).unwrap();
    assert_eq!(out.answered, out.inserted);
    let stored = s.mention(out.inserted[0]).unwrap().unwrap();
    assert_eq!((stored.status, stored.answered_at), (Status::Answered, Some(t(30))));
}

fn a_reply_that_matches_by_id_and_by_conversation_answers_once(s: Store) {
    // In reply to the post itself and in its conversation.
    s.commit_page("q", t(0), &[], &[reply("11", "5", 30)], "c", t(31)).unwrap();
    let out = s.commit_page("q", t(0), &[mention("5", Class::Complaint, 0)], &[], "c", t(32)).unwrap();
    assert_eq!(out.answered.len(), 1);
    assert_eq!(s.mention(out.answered[0]).unwrap().unwrap().answered_at, Some(t(30)));
}

fn complaint_times_count_what_recent_complaints_counts(s: Store) {
    let mut page = Vec::new();
    for (i, (class, author, at)) in [
        (Class::Complaint, "100", 0),
        (Class::Escalation, "100", 100),
        (Class::Praise, "100", 200),
        (Class::Complaint, "100", 300),
        (Class::Complaint, "200", 150),
        (Class::Neutral, "200", 250),
    ]
    .into_iter()
    .enumerate()
    {
        let mut m = mention(&i.to_string(), class, at);
        m.author_id = author.into();
        page.push(m);
    }
    s.commit_page("q", t(0), &page, &[], "c", t(400)).unwrap();
    let times = s.complaint_times("acme", Platform::X, &["100", "200", "300"], to_ms(t(50))).unwrap();
    for (author, since) in [("100", 50), ("100", 0), ("100", 301), ("200", 150), ("200", 151), ("300", 0)] {
        let since = t(since);
        let counted = times.iter().filter(|(a, at)| a == author && *at >= to_ms(since)).count() as u32;
        if since >= t(50) {
            assert_eq!(counted, s.recent_complaints("acme", Platform::X, author, since).unwrap(), "{author} since {since}");
        }
    }
    assert_eq!(times.len(), 3, "{times:?}");
    assert!(s.complaint_times("acme", Platform::X, &[], 0).unwrap().is_empty());
    assert!(s.complaint_times("other", Platform::X, &["100"], 0).unwrap().is_empty());
}

fn due_mentions_follow_their_deadline_and_stop_after_a_page(s: Store) {
    s.commit_page("q", t(0), &[mention("1", Class::Complaint, 0), mention("2", Class::Praise, 0)], &[], "c", t(1)).unwrap();
    assert!(s.due(t(60)).unwrap().is_empty());
    assert_eq!(s.next_wakeup().unwrap(), Some(t(1800)));
    let due = s.due(t(1800)).unwrap();
    assert_eq!(due.len(), 1);
    let id = due[0].mention.id;
    let page = PlannedPage { recipient: "a@x.org".into(), brand: "acme".into(), step: 0, mention_ids: vec![id], not_before: None };
    s.enqueue_pages(&[page], &[PagedMention { id, step: 0, next_page_at: None }], t(1800)).unwrap();
    assert!(s.due(t(1900)).unwrap().is_empty());
    let pending = s.pending_outbox(t(1800)).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].mention_ids, vec![id]);
    s.delivered(Queue::Outbox, pending[0].id, t(1801)).unwrap();
    assert!(s.pending_outbox(t(1900)).unwrap().is_empty());
}

fn a_due_retry_brings_the_recipients_older_pending_rows_first(s: Store) {
    let ms: Vec<_> = (0..3).map(|i| mention(&i.to_string(), Class::Complaint, 0)).collect();
    let ids = s.commit_page("q", t(0), &ms, &[], "c", t(1)).unwrap().inserted;
    let page = |to: &str, id: i64| PlannedPage { recipient: to.into(), brand: "acme".into(), step: 0, mention_ids: vec![id], not_before: None };
    // Enqueued at different moments: pages due together would share a row.
    let rows: Vec<i64> = [("a@x.org", 0, 10), ("a@x.org", 1, 11), ("b@x.org", 2, 12)]
        .iter()
        .map(|(to, i, at)| s.enqueue_pages(&[page(to, ids[*i])], &[], t(*at)).unwrap()[0])
        .collect();
    // The oldest row failed more often: its retry is the latest.
    s.retry(Queue::Outbox, rows[0], "down", t(100)).unwrap();
    s.retry(Queue::Outbox, rows[1], "down", t(50)).unwrap();
    s.retry(Queue::Outbox, rows[2], "down", t(200)).unwrap();
    assert!(s.pending_outbox(t(40)).unwrap().is_empty());
    let due: Vec<i64> = s.pending_outbox(t(50)).unwrap().iter().map(|r| r.id).collect();
    assert_eq!(due, vec![rows[0], rows[1]], "a@x.org's rows in due order; b@x.org waits for its own retry");
}

fn acked_mentions_are_not_due_and_ack_is_idempotent(s: Store) {
    let out = s.commit_page("q", t(0), &[mention("1", Class::Complaint, 0)], &[], "c", t(1)).unwrap();
    let id = out.inserted[0];
    assert_eq!(s.ack(id, "ana", t(5)).unwrap(), AckOutcome::Acked);
    assert_eq!(s.ack(id, "ana", t(6)).unwrap(), AckOutcome::AlreadyAcked);
    assert_eq!(s.ack(999, "ana", t(6)).unwrap(), AckOutcome::NotFound);
    assert!(s.due(t(10_000)).unwrap().is_empty());
    assert_eq!(s.mention(id).unwrap().unwrap().acked_by.as_deref(), Some("ana"));
}

fn ack_and_answer_queue_resolutions_only_for_webhooks_that_were_paged(s: Store) {
    let out = s.commit_page("q", t(0), &[mention("1", Class::Complaint, 0)], &[], "c", t(1)).unwrap();
    let id = out.inserted[0];
    let page = |to: &str| PlannedPage { recipient: to.into(), brand: "acme".into(), step: 0, mention_ids: vec![id], not_before: None };
    s.enqueue_pages(&[page("webhook:pd"), page("ana@x.org")], &[PagedMention { id, step: 0, next_page_at: None }], t(1800)).unwrap();
    for row in s.pending_outbox(t(1800)).unwrap() {
        s.delivered(Queue::Outbox, row.id, t(1801)).unwrap();
    }
    assert!(s.alert_delivered("webhook:pd", id).unwrap());
    assert!(!s.alert_delivered("webhook:other", id).unwrap());
    s.ack(id, "ana", t(1900)).unwrap();
    s.commit_page("q", t(0), &[], &[reply("9", "1", 2000)], "c", t(2001)).unwrap();
    let notices: Vec<(OutboxKind, String)> = s.pending_outbox(t(3000)).unwrap().into_iter().map(|r| (r.kind, r.recipient)).collect();
    assert_eq!(notices, vec![(OutboxKind::Ack, "webhook:pd".into()), (OutboxKind::Resolve, "webhook:pd".into())]);
    // A second ack changes nothing and queues nothing.
    s.ack(id, "beto", t(3000)).unwrap();
    assert_eq!(s.pending_outbox(t(4000)).unwrap().len(), 2);
}

fn stats_report_median_and_p90_time_to_first_answer(s: Store) {
    let ms: Vec<_> = (0..10).map(|i| mention(&i.to_string(), Class::Complaint, 0)).collect();
    s.commit_page("q", t(0), &ms, &[], "c", t(1)).unwrap();
    let replies: Vec<_> = (0..10).map(|i| reply(&format!("r{i}"), &i.to_string(), 60 * (i + 1))).collect();
    s.commit_page("q", t(0), &[], &replies, "c", t(1000)).unwrap();
    let st = s.stats(t(-10)).unwrap();
    assert_eq!(st.len(), 1);
    assert_eq!(st[0].answered, 10);
    assert_eq!(st[0].median_first_answer_secs, Some(300));
    assert_eq!(st[0].p90_first_answer_secs, Some(540));
}

fn page(ids: &[i64], not_before: Option<DateTime<Utc>>) -> PlannedPage {
    PlannedPage { recipient: "a@x.org".into(), brand: "acme".into(), step: 0, mention_ids: ids.to_vec(), not_before }
}

fn paged(ids: &[i64]) -> Vec<PagedMention> {
    ids.iter().map(|&id| PagedMention { id, step: 0, next_page_at: None }).collect()
}

fn pages_due_within_group_wait_join_one_message(s: Store) {
    let ms: Vec<_> = (0..3).map(|i| mention(&i.to_string(), Class::Complaint, i)).collect();
    let ids = s.commit_page("q", t(0), &ms, &[], "c", t(1)).unwrap().inserted;
    let wait = std::time::Duration::from_secs(30);
    let a = s.enqueue_pages_grouped(&[page(&ids[0..1], None)], &paged(&ids[0..1]), t(1800), wait).unwrap();
    let b = s.enqueue_pages_grouped(&[page(&ids[1..2], None)], &paged(&ids[1..2]), t(1810), wait).unwrap();
    assert_eq!(a, b, "the second page joins the waiting message");
    assert!(s.pending_outbox(t(1829)).unwrap().is_empty(), "the message waits group_wait");
    let rows = s.pending_outbox(t(1830)).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].mention_ids, ids[0..2].to_vec());
    // Once sent, a later page starts a new message.
    s.delivered(Queue::Outbox, rows[0].id, t(1830)).unwrap();
    let c = s.enqueue_pages_grouped(&[page(&ids[2..3], None)], &paged(&ids[2..3]), t(1835), wait).unwrap();
    assert_ne!(c, a);
}

fn a_page_for_after_quiet_hours_waits_and_an_urgent_one_does_not_join_it(s: Store) {
    let ms: Vec<_> = (0..2).map(|i| mention(&i.to_string(), Class::Complaint, i)).collect();
    let ids = s.commit_page("q", t(0), &ms, &[], "c", t(1)).unwrap().inserted;
    let morning = t(36_000);
    let late = s.enqueue_pages(&[page(&ids[0..1], Some(morning))], &paged(&ids[0..1]), t(1800)).unwrap();
    let now = s.enqueue_pages(&[page(&ids[1..2], None)], &paged(&ids[1..2]), t(1800)).unwrap();
    assert_ne!(late, now);
    assert_eq!(s.pending_outbox(t(1800)).unwrap().len(), 1);
    assert_eq!(s.next_wakeup().unwrap(), Some(t(1800)));
    assert_eq!(s.pending_outbox(morning).unwrap().len(), 2);
}

fn a_silence_holds_a_mention_until_it_ends_or_is_lifted(s: Store) {
    let id = s.commit_page("q", t(0), &[mention("1", Class::Complaint, 0)], &[], "c", t(1)).unwrap().inserted[0];
    let sil = s.add_silence("acme", Some("x"), None, t(7200), "outage", "ana", t(0)).unwrap();
    assert_eq!(s.active_silences(t(1800)).unwrap().len(), 1);
    assert!(s.active_silences(t(7200)).unwrap().is_empty(), "ended at `until`");
    s.hold(&[(id, sil, t(7200))]).unwrap();
    assert!(s.due(t(1800)).unwrap().is_empty());
    assert_eq!(s.next_wakeup().unwrap(), Some(t(7200)), "wake when the silence ends, not now");
    assert_eq!(s.held_count(sil).unwrap(), 1);
    assert_eq!(s.due(t(7200)).unwrap().len(), 1);
    // Lifted early: due at once.
    assert!(s.end_silence(sil, t(1900)).unwrap());
    assert!(!s.end_silence(sil, t(1901)).unwrap(), "already ended");
    assert_eq!(s.due(t(1900)).unwrap().len(), 1);
    assert!(s.active_silences(t(1900)).unwrap().is_empty());
}

fn ack_all_acknowledges_only_the_brand_s_open_mentions(s: Store) {
    let mut other = mention("3", Class::Complaint, 0);
    other.brand = "other".into();
    let ids = s.commit_page("q", t(0), &[mention("1", Class::Complaint, 0), mention("2", Class::Escalation, 0), other], &[], "c", t(1)).unwrap().inserted;
    assert_eq!(s.ack(ids[0], "bo", t(2)).unwrap(), AckOutcome::Acked);
    assert_eq!(s.ack_all("acme", "ana", t(3)).unwrap(), vec![ids[1]]);
    assert_eq!(s.mention(ids[0]).unwrap().unwrap().acked_by.as_deref(), Some("bo"), "already acked stays as it was");
    assert_eq!(s.mention(ids[2]).unwrap().unwrap().status, Status::Open);
    assert!(s.ack_all("acme", "ana", t(4)).unwrap().is_empty());
}

fn deadlines_of_unpaged_complaints_can_be_moved(s: Store) {
    let id = s.commit_page("q", t(0), &[mention("1", Class::Complaint, 0)], &[], "c", t(1)).unwrap().inserted[0];
    let list = s.open_unpaged("acme").unwrap();
    assert_eq!(list, vec![(id, Class::Complaint, t(0), Some(t(1800)))]);
    assert_eq!(s.set_deadlines(&[(id, t(90_000))]).unwrap(), 1);
    assert!(s.due(t(1800)).unwrap().is_empty());
    assert_eq!(s.next_wakeup().unwrap(), Some(t(90_000)));
}

#[test]
fn processes_opening_a_new_database_at_once_migrate_it_once() {
    // The daemon and a CLI command (or a test watching the file) may
    // both open a database that does not exist yet.
    for _ in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.db");
        let opened: Vec<_> = (0..4)
            .map(|_| {
                let p = path.clone();
                std::thread::spawn(move || Store::open(&p).map(|s| s.ping()))
            })
            .collect();
        for t in opened {
            assert!(t.join().unwrap().unwrap());
        }
    }
}

fn review(id: &str, class: Class, stars: u8, created: i64) -> NewMention {
    NewMention { platform: Platform::AppStore, conversation_id: None, rating: Some(stars), ..mention(id, class, created) }
}

fn review_reply(id: &str, at: i64) -> Reply {
    Reply { platform: Platform::AppStore, platform_id: format!("{id}#reply"), conversation_id: None, ..reply("x", id, at) }
}

fn an_edited_review_keeps_its_newest_text_and_rating_without_a_second_page(s: Store) {
    let first = review("r1", Class::Complaint, 2, 0);
    let id = s.commit_page("q", t(0), std::slice::from_ref(&first), &[], "c1", t(1)).unwrap().inserted[0];
    assert_eq!(s.mention(id).unwrap().unwrap().rating, Some(2));
    let page = PlannedPage { recipient: "a@x.org".into(), brand: "acme".into(), step: 0, mention_ids: vec![id], not_before: None };
    s.enqueue_pages(&[page], &[PagedMention { id, step: 0, next_page_at: None }], t(1800)).unwrap();
    let mut edited = first;
    edited.text = "peor todavía".into();
    edited.rating = Some(1);
    edited.created_at = t(3000);
    edited.deadline = Some(t(4800));
    let out = s.commit_page("q", t(0), &[edited], &[], "c2", t(3000)).unwrap();
    assert!(out.reopened.is_empty(), "open and paged: an edit is not news");
    let m = s.mention(id).unwrap().unwrap();
    assert_eq!((m.text.as_str(), m.rating), ("peor todavía", Some(1)));
    assert_eq!(m.alerted_at, Some(t(1800)));
    assert!(s.due(t(100_000)).unwrap().is_empty());
}

fn an_answered_review_whose_rating_drops_to_one_or_two_is_open_again_with_a_new_deadline(s: Store) {
    let first = review("r1", Class::Praise, 4, 0);
    let first = NewMention { deadline: None, ..first };
    let id = s.commit_page("q", t(0), std::slice::from_ref(&first), &[review_reply("r1", 60)], "c1", t(61)).unwrap().inserted[0];
    assert_eq!(s.mention(id).unwrap().unwrap().status, Status::Answered);
    // Edited to one star after the answer: the reply predates the new
    // text, so the source no longer sends it.
    let edited = NewMention {
        text: "ya no funciona nada".into(),
        rating: Some(1),
        class: Class::Complaint,
        created_at: t(5000),
        deadline: Some(t(6800)),
        ..first.clone()
    };
    let out = s.commit_page("q", t(0), std::slice::from_ref(&edited), &[], "c2", t(5010)).unwrap();
    assert_eq!(out.reopened, vec![id]);
    let m = s.mention(id).unwrap().unwrap();
    assert_eq!((m.status, m.class, m.rating, m.deadline, m.answered_at), (Status::Open, Class::Complaint, Some(1), Some(t(6800)), None));
    assert_eq!(m.created_at, t(5000), "dated by the edit");
    assert!(s.due(t(6799)).unwrap().is_empty(), "paged after its threshold, not at once");
    assert_eq!(s.due(t(6800)).unwrap().len(), 1);
    // Fetched again unchanged: not reopened twice.
    let again = s.commit_page("q", t(0), &[edited], &[], "c3", t(5100)).unwrap();
    assert!(again.reopened.is_empty());
    // The business answers again: answered.
    let later = s.commit_page("q", t(0), &[], &[review_reply("r1", 6000)], "c4", t(6001)).unwrap();
    assert_eq!(later.answered, vec![id]);
}

fn an_answered_review_edited_without_a_drop_stays_answered(s: Store) {
    let first = review("r1", Class::Complaint, 1, 0);
    let id = s.commit_page("q", t(0), std::slice::from_ref(&first), &[review_reply("r1", 60)], "c1", t(61)).unwrap().inserted[0];
    let edited = NewMention { text: "sigo esperando".into(), created_at: t(500), deadline: Some(t(2300)), ..first };
    let out = s.commit_page("q", t(0), &[edited], &[], "c2", t(501)).unwrap();
    assert!(out.reopened.is_empty());
    let m = s.mention(id).unwrap().unwrap();
    assert_eq!((m.status, m.text.as_str()), (Status::Answered, "sigo esperando"));
}

#[test]
fn reopening_a_database_keeps_data_and_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.db");
    {
        let s = Store::open(&path).unwrap();
        s.commit_page("q", t(0), &[mention("1", Class::Complaint, 0)], &[], "c", t(1)).unwrap();
    }
    let s = Store::open(&path).unwrap();
    assert_eq!(s.mentions(&MentionFilter::default()).unwrap().len(), 1);
    assert!(s.ping());
}

fn the_inbox_lists_open_complaints_by_deadline_with_filters_and_paging(s: Store) {
    // Deadlines 30 min after creation: created 300 s later is due later.
    let mut late = mention("late", Class::Complaint, 300);
    late.text = "Perdieron mi MALETA 50%".into();
    let mut urgent = mention("urgent", Class::Escalation, 0);
    urgent.deadline = Some(t(60));
    urgent.text = "PÉSIMO SERVICIO, NI UNA DISCULPA DE LA ÑOÑA AEROLÍNEA".into();
    let mut other = mention("other", Class::Complaint, 100);
    other.brand = "globex".into();
    other.platform = Platform::Mastodon;
    other.author = "beto".into();
    let praise = mention("praise", Class::Praise, 50);
    let mut history = mention("history", Class::Complaint, -5000);
    history.history = true;
    let acked = mention("acked", Class::Complaint, 10);
    let out = s.commit_page("q", t(0), &[late, urgent, other, praise, history, acked], &[], "c", t(400)).unwrap();
    let id = |i: usize| out.inserted[i];
    s.ack(id(5), "ana", t(500)).unwrap();

    let open = InboxFilter { status: Some(Status::Open), limit: 50, ..Default::default() };
    let ids = |f: &InboxFilter| -> (Vec<String>, u64) {
        let (rows, total) = s.inbox(f).unwrap();
        (rows.into_iter().map(|m| m.platform_id).collect(), total)
    };
    assert_eq!(ids(&open), (vec!["urgent".to_string(), "other".into(), "late".into()], 3));
    assert_eq!(s.overdue_counts(t(1000)).unwrap(), [("acme".to_string(), 1)]);
    assert_eq!(s.overdue_counts(t(2500)).unwrap(), [("acme".to_string(), 2), ("globex".to_string(), 1)]);
    assert_eq!(ids(&InboxFilter { brand: Some("globex".into()), ..open.clone() }).0, ["other"]);
    assert_eq!(ids(&InboxFilter { platform: Some(Platform::X), ..open.clone() }).0, ["urgent", "late"]);
    assert_eq!(ids(&InboxFilter { class: Some(Class::Escalation), ..open.clone() }).0, ["urgent"]);
    assert_eq!(ids(&InboxFilter { class: Some(Class::Praise), ..open.clone() }).0, ["praise"]);
    assert_eq!(ids(&InboxFilter { search: Some("maleta 50%".into()), ..open.clone() }).0, ["late"]);
    assert_eq!(ids(&InboxFilter { search: Some("50_".into()), ..open.clone() }).0, Vec::<String>::new(), "_ is no wildcard");
    assert_eq!(ids(&InboxFilter { search: Some("BETO".into()), ..open.clone() }).0, ["other"], "the author too");
    // Capitals beyond ASCII fold on both backends (SQLite's own LOWER does not).
    for q in ["pésimo", "PÉSIMO", "Pésimo servicio", "ñoña aerolínea"] {
        assert_eq!(ids(&InboxFilter { search: Some(q.into()), ..open.clone() }).0, ["urgent"], "{q}");
    }
    assert_eq!(ids(&InboxFilter { status: Some(Status::Acked), ..open.clone() }).0, ["acked"]);
    assert_eq!(ids(&InboxFilter { status: None, ..open.clone() }).1, 5, "all: acked and history too");
    assert_eq!(ids(&InboxFilter { limit: 2, offset: 1, ..open.clone() }), (vec!["other".to_string(), "late".into()], 3));
    assert_eq!(ids(&InboxFilter { created_from: Some(t(100)), created_before: Some(t(300)), ..open.clone() }).0, ["other"]);
    assert_eq!(ids(&InboxFilter { created_from: Some(t(100)), ..open.clone() }).0, ["other", "late"]);

    // Assignments and notes.
    assert!(s.assign(id(2), Some("ana")).unwrap());
    assert!(!s.assign(999_999, Some("ana")).unwrap());
    assert_eq!(ids(&InboxFilter { assigned: Some(Some("ana".into())), ..open.clone() }).0, ["other"]);
    assert_eq!(ids(&InboxFilter { assigned: Some(None), ..open.clone() }).0, ["urgent", "late"]);
    assert_eq!(s.mention(id(2)).unwrap().unwrap().assigned_to.as_deref(), Some("ana"));
    assert!(s.assign(id(2), None).unwrap());
    assert_eq!(s.mention(id(2)).unwrap().unwrap().assigned_to, None);
    assert!(s.add_note(id(0), "ana", "llamé al cliente", t(600)).unwrap());
    assert!(s.add_note(id(0), "beto", "resuelto", t(700)).unwrap());
    assert!(!s.add_note(999_999, "ana", "x", t(700)).unwrap());
    let notes = s.notes(id(0)).unwrap();
    assert_eq!(
        notes.iter().map(|n| (n.by.as_str(), n.at, n.text.as_str())).collect::<Vec<_>>(),
        [("ana", t(600), "llamé al cliente"), ("beto", t(700), "resuelto")]
    );
    assert_eq!(s.all_notes().unwrap()[&id(0)], notes);
}

fn sessions_expire_and_end_at_logout(s: Store) {
    s.create_session("h1", "ana", "tok", t(0), t(100)).unwrap();
    assert_eq!(s.session("h1", t(99)).unwrap(), Some(Session { user: "ana".into(), csrf: "tok".into() }));
    assert_eq!(s.session("h1", t(100)).unwrap(), None, "expired");
    assert_eq!(s.session("nope", t(0)).unwrap(), None);
    // A new login sweeps expired sessions away.
    s.create_session("h2", "beto", "tok2", t(200), t(300)).unwrap();
    assert!(!s.end_session("h1").unwrap());
    assert!(s.end_session("h2").unwrap());
    assert_eq!(s.session("h2", t(201)).unwrap(), None);
    let sso = s.session_or_create("sso:ana", "ana", "first", t(0), t(100)).unwrap();
    assert_eq!(s.session_or_create("sso:ana", "ana", "second", t(50), t(150)).unwrap(), sso, "the same token on every daemon");
    assert_eq!(s.session_or_create("sso:ana", "ana", "third", t(100), t(200)).unwrap().csrf, "third", "a new one once expired");
    // Wrong passwords: counted per key within the window, in the database
    // so that every daemon on it sees them; a right password forgets them.
    let window = |now: i64| t(now - 900);
    for i in 0..3 {
        assert!(!s.login_blocked("name:ana", 3, window(i)).unwrap());
        s.login_failed("name:ana", t(i), window(i)).unwrap();
    }
    assert!(s.login_blocked("name:ana", 3, window(10)).unwrap());
    assert!(!s.login_blocked("name:ana", 4, window(10)).unwrap());
    assert!(!s.login_blocked("name:beto", 3, window(10)).unwrap());
    assert!(!s.login_blocked("name:ana", 3, window(900)).unwrap(), "the window is over");
    s.login_failed("name:ana", t(901), window(901)).unwrap();
    assert!(!s.login_blocked("name:ana", 2, window(902)).unwrap(), "a new count began after the window");
    s.login_failed("name:ana", t(902), window(902)).unwrap();
    assert!(s.login_blocked("name:ana", 2, window(903)).unwrap());
    s.login_succeeded("name:ana").unwrap();
    assert!(!s.login_blocked("name:ana", 1, window(903)).unwrap());
}

fn api_tokens_expire_and_are_revoked_by_their_public_id(s: Store) {
    let (forever, week) = ("a1b2c3d4e5f60718".repeat(4), "a1b2c3d4ffff0000".repeat(4));
    s.create_api_token(&forever, "ana", t(0), None).unwrap();
    s.create_api_token(&week, "beto", t(10), Some(t(10 + 7 * 86_400))).unwrap();
    let ana = s.api_token(&forever).unwrap().unwrap();
    assert_eq!((ana.user.as_str(), ana.created_at, ana.expires_at, ana.revoked_at), ("ana", t(0), None, None));
    assert_eq!(ana.public_id(), "a1b2c3d4e5f6");
    assert_eq!(s.api_token(&week).unwrap().unwrap().expires_at, Some(t(10 + 7 * 86_400)));
    assert_eq!(s.api_token("other").unwrap(), None);
    assert_eq!(s.api_tokens().unwrap().iter().map(|t| t.user.as_str()).collect::<Vec<_>>(), ["ana", "beto"]);
    // An id must name one token, with at least 8 characters.
    assert_eq!(s.revoke_api_token("a1b2c3d4", t(20)).unwrap(), RevokeOutcome::Ambiguous(2));
    assert_eq!(s.revoke_api_token("a1b2c3", t(20)).unwrap(), RevokeOutcome::NotFound);
    assert_eq!(s.revoke_api_token("a1b2%", t(20)).unwrap(), RevokeOutcome::NotFound, "no LIKE patterns");
    assert_eq!(s.revoke_api_token("ffffffffffff", t(20)).unwrap(), RevokeOutcome::NotFound);
    let RevokeOutcome::Revoked(r) = s.revoke_api_token("A1B2C3D4FFFF", t(20)).unwrap() else { panic!("not revoked") };
    assert_eq!((r.user.as_str(), r.revoked_at), ("beto", Some(t(20))));
    assert_eq!(s.api_token(&week).unwrap().unwrap().revoked_at, Some(t(20)));
    assert!(matches!(s.revoke_api_token("a1b2c3d4ffff", t(30)).unwrap(), RevokeOutcome::AlreadyRevoked(_)));
    assert_eq!(s.api_token(&week).unwrap().unwrap().revoked_at, Some(t(20)), "the first revocation's time stays");
    assert_eq!(s.api_token(&forever).unwrap().unwrap().revoked_at, None);
}

fn numbers_per_day_count_answers_and_first_answer_times_in_the_daemon_s_timezone(s: Store) {
    // Mexico City is UTC-6: 2026-12-05 03:00 UTC is still the 4th there.
    let tz: chrono_tz::Tz = "America/Mexico_City".parse().unwrap();
    let at = |d: u32, h: u32| Utc.with_ymd_and_hms(2026, 12, d, h, 0, 0).unwrap();
    let complaint = |id: &str, class: Class, created: DateTime<Utc>| NewMention {
        created_at: created,
        deadline: Some(created + Duration::minutes(30)),
        ..mention(id, class, 0)
    };
    let mut other_platform = complaint("m", Class::Complaint, at(5, 18));
    other_platform.platform = Platform::Mastodon;
    let ms = [
        complaint("late-4th", Class::Complaint, at(5, 3)),
        complaint("a", Class::Complaint, at(5, 12)),
        complaint("b", Class::Escalation, at(5, 13)),
        complaint("c", Class::Complaint, at(5, 14)),
        complaint("praise", Class::Praise, at(5, 15)),
        complaint("d", Class::Complaint, at(7, 12)),
        complaint("before", Class::Complaint, at(1, 12)),
        other_platform,
    ];
    s.commit_page("q", at(8, 0), &ms, &[], "c", at(8, 0)).unwrap();
    let answer = |id: &str, to: &str, when: DateTime<Utc>| Reply { created_at: when, ..reply(id, to, 0) };
    // a: 10 min, b: 1 h, late-4th: 2 min; c never; d: 30 min.
    let replies = [
        answer("ra", "a", at(5, 12) + Duration::minutes(10)),
        answer("rb", "b", at(5, 14)),
        answer("rl", "late-4th", at(5, 3) + Duration::minutes(2)),
        answer("rd", "d", at(7, 12) + Duration::minutes(30)),
    ];
    s.commit_page("q", at(8, 0), &[], &replies, "c", at(8, 0)).unwrap();
    // The numbers page on the 8th at 10:00 local, over the last 4 days.
    let now = tz.with_ymd_and_hms(2026, 12, 8, 10, 0, 0).unwrap().with_timezone(&Utc);
    let from = tz.with_ymd_and_hms(2026, 12, 5, 0, 0, 0).unwrap().with_timezone(&Utc);
    let daily = s.daily_answers(from, now, tz).unwrap();
    let days: Vec<String> = daily[0].days.iter().map(|d| d.day.to_string()).collect();
    assert_eq!(days, ["2026-12-05", "2026-12-06", "2026-12-07", "2026-12-08"]);
    assert_eq!(daily.iter().map(|d| (d.brand.as_str(), d.platform.as_str())).collect::<Vec<_>>(), [("acme", "mastodon"), ("acme", "x")]);
    let x: Vec<(u64, u64, Option<i64>, Option<i64>)> =
        daily[1].days.iter().map(|d| (d.needing_answer, d.answered, d.p50_first_answer_secs, d.p90_first_answer_secs)).collect();
    // The 4th's complaint (local time) and the 1st's are outside; praise is not counted.
    assert_eq!(x, [(3, 2, Some(600), Some(3600)), (0, 0, None, None), (1, 1, Some(1800), Some(1800)), (0, 0, None, None)]);
    assert_eq!((daily[0].days[0].needing_answer, daily[0].days[0].answered), (1, 0));
}

fn the_inbox_signature_changes_when_a_mention_comes_or_goes(s: Store) {
    let open = InboxFilter { status: Some(Status::Open), limit: 50, ..Default::default() };
    assert_eq!(s.inbox_signature(&open).unwrap(), (0, None));
    let first = s.commit_page("q", t(0), &[mention("a", Class::Complaint, 0)], &[], "c", t(1)).unwrap().inserted[0];
    assert_eq!(s.inbox_signature(&open).unwrap(), (1, Some(first)));
    let second = s.commit_page("q", t(0), &[mention("b", Class::Complaint, 5)], &[], "c", t(6)).unwrap().inserted[0];
    assert_eq!(s.inbox_signature(&open).unwrap(), (2, Some(second)));
    assert_eq!(s.inbox_page(&open).unwrap().1, 2);
    assert_eq!(s.inbox_page(&open).unwrap().2, Some(second));
    s.ack(first, "ana", t(10)).unwrap();
    assert_eq!(s.inbox_signature(&open).unwrap(), (1, Some(second)));
}

fn dead_letters_are_listed_with_their_error_and_can_be_put_back(s: Store) {
    let ids = s.commit_page("q", t(0), &[mention("1", Class::Complaint, 0)], &[], "c", t(1)).unwrap().inserted;
    s.enqueue_pages(&[page(&ids, None)], &paged(&ids), t(10)).unwrap();
    s.enqueue_notices(&[("ana@example.com".into(), "s".into(), "t".into(), "h".into())], t(11)).unwrap();
    let row = s.pending_outbox(t(10)).unwrap()[0].id;
    s.dead(Queue::Outbox, row, "550 no such user").unwrap();
    let list = s.deliveries().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(
        (list[0].queue, list[0].state.as_str(), list[0].last_error.as_deref(), list[0].mention_ids.clone()),
        ("outbox", "dead", Some("550 no such user"), ids.clone())
    );
    assert_eq!((list[1].queue, list[1].kind.as_str(), list[1].state.as_str()), ("notices", "notice", "pending"));
    assert!(s.redeliver(Queue::Outbox, row, t(20)).unwrap());
    assert!(!s.redeliver(Queue::Outbox, row, t(20)).unwrap(), "only a dead row comes back");
    assert_eq!(s.pending_outbox(t(20)).unwrap().iter().map(|r| r.id).collect::<Vec<_>>(), vec![row]);
    s.delivered(Queue::Outbox, row, t(21)).unwrap();
    assert_eq!(s.deliveries().unwrap().len(), 1, "sent rows are not listed");
}

fn conversation_roots_are_the_recent_mentions_that_began_a_conversation_once_each(s: Store) {
    let at = |id: &str, conversation: &str, created: i64, brand: &str, platform: Platform| NewMention {
        brand: brand.into(),
        platform,
        conversation_id: Some(conversation.into()),
        ..mention(id, Class::Neutral, created)
    };
    let page = [
        at("t3_a", "t3_a", 100, "acme", Platform::Reddit),
        // The same post mentions a second brand: one root.
        at("t3_a", "t3_a", 100, "other", Platform::Reddit),
        at("t3_b", "t3_b", 300, "acme", Platform::Reddit),
        // A comment is not a root; an old post and another platform's post are not followed.
        at("t1_c", "t3_b", 400, "acme", Platform::Reddit),
        at("t3_old", "t3_old", -1000, "acme", Platform::Reddit),
        at("9", "9", 200, "acme", Platform::X),
    ];
    s.commit_page("q", t(0), &page, &[], "c", t(500)).unwrap();
    // A post stored as history on a first poll, for one brand only.
    let old = NewMention { history: true, ..at("t3_h", "t3_h", 200, "acme", Platform::Reddit) };
    s.commit_page("first", t(0), std::slice::from_ref(&old), &[], "c", t(600)).unwrap();
    let root = |id: &str, created: i64, history: Option<i64>| crate::model::ConversationRoot {
        platform_id: id.into(),
        created_at: t(created),
        history_seen_at: history.map(t),
    };
    let roots = s.conversation_roots(Platform::Reddit, t(0)).unwrap();
    assert_eq!(roots, vec![root("t3_b", 300, None), root("t3_h", 200, Some(600)), root("t3_a", 100, None)]);
    assert!(s.conversation_roots(Platform::Reddit, t(301)).unwrap().is_empty());
    // Live for another brand: the thread's replies are news.
    s.commit_page("q2", t(0), &[NewMention { history: false, brand: "other".into(), ..old }], &[], "c", t(700)).unwrap();
    assert_eq!(s.conversation_roots(Platform::Reddit, t(0)).unwrap()[1], root("t3_h", 200, None));
}

on_both!(
    conversation_roots_are_the_recent_mentions_that_began_a_conversation_once_each,
    dead_letters_are_listed_with_their_error_and_can_be_put_back,
    a_mention_fetched_twice_is_stored_once,
    an_edited_post_keeps_its_newest_text_without_a_new_alert_or_status,
    an_open_complaint_edited_before_its_deadline_keeps_its_deadline_and_is_paged_once,
    the_same_post_is_a_mention_of_each_brand_it_names,
    a_reply_answers_the_mention_whichever_arrives_first,
    a_reply_in_the_same_conversation_to_the_same_author_answers,
    a_conversation_reply_stored_first_answers_the_mention_when_it_arrives,
    a_reply_that_matches_by_id_and_by_conversation_answers_once,
    complaint_times_count_what_recent_complaints_counts,
    due_mentions_follow_their_deadline_and_stop_after_a_page,
    a_due_retry_brings_the_recipients_older_pending_rows_first,
    acked_mentions_are_not_due_and_ack_is_idempotent,
    ack_and_answer_queue_resolutions_only_for_webhooks_that_were_paged,
    stats_report_median_and_p90_time_to_first_answer,
    pages_due_within_group_wait_join_one_message,
    a_page_for_after_quiet_hours_waits_and_an_urgent_one_does_not_join_it,
    a_silence_holds_a_mention_until_it_ends_or_is_lifted,
    ack_all_acknowledges_only_the_brand_s_open_mentions,
    deadlines_of_unpaged_complaints_can_be_moved,
    the_inbox_lists_open_complaints_by_deadline_with_filters_and_paging,
    sessions_expire_and_end_at_logout,
    api_tokens_expire_and_are_revoked_by_their_public_id,
    numbers_per_day_count_answers_and_first_answer_times_in_the_daemon_s_timezone,
    the_inbox_signature_changes_when_a_mention_comes_or_goes,
    an_edited_review_keeps_its_newest_text_and_rating_without_a_second_page,
    an_answered_review_whose_rating_drops_to_one_or_two_is_open_again_with_a_new_deadline,
    an_answered_review_edited_without_a_drop_stays_answered,
);
