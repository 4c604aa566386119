//! The validated configuration: what `config::load` returns once every key
//! has been checked. Nothing after loading checks the config again.

use chrono_tz::Tz;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// A secret read from the environment, a file or (tests only) inline. Its
/// Debug and Display never show the value, so it cannot leak into a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The file this came from (for messages and relative paths).
    pub path: PathBuf,
    pub daemon: Daemon,
    pub brands: Vec<Brand>,
    pub sources: Sources,
    pub smtp: Option<Smtp>,
    pub webhooks: Vec<Webhook>,
    pub oncall: Vec<Rota>,
    pub people: Vec<Person>,
    pub digest: Option<Digest>,
    /// `[[user]]`: people who log in to the web inbox. None: the inbox is off.
    pub users: Vec<User>,
}

#[derive(Debug, Clone)]
pub struct Daemon {
    /// Absolute path of the SQLite file (unused when `database_url` is set).
    pub database: PathBuf,
    /// A PostgreSQL database (`database = "postgres://..."`,
    /// `database_url_env`, `database_url_file`): several daemons may share it.
    pub database_url: Option<Secret>,
    /// How long a daemon's lease on a source or on the alerts lasts without
    /// renewal (PostgreSQL only): a daemon that dies or loses the database
    /// hands its work over after this.
    pub lease: Duration,
    pub http: Option<String>,
    pub timezone: Tz,
    pub public_url: Option<String>,
    pub ack_secret: Option<Secret>,
    pub group_wait: Duration,
    pub log_format: LogFormat,
    /// Mentions older than this are deleted by the daily housekeeping pass
    /// (never an open complaint with an alert still to go); None keeps all.
    pub retention: Option<Duration>,
    /// `classifier = "learned"` (default): the rules, then the learned
    /// head refit from the team's labels; `"rules"`: the rules alone.
    pub classifier: ClassifierKind,
    /// Behind a single-sign-on proxy: the request header naming the
    /// logged-in user (`X-Forwarded-User`), honoured only from
    /// `trusted_proxies`.
    pub trusted_user_header: Option<axum::http::HeaderName>,
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// `language = "en" | "es"`: the inbox's and the alerts' language
    /// unless a `[[user]]` or `[[person]]` says otherwise.
    pub language: Language,
    /// The alert and digest templates: built in, with the overrides from
    /// `templates = "/etc/escucha/templates"` compiled and checked at load.
    pub templates: std::sync::Arc<crate::alert::templates::Templates>,
}

impl Daemon {
    /// Where the store is: the PostgreSQL URL when one is set, else the
    /// SQLite file.
    pub fn location(&self) -> crate::store::Location {
        match &self.database_url {
            Some(url) => crate::store::Location::Postgres(url.expose().to_string()),
            None => crate::store::Location::Sqlite(self.database.clone()),
        }
    }
}

/// The languages escucha's pages and alerts are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    #[default]
    En,
    Es,
}

impl Language {
    pub fn parse(s: &str) -> Result<Language, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "en" => Ok(Language::En),
            "es" => Ok(Language::Es),
            _ => Err(format!("{s:?} is not a language escucha speaks (use \"en\" or \"es\")")),
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Es => "es",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassifierKind {
    Learned,
    Rules,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct Brand {
    pub id: String,
    pub name: String,
    pub terms: Vec<String>,
    pub exclude: Vec<String>,
    /// Handles without `@`, as written.
    pub executives: Vec<String>,
    pub respond_within: RespondWithin,
    /// Id of the `[[oncall]]` rota paged for this brand.
    pub oncall: Option<String>,
    pub accounts: Accounts,
    pub escalate: Escalate,
    pub backfill: Duration,
    pub timezone: Tz,
    pub business_hours: Option<super::BusinessHours>,
    pub holidays: Vec<chrono::NaiveDate>,
    /// `[brand.classify]`: the brand's own phrases that decide the class.
    pub classify: BrandPhrases,
}

impl Brand {
    /// The brand's phrases as the classifier matches them (folded once,
    /// when the config was read; None without phrases).
    pub fn phrases(&self) -> Option<std::sync::Arc<crate::classify::phrases::Phrases>> {
        self.classify.compiled.clone()
    }
}

/// `[brand.classify]`: phrases (trimmed, non-empty, as written) that decide
/// a mention's class when its text contains them, for fixes a team needs
/// today; the classifier shows them as `<class>:brand-phrase:<phrase>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrandPhrases {
    pub praise: Vec<String>,
    pub complaint: Vec<String>,
    pub escalation: Vec<String>,
    pub neutral: Vec<String>,
    /// The lists above as the classifier matches them.
    compiled: Option<std::sync::Arc<crate::classify::phrases::Phrases>>,
}

impl BrandPhrases {
    pub fn new(praise: Vec<String>, complaint: Vec<String>, escalation: Vec<String>, neutral: Vec<String>) -> BrandPhrases {
        use crate::model::Class;
        let phrases = crate::classify::phrases::Phrases::new(&[
            (Class::Praise, praise.as_slice()),
            (Class::Complaint, complaint.as_slice()),
            (Class::Escalation, escalation.as_slice()),
            (Class::Neutral, neutral.as_slice()),
        ]);
        let compiled = (!phrases.is_empty()).then(|| std::sync::Arc::new(phrases));
        BrandPhrases { praise, complaint, escalation, neutral, compiled }
    }

    pub fn is_empty(&self) -> bool {
        self.praise.is_empty() && self.complaint.is_empty() && self.escalation.is_empty() && self.neutral.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RespondWithin {
    pub complaint: Duration,
    pub escalation: Duration,
}

#[derive(Debug, Clone, Default)]
pub struct Accounts {
    /// X username without `@`.
    pub x: Option<String>,
    /// `user@instance` or `user` (then on the configured instance).
    pub mastodon: Option<String>,
    /// The brand's own Mastodon token, to read its mention notifications.
    pub mastodon_token: Option<Secret>,
    pub bluesky: Option<String>,
    pub reddit: Option<String>,
    pub hackernews: Option<String>,
    /// Facebook page id (numeric, as Graph gives it).
    pub facebook: Option<String>,
    /// Instagram professional account (IG user) id.
    pub instagram: Option<String>,
    /// YouTube channel id (`UC...`).
    pub youtube: Option<String>,
    /// Google Business Profile locations, `accounts/{a}/locations/{l}`.
    pub google_reviews: Vec<String>,
    /// App Store Connect app ids (the numeric Apple ID).
    pub app_store: Vec<String>,
    /// Google Play package names.
    pub google_play: Vec<String>,
    /// Trustpilot business unit ids.
    pub trustpilot: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Escalate {
    pub followers: u64,
    pub reposts: u64,
    pub repeat: u32,
    pub window: Duration,
}

impl Default for Escalate {
    fn default() -> Self {
        Escalate { followers: 10_000, reposts: 50, repeat: 3, window: Duration::from_secs(7 * 86_400) }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub x: Option<XSource>,
    pub mastodon: Option<MastodonSource>,
    pub bluesky: Option<BlueskySource>,
    pub reddit: Option<RedditSource>,
    pub hackernews: Option<HackerNewsSource>,
    pub feeds: Vec<FeedSource>,
    pub facebook: Option<FacebookSource>,
    pub instagram: Option<InstagramSource>,
    pub youtube: Option<YouTubeSource>,
    pub google_reviews: Option<GoogleReviewsSource>,
    pub app_store: Option<AppStoreSource>,
    pub google_play: Option<GooglePlaySource>,
    pub trustpilot: Option<TrustpilotSource>,
    /// Each source's `respond_within` (by config name: `x`, `feed`, ...),
    /// where one is given: it overrides the brands' thresholds for the
    /// mentions that source finds. Kept apart from [`Schedule`] so that
    /// adding it changed no source's settings.
    pub respond_within: std::collections::BTreeMap<String, RespondWithinOverride>,
}

/// Settings every source takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    pub every: Duration,
    pub unhealthy_after: Duration,
    pub expect_within: Option<Duration>,
}

/// A source's `respond_within = { complaint = "2h" }`: the classes given
/// replace the brand's thresholds; the others keep the brand's.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RespondWithinOverride {
    pub complaint: Option<Duration>,
    pub escalation: Option<Duration>,
}

impl RespondWithinOverride {
    pub fn apply(&self, brand: RespondWithin) -> RespondWithin {
        RespondWithin { complaint: self.complaint.unwrap_or(brand.complaint), escalation: self.escalation.unwrap_or(brand.escalation) }
    }
}

#[derive(Debug, Clone)]
pub struct XSource {
    /// Without trailing slash, e.g. `https://api.x.com`.
    pub api_base: String,
    pub bearer_token: Secret,
    pub schedule: Schedule,
}

#[derive(Debug, Clone)]
pub struct MastodonSource {
    /// Without trailing slash, e.g. `https://mastodon.social`.
    pub instance: String,
    pub access_token: Option<Secret>,
    /// `stream = true`: the notification and hashtag queries are read from
    /// the instance's streaming API, with a poll from the cursor on every
    /// (re)connect; polling stays the fallback.
    pub stream: bool,
    pub schedule: Schedule,
}

#[derive(Debug, Clone)]
pub struct BlueskySource {
    /// Where the account logs in and requests go, e.g. `https://bsky.social`.
    pub service: String,
    /// The brand account's handle or DID.
    pub identifier: String,
    pub app_password: Secret,
    /// `jetstream = "wss://..."`: the Jetstream base URL (no trailing `/`)
    /// whose `/subscribe` replaces polling; search stays the fallback and
    /// reads a brand's history on its first run.
    pub jetstream: Option<String>,
    pub schedule: Schedule,
}

#[derive(Debug, Clone)]
pub struct RedditSource {
    /// e.g. `https://oauth.reddit.com`.
    pub api_base: String,
    /// e.g. `https://www.reddit.com/api/v1/access_token`.
    pub token_url: String,
    pub client_id: Secret,
    pub client_secret: Secret,
    /// Sent on every request, as Reddit requires.
    pub user_agent: String,
    pub schedule: Schedule,
    /// Comment threads of matched posts are read for this long after the
    /// post (`follow_threads`, default 3 days); zero: not followed.
    pub follow_threads: Duration,
    /// Subreddits whose new comments are read and matched locally
    /// (`subreddits`), lowercase, without `r/`.
    pub subreddits: Vec<String>,
    /// The brand's own Reddit user, logged in to read its username
    /// mentions (`username`/`password` or `refresh_token`). All requests
    /// then carry this user's token.
    pub user: Option<RedditUser>,
}

/// A Reddit user token's grant: a script app's password grant, or a
/// refresh token from an authorization with `duration=permanent`.
#[derive(Debug, Clone)]
pub enum RedditGrant {
    Password { username: Secret, password: Secret },
    RefreshToken(Secret),
}

#[derive(Debug, Clone)]
pub struct RedditUser {
    pub grant: RedditGrant,
    /// The brands whose `[brand.accounts] reddit` is this user: its
    /// username mentions are their mentions.
    pub brands: Vec<String>,
    /// Which keys hold the credentials, for messages (`username_env and
    /// password_env`, `refresh_token_file`).
    pub keys: String,
}

#[derive(Debug, Clone)]
pub struct HackerNewsSource {
    /// e.g. `https://hn.algolia.com`.
    pub api_base: String,
    pub schedule: Schedule,
}

/// `[source.google_reviews]`: Google Business Profile reviews, read with
/// an OAuth 2.0 user token obtained from a refresh token.
#[derive(Debug, Clone)]
pub struct GoogleReviewsSource {
    /// e.g. `https://mybusiness.googleapis.com`.
    pub api_base: String,
    /// e.g. `https://oauth2.googleapis.com/token`.
    pub token_url: String,
    pub client_id: Secret,
    pub client_secret: Secret,
    pub refresh_token: Secret,
    pub schedule: Schedule,
}

/// `[source.app_store]`: App Store Connect customer reviews, with an ES256
/// JWT signed by the team's API key.
#[derive(Debug, Clone)]
pub struct AppStoreSource {
    /// e.g. `https://api.appstoreconnect.apple.com`.
    pub api_base: String,
    pub issuer_id: String,
    pub key_id: String,
    /// The `.p8` key (PKCS#8 PEM, EC P-256), checked when loaded.
    pub private_key: Secret,
    pub schedule: Schedule,
}

/// `[source.google_play]`: Android Publisher `reviews.list`, with a
/// service account's RS256 JWT exchanged at `token_url`.
#[derive(Debug, Clone)]
pub struct GooglePlaySource {
    /// e.g. `https://androidpublisher.googleapis.com`.
    pub api_base: String,
    /// e.g. `https://oauth2.googleapis.com/token`.
    pub token_url: String,
    /// The service account's JSON key file, checked when loaded.
    pub service_account: Secret,
    pub schedule: Schedule,
}

/// `[source.trustpilot]`: private reviews of business units, with a
/// business user's token (password grant).
#[derive(Debug, Clone)]
pub struct TrustpilotSource {
    /// e.g. `https://api.trustpilot.com`.
    pub api_base: String,
    pub token_url: String,
    /// The API key and secret.
    pub client_id: Secret,
    pub client_secret: Secret,
    pub username: Secret,
    pub password: Secret,
    pub schedule: Schedule,
}

/// `[source.facebook]`: comments under a page's posts and posts tagging
/// it, read with a Page access token.
#[derive(Debug, Clone)]
pub struct FacebookSource {
    /// e.g. `https://graph.facebook.com`; requests go to `{api_base}/{api_version}/...`.
    pub api_base: String,
    /// e.g. `v21.0`.
    pub api_version: String,
    pub page_token: Secret,
    /// The config key the token came from (`page_token_env`, ...), for messages.
    pub token_key: String,
    pub schedule: Schedule,
}

/// `[source.instagram]`: comments on a professional account's media and
/// media it is tagged in (Instagram Graph API).
#[derive(Debug, Clone)]
pub struct InstagramSource {
    pub api_base: String,
    pub api_version: String,
    pub access_token: Secret,
    /// The config key the token came from, for messages.
    pub token_key: String,
    pub schedule: Schedule,
}

/// `[source.youtube]`: comment threads of a channel (Data API v3).
#[derive(Debug, Clone)]
pub struct YouTubeSource {
    /// e.g. `https://www.googleapis.com`; requests go to `{api_base}/youtube/v3/...`.
    pub api_base: String,
    pub api_key: Secret,
    /// The config key the key came from, for messages.
    pub key_key: String,
    /// Quota units a day the polling plans for (1 per list page).
    pub daily_quota: u64,
    pub schedule: Schedule,
}

#[derive(Debug, Clone)]
pub struct FeedSource {
    /// The feed's address. Kept secret-like: Google Alerts feed URLs carry
    /// a private token.
    pub url: Secret,
    /// Every entry of the feed belongs to this brand...
    pub brand: String,
    /// ...unless `terms = true`: then the brand's terms must match too.
    pub terms: bool,
    pub schedule: Schedule,
}

#[derive(Debug, Clone)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// A mailbox, e.g. `Escucha <alerts@example.com>`.
    pub from: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    None,
    Starttls,
    Tls,
}

#[derive(Debug, Clone)]
pub struct Webhook {
    pub id: String,
    pub kind: WebhookKind,
    pub url: Option<Secret>,
    pub secret: Option<Secret>,
    pub routing_key: Option<Secret>,
    pub send_resolved: bool,
}

/// Which service a `[[webhook]]` speaks to, and so the body it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookKind {
    Slack,
    Discord,
    Teams,
    Ntfy,
    PagerDuty,
    Json,
}

impl WebhookKind {
    pub const ALL: [WebhookKind; 6] =
        [WebhookKind::Slack, WebhookKind::Discord, WebhookKind::Teams, WebhookKind::Ntfy, WebhookKind::PagerDuty, WebhookKind::Json];

    /// The config's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookKind::Slack => "slack",
            WebhookKind::Discord => "discord",
            WebhookKind::Teams => "teams",
            WebhookKind::Ntfy => "ntfy",
            WebhookKind::PagerDuty => "pagerduty",
            WebhookKind::Json => "json",
        }
    }

    pub fn parse(s: &str) -> Option<WebhookKind> {
        WebhookKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for WebhookKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct Rota {
    pub id: String,
    pub overlap_all: bool,
    pub repeat: u32,
    pub shifts: Vec<Shift>,
    pub then: Vec<Step>,
}

#[derive(Debug, Clone)]
pub struct Shift {
    /// The cron expression as written (for messages).
    pub when_text: String,
    pub when: cron::Schedule,
    pub timezone: chrono_tz::Tz,
    pub notify: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub after: Duration,
    pub notify: Vec<String>,
}

/// `[[user]]`: someone who logs in to the web inbox.
#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub email: String,
    /// An argon2 hash in PHC format (`escucha passwd`), checked at load.
    pub password_hash: Secret,
    /// Overrides `[daemon] language` for this user's pages.
    pub language: Option<Language>,
}

#[derive(Debug, Clone)]
pub struct Person {
    pub address: String,
    pub timezone: Option<Tz>,
    pub quiet: Option<super::Quiet>,
    /// Overrides `[daemon] language` for the alerts this person gets.
    pub language: Option<Language>,
}

/// `[digest]`: a periodic summary email.
#[derive(Debug, Clone)]
pub struct Digest {
    pub when: cron::Schedule,
    /// The cron expression as written (for messages).
    pub when_text: String,
    pub timezone: Tz,
    pub to: Vec<String>,
    /// Also list what was resolved in the period, one line each.
    pub send_resolved: bool,
}

impl Config {
    pub fn brand(&self, id: &str) -> Option<&Brand> {
        self.brands.iter().find(|b| b.id == id)
    }
    /// The user who logs in as `login`: their name, or their email
    /// (any case).
    pub fn user(&self, login: &str) -> Option<&User> {
        let login = login.trim();
        self.users.iter().find(|u| u.name == login || u.email.eq_ignore_ascii_case(login))
    }
    pub fn rota(&self, id: &str) -> Option<&Rota> {
        self.oncall.iter().find(|r| r.id == id)
    }
    /// A brand's thresholds for mentions found by the source with this
    /// config name: the source's `respond_within` over the brand's.
    pub fn respond_within(&self, brand: &Brand, source: &str) -> RespondWithin {
        self.sources.respond_within.get(source).map_or(brand.respond_within, |o| o.apply(brand.respond_within))
    }
    /// The schedule of the source with this config name (`feed`: the first
    /// feed's).
    pub fn source_schedule(&self, name: &str) -> Option<Schedule> {
        let s = &self.sources;
        match name {
            "x" => s.x.as_ref().map(|x| x.schedule),
            "mastodon" => s.mastodon.as_ref().map(|x| x.schedule),
            "bluesky" => s.bluesky.as_ref().map(|x| x.schedule),
            "reddit" => s.reddit.as_ref().map(|x| x.schedule),
            "hackernews" => s.hackernews.as_ref().map(|x| x.schedule),
            "feed" => s.feeds.first().map(|x| x.schedule),
            "facebook" => s.facebook.as_ref().map(|x| x.schedule),
            "instagram" => s.instagram.as_ref().map(|x| x.schedule),
            "youtube" => s.youtube.as_ref().map(|x| x.schedule),
            "google_reviews" => s.google_reviews.as_ref().map(|x| x.schedule),
            "app_store" => s.app_store.as_ref().map(|x| x.schedule),
            "google_play" => s.google_play.as_ref().map(|x| x.schedule),
            "trustpilot" => s.trustpilot.as_ref().map(|x| x.schedule),
            _ => None,
        }
    }
}
