//! The types every stage of the flow shares: a normalized post as a source
//! sees it, and the classes the classifier assigns. No I/O here.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Platforms escucha reads. The string form is the config name (`[source.x]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    X,
    Mastodon,
    Bluesky,
    Reddit,
    #[serde(rename = "hackernews")]
    HackerNews,
    Feed,
    Facebook,
    Instagram,
    #[serde(rename = "youtube")]
    YouTube,
    /// Google Business Profile reviews of the brand's locations.
    #[serde(rename = "google_reviews")]
    GoogleReviews,
    /// App Store Connect customer reviews of the brand's apps.
    #[serde(rename = "app_store")]
    AppStore,
    /// Google Play reviews of the brand's packages.
    #[serde(rename = "google_play")]
    GooglePlay,
    Trustpilot,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::X => "x",
            Platform::Mastodon => "mastodon",
            Platform::Bluesky => "bluesky",
            Platform::Reddit => "reddit",
            Platform::HackerNews => "hackernews",
            Platform::Feed => "feed",
            Platform::Facebook => "facebook",
            Platform::Instagram => "instagram",
            Platform::YouTube => "youtube",
            Platform::GoogleReviews => "google_reviews",
            Platform::AppStore => "app_store",
            Platform::GooglePlay => "google_play",
            Platform::Trustpilot => "trustpilot",
        }
    }
    /// Review platforms: every review read for a brand is its mention.
    pub fn is_review(self) -> bool {
        matches!(self, Platform::GoogleReviews | Platform::AppStore | Platform::GooglePlay | Platform::Trustpilot)
    }
    pub fn parse(s: &str) -> Option<Platform> {
        match s {
            "x" => Some(Platform::X),
            "mastodon" => Some(Platform::Mastodon),
            "bluesky" => Some(Platform::Bluesky),
            "reddit" => Some(Platform::Reddit),
            "hackernews" => Some(Platform::HackerNews),
            "feed" => Some(Platform::Feed),
            "facebook" => Some(Platform::Facebook),
            "instagram" => Some(Platform::Instagram),
            "youtube" => Some(Platform::YouTube),
            "google_reviews" => Some(Platform::GoogleReviews),
            "app_store" => Some(Platform::AppStore),
            "google_play" => Some(Platform::GooglePlay),
            "trustpilot" => Some(Platform::Trustpilot),
            _ => None,
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One post as a source normalized it, before escucha decides whether it is a
/// mention of some brand. Sources return every post they fetched, including
/// the brand's own posts: those are how escucha learns that a brand answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Post {
    pub platform: Platform,
    /// The platform's own id, as a string (X and Mastodon ids overflow f64).
    pub platform_id: String,
    /// The public web address of the post.
    pub url: String,
    /// The platform's id of the author (X user id, Mastodon account id).
    pub author_id: String,
    /// The author's handle: X `username` (no @); Mastodon `acct` made
    /// absolute (`user@instance.host`), lowercase.
    pub author: String,
    pub author_followers: Option<u64>,
    /// Plain text (Mastodon HTML already turned into text).
    pub text: String,
    pub lang: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The post this one replies to, if any.
    pub in_reply_to_id: Option<String>,
    /// The author id of the post this one replies to, if the platform says.
    pub in_reply_to_author_id: Option<String>,
    /// The handle of that author (normalized like `author`) when the
    /// response says it (X `includes.users`, Mastodon `mentions`).
    pub in_reply_to_author: Option<String>,
    /// The thread root (X `conversation_id`); None where the platform has none.
    pub conversation_id: Option<String>,
    /// Handles this post mentions, normalized like `author` (lowercase; for
    /// Mastodon `user@instance.host`).
    pub mentions: Vec<String>,
    /// Reposts/reblogs/retweets (+ quotes) so far, for virality.
    pub reposts: u64,
    /// True when the post is a mention of the query's brands whatever its
    /// text says: a notification addressed to the account whose token read
    /// it (Mastodon, Bluesky), or an entry of a brand's own feed.
    pub addressed_to_token_account: bool,
    /// A review's star rating, 1–5; None for every other post.
    pub rating: Option<u8>,
}

/// What the classifier decides about a mention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    Praise,
    Complaint,
    Escalation,
    Neutral,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Praise => "praise",
            Class::Complaint => "complaint",
            Class::Escalation => "escalation",
            Class::Neutral => "neutral",
        }
    }
    pub fn parse(s: &str) -> Option<Class> {
        match s {
            "praise" => Some(Class::Praise),
            "complaint" => Some(Class::Complaint),
            "escalation" => Some(Class::Escalation),
            "neutral" => Some(Class::Neutral),
            _ => None,
        }
    }
    /// Complaints and escalations are what escucha pages for.
    pub fn needs_answer(self) -> bool {
        matches!(self, Class::Complaint | Class::Escalation)
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a stored mention stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Nobody from the brand has answered and nobody acknowledged it.
    Open,
    /// The brand's account replied publicly.
    Answered,
    /// Someone acknowledged it (`escucha ack`).
    Acked,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Answered => "answered",
            Status::Acked => "acked",
        }
    }
    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "open" => Some(Status::Open),
            "answered" => Some(Status::Answered),
            "acked" => Some(Status::Acked),
            _ => None,
        }
    }
}

/// A mention as the store keeps it: one per (platform, platform id, brand).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mention {
    /// escucha's own id (used by `escucha ack`).
    pub id: i64,
    pub brand: String,
    pub platform: Platform,
    pub platform_id: String,
    pub url: String,
    pub author: String,
    pub author_id: String,
    pub author_followers: Option<u64>,
    pub text: String,
    pub lang: Option<String>,
    pub class: Class,
    pub score: f64,
    pub reasons: Vec<String>,
    pub created_at: DateTime<Utc>,
    /// When escucha first stored it.
    pub seen_at: DateTime<Utc>,
    /// created_at + respond_within for its class; None unless it needs an
    /// answer and is not history.
    pub deadline: Option<DateTime<Utc>>,
    /// Found on a source's first poll and older than `backfill`: kept, never
    /// alerted.
    pub history: bool,
    pub status: Status,
    pub answered_at: Option<DateTime<Utc>>,
    pub acked_by: Option<String>,
    pub acked_at: Option<DateTime<Utc>>,
    pub alerted_at: Option<DateTime<Utc>>,
    pub reposts: u64,
    /// Who relabelled it by hand (`escucha correct`, a "not a complaint"
    /// link), and when; None while its class is the classifier's.
    pub corrected_by: Option<String>,
    pub corrected_at: Option<DateTime<Utc>>,
    /// A review's star rating (its newest), 1–5; None for other posts.
    pub rating: Option<u8>,
    /// Who in the team took it on (the inbox's "assign"); a `[[user]]` name.
    #[serde(default)]
    pub assigned_to: Option<String>,
}

impl Mention {
    /// A plain open complaint by ana on X for interjet, created and seen at
    /// `created`, no deadline: the base of the example alerts and digests
    /// (`escucha test-alert`, the docs' screenshots, the render bench).
    pub fn sample(id: i64, created: DateTime<Utc>) -> Mention {
        Mention {
            id,
            brand: "interjet".into(),
            platform: Platform::X,
            platform_id: id.to_string(),
            url: String::new(),
            author: "ana".into(),
            author_id: "1".into(),
            author_followers: None,
            text: String::new(),
            lang: None,
            class: Class::Complaint,
            score: 0.9,
            reasons: vec![],
            created_at: created,
            seen_at: created,
            deadline: None,
            history: false,
            status: Status::Open,
            answered_at: None,
            acked_by: None,
            acked_at: None,
            alerted_at: None,
            reposts: 0,
            corrected_by: None,
            corrected_at: None,
            rating: None,
            assigned_to: None,
        }
    }

    /// The mention unit tests start from: [`Mention::sample`] saying "mal",
    /// due at `t`. Tests override what they are about with struct update
    /// syntax.
    #[cfg(test)]
    pub(crate) fn example(id: i64, t: DateTime<Utc>) -> Mention {
        Mention { text: "mal".into(), deadline: Some(t), ..Mention::sample(id, t) }
    }
}

/// Where a label came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LabelOrigin {
    /// A labelled file given to `escucha learn`.
    Learn,
    /// `escucha correct`.
    Correct,
    /// The "not a complaint" link in an alert.
    Link,
}

impl LabelOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            LabelOrigin::Learn => "learn",
            LabelOrigin::Correct => "correct",
            LabelOrigin::Link => "link",
        }
    }
    pub fn parse(s: &str) -> Option<LabelOrigin> {
        match s {
            "learn" => Some(LabelOrigin::Learn),
            "correct" => Some(LabelOrigin::Correct),
            "link" => Some(LabelOrigin::Link),
            _ => None,
        }
    }
}

impl fmt::Display for LabelOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A label to store: a text and the class a person says it has.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLabel {
    pub text: String,
    pub class: Class,
    pub lang: Option<String>,
    pub brand: Option<String>,
    /// The stored mention it relabels, when it came from one.
    pub mention_id: Option<i64>,
    /// Who gave it.
    pub by: String,
    pub origin: LabelOrigin,
}

/// A stored label: what the deployment's model is refit on.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub id: i64,
    pub text: String,
    pub class: Class,
    pub lang: Option<String>,
    pub brand: Option<String>,
    pub mention_id: Option<i64>,
    pub by: String,
    pub at: DateTime<Utc>,
    pub origin: LabelOrigin,
}

/// A mention due for a page. `page_step` is the chain position of its last
/// page (meaningless until `mention.alerted_at` is set).
#[derive(Debug, Clone, PartialEq)]
pub struct Due {
    pub mention: Mention,
    pub page_step: u32,
}

/// One planned page: these mentions go to this recipient as one message.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedPage {
    pub recipient: String,
    pub brand: String,
    pub step: u32,
    pub mention_ids: Vec<i64>,
    /// Not before this (the end of the recipient's quiet hours).
    pub not_before: Option<DateTime<Utc>>,
}

/// After a page, when (if ever) the mention's next chain step is due.
#[derive(Debug, Clone, PartialEq)]
pub struct PagedMention {
    pub id: i64,
    pub step: u32,
    pub next_page_at: Option<DateTime<Utc>>,
}

/// A silence: no pages for matching mentions of `brand` until `until`.
#[derive(Debug, Clone, PartialEq)]
pub struct Silence {
    pub id: i64,
    pub brand: String,
    pub platform: Option<String>,
    pub author: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub reason: String,
    pub created_by: String,
}

/// A message rendered when it was enqueued (a health notice, a digest).
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub attempts: u32,
}

/// A source's health as the store remembers it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceHealth {
    /// The first failure after the last success; None while healthy.
    pub failing_since: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_success: Option<DateTime<Utc>>,
    /// When the "not working" notice went out for this failure.
    pub alerted_at: Option<DateTime<Utc>>,
}

/// A stored mention that began a conversation (a Reddit post): sources
/// that follow conversations read the replies under it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationRoot {
    pub platform_id: String,
    pub created_at: DateTime<Utc>,
    /// Set when every brand's copy was stored as history (found on a
    /// query's first poll): replies posted before this moment, when it was
    /// seen, are history too and not news.
    pub history_seen_at: Option<DateTime<Utc>>,
}
