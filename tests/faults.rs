//! Fault tests: each starts the real daemon and breaks something under it.
//! kill -9 at random moments during heavy ingest and alerting; the SMTP
//! server down for the whole threshold; each platform failing in every way a
//! network fails (429 with and without reset headers, 500, 503 with
//! Retry-After, a timeout, a truncated body, malformed JSON, an HTML page, a
//! 50 MB body). The daemon must stay up, keep the other source working, store
//! every mention once and page every due complaint once.
//!
//! Requests time out after 1 s here (`ESCUCHA_HTTP_TIMEOUT_MS`, a test-only
//! knob; production uses 30 s), so a hung platform costs a second.

#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/fake_mastodon.rs"]
mod fake_mastodon;
#[path = "support/fake_x.rs"]
mod fake_x;
#[path = "support/smtp.rs"]
mod smtp;
#[path = "support/world.rs"]
mod world;

use daemon::{first_x_and_mastodon_polls, mentions, wait_for, Daemon};
use escucha::model::{Platform, Status};
use fake_mastodon::FakeMastodon;
use fake_x::{FakeX, NewTweet};
use smtp::{Received, SmtpServer};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use world::ConfigToml;

const LONG: Duration = Duration::from_secs(30);
const ENV: &[(&str, &str)] = &[("ESCUCHA_HTTP_TIMEOUT_MS", "1000")];

struct World {
    dir: tempfile::TempDir,
    x: FakeX,
    mastodon: FakeMastodon,
    smtp: SmtpServer,
    brand_mastodon_id: String,
    mastodon_token: String,
}

#[derive(Default)]
struct Settings {
    complaint: Option<&'static str>,
    smtp_port: Option<u16>,
    x_base: Option<String>,
    mastodon_base: Option<String>,
}

impl World {
    async fn new() -> World {
        let x = FakeX::start().await;
        let mastodon = FakeMastodon::start().await;
        // Polling several queries every second spends Mastodon's real
        // 300-per-5-minutes window within a minute; these tests inject their
        // own 429s, so the natural one must not come first.
        mastodon.set_rate_limit_remaining(100_000);
        let brand_mastodon_id = mastodon.add_account("interjet", 5000);
        let mastodon_token = mastodon.issue_token(&brand_mastodon_id);
        World { dir: tempfile::tempdir().unwrap(), x, mastodon, smtp: SmtpServer::start().await, brand_mastodon_id, mastodon_token }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("escucha.db")
    }

    fn config(&self, s: &Settings) -> PathBuf {
        let complaint = s.complaint.unwrap_or("1s");
        ConfigToml::new()
            .daemon("escucha.db")
            .interjet(complaint, complaint, &[("x", "Interjet_mx"), ("mastodon", "interjet")])
            .x(&s.x_base.clone().unwrap_or_else(|| self.x.base_url()), fake_x::DEFAULT_TOKEN)
            .mastodon(&s.mastodon_base.clone().unwrap_or_else(|| self.mastodon.base_url()), &self.mastodon_token)
            .smtp(s.smtp_port.unwrap_or_else(|| self.smtp.port()))
            .oncall(&["guardia@example.com"])
            .write(self.dir.path())
    }

    fn start(&self, config: &Path) -> Daemon {
        Daemon::start(self.dir.path(), config, ENV)
    }

    /// Both sources finished a first round: later posts are live, not history.
    async fn first_polls_done(&self, d: &Daemon) {
        first_x_and_mastodon_polls(LONG, d, &self.db()).await;
    }

    fn notifications_polled(&self) -> usize {
        self.mastodon.requests().iter().filter(|r| r.path == "/api/v1/notifications").count()
    }

    fn x_complaint(&self, code: &str) -> String {
        self.x.add_tweet(
            NewTweet::new(&format!("u{code}"), &format!("@Interjet_mx {code} perdieron mi equipaje y nadie responde, pésimo servicio")).lang(Some("es")),
        )
    }

    fn mastodon_mention(&self, code: &str, text: &str) -> String {
        let author = self.mastodon.add_account(&format!("a{}", code.to_lowercase().replace('-', "")), 10);
        self.mastodon.post_status(&author).text(&format!("@interjet {code} {text}")).mention(&self.brand_mastodon_id).language("es").send()
    }
}

fn stored(db: &Path, platform_id: &str) -> bool {
    mentions(db).iter().any(|m| m.platform_id == platform_id)
}

/// Resident and peak memory of a process, in kB, from /proc.
fn memory_kb(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| -> u64 {
        status.lines().find(|l| l.starts_with(name)).and_then(|l| l.split_whitespace().nth(1)).and_then(|n| n.parse().ok()).unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The mention codes (`K03-07`, `M12-1`...) an email mentions, in order.
fn codes(mail: &Received) -> Vec<String> {
    let body = mail.text_body().unwrap_or_default();
    let mut out = Vec::new();
    for word in body.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
        let b = word.as_bytes();
        if b.len() >= 4 && (b[0] == b'K' || b[0] == b'M' || b[0] == b'S') && b[1].is_ascii_digit() && word.contains('-') && !out.contains(&word.to_string()) {
            out.push(word.to_string());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_twenty_random_moments_stores_every_mention_once_and_pages_every_due_complaint_once() {
    let w = World::new().await;
    let cfg = w.config(&Settings::default());
    let db = w.db();
    {
        let mut d = w.start(&cfg);
        w.first_polls_done(&d).await;
        let n = w.notifications_polled();
        // Every Mastodon query has had its first round once notifications did twice.
        wait_for(LONG, "a second Mastodon round", &d, || (w.notifications_polled() > n).then_some(())).await;
        d.kill9();
    }
    let mut expected = Vec::new(); // (platform id, code or "")
    let mut due_codes = BTreeSet::new();
    let mut answered_codes = BTreeSet::new();
    let seed = fastrand::u64(..);
    let mut rng = fastrand::Rng::with_seed(seed);
    for round in 0..20 {
        // Posts arrive while the daemon is down, so that each start has a
        // backlog of pages to read and complaints already past due.
        for i in 0..30 {
            expected.push((
                w.x.add_tweet(NewTweet::new(&format!("n{round}x{i}"), &format!("viajando con Interjet hoy, vuelo {round}-{i}")).lang(Some("es"))),
                String::new(),
            ));
        }
        for i in 0..4 {
            let code = format!("K{round:02}-{i}");
            expected.push((w.x_complaint(&code), code.clone()));
            due_codes.insert(code);
        }
        // Answered by the brand straight away: never paged.
        let code = format!("K{round:02}-9");
        let id = w.x_complaint(&code);
        let reply = w.x.add_tweet(NewTweet::new("Interjet_mx", &format!("@u{code} lo sentimos, te escribimos por DM")).reply_to(&id).lang(Some("es")));
        let _ = reply;
        expected.push((id, code.clone()));
        answered_codes.insert(code);
        for i in 0..2 {
            let code = format!("M{round:02}-{i}");
            expected.push((w.mastodon_mention(&code, "perdieron mi equipaje y nadie responde, pésimo servicio"), code.clone()));
            due_codes.insert(code);
        }
        if round % 3 == 0 {
            // A slow answer keeps a page in flight when the kill lands.
            w.x.fail_next(fake_x::Failure::Timeout(Duration::from_millis(300)));
        }
        let mut d = w.start(&cfg);
        tokio::time::sleep(Duration::from_millis(rng.u64(30..700))).await;
        d.kill9();
    }
    let d = w.start(&cfg);
    wait_for(Duration::from_secs(60), "every post stored", &d, || {
        let have: BTreeSet<String> = mentions(&db).into_iter().map(|m| m.platform_id).collect();
        expected.iter().all(|(id, _)| have.contains(id)).then_some(())
    })
    .await;
    let all = mentions(&db);
    assert_eq!(all.len(), expected.len(), "seed {seed}: every post stored exactly once");
    let by_code: BTreeMap<String, _> =
        expected.iter().filter(|(_, c)| !c.is_empty()).map(|(id, c)| (c.clone(), all.iter().find(|m| &m.platform_id == id).unwrap())).collect();
    for code in &answered_codes {
        assert_eq!(by_code[code].status, Status::Answered, "seed {seed}: {code}");
    }
    for code in &due_codes {
        assert!(by_code[code].class.needs_answer(), "seed {seed}: {code} is a complaint: {:?}", by_code[code].reasons);
        assert!(!by_code[code].history, "seed {seed}: {code} arrived live");
    }
    wait_for(Duration::from_secs(60), "every due complaint paged and every page sent", &d, || {
        let got: BTreeSet<String> = w.smtp.messages().iter().flat_map(codes).collect();
        (due_codes.is_subset(&got) && daemon::outbox(&db, "pending") == 0).then_some(())
    })
    .await;

    // Each email carries its outbox row in its Message-ID. Two copies of one
    // row are the documented at-least-once window: the process died after the
    // server's 250 and before the row was marked sent, so the restart sent it
    // again. That is the only duplicate allowed: a complaint in two different
    // rows would be a second page.
    let mail = w.smtp.messages();
    let mut rows_of: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut copies: BTreeMap<String, usize> = BTreeMap::new();
    for m in &mail {
        let row = m.header("Message-ID").expect("every alert has a Message-ID");
        *copies.entry(row.clone()).or_default() += 1;
        for c in codes(m) {
            rows_of.entry(c).or_default().insert(row.clone());
        }
    }
    for code in &due_codes {
        assert_eq!(rows_of.get(code).map(|r| r.len()), Some(1), "seed {seed}: {code} is paged by exactly one outbox row: {rows_of:?}");
    }
    for code in &answered_codes {
        assert!(!rows_of.contains_key(code), "seed {seed}: {code} was answered by the brand and must never be paged");
    }
    let repeated: usize = copies.values().map(|n| n - 1).sum();
    assert!(repeated <= 20, "seed {seed}: at most one repeat per kill, got {repeated}");
    assert_eq!(daemon::outbox(&db, "sent") as usize, copies.len(), "seed {seed}: every row that reached the server is recorded sent");
    assert_eq!(daemon::outbox(&db, "dead"), 0);
    eprintln!("seed {seed}: {} posts, {} emails for {} rows ({repeated} repeated by a kill)", expected.len(), mail.len(), copies.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_due_while_smtp_is_down_go_out_once_each_in_due_order_when_it_returns() {
    let w = World::new().await;
    let down = SmtpServer::start().await;
    let port = down.port();
    down.stop().await;
    drop(down);
    let cfg = w.config(&Settings { complaint: Some("2s"), smtp_port: Some(port), ..Default::default() });
    let d = w.start(&cfg);
    w.first_polls_done(&d).await;
    let db = w.db();
    let mut order = Vec::new();
    for i in 0..5 {
        let code = format!("S{i}-x");
        w.x_complaint(&code);
        order.push(code);
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    // Down for the whole threshold: every complaint is paged (outbox rows
    // written) and every row has failed at least once before the server is back.
    wait_for(LONG, "every complaint paged", &d, || {
        let all = mentions(&db);
        (all.len() == 5 && all.iter().all(|m| m.alerted_at.is_some())).then_some(())
    })
    .await;
    wait_for(LONG, "failed attempts for every row", &d, || (d.log().matches("alert delivery failed; will retry").count() >= 6).then_some(())).await;
    let back = SmtpServer::start_on(port).await;
    let mail = back.wait_for(1, Duration::from_secs(60)).await;
    let _ = mail;
    wait_for(Duration::from_secs(60), "all five complaints delivered", &d, || {
        let got: Vec<String> = back.messages().iter().flat_map(codes).collect();
        (order.iter().all(|c| got.contains(c)) && daemon::outbox(&db, "pending") == 0).then_some(())
    })
    .await;
    let got: Vec<String> = back.messages().iter().flat_map(codes).collect();
    assert_eq!(got, order, "each complaint once, in the order it fell due");
}

/// Injects `failures` one at a time into one platform and after each checks
/// that the daemon is up, the failing platform recovers (its new post is
/// stored) and the other platform kept working meanwhile.
async fn each_failure_in_turn(w: &World, d: &mut Daemon, failing: Platform, failures: usize, mut inject: impl FnMut(usize)) {
    let db = w.db();
    for step in 0..failures {
        inject(step);
        let code = format!("F{step}");
        let (failing_post, other_post) = match failing {
            Platform::X => (w.x.add_tweet(NewTweet::new("fx", &format!("Interjet hoy {code}"))), w.mastodon_mention(&format!("O{step}-m"), "hola")),
            _ => (w.mastodon_mention(&format!("F{step}-m"), "hola"), w.x.add_tweet(NewTweet::new("ox", &format!("Interjet hoy O{step}")))),
        };
        wait_for(LONG, &format!("the other source's post during failure {step}"), d, || stored(&db, &other_post).then_some(())).await;
        wait_for(LONG, &format!("recovery after failure {step}"), d, || stored(&db, &failing_post).then_some(())).await;
        // Then one whole clean round, so that the next failure starts from
        // no backoff (a round with any failed query counts as failed).
        let clean = format!("poll round done source=\"{}\" next_in=1s", failing.as_str());
        let before = d.log().matches(&clean).count();
        wait_for(LONG, &format!("a clean round after failure {step}"), d, || (d.log().matches(&clean).count() > before).then_some(())).await;
        assert!(d.running(), "the daemon is up after failure {step}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_failing_every_way_in_turn_leaves_the_daemon_up_and_mastodon_working() {
    use fake_x::Failure::*;
    let w = World::new().await;
    let cfg = w.config(&Settings::default());
    let mut d = w.start(&cfg);
    w.first_polls_done(&d).await;
    let failures = [
        RateLimited { reset_in_secs: 1 },
        ServerError(500),
        Unavailable { retry_after: 1 },
        Timeout(Duration::from_secs(3)),
        TruncatedBody,
        MalformedJson,
        HtmlErrorPage,
    ];
    let x = &w.x;
    each_failure_in_turn(&w, &mut d, Platform::X, failures.len(), |i| x.fail_next(failures[i].clone())).await;
    let log = d.log();
    for needle in ["rate limited", "server error 500", "server error 503", "timed out", "cannot parse"] {
        assert!(log.contains(needle), "the log says {needle:?}:\n{log}");
    }
    // Last: 429 with no headers at all. The daemon waits (a minute, by
    // default) rather than hammering, while Mastodon keeps working.
    w.x.fail_next(RateLimitedNoHeaders);
    let n = w.x.requests().len();
    wait_for(LONG, "the bare 429", &d, || (w.x.requests().len() > n).then_some(())).await;
    let after_429 = w.x.requests().len();
    let db = w.db();
    for i in 0..2 {
        let post = w.mastodon_mention(&format!("L{i}-m"), "hola");
        wait_for(LONG, "Mastodon while X waits", &d, || stored(&db, &post).then_some(())).await;
    }
    assert_eq!(w.x.requests().len(), after_429, "no X request before the rate-limit wait is over");
    assert!(d.running());
    assert_eq!(d.terminate(Duration::from_secs(10)), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mastodon_failing_every_way_in_turn_leaves_the_daemon_up_and_x_working() {
    use fake_mastodon::Failure::*;
    let w = World::new().await;
    let cfg = w.config(&Settings::default());
    let mut d = w.start(&cfg);
    w.first_polls_done(&d).await;
    let failures =
        [ServerError(500), Unavailable { retry_after: Duration::from_secs(1) }, Timeout(Duration::from_secs(3)), TruncatedBody, MalformedJson, HtmlErrorPage];
    let m = &w.mastodon;
    each_failure_in_turn(&w, &mut d, Platform::Mastodon, failures.len(), |i| m.fail_next(failures[i].clone())).await;
    let log = d.log();
    for needle in ["server error 500", "server error 503", "timed out", "cannot parse"] {
        assert!(log.contains(needle), "the log says {needle:?}:\n{log}");
    }
    // Last: Mastodon's 429, whose X-RateLimit-Reset is the end of its
    // five-minute window: nothing is sent to Mastodon before then.
    w.mastodon.fail_next(RateLimited);
    let n = w.mastodon.requests().len();
    wait_for(LONG, "the 429", &d, || (w.mastodon.requests().len() > n).then_some(())).await;
    let after_429 = w.mastodon.requests().len();
    let db = w.db();
    for i in 0..2 {
        let post = w.x.add_tweet(NewTweet::new("lx", &format!("Interjet hoy L{i}")));
        wait_for(LONG, "X while Mastodon waits", &d, || stored(&db, &post).then_some(())).await;
    }
    assert_eq!(w.mastodon.requests().len(), after_429, "no Mastodon request before its window resets");
    assert!(d.log().contains("rate limited"));
    assert!(d.running());
    assert_eq!(d.terminate(Duration::from_secs(10)), Some(0));
}

/// A platform that answers every request the same scripted way, for what
/// the fakes cannot do: a 50 MB body (with and without Content-Length) and
/// a 429 with no rate-limit header at all.
struct Scripted {
    addr: std::net::SocketAddr,
    mode: Arc<Mutex<Mode>>,
    served: Arc<AtomicUsize>,
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Huge,
    TooManyNoHeaders,
}

const HUGE: usize = 50 * 1024 * 1024;

impl Scripted {
    async fn start(mode: Mode) -> Scripted {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mode = Arc::new(Mutex::new(mode));
        let served = Arc::new(AtomicUsize::new(0));
        let (m, s) = (mode.clone(), served.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut conn, _)) = listener.accept().await else { continue };
                let (m, s) = (m.clone(), s.clone());
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match conn.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let n = s.fetch_add(1, Ordering::SeqCst);
                    let mode = *m.lock().unwrap();
                    match mode {
                        Mode::TooManyNoHeaders => {
                            let body = r#"{"error":"Too many requests"}"#;
                            let _ = conn
                                .write_all(format!("HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len()).as_bytes())
                                .await;
                        }
                        Mode::Huge => {
                            // Every other answer announces its size; the others
                            // stream without one, so both limits are exercised.
                            let length = if n % 2 == 0 { format!("content-length: {HUGE}\r\n") } else { String::new() };
                            let _ = conn
                                .write_all(format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{length}connection: close\r\n\r\n").as_bytes())
                                .await;
                            let mut chunk = vec![b' '; 64 * 1024];
                            chunk[0] = b'[';
                            let mut sent = 0;
                            while sent < HUGE {
                                if conn.write_all(&chunk).await.is_err() {
                                    return; // the client gave up: as it should
                                }
                                chunk[0] = b' ';
                                sent += chunk.len();
                            }
                        }
                    }
                    let _ = conn.shutdown().await;
                });
            }
        });
        Scripted { addr, mode, served }
    }

    fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn served(&self) -> usize {
        self.served.load(Ordering::SeqCst)
    }
}

/// One platform is the scripted server, the other the working fake.
async fn huge_bodies_then_bare_429(failing: Platform) {
    let w = World::new().await;
    let bad = Scripted::start(Mode::Huge).await;
    let settings = match failing {
        Platform::X => Settings { x_base: Some(bad.base_url()), ..Default::default() },
        _ => Settings { mastodon_base: Some(bad.base_url()), ..Default::default() },
    };
    let cfg = w.config(&settings);
    let mut d = w.start(&cfg);
    let db = w.db();
    let working_post = |i: usize| match failing {
        Platform::X => w.mastodon_mention(&format!("W{i}-m"), "hola"),
        _ => w.x.add_tweet(NewTweet::new("wx", &format!("Interjet hoy W{i}"))),
    };
    let first = working_post(0);
    wait_for(LONG, "the working source's first post", &d, || stored(&db, &first).then_some(())).await;
    let (rss_before, _) = memory_kb(d.pid());
    // Four 50 MB answers (two announced, two streamed) at 2, 4, 8 s backoff.
    wait_for(LONG, "four 50 MB answers", &d, || (bad.served() >= 4).then_some(())).await;
    let post = working_post(1);
    wait_for(LONG, "the working source during the 50 MB answers", &d, || stored(&db, &post).then_some(())).await;
    let (rss_after, hwm) = memory_kb(d.pid());
    eprintln!("{failing:?}: VmRSS {rss_before} kB before, {rss_after} kB after four 50 MB bodies (peak {hwm} kB)");
    assert!(hwm < 100 * 1024, "peak memory stays bounded (bodies are capped at 8 MB): {hwm} kB");
    assert!(d.log().contains("byte limit"), "the refusal is logged:\n{}", d.log());
    // Then a 429 with no rate-limit header: a default wait, not a storm.
    *bad.mode.lock().unwrap() = Mode::TooManyNoHeaders;
    let n = bad.served();
    wait_for(LONG, "the bare 429", &d, || (bad.served() > n).then_some(())).await;
    let after = bad.served();
    let post = working_post(2);
    wait_for(LONG, "the working source after the 429", &d, || stored(&db, &post).then_some(())).await;
    let post = working_post(3);
    wait_for(LONG, "the working source a round later", &d, || stored(&db, &post).then_some(())).await;
    assert_eq!(bad.served(), after, "no request before the default rate-limit wait is over");
    assert!(d.log().contains("rate limited"), "{}", d.log());
    assert!(d.running());
    assert_eq!(d.terminate(Duration::from_secs(10)), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_sending_50_mb_bodies_and_a_bare_429_leaves_memory_bounded_and_mastodon_working() {
    huge_bodies_then_bare_429(Platform::X).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mastodon_sending_50_mb_bodies_and_a_bare_429_leaves_memory_bounded_and_x_working() {
    huge_bodies_then_bare_429(Platform::Mastodon).await;
}
