//! From a fetched page to stored mentions: match each post against the
//! brands, classify the mentions with their context, decide history and
//! deadlines, collect the brand's own replies, and commit it all with the
//! cursor in one store transaction.

use crate::classify::{Classifier, Context};
use crate::config::{Brand, Config};
use crate::matcher::{BrandMatcher, Role};
use crate::model::{Platform, Post};
use crate::sources::{Page, Query};
use crate::store::{to_ms, NewMention, PageOutcome, Reply, Store, StoreError};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// The brands as one platform sees them.
pub struct Matchers {
    platform: Platform,
    list: Vec<(BrandMatcher, Brand)>,
}

impl Matchers {
    pub fn new(cfg: &Config, platform: Platform) -> Matchers {
        let host = cfg.sources.mastodon.as_ref().map(|m| crate::sources::mastodon::instance_host(&m.instance));
        let list = cfg
            .brands
            .iter()
            .map(|b| {
                // A source's own `respond_within` decides the deadlines of what it finds.
                let brand = Brand { respond_within: cfg.respond_within(b, platform.as_str()), ..b.clone() };
                (BrandMatcher::new(b, platform, host.as_deref()), brand)
            })
            .collect();
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
pub fn ingest(
    store: &Store,
    matchers: &Matchers,
    classifier: &Classifier,
    query: &Query,
    page: &Page,
    state: PollState,
    now: DateTime<Utc>,
) -> Result<PageOutcome, StoreError> {
    // (brand index, post) for every mention on the page, in page order.
    let mut found: Vec<(usize, &Post)> = Vec::new();
    let mut replies = Vec::new();
    for post in &page.posts {
        for (b, (matcher, brand)) in matchers.list.iter().enumerate() {
            if query.exclusive && !query.brands.contains(&brand.id) {
                continue;
            }
            let addressed = post.addressed_to_token_account && query.brands.contains(&brand.id);
            match matcher.role(post, addressed) {
                Some(Role::Mention) => found.push((b, post)),
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
    let recent = recent_complaints(store, matchers, &found)?;
    let mentions: Vec<NewMention> =
        found.iter().zip(recent).map(|(&(b, post), recent)| new_mention(classifier, &matchers.list[b].1, post, recent, state, now)).collect();
    store.commit_page(&query.key, state.first_polled_at, &mentions, &replies, &page.cursor, now)
}

/// For each found mention, the author's complaints about the brand stored
/// since `created_at - escalate.window` (as they stood before this page).
/// One store query per brand and platform on the page instead of one per
/// mention: the counting happens here, over the complaint times it returns.
fn recent_complaints(store: &Store, matchers: &Matchers, found: &[(usize, &Post)]) -> Result<Vec<u32>, StoreError> {
    let since = |b: usize, post: &Post| {
        let window = chrono::Duration::from_std(matchers.list[b].1.escalate.window).unwrap_or_default();
        to_ms(post.created_at - window)
    };
    let mut counts = vec![0u32; found.len()];
    let mut done = vec![false; found.len()];
    for i in 0..found.len() {
        if done[i] {
            continue;
        }
        let (b, first) = found[i];
        let group: Vec<usize> = (i..found.len()).filter(|&j| found[j].0 == b && found[j].1.platform == first.platform).collect();
        let mut authors: Vec<&str> = group.iter().map(|&j| found[j].1.author_id.as_str()).collect();
        authors.sort_unstable();
        authors.dedup();
        let from = group.iter().map(|&j| since(b, found[j].1)).min().unwrap_or(i64::MIN);
        let mut times: HashMap<String, Vec<i64>> = HashMap::new();
        for (author, at) in store.complaint_times(&matchers.list[b].1.id, first.platform, &authors, from)? {
            times.entry(author).or_default().push(at);
        }
        for j in group {
            done[j] = true;
            let (b, post) = found[j];
            let from = since(b, post);
            counts[j] = times.get(post.author_id.as_str()).map_or(0, |t| t.iter().filter(|&&at| at >= from).count() as u32);
        }
    }
    Ok(counts)
}

fn new_mention(classifier: &Classifier, brand: &Brand, post: &Post, recent: u32, state: PollState, now: DateTime<Utc>) -> NewMention {
    let ctx = Context {
        lang: post.lang.clone(),
        author_followers: post.author_followers,
        reposts: Some(post.reposts),
        recent_complaints: recent,
        executives: brand.executives.clone(),
        escalate: brand.escalate,
        phrases: brand.phrases(),
        rating: post.rating,
    };
    let c = classifier.classify(&post.text, &ctx);
    let backfill = chrono::Duration::from_std(brand.backfill).unwrap_or_default();
    let history = state.first_poll && post.created_at < state.first_polled_at && now - post.created_at > backfill;
    // Business hours (if the brand has them) stretch complaint deadlines.
    let deadline = if history { None } else { crate::alert::hours::mention_deadline(brand, c.class, post.created_at) };
    NewMention {
        brand: brand.id.clone(),
        platform: post.platform,
        platform_id: post.platform_id.clone(),
        url: post.url.clone(),
        author: post.author.clone(),
        author_id: post.author_id.clone(),
        author_followers: post.author_followers,
        text: post.text.clone(),
        lang: post.lang.clone().or(Some(c.lang.into_owned())),
        class: c.class,
        score: c.score,
        reasons: c.reasons.into_iter().map(std::borrow::Cow::into_owned).collect(),
        created_at: post.created_at,
        deadline,
        history,
        reposts: post.reposts,
        conversation_id: post.conversation_id.clone(),
        in_reply_to_id: post.in_reply_to_id.clone(),
        rating: post.rating,
    }
}
