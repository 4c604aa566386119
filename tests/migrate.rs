//! Moving a SQLite deployment to PostgreSQL with `escucha migrate --to`,
//! and the command line working the same on both: the real binary, a real
//! SQLite file and a throwaway PostgreSQL cluster.

#[path = "support/daemon.rs"]
mod daemon;

use chrono::{TimeZone, Utc};
use daemon::escucha;
use escucha::model::{Class, LabelOrigin, NewLabel, Platform, Status};
use escucha::store::{NewMention, PagedMention, PlannedPage, Queue, Reply, Store};
use std::path::Path;

fn t(s: i64) -> chrono::DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
}

fn mention(id: &str, class: Class, text: &str) -> NewMention {
    NewMention {
        brand: "acme".into(),
        platform: Platform::X,
        platform_id: id.into(),
        url: format!("https://x.com/ana/status/{id}"),
        author: "ana".into(),
        author_id: "100".into(),
        author_followers: Some(12),
        text: text.into(),
        lang: Some("es".into()),
        class,
        score: 0.75,
        reasons: vec!["complaint:phrase:no funciona".into()],
        created_at: t(0),
        deadline: class.needs_answer().then(|| t(1800)),
        history: false,
        reposts: 2,
        conversation_id: Some(id.into()),
        in_reply_to_id: None,
        rating: None,
    }
}

fn config(dir: &Path, name: &str, database: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("[daemon]\ndatabase = {database:?}\n\n[[brand]]\nid = \"acme\"\nname = \"Acme\"\nterms = [\"acme\"]\n")).unwrap();
    path
}

/// A SQLite deployment with something in every table migrate copies.
fn fill(s: &Store) -> Vec<i64> {
    let page = [
        mention("1", Class::Complaint, "acme no funciona"),
        mention("2", Class::Praise, "gracias acme"),
        mention("3", Class::Escalation, "acme voy a denunciar"),
    ];
    let reply = Reply {
        brand: "acme".into(),
        platform: Platform::X,
        platform_id: "9".into(),
        in_reply_to_id: Some("1".into()),
        in_reply_to_author_id: Some("100".into()),
        conversation_id: Some("1".into()),
        created_at: t(600),
    };
    let ids = s.commit_page("x:search:acme", t(0), &page, &[], "cursor-1", t(5)).unwrap().inserted;
    s.enqueue_pages(
        &[PlannedPage { recipient: "ana@example.com".into(), brand: "acme".into(), step: 0, mention_ids: vec![ids[2]], not_before: None }],
        &[PagedMention { id: ids[2], step: 0, next_page_at: Some(t(2400)) }],
        t(1800),
    )
    .unwrap();
    let row = s.pending_outbox(t(1800)).unwrap()[0].id;
    s.delivered(Queue::Outbox, row, t(1801)).unwrap();
    s.commit_page("x:account:acme", t(0), &[], &[reply], "cursor-2", t(700)).unwrap();
    s.add_silence("acme", Some("x"), None, t(90_000), "outage", "ana", t(10)).unwrap();
    s.enqueue_notices(&[("ana@example.com".into(), "s".into(), "t".into(), "<p>h</p>".into())], t(20)).unwrap();
    s.source_failed("x", "timeout", t(30)).unwrap();
    s.digest_last_fire("digest", t(40)).unwrap();
    s.add_labels(
        &[NewLabel {
            text: "acme tarda".into(),
            class: Class::Complaint,
            lang: Some("es".into()),
            brand: None,
            mention_id: None,
            by: "ana".into(),
            origin: LabelOrigin::Learn,
        }],
        t(50),
    )
    .unwrap();
    s.correct(ids[1], Class::Neutral, "ana", LabelOrigin::Correct, t(60), None).unwrap();
    ids
}

#[test]
fn migrate_copies_a_sqlite_deployment_into_postgres_and_the_cli_reads_both_alike() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("escucha.db");
    let ids = fill(&Store::open(&db).unwrap());
    let sqlite = config(dir.path(), "sqlite.toml", "escucha.db");
    let url = escucha::store::testdb::database();
    let pg = config(dir.path(), "pg.toml", &url);

    let (code, out, err) = escucha(&["migrate", "--config", sqlite.to_str().unwrap(), "--to", &url], None);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("mentions: 3 row(s)") && out.contains("labels: 2 row(s)") && out.contains("outbox: 1 row(s)"), "{out}");

    // The same answers from both databases, through the same commands.
    for args in [&["mentions", "--json"][..], &["stats", "--since", "100000d", "--json"], &["silences"]] {
        let run = |cfg: &Path| {
            let mut a: Vec<&str> = args.to_vec();
            a.extend(["--config", cfg.to_str().unwrap()]);
            escucha(&a, None)
        };
        let (a, b) = (run(&sqlite), run(&pg));
        assert_eq!(a.0, 0, "{args:?} on SQLite: {}", a.2);
        assert_eq!((b.0, &b.1), (0, &a.1), "{args:?} on PostgreSQL: {}", b.2);
    }
    let pg_store = Store::open_postgres(&url).unwrap();
    let sq = Store::open(&db).unwrap();
    assert_eq!(pg_store.labels().unwrap(), sq.labels().unwrap());
    assert_eq!(pg_store.cursor("x:account:acme").unwrap(), sq.cursor("x:account:acme").unwrap());
    assert_eq!(pg_store.source_health("x").unwrap(), sq.source_health("x").unwrap());
    assert_eq!(pg_store.mention(ids[0]).unwrap().unwrap().status, Status::Answered, "the reply's answer came along");
    assert_eq!(pg_store.outbox_counts().unwrap(), vec![("sent".to_string(), 1)]);

    // Ids go on after the copied ones, and the copy is a live deployment:
    // ack works from the command line.
    let new = pg_store.commit_page("x:search:acme", t(0), &[mention("4", Class::Complaint, "acme sigue sin funcionar")], &[], "c", t(100)).unwrap().inserted;
    assert!(new[0] > *ids.iter().max().unwrap(), "{new:?} after {ids:?}");
    let (code, out, err) = escucha(&["ack", &new[0].to_string(), "--by", "ana", "--config", pg.to_str().unwrap()], None);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(pg_store.mention(new[0]).unwrap().unwrap().acked_by.as_deref(), Some("ana"));

    // Never into a database that has rows: nothing is copied, and it says why.
    let (code, _, err) = escucha(&["migrate", "--config", sqlite.to_str().unwrap(), "--to", &url], None);
    assert_ne!(code, 0);
    assert!(err.contains("not empty"), "{err}");
    assert_eq!(pg_store.mentions(&Default::default()).unwrap().len(), 4);

    // backup is SQLite's; on PostgreSQL it says what to use instead.
    let (code, _, err) = escucha(&["backup", dir.path().join("b.db").to_str().unwrap(), "--config", pg.to_str().unwrap()], None);
    assert_ne!(code, 0);
    assert!(err.contains("pg_dump"), "{err}");
    // check names the database without its password.
    let secret = url.replacen("escucha@", "escucha:hunter2@", 1);
    let with_password = config(dir.path(), "pw.toml", &secret);
    let (code, out, err) = escucha(&["check", "--config", with_password.to_str().unwrap()], None);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("PostgreSQL") && !out.contains("hunter2") && out.contains("escucha:***@"), "{out}");
}

#[test]
fn a_database_url_that_is_not_postgres_or_does_not_parse_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let text = "[daemon]\ndatabase_url_env = \"DB_URL\"\n\n[[brand]]\nid = \"acme\"\nname = \"Acme\"\nterms = [\"acme\"]\n";
    let path = dir.path().join("e.toml");
    std::fs::write(&path, text).unwrap();
    let run = |value: &str| {
        let out = std::process::Command::new(daemon::bin()).args(["check", "--config", path.to_str().unwrap()]).env("DB_URL", value).output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr))
    };
    let (code, out) = run("mysql://x@y/z");
    assert_eq!(code, Some(78), "{out}");
    assert!(out.contains("database_url_env") && out.contains("not a PostgreSQL URL"), "{out}");
    let (code, out) = run("postgres://escucha@db.example:5432/escucha");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("postgres://escucha@db.example:5432/escucha (PostgreSQL"), "{out}");
}
