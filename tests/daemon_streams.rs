//! End to end with streaming on: the real `escucha` binary reads Mastodon's
//! streaming API and Bluesky's Jetstream from local fakes, with polling set
//! to once an hour so that only a stream can bring a mention in time. Each
//! test cuts its stream, says something while it is down, and checks that
//! the reconnect path (Mastodon: a poll from the cursor; Jetstream: a replay
//! from the stored cursor minus the overlap) stores it, every complaint
//! once and paged once.

#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/fake_bluesky.rs"]
mod fake_bluesky;
#[path = "support/fake_jetstream.rs"]
mod fake_jetstream;
#[path = "support/fake_mastodon.rs"]
mod fake_mastodon;
#[path = "support/smtp.rs"]
mod smtp;
#[path = "support/world.rs"]
mod world;

use daemon::{cursor, first_polls, mentions, wait_for, Daemon};
use escucha::model::{Class, Status};
use fake_bluesky::FakeBluesky;
use fake_jetstream::FakeJetstream;
use fake_mastodon::{FakeMastodon, StreamingMode};
use smtp::SmtpServer;
use std::time::Duration;
use world::ConfigToml;

const LONG: Duration = Duration::from_secs(30);
const PASSWORD: &str = "abcd-efgh-ijkl-mnop";

fn stored_once(db: &std::path::Path, platform_id: &str) -> bool {
    mentions(db).iter().filter(|m| m.platform_id == platform_id).count() == 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mastodon_mentions_arrive_by_stream_and_what_was_said_while_it_was_cut_by_the_catch_up_poll() {
    let fake = FakeMastodon::start().await;
    let brand = fake.add_account("interjet", 5_000);
    let ana = fake.add_account("ana", 120);
    let beto = fake.add_account("beto", 30);
    let token = fake.issue_token(&brand);
    let streaming = fake.start_streaming(StreamingMode::Both).await;
    let smtp = SmtpServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = ConfigToml::new()
        .daemon("escucha.db")
        .set("daemon", "timezone", "UTC")
        .brand("interjet", "Interjet", "interjet", "5s", "3s")
        .accounts(&[("mastodon", "interjet")])
        .mastodon(&fake.base_url(), &token)
        .set("source.mastodon", "every", "1h")
        .set_raw("source.mastodon", "stream", "true")
        .smtp(smtp.port())
        .oncall(&["guardia@example.com"])
        .write(dir.path());
    let d = Daemon::start(dir.path(), &config, &[]);
    let db = dir.path().join("escucha.db");
    // Subscribed, then caught up from the (new) cursor: from now on the
    // stream is the only way in within the hour.
    wait_for(LONG, "the notification stream", &d, || streaming.subscriptions().iter().any(|r| r.contains("user/notification")).then_some(())).await;
    first_polls(LONG, &d, &db, &["mastodon:notifications", "mastodon:tag:interjet"]).await;
    let polls = |fake: &FakeMastodon| fake.requests().iter().filter(|r| r.path == "/api/v1/notifications").count();
    let before = polls(&fake);

    let live = fake.post_status(&ana).text("@interjet me dejaron en tierra y nadie responde, pésimo servicio").mention(&brand).language("es").send();
    wait_for(LONG, "the streamed mention", &d, || stored_once(&db, &live).then_some(())).await;
    assert_eq!(polls(&fake), before, "no poll brought it: the stream did");
    let tagged = fake.post_status(&beto).text("¿A qué hora abre el mostrador de #interjet en T1?").language("es").send();
    wait_for(LONG, "the streamed hashtag status", &d, || stored_once(&db, &tagged).then_some(())).await;

    // Cut the stream and keep it down while a complaint is made.
    streaming.set_down(true);
    streaming.cut();
    let missed = fake.post_status(&ana).text("@interjet cobro doble en mi tarjeta, exijo una respuesta").mention(&brand).language("es").send();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!mentions(&db).iter().any(|m| m.platform_id == missed), "nothing can bring it while the stream is down and polls are an hour apart");
    streaming.set_down(false);
    wait_for(LONG, "the mention said while the stream was down", &d, || stored_once(&db, &missed).then_some(())).await;
    assert!(polls(&fake) > before, "the reconnect polled from the cursor");
    let m = mentions(&db).into_iter().find(|m| m.platform_id == missed).unwrap();
    assert!(matches!(m.class, Class::Complaint | Class::Escalation), "{:?}", m.reasons);
    assert_eq!(m.status, Status::Open);

    // Each unanswered complaint is paged once.
    let mail = smtp.wait_for(2, LONG).await;
    let bodies: Vec<String> = mail.iter().map(|m| m.text_body().unwrap()).collect();
    assert!(bodies.iter().any(|b| b.contains("me dejaron en tierra")) && bodies.iter().any(|b| b.contains("cobro doble")), "{bodies:?}");
    let reconnects = streaming.subscriptions().iter().filter(|r| r.contains("user/notification")).count();
    assert!(reconnects >= 2, "{:?}", streaming.subscriptions());
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(smtp.messages().len(), 2, "one page per complaint");
    for id in [&live, &missed, &tagged] {
        assert!(stored_once(&db, id), "{id} stored once");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bluesky_jetstream_brings_mentions_and_answers_and_a_reconnect_replays_what_was_missed_once() {
    let fake = FakeBluesky::start().await;
    let brand = fake.add_account("interjet.bsky.social", PASSWORD, 5_000);
    let carla = fake.add_account("carla.bsky.social", "x", 80);
    let beto = fake.add_account("beto.bsky.social", "y", 40);
    let jet = FakeJetstream::start().await;
    let smtp = SmtpServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = ConfigToml::new()
        .daemon("escucha.db")
        .set("daemon", "timezone", "UTC")
        .brand("interjet", "Interjet", "interjet", "5s", "3s")
        .accounts(&[("bluesky", "interjet.bsky.social")])
        .bluesky(&fake.base_url(), "interjet.bsky.social", PASSWORD)
        .set("source.bluesky", "every", "1h")
        .set("source.bluesky", "jetstream", &jet.base_url())
        .smtp(smtp.port())
        .oncall(&["guardia@example.com"])
        .write(dir.path());
    let d = Daemon::start(dir.path(), &config, &[]);
    let db = dir.path().join("escucha.db");
    // First run: connected live, and search read the brand's history.
    wait_for(LONG, "the jetstream connection", &d, || (!jet.requests().is_empty()).then_some(())).await;
    assert_eq!(jet.requests()[0], "/subscribe?wantedCollections=app.bsky.feed.post", "live tail: no cursor yet");
    first_polls(LONG, &d, &db, &["bluesky:search:interjet", "bluesky:notifications", "bluesky:account:interjet"]).await;
    let searches = fake.calls("app.bsky.feed.searchPosts").len();

    // A complaint the brand answers, and one nobody answers.
    let answered = fake.post(&carla).text("@interjet.bsky.social cancelaron mi vuelo y nadie me ayuda, qué mal servicio").lang("es").send();
    let reply = fake.post(&brand).text("@carla.bsky.social lamentamos lo ocurrido, te escribimos por DM").reply_to(&answered).lang("es").send();
    let control = fake.post(&beto).text("Interjet me cobró dos veces y nadie responde, pésimo").lang("es").send();
    for uri in [&answered, &reply, &control] {
        jet.publish(fake.commit_event(uri));
    }
    wait_for(LONG, "the answered complaint", &d, || mentions(&db).into_iter().find(|m| m.platform_id == answered && m.status == Status::Answered)).await;
    wait_for(LONG, "the control", &d, || stored_once(&db, &control).then_some(())).await;
    assert_eq!(fake.calls("app.bsky.feed.searchPosts").len(), searches, "Jetstream brought them, not search");
    let c = mentions(&db).into_iter().find(|m| m.platform_id == control).unwrap();
    assert_eq!((c.author.as_str(), c.author_followers), ("beto.bsky.social", Some(40)), "completed with getProfiles");
    assert!(c.url.starts_with("https://bsky.app/profile/beto.bsky.social/post/"), "{}", c.url);
    let stored_cursor: i64 = cursor(&db, "bluesky:jetstream").expect("the cursor is stored with the page").parse().unwrap();

    // Cut the stream, say something while it is down, bring it back.
    jet.set_down(true);
    jet.cut();
    let missed = fake.post(&carla).text("@interjet.bsky.social perdieron mi maleta y no contestan").lang("es").send();
    jet.publish(fake.commit_event(&missed));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!mentions(&db).iter().any(|m| m.platform_id == missed));
    jet.set_down(false);
    wait_for(LONG, "the replayed mention", &d, || stored_once(&db, &missed).then_some(())).await;
    let replayed_from = jet.cursors().into_iter().flatten().last().expect("the reconnect asked for a replay");
    assert_eq!(replayed_from, stored_cursor - 5_000_000, "the replay starts 5 s before the stored cursor");
    assert_eq!(fake.calls("app.bsky.feed.searchPosts").len(), searches, "the replay, not search, filled the gap");

    // The replay repeated the earlier events (they are inside the overlap):
    // still one row each, and one page per unanswered complaint.
    let mail = smtp.wait_for(2, LONG).await;
    let bodies: Vec<String> = mail.iter().map(|m| m.text_body().unwrap()).collect();
    assert!(bodies.iter().any(|b| b.contains("me cobró dos veces")) && bodies.iter().any(|b| b.contains("perdieron mi maleta")), "{bodies:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(smtp.messages().len(), 2, "the answered complaint is never paged, the others once");
    for id in [&answered, &control, &missed] {
        assert!(stored_once(&db, id), "{id} stored once");
    }
    assert!(!mentions(&db).iter().any(|m| m.author == "interjet.bsky.social"), "the brand's own posts are not mentions");
}
