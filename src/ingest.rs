//! From a fetched page to stored mentions: match each post against the
//! brands, classify the mentions with their context, decide history and
//! deadlines, collect the brand's own replies, and commit it all with the
//! cursor in one store transaction.

use crate::classify::{self, Context};
use crate::config::{Brand, Config};
use crate::matcher::{BrandMatcher, Role};
use crate::model::{Platform, Post};
use crate::sources::{Page, Query};
use crate::store::{NewMention, PageOutcome, Reply, Store, StoreError};
use chrono::{DateTime, Utc};

/// The brands as one platform sees them.
pub struct Matchers {
    platform: Platform,
    list: Vec<(BrandMatcher, Brand)>,
}

impl Matchers {
    pub fn new(cfg: &Config, platform: Platform) -> Matchers {
        let host = cfg.sources.mastodon.as_ref().map(|m| crate::sources::mastodon::instance_host(&m.instance));
        let list = cfg.brands.iter().map(|b| (BrandMatcher::new(b, platform, host.as_deref()), b.clone())).collect();
        Matchers { platform, list }
    }
}

/// How the daemon knows the state of the query this page belongs to.
#[derive(Debug, Clone, Copy)]
pub struct PollState {
    /// True on the query's very first page ever: older posts are history.
    pub first_poll: bool,
    /// When the query was first polled.
    pub first_polled_at: DateTime<Utc>,
}

/// Decides what each post of `page` is and commits the page.
pub fn ingest(store: &Store, matchers: &Matchers, query: &Query, page: &Page, state: PollState, now: DateTime<Utc>) -> Result<PageOutcome, StoreError> {
    let mut mentions = Vec::new();
    let mut replies = Vec::new();
    for post in &page.posts {
        for (matcher, brand) in &matchers.list {
            if query.exclusive && !query.brands.contains(&brand.id) {
                continue;
            }
            let addressed = post.addressed_to_token_account && query.brands.contains(&brand.id);
            match matcher.role(post, addressed) {
                Some(Role::Mention) => mentions.push(new_mention(store, brand, post, state, now)?),
                // The brand's replies answer mentions; its other posts are nothing.
                Some(Role::Own) if post.in_reply_to_id.is_some() => replies.push(Reply {
                    brand: brand.id.clone(),
                    platform: matchers.platform,
                    platform_id: post.platform_id.clone(),
                    in_reply_to_id: post.in_reply_to_id.clone(),
                    in_reply_to_author_id: post.in_reply_to_author_id.clone(),
                    conversation_id: post.conversation_id.clone(),
                    created_at: post.created_at,
                }),
                Some(Role::Own) | None => {}
            }
        }
    }
    store.commit_page(&query.key, state.first_polled_at, &mentions, &replies, &page.cursor, now)
}

fn new_mention(store: &Store, brand: &Brand, post: &Post, state: PollState, now: DateTime<Utc>) -> Result<NewMention, StoreError> {
    let window = chrono::Duration::from_std(brand.escalate.window).unwrap_or_default();
    let recent = store.recent_complaints(&brand.id, post.platform, &post.author_id, post.created_at - window)?;
    let ctx = Context {
        lang: post.lang.clone(),
        author_followers: post.author_followers,
        reposts: Some(post.reposts),
        recent_complaints: recent,
        executives: brand.executives.clone(),
        escalate: brand.escalate,
    };
    let c = classify::classify(&post.text, &ctx);
    let backfill = chrono::Duration::from_std(brand.backfill).unwrap_or_default();
    let history = state.first_poll && post.created_at < state.first_polled_at && now - post.created_at > backfill;
    // Business hours (if the brand has them) stretch complaint deadlines.
    let deadline = if history { None } else { crate::alert::hours::mention_deadline(brand, c.class, post.created_at) };
    Ok(NewMention {
        brand: brand.id.clone(),
        platform: post.platform,
        platform_id: post.platform_id.clone(),
        url: post.url.clone(),
        author: post.author.clone(),
        author_id: post.author_id.clone(),
        author_followers: post.author_followers,
        text: post.text.clone(),
        lang: post.lang.clone().or(Some(c.lang.clone())),
        class: c.class,
        score: c.score,
        reasons: c.reasons,
        created_at: post.created_at,
        deadline,
        history,
        reposts: post.reposts,
        conversation_id: post.conversation_id.clone(),
        in_reply_to_id: post.in_reply_to_id.clone(),
    })
}
