//! A simulated day: the real daemon (`escucha::daemon::run`, every task it
//! starts) polls against the fake platform servers, which enforce each
//! platform's documented rate limit on the daemon's virtual clock and answer
//! 429 when it is exceeded. Twenty brands share each platform's budget and
//! every source is configured to poll every 5 s, far more than the budgets
//! allow, so only the daemon's own pacing keeps it under the limits. Each
//! test asserts: no 429 at all, the budget used (or, where the budget is
//! larger than the config asks, the interval kept exactly), and one request
//! per query per poll.
//!
//! `ESCUCHA_SIM_HOURS=24` runs the whole day (BENCHMARKS.md); by default each
//! test covers two or more of its platform's windows (30 to 120 virtual
//! minutes), since a request costs about 2 ms of CPU in the debug build and a
//! whole day is some 340,000 requests.
//!
//! How time is simulated: each test runs on a current-thread tokio runtime
//! with paused time (`start_paused`). Tokio advances its clock to the next
//! timer whenever every task is idle, so the daemon's sleeps, reqwest's
//! timeouts and the fakes' windows all run on one virtual clock
//! ([`TokioClock`]: a fixed start plus tokio's elapsed time), which both the
//! daemon and the fakes read. The fakes run in the same runtime over real
//! loopback TCP: a request written to a loopback socket is readable at once,
//! so the runtime never looks idle while a request is in flight, and a
//! timeout could only fire if a request really hung (none did: every poll
//! is accounted for).
//!
//! The limits enforced, with their sources (REFERENCE.md):
//! - X recent search: 450 requests per 15-minute window per app (1.6).
//! - Mastodon: 300 requests per 5 minutes per token, and requests that page
//!   (`min_id`, ...) 300 per 15 minutes (2.8, `rack_attack.rb`).
//! - Bluesky PDS: 3000 requests per 5 minutes per IP (3.6).
//! - Reddit: 100 queries per minute per OAuth client averaged over 10
//!   minutes, i.e. 1000 per 600 s window (4.5).
//! - Hacker News (Algolia): 1000 requests per hour per IP, no headers (5.5).
//! - Feeds: nothing published; conditional GETs at `every`.
// The fake X and the fake Reddit each include the TCP front (relay.rs).
#![allow(clippy::duplicate_mod)]

#[path = "support/fake_bluesky.rs"]
mod fake_bluesky;
#[path = "support/fake_feed.rs"]
mod fake_feed;
#[path = "support/fake_hackernews.rs"]
mod fake_hackernews;
#[path = "support/fake_mastodon.rs"]
mod fake_mastodon;
#[path = "support/fake_reddit.rs"]
mod fake_reddit;
#[path = "support/fake_x.rs"]
mod fake_x;
#[path = "support/world.rs"]
mod world;

use chrono::Utc;
use escucha::clock::{Clock, TokioClock};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use world::ConfigToml;

const BRANDS: usize = 20;

/// Virtual minutes a test runs: `ESCUCHA_SIM_HOURS` hours (24 for the whole
/// simulated day of BENCHMARKS.md), else `default` minutes, which cover at
/// least two of the platform's windows. The defaults keep the binary near
/// 10,000 requests: a request through the debug build's HTTP client, axum
/// and SQLite costs about 2 ms of CPU, and a day at the documented limits is
/// 24,000 (Hacker News) to 86,400 (Mastodon) requests per platform.
fn minutes(default: u64) -> u64 {
    std::env::var("ESCUCHA_SIM_HOURS").ok().and_then(|v| v.trim().parse::<u64>().ok()).map_or(default, |h| h * 60)
}

/// The clock the daemon and the fakes share, as each wants it.
fn clocks() -> (Arc<dyn Clock>, fake_x::VirtualNow) {
    let clock = TokioClock::new(Utc::now());
    (Arc::new(clock), Arc::new(move || clock.now()))
}

/// `brands` brands, each with one search term, and the sources `sources`
/// adds.
fn config(dir: &Path, brands: usize, sources: impl FnOnce(ConfigToml) -> ConfigToml) -> escucha::config::Config {
    let mut toml =
        ConfigToml::new().daemon(&dir.join("escucha.db").display().to_string()).set("daemon", "timezone", "UTC").smtp(9).oncall(&["guardia@example.com"]);
    for i in 0..brands {
        toml = toml.brand(&format!("brand{i}"), &format!("Brand{i}"), &format!("brandterm{i}"), "1h", "1h");
    }
    let path = sources(toml).write(dir);
    escucha::config::load(&path).unwrap_or_else(|e| panic!("config: {e}"))
}

/// A scratch directory in memory when there is one: the daemon commits a
/// cursor per poll, and a day is tens of thousands of polls.
fn scratch() -> tempfile::TempDir {
    tempfile::tempdir_in("/dev/shm").or_else(|_| tempfile::tempdir()).unwrap()
}

/// Runs the daemon for `minutes` of virtual time; returns the wall time it
/// took.
async fn run_a_day(cfg: escucha::config::Config, clock: Arc<dyn Clock>, minutes: u64) -> Duration {
    let wall = std::time::Instant::now();
    let cancel = CancellationToken::new();
    let daemon = tokio::spawn(escucha::daemon::run(cfg, clock, cancel.clone()));
    if std::env::var("SIM_DEBUG").is_ok() {
        let _ = tracing_subscriber::fmt().with_env_filter("escucha=debug").try_init();
        for i in 0..20 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            eprintln!("virtual {i}s, wall {:?}", wall.elapsed());
        }
    }
    tokio::time::sleep(Duration::from_secs(minutes * 60)).await;
    cancel.cancel();
    daemon.await.unwrap().unwrap();
    wall.elapsed()
}

fn polls(source: &str) -> u64 {
    escucha::metrics::global().get("escucha_polls_total", source)
}

/// `got` is within `[low, high]` of `budget` (fractions).
fn assert_uses_budget(platform: &str, got: usize, budget: f64, low: f64, high: f64) {
    let share = got as f64 / budget;
    assert!(
        (low..=high).contains(&share),
        "{platform}: {got} requests is {:.1}% of the budget of {budget}; expected {:.0}%..{:.0}%",
        share * 100.0,
        low * 100.0,
        high * 100.0
    );
}

fn report(platform: &str, minutes: u64, requests: usize, refused: u64, wall: Duration) {
    println!("{platform}: {requests} requests in {minutes} simulated minutes, {refused} refused with 429, {:.1} s wall", wall.as_secs_f64());
}

#[tokio::test(start_paused = true)]
async fn x_twenty_brands_every_5s_get_no_429_and_use_the_search_budget() {
    let mins = minutes(60);
    let (clock, now) = clocks();
    let x = fake_x::FakeX::start().await;
    x.enforce_limits_on(now);
    let dir = scratch();
    let cfg = config(dir.path(), BRANDS, |c| c.x(&x.base_url_direct(), fake_x::DEFAULT_TOKEN).set("source.x", "every", "5s"));
    let wall = run_a_day(cfg, clock, mins).await;
    let requests = x.requests().len();
    report("x", mins, requests, x.refused(), wall);
    assert_eq!(x.refused(), 0, "no request may be refused");
    // 450 per 15 minutes; the config asks for 20 queries every 5 s, 32x more.
    assert_uses_budget("x", requests, 450.0 / 15.0 * mins as f64, 0.95, 1.0);
    assert_eq!(polls("x") as usize, requests, "with nothing new, each poll of a query is one request");
}

#[tokio::test(start_paused = true)]
async fn mastodon_twenty_brands_every_5s_get_no_429_and_use_the_paging_budget() {
    let mins = minutes(30);
    let (clock, now) = clocks();
    let m = fake_mastodon::FakeMastodon::start().await;
    m.enforce_limits_on(now);
    let account = m.add_account("escucha", 10);
    let token = m.issue_token(&account);
    let dir = scratch();
    let cfg = config(dir.path(), BRANDS, |c| c.mastodon(&m.base_url(), &token).set("source.mastodon", "every", "5s"));
    let queries = escucha::daemon::sources(&cfg)[0].queries().len();
    let wall = run_a_day(cfg, clock, mins).await;
    let requests = m.requests().len();
    report("mastodon", mins, requests, m.refused(), wall);
    assert_eq!(m.refused(), 0, "no request may be refused");
    // With nothing ever found there is no id to page from, so 300 per 5
    // minutes binds (the paging throttle, enforced too, never applies).
    let _ = queries;
    let budget = fake_mastodon::RATE_LIMIT as f64 / 5.0 * mins as f64;
    assert_uses_budget("mastodon", requests, budget, 0.95, 1.0);
    assert_eq!(polls("mastodon") as usize, requests, "with nothing new, each poll of a query is one request");
}

#[tokio::test(start_paused = true)]
async fn reddit_twenty_brands_every_5s_get_no_429_and_keep_to_the_planned_rate() {
    let mins = minutes(40);
    let (clock, now) = clocks();
    let r = fake_reddit::FakeReddit::start().await;
    r.enforce_limits_on(now);
    let dir = scratch();
    let cfg = config(dir.path(), BRANDS, |c| {
        // No post is ever matched here, so there is no thread to follow:
        // the threads query would count polls that send no request.
        c.reddit(&r.api_base_direct(), &r.token_url(), (fake_reddit::CLIENT_ID, fake_reddit::CLIENT_SECRET, fake_reddit::USER_AGENT))
            .set("source.reddit", "every", "5s")
            .set("source.reddit", "follow_threads", "0s")
    });
    let wall = run_a_day(cfg, clock, mins).await;
    let requests = r.requests().iter().filter(|q| q.method == "GET").count();
    report("reddit", mins, requests, r.refused(), wall);
    assert_eq!(r.refused(), 0, "no request may be refused");
    // The source plans 60 requests a minute (sources::reddit::
    // PLANNED_PER_MINUTE), 60% of the documented 100, because Reddit's
    // counts are approximate; the daemon must reach that plan.
    assert_uses_budget("reddit", requests, 60.0 * mins as f64, 0.95, 1.0);
    assert_eq!(polls("reddit") as usize, requests, "with nothing new, each poll of a query is one request");
}

#[tokio::test(start_paused = true)]
async fn hackernews_twenty_brands_every_5s_get_no_429_without_any_rate_limit_header() {
    let mins = minutes(120);
    let (clock, now) = clocks();
    let hn = fake_hackernews::FakeHackerNews::start().await;
    hn.enforce_limits_on(now);
    let dir = scratch();
    let cfg = config(dir.path(), BRANDS, |c| c.hackernews(&hn.base_url()).set("source.hackernews", "every", "5s"));
    let wall = run_a_day(cfg, clock, mins).await;
    let requests = hn.requests().len();
    report("hackernews", mins, requests, hn.refused(), wall);
    assert_eq!(hn.refused(), 0, "no request may be refused");
    // No headers to correct our count: the daemon keeps a tenth of the
    // documented 1000 per hour as a burst and never sends more than 1000 in
    // any hour, so it uses about 90% of the budget over a long run.
    assert_uses_budget("hackernews", requests, fake_hackernews::HOURLY_LIMIT as f64 / 60.0 * mins as f64, 0.85, 1.0);
    assert_eq!(polls("hackernews") as usize, requests, "with nothing new, each poll of a query is one request");
}

/// Bluesky's 3000 per 5 minutes is more than a 5 s schedule asks for: the
/// interval is the floor, kept exactly, and nothing is refused.
#[tokio::test(start_paused = true)]
async fn bluesky_every_5s_keeps_the_interval_as_its_floor_and_gets_no_429() {
    let mins = minutes(30);
    let (clock, now) = clocks();
    let b = fake_bluesky::FakeBluesky::start().await;
    b.enforce_limits_on(now);
    b.add_account("escucha.bsky.social", "app-pass-word", 10);
    let dir = scratch();
    let cfg = config(dir.path(), 2, |c| c.bluesky(&b.base_url(), "escucha.bsky.social", "app-pass-word").set("source.bluesky", "every", "5s"));
    let queries = escucha::daemon::sources(&cfg)[0].queries().len();
    let wall = run_a_day(cfg, clock, mins).await;
    let reads: Vec<_> = b.requests().into_iter().filter(|q| !q.nsid.starts_with("com.atproto.server.")).collect();
    report("bluesky", mins, reads.len(), b.refused(), wall);
    assert_eq!(b.refused(), 0, "no request may be refused");
    let floor = (queries as u64 * (mins * 60 / 5 + 1)) as f64;
    assert_uses_budget("bluesky", reads.len(), floor, 0.95, 1.0);
    assert_eq!(polls("bluesky") as usize, reads.len(), "with nothing new, each poll of a query is one request");
}

/// Feeds publish no limit: `every` is the floor, and an unchanged feed is
/// asked for conditionally every time after the first.
#[tokio::test(start_paused = true)]
async fn feeds_every_5s_keep_the_interval_and_ask_conditionally() {
    let mins = minutes(30);
    let (clock, _) = clocks();
    let f = fake_feed::FakeFeed::start().await;
    let urls: Vec<String> = (0..3).map(|i| f.add_feed(fake_feed::Kind::GoogleAlerts, &format!("Brand{i}"))).collect();
    let dir = scratch();
    let cfg = config(dir.path(), 3, |mut c| {
        for (i, url) in urls.iter().enumerate() {
            c = c.feed(url, &format!("brand{i}")).set("source.feed", "every", "5s");
        }
        c
    });
    let wall = run_a_day(cfg, clock, mins).await;
    let requests = f.requests();
    report("feed", mins, requests.len(), 0, wall);
    let floor = (3 * (mins * 60 / 5 + 1)) as f64;
    assert_uses_budget("feed", requests.len(), floor, 0.95, 1.0);
    let unconditional = requests.iter().filter(|r| r.if_none_match.is_none() && r.if_modified_since.is_none()).count();
    assert_eq!(unconditional, 3, "only each feed's first request is unconditional");
    assert_eq!(polls("feed") as usize, requests.len(), "with nothing new, each poll of a feed is one request");
}
