//! A simulated day: the real daemon (`escucha::daemon::run`, every task it
//! starts) polls for 24 hours of virtual time against the fake platform
//! servers, which enforce each platform's documented rate limit on the same
//! virtual clock and answer 429 when it is exceeded. Twenty brands share each
//! platform's budget and every source is configured to poll every 5 s, far
//! more than the budgets allow, so only the daemon's own pacing keeps it
//! under the limits.
//!
//! How time is simulated: each test runs on a current-thread tokio runtime
//! with paused time (`start_paused`). Tokio advances its clock to the next
//! timer whenever every task is idle, so the daemon's sleeps, reqwest's
//! timeouts and the fakes' windows all run on one virtual clock
//! ([`TokioClock`]: a fixed start plus tokio's elapsed time), which both the
//! daemon and the fakes read. The fakes run in the same runtime over real
//! loopback TCP: a request written to a loopback socket is readable at once,
//! so the runtime never looks idle while a request is in flight, and a
//! timeout could only fire if a request really hung.
//!
//! The limits enforced, with their sources (REFERENCE.md):
//! - X recent search: 450 requests per 15-minute window per app (1.6).
//! - Mastodon: 300 requests per 5 minutes per token (2.8, `rack_attack.rb`).
//! - Bluesky PDS: 3000 requests per 5 minutes per IP (3.6).
//! - Reddit: 100 queries per minute per OAuth client averaged over 10
//!   minutes, i.e. 1000 per 600 s window (4.5).
//! - Hacker News (Algolia): 1000 requests per hour per IP, no headers (5.5).
//! - Feeds: nothing published; conditional GETs at `every`.

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

use chrono::{DateTime, Utc};
use escucha::clock::{Clock, TokioClock};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const DAY: Duration = Duration::from_secs(24 * 3600);
const BRANDS: usize = 20;

/// The clock the daemon and the fakes share, as each wants it.
fn clocks() -> (Arc<dyn Clock>, Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>) {
    let clock = TokioClock::new(Utc::now());
    (Arc::new(clock), Arc::new(move || clock.now()))
}

/// Twenty brands, each with one search term, and the given sources.
fn config(dir: &Path, sources: &str) -> escucha::config::Config {
    let mut toml = format!(
        r#"
[daemon]
database = "{}"
timezone = "UTC"

[smtp]
host = "127.0.0.1"
port = 9
security = "none"
from = "Escucha <alerts@example.com>"

[[oncall]]
id = "care"
[[oncall.shift]]
when = "* * * * * *"
notify = ["guardia@example.com"]
"#,
        dir.join("escucha.db").display()
    );
    for i in 0..BRANDS {
        toml.push_str(&format!(
            "\n[[brand]]\nid = \"brand{i}\"\nname = \"Brand{i}\"\nterms = [\"brandterm{i}\"]\nrespond_within = {{ complaint = \"1h\", escalation = \"1h\" }}\noncall = \"care\"\n"
        ));
    }
    toml.push_str(sources);
    let path = dir.join("escucha.toml");
    std::fs::write(&path, toml).unwrap();
    escucha::config::load(&path).unwrap_or_else(|e| panic!("config: {e}"))
}

/// A scratch directory in memory when there is one: the daemon commits a
/// cursor per poll, and a day is tens of thousands of polls.
fn scratch() -> tempfile::TempDir {
    tempfile::tempdir_in("/dev/shm").or_else(|_| tempfile::tempdir()).unwrap()
}

/// Runs the daemon for a virtual day; returns the wall time it took.
async fn run_a_day(cfg: escucha::config::Config, clock: Arc<dyn Clock>) -> Duration {
    let wall = std::time::Instant::now();
    let cancel = CancellationToken::new();
    let daemon = tokio::spawn(escucha::daemon::run(cfg, clock, cancel.clone()));
    tokio::time::sleep(DAY).await;
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
        "{platform}: {got} requests in a day is {:.1}% of the documented budget of {budget}; expected {:.0}%..{:.0}%",
        share * 100.0,
        low * 100.0,
        high * 100.0
    );
}

#[tokio::test(start_paused = true)]
async fn twenty_brands_polling_x_every_5s_for_a_day_get_no_429_and_use_the_search_budget() {
    let (clock, now) = clocks();
    let x = fake_x::FakeX::start().await;
    x.enforce_limits_on(now);
    let dir = scratch();
    let cfg = config(
        dir.path(),
        &format!("\n[source.x]\napi_base = \"{}\"\nbearer_token = \"{}\"\nevery = \"5s\"\n", x.base_url(), fake_x::DEFAULT_TOKEN),
    );
    let wall = run_a_day(cfg, clock).await;
    let requests = x.requests().len();
    println!("x: {requests} requests in a simulated day, {} refused, {wall:?} wall", x.refused());
    assert_eq!(x.refused(), 0, "no request may be refused");
    // 450 per 15 minutes is 43,200 a day; the config asks for 345,600.
    assert_uses_budget("x", requests, 43_200.0, 0.95, 1.0);
    assert_eq!(polls("x") as usize, requests, "with nothing new, each poll of a query is one request");
}
