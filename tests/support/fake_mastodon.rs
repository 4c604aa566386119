//! A fake Mastodon instance for tests: a real HTTP server on loopback that
//! reproduces the documented behaviour escucha depends on (REFERENCE.md
//! section 2): Bearer auth with Doorkeeper's 401, `types[]` array params,
//! `max_id`/`since_id`/`min_id`/`limit` paging with `Link` headers that keep
//! the filters, `X-RateLimit-*` headers with an ISO-8601 reset, 429 when the
//! window is spent, HTML `content`, search that finds nothing without
//! Elasticsearch, and injected failures. Self-contained: no fixture files.
#![allow(dead_code)]

use axum::body::Body;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Requests allowed per window, as Mastodon's `throttle_per_token_api`.
pub const RATE_LIMIT: u32 = 300;
pub const RATE_WINDOW: Duration = Duration::from_secs(300);

/// What the next request gets instead of its normal answer.
#[derive(Debug, Clone)]
pub enum Failure {
    /// 429 `{"error":"Too many requests"}` with remaining 0.
    RateLimited,
    /// This status with a JSON error body.
    ServerError(u16),
    /// 503 with `Retry-After` and an HTML body, as a proxy in maintenance.
    Unavailable { retry_after: Duration },
    /// 200 with a body that is not JSON.
    MalformedJson,
    /// 200 whose body stops before its announced `Content-Length`.
    TruncatedBody,
    /// 200 with an HTML page (a captive portal or a misconfigured proxy).
    HtmlErrorPage,
    /// Waits this long, then answers normally.
    Timeout(Duration),
    /// 401 as Doorkeeper answers an invalid token.
    Unauthorized,
}

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub path: String,
    /// The raw (still percent-encoded) query string.
    pub query: Option<String>,
    pub authorization: Option<String>,
}

impl RecordedRequest {
    /// Decoded query parameters, in order.
    pub fn params(&self) -> Vec<(String, String)> {
        parse_query(self.query.as_deref())
    }
    pub fn param(&self, name: &str) -> Option<String> {
        self.params().into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
}

#[derive(Clone)]
struct Account {
    id: String,
    username: String,
    /// As this instance shows it: `user` for local, `user@domain` remote.
    acct: String,
    followers: u64,
}

#[derive(Clone)]
struct StatusRec {
    id: u64,
    account_id: String,
    /// The plain text it was written as (what search matches).
    text: String,
    content: String,
    spoiler_text: String,
    tags: Vec<String>,
    mentions: Vec<String>,
    in_reply_to_id: Option<u64>,
    in_reply_to_account_id: Option<String>,
    language: Option<String>,
    reblogs_count: u64,
    quotes_count: u64,
    reblog_of: Option<u64>,
    created_at: DateTime<Utc>,
}

#[derive(Clone)]
struct NotificationRec {
    id: u64,
    kind: &'static str,
    recipient: String,
    from: String,
    status_id: Option<u64>,
    created_at: DateTime<Utc>,
}

struct State {
    base_url: String,
    host: String,
    accounts: Vec<Account>,
    /// Ascending by id.
    statuses: Vec<StatusRec>,
    /// Ascending by id.
    notifications: Vec<NotificationRec>,
    tokens: HashMap<String, String>,
    next_status: u64,
    next_notification: u64,
    next_account: u64,
    full_text_search: bool,
    public_timelines: bool,
    failures: VecDeque<Failure>,
    requests: Vec<RecordedRequest>,
    remaining: u32,
    reset: DateTime<Utc>,
    /// Rate-limit windows run on this clock instead of the wall clock.
    clock: Option<VirtualNow>,
    /// 429s the rate window gave (not the injected failures).
    refused: u64,
    /// With `enforce_limits_on`: the paging throttle (requests with
    /// `max_id`/`min_id`/`since_id`), remaining and reset.
    paging: Option<(u32, DateTime<Utc>)>,
    /// Every status and notification as the streaming server publishes it.
    events: tokio::sync::broadcast::Sender<StreamMsg>,
    /// `configuration.urls.streaming` of `/api/v2/instance`, once a
    /// streaming server runs (see `start_streaming`).
    streaming_url: Option<String>,
}

/// One event for the streaming server's subscribers: its Redis-like
/// channel (`user:<account id>`, `hashtag:<tag>`), name and payload.
#[derive(Debug, Clone)]
pub struct StreamMsg {
    pub channel: String,
    pub event: String,
    pub payload: String,
}

/// Paging requests: 300 per 15 minutes per user (`rack_attack.rb`,
/// REFERENCE.md 2.8).
pub const PAGING_LIMIT: u32 = 300;
const PAGING_WINDOW: chrono::Duration = chrono::Duration::minutes(15);

type Shared = Arc<Mutex<State>>;

/// A clock the fake reads its rate-limit windows from (see
/// `enforce_limits_on`); the daemon under test must share it.
pub type VirtualNow = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

pub struct FakeMastodon {
    state: Shared,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeMastodon {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeMastodon {
    pub async fn start() -> FakeMastodon {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            base_url: format!("http://{addr}"),
            host: addr.to_string(),
            accounts: Vec::new(),
            statuses: Vec::new(),
            notifications: Vec::new(),
            tokens: HashMap::new(),
            // Status and account ids look like Mastodon snowflakes;
            // notification ids are a small separate sequence, as recorded.
            next_status: 117_020_577_157_693_549,
            next_notification: 21,
            next_account: 117_020_565_693_913_441,
            full_text_search: true,
            public_timelines: true,
            failures: VecDeque::new(),
            requests: Vec::new(),
            remaining: RATE_LIMIT,
            reset: Utc::now() + chrono::Duration::from_std(RATE_WINDOW).unwrap(),
            clock: None,
            refused: 0,
            paging: None,
            events: tokio::sync::broadcast::channel(1024).0,
            streaming_url: None,
        }));
        let app = Router::new().fallback(handle).with_state(state.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("fake mastodon serves");
        });
        FakeMastodon { state, addr, server }
    }

    /// `http://127.0.0.1:<port>`, the `instance` to configure.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `127.0.0.1:<port>`: the domain local accounts have when made absolute.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// Adds an account and returns its id. `user` is local; `user@domain`
    /// is a remote account as this instance knows it.
    pub fn add_account(&self, username: &str, followers: u64) -> String {
        let mut s = self.state.lock().unwrap();
        let id = s.next_account.to_string();
        s.next_account += 1;
        let name = username.split('@').next().unwrap_or(username).to_string();
        s.accounts.push(Account { id: id.clone(), username: name, acct: username.to_string(), followers });
        id
    }

    /// Issues a user token for this account and returns it.
    pub fn issue_token(&self, account_id: &str) -> String {
        let mut s = self.state.lock().unwrap();
        let token = format!("token-{}-{}", account_id, s.tokens.len() + 1);
        s.tokens.insert(token.clone(), account_id.to_string());
        token
    }

    /// Starts a status by this account; finish it with [`StatusBuilder::send`].
    pub fn post_status(&self, author_id: &str) -> StatusBuilder {
        StatusBuilder {
            state: self.state.clone(),
            author: author_id.to_string(),
            text: String::new(),
            extra_tags: Vec::new(),
            mentions: Vec::new(),
            in_reply_to: None,
            language: None,
            reblogs: 0,
            quotes: 0,
            spoiler: String::new(),
            created_at: None,
        }
    }

    /// `by` reblogs a status; returns the reblog's own status id.
    pub fn reblog(&self, by: &str, status_id: &str) -> String {
        let mut s = self.state.lock().unwrap();
        let id = s.next_status;
        s.next_status += 1;
        let of: u64 = status_id.parse().expect("numeric status id");
        s.statuses.push(StatusRec {
            id,
            account_id: by.to_string(),
            text: String::new(),
            content: String::new(),
            spoiler_text: String::new(),
            tags: Vec::new(),
            mentions: Vec::new(),
            in_reply_to_id: None,
            in_reply_to_account_id: None,
            language: None,
            reblogs_count: 0,
            quotes_count: 0,
            reblog_of: Some(of),
            created_at: Utc::now(),
        });
        id.to_string()
    }

    /// `from` follows `to`: a `follow` notification (no status) for `to`.
    pub fn follow(&self, from: &str, to: &str) -> String {
        let mut s = self.state.lock().unwrap();
        let id = s.next_notification;
        s.next_notification += 1;
        s.notifications.push(NotificationRec {
            id,
            kind: "follow",
            recipient: to.to_string(),
            from: from.to_string(),
            status_id: None,
            created_at: Utc::now(),
        });
        id.to_string()
    }

    /// Off: status search finds nothing, like an instance without
    /// Elasticsearch. On by default.
    pub fn set_full_text_search(&self, on: bool) {
        self.state.lock().unwrap().full_text_search = on;
    }

    /// Off: hashtag timelines need a token (the instance disabled public
    /// preview). On by default.
    pub fn set_public_timelines(&self, on: bool) {
        self.state.lock().unwrap().public_timelines = on;
    }

    /// Sets how many requests are left in the current window.
    pub fn set_rate_limit_remaining(&self, remaining: u32) {
        self.state.lock().unwrap().remaining = remaining;
    }

    /// The next request (whatever its path) fails this way. Queued in order.
    /// Enforces the documented limit (300 requests per 5 minutes,
    /// REFERENCE.md 2.8; counted for the whole server, which is the per-token
    /// limit when one token is used) on `clock` instead of the wall clock.
    pub fn enforce_limits_on(&self, clock: VirtualNow) {
        let mut s = self.state.lock().unwrap();
        s.reset = clock();
        s.paging = Some((PAGING_LIMIT, clock()));
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

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.state.lock().unwrap().requests.clear();
    }

    /// The notification ids created so far, oldest first.
    pub fn notification_ids(&self) -> Vec<String> {
        self.state.lock().unwrap().notifications.iter().map(|n| n.id.to_string()).collect()
    }
}

pub struct StatusBuilder {
    state: Shared,
    author: String,
    text: String,
    extra_tags: Vec<String>,
    mentions: Vec<String>,
    in_reply_to: Option<String>,
    language: Option<String>,
    reblogs: u64,
    quotes: u64,
    spoiler: String,
    created_at: Option<DateTime<Utc>>,
}

impl StatusBuilder {
    /// Plain text; `@user` of a mentioned account and `#tag` become links,
    /// a newline `<br />`, a blank line a new paragraph.
    pub fn text(mut self, text: &str) -> Self {
        self.text = text.to_string();
        self
    }
    /// Adds a hashtag (appended to the text as `#tag` if not already there).
    pub fn tag(mut self, tag: &str) -> Self {
        self.extra_tags.push(tag.trim_start_matches('#').to_string());
        self
    }
    /// Mentions this account (prefixed to the text as `@acct` if absent);
    /// the account gets a mention notification.
    pub fn mention(mut self, account_id: &str) -> Self {
        self.mentions.push(account_id.to_string());
        self
    }
    /// Replies to this status: sets `in_reply_to_account_id` and mentions
    /// its author, as Mastodon clients do.
    pub fn in_reply_to(mut self, status_id: &str) -> Self {
        self.in_reply_to = Some(status_id.to_string());
        self
    }
    pub fn language(mut self, lang: &str) -> Self {
        self.language = Some(lang.to_string());
        self
    }
    pub fn reblogs(mut self, n: u64) -> Self {
        self.reblogs = n;
        self
    }
    pub fn quotes(mut self, n: u64) -> Self {
        self.quotes = n;
        self
    }
    pub fn spoiler(mut self, text: &str) -> Self {
        self.spoiler = text.to_string();
        self
    }
    pub fn created_at(mut self, at: DateTime<Utc>) -> Self {
        self.created_at = Some(at);
        self
    }

    /// Publishes the status and returns its id.
    pub fn send(self) -> String {
        let mut s = self.state.lock().unwrap();
        let mut mentions = self.mentions.clone();
        let (in_reply_to_id, in_reply_to_account_id) = match &self.in_reply_to {
            Some(parent) => {
                let parent_id: u64 = parent.parse().expect("numeric status id");
                let parent = s.statuses.iter().find(|st| st.id == parent_id).expect("replied-to status exists");
                let author = parent.account_id.clone();
                if author != self.author && !mentions.contains(&author) {
                    mentions.insert(0, author.clone());
                }
                (Some(parent_id), Some(author))
            }
            None => (None, None),
        };
        let mut text = self.text.clone();
        for id in mentions.iter().rev() {
            let acct = s.account(id).acct.clone();
            if !contains_word(&text, &format!("@{acct}")) {
                text = format!("@{acct} {text}");
            }
        }
        for tag in &self.extra_tags {
            if !contains_word(&text.to_lowercase(), &format!("#{}", tag.to_lowercase())) {
                text = format!("{text} #{tag}");
            }
        }
        let (content, tags) = render(&s, &text, &mentions);
        let id = s.next_status;
        s.next_status += 1;
        let created_at = self.created_at.unwrap_or_else(Utc::now);
        s.statuses.push(StatusRec {
            id,
            account_id: self.author.clone(),
            text: text.clone(),
            content,
            spoiler_text: self.spoiler,
            tags,
            mentions: mentions.clone(),
            in_reply_to_id,
            in_reply_to_account_id,
            language: self.language,
            reblogs_count: self.reblogs,
            quotes_count: self.quotes,
            reblog_of: None,
            created_at,
        });
        {
            let st = s.statuses.last().unwrap();
            let payload = s.status_json(st).to_string();
            for tag in &st.tags {
                let _ = s.events.send(StreamMsg { channel: format!("hashtag:{tag}"), event: "update".into(), payload: payload.clone() });
            }
        }
        for recipient in mentions.iter().filter(|m| **m != self.author) {
            let nid = s.next_notification;
            s.next_notification += 1;
            s.notifications.push(NotificationRec {
                id: nid,
                kind: "mention",
                recipient: recipient.clone(),
                from: self.author.clone(),
                status_id: Some(id),
                created_at,
            });
            let payload = s.notification_json(s.notifications.last().unwrap()).to_string();
            let _ = s.events.send(StreamMsg { channel: format!("user:{recipient}"), event: "notification".into(), payload });
        }
        id.to_string()
    }
}

fn contains_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        let after = text[i + word.len()..].chars().next();
        !after.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '@')
    })
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// Mastodon-like status HTML for `text`, and the hashtags it contains.
fn render(s: &State, text: &str, mentions: &[String]) -> (String, Vec<String>) {
    let mut tags: Vec<String> = Vec::new();
    let mut html = String::from("<p>");
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let at_word_start = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        if (c == '@' || c == '#') && at_word_start {
            let mut j = i + 1;
            let word_char = |ch: char| ch.is_alphanumeric() || ch == '_' || (c == '@' && ".@-:".contains(ch));
            while j < chars.len() && word_char(chars[j]) {
                j += 1;
            }
            while j > i + 1 && ".-:".contains(chars[j - 1]) {
                j -= 1;
            }
            let word: String = chars[i + 1..j].iter().collect();
            if c == '@' {
                if let Some(a) = mentions.iter().map(|id| s.account(id)).find(|a| a.acct.eq_ignore_ascii_case(&word)) {
                    html.push_str(&format!(
                        r#"<span class="h-card" translate="no"><a href="{}" class="u-url mention">@<span>{}</span></a></span>"#,
                        s.account_url(a),
                        escape(&a.username)
                    ));
                    i = j;
                    continue;
                }
            } else if !word.is_empty() {
                let tag = word.to_lowercase();
                html.push_str(&format!(r#"<a href="{}/tags/{tag}" class="mention hashtag" rel="tag">#<span>{}</span></a>"#, s.base_url, escape(&word)));
                if !tags.contains(&tag) {
                    tags.push(tag);
                }
                i = j;
                continue;
            }
        }
        if c == '\n' {
            if chars.get(i + 1) == Some(&'\n') {
                html.push_str("</p><p>");
                i += 2;
            } else {
                html.push_str("<br />");
                i += 1;
            }
            continue;
        }
        html.push_str(&escape(&c.to_string()));
        i += 1;
    }
    html.push_str("</p>");
    (html, tags)
}

impl State {
    fn account(&self, id: &str) -> &Account {
        self.accounts.iter().find(|a| a.id == id).expect("account exists")
    }

    fn account_url(&self, a: &Account) -> String {
        match a.acct.split_once('@') {
            Some((user, domain)) => format!("https://{domain}/@{user}"),
            None => format!("{}/@{}", self.base_url, a.username),
        }
    }

    fn account_json(&self, a: &Account) -> Value {
        let statuses = self.statuses.iter().filter(|s| s.account_id == a.id).count();
        json!({
            "id": a.id, "username": a.username, "acct": a.acct, "display_name": a.username,
            "locked": false, "bot": false, "discoverable": true, "indexable": true, "group": false,
            "created_at": "2026-08-01T00:00:00.000Z", "note": "", "url": self.account_url(a),
            "uri": format!("{}/users/{}", self.base_url, a.username),
            "followers_count": a.followers, "following_count": 0, "statuses_count": statuses,
            "last_status_at": null, "emojis": [], "fields": []
        })
    }

    fn status_json(&self, st: &StatusRec) -> Value {
        let a = self.account(&st.account_id);
        let reblog = st.reblog_of.and_then(|of| self.statuses.iter().find(|x| x.id == of)).map(|x| self.status_json(x));
        let (uri, url) = match st.reblog_of {
            Some(_) => (format!("{}/users/{}/statuses/{}/activity", self.base_url, a.username, st.id), Value::Null),
            None => (format!("{}/users/{}/statuses/{}", self.base_url, a.username, st.id), json!(format!("{}/@{}/{}", self.base_url, a.username, st.id))),
        };
        let mentions: Vec<Value> = st
            .mentions
            .iter()
            .map(|id| {
                let m = self.account(id);
                json!({"id": m.id, "username": m.username, "url": self.account_url(m), "acct": m.acct})
            })
            .collect();
        let tags: Vec<Value> = st.tags.iter().map(|t| json!({"name": t, "url": format!("{}/tags/{t}", self.base_url)})).collect();
        let replies = self.statuses.iter().filter(|x| x.in_reply_to_id == Some(st.id)).count();
        json!({
            "id": st.id.to_string(),
            "created_at": st.created_at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            "in_reply_to_id": st.in_reply_to_id.map(|i| i.to_string()),
            "in_reply_to_account_id": st.in_reply_to_account_id,
            "sensitive": !st.spoiler_text.is_empty(),
            "spoiler_text": st.spoiler_text,
            "visibility": "public",
            "language": st.language,
            "uri": uri, "url": url,
            "replies_count": replies,
            "reblogs_count": st.reblogs_count,
            "favourites_count": 0,
            "quotes_count": st.quotes_count,
            "edited_at": null,
            "content": st.content,
            "filtered": [],
            "reblog": reblog,
            "account": self.account_json(a),
            "media_attachments": [],
            "mentions": mentions,
            "tags": tags,
            "emojis": [],
            "card": null,
            "poll": null
        })
    }

    fn notification_json(&self, n: &NotificationRec) -> Value {
        let status = n.status_id.and_then(|id| self.statuses.iter().find(|s| s.id == id)).map(|s| self.status_json(s));
        let mut v = json!({
            "id": n.id.to_string(),
            "type": n.kind,
            "created_at": n.created_at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            "group_key": format!("ungrouped-{}", n.id),
            "account": self.account_json(self.account(&n.from)),
        });
        if let Some(status) = status {
            v["status"] = status;
        }
        v
    }
}

fn parse_query(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// Paging parameters as Mastodon reads them.
struct Paging {
    max_id: Option<u64>,
    since_id: Option<u64>,
    min_id: Option<u64>,
    limit: usize,
}

impl Paging {
    fn from(params: &[(String, String)], default: usize, max: usize) -> Paging {
        let get = |k: &str| params.iter().find(|(n, _)| n == k).and_then(|(_, v)| v.parse::<u64>().ok());
        let limit = get("limit").map(|l| (l as usize).clamp(1, max)).unwrap_or(default);
        Paging { max_id: get("max_id"), since_id: get("since_id"), min_id: get("min_id"), limit }
    }

    /// Picks a page from ascending `ids`; returns the chosen ids newest
    /// first. `min_id` reads the oldest items after it (no gap); otherwise
    /// the newest ones (`since_id` can leave a gap, as documented).
    fn apply(&self, ids: &[u64]) -> Vec<u64> {
        let mut ids: Vec<u64> = ids
            .iter()
            .copied()
            .filter(|i| self.max_id.is_none_or(|m| *i < m))
            .filter(|i| self.since_id.is_none_or(|m| *i > m))
            .filter(|i| self.min_id.is_none_or(|m| *i > m))
            .collect();
        if self.min_id.is_some() {
            ids.truncate(self.limit);
        } else {
            let skip = ids.len().saturating_sub(self.limit);
            ids.drain(..skip);
        }
        ids.reverse();
        ids
    }
}

/// `Link` header for a page (ids newest first), keeping every parameter
/// but the paging ones; None for an empty page.
fn link(base: &str, path: &str, raw_query: Option<&str>, ids: &[u64]) -> Option<String> {
    let (newest, oldest) = (ids.first()?, ids.last()?);
    let kept: Vec<&str> = raw_query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let key = p.split('=').next().unwrap_or_default();
            !matches!(key, "max_id" | "min_id" | "since_id")
        })
        .collect();
    let rest = if kept.is_empty() { String::new() } else { format!("&{}", kept.join("&")) };
    Some(format!(r#"<{base}{path}?max_id={oldest}{rest}>; rel="next", <{base}{path}?min_id={newest}{rest}>; rel="prev""#))
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    Response::builder().status(status).header("content-type", "application/json; charset=utf-8").body(Body::from(body.to_string())).unwrap()
}

fn error(status: StatusCode, message: &str) -> Response {
    json_response(status, &json!({ "error": message }))
}

fn invalid_token() -> Response {
    let mut r = error(StatusCode::UNAUTHORIZED, "The access token is invalid");
    r.headers_mut()
        .insert("www-authenticate", r#"Bearer realm="Doorkeeper", error="invalid_token", error_description="The access token is invalid""#.parse().unwrap());
    r
}

fn failure_response(failure: &Failure) -> Response {
    match failure {
        Failure::RateLimited => {
            let mut r = json_response(StatusCode::TOO_MANY_REQUESTS, &json!({"error": "Too many requests"}));
            r.headers_mut().insert("content-type", "application/json".parse().unwrap());
            r
        }
        Failure::ServerError(code) => {
            error(StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), "We're sorry, but something went wrong on our end.")
        }
        Failure::Unavailable { retry_after } => Response::builder()
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .header("content-type", "text/html; charset=utf-8")
            .header("retry-after", retry_after.as_secs().to_string())
            .body(Body::from("<html><body><h1>503 Service Unavailable</h1></body></html>"))
            .unwrap(),
        Failure::MalformedJson => Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/json; charset=utf-8")
            .body(Body::from(r#"[{"id": "1", "type": mention}]"#))
            .unwrap(),
        Failure::TruncatedBody => Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/json; charset=utf-8")
            // Announces more than it sends: the connection closes mid-body.
            .header("content-length", "4096")
            .body(truncated_body())
            .unwrap(),
        Failure::HtmlErrorPage => Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "text/html; charset=utf-8")
            .body(Body::from("<!DOCTYPE html><html><head><title>We're sorry</title></head><body>Something went wrong</body></html>"))
            .unwrap(),
        Failure::Unauthorized => invalid_token(),
        Failure::Timeout(_) => unreachable!("handled before answering"),
    }
}

/// The start of a JSON document, then the end of the stream. Streamed (no
/// exact size) so hyper trusts the announced `Content-Length`, flushes what
/// it has while the stream waits, then closes the connection mid-body.
/// `codec` is the one tokio-util stream available here (h2 enables it).
fn truncated_body() -> Body {
    use tokio::io::AsyncWriteExt;
    let (mut writer, reader) = tokio::io::duplex(4096);
    tokio::spawn(async move {
        let _ = writer.write_all(br#"[{"id":"117020577157693549","created_at":"2026-08-01T13:51:42.823Z","#).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    });
    Body::from_stream(tokio_util::codec::FramedRead::new(reader, tokio_util::codec::BytesCodec::new()))
}

async fn handle(AxumState(state): AxumState<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
    let failure = {
        let mut s = state.lock().unwrap();
        s.requests.push(RecordedRequest { path: uri.path().to_string(), query: uri.query().map(str::to_string), authorization: authorization.clone() });
        s.failures.pop_front()
    };
    if let Some(Failure::Timeout(d)) = failure {
        tokio::time::sleep(d).await;
    }
    let mut s = state.lock().unwrap();
    let now = s.clock.as_ref().map_or_else(Utc::now, |c| c());
    if now >= s.reset {
        s.remaining = RATE_LIMIT;
        s.reset = now + chrono::Duration::from_std(RATE_WINDOW).unwrap();
    }
    // The paging throttle, when enforced: its own window; the headers show
    // whichever limit is closer to exhaustion, as Mastodon's do.
    let paging_request = parse_query(uri.query()).iter().any(|(k, _)| matches!(k.as_str(), "max_id" | "min_id" | "since_id"));
    if let Some((left, reset)) = s.paging.as_mut() {
        if now >= *reset {
            *left = PAGING_LIMIT;
            *reset = now + PAGING_WINDOW;
        }
    }
    let paging_spent = paging_request && s.paging.is_some_and(|(left, _)| left == 0);
    let mut response = match failure {
        Some(Failure::Timeout(_)) | None if s.remaining == 0 || paging_spent => {
            s.refused += 1;
            failure_response(&Failure::RateLimited)
        }
        Some(Failure::Timeout(_)) | None if paging_request && s.paging.is_some() => {
            s.remaining -= 1;
            if let Some((left, _)) = s.paging.as_mut() {
                *left -= 1;
            }
            route(&s, &uri, authorization.as_deref())
        }
        Some(Failure::Timeout(_)) | None => {
            s.remaining -= 1;
            route(&s, &uri, authorization.as_deref())
        }
        Some(f) => {
            if matches!(f, Failure::RateLimited) {
                s.remaining = 0;
            } else {
                s.remaining = s.remaining.saturating_sub(1);
            }
            failure_response(&f)
        }
    };
    let (limit, remaining, reset) = match s.paging {
        Some((left, reset)) if left < s.remaining => (PAGING_LIMIT, left, reset),
        _ => (RATE_LIMIT, s.remaining, s.reset),
    };
    let h = response.headers_mut();
    h.insert("x-ratelimit-limit", limit.to_string().parse().unwrap());
    h.insert("x-ratelimit-remaining", remaining.to_string().parse().unwrap());
    h.insert("x-ratelimit-reset", reset.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string().parse().unwrap());
    response
}

fn route(s: &State, uri: &Uri, authorization: Option<&str>) -> Response {
    // A token that is sent must be valid, even on public endpoints.
    let owner = match authorization {
        Some(h) => match h.strip_prefix("Bearer ").and_then(|t| s.tokens.get(t.trim())) {
            Some(owner) => Some(owner.clone()),
            None => return invalid_token(),
        },
        None => None,
    };
    let params = parse_query(uri.query());
    let path = uri.path();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["api", "v1", "notifications"] => {
            let Some(owner) = owner else { return invalid_token() };
            let types: Vec<&str> = params.iter().filter(|(k, _)| k == "types[]").map(|(_, v)| v.as_str()).collect();
            let exclude: Vec<&str> = params.iter().filter(|(k, _)| k == "exclude_types[]").map(|(_, v)| v.as_str()).collect();
            let mine: Vec<&NotificationRec> = s
                .notifications
                .iter()
                .filter(|n| n.recipient == owner)
                .filter(|n| types.is_empty() || types.contains(&n.kind))
                .filter(|n| !exclude.contains(&n.kind))
                .collect();
            let ids: Vec<u64> = mine.iter().map(|n| n.id).collect();
            let page = Paging::from(&params, 40, 80).apply(&ids);
            let body: Vec<Value> = page.iter().map(|id| s.notification_json(mine.iter().find(|n| n.id == *id).unwrap())).collect();
            paged(s, path, uri.query(), &page, body)
        }
        ["api", "v1", "timelines", "tag", tag] => {
            if !s.public_timelines && owner.is_none() {
                return error(StatusCode::UNAUTHORIZED, "This method requires an authenticated user");
            }
            let tag = percent_decode(tag).to_lowercase();
            let tagged: Vec<u64> = s.statuses.iter().filter(|st| st.reblog_of.is_none() && st.tags.contains(&tag)).map(|st| st.id).collect();
            let page = Paging::from(&params, 20, 40).apply(&tagged);
            let body = statuses_json(s, &page);
            paged(s, path, uri.query(), &page, body)
        }
        ["api", "v2", "search"] => {
            let q = params.iter().find(|(k, _)| k == "q").map(|(_, v)| v.to_lowercase()).unwrap_or_default();
            if q.is_empty() {
                return error(StatusCode::BAD_REQUEST, "Validation failed: q is missing");
            }
            let kind = params.iter().find(|(k, _)| k == "type").map(|(_, v)| v.as_str());
            // Full-text search of statuses needs Elasticsearch and a user.
            let searchable = s.full_text_search && owner.is_some() && kind.is_none_or(|k| k == "statuses");
            let found: Vec<u64> = if searchable {
                s.statuses.iter().filter(|st| st.reblog_of.is_none() && st.text.to_lowercase().contains(&q)).map(|st| st.id).collect()
            } else {
                Vec::new()
            };
            let page = Paging::from(&params, 20, 40).apply(&found);
            json_response(StatusCode::OK, &json!({"accounts": [], "statuses": statuses_json(s, &page), "hashtags": [], "collections": []}))
        }
        ["api", "v2", "instance"] => match &s.streaming_url {
            Some(url) => {
                json_response(StatusCode::OK, &json!({"domain": s.host, "title": "fake", "version": "4.5.0", "configuration": {"urls": {"streaming": url}}}))
            }
            None => error(StatusCode::NOT_FOUND, "Record not found"),
        },
        ["api", "v1", "accounts", "lookup"] => {
            let acct = params.iter().find(|(k, _)| k == "acct").map(|(_, v)| v.trim_start_matches('@').to_lowercase());
            let local = |a: &Account| format!("{}@{}", a.acct, s.host).to_lowercase();
            match acct.and_then(|acct| s.accounts.iter().find(|a| a.acct.to_lowercase() == acct || local(a) == acct)) {
                Some(a) => json_response(StatusCode::OK, &s.account_json(a)),
                None => error(StatusCode::NOT_FOUND, "Record not found"),
            }
        }
        ["api", "v1", "accounts", id, "statuses"] => {
            if !s.accounts.iter().any(|a| a.id == *id) {
                return error(StatusCode::NOT_FOUND, "Record not found");
            }
            let flag = |k: &str| params.iter().any(|(n, v)| n == k && (v == "true" || v == "1"));
            let (no_reblogs, no_replies) = (flag("exclude_reblogs"), flag("exclude_replies"));
            let theirs: Vec<u64> = s
                .statuses
                .iter()
                .filter(|st| st.account_id == *id)
                .filter(|st| !(no_reblogs && st.reblog_of.is_some()))
                .filter(|st| !(no_replies && st.in_reply_to_id.is_some()))
                .map(|st| st.id)
                .collect();
            let page = Paging::from(&params, 20, 40).apply(&theirs);
            let body = statuses_json(s, &page);
            paged(s, path, uri.query(), &page, body)
        }
        ["api", "v1", "statuses", id, "context"] => {
            let Some(id) = id.parse::<u64>().ok().filter(|id| s.statuses.iter().any(|st| st.id == *id)) else {
                return error(StatusCode::NOT_FOUND, "Record not found");
            };
            let mut ancestors = Vec::new();
            let mut cursor = s.statuses.iter().find(|st| st.id == id).and_then(|st| st.in_reply_to_id);
            while let Some(parent) = cursor.and_then(|p| s.statuses.iter().find(|st| st.id == p)) {
                ancestors.insert(0, parent.id);
                cursor = parent.in_reply_to_id;
            }
            let mut descendants: Vec<u64> = Vec::new();
            let mut frontier = vec![id];
            while let Some(p) = frontier.pop() {
                for child in s.statuses.iter().filter(|st| st.in_reply_to_id == Some(p)) {
                    descendants.push(child.id);
                    frontier.push(child.id);
                }
            }
            descendants.sort_unstable();
            let list = |ids: &[u64]| -> Vec<Value> { ids.iter().map(|i| s.status_json(s.statuses.iter().find(|st| st.id == *i).unwrap())).collect() };
            json_response(StatusCode::OK, &json!({"ancestors": list(&ancestors), "descendants": list(&descendants)}))
        }
        _ => error(StatusCode::NOT_FOUND, "Record not found"),
    }
}

fn statuses_json(s: &State, ids: &[u64]) -> Vec<Value> {
    ids.iter().map(|id| s.status_json(s.statuses.iter().find(|st| st.id == *id).unwrap())).collect()
}

fn paged(s: &State, path: &str, raw_query: Option<&str>, ids: &[u64], body: Vec<Value>) -> Response {
    let mut r = json_response(StatusCode::OK, &Value::Array(body));
    if let Some(link) = link(&s.base_url, path, raw_query, ids) {
        r.headers_mut().insert("link", link.parse().unwrap());
    }
    r
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
}

// ---- the streaming server (REFERENCE-streaming.md section 1) ----

/// What the streaming server offers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StreamingMode {
    /// Server-sent events and WebSocket, as Mastodon's streaming server.
    Both,
    /// WebSocket only (GoToSocial): the SSE paths answer 404.
    WebSocketOnly,
    /// No streaming API: the health check answers 404.
    Refused,
}

/// A trick the next event written to each open stream plays.
#[derive(Debug, Clone, PartialEq)]
pub enum Trick {
    /// Half of the next event, then the connection closes.
    CutMidEvent,
    /// An event whose payload is not JSON, before the next one.
    Malformed,
    /// An event of this many bytes, before the next one.
    Oversized(usize),
}

struct StreamCtl {
    mode: Mutex<StreamingMode>,
    /// Bumped to close every open stream.
    cut: tokio::sync::watch::Sender<u64>,
    /// Connections are closed as soon as they are accepted.
    down: std::sync::atomic::AtomicBool,
    /// Connections are accepted and never answered.
    silent: std::sync::atomic::AtomicBool,
    tricks: Mutex<VecDeque<Trick>>,
    /// "GET <path?query> [ws]" of each request, in order.
    requests: Mutex<Vec<String>>,
}

/// The fake's streaming server on its own port (as mastodon.social's
/// `streaming.mastodon.social`), announced by `/api/v2/instance`.
pub struct Streaming {
    ctl: Arc<StreamCtl>,
    server: tokio::task::JoinHandle<()>,
    pub addr: SocketAddr,
}

impl Drop for Streaming {
    fn drop(&mut self) {
        self.server.abort();
        self.ctl.cut.send_modify(|g| *g += 1);
    }
}

impl Streaming {
    pub fn set_mode(&self, mode: StreamingMode) {
        *self.ctl.mode.lock().unwrap() = mode;
    }
    /// Closes every open stream now.
    pub fn cut(&self) {
        self.ctl.cut.send_modify(|g| *g += 1);
    }
    /// While down, connections are closed as soon as they are accepted.
    pub fn set_down(&self, down: bool) {
        self.ctl.down.store(down, std::sync::atomic::Ordering::SeqCst);
    }
    /// While silent, connections are accepted and never answered.
    pub fn set_silent(&self, silent: bool) {
        self.ctl.silent.store(silent, std::sync::atomic::Ordering::SeqCst);
    }
    pub fn trick(&self, t: Trick) {
        self.ctl.tricks.lock().unwrap().push_back(t);
    }
    /// Every request so far: "GET /path?query" with " ws" for upgrades.
    pub fn requests(&self) -> Vec<String> {
        self.ctl.requests.lock().unwrap().clone()
    }
    /// Stream subscriptions made so far (health checks left out).
    pub fn subscriptions(&self) -> Vec<String> {
        self.requests().into_iter().filter(|r| !r.contains("/health")).collect()
    }
}

impl FakeMastodon {
    /// Starts a streaming server and announces it in `/api/v2/instance`.
    pub async fn start_streaming(&self, mode: StreamingMode) -> Streaming {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        self.state.lock().unwrap().streaming_url = Some(format!("ws://{addr}"));
        let ctl = Arc::new(StreamCtl {
            mode: Mutex::new(mode),
            cut: tokio::sync::watch::channel(0).0,
            down: Default::default(),
            silent: Default::default(),
            tricks: Mutex::new(VecDeque::new()),
            requests: Mutex::new(Vec::new()),
        });
        let (state, c) = (self.state.clone(), ctl.clone());
        let server = tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else { return };
                let (state, c) = (state.clone(), c.clone());
                tokio::spawn(async move { serve_stream(sock, state, c).await });
            }
        });
        Streaming { ctl, server, addr }
    }
}

/// The request head, read without consuming it (a WebSocket upgrade is
/// handed to tungstenite whole): (head length, method and target, headers).
async fn peek_head(sock: &tokio::net::TcpStream) -> Option<(usize, String, Vec<(String, String)>)> {
    let mut buf = vec![0u8; 16 * 1024];
    for _ in 0..200 {
        let n = sock.peek(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        if let Some(end) = buf[..n].windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let mut lines = head.split("\r\n");
            let first = lines.next()?.to_string();
            let headers = lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string())).collect();
            return Some((end + 4, first, headers));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    None
}

async fn serve_stream(mut sock: tokio::net::TcpStream, state: Shared, ctl: Arc<StreamCtl>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    if ctl.down.load(std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    if ctl.silent.load(std::sync::atomic::Ordering::SeqCst) {
        let mut cut = ctl.cut.subscribe();
        let _ = cut.changed().await;
        return;
    }
    let Some((len, first, headers)) = peek_head(&sock).await else { return };
    let header = |k: &str| headers.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let target = first.split_whitespace().nth(1).unwrap_or("/").to_string();
    let (path, query) = target.split_once('?').map_or((target.clone(), None), |(p, q)| (p.to_string(), Some(q.to_string())));
    let params = parse_query(query.as_deref());
    let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let websocket = header("upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
    ctl.requests.lock().unwrap().push(format!("GET {target}{}", if websocket { " ws" } else { "" }));
    let mode = *ctl.mode.lock().unwrap();
    let raw = |status: &str, ctype: &str, body: &str| {
        format!("HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
    };
    let mut head = vec![0u8; len];
    if path == "/api/v1/streaming/health" {
        let _ = sock.read_exact(&mut head).await;
        let reply = if mode == StreamingMode::Refused { raw("404 Not Found", "text/html", "<h1>Not Found</h1>") } else { raw("200 OK", "text/plain", "OK") };
        let _ = sock.write_all(reply.as_bytes()).await;
        return;
    }
    if mode == StreamingMode::Refused {
        let _ = sock.read_exact(&mut head).await;
        let _ = sock.write_all(raw("404 Not Found", "text/html", "<h1>Not Found</h1>").as_bytes()).await;
        return;
    }
    // Which channel, as `channelNameFromPath` / the `stream` parameter.
    let stream_name = if websocket {
        param("stream").unwrap_or_default()
    } else {
        match path.as_str() {
            "/api/v1/streaming/user/notification" => "user:notification".into(),
            "/api/v1/streaming/hashtag" => "hashtag".into(),
            _ => String::new(),
        }
    };
    let token = header("authorization").and_then(|a| a.strip_prefix("Bearer ").map(|t| t.trim().to_string())).or_else(|| param("access_token"));
    let owner = token.as_deref().and_then(|t| state.lock().unwrap().tokens.get(t).cloned());
    let refusal: Option<(u16, &str)> = if (websocket && path != "/api/v1/streaming") || (!websocket && mode == StreamingMode::WebSocketOnly) {
        Some((404, "Not Found"))
    } else if token.is_none() {
        Some((401, "Missing access token"))
    } else if owner.is_none() {
        Some((401, "Invalid access token"))
    } else if stream_name.is_empty() || (!websocket && !path.starts_with("/api/v1/streaming/")) {
        Some((400, "Unknown channel requested"))
    } else if stream_name == "hashtag" && param("tag").is_none() {
        Some((400, "Missing tag name parameter"))
    } else {
        None
    };
    if let Some((code, message)) = refusal {
        let _ = sock.read_exact(&mut head).await;
        let status = format!(
            "{code} {}",
            if code == 401 {
                "Unauthorized"
            } else if code == 404 {
                "Not Found"
            } else {
                "Bad Request"
            }
        );
        let reply = if websocket {
            format!("HTTP/1.1 {status}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 0\r\nX-Error-Message: {message}\r\n\r\n")
        } else {
            raw(&status, "application/json", &json!({ "error": message }).to_string())
        };
        let _ = sock.write_all(reply.as_bytes()).await;
        return;
    }
    let owner = owner.unwrap();
    let tag = param("tag").map(|t| t.trim_start_matches('#').to_lowercase());
    let channel = match stream_name.as_str() {
        "user:notification" => format!("user:{owner}"),
        _ => format!("hashtag:{}", tag.clone().unwrap_or_default()),
    };
    let ws_stream: Value = if stream_name == "hashtag" { json!(["hashtag", tag.clone().unwrap_or_default()]) } else { json!([stream_name]) };
    let mut events = state.lock().unwrap().events.subscribe();
    let mut cut = ctl.cut.subscribe();
    let next_trick = || ctl.tricks.lock().unwrap().pop_front();
    if websocket {
        use futures_util::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::Message;
        let Ok(mut ws) = tokio_tungstenite::accept_async(sock).await else { return };
        loop {
            tokio::select! {
                // A cut wins over an event that arrives at the same moment.
                biased;
                _ = cut.changed() => return,
                incoming = ws.next() => match incoming {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                    Some(Ok(_)) => {}
                },
                msg = events.recv() => {
                    let Ok(msg) = msg else { return };
                    if msg.channel != channel {
                        continue;
                    }
                    match next_trick() {
                        Some(Trick::CutMidEvent) => {
                            // Half a frame on the wire, then the connection ends.
                            let frame = json!({"stream": ws_stream, "event": msg.event, "payload": msg.payload}).to_string();
                            let mut bytes = vec![0x81u8, 126];
                            bytes.extend_from_slice(&(frame.len() as u16).to_be_bytes());
                            bytes.extend_from_slice(&frame.as_bytes()[..frame.len() / 2]);
                            let mut sock = ws.into_inner();
                            let _ = sock.write_all(&bytes).await;
                            let _ = sock.shutdown().await;
                            return;
                        }
                        Some(Trick::Malformed) => {
                            let _ = ws.send(Message::text(r#"{"stream":["user"],"event":"notification","payload":"{not json"}"#)).await;
                        }
                        Some(Trick::Oversized(n)) => {
                            let big = json!({"stream": ws_stream, "event": msg.event, "payload": "x".repeat(n)}).to_string();
                            let _ = ws.send(Message::text(big)).await;
                        }
                        None => {}
                    }
                    let frame = json!({"stream": ws_stream, "event": msg.event, "payload": msg.payload}).to_string();
                    if ws.send(Message::text(frame)).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
    // Server-sent events, chunked, as `streamToHttp` writes them.
    let _ = sock.read_exact(&mut head).await;
    let chunk = |data: &str| format!("{:x}\r\n{data}\r\n", data.len());
    let start =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\nTransfer-Encoding: chunked\r\n\r\n".to_string() + &chunk(":)\n");
    if sock.write_all(start.as_bytes()).await.is_err() {
        return;
    }
    let mut heartbeat = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            // A cut wins over an event that arrives at the same moment.
            biased;
            _ = cut.changed() => return,
            _ = heartbeat.tick() => {
                if sock.write_all(chunk(":thump\n").as_bytes()).await.is_err() {
                    return;
                }
            }
            msg = events.recv() => {
                let Ok(msg) = msg else { return };
                if msg.channel != channel {
                    continue;
                }
                let event = format!("event: {}\ndata: {}\n\n", msg.event, msg.payload);
                let extra = match next_trick() {
                    Some(Trick::CutMidEvent) => {
                        let _ = sock.write_all(chunk(&event[..event.len() / 2]).as_bytes()).await;
                        let _ = sock.shutdown().await;
                        return;
                    }
                    Some(Trick::Malformed) => chunk(&format!("event: {}\ndata: {{not json\n\n", msg.event)),
                    Some(Trick::Oversized(n)) => chunk(&format!("event: {}\ndata: {}\n\n", msg.event, "x".repeat(n))),
                    None => String::new(),
                };
                if sock.write_all(format!("{extra}{}", chunk(&event)).as_bytes()).await.is_err() {
                    return;
                }
            }
        }
    }
}
