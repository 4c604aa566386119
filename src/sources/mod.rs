//! Sources: one module per platform. A source speaks HTTP and the platform's
//! JSON, and turns what it reads into [`Post`]s plus an opaque cursor. It holds
//! no SQL and no alert logic: the daemon commits each [`Page`]'s posts and its
//! cursor in one store transaction, so a crash never skips or doubles a page.

pub mod app_store;
pub mod bluesky;
pub mod facebook;
pub mod feed;
pub mod google_play;
pub mod google_reviews;
pub mod graph;
pub mod hackernews;
pub mod http;
pub mod instagram;
pub mod mastodon;
pub mod reddit;
pub mod reviews;
pub mod stream;
pub mod trustpilot;
pub mod x;
pub mod youtube;

use crate::model::{Platform, Post};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Why a fetch failed, in the terms the scheduler acts on.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The platform asked us to wait (429, or remaining = 0). `until` is when
    /// the window resets if the platform said so.
    #[error("rate limited{}", until.map(|u| format!(" until {}", u.to_rfc3339())).unwrap_or_default())]
    RateLimited { until: Option<DateTime<Utc>> },
    /// Credentials were refused (401/403). Retrying will not help: the message
    /// says what the operator must fix. The source is disabled.
    #[error("{0}")]
    Unauthorized(String),
    /// Network trouble, timeouts, 5xx: retry with backoff.
    #[error("{0}")]
    Transient(String),
    /// The platform answered something we cannot read (bad JSON, HTML error
    /// page, truncated body). Logged with a truncated body; retried later.
    #[error("{0}")]
    Malformed(String),
}

/// What one query reads; each has its own cursor in the store.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// Stable and unique across the config, e.g. `x:search:interjet`,
    /// `mastodon:tag:interjet`. The store keys cursors by it.
    pub key: String,
    /// Brands this query was made for. Posts addressed to the token's account
    /// (Mastodon notifications) are mentions of exactly these brands; other
    /// posts are matched against every brand's terms and accounts.
    pub brands: Vec<String>,
    /// Posts of this query belong only to `brands` (a brand's own feed):
    /// other brands' terms are not matched against them.
    pub exclusive: bool,
    pub kind: QueryKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum QueryKind {
    /// X recent search with this query string.
    XSearch { query: String },
    /// Mastodon mention notifications read with this token.
    MastodonNotifications { token: crate::config::Secret },
    /// Mastodon public hashtag timeline (tag without `#`).
    MastodonTag { tag: String },
    /// Mastodon `/api/v2/search?type=statuses` for this text.
    MastodonSearch { q: String },
    /// The brand account's own statuses (to learn its replies); `acct` as in
    /// config, e.g. `interjet@mastodon.social`.
    MastodonAccountStatuses { acct: String },
    /// A full-text search for `q` on the source's platform (Bluesky
    /// searchPosts, Reddit search, Hacker News search_by_date).
    Search { q: String },
    /// Mention/reply notifications of the logged-in brand account.
    Notifications,
    /// What this account posted (its replies answer mentions).
    AccountActivity { account: String },
    /// One `[[source.feed]]`, by its position in the config.
    Feed { index: usize },
    /// Comments (and replies) under what this account published: a
    /// Facebook page's posts, an Instagram account's media, a YouTube
    /// channel's videos. `account` is the page, IG user or channel id.
    OwnedComments { account: String },
    /// Posts or media in which this account is tagged.
    Tagged { account: String },
    /// The reviews of one location, app, package or business unit (as
    /// configured under `[brand.accounts]`).
    Reviews { target: String },
    /// New comments of these communities (Reddit subreddits, lowercase),
    /// matched locally against every brand.
    Communities { names: Vec<String> },
    /// Replies under the conversations escucha stored a mention at the
    /// root of (Reddit: comment threads of matched posts); the daemon hands
    /// the source those roots before each poll ([`Source::follow`]).
    Threads,
    /// A push stream's own cursor (Bluesky Jetstream): never polled.
    Stream,
}

/// One page of a query's results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// Every post read, including the brand's own (its replies matter).
    pub posts: Vec<Post>,
    /// The cursor to persist with these posts. Opaque to everyone but the
    /// source that wrote it.
    pub cursor: String,
    /// More pages are waiting in this poll; fetch again with `cursor`.
    pub more: bool,
}

/// A configured source, ready to poll.
pub enum Source {
    X(x::XSource),
    Mastodon(mastodon::MastodonSource),
    Bluesky(bluesky::BlueskySource),
    Reddit(reddit::RedditSource),
    HackerNews(hackernews::HackerNewsSource),
    Feed(feed::FeedSource),
    Facebook(facebook::FacebookSource),
    Instagram(instagram::InstagramSource),
    YouTube(youtube::YouTubeSource),
    Reviews(reviews::ReviewSource),
}

/// Dispatches a method call to whichever source this is.
macro_rules! each_source {
    ($self:expr, $s:ident => $e:expr) => {
        match $self {
            Source::X($s) => $e,
            Source::Mastodon($s) => $e,
            Source::Bluesky($s) => $e,
            Source::Reddit($s) => $e,
            Source::HackerNews($s) => $e,
            Source::Feed($s) => $e,
            Source::Facebook($s) => $e,
            Source::Instagram($s) => $e,
            Source::YouTube($s) => $e,
            Source::Reviews($s) => $e,
        }
    };
}

impl Source {
    pub fn platform(&self) -> Platform {
        match self {
            Source::X(_) => Platform::X,
            Source::Mastodon(_) => Platform::Mastodon,
            Source::Bluesky(_) => Platform::Bluesky,
            Source::Reddit(_) => Platform::Reddit,
            Source::HackerNews(_) => Platform::HackerNews,
            Source::Feed(_) => Platform::Feed,
            Source::Facebook(_) => Platform::Facebook,
            Source::Instagram(_) => Platform::Instagram,
            Source::YouTube(_) => Platform::YouTube,
            Source::Reviews(r) => r.platform(),
        }
    }
    pub fn name(&self) -> &'static str {
        self.platform().as_str()
    }
    /// The queries to poll, derived from the brands at construction.
    pub fn queries(&self) -> Vec<Query> {
        each_source!(self, s => s.queries())
    }
    /// Fetch one page of `query`, continuing from `cursor` (None: the query's
    /// first poll ever, which reads only the newest page and sets the cursor).
    pub async fn fetch(&self, query: &Query, cursor: Option<&str>) -> Result<Page, SourceError> {
        each_source!(self, s => s.fetch(query, cursor).await)
    }
    /// The target interval between polls (`every`).
    pub fn every(&self) -> Duration {
        each_source!(self, s => s.every())
    }
    /// Reads time from `clock` and paces every request to the platform's
    /// limits from now on (see [`http::Http::pace_with`]).
    pub fn pace_with(&self, clock: std::sync::Arc<dyn crate::clock::Clock>) {
        match self {
            Source::Reddit(r) => r.pace_with(clock),
            _ => each_source!(self, s => s.http().pace_with(clock)),
        }
    }
    /// Earliest moment the platform's published rate limit allows the next
    /// request, as learnt from the last response's headers.
    pub fn not_before(&self) -> Option<DateTime<Utc>> {
        match self {
            // Their own pauses: Graph usage headers, YouTube's daily quota.
            Source::Facebook(s) => s.not_before().max(s.http().not_before()),
            Source::Instagram(s) => s.not_before().max(s.http().not_before()),
            Source::YouTube(s) => s.not_before().max(s.http().not_before()),
            _ => each_source!(self, s => s.http().not_before()),
        }
    }
    /// How long after a conversation's first post this source follows its
    /// replies (Reddit `follow_threads`); None: it does not follow any.
    pub fn follows(&self) -> Option<Duration> {
        match self {
            Source::Reddit(r) => r.follows(),
            _ => None,
        }
    }
    /// The conversations to follow now: the stored mentions that began
    /// one within [`Source::follows`].
    pub fn follow(&self, roots: Vec<crate::model::ConversationRoot>) {
        if let Source::Reddit(r) = self {
            r.follow(roots)
        }
    }
    /// `check --probe` for sources with a cheaper check of their
    /// credentials than a first poll: (what was checked, its outcome).
    /// None: probe each query with a first poll.
    pub async fn probe(&self) -> Option<Vec<(String, Result<String, SourceError>)>> {
        match self {
            Source::Facebook(s) => Some(s.probe().await),
            Source::Instagram(s) => Some(s.probe().await),
            Source::YouTube(s) => Some(s.probe().await),
            _ => None,
        }
    }
}

/// A stream a source opened (see [`Source::open_stream`]).
pub enum Opened {
    Mastodon(mastodon::stream::MastodonStream),
    Jetstream(bluesky::jetstream::Jetstream),
}

impl Source {
    /// The streams this source runs beside (or instead of) polling: none
    /// unless the config turns them on.
    pub fn stream_plans(&self) -> Vec<stream::Plan> {
        match self {
            Source::Mastodon(m) => m.stream_plans(),
            Source::Bluesky(b) => b.stream_plans(),
            _ => Vec::new(),
        }
    }

    /// Opens `plan`'s stream from the stored `cursor` of `plan.query`, and
    /// says which covered queries to poll before reading it.
    pub async fn open_stream(
        &self,
        plan: &stream::Plan,
        cursor: Option<&str>,
        timeouts: stream::Timeouts,
    ) -> Result<(Opened, stream::CatchUp), stream::StreamError> {
        match self {
            Source::Mastodon(m) => m.open_stream(plan, timeouts).await.map(|(s, c)| (Opened::Mastodon(s), c)),
            Source::Bluesky(b) => b.open_jetstream(cursor, timeouts).await.map(|(s, c)| (Opened::Jetstream(s), c)),
            _ => Err(stream::StreamError::Refused(format!("{} has no stream", self.name()))),
        }
    }

    /// The next page of an open stream, its cursor continuing `cursor`.
    /// Ok(None): the server closed the stream.
    pub async fn next_page(&self, opened: &mut Opened, cursor: Option<&str>) -> Result<Option<Page>, stream::StreamError> {
        match (self, opened) {
            (_, Opened::Mastodon(s)) => s.next(cursor).await,
            (Source::Bluesky(b), Opened::Jetstream(s)) => s.next(b).await,
            _ => Err(stream::StreamError::Refused(format!("{}: a stream of another source", self.name()))),
        }
    }
}

/// Compare two numeric id strings (snowflakes overflow f64; compare by length
/// then lexically). Non-numeric ids compare lexically.
pub fn id_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if numeric(a) && numeric(b) {
        let a = a.trim_start_matches('0');
        let b = b.trim_start_matches('0');
        a.len().cmp(&b.len()).then_with(|| a.cmp(b))
    } else {
        a.cmp(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    #[test]
    fn snowflake_ids_compare_numerically_not_lexically() {
        assert_eq!(id_cmp("9", "10"), Ordering::Less);
        assert_eq!(id_cmp("1204860593741553664", "1204860580630278147"), Ordering::Greater);
        assert_eq!(id_cmp("21", "21"), Ordering::Equal);
    }
}
