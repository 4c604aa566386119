//! This daemon's share of the work when several daemons run one config on
//! one PostgreSQL database: a source is polled, and pages are planned and
//! sent, only while this daemon holds the matching lease (`source:<name>`,
//! `alerts`). A lease lasts `[daemon] lease` and is renewed at a third of
//! that; when a renewal fails (another daemon took it, or the database does
//! not answer) the work stops at once, well before the lease can pass to
//! another daemon, so two daemons never poll one source at the same time.
//!
//! Sources are spread over the daemons: each daemon also holds a membership
//! lease (`daemon:<holder>`), so every daemon knows how many are alive, and
//! takes no more than its fair share of the source leases (the sources over
//! the live daemons, rounded up). A daemon over its share (one joined)
//! stops the source whose name sorts last and lets its lease expire, and a
//! daemon under its share takes it. A source nobody takes for a whole lease
//! (daemons whose configs differ) is taken over the share: balance is a
//! preference, polling every source is not.
//!
//! On SQLite there is one daemon per file: every lease is held at once and
//! never touches the database.

use crate::clock::Clock;
use crate::store::{Backend, Store};
use crate::systemd::Heartbeat;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
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
    /// How many sources this config has: the work shared out.
    sources: AtomicUsize,
}

const SOURCE: &str = "source:";
const MEMBER: &str = "daemon:";

/// How many of `sources` one of `daemons` live daemons should hold.
pub fn fair_share(sources: usize, daemons: usize) -> usize {
    sources.div_ceil(daemons.max(1)).max(1)
}

/// Whether the lease `name`, just renewed, should be handed over: this
/// daemon holds more sources (`held`) than its share and `name` is the one
/// that sorts last, so that one lease at a time goes.
pub fn hand_over(name: &str, held: &[String], share: usize) -> bool {
    name.starts_with(SOURCE) && held.len() > share && held.iter().max().is_some_and(|last| last == name)
}

/// Whether this daemon, holding `held` sources, should try for a free
/// source lease: under its share, or when nobody has taken it for a whole
/// lease (`free_for`).
pub fn may_take(held: usize, share: usize, free_for: Option<Duration>, ttl: Duration) -> bool {
    held < share || free_for.is_some_and(|f| f >= ttl)
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
        Arc::new(Leases { store, clock, holder, ttl: ttl.max(Duration::from_secs(3)), shared, held: Mutex::new(BTreeMap::new()), sources: AtomicUsize::new(1) })
    }

    /// The number of sources the running config polls.
    pub fn set_sources(&self, n: usize) {
        self.sources.store(n, Ordering::Relaxed);
    }

    /// Keeps this daemon's membership lease until `cancel`, then gives it
    /// up. Its term is two thirds of a lease, renewed every third: a dead
    /// daemon stops counting before its source leases expire, so the
    /// others' shares have grown by the time they can take them.
    pub async fn membership(self: Arc<Self>, cancel: CancellationToken) {
        if !self.shared {
            return;
        }
        let name = format!("{MEMBER}{}", self.holder);
        loop {
            let (store, n, holder, now, ttl) = (self.store.clone(), name.clone(), self.holder.clone(), self.clock.now(), self.ttl * 2 / 3);
            match tokio::task::spawn_blocking(move || store.lease(&n, &holder, now, ttl)).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => warn!(error = %e, "cannot renew this daemon's membership; the others may take more sources meanwhile"),
                Err(e) => warn!(error = %e, "membership renewal failed"),
            }
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(self.renew_every()) => {}
            }
        }
        let (store, holder) = (self.store.clone(), self.holder.clone());
        let _ = tokio::task::spawn_blocking(move || store.release(&name, &holder)).await;
    }

    /// Live daemons (at least this one) and whether lease `name` is free,
    /// off the async workers.
    async fn census(&self, name: &str) -> Result<(usize, bool), String> {
        let (store, now) = (self.store.clone(), self.clock.now());
        let leases = tokio::task::spawn_blocking(move || store.leases(now)).await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?;
        let members = leases.iter().filter(|l| l.name.starts_with(MEMBER) && l.holder != self.holder).count() + 1;
        Ok((members, !leases.iter().any(|l| l.name == name)))
    }

    fn held_sources(&self) -> Vec<String> {
        self.held.lock().unwrap_or_else(|e| e.into_inner()).keys().filter(|k| k.starts_with(SOURCE)).cloned().collect()
    }

    fn share(&self, members: usize) -> usize {
        fair_share(self.sources.load(Ordering::Relaxed), members)
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
        let mut free_since: Option<std::time::Instant> = None;
        let mut at_share_said = false;
        loop {
            hb.beat(self.clock.now(), self.ttl * 3);
            if name.starts_with(SOURCE) {
                match self.census(name).await {
                    Ok((members, free)) => {
                        free_since = if free { free_since.or(Some(std::time::Instant::now())) } else { None };
                        let (held, share) = (self.held_sources().len(), self.share(members));
                        if !may_take(held, share, free_since.map(|t| t.elapsed()), self.ttl) {
                            if !at_share_said {
                                info!(lease = name, held, share, daemons = members, "this daemon polls its share of the sources; standing by for this one");
                                at_share_said = true;
                            }
                            tokio::select! {
                                _ = cancel.cancelled() => return None,
                                _ = tokio::time::sleep(self.renew_every()) => {}
                            }
                            continue;
                        }
                    }
                    Err(e) => warn!(lease = name, error = %e, "cannot count the daemons; trying for the lease anyway"),
                }
            }
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
                    if name.starts_with(SOURCE) {
                        if let Ok((members, _)) = self.census(&name).await {
                            let (held, share) = (self.held_sources(), self.share(members));
                            if hand_over(&name, &held, share) {
                                // Not released: it expires after this daemon's
                                // work under it has surely stopped.
                                info!(lease = %name, held = held.len(), share, daemons = members, "handing this source to a daemon with less to do");
                                break;
                            }
                        }
                    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_is_the_sources_over_the_daemons_rounded_up() {
        for (sources, daemons, share) in [(2, 3, 1), (4, 2, 2), (5, 2, 3), (1, 1, 1), (7, 1, 7), (0, 2, 1), (3, 0, 3)] {
            assert_eq!(fair_share(sources, daemons), share, "{sources} sources, {daemons} daemons");
        }
    }

    #[test]
    fn only_the_last_source_over_the_share_is_handed_over() {
        let held = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let three = held(&["source:feed", "source:hackernews", "source:x"]);
        assert!(hand_over("source:x", &three, 2), "the one that sorts last goes");
        assert!(!hand_over("source:feed", &three, 2) && !hand_over("source:hackernews", &three, 2), "one at a time");
        assert!(!hand_over("source:x", &three, 3), "at the share: nothing goes");
        assert!(!hand_over("alerts", &held(&["alerts"]), 0), "alerts is not a source");
    }

    #[test]
    fn a_daemon_takes_a_source_under_its_share_or_when_nobody_has_for_a_lease() {
        let ttl = Duration::from_secs(30);
        assert!(may_take(0, 1, None, ttl));
        assert!(may_take(1, 2, Some(Duration::ZERO), ttl));
        assert!(!may_take(1, 1, None, ttl), "at its share");
        assert!(!may_take(1, 1, Some(Duration::from_secs(29)), ttl), "free for less than a lease: a daemon under its share should take it");
        assert!(may_take(3, 1, Some(ttl), ttl), "free for a whole lease: somebody must poll it");
    }
}
