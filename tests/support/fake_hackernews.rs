//! A fake Algolia HN Search API for tests: a real HTTP server on loopback
//! reproducing what escucha depends on (REFERENCE.md section 5):
//! `search_by_date` newest first with `query` (every word must match),
//! `tags` (comma = AND, parentheses = OR), `numericFilters` on `created_at_i`
//! (comma = AND), `hitsPerPage`/`page`/`nbPages` with the 1000-hit cap,
//! string `objectID` next to integer `parent_id`/`story_id`, HTML
//! `comment_text`, `items/:id`, Algolia's `{"message","status"}` errors and
//! injected failures. No auth: the API has none. Self-contained.
#![allow(dead_code)]

use axum::body::Body;
use axum::extract::State as AxumState;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Algolia serves at most this many hits of one query.
pub const MAX_HITS: usize = 1000;

/// What the next request gets instead of its normal answer.
#[derive(Debug, Clone)]
pub enum Failure {
    /// 429 with Algolia's JSON body and this `Retry-After` (seconds).
    RateLimited { retry_after: Option<u64> },
    /// 403 as a proxy or Algolia answers a blocked client.
    Forbidden,
    /// This status with Algolia's JSON error body.
    ServerError(u16),
    /// 200 with a body that is not JSON.
    MalformedJson,
    /// 200 with an HTML page.
    HtmlPage,
    /// 200 with an empty body.
    EmptyBody,
    /// Waits this long, then answers normally.
    Delay(Duration),
}

#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub path: String,
    pub query: Option<String>,
}

impl RecordedRequest {
    pub fn params(&self) -> Vec<(String, String)> {
        parse_query(self.query.as_deref())
    }
    pub fn param(&self, name: &str) -> Option<String> {
        self.params().into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
}

#[derive(Debug, Clone)]
struct Item {
    id: u64,
    story: bool,
    author: String,
    title: Option<String>,
    url: Option<String>,
    /// HTML, as HN stores it.
    text: Option<String>,
    parent_id: Option<u64>,
    story_id: u64,
    created_at_i: i64,
    points: Option<u64>,
}

struct State {
    items: Vec<Item>,
    next_id: u64,
    failures: VecDeque<Failure>,
    requests: Vec<RecordedRequest>,
    /// Set by `enforce_limits_on`: the hourly window and its clock.
    limit: Option<HourlyLimit>,
    /// Every answer waits this long (`set_latency`), so that two clients
    /// polling at once overlap visibly.
    latency: Duration,
    /// Requests being answered now, and the most there ever were at once.
    in_flight: usize,
    max_in_flight: usize,
}

/// "We are limiting the number of API requests from a single IP to 1000 per
/// hour" (REFERENCE.md 5.5), counted in fixed hours from the first request.
/// No rate-limit headers are documented, so none are sent.
struct HourlyLimit {
    clock: VirtualNow,
    window_start: Option<chrono::DateTime<chrono::Utc>>,
    used: u32,
    refused: u64,
}

pub const HOURLY_LIMIT: u32 = 1000;

type Shared = Arc<Mutex<State>>;

/// A clock the fake reads its rate-limit window from (see
/// `enforce_limits_on`); the daemon under test must share it.
pub type VirtualNow = Arc<dyn Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync>;

pub struct FakeHackerNews {
    state: Shared,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeHackerNews {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeHackerNews {
    pub async fn start() -> FakeHackerNews {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            items: Vec::new(),
            next_id: 41_234_001,
            failures: VecDeque::new(),
            requests: Vec::new(),
            limit: None,
            latency: Duration::ZERO,
            in_flight: 0,
            max_in_flight: 0,
        }));
        let app = Router::new().fallback(handle).with_state(state.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("fake hn serves");
        });
        FakeHackerNews { state, addr, server }
    }

    /// Enforces the documented 1000 requests per hour per IP on `clock`:
    /// the 1001st request of an hour gets Algolia's 429 (no headers, none
    /// documented).
    pub fn enforce_limits_on(&self, clock: VirtualNow) {
        self.state.lock().unwrap().limit = Some(HourlyLimit { clock, window_start: None, used: 0, refused: 0 });
    }

    /// How many requests the hourly limit refused with 429.
    pub fn refused(&self) -> u64 {
        self.state.lock().unwrap().limit.as_ref().map_or(0, |l| l.refused)
    }

    /// `http://127.0.0.1:<port>`, the `api_base` to configure.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A story by `author`; `text` (HTML) for Ask/Show HN. Returns its id.
    pub fn story(&self, author: &str, title: &str, text: Option<&str>) -> String {
        self.add(author, Some(title), text, None, now())
    }

    /// A comment replying to `parent` (a story or comment). Returns its id.
    pub fn comment(&self, author: &str, parent: &str, html: &str) -> String {
        self.add(author, None, Some(html), Some(parent), now())
    }

    /// Like [`comment`](Self::comment) with an explicit creation time.
    pub fn comment_at(&self, author: &str, parent: &str, html: &str, created_at_i: i64) -> String {
        self.add(author, None, Some(html), Some(parent), created_at_i)
    }

    pub fn story_at(&self, author: &str, title: &str, created_at_i: i64) -> String {
        self.add(author, Some(title), None, None, created_at_i)
    }

    fn add(&self, author: &str, title: Option<&str>, text: Option<&str>, parent: Option<&str>, at: i64) -> String {
        let mut s = self.state.lock().unwrap();
        let id = s.next_id;
        s.next_id += 1;
        let (parent_id, story_id) = match parent {
            Some(p) => {
                let p: u64 = p.parse().expect("numeric item id");
                let parent = s.items.iter().find(|i| i.id == p).expect("parent exists");
                (Some(p), parent.story_id)
            }
            None => (None, id),
        };
        s.items.push(Item {
            id,
            story: parent.is_none(),
            author: author.to_string(),
            title: title.map(str::to_string),
            url: None,
            text: text.map(str::to_string),
            parent_id,
            story_id,
            created_at_i: at,
            points: parent.is_none().then_some(1),
        });
        id.to_string()
    }

    /// The next request fails this way. Queued in order.
    pub fn fail_next(&self, failure: Failure) {
        self.state.lock().unwrap().failures.push_back(failure);
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.state.lock().unwrap().requests.clear();
    }

    /// Every answer waits `d` first.
    pub fn set_latency(&self, d: Duration) {
        self.state.lock().unwrap().latency = d;
    }

    /// The most requests ever answered at the same time: more than 1 means
    /// two clients polled at once.
    pub fn max_in_flight(&self) -> usize {
        self.state.lock().unwrap().max_in_flight
    }
}

/// Counts a request in flight until dropped (also when the client hangs up
/// and the handler is dropped mid-wait).
struct InFlight(Shared);

impl InFlight {
    fn new(state: &Shared) -> InFlight {
        let mut s = state.lock().unwrap();
        s.in_flight += 1;
        s.max_in_flight = s.max_in_flight.max(s.in_flight);
        InFlight(state.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.lock().unwrap().in_flight -= 1;
    }
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn parse_query(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=utf-8")
        .header("access-control-allow-origin", "*")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn algolia_error(status: u16, message: &str) -> Response {
    json_response(StatusCode::from_u16(status).unwrap(), &json!({"message": message, "status": status}))
}

fn failure_response(f: &Failure) -> Response {
    match f {
        Failure::RateLimited { retry_after } => {
            let mut r = algolia_error(429, "Too many requests");
            if let Some(s) = retry_after {
                r.headers_mut().insert("retry-after", s.to_string().parse().unwrap());
            }
            r
        }
        Failure::Forbidden => Response::builder()
            .status(StatusCode::FORBIDDEN)
            .header("content-type", "text/html")
            .body(Body::from("<html><body>403 Forbidden</body></html>"))
            .unwrap(),
        Failure::ServerError(code) => algolia_error(*code, "Internal error"),
        Failure::MalformedJson => Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/json; charset=utf-8")
            .body(Body::from(r#"{"hits":[{"objectID": 1,"#))
            .unwrap(),
        Failure::HtmlPage => Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "text/html; charset=utf-8")
            .body(Body::from("<!DOCTYPE html><html><body>Service temporarily unavailable</body></html>"))
            .unwrap(),
        Failure::EmptyBody => Response::builder().status(StatusCode::OK).header("content-type", "application/json").body(Body::empty()).unwrap(),
        Failure::Delay(_) => unreachable!("handled before answering"),
    }
}

async fn handle(AxumState(state): AxumState<Shared>, uri: Uri) -> Response {
    let _in_flight = InFlight::new(&state);
    let latency = state.lock().unwrap().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let failure = {
        let mut s = state.lock().unwrap();
        s.requests.push(RecordedRequest { path: uri.path().to_string(), query: uri.query().map(str::to_string) });
        s.failures.pop_front()
    };
    if let Some(Failure::Delay(d)) = failure {
        tokio::time::sleep(d).await;
    } else if let Some(f) = failure {
        return failure_response(&f);
    }
    let mut s = state.lock().unwrap();
    if let Some(l) = s.limit.as_mut() {
        let now = (l.clock)();
        if l.window_start.is_none_or(|start| now - start >= chrono::Duration::hours(1)) {
            l.window_start = Some(now);
            l.used = 0;
        }
        if l.used >= HOURLY_LIMIT {
            l.refused += 1;
            return algolia_error(429, "Too many requests");
        }
        l.used += 1;
    }
    let params = parse_query(uri.query());
    let segments: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["api", "v1", "search_by_date"] => search(&s, &params, uri.query().unwrap_or_default()),
        ["api", "v1", "items", id] => match id.parse::<u64>().ok().and_then(|id| s.items.iter().find(|i| i.id == id)) {
            Some(item) => json_response(StatusCode::OK, &item_json(&s, item)),
            None => algolia_error(404, "Not Found"),
        },
        _ => algolia_error(404, "Not Found"),
    }
}

fn search(s: &State, params: &[(String, String)], raw: &str) -> Response {
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let query = get("query").unwrap_or_default().to_lowercase();
    let tags = match get("tags").map(|t| parse_tags(&t)).transpose() {
        Ok(t) => t.unwrap_or_default(),
        Err(e) => return algolia_error(400, &e),
    };
    let filters = match get("numericFilters").map(|f| parse_filters(&f)).transpose() {
        Ok(f) => f.unwrap_or_default(),
        Err(e) => return algolia_error(400, &e),
    };
    let per_page: usize = match get("hitsPerPage").map(|h| h.parse::<usize>()) {
        None => 20,
        Some(Ok(n)) if n <= 1000 => n,
        _ => return algolia_error(400, "hitsPerPage must be an integer between 0 and 1000"),
    };
    let page: usize = match get("page").map(|p| p.parse::<usize>()) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => return algolia_error(400, "page must be an integer"),
    };
    let mut found: Vec<&Item> = s
        .items
        .iter()
        .filter(|i| tags.iter().all(|any| any.iter().any(|t| item_tags(i).contains(t))))
        .filter(|i| filters.iter().all(|(op, v)| compare(i.created_at_i, op, *v)))
        .filter(|i| {
            let hay = format!("{} {} {}", i.title.as_deref().unwrap_or(""), i.text.as_deref().unwrap_or(""), i.author).to_lowercase();
            query.split_whitespace().all(|w| hay.contains(w))
        })
        .collect();
    found.sort_by(|a, b| b.created_at_i.cmp(&a.created_at_i).then(b.id.cmp(&a.id)));
    let nb_hits = found.len();
    let retrievable = nb_hits.min(MAX_HITS);
    let nb_pages = if per_page == 0 { 0 } else { retrievable.div_ceil(per_page) };
    let start = (page * per_page).min(retrievable);
    let end = (start + per_page).min(retrievable);
    let hits: Vec<Value> = found[start..end].iter().map(|i| hit_json(s, i, &query)).collect();
    json_response(
        StatusCode::OK,
        &json!({
            "hits": hits, "hitsPerPage": per_page, "nbHits": nb_hits, "nbPages": nb_pages, "page": page,
            "exhaustive": {"nbHits": true, "typo": true}, "exhaustiveNbHits": true, "exhaustiveTypo": true,
            "params": format!("{raw}&advancedSyntax=true&analyticsTags=backend"), "processingTimeMS": 1,
            "query": get("query").unwrap_or_default(), "serverTimeMS": 2
        }),
    )
}

/// `comment,author_pg` → [[comment], [author_pg]]; `(story,comment)` → [[story, comment]].
fn parse_tags(s: &str) -> Result<Vec<Vec<String>>, String> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        if let Some(inner) = rest.strip_prefix('(') {
            let end = inner.find(')').ok_or_else(|| format!("invalid tags filter: unbalanced parenthesis in {s:?}"))?;
            out.push(inner[..end].split(',').map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect());
            rest = inner[end + 1..].trim_start_matches(',').trim();
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            out.push(vec![rest[..end].trim().to_string()]);
            rest = rest[end..].trim_start_matches(',').trim();
        }
    }
    Ok(out)
}

/// `created_at_i>=X,created_at_i<Y` → [(">=", X), ("<", Y)].
fn parse_filters(s: &str) -> Result<Vec<(String, i64)>, String> {
    s.split(',')
        .filter(|f| !f.trim().is_empty())
        .map(|f| {
            let f = f.trim();
            let rest = f.strip_prefix("created_at_i").ok_or_else(|| format!("invalid numeric filter {f:?}"))?;
            let op_len = rest.chars().take_while(|c| "<>=!".contains(*c)).count();
            let (op, value) = rest.split_at(op_len);
            if !matches!(op, "<" | "<=" | "=" | "!=" | ">=" | ">") {
                return Err(format!("invalid numeric filter operator in {f:?}"));
            }
            let v = value.trim().parse::<i64>().map_err(|_| format!("invalid numeric filter value in {f:?}"))?;
            Ok((op.to_string(), v))
        })
        .collect()
}

fn compare(x: i64, op: &str, v: i64) -> bool {
    match op {
        "<" => x < v,
        "<=" => x <= v,
        "=" => x == v,
        "!=" => x != v,
        ">=" => x >= v,
        _ => x > v,
    }
}

fn item_tags(i: &Item) -> Vec<String> {
    vec![(if i.story { "story" } else { "comment" }).to_string(), format!("author_{}", i.author), format!("story_{}", i.story_id)]
}

fn created_at(i: &Item) -> String {
    chrono::DateTime::from_timestamp(i.created_at_i, 0).unwrap().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn hit_json(s: &State, i: &Item, query: &str) -> Value {
    let children: Vec<u64> = s.items.iter().filter(|c| c.parent_id == Some(i.id)).map(|c| c.id).collect();
    let highlight = |v: &str| {
        let matched: Vec<&str> = query.split_whitespace().filter(|w| v.to_lowercase().contains(w)).collect();
        json!({"value": v, "matchLevel": if matched.is_empty() { "none" } else { "full" }, "matchedWords": matched})
    };
    let mut h = json!({
        "_tags": item_tags(i),
        "author": i.author,
        "children": children,
        "created_at": created_at(i),
        "created_at_i": i.created_at_i,
        "objectID": i.id.to_string(),
        "story_id": i.story_id,
        "updated_at": created_at(i),
    });
    if i.story {
        h["title"] = json!(i.title);
        h["url"] = json!(i.url);
        h["points"] = json!(i.points);
        h["num_comments"] = json!(children.len());
        if let Some(t) = &i.text {
            h["story_text"] = json!(t);
        }
        h["_highlightResult"] = json!({"author": highlight(&i.author), "title": highlight(i.title.as_deref().unwrap_or(""))});
    } else {
        let story = s.items.iter().find(|x| x.id == i.story_id);
        h["comment_text"] = json!(i.text);
        h["parent_id"] = json!(i.parent_id);
        h["story_title"] = json!(story.and_then(|x| x.title.clone()));
        h["story_url"] = Value::Null;
        h["_highlightResult"] = json!({"author": highlight(&i.author), "comment_text": highlight(i.text.as_deref().unwrap_or(""))});
    }
    h
}

fn item_json(s: &State, i: &Item) -> Value {
    let children: Vec<Value> = s.items.iter().filter(|c| c.parent_id == Some(i.id)).map(|c| item_json(s, c)).collect();
    json!({
        "id": i.id, "created_at": created_at(i), "deleted": false, "dead": false, "author": i.author,
        "title": i.title, "url": i.url, "text": i.text, "points": i.points, "parent_id": i.parent_id,
        "story_id": i.story_id, "children": children
    })
}
