//! Deciding what a post is to each brand: a mention (it names a term, or
//! mentions or replies to the brand's account), the brand's own post (its
//! replies are how escucha learns a complaint was answered), or nothing.
//! Pure: no I/O, no clock.

use crate::config::Brand;
use crate::model::{Platform, Post};
use crate::text::fold;

/// What a post is to one brand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Mention,
    /// Posted by the brand's own account.
    Own,
}

/// One brand's matching rules, folded once.
#[derive(Debug, Clone)]
pub struct BrandMatcher {
    pub brand: String,
    terms: Vec<String>,
    exclude: Vec<String>,
    /// The brand's account on this platform, normalized like `Post::author`.
    account: Option<String>,
    /// The account is an id (a Facebook page, an Instagram account, a
    /// YouTube channel), compared with `Post::author_id`, not a handle.
    by_id: bool,
}

/// Normalizes a handle as sources do: lowercase, no leading `@`; Mastodon
/// accounts without a domain live on the configured instance. Sources must
/// produce `Post::author` in the same form (Bluesky: the handle; Reddit:
/// the user name without `u/`; Hacker News: the user name).
pub fn normalize_account(platform: Platform, handle: &str, mastodon_host: Option<&str>) -> String {
    let h = handle.trim().trim_start_matches('@').to_lowercase();
    match (platform, mastodon_host) {
        (Platform::Mastodon, Some(host)) if !h.contains('@') => format!("{h}@{}", host.to_lowercase()),
        _ => h,
    }
}

impl BrandMatcher {
    pub fn new(brand: &Brand, platform: Platform, mastodon_host: Option<&str>) -> BrandMatcher {
        let account = match platform {
            Platform::X => brand.accounts.x.as_deref(),
            Platform::Mastodon => brand.accounts.mastodon.as_deref(),
            Platform::Bluesky => brand.accounts.bluesky.as_deref(),
            Platform::Reddit => brand.accounts.reddit.as_deref().map(|a| a.trim_start_matches("/u/").trim_start_matches("u/")),
            Platform::HackerNews => brand.accounts.hackernews.as_deref(),
            Platform::Feed => None,
            Platform::Facebook => brand.accounts.facebook.as_deref(),
            Platform::Instagram => brand.accounts.instagram.as_deref(),
            Platform::YouTube => brand.accounts.youtube.as_deref(),
            // A review platform has no account that posts: the business's
            // reply comes as a post by this stand-in (sources::reviews).
            Platform::GoogleReviews | Platform::AppStore | Platform::GooglePlay | Platform::Trustpilot => Some(crate::sources::reviews::OWNER),
        };
        let by_id = matches!(platform, Platform::Facebook | Platform::Instagram | Platform::YouTube);
        // Ids are kept as written (YouTube channel ids are case-sensitive).
        let account = if by_id { account.map(|a| a.trim().to_string()) } else { account.map(|a| normalize_account(platform, a, mastodon_host)) };
        BrandMatcher {
            brand: brand.id.clone(),
            terms: brand.terms.iter().map(|t| fold(t.trim())).filter(|t| !t.is_empty()).collect(),
            exclude: brand.exclude.iter().map(|t| fold(t.trim())).filter(|t| !t.is_empty()).collect(),
            account,
            by_id,
        }
    }

    /// `addressed` is true when the post reached us as a notification for
    /// this brand's account (Mastodon mentions), which makes it a mention
    /// even if the text names nothing.
    pub fn role(&self, post: &Post, addressed: bool) -> Option<Role> {
        if let Some(acct) = &self.account {
            if (self.by_id && post.author_id == *acct) || (!self.by_id && post.author == *acct) {
                return Some(Role::Own);
            }
        }
        // A review of the brand's own location, app or business unit is its
        // mention whatever it says, exclusions included.
        if addressed && post.platform.is_review() {
            return Some(Role::Mention);
        }
        let text = fold(&post.text);
        if self.exclude.iter().any(|x| contains_phrase(&text, x)) {
            return None;
        }
        let by_account = !self.by_id
            && self.account.as_ref().is_some_and(|acct| {
                post.mentions.iter().any(|m| m == acct)
                    || post.in_reply_to_author.as_deref() == Some(acct.as_str())
                    || contains_phrase(&text, &format!("@{}", acct.split('@').next().unwrap_or(acct)))
            });
        let by_term = self.terms.iter().any(|t| contains_phrase(&text, t));
        (addressed || by_account || by_term).then_some(Role::Mention)
    }
}

/// True when `needle` occurs in `haystack` (both folded) starting and ending
/// at word boundaries, so "interjet" finds "#interjet" and "@interjet_mx" but
/// not "printerjets". `_` counts as a boundary so handles match.
pub fn contains_phrase(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    let word = |c: char| c.is_alphanumeric();
    let mut start = 0;
    while let Some(pos) = haystack[start..].find(needle) {
        let at = start + pos;
        let end = at + needle.len();
        let before_ok = !needle.starts_with(word) || haystack[..at].chars().next_back().is_none_or(|c| !word(c));
        let after_ok = !needle.ends_with(word) || haystack[end..].chars().next().is_none_or(|c| !word(c));
        if before_ok && after_ok {
            return true;
        }
        start = at + haystack[at..].chars().next().map_or(1, char::len_utf8);
    }
    false
}

/// A brand for unit tests across modules.
#[cfg(test)]
pub(crate) mod tests_support {
    use crate::config::{Accounts, Brand, Escalate, RespondWithin};
    use std::time::Duration;

    pub fn brand() -> Brand {
        Brand {
            id: "interjet".into(),
            name: "Interjet".into(),
            terms: vec!["interjet".into(), "inter jet".into()],
            exclude: vec!["interjet jobs".into()],
            executives: vec![],
            respond_within: RespondWithin { complaint: Duration::from_secs(1800), escalation: Duration::from_secs(300) },
            oncall: None,
            accounts: Accounts { x: Some("Interjet_mx".into()), mastodon: Some("interjet".into()), ..Default::default() },
            escalate: Escalate::default(),
            backfill: Duration::ZERO,
            timezone: chrono_tz::UTC,
            business_hours: None,
            holidays: vec![],
            classify: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::brand;
    use super::*;
    use chrono::Utc;

    fn post(platform: Platform, author: &str, text: &str) -> Post {
        Post {
            platform,
            platform_id: "1".into(),
            url: String::new(),
            author_id: "9".into(),
            author: author.into(),
            author_followers: None,
            text: text.into(),
            lang: None,
            created_at: Utc::now(),
            in_reply_to_id: None,
            in_reply_to_author_id: None,
            in_reply_to_author: None,
            conversation_id: None,
            mentions: vec![],
            reposts: 0,
            addressed_to_token_account: false,
            rating: None,
        }
    }

    #[test]
    fn terms_match_without_case_or_accents() {
        let m = BrandMatcher::new(&brand(), Platform::X, None);
        for text in ["INTERJET me dejó", "Interjét perdió mi maleta", "vuelo con #interjet", "la inter jet"] {
            assert_eq!(m.role(&post(Platform::X, "ana", text), false), Some(Role::Mention), "{text}");
        }
        assert_eq!(m.role(&post(Platform::X, "ana", "printerjets are loud"), false), None);
    }

    #[test]
    fn exclusions_drop_the_mention() {
        let m = BrandMatcher::new(&brand(), Platform::X, None);
        assert_eq!(m.role(&post(Platform::X, "ana", "Interjet Jobs: we are hiring"), false), None);
    }

    #[test]
    fn the_brands_own_posts_are_not_mentions() {
        let m = BrandMatcher::new(&brand(), Platform::X, None);
        assert_eq!(m.role(&post(Platform::X, "interjet_mx", "Interjet te ayuda"), false), Some(Role::Own));
    }

    #[test]
    fn a_mention_of_the_account_counts_without_any_term() {
        let m = BrandMatcher::new(&brand(), Platform::Mastodon, Some("mastodon.social"));
        let mut p = post(Platform::Mastodon, "ana@example.org", "me dejaron sin maleta");
        assert_eq!(m.role(&p, false), None);
        p.mentions = vec!["interjet@mastodon.social".into()];
        assert_eq!(m.role(&p, false), Some(Role::Mention));
        let q = post(Platform::Mastodon, "ana@example.org", "nadie contesta");
        assert_eq!(m.role(&q, true), Some(Role::Mention), "notifications of the brand account are mentions");
        let own = post(Platform::Mastodon, "interjet@mastodon.social", "hola");
        assert_eq!(m.role(&own, false), Some(Role::Own));
    }

    #[test]
    fn a_review_is_a_mention_whatever_it_says_and_the_business_reply_is_the_brands() {
        let m = BrandMatcher::new(&brand(), Platform::AppStore, None);
        let review = post(Platform::AppStore, "Carmen", "Interjet Jobs: la app se cierra");
        assert_eq!(m.role(&review, true), Some(Role::Mention), "no term needed, exclusions do not apply");
        let reply = post(Platform::AppStore, crate::sources::reviews::OWNER, "Lo sentimos");
        assert_eq!(m.role(&reply, false), Some(Role::Own));
    }

    #[test]
    fn an_id_account_is_the_brands_own_by_author_id_and_its_comments_are_addressed() {
        let mut b = brand();
        b.accounts.facebook = Some("104567890123456".into());
        let m = BrandMatcher::new(&b, Platform::Facebook, None);
        let mut own = post(Platform::Facebook, "Interjet", "Hola Ana, te escribimos");
        own.author_id = "104567890123456".into();
        assert_eq!(m.role(&own, true), Some(Role::Own));
        // A user named like the page is not the page.
        let namesake = post(Platform::Facebook, "104567890123456", "me dejaron en tierra");
        assert_eq!(m.role(&namesake, false), None);
        assert_eq!(m.role(&namesake, true), Some(Role::Mention), "a comment under the page is a mention without a term");
    }

    #[test]
    fn phrases_respect_word_boundaries() {
        assert!(contains_phrase("hola @interjet_mx", "interjet"));
        assert!(contains_phrase("interjet", "interjet"));
        assert!(!contains_phrase("interjetazo", "interjet"));
        assert!(contains_phrase("ñandú y interjet.", "interjet"));
    }
}
