//! Hacker News source, read through the Algolia HN Search API (no
//! credentials): one `search_by_date` query per brand for its terms, and one
//! for the comments of the brand's HN user (its replies answer mentions).
//! Owns the request parameters, the `created_at_i` cursor and the mapping
//! from hits to [`Post`]s; see REFERENCE.md section 5. Matching, storing
//! and alerting happen elsewhere.

use super::http::{truncate_body, Http, Response};
use super::{Page, Query, QueryKind, SourceError};
use crate::config::Brand;
use crate::model::{Platform, Post};
use crate::text::html_to_text;
use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

/// Hits asked for per request. Algolia allows up to 1000; 100 keeps a page
/// small and a busy term still pages.
pub const HITS_PER_PAGE: u32 = 100;

/// Algolia serves at most this many hits of one query, whatever the page.
pub const MAX_RETRIEVABLE: u32 = 1000;

/// Items reach the index a while after HN stamps them, so a poll also reads
/// this far behind the newest `created_at_i` it saw, and skips what it read
/// before by `objectID`. Without it, a comment indexed late but stamped
/// before the cursor would be lost.
pub const OVERLAP_SECS: i64 = 300;

/// Ids kept in a cursor for the overlap window, at most.
const MAX_RECENT: usize = 1000;

const SEARCH_PATH: &str = "/api/v1/search_by_date";
const SEARCH_TAGS: &str = "(story,comment)";

pub struct HackerNewsSource {
    http: Http,
    every: Duration,
    /// Without trailing slash, as configured.
    api_base: String,
    queries: Vec<Query>,
}

impl HackerNewsSource {
    pub fn new(cfg: &crate::config::HackerNewsSource, brands: &[Brand]) -> HackerNewsSource {
        HackerNewsSource {
            http: Http::new("hackernews"),
            every: cfg.schedule.every,
            api_base: cfg.api_base.trim_end_matches('/').to_string(),
            queries: build_queries(brands),
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

    /// One page of `q`. A brand's search holds one sub-search per term; a
    /// poll walks them in turn (one request per page) and says `more` until
    /// the last is done, so a crash between pages resumes where it stopped.
    pub async fn fetch(&self, q: &Query, cursor: Option<&str>) -> Result<Page, SourceError> {
        let subs = subs(q)?;
        let prev = cursor.and_then(|c| {
            let parsed = Cursor::parse(c);
            if parsed.is_none() {
                tracing::warn!(query = %q.key, "unreadable Hacker News cursor; starting this query afresh");
            }
            parsed
        });
        let Some(mut cursor) = prev else {
            // First poll: the newest page of each sub-search, nothing more.
            let mut cursor = Cursor::default();
            let mut posts = Vec::new();
            for sub in &subs {
                let (sub_cursor, mut found) = self.first_page(sub).await?;
                cursor.subs.insert(sub.key.clone(), sub_cursor);
                posts.append(&mut found);
            }
            return Ok(Page { posts: dedupe(posts), cursor: cursor.encode(), more: false });
        };

        // A sub-search that is new since the last poll (a term added to the
        // config) starts from now: its older hits are not news.
        for sub in &subs {
            if !cursor.subs.contains_key(&sub.key) {
                tracing::info!(query = %q.key, "new Hacker News search term; reading from now on");
                let (sub_cursor, _history) = self.first_page(sub).await?;
                cursor.subs.insert(sub.key.clone(), sub_cursor);
            }
        }
        cursor.subs.retain(|k, _| subs.iter().any(|s| s.key == *k));
        cursor.todo.retain(|k| subs.iter().any(|s| s.key == *k));
        if cursor.todo.is_empty() {
            cursor.todo = subs.iter().map(|s| s.key.clone()).collect();
        }
        let key = cursor.todo[0].clone();
        let sub = subs.iter().find(|s| s.key == key).expect("todo only holds known sub-searches");
        let state = cursor.subs.get_mut(&key).expect("every sub-search has a cursor");
        let body = self.search(sub, Some(state)).await?;
        let (posts, done) = state.advance(&body);
        if done {
            cursor.todo.remove(0);
        }
        let more = !cursor.todo.is_empty();
        Ok(Page { posts, cursor: cursor.encode(), more })
    }

    async fn first_page(&self, sub: &Sub) -> Result<(SubCursor, Vec<Post>), SourceError> {
        let body = self.search(sub, None).await?;
        Ok(SubCursor::first(&body, Utc::now().timestamp()))
    }

    async fn search(&self, sub: &Sub, state: Option<&SubCursor>) -> Result<SearchResponse, SourceError> {
        let mut params: Vec<(&str, String)> = Vec::new();
        if let Some(query) = &sub.query {
            params.push(("query", query.clone()));
        }
        params.push(("tags", sub.tags.clone()));
        if let Some(state) = state {
            params.push(("numericFilters", state.numeric_filters()));
        }
        params.push(("hitsPerPage", HITS_PER_PAGE.to_string()));
        params.push(("page", state.map_or(0, |s| s.page).to_string()));
        let req = self.http.client().get(format!("{}{SEARCH_PATH}", self.api_base)).query(&params).header("accept", "application/json");
        let resp = self.http.send(req).await.map_err(|e| self.explain(e))?;
        parse_search(&resp, &self.api_base)
    }

    /// The API takes no credentials, so a refusal comes from something in
    /// between (a proxy, a firewall) or a wrong address.
    fn explain(&self, e: SourceError) -> SourceError {
        match e {
            SourceError::Unauthorized(m) => {
                // "... (403 Forbidden): body" → "403 Forbidden"
                let status = m.split_once('(').and_then(|(_, r)| r.split_once(')')).map_or("refused", |(s, _)| s);
                SourceError::Unauthorized(format!(
                    "hackernews: {} refused the request ({status}); the Algolia HN API needs no credentials: check \
                     [source.hackernews] api_base (default https://hn.algolia.com) and any proxy in between",
                    self.api_base
                ))
            }
            other => other,
        }
    }
}

/// A 2xx `search_by_date` response, read as [`HackerNewsSource::fetch`]
/// reads it (then [`SubCursor::first`] or [`SubCursor::advance`]).
/// `api_base` names the server in messages. Public for the fuzz target.
pub fn parse_search(resp: &Response, api_base: &str) -> Result<SearchResponse, SourceError> {
    let html_type = resp.headers.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"));
    if html_type || resp.body.trim_ascii_start().starts_with(b"<") {
        return Err(SourceError::Malformed(format!("hackernews: {api_base} answered an HTML page instead of JSON: {}", truncate_body(&resp.body))));
    }
    resp.json("hackernews: search_by_date")
}

/// One `search_by_date` request shape inside a query.
#[derive(Debug, Clone, PartialEq)]
struct Sub {
    /// Names the sub-search in the cursor.
    key: String,
    query: Option<String>,
    tags: String,
}

/// The sub-searches of a query: a brand's terms are one per line in
/// `Search { q }` (Algolia requires every word of a query, so terms cannot
/// be OR-ed in one request); an account reads its comments.
fn subs(q: &Query) -> Result<Vec<Sub>, SourceError> {
    match &q.kind {
        QueryKind::Search { q: terms } => Ok(terms
            .lines()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| Sub { key: t.to_lowercase(), query: Some(t.to_string()), tags: SEARCH_TAGS.to_string() })
            .collect()),
        QueryKind::AccountActivity { account } => Ok(vec![Sub { key: account.clone(), query: None, tags: format!("comment,author_{account}") }]),
        _ => Err(SourceError::Malformed(format!("hackernews: query {} is not a Hacker News query", q.key))),
    }
}

/// One search query per brand with terms, one account query per brand with
/// an HN user, in brand order.
fn build_queries(brands: &[Brand]) -> Vec<Query> {
    let mut queries = Vec::new();
    for b in brands {
        let mut terms: Vec<String> = Vec::new();
        for t in &b.terms {
            // Quotes and newlines have meanings in the query string and the
            // `q` encoding; a term is plain words.
            let t: String = t.chars().map(|c| if c == '"' || c.is_whitespace() { ' ' } else { c }).collect();
            let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
            if !t.is_empty() && !terms.iter().any(|x| x.eq_ignore_ascii_case(&t)) {
                terms.push(t);
            }
        }
        if !terms.is_empty() {
            queries.push(Query {
                key: format!("hackernews:search:{}", b.id),
                brands: vec![b.id.clone()],
                exclusive: false,
                kind: QueryKind::Search { q: terms.join("\n") },
            });
        }
    }
    for b in brands {
        if let Some(user) = b.accounts.hackernews.as_deref().map(|u| u.trim().trim_start_matches('@')).filter(|u| !u.is_empty()) {
            queries.push(Query {
                key: format!("hackernews:account:{}", b.id),
                brands: vec![b.id.clone()],
                exclusive: false,
                // HN user names are case-sensitive in tags (`author_pg`).
                kind: QueryKind::AccountActivity { account: user.to_string() },
            });
        }
    }
    queries
}

/// What the store keeps between polls: a cursor per sub-search, and the
/// sub-searches of the current poll still to read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(default)]
    pub subs: BTreeMap<String, SubCursor>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub todo: Vec<String>,
}

impl Cursor {
    pub fn parse(s: &str) -> Option<Cursor> {
        serde_json::from_str(s).ok()
    }
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("cursor serializes")
    }
}

/// One sub-search's position.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SubCursor {
    /// The newest `created_at_i` read.
    pub t: i64,
    /// `objectID` and `created_at_i` of what was read within
    /// [`OVERLAP_SECS`] of `t` (and during the current poll), to skip them
    /// when read again.
    #[serde(default)]
    pub recent: Vec<(String, i64)>,
    /// During a poll of several pages: the next page to read...
    #[serde(default, skip_serializing_if = "is_zero")]
    pub page: u32,
    /// ...the upper bound of the pages (the newest `created_at_i` of the
    /// poll's first page, lowered past Algolia's 1000-hit cap), which keeps
    /// pages stable while new items arrive...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper: Option<i64>,
    /// ...and the newest `created_at_i` of the poll, the next `t`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest: Option<i64>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl SubCursor {
    /// The cursor after a first poll's page, and its posts. With no hits
    /// the cursor starts at `now`: older items are not news.
    pub fn first(body: &SearchResponse, now: i64) -> (SubCursor, Vec<Post>) {
        let t = body.hits.iter().map(|h| h.created_at_i).max().unwrap_or(now);
        let mut c = SubCursor { t, ..SubCursor::default() };
        c.recent = body.hits.iter().map(|h| (h.object_id.clone(), h.created_at_i)).collect();
        c.prune();
        (c, body.hits.iter().filter_map(to_post).collect())
    }

    /// `created_at_i>=<t - overlap>`, plus the poll's upper bound once paging.
    fn numeric_filters(&self) -> String {
        let mut f = vec![format!("created_at_i>={}", self.t.saturating_sub(OVERLAP_SECS).max(0))];
        if let Some(upper) = self.upper {
            f.push(format!("created_at_i<={upper}"));
        }
        f.join(",")
    }

    /// Takes one page of a later poll: returns the posts not read before
    /// and whether this sub-search's poll is done.
    pub fn advance(&mut self, body: &SearchResponse) -> (Vec<Post>, bool) {
        let seen: HashSet<&str> = self.recent.iter().map(|(id, _)| id.as_str()).collect();
        let fresh: Vec<&Hit> = body.hits.iter().filter(|h| !seen.contains(h.object_id.as_str())).collect();
        let posts = fresh.iter().filter_map(|h| to_post(h)).collect();
        self.recent.extend(fresh.iter().map(|h| (h.object_id.clone(), h.created_at_i)));
        if self.newest.is_none() {
            // The first page of this poll: its newest hit is where the
            // cursor lands once the poll is done, and bounds later pages.
            self.newest = body.hits.iter().map(|h| h.created_at_i).max();
            self.upper = self.newest;
        }
        let next = self.page + 1;
        if !body.hits.is_empty() && next < body.nb_pages && next * HITS_PER_PAGE < MAX_RETRIEVABLE {
            self.page = next;
            return (posts, false);
        }
        // `nbPages` stops at the cap; `nbHits` says what lies beyond it.
        let capped = !body.hits.is_empty() && next * HITS_PER_PAGE >= MAX_RETRIEVABLE && body.nb_hits > u64::from(next * HITS_PER_PAGE);
        if capped {
            // Algolia serves only the first 1000 hits of a query: narrow the
            // window to what is older than this page and start again at
            // page 0. Hits at the boundary second are read twice and
            // skipped by `recent`.
            let oldest = body.hits.iter().map(|h| h.created_at_i).min();
            if let Some(oldest) = oldest.filter(|o| Some(*o) < self.upper) {
                self.upper = Some(oldest);
                self.page = 0;
                return (posts, false);
            }
            tracing::warn!(hits = body.nb_hits, "more Hacker News hits in one second than Algolia serves for one query; the rest are skipped");
        }
        self.t = self.t.max(self.newest.unwrap_or(self.t));
        self.page = 0;
        self.upper = None;
        self.newest = None;
        self.prune();
        (posts, true)
    }

    fn prune(&mut self) {
        let floor = self.t.saturating_sub(OVERLAP_SECS);
        self.recent.retain(|(_, at)| *at >= floor);
        let mut ids = HashSet::new();
        self.recent.retain(|(id, _)| ids.insert(id.clone()));
        self.recent.sort_by_key(|r| std::cmp::Reverse(r.1));
        self.recent.truncate(MAX_RECENT);
    }
}

/// A post read by two terms of one first poll appears once.
fn dedupe(posts: Vec<Post>) -> Vec<Post> {
    let mut ids = HashSet::new();
    posts.into_iter().filter(|p| ids.insert(p.platform_id.clone())).collect()
}

// ---- wire types (REFERENCE 5.2) ----

#[derive(Debug, Deserialize)]
pub struct SearchResponse {
    #[serde(deserialize_with = "lenient_hits")]
    hits: Vec<Hit>,
    #[serde(rename = "nbPages", default)]
    nb_pages: u32,
    #[serde(rename = "nbHits", default)]
    nb_hits: u64,
}

#[derive(Debug, Deserialize)]
struct Hit {
    #[serde(rename = "objectID")]
    object_id: String,
    /// 0 when absent; then taken from `created_at`.
    #[serde(default)]
    created_at_i: i64,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    author: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    story_text: Option<String>,
    #[serde(default)]
    comment_text: Option<String>,
    #[serde(default)]
    parent_id: Option<serde_json::Value>,
    #[serde(default)]
    story_id: Option<serde_json::Value>,
    #[serde(rename = "_tags", default)]
    tags: Vec<String>,
}

/// Hits one by one: a hit that cannot be read is skipped and logged rather
/// than failing the page (and wedging the query on it forever).
fn lenient_hits<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Hit>, D::Error> {
    let values: Vec<serde_json::Value> = Vec::deserialize(d)?;
    Ok(values
        .into_iter()
        .filter_map(|v| {
            let id = v.get("objectID").and_then(|i| i.as_str()).unwrap_or("?").to_string();
            let mut hit: Hit =
                serde_json::from_value(v).map_err(|e| tracing::warn!(id = %id, error = %e, "hackernews: skipping a hit that cannot be read")).ok()?;
            if hit.created_at_i == 0 {
                hit.created_at_i = hit.created_at.as_deref().and_then(parse_created_at).map(|d| d.timestamp()).unwrap_or(0);
            }
            if hit.created_at_i == 0 {
                tracing::warn!(id = %id, "hackernews: skipping a hit without a creation time");
                return None;
            }
            Some(hit)
        })
        .collect())
}

/// `parent_id`/`story_id` are integers; `objectID` a string. Compare as
/// strings, whichever the index sent.
fn id_string(v: &Option<serde_json::Value>) -> Option<String> {
    match v.as_ref()? {
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// A hit as a post: stories read as their title (and text), comments as
/// their text. A comment replies to its `parent_id` within `story_id`.
fn to_post(h: &Hit) -> Option<Post> {
    let created_at = Utc.timestamp_opt(h.created_at_i, 0).single()?;
    let is_comment = h.comment_text.is_some() || h.tags.iter().any(|t| t == "comment");
    let text = if is_comment {
        html_to_text(h.comment_text.as_deref().unwrap_or_default())
    } else {
        let title = h.title.as_deref().map(html_to_text).unwrap_or_default();
        let body = h.story_text.as_deref().map(html_to_text).unwrap_or_default();
        match (title.is_empty(), body.is_empty()) {
            (_, true) => title,
            (true, false) => body,
            (false, false) => format!("{title}\n\n{body}"),
        }
    };
    let author = h.author.as_deref().unwrap_or_default().trim().to_lowercase();
    Some(Post {
        platform: Platform::HackerNews,
        url: format!("https://news.ycombinator.com/item?id={}", h.object_id),
        platform_id: h.object_id.clone(),
        // HN has no user ids: the name is the id.
        author_id: author.clone(),
        author,
        author_followers: None,
        text,
        lang: None,
        created_at,
        in_reply_to_id: if is_comment { id_string(&h.parent_id) } else { None },
        in_reply_to_author_id: None,
        in_reply_to_author: None,
        conversation_id: id_string(&h.story_id),
        mentions: Vec::new(),
        // Points are votes, not reposts: they say nothing about spread.
        reposts: 0,
        addressed_to_token_account: false,
        rating: None,
    })
}

/// `created_at` as Algolia writes it, with or without milliseconds, for a
/// hit that lacks `created_at_i` (REFERENCE 5.5).
pub fn parse_created_at(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|d| d.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::tests_support::brand;

    fn fixture() -> SearchResponse {
        serde_json::from_str(include_str!("../../tests/fixtures/hackernews/search_by_date.json")).unwrap()
    }

    #[test]
    fn the_recorded_comment_and_story_become_posts() {
        let body = fixture();
        let posts: Vec<Post> = body.hits.iter().filter_map(to_post).collect();
        assert_eq!(posts.len(), 2);
        let c = &posts[0];
        assert_eq!(c.platform_id, "41239988");
        assert_eq!(c.url, "https://news.ycombinator.com/item?id=41239988");
        assert_eq!(c.author, "tcas");
        assert_eq!(c.text, "We switched our office to AcmeCoffee last month – no complaints so far.\n\nTheir support answered within an hour.");
        assert_eq!(c.in_reply_to_id.as_deref(), Some("41238001"));
        assert_eq!(c.conversation_id.as_deref(), Some("41234567"));
        assert_eq!(c.created_at.timestamp(), 1_723_713_164);
        let s = &posts[1];
        assert_eq!(s.text, "Show HN: A latte-art robot built for AcmeCoffee");
        assert_eq!(s.in_reply_to_id, None, "a story replies to nothing");
        assert_eq!(s.conversation_id.as_deref(), Some("41234001"));
        assert_eq!(s.author_followers, None);
    }

    #[test]
    fn a_first_poll_starts_at_the_newest_hit_and_an_empty_one_at_now() {
        let (c, posts) = SubCursor::first(&fixture(), 2_000_000_000);
        assert_eq!(c.t, 1_723_713_164);
        assert_eq!(posts.len(), 2);
        assert!(c.recent.iter().any(|(id, _)| id == "41239988"));
        let empty: SearchResponse = serde_json::from_str(r#"{"hits":[],"nbPages":0,"nbHits":0}"#).unwrap();
        let (c, posts) = SubCursor::first(&empty, 2_000_000_000);
        assert_eq!((c.t, posts.len()), (2_000_000_000, 0));
        assert_eq!(c.numeric_filters(), format!("created_at_i>={}", 2_000_000_000 - OVERLAP_SECS));
    }

    #[test]
    fn hits_read_before_are_skipped_and_paging_keeps_an_upper_bound() {
        let hit = |id: &str, t: i64| format!(r#"{{"objectID":"{id}","created_at_i":{t},"author":"a","comment_text":"x","_tags":["comment"]}}"#);
        let mut c = SubCursor { t: 100, recent: vec![("1".into(), 100)], ..SubCursor::default() };
        let page0: SearchResponse =
            serde_json::from_str(&format!(r#"{{"hits":[{},{},{}],"nbPages":2,"nbHits":4}}"#, hit("3", 120), hit("2", 110), hit("1", 100))).unwrap();
        let (posts, done) = c.advance(&page0);
        assert_eq!(posts.iter().map(|p| p.platform_id.as_str()).collect::<Vec<_>>(), ["3", "2"]);
        assert!(!done);
        assert_eq!((c.page, c.upper, c.t), (1, Some(120), 100), "t moves only when the poll is done");
        assert_eq!(c.numeric_filters(), "created_at_i>=0,created_at_i<=120", "the overlap never goes below 0");
        let page1: SearchResponse = serde_json::from_str(&format!(r#"{{"hits":[{}],"nbPages":2,"nbHits":4}}"#, hit("0", 99))).unwrap();
        let (posts, done) = c.advance(&page1);
        assert_eq!(posts.len(), 1);
        assert!(done);
        assert_eq!((c.page, c.upper, c.t), (0, None, 120));
        let again = c.clone();
        let (posts, _) = c.advance(&page0);
        assert!(posts.is_empty(), "nothing is returned twice");
        assert_eq!(c.t, again.t);
    }

    #[test]
    fn queries_are_one_search_per_brand_with_terms_and_one_per_hn_account() {
        let mut b = brand();
        b.terms = vec!["Interjet".into(), "inter \"jet\"".into(), "INTERJET".into()];
        b.accounts.hackernews = Some("Interjet_HN".into());
        let qs = build_queries(&[b]);
        assert_eq!(qs.len(), 2);
        assert_eq!(qs[0].key, "hackernews:search:interjet");
        assert_eq!(qs[0].kind, QueryKind::Search { q: "Interjet\ninter jet".into() });
        assert_eq!(qs[1].key, "hackernews:account:interjet");
        assert_eq!(qs[1].kind, QueryKind::AccountActivity { account: "Interjet_HN".into() });
        let subs = subs(&qs[1]).unwrap();
        assert_eq!(subs[0].tags, "comment,author_Interjet_HN");
        assert_eq!(subs[0].query, None);
    }

    #[test]
    fn ids_are_strings_whether_the_index_sent_numbers_or_strings() {
        assert_eq!(id_string(&Some(serde_json::json!(41238001))).as_deref(), Some("41238001"));
        assert_eq!(id_string(&Some(serde_json::json!("7"))).as_deref(), Some("7"));
        assert_eq!(id_string(&Some(serde_json::Value::Null)), None);
        assert!(parse_created_at("2006-10-09T18:21:51.000Z").is_some());
        assert!(parse_created_at("2015-08-03T21:32:01Z").is_some());
    }

    #[test]
    fn a_hit_dated_at_the_bottom_of_the_range_moves_the_cursor_without_overflowing() {
        let body: SearchResponse = serde_json::from_str(r#"{"hits":[{"objectID":"1","created_at_i":-9223372036854775808}],"nbPages":1,"nbHits":1}"#).unwrap();
        let (mut c, _) = SubCursor::first(&body, 0);
        assert_eq!(c.t, i64::MIN);
        assert_eq!(c.numeric_filters(), "created_at_i>=0");
        let (_, done) = c.advance(&body);
        assert!(done);
    }
}
