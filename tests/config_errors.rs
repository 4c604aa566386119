//! Thirty broken configs, each refused by the real binary: `escucha check`
//! and `escucha run` exit 78, name the key that is wrong, and start nothing
//! (no database file appears).

#[path = "support/daemon.rs"]
mod daemon;

use daemon::escucha_within;
use std::time::Duration;

/// A valid base; each case replaces or appends lines.
const BASE: &str = r#"
[daemon]
database = "e.db"
timezone = "UTC"

[[brand]]
id = "acme"
name = "Acme"
terms = ["acme"]
respond_within = { complaint = "30m", escalation = "5m" }
oncall = "care"
[brand.accounts]
x = "acme"

[source.x]
bearer_token = "t"
every = "1m"

[smtp]
host = "127.0.0.1"
port = 2525
security = "none"
from = "Escucha <alerts@example.com>"

[[oncall]]
id = "care"
[[oncall.shift]]
when = "* * * * * *"
notify = ["ana@example.com"]
"#;

/// (what is wrong, replace this, with this, the key the message must name)
const CASES: &[(&str, &str, &str, &str)] = &[
    ("duration with words", r#"complaint = "30m""#, r#"complaint = "half an hour""#, "respond_within.complaint"),
    ("duration of the wrong type", r#"complaint = "30m""#, "complaint = 30", "respond_within.complaint"),
    ("unknown key in a brand", r#"name = "Acme""#, "name = \"Acme\"\ncolour = \"red\"", "colour"),
    ("unknown key in daemon", r#"timezone = "UTC""#, "timezone = \"UTC\"\nthreads = 4", "threads"),
    ("unknown top-level section", "[smtp]", "[mail]\nhost = \"x\"\n[smtp]", "mail"),
    ("unknown source", "[source.x]", "[source.myspace]\nurl = \"http://x\"\n[source.x]", "myspace"),
    ("bad timezone in daemon", r#"timezone = "UTC""#, r#"timezone = "Mars/Olympus""#, "daemon.timezone"),
    ("bad timezone in a shift", r#"when = "* * * * * *""#, "when = \"* * * * * *\"\ntimezone = \"Europe/Atlantis\"", "timezone"),
    ("cron with five fields", r#"when = "* * * * * *""#, r#"when = "* 9-18 * * MON-FRI""#, "when"),
    ("cron that is not cron", r#"when = "* * * * * *""#, r#"when = "every morning""#, "when"),
    ("duplicate brand ids", "[source.x]", "[[brand]]\nid = \"acme\"\nname = \"Acme 2\"\nterms = [\"acme2\"]\n[source.x]", "id"),
    ("brand without id", r#"id = "acme""#, "", "id"),
    ("executives of the wrong type", r#"name = "Acme""#, "name = \"Acme\"\nexecutives = \"boss\"", "executives"),
    ("terms of the wrong type", r#"terms = ["acme"]"#, r#"terms = "acme""#, "terms"),
    ("rota that does not exist", r#"oncall = "care""#, r#"oncall = "nobody""#, "oncall"),
    ("notify address that is not an email", r#"notify = ["ana@example.com"]"#, r#"notify = ["ana"]"#, "notify"),
    ("notify webhook that does not exist", r#"notify = ["ana@example.com"]"#, r#"notify = ["webhook:slack"]"#, "notify"),
    ("missing secret", r#"bearer_token = "t""#, "", "bearer_token"),
    ("secret from an unset variable", r#"bearer_token = "t""#, r#"bearer_token_env = "ESCUCHA_TEST_SURELY_UNSET_VARIABLE""#, "bearer_token_env"),
    ("secret file that cannot be read", r#"bearer_token = "t""#, r#"bearer_token_file = "/nonexistent/escucha/token""#, "bearer_token_file"),
    ("secret given twice", r#"bearer_token = "t""#, "bearer_token = \"t\"\nbearer_token_env = \"HOME\"", "bearer_token"),
    ("every of the wrong type", r#"every = "1m""#, "every = 60", "every"),
    ("every zero", r#"every = "1m""#, r#"every = "0s""#, "every"),
    ("smtp security unknown", r#"security = "none""#, r#"security = "ssl""#, "smtp.security"),
    ("smtp port out of range", "port = 2525", "port = 70000", "smtp.port"),
    ("smtp from not a mailbox", r#"from = "Escucha <alerts@example.com>""#, r#"from = "alerts at example""#, "smtp.from"),
    ("smtp without host", r#"host = "127.0.0.1""#, "", "smtp.host"),
    ("mastodon without instance", "[smtp]", "[source.mastodon]\nevery = \"1m\"\n[smtp]", "instance"),
    ("log format unknown", r#"timezone = "UTC""#, "timezone = \"UTC\"\nlog_format = \"xml\"", "log_format"),
    ("TOML syntax error", r#"name = "Acme""#, r#"name = "Acme"#, "TOML"),
];

#[test]
fn the_base_config_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ok.toml");
    std::fs::write(&path, BASE).unwrap();
    let (code, _out, err) = escucha_within(&["check", "--config", path.to_str().unwrap()], Duration::from_secs(20));
    assert_eq!(code, 0, "{err}");
}

#[test]
fn thirty_broken_configs_each_exit_78_and_name_the_key() {
    assert_eq!(CASES.len(), 30);
    let mut failures = Vec::new();
    for (what, from, to, key) in CASES {
        assert!(BASE.contains(from), "case {what:?}: the base has no {from:?}");
        let text = BASE.replacen(from, to, 1);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, &text).unwrap();
        for cmd in ["check", "run"] {
            // A config wrongly accepted would leave `run` running: the timeout
            // turns that into a failure instead of a hang.
            let (code, _out, err) = escucha_within(&[cmd, "--config", path.to_str().unwrap()], Duration::from_secs(20));
            if code != 78 || !err.contains(key) {
                failures.push(format!("{what} ({cmd}): exit {code}, expected 78 naming {key:?}; stderr:\n{err}"));
            }
        }
        if dir.path().join("e.db").exists() {
            failures.push(format!("{what}: a database was created although the config is invalid"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn an_empty_config_or_one_without_a_brand_exits_78_for_run_and_check() {
    for text in ["", "[daemon]\ntimezone = \"UTC\"\n"] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.toml");
        std::fs::write(&path, text).unwrap();
        for cmd in ["check", "run"] {
            let (code, _out, err) = escucha_within(&[cmd, "--config", path.to_str().unwrap()], Duration::from_secs(20));
            assert_eq!(code, 78, "{cmd} on {text:?}: {err}");
            assert!(err.contains("no [[brand]]: nothing to watch"), "{cmd}: {err}");
        }
        assert!(!dir.path().join("escucha.db").exists(), "no database for a config that watches nothing");
    }
}
