//! Instagram source (Instagram Graph API, professional account): comments
//! and replies on the account's media, and media in which the account is
//! tagged. Each brand with `[brand.accounts] instagram = "<ig user id>"` gets
//! two queries:
//!
//! - `instagram:comments:<brand>` walks `/{ig-user-id}/media` (newest
//!   first), then `/{ig-media-id}/comments` (top-level comments, newest
//!   first, with their `replies` by field expansion) of the newest few
//!   media and of every media created within [`LOOKBACK`] or whose
//!   `comments_count` changed since it was last read. A comment is a mention of the brand whatever its text; a reply by
//!   the account answers the comment it replies to.
//! - `instagram:tags:<brand>` reads `/{ig-user-id}/tags` (cursor paging
//!   without `next` links).
//!
//! @mentions in comments on other accounts' media reach an app only through
//! webhooks (`mentioned_comment` needs the comment id from one): a poller
//! cannot list them, so they are not read. Hidden comments were moderated by
//! the account and are not mentions. REFERENCE-owned.md section I.

use super::graph::{parse_time, Failure, Graph, List, ListCursor, WalkCursor, LOOKBACK};
use super::{Page, Query, QueryKind, SourceError};
use crate::config::Brand;
use crate::model::{Platform, Post};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::time::Duration;

const MEDIA_FIELDS: &str = "id,permalink,timestamp,comments_count";
const COMMENT_FIELDS: &str = "id,text,timestamp,username,from,user,hidden,parent_id,like_count";
const TAG_FIELDS: &str = "id,caption,timestamp,permalink,username,media_type";
const MEDIA_LIMIT: &str = "25";
/// "Returns a maximum of 50 comments per query" (ig-media/comments).
const COMMENTS_LIMIT: &str = "50";
/// The newest media whose comments every poll reads, whatever their age.
const ALWAYS_READ: usize = 5;
/// Change marks kept at most (the newest media's).
const MAX_MARKS: usize = 300;

pub struct InstagramSource {
    graph: Graph,
    every: Duration,
    queries: Vec<Query>,
}

impl InstagramSource {
    pub fn new(cfg: &crate::config::InstagramSource, brands: &[Brand]) -> InstagramSource {
        let mut queries = Vec::new();
        for b in brands {
            let Some(account) = b.accounts.instagram.clone() else { continue };
            queries.push(Query {
                key: format!("instagram:comments:{}", b.id),
                brands: vec![b.id.clone()],
                exclusive: true,
                kind: QueryKind::OwnedComments { account: account.clone() },
            });
            queries.push(Query { key: format!("instagram:tags:{}", b.id), brands: vec![b.id.clone()], exclusive: true, kind: QueryKind::Tagged { account } });
        }
        InstagramSource {
            graph: Graph::new("instagram", &cfg.api_base, &cfg.api_version, cfg.access_token.clone(), cfg.token_key.clone()),
            every: cfg.schedule.every,
            queries,
        }
    }

    pub fn queries(&self) -> Vec<Query> {
        self.queries.clone()
    }

    pub fn every(&self) -> Duration {
        self.every
    }

    pub fn http(&self) -> &super::http::Http {
        self.graph.http()
    }

    pub fn not_before(&self) -> Option<DateTime<Utc>> {
        self.graph.paused_until()
    }

    /// `check --probe`: reads the account node (one cheap call each).
    pub async fn probe(&self) -> Vec<(String, Result<String, SourceError>)> {
        let mut out = Vec::new();
        for q in self.queries.iter().filter(|q| matches!(q.kind, QueryKind::OwnedComments { .. })) {
            let QueryKind::OwnedComments { account } = &q.kind else { continue };
            let r = self.probe_account(account).await.map_err(Failure::into_source);
            out.push((format!("account {account} (brand {})", q.brands.join(",")), r));
        }
        out
    }

    /// The account node, then one item of each edge the queries read.
    async fn probe_account(&self, account: &str) -> Result<String, Failure> {
        let n: Node = self.graph.get(account, &[("fields", "id,username".to_string())]).await?;
        for edge in ["media", "tags"] {
            let _: List<serde_json::Value> = self.graph.get(&format!("{account}/{edge}"), &[("fields", "id".to_string()), ("limit", "1".to_string())]).await?;
        }
        Ok(format!("token reads account {} (@{}), its media and the media tagging it", n.id, n.username.unwrap_or_default()))
    }

    pub async fn fetch(&self, q: &Query, cursor: Option<&str>) -> Result<Page, SourceError> {
        match &q.kind {
            QueryKind::OwnedComments { account } => self.comments(q, account, cursor).await,
            QueryKind::Tagged { account } => self.tags(q, account, cursor).await,
            _ => Err(SourceError::Malformed(format!("instagram: query {} is not an Instagram query", q.key))),
        }
    }

    async fn media_page(&self, account: &str, after: Option<&str>) -> Result<List<Media>, Failure> {
        let mut params = vec![("fields", MEDIA_FIELDS.to_string()), ("limit", MEDIA_LIMIT.to_string())];
        if let Some(a) = after {
            params.push(("after", a.to_string()));
        }
        self.graph.get(&format!("{account}/media"), &params).await
    }

    async fn comments_page(&self, media_id: &str, after: Option<&str>) -> Result<List<Comment>, Failure> {
        let mut params = vec![("fields", format!("{COMMENT_FIELDS},replies{{{COMMENT_FIELDS}}}")), ("limit", COMMENTS_LIMIT.to_string())];
        if let Some(a) = after {
            params.push(("after", a.to_string()));
        }
        self.graph.get(&format!("{media_id}/comments"), &params).await
    }

    async fn comments(&self, q: &Query, account: &str, cursor: Option<&str>) -> Result<Page, SourceError> {
        let now = self.graph.http().now();
        let Some(cursor) = cursor else {
            return self.first_comments(account, now).await;
        };
        let mut c = WalkCursor::parse(cursor).unwrap_or_else(|| {
            tracing::warn!(query = %q.key, "unreadable Instagram cursor; reading from now on");
            WalkCursor { since: Some(now.timestamp()), ..WalkCursor::default() }
        });
        if !c.in_progress() {
            c.started = Some(now.timestamp());
            return self.list_media(account, c, None, now).await;
        }
        if let Some(after) = c.posts_after.clone() {
            return self.list_media(account, c, Some(after), now).await;
        }
        let Some((media_id, permalink)) = c.queue.first().cloned() else {
            c.finish();
            return Ok(Page { posts: vec![], cursor: c.encode(), more: false });
        };
        let from = c.news_from();
        let list = match self.comments_page(&media_id, c.comments_after.as_deref()).await {
            Ok(l) => l,
            Err(Failure::BadCursor(m) | Failure::Gone(m)) => {
                tracing::warn!(query = %q.key, "{m}; moving on to the next media");
                GraphListEmpty::list()
            }
            Err(Failure::Source(e)) => return Err(e),
        };
        // Every page of the media's comments: an old comment may have a new
        // reply (the account's answer), and replies are not listed apart.
        let posts: Vec<Post> = flatten(&list.data, &permalink, account).into_iter().filter(|p| from.is_none_or(|f| p.created_at >= f)).collect();
        // A cursor that does not move would page forever.
        match list.after(false).filter(|a| Some(a) != c.comments_after.as_ref()) {
            Some(a) => c.comments_after = Some(a),
            None => {
                c.queue.remove(0);
                c.comments_after = None;
                if c.queue.is_empty() {
                    c.finish();
                }
            }
        }
        Ok(Page { posts, more: c.more(), cursor: c.encode() })
    }

    async fn list_media(&self, account: &str, mut c: WalkCursor, after: Option<String>, now: DateTime<Utc>) -> Result<Page, SourceError> {
        let list = match self.media_page(account, after.as_deref()).await {
            Ok(l) => l,
            Err(Failure::BadCursor(m)) => {
                tracing::warn!(source = "instagram", "{m}; reading the comments of the media found so far");
                GraphListEmpty::list()
            }
            Err(e @ (Failure::Source(_) | Failure::Gone(_))) => return Err(e.into_source()),
        };
        let recent = now - LOOKBACK;
        let mut oldest = None;
        let newest_first = after.is_none();
        for (i, m) in list.data.iter().enumerate() {
            let created = m.timestamp.as_deref().and_then(parse_time);
            oldest = created.or(oldest);
            // The newest few media are where conversations live, however old.
            let fresh = created.is_some_and(|t| t >= recent) || (newest_first && i < ALWAYS_READ);
            let changed = m.comments_count.is_some_and(|n| c.marks.get(&m.id) != Some(&n.to_string()));
            if let Some(n) = m.comments_count {
                c.marks.insert(m.id.clone(), n.to_string());
            }
            if (fresh || changed) && m.comments_count != Some(0) && !c.queue.iter().any(|(id, _)| *id == m.id) {
                c.queue.push((m.id.clone(), m.permalink.clone().unwrap_or_default()));
            }
        }
        prune(&mut c);
        c.posts_after = list.after(false).filter(|a| oldest.is_some_and(|t| t >= recent) && Some(a) != after.as_ref());
        if c.posts_after.is_none() && c.queue.is_empty() {
            c.finish();
        }
        Ok(Page { posts: vec![], more: c.more(), cursor: c.encode() })
    }

    /// The first poll: the newest page of media and the first page of
    /// comments under each, as one page of history.
    async fn first_comments(&self, account: &str, now: DateTime<Utc>) -> Result<Page, SourceError> {
        let list = self.media_page(account, None).await.map_err(Failure::into_source)?;
        let mut c = WalkCursor { since: Some(now.timestamp()), ..WalkCursor::default() };
        let mut posts = Vec::new();
        for m in &list.data {
            if let Some(n) = m.comments_count {
                c.marks.insert(m.id.clone(), n.to_string());
            }
            if m.comments_count == Some(0) {
                continue;
            }
            let comments = self.comments_page(&m.id, None).await.map_err(Failure::into_source)?;
            posts.extend(flatten(&comments.data, m.permalink.as_deref().unwrap_or(""), account));
        }
        prune(&mut c);
        Ok(Page { posts, cursor: c.encode(), more: false })
    }

    async fn tags(&self, q: &Query, account: &str, cursor: Option<&str>) -> Result<Page, SourceError> {
        let now = self.graph.http().now();
        let first = cursor.is_none();
        let mut c = match cursor {
            None => ListCursor::default(),
            Some(s) => ListCursor::parse(s).unwrap_or_else(|| {
                tracing::warn!(query = %q.key, "unreadable Instagram cursor; reading from now on");
                ListCursor { since: Some(now.timestamp()), ..ListCursor::default() }
            }),
        };
        if c.started.is_none() {
            c.started = Some(now.timestamp());
        }
        let mut params = vec![("fields", TAG_FIELDS.to_string()), ("limit", MEDIA_LIMIT.to_string())];
        if let Some(a) = &c.after {
            params.push(("after", a.clone()));
        }
        let list: List<Media> = match self.graph.get(&format!("{account}/tags"), &params).await {
            Ok(l) => l,
            Err(Failure::BadCursor(m)) => {
                tracing::warn!(query = %q.key, "{m}; ending this poll");
                GraphListEmpty::list()
            }
            Err(e @ (Failure::Source(_) | Failure::Gone(_))) => return Err(e.into_source()),
        };
        let from = c.news_from();
        let posts: Vec<Post> = list.data.iter().filter_map(tagged_media).filter(|p| from.is_none_or(|f| p.created_at >= f)).collect();
        let oldest = list.data.iter().filter_map(|m| m.timestamp.as_deref().and_then(parse_time)).min();
        // The tags edge sends `after` but never `next`: a page that is
        // empty (or already older than the news) ends the poll.
        let next = list.after(true).filter(|a| !first && Some(a) != c.after.as_ref() && oldest.zip(from).is_none_or(|(o, f)| o >= f));
        match next {
            Some(a) => c.after = Some(a),
            None => {
                c.since = c.started.take();
                c.after = None;
            }
        }
        Ok(Page { posts, more: c.after.is_some(), cursor: c.encode() })
    }
}

/// Keeps the change marks of the newest media only (ids grow with time).
fn prune(c: &mut WalkCursor) {
    while c.marks.len() > MAX_MARKS {
        let oldest = c.marks.keys().min_by(|a, b| super::id_cmp(a, b)).cloned();
        if let Some(k) = oldest {
            c.marks.remove(&k);
        }
    }
}

struct GraphListEmpty;
impl GraphListEmpty {
    fn list<T>() -> List<T> {
        List { data: Vec::new(), paging: None }
    }
}

#[derive(Debug, Deserialize)]
struct Node {
    id: String,
    username: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Media {
    id: String,
    permalink: Option<String>,
    timestamp: Option<String>,
    comments_count: Option<u64>,
    caption: Option<String>,
    username: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Who {
    id: Option<String>,
    username: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Comment {
    id: String,
    #[serde(default)]
    text: Option<String>,
    timestamp: Option<String>,
    username: Option<String>,
    from: Option<Who>,
    user: Option<Who>,
    #[serde(default)]
    hidden: bool,
    parent_id: Option<String>,
    replies: Option<List<Comment>>,
}

impl Comment {
    /// The IG user id of the account for its own comments (`user`, given
    /// when the app user wrote it), else the author's id, else the name.
    fn author_id(&self) -> String {
        self.user
            .as_ref()
            .and_then(|u| u.id.clone())
            .or_else(|| self.from.as_ref().and_then(|f| f.id.clone()))
            .or_else(|| self.username.clone())
            .unwrap_or_default()
    }
    fn author(&self) -> String {
        self.username.clone().or_else(|| self.from.as_ref().and_then(|f| f.username.clone())).unwrap_or_default()
    }
}

/// Top-level comments and their replies, as posts. "Replies to a reply
/// will be added to the top-level comment": a reply answers its parent.
pub(crate) fn flatten(comments: &[Comment], media_permalink: &str, account: &str) -> Vec<Post> {
    let mut out = Vec::new();
    for c in comments {
        out.extend(to_post(c, None, media_permalink, account));
        for r in c.replies.iter().flat_map(|l| l.data.iter()) {
            out.extend(to_post(r, Some(c), media_permalink, account));
        }
    }
    out
}

fn to_post(c: &Comment, top: Option<&Comment>, media_permalink: &str, account: &str) -> Option<Post> {
    let created_at = c.timestamp.as_deref().and_then(parse_time)?;
    let author_id = c.author_id();
    if c.hidden && author_id != account {
        tracing::debug!(id = %c.id, "hidden Instagram comment skipped");
        return None;
    }
    let parent = c.parent_id.clone().or_else(|| top.map(|t| t.id.clone()));
    let parent_author = top.filter(|t| Some(&t.id) == parent.as_ref()).map(Comment::author_id);
    Some(Post {
        platform: Platform::Instagram,
        platform_id: c.id.clone(),
        url: comment_url(media_permalink, &c.id),
        author_id,
        author: c.author(),
        author_followers: None,
        text: c.text.clone().unwrap_or_default(),
        lang: None,
        created_at,
        in_reply_to_id: parent,
        in_reply_to_author_id: parent_author,
        in_reply_to_author: None,
        conversation_id: Some(top.map_or_else(|| c.id.clone(), |t| t.id.clone())),
        mentions: vec![],
        reposts: 0,
        addressed_to_token_account: true,
        rating: None,
    })
}

/// Instagram gives comments no permalink: the media's with the comment id.
fn comment_url(media_permalink: &str, comment_id: &str) -> String {
    if media_permalink.is_empty() {
        return format!("https://www.instagram.com/?comment_id={comment_id}");
    }
    format!("{}/c/{comment_id}/", media_permalink.trim_end_matches('/'))
}

/// Media that tags the account: a mention whatever its caption says.
fn tagged_media(m: &Media) -> Option<Post> {
    let created_at = m.timestamp.as_deref().and_then(parse_time)?;
    let author = m.username.clone().unwrap_or_default();
    Some(Post {
        platform: Platform::Instagram,
        platform_id: m.id.clone(),
        url: m.permalink.clone().unwrap_or_else(|| format!("https://www.instagram.com/{author}/")),
        author_id: author.clone(),
        author,
        author_followers: None,
        text: m.caption.clone().unwrap_or_default(),
        lang: None,
        created_at,
        in_reply_to_id: None,
        in_reply_to_author_id: None,
        in_reply_to_author: None,
        conversation_id: Some(m.id.clone()),
        mentions: vec![],
        reposts: 0,
        addressed_to_token_account: true,
        rating: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_comments_sample_maps_to_posts() {
        let list: List<Comment> = serde_json::from_str(include_str!("../../tests/fixtures/instagram/media_comments.json")).unwrap();
        let posts = flatten(&list.data, "https://www.instagram.com/p/abc/", "178");
        assert_eq!(posts.len(), 2);
        assert_eq!(posts[0].platform_id, "17870913679156914");
        assert_eq!(posts[0].text, "This is awesome!");
        assert_eq!(posts[0].url, "https://www.instagram.com/p/abc/c/17870913679156914/");
        assert_eq!(posts[0].created_at.to_rfc3339(), "2017-08-31T19:16:02+00:00");
    }

    #[test]
    fn a_reply_by_the_account_answers_its_top_level_comment() {
        let list: List<Comment> = serde_json::from_str(
            r#"{"data":[{"id":"1","text":"mal servicio","timestamp":"2026-11-21T09:00:01+0000","username":"ana","from":{"id":"55","username":"ana"},
                "replies":{"data":[{"id":"2","text":"Te escribimos","timestamp":"2026-11-21T09:05:01+0000","username":"interjet",
                "from":{"id":"178","username":"interjet"},"user":{"id":"178"},"parent_id":"1"}]}}]}"#,
        )
        .unwrap();
        let posts = flatten(&list.data, "", "178");
        assert_eq!(posts.len(), 2);
        assert_eq!(posts[0].author_id, "55");
        assert_eq!(posts[1].author_id, "178");
        assert_eq!(posts[1].in_reply_to_id.as_deref(), Some("1"));
        assert_eq!(posts[1].in_reply_to_author_id.as_deref(), Some("55"));
        assert_eq!(posts[1].conversation_id.as_deref(), Some("1"));
    }
}
