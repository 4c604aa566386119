//! Facebook Page source (Graph API, Page access token): the comments and
//! replies under the page's posts, and the posts that tag the page. Each
//! brand with `[brand.accounts] facebook = "<page id>"` gets two queries:
//!
//! - `facebook:comments:<brand>` walks `/{page-id}/posts` (newest first),
//!   then `/{post-id}/comments?filter=stream` of the newest few posts and
//!   of every post created within [`LOOKBACK`] or updated since the last
//!   poll. A comment is a mention of
//!   the brand whatever its text; a reply whose `from.id` is the page answers
//!   the comment in its `parent`.
//! - `facebook:tagged:<brand>` reads `/{page-id}/tagged`.
//!
//! The first poll of a query reads one page of posts (and the first page of
//! comments under each) as history; later polls read what is newer than the
//! previous poll's start. Hidden comments (`is_hidden`, seen only by the
//! page's admins) were moderated by the brand and are not mentions; deleted
//! ones are simply gone. Throttling and token errors: [`super::graph`].

use super::graph::{parse_time, Failure, Graph, List, ListCursor, WalkCursor, LOOKBACK};
use super::{Page, Query, QueryKind, SourceError};
use crate::config::Brand;
use crate::model::{Platform, Post};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::time::Duration;

/// The newest posts whose comments every poll reads, whatever their age.
const ALWAYS_READ: usize = 5;

const POST_FIELDS: &str = "id,created_time,updated_time,permalink_url";
const COMMENT_FIELDS: &str = "id,message,from,created_time,permalink_url,comment_count,parent,is_hidden";
const TAGGED_FIELDS: &str = "id,message,created_time,permalink_url,from";
/// Posts per listing page; comments per comments page (the documented
/// examples use 25; 100 is the usual cap of an edge).
const POSTS_LIMIT: &str = "25";
const COMMENTS_LIMIT: &str = "100";

pub struct FacebookSource {
    graph: Graph,
    every: Duration,
    queries: Vec<Query>,
}

impl FacebookSource {
    pub fn new(cfg: &crate::config::FacebookSource, brands: &[Brand]) -> FacebookSource {
        let mut queries = Vec::new();
        for b in brands {
            let Some(page) = b.accounts.facebook.clone() else { continue };
            queries.push(Query {
                key: format!("facebook:comments:{}", b.id),
                brands: vec![b.id.clone()],
                exclusive: true,
                kind: QueryKind::OwnedComments { account: page.clone() },
            });
            queries.push(Query {
                key: format!("facebook:tagged:{}", b.id),
                brands: vec![b.id.clone()],
                exclusive: true,
                kind: QueryKind::Tagged { account: page },
            });
        }
        FacebookSource {
            graph: Graph::new("facebook", &cfg.api_base, &cfg.api_version, cfg.page_token.clone(), cfg.token_key.clone()),
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

    /// When the Graph usage headers or a throttle error asked for a pause.
    pub fn not_before(&self) -> Option<DateTime<Utc>> {
        self.graph.paused_until()
    }

    /// `check --probe`: reads the page node with the token (one cheap call
    /// per page). Graph's error names a missing permission when that is
    /// the problem.
    pub async fn probe(&self) -> Vec<(String, Result<String, SourceError>)> {
        let mut out = Vec::new();
        for q in self.queries.iter().filter(|q| matches!(q.kind, QueryKind::OwnedComments { .. })) {
            let QueryKind::OwnedComments { account } = &q.kind else { continue };
            let r = self.probe_page(account).await.map_err(Failure::into_source);
            out.push((format!("page {account} (brand {})", q.brands.join(",")), r));
        }
        out
    }

    /// The page node, then one item of each edge the queries read: a
    /// permission one of them needs and the token lacks is named by Graph.
    async fn probe_page(&self, page_id: &str) -> Result<String, Failure> {
        let n: Node = self.graph.get(page_id, &[("fields", "id,name".to_string())]).await?;
        for edge in ["posts", "tagged"] {
            let _: List<serde_json::Value> = self.graph.get(&format!("{page_id}/{edge}"), &[("fields", "id".to_string()), ("limit", "1".to_string())]).await?;
        }
        Ok(format!("token reads page {} ({}), its posts and the posts tagging it", n.id, n.name.unwrap_or_default()))
    }

    pub async fn fetch(&self, q: &Query, cursor: Option<&str>) -> Result<Page, SourceError> {
        match &q.kind {
            QueryKind::OwnedComments { account } => self.comments(q, account, cursor).await,
            QueryKind::Tagged { account } => self.tagged(q, account, cursor).await,
            _ => Err(SourceError::Malformed(format!("facebook: query {} is not a Facebook query", q.key))),
        }
    }

    async fn posts_page(&self, page_id: &str, after: Option<&str>) -> Result<List<GraphPost>, Failure> {
        let mut params = vec![("fields", POST_FIELDS.to_string()), ("limit", POSTS_LIMIT.to_string())];
        if let Some(a) = after {
            params.push(("after", a.to_string()));
        }
        self.graph.get(&format!("{page_id}/posts"), &params).await
    }

    async fn comments_page(&self, post_id: &str, since: Option<DateTime<Utc>>, after: Option<&str>) -> Result<List<Comment>, Failure> {
        let mut params = vec![
            ("filter", "stream".to_string()),
            ("order", "reverse_chronological".to_string()),
            ("fields", COMMENT_FIELDS.to_string()),
            ("limit", COMMENTS_LIMIT.to_string()),
        ];
        if let Some(s) = since {
            params.push(("since", s.timestamp().to_string()));
        }
        if let Some(a) = after {
            params.push(("after", a.to_string()));
        }
        self.graph.get(&format!("{post_id}/comments"), &params).await
    }

    async fn comments(&self, q: &Query, page_id: &str, cursor: Option<&str>) -> Result<Page, SourceError> {
        let now = self.graph.http().now();
        let Some(cursor) = cursor else {
            return self.first_comments(page_id, now).await;
        };
        let mut c = WalkCursor::parse(cursor).unwrap_or_else(|| {
            tracing::warn!(query = %q.key, "unreadable Facebook cursor; reading from now on");
            WalkCursor { since: Some(now.timestamp()), ..WalkCursor::default() }
        });
        if !c.in_progress() {
            c.started = Some(now.timestamp());
            return self.list_posts(page_id, c, None, now).await;
        }
        if let Some(after) = c.posts_after.clone() {
            return self.list_posts(page_id, c, Some(after), now).await;
        }
        let Some((post_id, permalink)) = c.queue.first().cloned() else {
            c.finish();
            return Ok(Page { posts: vec![], cursor: c.encode(), more: false });
        };
        let from = c.news_from();
        let list = match self.comments_page(&post_id, from, c.comments_after.as_deref()).await {
            Ok(l) => l,
            Err(Failure::BadCursor(m) | Failure::Gone(m)) => {
                // A deleted comment invalidates the cursor that pointed at
                // it; a deleted post has no comments to read.
                tracing::warn!(query = %q.key, "{m}; moving on to the next post");
                c.queue.remove(0);
                c.comments_after = None;
                if c.queue.is_empty() {
                    c.finish();
                }
                return Ok(Page { posts: vec![], more: c.more(), cursor: c.encode() });
            }
            Err(Failure::Source(e)) => return Err(e),
        };
        let posts: Vec<Post> = list.data.iter().filter_map(|cm| to_post(cm, &permalink, page_id)).filter(|p| from.is_none_or(|f| p.created_at >= f)).collect();
        // Newest first: once a page reaches comments older than the news,
        // the rest are older still. (Only when the order is as asked.)
        let times: Vec<Option<DateTime<Utc>>> = list.data.iter().map(|cm| cm.created_time.as_deref().and_then(parse_time)).collect();
        let descending = times.windows(2).all(|w| w[0] >= w[1]);
        let past = descending && from.is_some_and(|f| times.last().copied().flatten().is_some_and(|t| t < f));
        // A cursor that does not move would page forever.
        match list.after(false).filter(|a| !past && Some(a) != c.comments_after.as_ref()) {
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

    /// One page of the posts listing: the posts that may have new comments
    /// join the queue.
    async fn list_posts(&self, page_id: &str, mut c: WalkCursor, after: Option<String>, now: DateTime<Utc>) -> Result<Page, SourceError> {
        let list = match self.posts_page(page_id, after.as_deref()).await {
            Ok(l) => l,
            Err(Failure::BadCursor(m)) => {
                tracing::warn!(source = "facebook", "{m}; reading the comments of the posts found so far");
                GraphList::empty()
            }
            Err(e @ (Failure::Source(_) | Failure::Gone(_))) => return Err(e.into_source()),
        };
        let from = c.news_from();
        let recent = now - LOOKBACK;
        let mut oldest: Option<DateTime<Utc>> = None;
        let newest_first = after.is_none();
        for (i, p) in list.data.iter().enumerate() {
            let created = p.created_time.as_deref().and_then(parse_time);
            let updated = p.updated_time.as_deref().and_then(parse_time);
            oldest = created.or(oldest);
            // The newest few posts are where conversations live, however
            // old they are (and `updated_time` may say nothing).
            let fresh = created.is_some_and(|t| t >= recent) || (newest_first && i < ALWAYS_READ);
            let touched = updated.zip(from).is_some_and(|(u, f)| u >= f);
            if (fresh || touched) && !c.queue.iter().any(|(id, _)| *id == p.id) {
                c.queue.push((p.id.clone(), p.permalink_url.clone().unwrap_or_default()));
            }
        }
        c.posts_after = list.after(false).filter(|a| oldest.is_some_and(|t| t >= recent) && Some(a) != after.as_ref());
        if c.posts_after.is_none() && c.queue.is_empty() {
            c.finish();
        }
        Ok(Page { posts: vec![], more: c.more(), cursor: c.encode() })
    }

    /// The query's first poll: the newest page of posts and the first page
    /// of comments under each, in one page (all of it is history).
    async fn first_comments(&self, page_id: &str, now: DateTime<Utc>) -> Result<Page, SourceError> {
        let list = self.posts_page(page_id, None).await.map_err(Failure::into_source)?;
        let mut posts = Vec::new();
        for p in &list.data {
            let comments = self.comments_page(&p.id, None, None).await.map_err(Failure::into_source)?;
            let permalink = p.permalink_url.clone().unwrap_or_default();
            posts.extend(comments.data.iter().filter_map(|cm| to_post(cm, &permalink, page_id)));
        }
        let c = WalkCursor { since: Some(now.timestamp()), ..WalkCursor::default() };
        Ok(Page { posts, cursor: c.encode(), more: false })
    }

    async fn tagged(&self, q: &Query, page_id: &str, cursor: Option<&str>) -> Result<Page, SourceError> {
        let now = self.graph.http().now();
        let mut c = match cursor {
            None => ListCursor::default(),
            Some(s) => ListCursor::parse(s).unwrap_or_else(|| {
                tracing::warn!(query = %q.key, "unreadable Facebook cursor; reading from now on");
                ListCursor { since: Some(now.timestamp()), ..ListCursor::default() }
            }),
        };
        let first = cursor.is_none();
        if c.started.is_none() {
            c.started = Some(now.timestamp());
        }
        let mut params = vec![("fields", TAGGED_FIELDS.to_string()), ("limit", POSTS_LIMIT.to_string())];
        if let Some(a) = &c.after {
            params.push(("after", a.clone()));
        }
        let list: List<GraphPost> = match self.graph.get(&format!("{page_id}/tagged"), &params).await {
            Ok(l) => l,
            Err(Failure::BadCursor(m)) => {
                tracing::warn!(query = %q.key, "{m}; ending this poll");
                GraphList::empty()
            }
            Err(e @ (Failure::Source(_) | Failure::Gone(_))) => return Err(e.into_source()),
        };
        let from = c.news_from();
        let posts: Vec<Post> = list.data.iter().filter_map(tagged_post).filter(|p| from.is_none_or(|f| p.created_at >= f)).collect();
        let oldest = list.data.iter().filter_map(|p| p.created_time.as_deref().and_then(parse_time)).min();
        let next = list.after(false).filter(|a| !first && Some(a) != c.after.as_ref() && oldest.zip(from).is_none_or(|(o, f)| o >= f));
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

/// An empty Graph list, for a listing cut short.
struct GraphList;
impl GraphList {
    fn empty<T>() -> List<T> {
        List { data: Vec::new(), paging: None }
    }
}

#[derive(Debug, Deserialize)]
struct Node {
    id: String,
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct GraphPost {
    id: String,
    #[serde(default)]
    message: Option<String>,
    created_time: Option<String>,
    updated_time: Option<String>,
    permalink_url: Option<String>,
    from: Option<From>,
}

#[derive(Debug, Clone, Deserialize)]
struct From {
    id: Option<String>,
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Comment {
    id: String,
    #[serde(default)]
    message: Option<String>,
    from: Option<From>,
    created_time: Option<String>,
    permalink_url: Option<String>,
    parent: Option<Parent>,
    #[serde(default)]
    is_hidden: bool,
}

#[derive(Debug, Deserialize)]
struct Parent {
    id: String,
    from: Option<From>,
}

/// A comment as a post. The page's own comments come through too: its
/// replies answer. Hidden comments by others were moderated by the page.
pub(crate) fn to_post(c: &Comment, post_permalink: &str, page_id: &str) -> Option<Post> {
    let created_at = c.created_time.as_deref().and_then(parse_time)?;
    // Without `from` (a token that cannot MODERATE the page), no two
    // comments share an author: "repeat" escalation must not lump them.
    let author_id = c.from.as_ref().and_then(|f| f.id.clone()).unwrap_or_else(|| format!("unknown:{}", c.id));
    if c.is_hidden && author_id != page_id {
        tracing::debug!(id = %c.id, "hidden Facebook comment skipped");
        return None;
    }
    let url = c.permalink_url.clone().filter(|u| !u.is_empty()).unwrap_or_else(|| comment_url(post_permalink, &c.id));
    Some(Post {
        platform: Platform::Facebook,
        platform_id: c.id.clone(),
        url,
        author_id,
        author: c.from.as_ref().and_then(|f| f.name.clone()).unwrap_or_default(),
        author_followers: None,
        text: c.message.clone().unwrap_or_default(),
        lang: None,
        created_at,
        in_reply_to_id: c.parent.as_ref().map(|p| p.id.clone()),
        in_reply_to_author_id: c.parent.as_ref().and_then(|p| p.from.as_ref()).and_then(|f| f.id.clone()),
        in_reply_to_author: None,
        // A top-level comment roots its thread (replies to replies attach
        // to it); the store answers by parent id, or within the thread.
        conversation_id: Some(c.parent.as_ref().map_or_else(|| c.id.clone(), |p| p.id.clone())),
        mentions: vec![],
        reposts: 0,
        addressed_to_token_account: true,
        rating: None,
    })
}

/// The post's permalink with the comment id, when Graph gives the comment
/// none: `...?comment_id=<comment number>`.
fn comment_url(post_permalink: &str, comment_id: &str) -> String {
    let number = comment_id.rsplit('_').next().unwrap_or(comment_id);
    if post_permalink.is_empty() {
        return format!("https://www.facebook.com/{comment_id}");
    }
    let sep = if post_permalink.contains('?') { '&' } else { '?' };
    format!("{post_permalink}{sep}comment_id={number}")
}

/// A post tagging the page: a mention whatever it says. Graph gives `from`
/// only to its author; the id's first part is the poster's id.
fn tagged_post(p: &GraphPost) -> Option<Post> {
    let created_at = p.created_time.as_deref().and_then(parse_time)?;
    let author_id = p.from.as_ref().and_then(|f| f.id.clone()).unwrap_or_else(|| p.id.split('_').next().unwrap_or("").to_string());
    Some(Post {
        platform: Platform::Facebook,
        platform_id: p.id.clone(),
        url: p.permalink_url.clone().unwrap_or_else(|| format!("https://www.facebook.com/{}", p.id)),
        author_id,
        author: p.from.as_ref().and_then(|f| f.name.clone()).unwrap_or_default(),
        author_followers: None,
        text: p.message.clone().unwrap_or_default(),
        lang: None,
        created_at,
        in_reply_to_id: None,
        in_reply_to_author_id: None,
        in_reply_to_author: None,
        conversation_id: Some(p.id.clone()),
        mentions: vec![],
        reposts: 0,
        addressed_to_token_account: true,
        rating: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = include_str!("../../tests/fixtures/facebook/comments_stream.json");

    #[test]
    fn the_documented_stream_maps_to_a_comment_and_the_pages_reply() {
        let list: List<Comment> = serde_json::from_str(STREAM).unwrap();
        let posts: Vec<Post> = list.data.iter().filter_map(|c| to_post(c, "", "104567890123456")).collect();
        assert_eq!(posts.len(), 2);
        let c = &posts[0];
        assert_eq!(c.platform_id, "122100000000000007_1092233440000031");
        assert_eq!(c.author, "Ana Pérez");
        assert_eq!(c.author_id, "7014510126096205");
        assert_eq!(c.url, "https://www.facebook.com/104567890123456/posts/122100000000000007?comment_id=1092233440000031");
        assert_eq!(c.created_at.to_rfc3339(), "2026-11-21T09:00:01+00:00");
        assert_eq!(c.in_reply_to_id, None);
        assert!(c.addressed_to_token_account);
        let r = &posts[1];
        assert_eq!(r.author_id, "104567890123456");
        assert_eq!(r.in_reply_to_id.as_deref(), Some("122100000000000007_1092233440000031"));
        assert_eq!(r.in_reply_to_author_id.as_deref(), Some("7014510126096205"));
    }

    #[test]
    fn a_comment_without_permalink_links_to_its_post_with_the_comment_id() {
        assert_eq!(comment_url("https://www.facebook.com/1/posts/22", "22_333"), "https://www.facebook.com/1/posts/22?comment_id=333");
        assert_eq!(comment_url("", "22_333"), "https://www.facebook.com/22_333");
    }

    #[test]
    fn hidden_comments_of_others_are_not_posts() {
        let c: Comment =
            serde_json::from_str(r#"{"id":"1_2","message":"spam","from":{"id":"9","name":"x"},"created_time":"2026-11-21T09:00:01+0000","is_hidden":true}"#)
                .unwrap();
        assert!(to_post(&c, "", "1").is_none());
    }
}
