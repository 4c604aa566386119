//! The daemon's log never shows a secret. Each test runs a full scenario
//! with every secret configured (X bearer token, Mastodon access token, SMTP
//! password against a server that requires AUTH, ack secret), including the
//! error paths that tend to echo requests (5xx, HTML pages, a refused token,
//! a deferred SMTP delivery), at debug level for every crate, then greps the
//! whole log for each secret and its base64 forms (SMTP AUTH sends them so).
//! In json format every line must also be a JSON object.

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
use fake_mastodon::FakeMastodon;
use fake_x::{FakeX, NewTweet};
use smtp::SmtpServer;
use std::time::Duration;
use world::{q, ConfigToml};

const LONG: Duration = Duration::from_secs(30);
const X_TOKEN: &str = "AAAAxSecretBearer0f7c2e9d41";
const SMTP_USER: &str = "alerts@example.com";
const SMTP_PASSWORD: &str = "smtp-Secret-Pass-5a81c";
const ACK_SECRET: &str = "ack-Secret-Hmac-93be10";

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

async fn scenario(log_format: &str) -> String {
    let x = FakeX::start().await;
    x.set_token(X_TOKEN);
    let mastodon = FakeMastodon::start().await;
    let brand = mastodon.add_account("interjet", 5000);
    let m_token = mastodon.issue_token(&brand);
    let smtp = SmtpServer::start().await;
    smtp.require_auth(SMTP_USER, SMTP_PASSWORD);
    let dir = tempfile::tempdir().unwrap();
    // Every secret comes from the environment.
    let config = ConfigToml::new()
        .daemon("escucha.db")
        .set("daemon", "log_format", log_format)
        .set("daemon", "public_url", "https://escucha.example.com")
        .set("daemon", "ack_secret_env", "TEST_ACK_SECRET")
        .interjet("1s", "1s", &[("x", "Interjet_mx"), ("mastodon", "interjet")])
        .section("[source.x]", &format!("api_base = {}\nbearer_token_env = \"TEST_X_TOKEN\"\nevery = \"1s\"", q(&x.base_url())))
        .section("[source.mastodon]", &format!("instance = {}\naccess_token_env = \"TEST_MASTODON_TOKEN\"\nevery = \"1s\"", q(&mastodon.base_url())))
        .smtp(smtp.port())
        .set("smtp", "username", SMTP_USER)
        .set("smtp", "password_env", "TEST_SMTP_PASSWORD")
        .oncall(&["guardia@example.com"])
        .write(dir.path());
    let envs = [
        ("TEST_X_TOKEN", X_TOKEN),
        ("TEST_MASTODON_TOKEN", m_token.as_str()),
        ("TEST_SMTP_PASSWORD", SMTP_PASSWORD),
        ("TEST_ACK_SECRET", ACK_SECRET),
        // Every crate at debug: HTTP and TLS libraries included.
        ("ESCUCHA_LOG", "debug"),
    ];
    let mut d = Daemon::start(dir.path(), &config, &envs);
    let db = dir.path().join("escucha.db");
    first_x_and_mastodon_polls(LONG, &d, &db).await;

    // Error paths that might echo a request: server errors, a portal page.
    x.fail_next(fake_x::Failure::ServerError(500));
    x.fail_next(fake_x::Failure::HtmlErrorPage);
    mastodon.fail_next(fake_mastodon::Failure::ServerError(502));
    smtp.temp_fail_next(1);
    x.add_tweet(NewTweet::new("maria", "@Interjet_mx perdieron mi maleta y nadie responde, pésimo servicio").lang(Some("es")));
    let author = mastodon.add_account("jorge", 10);
    mastodon.post_status(&author).text("@interjet my flight was cancelled and nobody answers, terrible service").mention(&brand).language("en").send();
    let mail = wait_for(Duration::from_secs(60), "two alerts", &d, || {
        let m = smtp.messages();
        (m.len() >= 2).then_some(m)
    })
    .await;
    assert!(mail.iter().all(|m| m.auth_user.as_deref() == Some(SMTP_USER)), "every message went through an authenticated session");
    assert!(d.log().contains("alert delivery failed; will retry"), "the 451 was retried (and logged):\n{}", d.log());
    assert_eq!(mentions(&db).len(), 2);
    // Finally a refused token: the 401 path logs the platform's answer.
    mastodon.fail_next(fake_mastodon::Failure::Unauthorized);
    wait_for(LONG, "the refused Mastodon token", &d, || d.log().contains("source disabled").then_some(())).await;
    assert_eq!(d.terminate(Duration::from_secs(10)), Some(0));
    let log = d.log();
    assert!(log.lines().count() > 20, "a real log to search:\n{log}");
    let secrets = [
        X_TOKEN.to_string(),
        m_token.clone(),
        SMTP_PASSWORD.to_string(),
        ACK_SECRET.to_string(),
        base64(SMTP_PASSWORD.as_bytes()),
        base64(format!("\0{SMTP_USER}\0{SMTP_PASSWORD}").as_bytes()),
        base64(X_TOKEN.as_bytes()),
    ];
    for s in &secrets {
        assert!(!log.contains(s.as_str()), "the log shows the secret {s:?}:\n{log}");
        // A prefix long enough to identify it (a "masked" token that keeps
        // most of it is still a leak).
        let head = &s[..s.len() * 2 / 3];
        assert!(!log.contains(head), "the log shows most of the secret {s:?}:\n{log}");
    }
    log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_logs_never_show_a_token_or_password() {
    let log = scenario("text").await;
    assert!(log.contains("alert sent"), "{log}");
    assert!(!log.trim_start().starts_with('{'), "text format is not JSON");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_never_show_a_token_or_password_and_every_line_is_a_json_object() {
    let log = scenario("json").await;
    let mut messages = Vec::new();
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(v["level"].is_string() && v["timestamp"].is_string(), "{line}");
        messages.push(v["fields"]["message"].as_str().unwrap_or_default().to_string());
    }
    assert!(messages.iter().any(|m| m == "alert sent"), "{messages:?}");
}

/// Under journald (`JOURNAL_STREAM` set, as systemd sets it when stderr is
/// the journal) every line starts with its sd-daemon priority, so that
/// `journalctl -p warning` finds the warnings: `<6>` info, `<4>` warning.
/// A poll to a port nobody listens on gives a warning that names the host
/// and the cause.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_journald_each_line_carries_its_priority() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = ConfigToml::new()
        .daemon("escucha.db")
        .interjet("30m", "5m", &[])
        .oncall(&["guardia@example.com"])
        .hackernews(&format!("http://127.0.0.1:{port}"))
        .write(dir.path());
    let d = Daemon::start(dir.path(), &config, &[("JOURNAL_STREAM", "8:4242"), ("ESCUCHA_LOG", "info")]);
    let log = wait_for(LONG, "a poll failure in the log", &d, || {
        let log = d.log();
        log.contains("poll failed").then_some(log)
    })
    .await;
    let started = log.lines().find(|l| l.contains("escucha started")).unwrap_or_else(|| panic!("{log}"));
    assert!(started.starts_with("<6>"), "{started}");
    let failed = log.lines().find(|l| l.contains("poll failed")).unwrap();
    assert!(failed.starts_with("<4>"), "{failed}");
    assert!(failed.contains("request to 127.0.0.1 failed") && failed.to_lowercase().contains("connection refused"), "{failed}");
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        assert!(line.starts_with('<') && line.as_bytes().get(2) == Some(&b'>'), "every line has a priority: {line}");
    }
}
