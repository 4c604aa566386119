//! The daemon's HTTP server, in process: `http::serve` over a real SQLite
//! file, a manual clock and the daemon's `Shared` state, on a loopback port.
//! Covers /healthz, /metrics (parsed line by line) and the ack link's
//! whole life: shown, accepted once, refused when altered or expired, and
//! harmless when replayed; and the same for the "not a complaint" link.

use escucha::clock::{Clock, ManualClock};
use escucha::daemon::Shared;
use escucha::model::{Class, Platform, Status};
use escucha::store::{NewMention, Store};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

const SECRET: &str = "http-test-secret";

struct App {
    _dir: tempfile::TempDir,
    shared: Arc<Shared>,
    clock: ManualClock,
    base: String,
    http: reqwest::Client,
    cancel: CancellationToken,
}

impl Drop for App {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

impl App {
    async fn start() -> App {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("escucha.toml");
        std::fs::write(
            &path,
            format!(
                r#"
[daemon]
database = "escucha.db"
http = "127.0.0.1:0"
public_url = "https://escucha.example.com"
ack_secret = "{SECRET}"

[[brand]]
id = "interjet"
name = "Interjet <Airlines>"
terms = ["interjet"]
"#
            ),
        )
        .unwrap();
        let cfg = Arc::new(escucha::config::load(&path).unwrap_or_else(|e| panic!("{e}")));
        let store = Arc::new(Store::open(&cfg.daemon.database).unwrap());
        let clock = ManualClock::new(chrono::Utc::now());
        let leases = escucha::leases::Leases::new(store.clone(), Arc::new(clock.clone()), std::time::Duration::from_secs(30));
        let shared = Arc::new(Shared {
            leases,
            cfg: cfg.clone(),
            store,
            clock: Arc::new(clock.clone()),
            wake: Default::default(),
            heartbeats: Default::default(),
            disabled: Default::default(),
            classifier: Arc::new(escucha::learning::Live::new(escucha::classify::Classifier::rules_only(), (0, 0))),
            web: Default::default(),
            started: clock.now(),
        });
        let listener = escucha::http::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let cancel = CancellationToken::new();
        tokio::spawn(escucha::http::serve(listener, shared.clone(), cancel.clone()));
        App { _dir: dir, shared, clock, base, http: reqwest::Client::new(), cancel }
    }

    fn mention(&self, platform_id: &str, class: Class, age_secs: i64) -> i64 {
        let now = self.clock.now();
        let created = now - chrono::Duration::seconds(age_secs);
        let m = NewMention {
            brand: "interjet".into(),
            platform: Platform::X,
            platform_id: platform_id.into(),
            url: format!("https://x.com/maria/status/{platform_id}"),
            author: "maria".into(),
            author_id: "700".into(),
            author_followers: Some(10),
            text: "<script>alert(1)</script> perdieron mi maleta".into(),
            lang: Some("es".into()),
            class,
            score: 0.9,
            reasons: vec![],
            created_at: created,
            deadline: Some(created + chrono::Duration::minutes(30)),
            history: false,
            reposts: 0,
            conversation_id: None,
            in_reply_to_id: None,
            rating: None,
        };
        self.shared.store.commit_page("q", created, &[m], &[], "c", now).unwrap().inserted[0]
    }

    fn token(&self, id: i64, recipient: &str) -> String {
        escucha::ack::token(id, recipient, self.clock.now() + escucha::ack::VALIDITY, SECRET.as_bytes())
    }

    fn not_complaint_token(&self, id: i64, recipient: &str) -> String {
        let expires = self.clock.now() + escucha::ack::VALIDITY;
        escucha::ack::token_for(escucha::ack::Purpose::NotComplaint, id, recipient, expires, SECRET.as_bytes())
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let r = self.http.get(format!("{}{path}", self.base)).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn post(&self, path: &str) -> (u16, String) {
        let r = self.http.post(format!("{}{path}", self.base)).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

#[tokio::test]
async fn healthz_is_200_while_healthy_and_503_naming_a_disabled_source() {
    let app = App::start().await;
    assert_eq!(app.get("/healthz").await, (200, "ok\n".to_string()));
    app.shared.disabled.lock().unwrap().insert("x".into(), "X refused the bearer token (401)".into());
    let (status, body) = app.get("/healthz").await;
    assert_eq!(status, 503);
    assert!(body.contains("source x is disabled") && body.contains("401"), "{body}");
}

#[tokio::test]
async fn healthz_is_503_when_a_loop_is_stuck() {
    let app = App::start().await;
    let hb = app.shared.heartbeat("alerts");
    hb.beat(app.clock.now(), std::time::Duration::from_secs(1));
    app.clock.advance(chrono::Duration::seconds(5));
    let (status, body) = app.get("/healthz").await;
    assert_eq!(status, 503);
    assert!(body.contains("alerts"), "{body}");
}

#[tokio::test]
async fn metrics_are_prometheus_text_with_the_expected_series() {
    let app = App::start().await;
    app.mention("1", Class::Complaint, 600);
    app.mention("2", Class::Complaint, 60);
    app.mention("3", Class::Praise, 60);
    escucha::metrics::global().inc("escucha_polls_total", "x");
    let notice = ("ana@example.com".to_string(), "[escucha] source x is not working".to_string(), "t".to_string(), "h".to_string());
    app.shared.store.enqueue_health_notices("x", Some(app.clock.now()), &[notice], app.clock.now()).unwrap();
    let r = app.http.get(format!("{}/metrics", app.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    let text = r.text().await.unwrap();

    // Every line is a comment or `name{labels} value` with a numeric value.
    let mut samples = std::collections::BTreeMap::new();
    for line in text.lines() {
        if line.starts_with("# HELP ") || line.starts_with("# TYPE ") {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("bad line {line:?}"));
        let v: f64 = value.parse().unwrap_or_else(|_| panic!("bad value in {line:?}"));
        let name = series.split('{').next().unwrap();
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "bad name in {line:?}");
        assert!(!series.contains('{') || series.ends_with('}'), "bad labels in {line:?}");
        samples.insert(series.to_string(), v);
    }
    assert_eq!(samples.get(r#"escucha_mentions{brand="interjet",platform="x",class="complaint"}"#), Some(&2.0), "{text}");
    assert_eq!(samples.get(r#"escucha_mentions{brand="interjet",platform="x",class="praise"}"#), Some(&1.0), "{text}");
    // One pending health notice counts in the depth.
    assert_eq!(samples.get("escucha_outbox_depth"), Some(&1.0), "{text}");
    assert_eq!(samples.get(r#"escucha_oldest_unanswered_complaint_age_seconds{brand="interjet"}"#), Some(&600.0), "{text}");
    assert!(samples.get(r#"escucha_polls_total{source="x"}"#).is_some_and(|v| *v >= 1.0), "{text}");
    for family in [
        "escucha_poll_errors_total",
        "escucha_rate_limit_waits_total",
        "escucha_alerts_sent_total",
        "escucha_alerts_failed_total",
        "escucha_alerts_dead_lettered_total",
    ] {
        assert!(text.contains(&format!("# TYPE {family} counter")), "{family} missing:\n{text}");
    }
}

#[tokio::test]
async fn an_ack_link_shows_a_form_then_acknowledges_once_as_its_recipient() {
    let app = App::start().await;
    let id = app.mention("10", Class::Complaint, 60);
    let token = app.token(id, "ana@example.com");

    let (status, page) = app.get(&format!("/ack/{token}")).await;
    assert_eq!(status, 200);
    assert!(page.contains(&format!("<form method=\"post\" action=\"/ack/{token}\">")), "{page}");
    assert!(page.contains("&lt;script&gt;") && !page.contains("<script>"), "mention text is escaped:\n{page}");
    assert!(page.contains("Interjet &lt;Airlines&gt;"), "{page}");
    assert!(!page.contains("src=") && !page.contains("<link"), "no external resources");
    assert_eq!(app.shared.store.mention(id).unwrap().unwrap().status, Status::Open, "GET changes nothing");

    let (status, page) = app.post(&format!("/ack/{token}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("acknowledged"), "{page}");
    let m = app.shared.store.mention(id).unwrap().unwrap();
    assert_eq!((m.status, m.acked_by.as_deref()), (Status::Acked, Some("ana@example.com")));
    let acked_at = m.acked_at;

    // Replayed, or another recipient's link later: 200, nothing changes.
    app.clock.advance(chrono::Duration::minutes(5));
    let (status, page) = app.post(&format!("/ack/{token}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("already acknowledged") && page.contains("ana@example.com"), "{page}");
    let other = app.token(id, "jefa@example.com");
    let (status, _) = app.post(&format!("/ack/{other}")).await;
    assert_eq!(status, 200);
    let (status, page) = app.get(&format!("/ack/{other}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("already acknowledged"), "{page}");
    let m = app.shared.store.mention(id).unwrap().unwrap();
    assert_eq!((m.acked_by.as_deref(), m.acked_at), (Some("ana@example.com"), acked_at));
}

#[tokio::test]
async fn an_altered_ack_link_is_403_and_changes_nothing() {
    let app = App::start().await;
    let id = app.mention("11", Class::Complaint, 60);
    let other = app.mention("12", Class::Complaint, 60);
    // Point a valid token at another mention by editing its payload.
    let token = app.token(id, "ana@example.com");
    let (payload, mac) = token.split_once('.').unwrap();
    let bytes: Vec<u8> = (0..payload.len()).step_by(2).map(|i| u8::from_str_radix(&payload[i..i + 2], 16).unwrap()).collect();
    let forged = String::from_utf8(bytes).unwrap().replace(&format!("\n{id}\n"), &format!("\n{other}\n"));
    let forged_hex: String = forged.bytes().map(|b| format!("{b:02x}")).collect();
    for bad in [format!("{forged_hex}.{mac}"), format!("{token}0"), "nonsense".to_string()] {
        let (status, page) = app.post(&format!("/ack/{bad}")).await;
        assert_eq!(status, 403, "{bad}: {page}");
        assert!(page.contains("not valid"), "{page}");
        assert_eq!(app.get(&format!("/ack/{bad}")).await.0, 403);
    }
    let signed_elsewhere = escucha::ack::token(other, "ana@example.com", app.clock.now() + chrono::Duration::days(1), b"another key");
    assert_eq!(app.post(&format!("/ack/{signed_elsewhere}")).await.0, 403);
    for m in [id, other] {
        assert_eq!(app.shared.store.mention(m).unwrap().unwrap().status, Status::Open);
    }
}

#[tokio::test]
async fn an_ack_link_older_than_seven_days_is_410_and_changes_nothing() {
    let app = App::start().await;
    let id = app.mention("13", Class::Complaint, 60);
    let token = app.token(id, "ana@example.com");
    app.clock.advance(chrono::Duration::days(7) + chrono::Duration::seconds(1));
    let (status, page) = app.post(&format!("/ack/{token}")).await;
    assert_eq!(status, 410);
    assert!(page.contains("expired"), "{page}");
    assert_eq!(app.get(&format!("/ack/{token}")).await.0, 410);
    assert_eq!(app.shared.store.mention(id).unwrap().unwrap().status, Status::Open);
}

#[tokio::test]
async fn an_ack_link_for_an_answered_mention_says_so_and_changes_nothing() {
    let app = App::start().await;
    let id = app.mention("14", Class::Complaint, 60);
    let now = app.clock.now();
    let reply = escucha::store::Reply {
        brand: "interjet".into(),
        platform: Platform::X,
        platform_id: "r14".into(),
        in_reply_to_id: Some("14".into()),
        in_reply_to_author_id: Some("700".into()),
        conversation_id: None,
        created_at: now,
    };
    app.shared.store.commit_page("q", now, &[], &[reply], "c2", now).unwrap();
    let (status, page) = app.post(&format!("/ack/{}", app.token(id, "ana@example.com"))).await;
    assert_eq!(status, 200);
    assert!(page.contains("already answered"), "{page}");
    assert_eq!(app.shared.store.mention(id).unwrap().unwrap().acked_by, None);
}

#[tokio::test]
async fn a_not_a_complaint_link_shows_a_form_then_relabels_the_mention_neutral_once() {
    let app = App::start().await;
    let id = app.mention("20", Class::Complaint, 60);
    let token = app.not_complaint_token(id, "ana@example.com");

    let (status, page) = app.get(&format!("/not-a-complaint/{token}")).await;
    assert_eq!(status, 200);
    assert!(page.contains(&format!("<form method=\"post\" action=\"/not-a-complaint/{token}\">")), "{page}");
    assert!(page.contains("&lt;script&gt;") && !page.contains("<script>"), "mention text is escaped:\n{page}");
    assert_eq!(app.shared.store.mention(id).unwrap().unwrap().class, Class::Complaint, "GET changes nothing");

    let (status, page) = app.post(&format!("/not-a-complaint/{token}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("now neutral"), "{page}");
    let m = app.shared.store.mention(id).unwrap().unwrap();
    assert_eq!((m.class, m.corrected_by.as_deref(), m.deadline), (Class::Neutral, Some("ana@example.com"), None));
    let labels = app.shared.store.labels().unwrap();
    assert_eq!(labels.len(), 1);
    assert_eq!((labels[0].class, labels[0].origin, labels[0].mention_id), (Class::Neutral, escucha::model::LabelOrigin::Link, Some(id)));
    assert_eq!(labels[0].by, "ana@example.com");

    // Replayed, or another recipient's link: 200 "already corrected", nothing changes.
    app.clock.advance(chrono::Duration::minutes(5));
    for t in [token.clone(), app.not_complaint_token(id, "jefa@example.com")] {
        let (status, page) = app.post(&format!("/not-a-complaint/{t}")).await;
        assert_eq!(status, 200);
        assert!(page.contains("Already corrected") && page.contains("ana@example.com"), "{page}");
        let (status, page) = app.get(&format!("/not-a-complaint/{t}")).await;
        assert_eq!(status, 200);
        assert!(page.contains("Already corrected"), "{page}");
    }
    // Praise stays praise: the link never turns it into neutral.
    let praise = app.mention("21", Class::Praise, 60);
    let (status, page) = app.post(&format!("/not-a-complaint/{}", app.not_complaint_token(praise, "ana@example.com"))).await;
    assert_eq!(status, 200);
    assert!(page.contains("Already corrected"), "{page}");
    assert_eq!(app.shared.store.mention(praise).unwrap().unwrap().class, Class::Praise);
    assert_eq!(app.shared.store.labels_version().unwrap().0, 1);
}

#[tokio::test]
async fn a_not_a_complaint_link_altered_or_made_for_acks_is_403_and_changes_nothing() {
    let app = App::start().await;
    let id = app.mention("22", Class::Complaint, 60);
    let token = app.not_complaint_token(id, "ana@example.com");
    let ack_token = app.token(id, "ana@example.com");
    let signed_elsewhere =
        escucha::ack::token_for(escucha::ack::Purpose::NotComplaint, id, "ana@example.com", app.clock.now() + chrono::Duration::days(1), b"another key");
    for bad in [format!("{token}0"), ack_token.clone(), signed_elsewhere, "nonsense".to_string()] {
        let (status, page) = app.post(&format!("/not-a-complaint/{bad}")).await;
        assert_eq!(status, 403, "{bad}: {page}");
        assert!(page.contains("not valid"), "{page}");
        assert_eq!(app.get(&format!("/not-a-complaint/{bad}")).await.0, 403);
    }
    // Nor is the not-a-complaint token an ack token.
    assert_eq!(app.post(&format!("/ack/{token}")).await.0, 403);
    let m = app.shared.store.mention(id).unwrap().unwrap();
    assert_eq!((m.class, m.status, m.corrected_by), (Class::Complaint, Status::Open, None));
    assert_eq!(app.shared.store.labels_version().unwrap(), (0, 0));
}

#[tokio::test]
async fn a_not_a_complaint_link_older_than_seven_days_is_410_and_changes_nothing() {
    let app = App::start().await;
    let id = app.mention("23", Class::Complaint, 60);
    let token = app.not_complaint_token(id, "ana@example.com");
    app.clock.advance(chrono::Duration::days(7) + chrono::Duration::seconds(1));
    let (status, page) = app.post(&format!("/not-a-complaint/{token}")).await;
    assert_eq!(status, 410);
    assert!(page.contains("expired"), "{page}");
    assert_eq!(app.get(&format!("/not-a-complaint/{token}")).await.0, 410);
    assert_eq!(app.shared.store.mention(id).unwrap().unwrap().class, Class::Complaint);
    assert_eq!(app.shared.store.labels_version().unwrap(), (0, 0));
}

#[tokio::test]
async fn the_port_binds_again_right_after_the_server_stops_as_a_reload_needs() {
    let app = App::start().await;
    let listener = escucha::http::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let cancel = CancellationToken::new();
    let server = tokio::spawn(escucha::http::serve(listener, app.shared.clone(), cancel.clone()));
    // A served connection leaves the port in TIME_WAIT once closed.
    let r = reqwest::get(format!("http://{addr}/healthz")).await.unwrap();
    assert_eq!(r.status(), 200);
    cancel.cancel();
    tokio::time::timeout(std::time::Duration::from_secs(10), server).await.expect("server stops when cancelled").unwrap();
    let again = escucha::http::bind(&addr.to_string()).expect("rebinding the same port");
    assert_eq!(again.local_addr().unwrap(), addr);
}
