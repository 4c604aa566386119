//! A fake of the four review APIs for tests, on one loopback HTTP server
//! (shared/api/REFERENCE-reviews.md; "the fake's choices" of its §5):
//!
//! - Google's token endpoint `/token`: the refresh-token grant (Business
//!   Profile) and the JWT-bearer grant (Play), whose RS256 assertion is
//!   checked with the test service account's public key (claims `iss`,
//!   `scope`, `aud`, `iat`/`exp` at most an hour apart), answering Google's
//!   `invalid_grant` bodies when refused;
//! - Business Profile `GET /v4/accounts/{a}/locations/{l}/reviews`: newest
//!   `updateTime` first, `pageSize` (max 50) and `pageToken`; `starRating`
//!   words; `reviewReply` kept with its old time when the author edits;
//! - App Store Connect `GET /v1/apps/{id}/customerReviews`: every request's
//!   ES256 JWT is checked with the test key's public key (`kid`, `iss`,
//!   `aud`, at most 20 minutes to `exp`); `sort=-createdDate`,
//!   `include=response`, `limit` (max 200), `links.next` with a cursor; an
//!   edit moves `createdDate`; `X-Rate-Limit` on every answer;
//! - Play `GET /androidpublisher/v3/applications/{p}/reviews`: only the last
//!   week, newest `lastModified` first, `maxResults`/`token`, string seconds;
//! - Trustpilot's password grant (Basic API key:secret, `expires_in` a
//!   string) and `GET /v1/private/business-units/{id}/reviews` with
//!   `page`/`perPage`, `updatedAt` null until an edit, `companyReply`.
//!
//! Failures can be queued; every request is recorded.
#![allow(dead_code)]

use axum::body::Body;
use axum::extract::{Request, State as AxumState};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Router;
use chrono::{DateTime, Duration as CDuration, SecondsFormat, Utc};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

pub const GBP_CLIENT_ID: &str = "gbp-client.apps.googleusercontent.com";
pub const GBP_CLIENT_SECRET: &str = "gbp-client-secret";
pub const GBP_REFRESH_TOKEN: &str = "1//gbp-refresh-token";
pub const ASC_ISSUER: &str = "57246542-96fe-1a63-e053-0824d011072a";
pub const ASC_KEY_ID: &str = "2X9R4HXF34";
pub const PLAY_EMAIL: &str = "escucha-reviews@interjet-reviews.iam.gserviceaccount.com";
pub const PLAY_KEY_ID: &str = "0123456789abcdef0123456789abcdef01234567";
pub const TP_KEY: &str = "tp-api-key";
pub const TP_SECRET: &str = "tp-api-secret";
pub const TP_USER: &str = "care@interjet.example";
pub const TP_PASSWORD: &str = "tp-password";

pub const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keys");

/// The test-only App Store key (tests/fixtures/keys/README.md).
pub fn app_store_key_path() -> String {
    format!("{KEYS}/app_store_test_AuthKey.p8")
}

/// A service-account key file for the test-only RSA key, as Google Cloud
/// Console writes it.
pub fn service_account_json(token_uri: &str) -> String {
    let key = std::fs::read_to_string(format!("{KEYS}/play_test_private.pem")).unwrap();
    json!({
        "type": "service_account", "project_id": "interjet-reviews", "private_key_id": PLAY_KEY_ID, "private_key": key,
        "client_email": PLAY_EMAIL, "client_id": "109876543210987654321", "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri, "universe_domain": "googleapis.com"
    })
    .to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Google,
    AppStore,
    Play,
    Trustpilot,
}

/// What the next request (any path) gets instead of its answer.
#[derive(Debug, Clone)]
pub enum Failure {
    /// 429 with the platform's body and `Retry-After`.
    RateLimited { retry_after: u64 },
    /// This status (5xx) with the platform's error body.
    ServerError(u16),
    /// 200 with HTML.
    Html,
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub status: u16,
}

impl Recorded {
    pub fn param(&self, name: &str) -> Option<String> {
        parse_form(self.query.as_deref().unwrap_or_default()).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
}

#[derive(Debug, Clone)]
struct FakeReview {
    kind: Kind,
    target: String,
    id: String,
    author: String,
    title: Option<String>,
    text: String,
    stars: u8,
    created: DateTime<Utc>,
    /// None until the author edits.
    updated: Option<DateTime<Utc>>,
    /// (text, last update, published)
    reply: Option<(String, DateTime<Utc>, bool)>,
    seq: u64,
}

impl FakeReview {
    fn touched(&self) -> DateTime<Utc> {
        self.updated.unwrap_or(self.created)
    }
}

#[derive(Default)]
struct State {
    reviews: Vec<FakeReview>,
    seq: u64,
    failures: VecDeque<Failure>,
    requests: Vec<Recorded>,
    /// Access tokens handed out, with their expiry.
    issued: HashMap<String, DateTime<Utc>>,
    token_grants: HashMap<&'static str, u32>,
    /// Credentials refused from now on (revoked key, changed password).
    revoked: bool,
    /// App Store JWT claims seen, and the `aud` of Play assertions.
    app_store_claims: Vec<Value>,
    play_claims: Vec<Value>,
    app_store_used: u32,
    /// Access tokens live this long (seconds).
    token_lifetime: i64,
}

type Shared = Arc<Mutex<State>>;

pub struct FakeReviews {
    state: Shared,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeReviews {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeReviews {
    pub async fn start() -> FakeReviews {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State { token_lifetime: 3599, ..State::default() }));
        let app = Router::new().fallback(handle).with_state((state.clone(), format!("http://{addr}")));
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("fake reviews serve");
        });
        FakeReviews { state, addr, server }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Google's token endpoint (refresh-token and JWT-bearer grants).
    pub fn google_token_url(&self) -> String {
        format!("{}/token", self.base_url())
    }

    pub fn trustpilot_token_url(&self) -> String {
        format!("{}/v1/oauth/oauth-business-users-for-applications/accesstoken", self.base_url())
    }

    /// A review of `target` created now; returns its id.
    pub fn add(&self, kind: Kind, target: &str, author: &str, text: &str, stars: u8) -> String {
        self.add_at(kind, target, author, text, stars, Utc::now())
    }

    pub fn add_at(&self, kind: Kind, target: &str, author: &str, text: &str, stars: u8, at: DateTime<Utc>) -> String {
        let mut s = self.state.lock().unwrap();
        s.seq += 1;
        let seq = s.seq;
        let id = match kind {
            Kind::Google => format!("AbFvOq{seq:018}"),
            Kind::AppStore => format!("00000028-b08c-0014-729e-{seq:012x}"),
            Kind::Play => format!("gp:AOqpTO{seq:010}"),
            Kind::Trustpilot => format!("65f1c0de7a3b2c{seq:010x}"),
        };
        s.reviews.push(FakeReview {
            kind,
            target: target.into(),
            id: id.clone(),
            author: author.into(),
            title: None,
            text: text.into(),
            stars,
            created: at,
            updated: None,
            reply: None,
            seq,
        });
        id
    }

    /// The business replies (published) now.
    pub fn reply(&self, id: &str, text: &str) {
        self.with(id, |r| r.reply = Some((text.into(), Utc::now(), true)));
    }

    /// An App Store response not yet published.
    pub fn reply_pending(&self, id: &str, text: &str) {
        self.with(id, |r| r.reply = Some((text.into(), Utc::now(), false)));
    }

    /// The author edits the review now (the reply, if any, stays).
    pub fn edit(&self, id: &str, text: &str, stars: u8) {
        self.with(id, |r| {
            r.text = text.into();
            r.stars = stars;
            r.updated = Some(Utc::now());
        });
    }

    fn with(&self, id: &str, f: impl FnOnce(&mut FakeReview)) {
        let mut s = self.state.lock().unwrap();
        s.seq += 1;
        let seq = s.seq;
        let r = s.reviews.iter_mut().find(|r| r.id == id).expect("known review");
        f(r);
        r.seq = seq;
    }

    /// Every credential is refused from now on; issued tokens too.
    pub fn revoke(&self) {
        let mut s = self.state.lock().unwrap();
        s.revoked = true;
        s.issued.clear();
    }

    /// Access tokens issued from now on live `secs` seconds.
    pub fn token_lifetime(&self, secs: i64) {
        self.state.lock().unwrap().token_lifetime = secs;
    }

    pub fn fail_next(&self, f: Failure) {
        self.state.lock().unwrap().failures.push_back(f);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Requests to review listings of `kind`.
    pub fn list_requests(&self, kind: Kind) -> Vec<Recorded> {
        self.requests().into_iter().filter(|r| kind_of_path(&r.path) == Some(kind)).collect()
    }

    /// Access tokens granted: "google_refresh", "google_jwt", "trustpilot".
    pub fn grants(&self, grant: &str) -> u32 {
        self.state.lock().unwrap().token_grants.get(grant).copied().unwrap_or(0)
    }

    pub fn app_store_claims(&self) -> Vec<Value> {
        self.state.lock().unwrap().app_store_claims.clone()
    }

    pub fn play_claims(&self) -> Vec<Value> {
        self.state.lock().unwrap().play_claims.clone()
    }
}

fn kind_of_path(path: &str) -> Option<Kind> {
    if path.starts_with("/v4/") {
        Some(Kind::Google)
    } else if path.starts_with("/v1/apps/") {
        Some(Kind::AppStore)
    } else if path.starts_with("/androidpublisher/") {
        Some(Kind::Play)
    } else if path.starts_with("/v1/private/") {
        Some(Kind::Trustpilot)
    } else {
        None
    }
}

fn parse_form(raw: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

fn json_response(status: u16, body: &Value) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header("content-type", "application/json; charset=utf-8")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn google_error(status: u16, canonical: &str, message: &str) -> Response {
    json_response(status, &json!({"error": {"code": status, "message": message, "status": canonical}}))
}

const GOOGLE_401: &str = "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.";

fn apple_error(status: u16, code: &str, title: &str, detail: &str) -> Response {
    json_response(
        status,
        &json!({"errors": [{"id": "2f6b3c1e-6d7a-4f0e-8c2a-91b5d0a7e3f4", "status": status.to_string(), "code": code, "title": title, "detail": detail}]}),
    )
}

fn apple_401() -> Response {
    apple_error(401, "NOT_AUTHORIZED", "Authentication credentials are missing or invalid.", "Provide a properly configured and signed bearer token, and make sure that it has not expired. Learn more about Generating Tokens for API Requests https://developer.apple.com/go/?id=api-generating-tokens")
}

fn trustpilot_fault(status: u16, message: &str) -> Response {
    json_response(status, &json!({"fault": {"faultstring": message, "detail": {"errorcode": "oauth.v2.InvalidAccessToken"}}}))
}

fn failure_response(kind: Option<Kind>, f: &Failure) -> Response {
    match f {
        Failure::RateLimited { retry_after } => {
            let mut r = match kind {
                Some(Kind::AppStore) => apple_error(
                    429,
                    "RATE_LIMIT_EXCEEDED",
                    "The request rate limit has been reached.",
                    "We've received too many requests for this API. Please wait and try again or slow down your request rate.",
                ),
                Some(Kind::Trustpilot) => trustpilot_fault(429, "Rate limit quota violation"),
                _ => google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute'."),
            };
            r.headers_mut().insert("retry-after", retry_after.to_string().parse().unwrap());
            if kind == Some(Kind::AppStore) {
                r.headers_mut().insert("x-rate-limit", "user-hour-lim:3600;user-hour-rem:0;".parse().unwrap());
            }
            r
        }
        Failure::ServerError(code) => match kind {
            Some(Kind::AppStore) => apple_error(*code, "UNEXPECTED_ERROR", "An unexpected error occurred.", "Try again later."),
            Some(Kind::Trustpilot) => trustpilot_fault(*code, "Internal error"),
            _ => google_error(*code, "UNAVAILABLE", "The service is currently unavailable."),
        },
        Failure::Html => Response::builder().status(200).header("content-type", "text/html").body(Body::from("<html><body>Maintenance</body></html>")).unwrap(),
    }
}

fn basic_credentials(headers: &axum::http::HeaderMap) -> Option<(String, String)> {
    let v = headers.get("authorization")?.to_str().ok()?.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(base64_decode(v.trim())?).ok()?;
    let (a, b) = decoded.split_once(':')?;
    Some((a.to_string(), b.to_string()))
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = alphabet.iter().position(|a| *a == c)? as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    Some(out)
}

fn bearer(headers: &axum::http::HeaderMap) -> Option<String> {
    headers.get("authorization")?.to_str().ok()?.strip_prefix("Bearer ").map(str::to_string)
}

async fn handle(AxumState((state, base)): AxumState<(Shared, String)>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().map(str::to_string);
    let kind = kind_of_path(&path);
    let mut s = state.lock().unwrap();
    let failure = s.failures.pop_front();
    let response = match failure {
        Some(f) => failure_response(kind, &f),
        None => route(&mut s, &base, parts.method.as_str(), &path, query.as_deref().unwrap_or_default(), &parts.headers, &body),
    };
    s.requests.push(Recorded { method: parts.method.to_string(), path, query, status: response.status().as_u16() });
    response
}

fn route(s: &mut State, base: &str, method: &str, path: &str, query: &str, headers: &axum::http::HeaderMap, body: &[u8]) -> Response {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let params: HashMap<String, String> = parse_form(query).into_iter().collect();
    match (method, segments.as_slice()) {
        ("POST", ["token"]) => google_token(s, headers, body),
        ("POST", ["v1", "oauth", "oauth-business-users-for-applications", "accesstoken"]) => trustpilot_token(s, headers, body),
        ("GET", ["v4", "accounts", a, "locations", l, "reviews"]) => {
            if !token_ok(s, headers) {
                return google_error(401, "UNAUTHENTICATED", GOOGLE_401);
            }
            google_list(s, &format!("accounts/{a}/locations/{l}"), &params)
        }
        ("GET", ["v1", "apps", app, "customerReviews"]) => app_store_list(s, base, app, &params, headers),
        ("GET", ["androidpublisher", "v3", "applications", package, "reviews"]) => {
            if !token_ok(s, headers) {
                return google_error(401, "UNAUTHENTICATED", GOOGLE_401);
            }
            play_list(s, package, &params)
        }
        ("GET", ["v1", "private", "business-units", unit, "reviews"]) => {
            if !token_ok(s, headers) {
                return trustpilot_fault(401, "Invalid access token");
            }
            trustpilot_list(s, base, unit, &params)
        }
        _ => google_error(404, "NOT_FOUND", "Requested entity was not found."),
    }
}

fn token_ok(s: &State, headers: &axum::http::HeaderMap) -> bool {
    bearer(headers).and_then(|t| s.issued.get(&t).copied()).is_some_and(|exp| exp > Utc::now())
}

fn issue(s: &mut State, grant: &'static str, prefix: &str) -> (String, i64) {
    *s.token_grants.entry(grant).or_default() += 1;
    let n = s.token_grants.values().sum::<u32>();
    let token = format!("{prefix}-{n}");
    s.issued.insert(token.clone(), Utc::now() + CDuration::seconds(s.token_lifetime));
    (token, s.token_lifetime)
}

fn google_token(s: &mut State, headers: &axum::http::HeaderMap, body: &[u8]) -> Response {
    let form: HashMap<String, String> = parse_form(&String::from_utf8_lossy(body)).into_iter().collect();
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    match get("grant_type") {
        "refresh_token" => {
            let (id, secret) = basic_credentials(headers).unwrap_or_else(|| (get("client_id").into(), get("client_secret").into()));
            if id != GBP_CLIENT_ID || secret != GBP_CLIENT_SECRET {
                return json_response(401, &json!({"error": "invalid_client", "error_description": "The OAuth client was not found."}));
            }
            if s.revoked || get("refresh_token") != GBP_REFRESH_TOKEN {
                return json_response(400, &json!({"error": "invalid_grant", "error_description": "Token has been expired or revoked."}));
            }
            let (token, life) = issue(s, "google_refresh", "ya29.gbp");
            json_response(
                200,
                &json!({"access_token": token, "expires_in": life, "scope": "https://www.googleapis.com/auth/business.manage", "token_type": "Bearer"}),
            )
        }
        "urn:ietf:params:oauth:grant-type:jwt-bearer" => {
            let claims = match verify_play_assertion(get("assertion")) {
                Ok(c) => c,
                Err(why) => return json_response(400, &json!({"error": "invalid_grant", "error_description": why})),
            };
            s.play_claims.push(claims);
            if s.revoked {
                // A deleted key: Google no longer knows the signature.
                return json_response(400, &json!({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}));
            }
            let (token, life) = issue(s, "google_jwt", "ya29.play");
            json_response(200, &json!({"access_token": token, "expires_in": life, "token_type": "Bearer"}))
        }
        _ => json_response(400, &json!({"error": "unsupported_grant_type", "error_description": "Invalid grant_type: "})),
    }
}

fn verify_play_assertion(assertion: &str) -> Result<Value, String> {
    use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
    let header = decode_header(assertion).map_err(|_| "Invalid JWT Signature.".to_string())?;
    if header.alg != Algorithm::RS256 {
        return Err("Invalid JWT Signature.".into());
    }
    let public = std::fs::read(format!("{KEYS}/play_test_public.pem")).unwrap();
    let key = DecodingKey::from_rsa_pem(&public).expect("test public key");
    let mut v = Validation::new(Algorithm::RS256);
    v.set_audience(&["https://oauth2.googleapis.com/token"]);
    v.validate_aud = false;
    v.required_spec_claims = ["exp", "iat", "iss", "aud"].iter().map(|s| s.to_string()).collect();
    let data = decode::<Value>(assertion, &key, &v).map_err(|_| "Invalid JWT Signature.".to_string())?;
    let c = data.claims;
    let iat = c["iat"].as_i64().unwrap_or(0);
    let exp = c["exp"].as_i64().unwrap_or(0);
    let now = Utc::now().timestamp();
    if exp - iat > 3600 || iat > now + 60 || exp < now {
        return Err(
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.".into(),
        );
    }
    let aud = c["aud"].as_str().unwrap_or_default();
    // Google's constant, or the configured token URL (REFERENCE-reviews.md §3.1).
    if !(aud == "https://oauth2.googleapis.com/token" || aud.ends_with("/token")) {
        return Err("Invalid JWT: audience".into());
    }
    if c["iss"] != PLAY_EMAIL || c["scope"] != "https://www.googleapis.com/auth/androidpublisher" || header.kid.as_deref() != Some(PLAY_KEY_ID) {
        return Err("Invalid grant: account not found".into());
    }
    Ok(c)
}

fn trustpilot_token(s: &mut State, headers: &axum::http::HeaderMap, body: &[u8]) -> Response {
    let form: HashMap<String, String> = parse_form(&String::from_utf8_lossy(body)).into_iter().collect();
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if basic_credentials(headers) != Some((TP_KEY.into(), TP_SECRET.into())) {
        return trustpilot_fault(401, "Invalid ApiKey");
    }
    if get("grant_type") != "password" || s.revoked || get("username") != TP_USER || get("password") != TP_PASSWORD {
        return json_response(401, &json!({"error": "invalid_grant", "error_description": "Invalid username or password"}));
    }
    let (token, life) = issue(s, "trustpilot", "tp");
    json_response(200, &json!({"access_token": token, "refresh_token": "RefreshToken", "expires_in": life.to_string()}))
}

fn sorted<'a>(s: &'a State, kind: Kind, target: &str, key: impl Fn(&FakeReview) -> DateTime<Utc>) -> Vec<&'a FakeReview> {
    let mut v: Vec<&FakeReview> = s.reviews.iter().filter(|r| r.kind == kind && r.target == target).collect();
    v.sort_by(|a, b| key(b).cmp(&key(a)).then(b.seq.cmp(&a.seq)));
    v
}

fn stars_word(n: u8) -> &'static str {
    ["STAR_RATING_UNSPECIFIED", "ONE", "TWO", "THREE", "FOUR", "FIVE"][usize::from(n.min(5))]
}

fn google_list(s: &State, location: &str, params: &HashMap<String, String>) -> Response {
    let size = params.get("pageSize").and_then(|v| v.parse::<usize>().ok()).unwrap_or(50).clamp(1, 50);
    if params.get("orderBy").is_some_and(|o| !["updateTime desc", "rating", "rating desc"].contains(&o.as_str())) {
        return google_error(400, "INVALID_ARGUMENT", "Invalid orderBy.");
    }
    let start = params.get("pageToken").and_then(|t| t.parse::<usize>().ok()).unwrap_or(0);
    let all = sorted(s, Kind::Google, location, FakeReview::touched);
    let page: Vec<Value> = all
        .iter()
        .skip(start)
        .take(size)
        .map(|r| {
            let mut v = json!({
                "name": format!("{location}/reviews/{}", r.id), "reviewId": r.id,
                "reviewer": {"profilePhotoUrl": "https://lh3.googleusercontent.com/a/x=s120", "displayName": r.author},
                "starRating": stars_word(r.stars), "createTime": rfc3339(r.created), "updateTime": rfc3339(r.touched()),
            });
            if !r.text.is_empty() {
                v["comment"] = json!(r.text);
            }
            if let Some((text, at, _)) = &r.reply {
                v["reviewReply"] = json!({"comment": text, "updateTime": rfc3339(*at)});
            }
            v
        })
        .collect();
    let mut body = json!({"reviews": page, "totalReviewCount": all.len(), "averageRating": 3});
    if start + size < all.len() {
        body["nextPageToken"] = json!((start + size).to_string());
    }
    if all.is_empty() {
        body = json!({});
    }
    json_response(200, &body)
}

fn app_store_list(s: &mut State, base: &str, app: &str, params: &HashMap<String, String>, headers: &axum::http::HeaderMap) -> Response {
    let claims = bearer(headers).ok_or(()).and_then(|t| verify_app_store_jwt(&t).map_err(|_| ()));
    let Ok(claims) = claims else { return apple_401() };
    if s.revoked {
        return apple_401();
    }
    s.app_store_claims.push(claims);
    s.app_store_used += 1;
    let limit = params.get("limit").and_then(|v| v.parse::<usize>().ok()).unwrap_or(50);
    if limit > 200 {
        return apple_error(400, "PARAMETER_ERROR.INVALID", "A parameter has an invalid value", "'limit' must be between 1 and 200");
    }
    let start = params.get("cursor").and_then(|t| t.parse::<usize>().ok()).unwrap_or(0);
    // The fake's choice (§2.4): an edit moves createdDate.
    let all = sorted(s, Kind::AppStore, app, FakeReview::touched);
    let include = params.get("include").is_some_and(|i| i.split(',').any(|x| x == "response"));
    let mut included = Vec::new();
    let data: Vec<Value> = all
        .iter()
        .skip(start)
        .take(limit)
        .map(|r| {
            let mut response = json!({"links": {"self": format!("{base}/v1/customerReviews/{}/relationships/response", r.id)}});
            if include {
                response["data"] = match &r.reply {
                    Some((text, at, published)) => {
                        let rid = format!("resp-{}", r.id);
                        included.push(json!({"type": "customerReviewResponses", "id": rid, "attributes": {
                            "responseBody": text, "lastModifiedDate": at.to_rfc3339_opts(SecondsFormat::Secs, false), "state": if *published { "PUBLISHED" } else { "PENDING_PUBLISH" }}}));
                        json!({"type": "customerReviewResponses", "id": rid})
                    }
                    None => Value::Null,
                };
            }
            json!({"type": "customerReviews", "id": r.id, "attributes": {
                "rating": r.stars, "title": r.title.clone().unwrap_or_else(|| "Review".into()), "body": r.text, "reviewerNickname": r.author,
                "createdDate": r.touched().with_timezone(&chrono::FixedOffset::west_opt(8 * 3600).unwrap()).to_rfc3339_opts(SecondsFormat::Secs, false),
                "territory": "MEX"}, "relationships": {"response": response}})
        })
        .collect();
    let mut links = json!({"self": format!("{base}/v1/apps/{app}/customerReviews")});
    if start + limit < all.len() {
        links["next"] = json!(format!("{base}/v1/apps/{app}/customerReviews?cursor={}&limit={limit}&sort=-createdDate&include=response", start + limit));
    }
    let mut body = json!({"data": data, "links": links, "meta": {"paging": {"total": all.len(), "limit": limit}}});
    if include {
        body["included"] = json!(included);
    }
    let mut r = json_response(200, &body);
    r.headers_mut().insert("x-rate-limit", format!("user-hour-lim:3600;user-hour-rem:{};", 3600u32.saturating_sub(s.app_store_used)).parse().unwrap());
    r
}

fn verify_app_store_jwt(token: &str) -> Result<Value, String> {
    use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
    let header = decode_header(token).map_err(|e| e.to_string())?;
    if header.alg != Algorithm::ES256 || header.kid.as_deref() != Some(ASC_KEY_ID) || header.typ.as_deref() != Some("JWT") {
        return Err("header".into());
    }
    let public = std::fs::read(format!("{KEYS}/app_store_test_public.pem")).unwrap();
    let key = DecodingKey::from_ec_pem(&public).expect("test public key");
    let mut v = Validation::new(Algorithm::ES256);
    v.set_audience(&["appstoreconnect-v1"]);
    v.set_issuer(&[ASC_ISSUER]);
    v.leeway = 0;
    let data = decode::<Value>(token, &key, &v).map_err(|e| e.to_string())?;
    let exp = data.claims["exp"].as_i64().unwrap_or(0);
    if exp - Utc::now().timestamp() > 20 * 60 {
        return Err("expires more than 20 minutes ahead".into());
    }
    Ok(data.claims)
}

fn play_list(s: &State, package: &str, params: &HashMap<String, String>) -> Response {
    let size = params.get("maxResults").and_then(|v| v.parse::<usize>().ok()).unwrap_or(10).clamp(1, 100);
    let start = params.get("token").and_then(|t| t.parse::<usize>().ok()).unwrap_or(0);
    let week_ago = Utc::now() - CDuration::days(7);
    let all: Vec<&FakeReview> = sorted(s, Kind::Play, package, FakeReview::touched).into_iter().filter(|r| r.touched() >= week_ago).collect();
    let ts = |t: DateTime<Utc>| json!({"seconds": t.timestamp().to_string(), "nanos": t.timestamp_subsec_nanos()});
    let reviews: Vec<Value> = all
        .iter()
        .skip(start)
        .take(size)
        .map(|r| {
            let mut comments = vec![json!({"userComment": {"text": r.text, "lastModified": ts(r.touched()), "starRating": r.stars, "reviewerLanguage": "es", "appVersionName": "4.1.3"}})];
            if let Some((text, at, _)) = &r.reply {
                comments.push(json!({"developerComment": {"text": text, "lastModified": ts(*at)}}));
            }
            json!({"reviewId": r.id, "authorName": r.author, "comments": comments})
        })
        .collect();
    let mut body = json!({"reviews": reviews, "pageInfo": {"totalResults": all.len(), "resultPerPage": size, "startIndex": start}});
    if start + size < all.len() {
        body["tokenPagination"] = json!({"nextPageToken": (start + size).to_string()});
    }
    json_response(200, &body)
}

fn trustpilot_list(s: &State, base: &str, unit: &str, params: &HashMap<String, String>) -> Response {
    let per = params.get("perPage").and_then(|v| v.parse::<usize>().ok()).unwrap_or(20).clamp(1, 100);
    let page = params.get("page").and_then(|v| v.parse::<usize>().ok()).unwrap_or(1).max(1);
    let all = sorted(s, Kind::Trustpilot, unit, |r| r.created);
    let reviews: Vec<Value> = all
        .iter()
        .skip((page - 1) * per)
        .take(per)
        .map(|r| {
            json!({
                "id": r.id, "consumer": {"id": format!("c-{}", r.author.to_lowercase().replace(' ', "-")), "displayName": r.author, "numberOfReviews": 1},
                "businessUnit": {"id": unit}, "stars": r.stars, "title": r.title.clone().unwrap_or_else(|| "Reseña".into()), "text": r.text,
                "language": "es", "createdAt": rfc3339(r.created), "updatedAt": r.updated.map(rfc3339),
                "companyReply": r.reply.as_ref().map(|(text, at, _)| json!({"text": text, "authorBusinessUserName": "Care", "createdAt": rfc3339(*at), "updatedAt": null})),
                "status": "active",
            })
        })
        .collect();
    let mut links = Vec::new();
    if page * per < all.len() {
        links.push(
            json!({"href": format!("{base}/v1/private/business-units/{unit}/reviews?perPage={per}&page={}", page + 1), "method": "GET", "rel": "next-page"}),
        );
    }
    json_response(200, &json!({"links": links, "reviews": reviews}))
}
