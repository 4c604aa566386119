//! What the Facebook and Instagram sources share: a client for Meta's Graph
//! API (`{api_base}/{api_version}/{path}?access_token=...`), its error
//! envelope and codes, its usage headers (`X-App-Usage`,
//! `X-Business-Use-Case-Usage`), the throttling pause they call for, and the
//! state of a poll that walks the posts (media) of an account and then the
//! comments under each. No SQL, no alert logic. Shapes and codes:
//! `shared/api/REFERENCE-owned.md` sections F.4–F.6 and I.

use super::http::{truncate_body, Http, Response};
use super::SourceError;
use crate::config::Secret;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

/// Throttle codes (rate-limiting guide): app, user, page, custom, and the
/// Business Use Case limits of Pages and Instagram.
const THROTTLE_CODES: [i64; 6] = [4, 17, 32, 613, 80001, 80002];

/// A usage header at or above this share (percent) of the rolling hour's
/// budget pauses the source for [`FULL_USAGE_PAUSE`]: "When the limit has
/// been reached, stop making API calls. Continuing to make calls will
/// continue to increase your call count" (rate-limiting guide).
const FULL_USAGE: f64 = 100.0;
/// Near the limit, keep a margin: at this share the source slows to one
/// request per [`NEAR_USAGE_GAP`].
const NEAR_USAGE: f64 = 90.0;
/// The guide gives no time when only a percentage is full (the window is a
/// rolling hour); pause this long, then one request learns the new figures.
const FULL_USAGE_PAUSE: chrono::Duration = chrono::Duration::minutes(5);
const NEAR_USAGE_GAP: chrono::Duration = chrono::Duration::seconds(30);
/// A throttle error without `estimated_time_to_regain_access`.
const THROTTLED_PAUSE: chrono::Duration = chrono::Duration::minutes(5);

/// A Graph error as the envelope gives it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct GraphError {
    #[serde(default)]
    pub message: String,
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub code: i64,
    #[serde(default)]
    pub error_subcode: Option<i64>,
}

#[derive(Deserialize)]
struct Envelope {
    error: GraphError,
}

/// Why a Graph request failed, in the terms a caller branches on.
#[derive(Debug)]
pub enum Failure {
    /// Code 100 about a paging cursor (past the edge's limit, or pointing at
    /// a deleted item): start that listing again rather than fail forever.
    BadCursor(String),
    /// Code 100 subcode 33: the object does not exist (a post or media
    /// deleted since it was listed), or the token cannot see it.
    Gone(String),
    Source(SourceError),
}

impl From<SourceError> for Failure {
    fn from(e: SourceError) -> Self {
        Failure::Source(e)
    }
}

impl Failure {
    pub fn into_source(self) -> SourceError {
        match self {
            Failure::Source(e) => e,
            Failure::BadCursor(m) | Failure::Gone(m) => SourceError::Malformed(m),
        }
    }
}

/// One Graph API account (a page or an Instagram account's token).
pub struct Graph {
    http: Http,
    /// `{api_base}/{api_version}`, no trailing slash.
    base: String,
    token: Secret,
    /// `facebook` or `instagram`: message prefix.
    name: &'static str,
    /// Where the token is configured (`[source.facebook] page_token_env`).
    token_key: String,
    /// No request before this (throttled, or usage at the limit).
    paused_until: Mutex<Option<DateTime<Utc>>>,
}

impl Graph {
    pub fn new(name: &'static str, api_base: &str, api_version: &str, token: Secret, token_key: String) -> Graph {
        Graph {
            http: Http::new(name),
            base: format!("{}/{}", api_base.trim_end_matches('/'), api_version.trim_matches('/')),
            token,
            name,
            token_key,
            paused_until: Mutex::new(None),
        }
    }

    pub fn http(&self) -> &Http {
        &self.http
    }

    /// When the usage headers or a throttle error last asked us to stop.
    pub fn paused_until(&self) -> Option<DateTime<Utc>> {
        *self.paused_until.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn pause(&self, until: DateTime<Utc>) {
        let mut p = self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        *p = Some(p.map_or(until, |old| old.max(until)));
    }

    /// GET `{base}/{path}` with `params` and the token; the body as `T`.
    /// While a pause runs, nothing is sent: `RateLimited` until its end.
    pub async fn get<T: serde::de::DeserializeOwned>(&self, path: &str, params: &[(&str, String)]) -> Result<T, Failure> {
        let now = self.http.now();
        if let Some(until) = self.paused_until().filter(|u| *u > now) {
            return Err(SourceError::RateLimited { until: Some(until) }.into());
        }
        let mut query: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        query.push(("access_token", self.token.expose()));
        let req = self.http.client().get(format!("{}/{}", self.base, path.trim_start_matches('/'))).query(&query);
        let resp = self.http.exchange(req).await?;
        let now = self.http.now();
        if let Some(until) = usage_pause(&resp, now) {
            tracing::warn!(source = self.name, until = %until.to_rfc3339(), "Graph API usage is at its limit; pausing this source");
            self.pause(until);
        }
        if resp.status.is_success() {
            return Ok(resp.json(&format!("{}: {}", self.name, path_kind(path)))?);
        }
        Err(self.failure(&resp, now))
    }

    fn failure(&self, resp: &Response, now: DateTime<Utc>) -> Failure {
        let name = self.name;
        let Ok(Envelope { error: e }) = serde_json::from_slice::<Envelope>(&resp.body) else {
            let status = resp.status;
            return Failure::Source(match status.as_u16() {
                500..=599 | 408 | 429 => SourceError::Transient(format!("{name}: server error {status}: {}", truncate_body(&resp.body))),
                _ => SourceError::Malformed(format!("{name}: unexpected status {status}: {}", truncate_body(&resp.body))),
            });
        };
        let message: String = e.message.chars().take(300).collect();
        let code = match e.error_subcode {
            Some(sub) => format!("code {}, subcode {sub}", e.code),
            None => format!("code {}", e.code),
        };
        if e.code == 100 && message.to_lowercase().contains("cursor") {
            return Failure::BadCursor(format!("{name}: {message} ({code})"));
        }
        if e.code == 100 && e.error_subcode == Some(33) {
            return Failure::Gone(format!("{name}: {message} ({code}); check the id in [brand.accounts] {name}"));
        }
        Failure::Source(match e.code {
            c if THROTTLE_CODES.contains(&c) => {
                let until = regain_access(&resp.headers, now).unwrap_or(now + THROTTLED_PAUSE);
                self.pause(until);
                tracing::warn!(source = name, code = c, until = %until.to_rfc3339(), "Graph API throttled this source: {message}");
                SourceError::RateLimited { until: Some(until) }
            }
            190 | 102 => SourceError::Unauthorized(format!(
                "{name}: the access token in {} was refused ({code}: {message}); it has expired or been revoked: \
                 generate a new long-lived token and put it there, then reload escucha",
                self.token_key
            )),
            10 | 200..=299 => SourceError::Unauthorized(format!(
                "{name}: the token in {} lacks a permission ({code}: {message}); grant it to the app and issue a new token",
                self.token_key
            )),

            1 | 2 => SourceError::Transient(format!("{name}: temporary Graph API error ({code}: {message})")),
            _ if resp.status.is_server_error() => SourceError::Transient(format!("{name}: server error {} ({code}: {message})", resp.status)),
            _ => SourceError::Malformed(format!("{name}: Graph API refused the request ({}, {code}: {message})", resp.status)),
        })
    }
}

/// The edge a path reads, for messages (never the ids or the token).
fn path_kind(path: &str) -> &str {
    path.rsplit('/').next().filter(|s| !s.is_empty() && !s.bytes().all(|b| b.is_ascii_digit() || b == b'_')).unwrap_or("node")
}

/// What the usage headers of an answer ask for: a pause until the BUC's
/// `estimated_time_to_regain_access` (minutes), or a short one when a
/// percentage is full or nearly so. None: carry on.
pub fn usage_pause(resp: &Response, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let mut pause = regain_access(&resp.headers, now);
    let usage = max_usage(&resp.headers);
    if usage >= FULL_USAGE {
        pause = Some(pause.map_or(now + FULL_USAGE_PAUSE, |p| p.max(now + FULL_USAGE_PAUSE)));
    } else if usage >= NEAR_USAGE {
        pause = Some(pause.map_or(now + NEAR_USAGE_GAP, |p| p.max(now + NEAR_USAGE_GAP)));
    }
    pause
}

fn header_json(h: &reqwest::header::HeaderMap, name: &str) -> Option<serde_json::Value> {
    h.get(name).and_then(|v| v.to_str().ok()).and_then(|s| serde_json::from_str(s).ok())
}

/// The greatest `estimated_time_to_regain_access` of the BUC header, as an
/// instant; None when it is absent or 0.
pub fn regain_access(h: &reqwest::header::HeaderMap, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let buc = header_json(h, "x-business-use-case-usage")?;
    let minutes = buc
        .as_object()?
        .values()
        .filter_map(|v| v.as_array())
        .flatten()
        .filter_map(|e| e.get("estimated_time_to_regain_access").and_then(|m| m.as_f64()))
        .fold(0.0_f64, f64::max);
    (minutes > 0.0).then(|| now + chrono::Duration::seconds((minutes * 60.0).ceil() as i64))
}

/// The highest percentage in `X-App-Usage` and `X-Business-Use-Case-Usage`.
pub fn max_usage(h: &reqwest::header::HeaderMap) -> f64 {
    let pct =
        |o: &serde_json::Value| ["call_count", "total_time", "total_cputime"].iter().filter_map(|k| o.get(*k).and_then(|v| v.as_f64())).fold(0.0_f64, f64::max);
    let app = header_json(h, "x-app-usage").map_or(0.0, |v| pct(&v));
    let buc = header_json(h, "x-business-use-case-usage")
        .and_then(|v| v.as_object().cloned())
        .map_or(0.0, |o| o.values().filter_map(|v| v.as_array()).flatten().map(pct).fold(0.0_f64, f64::max));
    app.max(buc)
}

/// Graph's times: `2026-11-21T09:00:01+0000` (offset without a colon).
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%z").or_else(|_| DateTime::parse_from_rfc3339(s)).ok().map(|d| d.with_timezone(&Utc))
}

/// A Graph list: `data` and cursor `paging`.
#[derive(Debug, Deserialize)]
pub struct List<T> {
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
    #[serde(default)]
    pub paging: Option<Paging>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Paging {
    #[serde(default)]
    pub cursors: Option<Cursors>,
    #[serde(default)]
    pub next: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Cursors {
    #[serde(default)]
    pub after: Option<String>,
}

impl<T> List<T> {
    /// The `after` cursor when the answer says more follows: a `next` link
    /// ("Stop paging when the `next` link no longer appears"), or, where an
    /// edge sends cursors but never `next` (`/{ig-user-id}/tags`), a
    /// non-empty page with an `after` cursor.
    pub fn after(&self, edge_without_next: bool) -> Option<String> {
        let p = self.paging.as_ref()?;
        let after = p.cursors.as_ref().and_then(|c| c.after.clone()).filter(|a| !a.is_empty());
        if p.next.is_some() || (edge_without_next && !self.data.is_empty()) {
            after
        } else {
            None
        }
    }
}

/// Comments at most this much older than the last poll's start are read
/// again: a comment can show up in the API a little after its
/// `created_time`, and the store drops the repeats.
pub const OVERLAP: chrono::Duration = chrono::Duration::minutes(10);

/// Posts (media) of the account created within this long are looked at on
/// every poll for new comments; older ones only when Graph says they changed
/// (`updated_time`, `comments_count`).
pub const LOOKBACK: chrono::Duration = chrono::Duration::days(14);

/// The poll of a "comments under the account's posts" query, kept in the
/// store's cursor between pages: which posts are still to read, where in
/// each listing we are, and the time from which comments are news.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WalkCursor {
    /// Comments created before this (less [`OVERLAP`]) are not news: the
    /// start of the last complete poll (unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<i64>,
    /// The poll under way: when it started (becomes `since` at its end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<i64>,
    /// The posts listing's next page, while it is being read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posts_after: Option<String>,
    /// Posts whose comments are still to read: (id, permalink).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queue: Vec<(String, String)>,
    /// The comments listing's next page of `queue[0]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comments_after: Option<String>,
    /// Change marks of recent posts (Facebook `updated_time`, Instagram
    /// `comments_count`) as of the last read of their comments.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub marks: std::collections::BTreeMap<String, String>,
}

impl WalkCursor {
    pub fn parse(s: &str) -> Option<WalkCursor> {
        serde_json::from_str(s).ok()
    }
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("cursor serializes")
    }
    /// The earliest creation time that is news in this poll.
    pub fn news_from(&self) -> Option<DateTime<Utc>> {
        self.since.and_then(|s| DateTime::from_timestamp(s, 0)).map(|t| t - OVERLAP)
    }
    /// A poll is under way.
    pub fn in_progress(&self) -> bool {
        self.started.is_some()
    }
    /// Ends the poll: its start is where the next one's news begins.
    pub fn finish(&mut self) {
        if let Some(s) = self.started.take() {
            self.since = Some(s);
        }
        self.posts_after = None;
        self.queue.clear();
        self.comments_after = None;
    }
    pub fn more(&self) -> bool {
        self.started.is_some()
    }
}

/// Time-ordered listings without `since` (tagged posts, media tags): pages
/// until one holds nothing newer than `since`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ListCursor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

impl ListCursor {
    pub fn parse(s: &str) -> Option<ListCursor> {
        serde_json::from_str(s).ok()
    }
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("cursor serializes")
    }
    pub fn news_from(&self) -> Option<DateTime<Utc>> {
        self.since.and_then(|s| DateTime::from_timestamp(s, 0)).map(|t| t - OVERLAP)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_documented_usage_headers_are_read() {
        let now = Utc::now();
        let h = headers(&[
            ("x-app-usage", r#"{"call_count":28,"total_time":25,"total_cputime":25}"#),
            (
                "x-business-use-case-usage",
                r#"{"104567890123456":[{"type":"pages","call_count":97,"total_cputime":23,"total_time":23,"estimated_time_to_regain_access":0}]}"#,
            ),
        ]);
        assert_eq!(max_usage(&h), 97.0);
        assert_eq!(regain_access(&h, now), None);
        let h = headers(&[(
            "x-business-use-case-usage",
            r#"{"1":[{"type":"pages","call_count":100,"total_cputime":33,"total_time":50,"estimated_time_to_regain_access":1}]}"#,
        )]);
        assert_eq!(regain_access(&h, now), Some(now + chrono::Duration::minutes(1)));
    }

    fn answer(status: u16, body: &str, headers: HeaderMap) -> Response {
        Response { status: reqwest::StatusCode::from_u16(status).unwrap(), headers, body: body.as_bytes().to_vec(), rate: Default::default() }
    }

    #[test]
    fn the_recorded_error_bodies_map_to_what_the_daemon_does() {
        let g = Graph::new("facebook", "https://graph.facebook.com/", "v21.0", Secret::new("t"), "[source.facebook] page_token_env (FB_PAGE_TOKEN)".into());
        let now = Utc::now();
        let fixture = |name: &str| std::fs::read_to_string(format!("{}/tests/fixtures/facebook/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        for name in ["error_32_page_limit.json", "error_80001_page_buc.json", "error_rate_limit_app.json"] {
            match g.failure(&answer(400, &fixture(name), HeaderMap::new()), now) {
                Failure::Source(SourceError::RateLimited { until: Some(u) }) => assert_eq!(u, now + THROTTLED_PAUSE, "{name}"),
                other => panic!("{name}: {other:?}"),
            }
        }
        let buc = headers(&[("x-business-use-case-usage", r#"{"1":[{"type":"pages","call_count":100,"estimated_time_to_regain_access":7}]}"#)]);
        match g.failure(&answer(400, &fixture("error_32_page_limit.json"), buc), now) {
            Failure::Source(SourceError::RateLimited { until: Some(u) }) => assert_eq!(u, now + chrono::Duration::minutes(7)),
            other => panic!("{other:?}"),
        }
        for name in ["error_190_expired.json", "error_expired_token.json"] {
            match g.failure(&answer(400, &fixture(name), HeaderMap::new()), now) {
                Failure::Source(SourceError::Unauthorized(m)) => {
                    assert!(m.contains("FB_PAGE_TOKEN") && m.contains("Session has expired"), "{name}: {m}")
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        assert!(matches!(g.failure(&answer(400, &fixture("error_100_cursor_limit.json"), HeaderMap::new()), now), Failure::BadCursor(_)));
        assert!(matches!(g.failure(&answer(502, "<html>Bad Gateway</html>", HeaderMap::new()), now), Failure::Source(SourceError::Transient(_))));
        assert_eq!(g.base, "https://graph.facebook.com/v21.0");
    }

    #[test]
    fn graph_times_have_an_offset_without_a_colon() {
        assert_eq!(parse_time("2026-11-21T09:00:01+0000").unwrap().to_rfc3339(), "2026-11-21T09:00:01+00:00");
        assert_eq!(parse_time("2017-05-19T23:27:28+0000").unwrap().to_rfc3339(), "2017-05-19T23:27:28+00:00");
    }

    #[test]
    fn paging_stops_without_next_except_where_the_edge_never_sends_it() {
        let l: List<serde_json::Value> = serde_json::from_str(r#"{"data":[{"id":"1"}],"paging":{"cursors":{"before":"b","after":"a"}}}"#).unwrap();
        assert_eq!(l.after(false), None);
        assert_eq!(l.after(true).as_deref(), Some("a"));
        let l: List<serde_json::Value> = serde_json::from_str(r#"{"data":[],"paging":{"cursors":{"before":"b","after":"a"}}}"#).unwrap();
        assert_eq!(l.after(true), None);
        let l: List<serde_json::Value> = serde_json::from_str(r#"{"data":[{"id":"1"}],"paging":{"cursors":{"after":"a"},"next":"https://x"}}"#).unwrap();
        assert_eq!(l.after(false).as_deref(), Some("a"));
    }
}
