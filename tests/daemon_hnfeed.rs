//! End-to-end tests of the Hacker News and feed sources: the real `escucha`
//! binary against a fake Algolia HN API, a fake feed host and an in-process
//! SMTP server, watching the SQLite file and the mailbox. Every wait polls
//! for a condition with a timeout; nothing sleeps on purpose.

#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/fake_feed.rs"]
mod fake_feed;
#[path = "support/fake_hackernews.rs"]
mod fake_hackernews;
#[path = "support/smtp.rs"]
mod smtp;
#[path = "support/world.rs"]
mod world;

use daemon::{first_polls, mentions, wait_for, Daemon};
use escucha::model::{Class, Platform, Status};
use escucha::sources::feed::query_key;
use fake_feed::{FakeFeed, Kind, NewEntry};
use fake_hackernews::FakeHackerNews;
use smtp::SmtpServer;
use std::path::PathBuf;
use std::time::Duration;
use world::ConfigToml;

const LONG: Duration = Duration::from_secs(30);

struct World {
    dir: tempfile::TempDir,
    hn: FakeHackerNews,
    feeds: FakeFeed,
    feed_url: String,
    smtp: SmtpServer,
}

impl World {
    async fn new() -> World {
        let feeds = FakeFeed::start().await;
        let feed_url = feeds.add_feed(Kind::GoogleAlerts, "AcmeCoffee");
        World { dir: tempfile::tempdir().unwrap(), hn: FakeHackerNews::start().await, feeds, feed_url, smtp: SmtpServer::start().await }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("escucha.db")
    }

    /// Only the Hacker News source and one Google Alerts feed of the brand.
    fn start(&self) -> Daemon {
        let path = ConfigToml::new()
            .daemon("escucha.db")
            .set("daemon", "timezone", "UTC")
            .brand("acme", "AcmeCoffee", "acmecoffee", "5s", "3s")
            .accounts(&[("hackernews", "AcmeCoffeeHQ")])
            .hackernews(&self.hn.base_url())
            .feed(&self.feed_url, "acme")
            .smtp(self.smtp.port())
            .oncall(&["guardia@example.com"])
            .write(self.dir.path());
        Daemon::start(self.dir.path(), &path, &[])
    }

    /// From then on, new posts are live mentions, not history.
    async fn first_polls_done(&self, d: &Daemon) {
        first_polls(LONG, d, &self.db(), &["hackernews:search:acme", "hackernews:account:acme", &query_key("acme", &self.feed_url)]).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hacker_news_complaint_is_emailed_once_unless_the_brands_hn_user_answers_it() {
    let w = World::new().await;
    let story = w.hn.story("pg", "Ask HN: which coffee subscription?", None);
    let old = w.hn.comment("olduser", &story, "AcmeCoffee lost my order and nobody answers, terrible");
    let d = w.start();
    w.first_polls_done(&d).await;
    let db = w.db();

    let answered = w.hn.comment("dana", &story, "My AcmeCoffee grinder broke after a week and support never replied, awful");
    w.hn.comment("AcmeCoffeeHQ", &answered, "Sorry Dana, a replacement is on its way.");
    let control = w.hn.comment("carl", &story, "AcmeCoffee charged me twice and nobody answers, terrible service");

    wait_for(LONG, "the answered complaint to be marked answered", &d, || {
        mentions(&db).into_iter().find(|m| m.platform_id == answered && m.status == Status::Answered)
    })
    .await;
    let mail = w.smtp.wait_for(1, LONG).await;
    let body = mail[0].text_body().unwrap();
    assert!(body.contains("charged me twice"), "only the unanswered complaint is paged:\n{body}");
    assert!(body.contains(&format!("https://news.ycombinator.com/item?id={control}")), "{body}");
    let subject = mail[0].subject().unwrap();
    assert!(subject.contains("complaint") && subject.contains("hackernews"), "{subject}");

    // More polls: still one email, and the history complaint never paged.
    let polls = w.hn.requests().len();
    wait_for(LONG, "four more HN requests", &d, || (w.hn.requests().len() >= polls + 4).then_some(())).await;
    assert_eq!(w.smtp.messages().len(), 1);
    let all = mentions(&db);
    let m = |id: &str| all.iter().find(|m| m.platform_id == id).unwrap_or_else(|| panic!("{id} stored: {all:#?}"));
    assert_eq!(m(&control).class, Class::Complaint);
    assert_eq!(m(&control).author, "carl");
    assert!(m(&control).alerted_at.is_some());
    assert!(m(&answered).alerted_at.is_none() && m(&answered).answered_at.is_some());
    assert!(m(&old).history && m(&old).alerted_at.is_none(), "found on the first poll: history");
    assert_eq!(all.iter().filter(|x| x.platform_id == control).count(), 1);
    assert!(!all.iter().any(|x| x.author == "acmecoffeehq"), "the brand's own reply is not a mention");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complaint_in_the_brands_feed_is_a_mention_and_emailed_once() {
    let w = World::new().await;
    let old = w.feeds.publish(&w.feed_url, NewEntry::new("Old news", "They lost my order and nobody answers, terrible"));
    let d = w.start();
    w.first_polls_done(&d).await;
    let db = w.db();

    // No term in it: the feed belongs to the brand, so it is its mention.
    let entry = w.feeds.publish(
        &w.feed_url,
        NewEntry::new("Customer story", "I have been waiting three weeks for a refund and nobody answers my emails, terrible service")
            .link("https://reviews.example.com/r/42"),
    );
    let m = wait_for(LONG, "the feed complaint to be stored", &d, || mentions(&db).into_iter().find(|m| m.platform_id == entry)).await;
    assert_eq!(m.platform, Platform::Feed);
    assert_eq!(m.class, Class::Complaint, "{:?}", m.reasons);
    assert_eq!(m.url, "https://reviews.example.com/r/42");
    let mail = w.smtp.wait_for(1, LONG).await;
    let body = mail[0].text_body().unwrap();
    assert!(body.contains("waiting three weeks") && body.contains("https://reviews.example.com/r/42"), "{body}");

    let polls = w.feeds.requests().len();
    wait_for(LONG, "three more feed requests", &d, || (w.feeds.requests().len() >= polls + 3).then_some(())).await;
    assert_eq!(w.smtp.messages().len(), 1);
    let all = mentions(&db);
    assert_eq!(all.iter().filter(|x| x.platform_id == entry).count(), 1);
    let old = all.iter().find(|x| x.platform_id == old).expect("the first poll's entry is stored");
    assert!(old.history && old.alerted_at.is_none());
    assert!(!d.log().contains("04175468913983673025"), "the private feed URL never reaches the log");
    assert!(w.feeds.requests().iter().skip(1).any(|r| r.if_none_match.is_some()), "later polls are conditional");
}

/// A query polled for the first time a while after the daemon started
/// (its source paces its queries, here a slow API) takes what was posted
/// since the start as news, not history: the complaint is paged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complaint_posted_after_the_start_but_before_its_querys_first_poll_is_paged() {
    let w = World::new().await;
    let story = w.hn.story("pg", "Ask HN: parcel delivery horror stories", None);
    // Each answer takes 2 s: globex's query is first polled about 4 s after the start.
    w.hn.set_latency(Duration::from_secs(2));
    let path = ConfigToml::new()
        .daemon("escucha.db")
        .set("daemon", "timezone", "UTC")
        .brand("acme", "AcmeCoffee", "acmecoffee", "1s", "1s")
        .brand("globex", "Globex", "globex", "1s", "1s")
        .hackernews(&w.hn.base_url())
        .smtp(w.smtp.port())
        .oncall(&["guardia@example.com"])
        .write(w.dir.path());
    let started = std::time::Instant::now();
    let d = Daemon::start(w.dir.path(), &path, &[]);
    wait_for(LONG, "the first HN request", &d, || (!w.hn.requests().is_empty()).then_some(())).await;
    // HN stamps whole seconds: be a second past the start.
    tokio::time::sleep(Duration::from_millis(1200).saturating_sub(started.elapsed())).await;
    let db = w.db();
    assert!(
        escucha::store::Store::open(&db).unwrap().cursor("hackernews:search:globex").unwrap().is_none(),
        "the globex query has not been polled yet (else this tests nothing)"
    );
    let id = w.hn.comment("dora", &story, "Globex lost my parcel two weeks ago and nobody answers, terrible service");

    let m = wait_for(LONG, "the complaint stored", &d, || mentions(&db).into_iter().find(|m| m.platform_id == id)).await;
    assert!(!m.history, "posted after the start: news, even on its query's first poll");
    assert!(m.deadline.is_some());
    let mail = w.smtp.wait_for(1, LONG).await;
    assert!(mail[0].text_body().unwrap().contains("lost my parcel"));
}
