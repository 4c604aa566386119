//! Drives the Reddit source against the fake Reddit: the app token and its
//! renewal, cursors across polls, pages and a restart between pages, late
//! search indexing, the brand's replies, and every failure the scheduler
//! must tell apart.

#[path = "support/fake_reddit.rs"]
mod fake_reddit;

use chrono::{Duration as ChronoDuration, Utc};
use escucha::config::{Accounts, Brand, Escalate, RedditSource as RedditConfig, RespondWithin, Schedule, Secret};
use escucha::model::{ConversationRoot, Platform, Post};
use escucha::sources::reddit::{Cursor, RedditSource, LIMIT};
use escucha::sources::{Page, Query, QueryKind, SourceError};
use fake_reddit::{Failure, FakeReddit, NewPost, CLIENT_ID, CLIENT_SECRET, TOKEN_PATH, USER_AGENT};
use std::collections::HashSet;
use std::time::Duration;

fn brand(id: &str, terms: &[&str], reddit: Option<&str>) -> Brand {
    Brand {
        id: id.to_string(),
        name: id.to_string(),
        terms: terms.iter().map(|t| t.to_string()).collect(),
        exclude: vec![],
        executives: vec![],
        respond_within: RespondWithin { complaint: Duration::from_secs(1800), escalation: Duration::from_secs(600) },
        oncall: None,
        accounts: Accounts { reddit: reddit.map(str::to_string), ..Accounts::default() },
        escalate: Escalate::default(),
        backfill: Duration::ZERO,
        timezone: chrono_tz::UTC,
        business_hours: None,
        holidays: vec![],
        classify: Default::default(),
    }
}

fn config(fake: &FakeReddit, secret: &str) -> RedditConfig {
    RedditConfig {
        api_base: fake.api_base(),
        token_url: fake.token_url(),
        client_id: Secret::new(CLIENT_ID),
        client_secret: Secret::new(secret),
        user_agent: USER_AGENT.to_string(),
        schedule: Schedule { every: Duration::from_secs(60), unhealthy_after: Duration::from_secs(1800), expect_within: None },
        follow_threads: Duration::ZERO,
        subreddits: vec![],
        user: None,
    }
}

fn interjet() -> Brand {
    brand("interjet", &["interjet"], Some("interjet_care"))
}

/// A source for brand "interjet" and its (search, account) queries.
fn source_for(fake: &FakeReddit) -> (RedditSource, Query, Query) {
    let src = RedditSource::new(&config(fake, CLIENT_SECRET), &[interjet()]);
    let qs = src.queries();
    let search = qs.iter().find(|q| q.key == "reddit:search:interjet").cloned().expect("search query");
    let account = qs.iter().find(|q| q.key == "reddit:account:interjet").cloned().expect("account query");
    (src, search, account)
}

fn ids(posts: &[Post]) -> Vec<String> {
    posts.iter().map(|p| p.platform_id.clone()).collect()
}

/// Polls like the daemon: pages until `more` is false. Returns the posts,
/// the last cursor and how many pages it took.
async fn poll(src: &RedditSource, q: &Query, cursor: Option<String>) -> (Vec<Post>, String, usize) {
    let mut cursor = cursor;
    let mut posts = Vec::new();
    for pages in 1..50 {
        let page = src.fetch(q, cursor.as_deref()).await.expect("fetch");
        posts.extend(page.posts);
        cursor = Some(page.cursor);
        if !page.more {
            return (posts, cursor.unwrap(), pages);
        }
    }
    panic!("pagination never ended");
}

fn add_posts(fake: &FakeReddit, n: usize, base: chrono::DateTime<Utc>) -> Vec<String> {
    (0..n)
        .map(|i| fake.add_post(NewPost::new(&format!("user{}", i % 7), &format!("Interjet vuelo {i}"), "").at(base + ChronoDuration::seconds(i as i64))))
        .collect()
}

#[test]
fn queries_are_a_search_per_brand_with_terms_and_a_comment_read_per_account() {
    let brands = [interjet(), brand("quiet", &[], None), brand("acct_only", &[], Some("u/AcmeCare"))];
    let cfg = RedditConfig {
        api_base: "https://oauth.reddit.com".into(),
        token_url: "https://www.reddit.com/api/v1/access_token".into(),
        client_id: Secret::new("id"),
        client_secret: Secret::new("secret"),
        user_agent: USER_AGENT.into(),
        schedule: Schedule { every: Duration::from_secs(1), unhealthy_after: Duration::from_secs(1800), expect_within: None },
        follow_threads: Duration::ZERO,
        subreddits: vec![],
        user: None,
    };
    let src = RedditSource::new(&cfg, &brands);
    let keys: Vec<String> = src.queries().into_iter().map(|q| q.key).collect();
    assert_eq!(keys, vec!["reddit:search:interjet", "reddit:account:interjet", "reddit:search:acct_only", "reddit:account:acct_only"]);
    let qs = src.queries();
    assert_eq!(qs[2].kind, QueryKind::Search { q: "AcmeCare".into() }, "the user name is searched even without terms");
    assert_eq!(qs[3].kind, QueryKind::AccountActivity { account: "AcmeCare".into() });
    // Four single-page polls every second would be 240 a minute: `every`
    // stretches to keep them at the planned 60 a minute.
    assert_eq!(src.every(), Duration::from_secs(4));
}

#[tokio::test]
async fn first_poll_reads_only_the_newest_page_with_the_documented_parameters() {
    let fake = FakeReddit::start().await;
    let (src, search, _) = source_for(&fake);
    let all = add_posts(&fake, 150, Utc::now() - ChronoDuration::hours(3));
    let page = src.fetch(&search, None).await.unwrap();
    assert!(!page.more, "the first poll never pages back");
    assert_eq!(page.posts.len(), LIMIT);
    assert_eq!(page.posts[0].platform_id, *all.last().unwrap(), "newest first");
    let cursor = Cursor::parse(&page.cursor).unwrap();
    assert_eq!(cursor.newest, Some(page.posts[0].created_at.timestamp()));

    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2, "one token request, one search: {reqs:?}");
    let tok = &reqs[0];
    assert_eq!(tok.path, TOKEN_PATH);
    assert!(tok.authorized, "HTTP Basic with the client id and secret");
    assert_eq!(tok.param("grant_type"), Some("client_credentials"));
    assert_eq!(tok.user_agent.as_deref(), Some(USER_AGENT), "the token request carries the configured User-Agent");
    let s = &reqs[1];
    assert_eq!(s.path, "/search");
    assert!(s.authorized);
    assert_eq!(s.user_agent.as_deref(), Some(USER_AGENT));
    for (k, v) in [("q", "interjet_care OR interjet"), ("sort", "new"), ("type", "link"), ("limit", "100"), ("raw_json", "1")] {
        assert_eq!(s.param(k), Some(v), "{k}");
    }
    assert_eq!(s.param("after"), None);
}

#[tokio::test]
async fn new_posts_are_returned_once_across_polls() {
    let fake = FakeReddit::start().await;
    let (src, search, _) = source_for(&fake);
    add_posts(&fake, 5, Utc::now() - ChronoDuration::minutes(30));
    let (_, cursor, _) = poll(&src, &search, None).await;
    let new: Vec<String> = (0..3).map(|i| fake.add_post(NewPost::new("ana", &format!("interjet otra vez {i}"), "sin maleta"))).collect();
    let (posts, cursor, pages) = poll(&src, &search, Some(cursor)).await;
    assert_eq!(pages, 1);
    let mut got = ids(&posts);
    got.sort();
    let mut want = new.clone();
    want.sort();
    assert_eq!(got, want);
    fake.clear_requests();
    let (posts, _, _) = poll(&src, &search, Some(cursor)).await;
    assert!(posts.is_empty(), "nothing new: {:?}", ids(&posts));
    assert_eq!(fake.api_requests().len(), 1);
    assert_eq!(fake.requests().len(), 1, "the token is cached");
}

#[tokio::test]
async fn a_burst_larger_than_a_page_is_read_over_pages_without_gaps_or_duplicates() {
    let fake = FakeReddit::start().await;
    let (src, search, _) = source_for(&fake);
    add_posts(&fake, 3, Utc::now() - ChronoDuration::hours(2));
    let (_, cursor, _) = poll(&src, &search, None).await;
    let burst = add_posts(&fake, 250, Utc::now() - ChronoDuration::minutes(20));
    let (posts, cursor, pages) = poll(&src, &search, Some(cursor)).await;
    assert_eq!(pages, 3);
    let got: HashSet<String> = ids(&posts).into_iter().collect();
    assert_eq!(got.len(), posts.len(), "no duplicates");
    assert_eq!(got, burst.iter().cloned().collect::<HashSet<_>>());
    let afters: Vec<Option<String>> = fake.api_requests().iter().map(|r| r.param("after").map(str::to_string)).collect();
    assert_eq!(afters[afters.len() - 3], None);
    assert!(afters[afters.len() - 2].is_some() && afters[afters.len() - 1].is_some());
    let (posts, _, _) = poll(&src, &search, Some(cursor)).await;
    assert!(posts.is_empty());
}

#[tokio::test]
async fn a_restart_between_pages_resumes_where_the_committed_cursor_points() {
    let fake = FakeReddit::start().await;
    let (src, search, _) = source_for(&fake);
    add_posts(&fake, 2, Utc::now() - ChronoDuration::hours(2));
    let (_, cursor, _) = poll(&src, &search, None).await;
    let burst = add_posts(&fake, 180, Utc::now() - ChronoDuration::minutes(20));
    let first = src.fetch(&search, Some(&cursor)).await.unwrap();
    assert!(first.more);
    assert_eq!(first.posts.len(), 100);
    drop(src);
    // A post arrives while the daemon is down.
    let during = fake.add_post(NewPost::new("bea", "interjet me dejó en tierra", ""));

    let (src2, search2, _) = source_for(&fake);
    let (rest, cursor, _) = poll(&src2, &search2, Some(first.cursor.clone())).await;
    let mut all: Vec<String> = ids(&first.posts);
    all.extend(ids(&rest));
    let unique: HashSet<String> = all.iter().cloned().collect();
    assert_eq!(unique.len(), all.len(), "no duplicates across the restart");
    assert_eq!(unique, burst.iter().cloned().collect::<HashSet<_>>(), "the resumed poll finishes the burst");
    let (next, _, _) = poll(&src2, &search2, Some(cursor)).await;
    assert_eq!(ids(&next), vec![during], "the post made during the restart comes with the next poll");
}

#[tokio::test]
async fn a_post_that_reaches_the_search_index_late_is_still_returned_once() {
    let fake = FakeReddit::start().await;
    let (src, search, _) = source_for(&fake);
    let (_, cursor, _) = poll(&src, &search, None).await;
    let late = fake.add_post(NewPost::new("carla", "interjet perdió mi maleta", "").at(Utc::now() - ChronoDuration::seconds(90)).unindexed());
    let early = fake.add_post(NewPost::new("dani", "interjet ok", ""));
    let (posts, cursor, _) = poll(&src, &search, Some(cursor)).await;
    assert_eq!(ids(&posts), vec![early.clone()]);
    fake.index(&late);
    let (posts, cursor, _) = poll(&src, &search, Some(cursor)).await;
    assert_eq!(ids(&posts), vec![late], "older than the newest seen, but inside the overlap");
    let (posts, _, _) = poll(&src, &search, Some(cursor)).await;
    assert!(posts.is_empty());
}

#[tokio::test]
async fn a_first_poll_that_finds_nothing_does_not_later_take_old_posts_for_new() {
    let fake = FakeReddit::start().await;
    let (src, search, _) = source_for(&fake);
    let (posts, cursor, _) = poll(&src, &search, None).await;
    assert!(posts.is_empty());
    // Indexed only now, but made a day ago: history, not news.
    let old = fake.add_post(NewPost::new("eva", "interjet 2019", "").at(Utc::now() - ChronoDuration::days(1)));
    let new = fake.add_post(NewPost::new("eva", "interjet hoy", ""));
    let (posts, _, _) = poll(&src, &search, Some(cursor)).await;
    assert_eq!(ids(&posts), vec![new]);
    assert_ne!(ids(&posts), vec![old]);
}

#[tokio::test]
async fn posts_map_to_fullnames_permalinks_and_unescaped_text() {
    let fake = FakeReddit::start().await;
    let (src, search, _) = source_for(&fake);
    let (_, cursor, _) = poll(&src, &search, None).await;
    let id = fake.add_post(NewPost::new("Ana_Perez", "Interjet & <Aeroméxico>", "Me dejaron sin vuelo, u/interjet_care").crossposts(2));
    let gone = fake.add_post(NewPost::new("borrado", "interjet borrado", "algo"));
    fake.delete(&gone);
    let (posts, _, _) = poll(&src, &search, Some(cursor)).await;
    assert_eq!(posts.len(), 1, "the deleted post is skipped");
    let p = &posts[0];
    assert_eq!(p.platform, Platform::Reddit);
    assert_eq!(p.platform_id, id);
    assert!(p.platform_id.starts_with("t3_"));
    assert_eq!(p.url, format!("https://www.reddit.com/r/test/comments/{}/interjet____aerom_xico/", &id[3..]));
    assert_eq!(p.author, "ana_perez");
    assert_eq!(p.author_followers, None);
    assert_eq!(p.text, "Interjet & <Aeroméxico>\n\nMe dejaron sin vuelo, u/interjet_care");
    assert_eq!(p.mentions, vec!["interjet_care".to_string()]);
    assert_eq!(p.conversation_id.as_deref(), Some(id.as_str()));
    assert_eq!(p.in_reply_to_id, None);
    assert_eq!(p.reposts, 2);
    assert!((Utc::now() - p.created_at).num_seconds() < 60);
}

#[tokio::test]
async fn the_brands_reply_is_returned_with_the_mention_as_its_parent() {
    let fake = FakeReddit::start().await;
    let (src, search, account) = source_for(&fake);
    let older = fake.add_post(NewPost::new("x", "otro tema", "").at(Utc::now() - ChronoDuration::hours(1)));
    fake.add_comment("Interjet_Care", "respuesta vieja", &older);
    let (_, s_cursor, _) = poll(&src, &search, None).await;
    let (old, a_cursor, _) = poll(&src, &account, None).await;
    assert_eq!(old.len(), 1, "the first poll reads the newest page of the brand's comments");

    let mention = fake.add_post(NewPost::new("fer", "Interjet perdió mi maleta", "y nadie responde"));
    let thread_reply = fake.add_comment("fer", "sigo esperando", &mention);
    let answer = fake.add_comment("Interjet_Care", "Hola Fer, te escribimos por DM", &mention);
    let answer2 = fake.add_comment("interjet_care", "¿Te llegó?", &thread_reply);
    let (found, _, _) = poll(&src, &search, Some(s_cursor)).await;
    assert_eq!(ids(&found), vec![mention.clone()]);
    let (replies, a_cursor, _) = poll(&src, &account, Some(a_cursor)).await;
    assert_eq!(ids(&replies), vec![answer2.clone(), answer.clone()]);
    let r = &replies[1];
    assert_eq!(r.author, "interjet_care");
    assert_eq!(r.in_reply_to_id.as_deref(), Some(mention.as_str()));
    assert_eq!(r.conversation_id.as_deref(), Some(mention.as_str()));
    assert_eq!(r.in_reply_to_author.as_deref(), Some("fer"), "a reply to the post names the post's author");
    assert_eq!(r.text, "Hola Fer, te escribimos por DM");
    assert!(r.platform_id.starts_with("t1_"));
    assert_eq!(replies[0].in_reply_to_id.as_deref(), Some(thread_reply.as_str()));
    assert_eq!(replies[0].in_reply_to_author, None);
    let req = fake.api_requests().pop().unwrap();
    assert_eq!(req.path, "/user/interjet_care/comments");
    assert_eq!(req.param("sort"), Some("new"));
    assert_eq!(req.param("raw_json"), Some("1"));
    let (again, _, _) = poll(&src, &account, Some(a_cursor)).await;
    assert!(again.is_empty());
}

#[tokio::test]
async fn the_token_is_cached_and_a_revoked_one_is_replaced_once() {
    let fake = FakeReddit::start().await;
    let (src, search, account) = source_for(&fake);
    let (_, cursor, _) = poll(&src, &search, None).await;
    fake.add_comment("interjet_care", "hola", &fake.add_post(NewPost::new("a", "b", "")));
    poll(&src, &account, None).await;
    assert_eq!(fake.tokens_issued(), 1);
    fake.revoke_tokens();
    let new = fake.add_post(NewPost::new("gil", "interjet", ""));
    let (posts, _, _) = poll(&src, &search, Some(cursor)).await;
    assert_eq!(ids(&posts), vec![new]);
    assert_eq!(fake.tokens_issued(), 2);
    let api = fake.api_requests();
    let last_two = &api[api.len() - 2..];
    assert!(!last_two[0].authorized && last_two[1].authorized, "refused once, then retried with the new token");
}

#[tokio::test]
async fn a_token_is_renewed_before_it_expires_rather_than_after_a_refusal() {
    let fake = FakeReddit::start().await;
    fake.set_expires_in(1);
    let (src, search, _) = source_for(&fake);
    let (_, cursor, _) = poll(&src, &search, None).await;
    // Let the fake's token expire: time passing is the point here.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    poll(&src, &search, Some(cursor)).await;
    assert_eq!(fake.tokens_issued(), 2);
    assert!(fake.api_requests().iter().all(|r| r.authorized), "an expired token was sent: {:?}", fake.api_requests());
}

#[tokio::test]
async fn wrong_client_credentials_are_unauthorized_naming_the_keys_and_no_secret() {
    let fake = FakeReddit::start().await;
    let src = RedditSource::new(&config(&fake, "wrong-secret-value"), &[interjet()]);
    let q = src.queries().remove(0);
    let err = src.fetch(&q, None).await.unwrap_err();
    let SourceError::Unauthorized(msg) = err else { panic!("expected Unauthorized, got {err:?}") };
    assert!(msg.contains("401 Unauthorized"), "{msg}");
    assert!(msg.contains("[source.reddit] client_id_env") && msg.contains("client_secret_env"), "{msg}");
    assert!(!msg.contains("wrong-secret-value") && !msg.contains(CLIENT_ID), "{msg}");
    assert!(fake.api_requests().is_empty(), "no API request without a token");
}

#[tokio::test]
async fn a_403_is_unauthorized_and_says_what_to_check() {
    let fake = FakeReddit::start().await;
    let (src, search, account) = source_for(&fake);
    fake.fail_next(Failure::Forbidden);
    let SourceError::Unauthorized(msg) = src.fetch(&search, None).await.unwrap_err() else { panic!() };
    assert!(msg.contains("403 Forbidden") && msg.contains("[source.reddit]") && msg.contains("user_agent"), "{msg}");
    assert!(!msg.contains("fake-reddit-token"), "no token in messages: {msg}");
    fake.fail_next(Failure::Forbidden);
    let SourceError::Unauthorized(msg) = src.fetch(&account, None).await.unwrap_err() else { panic!() };
    assert!(msg.contains("u/interjet_care") && msg.contains("[brand.accounts] reddit of brand interjet"), "{msg}");
}

#[tokio::test]
async fn a_token_refused_twice_is_unauthorized() {
    let fake = FakeReddit::start().await;
    let (src, search, _) = source_for(&fake);
    fake.fail_next(Failure::TokenRejected);
    fake.fail_next(Failure::TokenRejected);
    let err = src.fetch(&search, None).await.unwrap_err();
    assert!(matches!(err, SourceError::Unauthorized(ref m) if m.contains("401")), "{err:?}");
    assert_eq!(fake.tokens_issued(), 2);
}

#[tokio::test]
async fn a_429_is_rate_limited_until_the_reset_and_sets_not_before() {
    let fake = FakeReddit::start().await;
    let (src, search, _) = source_for(&fake);
    fake.fail_next(Failure::RateLimited { reset_in_secs: 120 });
    let before = Utc::now();
    let err = src.fetch(&search, None).await.unwrap_err();
    let SourceError::RateLimited { until: Some(until) } = err else { panic!("expected RateLimited with a reset, got {err:?}") };
    assert!(until >= before + ChronoDuration::seconds(119) && until <= Utc::now() + ChronoDuration::seconds(121), "{until}");
    assert_eq!(src.http().not_before(), Some(until));
}

#[tokio::test]
async fn a_throttled_answer_with_status_200_is_rate_limited_too() {
    let fake = FakeReddit::start().await;
    let (src, search, _) = source_for(&fake);
    fake.fail_next(Failure::Throttled200 { reset_in_secs: 30 });
    let err = src.fetch(&search, None).await.unwrap_err();
    assert!(matches!(err, SourceError::RateLimited { until: Some(_) }), "{err:?}");
}

#[tokio::test]
async fn a_spent_window_shows_in_not_before_before_any_429() {
    let fake = FakeReddit::start().await;
    let (src, search, _) = source_for(&fake);
    fake.report_remaining(0.0, 30);
    src.fetch(&search, None).await.unwrap();
    let nb = src.http().not_before().expect("not_before after a spent window");
    assert!(nb > Utc::now() + ChronoDuration::seconds(25), "{nb}");
}

#[tokio::test]
async fn with_fewer_requests_left_than_the_reserve_the_source_waits_for_the_reset() {
    let fake = FakeReddit::start().await;
    let (src, search, _) = source_for(&fake);
    // Two left: Reddit's counts are approximate, so the source itself
    // holds its next request until the window resets.
    fake.report_remaining(2.0, 1);
    let (_, cursor, _) = poll(&src, &search, None).await;
    let sent = fake.api_requests().last().unwrap().at;
    poll(&src, &search, Some(cursor)).await;
    let next = fake.api_requests().last().unwrap().at;
    assert!(next - sent >= ChronoDuration::milliseconds(900), "waited only {:?}", next - sent);
}

#[tokio::test]
async fn server_errors_are_transient() {
    let fake = FakeReddit::start().await;
    let (src, search, _) = source_for(&fake);
    for status in [500, 502, 503] {
        fake.fail_next(Failure::ServerError(status));
        let err = src.fetch(&search, None).await.unwrap_err();
        assert!(matches!(err, SourceError::Transient(ref m) if m.contains(&status.to_string())), "{status}: {err:?}");
    }
}

#[tokio::test]
async fn unreadable_bodies_are_malformed_and_the_cursor_still_works_afterwards() {
    let fake = FakeReddit::start().await;
    let (src, search, _) = source_for(&fake);
    let (_, cursor, _) = poll(&src, &search, None).await;
    let new = fake.add_post(NewPost::new("hugo", "interjet", ""));
    for (failure, needle) in [
        (Failure::MalformedJson, "cannot parse"),
        (Failure::EmptyBody, "cannot parse"),
        (Failure::HtmlErrorPage, "HTML page"),
        (Failure::TruncatedBody, "reddit"),
    ] {
        fake.fail_next(failure.clone());
        let err = src.fetch(&search, Some(&cursor)).await.unwrap_err();
        assert!(matches!(err, SourceError::Malformed(ref m) if m.contains(needle)), "{failure:?}: {err:?}");
    }
    let (posts, _, _) = poll(&src, &search, Some(cursor)).await;
    assert_eq!(ids(&posts), vec![new]);
}

#[tokio::test]
async fn an_unknown_brand_user_is_reported_with_the_key_to_fix() {
    let fake = FakeReddit::start().await;
    let src = RedditSource::new(&config(&fake, CLIENT_SECRET), &[brand("acme", &[], Some("nobody_here"))]);
    let q = src.queries().into_iter().find(|q| q.key == "reddit:account:acme").unwrap();
    let err = src.fetch(&q, None).await.unwrap_err();
    assert!(matches!(err, SourceError::Malformed(ref m) if m.contains("[brand.accounts] reddit of brand acme")), "{err:?}");
}

#[tokio::test]
async fn an_unreadable_cursor_starts_the_query_afresh() {
    let fake = FakeReddit::start().await;
    let (src, search, _) = source_for(&fake);
    add_posts(&fake, 3, Utc::now() - ChronoDuration::minutes(5));
    let page: Page = src.fetch(&search, Some("not a cursor")).await.unwrap();
    assert_eq!(page.posts.len(), 3);
    assert!(!page.more);
    assert!(Cursor::parse(&page.cursor).is_some());
}

// ---- comments: followed threads, subreddits, username mentions ----

use escucha::clock::ManualClock;
use escucha::config::{RedditGrant, RedditUser};
use escucha::sources::reddit::{ThreadsCursor, MORE_BATCH};
use std::sync::Arc;

/// A source that follows threads for 3 days and reads r/mexico and
/// r/aviation, with `user` as the brand's user token, on `clock`.
fn comment_source(fake: &FakeReddit, user: Option<RedditGrant>, clock: &ManualClock) -> RedditSource {
    let cfg = RedditConfig {
        follow_threads: Duration::from_secs(3 * 86_400),
        subreddits: vec!["mexico".into(), "aviation".into()],
        user: user.map(|grant| RedditUser { grant, brands: vec!["interjet".into()], keys: "username_env and password_env".into() }),
        ..config(fake, CLIENT_SECRET)
    };
    let src = RedditSource::new(&cfg, &[interjet()]);
    src.pace_with(Arc::new(clock.clone()));
    src
}

/// A matched post to follow, found live.
fn root(id: &str, created: chrono::DateTime<Utc>) -> ConversationRoot {
    ConversationRoot { platform_id: id.to_string(), created_at: created, history_seen_at: None }
}

fn query(src: &RedditSource, key: &str) -> Query {
    src.queries().into_iter().find(|q| q.key == key).unwrap_or_else(|| panic!("no query {key}"))
}

#[test]
fn comment_queries_come_after_the_search_and_name_their_listing() {
    let fake_cfg = RedditConfig {
        api_base: "https://oauth.reddit.com".into(),
        token_url: "https://www.reddit.com/api/v1/access_token".into(),
        client_id: Secret::new("id"),
        client_secret: Secret::new("secret"),
        user_agent: USER_AGENT.into(),
        schedule: Schedule { every: Duration::from_secs(60), unhealthy_after: Duration::from_secs(1800), expect_within: None },
        follow_threads: Duration::from_secs(86_400),
        subreddits: vec!["mexico".into(), "aviation".into()],
        user: Some(RedditUser { grant: RedditGrant::RefreshToken(Secret::new("r")), brands: vec!["interjet".into()], keys: "refresh_token_env".into() }),
    };
    let src = RedditSource::new(&fake_cfg, &[interjet()]);
    let keys: Vec<String> = src.queries().into_iter().map(|q| q.key).collect();
    assert_eq!(keys, vec!["reddit:search:interjet", "reddit:account:interjet", "reddit:subreddits:aviation+mexico", "reddit:mentions", "reddit:threads"]);
    let subs = query(&src, "reddit:subreddits:aviation+mexico");
    assert_eq!(subs.kind, QueryKind::Communities { names: vec!["aviation".into(), "mexico".into()] });
    assert!(!subs.exclusive, "subreddit comments are matched against every brand");
    assert_eq!(query(&src, "reddit:mentions").brands, vec!["interjet".to_string()]);
    assert_eq!(src.follows(), Some(Duration::from_secs(86_400)));
    let none = RedditSource::new(&RedditConfig { follow_threads: Duration::ZERO, ..fake_cfg }, &[interjet()]);
    assert_eq!(none.follows(), None);
    assert!(!none.queries().iter().any(|q| q.key == "reddit:threads"), "follow_threads = \"0s\" follows nothing");
}

#[tokio::test]
async fn a_matched_posts_thread_is_read_whole_with_its_more_children_then_only_what_is_new() {
    let fake = FakeReddit::start().await;
    let clock = ManualClock::new(Utc::now());
    let src = comment_source(&fake, None, &clock);
    let threads = query(&src, "reddit:threads");
    let t0 = Utc::now() - ChronoDuration::minutes(30);
    let post = fake.add_post(NewPost::new("carla_mx", "Interjet canceló mi vuelo", "").at(t0));
    let top: Vec<String> =
        (0..4).map(|i| fake.add_comment_at(&format!("user{i}"), &format!("comentario {i}"), &post, t0 + ChronoDuration::minutes(i))).collect();
    let nested = fake.add_comment_at("beto_r", "a mí también, Interjet no responde", &top[0], t0 + ChronoDuration::minutes(5));
    // Two comments in the first tree; the other three in `more` stubs.
    fake.set_tree_limit(2);
    src.follow(vec![root(&post, t0)]);

    let first = src.fetch(&threads, None).await.unwrap();
    assert!(!first.more);
    assert_eq!(first.posts.len(), 5, "{:?}", ids(&first.posts));
    let n = first.posts.iter().find(|p| p.platform_id == nested).unwrap();
    assert_eq!(n.url, format!("https://www.reddit.com/r/test/comments/{}/interjet_cancel__mi_vuelo/{}/", &post[3..], &nested[3..]));
    assert_eq!(n.in_reply_to_id.as_deref(), Some(top[0].as_str()));
    assert_eq!(n.conversation_id.as_deref(), Some(post.as_str()));
    let c0 = first.posts.iter().find(|p| p.platform_id == top[0]).unwrap();
    assert_eq!(c0.in_reply_to_author.as_deref(), Some("carla_mx"), "a top-level comment answers the post's author");
    let reqs = fake.api_requests();
    let tree = reqs.iter().find(|r| r.path == format!("/comments/{}", &post[3..])).expect("thread request");
    for (k, v) in [("sort", "new"), ("limit", "500"), ("depth", "10"), ("raw_json", "1")] {
        assert_eq!(tree.param(k), Some(v), "{k}");
    }
    let more: Vec<_> = reqs.iter().filter(|r| r.path == "/api/morechildren").collect();
    assert_eq!(more.len(), 1);
    assert_eq!(more[0].param("link_id"), Some(post.as_str()));
    assert_eq!(more[0].param("api_type"), Some("json"));
    assert_eq!(more[0].param("children").unwrap().split(',').count(), 3);

    // Nothing new: the young thread is read again, without morechildren
    // (every stub child is older than what was read), and returns nothing.
    fake.clear_requests();
    clock.advance(ChronoDuration::minutes(2));
    let again = src.fetch(&threads, Some(&first.cursor)).await.unwrap();
    assert!(again.posts.is_empty(), "{:?}", ids(&again.posts));
    assert_eq!(fake.api_requests().iter().filter(|r| r.path == "/api/morechildren").count(), 0);

    // A new reply deep under an old comment hides in a `more` stub: it is
    // expanded because its id is above every id read.
    let late = fake.add_comment("dana", "Interjet me dejó en tierra", &nested);
    clock.advance(ChronoDuration::minutes(2));
    let page = src.fetch(&threads, Some(&again.cursor)).await.unwrap();
    assert_eq!(ids(&page.posts), vec![late.clone()]);
    let more: Vec<_> = fake.api_requests().into_iter().filter(|r| r.path == "/api/morechildren").collect();
    assert_eq!(more.len(), 1);
    assert_eq!(more[0].param("children"), Some(&late[3..]), "only the child newer than what was read");
}

#[tokio::test]
async fn deleted_and_removed_comments_are_skipped_but_replies_under_them_are_read() {
    let fake = FakeReddit::start().await;
    let clock = ManualClock::new(Utc::now());
    let src = comment_source(&fake, None, &clock);
    let threads = query(&src, "reddit:threads");
    let t0 = Utc::now() - ChronoDuration::minutes(10);
    let post = fake.add_post(NewPost::new("ana", "Interjet", "").at(t0));
    src.follow(vec![root(&post, t0)]);
    let first = src.fetch(&threads, None).await.unwrap();
    let gone = fake.add_comment("eva", "Interjet es lo peor", &post);
    let removed = fake.add_comment("eva", "Interjet estafa", &post);
    let reply = fake.add_comment("fer", "¿qué te pasó con Interjet?", &gone);
    fake.delete(&gone);
    fake.remove(&removed);
    clock.advance(ChronoDuration::minutes(1));
    let page = src.fetch(&threads, Some(&first.cursor)).await.unwrap();
    assert_eq!(ids(&page.posts), vec![reply], "[deleted] and [removed] are not stored; the reply under one is");
}

#[tokio::test]
async fn threads_are_read_less_often_as_their_post_ages_and_dropped_when_gone() {
    let fake = FakeReddit::start().await;
    let now = Utc::now();
    let clock = ManualClock::new(now);
    let src = comment_source(&fake, None, &clock);
    let threads = query(&src, "reddit:threads");
    let young = fake.add_post(NewPost::new("ana", "Interjet hoy", "").at(now - ChronoDuration::minutes(20)));
    let old = fake.add_post(NewPost::new("ana", "Interjet ayer", "").at(now - ChronoDuration::hours(30)));
    let deleted = fake.add_post(NewPost::new("ana", "Interjet borrado", "").at(now - ChronoDuration::minutes(5)));
    src.follow(vec![root(&young, now - ChronoDuration::minutes(20)), root(&old, now - ChronoDuration::hours(30)), root(&deleted, now)]);
    let mut cursor = src.fetch(&threads, None).await.unwrap().cursor;
    let read_paths =
        |fake: &FakeReddit| -> Vec<String> { fake.api_requests().into_iter().filter(|r| r.path.starts_with("/comments/")).map(|r| r.path).collect() };
    assert_eq!(read_paths(&fake).len(), 3, "the first poll reads every followed thread");

    // The post is deleted: Reddit answers 404 for its thread (the fake
    // forgets it); it is dropped from the follow list, not an error.
    fake.forget(&deleted);
    fake.clear_requests();
    clock.advance(ChronoDuration::minutes(2));
    cursor = poll(&src, &threads, Some(cursor)).await.1;
    let mut read = read_paths(&fake);
    read.sort();
    let mut want = vec![format!("/comments/{}", &young[3..]), format!("/comments/{}", &deleted[3..])];
    want.sort();
    assert_eq!(read, want, "after 2 minutes: the young thread (every poll) and the one found gone; the day-old one waits 30 minutes");
    let state = ThreadsCursor::parse(&cursor).unwrap();
    assert!(state.threads.iter().any(|t| t.id == deleted && t.gone));

    fake.clear_requests();
    clock.advance(ChronoDuration::minutes(29));
    cursor = poll(&src, &threads, Some(cursor)).await.1;
    let mut read = read_paths(&fake);
    read.sort();
    let mut want = vec![format!("/comments/{}", &young[3..]), format!("/comments/{}", &old[3..])];
    want.sort();
    assert_eq!(read, want, "31 minutes on, the day-old thread is due too; the gone one is never read again");

    // A thread no longer handed over (older than follow_threads) leaves the cursor.
    src.follow(vec![root(&young, now - ChronoDuration::minutes(20))]);
    clock.advance(ChronoDuration::minutes(2));
    cursor = poll(&src, &threads, Some(cursor)).await.1;
    let state = ThreadsCursor::parse(&cursor).unwrap();
    assert_eq!(state.threads.iter().map(|t| t.id.clone()).collect::<Vec<_>>(), vec![young]);
}

#[tokio::test]
async fn a_thread_that_answers_garbage_fails_the_poll_and_loses_nothing() {
    let fake = FakeReddit::start().await;
    let clock = ManualClock::new(Utc::now());
    let src = comment_source(&fake, None, &clock);
    let threads = query(&src, "reddit:threads");
    let t0 = Utc::now() - ChronoDuration::minutes(10);
    let post = fake.add_post(NewPost::new("ana", "Interjet", "").at(t0));
    src.follow(vec![root(&post, t0)]);
    let first = src.fetch(&threads, None).await.unwrap();
    let c = fake.add_comment("eva", "Interjet perdió mi maleta", &post);
    clock.advance(ChronoDuration::minutes(1));
    for failure in [Failure::HtmlErrorPage, Failure::MalformedJson, Failure::ServerError(503), Failure::RateLimited { reset_in_secs: 1 }] {
        fake.fail_next(failure.clone());
        let err = src.fetch(&threads, Some(&first.cursor)).await.unwrap_err();
        match (&failure, &err) {
            (Failure::ServerError(_), SourceError::Transient(_)) | (Failure::RateLimited { .. }, SourceError::RateLimited { .. }) => {}
            (Failure::HtmlErrorPage | Failure::MalformedJson, SourceError::Malformed(_)) => {}
            _ => panic!("{failure:?} gave {err:?}"),
        }
    }
    // The committed cursor is unchanged: the next poll returns the comment.
    let page = src.fetch(&threads, Some(&first.cursor)).await.unwrap();
    assert_eq!(ids(&page.posts), vec![c]);
}

#[tokio::test]
async fn a_long_threads_more_children_are_fetched_a_hundred_a_call() {
    let fake = FakeReddit::start().await;
    let clock = ManualClock::new(Utc::now());
    let src = comment_source(&fake, None, &clock);
    let threads = query(&src, "reddit:threads");
    let t0 = Utc::now() - ChronoDuration::minutes(50);
    let post = fake.add_post(NewPost::new("ana", "Interjet", "").at(t0));
    for i in 0..250 {
        fake.add_comment_at("x", &format!("c{i}"), &post, t0 + ChronoDuration::seconds(i));
    }
    fake.set_tree_limit(20);
    src.follow(vec![root(&post, t0)]);
    let page = src.fetch(&threads, None).await.unwrap();
    assert_eq!(page.posts.len(), 250);
    let calls: Vec<usize> =
        fake.api_requests().iter().filter(|r| r.path == "/api/morechildren").map(|r| r.param("children").unwrap().split(',').count()).collect();
    assert_eq!(calls, vec![MORE_BATCH, MORE_BATCH, 30]);
}

#[tokio::test]
async fn subreddit_comments_are_read_from_one_joined_listing_and_only_new_ones_return() {
    let fake = FakeReddit::start().await;
    let clock = ManualClock::new(Utc::now());
    let src = comment_source(&fake, None, &clock);
    let subs = query(&src, "reddit:subreddits:aviation+mexico");
    let a = fake.add_post(NewPost::new("ana", "¿Qué aerolínea?", "").in_sub("mexico").at(Utc::now() - ChronoDuration::hours(1)));
    let b = fake.add_post(NewPost::new("bob", "A320 question", "").in_sub("aviation").at(Utc::now() - ChronoDuration::hours(1)));
    let elsewhere = fake.add_post(NewPost::new("cy", "otro", "").in_sub("futbol"));
    fake.add_comment_at("old", "Interjet antes era buena", &a, Utc::now() - ChronoDuration::minutes(30));
    let (_, cursor, _) = poll(&src, &subs, None).await;
    let req = fake.api_requests().pop().unwrap();
    assert_eq!(req.path, "/r/aviation+mexico/comments");
    assert_eq!((req.param("limit"), req.param("raw_json")), (Some("100"), Some("1")));

    let new: Vec<String> = (0..130).map(|i| fake.add_comment(&format!("u{i}"), &format!("Interjet {i}"), if i % 2 == 0 { &a } else { &b })).collect();
    fake.add_comment("zz", "Interjet en otro sub", &elsewhere);
    let (posts, _, pages) = poll(&src, &subs, Some(cursor)).await;
    assert_eq!(pages, 2, "130 new comments take two pages of 100");
    let mut got = ids(&posts);
    got.sort();
    let mut want = new;
    want.sort();
    assert_eq!(got, want, "each new comment once, none from other subreddits");
    assert!(posts
        .iter()
        .all(|p| p.url.starts_with("https://www.reddit.com/r/mexico/comments/") || p.url.starts_with("https://www.reddit.com/r/aviation/comments/")));
}

#[tokio::test]
async fn a_subreddit_that_does_not_exist_is_an_error_naming_the_key_not_a_disabled_source() {
    let fake = FakeReddit::start().await;
    let clock = ManualClock::new(Utc::now());
    let src = comment_source(&fake, None, &clock);
    let err = src.fetch(&query(&src, "reddit:subreddits:aviation+mexico"), None).await.unwrap_err();
    let SourceError::Malformed(msg) = err else { panic!("{err:?}") };
    assert!(msg.contains("[source.reddit] subreddits") && msg.contains("r/aviation+mexico"), "{msg}");
}

#[tokio::test]
async fn username_mentions_are_read_with_the_password_grant_and_link_to_the_comment() {
    let fake = FakeReddit::start().await;
    fake.add_user("Interjet_Care", "s3cret & more");
    let clock = ManualClock::new(Utc::now());
    let grant = RedditGrant::Password { username: Secret::new("interjet_care"), password: Secret::new("s3cret & more") };
    let src = comment_source(&fake, Some(grant), &clock);
    let mentions = query(&src, "reddit:mentions");
    let post = fake.add_post(NewPost::new("ana", "vuelo", "").in_sub("mexico").at(Utc::now() - ChronoDuration::hours(1)));
    let (_, cursor, _) = poll(&src, &mentions, None).await;
    let c = fake.add_comment("beto_r", "u/interjet_care ¿me ayudan con mi reembolso?", &post);
    fake.add_comment("beto_r", "sin mención", &post);
    let (posts, _, _) = poll(&src, &mentions, Some(cursor)).await;
    assert_eq!(ids(&posts), vec![c.clone()]);
    let p = &posts[0];
    assert_eq!(p.url, format!("https://www.reddit.com/r/mexico/comments/{}/vuelo/{}/", &post[3..], &c[3..]), "the context link without ?context=3");
    assert_eq!(p.conversation_id.as_deref(), Some(post.as_str()), "the post from the context path: mentions carry no link_id");
    assert!(p.addressed_to_token_account);
    assert_eq!(p.mentions, vec!["interjet_care".to_string()]);
    let tok = fake.requests().into_iter().find(|r| r.path == TOKEN_PATH).unwrap();
    assert_eq!(tok.param("grant_type"), Some("password"));
    assert_eq!((tok.param("username"), tok.param("password")), (Some("interjet_care"), Some("s3cret & more")), "form-encoded");
    // The same user token reads everything else too: one token.
    poll(&src, &query(&src, "reddit:search:interjet"), None).await;
    assert_eq!(fake.tokens_issued(), 1);
}

#[tokio::test]
async fn a_refresh_token_is_used_and_the_rotated_one_replaces_it() {
    let fake = FakeReddit::start().await;
    fake.add_refresh_token("first-refresh", "interjet_care");
    fake.rotate_refresh_tokens();
    let clock = ManualClock::new(Utc::now());
    let src = comment_source(&fake, Some(RedditGrant::RefreshToken(Secret::new("first-refresh"))), &clock);
    let mentions = query(&src, "reddit:mentions");
    poll(&src, &mentions, None).await;
    // Reddit revokes the access token early: a refresh with the rotated token follows.
    fake.revoke_tokens();
    poll(&src, &mentions, Some(String::new())).await;
    let grants: Vec<(Option<String>, Option<String>)> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path == TOKEN_PATH)
        .map(|r| (r.param("grant_type").map(str::to_string), r.param("refresh_token").map(str::to_string)))
        .collect();
    assert_eq!(grants.len(), 2);
    assert_eq!(grants[0], (Some("refresh_token".into()), Some("first-refresh".into())));
    assert_eq!(grants[1].1.as_deref().map(|t| t.starts_with("fake-refresh-")), Some(true), "the rotated token: {grants:?}");
}

#[tokio::test]
async fn a_refused_user_credential_is_unauthorized_naming_the_keys_and_no_secret() {
    let fake = FakeReddit::start().await;
    fake.add_user("interjet_care", "right");
    let clock = ManualClock::new(Utc::now());
    let grant = RedditGrant::Password { username: Secret::new("interjet_care"), password: Secret::new("wrong-password") };
    let src = comment_source(&fake, Some(grant), &clock);
    let err = src.fetch(&query(&src, "reddit:mentions"), None).await.unwrap_err();
    let SourceError::Unauthorized(msg) = err else { panic!("{err:?}") };
    assert!(msg.contains("username_env and password_env") && msg.contains("invalid_grant"), "{msg}");
    assert!(!msg.contains("wrong-password"));
}

#[tokio::test]
async fn a_thread_under_a_post_stored_as_history_returns_only_comments_newer_than_when_it_was_seen() {
    let fake = FakeReddit::start().await;
    let clock = ManualClock::new(Utc::now());
    let src = comment_source(&fake, None, &clock);
    let threads = query(&src, "reddit:threads");
    // The threads query has polled before (a brand was added later, and its
    // search's first poll stored this day-old post as history).
    let first = src.fetch(&threads, None).await.unwrap();
    let t0 = Utc::now() - ChronoDuration::hours(20);
    let post = fake.add_post(NewPost::new("ana", "Interjet", "").at(t0));
    fake.add_comment_at("eva", "Interjet me debe un reembolso", &post, t0 + ChronoDuration::hours(1));
    let seen = Utc::now() - ChronoDuration::minutes(1);
    let after = fake.add_comment("fer", "Interjet sigue sin responder", &post);
    src.follow(vec![ConversationRoot { platform_id: post.clone(), created_at: t0, history_seen_at: Some(seen) }]);
    let page = src.fetch(&threads, Some(&first.cursor)).await.unwrap();
    assert_eq!(ids(&page.posts), vec![after], "comments as old as the history post are not news");
}

#[tokio::test]
async fn an_unreadable_threads_cursor_reads_every_thread_again_without_taking_old_comments_for_new() {
    let fake = FakeReddit::start().await;
    let clock = ManualClock::new(Utc::now());
    let src = comment_source(&fake, None, &clock);
    let threads = query(&src, "reddit:threads");
    let t0 = Utc::now() - ChronoDuration::minutes(30);
    let post = fake.add_post(NewPost::new("ana", "Interjet", "").at(t0));
    fake.add_comment_at("eva", "Interjet perdió mi maleta", &post, t0 + ChronoDuration::minutes(1));
    src.follow(vec![root(&post, t0)]);
    let page = src.fetch(&threads, Some("{not json")).await.unwrap();
    assert!(page.posts.is_empty() && !page.more, "{:?}", ids(&page.posts));
    let state = ThreadsCursor::parse(&page.cursor).expect("a readable cursor again");
    assert_eq!(state.threads.len(), 1);
    let new = fake.add_comment("fer", "Interjet tampoco me responde", &post);
    clock.advance(ChronoDuration::minutes(1));
    assert_eq!(ids(&src.fetch(&threads, Some(&page.cursor)).await.unwrap().posts), vec![new]);
}

#[tokio::test]
async fn with_a_user_token_a_403_names_the_user_keys_and_a_refused_inbox_the_scope() {
    let fake = FakeReddit::start().await;
    fake.add_user("interjet_care", "pw");
    let clock = ManualClock::new(Utc::now());
    let grant = RedditGrant::Password { username: Secret::new("interjet_care"), password: Secret::new("pw") };
    let src = comment_source(&fake, Some(grant), &clock);
    fake.fail_next(Failure::Forbidden);
    let err = src.fetch(&query(&src, "reddit:mentions"), None).await.unwrap_err();
    let SourceError::Unauthorized(msg) = err else { panic!("{err:?}") };
    assert!(msg.contains("username mentions") && msg.contains("privatemessages") && msg.contains("username_env and password_env"), "{msg}");
    fake.fail_next(Failure::Forbidden);
    let err = src.fetch(&query(&src, "reddit:search:interjet"), None).await.unwrap_err();
    let SourceError::Unauthorized(msg) = err else { panic!("{err:?}") };
    assert!(msg.contains("user token") && msg.contains("username_env and password_env"), "{msg}");
}

#[tokio::test]
async fn replies_deeper_than_the_tree_are_read_from_their_continue_this_thread_link_on_every_read() {
    let fake = FakeReddit::start().await;
    let clock = ManualClock::new(Utc::now());
    let src = comment_source(&fake, None, &clock);
    let threads = query(&src, "reddit:threads");
    let t0 = Utc::now() - ChronoDuration::minutes(40);
    let post = fake.add_post(NewPost::new("ana", "Interjet", "").at(t0));
    // A chain of 12 replies: the tree (depth 10) stops at the tenth.
    let mut chain = vec![post.clone()];
    for i in 0..12 {
        let parent = chain.last().unwrap().clone();
        chain.push(fake.add_comment_at(if i % 2 == 0 { "eva" } else { "fer" }, &format!("respuesta {i}"), &parent, t0 + ChronoDuration::minutes(i)));
    }
    src.follow(vec![root(&post, t0)]);
    let first = src.fetch(&threads, None).await.unwrap();
    let mut got = ids(&first.posts);
    got.sort();
    let mut want = chain[1..].to_vec();
    want.sort();
    assert_eq!(got, want, "all twelve, the last two through the continue link");
    let tenth = &chain[10][3..];
    assert!(fake.api_requests().iter().any(|r| r.path == format!("/comments/{}/_/{tenth}", &post[3..])), "{:?}", fake.api_requests());

    // A new reply at the bottom is found on the next read.
    let deep = fake.add_comment("eva", "Interjet sigue sin responder", chain.last().unwrap());
    clock.advance(ChronoDuration::minutes(1));
    let page = src.fetch(&threads, Some(&first.cursor)).await.unwrap();
    assert_eq!(ids(&page.posts), vec![deep]);
    let e = &page.posts[0];
    assert_eq!(e.in_reply_to_author.as_deref(), Some("fer"), "the parent's author, from the tree");
}
