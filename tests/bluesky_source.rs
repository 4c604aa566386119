//! The Bluesky source against a fake PDS over real HTTP: the session
//! (create, refresh on `ExpiredToken`, create again), how each query's
//! cursor moves across polls, pages and restarts, what posts look like, and
//! how refusals, rate limits and broken bodies map to `SourceError`.

#[path = "support/fake_bluesky.rs"]
mod fake_bluesky;

use escucha::config::{Accounts, BlueskySource as BlueskyConfig, Brand, Escalate, RespondWithin, Schedule, Secret};
use escucha::model::Platform;
use escucha::sources::bluesky::BlueskySource;
use escucha::sources::{Page, Query, SourceError};
use fake_bluesky::{Failure, FakeBluesky};
use std::collections::HashSet;
use std::time::Duration;

const PASSWORD: &str = "abcd-efgh-ijkl-mnop";
const SEARCH: &str = "bluesky:search:interjet";
const NOTIFICATIONS: &str = "bluesky:notifications";
const ACCOUNT: &str = "bluesky:account:interjet";

fn brand(terms: &[&str], account: Option<&str>) -> Brand {
    Brand {
        id: "interjet".into(),
        name: "Interjet".into(),
        terms: terms.iter().map(|t| t.to_string()).collect(),
        exclude: Vec::new(),
        executives: Vec::new(),
        respond_within: RespondWithin { complaint: Duration::from_secs(1800), escalation: Duration::from_secs(300) },
        oncall: None,
        accounts: Accounts { bluesky: account.map(str::to_string), ..Accounts::default() },
        escalate: Escalate::default(),
        backfill: Duration::ZERO,
        timezone: chrono_tz::UTC,
        business_hours: None,
        holidays: Vec::new(),
        classify: Default::default(),
    }
}

fn config(service: &str, password: &str) -> BlueskyConfig {
    BlueskyConfig {
        service: service.to_string(),
        identifier: "interjet.bsky.social".into(),
        app_password: Secret::new(password),
        jetstream: None,
        schedule: Schedule { every: Duration::from_secs(60), unhealthy_after: Duration::from_secs(1800), expect_within: None },
    }
}

/// A fake PDS with the brand account, a customer and the source logged in
/// as the brand.
struct World {
    fake: FakeBluesky,
    source: BlueskySource,
    brand: String,
    ana: String,
}

async fn world() -> World {
    let fake = FakeBluesky::start().await;
    let brand_did = fake.add_account("interjet.bsky.social", PASSWORD, 5_000);
    let ana = fake.add_account("ana.bsky.social", "ana-pass", 120);
    let source = BlueskySource::new(&config(&fake.base_url(), PASSWORD), &[interjet()]);
    World { fake, source, brand: brand_did, ana }
}

fn interjet() -> Brand {
    brand(&["Interjet", "inter jet"], Some("interjet.bsky.social"))
}

fn query(source: &BlueskySource, key: &str) -> Query {
    source.queries().into_iter().find(|q| q.key == key).unwrap_or_else(|| panic!("no query {key}"))
}

async fn fetch_with(source: &BlueskySource, key: &str, cursor: Option<&str>) -> Page {
    source.fetch(&query(source, key), cursor).await.unwrap_or_else(|e| panic!("fetch {key}: {e}"))
}

async fn fetch(w: &World, key: &str, cursor: Option<&str>) -> Page {
    fetch_with(&w.source, key, cursor).await
}

async fn error(w: &World, key: &str, cursor: Option<&str>) -> SourceError {
    w.source.fetch(&query(&w.source, key), cursor).await.expect_err("expected an error")
}

fn ids(page: &Page) -> Vec<String> {
    page.posts.iter().map(|p| p.platform_id.clone()).collect()
}

/// Reads a query until `more` is false; every post id, in order.
async fn drain(source: &BlueskySource, key: &str, mut cursor: String) -> (Vec<String>, String, usize) {
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = fetch_with(source, key, Some(&cursor)).await;
        pages += 1;
        seen.extend(ids(&page));
        cursor = page.cursor;
        if !page.more {
            return (seen, cursor, pages);
        }
    }
}

#[tokio::test]
async fn the_first_search_logs_in_once_reads_the_newest_page_per_term_and_sets_the_cursor() {
    let w = world().await;
    let a = w.fake.post(&w.ana).text("Interjet perdió mi maleta").lang("es").send();
    let b = w.fake.post(&w.ana).text("Volar con inter jet otra vez, no").send();
    let page = fetch(&w, SEARCH, None).await;

    assert!(!page.more);
    assert_eq!(ids(&page), [a.clone(), b.clone()], "one request per term, merged");
    let p = &page.posts[0];
    assert_eq!(p.platform, Platform::Bluesky);
    assert_eq!(p.author, "ana.bsky.social");
    assert_eq!(p.author_id, w.ana);
    assert_eq!(p.author_followers, Some(120), "from getProfiles");
    assert_eq!(p.lang.as_deref(), Some("es"));
    assert_eq!(p.url, format!("https://bsky.app/profile/ana.bsky.social/post/{}", a.rsplit('/').next().unwrap()));
    assert!(!page.cursor.is_empty());

    assert_eq!(w.fake.calls("com.atproto.server.createSession").len(), 1);
    let searches = w.fake.calls("app.bsky.feed.searchPosts");
    let qs: Vec<String> = searches.iter().map(|r| r.param("q").unwrap()).collect();
    assert_eq!(qs, ["Interjet", "\"inter jet\""]);
    for r in &searches {
        assert_eq!(r.param("sort").as_deref(), Some("latest"));
        assert_eq!(r.param("limit").as_deref(), Some("100"));
        assert_eq!(r.param("since"), None, "the first poll has no watermark");
        assert!(r.authorization.as_deref().is_some_and(|a| a.starts_with("Bearer access-")));
    }
    assert_eq!(w.fake.calls("app.bsky.actor.getProfiles").len(), 1, "one author, one lookup");
}

#[tokio::test]
async fn new_mentions_after_the_cursor_are_returned_exactly_once() {
    let w = world().await;
    w.fake.post(&w.ana).text("Interjet antes").send();
    let first = fetch(&w, SEARCH, None).await;

    let a = w.fake.post(&w.ana).text("Interjet me cancelaron el vuelo").send();
    let b = w.fake.post(&w.ana).text("sigo esperando a inter jet").send();
    let second = fetch(&w, SEARCH, Some(&first.cursor)).await;
    assert_eq!(ids(&second), [a, b]);
    assert!(!second.more);
    let since = w.fake.calls("app.bsky.feed.searchPosts").last().unwrap().param("since");
    assert!(since.is_some_and(|s| s.ends_with('Z')), "later polls send since");

    let third = fetch(&w, SEARCH, Some(&second.cursor)).await;
    assert!(third.posts.is_empty(), "{:?}", third.posts);
    assert_eq!(third.cursor, second.cursor, "nothing new keeps the cursor");
    let profile_calls = w.fake.calls("app.bsky.actor.getProfiles").len();
    assert_eq!(profile_calls, 1, "the follower count is cached");
}

#[tokio::test]
async fn a_search_burst_larger_than_a_page_is_read_without_gaps_even_when_posts_arrive_between_pages() {
    let w = world().await;
    w.fake.post(&w.ana).text("interjet uno").send();
    let first = fetch(&w, SEARCH, None).await;
    let mut posted = HashSet::new();
    for i in 0..130 {
        posted.insert(w.fake.post(&w.ana).text(&format!("queja {i} interjet")).send());
    }
    let page1 = fetch(&w, SEARCH, Some(&first.cursor)).await;
    assert!(page1.more);
    assert_eq!(page1.posts.len(), 100);
    // New posts shift the offset pages: page 2 repeats some of page 1.
    for i in 0..5 {
        posted.insert(w.fake.post(&w.ana).text(&format!("tarde {i} interjet")).send());
    }
    let (rest, cursor, _) = drain(&w.source, SEARCH, page1.cursor.clone()).await;
    let mut all: Vec<String> = ids(&page1);
    all.extend(rest);
    let (late, _, _) = drain(&w.source, SEARCH, cursor).await;
    all.extend(late);
    let unique: HashSet<String> = all.iter().cloned().collect();
    assert_eq!(unique.len(), all.len(), "no post twice");
    assert_eq!(unique, posted, "no gap");
    let cursors: Vec<String> = w.fake.calls("app.bsky.feed.searchPosts").iter().filter_map(|r| r.param("cursor")).collect();
    assert_eq!(cursors.first().map(String::as_str), Some("100"), "the platform's cursor is followed mid-poll");
}

#[tokio::test]
async fn notifications_of_mentions_and_replies_are_addressed_to_the_brand() {
    let w = world().await;
    let own = w.fake.post(&w.brand).text("Bienvenidos a bordo").send();
    let first = fetch(&w, NOTIFICATIONS, None).await;
    assert!(first.posts.is_empty());

    let mention = w.fake.post(&w.ana).text("@interjet.bsky.social ¿y mi maleta?").send();
    let reply = w.fake.post(&w.ana).text("nadie contesta").reply_to(&own).send();
    let page = fetch(&w, NOTIFICATIONS, Some(&first.cursor)).await;
    assert_eq!(ids(&page), [reply.clone(), mention.clone()], "newest first");
    assert!(page.posts.iter().all(|p| p.addressed_to_token_account));
    assert_eq!(page.posts[1].mentions, ["interjet.bsky.social"]);
    let r = &page.posts[0];
    assert_eq!(r.in_reply_to_id.as_deref(), Some(own.as_str()));
    assert_eq!(r.in_reply_to_author_id.as_deref(), Some(w.brand.as_str()));
    assert_eq!(r.in_reply_to_author.as_deref(), Some("interjet.bsky.social"));
    assert_eq!(r.conversation_id.as_deref(), Some(own.as_str()));

    let req = w.fake.calls("app.bsky.notification.listNotifications").pop().unwrap();
    assert_eq!(req.all("reasons"), ["mention", "reply"]);
    assert_eq!(req.param("limit").as_deref(), Some("100"));
    let again = fetch(&w, NOTIFICATIONS, Some(&page.cursor)).await;
    assert!(again.posts.is_empty());
    assert_eq!(again.cursor, page.cursor);
}

#[tokio::test]
async fn a_restarted_source_resumes_a_notification_burst_without_gaps_or_duplicates() {
    let w = world().await;
    w.fake.post(&w.ana).text("@interjet.bsky.social hola").send();
    let first = fetch(&w, NOTIFICATIONS, None).await;
    let mut posted = HashSet::new();
    for i in 0..230 {
        posted.insert(w.fake.post(&w.ana).text(&format!("@interjet.bsky.social queja {i}")).send());
    }
    let page1 = fetch(&w, NOTIFICATIONS, Some(&first.cursor)).await;
    assert!(page1.more);
    drop(w.source);

    // A new process: a new session, the stored cursor.
    let restarted = BlueskySource::new(&config(&w.fake.base_url(), PASSWORD), &[interjet()]);
    let (rest, cursor, pages) = drain(&restarted, NOTIFICATIONS, page1.cursor.clone()).await;
    assert_eq!(pages, 2);
    let mut all = ids(&page1);
    all.extend(rest);
    let unique: HashSet<String> = all.iter().cloned().collect();
    assert_eq!(unique.len(), all.len(), "no post twice");
    assert_eq!(unique, posted, "no gap");
    assert_eq!(w.fake.calls("com.atproto.server.createSession").len(), 2);

    // The next poll re-reads the lookback window (pages of it, here) and
    // finds nothing new in it.
    let (after, _, _) = drain(&restarted, NOTIFICATIONS, cursor).await;
    assert!(after.is_empty(), "{after:?}");
}

#[tokio::test]
async fn the_brands_reply_is_returned_from_its_feed_with_in_reply_to_id_and_reposts_are_skipped() {
    let w = world().await;
    w.fake.post(&w.brand).text("Bienvenidos a bordo").send();
    let first = fetch(&w, ACCOUNT, None).await;
    assert_eq!(first.posts.len(), 1);

    let complaint = w.fake.post(&w.ana).text("@interjet.bsky.social me cancelaron el vuelo").send();
    let other = w.fake.post(&w.ana).text("nada que ver").send();
    w.fake.repost(&w.brand, &other);
    let reply = w.fake.post(&w.brand).text("Lo sentimos, escríbenos por DM").reply_to(&complaint).send();

    let page = fetch(&w, ACCOUNT, Some(&first.cursor)).await;
    assert_eq!(ids(&page), std::slice::from_ref(&reply), "only the reply: no repost");
    let p = &page.posts[0];
    assert_eq!(p.author, "interjet.bsky.social");
    assert_eq!(p.in_reply_to_id.as_deref(), Some(complaint.as_str()));
    assert_eq!(p.in_reply_to_author_id.as_deref(), Some(w.ana.as_str()));
    assert_eq!(p.in_reply_to_author.as_deref(), Some("ana.bsky.social"));
    assert_eq!(p.conversation_id.as_deref(), Some(complaint.as_str()));
    let req = w.fake.calls("app.bsky.feed.getAuthorFeed").pop().unwrap();
    assert_eq!(req.param("actor").as_deref(), Some("interjet.bsky.social"));
    assert_eq!(req.param("filter").as_deref(), Some("posts_with_replies"));
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_and_the_request_sent_again() {
    let w = world().await;
    let first = fetch(&w, SEARCH, None).await;
    w.fake.expire_access_tokens();
    let mention = w.fake.post(&w.ana).text("Interjet, ¿hola?").send();
    let page = fetch(&w, SEARCH, Some(&first.cursor)).await;
    assert_eq!(ids(&page), [mention]);
    assert_eq!(w.fake.calls("com.atproto.server.refreshSession").len(), 1);
    assert_eq!(w.fake.calls("com.atproto.server.createSession").len(), 1, "the refresh was enough");
    let refresh = w.fake.calls("com.atproto.server.refreshSession").pop().unwrap();
    assert!(refresh.authorization.unwrap().starts_with("Bearer refresh-"), "refreshSession takes the refresh token");
    let last = w.fake.calls("app.bsky.feed.searchPosts").pop().unwrap();
    let first_token = w.fake.calls("app.bsky.feed.searchPosts")[0].authorization.clone();
    assert_ne!(last.authorization, first_token, "the new access token is used");
}

#[tokio::test]
async fn when_the_refresh_token_is_refused_too_the_session_is_created_again() {
    let w = world().await;
    let first = fetch(&w, NOTIFICATIONS, None).await;
    w.fake.expire_access_tokens();
    w.fake.expire_refresh_tokens();
    let mention = w.fake.post(&w.ana).text("@interjet.bsky.social hola").send();
    let page = fetch(&w, NOTIFICATIONS, Some(&first.cursor)).await;
    assert_eq!(ids(&page), [mention]);
    assert_eq!(w.fake.calls("com.atproto.server.createSession").len(), 2);
}

#[tokio::test]
async fn a_revoked_session_logs_in_again_once() {
    let w = world().await;
    let first = fetch(&w, SEARCH, None).await;
    w.fake.fail_next(Failure::Unauthorized);
    fetch(&w, SEARCH, Some(&first.cursor)).await;
    assert_eq!(w.fake.calls("com.atproto.server.createSession").len(), 2);
}

#[tokio::test]
async fn a_wrong_app_password_is_unauthorized_and_says_which_keys_to_fix() {
    let fake = FakeBluesky::start().await;
    fake.add_account("interjet.bsky.social", PASSWORD, 1);
    let source = BlueskySource::new(&config(&fake.base_url(), "wrong-secret-pw"), &[interjet()]);
    let err = source.fetch(&query(&source, SEARCH), None).await.unwrap_err();
    let SourceError::Unauthorized(m) = err else { panic!("expected Unauthorized, got {err:?}") };
    assert!(m.contains("refused to log in interjet.bsky.social (401 AuthenticationRequired: Invalid identifier or password)"), "{m}");
    assert!(m.contains("[source.bluesky] identifier and app_password_env / app_password_file"), "{m}");
    assert!(!m.contains("wrong-secret-pw"), "never show the password: {m}");
    assert!(fake.calls("app.bsky.feed.searchPosts").is_empty());
}

#[tokio::test]
async fn a_forbidden_search_is_unauthorized_and_points_at_the_service() {
    let w = world().await;
    fetch(&w, ACCOUNT, None).await;
    w.fake.fail_next(Failure::Forbidden);
    let SourceError::Unauthorized(m) = error(&w, SEARCH, None).await else { panic!("expected Unauthorized") };
    assert!(m.contains("forbids app.bsky.feed.searchPosts"), "{m}");
    assert!(m.contains("[source.bluesky] service"), "{m}");
    assert!(!m.contains("access-"), "never show a token: {m}");
}

#[tokio::test]
async fn an_unknown_brand_account_is_malformed_and_names_the_setting() {
    let fake = FakeBluesky::start().await;
    fake.add_account("interjet.bsky.social", PASSWORD, 1);
    let mut b = interjet();
    b.accounts.bluesky = Some("interjet.bsky.social".into());
    let mut other = brand(&["aero"], Some("nobody.bsky.social"));
    other.id = "aero".into();
    let source = BlueskySource::new(&config(&fake.base_url(), PASSWORD), &[b, other]);
    let err = source.fetch(&query(&source, "bluesky:account:aero"), None).await.unwrap_err();
    let SourceError::Malformed(m) = err else { panic!("expected Malformed, got {err:?}") };
    assert!(m.contains("Profile not found"), "{m}");
    assert!(m.contains("[brand.accounts] bluesky of brand aero"), "{m}");
    let notifications = query(&source, NOTIFICATIONS);
    assert_eq!(notifications.brands, ["interjet"], "only the logged-in brand's notifications");
}

#[tokio::test]
async fn a_429_is_rate_limited_until_the_retry_after() {
    let w = world().await;
    fetch(&w, ACCOUNT, None).await;
    w.fake.fail_next(Failure::RateLimited);
    let before = chrono::Utc::now();
    let err = error(&w, ACCOUNT, None).await;
    let SourceError::RateLimited { until: Some(until) } = err else { panic!("expected RateLimited with a reset, got {err:?}") };
    let wait = (until - before).num_seconds();
    assert!((41..=43).contains(&wait), "Retry-After: 42 gave {wait}s");
    assert_eq!(w.source.http().not_before(), Some(until));
}

#[tokio::test]
async fn a_spent_window_is_remembered_from_the_ratelimit_headers() {
    let w = world().await;
    fetch(&w, ACCOUNT, None).await;
    w.fake.set_rate_limit_remaining(1);
    fetch(&w, ACCOUNT, None).await;
    let reset = w.source.http().not_before().expect("remaining 0 sets not_before");
    assert!(reset > chrono::Utc::now());
    let err = error(&w, ACCOUNT, None).await;
    assert!(matches!(err, SourceError::RateLimited { until: Some(u) } if u > chrono::Utc::now()), "{err:?}");
}

#[tokio::test]
async fn server_errors_are_transient() {
    let w = world().await;
    fetch(&w, ACCOUNT, None).await;
    for code in [500, 502, 503] {
        w.fake.fail_next(Failure::ServerError(code));
        let err = error(&w, ACCOUNT, None).await;
        assert!(matches!(err, SourceError::Transient(_)), "{code} gave {err:?}");
    }
}

#[tokio::test]
async fn bodies_that_cannot_be_read_are_malformed_and_the_cursor_survives() {
    let w = world().await;
    w.fake.post(&w.ana).text("@interjet.bsky.social hola").send();
    let first = fetch(&w, NOTIFICATIONS, None).await;
    for failure in [Failure::MalformedJson, Failure::TruncatedBody, Failure::HtmlErrorPage, Failure::EmptyBody] {
        w.fake.fail_next(failure.clone());
        let err = error(&w, NOTIFICATIONS, Some(&first.cursor)).await;
        let SourceError::Malformed(m) = &err else { panic!("{failure:?} gave {err:?}") };
        match failure {
            Failure::HtmlErrorPage => assert!(m.contains("HTML page"), "{m}"),
            Failure::TruncatedBody => assert!(m.contains("cut short"), "{m}"),
            _ => assert!(m.contains("cannot parse"), "{m}"),
        }
    }
    let later = w.fake.post(&w.ana).text("@interjet.bsky.social ¿hola?").send();
    let page = fetch(&w, NOTIFICATIONS, Some(&first.cursor)).await;
    assert_eq!(ids(&page), [later]);
}

#[tokio::test]
async fn a_bad_query_string_is_malformed_and_names_the_brand_and_term() {
    let fake = FakeBluesky::start().await;
    fake.add_account("interjet.bsky.social", PASSWORD, 1);
    let source = BlueskySource::new(&config(&fake.base_url(), PASSWORD), &[brand(&["say \"hi"], None)]);
    let page = source.fetch(&query(&source, SEARCH), None).await.unwrap();
    assert!(page.posts.is_empty());
    assert_eq!(fake.calls("app.bsky.feed.searchPosts")[0].param("q").as_deref(), Some("\"say hi\""), "quotes in a term are dropped");
    fake.fail_next(Failure::BadQuery);
    let err = source.fetch(&query(&source, SEARCH), Some(&page.cursor)).await.unwrap_err();
    let SourceError::Malformed(m) = err else { panic!("expected Malformed, got {err:?}") };
    assert!(m.contains("400 BadQueryString: could not parse query"), "{m}");
    assert!(m.contains("brand interjet (term \"say \\\"hi\")"), "{m}");
}

#[tokio::test]
async fn the_fake_refuses_more_than_25_profiles_and_omits_cursors_on_the_last_page() {
    let w = world().await;
    let client = reqwest::Client::new();
    let login = client
        .post(format!("{}/xrpc/com.atproto.server.createSession", w.fake.base_url()))
        .header("content-type", "application/json")
        .body(format!(r#"{{"identifier":"interjet.bsky.social","password":"{PASSWORD}"}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(login.headers()["ratelimit-policy"], "3000;w=300");
    let session: serde_json::Value = serde_json::from_slice(&login.bytes().await.unwrap()).unwrap();
    let token = session["accessJwt"].as_str().unwrap().to_string();
    let actors: String = (0..26).map(|i| format!("actors=did:plc:x{i}&")).collect();
    let resp = client.get(format!("{}/xrpc/app.bsky.actor.getProfiles?{actors}", w.fake.base_url())).bearer_auth(&token).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    w.fake.post(&w.ana).text("interjet").send();
    let resp = client.get(format!("{}/xrpc/app.bsky.feed.searchPosts?q=interjet", w.fake.base_url())).bearer_auth(&token).send().await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(body["posts"].as_array().unwrap().len(), 1);
    assert!(body.get("cursor").is_none());
    let anonymous = client.get(format!("{}/xrpc/app.bsky.feed.searchPosts?q=interjet", w.fake.base_url())).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
}
