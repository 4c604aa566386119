//! The Hacker News source against a fake Algolia HN Search API over real
//! HTTP: its queries, how its cursor moves (first poll, later polls, pages,
//! restarts, late-indexed items), the brand's replies, and how rate
//! limits, refusals and broken bodies map to `SourceError`.

#[path = "support/fake_hackernews.rs"]
mod fake_hackernews;

use escucha::config::{Accounts, Brand, Escalate, HackerNewsSource as HnConfig, RespondWithin, Schedule};
use escucha::model::Platform;
use escucha::sources::hackernews::{HackerNewsSource, HITS_PER_PAGE};
use escucha::sources::{Page, Query, QueryKind, SourceError};
use fake_hackernews::{now, Failure, FakeHackerNews};
use std::collections::HashSet;
use std::time::Duration;

fn brand(id: &str, terms: &[&str], hn: Option<&str>) -> Brand {
    Brand {
        id: id.to_string(),
        name: id.to_string(),
        terms: terms.iter().map(|t| t.to_string()).collect(),
        exclude: Vec::new(),
        executives: Vec::new(),
        respond_within: RespondWithin { complaint: Duration::from_secs(1800), escalation: Duration::from_secs(300) },
        oncall: None,
        accounts: Accounts { hackernews: hn.map(str::to_string), ..Accounts::default() },
        escalate: Escalate::default(),
        backfill: Duration::ZERO,
        timezone: chrono_tz::UTC,
        business_hours: None,
        holidays: Vec::new(),
        classify: Default::default(),
    }
}

fn source(api_base: &str, brands: &[Brand]) -> HackerNewsSource {
    let cfg = HnConfig {
        api_base: format!("{api_base}/"),
        schedule: Schedule { every: Duration::from_secs(60), unhealthy_after: Duration::from_secs(1800), expect_within: None },
    };
    HackerNewsSource::new(&cfg, brands)
}

fn acme() -> Brand {
    brand("acme", &["AcmeCoffee"], Some("AcmeCoffeeHQ"))
}

fn query(s: &HackerNewsSource, key: &str) -> Query {
    s.queries().into_iter().find(|q| q.key == key).unwrap_or_else(|| panic!("no query {key}"))
}

async fn fetch(s: &HackerNewsSource, key: &str, cursor: Option<&str>) -> Page {
    s.fetch(&query(s, key), cursor).await.unwrap_or_else(|e| panic!("fetch {key}: {e}"))
}

/// Polls until the source says nothing more waits; returns every post and
/// the final cursor.
async fn poll(s: &HackerNewsSource, key: &str, cursor: &str) -> (Vec<String>, String, usize) {
    let mut cursor = cursor.to_string();
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        let page = fetch(s, key, Some(&cursor)).await;
        pages += 1;
        ids.extend(page.posts.iter().map(|p| p.platform_id.clone()));
        cursor = page.cursor;
        if !page.more {
            return (ids, cursor, pages);
        }
        assert!(pages < 50, "paging never ends");
    }
}

const SEARCH: &str = "hackernews:search:acme";
const ACCOUNT: &str = "hackernews:account:acme";

#[test]
fn queries_are_one_search_per_brand_and_one_per_brand_hn_user() {
    let s = source("https://hn.algolia.com", &[acme(), brand("quiet", &[], None), brand("beta", &["Beta Co", "betaco"], None)]);
    let keys: Vec<String> = s.queries().into_iter().map(|q| q.key).collect();
    assert_eq!(keys, ["hackernews:search:acme", "hackernews:search:beta", "hackernews:account:acme"]);
    let q = query(&s, ACCOUNT);
    assert_eq!(q.kind, QueryKind::AccountActivity { account: "AcmeCoffeeHQ".into() });
    assert_eq!(q.brands, ["acme"]);
    assert!(!q.exclusive, "HN posts can mention any brand");
}

#[tokio::test]
async fn the_first_poll_reads_only_the_newest_page_and_sets_the_cursor() {
    let fake = FakeHackerNews::start().await;
    let story = fake.story("pg", "Show HN: a latte robot for AcmeCoffee", None);
    fake.comment("tcas", &story, "We switched to AcmeCoffee &ndash; love it.<p>Support is fast.");
    fake.comment("other", &story, "unrelated");
    let s = source(&fake.base_url(), &[acme()]);
    let page = fetch(&s, SEARCH, None).await;
    assert_eq!(page.posts.len(), 2);
    assert!(!page.more);
    assert!(!page.cursor.is_empty());
    let comment = page.posts.iter().find(|p| p.author == "tcas").unwrap();
    assert_eq!(comment.text, "We switched to AcmeCoffee – love it.\n\nSupport is fast.");
    assert_eq!(comment.platform, Platform::HackerNews);
    assert_eq!(comment.in_reply_to_id.as_deref(), Some(story.as_str()));
    assert_eq!(comment.conversation_id.as_deref(), Some(story.as_str()));
    assert_eq!(comment.url, format!("https://news.ycombinator.com/item?id={}", comment.platform_id));

    let req = fake.requests().pop().unwrap();
    assert_eq!(req.path, "/api/v1/search_by_date", "no double slash from the configured trailing slash");
    assert_eq!(req.param("query").as_deref(), Some("AcmeCoffee"));
    assert_eq!(req.param("tags").as_deref(), Some("(story,comment)"));
    assert_eq!(req.param("hitsPerPage"), Some(HITS_PER_PAGE.to_string()));
    assert_eq!(req.param("page").as_deref(), Some("0"));
    assert_eq!(req.param("numericFilters"), None, "the first poll reads the newest page, whatever its age");
}

#[tokio::test]
async fn new_mentions_after_the_cursor_are_returned_exactly_once() {
    let fake = FakeHackerNews::start().await;
    let story = fake.story_at("pg", "AcmeCoffee raises prices", now() - 100);
    let s = source(&fake.base_url(), &[acme()]);
    let first = fetch(&s, SEARCH, None).await;
    assert_eq!(first.posts.len(), 1);

    let (ids, cursor, _) = poll(&s, SEARCH, &first.cursor).await;
    assert!(ids.is_empty(), "nothing new: {ids:?}");
    let filters = fake.requests().pop().unwrap().param("numericFilters").unwrap();
    assert!(filters.starts_with("created_at_i>="), "{filters}");

    let new = fake.comment("dana", &story, "AcmeCoffee broke my grinder and support never answered");
    let (ids, cursor, pages) = poll(&s, SEARCH, &cursor).await;
    assert_eq!(ids, std::slice::from_ref(&new));
    assert_eq!(pages, 1);
    let (ids, _, _) = poll(&s, SEARCH, &cursor).await;
    assert!(ids.is_empty(), "returned once: {ids:?}");
}

#[tokio::test]
async fn a_comment_indexed_late_with_an_older_timestamp_is_not_lost() {
    let fake = FakeHackerNews::start().await;
    let story = fake.story_at("pg", "AcmeCoffee thread", now() - 30);
    let s = source(&fake.base_url(), &[acme()]);
    let first = fetch(&s, SEARCH, None).await;
    let (_, cursor, _) = poll(&s, SEARCH, &first.cursor).await;
    // Stamped before the newest item we saw, but it reaches the index now.
    let late = fake.comment_at("eve", &story, "AcmeCoffee lost my order", now() - 60);
    let (ids, _, _) = poll(&s, SEARCH, &cursor).await;
    assert_eq!(ids, [late]);
}

#[tokio::test]
async fn a_burst_larger_than_a_page_is_read_over_pages_without_gaps_or_duplicates() {
    let fake = FakeHackerNews::start().await;
    let story = fake.story_at("pg", "AcmeCoffee megathread", now() - 1000);
    let s = source(&fake.base_url(), &[acme()]);
    let first = fetch(&s, SEARCH, None).await;
    let base = now() - 500;
    let burst: Vec<String> = (0..250).map(|i| fake.comment_at(&format!("u{i}"), &story, &format!("AcmeCoffee comment {i}"), base + i / 3)).collect();
    let (ids, _, pages) = poll(&s, SEARCH, &first.cursor).await;
    assert_eq!(pages, 3, "250 hits at 100 per page");
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "no duplicates");
    assert_eq!(unique, burst.iter().collect::<HashSet<_>>(), "no gaps");
    let pages_asked: Vec<String> = fake.requests().iter().rev().take(3).filter_map(|r| r.param("page")).collect();
    assert_eq!(pages_asked, ["2", "1", "0"]);
    let bounded = fake.requests().last().unwrap().param("numericFilters").unwrap();
    assert!(bounded.contains("created_at_i<="), "later pages keep an upper bound: {bounded}");
}

#[tokio::test]
async fn a_burst_past_algolias_thousand_hit_cap_is_still_read_whole() {
    let fake = FakeHackerNews::start().await;
    let story = fake.story_at("pg", "AcmeCoffee megathread", now() - 4000);
    let s = source(&fake.base_url(), &[acme()]);
    let first = fetch(&s, SEARCH, None).await;
    let base = now() - 2000;
    let burst: Vec<String> = (0..1150).map(|i| fake.comment_at("u", &story, &format!("AcmeCoffee comment {i}"), base + i)).collect();
    let (ids, cursor, pages) = poll(&s, SEARCH, &first.cursor).await;
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "no duplicates");
    assert_eq!(unique, burst.iter().collect::<HashSet<_>>(), "no gaps past the cap");
    assert!(pages >= 12, "{pages}");
    assert!(fake.requests().iter().all(|r| r.param("page").is_none_or(|p| p.parse::<u32>().unwrap() < 10)));
    let (again, _, _) = poll(&s, SEARCH, &cursor).await;
    assert!(again.is_empty());
}

#[tokio::test]
async fn a_restart_between_pages_resumes_without_gaps_or_duplicates() {
    let fake = FakeHackerNews::start().await;
    let story = fake.story_at("pg", "AcmeCoffee megathread", now() - 1000);
    let s = source(&fake.base_url(), &[acme()]);
    let first = fetch(&s, SEARCH, None).await;
    let base = now() - 500;
    let burst: Vec<String> = (0..230).map(|i| fake.comment_at(&format!("u{i}"), &story, &format!("AcmeCoffee comment {i}"), base + i)).collect();
    let page1 = fetch(&s, SEARCH, Some(&first.cursor)).await;
    assert!(page1.more);
    // The process dies here: the store kept page 1 and its cursor.
    drop(s);
    // Meanwhile more arrive, newer than the poll's upper bound.
    let later = fake.comment("late", &story, "AcmeCoffee again");
    let s = source(&fake.base_url(), &[acme()]);
    let (rest, cursor, _) = poll(&s, SEARCH, &page1.cursor).await;
    let mut all: Vec<String> = page1.posts.iter().map(|p| p.platform_id.clone()).collect();
    all.extend(rest);
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "no duplicates");
    assert_eq!(unique, burst.iter().collect::<HashSet<_>>(), "no gaps, and nothing past the poll's upper bound");
    let (next, _, _) = poll(&s, SEARCH, &cursor).await;
    assert_eq!(next, [later], "the newer comment comes in the next poll");
}

#[tokio::test]
async fn the_brands_reply_comes_through_its_account_query_with_in_reply_to_set() {
    let fake = FakeHackerNews::start().await;
    let story = fake.story("pg", "Ask HN: coffee for the office?", None);
    let s = source(&fake.base_url(), &[acme()]);
    let first = fetch(&s, ACCOUNT, None).await;
    assert!(first.posts.is_empty());
    let complaint = fake.comment("dana", &story, "AcmeCoffee charged me twice and nobody answers");
    let reply = fake.comment("AcmeCoffeeHQ", &complaint, "Sorry Dana, we refunded the second charge.");
    fake.comment("someone", &story, "not the brand");
    let (ids, _, _) = poll(&s, ACCOUNT, &first.cursor).await;
    assert_eq!(ids, std::slice::from_ref(&reply));
    let req = fake.requests().pop().unwrap();
    assert_eq!(req.param("tags").as_deref(), Some("comment,author_AcmeCoffeeHQ"));
    assert_eq!(req.param("query"), None);

    let page = fetch(&source(&fake.base_url(), &[acme()]), ACCOUNT, None).await;
    let post = page.posts.iter().find(|p| p.platform_id == reply).unwrap();
    assert_eq!(post.author, "acmecoffeehq", "lowercased as the matcher normalizes accounts");
    assert_eq!(post.in_reply_to_id.as_deref(), Some(complaint.as_str()));
    assert_eq!(post.conversation_id.as_deref(), Some(story.as_str()));
}

#[tokio::test]
async fn a_brand_with_several_terms_polls_each_and_says_more_until_the_last() {
    let fake = FakeHackerNews::start().await;
    let s = source(&fake.base_url(), &[brand("beta", &["Beta Co", "betaco"], None)]);
    let key = "hackernews:search:beta";
    let first = fetch(&s, key, None).await;
    assert_eq!(fake.requests().len(), 2, "one request per term");
    let a = fake.story("x", "Beta Co outage again", None);
    let b = fake.story("y", "betaco support is great", None);
    let p1 = fetch(&s, key, Some(&first.cursor)).await;
    assert!(p1.more);
    let p2 = fetch(&s, key, Some(&p1.cursor)).await;
    assert!(!p2.more);
    let got: HashSet<String> = p1.posts.iter().chain(&p2.posts).map(|p| p.platform_id.clone()).collect();
    assert_eq!(got, HashSet::from([a, b]));
    let queries: Vec<String> = fake.requests().iter().skip(2).filter_map(|r| r.param("query")).collect();
    assert_eq!(queries, ["Beta Co", "betaco"]);
}

#[tokio::test]
async fn a_429_is_rate_limited_until_retry_after_and_the_cursor_survives() {
    let fake = FakeHackerNews::start().await;
    let s = source(&fake.base_url(), &[acme()]);
    let first = fetch(&s, SEARCH, None).await;
    let story = fake.story("pg", "AcmeCoffee news", None);
    fake.fail_next(Failure::RateLimited { retry_after: Some(120) });
    let before = chrono::Utc::now();
    match s.fetch(&query(&s, SEARCH), Some(&first.cursor)).await {
        Err(SourceError::RateLimited { until: Some(until) }) => {
            let wait = (until - before).num_seconds();
            assert!((118..=122).contains(&wait), "until {until} is Retry-After from now");
        }
        other => panic!("expected RateLimited with a reset, got {other:?}"),
    }
    assert!(s.http().not_before().is_some(), "the daemon waits before the next request");
    let (ids, _, _) = poll(&s, SEARCH, &first.cursor).await;
    assert_eq!(ids, [story]);
}

#[tokio::test]
async fn a_refusal_is_unauthorized_and_says_the_api_needs_no_credentials() {
    let fake = FakeHackerNews::start().await;
    let s = source(&fake.base_url(), &[acme()]);
    fake.fail_next(Failure::Forbidden);
    match s.fetch(&query(&s, SEARCH), None).await {
        Err(SourceError::Unauthorized(m)) => {
            assert!(m.contains("[source.hackernews] api_base") && m.contains("403"), "{m}");
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn server_errors_are_transient() {
    let fake = FakeHackerNews::start().await;
    let s = source(&fake.base_url(), &[acme()]);
    for code in [500, 502, 503] {
        fake.fail_next(Failure::ServerError(code));
        let r = s.fetch(&query(&s, SEARCH), None).await;
        assert!(matches!(r, Err(SourceError::Transient(_))), "{code}: {r:?}");
    }
}

#[tokio::test]
async fn bodies_that_cannot_be_read_are_malformed_and_the_cursor_survives() {
    let fake = FakeHackerNews::start().await;
    let s = source(&fake.base_url(), &[acme()]);
    let first = fetch(&s, SEARCH, None).await;
    let story = fake.story("pg", "AcmeCoffee news", None);
    for failure in [Failure::MalformedJson, Failure::HtmlPage, Failure::EmptyBody] {
        fake.fail_next(failure.clone());
        match s.fetch(&query(&s, SEARCH), Some(&first.cursor)).await {
            Err(SourceError::Malformed(m)) => assert!(m.starts_with("hackernews"), "{failure:?}: {m}"),
            other => panic!("{failure:?}: expected Malformed, got {other:?}"),
        }
    }
    let (ids, _, _) = poll(&s, SEARCH, &first.cursor).await;
    assert_eq!(ids, [story]);
}

#[tokio::test]
async fn the_fake_caps_pages_at_a_thousand_hits_and_ors_tags_in_parentheses() {
    let fake = FakeHackerNews::start().await;
    let story = fake.story_at("pg", "big", now() - 5000);
    for i in 0..1005 {
        fake.comment_at("u", &story, "hit", now() - 4000 + i);
    }
    let client = reqwest::Client::new();
    let get = |q: &str| {
        let url = format!("{}/api/v1/search_by_date?{q}", fake.base_url());
        let client = client.clone();
        async move { serde_json::from_slice::<serde_json::Value>(&client.get(url).send().await.unwrap().bytes().await.unwrap()).unwrap() }
    };
    let v = get("tags=comment&hitsPerPage=100").await;
    assert_eq!((v["nbHits"].as_u64(), v["nbPages"].as_u64()), (Some(1005), Some(10)));
    let v = get("tags=(story,comment)&hitsPerPage=0").await;
    assert_eq!(v["nbHits"].as_u64(), Some(1006));
    let v = get("tags=story,author_pg").await;
    assert_eq!(v["hits"][0]["objectID"].as_str(), Some(story.as_str()));
    assert!(v["hits"][0]["story_id"].is_u64(), "story_id is an integer, objectID a string");
    let bad = client.get(format!("{}/api/v1/search_by_date?numericFilters=points%3E%3E1", fake.base_url())).send().await.unwrap();
    assert_eq!(bad.status(), 400);
}
