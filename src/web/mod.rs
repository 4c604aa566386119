//! The web inbox, served on `[daemon] http` when the config has `[[user]]`
//! entries: log in, the list of open complaints and escalations by
//! deadline, one mention with its timeline, and the team's actions
//! (acknowledge, assign, note, correct the class, silence), a CSV export,
//! a numbers page, and the same as JSON under `/api/v1` (`api.rs`).
//!
//! Every POST but the login form carries the session's CSRF token in a
//! hidden `csrf` field; a POST whose `Origin` is another site is refused as
//! well. The actions reuse the store's (and `escucha correct`'s) code, so a
//! click does exactly what the command line does. Pages: `pages.rs`;
//! passwords, tokens and cookies: `auth.rs`; words in English and
//! Spanish: `i18n.rs`. `live.js` (a few lines, no build step) polls
//! `/live` and refreshes the open list when it changed; without
//! JavaScript the pages work the same, by reloading.

pub mod api;
pub mod auth;
pub mod i18n;
pub mod pages;

use crate::daemon::Shared;
use crate::model::{Class, Platform, Status};
use crate::store::{AckOutcome, InboxFilter, Session};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use tracing::{error, info, warn};

/// How many mentions a page of the inbox lists.
pub const PAGE_SIZE: usize = 50;
/// The most rows one CSV export holds.
const EXPORT_LIMIT: usize = 100_000;

/// What the inbox keeps in memory: nothing today. Sessions, API tokens
/// and the count of wrong passwords are in the database, shared by every
/// daemon on it.
#[derive(Default)]
pub struct WebState {}

/// The words of `user`'s pages: their `[[user]] language`, else
/// `[daemon] language` (also for pages before logging in).
fn texts(s: &Shared, user: Option<&str>) -> &'static i18n::Texts {
    let lang = user.and_then(|u| s.cfg.users.iter().find(|x| x.name == u)).and_then(|u| u.language).unwrap_or(s.cfg.daemon.language);
    i18n::texts(lang)
}

/// What `live.js` is: served from here, so the page's CSP allows only
/// this origin's scripts.
const LIVE_JS: &str = include_str!("live.js");

/// The inbox's routes (none when no `[[user]]` is configured).
pub fn router(shared: &Arc<Shared>) -> Router<Arc<Shared>> {
    if shared.cfg.users.is_empty() {
        return Router::new();
    }
    Router::new()
        .route("/", get(inbox))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/ack", post(bulk_ack))
        .route("/export.csv", get(export))
        .route("/numbers", get(numbers))
        .route("/live", get(live))
        .route("/live.js", get(live_js))
        .route("/mentions/:id", get(mention_page))
        .route("/mentions/:id/ack", post(ack))
        .route("/mentions/:id/assign", post(assign))
        .route("/mentions/:id/notes", post(add_note))
        .route("/mentions/:id/class", post(correct))
        .route("/mentions/:id/silence", post(silence))
        .merge(api::router())
        .layer(axum::middleware::from_fn_with_state(shared.clone(), untrusted_user_header))
}

/// Drops `[daemon] trusted_user_header` from requests that do not come
/// from one of `trusted_proxies`: anyone else could name any user.
async fn untrusted_user_header(State(s): State<Arc<Shared>>, mut req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if let Some(h) = &s.cfg.daemon.trusted_user_header {
        let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        if !peer.is_some_and(|ip| s.cfg.daemon.trusted_proxies.contains(&ip)) && req.headers_mut().remove(h).is_some() {
            warn!(header = %h, peer = ?peer, "inbox: ignored a user header from an address not in trusted_proxies");
        }
    }
    next.run(req).await
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::HeaderName::from_static("x-frame-options"), "DENY"),
            (
                header::HeaderName::from_static("content-security-policy"),
                "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'",
            ),
        ],
        body,
    )
        .into_response()
}

fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

fn db_error(t: &i18n::Texts, e: crate::store::StoreError) -> Response {
    error!(error = %e, "inbox: database error");
    html(StatusCode::SERVICE_UNAVAILABLE, pages::message(t, t.try_again, t.db_down, None))
}

/// Form or query fields, in order (repeated names kept: `id=1&id=2`).
fn fields(raw: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw).into_owned().collect()
}

fn field<'a>(f: &'a [(String, String)], name: &str) -> Option<&'a str> {
    f.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Whether cookies must be Secure: the inbox is reached over https.
fn secure(s: &Shared) -> bool {
    s.cfg.daemon.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
}

/// The logged-in session and its id, if the request carries a live one.
fn session(s: &Shared, headers: &HeaderMap) -> Result<Option<(String, Session)>, Box<Response>> {
    let Some(token) = headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|h| auth::cookie(h, auth::COOKIE)) else {
        return proxy_session(s, headers);
    };
    let id = auth::session_id(token);
    match s.store.session(&id, s.clock.now()) {
        // A user removed from the config is logged out at once.
        Ok(Some(sess)) if s.cfg.users.iter().any(|u| u.name == sess.user) => Ok(Some((id, sess))),
        Ok(_) => proxy_session(s, headers),
        Err(e) => Err(Box::new(db_error(texts(s, None), e))),
    }
}

/// The session of the user a trusted single-sign-on proxy names (the
/// header reaches here only from `trusted_proxies`), kept in the database
/// under `sso:NAME` for its CSRF token.
fn proxy_session(s: &Shared, headers: &HeaderMap) -> Result<Option<(String, Session)>, Box<Response>> {
    let Some(h) = &s.cfg.daemon.trusted_user_header else { return Ok(None) };
    let Some(user) = headers.get(h).and_then(|v| v.to_str().ok()).and_then(|v| s.cfg.user(v)) else { return Ok(None) };
    let id = format!("sso:{}", user.name);
    let now = s.clock.now();
    match s.store.session_or_create(&id, &user.name, &auth::random_token(), now, now + auth::SESSION_LIFETIME) {
        Ok(sess) => Ok(Some((id, sess))),
        Err(e) => Err(Box::new(db_error(texts(s, Some(&user.name)), e))),
    }
}

/// A POST from another site: its `Origin` is neither this host (the
/// `Host` header) nor `public_url` (a TLS proxy in front may rewrite
/// `Host`). Refused whatever it carries. No `Origin`: older browsers and
/// scripts; the CSRF token decides.
fn foreign_origin(s: &Shared, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return false };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let origin_host = origin.split_once("://").map_or(origin, |(_, h)| h);
    let public = s.cfg.daemon.public_url.as_deref().and_then(|u| url::Url::parse(u).ok()).map(|u| u.origin().ascii_serialization());
    !(origin_host.eq_ignore_ascii_case(host) || public.is_some_and(|p| p.eq_ignore_ascii_case(origin)))
}

/// The session of a state-changing request, checked against its CSRF
/// token; or the response refusing it.
fn authorized(s: &Shared, headers: &HeaderMap, form: &[(String, String)]) -> Result<(String, Session), Box<Response>> {
    let Some((id, sess)) = session(s, headers)? else {
        let t = texts(s, None);
        return Err(Box::new(html(StatusCode::UNAUTHORIZED, pages::message(t, t.log_in_again, t.session_ended, None))));
    };
    let token_ok = field(form, "csrf").is_some_and(|t| auth::same(t, &sess.csrf));
    if !token_ok || foreign_origin(s, headers) {
        warn!(user = %sess.user, "inbox: POST refused: missing or wrong CSRF token, or another site's origin");
        let t = texts(s, Some(&sess.user));
        return Err(Box::new(html(StatusCode::FORBIDDEN, pages::message(t, t.refused, t.csrf_refused, None))));
    }
    Ok((id, sess))
}

async fn login_page(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    match session(&s, &headers) {
        Ok(Some(_)) => see_other("/"),
        Ok(None) => html(StatusCode::OK, pages::login(texts(&s, None), None, "")),
        Err(r) => *r,
    }
}

async fn login(State(s): State<Arc<Shared>>, connect: Option<ConnectInfo<SocketAddr>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = fields(&body);
    let username = field(&form, "username").unwrap_or("").trim().to_string();
    let password = field(&form, "password").unwrap_or("").to_string();
    let t = texts(&s, None);
    if foreign_origin(&s, &headers) {
        return html(StatusCode::FORBIDDEN, pages::login(t, Some(t.login_own_page), &username));
    }
    let now = s.clock.now();
    let window_start = now - auth::FAILURE_WINDOW;
    let user = s.cfg.user(&username).cloned();
    // One count per person, whether they type their name or their email.
    let name_key = format!("name:{}", user.as_ref().map_or_else(|| username.to_lowercase(), |u| u.name.clone()));
    let addr_key = format!("addr:{}", connect.map(|c| c.0.ip().to_string()).unwrap_or_default());
    let blocked = s
        .store
        .login_blocked(&name_key, auth::MAX_FAILURES, window_start)
        .and_then(|by_name| Ok(by_name || s.store.login_blocked(&addr_key, auth::MAX_FAILURES_PER_ADDRESS, window_start)?));
    match blocked {
        Ok(false) => {}
        Ok(true) => {
            warn!(login = %username, "inbox: login refused: too many wrong passwords");
            let minutes = auth::FAILURE_WINDOW.num_minutes().to_string();
            return html(StatusCode::TOO_MANY_REQUESTS, pages::login(t, Some(&i18n::fill(t.too_many_failures, &[("n", &minutes)])), &username));
        }
        Err(e) => return db_error(t, e),
    }
    let hash = user.as_ref().map_or_else(|| auth::dummy_hash().to_string(), |u| u.password_hash.expose().to_string());
    // argon2 takes tens of milliseconds of CPU: off the async workers.
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash)).await.unwrap_or(false);
    let Some(user) = user.filter(|_| ok) else {
        if let Err(e) = s.store.login_failed(&name_key, now, window_start).and_then(|()| s.store.login_failed(&addr_key, now, window_start)) {
            return db_error(t, e);
        }
        warn!(login = %username, "inbox: wrong name or password");
        return html(StatusCode::UNAUTHORIZED, pages::login(t, Some(t.wrong_password), &username));
    };
    let token = auth::random_token();
    let csrf = auth::random_token();
    let started = s
        .store
        .login_succeeded(&name_key)
        .and_then(|()| s.store.create_session(&auth::session_id(&token), &user.name, &csrf, now, now + auth::SESSION_LIFETIME));
    if let Err(e) = started {
        return db_error(t, e);
    }
    info!(user = %user.name, "inbox: logged in");
    let mut r = see_other("/");
    r.headers_mut().insert(header::SET_COOKIE, auth::set_cookie(Some(&token), secure(&s)).parse().expect("cookie header"));
    r
}

async fn logout(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let (id, sess) = match authorized(&s, &headers, &fields(&body)) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    if let Err(e) = s.store.end_session(&id) {
        return db_error(texts(&s, Some(&sess.user)), e);
    }
    info!(user = %sess.user, "inbox: logged out");
    let mut r = see_other("/login");
    r.headers_mut().insert(header::SET_COOKIE, auth::set_cookie(None, secure(&s)).parse().expect("cookie header"));
    r
}

/// The list's filter from its query string (unknown values are ignored),
/// and the same filter as a query string without the offset.
fn filter(s: &Shared, user: &str, query: Option<&str>) -> (InboxFilter, String) {
    let q = fields(query.unwrap_or("").as_bytes());
    let get = |k: &str| field(&q, k).map(str::trim).filter(|v| !v.is_empty());
    let f = InboxFilter {
        brand: get("brand").filter(|b| s.cfg.brand(b).is_some()).map(str::to_string),
        platform: get("platform").and_then(Platform::parse),
        class: get("class").and_then(Class::parse),
        status: match get("status") {
            Some("all") => None,
            Some("acknowledged" | "acked") => Some(Status::Acked),
            Some("answered") => Some(Status::Answered),
            _ => Some(Status::Open),
        },
        search: get("q").map(str::to_string),
        assigned: match get("assigned") {
            None => None,
            Some("nobody") => Some(None),
            Some("me") => Some(Some(user.to_string())),
            Some(u) => Some(Some(u.to_string())),
        },
        created_from: get("from").and_then(|d| day_start(s, d, 0)),
        // `to` is the last day included.
        created_before: get("to").and_then(|d| day_start(s, d, 1)),
        offset: get("offset").and_then(|o| o.parse().ok()).unwrap_or(0),
        limit: PAGE_SIZE,
    };
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for k in ["brand", "platform", "class", "status", "assigned", "q", "from", "to"] {
        if let Some(v) = get(k) {
            out.append_pair(k, v);
        }
    }
    (f, out.finish())
}

/// A YYYY-MM-DD query parameter as given, if it is one (for the form).
fn date_param(query: Option<&str>, name: &str) -> String {
    let q = fields(query.unwrap_or("").as_bytes());
    field(&q, name).filter(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok()).unwrap_or("").to_string()
}

/// Midnight (in `[daemon] timezone`) starting the day `plus` days after
/// the date `d` (YYYY-MM-DD).
fn day_start(s: &Shared, d: &str, plus: u64) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::TimeZone as _;
    let day = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()?.checked_add_days(chrono::Days::new(plus))?;
    let local = s.cfg.daemon.timezone.from_local_datetime(&day.and_hms_opt(0, 0, 0)?).earliest()?;
    Some(local.with_timezone(&chrono::Utc))
}

async fn inbox(State(s): State<Arc<Shared>>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let sess = match session(&s, &headers) {
        Ok(Some((_, sess))) => sess,
        Ok(None) => return see_other("/login"),
        Err(r) => return *r,
    };
    let t = texts(&s, Some(&sess.user));
    let (f, q) = filter(&s, &sess.user, query.as_deref());
    let (rows, total, latest) = match s.store.inbox_page(&f) {
        Ok(x) => x,
        Err(e) => return db_error(t, e),
    };
    let view = pages::ListView {
        user: &sess.user,
        csrf: &sess.csrf,
        filter: &f,
        query: &q,
        brands: s.cfg.brands.iter().map(|b| (b.id.clone(), b.name.clone())).collect(),
        users: s.cfg.users.iter().map(|u| u.name.clone()).collect(),
        from: date_param(query.as_deref(), "from"),
        to: date_param(query.as_deref(), "to"),
        total,
        signature: signature(total, latest),
        now: s.clock.now(),
    };
    html(StatusCode::OK, pages::inbox(t, &view, &rows, |id| brand_name(&s, id)))
}

/// What changes when a mention enters or leaves a filtered list: how many
/// pass the filter, and the newest of them.
fn signature(total: u64, latest: Option<i64>) -> String {
    format!("{total}-{}", latest.unwrap_or(0))
}

/// `/live?<the list's filters>`: the list's signature as JSON, for
/// `live.js` to compare with the one its page was drawn with.
async fn live(State(s): State<Arc<Shared>>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let json =
        |status: StatusCode, body: String| (status, [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")], body).into_response();
    let sess = match session(&s, &headers) {
        Ok(Some((_, sess))) => sess,
        Ok(None) => return json(StatusCode::UNAUTHORIZED, serde_json::json!({ "error": "not logged in" }).to_string()),
        Err(r) => return *r,
    };
    let (f, _) = filter(&s, &sess.user, query.as_deref());
    match s.store.inbox_signature(&f) {
        Ok((total, latest)) => json(StatusCode::OK, serde_json::json!({ "sig": signature(total, latest), "total": total, "latest": latest }).to_string()),
        Err(e) => {
            error!(error = %e, "inbox: database error");
            json(StatusCode::SERVICE_UNAVAILABLE, serde_json::json!({ "error": "the database does not answer" }).to_string())
        }
    }
}

async fn live_js() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "max-age=300")], LIVE_JS).into_response()
}

fn brand_name(s: &Shared, id: &str) -> String {
    s.cfg.brand(id).map_or_else(|| id.to_string(), |b| b.name.clone())
}

async fn export(State(s): State<Arc<Shared>>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let sess = match session(&s, &headers) {
        Ok(Some((_, sess))) => sess,
        Ok(None) => return see_other("/login"),
        Err(r) => return *r,
    };
    let (mut f, _) = filter(&s, &sess.user, query.as_deref());
    f.offset = 0;
    f.limit = EXPORT_LIMIT;
    let rows = match s.store.inbox(&f) {
        Ok((rows, _)) => rows,
        Err(e) => return db_error(texts(&s, Some(&sess.user)), e),
    };
    let mut csv = String::from(pages::CSV_HEADER);
    for m in &rows {
        csv.push_str(&pages::csv_row(m));
    }
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"escucha-mentions.csv\""),
            (header::CACHE_CONTROL, "no-store"),
        ],
        csv,
    )
        .into_response()
}

async fn mention_page(State(s): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<i64>) -> Response {
    let sess = match session(&s, &headers) {
        Ok(Some((_, sess))) => sess,
        Ok(None) => return see_other("/login"),
        Err(r) => return *r,
    };
    let t = texts(&s, Some(&sess.user));
    let m = match s.store.mention(id) {
        Ok(Some(m)) => m,
        Ok(None) => return not_found(t, &sess),
        Err(e) => return db_error(t, e),
    };
    let now = s.clock.now();
    let read = || -> crate::store::Result<_> {
        let silences: Vec<_> = s.store.active_silences(now)?.into_iter().filter(|x| crate::alert::silence::matches(x, &m, now)).collect();
        Ok((s.store.notes(id)?, s.store.pages_of(id)?, s.store.author_complaints(&m, 20)?, silences))
    };
    let (notes, pages_sent, history, silences) = match read() {
        Ok(x) => x,
        Err(e) => return db_error(t, e),
    };
    let view = pages::MentionView {
        user: &sess.user,
        csrf: &sess.csrf,
        brand_name: brand_name(&s, &m.brand),
        mention: &m,
        notes: &notes,
        pages: &pages_sent,
        users: s.cfg.users.iter().map(|u| u.name.clone()).collect(),
        history: &history,
        silences: &silences,
        now,
    };
    html(StatusCode::OK, pages::mention(t, &view))
}

fn not_found(t: &i18n::Texts, sess: &Session) -> Response {
    html(StatusCode::NOT_FOUND, pages::message(t, t.not_found_title, t.not_found, Some((&sess.user, &sess.csrf))))
}

async fn ack(State(s): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<i64>, body: Bytes) -> Response {
    let (_, sess) = match authorized(&s, &headers, &fields(&body)) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let t = texts(&s, Some(&sess.user));
    match s.store.ack(id, &sess.user, s.clock.now()) {
        Ok(AckOutcome::NotFound) => not_found(t, &sess),
        Ok(outcome) => {
            if outcome == AckOutcome::Acked {
                info!(mention = id, by = %sess.user, "mention acknowledged in the inbox");
                // Resolution notices (PagerDuty acknowledge) were queued with it.
                s.wake.notify_one();
            }
            see_other(&format!("/mentions/{id}"))
        }
        Err(e) => db_error(t, e),
    }
}

async fn bulk_ack(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = fields(&body);
    let (_, sess) = match authorized(&s, &headers, &form) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let now = s.clock.now();
    let mut acked = 0;
    for id in form.iter().filter(|(k, _)| k == "id").filter_map(|(_, v)| v.parse::<i64>().ok()) {
        match s.store.ack(id, &sess.user, now) {
            Ok(AckOutcome::Acked) => acked += 1,
            Ok(_) => {}
            Err(e) => return db_error(texts(&s, Some(&sess.user)), e),
        }
    }
    if acked > 0 {
        info!(count = acked, by = %sess.user, "mentions acknowledged in the inbox");
        s.wake.notify_one();
    }
    see_other("/")
}

async fn assign(State(s): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<i64>, body: Bytes) -> Response {
    let form = fields(&body);
    let (_, sess) = match authorized(&s, &headers, &form) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let t = texts(&s, Some(&sess.user));
    let to = field(&form, "user").map(str::trim).filter(|u| !u.is_empty());
    if let Some(u) = to {
        if !s.cfg.users.iter().any(|x| x.name == u) {
            return html(
                StatusCode::BAD_REQUEST,
                pages::message(t, t.no_such_user_title, &i18n::fill(t.no_such_user, &[("user", &format!("{u:?}"))]), Some((&sess.user, &sess.csrf))),
            );
        }
    }
    match s.store.assign(id, to) {
        Ok(true) => {
            info!(mention = id, to = to.unwrap_or("nobody"), by = %sess.user, "mention assigned in the inbox");
            see_other(&format!("/mentions/{id}"))
        }
        Ok(false) => not_found(t, &sess),
        Err(e) => db_error(t, e),
    }
}

async fn add_note(State(s): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<i64>, body: Bytes) -> Response {
    let form = fields(&body);
    let (_, sess) = match authorized(&s, &headers, &form) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let t = texts(&s, Some(&sess.user));
    let text = field(&form, "text").map(str::trim).unwrap_or("");
    if text.is_empty() {
        return see_other(&format!("/mentions/{id}"));
    }
    match s.store.add_note(id, &sess.user, text, s.clock.now()) {
        Ok(true) => see_other(&format!("/mentions/{id}")),
        Ok(false) => not_found(t, &sess),
        Err(e) => db_error(t, e),
    }
}

async fn correct(State(s): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<i64>, body: Bytes) -> Response {
    let form = fields(&body);
    let (_, sess) = match authorized(&s, &headers, &form) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let t = texts(&s, Some(&sess.user));
    let Some(class) = field(&form, "class").and_then(Class::parse) else {
        return html(StatusCode::BAD_REQUEST, pages::message(t, t.which_class_title, t.which_class, Some((&sess.user, &sess.csrf))));
    };
    // Exactly `escucha correct`: the same deadline, label and message.
    match crate::cli::correct(&s.cfg, &s.store, id, class, &sess.user, s.clock.now()) {
        Ok(what) => {
            info!(mention = id, by = %sess.user, class = %class, "{what}");
            s.wake.notify_one();
            see_other(&format!("/mentions/{id}"))
        }
        Err(e) => html(StatusCode::NOT_FOUND, pages::message(t, t.not_corrected, &format!("{e:#}"), Some((&sess.user, &sess.csrf)))),
    }
}

/// Silences the mention's author on its platform, or its whole brand, for
/// one of [`pages::SILENCE_FOR`]: the same silence as `escucha silence`.
async fn silence(State(s): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<i64>, body: Bytes) -> Response {
    let form = fields(&body);
    let (_, sess) = match authorized(&s, &headers, &form) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let t = texts(&s, Some(&sess.user));
    let user = Some((sess.user.as_str(), sess.csrf.as_str()));
    let m = match s.store.mention(id) {
        Ok(Some(m)) => m,
        Ok(None) => return not_found(t, &sess),
        Err(e) => return db_error(t, e),
    };
    let reason = field(&form, "reason").map(str::trim).unwrap_or("");
    let duration = field(&form, "for").filter(|f| pages::SILENCE_FOR.contains(f)).and_then(|f| humantime::parse_duration(f).ok());
    let (Some(duration), false) = (duration, reason.is_empty()) else {
        return html(StatusCode::BAD_REQUEST, pages::message(t, t.not_silenced_title, t.not_silenced, user));
    };
    let (platform, author) = match field(&form, "scope") {
        Some("brand") => (None, None),
        _ => (Some(m.platform.as_str()), Some(m.author.trim_start_matches('@'))),
    };
    let now = s.clock.now();
    let until = now + chrono::Duration::from_std(duration).unwrap_or_default();
    match s.store.add_silence(&m.brand, platform, author, until, reason, &sess.user, now) {
        Ok(silence) => {
            info!(silence, mention = id, brand = %m.brand, by = %sess.user, "silence set in the inbox");
            see_other(&format!("/mentions/{id}"))
        }
        Err(e) => db_error(t, e),
    }
}

/// Totals over the period, and per-day figures for the days it covers
/// (in `[daemon] timezone`, ending today).
async fn numbers(State(s): State<Arc<Shared>>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    use chrono::TimeZone as _;
    let sess = match session(&s, &headers) {
        Ok(Some((_, sess))) => sess,
        Ok(None) => return see_other("/login"),
        Err(r) => return *r,
    };
    let t = texts(&s, Some(&sess.user));
    let q = fields(query.unwrap_or_default().as_bytes());
    let (since, days) = field(&q, "since").and_then(|p| pages::PERIODS.iter().find(|(v, _)| *v == p)).copied().unwrap_or(pages::PERIODS[1]);
    let now = s.clock.now();
    let from = now - humantime::parse_duration(since).ok().and_then(|d| chrono::Duration::from_std(d).ok()).unwrap_or_default();
    let tz = s.cfg.daemon.timezone;
    let first_day = now.with_timezone(&tz).date_naive() - chrono::Days::new(u64::from(days) - 1);
    let day_from = tz
        .from_local_datetime(&first_day.and_hms_opt(0, 0, 0).unwrap_or_default())
        .earliest()
        .map_or(now - chrono::Duration::days(i64::from(days)), |d| d.with_timezone(&chrono::Utc));
    let read = || -> crate::store::Result<_> { Ok((s.store.stats(from)?, s.store.daily_answers(day_from, now, tz)?, s.store.overdue_counts(now)?)) };
    let (rows, daily, overdue) = match read() {
        Ok(x) => x,
        Err(e) => return db_error(t, e),
    };
    html(StatusCode::OK, pages::numbers(t, (&sess.user, &sess.csrf), since, &rows, &daily, &overdue, |b| brand_name(&s, b)))
}
