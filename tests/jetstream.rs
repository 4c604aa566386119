//! Bluesky Jetstream (`jetstream = "wss://..."`) against a fake Jetstream
//! and a fake PDS over real sockets: the subscribe URL and its replay
//! cursor, what concerns a brand (terms, its DID in a mention facet even
//! when the handle shown is an old one, replies to it, its own replies) and
//! what does not, and what happens when the stream misbehaves: a frame cut
//! by a dropped connection, a frame that is not JSON, an oversized frame, a
//! server that never answers.

#[path = "support/brands.rs"]
mod brands;
#[path = "support/fake_bluesky.rs"]
mod fake_bluesky;
#[path = "support/fake_jetstream.rs"]
mod fake_jetstream;

use escucha::config::{Accounts, BlueskySource as BlueskyConfig, Brand, Schedule, Secret};
use escucha::sources::bluesky::jetstream::Jetstream;
use escucha::sources::bluesky::BlueskySource;
use escucha::sources::stream::{CatchUp, StreamError, Timeouts};
use escucha::sources::Page;
use fake_bluesky::FakeBluesky;
use fake_jetstream::{FakeJetstream, Trick};
use serde_json::json;
use std::time::{Duration, Instant};

const PASSWORD: &str = "abcd-efgh-ijkl-mnop";
const FAST: Timeouts = Timeouts { connect: Duration::from_secs(1), idle: Duration::from_secs(5) };

fn interjet() -> Brand {
    brands::interjet(Accounts { bluesky: Some("interjet.bsky.social".into()), ..Accounts::default() })
}

struct World {
    fake: FakeBluesky,
    jet: FakeJetstream,
    source: BlueskySource,
    brand: String,
    ana: String,
}

async fn world() -> World {
    let fake = FakeBluesky::start().await;
    let brand = fake.add_account("interjet.bsky.social", PASSWORD, 5_000);
    let ana = fake.add_account("ana.bsky.social", "x", 120);
    let jet = FakeJetstream::start().await;
    let cfg = BlueskyConfig {
        service: fake.base_url(),
        identifier: "interjet.bsky.social".into(),
        app_password: Secret::new(PASSWORD),
        jetstream: Some(jet.base_url()),
        schedule: Schedule { every: Duration::from_secs(60), unhealthy_after: Duration::from_secs(1800), expect_within: None },
    };
    let source = BlueskySource::new(&cfg, &[interjet()]);
    World { fake, jet, source, brand, ana }
}

/// The next page with posts (cursor-only pages are skipped).
async fn next_posts(stream: &mut Jetstream, source: &BlueskySource) -> Page {
    loop {
        let page = tokio::time::timeout(Duration::from_secs(10), stream.next(source)).await.expect("a page within 10 s").expect("no stream error");
        let page = page.expect("the stream stays open");
        if !page.posts.is_empty() {
            return page;
        }
    }
}

fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

fn record(text: &str) -> serde_json::Value {
    json!({"$type": "app.bsky.feed.post", "text": text, "createdAt": chrono::Utc::now().to_rfc3339(), "langs": ["es"]})
}

#[test]
fn jetstream_stands_in_for_every_query_and_only_when_configured() {
    let cfg = |jetstream: Option<&str>| BlueskyConfig {
        service: "https://bsky.social".into(),
        identifier: "interjet.bsky.social".into(),
        app_password: Secret::new("p"),
        jetstream: jetstream.map(str::to_string),
        schedule: Schedule { every: Duration::from_secs(60), unhealthy_after: Duration::from_secs(1800), expect_within: None },
    };
    assert!(BlueskySource::new(&cfg(None), &[interjet()]).stream_plans().is_empty());
    let source = BlueskySource::new(&cfg(Some("wss://jetstream2.us-east.bsky.network")), &[interjet()]);
    let plans = source.stream_plans();
    assert_eq!(plans.len(), 1);
    assert_eq!(plans[0].query.key, "bluesky:jetstream");
    assert_eq!(plans[0].covers, source.queries(), "search, notifications and the brand's feed wait while Jetstream is live");
}

#[tokio::test]
async fn the_subscription_replays_from_the_stored_cursor_minus_five_seconds_and_a_stale_cursor_asks_for_search() {
    let w = world().await;
    let (_s, catch_up) = w.source.open_jetstream(None, FAST).await.unwrap();
    assert_eq!(catch_up, CatchUp::All, "no cursor: whatever came before is read by search");
    let stored = now_us() - 60_000_000;
    let (_s, catch_up) = w.source.open_jetstream(Some(&stored.to_string()), FAST).await.unwrap();
    assert_eq!(catch_up, CatchUp::FirstRun, "a fresh cursor: Jetstream replays the gap");
    let day_old = now_us() - 25 * 3600 * 1_000_000;
    let (_s, catch_up) = w.source.open_jetstream(Some(&day_old.to_string()), FAST).await.unwrap();
    assert_eq!(catch_up, CatchUp::All, "beyond the replay window, search reads the gap");
    let requests = w.jet.requests();
    assert_eq!(requests[0], "/subscribe?wantedCollections=app.bsky.feed.post");
    assert_eq!(requests[1], format!("/subscribe?wantedCollections=app.bsky.feed.post&cursor={}", stored - 5_000_000));
}

#[tokio::test]
async fn posts_that_concern_the_brand_are_pages_and_the_rest_only_move_the_cursor() {
    let w = world().await;
    let (mut s, _) = w.source.open_jetstream(None, FAST).await.unwrap();
    let t = now_us();
    // Noise: another collection, a post about something else, a delete.
    w.jet.publish(
        json!({"did": w.ana, "time_us": t, "kind": "commit", "commit": {"operation": "create", "collection": "app.bsky.feed.like", "rkey": "1", "record": {}}}),
    );
    w.jet.publish(FakeJetstream::post_event(&w.ana, "3noise", t + 1, record("qué bonito día")));
    w.jet.publish(
        json!({"did": w.ana, "time_us": t + 2, "kind": "commit", "commit": {"operation": "delete", "collection": "app.bsky.feed.post", "rkey": "3gone"}}),
    );
    // The brand's DID in a mention facet, shown with a handle it no longer has.
    let text = "@old-interjet.bsky.social me dejaron en tierra";
    let mut r = record(text);
    r["facets"] = json!([{"index": {"byteStart": 0, "byteEnd": 25}, "features": [{"$type": "app.bsky.richtext.facet#mention", "did": w.brand}]}]);
    w.jet.publish(FakeJetstream::post_event(&w.ana, "3facet", t + 3, r));
    let page = next_posts(&mut s, &w.source).await;
    assert_eq!(page.posts.len(), 1);
    let p = &page.posts[0];
    assert_eq!(p.platform_id, format!("at://{}/app.bsky.feed.post/3facet", w.ana), "keyed by AT-URI, as search keys it");
    assert!(p.mentions.contains(&"interjet.bsky.social".to_string()), "the brand's DID names the brand: {:?}", p.mentions);
    assert_eq!((p.author.as_str(), p.author_followers), ("ana.bsky.social", Some(120)), "completed with getProfiles");
    assert_eq!(p.url, "https://bsky.app/profile/ana.bsky.social/post/3facet");
    assert_eq!(page.cursor, (t + 3).to_string());

    // A term, and the brand's reply to it.
    let complaint = w.fake.post(&w.ana).text("Interjet perdió mi maleta").send();
    let reply = w.fake.post(&w.brand).text("lo sentimos, te escribimos por DM").reply_to(&complaint).send();
    w.jet.publish(w.fake.commit_event(&complaint));
    w.jet.publish(w.fake.commit_event(&reply));
    assert_eq!(next_posts(&mut s, &w.source).await.posts[0].platform_id, complaint);
    let answer = next_posts(&mut s, &w.source).await;
    assert_eq!(answer.posts[0].author, "interjet.bsky.social", "the brand's own reply, recognised by its DID");
    assert_eq!(answer.posts[0].in_reply_to_id.as_deref(), Some(complaint.as_str()));
}

#[tokio::test]
async fn a_frame_cut_by_a_dropped_connection_is_not_read_and_the_replay_brings_it() {
    let w = world().await;
    let (mut s, _) = w.source.open_jetstream(None, FAST).await.unwrap();
    let before = w.fake.post(&w.ana).text("Interjet uno").send();
    w.jet.publish(w.fake.commit_event(&before));
    let first = next_posts(&mut s, &w.source).await;
    w.jet.trick(Trick::CutMidEvent);
    let cut = w.fake.post(&w.ana).text("Interjet dos").send();
    w.jet.publish(w.fake.commit_event(&cut));
    match tokio::time::timeout(Duration::from_secs(10), s.next(&w.source)).await.expect("the cut is noticed") {
        Ok(None) | Err(StreamError::Down(_)) => {}
        Ok(Some(page)) => panic!("half a frame became a page: {page:?}"),
        Err(e) => panic!("want Down, got {e}"),
    }
    // Reconnect from the stored cursor: the overlap repeats `before` (the
    // store drops it again) and brings the cut one.
    let (mut s, _) = w.source.open_jetstream(Some(&first.cursor), FAST).await.unwrap();
    let ids: Vec<String> = vec![next_posts(&mut s, &w.source).await, next_posts(&mut s, &w.source).await]
        .into_iter()
        .flat_map(|p| p.posts.into_iter().map(|p| p.platform_id))
        .collect();
    assert_eq!(ids, [before, cut]);
}

#[tokio::test]
async fn a_frame_that_is_not_json_and_an_oversized_frame_are_skipped_and_the_next_event_is_read() {
    let w = world().await;
    let (mut s, _) = w.source.open_jetstream(None, FAST).await.unwrap();
    w.jet.trick(Trick::Malformed);
    w.jet.trick(Trick::Oversized(2 << 20));
    let a = w.fake.post(&w.ana).text("Interjet uno").send();
    let b = w.fake.post(&w.ana).text("Interjet dos").send();
    w.jet.publish(w.fake.commit_event(&a));
    w.jet.publish(w.fake.commit_event(&b));
    assert_eq!(next_posts(&mut s, &w.source).await.posts[0].platform_id, a);
    assert_eq!(next_posts(&mut s, &w.source).await.posts[0].platform_id, b);
    assert_eq!(s.oversized, 1, "the 2 MiB frame was counted and skipped");
}

#[tokio::test]
async fn a_server_that_never_answers_gives_up_within_the_connect_timeout_and_a_bad_cursor_is_refused() {
    let w = world().await;
    w.jet.set_silent(true);
    let started = Instant::now();
    match w.source.open_jetstream(None, FAST).await {
        Err(StreamError::Down(m)) => assert!(m.contains("within"), "{m}"),
        other => panic!("want Down, got {:?}", other.map(|_| ())),
    }
    assert!(started.elapsed() < Duration::from_secs(8), "took {:?}", started.elapsed());
    w.jet.set_silent(false);
    // A cursor that is not a number is never sent: the stream goes live.
    let (_s, catch_up) = w.source.open_jetstream(Some("not-a-number"), FAST).await.unwrap();
    assert_eq!(catch_up, CatchUp::All);
    assert_eq!(w.jet.requests().last().unwrap(), "/subscribe?wantedCollections=app.bsky.feed.post");
}
