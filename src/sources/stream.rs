//! What the push sources share: a plan of which queries a stream stands in
//! for, the connection errors the daemon acts on, a server-sent events
//! parser, WebSocket connecting with bounded frames and timeouts, and the
//! reconnect backoff. A stream turns what it reads into [`Page`]s, exactly as
//! a poll does, so storing, dedup, classification and paging stay in one
//! place (`ingest`). No SQL here.

use super::{Page, Query};
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// A stream's events larger than this are skipped (a post is a few KB; a
/// bigger frame is a broken or hostile server). The connection stays up.
pub const MAX_EVENT_BYTES: usize = 1 << 20;
/// Frames larger than this end the connection before they are buffered.
pub const MAX_FRAME_BYTES: usize = 8 << 20;
/// Reconnect delays start here and double...
pub const BACKOFF_START: Duration = Duration::from_secs(1);
/// ...up to this, so a stream cut for a minute is back within half a minute
/// of the cut ending.
pub const BACKOFF_CAP: Duration = Duration::from_secs(30);
/// A connection that lasted this long resets the backoff.
pub const HEALTHY_CONNECTION: Duration = Duration::from_secs(60);

/// One stream the daemon runs for a source, and what it stands in for.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// For logs and metrics, e.g. `mastodon:stream:tag:interjet`.
    pub name: String,
    /// The query whose cursor the stream's pages carry (and under which
    /// they are stored). May be one of `covers` (Mastodon) or its own
    /// (Jetstream's `bluesky:jetstream`).
    pub query: Query,
    /// Queries not polled while this stream is live; polled again when it
    /// is refused or down for long.
    pub covers: Vec<Query>,
}

/// Which covered queries the daemon polls once a connection is open,
/// before reading it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CatchUp {
    /// Every covered query from its cursor: the stream cannot replay what
    /// was said while it was down (Mastodon), or the stored cursor is older
    /// than the stream's replay window (Jetstream after a long outage).
    All,
    /// Only the covered queries never polled (a brand's first run reads its
    /// history by search); the stream replays the rest.
    FirstRun,
}

/// Why a stream is not delivering.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The server will not stream for us (no streaming API, the endpoint is
    /// unknown, the token is refused for it): poll instead and ask again
    /// much later.
    #[error("{0}")]
    Refused(String),
    /// Network trouble, a timeout, a server error, a closed connection:
    /// reconnect with backoff.
    #[error("{0}")]
    Down(String),
}

/// Connect and idle limits of a stream connection. The idle limit is a few
/// missed keepalives: Mastodon sends an SSE comment every 15 s and pings
/// WebSockets every 30 s, Jetstream pings every 30 s.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timeouts {
    pub connect: Duration,
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts { connect: Duration::from_secs(10), idle: Duration::from_secs(75) }
    }
}

/// Reconnect delays: [`BACKOFF_START`] doubling to [`BACKOFF_CAP`], each
/// scaled by a jitter (0.8 to 1.2 in the daemon).
pub fn backoff(failures: u32, jitter: f64) -> Duration {
    let d = BACKOFF_START.saturating_mul(1u32 << failures.min(10)).min(BACKOFF_CAP);
    d.mul_f64(jitter)
}

// ---- server-sent events ----

/// One server-sent event: its `event:` name (`message` when absent) and its
/// `data:` lines joined with `\n`.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    pub event: String,
    pub data: String,
}

/// An incremental parser of `text/event-stream` (WHATWG HTML, "Server-sent
/// events", interpretation of the stream): lines end in LF, CRLF or CR; a
/// line starting with `:` is a comment (Mastodon's `:thump` heartbeat); a
/// blank line dispatches the event. An event whose buffered size passes
/// `max` is dropped whole; an event cut by the end of the connection is
/// never dispatched.
#[derive(Debug)]
pub struct SseParser {
    line: Vec<u8>,
    event: String,
    data: String,
    has_data: bool,
    /// Bytes buffered for the event being read.
    size: usize,
    /// The event being read is too large: skip to its end.
    skipping: bool,
    /// A CR ended the last line: a following LF belongs to it.
    after_cr: bool,
    max: usize,
    /// Events dropped for their size.
    pub oversized: u64,
}

impl SseParser {
    pub fn new(max: usize) -> SseParser {
        SseParser { line: Vec::new(), event: String::new(), data: String::new(), has_data: false, size: 0, skipping: false, after_cr: false, max, oversized: 0 }
    }

    /// Feeds bytes as they arrive; returns the events they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut out = Vec::new();
        for &b in bytes {
            if self.after_cr {
                self.after_cr = false;
                if b == b'\n' {
                    continue;
                }
            }
            match b {
                b'\n' | b'\r' => {
                    self.after_cr = b == b'\r';
                    let line = std::mem::take(&mut self.line);
                    if let Some(e) = self.line_done(&line) {
                        out.push(e);
                    }
                }
                _ => {
                    self.size += 1;
                    if self.size > self.max && !self.skipping {
                        self.skipping = true;
                        self.oversized += 1;
                        tracing::warn!(limit = self.max, "stream event larger than the limit; skipped");
                    }
                    if !self.skipping {
                        self.line.push(b);
                    }
                }
            }
        }
        out
    }

    fn line_done(&mut self, line: &[u8]) -> Option<SseEvent> {
        if line.is_empty() {
            // A blank line: dispatch (or end the skipped event).
            let event = std::mem::take(&mut self.event);
            let data = std::mem::take(&mut self.data);
            let dispatch = self.has_data && !self.skipping;
            self.has_data = false;
            self.skipping = false;
            self.size = 0;
            return dispatch.then(|| SseEvent { event: if event.is_empty() { "message".into() } else { event }, data });
        }
        if self.skipping || line[0] == b':' {
            return None;
        }
        let line = String::from_utf8_lossy(line);
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_ref(), ""),
        };
        match field {
            "event" => self.event = value.to_string(),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            // `id` and `retry` mean nothing to us: Mastodon sends neither.
            _ => {}
        }
        None
    }
}

// ---- WebSocket ----

pub type WsStream = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a WebSocket to `url` with these request headers (a bearer token),
/// within `timeouts.connect`. A refused upgrade is [`StreamError::Refused`]
/// for 400/401/403/404/405/410/501 (the server will not stream this), else
/// [`StreamError::Down`]. `what` names the server in messages; the URL is
/// never logged (a query string can carry a token).
pub async fn connect_ws(what: &str, url: &str, headers: &[(&'static str, String)], timeouts: Timeouts) -> Result<WsStream, StreamError> {
    let mut request = url.into_client_request().map_err(|e| StreamError::Refused(format!("{what}: not a WebSocket URL: {e}")))?;
    for (name, value) in headers {
        let value = value.parse().map_err(|_| StreamError::Refused(format!("{what}: header {name} is not valid")))?;
        request.headers_mut().insert(*name, value);
    }
    let config = WebSocketConfig::default().max_message_size(Some(MAX_FRAME_BYTES)).max_frame_size(Some(MAX_FRAME_BYTES));
    let connect = tokio_tungstenite::connect_async_with_config(request, Some(config), false);
    match tokio::time::timeout(timeouts.connect, connect).await {
        Err(_) => Err(StreamError::Down(format!("{what}: no WebSocket connection within {}s", timeouts.connect.as_secs()))),
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(tungstenite::Error::Http(resp))) => {
            let status = resp.status().as_u16();
            let why = resp
                .headers()
                .get("x-error-message")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .or_else(|| resp.body().as_ref().map(|b| super::http::truncate_body(b)))
                .unwrap_or_default();
            let message = format!("{what}: the WebSocket upgrade was refused ({status}) {why}");
            Err(match status {
                400 | 401 | 403 | 404 | 405 | 410 | 501 => StreamError::Refused(message.trim_end().to_string()),
                _ => StreamError::Down(message.trim_end().to_string()),
            })
        }
        Ok(Err(e)) => Err(StreamError::Down(format!("{what}: WebSocket connection failed: {e}"))),
    }
}

/// The next text message of `ws`, answering pings on the way; Ok(None) when
/// the server closed the connection. A message over [`MAX_EVENT_BYTES`] is
/// skipped (and counted in `oversized`); binary frames are skipped. Nothing
/// for `idle` is [`StreamError::Down`].
pub async fn next_text(what: &str, ws: &mut WsStream, idle: Duration, oversized: &mut u64) -> Result<Option<String>, StreamError> {
    loop {
        let msg = match tokio::time::timeout(idle, ws.next()).await {
            Err(_) => return Err(StreamError::Down(format!("{what}: nothing received for {}s", idle.as_secs()))),
            Ok(None) => return Ok(None),
            Ok(Some(Err(e))) => return Err(StreamError::Down(format!("{what}: the stream broke: {e}"))),
            Ok(Some(Ok(m))) => m,
        };
        match msg {
            tungstenite::Message::Text(t) => {
                if t.len() > MAX_EVENT_BYTES {
                    *oversized += 1;
                    tracing::warn!(stream = what, bytes = t.len(), limit = MAX_EVENT_BYTES, "stream event larger than the limit; skipped");
                    continue;
                }
                return Ok(Some(t.as_str().to_string()));
            }
            tungstenite::Message::Ping(p) => {
                // tungstenite queues the pong; flushing sends it now.
                let _ = ws.send(tungstenite::Message::Pong(p)).await;
            }
            tungstenite::Message::Close(_) => return Ok(None),
            tungstenite::Message::Binary(_) | tungstenite::Message::Pong(_) | tungstenite::Message::Frame(_) => {}
        }
    }
}

/// A page of a stream: its posts and the cursor after them. Streams never
/// ask for more pages.
pub fn page(posts: Vec<crate::model::Post>, cursor: String) -> Page {
    Page { posts, cursor, more: false }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_dispatched_on_blank_lines_whatever_the_line_endings_and_chunking() {
        let raw =
            b":)\nevent: update\ndata: {\"id\":\"1\"}\n\n:thump\r\nevent: delete\r\ndata: 108914430312582020\r\n\r\nevent: notification\rdata: a\rdata: b\r\r";
        for chunk in [1, 2, 7, raw.len()] {
            let mut p = SseParser::new(1024);
            let events: Vec<SseEvent> = raw.chunks(chunk).flat_map(|c| p.push(c)).collect();
            assert_eq!(
                events,
                vec![
                    SseEvent { event: "update".into(), data: "{\"id\":\"1\"}".into() },
                    SseEvent { event: "delete".into(), data: "108914430312582020".into() },
                    SseEvent { event: "notification".into(), data: "a\nb".into() },
                ],
                "chunks of {chunk}"
            );
        }
    }

    #[test]
    fn an_event_cut_by_the_connection_is_never_dispatched_and_a_new_parser_starts_clean() {
        let mut p = SseParser::new(1024);
        assert!(p.push(b"event: update\ndata: {\"id\":\"1\",\"cont").is_empty());
        // The reconnect starts a new parser: the half event is gone.
        let mut p = SseParser::new(1024);
        assert_eq!(p.push(b"event: update\ndata: {}\n\n"), vec![SseEvent { event: "update".into(), data: "{}".into() }]);
    }

    #[test]
    fn an_oversized_event_is_skipped_and_the_next_one_is_read() {
        let mut p = SseParser::new(64);
        let big = format!("event: update\ndata: {}\n\n", "x".repeat(500));
        let mut events = p.push(big.as_bytes());
        events.extend(p.push(b"event: update\ndata: small\n\n"));
        assert_eq!(events, vec![SseEvent { event: "update".into(), data: "small".into() }]);
        assert_eq!(p.oversized, 1);
    }

    #[test]
    fn comments_and_events_without_data_dispatch_nothing() {
        let mut p = SseParser::new(1024);
        assert!(p.push(b":thump\n\nevent: filters_changed\n\n").is_empty());
    }

    #[test]
    fn reconnect_delays_double_up_to_the_cap() {
        let secs: Vec<u64> = (0..8).map(|f| backoff(f, 1.0).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(backoff(0, 0.8), Duration::from_millis(800));
    }
}
