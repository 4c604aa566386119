//! The Debian package, installed, run and upgraded under a real systemd.
//!
//! `packaging/build-deb.sh` packages the test build of the binary twice
//! (revisions 1 and 2, as a rebuilt release would be); inside the sandbox
//! (tests/support/sandbox.rs, needs root) the test:
//! - installs revision 1: the binary, unit, man pages, completions, docs and
//!   the example config as a conffile land where Debian expects them, and
//!   nothing starts by itself;
//! - configures it, starts the service, and from a shell runs
//!   `escucha mentions` against the service's own database;
//! - edits the config and upgrades to revision 2: the edit survives and the
//!   running service is restarted on the new binary;
//! - with a config the package refuses, reinstalls: the service is NOT
//!   restarted into a failure, the running daemon stays, and dpkg says why;
//! - removes the package: the service stops, the config and the database
//!   stay.
//!
//! Needs cargo-deb (`.ci/run` installs it); without root it says SKIPPED.

#[path = "support/fake_mastodon.rs"]
mod fake_mastodon;
#[path = "support/sandbox.rs"]
mod sandbox;

use sandbox::Sandbox;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Builds the package of the binary under test with this Debian revision.
fn build_deb(revision: u32, out: &Path) -> PathBuf {
    let deb = out.join(format!("escucha-{revision}.deb"));
    let status = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/packaging/build-deb.sh"))
        .args(["--binary", env!("CARGO_BIN_EXE_escucha"), "--fast", "--deb-revision", &revision.to_string(), "--output"])
        .arg(&deb)
        .status()
        .expect("running packaging/build-deb.sh");
    assert!(status.success(), "packaging/build-deb.sh failed ({status}); it needs cargo-deb: cargo install cargo-deb --locked --no-default-features");
    deb
}

fn config(mastodon: &str, token: &str, brands: &[&str]) -> String {
    let mut s = String::from("# edited by the operator\n[daemon]\ndatabase = \"escucha.db\"\ntimezone = \"UTC\"\n\n");
    for b in brands {
        s += &format!("[[brand]]\nid = \"{b}\"\nterms = [\"{b}\"]\n[brand.accounts]\nmastodon = \"{b}\"\n\n");
    }
    s += &format!("[source.mastodon]\ninstance = \"{mastodon}\"\naccess_token = \"{token}\"\nevery = \"1s\"\n");
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deb_installs_runs_and_upgrades_under_a_real_systemd() {
    if Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() != "0").unwrap_or(true) {
        eprintln!("SKIPPED: installing the package needs root (systemd-nspawn)");
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let (first, second) = (build_deb(1, out.path()), build_deb(2, out.path()));
    let Some(sb) = Sandbox::boot() else { return };
    let mastodon = fake_mastodon::FakeMastodon::start().await;
    let brand = mastodon.add_account("interjet", 5000);
    let token = mastodon.issue_token(&brand);
    sb.put("/root/escucha-1.deb", &std::fs::read(&first).unwrap(), 0o644);
    sb.put("/root/escucha-2.deb", &std::fs::read(&second).unwrap(), 0o644);

    // Install: everything in its place, nothing started.
    let said = sb.ok(&["dpkg", "-i", "/root/escucha-1.deb"]);
    assert!(said.contains("not started") && said.contains("systemctl enable --now escucha"), "{said}");
    for path in [
        "/usr/bin/escucha",
        "/usr/lib/systemd/system/escucha.service",
        "/usr/share/man/man1/escucha.1.gz",
        "/usr/share/man/man1/escucha-mentions.1.gz",
        "/usr/share/bash-completion/completions/escucha",
        "/usr/share/zsh/vendor-completions/_escucha",
        "/usr/share/doc/escucha/README.md",
        "/usr/share/doc/escucha/docs/systemd.md",
    ] {
        sb.ok(&["test", "-s", path]);
    }
    let conffiles = sb.ok(&["dpkg-query", "-W", "-f=${Conffiles}", "escucha"]);
    assert!(conffiles.contains("/etc/escucha/escucha.toml"), "the config is not a conffile: {conffiles}");
    assert!(sb.ok(&["cat", "/usr/lib/systemd/system/escucha.service"]).contains("ExecStart=/usr/bin/escucha run"));
    assert_eq!(sb.show("ActiveState"), "inactive", "a first install started the service");
    assert_eq!(sb.run(&["systemctl", "is-enabled", "escucha.service"]).1.trim(), "disabled");
    assert!(sb.ok(&["escucha", "--version"]).contains(env!("CARGO_PKG_VERSION")));
    sb.ok(&["escucha", "check"]);

    // Configure and start; a mention posted now is stored by the service
    // and read back by a shell command with the default config.
    let edited = config(&mastodon.base_url(), &token, &["interjet"]);
    sb.put("/etc/escucha/escucha.toml", edited.as_bytes(), 0o644);
    sb.ok(&["systemctl", "enable", "--now", "escucha.service"]);
    assert_eq!(sb.show("ActiveState"), "active", "{}", sb.journal());
    let fan = mastodon.add_account("viajera", 10);
    mastodon.post_status(&fan).text("@interjet perdieron mi maleta y nadie responde").mention(&brand).send();
    sb.wait("the shell's `escucha mentions` to show the mention", Duration::from_secs(30), || {
        sb.run(&["escucha", "mentions"]).1.contains("perdieron mi maleta")
    });
    let pid = sb.show("MainPID");

    // Upgrade with the config edited: kept as edited, service restarted.
    let said = sb.ok(&["dpkg", "-i", "/root/escucha-2.deb"]);
    assert_eq!(sb.ok(&["cat", "/etc/escucha/escucha.toml"]), edited, "the upgrade changed the edited config; dpkg said:\n{said}");
    assert!(sb.ok(&["dpkg-query", "-W", "-f=${Version}", "escucha"]).ends_with("-2"));
    sb.wait("the service active again after the upgrade", Duration::from_secs(20), || sb.show("ActiveState") == "active");
    let upgraded = sb.show("MainPID");
    assert_ne!(upgraded, pid, "the upgrade did not restart the service\n{said}");
    assert!(sb.ok(&["escucha", "mentions"]).contains("perdieron mi maleta"), "the stored mention is gone after the upgrade");

    // A config the new version refuses: dpkg finishes, says so, and the
    // running daemon is left alone rather than restarted into exit 78.
    sb.put("/etc/escucha/escucha.toml", format!("{edited}no_such_key = 1\n").as_bytes(), 0o644);
    let (ok, said) = sb.run(&["dpkg", "-i", "/root/escucha-1.deb"]);
    assert!(ok, "dpkg failed: {said}");
    assert!(said.contains("NOT restarted") && said.contains("no_such_key"), "{said}");
    assert_eq!((sb.show("ActiveState"), sb.show("MainPID")), ("active".to_string(), upgraded), "{}", sb.journal());

    // Remove: stopped; config and database stay.
    sb.put("/etc/escucha/escucha.toml", edited.as_bytes(), 0o644);
    sb.ok(&["dpkg", "-r", "escucha"]);
    assert_eq!(sb.show("ActiveState"), "inactive");
    sb.ok(&["test", "-s", "/etc/escucha/escucha.toml"]);
    sb.ok(&["test", "-s", "/var/lib/private/escucha/escucha.db"]);
}
