//! Corrections end to end: the real `escucha` binary polling a fake X API
//! and paging a real SMTP listener, while `escucha correct` (another
//! process) relabels mentions in the same database. A correction to praise
//! stops a chain; a correction to complaint pages at once when overdue;
//! labels survive a restart; `mentions --json` says who corrected what.
//!
//! Thresholds are seconds long; every wait polls a condition with a timeout,
//! and "nothing else happened" is checked after several more X polls.

#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/fake_x.rs"]
mod fake_x;
#[path = "support/smtp.rs"]
mod smtp;
#[path = "support/world.rs"]
mod world;

use daemon::{bin, cursor, escucha, mentions, wait_for, Daemon};
use escucha::model::{Class, LabelOrigin, Mention, Status};
use escucha::store::Store;
use fake_x::{FakeX, NewTweet};
use smtp::SmtpServer;
use std::path::{Path, PathBuf};
use std::time::Duration;
use world::ConfigToml;

const LONG: Duration = Duration::from_secs(30);

struct World {
    dir: tempfile::TempDir,
    x: FakeX,
    smtp: SmtpServer,
    config: PathBuf,
}

impl World {
    /// Interjet on X, 1 s to answer anything; the `care` rota pages guardia,
    /// then jefa 3 s later; ack and not-a-complaint links on.
    async fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let (x, smtp) = (FakeX::start().await, SmtpServer::start().await);
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let config = ConfigToml::new()
            .daemon("escucha.db")
            .set("daemon", "timezone", "UTC")
            .http_with_acks(port, "corrections-test-secret")
            .interjet("1s", "1s", &[("x", "Interjet_mx")])
            .x(&x.base_url(), fake_x::DEFAULT_TOKEN)
            .smtp(smtp.port())
            .oncall(&["guardia@example.com"])
            .section("[[oncall.then]]", "after = \"3s\"\nnotify = [\"jefa@example.com\"]")
            .write(dir.path());
        World { dir, x, smtp, config }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("escucha.db")
    }

    async fn start(&self) -> Daemon {
        let d = Daemon::start(self.dir.path(), &self.config, &[]);
        let db = self.db();
        wait_for(LONG, "the first X poll", &d, || cursor(&db, "x:search:interjet")).await;
        d
    }

    async fn stored(&self, d: &Daemon, platform_id: &str) -> Mention {
        let db = self.db();
        wait_for(LONG, "the mention to be stored", d, || mentions(&db).into_iter().find(|m| m.platform_id == platform_id)).await
    }

    fn mention(&self, id: i64) -> Mention {
        mentions(&self.db()).into_iter().find(|m| m.id == id).unwrap()
    }

    /// Waits for `n` more X polls: time for the daemon to have done
    /// whatever it was going to do.
    async fn polls(&self, d: &Daemon, n: usize) {
        let before = self.x.requests().len();
        wait_for(LONG, "more X polls", d, || (self.x.requests().len() >= before + n).then_some(())).await;
    }

    fn cli(&self, args: &[&str]) -> (i32, String, String) {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--config", self.config.to_str().unwrap()]);
        escucha(&all, None)
    }

    /// `escucha correct` without --by, as `user` (not under sudo).
    fn correct_as_user(&self, id: i64, class: &str, user: &str) -> (i32, String, String) {
        let out = std::process::Command::new(bin())
            .args(["correct", &id.to_string(), "--class", class, "--config", self.config.to_str().unwrap()])
            .env_remove("SUDO_USER")
            .env("USER", user)
            .output()
            .unwrap();
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
    }
}

fn labels(db: &Path) -> Vec<escucha::model::Label> {
    Store::open(db).unwrap().labels().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrections_stop_a_chain_start_an_overdue_page_and_outlive_a_restart() {
    let w = World::new().await;
    let mut d = w.start().await;

    // A complaint is paged, with a not-a-complaint link beside the ack link.
    let lost = w.x.add_tweet(NewTweet::new("maria", "@Interjet_mx perdieron mi maleta y nadie responde, es un desastre").lang(Some("es")));
    let complaint = w.stored(&d, &lost).await;
    assert_eq!(complaint.class, Class::Complaint, "{:?}", complaint.reasons);
    let mail = w.smtp.wait_for(1, LONG).await;
    assert_eq!(mail[0].to, ["guardia@example.com"]);
    let body = mail[0].text_body().unwrap();
    assert!(body.contains("Not a complaint? Open http://127.0.0.1:") && body.contains("/not-a-complaint/"), "{body}");

    // Relabelled praise before jefa's step (3 s later): the chain stops.
    let (code, out, err) = w.cli(&["correct", &complaint.id.to_string(), "--class", "praise", "--by", "ana"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.trim(), format!("mention {}: complaint -> praise, corrected by ana; its alerts stop", complaint.id));
    let m = w.mention(complaint.id);
    assert_eq!((m.class, m.status, m.acked_by.as_deref(), m.corrected_by.as_deref()), (Class::Praise, Status::Acked, Some("ana"), Some("ana")));

    // Praise, stored and never paged, then called a complaint once overdue:
    // paged at once, from the first step, with the correction in its reasons.
    let thanks = w.x.add_tweet(NewTweet::new("luis", "Gracias @Interjet_mx, el trato de la tripulación fue excelente").lang(Some("es")));
    let praise = w.stored(&d, &thanks).await;
    assert_eq!(praise.class, Class::Praise, "{:?}", praise.reasons);
    // Well past the praise's would-be deadline (1 s) and the complaint's
    // cancelled second step (3 s): polls are 1 s apart.
    w.polls(&d, 5).await;
    assert_eq!(w.smtp.messages().len(), 1, "the corrected complaint's chain stopped and praise pages nobody");
    let (code, out, err) = w.correct_as_user(praise.id, "complaint", "beto");
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.trim(), format!("mention {}: praise -> complaint, corrected by beto; it is overdue and will be paged now", praise.id));
    let mail = w.smtp.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(mail[1].to, ["guardia@example.com"]);
    let body = mail[1].text_body().unwrap();
    assert!(body.contains("el trato de la tripulación") && body.contains("complaint:corrected-by:beto"), "{body}");
    // Its chain runs like any complaint's.
    let mail = w.smtp.wait_for(3, LONG).await;
    assert_eq!(mail[2].to, ["jefa@example.com"]);
    assert!(mail[2].text_body().unwrap().contains("el trato de la tripulación"));

    // Already that class: nothing changes. Bad input: a clear error.
    let (code, out, _) = w.cli(&["correct", &praise.id.to_string(), "--class", "complaint"]);
    assert_eq!((code, out.trim()), (0, format!("mention {} is already complaint; nothing changed", praise.id).as_str()));
    let (code, _, err) = w.cli(&["correct", "999999", "--class", "praise"]);
    assert_eq!(code, 1);
    assert!(err.contains("no mention with id 999999"), "{err}");
    let (code, _, err) = w.cli(&["correct", &praise.id.to_string(), "--class", "angry"]);
    assert_eq!(code, 1);
    assert!(err.contains("--class angry: expected praise, complaint, escalation or neutral"), "{err}");

    // `mentions --json` says who corrected what, and when.
    let (code, out, err) = w.cli(&["mentions", "--json"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let row = |id: i64| rows.iter().find(|r| r["id"] == id).unwrap().clone();
    assert_eq!((row(complaint.id)["class"].as_str(), row(complaint.id)["corrected_by"].as_str()), (Some("praise"), Some("ana")));
    assert_eq!(row(praise.id)["corrected_by"], "beto");
    let at = row(praise.id)["corrected_at"].as_str().unwrap().to_string();
    assert!(chrono::DateTime::parse_from_rfc3339(&at).is_ok(), "{at}");

    // A restart keeps the labels and the corrections, and pages nobody again.
    let before = labels(&w.db());
    assert_eq!(before.len(), 2);
    assert_eq!(d.terminate(LONG), Some(0));
    let d = w.start().await;
    w.polls(&d, 3).await;
    let after = labels(&w.db());
    assert_eq!(after, before);
    assert_eq!((after[0].class, after[0].mention_id, after[0].origin, after[0].by.as_str()), (Class::Praise, Some(complaint.id), LabelOrigin::Correct, "ana"));
    assert_eq!((after[1].class, after[1].mention_id, after[1].by.as_str()), (Class::Complaint, Some(praise.id), "beto"));
    assert_eq!(after[1].text, "Gracias @Interjet_mx, el trato de la tripulación fue excelente");
    assert_eq!(w.mention(complaint.id).class, Class::Praise);
    assert_eq!(w.smtp.messages().len(), 3, "{:#?}", w.smtp.messages().iter().map(|m| m.text_body()).collect::<Vec<_>>());
}
