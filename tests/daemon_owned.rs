//! End-to-end tests of the brand's own channels: the real `escucha` binary
//! against a fake Graph API (Facebook page and Instagram account), a fake
//! YouTube Data API and an in-process SMTP server, read back through the
//! SQLite file and `escucha mentions --json`. Every wait polls for a
//! condition with a timeout; nothing sleeps on purpose.

#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/fake_graph.rs"]
mod fake_graph;
#[path = "support/fake_youtube.rs"]
mod fake_youtube;
#[path = "support/smtp.rs"]
mod smtp;
#[path = "support/world.rs"]
mod world;

use daemon::{escucha, first_polls, mentions, wait_for, Daemon};
use escucha::model::{Class, Platform, Status};
use fake_graph::FakeGraph;
use fake_youtube::FakeYouTube;
use smtp::SmtpServer;
use std::path::PathBuf;
use std::time::Duration;
use world::{q, ConfigToml};

const LONG: Duration = Duration::from_secs(30);
const PAGE: &str = "104567890123456";
const IG: &str = "17841400000000000";
const CHANNEL: &str = "UCInt3rjetCanalOficial01";
const KEYS: [&str; 5] =
    ["facebook:comments:interjet", "facebook:tagged:interjet", "instagram:comments:interjet", "instagram:tags:interjet", "youtube:threads:interjet"];

struct World {
    dir: tempfile::TempDir,
    graph: FakeGraph,
    yt: FakeYouTube,
    smtp: SmtpServer,
}

impl World {
    async fn new() -> World {
        let graph = FakeGraph::start().await;
        graph.page(PAGE, "Interjet");
        graph.ig_user(IG, "interjet");
        World { dir: tempfile::tempdir().unwrap(), graph, yt: FakeYouTube::start().await, smtp: SmtpServer::start().await }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("escucha.db")
    }

    fn config(&self, facebook_extra: &str) -> PathBuf {
        ConfigToml::new()
            .daemon("escucha.db")
            .set("daemon", "timezone", "UTC")
            .interjet("3s", "2s", &[("facebook", PAGE), ("instagram", IG), ("youtube", CHANNEL)])
            .section(
                "[source.facebook]",
                &format!(
                    "api_base = {}\napi_version = \"v21.0\"\npage_token = {}\nevery = \"1s\"\n{facebook_extra}",
                    q(&self.graph.base_url()),
                    q(fake_graph::TOKEN)
                ),
            )
            .section(
                "[source.instagram]",
                &format!(
                    "api_base = {}\naccess_token = {}\nevery = \"1s\"\nrespond_within = {{ complaint = \"2h\" }}",
                    q(&self.graph.base_url()),
                    q(fake_graph::TOKEN)
                ),
            )
            .section(
                "[source.youtube]",
                &format!("api_base = {}\napi_key = {}\nevery = \"1s\"\ndaily_quota = 200000", q(&self.yt.base_url()), q(fake_youtube::KEY)),
            )
            .smtp(self.smtp.port())
            .oncall(&["guardia@example.com"])
            .write(self.dir.path())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_under_the_brands_page_media_and_videos_are_stored_once_classified_and_answered_only_by_the_brand() {
    let w = World::new().await;
    let post = w.graph.post(PAGE, "Nuevas rutas a Cancún desde diciembre", 7200);
    let old = w.graph.comment_at(&post, None, ("7000", "Vieja"), "Perdieron mi maleta y nadie responde, pésimo servicio", fake_graph::now() - 3600);
    let media = w.graph.media(IG, "Nuevo uniforme", 7200);
    let cfg = w.config("");
    let d = Daemon::start(w.dir.path(), &cfg, &[]);
    let db = w.db();
    first_polls(LONG, &d, &db, &KEYS).await;

    // No term in any of them: they are under the brand's own posts.
    let fb_answered = w.graph.comment(&post, None, ("7014510126096205", "Ana Pérez"), "Llevo dos semanas sin respuesta por mi reembolso, pésimo servicio");
    let fb_reply = w.graph.comment(&post, Some(&fb_answered), (PAGE, "Interjet"), "Hola Ana, te escribimos por mensaje privado.");
    let fb_open = w.graph.comment(&post, None, ("555", "Luis"), "Me cancelaron el vuelo y nadie responde, pésimo servicio");
    w.graph.comment(&post, Some(&fb_open), ("777", "Marta"), "A mí también me pasó");
    let hidden = w.graph.comment(&post, None, ("666", "Spam"), "Compra seguidores baratos, pésimo servicio el de Interjet");
    w.graph.hide(&hidden);
    let ig_answered = w.graph.comment(&media, None, ("901", "carla"), "Me cobraron dos veces y nadie responde, pésimo servicio");
    w.graph.comment(&media, Some(&ig_answered), (IG, "interjet"), "Carla, te escribimos por DM");
    let ig_open = w.graph.comment(&media, None, ("902", "pablo"), "Perdieron mi maleta y nadie responde, pésimo servicio");
    let yt_answered = w.yt.comment(CHANNEL, ("UCfan1", "Pepe"), "Perdieron mi maleta y nadie responde, pésimo servicio", 0);
    w.yt.reply(&yt_answered, (CHANNEL, "Interjet"), "Lo sentimos, escríbenos por DM");
    let yt_open = w.yt.comment(CHANNEL, ("UCfan2", "Rosa"), "Me cancelaron el vuelo y nadie responde, pésimo servicio", 0);
    w.yt.reply(&yt_open, ("UCfan3", "Otro"), "Igual yo");

    for id in [&fb_answered, &ig_answered, &yt_answered] {
        wait_for(LONG, &format!("{id} answered"), &d, || mentions(&db).into_iter().find(|m| m.platform_id == *id && m.status == Status::Answered)).await;
    }
    for id in [&fb_open, &yt_open] {
        wait_for(LONG, &format!("{id} alerted"), &d, || mentions(&db).into_iter().find(|m| m.platform_id == *id && m.alerted_at.is_some())).await;
    }
    let mail = w.smtp.wait_for(1, LONG).await;
    let bodies: String = mail.iter().filter_map(|m| m.text_body()).collect();
    assert!(bodies.contains("Me cancelaron el vuelo"), "{bodies}");
    assert!(!bodies.contains("Llevo dos semanas"), "the answered complaint is not paged");

    // More polls of every source: nothing is stored twice.
    let polls = w.graph.requests().len() + w.yt.requests().len();
    wait_for(LONG, "more polls", &d, || (w.graph.requests().len() + w.yt.requests().len() >= polls + 12).then_some(())).await;

    let (code, out, err) = escucha(&["mentions", "--config", cfg.to_str().unwrap(), "--json"], None);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let find = |id: &str| {
        let found: Vec<&serde_json::Value> = lines.iter().filter(|l| l["platform_id"] == id).collect();
        assert_eq!(found.len(), 1, "{id} stored once: {out}");
        found[0].clone()
    };
    let fb = find(&fb_answered);
    assert_eq!(fb["platform"], "facebook");
    assert_eq!(fb["class"], "complaint", "{fb}");
    assert_eq!(fb["status"], "answered");
    assert_eq!(fb["author"], "Ana Pérez");
    assert!(fb["url"].as_str().unwrap().starts_with(&format!("https://www.facebook.com/{PAGE}/posts/")), "{fb}");
    assert!(fb["url"].as_str().unwrap().contains("comment_id="), "{fb}");
    let open = find(&fb_open);
    assert_eq!(open["status"], "open", "a reply by someone else answers nothing");
    let ig = find(&ig_answered);
    assert_eq!((ig["platform"].as_str(), ig["status"].as_str()), (Some("instagram"), Some("answered")));
    assert!(ig["url"].as_str().unwrap().ends_with(&format!("/c/{ig_answered}/")), "{ig}");
    let yt = find(&yt_answered);
    assert_eq!((yt["platform"].as_str(), yt["status"].as_str()), (Some("youtube"), Some("answered")));
    assert_eq!(yt["url"], format!("https://www.youtube.com/watch?v=dmlkZW8xVUN&lc={yt_answered}"));
    assert_eq!(find(&yt_open)["status"], "open");
    assert!(!lines.iter().any(|l| l["author"] == "Interjet" || l["author"] == "interjet"), "the brand's replies are not mentions: {out}");
    assert!(!lines.iter().any(|l| l["platform_id"] == hidden.as_str()), "a comment the page hid is not a mention: {out}");

    let all = mentions(&db);
    let m = |id: &str| all.iter().find(|m| m.platform_id == id).unwrap().clone();
    assert!(m(&old).history && m(&old).alerted_at.is_none(), "found on the first poll: history");
    assert_eq!(m(&old).platform, Platform::Facebook);
    // [source.instagram] respond_within overrides the brand's 3s.
    let ig_open = m(&ig_open);
    assert_eq!(ig_open.class, Class::Complaint);
    assert_eq!(ig_open.deadline.unwrap() - ig_open.created_at, chrono::Duration::hours(2));
    assert!(ig_open.alerted_at.is_none());
    assert_eq!(m(&fb_open).deadline.unwrap() - m(&fb_open).created_at, chrono::Duration::seconds(3));
    let _ = fb_reply;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_page_token_raises_one_health_alert_naming_the_token_and_is_not_retried() {
    let w = World::new().await;
    w.graph.post(PAGE, "Promo", 600);
    let cfg = w.config("unhealthy_after = \"1s\"");
    let d = Daemon::start(w.dir.path(), &cfg, &[("FB_PAGE_TOKEN", "unused")]);
    first_polls(LONG, &d, &w.db(), &KEYS).await;
    w.graph.expire_token();
    // The token is shared by the Instagram source here: it fails too.
    let notice = wait_for(LONG, "the facebook notice", &d, || {
        w.smtp.messages().into_iter().find(|m| m.subject().unwrap() == "[escucha] source facebook is not working")
    })
    .await;
    let body = notice.text_body().unwrap();
    assert!(body.contains("[source.facebook] page_token") && body.contains("Session has expired"), "{body}");
    assert!(!body.contains(fake_graph::TOKEN), "never the token");

    // The Facebook source is disabled: no retry loop. YouTube keeps going.
    let graph_requests = w.graph.requests().iter().filter(|r| !r.path.starts_with(IG)).count();
    let yt = w.yt.requests().len();
    wait_for(LONG, "more YouTube polls", &d, || (w.yt.requests().len() >= yt + 4).then_some(())).await;
    let after = w.graph.requests().iter().filter(|r| !r.path.starts_with(IG)).count();
    assert!(after <= graph_requests + 1, "facebook is not polled again ({graph_requests} → {after})");
    let facebook_notices = w.smtp.messages().iter().filter(|m| m.subject().unwrap().contains("source facebook")).count();
    assert_eq!(facebook_notices, 1, "one health alert");
    assert!(d.log().contains("source disabled"));
}

#[test]
fn check_says_how_often_youtube_can_poll_within_its_daily_quota() {
    let dir = tempfile::tempdir().unwrap();
    let path = ConfigToml::new()
        .daemon("escucha.db")
        .interjet("30m", "5m", &[("youtube", CHANNEL), ("facebook", PAGE)])
        .section("[source.youtube]", "api_key = \"k\"\ndaily_quota = 1440\nevery = \"10s\"")
        .section("[source.facebook]", "page_token = \"t\"\nrespond_within = { complaint = \"10m\" }")
        .oncall(&["guardia@example.com"])
        .write(dir.path());
    let (code, out, err) = escucha(&["check", "--config", path.to_str().unwrap()], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("source youtube every 1m:"), "{out}");
    assert!(out.contains("quota: 1440 units a day, 1 per round (1 per page): polls at most every 1m"), "{out}");
    assert!(out.contains("facebook:comments:interjet") && out.contains("facebook:tagged:interjet"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_page_is_not_polled_again_until_access_is_regained() {
    let w = World::new().await;
    w.graph.post(PAGE, "Promo", 600);
    let cfg = w.config("");
    let d = Daemon::start(w.dir.path(), &cfg, &[]);
    first_polls(LONG, &d, &w.db(), &KEYS).await;
    let page_requests = || w.graph.requests().iter().filter(|r| r.path.starts_with(PAGE)).count();
    let before = page_requests();
    w.graph.fail_next_for(PAGE, fake_graph::Failure::Throttled { code: 32, regain_minutes: 1 });
    wait_for(LONG, "the facebook source to be throttled", &d, || d.log().contains("Graph API throttled this source").then_some(())).await;
    let throttled_at = page_requests();
    assert!(throttled_at > before);
    // YouTube keeps polling every second meanwhile; the page gets nothing.
    let yt = w.yt.requests().len();
    wait_for(LONG, "four more YouTube polls", &d, || (w.yt.requests().len() >= yt + 4).then_some(())).await;
    assert_eq!(page_requests(), throttled_at, "no request to the page before estimated_time_to_regain_access");
    assert!(d.log().contains("rate limited; waiting for the window to reset"), "{}", d.log());
    assert_eq!(w.smtp.messages().len(), 0, "throttling is not a health problem");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_probe_checks_each_token_and_names_a_missing_permission() {
    let w = World::new().await;
    let cfg = w.config("");
    let cfg = cfg.to_str().unwrap().to_string();
    let probe = move || escucha(&["check", "--probe", "--config", &cfg], None);
    let (code, out, err) = tokio::task::spawn_blocking(probe.clone()).await.unwrap();
    assert_eq!(code, 0, "{out}{err}");
    for line in [
        format!("probe facebook page {PAGE} (brand interjet): OK"),
        format!("probe instagram account {IG} (brand interjet): OK"),
        format!("probe youtube channel {CHANNEL} (brand interjet): OK"),
    ] {
        assert!(out.contains(&line), "{line:?} in:\n{out}");
    }
    w.graph.revoke_edge_permission("tagged", "pages_read_user_content");
    let (code, out, err) = tokio::task::spawn_blocking(probe).await.unwrap();
    assert_ne!(code, 0);
    let line = out.lines().find(|l| l.starts_with("probe facebook")).unwrap_or_default();
    assert!(line.contains("FAILED") && line.contains("pages_read_user_content") && line.contains("page_token"), "{out}{err}");
    assert!(out.lines().any(|l| l.starts_with("probe youtube") && l.contains("OK")), "{out}");
}
