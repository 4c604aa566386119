//! The daemon's side of push streams (Mastodon streaming, Bluesky
//! Jetstream): for each stream a source plans, connect, poll the covered
//! queries the connection cannot replay, then commit every page the stream
//! brings through the same path as a poll (`daemon::store_page`), so a post
//! is stored, classified and paged once whichever path brought it. Runs
//! under the source's lease; reconnects with backoff; while a stream is
//! refused, or down for longer than [`GRACE`], the poll loop polls what it
//! covers ([`Coverage`]).

use crate::daemon::{poll_query, store_page, Shared};
use crate::ingest::{Matchers, PollState};
use crate::sources::stream::{backoff, CatchUp, Plan, StreamError, Timeouts, HEALTHY_CONNECTION};
use crate::sources::{Source, SourceError};
use crate::systemd::Heartbeat;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

/// How long the poll loop leaves a covered query alone while its stream
/// (re)connects: a reconnect replays or polls the gap itself.
pub const GRACE: Duration = Duration::from_secs(60);
/// How long a refused stream waits before asking the server again
/// (meanwhile its queries are polled).
pub const REFUSED_RETRY: Duration = Duration::from_secs(15 * 60);
/// How long one connection may go without beating the heartbeat: a
/// catch-up poll and the idle limit (a few missed keepalives).
const STREAM_PROMISE: Duration = Duration::from_secs(20 * 60);
/// How often a stream waiting for its next page tells the watchdog it is alive.
const KEEPALIVE_BEAT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy)]
enum State {
    Live,
    Down { since: Instant },
    Refused,
}

/// Which queries a stream serves now, for the poll loop.
#[derive(Default)]
pub struct Coverage {
    states: Mutex<HashMap<String, State>>,
}

impl Coverage {
    /// True when the poll loop should leave `key` to its stream.
    pub fn skip(&self, key: &str) -> bool {
        match self.states.lock().unwrap_or_else(|e| e.into_inner()).get(key) {
            Some(State::Live) => true,
            Some(State::Down { since }) => since.elapsed() < GRACE,
            Some(State::Refused) | None => false,
        }
    }

    fn set(&self, plan: &Plan, state: State) {
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        for q in &plan.covers {
            let next = match (states.get(&q.key), state) {
                // A stream that keeps failing stays down since its first failure.
                (Some(State::Down { since }), State::Down { .. }) => State::Down { since: *since },
                _ => state,
            };
            states.insert(q.key.clone(), next);
        }
    }
}

/// Runs every stream of `source` until `cancel` fires (the daemon stops or
/// the lease is lost).
pub async fn run_all(source: &Source, plans: &[Plan], hbs: &[Arc<Heartbeat>], coverage: &Coverage, shared: &Arc<Shared>, cancel: &CancellationToken) {
    if plans.is_empty() {
        return;
    }
    let matchers = Arc::new(Matchers::new(&shared.cfg, source.platform()));
    let runs = plans.iter().zip(hbs).map(|(plan, hb)| run(source, plan, hb, coverage, &matchers, shared, cancel, Timeouts::default()));
    futures_util::future::join_all(runs).await;
}

/// One stream, reconnecting until `cancel` fires.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    source: &Source,
    plan: &Plan,
    hb: &Heartbeat,
    coverage: &Coverage,
    matchers: &Arc<Matchers>,
    shared: &Shared,
    cancel: &CancellationToken,
    timeouts: Timeouts,
) {
    let name = source.name();
    let m = crate::metrics::global();
    // Until the first connection, the stream's own catch-up reads the gap.
    coverage.set(plan, State::Down { since: Instant::now() });
    let mut failures: u32 = 0;
    while !cancel.is_cancelled() {
        hb.beat(shared.clock.now(), STREAM_PROMISE);
        let row = shared.store.cursor(&plan.query.key).ok().flatten();
        let opened = tokio::select! {
            _ = cancel.cancelled() => return,
            o = source.open_stream(plan, row.as_ref().map(|r| r.cursor.as_str()), timeouts) => o,
        };
        let wait = match opened {
            Err(StreamError::Refused(why)) => {
                warn!(source = name, stream = %plan.name, error = %why, "streaming refused; polling instead, asking again in {} min", REFUSED_RETRY.as_secs() / 60);
                m.inc("escucha_stream_refusals_total", name);
                coverage.set(plan, State::Refused);
                REFUSED_RETRY
            }
            Err(StreamError::Down(why)) => {
                warn!(source = name, stream = %plan.name, error = %why, "stream connection failed; reconnecting");
                m.inc("escucha_stream_reconnects_total", name);
                coverage.set(plan, State::Down { since: Instant::now() });
                failures = failures.saturating_add(1);
                backoff(failures - 1, 0.8 + fastrand::f64() * 0.4)
            }
            Ok((mut conn, catch_up)) => {
                let connected = Instant::now();
                coverage.set(plan, State::Live);
                info!(source = name, stream = %plan.name, "stream open");
                let outcome = read(source, plan, &mut conn, catch_up, hb, matchers, shared, cancel).await;
                if cancel.is_cancelled() {
                    return;
                }
                if connected.elapsed() >= HEALTHY_CONNECTION {
                    failures = 0;
                }
                m.inc("escucha_stream_reconnects_total", name);
                match outcome {
                    Ended::Closed => {
                        info!(source = name, stream = %plan.name, "the server closed the stream; reconnecting");
                        coverage.set(plan, State::Down { since: Instant::now() });
                    }
                    Ended::Broken(why) => {
                        warn!(source = name, stream = %plan.name, error = %why, "stream broken; reconnecting");
                        coverage.set(plan, State::Down { since: Instant::now() });
                    }
                    Ended::RateLimited(until) => {
                        coverage.set(plan, State::Down { since: Instant::now() });
                        let wait = (until - shared.clock.now()).to_std().unwrap_or(Duration::ZERO);
                        warn!(source = name, stream = %plan.name, wait_secs = wait.as_secs(), "rate limited while catching up; reconnecting after the window");
                        failures = failures.saturating_add(1);
                        hb.beat(shared.clock.now(), wait + STREAM_PROMISE);
                        tokio::select! {
                            _ = cancel.cancelled() => return,
                            _ = tokio::time::sleep(wait) => {}
                        }
                        continue;
                    }
                    Ended::Unauthorized(why) => {
                        // The poll loop meets the same refusal and disables the
                        // source with a message naming the setting.
                        warn!(source = name, stream = %plan.name, error = %why, "credentials refused; leaving this to the poll loop");
                        coverage.set(plan, State::Refused);
                        tokio::select! {
                            _ = cancel.cancelled() => return,
                            _ = tokio::time::sleep(REFUSED_RETRY) => {}
                        }
                        continue;
                    }
                }
                failures = failures.saturating_add(1);
                backoff(failures - 1, 0.8 + fastrand::f64() * 0.4)
            }
        };
        debug!(source = name, stream = %plan.name, wait_ms = wait.as_millis() as u64, "stream waits before connecting again");
        hb.beat(shared.clock.now(), wait + STREAM_PROMISE);
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// How a connection ended.
enum Ended {
    Closed,
    Broken(String),
    RateLimited(chrono::DateTime<chrono::Utc>),
    Unauthorized(String),
}

/// Catches up, then commits what the open stream brings until it ends.
#[allow(clippy::too_many_arguments)]
async fn read(
    source: &Source,
    plan: &Plan,
    conn: &mut crate::sources::Opened,
    catch_up: CatchUp,
    hb: &Heartbeat,
    matchers: &Arc<Matchers>,
    shared: &Shared,
    cancel: &CancellationToken,
) -> Ended {
    // The connection is open (the server buffers for us): poll what it
    // cannot replay, so nothing said while we were away is missed.
    for q in &plan.covers {
        let never_polled = matches!(shared.store.cursor(&q.key), Ok(None));
        if catch_up == CatchUp::All || never_polled {
            match poll_query(source, q, matchers, shared, hb, cancel).await {
                Ok(()) => debug!(source = source.name(), query = %q.key, "caught up before streaming"),
                Err(SourceError::RateLimited { until }) => {
                    return Ended::RateLimited(until.unwrap_or_else(|| shared.clock.now() + chrono::Duration::seconds(60)))
                }
                Err(SourceError::Unauthorized(why)) => return Ended::Unauthorized(why),
                // Without the catch-up the stream would leave a gap.
                Err(e) => return Ended::Broken(format!("catching up {} failed: {e}", q.key)),
            }
        }
        if cancel.is_cancelled() {
            return Ended::Closed;
        }
    }
    let row = shared.store.cursor(&plan.query.key).ok().flatten();
    let state = PollState { first_poll: false, first_polled_at: row.as_ref().map_or_else(|| shared.clock.now(), |r| r.first_polled_at) };
    let mut cursor = row.map(|r| r.cursor);
    loop {
        hb.beat(shared.clock.now(), STREAM_PROMISE);
        // A quiet stream (keepalives only) can go hours without a page: the
        // loop is alive as long as the connection is, which the idle limit
        // checks; keep telling the watchdog so.
        let next = {
            let next = source.next_page(conn, cursor.as_deref());
            tokio::pin!(next);
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return Ended::Closed,
                    n = &mut next => break n,
                    _ = tokio::time::sleep(KEEPALIVE_BEAT) => hb.beat(shared.clock.now(), STREAM_PROMISE),
                }
            }
        };
        let page = match next {
            Ok(Some(page)) => page,
            Ok(None) => return Ended::Closed,
            Err(e) => return Ended::Broken(e.to_string()),
        };
        if !page.posts.is_empty() {
            crate::metrics::global().inc("escucha_stream_pages_total", source.name());
        }
        match store_page(source, &plan.query, page, matchers, state, shared, hb, cancel).await {
            Ok(Some(page)) => cursor = Some(page.cursor),
            Ok(None) => return Ended::Closed,
            Err(e) => return Ended::Broken(e.to_string()),
        }
    }
}
