//! A fake Bluesky Jetstream for tests (REFERENCE-streaming.md section 2): a
//! WebSocket server on loopback answering `/subscribe` with JSON text
//! frames, `wantedCollections` filtering (identity and account events always
//! pass), an inclusive `time_us` replay `cursor` (a cursor in the future is
//! live tail; a non-integer one 400 `invalid cursor: <value>` in plain
//! text before the upgrade), and knobs for what goes wrong: cut every
//! connection, refuse or never answer new ones, half a frame then the
//! connection ends, a frame that is not JSON, an oversized frame.
#![allow(dead_code)]

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::Message;

/// What the next live event written to each connection is preceded by.
#[derive(Debug, Clone, PartialEq)]
pub enum Trick {
    /// Half of the event's frame, then the connection ends.
    CutMidEvent,
    /// A frame that is not JSON.
    Malformed,
    /// A valid event of about this many bytes.
    Oversized(usize),
}

struct Ctl {
    /// (time_us, frame) of every event, in publication order.
    log: Mutex<Vec<(i64, Value)>>,
    live: tokio::sync::broadcast::Sender<(i64, Value)>,
    cut: tokio::sync::watch::Sender<u64>,
    down: AtomicBool,
    silent: AtomicBool,
    tricks: Mutex<VecDeque<Trick>>,
    /// The request target of every connection, in order.
    requests: Mutex<Vec<String>>,
}

pub struct FakeJetstream {
    ctl: Arc<Ctl>,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeJetstream {
    fn drop(&mut self) {
        self.server.abort();
        self.ctl.cut.send_modify(|g| *g += 1);
    }
}

impl FakeJetstream {
    pub async fn start() -> FakeJetstream {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let ctl = Arc::new(Ctl {
            log: Mutex::new(Vec::new()),
            live: tokio::sync::broadcast::channel(4096).0,
            cut: tokio::sync::watch::channel(0).0,
            down: AtomicBool::new(false),
            silent: AtomicBool::new(false),
            tricks: Mutex::new(VecDeque::new()),
            requests: Mutex::new(Vec::new()),
        });
        let c = ctl.clone();
        let server = tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else { return };
                let c = c.clone();
                tokio::spawn(async move { serve(sock, c).await });
            }
        });
        FakeJetstream { ctl, addr, server }
    }

    /// `ws://127.0.0.1:<port>`, the `jetstream` to configure.
    pub fn base_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Publishes an event (it must carry `time_us`): kept for replay and
    /// sent to every connection that wants it.
    pub fn publish(&self, event: Value) {
        let t = event["time_us"].as_i64().expect("an event has time_us");
        self.ctl.log.lock().unwrap().push((t, event.clone()));
        let _ = self.ctl.live.send((t, event));
    }

    /// A `commit` event creating a post record.
    pub fn post_event(did: &str, rkey: &str, time_us: i64, record: Value) -> Value {
        json!({"did": did, "time_us": time_us, "kind": "commit", "commit": {"rev": format!("rev{time_us}"), "operation": "create",
               "collection": "app.bsky.feed.post", "rkey": rkey, "record": record, "cid": format!("bafyrei{rkey}")}})
    }

    /// Closes every open connection now.
    pub fn cut(&self) {
        self.ctl.cut.send_modify(|g| *g += 1);
    }
    /// While down, connections are closed as soon as they are accepted.
    pub fn set_down(&self, down: bool) {
        self.ctl.down.store(down, Ordering::SeqCst);
    }
    /// While silent, connections are accepted and never answered.
    pub fn set_silent(&self, silent: bool) {
        self.ctl.silent.store(silent, Ordering::SeqCst);
    }
    pub fn trick(&self, t: Trick) {
        self.ctl.tricks.lock().unwrap().push_back(t);
    }
    /// The request target of each connection so far, e.g.
    /// `/subscribe?wantedCollections=app.bsky.feed.post&cursor=...`.
    pub fn requests(&self) -> Vec<String> {
        self.ctl.requests.lock().unwrap().clone()
    }
    /// The `cursor` each connection asked for (None: live tail).
    pub fn cursors(&self) -> Vec<Option<i64>> {
        self.requests().iter().map(|r| param(r, "cursor").and_then(|c| c.parse().ok())).collect()
    }
}

fn param(target: &str, name: &str) -> Option<String> {
    let query = target.split_once('?')?.1;
    url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

fn wanted(event: &Value, collections: &[String]) -> bool {
    if event["kind"] != "commit" || collections.is_empty() {
        return true;
    }
    let c = event["commit"]["collection"].as_str().unwrap_or_default();
    collections.iter().any(|w| w == c || w.strip_suffix(".*").is_some_and(|p| c.starts_with(&format!("{p}."))))
}

async fn serve(mut sock: tokio::net::TcpStream, ctl: Arc<Ctl>) {
    if ctl.down.load(Ordering::SeqCst) {
        return;
    }
    if ctl.silent.load(Ordering::SeqCst) {
        let mut cut = ctl.cut.subscribe();
        let _ = cut.changed().await;
        return;
    }
    // Peek at the request line: a bad cursor is refused before the upgrade.
    let mut buf = vec![0u8; 8192];
    let n = sock.peek(&mut buf).await.unwrap_or(0);
    let head = String::from_utf8_lossy(&buf[..n]).to_string();
    let target = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    ctl.requests.lock().unwrap().push(target.clone());
    let cursor = param(&target, "cursor");
    let cursor: Option<i64> = match cursor {
        None => None,
        Some(c) => match c.parse() {
            Ok(c) => Some(c),
            Err(_) => {
                let body = format!("invalid cursor: {c}");
                let reply = format!("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Length: {}\r\n\r\n{body}", body.len());
                let _ = sock.write_all(reply.as_bytes()).await;
                return;
            }
        },
    };
    let collections: Vec<String> = target
        .split_once('?')
        .map(|(_, q)| url::form_urlencoded::parse(q.as_bytes()).filter(|(k, _)| k == "wantedCollections").map(|(_, v)| v.into_owned()).collect())
        .unwrap_or_default();
    let Ok(mut ws) = tokio_tungstenite::accept_async(sock).await else { return };
    let mut live = ctl.live.subscribe();
    let mut cut = ctl.cut.subscribe();
    // Replay (inclusive), then live without repeating what was replayed.
    let now_us = chrono::Utc::now().timestamp_micros();
    let replay: Vec<(i64, Value)> = match cursor.filter(|c| *c <= now_us) {
        Some(c) => ctl.log.lock().unwrap().iter().filter(|(t, _)| *t >= c).cloned().collect(),
        None => Vec::new(),
    };
    let mut last = i64::MIN;
    for (t, event) in replay {
        if wanted(&event, &collections) && ws.send(Message::text(event.to_string())).await.is_err() {
            return;
        }
        last = last.max(t);
    }
    loop {
        tokio::select! {
            // A cut wins over an event that arrives at the same moment.
            biased;
            _ = cut.changed() => return,
            incoming = ws.next() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
            ev = live.recv() => {
                let Ok((t, event)) = ev else { return };
                if t <= last || !wanted(&event, &collections) {
                    continue;
                }
                let trick = ctl.tricks.lock().unwrap().pop_front();
                match trick {
                    Some(Trick::CutMidEvent) => {
                        let frame = event.to_string();
                        let mut bytes = vec![0x81u8, 126];
                        bytes.extend_from_slice(&(frame.len() as u16).to_be_bytes());
                        bytes.extend_from_slice(&frame.as_bytes()[..frame.len() / 2]);
                        let mut sock = ws.into_inner();
                        let _ = sock.write_all(&bytes).await;
                        let _ = sock.shutdown().await;
                        return;
                    }
                    Some(Trick::Malformed) => {
                        let _ = ws.send(Message::text("{\"did\": \"did:plc:broken\", \"time_us\": ")).await;
                    }
                    Some(Trick::Oversized(n)) => {
                        let big = FakeJetstream::post_event("did:plc:big", "3big", t, json!({"$type": "app.bsky.feed.post", "text": "x".repeat(n), "createdAt": "2026-01-01T00:00:00Z"}));
                        let _ = ws.send(Message::text(big.to_string())).await;
                    }
                    None => {}
                }
                if ws.send(Message::text(event.to_string())).await.is_err() {
                    return;
                }
            }
        }
    }
}
