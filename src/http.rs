//! The daemon's HTTP server (`[daemon] http`): `/healthz`, `/metrics` and the
//! signed ack and "not a complaint" links; and, with `[[user]]`s, the web
//! inbox (`crate::web`). It binds exactly the configured address; the examples
//! and docs use loopback (`127.0.0.1:8686`), and anything else is an
//! operator's explicit choice (put a TLS proxy in front for `public_url`).
//!
//! Pages are self-contained HTML (no scripts, styles inline, no external
//! resources) and escape every value they show. Tokens are never logged.

use crate::ack::{self, AckError, Purpose};
use crate::alert::render::escape_html;
use crate::daemon::Shared;
use crate::metrics::{self, Gauge};
use crate::model::{Class, LabelOrigin, Mention, Status};
use crate::store::{AckOutcome, CorrectOutcome};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

/// Binds `addr` (host:port). Done before the tasks start, so that a taken
/// port is reported at startup, not lost in a task. SO_REUSEADDR: after a
/// reload the old server's closed connections linger in TIME_WAIT on this
/// port, and must not stop the new server from binding it.
pub fn bind(addr: &str) -> anyhow::Result<tokio::net::TcpListener> {
    use anyhow::Context as _;
    use std::net::ToSocketAddrs as _;
    let what = || format!("daemon.http: cannot listen on {addr:?}");
    let sa = addr.to_socket_addrs().with_context(what)?.next().with_context(what)?;
    let socket = if sa.is_ipv4() { tokio::net::TcpSocket::new_v4() } else { tokio::net::TcpSocket::new_v6() }.with_context(what)?;
    socket.set_reuseaddr(true).with_context(what)?;
    socket.bind(sa).with_context(|| format!("{} (is another process using the port?)", what()))?;
    socket.listen(1024).with_context(what)
}

/// The routes, over the daemon's shared state.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .route("/ack/:token", get(ack_page).post(ack_post))
        .route("/not-a-complaint/:token", get(not_complaint_page).post(not_complaint_post))
        .merge(crate::web::router(&shared))
        .with_state(shared)
}

/// Serves until `cancel` fires; requests in flight finish first.
pub async fn serve(listener: tokio::net::TcpListener, shared: Arc<Shared>, cancel: CancellationToken) {
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    info!(address = %addr, "HTTP server listening");
    let app = router(shared);
    // The client's address: the inbox limits wrong passwords per address.
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(async move { cancel.cancelled().await }).await {
        error!(address = %addr, error = %e, "HTTP server stopped");
    }
}

async fn healthz(State(s): State<Arc<Shared>>) -> Response {
    // A database that takes no writes (locked by another process, disk
    // full) is asked first: it is known without waiting on the connection.
    // It is not part of `healthy()`: a watchdog restart would not free it.
    let why = match s.store.unavailable().map(Err).unwrap_or_else(|| s.healthy()) {
        Err(why) => Some(why),
        Ok(()) => {
            let disabled = s.disabled_sources();
            (!disabled.is_empty()).then(|| {
                let list: Vec<String> = disabled.iter().map(|(n, why)| format!("source {n} is disabled: {why}")).collect();
                list.join("\n")
            })
        }
    };
    match why {
        None if s.leases.shared() => {
            let held: Vec<String> = s.leases.held().into_iter().map(|(n, until)| format!("{n} (until {})", until.to_rfc3339())).collect();
            let held = if held.is_empty() { "none (standing by)".to_string() } else { held.join(", ") };
            (StatusCode::OK, format!("ok\nholder: {}\nleases: {held}\n", s.leases.holder)).into_response()
        }
        None => (StatusCode::OK, "ok\n").into_response(),
        Some(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("unhealthy: {why}\n")).into_response(),
    }
}

async fn metrics_text(State(s): State<Arc<Shared>>) -> Response {
    match gauges(&s) {
        Ok(g) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], metrics::global().render(&g)).into_response(),
        Err(e) => {
            error!(error = %e, "cannot read metrics from the database");
            (StatusCode::SERVICE_UNAVAILABLE, format!("database: {e}\n")).into_response()
        }
    }
}

/// Gauges read from the store and the shared state at scrape time.
fn gauges(s: &Shared) -> crate::store::Result<Vec<Gauge>> {
    let now = s.clock.now();
    let mentions = s.store.mention_counts()?;
    let depth = s.store.outbox_depth()?;
    let oldest = s.store.oldest_unanswered()?;
    let oldest_open = s.store.oldest_open()?;
    let successes = s.store.last_successes()?;
    Ok(vec![
        Gauge {
            name: "escucha_build_info",
            help: "Always 1; the version and commit of the running escucha.",
            samples: vec![(vec![("version", env!("CARGO_PKG_VERSION").to_string()), ("commit", env!("ESCUCHA_COMMIT").to_string())], 1.0)],
        },
        Gauge {
            name: "escucha_oldest_open_complaint_timestamp_seconds",
            help: "When the brand's oldest complaint or escalation that nobody acknowledged or answered was posted (Unix time); absent when there is none.",
            samples: oldest_open.into_iter().map(|(b, t)| (vec![("brand", b)], t.timestamp() as f64)).collect(),
        },
        Gauge {
            name: "escucha_source_last_success_timestamp_seconds",
            help: "When the source last completed a round without errors (Unix time).",
            samples: successes.into_iter().map(|(src, t)| (vec![("source", src)], t.timestamp() as f64)).collect(),
        },
        Gauge {
            name: "escucha_mentions",
            help: "Stored mentions by brand, platform and class.",
            samples: mentions.into_iter().map(|(b, p, c, n)| (vec![("brand", b), ("platform", p), ("class", c)], n as f64)).collect(),
        },
        Gauge { name: "escucha_outbox_depth", help: "Alerts and notices waiting to be delivered.", samples: vec![(vec![], depth as f64)] },
        Gauge {
            name: "escucha_oldest_unanswered_complaint_age_seconds",
            help: "Age of the oldest complaint or escalation the brand has not answered (acknowledged included).",
            samples: oldest.into_iter().map(|(b, t)| (vec![("brand", b)], (now - t).num_seconds().max(0) as f64)).collect(),
        },
        Gauge {
            name: "escucha_lease_held",
            help: "1 for each lease this daemon holds (several daemons on one PostgreSQL database share sources and alerts by lease).",
            samples: s.leases.held().into_iter().map(|(n, _)| (vec![("lease", n)], 1.0)).collect(),
        },
        Gauge {
            name: "escucha_source_disabled",
            help: "1 for a source disabled until restart (credentials refused).",
            samples: s.disabled_sources().into_iter().map(|(n, _)| (vec![("source", n)], 1.0)).collect(),
        },
    ])
}

/// What a token check ended in, as a page.
fn refused(e: AckError) -> Response {
    match e {
        AckError::Tampered => page(
            StatusCode::FORBIDDEN,
            "Link not valid",
            "<p>This acknowledgement link is not valid: it was altered or cut short. \
             Open the link from the alert again, or run the <code>escucha ack</code> command it shows.</p>",
        ),
        AckError::Expired => page(
            StatusCode::GONE,
            "Link expired",
            "<p>This acknowledgement link has expired (links are valid for 7 days). \
             Run the <code>escucha ack</code> command shown in the alert instead.</p>",
        ),
    }
}

fn not_enabled() -> Response {
    page(StatusCode::NOT_FOUND, "Ack links are off", "<p>This escucha does not have <code>ack_secret</code> configured.</p>")
}

fn key(s: &Shared) -> Option<Vec<u8>> {
    s.cfg.daemon.ack_secret.as_ref().map(|k| k.expose().as_bytes().to_vec())
}

async fn ack_page(State(s): State<Arc<Shared>>, Path(token): Path<String>) -> Response {
    let Some(key) = key(&s) else { return not_enabled() };
    let claims = match ack::verify(&token, &key, s.clock.now()) {
        Ok(c) => c,
        Err(e) => return refused(e),
    };
    let m = match s.store.mention(claims.mention_id) {
        Ok(Some(m)) => m,
        Ok(None) => return page(StatusCode::NOT_FOUND, "Mention not found", "<p>This mention is no longer in escucha's database.</p>"),
        Err(e) => return db_error(e),
    };
    match m.status {
        Status::Acked => already_acked(m.acked_by.as_deref(), m.acked_at),
        Status::Answered => already_answered(),
        Status::Open => {
            let link = if m.url.starts_with("https://") || m.url.starts_with("http://") {
                format!("<p><a href=\"{0}\">{0}</a></p>", escape_html(&m.url))
            } else {
                String::new()
            };
            let body = format!(
                "{summary}{link}\
                 <p>Acknowledging stops further pages for this mention. You are acknowledging as <b>{who}</b>.</p>\n\
                 <form method=\"post\" action=\"/ack/{token}\"><button type=\"submit\" style=\"font-size:1.2em;padding:.5em 1em\">I'm on it</button></form>",
                summary = summary(&s, &m),
                who = escape_html(&claims.recipient),
                token = escape_html(&token),
            );
            page(StatusCode::OK, "Acknowledge this mention?", &body)
        }
    }
}

async fn ack_post(State(s): State<Arc<Shared>>, Path(token): Path<String>) -> Response {
    let Some(key) = key(&s) else { return not_enabled() };
    let now = s.clock.now();
    let claims = match ack::verify(&token, &key, now) {
        Ok(c) => c,
        Err(e) => {
            warn!(reason = %e, "ack link refused");
            return refused(e);
        }
    };
    match s.store.ack(claims.mention_id, &claims.recipient, now) {
        Ok(AckOutcome::Acked) => {
            info!(mention = claims.mention_id, by = %claims.recipient, "mention acknowledged by link");
            // Notices (PagerDuty acknowledge) were queued with the ack.
            s.wake.notify_one();
            page(
                StatusCode::OK,
                "Acknowledged",
                &format!(
                    "<p>Thanks, {}: mention {} is acknowledged and nobody else will be paged for it.</p>",
                    escape_html(&claims.recipient),
                    claims.mention_id
                ),
            )
        }
        Ok(AckOutcome::AlreadyAcked) => match s.store.mention(claims.mention_id) {
            Ok(m) => {
                let m = m.as_ref();
                already_acked(m.and_then(|m| m.acked_by.as_deref()), m.and_then(|m| m.acked_at))
            }
            Err(e) => db_error(e),
        },
        Ok(AckOutcome::AlreadyAnswered) => already_answered(),
        Ok(AckOutcome::NotFound) => page(StatusCode::NOT_FOUND, "Mention not found", "<p>This mention is no longer in escucha's database.</p>"),
        Err(e) => db_error(e),
    }
}

fn already_acked(by: Option<&str>, at: Option<chrono::DateTime<chrono::Utc>>) -> Response {
    let at = at.map(|t| format!(" at {}", t.format("%Y-%m-%d %H:%M UTC"))).unwrap_or_default();
    page(
        StatusCode::OK,
        "Already acknowledged",
        &format!("<p>This mention was already acknowledged by <b>{}</b>{at}. Nothing changed.</p>", escape_html(by.unwrap_or("someone"))),
    )
}

fn already_answered() -> Response {
    page(StatusCode::OK, "Already answered", "<p>The brand already answered this mention. Nothing changed.</p>")
}

fn db_error(e: crate::store::StoreError) -> Response {
    error!(error = %e, "ack page: database error");
    page(StatusCode::SERVICE_UNAVAILABLE, "Try again", "<p>escucha cannot read its database right now. Try again in a minute.</p>")
}

/// A "not a complaint" token check that failed, as a page.
fn not_complaint_refused(e: AckError) -> Response {
    match e {
        AckError::Tampered => page(
            StatusCode::FORBIDDEN,
            "Link not valid",
            "<p>This \"not a complaint\" link is not valid: it was altered or cut short. \
             Open the link from the alert again, or run <code>escucha correct ID --class neutral</code>.</p>",
        ),
        AckError::Expired => page(
            StatusCode::GONE,
            "Link expired",
            "<p>This \"not a complaint\" link has expired (links are valid for 7 days). \
             Run <code>escucha correct ID --class neutral</code> instead.</p>",
        ),
    }
}

fn mention_gone() -> Response {
    page(StatusCode::NOT_FOUND, "Mention not found", "<p>This mention is no longer in escucha's database.</p>")
}

/// The mention needs no answer any more: someone (maybe this very link)
/// already said so. Nothing changes.
fn already_corrected(m: &Mention) -> Response {
    let who = match (&m.corrected_by, m.corrected_at) {
        (Some(by), Some(at)) => format!(" by <b>{}</b> at {}", escape_html(by), at.format("%Y-%m-%d %H:%M UTC")),
        (Some(by), None) => format!(" by <b>{}</b>", escape_html(by)),
        _ => String::new(),
    };
    page(
        StatusCode::OK,
        "Already corrected",
        &format!("<p>This mention is already marked {}{who}; it does not page anyone. Nothing changed.</p>", escape_html(m.class.as_str())),
    )
}

async fn not_complaint_page(State(s): State<Arc<Shared>>, Path(token): Path<String>) -> Response {
    let Some(key) = key(&s) else { return not_enabled() };
    let claims = match ack::verify_for(Purpose::NotComplaint, &token, &key, s.clock.now()) {
        Ok(c) => c,
        Err(e) => return not_complaint_refused(e),
    };
    let m = match s.store.mention(claims.mention_id) {
        Ok(Some(m)) => m,
        Ok(None) => return mention_gone(),
        Err(e) => return db_error(e),
    };
    if !m.class.needs_answer() {
        return already_corrected(&m);
    }
    let body = format!(
        "{summary}\
         <p>Marking it as not a complaint relabels it <b>neutral</b>: its alerts stop, and escucha's classifier learns from it. \
         You are correcting as <b>{who}</b>.</p>\n\
         <form method=\"post\" action=\"/not-a-complaint/{token}\"><button type=\"submit\" style=\"font-size:1.2em;padding:.5em 1em\">Not a complaint</button></form>",
        summary = summary(&s, &m),
        who = escape_html(&claims.recipient),
        token = escape_html(&token),
    );
    page(StatusCode::OK, "Not a complaint?", &body)
}

/// What a link's confirmation page shows of the mention (escaped: it is a
/// stranger's text).
fn summary(s: &Shared, m: &crate::model::Mention) -> String {
    format!(
        "<p>{class} about <b>{brand}</b> on {platform} by @{author}:</p>\n<blockquote>{text}</blockquote>\n",
        class = escape_html(m.class.as_str()),
        brand = escape_html(&brand_name(s, &m.brand)),
        platform = escape_html(m.platform.as_str()),
        author = escape_html(m.author.trim_start_matches('@')),
        text = escape_html(&m.text),
    )
}

async fn not_complaint_post(State(s): State<Arc<Shared>>, Path(token): Path<String>) -> Response {
    let Some(key) = key(&s) else { return not_enabled() };
    let now = s.clock.now();
    let claims = match ack::verify_for(Purpose::NotComplaint, &token, &key, now) {
        Ok(c) => c,
        Err(e) => {
            warn!(reason = %e, "not-a-complaint link refused");
            return not_complaint_refused(e);
        }
    };
    // Already praise or neutral (relabelled by someone, or by this link):
    // leave it as it is rather than turn praise into neutral.
    match s.store.mention(claims.mention_id) {
        Ok(Some(m)) if !m.class.needs_answer() => return already_corrected(&m),
        Ok(Some(_)) => {}
        Ok(None) => return mention_gone(),
        Err(e) => return db_error(e),
    }
    match s.store.correct(claims.mention_id, Class::Neutral, &claims.recipient, LabelOrigin::Link, now, None) {
        Ok(CorrectOutcome::Corrected { from }) => {
            info!(mention = claims.mention_id, by = %claims.recipient, from = %from, "mention relabelled neutral by link");
            // Acknowledge notices for paged webhooks were queued with it.
            s.wake.notify_one();
            page(
                StatusCode::OK,
                "Marked as not a complaint",
                &format!(
                    "<p>Thanks, {}: mention {} is now neutral (it was {}). Its alerts stop, and escucha learns from it.</p>",
                    escape_html(&claims.recipient),
                    claims.mention_id,
                    escape_html(from.as_str())
                ),
            )
        }
        Ok(CorrectOutcome::AlreadyThat) => match s.store.mention(claims.mention_id) {
            Ok(Some(m)) => already_corrected(&m),
            Ok(None) => mention_gone(),
            Err(e) => db_error(e),
        },
        Ok(CorrectOutcome::NotFound) => mention_gone(),
        Err(e) => db_error(e),
    }
}

fn brand_name(s: &Shared, id: &str) -> String {
    s.cfg.brand(id).map_or_else(|| id.to_string(), |b| b.name.clone())
}

/// A whole page; `body` is already-escaped HTML.
fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>escucha: {t}</title></head>\n<body style=\"font-family:sans-serif;max-width:40em;margin:2em auto;padding:0 1em\">\n\
         <h1>{t}</h1>\n{body}\n</body>\n</html>\n",
        t = escape_html(title)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            // The token is in the URL: do not hand it to other sites.
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        html,
    )
        .into_response()
}
