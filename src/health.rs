//! Source health notices: nobody must believe "no complaints" when the truth
//! is "the source broke". When a source has failed for `unhealthy_after`
//! (counted from the first failure after the last success), the on-call
//! people of the brands it serves get one "source <name> is not working"
//! notice; when it works again, one "source <name> recovered". Pure: the
//! daemon decides when, this module decides what to say and to whom.

use crate::alert::oncall;
use crate::alert::plan::LOG_RECIPIENT;
use crate::alert::render::{escape_html, format_age};
use crate::config::Config;
use chrono::{DateTime, Utc};

/// (recipient, subject, text, html)
pub type Notice = (String, String, String, String);

/// Who hears about a source: the on-duty shifts of the rotas of the brands
/// it serves (the log when none).
pub fn recipients(cfg: &Config, brands: &[String], now: DateTime<Utc>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for b in brands {
        let Some(rota) = cfg.brand(b).and_then(|b| b.oncall.as_deref()).and_then(|r| cfg.rota(r)) else { continue };
        for to in oncall::shift_recipients(rota, now) {
            if !out.contains(&to) {
                out.push(to);
            }
        }
    }
    if out.is_empty() {
        out.push(LOG_RECIPIENT.to_string());
    }
    out
}

/// What an operator should look at for this source and error.
pub fn what_to_check(source: &str, error: &str) -> String {
    let e = error.to_lowercase();
    let key = match source {
        "x" => "[source.x] bearer_token_env / bearer_token_file",
        "mastodon" => "[source.mastodon] access_token_env / access_token_file, or [brand.accounts] mastodon_token_env",
        "bluesky" => "[source.bluesky] identifier and app_password_env / app_password_file",
        "reddit" => "[source.reddit] client_id_env and client_secret_env",
        "google_reviews" => "[source.google_reviews] client_id_env, client_secret_env and refresh_token_env (a revoked refresh token needs the location's owner to authorize escucha again)",
        "app_store" => "[source.app_store] issuer_id, key_id and private_key_file (a revoked key needs a new .p8 from App Store Connect)",
        "google_play" => "[source.google_play] service_account_file (its key must not be deleted, and the account needs the Play Console permission to reply to reviews)",
        "trustpilot" => "[source.trustpilot] client_id_env, client_secret_env (the API key and secret), username_env and password_env",
        "facebook" => "[source.facebook] page_token_env / page_token_file (a Page access token of the page in [brand.accounts] facebook)",
        "instagram" => "[source.instagram] access_token_env / access_token_file (with instagram_basic and instagram_manage_comments)",
        "youtube" => "[source.youtube] api_key_env / api_key_file",
        _ => "the source's credentials",
    };
    if e.contains("401") || e.contains("403") || e.contains("refused the") || e.contains("unauthorized") || e.contains("credentials") {
        format!("The platform refused the credentials: check {key}, then reload escucha (systemctl reload escucha).")
    } else if e.contains("timed out") || e.contains("request failed") || e.contains("error sending request") || e.contains("dns") || e.contains("connect") {
        format!(
            "escucha cannot reach the {source} API: check the network, DNS and any proxy from this host, and the source's api_base/instance/service setting."
        )
    } else if e.contains("not found") || e.contains("404") {
        "A configured account or address does not exist: check [brand.accounts] and the source's address.".to_string()
    } else if e.contains("parse") || e.contains("html") || e.contains("malformed") || e.contains("unexpected status") {
        format!("The {source} API answered something escucha cannot read (an HTML page, a changed API, a proxy): check the source's address; the log shows the start of the body.")
    } else {
        format!("The {source} API keeps failing (server errors): check the platform's status page; escucha retries with backoff.")
    }
}

pub fn not_working(cfg: &Config, source: &str, brands: &[String], since: DateTime<Utc>, last_error: &str, now: DateTime<Utc>) -> Vec<Notice> {
    let subject = format!("[escucha] source {source} is not working");
    let check = what_to_check(source, last_error);
    let text = format!(
        "escucha has not been able to read {source} since {since} ({ago} ago).\n\
         Until it works again, mentions on {source} are not being seen: \"no complaints\" from it means nothing.\n\n\
         Last error: {last_error}\n\n\
         What to check: {check}\n\n\
         You will get one \"recovered\" message when it works again.\n",
        since = since.to_rfc3339(),
        ago = format_age(now - since),
    );
    let html = format!(
        "<html><body><h2>Source {src} is not working</h2>\
         <p>escucha has not been able to read {src} since <b>{since}</b> ({ago} ago). Until it works again, mentions on {src} are not being seen.</p>\
         <p><b>Last error:</b> <code>{err}</code></p><p><b>What to check:</b> {check}</p>\
         <p>You will get one \"recovered\" message when it works again.</p></body></html>",
        src = escape_html(source),
        since = escape_html(&since.to_rfc3339()),
        ago = escape_html(&format_age(now - since)),
        err = escape_html(last_error),
        check = escape_html(&check),
    );
    recipients(cfg, brands, now).into_iter().map(|to| (to, subject.clone(), text.clone(), html.clone())).collect()
}

pub fn recovered(cfg: &Config, source: &str, brands: &[String], since: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Vec<Notice> {
    let subject = format!("[escucha] source {source} recovered");
    let down = since.map(|s| format!(" It was failing since {} ({}).", s.to_rfc3339(), format_age(now - s))).unwrap_or_default();
    let text = format!("escucha reads {source} again as of {}.{down}\nMentions posted meanwhile are fetched now and alerted as usual.\n", now.to_rfc3339());
    let html = format!(
        "<html><body><h2>Source {src} recovered</h2><p>escucha reads {src} again as of {now}.{down}</p>\
         <p>Mentions posted meanwhile are fetched now and alerted as usual.</p></body></html>",
        src = escape_html(source),
        now = escape_html(&now.to_rfc3339()),
        down = escape_html(&down),
    );
    recipients(cfg, brands, now).into_iter().map(|to| (to, subject.clone(), text.clone(), html.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_advice_follows_the_error() {
        assert!(what_to_check("x", "x: the platform refused the credentials (401 Unauthorized)").contains("bearer_token_env"));
        assert!(what_to_check("mastodon", "mastodon: request timed out").contains("cannot reach"));
        assert!(what_to_check("x", "x: cannot parse response").contains("cannot read"));
        assert!(what_to_check("reddit", "reddit: server error 503").contains("status page"));
    }
}
