//! Just enough of the W3C WebDriver protocol (JSON over HTTP) to drive
//! Debian's `chromium` through `chromedriver` in a test: open a session,
//! go to a URL, find elements by CSS, type, click, read the page. Written
//! over reqwest and serde_json (already here) rather than a WebDriver crate:
//! these eight commands are all the inbox's one browser test needs.
//! https://www.w3.org/TR/webdriver2/

#![allow(dead_code)]

use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The key under which WebDriver returns an element's id.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Flags for headless Chromium in a container, without network chatter.
pub const CHROMIUM_FLAGS: [&str; 8] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn find(candidates: &[&str]) -> String {
    candidates
        .iter()
        .find(|p| std::path::Path::new(p).exists())
        .unwrap_or_else(|| panic!("none of {candidates:?} exists: install Debian's chromium and chromium-driver (.ci/run does)"))
        .to_string()
}

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium session
    /// with a fresh profile.
    pub async fn start() -> Browser {
        let driver_bin = find(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]);
        let chromium = find(&["/usr/bin/chromium", "/usr/lib/chromium/chromium"]);
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new(driver_bin).arg(format!("--port={port}")).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("starting chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let started = Instant::now();
        loop {
            let ready = match http.get(format!("{base}/status")).send().await {
                Ok(r) => serde_json::from_str::<Value>(&r.text().await.unwrap_or_default()).is_ok_and(|v| v["value"]["ready"] == true),
                Err(_) => false,
            };
            if ready {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "chromedriver did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        args.push("--window-size=1200,900".into());
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {"binary": chromium, "args": args}}}});
        let mut b = Browser { driver, base, session: String::new(), http, _profile: profile };
        let v = b.call(reqwest::Method::POST, "/session", Some(caps)).await;
        b.session = v["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {v}")).to_string();
        b
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.try_call(method, path, body).await.unwrap_or_else(|e| panic!("{e}"))
    }

    /// A command's value, or what WebDriver said was wrong.
    async fn try_call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        let r = req.send().await.expect("chromedriver answers");
        let status = r.status();
        let v: Value = serde_json::from_str(&r.text().await.unwrap()).expect("chromedriver's JSON");
        if status.is_success() {
            Ok(v["value"].clone())
        } else {
            Err(format!("WebDriver {path}: {status} {v}"))
        }
    }

    /// The page's visible text, or None while it is being replaced (the
    /// body found a moment ago is gone: "stale element reference").
    async fn try_text(&self) -> Option<String> {
        let v = self.try_call(reqwest::Method::POST, &self.at("/element"), Some(json!({"using": "css selector", "value": "body"}))).await.ok()?;
        let body = v[ELEMENT].as_str()?.to_string();
        let t = self.try_call(reqwest::Method::GET, &self.at(&format!("/element/{body}/text")), None).await.ok()?;
        t.as_str().map(str::to_string)
    }

    fn at(&self, what: &str) -> String {
        format!("/session/{}{what}", self.session)
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, &self.at("/url"), Some(json!({"url": url}))).await;
    }

    pub async fn url(&self) -> String {
        self.call(reqwest::Method::GET, &self.at("/url"), None).await.as_str().unwrap().to_string()
    }

    /// Waits (up to 10 s) for the browser to be at `url`: a click that
    /// submits a form returns before the next page has loaded.
    pub async fn wait_url(&self, url: &str) {
        let started = Instant::now();
        loop {
            let now = self.url().await;
            if now == url {
                return;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "the browser stayed at {now}, not {url}:\n{:?}", self.try_text().await);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits (up to 10 s) for the page's text to contain `needle`; returns the text.
    pub async fn wait_text(&self, needle: &str) -> String {
        let started = Instant::now();
        loop {
            let text = self.try_text().await.unwrap_or_default();
            if text.contains(needle) {
                return text;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "{needle:?} never appeared in:\n{text}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn source(&self) -> String {
        self.call(reqwest::Method::GET, &self.at("/source"), None).await.as_str().unwrap().to_string()
    }

    /// The visible text of the page's body.
    pub async fn text(&self) -> String {
        let body = self.find("body").await;
        self.call(reqwest::Method::GET, &self.at(&format!("/element/{body}/text")), None).await.as_str().unwrap().to_string()
    }

    /// The first element matching a CSS selector (its WebDriver id).
    pub async fn find(&self, css: &str) -> String {
        let v = self.call(reqwest::Method::POST, &self.at("/element"), Some(json!({"using": "css selector", "value": css}))).await;
        v[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {v}")).to_string()
    }

    /// The first element matching an XPath expression.
    pub async fn find_xpath(&self, xpath: &str) -> String {
        let v = self.call(reqwest::Method::POST, &self.at("/element"), Some(json!({"using": "xpath", "value": xpath}))).await;
        v[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {xpath}: {v}")).to_string()
    }

    /// Types into the first match of `css`, after clearing what it held
    /// (a form shown again keeps the name typed before).
    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.call(reqwest::Method::POST, &self.at(&format!("/element/{e}/clear")), Some(json!({}))).await;
        self.call(reqwest::Method::POST, &self.at(&format!("/element/{e}/value")), Some(json!({"text": text}))).await;
    }

    pub async fn click(&self, element: &str) {
        self.call(reqwest::Method::POST, &self.at(&format!("/element/{element}/click")), Some(json!({}))).await;
    }

    /// Runs `script` in the page as an async function body (WebDriver's
    /// execute/async: it calls `arguments[0]` with its answer); the answer.
    pub async fn run_async(&self, script: &str) -> Value {
        let body = format!("const done = arguments[arguments.length - 1]; {script}");
        self.call(reqwest::Method::POST, &self.at("/execute/async"), Some(json!({"script": body, "args": []}))).await
    }

    pub async fn quit(&self) {
        self.call(reqwest::Method::DELETE, &format!("/session/{}", self.session), None).await;
    }
}
