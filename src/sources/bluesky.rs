//! Bluesky (AT Protocol) source: an app-password session on the account's
//! PDS, `app.bsky.feed.searchPosts` for each brand's terms, mention and reply
//! notifications of the logged-in brand account, and each brand account's
//! own feed (its replies are how escucha learns a mention was answered),
//! turned into [`Post`]s keyed by AT-URI (REFERENCE.md section 3). It owns
//! no SQL and no alert logic.
//!
//! Cursors. Every list Bluesky gives us is newest first and pages towards
//! older items with an opaque cursor, so "newer than the last poll" is a
//! watermark we keep ourselves: the newest sort time seen (the earlier of
//! `record.createdAt` and `indexedAt`, as the AppView's `sortAt`), plus the
//! uris seen in the [`LOOKBACK`] before it. Each poll re-reads from
//! `watermark - LOOKBACK` (searchPosts: `since`; notifications and author
//! feeds: stop paging there) and drops uris already seen, so a post indexed
//! a little late is still read once and an unchanged window reads nothing.
//! Mid-poll the cursor also holds the platform's page cursor and what this
//! poll has seen so far; the watermark moves only after the last page, so a
//! crash between pages resumes the pagination without a gap.
//!
//! Search has no documented `OR` (palomar's syntax is words, quoted
//! phrases and `-`), so a brand's query sends one request per term and keeps
//! one watermark per term in its cursor.

use super::http::{parse_json, truncate_body, Http, Response};
use super::{Page, Query, QueryKind, SourceError};
use crate::config::{Brand, Secret};
use crate::model::{Platform, Post};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub mod jetstream;

/// Items per request: the maximum of searchPosts, listNotifications and
/// getAuthorFeed.
pub const LIMIT: usize = 100;
/// `app.bsky.actor.getProfiles` takes at most 25 actors.
pub const PROFILES_BATCH: usize = 25;
/// How long a follower count is trusted before it is read again.
pub const PROFILE_TTL: Duration = Duration::from_secs(3600);
/// How far before the watermark each poll reads again: search indexing and
/// federation deliver some posts after newer ones.
pub const LOOKBACK: chrono::Duration = chrono::Duration::minutes(5);
/// Seen uris kept in a cursor at most (newest first), so a viral burst
/// cannot grow the cursor without bound.
const MAX_SEEN: usize = 2000;
/// Notification reasons read: someone addressed the brand account.
const REASONS: [&str; 2] = ["mention", "reply"];

pub struct BlueskySource {
    http: Http,
    every: Duration,
    /// Without trailing slash.
    service: String,
    identifier: String,
    password: Secret,
    queries: Vec<Query>,
    /// The terms each search query sends, by query key.
    terms: HashMap<String, Vec<String>>,
    session: Mutex<Option<Session>>,
    profiles: Mutex<HashMap<String, Profile>>,
    /// `jetstream`, the base URL without trailing `/`.
    jetstream: Option<String>,
    /// The brands, to pick out of Jetstream what concerns them.
    matchers: Vec<crate::matcher::BrandMatcher>,
    /// The brands' Bluesky handles, normalized.
    brand_handles: Vec<String>,
    /// Their DIDs, once resolved: DID → handle.
    brand_dids: Mutex<HashMap<String, String>>,
}

#[derive(Clone)]
struct Session {
    access: Secret,
    refresh: Secret,
}

#[derive(Clone)]
struct Profile {
    handle: String,
    followers: Option<u64>,
    fetched: Instant,
}

impl BlueskySource {
    pub fn new(cfg: &crate::config::BlueskySource, brands: &[Brand]) -> BlueskySource {
        let (queries, terms) = build_queries(&cfg.identifier, brands);
        BlueskySource {
            http: Http::new("bluesky"),
            every: cfg.schedule.every,
            service: cfg.service.trim_end_matches('/').to_string(),
            identifier: cfg.identifier.trim().trim_start_matches('@').to_string(),
            password: cfg.app_password.clone(),
            queries,
            terms,
            session: Mutex::new(None),
            profiles: Mutex::new(HashMap::new()),
            jetstream: cfg.jetstream.clone(),
            matchers: brands.iter().map(|b| crate::matcher::BrandMatcher::new(b, Platform::Bluesky, None)).collect(),
            brand_handles: {
                let mut h: Vec<String> = brands.iter().filter_map(|b| b.accounts.bluesky.as_deref().map(handle)).filter(|h| !h.is_empty()).collect();
                h.sort();
                h.dedup();
                h
            },
            brand_dids: Mutex::new(HashMap::new()),
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

    /// One page of `q` (see the module docs for the cursor). `cursor` None
    /// is the query's first poll: the newest page only, `more = false`.
    pub async fn fetch(&self, q: &Query, cursor: Option<&str>) -> Result<Page, SourceError> {
        let now = Utc::now();
        match &q.kind {
            QueryKind::Search { .. } => {
                let terms = self.terms.get(&q.key).cloned().unwrap_or_default();
                self.fetch_search(q, &terms, cursor, now).await
            }
            QueryKind::Notifications => {
                let prev = parse_cursor::<Watch>(q, cursor);
                let mut params = vec![("limit", LIMIT.to_string())];
                params.extend(REASONS.iter().map(|r| ("reasons", r.to_string())));
                if let Some(page) = prev.as_ref().and_then(|w| w.page.clone()) {
                    params.push(("cursor", page));
                }
                let resp = self.get("app.bsky.notification.listNotifications", &params).await?;
                let (items, next) = parse_list(List::Notifications, &resp.body)?;
                self.finish(prev.as_ref(), items, next, now).await
            }
            QueryKind::AccountActivity { account } => {
                let prev = parse_cursor::<Watch>(q, cursor);
                let mut params = vec![("actor", account.clone()), ("filter", "posts_with_replies".to_string()), ("limit", LIMIT.to_string())];
                if let Some(page) = prev.as_ref().and_then(|w| w.page.clone()) {
                    params.push(("cursor", page));
                }
                let resp = self.get("app.bsky.feed.getAuthorFeed", &params).await.map_err(|e| match e {
                    SourceError::Malformed(m) if m.contains("400") && m.contains("InvalidRequest") => {
                        SourceError::Malformed(format!("{m}; check [brand.accounts] bluesky of brand {}", q.brands.first().map(String::as_str).unwrap_or("?")))
                    }
                    e => e,
                })?;
                let (items, next) = parse_list(List::AuthorFeed, &resp.body)?;
                self.finish(prev.as_ref(), items, next, now).await
            }
            _ => Err(SourceError::Malformed(format!("bluesky: query {} is not a Bluesky query", q.key))),
        }
    }

    /// Steps a list query's watermark over one page and completes its posts.
    async fn finish(&self, prev: Option<&Watch>, items: Vec<Item>, next: Option<String>, now: DateTime<Utc>) -> Result<Page, SourceError> {
        let (watch, mut posts, more) = Watch::step(prev, items, next, now);
        self.complete(&mut posts).await?;
        Ok(Page { posts, cursor: encode(&watch), more })
    }

    async fn fetch_search(&self, q: &Query, terms: &[String], cursor: Option<&str>, now: DateTime<Utc>) -> Result<Page, SourceError> {
        let prev = parse_cursor::<SearchCursor>(q, cursor);
        let mut next = SearchCursor::default();
        let mut posts: Vec<Post> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        // Mid-poll, only the terms with pages left are read; otherwise a new
        // poll reads every term.
        let mid_poll = prev.as_ref().is_some_and(|p| p.terms.values().any(|w| w.page.is_some()));
        let mut more = false;
        for term in terms {
            let watch = prev.as_ref().map(|p| p.terms.get(term).cloned());
            let watch = match watch {
                None => None,
                Some(Some(w)) => Some(w),
                // A term added since the last poll starts now: its past is
                // history this query never read, not new mentions.
                Some(None) => Some(Watch { newest: Some(now), ..Watch::default() }),
            };
            if mid_poll && watch.as_ref().is_none_or(|w| w.page.is_none()) {
                if let Some(w) = watch {
                    next.terms.insert(term.clone(), w);
                }
                continue;
            }
            let mut params = vec![("q", term_clause(term)), ("sort", "latest".to_string()), ("limit", LIMIT.to_string())];
            if let Some(w) = &watch {
                params.push(("since", rfc3339(w.threshold(now))));
                if let Some(page) = &w.page {
                    params.push(("cursor", page.clone()));
                }
            }
            let resp = self.get("app.bsky.feed.searchPosts", &params).await.map_err(|e| match e {
                SourceError::Malformed(m) if m.contains("BadQueryString") => {
                    SourceError::Malformed(format!("{m}; check the terms of brand {} (term {term:?})", q.brands.join(", ")))
                }
                e => e,
            })?;
            let (items, next_page) = parse_list(List::Search, &resp.body)?;
            let (w, page_posts, term_more) = Watch::step(watch.as_ref(), items, next_page, now);
            more |= term_more;
            next.terms.insert(term.clone(), w);
            posts.extend(page_posts.into_iter().filter(|p| seen.insert(p.platform_id.clone())));
        }
        self.complete(&mut posts).await?;
        Ok(Page { posts, cursor: encode(&next), more })
    }

    /// Fills in what the lists do not carry: follower counts (getProfiles,
    /// cached) and the handle of the account a post replies to.
    async fn complete(&self, posts: &mut [Post]) -> Result<(), SourceError> {
        let mut wanted: Vec<String> = Vec::new();
        for p in posts.iter() {
            for did in [Some(&p.author_id), p.in_reply_to_author_id.as_ref()].into_iter().flatten() {
                if !did.is_empty() && !wanted.contains(did) {
                    wanted.push(did.clone());
                }
            }
        }
        let profiles = self.profiles(&wanted).await?;
        for p in posts.iter_mut() {
            if let Some(profile) = profiles.get(&p.author_id) {
                p.author_followers = profile.followers;
            }
            if let Some(profile) = p.in_reply_to_author_id.as_ref().and_then(|did| profiles.get(did)) {
                p.in_reply_to_author = Some(profile.handle.to_lowercase());
            }
        }
        Ok(())
    }

    /// Profiles of these DIDs, from the cache or `getProfiles` in batches.
    /// A profile the platform does not return (deleted, taken down) is
    /// simply missing: the post keeps no follower count.
    async fn profiles(&self, dids: &[String]) -> Result<HashMap<String, Profile>, SourceError> {
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        {
            let cache = self.profiles.lock().unwrap();
            for did in dids {
                match cache.get(did) {
                    Some(p) if p.fetched.elapsed() < PROFILE_TTL => {
                        found.insert(did.clone(), p.clone());
                    }
                    _ => missing.push(did.clone()),
                }
            }
        }
        for batch in missing.chunks(PROFILES_BATCH) {
            let params: Vec<(&str, String)> = batch.iter().map(|d| ("actors", d.clone())).collect();
            let resp = match self.get("app.bsky.actor.getProfiles", &params).await {
                Ok(resp) => resp,
                // Reach only refines the class; a profile service that
                // answers nonsense must not hold back the mentions.
                Err(SourceError::Malformed(m)) => {
                    tracing::warn!(error = %m, "bluesky getProfiles failed; these posts have no follower count");
                    continue;
                }
                Err(e) => return Err(e),
            };
            let body: Profiles = match resp.json("bluesky getProfiles") {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "bluesky getProfiles unreadable; these posts have no follower count");
                    continue;
                }
            };
            let mut cache = self.profiles.lock().unwrap();
            // Entries of long-gone authors would otherwise stay forever.
            cache.retain(|_, p| p.fetched.elapsed() < PROFILE_TTL);
            for p in body.profiles {
                let profile = Profile { handle: p.handle, followers: p.followers_count, fetched: Instant::now() };
                cache.insert(p.did.clone(), profile.clone());
                found.insert(p.did, profile);
            }
        }
        Ok(found)
    }

    // ---- session and requests ----

    fn url(&self, method: &str) -> String {
        format!("{}/xrpc/{method}", self.service)
    }

    /// A GET to the PDS with the session's access token. An expired token
    /// is refreshed (or the session created again) and the request sent
    /// once more; a refusal that survives a fresh session is `Unauthorized`.
    async fn get(&self, method: &str, params: &[(&str, String)]) -> Result<Response, SourceError> {
        let mut session = self.session().await?;
        let mut renewed = false;
        loop {
            let req = self.http.client().get(self.url(method)).query(params).bearer_auth(session.access.expose());
            let resp = self.http.exchange(req).await?;
            let status = resp.status.as_u16();
            if !renewed && matches!(status, 400 | 401) {
                let err = XrpcError::read(&resp);
                if err.is_expired() {
                    session = self.renew(&session).await?;
                    renewed = true;
                    continue;
                }
                if status == 401 {
                    // Revoked or unknown to this PDS: one fresh login decides.
                    session = self.login().await?;
                    renewed = true;
                    continue;
                }
            }
            return self.check(method, resp);
        }
    }

    /// Maps a data response's status, with messages that name the setting.
    fn check(&self, method: &str, resp: Response) -> Result<Response, SourceError> {
        let status = resp.status;
        match status.as_u16() {
            200..=299 => {
                let html = resp.headers.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"));
                if html || resp.body.trim_ascii_start().starts_with(b"<") {
                    return Err(SourceError::Malformed(format!(
                        "bluesky: {} answered an HTML page instead of JSON for {method}: {}",
                        self.service,
                        truncate_body(&resp.body)
                    )));
                }
                Ok(resp)
            }
            401 => Err(SourceError::Unauthorized(format!(
                "bluesky: {} refused the session of {} for {method} ({}): check [source.bluesky] identifier and \
                 app_password_env / app_password_file, and that service is the account's PDS",
                self.service,
                self.identifier,
                XrpcError::read(&resp).describe(status.as_u16())
            ))),
            403 => Err(SourceError::Unauthorized(format!(
                "bluesky: {} forbids {method} to {} ({}): check [source.bluesky] service: it must be the account's PDS \
                 (e.g. https://bsky.social), not the public AppView, which refuses search and cursors",
                self.service,
                self.identifier,
                XrpcError::read(&resp).describe(status.as_u16())
            ))),
            400 => Err(SourceError::Malformed(format!("bluesky: {method} refused the request ({})", XrpcError::read(&resp).describe(400)))),
            _ => self.http.check(resp),
        }
    }

    async fn session(&self) -> Result<Session, SourceError> {
        if let Some(s) = self.session.lock().unwrap().clone() {
            return Ok(s);
        }
        self.login().await
    }

    /// `com.atproto.server.createSession` with the app password.
    async fn login(&self) -> Result<Session, SourceError> {
        let body = serde_json::json!({ "identifier": self.identifier, "password": self.password.expose() });
        let req = self.http.client().post(self.url("com.atproto.server.createSession")).header("content-type", "application/json").body(body.to_string());
        let resp = self.http.exchange(req).await?;
        let status = resp.status.as_u16();
        if matches!(status, 400 | 401 | 403) {
            let err = XrpcError::read(&resp);
            let hint = match err.error.as_deref() {
                Some("AuthFactorTokenRequired") => {
                    "the account asks for an email sign-in code: use an app password (Settings → Privacy and security → App passwords)"
                }
                Some("AccountTakedown") => "the account was taken down by its PDS; nothing escucha can fix",
                _ => "check [source.bluesky] identifier and app_password_env / app_password_file (an app password, not the account password)",
            };
            if status != 400 || err.error.is_some() {
                *self.session.lock().unwrap() = None;
                return Err(SourceError::Unauthorized(format!(
                    "bluesky: {} refused to log in {} ({}): {hint}",
                    self.service,
                    self.identifier,
                    err.describe(status)
                )));
            }
        }
        let resp = self.http.check(resp)?;
        let created: SessionBody = resp.json("bluesky createSession")?;
        let session = Session { access: Secret::new(created.access_jwt), refresh: Secret::new(created.refresh_jwt) };
        tracing::debug!(did = %created.did, handle = %created.handle, "bluesky session created");
        *self.session.lock().unwrap() = Some(session.clone());
        Ok(session)
    }

    /// `com.atproto.server.refreshSession`; when the refresh token is
    /// refused too, a new session.
    async fn renew(&self, old: &Session) -> Result<Session, SourceError> {
        let req = self.http.client().post(self.url("com.atproto.server.refreshSession")).bearer_auth(old.refresh.expose());
        let resp = self.http.exchange(req).await?;
        match resp.status.as_u16() {
            200..=299 => {
                let body: SessionBody = self.check("com.atproto.server.refreshSession", resp)?.json("bluesky refreshSession")?;
                let session = Session { access: Secret::new(body.access_jwt), refresh: Secret::new(body.refresh_jwt) };
                *self.session.lock().unwrap() = Some(session.clone());
                Ok(session)
            }
            400 | 401 => {
                tracing::debug!("bluesky refresh token refused; creating a new session");
                self.login().await
            }
            _ => self.http.check(resp).map(|_| old.clone()),
        }
    }
}

/// The queries for these brands, in a stable order: one search per brand
/// with terms, the logged-in account's notifications, then every brand
/// account's own feed. Returns the terms each search sends, by key.
fn build_queries(identifier: &str, brands: &[Brand]) -> (Vec<Query>, HashMap<String, Vec<String>>) {
    let mut queries = Vec::new();
    let mut terms = HashMap::new();
    for b in brands {
        let mut list: Vec<String> = Vec::new();
        for t in &b.terms {
            let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
            if !t.is_empty() && !list.iter().any(|l| l.to_lowercase() == t.to_lowercase()) {
                list.push(t);
            }
        }
        if list.is_empty() {
            continue;
        }
        let key = format!("bluesky:search:{}", b.id);
        let q = list.iter().map(|t| term_clause(t)).collect::<Vec<_>>().join(" | ");
        queries.push(Query { key: key.clone(), brands: vec![b.id.clone()], exclusive: false, kind: QueryKind::Search { q } });
        terms.insert(key, list);
    }
    let me = handle(identifier);
    let owners: Vec<String> = brands.iter().filter(|b| b.accounts.bluesky.as_deref().map(handle).is_some_and(|h| h == me)).map(|b| b.id.clone()).collect();
    if owners.is_empty() && brands.iter().any(|b| b.accounts.bluesky.is_some()) {
        // A DID or an email as identifier cannot be matched to a brand
        // before logging in; search and the brand feeds still run.
        tracing::warn!(
            identifier = %identifier,
            "no brand's [brand.accounts] bluesky equals [source.bluesky] identifier; Bluesky notifications are not read"
        );
    }
    if !owners.is_empty() {
        queries.push(Query { key: "bluesky:notifications".into(), brands: owners, exclusive: false, kind: QueryKind::Notifications });
    }
    for b in brands {
        if let Some(account) = b.accounts.bluesky.as_deref().map(handle).filter(|h| !h.is_empty()) {
            queries.push(Query {
                key: format!("bluesky:account:{}", b.id),
                brands: vec![b.id.clone()],
                exclusive: false,
                kind: QueryKind::AccountActivity { account },
            });
        }
    }
    (queries, terms)
}

/// A handle as the matcher normalizes it: lowercase, no `@`.
fn handle(h: &str) -> String {
    h.trim().trim_start_matches('@').to_lowercase()
}

/// A term as search syntax: quoted when it has spaces or characters the
/// query syntax reads as operators.
fn term_clause(term: &str) -> String {
    let cleaned: String = term.chars().filter(|c| *c != '"').collect();
    let plain = cleaned.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.') && !cleaned.starts_with('-');
    if plain {
        cleaned
    } else {
        format!("\"{cleaned}\"")
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse_cursor<T: for<'de> Deserialize<'de>>(q: &Query, cursor: Option<&str>) -> Option<T> {
    let c = cursor?;
    match serde_json::from_str(c) {
        Ok(c) => Some(c),
        Err(_) => {
            // Only a hand-edited or foreign cursor gets here; starting afresh
            // (one newest page) beats wedging the query forever.
            tracing::warn!(query = %q.key, "unreadable Bluesky cursor; starting this query afresh");
            None
        }
    }
}

fn encode<T: Serialize>(c: &T) -> String {
    serde_json::to_string(c).expect("cursor serializes")
}

// ---- cursors ----

/// A search query's cursor: one watermark per term.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchCursor {
    #[serde(default)]
    pub terms: BTreeMap<String, Watch>,
}

/// A newest-first list read up to a watermark (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Watch {
    /// Newest sort time of the items read by completed polls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest: Option<DateTime<Utc>>,
    /// Items read whose time is within [`LOOKBACK`] of `newest`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen: Vec<Seen>,
    /// The platform's cursor of the next (older) page, mid-poll.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    /// What this poll has read so far, mid-poll.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Pending>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest: Option<DateTime<Utc>>,
    #[serde(default)]
    pub seen: Vec<Seen>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    #[serde(rename = "u")]
    pub uri: String,
    #[serde(rename = "t")]
    pub at: DateTime<Utc>,
}

/// One element of a list: its key and time, and the post it carries (None
/// for what is read only to move the watermark: reposts, other reasons).
#[derive(Debug, Clone)]
pub struct Item {
    pub uri: String,
    pub at: DateTime<Utc>,
    pub post: Option<Post>,
}

impl Watch {
    /// Items older than this were read by an earlier poll.
    pub fn threshold(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.newest.unwrap_or(now) - LOOKBACK
    }

    /// The watermark after one page of `items` (newest first) whose next
    /// page is `next`, the posts to return, and whether to read that page.
    pub fn step(prev: Option<&Watch>, items: Vec<Item>, next: Option<String>, now: DateTime<Utc>) -> (Watch, Vec<Post>, bool) {
        let Some(prev) = prev else {
            // First poll: this page is all there is; the rest is history.
            let newest = items.iter().map(|i| i.at).max().unwrap_or(now);
            let seen = prune(items.iter().map(|i| Seen { uri: i.uri.clone(), at: i.at }).collect(), newest);
            let posts = items.into_iter().filter_map(|i| i.post).collect();
            return (Watch { newest: Some(newest), seen, ..Watch::default() }, posts, false);
        };
        let threshold = prev.threshold(now);
        let mut pending = prev.pending.clone().unwrap_or_default();
        let mut known: HashSet<String> = prev.seen.iter().chain(&pending.seen).map(|s| s.uri.clone()).collect();
        let returned = items.len();
        let mut reached_old = false;
        let mut posts = Vec::new();
        for item in items {
            if item.at < threshold {
                reached_old = true;
                continue;
            }
            if !known.insert(item.uri.clone()) {
                continue;
            }
            pending.newest = pending.newest.max(Some(item.at));
            pending.seen.push(Seen { uri: item.uri, at: item.at });
            posts.extend(item.post);
        }
        if next.is_some() && !reached_old && returned > 0 {
            let watch = Watch { newest: prev.newest, seen: prev.seen.clone(), page: next, pending: Some(pending) };
            return (watch, posts, true);
        }
        let newest = prev.newest.max(pending.newest).unwrap_or(now);
        let mut seen = prev.seen.clone();
        seen.extend(pending.seen);
        (Watch { newest: Some(newest), seen: prune(seen, newest), ..Watch::default() }, posts, false)
    }
}

/// Keeps the uris within [`LOOKBACK`] of `newest`, newest first, at most
/// [`MAX_SEEN`].
fn prune(mut seen: Vec<Seen>, newest: DateTime<Utc>) -> Vec<Seen> {
    seen.retain(|s| s.at >= newest - LOOKBACK);
    seen.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.uri.cmp(&b.uri)));
    seen.dedup_by(|a, b| a.uri == b.uri);
    seen.truncate(MAX_SEEN);
    seen
}

// ---- mapping ----

/// Which list a Bluesky response body holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum List {
    /// `app.bsky.notification.listNotifications`
    Notifications,
    /// `app.bsky.feed.getAuthorFeed`
    AuthorFeed,
    /// `app.bsky.feed.searchPosts`
    Search,
}

/// A 2xx body of `list` as its items, newest first, and the cursor of the
/// next page: what [`BlueskySource::fetch`] steps the watermark over.
/// Public for the fuzz target.
pub fn parse_list(list: List, body: &[u8]) -> Result<(Vec<Item>, Option<String>), SourceError> {
    Ok(match list {
        List::Notifications => {
            let body: Notifications = parse_json(body, "bluesky listNotifications")?;
            (body.notifications.into_iter().map(notification_item).collect(), body.cursor)
        }
        List::AuthorFeed => {
            let body: AuthorFeed = parse_json(body, "bluesky getAuthorFeed")?;
            (body.feed.into_iter().filter_map(feed_item).collect(), body.cursor)
        }
        List::Search => {
            let body: SearchPosts = parse_json(body, "bluesky searchPosts")?;
            (body.posts.into_iter().filter_map(|p| post_item(p, false)).collect(), body.cursor)
        }
    })
}

/// `record.createdAt` is client-declared: a time in the future (or
/// unparsable) gives way to `indexedAt`, as the AppView's `sortAt` does.
fn sort_time(created: Option<&str>, indexed: Option<&str>) -> Option<DateTime<Utc>> {
    let created = created.and_then(parse_time);
    let indexed = indexed.and_then(parse_time);
    match (created, indexed) {
        (Some(c), Some(i)) => Some(c.min(i)),
        (c, i) => c.or(i),
    }
}

/// RFC 3339, or the legacy form without an offset (read as UTC).
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok().map(|n| n.and_utc())
}

/// `did` of `at://did/collection/rkey`.
fn uri_did(uri: &str) -> Option<&str> {
    uri.strip_prefix("at://")?.split('/').next().filter(|d| !d.is_empty())
}

fn uri_rkey(uri: &str) -> &str {
    uri.rsplit('/').next().unwrap_or(uri)
}

/// The public web address of a post.
pub fn post_url(handle: &str, did: &str, uri: &str) -> String {
    let who = if handle.is_empty() || handle == "handle.invalid" { did } else { handle };
    format!("https://bsky.app/profile/{who}/post/{}", uri_rkey(uri))
}

/// A post record and its author as a [`Post`]; None when it is not a post
/// or has no usable time.
fn to_post(uri: String, author: &Author, record: &serde_json::Value, indexed_at: Option<&str>, counts: (u64, u64), addressed: bool) -> Option<Post> {
    let record: Record = match serde_json::from_value(record.clone()) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(%uri, error = %e, "bluesky record that is not a post; skipped");
            return None;
        }
    };
    let created_at = sort_time(record.created_at.as_deref(), indexed_at)?;
    let parent = record.reply.as_ref().map(|r| r.parent.uri.clone());
    let root = record.reply.as_ref().map(|r| r.root.uri.clone());
    let mentions = record
        .facets
        .iter()
        .flat_map(|f| f.features.iter().filter(|x| x.kind.ends_with("#mention")).map(move |x| (f.index.clone(), x.did.clone())))
        .filter_map(|(index, did)| {
            // Offsets are UTF-8 bytes; the span is the "@handle" as typed.
            let span = record.text.get(index.byte_start..index.byte_end)?;
            let h = span.trim().strip_prefix('@').map(handle);
            h.or(did)
        })
        .collect();
    Some(Post {
        platform: Platform::Bluesky,
        url: post_url(&author.handle, &author.did, &uri),
        author_id: author.did.clone(),
        author: handle(&author.handle),
        author_followers: None,
        text: record.text,
        lang: record.langs.into_iter().next().filter(|l| !l.is_empty()),
        created_at,
        in_reply_to_author_id: parent.as_deref().and_then(uri_did).map(str::to_string),
        in_reply_to_author: None,
        in_reply_to_id: parent,
        conversation_id: Some(root.unwrap_or_else(|| uri.clone())),
        platform_id: uri,
        mentions,
        reposts: counts.0.saturating_add(counts.1),
        addressed_to_token_account: addressed,
        rating: None,
    })
}

fn post_item(p: PostView, addressed: bool) -> Option<Item> {
    let at = sort_time(p.record.get("createdAt").and_then(|v| v.as_str()), p.indexed_at.as_deref())?;
    let counts = (p.repost_count.unwrap_or(0), p.quote_count.unwrap_or(0));
    let post = to_post(p.uri.clone(), &p.author, &p.record, p.indexed_at.as_deref(), counts, addressed);
    Some(Item { uri: p.uri, at, post })
}

fn notification_item(n: Notification) -> Item {
    let at = sort_time(n.record.get("createdAt").and_then(|v| v.as_str()), n.indexed_at.as_deref()).unwrap_or_else(Utc::now);
    let post = if REASONS.contains(&n.reason.as_str()) { to_post(n.uri.clone(), &n.author, &n.record, n.indexed_at.as_deref(), (0, 0), true) } else { None };
    // Likes and follows have their own record uris; keyed apart from posts.
    Item { uri: n.uri, at, post }
}

/// An author-feed entry; reposts count for the watermark (the feed is
/// sorted by repost time) but are not the brand's own words; a pinned
/// post is out of order and skipped.
fn feed_item(entry: FeedEntry) -> Option<Item> {
    match entry.reason {
        Some(reason) if reason.kind.ends_with("#reasonRepost") => {
            let at = reason.indexed_at.as_deref().and_then(parse_time)?;
            let uri = reason.uri.unwrap_or_else(|| format!("repost:{}", entry.post.uri));
            Some(Item { uri, at, post: None })
        }
        Some(_) => None,
        None => post_item(entry.post, false),
    }
}

// ---- wire types (REFERENCE 3.1-3.4) ----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionBody {
    access_jwt: String,
    refresh_jwt: String,
    #[serde(default)]
    did: String,
    #[serde(default)]
    handle: String,
}

/// `{"error": "<Name>", "message": "<text>"}` of every XRPC error.
#[derive(Debug, Default, Deserialize)]
struct XrpcError {
    error: Option<String>,
    message: Option<String>,
}

impl XrpcError {
    fn read(resp: &Response) -> XrpcError {
        serde_json::from_slice(&resp.body).unwrap_or_default()
    }
    /// The PDS answers 400 and the AppView 401 for an expired access token.
    fn is_expired(&self) -> bool {
        self.error.as_deref() == Some("ExpiredToken")
    }
    fn describe(&self, status: u16) -> String {
        let text = |s: &Option<String>| s.as_deref().map(|m| m.chars().take(200).collect::<String>());
        match (text(&self.error), text(&self.message)) {
            (Some(e), Some(m)) => format!("{status} {e}: {m}"),
            (Some(e), None) => format!("{status} {e}"),
            (None, Some(m)) => format!("{status} {m}"),
            (None, None) => status.to_string(),
        }
    }
}

#[derive(Deserialize)]
struct SearchPosts {
    cursor: Option<String>,
    posts: Vec<PostView>,
}

#[derive(Deserialize)]
struct Notifications {
    cursor: Option<String>,
    notifications: Vec<Notification>,
}

#[derive(Deserialize)]
struct AuthorFeed {
    cursor: Option<String>,
    feed: Vec<FeedEntry>,
}

#[derive(Deserialize)]
struct Profiles {
    profiles: Vec<ProfileView>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProfileView {
    did: String,
    #[serde(default)]
    handle: String,
    followers_count: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostView {
    uri: String,
    author: Author,
    record: serde_json::Value,
    indexed_at: Option<String>,
    repost_count: Option<u64>,
    quote_count: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    uri: String,
    author: Author,
    reason: String,
    record: serde_json::Value,
    indexed_at: Option<String>,
}

#[derive(Deserialize)]
struct FeedEntry {
    post: PostView,
    reason: Option<Reason>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Reason {
    #[serde(rename = "$type", default)]
    kind: String,
    uri: Option<String>,
    indexed_at: Option<String>,
}

#[derive(Deserialize)]
struct Author {
    did: String,
    #[serde(default)]
    handle: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    #[serde(default)]
    text: String,
    created_at: Option<String>,
    #[serde(default)]
    langs: Vec<String>,
    reply: Option<ReplyRef>,
    #[serde(default)]
    facets: Vec<Facet>,
}

#[derive(Deserialize)]
struct ReplyRef {
    root: StrongRef,
    parent: StrongRef,
}

#[derive(Deserialize)]
struct StrongRef {
    uri: String,
}

#[derive(Deserialize)]
struct Facet {
    index: ByteSlice,
    #[serde(default)]
    features: Vec<Feature>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct ByteSlice {
    byte_start: usize,
    byte_end: usize,
}

#[derive(Deserialize)]
struct Feature {
    #[serde(rename = "$type", default)]
    kind: String,
    did: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const SEARCH: &str = include_str!("../../tests/fixtures/bluesky/app.bsky.feed.searchPosts.json");
    const NOTIFICATIONS: &str = include_str!("../../tests/fixtures/bluesky/app.bsky.notification.listNotifications.json");

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap()
    }

    fn item(uri: &str, at: DateTime<Utc>) -> Item {
        Item { uri: uri.into(), at, post: Some(post(uri, at)) }
    }

    fn post(uri: &str, at: DateTime<Utc>) -> Post {
        Post {
            platform: Platform::Bluesky,
            platform_id: uri.into(),
            url: String::new(),
            author_id: "did:plc:a".into(),
            author: "a.bsky.social".into(),
            author_followers: None,
            text: String::new(),
            lang: None,
            created_at: at,
            in_reply_to_id: None,
            in_reply_to_author_id: None,
            in_reply_to_author: None,
            conversation_id: None,
            mentions: vec![],
            reposts: 0,
            addressed_to_token_account: false,
            rating: None,
        }
    }

    fn ids(posts: &[Post]) -> Vec<&str> {
        posts.iter().map(|p| p.platform_id.as_str()).collect()
    }

    #[test]
    fn the_documented_search_results_become_posts_keyed_by_at_uri_with_reply_linkage() {
        let body: SearchPosts = serde_json::from_str(SEARCH).unwrap();
        assert_eq!(body.cursor.as_deref(), Some("25"));
        let items: Vec<Item> = body.posts.into_iter().filter_map(|p| post_item(p, false)).collect();
        assert_eq!(items.len(), 2);
        let reply = items[0].post.clone().unwrap();
        assert_eq!(reply.platform, Platform::Bluesky);
        assert_eq!(reply.platform_id, "at://did:plc:afrpek5fwfirkccf5yubhika/app.bsky.feed.post/3lr4labajecj5");
        assert_eq!(reply.url, "https://bsky.app/profile/devon.example.com/post/3lr4labajecj5");
        assert_eq!(reply.author, "devon.example.com");
        assert_eq!(reply.author_id, "did:plc:afrpek5fwfirkccf5yubhika");
        assert_eq!(reply.text, "@acmecoffee.bsky.social is the oat milk version vegan?");
        assert_eq!(reply.lang.as_deref(), Some("en"));
        assert_eq!(reply.mentions, ["acmecoffee.bsky.social"]);
        let maria = "at://did:plc:ke3ucked3mvhawg5ray5sld5/app.bsky.feed.post/3lcndhnyqlv53";
        assert_eq!(reply.in_reply_to_id.as_deref(), Some(maria));
        assert_eq!(reply.in_reply_to_author_id.as_deref(), Some("did:plc:ke3ucked3mvhawg5ray5sld5"));
        assert_eq!(reply.conversation_id.as_deref(), Some(maria));
        assert_eq!(reply.created_at.to_rfc3339(), "2024-11-20T15:40:02.118+00:00");
        assert!(!reply.addressed_to_token_account);

        let original = items[1].post.clone().unwrap();
        assert_eq!(original.in_reply_to_id, None);
        assert_eq!(original.conversation_id.as_deref(), Some(maria), "a thread root is its own conversation");
        assert_eq!(original.reposts, 1);
        assert_eq!(original.mentions, ["acmecoffee.bsky.social"], "the facet's byte span, after a multi-byte-free prefix");
    }

    #[test]
    fn mention_and_reply_notifications_are_addressed_and_other_reasons_only_move_the_watermark() {
        let mut body: Notifications = serde_json::from_str(NOTIFICATIONS).unwrap();
        body.notifications[1].reason = "like".into();
        let items: Vec<Item> = body.notifications.into_iter().map(notification_item).collect();
        let reply = items[0].post.as_ref().unwrap();
        assert!(reply.addressed_to_token_account);
        assert_eq!(reply.in_reply_to_author_id.as_deref(), Some("did:plc:ej3cqeew6l4kokiuesjcoz2y"));
        assert!(items[1].post.is_none());
        assert_eq!(items[1].at.to_rfc3339(), "2024-11-20T14:03:11.902+00:00");
    }

    #[test]
    fn a_client_time_in_the_future_or_without_offset_is_handled() {
        assert_eq!(sort_time(Some("2099-01-01T00:00:00Z"), Some("2024-11-20T15:40:02.930Z")).unwrap().to_rfc3339(), "2024-11-20T15:40:02.930+00:00");
        assert_eq!(parse_time("2023-08-07T05:49:40.501974").unwrap().to_rfc3339(), "2023-08-07T05:49:40.501974+00:00");
        assert_eq!(sort_time(Some("yesterday"), None), None);
    }

    #[test]
    fn facet_offsets_are_utf8_bytes() {
        let author = Author { did: "did:plc:a".into(), handle: "Ana.bsky.social".into() };
        let text = "¡Qué mal! @interjet.bsky.social";
        let start = text.find('@').unwrap();
        let record = serde_json::json!({"text": text, "createdAt": "2026-01-01T00:00:00Z", "facets": [
            {"index": {"byteStart": start, "byteEnd": text.len()}, "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:b"}]},
            {"index": {"byteStart": 0, "byteEnd": 2}, "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://x"}]}]});
        let p = to_post("at://did:plc:a/app.bsky.feed.post/3k".into(), &author, &record, None, (0, 0), false).unwrap();
        assert_eq!(p.mentions, ["interjet.bsky.social"]);
        assert_eq!(p.author, "ana.bsky.social");
    }

    #[test]
    fn a_handle_that_does_not_resolve_links_by_did() {
        assert_eq!(post_url("handle.invalid", "did:plc:x", "at://did:plc:x/app.bsky.feed.post/3abc"), "https://bsky.app/profile/did:plc:x/post/3abc");
    }

    #[test]
    fn the_first_poll_keeps_its_page_and_sets_the_watermark_to_its_newest_item() {
        let (w, posts, more) = Watch::step(None, vec![item("b", t(20)), item("a", t(10))], Some("older".into()), t(100));
        assert_eq!(ids(&posts), ["b", "a"]);
        assert!(!more, "the first poll never pages back into history");
        assert_eq!(w.newest, Some(t(20)));
        assert_eq!(w.seen.iter().map(|s| s.uri.as_str()).collect::<Vec<_>>(), ["b", "a"]);
        let (empty, _, _) = Watch::step(None, vec![], None, t(100));
        assert_eq!(empty.newest, Some(t(100)), "nothing yet: start from now");
    }

    #[test]
    fn later_polls_return_only_unseen_items_and_an_unchanged_list_keeps_the_cursor() {
        let (w, _, _) = Watch::step(None, vec![item("b", t(20)), item("a", t(10))], None, t(100));
        let (w2, posts, more) = Watch::step(Some(&w), vec![item("c", t(30)), item("b", t(20)), item("a", t(10))], None, t(200));
        assert_eq!(ids(&posts), ["c"]);
        assert!(!more);
        assert_eq!(w2.newest, Some(t(30)));
        let (w3, posts, _) = Watch::step(Some(&w2), vec![item("c", t(30)), item("b", t(20))], None, t(300));
        assert!(posts.is_empty());
        assert_eq!(w3, w2);
    }

    #[test]
    fn a_post_indexed_late_within_the_lookback_is_still_read_once() {
        let (w, _, _) = Watch::step(None, vec![item("b", t(100))], None, t(100));
        let late = item("late", t(100 - 60));
        let (w2, posts, _) = Watch::step(Some(&w), vec![item("b", t(100)), late.clone()], None, t(200));
        assert_eq!(ids(&posts), ["late"]);
        let (_, posts, _) = Watch::step(Some(&w2), vec![item("b", t(100)), late], None, t(300));
        assert!(posts.is_empty());
    }

    #[test]
    fn paging_stops_at_the_lookback_and_moves_the_watermark_only_after_the_last_page() {
        let (w, _, _) = Watch::step(None, vec![item("a", t(0))], None, t(0));
        let (mid, p1, more) = Watch::step(Some(&w), vec![item("e", t(1000)), item("d", t(900))], Some("p2".into()), t(1000));
        assert!(more);
        assert_eq!(ids(&p1), ["e", "d"]);
        assert_eq!(mid.newest, w.newest, "not yet: a crash here must resume page 2");
        assert_eq!(mid.page.as_deref(), Some("p2"));
        let resumed: Watch = serde_json::from_str(&encode(&mid)).unwrap();
        assert_eq!(resumed, mid);
        // Page 2 repeats d (new posts shifted the pages) and reaches the old a.
        let (end, p2, more) =
            Watch::step(Some(&resumed), vec![item("d", t(900)), item("c", t(800)), item("a", t(0)), item("z", t(-1000))], Some("p3".into()), t(1000));
        assert!(!more, "items before the lookback end the poll");
        assert_eq!(ids(&p2), ["c"]);
        assert_eq!(end.newest, Some(t(1000)));
        assert_eq!(end.page, None);
        assert_eq!(end.pending, None);
        assert!(end.seen.iter().all(|s| s.at >= t(1000) - LOOKBACK));
    }

    #[test]
    fn terms_are_quoted_when_they_are_not_one_plain_word() {
        assert_eq!(term_clause("interjet"), "interjet");
        assert_eq!(term_clause("inter jet"), "\"inter jet\"");
        assert_eq!(term_clause("-jet"), "\"-jet\"");
        assert_eq!(term_clause("o2.com"), "o2.com");
    }

    #[test]
    fn queries_are_a_search_per_brand_notifications_of_the_logged_in_brand_and_each_account_feed() {
        let mut a = crate::matcher::tests_support::brand();
        a.accounts.bluesky = Some("@Interjet.bsky.social".into());
        let mut b = crate::matcher::tests_support::brand();
        b.id = "aero".into();
        b.terms = vec!["Aeroméxico".into(), "aeroméxico".into()];
        b.accounts.bluesky = Some("aeromexico.com".into());
        let mut c = crate::matcher::tests_support::brand();
        c.id = "quiet".into();
        c.terms = vec![];
        let (queries, terms) = build_queries("interjet.bsky.social", &[a, b, c]);
        let keys: Vec<&str> = queries.iter().map(|q| q.key.as_str()).collect();
        assert_eq!(keys, ["bluesky:search:interjet", "bluesky:search:aero", "bluesky:notifications", "bluesky:account:interjet", "bluesky:account:aero"]);
        assert_eq!(terms["bluesky:search:interjet"], ["interjet", "inter jet"]);
        assert_eq!(terms["bluesky:search:aero"], ["Aeroméxico"], "case duplicates are sent once");
        assert_eq!(queries[2].brands, ["interjet"]);
        assert_eq!(queries[3].kind, QueryKind::AccountActivity { account: "interjet.bsky.social".into() });
        assert!(queries.iter().all(|q| !q.exclusive));
    }

    #[test]
    fn xrpc_errors_are_described_without_more_than_the_platform_said() {
        let e: XrpcError = serde_json::from_str(r#"{"error":"ExpiredToken","message":"Token has expired"}"#).unwrap();
        assert!(e.is_expired());
        assert_eq!(e.describe(400), "400 ExpiredToken: Token has expired");
        assert_eq!(XrpcError::default().describe(502), "502");
    }

    #[test]
    fn the_documented_session_and_profile_shapes_are_read() {
        let session: SessionBody = serde_json::from_str(include_str!("../../tests/fixtures/bluesky/com.atproto.server.createSession.json")).unwrap();
        assert_eq!(session.did, "did:plc:ej3cqeew6l4kokiuesjcoz2y");
        assert_eq!(session.handle, "acmecoffee.bsky.social");
        assert!(session.access_jwt.starts_with("eyJ") && session.refresh_jwt.starts_with("eyJ"));
        let profile: ProfileView = serde_json::from_str(include_str!("../../tests/fixtures/bluesky/app.bsky.actor.getProfile.json")).unwrap();
        assert_eq!(profile.followers_count, Some(1843));
        assert_eq!(profile.handle, "acmecoffee.bsky.social");
    }

    #[test]
    fn repost_counts_at_the_top_of_the_range_saturate_instead_of_overflowing() {
        let body = r#"{"posts":[{"uri":"at://did:plc:a/app.bsky.feed.post/1","author":{"did":"did:plc:a","handle":"a.example"},
            "record":{"text":"hola","createdAt":"2026-08-01T10:00:00Z"},"indexedAt":"2026-08-01T10:00:00Z",
            "repostCount":18446744073709551615,"quoteCount":1}]}"#;
        let (items, _) = parse_list(List::Search, body.as_bytes()).unwrap();
        assert_eq!(items[0].post.as_ref().unwrap().reposts, u64::MAX);
    }
}
