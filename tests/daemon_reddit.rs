//! End-to-end test of the daemon with only the Reddit source configured:
//! the real `escucha` binary against the fake Reddit and a real SMTP
//! server on TCP, watched through the SQLite file and the mailbox.

#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/fake_reddit.rs"]
mod fake_reddit;
#[path = "support/smtp.rs"]
mod smtp;
#[path = "support/world.rs"]
mod world;

use daemon::{first_polls, mentions, wait_for, Daemon};
use escucha::model::{Class, Platform, Status};
use fake_reddit::{FakeReddit, NewPost, CLIENT_ID, CLIENT_SECRET, USER_AGENT};
use smtp::SmtpServer;
use std::time::Duration;
use world::ConfigToml;

const LONG: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reddit_complaint_is_emailed_once_and_one_the_brand_answers_never() {
    let reddit = FakeReddit::start().await;
    let smtp = SmtpServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = ConfigToml::new()
        .daemon("escucha.db")
        .set("daemon", "timezone", "UTC")
        .brand("interjet", "Interjet", "interjet", "5s", "3s")
        .accounts(&[("reddit", "interjet_care")])
        .reddit(&reddit.api_base(), &reddit.token_url(), (CLIENT_ID, CLIENT_SECRET, USER_AGENT))
        .smtp(smtp.port())
        .oncall(&["guardia@example.com"])
        .write(dir.path());
    let db = dir.path().join("escucha.db");
    // Something for the brand's comment listing to hold before the start.
    let old = reddit.add_post(NewPost::new("someone", "otro tema", "").at(chrono::Utc::now() - chrono::Duration::hours(2)));
    reddit.add_comment("interjet_care", "hola", &old);

    let d = Daemon::start(dir.path(), &config, &[]);
    first_polls(LONG, &d, &db, &["reddit:search:interjet", "reddit:account:interjet"]).await;

    let answered =
        reddit.add_post(NewPost::new("carla_mx", "Interjet canceló mi vuelo", "y nadie me ayuda, pésimo servicio, llevo horas esperando una respuesta"));
    reddit.add_comment("Interjet_Care", "Hola Carla, lamentamos lo ocurrido; te escribimos por mensaje privado.", &answered);
    let open = reddit.add_post(NewPost::new("beto_r", "Interjet me cobró dos veces", "nadie responde y es un desastre, pésimo servicio"));

    let m = wait_for(LONG, "the open complaint to be stored", &d, || mentions(&db).into_iter().find(|m| m.platform_id == open)).await;
    assert_eq!(m.platform, Platform::Reddit);
    assert_eq!(m.class, Class::Complaint, "reasons: {:?}", m.reasons);
    assert_eq!(m.author, "beto_r");
    wait_for(LONG, "the answered complaint to be marked answered", &d, || {
        mentions(&db).into_iter().find(|m| m.platform_id == answered && m.status == Status::Answered)
    })
    .await;

    let mail = smtp.wait_for(1, LONG).await;
    let subject = mail[0].subject().unwrap();
    assert!(subject.contains("complaint") && subject.contains("Interjet") && subject.contains("reddit"), "{subject}");
    let body = mail[0].text_body().unwrap();
    let url = format!("https://www.reddit.com/r/test/comments/{}/", &open[3..]);
    for needle in ["me cobró dos veces", "beto_r", url.as_str()] {
        assert!(body.contains(needle), "body lacks {needle:?}:\n{body}");
    }

    // Both deadlines pass while more polls happen: still one email.
    let polls = reddit.api_requests().len();
    wait_for(LONG, "four more Reddit requests", &d, || (reddit.api_requests().len() >= polls + 4).then_some(())).await;
    let all = mentions(&db);
    assert_eq!(all.iter().filter(|m| m.platform_id == open).count(), 1);
    let a = all.iter().find(|m| m.platform_id == answered).unwrap();
    assert!(a.answered_at.is_some() && a.alerted_at.is_none(), "{a:?}");
    assert!(!all.iter().any(|m| m.author == "interjet_care"), "the brand's own comments are never mentions");
    assert_eq!(smtp.messages().len(), 1);
    assert_eq!(reddit.tokens_issued(), 1, "one app token for the whole run");
}
