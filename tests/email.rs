//! Alert emails end to end: render a mention, send it with `Mailer` to the
//! in-process SMTP server over TCP, and check what the server received.

#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/fake_x.rs"]
mod fake_x;
#[path = "support/smtp.rs"]
mod smtp;
#[path = "support/world.rs"]
mod world;

use chrono::{DateTime, Duration, TimeZone, Utc};
use escucha::alert::email::{Mailer, NotifyError};
use escucha::alert::render::{render_alert, AckHow, AlertContext, Rendered};
use escucha::alert::templates::Templates;
use escucha::config::{Language, Secret, Smtp, SmtpSecurity};
use escucha::model::{Class, Mention, Platform, Status};
use smtp::SmtpServer;

const WAIT: std::time::Duration = std::time::Duration::from_secs(10);

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap()
}

fn mention(id: i64, text: &str) -> Mention {
    let created = now() - Duration::minutes(35);
    Mention {
        id,
        brand: "interjet".into(),
        platform: Platform::X,
        platform_id: format!("18{id}"),
        url: format!("https://x.com/ana_g/status/18{id}"),
        author: "ana_g".into(),
        author_id: "77".into(),
        author_followers: Some(5321),
        text: text.into(),
        lang: Some("es".into()),
        class: Class::Complaint,
        score: 0.83,
        reasons: vec!["complaint:phrase:sin respuesta".into()],
        created_at: created,
        seen_at: created,
        deadline: Some(created + Duration::minutes(30)),
        history: false,
        status: Status::Open,
        answered_at: None,
        acked_by: None,
        acked_at: None,
        alerted_at: None,
        reposts: 0,
        corrected_by: None,
        corrected_at: None,
        rating: None,
        assigned_to: None,
    }
}

fn render(brand: &str, ms: &[Mention]) -> Rendered {
    render_in(Language::En, brand, ms)
}

fn render_in(lang: Language, brand: &str, ms: &[Mention]) -> Rendered {
    let ack = |m: &Mention| AckHow { command: format!("escucha ack {}", m.id), ..Default::default() };
    let templates = Templates::builtin();
    render_alert(ms, &AlertContext { brand_name: brand, now: now(), ack: &ack, pending: 0, lang, tz: chrono_tz::UTC, templates: &templates })
}

fn mailer(port: u16) -> Mailer {
    Mailer::new(&Smtp {
        host: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::None,
        username: None,
        password: None,
        from: "Escucha <alerts@escucha.test>".into(),
    })
    .unwrap()
}

#[tokio::test]
async fn a_rendered_alert_reaches_its_recipient_with_subject_and_text_in_both_parts() {
    let server = SmtpServer::start().await;
    let msg = render("Interjet", &[mention(42, "Llevo 3 meses sin respuesta de @Interjet_mx")]);

    mailer(server.port()).send("oncall@example.com", &msg, "alert-42").await.unwrap();

    let got = server.wait_for(1, WAIT).await;
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.from, "alerts@escucha.test");
    assert_eq!(m.to, vec!["oncall@example.com".to_string()]);
    assert_eq!(m.subject().as_deref(), Some("[escucha] complaint about Interjet on x, unanswered for 35m"));
    assert_eq!(m.header("To").as_deref(), Some("oncall@example.com"));
    assert!(m.header("Content-Type").unwrap().starts_with("multipart/alternative"));
    let types: Vec<String> = m.parts().iter().map(|p| p.content_type()).collect();
    assert_eq!(types, ["text/plain", "text/html"], "text first, then HTML (clients show the last they can)");
    let text = m.text_body().expect("a text/plain part");
    let html = m.html_body().expect("a text/html part");
    for body in [&text, &html] {
        assert!(body.contains("Llevo 3 meses sin respuesta de @Interjet_mx"), "{body}");
        assert!(body.contains("@ana_g"), "{body}");
        assert!(body.contains("5321 followers"), "{body}");
        assert!(body.contains("https://x.com/ana_g/status/1842"), "{body}");
        assert!(body.contains("complaint:phrase:sin respuesta"), "{body}");
        assert!(body.contains("escucha ack 42"), "{body}");
    }
}

#[tokio::test]
async fn the_same_alert_always_carries_the_same_message_id() {
    let server = SmtpServer::start().await;
    let mailer = mailer(server.port());
    let msg = render("Interjet", &[mention(7, "sin respuesta")]);

    mailer.send("a@example.com", &msg, "alert-7").await.unwrap();
    mailer.send("a@example.com", &msg, "alert-7").await.unwrap();
    mailer.send("a@example.com", &msg, "alert-8").await.unwrap();

    let got = server.wait_for(3, WAIT).await;
    let ids: Vec<_> = got.iter().map(|m| m.header("Message-ID").unwrap()).collect();
    assert_eq!(ids[0], "<alert-7@escucha>");
    assert_eq!(ids[1], ids[0]);
    assert_eq!(ids[2], "<alert-8@escucha>");
}

#[tokio::test]
async fn a_server_that_is_down_gives_a_retryable_error() {
    let server = SmtpServer::start().await;
    let port = server.port();
    server.stop().await;

    let err = mailer(port).send("a@example.com", &render("Interjet", &[mention(1, "t")]), "alert-1").await.unwrap_err();

    assert!(matches!(err, NotifyError::Retryable(_)), "{err:?}");
    assert!(err.to_string().contains(&format!("127.0.0.1:{port}")), "{err}");
}

#[tokio::test]
async fn delivery_works_again_once_the_server_is_back_on_the_same_port() {
    let server = SmtpServer::start().await;
    let port = server.port();
    let mailer = mailer(port);
    let msg = render("Interjet", &[mention(3, "sigo esperando")]);
    server.stop().await;
    assert!(matches!(mailer.send("a@example.com", &msg, "alert-3").await, Err(NotifyError::Retryable(_))));
    assert!(server.messages().is_empty());

    let back = SmtpServer::start_on(port).await;
    mailer.send("a@example.com", &msg, "alert-3").await.unwrap();

    let got = back.wait_for(1, WAIT).await;
    assert!(got[0].text_body().unwrap().contains("sigo esperando"));
}

#[tokio::test]
async fn an_unknown_recipient_is_rejected_for_good() {
    let server = SmtpServer::start().await;
    server.reject_rcpt("gone@example.com");

    let err = mailer(server.port()).send("gone@example.com", &render("Interjet", &[mention(1, "t")]), "alert-1").await.unwrap_err();

    match &err {
        NotifyError::Rejected(msg) => assert!(msg.contains("550") && msg.contains("gone@example.com"), "{msg}"),
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn a_temporary_failure_is_retryable_and_the_next_attempt_goes_through() {
    let server = SmtpServer::start().await;
    server.temp_fail_next(1);
    let mailer = mailer(server.port());
    let msg = render("Interjet", &[mention(5, "t")]);

    let err = mailer.send("a@example.com", &msg, "alert-5").await.unwrap_err();
    match &err {
        NotifyError::Retryable(msg) => assert!(msg.contains("451"), "{msg}"),
        other => panic!("expected Retryable, got {other:?}"),
    }
    assert!(server.messages().is_empty());

    mailer.send("a@example.com", &msg, "alert-5").await.unwrap();
    assert_eq!(server.wait_for(1, WAIT).await.len(), 1);
}

#[tokio::test]
async fn an_address_that_is_not_an_address_is_rejected_without_sending() {
    let server = SmtpServer::start().await;

    let err = mailer(server.port()).send("not an address", &render("Interjet", &[mention(1, "t")]), "alert-1").await;

    assert!(matches!(err, Err(NotifyError::Rejected(_))), "{err:?}");
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn a_script_in_a_mention_arrives_escaped_in_the_html_part() {
    let server = SmtpServer::start().await;
    let msg = render("Interjet", &[mention(9, "<script>alert('pwned')</script> pésimo servicio")]);

    mailer(server.port()).send("a@example.com", &msg, "alert-9").await.unwrap();

    let got = server.wait_for(1, WAIT).await;
    let html = got[0].html_body().unwrap();
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt; pésimo servicio"), "{html}");
    // The text part is for humans and keeps the words as written.
    assert!(got[0].text_body().unwrap().contains("<script>alert('pwned')</script> pésimo servicio"));
}

#[tokio::test]
async fn accents_and_long_lines_survive_the_trip() {
    // lettre sends this body as base64 and the subject as an RFC 2047 word.
    let server = SmtpServer::start().await;
    let long = "ñ".repeat(300);
    let text = format!("Aeroméxico perdió mi maleta.\n.una línea que empieza con punto\n{long}");
    let msg = render("Aeroméxico", &[mention(11, &text)]);

    mailer(server.port()).send("a@example.com", &msg, "alert-11").await.unwrap();

    let got = server.wait_for(1, WAIT).await;
    assert_eq!(got[0].subject().unwrap(), "[escucha] complaint about Aeroméxico on x, unanswered for 35m");
    let body = got[0].text_body().unwrap().replace("\r\n", "\n");
    assert!(body.contains(&text), "{body}");
}

#[tokio::test]
async fn errors_never_show_the_smtp_password() {
    let server = SmtpServer::start().await;
    let port = server.port();
    server.stop().await;
    let mailer = Mailer::new(&Smtp {
        host: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::None,
        username: Some("alerts@escucha.test".into()),
        password: Some(Secret::new("s3cr3t-pw")),
        from: "Escucha <alerts@escucha.test>".into(),
    })
    .unwrap();

    let err = mailer.send("a@example.com", &render("Interjet", &[mention(1, "t")]), "alert-1").await.unwrap_err();

    assert!(!format!("{err} {err:?}").contains("s3cr3t-pw"));
}

#[tokio::test]
async fn a_lone_dot_line_in_a_mention_does_not_end_the_message_early() {
    let server = SmtpServer::start().await;
    let text = "first line\n.\n..two dots\nlast line";
    let msg = render("Interjet", &[mention(12, text)]);

    mailer(server.port()).send("a@example.com", &msg, "alert-12").await.unwrap();

    let got = server.wait_for(1, WAIT).await;
    let body = got[0].text_body().unwrap().replace("\r\n", "\n");
    assert!(body.contains(text), "{body}");
    assert!(got[0].html_body().unwrap().contains("last line"));
}

fn mailer_with_login(port: u16, user: &str, password: &str) -> Mailer {
    Mailer::new(&Smtp {
        host: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::None,
        username: Some(user.into()),
        password: Some(Secret::new(password)),
        from: "Escucha <alerts@escucha.test>".into(),
    })
    .unwrap()
}

#[tokio::test]
async fn configured_credentials_log_in_before_sending() {
    let server = SmtpServer::start().await;
    server.require_auth("alerts@escucha.test", "right-pw");

    mailer_with_login(server.port(), "alerts@escucha.test", "right-pw")
        .send("a@example.com", &render("Interjet", &[mention(1, "t")]), "alert-1")
        .await
        .unwrap();

    let got = server.wait_for(1, WAIT).await;
    assert_eq!(got[0].auth_user.as_deref(), Some("alerts@escucha.test"));
}

#[tokio::test]
async fn a_refused_login_is_retryable_and_its_error_hides_the_password() {
    let server = SmtpServer::start().await;
    server.require_auth("alerts@escucha.test", "right-pw");

    let err = mailer_with_login(server.port(), "alerts@escucha.test", "wrong-s3cr3t")
        .send("a@example.com", &render("Interjet", &[mention(1, "t")]), "alert-1")
        .await
        .unwrap_err();

    // Fixing the password must let the pending alert go out: not Rejected.
    match &err {
        NotifyError::Retryable(msg) => assert!(msg.contains("535") && msg.contains("smtp.username"), "{msg}"),
        other => panic!("expected Retryable, got {other:?}"),
    }
    assert!(!format!("{err} {err:?}").contains("wrong-s3cr3t"));
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn a_server_that_wants_a_login_we_lack_is_retryable() {
    let server = SmtpServer::start().await;
    server.require_auth("alerts@escucha.test", "right-pw");

    let err = mailer(server.port()).send("a@example.com", &render("Interjet", &[mention(1, "t")]), "alert-1").await;

    assert!(matches!(&err, Err(NotifyError::Retryable(m)) if m.contains("530")), "{err:?}");
}

#[tokio::test]
async fn a_spanish_alert_arrives_in_spanish_with_the_english_class_in_its_subject() {
    let server = SmtpServer::start().await;
    let msg = render_in(Language::Es, "Interjet", &[mention(21, "Llevo 3 meses sin respuesta")]);

    mailer(server.port()).send("guardia@example.com", &msg, "alert-21").await.unwrap();

    let got = server.wait_for(1, WAIT).await;
    assert_eq!(got[0].subject().as_deref(), Some("[escucha] queja (complaint) sobre Interjet en x, sin respuesta desde hace 35m"));
    let text = got[0].text_body().unwrap();
    let html = got[0].html_body().unwrap();
    assert!(text.contains("5321 seguidores") && text.contains("Lo atiendo: ejecuta `escucha ack 21`"), "{text}");
    assert!(html.contains("<html lang=\"es\">") && html.contains("Por qué avisa escucha"), "{html}");
}

/// Untrusted text (a brand's display name from a shared config, a
/// recipient taken from a list) never becomes a header of its own.
#[tokio::test]
async fn a_name_with_cr_lf_cannot_inject_headers_or_recipients() {
    let server = SmtpServer::start().await;
    let msg = render("Interjet\r\nBcc: evil@attacker.example\r\nX-Injected: 1", &[mention(31, "t")]);
    assert!(!msg.subject.contains(['\r', '\n']), "{:?}", msg.subject);

    mailer(server.port()).send("a@example.com", &msg, "alert-31").await.unwrap();
    let err = mailer(server.port()).send("a@example.com\r\nBcc: evil@attacker.example", &msg, "alert-31").await;
    assert!(matches!(err, Err(NotifyError::Rejected(_))), "{err:?}");

    let got = server.wait_for(1, WAIT).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].to, ["a@example.com"], "the envelope has only the real recipient");
    assert_eq!(got[0].header("Bcc"), None);
    assert_eq!(got[0].header("X-Injected"), None);
    let subject = got[0].subject().unwrap();
    assert!(subject.starts_with("[escucha] complaint about Interjet") && subject.contains("X-Injected: 1 on x"), "one header: {subject:?}");

    // A From display name with a line break is refused (it names the key)
    // or sent as one encoded word: never a second header.
    let from = "Escucha\r\nBcc: evil@attacker.example <alerts@escucha.test>";
    let cfg = Smtp { host: "127.0.0.1".into(), port: server.port(), security: SmtpSecurity::None, username: None, password: None, from: from.into() };
    match Mailer::new(&cfg) {
        Err(e) => assert!(format!("{e:#}").contains("smtp.from"), "{e:#}"),
        Ok(m) => {
            m.send("b@example.com", &msg, "alert-32").await.unwrap();
            let got = server.wait_for(2, WAIT).await;
            assert_eq!(got[1].to, ["b@example.com"]);
            assert_eq!(got[1].header("Bcc"), None, "{}", got[1].data);
        }
    }
}

/// The href of the button whose label is `label`, unescaped.
fn button(html: &str, label: &str) -> Option<String> {
    let end = html.find(&format!(">{label}</a>"))?;
    let start = html[..end].rfind("href=\"")? + "href=\"".len();
    let href = &html[start..];
    Some(href[..href.find('"')?].replace("&amp;", "&"))
}

/// The real daemon: a complaint on X is mailed to a person who reads
/// Spanish and to one who reads English; each gets one multipart message
/// in their language, and the buttons work: Acknowledge acks (after the
/// confirmation page, so a mail scanner's GET changes nothing), Not a
/// complaint relabels, Open post is the post and Open in escucha is the
/// inbox's page for the mention.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_mails_each_person_in_their_language_and_the_buttons_work() {
    const LONG: std::time::Duration = std::time::Duration::from_secs(30);
    let (x, smtp) = (fake_x::FakeX::start().await, SmtpServer::start().await);
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let hash = escucha::web::auth::hash_password("pw-for-the-inbox").unwrap();
    let cfg = world::ConfigToml::new()
        .daemon("escucha.db")
        .set("daemon", "timezone", "UTC")
        .http_with_acks(port, "email-test-secret")
        .interjet("1s", "1s", &[("x", "Interjet_mx")])
        .x(&x.base_url(), fake_x::DEFAULT_TOKEN)
        .smtp(smtp.port())
        .oncall(&["guardia@example.com", "ana@example.com"])
        .section("[[person]]", "address = \"guardia@example.com\"\nlanguage = \"es\"")
        .section("[[user]]", &format!("name = \"ana\"\nemail = \"ana@example.com\"\npassword_hash = {}", world::q(&hash)))
        .write(dir.path());
    let db = dir.path().join("escucha.db");
    let d = daemon::Daemon::start(dir.path(), &cfg, &[]);
    daemon::wait_for(LONG, "the first X poll", &d, || daemon::cursor(&db, "x:search:interjet")).await;

    let lost = x.add_tweet(fake_x::NewTweet::new("maria_gz", "@Interjet_mx perdieron mi maleta y nadie responde, pésimo servicio").lang(Some("es")));
    let mail = smtp.wait_for(2, LONG).await;
    let m = daemon::mentions(&db).into_iter().find(|m| m.platform_id == lost).unwrap();
    let to = |who: &str| mail.iter().find(|m| m.to == [who]).unwrap_or_else(|| panic!("a message to {who}"));
    let (es, en) = (to("guardia@example.com"), to("ana@example.com"));
    for msg in [es, en] {
        let types: Vec<String> = msg.parts().iter().map(|p| p.content_type()).collect();
        assert_eq!(types, ["text/plain", "text/html"]);
    }
    assert!(es.subject().unwrap().starts_with("[escucha] queja (complaint) sobre Interjet en x"), "{:?}", es.subject());
    assert!(en.subject().unwrap().starts_with("[escucha] complaint about Interjet on x"), "{:?}", en.subject());
    let (es_html, en_html) = (es.html_body().unwrap(), en.html_body().unwrap());
    assert!(es.text_body().unwrap().contains("perdieron mi maleta") && es_html.contains("perdieron mi maleta"));
    assert!(button(&es_html, "Acknowledge").is_none() && button(&en_html, "Lo atiendo").is_none());

    let base = format!("http://127.0.0.1:{port}");
    assert_eq!(button(&en_html, "Open post").unwrap(), m.url);
    assert_eq!(button(&es_html, "Abrir publicación").unwrap(), m.url);
    let inbox = button(&en_html, "Open in escucha").unwrap();
    assert_eq!(inbox, format!("{base}/mentions/{}", m.id));
    assert_eq!(button(&es_html, "Abrir en escucha").unwrap(), inbox);
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = http.get(&inbox).send().await.unwrap();
    assert!(page.status().is_redirection(), "the inbox asks who you are: {}", page.status());

    // Acknowledge: the GET only shows a confirmation; the POST acks.
    let ack = button(&en_html, "Acknowledge").unwrap();
    assert!(ack.starts_with(&format!("{base}/ack/")), "{ack}");
    assert_eq!(http.get(&ack).send().await.unwrap().status(), 200);
    assert_eq!(daemon::mentions(&db).into_iter().find(|x| x.id == m.id).unwrap().acked_by, None, "a GET changes nothing");
    assert_eq!(http.post(&ack).send().await.unwrap().status(), 200);
    let acked = daemon::mentions(&db).into_iter().find(|x| x.id == m.id).unwrap();
    assert_eq!((acked.status, acked.acked_by.as_deref()), (Status::Acked, Some("ana@example.com")));

    // Not a complaint, from the Spanish message: relabelled neutral.
    let nc = button(&es_html, "No es una queja").unwrap();
    assert!(nc.starts_with(&format!("{base}/not-a-complaint/")), "{nc}");
    assert_eq!(http.post(&nc).send().await.unwrap().status(), 200);
    let relabelled = daemon::mentions(&db).into_iter().find(|x| x.id == m.id).unwrap();
    assert_eq!((relabelled.class, relabelled.corrected_by.as_deref()), (Class::Neutral, Some("guardia@example.com")));
}
