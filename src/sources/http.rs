//! The HTTP client every source shares: timeouts, a user agent, a bounded
//! body, rate-limit headers of every family the platforms use, the pacing
//! that keeps a daemon's requests inside each platform's published limits,
//! and the mapping from HTTP status to [`SourceError`].

use super::SourceError;
use crate::clock::{Clock, SystemClock};
use chrono::{DateTime, TimeZone, Utc};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// Bodies larger than this are refused as malformed: a platform page is a few
/// hundred kB at most, and a runaway body must not grow memory without bound.
pub const MAX_BODY: usize = 8 * 1024 * 1024;

pub const USER_AGENT: &str = concat!("escucha/", env!("CARGO_PKG_VERSION"), " (+https://github.com/escucha)");

/// What a response's headers said about the rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RateLimit {
    pub limit: Option<f64>,
    pub remaining: Option<f64>,
    pub reset: Option<DateTime<Utc>>,
    /// `Retry-After`, resolved to an instant.
    pub retry_after: Option<DateTime<Utc>>,
    /// Requests used in the window (Reddit's `x-ratelimit-used`; its limit
    /// is used + remaining).
    pub used: Option<f64>,
}

impl RateLimit {
    /// Reads `x-rate-limit-*` (X: reset in epoch seconds), `X-RateLimit-*`
    /// (Mastodon: reset is an ISO-8601 timestamp; Reddit: reset is seconds
    /// left), `RateLimit-*` (Bluesky/IETF draft: epoch seconds or seconds
    /// left) and `Retry-After` (seconds or HTTP date). Header names are
    /// case-insensitive, so `x-ratelimit-*` covers both Mastodon and Reddit.
    pub fn from_headers(h: &HeaderMap, now: DateTime<Utc>) -> RateLimit {
        let get = |names: &[&str]| -> Option<String> { names.iter().find_map(|n| h.get(*n).and_then(|v| v.to_str().ok()).map(|s| s.trim().to_string())) };
        let limit =
            get(&["x-rate-limit-limit", "x-ratelimit-limit", "ratelimit-limit"]).and_then(|s| s.split([',', ';']).next().and_then(|v| v.trim().parse().ok()));
        let remaining = get(&["x-rate-limit-remaining", "x-ratelimit-remaining", "ratelimit-remaining"]).and_then(|s| s.parse::<f64>().ok());
        let reset = get(&["x-rate-limit-reset", "x-ratelimit-reset", "ratelimit-reset"]).and_then(|s| parse_reset(&s, now));
        let retry_after = get(&["retry-after"]).and_then(|s| parse_retry_after(&s, now));
        let used = get(&["x-ratelimit-used"]).and_then(|s| s.parse::<f64>().ok());
        let mut rate = RateLimit { limit, remaining, reset, retry_after, used };
        // App Store Connect: `X-Rate-Limit: user-hour-lim:3500;user-hour-rem:500;`
        // over a rolling hour, so no reset time: a spent budget waits a
        // while (a guess: the oldest requests of the hour age out).
        if let Some(v) = get(&["x-rate-limit"]) {
            for part in v.split(';') {
                match part.trim().split_once(':') {
                    Some(("user-hour-lim", n)) => rate.limit = n.trim().parse().ok().or(rate.limit),
                    Some(("user-hour-rem", n)) => rate.remaining = n.trim().parse().ok().or(rate.remaining),
                    _ => {}
                }
            }
            if rate.exhausted() && rate.reset.is_none() {
                rate.reset = Some(now + chrono::Duration::minutes(10));
            }
        }
        rate
    }

    pub fn exhausted(&self) -> bool {
        matches!(self.remaining, Some(r) if r < 1.0)
    }
}

/// A reset header is either an absolute time (epoch seconds, ISO-8601) or a
/// number of seconds left. Numbers below ten years of seconds are "seconds
/// left"; anything larger is an epoch.
pub fn parse_reset(s: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if let Ok(n) = s.parse::<f64>() {
        if !n.is_finite() || n < 0.0 {
            return None;
        }
        if n < 315_360_000.0 {
            return Some(now + chrono::Duration::milliseconds((n * 1000.0) as i64));
        }
        return Utc.timestamp_opt(n as i64, 0).single();
    }
    DateTime::parse_from_rfc3339(s).ok().map(|d| d.with_timezone(&Utc))
}

pub fn parse_retry_after(s: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if let Ok(n) = s.parse::<u64>() {
        // A nonsense delay (beyond chrono's range) says nothing usable.
        let delay = chrono::Duration::try_seconds(i64::try_from(n).ok()?)?;
        return now.checked_add_signed(delay);
    }
    DateTime::parse_from_rfc2822(s).ok().map(|d| d.with_timezone(&Utc))
}

/// A successful response: its body and what it said about rate limits.
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub rate: RateLimit,
}

impl Response {
    pub fn json<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T, SourceError> {
        parse_json(&self.body, what)
    }
}

/// A response body as JSON of type `T`; `what` names the request in the
/// error, which quotes the start of the body.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T, SourceError> {
    serde_json::from_slice(body).map_err(|e| SourceError::Malformed(format!("{what}: cannot parse response ({e}); body starts: {}", truncate_body(body))))
}

/// The first 300 characters of a body, for logs: enough to recognise an HTML
/// error page or a truncated JSON document.
pub fn truncate_body(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    let s: String = s.chars().take(300).collect();
    s.replace(['\n', '\r'], " ")
}

/// A paced request waits in line for at most this long; a longer wait (a
/// spent window, a long `Retry-After`) is returned as
/// [`SourceError::RateLimited`] without sending, so that the daemon's round
/// logic (logs, metrics, health) sees it.
pub const MAX_INLINE_WAIT: Duration = Duration::from_secs(60);

/// After a spent window's reset, wait this much more: resets are rounded to
/// the second (X, Bluesky, Reddit) and the platform's clock is not ours.
const RESET_MARGIN: chrono::Duration = chrono::Duration::seconds(1);

/// A burst of this share of a window's budget may go at once; the rest
/// accrues evenly over the window. Small rounds are not slowed down, large
/// ones are spread.
const BURST_SHARE: f64 = 0.1;

/// The published limit of a platform that sends no rate-limit headers: at
/// most `.0` requests per `.1`. Hacker News (Algolia): "We are limiting the
/// number of API requests from a single IP to 1000 per hour" (REFERENCE.md
/// section 5.5). Feeds publish nothing; they are polled at `every` with
/// conditional requests and `Retry-After` respected.
pub fn documented_limit(platform: &str) -> Option<(u32, Duration)> {
    match platform {
        "hackernews" => Some((1000, Duration::from_secs(3600))),
        // REFERENCE-reviews.md: Business Profile "300 QPM" per project;
        // Play reviews "200 per hour" per app (shared here by all apps of
        // one host: the safe side); Trustpilot "833 calls per 5 minutes".
        "google_reviews" => Some((300, Duration::from_secs(60))),
        "google_play" => Some((200, Duration::from_secs(3600))),
        "trustpilot" => Some((833, Duration::from_secs(300))),
        _ => None,
    }
}

/// A documented limit of `n` per `window` as a token bucket: a burst of
/// [`BURST_SHARE`] of it, refilled so that no span of `window` ever holds
/// more than `n` requests (capacity + rate × window = n). Rate per ms.
fn token_bucket(n: u32, window: Duration) -> (f64, f64) {
    let n = f64::from(n.max(1));
    let capacity = (n * BURST_SHARE).floor().max(1.0);
    (capacity, (n - capacity) / (window.as_secs_f64() * 1000.0).max(1.0))
}

/// Which of a platform's limits a request counts against, as a key: the
/// host always (limits are per server); the credentials where limits are per
/// token or per client (X app token, Mastodon token, Reddit client); the
/// endpoint where each has its own window (X: per endpoint, with user ids
/// folded so every `/2/users/:id/mentions` shares one); Bluesky's session
/// routes, which have their own small limit apart from the per-IP one.
pub fn bucket_key(platform: &str, req: &reqwest::Request) -> String {
    let url = req.url();
    let host = format!("{}:{}", url.host_str().unwrap_or(""), url.port_or_known_default().unwrap_or(0));
    let auth = || {
        use std::hash::{Hash, Hasher};
        // Hashed: the key may show up in debug logs, the token must not.
        let mut h = std::collections::hash_map::DefaultHasher::new();
        req.headers().get(reqwest::header::AUTHORIZATION).map(|v| v.as_bytes()).hash(&mut h);
        format!("{:016x}", h.finish())
    };
    match platform {
        "x" => {
            let path: Vec<&str> =
                url.path().split('/').map(|seg| if !seg.is_empty() && seg.bytes().all(|c| c.is_ascii_digit()) { ":id" } else { seg }).collect();
            format!("{host} {} {}", auth(), path.join("/"))
        }
        "mastodon" | "reddit" => format!("{host} {}", auth()),
        "bluesky" if url.path().contains("com.atproto.server.") => format!("{host} {}", url.path()),
        _ => host,
    }
}

/// What the last responses of one bucket said, and when we last sent.
#[derive(Debug, Default)]
struct Bucket {
    limit: Option<f64>,
    remaining: Option<f64>,
    reset: Option<DateTime<Utc>>,
    /// The window's length, learnt as the longest `reset - now` seen.
    window: Option<chrono::Duration>,
    /// Without headers, a documented limit's token bucket: tokens left and
    /// when they were counted.
    tokens: Option<(f64, DateTime<Utc>)>,
    /// 429 or `Retry-After`: nothing before this.
    blocked_until: Option<DateTime<Utc>>,
    last_sent: Option<DateTime<Utc>>,
    /// Requests sent since `remaining` was read (answers without headers).
    sent_since_count: u32,
    /// Whether any answer carried rate-limit headers.
    has_headers: bool,
}

impl Bucket {
    /// The earliest moment the next request may go. Never while the window
    /// is spent (`remaining` 0 before the reset) or a `Retry-After` runs.
    /// Otherwise the window's budget accrues evenly from its start, plus a
    /// burst of [`BURST_SHARE`]: a request waits until the budget accrued
    /// so far covers it. Many queries sharing one budget are thus spread
    /// over the window, and the whole budget is usable by the reset. When
    /// the limit or the window's length is unknown, the requests left are
    /// spread evenly until the reset. Without headers, the documented
    /// limit's token bucket, if there is one.
    fn earliest(&self, now: DateTime<Utc>, documented: Option<(u32, Duration)>) -> DateTime<Utc> {
        let mut at = now;
        if let Some(b) = self.blocked_until {
            at = at.max(b);
        }
        match (self.remaining, self.reset) {
            (Some(r), Some(reset)) if reset > now => {
                let left = r - f64::from(self.sent_since_count);
                if left < 1.0 {
                    at = at.max(reset + RESET_MARGIN);
                } else if let (Some(limit), Some(window)) = (self.limit.filter(|l| *l >= 1.0), self.window.filter(|w| w.num_milliseconds() > 0)) {
                    let used = (limit - left).max(0.0);
                    let burst = (limit * BURST_SHARE).max(1.0);
                    let need = used + 1.0 - burst;
                    if need > 0.0 {
                        let accrued = window.num_milliseconds() as f64 * (need / limit).min(1.0);
                        at = at.max(reset - window + chrono::Duration::milliseconds(accrued.ceil() as i64));
                    }
                } else if let Some(last) = self.last_sent {
                    let span = (reset - last).num_milliseconds().max(0) as f64;
                    at = at.max(last + chrono::Duration::milliseconds((span / (left + 1.0)).ceil() as i64));
                }
            }
            _ if !self.has_headers => {
                if let (Some((n, window)), Some((tokens, counted))) = (documented, self.tokens) {
                    let (_, rate) = token_bucket(n, window);
                    if tokens < 1.0 {
                        at = at.max(counted + chrono::Duration::milliseconds(((1.0 - tokens) / rate).ceil() as i64));
                    }
                }
            }
            _ => {}
        }
        at
    }

    /// Counts a request sent at `now` (pacing on).
    fn sent(&mut self, now: DateTime<Utc>, documented: Option<(u32, Duration)>) {
        self.last_sent = Some(now);
        self.sent_since_count += 1;
        if let Some((n, window)) = documented.filter(|_| !self.has_headers) {
            let (capacity, rate) = token_bucket(n, window);
            let (tokens, counted) = self.tokens.unwrap_or((capacity, now));
            let refilled = (tokens + (now - counted).num_milliseconds().max(0) as f64 * rate).min(capacity);
            self.tokens = Some((refilled - 1.0, now));
        }
    }

    fn note(&mut self, status: StatusCode, rate: &RateLimit, now: DateTime<Utc>) {
        if rate.remaining.is_some() || rate.reset.is_some() {
            self.has_headers = true;
            self.limit = rate.limit.or(rate.used.zip(rate.remaining).map(|(u, r)| u + r));
            self.remaining = rate.remaining;
            self.reset = rate.reset;
            self.sent_since_count = 0;
            if let Some(span) = rate.reset.map(|r| r - now) {
                self.window = Some(self.window.map_or(span, |w| w.max(span)));
            }
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            self.blocked_until = Some(rate.retry_after.or(rate.reset).unwrap_or(now + chrono::Duration::seconds(60)));
        } else if let Some(r) = rate.retry_after.filter(|_| !status.is_success()) {
            // 503 with Retry-After: the same courtesy.
            self.blocked_until = Some(r);
        }
    }
}

/// An HTTP client for one source, remembering when the platform lets it
/// send the next request.
pub struct Http {
    client: reqwest::Client,
    name: &'static str,
    not_before: Mutex<Option<DateTime<Utc>>>,
    clock: RwLock<Arc<dyn Clock>>,
    /// Set by the daemon ([`Http::pace_with`]): every request first waits
    /// for its bucket's turn. Off for direct callers (tests of one fetch,
    /// `escucha check`), which want the platform's answer at once.
    paced: AtomicBool,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Http {
    pub fn new(name: &'static str) -> Http {
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(Duration::from_secs(10))
            .timeout(request_timeout())
            .build()
            .expect("reqwest client with static settings");
        Http {
            client,
            name,
            not_before: Mutex::new(None),
            clock: RwLock::new(Arc::new(SystemClock)),
            paced: AtomicBool::new(false),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// From now on, read time from `clock` and pace every request (see
    /// [`Bucket::earliest`]). The daemon calls this for each source it runs.
    /// The pacing assumes one request at a time per bucket, as the daemon's
    /// one task per source sends them.
    pub fn pace_with(&self, clock: Arc<dyn Clock>) {
        *self.clock.write().unwrap_or_else(|e| e.into_inner()) = clock;
        self.paced.store(true, Ordering::Relaxed);
    }

    /// The time by this client's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.read().unwrap_or_else(|e| e.into_inner()).now()
    }

    /// Waits until `key`'s bucket allows a request, or says how long the
    /// wait would be if it is longer than [`MAX_INLINE_WAIT`].
    async fn wait_turn(&self, key: &str) -> Result<(), SourceError> {
        let now = self.now();
        let at = {
            let buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
            buckets.get(key).map_or(now, |b| b.earliest(now, documented_limit(self.name)))
        };
        let wait = (at - now).to_std().unwrap_or(Duration::ZERO);
        if wait > MAX_INLINE_WAIT {
            return Err(SourceError::RateLimited { until: Some(at) });
        }
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        Ok(())
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The source's config name, as messages start.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// When the last response said the window is spent, the reset time.
    pub fn not_before(&self) -> Option<DateTime<Utc>> {
        *self.not_before.lock().unwrap()
    }

    /// Sends the request and maps the outcome. Never logs the request's
    /// headers (they hold tokens).
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Result<Response, SourceError> {
        let response = self.exchange(req).await?;
        self.check(response)
    }

    /// Sends the request and keeps the rate-limit bookkeeping, but returns
    /// the response whatever its status, for sources that must read an error
    /// body before deciding (X's usage cap and stale `since_id`). Pass the
    /// response to [`Http::check`] for the usual status mapping.
    pub async fn exchange(&self, req: reqwest::RequestBuilder) -> Result<Response, SourceError> {
        let name = self.name;
        let request = req.build().map_err(|e| SourceError::Transient(format!("{name}: request failed: {}", e.without_url())))?;
        let key = bucket_key(name, &request);
        // The host, never the URL: a query string can carry a token.
        let host = request.url().host_str().unwrap_or("the server").to_string();
        if self.paced.load(Ordering::Relaxed) {
            self.wait_turn(&key).await?;
            let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
            buckets.entry(key.clone()).or_default().sent(self.now(), documented_limit(self.name));
        }
        let resp = self.client.execute(request).await.map_err(|e| {
            let e = e.without_url();
            if e.is_timeout() {
                SourceError::Transient(format!("{name}: request to {host} timed out"))
            } else {
                SourceError::Transient(format!("{name}: request to {host} failed: {}", causes(&e)))
            }
        })?;
        let now = self.now();
        let status = resp.status();
        let headers = resp.headers().clone();
        let rate = RateLimit::from_headers(&headers, now);
        self.buckets.lock().unwrap_or_else(|e| e.into_inner()).entry(key).or_default().note(status, &rate, now);
        {
            let mut nb = self.not_before.lock().unwrap();
            *nb = if rate.exhausted() { rate.reset } else { None };
            if status == StatusCode::TOO_MANY_REQUESTS {
                let until = rate.retry_after.or(rate.reset);
                *nb = until.or_else(|| Some(now + chrono::Duration::seconds(60)));
            }
        }
        if let Some(len) = resp.content_length() {
            if len as usize > MAX_BODY {
                return Err(SourceError::Malformed(format!("{name}: response of {len} bytes is larger than the {MAX_BODY}-byte limit")));
            }
        }
        let body = read_bounded(resp, name).await?;
        Ok(Response { status, headers, body, rate })
    }

    /// Maps a response's status to [`SourceError`]; 2xx passes through.
    pub fn check(&self, response: Response) -> Result<Response, SourceError> {
        let name = self.name;
        let status = response.status;
        match status.as_u16() {
            200..=299 => Ok(response),
            429 => Err(SourceError::RateLimited { until: response.rate.retry_after.or(response.rate.reset) }),
            401 | 403 => Err(SourceError::Unauthorized(format!("{name}: the platform refused the credentials ({status}): {}", truncate_body(&response.body)))),
            500..=599 | 408 => Err(SourceError::Transient(format!("{name}: server error {status}: {}", truncate_body(&response.body)))),
            _ => Err(SourceError::Malformed(format!("{name}: unexpected status {status}: {}", truncate_body(&response.body)))),
        }
    }
}

/// 30 s; tests shorten it with the undocumented `ESCUCHA_HTTP_TIMEOUT_MS`
/// so that a hung platform costs them a second, not half a minute.
fn request_timeout() -> Duration {
    std::env::var("ESCUCHA_HTTP_TIMEOUT_MS").ok().and_then(|v| v.trim().parse::<u64>().ok()).map_or(Duration::from_secs(30), Duration::from_millis)
}

async fn read_bounded(mut resp: reqwest::Response, name: &str) -> Result<Vec<u8>, SourceError> {
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_BODY {
                    return Err(SourceError::Malformed(format!("{name}: response body exceeds the {MAX_BODY}-byte limit")));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => {
                let e = e.without_url();
                return Err(if e.is_timeout() {
                    SourceError::Transient(format!("{name}: timed out reading the response body"))
                } else {
                    SourceError::Malformed(format!("{name}: response body cut short: {e}"))
                });
            }
        }
    }
}

/// An error and every cause under it, on one line: "error sending
/// request" alone does not say that a name did not resolve or a connection
/// was refused.
fn causes(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        // hyper and reqwest sometimes repeat their cause in their own text.
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    #[tokio::test]
    async fn a_failed_request_names_the_host_and_the_cause_not_the_url() {
        // A port nobody listens on: the connection is refused.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let http = Http::new("mastodon");
        let req = http.client.get(format!("http://127.0.0.1:{port}/api/v1/timelines/tag/x?access_token=SECRET"));
        let Err(SourceError::Transient(msg)) = http.send(req).await else { panic!("expected a transient error") };
        assert!(msg.starts_with("mastodon: request to 127.0.0.1 failed: error sending request"), "{msg}");
        assert!(msg.to_lowercase().contains("connection refused"), "the cause is named: {msg}");
        assert!(!msg.contains("SECRET") && !msg.contains("/api/v1"), "no URL in the message: {msg}");
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn x_reset_is_epoch_seconds() {
        let now = Utc.timestamp_opt(1_705_420_000, 0).unwrap();
        let r = RateLimit::from_headers(&headers(&[("x-rate-limit-limit", "900"), ("x-rate-limit-remaining", "0"), ("x-rate-limit-reset", "1705420800")]), now);
        assert!(r.exhausted());
        assert_eq!(r.reset, Utc.timestamp_opt(1_705_420_800, 0).single());
    }

    #[test]
    fn mastodon_reset_is_an_iso_timestamp() {
        let now = Utc::now();
        let r = RateLimit::from_headers(&headers(&[("X-RateLimit-Remaining", "299"), ("X-RateLimit-Reset", "2026-08-01T13:55:00.940463Z")]), now);
        assert_eq!(r.remaining, Some(299.0));
        assert_eq!(r.reset.unwrap().to_rfc3339(), "2026-08-01T13:55:00.940463+00:00");
    }

    #[test]
    fn reddit_reset_is_seconds_left_and_remaining_a_float() {
        let now = Utc.timestamp_opt(1_000_000_000, 0).unwrap();
        let r = RateLimit::from_headers(&headers(&[("x-ratelimit-remaining", "0.0"), ("x-ratelimit-reset", "42")]), now);
        assert!(r.exhausted());
        assert_eq!(r.reset, Some(now + chrono::Duration::seconds(42)));
    }

    #[test]
    fn app_store_x_rate_limit_is_read_and_a_spent_budget_waits() {
        let now = Utc.timestamp_opt(1_000_000_000, 0).unwrap();
        let r = RateLimit::from_headers(&headers(&[("X-Rate-Limit", "user-hour-lim:3500;user-hour-rem:500;")]), now);
        assert_eq!((r.limit, r.remaining, r.reset), (Some(3500.0), Some(500.0), None));
        let r = RateLimit::from_headers(&headers(&[("x-rate-limit", "user-hour-lim:3600;user-hour-rem:0;")]), now);
        assert!(r.exhausted());
        assert!(r.reset.is_some_and(|t| t > now), "a rolling hour has no reset: wait a while");
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now = Utc.timestamp_opt(1_000_000_000, 0).unwrap();
        assert_eq!(parse_retry_after("30", now), Some(now + chrono::Duration::seconds(30)));
        assert!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now).is_some());
        assert_eq!(parse_retry_after("soon", now), None);
    }

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_705_420_000 + secs, 0).unwrap()
    }

    /// A bucket as it stands after an answer at `at` with these headers.
    fn bucket_after(at: DateTime<Utc>, limit: f64, remaining: f64, reset: DateTime<Utc>) -> Bucket {
        let mut b = Bucket::default();
        b.sent(at, None);
        b.note(StatusCode::OK, &RateLimit { limit: Some(limit), remaining: Some(remaining), reset: Some(reset), ..RateLimit::default() }, at);
        b
    }

    #[test]
    fn a_spent_window_holds_the_next_request_until_just_after_the_reset() {
        let b = bucket_after(t(0), 450.0, 0.0, t(600));
        assert_eq!(b.earliest(t(1), None), t(600) + RESET_MARGIN);
        // Once the reset has passed, one request goes to learn the new window.
        assert_eq!(b.earliest(t(700), None), t(700));
    }

    #[test]
    fn a_fresh_window_lets_a_tenth_of_its_budget_go_at_once_then_spreads_the_rest() {
        // First answer of a 15-minute window: the window is learnt as 900 s.
        let b = bucket_after(t(0), 450.0, 449.0, t(900));
        assert_eq!(b.earliest(t(0), None), t(0), "within the burst");
        // 100 used 10 s into the window: the 101st waits until the budget
        // accrued (2 s per request) covers it, less the burst of 45.
        let b2 = {
            let mut b2 = b;
            b2.note(StatusCode::OK, &RateLimit { limit: Some(450.0), remaining: Some(350.0), reset: Some(t(900)), ..RateLimit::default() }, t(10));
            b2
        };
        assert_eq!(b2.earliest(t(10), None), t(112), "(100 + 1 - 45) × 2 s after the window's start");
    }

    #[test]
    fn a_429_blocks_until_retry_after_even_with_budget_left() {
        let mut b = Bucket::default();
        b.note(StatusCode::TOO_MANY_REQUESTS, &RateLimit { retry_after: Some(t(42)), ..RateLimit::default() }, t(0));
        assert_eq!(b.earliest(t(1), None), t(42));
    }

    #[test]
    fn a_documented_limit_without_headers_never_allows_more_than_it_in_any_window() {
        let hn = documented_limit("hackernews");
        let mut b = Bucket::default();
        let mut now = t(0);
        let mut sent = Vec::new();
        while now < t(3 * 3600) {
            now = b.earliest(now, hn);
            b.sent(now, hn);
            sent.push(now);
        }
        for (i, start) in sent.iter().enumerate() {
            let in_hour = sent[i..].iter().take_while(|s| **s < *start + chrono::Duration::hours(1)).count();
            assert!(in_hour <= 1000, "{in_hour} requests in the hour from {start}");
        }
        assert!(sent.len() >= 2700, "the budget is used: {} in three hours", sent.len());
    }

    #[test]
    fn x_limits_are_per_endpoint_and_token_with_user_ids_folded() {
        let c = reqwest::Client::new();
        let key = |url: &str, token: &str| bucket_key("x", &c.get(url).bearer_auth(token).build().unwrap());
        assert_eq!(key("https://api.x.com/2/users/12/mentions", "a"), key("https://api.x.com/2/users/34/mentions", "a"));
        assert_ne!(key("https://api.x.com/2/users/12/mentions", "a"), key("https://api.x.com/2/tweets/search/recent?query=x", "a"));
        assert_ne!(key("https://api.x.com/2/tweets/search/recent", "a"), key("https://api.x.com/2/tweets/search/recent", "b"));
        assert!(!key("https://api.x.com/2/tweets/search/recent", "secret-token").contains("secret-token"));
    }

    // chrono panicked on a delay beyond its range (a hostile or broken server).
    #[test]
    fn a_retry_after_beyond_any_date_is_ignored_not_a_panic() {
        let now = Utc.timestamp_opt(1_000_000_000, 0).unwrap();
        assert_eq!(parse_retry_after("18446744073709551615", now), None);
        assert_eq!(parse_retry_after("9223372036854776", now), None);
        assert_eq!(parse_retry_after("9000000000000", now), None);
    }
}
