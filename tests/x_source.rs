//! Drives the X source against the fake X server: cursors across polls and
//! pages (including a crash between pages), the tweet-to-post mapping, and
//! every failure the scheduler must tell apart.

#[path = "support/fake_x.rs"]
mod fake_x;

use chrono::{Duration as ChronoDuration, Utc};
use escucha::config::{Accounts, Brand, Escalate, RespondWithin, Schedule, Secret, XSource as XConfig};
use escucha::model::{Platform, Post};
use escucha::sources::x::{Cursor, XSource};
use escucha::sources::{Page, Query, QueryKind, SourceError};
use fake_x::{Failure, FakeX, NewTweet, DEFAULT_TOKEN, SEARCH_PATH};
use std::collections::HashSet;
use std::time::Duration;

fn brand(id: &str, terms: &[&str], x: Option<&str>) -> Brand {
    Brand {
        id: id.to_string(),
        name: id.to_string(),
        terms: terms.iter().map(|t| t.to_string()).collect(),
        exclude: vec![],
        executives: vec![],
        respond_within: RespondWithin { complaint: Duration::from_secs(1800), escalation: Duration::from_secs(600) },
        oncall: None,
        accounts: Accounts { x: x.map(str::to_string), ..Accounts::default() },
        escalate: Escalate::default(),
        backfill: Duration::ZERO,
        timezone: chrono_tz::UTC,
        business_hours: None,
        holidays: vec![],
        classify: Default::default(),
    }
}

fn config(base: &str, token: &str) -> XConfig {
    XConfig {
        api_base: base.to_string(),
        bearer_token: Secret::new(token),
        schedule: Schedule { every: Duration::from_secs(60), unhealthy_after: Duration::from_secs(1800), expect_within: None },
    }
}

/// A source for one brand "interjet" (term + X account) and its query.
fn source_for(fake: &FakeX) -> (XSource, Query) {
    let src = XSource::new(&config(&fake.base_url(), DEFAULT_TOKEN), &[brand("interjet", &["interjet"], Some("Interjet_mx"))]);
    let q = src.queries().pop().expect("one query");
    (src, q)
}

fn ids(page: &Page) -> Vec<String> {
    page.posts.iter().map(|p| p.platform_id.clone()).collect()
}

fn since_id(page: &Page) -> Option<String> {
    Cursor::parse(&page.cursor).expect("our cursor").since_id
}

/// Adds `n` tweets and returns their ids, oldest first.
fn add_many(fake: &FakeX, n: usize) -> Vec<String> {
    (0..n).map(|i| fake.add_tweet(NewTweet::new(&format!("user{}", i % 7), &format!("interjet vuelo {i}")))).collect()
}

/// Polls like the daemon: fetch pages until `more` is false, committing
/// each page's cursor. Returns the posts and the committed cursor.
async fn poll(src: &XSource, q: &Query, cursor: Option<String>) -> (Vec<Post>, String) {
    let mut cursor = cursor;
    let mut posts = Vec::new();
    for _ in 0..50 {
        let page = src.fetch(q, cursor.as_deref()).await.expect("fetch");
        posts.extend(page.posts);
        cursor = Some(page.cursor);
        if !page.more {
            return (posts, cursor.unwrap());
        }
    }
    panic!("pagination never ended");
}

#[test]
fn queries_are_one_search_per_brand_with_something_to_search() {
    let brands =
        [brand("interjet", &["interjet", "Interjet México"], Some("Interjet_mx")), brand("silent", &[], None), brand("acme", &[], Some("@AcmeCoffee"))];
    let src = XSource::new(&config("http://127.0.0.1:9", "t"), &brands);
    let qs = src.queries();
    assert_eq!(qs.len(), 2);
    assert_eq!(qs[0].key, "x:search:interjet");
    assert_eq!(qs[0].brands, vec!["interjet".to_string()]);
    assert_eq!(qs[0].kind, QueryKind::XSearch { query: "(@Interjet_mx OR from:Interjet_mx OR interjet OR \"Interjet México\") -is:retweet".into() });
    assert_eq!(qs[1].key, "x:search:acme");
    assert_eq!(qs[1].kind, QueryKind::XSearch { query: "(@AcmeCoffee OR from:AcmeCoffee) -is:retweet".into() });
    assert_eq!(src.every(), Duration::from_secs(60));
}

#[tokio::test]
async fn first_poll_reads_only_the_newest_page_and_sets_the_cursor() {
    let fake = FakeX::start().await;
    let added = add_many(&fake, 150);
    let (src, q) = source_for(&fake);

    let page = src.fetch(&q, None).await.unwrap();

    assert!(!page.more, "a first poll never paginates");
    assert_eq!(page.posts.len(), 100);
    let newest_first: Vec<String> = added.iter().rev().take(100).cloned().collect();
    assert_eq!(ids(&page), newest_first);
    assert_eq!(since_id(&page).as_deref(), Some(added.last().unwrap().as_str()));

    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.path, SEARCH_PATH);
    assert!(r.authorized);
    assert_eq!(r.param("query"), Some("(@Interjet_mx OR from:Interjet_mx OR interjet) -is:retweet"));
    assert_eq!(r.param("max_results"), Some("100"));
    assert_eq!(r.param("since_id"), None);
    assert_eq!(r.param("next_token"), None);
    assert_eq!(r.param("expansions"), Some("author_id,in_reply_to_user_id,entities.mentions.username"));
    assert_eq!(r.param("user.fields"), Some("public_metrics,username"));
    let fields: HashSet<&str> = r.param("tweet.fields").unwrap().split(',').collect();
    for f in ["created_at", "lang", "conversation_id", "in_reply_to_user_id", "referenced_tweets", "public_metrics", "author_id", "entities", "note_tweet"] {
        assert!(fields.contains(f), "tweet.fields lacks {f}");
    }
}

#[tokio::test]
async fn first_poll_with_no_results_leaves_no_since_id_and_the_next_poll_reads_what_came() {
    let fake = FakeX::start().await;
    let (src, q) = source_for(&fake);
    let first = src.fetch(&q, None).await.unwrap();
    assert!(first.posts.is_empty());
    assert_eq!(since_id(&first), None);

    let added = add_many(&fake, 3);
    let (posts, cursor) = poll(&src, &q, Some(first.cursor)).await;
    assert_eq!(posts.len(), 3);
    assert_eq!(Cursor::parse(&cursor).unwrap().since_id.as_deref(), Some(added[2].as_str()));
}

#[tokio::test]
async fn second_poll_with_nothing_new_sends_exactly_one_request_with_since_id() {
    let fake = FakeX::start().await;
    add_many(&fake, 5);
    let (src, q) = source_for(&fake);
    let first = src.fetch(&q, None).await.unwrap();
    let newest = since_id(&first).unwrap();
    fake.clear_requests();

    let second = src.fetch(&q, Some(&first.cursor)).await.unwrap();

    assert!(second.posts.is_empty());
    assert!(!second.more);
    assert_eq!(since_id(&second).as_deref(), Some(newest.as_str()), "an empty result keeps the since_id");
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].param("since_id"), Some(newest.as_str()));
}

#[tokio::test]
async fn new_tweets_are_read_once_across_polls() {
    let fake = FakeX::start().await;
    add_many(&fake, 2);
    let (src, q) = source_for(&fake);
    let first = src.fetch(&q, None).await.unwrap();

    let fresh = add_many(&fake, 3);
    let (posts, cursor) = poll(&src, &q, Some(first.cursor)).await;
    let got: Vec<String> = posts.iter().map(|p| p.platform_id.clone()).collect();
    assert_eq!(got, fresh.iter().rev().cloned().collect::<Vec<_>>());

    let (again, _) = poll(&src, &q, Some(cursor)).await;
    assert!(again.is_empty());
}

#[tokio::test]
async fn pagination_keeps_since_id_and_the_next_poll_starts_at_the_first_pages_newest_id() {
    let fake = FakeX::start().await;
    add_many(&fake, 1);
    let (src, q) = source_for(&fake);
    let first = src.fetch(&q, None).await.unwrap();
    let old_since = since_id(&first).unwrap();
    let burst = add_many(&fake, 250);
    fake.clear_requests();

    let p1 = src.fetch(&q, Some(&first.cursor)).await.unwrap();
    assert!(p1.more);
    assert_eq!(p1.posts.len(), 100);
    let c1 = Cursor::parse(&p1.cursor).unwrap();
    assert_eq!(c1.since_id.as_deref(), Some(old_since.as_str()), "since_id unchanged until the last page");
    assert_eq!(c1.pending_newest.as_deref(), Some(burst.last().unwrap().as_str()));
    let p2 = src.fetch(&q, Some(&p1.cursor)).await.unwrap();
    assert!(p2.more);
    let p3 = src.fetch(&q, Some(&p2.cursor)).await.unwrap();
    assert!(!p3.more);
    assert_eq!(p3.posts.len(), 50);
    assert_eq!(since_id(&p3).as_deref(), Some(burst.last().unwrap().as_str()));

    let reqs = fake.requests();
    assert_eq!(reqs.len(), 3);
    assert!(reqs.iter().all(|r| r.param("since_id") == Some(old_since.as_str())));
    assert_eq!(reqs[0].param("next_token"), None);
    assert_eq!(reqs[1].param("next_token"), c1.next_token.as_deref());
    assert!(reqs[2].param("next_token").is_some());

    let all: HashSet<String> = [&p1, &p2, &p3].iter().flat_map(|p| ids(p)).collect();
    assert_eq!(all, burst.into_iter().collect::<HashSet<_>>());
}

#[tokio::test]
async fn resuming_from_a_mid_pagination_cursor_after_a_crash_skips_nothing_and_repeats_nothing() {
    let fake = FakeX::start().await;
    add_many(&fake, 1);
    let (src, q) = source_for(&fake);
    let first = src.fetch(&q, None).await.unwrap();
    let burst = add_many(&fake, 230);

    // Page 1 is committed with its cursor.
    let p1 = src.fetch(&q, Some(&first.cursor)).await.unwrap();
    assert!(p1.more);
    let mut committed: Vec<String> = ids(&p1);
    let stored_cursor = p1.cursor.clone();
    // Page 2 is fetched, then the process dies before committing it.
    let lost = src.fetch(&q, Some(&stored_cursor)).await.unwrap();
    assert!(lost.more);
    // Tweets keep arriving while the daemon is down.
    let during = add_many(&fake, 4);

    // A new process: a new source reading the stored cursor.
    let (src2, q2) = source_for(&fake);
    let resumed = src2.fetch(&q2, Some(&stored_cursor)).await.unwrap();
    assert_eq!(ids(&resumed), ids(&lost), "the same next_token gives the same page");
    committed.extend(ids(&resumed));
    let (rest, cursor) = poll(&src2, &q2, Some(resumed.cursor)).await;
    committed.extend(rest.iter().map(|p| p.platform_id.clone()));
    let (next_poll, _) = poll(&src2, &q2, Some(cursor)).await;
    committed.extend(next_poll.iter().map(|p| p.platform_id.clone()));

    let unique: HashSet<&String> = committed.iter().collect();
    assert_eq!(unique.len(), committed.len(), "no duplicates");
    let expected: HashSet<&String> = burst.iter().chain(during.iter()).collect();
    assert_eq!(unique, expected, "nothing skipped");
}

#[tokio::test]
async fn followers_reply_linkage_and_mentions_are_mapped_and_retweets_skipped() {
    let fake = FakeX::start().await;
    let (src, q) = source_for(&fake);
    let complaint = fake
        .add_tweet(NewTweet::new("Ana_Viaja", "@Interjet_mx llevo 3 horas &amp; nadie responde").followers(12_000).lang(Some("es")).retweets(40).quotes(15));
    let answer = fake.add_tweet(NewTweet::new("Interjet_mx", "@Ana_Viaja lo sentimos, te escribimos por DM").reply_to(&complaint));
    let rt = fake.add_tweet(NewTweet::new("bot", "RT @Ana_Viaja: @Interjet_mx llevo 3 horas").retweet_of(&complaint));
    let long = fake.add_tweet(NewTweet::new("pepe", "interjet es…").note_text("interjet es la mejor aerolínea, de verdad").lang(Some("und")));

    let page = src.fetch(&q, None).await.unwrap();
    let by_id = |id: &str| page.posts.iter().find(|p| p.platform_id == id).cloned();
    assert!(by_id(&rt).is_none(), "retweets are skipped");
    assert_eq!(page.posts.len(), 3);

    let c = by_id(&complaint).unwrap();
    assert_eq!(c.platform, Platform::X);
    assert_eq!(c.author, "ana_viaja");
    assert_eq!(c.author_id, fake.user_id("Ana_Viaja"));
    assert_eq!(c.author_followers, Some(12_000));
    assert_eq!(c.url, format!("https://x.com/Ana_Viaja/status/{complaint}"));
    assert_eq!(c.text, "@Interjet_mx llevo 3 horas & nadie responde");
    assert_eq!(c.lang.as_deref(), Some("es"));
    assert_eq!(c.mentions, vec!["interjet_mx".to_string()]);
    assert_eq!(c.reposts, 55);
    assert_eq!(c.in_reply_to_id, None);
    assert_eq!(c.conversation_id.as_deref(), Some(complaint.as_str()));
    let stored = fake.tweet(&complaint).unwrap();
    assert!((c.created_at - stored.created_at).num_milliseconds().abs() < 1);

    let a = by_id(&answer).unwrap();
    assert_eq!(a.author, "interjet_mx");
    assert_eq!(a.in_reply_to_id.as_deref(), Some(complaint.as_str()));
    assert_eq!(a.in_reply_to_author_id, Some(fake.user_id("Ana_Viaja")));
    assert_eq!(a.in_reply_to_author.as_deref(), Some("ana_viaja"));
    assert_eq!(a.conversation_id.as_deref(), Some(complaint.as_str()));
    assert!(!a.addressed_to_token_account);

    let l = by_id(&long).unwrap();
    assert_eq!(l.text, "interjet es la mejor aerolínea, de verdad");
    assert_eq!(l.lang, None);
}

#[tokio::test]
async fn a_refused_token_is_unauthorized_with_a_message_saying_what_to_fix() {
    let fake = FakeX::start().await;
    fake.set_token("the-right-token");
    let (src, q) = source_for(&fake);
    let err = src.fetch(&q, None).await.unwrap_err();
    let SourceError::Unauthorized(msg) = err else { panic!("expected Unauthorized, got {err:?}") };
    assert!(msg.contains("401"), "{msg}");
    assert!(msg.contains("bearer_token_env"), "{msg}");
    assert!(msg.contains("/2/tweets/search/recent"), "{msg}");
    assert!(!msg.contains(DEFAULT_TOKEN), "the token never appears in messages");

    // 403 (an app not allowed this endpoint) is the same kind of problem.
    fake.set_token(DEFAULT_TOKEN);
    fake.fail_next(Failure::ServerError(403));
    let err = src.fetch(&q, None).await.unwrap_err();
    assert!(matches!(err, SourceError::Unauthorized(ref m) if m.contains("403") && m.contains("bearer_token_file")), "{err:?}");
}

#[tokio::test]
async fn a_429_is_rate_limited_until_the_reset_header() {
    let fake = FakeX::start().await;
    let (src, q) = source_for(&fake);
    fake.fail_next(Failure::RateLimited { reset_in_secs: 120 });
    let before = Utc::now();
    let err = src.fetch(&q, None).await.unwrap_err();
    let SourceError::RateLimited { until: Some(until) } = err else { panic!("expected RateLimited with a time, got {err:?}") };
    let expected = before + ChronoDuration::seconds(120);
    assert!((until - expected).num_seconds().abs() <= 2, "until {until}, expected about {expected}");
    assert_eq!(src.http().not_before(), Some(until));
}

#[tokio::test]
async fn a_spent_window_shows_in_not_before_before_any_429() {
    let fake = FakeX::start().await;
    fake.set_rate_limit(2);
    let (src, q) = source_for(&fake);
    let first = src.fetch(&q, None).await.unwrap();
    assert_eq!(src.http().not_before(), None);
    src.fetch(&q, Some(&first.cursor)).await.unwrap();
    let nb = src.http().not_before().expect("remaining 0 sets not_before");
    assert!(nb > Utc::now() + ChronoDuration::minutes(14));
    // Polling anyway gets the 429, with the same reset.
    let err = src.fetch(&q, Some(&first.cursor)).await.unwrap_err();
    assert!(matches!(err, SourceError::RateLimited { until: Some(u) } if u == nb), "{err:?}");
}

#[tokio::test]
async fn a_429_without_headers_is_still_rate_limited() {
    let fake = FakeX::start().await;
    let (src, q) = source_for(&fake);
    fake.fail_next(Failure::RateLimitedNoHeaders);
    let err = src.fetch(&q, None).await.unwrap_err();
    assert!(matches!(err, SourceError::RateLimited { until: None }), "{err:?}");
    assert!(src.http().not_before().is_some(), "Http falls back to a pause of its own");
}

#[tokio::test]
async fn a_usage_cap_pauses_for_an_hour_whatever_the_headers_say() {
    let fake = FakeX::start().await;
    let (src, q) = source_for(&fake);
    fake.fail_next(Failure::UsageCapped);
    let err = src.fetch(&q, None).await.unwrap_err();
    let SourceError::RateLimited { until: Some(until) } = err else { panic!("expected RateLimited, got {err:?}") };
    assert!(until >= Utc::now() + ChronoDuration::minutes(59), "{until}");
}

#[tokio::test]
async fn server_errors_are_transient() {
    let fake = FakeX::start().await;
    let (src, q) = source_for(&fake);
    fake.fail_next(Failure::ServerError(500));
    fake.fail_next(Failure::Unavailable { retry_after: 30 });
    let e1 = src.fetch(&q, None).await.unwrap_err();
    assert!(matches!(e1, SourceError::Transient(ref m) if m.contains("500")), "{e1:?}");
    let e2 = src.fetch(&q, None).await.unwrap_err();
    assert!(matches!(e2, SourceError::Transient(ref m) if m.contains("503")), "{e2:?}");
    // The failures are spent: the next fetch works.
    assert!(src.fetch(&q, None).await.is_ok());
}

#[tokio::test]
async fn unreadable_bodies_are_malformed_and_the_cursor_still_works_afterwards() {
    let fake = FakeX::start().await;
    let added = add_many(&fake, 2);
    let (src, q) = source_for(&fake);
    let first = src.fetch(&q, None).await.unwrap();
    let fresh = add_many(&fake, 1);
    let cases = [(Failure::MalformedJson, "cannot parse response"), (Failure::HtmlErrorPage, "<!DOCTYPE html>"), (Failure::TruncatedBody, "cut short")];
    for (failure, says) in cases {
        fake.fail_next(failure.clone());
        let err = src.fetch(&q, Some(&first.cursor)).await.unwrap_err();
        assert!(matches!(err, SourceError::Malformed(ref m) if m.contains(says)), "{failure:?} gave {err:?}");
    }
    let page = src.fetch(&q, Some(&first.cursor)).await.unwrap();
    assert_eq!(ids(&page), fresh);
    assert_ne!(since_id(&page).as_deref(), Some(added[1].as_str()));
}

#[tokio::test]
async fn a_since_id_older_than_seven_days_is_dropped_and_the_poll_recovers() {
    let fake = FakeX::start().await;
    let (src, q) = source_for(&fake);
    let stale = Cursor { since_id: Some("1212092628029698048".into()), ..Cursor::default() }.encode();
    let added = add_many(&fake, 3);

    let page = src.fetch(&q, Some(&stale)).await.unwrap();

    assert_eq!(ids(&page), added.iter().rev().cloned().collect::<Vec<_>>());
    assert_eq!(since_id(&page).as_deref(), Some(added[2].as_str()));
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2, "one refused request, one re-fetch");
    assert_eq!(reqs[0].param("since_id"), Some("1212092628029698048"));
    assert_eq!(reqs[1].param("since_id"), None);
}

#[tokio::test]
async fn a_since_id_too_old_mid_pagination_reads_the_whole_window_again() {
    let fake = FakeX::start().await;
    let (src, q) = source_for(&fake);
    let stale = Cursor {
        since_id: Some("1212092628029698048".into()),
        next_token: Some("b26v89c19zqg8o3f1".into()),
        pending_newest: Some("1212092628029698999".into()),
    }
    .encode();
    let added = add_many(&fake, 120);
    let (posts, cursor) = poll(&src, &q, Some(stale)).await;
    assert_eq!(posts.len(), 120);
    assert_eq!(Cursor::parse(&cursor).unwrap().since_id.as_deref(), Some(added.last().unwrap().as_str()));
}

#[tokio::test]
async fn other_400s_are_malformed_with_the_platforms_explanation() {
    let fake = FakeX::start().await;
    let (src, _) = source_for(&fake);
    let bad = Query { exclusive: false, key: "x:search:bad".into(), brands: vec!["interjet".into()], kind: QueryKind::XSearch { query: String::new() } };
    let err = src.fetch(&bad, None).await.unwrap_err();
    let SourceError::Malformed(msg) = err else { panic!("expected Malformed, got {err:?}") };
    assert!(msg.contains("The `query` query parameter can not be empty"), "{msg}");
}

// ---- the fake itself behaves as documented ----

async fn raw_get(fake: &FakeX, query: &str, token: &str) -> reqwest::Response {
    reqwest::Client::new().get(format!("{}{SEARCH_PATH}?{query}", fake.base_url())).bearer_auth(token).send().await.unwrap()
}

async fn json(r: reqwest::Response) -> serde_json::Value {
    serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
}

#[tokio::test]
async fn fake_answers_an_empty_search_with_meta_only_and_rate_headers() {
    let fake = FakeX::start().await;
    let r = raw_get(&fake, "query=acme", DEFAULT_TOKEN).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json; charset=utf-8");
    assert_eq!(r.headers()["x-rate-limit-limit"], "450");
    assert_eq!(r.headers()["x-rate-limit-remaining"], "449");
    let reset: i64 = r.headers()["x-rate-limit-reset"].to_str().unwrap().parse().unwrap();
    assert!(reset > Utc::now().timestamp());
    assert_eq!(r.text().await.unwrap(), r#"{"meta":{"result_count":0}}"#);
    let r2 = raw_get(&fake, "query=acme", DEFAULT_TOKEN).await;
    assert_eq!(r2.headers()["x-rate-limit-remaining"], "448");
}

#[tokio::test]
async fn fake_rejects_unknown_parameters_and_out_of_range_page_sizes_like_x() {
    let fake = FakeX::start().await;
    let r = raw_get(&fake, "query=acme&previous_token=abc", DEFAULT_TOKEN).await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let body = json(r).await;
    assert_eq!(body["type"], "https://api.twitter.com/2/problems/invalid-request");
    assert_eq!(body["errors"][0]["parameters"]["previous_token"][0], "abc");
    assert!(body["errors"][0]["message"].as_str().unwrap().starts_with("The query parameter [previous_token] is not one of [query,"));

    let r = raw_get(&fake, "query=acme&max_results=5", DEFAULT_TOKEN).await;
    assert_eq!(r.status(), 400);
    let body = json(r).await;
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("not between 10 and 100"));
}

#[tokio::test]
async fn fake_honours_max_results_and_omits_fields_nobody_asked_for() {
    let fake = FakeX::start().await;
    let added = add_many(&fake, 12);
    let r = raw_get(&fake, "query=acme", DEFAULT_TOKEN).await;
    let body = json(r).await;
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), 10, "default page size");
    assert_eq!(data[0]["id"], added[11].as_str());
    assert!(data[0].get("author_id").is_none() && data[0].get("created_at").is_none());
    assert!(body.get("includes").is_none());
    let token = body["meta"]["next_token"].as_str().unwrap().to_string();
    let r = raw_get(&fake, &format!("query=acme&next_token={token}"), DEFAULT_TOKEN).await;
    let page2 = json(r).await;
    assert_eq!(page2["meta"]["result_count"], 2);
    assert!(page2["meta"].get("next_token").is_none(), "no token on the last page");
    assert_eq!(page2["meta"]["oldest_id"], added[0].as_str());
}

#[tokio::test]
async fn fake_timeout_delays_the_answer() {
    let fake = FakeX::start().await;
    fake.fail_next(Failure::Timeout(Duration::from_secs(5)));
    let client = reqwest::Client::builder().timeout(Duration::from_millis(200)).build().unwrap();
    let err = client.get(format!("{}{SEARCH_PATH}?query=a", fake.base_url())).bearer_auth(DEFAULT_TOKEN).send().await.unwrap_err();
    assert!(err.is_timeout());
}
