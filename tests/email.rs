//! Alert emails end to end: render a mention, send it with `Mailer` to the
//! in-process SMTP server over TCP, and check what the server received.

#[path = "support/smtp.rs"]
mod smtp;

use chrono::{DateTime, Duration, TimeZone, Utc};
use escucha::alert::email::{Mailer, NotifyError};
use escucha::alert::render::{render_alert, AckHow, AlertContext, Rendered};
use escucha::config::{Secret, Smtp, SmtpSecurity};
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
    let ack = |m: &Mention| AckHow { command: format!("escucha ack {}", m.id), link: None, not_complaint: None };
    render_alert(ms, &AlertContext { brand_name: brand, now: now(), ack: &ack, pending: 0 })
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
