//! End-to-end tests of the review sources: the real `escucha` binary against
//! the fake review APIs (tests/support/fake_reviews.rs) and an in-process
//! SMTP server, watching the SQLite file and the mailbox. Every wait polls
//! for a condition with a timeout; nothing sleeps on purpose except where a
//! review's edit must come after its reply.

#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/fake_reviews.rs"]
mod fake_reviews;
#[path = "support/smtp.rs"]
mod smtp;
#[path = "support/world.rs"]
mod world;

use daemon::{first_polls, mentions, wait_for, Daemon};
use escucha::model::{Class, Platform, Status};
use fake_reviews::*;
use smtp::SmtpServer;
use std::path::PathBuf;
use std::time::Duration;
use world::{q, ConfigToml};

const LONG: Duration = Duration::from_secs(40);
const LOCATION: &str = "accounts/1234/locations/5678";
const APP: &str = "1234567890";
const PACKAGE: &str = "com.interjet.app";
const UNIT: &str = "4bdc8a1b000064000505c9e1";

struct World {
    dir: tempfile::TempDir,
    fake: FakeReviews,
    smtp: SmtpServer,
}

impl World {
    async fn new() -> World {
        World { dir: tempfile::tempdir().unwrap(), fake: FakeReviews::start().await, smtp: SmtpServer::start().await }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("escucha.db")
    }

    /// The brand answers complaints within an hour, but every review source
    /// says `respond_within` = `within`: the source's threshold is the one
    /// that pages.
    fn config(&self, within: &str, unhealthy_after: &str) -> PathBuf {
        std::fs::write(self.dir.path().join("play.json"), service_account_json(&self.fake.google_token_url())).unwrap();
        let base = self.fake.base_url();
        let common =
            format!("every = \"1s\"\nunhealthy_after = {}\nrespond_within = {{ complaint = {}, escalation = {} }}", q(unhealthy_after), q(within), q(within));
        ConfigToml::new()
            .daemon("escucha.db")
            .set("daemon", "timezone", "UTC")
            .brand("interjet", "Interjet", "interjet", "1h", "1h")
            .section(
                "[brand.accounts]",
                &format!("google_reviews = [{}]\napp_store = [{}]\ngoogle_play = [{}]\ntrustpilot = [{}]", q(LOCATION), q(APP), q(PACKAGE), q(UNIT)),
            )
            .section(
                "[source.google_reviews]",
                &format!(
                    "api_base = {}\ntoken_url = {}\nclient_id = {}\nclient_secret = {}\nrefresh_token_env = \"GBP_REFRESH_TOKEN\"\n{common}",
                    q(&base),
                    q(&self.fake.google_token_url()),
                    q(GBP_CLIENT_ID),
                    q(GBP_CLIENT_SECRET)
                ),
            )
            .section(
                "[source.app_store]",
                &format!(
                    "api_base = {}\nissuer_id = {}\nkey_id = {}\nprivate_key_file = {}\n{common}",
                    q(&base),
                    q(ASC_ISSUER),
                    q(ASC_KEY_ID),
                    q(&app_store_key_path())
                ),
            )
            .section(
                "[source.google_play]",
                &format!("api_base = {}\ntoken_url = {}\nservice_account_file = \"play.json\"\n{common}", q(&base), q(&self.fake.google_token_url())),
            )
            .section(
                "[source.trustpilot]",
                &format!(
                    "api_base = {}\ntoken_url = {}\nclient_id = {}\nclient_secret = {}\nusername = {}\npassword_env = \"TRUSTPILOT_PASSWORD\"\n{common}",
                    q(&base),
                    q(&self.fake.trustpilot_token_url()),
                    q(TP_KEY),
                    q(TP_SECRET),
                    q(TP_USER)
                ),
            )
            .smtp(self.smtp.port())
            .oncall(&["guardia@example.com"])
            .write(self.dir.path())
    }

    fn start(&self, config: &std::path::Path) -> Daemon {
        Daemon::start(self.dir.path(), config, &[("GBP_REFRESH_TOKEN", GBP_REFRESH_TOKEN), ("TRUSTPILOT_PASSWORD", TP_PASSWORD)])
    }

    async fn first_polls_done(&self, d: &Daemon) {
        let keys = [
            format!("google_reviews:interjet:{LOCATION}"),
            format!("app_store:interjet:{APP}"),
            format!("google_play:interjet:{PACKAGE}"),
            format!("trustpilot:interjet:{UNIT}"),
        ];
        first_polls(LONG, d, &self.db(), &keys.iter().map(String::as_str).collect::<Vec<_>>()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_star_review_is_paged_after_the_sources_threshold_and_a_replied_one_is_not() {
    let w = World::new().await;
    let cfg = w.config("6s", "30m");
    let old = w.fake.add(Kind::Google, LOCATION, "Antes", "Pésimo, nadie contesta", 1);
    let d = w.start(&cfg);
    w.first_polls_done(&d).await;
    let db = w.db();

    let kinds = [
        (Kind::Google, LOCATION, Platform::GoogleReviews),
        (Kind::AppStore, APP, Platform::AppStore),
        (Kind::Play, PACKAGE, Platform::GooglePlay),
        (Kind::Trustpilot, UNIT, Platform::Trustpilot),
    ];
    let mut unanswered = Vec::new();
    let mut replied = Vec::new();
    for (kind, target, platform) in kinds {
        // No term in the text: a review is the brand's mention anyway.
        let u = w.fake.add(kind, target, "Carmen R.", &format!("Perdieron mi maleta y nadie responde ({platform})"), 1);
        let r = w.fake.add(kind, target, "Luis", &format!("Me cobraron dos veces el asiento ({platform})"), 1);
        unanswered.push((u, platform));
        replied.push((r, platform));
    }
    // The replied ones are stored first, then answered before their threshold.
    for (id, _) in &replied {
        wait_for(LONG, "the review to be stored", &d, || mentions(&db).into_iter().find(|m| m.platform_id == *id)).await;
        w.fake.reply(id, "Lo sentimos, ya te devolvimos el cargo.");
    }
    for (id, _) in &replied {
        wait_for(LONG, "the reply to answer the review", &d, || mentions(&db).into_iter().find(|m| m.platform_id == *id && m.status == Status::Answered)).await;
    }
    for (id, platform) in &unanswered {
        let m = wait_for(LONG, "the unanswered review to be paged", &d, || mentions(&db).into_iter().find(|m| m.platform_id == *id && m.alerted_at.is_some()))
            .await;
        assert_eq!(m.platform, *platform);
        assert_eq!(m.class, Class::Complaint, "{:?}", m.reasons);
        assert_eq!(m.rating, Some(1));
        assert!(m.alerted_at.unwrap() - m.created_at >= chrono::Duration::seconds(6), "paged after the source's 6s, not before: {m:?}");
    }
    // Delivery follows the outbox: wait until every page went out.
    let (mail, bodies) = wait_for(LONG, "the four pages to be delivered", &d, || {
        let mail = w.smtp.messages();
        let bodies: String = mail.iter().map(|m| m.text_body().unwrap()).collect::<Vec<_>>().join("\n----\n");
        unanswered.iter().all(|(_, p)| bodies.contains(&format!("nadie responde ({p})"))).then_some((mail, bodies))
    })
    .await;
    for (_, platform) in &unanswered {
        assert!(bodies.contains(&format!("Perdieron mi maleta y nadie responde ({platform})")), "{bodies}");
        assert!(mail.iter().any(|m| m.subject().unwrap().contains(platform.as_str())), "the subject names {platform}");
    }
    assert!(bodies.contains("Rating:  ★☆☆☆☆ 1/5"), "{bodies}");
    assert!(!bodies.contains("Me cobraron dos veces"), "a replied review is never paged:\n{bodies}");
    assert!(mail.iter().all(|m| m.subject().unwrap().contains("complaint")));

    // More polls: nothing more is sent; the first poll's review is history.
    let n = w.fake.requests().len();
    let sent = w.smtp.messages().len();
    wait_for(LONG, "eight more requests", &d, || (w.fake.requests().len() >= n + 8).then_some(())).await;
    assert_eq!(w.smtp.messages().len(), sent);
    let all = mentions(&db);
    let m = all.iter().find(|m| m.platform_id == old).expect("the first poll's review is stored");
    assert!(m.history && m.alerted_at.is_none());
    for (id, _) in replied.iter().chain(&unanswered) {
        assert_eq!(all.iter().filter(|m| m.platform_id == *id).count(), 1, "one mention per review");
    }

    let (code, out, err) = run(&["mentions", "--json", "--config", cfg.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    for platform in ["google_reviews", "app_store", "google_play", "trustpilot"] {
        assert!(rows.iter().any(|r| r["platform"] == platform && r["rating"] == 1), "{platform} in {out}");
    }
    assert!(!d.log().contains(GBP_REFRESH_TOKEN) && !d.log().contains(TP_PASSWORD) && !d.log().contains("PRIVATE KEY"), "no secret in the log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_review_is_paged_once_and_a_rating_drop_after_an_answer_reopens_it() {
    let w = World::new().await;
    let cfg = w.config("3s", "30m");
    let d = w.start(&cfg);
    w.first_polls_done(&d).await;
    let db = w.db();

    let bad = w.fake.add(Kind::Google, LOCATION, "Lucía", "Me cancelaron el vuelo y nadie responde", 1);
    let good = w.fake.add(Kind::Google, LOCATION, "Jen", "Friendly staff, quick boarding", 5);
    wait_for(LONG, "the one-star review's page", &d, || (w.smtp.messages().len() == 1).then_some(())).await;
    wait_for(LONG, "the five-star review", &d, || mentions(&db).into_iter().find(|m| m.platform_id == good)).await;
    w.fake.reply(&good, "¡Gracias, Jen!");
    wait_for(LONG, "the answer", &d, || mentions(&db).into_iter().find(|m| m.platform_id == good && m.status == Status::Answered)).await;

    // The author of the paged review edits it: newest text, no second page.
    w.fake.edit(&bad, "Me cancelaron el vuelo; ya van tres días sin respuesta", 1);
    let m = wait_for(LONG, "the edit to be stored", &d, || mentions(&db).into_iter().find(|m| m.platform_id == bad && m.text.contains("tres días"))).await;
    assert_eq!(m.rating, Some(1));

    // The answered five-star review drops to one star: open again, paged
    // after the threshold counted from the edit.
    tokio::time::sleep(Duration::from_millis(20)).await; // the edit comes after the reply
    w.fake.edit(&good, "Update: they lost my bag and nobody answers", 1);
    let reopened = wait_for(LONG, "the reopened review", &d, || {
        mentions(&db).into_iter().find(|m| m.platform_id == good && m.status == Status::Open && m.rating == Some(1))
    })
    .await;
    assert_eq!(reopened.class, Class::Complaint, "{:?}", reopened.reasons);
    assert!(reopened.answered_at.is_none());
    let mail = w.smtp.wait_for(2, LONG).await;
    assert!(mail[1].text_body().unwrap().contains("they lost my bag"), "{}", mail[1].text_body().unwrap());
    let m = mentions(&db).into_iter().find(|m| m.platform_id == good).unwrap();
    assert!(m.alerted_at.unwrap() >= m.deadline.unwrap());

    // Later polls: two pages in all, the first review's page not repeated.
    let n = w.fake.requests().len();
    wait_for(LONG, "eight more requests", &d, || (w.fake.requests().len() >= n + 8).then_some(())).await;
    assert_eq!(w.smtp.messages().len(), 2);
    assert!(w.smtp.messages()[0].text_body().unwrap().contains("Me cancelaron el vuelo"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_raise_one_health_alert_per_source_naming_the_credential() {
    let w = World::new().await;
    let cfg = w.config("1h", "1s");
    w.fake.revoke();
    let d = w.start(&cfg);
    let mail = w.smtp.wait_for(4, LONG).await;
    let body = |source: &str| {
        let m = mail
            .iter()
            .find(|m| m.subject().unwrap() == format!("[escucha] source {source} is not working"))
            .unwrap_or_else(|| panic!("a notice for {source}: {:?}", mail.iter().map(|m| m.subject()).collect::<Vec<_>>()));
        m.text_body().unwrap()
    };
    let gbp = body("google_reviews");
    assert!(gbp.contains("refresh_token") && gbp.contains("invalid_grant"), "{gbp}");
    let asc = body("app_store");
    assert!(asc.contains(ASC_KEY_ID) && asc.contains("private_key_file"), "{asc}");
    let play = body("google_play");
    assert!(play.contains(PLAY_EMAIL) && play.contains("service_account_file"), "{play}");
    let tp = body("trustpilot");
    assert!(tp.contains("username") && tp.contains("password"), "{tp}");
    for b in [&gbp, &asc, &play, &tp] {
        assert!(!b.contains(GBP_REFRESH_TOKEN) && !b.contains(TP_PASSWORD) && !b.contains("PRIVATE KEY"), "no secret: {b}");
    }
    // Disabled: nothing more is asked of the platforms, nothing more is sent.
    let n = w.fake.requests().len();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(w.fake.requests().len(), n, "a disabled source sends nothing");
    assert_eq!(w.smtp.messages().len(), 4, "one alert per source");
    let log = d.log();
    assert!(log.contains("source disabled"), "{log}");
    assert!(!log.contains(GBP_REFRESH_TOKEN) && !log.contains(TP_PASSWORD) && !log.contains("PRIVATE KEY") && !log.contains("ya29."), "no secret in the log");
}

#[tokio::test]
async fn check_lists_the_review_queries_and_warns_when_google_play_polls_less_than_daily() {
    let w = World::new().await;
    let cfg = w.config("2d", "30m");
    let text = std::fs::read_to_string(&cfg).unwrap();
    // Only Play's `every` goes past a day.
    let play_at = text.find("[source.google_play]").unwrap();
    let (head, tail) = text.split_at(play_at);
    std::fs::write(&cfg, format!("{head}{}", tail.replacen("every = \"1s\"", "every = \"2d\"", 1))).unwrap();
    let (code, out, err) = check(&cfg);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("app_store:interjet:{APP}")), "{out}");
    assert!(out.contains("respond_within: complaint 2days"), "{out}");
    assert!(out.contains("warning: source.google_play.every is longer than a day"), "{out}");
    assert!(!out.contains(GBP_REFRESH_TOKEN));

    // A key file that is not a .p8 is refused, named, never quoted.
    std::fs::write(w.dir.path().join("bad.p8"), "-----BEGIN PRIVATE KEY-----\nU0VDUkVUIE5PVCBBIEtFWQ==\n-----END PRIVATE KEY-----\n").unwrap();
    let text = std::fs::read_to_string(&cfg).unwrap().replace(&app_store_key_path(), "bad.p8");
    std::fs::write(&cfg, text).unwrap();
    let (code, out, err) = check(&cfg);
    assert_eq!(code, 78, "{out}");
    assert!(err.contains("source.app_store.private_key_file"), "{err}");
    assert!(!err.contains("U0VDUkVU"), "{err}");
}

fn check(cfg: &std::path::Path) -> (i32, String, String) {
    run(&["check", "--config", cfg.to_str().unwrap()])
}

/// An `escucha` command with the secrets' variables set.
fn run(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(daemon::bin())
        .args(args)
        .env("GBP_REFRESH_TOKEN", GBP_REFRESH_TOKEN)
        .env("TRUSTPILOT_PASSWORD", TP_PASSWORD)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}
