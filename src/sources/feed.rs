//! Feed source: every `[[source.feed]]` (RSS 2.0 or Atom: Google Alerts,
//! blog and review-site comment feeds), one query per feed. Owns the
//! conditional GET, the cursor of entry ids already seen, and the mapping
//! from entries to [`Post`]s (REFERENCE.md section 6). A feed belongs to one
//! brand: its entries are that brand's mentions unless the feed says
//! `terms = true`. The feed URL is a secret (Google Alerts URLs carry a
//! private token): only its host ever reaches a message or a log.

use super::http::{truncate_body, Http, Response};
use super::{Page, Query, QueryKind, SourceError};
use crate::config::{Brand, Secret};
use crate::model::{Platform, Post};
use crate::text::html_to_text;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;
// Tokio's clock: the same as std's in production, virtual under a paused test runtime.
use tokio::time::Instant;
use url::Url;

/// Entry ids a cursor remembers at least (feeds show their latest ~20-50).
pub const SEEN_LIMIT: usize = 500;

const ACCEPT: &str = "application/atom+xml, application/rss+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1";

/// One configured feed, as the source reads it.
pub struct Feed {
    url: Secret,
    /// Host of the URL, the only part of it shown anywhere.
    host: String,
    brand: String,
    terms: bool,
    every: Duration,
}

impl Feed {
    pub fn new(f: &crate::config::FeedSource) -> Feed {
        Feed { host: host_of(f.url.expose()), url: f.url.clone(), brand: f.brand.clone(), terms: f.terms, every: f.schedule.every }
    }
}

pub struct FeedSource {
    http: Http,
    /// The shortest `every` of the feeds: the daemon polls the source at this
    /// pace and feeds with a longer `every` skip the rounds they are not due.
    every: Duration,
    feeds: Vec<Feed>,
    queries: Vec<Query>,
    /// When each feed (by index) was last fetched by this process.
    fetched: Mutex<HashMap<usize, Instant>>,
}

impl FeedSource {
    pub fn new(cfg: &[crate::config::FeedSource], _brands: &[Brand]) -> FeedSource {
        let feeds: Vec<Feed> = cfg.iter().map(Feed::new).collect();
        let mut queries: Vec<Query> = Vec::new();
        for (index, f) in cfg.iter().enumerate() {
            let mut key = query_key(&f.brand, f.url.expose());
            // The same URL twice for one brand: still one key each.
            if queries.iter().any(|q| q.key == key) {
                key = format!("{key}:{index}");
            }
            queries.push(Query { key, brands: vec![f.brand.clone()], exclusive: true, kind: QueryKind::Feed { index } });
        }
        FeedSource {
            http: Http::new("feed"),
            every: feeds.iter().map(|f| f.every).min().unwrap_or(Duration::from_secs(600)),
            feeds,
            queries,
            fetched: Mutex::new(HashMap::new()),
        }
    }

    pub fn queries(&self) -> Vec<Query> {
        self.queries.clone()
    }

    pub fn every(&self) -> Duration {
        self.every
    }

    pub fn http(&self) -> &Http {
        &self.http
    }

    /// Fetches the feed of `q`. Feeds have no "newer than" parameter: the
    /// whole feed is read each time and entries whose id the cursor holds
    /// are dropped. The first poll (no cursor) returns every entry; the
    /// daemon keeps those as history.
    pub async fn fetch(&self, q: &Query, cursor: Option<&str>) -> Result<Page, SourceError> {
        let QueryKind::Feed { index } = q.kind else {
            return Err(SourceError::Malformed(format!("feed: query {} is not a feed query", q.key)));
        };
        let feed =
            self.feeds.get(index).ok_or_else(|| SourceError::Malformed(format!("feed: query {} names feed #{index}, which is not configured", q.key)))?;
        // A cursor we cannot read (hand-edited, foreign) must not turn the
        // whole feed into new mentions: its entries are taken as seen.
        let mut unreadable = false;
        let prev = cursor.map(|c| {
            Cursor::parse(c).unwrap_or_else(|| {
                tracing::warn!(query = %q.key, "unreadable feed cursor; taking the feed's current entries as seen");
                unreadable = true;
                Cursor::default()
            })
        });
        if let Some(prev) = &prev {
            if !self.due(index, feed.every) {
                return Ok(Page { posts: Vec::new(), cursor: prev.encode(), more: false });
            }
        }
        let mut req = self.http.client().get(feed.url.expose()).header("accept", ACCEPT);
        if let Some(prev) = &prev {
            if let Some(etag) = &prev.etag {
                req = req.header("if-none-match", etag);
            }
            if let Some(lm) = &prev.last_modified {
                req = req.header("if-modified-since", lm);
            }
        }
        let mut resp = self.http.exchange(req).await.map_err(|e| self.explain(e, feed, index))?;
        self.fetched.lock().unwrap().insert(index, Instant::now());
        if resp.status.as_u16() == 304 {
            let cursor = prev.unwrap_or_default();
            return Ok(Page { posts: Vec::new(), cursor: cursor.encode(), more: false });
        }
        if !resp.status.is_success() {
            // Error pages may echo the address; scrub before any message
            // quotes the body.
            resp.body = excerpt(&resp.body, feed.url.expose()).into_bytes();
        }
        let resp = self.http.check(resp).map_err(|e| self.explain(e, feed, index))?;
        let entries = parse_posts(&resp, feed)?;
        let etag = header(&resp, "etag");
        let last_modified = header(&resp, "last-modified");
        let seen: HashSet<&str> = prev.as_ref().map(|p| p.seen.iter().map(String::as_str).collect()).unwrap_or_default();
        let first = prev.is_none();
        let mut posts = Vec::new();
        let mut ids = Vec::new();
        for post in entries {
            let key = seen_key(&post.platform_id);
            if first || (!unreadable && !seen.contains(key.as_str())) {
                posts.push(post);
            }
            ids.push(key);
        }
        let cursor = Cursor { seen: remember(ids, prev.map(|p| p.seen).unwrap_or_default()), etag, last_modified };
        Ok(Page { posts, cursor: cursor.encode(), more: false })
    }

    /// True when `every` has passed since this process last fetched the
    /// feed (a tenth early counts: rounds drift by the time they take).
    fn due(&self, index: usize, every: Duration) -> bool {
        match self.fetched.lock().unwrap().get(&index) {
            Some(at) => at.elapsed() + every / 10 >= every,
            None => true,
        }
    }

    /// Says which feed failed by its host and position, never its URL: an
    /// error page or a broken feed may echo the address (Google's 404 page
    /// does, a feed's self link does), so that is scrubbed too.
    fn explain(&self, e: SourceError, feed: &Feed, index: usize) -> SourceError {
        let which = format!("feed #{} of brand {} at {}", index + 1, feed.brand, feed.host);
        let clean = |m: &str| redact(strip_name(m), feed.url.expose());
        match e {
            SourceError::Unauthorized(m) => SourceError::Unauthorized(format!(
                "{which} refused access ({}): the feed's private address may have been revoked or changed; \
                 check [[source.feed]] url for brand {}",
                status_of(&m),
                feed.brand
            )),
            SourceError::Transient(m) => SourceError::Transient(format!("{which}: {}", clean(&m))),
            SourceError::Malformed(m) => SourceError::Malformed(format!("{which}: {}", clean(&m))),
            rate @ SourceError::RateLimited { .. } => rate,
        }
    }
}

/// The start of a body for a message, with the feed's URL scrubbed before
/// cutting (a URL cut in half would escape the scrubbing).
fn excerpt(body: &[u8], url: &str) -> String {
    let head = &body[..body.len().min(300 + 2 * url.len())];
    truncate_body(redact(&String::from_utf8_lossy(head), url).as_bytes())
}

/// `message` with the feed's URL, and its path and query, replaced by
/// `***`. Also catches the percent-decoded and XML-escaped forms.
pub fn redact(message: &str, url: &str) -> String {
    let mut secrets: Vec<String> = vec![url.to_string(), url.replace('&', "&amp;")];
    if let Ok(u) = Url::parse(url) {
        let mut tail = u.path().to_string();
        if let Some(q) = u.query() {
            tail = format!("{tail}?{q}");
        }
        if u.path().len() > 1 {
            secrets.push(tail.replace('&', "&amp;"));
            secrets.push(tail);
            secrets.push(u.path().to_string());
        } else if let Some(q) = u.query() {
            secrets.push(q.to_string());
        }
    }
    // Longest first, so a full URL is replaced before its path.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = message.to_string();
    for secret in secrets.iter().filter(|s| s.len() > 1) {
        out = out.replace(secret.as_str(), "***");
    }
    out
}

/// `feed:<brand>:<hash of the url>`: stable across restarts and reordering
/// of the config, unique per feed, and free of the URL's secret.
pub fn query_key(brand: &str, url: &str) -> String {
    format!("feed:{brand}:{:012x}", fnv1a(url.trim().as_bytes()) >> 16)
}

/// FNV-1a, 64 bits: stable across builds and Rust versions, unlike std's
/// hasher, so keys and cursors written by one build are read by the next.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// What the cursor keeps of an entry id: its hash in hex, so a cursor stays
/// small whatever the ids look like.
fn seen_key(id: &str) -> String {
    format!("{:016x}", fnv1a(id.as_bytes()))
}

/// The ids of the feed as read now first, then older ones, bounded: ids
/// still in the feed are never forgotten, or they would come back as new.
fn remember(current: Vec<String>, previous: Vec<String>) -> Vec<String> {
    let limit = SEEN_LIMIT.max(current.len());
    let mut set = HashSet::new();
    current.into_iter().chain(previous).filter(|id| set.insert(id.clone())).take(limit).collect()
}

/// Validators and entries already seen.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// Hashes of entry ids, newest poll first.
    #[serde(default)]
    pub seen: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
}

impl Cursor {
    pub fn parse(s: &str) -> Option<Cursor> {
        serde_json::from_str(s).ok()
    }
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("cursor serializes")
    }
}

fn header(resp: &Response, name: &str) -> Option<String> {
    resp.headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty()).map(str::to_string)
}

/// "403 Forbidden" out of an [`Http`] refusal message.
fn status_of(m: &str) -> String {
    m.split_once('(').and_then(|(_, rest)| rest.split_once(')')).map_or_else(|| "refused".to_string(), |(s, _)| s.to_string())
}

/// Http's messages start with the source name; ours name the feed instead.
fn strip_name(m: &str) -> &str {
    m.strip_prefix("feed: ").unwrap_or(m)
}

/// The host of a URL, or a placeholder: never the URL itself.
pub fn host_of(url: &str) -> String {
    Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_ascii_lowercase)).unwrap_or_else(|| "(unparsable url)".to_string())
}

/// A 2xx feed body as the posts of `feed`'s brand, in feed order (entries
/// without any id are skipped): what [`FeedSource::fetch`] then filters by
/// its cursor. Public for the fuzz target.
pub fn parse_posts(resp: &Response, feed: &Feed) -> Result<Vec<Post>, SourceError> {
    let parsed = parse(resp, feed)?;
    Ok(parsed.entries.iter().filter_map(|entry| to_post(entry, &parsed, feed)).collect())
}

/// Parses the body as RSS or Atom. Entries without a guid/id are identified
/// by their link (or title), never by a random id that would make them new
/// on every poll.
fn parse(resp: &Response, feed: &Feed) -> Result<feed_rs::model::Feed, SourceError> {
    let body = resp.body.trim_ascii_start();
    let html_type = resp.headers.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"));
    let lower: String = String::from_utf8_lossy(&body[..body.len().min(200)]).to_ascii_lowercase();
    if html_type || lower.starts_with("<!doctype html") || lower.starts_with("<html") {
        return Err(SourceError::Malformed(format!(
            "feed at {} answered an HTML page instead of RSS or Atom: {}",
            feed.host,
            excerpt(&resp.body, feed.url.expose())
        )));
    }
    if body.is_empty() {
        return Err(SourceError::Malformed(format!("feed at {} answered an empty body", feed.host)));
    }
    let repaired = repair_utf8(body);
    let body: &[u8] = repaired.as_deref().unwrap_or(body);
    feed_rs::parser::Builder::new()
        .id_generator(|links, title, _| match links.first() {
            Some(link) => link.href.clone(),
            None => title.as_ref().map(|t| format!("title:{}", t.content)).unwrap_or_default(),
        })
        .build()
        .parse(body)
        .map_err(|e| {
            // The XML parser's message quotes the markup it choked on, which
            // may be the feed's self link: scrubbed like the body.
            let e = redact(&e.to_string(), feed.url.expose());
            let body = excerpt(&resp.body, feed.url.expose());
            SourceError::Malformed(format!("feed at {} is not RSS or Atom ({e}); body starts: {body}", feed.host))
        })
}

/// A feed that is (or defaults to) UTF-8 but carries invalid bytes, as
/// hand-rolled and mis-transcoded feeds do, with each bad sequence replaced
/// by U+FFFD: feed-rs refuses the whole document otherwise, and one broken
/// comment would hide every other entry. None when the body is valid UTF-8
/// or declares another encoding (feed-rs decodes that itself).
fn repair_utf8(body: &[u8]) -> Option<Vec<u8>> {
    // UTF-16 (with its byte order mark) is for feed-rs to decode.
    if std::str::from_utf8(body).is_ok() || body.starts_with(&[0xff, 0xfe]) || body.starts_with(&[0xfe, 0xff]) {
        return None;
    }
    if body.starts_with(b"<?xml") {
        let end = body.iter().position(|&b| b == b'>').unwrap_or(body.len().min(200));
        let prolog = String::from_utf8_lossy(&body[..end]).to_ascii_lowercase().replace(' ', "").replace('\'', "\"");
        if let Some((_, rest)) = prolog.split_once("encoding=\"") {
            let declared = rest.split('"').next().unwrap_or("");
            if !matches!(declared, "utf-8" | "utf8") {
                return None;
            }
        }
    }
    Some(String::from_utf8_lossy(body).into_owned().into_bytes())
}

/// An entry as a post of the feed's brand.
fn to_post(entry: &feed_rs::model::Entry, parsed: &feed_rs::model::Feed, feed: &Feed) -> Option<Post> {
    if entry.id.trim().is_empty() {
        tracing::warn!(feed = %feed.host, "feed entry without id, link or title; skipped");
        return None;
    }
    let link =
        entry.links.iter().find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate")).or_else(|| entry.links.first()).map(|l| unwrap_google_redirect(&l.href));
    let url = link
        .clone()
        .or_else(|| entry.id.starts_with("http").then(|| entry.id.clone()))
        .or_else(|| parsed.links.first().map(|l| l.href.clone()))
        .unwrap_or_default();
    let title = entry.title.as_ref().map(|t| html_to_text(&t.content)).unwrap_or_default();
    let body = entry
        .content
        .as_ref()
        .and_then(|c| c.body.as_deref())
        .filter(|b| !b.trim().is_empty())
        .or_else(|| entry.summary.as_ref().map(|s| s.content.as_str()))
        .map(html_to_text)
        .unwrap_or_default();
    let text = match (title.is_empty(), body.is_empty()) {
        (_, true) => title,
        (true, false) => body,
        (false, false) => format!("{title}\n\n{body}"),
    };
    let author = entry
        .authors
        .iter()
        .find_map(|a| a.name.as_deref().map(str::trim).filter(|n| !n.is_empty()))
        .map(str::to_string)
        .or_else(|| link.as_deref().map(host_of).filter(|h| !h.starts_with('(')))
        .unwrap_or_else(|| feed.host.clone())
        .to_lowercase();
    let lang = entry
        .language
        .as_deref()
        .or(parsed.language.as_deref())
        .and_then(|l| l.split(['-', '_']).next())
        .map(|l| l.trim().to_ascii_lowercase())
        .filter(|l| !l.is_empty());
    Some(Post {
        platform: Platform::Feed,
        platform_id: entry.id.trim().to_string(),
        url,
        author_id: author.clone(),
        author,
        author_followers: None,
        text,
        lang,
        created_at: entry.published.or(entry.updated).unwrap_or_else(Utc::now),
        in_reply_to_id: None,
        in_reply_to_author_id: None,
        in_reply_to_author: None,
        conversation_id: None,
        mentions: Vec::new(),
        reposts: 0,
        // A brand's own feed is about the brand, unless the feed is broad
        // (`terms = true`) and the brand's terms must decide.
        addressed_to_token_account: !feed.terms,
        rating: None,
    })
}

/// Google Alerts links go through `https://www.google.com/url?...&url=<real>`;
/// the alert should link to the article itself.
pub fn unwrap_google_redirect(href: &str) -> String {
    let Ok(u) = Url::parse(href) else { return href.to_string() };
    let google = u.host_str().is_some_and(|h| h == "google.com" || h.ends_with(".google.com") || h.starts_with("www.google."));
    if google && u.path() == "/url" {
        if let Some((_, real)) = u.query_pairs().find(|(k, v)| (k == "url" || k == "q") && v.starts_with("http")) {
            return real.into_owned();
        }
    }
    href.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(terms: bool) -> Feed {
        Feed {
            url: Secret::new("https://www.google.com/alerts/feeds/041754/442801"),
            host: "www.google.com".into(),
            brand: "slack".into(),
            terms,
            every: Duration::from_secs(600),
        }
    }

    fn parse_bytes(body: &[u8]) -> Result<feed_rs::model::Feed, SourceError> {
        let resp = Response { status: reqwest::StatusCode::OK, headers: Default::default(), body: body.to_vec(), rate: Default::default() };
        parse(&resp, &feed(false))
    }

    #[test]
    fn invalid_utf8_in_one_entry_becomes_replacement_characters_and_keeps_the_feed() {
        let xml = b"<?xml version='1.0' encoding='UTF-8'?><rss version=\"2.0\"><channel><title>t</title>\
            <item><guid>a</guid><title>bad \xff\xfe here \xc3 end</title></item><item><guid>b</guid><title>fine</title></item></channel></rss>";
        let f = parse_bytes(xml).unwrap();
        assert_eq!(f.entries.len(), 2);
        assert_eq!(f.entries[0].title.as_ref().unwrap().content, "bad \u{fffd}\u{fffd} here \u{fffd} end");
    }

    #[test]
    fn a_declared_latin1_feed_is_decoded_not_repaired() {
        let xml = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss version=\"2.0\"><channel><title>t</title>\
            <item><guid>a</guid><title>caf\xe9 \xf1</title></item></channel></rss>";
        assert_eq!(parse_bytes(xml).unwrap().entries[0].title.as_ref().unwrap().content, "caf\u{e9} \u{f1}");
    }

    fn parse_str(xml: &str) -> feed_rs::model::Feed {
        let resp = Response { status: reqwest::StatusCode::OK, headers: Default::default(), body: xml.as_bytes().to_vec(), rate: Default::default() };
        parse(&resp, &feed(false)).unwrap()
    }

    #[test]
    fn a_google_alert_entry_has_the_real_link_plain_text_and_the_articles_domain() {
        let parsed = parse_str(include_str!("../../tests/fixtures/feed/google_alerts_atom.xml"));
        assert!(parsed.entries.len() > 3);
        let post = to_post(&parsed.entries[0], &parsed, &feed(false)).unwrap();
        assert_eq!(post.platform_id, "tag:google.com,2013:googlealerts/feed:8974135267215335962");
        assert!(post.url.starts_with("https://www.aglobalmarketresearch.com/report-offers-prediction"), "{}", post.url);
        assert!(post.text.starts_with("Report offers Prediction of Automotive Slack Market by Top key players"), "{}", post.text);
        assert!(!post.text.contains("<b>") && !post.text.contains("&nbsp;"), "{}", post.text);
        assert_eq!(post.author, "www.aglobalmarketresearch.com", "empty author names fall back to the domain");
        assert_eq!(post.created_at.to_rfc3339(), "2019-07-10T11:53:37+00:00");
        assert!(post.addressed_to_token_account);
        assert!(!to_post(&parsed.entries[0], &parsed, &feed(true)).unwrap().addressed_to_token_account);
    }

    #[test]
    fn a_wordpress_comment_has_its_guid_author_and_rfc822_date() {
        let parsed = parse_str(include_str!("../../tests/fixtures/feed/wordpress_comments_rss2.xml"));
        let post = to_post(&parsed.entries[1], &parsed, &feed(false)).unwrap();
        assert_eq!(post.platform_id, "https://blog.example.com/?p=1187#comment-4509");
        assert_eq!(post.url, "https://blog.example.com/2024/03/five-roasters-worth-trying/#comment-4509");
        assert_eq!(post.author, "sam");
        assert_eq!(post.created_at.to_rfc3339(), "2024-03-11T18:02:10+00:00");
        assert!(post.text.contains("Acme Coffee’s Ethiopia natural was my favourite of the five – shame it sold out."), "{}", post.text);
    }

    #[test]
    fn an_entry_without_guid_is_identified_by_its_link_and_without_date_is_dated_now() {
        let parsed = parse_str(
            r#"<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>https://r.example</link>
               <item><title>Terrible &amp; slow</title><link>https://r.example/review/9</link><description>meh</description></item>
               </channel></rss>"#,
        );
        let before = Utc::now();
        let post = to_post(&parsed.entries[0], &parsed, &feed(false)).unwrap();
        assert_eq!(post.platform_id, "https://r.example/review/9");
        assert_eq!(post.author, "r.example");
        assert_eq!(post.text, "Terrible & slow\n\nmeh");
        assert!(post.created_at >= before);
    }

    #[test]
    fn google_redirects_are_unwrapped_and_other_links_kept() {
        assert_eq!(unwrap_google_redirect("https://www.google.com/url?rct=j&sa=t&url=https://example.com/a%3Fb%3D1&ct=ga"), "https://example.com/a?b=1");
        assert_eq!(unwrap_google_redirect("https://example.com/url?url=https://x.example"), "https://example.com/url?url=https://x.example");
        assert_eq!(unwrap_google_redirect("not a url"), "not a url");
    }

    #[test]
    fn keys_are_stable_and_hide_the_url() {
        let url = "https://www.google.com/alerts/feeds/04175468913983673025/4428013283581841004";
        let key = query_key("slack", url);
        assert_eq!(key, query_key("slack", url));
        assert!(key.starts_with("feed:slack:") && !key.contains("0417546891"), "{key}");
        assert_ne!(key, query_key("slack", "https://example.com/feed"));
        assert_eq!(host_of(url), "www.google.com");
        assert_eq!(host_of("::"), "(unparsable url)");
    }

    #[test]
    fn the_seen_set_keeps_the_current_feed_and_is_bounded() {
        let old: Vec<String> = (0..SEEN_LIMIT).map(|i| format!("old{i}")).collect();
        let seen = remember(vec!["new".into(), "old3".into()], old);
        assert_eq!(seen.len(), SEEN_LIMIT);
        assert_eq!(&seen[..2], ["new", "old3"]);
        let many: Vec<String> = (0..SEEN_LIMIT + 10).map(|i| format!("e{i}")).collect();
        assert_eq!(remember(many.clone(), vec!["x".into()]), many, "entries still in the feed are never dropped");
    }

    #[test]
    fn the_url_its_path_and_its_escaped_forms_are_redacted() {
        let url = "https://www.google.com/alerts/feeds/041/442?a=1&b=2";
        let m = format!("<link href=\"https://www.google.com/alerts/feeds/041/442?a=1&amp;b=2\"/> requested URL /alerts/feeds/041/442 not found; {url}");
        let r = redact(&m, url);
        assert!(!r.contains("041") && !r.contains("442"), "{r}");
        assert_eq!(redact("nothing here", url), "nothing here");
        assert_eq!(redact("token=abc was refused", "https://r.example/?token=abc"), "*** was refused");
        let long = format!("{}{url}", "x".repeat(280));
        assert!(!excerpt(long.as_bytes(), url).contains("alerts/f"), "a URL across the cut is scrubbed whole");
    }

    #[test]
    fn refusals_name_the_host_and_the_setting_but_not_the_url() {
        let cfg = crate::config::FeedSource {
            url: Secret::new("https://www.google.com/alerts/feeds/SECRET1/SECRET2"),
            brand: "slack".into(),
            terms: false,
            schedule: crate::config::Schedule { every: Duration::from_secs(60), unhealthy_after: Duration::from_secs(60), expect_within: None },
        };
        let s = FeedSource::new(&[cfg], &[]);
        let e = s.explain(SourceError::Unauthorized("feed: the platform refused the credentials (403 Forbidden): <html>".into()), &s.feeds[0], 0);
        let m = e.to_string();
        assert!(m.contains("www.google.com") && m.contains("403 Forbidden") && m.contains("[[source.feed]] url"), "{m}");
        assert!(!m.contains("SECRET"), "{m}");
    }

    // Found by fuzz/run.sh (target `feed`): the XML parser's error quoted a
    // broken end tag running into the self link, URL and all.
    #[test]
    fn a_parse_error_that_quotes_the_self_link_does_not_show_the_feed_url() {
        let xml = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</ti
  <link href="https://www.google.com/alerts/feeds/041754/442801" rel="self"/></feed>"#;
        let resp = Response { status: reqwest::StatusCode::OK, headers: Default::default(), body: xml.as_bytes().to_vec(), rate: Default::default() };
        let message = parse(&resp, &feed(false)).unwrap_err().to_string();
        assert!(message.contains("not RSS or Atom"), "{message}");
        assert!(!message.contains("041754"), "the feed's private path leaked: {message}");
    }
}
