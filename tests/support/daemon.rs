//! Starting the real `escucha` binary in tests: a temp dir with a config and
//! a database, the process with its captured log, and polling helpers that
//! wait for the database to show something (never a bare sleep).

#![allow(dead_code)]

use escucha::model::Mention;
use escucha::store::{MentionFilter, Store};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_escucha")
}

pub struct Daemon {
    pub child: Option<Child>,
    pub log_path: PathBuf,
    pub config: PathBuf,
    pub db: PathBuf,
}

impl Daemon {
    /// Starts `escucha run --config <config>` with its stderr in a file.
    pub fn start(dir: &Path, config: &Path, envs: &[(&str, &str)]) -> Daemon {
        let n = std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
        let log_path = dir.join(format!("daemon-{n}.log"));
        let log = std::fs::File::create(&log_path).unwrap();
        let mut cmd = Command::new(bin());
        cmd.arg("run").arg("--config").arg(config).stdout(Stdio::null()).stderr(log).env("ESCUCHA_LOG", "escucha=debug,info");
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("starting escucha");
        Daemon { child: Some(child), log_path, config: config.to_path_buf(), db: dir.join("escucha.db") }
    }

    pub fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log_path) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// True while the process has not exited.
    pub fn running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill(); // SIGKILL
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait; returns the exit status code.
    pub fn terminate(&mut self, within: Duration) -> Option<i32> {
        let mut c = self.child.take()?;
        unsafe_kill(c.id(), 15);
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = c.try_wait() {
                return status.code();
            }
            if start.elapsed() > within {
                let _ = c.kill();
                let _ = c.wait();
                panic!("escucha did not stop within {within:?} after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn unsafe_kill(pid: u32, sig: i32) {
    let _ = Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()).status();
}

/// Polls `f` every 50 ms until it returns Some, or panics after `timeout`
/// with `what` and the daemon's log.
pub async fn wait_for<T>(timeout: Duration, what: &str, daemon: &Daemon, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for {what}\n--- daemon log ---\n{}", daemon.log());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Where the Mastodon source keeps its notifications cursor: one key per
/// instance, or one per brand.
pub const MASTODON_NOTIFICATIONS: [&str; 2] = ["mastodon:notifications", "mastodon:notifications:interjet"];

/// Waits for the first poll of each query key (its cursor is stored): from
/// then on, new posts are live mentions, not history.
pub async fn first_polls(timeout: Duration, daemon: &Daemon, db: &Path, keys: &[&str]) {
    for key in keys {
        wait_for(timeout, &format!("the first poll of {key}"), daemon, || cursor(db, key)).await;
    }
}

/// Waits for the first X search of Interjet and the first Mastodon
/// notifications poll.
pub async fn first_x_and_mastodon_polls(timeout: Duration, daemon: &Daemon, db: &Path) {
    wait_for(timeout, "the first X poll", daemon, || cursor(db, "x:search:interjet")).await;
    wait_for(timeout, "the first Mastodon notifications poll", daemon, || mastodon_notifications_cursor(db)).await;
}

/// The Mastodon notifications cursor, under whichever key it is.
pub fn mastodon_notifications_cursor(db: &Path) -> Option<String> {
    MASTODON_NOTIFICATIONS.iter().find_map(|k| cursor(db, k))
}

/// All mentions in the database (empty if it does not exist yet).
pub fn mentions(db: &Path) -> Vec<Mention> {
    if !db.exists() {
        return vec![];
    }
    match Store::open(db) {
        Ok(s) => s.mentions(&MentionFilter::default()).unwrap_or_default(),
        Err(_) => vec![],
    }
}

pub fn cursor(db: &Path, key: &str) -> Option<String> {
    if !db.exists() {
        return None;
    }
    Store::open(db).ok()?.cursor(key).ok()?.map(|c| c.cursor)
}

/// Runs an `escucha` subcommand to completion: (exit code, stdout, stderr).
pub fn escucha(args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut cmd = Command::new(bin());
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).stdin(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    {
        use std::io::Write;
        let mut sin = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            sin.write_all(s.as_bytes()).unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

/// How many outbox rows are in `state` (pending, sent, dead, resolved).
pub fn outbox(db: &Path, state: &str) -> u64 {
    if !db.exists() {
        return 0;
    }
    let Ok(s) = Store::open(db) else { return 0 };
    s.outbox_counts().unwrap_or_default().into_iter().find(|(k, _)| k == state).map(|(_, n)| n).unwrap_or(0)
}

/// Like [`escucha`] without stdin, but kills the process after `limit`
/// (exit code -9 then), so a command that should have failed cannot hang.
pub fn escucha_within(args: &[&str], limit: Duration) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (dir.path().join("out"), dir.path().join("err"));
    let mut child = Command::new(bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let code = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status.code().unwrap_or(-1);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break -9;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (code, std::fs::read_to_string(&out_path).unwrap_or_default(), std::fs::read_to_string(&err_path).unwrap_or_default())
}
