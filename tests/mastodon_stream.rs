//! Mastodon streaming (`stream = true`) against the fake instance's
//! streaming server over real sockets: discovery through `/api/v2/instance`,
//! the health check, server-sent events and the WebSocket fallback, and what
//! happens when the stream misbehaves: an event cut in half by a dropped
//! connection, a payload that is not JSON, an oversized event, an instance
//! without streaming, a refused token, a server that never answers.

#[path = "support/brands.rs"]
mod brands;
#[path = "support/fake_mastodon.rs"]
mod fake_mastodon;

use escucha::config::{Accounts, Brand, MastodonSource as MastodonConfig, Schedule, Secret};
use escucha::sources::mastodon::MastodonSource;
use escucha::sources::stream::{CatchUp, Plan, StreamError, Timeouts};
use escucha::sources::Page;
use fake_mastodon::{FakeMastodon, StreamingMode, Trick};
use std::time::{Duration, Instant};

const FAST: Timeouts = Timeouts { connect: Duration::from_secs(1), idle: Duration::from_secs(3) };

fn interjet() -> Brand {
    brands::interjet(Accounts { mastodon: Some("interjet".into()), ..Accounts::default() })
}

struct World {
    fake: FakeMastodon,
    source: MastodonSource,
    ana: String,
    brand: String,
}

async fn world(token: Option<&str>) -> World {
    let fake = FakeMastodon::start().await;
    let brand = fake.add_account("interjet", 5_000);
    let ana = fake.add_account("ana", 120);
    let issued = fake.issue_token(&brand);
    let cfg = MastodonConfig {
        instance: fake.base_url(),
        access_token: Some(Secret::new(token.unwrap_or(&issued))),
        stream: true,
        schedule: Schedule { every: Duration::from_secs(60), unhealthy_after: Duration::from_secs(1800), expect_within: None },
    };
    let source = MastodonSource::new(&cfg, &[interjet()]);
    World { fake, source, ana, brand }
}

fn plan(source: &MastodonSource, key: &str) -> Plan {
    source.stream_plans().into_iter().find(|p| p.query.key == key).unwrap_or_else(|| panic!("no stream for {key}"))
}

/// The next page with a post, skipping cursor-only pages.
async fn next_post(stream: &mut escucha::sources::mastodon::stream::MastodonStream, cursor: Option<&str>) -> Page {
    loop {
        let page = tokio::time::timeout(Duration::from_secs(10), stream.next(cursor)).await.expect("a page within 10 s").expect("no stream error");
        let page = page.expect("the stream stays open");
        if !page.posts.is_empty() {
            return page;
        }
    }
}

#[test]
fn only_notifications_and_tags_are_streamed_and_only_when_asked() {
    let cfg = |stream| MastodonConfig {
        instance: "https://mastodon.social".into(),
        access_token: Some(Secret::new("t")),
        stream,
        schedule: Schedule { every: Duration::from_secs(60), unhealthy_after: Duration::from_secs(1800), expect_within: None },
    };
    assert!(MastodonSource::new(&cfg(false), &[interjet()]).stream_plans().is_empty());
    let plans = MastodonSource::new(&cfg(true), &[interjet()]).stream_plans();
    let covered: Vec<&str> = plans.iter().flat_map(|p| p.covers.iter().map(|q| q.key.as_str())).collect();
    assert_eq!(covered, ["mastodon:notifications", "mastodon:tag:interjet"], "search and the brand's own statuses stay polled");
}

#[tokio::test]
async fn a_mention_and_a_tagged_status_arrive_over_server_sent_events() {
    let w = world(None).await;
    let streaming = w.fake.start_streaming(StreamingMode::Both).await;
    let (mut notes, catch_up) = w.source.open_stream(&plan(&w.source, "mastodon:notifications"), FAST).await.expect("stream opens");
    assert_eq!(catch_up, CatchUp::All, "Mastodon cannot replay: every connection is followed by a poll from the cursor");
    let (mut tags, _) = w.source.open_stream(&plan(&w.source, "mastodon:tag:interjet"), FAST).await.expect("stream opens");
    assert!(streaming.subscriptions().iter().all(|r| !r.ends_with(" ws")), "SSE first: {:?}", streaming.subscriptions());

    let id = w.fake.post_status(&w.ana).text("@interjet me dejaron en tierra").mention(&w.brand).send();
    let page = next_post(&mut notes, Some("20")).await;
    assert_eq!(page.posts[0].platform_id, id);
    assert!(page.posts[0].addressed_to_token_account);
    let note_ids = w.fake.notification_ids();
    assert_eq!(page.cursor, *note_ids.last().unwrap(), "the cursor is the notification id, as a poll's");

    let tagged = w.fake.post_status(&w.ana).text("vuelo con #Interjet mañana").send();
    let page = next_post(&mut tags, None).await;
    assert_eq!(page.posts[0].platform_id, tagged);
    assert_eq!(page.cursor, tagged);
    assert_eq!(page.posts[0].author, format!("ana@{}", w.fake.host()));
}

#[tokio::test]
async fn an_instance_that_speaks_only_websocket_is_streamed_over_websocket() {
    let w = world(None).await;
    let streaming = w.fake.start_streaming(StreamingMode::WebSocketOnly).await;
    let (mut tags, _) = w.source.open_stream(&plan(&w.source, "mastodon:tag:interjet"), FAST).await.expect("stream opens");
    let subs = streaming.subscriptions();
    assert!(subs.last().unwrap().contains("stream=hashtag") && subs.last().unwrap().ends_with(" ws"), "{subs:?}");
    let tagged = w.fake.post_status(&w.ana).text("#interjet perdió mi maleta").send();
    assert_eq!(next_post(&mut tags, None).await.posts[0].platform_id, tagged);
}

#[tokio::test]
async fn an_instance_without_streaming_or_refusing_the_token_is_refused_so_the_daemon_polls() {
    let w = world(None).await;
    let streaming = w.fake.start_streaming(StreamingMode::Refused).await;
    match w.source.open_stream(&plan(&w.source, "mastodon:notifications"), FAST).await {
        Err(StreamError::Refused(m)) => assert!(m.contains("no streaming API"), "{m}"),
        other => panic!("want Refused, got {:?}", other.map(|_| ())),
    }
    streaming.set_mode(StreamingMode::Both);
    let bad = world(Some("revoked")).await;
    let _s = bad.fake.start_streaming(StreamingMode::Both).await;
    match bad.source.open_stream(&plan(&bad.source, "mastodon:notifications"), FAST).await {
        Err(StreamError::Refused(m)) => assert!(m.contains("401") && m.contains("Invalid access token"), "{m}"),
        other => panic!("want Refused, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn an_event_cut_by_a_dropped_connection_is_not_read_and_the_catch_up_poll_finds_it() {
    for mode in [StreamingMode::Both, StreamingMode::WebSocketOnly] {
        let w = world(None).await;
        let streaming = w.fake.start_streaming(mode).await;
        let p = plan(&w.source, "mastodon:notifications");
        let first = w.source.fetch(&p.query, None).await.unwrap();
        let (mut notes, _) = w.source.open_stream(&p, FAST).await.unwrap();
        streaming.trick(Trick::CutMidEvent);
        let id = w.fake.post_status(&w.ana).text("@interjet nadie contesta").mention(&w.brand).send();
        // The half event is never a page: the stream ends (or breaks).
        match tokio::time::timeout(Duration::from_secs(10), notes.next(Some(&first.cursor))).await.expect("the cut is noticed") {
            Ok(None) | Err(StreamError::Down(_)) => {}
            Ok(Some(page)) => panic!("{mode:?}: a half event became a page: {page:?}"),
            Err(e) => panic!("{mode:?}: want Down, got {e}"),
        }
        // What the daemon does next: reconnect, then poll from the cursor.
        let (_again, catch_up) = w.source.open_stream(&p, FAST).await.unwrap();
        assert_eq!(catch_up, CatchUp::All);
        let page = w.source.fetch(&p.query, Some(&first.cursor)).await.unwrap();
        assert_eq!(page.posts.iter().map(|p| p.platform_id.as_str()).collect::<Vec<_>>(), [id.as_str()], "{mode:?}");
    }
}

#[tokio::test]
async fn a_payload_that_is_not_json_and_an_oversized_event_are_skipped_and_the_next_event_is_read() {
    for mode in [StreamingMode::Both, StreamingMode::WebSocketOnly] {
        let w = world(None).await;
        let streaming = w.fake.start_streaming(mode).await;
        let (mut notes, _) = w.source.open_stream(&plan(&w.source, "mastodon:notifications"), FAST).await.unwrap();
        streaming.trick(Trick::Malformed);
        streaming.trick(Trick::Oversized(2 << 20));
        let a = w.fake.post_status(&w.ana).text("@interjet uno").mention(&w.brand).send();
        let b = w.fake.post_status(&w.ana).text("@interjet dos").mention(&w.brand).send();
        assert_eq!(next_post(&mut notes, None).await.posts[0].platform_id, a, "{mode:?}");
        assert_eq!(next_post(&mut notes, None).await.posts[0].platform_id, b, "{mode:?}");
    }
}

#[tokio::test]
async fn a_streaming_server_that_never_answers_gives_up_within_the_connect_timeout() {
    let w = world(None).await;
    let streaming = w.fake.start_streaming(StreamingMode::Both).await;
    streaming.set_silent(true);
    let started = Instant::now();
    match w.source.open_stream(&plan(&w.source, "mastodon:notifications"), FAST).await {
        Err(StreamError::Down(m)) => assert!(m.contains("timed out") || m.contains("within"), "{m}"),
        other => panic!("want Down, got {:?}", other.map(|_| ())),
    }
    assert!(started.elapsed() < Duration::from_secs(8), "took {:?}", started.elapsed());
    // A server that stops talking mid-stream is noticed after `idle`.
    streaming.set_silent(false);
    let (mut notes, _) = w
        .source
        .open_stream(&plan(&w.source, "mastodon:notifications"), Timeouts { connect: Duration::from_secs(1), idle: Duration::from_millis(300) })
        .await
        .unwrap();
    // The fake's heartbeat comes every second: longer than this idle limit.
    match notes.next(None).await {
        Err(StreamError::Down(m)) => assert!(m.contains("nothing received"), "{m}"),
        other => panic!("want Down, got {other:?}"),
    }
}
