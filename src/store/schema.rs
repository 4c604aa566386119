//! The schema: one append-only list of migrations, written in SQLite's
//! dialect and translated for PostgreSQL, so both are versioned the same way
//! (SQLite in `PRAGMA user_version`, PostgreSQL in `schema_version`).

use super::db::{self, Conn};
use super::{Result, StoreError};

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
    // 7: several daemons on one database. Poll state per source query, so
    // a restart (or another daemon) resumes the schedule instead of
    // hammering a platform that was rate limiting; leases, so that each
    // source is polled and each alert sent by one daemon at a time.
    r#"
    CREATE TABLE poll_state (
        query_key TEXT PRIMARY KEY,
        next_poll_at INTEGER,
        failures INTEGER NOT NULL DEFAULT 0,
        rate_limited_until INTEGER,
        last_success INTEGER,
        last_error TEXT,
        updated_at INTEGER NOT NULL
    );
    CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        until INTEGER NOT NULL,
        acquired_at INTEGER NOT NULL
    );
    "#,
    // 8 (reviews): a review's star rating, 1-5 (NULL for other posts); an
    // edit refreshes it, and a drop to 1-2 after an answer reopens the review.
    r#"
    ALTER TABLE mentions ADD COLUMN rating INTEGER;
    "#,
    // 9 (the web inbox): sessions live here so that several daemons on one
    // PostgreSQL share them; `id` is the SHA-256 of the cookie's token, so a
    // copy of the table logs nobody in. Who a mention is assigned to, and
    // the team's notes on it (no foreign key: housekeeping deletes old
    // mentions and their notes together). API tokens, hashed like sessions.
    r#"
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        user_name TEXT NOT NULL,
        csrf TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    );
    CREATE INDEX sessions_expiry ON sessions (expires_at);
    ALTER TABLE mentions ADD COLUMN assigned_to TEXT;
    CREATE TABLE notes (
        id INTEGER PRIMARY KEY,
        mention_id INTEGER NOT NULL,
        by_user TEXT NOT NULL,
        at INTEGER NOT NULL,
        text TEXT NOT NULL
    );
    CREATE INDEX notes_mention ON notes (mention_id, at);
    -- Bearer tokens for /api/v1 (`escucha token create`), by SHA-256 too.
    CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        user_name TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    "#,
    // 10 (the web inbox, second part): API tokens that expire or are
    // revoked (`escucha token create --expires`, `token revoke`); wrong
    // passwords counted here rather than in each daemon's memory, so that
    // several daemons on one PostgreSQL share the login limit.
    r#"
    ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER;
    ALTER TABLE api_tokens ADD COLUMN revoked_at INTEGER;
    CREATE TABLE login_failures (
        key TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        since INTEGER NOT NULL
    );
    "#,
    // 11: the inbox's list, in its own order (open, acknowledged or
    // answered complaints, nearest deadline first, those without one
    // last), all of it and per brand: a page of 50 reads 50 index entries
    // instead of sorting every match. Partial: only complaints and
    // escalations, the rest is never listed; `class` and `history` are
    // columns too only so that SQLite counts the list from the index alone.
    r#"
    CREATE INDEX mentions_inbox ON mentions (status, (deadline IS NULL), deadline, created_at, id, class, history)
        WHERE class IN ('complaint', 'escalation') AND history = 0;
    CREATE INDEX mentions_inbox_brand ON mentions (brand, status, (deadline IS NULL), deadline, created_at, id, class, history)
        WHERE class IN ('complaint', 'escalation') AND history = 0;
    "#,
];

/// How many migrations this escucha knows: the schema version it writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// A migration in PostgreSQL's words: 64-bit integers everywhere (the
/// store binds every integer as one), identity keys for SQLite's rowid
/// aliases, doubles for reals.
pub fn postgres_sql(sqlite: &str) -> String {
    sqlite
        .replace("INTEGER PRIMARY KEY", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")
        .replace(" INTEGER", " BIGINT")
        .replace(" REAL", " DOUBLE PRECISION")
}

pub fn migrate_sqlite(mut conn: rusqlite::Connection, path: &str) -> Result<rusqlite::Connection> {
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
    let before: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if before > 0 && before < VERSION && path != ":memory:" {
        copy_aside(&conn, path, before)?;
    }
    let started = std::time::Instant::now();
    // IMMEDIATE: the version is read under the write lock, so two
    // processes opening a new file at once (the daemon and a CLI command)
    // cannot both run the same migration.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > VERSION {
        return Err(StoreError::TooNew { path: path.to_string(), found: version, known: VERSION });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
    }
    tx.commit()?;
    if version > 0 && version < VERSION {
        tracing::info!(database = path, from = version, to = VERSION, took_ms = started.elapsed().as_millis() as u64, "database schema migrated");
    }
    Ok(conn)
}

/// Before a migration changes a database in use, a copy of it as it was
/// (`escucha.db.before-v<N>`, N the version about to be written), made with
/// SQLite's online backup: rolling back is putting it back with the
/// previous binary. Made once per version.
fn copy_aside(conn: &rusqlite::Connection, path: &str, from: i64) -> Result<()> {
    let copy = format!("{path}.before-v{VERSION}");
    if std::path::Path::new(&copy).exists() {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let partial = format!("{copy}.partial");
    let _ = std::fs::remove_file(&partial);
    {
        let mut out = rusqlite::Connection::open(&partial)?;
        rusqlite::backup::Backup::new(conn, &mut out)?.run_to_completion(1024, std::time::Duration::ZERO, None)?;
    }
    std::fs::rename(&partial, &copy).map_err(|e| StoreError::Open { path: copy.clone(), source: Box::new(e) })?;
    tracing::info!(database = path, copy = %copy, from, to = VERSION, took_ms = started.elapsed().as_millis() as u64,
        "copied the database aside before migrating its schema");
    Ok(())
}

/// Runs inside the caller's transaction. An advisory lock held to the end
/// of it makes daemons that start together on a new database migrate it
/// once, one after the other.
pub fn migrate_postgres(c: &mut dyn Conn, target: &str) -> Result<()> {
    c.batch("SELECT pg_advisory_xact_lock(7079434361)")?;
    c.batch("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")?;
    let version: Option<i64> = db::one(c, "SELECT MAX(version) FROM schema_version", &[])?;
    let version = version.unwrap_or(0);
    if version > VERSION {
        return Err(StoreError::TooNew { path: target.to_string(), found: version, known: VERSION });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        c.batch(&postgres_sql(sql))?;
        c.exec("DELETE FROM schema_version", &[])?;
        c.exec("INSERT INTO schema_version (version) VALUES ($1)", &[&((i + 1) as i64)])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_is_copied_aside_before_its_schema_moves_and_a_newer_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.db");
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            for sql in &MIGRATIONS[..6] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", 6).unwrap();
            conn.execute("INSERT INTO labels (text, class, labelled_by, at, origin) VALUES ('x', 'praise', 'ana', 1, 'learn')", []).unwrap();
        }
        let p = path.display().to_string();
        migrate_sqlite(rusqlite::Connection::open(&path).unwrap(), &p).unwrap();
        let copy = dir.path().join(format!("e.db.before-v{VERSION}"));
        let old = rusqlite::Connection::open(&copy).unwrap();
        assert_eq!(old.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)).unwrap(), 6, "the copy is the database as it was");
        assert_eq!(old.query_row("SELECT COUNT(*) FROM labels", [], |r| r.get::<_, i64>(0)).unwrap(), 1);
        // Opening again migrates nothing and copies nothing.
        std::fs::remove_file(&copy).unwrap();
        migrate_sqlite(rusqlite::Connection::open(&path).unwrap(), &p).unwrap();
        assert!(!copy.exists());
        // A database from a newer escucha is refused, and says so.
        rusqlite::Connection::open(&path).unwrap().pragma_update(None, "user_version", VERSION + 1).unwrap();
        let e = migrate_sqlite(rusqlite::Connection::open(&path).unwrap(), &p).expect_err("refused").to_string();
        assert!(e.contains(&format!("schema version {}", VERSION + 1)) && e.contains("upgrade escucha"), "{e}");
    }

    #[test]
    fn postgres_migrations_keep_no_sqlite_only_types() {
        for m in MIGRATIONS {
            let pg = postgres_sql(m);
            assert!(!pg.contains(" INTEGER") && !pg.contains(" REAL"), "{pg}");
        }
        assert!(postgres_sql(MIGRATIONS[0]).contains("id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"));
    }
}
