//! A browser-like HTTP client for the web inbox: keeps the session cookie
//! (escucha sets one, `escucha_session`), follows no redirects (tests look
//! at them), and fills forms' CSRF tokens from the page they came from.

#![allow(dead_code)]

use std::sync::Mutex;

pub struct Web {
    pub base: String,
    http: reqwest::Client,
    cookie: Mutex<Option<String>>,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub set_cookie: Option<String>,
    pub content_type: String,
    pub body: String,
}

impl Page {
    /// The first CSRF token in the page's forms.
    pub fn csrf(&self) -> String {
        let at = self.body.find("name=\"csrf\" value=\"").unwrap_or_else(|| panic!("no CSRF field in\n{}", self.body));
        let rest = &self.body[at + "name=\"csrf\" value=\"".len()..];
        rest[..rest.find('"').unwrap()].to_string()
    }
}

impl Web {
    pub fn new(base: &str) -> Web {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Web { base: base.trim_end_matches('/').to_string(), http, cookie: Mutex::new(None) }
    }

    /// The session cookie's value, if any.
    pub fn session(&self) -> Option<String> {
        self.cookie.lock().unwrap().clone()
    }

    pub fn set_session(&self, value: Option<String>) {
        *self.cookie.lock().unwrap() = value;
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Page {
        let req = match self.session() {
            Some(c) => req.header("cookie", format!("escucha_session={c}")),
            None => req,
        };
        let r = req.send().await.unwrap();
        let header = |name: &str| r.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let (location, set_cookie, content_type) = (header("location"), header("set-cookie"), header("content-type").unwrap_or_default());
        if let Some(c) = &set_cookie {
            let value = c.split(';').next().unwrap().trim_start_matches("escucha_session=").to_string();
            self.set_session((!value.is_empty()).then_some(value));
        }
        Page { status: r.status().as_u16(), location, set_cookie, content_type, body: r.text().await.unwrap() }
    }

    pub async fn get(&self, path: &str) -> Page {
        self.send(self.http.get(format!("{}{path}", self.base))).await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        self.post_from(None, path, form).await
    }

    /// A form POST as a browser sends it from a page of `origin`.
    pub async fn post_from(&self, origin: Option<&str>, path: &str, form: &[(&str, &str)]) -> Page {
        let mut body = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in form {
            body.append_pair(k, v);
        }
        let mut req = self.http.post(format!("{}{path}", self.base)).header("content-type", "application/x-www-form-urlencoded").body(body.finish());
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        self.send(req).await
    }

    pub async fn login(&self, username: &str, password: &str) -> Page {
        self.post("/login", &[("username", username), ("password", password)]).await
    }

    /// Posts a form of the page at `from`, with that page's CSRF token.
    pub async fn submit(&self, from: &str, action: &str, form: &[(&str, &str)]) -> Page {
        let csrf = self.get(from).await.csrf();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(form);
        self.post(action, &all).await
    }
}
