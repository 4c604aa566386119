//! The feed source against a fake feed host over real HTTP: one query per
//! `[[source.feed]]`, the first poll returning every entry, later polls only
//! unseen ones (across restarts), conditional GETs answered 304, Google
//! Alerts and WordPress shapes, and how failures map to `SourceError`
//! without the secret feed URL in any message.

#[path = "support/fake_feed.rs"]
mod fake_feed;

use escucha::config::{FeedSource as FeedConfig, Schedule, Secret};
use escucha::model::Platform;
use escucha::sources::feed::{query_key, FeedSource};
use escucha::sources::{Page, Query, QueryKind, SourceError};
use fake_feed::{Failure, FakeFeed, Kind, NewEntry};
use std::time::Duration;

fn cfg(url: &str, brand: &str, terms: bool, every: Duration) -> FeedConfig {
    FeedConfig {
        url: Secret::new(url),
        brand: brand.to_string(),
        terms,
        schedule: Schedule { every, unhealthy_after: Duration::from_secs(1800), expect_within: None },
    }
}

/// One feed, always due (its own `every` is tested separately).
fn one(url: &str) -> (FeedSource, Query) {
    let s = FeedSource::new(&[cfg(url, "acme", false, Duration::ZERO)], &[]);
    let q = s.queries().remove(0);
    (s, q)
}

async fn fetch(s: &FeedSource, q: &Query, cursor: Option<&str>) -> Page {
    s.fetch(q, cursor).await.unwrap_or_else(|e| panic!("fetch {}: {e}", q.key))
}

fn ids(page: &Page) -> Vec<String> {
    page.posts.iter().map(|p| p.platform_id.clone()).collect()
}

/// The private part of a fake Google Alerts URL, which must never show.
fn secret_part(url: &str) -> String {
    url.split("/alerts/feeds/").nth(1).unwrap().to_string()
}

#[test]
fn each_feed_is_one_exclusive_query_of_its_brand_with_a_stable_key() {
    let feeds = [
        cfg("https://www.google.com/alerts/feeds/1/2", "acme", false, Duration::from_secs(600)),
        cfg("https://blog.example.com/comments/feed/", "beta", true, Duration::from_secs(60)),
        cfg("https://www.google.com/alerts/feeds/1/2", "acme", false, Duration::from_secs(600)),
    ];
    let s = FeedSource::new(&feeds, &[]);
    let qs = s.queries();
    assert_eq!(qs.len(), 3);
    assert_eq!(qs[0].key, query_key("acme", "https://www.google.com/alerts/feeds/1/2"));
    assert_eq!(qs[1].key, query_key("beta", "https://blog.example.com/comments/feed/"));
    assert_ne!(qs[2].key, qs[0].key, "the same feed twice still has distinct keys");
    assert_eq!(qs[1].kind, QueryKind::Feed { index: 1 });
    assert_eq!(qs[1].brands, ["beta"]);
    assert!(qs.iter().all(|q| q.exclusive));
    assert!(qs.iter().all(|q| !q.key.contains("alerts")), "keys do not carry the URL");
    assert_eq!(s.every(), Duration::from_secs(60), "the source polls at the pace of its most frequent feed");
    assert_eq!(FeedSource::new(&feeds, &[]).queries(), qs, "stable");
}

#[tokio::test]
async fn the_recorded_google_alert_is_read_whole_on_the_first_poll() {
    let fake = FakeFeed::start().await;
    let url =
        fake.add_raw("/alerts/feeds/04175468913983673025/4428013283581841004", "application/atom+xml", include_str!("fixtures/feed/google_alerts_atom.xml"));
    let (s, q) = one(&url);
    let page = fetch(&s, &q, None).await;
    assert!(page.posts.len() >= 4, "{}", page.posts.len());
    assert!(!page.more);
    let p = &page.posts[0];
    assert_eq!(p.platform, Platform::Feed);
    assert_eq!(p.platform_id, "tag:google.com,2013:googlealerts/feed:8974135267215335962");
    assert!(p.url.starts_with("https://www.aglobalmarketresearch.com/"), "{}", p.url);
    assert!(p.text.contains("Automotive Slack Market") && !p.text.contains("<b>"), "{}", p.text);
    assert!(page.posts.iter().all(|p| p.addressed_to_token_account));
    let again = fetch(&s, &q, Some(&page.cursor)).await;
    assert!(again.posts.is_empty(), "the same entries are not new: {:?}", ids(&again));
}

#[tokio::test]
async fn later_polls_return_only_unseen_entries_once_and_survive_a_restart() {
    let fake = FakeFeed::start().await;
    let url = fake.add_feed(Kind::GoogleAlerts, "AcmeCoffee");
    let old = fake.publish(&url, NewEntry::new("AcmeCoffee opens a store", "The chain AcmeCoffee opened").highlight("AcmeCoffee"));
    let (s, q) = one(&url);
    let first = fetch(&s, &q, None).await;
    assert_eq!(ids(&first), std::slice::from_ref(&old));

    let new = fake.publish(
        &url,
        NewEntry::new("AcmeCoffee customers angry", "AcmeCoffee charged customers twice").highlight("AcmeCoffee").link("https://news.example.com/a?x=1&y=2"),
    );
    let second = fetch(&s, &q, Some(&first.cursor)).await;
    assert_eq!(ids(&second), std::slice::from_ref(&new));
    let p = &second.posts[0];
    assert_eq!(p.url, "https://news.example.com/a?x=1&y=2", "the Google redirect is unwrapped");
    assert_eq!(p.author, "news.example.com", "Google Alerts entries have no author: the site's domain stands in");
    assert_eq!(p.text, "AcmeCoffee customers angry\n\nAcmeCoffee charged customers twice ...");

    // A restart: a new source instance with the stored cursor.
    let (s, q) = one(&url);
    let third = fetch(&s, &q, Some(&second.cursor)).await;
    assert!(third.posts.is_empty(), "no duplicates after a restart: {:?}", ids(&third));
    let newer = fake.publish(&url, NewEntry::new("AcmeCoffee again", "more"));
    let fourth = fetch(&s, &q, Some(&third.cursor)).await;
    assert_eq!(ids(&fourth), [newer]);
}

#[tokio::test]
async fn an_unchanged_feed_is_answered_304_and_keeps_the_cursor() {
    let fake = FakeFeed::start().await;
    let url = fake.add_feed(Kind::WordPress, "Brewing Notes");
    fake.publish(&url, NewEntry::new("Comment by Sam", "AcmeCoffee is great").author("Sam"));
    let (s, q) = one(&url);
    let first = fetch(&s, &q, None).await;
    let first_req = fake.requests().pop().unwrap();
    assert_eq!((first_req.if_none_match, first_req.if_modified_since), (None, None));
    assert!(first_req.accept.unwrap().contains("application/rss+xml"));

    let second = fetch(&s, &q, Some(&first.cursor)).await;
    let req = fake.requests().pop().unwrap();
    assert_eq!(req.if_none_match.as_deref(), Some("\"v2\""));
    assert!(req.if_modified_since.is_some());
    assert!(second.posts.is_empty());
    assert_eq!(second.cursor, first.cursor, "a 304 keeps the cursor as it was");

    // Only Last-Modified: If-Modified-Since alone gets the 304.
    fake.set_validators(false, true);
    let (s, q) = one(&url);
    let third = fetch(&s, &q, None).await;
    let fourth = fetch(&s, &q, Some(&third.cursor)).await;
    let req = fake.requests().pop().unwrap();
    assert_eq!(req.if_none_match, None);
    assert!(req.if_modified_since.is_some());
    assert_eq!(fourth.cursor, third.cursor);
    fake.publish(&url, NewEntry::new("Comment by Ana", "AcmeCoffee lost my order").author("Ana"));
    let fifth = fetch(&s, &q, Some(&fourth.cursor)).await;
    assert_eq!(fifth.posts.len(), 1, "a changed feed is read again");
}

#[tokio::test]
async fn wordpress_comments_carry_their_author_guid_date_and_language() {
    let fake = FakeFeed::start().await;
    let url = fake.add_feed(Kind::WordPress, "Brewing Notes");
    let at = chrono::DateTime::parse_from_rfc3339("2024-03-11T18:02:10Z").unwrap().with_timezone(&chrono::Utc);
    let guid = fake.publish(&url, NewEntry::new("Comment on Five roasters by Sam", "AcmeCoffee & co: <great>").author("Sam Díaz").published(at));
    let linked = fake.publish(&url, NewEntry::new("No guid here", "body").author("Lu").link("https://blog.example.com/p/#comment-77").no_guid());
    let (s, q) = one(&url);
    let page = fetch(&s, &q, None).await;
    let p = page.posts.iter().find(|p| p.platform_id == guid).unwrap();
    assert_eq!(p.author, "sam díaz");
    assert_eq!(p.created_at, at);
    assert_eq!(p.lang.as_deref(), Some("en"));
    assert_eq!(p.text, "Comment on Five roasters by Sam\n\nAcmeCoffee & co: <great>");
    assert_eq!(linked, "https://blog.example.com/p/#comment-77");
    assert!(page.posts.iter().any(|p| p.platform_id == linked), "an entry without guid is known by its link");
    let again = fetch(&s, &q, Some(&page.cursor)).await;
    assert!(again.posts.is_empty(), "and it is the same entry on the next poll");
}

#[tokio::test]
async fn an_unreadable_cursor_never_turns_the_whole_feed_into_new_mentions() {
    let fake = FakeFeed::start().await;
    let url = fake.add_feed(Kind::WordPress, "Brewing Notes");
    fake.publish(&url, NewEntry::new("Comment by Sam", "old comment").author("Sam"));
    let (s, q) = one(&url);
    let page = fetch(&s, &q, Some("not a cursor")).await;
    assert!(page.posts.is_empty());
    let new = fake.publish(&url, NewEntry::new("Comment by Ana", "new comment").author("Ana"));
    let next = fetch(&s, &q, Some(&page.cursor)).await;
    assert_eq!(ids(&next), [new]);
}

#[tokio::test]
async fn a_feed_with_terms_leaves_matching_to_the_brands_terms() {
    let fake = FakeFeed::start().await;
    let url = fake.add_feed(Kind::WordPress, "Reviews");
    fake.publish(&url, NewEntry::new("Review", "nice place").author("Ana"));
    let s = FeedSource::new(&[cfg(&url, "acme", true, Duration::from_secs(60))], &[]);
    let q = s.queries().remove(0);
    let page = fetch(&s, &q, None).await;
    assert!(!page.posts[0].addressed_to_token_account);
}

#[tokio::test]
async fn a_feed_is_not_fetched_again_before_its_own_every() {
    let fake = FakeFeed::start().await;
    let fast = fake.add_feed(Kind::WordPress, "fast");
    let slow = fake.add_feed(Kind::WordPress, "slow");
    let s = FeedSource::new(&[cfg(&fast, "acme", false, Duration::from_secs(1)), cfg(&slow, "acme", false, Duration::from_secs(3600))], &[]);
    let qs = s.queries();
    let first = fetch(&s, &qs[1], None).await;
    let before = fake.requests().len();
    fake.publish(&slow, NewEntry::new("t", "AcmeCoffee"));
    let page = fetch(&s, &qs[1], Some(&first.cursor)).await;
    assert_eq!(fake.requests().len(), before, "not due: no request");
    assert!(page.posts.is_empty());
    assert_eq!(page.cursor, first.cursor);
    // A restart forgets when it last fetched: the feed is read at once.
    let s = FeedSource::new(&[cfg(&fast, "acme", false, Duration::from_secs(1)), cfg(&slow, "acme", false, Duration::from_secs(3600))], &[]);
    let page = fetch(&s, &qs[1], Some(&first.cursor)).await;
    assert_eq!(page.posts.len(), 1);
}

#[tokio::test]
async fn a_429_is_rate_limited_until_retry_after() {
    let fake = FakeFeed::start().await;
    let url = fake.add_feed(Kind::GoogleAlerts, "AcmeCoffee");
    let (s, q) = one(&url);
    fake.fail_next(Failure::RateLimited { retry_after: 300 });
    let before = chrono::Utc::now();
    match s.fetch(&q, None).await {
        Err(SourceError::RateLimited { until: Some(until) }) => assert!(((until - before).num_seconds() - 300).abs() <= 2, "{until}"),
        other => panic!("expected RateLimited, got {other:?}"),
    }
}

#[tokio::test]
async fn a_refused_feed_is_unauthorized_naming_the_host_and_setting_but_not_the_url() {
    let fake = FakeFeed::start().await;
    let url = fake.add_feed(Kind::GoogleAlerts, "AcmeCoffee");
    let (s, q) = one(&url);
    fake.fail_next(Failure::Forbidden);
    match s.fetch(&q, None).await {
        Err(SourceError::Unauthorized(m)) => {
            assert!(m.contains("127.0.0.1") && m.contains("403") && m.contains("[[source.feed]] url"), "{m}");
            assert!(!m.contains(&secret_part(&url)), "the private URL leaked: {m}");
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn failures_map_to_transient_or_malformed_without_the_url_and_the_cursor_survives() {
    let fake = FakeFeed::start().await;
    let url = fake.add_feed(Kind::GoogleAlerts, "AcmeCoffee");
    let (s, q) = one(&url);
    let first = fetch(&s, &q, None).await;
    let secret = secret_part(&url);
    let cases = [
        (Failure::ServerError(500), "transient"),
        (Failure::ServerError(503), "transient"),
        (Failure::HtmlPage, "malformed"),
        (Failure::MalformedXml, "malformed"),
        (Failure::EmptyBody, "malformed"),
    ];
    for (failure, want) in cases {
        fake.fail_next(failure.clone());
        let (s, q) = one(&url);
        let err = s.fetch(&q, Some(&first.cursor)).await.expect_err("a failure");
        let got = match &err {
            SourceError::Transient(_) => "transient",
            SourceError::Malformed(_) => "malformed",
            _ => "other",
        };
        assert_eq!(got, want, "{failure:?}: {err}");
        assert!(!err.to_string().contains(&secret), "{failure:?} leaked the URL: {err}");
        assert!(err.to_string().contains("127.0.0.1"), "{failure:?} names the host: {err}");
    }
    let gone = format!("{}/alerts/feeds/deleted/alert", fake.base_url());
    let (s2, q2) = one(&gone);
    let err = s2.fetch(&q2, None).await.expect_err("404");
    assert!(matches!(err, SourceError::Malformed(_)) && err.to_string().contains("404") && !err.to_string().contains("deleted/alert"), "{err}");
    let new = fake.publish(&url, NewEntry::new("AcmeCoffee", "after the outage"));
    let page = fetch(&s, &q, Some(&first.cursor)).await;
    assert_eq!(ids(&page), [new]);
}

#[tokio::test]
async fn an_unreachable_feed_is_transient_and_says_only_its_host() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("http://127.0.0.1:{port}/alerts/feeds/PRIVATE123/456");
    let (s, q) = one(&url);
    let err = s.fetch(&q, None).await.expect_err("nothing listens");
    assert!(matches!(err, SourceError::Transient(_)), "{err}");
    assert!(!err.to_string().contains("PRIVATE123"), "{err}");
}

#[tokio::test]
async fn a_spanish_comment_full_of_entities_becomes_plain_decoded_text() {
    // As WordPress and Google Alerts write Spanish: named references inside
    // CDATA (HTML as is) or XML-escaped in an html title (`&amp;eacute;`),
    // curly quotes as numeric references, and blocks as `<div>`s.
    let fake = FakeFeed::start().await;
    let rss = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Comentarios</title><link>https://blog.example.es</link><description>Un blog</description><language>es-ES</language>
<item><title>Comentario en &#171;Caf&#233;s&#187; por Mar&#237;a</title><link>https://blog.example.es/p/#comment-5</link><guid isPermaLink="false">https://blog.example.es/?p=1#comment-5</guid>
<description><![CDATA[&iexcl;Qu&eacute; mal servicio!]]></description>
<content:encoded><![CDATA[<div>&iexcl;Qu&eacute; mal servicio en AcmeCaf&eacute;!</div><div>Esper&eacute; 40&nbsp;minutos&hellip; y el caf&eacute; lleg&oacute; fr&iacute;o.</div><ul><li>Peque&ntilde;o</li><li>Caro</li></ul><p>No vuelvo &mdash; it&rsquo;s a shame &amp; &amp;eacute; &foo;</p>]]></content:encoded></item>
</channel></rss>"#;
    let url = fake.add_raw("/comments/feed/", "application/rss+xml; charset=UTF-8", rss);
    let (s, q) = one(&url);
    let page = fetch(&s, &q, None).await;
    assert_eq!(page.posts.len(), 1);
    assert_eq!(
        page.posts[0].text,
        "Comentario en «Cafés» por María\n\n¡Qué mal servicio en AcmeCafé!\nEsperé 40 minutos… y el café llegó frío.\n\nPequeño\nCaro\n\nNo vuelvo — it’s a shame & &eacute; &foo;"
    );
    assert_eq!(page.posts[0].lang.as_deref(), Some("es"));

    let atom = r#"<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><id>tag:google.com,2005:reader/user/1/state/com.google/alerts/2</id><title>Alerta de Google: AcmeCaf&#233;</title><updated>2024-03-11T18:02:10Z</updated>
<entry><id>tag:google.com,2013:googlealerts/feed:77</id><title type="html">&lt;b&gt;AcmeCaf&amp;eacute;&lt;/b&gt;: &amp;iquest;qu&amp;eacute; pas&amp;oacute;?</title><link href="https://www.google.com/url?rct=j&amp;sa=t&amp;url=https://noticias.example.es/a&amp;ct=ga"/><published>2024-03-11T18:02:10Z</published><updated>2024-03-11T18:02:10Z</updated><content type="html">Los clientes de &lt;b&gt;AcmeCaf&amp;eacute;&lt;/b&gt; se quejan&amp;nbsp;...</content><author><name></name></author></entry></feed>"#;
    let url = fake.add_raw("/alerts/feeds/1/2", "application/atom+xml", atom);
    let (s, q) = one(&url);
    let page = fetch(&s, &q, None).await;
    assert_eq!(page.posts[0].text, "AcmeCafé: ¿qué pasó?\n\nLos clientes de AcmeCafé se quejan ...");
}
