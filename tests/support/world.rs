//! The config TOML that daemon-level tests write for their world: a builder
//! with one method per section the tests repeat (`[daemon]`, a `[[brand]]`
//! with its accounts, each `[source.*]`, `[smtp]`, `[[webhook]]`, the
//! `care` rota), each taking the values that vary, and `set` for the keys
//! only one test needs. It renders the sections in the order they were
//! added, so array tables (brands, shifts) keep their order.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// A shift that is always on duty.
pub const ALWAYS: &str = "* * * * * *";

/// A TOML basic string (the values the tests use need only `\` and `"`
/// escaped).
pub fn q(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

struct Section {
    /// `[name]`, `[[name]]`, or empty for raw text.
    header: String,
    lines: Vec<String>,
}

#[derive(Default)]
pub struct ConfigToml {
    sections: Vec<Section>,
}

impl ConfigToml {
    pub fn new() -> ConfigToml {
        ConfigToml::default()
    }

    /// A section with `header` (brackets included) and `body`'s lines.
    pub fn section(mut self, header: &str, body: &str) -> ConfigToml {
        let lines = body.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect();
        self.sections.push(Section { header: header.to_string(), lines });
        self
    }

    /// Text as is, after everything added so far (sections of its own, or
    /// lines that belong to the section before it).
    pub fn raw(self, text: &str) -> ConfigToml {
        self.section("", text)
    }

    /// `key = "value"` in the last `[table]` or `[[table]]`, replacing the
    /// key if it is there already.
    pub fn set(self, table: &str, key: &str, value: &str) -> ConfigToml {
        self.set_raw(table, key, &q(value))
    }

    /// Like [`ConfigToml::set`] with a value written as TOML (a number, an
    /// array, an inline table).
    pub fn set_raw(mut self, table: &str, key: &str, value: &str) -> ConfigToml {
        let section = self.table(table);
        section.lines.retain(|l| l.split('=').next().map(str::trim) != Some(key));
        section.lines.push(format!("{key} = {value}"));
        self
    }

    /// Appends `lines` (TOML, possibly empty) to the last `[table]` or
    /// `[[table]]`.
    pub fn lines(mut self, table: &str, lines: &str) -> ConfigToml {
        let section = self.table(table);
        section.lines.extend(lines.lines().filter(|l| !l.trim().is_empty()).map(str::to_string));
        self
    }

    fn table(&mut self, table: &str) -> &mut Section {
        let (single, array) = (format!("[{table}]"), format!("[[{table}]]"));
        self.sections.iter_mut().rev().find(|s| s.header == single || s.header == array).unwrap_or_else(|| panic!("no [{table}] yet"))
    }

    /// `[daemon]` with its database (relative to the config, or absolute).
    pub fn daemon(self, database: &str) -> ConfigToml {
        self.section("[daemon]", &format!("database = {}", q(database)))
    }

    /// The last `[daemon]` serves HTTP (and ack links) on localhost `port`,
    /// signing ack links with `ack_secret`.
    pub fn http_with_acks(self, port: u16, ack_secret: &str) -> ConfigToml {
        self.set("daemon", "http", &format!("127.0.0.1:{port}")).set("daemon", "public_url", &format!("http://127.0.0.1:{port}")).set(
            "daemon",
            "ack_secret",
            ack_secret,
        )
    }

    /// `[[brand]]` with one term, paged to the `care` rota.
    pub fn brand(self, id: &str, name: &str, term: &str, complaint: &str, escalation: &str) -> ConfigToml {
        self.section(
            "[[brand]]",
            &format!(
                "id = {}\nname = {}\nterms = [{}]\nrespond_within = {{ complaint = {}, escalation = {} }}\noncall = \"care\"",
                q(id),
                q(name),
                q(term),
                q(complaint),
                q(escalation)
            ),
        )
    }

    /// `[brand.accounts]` of the last brand: (platform, handle).
    pub fn accounts(self, accounts: &[(&str, &str)]) -> ConfigToml {
        let body: Vec<String> = accounts.iter().map(|(platform, handle)| format!("{platform} = {}", q(handle))).collect();
        self.section("[brand.accounts]", &body.join("\n"))
    }

    /// The brand most tests watch: Interjet, with its `accounts`.
    pub fn interjet(self, complaint: &str, escalation: &str, accounts: &[(&str, &str)]) -> ConfigToml {
        self.brand("interjet", "Interjet", "interjet", complaint, escalation).accounts(accounts)
    }

    /// `[source.x]`, polled every second.
    pub fn x(self, api_base: &str, bearer_token: &str) -> ConfigToml {
        self.section("[source.x]", &format!("api_base = {}\nbearer_token = {}\nevery = \"1s\"", q(api_base), q(bearer_token)))
    }

    /// `[source.mastodon]`, polled every second.
    pub fn mastodon(self, instance: &str, access_token: &str) -> ConfigToml {
        self.section("[source.mastodon]", &format!("instance = {}\naccess_token = {}\nevery = \"1s\"", q(instance), q(access_token)))
    }

    /// `[source.bluesky]`, polled every second.
    pub fn bluesky(self, service: &str, identifier: &str, app_password: &str) -> ConfigToml {
        self.section(
            "[source.bluesky]",
            &format!("service = {}\nidentifier = {}\napp_password = {}\nevery = \"1s\"", q(service), q(identifier), q(app_password)),
        )
    }

    /// `[source.reddit]`, polled every second; `client` is (id, secret,
    /// user agent).
    pub fn reddit(self, api_base: &str, token_url: &str, client: (&str, &str, &str)) -> ConfigToml {
        let (id, secret, agent) = client;
        self.section(
            "[source.reddit]",
            &format!(
                "api_base = {}\ntoken_url = {}\nclient_id = {}\nclient_secret = {}\nuser_agent = {}\nevery = \"1s\"",
                q(api_base),
                q(token_url),
                q(id),
                q(secret),
                q(agent)
            ),
        )
    }

    /// `[source.hackernews]`, polled every second.
    pub fn hackernews(self, api_base: &str) -> ConfigToml {
        self.section("[source.hackernews]", &format!("api_base = {}\nevery = \"1s\"", q(api_base)))
    }

    /// One `[[source.feed]]` of `brand`, polled every second.
    pub fn feed(self, url: &str, brand: &str) -> ConfigToml {
        self.section("[[source.feed]]", &format!("url = {}\nbrand = {}\nevery = \"1s\"", q(url), q(brand)))
    }

    /// `[smtp]` on localhost without TLS.
    pub fn smtp(self, port: u16) -> ConfigToml {
        self.section("[smtp]", &format!("host = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\nfrom = \"Escucha <alerts@example.com>\""))
    }

    /// One `[[webhook]]`.
    pub fn webhook(self, id: &str, kind: &str, url: &str) -> ConfigToml {
        self.section("[[webhook]]", &format!("id = {}\nkind = {}\nurl = {}", q(id), q(kind), q(url)))
    }

    /// The `care` rota with no shift yet (see [`ConfigToml::shift`]).
    pub fn rota(self) -> ConfigToml {
        self.section("[[oncall]]", "id = \"care\"")
    }

    /// A `[[oncall.shift]]` of the last rota.
    pub fn shift(self, when: &str, notify: &[&str]) -> ConfigToml {
        let notify: Vec<String> = notify.iter().map(|n| q(n)).collect();
        self.section("[[oncall.shift]]", &format!("when = {}\nnotify = [{}]", q(when), notify.join(", ")))
    }

    /// The `care` rota, always on duty, paging `notify`.
    pub fn oncall(self, notify: &[&str]) -> ConfigToml {
        self.rota().shift(ALWAYS, notify)
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for s in &self.sections {
            out.push('\n');
            if !s.header.is_empty() {
                out.push_str(&s.header);
                out.push('\n');
            }
            for l in &s.lines {
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }

    /// Writes `dir/escucha.toml`; returns its path.
    pub fn write(&self, dir: &Path) -> PathBuf {
        let path = dir.join("escucha.toml");
        std::fs::write(&path, self.render()).unwrap();
        path
    }
}
