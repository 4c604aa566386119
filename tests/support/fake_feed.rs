//! A fake feed host for tests: a real HTTP server on loopback serving
//! Google Alerts-style Atom feeds (private URL, `<b>` highlights in HTML
//! titles, links through `google.com/url?...&url=`) and WordPress-style
//! RSS 2.0 comment feeds (`dc:creator`, RFC 822 `pubDate`, non-URL guids),
//! with the media types `application/atom+xml` / `application/rss+xml`,
//! `ETag` / `Last-Modified` validators answered with 304, a window of the
//! latest entries only (feeds keep no history), raw bodies (any bytes) for
//! recorded samples and broken encodings, and injected failures. Self-contained (REFERENCE.md section 6).
#![allow(dead_code)]

use axum::body::Body;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use chrono::{DateTime, Utc};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Entries a feed shows, newest first, like Google Alerts' ~20.
pub const WINDOW: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// Google Alerts (Atom).
    GoogleAlerts,
    /// A WordPress comment feed (RSS 2.0).
    WordPress,
}

/// What the next request gets instead of its normal answer.
#[derive(Debug, Clone)]
pub enum Failure {
    /// 429 with this `Retry-After` in seconds.
    RateLimited { retry_after: u64 },
    /// 403 with Google's HTML error page.
    Forbidden,
    /// This status with an HTML body (feed hosts answer errors in HTML).
    ServerError(u16),
    /// 200 with an HTML page (a login wall or a consent page).
    HtmlPage,
    /// 200 with XML that is neither RSS nor Atom, cut short.
    MalformedXml,
    /// 200 with an empty body.
    EmptyBody,
    /// Waits this long, then answers normally.
    Delay(Duration),
}

#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub path: String,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
    pub accept: Option<String>,
}

/// An entry to publish.
#[derive(Debug, Clone, Default)]
pub struct NewEntry {
    pub title: String,
    /// Plain text; the fake renders it as its platform does (HTML).
    pub content: String,
    /// WordPress comment author; Google Alerts entries have none.
    pub author: Option<String>,
    /// The article or comment permalink.
    pub link: Option<String>,
    pub published: Option<DateTime<Utc>>,
    /// Leave the guid out (RSS allows it): the entry is known by its link.
    pub no_guid: bool,
    /// Words to highlight with `<b>` in Google Alerts titles and content.
    pub highlight: Vec<String>,
}

impl NewEntry {
    pub fn new(title: &str, content: &str) -> NewEntry {
        NewEntry { title: title.to_string(), content: content.to_string(), ..NewEntry::default() }
    }
    pub fn author(mut self, a: &str) -> Self {
        self.author = Some(a.to_string());
        self
    }
    pub fn link(mut self, l: &str) -> Self {
        self.link = Some(l.to_string());
        self
    }
    pub fn published(mut self, at: DateTime<Utc>) -> Self {
        self.published = Some(at);
        self
    }
    pub fn no_guid(mut self) -> Self {
        self.no_guid = true;
        self
    }
    pub fn highlight(mut self, word: &str) -> Self {
        self.highlight.push(word.to_string());
        self
    }
}

#[derive(Clone)]
struct Entry {
    id: String,
    e: NewEntry,
    published: DateTime<Utc>,
}

struct FeedRec {
    kind: Kind,
    title: String,
    /// Newest last.
    entries: Vec<Entry>,
    version: u64,
    changed: DateTime<Utc>,
    /// Raw body served instead of rendering, with its content type.
    raw: Option<(String, Vec<u8>)>,
}

struct State {
    base_url: String,
    feeds: HashMap<String, FeedRec>,
    next_id: u64,
    etag: bool,
    last_modified: bool,
    failures: VecDeque<Failure>,
    requests: Vec<RecordedRequest>,
}

type Shared = Arc<Mutex<State>>;

pub struct FakeFeed {
    state: Shared,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeFeed {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeFeed {
    pub async fn start() -> FakeFeed {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            base_url: format!("http://{addr}"),
            feeds: HashMap::new(),
            next_id: 8_974_135_267_215_335_962,
            etag: true,
            last_modified: true,
            failures: VecDeque::new(),
            requests: Vec::new(),
        }));
        let app = Router::new().fallback(handle).with_state(state.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("fake feed serves");
        });
        FakeFeed { state, addr, server }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Creates a feed and returns its full URL. Google Alerts URLs carry a
    /// private user and alert id, as the real ones do.
    pub fn add_feed(&self, kind: Kind, title: &str) -> String {
        let mut s = self.state.lock().unwrap();
        let n = s.feeds.len() + 1;
        let path = match kind {
            Kind::GoogleAlerts => format!("/alerts/feeds/04175468913983673025/44280132835818410{n:02}"),
            Kind::WordPress => format!("/blog{n}/comments/feed/"),
        };
        s.feeds.insert(path.clone(), FeedRec { kind, title: title.to_string(), entries: Vec::new(), version: 1, changed: second(Utc::now()), raw: None });
        format!("{}{path}", s.base_url)
    }

    /// Serves `body` as is at a new path; returns its URL.
    pub fn add_raw(&self, path: &str, content_type: &str, body: &str) -> String {
        let mut s = self.state.lock().unwrap();
        s.feeds.insert(
            path.to_string(),
            FeedRec {
                kind: Kind::GoogleAlerts,
                title: String::new(),
                entries: Vec::new(),
                version: 1,
                changed: second(Utc::now()),
                raw: Some((content_type.to_string(), body.as_bytes().to_vec())),
            },
        );
        format!("{}{path}", s.base_url)
    }

    /// Serves these exact bytes (which need not be UTF-8) at `path`,
    /// replacing what was there as a new version (new ETag and
    /// Last-Modified); returns its URL.
    pub fn set_raw_bytes(&self, path: &str, content_type: &str, body: &[u8]) -> String {
        let mut s = self.state.lock().unwrap();
        let (version, changed) = match s.feeds.get(path) {
            Some(f) => (f.version + 1, f.changed + chrono::Duration::seconds(1)),
            None => (1, second(Utc::now())),
        };
        let changed = changed.max(second(Utc::now()));
        s.feeds.insert(
            path.to_string(),
            FeedRec {
                kind: Kind::WordPress,
                title: String::new(),
                entries: Vec::new(),
                version,
                changed,
                raw: Some((content_type.to_string(), body.to_vec())),
            },
        );
        format!("{}{path}", s.base_url)
    }

    /// Publishes an entry; returns its id (Atom id or RSS guid).
    pub fn publish(&self, feed_url: &str, e: NewEntry) -> String {
        let mut s = self.state.lock().unwrap();
        let path = feed_url.strip_prefix(&s.base_url).expect("a URL of this fake").to_string();
        let n = s.next_id;
        s.next_id += 1;
        let feed = s.feeds.get_mut(&path).expect("feed exists");
        let id = match feed.kind {
            Kind::GoogleAlerts => format!("tag:google.com,2013:googlealerts/feed:{n}"),
            Kind::WordPress if e.no_guid => e.link.clone().expect("an entry without guid needs a link"),
            Kind::WordPress => format!("https://blog.example.com/?p=1187#comment-{n}"),
        };
        let published = e.published.unwrap_or_else(Utc::now);
        feed.entries.push(Entry { id: id.clone(), e, published });
        feed.version += 1;
        // Last-Modified has one-second resolution; a change within the same
        // second as the last one still moves it, so 304s stay honest.
        let now = second(Utc::now());
        feed.changed = if now > feed.changed { now } else { feed.changed + chrono::Duration::seconds(1) };
        id
    }

    /// Which validators the server sends (both by default).
    pub fn set_validators(&self, etag: bool, last_modified: bool) {
        let mut s = self.state.lock().unwrap();
        s.etag = etag;
        s.last_modified = last_modified;
    }

    pub fn fail_next(&self, f: Failure) {
        self.state.lock().unwrap().failures.push_back(f);
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.lock().unwrap().requests.clone()
    }
}

fn second(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap()
}

fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// HTML with `<b>` around each highlighted word, as Google Alerts does.
fn highlighted(text: &str, words: &[String]) -> String {
    let mut html = esc(text);
    for w in words {
        html = html.replace(w.as_str(), &format!("<b>{w}</b>"));
    }
    html
}

fn render(feed: &FeedRec, base: &str, path: &str) -> (String, String) {
    let shown: Vec<&Entry> = feed.entries.iter().rev().take(WINDOW).collect();
    match feed.kind {
        Kind::GoogleAlerts => {
            let mut x = format!(
                r#"<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" xmlns:idx="urn:atom-extension:indexing"><id>tag:google.com,2005:reader/user/04175468913983673025/state/com.google/alerts/4428013283581841004</id><title>Google Alert - {}</title><link href="{base}{path}" rel="self"></link><updated>{}</updated>"#,
                esc(&feed.title),
                feed.changed.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            );
            for e in shown {
                let real = e.e.link.clone().unwrap_or_else(|| format!("https://news.example.com/{}", e.id.rsplit(':').next().unwrap()));
                let redirect = format!(
                    "https://www.google.com/url?rct=j&sa=t&url={}&ct=ga&cd=CAIyHGU4ZTJkZjQ3OTVkYmIzMTc6Y28uanA6ZW46SlA&usg=AFQjCNHUcRGtHY1yg",
                    url::form_urlencoded::byte_serialize(real.as_bytes()).collect::<String>()
                );
                let when = e.published.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                x.push_str(&format!(
                    r#"<entry><id>{}</id><title type="html">{}</title><link href="{}"></link><published>{when}</published><updated>{when}</updated><content type="html">{}</content><author><name></name></author></entry>"#,
                    e.id,
                    esc(&highlighted(&e.e.title, &e.e.highlight)),
                    esc(&redirect),
                    esc(&format!("{}&nbsp;...", highlighted(&e.e.content, &e.e.highlight)))
                ));
            }
            x.push_str("</feed>");
            ("application/atom+xml; charset=utf-8".into(), x)
        }
        Kind::WordPress => {
            let mut x = format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>Comments for {}</title><atom:link href="{base}{path}" rel="self" type="application/rss+xml" /><link>https://blog.example.com</link><description>A blog</description><language>en-US</language><lastBuildDate>{}</lastBuildDate>"#,
                esc(&feed.title),
                feed.changed.to_rfc2822()
            );
            for e in shown {
                let link = e.e.link.clone().unwrap_or_else(|| format!("https://blog.example.com/post/#comment-{}", e.id.rsplit('-').next().unwrap()));
                let author = e.e.author.clone().unwrap_or_else(|| "Anonymous".into());
                let guid = if e.e.no_guid { String::new() } else { format!(r#"<guid isPermaLink="false">{}</guid>"#, esc(&e.id)) };
                x.push_str(&format!(
                    r#"<item><title>{}</title><link>{}</link><dc:creator><![CDATA[{author}]]></dc:creator><pubDate>{}</pubDate>{guid}<description><![CDATA[{}]]></description><content:encoded><![CDATA[<p>{}</p>]]></content:encoded></item>"#,
                    esc(&e.e.title),
                    esc(&link),
                    e.published.to_rfc2822(),
                    esc(&e.e.content),
                    esc(&e.e.content)
                ));
            }
            x.push_str("</channel></rss>");
            ("application/rss+xml; charset=UTF-8".into(), x)
        }
    }
}

fn html(status: StatusCode, body: &str) -> Response {
    Response::builder().status(status).header("content-type", "text/html; charset=UTF-8").body(Body::from(body.to_string())).unwrap()
}

fn failure_response(f: &Failure, base: &str, path: &str) -> Response {
    match f {
        Failure::RateLimited { retry_after } => {
            let mut r = html(StatusCode::TOO_MANY_REQUESTS, "<html><title>Error 429 (Too Many Requests)!!1</title></html>");
            r.headers_mut().insert("retry-after", retry_after.to_string().parse().unwrap());
            r
        }
        Failure::Forbidden => html(StatusCode::FORBIDDEN, "<html><title>Error 403 (Forbidden)!!1</title></html>"),
        Failure::ServerError(code) => html(StatusCode::from_u16(*code).unwrap(), "<html><title>Error 500 (Server Error)!!1</title></html>"),
        Failure::HtmlPage => html(StatusCode::OK, "<!DOCTYPE html><html><head><title>Before you continue to Google</title></head></html>"),
        Failure::MalformedXml => Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/atom+xml")
            // Cut short after the self link, which holds the private URL.
            .body(Body::from(format!(
                r#"<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><link href="{base}{path}" rel="self"/><entry><id>x</id><title>cut"#
            )))
            .unwrap(),
        Failure::EmptyBody => Response::builder().status(StatusCode::OK).header("content-type", "application/rss+xml").body(Body::empty()).unwrap(),
        Failure::Delay(_) => unreachable!("handled before answering"),
    }
}

async fn handle(AxumState(state): AxumState<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
    let failure = {
        let mut s = state.lock().unwrap();
        s.requests.push(RecordedRequest {
            path: uri.path().to_string(),
            if_none_match: h("if-none-match"),
            if_modified_since: h("if-modified-since"),
            accept: h("accept"),
        });
        s.failures.pop_front()
    };
    if let Some(Failure::Delay(d)) = failure {
        tokio::time::sleep(d).await;
    } else if let Some(f) = failure {
        let base = state.lock().unwrap().base_url.clone();
        return failure_response(&f, &base, uri.path());
    }
    let s = state.lock().unwrap();
    let Some(feed) = s.feeds.get(uri.path()) else {
        // Google's 404 page echoes the requested path.
        return html(
            StatusCode::NOT_FOUND,
            &format!("<html><title>Error 404 (Not Found)!!1</title><p>The requested URL <code>{}</code> was not found on this server.", uri.path()),
        );
    };
    let etag = format!("\"v{}\"", feed.version);
    // If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2).
    let not_modified = match (h("if-none-match"), h("if-modified-since")) {
        (Some(inm), _) if s.etag => inm.split(',').any(|t| t.trim() == etag),
        (_, Some(ims)) if s.last_modified => DateTime::parse_from_rfc2822(&ims).map(|d| d.with_timezone(&Utc) >= feed.changed).unwrap_or(false),
        _ => false,
    };
    let mut r = if not_modified {
        Response::builder().status(StatusCode::NOT_MODIFIED).body(Body::empty()).unwrap()
    } else {
        let (ct, body) = match &feed.raw {
            Some((ct, body)) => (ct.clone(), body.clone()),
            None => {
                let (ct, body) = render(feed, &s.base_url, uri.path());
                (ct, body.into_bytes())
            }
        };
        Response::builder().status(StatusCode::OK).header("content-type", ct).body(Body::from(body)).unwrap()
    };
    if s.etag {
        r.headers_mut().insert("etag", etag.parse().unwrap());
    }
    if s.last_modified {
        r.headers_mut().insert("last-modified", http_date(feed.changed).parse().unwrap());
    }
    r
}
