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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_under_a_matched_post_in_a_subreddit_and_in_the_inbox_are_stored_with_their_permalinks() {
    let reddit = FakeReddit::start().await;
    reddit.add_user("interjet_care", "contraseña segura");
    let smtp = SmtpServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = ConfigToml::new()
        .daemon("escucha.db")
        .set("daemon", "timezone", "UTC")
        .brand("interjet", "Interjet", "interjet", "30m", "10m")
        .accounts(&[("reddit", "interjet_care")])
        .reddit(&reddit.api_base(), &reddit.token_url(), (CLIENT_ID, CLIENT_SECRET, USER_AGENT))
        .set("source.reddit", "follow_threads", "3d")
        .set_raw("source.reddit", "subreddits", r#"["r/Mexico"]"#)
        .set("source.reddit", "username_env", "REDDIT_USERNAME")
        .set("source.reddit", "password_env", "REDDIT_PASSWORD")
        .smtp(smtp.port())
        .oncall(&["guardia@example.com"])
        .write(dir.path());
    let db = dir.path().join("escucha.db");
    let chilango = reddit.add_post(NewPost::new("someone", "¿Qué tal el aeropuerto?", "").in_sub("mexico").at(chrono::Utc::now() - chrono::Duration::hours(1)));
    // Something for the brand's comment listing to hold before the start.
    let old = reddit.add_post(NewPost::new("someone", "otro tema", "").at(chrono::Utc::now() - chrono::Duration::hours(2)));
    reddit.add_comment("interjet_care", "hola", &old);

    let d = Daemon::start(dir.path(), &config, &[("REDDIT_USERNAME", "interjet_care"), ("REDDIT_PASSWORD", "contraseña segura")]);
    first_polls(LONG, &d, &db, &["reddit:search:interjet", "reddit:account:interjet", "reddit:subreddits:mexico", "reddit:mentions", "reddit:threads"]).await;

    // A post the search matches; its thread is followed from then on.
    let post = reddit.add_post(NewPost::new("carla_mx", "Interjet canceló mi vuelo", "¿a alguien más le pasó?"));
    wait_for(LONG, "the post to be stored", &d, || mentions(&db).into_iter().find(|m| m.platform_id == post)).await;
    let comment = reddit.add_comment("beto_r", "A mí Interjet también me dejó sin maleta, pésimo servicio y nadie responde", &post);
    let quiet = reddit.add_comment("dana", "me pasó igual", &post);
    let m = wait_for(LONG, "the comment under the matched post to be stored", &d, || mentions(&db).into_iter().find(|m| m.platform_id == comment)).await;
    assert_eq!(m.url, format!("https://www.reddit.com/r/test/comments/{}/interjet_cancel__mi_vuelo/{}/", &post[3..], &comment[3..]));
    assert_eq!(m.class, Class::Complaint, "reasons: {:?}", m.reasons);
    assert_eq!((m.author.as_str(), m.status), ("beto_r", Status::Open));

    // The brand's user answers the comment in the thread.
    reddit.add_comment("interjet_care", "Hola Beto, te escribimos por mensaje privado.", &comment);
    wait_for(LONG, "the brand's reply to answer the comment", &d, || {
        mentions(&db).into_iter().find(|m| m.platform_id == comment && m.status == Status::Answered)
    })
    .await;

    // A comment in a listed subreddit, under a post that names nothing.
    let sub_comment = reddit.add_comment("luis", "Volé con Interjet la semana pasada y todo excelente, gracias", &chilango);
    let s = wait_for(LONG, "the subreddit comment to be stored", &d, || mentions(&db).into_iter().find(|m| m.platform_id == sub_comment)).await;
    let in_mexico = format!("https://www.reddit.com/r/mexico/comments/{}/", &chilango[3..]);
    assert!(s.url.starts_with(&in_mexico) && s.url.ends_with(&format!("/{}/", &sub_comment[3..])), "{}", s.url);
    assert_eq!(s.class, Class::Praise, "reasons: {:?}", s.reasons);

    // A username mention with no term, read from the brand user's inbox.
    let mention = reddit.add_comment("eva", "u/interjet_care ¿me ayudan?", &chilango);
    let i = wait_for(LONG, "the username mention to be stored", &d, || mentions(&db).into_iter().find(|m| m.platform_id == mention)).await;
    assert!(i.url.starts_with(&in_mexico) && i.url.ends_with(&format!("/{}/", &mention[3..])), "{}", i.url);

    // `escucha mentions --json` shows the comment's permalink.
    let run = std::process::Command::new(daemon::bin())
        .args(["mentions", "--json", "--config", config.to_str().unwrap()])
        .envs([("REDDIT_USERNAME", "interjet_care"), ("REDDIT_PASSWORD", "contraseña segura")])
        .output()
        .unwrap();
    let (out, err) = (String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "{err}");
    let line = out.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()).find(|v| v["platform_id"] == comment.as_str()).expect("the comment");
    assert_eq!(line["url"], m.url.as_str());
    assert_eq!(line["status"], "answered");

    let all = mentions(&db);
    assert!(!all.iter().any(|m| m.platform_id == quiet), "a comment that names nothing is not a mention");
    assert_eq!(all.iter().filter(|m| m.platform_id == comment).count(), 1, "stored once, though every read of the thread shows it");
    assert!(!all.iter().any(|m| m.author == "interjet_care"), "the brand's own comments are never mentions");
    assert_eq!(reddit.tokens_issued(), 1, "one user token for every request");
    assert!(reddit.requests().iter().any(|r| r.param("grant_type") == Some("password")));
}
