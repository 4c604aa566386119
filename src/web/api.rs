//! `/api/v1`: the inbox's list and actions as JSON, for scripts and other
//! tools. A request is someone's: `Authorization: Bearer TOKEN` (from
//! `escucha token create --user NAME`; a revoked or expired token gets 401
//! with a JSON `error` saying which and when), or the inbox's session cookie, in
//! which case a POST must also carry the session's CSRF token in the
//! `X-CSRF-Token` header. Mentions are the objects `escucha mentions
//! --json` prints; the actions are the inbox's own.

use super::{auth, fields};
use crate::daemon::Shared;
use crate::model::Class;
use crate::store::AckOutcome;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use std::sync::Arc;
use tracing::{error, info};

/// The most mentions one list request returns (`limit`, default 100).
const MAX_LIMIT: usize = 500;

pub fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/v1/mentions", get(list))
        .route("/api/v1/mentions/:id", get(one))
        .route("/api/v1/mentions/:id/ack", post(ack))
        .route("/api/v1/mentions/:id/assign", post(assign))
        .route("/api/v1/mentions/:id/notes", post(add_note))
        .route("/api/v1/mentions/:id/class", post(correct))
}

fn reply(status: StatusCode, v: Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")], v.to_string()).into_response()
}

fn problem(status: StatusCode, message: &str) -> Response {
    reply(status, json!({ "error": message }))
}

fn db_error(e: crate::store::StoreError) -> Response {
    error!(error = %e, "api: database error");
    problem(StatusCode::SERVICE_UNAVAILABLE, "the database does not answer; try again in a minute")
}

/// Who is asking, or the refusal.
fn user(s: &Shared, headers: &HeaderMap, post: bool) -> Result<String, Box<Response>> {
    let bearer = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
    if let Some(token) = bearer {
        let now = s.clock.now();
        let refuse = |why: String| Err(Box::new(problem(StatusCode::UNAUTHORIZED, &why)));
        return match s.store.api_token(&auth::session_id(token)) {
            Ok(None) => refuse("unknown bearer token (make one with `escucha token create --user NAME`)".into()),
            Ok(Some(t)) => match (t.revoked_at, t.expires_at) {
                (Some(at), _) => {
                    refuse(format!("this bearer token ({}) was revoked at {}; make a new one with `escucha token create`", t.public_id(), at.to_rfc3339()))
                }
                (None, Some(at)) if at <= now => {
                    refuse(format!("this bearer token ({}) expired at {}; make a new one with `escucha token create`", t.public_id(), at.to_rfc3339()))
                }
                _ if !s.cfg.users.iter().any(|x| x.name == t.user) => {
                    refuse(format!("this bearer token belongs to {:?}, who is no longer a [[user]] in the config", t.user))
                }
                _ => Ok(t.user),
            },
            Err(e) => Err(Box::new(db_error(e))),
        };
    }
    match super::session(s, headers) {
        Ok(Some((_, sess))) => {
            let csrf = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
            if post && !auth::same(csrf, &sess.csrf) {
                return Err(Box::new(problem(StatusCode::FORBIDDEN, "a POST with the session cookie needs the session's X-CSRF-Token header")));
            }
            Ok(sess.user)
        }
        Ok(None) => Err(Box::new(problem(StatusCode::UNAUTHORIZED, "send Authorization: Bearer TOKEN (escucha token create --user NAME)"))),
        Err(r) => Err(r),
    }
}

/// The mention as JSON (with its notes), or 404.
fn mention(s: &Shared, id: i64) -> Response {
    match (s.store.mention(id), s.store.notes(id)) {
        (Ok(Some(m)), Ok(notes)) => reply(StatusCode::OK, crate::cli::mention_json(&m, &notes)),
        (Ok(None), _) => problem(StatusCode::NOT_FOUND, "no such mention"),
        (Err(e), _) | (_, Err(e)) => db_error(e),
    }
}

fn body(raw: &[u8]) -> Result<Value, Box<Response>> {
    if raw.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(raw).map_err(|e| Box::new(problem(StatusCode::BAD_REQUEST, &format!("the body is not JSON: {e}"))))
}

async fn list(State(s): State<Arc<Shared>>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let who = match user(&s, &headers, false) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    let (mut f, _) = super::filter(&s, &who, query.as_deref());
    let q = fields(query.as_deref().unwrap_or("").as_bytes());
    f.limit = super::field(&q, "limit").and_then(|l| l.parse().ok()).unwrap_or(100).clamp(1, MAX_LIMIT);
    let rows = match s.store.inbox(&f) {
        Ok((rows, _)) => rows,
        Err(e) => return db_error(e),
    };
    let mut out = Vec::with_capacity(rows.len());
    for m in &rows {
        match s.store.notes(m.id) {
            Ok(notes) => out.push(crate::cli::mention_json(m, &notes)),
            Err(e) => return db_error(e),
        }
    }
    reply(StatusCode::OK, Value::Array(out))
}

async fn one(State(s): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<i64>) -> Response {
    match user(&s, &headers, false) {
        Ok(_) => mention(&s, id),
        Err(r) => *r,
    }
}

async fn ack(State(s): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<i64>) -> Response {
    let who = match user(&s, &headers, true) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    match s.store.ack(id, &who, s.clock.now()) {
        Ok(AckOutcome::NotFound) => problem(StatusCode::NOT_FOUND, "no such mention"),
        Ok(outcome) => {
            if outcome == AckOutcome::Acked {
                info!(mention = id, by = %who, "mention acknowledged through the API");
                s.wake.notify_one();
            }
            mention(&s, id)
        }
        Err(e) => db_error(e),
    }
}

async fn assign(State(s): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<i64>, raw: Bytes) -> Response {
    let who = match user(&s, &headers, true) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    let v = match body(&raw) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let to = match &v["user"] {
        Value::Null => None,
        Value::String(u) if s.cfg.users.iter().any(|x| &x.name == u) => Some(u.as_str()),
        other => return problem(StatusCode::BAD_REQUEST, &format!("user: {other} is not the name of a [[user]] (or null for nobody)")),
    };
    match s.store.assign(id, to) {
        Ok(true) => {
            info!(mention = id, to = to.unwrap_or("nobody"), by = %who, "mention assigned through the API");
            mention(&s, id)
        }
        Ok(false) => problem(StatusCode::NOT_FOUND, "no such mention"),
        Err(e) => db_error(e),
    }
}

async fn add_note(State(s): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<i64>, raw: Bytes) -> Response {
    let who = match user(&s, &headers, true) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    let v = match body(&raw) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let Some(text) = v["text"].as_str().map(str::trim).filter(|t| !t.is_empty()) else {
        return problem(StatusCode::BAD_REQUEST, "text: give the note's text");
    };
    match s.store.add_note(id, &who, text, s.clock.now()) {
        Ok(true) => mention(&s, id),
        Ok(false) => problem(StatusCode::NOT_FOUND, "no such mention"),
        Err(e) => db_error(e),
    }
}

async fn correct(State(s): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<i64>, raw: Bytes) -> Response {
    let who = match user(&s, &headers, true) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    let v = match body(&raw) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let Some(class) = v["class"].as_str().and_then(Class::parse) else {
        return problem(StatusCode::BAD_REQUEST, "class: expected praise, complaint, escalation or neutral");
    };
    match s.store.mention(id) {
        Ok(Some(_)) => {}
        Ok(None) => return problem(StatusCode::NOT_FOUND, "no such mention"),
        Err(e) => return db_error(e),
    }
    match crate::cli::correct(&s.cfg, &s.store, id, class, &who, s.clock.now()) {
        Ok(what) => {
            info!(mention = id, by = %who, class = %class, "{what}");
            s.wake.notify_one();
            mention(&s, id)
        }
        Err(e) => problem(StatusCode::SERVICE_UNAVAILABLE, &format!("{e:#}")),
    }
}
