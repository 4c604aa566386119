//! The store owns every SQL statement and the schema, on SQLite (the
//! embedded default: WAL mode, a busy timeout, the daemon the one writer and
//! CLI commands opening the same file for short transactions) or on
//! PostgreSQL (several daemons sharing one database: see `leases.rs`).
//!
//! One file per entity, each owning its SQL: `mentions`, `labels`,
//! `cursors` (cursors, poll state), `leases`, `outbox` (pages, acks),
//! `notices` (notices, source health, digests), `silences`, `stats`,
//! `purge`. Every write goes through [`Store::write`], which labels the
//! errors an operator must act on (locked, disk full, I/O, database down)
//! and logs an outage once; every read through [`Store::read`].
//!
//! Times are stored as Unix milliseconds (UTC) so comparisons are integer
//! comparisons. Migrations are an append-only list (`schema.rs`): never edit
//! a shipped migration, add a new one.

use chrono::{DateTime, TimeZone, Utc};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Runs each named test `fn(Store)` twice: on a new in-memory SQLite
/// database and on a new PostgreSQL database (see `testdb`).
#[cfg(test)]
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $name() {
                super::$name(crate::store::Store::open_in_memory().unwrap())
            })*
        }
        mod postgres {
            $(#[test]
            fn $name() {
                super::$name(crate::store::Store::open_postgres(&crate::store::testdb::database()).unwrap())
            })*
        }
    };
}

mod cursors;
pub mod db;
mod inbox;
mod labels;
mod leases;
mod mentions;
mod migrate;
mod notices;
mod outbox;
pub mod pgtls;
mod purge;
mod schema;
mod silences;
mod stats;
#[doc(hidden)]
pub mod testdb;
#[cfg(test)]
pub(crate) mod tests;

pub use crate::model::{Due, Notice, PagedMention, PlannedPage, Silence, SourceHealth};
pub use cursors::{CursorRow, PollState};
pub use db::Backend;
use db::{Conn, Db, Lock};
pub use inbox::{ApiToken, InboxFilter, Note, PageSent, RevokeOutcome, Session};
pub use labels::CorrectOutcome;
pub use leases::Lease;
pub use mentions::{MentionFilter, NewMention, PageOutcome, Reply, Unpaged, INSERT_MENTION};
pub use migrate::Copied;
pub use outbox::{AckOutcome, Delivery, OutboxKind, OutboxRow, Queue};
pub use purge::Purged;
pub use stats::{per_day, percentile, Answerable, DailySeries, DayFigures, StatsRow};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Open { path: String, source: Box<dyn std::error::Error + Send + Sync> },
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
    /// A PostgreSQL error before the store knew which database it came from.
    #[error("postgres: {0}")]
    PostgresQuery(#[from] tokio_postgres::Error),
    #[error("database {target}: {}", pg_cause(source))]
    Postgres { target: String, source: tokio_postgres::Error },
    /// The PostgreSQL server cannot be reached.
    #[error("database {target} is unreachable: {why}; nothing new is stored until it answers")]
    Down { target: String, why: String },
    /// A column did not hold what the store expected.
    #[error("database: {0}")]
    Type(String),
    /// The operation exists for one backend only.
    #[error("{0}")]
    Unsupported(String),
}

/// A PostgreSQL error with its cause: the driver's own message is often
/// just "db error" or "error connecting to server".
fn pg_cause(e: &tokio_postgres::Error) -> String {
    let mut s = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cause = c.source();
    }
    s
}

impl StoreError {
    /// The database cannot take writes right now (locked, disk full, I/O
    /// error, server down or restarting), but nothing is wrong with what was
    /// being written: retry it later rather than drop it.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Locked { .. } | StoreError::Full { .. } | StoreError::Io { .. } | StoreError::Down { .. } => true,
            StoreError::Postgres { source, .. } | StoreError::PostgresQuery(source) => pg_unavailable(source),
            _ => false,
        }
    }
}

/// A PostgreSQL error that says nothing about what was written: the
/// connection broke, the server is shutting down or starting, too many
/// clients, or a serialization conflict worth retrying.
fn pg_unavailable(e: &tokio_postgres::Error) -> bool {
    match e.code() {
        None => true,
        Some(c) => {
            let c = c.code();
            c.starts_with("08") || c.starts_with("57P") || c.starts_with("53") || c == "40001" || c == "40P01"
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

pub fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// Where a store keeps its data: a SQLite file or a PostgreSQL URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl Location {
    /// `postgres://` and `postgresql://` URLs are PostgreSQL; anything
    /// else is a SQLite path.
    pub fn parse(s: &str) -> Location {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Location::Postgres(s.to_string())
        } else {
            Location::Sqlite(s.into())
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(p) => write!(f, "{}", p.display()),
            Location::Postgres(url) => f.write_str(&db::redact(url)),
        }
    }
}

pub struct Store {
    db: Db,
    /// For messages: the file, or the URL without its password.
    path: String,
    /// Why writes fail right now, and since when (for `/healthz` and to log
    /// the start and the end of an outage once each). Its own lock, so that
    /// it can be read while a write waits on the connection.
    unavailable: Mutex<Option<(String, DateTime<Utc>)>>,
}

impl Store {
    /// Opens (creating a SQLite file if needed) the database and brings the
    /// schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        let p = path.display().to_string();
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                let _ = std::fs::create_dir_all(dir);
            }
        }
        let conn = rusqlite::Connection::open(path).map_err(|source| StoreError::Open { path: p.clone(), source: Box::new(source) })?;
        Self::setup_sqlite(conn, &p)
    }

    /// Opens a SQLite file or a PostgreSQL database and brings its schema
    /// up to date.
    pub fn open_at(location: &Location) -> Result<Store> {
        match location {
            Location::Sqlite(path) => Store::open(path),
            Location::Postgres(url) => Store::open_postgres(url),
        }
    }

    pub fn open_postgres(url: &str) -> Result<Store> {
        let pool = Arc::new(db::PgPool::new(url)?);
        let store = Store { path: pool.target.clone(), db: Db::Postgres(pool), unavailable: Mutex::new(None) };
        store.db.write(Lock::Now, |c| schema::migrate_postgres(c, &store.path))?;
        Ok(store)
    }

    pub fn open_in_memory() -> Result<Store> {
        Self::setup_sqlite(rusqlite::Connection::open_in_memory()?, ":memory:")
    }

    fn setup_sqlite(conn: rusqlite::Connection, path: &str) -> Result<Store> {
        unicode_lower(&conn)?;
        let conn = schema::migrate_sqlite(conn, path)?;
        Ok(Store { db: Db::Sqlite { conn: Mutex::new(conn) }, path: path.to_string(), unavailable: Mutex::new(None) })
    }

    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    /// The file, or the URL without its password.
    pub fn describe(&self) -> &str {
        &self.path
    }

    /// How long a write waits for another process's lock before failing.
    /// The daemon keeps this short: a failed write is retried, while a
    /// waiting one blocks a runtime thread (and `/healthz`).
    pub fn set_busy_timeout(&self, timeout: std::time::Duration) -> Result<()> {
        match self.db.sqlite() {
            Some(conn) => Ok(conn.busy_timeout(timeout)?),
            None => Ok(()),
        }
    }

    /// Why the database takes no writes right now, and since when.
    pub fn unavailable(&self) -> Option<String> {
        let u = self.unavailable.lock().unwrap_or_else(|e| e.into_inner());
        u.as_ref().map(|(why, since)| format!("{why} (since {})", since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
    }

    /// Statements outside a transaction.
    fn read<T>(&self, f: impl FnOnce(&mut dyn Conn) -> Result<T>) -> Result<T> {
        let r = self.db.read(f);
        self.labelled(r)
    }

    /// Statements in one transaction, the write lock taken at the first
    /// write (SQLite's deferred transaction).
    fn write<T>(&self, f: impl FnOnce(&mut dyn Conn) -> Result<T>) -> Result<T> {
        let r = self.db.write(Lock::Later, f);
        self.written(r)
    }

    /// A transaction that reads a row and then writes it: the write lock
    /// is taken first.
    fn write_now<T>(&self, f: impl FnOnce(&mut dyn Conn) -> Result<T>) -> Result<T> {
        let r = self.db.write(Lock::Now, f);
        self.written(r)
    }

    /// Gives an error its operator-facing meaning (locked, disk full, I/O,
    /// server down), without the outage bookkeeping of a write.
    fn labelled<T>(&self, result: Result<T>) -> Result<T> {
        use rusqlite::ErrorCode as C;
        result.map_err(|e| match e {
            StoreError::Sql(rusqlite::Error::SqliteFailure(f, _)) if matches!(f.code, C::DatabaseBusy | C::DatabaseLocked) => {
                StoreError::Locked { path: self.path.clone() }
            }
            StoreError::Sql(rusqlite::Error::SqliteFailure(f, _)) if f.code == C::DiskFull => StoreError::Full { path: self.path.clone() },
            StoreError::Sql(source @ rusqlite::Error::SqliteFailure(f, _)) if f.code == C::SystemIoFailure => {
                StoreError::Io { path: self.path.clone(), source }
            }
            StoreError::PostgresQuery(source) => StoreError::Postgres { target: self.path.clone(), source },
            e => e,
        })
    }

    /// Labels a write's error (see `labelled`) and keeps track of outages:
    /// the first failure is logged at ERROR, the first success afterwards
    /// at INFO.
    fn written<T>(&self, result: Result<T>) -> Result<T> {
        let result = self.labelled(result);
        let mut unavailable = self.unavailable.lock().unwrap_or_else(|e| e.into_inner());
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

    /// True when the database answers a trivial query (for the watchdog
    /// and `/healthz`). A PostgreSQL that stopped answering is remembered
    /// as an outage, so `/healthz` says why.
    pub fn ping(&self) -> bool {
        let r = self.db.read(|c| db::one::<i64>(c, "SELECT 1", &[]));
        match self.db.backend() {
            Backend::Sqlite => r.is_ok(),
            Backend::Postgres => self.written(r).is_ok(),
        }
    }

    /// Copies the live SQLite database to `dest` with SQLite's online
    /// backup. PostgreSQL has its own tools for that.
    pub fn backup(&self, dest: &Path) -> Result<()> {
        let Some(conn) = self.db.sqlite() else {
            return Err(StoreError::Unsupported(format!(
                "escucha backup copies SQLite files; {} is PostgreSQL: use pg_dump (e.g. `pg_dump -Fc -f escucha.dump '<url>'`)",
                self.path
            )));
        };
        let mut out = rusqlite::Connection::open(dest)?;
        let backup = rusqlite::backup::Backup::new(&conn, &mut out)?;
        backup.run_to_completion(256, std::time::Duration::from_millis(0), None)?;
        Ok(())
    }
}

/// SQLite's own LOWER folds ASCII only: "PÉSIMO" stays "pÉsimo", and an
/// inbox search for "pésimo" would miss the post written in capitals, as
/// angry posts often are. PostgreSQL's LOWER is Unicode; this makes
/// SQLite's the same. No index is built on LOWER, so replacing the
/// built-in changes no stored order.
fn unicode_lower(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    use rusqlite::types::{Value, ValueRef};
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC | FunctionFlags::SQLITE_INNOCUOUS;
    conn.create_scalar_function("lower", 1, flags, |ctx| {
        Ok(match ctx.get_raw(0) {
            ValueRef::Text(b) => match std::str::from_utf8(b) {
                Ok(s) if s.is_ascii() => Value::Text(s.to_ascii_lowercase()),
                Ok(s) => Value::Text(s.to_lowercase()),
                Err(_) => Value::Text(String::from_utf8_lossy(b).to_lowercase()),
            },
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Text(i.to_string()),
            ValueRef::Real(r) => Value::Text(r.to_string()),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        })
    })
}
