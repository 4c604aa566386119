//! Leases: several daemons on one database share the work by holding named
//! leases with an expiry. A daemon polls a source only while it holds the
//! source's lease, and plans and sends pages only while it holds `alerts`;
//! one killed or cut off from the database loses its leases when they
//! expire, and another daemon takes them over. Times are the daemons'
//! clocks: hosts must keep them in step (NTP), as with any lease.

use super::db;
use super::{from_ms, to_ms, Result, Store};
use chrono::{DateTime, Utc};

/// A lease as the database holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub name: String,
    pub holder: String,
    pub until: DateTime<Utc>,
    pub acquired_at: DateTime<Utc>,
}

impl Store {
    /// Takes lease `name` for `holder` until `now + ttl` when it is free or
    /// has expired, or renews it when `holder` has it. Returns when it now
    /// ends, or None when another holder has it.
    pub fn lease(&self, name: &str, holder: &str, now: DateTime<Utc>, ttl: std::time::Duration) -> Result<Option<DateTime<Utc>>> {
        let until = now + chrono::Duration::from_std(ttl).unwrap_or_else(|_| chrono::Duration::seconds(30));
        let got: Option<db::Row> = self.write(|c| {
            c.row(
                "INSERT INTO leases (name, holder, until, acquired_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until,
                    acquired_at = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at ELSE excluded.acquired_at END
                 WHERE leases.holder = excluded.holder OR leases.until <= $4
                 RETURNING until",
                &[&name, &holder, &to_ms(until), &to_ms(now)],
            )
        })?;
        got.map(|r| r.get(0).map(from_ms)).transpose()
    }

    /// Gives lease `name` up if `holder` has it (a clean stop: another
    /// daemon need not wait for it to expire).
    pub fn release(&self, name: &str, holder: &str) -> Result<bool> {
        Ok(self.write(|c| c.exec("DELETE FROM leases WHERE name = $1 AND holder = $2", &[&name, &holder]))? == 1)
    }

    /// Every lease in force at `now`.
    pub fn leases(&self, now: DateTime<Utc>) -> Result<Vec<Lease>> {
        self.read(|c| {
            c.rows("SELECT name, holder, until, acquired_at FROM leases WHERE until > $1 ORDER BY name", &[&to_ms(now)])?
                .iter()
                .map(|r| Ok(Lease { name: r.get(0)?, holder: r.get(1)?, until: from_ms(r.get(2)?), acquired_at: from_ms(r.get(3)?) }))
                .collect()
        })
    }
}
