//! A fake Meta Graph API for tests (Facebook Pages and Instagram), a real
//! HTTP server on loopback reproducing what REFERENCE-owned.md (sections F
//! and I) documents and `shared/api/facebook|instagram/` shows:
//!
//! - `/{version}/{page-id}` and `/{ig-user-id}` nodes; `/{page-id}/posts`
//!   and `/tagged` (newest first), `/{post-id}/comments` with `filter`
//!   (`toplevel` default, `stream`), `order` (`chronological` default,
//!   `reverse_chronological`), `since` (unix seconds) and `summary`;
//!   `/{ig-user-id}/media`, `/{ig-media-id}/comments` (top-level, newest
//!   first, at most 50, `replies{...}` by field expansion) and
//!   `/{ig-user-id}/tags` (cursors but no `next`);
//! - fields only when asked for (`fields=a,b,c{d}`), cursor paging with
//!   `limit`/`after` and `paging.next` while more follows (25 by default,
//!   at most 100); a cursor pointing at a deleted item is refused with code
//!   100; hidden comments carry `is_hidden`/`hidden: true`;
//! - `access_token` checked on every request (190 subcode 463 when it has
//!   expired, with the `WWW-Authenticate` header), permissions (code 10 /
//!   200 naming the missing one), `X-App-Usage` and
//!   `X-Business-Use-Case-Usage` on every authorized answer, and throttling
//!   (codes 4, 17, 32, 613, 80001, 80002 with `estimated_time_to_regain_access`).
//!
//! Versions are accepted as `v<major>.<minor>` and recorded. Self-contained.
#![allow(dead_code)]

use axum::body::Body;
use axum::extract::State as AxumState;
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use serde_json::{json, Map, Value};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

pub const TOKEN: &str = "fake-graph-page-token";

#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub version: String,
    /// The path after the version, e.g. `104567/posts`.
    pub path: String,
    pub params: Vec<(String, String)>,
}

impl RecordedRequest {
    pub fn param(&self, name: &str) -> Option<String> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }
}

#[derive(Debug, Clone)]
pub struct Comment {
    pub id: String,
    pub text: String,
    pub from_id: String,
    pub from_name: String,
    pub created: i64,
    /// The top-level comment this one replies to.
    pub parent: Option<String>,
    pub hidden: bool,
}

#[derive(Debug, Clone)]
pub struct Post {
    pub id: String,
    pub owner: String,
    pub text: String,
    pub created: i64,
    pub updated: i64,
    pub permalink: String,
    pub from: Option<(String, String)>,
    pub comments: Vec<Comment>,
    /// Instagram media: the username of the account that posted it.
    pub username: Option<String>,
}

/// What the next request gets instead of its answer.
#[derive(Debug, Clone)]
pub enum Failure {
    /// A throttle error with this code; the BUC header says to wait
    /// `regain_minutes`.
    Throttled {
        code: i64,
        regain_minutes: u32,
    },
    ServerError,
}

struct State {
    token: String,
    expired: bool,
    /// A permission the token lacks: requests for edges needing it get
    /// code 10 (pages) naming it.
    missing_permission: Option<String>,
    /// A permission only one edge needs (`tagged` → `pages_read_user_content`).
    missing_edge_permission: Option<(String, String)>,
    /// Nodes: (id, fields).
    nodes: Vec<(String, Value)>,
    /// Facebook page posts and Instagram media, by owner.
    posts: Vec<Post>,
    /// Posts tagging a page, media tagging an IG account: (tagged, post).
    tagged: Vec<(String, Post)>,
    next_id: u64,
    /// (only for paths starting with this, failure)
    failures: VecDeque<(Option<String>, Failure)>,
    requests: Vec<RecordedRequest>,
    /// Percent reported in the usage headers.
    usage: u32,
    deleted: Vec<String>,
}

type Shared = Arc<Mutex<State>>;

pub struct FakeGraph {
    state: Shared,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeGraph {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl FakeGraph {
    pub async fn start() -> FakeGraph {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            token: TOKEN.to_string(),
            expired: false,
            missing_permission: None,
            missing_edge_permission: None,
            nodes: Vec::new(),
            posts: Vec::new(),
            tagged: Vec::new(),
            next_id: 1_092_233_440_000_031,
            failures: VecDeque::new(),
            requests: Vec::new(),
            usage: 1,
            deleted: Vec::new(),
        }));
        let app = Router::new().fallback(handle).with_state(state.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("fake graph serves");
        });
        FakeGraph { state, addr, server }
    }

    /// `http://127.0.0.1:<port>`: the `api_base` to configure.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn page(&self, id: &str, name: &str) {
        self.state.lock().unwrap().nodes.push((id.to_string(), json!({"id": id, "name": name})));
    }

    pub fn ig_user(&self, id: &str, username: &str) {
        self.state.lock().unwrap().nodes.push((id.to_string(), json!({"id": id, "username": username})));
    }

    fn next(&self) -> u64 {
        let mut s = self.state.lock().unwrap();
        s.next_id += 1;
        s.next_id
    }

    /// A post of `page` created `ago` seconds ago; returns its id
    /// (`{page}_{number}`).
    pub fn post(&self, page: &str, text: &str, ago: i64) -> String {
        let n = self.next();
        let id = format!("{page}_{n}");
        let at = now() - ago;
        self.state.lock().unwrap().posts.push(Post {
            id: id.clone(),
            owner: page.to_string(),
            text: text.to_string(),
            created: at,
            updated: at,
            permalink: format!("https://www.facebook.com/{page}/posts/{n}"),
            from: None,
            comments: Vec::new(),
            username: None,
        });
        id
    }

    /// Instagram media of `account` created `ago` seconds ago.
    pub fn media(&self, account: &str, caption: &str, ago: i64) -> String {
        let id = format!("1789{}", self.next());
        let at = now() - ago;
        self.state.lock().unwrap().posts.push(Post {
            id: id.clone(),
            owner: account.to_string(),
            text: caption.to_string(),
            created: at,
            updated: at,
            permalink: format!("https://www.instagram.com/p/Sh{id}/"),
            from: None,
            comments: Vec::new(),
            username: None,
        });
        id
    }

    /// A comment on `post` (a reply when `parent` is given: replies to
    /// replies attach to the top-level comment). Facebook comment ids are
    /// `{post-number}_{comment-number}`; Instagram's are numbers.
    pub fn comment(&self, post: &str, parent: Option<&str>, from: (&str, &str), text: &str) -> String {
        self.comment_at(post, parent, from, text, now())
    }

    pub fn comment_at(&self, post: &str, parent: Option<&str>, from: (&str, &str), text: &str, created: i64) -> String {
        let n = self.next();
        let mut s = self.state.lock().unwrap();
        let p = s.posts.iter_mut().find(|p| p.id == post).expect("post exists");
        let id = if p.id.contains('_') { format!("{}_{n}", p.id.split('_').nth(1).unwrap()) } else { format!("1797{n}") };
        let top = parent.map(|par| {
            let c = p.comments.iter().find(|c| c.id == par).expect("parent exists");
            c.parent.clone().unwrap_or_else(|| c.id.clone())
        });
        p.comments.push(Comment {
            id: id.clone(),
            text: text.to_string(),
            from_id: from.0.to_string(),
            from_name: from.1.to_string(),
            created,
            parent: top,
            hidden: false,
        });
        p.updated = p.updated.max(created);
        id
    }

    pub fn hide(&self, comment: &str) {
        let mut s = self.state.lock().unwrap();
        for p in s.posts.iter_mut() {
            for c in p.comments.iter_mut().filter(|c| c.id == comment) {
                c.hidden = true;
            }
        }
    }

    /// Deletes a post or media and its comments.
    pub fn delete_post(&self, id: &str) {
        self.state.lock().unwrap().posts.retain(|p| p.id != id);
    }

    pub fn delete(&self, comment: &str) {
        let mut s = self.state.lock().unwrap();
        for p in s.posts.iter_mut() {
            p.comments.retain(|c| c.id != comment);
        }
        s.deleted.push(comment.to_string());
    }

    /// A post by someone else tagging `page` (or media tagging an IG user).
    pub fn tag(&self, tagged: &str, author: (&str, &str), text: &str, ago: i64) -> String {
        let n = self.next();
        let id = format!("{}_{n}", author.0);
        let at = now() - ago;
        self.state.lock().unwrap().tagged.push((
            tagged.to_string(),
            Post {
                id: id.clone(),
                owner: author.0.to_string(),
                text: text.to_string(),
                created: at,
                updated: at,
                permalink: format!("https://www.facebook.com/{}/posts/{n}", author.0),
                from: Some((author.0.to_string(), author.1.to_string())),
                comments: Vec::new(),
                username: Some(author.1.to_string()),
            },
        ));
        id
    }

    pub fn expire_token(&self) {
        self.state.lock().unwrap().expired = true;
    }

    pub fn revoke_permission(&self, permission: &str) {
        self.state.lock().unwrap().missing_permission = Some(permission.to_string());
    }

    /// Requests for paths ending in `/{edge}` lack `permission`.
    pub fn revoke_edge_permission(&self, edge: &str, permission: &str) {
        self.state.lock().unwrap().missing_edge_permission = Some((edge.to_string(), permission.to_string()));
    }

    pub fn set_usage(&self, percent: u32) {
        self.state.lock().unwrap().usage = percent;
    }

    pub fn fail_next(&self, f: Failure) {
        self.state.lock().unwrap().failures.push_back((None, f));
    }

    /// The next request whose path starts with `prefix` (a page or account
    /// id) fails this way.
    pub fn fail_next_for(&self, prefix: &str, f: Failure) {
        self.state.lock().unwrap().failures.push_back((Some(prefix.to_string()), f));
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.state.lock().unwrap().requests.clear();
    }
}

fn error(status: StatusCode, body: Value, headers: &[(&str, String)]) -> Response {
    let mut r = Response::builder().status(status).header("content-type", "application/json; charset=UTF-8");
    for (k, v) in headers {
        r = r.header(*k, HeaderValue::from_str(v).unwrap());
    }
    r.body(Body::from(body.to_string())).unwrap()
}

fn graph_error(code: i64, subcode: Option<i64>, message: &str) -> Value {
    let mut e = json!({"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEfGhIjK"});
    if let Some(s) = subcode {
        e["error_subcode"] = json!(s);
    }
    json!({ "error": e })
}

fn buc(owner: &str, kind: &str, percent: u32, regain: u32) -> String {
    json!({ owner: [{"type": kind, "call_count": percent, "total_cputime": percent / 3, "total_time": percent / 2, "estimated_time_to_regain_access": regain}] })
        .to_string()
}

fn fmt_time(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).unwrap().format("%Y-%m-%dT%H:%M:%S+0000").to_string()
}

/// `a,b{c,d},e.limit(5){f}` → [("a", None), ("b", Some("c,d")), ("e", Some("f"))].
fn parse_fields(s: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0, 0);
    let bytes: Vec<char> = s.chars().collect();
    let push = |piece: &str, out: &mut Vec<(String, Option<String>)>| {
        let piece = piece.trim();
        if piece.is_empty() {
            return;
        }
        let (head, sub) = match piece.find('{') {
            Some(i) => (&piece[..i], Some(piece[i + 1..piece.len() - 1].to_string())),
            None => (piece, None),
        };
        let name = head.split('.').next().unwrap_or(head).to_string();
        out.push((name, sub));
    };
    for (i, c) in bytes.iter().enumerate() {
        match c {
            '{' | '(' => depth += 1,
            '}' | ')' => depth -= 1,
            ',' if depth == 0 => {
                let piece: String = bytes[start..i].iter().collect();
                push(&piece, &mut out);
                start = i + 1;
            }
            _ => {}
        }
    }
    let piece: String = bytes[start..].iter().collect();
    push(&piece, &mut out);
    out
}

/// Keeps only the requested fields (plus `id`, always returned).
fn select(full: &Map<String, Value>, fields: &[(String, Option<String>)]) -> Value {
    let mut out = Map::new();
    if let Some(id) = full.get("id") {
        out.insert("id".into(), id.clone());
    }
    for (name, _) in fields {
        if let Some(v) = full.get(name) {
            out.insert(name.clone(), v.clone());
        }
    }
    Value::Object(out)
}

fn fb_comment(c: &Comment, post: &Post, all: &[Comment]) -> Map<String, Value> {
    let number = c.id.rsplit('_').next().unwrap();
    let post_number = post.id.rsplit('_').next().unwrap();
    let mut m = json!({
        "id": c.id,
        "message": c.text,
        "from": {"name": c.from_name, "id": c.from_id},
        "created_time": fmt_time(c.created),
        "permalink_url": format!("https://www.facebook.com/{}/posts/{post_number}?comment_id={number}", post.owner),
        "comment_count": all.iter().filter(|r| r.parent.as_deref() == Some(&c.id)).count(),
        "is_hidden": c.hidden,
        "like_count": 0,
    });
    if let Some(p) = c.parent.as_ref().and_then(|p| all.iter().find(|x| &x.id == p)) {
        m["parent"] = json!({"created_time": fmt_time(p.created), "from": {"name": p.from_name, "id": p.from_id}, "message": p.text, "id": p.id});
    }
    m.as_object().unwrap().clone()
}

fn ig_comment(c: &Comment, account: &str, username: &str) -> Map<String, Value> {
    let mut m = json!({
        "id": c.id,
        "text": c.text,
        "timestamp": fmt_time(c.created),
        "username": c.from_name,
        "from": {"id": c.from_id, "username": c.from_name},
        "hidden": c.hidden,
        "like_count": 0,
    });
    if let Some(p) = &c.parent {
        m["parent_id"] = json!(p);
    }
    // `user` only for comments the app user (the account) created.
    if c.from_id == account || c.from_name == username {
        m["user"] = json!({"id": account});
    }
    m.as_object().unwrap().clone()
}

/// Cursor paging over `items` (already ordered): `limit` (default 25, at
/// most `max`), `after` = the id of the last item of the previous page.
/// Err: the cursor's item is gone.
fn paginate(items: Vec<Value>, params: &[(String, String)], max: usize, with_next: bool, base: &str) -> Result<Value, ()> {
    let p = |n: &str| params.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let limit = p("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(25).clamp(1, max);
    let start = match p("after") {
        None => 0,
        Some(a) => {
            let id = String::from_utf8(base64_decode(&a)).map_err(|_| ())?;
            items.iter().position(|i| i["id"].as_str() == Some(&id)).map(|i| i + 1).ok_or(())?
        }
    };
    let page: Vec<Value> = items.iter().skip(start).take(limit).cloned().collect();
    let more = start + page.len() < items.len();
    let mut out = json!({ "data": page });
    if let (Some(first), Some(last)) = (page.first(), page.last()) {
        let after = base64_encode(last["id"].as_str().unwrap_or(""));
        out["paging"] = json!({"cursors": {"before": base64_encode(first["id"].as_str().unwrap_or("")), "after": after}});
        if more && with_next {
            let mut q: Vec<String> = params.iter().filter(|(k, _)| k != "after").map(|(k, v)| format!("{k}={}", urlencode(v))).collect();
            q.push(format!("after={after}"));
            out["paging"]["next"] = json!(format!("{base}?{}", q.join("&")));
        }
    }
    Ok(out)
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn base64_encode(s: &str) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let b = s.as_bytes();
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &x)| acc | (u32::from(x) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn base64_decode(s: &str) -> Vec<u8> {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let vals: Vec<u32> = s.bytes().filter_map(|c| T.iter().position(|&t| t == c).map(|p| p as u32)).collect();
    let mut out = Vec::new();
    for chunk in vals.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &x)| acc | (x << (18 - 6 * i)));
        for i in 0..chunk.len().saturating_sub(1) {
            out.push(((n >> (16 - 8 * i)) & 255) as u8);
        }
    }
    out
}

async fn handle(AxumState(state): AxumState<Shared>, uri: Uri) -> Response {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()).into_owned().collect();
    let p = |n: &str| params.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let mut segs: Vec<String> = uri.path().trim_matches('/').split('/').map(str::to_string).collect();
    let version = if segs.first().is_some_and(|s| s.starts_with('v') && s[1..].contains('.')) { segs.remove(0) } else { String::new() };
    let path = segs.join("/");
    let mut s = state.lock().unwrap();
    s.requests.push(RecordedRequest { version: version.clone(), path: path.clone(), params: params.clone() });
    let owner = segs.first().cloned().unwrap_or_default();
    let kind = if s.nodes.iter().any(|(id, v)| *id == owner && v.get("username").is_some()) { "instagram" } else { "pages" };

    match p("access_token") {
        None => return error(StatusCode::BAD_REQUEST, graph_error(104, None, "An access token is required to request this resource."), &[]),
        Some(t) if t != s.token => {
            return error(StatusCode::BAD_REQUEST, graph_error(190, None, "Invalid OAuth access token - Cannot parse access token"), &[])
        }
        Some(_) if s.expired => {
            return error(
                StatusCode::BAD_REQUEST,
                serde_json::from_str(include_str!("../fixtures/facebook/error_190_expired.json")).unwrap(),
                &[("www-authenticate", "OAuth \"Facebook Platform\" \"invalid_token\" \"Error validating access token: Session has expired\"".into())],
            )
        }
        Some(_) => {}
    }
    let due = s.failures.iter().position(|(prefix, _)| prefix.as_ref().is_none_or(|p| path.starts_with(p.as_str())));
    if let Some((_, f)) = due.and_then(|i| s.failures.remove(i)) {
        return match f {
            Failure::Throttled { code, regain_minutes } => {
                let message = match code {
                    4 => "(#4) Application request limit reached".to_string(),
                    17 => "(#17) User request limit reached".to_string(),
                    32 => "(#32) Page request limit reached".to_string(),
                    613 => "(#613) Calls to this api have exceeded the rate limit.".to_string(),
                    80002 => "(#80002) There have been too many calls to this Instagram account. Wait a bit and try again.".to_string(),
                    _ => format!("(#{code}) There have been too many calls from this Page. Wait a bit and try again."),
                };
                error(StatusCode::BAD_REQUEST, graph_error(code, None, &message), &[("x-business-use-case-usage", buc(&owner, kind, 100, regain_minutes))])
            }
            Failure::ServerError => {
                error(StatusCode::INTERNAL_SERVER_ERROR, graph_error(2, None, "An unexpected error has occurred. Please retry your request later."), &[])
            }
        };
    }
    let edge_perm = s.missing_edge_permission.clone().filter(|(edge, _)| path.ends_with(&format!("/{edge}"))).map(|(_, p)| p);
    if let Some(perm) = s.missing_permission.clone().or(edge_perm) {
        return error(
            StatusCode::FORBIDDEN,
            graph_error(10, None, &format!("(#10) This endpoint requires the '{perm}' permission or the 'Page Public Content Access' feature.")),
            &[],
        );
    }
    let usage = s.usage;
    let headers = [
        ("x-app-usage", json!({"call_count": usage, "total_cputime": usage / 3, "total_time": usage / 2}).to_string()),
        ("x-business-use-case-usage", buc(&owner, kind, usage, 0)),
    ];
    let fields = parse_fields(&p("fields").unwrap_or_default());
    let base = format!("http://fake/{version}/{path}");
    let body: Result<Value, Response> = match segs.as_slice() {
        [node] => match s.nodes.iter().find(|(id, _)| id == node) {
            Some((_, v)) => Ok(select(v.as_object().unwrap(), &fields)),
            None => Err(error(
                StatusCode::BAD_REQUEST,
                graph_error(100, Some(33), &format!("Unsupported get request. Object with ID '{node}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.")),
                &[],
            )),
        },
        [owner, edge] if edge == "posts" || edge == "media" => {
            let mut posts: Vec<&Post> = s.posts.iter().filter(|p| &p.owner == owner).collect();
            posts.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id)));
            let items: Vec<Value> = posts
                .iter()
                .map(|p| {
                    let full = if edge == "posts" {
                        json!({"id": p.id, "message": p.text, "created_time": fmt_time(p.created), "updated_time": fmt_time(p.updated), "permalink_url": p.permalink})
                    } else {
                        json!({"id": p.id, "caption": p.text, "timestamp": fmt_time(p.created), "permalink": p.permalink, "comments_count": p.comments.len(), "media_type": "IMAGE"})
                    };
                    select(full.as_object().unwrap(), &fields)
                })
                .collect();
            paginate(items, &params, 100, true, &base).map_err(|_| cursor_error())
        }
        [tagged, edge] if edge == "tagged" || edge == "tags" => {
            let mut posts: Vec<&Post> = s.tagged.iter().filter(|(t, _)| t == tagged).map(|(_, p)| p).collect();
            posts.sort_by_key(|p| std::cmp::Reverse(p.created));
            let items: Vec<Value> = posts
                .iter()
                .map(|p| {
                    let full = if edge == "tagged" {
                        // `from` only for the requesting user's own posts: never here.
                        json!({"id": p.id, "message": p.text, "created_time": fmt_time(p.created), "permalink_url": p.permalink})
                    } else {
                        json!({"id": p.id, "caption": p.text, "timestamp": fmt_time(p.created), "permalink": format!("https://www.instagram.com/p/T{}/", p.id), "username": p.username, "media_type": "IMAGE"})
                    };
                    select(full.as_object().unwrap(), &fields)
                })
                .collect();
            // The tags edge sends cursors without `next`.
            paginate(items, &params, 100, edge == "tagged", &base).map_err(|_| cursor_error())
        }
        [post_id, edge] if edge == "comments" => {
            let Some(post) = s.posts.iter().find(|p| &p.id == post_id).cloned() else {
                return error(StatusCode::BAD_REQUEST, graph_error(100, Some(33), "Unsupported get request."), &[]);
            };
            let instagram = !post.id.contains('_');
            let mut list: Vec<&Comment> = post.comments.iter().collect();
            if instagram || p("filter").as_deref() != Some("stream") {
                list.retain(|c| c.parent.is_none());
            }
            if let Some(since) = p("since").and_then(|x| x.parse::<i64>().ok()).filter(|_| !instagram) {
                list.retain(|c| c.created >= since);
            }
            let reverse = instagram || p("order").as_deref() == Some("reverse_chronological");
            list.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
            if reverse {
                list.reverse();
            }
            let (account, username) = if instagram {
                let acct = post.owner.clone();
                let name = s.nodes.iter().find(|(id, _)| *id == acct).and_then(|(_, v)| v["username"].as_str().map(str::to_string)).unwrap_or_default();
                (acct, name)
            } else {
                (String::new(), String::new())
            };
            let items: Vec<Value> = list
                .iter()
                .map(|c| {
                    if instagram {
                        let mut full = ig_comment(c, &account, &username);
                        if let Some((_, Some(sub))) = fields.iter().find(|(n, _)| n == "replies") {
                            let sub = parse_fields(sub);
                            let replies: Vec<Value> = post
                                .comments
                                .iter()
                                .filter(|r| r.parent.as_deref() == Some(&c.id))
                                .rev()
                                .map(|r| select(&ig_comment(r, &account, &username), &sub))
                                .collect();
                            full.insert("replies".into(), json!({ "data": replies }));
                        }
                        select(&full, &fields)
                    } else {
                        select(&fb_comment(c, &post, &post.comments), &fields)
                    }
                })
                .collect();
            let deleted_cursor = p("after").is_some_and(|a| s.deleted.iter().any(|d| base64_encode(d) == a));
            if deleted_cursor {
                Err(cursor_error())
            } else {
                let mut out = paginate(items, &params, if instagram { 50 } else { 100 }, true, &base).map_err(|_| cursor_error());
                if let (Ok(o), Some("true")) = (&mut out, p("summary").as_deref()) {
                    o["summary"] = json!({"order": if reverse { "reverse_chronological" } else { "chronological" }, "total_count": post.comments.len()});
                }
                out
            }
        }
        _ => Err(error(StatusCode::BAD_REQUEST, graph_error(100, None, "Unknown path components"), &[])),
    };
    match body {
        Ok(v) => {
            let mut r = Response::builder().status(StatusCode::OK).header("content-type", "application/json; charset=UTF-8");
            for (k, v) in &headers {
                r = r.header(*k, HeaderValue::from_str(v).unwrap());
            }
            r.body(Body::from(v.to_string())).unwrap()
        }
        Err(r) => r,
    }
}

fn cursor_error() -> Response {
    error(StatusCode::BAD_REQUEST, graph_error(100, None, "(#100) The After Cursor specified is invalid: the item it pointed at was removed"), &[])
}
