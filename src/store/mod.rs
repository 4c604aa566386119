//! The store owns every SQL statement and the schema. SQLite in WAL mode with
//! a busy timeout; the daemon is the one writer, CLI commands (`ack`,
//! `mentions`, `stats`) open the same file for short transactions.
//!
//! Times are stored as Unix milliseconds (UTC) so comparisons are integer
//! comparisons. Migrations are an append-only list tracked by
//! `PRAGMA user_version`: never edit a shipped migration, add a new one.

use crate::model::{Class, Mention, Platform, Status};
use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

mod labels;
pub use labels::CorrectOutcome;

const MIGRATIONS: &[&str] = &[
    // 1: mentions, cursors, brand replies, outbox.
    r#"
    CREATE TABLE mentions (
        id INTEGER PRIMARY KEY,
        brand TEXT NOT NULL,
        platform TEXT NOT NULL,
        platform_id TEXT NOT NULL,
        url TEXT NOT NULL,
        author TEXT NOT NULL,
        author_id TEXT NOT NULL,
        author_followers INTEGER,
        text TEXT NOT NULL,
        lang TEXT,
        class TEXT NOT NULL,
        score REAL NOT NULL,
        reasons TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        seen_at INTEGER NOT NULL,
        deadline INTEGER,
        history INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL DEFAULT 'open',
        answered_at INTEGER,
        answer_id TEXT,
        acked_by TEXT,
        acked_at INTEGER,
        alerted_at INTEGER,
        page_step INTEGER NOT NULL DEFAULT 0,
        next_page_at INTEGER,
        reposts INTEGER NOT NULL DEFAULT 0,
        conversation_id TEXT,
        in_reply_to_id TEXT,
        query_key TEXT NOT NULL,
        UNIQUE (platform, platform_id, brand)
    );
    CREATE INDEX mentions_first_page ON mentions (deadline)
        WHERE status = 'open' AND alerted_at IS NULL AND deadline IS NOT NULL;
    CREATE INDEX mentions_next_page ON mentions (next_page_at)
        WHERE status = 'open' AND next_page_at IS NOT NULL;
    CREATE INDEX mentions_conversation ON mentions (brand, platform, conversation_id);
    CREATE INDEX mentions_author ON mentions (brand, platform, author_id, created_at);
    CREATE INDEX mentions_created ON mentions (created_at);

    CREATE TABLE cursors (
        query_key TEXT PRIMARY KEY,
        cursor TEXT NOT NULL,
        first_polled_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );

    -- Replies by a brand's own account. Kept so that a mention fetched after
    -- the brand's answer (other query, later page) is still known answered.
    CREATE TABLE replies (
        brand TEXT NOT NULL,
        platform TEXT NOT NULL,
        platform_id TEXT NOT NULL,
        in_reply_to_id TEXT,
        in_reply_to_author_id TEXT,
        conversation_id TEXT,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (platform, platform_id, brand)
    );
    CREATE INDEX replies_target ON replies (brand, platform, in_reply_to_id);
    CREATE INDEX replies_conversation ON replies (brand, platform, conversation_id);

    -- Alerts are written here before they are sent; a row is marked sent only
    -- after the server accepted it, so a restart never loses or repeats one.
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        recipient TEXT NOT NULL,
        brand TEXT NOT NULL,
        step INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        sent_at INTEGER,
        last_error TEXT
    );
    CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE state = 'pending';
    CREATE TABLE outbox_mentions (
        outbox_id INTEGER NOT NULL REFERENCES outbox (id),
        mention_id INTEGER NOT NULL REFERENCES mentions (id),
        PRIMARY KEY (outbox_id, mention_id)
    );
    CREATE INDEX outbox_mentions_mention ON outbox_mentions (mention_id);
    "#,
    // 2: source health, and notices (messages rendered when enqueued, such
    // as "source x is not working"), delivered like alerts.
    r#"
    CREATE TABLE source_health (
        source TEXT PRIMARY KEY,
        failing_since INTEGER,
        last_error TEXT,
        last_success INTEGER,
        alerted_at INTEGER
    );
    CREATE TABLE notices (
        id INTEGER PRIMARY KEY,
        recipient TEXT NOT NULL,
        subject TEXT NOT NULL,
        text TEXT NOT NULL,
        html TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        sent_at INTEGER,
        last_error TEXT
    );
    CREATE INDEX notices_pending ON notices (next_attempt_at) WHERE state = 'pending';
    "#,
    // 3: what an outbox row says: an alert, or a resolution (its mention was
    // acknowledged or answered) for PagerDuty and webhooks with send_resolved.
    r#"
    ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'alert';
    "#,
    // 4 (on-call): silences; mentions held back by a silence until it ends
    // (so they go out in the next message, not as a burst); digest state so
    // that a digest is never sent twice, also across a restart.
    r#"
    CREATE TABLE silences (
        id INTEGER PRIMARY KEY,
        brand TEXT NOT NULL,
        platform TEXT,
        author TEXT,
        starts_at INTEGER NOT NULL,
        until INTEGER NOT NULL,
        reason TEXT NOT NULL,
        created_by TEXT NOT NULL,
        ended_at INTEGER
    );
    ALTER TABLE mentions ADD COLUMN held_until INTEGER;
    ALTER TABLE mentions ADD COLUMN held_by INTEGER;
    CREATE TABLE digest_state (
        key TEXT PRIMARY KEY,
        last_fire INTEGER NOT NULL
    );
    "#,
    // 5: an author's recent complaints are counted once per ingested
    // mention; an index of complaints only answers from the index alone
    // (the wider one needed a table lookup per row for `class`).
    r#"
    DROP INDEX IF EXISTS mentions_author;
    CREATE INDEX mentions_author_complaints ON mentions (brand, platform, author_id, created_at)
        WHERE class IN ('complaint', 'escalation');
    -- `escucha stats` reads only these columns, grouped by brand and
    -- platform: answered from this index in order, without the table.
    CREATE INDEX mentions_stats ON mentions (brand, platform, created_at, class, status, alerted_at, answered_at);
    "#,
    // 6: labels people gave (`escucha learn`, `escucha correct`, the "not a
    // complaint" link), what the deployment's model is refit on. No foreign
    // key to mentions: housekeeping deletes old mentions, labels stay. And
    // who corrected a mention's class, and when.
    r#"
    CREATE TABLE labels (
        id INTEGER PRIMARY KEY,
        text TEXT NOT NULL,
        class TEXT NOT NULL CHECK (class IN ('praise', 'complaint', 'escalation', 'neutral')),
        lang TEXT,
        brand TEXT,
        mention_id INTEGER,
        labelled_by TEXT NOT NULL,
        at INTEGER NOT NULL,
        origin TEXT NOT NULL CHECK (origin IN ('learn', 'correct', 'link'))
    );
    ALTER TABLE mentions ADD COLUMN corrected_by TEXT;
    ALTER TABLE mentions ADD COLUMN corrected_at INTEGER;
    "#,
    // 7 (reviews): a review's star rating, 1-5 (NULL for other posts); an
    // edit refreshes it, and a drop to 1-2 after an answer reopens the review.
    r#"
    ALTER TABLE mentions ADD COLUMN rating INTEGER;
    "#,
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Open { path: String, source: rusqlite::Error },
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("database {path} has schema version {found}, newer than this escucha knows ({known}); upgrade escucha")]
    TooNew { path: String, found: i64, known: i64 },
    /// Another process holds the write lock longer than the busy timeout.
    #[error(
        "database {path} is locked by another process (a long write transaction: an open sqlite3 shell, a backup or sync tool?); \
         nothing new is stored until it lets go (`fuser {path}` shows who has it open)"
    )]
    Locked { path: String },
    /// SQLITE_FULL: the filesystem holding the database (or its -wal file) has no space left.
    #[error("the disk holding the database {path} is full; nothing new is stored until space is freed on that filesystem (`df {path}`)")]
    Full { path: String },
    /// SQLITE_IOERR: a write or read failed below SQLite.
    #[error(
        "database {path}: disk I/O error; the disk may be full or failing, or a file size limit (ulimit -f, LimitFSIZE=) was reached: check `df {path}` and `dmesg`"
    )]
    Io { path: String, source: rusqlite::Error },
}

impl StoreError {
    /// The database cannot take writes right now (locked, disk full, I/O
    /// error), but nothing is wrong with what was being written: retry it
    /// later rather than drop it.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Locked { .. } | StoreError::Full { .. } | StoreError::Io { .. })
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

pub fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// The two delivery queues, which share their delivery states: pages about
/// mentions (`outbox`) and messages rendered when enqueued (`notices`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    Outbox,
    Notices,
}

impl Queue {
    fn table(self) -> &'static str {
        match self {
            Queue::Outbox => "outbox",
            Queue::Notices => "notices",
        }
    }
}

/// How `commit_page` inserts a mention (parameters in column order); public
/// so that the ingest benchmark's raw insert runs the very same statement.
pub const INSERT_MENTION: &str = "INSERT INTO mentions (brand, platform, platform_id, url, author, author_id, author_followers,
    text, lang, class, score, reasons, created_at, seen_at, deadline, history, reposts,
    conversation_id, in_reply_to_id, query_key)
 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)
 ON CONFLICT (platform, platform_id, brand) DO NOTHING";

/// A mention ready to insert: everything but the store's own columns.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMention {
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
    pub deadline: Option<DateTime<Utc>>,
    pub history: bool,
    pub reposts: u64,
    pub conversation_id: Option<String>,
    pub in_reply_to_id: Option<String>,
    /// A review's star rating, 1-5.
    pub rating: Option<u8>,
}

/// The new mention unit tests start from: a complaint "mal" by ana on X for
/// interjet, created at `created`, with no deadline.
#[cfg(test)]
impl NewMention {
    pub(crate) fn example(platform_id: &str, created: DateTime<Utc>) -> NewMention {
        NewMention {
            brand: "interjet".into(),
            platform: Platform::X,
            platform_id: platform_id.into(),
            url: String::new(),
            author: "ana".into(),
            author_id: "1".into(),
            author_followers: None,
            text: "mal".into(),
            lang: None,
            class: Class::Complaint,
            score: 0.9,
            reasons: vec![],
            created_at: created,
            deadline: None,
            history: false,
            reposts: 0,
            conversation_id: None,
            in_reply_to_id: None,
            rating: None,
        }
    }
}

/// A post by the brand's own account that replies to something.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub brand: String,
    pub platform: Platform,
    pub platform_id: String,
    pub in_reply_to_id: Option<String>,
    pub in_reply_to_author_id: Option<String>,
    pub conversation_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorRow {
    pub cursor: String,
    pub first_polled_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageOutcome {
    pub inserted: Vec<i64>,
    pub duplicates: usize,
    /// Mentions that this page showed answered (they may have been alerted).
    pub answered: Vec<i64>,
    /// Answered reviews whose rating an edit dropped to 1-2: open again,
    /// with a new deadline.
    pub reopened: Vec<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckOutcome {
    Acked,
    AlreadyAcked,
    AlreadyAnswered,
    NotFound,
}

/// What an outbox row announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxKind {
    /// A page: these mentions are waiting for an answer.
    Alert,
    /// Someone acknowledged the mention (PagerDuty `acknowledge`).
    Ack,
    /// The brand answered the mention (PagerDuty `resolve`).
    Resolve,
}

impl OutboxKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxKind::Alert => "alert",
            OutboxKind::Ack => "ack",
            OutboxKind::Resolve => "resolve",
        }
    }
    fn parse(s: &str) -> OutboxKind {
        match s {
            "ack" => OutboxKind::Ack,
            "resolve" => OutboxKind::Resolve,
            _ => OutboxKind::Alert,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    pub id: i64,
    pub kind: OutboxKind,
    pub recipient: String,
    pub brand: String,
    pub step: u32,
    pub created_at: DateTime<Utc>,
    pub attempts: u32,
    pub mention_ids: Vec<i64>,
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

/// An open complaint not yet paged: id, class, created_at, deadline,
/// platform (whose source may override the brand's thresholds).
pub type Unpaged = (i64, Class, DateTime<Utc>, Option<DateTime<Utc>>, Platform);

/// After a page, when (if ever) the mention's next chain step is due.
#[derive(Debug, Clone, PartialEq)]
pub struct PagedMention {
    pub id: i64,
    pub step: u32,
    pub next_page_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default)]
pub struct MentionFilter {
    pub brand: Option<String>,
    pub class: Option<Class>,
    pub open_only: bool,
    pub limit: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StatsRow {
    pub brand: String,
    pub platform: String,
    pub mentions: u64,
    pub praise: u64,
    pub complaint: u64,
    pub escalation: u64,
    pub neutral: u64,
    /// Complaints + escalations (history included).
    pub needing_answer: u64,
    pub answered: u64,
    pub acked: u64,
    pub alerted: u64,
    /// Seconds from the mention to the brand's first answer.
    pub median_first_answer_secs: Option<i64>,
    pub p90_first_answer_secs: Option<i64>,
}

pub struct Store {
    conn: Mutex<Connection>,
    path: String,
    /// Why writes fail right now, and since when (for `/healthz` and to log
    /// the start and the end of an outage once each). Its own lock, so that
    /// it can be read while a write waits on the connection.
    unavailable: Mutex<Option<(String, DateTime<Utc>)>>,
}

impl Store {
    /// Opens (creating if needed) the database and brings the schema up to
    /// date.
    pub fn open(path: &Path) -> Result<Store> {
        let p = path.display().to_string();
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                let _ = std::fs::create_dir_all(dir);
            }
        }
        let conn = Connection::open(path).map_err(|source| StoreError::Open { path: p.clone(), source })?;
        Self::setup(conn, &p)
    }

    pub fn open_in_memory() -> Result<Store> {
        Self::setup(Connection::open_in_memory()?, ":memory:")
    }

    fn setup(mut conn: Connection, path: &str) -> Result<Store> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // journal_mode returns a row, so it cannot go through execute_batch
        // on every SQLite build.
        // Switching a new file to WAL takes an exclusive lock and SQLite does
        // not call the busy handler for it: retry while another process
        // (the daemon and a CLI command opening the same new file) holds it.
        let started = std::time::Instant::now();
        loop {
            match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)) {
                Ok(_) => break,
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::DatabaseBusy && started.elapsed() < std::time::Duration::from_secs(10) =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(e) => return Err(e.into()),
            }
        }
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
        // IMMEDIATE: the version is read under the write lock, so two
        // processes opening a new file at once (the daemon and a CLI command)
        // cannot both run the same migration.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(StoreError::TooNew { path: path.to_string(), found: version, known });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        }
        tx.commit()?;
        Ok(Store { conn: Mutex::new(conn), path: path.to_string(), unavailable: Mutex::new(None) })
    }

    /// How long a write waits for another process's lock before failing.
    /// The daemon keeps this short: a failed write is retried, while a
    /// waiting one blocks a runtime thread (and `/healthz`).
    pub fn set_busy_timeout(&self, timeout: std::time::Duration) -> Result<()> {
        Ok(self.conn().busy_timeout(timeout)?)
    }

    /// Why the database takes no writes right now, and since when.
    pub fn unavailable(&self) -> Option<String> {
        let u = self.unavailable.lock().unwrap_or_else(|e| e.into_inner());
        u.as_ref().map(|(why, since)| format!("{why} (since {})", since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
    }

    /// Gives a write's error its operator-facing meaning (locked, disk
    /// full, I/O) and keeps track of outages: the first failure is logged at
    /// ERROR, the first success afterwards at INFO.
    fn written<T>(&self, result: Result<T>) -> Result<T> {
        use rusqlite::ErrorCode as C;
        let mut unavailable = self.unavailable.lock().unwrap_or_else(|e| e.into_inner());
        let result = result.map_err(|e| match e {
            StoreError::Sql(rusqlite::Error::SqliteFailure(f, _)) if matches!(f.code, C::DatabaseBusy | C::DatabaseLocked) => {
                StoreError::Locked { path: self.path.clone() }
            }
            StoreError::Sql(rusqlite::Error::SqliteFailure(f, _)) if f.code == C::DiskFull => StoreError::Full { path: self.path.clone() },
            StoreError::Sql(source @ rusqlite::Error::SqliteFailure(f, _)) if f.code == C::SystemIoFailure => {
                StoreError::Io { path: self.path.clone(), source }
            }
            e => e,
        });
        match &result {
            Ok(_) => {
                if let Some((why, since)) = unavailable.take() {
                    let secs = (Utc::now() - since).num_seconds();
                    tracing::info!(database = %self.path, unavailable_for_secs = secs, was = %why, "the database takes writes again");
                }
            }
            Err(e) if e.is_unavailable() => {
                let why = e.to_string();
                if unavailable.as_ref().is_none_or(|(w, _)| *w != why) {
                    tracing::error!(database = %self.path, "{why}");
                    *unavailable = Some((why, Utc::now()));
                }
            }
            Err(_) => {}
        }
        result
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (every
        // write is a transaction), so a poisoned lock is safe to reuse.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// True when the database answers a trivial query (for the watchdog).
    pub fn ping(&self) -> bool {
        self.conn().query_row("SELECT 1", [], |r| r.get::<_, i64>(0)).is_ok()
    }

    pub fn cursor(&self, query_key: &str) -> Result<Option<CursorRow>> {
        Ok(self
            .conn()
            .query_row("SELECT cursor, first_polled_at FROM cursors WHERE query_key = ?1", [query_key], |r| {
                Ok(CursorRow { cursor: r.get(0)?, first_polled_at: from_ms(r.get(1)?) })
            })
            .optional()?)
    }

    /// Commits one page: its mentions, the brand replies it showed, and the
    /// query's new cursor, in one transaction. A mention already stored for
    /// the same (platform, platform id, brand) is a duplicate: only its
    /// text, followers, reposts and rating are refreshed (an edited post),
    /// except that a review whose rating an edit drops to 1-2 (below what it
    /// was) after it was answered, or before it was ever judged to need an
    /// answer, is judged again: it takes the new class, reasons and deadline,
    /// its `created_at` becomes the edit's (the text customers now read, and
    /// what a restart recomputes the deadline from), and it is open and
    /// unpaged again.
    pub fn commit_page(
        &self,
        query_key: &str,
        first_polled_at: DateTime<Utc>,
        mentions: &[NewMention],
        replies: &[Reply],
        cursor: &str,
        now: DateTime<Utc>,
    ) -> Result<PageOutcome> {
        self.written(self.commit_page_tx(query_key, first_polled_at, mentions, replies, cursor, now))
    }

    fn commit_page_tx(
        &self,
        query_key: &str,
        first_polled_at: DateTime<Utc>,
        mentions: &[NewMention],
        replies: &[Reply],
        cursor: &str,
        now: DateTime<Utc>,
    ) -> Result<PageOutcome> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut out = PageOutcome::default();
        {
            let mut insert = tx.prepare_cached(INSERT_MENTION)?;
            // A post fetched again may have been edited since: keep its
            // newest text and reach, but never its class, deadline or status
            // (it was judged and maybe paged already; an edit is not news).
            let mut refresh = tx.prepare_cached(
                "UPDATE mentions SET text = ?4,
                    author_followers = COALESCE(?5, author_followers),
                    reposts = MAX(reposts, ?6),
                    rating = COALESCE(?7, rating)
                 WHERE platform = ?1 AND platform_id = ?2 AND brand = ?3
                   AND (text != ?4 OR author_followers IS NOT COALESCE(?5, author_followers) OR reposts < ?6
                        OR rating IS NOT COALESCE(?7, rating))",
            )?;
            // Runs before `refresh`, while `rating` is still the old one.
            let mut reopen = tx.prepare_cached(
                "UPDATE mentions SET status = 'open', answered_at = NULL, answer_id = NULL, alerted_at = NULL,
                    page_step = 0, next_page_at = NULL, history = 0,
                    class = ?5, score = ?6, reasons = ?7, deadline = ?8, created_at = ?9
                 WHERE platform = ?1 AND platform_id = ?2 AND brand = ?3
                   AND rating IS NOT NULL AND rating > ?4
                   AND (status = 'answered' OR (status = 'open' AND deadline IS NULL AND alerted_at IS NULL))
                 RETURNING id",
            )?;
            let mut set_rating = tx.prepare_cached("UPDATE mentions SET rating = ?2 WHERE id = ?1")?;
            let mut inserted_mentions: Vec<&NewMention> = Vec::new();
            for m in mentions {
                let n = insert.execute(params![
                    m.brand,
                    m.platform.as_str(),
                    m.platform_id,
                    m.url,
                    m.author,
                    m.author_id,
                    m.author_followers.map(|f| f as i64),
                    m.text,
                    m.lang,
                    m.class.as_str(),
                    m.score,
                    serde_json::to_string(&m.reasons).unwrap_or_else(|_| "[]".into()),
                    to_ms(m.created_at),
                    to_ms(now),
                    m.deadline.map(to_ms),
                    m.history,
                    m.reposts as i64,
                    m.conversation_id,
                    m.in_reply_to_id,
                    query_key,
                ])?;
                if n == 1 {
                    let id = tx.last_insert_rowid();
                    if let Some(r) = m.rating {
                        set_rating.execute(params![id, r])?;
                    }
                    out.inserted.push(id);
                    inserted_mentions.push(m);
                } else {
                    if let (Some(r), Some(deadline)) = (m.rating.filter(|r| *r <= 2), m.deadline.filter(|_| m.class.needs_answer())) {
                        let reasons = serde_json::to_string(&m.reasons).unwrap_or_else(|_| "[]".into());
                        let ids = reopen.query_map(
                            params![m.platform.as_str(), m.platform_id, m.brand, r, m.class.as_str(), m.score, reasons, to_ms(deadline), to_ms(m.created_at)],
                            |row| row.get::<_, i64>(0),
                        )?;
                        for id in ids {
                            out.reopened.push(id?);
                        }
                    }
                    refresh.execute(params![
                        m.platform.as_str(),
                        m.platform_id,
                        m.brand,
                        m.text,
                        m.author_followers.map(|f| f as i64),
                        m.reposts as i64,
                        m.rating
                    ])?;
                    out.duplicates += 1;
                }
            }
            let mut insert_reply = tx.prepare_cached(
                "INSERT INTO replies (brand, platform, platform_id, in_reply_to_id, in_reply_to_author_id, conversation_id, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
            )?;
            for r in replies {
                insert_reply.execute(params![
                    r.brand,
                    r.platform.as_str(),
                    r.platform_id,
                    r.in_reply_to_id,
                    r.in_reply_to_author_id,
                    r.conversation_id,
                    to_ms(r.created_at)
                ])?;
            }
            // Apply every known reply to the mentions this page touched and
            // to the replies it brought: order of arrival must not matter.
            let mut answer = tx.prepare_cached(
                "UPDATE mentions SET status = 'answered', answered_at = ?4, answer_id = ?5, next_page_at = NULL
                 WHERE brand = ?1 AND platform = ?2 AND status != 'answered'
                   AND (platform_id = ?3
                        OR (?6 IS NOT NULL AND conversation_id = ?6 AND author_id = ?7 AND created_at < ?4))
                 RETURNING id",
            )?;
            let mut apply = |r: &Reply, out: &mut PageOutcome| -> rusqlite::Result<()> {
                let rows = answer.query_map(
                    params![
                        r.brand,
                        r.platform.as_str(),
                        r.in_reply_to_id.as_deref().unwrap_or(""),
                        to_ms(r.created_at),
                        r.platform_id,
                        r.conversation_id,
                        r.in_reply_to_author_id.as_deref().unwrap_or("")
                    ],
                    |row| row.get::<_, i64>(0),
                )?;
                for id in rows {
                    out.answered.push(id?);
                }
                Ok(())
            };
            for r in replies {
                apply(r, &mut out)?;
            }
            // Replies seen earlier that answer mentions inserted now: two
            // queries per brand and platform on the page (one through each
            // reply index, keyed by the page's post and conversation ids),
            // matched here against the mentions' own values rather than
            // re-reading the rows just written. (A join on the OR of both
            // conditions, once per mention, walked every reply of the brand.)
            let mut found = Vec::new();
            let mut groups: Vec<(&str, Platform)> = inserted_mentions.iter().map(|m| (m.brand.as_str(), m.platform)).collect();
            groups.sort_unstable_by(|a, b| (a.0, a.1.as_str()).cmp(&(b.0, b.1.as_str())));
            groups.dedup();
            let mut to_ids = tx.prepare_cached(
                "SELECT brand, platform, platform_id, in_reply_to_id, in_reply_to_author_id, conversation_id, created_at
                 FROM replies WHERE brand = ?1 AND platform = ?2 AND in_reply_to_id IN (SELECT value FROM json_each(?3))",
            )?;
            let mut in_conversations = tx.prepare_cached(
                "SELECT brand, platform, platform_id, in_reply_to_id, in_reply_to_author_id, conversation_id, created_at
                 FROM replies WHERE brand = ?1 AND platform = ?2 AND conversation_id IN (SELECT value FROM json_each(?3))",
            )?;
            let reply = |row: &Row<'_>| -> rusqlite::Result<Reply> {
                Ok(Reply {
                    brand: row.get(0)?,
                    platform: Platform::parse(&row.get::<_, String>(1)?).unwrap_or(Platform::X),
                    platform_id: row.get(2)?,
                    in_reply_to_id: row.get(3)?,
                    in_reply_to_author_id: row.get(4)?,
                    conversation_id: row.get(5)?,
                    created_at: from_ms(row.get(6)?),
                })
            };
            for (brand, platform) in groups {
                let group: Vec<&NewMention> =
                    inserted_mentions.iter().copied().filter(|m| m.brand == brand && m.platform == platform).collect();
                let mut ids: Vec<&str> = group.iter().map(|m| m.platform_id.as_str()).collect();
                ids.sort_unstable();
                ids.dedup();
                let mut conversations: Vec<&str> = group.iter().filter_map(|m| m.conversation_id.as_deref()).collect();
                conversations.sort_unstable();
                conversations.dedup();
                let json = |v: &[&str]| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
                let by_id: Vec<Reply> =
                    to_ids.query_map(params![brand, platform.as_str(), json(&ids)], &reply)?.collect::<rusqlite::Result<_>>()?;
                let by_conversation: Vec<Reply> = if conversations.is_empty() {
                    Vec::new()
                } else {
                    in_conversations.query_map(params![brand, platform.as_str(), json(&conversations)], &reply)?.collect::<rusqlite::Result<_>>()?
                };
                if by_id.is_empty() && by_conversation.is_empty() {
                    continue;
                }
                for m in group {
                    let created = to_ms(m.created_at);
                    found.extend(by_id.iter().filter(|r| r.in_reply_to_id.as_deref() == Some(m.platform_id.as_str())).cloned());
                    // Same conversation, to the mention's author, after it
                    // (and not already found above by its id).
                    found.extend(
                        by_conversation
                            .iter()
                            .filter(|r| {
                                m.conversation_id.is_some()
                                    && r.conversation_id == m.conversation_id
                                    && r.in_reply_to_author_id.as_deref() == Some(m.author_id.as_str())
                                    && to_ms(r.created_at) > created
                                    && r.in_reply_to_id.as_deref() != Some(m.platform_id.as_str())
                            })
                            .cloned(),
                    );
                }
            }
            for r in &found {
                apply(r, &mut out)?;
            }
            out.answered.sort_unstable();
            out.answered.dedup();
            enqueue_resolutions(&tx, &out.answered, OutboxKind::Resolve, now)?;
            // Answered mentions need no more pages (the UPDATE above clears
            // next_page_at; enqueue_pages never sets it on a closed one);
            // pending outbox rows made only of answered or acked mentions are
            // resolved before sending.
            tx.execute(
                "INSERT INTO cursors (query_key, cursor, first_polled_at, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (query_key) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
                params![query_key, cursor, to_ms(first_polled_at), to_ms(now)],
            )?;
        }
        tx.commit()?;
        Ok(out)
    }

    /// Complaints (and escalations) by this author about this brand on this
    /// platform created at or after `since`.
    pub fn recent_complaints(&self, brand: &str, platform: Platform, author_id: &str, since: DateTime<Utc>) -> Result<u32> {
        // Called once per mention while ingesting: keep the statement compiled.
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT COUNT(*) FROM mentions WHERE brand = ?1 AND platform = ?2 AND author_id = ?3
               AND created_at >= ?4 AND class IN ('complaint', 'escalation')",
        )?;
        Ok(stmt.query_row(params![brand, platform.as_str(), author_id, to_ms(since)], |r| r.get(0))?)
    }

    /// When each of these authors complained (complaints and escalations)
    /// about this brand on this platform at or after `since_ms`: (author id,
    /// created_at in ms). Ingest asks once per page and counts per mention
    /// from these, instead of one `recent_complaints` query per mention.
    pub fn complaint_times(&self, brand: &str, platform: Platform, author_ids: &[&str], since_ms: i64) -> Result<Vec<(String, i64)>> {
        if author_ids.is_empty() {
            return Ok(Vec::new());
        }
        let conn = self.conn();
        // Same conditions as `recent_complaints`, so the same partial index
        // (mentions_author_complaints) answers, one probe per author.
        let mut stmt = conn.prepare_cached(
            "SELECT author_id, created_at FROM mentions WHERE brand = ?1 AND platform = ?2
               AND author_id IN (SELECT value FROM json_each(?3))
               AND created_at >= ?4 AND class IN ('complaint', 'escalation')",
        )?;
        let ids = serde_json::to_string(author_ids).unwrap_or_else(|_| "[]".into());
        let rows = stmt.query_map(params![brand, platform.as_str(), ids, since_ms], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Open complaints and escalations of a brand that still await an answer
    /// (history excluded).
    pub fn open_complaints(&self, brand: &str) -> Result<u64> {
        Ok(self.conn().query_row(
            "SELECT COUNT(*) FROM mentions WHERE brand = ?1 AND status = 'open' AND history = 0
               AND class IN ('complaint', 'escalation')",
            [brand],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    /// Open mentions whose first page or next chain step is due at `now`.
    pub fn due(&self, now: DateTime<Utc>) -> Result<Vec<Due>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {MENTION_COLUMNS}, page_step FROM mentions
             WHERE status = 'open' AND history = 0 AND deadline IS NOT NULL
               AND ((alerted_at IS NULL AND deadline <= ?1) OR (next_page_at IS NOT NULL AND next_page_at <= ?1))
               AND (held_until IS NULL OR held_until <= ?1)
             ORDER BY deadline, id"
        ))?;
        let rows = stmt.query_map([to_ms(now)], |r| Ok(Due { mention: mention_from_row(r)?, page_step: r.get(MENTION_COLUMN_COUNT)? }))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The earliest moment something will be due: a first page, a chain step
    /// or an outbox retry. The alert loop sleeps until then.
    pub fn next_wakeup(&self) -> Result<Option<DateTime<Utc>>> {
        let conn = self.conn();
        let first: Option<i64> = conn.query_row(
            "SELECT MIN(MAX(deadline, COALESCE(held_until, 0))) FROM mentions
             WHERE status = 'open' AND alerted_at IS NULL AND deadline IS NOT NULL AND history = 0",
            [],
            |r| r.get(0),
        )?;
        let step: Option<i64> = conn.query_row(
            "SELECT MIN(MAX(next_page_at, COALESCE(held_until, 0))) FROM mentions WHERE status = 'open' AND next_page_at IS NOT NULL",
            [],
            |r| r.get(0),
        )?;
        let outbox: Option<i64> =
            conn.query_row("SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'pending'", [], |r| r.get(0))?;
        drop(conn);
        let notice = self.next_notice_at()?;
        Ok([first, step, outbox, notice].into_iter().flatten().min().map(from_ms))
    }

    /// Writes the pages to the outbox and records on each mention that it
    /// was paged, in one transaction: after this, delivery owns them.
    pub fn enqueue_pages(&self, pages: &[PlannedPage], paged: &[PagedMention], now: DateTime<Utc>) -> Result<Vec<i64>> {
        self.enqueue_pages_grouped(pages, paged, now, std::time::Duration::ZERO)
    }

    /// `enqueue_pages` with `[daemon] group_wait`: a new message waits
    /// `group_wait` after it may go out, and a page for the same recipient
    /// and brand that may go out within that window joins it (one message,
    /// not one per mention). Returns the outbox ids, one per page.
    pub fn enqueue_pages_grouped(&self, pages: &[PlannedPage], paged: &[PagedMention], now: DateTime<Utc>, group_wait: std::time::Duration) -> Result<Vec<i64>> {
        self.written(self.enqueue_pages_tx(pages, paged, now, group_wait))
    }

    fn enqueue_pages_tx(&self, pages: &[PlannedPage], paged: &[PagedMention], now: DateTime<Utc>, group_wait: std::time::Duration) -> Result<Vec<i64>> {
        let wait = group_wait.as_millis() as i64;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut ids = Vec::new();
        for p in pages {
            let send_at = to_ms(p.not_before.map_or(now, |t| t.max(now)));
            // Only rows never attempted: a row being retried has gone out
            // (or tried to) with its own content.
            let open: Option<i64> = tx
                .query_row(
                    "SELECT id FROM outbox WHERE state = 'pending' AND attempts = 0 AND recipient = ?1 AND brand = ?2
                       AND next_attempt_at >= ?3 AND next_attempt_at <= ?4
                     ORDER BY next_attempt_at, id LIMIT 1",
                    params![p.recipient, p.brand, send_at, send_at + wait],
                    |r| r.get(0),
                )
                .optional()?;
            let id = match open {
                Some(id) => id,
                None => {
                    tx.execute(
                        "INSERT INTO outbox (recipient, brand, step, created_at, next_attempt_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![p.recipient, p.brand, p.step, to_ms(now), send_at + wait],
                    )?;
                    tx.last_insert_rowid()
                }
            };
            for m in &p.mention_ids {
                tx.execute("INSERT OR IGNORE INTO outbox_mentions (outbox_id, mention_id) VALUES (?1, ?2)", params![id, m])?;
            }
            ids.push(id);
        }
        for m in paged {
            tx.execute(
                "UPDATE mentions SET alerted_at = COALESCE(alerted_at, ?2), page_step = ?3,
                    next_page_at = CASE WHEN status = 'open' THEN ?4 END, held_until = NULL, held_by = NULL WHERE id = ?1",
                params![m.id, to_ms(now), m.step, m.next_page_at.map(to_ms)],
            )?;
        }
        tx.commit()?;
        Ok(ids)
    }

    /// Outbox rows due for a delivery attempt, oldest first. When a row for
    /// a recipient is due, that recipient's older rows that already failed
    /// come too, whatever their own retry time (rows never tried wait for
    /// their time: quiet hours, grouping): after an outage the server gets the
    /// alerts in the order they fell due (older rows failed more often, so
    /// their jittered backoff alone would send them last).
    pub fn pending_outbox(&self, now: DateTime<Utc>) -> Result<Vec<OutboxRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT id, recipient, brand, step, created_at, attempts, kind FROM outbox o
             WHERE state = 'pending' AND (next_attempt_at <= ?1 OR attempts > 0)
               AND id <= (SELECT MAX(id) FROM outbox d
                          WHERE d.state = 'pending' AND d.next_attempt_at <= ?1 AND d.recipient = o.recipient)
             ORDER BY created_at, id",
        )?;
        let mut rows: Vec<OutboxRow> = stmt
            .query_map([to_ms(now)], |r| {
                Ok(OutboxRow {
                    id: r.get(0)?,
                    kind: OutboxKind::parse(&r.get::<_, String>(6)?),
                    recipient: r.get(1)?,
                    brand: r.get(2)?,
                    step: r.get(3)?,
                    created_at: from_ms(r.get(4)?),
                    attempts: r.get(5)?,
                    mention_ids: vec![],
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut ids = conn.prepare_cached("SELECT mention_id FROM outbox_mentions WHERE outbox_id = ?1 ORDER BY mention_id")?;
        for row in &mut rows {
            row.mention_ids = ids.query_map([row.id], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        }
        Ok(rows)
    }

    /// A delivery attempt succeeded: the row is never sent again.
    pub fn delivered(&self, q: Queue, id: i64, now: DateTime<Utc>) -> Result<()> {
        let r = self.conn().execute(
            &format!("UPDATE {} SET state = 'sent', sent_at = ?2, attempts = attempts + 1, last_error = NULL WHERE id = ?1", q.table()),
            params![id, to_ms(now)],
        );
        self.written(r.map(drop).map_err(StoreError::from))
    }

    /// A delivery attempt failed in a way worth retrying at `next_attempt_at`.
    pub fn retry(&self, q: Queue, id: i64, error: &str, next_attempt_at: DateTime<Utc>) -> Result<()> {
        let r = self.conn().execute(
            &format!("UPDATE {} SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3 WHERE id = ?1", q.table()),
            params![id, error, to_ms(next_attempt_at)],
        );
        self.written(r.map(drop).map_err(StoreError::from))
    }

    /// The channel refused the row for good: dead-lettered, kept for the record.
    pub fn dead(&self, q: Queue, id: i64, error: &str) -> Result<()> {
        let r = self.conn().execute(
            &format!("UPDATE {} SET state = 'dead', attempts = attempts + 1, last_error = ?2 WHERE id = ?1", q.table()),
            params![id, error],
        );
        self.written(r.map(drop).map_err(StoreError::from))
    }

    /// True while the row still waits for delivery.
    pub fn outbox_pending(&self, id: i64) -> Result<bool> {
        let state: Option<String> = self.conn().query_row("SELECT state FROM outbox WHERE id = ?1", [id], |r| r.get(0)).optional()?;
        Ok(state.as_deref() == Some("pending"))
    }

    /// Nothing left to say in this row: its mentions were answered or acked
    /// before it could be sent.
    pub fn outbox_resolved(&self, id: i64) -> Result<()> {
        let r = self.conn().execute("UPDATE outbox SET state = 'resolved' WHERE id = ?1", [id]);
        self.written(r.map(drop).map_err(StoreError::from))
    }

    /// True when an alert about `mention_id` was delivered to `recipient`:
    /// an ack or resolve notice only makes sense after a page.
    pub fn alert_delivered(&self, recipient: &str, mention_id: i64) -> Result<bool> {
        Ok(self.conn().query_row(
            "SELECT EXISTS (SELECT 1 FROM outbox o JOIN outbox_mentions om ON om.outbox_id = o.id
              WHERE om.mention_id = ?2 AND o.recipient = ?1 AND o.kind = 'alert' AND o.state = 'sent')",
            params![recipient, mention_id],
            |r| r.get(0),
        )?)
    }

    /// Alerts, resolutions and health notices waiting to be delivered
    /// (whether due now or backing off), for `/metrics`.
    pub fn outbox_depth(&self) -> Result<u64> {
        Ok(self.conn().query_row(
            "SELECT (SELECT COUNT(*) FROM outbox WHERE state = 'pending') + (SELECT COUNT(*) FROM notices WHERE state = 'pending')",
            [],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    /// Stored mentions by (brand, platform, class), for `/metrics`.
    pub fn mention_counts(&self) -> Result<Vec<(String, String, String, u64)>> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT brand, platform, class, COUNT(*) FROM mentions GROUP BY brand, platform, class ORDER BY 1, 2, 3")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, i64>(3)? as u64)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Per brand, when its oldest unanswered complaint or escalation (open
    /// or acknowledged, not history) was posted, for `/metrics`.
    pub fn oldest_unanswered(&self) -> Result<Vec<(String, DateTime<Utc>)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT brand, MIN(created_at) FROM mentions
             WHERE status != 'answered' AND history = 0 AND class IN ('complaint', 'escalation')
             GROUP BY brand ORDER BY brand",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, from_ms(r.get(1)?))))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Counts of outbox rows by state, for tests and `stats`.
    pub fn outbox_counts(&self) -> Result<Vec<(String, u64)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT state, COUNT(*) FROM outbox GROUP BY state ORDER BY state")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn mentions_by_ids(&self, ids: &[i64]) -> Result<Vec<Mention>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!("SELECT {MENTION_COLUMNS} FROM mentions WHERE id = ?1"))?;
        let mut out = Vec::new();
        for id in ids {
            if let Some(m) = stmt.query_row([id], mention_from_row).optional()? {
                out.push(m);
            }
        }
        Ok(out)
    }

    pub fn mention(&self, id: i64) -> Result<Option<Mention>> {
        Ok(self.mentions_by_ids(&[id])?.pop())
    }

    pub fn mentions(&self, filter: &MentionFilter) -> Result<Vec<Mention>> {
        let conn = self.conn();
        let mut sql = format!("SELECT {MENTION_COLUMNS} FROM mentions WHERE 1 = 1");
        let mut args: Vec<String> = Vec::new();
        if let Some(b) = &filter.brand {
            args.push(b.clone());
            sql.push_str(&format!(" AND brand = ?{}", args.len()));
        }
        if let Some(c) = filter.class {
            args.push(c.as_str().to_string());
            sql.push_str(&format!(" AND class = ?{}", args.len()));
        }
        if filter.open_only {
            sql.push_str(" AND status = 'open'");
        }
        sql.push_str(" ORDER BY created_at, id");
        if let Some(l) = filter.limit {
            sql.push_str(&format!(" LIMIT {l}"));
        }
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), mention_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Acknowledges a mention: no further pages for it.
    pub fn ack(&self, id: i64, by: &str, now: DateTime<Utc>) -> Result<AckOutcome> {
        self.written(self.ack_tx(id, by, now))
    }

    fn ack_tx(&self, id: i64, by: &str, now: DateTime<Utc>) -> Result<AckOutcome> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let status: Option<String> = tx.query_row("SELECT status FROM mentions WHERE id = ?1", [id], |r| r.get(0)).optional()?;
        let outcome = match status.as_deref() {
            None => AckOutcome::NotFound,
            Some("acked") => AckOutcome::AlreadyAcked,
            Some("answered") => AckOutcome::AlreadyAnswered,
            Some(_) => {
                mark_acked(&tx, id, by, now)?;
                AckOutcome::Acked
            }
        };
        tx.commit()?;
        Ok(outcome)
    }

    /// Per brand and platform: mentions by class, answers, and time to the
    /// first answer, for mentions created at or after `since`.
    pub fn stats(&self, since: DateTime<Utc>) -> Result<Vec<StatsRow>> {
        let conn = self.conn();
        // One pass over the covering index `mentions_stats`, already in
        // (brand, platform) order: SQL GROUP BY with a dozen aggregates was
        // several times slower over a million rows.
        let mut stmt = conn.prepare_cached(
            "SELECT brand, platform, class, status, alerted_at IS NOT NULL, (answered_at - created_at) / 1000
             FROM mentions INDEXED BY mentions_stats WHERE created_at >= ?1 ORDER BY brand, platform",
        )?;
        let mut rows: Vec<StatsRow> = Vec::new();
        let mut times: Vec<i64> = Vec::new();
        let finish = |row: &mut StatsRow, times: &mut Vec<i64>| {
            times.sort_unstable();
            row.median_first_answer_secs = percentile(times, 0.5);
            row.p90_first_answer_secs = percentile(times, 0.9);
            times.clear();
        };
        let mut q = stmt.query([to_ms(since)])?;
        while let Some(r) = q.next()? {
            let brand = r.get_ref(0)?.as_str().map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into()))?;
            let platform = r.get_ref(1)?.as_str().map_err(|e| rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, e.into()))?;
            if rows.last().is_none_or(|l| l.brand != brand || l.platform != platform) {
                if let Some(last) = rows.last_mut() {
                    finish(last, &mut times);
                }
                rows.push(StatsRow {
                    brand: brand.to_string(),
                    platform: platform.to_string(),
                    mentions: 0,
                    praise: 0,
                    complaint: 0,
                    escalation: 0,
                    neutral: 0,
                    needing_answer: 0,
                    answered: 0,
                    acked: 0,
                    alerted: 0,
                    median_first_answer_secs: None,
                    p90_first_answer_secs: None,
                });
            }
            let row = rows.last_mut().expect("pushed above");
            row.mentions += 1;
            let needs_answer = match r.get_ref(2)?.as_str().unwrap_or("") {
                "praise" => {
                    row.praise += 1;
                    false
                }
                "complaint" => {
                    row.complaint += 1;
                    true
                }
                "escalation" => {
                    row.escalation += 1;
                    true
                }
                _ => {
                    row.neutral += 1;
                    false
                }
            };
            if r.get::<_, bool>(4)? {
                row.alerted += 1;
            }
            if needs_answer {
                row.needing_answer += 1;
                match r.get_ref(3)?.as_str().unwrap_or("") {
                    "answered" => row.answered += 1,
                    "acked" => row.acked += 1,
                    _ => {}
                }
                if let Some(t) = r.get::<_, Option<i64>>(5)? {
                    times.push(t);
                }
            }
        }
        if let Some(last) = rows.last_mut() {
            finish(last, &mut times);
        }
        Ok(rows)
    }

    /// Deletes what is older than `cutoff` (by the platform's `created_at`):
    /// mentions, their outbox links, outbox rows and notices that are done
    /// (sent, resolved, dead) and the brand's old replies. A mention with an
    /// alert still to go is kept whatever its age: an open complaint not yet
    /// paged, with a chain step ahead, or in a pending outbox row. Works in
    /// batches of `batch` mentions, each its own short transaction, so the
    /// daemon's writers wait milliseconds, not the whole pass. No VACUUM:
    /// SQLite reuses the freed pages.
    pub fn purge_before(&self, cutoff: DateTime<Utc>, batch: usize) -> Result<Purged> {
        let cutoff = to_ms(cutoff);
        let mut out = Purged::default();
        loop {
            let mut conn = self.conn();
            let tx = conn.transaction()?;
            let ids: Vec<i64> = {
                let mut pick = tx.prepare_cached(
                    "SELECT id FROM mentions m WHERE created_at < ?1
                       AND NOT (status = 'open' AND history = 0 AND deadline IS NOT NULL
                                AND (alerted_at IS NULL OR next_page_at IS NOT NULL))
                       AND NOT EXISTS (SELECT 1 FROM outbox_mentions om JOIN outbox o ON o.id = om.outbox_id
                                       WHERE om.mention_id = m.id AND o.state = 'pending')
                     LIMIT ?2",
                )?;
                let rows = pick.query_map(params![cutoff, batch.max(1) as i64], |r| r.get(0))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            if ids.is_empty() {
                break;
            }
            {
                let mut unlink = tx.prepare_cached("DELETE FROM outbox_mentions WHERE mention_id = ?1")?;
                let mut delete = tx.prepare_cached("DELETE FROM mentions WHERE id = ?1")?;
                for id in &ids {
                    unlink.execute([id])?;
                    out.mentions += delete.execute([id])?;
                }
            }
            tx.commit()?;
        }
        let conn = self.conn();
        out.outbox = conn.execute(
            "DELETE FROM outbox WHERE state IN ('sent', 'resolved', 'dead') AND created_at < ?1
               AND NOT EXISTS (SELECT 1 FROM outbox_mentions om WHERE om.outbox_id = outbox.id)",
            [cutoff],
        )?;
        out.notices = conn.execute("DELETE FROM notices WHERE state != 'pending' AND created_at < ?1", [cutoff])?;
        out.replies = conn.execute("DELETE FROM replies WHERE created_at < ?1", [cutoff])?;
        Ok(out)
    }

    /// Copies the live database to `dest` with SQLite's online backup.
    pub fn backup(&self, dest: &Path) -> Result<()> {
        let conn = self.conn();
        let mut out = Connection::open(dest)?;
        let backup = rusqlite::backup::Backup::new(&conn, &mut out)?;
        backup.run_to_completion(256, std::time::Duration::from_millis(0), None)?;
        Ok(())
    }
}

/// After `mention_ids` were acknowledged or answered: a resolution row for each
/// webhook that was paged about them (sent, or still pending and maybe in
/// flight). Whether a webhook wants the notice is the config's business and
/// is decided at delivery; email is never told. Runs inside the caller's
/// transaction, so the notice exists exactly when the state change does.
/// Acknowledges open mention `id` on `by`'s word inside `tx`: its chain
/// stops, and channels that hear of acknowledgements get their notice.
pub(crate) fn mark_acked(tx: &Connection, id: i64, by: &str, now: DateTime<Utc>) -> rusqlite::Result<()> {
    tx.execute("UPDATE mentions SET status = 'acked', acked_by = ?2, acked_at = ?3, next_page_at = NULL WHERE id = ?1", params![id, by, to_ms(now)])?;
    enqueue_resolutions(tx, &[id], OutboxKind::Ack, now)
}

fn enqueue_resolutions(tx: &Connection, mention_ids: &[i64], kind: OutboxKind, now: DateTime<Utc>) -> rusqlite::Result<()> {
    let mut paged = tx.prepare_cached(
        "SELECT DISTINCT o.recipient, o.brand FROM outbox o JOIN outbox_mentions om ON om.outbox_id = o.id
         WHERE om.mention_id = ?1 AND o.kind = 'alert' AND o.recipient LIKE 'webhook:%' AND o.state IN ('sent', 'pending')
         ORDER BY o.recipient",
    )?;
    for id in mention_ids {
        let targets: Vec<(String, String)> =
            paged.query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
        for (recipient, brand) in targets {
            tx.execute(
                "INSERT INTO outbox (recipient, brand, step, created_at, next_attempt_at, kind) VALUES (?1, ?2, 0, ?3, ?3, ?4)",
                params![recipient, brand, to_ms(now), kind.as_str()],
            )?;
            let outbox_id = tx.last_insert_rowid();
            tx.execute("INSERT INTO outbox_mentions (outbox_id, mention_id) VALUES (?1, ?2)", params![outbox_id, id])?;
        }
    }
    Ok(())
}

/// What a housekeeping pass deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub mentions: usize,
    pub outbox: usize,
    pub notices: usize,
    pub replies: usize,
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

/// A message rendered when it was enqueued.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub attempts: u32,
}

impl Store {
    pub fn source_health(&self, source: &str) -> Result<SourceHealth> {
        Ok(self
            .conn()
            .query_row(
                "SELECT failing_since, last_error, last_success, alerted_at FROM source_health WHERE source = ?1",
                [source],
                |r| {
                    Ok(SourceHealth {
                        failing_since: r.get::<_, Option<i64>>(0)?.map(from_ms),
                        last_error: r.get(1)?,
                        last_success: r.get::<_, Option<i64>>(2)?.map(from_ms),
                        alerted_at: r.get::<_, Option<i64>>(3)?.map(from_ms),
                    })
                },
            )
            .optional()?
            .unwrap_or_default())
    }

    /// When escucha last stored a mention from this platform.
    pub fn newest_seen(&self, platform: Platform) -> Result<Option<DateTime<Utc>>> {
        let ms: Option<i64> = self.conn().query_row("SELECT MAX(seen_at) FROM mentions WHERE platform = ?1", [platform.as_str()], |r| r.get(0))?;
        Ok(ms.map(from_ms))
    }

    /// Records a failed round; the failure clock starts at the first one.
    pub fn source_failed(&self, source: &str, error: &str, now: DateTime<Utc>) -> Result<SourceHealth> {
        self.conn().execute(
            "INSERT INTO source_health (source, failing_since, last_error) VALUES (?1, ?2, ?3)
             ON CONFLICT (source) DO UPDATE SET failing_since = COALESCE(failing_since, excluded.failing_since),
                last_error = excluded.last_error",
            params![source, to_ms(now), error],
        )?;
        self.source_health(source)
    }

    /// Records a good round. Returns the health before it, so the caller can
    /// tell whether a "recovered" notice is due.
    pub fn source_succeeded(&self, source: &str, now: DateTime<Utc>) -> Result<SourceHealth> {
        let before = self.source_health(source)?;
        self.conn().execute(
            "INSERT INTO source_health (source, last_success) VALUES (?1, ?2)
             ON CONFLICT (source) DO UPDATE SET failing_since = NULL, alerted_at = NULL, last_success = excluded.last_success",
            params![source, to_ms(now)],
        )?;
        Ok(before)
    }

    /// Enqueues notices and, in the same transaction, records that the
    /// source's failure was announced (`alerted = Some(now)`) or that its
    /// recovery was (`alerted = None`): a restart never repeats either.
    pub fn enqueue_health_notices(&self, source: &str, alerted: Option<DateTime<Utc>>, notices: &[(String, String, String, String)], now: DateTime<Utc>) -> Result<()> {
        self.written(self.enqueue_health_notices_tx(source, alerted, notices, now))
    }

    fn enqueue_health_notices_tx(&self, source: &str, alerted: Option<DateTime<Utc>>, notices: &[(String, String, String, String)], now: DateTime<Utc>) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for (to, subject, text, html) in notices {
            tx.execute(
                "INSERT INTO notices (recipient, subject, text, html, created_at, next_attempt_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                params![to, subject, text, html, to_ms(now)],
            )?;
        }
        tx.execute(
            "INSERT INTO source_health (source, alerted_at) VALUES (?1, ?2)
             ON CONFLICT (source) DO UPDATE SET alerted_at = excluded.alerted_at",
            params![source, alerted.map(to_ms)],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn pending_notices(&self, now: DateTime<Utc>) -> Result<Vec<Notice>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT id, recipient, subject, text, html, attempts FROM notices
             WHERE state = 'pending' AND next_attempt_at <= ?1 ORDER BY created_at, id",
        )?;
        let rows = stmt.query_map([to_ms(now)], |r| {
            Ok(Notice { id: r.get(0)?, recipient: r.get(1)?, subject: r.get(2)?, text: r.get(3)?, html: r.get(4)?, attempts: r.get(5)? })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn next_notice_at(&self) -> Result<Option<i64>> {
        Ok(self.conn().query_row("SELECT MIN(next_attempt_at) FROM notices WHERE state = 'pending'", [], |r| r.get(0))?)
    }
}

/// On-call: business-hours deadlines, silences, bulk acks, digests.
impl Store {
    /// A brand's open complaints and escalations not yet paged (their
    /// deadline may still move).
    pub fn open_unpaged(&self, brand: &str) -> Result<Vec<Unpaged>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT id, class, created_at, deadline, platform FROM mentions
             WHERE brand = ?1 AND status = 'open' AND alerted_at IS NULL AND history = 0
               AND class IN ('complaint', 'escalation') ORDER BY id",
        )?;
        let rows = stmt.query_map([brand], |r| {
            let class: String = r.get(1)?;
            let platform: String = r.get(4)?;
            Ok((
                r.get(0)?,
                Class::parse(&class).unwrap_or(Class::Complaint),
                from_ms(r.get(2)?),
                r.get::<_, Option<i64>>(3)?.map(from_ms),
                Platform::parse(&platform).unwrap_or(Platform::X),
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Sets deadlines of mentions not yet paged. Returns how many changed.
    pub fn set_deadlines(&self, deadlines: &[(i64, DateTime<Utc>)]) -> Result<usize> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut n = 0;
        for (id, d) in deadlines {
            n += tx.execute("UPDATE mentions SET deadline = ?2 WHERE id = ?1 AND alerted_at IS NULL", params![id, to_ms(*d)])?;
        }
        tx.commit()?;
        Ok(n)
    }

    /// Stores a silence; returns its id.
    #[allow(clippy::too_many_arguments)]
    pub fn add_silence(&self, brand: &str, platform: Option<&str>, author: Option<&str>, until: DateTime<Utc>, reason: &str, by: &str, now: DateTime<Utc>) -> Result<i64> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO silences (brand, platform, author, starts_at, until, reason, created_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![brand, platform, author, to_ms(now), to_ms(until), reason, by],
        )?;
        Ok(conn.last_insert_rowid())
    }

    /// Silences in force at `now`, oldest first.
    pub fn active_silences(&self, now: DateTime<Utc>) -> Result<Vec<Silence>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT id, brand, platform, author, starts_at, until, reason, created_by FROM silences
             WHERE ended_at IS NULL AND starts_at <= ?1 AND until > ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([to_ms(now)], |r| {
            Ok(Silence {
                id: r.get(0)?,
                brand: r.get(1)?,
                platform: r.get(2)?,
                author: r.get(3)?,
                starts_at: from_ms(r.get(4)?),
                until: from_ms(r.get(5)?),
                reason: r.get(6)?,
                created_by: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Ends a silence now: the mentions it held are due at once (and go out
    /// together in the next message). False if no such active silence.
    pub fn end_silence(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let n = tx.execute(
            "UPDATE silences SET ended_at = ?2 WHERE id = ?1 AND ended_at IS NULL AND until > ?2",
            params![id, to_ms(now)],
        )?;
        tx.execute("UPDATE mentions SET held_until = NULL, held_by = NULL WHERE held_by = ?1", [id])?;
        tx.commit()?;
        Ok(n == 1)
    }

    /// Records that a silence holds these mentions back until it ends.
    pub fn hold(&self, held: &[(i64, i64, DateTime<Utc>)]) -> Result<()> {
        self.written(self.hold_tx(held))
    }

    fn hold_tx(&self, held: &[(i64, i64, DateTime<Utc>)]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for (mention, silence, until) in held {
            tx.execute("UPDATE mentions SET held_until = ?2, held_by = ?3 WHERE id = ?1", params![mention, to_ms(*until), silence])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// How many mentions a silence holds back right now.
    pub fn held_count(&self, silence: i64) -> Result<u64> {
        Ok(self.conn().query_row("SELECT COUNT(*) FROM mentions WHERE held_by = ?1 AND status = 'open'", [silence], |r| r.get::<_, i64>(0))? as u64)
    }

    /// Acknowledges every open mention of a brand. Returns their ids.
    pub fn ack_all(&self, brand: &str, by: &str, now: DateTime<Utc>) -> Result<Vec<i64>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "UPDATE mentions SET status = 'acked', acked_by = ?2, acked_at = ?3, next_page_at = NULL
             WHERE brand = ?1 AND status = 'open' RETURNING id",
        )?;
        let mut ids: Vec<i64> = stmt.query_map(params![brand, by, to_ms(now)], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        ids.sort_unstable();
        Ok(ids)
    }

    /// Enqueues pre-rendered messages: (recipient, subject, text, html).
    pub fn enqueue_notices(&self, notices: &[(String, String, String, String)], now: DateTime<Utc>) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        insert_notices(&tx, notices, now)?;
        tx.commit()?;
        Ok(())
    }

    /// When the digest `key` last fired; the first call records `now` (the
    /// first digest covers the time since the daemon first started).
    pub fn digest_last_fire(&self, key: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
        let conn = self.conn();
        conn.execute("INSERT OR IGNORE INTO digest_state (key, last_fire) VALUES (?1, ?2)", params![key, to_ms(now)])?;
        Ok(from_ms(conn.query_row("SELECT last_fire FROM digest_state WHERE key = ?1", [key], |r| r.get(0))?))
    }

    /// Enqueues a digest for the fire time `fire` and records it, in one
    /// transaction, unless a digest at or after `fire` was already recorded:
    /// returns false then, and enqueues nothing.
    pub fn enqueue_digest(&self, key: &str, fire: DateTime<Utc>, notices: &[(String, String, String, String)], now: DateTime<Utc>) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let n = tx.execute(
            "INSERT INTO digest_state (key, last_fire) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET last_fire = excluded.last_fire WHERE last_fire < excluded.last_fire",
            params![key, to_ms(fire)],
        )?;
        if n == 0 {
            return Ok(false);
        }
        insert_notices(&tx, notices, now)?;
        tx.commit()?;
        Ok(true)
    }

    /// A brand's mentions created in `[from, to)`, oldest first.
    pub fn mentions_between(&self, brand: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Mention>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {MENTION_COLUMNS} FROM mentions WHERE brand = ?1 AND created_at >= ?2 AND created_at < ?3 ORDER BY created_at, id"
        ))?;
        let rows = stmt.query_map(params![brand, to_ms(from), to_ms(to)], mention_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Mentions of a brand answered or acknowledged in `[from, to)`.
    pub fn resolved_between(&self, brand: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Mention>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {MENTION_COLUMNS} FROM mentions WHERE brand = ?1
               AND COALESCE(answered_at, acked_at) >= ?2 AND COALESCE(answered_at, acked_at) < ?3
               AND class IN ('complaint', 'escalation') ORDER BY created_at, id"
        ))?;
        let rows = stmt.query_map(params![brand, to_ms(from), to_ms(to)], mention_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

fn insert_notices(tx: &rusqlite::Transaction<'_>, notices: &[(String, String, String, String)], now: DateTime<Utc>) -> Result<()> {
    for (to, subject, text, html) in notices {
        tx.execute(
            "INSERT INTO notices (recipient, subject, text, html, created_at, next_attempt_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            params![to, subject, text, html, to_ms(now)],
        )?;
    }
    Ok(())
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

const MENTION_COLUMNS: &str = "id, brand, platform, platform_id, url, author, author_id, author_followers, text, lang,
    class, score, reasons, created_at, seen_at, deadline, history, status, answered_at, acked_by, acked_at, alerted_at, reposts,
    corrected_by, corrected_at, rating";

/// How many columns MENTION_COLUMNS lists: the index of a column selected after them.
const MENTION_COLUMN_COUNT: usize = 26;

fn mention_from_row(r: &Row<'_>) -> rusqlite::Result<Mention> {
    let platform: String = r.get(2)?;
    let class: String = r.get(10)?;
    let reasons: String = r.get(12)?;
    let status: String = r.get(17)?;
    Ok(Mention {
        id: r.get(0)?,
        brand: r.get(1)?,
        platform: Platform::parse(&platform).unwrap_or(Platform::X),
        platform_id: r.get(3)?,
        url: r.get(4)?,
        author: r.get(5)?,
        author_id: r.get(6)?,
        author_followers: r.get::<_, Option<i64>>(7)?.map(|f| f as u64),
        text: r.get(8)?,
        lang: r.get(9)?,
        class: Class::parse(&class).unwrap_or(Class::Neutral),
        score: r.get(11)?,
        reasons: serde_json::from_str(&reasons).unwrap_or_default(),
        created_at: from_ms(r.get(13)?),
        seen_at: from_ms(r.get(14)?),
        deadline: r.get::<_, Option<i64>>(15)?.map(from_ms),
        history: r.get(16)?,
        status: Status::parse(&status).unwrap_or(Status::Open),
        answered_at: r.get::<_, Option<i64>>(18)?.map(from_ms),
        acked_by: r.get(19)?,
        acked_at: r.get::<_, Option<i64>>(20)?.map(from_ms),
        alerted_at: r.get::<_, Option<i64>>(21)?.map(from_ms),
        reposts: r.get::<_, i64>(22)? as u64,
        corrected_by: r.get(23)?,
        corrected_at: r.get::<_, Option<i64>>(24)?.map(from_ms),
        rating: r.get::<_, Option<i64>>(25)?.and_then(|v| u8::try_from(v).ok()),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::Duration;

    pub(crate) fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
    }

    pub(crate) fn mention(id: &str, class: Class, created: i64) -> NewMention {
        NewMention {
            brand: "acme".into(),
            platform: Platform::X,
            platform_id: id.into(),
            url: format!("https://x.com/u/status/{id}"),
            author: "ana".into(),
            author_id: "100".into(),
            author_followers: Some(10),
            text: "no funciona".into(),
            lang: Some("es".into()),
            class,
            score: 0.8,
            reasons: vec!["complaint:phrase:no funciona".into()],
            created_at: t(created),
            deadline: class.needs_answer().then(|| t(created) + Duration::minutes(30)),
            history: false,
            reposts: 0,
            conversation_id: Some(id.into()),
            in_reply_to_id: None,
            rating: None,
        }
    }

    fn reply(id: &str, to: &str, at: i64) -> Reply {
        Reply {
            brand: "acme".into(),
            platform: Platform::X,
            platform_id: id.into(),
            in_reply_to_id: Some(to.into()),
            in_reply_to_author_id: Some("100".into()),
            conversation_id: Some(to.into()),
            created_at: t(at),
        }
    }

    #[test]
    fn a_mention_fetched_twice_is_stored_once() {
        let s = Store::open_in_memory().unwrap();
        let m = mention("1", Class::Complaint, 0);
        let a = s.commit_page("q", t(0), std::slice::from_ref(&m), &[], "c1", t(1)).unwrap();
        let b = s.commit_page("q", t(0), &[m], &[], "c2", t(2)).unwrap();
        assert_eq!(a.inserted.len(), 1);
        assert_eq!((b.inserted.len(), b.duplicates), (0, 1));
        assert_eq!(s.mentions(&MentionFilter::default()).unwrap().len(), 1);
        assert_eq!(s.cursor("q").unwrap().unwrap().cursor, "c2");
    }

    #[test]
    fn an_edited_post_keeps_its_newest_text_without_a_new_alert_or_status() {
        let s = Store::open_in_memory().unwrap();
        let first = mention("1", Class::Complaint, 0);
        let id = s.commit_page("q", t(0), std::slice::from_ref(&first), &[], "c1", t(1)).unwrap().inserted[0];
        // Paged, then acknowledged: the edit must change neither.
        let page = PlannedPage { recipient: "a@x.org".into(), brand: "acme".into(), step: 0, mention_ids: vec![id], not_before: None };
        s.enqueue_pages(&[page], &[PagedMention { id, step: 0, next_page_at: None }], t(1800)).unwrap();
        s.ack(id, "ana", t(1900)).unwrap();
        let mut edited = first.clone();
        edited.text = "no funciona (editado: ya lo arreglaron, gracias)".into();
        edited.class = Class::Praise;
        edited.author_followers = Some(20_000);
        edited.reposts = 7;
        edited.deadline = None;
        let out = s.commit_page("q", t(0), &[edited], &[], "c2", t(2000)).unwrap();
        assert_eq!((out.inserted.len(), out.duplicates), (0, 1), "an edit is a duplicate, not a new mention");
        let m = s.mention(id).unwrap().unwrap();
        assert_eq!(m.text, "no funciona (editado: ya lo arreglaron, gracias)");
        assert_eq!((m.author_followers, m.reposts), (Some(20_000), 7));
        assert_eq!(m.class, Class::Complaint, "the class it was judged and paged by stays");
        assert_eq!(m.status, Status::Acked);
        assert_eq!(m.alerted_at, Some(t(1800)));
        assert_eq!(s.pending_outbox(t(100_000)).unwrap().len(), 1, "only the one page from before the edit");
        assert!(s.due(t(100_000)).unwrap().is_empty(), "the edit is never paged again");
        // An older copy fetched later (another query, a stale cache) keeps
        // the newest reach; the text is what the platform shows now.
        let mut stale = first;
        stale.author_followers = None;
        stale.reposts = 2;
        s.commit_page("q", t(0), &[stale], &[], "c3", t(2100)).unwrap();
        let m = s.mention(id).unwrap().unwrap();
        assert_eq!((m.author_followers, m.reposts), (Some(20_000), 7));
    }

    #[test]
    fn an_open_complaint_edited_before_its_deadline_keeps_its_deadline_and_is_paged_once() {
        let s = Store::open_in_memory().unwrap();
        let m = mention("1", Class::Complaint, 0);
        s.commit_page("q", t(0), std::slice::from_ref(&m), &[], "c1", t(1)).unwrap();
        let mut edited = m;
        edited.text = "no funciona, y ahora tampoco la app".into();
        edited.deadline = Some(t(99_999));
        s.commit_page("q", t(0), &[edited], &[], "c2", t(60)).unwrap();
        let due = s.due(t(1800)).unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].mention.text, "no funciona, y ahora tampoco la app");
        assert_eq!(due[0].mention.deadline, Some(t(1800)));
    }

    fn review(id: &str, class: Class, stars: u8, created: i64) -> NewMention {
        NewMention { platform: Platform::AppStore, conversation_id: None, rating: Some(stars), ..mention(id, class, created) }
    }

    fn review_reply(id: &str, at: i64) -> Reply {
        Reply { platform: Platform::AppStore, platform_id: format!("{id}#reply"), conversation_id: None, ..reply("x", id, at) }
    }

    #[test]
    fn an_edited_review_keeps_its_newest_text_and_rating_without_a_second_page() {
        let s = Store::open_in_memory().unwrap();
        let first = review("r1", Class::Complaint, 2, 0);
        let id = s.commit_page("q", t(0), std::slice::from_ref(&first), &[], "c1", t(1)).unwrap().inserted[0];
        assert_eq!(s.mention(id).unwrap().unwrap().rating, Some(2));
        let page = PlannedPage { recipient: "a@x.org".into(), brand: "acme".into(), step: 0, mention_ids: vec![id], not_before: None };
        s.enqueue_pages(&[page], &[PagedMention { id, step: 0, next_page_at: None }], t(1800)).unwrap();
        let mut edited = first;
        edited.text = "peor todavía".into();
        edited.rating = Some(1);
        edited.created_at = t(3000);
        edited.deadline = Some(t(4800));
        let out = s.commit_page("q", t(0), &[edited], &[], "c2", t(3000)).unwrap();
        assert!(out.reopened.is_empty(), "open and paged: an edit is not news");
        let m = s.mention(id).unwrap().unwrap();
        assert_eq!((m.text.as_str(), m.rating), ("peor todavía", Some(1)));
        assert_eq!(m.alerted_at, Some(t(1800)));
        assert!(s.due(t(100_000)).unwrap().is_empty());
    }

    #[test]
    fn an_answered_review_whose_rating_drops_to_one_or_two_is_open_again_with_a_new_deadline() {
        let s = Store::open_in_memory().unwrap();
        let first = review("r1", Class::Praise, 4, 0);
        let first = NewMention { deadline: None, ..first };
        let id = s.commit_page("q", t(0), std::slice::from_ref(&first), &[review_reply("r1", 60)], "c1", t(61)).unwrap().inserted[0];
        assert_eq!(s.mention(id).unwrap().unwrap().status, Status::Answered);
        // Edited to one star after the answer: the reply predates the new
        // text, so the source no longer sends it.
        let edited = NewMention { text: "ya no funciona nada".into(), rating: Some(1), class: Class::Complaint, created_at: t(5000), deadline: Some(t(6800)), ..first.clone() };
        let out = s.commit_page("q", t(0), std::slice::from_ref(&edited), &[], "c2", t(5010)).unwrap();
        assert_eq!(out.reopened, vec![id]);
        let m = s.mention(id).unwrap().unwrap();
        assert_eq!((m.status, m.class, m.rating, m.deadline, m.answered_at), (Status::Open, Class::Complaint, Some(1), Some(t(6800)), None));
        assert_eq!(m.created_at, t(5000), "dated by the edit");
        assert!(s.due(t(6799)).unwrap().is_empty(), "paged after its threshold, not at once");
        assert_eq!(s.due(t(6800)).unwrap().len(), 1);
        // Fetched again unchanged: not reopened twice.
        let again = s.commit_page("q", t(0), &[edited], &[], "c3", t(5100)).unwrap();
        assert!(again.reopened.is_empty());
        // The business answers again: answered.
        let later = s.commit_page("q", t(0), &[], &[review_reply("r1", 6000)], "c4", t(6001)).unwrap();
        assert_eq!(later.answered, vec![id]);
    }

    #[test]
    fn an_answered_review_edited_without_a_drop_stays_answered() {
        let s = Store::open_in_memory().unwrap();
        let first = review("r1", Class::Complaint, 1, 0);
        let id = s.commit_page("q", t(0), std::slice::from_ref(&first), &[review_reply("r1", 60)], "c1", t(61)).unwrap().inserted[0];
        let edited = NewMention { text: "sigo esperando".into(), created_at: t(500), deadline: Some(t(2300)), ..first };
        let out = s.commit_page("q", t(0), &[edited], &[], "c2", t(501)).unwrap();
        assert!(out.reopened.is_empty());
        let m = s.mention(id).unwrap().unwrap();
        assert_eq!((m.status, m.text.as_str()), (Status::Answered, "sigo esperando"));
    }

    #[test]
    fn the_same_post_is_a_mention_of_each_brand_it_names() {
        let s = Store::open_in_memory().unwrap();
        let a = mention("1", Class::Complaint, 0);
        let mut b = a.clone();
        b.brand = "other".into();
        let out = s.commit_page("q", t(0), &[a, b], &[], "c", t(1)).unwrap();
        assert_eq!(out.inserted.len(), 2);
    }

    #[test]
    fn a_reply_answers_the_mention_whichever_arrives_first() {
        let s = Store::open_in_memory().unwrap();
        // Reply first, mention later (different query).
        s.commit_page("brand-timeline", t(0), &[], &[reply("9", "1", 60)], "c", t(61)).unwrap();
        let out = s.commit_page("search", t(0), &[mention("1", Class::Complaint, 0)], &[], "c", t(62)).unwrap();
        assert_eq!(out.answered.len(), 1);
        let m = s.mention(out.inserted[0]).unwrap().unwrap();
        assert_eq!(m.status, Status::Answered);
        assert_eq!(m.answered_at, Some(t(60)));
        // Mention first, reply later.
        s.commit_page("search", t(0), &[mention("2", Class::Complaint, 100)], &[], "c", t(101)).unwrap();
        let out = s.commit_page("brand-timeline", t(0), &[], &[reply("10", "2", 200)], "c", t(201)).unwrap();
        assert_eq!(out.answered.len(), 1);
        assert!(s.due(t(100_000)).unwrap().is_empty(), "answered mentions are never due");
    }

    #[test]
    fn a_reply_in_the_same_conversation_to_the_same_author_answers() {
        let s = Store::open_in_memory().unwrap();
        let mut m = mention("5", Class::Complaint, 0);
        m.conversation_id = Some("root".into());
        s.commit_page("q", t(0), &[m], &[], "c", t(1)).unwrap();
        let mut r = reply("11", "other-post", 30);
        r.conversation_id = Some("root".into());
        let out = s.commit_page("q", t(0), &[], &[r.clone()], "c", t(31)).unwrap();
        assert_eq!(out.answered.len(), 1);
        // A reply in the conversation posted before the mention does not answer it.
        let mut m2 = mention("6", Class::Complaint, 50);
        m2.conversation_id = Some("root".into());
        let out = s.commit_page("q", t(0), &[m2], &[], "c", t(51)).unwrap();
        assert!(out.answered.is_empty());
    }

    #[test]
    fn a_conversation_reply_stored_first_answers_the_mention_when_it_arrives() {
        let s = Store::open_in_memory().unwrap();
        let mut r = reply("11", "other-post", 30);
        r.conversation_id = Some("root".into());
        // Before the mention, and to another author: neither answers.
        let mut early = reply("12", "other-post", -5);
        early.conversation_id = Some("root".into());
        let mut elsewhere = reply("13", "other-post", 40);
        elsewhere.conversation_id = Some("root".into());
        elsewhere.in_reply_to_author_id = Some("999".into());
        s.commit_page("q", t(0), &[], &[early, elsewhere], "c", t(41)).unwrap();
        let mut m = mention("5", Class::Complaint, 0);
        m.conversation_id = Some("root".into());
        let out = s.commit_page("q", t(0), std::slice::from_ref(&m), &[], "c", t(42)).unwrap();
        assert!(out.answered.is_empty());
        s.commit_page("q", t(0), &[], &[r], "c", t(43)).unwrap();
        let mut m2 = mention("6", Class::Complaint, 1);
        m2.conversation_id = Some("root".into());
        let out = s.commit_page("q", t(0), &[m2], &[], "c", t(44)).unwrap();
        assert_eq!(out.answered, out.inserted);
        let stored = s.mention(out.inserted[0]).unwrap().unwrap();
        assert_eq!((stored.status, stored.answered_at), (Status::Answered, Some(t(30))));
    }

    #[test]
    fn a_reply_that_matches_by_id_and_by_conversation_answers_once() {
        let s = Store::open_in_memory().unwrap();
        // In reply to the post itself and in its conversation.
        s.commit_page("q", t(0), &[], &[reply("11", "5", 30)], "c", t(31)).unwrap();
        let out = s.commit_page("q", t(0), &[mention("5", Class::Complaint, 0)], &[], "c", t(32)).unwrap();
        assert_eq!(out.answered.len(), 1);
        assert_eq!(s.mention(out.answered[0]).unwrap().unwrap().answered_at, Some(t(30)));
    }

    #[test]
    fn complaint_times_count_what_recent_complaints_counts() {
        let s = Store::open_in_memory().unwrap();
        let mut page = Vec::new();
        for (i, (class, author, at)) in [
            (Class::Complaint, "100", 0),
            (Class::Escalation, "100", 100),
            (Class::Praise, "100", 200),
            (Class::Complaint, "100", 300),
            (Class::Complaint, "200", 150),
            (Class::Neutral, "200", 250),
        ]
        .into_iter()
        .enumerate()
        {
            let mut m = mention(&i.to_string(), class, at);
            m.author_id = author.into();
            page.push(m);
        }
        s.commit_page("q", t(0), &page, &[], "c", t(400)).unwrap();
        let times = s.complaint_times("acme", Platform::X, &["100", "200", "300"], to_ms(t(50))).unwrap();
        for (author, since) in [("100", 50), ("100", 0), ("100", 301), ("200", 150), ("200", 151), ("300", 0)] {
            let since = t(since);
            let counted = times.iter().filter(|(a, at)| a == author && *at >= to_ms(since)).count() as u32;
            if since >= t(50) {
                assert_eq!(counted, s.recent_complaints("acme", Platform::X, author, since).unwrap(), "{author} since {since}");
            }
        }
        assert_eq!(times.len(), 3, "{times:?}");
        assert!(s.complaint_times("acme", Platform::X, &[], 0).unwrap().is_empty());
        assert!(s.complaint_times("other", Platform::X, &["100"], 0).unwrap().is_empty());
    }

    #[test]
    fn due_mentions_follow_their_deadline_and_stop_after_a_page() {
        let s = Store::open_in_memory().unwrap();
        s.commit_page("q", t(0), &[mention("1", Class::Complaint, 0), mention("2", Class::Praise, 0)], &[], "c", t(1)).unwrap();
        assert!(s.due(t(60)).unwrap().is_empty());
        assert_eq!(s.next_wakeup().unwrap(), Some(t(1800)));
        let due = s.due(t(1800)).unwrap();
        assert_eq!(due.len(), 1);
        let id = due[0].mention.id;
        let page = PlannedPage { recipient: "a@x.org".into(), brand: "acme".into(), step: 0, mention_ids: vec![id], not_before: None };
        s.enqueue_pages(&[page], &[PagedMention { id, step: 0, next_page_at: None }], t(1800)).unwrap();
        assert!(s.due(t(1900)).unwrap().is_empty());
        let pending = s.pending_outbox(t(1800)).unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].mention_ids, vec![id]);
        s.delivered(Queue::Outbox, pending[0].id, t(1801)).unwrap();
        assert!(s.pending_outbox(t(1900)).unwrap().is_empty());
    }

    #[test]
    fn a_due_retry_brings_the_recipients_older_pending_rows_first() {
        let s = Store::open_in_memory().unwrap();
        let ms: Vec<_> = (0..3).map(|i| mention(&i.to_string(), Class::Complaint, 0)).collect();
        let ids = s.commit_page("q", t(0), &ms, &[], "c", t(1)).unwrap().inserted;
        let page = |to: &str, id: i64| PlannedPage { recipient: to.into(), brand: "acme".into(), step: 0, mention_ids: vec![id], not_before: None };
        // Enqueued at different moments: pages due together would share a row.
        let rows: Vec<i64> = [("a@x.org", 0, 10), ("a@x.org", 1, 11), ("b@x.org", 2, 12)]
            .iter()
            .map(|(to, i, at)| s.enqueue_pages(&[page(to, ids[*i])], &[], t(*at)).unwrap()[0])
            .collect();
        // The oldest row failed more often: its retry is the latest.
        s.retry(Queue::Outbox, rows[0], "down", t(100)).unwrap();
        s.retry(Queue::Outbox, rows[1], "down", t(50)).unwrap();
        s.retry(Queue::Outbox, rows[2], "down", t(200)).unwrap();
        assert!(s.pending_outbox(t(40)).unwrap().is_empty());
        let due: Vec<i64> = s.pending_outbox(t(50)).unwrap().iter().map(|r| r.id).collect();
        assert_eq!(due, vec![rows[0], rows[1]], "a@x.org's rows in due order; b@x.org waits for its own retry");
    }

    #[test]
    fn acked_mentions_are_not_due_and_ack_is_idempotent() {
        let s = Store::open_in_memory().unwrap();
        let out = s.commit_page("q", t(0), &[mention("1", Class::Complaint, 0)], &[], "c", t(1)).unwrap();
        let id = out.inserted[0];
        assert_eq!(s.ack(id, "ana", t(5)).unwrap(), AckOutcome::Acked);
        assert_eq!(s.ack(id, "ana", t(6)).unwrap(), AckOutcome::AlreadyAcked);
        assert_eq!(s.ack(999, "ana", t(6)).unwrap(), AckOutcome::NotFound);
        assert!(s.due(t(10_000)).unwrap().is_empty());
        assert_eq!(s.mention(id).unwrap().unwrap().acked_by.as_deref(), Some("ana"));
    }

    #[test]
    fn ack_and_answer_queue_resolutions_only_for_webhooks_that_were_paged() {
        let s = Store::open_in_memory().unwrap();
        let out = s.commit_page("q", t(0), &[mention("1", Class::Complaint, 0)], &[], "c", t(1)).unwrap();
        let id = out.inserted[0];
        let page = |to: &str| PlannedPage { recipient: to.into(), brand: "acme".into(), step: 0, mention_ids: vec![id], not_before: None };
        s.enqueue_pages(&[page("webhook:pd"), page("ana@x.org")], &[PagedMention { id, step: 0, next_page_at: None }], t(1800))
            .unwrap();
        for row in s.pending_outbox(t(1800)).unwrap() {
            s.delivered(Queue::Outbox, row.id, t(1801)).unwrap();
        }
        assert!(s.alert_delivered("webhook:pd", id).unwrap());
        assert!(!s.alert_delivered("webhook:other", id).unwrap());
        s.ack(id, "ana", t(1900)).unwrap();
        s.commit_page("q", t(0), &[], &[reply("9", "1", 2000)], "c", t(2001)).unwrap();
        let notices: Vec<(OutboxKind, String)> =
            s.pending_outbox(t(3000)).unwrap().into_iter().map(|r| (r.kind, r.recipient)).collect();
        assert_eq!(notices, vec![(OutboxKind::Ack, "webhook:pd".into()), (OutboxKind::Resolve, "webhook:pd".into())]);
        // A second ack changes nothing and queues nothing.
        s.ack(id, "beto", t(3000)).unwrap();
        assert_eq!(s.pending_outbox(t(4000)).unwrap().len(), 2);
    }

    #[test]
    fn stats_report_median_and_p90_time_to_first_answer() {
        let s = Store::open_in_memory().unwrap();
        let ms: Vec<_> = (0..10).map(|i| mention(&i.to_string(), Class::Complaint, 0)).collect();
        s.commit_page("q", t(0), &ms, &[], "c", t(1)).unwrap();
        let replies: Vec<_> = (0..10).map(|i| reply(&format!("r{i}"), &i.to_string(), 60 * (i + 1))).collect();
        s.commit_page("q", t(0), &[], &replies, "c", t(1000)).unwrap();
        let st = s.stats(t(-10)).unwrap();
        assert_eq!(st.len(), 1);
        assert_eq!(st[0].answered, 10);
        assert_eq!(st[0].median_first_answer_secs, Some(300));
        assert_eq!(st[0].p90_first_answer_secs, Some(540));
    }

    fn page(ids: &[i64], not_before: Option<DateTime<Utc>>) -> PlannedPage {
        PlannedPage { recipient: "a@x.org".into(), brand: "acme".into(), step: 0, mention_ids: ids.to_vec(), not_before }
    }

    fn paged(ids: &[i64]) -> Vec<PagedMention> {
        ids.iter().map(|&id| PagedMention { id, step: 0, next_page_at: None }).collect()
    }

    #[test]
    fn pages_due_within_group_wait_join_one_message() {
        let s = Store::open_in_memory().unwrap();
        let ms: Vec<_> = (0..3).map(|i| mention(&i.to_string(), Class::Complaint, i)).collect();
        let ids = s.commit_page("q", t(0), &ms, &[], "c", t(1)).unwrap().inserted;
        let wait = std::time::Duration::from_secs(30);
        let a = s.enqueue_pages_grouped(&[page(&ids[0..1], None)], &paged(&ids[0..1]), t(1800), wait).unwrap();
        let b = s.enqueue_pages_grouped(&[page(&ids[1..2], None)], &paged(&ids[1..2]), t(1810), wait).unwrap();
        assert_eq!(a, b, "the second page joins the waiting message");
        assert!(s.pending_outbox(t(1829)).unwrap().is_empty(), "the message waits group_wait");
        let rows = s.pending_outbox(t(1830)).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].mention_ids, ids[0..2].to_vec());
        // Once sent, a later page starts a new message.
        s.delivered(Queue::Outbox, rows[0].id, t(1830)).unwrap();
        let c = s.enqueue_pages_grouped(&[page(&ids[2..3], None)], &paged(&ids[2..3]), t(1835), wait).unwrap();
        assert_ne!(c, a);
    }

    #[test]
    fn a_page_for_after_quiet_hours_waits_and_an_urgent_one_does_not_join_it() {
        let s = Store::open_in_memory().unwrap();
        let ms: Vec<_> = (0..2).map(|i| mention(&i.to_string(), Class::Complaint, i)).collect();
        let ids = s.commit_page("q", t(0), &ms, &[], "c", t(1)).unwrap().inserted;
        let morning = t(36_000);
        let late = s.enqueue_pages(&[page(&ids[0..1], Some(morning))], &paged(&ids[0..1]), t(1800)).unwrap();
        let now = s.enqueue_pages(&[page(&ids[1..2], None)], &paged(&ids[1..2]), t(1800)).unwrap();
        assert_ne!(late, now);
        assert_eq!(s.pending_outbox(t(1800)).unwrap().len(), 1);
        assert_eq!(s.next_wakeup().unwrap(), Some(t(1800)));
        assert_eq!(s.pending_outbox(morning).unwrap().len(), 2);
    }

    #[test]
    fn a_silence_holds_a_mention_until_it_ends_or_is_lifted() {
        let s = Store::open_in_memory().unwrap();
        let id = s.commit_page("q", t(0), &[mention("1", Class::Complaint, 0)], &[], "c", t(1)).unwrap().inserted[0];
        let sil = s.add_silence("acme", Some("x"), None, t(7200), "outage", "ana", t(0)).unwrap();
        assert_eq!(s.active_silences(t(1800)).unwrap().len(), 1);
        assert!(s.active_silences(t(7200)).unwrap().is_empty(), "ended at `until`");
        s.hold(&[(id, sil, t(7200))]).unwrap();
        assert!(s.due(t(1800)).unwrap().is_empty());
        assert_eq!(s.next_wakeup().unwrap(), Some(t(7200)), "wake when the silence ends, not now");
        assert_eq!(s.held_count(sil).unwrap(), 1);
        assert_eq!(s.due(t(7200)).unwrap().len(), 1);
        // Lifted early: due at once.
        assert!(s.end_silence(sil, t(1900)).unwrap());
        assert!(!s.end_silence(sil, t(1901)).unwrap(), "already ended");
        assert_eq!(s.due(t(1900)).unwrap().len(), 1);
        assert!(s.active_silences(t(1900)).unwrap().is_empty());
    }

    #[test]
    fn ack_all_acknowledges_only_the_brand_s_open_mentions() {
        let s = Store::open_in_memory().unwrap();
        let mut other = mention("3", Class::Complaint, 0);
        other.brand = "other".into();
        let ids = s.commit_page("q", t(0), &[mention("1", Class::Complaint, 0), mention("2", Class::Escalation, 0), other], &[], "c", t(1)).unwrap().inserted;
        assert_eq!(s.ack(ids[0], "bo", t(2)).unwrap(), AckOutcome::Acked);
        assert_eq!(s.ack_all("acme", "ana", t(3)).unwrap(), vec![ids[1]]);
        assert_eq!(s.mention(ids[0]).unwrap().unwrap().acked_by.as_deref(), Some("bo"), "already acked stays as it was");
        assert_eq!(s.mention(ids[2]).unwrap().unwrap().status, Status::Open);
        assert!(s.ack_all("acme", "ana", t(4)).unwrap().is_empty());
    }

    #[test]
    fn deadlines_of_unpaged_complaints_can_be_moved() {
        let s = Store::open_in_memory().unwrap();
        let id = s.commit_page("q", t(0), &[mention("1", Class::Complaint, 0)], &[], "c", t(1)).unwrap().inserted[0];
        let list = s.open_unpaged("acme").unwrap();
        assert_eq!(list, vec![(id, Class::Complaint, t(0), Some(t(1800)), Platform::X)]);
        assert_eq!(s.set_deadlines(&[(id, t(90_000))]).unwrap(), 1);
        assert!(s.due(t(1800)).unwrap().is_empty());
        assert_eq!(s.next_wakeup().unwrap(), Some(t(90_000)));
    }

    #[test]
    fn processes_opening_a_new_database_at_once_migrate_it_once() {
        // The daemon and a CLI command (or a test watching the file) may
        // both open a database that does not exist yet.
        for _ in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("e.db");
            let opened: Vec<_> = (0..4)
                .map(|_| {
                    let p = path.clone();
                    std::thread::spawn(move || Store::open(&p).map(|s| s.ping()))
                })
                .collect();
            for t in opened {
                assert!(t.join().unwrap().unwrap());
            }
        }
    }

    #[test]
    fn reopening_a_database_keeps_data_and_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.db");
        {
            let s = Store::open(&path).unwrap();
            s.commit_page("q", t(0), &[mention("1", Class::Complaint, 0)], &[], "c", t(1)).unwrap();
        }
        let s = Store::open(&path).unwrap();
        assert_eq!(s.mentions(&MentionFilter::default()).unwrap().len(), 1);
        assert!(s.ping());
    }
}
