//! On-call end to end: the real `escucha` binary against a fake X API and a
//! real SMTP listener, checking chains, acks, silences, grouping, quiet and
//! business hours, digests, and the CLI commands that manage them.
//!
//! Thresholds are seconds long; every wait polls a condition with a timeout,
//! and "nothing else happened" is checked after the fake X saw several more
//! polls (the daemon's own heartbeat), never after a bare sleep.

#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/fake_x.rs"]
mod fake_x;
#[path = "support/smtp.rs"]
mod smtp;

use chrono::{Duration as CDuration, Timelike, Utc};
use daemon::{cursor, escucha, mentions, outbox, wait_for, Daemon};
use escucha::model::{Class, Status};
use escucha::store::Store;
use fake_x::{FakeX, NewTweet};
use smtp::SmtpServer;
use std::path::{Path, PathBuf};
use std::time::Duration;

const LONG: Duration = Duration::from_secs(40);

struct World {
    dir: tempfile::TempDir,
    x: FakeX,
    smtp: SmtpServer,
}

/// What varies between tests: the daemon section's extras, the brand's
/// extras, the rota (shifts and steps) and any further sections.
struct Setup<'a> {
    daemon: &'a str,
    brand: &'a str,
    rota: &'a str,
    extra: &'a str,
}

const ALWAYS: &str = r#"
[[oncall.shift]]
when = "* * * * * *"
notify = ["guardia@example.com"]
"#;

impl Default for Setup<'_> {
    fn default() -> Self {
        Setup { daemon: "", brand: "", rota: ALWAYS, extra: "" }
    }
}

impl World {
    async fn new() -> World {
        World { dir: tempfile::tempdir().unwrap(), x: FakeX::start().await, smtp: SmtpServer::start().await }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("escucha.db")
    }

    fn config(&self, s: &Setup) -> PathBuf {
        let toml = format!(
            r#"
[daemon]
database = "escucha.db"
timezone = "UTC"
{daemon}

[[brand]]
id = "interjet"
name = "Interjet"
terms = ["interjet"]
respond_within = {{ complaint = "1s", escalation = "1s" }}
oncall = "care"
{brand}
[brand.accounts]
x = "Interjet_mx"

[source.x]
api_base = "{x}"
bearer_token = "{token}"
every = "1s"

[smtp]
host = "127.0.0.1"
port = {port}
security = "none"
from = "Escucha <alerts@example.com>"

[[oncall]]
id = "care"
{rota}
{extra}
"#,
            daemon = s.daemon,
            brand = s.brand,
            x = self.x.base_url(),
            token = fake_x::DEFAULT_TOKEN,
            port = self.smtp.port(),
            rota = s.rota,
            extra = s.extra,
        );
        let path = self.dir.path().join("escucha.toml");
        std::fs::write(&path, toml).unwrap();
        path
    }

    fn start(&self, config: &Path) -> Daemon {
        Daemon::start(self.dir.path(), config, &[])
    }

    async fn first_poll_done(&self, d: &Daemon) {
        let db = self.db();
        wait_for(LONG, "the first X poll", d, || cursor(&db, "x:search:interjet")).await;
    }

    /// Waits for `n` more X polls: time for the daemon to have done
    /// whatever it was going to do.
    async fn polls(&self, d: &Daemon, n: usize) {
        let before = self.x.requests().len();
        wait_for(LONG, "more X polls", d, || (self.x.requests().len() >= before + n).then_some(())).await;
    }

    fn complaint(&self, author: &str, text: &str) -> String {
        self.x.add_tweet(NewTweet::new(author, &format!("@Interjet_mx {text}, nadie responde, pésimo servicio")).followers(50).lang(Some("es")))
    }

    async fn stored(&self, d: &Daemon, platform_id: &str) -> escucha::model::Mention {
        let db = self.db();
        wait_for(LONG, "the mention to be stored", d, || mentions(&db).into_iter().find(|m| m.platform_id == platform_id)).await
    }

    fn cli(&self, args: &[&str]) -> (i32, String, String) {
        let cfg = self.dir.path().join("escucha.toml");
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--config", cfg.to_str().unwrap()]);
        escucha(&all, None)
    }
}

fn three_step_rota(after: &str) -> String {
    format!(
        r#"
[[oncall.shift]]
when = "* * * * * *"
notify = ["guardia@example.com"]
[[oncall.then]]
after = "{after}"
notify = ["jefa@example.com"]
[[oncall.then]]
after = "{after}"
notify = ["directora@example.com"]
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_ack_a_three_step_chain_pages_each_step_in_turn_and_stops() {
    let w = World::new().await;
    let rota = three_step_rota("2s");
    let cfg = w.config(&Setup { rota: &rota, ..Default::default() });
    let d = w.start(&cfg);
    w.first_poll_done(&d).await;
    let id = w.complaint("maria", "perdieron mi maleta");
    let m = w.stored(&d, &id).await;

    let mail = w.smtp.wait_for(3, LONG).await;
    let to: Vec<&str> = mail.iter().map(|m| m.to[0].as_str()).collect();
    assert_eq!(to, ["guardia@example.com", "jefa@example.com", "directora@example.com"]);
    for msg in &mail {
        assert!(msg.text_body().unwrap().contains(&format!("escucha ack {}", m.id)));
    }
    // The chain is over: nothing more however long we wait.
    w.polls(&d, 5).await;
    assert_eq!(w.smtp.messages().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ack_after_the_first_page_stops_the_chain() {
    let w = World::new().await;
    let rota = three_step_rota("3s");
    let cfg = w.config(&Setup { rota: &rota, ..Default::default() });
    let d = w.start(&cfg);
    w.first_poll_done(&d).await;
    let id = w.complaint("maria", "cancelaron mi vuelo");
    let m = w.stored(&d, &id).await;
    let mail = w.smtp.wait_for(1, LONG).await;
    assert_eq!(mail[0].to, vec!["guardia@example.com".to_string()]);

    let (code, out, err) = w.cli(&["ack", &m.id.to_string(), "--by", "ana"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("acknowledged by ana"), "{out}");
    // Well past both steps' delays (polls are 1 s apart).
    w.polls(&d, 8).await;
    assert_eq!(w.smtp.messages().len(), 1, "{:#?}", w.smtp.messages());
    let stored = mentions(&w.db()).into_iter().find(|x| x.id == m.id).unwrap();
    assert_eq!((stored.status, stored.acked_by.as_deref()), (Status::Acked, Some("ana")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlap_all_pages_every_shift_on_duty() {
    let w = World::new().await;
    let rota = r#"
overlap = "all"
[[oncall.shift]]
when = "* * * * * *"
notify = ["ana@example.com"]
[[oncall.shift]]
when = "* * * * * *"
notify = ["guardia@example.com"]
"#;
    let cfg = w.config(&Setup { rota, ..Default::default() });
    let d = w.start(&cfg);
    w.first_poll_done(&d).await;
    w.complaint("maria", "me cobraron dos veces");
    let mail = w.smtp.wait_for(2, LONG).await;
    let mut to: Vec<String> = mail.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    assert_eq!(to, ["ana@example.com", "guardia@example.com"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silenced_complaint_is_held_and_goes_out_in_one_message_when_the_silence_is_lifted() {
    let w = World::new().await;
    let cfg = w.config(&Setup::default());
    let (code, out, err) = w.cli(&["silence", "--brand", "interjet", "--platform", "x", "--for", "2h", "--reason", "known outage", "--by", "ana"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("silence 1: brand interjet, platform x until "), "{out}");
    let (_, list, _) = w.cli(&["silences"]);
    assert!(list.contains("brand interjet, platform x") && list.contains("known outage") && list.contains("ana"), "{list}");

    let d = w.start(&cfg);
    w.first_poll_done(&d).await;
    let a = w.complaint("maria", "no hay vuelos");
    let b = w.complaint("pedro", "me dejaron en tierra");
    w.stored(&d, &a).await;
    w.stored(&d, &b).await;
    let store = Store::open(&w.db()).unwrap();
    wait_for(LONG, "both complaints to be held by the silence", &d, || (store.held_count(1).unwrap() == 2).then_some(())).await;
    w.polls(&d, 3).await;
    assert!(w.smtp.messages().is_empty(), "silenced alerts are not sent: {:#?}", w.smtp.messages());
    assert!(d.log().contains("alert silenced"), "recorded in the log");

    let (code, out, err) = w.cli(&["unsilence", "1"]);
    assert_eq!(code, 0, "{out}{err}");
    let mail = w.smtp.wait_for(1, LONG).await;
    let body = mail[0].text_body().unwrap();
    assert!(body.contains("no hay vuelos") && body.contains("me dejaron en tierra"), "both in one message:\n{body}");
    w.polls(&d, 3).await;
    assert_eq!(w.smtp.messages().len(), 1, "not a burst");
    let (code, _, err) = w.cli(&["unsilence", "1"]);
    assert_ne!(code, 0);
    assert!(err.contains("no active silence with id 1"), "{err}");
    let (_, list, _) = w.cli(&["silences"]);
    assert!(list.contains("no active silences"), "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_group_wait_a_storm_of_200_complaints_goes_out_as_a_handful_of_messages() {
    let w = World::new().await;
    let cfg = w.config(&Setup { daemon: "group_wait = \"3s\"", ..Default::default() });
    let d = w.start(&cfg);
    w.first_poll_done(&d).await;
    let start = Utc::now();
    for i in 0..200 {
        // Spread over the last ten minutes, as a storm would be seen.
        let at = start - CDuration::seconds(600 - 3 * i as i64);
        w.x.add_tweet(
            NewTweet::new(&format!("user{i}"), &format!("@Interjet_mx vuelo {i} cancelado, nadie responde, pésimo servicio")).at(at).lang(Some("es")),
        );
    }
    let db = w.db();
    wait_for(LONG, "200 complaints paged", &d, || {
        let paged = mentions(&db).iter().filter(|m| m.class.needs_answer() && m.alerted_at.is_some()).count();
        (paged == 200).then_some(())
    })
    .await;
    wait_for(LONG, "every message sent", &d, || (outbox(&db, "pending") == 0).then_some(())).await;
    let mail = w.smtp.messages();
    assert!(!mail.is_empty() && mail.len() <= 5, "{} messages", mail.len());
    let listed: usize = mail.iter().map(|m| m.text_body().unwrap().matches("(mention #").count()).sum();
    assert_eq!(listed, 200, "every complaint is in some message, once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complaint_for_a_person_in_quiet_hours_waits_but_an_escalation_goes_through() {
    let w = World::new().await;
    let now = Utc::now();
    // Quiet from an hour ago to two hours from now (UTC).
    let from = (now - CDuration::hours(1)).format("%H:00").to_string();
    let to = (now + CDuration::hours(2)).format("%H:00").to_string();
    let person = format!("[[person]]\naddress = \"guardia@example.com\"\ntimezone = \"UTC\"\nquiet = \"{from}-{to}\"\n");
    let cfg = w.config(&Setup { extra: &person, ..Default::default() });
    let d = w.start(&cfg);
    w.first_poll_done(&d).await;
    let quiet = w.complaint("maria", "perdieron mi maleta");
    let loud = w.x.add_tweet(NewTweet::new("famosa", "@Interjet_mx perdieron mi maleta, nadie responde, pésimo servicio").followers(50_000).lang(Some("es")));
    assert_eq!(w.stored(&d, &loud).await.class, Class::Escalation);
    let mail = w.smtp.wait_for(1, LONG).await;
    let body = mail[0].text_body().unwrap();
    assert!(body.contains("@famosa"), "{body}");
    let db = w.db();
    wait_for(LONG, "the complaint to be queued", &d, || mentions(&db).into_iter().find(|m| m.platform_id == quiet && m.alerted_at.is_some())).await;
    w.polls(&d, 3).await;
    assert_eq!(w.smtp.messages().len(), 1, "the complaint waits for the morning");
    assert_eq!(outbox(&db, "pending"), 1);
    assert!(!w.smtp.messages()[0].text_body().unwrap().contains("@maria"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_business_hours_a_complaint_waits_for_them_and_an_escalation_does_not() {
    let w = World::new().await;
    // Business hours only on the weekday three days from now: never today.
    let day = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];
    let in3 = (Utc::now() + CDuration::days(3)).format("%u").to_string().parse::<usize>().unwrap() - 1;
    let brand = format!("business_hours = \"{} 09:00-18:00\"\ntimezone = \"UTC\"\n", day[in3]);
    let cfg = w.config(&Setup { brand: &brand, ..Default::default() });
    let d = w.start(&cfg);
    w.first_poll_done(&d).await;
    let c = w.complaint("maria", "el vuelo salió sin mí");
    let e = w.x.add_tweet(NewTweet::new("famosa", "@Interjet_mx el vuelo salió sin mí, nadie responde, pésimo servicio").followers(50_000).lang(Some("es")));
    let complaint = w.stored(&d, &c).await;
    assert_eq!(w.stored(&d, &e).await.class, Class::Escalation);
    let deadline = complaint.deadline.unwrap();
    assert!(deadline > complaint.created_at + CDuration::days(2), "deadline {deadline}");
    assert_eq!((deadline.hour(), deadline.minute(), deadline.second()), (9, 0, 1), "one second after opening: {deadline}");
    let mail = w.smtp.wait_for(1, LONG).await;
    assert!(mail[0].text_body().unwrap().contains("@famosa"));
    w.polls(&d, 3).await;
    assert_eq!(w.smtp.messages().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_reports_the_period_and_is_recorded_so_it_is_not_sent_twice() {
    let w = World::new().await;
    let digest = "[digest]\nwhen = \"0/4 * * * * *\"\ntimezone = \"UTC\"\nto = [\"equipo@example.com\"]\n";
    let cfg = w.config(&Setup { extra: digest, rota: "[[oncall.shift]]\nwhen = \"* * * * * *\"\nnotify = [\"guardia@example.com\"]\n", ..Default::default() });
    let d = w.start(&cfg);
    w.first_poll_done(&d).await;
    // After a first (empty) digest, so that the complaint falls in a later period.
    wait_for(LONG, "a first digest", &d, || w.smtp.messages().iter().any(|m| m.to == ["equipo@example.com"]).then_some(())).await;
    let id = w.complaint("maria", "perdieron mi maleta");
    w.stored(&d, &id).await;
    let find = |w: &World| {
        w.smtp
            .messages()
            .into_iter()
            .filter(|m| m.to == ["equipo@example.com"])
            .filter(|m| m.text_body().unwrap().contains("Complaints: 1"))
            .collect::<Vec<_>>()
    };
    let digests = wait_for(LONG, "a digest with the complaint", &d, || {
        let v = find(&w);
        (!v.is_empty()).then_some(v)
    })
    .await;
    let body = digests[0].text_body().unwrap();
    assert!(digests[0].subject().unwrap().contains("digest"), "{:?}", digests[0].subject());
    for needle in ["Interjet (interjet)", "1 unanswered", "Repeat complainers: none", "Active silences: none", "x "] {
        assert!(body.contains(needle), "{needle:?} missing:\n{body}");
    }
    assert!(digests[0].html_body().unwrap().contains("<table"), "HTML part too");
    // Each digest covers only the time since the previous one: the
    // complaint is in exactly one of them.
    w.polls(&d, 9).await;
    assert_eq!(find(&w).len(), 1, "the complaint is reported once");
    let store = Store::open(&w.db()).unwrap();
    let last = store.digest_last_fire("digest", Utc::now()).unwrap();
    assert!(Utc::now() - last < CDuration::seconds(10), "the last fire time is recorded: {last}");
}

#[test]
fn ack_all_acknowledges_every_open_mention_of_a_brand_and_ack_by_id_still_works() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("escucha.toml");
    std::fs::write(
        &cfg,
        "[daemon]\ndatabase = \"escucha.db\"\n[[brand]]\nid = \"interjet\"\nname = \"Interjet\"\nterms = [\"interjet\"]\n[[brand]]\nid = \"otra\"\nname = \"Otra\"\nterms = [\"otra\"]\n",
    )
    .unwrap();
    let store = Store::open(&dir.path().join("escucha.db")).unwrap();
    let mk = |id: &str, brand: &str| escucha::store::NewMention {
        brand: brand.into(),
        platform: escucha::model::Platform::X,
        platform_id: id.into(),
        url: String::new(),
        author: "ana".into(),
        author_id: "1".into(),
        author_followers: None,
        text: "mal".into(),
        lang: None,
        class: Class::Complaint,
        score: 0.9,
        reasons: vec![],
        created_at: Utc::now(),
        deadline: Some(Utc::now() + CDuration::hours(1)),
        history: false,
        reposts: 0,
        conversation_id: None,
        in_reply_to_id: None,
        rating: None,
    };
    let ids = store.commit_page("q", Utc::now(), &[mk("1", "interjet"), mk("2", "interjet"), mk("3", "otra")], &[], "c", Utc::now()).unwrap().inserted;
    let c = cfg.to_str().unwrap();
    let (code, out, err) = escucha(&["ack", &ids[0].to_string(), "--config", c, "--by", "bo"], None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), format!("mention {} acknowledged by bo; no further alerts for it", ids[0]));
    let (code, out, err) = escucha(&["ack", "--all", "--brand", "interjet", "--config", c, "--by", "ana"], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("1 open mention(s) of interjet acknowledged by ana"), "{out}");
    let all = mentions(&dir.path().join("escucha.db"));
    let by: Vec<Option<&str>> = all.iter().map(|m| m.acked_by.as_deref()).collect();
    assert_eq!(by, [Some("bo"), Some("ana"), None]);
    let (code, _, err) = escucha(&["ack", "--all", "--config", c], None);
    assert_ne!(code, 0, "--all needs --brand");
    assert!(err.contains("--brand"), "{err}");
    let (code, _, err) = escucha(&["ack", "--all", "--brand", "nadie", "--config", c], None);
    assert_ne!(code, 0);
    assert!(err.contains("no such brand"), "{err}");
}

#[test]
fn check_shows_each_rota_s_week_and_warns_about_minutes_no_shift_covers() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("escucha.toml");
    std::fs::write(
        &cfg,
        r#"
[daemon]
database = "escucha.db"
timezone = "UTC"
[[brand]]
id = "interjet"
name = "Interjet"
terms = ["interjet"]
oncall = "care"
[[oncall]]
id = "care"
[[oncall.shift]]
when = "* * 9-17 * * MON-FRI"
timezone = "UTC"
notify = ["ana@example.com"]
[[oncall]]
id = "full"
[[oncall.shift]]
when = "* * * * * *"
notify = ["guardia@example.com"]
"#,
    )
    .unwrap();
    let (code, out, err) = escucha(&["check", "--config", cfg.to_str().unwrap()], None);
    assert_eq!(code, 0, "{err}");
    let mon = out.lines().find(|l| l.trim_start().starts_with("Mon ")).unwrap_or_else(|| panic!("{out}"));
    let cells: Vec<&str> = mon.split_whitespace().skip(2).collect();
    assert_eq!(cells.len(), 24, "{mon}");
    assert_eq!((cells[8], cells[9], cells[17], cells[18]), ("-", "0", "0", "-"), "{mon}");
    let care = &out[out.find("rota care").unwrap()..out.find("rota full").unwrap()];
    assert!(care.contains("warning: 6 stretch(es) of the week have no shift"), "{care}");
    assert!(!out[out.find("rota full").unwrap()..].contains("warning"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_warns_at_startup_about_uncovered_minutes() {
    let w = World::new().await;
    let rota = "[[oncall.shift]]\nwhen = \"* * 9-17 * * MON-FRI\"\nnotify = [\"ana@example.com\"]\n";
    let cfg = w.config(&Setup { rota, ..Default::default() });
    let d = w.start(&cfg);
    wait_for(LONG, "the coverage warning", &d, || d.log().contains("some minutes of the week are covered by no shift").then_some(())).await;
    assert!(d.log().contains("rota=care") || d.log().contains("rota: care") || d.log().contains("care"), "{}", d.log());
}
