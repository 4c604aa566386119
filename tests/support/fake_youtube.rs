//! A fake YouTube Data API v3 for tests (REFERENCE-owned.md section Y):
//! `GET /youtube/v3/commentThreads` with exactly one filter
//! (`allThreadsRelatedToChannelId`, `videoId`), `part` (`snippet`,
//! `replies`, `id`), `order=time` (newest top-level comment first),
//! `GET /youtube/v3/comments?parentId=` (a thread's replies),
//! `maxResults` (1–100, default 20), opaque `pageToken`s and `nextPageToken`
//! while more follows, `textFormat`, at most 5 replies per thread, the `key`
//! checked (400 `API_KEY_INVALID`, 403 `forbidden` without one), and a
//! daily quota counted in units (1 per list call, invalid ones included
//! except a refused key) answered with 403 `quotaExceeded` once spent.
//! No rate-limit headers: YouTube sends none. Self-contained.
#![allow(dead_code)]

use axum::body::Body;
use axum::extract::State as AxumState;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

pub const KEY: &str = "fake-youtube-api-key";
/// Replies a thread includes with `part=replies` (unverified; as the
/// reference's fake).
pub const INCLUDED_REPLIES: usize = 5;

#[derive(Debug, Clone)]
pub struct Comment {
    pub id: String,
    pub author_channel: String,
    pub author_name: String,
    pub text: String,
    pub published: i64,
}

#[derive(Debug, Clone)]
struct Thread {
    channel: String,
    video: String,
    top: Comment,
    replies: Vec<Comment>,
}

struct State {
    key: String,
    threads: Vec<Thread>,
    next: u64,
    quota: u64,
    used: u64,
    requests: Vec<Vec<(String, String)>>,
}

type Shared = Arc<Mutex<State>>;

pub struct FakeYouTube {
    state: Shared,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeYouTube {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl FakeYouTube {
    pub async fn start() -> FakeYouTube {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State { key: KEY.into(), threads: Vec::new(), next: 1000, quota: 10_000, used: 0, requests: Vec::new() }));
        let app = Router::new().fallback(handle).with_state(state.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("fake youtube serves");
        });
        FakeYouTube { state, addr, server }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn id(&self) -> String {
        let mut s = self.state.lock().unwrap();
        s.next += 1;
        format!("Ugz{}AaABAg", s.next)
    }

    /// A top-level comment on a video of `channel`, `ago` seconds old;
    /// returns the thread (= comment) id.
    pub fn comment(&self, channel: &str, author: (&str, &str), text: &str, ago: i64) -> String {
        let id = self.id();
        self.state.lock().unwrap().threads.push(Thread {
            channel: channel.into(),
            video: "dmlkZW8xVUN".into(),
            top: Comment { id: id.clone(), author_channel: author.0.into(), author_name: author.1.into(), text: text.into(), published: now() - ago },
            replies: Vec::new(),
        });
        id
    }

    /// A reply in `thread`; its id is `{thread}.{suffix}`.
    pub fn reply(&self, thread: &str, author: (&str, &str), text: &str) -> String {
        let suffix = self.id();
        let mut s = self.state.lock().unwrap();
        let t = s.threads.iter_mut().find(|t| t.top.id == thread).expect("thread exists");
        let id = format!("{thread}.{suffix}");
        t.replies.push(Comment { id: id.clone(), author_channel: author.0.into(), author_name: author.1.into(), text: text.into(), published: now() });
        id
    }

    pub fn delete(&self, id: &str) {
        let mut s = self.state.lock().unwrap();
        s.threads.retain(|t| t.top.id != id);
        for t in s.threads.iter_mut() {
            t.replies.retain(|r| r.id != id);
        }
    }

    pub fn set_quota(&self, units: u64) {
        self.state.lock().unwrap().quota = units;
    }

    pub fn units_used(&self) -> u64 {
        self.state.lock().unwrap().used
    }

    pub fn revoke_key(&self) {
        self.state.lock().unwrap().key = "another-key".into();
    }

    pub fn requests(&self) -> Vec<Vec<(String, String)>> {
        self.state.lock().unwrap().requests.clone()
    }
}

fn answer(status: StatusCode, body: Value) -> Response {
    Response::builder().status(status).header("content-type", "application/json; charset=UTF-8").body(Body::from(body.to_string())).unwrap()
}

fn api_error(status: u16, domain: &str, reason: &str, message: &str) -> Response {
    answer(
        StatusCode::from_u16(status).unwrap(),
        json!({"error": {"code": status, "message": message, "errors": [{"message": message, "domain": domain, "reason": reason}]}}),
    )
}

fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).unwrap().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn comment_json(c: &Comment, t: &Thread, parent: Option<&str>, html: bool) -> Value {
    let text = if html { c.text.replace('&', "&amp;").replace('<', "&lt;") } else { c.text.clone() };
    let mut snippet = json!({
        "channelId": t.channel,
        "videoId": t.video,
        "textDisplay": text,
        "textOriginal": c.text,
        "authorDisplayName": c.author_name,
        "authorProfileImageUrl": format!("https://yt3.ggpht.com/ytc/{}=s48-c-k-c0x00ffffff-no-rj", c.author_channel),
        "authorChannelUrl": format!("http://www.youtube.com/channel/{}", c.author_channel),
        "authorChannelId": {"value": c.author_channel},
        "canRate": true,
        "viewerRating": "none",
        "likeCount": 0,
        "publishedAt": rfc3339(c.published),
        "updatedAt": rfc3339(c.published),
    });
    if let Some(p) = parent {
        snippet["parentId"] = json!(p);
    }
    json!({"kind": "youtube#comment", "etag": "ZjIwMTc1MmE2NzAyMDczNmNjNDk", "id": c.id, "snippet": snippet})
}

async fn handle(AxumState(state): AxumState<Shared>, uri: Uri) -> Response {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()).into_owned().collect();
    let p = |n: &str| params.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let mut s = state.lock().unwrap();
    s.requests.push(params.clone());
    if uri.path() != "/youtube/v3/commentThreads" && uri.path() != "/youtube/v3/comments" {
        return api_error(404, "global", "notFound", "Not Found");
    }
    match p("key") {
        None => return api_error(403, "global", "forbidden", "The request is missing a valid API key."),
        Some(k) if k != s.key => {
            return answer(StatusCode::BAD_REQUEST, serde_json::from_str(include_str!("../fixtures/youtube/error_400_api_key_invalid.json")).unwrap())
        }
        Some(_) => {}
    }
    // "All API requests, including invalid requests, incur a quota cost of at least one point."
    if s.used >= s.quota {
        return answer(StatusCode::FORBIDDEN, serde_json::from_str(include_str!("../fixtures/youtube/error_403_quota_exceeded.json")).unwrap());
    }
    s.used += 1;
    let Some(part) = p("part") else {
        return api_error(400, "youtube.parameter", "missingRequiredParameter", "No filter selected. Expected one of: part");
    };
    let parts: Vec<&str> = part.split(',').map(str::trim).collect();
    if uri.path() == "/youtube/v3/comments" {
        return comments_list(&s, &params, &parts);
    }
    let filters = ["allThreadsRelatedToChannelId", "channelId", "videoId", "id"].iter().filter(|f| p(f).is_some()).count();
    if filters != 1 {
        return api_error(400, "youtube.parameter", "incompatibleParameters", "Specify exactly one filter.");
    }
    let max = match p("maxResults").map(|m| m.parse::<usize>()) {
        None => 20,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        _ => return api_error(400, "youtube.parameter", "invalidParameter", "Invalid value for maxResults."),
    };
    let mut threads: Vec<&Thread> = match (p("allThreadsRelatedToChannelId"), p("videoId")) {
        (Some(ch), _) => s.threads.iter().filter(|t| t.channel == ch).collect(),
        (_, Some(v)) => s.threads.iter().filter(|t| t.video == v).collect(),
        _ => Vec::new(),
    };
    threads.sort_by(|a, b| b.top.published.cmp(&a.top.published).then(b.top.id.cmp(&a.top.id)));
    let start = match p("pageToken") {
        None => 0,
        Some(t) => match t.strip_prefix("QURTSl9p").and_then(|n| n.parse::<usize>().ok()) {
            Some(n) if n <= threads.len() => n,
            _ => return api_error(400, "youtube.parameter", "invalidPageToken", "The page token is invalid."),
        },
    };
    let html = p("textFormat").as_deref() != Some("plainText");
    let page: Vec<Value> = threads
        .iter()
        .skip(start)
        .take(max)
        .map(|t| {
            let mut item = json!({"kind": "youtube#commentThread", "etag": "YjEzOWNhODM3OTEzNDcwMmY0M2Y", "id": t.top.id});
            if parts.contains(&"snippet") {
                item["snippet"] = json!({
                    "channelId": t.channel,
                    "videoId": t.video,
                    "topLevelComment": comment_json(&t.top, t, None, html),
                    "canReply": true,
                    "totalReplyCount": t.replies.len(),
                    "isPublic": true,
                });
            }
            if parts.contains(&"replies") && !t.replies.is_empty() {
                let replies: Vec<Value> = t.replies.iter().take(INCLUDED_REPLIES).map(|r| comment_json(r, t, Some(&t.top.id), html)).collect();
                item["replies"] = json!({ "comments": replies });
            }
            item
        })
        .collect();
    let mut body = json!({
        "kind": "youtube#commentThreadListResponse",
        "etag": "MmRmNzYxYThhNDA2YTg1NzAwMDA",
        "pageInfo": {"totalResults": page.len(), "resultsPerPage": max},
    });
    if start + page.len() < threads.len() {
        body["nextPageToken"] = json!(format!("QURTSl9p{}", start + page.len()));
    }
    body["items"] = Value::Array(page);
    answer(StatusCode::OK, body)
}

/// `comments.list` with `parentId`: the replies of one thread, oldest
/// first, paged like threads.
fn comments_list(s: &State, params: &[(String, String)], parts: &[&str]) -> Response {
    let p = |n: &str| params.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let Some(parent) = p("parentId") else {
        return api_error(400, "youtube.parameter", "missingRequiredParameter", "No filter selected. Expected one of: id, parentId");
    };
    let Some(t) = s.threads.iter().find(|t| t.top.id == parent) else {
        return api_error(404, "youtube.comment", "commentNotFound", "The comment identified by the parentId parameter could not be found.");
    };
    let max = p("maxResults").and_then(|m| m.parse::<usize>().ok()).unwrap_or(20).clamp(1, 100);
    let start = match p("pageToken") {
        None => 0,
        Some(tok) => match tok.strip_prefix("Q1JlcGx5").and_then(|n| n.parse::<usize>().ok()) {
            Some(n) if n <= t.replies.len() => n,
            _ => return api_error(400, "youtube.parameter", "invalidPageToken", "The page token is invalid."),
        },
    };
    let html = p("textFormat").as_deref() != Some("plainText");
    let items: Vec<Value> = t
        .replies
        .iter()
        .skip(start)
        .take(max)
        .map(|r| {
            let mut c = comment_json(r, t, Some(&t.top.id), html);
            if !parts.contains(&"snippet") {
                c.as_object_mut().unwrap().remove("snippet");
            }
            c
        })
        .collect();
    let mut body =
        json!({"kind": "youtube#commentListResponse", "etag": "OGQ3ZjZhYjJhNWU0YjQ3ZGQ1M2Q", "pageInfo": {"totalResults": items.len(), "resultsPerPage": max}});
    if start + items.len() < t.replies.len() {
        body["nextPageToken"] = json!(format!("Q1JlcGx5{}", start + items.len()));
    }
    body["items"] = Value::Array(items);
    answer(StatusCode::OK, body)
}
