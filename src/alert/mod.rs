//! Alerting: who to tell and when. Planning is pure (`plan`, `oncall`,
//! `hours` for business and quiet hours, `silence`, `digest` rendering);
//! `dispatch` writes pages to the outbox and delivers them; `render` and
//! `email` and `webhook` turn a page into a message and send it.

pub mod digest;
pub mod dispatch;
pub mod email;
pub mod hours;
pub mod oncall;
pub mod plan;
pub mod render;
pub mod silence;
pub mod templates;
pub mod webhook;
pub mod words;

use crate::config::{Config, Language};
use chrono_tz::Tz;

/// The language and time zone a recipient reads alerts in: their
/// `[[person]]` entry's, else `[daemon]`'s. Webhooks read `[daemon]`'s.
pub fn reader(cfg: &Config, recipient: &str) -> (Language, Tz) {
    let person = cfg.people.iter().find(|p| p.address.eq_ignore_ascii_case(recipient));
    (person.and_then(|p| p.language).unwrap_or(cfg.daemon.language), person.and_then(|p| p.timezone).unwrap_or(cfg.daemon.timezone))
}

/// The web inbox's base URL (`public_url`) when it is on: `[[user]]`
/// entries, `http` and `public_url` configured. Messages then link each
/// mention to `{public_url}/mentions/{id}`.
pub fn inbox_base(cfg: &Config) -> Option<&str> {
    let d = &cfg.daemon;
    match (&d.http, &d.public_url) {
        (Some(_), Some(url)) if !cfg.users.is_empty() => Some(url.as_str()),
        _ => None,
    }
}

/// A mention's page in the web inbox, when it is on.
pub fn inbox_link(cfg: &Config, id: i64) -> Option<String> {
    inbox_base(cfg).map(|base| format!("{}/mentions/{id}", base.trim_end_matches('/')))
}
