//! Mastodon source: mention notifications, hashtag timelines, status search
//! and the brand accounts' own statuses of one instance, turned into
//! [`Post`]s with a `min_id` cursor per query (REFERENCE.md section 2).
//! It decides nothing about brands beyond which query serves which brand;
//! matching, storing and alerting happen elsewhere.

use super::http::{Http, Response};
use super::{id_cmp, Page, Query, QueryKind, SourceError};
use crate::config::{Brand, Secret};
use crate::model::{Platform, Post};
use crate::text::{fold, html_to_text};
use chrono::{DateTime, Utc};
use serde::de::IgnoredAny;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use url::Url;

pub mod stream;

/// Items asked for per request: the maximum of the tag timeline and search
/// (notifications allow 80, but one limit keeps `more` simple).
pub const LIMIT: usize = 40;

pub struct MastodonSource {
    http: Http,
    every: Duration,
    /// Without trailing slash, as configured (for messages).
    instance: Box<str>,
    /// The instance URL; None when the config holds something unparsable.
    base: Option<Box<Url>>,
    /// The instance's domain as it appears in remote `acct`s.
    host: Box<str>,
    /// `[source.mastodon] access_token`.
    token: Option<Secret>,
    /// A brand's own token, by brand id.
    brand_tokens: HashMap<String, Secret>,
    queries: Vec<Query>,
    /// Account ids learnt from `accounts/lookup`, by configured acct.
    account_ids: Mutex<HashMap<String, String>>,
    /// `stream = true`.
    stream: bool,
    /// The streaming server's base URL, once learnt (see `stream`).
    streaming: Mutex<Option<Url>>,
}

impl MastodonSource {
    pub fn new(cfg: &crate::config::MastodonSource, brands: &[Brand]) -> MastodonSource {
        let instance = cfg.instance.trim_end_matches('/').to_string();
        let brand_tokens: HashMap<String, Secret> = brands.iter().filter_map(|b| b.accounts.mastodon_token.clone().map(|t| (b.id.clone(), t))).collect();
        let queries = build_queries(cfg.access_token.as_ref(), brands);
        MastodonSource {
            http: Http::new("mastodon"),
            every: cfg.schedule.every,
            host: instance_host(&instance).into(),
            base: Url::parse(&instance).ok().map(Box::new),
            instance: instance.into(),
            token: cfg.access_token.clone(),
            brand_tokens,
            queries,
            account_ids: Mutex::new(HashMap::new()),
            stream: cfg.stream,
            streaming: Mutex::new(None),
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

    /// Fetches one page of `q`. With no cursor (the query's first poll) it
    /// reads only the newest page; with one it reads the page of items
    /// immediately newer than it (`min_id`), so a burst larger than a page
    /// is read over several pages without a gap.
    pub async fn fetch(&self, q: &Query, cursor: Option<&str>) -> Result<Page, SourceError> {
        // An empty cursor means "the first poll found nothing": read the
        // newest page again rather than everything since id 0, which would
        // replay the whole history as new if the endpoint wakes up later.
        let min_id = cursor.filter(|c| !c.is_empty());
        match &q.kind {
            QueryKind::MastodonNotifications { token } => self.fetch_notifications(q, token, min_id).await,
            QueryKind::MastodonTag { tag } => {
                let (token, brand) = self.any_token();
                let url = self.url(&["api", "v1", "timelines", "tag", tag], &[], Some(min_id))?;
                let endpoint = match token {
                    Some(_) => Endpoint::Token { brand },
                    None => Endpoint::PublicTag { tag },
                };
                let resp = self.get(url, token, endpoint).await?;
                parse_page(Body::TagTimeline, &resp, &self.host, min_id)
            }
            QueryKind::MastodonSearch { q: text } => {
                let (token, brand) = self.any_token();
                let url = self.url(&["api", "v2", "search"], &[("q", text), ("type", "statuses")], Some(min_id))?;
                let resp = self.get(url, token, Endpoint::Token { brand }).await?;
                parse_page(Body::Search, &resp, &self.host, min_id)
            }
            QueryKind::MastodonAccountStatuses { acct } => {
                let brand = q.brands.first().map(String::as_str).unwrap_or_default();
                let (token, owner) = match self.brand_tokens.get(brand) {
                    Some(own) => (Some(own), Some(brand)),
                    None => (self.token.as_ref(), None),
                };
                let id = self.account_id(acct, token, owner, brand).await?;
                let url = self.url(&["api", "v1", "accounts", &id, "statuses"], &[("exclude_reblogs", "true")], Some(min_id))?;
                let resp = self.get(url, token, Endpoint::Token { brand: owner }).await?;
                parse_page(Body::AccountStatuses, &resp, &self.host, min_id)
            }
            _ => Err(SourceError::Malformed(format!("mastodon: query {} is not a Mastodon query", q.key))),
        }
    }

    async fn fetch_notifications(&self, q: &Query, token: &Secret, min_id: Option<&str>) -> Result<Page, SourceError> {
        let url = self.url(&["api", "v1", "notifications"], &[("types[]", "mention")], Some(min_id))?;
        let brand = q.brands.first().map(String::as_str).unwrap_or_default();
        // Which config key the token came from, for the message if refused.
        let owner = (self.brand_tokens.get(brand) == Some(token) && self.token.as_ref() != Some(token)).then_some(brand);
        let resp = self.get(url, Some(token), Endpoint::Token { brand: owner }).await?;
        parse_page(Body::Notifications, &resp, &self.host, min_id)
    }

    /// A token for endpoints any account may read (tags, search), and the
    /// brand it belongs to when it is a brand's own. Unauthenticated
    /// full-text search returns nothing, so search queries exist only when
    /// one of these is set.
    fn any_token(&self) -> (Option<&Secret>, Option<&str>) {
        if let Some(token) = &self.token {
            return (Some(token), None);
        }
        match self.brand_tokens.iter().min_by(|a, b| a.0.cmp(b.0)) {
            Some((brand, token)) => (Some(token), Some(brand.as_str())),
            None => (None, None),
        }
    }

    async fn account_id(&self, acct: &str, token: Option<&Secret>, owner: Option<&str>, brand: &str) -> Result<String, SourceError> {
        if let Some(id) = self.account_ids.lock().unwrap().get(acct) {
            return Ok(id.clone());
        }
        let url = self.url(&["api", "v1", "accounts", "lookup"], &[("acct", acct)], None)?;
        let resp = match self.get(url, token, Endpoint::Token { brand: owner }).await {
            Ok(resp) => resp,
            // Http reports a 404 as an unexpected status; here it has a
            // meaning the operator can act on.
            Err(SourceError::Malformed(m)) if m.contains("unexpected status 404") => {
                return Err(SourceError::Malformed(format!(
                    "mastodon account {acct} not found on {}: check [brand.accounts] mastodon of brand {brand}",
                    self.instance
                )))
            }
            Err(e) => return Err(e),
        };
        let account: AccountRef = resp.json("mastodon account lookup")?;
        self.account_ids.lock().unwrap().insert(acct.to_string(), account.id.clone());
        Ok(account.id)
    }

    /// The URL of an endpoint. `paging` is Some for the paged endpoints:
    /// they always ask for [`LIMIT`] items, and items newer than the
    /// cursor when there is one.
    fn url(&self, path: &[&str], params: &[(&str, &str)], paging: Option<Option<&str>>) -> Result<Url, SourceError> {
        let mut url = self.base.as_deref().cloned().ok_or_else(|| SourceError::Malformed(format!("mastodon: instance {:?} is not a URL", self.instance)))?;
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(path);
        }
        {
            let mut query = url.query_pairs_mut();
            for (k, v) in params {
                query.append_pair(k, v);
            }
            if let Some(min_id) = paging {
                if let Some(min_id) = min_id {
                    query.append_pair("min_id", min_id);
                }
                query.append_pair("limit", &LIMIT.to_string());
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        Ok(url)
    }

    async fn get(&self, url: Url, token: Option<&Secret>, endpoint: Endpoint<'_>) -> Result<Response, SourceError> {
        let mut req = self.http.client().get(url).header("accept", "application/json");
        if let Some(token) = token {
            req = req.bearer_auth(token.expose());
        }
        let resp = self.http.send(req).await.map_err(|e| self.explain(e, endpoint))?;
        // A proxy or maintenance page can answer 200 with HTML; say so
        // rather than reporting a JSON syntax error.
        let html_type = resp.headers.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"));
        if html_type || resp.body.trim_ascii_start().starts_with(b"<") {
            return Err(SourceError::Malformed(format!(
                "mastodon instance {} answered an HTML page instead of JSON: {}",
                self.instance,
                super::http::truncate_body(&resp.body)
            )));
        }
        Ok(resp)
    }

    /// Rewrites a refusal into what the operator must fix.
    fn explain(&self, e: SourceError, endpoint: Endpoint<'_>) -> SourceError {
        let SourceError::Unauthorized(m) = e else { return e };
        let why = refusal(&m);
        let instance = &self.instance;
        SourceError::Unauthorized(match endpoint {
            Endpoint::PublicTag { tag } => format!(
                "mastodon instance {instance} refused to show the hashtag timeline #{tag} without a token ({why}): \
                 the instance disabled public timeline preview; set [source.mastodon] access_token_env / access_token_file \
                 (a token with read:statuses)"
            ),
            Endpoint::Token { brand: Some(brand) } => format!(
                "mastodon instance {instance} refused the access token of brand {brand} ({why}): check [brand.accounts] \
                 mastodon_token_env / mastodon_token_file; the token needs read:notifications and read:search"
            ),
            Endpoint::Token { brand: None } => format!(
                "mastodon instance {instance} refused the access token ({why}): check [source.mastodon] access_token_env / \
                 access_token_file; the token needs read:notifications and read:search"
            ),
        })
    }
}

/// Which list a Mastodon response body holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Body {
    Notifications,
    TagTimeline,
    /// `/api/v2/search`: the statuses are inside an object.
    Search,
    AccountStatuses,
}

/// A 2xx response of `kind` as the page [`MastodonSource::fetch`] returns:
/// posts with accounts made absolute on the instance `host`, and the cursor
/// from the `Link` header or the ids read. Public for the fuzz target.
pub fn parse_page(kind: Body, resp: &Response, host: &str, min_id: Option<&str>) -> Result<Page, SourceError> {
    let statuses: Vec<Item<Status>> = match kind {
        Body::Notifications => {
            let notifications: Vec<Item<Notification>> = items(resp, "mastodon notifications")?;
            let returned = notifications.len();
            // Notification ids are their own sequence: the cursor follows
            // them, not the ids of the statuses inside.
            let newest = newest_id(&notifications);
            let posts = notifications
                .into_iter()
                .filter_map(|n| n.value)
                .filter(|n| n.kind == "mention")
                .filter_map(|n| n.status)
                .filter_map(|s| to_post(s, true, host))
                .collect();
            return Ok(finish_page(posts, returned, newest, prev_min_id(resp), min_id));
        }
        Body::TagTimeline => items(resp, "mastodon tag timeline")?,
        Body::AccountStatuses => items(resp, "mastodon account statuses")?,
        Body::Search => {
            let found: SearchResults = resp.json("mastodon search")?;
            lenient(found.statuses, "mastodon search")
        }
    };
    let returned = statuses.len();
    let newest = newest_id(&statuses);
    let posts = statuses.into_iter().filter_map(|s| s.value).filter_map(|s| to_post(s, false, host)).collect();
    Ok(finish_page(posts, returned, newest, prev_min_id(resp), min_id))
}

/// A status as a [`Post`]; reblogs are skipped (the original reaches us on
/// its own).
fn to_post(s: Status, addressed: bool, host: &str) -> Option<Post> {
    if s.reblog.is_some() {
        return None;
    }
    let mentions: Vec<(String, String)> = s.mentions.iter().map(|m| (m.id.clone(), absolute_acct(&m.acct, host))).collect();
    let in_reply_to_author = s.in_reply_to_account_id.as_deref().and_then(|id| mentions.iter().find(|(mid, _)| mid == id)).map(|(_, acct)| acct.clone());
    let body = html_to_text(&s.content);
    let text = match s.spoiler_text.trim() {
        "" => body,
        spoiler => format!("{spoiler}\n\n{body}"),
    };
    Some(Post {
        platform: Platform::Mastodon,
        url: s.url.filter(|u| !u.is_empty()).unwrap_or(s.uri),
        platform_id: s.id,
        author: absolute_acct(&s.account.acct, host),
        author_id: s.account.id,
        author_followers: s.account.followers_count,
        text,
        lang: s.language.filter(|l| !l.is_empty()),
        created_at: s.created_at,
        in_reply_to_id: s.in_reply_to_id,
        in_reply_to_author_id: s.in_reply_to_account_id,
        in_reply_to_author,
        conversation_id: None,
        mentions: mentions.into_iter().map(|(_, acct)| acct).collect(),
        reposts: s.reblogs_count.unwrap_or(0).saturating_add(s.quotes_count.unwrap_or(0)),
        addressed_to_token_account: addressed,
        rating: None,
    })
}

/// Which request was refused, to say which setting to fix.
#[derive(Clone, Copy)]
enum Endpoint<'a> {
    /// The public hashtag timeline, read without a token.
    PublicTag { tag: &'a str },
    /// A request that may carry a token; `brand` when it was a brand's own.
    Token { brand: Option<&'a str> },
}

/// One element of a list response: parsed when it could be, and its id
/// either way, so one odd item neither blocks the query forever nor hides
/// where the cursor should move.
struct Item<T> {
    id: Option<String>,
    value: Option<T>,
}

/// The response's JSON array, item by item.
fn items<T: serde::de::DeserializeOwned>(resp: &Response, what: &str) -> Result<Vec<Item<T>>, SourceError> {
    let values: Vec<serde_json::Value> = resp.json(what)?;
    Ok(lenient(values, what))
}

fn lenient<T: serde::de::DeserializeOwned>(values: Vec<serde_json::Value>, what: &str) -> Vec<Item<T>> {
    values
        .into_iter()
        .map(|v| {
            let id = v.get("id").and_then(|i| i.as_str()).map(str::to_string);
            let value = match serde_json::from_value::<T>(v) {
                Ok(value) => Some(value),
                Err(e) => {
                    tracing::warn!(id = id.as_deref().unwrap_or("?"), error = %e, "{what}: skipping an item that cannot be read");
                    None
                }
            };
            Item { id, value }
        })
        .collect()
}

fn newest_id<T>(items: &[Item<T>]) -> Option<String> {
    items.iter().filter_map(|i| i.id.as_deref()).max_by(|a, b| id_cmp(a, b)).map(str::to_string)
}

/// Status and error text of an [`Http`] refusal message: "401 The access
/// token is invalid" from `... (401 Unauthorized): {"error":"The access
/// token is invalid"}`.
fn refusal(message: &str) -> String {
    let code = message
        .split('(')
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or("401");
    let error = message.find('{').and_then(|i| serde_json::from_str::<ErrorBody>(&message[i..]).ok()).map(|b| b.error).filter(|e| !e.is_empty());
    match error {
        Some(error) => format!("{code} {error}"),
        None => code.to_string(),
    }
}

/// The queries for these brands, in a stable order: notifications, tags,
/// searches, then the brands' own statuses.
fn build_queries(source_token: Option<&Secret>, brands: &[Brand]) -> Vec<Query> {
    let mut queries = Vec::new();

    // One notifications query per distinct token. A brand's own token reads
    // that brand's notifications; the source token reads those of every
    // brand with a Mastodon account and no token of its own.
    let mut by_token: Vec<(Secret, Vec<String>, Option<String>)> = Vec::new();
    let mut add = |token: &Secret, brand: &str, own: bool| match by_token.iter_mut().find(|(t, _, _)| t == token) {
        Some((_, brands, _)) => brands.push(brand.to_string()),
        None => by_token.push((token.clone(), vec![brand.to_string()], own.then(|| brand.to_string()))),
    };
    for b in brands {
        if let Some(token) = &b.accounts.mastodon_token {
            add(token, &b.id, true);
        }
    }
    if let Some(token) = source_token {
        for b in brands.iter().filter(|b| b.accounts.mastodon.is_some() && b.accounts.mastodon_token.is_none()) {
            add(token, &b.id, false);
        }
    }
    for (token, brands, own) in by_token {
        let key = match own {
            Some(brand) => format!("mastodon:notifications:{brand}"),
            None => "mastodon:notifications".to_string(),
        };
        queries.push(Query { exclusive: false, key, brands, kind: QueryKind::MastodonNotifications { token } });
    }

    let mut tags: Vec<(String, Vec<String>)> = Vec::new();
    let mut terms: Vec<(String, String, Vec<String>)> = Vec::new();
    for b in brands {
        for term in &b.terms {
            let tag = hashtag(term);
            if !tag.is_empty() {
                push_brand(&mut tags, tag, &b.id);
            }
            let folded = fold(term.trim());
            if folded.is_empty() {
                continue;
            }
            match terms.iter_mut().find(|(f, _, _)| *f == folded) {
                Some((_, _, ids)) if !ids.contains(&b.id) => ids.push(b.id.clone()),
                Some(_) => {}
                None => terms.push((folded, term.trim().to_string(), vec![b.id.clone()])),
            }
        }
    }
    for (tag, brands) in tags {
        queries.push(Query { exclusive: false, key: format!("mastodon:tag:{tag}"), brands, kind: QueryKind::MastodonTag { tag } });
    }

    let any_token = source_token.is_some() || brands.iter().any(|b| b.accounts.mastodon_token.is_some());
    if any_token {
        for (folded, term, brands) in terms {
            queries.push(Query { exclusive: false, key: format!("mastodon:search:{folded}"), brands, kind: QueryKind::MastodonSearch { q: term } });
        }
    }

    for b in brands {
        if let Some(acct) = &b.accounts.mastodon {
            let acct = acct.trim().trim_start_matches('@').to_string();
            queries.push(Query {
                exclusive: false,
                key: format!("mastodon:account:{}", b.id),
                brands: vec![b.id.clone()],
                kind: QueryKind::MastodonAccountStatuses { acct },
            });
        }
    }
    queries
}

fn push_brand(list: &mut Vec<(String, Vec<String>)>, key: String, brand: &str) {
    match list.iter_mut().find(|(k, _)| *k == key) {
        Some((_, ids)) if !ids.iter().any(|i| i == brand) => ids.push(brand.to_string()),
        Some(_) => {}
        None => list.push((key, vec![brand.to_string()])),
    }
}

/// The hashtag a term is written as: folded, without spaces or punctuation
/// ("Inter Jet" → `interjet`).
pub fn hashtag(term: &str) -> String {
    fold(term).chars().filter(|c| c.is_alphanumeric()).collect()
}

/// The domain of an instance URL as it appears in `acct`s: the host, plus
/// the port when the URL names one (development instances are
/// `user@localhost:3000`).
pub fn instance_host(instance: &str) -> String {
    match Url::parse(instance) {
        Ok(url) => {
            let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
            match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host,
            }
        }
        Err(_) => instance.trim_end_matches('/').to_ascii_lowercase(),
    }
}

/// `acct` made absolute and lowercase: a local `user` becomes
/// `user@<instance host>`; `@` prefixes are dropped.
pub fn absolute_acct(acct: &str, host: &str) -> String {
    let acct = acct.trim().trim_start_matches('@').to_lowercase();
    if acct.contains('@') {
        acct
    } else {
        format!("{acct}@{host}")
    }
}

/// The cursor and `more` flag for a page: the `Link` header's `rel="prev"`
/// min_id when given (the only safe cursor where pages follow internal
/// ids), else the greatest id read; an empty page keeps the cursor.
fn finish_page(posts: Vec<Post>, returned: usize, newest: Option<String>, prev: Option<String>, min_id: Option<&str>) -> Page {
    let cursor = prev.or(newest).or_else(|| min_id.map(str::to_string)).unwrap_or_default();
    // On the first poll only the newest page is read: older items are
    // history, and paging back through all of it would be pointless.
    let more = min_id.is_some() && returned >= LIMIT;
    Page { posts, cursor, more }
}

/// `min_id` of the `Link` header's `rel="prev"` URL.
fn prev_min_id(resp: &Response) -> Option<String> {
    let link = resp.headers.get_all("link").iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join(",");
    link_min_id(&link)
}

fn link_min_id(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.trim().split_once(';')?;
        let is_prev = params.split(';').any(|p| {
            let p = p.trim().to_ascii_lowercase();
            p == "rel=\"prev\"" || p == "rel=prev"
        });
        if !is_prev {
            return None;
        }
        let url = Url::parse(target.trim().trim_start_matches('<').trim_end_matches('>')).ok()?;
        url.query_pairs().find(|(k, _)| k == "min_id").map(|(_, v)| v.into_owned()).filter(|v| !v.is_empty())
    })
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: String,
}

#[derive(Deserialize)]
struct Notification {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    status: Option<Status>,
}

#[derive(Deserialize)]
struct SearchResults {
    #[serde(default)]
    statuses: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct Status {
    id: String,
    #[serde(default)]
    uri: String,
    #[serde(default)]
    url: Option<String>,
    created_at: DateTime<Utc>,
    #[serde(default)]
    in_reply_to_id: Option<String>,
    #[serde(default)]
    in_reply_to_account_id: Option<String>,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    content: String,
    #[serde(default)]
    spoiler_text: String,
    #[serde(default)]
    reblogs_count: Option<u64>,
    #[serde(default)]
    quotes_count: Option<u64>,
    #[serde(default)]
    reblog: Option<IgnoredAny>,
    account: Account,
    #[serde(default)]
    mentions: Vec<MentionRef>,
}

#[derive(Deserialize)]
struct Account {
    id: String,
    acct: String,
    #[serde(default)]
    followers_count: Option<u64>,
}

#[derive(Deserialize)]
struct AccountRef {
    id: String,
}

#[derive(Deserialize)]
struct MentionRef {
    id: String,
    acct: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> MastodonSource {
        let cfg = crate::config::MastodonSource {
            instance: "http://localhost:3000/".into(),
            access_token: None,
            stream: false,
            schedule: crate::config::Schedule { every: Duration::from_secs(60), unhealthy_after: Duration::from_secs(1800), expect_within: None },
        };
        MastodonSource::new(&cfg, &[])
    }

    #[test]
    fn the_recorded_mention_notification_becomes_an_addressed_post() {
        let body = include_str!("../../tests/fixtures/mastodon/notifications_mention.json");
        let values: Vec<serde_json::Value> = serde_json::from_str(body).unwrap();
        let notifications: Vec<Item<Notification>> = lenient(values, "test");
        assert_eq!(newest_id(&notifications).as_deref(), Some("21"));
        let s = source();
        let n = notifications.into_iter().next().unwrap().value.unwrap();
        let post = to_post(n.status.unwrap(), true, &s.host).unwrap();
        assert_eq!(post.platform_id, "117020577157693549");
        assert_eq!(post.author, "admin@localhost:3000");
        assert_eq!(post.author_id, "117020565693913441");
        assert_eq!(post.author_followers, Some(1));
        assert_eq!(post.text, "@mastodonpy_test hello!");
        assert_eq!(post.mentions, vec!["mastodonpy_test@localhost:3000".to_string()]);
        assert_eq!(post.url, "http://localhost:3000/@admin/117020577157693549");
        assert_eq!(post.lang.as_deref(), Some("en"));
        assert!(post.addressed_to_token_account);
    }

    #[test]
    fn a_reblog_is_skipped_and_a_missing_url_falls_back_to_the_uri() {
        let s = source();
        let status = |reblog: &str| {
            serde_json::from_str::<Status>(&format!(
                r#"{{"id":"5","uri":"https://other.example/users/a/statuses/1","url":null,"created_at":"2026-08-01T13:51:42.823Z",
                   "content":"<p>hola</p>","spoiler_text":"aviso","reblogs_count":2,"quotes_count":null,"reblog":{reblog},
                   "account":{{"id":"9","acct":"Ana@Other.Example","followers_count":3}},"mentions":[]}}"#
            ))
            .unwrap()
        };
        assert!(to_post(status(r#"{"id":"4"}"#), false, &s.host).is_none());
        let post = to_post(status("null"), false, &s.host).unwrap();
        assert_eq!(post.url, "https://other.example/users/a/statuses/1");
        assert_eq!(post.author, "ana@other.example");
        assert_eq!(post.text, "aviso\n\nhola");
        assert_eq!(post.reposts, 2);
    }

    #[test]
    fn an_unreadable_item_is_skipped_but_still_moves_the_cursor() {
        let values: Vec<serde_json::Value> = serde_json::from_str(
            r#"[{"id":"7","created_at":"not a date"},{"id":"6","created_at":"2026-08-01T13:51:42.823Z","account":{"id":"1","acct":"a"}}]"#,
        )
        .unwrap();
        let statuses: Vec<Item<Status>> = lenient(values, "test");
        assert!(statuses[0].value.is_none());
        assert!(statuses[1].value.is_some());
        assert_eq!(newest_id(&statuses).as_deref(), Some("7"));
    }

    #[test]
    fn the_link_header_prev_gives_the_min_id() {
        let link = r#"<http://localhost:3000/api/v1/notifications?max_id=21&types%5B%5D=mention>; rel="next", <http://localhost:3000/api/v1/notifications?min_id=21&types%5B%5D=mention>; rel="prev""#;
        assert_eq!(link_min_id(link).as_deref(), Some("21"));
        assert_eq!(link_min_id(r#"<http://x/?max_id=3>; rel="next""#), None);
    }

    #[test]
    fn hashtags_drop_accents_case_spaces_and_punctuation() {
        assert_eq!(hashtag("Inter Jet"), "interjet");
        assert_eq!(hashtag("Aeroméxico!"), "aeromexico");
        assert_eq!(hashtag("  "), "");
    }

    #[test]
    fn accounts_are_made_absolute_on_the_instance_host() {
        assert_eq!(instance_host("https://Mastodon.Social/"), "mastodon.social");
        assert_eq!(instance_host("http://127.0.0.1:4000"), "127.0.0.1:4000");
        assert_eq!(absolute_acct("@Interjet", "mastodon.social"), "interjet@mastodon.social");
        assert_eq!(absolute_acct("ana@Other.Example", "mastodon.social"), "ana@other.example");
    }

    #[test]
    fn a_refusal_message_keeps_the_status_and_the_error_text() {
        let m = r#"mastodon: the platform refused the credentials (401 Unauthorized): {  "error": "The access token is invalid" }"#;
        assert_eq!(refusal(m), "401 The access token is invalid");
    }

    #[test]
    fn repost_counts_at_the_top_of_the_range_saturate_instead_of_overflowing() {
        let status: Status = serde_json::from_str(
            r#"{"id":"5","created_at":"2026-08-01T13:51:42.823Z","reblogs_count":18446744073709551615,"quotes_count":1,
               "account":{"id":"9","acct":"ana"}}"#,
        )
        .unwrap();
        assert_eq!(to_post(status, false, "mastodon.example").unwrap().reposts, u64::MAX);
    }
}
