//! End to end with only the Bluesky source: the real `escucha` binary logs
//! in to a fake PDS, polls search, notifications and the brand's feed, and
//! pages through a real SMTP server only for the complaint nobody answered.

#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/fake_bluesky.rs"]
mod fake_bluesky;
#[path = "support/smtp.rs"]
mod smtp;
#[path = "support/world.rs"]
mod world;

use daemon::{first_polls, mentions, wait_for, Daemon};
use escucha::model::{Class, Platform, Status};
use fake_bluesky::FakeBluesky;
use smtp::SmtpServer;
use std::time::Duration;
use world::ConfigToml;

const LONG: Duration = Duration::from_secs(30);
const PASSWORD: &str = "abcd-efgh-ijkl-mnop";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bluesky_complaint_is_emailed_once_and_one_the_brand_answers_never() {
    let fake = FakeBluesky::start().await;
    let brand = fake.add_account("interjet.bsky.social", PASSWORD, 5_000);
    let carla = fake.add_account("carla.bsky.social", "x", 80);
    let beto = fake.add_account("beto.bsky.social", "y", 40);
    let smtp = SmtpServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = ConfigToml::new()
        .daemon("escucha.db")
        .set("daemon", "timezone", "UTC")
        .brand("interjet", "Interjet", "interjet", "5s", "3s")
        .accounts(&[("bluesky", "interjet.bsky.social")])
        .bluesky(&fake.base_url(), "interjet.bsky.social", PASSWORD)
        .smtp(smtp.port())
        .oncall(&["guardia@example.com"])
        .write(dir.path());
    let d = Daemon::start(dir.path(), &config, &[]);
    let db = dir.path().join("escucha.db");
    first_polls(LONG, &d, &db, &["bluesky:search:interjet", "bluesky:notifications", "bluesky:account:interjet"]).await;

    // Answered: the brand replies directly to the mention.
    let answered = fake.post(&carla).text("@interjet.bsky.social cancelaron mi vuelo y nadie me ayuda, qué mal servicio").lang("es").send();
    fake.post(&brand).text("@carla.bsky.social lamentamos lo ocurrido, te escribimos por DM").reply_to(&answered).lang("es").send();
    // Not answered: the control, posted last.
    let control = fake.post(&beto).text("@interjet.bsky.social me cobraron dos veces y nadie responde, pésimo").lang("es").send();

    wait_for(LONG, "the answered complaint to be marked answered", &d, || {
        mentions(&db).into_iter().find(|m| m.platform_id == answered && m.status == Status::Answered)
    })
    .await;
    let mail = smtp.wait_for(1, LONG).await;
    let body = mail[0].text_body().unwrap();
    assert!(body.contains("me cobraron dos veces"), "only the unanswered complaint is paged:\n{body}");
    assert!(body.contains(&format!("https://bsky.app/profile/beto.bsky.social/post/{}", control.rsplit('/').next().unwrap())), "{body}");
    let subject = mail[0].subject().unwrap();
    assert!(subject.contains("complaint") && subject.contains("bluesky"), "{subject}");

    let all = mentions(&db);
    let c = all.iter().find(|m| m.platform_id == control).expect("the control is stored");
    assert_eq!(c.platform, Platform::Bluesky);
    assert_eq!(c.class, Class::Complaint, "reasons: {:?}", c.reasons);
    assert_eq!(c.author, "beto.bsky.social");
    assert_eq!(c.author_followers, Some(40));
    let a = all.iter().find(|m| m.platform_id == answered).unwrap();
    assert!(a.alerted_at.is_none());
    assert!(!all.iter().any(|m| m.author == "interjet.bsky.social"), "the brand's own posts are not mentions");

    // More polls happen: still one row each and one email.
    let polls = fake.calls("app.bsky.notification.listNotifications").len();
    wait_for(LONG, "two more notification polls", &d, || (fake.calls("app.bsky.notification.listNotifications").len() >= polls + 2).then_some(())).await;
    assert_eq!(mentions(&db).iter().filter(|m| m.platform_id == control).count(), 1);
    assert_eq!(smtp.messages().len(), 1);
    assert_eq!(fake.calls("com.atproto.server.createSession").len(), 1, "one session for the whole run");
}
