//! This daemon's share of the work when several daemons run one config on
//! one PostgreSQL database: a source is polled, and pages are planned and
//! sent, only while this daemon holds the matching lease (`source:<name>`,
//! `alerts`). A lease lasts `[daemon] lease` and is renewed at a third of
//! that; when a renewal fails (another daemon took it, or the database does
//! not answer) the work stops at once, well before the lease can pass to
//! another daemon, so two daemons never poll one source at the same time.
//!
//! On SQLite there is one daemon per file: every lease is held at once and
//! never touches the database.

use crate::clock::Clock;
use crate::store::{Backend, Store};
use crate::systemd::Heartbeat;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

pub struct Leases {
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
    /// Who this daemon is in the `leases` table: host, process, and a
    /// random part (two daemons on one host, a pid reused after a restart).
    pub holder: String,
    ttl: Duration,
    shared: bool,
    /// Leases held now, and until when, for `/metrics` and `/healthz`.
    held: Mutex<BTreeMap<String, DateTime<Utc>>>,
}

/// A lease this daemon holds. `token` is cancelled when the lease is lost
/// (or the daemon stops): work done under the lease selects on it.
pub struct Held {
    pub name: String,
    pub token: CancellationToken,
    leases: Arc<Leases>,
    renewal: Option<tokio::task::JoinHandle<()>>,
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown-host".into())
}

impl Leases {
    pub fn new(store: Arc<Store>, clock: Arc<dyn Clock>, ttl: Duration) -> Arc<Leases> {
        let holder = format!("{}:{}:{:04x}", hostname(), std::process::id(), fastrand::u16(..));
        let shared = store.backend() == Backend::Postgres;
        Arc::new(Leases { store, clock, holder, ttl: ttl.max(Duration::from_secs(3)), shared, held: Mutex::new(BTreeMap::new()) })
    }

    /// True when several daemons may share the database.
    pub fn shared(&self) -> bool {
        self.shared
    }

    fn renew_every(&self) -> Duration {
        self.ttl / 3
    }

    /// Takes or renews `name`, off the async workers (a database that does
    /// not answer must not hold them).
    async fn try_lease(&self, name: &str) -> Result<Option<DateTime<Utc>>, String> {
        let (store, name_owned, holder, now, ttl) = (self.store.clone(), name.to_string(), self.holder.clone(), self.clock.now(), self.ttl);
        match tokio::task::spawn_blocking(move || store.lease(&name_owned, &holder, now, ttl)).await {
            Ok(Ok(until)) => Ok(until),
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Waits until this daemon holds `name`; None when `cancel` fires first.
    /// `hb` is kept beating meanwhile: waiting for a lease is not hanging.
    pub async fn hold(self: &Arc<Self>, name: &str, cancel: &CancellationToken, hb: &Heartbeat) -> Option<Held> {
        let token = cancel.child_token();
        if !self.shared {
            return Some(Held { name: name.to_string(), token, leases: self.clone(), renewal: None });
        }
        let mut waited = false;
        loop {
            hb.beat(self.clock.now(), self.ttl * 3);
            match self.try_lease(name).await {
                Ok(Some(until)) => {
                    self.held.lock().unwrap_or_else(|e| e.into_inner()).insert(name.to_string(), until);
                    info!(lease = name, holder = %self.holder, until = %until.to_rfc3339(), "lease taken");
                    let renewal = tokio::spawn(self.clone().renew(name.to_string(), token.clone()));
                    return Some(Held { name: name.to_string(), token, leases: self.clone(), renewal: Some(renewal) });
                }
                Ok(None) => {
                    if !waited {
                        info!(lease = name, "another daemon holds this lease; standing by");
                        waited = true;
                    }
                }
                Err(e) => warn!(lease = name, error = %e, "cannot take the lease; retrying"),
            }
            tokio::select! {
                _ = cancel.cancelled() => return None,
                _ = tokio::time::sleep(self.renew_every()) => {}
            }
        }
    }

    async fn renew(self: Arc<Self>, name: String, token: CancellationToken) {
        loop {
            tokio::select! {
                _ = token.cancelled() => return,
                _ = tokio::time::sleep(self.renew_every()) => {}
            }
            match self.try_lease(&name).await {
                Ok(Some(until)) => {
                    self.held.lock().unwrap_or_else(|e| e.into_inner()).insert(name.clone(), until);
                }
                Ok(None) => {
                    warn!(lease = %name, "lease lost to another daemon; stopping this work");
                    break;
                }
                Err(e) => {
                    warn!(lease = %name, error = %e, "cannot renew the lease; stopping this work until the database answers");
                    break;
                }
            }
        }
        self.held.lock().unwrap_or_else(|e| e.into_inner()).remove(&name);
        token.cancel();
    }

    /// Leases held now, and until when.
    pub fn held(&self) -> Vec<(String, DateTime<Utc>)> {
        self.held.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|(k, v)| (k.clone(), *v)).collect()
    }
}

impl Held {
    /// Gives the lease up (a clean stop: another daemon takes it over at
    /// once instead of waiting for it to expire).
    pub async fn release(mut self) {
        self.token.cancel();
        if let Some(r) = self.renewal.take() {
            r.abort();
        }
        let leases = self.leases.clone();
        if !leases.shared {
            return;
        }
        leases.held.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.name);
        let (store, name, holder) = (leases.store.clone(), self.name.clone(), leases.holder.clone());
        if let Ok(Err(e)) = tokio::task::spawn_blocking(move || store.release(&name, &holder)).await {
            warn!(lease = %self.name, error = %e, "could not release the lease; it expires on its own");
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(r) = self.renewal.take() {
            r.abort();
        }
        self.leases.held.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.name);
        self.token.cancel();
    }
}
