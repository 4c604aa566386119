//! A fake Bluesky PDS for tests: a real HTTP server on loopback that
//! reproduces what escucha depends on (REFERENCE.md section 3):
//! `createSession` with app passwords and `refreshSession` with the refresh
//! token, 400 `ExpiredToken` once an access token expires, XRPC
//! `{"error","message"}` bodies, `searchPosts` (words and quoted phrases
//! AND-ed, `sort=latest`, inclusive `since`, offset cursor omitted on the
//! last page), `listNotifications` with the `reasons` array param and a
//! timestamp cursor, `getAuthorFeed` (reposts carry `reasonRepost`),
//! `getProfiles` (at most 25 actors), `RateLimit-*` headers with 429 when the
//! window is spent, and a queue of injected failures. Self-contained: no
//! fixture files.
#![allow(dead_code)]
// Handlers return the error response itself; its size does not matter here.
#![allow(clippy::result_large_err)]

use axum::body::{Body, Bytes};
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The PDS limit on every route: 3000 requests per 5 minutes.
pub const RATE_LIMIT: u32 = 3000;
pub const RATE_WINDOW_SECS: i64 = 300;

/// What the next request (whatever its route) gets instead of its answer.
#[derive(Debug, Clone)]
pub enum Failure {
    /// 429 `RateLimitExceeded`, remaining 0, `Retry-After: 42`.
    RateLimited,
    /// This status with an XRPC error body (500s carry no details).
    ServerError(u16),
    /// 200 with a body that is not JSON.
    MalformedJson,
    /// 200 whose body stops before its announced `Content-Length`.
    TruncatedBody,
    /// 200 with an HTML page (a captive portal or a misrouted proxy).
    HtmlErrorPage,
    /// 200 with an empty body.
    EmptyBody,
    /// Waits this long, then answers normally.
    Timeout(Duration),
    /// 401 `AuthenticationRequired`, as for a revoked session.
    Unauthorized,
    /// 403, as the public AppView answers search.
    Forbidden,
    /// 400 `BadQueryString`, as searchPosts refuses a query it cannot parse.
    BadQuery,
}

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    /// The XRPC method, e.g. `app.bsky.feed.searchPosts`.
    pub nsid: String,
    pub query: Option<String>,
    pub authorization: Option<String>,
}

impl RecordedRequest {
    pub fn params(&self) -> Vec<(String, String)> {
        parse_query(self.query.as_deref())
    }
    pub fn param(&self, name: &str) -> Option<String> {
        self.params().into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
    pub fn all(&self, name: &str) -> Vec<String> {
        self.params().into_iter().filter(|(k, _)| k == name).map(|(_, v)| v).collect()
    }
}

#[derive(Clone)]
struct Account {
    did: String,
    handle: String,
    password: String,
    followers: u64,
}

#[derive(Clone)]
struct PostRec {
    uri: String,
    cid: String,
    author: String,
    text: String,
    /// (byte start, byte end, did) of each mention.
    mentions: Vec<(usize, usize, String)>,
    /// (root, parent) uris.
    reply: Option<(String, String)>,
    langs: Vec<String>,
    created_at: String,
    indexed_at: DateTime<Utc>,
    reposts: u64,
    quotes: u64,
}

impl PostRec {
    /// The AppView's sortAt: the earlier of the declared and indexed times.
    fn sort_at(&self) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&self.created_at).map(|c| c.with_timezone(&Utc).min(self.indexed_at)).unwrap_or(self.indexed_at)
    }
}

#[derive(Clone)]
struct RepostRec {
    uri: String,
    by: String,
    post: String,
    indexed_at: DateTime<Utc>,
}

#[derive(Clone)]
struct NotificationRec {
    recipient: String,
    reason: &'static str,
    post: String,
    reason_subject: Option<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum TokenState {
    Valid,
    Expired,
}

struct State {
    accounts: Vec<Account>,
    posts: Vec<PostRec>,
    reposts: Vec<RepostRec>,
    notifications: Vec<NotificationRec>,
    access: HashMap<String, (String, TokenState)>,
    refresh: HashMap<String, (String, TokenState)>,
    next: u64,
    last_indexed: DateTime<Utc>,
    failures: VecDeque<Failure>,
    requests: Vec<RecordedRequest>,
    remaining: u32,
    reset: DateTime<Utc>,
    /// Rate-limit windows run on this clock instead of the wall clock.
    clock: Option<VirtualNow>,
    /// 429s the rate window gave (not the injected failures).
    refused: u64,
}

type Shared = Arc<Mutex<State>>;

/// A clock the fake reads its rate-limit windows from (see
/// `enforce_limits_on`); the daemon under test must share it.
pub type VirtualNow = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

pub struct FakeBluesky {
    state: Shared,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeBluesky {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeBluesky {
    pub async fn start() -> FakeBluesky {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            accounts: Vec::new(),
            posts: Vec::new(),
            reposts: Vec::new(),
            notifications: Vec::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            next: 1,
            last_indexed: Utc::now() - chrono::Duration::days(1),
            failures: VecDeque::new(),
            requests: Vec::new(),
            remaining: RATE_LIMIT,
            reset: Utc::now() + chrono::Duration::seconds(RATE_WINDOW_SECS),
            clock: None,
            refused: 0,
        }));
        let app = Router::new().fallback(handle).with_state(state.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("fake bluesky serves");
        });
        FakeBluesky { state, addr, server }
    }

    /// `http://127.0.0.1:<port>`, the `service` to configure.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Adds an account with this app password; returns its DID.
    pub fn add_account(&self, handle: &str, app_password: &str, followers: u64) -> String {
        let mut s = self.state.lock().unwrap();
        let did = format!("did:plc:fake{:020}", s.next);
        s.next += 1;
        s.accounts.push(Account { did: did.clone(), handle: handle.to_string(), password: app_password.to_string(), followers });
        did
    }

    /// Starts a post by this DID; finish with [`PostBuilder::send`].
    pub fn post(&self, author: &str) -> PostBuilder {
        PostBuilder {
            state: self.state.clone(),
            author: author.to_string(),
            text: String::new(),
            reply_to: None,
            langs: vec![],
            created_at: None,
            reposts: 0,
            quotes: 0,
        }
    }

    /// `by` reposts the post at `uri`; returns the repost record's uri.
    pub fn repost(&self, by: &str, uri: &str) -> String {
        let mut s = self.state.lock().unwrap();
        let rkey = s.rkey();
        let at = s.index_time();
        let repost = format!("at://{by}/app.bsky.feed.repost/{rkey}");
        s.reposts.push(RepostRec { uri: repost.clone(), by: by.to_string(), post: uri.to_string(), indexed_at: at });
        if let Some(p) = s.posts.iter_mut().find(|p| p.uri == uri) {
            p.reposts += 1;
        }
        repost
    }

    /// Every access token issued so far now answers 400 `ExpiredToken`.
    pub fn expire_access_tokens(&self) {
        for v in self.state.lock().unwrap().access.values_mut() {
            v.1 = TokenState::Expired;
        }
    }

    /// Every refresh token issued so far is refused too.
    pub fn expire_refresh_tokens(&self) {
        for v in self.state.lock().unwrap().refresh.values_mut() {
            v.1 = TokenState::Expired;
        }
    }

    pub fn set_rate_limit_remaining(&self, remaining: u32) {
        self.state.lock().unwrap().remaining = remaining;
    }

    /// The next request fails this way. Queued in order.
    /// Enforces the documented limit (PDS: 3000 requests per 5 minutes per
    /// IP, REFERENCE.md 3.6; every route counts) on `clock` instead of the
    /// wall clock.
    pub fn enforce_limits_on(&self, clock: VirtualNow) {
        let mut s = self.state.lock().unwrap();
        s.reset = clock();
        s.clock = Some(clock);
        s.remaining = RATE_LIMIT;
    }

    /// How many requests the rate window refused with 429.
    pub fn refused(&self) -> u64 {
        self.state.lock().unwrap().refused
    }

    pub fn fail_next(&self, failure: Failure) {
        self.state.lock().unwrap().failures.push_back(failure);
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Requests to this XRPC method so far.
    pub fn calls(&self, nsid: &str) -> Vec<RecordedRequest> {
        self.requests().into_iter().filter(|r| r.nsid == nsid).collect()
    }

    pub fn clear_requests(&self) {
        self.state.lock().unwrap().requests.clear();
    }

    /// The Jetstream `commit` event that announces the post at `uri`
    /// (`time_us`: when the fake indexed it), for `FakeJetstream::publish`.
    pub fn commit_event(&self, uri: &str) -> Value {
        let s = self.state.lock().unwrap();
        let p = s.posts.iter().find(|p| p.uri == uri).expect("post exists");
        let rkey = uri.rsplit('/').next().unwrap();
        json!({"did": p.author, "time_us": p.indexed_at.timestamp_micros(), "kind": "commit",
               "commit": {"rev": format!("rev{rkey}"), "operation": "create", "collection": "app.bsky.feed.post", "rkey": rkey,
                          "record": s.record_json(p), "cid": p.cid}})
    }
}

pub struct PostBuilder {
    state: Shared,
    author: String,
    text: String,
    reply_to: Option<String>,
    langs: Vec<String>,
    created_at: Option<String>,
    reposts: u64,
    quotes: u64,
}

impl PostBuilder {
    /// Plain text; `@handle` of a known account becomes a mention facet.
    pub fn text(mut self, text: &str) -> Self {
        self.text = text.to_string();
        self
    }
    pub fn reply_to(mut self, uri: &str) -> Self {
        self.reply_to = Some(uri.to_string());
        self
    }
    pub fn lang(mut self, lang: &str) -> Self {
        self.langs.push(lang.to_string());
        self
    }
    /// The client-declared `createdAt`, verbatim.
    pub fn created_at(mut self, at: &str) -> Self {
        self.created_at = Some(at.to_string());
        self
    }
    pub fn reposts(mut self, n: u64) -> Self {
        self.reposts = n;
        self
    }

    /// Publishes the post, notifies whom it replies to and mentions, and
    /// returns its uri.
    pub fn send(self) -> String {
        let mut s = self.state.lock().unwrap();
        let rkey = s.rkey();
        let uri = format!("at://{}/app.bsky.feed.post/{rkey}", self.author);
        let indexed_at = s.index_time();
        let mut mentions = Vec::new();
        for a in &s.accounts {
            let needle = format!("@{}", a.handle);
            for (i, _) in self.text.match_indices(&needle) {
                let end = i + needle.len();
                let after = self.text[end..].chars().next();
                if !after.is_some_and(|c| c.is_alphanumeric() || c == '.' || c == '-') {
                    mentions.push((i, end, a.did.clone()));
                }
            }
        }
        let reply = self.reply_to.as_ref().map(|parent| {
            let p = s.posts.iter().find(|p| p.uri == *parent).expect("replied-to post exists");
            let root = p.reply.as_ref().map(|(root, _)| root.clone()).unwrap_or_else(|| p.uri.clone());
            (root, parent.clone())
        });
        let mut notified: Vec<String> = vec![self.author.clone()];
        if let Some((_, parent)) = &reply {
            let parent_author = did_of(parent);
            if !notified.contains(&parent_author) {
                s.notifications.push(NotificationRec {
                    recipient: parent_author.clone(),
                    reason: "reply",
                    post: uri.clone(),
                    reason_subject: Some(parent.clone()),
                });
                notified.push(parent_author);
            }
        }
        for (_, _, did) in &mentions {
            if !notified.contains(did) {
                s.notifications.push(NotificationRec { recipient: did.clone(), reason: "mention", post: uri.clone(), reason_subject: None });
                notified.push(did.clone());
            }
        }
        let created_at = self.created_at.unwrap_or_else(|| fmt(indexed_at - chrono::Duration::milliseconds(300)));
        s.posts.push(PostRec {
            uri: uri.clone(),
            cid: format!("bafyrei{rkey}"),
            author: self.author,
            text: self.text,
            mentions,
            reply,
            langs: self.langs,
            created_at,
            indexed_at,
            reposts: self.reposts,
            quotes: self.quotes,
        });
        uri
    }
}

impl State {
    /// A TID-like record key, increasing.
    fn rkey(&mut self) -> String {
        let n = self.next;
        self.next += 1;
        format!("3l{n:011}")
    }

    /// Now, but strictly after the previous index time, so that timestamp
    /// cursors never split two items that share a millisecond.
    fn index_time(&mut self) -> DateTime<Utc> {
        let now = Utc::now();
        let t = if now > self.last_indexed { now } else { self.last_indexed + chrono::Duration::milliseconds(1) };
        let t = DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap();
        let t = if t <= self.last_indexed { self.last_indexed + chrono::Duration::milliseconds(1) } else { t };
        self.last_indexed = t;
        t
    }

    fn account(&self, did: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.did == did)
    }

    fn resolve(&self, actor: &str) -> Option<&Account> {
        let actor = actor.trim_start_matches('@').to_lowercase();
        self.accounts.iter().find(|a| a.did == actor || a.handle.to_lowercase() == actor)
    }

    fn author_json(&self, did: &str) -> Value {
        let handle = self.account(did).map(|a| a.handle.clone()).unwrap_or_else(|| "handle.invalid".into());
        json!({"did": did, "handle": handle, "displayName": handle.split('.').next().unwrap_or_default(), "labels": [], "viewer": {"muted": false, "blockedBy": false}})
    }

    fn record_json(&self, p: &PostRec) -> Value {
        let mut r = json!({"$type": "app.bsky.feed.post", "text": p.text, "createdAt": p.created_at, "langs": p.langs});
        if !p.mentions.is_empty() {
            r["facets"] = p
                .mentions
                .iter()
                .map(|(start, end, did)| {
                    json!({"$type": "app.bsky.richtext.facet", "index": {"byteStart": start, "byteEnd": end},
                           "features": [{"$type": "app.bsky.richtext.facet#mention", "did": did}]})
                })
                .collect();
        }
        if let Some((root, parent)) = &p.reply {
            let cid = |u: &str| self.posts.iter().find(|x| x.uri == u).map(|x| x.cid.clone()).unwrap_or_default();
            r["reply"] = json!({"root": {"uri": root, "cid": cid(root)}, "parent": {"uri": parent, "cid": cid(parent)}});
        }
        r
    }

    fn post_json(&self, p: &PostRec) -> Value {
        let replies = self.posts.iter().filter(|x| x.reply.as_ref().is_some_and(|(_, parent)| *parent == p.uri)).count();
        json!({
            "uri": p.uri, "cid": p.cid, "author": self.author_json(&p.author), "record": self.record_json(p),
            "bookmarkCount": 0, "replyCount": replies, "repostCount": p.reposts, "likeCount": 0, "quoteCount": p.quotes,
            "indexedAt": fmt(p.indexed_at), "viewer": {"bookmarked": false, "threadMuted": false}, "labels": []
        })
    }

    fn profile_json(&self, a: &Account) -> Value {
        let posts = self.posts.iter().filter(|p| p.author == a.did).count();
        json!({"did": a.did, "handle": a.handle, "displayName": a.handle, "followersCount": a.followers, "followsCount": 1,
               "postsCount": posts, "indexedAt": "2023-05-20T12:00:00.000Z", "createdAt": "2023-05-20T12:00:00.000Z", "labels": []})
    }
}

fn did_of(uri: &str) -> String {
    uri.trim_start_matches("at://").split('/').next().unwrap_or_default().to_string()
}

fn fmt(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse_query(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    Response::builder().status(status).header("content-type", "application/json; charset=utf-8").body(Body::from(body.to_string())).unwrap()
}

fn xrpc_error(status: u16, error: &str, message: &str) -> Response {
    json_response(StatusCode::from_u16(status).unwrap(), &json!({"error": error, "message": message}))
}

fn failure_response(f: &Failure) -> Response {
    let raw =
        |status: StatusCode, ctype: &str, body: &'static str| Response::builder().status(status).header("content-type", ctype).body(Body::from(body)).unwrap();
    match f {
        Failure::RateLimited => {
            let mut r = xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded");
            r.headers_mut().insert("retry-after", "42".parse().unwrap());
            r
        }
        Failure::ServerError(code) => xrpc_error(*code, "InternalServerError", "Internal Server Error"),
        Failure::MalformedJson => raw(StatusCode::OK, "application/json; charset=utf-8", r#"{"posts": [{"uri": at://x}]"#),
        Failure::TruncatedBody => Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/json; charset=utf-8")
            .header("content-length", "4096")
            .body(truncated_body())
            .unwrap(),
        Failure::HtmlErrorPage => raw(StatusCode::OK, "text/html; charset=utf-8", "<!DOCTYPE html><html><body><h1>Bad gateway</h1></body></html>"),
        Failure::EmptyBody => raw(StatusCode::OK, "application/json; charset=utf-8", ""),
        Failure::Unauthorized => xrpc_error(401, "AuthenticationRequired", "Authentication Required"),
        Failure::Forbidden => xrpc_error(403, "Forbidden", "Request forbidden by administrative rules"),
        Failure::BadQuery => xrpc_error(400, "BadQueryString", "could not parse query"),
        Failure::Timeout(_) => unreachable!("handled before answering"),
    }
}

/// The start of a JSON document, then the connection closes mid-body.
fn truncated_body() -> Body {
    use tokio::io::AsyncWriteExt;
    let (mut writer, reader) = tokio::io::duplex(4096);
    tokio::spawn(async move {
        let _ = writer.write_all(br#"{"posts":[{"uri":"at://did:plc:x/app.bsky.feed.post/3l","#).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    });
    Body::from_stream(tokio_util::codec::FramedRead::new(reader, tokio_util::codec::BytesCodec::new()))
}

async fn handle(AxumState(state): AxumState<Shared>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
    let nsid = uri.path().trim_start_matches("/xrpc/").to_string();
    let failure = {
        let mut s = state.lock().unwrap();
        s.requests.push(RecordedRequest {
            method: method.to_string(),
            nsid: nsid.clone(),
            query: uri.query().map(str::to_string),
            authorization: authorization.clone(),
        });
        s.failures.pop_front()
    };
    if let Some(Failure::Timeout(d)) = failure {
        tokio::time::sleep(d).await;
    }
    let mut s = state.lock().unwrap();
    let now = s.clock.as_ref().map_or_else(Utc::now, |c| c());
    if now >= s.reset {
        s.remaining = RATE_LIMIT;
        s.reset = now + chrono::Duration::seconds(RATE_WINDOW_SECS);
    }
    let mut response = match failure {
        Some(Failure::Timeout(_)) | None if s.remaining == 0 => {
            s.refused += 1;
            failure_response(&Failure::RateLimited)
        }
        Some(Failure::Timeout(_)) | None => {
            s.remaining -= 1;
            route(&mut s, &method, &nsid, uri.query(), authorization.as_deref(), &body)
        }
        Some(f) => {
            s.remaining = if matches!(f, Failure::RateLimited) { 0 } else { s.remaining.saturating_sub(1) };
            failure_response(&f)
        }
    };
    let h = response.headers_mut();
    h.insert("ratelimit-limit", RATE_LIMIT.to_string().parse().unwrap());
    h.insert("ratelimit-remaining", s.remaining.to_string().parse().unwrap());
    h.insert("ratelimit-reset", s.reset.timestamp().to_string().parse().unwrap());
    h.insert("ratelimit-policy", format!("{RATE_LIMIT};w={RATE_WINDOW_SECS}").parse().unwrap());
    response
}

/// `limit` as the lexicons bound it; Err is the 400 to answer.
fn limit(params: &[(String, String)], default: usize) -> Result<usize, Response> {
    match params.iter().find(|(k, _)| k == "limit") {
        None => Ok(default),
        Some((_, v)) => match v.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => Ok(n),
            _ => Err(xrpc_error(400, "InvalidRequest", "limit must be between 1 and 100")),
        },
    }
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn time_param(params: &[(String, String)], name: &str) -> Result<Option<DateTime<Utc>>, Response> {
    match param(params, name) {
        None => Ok(None),
        Some(v) => DateTime::parse_from_rfc3339(v)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| xrpc_error(400, "InvalidRequest", &format!("{name} must be a valid datetime"))),
    }
}

fn issue(s: &mut State, did: &str) -> Value {
    let n = s.next;
    s.next += 1;
    let (access, refresh) = (format!("access-{n}"), format!("refresh-{n}"));
    s.access.insert(access.clone(), (did.to_string(), TokenState::Valid));
    s.refresh.insert(refresh.clone(), (did.to_string(), TokenState::Valid));
    let handle = s.account(did).map(|a| a.handle.clone()).unwrap_or_default();
    json!({"did": did, "handle": handle, "accessJwt": access, "refreshJwt": refresh, "active": true, "emailConfirmed": true})
}

fn route(s: &mut State, method: &Method, nsid: &str, query: Option<&str>, authorization: Option<&str>, body: &[u8]) -> Response {
    let bearer = authorization.and_then(|a| a.strip_prefix("Bearer ")).map(str::trim);
    match (method.as_str(), nsid) {
        ("POST", "com.atproto.server.createSession") => {
            let Ok(input) = serde_json::from_slice::<Value>(body) else {
                return xrpc_error(400, "InvalidRequest", "Input must be JSON");
            };
            let (Some(identifier), Some(password)) = (input["identifier"].as_str(), input["password"].as_str()) else {
                return xrpc_error(400, "InvalidRequest", "Input must have the property \"identifier\" and \"password\"");
            };
            let Some(account) = s.resolve(identifier).filter(|a| a.password == password).cloned() else {
                return xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password");
            };
            json_response(StatusCode::OK, &issue(s, &account.did))
        }
        ("POST", "com.atproto.server.refreshSession") => match bearer.and_then(|t| s.refresh.get(t).cloned()) {
            Some((did, TokenState::Valid)) => {
                s.refresh.remove(bearer.unwrap());
                json_response(StatusCode::OK, &issue(s, &did))
            }
            Some((_, TokenState::Expired)) => xrpc_error(400, "ExpiredToken", "Token has expired"),
            None => xrpc_error(400, "InvalidToken", "Token could not be verified"),
        },
        ("GET", _) => {
            let viewer = match bearer {
                None => return xrpc_error(401, "AuthMissing", "Authentication Required"),
                Some(t) => match s.access.get(t) {
                    Some((did, TokenState::Valid)) => did.clone(),
                    Some((_, TokenState::Expired)) => return xrpc_error(400, "ExpiredToken", "Token has expired"),
                    None => return xrpc_error(401, "InvalidToken", "Token could not be verified"),
                },
            };
            let params = parse_query(query);
            match get(s, nsid, &params, &viewer) {
                Ok(r) | Err(r) => r,
            }
        }
        _ => xrpc_error(501, "MethodNotImplemented", "Method Not Implemented"),
    }
}

fn get(s: &State, nsid: &str, params: &[(String, String)], viewer: &str) -> Result<Response, Response> {
    match nsid {
        "app.bsky.feed.searchPosts" => {
            let q = param(params, "q").unwrap_or_default();
            let clauses = clauses(q).ok_or_else(|| xrpc_error(400, "BadQueryString", "could not parse query"))?;
            if clauses.is_empty() {
                return Err(xrpc_error(400, "InvalidRequest", "Error: Params must have the property \"q\""));
            }
            let limit = limit(params, 25)?;
            let since = time_param(params, "since")?;
            let until = time_param(params, "until")?;
            let offset: usize = match param(params, "cursor") {
                None => 0,
                Some(c) => c.parse().map_err(|_| xrpc_error(400, "InvalidRequest", "malformed cursor"))?,
            };
            let mut found: Vec<&PostRec> = s
                .posts
                .iter()
                .filter(|p| clauses.iter().all(|c| contains_words(&p.text.to_lowercase(), c)))
                .filter(|p| since.is_none_or(|t| p.sort_at() >= t) && until.is_none_or(|t| p.sort_at() < t))
                .collect();
            found.sort_by(|a, b| b.sort_at().cmp(&a.sort_at()).then_with(|| b.uri.cmp(&a.uri)));
            let total = found.len();
            let page: Vec<Value> = found.iter().skip(offset).take(limit).map(|p| s.post_json(p)).collect();
            let mut body = json!({"hitsTotal": total, "posts": page});
            if offset + limit < total {
                body["cursor"] = json!((offset + limit).to_string());
            }
            Ok(json_response(StatusCode::OK, &body))
        }
        "app.bsky.notification.listNotifications" => {
            let limit = limit(params, 50)?;
            let reasons: Vec<String> = params.iter().filter(|(k, _)| k == "reasons").map(|(_, v)| v.clone()).collect();
            let before = time_param(params, "cursor")?;
            let mut mine: Vec<(&NotificationRec, &PostRec)> = s
                .notifications
                .iter()
                .filter(|n| n.recipient == viewer && (reasons.is_empty() || reasons.iter().any(|r| r == n.reason)))
                .filter_map(|n| s.posts.iter().find(|p| p.uri == n.post).map(|p| (n, p)))
                .filter(|(_, p)| before.is_none_or(|b| p.sort_at() < b))
                .collect();
            mine.sort_by_key(|(_, p)| std::cmp::Reverse(p.sort_at()));
            let more = mine.len() > limit;
            mine.truncate(limit);
            let list: Vec<Value> = mine
                .iter()
                .map(|(n, p)| {
                    let mut v = json!({"uri": p.uri, "cid": p.cid, "author": s.author_json(&p.author), "reason": n.reason,
                        "record": s.record_json(p), "isRead": false, "indexedAt": fmt(p.indexed_at), "labels": []});
                    if let Some(subject) = &n.reason_subject {
                        v["reasonSubject"] = json!(subject);
                    }
                    v
                })
                .collect();
            let mut body = json!({"notifications": list, "priority": false});
            if more {
                body["cursor"] = json!(fmt(mine.last().unwrap().1.sort_at()));
            }
            Ok(json_response(StatusCode::OK, &body))
        }
        "app.bsky.feed.getAuthorFeed" => {
            let actor = param(params, "actor").ok_or_else(|| xrpc_error(400, "InvalidRequest", "Error: Params must have the property \"actor\""))?;
            let account = s.resolve(actor).ok_or_else(|| xrpc_error(400, "InvalidRequest", "Profile not found"))?;
            let limit = limit(params, 50)?;
            let before = time_param(params, "cursor")?;
            let filter = param(params, "filter").unwrap_or("posts_with_replies");
            // (sort time, entry)
            let mut entries: Vec<(DateTime<Utc>, Value)> = s
                .posts
                .iter()
                .filter(|p| p.author == account.did && (filter != "posts_no_replies" || p.reply.is_none()))
                .map(|p| (p.sort_at(), json!({"post": s.post_json(p)})))
                .collect();
            for r in s.reposts.iter().filter(|r| r.by == account.did) {
                if let Some(p) = s.posts.iter().find(|p| p.uri == r.post) {
                    let reason = json!({"$type": "app.bsky.feed.defs#reasonRepost", "by": s.author_json(&r.by), "uri": r.uri, "indexedAt": fmt(r.indexed_at)});
                    entries.push((r.indexed_at, json!({"post": s.post_json(p), "reason": reason})));
                }
            }
            entries.retain(|(t, _)| before.is_none_or(|b| *t < b));
            entries.sort_by_key(|(t, _)| std::cmp::Reverse(*t));
            let more = entries.len() > limit;
            entries.truncate(limit);
            let mut body = json!({"feed": entries.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>()});
            if more {
                body["cursor"] = json!(fmt(entries.last().unwrap().0));
            }
            Ok(json_response(StatusCode::OK, &body))
        }
        "app.bsky.actor.getProfiles" => {
            let actors: Vec<&str> = params.iter().filter(|(k, _)| k == "actors").map(|(_, v)| v.as_str()).collect();
            if actors.is_empty() || actors.len() > 25 {
                return Err(xrpc_error(400, "InvalidRequest", "actors must have between 1 and 25 items"));
            }
            let profiles: Vec<Value> = actors.iter().filter_map(|a| s.resolve(a)).map(|a| s.profile_json(a)).collect();
            Ok(json_response(StatusCode::OK, &json!({"profiles": profiles})))
        }
        _ => Err(xrpc_error(501, "MethodNotImplemented", "Method Not Implemented")),
    }
}

/// Search clauses: words and "quoted phrases", lowercase. None when a
/// quote is left open.
fn clauses(q: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = q.trim();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('"') {
            let end = after.find('"')?;
            out.push(after[..end].to_lowercase());
            rest = after[end + 1..].trim_start();
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            out.push(rest[..end].to_lowercase());
            rest = rest[end..].trim_start();
        }
    }
    Some(out.into_iter().filter(|c| !c.is_empty()).collect())
}

/// `needle` in `text` at word boundaries.
fn contains_words(text: &str, needle: &str) -> bool {
    text.match_indices(needle).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + needle.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}
