//! A fake Reddit for integration tests (REFERENCE.md section 4): the
//! client-credentials token endpoint (HTTP Basic, `grant_type`, tokens that
//! expire or can be revoked), `GET /search` (posts only, `sort=new`) and
//! `GET /user/<name>/comments` as newest-first Listings with `after` /
//! `before` fullname cursors and `limit` up to 100, `raw_json` escaping,
//! `x-ratelimit-used/-remaining/-reset` headers (remaining a decimal
//! string, reset in seconds left; 100 requests a minute), the `{"message",
//! "error"}` error bodies (also the 429 Reddit sends to a generic
//! User-Agent), a search index that can lag behind posting, and a queue of
//! failures for the next API requests.
//!
//! Comments: threads (`GET /comments/<post>` with `sort`, `limit` and
//! `depth`: a tree of at most `limit` comments, or [`FakeReddit::set_tree_limit`],
//! the rest in `more` stubs listing their ID36s, "continue this thread"
//! stubs below `depth`), `GET|POST /api/morechildren` (at most 100 ids, a
//! flat `things` list; a non-JSON 400 beyond), subreddit comment listings
//! (`GET /r/<a>+<b>/comments`, 404 when no subreddit exists), the user
//! inbox's username mentions (`GET /message/mentions`, shaped like the
//! 2025 recording: `context`, no `link_id` or `permalink`; 403 with an
//! app-only token) and the password and refresh-token grants (script app
//! users, refresh tokens that may rotate), deleted (`[deleted]`) and
//! removed (`[removed]`) comments.
//!
//! Search matches a post when its title or text contains one of the
//! query's `OR`-ed terms (case-insensitive; quotes dropped): enough of the
//! query language for escucha's queries. Self-contained (axum, tokio,
//! serde_json, chrono): include with
//! `#[path = "support/fake_reddit.rs"] mod fake_reddit;`.
#![allow(dead_code)]

#[path = "relay.rs"]
mod relay;
use relay::{relay, TRUNCATE_MARK};

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const CLIENT_ID: &str = "fake-client-id";
pub const CLIENT_SECRET: &str = "fake-client-secret";
pub const USER_AGENT: &str = "linux:escucha:test (by /u/interjet_care)";
pub const TOKEN_PATH: &str = "/api/v1/access_token";
/// Reddit's published limit: 100 requests a minute per client id.
pub const DEFAULT_RATE_LIMIT: u32 = 100;
const WINDOW_SECS: i64 = 60;
const JSON: &str = "application/json; charset=UTF-8";

/// What the next API request gets instead of a normal answer (one per
/// request, in the order queued). Token requests are not affected.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// 429 `{"message": "Too Many Requests", "error": 429}`, remaining 0,
    /// reset in this many seconds.
    RateLimited {
        reset_in_secs: u64,
    },
    /// The same body with HTTP 200, as Reddit has been seen to send.
    Throttled200 {
        reset_in_secs: u64,
    },
    /// 401 whatever the token (Reddit revoked it early).
    TokenRejected,
    /// 403 `{"message": "Forbidden", "error": 403}`.
    Forbidden,
    /// This status with Reddit's error body.
    ServerError(u16),
    MalformedJson,
    /// 200 with no body at all.
    EmptyBody,
    /// A normal 200 whose connection closes halfway through the body.
    TruncatedBody,
    /// 200 `text/html`: the "our CDN is down" page.
    HtmlErrorPage,
    /// Waits this long before answering normally.
    Timeout(Duration),
}

/// A post (t3) to add: `NewPost::new("ana", "title", "text")`.
#[derive(Debug, Clone)]
pub struct NewPost {
    pub author: String,
    pub title: String,
    pub selftext: String,
    pub created_at: Option<DateTime<Utc>>,
    pub indexed: bool,
    pub crossposts: u64,
    pub subreddit: String,
}

impl NewPost {
    pub fn new(author: &str, title: &str, selftext: &str) -> NewPost {
        NewPost {
            author: author.into(),
            title: title.into(),
            selftext: selftext.into(),
            created_at: None,
            indexed: true,
            crossposts: 0,
            subreddit: "test".into(),
        }
    }
    /// Posted in r/`name` (default r/test).
    pub fn in_sub(mut self, name: &str) -> Self {
        self.subreddit = name.into();
        self
    }
    pub fn at(mut self, t: DateTime<Utc>) -> Self {
        self.created_at = Some(t);
        self
    }
    /// Not in the search index until [`FakeReddit::index`].
    pub fn unindexed(mut self) -> Self {
        self.indexed = false;
        self
    }
    pub fn crossposts(mut self, n: u64) -> Self {
        self.crossposts = n;
        self
    }
}

/// A thing as the fake stores it.
#[derive(Debug, Clone)]
pub struct Thing {
    /// Fullname: `t3_…` or `t1_…`.
    pub name: String,
    pub author: String,
    pub created_at: DateTime<Utc>,
    pub title: String,
    pub text: String,
    /// Comments: the parent's fullname, and the post's.
    pub parent_id: Option<String>,
    pub link_id: String,
    pub indexed: bool,
    pub crossposts: u64,
    /// Set by [`FakeReddit::delete`]: the text reads `[deleted]`.
    pub deleted: bool,
    /// Set by [`FakeReddit::remove`]: the text reads `[removed]`.
    pub removed: bool,
    pub subreddit: String,
}

/// One request as the fake received it (no credentials kept).
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub params: Vec<(String, String)>,
    pub user_agent: Option<String>,
    /// API: a valid bearer token; token endpoint: valid Basic credentials.
    pub authorized: bool,
    pub at: DateTime<Utc>,
}

impl RecordedRequest {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

struct Inner {
    client_secret: String,
    expires_in: u64,
    /// Issued tokens, when each expires, and the user it acts for (None:
    /// app-only).
    tokens: Vec<(String, DateTime<Utc>, Option<String>)>,
    /// Script app users (name, password) the password grant accepts.
    users: Vec<(String, String)>,
    /// Valid refresh tokens and their user.
    refresh_tokens: Vec<(String, String)>,
    /// Each refresh hands a new refresh token and revokes the one used.
    rotate_refresh: bool,
    /// Comments a thread request returns at most, whatever its `limit`.
    tree_limit: usize,
    issued: u64,
    things: Vec<Thing>,
    next_id: u64,
    failures: VecDeque<Failure>,
    requests: Vec<RecordedRequest>,
    rate_limit: u32,
    used: u32,
    window_reset: i64,
    /// When set, every API answer reports this `x-ratelimit-remaining`.
    remaining_override: Option<(f64, u64)>,
    window_secs: i64,
    /// Rate-limit windows run on this clock instead of the wall clock.
    clock: Option<VirtualNow>,
    /// 429s the rate window gave (not the injected failures).
    refused: u64,
}

type Shared = Arc<Mutex<Inner>>;

/// A clock the fake reads its rate-limit windows from (see
/// `enforce_limits_on`); the daemon under test must share it.
pub type VirtualNow = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

pub struct FakeReddit {
    api: std::net::SocketAddr,
    www: std::net::SocketAddr,
    inner: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeReddit {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeReddit {
    pub async fn start() -> FakeReddit {
        let inner: Shared = Arc::new(Mutex::new(Inner {
            client_secret: CLIENT_SECRET.into(),
            expires_in: 86_400,
            tokens: Vec::new(),
            users: Vec::new(),
            refresh_tokens: Vec::new(),
            rotate_refresh: false,
            tree_limit: 500,
            issued: 0,
            things: Vec::new(),
            next_id: 36u64.pow(5),
            failures: VecDeque::new(),
            requests: Vec::new(),
            rate_limit: DEFAULT_RATE_LIMIT,
            used: 0,
            window_reset: 0,
            remaining_override: None,
            window_secs: WINDOW_SECS,
            clock: None,
            refused: 0,
        }));
        let app = Router::new()
            .route(TOKEN_PATH, post(token))
            .route("/search", get(search))
            .route("/user/:name/comments", get(user_comments))
            .route("/comments/:article", get(thread))
            .route("/comments/:article/:slug/:comment", get(focal_thread))
            .route("/api/morechildren", get(more_children).post(more_children_form))
            .route("/r/:subs/comments", get(subreddit_comments))
            .route("/message/mentions", get(mentions))
            .fallback(not_found)
            .with_state(inner.clone());
        // The token endpoint (www.reddit.com) is served directly; the API
        // (oauth.reddit.com) through a TCP front that can cut a body short.
        let www = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let www_addr = www.local_addr().unwrap();
        let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let upstream_addr = upstream.local_addr().unwrap();
        let front = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let api = front.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let a = app.clone();
            let www_task = tokio::spawn(async move { axum::serve(www, app).await.expect("fake reddit www") });
            let api_task = tokio::spawn(async move { axum::serve(upstream, a).await.expect("fake reddit api") });
            let mut conns = tokio::task::JoinSet::new();
            while let Ok((client, _)) = front.accept().await {
                conns.spawn(relay(client, upstream_addr));
            }
            www_task.abort();
            api_task.abort();
        });
        FakeReddit { api, www: www_addr, inner, server }
    }

    /// `api_base` to configure (oauth.reddit.com).
    pub fn api_base(&self) -> String {
        format!("http://{}", self.api)
    }

    /// The API without the TCP front (no truncated bodies, but a kept-alive
    /// connection): for tests that send tens of thousands of requests.
    pub fn api_base_direct(&self) -> String {
        format!("http://{}", self.www)
    }

    /// `token_url` to configure.
    pub fn token_url(&self) -> String {
        format!("http://{}{TOKEN_PATH}", self.www)
    }

    /// The secret the token endpoint accepts from now on.
    pub fn set_client_secret(&self, secret: &str) {
        self.inner.lock().unwrap().client_secret = secret.into();
    }

    /// `expires_in` of the tokens issued from now on.
    pub fn set_expires_in(&self, secs: u64) {
        self.inner.lock().unwrap().expires_in = secs;
    }

    /// Invalidates every token issued so far.
    pub fn revoke_tokens(&self) {
        self.inner.lock().unwrap().tokens.clear();
    }

    /// A user of the script app, for the password grant.
    pub fn add_user(&self, name: &str, password: &str) {
        self.inner.lock().unwrap().users.push((name.into(), password.into()));
    }

    /// A refresh token of `user`, for the refresh-token grant.
    pub fn add_refresh_token(&self, token: &str, user: &str) {
        self.inner.lock().unwrap().refresh_tokens.push((token.into(), user.into()));
    }

    /// From now on each refresh returns a new refresh token and revokes
    /// the one it used.
    pub fn rotate_refresh_tokens(&self) {
        self.inner.lock().unwrap().rotate_refresh = true;
    }

    /// A thread request returns at most `n` comments; the rest come as
    /// `more` stubs.
    pub fn set_tree_limit(&self, n: usize) {
        self.inner.lock().unwrap().tree_limit = n;
    }

    /// How many tokens the endpoint has issued.
    pub fn tokens_issued(&self) -> u64 {
        self.inner.lock().unwrap().issued
    }

    /// Requests allowed per 60-second window; starts a fresh window.
    pub fn set_rate_limit(&self, limit: u32) {
        let mut s = self.inner.lock().unwrap();
        s.rate_limit = limit;
        s.used = 0;
        s.window_reset = Utc::now().timestamp() + WINDOW_SECS;
    }

    /// Makes every API answer say this many requests remain, resetting in
    /// `reset_secs` (without refusing anything).
    pub fn report_remaining(&self, remaining: f64, reset_secs: u64) {
        self.inner.lock().unwrap().remaining_override = Some((remaining, reset_secs));
    }

    /// Enforces the documented limit on `clock` instead of the wall clock:
    /// 100 queries per minute per OAuth client averaged over 10 minutes,
    /// i.e. 1000 per 600-second window (REFERENCE.md 4.5: limit = used +
    /// remaining, window about 600 s, recorded `997.0`/`3`).
    pub fn enforce_limits_on(&self, clock: VirtualNow) {
        let mut s = self.inner.lock().unwrap();
        s.clock = Some(clock);
        s.rate_limit = 1000;
        s.window_secs = 600;
        s.used = 0;
        s.window_reset = 0;
    }

    /// How many requests the rate window refused with 429.
    pub fn refused(&self) -> u64 {
        self.inner.lock().unwrap().refused
    }

    pub fn fail_next(&self, failure: Failure) {
        self.inner.lock().unwrap().failures.push_back(failure);
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// API requests only (not the token endpoint).
    pub fn api_requests(&self) -> Vec<RecordedRequest> {
        self.requests().into_iter().filter(|r| r.path != TOKEN_PATH).collect()
    }

    pub fn clear_requests(&self) {
        self.inner.lock().unwrap().requests.clear();
    }

    /// Stores a post; returns its fullname. Created now unless given; the
    /// fake's listings order by time, then by the order added.
    pub fn add_post(&self, p: NewPost) -> String {
        let mut s = self.inner.lock().unwrap();
        let name = format!("t3_{}", next_id(&mut s));
        s.things.push(Thing {
            removed: false,
            subreddit: p.subreddit,
            name: name.clone(),
            author: p.author,
            created_at: p.created_at.unwrap_or_else(Utc::now),
            title: p.title,
            text: p.selftext,
            parent_id: None,
            link_id: name.clone(),
            indexed: p.indexed,
            crossposts: p.crossposts,
            deleted: false,
        });
        name
    }

    /// Stores a comment replying to `parent` (a post or comment fullname
    /// held by the fake); returns its fullname.
    pub fn add_comment(&self, author: &str, body: &str, parent: &str) -> String {
        self.add_comment_at(author, body, parent, Utc::now())
    }

    /// [`FakeReddit::add_comment`] created at `at`.
    pub fn add_comment_at(&self, author: &str, body: &str, parent: &str, at: DateTime<Utc>) -> String {
        let mut s = self.inner.lock().unwrap();
        let (link_id, subreddit) = s
            .things
            .iter()
            .find(|t| t.name == parent)
            .map(|t| (t.link_id.clone(), t.subreddit.clone()))
            .unwrap_or_else(|| panic!("add_comment: no thing {parent}"));
        let name = format!("t1_{}", next_id(&mut s));
        s.things.push(Thing {
            removed: false,
            subreddit,
            name: name.clone(),
            author: author.into(),
            created_at: at,
            title: String::new(),
            text: body.into(),
            parent_id: Some(parent.into()),
            link_id,
            indexed: true,
            crossposts: 0,
            deleted: false,
        });
        name
    }

    /// Puts an unindexed post into the search index.
    pub fn index(&self, fullname: &str) {
        let mut s = self.inner.lock().unwrap();
        if let Some(t) = s.things.iter_mut().find(|t| t.name == fullname) {
            t.indexed = true;
        }
    }

    /// Deletes a thing: it stays in listings with `[deleted]` author/text.
    pub fn delete(&self, fullname: &str) {
        let mut s = self.inner.lock().unwrap();
        if let Some(t) = s.things.iter_mut().find(|t| t.name == fullname) {
            t.deleted = true;
        }
    }

    /// Forgets a post and its comments: its thread answers 404, as
    /// Reddit does for a post it no longer has.
    pub fn forget(&self, fullname: &str) {
        let mut s = self.inner.lock().unwrap();
        s.things.retain(|t| t.name != fullname && t.link_id != fullname);
    }

    /// A moderator removes a thing: its text reads `[removed]`, its author
    /// `[deleted]`.
    pub fn remove(&self, fullname: &str) {
        let mut s = self.inner.lock().unwrap();
        if let Some(t) = s.things.iter_mut().find(|t| t.name == fullname) {
            t.removed = true;
        }
    }
}

fn next_id(s: &mut Inner) -> String {
    s.next_id += 1;
    base36(s.next_id)
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    while n > 0 {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
    }
    out.reverse();
    String::from_utf8(out).unwrap()
}

fn respond(status: u16, content_type: &str, body: impl Into<Body>) -> Response {
    Response::builder().status(StatusCode::from_u16(status).unwrap()).header(header::CONTENT_TYPE, content_type).body(body.into()).unwrap()
}

/// Reddit's error JSON.
fn error(status: u16, message: &str) -> Response {
    respond(status, JSON, json!({"message": message, "error": status}).to_string())
}

fn set_header(resp: &mut Response, name: &'static str, value: impl ToString) {
    resp.headers_mut().insert(name, HeaderValue::from_str(&value.to_string()).unwrap());
}

fn rate_headers(resp: &mut Response, used: u32, remaining: f64, reset_secs: i64) {
    set_header(resp, "x-ratelimit-used", used);
    set_header(resp, "x-ratelimit-remaining", format!("{remaining:.1}"));
    set_header(resp, "x-ratelimit-reset", reset_secs.max(0));
}

fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// Reddit "drastically limits" generic agents; the fake refuses any agent
/// that does not follow its `<platform>:<app>:<version> (by /u/<name>)`
/// convention, with the 429 body.
fn descriptive(ua: Option<&str>) -> bool {
    ua.is_some_and(|ua| ua.contains("(by /u/") && ua.split(':').count() >= 3)
}

async fn not_found(uri: Uri, headers: HeaderMap, State(inner): State<Shared>) -> Response {
    inner.lock().unwrap().requests.push(RecordedRequest {
        method: "?".into(),
        path: uri.path().to_string(),
        params: Vec::new(),
        user_agent: user_agent(&headers),
        authorized: false,
        at: Utc::now(),
    });
    error(404, "Not Found")
}

/// `POST /api/v1/access_token`: HTTP Basic client id and secret, form body.
async fn token(State(inner): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let mut s = inner.lock().unwrap();
    let ua = user_agent(&headers);
    let creds = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(base64_decode)
        .and_then(|b| String::from_utf8(b).ok());
    let authorized = creds.as_deref() == Some(&format!("{CLIENT_ID}:{}", s.client_secret));
    let params: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    s.requests.push(RecordedRequest {
        method: "POST".into(),
        path: TOKEN_PATH.into(),
        params: params.clone(),
        user_agent: ua.clone(),
        authorized,
        at: Utc::now(),
    });
    if !descriptive(ua.as_deref()) {
        return error(429, "Too Many Requests");
    }
    if !authorized {
        return error(401, "Unauthorized");
    }
    let form = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if !form.starts_with("application/x-www-form-urlencoded") {
        return respond(200, JSON, json!({"error": "unsupported_grant_type"}).to_string());
    }
    // Token errors come back as 200 with `error` (prawcore: "Why are these OKAY responses?").
    let invalid = || respond(200, JSON, json!({"error": "invalid_grant"}).to_string());
    let mut new_refresh = None;
    let user = match param("grant_type").as_deref() {
        Some("client_credentials") => None,
        Some("password") => {
            let (u, p) = (param("username").unwrap_or_default(), param("password").unwrap_or_default());
            match s.users.iter().find(|(name, pass)| name.eq_ignore_ascii_case(&u) && *pass == p) {
                Some((name, _)) => Some(name.clone()),
                None => return invalid(),
            }
        }
        Some("refresh_token") => {
            let given = param("refresh_token").unwrap_or_default();
            let Some(i) = s.refresh_tokens.iter().position(|(t, _)| *t == given) else { return invalid() };
            let user = s.refresh_tokens[i].1.clone();
            if s.rotate_refresh {
                s.issued += 1;
                let next = format!("fake-refresh-{}", s.issued);
                s.refresh_tokens[i].0 = next.clone();
                new_refresh = Some(next);
            }
            Some(user)
        }
        _ => return respond(200, JSON, json!({"error": "unsupported_grant_type"}).to_string()),
    };
    s.issued += 1;
    let token = format!("fake-reddit-token-{}", s.issued);
    let expires_in = s.expires_in;
    s.tokens.push((token.clone(), Utc::now() + chrono::Duration::seconds(expires_in as i64), user));
    let mut body = json!({"access_token": token, "token_type": "bearer", "expires_in": expires_in, "scope": "*"});
    if let Some(r) = new_refresh {
        body["refresh_token"] = json!(r);
    }
    respond(200, JSON, body.to_string())
}

/// What a token may read: the user it acts for, if any.
#[derive(Clone)]
enum Caller {
    Nobody,
    App,
    User(String),
}

async fn search(State(inner): State<Shared>, headers: HeaderMap, Query(params): Query<Vec<(String, String)>>) -> Response {
    api(inner, "/search".into(), headers, params, Listing::Search).await
}

async fn user_comments(State(inner): State<Shared>, Path(name): Path<String>, headers: HeaderMap, Query(params): Query<Vec<(String, String)>>) -> Response {
    api(inner, format!("/user/{name}/comments"), headers, params, Listing::UserComments(name)).await
}

async fn thread(State(inner): State<Shared>, Path(article): Path<String>, headers: HeaderMap, Query(params): Query<Vec<(String, String)>>) -> Response {
    api(inner, format!("/comments/{article}"), headers, params, Listing::Thread(format!("t3_{article}"), None)).await
}

/// `/comments/<post>/<slug or _>/<comment>`: the comment and its replies.
async fn focal_thread(
    State(inner): State<Shared>,
    Path((article, slug, comment)): Path<(String, String, String)>,
    headers: HeaderMap,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let path = format!("/comments/{article}/{slug}/{comment}");
    api(inner, path, headers, params, Listing::Thread(format!("t3_{article}"), Some(format!("t1_{comment}")))).await
}

async fn more_children(State(inner): State<Shared>, headers: HeaderMap, Query(params): Query<Vec<(String, String)>>) -> Response {
    api(inner, "/api/morechildren".into(), headers, params, Listing::MoreChildren).await
}

async fn more_children_form(State(inner): State<Shared>, headers: HeaderMap, Query(mut params): Query<Vec<(String, String)>>, body: String) -> Response {
    params.extend(url::form_urlencoded::parse(body.as_bytes()).into_owned());
    api(inner, "/api/morechildren".into(), headers, params, Listing::MoreChildren).await
}

async fn subreddit_comments(
    State(inner): State<Shared>,
    Path(subs): Path<String>,
    headers: HeaderMap,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    api(inner, format!("/r/{subs}/comments"), headers, params, Listing::Subreddits(subs)).await
}

async fn mentions(State(inner): State<Shared>, headers: HeaderMap, Query(params): Query<Vec<(String, String)>>) -> Response {
    api(inner, "/message/mentions".into(), headers, params, Listing::Mentions).await
}

enum Listing {
    Search,
    UserComments(String),
    /// A thread, by its post's fullname, from the top or from one comment.
    Thread(String, Option<String>),
    MoreChildren,
    /// `a+b` as in the path.
    Subreddits(String),
    Mentions,
}

async fn api(inner: Shared, path: String, headers: HeaderMap, params: Vec<(String, String)>, listing: Listing) -> Response {
    let (failure, outcome) = {
        let mut s = inner.lock().unwrap();
        let now = Utc::now();
        let ua = user_agent(&headers);
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.to_string());
        let caller = match bearer.and_then(|t| s.tokens.iter().find(|(k, exp, _)| *k == t && *exp > now).map(|(_, _, u)| u.clone())) {
            None => Caller::Nobody,
            Some(None) => Caller::App,
            Some(Some(u)) => Caller::User(u),
        };
        let authorized = !matches!(caller, Caller::Nobody);
        s.requests.push(RecordedRequest { method: "GET".into(), path, params: params.clone(), user_agent: ua.clone(), authorized, at: now });
        let failure = s.failures.pop_front();
        let outcome = match &failure {
            Some(f) if !matches!(f, Failure::Timeout(_) | Failure::TruncatedBody) => None,
            _ => Some(answer(&mut s, caller, descriptive(ua.as_deref()), &params, &listing)),
        };
        (failure, outcome)
    };
    match (failure, outcome) {
        (Some(Failure::Timeout(d)), Some(resp)) => {
            tokio::time::sleep(d).await;
            resp
        }
        (Some(Failure::TruncatedBody), Some(mut resp)) => {
            set_header(&mut resp, TRUNCATE_MARK, "1");
            resp
        }
        (Some(f), _) => failed(f),
        (None, Some(resp)) => resp,
        (None, None) => unreachable!("no failure means an answer"),
    }
}

fn failed(f: Failure) -> Response {
    match f {
        Failure::RateLimited { reset_in_secs } => {
            let mut r = error(429, "Too Many Requests");
            rate_headers(&mut r, DEFAULT_RATE_LIMIT, 0.0, reset_in_secs as i64);
            r
        }
        Failure::Throttled200 { reset_in_secs } => {
            let mut r = respond(200, JSON, json!({"message": "Too Many Requests", "error": 429}).to_string());
            rate_headers(&mut r, DEFAULT_RATE_LIMIT, 0.0, reset_in_secs as i64);
            r
        }
        Failure::TokenRejected => error(401, "Unauthorized"),
        Failure::Forbidden => error(403, "Forbidden"),
        Failure::ServerError(status) => {
            let reason = StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Server Error");
            error(status, reason)
        }
        Failure::MalformedJson => respond(200, JSON, r#"{"kind": "Listing", "data": {"after": null, "children": [{"kind": "t3", "#),
        Failure::EmptyBody => respond(200, JSON, ""),
        Failure::HtmlErrorPage => respond(
            200,
            "text/html; charset=UTF-8",
            "<!doctype html><html><head><title>Reddit - Our CDN was unable to reach our servers</title></head><body>Please try again in a few minutes.</body></html>",
        ),
        Failure::Timeout(_) | Failure::TruncatedBody => unreachable!("answered normally, then delayed or cut"),
    }
}

/// Auth, User-Agent, the rate window, then the listing.
fn answer(s: &mut Inner, caller: Caller, descriptive_ua: bool, params: &[(String, String)], listing: &Listing) -> Response {
    let authorized = !matches!(caller, Caller::Nobody);
    let now = s.clock.as_ref().map_or_else(Utc::now, |c| c());
    if now.timestamp() >= s.window_reset {
        s.window_reset = now.timestamp() + s.window_secs;
        s.used = 0;
    }
    let reset = s.window_reset - now.timestamp();
    if !descriptive_ua {
        return error(429, "Too Many Requests");
    }
    if !authorized {
        return error(401, "Unauthorized");
    }
    if s.used >= s.rate_limit {
        s.refused += 1;
        let mut r = error(429, "Too Many Requests");
        rate_headers(&mut r, s.used, 0.0, reset);
        return r;
    }
    s.used += 1;
    let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let raw_json = get("raw_json") == Some("1");
    let limit = get("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(25).clamp(1, 100);
    let rate = |s: &Inner, mut r: Response| {
        let (remaining, reset) = match s.remaining_override {
            Some((rem, secs)) => (rem, secs as i64),
            None => ((s.rate_limit - s.used) as f64, reset),
        };
        rate_headers(&mut r, s.used, remaining, reset);
        r
    };
    match listing {
        Listing::Thread(link, focal) => {
            let Some(post) = s.things.iter().find(|t| t.name == *link) else { return rate(s, error(404, "Not Found")) };
            let limit = get("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(200).min(s.tree_limit);
            let depth = get("depth").and_then(|d| d.parse::<usize>().ok()).unwrap_or(10).max(1);
            let newest_first = get("sort") == Some("new");
            let mut budget = limit;
            let comments = match focal {
                None => tree(s, link, 0, depth, newest_first, &mut budget, raw_json),
                Some(c) => {
                    let Some(top) = s.things.iter().find(|t| t.name == *c && t.link_id == *link) else { return rate(s, error(404, "Not Found")) };
                    let mut j = thing_json(s, top, raw_json);
                    j["data"]["depth"] = json!(0);
                    let replies = tree(s, c, 1, depth, newest_first, &mut budget, raw_json);
                    if !replies.is_empty() {
                        j["data"]["replies"] = json!({"kind": "Listing", "data": {"after": null, "children": replies, "before": null}});
                    }
                    vec![j]
                }
            };
            let listing = |children: Vec<Value>| json!({"kind": "Listing", "data": {"after": null, "dist": children.len(), "modhash": null, "geo_filter": "", "children": children, "before": null}});
            let body = json!([listing(vec![thing_json(s, post, raw_json)]), listing(comments)]);
            return rate(s, respond(200, JSON, body.to_string()));
        }
        Listing::MoreChildren => {
            let link = get("link_id").unwrap_or_default().to_string();
            let ids: Vec<&str> = get("children").unwrap_or_default().split(',').filter(|c| !c.is_empty()).collect();
            if ids.len() > 100 || get("api_type") != Some("json") {
                return rate(s, respond(400, "text/plain; charset=utf-8", "Bad Request"));
            }
            let things: Vec<Value> = ids
                .iter()
                .filter_map(|id| s.things.iter().find(|t| t.name == format!("t1_{id}") && t.link_id == link))
                .map(|t| thing_json(s, t, raw_json))
                .collect();
            return rate(s, respond(200, JSON, json!({"json": {"errors": [], "data": {"things": things}}}).to_string()));
        }
        _ => {}
    }
    let mut items: Vec<&Thing> = match listing {
        Listing::Search => {
            let q = get("q").unwrap_or_default();
            if q.chars().count() > 512 {
                return error(400, "Bad Request");
            }
            let terms: Vec<String> = q.split(" OR ").map(|t| t.trim().trim_matches('"').to_lowercase()).filter(|t| !t.is_empty()).collect();
            s.things
                .iter()
                .filter(|t| t.name.starts_with("t3_") && t.indexed)
                .filter(|t| {
                    let hay = format!("{} {}", t.title, t.text).to_lowercase();
                    terms.iter().any(|term| hay.contains(term.as_str()))
                })
                .collect()
        }
        Listing::UserComments(name) => {
            if !s.things.iter().any(|t| t.author.eq_ignore_ascii_case(name)) {
                return error(404, "Not Found");
            }
            s.things.iter().filter(|t| t.name.starts_with("t1_") && t.author.eq_ignore_ascii_case(name)).collect()
        }
        Listing::Subreddits(subs) => {
            let subs: Vec<String> = subs.split('+').map(str::to_lowercase).collect();
            if !s.things.iter().any(|t| subs.contains(&t.subreddit.to_lowercase())) {
                return rate(s, error(404, "Not Found"));
            }
            s.things.iter().filter(|t| t.name.starts_with("t1_") && subs.contains(&t.subreddit.to_lowercase())).collect()
        }
        Listing::Mentions => {
            let Caller::User(user) = &caller else { return rate(s, error(403, "Forbidden")) };
            let needle = format!("u/{}", user.to_lowercase());
            s.things.iter().filter(|t| t.name.starts_with("t1_") && !t.author.eq_ignore_ascii_case(user) && t.text.to_lowercase().contains(&needle)).collect()
        }
        Listing::Thread(..) | Listing::MoreChildren => unreachable!("answered above"),
    };
    // sort=new (the only order escucha asks for): newest first, ties by
    // the order added (later first).
    items.reverse();
    items.sort_by_key(|t| std::cmp::Reverse(t.created_at));
    let (page, after) = match (get("after"), get("before")) {
        (Some(after), _) => match items.iter().position(|t| t.name == after) {
            Some(i) => {
                let rest = &items[i + 1..];
                let page: Vec<&Thing> = rest.iter().take(limit).copied().collect();
                let more = rest.len() > page.len();
                (page.clone(), if more { page.last().map(|t| t.name.clone()) } else { None })
            }
            // An anchor Reddit does not know: an empty listing.
            None => (Vec::new(), None),
        },
        (None, Some(before)) => match items.iter().position(|t| t.name == before) {
            Some(i) => {
                let newer = &items[..i];
                let page: Vec<&Thing> = newer[newer.len().saturating_sub(limit)..].to_vec();
                let after = page.last().map(|t| t.name.clone());
                (page, after)
            }
            None => (Vec::new(), None),
        },
        (None, None) => {
            let page: Vec<&Thing> = items.iter().take(limit).copied().collect();
            let more = items.len() > page.len();
            (page.clone(), if more { page.last().map(|t| t.name.clone()) } else { None })
        }
    };
    let mention = matches!(listing, Listing::Mentions);
    let children: Vec<Value> = page.iter().map(|t| if mention { mention_json(s, t, raw_json) } else { thing_json(s, t, raw_json) }).collect();
    let body = json!({
        "kind": "Listing",
        "data": {"after": after, "dist": children.len(), "modhash": null, "geo_filter": "", "children": children, "before": null}
    });
    let mut r = respond(200, JSON, body.to_string());
    let (remaining, reset) = match s.remaining_override {
        Some((rem, secs)) => (rem, secs as i64),
        None => ((s.rate_limit - s.used) as f64, reset),
    };
    rate_headers(&mut r, s.used, remaining, reset);
    r
}

/// Without `raw_json=1` Reddit HTML-escapes `&`, `<` and `>` in text.
fn text(s: &str, raw_json: bool) -> String {
    if raw_json {
        s.to_string()
    } else {
        s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
    }
}

fn slug(title: &str) -> String {
    let s: String = title.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).take(50).collect();
    s.trim_matches('_').to_string()
}

/// The comment tree under `parent`, sorted newest first (`sort=new`) or
/// oldest first, at most `budget` comments: the children beyond go into
/// a `more` stub listing them and their descendants; replies below
/// `depth` into a "continue this thread" stub.
fn tree(s: &Inner, parent: &str, level: usize, depth: usize, newest_first: bool, budget: &mut usize, raw_json: bool) -> Vec<Value> {
    let mut kids: Vec<&Thing> = s.things.iter().filter(|t| t.parent_id.as_deref() == Some(parent)).collect();
    kids.sort_by_key(|t| t.created_at);
    if newest_first {
        kids.reverse();
    }
    let mut out = Vec::new();
    for (i, k) in kids.iter().enumerate() {
        if *budget == 0 {
            let mut ids = Vec::new();
            for rest in &kids[i..] {
                ids.push(rest.name[3..].to_string());
                descendants(s, &rest.name, &mut ids);
            }
            out.push(json!({"kind": "more", "data": {"count": ids.len(), "name": format!("t1_{}", ids[0]), "id": ids[0], "parent_id": parent, "depth": level, "children": ids}}));
            break;
        }
        *budget -= 1;
        let mut j = thing_json(s, k, raw_json);
        j["data"]["depth"] = json!(level);
        let has_replies = s.things.iter().any(|t| t.parent_id.as_deref() == Some(k.name.as_str()));
        let replies = if level + 1 < depth {
            tree(s, &k.name, level + 1, depth, newest_first, budget, raw_json)
        } else if has_replies {
            vec![json!({"kind": "more", "data": {"count": 0, "name": "t1__", "id": "_", "parent_id": k.name, "depth": level + 1, "children": []}})]
        } else {
            Vec::new()
        };
        if !replies.is_empty() {
            j["data"]["replies"] =
                json!({"kind": "Listing", "data": {"after": null, "dist": null, "modhash": null, "geo_filter": "", "children": replies, "before": null}});
        }
        out.push(j);
    }
    out
}

fn descendants(s: &Inner, parent: &str, ids: &mut Vec<String>) {
    for t in s.things.iter().filter(|t| t.parent_id.as_deref() == Some(parent)) {
        ids.push(t.name[3..].to_string());
        descendants(s, &t.name, ids);
    }
}

/// A comment as `/message/mentions` shows it (2025 recording): `context`
/// instead of `permalink`, no `link_id`.
fn mention_json(s: &Inner, t: &Thing, raw_json: bool) -> Value {
    let mut j = thing_json(s, t, raw_json);
    let d = j["data"].as_object_mut().unwrap();
    let permalink = d.remove("permalink").and_then(|p| p.as_str().map(str::to_string)).unwrap_or_default();
    d.remove("link_id");
    d.remove("link_permalink");
    d.remove("link_author");
    d.insert("context".into(), json!(format!("{permalink}?context=3")));
    d.insert("type".into(), json!("username_mention"));
    d.insert("subject".into(), json!("username mention"));
    d.insert("was_comment".into(), json!(true));
    d.insert("new".into(), json!(true));
    j
}

fn thing_json(s: &Inner, t: &Thing, raw_json: bool) -> Value {
    let id = &t.name[3..];
    let created = t.created_at.timestamp() as f64;
    let author = if t.deleted || t.removed { "[deleted]".to_string() } else { t.author.clone() };
    let post = s.things.iter().find(|p| p.name == t.link_id);
    let post_slug = post.map(|p| slug(&p.title)).unwrap_or_default();
    let link_short = &t.link_id[3..];
    let sub = &t.subreddit;
    let gone = if t.removed {
        Some("[removed]")
    } else if t.deleted {
        Some("[deleted]")
    } else {
        None
    };
    if t.name.starts_with("t3_") {
        json!({"kind": "t3", "data": {
            "id": id, "name": t.name, "title": text(&t.title, raw_json),
            "selftext": gone.map_or_else(|| text(&t.text, raw_json), str::to_string),
            "author": author, "author_fullname": format!("t2_{}", slug(&t.author)),
            "subreddit": sub, "subreddit_name_prefixed": format!("r/{sub}"),
            "permalink": format!("/r/{sub}/comments/{id}/{post_slug}/"),
            "url": format!("https://www.reddit.com/r/{sub}/comments/{id}/{post_slug}/"),
            "created": created, "created_utc": created, "score": 1, "ups": 1, "num_comments": 0,
            "upvote_ratio": 1.0, "over_18": false, "is_self": true, "edited": false,
            "removed_by_category": null, "link_flair_text": null, "num_crossposts": t.crossposts
        }})
    } else {
        json!({"kind": "t1", "data": {
            "id": id, "name": t.name, "body": gone.map_or_else(|| text(&t.text, raw_json), str::to_string),
            "author": author, "author_fullname": format!("t2_{}", slug(&t.author)),
            "parent_id": t.parent_id, "link_id": t.link_id,
            "link_title": post.map(|p| p.title.clone()).unwrap_or_default(),
            "link_author": post.map(|p| p.author.clone()).unwrap_or_default(),
            "link_permalink": format!("https://www.reddit.com/r/{sub}/comments/{link_short}/{post_slug}/"),
            "permalink": format!("/r/{sub}/comments/{link_short}/{post_slug}/{id}/"),
            "subreddit": sub, "subreddit_name_prefixed": format!("r/{sub}"),
            "created": created, "created_utc": created, "score": 1, "replies": "",
            "is_submitter": false, "distinguished": null, "edited": false
        }})
    }
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        })
    };
    let s = s.trim().trim_end_matches('=');
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes() {
        acc = (acc << 6) | val(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}
