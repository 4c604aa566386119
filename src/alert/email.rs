//! Sends a rendered alert over SMTP (lettre) and sorts failures into "try
//! again later" and "this message will never go". Rendering lives in
//! `alert::render`; retries and the outbox belong to the caller.

use crate::alert::render::Rendered;
use crate::config::{Smtp, SmtpSecurity};
use anyhow::Context as _;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// Connect, read and write timeout for one delivery.
const TIMEOUT: Duration = Duration::from_secs(20);

/// Why a delivery failed, sorted by what the caller should do next.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The server was unreachable, slow, said 4xx, or refused our
    /// credentials: the same message may go through later.
    #[error("{0}")]
    Retryable(String),
    /// The server refused this message for good (5xx such as 550 no such
    /// user), or the address cannot be used: resending will not help.
    #[error("{0}")]
    Rejected(String),
}

/// An SMTP client for one `[smtp]` section. Each `send` opens its own
/// connection, so a server that went down and came back needs no reset.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// `host:port`, for error messages.
    server: String,
}

impl Mailer {
    pub fn new(cfg: &Smtp) -> anyhow::Result<Mailer> {
        let from: Mailbox = cfg.from.parse().with_context(|| format!("smtp.from: {:?} is not a mailbox (try \"Escucha <alerts@example.com>\")", cfg.from))?;
        let builder = match cfg.security {
            SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host),
            SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&cfg.host)
                .with_context(|| format!("smtp.host: cannot set up STARTTLS for {:?}", cfg.host))?,
            SmtpSecurity::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&cfg.host).with_context(|| format!("smtp.host: cannot set up TLS for {:?}", cfg.host))?
            }
        };
        let mut builder = builder.port(cfg.port).timeout(Some(TIMEOUT));
        // A username without a password (or the reverse) means no AUTH:
        // config validation is where a half-given pair is reported.
        if let (Some(user), Some(pass)) = (&cfg.username, &cfg.password) {
            builder = builder.credentials(Credentials::new(user.clone(), pass.expose().to_string()));
        }
        Ok(Mailer { transport: builder.build(), from, server: format!("{}:{}", cfg.host, cfg.port) })
    }

    /// Sends `msg` to `to` as multipart/alternative (text, then HTML) with
    /// `Message-ID: <{message_id}@escucha>`: the same alert always carries
    /// the same id, so a second copy (at-least-once delivery) can be spotted.
    pub async fn send(&self, to: &str, msg: &Rendered, message_id: &str) -> Result<(), NotifyError> {
        let to_box: Mailbox = to.parse().map_err(|e| NotifyError::Rejected(format!("{to:?} is not an email address: {e}")))?;
        let email = Message::builder()
            .from(self.from.clone())
            .to(to_box)
            .subject(msg.subject.clone())
            .message_id(Some(format!("<{}@escucha>", id_part(message_id))))
            .date_now()
            .multipart(MultiPart::alternative_plain_html(msg.text.clone(), msg.html.clone()))
            .map_err(|e| NotifyError::Rejected(format!("cannot build the message to {to}: {e}")))?;
        self.transport.send(email).await.map(|_| ()).map_err(|e| classify(&e, to, &self.server))
    }
}

/// Keeps the id inside the angle brackets a valid `id-left` (RFC 5322
/// dot-atom text): anything else becomes `-`, which keeps it deterministic.
fn id_part(id: &str) -> String {
    let cleaned: String = id.chars().map(|c| if c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c) { c } else { '-' }).collect();
    let cleaned = cleaned.trim_matches('.').to_string();
    if cleaned.is_empty() {
        "-".to_string()
    } else {
        cleaned
    }
}

/// lettre's messages never carry the credentials, so `e` is safe to show.
fn classify(e: &lettre::transport::smtp::Error, to: &str, server: &str) -> NotifyError {
    if e.is_permanent() {
        let code = e.status().map(|c| c.to_string()).unwrap_or_default();
        // 53x is about our login, not this message: once the operator fixes
        // the password, the alert must still go out.
        if code.starts_with("53") {
            return NotifyError::Retryable(format!("SMTP server {server} refused our login: {e} (check smtp.username and the password)"));
        }
        return NotifyError::Rejected(format!("SMTP server {server} rejected the message to {to}: {e}"));
    }
    if e.is_transient() {
        return NotifyError::Retryable(format!("SMTP server {server} deferred the message to {to}: {e}"));
    }
    if e.is_timeout() {
        return NotifyError::Retryable(format!("SMTP server {server} timed out: {e}"));
    }
    // Connection refused, reset, TLS trouble, a garbled reply: nothing about
    // this message is wrong, so the next attempt may succeed.
    NotifyError::Retryable(format!("cannot deliver through SMTP server {server}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn cfg(security: SmtpSecurity) -> Smtp {
        Smtp {
            host: "smtp.example.com".into(),
            port: 587,
            security,
            username: Some("alerts@example.com".into()),
            password: Some(Secret::new("hunter2")),
            from: "Escucha <alerts@example.com>".into(),
        }
    }

    #[test]
    fn every_security_mode_builds_a_mailer() {
        for s in [SmtpSecurity::None, SmtpSecurity::Starttls, SmtpSecurity::Tls] {
            Mailer::new(&cfg(s)).unwrap();
        }
    }

    #[test]
    fn a_bad_from_is_reported_with_its_key_and_without_the_password() {
        let mut c = cfg(SmtpSecurity::None);
        c.from = "not a mailbox".into();
        let err = format!("{:#}", Mailer::new(&c).err().unwrap());
        assert!(err.contains("smtp.from"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn message_ids_stay_valid_and_deterministic() {
        assert_eq!(id_part("alert-17.3"), "alert-17.3");
        assert_eq!(id_part("a b<c>@d"), "a-b-c--d");
        assert_eq!(id_part(""), "-");
        assert_eq!(id_part("x\r\ny"), id_part("x\r\ny"));
    }
}
