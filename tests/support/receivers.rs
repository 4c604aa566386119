//! A local HTTP receiver standing in for Slack, Discord, Teams, ntfy,
//! PagerDuty or a generic JSON endpoint: it records every request (method,
//! path, headers, body) and answers with scripted statuses (then a default),
//! so tests can check exact shapes and headers and provoke 4xx/5xx.

#![allow(dead_code)]

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::Router;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

#[derive(Default)]
struct Inner {
    received: Vec<Received>,
    script: VecDeque<u16>,
    default_status: u16,
}

#[derive(Clone)]
pub struct Receiver {
    inner: Arc<Mutex<Inner>>,
    port: u16,
}

impl Receiver {
    /// Starts a receiver answering `default_status` (e.g. 200, or 202 like
    /// PagerDuty) to every request not scripted otherwise.
    pub async fn start(default_status: u16) -> Receiver {
        let inner = Arc::new(Mutex::new(Inner { default_status, ..Default::default() }));
        let app = Router::new().fallback(record).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await.expect("receiver") });
        Receiver { inner, port }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The next requests get these statuses, in order.
    pub fn answer_next(&self, statuses: &[u16]) {
        self.inner.lock().unwrap().script.extend(statuses.iter().copied());
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    /// Waits (polling, never a bare sleep) until `n` requests arrived.
    pub async fn wait_for(&self, n: usize, timeout: Duration, what: &str) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let r = self.received();
            if r.len() >= n {
                return r;
            }
            if start.elapsed() > timeout {
                panic!("timed out waiting for {n} request(s) ({what}); got {}: {r:#?}", r.len());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn record(State(inner): State<Arc<Mutex<Inner>>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> StatusCode {
    let mut i = inner.lock().unwrap();
    i.received.push(Received {
        method: method.to_string(),
        path: uri.path().to_string(),
        headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string())).collect(),
        body: body.to_vec(),
    });
    let status = i.script.pop_front().unwrap_or(i.default_status);
    StatusCode::from_u16(status).unwrap()
}
