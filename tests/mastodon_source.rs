//! The Mastodon source against a fake Mastodon instance over real HTTP:
//! which queries it builds, how its cursors move, what posts look like, and
//! how refusals, rate limits and broken bodies map to `SourceError`.

#[path = "support/fake_mastodon.rs"]
mod fake_mastodon;

use escucha::config::{Accounts, Brand, Escalate, MastodonSource as MastodonConfig, RespondWithin, Schedule, Secret};
use escucha::model::Platform;
use escucha::sources::mastodon::MastodonSource;
use escucha::sources::{Page, Query, QueryKind, SourceError};
use fake_mastodon::{Failure, FakeMastodon};
use std::collections::HashSet;
use std::time::Duration;

fn brand(id: &str, terms: &[&str], mastodon: Option<&str>, token: Option<&str>) -> Brand {
    Brand {
        id: id.to_string(),
        name: id.to_string(),
        terms: terms.iter().map(|t| t.to_string()).collect(),
        exclude: Vec::new(),
        executives: Vec::new(),
        respond_within: RespondWithin { complaint: Duration::from_secs(1800), escalation: Duration::from_secs(300) },
        oncall: None,
        accounts: Accounts { mastodon: mastodon.map(str::to_string), mastodon_token: token.map(Secret::new), ..Accounts::default() },
        escalate: Escalate::default(),
        backfill: Duration::ZERO,
        timezone: chrono_tz::UTC,
        business_hours: None,
        holidays: Vec::new(),
        classify: Default::default(),
    }
}

fn config(instance: &str, token: Option<&str>) -> MastodonConfig {
    MastodonConfig {
        instance: instance.to_string(),
        access_token: token.map(Secret::new),
        stream: false,
        schedule: Schedule { every: Duration::from_secs(60), unhealthy_after: Duration::from_secs(1800), expect_within: None },
    }
}

/// A fake instance with the brand's account `interjet` (its token is the
/// source's token), a customer `ana` and the source polling them.
struct World {
    fake: FakeMastodon,
    source: MastodonSource,
    brand: String,
    ana: String,
}

async fn world() -> World {
    let fake = FakeMastodon::start().await;
    let brand = fake.add_account("interjet", 5_000);
    let ana = fake.add_account("ana", 120);
    let token = fake.issue_token(&brand);
    let source = MastodonSource::new(&config(&fake.base_url(), Some(&token)), &[brand_interjet()]);
    World { fake, source, brand, ana }
}

fn brand_interjet() -> Brand {
    brand("interjet", &["Interjet", "inter jet"], Some("interjet"), None)
}

fn query(source: &MastodonSource, key: &str) -> Query {
    source.queries().into_iter().find(|q| q.key == key).unwrap_or_else(|| panic!("no query {key}"))
}

async fn fetch(source: &MastodonSource, key: &str, cursor: Option<&str>) -> Page {
    source.fetch(&query(source, key), cursor).await.unwrap_or_else(|e| panic!("fetch {key}: {e}"))
}

#[test]
fn queries_are_one_per_token_tag_term_and_brand_account_in_a_stable_order() {
    let brands = [
        brand("interjet", &["Interjet", "inter jet"], Some("interjet@mastodon.social"), None),
        brand("aero", &["Aeroméxico"], Some("aeromexico"), Some("aero-token")),
        brand("quiet", &["Interjet"], None, None),
    ];
    let source = MastodonSource::new(&config("https://mastodon.social", Some("source-token")), &brands);
    let queries = source.queries();
    let keys: Vec<&str> = queries.iter().map(|q| q.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "mastodon:notifications:aero",
            "mastodon:notifications",
            "mastodon:tag:interjet",
            "mastodon:tag:aeromexico",
            "mastodon:search:interjet",
            "mastodon:search:inter jet",
            "mastodon:search:aeromexico",
            "mastodon:account:interjet",
            "mastodon:account:aero",
        ]
    );
    let by_key = |k: &str| queries.iter().find(|q| q.key == k).unwrap();
    assert_eq!(by_key("mastodon:notifications").brands, ["interjet"]);
    assert_eq!(by_key("mastodon:notifications:aero").kind, QueryKind::MastodonNotifications { token: Secret::new("aero-token") });
    assert_eq!(by_key("mastodon:tag:interjet").brands, ["interjet", "quiet"]);
    assert_eq!(by_key("mastodon:tag:interjet").kind, QueryKind::MastodonTag { tag: "interjet".into() });
    assert_eq!(by_key("mastodon:search:interjet").brands, ["interjet", "quiet"]);
    assert_eq!(by_key("mastodon:account:interjet").kind, QueryKind::MastodonAccountStatuses { acct: "interjet@mastodon.social".into() });
    assert_eq!(source.queries(), queries, "the same config gives the same queries");
}

#[test]
fn without_any_token_there_is_no_notification_or_search_query() {
    let source = MastodonSource::new(&config("https://mastodon.social", None), &[brand_interjet()]);
    let keys: Vec<String> = source.queries().into_iter().map(|q| q.key).collect();
    assert_eq!(keys, ["mastodon:tag:interjet", "mastodon:account:interjet"]);
}

#[tokio::test]
async fn the_first_poll_reads_the_newest_page_and_sets_the_cursor_to_a_notification_id() {
    let w = world().await;
    let status = w.fake.post_status(&w.ana).text("@interjet hola").mention(&w.brand).send();
    let page = fetch(&w.source, "mastodon:notifications", None).await;

    assert_eq!(page.posts.len(), 1);
    assert_eq!(page.posts[0].platform_id, status);
    assert!(page.posts[0].addressed_to_token_account);
    let notification = w.fake.notification_ids().last().cloned().unwrap();
    assert_eq!(page.cursor, notification, "notification ids are their own sequence");
    assert_ne!(page.cursor, status);
    assert!(!page.more);

    let req = w.fake.requests().pop().unwrap();
    assert_eq!(req.path, "/api/v1/notifications");
    let raw = req.query.clone().unwrap();
    assert!(raw.contains("types%5B%5D=mention"), "array param URL-encoded: {raw}");
    assert_eq!(req.param("limit").as_deref(), Some("40"));
    assert_eq!(req.param("min_id"), None);
    assert!(req.authorization.unwrap().starts_with("Bearer "));
}

#[tokio::test]
async fn a_second_poll_with_nothing_new_sends_one_request_per_query_with_min_id() {
    let w = world().await;
    w.fake.post_status(&w.brand).text("Bienvenidos a bordo").send();
    w.fake.post_status(&w.ana).text("Volando con #Interjet").mention(&w.brand).send();
    let queries = w.source.queries();
    assert_eq!(queries.len(), 5, "{queries:?}");
    let mut cursors = Vec::new();
    for q in &queries {
        let page = w.source.fetch(q, None).await.unwrap();
        cursors.push(page.cursor);
    }
    w.fake.clear_requests();

    for (q, cursor) in queries.iter().zip(&cursors) {
        let page = w.source.fetch(q, Some(cursor)).await.unwrap();
        assert!(page.posts.is_empty(), "{}: {:?}", q.key, page.posts);
        assert_eq!(&page.cursor, cursor, "{}: an empty page keeps the cursor", q.key);
        assert!(!page.more);
    }
    let requests = w.fake.requests();
    assert_eq!(requests.len(), queries.len(), "the account id is looked up once: {requests:?}");
    for (req, cursor) in requests.iter().zip(&cursors) {
        if !cursor.is_empty() {
            assert_eq!(req.param("min_id").as_ref(), Some(cursor), "{}", req.path);
        }
    }
}

#[tokio::test]
async fn new_mentions_after_the_cursor_are_returned_exactly_once() {
    let w = world().await;
    w.fake.post_status(&w.ana).text("antes").mention(&w.brand).send();
    let first = fetch(&w.source, "mastodon:notifications", None).await;

    let a = w.fake.post_status(&w.ana).text("me perdieron la maleta").mention(&w.brand).send();
    let b = w.fake.post_status(&w.ana).text("sigo esperando").mention(&w.brand).send();
    let second = fetch(&w.source, "mastodon:notifications", Some(&first.cursor)).await;
    let ids: Vec<&str> = second.posts.iter().map(|p| p.platform_id.as_str()).collect();
    assert_eq!(ids, [b.as_str(), a.as_str()], "newest first, nothing from before the cursor");
    assert!(!second.more);

    let third = fetch(&w.source, "mastodon:notifications", Some(&second.cursor)).await;
    assert!(third.posts.is_empty());
    assert_eq!(third.cursor, second.cursor);
}

#[tokio::test]
async fn a_burst_larger_than_a_page_is_read_over_pages_without_gaps() {
    let w = world().await;
    w.fake.post_status(&w.ana).text("primero #interjet").send();
    let mut cursor = fetch(&w.source, "mastodon:tag:interjet", None).await.cursor;

    let mut posted = HashSet::new();
    for i in 0..95 {
        posted.insert(w.fake.post_status(&w.ana).text(&format!("queja {i} #Interjet")).send());
    }
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    loop {
        let page = fetch(&w.source, "mastodon:tag:interjet", Some(&cursor)).await;
        sizes.push(page.posts.len());
        seen.extend(page.posts.into_iter().map(|p| p.platform_id));
        cursor = page.cursor;
        if !page.more {
            break;
        }
    }
    assert_eq!(sizes, [40, 40, 15]);
    let unique: HashSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "no post twice");
    assert_eq!(unique, posted, "no gap");
    let requests = w.fake.requests();
    let pages: Vec<_> = requests.iter().rev().take(3).collect();
    assert!(pages.iter().all(|r| r.param("min_id").is_some() && r.param("limit").as_deref() == Some("40")), "{pages:?}");
}

#[tokio::test]
async fn after_an_empty_first_poll_the_next_poll_reads_the_newest_page() {
    let w = world().await;
    let first = fetch(&w.source, "mastodon:notifications", None).await;
    assert!(first.posts.is_empty());
    assert_eq!(first.cursor, "", "nothing yet: no id to start from");

    let mention = w.fake.post_status(&w.ana).text("hola").mention(&w.brand).send();
    let second = fetch(&w.source, "mastodon:notifications", Some(&first.cursor)).await;
    assert_eq!(second.posts.len(), 1);
    assert_eq!(second.posts[0].platform_id, mention);
    assert_eq!(second.cursor, w.fake.notification_ids().last().cloned().unwrap());
    assert_eq!(w.fake.requests().last().unwrap().param("min_id"), None);
}

#[tokio::test]
async fn a_burst_of_mentions_after_a_notification_cursor_pages_without_gaps() {
    let w = world().await;
    w.fake.post_status(&w.ana).text("hola").mention(&w.brand).send();
    let mut cursor = fetch(&w.source, "mastodon:notifications", None).await.cursor;
    let mut posted = HashSet::new();
    for i in 0..81 {
        posted.insert(w.fake.post_status(&w.ana).text(&format!("queja {i}")).mention(&w.brand).send());
    }
    let mut seen = HashSet::new();
    let mut pages = 0;
    loop {
        let page = fetch(&w.source, "mastodon:notifications", Some(&cursor)).await;
        pages += 1;
        for p in page.posts {
            assert!(seen.insert(p.platform_id), "a post came twice");
        }
        cursor = page.cursor;
        if !page.more {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, posted);
    assert_eq!(cursor, w.fake.notification_ids().last().cloned().unwrap());
}

#[tokio::test]
async fn html_content_becomes_plain_text_and_accounts_become_absolute() {
    let w = world().await;
    let bob = w.fake.add_account("bob@other.example", 42);
    w.fake
        .post_status(&w.ana)
        .text("¡Pésimo servicio de @interjet! <nada> & \"nada\", ¿y @bob@other.example?\n\nOtra vez #Interjet")
        .mention(&w.brand)
        .mention(&bob)
        .language("es")
        .reblogs(3)
        .quotes(2)
        .send();
    w.fake.post_status(&bob).text("yo también #interjet").send();

    let page = fetch(&w.source, "mastodon:tag:interjet", None).await;
    assert_eq!(page.posts.len(), 2);
    let (remote, ana) = (&page.posts[0], &page.posts[1]);
    let host = w.fake.host();
    assert_eq!(ana.platform, Platform::Mastodon);
    assert_eq!(ana.text, "¡Pésimo servicio de @interjet! <nada> & \"nada\", ¿y @bob?\n\nOtra vez #Interjet");
    assert_eq!(ana.author, format!("ana@{host}"));
    assert_eq!(ana.author_id, w.ana);
    assert_eq!(ana.author_followers, Some(120));
    assert_eq!(ana.mentions, [format!("interjet@{host}"), "bob@other.example".to_string()]);
    assert_eq!(ana.lang.as_deref(), Some("es"));
    assert_eq!(ana.reposts, 5);
    assert!(ana.url.starts_with(&w.fake.base_url()) && ana.url.ends_with(&ana.platform_id));
    assert!(!ana.addressed_to_token_account);
    assert_eq!(remote.author, "bob@other.example");
    assert_eq!(remote.text, "yo también #interjet");
}

#[tokio::test]
async fn the_brands_reply_is_visible_through_its_account_statuses() {
    let w = world().await;
    w.fake.post_status(&w.brand).text("Bienvenidos a bordo").send();
    let first = fetch(&w.source, "mastodon:account:interjet", None).await;
    assert_eq!(first.posts.len(), 1);

    let complaint = w.fake.post_status(&w.ana).text("@interjet me cancelaron el vuelo").mention(&w.brand).send();
    let other = w.fake.post_status(&w.ana).text("nada que ver").send();
    w.fake.reblog(&w.brand, &other);
    let reply = w.fake.post_status(&w.brand).text("Lo sentimos, escríbenos por DM").in_reply_to(&complaint).send();

    let second = fetch(&w.source, "mastodon:account:interjet", Some(&first.cursor)).await;
    assert_eq!(second.posts.len(), 1, "only the reply: no customer post, no reblog: {:?}", second.posts);
    let p = &second.posts[0];
    assert_eq!(p.platform_id, reply);
    assert_eq!(p.author, format!("interjet@{}", w.fake.host()));
    assert_eq!(p.in_reply_to_id.as_deref(), Some(complaint.as_str()));
    assert_eq!(p.in_reply_to_author_id.as_deref(), Some(w.ana.as_str()));
    assert_eq!(p.in_reply_to_author, Some(format!("ana@{}", w.fake.host())));

    let requests = w.fake.requests();
    let lookups = requests.iter().filter(|r| r.path == "/api/v1/accounts/lookup").count();
    assert_eq!(lookups, 1, "the account id is cached");
    let last = requests.last().unwrap();
    assert_eq!(last.path, format!("/api/v1/accounts/{}/statuses", w.brand));
    assert_eq!(last.param("exclude_reblogs").as_deref(), Some("true"));
}

#[tokio::test]
async fn an_unknown_brand_account_is_an_error_naming_the_setting() {
    let fake = FakeMastodon::start().await;
    let source = MastodonSource::new(&config(&fake.base_url(), None), &[brand("interjet", &["x"], Some("interjet@mastodon.social"), None)]);
    let err = source.fetch(&query(&source, "mastodon:account:interjet"), None).await.unwrap_err();
    let SourceError::Malformed(m) = err else { panic!("expected Malformed, got {err:?}") };
    assert!(m.contains("interjet@mastodon.social not found on http://"), "{m}");
    assert!(m.contains("[brand.accounts] mastodon"), "{m}");
}

#[tokio::test]
async fn search_finds_nothing_without_full_text_search_and_that_is_not_an_error() {
    let w = world().await;
    let status = w.fake.post_status(&w.ana).text("Interjet perdió mi maleta").send();

    w.fake.set_full_text_search(false);
    let page = fetch(&w.source, "mastodon:search:interjet", None).await;
    assert!(page.posts.is_empty());
    let req = w.fake.requests().pop().unwrap();
    assert_eq!(req.path, "/api/v2/search");
    assert_eq!(req.param("q").as_deref(), Some("Interjet"));
    assert_eq!(req.param("type").as_deref(), Some("statuses"));
    assert_eq!(req.param("limit").as_deref(), Some("40"));

    w.fake.set_full_text_search(true);
    let page = fetch(&w.source, "mastodon:search:interjet", Some(&page.cursor)).await;
    let ids: Vec<&str> = page.posts.iter().map(|p| p.platform_id.as_str()).collect();
    assert_eq!(ids, [status.as_str()]);
    assert_eq!(page.cursor, status);
}

#[tokio::test]
async fn a_refused_source_token_is_unauthorized_and_says_what_to_fix() {
    let fake = FakeMastodon::start().await;
    fake.add_account("interjet", 1);
    let source = MastodonSource::new(&config(&fake.base_url(), Some("not-a-token")), &[brand_interjet()]);
    let err = source.fetch(&query(&source, "mastodon:notifications"), None).await.unwrap_err();
    let SourceError::Unauthorized(m) = err else { panic!("expected Unauthorized, got {err:?}") };
    assert!(m.contains(&format!("mastodon instance {} refused the access token (401 The access token is invalid)", fake.base_url())), "{m}");
    assert!(m.contains("[source.mastodon] access_token_env / access_token_file"), "{m}");
    assert!(m.contains("read:notifications"), "{m}");
    assert!(!m.contains("not-a-token"), "never show the token: {m}");
}

#[tokio::test]
async fn a_refused_brand_token_points_at_the_brand_setting() {
    let fake = FakeMastodon::start().await;
    fake.add_account("interjet", 1);
    let b = brand("interjet", &["Interjet"], Some("interjet"), Some("bad-brand-token"));
    let source = MastodonSource::new(&config(&fake.base_url(), None), &[b]);
    let err = source.fetch(&query(&source, "mastodon:notifications:interjet"), None).await.unwrap_err();
    let SourceError::Unauthorized(m) = err else { panic!("expected Unauthorized, got {err:?}") };
    assert!(m.contains("brand interjet"), "{m}");
    assert!(m.contains("[brand.accounts] mastodon_token_env / mastodon_token_file"), "{m}");
}

#[tokio::test]
async fn a_hashtag_timeline_closed_to_anonymous_readers_says_so() {
    let fake = FakeMastodon::start().await;
    fake.set_public_timelines(false);
    let source = MastodonSource::new(&config(&fake.base_url(), None), &[brand_interjet()]);
    let err = source.fetch(&query(&source, "mastodon:tag:interjet"), None).await.unwrap_err();
    let SourceError::Unauthorized(m) = err else { panic!("expected Unauthorized, got {err:?}") };
    assert!(m.contains("#interjet without a token"), "{m}");
    assert!(m.contains("public timeline preview"), "{m}");
    assert!(m.contains("access_token_env"), "{m}");
}

#[tokio::test]
async fn a_429_is_rate_limited_until_the_iso_reset() {
    let w = world().await;
    w.fake.fail_next(Failure::RateLimited);
    let err = w.source.fetch(&query(&w.source, "mastodon:tag:interjet"), None).await.unwrap_err();
    let SourceError::RateLimited { until: Some(until) } = err else { panic!("expected RateLimited with a reset, got {err:?}") };
    assert!(until > chrono::Utc::now());
    assert_eq!(w.source.http().not_before(), Some(until));
}

#[tokio::test]
async fn a_spent_window_is_remembered_and_the_next_request_is_refused_with_429() {
    let w = world().await;
    w.fake.set_rate_limit_remaining(1);
    fetch(&w.source, "mastodon:tag:interjet", None).await;
    let reset = w.source.http().not_before().expect("remaining 0 sets not_before");
    assert!(reset > chrono::Utc::now());
    let err = w.source.fetch(&query(&w.source, "mastodon:tag:interjet"), None).await.unwrap_err();
    assert!(matches!(err, SourceError::RateLimited { until: Some(u) } if u == reset), "{err:?}");
}

#[tokio::test]
async fn server_errors_are_transient() {
    let w = world().await;
    for failure in [Failure::ServerError(500), Failure::ServerError(502), Failure::Unavailable { retry_after: Duration::from_secs(30) }] {
        w.fake.fail_next(failure.clone());
        let err = w.source.fetch(&query(&w.source, "mastodon:tag:interjet"), None).await.unwrap_err();
        assert!(matches!(err, SourceError::Transient(_)), "{failure:?} gave {err:?}");
    }
}

#[tokio::test]
async fn bodies_that_cannot_be_read_are_malformed_and_the_cursor_survives() {
    let w = world().await;
    w.fake.post_status(&w.ana).text("hola").mention(&w.brand).send();
    let first = fetch(&w.source, "mastodon:notifications", None).await;
    for failure in [Failure::MalformedJson, Failure::TruncatedBody, Failure::HtmlErrorPage] {
        w.fake.fail_next(failure.clone());
        let err = w.source.fetch(&query(&w.source, "mastodon:notifications"), Some(&first.cursor)).await.unwrap_err();
        assert!(matches!(err, SourceError::Malformed(_)), "{failure:?} gave {err:?}");
        let SourceError::Malformed(m) = &err else { unreachable!() };
        match failure {
            Failure::HtmlErrorPage => assert!(m.contains("HTML page"), "{m}"),
            Failure::TruncatedBody => assert!(m.contains("cut short"), "{m}"),
            _ => assert!(m.contains("cannot parse"), "{m}"),
        }
    }
    let later = w.fake.post_status(&w.ana).text("¿hola?").mention(&w.brand).send();
    let page = fetch(&w.source, "mastodon:notifications", Some(&first.cursor)).await;
    assert_eq!(page.posts.iter().map(|p| p.platform_id.clone()).collect::<Vec<_>>(), [later]);
}

async fn json(resp: reqwest::Response) -> serde_json::Value {
    serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap()
}

#[tokio::test]
async fn the_fake_keeps_filters_in_link_headers_and_sends_none_on_empty_pages() {
    let w = world().await;
    let token = w.fake.issue_token(&w.brand);
    w.fake.follow(&w.ana, &w.brand);
    w.fake.post_status(&w.ana).text("hola").mention(&w.brand).send();
    let client = reqwest::Client::new();
    let get = |q: &str| client.get(format!("{}/api/v1/notifications?{q}", w.fake.base_url())).bearer_auth(&token).send();

    let resp = get("types%5B%5D=mention").await.unwrap();
    let link = resp.headers()["link"].to_str().unwrap().to_string();
    assert!(resp.headers()["x-ratelimit-reset"].to_str().unwrap().ends_with('Z'));
    let body = json(resp).await;
    assert_eq!(body.as_array().unwrap().len(), 1, "the follow is filtered out");
    let id = body[0]["id"].as_str().unwrap();
    assert!(link.contains(&format!("?min_id={id}&types%5B%5D=mention>; rel=\"prev\"")), "{link}");
    assert!(link.contains(&format!("?max_id={id}&types%5B%5D=mention>; rel=\"next\"")), "{link}");

    let all = json(get("").await.unwrap()).await;
    assert_eq!(all.as_array().unwrap().len(), 2);

    let empty = get(&format!("min_id={id}&types%5B%5D=mention")).await.unwrap();
    assert!(empty.headers().get("link").is_none());

    let anonymous = client.get(format!("{}/api/v1/notifications", w.fake.base_url())).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
}

#[tokio::test]
async fn the_fake_context_lists_replies_as_descendants() {
    let w = world().await;
    let complaint = w.fake.post_status(&w.ana).text("mal servicio").mention(&w.brand).send();
    let reply = w.fake.post_status(&w.brand).text("lo sentimos").in_reply_to(&complaint).send();
    let url = format!("{}/api/v1/statuses/{complaint}/context", w.fake.base_url());
    let body = json(reqwest::get(url).await.unwrap()).await;
    assert_eq!(body["ancestors"].as_array().unwrap().len(), 0);
    assert_eq!(body["descendants"][0]["id"], reply.as_str());
    assert_eq!(body["descendants"][0]["in_reply_to_account_id"], w.ana.as_str());
}

#[tokio::test]
async fn a_brand_token_alone_reads_that_brands_notifications_and_enables_search() {
    let fake = FakeMastodon::start().await;
    let brand_id = fake.add_account("interjet", 10);
    let ana = fake.add_account("ana", 1);
    let token = fake.issue_token(&brand_id);
    let b = brand("interjet", &["Interjet"], Some("interjet"), Some(&token));
    let source = MastodonSource::new(&config(&fake.base_url(), None), &[b]);
    let keys: Vec<String> = source.queries().into_iter().map(|q| q.key).collect();
    assert_eq!(keys, ["mastodon:notifications:interjet", "mastodon:tag:interjet", "mastodon:search:interjet", "mastodon:account:interjet"]);

    let mention = fake.post_status(&ana).text("Interjet, ¿y mi maleta?").mention(&brand_id).send();
    let page = fetch(&source, "mastodon:notifications:interjet", None).await;
    assert_eq!(page.posts.iter().map(|p| p.platform_id.clone()).collect::<Vec<_>>(), std::slice::from_ref(&mention));
    let page = fetch(&source, "mastodon:search:interjet", None).await;
    assert_eq!(page.posts.iter().map(|p| p.platform_id.clone()).collect::<Vec<_>>(), [mention]);
    let auth = fake.requests().pop().unwrap().authorization;
    assert_eq!(auth, Some(format!("Bearer {token}")));
}
