//! Streaming against polling (issue 15, point 4): the real daemon binary
//! against the local fakes, one brand, mentions posted at random moments,
//! and for each way in: the time from a post's creation to its row in the
//! database (p50, p99) and the requests escucha spent, per hour.
//!
//!     cargo bench --bench streams                   # every mode, 60 s each
//!     cargo bench --bench streams -- jetstream      # one mode: mastodon-poll,
//!                                                   # mastodon-stream, bluesky-poll, jetstream
//!     ESCUCHA_BENCH_SECS=120 cargo bench --bench streams
//!
//! Polling runs at `every = "10s"` in every mode (the queries a stream does
//! not cover keep polling at that rate). Latency is the row's `seen_at` (the
//! daemon's clock when it stored the row) minus the moment the bench posted.

#[path = "../tests/support/fake_bluesky.rs"]
mod fake_bluesky;
#[path = "../tests/support/fake_jetstream.rs"]
mod fake_jetstream;
#[path = "../tests/support/fake_mastodon.rs"]
mod fake_mastodon;

use chrono::{DateTime, Utc};
use escucha::store::{MentionFilter, Store};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const EVERY: &str = "10s";
const PASSWORD: &str = "abcd-efgh-ijkl-mnop";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    MastodonPoll,
    MastodonStream,
    BlueskyPoll,
    Jetstream,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::MastodonPoll => "mastodon-poll",
            Mode::MastodonStream => "mastodon-stream",
            Mode::BlueskyPoll => "bluesky-poll",
            Mode::Jetstream => "jetstream",
        }
    }
}

fn main() {
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let secs: u64 = std::env::var("ESCUCHA_BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    for mode in [Mode::MastodonPoll, Mode::MastodonStream, Mode::BlueskyPoll, Mode::Jetstream] {
        if filter.is_empty() || filter.iter().any(|f| mode.name().contains(f.as_str())) {
            rt.block_on(run(mode, Duration::from_secs(secs)));
        }
    }
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(config: &Path) -> Daemon {
    let child = Command::new(env!("CARGO_BIN_EXE_escucha"))
        .args(["run", "--config", config.to_str().unwrap()])
        .env("ESCUCHA_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("escucha starts");
    Daemon(child)
}

async fn wait_for_cursor(db: &Path, key: &str) {
    let until = Instant::now() + Duration::from_secs(60);
    while Instant::now() < until {
        if db.exists() && Store::open(db).ok().and_then(|s| s.cursor(key).ok().flatten()).is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no first poll of {key} within 60 s");
}

/// Waits until every posted id has its row; returns (id → seen_at).
async fn rows(db: &Path, ids: &[(String, DateTime<Utc>)]) -> BTreeMap<String, DateTime<Utc>> {
    let until = Instant::now() + Duration::from_secs(90);
    loop {
        let store = Store::open(db).unwrap();
        let seen: BTreeMap<String, DateTime<Utc>> =
            store.mentions(&MentionFilter::default()).unwrap().into_iter().map(|m| (m.platform_id, m.seen_at)).collect();
        if ids.iter().all(|(id, _)| seen.contains_key(id)) || Instant::now() > until {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// For the streams: how long after posting the row can be read (polled
/// every millisecond, for at most 3 s), which includes the commit that
/// `seen_at` precedes.
async fn visible(store: &Store, id: &str, posted: Instant) -> Option<f64> {
    while posted.elapsed() < Duration::from_secs(3) {
        if store.mentions(&MentionFilter::default()).ok()?.iter().any(|m| m.platform_id == id) {
            return Some(posted.elapsed().as_secs_f64() * 1000.0);
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    None
}

/// Posts one mention after each gap with `post` (which returns its id),
/// measuring for a stream how soon each row can be read. The posts with
/// their moments, those read times (ms), and how long posting took.
async fn post_all(gaps: &[Duration], db: &Path, streamed: bool, mut post: impl FnMut(usize) -> String) -> (Vec<(String, DateTime<Utc>)>, Vec<f64>, Duration) {
    let started = Instant::now();
    let reader = Store::open(db).unwrap();
    let (mut posted, mut shown) = (Vec::new(), Vec::new());
    for (i, gap) in gaps.iter().enumerate() {
        tokio::time::sleep(*gap).await;
        let at = Utc::now();
        let t = Instant::now();
        let id = post(i);
        if streamed {
            shown.extend(visible(&reader, &id, t).await);
        }
        posted.push((id, at));
    }
    (posted, shown, started.elapsed())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn config(dir: &Path, source: &str) -> std::path::PathBuf {
    let toml = format!(
        "[daemon]\ndatabase = \"escucha.db\"\ntimezone = \"UTC\"\n\n[[brand]]\nid = \"interjet\"\nname = \"Interjet\"\nterms = [\"interjet\"]\n\
         respond_within = {{ complaint = \"1h\", escalation = \"1h\" }}\n{source}"
    );
    let path = dir.join("escucha.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

async fn run(mode: Mode, window: Duration) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("escucha.db");
    let n = (window.as_secs() / 2).max(5) as usize;
    // Random moments in the window, so polls and posts do not line up.
    let mut gaps: Vec<Duration> = (0..n).map(|_| Duration::from_millis(fastrand::u64(200..3800))).collect();
    let total: Duration = gaps.iter().sum();
    let scale = window.as_secs_f64() / total.as_secs_f64();
    gaps.iter_mut().for_each(|g| *g = g.mul_f64(scale));
    let requests: BTreeMap<String, usize>;
    match mode {
        Mode::MastodonPoll | Mode::MastodonStream => {
            let fake = fake_mastodon::FakeMastodon::start().await;
            let brand = fake.add_account("interjet", 5_000);
            let ana = fake.add_account("ana", 120);
            let token = fake.issue_token(&brand);
            let streaming = fake.start_streaming(fake_mastodon::StreamingMode::Both).await;
            let stream = mode == Mode::MastodonStream;
            let cfg = config(
                dir.path(),
                &format!(
                    "[brand.accounts]\nmastodon = \"interjet\"\n\n[source.mastodon]\ninstance = {:?}\naccess_token = {token:?}\nevery = {EVERY:?}\nstream = {stream}\n",
                    fake.base_url()
                ),
            );
            let _d = start(&cfg);
            wait_for_cursor(&db, "mastodon:notifications").await;
            wait_for_cursor(&db, "mastodon:account:interjet").await;
            tokio::time::sleep(Duration::from_secs(1)).await;
            fake.clear_requests();
            let before = streaming.requests().len();
            let (posted, shown, measured) = post_all(&gaps, &db, stream, |i| {
                fake.post_status(&ana).text(&format!("@interjet pregunta número {i} sobre mi reserva")).mention(&brand).send()
            })
            .await;
            let mut by: BTreeMap<String, usize> = BTreeMap::new();
            for r in fake.requests() {
                let kind = match r.path.as_str() {
                    "/api/v1/notifications" => "notifications",
                    p if p.starts_with("/api/v1/timelines/tag/") => "hashtag",
                    "/api/v2/search" => "search",
                    p if p.starts_with("/api/v1/accounts/") => "account",
                    _ => "other",
                };
                *by.entry(kind.into()).or_default() += 1;
            }
            let streamed = streaming.requests().len() - before;
            if streamed > 0 {
                by.insert("streaming server".into(), streamed);
            }
            requests = by;
            let seen = rows(&db, &posted).await;
            report(mode, &posted, &seen, &requests, measured, shown);
        }
        Mode::BlueskyPoll | Mode::Jetstream => {
            let fake = fake_bluesky::FakeBluesky::start().await;
            fake.add_account("interjet.bsky.social", PASSWORD, 5_000);
            let ana = fake.add_account("ana.bsky.social", "x", 120);
            let jet = fake_jetstream::FakeJetstream::start().await;
            let jetstream = if mode == Mode::Jetstream { format!("jetstream = {:?}\n", jet.base_url()) } else { String::new() };
            let cfg = config(
                dir.path(),
                &format!(
                    "[brand.accounts]\nbluesky = \"interjet.bsky.social\"\n\n[source.bluesky]\nservice = {:?}\nidentifier = \"interjet.bsky.social\"\napp_password = {PASSWORD:?}\nevery = {EVERY:?}\n{jetstream}",
                    fake.base_url()
                ),
            );
            let _d = start(&cfg);
            wait_for_cursor(&db, "bluesky:search:interjet").await;
            wait_for_cursor(&db, "bluesky:account:interjet").await;
            tokio::time::sleep(Duration::from_secs(1)).await;
            fake.clear_requests();
            let connections = jet.requests().len();
            let (posted, shown, measured) = post_all(&gaps, &db, mode == Mode::Jetstream, |i| {
                let uri = fake.post(&ana).text(&format!("@interjet.bsky.social pregunta número {i} sobre mi reserva")).send();
                // Jetstream sees every post of the network; the fake's
                // search index has it from the same moment.
                jet.publish(fake.commit_event(&uri));
                uri
            })
            .await;
            let mut by: BTreeMap<String, usize> = BTreeMap::new();
            for r in fake.requests() {
                let kind = r.nsid.rsplit('.').next().unwrap_or("other").to_string();
                *by.entry(kind).or_default() += 1;
            }
            let reconnects = jet.requests().len() - connections;
            if reconnects > 0 {
                by.insert("jetstream connections".into(), reconnects);
            }
            requests = by;
            let seen = rows(&db, &posted).await;
            report(mode, &posted, &seen, &requests, measured, shown);
        }
    }
}

fn report(
    mode: Mode,
    posted: &[(String, DateTime<Utc>)],
    seen: &BTreeMap<String, DateTime<Utc>>,
    requests: &BTreeMap<String, usize>,
    window: Duration,
    mut shown: Vec<f64>,
) {
    let mut ms: Vec<f64> = posted.iter().filter_map(|(id, at)| seen.get(id).map(|s| (*s - *at).num_milliseconds() as f64)).collect();
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let per_hour = |n: usize| n as f64 * 3600.0 / window.as_secs_f64();
    let total: usize = requests.values().sum();
    let detail: Vec<String> = requests.iter().map(|(k, v)| format!("{k} {:.0}", per_hour(*v))).collect();
    println!(
        "{}: {}/{} mentions stored; creation → row p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; requests {:.0}/h ({}) over {:.0} s, polling every {EVERY}",
        mode.name(),
        ms.len(),
        posted.len(),
        percentile(&ms, 0.5),
        percentile(&ms, 0.99),
        ms.last().copied().unwrap_or(f64::NAN),
        per_hour(total),
        detail.join(", "),
        window.as_secs_f64()
    );
    if !shown.is_empty() {
        shown.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "{}: post → row readable by another connection (commit included): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} of {})",
            mode.name(),
            percentile(&shown, 0.5),
            percentile(&shown, 0.99),
            shown.last().unwrap(),
            shown.len(),
            posted.len()
        );
    }
}
