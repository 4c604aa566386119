//! Storage fault tests: the real daemon, fed by fake X and Mastodon servers
//! and paging through a real SMTP server, while its SQLite file misbehaves
//! under it.
//!
//! - Another process (the `sqlite3` shell, else Python's sqlite3) holds an
//!   exclusive write lock on the database for 30 s. Reads still work (WAL),
//!   every write fails with SQLITE_BUSY once the busy timeout runs out.
//! - The filesystem holding the database fills up (a small tmpfs, so this
//!   variant needs root; it skips with a message otherwise). Every write that
//!   needs a new block fails with SQLITE_FULL. The second time, the daemon
//!   is killed (-9) while full and a new one recovers the WAL and catches up.
//! - A file size limit (`prlimit --fsize` on the running daemon, no root
//!   needed): writes past it raise SIGXFSZ, which the daemon handles, so
//!   they fail with EFBIG, which SQLite reports as a disk I/O error.
//!
//! In both the daemon must stay up, say in an ERROR line which file and what
//! is wrong, answer `/healthz` 503 with the same reason (and 200 again
//! afterwards), and lose nothing: a page that cannot be committed is kept
//! and committed when the database takes writes again (its cursor moves
//! only with it), due complaints are paged once, and an alert that the SMTP
//! server accepted while the database could not record it is not sent again.

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

use daemon::{wait_for, Daemon, MASTODON_NOTIFICATIONS};
use fake_mastodon::FakeMastodon;
use fake_x::{FakeX, NewTweet};
use smtp::{Received, SmtpServer};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};
use world::ConfigToml;

const LONG: Duration = Duration::from_secs(30);
/// The platforms here never hang, but the daemon's write waits up to 1 s for
/// another process's lock on a runtime thread; with two cores a 1 s request
/// timeout could then expire for a healthy platform and be logged as a
/// source failure (production's is 30 s). 5 s keeps the margin.
const ENV: &[(&str, &str)] = &[("ESCUCHA_HTTP_TIMEOUT_MS", "5000")];

/// Fake platforms, an SMTP server, and a config whose database may live
/// elsewhere than the config and the log (on a tmpfs that will fill up).
struct World {
    dir: tempfile::TempDir,
    db: PathBuf,
    x: FakeX,
    mastodon: FakeMastodon,
    smtp: SmtpServer,
    brand_mastodon_id: String,
    http: String,
}

impl World {
    async fn new(db: Option<PathBuf>) -> World {
        let dir = tempfile::tempdir().unwrap();
        let db = db.unwrap_or_else(|| dir.path().join("escucha.db"));
        let x = FakeX::start().await;
        let mastodon = FakeMastodon::start().await;
        mastodon.set_rate_limit_remaining(100_000);
        let brand_mastodon_id = mastodon.add_account("interjet", 5000);
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let http = free.local_addr().unwrap().to_string();
        drop(free);
        World { dir, db, x, mastodon, smtp: SmtpServer::start().await, brand_mastodon_id, http }
    }

    /// Complaints fall due `complaint` after they were posted.
    fn config(&self, complaint: &str) -> PathBuf {
        ConfigToml::new()
            .daemon(&self.db.display().to_string())
            .set("daemon", "http", &self.http)
            .interjet(complaint, complaint, &[("x", "Interjet_mx"), ("mastodon", "interjet")])
            .x(&self.x.base_url(), fake_x::DEFAULT_TOKEN)
            .mastodon(&self.mastodon.base_url(), &self.mastodon.issue_token(&self.brand_mastodon_id))
            .smtp(self.smtp.port())
            .oncall(&["guardia@example.com"])
            .write(self.dir.path())
    }

    fn start(&self, config: &Path) -> Daemon {
        Daemon::start(self.dir.path(), config, ENV)
    }

    /// Both sources finished a first round: later posts are live, not history.
    async fn first_polls_done(&self, d: &Daemon) {
        wait_for(LONG, "the first X poll", d, || cursor(&self.db, "x:search:interjet")).await;
        wait_for(LONG, "the first Mastodon poll", d, || self.mastodon_notifications_cursor()).await;
    }

    fn mastodon_notifications_cursor(&self) -> Option<String> {
        MASTODON_NOTIFICATIONS.iter().find_map(|k| cursor(&self.db, k))
    }

    fn x_complaint(&self, code: &str) -> String {
        self.x.add_tweet(
            NewTweet::new(&format!("u{}", code.to_lowercase()), &format!("@Interjet_mx {code} perdieron mi equipaje y nadie responde, pésimo servicio"))
                .lang(Some("es")),
        )
    }

    fn x_neutral(&self, code: &str) -> String {
        // Long enough that a few dozen of them need more than the WAL's slack.
        let filler = "el vuelo salió a tiempo y la sala de espera estaba tranquila; ".repeat(6);
        self.x.add_tweet(NewTweet::new(&format!("n{}", code.to_lowercase()), &format!("viajando con Interjet hoy {code} {filler}")).lang(Some("es")))
    }

    fn mastodon_complaint(&self, code: &str) -> String {
        let author = self.mastodon.add_account(&format!("a{}", code.to_lowercase().replace('-', "")), 10);
        self.mastodon
            .post_status(&author)
            .text(&format!("@interjet {code} perdieron mi equipaje y nadie responde, pésimo servicio"))
            .mention(&self.brand_mastodon_id)
            .language("es")
            .send()
    }

    /// Waits until every id in `posted` is stored.
    async fn all_stored(&self, d: &Daemon, posted: &[String], what: &str) {
        wait_for(LONG, what, d, || {
            let have = stored_ids(&self.db);
            posted.iter().all(|id| have.contains_key(id)).then_some(())
        })
        .await;
    }

    /// Waits until every code in `due` was emailed and no page is pending.
    async fn all_paged(&self, d: &Daemon, due: &BTreeSet<String>, what: &str) {
        wait_for(LONG, what, d, || {
            let got: BTreeSet<String> = self.smtp.messages().iter().flat_map(codes).collect();
            (due.is_subset(&got) && outbox_state(&self.db, "pending") == 0).then_some(())
        })
        .await;
    }

    /// `/healthz`: (status, body); None when the daemon does not answer
    /// within 5 s.
    async fn healthz(&self) -> Option<(u16, String)> {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
        let r = client.get(format!("http://{}/healthz", self.http)).send().await.ok()?;
        let status = r.status().as_u16();
        Some((status, r.text().await.unwrap_or_default()))
    }
}

/// Reads straight from the file (a plain connection, no migration, no write),
/// so it works while another process holds the write lock or the disk is full.
fn query<T>(db: &Path, f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>) -> Option<T> {
    if !db.exists() {
        return None;
    }
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE).ok()?;
    conn.busy_timeout(Duration::from_secs(2)).ok()?;
    f(&conn).ok()
}

fn cursor(db: &Path, key: &str) -> Option<String> {
    query(db, |c| c.query_row("SELECT cursor FROM cursors WHERE query_key = ?1", [key], |r| r.get(0)))
}

/// platform id → how many rows store it.
fn stored_ids(db: &Path) -> BTreeMap<String, u64> {
    query(db, |c| {
        let mut st = c.prepare("SELECT platform_id, COUNT(*) FROM mentions GROUP BY platform_id")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))?;
        rows.collect::<rusqlite::Result<BTreeMap<_, _>>>()
    })
    .unwrap_or_default()
}

fn outbox_state(db: &Path, state: &str) -> u64 {
    query(db, |c| c.query_row("SELECT COUNT(*) FROM outbox WHERE state = ?1", [state], |r| r.get::<_, i64>(0))).unwrap_or(0) as u64
}

fn integrity(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    let rows: Vec<String> = conn.prepare("PRAGMA integrity_check").unwrap().query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect();
    rows.join("\n")
}

/// The mention codes (`L1-3`, `D0-x`...) an email is about.
fn codes(mail: &Received) -> Vec<String> {
    let body = mail.text_body().unwrap_or_default();
    let mut out = Vec::new();
    for word in body.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
        let b = word.as_bytes();
        if b.len() >= 4 && matches!(b[0], b'L' | b'P' | b'D' | b'F' | b'B') && b[1].is_ascii_digit() && word.contains('-') && !out.contains(&word.to_string()) {
            out.push(word.to_string());
        }
    }
    out
}

/// Each due code is in exactly one email, and no email came twice.
fn assert_paged_once(mail: &[Received], due: &BTreeSet<String>) {
    let mut emails_of: BTreeMap<String, usize> = BTreeMap::new();
    let mut ids = BTreeSet::new();
    for m in mail {
        let id = m.header("Message-ID").expect("every alert has a Message-ID");
        assert!(ids.insert(id.clone()), "the alert {id} was sent twice:\n{mail:#?}");
        for c in codes(m) {
            *emails_of.entry(c).or_default() += 1;
        }
    }
    for code in due {
        assert_eq!(emails_of.get(code), Some(&1), "{code} is paged exactly once: {emails_of:?}");
    }
}

/// An outage is said once, not once per retry (a due page that cannot be
/// queued is due again at once), and it is not blamed on the platforms: a
/// source counted failing would page "source x is not working".
fn assert_quiet(log: &str) {
    let errors: Vec<&str> = log.lines().filter(|l| l.contains(" ERROR ")).collect();
    eprintln!("{} ERROR line(s) in the daemon's log", errors.len());
    assert!(errors.len() <= 5, "a handful of ERROR lines, not one per retry:\n{}", errors.join("\n"));
    assert!(!log.contains("poll failed"), "the database's outage is not a source failure:\n{log}");
}

/// Another process holding the database's write lock: `BEGIN EXCLUSIVE` and
/// a write, until [`LockHolder::release`].
struct LockHolder {
    child: Child,
    stdin: Option<ChildStdin>,
    out: BufReader<std::process::ChildStdout>,
    tool: &'static str,
}

impl LockHolder {
    fn take(db: &Path) -> LockHolder {
        let sqlite3 = Command::new("sqlite3").arg("-version").output().is_ok_and(|o| o.status.success());
        let (mut cmd, tool, script) = if sqlite3 {
            let mut cmd = Command::new("sqlite3");
            cmd.arg(db);
            let script = ".timeout 20000\nBEGIN EXCLUSIVE;\nCREATE TABLE IF NOT EXISTS operator_scratch (note TEXT);\nINSERT INTO operator_scratch VALUES ('held by a test');\nSELECT 'locked';\n";
            (cmd, "sqlite3", script)
        } else {
            let mut cmd = Command::new("python3");
            cmd.arg("-c").arg(
                "import sqlite3, sys\n\
                 c = sqlite3.connect(sys.argv[1], timeout=20, isolation_level=None)\n\
                 c.execute('BEGIN EXCLUSIVE')\n\
                 c.execute('CREATE TABLE IF NOT EXISTS operator_scratch (note TEXT)')\n\
                 c.execute(\"INSERT INTO operator_scratch VALUES ('held by a test')\")\n\
                 print('locked', flush=True)\n\
                 sys.stdin.readline()\n\
                 c.execute('COMMIT')\n\
                 print('released', flush=True)\n",
            );
            cmd.arg(db);
            (cmd, "python3", "")
        };
        let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("starting the lock holder");
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(script.as_bytes()).unwrap();
        stdin.flush().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "locked", "{tool} took the exclusive lock");
        LockHolder { child, stdin: Some(stdin), out, tool }
    }

    fn release(mut self) {
        let mut stdin = self.stdin.take().unwrap();
        let script = if self.tool == "sqlite3" { "COMMIT;\nSELECT 'released';\n.quit\n" } else { "go\n" };
        stdin.write_all(script.as_bytes()).unwrap();
        drop(stdin);
        let mut line = String::new();
        self.out.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "released", "{} committed and let go", self.tool);
        assert!(self.child.wait().unwrap().success());
    }
}

impl Drop for LockHolder {
    fn drop(&mut self) {
        if self.stdin.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_locked_by_another_process_for_30_s_loses_nothing_and_pages_each_complaint_once() {
    let w = World::new(None).await;
    let cfg = w.config("4s");
    let mut d = w.start(&cfg);
    let db = w.db.clone();
    w.first_polls_done(&d).await;
    assert_eq!(w.healthz().await.map(|h| h.0), Some(200), "healthy before the lock");
    let mut posted: Vec<String> = Vec::new();
    let mut due: BTreeSet<String> = BTreeSet::new();

    // D0-r: paged before the lock, but the SMTP server refuses it three
    // times (451), so its fourth attempt (after ~1+2+4 s of backoff) lands
    // while the lock is held: the server accepts it and the daemon cannot
    // record it as sent. It must not be sent again.
    w.smtp.temp_fail_next(3);
    posted.push(w.x_complaint("D0-r"));
    due.insert("D0-r".into());
    // B0-d: stored before the lock, falls due (4 s) while it is held: its
    // page cannot be queued until the lock goes, then goes out once.
    posted.push(w.x_complaint("B0-d"));
    due.insert("B0-d".into());
    wait_for(LONG, "B0-d and D0-r stored", &d, || (stored_ids(&db).len() >= 2).then_some(())).await;
    wait_for(LONG, "D0-r refused three times", &d, || {
        query(&db, |c| c.query_row("SELECT MAX(attempts) FROM outbox", [], |r| r.get::<_, Option<i64>>(0))).flatten().filter(|n| *n >= 3)
    })
    .await;
    let x_cursor_before = cursor(&db, "x:search:interjet").unwrap();

    let lock = tokio::task::spawn_blocking({
        let db = db.clone();
        move || LockHolder::take(&db)
    })
    .await
    .unwrap();
    let locked_at = Instant::now();

    // While the lock is held the sources keep serving mentions, a few of
    // them complaints that are due at once when stored.
    let mut unhealthy: Option<String> = None;
    let mut round = 0;
    while locked_at.elapsed() < Duration::from_secs(30) {
        posted.push(w.x_neutral(&format!("N{round}-x")));
        if round % 3 == 0 {
            let code = format!("L{round}-x");
            posted.push(w.x_complaint(&code));
            due.insert(code);
            let code = format!("L{round}-m");
            posted.push(w.mastodon_complaint(&code));
            due.insert(code);
        }
        if unhealthy.is_none() && locked_at.elapsed() > Duration::from_secs(3) {
            // The daemon answers, and says why it is not doing its job.
            if let Some((503, body)) = w.healthz().await {
                unhealthy = Some(body);
            }
        }
        assert!(d.running(), "the daemon stays up while the database is locked:\n{}", d.log());
        round += 1;
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    let unhealthy = unhealthy.unwrap_or_else(|| panic!("/healthz said 503 during the lock\n{}", d.log()));
    assert!(unhealthy.contains("locked") && unhealthy.contains(&db.display().to_string()), "/healthz names the database and the lock: {unhealthy}");
    // Nothing got in while the lock was held: the cursor did not move past
    // what was not stored.
    assert_eq!(cursor(&db, "x:search:interjet").as_deref(), Some(x_cursor_before.as_str()), "the X cursor stays while nothing can be stored");
    tokio::task::spawn_blocking(move || lock.release()).await.unwrap();

    let log = d.log();
    let line = log
        .lines()
        .find(|l| l.contains("ERROR") && l.contains("locked") && l.contains(&db.display().to_string()))
        .unwrap_or_else(|| panic!("an ERROR line names the database and the lock:\n{log}"));
    eprintln!("the daemon said: {line}");
    assert!(!log.contains("panicked"), "no panic:\n{log}");
    assert_quiet(&log);

    // After the lock: every served mention stored exactly once, cursors at
    // the newest post, every due complaint paged once.
    w.all_stored(&d, &posted, "every mention served during the lock stored").await;
    let have = stored_ids(&db);
    assert_eq!(have.len(), posted.len(), "nothing else was stored");
    assert!(have.values().all(|n| *n == 1), "every mention stored once: {have:?}");
    let newest_tweet = posted.iter().filter(|id| w.x.tweet(id).is_some()).max_by_key(|id| id.parse::<u64>().unwrap()).unwrap().clone();
    wait_for(LONG, "the X cursor at the newest tweet", &d, || {
        let c = escucha::sources::x::Cursor::parse(&cursor(&db, "x:search:interjet")?)?;
        (c.since_id.as_deref() == Some(newest_tweet.as_str()) && c.next_token.is_none()).then_some(())
    })
    .await;
    let newest_notification = w.mastodon.notification_ids().last().cloned().unwrap();
    wait_for(LONG, "the Mastodon notifications cursor at the newest one", &d, || {
        w.mastodon_notifications_cursor().filter(|c| c.contains(&newest_notification)).map(|_| ())
    })
    .await;
    w.all_paged(&d, &due, "every due complaint paged and every page sent").await;
    assert_paged_once(&w.smtp.messages(), &due);
    assert_eq!(outbox_state(&db, "dead"), 0);
    // D0-r really took the path it was set up for.
    assert!(d.log().contains("sent but not recorded"), "D0-r's delivery fell inside the lock:\n{}", d.log());
    assert_eq!(w.healthz().await, Some((200, "ok\n".to_string())), "/healthz is 200 once the lock is gone\n{}", d.log());
    assert!(d.log().contains("database takes writes again"), "the recovery is logged:\n{}", d.log());
    assert_eq!(d.terminate(Duration::from_secs(10)), Some(0));
    assert_eq!(integrity(&db), "ok");
}

/// A tmpfs of a given size, mounted for one test and unmounted when dropped.
/// Needs root (CI runs as root); `None` when it cannot be mounted.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Result<Tmpfs, String> {
        let uid = Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default();
        if uid != "0" {
            return Err(format!("not root (uid {uid}): a tmpfs cannot be mounted"));
        }
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !out.status.success() {
            return Err(format!("mount -t tmpfs failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
        }
        Ok(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Gives the filesystem a new size (more room: space comes back).
    fn resize(&self, size: &str) {
        let out = Command::new("mount").args(["-o", &format!("remount,size={size}")]).arg(self.path()).output().unwrap();
        assert!(out.status.success(), "remount: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Writes `name` until the filesystem has no block left.
    fn fill(&self, name: &str) -> u64 {
        let mut f = std::fs::File::create(self.path().join(name)).unwrap();
        let mut written = 0u64;
        for chunk in [64 * 1024, 4096, 512, 1] {
            let buf = vec![0u8; chunk];
            loop {
                match f.write(&buf) {
                    Ok(0) => break,
                    Ok(n) => written += n as u64,
                    Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
                    Err(e) => panic!("filling the tmpfs: {e}"),
                }
            }
        }
        let _ = f.sync_all();
        written
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: a daemon still holding files open must not keep it mounted.
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

/// Posts a burst of mentions (long neutral ones and complaints, on both
/// platforms) every 300 ms for `secs` seconds; returns their ids.
async fn post_during(w: &World, phase: &str, secs: u64, due: &mut BTreeSet<String>) -> Vec<String> {
    let start = Instant::now();
    let mut ids = Vec::new();
    let mut i = 0;
    while start.elapsed() < Duration::from_secs(secs) {
        ids.push(w.x_neutral(&format!("N{i}-{phase}")));
        if i % 4 == 0 {
            let code = format!("F{i}-{phase}x");
            ids.push(w.x_complaint(&code));
            due.insert(code);
            let code = format!("F{i}-{phase}m");
            ids.push(w.mastodon_complaint(&code));
            due.insert(code);
        }
        i += 1;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    ids
}

/// Polls `/healthz` until it answers 503 (returns the body) or 200, as
/// `want`; panics with the daemon's log after `LONG`.
async fn healthz_until(w: &World, d: &Daemon, want: u16) -> String {
    let start = Instant::now();
    loop {
        if let Some((status, body)) = w.healthz().await {
            if status == want {
                return body;
            }
        }
        assert!(start.elapsed() < LONG, "/healthz never answered {want}: {:?}\n{}", w.healthz().await, d.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_full_while_ingesting_and_alerting_loses_nothing_and_recovers_when_space_returns() {
    // The database lives on a 4 MB tmpfs; the config and the daemon's log
    // live elsewhere (a full disk must not also silence the log).
    let fs = match Tmpfs::mount("4m") {
        Ok(fs) => fs,
        Err(why) => {
            eprintln!("SKIPPED disk_full_while_ingesting_and_alerting_loses_nothing_and_recovers_when_space_returns: {why}; run the tests as root (as CI does) to cover a full disk");
            return;
        }
    };
    let w = World::new(Some(fs.path().join("escucha.db"))).await;
    let cfg = w.config("5s");
    let db = w.db.clone();
    let mut d = w.start(&cfg);
    w.first_polls_done(&d).await;
    assert_eq!(w.healthz().await.map(|h| h.0), Some(200), "healthy before the disk fills");
    let mut posted = Vec::new();
    let mut due = BTreeSet::new();

    // Phase 1: the disk fills while the daemon runs, and space comes back
    // (the tmpfs grows) while it still runs.
    // B0-f is stored before, falls due during the outage: its page cannot be
    // queued then, and goes out once afterwards.
    posted.push(w.x_complaint("B0-f"));
    due.insert("B0-f".into());
    wait_for(LONG, "B0-f stored", &d, || stored_ids(&db).contains_key(&posted[0]).then_some(())).await;
    let x_cursor = cursor(&db, "x:search:interjet").unwrap();
    let mastodon_cursor = w.mastodon_notifications_cursor().unwrap();
    let filled = fs.fill("filler");
    eprintln!("filled the tmpfs with {filled} bytes");
    let stored_before = stored_ids(&db).len();
    posted.extend(post_during(&w, "a", 6, &mut due).await);
    // Every write needs a new block of the WAL, and there is none: the
    // daemon says so, keeps the pages it fetched, and does not move its
    // cursors past them.
    let body = healthz_until(&w, &d, 503).await;
    assert!(body.contains("full") && body.contains(&db.display().to_string()), "/healthz names the full disk and the database: {body}");
    let log = d.log();
    let line = log
        .lines()
        .find(|l| l.contains("ERROR") && l.contains("disk") && l.contains("full") && l.contains(&db.display().to_string()))
        .unwrap_or_else(|| panic!("an ERROR line says the disk holding the database is full:\n{log}"));
    eprintln!("the daemon said: {line}");
    assert!(d.running(), "the daemon stays up on a full disk:\n{log}");
    assert_quiet(&log);
    assert_eq!(stored_ids(&db).len(), stored_before, "nothing could be stored");
    assert_eq!(cursor(&db, "x:search:interjet"), Some(x_cursor), "the X cursor did not move past unstored mentions");
    assert_eq!(w.mastodon_notifications_cursor(), Some(mastodon_cursor), "the Mastodon cursor did not move past unstored mentions");
    assert!(w.smtp.messages().is_empty(), "B0-f could not be queued yet: {:?}", w.smtp.messages());

    fs.resize("64m");
    w.all_stored(&d, &posted, "everything served during the outage stored").await;
    w.all_paged(&d, &due, "every due complaint paged and sent").await;
    assert_eq!(healthz_until(&w, &d, 200).await, "ok\n");
    assert!(d.log().contains("the database takes writes again"), "the recovery is logged:\n{}", d.log());
    assert_eq!(integrity(&db), "ok", "no corruption after the first outage");

    // Phase 2: full again, and the daemon is killed (-9) in the middle of
    // failing writes; space comes back (the filler is deleted) and a new
    // daemon recovers the WAL and catches up from the stored cursors.
    fs.fill("filler2");
    posted.extend(post_during(&w, "b", 4, &mut due).await);
    healthz_until(&w, &d, 503).await;
    assert!(d.running(), "the daemon stays up on a full disk:\n{}", d.log());
    d.kill9();
    std::fs::remove_file(fs.path().join("filler2")).unwrap();
    let d = w.start(&cfg);
    w.all_stored(&d, &posted, "everything served during the second outage stored").await;
    w.all_paged(&d, &due, "every due complaint paged and sent").await;
    let have = stored_ids(&db);
    assert_eq!(have.len(), posted.len(), "nothing else was stored");
    assert!(have.values().all(|n| *n == 1), "every mention stored once: {have:?}");
    let newest_tweet = posted.iter().filter(|id| w.x.tweet(id).is_some()).max_by_key(|id| id.parse::<u64>().unwrap()).unwrap().clone();
    let c = escucha::sources::x::Cursor::parse(&cursor(&db, "x:search:interjet").unwrap()).unwrap();
    assert_eq!(c.since_id.as_deref(), Some(newest_tweet.as_str()), "the X cursor is at the newest tweet");
    assert_paged_once(&w.smtp.messages(), &due);
    assert_eq!(outbox_state(&db, "dead"), 0);
    drop(d);
    assert_eq!(integrity(&db), "ok", "no corruption after a crash on a full disk");
}

/// Starts the daemon with its stderr through a pipe (copied to the log file
/// by a thread): a file size limit on the daemon must not stop its log.
fn start_piped(w: &World, config: &Path) -> Daemon {
    let log_path = w.dir.path().join("daemon-piped.log");
    let mut child = Command::new(daemon::bin())
        .arg("run")
        .arg("--config")
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .env("ESCUCHA_LOG", "escucha=debug,info")
        .envs(ENV.iter().copied())
        .spawn()
        .expect("starting escucha");
    let mut err = child.stderr.take().unwrap();
    let mut log = std::fs::File::create(&log_path).unwrap();
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut err, &mut log);
    });
    Daemon { child: Some(child), log_path, config: config.to_path_buf(), db: w.db.clone() }
}

/// `prlimit` on the running daemon: its file size soft limit (the hard
/// limit stays unlimited, so that an unprivileged test can raise it again).
fn limit_file_size(pid: u32, soft: &str) -> Result<(), String> {
    let out =
        Command::new("prlimit").arg("--pid").arg(pid.to_string()).arg(format!("--fsize={soft}:unlimited")).output().map_err(|e| format!("prlimit: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("prlimit --fsize failed: {}", String::from_utf8_lossy(&out.stderr).trim()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_size_limit_reached_while_ingesting_is_reported_and_recovered_from_without_losing_anything() {
    // No root needed: a file size limit (RLIMIT_FSIZE, `ulimit -f`, systemd's
    // LimitFSIZE=) put on the running daemon at the size of its database
    // files. Writing past it raises SIGXFSZ, which the daemon handles, so the
    // write fails with EFBIG: SQLite says "disk I/O error".
    let w = World::new(None).await;
    let cfg = w.config("4s");
    let db = w.db.clone();
    let mut d = start_piped(&w, &cfg);
    w.first_polls_done(&d).await;
    let mut posted = Vec::new();
    let mut due = BTreeSet::new();
    posted.push(w.x_complaint("P0-x"));
    due.insert("P0-x".into());
    wait_for(LONG, "P0-x stored", &d, || stored_ids(&db).contains_key(&posted[0]).then_some(())).await;
    let size = |p: PathBuf| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let limit = size(db.clone()).max(size(db.with_extension("db-wal")));
    if let Err(why) = limit_file_size(d.pid(), &limit.to_string()) {
        eprintln!("SKIPPED file_size_limit_reached_while_ingesting_is_reported_and_recovered_from_without_losing_anything: {why}");
        return;
    }
    let x_cursor = cursor(&db, "x:search:interjet").unwrap();
    let stored_before = stored_ids(&db).len();
    posted.extend(post_during(&w, "r", 5, &mut due).await);
    let body = healthz_until(&w, &d, 503).await;
    assert!(body.contains("disk I/O error") && body.contains(&db.display().to_string()), "/healthz names the database and the I/O error: {body}");
    let log = d.log();
    let line = log
        .lines()
        .find(|l| l.contains("ERROR") && l.contains("file size limit") && l.contains(&db.display().to_string()))
        .unwrap_or_else(|| panic!("an ERROR line names the database and the likely causes:\n{log}"));
    eprintln!("the daemon said: {line}");
    assert!(d.running(), "SIGXFSZ did not kill the daemon:\n{log}");
    assert_quiet(&log);
    assert_eq!(stored_ids(&db).len(), stored_before, "nothing could be stored");
    assert_eq!(cursor(&db, "x:search:interjet"), Some(x_cursor), "the X cursor did not move past unstored mentions");

    limit_file_size(d.pid(), "unlimited").unwrap();
    w.all_stored(&d, &posted, "everything served under the limit stored").await;
    w.all_paged(&d, &due, "every due complaint paged and sent").await;
    let have = stored_ids(&db);
    assert_eq!(have.len(), posted.len(), "nothing else was stored");
    assert!(have.values().all(|n| *n == 1), "every mention stored once: {have:?}");
    assert_paged_once(&w.smtp.messages(), &due);
    assert_eq!(healthz_until(&w, &d, 200).await, "ok\n");
    assert_eq!(d.terminate(Duration::from_secs(10)), Some(0));
    assert_eq!(integrity(&db), "ok");
}
