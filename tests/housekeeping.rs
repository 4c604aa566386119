//! Database housekeeping through the real binary: `[daemon] retention`
//! deletes old mentions when the daemon starts (and daily after), keeping an
//! open complaint that still has an alert to go (here: its page waits for an
//! SMTP server that is down, or it is not paged yet); `escucha backup` copies the
//! live database while the daemon runs.

#[path = "support/daemon.rs"]
mod daemon;

use chrono::{Duration as CDuration, Utc};
use daemon::{escucha, mentions, wait_for, Daemon};
use escucha::model::{Class, Platform};
use escucha::store::{NewMention, Store};
use std::path::Path;
use std::time::Duration;

fn mention(id: &str, class: Class, age_days: i64) -> NewMention {
    let created = Utc::now() - CDuration::days(age_days);
    NewMention {
        brand: "interjet".into(),
        platform: Platform::X,
        platform_id: id.into(),
        url: format!("https://x.com/u/status/{id}"),
        author: "ana".into(),
        author_id: format!("a{id}"),
        author_followers: Some(10),
        text: format!("texto {id}"),
        lang: Some("es".into()),
        class,
        score: 0.8,
        reasons: vec![],
        created_at: created,
        deadline: class.needs_answer().then(|| created + CDuration::days(400)),
        history: false,
        reposts: 0,
        conversation_id: None,
        in_reply_to_id: None,
        rating: None,
    }
}

/// Alerts go to an SMTP port where nothing listens: a paged complaint keeps
/// a pending outbox row for as long as the test runs.
fn write_config(dir: &Path, retention: Option<&str>) -> std::path::PathBuf {
    let retention = retention.map(|r| format!("retention = \"{r}\"\n")).unwrap_or_default();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let path = dir.join("escucha.toml");
    std::fs::write(
        &path,
        format!(
            r#"[daemon]
database = "escucha.db"
{retention}
[[brand]]
id = "interjet"
name = "Interjet"
terms = ["interjet"]
oncall = "care"

[smtp]
host = "127.0.0.1"
port = {closed}
security = "none"
from = "alerts@example.com"

[[oncall]]
id = "care"
[[oncall.shift]]
when = "* * * * * *"
notify = ["guardia@example.com"]
"#
        ),
    )
    .unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_old_mentions_at_start_but_keeps_an_open_complaint_still_to_be_paged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("escucha.db");
    {
        let s = Store::open(&db).unwrap();
        let page = [mention("old-neutral", Class::Neutral, 400), mention("old-open-complaint", Class::Complaint, 300), mention("recent", Class::Praise, 10)];
        s.commit_page("q", Utc::now(), &page, &[], "c", Utc::now()).unwrap();
    }
    let cfg = write_config(dir.path(), Some("180d"));
    let mut d = Daemon::start(dir.path(), &cfg, &[]);
    wait_for(Duration::from_secs(30), "the housekeeping pass", &d, || d.log().contains("housekeeping done").then_some(())).await;
    let mut left: Vec<String> = mentions(&db).into_iter().map(|m| m.platform_id).collect();
    left.sort();
    assert_eq!(left, vec!["old-open-complaint", "recent"]);
    assert_eq!(d.terminate(Duration::from_secs(10)), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_retention_nothing_is_ever_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("escucha.db");
    {
        let s = Store::open(&db).unwrap();
        s.commit_page("q", Utc::now(), &[mention("ancient", Class::Neutral, 3000)], &[], "c", Utc::now()).unwrap();
    }
    let cfg = write_config(dir.path(), None);
    let mut d = Daemon::start(dir.path(), &cfg, &[]);
    wait_for(Duration::from_secs(30), "the daemon to start", &d, || d.log().contains("escucha started").then_some(())).await;
    assert_eq!(d.terminate(Duration::from_secs(10)), Some(0));
    assert!(!d.log().contains("housekeeping"), "{}", d.log());
    assert_eq!(mentions(&db).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_copies_the_live_database_while_the_daemon_runs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("escucha.db");
    {
        let s = Store::open(&db).unwrap();
        let page: Vec<_> = (0..500).map(|i| mention(&format!("m{i}"), Class::Neutral, 1)).collect();
        s.commit_page("q", Utc::now(), &page, &[], "c", Utc::now()).unwrap();
    }
    let cfg = write_config(dir.path(), None);
    let mut d = Daemon::start(dir.path(), &cfg, &[]);
    wait_for(Duration::from_secs(30), "the daemon to start", &d, || d.log().contains("escucha started").then_some(())).await;
    let copy = dir.path().join("backups").join("copy.db");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    let (code, out, err) = escucha(&["backup", copy.to_str().unwrap(), "--config", cfg.to_str().unwrap()], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("copy.db"), "{out}");
    assert!(!dir.path().join("backups/copy.db.partial").exists(), "the partial file was renamed into place");
    assert!(d.running());
    let copied = mentions(&copy);
    assert_eq!(copied.len(), 500);
    assert_eq!(copied, mentions(&db), "the copy holds exactly what the live database holds");
    assert_eq!(d.terminate(Duration::from_secs(10)), Some(0));
    // A path that cannot be written: a clear error, exit 1.
    let (code, _, err) = escucha(&["backup", "/nonexistent-dir/x.db", "--config", cfg.to_str().unwrap()], None);
    assert_eq!(code, 1);
    assert!(err.starts_with("escucha: backing up to /nonexistent-dir/x.db.partial"), "{err}");
}
