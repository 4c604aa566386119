//! The YouTube source against a fake Data API v3 over real HTTP: the
//! request it sends, threads and the channel's replies, paging, the daily
//! quota (planned interval, exhaustion until midnight Pacific Time), a
//! refused key and a refused page token. Built from a config.

#[path = "support/fake_youtube.rs"]
mod fake_youtube;

use escucha::config::{load_str, Env};
use escucha::model::{Platform, Post};
use escucha::sources::{Page, Query, Source, SourceError};
use fake_youtube::{FakeYouTube, KEY};
use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

const CHANNEL: &str = "UCInt3rjetCanalOficial01";
const THREADS: &str = "youtube:threads:interjet";

fn source(fake: &FakeYouTube, extra: &str) -> Source {
    let toml = format!(
        "[daemon]\ndatabase = \"escucha.db\"\n\n[[brand]]\nid = \"interjet\"\n\n[brand.accounts]\nyoutube = \"{CHANNEL}\"\n\n\
         [source.youtube]\napi_base = \"{}\"\napi_key_env = \"YOUTUBE_API_KEY\"\n{extra}\n",
        fake.base_url()
    );
    let cfg = load_str(&toml, Path::new("/tmp/escucha.toml"), &Env::empty().with("YOUTUBE_API_KEY", KEY)).unwrap_or_else(|e| panic!("{e}"));
    escucha::daemon::sources(&cfg).into_iter().find(|s| s.platform() == Platform::YouTube).expect("a youtube source")
}

fn query(s: &Source) -> Query {
    s.queries().into_iter().find(|q| q.key == THREADS).unwrap()
}

async fn fetch(s: &Source, cursor: Option<&str>) -> Page {
    s.fetch(&query(s), cursor).await.unwrap_or_else(|e| panic!("fetch: {e}"))
}

async fn poll(s: &Source, cursor: &str) -> (Vec<Post>, String, usize) {
    let (mut cursor, mut posts) = (cursor.to_string(), Vec::new());
    for pages in 1..100 {
        let page = fetch(s, Some(&cursor)).await;
        posts.extend(page.posts);
        cursor = page.cursor;
        if !page.more {
            return (posts, cursor, pages);
        }
    }
    panic!("paging never ends");
}

#[tokio::test]
async fn the_channels_threads_are_read_newest_first_with_replies_and_the_channels_answer() {
    let fake = FakeYouTube::start().await;
    let old = fake.comment(CHANNEL, ("UCfan1", "Pepe"), "Perdieron mi maleta y nadie responde", 3600);
    let s = source(&fake, "");
    let first = fetch(&s, None).await;
    assert_eq!(first.posts.len(), 1);
    assert!(!first.more);
    let c = &first.posts[0];
    assert_eq!((c.platform, c.platform_id.as_str(), c.author_id.as_str()), (Platform::YouTube, old.as_str(), "UCfan1"));
    assert_eq!(c.url, format!("https://www.youtube.com/watch?v=dmlkZW8xVUN&lc={old}"));
    let req = &fake.requests()[0];
    let p = |n: &str| req.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    assert_eq!(p("allThreadsRelatedToChannelId"), Some(CHANNEL));
    assert_eq!(p("order"), Some("time"));
    assert_eq!(p("part"), Some("snippet,replies"));
    assert_eq!(p("key"), Some(KEY));

    // The channel answers the old thread; someone else answers too.
    let answer = fake.reply(&old, (CHANNEL, "Interjet"), "Lo sentimos, escríbenos por DM");
    let other = fake.reply(&old, ("UCfan2", "Luis"), "A mí también & peor");
    let (posts, _, _) = poll(&s, &first.cursor).await;
    let ids: Vec<&str> = posts.iter().map(|p| p.platform_id.as_str()).collect();
    assert!(!ids.contains(&old.as_str()), "the old comment is not news again");
    let a = posts.iter().find(|p| p.platform_id == answer).expect("the channel's reply is read on its old thread");
    assert_eq!(a.author_id, CHANNEL);
    assert_eq!(a.in_reply_to_id.as_deref(), Some(old.as_str()));
    let o = posts.iter().find(|p| p.platform_id == other).unwrap();
    assert_eq!(o.author_id, "UCfan2");
    assert_eq!(o.text, "A mí también & peor", "plain text, not HTML");
}

#[tokio::test]
async fn replies_beyond_those_a_thread_includes_are_listed_with_comments_list() {
    let fake = FakeYouTube::start().await;
    let thread = fake.comment(CHANNEL, ("UCfan1", "Pepe"), "Perdieron mi maleta y nadie responde", 600);
    let s = source(&fake, "");
    let first = fetch(&s, None).await;
    let others: Vec<String> = (0..fake_youtube::INCLUDED_REPLIES).map(|i| fake.reply(&thread, (&format!("UCo{i}"), "otro"), "igual")).collect();
    let answer = fake.reply(&thread, (CHANNEL, "Interjet"), "Lo sentimos, escríbenos por DM");
    let (posts, cursor, pages) = poll(&s, &first.cursor).await;
    assert_eq!(pages, 2, "the threads, then the thread's replies");
    let a = posts.iter().find(|p| p.platform_id == answer).expect("the sixth reply, beyond those included");
    assert_eq!((a.author_id.as_str(), a.in_reply_to_id.as_deref()), (CHANNEL, Some(thread.as_str())));
    assert_eq!(a.in_reply_to_author_id.as_deref(), Some("UCfan1"));
    let ids: Vec<&str> = posts.iter().map(|p| p.platform_id.as_str()).collect();
    assert!(others.iter().all(|o| ids.contains(&o.as_str())));
    let req = fake.requests().pop().unwrap();
    assert!(req.contains(&("parentId".to_string(), thread.clone())));
    // Unchanged since: the replies are not listed again.
    let before = fake.units_used();
    let (_, _, pages) = poll(&s, &cursor).await;
    assert_eq!((pages, fake.units_used()), (1, before + 1));
}

#[tokio::test]
async fn many_threads_are_paged_and_each_read_once() {
    let fake = FakeYouTube::start().await;
    let s = source(&fake, "");
    let first = fetch(&s, None).await;
    let ids: Vec<String> = (0..250).map(|i| fake.comment(CHANNEL, (&format!("UCf{i}"), "fan"), &format!("hola {i}"), 0)).collect();
    let (posts, cursor, pages) = poll(&s, &first.cursor).await;
    assert_eq!(pages, 3, "100 + 100 + 50");
    let got: HashSet<&str> = posts.iter().map(|p| p.platform_id.as_str()).collect();
    assert_eq!(got.len(), posts.len());
    assert!(ids.iter().all(|i| got.contains(i.as_str())));
    assert_eq!(fake.units_used(), 4, "one unit a page");
    // The interval is planned from what a round costs.
    if let Source::YouTube(y) = &s {
        assert_eq!(y.units_per_round(), 3);
    }
    let _ = cursor;
}

#[tokio::test]
async fn polling_is_planned_within_the_daily_quota_and_stops_when_it_is_spent() {
    let fake = FakeYouTube::start().await;
    fake.comment(CHANNEL, ("UCfan1", "Pepe"), "hola", 60);
    // 1440 units a day: one round a minute at most.
    let s = source(&fake, "every = \"10s\"\ndaily_quota = 1440");
    assert_eq!(s.every(), Duration::from_secs(60));
    let first = fetch(&s, None).await;

    // The project's real quota is smaller than configured: YouTube says so.
    fake.set_quota(1);
    match s.fetch(&query(&s), Some(&first.cursor)).await {
        Err(SourceError::RateLimited { until: Some(u) }) => {
            let pt = u.with_timezone(&chrono_tz::America::Los_Angeles);
            assert_eq!(pt.format("%H:%M:%S").to_string(), "00:00:00", "the quota resets at midnight Pacific Time: {u}");
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    let sent = fake.requests().len();
    assert!(matches!(s.fetch(&query(&s), Some(&first.cursor)).await, Err(SourceError::RateLimited { .. })));
    assert_eq!(fake.requests().len(), sent, "no request until the reset");
    assert!(s.not_before().is_some());
}

#[tokio::test]
async fn the_configured_daily_quota_is_never_exceeded_by_the_source_itself() {
    let fake = FakeYouTube::start().await;
    let s = source(&fake, "daily_quota = 3");
    let mut cursor = fetch(&s, None).await.cursor;
    for _ in 0..2 {
        cursor = fetch(&s, Some(&cursor)).await.cursor;
    }
    assert!(matches!(s.fetch(&query(&s), Some(&cursor)).await, Err(SourceError::RateLimited { .. })));
    assert_eq!(fake.units_used(), 3);
}

#[tokio::test]
async fn a_refused_key_names_the_key_to_fix() {
    let fake = FakeYouTube::start().await;
    fake.revoke_key();
    let s = source(&fake, "");
    match s.fetch(&query(&s), None).await {
        Err(SourceError::Unauthorized(m)) => {
            assert!(m.contains("[source.youtube] api_key_env") && m.contains("API key not valid"), "{m}");
            assert!(!m.contains(KEY));
        }
        other => panic!("{other:?}"),
    }
    let probe = s.probe().await.unwrap();
    assert!(probe[0].1.is_err());
}

#[tokio::test]
async fn a_deleted_thread_and_a_stale_page_token_end_the_poll_cleanly() {
    let fake = FakeYouTube::start().await;
    let s = source(&fake, "");
    let first = fetch(&s, None).await;
    let ids: Vec<String> = (0..150).map(|i| fake.comment(CHANNEL, (&format!("UCf{i}"), "fan"), &format!("hola {i}"), 0)).collect();
    let page = fetch(&s, Some(&first.cursor)).await;
    assert!(page.more);
    // Threads disappear: the page token now points past the end.
    for id in &ids {
        fake.delete(id);
    }
    let end = fetch(&s, Some(&page.cursor)).await;
    assert!(!end.more, "a refused page token ends the poll");
    let again = fetch(&s, Some(&end.cursor)).await;
    assert!(again.posts.is_empty() && !again.more);
}
