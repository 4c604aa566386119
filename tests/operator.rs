//! Commands an operator reaches for in the first week: `escucha
//! test-alert` (through the configured SMTP server, over TCP) and `escucha
//! outbox` (what is waiting, what was dead-lettered and why, and putting
//! one back in line).

#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/smtp.rs"]
mod smtp;

use daemon::escucha;
use escucha::model::{Class, Platform};
use escucha::store::{NewMention, PagedMention, PlannedPage, Queue, Store};
use smtp::SmtpServer;

fn config(dir: &std::path::Path, smtp_port: Option<u16>) -> std::path::PathBuf {
    let smtp = smtp_port
        .map(|p| format!("\n[smtp]\nhost = \"127.0.0.1\"\nport = {p}\nsecurity = \"none\"\nfrom = \"Escucha <alerts@example.com>\"\n"))
        .unwrap_or_default();
    let text = format!("[daemon]\ndatabase = \"escucha.db\"\n\n[[brand]]\nid = \"acme\"\nname = \"Acme\"\nterms = [\"acme\"]\n{smtp}");
    let path = dir.join("escucha.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_alert_goes_through_the_smtp_server_and_says_so_and_fails_loudly_without_one() {
    let smtp = SmtpServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), Some(smtp.port()));
    let (code, out, err) =
        tokio::task::spawn_blocking(move || escucha(&["test-alert", "--to", "guardia@example.com", "--config", cfg.to_str().unwrap()], None)).await.unwrap();
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("accepted the test alert for guardia@example.com"), "{out}");
    let got = smtp.wait_for(1, std::time::Duration::from_secs(10)).await;
    assert_eq!(got[0].subject().as_deref(), Some("escucha: test alert"));
    // What a page looks like, from the configured templates, marked as an example.
    let (text, html) = (got[0].text_body().unwrap(), got[0].html_body().unwrap());
    assert!(text.contains("an example page (not a real complaint") && text.contains("escucha ack 42"), "{text}");
    assert!(html.contains(">Acknowledge</a>") && html.contains("an example page"), "{html}");
    assert!(!dir.path().join("escucha.db").exists(), "a test alert needs no database and makes none");

    // A refused recipient is reported with the server's words.
    smtp.reject_rcpt("nadie@example.com");
    let cfg = config(dir.path(), Some(smtp.port()));
    let (code, _, err) =
        tokio::task::spawn_blocking(move || escucha(&["test-alert", "--to", "nadie@example.com", "--config", cfg.to_str().unwrap()], None)).await.unwrap();
    assert_ne!(code, 0);
    assert!(err.contains("test alert to nadie@example.com failed") && err.contains("550"), "{err}");

    // Without [smtp] an address only reaches the log: say so, exit non-zero.
    let cfg = config(dir.path(), None);
    let (code, _, err) =
        tokio::task::spawn_blocking(move || escucha(&["test-alert", "--to", "guardia@example.com", "--config", cfg.to_str().unwrap()], None)).await.unwrap();
    assert_ne!(code, 0);
    assert!(err.contains("no [smtp] section"), "{err}");
}

#[test]
fn outbox_lists_dead_letters_with_their_error_and_retry_puts_one_back() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), None);
    let store = Store::open(&dir.path().join("escucha.db")).unwrap();
    let now = chrono::Utc::now();
    let m = NewMention {
        brand: "acme".into(),
        platform: Platform::X,
        platform_id: "1".into(),
        url: String::new(),
        author: "ana".into(),
        author_id: "1".into(),
        author_followers: None,
        text: "acme no funciona".into(),
        lang: None,
        class: Class::Complaint,
        score: 0.9,
        reasons: vec![],
        created_at: now,
        deadline: Some(now),
        history: false,
        reposts: 0,
        conversation_id: None,
        in_reply_to_id: None,
        rating: None,
    };
    let id = store.commit_page("q", now, &[m], &[], "c", now).unwrap().inserted[0];
    store
        .enqueue_pages(
            &[PlannedPage { recipient: "nadie@example.com".into(), brand: "acme".into(), step: 0, mention_ids: vec![id], not_before: None }],
            &[PagedMention { id, step: 0, next_page_at: None }],
            now,
        )
        .unwrap();
    let row = store.pending_outbox(now).unwrap()[0].id;
    store.dead(Queue::Outbox, row, "550 5.1.1 no such user").unwrap();
    let c = cfg.to_str().unwrap();
    let (code, out, err) = escucha(&["outbox", "--config", c], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("alert {row} dead to nadie@example.com mentions [{id}]")) && out.contains("last error: 550 5.1.1 no such user"), "{out}");
    let (code, out, err) = escucha(&["outbox", "retry", &row.to_string(), "--config", c], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("back in line"), "{out}");
    let (_, json, _) = escucha(&["outbox", "--json", "--config", c], None);
    let list: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(list[0]["state"], "pending", "{json}");
    let (code, _, err) = escucha(&["outbox", "retry", &row.to_string(), "--config", c], None);
    assert_ne!(code, 0, "a row that is not dead cannot be retried");
    assert!(err.contains("no dead-lettered page"), "{err}");
}

#[test]
fn shell_commands_never_make_a_second_database_and_say_which_path_they_tried() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), None);
    let db = dir.path().join("escucha.db");
    for args in [&["mentions"][..], &["ack", "1"], &["stats"], &["silences"], &["outbox"], &["backup", "/tmp/never.db"]] {
        let mut a = args.to_vec();
        a.extend(["--config", cfg.to_str().unwrap()]);
        let (code, _, err) = escucha(&a, None);
        assert_ne!(code, 0, "{args:?} answered from a database that does not exist");
        assert!(err.contains(&format!("the database {} does not exist", db.display())) && err.contains("escucha run"), "{args:?}: {err}");
        assert!(!db.exists(), "{args:?} created {}", db.display());
    }
    // The service's config: a relative database is the service's, in its
    // state directory, for a shell as for systemd.
    assert_eq!(escucha::config::state_dir_for(std::path::Path::new("/etc/escucha")), std::path::PathBuf::from("/var/lib/escucha"));
    assert_eq!(escucha::config::state_dir_for(dir.path()), dir.path());
}

#[path = "support/fake_hackernews.rs"]
mod fake_hackernews;

/// What the running daemon serves on /metrics passes `promtool check
/// metrics` (Debian's `prometheus` package, installed by .ci/run), and
/// follows Prometheus practice: a build_info, counters at 0 for every
/// configured source and channel, duration histograms, timestamps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_pass_promtool_and_show_every_configured_source_and_channel() {
    let hn = fake_hackernews::FakeHackerNews::start().await;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let text = format!(
        "[daemon]\ndatabase = \"escucha.db\"\nhttp = \"127.0.0.1:{port}\"\n\n[[brand]]\nid = \"acme\"\nname = \"Acme\"\nterms = [\"acme\"]\n\n\
         [source.hackernews]\napi_base = {:?}\nevery = \"1s\"\n\n[[webhook]]\nid = \"chat\"\nkind = \"slack\"\nurl = \"http://127.0.0.1:9/hook\"\n",
        hn.base_url()
    );
    let cfg = dir.path().join("escucha.toml");
    std::fs::write(&cfg, text).unwrap();
    let mut d = daemon::Daemon::start(dir.path(), &cfg, &[]);
    let url = format!("http://127.0.0.1:{port}/metrics");
    // The poll is counted when its page arrives, the round's success when its
    // state is stored a moment later: wait for both.
    let body = daemon::wait_for(std::time::Duration::from_secs(30), "a poll and its round's success in /metrics", &d, || {
        let body = tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(async { reqwest::get(&url).await.ok()?.text().await.ok() }))?;
        let polled = body.contains("escucha_polls_total{source=\"hackernews\"} ") && !body.contains("escucha_polls_total{source=\"hackernews\"} 0");
        (polled && body.contains("escucha_source_last_success_timestamp_seconds{source=\"hackernews\"}")).then_some(body)
    })
    .await;
    for want in [
        "escucha_build_info{version=\"",
        "escucha_alerts_sent_total{channel=\"webhook:chat\"} 0",
        "escucha_alerts_dead_lettered_total{channel=\"log\"} 0",
        "escucha_poll_errors_total{source=\"hackernews\"} 0",
        "# TYPE escucha_poll_duration_seconds histogram",
        "escucha_poll_duration_seconds_bucket{source=\"hackernews\",le=\"+Inf\"}",
        "escucha_delivery_duration_seconds_count{channel=\"webhook:chat\"} 0",
        "# TYPE escucha_mentions_ingested_total counter",
        "escucha_source_last_success_timestamp_seconds{source=\"hackernews\"}",
    ] {
        assert!(body.contains(want), "/metrics lacks {want}:\n{body}");
    }
    let mut promtool = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package) is needed: apt-get install -y prometheus, as .ci/run does");
    {
        use std::io::Write;
        promtool.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
    }
    let out = promtool.wait_with_output().unwrap();
    assert!(out.status.success(), "promtool check metrics: {}{}\n{body}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(d.terminate(std::time::Duration::from_secs(10)), Some(0));
}

#[test]
fn init_writes_a_starter_config_that_checks_and_never_overwrites_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conf/escucha.toml");
    let p = path.to_str().unwrap();
    let (code, out, err) = escucha(&["init", "--brand", "Café Olé", "--terms", "cafe ole,@cafeole", "--email", "guardia@example.com", "--out", p], None);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("escucha check --config") && out.contains("escucha test-alert --to guardia@example.com"), "says what to run next: {out}");
    let (code, out, err) = escucha(&["check", "--config", p], None);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("cafe-ole"), "{out}");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("terms = [\"cafe ole\", \"@cafeole\"]") && text.contains("notify = [\"guardia@example.com\"]"), "{text}");
    let (code, _, err) = escucha(&["init", "--brand", "Otra", "--email", "x@example.com", "--out", p], None);
    assert_ne!(code, 0);
    assert!(err.contains("exists") && err.contains("never overwrites"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "the first config is untouched");
}

/// Man pages and completions come from the same clap definition as the
/// binary: a command added later appears in both without anyone editing
/// them (the Debian package ships what these print).
#[test]
fn man_pages_and_completions_cover_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = escucha(&["man", dir.path().to_str().unwrap()], None);
    assert_eq!(code, 0, "{out}{err}");
    let (_, help, _) = escucha(&["--help"], None);
    let commands: Vec<&str> = help
        .split("Commands:")
        .nth(1)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .take_while(|w| !w.ends_with(':'))
        .filter(|w| *w != "help")
        .collect();
    assert!(commands.len() >= 15, "{help}");
    for c in &commands {
        let page = std::fs::read_to_string(dir.path().join(format!("escucha-{c}.1"))).unwrap_or_else(|_| panic!("no man page for {c}"));
        // roff writes a hyphen as \-.
        assert!(page.contains(".SH SYNOPSIS") && page.contains(&format!("escucha {}", c.replace('-', "\\-"))), "{c}: {page}");
    }
    assert!(dir.path().join("escucha-outbox-retry.1").exists() && dir.path().join("escucha-token-create.1").exists());
    assert!(!dir.path().join("escucha-man.1").exists(), "the hidden command has no page");
    for shell in ["bash", "zsh", "fish"] {
        let (code, script, err) = escucha(&["completions", shell], None);
        assert_eq!(code, 0, "{err}");
        for c in &commands {
            assert!(script.contains(c), "{shell} completions lack {c}");
        }
    }
}
