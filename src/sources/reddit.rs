//! Reddit source: an OAuth token (app-only client credentials, or the
//! brand user's password grant or refresh token), one post search per
//! brand (`GET /search?sort=new`), the brand user's own comments
//! (`GET /user/<name>/comments?sort=new`, how escucha learns the brand
//! answered), and comments: the threads of matched posts
//! (`GET /comments/<post>?sort=new` with `more` children from
//! `/api/morechildren`), the new comments of the configured subreddits
//! (`GET /r/<a>+<b>/comments`) and, with a user token, the user's username
//! mentions (`GET /message/mentions`), turned into [`Post`]s with a cursor
//! per query (REFERENCE.md section 4, REFERENCE-streaming.md section 3).
//! It owns no SQL and no alert logic: which threads to follow comes from
//! the daemon ([`RedditSource::follow`]).
//!
//! Choices the platform leaves open, and why:
//! - Search asks for `type=link` only: the documented `type` values are
//!   `sr`, `link` and `user`; comment search is not part of the documented
//!   API. Comments are read where the API documents them: the threads of
//!   the posts escucha matched, subreddit comment listings, and the
//!   brand user's inbox of username mentions.
//! - A followed thread is read less often as its post ages
//!   ([`thread_interval`]): most comments come in a thread's first hours.
//! - `more` stubs of a thread are expanded on its first read; later, only
//!   the children whose ID36 is above the highest comment read before
//!   (Reddit assigns comment ids in increasing order), so that an old,
//!   long thread costs one request per read, not one per hundred comments.
//!   "Continue this thread" branches (deeper than [`THREAD_DEPTH`]) give no
//!   ids, so each is read again on every read. Both share a cap of
//!   [`MAX_MORE_CALLS`] extra requests a read.
//! - Listings are newest-first and have no "since". A poll reads pages
//!   newest-first (`after=<fullname>`) until it reaches items older than
//!   the previous poll's newest `created_utc` minus [`OVERLAP_SECS`]; the
//!   fullnames seen inside that overlap are kept in the cursor so nothing is
//!   returned twice. `before=<fullname>` is not used: it answers an empty
//!   listing forever once that item is deleted, and it cannot see a post
//!   that reaches the search index late (Reddit's index lags creation).

use super::http::{truncate_body, Http, RateLimit, Response};
use super::{Page, Query, QueryKind, SourceError};
use crate::config::{Brand, Secret};
use crate::model::{ConversationRoot, Platform, Post};
use chrono::{DateTime, TimeZone, Utc};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use url::Url;

/// Items per listing request: Reddit's maximum.
pub const LIMIT: usize = 100;

/// `q` is limited to 512 characters (r2 `GET_search` validator).
pub const MAX_QUERY_LEN: usize = 512;

/// How far below the newest item already read each poll looks again, for
/// posts that reach the search index after newer ones.
pub const OVERLAP_SECS: i64 = 600;

/// Reddit's published limit is 100 requests a minute per OAuth client id.
/// The schedule plans for this many a minute, so that follow-up pages and
/// token requests still fit under the limit.
pub const PLANNED_PER_MINUTE: u64 = 60;

/// Remaining counts below this are treated as spent: Reddit calls its
/// headers approximate.
const RESERVE: f64 = 3.0;

/// The cursor remembers at most this many fullnames of the overlap window.
const MAX_SEEN: usize = 1000;

/// A token is renewed this long before Reddit says it expires (at most half
/// its lifetime), so a request never carries one that expires in flight.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);

/// Comments asked for in a thread's first request (`limit`), and the
/// depth of its tree; deeper replies come as "continue this thread".
pub const THREAD_LIMIT: usize = 500;
pub const THREAD_DEPTH: usize = 10;

/// `/api/morechildren` takes at most 100 ids a call (dev/api).
pub const MORE_BATCH: usize = 100;

/// At most this many extra requests (`/api/morechildren` calls and deep
/// branches) per thread read: a thread of thousands of comments is read in
/// part rather than spend the rate limit of every other query.
pub const MAX_MORE_CALLS: usize = 10;

/// Comments created this close below the newest one a thread read are
/// looked at again (two comments in the same second, one read before the
/// other was posted); the fullnames read there are remembered.
const THREAD_OVERLAP_SECS: i64 = 60;

pub struct RedditSource {
    /// Requests to `api_base`: its rate-limit bookkeeping is what the daemon
    /// reads as `not_before`.
    http: Http,
    /// Token requests go to another host without rate-limit headers; kept
    /// apart so they never clear what the API said about its window.
    token_http: Http,
    every: Duration,
    api_base: String,
    token_url: String,
    client_id: Secret,
    client_secret: Secret,
    user_agent: String,
    queries: Vec<Query>,
    token: Mutex<Option<Token>>,
    /// Set when the API's remaining count falls under [`RESERVE`]: no
    /// request leaves before this instant.
    pause_until: Mutex<Option<DateTime<Utc>>>,
    /// Boxed: the other sources' variants of [`super::Source`] are smaller.
    auth: Box<Auth>,
    follow_threads: Duration,
    /// The threads to follow, as the daemon last handed them.
    roots: Mutex<Vec<ConversationRoot>>,
}

struct Auth {
    grant: Grant,
    /// Where the user credentials are configured, for messages.
    keys: String,
}

/// How the source gets its token.
enum Grant {
    /// Client credentials: an app-only token (no inbox).
    App,
    Password {
        username: Secret,
        password: Secret,
    },
    /// The latest refresh token: Reddit may hand a new one with each
    /// refresh (and revoke the one used), so the newest is kept.
    Refresh(Mutex<Secret>),
}

#[derive(Clone)]
struct Token {
    value: Secret,
    renew_at: Instant,
}

impl Token {
    fn new(value: Secret, expires_in: Option<u64>, now: Instant) -> Token {
        // Without expires_in, assume the shortest lifetime Reddit has used.
        let life = Duration::from_secs(expires_in.unwrap_or(3600));
        Token { value, renew_at: now + life - TOKEN_MARGIN.min(life / 2) }
    }
    fn fresh(&self, now: Instant) -> bool {
        now < self.renew_at
    }
}

/// Which listing a request reads, to say what to fix when it is refused.
#[derive(Clone, Copy)]
enum Endpoint<'a> {
    Search,
    Account {
        account: &'a str,
        brand: &'a str,
    },
    Subreddits {
        names: &'a str,
    },
    Mentions,
    /// A thread or its `more` children: a post deleted, or in a subreddit
    /// gone private, answers 403/404 and is no longer followed.
    Thread,
}

impl RedditSource {
    pub fn new(cfg: &crate::config::RedditSource, brands: &[Brand]) -> RedditSource {
        let mut queries = build_queries(brands);
        queries.extend(build_comment_queries(cfg, brands));
        let (grant, user_keys) = match cfg.user.as_ref().map(|u| (&u.grant, &u.keys)) {
            None => (Grant::App, String::new()),
            Some((crate::config::RedditGrant::Password { username, password }, keys)) => {
                (Grant::Password { username: username.clone(), password: password.clone() }, keys.clone())
            }
            Some((crate::config::RedditGrant::RefreshToken(t), keys)) => (Grant::Refresh(Mutex::new(t.clone())), keys.clone()),
        };
        RedditSource {
            auth: Box::new(Auth { grant, keys: user_keys }),
            follow_threads: cfg.follow_threads,
            roots: Mutex::new(Vec::new()),
            http: Http::new("reddit"),
            token_http: Http::new("reddit"),
            every: cfg.schedule.every,
            api_base: cfg.api_base.trim_end_matches('/').to_string(),
            token_url: cfg.token_url.clone(),
            client_id: cfg.client_id.clone(),
            client_secret: cfg.client_secret.clone(),
            user_agent: cfg.user_agent.clone(),
            queries,
            token: Mutex::new(None),
            pause_until: Mutex::new(None),
        }
    }

    pub fn queries(&self) -> Vec<Query> {
        self.queries.clone()
    }

    /// `follow_threads`, when threads are followed.
    pub fn follows(&self) -> Option<Duration> {
        (!self.follow_threads.is_zero()).then_some(self.follow_threads)
    }

    /// The threads to follow from now on: the posts escucha stored as
    /// mentions within `follow_threads`.
    pub fn follow(&self, roots: Vec<ConversationRoot>) {
        *self.roots.lock().unwrap() = roots.into_iter().filter(|r| r.platform_id.starts_with("t3_") && r.platform_id.len() > 3).collect();
    }

    /// `every`, or longer when one request per query each round would
    /// exceed [`PLANNED_PER_MINUTE`]: the schedule itself must never cause a
    /// 429.
    pub fn every(&self) -> Duration {
        // The threads query reads only the threads due, each on its own
        // slower schedule ([`thread_interval`]), paced like every request.
        let single = self.queries.iter().filter(|q| q.kind != QueryKind::Threads).count();
        self.every.max(min_interval(single))
    }

    /// Paces both clients (the API and the token endpoint) on `clock`.
    pub fn pace_with(&self, clock: std::sync::Arc<dyn crate::clock::Clock>) {
        self.http.pace_with(clock.clone());
        self.token_http.pace_with(clock);
    }

    pub fn http(&self) -> &Http {
        &self.http
    }

    /// One page of `q`. `cursor` None is the query's first poll ever: the
    /// newest page only, whose newest item sets the cursor.
    pub async fn fetch(&self, q: &Query, cursor: Option<&str>) -> Result<Page, SourceError> {
        let joined;
        let (segments, mut params, endpoint, what): (Vec<&str>, Vec<(&str, &str)>, Endpoint<'_>, &str) = match &q.kind {
            QueryKind::Search { q: text } => (vec!["search"], vec![("q", text.as_str()), ("sort", "new"), ("type", "link")], Endpoint::Search, "reddit search"),
            QueryKind::AccountActivity { account } => {
                let brand = q.brands.first().map(String::as_str).unwrap_or_default();
                (vec!["user", account.as_str(), "comments"], vec![("sort", "new")], Endpoint::Account { account, brand }, "reddit user comments")
            }
            QueryKind::Communities { names } => {
                joined = names.join("+");
                (vec!["r", joined.as_str(), "comments"], vec![], Endpoint::Subreddits { names: &joined }, "reddit subreddit comments")
            }
            QueryKind::Notifications => (vec!["message", "mentions"], vec![], Endpoint::Mentions, "reddit username mentions"),
            QueryKind::Threads => return self.fetch_threads(cursor).await,
            _ => return Err(SourceError::Malformed(format!("reddit: query {} is not a Reddit query", q.key))),
        };
        let prev = cursor.filter(|c| !c.trim().is_empty()).and_then(|c| {
            let parsed = Cursor::parse(c);
            if parsed.is_none() {
                // Only a hand-edited or foreign cursor gets here; reading the
                // newest page again beats wedging the query forever.
                tracing::warn!(query = %q.key, "unreadable Reddit cursor; starting this query afresh");
            }
            parsed
        });
        let limit = LIMIT.to_string();
        params.push(("limit", &limit));
        params.push(("raw_json", "1"));
        if let Some(after) = prev.as_ref().and_then(|c| c.after.as_deref()) {
            params.push(("after", after));
        }
        let resp = self.listing(&segments, &params, endpoint).await?;
        let mut page = parse_page(&resp, &self.api_base, what, prev.as_ref(), Utc::now())?;
        if matches!(q.kind, QueryKind::Notifications) {
            // The inbox of the token's user: each item names that user.
            for p in &mut page.posts {
                p.addressed_to_token_account = true;
            }
        }
        Ok(page)
    }

    /// One page of the followed threads: on the query's first poll every
    /// thread at once (what they hold is history), then one due thread a
    /// page, least recently read first.
    async fn fetch_threads(&self, cursor: Option<&str>) -> Result<Page, SourceError> {
        let now = self.http.now();
        let roots = self.roots.lock().unwrap().clone();
        let given = cursor.filter(|c| !c.trim().is_empty());
        let prev = given.and_then(ThreadsCursor::parse);
        if prev.is_none() {
            // The query's first poll: the daemon stores all of it as
            // history. A cursor that cannot be read (hand-edited) is read
            // afresh the same way, but what the threads already held is
            // not news and not returned.
            let afresh = given.is_some().then_some(now);
            if afresh.is_some() {
                tracing::warn!("unreadable Reddit threads cursor; reading every followed thread afresh");
            }
            let (mut posts, mut state) = (Vec::new(), Vec::new());
            for r in &roots {
                let (mut read, st) = self.read_thread(&r.platform_id, None, afresh, now).await?;
                posts.append(&mut read);
                state.push(st);
            }
            return Ok(Page { posts, cursor: ThreadsCursor { threads: state }.encode(), more: false });
        }
        // Threads no longer followed (older than follow_threads) drop out.
        let mut state: Vec<ThreadState> = prev.map_or_else(Vec::new, |p| p.threads);
        state.retain(|t| roots.iter().any(|r| r.platform_id == t.id));
        let every = self.every();
        let due: Vec<&ConversationRoot> = {
            let mut due: Vec<(&ConversationRoot, i64)> = roots
                .iter()
                .filter_map(|root| {
                    let last = state.iter().find(|t| t.id == root.platform_id);
                    let age = (now - root.created_at).to_std().unwrap_or(Duration::ZERO);
                    match last {
                        None => Some((root, i64::MIN)),
                        Some(t) if t.gone => None,
                        Some(t) => {
                            let next = t.read.saturating_add(thread_interval(age, every).as_secs() as i64);
                            (now.timestamp() >= next).then_some((root, t.read))
                        }
                    }
                })
                .collect();
            due.sort_by_key(|(_, read)| *read);
            due.into_iter().map(|(r, _)| r).collect()
        };
        let Some(root) = due.first() else {
            return Ok(Page { posts: Vec::new(), cursor: ThreadsCursor { threads: state }.encode(), more: false });
        };
        let id = &root.platform_id;
        let before = state.iter().position(|t| t.id == *id);
        let (posts, st) = self.read_thread(id, before.map(|i| &state[i]), root.history_seen_at, now).await?;
        match before {
            Some(i) => state[i] = st,
            None => state.push(st),
        }
        Ok(Page { posts, cursor: ThreadsCursor { threads: state }.encode(), more: due.len() > 1 })
    }

    /// Reads one thread: its tree, then the `more` children worth
    /// expanding. Returns the comments not read before `prev` (on a first
    /// read, none created before `history_before`) and the thread's new
    /// state.
    async fn read_thread(
        &self,
        id: &str,
        prev: Option<&ThreadState>,
        history_before: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(Vec<Post>, ThreadState), SourceError> {
        let short = &id[3..];
        let (limit, depth) = (THREAD_LIMIT.to_string(), THREAD_DEPTH.to_string());
        let params = [("sort", "new"), ("limit", limit.as_str()), ("depth", depth.as_str()), ("raw_json", "1")];
        let resp = match self.get(&["comments", short], &params, Endpoint::Thread).await {
            Ok(resp) => resp,
            Err(Gone(why)) => {
                tracing::info!(thread = %id, "{why}; no longer following this Reddit thread");
                let mut st = prev.cloned().unwrap_or_else(|| ThreadState::new(id));
                st.read = now.timestamp();
                st.gone = true;
                return Ok((Vec::new(), st));
            }
            Err(Failed(e)) => return Err(e),
        };
        let tree = parse_thread(&resp, &self.api_base)?;
        let mut things = tree.comments;
        let mut known: std::collections::HashSet<String> = things.iter().map(|t| t.name.clone()).collect();
        let top = prev.map(|p| p.top.as_str()).filter(|t| !t.is_empty());
        let worth = |child: &str, known: &std::collections::HashSet<String>| {
            !known.contains(&format!("t1_{child}")) && top.is_none_or(|top| id36_cmp(child, top) == std::cmp::Ordering::Greater)
        };
        // Newest (highest id) first: what a capped read leaves out is the oldest.
        let newest_first = |v: &mut Vec<String>| {
            v.sort_by(|a, b| id36_cmp(b, a));
            v.dedup();
        };
        let mut pending: Vec<String> = tree.more.iter().filter(|c| worth(c, &known)).cloned().collect();
        newest_first(&mut pending);
        // Deep branches ("continue this thread") are read on every read,
        // once each: nothing tells whether one grew.
        let mut deeper = tree.deeper;
        let mut visited: Vec<String> = Vec::new();
        let mut calls = 0;
        while !pending.is_empty() || !deeper.is_empty() {
            if calls == MAX_MORE_CALLS {
                tracing::warn!(thread = %id, left = pending.len() + deeper.len(), "Reddit thread too long to expand whole; its oldest folded comments are not read");
                break;
            }
            calls += 1;
            let (found, batch) = if !pending.is_empty() {
                let batch: Vec<String> = pending.drain(..pending.len().min(MORE_BATCH)).collect();
                let children = batch.join(",");
                let params =
                    [("api_type", "json"), ("link_id", id), ("children", children.as_str()), ("sort", "new"), ("limit_children", "false"), ("raw_json", "1")];
                match self.get(&["api", "morechildren"], &params, Endpoint::Thread).await {
                    Ok(resp) => (parse_more_children(&resp, &self.api_base)?, batch),
                    // The post went away between the two requests.
                    Err(Gone(_)) => break,
                    Err(Failed(e)) => return Err(e),
                }
            } else {
                let parent = deeper.remove(0);
                visited.push(parent.clone());
                match self.get(&["comments", short, "_", &parent], &params, Endpoint::Thread).await {
                    Ok(resp) => (parse_thread(&resp, &self.api_base)?, Vec::new()),
                    // That comment was deleted meanwhile.
                    Err(Gone(_)) => continue,
                    Err(Failed(e)) => return Err(e),
                }
            };
            for t in found.comments {
                if known.insert(t.name.clone()) {
                    things.push(t);
                }
            }
            pending.extend(found.more.into_iter().filter(|c| worth(c, &known) && !batch.contains(c)));
            newest_first(&mut pending);
            for d in found.deeper {
                if !visited.contains(&d) && !deeper.contains(&d) {
                    deeper.push(d);
                }
            }
        }
        let (kept, st) = advance_thread(id, prev, &things, history_before.map(|t| t.timestamp()), now);
        // A reply to a comment answers that comment's author (a customer
        // answering the brand's reply is a mention of the brand again).
        let authors: std::collections::HashMap<&str, &str> =
            things.iter().filter_map(|t| t.data.as_ref().map(|d| (t.name.as_str(), d.author.as_str()))).collect();
        let parent_authors: Vec<Option<String>> =
            things.iter().map(|t| t.data.as_ref().and_then(|d| d.parent_id.as_deref()).and_then(|p| authors.get(p)).map(|a| a.to_string())).collect();
        let posts = kept
            .into_iter()
            .filter_map(|i| {
                let mut t = things[i].clone();
                // A tree's comments do not name the post's author: the
                // post does (a reply to the post answers its author).
                if let Some(d) = t.data.as_mut() {
                    d.parent_author = parent_authors[i].clone();
                    if d.link_author.is_none() {
                        d.link_author = tree.post_author.clone();
                    }
                    if d.link_id.is_none() {
                        d.link_id = Some(id.to_string());
                    }
                }
                t.to_post()
            })
            .collect();
        Ok((posts, st))
    }

    /// GETs a listing with the app token, renewing the token once if the
    /// API refuses it (it expired or was revoked early). Returns the 2xx
    /// response, for [`parse_page`].
    async fn listing(&self, segments: &[&str], params: &[(&str, &str)], endpoint: Endpoint<'_>) -> Result<Response, SourceError> {
        match self.get(segments, params, endpoint).await {
            Ok(resp) => Ok(resp),
            Err(Gone(why)) => Err(SourceError::Malformed(format!("reddit: {why}"))),
            Err(Failed(e)) => Err(e),
        }
    }

    /// GET with the token, renewing it once if refused; a thread that is
    /// no longer there (403/404) is [`Gone`].
    async fn get(&self, segments: &[&str], params: &[(&str, &str)], endpoint: Endpoint<'_>) -> Result<Response, GetError> {
        let url = self.url(segments).map_err(Failed)?;
        let mut renewed = false;
        loop {
            self.pace().await;
            let token = self.token().await.map_err(Failed)?;
            let req = self
                .http
                .client()
                .get(url.clone())
                .query(params)
                .header(USER_AGENT, &self.user_agent)
                .header(AUTHORIZATION, format!("bearer {}", token.expose()))
                .header("accept", "application/json");
            let resp = self.http.exchange(req).await.map_err(Failed)?;
            self.note_rate(&resp.rate);
            match (resp.status.as_u16(), endpoint) {
                (200..=299, _) => return Ok(resp),
                (401, _) if !renewed => {
                    tracing::debug!("Reddit refused the token; requesting a new one");
                    *self.token.lock().unwrap() = None;
                    renewed = true;
                }
                (status @ (403 | 404), Endpoint::Thread) => return Err(Gone(format!("Reddit answered {} for {}", reason(status, &resp), url.path()))),
                // A private or banned subreddit is not a credentials
                // problem: the other queries keep working.
                (status @ (403 | 404), Endpoint::Subreddits { names }) => {
                    return Err(Failed(SourceError::Malformed(format!(
                        "Reddit refused to list the comments of r/{names} ({}): check [source.reddit] subreddits (a private, banned or misspelt subreddit cannot be read)",
                        reason(status, &resp)
                    ))))
                }
                (status @ (401 | 403), _) => return Err(Failed(self.unauthorized(status, &resp, endpoint))),
                (404, _) => {
                    return Err(Failed(match endpoint {
                        Endpoint::Account { account, brand } => {
                            SourceError::Malformed(format!("reddit user {account} not found (404): check [brand.accounts] reddit of brand {brand}"))
                        }
                        _ => SourceError::Malformed(format!("reddit: {} has no {} (404): check [source.reddit] api_base", self.api_base, url.path())),
                    }))
                }
                _ => return Err(Failed(status_error(&self.http, resp))),
            }
        }
    }

    fn unauthorized(&self, status: u16, resp: &Response, endpoint: Endpoint<'_>) -> SourceError {
        let why = reason(status, resp);
        // A refused user listing is about the brand's account, whatever the token.
        let user_token = !matches!(self.auth.grant, Grant::App);
        if user_token && !matches!(endpoint, Endpoint::Account { .. }) {
            return SourceError::Unauthorized(match endpoint {
                Endpoint::Mentions => format!(
                    "Reddit refused to read the username mentions of the brand's user ({why}); check [source.reddit] {} (the token \
                     needs the privatemessages scope)",
                    self.auth.keys
                ),
                _ => format!(
                    "Reddit refused the user token ({why}); check [source.reddit] {}, client_id and client_secret, and that \
                     user_agent is descriptive and unique",
                    self.auth.keys
                ),
            });
        }
        SourceError::Unauthorized(match endpoint {
            Endpoint::Search => format!(
                "Reddit refused the app token ({why}); check [source.reddit] client_id_env/client_id_file and \
                 client_secret_env/client_secret_file (a \"web app\" or \"script\" app), and that user_agent is \
                 descriptive and unique (Reddit blocks generic ones)"
            ),
            Endpoint::Account { account, brand } => format!(
                "Reddit refused to list the comments of u/{account} ({why}); check [brand.accounts] reddit of brand \
                 {brand} (a suspended or private account cannot be read), then [source.reddit] client_id/client_secret \
                 and user_agent"
            ),
            Endpoint::Mentions => format!(
                "Reddit refused to read username mentions with an app-only token ({why}); give [source.reddit] \
                 username_env/password_env or refresh_token_env"
            ),
            Endpoint::Subreddits { .. } | Endpoint::Thread => format!(
                "Reddit refused the app token ({why}); check [source.reddit] client_id_env/client_id_file and \
                 client_secret_env/client_secret_file, and that user_agent is descriptive and unique"
            ),
        })
    }

    /// The cached app token, or a new one from `token_url`.
    async fn token(&self) -> Result<Secret, SourceError> {
        if let Some(t) = self.token.lock().unwrap().as_ref().filter(|t| t.fresh(Instant::now())) {
            return Ok(t.value.clone());
        }
        let req = self
            .token_http
            .client()
            .post(&self.token_url)
            .basic_auth(self.client_id.expose(), Some(self.client_secret.expose()))
            .header(USER_AGENT, &self.user_agent)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(self.grant_body());
        let resp = self.token_http.exchange(req).await?;
        let app_fix = "check [source.reddit] client_id_env/client_id_file and client_secret_env/client_secret_file \
                   (the app must be a \"web app\" or \"script\", which have a secret) and token_url";
        let fix = match &self.auth.grant {
            Grant::App => app_fix.to_string(),
            Grant::Password { .. } => format!(
                "check [source.reddit] {} (the password grant works for a \"script\" app and the users listed as its \
                 developers), then client_id and client_secret",
                self.auth.keys
            ),
            Grant::Refresh(_) => format!(
                "check [source.reddit] {} (a refresh token from an authorization with duration=permanent, for this \
                 client_id; it may have been revoked or have expired), then client_id and client_secret",
                self.auth.keys
            ),
        };
        let what = if matches!(self.auth.grant, Grant::App) { "the client credentials" } else { "the brand user's credentials" };
        match resp.status.as_u16() {
            200..=299 => {}
            status @ (400 | 401 | 403) => return Err(SourceError::Unauthorized(format!("Reddit refused {what} ({}); {fix}", reason(status, &resp)))),
            _ => return Err(status_error(&self.token_http, resp)),
        }
        if is_html(&resp) {
            return Err(SourceError::Malformed(format!(
                "reddit token endpoint {} answered an HTML page instead of JSON: {}",
                self.token_url,
                truncate_body(&resp.body)
            )));
        }
        let body: TokenResponse = resp.json("reddit access token")?;
        let Some(access) = body.access_token.filter(|t| !t.is_empty()) else {
            // OAuth errors come back as 200 with `error` (e.g. unsupported_grant_type).
            let error = body.error.map(|e| e.to_string()).unwrap_or_else(|| "no access_token".into());
            return Err(SourceError::Unauthorized(format!("Reddit gave no access token ({error}); {fix}")));
        };
        if let Some(kind) = body.token_type.as_deref().filter(|t| !t.eq_ignore_ascii_case("bearer")) {
            return Err(SourceError::Malformed(format!("reddit access token: token_type {kind:?} is not \"bearer\"")));
        }
        if let (Grant::Refresh(current), Some(next)) = (&self.auth.grant, body.refresh_token.filter(|t| !t.is_empty())) {
            // Rotation: the next refresh must use the new one. It lives in
            // memory only: after a restart the configured one is used again.
            *current.lock().unwrap() = Secret::new(next);
        }
        let value = Secret::new(access);
        *self.token.lock().unwrap() = Some(Token::new(value.clone(), body.expires_in, Instant::now()));
        Ok(value)
    }

    /// The token request's form body for this source's grant.
    fn grant_body(&self) -> String {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        match &self.auth.grant {
            Grant::App => form.append_pair("grant_type", "client_credentials"),
            Grant::Password { username, password } => {
                form.append_pair("grant_type", "password").append_pair("username", &account_name(username.expose())).append_pair("password", password.expose())
            }
            Grant::Refresh(token) => form.append_pair("grant_type", "refresh_token").append_pair("refresh_token", token.lock().unwrap().expose()),
        };
        form.finish()
    }

    /// Waits while the last response said the window is (almost) spent.
    async fn pace(&self) {
        let until = *self.pause_until.lock().unwrap();
        if let Some(wait) = until.and_then(|u| (u - self.http.now()).to_std().ok()) {
            tracing::debug!(wait = ?wait, "Reddit rate-limit window nearly spent; waiting for its reset");
            tokio::time::sleep(wait).await;
        }
    }

    fn note_rate(&self, rate: &RateLimit) {
        *self.pause_until.lock().unwrap() = pause_until(rate);
    }

    /// `api_base` plus path segments (escaped), keeping any path prefix of
    /// `api_base` (a proxy).
    fn url(&self, segments: &[&str]) -> Result<Url, SourceError> {
        let mut url = Url::parse(&self.api_base).map_err(|_| SourceError::Malformed(format!("reddit: api_base {:?} is not a URL", self.api_base)))?;
        url.path_segments_mut()
            .map_err(|_| SourceError::Malformed(format!("reddit: api_base {:?} cannot take a path", self.api_base)))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }
}

/// When to stop sending: at the reset, if fewer than [`RESERVE`] requests
/// remain in the window.
pub fn pause_until(rate: &RateLimit) -> Option<DateTime<Utc>> {
    match rate.remaining {
        Some(r) if r < RESERVE => rate.reset,
        _ => None,
    }
}

/// The interval that keeps `queries` single-page polls within
/// [`PLANNED_PER_MINUTE`].
pub fn min_interval(queries: usize) -> Duration {
    Duration::from_secs((queries as u64 * 60).div_ceil(PLANNED_PER_MINUTE))
}

/// A 2xx listing as the page [`RedditSource::fetch`] returns: the items
/// not read before `prev`, the cursor and whether to read on. Reddit
/// sometimes answers a throttled request with 200 and its error JSON, so
/// the body decides. `api_base` names the server in messages. Public for
/// the fuzz target.
pub fn parse_page(resp: &Response, api_base: &str, what: &str, prev: Option<&Cursor>, now: DateTime<Utc>) -> Result<Page, SourceError> {
    check_body(resp, api_base, what)?;
    let listing: Listing = resp.json(what)?;
    let things = things(listing.data.children, what);
    let (kept, cursor, more) = advance(prev, &things, listing.data.after, now);
    let posts = kept.into_iter().filter_map(|i| things[i].to_post()).collect();
    Ok(Page { posts, cursor: cursor.encode(), more })
}

/// An HTML page or Reddit's error JSON where a 2xx body should be.
fn check_body(resp: &Response, api_base: &str, what: &str) -> Result<(), SourceError> {
    if is_html(resp) {
        return Err(SourceError::Malformed(format!("{what}: {api_base} answered an HTML page instead of JSON: {}", truncate_body(&resp.body))));
    }
    if let Ok(e) = serde_json::from_slice::<ErrorBody>(&resp.body) {
        return Err(match e.error {
            429 => SourceError::RateLimited { until: resp.rate.retry_after.or(resp.rate.reset) },
            code @ (401 | 403) => SourceError::Unauthorized(format!(
                "{what}: Reddit refused the request ({code} {}); check [source.reddit] client_id_env/client_id_file, \
                 client_secret_env/client_secret_file and user_agent",
                e.message
            )),
            code if code >= 500 => SourceError::Transient(format!("{what}: Reddit error {code} {}", e.message)),
            code => SourceError::Malformed(format!("{what}: Reddit error {code} {}", e.message)),
        });
    }
    Ok(())
}

/// What a thread request or a `/api/morechildren` answer held: its
/// comments (flattened), the ID36s of the `more` stubs' children, and the
/// post's author.
#[derive(Debug, Default)]
pub struct Tree {
    pub comments: Vec<Thing>,
    pub more: Vec<String>,
    /// ID36s of the comments whose replies go deeper than the tree
    /// ("continue this thread"): read with `/comments/<post>/_/<id>`.
    pub deeper: Vec<String>,
    pub post_author: Option<String>,
}

/// `GET /comments/<post>`: `[<listing of the post>, <comment tree>]`, each
/// comment's `replies` either `""` or a listing. Public for the fuzz target.
pub fn parse_thread(resp: &Response, api_base: &str) -> Result<Tree, SourceError> {
    let what = "reddit thread";
    check_body(resp, api_base, what)?;
    let parts: Vec<Listing> = resp.json(what)?;
    let [post, comments]: [Listing; 2] =
        parts.try_into().map_err(|p: Vec<Listing>| SourceError::Malformed(format!("{what}: expected the post and its comments, got {} listings", p.len())))?;
    let post_author = post
        .data
        .children
        .first()
        .and_then(|c| c.pointer("/data/author"))
        .and_then(|a| a.as_str())
        .filter(|a| !matches!(*a, "[deleted]" | "[removed]" | ""))
        .map(str::to_lowercase);
    let mut tree = Tree { post_author, ..Tree::default() };
    walk(comments.data.children, &mut tree, what);
    Ok(tree)
}

/// `/api/morechildren`: `{"json": {"errors": [], "data": {"things": [...]}}}`,
/// a flat list of comments and further `more` stubs.
pub fn parse_more_children(resp: &Response, api_base: &str) -> Result<Tree, SourceError> {
    let what = "reddit morechildren";
    check_body(resp, api_base, what)?;
    let body: MoreChildren = resp.json(what)?;
    if !body.json.errors.is_empty() {
        return Err(SourceError::Malformed(format!("{what}: Reddit answered errors {}", serde_json::Value::Array(body.json.errors))));
    }
    let mut tree = Tree::default();
    walk(body.json.data.map(|d| d.things).unwrap_or_default(), &mut tree, what);
    Ok(tree)
}

/// Flattens comment listings (and the listings in their `replies`) into
/// `tree`, without recursion (a hostile nesting cannot exhaust the stack).
fn walk(children: Vec<serde_json::Value>, tree: &mut Tree, what: &str) {
    let mut stack: Vec<serde_json::Value> = children.into_iter().rev().collect();
    while let Some(mut child) = stack.pop() {
        match child.get("kind").and_then(|k| k.as_str()) {
            Some("more") => {
                let ids = child.pointer("/data/children").and_then(|c| c.as_array()).cloned().unwrap_or_default();
                let id36 = |i: &str| !i.is_empty() && i.len() <= 16 && i.bytes().all(|b| b.is_ascii_alphanumeric());
                if ids.is_empty() {
                    // `count` 0, id `_`, no children: "continue this thread",
                    // the parent's replies are deeper than the tree's depth.
                    let parent = child.pointer("/data/parent_id").and_then(|p| p.as_str()).and_then(|p| p.strip_prefix("t1_")).filter(|p| id36(p));
                    tree.deeper.extend(parent.map(str::to_string));
                }
                tree.more.extend(ids.iter().filter_map(|i| i.as_str()).filter(|i| id36(i)).map(str::to_string));
            }
            Some("t1") => {
                let replies = child.pointer_mut("/data/replies").map(serde_json::Value::take);
                if let Some(listing) = replies.and_then(|r| serde_json::from_value::<Listing>(r).ok()) {
                    stack.extend(listing.data.children.into_iter().rev());
                }
                tree.comments.extend(things(vec![child], what));
            }
            _ => {}
        }
    }
}

/// Where a thread was left: when it was read, the newest comment time
/// read, the highest comment ID36 read, and the fullnames read within
/// [`THREAD_OVERLAP_SECS`] of the newest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ThreadState {
    pub id: String,
    pub read: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest: Option<i64>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub top: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen: Vec<Seen>,
    /// The post is deleted or its subreddit private: not read again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gone: bool,
}

impl ThreadState {
    fn new(id: &str) -> ThreadState {
        ThreadState { id: id.to_string(), ..ThreadState::default() }
    }
}

/// The threads query's cursor: every followed thread's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ThreadsCursor {
    #[serde(default)]
    pub threads: Vec<ThreadState>,
}

impl ThreadsCursor {
    pub fn parse(s: &str) -> Option<ThreadsCursor> {
        serde_json::from_str(s.trim()).ok()
    }
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("cursor serializes")
    }
}

/// Which comments of a thread read are new since `prev` (their indexes),
/// and the thread's state after this read. A first read (no `prev`) of a
/// thread whose post was history keeps nothing created before
/// `history_before`: those comments are as old news as the post. Pure.
pub fn advance_thread(id: &str, prev: Option<&ThreadState>, comments: &[Thing], history_before: Option<i64>, now: DateTime<Utc>) -> (Vec<usize>, ThreadState) {
    let floor = match prev {
        Some(p) => p.newest.map(|n| n.saturating_sub(THREAD_OVERLAP_SECS)),
        None => history_before,
    };
    let knows = |name: &str| prev.is_some_and(|p| p.seen.iter().any(|s| s.0 == name));
    let mut kept = Vec::new();
    for (i, t) in comments.iter().enumerate() {
        if floor.is_none_or(|f| t.created >= f) && !knows(&t.name) && !kept.iter().any(|&k: &usize| comments[k].name == t.name) {
            kept.push(i);
        }
    }
    let newest = comments.iter().map(|t| t.created).chain(prev.and_then(|p| p.newest)).max();
    let mut top = prev.map(|p| p.top.clone()).unwrap_or_default();
    for t in comments {
        let id36 = t.name.strip_prefix("t1_").unwrap_or(&t.name);
        if top.is_empty() || id36_cmp(id36, &top) == std::cmp::Ordering::Greater {
            top = id36.to_string();
        }
    }
    let mut seen: Vec<Seen> = Vec::new();
    if let Some(n) = newest {
        let recent = comments.iter().map(|t| Seen(t.name.clone(), t.created)).chain(prev.map(|p| p.seen.clone()).unwrap_or_default());
        for s in recent {
            if s.1 >= n.saturating_sub(THREAD_OVERLAP_SECS) && !seen.iter().any(|a| a.0 == s.0) {
                seen.push(s);
            }
        }
    }
    seen.sort_by_key(|s| std::cmp::Reverse(s.1));
    seen.truncate(MAX_SEEN);
    (kept, ThreadState { id: id.to_string(), read: now.timestamp(), newest, top, seen, gone: false })
}

/// Orders Reddit ID36s (`k3yrfii`) by value: a longer id is larger, then
/// digits before letters, as ASCII has them.
pub fn id36_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    a.len().cmp(&b.len()).then_with(|| a.to_ascii_lowercase().cmp(&b.to_ascii_lowercase()))
}

/// How long a thread waits between reads, by the age of its post: a new
/// thread on every poll, then less often as it ages (most comments come
/// in the first hours). Never more often than `every`.
pub fn thread_interval(age: Duration, every: Duration) -> Duration {
    const HOUR: u64 = 3600;
    let step = match age.as_secs() {
        s if s < HOUR => Duration::ZERO,
        s if s < 6 * HOUR => Duration::from_secs(5 * 60),
        s if s < 24 * HOUR => Duration::from_secs(15 * 60),
        _ => Duration::from_secs(30 * 60),
    };
    step.max(every)
}

/// Why a GET gave no response to read.
enum GetError {
    /// The thread is no longer readable (deleted post, private subreddit).
    Gone(String),
    Failed(SourceError),
}
use GetError::{Failed, Gone};

fn is_html(resp: &Response) -> bool {
    let html_type = resp.headers.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"));
    html_type || resp.body.trim_ascii_start().starts_with(b"<")
}

/// `401 Unauthorized` from Reddit's `{"message", "error"}` body, or the
/// status and a truncated body.
fn reason(status: u16, resp: &Response) -> String {
    match serde_json::from_slice::<ErrorBody>(&resp.body) {
        Ok(e) => format!("{status} {}", e.message),
        Err(_) => match serde_json::from_slice::<serde_json::Value>(&resp.body).ok().and_then(|v| v.get("error").cloned()) {
            Some(e) => format!("{status} {e}"),
            None => format!("{status} {}", truncate_body(&resp.body)),
        },
    }
}

/// The shared status mapping for a response already known not to be 2xx.
fn status_error(http: &Http, resp: Response) -> SourceError {
    let status = resp.status;
    match http.check(resp) {
        Err(e) => e,
        Ok(_) => SourceError::Malformed(format!("reddit: unexpected status {status}")),
    }
}

/// One search query per brand with terms (`reddit:search:<brand>`), and one
/// read of the brand user's comments per brand with a Reddit account
/// (`reddit:account:<brand>`).
pub fn build_queries(brands: &[Brand]) -> Vec<Query> {
    let mut out = Vec::new();
    for brand in brands {
        let account = brand.accounts.reddit.as_deref().map(account_name).filter(|a| !a.is_empty());
        if let Some(built) = build_search(&brand.terms, account.as_deref()) {
            if !built.dropped.is_empty() {
                tracing::warn!(
                    brand = %brand.id,
                    dropped = ?built.dropped,
                    "Reddit search query would exceed {MAX_QUERY_LEN} characters; these terms are not searched on Reddit"
                );
            }
            out.push(Query {
                key: format!("reddit:search:{}", brand.id),
                brands: vec![brand.id.clone()],
                exclusive: false,
                kind: QueryKind::Search { q: built.query },
            });
        }
        if let Some(account) = account {
            out.push(Query {
                key: format!("reddit:account:{}", brand.id),
                brands: vec![brand.id.clone()],
                exclusive: false,
                kind: QueryKind::AccountActivity { account },
            });
        }
    }
    out
}

/// The comment queries: the configured subreddits' new comments
/// (`reddit:subreddits:<a+b>`, in groups of [`SUBREDDITS_PER_QUERY`]), the
/// brand user's username mentions (`reddit:mentions`), and the threads of
/// matched posts (`reddit:threads`, last: in a round it follows what the
/// search before it just stored).
pub fn build_comment_queries(cfg: &crate::config::RedditSource, brands: &[Brand]) -> Vec<Query> {
    let all: Vec<String> = brands.iter().map(|b| b.id.clone()).collect();
    let mut out = Vec::new();
    for group in cfg.subreddits.chunks(SUBREDDITS_PER_QUERY) {
        let mut names = group.to_vec();
        names.sort();
        out.push(Query {
            key: format!("reddit:subreddits:{}", names.join("+")),
            brands: all.clone(),
            exclusive: false,
            kind: QueryKind::Communities { names },
        });
    }
    if let Some(user) = &cfg.user {
        out.push(Query { key: "reddit:mentions".into(), brands: user.brands.clone(), exclusive: false, kind: QueryKind::Notifications });
    }
    if !cfg.follow_threads.is_zero() && !all.is_empty() {
        out.push(Query { key: "reddit:threads".into(), brands: all, exclusive: false, kind: QueryKind::Threads });
    }
    out
}

/// Subreddits joined into one `/r/a+b+.../comments` request: Reddit reads
/// a multireddit of any size, but a URL stays short.
pub const SUBREDDITS_PER_QUERY: usize = 25;

/// A configured user name without `/u/`, `u/` or `@`.
pub fn account_name(s: &str) -> String {
    let s = s.trim();
    let s = s.strip_prefix("/u/").or_else(|| s.strip_prefix("u/")).unwrap_or(s);
    s.trim_start_matches('@').to_string()
}

/// The search string for a brand, and the terms that did not fit.
#[derive(Debug, Clone, PartialEq)]
pub struct BuiltQuery {
    pub query: String,
    pub dropped: Vec<String>,
}

/// `account OR term OR "two words"` under [`MAX_QUERY_LEN`]; None with
/// nothing to search. The brand's user name is searched too (posts that
/// write `u/<name>` mention the brand even without a term) and goes first,
/// so it is never the clause cut.
pub fn build_search(terms: &[String], account: Option<&str>) -> Option<BuiltQuery> {
    let mut clauses: Vec<String> = Vec::new();
    let mut dropped = Vec::new();
    for term in account.into_iter().chain(terms.iter().map(String::as_str)) {
        let cleaned: String = term.chars().filter(|c| *c != '"').collect();
        let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
        if cleaned.is_empty() || clauses.iter().any(|c| c.trim_matches('"').eq_ignore_ascii_case(&cleaned)) {
            continue;
        }
        let plain = cleaned.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-') && !matches!(cleaned.as_str(), "OR" | "AND" | "NOT");
        let clause = if plain { cleaned } else { format!("\"{cleaned}\"") };
        let len = clauses.iter().map(|c| c.chars().count() + 4).sum::<usize>() + clause.chars().count();
        if len > MAX_QUERY_LEN {
            dropped.push(term.to_string());
        } else {
            clauses.push(clause);
        }
    }
    (!clauses.is_empty()).then(|| BuiltQuery { query: clauses.join(" OR "), dropped })
}

/// What the store keeps between polls.
///
/// `newest` and `seen` describe the last complete poll: the newest
/// `created_utc` read, and the fullnames read within [`OVERLAP_SECS`] of it.
/// `after` and `reading` exist only between the pages of one poll: where to
/// continue, and what this poll already returned; a crash between pages
/// resumes there, and the poll's end folds `reading` into `seen`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen: Vec<Seen>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reading: Vec<Seen>,
}

/// A fullname and its `created_utc` (whole seconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Seen(pub String, pub i64);

impl Cursor {
    pub fn parse(s: &str) -> Option<Cursor> {
        serde_json::from_str(s.trim()).ok()
    }

    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("cursor serializes")
    }

    fn knows(&self, fullname: &str) -> bool {
        self.seen.iter().chain(&self.reading).any(|s| s.0 == fullname)
    }
}

/// Decides, for one page of a newest-first listing, which items are new
/// (their indexes), the cursor to persist and whether to read on.
/// `items` are `(fullname, created_utc)` in listing order; `after` is the
/// listing's `data.after`.
pub fn advance(prev: Option<&Cursor>, items: &[Thing], after: Option<String>, now: DateTime<Utc>) -> (Vec<usize>, Cursor, bool) {
    let Some(prev) = prev else {
        // First poll: the newest page is all history, never followed.
        let read: Vec<Seen> = items.iter().map(|t| Seen(t.name.clone(), t.created)).collect();
        let cursor = finish(None, Vec::new(), read, now);
        return ((0..items.len()).collect(), cursor, false);
    };
    let floor = prev.newest.map(|n| n.saturating_sub(OVERLAP_SECS));
    let mut kept = Vec::new();
    let mut read = Vec::new();
    let mut reached_floor = false;
    for (i, t) in items.iter().enumerate() {
        if floor.is_some_and(|f| t.created < f) {
            // Listings are newest-first: everything after this is older.
            reached_floor = true;
            break;
        }
        if !prev.knows(&t.name) && !read.iter().any(|s: &Seen| s.0 == t.name) {
            kept.push(i);
            read.push(Seen(t.name.clone(), t.created));
        }
    }
    let more = !reached_floor && !items.is_empty() && after.is_some();
    let mut reading = prev.reading.clone();
    reading.extend(read);
    if more {
        let cursor = Cursor { newest: prev.newest, seen: prev.seen.clone(), after, reading };
        return (kept, cursor, true);
    }
    (kept, finish(prev.newest, prev.seen.clone(), reading, now), false)
}

/// The cursor at the end of a poll: the newest time read (or the previous
/// one, or now when nothing was ever read, so that a query that starts
/// empty does not later take the whole listing for new), and the fullnames
/// inside the overlap window below it.
fn finish(newest: Option<i64>, seen: Vec<Seen>, read: Vec<Seen>, now: DateTime<Utc>) -> Cursor {
    let newest = read.iter().map(|s| s.1).chain(newest).max().unwrap_or_else(|| now.timestamp());
    let mut all: Vec<Seen> = Vec::new();
    for s in seen.into_iter().chain(read) {
        if s.1 >= newest.saturating_sub(OVERLAP_SECS) && !all.iter().any(|a| a.0 == s.0) {
            all.push(s);
        }
    }
    all.sort_by_key(|s| std::cmp::Reverse(s.1));
    all.truncate(MAX_SEEN);
    Cursor { newest: Some(newest), seen: all, after: None, reading: Vec::new() }
}

// ---- wire types (REFERENCE 4.2) ----

#[derive(Debug, Deserialize)]
struct Listing {
    data: ListingData,
}

#[derive(Debug, Deserialize)]
struct ListingData {
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    children: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct MoreChildren {
    json: MoreChildrenJson,
}

#[derive(Debug, Deserialize)]
struct MoreChildrenJson {
    #[serde(default)]
    errors: Vec<serde_json::Value>,
    #[serde(default)]
    data: Option<MoreChildrenData>,
}

#[derive(Debug, Deserialize)]
struct MoreChildrenData {
    #[serde(default)]
    things: Vec<serde_json::Value>,
}

/// Reddit's error JSON: `{"message": "Too Many Requests", "error": 429}`.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: String,
    error: u16,
}

#[derive(Debug, Deserialize)]
struct TokenResponse {
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

/// A listing child's `data`, with the fields escucha reads (t1 comment or
/// t3 post).
#[derive(Debug, Clone, Deserialize)]
struct ThingData {
    name: String,
    created_utc: f64,
    #[serde(default)]
    author: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    selftext: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    permalink: String,
    #[serde(default)]
    parent_id: Option<String>,
    #[serde(default)]
    link_id: Option<String>,
    #[serde(default)]
    link_author: Option<String>,
    #[serde(default)]
    num_crossposts: Option<u64>,
    #[serde(default)]
    removed_by_category: Option<String>,
    /// `/message/mentions` items: the comment's permalink with
    /// `?context=3`, in place of `permalink` and `link_id`.
    #[serde(default)]
    context: Option<String>,
    /// The parent comment's author, where the thread read showed it.
    #[serde(skip)]
    parent_author: Option<String>,
}

/// One listing item: its fullname and time (all the cursor needs) and its
/// data when it could be read as a post or comment.
#[derive(Debug, Clone)]
pub struct Thing {
    pub name: String,
    pub created: i64,
    kind: String,
    data: Option<ThingData>,
}

impl Thing {
    /// A bare item for cursor tests.
    pub fn at(name: &str, created: i64) -> Thing {
        Thing { name: name.to_string(), created, kind: String::new(), data: None }
    }

    /// The item as a [`Post`]; None for what is not a post or comment, or
    /// was deleted or removed (nothing left to read or answer).
    fn to_post(&self) -> Option<Post> {
        let d = self.data.as_ref()?;
        let gone = |s: &str| matches!(s.trim(), "[deleted]" | "[removed]");
        if d.author.is_empty() || gone(&d.author) {
            return None;
        }
        let (text, in_reply_to_id, conversation_id, in_reply_to_author, reposts) = match self.kind.as_str() {
            "t3" => {
                let selftext = d.selftext.as_deref().unwrap_or_default().trim();
                if gone(selftext) || d.removed_by_category.is_some() {
                    return None;
                }
                let title = d.title.as_deref().unwrap_or_default().trim();
                let text = match (title.is_empty(), selftext.is_empty()) {
                    (_, true) => title.to_string(),
                    (true, false) => selftext.to_string(),
                    (false, false) => format!("{title}\n\n{selftext}"),
                };
                (text, None, Some(d.name.clone()), None, d.num_crossposts.unwrap_or(0))
            }
            "t1" => {
                let body = d.body.as_deref().unwrap_or_default().trim();
                if body.is_empty() || gone(body) {
                    return None;
                }
                // Replying to the post itself: its author is in the listing.
                let parent_author = d
                    .parent_id
                    .as_deref()
                    .filter(|p| p.starts_with("t3_"))
                    .and(d.link_author.as_deref())
                    .or(d.parent_author.as_deref())
                    .filter(|a| !gone(a))
                    .map(str::to_lowercase);
                // Username mentions have no link_id: the post is in `context`.
                let link_id = d.link_id.clone().or_else(|| d.context.as_deref().and_then(post_of_permalink));
                (body.to_string(), d.parent_id.clone(), link_id, parent_author, 0)
            }
            _ => return None,
        };
        let author = d.author.to_lowercase();
        Some(Post {
            platform: Platform::Reddit,
            platform_id: d.name.clone(),
            url: permalink_url(&d.permalink, d.context.as_deref()),
            // User names are permanent and unique on Reddit, and a listing
            // names a parent's author only by name (`link_author`), so the
            // name is the id that lets replies be matched to authors.
            author_id: author.clone(),
            author,
            author_followers: None,
            mentions: user_mentions(&text),
            text,
            lang: None,
            created_at: Utc.timestamp_opt(self.created, 0).single()?,
            in_reply_to_id,
            in_reply_to_author_id: in_reply_to_author.clone(),
            in_reply_to_author,
            conversation_id,
            reposts,
            addressed_to_token_account: false,
            rating: None,
        })
    }
}

/// A listing's children, each with its fullname and time; an item whose
/// data cannot be read is skipped with a warning (it has no time to place
/// it by).
fn things(children: Vec<serde_json::Value>, what: &str) -> Vec<Thing> {
    children
        .into_iter()
        .filter_map(|child| {
            let kind = child.get("kind").and_then(|k| k.as_str()).unwrap_or_default().to_string();
            let data = child.get("data").cloned().unwrap_or_default();
            match serde_json::from_value::<ThingData>(data) {
                Ok(d) if d.created_utc.is_finite() => Some(Thing { name: d.name.clone(), created: d.created_utc.floor() as i64, kind, data: Some(d) }),
                Ok(d) => {
                    tracing::warn!(name = %d.name, "{what}: skipping an item without a usable created_utc");
                    None
                }
                Err(e) => {
                    tracing::warn!(error = %e, "{what}: skipping an item that cannot be read");
                    None
                }
            }
        })
        .collect()
}

/// The public URL of a thing: its permalink, or a mention's `context`
/// without its query (`?context=3`).
fn permalink_url(permalink: &str, context: Option<&str>) -> String {
    let path = if permalink.is_empty() { context.unwrap_or_default().split(['?', '#']).next().unwrap_or_default() } else { permalink };
    if path.starts_with("http") {
        return path.to_string();
    }
    format!("https://www.reddit.com{path}")
}

/// `t3_<post>` from a permalink `/r/<sub>/comments/<post>/<slug>/<comment>/`.
fn post_of_permalink(path: &str) -> Option<String> {
    let mut parts = path.split('/');
    parts.by_ref().find(|p| *p == "comments")?;
    parts.next().filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric())).map(|p| format!("t3_{p}"))
}

/// `u/name` and `/u/name` mentions in Markdown text, lowercase.
pub fn user_mentions(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(pos) = text[i..].find("u/") {
        let at = i + pos;
        let before = if at == 0 { None } else { Some(bytes[at - 1]) };
        let boundary = match before {
            None => true,
            Some(b'/') => at < 2 || !bytes[at - 2].is_ascii_alphanumeric(),
            Some(b) => !(b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
        };
        let start = at + 2;
        let len = text[start..].bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-').count();
        if boundary && len >= 3 {
            let name = text[start..start + len].to_lowercase();
            if !out.contains(&name) {
                out.push(name);
            }
        }
        i = start + len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEARCH: &str = include_str!("../../tests/fixtures/reddit/search_t3_listing.json");
    const COMMENTS: &str = include_str!("../../tests/fixtures/reddit/comments_t1_listing.json");

    fn parse(body: &str) -> (Vec<Thing>, Option<String>) {
        let l: Listing = serde_json::from_str(body).unwrap();
        (things(l.data.children, "test"), l.data.after)
    }

    fn now() -> DateTime<Utc> {
        Utc.timestamp_opt(2_000_000_000, 0).unwrap()
    }

    #[test]
    fn the_recorded_search_listing_becomes_posts_with_title_and_selftext() {
        let (things, after) = parse(SEARCH);
        assert_eq!(after.as_deref(), Some("t3_1skbgrz"));
        let posts: Vec<Post> = things.iter().filter_map(Thing::to_post).collect();
        assert_eq!(posts.len(), 2);
        let p = &posts[0];
        assert_eq!(p.platform, Platform::Reddit);
        assert_eq!(p.platform_id, "t3_1sk894v");
        assert_eq!(p.url, "https://www.reddit.com/r/anime/comments/1sk894v/demon_slayer_infinity_castle_isnt_available_on/");
        assert_eq!(p.author, "elestria_ethereal");
        assert_eq!(p.author_id, "elestria_ethereal");
        assert_eq!(p.author_followers, None);
        assert!(p.text.starts_with("Demon Slayer Infinity Castle Isn’t Available"));
        assert!(p.text.contains("\n\nThis is ridiculous the movie made $800 million"));
        assert_eq!(p.created_at.timestamp(), 1_776_080_345);
        assert_eq!(p.in_reply_to_id, None);
        assert_eq!(p.conversation_id.as_deref(), Some("t3_1sk894v"));
        assert_eq!(p.reposts, 1);
        assert_eq!(posts[1].reposts, 0);
    }

    #[test]
    fn the_recorded_comments_listing_links_each_comment_to_its_parent_and_thread() {
        let (things, _) = parse(COMMENTS);
        let posts: Vec<Post> = things.iter().filter_map(Thing::to_post).collect();
        assert_eq!(posts.len(), 2);
        let c = &posts[0];
        assert_eq!(c.platform_id, "t1_k3yrfii");
        assert_eq!(c.text, "Did it work?");
        assert_eq!(c.author, "acceptable-bread-566");
        assert_eq!(c.in_reply_to_id.as_deref(), Some("t1_k3u4rtt"));
        assert_eq!(c.conversation_id.as_deref(), Some("t3_agi5zf"));
        // The parent is a comment: its author is not in the listing.
        assert_eq!(c.in_reply_to_author, None);
        assert_eq!(posts[1].mentions, vec!["vettedbot".to_string()]);
    }

    #[test]
    fn a_comment_on_the_post_itself_names_the_posts_author_as_the_one_answered() {
        let (mut things, _) = parse(COMMENTS);
        let d = things[0].data.as_mut().unwrap();
        d.parent_id = Some("t3_agi5zf".into());
        let post = things[0].to_post().unwrap();
        assert_eq!(post.in_reply_to_id.as_deref(), Some("t3_agi5zf"));
        assert_eq!(post.in_reply_to_author.as_deref(), Some("kmiller0112"));
        assert_eq!(post.in_reply_to_author_id.as_deref(), Some("kmiller0112"));
    }

    #[test]
    fn deleted_and_removed_items_are_skipped_but_still_move_the_cursor() {
        let body = r#"{"kind":"Listing","data":{"after":null,"children":[
            {"kind":"t1","data":{"name":"t1_a","created_utc":1000.0,"author":"x","body":"[deleted]","permalink":"/a"}},
            {"kind":"t1","data":{"name":"t1_b","created_utc":999.0,"author":"[deleted]","body":"hola","permalink":"/b"}},
            {"kind":"t3","data":{"name":"t3_c","created_utc":998.0,"author":"y","title":"t","selftext":"[removed]","permalink":"/c"}},
            {"kind":"t3","data":{"name":"t3_d","created_utc":997.0,"author":"y","title":"t","selftext":"","removed_by_category":"moderator","permalink":"/d"}},
            {"kind":"t3","data":{"name":"t3_e","created_utc":996.0,"author":"Y","title":"only a title","selftext":"","permalink":"/e"}},
            {"kind":"t1","data":{"name":"t1_f","author":"no time"}}]}}"#;
        let (things, _) = parse(body);
        assert_eq!(things.len(), 5, "the item without created_utc is dropped");
        let posts: Vec<Post> = things.iter().filter_map(Thing::to_post).collect();
        assert_eq!(posts.len(), 1);
        assert_eq!(posts[0].text, "only a title");
        assert_eq!(posts[0].author, "y");
        let (_, cursor, _) = advance(None, &things, None, now());
        assert_eq!(cursor.newest, Some(1000));
    }

    #[test]
    fn first_poll_keeps_the_newest_page_and_remembers_the_overlap_window() {
        let items = vec![Thing::at("t3_c", 5000), Thing::at("t3_b", 4500), Thing::at("t3_a", 4000)];
        let (kept, c, more) = advance(None, &items, Some("t3_a".into()), now());
        assert_eq!(kept, vec![0, 1, 2]);
        assert!(!more, "the first poll never pages back");
        assert_eq!(c.newest, Some(5000));
        assert_eq!(c.seen, vec![Seen("t3_c".into(), 5000), Seen("t3_b".into(), 4500)]);
        assert_eq!(c.after, None);
    }

    #[test]
    fn a_first_poll_with_nothing_starts_the_watermark_now() {
        let (kept, c, more) = advance(None, &[], None, now());
        assert!(kept.is_empty() && !more);
        assert_eq!(c.newest, Some(now().timestamp()));
    }

    #[test]
    fn later_polls_return_only_unseen_items_down_to_the_overlap_floor() {
        let prev = Cursor { newest: Some(5000), seen: vec![Seen("t3_c".into(), 5000)], ..Cursor::default() };
        let items = vec![
            Thing::at("t3_e", 6000),
            Thing::at("t3_c", 5000),
            // Reached the index late: older than the newest, but new to us.
            Thing::at("t3_late", 4700),
            Thing::at("t3_old", 4300),
            Thing::at("t3_older", 4200),
        ];
        let (kept, c, more) = advance(Some(&prev), &items, Some("t3_older".into()), now());
        assert_eq!(kept, vec![0, 2]);
        assert!(!more, "the floor 4400 was reached");
        assert_eq!(c.newest, Some(6000));
        assert_eq!(c.seen, vec![Seen("t3_e".into(), 6000)], "only fullnames within the overlap of the new newest");
    }

    #[test]
    fn pages_continue_after_the_last_fullname_and_the_poll_ends_at_the_floor() {
        let start = Cursor { newest: Some(1000), ..Cursor::default() };
        let page1 = vec![Thing::at("t3_z", 3000), Thing::at("t3_y", 2900)];
        let (kept, mid, more) = advance(Some(&start), &page1, Some("t3_y".into()), now());
        assert_eq!(kept, vec![0, 1]);
        assert!(more);
        assert_eq!(mid.after.as_deref(), Some("t3_y"));
        assert_eq!(mid.newest, Some(1000), "the watermark moves only when the poll ends");
        assert_eq!(mid.reading.len(), 2);

        // The round trip through the store, as after a restart.
        let mid = Cursor::parse(&mid.encode()).unwrap();
        let page2 = vec![Thing::at("t3_y", 2900), Thing::at("t3_x", 1200), Thing::at("t3_w", 300)];
        let (kept, end, more) = advance(Some(&mid), &page2, Some("t3_w".into()), now());
        assert_eq!(kept, vec![1], "t3_y was returned by the first page");
        assert!(!more);
        assert_eq!(end.newest, Some(3000));
        assert_eq!(end.after, None);
        assert!(end.reading.is_empty());
        assert_eq!(end.seen.iter().map(|s| s.0.as_str()).collect::<Vec<_>>(), vec!["t3_z", "t3_y"]);
    }

    #[test]
    fn the_end_of_the_listing_ends_the_poll() {
        let start = Cursor { newest: Some(1000), ..Cursor::default() };
        let (kept, c, more) = advance(Some(&start), &[Thing::at("t3_a", 2000)], None, now());
        assert_eq!(kept, vec![0]);
        assert!(!more);
        assert_eq!(c.newest, Some(2000));
        let (kept, c, more) = advance(Some(&c), &[], None, now());
        assert!(kept.is_empty() && !more);
        assert_eq!(c.newest, Some(2000), "an empty page keeps the watermark");
    }

    #[test]
    fn search_ors_terms_and_quotes_phrases_within_512_characters() {
        let t = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let q = build_search(&t(&["interjet", "Inter Jet", "INTERJET", "say \"hi\"", "o2.com", "OR"]), None).unwrap();
        assert_eq!(q.query, "interjet OR \"Inter Jet\" OR \"say hi\" OR \"o2.com\" OR \"OR\"");
        assert_eq!(build_search(&t(&["  ", "\"\""]), None), None);
        assert_eq!(build_search(&[], Some("Interjet_Care")).unwrap().query, "Interjet_Care");
        let many: Vec<String> = (0..100).map(|i| format!("longbrandterm{i:03}")).collect();
        let q = build_search(&many, Some("acme_care")).unwrap();
        assert!(q.query.chars().count() <= MAX_QUERY_LEN);
        assert!(q.query.starts_with("acme_care OR longbrandterm000"));
        assert_eq!(q.dropped.len() + q.query.matches(" OR ").count() + 1, 101);
    }

    #[test]
    fn queries_are_a_search_per_brand_with_terms_and_a_comment_read_per_brand_account() {
        let mut b = crate::matcher::tests_support::brand();
        b.accounts.reddit = Some("/u/Interjet_Care".into());
        let mut quiet = crate::matcher::tests_support::brand();
        quiet.id = "quiet".into();
        quiet.terms.clear();
        let qs = build_queries(&[b, quiet]);
        assert_eq!(qs.len(), 2, "the brand without terms or account has nothing to read");
        assert_eq!(qs[0].key, "reddit:search:interjet");
        assert_eq!(qs[0].kind, QueryKind::Search { q: "Interjet_Care OR interjet OR \"inter jet\"".into() });
        assert_eq!(qs[1].key, "reddit:account:interjet");
        assert_eq!(qs[1].kind, QueryKind::AccountActivity { account: "Interjet_Care".into() });
        assert!(qs.iter().all(|q| !q.exclusive && q.brands == vec!["interjet".to_string()]));
    }

    #[test]
    fn user_mentions_need_a_boundary_before_u() {
        assert_eq!(user_mentions("hey u/Interjet_Care and /u/other-one, menu/item"), vec!["interjet_care", "other-one"]);
        assert_eq!(user_mentions("see https://x.com/u/abc"), Vec::<String>::new());
        assert_eq!(user_mentions("u/ab"), Vec::<String>::new());
    }

    #[test]
    fn the_window_counts_as_spent_below_the_reserve() {
        let reset = Some(now() + chrono::Duration::seconds(42));
        let rate = |remaining: f64| RateLimit { remaining: Some(remaining), reset, ..RateLimit::default() };
        assert_eq!(pause_until(&rate(2.0)), reset);
        assert_eq!(pause_until(&rate(3.0)), None);
        assert_eq!(pause_until(&RateLimit::default()), None);
    }

    #[test]
    fn the_schedule_stretches_to_stay_under_the_published_limit() {
        assert_eq!(min_interval(2), Duration::from_secs(2));
        assert_eq!(min_interval(90), Duration::from_secs(90));
        assert_eq!(min_interval(0), Duration::ZERO);
    }

    #[test]
    fn a_token_is_renewed_before_it_expires() {
        let t0 = Instant::now();
        let t = Token::new(Secret::new("a"), Some(86_400), t0);
        assert!(t.fresh(t0 + Duration::from_secs(86_000)));
        assert!(!t.fresh(t0 + Duration::from_secs(86_341)));
        let short = Token::new(Secret::new("a"), Some(10), t0);
        assert!(short.fresh(t0 + Duration::from_secs(4)));
        assert!(!short.fresh(t0 + Duration::from_secs(5)));
    }

    #[test]
    fn the_throttled_200_body_is_recognised() {
        let e: ErrorBody = serde_json::from_str(include_str!("../../tests/fixtures/reddit/error_429.json")).unwrap();
        assert_eq!((e.error, e.message.as_str()), (429, "Too Many Requests"));
        assert!(serde_json::from_str::<ErrorBody>(SEARCH).is_err(), "a listing is not an error");
    }

    fn response(body: &str) -> Response {
        Response { status: reqwest::StatusCode::OK, headers: Default::default(), body: body.as_bytes().to_vec(), rate: RateLimit::default() }
    }

    #[test]
    fn a_thread_ages_into_longer_intervals_never_shorter_than_every() {
        let (m, h) = (60, 3600);
        let every = Duration::from_secs(60);
        // (age of the post in seconds, every, expected interval in seconds)
        let table: &[(u64, Duration, u64)] = &[
            (0, every, 60),
            (59 * m, every, 60),
            (h, every, 5 * m),
            (6 * h - 1, every, 5 * m),
            (6 * h, every, 15 * m),
            (24 * h - 1, every, 15 * m),
            (24 * h, every, 30 * m),
            (3 * 24 * h, every, 30 * m),
            // A slow `every` wins over a short step.
            (10 * m, Duration::from_secs(10 * m), 10 * m),
            (2 * h, Duration::from_secs(h), h),
        ];
        for &(age, every, want) in table {
            assert_eq!(thread_interval(Duration::from_secs(age), every), Duration::from_secs(want), "age {age} s, every {every:?}");
        }
    }

    /// The thread reads a followed post costs over `follow_threads`, by the
    /// schedule alone (BENCHMARKS.md, "Reddit comments").
    fn reads_over(follow: Duration, every: Duration) -> u64 {
        let (mut t, mut reads) = (Duration::ZERO, 0);
        while t < follow {
            reads += 1;
            t += thread_interval(t, every);
        }
        reads
    }

    #[test]
    fn a_thread_followed_for_three_days_costs_288_reads_at_every_1m() {
        let day = Duration::from_secs(86_400);
        // 60 in the first hour, 60 until 6 h, 72 until a day, 96 until 3 days.
        assert_eq!(reads_over(3 * day, Duration::from_secs(60)), 288);
        assert_eq!(reads_over(day, Duration::from_secs(60)), 192);
        assert_eq!(reads_over(3 * day, Duration::from_secs(300)), 12 + 60 + 72 + 96);
    }

    #[test]
    fn a_thread_tree_flattens_nested_replies_and_collects_more_children() {
        let body = r#"[
          {"kind":"Listing","data":{"children":[{"kind":"t3","data":{"name":"t3_p","created_utc":1.0,"author":"Carla_MX","title":"Interjet"}}]}},
          {"kind":"Listing","data":{"after":null,"children":[
            {"kind":"t1","data":{"name":"t1_b","created_utc":20.0,"author":"ana","body":"top","parent_id":"t3_p","link_id":"t3_p","permalink":"/r/s/comments/p/x/b/",
              "replies":{"kind":"Listing","data":{"children":[
                {"kind":"t1","data":{"name":"t1_c","created_utc":30.0,"author":"bob","body":"nested","parent_id":"t1_b","link_id":"t3_p","permalink":"/r/s/comments/p/x/c/","replies":""}},
                {"kind":"more","data":{"count":0,"name":"t1__","id":"_","parent_id":"t1_b","children":[]}}]}}}},
            {"kind":"t1","data":{"name":"t1_a","created_utc":10.0,"author":"[deleted]","body":"[deleted]","parent_id":"t3_p","replies":""}},
            {"kind":"more","data":{"count":2,"name":"t1_8","id":"8","parent_id":"t3_p","depth":0,"children":["8","9"]}}]}}]"#;
        let tree = parse_thread(&response(body), "api").unwrap();
        assert_eq!(tree.comments.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), vec!["t1_b", "t1_c", "t1_a"]);
        assert_eq!(tree.more, vec!["8", "9"]);
        assert_eq!(tree.deeper, vec!["b"], "\"continue this thread\" under t1_b: read from /comments/p/_/b");
        assert_eq!(tree.post_author.as_deref(), Some("carla_mx"));
        let posts: Vec<Post> = tree.comments.iter().filter_map(Thing::to_post).collect();
        assert_eq!(posts.len(), 2, "the deleted comment is skipped");
        assert_eq!(posts[1].url, "https://www.reddit.com/r/s/comments/p/x/c/");

        let bad = parse_thread(&response(r#"[{"kind":"Listing","data":{"children":[]}}]"#), "api").unwrap_err();
        assert!(matches!(bad, SourceError::Malformed(ref m) if m.contains("1 listings")), "{bad:?}");
        let throttled = parse_thread(&response(r#"{"message": "Too Many Requests", "error": 429}"#), "api").unwrap_err();
        assert!(matches!(throttled, SourceError::RateLimited { .. }), "{throttled:?}");
    }

    #[test]
    fn morechildren_answers_are_flat_things_and_errors_are_malformed() {
        let body = r#"{"json":{"errors":[],"data":{"things":[
            {"kind":"t1","data":{"name":"t1_8","created_utc":40.0,"author":"eva","body":"x","parent_id":"t1_b","link_id":"t3_p","replies":""}},
            {"kind":"more","data":{"count":1,"name":"t1_z","id":"z","parent_id":"t1_8","children":["z"]}}]}}}"#;
        let tree = parse_more_children(&response(body), "api").unwrap();
        assert_eq!((tree.comments.len(), tree.more.clone()), (1, vec!["z".to_string()]));
        let err = parse_more_children(&response(r#"{"json":{"errors":[["TOO_MANY","too many","children"]]}}"#), "api").unwrap_err();
        assert!(matches!(err, SourceError::Malformed(ref m) if m.contains("TOO_MANY")), "{err:?}");
        assert!(matches!(parse_more_children(&response("Bad Request"), "api"), Err(SourceError::Malformed(_))));
    }

    #[test]
    fn a_thread_read_returns_what_is_new_and_remembers_the_newest_and_highest() {
        let first = [Thing::at("t1_a", 100), Thing::at("t1_c", 300), Thing::at("t1_b", 200)];
        let (kept, st) = advance_thread("t3_p", None, &first, None, now());
        assert_eq!(kept, vec![0, 1, 2], "a first read returns everything");
        assert_eq!((st.newest, st.top.as_str(), st.read), (Some(300), "c", now().timestamp()));
        assert_eq!(st.seen, vec![Seen("t1_c".into(), 300)], "only what lies within the overlap of the newest");

        // Posted in the same second as the newest read: new. Older: not.
        let second = [Thing::at("t1_a", 100), Thing::at("t1_c", 300), Thing::at("t1_d", 300), Thing::at("t1_e", 280), Thing::at("t1_f", 400)];
        let (kept, st2) = advance_thread("t3_p", Some(&st), &second, None, now());
        assert_eq!(kept, vec![2, 3, 4], "t1_e is below the newest but within the overlap and unseen");
        assert_eq!((st2.newest, st2.top.as_str()), (Some(400), "f"));

        // An empty read keeps the state.
        let (kept, st3) = advance_thread("t3_p", Some(&st2), &[], None, now());
        assert!(kept.is_empty());
        assert_eq!((st3.newest, st3.top, st3.seen), (st2.newest, st2.top, st2.seen));
        // The first read of a thread under a post stored as history: only
        // what came after the post was seen, but the state covers it all.
        let (kept, st5) = advance_thread("t3_p", None, &first, Some(200), now());
        assert_eq!(kept, vec![1, 2]);
        assert_eq!(st5.newest, Some(300));
        // Base-36 ids compare by length first.
        let (_, st4) = advance_thread("t3_p", None, &[Thing::at("t1_zz", 1), Thing::at("t1_100", 2)], None, now());
        assert_eq!(st4.top, "100");
    }

    #[test]
    fn the_recorded_username_mentions_link_to_their_context_and_post() {
        let (things, after) = parse(include_str!("../../tests/fixtures/reddit/message_mentions.json"));
        assert_eq!(after.as_deref(), Some("t1_ekftage"));
        let posts: Vec<Post> = things.iter().filter_map(Thing::to_post).collect();
        assert_eq!(posts.len(), 2);
        let p = &posts[0];
        assert_eq!(p.platform_id, "t1_ekftbox");
        assert_eq!(p.url, "https://www.reddit.com/r/RemovedByBotter/comments/bb24k7/just_a_normal_girl_going_for_her_10th_class_exam/ekftbox/");
        assert_eq!(p.conversation_id.as_deref(), Some("t3_bb24k7"));
        assert_eq!(p.in_reply_to_id.as_deref(), Some("t3_bb24k7"));
        assert_eq!(p.author, "2botter2loop");
        assert_eq!(post_of_permalink("/r/a/comments/x1/"), Some("t3_x1".into()));
        assert_eq!(post_of_permalink("/message/messages/"), None);
    }

    #[test]
    fn an_item_dated_at_the_bottom_of_the_range_moves_the_cursor_without_overflowing() {
        let items = [Thing::at("t3_a", i64::MIN)];
        let (_, first, _) = advance(None, &items, None, now());
        assert_eq!(first.newest, Some(i64::MIN));
        let (kept, later, _) = advance(Some(&first), &[Thing::at("t3_b", i64::MIN)], None, now());
        assert_eq!(kept, vec![0]);
        assert_eq!(later.newest, Some(i64::MIN));
    }
}
