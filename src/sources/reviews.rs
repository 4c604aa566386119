//! What the four review sources share (Google Business Profile, the App
//! Store, Google Play, Trustpilot; see `shared/api/REFERENCE-reviews.md`):
//! one [`ReviewSource`] per configured platform with a query per brand and
//! reviewed thing (location, app, package, business unit), the cached access
//! token, the cursor, and the turn of a [`Review`] into [`Post`]s. Each
//! platform module owns only its requests, auth and JSON.
//!
//! Reviews do not arrive once like posts: their author edits them and the
//! business answers them later, on reviews escucha has already stored. So a
//! poll reads the listing newest first back to [`WINDOW`] ago (never past
//! what the first poll reached: older reviews were never seen, and are not
//! news) and hands every review in it to the store, which keeps each once,
//! refreshes edits, and learns answers.
//!
//! A review is a mention of the brand it is configured under whatever its
//! text says (`addressed_to_token_account`). The business's published reply
//! is a post by [`OWNER`] replying to the review, dated by the reply's last
//! update; a reply older than the review's current text (the author edited
//! after it) no longer answers it.

use super::http::{truncate_body, Http, Response};
use super::{Page, Query, QueryKind, SourceError};
use crate::config::{Brand, Config};
use crate::model::{Platform, Post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::Duration;

/// The author of a business's replies on review platforms: no reviewer's
/// name can be it (a control character), and the matcher treats it as the
/// brand's own account there.
pub const OWNER: &str = "\u{1}business";

/// How far back each poll re-reads reviews for edits and answers: Google
/// Play's API shows only the last week anyway, and a review unanswered for a
/// week has long been paged.
pub const WINDOW: chrono::Duration = chrono::Duration::days(7);

/// A round of pages interrupted (a restart) longer ago than this starts
/// again from the newest review: page tokens do not live for ever.
const ROUND_STALE_MS: i64 = 3_600_000;

/// An access token is renewed this long before it expires.
const TOKEN_MARGIN: chrono::Duration = chrono::Duration::seconds(60);

/// One review as a platform module reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    pub id: String,
    /// The public page that shows it.
    pub url: String,
    pub author: String,
    /// Who wrote it, for counting an author's complaints; the review id
    /// where the platform identifies no reviewer.
    pub author_id: String,
    pub text: String,
    pub lang: Option<String>,
    /// 1-5; None when the platform gave none.
    pub rating: Option<u8>,
    /// When its current text was written (its last edit).
    pub at: DateTime<Utc>,
    /// The time the listing is ordered by (newest first).
    pub sort_at: DateTime<Utc>,
    /// The business's published reply, by its last update.
    pub reply_at: Option<DateTime<Utc>>,
}

/// One page of a platform's listing.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// Newest first, by `sort_at`.
    pub reviews: Vec<Review>,
    /// Where the next page is (page token, URL or number): opaque here.
    pub next: Option<String>,
}

/// The platform part of a review source.
pub enum Api {
    GoogleReviews(super::google_reviews::Api),
    AppStore(super::app_store::Api),
    GooglePlay(super::google_play::Api),
    Trustpilot(super::trustpilot::Api),
}

pub struct ReviewSource {
    http: Http,
    platform: Platform,
    every: Duration,
    queries: Vec<Query>,
    api: Api,
}

/// The configured review sources.
pub fn sources(cfg: &Config) -> Vec<ReviewSource> {
    let s = &cfg.sources;
    let mut out = Vec::new();
    if let Some(c) = &s.google_reviews {
        out.push(ReviewSource::new(Platform::GoogleReviews, c.schedule.every, &cfg.brands, Api::GoogleReviews(super::google_reviews::Api::new(c))));
    }
    if let Some(c) = &s.app_store {
        out.push(ReviewSource::new(Platform::AppStore, c.schedule.every, &cfg.brands, Api::AppStore(super::app_store::Api::new(c))));
    }
    if let Some(c) = &s.google_play {
        out.push(ReviewSource::new(Platform::GooglePlay, c.schedule.every, &cfg.brands, Api::GooglePlay(super::google_play::Api::new(c))));
    }
    if let Some(c) = &s.trustpilot {
        out.push(ReviewSource::new(Platform::Trustpilot, c.schedule.every, &cfg.brands, Api::Trustpilot(super::trustpilot::Api::new(c))));
    }
    out
}

/// What each brand has configured on `platform` under `[brand.accounts]`.
pub fn targets(brand: &Brand, platform: Platform) -> &[String] {
    match platform {
        Platform::GoogleReviews => &brand.accounts.google_reviews,
        Platform::AppStore => &brand.accounts.app_store,
        Platform::GooglePlay => &brand.accounts.google_play,
        Platform::Trustpilot => &brand.accounts.trustpilot,
        _ => &[],
    }
}

impl ReviewSource {
    pub fn new(platform: Platform, every: Duration, brands: &[Brand], api: Api) -> ReviewSource {
        let queries = brands
            .iter()
            .flat_map(|b| {
                targets(b, platform).iter().map(move |t| Query {
                    key: format!("{platform}:{}:{t}", b.id),
                    brands: vec![b.id.clone()],
                    exclusive: true,
                    kind: QueryKind::Reviews { target: t.clone() },
                })
            })
            .collect();
        ReviewSource { http: Http::new(platform.as_str()), platform, every, queries, api }
    }

    pub fn platform(&self) -> Platform {
        self.platform
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

    /// One page of `q`'s reviews. The first poll ever reads the newest page
    /// only (what it shows is history unless younger than `backfill`); later
    /// polls read back to [`WINDOW`] ago, a page per call, `more` until done.
    pub async fn fetch(&self, q: &Query, cursor: Option<&str>) -> Result<Page, SourceError> {
        let QueryKind::Reviews { target } = &q.kind else {
            return Err(SourceError::Malformed(format!("{}: query {} is not a review query", self.platform, q.key)));
        };
        let now = self.http.now();
        let prev = cursor.map(|c| {
            Cursor::parse(c).unwrap_or_else(|| {
                tracing::warn!(query = %q.key, "unreadable review cursor; reading reviews from now on");
                Cursor { floor: now.timestamp_millis(), next: None, round: None }
            })
        });
        let token = prev.as_ref().and_then(|c| c.next.clone().filter(|_| c.round.is_some_and(|r| now.timestamp_millis() - r < ROUND_STALE_MS)));
        let listing = match &self.api {
            Api::GoogleReviews(a) => a.list(&self.http, target, token.as_deref()).await?,
            Api::AppStore(a) => a.list(&self.http, target, token.as_deref()).await?,
            Api::GooglePlay(a) => a.list(&self.http, target, token.as_deref()).await?,
            Api::Trustpilot(a) => a.list(&self.http, target, token.as_deref()).await?,
        };
        Ok(page(self.platform, listing, prev, token.is_some(), now))
    }
}

/// Where a review query stands, persisted with each page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// Reviews ordered before this (ms) were never read: the first poll
    /// stopped above them. `i64::MIN` when it read them all.
    pub floor: i64,
    /// The next page of the round under way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// When that round started (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<i64>,
}

impl Cursor {
    pub fn parse(s: &str) -> Option<Cursor> {
        serde_json::from_str(s).ok()
    }
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The page to commit for one listing page, and the cursor after it.
/// `continued`: the listing was the next page of a round under way.
pub fn page(platform: Platform, listing: Listing, prev: Option<Cursor>, continued: bool, now: DateTime<Utc>) -> Page {
    let Some(prev) = prev else {
        // First poll: this page and nothing older. Reviews below it were
        // never seen; the page's oldest is where later polls stop.
        let floor = match (&listing.next, listing.reviews.last()) {
            (Some(_), Some(oldest)) => oldest.sort_at.timestamp_millis(),
            _ => i64::MIN,
        };
        let posts = listing.reviews.iter().flat_map(|r| posts(platform, r)).collect();
        return Page { posts, cursor: Cursor { floor, next: None, round: None }.encode(), more: false };
    };
    let lower = prev.floor.max((now - WINDOW).timestamp_millis());
    let kept: Vec<&Review> = listing.reviews.iter().filter(|r| r.sort_at.timestamp_millis() >= lower).collect();
    let done = listing.next.is_none() || kept.len() < listing.reviews.len() || listing.reviews.is_empty();
    let round = if continued { prev.round } else { Some(now.timestamp_millis()) };
    let cursor = if done { Cursor { floor: prev.floor, next: None, round: None } } else { Cursor { floor: prev.floor, next: listing.next.clone(), round } };
    let posts = kept.into_iter().flat_map(|r| posts(platform, r)).collect();
    Page { posts, cursor: cursor.encode(), more: !done }
}

/// The review as a mention, and the business's reply if it still answers it.
pub fn posts(platform: Platform, r: &Review) -> Vec<Post> {
    let review = Post {
        platform,
        platform_id: r.id.clone(),
        url: r.url.clone(),
        author_id: r.author_id.clone(),
        author: r.author.clone(),
        author_followers: None,
        text: r.text.clone(),
        lang: r.lang.clone(),
        created_at: r.at,
        in_reply_to_id: None,
        in_reply_to_author_id: None,
        in_reply_to_author: None,
        // Reviews of one location/app/package are not a conversation.
        conversation_id: None,
        mentions: vec![],
        reposts: 0,
        addressed_to_token_account: true,
        rating: r.rating,
    };
    let mut out = vec![review];
    if let Some(at) = r.reply_at.filter(|at| *at >= r.at) {
        out.push(Post {
            platform,
            platform_id: format!("{}#reply", r.id),
            url: r.url.clone(),
            author_id: OWNER.into(),
            author: OWNER.into(),
            author_followers: None,
            text: String::new(),
            lang: None,
            created_at: at,
            in_reply_to_id: Some(r.id.clone()),
            in_reply_to_author_id: Some(r.author_id.clone()),
            in_reply_to_author: None,
            conversation_id: None,
            mentions: vec![],
            reposts: 0,
            addressed_to_token_account: false,
            rating: None,
        });
    }
    out
}

/// An access token and when it must be renewed, shared by a source's queries.
#[derive(Default)]
pub struct TokenCache(Mutex<Option<(String, DateTime<Utc>)>>);

impl TokenCache {
    /// The cached token if it is still good at `now`.
    pub fn get(&self, now: DateTime<Utc>) -> Option<String> {
        let guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        guard.as_ref().filter(|(_, until)| *until - TOKEN_MARGIN > now).map(|(t, _)| t.clone())
    }
    pub fn set(&self, token: String, until: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((token, until));
    }
    pub fn clear(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

#[derive(Deserialize)]
struct TokenBody {
    access_token: String,
    /// Google sends a number, Trustpilot a string.
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
struct OAuthError {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// Sends a token request and reads the access token and its lifetime.
/// A refusal (400, 401, 403: RFC 6749 `invalid_grant`, `invalid_client`)
/// is [`SourceError::Unauthorized`] saying which `credential` to renew; the
/// body's error words are quoted, the request never is (it holds secrets).
pub async fn token_request(http: &Http, req: reqwest::RequestBuilder, credential: &str, now: DateTime<Utc>) -> Result<(String, DateTime<Utc>), SourceError> {
    let resp = http.exchange(req).await?;
    let status = resp.status.as_u16();
    if (200..300).contains(&status) {
        let body: TokenBody = resp.json("token request")?;
        let secs = match body.expires_in {
            Some(serde_json::Value::Number(n)) => n.as_i64().unwrap_or(3600),
            Some(serde_json::Value::String(s)) => s.trim().parse().unwrap_or(3600),
            _ => 3600,
        };
        return Ok((body.access_token, now + chrono::Duration::seconds(secs.clamp(60, 30 * 86_400))));
    }
    if matches!(status, 400 | 401 | 403) {
        let e: OAuthError = serde_json::from_slice(&resp.body).unwrap_or_default();
        let why = match (e.error, e.error_description) {
            (Some(e), Some(d)) => format!("{e}: {d}"),
            (Some(e), None) => e,
            _ => format!("{status}: {}", truncate_body(&resp.body)),
        };
        return Err(SourceError::Unauthorized(format!("{}: the token endpoint refused {credential} ({why})", http.name())));
    }
    Err(http.check(resp).err().unwrap_or_else(|| SourceError::Malformed(format!("{}: token request answered {status}", http.name()))))
}

/// A JSON API answer: 2xx passes; 401/403 name the `credential`; the rest
/// as [`Http::check`] maps them.
/// GET `url` with the source's bearer token. An access token can be
/// revoked before it expires: a 401 drops the cached one and tries once
/// more with a fresh token; then `check` decides.
pub async fn get_authorized<F, Fut>(
    http: &Http,
    url: &str,
    params: &[(&str, String)],
    cache: &TokenCache,
    token: F,
    credential: &str,
) -> Result<Response, SourceError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<String, SourceError>>,
{
    let mut retried = false;
    loop {
        let t = token().await?;
        let resp = http.exchange(http.client().get(url).query(params).bearer_auth(&t).header("accept", "application/json")).await?;
        if resp.status.as_u16() == 401 && !retried {
            cache.clear();
            retried = true;
            continue;
        }
        return check(http, resp, credential);
    }
}

pub fn check(http: &Http, resp: Response, credential: &str) -> Result<Response, SourceError> {
    match resp.status.as_u16() {
        401 | 403 => {
            Err(SourceError::Unauthorized(format!("{}: the platform refused {credential} ({}): {}", http.name(), resp.status, truncate_body(&resp.body))))
        }
        _ => http.check(resp),
    }
}

/// Parses an RFC 3339 time (with any offset) to UTC.
pub fn time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim()).ok().map(|d| d.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap() + chrono::Duration::hours(h)
    }

    fn review(id: &str, at: DateTime<Utc>) -> Review {
        Review {
            id: id.into(),
            url: String::new(),
            author: "ana".into(),
            author_id: id.into(),
            text: "mal".into(),
            lang: None,
            rating: Some(1),
            at,
            sort_at: at,
            reply_at: None,
        }
    }

    #[test]
    fn the_first_poll_reads_one_page_and_later_polls_stop_where_it_did() {
        let listing = Listing { reviews: vec![review("b", t(10)), review("a", t(5))], next: Some("p2".into()) };
        let first = page(Platform::GoogleReviews, listing, None, false, t(12));
        assert!(!first.more);
        assert_eq!(first.posts.len(), 2);
        let c = Cursor::parse(&first.cursor).unwrap();
        assert_eq!(c.floor, t(5).timestamp_millis());
        // Next poll: a new review on top; the page still says there is more,
        // but "a" is the floor: the round ends there, nothing older is read.
        let listing = Listing { reviews: vec![review("c", t(11)), review("b", t(10)), review("old", t(4))], next: Some("p2".into()) };
        let next = page(Platform::GoogleReviews, listing, Some(c), false, t(13));
        assert!(!next.more);
        assert_eq!(next.posts.iter().map(|p| p.platform_id.as_str()).collect::<Vec<_>>(), ["c", "b"]);
    }

    #[test]
    fn a_round_follows_pages_until_the_window_ends() {
        let c = Cursor { floor: i64::MIN, next: None, round: None };
        let listing = Listing { reviews: vec![review("c", t(200)), review("b", t(190))], next: Some("p2".into()) };
        let p = page(Platform::Trustpilot, listing, Some(c), false, t(200));
        assert!(p.more);
        let c = Cursor::parse(&p.cursor).unwrap();
        assert_eq!(c.next.as_deref(), Some("p2"));
        // Page 2 crosses the week: the round is done.
        let listing = Listing { reviews: vec![review("a", t(100)), review("z", t(10))], next: Some("p3".into()) };
        let p = page(Platform::Trustpilot, listing, Some(c), true, t(200));
        assert!(!p.more);
        assert_eq!(p.posts.len(), 1, "only what is within the week");
        assert_eq!(Cursor::parse(&p.cursor).unwrap().next, None);
    }

    #[test]
    fn a_reply_answers_the_review_unless_the_author_edited_after_it() {
        let mut r = review("r1", t(1));
        r.reply_at = Some(t(2));
        let p = posts(Platform::AppStore, &r);
        assert_eq!(p.len(), 2);
        assert_eq!(p[1].author, OWNER);
        assert_eq!(p[1].in_reply_to_id.as_deref(), Some("r1"));
        assert_eq!(p[1].created_at, t(2));
        assert!(p[0].addressed_to_token_account && p[0].rating == Some(1));
        r.at = t(3);
        assert_eq!(posts(Platform::AppStore, &r).len(), 1, "the edit came after the reply");
    }
}
