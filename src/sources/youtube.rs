//! YouTube source (Data API v3 with an API key): the comment threads of a
//! brand's channel, `commentThreads.list` with `allThreadsRelatedToChannelId`,
//! `order=time` and `part=snippet,replies`. Each brand with
//! `[brand.accounts] youtube = "<channel id>"` gets one query,
//! `youtube:threads:<brand>`. Every comment under the channel is a mention of
//! the brand whatever its text; a reply whose `authorChannelId` is the
//! channel answers the top-level comment.
//!
//! Quota, not a rate limit, is YouTube's constraint: every list page costs a
//! unit, `daily_quota` units a day (10,000 by default), reset at midnight
//! Pacific Time. The source counts the units it spends, plans its interval
//! so that a day of polls fits the quota ([`planned_every`]), and stops until
//! the reset when the quota is spent or YouTube says `quotaExceeded`.
//!
//! Threads stay where their top-level comment put them when a reply comes
//! (REFERENCE-owned.md Y.1), so each poll reads threads started within
//! [`REREAD`] again to see the channel's replies to them; a reply to an older
//! thread is not seen. When a thread has more replies than `part=replies`
//! includes and their count changed, they are listed with `comments.list`
//! (`parentId`, a unit a page).

use super::graph::OVERLAP;
use super::http::{truncate_body, Http, Response};
use super::{Page, Query, QueryKind, SourceError};
use crate::config::{Brand, Secret};
use crate::model::{Platform, Post};
use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

const THREADS_PATH: &str = "/youtube/v3/commentThreads";
const COMMENTS_PATH: &str = "/youtube/v3/comments";
/// "Acceptable values are 1 to 100, inclusive."
const MAX_RESULTS: &str = "100";
/// Threads started within this long are read again on every poll, for the
/// channel's replies to them.
pub const REREAD: chrono::Duration = chrono::Duration::days(3);
/// At most this many pages in one poll of a query.
const MAX_PAGES: u32 = 20;
const SECONDS_PER_DAY: u64 = 86_400;

/// The interval between polls that keeps a day of them within `daily_quota`
/// when a round of all queries costs `units_per_round`: never shorter than
/// `every`.
pub fn planned_every(every: Duration, daily_quota: u64, units_per_round: u64) -> Duration {
    let per_round = Duration::from_secs_f64(SECONDS_PER_DAY as f64 * units_per_round.max(1) as f64 / daily_quota.max(1) as f64);
    every.max(per_round)
}

/// The next midnight in Pacific Time after `now`, when the quota resets.
pub fn quota_reset(now: DateTime<Utc>) -> DateTime<Utc> {
    let tz = chrono_tz::America::Los_Angeles;
    let local = now.with_timezone(&tz).date_naive();
    let next = local.succ_opt().unwrap_or(local).and_time(chrono::NaiveTime::MIN);
    tz.from_local_datetime(&next).earliest().map_or(now + chrono::Duration::days(1), |t| t.with_timezone(&Utc))
}

/// Units spent in the current quota day.
#[derive(Debug, Default)]
struct Quota {
    /// When the current day's count ends (the next PT midnight).
    resets_at: Option<DateTime<Utc>>,
    spent: u64,
}

pub struct YouTubeSource {
    http: Http,
    every: Duration,
    api_base: String,
    key: Secret,
    key_key: String,
    daily_quota: u64,
    queries: Vec<Query>,
    quota: Mutex<Quota>,
    /// Pages the last complete poll of each query read.
    pages: Mutex<HashMap<String, u32>>,
}

impl YouTubeSource {
    pub fn new(cfg: &crate::config::YouTubeSource, brands: &[Brand]) -> YouTubeSource {
        let queries = brands
            .iter()
            .filter_map(|b| {
                Some(Query {
                    key: format!("youtube:threads:{}", b.id),
                    brands: vec![b.id.clone()],
                    exclusive: true,
                    kind: QueryKind::OwnedComments { account: b.accounts.youtube.clone()? },
                })
            })
            .collect();
        YouTubeSource {
            http: Http::new("youtube"),
            every: cfg.schedule.every,
            api_base: cfg.api_base.trim_end_matches('/').to_string(),
            key: cfg.api_key.clone(),
            key_key: cfg.key_key.clone(),
            daily_quota: cfg.daily_quota,
            queries,
            quota: Mutex::new(Quota::default()),
            pages: Mutex::new(HashMap::new()),
        }
    }

    pub fn queries(&self) -> Vec<Query> {
        self.queries.clone()
    }

    /// Units one round of every query costs, as the last polls went (one
    /// page each before any poll).
    pub fn units_per_round(&self) -> u64 {
        let pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        self.queries.iter().map(|q| u64::from(pages.get(&q.key).copied().unwrap_or(1).max(1))).sum()
    }

    /// `every`, or longer when the daily quota needs it.
    pub fn every(&self) -> Duration {
        planned_every(self.every, self.daily_quota, self.units_per_round())
    }

    pub fn daily_quota(&self) -> u64 {
        self.daily_quota
    }

    pub fn http(&self) -> &Http {
        &self.http
    }

    /// The quota reset, while the day's quota is spent.
    pub fn not_before(&self) -> Option<DateTime<Utc>> {
        let now = self.http.now();
        let q = self.quota.lock().unwrap_or_else(|e| e.into_inner());
        q.resets_at.filter(|r| *r > now && q.spent >= self.daily_quota)
    }

    /// Counts one unit, or refuses when the day's quota is spent.
    fn spend(&self) -> Result<(), SourceError> {
        let now = self.http.now();
        let mut q = self.quota.lock().unwrap_or_else(|e| e.into_inner());
        if q.resets_at.is_none_or(|r| now >= r) {
            *q = Quota { resets_at: Some(quota_reset(now)), spent: 0 };
        }
        if q.spent >= self.daily_quota {
            return Err(SourceError::RateLimited { until: q.resets_at });
        }
        q.spent += 1;
        Ok(())
    }

    fn exhausted(&self) -> DateTime<Utc> {
        let now = self.http.now();
        let mut q = self.quota.lock().unwrap_or_else(|e| e.into_inner());
        let resets = quota_reset(now);
        *q = Quota { resets_at: Some(resets), spent: self.daily_quota };
        resets
    }

    /// `check --probe`: one thread of each channel (1 unit each).
    pub async fn probe(&self) -> Vec<(String, Result<String, SourceError>)> {
        let mut out = Vec::new();
        for q in &self.queries {
            let QueryKind::OwnedComments { account } = &q.kind else { continue };
            let r = match self.threads(account, None, "1").await {
                Ok(Threads::List(l)) => Ok(format!("key reads channel {account} ({} thread(s) listed)", l.page_info.map_or(0, |p| p.total_results))),
                Ok(Threads::BadPageToken) => Ok(format!("key reads channel {account}")),
                Err(e) => Err(e),
            };
            out.push((format!("channel {account} (brand {})", q.brands.join(",")), r));
        }
        out
    }

    async fn threads(&self, channel: &str, page_token: Option<&str>, max: &str) -> Result<Threads, SourceError> {
        self.spend()?;
        let mut params: Vec<(&str, &str)> = vec![
            ("part", "snippet,replies"),
            ("allThreadsRelatedToChannelId", channel),
            ("order", "time"),
            ("maxResults", max),
            ("textFormat", "plainText"),
            ("key", self.key.expose()),
        ];
        if let Some(t) = page_token {
            params.push(("pageToken", t));
        }
        let req = self.http.client().get(format!("{}{THREADS_PATH}", self.api_base)).query(&params);
        let resp = self.http.exchange(req).await?;
        if resp.status.is_success() {
            return Ok(Threads::List(resp.json("youtube: commentThreads.list")?));
        }
        self.failure(&resp).map(|()| Threads::BadPageToken)
    }

    /// An error answer as what the daemon does next. Ok: the page token was
    /// refused (restart the listing).
    fn failure(&self, resp: &Response) -> Result<(), SourceError> {
        let status = resp.status;
        let err: Option<ApiError> = serde_json::from_slice::<ErrorEnvelope>(&resp.body).ok().map(|e| e.error);
        let reasons: Vec<String> = err
            .as_ref()
            .map(|e| e.errors.iter().map(|x| x.reason.clone()).chain(e.details.iter().filter_map(|d| d.reason.clone())).collect())
            .unwrap_or_default();
        let has = |r: &str| reasons.iter().any(|x| x == r);
        let message: String = err.as_ref().map_or_else(|| truncate_body(&resp.body), |e| crate::text::html_to_text(&e.message)).chars().take(300).collect();
        if has("quotaExceeded") || has("dailyLimitExceeded") {
            let until = self.exhausted();
            tracing::error!(until = %until.to_rfc3339(), "YouTube quota exhausted; no requests until it resets at midnight Pacific Time");
            return Err(SourceError::RateLimited { until: Some(until) });
        }
        if status.as_u16() == 429 || has("rateLimitExceeded") || has("userRateLimitExceeded") {
            return Err(SourceError::RateLimited { until: resp.rate.retry_after.or(Some(self.http.now() + chrono::Duration::seconds(60))) });
        }
        if has("invalidPageToken") {
            return Ok(());
        }
        if has("API_KEY_INVALID") || has("keyInvalid") || has("keyExpired") || has("API_KEY_SERVICE_BLOCKED") || status.as_u16() == 401 {
            return Err(SourceError::Unauthorized(format!(
                "youtube: the API key in {} was refused ({status}: {message}); create a new key for the YouTube Data API v3 and put it there, then reload escucha",
                self.key_key
            )));
        }
        if has("commentsDisabled") || has("channelNotFound") || status.as_u16() == 404 {
            return Err(SourceError::Malformed(format!("youtube: {message} ({status}); check the channel id in [brand.accounts] youtube")));
        }
        if status.as_u16() == 403 {
            return Err(SourceError::Unauthorized(format!(
                "youtube: the API key in {} may not read comment threads ({status}: {message}); enable the YouTube Data API v3 for its project",
                self.key_key
            )));
        }
        if status.is_server_error() {
            return Err(SourceError::Transient(format!("youtube: server error {status}: {message}")));
        }
        Err(SourceError::Malformed(format!("youtube: commentThreads.list refused ({status}): {message}")))
    }

    pub async fn fetch(&self, q: &Query, cursor: Option<&str>) -> Result<Page, SourceError> {
        let QueryKind::OwnedComments { account: channel } = &q.kind else {
            return Err(SourceError::Malformed(format!("youtube: query {} is not a YouTube query", q.key)));
        };
        let now = self.http.now();
        let first = cursor.is_none();
        let mut c = match cursor {
            None => Cursor::default(),
            Some(s) => serde_json::from_str(s).unwrap_or_else(|_| {
                tracing::warn!(query = %q.key, "unreadable YouTube cursor; reading from now on");
                Cursor { since: Some(now.timestamp()), ..Cursor::default() }
            }),
        };
        if c.started.is_none() {
            c.started = Some(now.timestamp());
            c.pages = 0;
        }
        let from = c.since.and_then(|s| DateTime::from_timestamp(s, 0)).map(|t| t - OVERLAP);
        if c.replies {
            return self.fetch_replies(q, c, from).await;
        }
        let list = match self.threads(channel, c.page_token.as_deref(), MAX_RESULTS).await? {
            Threads::List(l) => l,
            Threads::BadPageToken => {
                tracing::warn!(query = %q.key, "YouTube refused the page token; ending this poll");
                ThreadList::default()
            }
        };
        c.pages += 1;
        let posts: Vec<Post> = list.items.iter().flat_map(to_posts).filter(|p| from.is_none_or(|f| p.created_at >= f)).collect();
        // Threads with more replies than the answer includes, and new ones
        // since they were last listed: their replies are listed apart.
        for t in &list.items {
            let total = t.snippet.total_reply_count;
            let included = t.replies.as_ref().map_or(0, |r| r.comments.len() as u64);
            let published = t.snippet.top_level_comment.snippet.published_at.map_or(0, |p| p.timestamp());
            let seen = c.marks.insert(t.id.clone(), Mark { replies: total, published, author: t.snippet.top_level_comment.author_id() });
            if !first && total > included && seen.is_none_or(|m| m.replies != total) && !c.queue.contains(&t.id) {
                c.queue.push(t.id.clone());
            }
        }
        let oldest = list.items.iter().filter_map(|t| t.snippet.top_level_comment.snippet.published_at).min();
        let reread_from = from.map(|f| f.min(now - REREAD));
        let next = list.next_page_token.clone().filter(|_| !first && c.pages < MAX_PAGES && oldest.zip(reread_from).is_none_or(|(o, r)| o >= r));
        match next {
            Some(t) => c.page_token = Some(t),
            None if !c.queue.is_empty() => {
                c.page_token = None;
                c.replies = true;
            }
            None => self.finish(q, &mut c, now),
        }
        Ok(Page { posts, more: c.started.is_some(), cursor: serde_json::to_string(&c).expect("cursor serializes") })
    }

    /// One page of the replies of the first queued thread (`comments.list`
    /// with `parentId`, a unit a page).
    async fn fetch_replies(&self, q: &Query, mut c: Cursor, from: Option<DateTime<Utc>>) -> Result<Page, SourceError> {
        let now = self.http.now();
        let Some(thread) = c.queue.first().cloned() else {
            self.finish(q, &mut c, now);
            return Ok(Page { posts: vec![], more: false, cursor: serde_json::to_string(&c).expect("cursor serializes") });
        };
        self.spend()?;
        let mut params: Vec<(&str, &str)> =
            vec![("part", "snippet"), ("parentId", &thread), ("maxResults", MAX_RESULTS), ("textFormat", "plainText"), ("key", self.key.expose())];
        if let Some(t) = c.page_token.as_deref() {
            params.push(("pageToken", t));
        }
        let req = self.http.client().get(format!("{}{COMMENTS_PATH}", self.api_base)).query(&params);
        let resp = self.http.exchange(req).await?;
        c.pages += 1;
        let list: CommentList = if resp.status.is_success() {
            resp.json("youtube: comments.list")?
        } else {
            // A thread deleted meanwhile, or a stale page token: move on.
            self.failure(&resp).or_else(|e| match e {
                SourceError::Malformed(m) => {
                    tracing::warn!(query = %q.key, "{m}; skipping this thread's replies");
                    Ok(())
                }
                other => Err(other),
            })?;
            CommentList::default()
        };
        let author = c.marks.get(&thread).map(|m| m.author.clone());
        let posts: Vec<Post> =
            list.items.iter().filter_map(|r| reply_post(r, &thread, author.as_deref())).filter(|p| from.is_none_or(|f| p.created_at >= f)).collect();
        match list.next_page_token.filter(|_| c.pages < MAX_PAGES) {
            Some(t) => c.page_token = Some(t),
            None => {
                c.page_token = None;
                c.queue.remove(0);
                if c.queue.is_empty() {
                    self.finish(q, &mut c, now);
                }
            }
        }
        Ok(Page { posts, more: c.started.is_some(), cursor: serde_json::to_string(&c).expect("cursor serializes") })
    }

    /// Ends a poll: its start is where the next one's news begins; what it
    /// cost plans the interval.
    fn finish(&self, q: &Query, c: &mut Cursor, now: DateTime<Utc>) {
        self.pages.lock().unwrap_or_else(|e| e.into_inner()).insert(q.key.clone(), c.pages);
        c.since = c.started.take();
        c.page_token = None;
        c.pages = 0;
        c.replies = false;
        c.queue.clear();
        let keep = (now - REREAD - REREAD).timestamp();
        c.marks.retain(|_, m| m.published >= keep);
    }
}

enum Threads {
    List(ThreadList),
    BadPageToken,
}

/// Between polls: where news starts; during one: where it started and the
/// next page.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Cursor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    since: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    started: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    page_token: Option<String>,
    #[serde(default)]
    pages: u32,
    /// Listing the replies of `queue` (after the threads).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    replies: bool,
    /// Threads whose replies are to be listed apart.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    queue: Vec<String>,
    /// Recent threads as last listed.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    marks: std::collections::BTreeMap<String, Mark>,
}

/// What a thread looked like when last listed.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Mark {
    replies: u64,
    published: i64,
    author: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommentList {
    #[serde(default)]
    items: Vec<Comment>,
    next_page_token: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ErrorEnvelope {
    error: ApiError,
}

#[derive(Debug, Deserialize)]
struct ApiError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    errors: Vec<ErrorItem>,
    #[serde(default)]
    details: Vec<Detail>,
}

#[derive(Debug, Deserialize)]
struct ErrorItem {
    #[serde(default)]
    reason: String,
}

#[derive(Debug, Deserialize)]
struct Detail {
    reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ThreadList {
    #[serde(default)]
    items: Vec<Thread>,
    next_page_token: Option<String>,
    page_info: Option<PageInfo>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    #[serde(default)]
    total_results: u64,
}

#[derive(Debug, Deserialize)]
struct Thread {
    id: String,
    snippet: ThreadSnippet,
    replies: Option<Replies>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ThreadSnippet {
    top_level_comment: Comment,
    #[serde(default)]
    total_reply_count: u64,
}

#[derive(Debug, Deserialize)]
struct Replies {
    #[serde(default)]
    comments: Vec<Comment>,
}

#[derive(Debug, Deserialize)]
struct Comment {
    id: String,
    snippet: CommentSnippet,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommentSnippet {
    channel_id: Option<String>,
    video_id: Option<String>,
    text_display: Option<String>,
    text_original: Option<String>,
    parent_id: Option<String>,
    author_display_name: Option<String>,
    author_channel_id: Option<AuthorChannel>,
    published_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
struct AuthorChannel {
    value: String,
}

impl Comment {
    /// The author's channel; a comment without one (rare) gets an id of
    /// its own, so no two such comments count as one author.
    fn author_id(&self) -> String {
        self.snippet.author_channel_id.as_ref().map_or_else(|| format!("unknown:{}", self.id), |a| a.value.clone())
    }
}

/// A thread's top-level comment and the replies it includes, as posts.
fn to_posts(t: &Thread) -> Vec<Post> {
    let top = &t.snippet.top_level_comment;
    let mut out: Vec<Post> = to_post(top, None, &t.id).into_iter().collect();
    for r in t.replies.iter().flat_map(|r| r.comments.iter()) {
        out.extend(to_post(r, Some(top), &t.id));
    }
    out
}

fn to_post(c: &Comment, top: Option<&Comment>, thread_id: &str) -> Option<Post> {
    let s = &c.snippet;
    let created_at = s.published_at?;
    let text = match (&s.text_original, &s.text_display) {
        (Some(t), _) if !t.is_empty() => t.clone(),
        (_, Some(d)) => crate::text::html_to_text(d),
        _ => String::new(),
    };
    let url = match (&s.video_id, &s.channel_id) {
        (Some(v), _) if !v.is_empty() => format!("https://www.youtube.com/watch?v={v}&lc={}", c.id),
        (_, Some(ch)) => format!("https://www.youtube.com/channel/{ch}?lc={}", c.id),
        _ => format!("https://www.youtube.com/?lc={}", c.id),
    };
    let parent = top.map(|t| s.parent_id.clone().unwrap_or_else(|| t.id.clone()));
    Some(Post {
        platform: Platform::YouTube,
        platform_id: c.id.clone(),
        url,
        author_id: c.author_id(),
        author: s.author_display_name.clone().unwrap_or_default(),
        author_followers: None,
        text,
        lang: None,
        created_at,
        in_reply_to_id: parent,
        in_reply_to_author_id: top.map(Comment::author_id),
        in_reply_to_author: None,
        conversation_id: Some(thread_id.to_string()),
        mentions: vec![],
        reposts: 0,
        addressed_to_token_account: true,
        rating: None,
    })
}

/// A reply listed by `comments.list` under `thread`, whose author is
/// `thread_author` when known.
fn reply_post(r: &Comment, thread: &str, thread_author: Option<&str>) -> Option<Post> {
    let mut p = to_post(r, None, thread)?;
    p.in_reply_to_id = Some(r.snippet.parent_id.clone().unwrap_or_else(|| thread.to_string()));
    p.in_reply_to_author_id = thread_author.map(str::to_string);
    Some(p)
}

/// A 2xx commentThreads body as posts (for tests and fuzzing).
pub fn parse_threads(body: &[u8]) -> Result<Vec<Post>, SourceError> {
    let list: ThreadList = super::http::parse_json(body, "youtube: commentThreads.list")?;
    Ok(list.items.iter().flat_map(to_posts).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_thread_maps_to_a_comment_and_the_channels_reply() {
        let posts = parse_threads(include_bytes!("../../tests/fixtures/youtube/commentThreads_channel.json")).unwrap();
        assert_eq!(posts.len(), 2);
        let c = &posts[0];
        assert_eq!(c.platform, Platform::YouTube);
        assert_eq!(c.platform_id, "Ugz9-OsnzUIVFRhQwHE9AaABAg");
        assert_eq!(c.text, "Perdieron mi maleta y nadie responde");
        assert_eq!(c.author, "Pepe");
        assert_eq!(c.author_id, "UCfan00000000000000000001");
        assert_eq!(c.url, "https://www.youtube.com/watch?v=dmlkZW8xVUN&lc=Ugz9-OsnzUIVFRhQwHE9AaABAg");
        assert_eq!(c.in_reply_to_id, None);
        let r = &posts[1];
        assert_eq!(r.author_id, "UCInt3rjetCanalOficial01");
        assert_eq!(r.in_reply_to_id.as_deref(), Some("Ugz9-OsnzUIVFRhQwHE9AaABAg"));
        assert_eq!(r.in_reply_to_author_id.as_deref(), Some("UCfan00000000000000000001"));
    }

    #[test]
    fn the_captured_video_threads_parse_too() {
        let posts = parse_threads(include_bytes!("../../tests/fixtures/youtube/commentThreads.json")).unwrap();
        assert!(posts.len() >= 2);
    }

    #[test]
    fn polling_is_planned_to_fit_the_daily_quota() {
        let m = Duration::from_secs(60);
        // 10,000 units a day, one unit a round: 8.64 s; `every` wins.
        assert_eq!(planned_every(m, 10_000, 1), m);
        assert_eq!(planned_every(Duration::from_secs(1), 10_000, 1), Duration::from_secs_f64(8.64));
        // 3 pages a round on a 1,000-unit quota: every 259.2 s.
        assert_eq!(planned_every(m, 1_000, 3), Duration::from_secs_f64(259.2));
    }

    #[test]
    fn the_quota_resets_at_midnight_pacific_time() {
        let now = Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap();
        assert_eq!(quota_reset(now).to_rfc3339(), "2026-12-08T08:00:00+00:00");
        let summer = Utc.with_ymd_and_hms(2026, 7, 1, 6, 59, 0).unwrap();
        assert_eq!(quota_reset(summer).to_rfc3339(), "2026-07-01T07:00:00+00:00");
    }
}
