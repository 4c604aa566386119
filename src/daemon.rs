//! The daemon wires the flow together: one task per source (poll each query,
//! commit each page with its cursor, back off on errors), and the alert loop.
//! It stops when `cancel` fires: a page in flight is either committed whole
//! or not at all (its transaction never started).

use crate::alert::dispatch::Alerter;
use crate::clock::Clock;
use crate::config::Config;
use crate::ingest::{self, Matchers, PollState};
use crate::leases::Leases;
use crate::sources::{self, Query, Source, SourceError};
use crate::store::{PollState as PollStateRow, Store};
use crate::systemd::{self, Heartbeat};
use chrono::Utc;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

/// How long a loop may take for one query before the watchdog calls it stuck
/// (requests time out after 30 s; a query reads a few pages, and may wait
/// for a rate-limit window).
const POLL_PROMISE: Duration = Duration::from_secs(20 * 60);

/// How long the daemon's writes wait for another process's lock.
const STORE_BUSY_TIMEOUT: Duration = Duration::from_secs(1);

/// How often a fetched page that the database could not take (locked, disk
/// full) is offered again.
const STORE_RETRY: Duration = Duration::from_secs(1);

/// Backoff after failed polls never exceeds this (or `every`, if longer).
const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);

/// The least pause between two rounds of a source, even when a round took
/// longer than `every`.
const MIN_ROUND_GAP: Duration = Duration::from_millis(100);

/// Shared by the daemon's tasks.
pub struct Shared {
    pub cfg: Arc<Config>,
    pub store: Arc<Store>,
    pub clock: Arc<dyn Clock>,
    /// Pinged when a page brought new mentions: a deadline may now be nearer.
    pub wake: Arc<Notify>,
    /// Every loop's liveness promise, read by the watchdog.
    pub heartbeats: std::sync::Mutex<Vec<Arc<Heartbeat>>>,
    /// Sources disabled until restart (name → why), for `/healthz`.
    pub disabled: std::sync::Mutex<std::collections::BTreeMap<String, String>>,
    /// The classifier, refit when the team's labels change.
    pub classifier: Arc<crate::learning::Live>,
    /// This daemon's leases on a database shared with other daemons.
    pub leases: Arc<Leases>,
    /// The web inbox's in-memory state (wrong-password counts).
    pub web: crate::web::WebState,
    /// When this config began running. A query polled for the first time
    /// takes what was posted before this as history, not what was posted
    /// since: its first poll may come a while later (sources pace their
    /// queries), and a complaint made meanwhile must still be paged.
    pub started: chrono::DateTime<Utc>,
}

impl Shared {
    pub fn heartbeat(&self, name: &str) -> Arc<Heartbeat> {
        let hb = Heartbeat::new(name, self.clock.now());
        self.heartbeats.lock().unwrap().push(hb.clone());
        hb
    }
    /// True when the database answers and every loop kept its promise.
    pub fn healthy(&self) -> Result<(), String> {
        if !self.store.ping() {
            return Err("the database does not answer".into());
        }
        let now = self.clock.now();
        for hb in self.heartbeats.lock().unwrap().iter() {
            if !hb.alive(now) {
                return Err(format!("loop {} is stuck", hb.name));
            }
        }
        Ok(())
    }
    /// Sources disabled until restart, with why. Not part of `healthy()`:
    /// a restart by the watchdog would not fix refused credentials.
    pub fn disabled_sources(&self) -> Vec<(String, String)> {
        self.disabled.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

/// Builds the configured sources.
pub fn sources(cfg: &Config) -> Vec<Source> {
    let mut out = Vec::new();
    let s = &cfg.sources;
    if let Some(x) = &s.x {
        out.push(Source::X(sources::x::XSource::new(x, &cfg.brands)));
    }
    if let Some(m) = &s.mastodon {
        out.push(Source::Mastodon(sources::mastodon::MastodonSource::new(m, &cfg.brands)));
    }
    if let Some(b) = &s.bluesky {
        out.push(Source::Bluesky(sources::bluesky::BlueskySource::new(b, &cfg.brands)));
    }
    if let Some(r) = &s.reddit {
        out.push(Source::Reddit(sources::reddit::RedditSource::new(r, &cfg.brands)));
    }
    if let Some(h) = &s.hackernews {
        out.push(Source::HackerNews(sources::hackernews::HackerNewsSource::new(h, &cfg.brands)));
    }
    if !s.feeds.is_empty() {
        out.push(Source::Feed(sources::feed::FeedSource::new(&s.feeds, &cfg.brands)));
    }
    if let Some(f) = &s.facebook {
        out.push(Source::Facebook(sources::facebook::FacebookSource::new(f, &cfg.brands)));
    }
    if let Some(i) = &s.instagram {
        out.push(Source::Instagram(sources::instagram::InstagramSource::new(i, &cfg.brands)));
    }
    if let Some(y) = &s.youtube {
        out.push(Source::YouTube(sources::youtube::YouTubeSource::new(y, &cfg.brands)));
    }
    out.extend(sources::reviews::sources(cfg).into_iter().map(Source::Reviews));
    out
}

/// Runs until `cancel` fires, without reload (tests, embedding).
pub async fn run(cfg: Config, clock: Arc<dyn Clock>, cancel: CancellationToken) -> anyhow::Result<()> {
    serve(cfg, None, clock, cancel).await
}

/// Where a reload reads the config from, and the channel that asks for one
/// (SIGHUP).
pub struct Reload {
    pub path: PathBuf,
    pub requests: mpsc::Receiver<()>,
}

/// Runs until `cancel` fires. Opening the database is the only fatal step;
/// after that, failures are logged and retried. A reload request re-reads the
/// config: if it is valid, the running tasks stop (a page in flight is rolled
/// back) and new ones start from the cursors and outbox in the database; if
/// not, the old config keeps running and every problem is logged.
pub async fn serve(mut cfg: Config, mut reload: Option<Reload>, clock: Arc<dyn Clock>, cancel: CancellationToken) -> anyhow::Result<()> {
    let location = cfg.daemon.location();
    let store = loop {
        let at = location.clone();
        // Off the async workers: a PostgreSQL that does not answer makes
        // the driver wait for its connect timeout.
        match tokio::task::spawn_blocking(move || Store::open_at(&at)).await? {
            Ok(store) => break store,
            // A shared server that is down or restarting comes back: wait
            // for it (the other daemons carry on meanwhile). A SQLite file
            // that cannot be opened, or a refused password, is fatal.
            Err(e) if e.is_unavailable() && matches!(location, crate::store::Location::Postgres(_)) => {
                warn!(error = %e, "the database is not available yet; retrying in 2 s");
                tokio::select! {
                    _ = cancel.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                }
            }
            Err(e) => return Err(anyhow::Error::from(e).context(format!("opening {location}"))),
        }
    };
    let store = Arc::new(store);
    let leases = Leases::new(store.clone(), clock.clone(), cfg.daemon.lease);
    // A write blocked by another process's lock holds a runtime thread while
    // it waits: fail fast and retry instead (pages are kept and retried,
    // see `poll_query`), so that `/healthz` and the other loops keep going.
    store.set_busy_timeout(STORE_BUSY_TIMEOUT)?;
    ignore_file_size_signal();
    // The config that ran before a reload: if the new one cannot start (its
    // HTTP address is taken, say), the old one runs again rather than the
    // daemon exiting.
    let mut previous: Option<Config> = None;
    loop {
        let generation = cancel.child_token();
        // The classifier for this config (the rules alone, or the model
        // refit with the team's labels): fitted before READY, off the
        // async workers.
        let live = {
            let (c, st) = (cfg.clone(), store.clone());
            let loaded = tokio::task::spawn_blocking(move || crate::learning::Live::load(&c, &st)).await.map_err(anyhow::Error::from).and_then(|r| r);
            match loaded {
                Ok(live) => live,
                // Labels that cannot be read now are read at the next
                // check (version (0, 0) differs from any stored labels);
                // meanwhile the shipped fit classifies.
                Err(e) => {
                    error!("reading the team's labels failed ({e:#}); classifying with the shipped model until they can be read");
                    crate::learning::Live::fallback(&cfg)
                }
            }
        };
        let mut tasks = match start(cfg.clone(), store.clone(), leases.clone(), Arc::new(live), clock.clone(), generation.clone()) {
            Ok(tasks) => tasks,
            Err(e) => match previous.take() {
                Some(old) => {
                    error!("the reloaded config could not start ({e:#}); running the previous config again");
                    cfg = old;
                    continue;
                }
                None => return Err(e),
            },
        };
        // Config, database and migrations are OK: only now are we ready.
        sd_notify(&format!("READY=1\nSTATUS=watching {} brand(s)", cfg.brands.len()));
        loop {
            let requested = async {
                match reload.as_mut() {
                    Some(r) => r.requests.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = cancel.cancelled() => {
                    sd_notify("STOPPING=1");
                    info!("shutting down");
                    stop(&mut tasks).await;
                    info!("stopped");
                    return Ok(());
                }
                Some(()) = requested => {
                    // MONOTONIC_USEC: when the reload began, as systemd
                    // documents for RELOADING=1 (it orders the messages).
                    sd_notify(&format!("RELOADING=1\nMONOTONIC_USEC={}", monotonic_usec()));
                    let path = reload.as_ref().map(|r| r.path.clone()).unwrap_or_default();
                    match crate::config::load(&path) {
                        Ok(mut new) => {
                            if new.daemon.location() != cfg.daemon.location() {
                                warn!(old = %cfg.daemon.location(), new = %new.daemon.location(),
                                    "a new database takes effect only after a restart; keeping the old one");
                                new.daemon.database = cfg.daemon.database.clone();
                                new.daemon.database_url = cfg.daemon.database_url.clone();
                            }
                            generation.cancel();
                            stop(&mut tasks).await;
                            previous = Some(std::mem::replace(&mut cfg, new));
                            info!(config = %path.display(), brands = cfg.brands.len(), "config reloaded");
                            break;
                        }
                        Err(e) => {
                            error!("reload refused; the running config stays in effect:\n{e}");
                            sd_notify("READY=1\nSTATUS=reload refused: the config has errors (see the log); running the previous config");
                        }
                    }
                }
            }
        }
    }
}

/// Starts one generation of tasks: a task per source, the alert loop and
/// the watchdog.
fn start(
    cfg: Config,
    store: Arc<Store>,
    leases: Arc<Leases>,
    classifier: Arc<crate::learning::Live>,
    clock: Arc<dyn Clock>,
    cancel: CancellationToken,
) -> anyhow::Result<JoinSet<()>> {
    let cfg = Arc::new(cfg);
    let shared = Arc::new(Shared {
        cfg: cfg.clone(),
        store: store.clone(),
        clock: clock.clone(),
        wake: Arc::new(Notify::new()),
        heartbeats: Default::default(),
        disabled: Default::default(),
        classifier: classifier.clone(),
        leases: leases.clone(),
        web: Default::default(),
        started: clock.now(),
    });
    let alerter = Alerter::new(store.clone(), cfg.clone(), clock.clone())?;
    let listener = cfg.daemon.http.as_deref().map(crate::http::bind).transpose()?;
    let mut tasks = JoinSet::new();
    if let Some(listener) = listener {
        let shared = shared.clone();
        let cancel = cancel.clone();
        tasks.spawn(async move { crate::http::serve(listener, shared, cancel).await });
    }
    let sources = sources(&cfg);
    // Every configured source and channel shows in /metrics at 0 before
    // its first event (`rate()` and alerts on absent series misbehave).
    let m = crate::metrics::global();
    for s in &sources {
        for family in ["escucha_polls_total", "escucha_poll_errors_total", "escucha_rate_limit_waits_total"] {
            m.touch(family, &[s.name()]);
        }
        m.touch_histogram("escucha_poll_duration_seconds", s.name());
    }
    for c in crate::alert::dispatch::channels(&cfg) {
        for family in ["escucha_alerts_sent_total", "escucha_alerts_failed_total", "escucha_alerts_dead_lettered_total"] {
            m.touch(family, &[&c]);
        }
        m.touch_histogram("escucha_delivery_duration_seconds", &c);
    }
    info!(
        database = %cfg.daemon.location(),
        holder = %leases.holder,
        brands = cfg.brands.len(),
        sources = %sources.iter().map(|s| s.name()).collect::<Vec<_>>().join(","),
        "escucha started"
    );
    // Daemons sharing a database split the sources between them (see `leases`).
    leases.set_sources(sources.iter().filter(|s| !s.queries().is_empty()).count());
    tasks.spawn(leases.clone().membership(cancel.clone()));
    for source in sources {
        let shared = shared.clone();
        let cancel = cancel.clone();
        tasks.spawn(async move { run_source(source, shared, cancel).await });
    }
    {
        let wake = shared.wake.clone();
        let cancel = cancel.clone();
        let hb = shared.heartbeat("alerts");
        let leases = leases.clone();
        tasks.spawn(async move {
            // Pages are planned and sent by one daemon at a time.
            loop {
                let Some(held) = leases.hold("alerts", &cancel, &hb).await else { return };
                alerter.run(wake.clone(), hb.clone(), held.token.clone()).await;
                if cancel.is_cancelled() {
                    held.release().await;
                    return;
                }
                warn!("this daemon no longer holds the alerts lease; another daemon pages now");
            }
        });
    }
    {
        let (cfg, store, cancel) = (cfg.clone(), store.clone(), cancel.clone());
        tasks.spawn(async move { crate::learning::run(classifier, cfg, store, cancel).await });
    }
    if let Some(retention) = cfg.daemon.retention {
        let (store, clock, cancel) = (store.clone(), clock.clone(), cancel.clone());
        tasks.spawn(async move { crate::housekeeping::run(store, clock, retention, cancel).await });
    }
    if let Some(after) = test_hang_after() {
        let hb = shared.heartbeat("test-hang");
        let clock = clock.clone();
        let cancel = cancel.clone();
        tasks.spawn(async move { hang_after(after, hb, clock, cancel).await });
    }
    if let Some(interval) = systemd::watchdog_interval() {
        let shared = shared.clone();
        let cancel = cancel.clone();
        tasks.spawn(async move { watchdog(shared, interval, cancel).await });
    }
    Ok(tasks)
}

/// Tasks stop at their next await; give them a moment, then drop them.
async fn stop(tasks: &mut JoinSet<()>) {
    let _ = tokio::time::timeout(Duration::from_secs(5), async { while tasks.join_next().await.is_some() {} }).await;
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
}

/// A write past a file size limit (`ulimit -f`, systemd's `LimitFSIZE=`)
/// raises SIGXFSZ, which kills the process by default: a crash loop with no
/// word of why. Handled (and so ignored), the write fails with EFBIG instead
/// and the store says "disk I/O error ... file size limit" and retries.
fn ignore_file_size_signal() {
    // SIGXFSZ is 25 on Linux except MIPS and SPARC.
    #[cfg(all(target_os = "linux", not(any(target_arch = "mips", target_arch = "mips64", target_arch = "sparc", target_arch = "sparc64"))))]
    if let Err(e) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::from_raw(25)) {
        warn!(error = %e, "cannot handle SIGXFSZ; a file size limit would kill escucha");
    }
}

/// CLOCK_MONOTONIC in microseconds, the clock systemd's MONOTONIC_USEC
/// is read on.
fn monotonic_usec() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime only writes the timespec it is given.
    if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) } != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1_000
}

fn sd_notify(state: &str) {
    if let Err(e) = systemd::notify(state) {
        warn!(error = %e, state, "could not notify systemd");
    }
}

/// Test hook: `ESCUCHA_TEST_HANG_AFTER=<seconds>` adds a loop that keeps a
/// one-second promise and then hangs, so tests can prove that a hung loop
/// stops the watchdog pings and gets the process restarted (real loops
/// promise minutes, too long for a test). Unset in production.
fn test_hang_after() -> Option<Duration> {
    let secs: f64 = std::env::var("ESCUCHA_TEST_HANG_AFTER").ok()?.trim().parse().ok()?;
    warn!(after_secs = secs, "ESCUCHA_TEST_HANG_AFTER is set: a test loop will hang on purpose");
    Some(Duration::from_secs_f64(secs.max(0.0)))
}

async fn hang_after(after: Duration, hb: Arc<Heartbeat>, clock: Arc<dyn Clock>, cancel: CancellationToken) {
    let until = tokio::time::Instant::now() + after;
    while tokio::time::Instant::now() < until {
        hb.beat(clock.now(), Duration::from_secs(1));
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
    warn!("test loop hanging now (ESCUCHA_TEST_HANG_AFTER)");
    cancel.cancelled().await;
}

/// Pings systemd's watchdog at half its interval, but only while the
/// database answers and every loop is alive: a stuck loop gets the process
/// restarted.
async fn watchdog(shared: Arc<Shared>, interval: Duration, cancel: CancellationToken) {
    let period = interval / 2;
    loop {
        match shared.healthy() {
            Ok(()) => sd_notify("WATCHDOG=1"),
            Err(why) => error!("not pinging the systemd watchdog: {why}"),
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(period) => {}
        }
    }
}

/// Polls every query of one source, forever. A failing query does not stop
/// the others; a source whose credentials are refused is disabled.
pub async fn run_source(source: Source, shared: Arc<Shared>, cancel: CancellationToken) {
    let name = source.name();
    if source.queries().is_empty() {
        warn!(source = name, "no brand gives this source anything to read (no terms or accounts); it stays idle");
        return;
    }
    let hb = shared.heartbeat(&format!("source {name}"));
    // Every request waits for its turn under the platform's limits, on the
    // daemon's clock: proactive pacing, so that our schedule never earns a
    // 429 (see `sources::http::Bucket::earliest`).
    source.pace_with(shared.clock.clone());
    let lease = format!("source:{name}");
    // Streams run beside the poll loop, under the same lease; the queries a
    // live stream stands in for are left out of the poll rounds.
    let plans = source.stream_plans();
    let coverage = crate::streams::Coverage::default();
    let stream_hbs: Vec<Arc<Heartbeat>> = plans.iter().map(|p| shared.heartbeat(&format!("stream {}", p.name))).collect();
    loop {
        let Some(held) = shared.leases.hold(&lease, &cancel, &hb).await else { return };
        let streams = crate::streams::run_all(&source, &plans, &stream_hbs, &coverage, &shared, &held.token);
        tokio::join!(poll_source(&source, &shared, &hb, &held.token, &coverage), streams);
        if cancel.is_cancelled() {
            held.release().await;
            return;
        }
        // Why (lost, unrenewable, or handed to balance the daemons) was logged with the lease.
        info!(source = name, "polling stopped with the source's lease; waiting to hold it again");
    }
}

/// What one round of a source's queries came to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Round {
    /// Every query answered; the round took this long.
    Clean { took: Duration },
    /// At least one query failed (network, 5xx, unreadable answer).
    Failed,
    /// The platform asked us to wait until then.
    RateLimited { until: chrono::DateTime<Utc> },
}

/// When a source polls next after `round`, and its consecutive failures
/// then. `every` is the floor between the starts of two rounds; a round
/// that took longer (it waited for the platform's budget) is followed at
/// once, but never in a tight loop. Failures back off from `every`,
/// doubling, capped, scaled by `jitter` (0.8 to 1.2 in the daemon). A
/// rate-limited round neither counts as a failure nor clears one.
pub fn next_poll_at(now: chrono::DateTime<Utc>, round: Round, failures: u32, every: Duration, jitter: f64) -> (chrono::DateTime<Utc>, u32) {
    let after = |d: Duration| now + chrono::Duration::from_std(d).unwrap_or_else(|_| chrono::Duration::days(1));
    match round {
        Round::Clean { took } => (after(every.saturating_sub(took).max(MIN_ROUND_GAP)), 0),
        Round::Failed => {
            let failures = failures.saturating_add(1);
            (after(backoff_with(every, failures, jitter)), failures)
        }
        Round::RateLimited { until } => (until.max(now) + chrono::Duration::milliseconds(100), failures),
    }
}

/// When a source whose queries' last rounds left `states` may poll again:
/// the end of a rate limit, or the next poll after a clean round. A query
/// never polled, or one whose last round failed, is polled at once (the
/// operator may just have fixed what failed); the failure count carries on.
fn resume_at(states: &[PollStateRow], now: chrono::DateTime<Utc>) -> Option<chrono::DateTime<Utc>> {
    states
        .iter()
        .map(|s| {
            let clean = if s.last_error.is_none() { s.next_poll_at } else { None };
            clean.max(s.rate_limited_until).filter(|t| *t > now)
        })
        .collect::<Option<Vec<_>>>()?
        .into_iter()
        .min()
}

/// Polls `source` round after round until `cancel` fires (the daemon stops,
/// or its lease on the source is lost). The schedule (next poll, failures,
/// rate limit) is kept in the database, so a restart, or another daemon
/// taking the source over, resumes it.
async fn poll_source(source: &Source, shared: &Arc<Shared>, hb: &Heartbeat, cancel: &CancellationToken, coverage: &crate::streams::Coverage) {
    let name = source.name();
    let queries = source.queries();
    let matchers = Arc::new(Matchers::new(&shared.cfg, source.platform()));
    let mut brands: Vec<String> = queries.iter().flat_map(|q| q.brands.iter().cloned()).collect();
    brands.sort();
    brands.dedup();
    let schedule = shared.cfg.source_schedule(name);
    let unhealthy_after = schedule.map_or(Duration::from_secs(1800), |s| s.unhealthy_after);
    let expect_within = schedule.and_then(|s| s.expect_within);
    let started = shared.clock.now();
    let mut disabled: Option<String> = None;
    // Where the last round left the schedule (this daemon before a restart,
    // or another one): wait for it rather than poll at once.
    let states: Vec<PollStateRow> = queries.iter().map(|q| shared.store.poll_state(&q.key).unwrap_or_default()).collect();
    let mut failures: u32 = states.iter().map(|s| s.failures).max().unwrap_or(0);
    let mut last_success = states.iter().filter_map(|s| s.last_success).max();
    if let Some(at) = resume_at(&states, shared.clock.now()) {
        let wait = (at - shared.clock.now()).to_std().unwrap_or(Duration::ZERO).min(MAX_BACKOFF);
        if !wait.is_zero() {
            info!(source = name, wait_secs = wait.as_secs(), "resuming the source's schedule from the database");
            hb.beat(shared.clock.now(), wait + POLL_PROMISE);
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
    // A round cut short by the rate limit resumes at the query it stopped
    // at, so the queries at the end of the list are not starved.
    let mut first = 0usize;
    loop {
        // A round of requests: each bounded by the HTTP timeouts.
        let round_started = shared.clock.now();
        hb.beat(round_started, POLL_PROMISE.saturating_mul(queries.len() as u32 + 1));
        let mut failed: Option<String> = disabled.clone();
        let mut rate_limited_until = None;
        let order = (0..queries.len()).map(|i| (first + i) % queries.len());
        for (i, q) in order.map(|i| (i, &queries[i])).filter(|_| disabled.is_none()).filter(|(_, q)| !coverage.skip(&q.key)) {
            match poll_query(source, q, &matchers, shared, hb, cancel).await {
                Ok(()) => {}
                Err(SourceError::Unauthorized(msg)) => {
                    crate::metrics::global().inc("escucha_poll_errors_total", name);
                    shared.disabled.lock().unwrap_or_else(|e| e.into_inner()).insert(name.to_string(), msg.clone());
                    error!(source = name, query = %q.key, "{msg}; source disabled until escucha is reloaded or restarted");
                    disabled = Some(msg.clone());
                    failed = Some(msg);
                    break;
                }
                Err(SourceError::RateLimited { until }) => {
                    crate::metrics::global().inc("escucha_rate_limit_waits_total", name);
                    let until = until.unwrap_or_else(|| shared.clock.now() + chrono::Duration::seconds(60));
                    warn!(source = name, query = %q.key, until = %until.to_rfc3339(), "rate limited; waiting for the window to reset");
                    rate_limited_until = Some(until);
                    first = i;
                    break;
                }
                Err(e) => {
                    crate::metrics::global().inc("escucha_poll_errors_total", name);
                    warn!(source = name, query = %q.key, error = %e, "poll failed; backing off");
                    failed = Some(e.to_string());
                }
            }
            if cancel.is_cancelled() {
                return;
            }
        }
        let now = shared.clock.now();
        let round_took = (now - round_started).to_std().unwrap_or(Duration::ZERO);
        let every = source.every();
        let round = match (rate_limited_until, &failed) {
            (Some(until), _) => Round::RateLimited { until },
            (None, Some(_)) => Round::Failed,
            (None, None) => Round::Clean { took: round_took },
        };
        let (next_at, after) = next_poll_at(now, round, failures, every, 0.8 + fastrand::f64() * 0.4);
        failures = after;
        if failed.is_none() && rate_limited_until.is_none() {
            last_success = Some(now);
        }
        let state = PollStateRow { next_poll_at: Some(next_at), failures, rate_limited_until, last_success, last_error: failed.clone() };
        let keys: Vec<(&str, &PollStateRow)> = queries.iter().map(|q| (q.key.as_str(), &state)).collect();
        if let Err(e) = shared.store.set_poll_states(&keys, now) {
            debug!(source = name, error = %e, "could not record the poll schedule");
        }
        let mut delay = (next_at - now).to_std().unwrap_or(Duration::ZERO);
        // A source that answers but has found nothing for longer than
        // `expect_within` is as suspicious as one that fails.
        // The silence already lasted `expect_within`: announce it at once.
        let mut unhealthy_after = unhealthy_after;
        if let (None, Some(expect)) = (&failed, expect_within) {
            failed = silent_too_long(shared, source.platform(), started, expect, now);
            if failed.is_some() {
                unhealthy_after = Duration::ZERO;
            }
        }
        // A rate-limited round neither proves nor disproves health.
        if rate_limited_until.is_none() {
            if let Some(wake_at) = track_health(shared, name, &brands, failed.as_deref(), unhealthy_after, now) {
                // Do not sleep past the moment the failure must be announced.
                delay = delay.min((wake_at - now).to_std().unwrap_or(Duration::ZERO) + Duration::from_millis(50));
            }
        }
        if disabled.is_some() && shared.store.source_health(name).map(|h| h.alerted_at.is_some()).unwrap_or(false) {
            // Announced; nothing left to do until a reload brings new credentials.
            hb.beat(now, Duration::from_secs(365 * 86_400));
            cancel.cancelled().await;
            return;
        }
        // `next_in` counts from the round's start when it went cleanly (so
        // it reads `every` unless the round took longer), from now otherwise.
        let clean = failed.is_none() && rate_limited_until.is_none();
        let next_in = if clean { round_took + delay } else { delay };
        debug!(source = name, next_in = ?next_in, sleep = ?delay, "poll round done");
        hb.beat(shared.clock.now(), delay + POLL_PROMISE);
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

/// The "error" to report when nothing was stored from `platform` for longer
/// than `expect` (counted from the daemon's start at the earliest).
fn silent_too_long(
    shared: &Shared,
    platform: crate::model::Platform,
    started: chrono::DateTime<Utc>,
    expect: Duration,
    now: chrono::DateTime<Utc>,
) -> Option<String> {
    let last = shared.store.newest_seen(platform).ok().flatten().map_or(started, |t| t.max(started));
    let expect_c = chrono::Duration::from_std(expect).unwrap_or_default();
    (now - last > expect_c).then(|| {
        format!(
            "no new mention from {platform} since {} although expect_within = {}: the source answers but finds nothing (check the brand's terms and accounts, and whether the platform still returns results)",
            last.to_rfc3339(),
            humantime::format_duration(expect)
        )
    })
}

/// Records the round's outcome and enqueues a "not working" or "recovered"
/// notice when one is due. Returns when the failure will need announcing,
/// if it has not been yet.
fn track_health(
    shared: &Shared,
    name: &str,
    brands: &[String],
    failed: Option<&str>,
    unhealthy_after: Duration,
    now: chrono::DateTime<Utc>,
) -> Option<chrono::DateTime<Utc>> {
    let store = &shared.store;
    let result = match failed {
        None => store.source_succeeded(name, now).and_then(|before| {
            if before.alerted_at.is_some() {
                info!(source = name, "source recovered");
                let notices = crate::health::recovered(&shared.cfg, name, brands, before.failing_since, now);
                store.enqueue_health_notices(name, None, &notices, now)?;
                shared.wake.notify_one();
            }
            Ok(None)
        }),
        Some(err) => store.source_failed(name, err, now).and_then(|h| {
            let since = h.failing_since.unwrap_or(now);
            let due = since + chrono::Duration::from_std(unhealthy_after).unwrap_or_default();
            if h.alerted_at.is_some() {
                Ok(None)
            } else if now >= due {
                error!(source = name, since = %since.to_rfc3339(), error = err, "source is not working; notifying the on-call people");
                let notices = crate::health::not_working(&shared.cfg, name, brands, since, err, now);
                store.enqueue_health_notices(name, Some(now), &notices, now)?;
                shared.wake.notify_one();
                Ok(None)
            } else {
                Ok(Some(due))
            }
        }),
    };
    result.unwrap_or_else(|e| {
        error!(source = name, error = %e, "could not record the source's health");
        None
    })
}

/// `every` doubled per consecutive failed round, capped, with jitter.
pub fn backoff(every: Duration, failures: u32) -> Duration {
    backoff_with(every, failures, 0.8 + fastrand::f64() * 0.4)
}

fn backoff_with(every: Duration, failures: u32, jitter: f64) -> Duration {
    let cap = MAX_BACKOFF.max(every);
    let d = every.saturating_mul(1u32 << failures.min(16)).min(cap);
    d.mul_f64(jitter)
}

/// Reads one query until its source says there is nothing more, committing
/// every page with its cursor.
pub(crate) async fn poll_query(
    source: &Source,
    q: &Query,
    matchers: &Arc<Matchers>,
    shared: &Shared,
    hb: &Heartbeat,
    cancel: &CancellationToken,
) -> Result<(), SourceError> {
    let store = &shared.store;
    let row = store.cursor(&q.key).map_err(|e| SourceError::Transient(format!("reading cursor: {e}")))?;
    let (mut cursor, mut state) = match row {
        Some(r) => (Some(r.cursor), PollState { first_poll: false, first_polled_at: r.first_polled_at }),
        None => (None, PollState { first_poll: true, first_polled_at: shared.started.min(shared.clock.now()) }),
    };
    if let (sources::QueryKind::Threads, Some(within)) = (&q.kind, source.follows()) {
        // The threads to read: what this platform's stored mentions began.
        let since = shared.clock.now() - chrono::Duration::from_std(within).unwrap_or(chrono::Duration::days(36_500));
        let roots = store.conversation_roots(source.platform(), since).map_err(|e| SourceError::Transient(format!("reading the threads to follow: {e}")))?;
        source.follow(roots);
    }
    loop {
        // No wait here: the source's paced client holds every request until
        // the platform's published limit allows it, and answers
        // `RateLimited` without sending when the window is spent.
        let asked = std::time::Instant::now();
        let page = tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            page = source.fetch(q, cursor.as_deref()) => page,
        };
        crate::metrics::global().observe("escucha_poll_duration_seconds", source.name(), asked.elapsed().as_secs_f64());
        let page = page?;
        crate::metrics::global().inc("escucha_polls_total", source.name());
        let Some(page) = store_page(source, q, page, matchers, state, shared, hb, cancel).await? else { return Ok(()) };
        state.first_poll = false;
        if !page.more {
            return Ok(());
        }
        cursor = Some(page.cursor);
    }
}

/// Commits one page (polled or streamed) with its cursor and says what it
/// brought. A database that cannot take writes (locked by another process,
/// disk full) keeps the page here, and its cursor with it, until it can:
/// refetching would cost the platform's rate limit, and moving on would
/// lose the page. The store logs the outage's start and end. Returns the
/// page, or None when `cancel` fired first (nothing committed).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn store_page(
    source: &Source,
    q: &Query,
    page: sources::Page,
    matchers: &Arc<Matchers>,
    state: PollState,
    shared: &Shared,
    hb: &Heartbeat,
    cancel: &CancellationToken,
) -> Result<Option<sources::Page>, SourceError> {
    let store = &shared.store;
    {
        let mut warned: Option<std::time::Instant> = None;
        let mut page = page;
        let out = loop {
            // Off the async workers: a slow database must not hold the
            // threads that serve /healthz and the other sources.
            let (store, matchers, classifier, query, now) = (store.clone(), matchers.clone(), shared.classifier.current(), q.clone(), shared.clock.now());
            let (result, back) = match tokio::task::spawn_blocking(move || {
                let r = ingest::ingest(&store, &matchers, &classifier, &query, &page, state, now);
                (r, page)
            })
            .await
            {
                Ok(done) => done,
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            };
            page = back;
            match result {
                Ok(out) => break out,
                Err(e) if e.is_unavailable() => {
                    if warned.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
                        warn!(source = source.name(), query = %q.key, error = %e, "cannot store the page; keeping it and retrying");
                        warned = Some(std::time::Instant::now());
                    }
                    // Waiting for the database is not hanging: a watchdog
                    // restart would not free another process's lock or disk.
                    // The same promise as a round's start: later queries may still wait.
                    hb.beat(shared.clock.now(), POLL_PROMISE.saturating_mul(source.queries().len() as u32 + 1));
                    tokio::select! {
                        _ = cancel.cancelled() => return Ok(None),
                        _ = tokio::time::sleep(STORE_RETRY) => {}
                    }
                }
                Err(e) => return Err(SourceError::Transient(format!("storing page: {e}"))),
            }
        };
        for (brand, platform, class) in &out.stored {
            crate::metrics::global().inc_by("escucha_mentions_ingested_total", &[brand, platform.as_str(), class.as_str()]);
        }
        if !out.inserted.is_empty() || !out.answered.is_empty() || !out.reopened.is_empty() {
            info!(source = source.name(), query = %q.key, new = out.inserted.len(), answered = out.answered.len(), reopened = out.reopened.len(), "page stored");
            shared.wake.notify_one();
        }
        Ok(Some(page))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> chrono::DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
    }

    #[test]
    fn the_next_poll_follows_the_round() {
        let every = Duration::from_secs(60);
        let secs = Duration::from_secs;
        // (round, failures before, jitter) -> (seconds after now, failures after)
        let table: &[(Round, u32, f64, f64, u32)] = &[
            // A clean round: `every` from the round's start.
            (Round::Clean { took: secs(5) }, 0, 1.0, 55.0, 0),
            // A clean round clears earlier failures.
            (Round::Clean { took: secs(0) }, 4, 1.0, 60.0, 0),
            // A round longer than `every` is followed at once, not in a loop.
            (Round::Clean { took: secs(90) }, 0, 1.0, 0.1, 0),
            // Failures back off from `every`, doubling...
            (Round::Failed, 0, 1.0, 120.0, 1),
            (Round::Failed, 1, 1.0, 240.0, 2),
            // ...capped at 15 minutes, jittered.
            (Round::Failed, 9, 1.0, 900.0, 10),
            (Round::Failed, 9, 0.8, 720.0, 10),
            // A rate limit waits for its end (and a little), counts nothing.
            (Round::RateLimited { until: t(300) }, 2, 1.0, 300.1, 2),
            // A limit already over: at once.
            (Round::RateLimited { until: t(-5) }, 0, 1.0, 0.1, 0),
        ];
        for (round, before, jitter, after_secs, failures) in table {
            let (at, f) = next_poll_at(t(0), *round, *before, every, *jitter);
            let got = (at - t(0)).num_milliseconds() as f64 / 1000.0;
            assert!(
                (got - after_secs).abs() < 0.001 && f == *failures,
                "{round:?} after {before} failure(s): got {got} s and {f}, want {after_secs} s and {failures}"
            );
        }
    }

    #[test]
    fn a_restart_waits_out_a_rate_limit_or_the_next_clean_poll_but_retries_a_failure_at_once() {
        let state = |next: Option<i64>, limited: Option<i64>, error: Option<&str>| PollStateRow {
            next_poll_at: next.map(t),
            failures: 0,
            rate_limited_until: limited.map(t),
            last_success: None,
            last_error: error.map(str::to_string),
        };
        let now = t(0);
        assert_eq!(resume_at(&[state(Some(30), None, None), state(Some(20), None, None)], now), Some(t(20)));
        assert_eq!(resume_at(&[state(Some(30), Some(600), None)], now), Some(t(600)));
        assert_eq!(resume_at(&[state(Some(300), None, Some("timeout"))], now), None, "a failed round is retried at once");
        assert_eq!(resume_at(&[state(Some(300), Some(400), Some("429"))], now), Some(t(400)), "but never inside a rate limit");
        assert_eq!(resume_at(&[state(Some(30), None, None), PollStateRow::default()], now), None, "a query never polled is polled at once");
        assert_eq!(resume_at(&[state(Some(-30), None, None)], now), None, "a time already past");
    }
}
