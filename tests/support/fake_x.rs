//! A fake X API v2 (`GET /2/tweets/search/recent` only) for integration
//! tests: it keeps tweets in memory, answers with the documented shapes
//! (REFERENCE.md section 1: newest first, `since_id`, opaque `next_token`,
//! fields only when requested, `includes.users` once per user, problem JSON
//! errors, `x-rate-limit-*` headers with a 450-per-15-minutes window) and can
//! be told to fail the next requests in the ways a real network fails.
//!
//! It does not evaluate the search query language: every stored tweet that
//! passes the id/time filters is "found". The query is recorded so tests can
//! check it. Self-contained (axum, tokio, serde_json, chrono) so any test
//! binary can include it with `#[path = "support/fake_x.rs"] mod fake_x;`.
#![allow(dead_code)]

#[path = "relay.rs"]
mod relay;
use relay::{relay, TRUNCATE_MARK};

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde_json::{json, Map, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The bearer token the fake accepts until [`FakeX::set_token`] changes it.
pub const DEFAULT_TOKEN: &str = "fake-x-bearer-token";
pub const SEARCH_PATH: &str = "/2/tweets/search/recent";
/// Recent search: 450 requests per 15-minute window per app.
pub const DEFAULT_RATE_LIMIT: u32 = 450;
const WINDOW_SECS: i64 = 15 * 60;
const SNOWFLAKE_EPOCH_MS: i64 = 1_288_834_974_657;
/// Opaque-looking prefix of the fake's pagination tokens.
const TOKEN_PREFIX: &str = "b26v89c19zqg8o3f";
/// Accepted query parameters, in the order the real 400 lists them
/// (REFERENCE 1.2); `post.fields` is the 2.167 spec's new name.
const KNOWN_PARAMS: &[&str] = &[
    "query",
    "start_time",
    "end_time",
    "since_id",
    "until_id",
    "max_results",
    "next_token",
    "pagination_token",
    "sort_order",
    "expansions",
    "tweet.fields",
    "media.fields",
    "poll.fields",
    "place.fields",
    "user.fields",
    "post.fields",
];
/// Response header by which the handler asks the TCP front to cut the body.
const JSON: &str = "application/json; charset=utf-8";
const PROBLEM_JSON: &str = "application/problem+json";

/// What the next request gets instead of a normal answer (one per request,
/// in the order queued).
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// 429 problem JSON, `x-rate-limit-remaining: 0`, reset in this many seconds.
    RateLimited { reset_in_secs: u64 },
    /// 429 problem JSON with no rate-limit headers at all.
    RateLimitedNoHeaders,
    /// This status (e.g. 500, 502) with a problem JSON body.
    ServerError(u16),
    /// 503 with `Retry-After: <seconds>`.
    Unavailable { retry_after: u64 },
    /// 200 whose body is not valid JSON.
    MalformedJson,
    /// A normal 200 whose connection closes halfway through the body.
    TruncatedBody,
    /// 200 `text/html`: a captive portal or misrouted proxy.
    HtmlErrorPage,
    /// Waits this long before answering normally.
    Timeout(Duration),
    /// 429 monthly usage cap (headers show plenty remaining, no reset).
    UsageCapped,
}

/// A tweet to add. `NewTweet::new("alice", "hola @Interjet_mx")`, then the
/// builder methods; everything else has a sensible default (created now,
/// 100 followers, lang "en", no reposts).
#[derive(Debug, Clone)]
pub struct NewTweet {
    pub author: String,
    pub text: String,
    pub followers: Option<u64>,
    pub created_at: Option<DateTime<Utc>>,
    pub reply_to: Option<String>,
    pub in_reply_to: Option<(String, String)>,
    pub conversation_id: Option<String>,
    pub lang: Option<String>,
    pub retweets: u64,
    pub quotes: u64,
    pub retweet_of: Option<String>,
    pub note_text: Option<String>,
}

impl NewTweet {
    pub fn new(author: &str, text: &str) -> NewTweet {
        NewTweet {
            author: author.to_string(),
            text: text.to_string(),
            followers: None,
            created_at: None,
            reply_to: None,
            in_reply_to: None,
            conversation_id: None,
            lang: Some("en".into()),
            retweets: 0,
            quotes: 0,
            retweet_of: None,
            note_text: None,
        }
    }
    /// Sets (and keeps) the author's follower count.
    pub fn followers(mut self, n: u64) -> Self {
        self.followers = Some(n);
        self
    }
    pub fn at(mut self, created_at: DateTime<Utc>) -> Self {
        self.created_at = Some(created_at);
        self
    }
    /// A reply to a tweet stored in this fake: its author and conversation
    /// are filled in.
    pub fn reply_to(mut self, tweet_id: &str) -> Self {
        self.reply_to = Some(tweet_id.to_string());
        self
    }
    /// A reply to a tweet the fake does not hold (tweet id, its author's id).
    pub fn in_reply_to(mut self, tweet_id: &str, user_id: &str) -> Self {
        self.in_reply_to = Some((tweet_id.to_string(), user_id.to_string()));
        self
    }
    pub fn conversation(mut self, id: &str) -> Self {
        self.conversation_id = Some(id.to_string());
        self
    }
    /// `None` omits the field.
    pub fn lang(mut self, lang: Option<&str>) -> Self {
        self.lang = lang.map(str::to_string);
        self
    }
    pub fn retweets(mut self, n: u64) -> Self {
        self.retweets = n;
        self
    }
    pub fn quotes(mut self, n: u64) -> Self {
        self.quotes = n;
        self
    }
    /// A retweet of that tweet (`referenced_tweets` type `retweeted`).
    pub fn retweet_of(mut self, tweet_id: &str) -> Self {
        self.retweet_of = Some(tweet_id.to_string());
        self
    }
    /// A long post: `text` stays the truncated form, this is `note_tweet.text`.
    pub fn note_text(mut self, full: &str) -> Self {
        self.note_text = Some(full.to_string());
        self
    }
}

/// A tweet as the fake stores it.
#[derive(Debug, Clone)]
pub struct StoredTweet {
    pub id: String,
    pub author_id: String,
    pub author: String,
    pub text: String,
    pub created_at: DateTime<Utc>,
    pub in_reply_to: Option<(String, String)>,
    pub conversation_id: String,
    pub lang: Option<String>,
    pub retweets: u64,
    pub quotes: u64,
    pub retweet_of: Option<String>,
    pub note_text: Option<String>,
    /// `(start, end, username)` in characters, end exclusive.
    pub mentions: Vec<(usize, usize, String)>,
}

#[derive(Debug, Clone)]
struct User {
    id: String,
    username: String,
    followers: u64,
}

/// One request as the fake received it (the bearer token is not kept).
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub path: String,
    /// Decoded query parameters, in order.
    pub params: Vec<(String, String)>,
    /// The raw query string.
    pub raw_query: String,
    /// Whether the request carried the expected bearer token.
    pub authorized: bool,
}

impl RecordedRequest {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

struct Inner {
    token: String,
    tweets: Vec<StoredTweet>,
    users: Vec<User>,
    last_id: u64,
    failures: VecDeque<Failure>,
    requests: Vec<RecordedRequest>,
    rate_limit: u32,
    remaining: u32,
    window_reset: i64,
    /// Serve `&`, `<` and `>` in tweet text as `&amp;`, `&lt;`, `&gt;`, as
    /// the real v2 API does (off by default: most tests write plain text).
    escape_text: bool,
    /// Rate-limit windows run on this clock instead of the wall clock.
    clock: Option<VirtualNow>,
    /// 429s the rate window gave (not the injected failures).
    refused: u64,
}

type Shared = Arc<Mutex<Inner>>;

/// A clock the fake reads its rate-limit windows from (see
/// `enforce_limits_on`); the daemon under test must share it.
pub type VirtualNow = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

pub struct FakeX {
    addr: std::net::SocketAddr,
    upstream: std::net::SocketAddr,
    inner: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeX {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeX {
    pub async fn start() -> FakeX {
        let inner: Shared = Arc::new(Mutex::new(Inner {
            token: DEFAULT_TOKEN.to_string(),
            tweets: Vec::new(),
            users: Vec::new(),
            last_id: 0,
            failures: VecDeque::new(),
            requests: Vec::new(),
            rate_limit: DEFAULT_RATE_LIMIT,
            remaining: DEFAULT_RATE_LIMIT,
            window_reset: 0,
            escape_text: false,
            clock: None,
            refused: 0,
        }));
        let app = Router::new().route(SEARCH_PATH, get(search)).fallback(not_found).with_state(inner.clone());
        let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let upstream_addr = upstream.local_addr().unwrap();
        let front = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = front.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let app_task = tokio::spawn(async move {
                axum::serve(upstream, app).await.expect("fake X server");
            });
            let mut conns = tokio::task::JoinSet::new();
            while let Ok((client, _)) = front.accept().await {
                conns.spawn(relay(client, upstream_addr));
            }
            app_task.abort();
        });
        FakeX { addr, upstream: upstream_addr, inner, server }
    }

    /// `http://127.0.0.1:<port>`, the `api_base` to configure.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The axum server without the TCP front (no truncated bodies, but a
    /// kept-alive connection): for tests that send tens of thousands of
    /// requests.
    pub fn base_url_direct(&self) -> String {
        format!("http://{}", self.upstream)
    }

    pub fn set_token(&self, token: &str) {
        self.inner.lock().unwrap().token = token.to_string();
    }

    /// Requests allowed per 15-minute window; starts a fresh window.
    pub fn set_rate_limit(&self, limit: u32) {
        let mut s = self.inner.lock().unwrap();
        s.rate_limit = limit;
        s.remaining = limit;
        s.window_reset = Utc::now().timestamp() + WINDOW_SECS;
    }

    /// Enforces the documented limit (recent search: 450 per 15-minute
    /// window per app, REFERENCE.md 1.6) on `clock` instead of the wall
    /// clock, so a test can run days of virtual time.
    pub fn enforce_limits_on(&self, clock: VirtualNow) {
        let mut s = self.inner.lock().unwrap();
        s.clock = Some(clock);
        s.rate_limit = DEFAULT_RATE_LIMIT;
        s.remaining = DEFAULT_RATE_LIMIT;
        s.window_reset = 0;
    }

    /// How many requests the rate window refused with 429.
    pub fn refused(&self) -> u64 {
        self.inner.lock().unwrap().refused
    }

    pub fn fail_next(&self, failure: Failure) {
        self.inner.lock().unwrap().failures.push_back(failure);
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner.lock().unwrap().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.inner.lock().unwrap().requests.clear();
    }

    /// Tweet text served HTML-escaped (`&amp;`, `&lt;`, `&gt;`) like the
    /// real API v2, or as stored.
    pub fn set_html_escaped_text(&self, on: bool) {
        self.inner.lock().unwrap().escape_text = on;
    }

    /// The user id the fake uses for `username` (created if new).
    pub fn user_id(&self, username: &str) -> String {
        let mut s = self.inner.lock().unwrap();
        user_index(&mut s, username, None).map(|i| s.users[i].id.clone()).unwrap()
    }

    pub fn tweet(&self, id: &str) -> Option<StoredTweet> {
        self.inner.lock().unwrap().tweets.iter().find(|t| t.id == id).cloned()
    }

    /// Stores a tweet and returns its id: a snowflake of its `created_at`,
    /// bumped when needed so that ids grow in the order tweets are added
    /// (what `since_id` relies on).
    pub fn add_tweet(&self, new: NewTweet) -> String {
        let mut s = self.inner.lock().unwrap();
        let created_at = new.created_at.unwrap_or_else(Utc::now);
        let snowflake = ((created_at.timestamp_millis() - SNOWFLAKE_EPOCH_MS).max(0) as u64) << 22;
        let id_num = snowflake.max(s.last_id + 1);
        s.last_id = id_num;
        let id = id_num.to_string();
        let ai = user_index(&mut s, &new.author, new.followers).expect("author username is not empty");
        let author = s.users[ai].clone();
        let in_reply_to = match (&new.reply_to, &new.in_reply_to) {
            (_, Some(explicit)) => Some(explicit.clone()),
            (Some(parent), None) => {
                let p = s.tweets.iter().find(|t| &t.id == parent).unwrap_or_else(|| panic!("reply_to: no tweet {parent}"));
                Some((p.id.clone(), p.author_id.clone()))
            }
            (None, None) => None,
        };
        let conversation_id = new.conversation_id.clone().unwrap_or_else(|| match &new.reply_to {
            Some(parent) => s.tweets.iter().find(|t| &t.id == parent).map(|p| p.conversation_id.clone()).unwrap(),
            None => in_reply_to.as_ref().map(|(pid, _)| pid.clone()).unwrap_or_else(|| id.clone()),
        });
        let mentions = find_mentions(&new.text);
        for (_, _, name) in &mentions {
            user_index(&mut s, name, None);
        }
        s.tweets.push(StoredTweet {
            id: id.clone(),
            author_id: author.id,
            author: author.username,
            text: new.text,
            created_at,
            in_reply_to,
            conversation_id,
            lang: new.lang,
            retweets: new.retweets,
            quotes: new.quotes,
            retweet_of: new.retweet_of,
            note_text: new.note_text,
            mentions,
        });
        id
    }
}

fn user_index(s: &mut Inner, username: &str, followers: Option<u64>) -> Option<usize> {
    let username = username.trim_start_matches('@');
    if username.is_empty() {
        return None;
    }
    let i = match s.users.iter().position(|u| u.username.eq_ignore_ascii_case(username)) {
        Some(i) => i,
        None => {
            // Stable, distinct, numeric: like real user ids.
            let id = (2_244_994_945u64 + 7_919 * s.users.len() as u64).to_string();
            s.users.push(User { id, username: username.to_string(), followers: 100 });
            s.users.len() - 1
        }
    };
    if let Some(f) = followers {
        s.users[i].followers = f;
    }
    Some(i)
}

/// `@handle` spans in `text`, as X's `entities.mentions` (character offsets).
fn find_mentions(text: &str) -> Vec<(usize, usize, String)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i] == '@' && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_'));
        if starts {
            let mut j = i + 1;
            while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_') {
                j += 1;
            }
            if j > i + 1 {
                out.push((i, j, chars[i + 1..j].iter().collect()));
            }
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

fn snowflake_time(id: u64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt((id >> 22) as i64 + SNOWFLAKE_EPOCH_MS).unwrap()
}

fn x_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn respond(status: u16, content_type: &str, body: impl Into<Body>) -> Response {
    Response::builder().status(StatusCode::from_u16(status).unwrap()).header(header::CONTENT_TYPE, content_type).body(body.into()).unwrap()
}

fn json_response(status: u16, content_type: &str, body: &Value) -> Response {
    respond(status, content_type, body.to_string())
}

fn problem(status: u16, title: &str) -> Response {
    json_response(status, PROBLEM_JSON, &json!({"title": title, "type": "about:blank", "status": status, "detail": title}))
}

/// The documented 400 for invalid parameters (`errors[].parameters`).
fn invalid_request(param: &str, value: &str, message: String) -> Response {
    json_response(
        400,
        PROBLEM_JSON,
        &json!({
            "errors": [{"parameters": {param: [value]}, "message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request"
        }),
    )
}

fn set_header(resp: &mut Response, name: &'static str, value: impl ToString) {
    resp.headers_mut().insert(name, HeaderValue::from_str(&value.to_string()).unwrap());
}

fn rate_headers(resp: &mut Response, limit: u32, remaining: u32, reset: i64) {
    set_header(resp, "x-rate-limit-limit", limit);
    set_header(resp, "x-rate-limit-remaining", remaining);
    set_header(resp, "x-rate-limit-reset", reset);
}

async fn not_found(uri: Uri, State(inner): State<Shared>) -> Response {
    inner.lock().unwrap().requests.push(RecordedRequest {
        path: uri.path().to_string(),
        params: Vec::new(),
        raw_query: uri.query().unwrap_or_default().to_string(),
        authorized: false,
    });
    problem(404, "Not Found Error")
}

async fn search(State(inner): State<Shared>, uri: Uri, headers: HeaderMap, Query(params): Query<Vec<(String, String)>>) -> Response {
    let (failure, outcome) = {
        let mut s = inner.lock().unwrap();
        let authorized =
            headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).is_some_and(|v| v.strip_prefix("Bearer ").is_some_and(|t| t == s.token));
        s.requests.push(RecordedRequest {
            path: uri.path().to_string(),
            params: params.clone(),
            raw_query: uri.query().unwrap_or_default().to_string(),
            authorized,
        });
        let failure = s.failures.pop_front();
        let outcome = match &failure {
            Some(f) if !matches!(f, Failure::Timeout(_) | Failure::TruncatedBody) => None,
            _ => Some(answer(&mut s, authorized, &params)),
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
    let now = Utc::now().timestamp();
    match f {
        Failure::RateLimited { reset_in_secs } => {
            let mut r = problem(429, "Too Many Requests");
            rate_headers(&mut r, DEFAULT_RATE_LIMIT, 0, now + reset_in_secs as i64);
            r
        }
        Failure::RateLimitedNoHeaders => problem(429, "Too Many Requests"),
        Failure::ServerError(status) => {
            let title = StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Server Error");
            problem(status, title)
        }
        Failure::Unavailable { retry_after } => {
            let mut r = problem(503, "Service Unavailable");
            set_header(&mut r, "retry-after", retry_after);
            r
        }
        Failure::MalformedJson => respond(200, JSON, r#"{"data":[{"id":"1","text":"hola",}],"meta":{result_count:1}}"#),
        Failure::HtmlErrorPage => respond(
            200,
            "text/html; charset=utf-8",
            "<!DOCTYPE html><html><head><title>Something went wrong</title></head><body><h1>Something went wrong, but don't fret — let's give it another shot.</h1></body></html>",
        ),
        Failure::UsageCapped => {
            let mut r = json_response(
                429,
                PROBLEM_JSON,
                &json!({
                    "account_id": "1234567890",
                    "product_name": "standard-basic",
                    "title": "UsageCapExceeded",
                    "period": "Monthly",
                    "scope": "Product",
                    "detail": "Usage cap exceeded: Monthly product cap",
                    "type": "https://api.twitter.com/2/problems/usage-capped"
                }),
            );
            set_header(&mut r, "x-rate-limit-limit", 40_000);
            set_header(&mut r, "x-rate-limit-remaining", 39_999);
            r
        }
        Failure::Timeout(_) | Failure::TruncatedBody => unreachable!("answered normally, then delayed or cut"),
    }
}

/// The normal answer: auth, rate window, parameter checks, then results.
fn answer(s: &mut Inner, authorized: bool, params: &[(String, String)]) -> Response {
    if !authorized {
        let mut r = problem(401, "Unauthorized");
        set_header(&mut r, "cache-control", "no-cache, no-store, max-age=0");
        return r;
    }
    let now = Utc::now();
    let window_now = s.clock.as_ref().map_or(now, |c| c());
    if window_now.timestamp() >= s.window_reset {
        s.window_reset = window_now.timestamp() + WINDOW_SECS;
        s.remaining = s.rate_limit;
    }
    if s.remaining == 0 {
        s.refused += 1;
        let mut r = problem(429, "Too Many Requests");
        rate_headers(&mut r, s.rate_limit, 0, s.window_reset);
        return r;
    }
    s.remaining -= 1;
    let (limit, remaining, reset) = (s.rate_limit, s.remaining, s.window_reset);
    let mut r = match results(s, params, now) {
        Ok(body) => json_response(200, JSON, &body),
        Err(r) => *r,
    };
    rate_headers(&mut r, limit, remaining, reset);
    r
}

fn results(s: &Inner, params: &[(String, String)], now: DateTime<Utc>) -> Result<Value, Box<Response>> {
    let mut seen: Vec<&str> = Vec::new();
    for (k, v) in params {
        if !KNOWN_PARAMS.contains(&k.as_str()) {
            let known = KNOWN_PARAMS[..KNOWN_PARAMS.len() - 1].join(",");
            return Err(Box::new(invalid_request(k, v, format!("The query parameter [{k}] is not one of [{known}]"))));
        }
        if seen.contains(&k.as_str()) {
            return Err(Box::new(invalid_request(k, v, format!("Duplicate parameters are not allowed: the `{k}` query parameter"))));
        }
        seen.push(k);
    }
    let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let query = get("query").unwrap_or("");
    if query.is_empty() {
        return Err(Box::new(invalid_request("query", query, "The `query` query parameter can not be empty".into())));
    }
    if query.chars().count() > 512 {
        return Err(Box::new(invalid_request("query", query, format!("The `query` query parameter value [{query}] is not between 1 and 512 characters"))));
    }
    let max_results = match get("max_results") {
        None => 10,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (10..=100).contains(&n) => n,
            _ => return Err(Box::new(invalid_request("max_results", v, format!("The `max_results` query parameter value [{v}] is not between 10 and 100")))),
        },
    };
    if get("next_token").is_some() && get("pagination_token").is_some() {
        return Err(Box::new(invalid_request(
            "next_token",
            get("next_token").unwrap(),
            "At most one of `next_token`, `pagination_token` may be provided".into(),
        )));
    }
    if get("since_id").is_some() && get("start_time").is_some() {
        return Err(Box::new(invalid_request(
            "since_id",
            get("since_id").unwrap(),
            "Invalid use of 'since_id' or 'until_id' in conjunction with 'start_time' or 'end_time'".into(),
        )));
    }
    let oldest = now - chrono::Duration::days(7);
    let since_id = match get("since_id") {
        None => None,
        Some(v) => {
            let Some(n) = v.parse::<u64>().ok().filter(|_| v.len() <= 19) else {
                return Err(Box::new(invalid_request("since_id", v, format!("The `since_id` query parameter value [{v}] does not match ^[0-9]{{1,19}}$"))));
            };
            if snowflake_time(n) < oldest {
                let floor = ((oldest.timestamp_millis() - SNOWFLAKE_EPOCH_MS) as u64) << 22;
                return Err(Box::new(invalid_request(
                    "since_id",
                    v,
                    format!(
                        "'since_id' must be a tweet id created after {}. Please use a 'since_id' that is larger than {floor}",
                        oldest.format("%Y-%m-%dT%H:%MZ")
                    ),
                )));
            }
            Some(n)
        }
    };
    let token = get("next_token").or(get("pagination_token"));
    let until = match token {
        None => None,
        Some(t) => match t.strip_prefix(TOKEN_PREFIX).and_then(|h| u64::from_str_radix(h, 16).ok()) {
            Some(n) => Some(n),
            None => return Err(Box::new(invalid_request("next_token", t, format!("The `next_token` query parameter value [{t}] is not valid")))),
        },
    };
    let tweet_fields: Vec<&str> = get("tweet.fields").or(get("post.fields")).map(|f| f.split(',').collect()).unwrap_or_default();
    let user_fields: Vec<&str> = get("user.fields").map(|f| f.split(',').collect()).unwrap_or_default();
    let expansions: Vec<&str> = get("expansions").map(|f| f.split(',').collect()).unwrap_or_default();

    let mut matching: Vec<(u64, &StoredTweet)> = s
        .tweets
        .iter()
        .map(|t| (t.id.parse::<u64>().unwrap(), t))
        .filter(|(id, t)| t.created_at >= oldest && since_id.is_none_or(|s| *id > s) && until.is_none_or(|u| *id < u))
        .collect();
    matching.sort_by_key(|(id, _)| std::cmp::Reverse(*id));
    let more = matching.len() > max_results;
    matching.truncate(max_results);

    let mut meta = Map::new();
    meta.insert("result_count".into(), json!(matching.len()));
    if let (Some(first), Some(last)) = (matching.first(), matching.last()) {
        meta.insert("newest_id".into(), json!(first.1.id));
        meta.insert("oldest_id".into(), json!(last.1.id));
        if more {
            meta.insert("next_token".into(), json!(format!("{TOKEN_PREFIX}{:x}", last.0)));
        }
    }
    let mut body = Map::new();
    if !matching.is_empty() {
        let data: Vec<Value> = matching.iter().map(|(_, t)| tweet_json(s, t, &tweet_fields)).collect();
        body.insert("data".into(), Value::Array(data));
        let users = included_users(s, matching.iter().map(|(_, t)| *t), &expansions, &user_fields);
        if !users.is_empty() {
            body.insert("includes".into(), json!({ "users": users }));
        }
    }
    body.insert("meta".into(), Value::Object(meta));
    Ok(Value::Object(body))
}

/// A tweet with its default fields plus the requested ones.
fn tweet_json(s: &Inner, t: &StoredTweet, fields: &[&str]) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(t.id));
    let shown = |text: &str| if s.escape_text { text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;") } else { text.to_string() };
    o.insert("text".into(), json!(shown(&t.text)));
    o.insert("edit_history_tweet_ids".into(), json!([t.id]));
    let want = |f: &str| fields.contains(&f);
    if want("author_id") {
        o.insert("author_id".into(), json!(t.author_id));
    }
    if want("created_at") {
        o.insert("created_at".into(), json!(x_time(t.created_at)));
    }
    if want("conversation_id") {
        o.insert("conversation_id".into(), json!(t.conversation_id));
    }
    if want("in_reply_to_user_id") {
        if let Some((_, uid)) = &t.in_reply_to {
            o.insert("in_reply_to_user_id".into(), json!(uid));
        }
    }
    if want("referenced_tweets") {
        let mut refs = Vec::new();
        if let Some((pid, _)) = &t.in_reply_to {
            refs.push(json!({"type": "replied_to", "id": pid}));
        }
        if let Some(rt) = &t.retweet_of {
            refs.push(json!({"type": "retweeted", "id": rt}));
        }
        if !refs.is_empty() {
            o.insert("referenced_tweets".into(), Value::Array(refs));
        }
    }
    if want("lang") {
        if let Some(lang) = &t.lang {
            o.insert("lang".into(), json!(lang));
        }
    }
    if want("public_metrics") {
        let replies = s.tweets.iter().filter(|r| r.in_reply_to.as_ref().is_some_and(|(p, _)| *p == t.id)).count();
        o.insert(
            "public_metrics".into(),
            json!({"retweet_count": t.retweets, "reply_count": replies, "like_count": 0, "quote_count": t.quotes,
                   "bookmark_count": 0, "impression_count": 0}),
        );
    }
    if want("entities") && !t.mentions.is_empty() {
        let mentions: Vec<Value> = t
            .mentions
            .iter()
            .map(|(start, end, name)| {
                let id = s.users.iter().find(|u| u.username.eq_ignore_ascii_case(name)).map(|u| u.id.clone());
                json!({"start": start, "end": end, "username": name, "id": id})
            })
            .collect();
        o.insert("entities".into(), json!({ "mentions": mentions }));
    }
    if want("note_tweet") {
        if let Some(full) = &t.note_text {
            o.insert("note_tweet".into(), json!({ "text": shown(full) }));
        }
    }
    Value::Object(o)
}

/// `includes.users`: each expanded user once, in first-seen order.
fn included_users<'a>(s: &Inner, tweets: impl Iterator<Item = &'a StoredTweet>, expansions: &[&str], fields: &[&str]) -> Vec<Value> {
    let mut ids: Vec<String> = Vec::new();
    let mut add = |id: &str| {
        if !ids.iter().any(|i| i == id) {
            ids.push(id.to_string());
        }
    };
    for t in tweets {
        if expansions.contains(&"author_id") {
            add(&t.author_id);
        }
        if expansions.contains(&"in_reply_to_user_id") {
            if let Some((_, uid)) = &t.in_reply_to {
                add(uid);
            }
        }
        if expansions.contains(&"entities.mentions.username") {
            for (_, _, name) in &t.mentions {
                if let Some(u) = s.users.iter().find(|u| u.username.eq_ignore_ascii_case(name)) {
                    add(&u.id);
                }
            }
        }
    }
    let by_id: HashMap<&str, &User> = s.users.iter().map(|u| (u.id.as_str(), u)).collect();
    ids.iter()
        .filter_map(|id| by_id.get(id.as_str()))
        .map(|u| {
            let mut o = Map::new();
            o.insert("id".into(), json!(u.id));
            o.insert("name".into(), json!(u.username));
            o.insert("username".into(), json!(u.username));
            if fields.contains(&"public_metrics") {
                o.insert(
                    "public_metrics".into(),
                    json!({"followers_count": u.followers, "following_count": 10, "tweet_count": 100,
                           "listed_count": 0, "like_count": 0}),
                );
            }
            Value::Object(o)
        })
        .collect()
}
