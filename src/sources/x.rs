//! X (Twitter) API v2 source: one recent-search query per brand
//! (`GET /2/tweets/search/recent`), its `since_id`/`next_token` cursor, and
//! the mapping from tweets to [`Post`]s. It reads the brand's own replies in
//! the same query (`from:<account>`), which is how escucha learns a brand
//! answered. It owns no SQL and no alert logic; see REFERENCE.md section 1.

use super::http::{truncate_body, Http, Response};
use super::{id_cmp, Page, Query, QueryKind, SourceError};
use crate::config::{Brand, Secret};
use crate::model::{Platform, Post};
use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::Duration;

/// Self-serve plans accept queries of at most 512 characters (REFERENCE 1.2).
pub const MAX_QUERY_LEN: usize = 512;

const SEARCH_PATH: &str = "/2/tweets/search/recent";
const EXPANSIONS: &str = "author_id,in_reply_to_user_id,entities.mentions.username";
const USER_FIELDS: &str = "public_metrics,username";
const TWEET_FIELDS: &str = "created_at,lang,conversation_id,in_reply_to_user_id,referenced_tweets,public_metrics,author_id,entities,note_tweet";

/// A usage-capped 429 says nothing about when the cap lifts (its headers
/// even show plenty remaining), so probe again after this long.
const USAGE_CAP_PAUSE: chrono::Duration = chrono::Duration::hours(1);

pub struct XSource {
    http: Http,
    every: Duration,
    api_base: String,
    token: Secret,
    queries: Vec<Query>,
}

impl XSource {
    pub fn new(cfg: &crate::config::XSource, brands: &[Brand]) -> XSource {
        let mut queries = Vec::new();
        for brand in brands {
            let Some(built) = build_query(&brand.terms, brand.accounts.x.as_deref()) else { continue };
            if !built.dropped.is_empty() {
                tracing::warn!(
                    brand = %brand.id,
                    dropped = ?built.dropped,
                    "X search query would exceed {MAX_QUERY_LEN} characters; these terms are not searched on X"
                );
            }
            queries.push(Query {
                exclusive: false,
                key: format!("x:search:{}", brand.id),
                brands: vec![brand.id.clone()],
                kind: QueryKind::XSearch { query: built.query },
            });
        }
        XSource {
            http: Http::new("x"),
            every: cfg.schedule.every,
            api_base: cfg.api_base.trim_end_matches('/').to_string(),
            token: cfg.bearer_token.clone(),
            queries,
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

    /// One page of `q`. `cursor` None is the query's first poll ever: one
    /// request for the newest page, whose newest id becomes the cursor.
    pub async fn fetch(&self, q: &Query, cursor: Option<&str>) -> Result<Page, SourceError> {
        let QueryKind::XSearch { query } = &q.kind else {
            return Err(SourceError::Malformed(format!("x: query {} is not an X search", q.key)));
        };
        let prev = cursor.and_then(|c| {
            let parsed = Cursor::parse(c);
            if parsed.is_none() {
                // Only a hand-edited or foreign cursor gets here; re-reading the
                // newest page beats wedging the query on an error forever.
                tracing::warn!(query = %q.key, "unreadable X cursor; starting this query afresh");
            }
            parsed
        });
        let Some(prev) = prev else {
            let body = self.search(query, None, None).await.map_err(SearchError::into_source)?;
            return Ok(page(body, None));
        };
        match self.search(query, prev.since_id.as_deref(), prev.next_token.as_deref()).await {
            Ok(body) => Ok(page(body, Some(&prev))),
            Err(SearchError::SinceIdTooOld(message)) => {
                // The last poll is more than 7 days ago. Everything still
                // searchable is newer than our since_id, so read the whole
                // window (and its pages) as a normal, non-first poll.
                tracing::warn!(query = %q.key, %message, "X refused our since_id as too old; reading the last 7 days instead");
                let body = self.search(query, None, None).await.map_err(SearchError::into_source)?;
                Ok(page(body, Some(&Cursor::default())))
            }
            Err(SearchError::Source(e)) => Err(e),
        }
    }

    async fn search(&self, query: &str, since_id: Option<&str>, next_token: Option<&str>) -> Result<SearchResponse, SearchError> {
        let mut params: Vec<(&str, &str)> =
            vec![("query", query), ("max_results", "100"), ("expansions", EXPANSIONS), ("user.fields", USER_FIELDS), ("tweet.fields", TWEET_FIELDS)];
        if let Some(s) = since_id {
            params.push(("since_id", s));
        }
        if let Some(t) = next_token {
            params.push(("next_token", t));
        }
        let req = self.http.client().get(format!("{}{SEARCH_PATH}", self.api_base)).query(&params).bearer_auth(self.token.expose());
        let resp = self.http.exchange(req).await?;
        match resp.status.as_u16() {
            200..=299 => {
                let body = parse_search(&resp.body)?;
                if !body.errors.is_empty() {
                    tracing::debug!(count = body.errors.len(), first = %body.errors[0], "X returned partial errors with its results");
                }
                Ok(body)
            }
            status @ (401 | 403) => Err(unauthorized(status, &resp).into()),
            429 => {
                let problem = Problem::read(&resp);
                if problem.kind.as_deref().is_some_and(|t| t.ends_with("usage-capped")) {
                    let until = self.http.now() + USAGE_CAP_PAUSE;
                    tracing::error!(
                        detail = problem.detail.as_deref().unwrap_or(""),
                        retry_at = %until.to_rfc3339(),
                        "X usage cap exceeded: no searches until the plan's period renews or the plan is upgraded"
                    );
                    return Err(SourceError::RateLimited { until: Some(until) }.into());
                }
                Err(self.status_error(resp).into())
            }
            400 => {
                let problem = Problem::read(&resp);
                if let Some(message) = problem.since_id_message() {
                    return Err(SearchError::SinceIdTooOld(message));
                }
                Err(SourceError::Malformed(format!("x: recent search refused (400): {}", problem.describe(&resp))).into())
            }
            _ => Err(self.status_error(resp).into()),
        }
    }

    /// The shared status mapping for a response already known not to be 2xx.
    fn status_error(&self, resp: Response) -> SourceError {
        let status = resp.status;
        match self.http.check(resp) {
            Err(e) => e,
            Ok(_) => SourceError::Malformed(format!("x: unexpected status {status}")),
        }
    }
}

enum SearchError {
    SinceIdTooOld(String),
    Source(SourceError),
}

impl SearchError {
    fn into_source(self) -> SourceError {
        match self {
            SearchError::Source(e) => e,
            SearchError::SinceIdTooOld(m) => SourceError::Malformed(format!("x: recent search refused since_id: {m}")),
        }
    }
}

impl From<SourceError> for SearchError {
    fn from(e: SourceError) -> Self {
        SearchError::Source(e)
    }
}

fn unauthorized(status: u16, resp: &Response) -> SourceError {
    let problem = Problem::read(resp);
    let detail = problem.detail.or(problem.title).map(|d| format!(": {}", d.chars().take(300).collect::<String>())).unwrap_or_default();
    SourceError::Unauthorized(format!(
        "X rejected the bearer token ({status}{detail}); check [source.x] bearer_token_env/bearer_token_file; \
         the token needs access to {SEARCH_PATH}"
    ))
}

/// The query string searched for a brand, and the terms that did not fit.
#[derive(Debug, Clone, PartialEq)]
pub struct BuiltQuery {
    pub query: String,
    pub dropped: Vec<String>,
}

/// `(@acct OR from:acct OR term OR "two words") -is:retweet`, under
/// [`MAX_QUERY_LEN`]. The account clauses go first so that the brand's own
/// replies (how escucha learns it answered) are never the ones cut.
/// None when the brand has nothing to search for on X.
pub fn build_query(terms: &[String], account: Option<&str>) -> Option<BuiltQuery> {
    const SUFFIX: &str = " -is:retweet";
    let mut clauses: Vec<String> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let mut push = |clause: String, clauses: &mut Vec<String>| {
        let key = clause.to_lowercase();
        if !seen.contains(&key) {
            seen.push(key);
            clauses.push(clause);
        }
    };
    if let Some(acct) = account.map(|a| a.trim().trim_start_matches('@')).filter(|a| !a.is_empty()) {
        push(format!("@{acct}"), &mut clauses);
        push(format!("from:{acct}"), &mut clauses);
    }
    let mut dropped = Vec::new();
    for term in terms {
        let Some(clause) = term_clause(term) else { continue };
        let mut candidate = clauses.clone();
        candidate.push(clause.clone());
        if render(&candidate, SUFFIX).chars().count() > MAX_QUERY_LEN {
            dropped.push(term.clone());
        } else {
            push(clause, &mut clauses);
        }
    }
    if clauses.is_empty() {
        return None;
    }
    Some(BuiltQuery { query: render(&clauses, SUFFIX), dropped })
}

fn render(clauses: &[String], suffix: &str) -> String {
    if clauses.len() == 1 {
        format!("{}{suffix}", clauses[0])
    } else {
        format!("({}){suffix}", clauses.join(" OR "))
    }
}

/// A term as a search clause: quoted when it is more than one plain word, so
/// that spaces and punctuation are not read as operators.
fn term_clause(term: &str) -> Option<String> {
    let cleaned: String = term.chars().filter(|c| *c != '"').collect();
    let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if cleaned.is_empty() {
        return None;
    }
    let plain = |(i, c): (usize, char)| c.is_alphanumeric() || c == '_' || (i == 0 && matches!(c, '#' | '@' | '$'));
    let is_operator_word = matches!(cleaned.as_str(), "OR" | "AND");
    if cleaned.chars().enumerate().all(plain) && !is_operator_word {
        Some(cleaned)
    } else {
        Some(format!("\"{cleaned}\""))
    }
}

/// What the store keeps between polls. `pending_newest` is the newest id of
/// the first page of a paginated poll: it becomes `since_id` only once the
/// last page is read (REFERENCE 1.4), so a crash between pages resumes the
/// pagination instead of skipping what it had not read yet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_newest: Option<String>,
}

impl Cursor {
    /// Reads a cursor this module wrote; a bare tweet id is taken as a
    /// `since_id`.
    pub fn parse(s: &str) -> Option<Cursor> {
        let s = s.trim();
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            return Some(Cursor { since_id: Some(s.to_string()), ..Cursor::default() });
        }
        serde_json::from_str(s).ok()
    }

    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("cursor serializes")
    }

    /// The cursor after reading a page whose newest id is `newest` and which
    /// pointed to `next_token`; and whether another page waits. `prev` None
    /// is the first poll ever: one page only, never followed.
    pub fn advance(prev: Option<&Cursor>, newest: Option<String>, next_token: Option<String>) -> (Cursor, bool) {
        let Some(prev) = prev else {
            return (Cursor { since_id: newest, ..Cursor::default() }, false);
        };
        let poll_newest = if prev.next_token.is_some() { prev.pending_newest.clone().or(newest) } else { newest };
        match next_token {
            Some(token) => (Cursor { since_id: prev.since_id.clone(), next_token: Some(token), pending_newest: poll_newest }, true),
            None => (Cursor { since_id: max_id(prev.since_id.clone(), poll_newest), ..Cursor::default() }, false),
        }
    }
}

fn max_id(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if id_cmp(&a, &b).is_ge() { a } else { b }),
        (a, b) => a.or(b),
    }
}

/// A 2xx recent-search body as the page [`XSource::fetch`] returns,
/// continuing `prev` (None: the query's first poll). Public for the fuzz
/// target: it is the daemon's own path from body to posts.
pub fn parse_page(body: &[u8], prev: Option<&Cursor>) -> Result<Page, SourceError> {
    Ok(page(parse_search(body)?, prev))
}

fn parse_search(body: &[u8]) -> Result<SearchResponse, SourceError> {
    super::http::parse_json(body, "x: recent search")
}

fn page(body: SearchResponse, prev: Option<&Cursor>) -> Page {
    let newest = body.meta.newest_id.clone().or_else(|| body.data.iter().map(|t| t.id.clone()).max_by(|a, b| id_cmp(a, b)));
    let (cursor, more) = Cursor::advance(prev, newest, body.meta.next_token.clone());
    Page { posts: to_posts(&body), cursor: cursor.encode(), more }
}

// ---- wire types (REFERENCE 1.2) ----

#[derive(Debug, Deserialize)]
pub(crate) struct SearchResponse {
    #[serde(default)]
    data: Vec<Tweet>,
    #[serde(default)]
    includes: Includes,
    #[serde(default)]
    errors: Vec<serde_json::Value>,
    /// Present on every search answer, even an empty one; a 200 without it
    /// is not a search response (a proxy's `{}`), so it is required.
    meta: Meta,
}

#[derive(Debug, Default, Deserialize)]
struct Includes {
    #[serde(default)]
    users: Vec<User>,
}

#[derive(Debug, Default, Deserialize)]
struct Meta {
    newest_id: Option<String>,
    next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Tweet {
    id: String,
    #[serde(default)]
    text: String,
    author_id: Option<String>,
    created_at: Option<DateTime<Utc>>,
    conversation_id: Option<String>,
    in_reply_to_user_id: Option<String>,
    #[serde(default)]
    referenced_tweets: Vec<Reference>,
    lang: Option<String>,
    public_metrics: Option<TweetMetrics>,
    entities: Option<Entities>,
    note_tweet: Option<NoteTweet>,
}

#[derive(Debug, Deserialize)]
struct Reference {
    #[serde(rename = "type")]
    kind: String,
    id: String,
}

#[derive(Debug, Default, Deserialize)]
struct TweetMetrics {
    #[serde(default)]
    retweet_count: u64,
    #[serde(default)]
    quote_count: u64,
}

#[derive(Debug, Default, Deserialize)]
struct Entities {
    #[serde(default)]
    mentions: Vec<MentionEntity>,
}

#[derive(Debug, Deserialize)]
struct MentionEntity {
    username: String,
}

#[derive(Debug, Deserialize)]
struct NoteTweet {
    text: String,
}

#[derive(Debug, Deserialize)]
struct User {
    id: String,
    username: String,
    public_metrics: Option<UserMetrics>,
}

#[derive(Debug, Deserialize)]
struct UserMetrics {
    followers_count: Option<u64>,
}

/// An RFC 7807 problem as X sends it, with `errors[]` on invalid requests.
#[derive(Debug, Default, Deserialize)]
struct Problem {
    title: Option<String>,
    detail: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    errors: Vec<ProblemError>,
}

#[derive(Debug, Deserialize)]
struct ProblemError {
    message: Option<String>,
    #[serde(default)]
    parameters: HashMap<String, serde_json::Value>,
}

impl Problem {
    fn read(resp: &Response) -> Problem {
        serde_json::from_slice(&resp.body).unwrap_or_default()
    }

    /// The message of an error about our `since_id` ("'since_id' must be a
    /// tweet id created after …"), if that is what the 400 is about. Keyed on
    /// `parameters`: other messages list `since_id` among the valid names.
    fn since_id_message(&self) -> Option<String> {
        self.errors.iter().find_map(|e| {
            let message = e.message.clone().unwrap_or_default();
            (e.parameters.contains_key("since_id") || message.starts_with("'since_id'")).then_some(message)
        })
    }

    fn describe(&self, resp: &Response) -> String {
        let messages: Vec<&str> = self.errors.iter().filter_map(|e| e.message.as_deref()).collect();
        match (&self.detail, messages.is_empty()) {
            (None, true) => truncate_body(&resp.body),
            (Some(d), true) => d.clone(),
            (None, false) => messages.join("; "),
            (Some(d), false) => format!("{d} {}", messages.join("; ")),
        }
    }
}

/// X's epoch for snowflake ids, to date a tweet that came without
/// `created_at` rather than drop it.
const SNOWFLAKE_EPOCH_MS: i64 = 1_288_834_974_657;

fn snowflake_time(id: &str) -> Option<DateTime<Utc>> {
    let n: u64 = id.parse().ok()?;
    Utc.timestamp_millis_opt((n >> 22) as i64 + SNOWFLAKE_EPOCH_MS).single()
}

/// v2 still HTML-escapes `&`, `<` and `>` in tweet text (every `&`, so a
/// literal "&lt;" typed by the author arrives as `&amp;lt;`): decoded once,
/// with the decoder the other sources use, it reads `&lt;` again.
fn unescape(s: &str) -> String {
    crate::text::decode_entities(s).into_owned()
}

/// Tweets as posts, newest first as X sent them; retweets are skipped (the
/// query excludes them, this guards against a query that does not).
pub(crate) fn to_posts(body: &SearchResponse) -> Vec<Post> {
    let users: HashMap<&str, &User> = body.includes.users.iter().map(|u| (u.id.as_str(), u)).collect();
    body.data
        .iter()
        .filter(|t| !t.referenced_tweets.iter().any(|r| r.kind == "retweeted"))
        .filter_map(|t| {
            let Some(created_at) = t.created_at.or_else(|| snowflake_time(&t.id)) else {
                tracing::warn!(id = %t.id, "X tweet without created_at or a snowflake id; skipped");
                return None;
            };
            let author_id = t.author_id.clone().unwrap_or_default();
            let author = users.get(author_id.as_str());
            let url = match author {
                Some(u) => format!("https://x.com/{}/status/{}", u.username, t.id),
                None => format!("https://x.com/i/web/status/{}", t.id),
            };
            let text = t.note_tweet.as_ref().map(|n| n.text.as_str()).filter(|s| !s.is_empty()).unwrap_or(&t.text);
            let metrics = t.public_metrics.as_ref();
            Some(Post {
                platform: Platform::X,
                platform_id: t.id.clone(),
                url,
                author: author.map(|u| u.username.to_lowercase()).unwrap_or_default(),
                author_followers: author.and_then(|u| u.public_metrics.as_ref()).and_then(|m| m.followers_count),
                author_id,
                text: unescape(text),
                lang: t.lang.clone().filter(|l| !l.is_empty() && l != "und"),
                created_at,
                in_reply_to_id: t.referenced_tweets.iter().find(|r| r.kind == "replied_to").map(|r| r.id.clone()),
                in_reply_to_author_id: t.in_reply_to_user_id.clone(),
                in_reply_to_author: t.in_reply_to_user_id.as_deref().and_then(|id| users.get(id)).map(|u| u.username.to_lowercase()),
                conversation_id: t.conversation_id.clone(),
                mentions: t.entities.as_ref().map(|e| e.mentions.iter().map(|m| m.username.to_lowercase()).collect()).unwrap_or_default(),
                reposts: metrics.map(|m| m.retweet_count.saturating_add(m.quote_count)).unwrap_or(0),
                addressed_to_token_account: false,
                rating: None,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEARCH_RECENT: &str = include_str!("../../tests/fixtures/x/search_recent.json");

    fn parse(s: &str) -> SearchResponse {
        serde_json::from_str(s).unwrap()
    }

    fn terms(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn query_ors_terms_with_mentions_and_replies_of_the_brand_account() {
        let q = build_query(&terms(&["interjet", "Interjet México"]), Some("Interjet_mx")).unwrap();
        assert_eq!(q.query, "(@Interjet_mx OR from:Interjet_mx OR interjet OR \"Interjet México\") -is:retweet");
        assert!(q.dropped.is_empty());
    }

    #[test]
    fn query_with_one_clause_needs_no_parentheses() {
        assert_eq!(build_query(&terms(&["acme"]), None).unwrap().query, "acme -is:retweet");
    }

    #[test]
    fn brand_without_terms_or_x_account_has_no_query() {
        assert_eq!(build_query(&[], None), None);
        assert_eq!(build_query(&terms(&["  ", "\"\""]), Some("@")), None);
    }

    #[test]
    fn punctuation_and_embedded_quotes_are_quoted_safely() {
        let q = build_query(&terms(&["o2.com", "say \"hi\"", "#Acme", "OR"]), None).unwrap();
        assert_eq!(q.query, "(\"o2.com\" OR \"say hi\" OR #Acme OR \"OR\") -is:retweet");
    }

    #[test]
    fn query_stays_under_512_chars_and_keeps_the_account_clauses() {
        let many: Vec<String> = (0..100).map(|i| format!("longbrandterm{i:03}")).collect();
        let q = build_query(&many, Some("acme")).unwrap();
        assert!(q.query.chars().count() <= MAX_QUERY_LEN, "{} chars", q.query.len());
        assert!(q.query.starts_with("(@acme OR from:acme OR longbrandterm000"));
        assert!(!q.dropped.is_empty());
        assert_eq!(q.dropped.len() + q.query.matches(" OR ").count() + 1, 102);
    }

    #[test]
    fn documented_response_maps_to_posts_with_followers_and_reply_linkage() {
        let posts = to_posts(&parse(SEARCH_RECENT));
        assert_eq!(posts.len(), 2);
        let reply = &posts[0];
        assert_eq!(reply.platform, Platform::X);
        assert_eq!(reply.platform_id, "1212092628029698048");
        assert_eq!(reply.url, "https://x.com/XDevelopers/status/1212092628029698048");
        assert_eq!(reply.author, "xdevelopers");
        assert_eq!(reply.author_id, "2244994945");
        assert_eq!(reply.author_followers, Some(507_902));
        assert_eq!(reply.in_reply_to_id.as_deref(), Some("1212092627178287104"));
        assert_eq!(reply.in_reply_to_author_id.as_deref(), Some("2244994945"));
        assert_eq!(reply.in_reply_to_author.as_deref(), Some("xdevelopers"));
        assert_eq!(reply.conversation_id.as_deref(), Some("1212092626247110657"));
        assert_eq!(reply.mentions, vec!["acmecoffee".to_string()]);
        assert_eq!(reply.reposts, 8);
        assert_eq!(reply.lang.as_deref(), Some("en"));
        assert_eq!(reply.created_at.to_rfc3339(), "2019-12-31T19:26:16+00:00");
        assert!(!reply.addressed_to_token_account);

        let original = &posts[1];
        assert_eq!(original.author, "pythondev");
        assert_eq!(original.author_followers, Some(311));
        assert_eq!(original.in_reply_to_id, None);
        assert_eq!(original.in_reply_to_author, None);
        assert_eq!(original.reposts, 6);
    }

    #[test]
    fn empty_result_has_no_posts_and_keeps_the_since_id() {
        let body = parse(r#"{"meta":{"result_count":0}}"#);
        assert!(to_posts(&body).is_empty());
        let prev = Cursor { since_id: Some("100".into()), ..Cursor::default() };
        let p = page(body, Some(&prev));
        assert_eq!(Cursor::parse(&p.cursor).unwrap(), prev);
        assert!(!p.more);
    }

    #[test]
    fn retweets_are_skipped_long_posts_use_note_text_and_und_is_no_language() {
        let body = parse(
            r#"{"data":[
                {"id":"30","text":"RT @acme: hi","author_id":"1","created_at":"2026-01-01T00:00:00.000Z",
                 "referenced_tweets":[{"type":"retweeted","id":"20"}]},
                {"id":"29","text":"truncated…","note_tweet":{"text":"the whole long text &amp; more"},
                 "author_id":"1","created_at":"2026-01-01T00:00:00.000Z","lang":"und"}],
               "meta":{"result_count":2,"newest_id":"30","oldest_id":"29"}}"#,
        );
        let posts = to_posts(&body);
        assert_eq!(posts.len(), 1);
        assert_eq!(posts[0].platform_id, "29");
        assert_eq!(posts[0].text, "the whole long text & more");
        assert_eq!(posts[0].lang, None);
        // The author is not in includes: still a usable post.
        assert_eq!(posts[0].url, "https://x.com/i/web/status/29");
    }

    #[test]
    fn missing_created_at_falls_back_to_the_snowflake_time() {
        let body = parse(r#"{"data":[{"id":"1212092628029698048","text":"x","author_id":"1"}],"meta":{"result_count":1}}"#);
        let posts = to_posts(&body);
        assert_eq!(posts[0].created_at.format("%Y-%m-%dT%H:%M:%S").to_string(), "2019-12-31T19:26:16");
    }

    #[test]
    fn a_200_without_meta_is_not_a_search_response() {
        assert!(serde_json::from_str::<SearchResponse>("{}").is_err());
    }

    #[test]
    fn first_poll_reads_one_page_and_keeps_its_newest_id() {
        let (c, more) = Cursor::advance(None, Some("500".into()), Some("tok".into()));
        assert_eq!(c, Cursor { since_id: Some("500".into()), ..Cursor::default() });
        assert!(!more);
        let (c, _) = Cursor::advance(None, None, None);
        assert_eq!(c, Cursor::default());
    }

    #[test]
    fn pagination_keeps_since_id_and_ends_on_the_first_pages_newest_id() {
        let start = Cursor { since_id: Some("100".into()), ..Cursor::default() };
        let (mid, more) = Cursor::advance(Some(&start), Some("900".into()), Some("t1".into()));
        assert!(more);
        assert_eq!(mid, Cursor { since_id: Some("100".into()), next_token: Some("t1".into()), pending_newest: Some("900".into()) });
        let (mid2, more) = Cursor::advance(Some(&mid), Some("500".into()), Some("t2".into()));
        assert!(more);
        assert_eq!(mid2.pending_newest.as_deref(), Some("900"));
        assert_eq!(mid2.since_id.as_deref(), Some("100"));
        let (end, more) = Cursor::advance(Some(&mid2), Some("300".into()), None);
        assert!(!more);
        assert_eq!(end, Cursor { since_id: Some("900".into()), ..Cursor::default() });
    }

    #[test]
    fn since_id_never_moves_backwards() {
        let start = Cursor { since_id: Some("1000".into()), ..Cursor::default() };
        let (c, _) = Cursor::advance(Some(&start), Some("999".into()), None);
        assert_eq!(c.since_id.as_deref(), Some("1000"));
        let (c, _) = Cursor::advance(Some(&start), None, None);
        assert_eq!(c.since_id.as_deref(), Some("1000"));
    }

    #[test]
    fn cursor_round_trips_and_a_bare_id_reads_as_since_id() {
        let c = Cursor { since_id: Some("1".into()), next_token: Some("abc".into()), pending_newest: Some("9".into()) };
        assert_eq!(Cursor::parse(&c.encode()), Some(c));
        assert_eq!(Cursor::parse("1212092628029698048").unwrap().since_id.as_deref(), Some("1212092628029698048"));
        assert_eq!(Cursor::parse("not a cursor"), None);
    }

    #[test]
    fn since_id_problem_is_recognised_from_the_documented_400() {
        let p: Problem = serde_json::from_str(include_str!("../../tests/fixtures/x/error_400_since_id_too_old.json")).unwrap();
        assert!(p.since_id_message().unwrap().contains("must be a tweet id created after"));
        let other: Problem = serde_json::from_str(include_str!("../../tests/fixtures/x/error_400_unknown_parameter.json")).unwrap();
        assert_eq!(other.since_id_message(), None);
    }

    #[test]
    fn repost_counts_at_the_top_of_the_range_saturate_instead_of_overflowing() {
        let body = r#"{"data":[{"id":"1800000000000000002","text":"hola","created_at":"2026-08-01T10:00:00.000Z",
            "public_metrics":{"retweet_count":18446744073709551615,"quote_count":2}}],"meta":{}}"#;
        let page = parse_page(body.as_bytes(), None).unwrap();
        assert_eq!(page.posts[0].reposts, u64::MAX);
    }
}
