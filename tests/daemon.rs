//! End-to-end tests of the daemon: each starts the real `escucha` binary
//! against local servers that reproduce the X v2 and Mastodon APIs and a
//! real SMTP server on TCP, then watches the SQLite file and the mailbox.
//!
//! Thresholds are seconds long so the tests run in real time without
//! sleeping on purpose: every wait polls for a condition with a timeout.

#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/fake_mastodon.rs"]
mod fake_mastodon;
#[path = "support/fake_x.rs"]
mod fake_x;
#[path = "support/smtp.rs"]
mod smtp;
#[path = "support/world.rs"]
mod world;

use daemon::{cursor, escucha, first_x_and_mastodon_polls, mastodon_notifications_cursor, mentions, wait_for, Daemon};
use escucha::model::{Class, Status};
use fake_mastodon::FakeMastodon;
use fake_x::{FakeX, NewTweet};
use smtp::SmtpServer;
use std::path::{Path, PathBuf};
use std::time::Duration;
use world::{ConfigToml, ALWAYS};

const LONG: Duration = Duration::from_secs(30);

/// Local servers and a config that points at them.
struct World {
    dir: tempfile::TempDir,
    x: FakeX,
    mastodon: FakeMastodon,
    smtp: SmtpServer,
    brand_mastodon_id: String,
    mastodon_token: String,
}

struct Settings {
    complaint: &'static str,
    escalation: &'static str,
    smtp_port: Option<u16>,
    unhealthy_after: &'static str,
    x_token: Option<&'static str>,
    /// Extra lines for [source.x].
    x_extra: &'static str,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { complaint: "3s", escalation: "2s", smtp_port: None, unhealthy_after: "30m", x_token: None, x_extra: "" }
    }
}

impl World {
    async fn new() -> World {
        let x = FakeX::start().await;
        let mastodon = FakeMastodon::start().await;
        let brand_mastodon_id = mastodon.add_account("interjet", 5000);
        let mastodon_token = mastodon.issue_token(&brand_mastodon_id);
        World { dir: tempfile::tempdir().unwrap(), x, mastodon, smtp: SmtpServer::start().await, brand_mastodon_id, mastodon_token }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("escucha.db")
    }

    /// Writes the config. Two shifts: the first is on duty only on 1
    /// January (so never in these tests), the second always: alerts must go
    /// to the second, proving the shift is chosen by the clock.
    fn config(&self, s: &Settings) -> PathBuf {
        ConfigToml::new()
            .daemon("escucha.db")
            .set("daemon", "timezone", "UTC")
            .brand("interjet", "Interjet", "interjet", s.complaint, s.escalation)
            .set_raw("brand", "exclude", r#"["interjet jobs"]"#)
            .accounts(&[("x", "Interjet_mx"), ("mastodon", "interjet")])
            .x(&self.x.base_url(), s.x_token.unwrap_or(fake_x::DEFAULT_TOKEN))
            .set("source.x", "unhealthy_after", s.unhealthy_after)
            .lines("source.x", s.x_extra)
            .mastodon(&self.mastodon.base_url(), &self.mastodon_token)
            .smtp(s.smtp_port.unwrap_or_else(|| self.smtp.port()))
            .rota()
            .shift("* * * 1 1 *", &["ana@example.com"])
            .set("oncall.shift", "timezone", "America/Mexico_City")
            .shift(ALWAYS, &["guardia@example.com"])
            .write(self.dir.path())
    }

    fn start(&self, config: &Path) -> Daemon {
        Daemon::start(self.dir.path(), config, &[])
    }

    /// Waits until both sources finished their first poll: from then on,
    /// new posts are live mentions, not history.
    async fn first_polls_done(&self, d: &Daemon) {
        first_x_and_mastodon_polls(LONG, d, &self.db()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spanish_complaint_is_stored_once_and_emailed_once_to_the_on_duty_shift() {
    let w = World::new().await;
    let cfg = w.config(&Settings::default());
    let d = w.start(&cfg);
    w.first_polls_done(&d).await;

    let text = "@Interjet_mx llevo tres horas esperando en el aeropuerto y nadie me da una respuesta, pésimo servicio";
    let id = w.x.add_tweet(NewTweet::new("maria_gz", text).followers(120).lang(Some("es")));

    let db = w.db();
    let m = wait_for(LONG, "the complaint to be stored", &d, || mentions(&db).into_iter().find(|m| m.platform_id == id)).await;
    assert_eq!(m.class, Class::Complaint, "reasons: {:?}", m.reasons);
    assert!(!m.reasons.is_empty());
    assert_eq!(m.author, "maria_gz");
    assert_eq!(m.author_followers, Some(120));

    let mail = w.smtp.wait_for(1, LONG).await;
    assert_eq!(mail[0].to, vec!["guardia@example.com".to_string()], "the shift on duty now, not the 1 January one");
    let subject = mail[0].subject().unwrap();
    assert!(subject.contains("complaint") && subject.contains("Interjet") && subject.contains(" x"), "{subject}");
    let body = mail[0].text_body().unwrap();
    for needle in ["llevo tres horas esperando", "@maria_gz", "120", &format!("https://x.com/maria_gz/status/{id}"), &format!("escucha ack {}", m.id)] {
        assert!(body.contains(needle), "body lacks {needle:?}:\n{body}");
    }
    assert!(m.reasons.iter().all(|r| body.contains(r.as_str())), "every reason is in the body:\n{body}");

    // More polls happen; the mention stays one row and nobody is paged again.
    let polls_before = w.x.requests().len();
    wait_for(LONG, "three more X polls", &d, || (w.x.requests().len() >= polls_before + 3).then_some(())).await;
    assert_eq!(mentions(&db).iter().filter(|m| m.platform_id == id).count(), 1);
    assert_eq!(w.smtp.messages().len(), 1);
    let stored = mentions(&db).into_iter().find(|m| m.platform_id == id).unwrap();
    assert!(stored.alerted_at.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn praise_and_neutral_mentions_are_stored_but_never_emailed() {
    let w = World::new().await;
    let cfg = w.config(&Settings::default());
    let d = w.start(&cfg);
    w.first_polls_done(&d).await;

    let praise = w.x.add_tweet(NewTweet::new("luis", "Gracias @Interjet_mx, el trato de la tripulación fue excelente").lang(Some("es")));
    let neutral = w.x.add_tweet(NewTweet::new("pedro", "¿A qué hora abre el mostrador de Interjet en la T1?").lang(Some("es")));
    let praise_en = w.mastodon.add_account("happy", 10);
    w.mastodon.post_status(&praise_en).text("@interjet thank you so much, the crew was wonderful!").mention(&w.brand_mastodon_id).language("en").send();
    // The control: a complaint posted last, so its deadline is the latest.
    let control = w.x.add_tweet(NewTweet::new("ana_p", "@Interjet_mx perdieron mi maleta y nadie responde, es un desastre").lang(Some("es")));

    let mail = w.smtp.wait_for(1, LONG).await;
    let db = w.db();
    let all = mentions(&db);
    let class_of = |id: &str| all.iter().find(|m| m.platform_id == id).map(|m| m.class);
    assert_eq!(class_of(&praise), Some(Class::Praise));
    assert_eq!(class_of(&neutral), Some(Class::Neutral));
    assert_eq!(class_of(&control), Some(Class::Complaint));
    assert!(all.iter().any(|m| m.platform == escucha::model::Platform::Mastodon && m.class == Class::Praise), "{all:#?}");
    assert_eq!(mail.len(), 1);
    assert!(mail[0].text_body().unwrap().contains("perdieron mi maleta"));
    // By now every deadline has passed: still only the control was paged.
    wait_for(LONG, "two more polls", &d, || (w.x.requests().len() >= 4).then_some(())).await;
    assert_eq!(w.smtp.messages().len(), 1);
    assert!(all.iter().filter(|m| !m.class.needs_answer()).all(|m| m.alerted_at.is_none()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complaint_the_brand_answers_before_the_threshold_is_never_emailed() {
    let w = World::new().await;
    let cfg = w.config(&Settings { complaint: "5s", ..Default::default() });
    let d = w.start(&cfg);
    w.first_polls_done(&d).await;
    let db = w.db();

    // X: the brand replies directly to the tweet.
    let answered = w.x.add_tweet(NewTweet::new("carla", "@Interjet_mx cancelaron mi vuelo y nadie me ayuda, qué mal servicio").lang(Some("es")));
    w.x.add_tweet(NewTweet::new("Interjet_mx", "@carla lamentamos lo ocurrido, te escribimos por DM").reply_to(&answered).lang(Some("es")));
    // Mastodon: the brand replies to the status (in_reply_to_id).
    let author = w.mastodon.add_account("jorge", 50);
    let status = w
        .mastodon
        .post_status(&author)
        .text("@interjet my flight was cancelled and nobody answers the phone, terrible service")
        .mention(&w.brand_mastodon_id)
        .language("en")
        .send();
    w.mastodon.post_status(&w.brand_mastodon_id).text("@jorge we are sorry, we are on it").mention(&author).in_reply_to(&status).send();
    // Control: an unanswered complaint posted after both.
    let control = w.x.add_tweet(NewTweet::new("beto", "@Interjet_mx me cobraron dos veces y nadie responde, pésimo").lang(Some("es")));

    wait_for(LONG, "both complaints to be marked answered", &d, || {
        let all = mentions(&db);
        let x_done = all.iter().any(|m| m.platform_id == answered && m.status == Status::Answered);
        let m_done = all.iter().any(|m| m.platform_id == status && m.status == Status::Answered);
        (x_done && m_done).then_some(())
    })
    .await;
    let mail = w.smtp.wait_for(1, LONG).await;
    assert!(mail[0].text_body().unwrap().contains("me cobraron dos veces"), "only the control is paged");
    wait_for(LONG, "two more polls", &d, || (w.x.requests().len() >= 6).then_some(())).await;
    assert_eq!(w.smtp.messages().len(), 1);
    let all = mentions(&db);
    let x = all.iter().find(|m| m.platform_id == answered).unwrap();
    assert!(x.answered_at.is_some() && x.alerted_at.is_none());
    assert!(all.iter().any(|m| m.platform_id == control && m.alerted_at.is_some()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_poll_sends_one_request_per_query_with_the_cursor_and_finds_nothing_new() {
    let w = World::new().await;
    let cfg = w.config(&Settings::default());
    let d = w.start(&cfg);
    w.first_polls_done(&d).await;
    let db = w.db();
    let id = w.x.add_tweet(NewTweet::new("maria", "Interjet otra vez con retraso").lang(Some("es")));
    let author = w.mastodon.add_account("sofia", 10);
    let status = w.mastodon.post_status(&author).text("@interjet hola").mention(&w.brand_mastodon_id).send();
    wait_for(LONG, "both posts stored", &d, || {
        let all = mentions(&db);
        (all.iter().any(|m| m.platform_id == id) && all.iter().any(|m| m.platform_id == status)).then_some(())
    })
    .await;
    let stored = mentions(&db).len();
    // The status may be found by search first; wait until the notifications
    // query has read it too, so its cursor is past it.
    let newest_notification = w.mastodon.notification_ids().last().cloned().unwrap();
    wait_for(LONG, "the notifications cursor to pass the mention", &d, || {
        mastodon_notifications_cursor(&db).filter(|c| c.contains(newest_notification.as_str()))
    })
    .await;

    w.x.clear_requests();
    w.mastodon.clear_requests();
    wait_for(LONG, "two more X polls", &d, || (w.x.requests().len() >= 2).then_some(())).await;
    let x = w.x.requests();
    for r in &x {
        assert_eq!(r.param("since_id"), Some(id.as_str()), "every X poll continues from the newest id seen");
        assert_eq!(r.param("next_token"), None, "nothing more to page through");
    }
    let notif: Vec<_> = w.mastodon.requests().into_iter().filter(|r| r.path == "/api/v1/notifications").collect();
    assert!(!notif.is_empty());
    for r in &notif {
        assert_eq!(r.param("min_id"), Some(newest_notification.clone()), "notifications continue from the cursor");
    }
    // One request per query per round: the per-path counts differ by at most one
    // (a round may be in progress when we look).
    let count = |p: &str| w.mastodon.requests().iter().filter(|r| r.path == p).count();
    let tag = count("/api/v1/timelines/tag/interjet");
    assert!(tag.abs_diff(count("/api/v1/notifications")) <= 1);
    assert_eq!(mentions(&db).len(), stored, "nothing new was stored");
    assert_eq!(cursor(&db, "x:search:interjet").map(|c| c.contains(&id)), Some(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_polling_loses_nothing_duplicates_nothing_and_repeats_no_email() {
    let w = World::new().await;
    let cfg = w.config(&Settings { complaint: "1s", ..Default::default() });
    let db = w.db();
    {
        let d = w.start(&cfg);
        w.first_polls_done(&d).await;
        // One complaint, alerted before the crashes start.
        w.x.add_tweet(NewTweet::new("victor", "@Interjet_mx perdieron mi equipaje y nadie responde, pésimo servicio").lang(Some("es")));
        w.smtp.wait_for(1, LONG).await;
        // Delivery is at-least-once: a kill between the server's 250 and
        // the outbox write may repeat the email (DESIGN.md). Kill after it.
        wait_for(LONG, "the outbox to record the email as sent", &d, || (daemon::outbox(&db, "sent") == 1).then_some(())).await;
        let mut d = d;
        d.kill9();
    }
    // 250 new tweets: three pages of 100, each answer slowed down so that
    // the kills land in the middle of paging.
    let mut ids = Vec::new();
    for i in 0..250 {
        ids.push(w.x.add_tweet(NewTweet::new(&format!("user{i}"), &format!("viajando con Interjet hoy, vuelo {i}")).lang(Some("es"))));
    }
    for delay_ms in [150u64, 300, 450, 600, 750, 900] {
        for _ in 0..3 {
            w.x.fail_next(fake_x::Failure::Timeout(Duration::from_millis(200)));
        }
        let mut d = w.start(&cfg);
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        d.kill9();
    }
    let d = w.start(&cfg);
    wait_for(Duration::from_secs(60), "all 250 tweets stored", &d, || {
        let stored = mentions(&db);
        ids.iter().all(|id| stored.iter().any(|m| &m.platform_id == id)).then_some(())
    })
    .await;
    let stored = mentions(&db);
    let mut seen = std::collections::HashSet::new();
    for m in &stored {
        assert!(seen.insert((m.platform_id.clone(), m.brand.clone())), "{} stored twice", m.platform_id);
    }
    assert_eq!(stored.len(), 251);
    // The cursor reached the newest tweet: the next poll asks only for newer ones.
    let newest = ids.last().unwrap();
    wait_for(LONG, "the cursor to reach the newest tweet", &d, || cursor(&db, "x:search:interjet").filter(|c| c.contains(newest.as_str()))).await;
    let msgs = w.smtp.messages();
    assert_eq!(msgs.len(), 1, "the complaint alerted before the crashes is not alerted again: {:#?}", msgs.iter().map(|m| m.text_body()).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_due_while_smtp_is_down_is_delivered_once_when_it_returns() {
    let w = World::new().await;
    // A port with nothing listening: take one, then close it.
    let down = SmtpServer::start().await;
    let port = down.port();
    down.stop().await;
    drop(down);
    let cfg = w.config(&Settings { complaint: "1s", smtp_port: Some(port), ..Default::default() });
    let d = w.start(&cfg);
    w.first_polls_done(&d).await;
    w.x.add_tweet(NewTweet::new("elena", "@Interjet_mx me dejaron sin vuelo y nadie responde, pésimo").lang(Some("es")));
    wait_for(LONG, "a failed delivery attempt", &d, || d.log().contains("alert delivery failed; will retry").then_some(())).await;

    let back = SmtpServer::start_on(port).await;
    let mail = back.wait_for(1, Duration::from_secs(60)).await;
    assert!(mail[0].text_body().unwrap().contains("me dejaron sin vuelo"));
    // Give the loop time for one more retry cycle: still one message.
    wait_for(LONG, "two more polls", &d, || (w.x.requests().len() >= 6).then_some(())).await;
    assert_eq!(back.messages().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_errors_keep_the_daemon_running_and_the_other_source_working() {
    let w = World::new().await;
    let cfg = w.config(&Settings::default());
    let mut d = w.start(&cfg);
    w.first_polls_done(&d).await;
    let db = w.db();
    w.x.fail_next(fake_x::Failure::RateLimited { reset_in_secs: 2 });
    w.x.fail_next(fake_x::Failure::ServerError(500));
    w.x.fail_next(fake_x::Failure::MalformedJson);
    w.x.fail_next(fake_x::Failure::HtmlErrorPage);
    // While X fails, Mastodon keeps bringing mentions.
    let author = w.mastodon.add_account("rosa", 10);
    let status = w.mastodon.post_status(&author).text("@interjet hola, una pregunta").mention(&w.brand_mastodon_id).send();
    wait_for(LONG, "the Mastodon mention", &d, || mentions(&db).into_iter().find(|m| m.platform_id == status)).await;
    // After the failures X recovers and its mention arrives too.
    let id = w.x.add_tweet(NewTweet::new("raul", "Interjet hoy").lang(Some("es")));
    wait_for(Duration::from_secs(90), "the X mention after the failures", &d, || mentions(&db).into_iter().find(|m| m.platform_id == id)).await;
    assert!(d.running(), "the daemon is still up");
    let log = d.log();
    assert!(log.contains("rate limited"), "{log}");
    assert!(log.contains("poll failed; backing off"), "{log}");
    assert!(log.contains("cannot parse") || log.contains("Malformed") || log.contains("not JSON") || log.contains("parse"), "{log}");
    assert_eq!(d.terminate(Duration::from_secs(10)), Some(0), "SIGTERM: clean exit 0");
}

#[test]
fn a_config_with_several_mistakes_exits_78_and_names_each_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        r#"
[daemon]
database = "e.db"

[[brand]]
id = "interjet"
name = "Interjet"
terms = ["interjet"]
respond_within = { complaint = "half an hour", escalation = "5m" }
oncall = "nobody"
colour = "blue"

[source.x]
api_base = "http://127.0.0.1:1"
bearer_token = "t"
every = "often"

[source.myspace]
url = "http://example.com"

[smtp]
host = "127.0.0.1"
security = "ssl"
from = "alerts@example.com"
"#,
    )
    .unwrap();
    for cmd in ["check", "run"] {
        let (code, _out, err) = escucha(&[cmd, "--config", path.to_str().unwrap()], None);
        assert_eq!(code, 78, "{cmd}: {err}");
        for key in ["respond_within.complaint", "oncall", "colour", "source.x.every", "myspace", "smtp.security"] {
            assert!(err.contains(key), "{cmd}: the message names {key}:\n{err}");
        }
    }
    assert!(!dir.path().join("e.db").exists(), "nothing started: no database was created");
}

#[test]
fn classify_answers_one_line_per_input_in_order() {
    let input = concat!(
        "{\"id\": 1, \"text\": \"Gracias @Interjet_mx, trato excelente\", \"lang\": \"es\"}\n",
        "Llevo 3 meses sin poder enviar correos con vuestro módem y nadie responde\n",
        "{\"id\": \"x\", \"text\": \"¿A qué hora abre el mostrador de Interjet en T1?\"}\n",
    );
    let (code, out, err) = escucha(&["classify"], Some(input));
    assert_eq!(code, 0, "{err}");
    let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["id"], 1);
    assert_eq!(lines[0]["class"], "praise");
    assert_eq!(lines[1]["class"], "complaint");
    assert_eq!(lines[2]["id"], "x");
    assert_eq!(lines[2]["class"], "neutral");
    for l in &lines {
        let score = l["score"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&score));
        assert!(l["reasons"].is_array());
        assert_eq!(l["lang"], "es");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_source_sends_one_not_working_notice_and_one_recovery() {
    let w = World::new().await;
    let cfg = w.config(&Settings { unhealthy_after: "1s", ..Default::default() });
    let d = w.start(&cfg);
    w.first_polls_done(&d).await;
    // Three failing rounds in a row (each round is one X request), then X works again.
    w.x.fail_next(fake_x::Failure::ServerError(500));
    w.x.fail_next(fake_x::Failure::Unavailable { retry_after: 1 });
    w.x.fail_next(fake_x::Failure::HtmlErrorPage);
    let mail = w.smtp.wait_for(2, Duration::from_secs(60)).await;
    let subjects: Vec<String> = mail.iter().map(|m| m.subject().unwrap()).collect();
    assert_eq!(subjects[0], "[escucha] source x is not working", "{subjects:?}");
    assert_eq!(subjects[1], "[escucha] source x recovered", "{subjects:?}");
    assert_eq!(mail[0].to, vec!["guardia@example.com".to_string()]);
    let body = mail[0].text_body().unwrap();
    assert!(body.contains("since") && body.contains("Last error") && body.contains("What to check"), "{body}");
    // More healthy polls: nothing more is sent.
    let n = w.x.requests().len();
    wait_for(LONG, "two more X polls", &d, || (w.x.requests().len() >= n + 2).then_some(())).await;
    assert_eq!(w.smtp.messages().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_disable_the_source_and_say_what_to_fix_once() {
    let w = World::new().await;
    let cfg = w.config(&Settings { unhealthy_after: "1s", x_token: Some("wrong-token"), ..Default::default() });
    let mut d = w.start(&cfg);
    let mail = w.smtp.wait_for(1, LONG).await;
    assert_eq!(mail[0].subject().unwrap(), "[escucha] source x is not working");
    let body = mail[0].text_body().unwrap();
    assert!(body.contains("bearer_token_env"), "says which key to fix:\n{body}");
    assert!(!body.contains("wrong-token"), "never shows the token");
    let log = d.log();
    assert!(log.contains("source disabled"), "{log}");
    assert!(!log.contains("wrong-token"), "the token never appears in the log");
    // Disabled: no more requests to X, but Mastodon keeps working.
    let n = w.x.requests().len();
    let author = w.mastodon.add_account("lola", 10);
    let status = w.mastodon.post_status(&author).text("@interjet hola").mention(&w.brand_mastodon_id).send();
    let db = w.db();
    wait_for(LONG, "the Mastodon mention", &d, || mentions(&db).into_iter().find(|m| m.platform_id == status)).await;
    assert_eq!(w.x.requests().len(), n, "a disabled source sends nothing");
    assert_eq!(w.smtp.messages().len(), 1);
    assert!(d.running());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_silent_longer_than_expect_within_is_announced_and_recovers_with_the_next_mention() {
    let w = World::new().await;
    let cfg = w.config(&Settings { x_extra: "expect_within = \"2s\"", ..Default::default() });
    let d = w.start(&cfg);
    let mail = w.smtp.wait_for(1, LONG).await;
    assert_eq!(mail[0].subject().unwrap(), "[escucha] source x is not working");
    assert!(mail[0].text_body().unwrap().contains("expect_within"), "says why");
    w.x.add_tweet(NewTweet::new("nora", "Interjet hoy sale puntual").lang(Some("es")));
    let mail = w.smtp.wait_for(2, LONG).await;
    assert_eq!(mail[1].subject().unwrap(), "[escucha] source x recovered");
    assert!(d.log().contains("source recovered"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reloaded_config_that_cannot_start_gives_way_to_the_previous_one() {
    let w = World::new().await;
    let cfg = w.config(&Settings::default());
    let mut d = w.start(&cfg);
    w.first_polls_done(&d).await;
    // Valid config, but its HTTP address is taken by someone else.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let text = std::fs::read_to_string(&cfg).unwrap();
    let with_http = text.replacen("timezone = \"UTC\"", &format!("timezone = \"UTC\"\nhttp = \"{}\"", taken.local_addr().unwrap()), 1);
    std::fs::write(&cfg, with_http).unwrap();
    let _ = std::process::Command::new("kill").args(["-HUP", &d.pid().to_string()]).status();
    wait_for(LONG, "the failed start to be logged", &d, || d.log().contains("running the previous config again").then_some(())).await;
    let n = w.x.requests().len();
    wait_for(LONG, "X polls to go on", &d, || (w.x.requests().len() >= n + 2).then_some(())).await;
    assert!(d.running());
    assert_eq!(d.terminate(Duration::from_secs(10)), Some(0));
}
