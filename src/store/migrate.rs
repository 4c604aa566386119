//! `escucha migrate --to postgres://...`: a SQLite deployment copied into an
//! empty PostgreSQL database, table by table in one transaction, verified
//! by counting.

use super::db::{self, Backend, Conn, Param};
use super::{Result, Store, StoreError};

/// Every table, parents before children; leases are not copied (they
/// belong to running daemons).
const TABLES: &[&str] =
    &["mentions", "cursors", "replies", "outbox", "outbox_mentions", "source_health", "notices", "silences", "digest_state", "labels", "poll_state"];

/// Tables whose `id` PostgreSQL numbers: their sequence continues after the
/// copied ids.
const IDENTITY: &[&str] = &["mentions", "outbox", "notices", "silences", "labels"];

/// Rows copied, per table.
pub type Copied = Vec<(&'static str, u64)>;

fn count(c: &mut dyn Conn, table: &str) -> Result<u64> {
    db::one(c, &format!("SELECT COUNT(*) FROM {table}"), &[])
}

impl Store {
    /// Copies everything in this (SQLite) store into `to`, a PostgreSQL
    /// store with no rows yet. All or nothing.
    pub fn copy_to(&self, to: &Store) -> Result<Copied> {
        if self.backend() != Backend::Sqlite || to.backend() != Backend::Postgres {
            return Err(StoreError::Unsupported("migrate copies a SQLite database into a PostgreSQL one".into()));
        }
        to.write(|dst| {
            for t in TABLES {
                let n = count(dst, t)?;
                if n > 0 {
                    return Err(StoreError::Unsupported(format!(
                        "{} is not empty ({t} has {n} rows); migrate only copies into an empty database",
                        to.describe()
                    )));
                }
            }
            let mut copied = Vec::new();
            for t in TABLES {
                let columns: Vec<String> = self.read(|src| {
                    Ok(src.rows(&format!("SELECT name FROM pragma_table_info('{t}') ORDER BY cid"), &[])?.iter().map(|r| r.str(0).to_string()).collect())
                })?;
                let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
                let insert = format!("INSERT INTO {t} ({}) VALUES ({})", columns.join(", "), placeholders.join(", "));
                let mut n = 0u64;
                self.read(|src| {
                    src.each(&format!("SELECT {} FROM {t}", columns.join(", ")), &[], &mut |row| {
                        let params: Vec<&dyn Param> = row.0.iter().map(|v| v as &dyn Param).collect();
                        dst.exec(&insert, &params)?;
                        n += 1;
                        Ok(())
                    })
                })?;
                let there = count(dst, t)?;
                let here = self.read(|src| count(src, t))?;
                if there != here || n != here {
                    return Err(StoreError::Unsupported(format!("copying {t}: {here} rows in SQLite but {there} in PostgreSQL; nothing was copied")));
                }
                copied.push((*t, n));
            }
            for t in IDENTITY {
                dst.exec(&format!("SELECT setval(pg_get_serial_sequence('{t}', 'id'), COALESCE((SELECT MAX(id) FROM {t}), 0) + 1, false)"), &[])?;
            }
            Ok(copied)
        })
    }
}
