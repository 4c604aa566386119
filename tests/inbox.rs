//! The web inbox end to end: the real `escucha` binary with `[[user]]`s,
//! driven over HTTP by a cookie-keeping client (`support/web.rs`). Logging
//! in (wrong passwords refused, then rate limited), the list by deadline
//! and its filters, CSRF refusals, assign / note / correct / acknowledge
//! from the page (an ack stops the page chain, a correction stores a
//! label), the CSV export, and logout ending the session. And once, a
//! real headless Chromium through the whole day's work: a wrong password
//! refused, log in, two complaints the daemon stored from the fake X,
//! acknowledge one, assign it, correct the other, export CSV, a forged POST
//! without the CSRF token refused, log out.

#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/fake_x.rs"]
mod fake_x;
#[path = "support/smtp.rs"]
mod smtp;
#[path = "support/web.rs"]
mod web;
#[path = "support/webdriver.rs"]
mod webdriver;
#[path = "support/world.rs"]
mod world;

use chrono::{Duration as Minutes, Utc};
use daemon::{cursor, escucha, mentions, wait_for, Daemon};
use escucha::model::{Class, LabelOrigin, Platform, Status};
use escucha::store::{NewMention, Store};
use fake_x::{FakeX, NewTweet};
use smtp::SmtpServer;
use std::path::Path;
use std::time::Duration;
use web::Web;
use world::{q, ConfigToml};

const LONG: Duration = Duration::from_secs(30);
const ANA_PASSWORD: &str = "ana's long passphrase";
const BETO_PASSWORD: &str = "beto-pw";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `[[user]]` ana (hash from `escucha passwd`, as people make it) and beto,
/// who reads the inbox in Spanish.
fn users(config: ConfigToml) -> ConfigToml {
    let (code, ana, err) = escucha(&["passwd"], Some(&format!("{ANA_PASSWORD}\n")));
    assert_eq!(code, 0, "{err}");
    let ana = ana.trim();
    assert!(ana.starts_with("$argon2id$v=19$"), "{ana}");
    let beto = escucha::web::auth::hash_password(BETO_PASSWORD).unwrap();
    config
        .section("[[user]]", &format!("name = \"ana\"\nemail = \"ana@example.com\"\npassword_hash = {}", q(ana)))
        .section("[[user]]", &format!("name = \"beto\"\nemail = \"beto@example.com\"\nlanguage = \"es\"\npassword_hash = {}", q(&beto)))
}

/// A brand nobody is paged for, 30 minutes to answer anything.
fn quiet_brand(config: ConfigToml, id: &str, name: &str) -> ConfigToml {
    config.section(
        "[[brand]]",
        &format!("id = {}\nname = {}\nterms = [{}]\nrespond_within = {{ complaint = \"30m\", escalation = \"30m\" }}", q(id), q(name), q(id)),
    )
}

async fn http_up(d: &Daemon, port: u16) {
    wait_for(LONG, "the HTTP server", d, || std::net::TcpStream::connect(("127.0.0.1", port)).ok()).await;
}

fn seed(id: &str, brand: &str, platform: Platform, author: &str, text: &str, class: Class, deadline_in: Option<Minutes>) -> NewMention {
    let now = Utc::now();
    let deadline = deadline_in.map(|d| now + d);
    NewMention {
        brand: brand.into(),
        platform,
        platform_id: id.into(),
        url: format!("https://example.com/{id}"),
        author: author.into(),
        author_id: author.into(),
        author_followers: Some(120),
        text: text.into(),
        lang: Some("es".into()),
        class,
        score: 0.9,
        reasons: vec![format!("{}:test", class.as_str())],
        created_at: deadline.map_or(now, |d| d - Minutes::minutes(30)),
        deadline,
        history: false,
        reposts: 0,
        conversation_id: None,
        in_reply_to_id: None,
        rating: None,
    }
}

fn mention(db: &Path, platform_id: &str) -> escucha::model::Mention {
    mentions(db).into_iter().find(|m| m.platform_id == platform_id).unwrap()
}

/// Where `needle` is in `hay`, or a panic showing the page.
fn at(hay: &str, needle: &str) -> usize {
    hay.find(needle).unwrap_or_else(|| panic!("{needle:?} not in\n{hay}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbox_logs_in_lists_by_deadline_filters_acts_and_logs_out() {
    let dir = tempfile::tempdir().unwrap();
    let x = FakeX::start().await;
    let port = free_port();
    let config = ConfigToml::new().daemon("escucha.db").set("daemon", "timezone", "UTC").http_with_acks(port, "inbox-test-secret");
    let config = quiet_brand(quiet_brand(config, "interjet", "Interjet"), "globex", "Globex <Air>");
    let config = users(config.x(&x.base_url(), fake_x::DEFAULT_TOKEN)).write(dir.path());
    let db = dir.path().join("escucha.db");
    // Stored before the daemon starts: deadlines chosen so the order and
    // the SLA clocks are known (seconds of slack for a slow machine).
    let seeded = Store::open(&db)
        .unwrap()
        .commit_page(
            "seed",
            Utc::now(),
            &[
                seed("soon", "interjet", Platform::X, "maria", "Perdieron mi maleta, nadie responde", Class::Complaint, Some(Minutes::seconds(10 * 60 + 30))),
                seed(
                    "late",
                    "globex",
                    Platform::Mastodon,
                    "beto_cliente",
                    "Globex & <b>su</b> vuelo cancelado",
                    Class::Complaint,
                    Some(Minutes::seconds(29 * 60 + 30)),
                ),
                seed(
                    "overdue",
                    "interjet",
                    Platform::X,
                    "abogado",
                    "Los demandaré, llevo horas esperando",
                    Class::Escalation,
                    Some(-Minutes::seconds(65 * 60 + 10)),
                ),
                seed("praise", "interjet", Platform::X, "luis", "Gracias Interjet, excelente trato", Class::Praise, None),
            ],
            &[],
            "c",
            Utc::now(),
        )
        .unwrap();
    let [soon, late, overdue, _praise] = seeded.inserted[..] else { panic!("{seeded:?}") };
    let d = Daemon::start(dir.path(), &config, &[]);
    http_up(&d, port).await;
    let web = Web::new(&format!("http://127.0.0.1:{port}"));

    // Not logged in: to the login form. Health and metrics are as before.
    let r = web.get("/").await;
    assert_eq!((r.status, r.location.as_deref()), (303, Some("/login")));
    let r = web.get("/login").await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("name=\"username\"") && r.body.contains("name=\"password\""), "{}", r.body);
    assert_eq!(web.get("/healthz").await.status, 200);
    assert_eq!(web.get("/export.csv").await.location.as_deref(), Some("/login"));

    // Wrong passwords: refused, and after five, even the right one is.
    for _ in 0..5 {
        let r = web.login("beto", "guess").await;
        assert_eq!(r.status, 401);
        assert!(r.body.contains("Wrong name or password") && r.set_cookie.is_none(), "{}", r.body);
    }
    let r = web.login("BETO@example.com", BETO_PASSWORD).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.body.contains("Too many wrong passwords"), "{}", r.body);
    assert_eq!(web.login("nadie", "x").await.status, 401);

    // Ana logs in by email: a session cookie, HttpOnly and SameSite (not
    // Secure: public_url is http here).
    let r = web.login("ana@example.com", ANA_PASSWORD).await;
    assert_eq!((r.status, r.location.as_deref()), (303, Some("/")), "{}", r.body);
    let cookie = r.set_cookie.unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && !cookie.contains("Secure"), "{cookie}");
    let session = web.session().unwrap();

    // The list: open complaints and escalations, nearest deadline first,
    // with the SLA clock; escaped; praise is not work.
    let list = web.get("/").await;
    assert_eq!(list.status, 200);
    let b = &list.body;
    assert!(at(b, "overdue 1 h 5 min") < at(b, "10 min left") && at(b, "10 min left") < at(b, "29 min left"), "{b}");
    assert!(at(b, "Los demandaré") < at(b, "Perdieron mi maleta") && at(b, "Perdieron mi maleta") < at(b, "Globex &amp; &lt;b&gt;su&lt;/b&gt;"), "{b}");
    assert!(b.contains("Globex &lt;Air&gt;") && !b.contains("<b>su</b>") && !b.contains("Gracias Interjet"), "{b}");

    // Filters.
    let only = |page: &str, yes: &[&str], no: &[&str]| {
        for y in yes {
            assert!(page.contains(y), "{y:?} missing\n{page}");
        }
        for n in no {
            assert!(!page.contains(n), "{n:?} present\n{page}");
        }
    };
    only(&web.get("/?brand=globex").await.body, &["vuelo cancelado"], &["Perdieron mi maleta", "Los demandaré"]);
    only(&web.get("/?platform=x&class=escalation").await.body, &["Los demandaré"], &["Perdieron mi maleta", "vuelo cancelado"]);
    only(&web.get("/?q=MALETA").await.body, &["Perdieron mi maleta"], &["Los demandaré", "vuelo cancelado"]);
    only(&web.get("/?class=praise&status=all").await.body, &["Gracias Interjet"], &["Perdieron mi maleta"]);
    // Dates (the daemon's timezone, UTC here): the overdue one was posted
    // over 1.5 h ago, perhaps yesterday; the others today.
    let today = Utc::now().format("%Y-%m-%d").to_string();
    let tomorrow = (Utc::now() + Minutes::days(1)).format("%Y-%m-%d").to_string();
    only(&web.get(&format!("/?from={tomorrow}")).await.body, &["Nothing here"], &["Perdieron mi maleta"]);
    only(&web.get(&format!("/?from={today}&to={today}")).await.body, &["Perdieron mi maleta", "vuelo cancelado"], &[]);

    // Numbers: the overdue escalation, per brand.
    let numbers = web.get("/numbers?since=24h").await;
    assert_eq!(numbers.status, 200);
    assert!(numbers.body.contains("1 overdue") && numbers.body.contains("<svg") && numbers.body.contains("Globex &lt;Air&gt;"), "{}", numbers.body);
    // Per day: today's complaints, none answered yet.
    let today_row = format!("<tr><td>{}</td><td>2</td><td>0</td><td>0%</td>", Utc::now().format("%Y-%m-%d"));
    assert!(numbers.body.contains("<h2>Per day</h2>") && numbers.body.contains(&today_row), "{}", numbers.body);

    // Live updates: the open list polls /live with its filters; a mention
    // stored meanwhile changes the answer, and the list then shows it.
    let list = web.get("/?brand=interjet").await;
    let sig_at = at(&list.body, "data-sig=\"") + "data-sig=\"".len();
    let sig = list.body[sig_at..sig_at + list.body[sig_at..].find('"').unwrap()].to_string();
    assert!(list.body.contains("data-live=\"/live?brand=interjet\""), "{}", list.body);
    let live = web.get("/live?brand=interjet").await;
    assert!(live.content_type.starts_with("application/json"), "{}", live.content_type);
    let j: serde_json::Value = serde_json::from_str(&live.body).unwrap();
    assert_eq!(j["sig"].as_str(), Some(sig.as_str()), "{j}");
    Store::open(&db)
        .unwrap()
        .commit_page(
            "seed",
            Utc::now(),
            &[seed("fresh", "interjet", Platform::X, "eva", "Me cobraron dos veces", Class::Complaint, Some(Minutes::minutes(25)))],
            &[],
            "c",
            Utc::now(),
        )
        .unwrap();
    let j: serde_json::Value = serde_json::from_str(&web.get("/live?brand=interjet").await.body).unwrap();
    assert_ne!(j["sig"].as_str(), Some(sig.as_str()), "{j}");
    assert!(web.get("/?brand=interjet").await.body.contains("Me cobraron dos veces"));
    let js = web.get("/live.js").await;
    assert!(js.status == 200 && js.content_type.starts_with("text/javascript") && js.body.contains("data-live"), "{}", js.body);
    assert_eq!(Web::new(&web.base).get("/live").await.status, 401, "not logged in");

    // A state-changing POST without the CSRF token, or with a wrong one, is refused.
    let r = web.post(&format!("/mentions/{soon}/ack"), &[]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = web.post(&format!("/mentions/{soon}/ack"), &[("csrf", "0000")]).await;
    assert_eq!(r.status, 403);
    // The right token from another site's page is refused too; from this
    // one (as its public_url says) it would do.
    let csrf = web.get("/").await.csrf();
    let r = web.post_from(Some("https://evil.example"), &format!("/mentions/{soon}/notes"), &[("csrf", &csrf), ("text", "x")]).await;
    assert_eq!(r.status, 403);
    let r = web.post_from(Some(&format!("http://127.0.0.1:{port}")), &format!("/mentions/{soon}/notes"), &[("csrf", &csrf), ("text", "")]).await;
    assert_eq!(r.status, 303);
    assert_eq!(mention(&db, "soon").status, Status::Open);

    // One mention: its text, reasons and the actions' buttons.
    let page = web.get(&format!("/mentions/{soon}")).await;
    assert_eq!(page.status, 200);
    for label in [
        ">Acknowledge</button>",
        ">Assign</button>",
        ">Add note</button>",
        ">Not a complaint</button>",
        "Perdieron mi maleta",
        "complaint:test",
        "https://example.com/soon",
    ] {
        assert!(page.body.contains(label), "{label:?} missing\n{}", page.body);
    }

    // Assign, note, then acknowledge from the page.
    let here = format!("/mentions/{soon}");
    let r = web.submit(&here, &format!("{here}/assign"), &[("user", "beto")]).await;
    assert_eq!((r.status, r.location.as_deref()), (303, Some(here.as_str())), "{}", r.body);
    assert_eq!(web.submit(&here, &format!("{here}/assign"), &[("user", "mallory")]).await.status, 400);
    let r = web.submit(&here, &format!("{here}/notes"), &[("text", "Llamé a María <3")]).await;
    assert_eq!(r.status, 303);
    let r = web.submit(&here, &format!("{here}/ack"), &[]).await;
    assert_eq!(r.status, 303);
    let m = mention(&db, "soon");
    assert_eq!((m.status, m.acked_by.as_deref(), m.assigned_to.as_deref()), (Status::Acked, Some("ana"), Some("beto")));
    let page = web.get(&here).await.body;
    assert!(page.contains("acknowledged by ana") && page.contains("note by ana: Llamé a María &lt;3"), "{page}");
    assert!(!page.contains(">Acknowledge</button>"), "nothing left to acknowledge");

    // Silence the author from the page: the same silence as `escucha silence`.
    assert_eq!(web.submit(&here, &format!("{here}/silence"), &[("scope", "author"), ("for", "4h"), ("reason", "")]).await.status, 400);
    let r = web.submit(&here, &format!("{here}/silence"), &[("scope", "author"), ("for", "4h"), ("reason", "ya la llamamos")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let silences = Store::open(&db).unwrap().active_silences(Utc::now()).unwrap();
    assert_eq!(silences.len(), 1);
    let sil = &silences[0];
    assert_eq!((sil.brand.as_str(), sil.platform.as_deref(), sil.author.as_deref(), sil.created_by.as_str()), ("interjet", Some("x"), Some("maria"), "ana"));
    assert!((sil.until - Utc::now() - Minutes::hours(4)).num_seconds().abs() < 60, "{sil:?}");
    assert!(web.get(&here).await.body.contains("Alerts silenced until"));

    // `mentions --json` says who it is assigned to, and the notes.
    let (code, out, err) = escucha(&["mentions", "--json", "--config", config.to_str().unwrap()], None);
    assert_eq!(code, 0, "{err}");
    let row: serde_json::Value = out.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()).find(|r| r["id"] == soon).unwrap();
    assert_eq!(row["assigned_to"], "beto");
    assert_eq!((row["notes"][0]["by"].as_str(), row["notes"][0]["text"].as_str()), (Some("ana"), Some("Llamé a María <3")));
    assert!(chrono::DateTime::parse_from_rfc3339(row["notes"][0]["at"].as_str().unwrap()).is_ok());

    // Acknowledged ones leave the open list; the status filter finds them.
    only(&web.get("/").await.body, &["Los demandaré"], &["Perdieron mi maleta"]);
    only(&web.get("/?status=acknowledged").await.body, &["Perdieron mi maleta"], &["Los demandaré"]);
    // Bulk acknowledge.
    let r = web.submit("/", "/ack", &[("id", &overdue.to_string()), ("id", &late.to_string())]).await;
    assert_eq!(r.status, 303);
    assert_eq!((mention(&db, "overdue").status, mention(&db, "late").acked_by.as_deref()), (Status::Acked, Some("ana")));

    // CSV of the filtered list.
    let csv = web.get("/export.csv?brand=interjet&status=all").await;
    assert_eq!(csv.status, 200);
    assert!(csv.content_type.starts_with("text/csv"), "{}", csv.content_type);
    let mut lines = csv.body.lines();
    assert!(lines.next().unwrap().starts_with("id,brand,platform,url,author,text,class,status,created_at"), "{}", csv.body);
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 3, "interjet's two complaints and escalation: {}", csv.body);
    assert!(
        rows.iter()
            .any(|r| r.starts_with(&format!("{soon},interjet,x,https://example.com/soon,maria,\"Perdieron mi maleta, nadie responde\",complaint,acked,"))),
        "{}",
        csv.body
    );

    // Logout ends the session: the old cookie opens nothing any more.
    let r = web.submit("/", "/logout", &[]).await;
    assert_eq!((r.status, r.location.as_deref()), (303, Some("/login")));
    assert!(r.set_cookie.unwrap().contains("Max-Age=0"));
    web.set_session(Some(session));
    assert_eq!(web.get("/").await.location.as_deref(), Some("/login"));
    assert_eq!(web.post(&format!("/mentions/{late}/notes"), &[("csrf", "x"), ("text", "hola")]).await.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ack_from_the_page_stops_the_chain_and_a_correction_stores_a_label() {
    let dir = tempfile::tempdir().unwrap();
    let (x, smtp) = (FakeX::start().await, SmtpServer::start().await);
    let port = free_port();
    let config = ConfigToml::new()
        .daemon("escucha.db")
        .set("daemon", "timezone", "UTC")
        .http_with_acks(port, "inbox-test-secret")
        .interjet("1s", "1s", &[("x", "Interjet_mx")])
        .x(&x.base_url(), fake_x::DEFAULT_TOKEN)
        .smtp(smtp.port())
        .oncall(&["guardia@example.com"])
        .section("[[oncall.then]]", "after = \"4s\"\nnotify = [\"jefa@example.com\"]");
    let config = users(config).write(dir.path());
    let db = dir.path().join("escucha.db");
    let d = Daemon::start(dir.path(), &config, &[]);
    wait_for(LONG, "the first X poll", &d, || cursor(&db, "x:search:interjet")).await;
    http_up(&d, port).await;
    let web = Web::new(&format!("http://127.0.0.1:{port}"));
    assert_eq!(web.login("ana", ANA_PASSWORD).await.status, 303);

    // Paged once; acknowledged from the page before the chain's next step.
    let lost = x.add_tweet(NewTweet::new("maria", "@Interjet_mx perdieron mi maleta y nadie responde, es un desastre").lang(Some("es")));
    let m = wait_for(LONG, "the complaint", &d, || mentions(&db).into_iter().find(|m| m.platform_id == lost)).await;
    assert_eq!(m.class, Class::Complaint, "{:?}", m.reasons);
    let mail = smtp.wait_for(1, LONG).await;
    assert_eq!(mail[0].to, ["guardia@example.com"]);
    let here = format!("/mentions/{}", m.id);
    assert_eq!(web.submit(&here, &format!("{here}/ack"), &[]).await.status, 303);
    assert_eq!(mention(&db, &lost).acked_by.as_deref(), Some("ana"));
    let page = web.get(&here).await.body;
    assert!(page.contains("page to guardia@example.com (sent)") && page.contains("acknowledged by ana"), "{page}");

    // A complaint the team says is not one: relabelled neutral and stored
    // as a label, exactly as `escucha correct` does.
    let question = x.add_tweet(NewTweet::new("luis", "@Interjet_mx perdieron mi equipaje y nadie responde, es un desastre").lang(Some("es")));
    let q2 = wait_for(LONG, "the second mention", &d, || mentions(&db).into_iter().find(|m| m.platform_id == question)).await;
    assert_eq!(q2.class, Class::Complaint, "{:?}", q2.reasons);
    let here = format!("/mentions/{}", q2.id);
    let r = web.submit(&here, &format!("{here}/class"), &[("class", "neutral")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let after = mention(&db, &question);
    assert_eq!((after.class, after.corrected_by.as_deref()), (Class::Neutral, Some("ana")));
    let labels = Store::open(&db).unwrap().labels().unwrap();
    let label = labels.iter().find(|l| l.mention_id == Some(q2.id)).expect("a label for the correction");
    assert_eq!((label.class, label.origin, label.by.as_str()), (Class::Neutral, LabelOrigin::Correct, "ana"));
    let page = web.get(&here).await.body;
    assert!(page.contains("corrected to neutral by ana"), "{page}");

    // Past the chain's second step (4 s): jefa is never paged for the
    // acknowledged complaint. Whatever the corrected one got before its
    // correction went to guardia only.
    let before = x.requests().len();
    wait_for(LONG, "six more X polls", &d, || (x.requests().len() >= before + 6).then_some(())).await;
    let to: Vec<Vec<String>> = smtp.messages().iter().map(|m| m.to.clone()).collect();
    assert!(to.iter().all(|t| t == &["guardia@example.com"]), "{to:?}");
}

#[test]
fn a_user_whose_hash_is_not_argon2_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = quiet_brand(ConfigToml::new().daemon("e.db"), "acme", "Acme")
        .section("[[user]]", "name = \"ana\"\nemail = \"ana@example.com\"\npassword_hash = \"hunter2\"")
        .section("[[user]]", "name = \"ana\"\nemail = \"not an email\"")
        .write(dir.path());
    let (code, _, err) = escucha(&["check", "--config", config.to_str().unwrap()], None);
    assert_eq!(code, 78, "{err}");
    assert!(err.contains("user[0].password_hash") && err.contains("escucha passwd") && !err.contains("hunter2"), "{err}");
    assert!(err.contains("user[1].email") && err.contains("user[1].password_hash"), "{err}");
    let config = quiet_brand(ConfigToml::new().daemon("e.db").set("daemon", "trusted_user_header", "X-Forwarded-User"), "acme", "Acme").write(dir.path());
    let (code, _, err) = escucha(&["check", "--config", config.to_str().unwrap()], None);
    assert_eq!(code, 78, "{err}");
    assert!(err.contains("daemon.trusted_user_header") && err.contains("trusted_proxies"), "{err}");
    let (code, _, err) = escucha(&["passwd"], Some(""));
    assert_eq!(code, 1);
    assert!(err.contains("no password on stdin"), "{err}");
}

/// The one real-browser test: Debian's headless Chromium, through
/// chromedriver, logs in with the form, sees the complaint in the inbox,
/// opens it and presses Acknowledge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_browser_logs_in_acts_on_complaints_from_a_platform_exports_and_logs_out() {
    let dir = tempfile::tempdir().unwrap();
    let x = FakeX::start().await;
    let port = free_port();
    let config = ConfigToml::new().daemon("escucha.db").set("daemon", "timezone", "UTC").http_with_acks(port, "inbox-test-secret");
    let config = users(quiet_brand(config, "interjet", "Interjet").x(&x.base_url(), fake_x::DEFAULT_TOKEN)).write(dir.path());
    let db = dir.path().join("escucha.db");
    let d = Daemon::start(dir.path(), &config, &[]);
    http_up(&d, port).await;
    wait_for(LONG, "the first X poll", &d, || cursor(&db, "x:search:interjet")).await;
    // Two complaints the daemon stores from the (fake) platform.
    let text = "Perdieron mi maleta en el vuelo 123 y nadie responde";
    let lost = x.add_tweet(NewTweet::new("maria", &format!("@interjet {text}")).lang(Some("es")));
    let other_text = "interjet: my flight was moved twice and nobody answers, terrible service";
    let other = x.add_tweet(NewTweet::new("jorge", other_text).lang(Some("en")));
    let id = wait_for(LONG, "the complaints stored", &d, || {
        let all = mentions(&db);
        let lost = all.iter().find(|m| m.platform_id == lost)?;
        all.iter().any(|m| m.platform_id == other).then_some(lost.id)
    })
    .await;
    let other_id = mention(&db, &other).id;
    let base = format!("http://127.0.0.1:{port}");

    let browser = webdriver::Browser::start().await;
    browser.goto(&format!("{base}/")).await;
    assert_eq!(browser.url().await, format!("{base}/login"));
    // A wrong password: refused, still at the form.
    browser.type_into("input[name=username]", "ana").await;
    browser.type_into("input[name=password]", "not her password").await;
    let submit = browser.find("form[action='/login'] button[type=submit]").await;
    browser.click(&submit).await;
    browser.wait_text("Wrong name or password.").await;
    assert!(browser.url().await.starts_with(&format!("{base}/login")));
    // The right one.
    browser.type_into("input[name=username]", "ana").await;
    browser.type_into("input[name=password]", ANA_PASSWORD).await;
    let submit = browser.find("form[action='/login'] button[type=submit]").await;
    browser.click(&submit).await;
    browser.wait_url(&format!("{base}/")).await;
    let page = browser.wait_text(text).await;
    assert!(page.contains("min left") && page.contains(other_text), "{page}");

    // Acknowledge it from its page.
    let link = browser.find(&format!("a[href='/mentions/{id}']")).await;
    browser.click(&link).await;
    browser.wait_url(&format!("{base}/mentions/{id}")).await;
    browser.wait_text("Timeline").await;
    let ack = browser.find_xpath("//button[starts-with(normalize-space(.), 'Acknowledge')]").await;
    browser.click(&ack).await;
    browser.wait_text("acknowledged by ana").await;
    let m = mention(&db, &lost);
    assert_eq!((m.status, m.acked_by.as_deref()), (Status::Acked, Some("ana")));

    // Assign it to beto.
    browser.goto(&format!("{base}/mentions/{id}")).await;
    browser.wait_text("Timeline").await;
    let beto = browser.find_xpath(&format!("//form[@action='/mentions/{id}/assign']//option[@value='beto']")).await;
    browser.click(&beto).await;
    let assign = browser.find_xpath(&format!("//form[@action='/mentions/{id}/assign']//button[starts-with(normalize-space(.), 'Assign')]")).await;
    browser.click(&assign).await;
    wait_for(LONG, "the assignment stored", &d, || (mention(&db, &lost).assigned_to.as_deref() == Some("beto")).then_some(())).await;

    // Correct the other one: not a complaint.
    browser.goto(&format!("{base}/mentions/{other_id}")).await;
    browser.wait_text("Timeline").await;
    let not = browser.find_xpath("//button[starts-with(normalize-space(.), 'Not a complaint')]").await;
    browser.click(&not).await;
    wait_for(LONG, "the correction stored", &d, || (mention(&db, &other).corrected_by.as_deref() == Some("ana")).then_some(())).await;
    assert!(!mention(&db, &other).class.needs_answer(), "{:?}", mention(&db, &other).class);

    // The CSV export, fetched by the page with its session.
    let csv = browser.run_async("fetch('/export.csv?status=all').then(r => r.text().then(t => done([r.status, r.headers.get('content-type'), t])))").await;
    assert_eq!(csv[0], 200, "{csv}");
    assert!(csv[1].as_str().unwrap_or_default().starts_with("text/csv"), "{csv}");
    let body = csv[2].as_str().unwrap();
    assert!(body.lines().next().unwrap().contains("id,brand,platform,url,author,text,class,status,created_at"), "{body}");
    assert!(body.contains("Perdieron mi maleta"), "{body}");

    // A forged POST (the session cookie, no CSRF token) is refused and changes nothing.
    let forged = browser
        .run_async(&format!(
            "fetch('/mentions/{id}/assign', {{method: 'POST', headers: {{'Content-Type': 'application/x-www-form-urlencoded'}}, body: 'user=ana'}}).then(r => done(r.status))"
        ))
        .await;
    assert_eq!(forged, 403, "a POST without the CSRF token");
    assert_eq!(mention(&db, &lost).assigned_to.as_deref(), Some("beto"));

    // Log out: the session ends.
    let logout = browser.find("form[action='/logout'] button[type=submit]").await;
    browser.click(&logout).await;
    browser.wait_url(&format!("{base}/login")).await;
    browser.goto(&format!("{base}/")).await;
    assert_eq!(browser.url().await, format!("{base}/login"), "logged out: the inbox asks again");
    browser.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_api_lists_and_acts_for_the_token_s_user() {
    let dir = tempfile::tempdir().unwrap();
    let x = FakeX::start().await;
    let port = free_port();
    let config = ConfigToml::new()
        .daemon("escucha.db")
        .set("daemon", "timezone", "UTC")
        .http_with_acks(port, "inbox-test-secret")
        .set("daemon", "trusted_user_header", "X-Forwarded-User")
        .set_raw("daemon", "trusted_proxies", "[\"127.0.0.2\"]");
    let config = quiet_brand(quiet_brand(config, "interjet", "Interjet"), "globex", "Globex");
    let config = users(config.x(&x.base_url(), fake_x::DEFAULT_TOKEN)).write(dir.path());
    let db = dir.path().join("escucha.db");
    let ids = Store::open(&db)
        .unwrap()
        .commit_page(
            "seed",
            Utc::now(),
            &[
                seed("a1", "interjet", Platform::X, "maria", "Perdieron mi maleta", Class::Complaint, Some(Minutes::minutes(5))),
                seed("a2", "interjet", Platform::X, "luis", "Nadie contesta el teléfono", Class::Complaint, Some(Minutes::minutes(15))),
                seed("g1", "globex", Platform::X, "eva", "Globex me cobró doble", Class::Complaint, Some(Minutes::minutes(1))),
            ],
            &[],
            "c",
            Utc::now(),
        )
        .unwrap()
        .inserted;
    let d = Daemon::start(dir.path(), &config, &[]);
    http_up(&d, port).await;
    let cfg = config.to_str().unwrap();
    let (code, out, err) = escucha(&["token", "create", "--user", "ana", "--config", cfg], None);
    assert_eq!(code, 0, "{err}");
    let token = out.trim().to_string();
    let (code, _, err) = escucha(&["token", "create", "--user", "mallory", "--config", cfg], None);
    assert_eq!(code, 1);
    assert!(err.contains("--user mallory: no [[user]]"), "{err}");
    let (code, _, err) = escucha(&["token", "create", "--user", "ana", "--expires", "soon", "--config", cfg], None);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--expires") && err.contains("not a duration"), "{err}");
    // A token for 90 days, and one that expired an hour ago (stored as
    // `token create --expires` would have, 91 days back).
    let (code, out, err) = escucha(&["token", "create", "--user", "beto", "--expires", "90d", "--config", cfg], None);
    assert_eq!(code, 0, "{err}");
    let beto_token = out.trim().to_string();
    let beto_id = escucha::web::auth::session_id(&beto_token)[..12].to_string();
    assert!(err.contains(&format!("token {beto_id} for beto, valid until")), "{err}");
    let old = escucha::web::auth::random_token();
    let created = Utc::now() - Minutes::days(91);
    Store::open(&db).unwrap().create_api_token(&escucha::web::auth::session_id(&old), "ana", created, Some(created + Minutes::days(90))).unwrap();
    let (code, out, err) = escucha(&["token", "list", "--config", cfg], None);
    assert_eq!(code, 0, "{err}");
    let line = |id: &str| out.lines().find(|l| l.starts_with(id)).unwrap_or_else(|| panic!("{id} not in\n{out}")).to_string();
    let listed = line(&beto_id);
    assert!(listed.contains("beto") && listed.ends_with("active"), "{out}");
    let in_90_days = (Utc::now() + Minutes::days(90)).format("%Y-%m-%d").to_string();
    assert!(listed.contains(&in_90_days), "{out}");
    assert!(line(&escucha::web::auth::session_id(&token)[..12]).contains("never"), "{out}");
    assert!(line(&escucha::web::auth::session_id(&old)[..12]).ends_with("expired"), "{out}");
    assert!(!out.contains(&token) && !out.contains(&beto_token), "never the tokens themselves");

    let base = format!("http://127.0.0.1:{port}/api/v1");
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, body: Option<serde_json::Value>, bearer: Option<&str>| {
        let mut req = http.request(method, format!("{base}{path}"));
        if let Some(b) = bearer {
            req = req.header("authorization", format!("Bearer {b}"));
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        async move {
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            (status, serde_json::from_str::<serde_json::Value>(&r.text().await.unwrap()).unwrap())
        }
    };
    use reqwest::Method;

    assert_eq!(call(Method::GET, "/mentions", None, None).await.0, 401);
    assert_eq!(call(Method::GET, "/mentions", None, Some("forged")).await.0, 401);
    // Expired: 401, and the error says so.
    let (status, e) = call(Method::GET, "/mentions", None, Some(&old)).await;
    assert_eq!(status, 401);
    assert!(e["error"].as_str().unwrap().contains("expired at"), "{e}");
    // Valid until revoked; then 401 saying it was revoked.
    assert_eq!(call(Method::GET, "/mentions", None, Some(&beto_token)).await.0, 200);
    let (code, out, err) = escucha(&["token", "revoke", &beto_id, "--config", cfg], None);
    assert_eq!((code, out.trim()), (0, format!("token {beto_id} of beto revoked").as_str()), "{err}");
    let (status, e) = call(Method::POST, &format!("/mentions/{}/ack", ids[0]), None, Some(&beto_token)).await;
    assert_eq!(status, 401);
    assert!(e["error"].as_str().unwrap().contains("was revoked at"), "{e}");
    assert_eq!(mention(&db, "a1").status, Status::Open, "a revoked token changes nothing");
    let (code, out, _) = escucha(&["token", "list", "--config", cfg], None);
    assert!(out.lines().any(|l| l.starts_with(&beto_id) && l.contains("revoked")), "{out}");
    let (code2, _, err) = escucha(&["token", "revoke", "0000000000", "--config", cfg], None);
    assert_eq!((code, code2), (0, 1));
    assert!(err.contains("0000000000: no such token"), "{err}");
    let (status, list) = call(Method::GET, "/mentions?status=open&brand=interjet", None, Some(&token)).await;
    assert_eq!(status, 200);
    let listed: Vec<i64> = list.as_array().unwrap().iter().map(|m| m["id"].as_i64().unwrap()).collect();
    assert_eq!(listed, [ids[0], ids[1]], "interjet's, nearest deadline first: {list}");
    let first = &list[0];
    for key in [
        "id",
        "brand",
        "platform",
        "platform_id",
        "url",
        "author",
        "author_followers",
        "text",
        "lang",
        "class",
        "score",
        "reasons",
        "created_at",
        "status",
        "answered_at",
        "acked_by",
        "alerted_at",
        "assigned_to",
        "notes",
    ] {
        assert!(first.get(key).is_some(), "{key} missing in {first}");
    }

    let a1 = format!("/mentions/{}", ids[0]);
    let (status, m) = call(Method::POST, &format!("{a1}/ack"), None, Some(&token)).await;
    assert_eq!((status, m["status"].as_str(), m["acked_by"].as_str()), (200, Some("acked"), Some("ana")), "{m}");
    let (status, m) = call(Method::POST, &format!("{a1}/assign"), Some(serde_json::json!({"user": "beto"})), Some(&token)).await;
    assert_eq!((status, m["assigned_to"].as_str()), (200, Some("beto")), "{m}");
    assert_eq!(call(Method::POST, &format!("{a1}/assign"), Some(serde_json::json!({"user": "mallory"})), Some(&token)).await.0, 400);
    let (status, m) = call(Method::POST, &format!("{a1}/notes"), Some(serde_json::json!({"text": "la llamé"})), Some(&token)).await;
    assert_eq!((status, m["notes"][0]["by"].as_str(), m["notes"][0]["text"].as_str()), (200, Some("ana"), Some("la llamé")), "{m}");
    let a2 = format!("/mentions/{}", ids[1]);
    let (status, m) = call(Method::POST, &format!("{a2}/class"), Some(serde_json::json!({"class": "neutral"})), Some(&token)).await;
    assert_eq!((status, m["class"].as_str(), m["corrected_by"].as_str()), (200, Some("neutral"), Some("ana")), "{m}");
    assert_eq!(call(Method::POST, &format!("{a2}/class"), Some(serde_json::json!({"class": "angry"})), Some(&token)).await.0, 400);
    assert_eq!(call(Method::POST, "/mentions/999999/ack", None, Some(&token)).await.0, 404);

    // With the inbox's session cookie instead, a POST needs the CSRF header.
    let web = Web::new(&format!("http://127.0.0.1:{port}"));
    assert_eq!(web.login("beto", BETO_PASSWORD).await.status, 303);
    // Beto's `language = "es"`: his inbox is in Spanish.
    let page = web.get("/").await;
    assert!(page.body.contains("<html lang=\"es\">") && page.body.contains("Bandeja de entrada") && page.body.contains("quedan "), "{}", page.body);
    let csrf = page.csrf();
    let cookie = format!("escucha_session={}", web.session().unwrap());
    let g1 = format!("{base}/mentions/{}/ack", ids[2]);
    let r = http.post(&g1).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let r = http.post(&g1).header("cookie", &cookie).header("x-csrf-token", &csrf).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(mention(&db, "g1").acked_by.as_deref(), Some("beto"));

    // Behind a single-sign-on proxy: its user header counts only from
    // trusted_proxies (127.0.0.2 here; the loopback network is all local).
    let inbox = format!("http://127.0.0.1:{port}/");
    let direct = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = direct.get(&inbox).header("x-forwarded-user", "ana").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303, "from an untrusted address the header is ignored");
    let proxy =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap()).build().unwrap();
    let r = proxy.get(&inbox).header("x-forwarded-user", "ana@example.com").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let page = web::Page { status: 200, location: None, set_cookie: None, content_type: String::new(), body: r.text().await.unwrap() };
    assert!(page.body.contains("<span>ana</span>"), "{}", page.body);
    let form = url::form_urlencoded::Serializer::new(String::new()).append_pair("csrf", &page.csrf()).append_pair("text", "desde el proxy").finish();
    let note = |c: &reqwest::Client| {
        c.post(format!("http://127.0.0.1:{port}/mentions/{}/notes", ids[2]))
            .header("x-forwarded-user", "ana")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.clone())
            .send()
    };
    assert_eq!(note(&direct).await.unwrap().status().as_u16(), 401);
    assert_eq!(note(&proxy).await.unwrap().status().as_u16(), 303);
    let notes = Store::open(&db).unwrap().notes(ids[2]).unwrap();
    assert_eq!((notes.len(), notes[0].by.as_str()), (1, "ana"));
    let r = proxy.get(&inbox).header("x-forwarded-user", "mallory").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303, "not a [[user]]");
}
