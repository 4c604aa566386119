//! escucha as a systemd service, tested three ways:
//! - the notify protocol (`READY=1`, `WATCHDOG=1`, `RELOADING=1`,
//!   `STOPPING=1`) of the real binary against a `$NOTIFY_SOCKET` this test
//!   binds: runs anywhere;
//! - the unit's hardening score from `systemd-analyze security --offline`;
//! - the unit under a real systemd (PID 1 in systemd-nspawn, booted by
//!   `tests/support/systemd-sandbox.sh`): needs root and the Debian mirror,
//!   and says why it skips when it cannot run.

#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/fake_mastodon.rs"]
mod fake_mastodon;
#[path = "support/sandbox.rs"]
mod sandbox;

use daemon::Daemon;
use sandbox::Sandbox;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const UNIT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/systemd/escucha.service");

/// A config that needs no network: one Mastodon instance on a local port
/// where nothing listens (its polls fail and are retried), no [smtp].
fn config(brands: &[&str], extra: &str) -> String {
    let mut s = String::from("[daemon]\ndatabase = \"escucha.db\"\ntimezone = \"UTC\"\n\n");
    for b in brands {
        s += &format!("[[brand]]\nid = \"{b}\"\nterms = [\"{b}\"]\n\n");
    }
    s += "[source.mastodon]\ninstance = \"http://127.0.0.1:9\"\nevery = \"1m\"\n\n";
    s += extra;
    s
}

const BAD_CONFIG: &str = "[daemon]\ndatabase = \"escucha.db\"\nno_such_key = 1\n";

// ---------------------------------------------------------------------------
// The notify protocol against a socket of our own.

/// The socket systemd would listen on, bound in a temp dir.
struct NotifySocket {
    sock: UnixDatagram,
    path: PathBuf,
}

impl NotifySocket {
    fn bind(dir: &Path) -> NotifySocket {
        let path = dir.join("notify.sock");
        let sock = UnixDatagram::bind(&path).unwrap();
        NotifySocket { sock, path }
    }

    /// The next datagram, or None after `timeout`.
    fn recv(&self, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 4096];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.sock.set_read_timeout(Some(left)).unwrap();
            match self.sock.recv(&mut buf) {
                Ok(n) => return Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => return None,
                // A socket with a read timeout is never restarted after a
                // signal handler ran (signal(7)), whatever SA_RESTART says:
                // another test's child exiting (SIGCHLD, handled by tokio)
                // lands here. Wait out the rest of the timeout.
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => panic!("reading the notify socket: {e}"),
            }
        }
    }

    /// Datagrams until one has the line `state` (returned), skipping
    /// `WATCHDOG=1` pings unless that is what is awaited.
    fn expect(&self, state: &str, timeout: Duration, daemon: &Daemon) -> String {
        let start = Instant::now();
        let mut seen = Vec::new();
        while start.elapsed() < timeout {
            let Some(msg) = self.recv(Duration::from_millis(200)) else { continue };
            if msg.lines().any(|l| l == state) {
                return msg;
            }
            seen.push(msg);
        }
        panic!("no {state} within {timeout:?}; received {seen:?}\n--- daemon log ---\n{}", daemon.log());
    }

    /// Everything that arrives within `window`, WATCHDOG pings left out.
    fn drain_states(&self, window: Duration) -> Vec<String> {
        let start = Instant::now();
        let mut out = Vec::new();
        while start.elapsed() < window {
            if let Some(m) = self.recv(Duration::from_millis(100)) {
                if m != "WATCHDOG=1" {
                    out.push(m);
                }
            }
        }
        out
    }
}

struct Notified {
    dir: tempfile::TempDir,
    socket: NotifySocket,
    config: PathBuf,
}

impl Notified {
    fn new(config_text: &str) -> Notified {
        let dir = tempfile::tempdir().unwrap();
        let socket = NotifySocket::bind(dir.path());
        let config = dir.path().join("escucha.toml");
        std::fs::write(&config, config_text).unwrap();
        Notified { dir, socket, config }
    }

    fn start(&self, envs: &[(&str, &str)]) -> Daemon {
        let sock = self.socket.path.to_str().unwrap().to_string();
        let mut all = vec![("NOTIFY_SOCKET", sock.as_str())];
        all.extend_from_slice(envs);
        Daemon::start(self.dir.path(), &self.config, &all)
    }
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()).status().unwrap().success();
    assert!(ok, "kill -{sig} {pid} failed");
}

const SHORT: Duration = Duration::from_secs(15);

#[test]
fn ready_comes_once_the_database_exists_and_sigterm_sends_stopping_and_exits_0() {
    let n = Notified::new(&config(&["interjet"], ""));
    let mut d = n.start(&[]);
    let ready = n.socket.expect("READY=1", SHORT, &d);
    assert!(d.db.exists(), "READY=1 arrived before the database {} existed", d.db.display());
    assert!(ready.contains("STATUS=watching 1 brand(s)"), "status line: {ready:?}");
    signal(d.pid(), "TERM");
    n.socket.expect("STOPPING=1", SHORT, &d);
    assert_eq!(d.terminate(Duration::from_secs(10)), Some(0), "exit status after SIGTERM\n{}", d.log());
    assert!(d.log().contains("stopped"), "no \"stopped\" in the log:\n{}", d.log());
}

#[test]
fn a_relative_database_lives_in_the_state_directory_and_secrets_come_from_credentials() {
    let x = "[source.x]\napi_base = \"http://127.0.0.1:9\"\nbearer_token_file = \"x-token\"\nevery = \"1m\"\n";
    let n = Notified::new(&config(&["interjet"], x));
    let state = n.dir.path().join("state");
    let creds = n.dir.path().join("credentials");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::create_dir_all(&creds).unwrap();
    std::fs::write(creds.join("x-token"), "s3cr3t-x-token\n").unwrap();
    let mut d = n.start(&[("STATE_DIRECTORY", state.to_str().unwrap()), ("CREDENTIALS_DIRECTORY", creds.to_str().unwrap())]);
    n.socket.expect("READY=1", SHORT, &d);
    assert!(state.join("escucha.db").exists(), "no database in $STATE_DIRECTORY\n{}", d.log());
    assert!(!n.dir.path().join("escucha.db").exists(), "the database was created next to the config, not in $STATE_DIRECTORY");
    assert_eq!(d.terminate(Duration::from_secs(10)), Some(0));
    assert!(!d.log().contains("s3cr3t-x-token"), "the token was logged:\n{}", d.log());
}

#[test]
fn a_missing_credential_is_a_config_error_exit_78_and_never_ready() {
    let x = "[source.x]\napi_base = \"http://127.0.0.1:9\"\nbearer_token_file = \"x-token\"\n";
    let n = Notified::new(&config(&["interjet"], x));
    let creds = n.dir.path().join("credentials");
    std::fs::create_dir_all(&creds).unwrap();
    let mut d = n.start(&[("CREDENTIALS_DIRECTORY", creds.to_str().unwrap())]);
    let status = wait_exit(&mut d, SHORT);
    assert_eq!(status, Some(78), "exit status\n{}", d.log());
    assert!(d.log().contains("bearer_token"), "the message does not name the key:\n{}", d.log());
    assert_eq!(n.socket.drain_states(Duration::from_millis(100)), Vec::<String>::new());
}

#[test]
fn a_bad_config_at_start_exits_78_without_ready() {
    let n = Notified::new(BAD_CONFIG);
    let mut d = n.start(&[]);
    assert_eq!(wait_exit(&mut d, SHORT), Some(78), "exit status\n{}", d.log());
    assert!(d.log().contains("no_such_key"), "the message does not name the key:\n{}", d.log());
    assert_eq!(n.socket.drain_states(Duration::from_millis(100)), Vec::<String>::new());
}

#[test]
fn watchdog_pings_arrive_when_systemd_asks_for_them() {
    let n = Notified::new(&config(&["interjet"], ""));
    let d = n.start(&[("WATCHDOG_USEC", "1000000")]);
    n.socket.expect("READY=1", SHORT, &d);
    // At half the interval: three pings well within the test's patience.
    for _ in 0..3 {
        n.socket.expect("WATCHDOG=1", Duration::from_secs(5), &d);
    }
}

#[test]
fn no_watchdog_pings_unless_systemd_asks() {
    let n = Notified::new(&config(&["interjet"], ""));
    let d = n.start(&[]);
    n.socket.expect("READY=1", SHORT, &d);
    let pings = (0..10).filter_map(|_| n.socket.recv(Duration::from_millis(200))).filter(|m| m == "WATCHDOG=1").count();
    assert_eq!(pings, 0, "WATCHDOG=1 sent without WATCHDOG_USEC\n{}", d.log());
}

#[test]
fn watchdog_pings_stop_when_a_loop_hangs() {
    let n = Notified::new(&config(&["interjet"], ""));
    let mut d = n.start(&[("WATCHDOG_USEC", "1000000"), ("ESCUCHA_TEST_HANG_AFTER", "1")]);
    n.socket.expect("READY=1", SHORT, &d);
    n.socket.expect("WATCHDOG=1", Duration::from_secs(5), &d);
    // The loop hangs after 1 s and its 1 s promise runs out: from then on
    // the daemon must stay silent, which is what lets systemd restart it.
    let start = Instant::now();
    let mut last_ping = Instant::now();
    while start.elapsed() < Duration::from_secs(6) {
        if n.socket.recv(Duration::from_millis(100)).as_deref() == Some("WATCHDOG=1") {
            last_ping = Instant::now();
        }
    }
    assert!(last_ping.elapsed() >= Duration::from_secs(2), "WATCHDOG=1 still arrives after the loop hung\n{}", d.log());
    assert!(d.log().contains("not pinging the systemd watchdog: loop test-hang is stuck"), "log:\n{}", d.log());
    assert!(d.running(), "the daemon exited by itself; only systemd should end it\n{}", d.log());
}

#[test]
fn sighup_with_a_valid_config_sends_reloading_then_ready_and_takes_it() {
    let n = Notified::new(&config(&["interjet"], ""));
    let mut d = n.start(&[]);
    n.socket.expect("READY=1", SHORT, &d);
    std::fs::write(&n.config, config(&["interjet", "aeromexico"], "")).unwrap();
    signal(d.pid(), "HUP");
    let reloading = n.socket.expect("RELOADING=1", SHORT, &d);
    // As systemd documents for Type=notify-reload: when the reload began,
    // on CLOCK_MONOTONIC (microseconds since boot: more than zero, less
    // than a year of uptime).
    let usec: u64 = reloading.lines().find_map(|l| l.strip_prefix("MONOTONIC_USEC=")).and_then(|v| v.parse().ok()).unwrap_or(0);
    assert!(usec > 0 && usec < 365 * 86_400 * 1_000_000, "RELOADING=1 without a MONOTONIC_USEC: {reloading:?}");
    let ready = n.socket.expect("READY=1", SHORT, &d);
    assert!(ready.contains("STATUS=watching 2 brand(s)"), "status after reload: {ready:?}");
    assert!(d.log().contains("config reloaded"), "log:\n{}", d.log());
    assert_eq!(d.terminate(Duration::from_secs(10)), Some(0));
}

#[test]
fn sighup_with_a_bad_config_sends_reloading_then_ready_and_keeps_running() {
    let n = Notified::new(&config(&["interjet"], ""));
    let mut d = n.start(&[]);
    n.socket.expect("READY=1", SHORT, &d);
    std::fs::write(&n.config, BAD_CONFIG).unwrap();
    signal(d.pid(), "HUP");
    n.socket.expect("RELOADING=1", SHORT, &d);
    let ready = n.socket.expect("READY=1", SHORT, &d);
    assert!(ready.contains("reload refused"), "status after a refused reload: {ready:?}");
    assert!(d.log().contains("reload refused") && d.log().contains("no_such_key"), "log:\n{}", d.log());
    assert!(d.running(), "a bad reload stopped the daemon\n{}", d.log());
    assert_eq!(d.terminate(Duration::from_secs(10)), Some(0));
}

fn wait_exit(d: &mut Daemon, within: Duration) -> Option<i32> {
    let start = Instant::now();
    let child = d.child.as_mut().unwrap();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if start.elapsed() > within {
            panic!("escucha did not exit within {within:?}\n{}", d.log());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------------------
// Hardening.

#[test]
fn the_unit_is_hardened_to_an_exposure_of_2_or_less() {
    let out = match Command::new("systemd-analyze").args(["security", "--offline=true", UNIT]).output() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("SKIPPED: systemd-analyze is not installed ({e}); cannot score the unit's hardening");
            return;
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && (stderr.contains("unrecognized option") || stderr.contains("Unknown option")) {
        eprintln!("SKIPPED: this systemd-analyze is too old for --offline (systemd < 250): {}", stderr.trim());
        return;
    }
    let line = stdout
        .lines()
        .find(|l| l.contains("Overall exposure level for escucha.service"))
        .unwrap_or_else(|| panic!("no overall exposure in:\n{stdout}\n{stderr}"));
    let score: f64 = line
        .split(':')
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("cannot read the score in {line:?}"));
    assert!(score <= 2.0, "exposure {score} > 2.0:\n{stdout}");
}

#[test]
fn every_service_directive_of_the_unit_has_a_comment_above_it() {
    let unit = std::fs::read_to_string(UNIT).unwrap();
    let mut section = "";
    let mut previous = "";
    for line in unit.lines() {
        if line.starts_with('[') {
            section = line;
        } else if section == "[Service]" && line.contains('=') && !line.starts_with('#') {
            assert!(previous.starts_with('#'), "{line:?} has no comment saying why");
        }
        previous = line;
    }
}

// ---------------------------------------------------------------------------
// Under a real systemd.

const TOKEN: &str = "sandbox-x-token-0123456789";

/// The sandbox's config: Mastodon is a fake instance on the host's loopback
/// (the container shares the host's network), read with the brand's token
/// from a credential; X points where nothing listens, its token from
/// another credential.
fn sandbox_config(brands: &[&str], mastodon: &str) -> String {
    let mut s = String::from("[daemon]\ndatabase = \"escucha.db\"\ntimezone = \"UTC\"\n\n");
    for b in brands {
        s += &format!("[[brand]]\nid = \"{b}\"\nterms = [\"{b}\"]\n[brand.accounts]\nmastodon = \"{b}\"\n\n");
    }
    s += &format!("[source.mastodon]\ninstance = \"{mastodon}\"\naccess_token_file = \"mastodon-token\"\nevery = \"1s\"\n\n");
    // Nothing listens on port 9: X fails, and after 2 s says so at ERROR.
    s += "[source.x]\napi_base = \"http://127.0.0.1:9\"\nbearer_token_file = \"x-token\"\nevery = \"1m\"\nunhealthy_after = \"2s\"\n";
    s
}

// Multi-threaded: the fake Mastodon serves on the workers while the test
// thread blocks on the sandbox's commands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unit_runs_under_a_real_systemd() {
    let Some(sb) = Sandbox::boot() else { return };
    let started = Instant::now();
    let mastodon = fake_mastodon::FakeMastodon::start().await;
    let brand = mastodon.add_account("interjet", 5000);
    let mastodon_token = mastodon.issue_token(&brand);
    let url = mastodon.base_url();
    sb.put("/usr/local/bin/escucha", &std::fs::read(env!("CARGO_BIN_EXE_escucha")).unwrap(), 0o755);
    sb.put("/etc/systemd/system/escucha.service", &std::fs::read(UNIT).unwrap(), 0o644);
    sb.put("/etc/escucha/escucha.toml", sandbox_config(&["interjet"], &url).as_bytes(), 0o644);
    // The secret is root-only: the dynamic user reads it only as a credential.
    sb.put("/etc/escucha/x-token", format!("{TOKEN}\n").as_bytes(), 0o600);
    sb.put("/etc/escucha/mastodon-token", format!("{mastodon_token}\n").as_bytes(), 0o600);
    sb.put(
        "/etc/systemd/system/escucha.service.d/credentials.conf",
        b"[Service]\nLoadCredential=x-token:/etc/escucha/x-token\nLoadCredential=mastodon-token:/etc/escucha/mastodon-token\n",
        0o644,
    );
    sb.ok(&["systemctl", "daemon-reload"]);

    // Type=notify: `systemctl start` returns once READY=1 arrived.
    sb.ok(&["systemctl", "start", "escucha.service"]);
    assert_eq!((sb.show("ActiveState"), sb.show("SubState")), ("active".into(), "running".into()), "{}", sb.journal());
    let pid = sb.show("MainPID");

    // DynamicUser + StateDirectory: the database exists, owned by the
    // service's transient user.
    let uid = sb.ok(&["ps", "-o", "uid=", "-p", &pid]).trim().to_string();
    let owner = sb.ok(&["stat", "-c", "%u %U", "/var/lib/private/escucha/escucha.db"]);
    assert_eq!(owner.split_whitespace().next(), Some(uid.as_str()), "database owner {owner:?}, service uid {uid}");
    assert!(owner.contains("escucha"), "not owned by the dynamic user 'escucha': {owner:?}");
    let uid: u32 = uid.parse().unwrap();
    assert!((61184..=65519).contains(&uid), "uid {uid} is not a dynamic user");
    // LoadCredential: the daemon started with the X token from the
    // credential (a missing one is a config error), and never logged it.
    let journal = sb.journal();
    let sources = journal.split("sources=").nth(1).and_then(|r| r.split_whitespace().next()).unwrap_or("");
    assert!(sources.split(',').any(|s| s == "x"), "the X source did not start:\n{journal}");
    sb.ok(&["test", "-f", "/run/credentials/escucha.service/x-token"]);
    // Outbound TCP through the hardening, with the credential's token (the
    // fake refuses any other): a mention posted now is stored.
    let fan = mastodon.add_account("viajera", 10);
    mastodon.post_status(&fan).text("@interjet llevo dos horas sin respuesta").mention(&brand).send();
    sb.wait("the mention to be stored (\"page stored\")", Duration::from_secs(30), || sb.journal().contains("page stored"));
    assert!(!sb.journal().contains(TOKEN) && !sb.journal().contains(&mastodon_token), "a token is in the journal");

    // Priorities reach the journal: `journalctl -p err` shows the failing
    // source and none of the INFO lines, `-p warning` the failed polls.
    let at = |p: &str| sb.run(&["journalctl", "-u", "escucha.service", "-p", p, "--no-pager", "-o", "cat"]).1;
    sb.wait("an ERROR line under journalctl -p err", Duration::from_secs(30), || at("err").contains("source is not working"));
    let errors = at("err");
    assert!(!errors.contains("escucha started") && !errors.contains("page stored"), "INFO lines at priority err:\n{errors}");
    assert!(at("warning").contains("poll failed"), "{}", at("warning"));

    // Reload with a new brand: taken.
    let mark = sb.journal().lines().count();
    sb.put("/etc/escucha/escucha.toml", sandbox_config(&["interjet", "aeromexico"], &url).as_bytes(), 0o644);
    sb.ok(&["systemctl", "reload", "escucha.service"]);
    sb.wait("\"config reloaded\" in the journal", Duration::from_secs(20), || sb.journal_since(mark).contains("config reloaded"));
    assert!(sb.journal_since(mark).contains("brands=2"), "{}", sb.journal_since(mark));
    assert_eq!(sb.show("ActiveState"), "active");
    assert_eq!(sb.show("MainPID"), pid, "a reload restarted the process");

    // Reload with a bad config: `systemctl reload` itself fails (the unit
    // checks the config before signalling), and the old config runs on.
    sb.put("/etc/escucha/escucha.toml", BAD_CONFIG.as_bytes(), 0o644);
    let (reloaded, out) = sb.run(&["systemctl", "reload", "escucha.service"]);
    assert!(!reloaded, "systemctl reload succeeded with a bad config: {out}");
    sb.wait("the unit back to active after the refused reload", Duration::from_secs(10), || sb.show("ActiveState") == "active");
    assert_eq!(sb.show("MainPID"), pid, "a refused reload restarted the process");
    assert!(sb.journal().contains("no_such_key"), "check's message is in the journal:\n{}", sb.journal());

    // Clean stop: exit 0, "stopped" in the journal.
    sb.put("/etc/escucha/escucha.toml", sandbox_config(&["interjet"], &url).as_bytes(), 0o644);
    sb.ok(&["systemctl", "stop", "escucha.service"]);
    assert_eq!(sb.show("ActiveState"), "inactive", "{}", sb.journal());
    assert_eq!((sb.show("ExecMainStatus"), sb.show("Result")), ("0".into(), "success".into()));
    assert!(sb.journal().lines().any(|l| l.trim() == "stopped" || l.ends_with(" stopped")), "{}", sb.journal());

    // A bad config at start: exit 78, failed, and no restart loop.
    sb.put("/etc/escucha/escucha.toml", BAD_CONFIG.as_bytes(), 0o644);
    let (ok, out) = sb.run(&["systemctl", "start", "escucha.service"]);
    assert!(!ok, "starting with a bad config succeeded: {out}");
    sb.wait("the unit to settle after the bad start", Duration::from_secs(20), || sb.show("ActiveState") != "activating");
    assert_eq!(sb.show("ActiveState"), "failed", "a bad config must not be restarted\n{}", sb.journal());
    assert_eq!((sb.show("ExecMainStatus"), sb.show("NRestarts")), ("78".into(), "0".into()));
    sb.ok(&["systemctl", "reset-failed", "escucha.service"]);

    // Watchdog: a loop that hangs stops the pings; systemd restarts escucha.
    sb.put("/etc/escucha/escucha.toml", sandbox_config(&["interjet"], &url).as_bytes(), 0o644);
    sb.put("/etc/systemd/system/escucha.service.d/hang.conf", b"[Service]\nWatchdogSec=2s\nRestartSec=1s\nEnvironment=ESCUCHA_TEST_HANG_AFTER=2\n", 0o644);
    sb.ok(&["systemctl", "daemon-reload"]);
    sb.ok(&["systemctl", "start", "escucha.service"]);
    sb.wait("a watchdog restart (NRestarts >= 1)", Duration::from_secs(60), || sb.show("NRestarts").parse::<u32>().unwrap_or(0) >= 1);
    let journal = sb.journal();
    assert!(journal.contains("loop test-hang is stuck"), "{journal}");
    assert!(journal.to_lowercase().contains("watchdog timeout"), "systemd did not report a watchdog timeout:\n{journal}");
    sb.ok(&["systemctl", "stop", "escucha.service"]);
    eprintln!("systemd sandbox steps took {:?}", started.elapsed());
}
