//! A real systemd to test against: PID 1 in systemd-nspawn, booted by
//! `tests/support/systemd-sandbox.sh` (needs root and the Debian mirror;
//! the first boot debootstraps a root file system, later ones reuse it).
//! Used by tests/systemd.rs (the unit) and tests/package.rs (the .deb).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SANDBOX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/systemd-sandbox.sh");

/// A booted sandbox: systemd as PID 1 in systemd-nspawn. Dropping it closes
/// the script's stdin, which halts the container and removes its files.
pub struct Sandbox {
    script: Child,
    leader: u32,
    root: PathBuf,
}

impl Sandbox {
    /// None (with the reason printed) where a sandbox cannot be built.
    pub fn boot() -> Option<Sandbox> {
        if Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() != "0").unwrap_or(true) {
            eprintln!("SKIPPED: the systemd sandbox needs root (systemd-nspawn)");
            return None;
        }
        let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("systemd-sandbox");
        let mut script = Command::new("bash")
            .arg(SANDBOX)
            .arg("serve")
            .env("SB_WORK", &work)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("running tests/support/systemd-sandbox.sh");
        // The first run debootstraps (a minute or two): no timeout here, the
        // script's own steps end by themselves.
        let mut first = String::new();
        BufReader::new(script.stdout.take().unwrap()).read_line(&mut first).unwrap();
        let words: Vec<&str> = first.split_whitespace().collect();
        match words.first().copied() {
            Some("SANDBOX") => Some(Sandbox { leader: words[1].parse().unwrap(), root: PathBuf::from(words[2]), script }),
            Some("SKIP") => {
                let _ = script.wait();
                eprintln!("SKIPPED: {}", first.trim_start_matches("SKIP").trim());
                None
            }
            _ => {
                let status = script.wait();
                panic!("the systemd sandbox failed: {first:?} ({status:?})");
            }
        }
    }

    /// Runs a command inside the container: (success, stdout + stderr).
    pub fn run(&self, args: &[&str]) -> (bool, String) {
        let out = Command::new("nsenter").arg("--target").arg(self.leader.to_string()).arg("--all").arg("--").args(args).output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let (ok, out) = self.run(args);
        assert!(ok, "{args:?} failed:\n{out}\n--- journal ---\n{}", self.journal());
        out
    }

    pub fn show(&self, prop: &str) -> String {
        self.ok(&["systemctl", "show", "-P", prop, "escucha.service"]).trim().to_string()
    }

    pub fn journal(&self) -> String {
        self.run(&["journalctl", "-u", "escucha.service", "--no-pager", "-o", "cat"]).1
    }

    /// Writes a file into the container's file system.
    pub fn put(&self, path: &str, contents: &[u8], mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        let p = self.root.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, contents).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    /// Polls until `f` holds, or panics with `what` and the journal.
    pub fn wait(&self, what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
        let start = Instant::now();
        while !f() {
            assert!(start.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}\n--- journal ---\n{}", self.journal());
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Journal lines written after the `mark`-th line.
    pub fn journal_since(&self, mark: usize) -> String {
        self.journal().lines().skip(mark).collect::<Vec<_>>().join("\n")
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        drop(self.script.stdin.take());
        let _ = self.script.wait();
    }
}
