//! Webhook delivery against local receivers that stand in for Slack,
//! Discord, Teams, ntfy, PagerDuty and a generic JSON endpoint. Most tests
//! drive the alert loop one step at a time (`page_due`, `deliver_pending`)
//! with a manual clock and a real SQLite file; the last one runs the real
//! binary against a fake X and follows one PagerDuty incident from trigger
//! through the ack link to resolve.

#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/fake_x.rs"]
mod fake_x;
#[path = "support/receivers.rs"]
mod receivers;
#[path = "support/world.rs"]
mod world;

use escucha::alert::dispatch::Alerter;
use escucha::clock::ManualClock;
use escucha::config::Config;
use escucha::model::{Class, Platform, Status};
use escucha::store::{NewMention, Reply, Store};
use hmac::{Hmac, Mac};
use receivers::Receiver;
use sha2::Sha256;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use world::ConfigToml;

const LONG: Duration = Duration::from_secs(30);
const ACK_SECRET: &str = "test-ack-secret";
const JSON_SECRET: &str = "json-hook-secret";

/// One receiver per kind.
struct Receivers {
    slack: Receiver,
    discord: Receiver,
    teams: Receiver,
    ntfy: Receiver,
    pd: Receiver,
    json: Receiver,
}

impl Receivers {
    async fn start() -> Receivers {
        Receivers {
            slack: Receiver::start(200).await,
            discord: Receiver::start(204).await,
            teams: Receiver::start(202).await,
            ntfy: Receiver::start(200).await,
            pd: Receiver::start(202).await,
            json: Receiver::start(200).await,
        }
    }
}

struct World {
    _dir: tempfile::TempDir,
    store: Arc<Store>,
    clock: ManualClock,
    alerter: Alerter,
}

/// `notify` is the shift's list; `resolved` sets `send_resolved` on the
/// json webhook.
fn config(dir: &Path, r: &Receivers, notify: &[&str], resolved: bool) -> Config {
    let notify: Vec<String> = notify.iter().map(|n| format!("{n:?}")).collect();
    let toml = format!(
        r#"
[daemon]
database = "escucha.db"
http = "127.0.0.1:8686"
public_url = "https://escucha.example.com/"
ack_secret = "{ACK_SECRET}"

[[brand]]
id = "interjet"
name = "Interjet"
terms = ["interjet"]
respond_within = {{ complaint = "30m", escalation = "5m" }}
oncall = "care"

[[webhook]]
id = "slack"
kind = "slack"
url = "{slack}"

[[webhook]]
id = "discord"
kind = "discord"
url = "{discord}"

[[webhook]]
id = "teams"
kind = "teams"
url = "{teams}"

[[webhook]]
id = "ntfy"
kind = "ntfy"
url = "{ntfy}"

[[webhook]]
id = "pd"
kind = "pagerduty"
url = "{pd}"
routing_key = "R0UT1NGKEY"

[[webhook]]
id = "ops"
kind = "json"
url = "{json}"
secret = "{JSON_SECRET}"
send_resolved = {resolved}

[[oncall]]
id = "care"
[[oncall.shift]]
when = "* * * * * *"
notify = [{notify}]
"#,
        slack = r.slack.url("/services/T000/B000/XXXX"),
        discord = r.discord.url("/api/webhooks/1/abc"),
        teams = r.teams.url("/workflows/teams"),
        ntfy = r.ntfy.url("/care-alerts"),
        pd = r.pd.url("/v2/enqueue"),
        json = r.json.url("/escucha"),
        notify = notify.join(", "),
    );
    let path = dir.join("escucha.toml");
    std::fs::write(&path, toml).unwrap();
    escucha::config::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

impl World {
    async fn new(r: &Receivers, notify: &[&str], resolved: bool) -> World {
        let dir = tempfile::tempdir().unwrap();
        let cfg = Arc::new(config(dir.path(), r, notify, resolved));
        let store = Arc::new(Store::open(&cfg.daemon.database).unwrap());
        let clock = ManualClock::new(chrono::Utc::now());
        let alerter = Alerter::new(store.clone(), cfg.clone(), Arc::new(clock.clone())).unwrap();
        World { _dir: dir, store, clock, alerter }
    }

    /// Stores a complaint whose deadline has passed; returns its id.
    fn complaint(&self, platform_id: &str, class: Class) -> i64 {
        let now = escucha::clock::Clock::now(&self.clock);
        let created = now - chrono::Duration::minutes(40);
        let m = NewMention {
            brand: "interjet".into(),
            platform: Platform::X,
            platform_id: platform_id.into(),
            url: format!("https://x.com/maria/status/{platform_id}"),
            author: "maria".into(),
            author_id: "700".into(),
            author_followers: Some(120),
            text: "@Interjet_mx perdieron mi maleta y nadie responde".into(),
            lang: Some("es".into()),
            class,
            score: 0.9,
            reasons: vec!["complaint:phrase:nadie responde".into()],
            created_at: created,
            deadline: Some(created + chrono::Duration::minutes(30)),
            history: false,
            reposts: 0,
            conversation_id: Some(platform_id.into()),
            in_reply_to_id: None,
            rating: None,
        };
        self.store.commit_page("x:search:interjet", created, &[m], &[], "c", now).unwrap().inserted[0]
    }

    /// The brand's reply to `platform_id`, which answers it.
    fn answer(&self, platform_id: &str) -> Vec<i64> {
        let now = escucha::clock::Clock::now(&self.clock);
        let r = Reply {
            brand: "interjet".into(),
            platform: Platform::X,
            platform_id: format!("reply-{platform_id}"),
            in_reply_to_id: Some(platform_id.into()),
            in_reply_to_author_id: Some("700".into()),
            conversation_id: Some(platform_id.into()),
            created_at: now,
        };
        self.store.commit_page("x:replies:interjet", now, &[], &[r], "c2", now).unwrap().answered
    }

    async fn step(&self) -> usize {
        self.alerter.page_due().unwrap();
        self.alerter.deliver_pending().await.unwrap()
    }

    fn outbox(&self, state: &str) -> u64 {
        self.store.outbox_counts().unwrap().into_iter().find(|(k, _)| k == state).map_or(0, |(_, n)| n)
    }
}

fn hmac_hex(body: &[u8], key: &str) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    m.update(body);
    m.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// The mention id and recipient an ack link carries.
fn check_ack_link(link: &str, mention_id: i64, recipient: &str) {
    let token = link.strip_prefix("https://escucha.example.com/ack/").unwrap_or_else(|| panic!("not an ack link: {link}"));
    let c = escucha::ack::verify(token, ACK_SECRET.as_bytes(), chrono::Utc::now()).expect("a valid token");
    assert_eq!((c.mention_id, c.recipient.as_str()), (mention_id, recipient));
}

const ALL: [&str; 6] = ["webhook:slack", "webhook:discord", "webhook:teams", "webhook:ntfy", "webhook:pd", "webhook:ops"];

#[tokio::test]
async fn every_webhook_kind_receives_the_shape_its_service_documents() {
    let r = Receivers::start().await;
    let w = World::new(&r, &ALL, false).await;
    let id = w.complaint("1799", Class::Complaint);
    assert_eq!(w.step().await, 6, "one delivery per channel");
    assert_eq!(w.outbox("sent"), 6);

    // Slack: Block Kit with fallback text, the post and the ack link as buttons.
    let slack = r.slack.received();
    assert_eq!((slack.len(), slack[0].method.as_str(), slack[0].path.as_str()), (1, "POST", "/services/T000/B000/XXXX"));
    assert_eq!(slack[0].header("content-type"), Some("application/json"));
    let v = slack[0].json();
    assert!(v["text"].as_str().unwrap().contains("complaint about Interjet on x"), "{v}");
    assert_eq!(v["blocks"][0]["type"], "header");
    let buttons = v["blocks"].as_array().unwrap().iter().find(|b| b["type"] == "actions").expect("actions block");
    let by_label =
        |label: &str| buttons["elements"].as_array().unwrap().iter().find(|b| b["text"]["text"] == label).map(|b| b["url"].as_str().unwrap().to_string());
    assert_eq!(buttons["elements"][0]["text"]["text"], "Acknowledge", "the signed ack comes first");
    check_ack_link(&by_label("Acknowledge").expect("an Acknowledge button"), id, "webhook:slack");
    assert_eq!(by_label("Open post").as_deref(), Some("https://x.com/maria/status/1799"));
    assert!(by_label("Not a complaint").unwrap().starts_with("https://escucha.example.com/not-a-complaint/"));
    assert_eq!(by_label("Open in escucha"), None, "no [[user]]: the inbox is off, so no link to it");

    // Discord: content plus one embed with title, description, url, color, fields.
    let v = r.discord.received()[0].json();
    let e = &v["embeds"][0];
    assert!(v["content"].as_str().unwrap().contains("Interjet"));
    assert!(e["title"].as_str().unwrap().contains("@maria"));
    assert!(e["description"].as_str().unwrap().contains("perdieron mi maleta"));
    assert_eq!(e["url"], "https://x.com/maria/status/1799");
    assert!(e["color"].is_u64() && e["fields"].as_array().unwrap().len() >= 4, "{e}");
    let how = e["fields"].as_array().unwrap().iter().find(|f| f["name"] == "Acknowledge").expect("an Acknowledge field")["value"].as_str().unwrap().to_string();
    let link = how.split("**[Acknowledge](").nth(1).and_then(|r| r.split(')').next()).unwrap_or_else(|| panic!("a link: {how}"));
    check_ack_link(link, id, "webhook:discord");

    // Teams: a message carrying one Adaptive Card.
    let v = r.teams.received()[0].json();
    assert_eq!(v["type"], "message");
    assert_eq!(v["attachments"][0]["contentType"], "application/vnd.microsoft.card.adaptive");
    assert_eq!(v["attachments"][0]["content"]["type"], "AdaptiveCard");
    let set = v["attachments"][0]["content"]["body"].as_array().unwrap().iter().find(|b| b["type"] == "ActionSet").cloned().expect("actions");
    assert_eq!(set["actions"][0]["title"], "Acknowledge");
    check_ack_link(set["actions"][0]["url"].as_str().unwrap(), id, "webhook:teams");

    // ntfy: JSON publishing to the server root, topic in the body.
    let n = &r.ntfy.received()[0];
    assert_eq!(n.path, "/");
    let v = n.json();
    assert_eq!((v["topic"].as_str(), v["priority"].as_u64()), (Some("care-alerts"), Some(4)));
    assert_eq!(v["click"], "https://x.com/maria/status/1799");
    assert!(v["title"].as_str().unwrap().contains("complaint"));

    // PagerDuty: an Events v2 trigger keyed by the mention.
    let p = &r.pd.received()[0];
    assert_eq!(p.path, "/v2/enqueue");
    let v = p.json();
    assert_eq!(v["routing_key"], "R0UT1NGKEY");
    assert_eq!(v["event_action"], "trigger");
    assert_eq!(v["dedup_key"], "escucha:interjet:x:1799");
    assert_eq!((v["payload"]["source"].as_str(), v["payload"]["severity"].as_str()), (Some("escucha"), Some("warning")));
    assert!(v["payload"]["summary"].as_str().unwrap().contains("perdieron mi maleta"));

    // json: the documented body, signed, with the outbox id as idempotency key.
    let j = &r.json.received()[0];
    let sig = j.header("x-escucha-signature").expect("signature header");
    assert_eq!(sig, format!("sha256={}", hmac_hex(&j.body, JSON_SECRET)));
    let v = j.json();
    assert_eq!(j.header("idempotency-key"), Some(v["id"].to_string().as_str()));
    assert_eq!((v["version"].as_u64(), v["event"].as_str()), (Some(1), Some("alert")));
    assert_eq!(v["brand"], serde_json::json!({"id": "interjet", "name": "Interjet"}));
    let m = &v["mentions"][0];
    assert_eq!((m["id"].as_i64(), m["class"].as_str(), m["status"].as_str()), (Some(id), Some("complaint"), Some("open")));
    check_ack_link(m["ack_url"].as_str().unwrap(), id, "webhook:ops");
    assert_eq!(m["ack_command"], format!("escucha ack {id}"));
}

#[tokio::test]
async fn an_escalation_pages_pagerduty_as_critical_and_ntfy_at_top_priority() {
    let r = Receivers::start().await;
    let w = World::new(&r, &["webhook:pd", "webhook:ntfy"], false).await;
    w.complaint("1800", Class::Escalation);
    w.step().await;
    assert_eq!(r.pd.received()[0].json()["payload"]["severity"], "critical");
    assert_eq!(r.ntfy.received()[0].json()["priority"], 5);
}

#[tokio::test]
async fn a_500_is_retried_with_the_same_idempotency_key_and_body() {
    let r = Receivers::start().await;
    let w = World::new(&r, &["webhook:ops"], false).await;
    w.complaint("1801", Class::Complaint);
    let failed_before = escucha::metrics::global().get("escucha_alerts_failed_total", "webhook:ops");
    r.json.answer_next(&[500]);
    assert_eq!(w.step().await, 0);
    assert_eq!(w.outbox("pending"), 1, "a 5xx keeps the row pending");
    assert_eq!(escucha::metrics::global().get("escucha_alerts_failed_total", "webhook:ops"), failed_before + 1);
    // Not yet due: the retry waits for its backoff.
    assert_eq!(w.step().await, 0);
    assert_eq!(r.json.received().len(), 1);
    w.clock.advance(chrono::Duration::seconds(31));
    assert_eq!(w.step().await, 1);
    let got = r.json.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].header("idempotency-key"), got[1].header("idempotency-key"));
    assert!(got[0].header("idempotency-key").is_some());
    assert_eq!(got[0].json()["mentions"], got[1].json()["mentions"], "same mentions, same ack links");
    assert_eq!(w.outbox("sent"), 1);
}

#[tokio::test]
async fn a_429_and_a_408_are_retried_too() {
    let r = Receivers::start().await;
    let w = World::new(&r, &["webhook:slack"], false).await;
    w.complaint("1802", Class::Complaint);
    r.slack.answer_next(&[429, 408]);
    w.step().await;
    w.clock.advance(chrono::Duration::seconds(31));
    w.step().await;
    assert_eq!(w.outbox("pending"), 1);
    w.clock.advance(chrono::Duration::seconds(31));
    assert_eq!(w.step().await, 1);
    assert_eq!(r.slack.received().len(), 3);
}

#[tokio::test]
async fn a_400_is_dead_lettered_counted_and_never_retried() {
    let r = Receivers::start().await;
    let w = World::new(&r, &["webhook:discord"], false).await;
    w.complaint("1803", Class::Complaint);
    let dead_before = escucha::metrics::global().get("escucha_alerts_dead_lettered_total", "webhook:discord");
    r.discord.answer_next(&[400]);
    assert_eq!(w.step().await, 0);
    assert_eq!(w.outbox("dead"), 1);
    assert_eq!(escucha::metrics::global().get("escucha_alerts_dead_lettered_total", "webhook:discord"), dead_before + 1);
    w.clock.advance(chrono::Duration::minutes(10));
    w.step().await;
    assert_eq!(r.discord.received().len(), 1, "a dead row is never sent again");
}

#[tokio::test]
async fn pagerduty_always_hears_ack_and_resolve_others_only_with_send_resolved() {
    let r = Receivers::start().await;
    let w = World::new(&r, &["webhook:pd", "webhook:slack", "webhook:ops"], true).await;
    let id = w.complaint("1804", Class::Complaint);
    w.step().await;
    assert_eq!(w.outbox("sent"), 3);

    assert_eq!(w.store.ack(id, "ana", escucha::clock::Clock::now(&w.clock)).unwrap(), escucha::store::AckOutcome::Acked);
    w.step().await;
    let pd = r.pd.received();
    assert_eq!(pd.len(), 2);
    assert_eq!(pd[1].json(), serde_json::json!({"routing_key": "R0UT1NGKEY", "event_action": "acknowledge", "dedup_key": "escucha:interjet:x:1804"}));
    let ops = r.json.received();
    assert_eq!(ops.len(), 2, "send_resolved = true: the json hook hears the ack");
    let v = ops[1].json();
    assert_eq!((v["event"].as_str(), v["mentions"][0]["acked_by"].as_str()), (Some("ack"), Some("ana")));
    assert_ne!(ops[0].header("idempotency-key"), ops[1].header("idempotency-key"), "a notice is its own outbox row");

    // The brand answers the acknowledged mention: resolve, same key.
    assert_eq!(w.answer("1804"), vec![id]);
    w.step().await;
    let pd = r.pd.received();
    assert_eq!(pd.len(), 3);
    assert_eq!((pd[2].json()["event_action"].as_str(), pd[2].json()["dedup_key"].as_str()), (Some("resolve"), Some("escucha:interjet:x:1804")));
    assert_eq!(r.json.received()[2].json()["event"], "resolve");
    assert_eq!(r.slack.received().len(), 1, "send_resolved = false: Slack only got the page");
}

#[tokio::test]
async fn a_mention_answered_before_its_page_sends_no_resolve() {
    let r = Receivers::start().await;
    let w = World::new(&r, &["webhook:pd"], false).await;
    w.complaint("1805", Class::Complaint);
    w.answer("1805");
    w.step().await;
    assert!(r.pd.received().is_empty(), "never paged, so nothing to resolve: {:#?}", r.pd.received());
}

#[tokio::test]
async fn email_recipients_never_get_resolution_notices() {
    let r = Receivers::start().await;
    // No [smtp]: email pages go to the log, and must not grow notices.
    let w = World::new(&r, &["ana@example.com", "webhook:pd"], false).await;
    let id = w.complaint("1806", Class::Complaint);
    w.step().await;
    let rows_before: u64 = w.store.outbox_counts().unwrap().iter().map(|(_, n)| n).sum();
    w.store.ack(id, "ana", escucha::clock::Clock::now(&w.clock)).unwrap();
    let rows_after: u64 = w.store.outbox_counts().unwrap().iter().map(|(_, n)| n).sum();
    assert_eq!(rows_after - rows_before, 1, "one notice, for PagerDuty only");
}

/// The real daemon: a complaint on X pages PagerDuty; the ack link in the
/// trigger acknowledges it over HTTP; the brand's reply resolves it, all
/// with one dedup_key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_triggers_acknowledges_and_resolves_one_pagerduty_incident() {
    let x = fake_x::FakeX::start().await;
    let pd = Receiver::start(202).await;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let cfg = ConfigToml::new()
        .daemon("escucha.db")
        .http_with_acks(port, ACK_SECRET)
        .interjet("2s", "2s", &[("x", "Interjet_mx")])
        .x(&x.base_url(), fake_x::DEFAULT_TOKEN)
        .webhook("pd", "pagerduty", &pd.url("/v2/enqueue"))
        .set("webhook", "routing_key", "R0UT1NGKEY")
        .oncall(&["webhook:pd"])
        .write(dir.path());
    let d = daemon::Daemon::start(dir.path(), &cfg, &[]);
    let db = dir.path().join("escucha.db");
    daemon::wait_for(LONG, "the first X poll", &d, || daemon::cursor(&db, "x:search:interjet")).await;

    let tweet = x.add_tweet(fake_x::NewTweet::new("maria_gz", "@Interjet_mx perdieron mi maleta y nadie responde, pésimo servicio").lang(Some("es")));
    let got = pd.wait_for(1, LONG, "the trigger").await;
    let trigger = got[0].json();
    assert_eq!(trigger["event_action"], "trigger", "{trigger}");
    let key = trigger["dedup_key"].as_str().unwrap().to_string();
    assert_eq!(key, format!("escucha:interjet:x:{tweet}"));

    // "I'm on it" from the incident's link.
    let link = trigger["links"].as_array().unwrap().iter().find_map(|l| l["href"].as_str().filter(|h| h.contains("/ack/"))).unwrap();
    let http = reqwest::Client::new();
    let page = http.get(link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<form method=\"post\""));
    let done = http.post(link).send().await.unwrap();
    assert_eq!(done.status(), 200);
    let got = pd.wait_for(2, LONG, "the acknowledge").await;
    assert_eq!((got[1].json()["event_action"].as_str(), got[1].json()["dedup_key"].as_str()), (Some("acknowledge"), Some(key.as_str())));
    let m = daemon::mentions(&db).into_iter().find(|m| m.platform_id == tweet).unwrap();
    assert_eq!((m.status, m.acked_by.as_deref()), (Status::Acked, Some("webhook:pd")));

    // The brand answers: resolve, same key.
    x.add_tweet(fake_x::NewTweet::new("Interjet_mx", "@maria_gz lo sentimos, te escribimos por DM").reply_to(&tweet).lang(Some("es")));
    let got = pd.wait_for(3, LONG, "the resolve").await;
    assert_eq!((got[2].json()["event_action"].as_str(), got[2].json()["dedup_key"].as_str()), (Some("resolve"), Some(key.as_str())));
    let health = http.get(format!("http://127.0.0.1:{port}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn a_source_health_notice_reaches_chat_webhooks_but_not_pagerduty() {
    let r = Receivers::start().await;
    let w = World::new(&r, &["webhook:slack"], false).await;
    let now = escucha::clock::Clock::now(&w.clock);
    let notice = |to: &str| (to.to_string(), "[escucha] source x is not working".to_string(), "Since 10:00 UTC: 401 Unauthorized.".to_string(), String::new());
    w.store.enqueue_health_notices("x", Some(now), &[notice("webhook:slack"), notice("webhook:pd"), notice("webhook:ops")], now).unwrap();
    w.step().await;
    let v = r.slack.received()[0].json();
    assert_eq!(v["text"], "[escucha] source x is not working");
    assert!(v.to_string().contains("401 Unauthorized"), "{v}");
    let j = &r.json.received()[0];
    assert_eq!(j.json()["event"], "notice");
    assert!(j.header("idempotency-key").unwrap().starts_with("notice-"));
    assert!(r.pd.received().is_empty(), "PagerDuty incidents are about mentions");
}

#[tokio::test]
async fn an_unreachable_receiver_is_retried_not_dead_lettered() {
    let r = Receivers::start().await;
    // Point the json hook at a port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), &r, &["webhook:ops"], false);
    let hook = cfg.webhooks.iter_mut().find(|h| h.id == "ops").unwrap();
    hook.url = Some(escucha::config::Secret::new(format!("http://127.0.0.1:{closed}/escucha")));
    let cfg = Arc::new(cfg);
    let store = Arc::new(Store::open(&cfg.daemon.database).unwrap());
    let clock = ManualClock::new(chrono::Utc::now());
    let w = World { _dir: dir, store: store.clone(), clock: clock.clone(), alerter: Alerter::new(store, cfg, Arc::new(clock)).unwrap() };
    w.complaint("1807", Class::Complaint);
    assert_eq!(w.step().await, 0);
    assert_eq!((w.outbox("pending"), w.outbox("dead")), (1, 0));
}
