//! What the web inbox reads and writes beyond acks and corrections: the
//! filtered, deadline-ordered list; assignments; notes; a mention's pages
//! for its timeline; and login sessions (in the database, so that several
//! daemons on one PostgreSQL share them).

use super::db::{self, Param};
use super::mentions::{mention_from_row, MENTION_COLUMNS};
use super::{from_ms, to_ms, Result, Store};
use crate::model::{Class, Mention, Platform, Status};
use chrono::{DateTime, Utc};

/// Which mentions the inbox lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InboxFilter {
    pub brand: Option<String>,
    pub platform: Option<Platform>,
    /// None: complaints and escalations.
    pub class: Option<Class>,
    /// None: every status (and history too).
    pub status: Option<Status>,
    /// Words the text or the author contains (any case).
    pub search: Option<String>,
    /// Some(None): assigned to nobody; Some(Some(name)): to that user.
    pub assigned: Option<Option<String>>,
    /// Created at or after this, and before that.
    pub created_from: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    pub offset: usize,
    pub limit: usize,
}

/// A note someone in the team left on a mention.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Note {
    pub by: String,
    pub at: DateTime<Utc>,
    pub text: String,
}

/// An alert or notice row that carried a mention, for its timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageSent {
    pub recipient: String,
    pub kind: String,
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// A logged-in session: who, and the token its forms must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user: String,
    pub csrf: String,
}

/// A bearer token for `/api/v1`, as stored (its hash, never the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// SHA-256 of the token, hex.
    pub id: String,
    pub user: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiToken {
    /// The id `escucha token list` shows and `escucha token revoke` takes:
    /// the hash's first 12 hex digits (the hash of a random token says
    /// nothing about it).
    pub fn public_id(&self) -> &str {
        &self.id[..self.id.len().min(12)]
    }
}

/// What `revoke_api_token` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeOutcome {
    Revoked(ApiToken),
    AlreadyRevoked(ApiToken),
    NotFound,
    /// The id given matches this many tokens.
    Ambiguous(usize),
}

const TOKEN_COLUMNS: &str = "id, user_name, created_at, expires_at, revoked_at";

fn token_from_row(r: &db::Row) -> Result<ApiToken> {
    Ok(ApiToken {
        id: r.get(0)?,
        user: r.get(1)?,
        created_at: from_ms(r.get(2)?),
        expires_at: r.get::<Option<i64>>(3)?.map(from_ms),
        revoked_at: r.get::<Option<i64>>(4)?.map(from_ms),
    })
}

/// `LIKE` pattern matching `s` literally anywhere (`\` escapes).
fn contains_pattern(s: &str) -> String {
    let mut p = String::from("%");
    for ch in s.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

impl InboxFilter {
    /// The WHERE clause and its parameters.
    fn sql(&self) -> (String, Vec<Box<dyn Param>>) {
        let mut sql = String::from(" WHERE 1 = 1");
        let mut args: Vec<Box<dyn Param>> = Vec::new();
        let mut arg = |sql: &mut String, clause: &str, v: Box<dyn Param>| {
            args.push(v);
            sql.push_str(&clause.replace("$?", &format!("${}", args.len())));
        };
        if let Some(b) = &self.brand {
            arg(&mut sql, " AND brand = $?", Box::new(b.clone()));
        }
        if let Some(p) = self.platform {
            arg(&mut sql, " AND platform = $?", Box::new(p.as_str().to_string()));
        }
        // Written as the inbox indexes' WHERE, so that they serve a class
        // filter too (SQLite matches a partial index by its terms).
        match self.class {
            Some(c) if c.needs_answer() => arg(&mut sql, " AND class IN ('complaint', 'escalation') AND class = $?", Box::new(c.as_str().to_string())),
            Some(c) => arg(&mut sql, " AND class = $?", Box::new(c.as_str().to_string())),
            None => sql.push_str(" AND class IN ('complaint', 'escalation')"),
        }
        // History was never alerted: not the team's work. "All" shows it.
        if let Some(s) = self.status {
            arg(&mut sql, " AND status = $?", Box::new(s.as_str().to_string()));
            sql.push_str(" AND history = 0");
        }
        if let Some(q) = self.search.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let p = contains_pattern(q);
            arg(&mut sql, " AND (LOWER(text) LIKE $? ESCAPE '\\'", Box::new(p.clone()));
            arg(&mut sql, " OR LOWER(author) LIKE $? ESCAPE '\\')", Box::new(p));
        }
        if let Some(t) = self.created_from {
            arg(&mut sql, " AND created_at >= $?", Box::new(to_ms(t)));
        }
        if let Some(t) = self.created_before {
            arg(&mut sql, " AND created_at < $?", Box::new(to_ms(t)));
        }
        match &self.assigned {
            None => {}
            Some(None) => sql.push_str(" AND assigned_to IS NULL"),
            Some(Some(u)) => arg(&mut sql, " AND assigned_to = $?", Box::new(u.clone())),
        }
        (sql, args)
    }
}

impl Store {
    /// One page of the inbox: mentions passing `f`, the nearest (or most
    /// overdue) deadline first, those without one last; and how many pass
    /// in all. The order is `mentions_inbox`'s (false sorts before true on
    /// both backends), so a page is read from the index in order.
    pub fn inbox(&self, f: &InboxFilter) -> Result<(Vec<Mention>, u64)> {
        self.inbox_page(f).map(|(rows, total, _)| (rows, total))
    }

    /// [`Store::inbox`], and the highest id passing `f` (with the total, what
    /// tells an open page that its list changed).
    pub fn inbox_page(&self, f: &InboxFilter) -> Result<(Vec<Mention>, u64, Option<i64>)> {
        let (clause, args) = f.sql();
        let params: Vec<&dyn Param> = args.iter().map(|a| a.as_ref()).collect();
        let list = format!(
            "SELECT {MENTION_COLUMNS} FROM mentions{clause}
             ORDER BY deadline IS NULL, deadline, created_at, id LIMIT {} OFFSET {}",
            f.limit.max(1),
            f.offset
        );
        let count = format!("SELECT COUNT(*), MAX(id) FROM mentions{clause}");
        self.read(|c| {
            let rows = c.rows(&list, &params)?;
            let r = c.row(&count, &params)?.ok_or_else(|| super::StoreError::Type("COUNT(*) returned no row".into()))?;
            Ok((rows.iter().map(mention_from_row).collect::<Result<_>>()?, r.get(0)?, r.get(1)?))
        })
    }

    /// How many mentions pass `f`, and the highest id among them: what the
    /// open inbox polls to learn that its list changed.
    pub fn inbox_signature(&self, f: &InboxFilter) -> Result<(u64, Option<i64>)> {
        let (clause, args) = f.sql();
        let params: Vec<&dyn Param> = args.iter().map(|a| a.as_ref()).collect();
        let count = format!("SELECT COUNT(*), MAX(id) FROM mentions{clause}");
        self.read(|c| {
            let r = c.row(&count, &params)?.ok_or_else(|| super::StoreError::Type("COUNT(*) returned no row".into()))?;
            Ok((r.get(0)?, r.get(1)?))
        })
    }

    /// The author's other complaints and escalations about the same brand
    /// on the same platform, newest first (at most `limit`): repeat
    /// complainers stand out. Answered from the complaints index.
    pub fn author_complaints(&self, m: &Mention, limit: usize) -> Result<Vec<Mention>> {
        let sql = format!(
            "SELECT {MENTION_COLUMNS} FROM mentions WHERE brand = $1 AND platform = $2 AND author_id = $3
               AND class IN ('complaint', 'escalation') AND id != $4 ORDER BY created_at DESC LIMIT {limit}"
        );
        self.read(|c| c.rows(&sql, &[&m.brand, &m.platform.as_str(), &m.author_id, &m.id])?.iter().map(mention_from_row).collect())
    }

    /// Per brand, open complaints and escalations past their deadline at `now`.
    pub fn overdue_counts(&self, now: DateTime<Utc>) -> Result<Vec<(String, u64)>> {
        self.read(|c| {
            c.rows(
                "SELECT brand, COUNT(*) FROM mentions WHERE status = 'open' AND history = 0 AND deadline < $1
                   AND class IN ('complaint', 'escalation') GROUP BY brand ORDER BY brand",
                &[&to_ms(now)],
            )?
            .iter()
            .map(|r| Ok((r.get(0)?, r.get(1)?)))
            .collect()
        })
    }

    /// Assigns a mention to a user (None: to nobody). False when there is no
    /// such mention.
    pub fn assign(&self, id: i64, user: Option<&str>) -> Result<bool> {
        self.write(|c| Ok(c.exec("UPDATE mentions SET assigned_to = $2 WHERE id = $1", &[&id, &user])? > 0))
    }

    /// Adds a note to a mention. False when there is no such mention.
    pub fn add_note(&self, id: i64, by: &str, text: &str, now: DateTime<Utc>) -> Result<bool> {
        self.write(|c| {
            let n =
                c.exec("INSERT INTO notes (mention_id, by_user, at, text) SELECT id, $2, $3, $4 FROM mentions WHERE id = $1", &[&id, &by, &to_ms(now), &text])?;
            Ok(n > 0)
        })
    }

    /// A mention's notes, oldest first.
    pub fn notes(&self, id: i64) -> Result<Vec<Note>> {
        self.read(|c| {
            c.rows("SELECT by_user, at, text FROM notes WHERE mention_id = $1 ORDER BY at, id", &[&id])?
                .iter()
                .map(|r| Ok(Note { by: r.get(0)?, at: from_ms(r.get(1)?), text: r.get(2)? }))
                .collect()
        })
    }

    /// Every note, by mention id, oldest first (for `escucha mentions
    /// --json`: notes are few next to mentions).
    pub fn all_notes(&self) -> Result<std::collections::HashMap<i64, Vec<Note>>> {
        self.read(|c| {
            let mut out: std::collections::HashMap<i64, Vec<Note>> = Default::default();
            for r in c.rows("SELECT mention_id, by_user, at, text FROM notes ORDER BY at, id", &[])? {
                out.entry(r.get(0)?).or_default().push(Note { by: r.get(1)?, at: from_ms(r.get(2)?), text: r.get(3)? });
            }
            Ok(out)
        })
    }

    /// The outbox rows (alerts, resolutions) that carried a mention, oldest first.
    pub fn pages_of(&self, id: i64) -> Result<Vec<PageSent>> {
        self.read(|c| {
            c.rows(
                "SELECT o.recipient, o.kind, o.state, o.created_at, o.sent_at FROM outbox o
                 JOIN outbox_mentions om ON om.outbox_id = o.id WHERE om.mention_id = $1 ORDER BY o.created_at, o.id",
                &[&id],
            )?
            .iter()
            .map(|r| {
                Ok(PageSent {
                    recipient: r.get(0)?,
                    kind: r.get(1)?,
                    state: r.get(2)?,
                    created_at: from_ms(r.get(3)?),
                    sent_at: r.get::<Option<i64>>(4)?.map(from_ms),
                })
            })
            .collect()
        })
    }

    /// Stores a new session under `id` (the hash of its cookie token), and
    /// forgets expired ones.
    pub fn create_session(&self, id: &str, user: &str, csrf: &str, now: DateTime<Utc>, expires: DateTime<Utc>) -> Result<()> {
        self.write(|c| {
            c.exec("DELETE FROM sessions WHERE expires_at <= $1", &[&to_ms(now)])?;
            c.exec(
                "INSERT INTO sessions (id, user_name, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                &[&id, &user, &csrf, &to_ms(now), &to_ms(expires)],
            )?;
            Ok(())
        })
    }

    /// The session under `id`, made (with `csrf`, until `expires`) if there
    /// is none: for users a single-sign-on proxy names, so that every daemon
    /// on the database gives them the same CSRF token.
    pub fn session_or_create(&self, id: &str, user: &str, csrf: &str, now: DateTime<Utc>, expires: DateTime<Utc>) -> Result<Session> {
        if let Some(s) = self.session(id, now)? {
            return Ok(s);
        }
        self.write(|c| {
            c.exec("DELETE FROM sessions WHERE id = $1 AND expires_at <= $2", &[&id, &to_ms(now)])?;
            c.exec(
                "INSERT INTO sessions (id, user_name, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
                &[&id, &user, &csrf, &to_ms(now), &to_ms(expires)],
            )?;
            let r = c.row("SELECT user_name, csrf FROM sessions WHERE id = $1", &[&id])?;
            let r = r.ok_or_else(|| super::StoreError::Type("the session just stored is gone".into()))?;
            Ok(Session { user: r.get(0)?, csrf: r.get(1)? })
        })
    }

    /// The session stored under `id`, unless it has expired.
    pub fn session(&self, id: &str, now: DateTime<Utc>) -> Result<Option<Session>> {
        self.read(|c| {
            let row = c.row("SELECT user_name, csrf FROM sessions WHERE id = $1 AND expires_at > $2", &[&id, &to_ms(now)])?;
            row.map(|r| Ok(Session { user: r.get(0)?, csrf: r.get(1)? })).transpose()
        })
    }

    /// Stores an API token under `id` (the hash of the token) for `user`,
    /// valid until `expires` (None: until revoked).
    pub fn create_api_token(&self, id: &str, user: &str, now: DateTime<Utc>, expires: Option<DateTime<Utc>>) -> Result<()> {
        self.write(|c| {
            c.exec("INSERT INTO api_tokens (id, user_name, created_at, expires_at) VALUES ($1, $2, $3, $4)", &[&id, &user, &to_ms(now), &expires.map(to_ms)])?;
            Ok(())
        })
    }

    /// The API token stored under `id` (the hash of the token), whatever its state.
    pub fn api_token(&self, id: &str) -> Result<Option<ApiToken>> {
        self.read(|c| c.row(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1"), &[&id])?.map(|r| token_from_row(&r)).transpose())
    }

    /// Every API token, oldest first.
    pub fn api_tokens(&self) -> Result<Vec<ApiToken>> {
        self.read(|c| c.rows(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at, id"), &[])?.iter().map(token_from_row).collect())
    }

    /// Revokes the API token whose public id ([`ApiToken::public_id`]) is
    /// `public_id` (or starts with it: at least 8 characters, and only one
    /// token may match).
    pub fn revoke_api_token(&self, public_id: &str, now: DateTime<Utc>) -> Result<RevokeOutcome> {
        let prefix = public_id.trim().to_ascii_lowercase();
        if prefix.len() < 8 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(RevokeOutcome::NotFound);
        }
        self.write(|c| {
            let rows = c.rows(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id LIKE $1"), &[&format!("{prefix}%")])?;
            let tokens: Vec<ApiToken> = rows.iter().map(token_from_row).collect::<Result<_>>()?;
            match tokens.as_slice() {
                [] => Ok(RevokeOutcome::NotFound),
                [t] if t.revoked_at.is_some() => Ok(RevokeOutcome::AlreadyRevoked(t.clone())),
                [t] => {
                    c.exec("UPDATE api_tokens SET revoked_at = $2 WHERE id = $1", &[&t.id, &to_ms(now)])?;
                    Ok(RevokeOutcome::Revoked(ApiToken { revoked_at: Some(now), ..t.clone() }))
                }
                many => Ok(RevokeOutcome::Ambiguous(many.len())),
            }
        })
    }

    /// True when `key` (a login name or a client address) has had `max`
    /// wrong passwords since `window_start`. In the database, so that
    /// several daemons on one PostgreSQL count together.
    pub fn login_blocked(&self, key: &str, max: u32, window_start: DateTime<Utc>) -> Result<bool> {
        self.read(|c| {
            let n: Option<i64> = db::one(c, "SELECT MAX(failures) FROM login_failures WHERE key = $1 AND since > $2", &[&key, &to_ms(window_start)])?;
            Ok(n.unwrap_or(0) >= i64::from(max))
        })
    }

    /// Counts a wrong password for `key`: a new count when the last one
    /// began at or before `window_start`. Forgets counts whose window is over.
    pub fn login_failed(&self, key: &str, now: DateTime<Utc>, window_start: DateTime<Utc>) -> Result<()> {
        self.write(|c| {
            c.exec("DELETE FROM login_failures WHERE since <= $1", &[&to_ms(window_start)])?;
            c.exec(
                "INSERT INTO login_failures (key, failures, since) VALUES ($1, 1, $2)
                 ON CONFLICT (key) DO UPDATE SET failures = login_failures.failures + 1",
                &[&key, &to_ms(now)],
            )?;
            Ok(())
        })
    }

    /// Forgets `key`'s wrong passwords (a right one was given).
    pub fn login_succeeded(&self, key: &str) -> Result<()> {
        self.write(|c| {
            c.exec("DELETE FROM login_failures WHERE key = $1", &[&key])?;
            Ok(())
        })
    }

    /// Ends a session (logout). True when there was one.
    pub fn end_session(&self, id: &str) -> Result<bool> {
        self.write(|c| Ok(c.exec("DELETE FROM sessions WHERE id = $1", &[&id])? > 0))
    }
}

#[cfg(test)]
mod tests {
    use super::contains_pattern;

    #[test]
    fn search_words_match_literally() {
        assert_eq!(contains_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
        assert_eq!(contains_pattern("Maleta"), "%maleta%");
    }
}
