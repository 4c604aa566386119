//! Mastodon's streaming API for `[source.mastodon] stream = true`
//! (REFERENCE-streaming.md section 1): the brand token's `user:notification`
//! stream and one `hashtag` stream per brand tag, over server-sent events,
//! or WebSocket where the instance offers only that (GoToSocial). The
//! streaming host comes from `/api/v2/instance` (`configuration.urls.streaming`),
//! and `/api/v1/streaming/health` says whether there is one at all.
//!
//! Mastodon streams cannot be resumed (no event ids), so the daemon polls
//! each covered query from its cursor right after a connection opens
//! ([`CatchUp::All`]); events that arrive meanwhile wait in the socket and
//! are deduplicated by the store. A streamed page's cursor is the greatest
//! id seen, as a poll's would be.

use super::super::stream::{self as st, CatchUp, Plan, SseParser, StreamError, Timeouts, WsStream};
use super::super::{id_cmp, Page, QueryKind};
use super::{to_post, MastodonSource, Notification, Status};
use crate::config::Secret;
use std::collections::VecDeque;
use url::Url;

/// What one stream reads.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Notifications,
    Tag,
}

impl MastodonSource {
    /// One stream per notifications query and per hashtag query (when a
    /// token is configured: every stream needs a user token since Mastodon
    /// 4.2). Empty unless `stream = true`.
    pub fn stream_plans(&self) -> Vec<Plan> {
        if !self.stream {
            return Vec::new();
        }
        let tag_token = self.any_token().0.is_some();
        let plans: Vec<Plan> = self
            .queries
            .iter()
            .filter(|q| match &q.kind {
                QueryKind::MastodonNotifications { .. } => true,
                QueryKind::MastodonTag { .. } => tag_token,
                _ => false,
            })
            .map(|q| Plan { name: q.key.replacen("mastodon:", "mastodon:stream:", 1), query: q.clone(), covers: vec![q.clone()] })
            .collect();
        if plans.is_empty() {
            tracing::warn!(
                "[source.mastodon] stream = true, but every stream needs an access token (access_token_env, or a brand's mastodon_token_env); polling instead"
            );
        }
        plans
    }

    /// Opens the stream of `plan`: SSE, or WebSocket when the instance has
    /// no SSE endpoint. Returns once the server has accepted the
    /// subscription, so the catch-up poll that follows leaves no gap.
    pub async fn open_stream(&self, plan: &Plan, timeouts: Timeouts) -> Result<(MastodonStream, CatchUp), StreamError> {
        let (kind, token, params): (Kind, Secret, Vec<(&str, String)>) = match &plan.query.kind {
            QueryKind::MastodonNotifications { token } => (Kind::Notifications, token.clone(), vec![]),
            QueryKind::MastodonTag { tag } => {
                let token = self.any_token().0.cloned().ok_or_else(|| StreamError::Refused("mastodon: hashtag streams need an access token".into()))?;
                (Kind::Tag, token, vec![("tag", tag.clone())])
            }
            _ => return Err(StreamError::Refused(format!("mastodon: {} is not a streamable query", plan.query.key))),
        };
        let base = self.streaming_base(timeouts).await?;
        let what = format!("mastodon stream {}", plan.name);
        let client = reqwest::Client::builder()
            .user_agent(super::super::http::USER_AGENT)
            .connect_timeout(timeouts.connect)
            .build()
            .map_err(|e| StreamError::Down(format!("{what}: {e}")))?;

        // Is there a streaming server at all?
        let health = join(&base, &["api", "v1", "streaming", "health"], &[]);
        match tokio::time::timeout(timeouts.connect, client.get(health).send()).await {
            Err(_) => return Err(StreamError::Down(format!("{what}: the streaming health check timed out"))),
            Ok(Err(e)) => return Err(StreamError::Down(format!("{what}: the streaming health check failed: {}", e.without_url()))),
            Ok(Ok(r)) if r.status().is_success() => {}
            Ok(Ok(r)) if r.status().is_server_error() => return Err(StreamError::Down(format!("{what}: the streaming server answers {}", r.status()))),
            Ok(Ok(r)) => return Err(StreamError::Refused(format!("{what}: {} has no streaming API (health check answered {})", self.instance, r.status()))),
        }

        // Server-sent events first: one plain HTTP response per stream.
        let path: &[&str] = match kind {
            Kind::Notifications => &["api", "v1", "streaming", "user", "notification"],
            Kind::Tag => &["api", "v1", "streaming", "hashtag"],
        };
        let url = join(&base, path, &params);
        let req = client.get(url).bearer_auth(token.expose()).header("accept", "text/event-stream");
        let resp = match tokio::time::timeout(timeouts.connect, req.send()).await {
            Err(_) => return Err(StreamError::Down(format!("{what}: no answer within {}s", timeouts.connect.as_secs()))),
            Ok(Err(e)) => return Err(StreamError::Down(format!("{what}: connection failed: {}", e.without_url()))),
            Ok(Ok(r)) => r,
        };
        let status = resp.status().as_u16();
        let sse = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/event-stream"));
        let transport = match status {
            200 if sse => Transport::Sse { resp: Box::new(resp), parser: SseParser::new(st::MAX_EVENT_BYTES), queue: VecDeque::new() },
            200 => return Err(StreamError::Down(format!("{what}: the answer is not an event stream"))),
            // No SSE here (GoToSocial serves WebSocket only): try that.
            404 | 405 | 501 => {
                let mut ws_url = join(&base, &["api", "v1", "streaming"], &[]);
                let scheme = if ws_url.scheme() == "https" { "wss" } else { "ws" };
                let _ = ws_url.set_scheme(scheme);
                let stream = match kind {
                    Kind::Notifications => "user:notification",
                    Kind::Tag => "hashtag",
                };
                ws_url.query_pairs_mut().append_pair("stream", stream);
                for (k, v) in &params {
                    ws_url.query_pairs_mut().append_pair(k, v);
                }
                let ws = st::connect_ws(&what, ws_url.as_str(), &[("authorization", format!("Bearer {}", token.expose()))], timeouts).await?;
                Transport::Ws { ws: Box::new(ws), oversized: 0 }
            }
            500..=599 => return Err(StreamError::Down(format!("{what}: server error {status}"))),
            _ => {
                let body = resp.bytes().await.map(|b| super::super::http::truncate_body(&b)).unwrap_or_default();
                return Err(StreamError::Refused(format!("{what}: the instance refused the stream ({status}) {body}").trim_end().to_string()));
            }
        };
        let host = self.host.to_string();
        Ok((MastodonStream { what, kind, transport, host, idle: timeouts.idle }, CatchUp::All))
    }

    /// The streaming server's base URL: `configuration.urls.streaming` of
    /// `/api/v2/instance` (a `wss://` URL, read as `https://`), else the
    /// instance itself. Learnt once.
    async fn streaming_base(&self, timeouts: Timeouts) -> Result<Url, StreamError> {
        if let Some(url) = self.streaming.lock().unwrap().clone() {
            return Ok(url);
        }
        let base = self.base.as_deref().cloned().ok_or_else(|| StreamError::Refused(format!("mastodon: instance {:?} is not a URL", self.instance)))?;
        let req = self.http.client().get(join(&base, &["api", "v2", "instance"], &[])).header("accept", "application/json");
        let found = match tokio::time::timeout(timeouts.connect.max(std::time::Duration::from_secs(1)) * 3, req.send()).await {
            Err(_) => return Err(StreamError::Down("mastodon: /api/v2/instance did not answer".into())),
            Ok(Err(e)) => return Err(StreamError::Down(format!("mastodon: /api/v2/instance failed: {}", e.without_url()))),
            Ok(Ok(r)) if r.status().is_server_error() => return Err(StreamError::Down(format!("mastodon: /api/v2/instance answered {}", r.status()))),
            Ok(Ok(r)) if r.status().is_success() => {
                let body = r.bytes().await.unwrap_or_default();
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                v.pointer("/configuration/urls/streaming").and_then(|s| s.as_str()).and_then(|s| Url::parse(s).ok())
            }
            // Older instances (before 4.0) have no v2 endpoint: same host.
            Ok(Ok(_)) => None,
        };
        let url = match found {
            Some(mut u) => {
                let scheme = if matches!(u.scheme(), "wss" | "https") { "https" } else { "http" };
                let _ = u.set_scheme(scheme);
                u
            }
            None => base,
        };
        *self.streaming.lock().unwrap() = Some(url.clone());
        Ok(url)
    }
}

fn join(base: &Url, path: &[&str], params: &[(&str, String)]) -> Url {
    let mut url = base.clone();
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty().extend(path);
    }
    url.set_query(None);
    for (k, v) in params {
        url.query_pairs_mut().append_pair(k, v);
    }
    url
}

enum Transport {
    Sse { resp: Box<reqwest::Response>, parser: SseParser, queue: VecDeque<st::SseEvent> },
    Ws { ws: Box<WsStream>, oversized: u64 },
}

/// An open Mastodon stream.
pub struct MastodonStream {
    what: String,
    kind: Kind,
    transport: Transport,
    host: String,
    idle: std::time::Duration,
}

impl MastodonStream {
    /// The next page the stream brings: the post of a mention notification
    /// or of a tagged status, with the cursor moved to its id (kept when
    /// `cursor` is already past it). Other notifications move the cursor
    /// only; deletes and unknown events are skipped, as are payloads that
    /// cannot be read (logged). Ok(None): the server closed the stream.
    pub async fn next(&mut self, cursor: Option<&str>) -> Result<Option<Page>, StreamError> {
        loop {
            let Some((event, payload)) = self.next_event().await? else { return Ok(None) };
            if let Some(page) = decode(self.kind, &event, &payload, &self.host, cursor, &self.what) {
                return Ok(Some(page));
            }
        }
    }

    /// (event name, payload) of the next event, whatever the transport.
    async fn next_event(&mut self) -> Result<Option<(String, String)>, StreamError> {
        match &mut self.transport {
            Transport::Sse { resp, parser, queue } => loop {
                if let Some(e) = queue.pop_front() {
                    return Ok(Some((e.event, e.data)));
                }
                match tokio::time::timeout(self.idle, resp.chunk()).await {
                    Err(_) => return Err(StreamError::Down(format!("{}: nothing received for {}s", self.what, self.idle.as_secs()))),
                    Ok(Err(e)) => return Err(StreamError::Down(format!("{}: the stream broke: {}", self.what, e.without_url()))),
                    Ok(Ok(None)) => return Ok(None),
                    Ok(Ok(Some(bytes))) => queue.extend(parser.push(&bytes)),
                }
            },
            Transport::Ws { ws, oversized } => loop {
                let Some(text) = st::next_text(&self.what, ws, self.idle, oversized).await? else { return Ok(None) };
                let frame: WsFrame = match serde_json::from_str(&text) {
                    Ok(f) => f,
                    Err(e) => {
                        tracing::warn!(stream = %self.what, error = %e, "unreadable WebSocket frame; skipped");
                        continue;
                    }
                };
                if let Some(error) = frame.error {
                    // Errors of a subscription come as frames (REFERENCE-streaming 1.8).
                    let message = format!("{}: the instance refused the stream ({}) {error}", self.what, frame.status.unwrap_or(0));
                    return Err(match frame.status {
                        Some(400 | 401 | 403 | 404) => StreamError::Refused(message),
                        _ => StreamError::Down(message),
                    });
                }
                let (Some(event), Some(payload)) = (frame.event, frame.payload) else { continue };
                return Ok(Some((event, payload)));
            },
        }
    }
}

#[derive(serde::Deserialize)]
struct WsFrame {
    event: Option<String>,
    payload: Option<String>,
    error: Option<String>,
    status: Option<u16>,
}

/// The page one event gives, or None when it means nothing to this stream.
fn decode(kind: Kind, event: &str, payload: &str, host: &str, cursor: Option<&str>, what: &str) -> Option<Page> {
    let value: serde_json::Value = match (kind, event) {
        (Kind::Notifications, "notification") | (Kind::Tag, "update" | "status.update") => match serde_json::from_str(payload) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(stream = %what, event, error = %e, "unreadable stream payload; skipped");
                return None;
            }
        },
        // `delete`, `filters_changed`, `announcement`...: nothing to store.
        _ => return None,
    };
    let id = value.get("id").and_then(|i| i.as_str())?.to_string();
    let post = match kind {
        Kind::Notifications => match serde_json::from_value::<Notification>(value) {
            Ok(n) if n.kind == "mention" => n.status.and_then(|s| to_post(s, true, host)),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(stream = %what, id, error = %e, "unreadable notification; skipped");
                None
            }
        },
        Kind::Tag => match serde_json::from_value::<Status>(value) {
            Ok(s) => to_post(s, false, host),
            Err(e) => {
                tracing::warn!(stream = %what, id, error = %e, "unreadable status; skipped");
                None
            }
        },
    };
    let cursor = match cursor.filter(|c| !c.is_empty()) {
        Some(c) if id_cmp(c, &id).is_ge() => c.to_string(),
        _ => id,
    };
    Some(st::page(post.into_iter().collect(), cursor))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = r#"{"id":"108914398911648589","created_at":"2022-08-30T23:12:47.000Z","in_reply_to_id":null,"in_reply_to_account_id":null,"language":"es","uri":"https://mastodon.social/users/ana/statuses/108914398911648589","url":"https://mastodon.social/@ana/108914398911648589","content":"<p>Interjet perdió mi maleta</p>","spoiler_text":"","reblog":null,"account":{"id":"14715","acct":"ana","followers_count":12},"mentions":[]}"#;

    #[test]
    fn a_tagged_update_is_a_post_and_moves_the_cursor_forward_only() {
        let p = decode(Kind::Tag, "update", STATUS, "mastodon.social", Some("108914398911648000"), "t").unwrap();
        assert_eq!(p.posts.len(), 1);
        assert_eq!(p.posts[0].author, "ana@mastodon.social");
        assert_eq!(p.posts[0].text, "Interjet perdió mi maleta");
        assert_eq!(p.cursor, "108914398911648589");
        let behind = decode(Kind::Tag, "update", STATUS, "mastodon.social", Some("208914398911648589"), "t").unwrap();
        assert_eq!(behind.cursor, "208914398911648589", "a late status never moves the cursor back");
    }

    #[test]
    fn a_mention_notification_is_addressed_and_other_types_only_move_the_cursor() {
        let mention =
            format!(r#"{{"id":"68739215","type":"mention","created_at":"2022-08-30T23:09:54.070Z","account":{{"id":"1","acct":"a"}},"status":{STATUS}}}"#);
        let p = decode(Kind::Notifications, "notification", &mention, "mastodon.social", None, "t").unwrap();
        assert!(p.posts[0].addressed_to_token_account);
        assert_eq!(p.cursor, "68739215");
        let fav = r#"{"id":"68739216","type":"favourite","created_at":"2022-08-30T23:09:54.070Z","account":{"id":"1","acct":"a"}}"#;
        let p = decode(Kind::Notifications, "notification", fav, "mastodon.social", Some("68739215"), "t").unwrap();
        assert!(p.posts.is_empty());
        assert_eq!(p.cursor, "68739216");
    }

    #[test]
    fn deletes_unknown_events_and_unreadable_payloads_give_nothing() {
        assert!(decode(Kind::Tag, "delete", "108914430312582020", "h", None, "t").is_none());
        assert!(decode(Kind::Tag, "announcement", "{}", "h", None, "t").is_none());
        assert!(decode(Kind::Tag, "update", "{\"id\": 12", "h", None, "t").is_none());
        assert!(decode(Kind::Notifications, "update", STATUS, "h", None, "t").is_none(), "the notification stream stores notifications only");
    }
}
