//! The HTTP client every source shares: timeouts, a user agent, a bounded
//! body, rate-limit headers of every family the platforms use, and the
//! mapping from HTTP status to [`SourceError`].

use super::SourceError;
use chrono::{DateTime, TimeZone, Utc};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use std::sync::Mutex;
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
}

impl RateLimit {
    /// Reads `x-rate-limit-*` (X: reset in epoch seconds), `X-RateLimit-*`
    /// (Mastodon: reset is an ISO-8601 timestamp; Reddit: reset is seconds
    /// left), `RateLimit-*` (Bluesky/IETF draft: epoch seconds or seconds
    /// left) and `Retry-After` (seconds or HTTP date). Header names are
    /// case-insensitive, so `x-ratelimit-*` covers both Mastodon and Reddit.
    pub fn from_headers(h: &HeaderMap, now: DateTime<Utc>) -> RateLimit {
        let get = |names: &[&str]| -> Option<String> {
            names.iter().find_map(|n| h.get(*n).and_then(|v| v.to_str().ok()).map(|s| s.trim().to_string()))
        };
        let limit = get(&["x-rate-limit-limit", "x-ratelimit-limit", "ratelimit-limit"])
            .and_then(|s| s.split([',', ';']).next().and_then(|v| v.trim().parse().ok()));
        let remaining = get(&["x-rate-limit-remaining", "x-ratelimit-remaining", "ratelimit-remaining"])
            .and_then(|s| s.parse::<f64>().ok());
        let reset = get(&["x-rate-limit-reset", "x-ratelimit-reset", "ratelimit-reset"]).and_then(|s| parse_reset(&s, now));
        let retry_after = get(&["retry-after"]).and_then(|s| parse_retry_after(&s, now));
        RateLimit { limit, remaining, reset, retry_after }
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
    serde_json::from_slice(body)
        .map_err(|e| SourceError::Malformed(format!("{what}: cannot parse response ({e}); body starts: {}", truncate_body(body))))
}

/// The first 300 characters of a body, for logs: enough to recognise an HTML
/// error page or a truncated JSON document.
pub fn truncate_body(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    let s: String = s.chars().take(300).collect();
    s.replace(['\n', '\r'], " ")
}

/// An HTTP client for one source, remembering when the platform lets it
/// send the next request.
pub struct Http {
    client: reqwest::Client,
    name: &'static str,
    not_before: Mutex<Option<DateTime<Utc>>>,
}

impl Http {
    pub fn new(name: &'static str) -> Http {
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(Duration::from_secs(10))
            .timeout(request_timeout())
            .build()
            .expect("reqwest client with static settings");
        Http { client, name, not_before: Mutex::new(None) }
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
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
        let resp = req.send().await.map_err(|e| {
            let e = e.without_url();
            if e.is_timeout() {
                SourceError::Transient(format!("{name}: request timed out"))
            } else {
                SourceError::Transient(format!("{name}: request failed: {e}"))
            }
        })?;
        let now = Utc::now();
        let status = resp.status();
        let headers = resp.headers().clone();
        let rate = RateLimit::from_headers(&headers, now);
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
            401 | 403 => Err(SourceError::Unauthorized(format!(
                "{name}: the platform refused the credentials ({status}): {}",
                truncate_body(&response.body)
            ))),
            500..=599 | 408 => Err(SourceError::Transient(format!("{name}: server error {status}: {}", truncate_body(&response.body)))),
            _ => Err(SourceError::Malformed(format!("{name}: unexpected status {status}: {}", truncate_body(&response.body)))),
        }
    }
}

/// 30 s; tests shorten it with the undocumented `ESCUCHA_HTTP_TIMEOUT_MS`
/// so that a hung platform costs them a second, not half a minute.
fn request_timeout() -> Duration {
    std::env::var("ESCUCHA_HTTP_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(Duration::from_secs(30), Duration::from_millis)
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

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

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
        let r = RateLimit::from_headers(
            &headers(&[("x-rate-limit-limit", "900"), ("x-rate-limit-remaining", "0"), ("x-rate-limit-reset", "1705420800")]),
            now,
        );
        assert!(r.exhausted());
        assert_eq!(r.reset, Utc.timestamp_opt(1_705_420_800, 0).single());
    }

    #[test]
    fn mastodon_reset_is_an_iso_timestamp() {
        let now = Utc::now();
        let r = RateLimit::from_headers(
            &headers(&[("X-RateLimit-Remaining", "299"), ("X-RateLimit-Reset", "2026-08-01T13:55:00.940463Z")]),
            now,
        );
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
    fn retry_after_takes_seconds_or_a_date() {
        let now = Utc.timestamp_opt(1_000_000_000, 0).unwrap();
        assert_eq!(parse_retry_after("30", now), Some(now + chrono::Duration::seconds(30)));
        assert!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now).is_some());
        assert_eq!(parse_retry_after("soon", now), None);
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
