//! Drives the Reddit source against the fake Reddit: the app token and its
//! renewal, cursors across polls, pages and a restart between pages, late
//! search indexing, the brand's replies, and every failure the scheduler
//! must tell apart.

#[path = "support/fake_reddit.rs"]
mod fake_reddit;

use chrono::{Duration as ChronoDuration, Utc};
use escucha::config::{Accounts, Brand, Escalate, RedditSource as RedditConfig, RespondWithin, Schedule, Secret};
use escucha::model::{Platform, Post};
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
