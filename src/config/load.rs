//! Loading the configuration: the TOML file, then `ESCUCHA__SECTION__KEY`
//! environment variables on top (the `config` crate merges them; the
//! environment is added last so it wins), then every key checked at once and
//! turned into the validated types of `types.rs`. Nothing after `load`
//! checks the configuration again.
//!
//! Conventions of the messages and defaults (documented in
//! `config/escucha.example.toml` too):
//! - array elements are counted from 0, like the TOML array: the first
//!   `[[brand]]` is `brand[0]`;
//! - each message names the file, the line when the key is in the file (or
//!   the variable when it came from the environment), the key path, and
//!   what to do;
//! - `respond_within` defaults to complaint "30m", escalation "5m";
//!   `[smtp] security` to "starttls", its port to 25 / 587 / 465 for
//!   none / starttls / tls; every source's `every` to "1m" and
//!   `unhealthy_after` to "30m".
//!
//! Every environment lookup (secrets' `_env`, `$CREDENTIALS_DIRECTORY`,
//! `$STATE_DIRECTORY`, the `ESCUCHA__` overrides) goes through [`Env`], so
//! tests never depend on the process environment.

use super::raw::{self, Doc, Table};
use super::types::*;
use chrono_tz::Tz;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// Where `escucha` looks when neither `--config` nor `$ESCUCHA_CONFIG` says.
pub const SYSTEM_PATH: &str = "/etc/escucha/escucha.toml";

/// The environment a configuration is loaded in: a snapshot of variables.
/// Its `Debug` lists names only, since values may be secrets.
#[derive(Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
    /// `escucha check --reload` (what `systemctl reload` runs): a
    /// credential file it may not read counts as present.
    reload_check: bool,
}

impl Env {
    /// The process environment (variables that are not UTF-8 are skipped).
    pub fn process() -> Env {
        std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))).collect()
    }

    /// An empty environment, for tests.
    pub fn empty() -> Env {
        Env::default()
    }

    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Env {
        self.vars.insert(name.into(), value.into());
        self
    }

    /// This environment, as `escucha check --reload` reads the config.
    pub fn for_reload_check(mut self) -> Env {
        self.reload_check = true;
        self
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// A directory variable such as `$STATE_DIRECTORY`: unset and empty are
    /// the same. systemd may list several, separated by `:`; the first wins.
    fn dir(&self, name: &str) -> Option<PathBuf> {
        let v = self.get(name)?.split(':').next()?;
        (!v.is_empty()).then(|| PathBuf::from(v))
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Env {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Env {
        Env { vars: iter.into_iter().map(|(k, v)| (k.into(), v.into())).collect(), reload_check: false }
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.vars.keys()).finish()
    }
}

/// One problem with the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The config file, as it was named.
    pub file: PathBuf,
    /// 1-based line of the key in the file, when it is there.
    pub line: Option<usize>,
    /// Key path, e.g. `brand[0].respond_within.complaint`; empty when the
    /// problem is the file itself (unreadable, TOML syntax).
    pub key: String,
    /// Set when the value came from an `ESCUCHA__…` variable.
    pub env_var: Option<String>,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        f.write_str(": ")?;
        if !self.key.is_empty() {
            f.write_str(&self.key)?;
            if let Some(var) = &self.env_var {
                write!(f, " (set by {var})")?;
            }
            f.write_str(": ")?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem found in one configuration, in file order. Displayed one
/// problem per line; the CLI prints it and exits 78.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    fn one(file: &Path, line: Option<usize>, message: impl Into<String>) -> ConfigErrors {
        ConfigErrors(vec![ConfigError { file: file.to_path_buf(), line, key: String::new(), env_var: None, message: message.into() }])
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// The config file to use: `--config`, else `$ESCUCHA_CONFIG`, else
/// `/etc/escucha/escucha.toml`.
pub fn default_path(cli: Option<&Path>) -> PathBuf {
    default_path_in(cli, &Env::process())
}

pub fn default_path_in(cli: Option<&Path>, env: &Env) -> PathBuf {
    match (cli, env.get("ESCUCHA_CONFIG")) {
        (Some(p), _) => p.to_path_buf(),
        (None, Some(p)) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(SYSTEM_PATH),
    }
}

/// Loads and checks `path` in the process environment.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    load_with(path, &Env::process())
}

/// Loads and checks `path` in the environment `env`.
pub fn load_with(path: &Path, env: &Env) -> Result<Config, ConfigErrors> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigErrors::one(path, None, format!("cannot read the config file: {e} (pass --config FILE or set ESCUCHA_CONFIG)")))?;
    load_str(&text, path, env)
}

/// Checks `toml` as if it were the contents of `path` (which names it in
/// messages and anchors relative paths; it need not exist).
pub fn load_str(toml: &str, path: &Path, env: &Env) -> Result<Config, ConfigErrors> {
    // The same parser the `config` crate uses, for the line of every key.
    let (tree, syntax) = toml::de::DeTable::parse_recoverable(toml);
    if !syntax.is_empty() {
        let starts = raw::line_starts(toml);
        let mut errors: Vec<ConfigError> = syntax
            .iter()
            .map(|e| ConfigError {
                file: path.to_path_buf(),
                line: e.span().map(|s| raw::line_at(&starts, s.start)),
                key: String::new(),
                env_var: None,
                message: format!("TOML syntax: {}", e.message().replace('\n', "; ")),
            })
            .collect();
        errors.sort_by_key(|e| e.line);
        return Err(ConfigErrors(errors));
    }

    let overrides: config::Map<String, String> = env.vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let merged = config::Config::builder()
        .add_source(config::File::from_str(toml, config::FileFormat::Toml))
        .add_source(
            config::Environment::with_prefix(raw::ENV_PREFIX).prefix_separator(raw::ENV_SEPARATOR).separator(raw::ENV_SEPARATOR).source(Some(overrides)),
        )
        .build()
        .map_err(|e| ConfigErrors::one(path, None, e.to_string()))?;

    let doc = Doc::new(path, toml, tree.get_ref());
    let root_value = &merged.cache;
    let config::ValueKind::Table(map) = &root_value.kind else {
        return Err(ConfigErrors::one(path, None, "the configuration is not a table"));
    };
    let root = Table::new(&doc, String::new(), root_value, map);

    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let checker = Checker { env, config_dir: absolute.parent().map(Path::to_path_buf).unwrap_or_default(), respond_within: Default::default() };
    let config = checker.config(path, &root);
    root.finish();

    if doc.has_errors() {
        let mut errors = doc.into_errors();
        // File order reads best; what came from the environment goes last.
        errors.sort_by_key(|e| (e.line.is_none(), e.line));
        return Err(ConfigErrors(errors));
    }
    // Every builder returns None only after reporting why.
    config.ok_or_else(|| ConfigErrors::one(path, None, "invalid configuration"))
}

struct Checker<'e> {
    env: &'e Env,
    config_dir: PathBuf,
    /// Each source's `respond_within`, read with its schedule (by source
    /// name; the first `[[source.feed]]` that has one stands for feeds).
    respond_within: std::cell::RefCell<std::collections::BTreeMap<String, RespondWithinOverride>>,
}

const SOURCES: [&str; 13] = [
    "x",
    "mastodon",
    "bluesky",
    "reddit",
    "hackernews",
    "feed",
    "facebook",
    "instagram",
    "youtube",
    "google_reviews",
    "app_store",
    "google_play",
    "trustpilot",
];
const LATER_SOURCES: [&str; 0] = [];
/// The Graph API version used when `api_version` is not given.
pub const DEFAULT_GRAPH_VERSION: &str = "v21.0";
/// What a secret file the reload's check may not read stands for (see
/// `secret`): its contents are the daemon's to check.
const UNREAD_AT_RELOAD: &str = "(unread: checked by the daemon at reload)";
const PAGERDUTY_ENQUEUE: &str = "https://events.pagerduty.com/v2/enqueue";

impl Checker<'_> {
    fn config(&self, path: &Path, root: &Table) -> Option<Config> {
        let daemon = self.daemon(&root.section("daemon"));
        let tz = daemon.as_ref().map_or(chrono_tz::UTC, |d| d.timezone);

        // Ids first: notify lists, brands and feeds refer to them.
        let webhook_tables = root.tables("webhook");
        let webhook_ids = unique_ids(&webhook_tables, "webhook");
        let rota_tables = root.tables("oncall");
        let rota_ids = unique_ids(&rota_tables, "oncall");
        let brand_tables = root.tables("brand");
        let brand_ids = unique_ids(&brand_tables, "brand");

        let webhooks = collect(webhook_tables.into_iter().map(|t| self.webhook(t)));
        let oncall = collect(rota_tables.into_iter().map(|t| self.rota(t, tz, &webhook_ids)));
        let brands = collect(brand_tables.into_iter().map(|t| self.brand(t, tz, &rota_ids)));

        // (brand id, user name) of each brand's Reddit account: whose
        // username mentions a Reddit user token reads.
        let reddit_accounts: Vec<(String, String)> = brands
            .iter()
            .flatten()
            .filter_map(|b| b.accounts.reddit.as_deref().map(|a| (b.id.clone(), crate::sources::reddit::account_name(a).to_lowercase())))
            .collect();
        let sources = self.sources(&root.section("source"), &brand_ids, &reddit_accounts);
        let smtp = root.table("smtp").map(|t| self.smtp(t));
        let people = collect(root.tables("person").into_iter().map(|t| self.person(t)));
        let mut seen = HashSet::new();
        for (i, p) in people.iter().enumerate() {
            if let Some(p) = p {
                if !seen.insert(p.address.to_lowercase()) {
                    root.doc.report(&format!("person[{i}].address"), None, format!("{:?} already has a [[person]] entry: merge the two", p.address));
                }
            }
        }
        let users = collect(root.tables("user").into_iter().map(|t| self.user(t)));
        let (mut names, mut emails) = (HashSet::new(), HashSet::new());
        for (i, u) in users.iter().enumerate() {
            if let Some(u) = u {
                if !names.insert(u.name.clone()) {
                    root.doc.report(&format!("user[{i}].name"), None, format!("{:?} is already the name of another [[user]]", u.name));
                }
                if !emails.insert(u.email.to_lowercase()) {
                    root.doc.report(&format!("user[{i}].email"), None, format!("{:?} is already the email of another [[user]]", u.email));
                }
            }
        }
        let digest = match root.table("digest") {
            Some(t) => self.digest(t, tz, &webhook_ids).map(Some),
            None => Some(None),
        };

        Some(Config {
            path: path.to_path_buf(),
            daemon: daemon?,
            brands: brands.into_iter().collect::<Option<_>>()?,
            sources: sources?,
            smtp: smtp.map_or(Some(None), |s| s.map(Some))?,
            webhooks: webhooks.into_iter().collect::<Option<_>>()?,
            oncall: oncall.into_iter().collect::<Option<_>>()?,
            people: people.into_iter().collect::<Option<_>>()?,
            digest: digest?,
            users: users.into_iter().collect::<Option<_>>()?,
        })
    }

    fn user(&self, t: Table) -> Option<User> {
        let name = t.required("name", "\"ana\"").and_then(|i| i.parse("\"ana\"", parse_id));
        let email = t.required("email", "\"ana@example.com\"").and_then(|i| {
            i.parse("\"ana@example.com\"", |s| {
                if is_email(s) {
                    Ok(s.to_string())
                } else {
                    Err(format!("{s:?} is not an email address (e.g. \"ana@example.com\")"))
                }
            })
        });
        let hash = self.secret(&t, "password_hash", Some("ESCUCHA_ANA_PASSWORD_HASH")).flatten().and_then(|h| {
            // Never echo the value: a hash is still a secret to brute-force.
            if crate::web::auth::is_password_hash(h.expose()) {
                Some(h)
            } else {
                t.report(&secret_key(&t, "password_hash"), "is not an argon2 hash in PHC format: make one with `escucha passwd`".to_string());
                None
            }
        });
        let language = language_key(&t);
        t.finish();
        Some(User { name: name?, email: email?, password_hash: hash?, language: language? })
    }

    fn daemon(&self, t: &Table) -> Option<Daemon> {
        // A PostgreSQL URL carries a password: it may come from the
        // environment or a file instead.
        let given_url = self.secret(t, "database_url", None);
        let inline_url = t.peek_str("database").filter(|s| s.starts_with("postgres://") || s.starts_with("postgresql://"));
        if let (Some(Some(_)), true) = (&given_url, t_has(t, "database")) {
            t.report("database", "give either database (a SQLite file or a postgres:// URL) or database_url_env / database_url_file, not both".to_string());
        }
        let database_url = match (given_url, inline_url) {
            (Some(Some(u)), _) => Some(Some(u)),
            (Some(None), Some(u)) => Some(Some(Secret::new(u))),
            (Some(None), None) => Some(None),
            (None, _) => None,
        };
        let database_url = database_url.and_then(|u| match u {
            Some(u) if !(u.expose().starts_with("postgres://") || u.expose().starts_with("postgresql://")) => {
                t.report(&secret_key(t, "database_url"), "is not a PostgreSQL URL (postgres://user@host:5432/escucha)".to_string());
                None
            }
            Some(u) => match crate::store::pgtls::PgUrl::parse(u.expose()) {
                Ok(_) => Some(Some(u)),
                // The reasons name a parameter, never the URL (it may hold a password).
                Err(why) => {
                    t.report(
                        &secret_key(t, "database_url"),
                        format!("is not a PostgreSQL URL escucha can read (postgres://user:password@host:5432/escucha): {why}"),
                    );
                    None
                }
            },
            u => Some(u),
        });
        let lease = t.duration("lease", Duration::from_secs(30));
        let database = match t.get("database") {
            Some(item) => item.parse("\"escucha.db\"", |s| {
                if s.trim().is_empty() {
                    Err("is empty: name the SQLite file, e.g. \"escucha.db\"".into())
                } else {
                    Ok(s.to_string())
                }
            }),
            None => Some("escucha.db".to_string()),
        }
        .map(|s| {
            let p = PathBuf::from(s);
            if p.is_absolute() {
                p
            } else {
                // systemd's StateDirectory= is where a service keeps its
                // data; a shell using the service's config (under
                // /etc/escucha) finds the same file in /var/lib/escucha,
                // rather than a second database beside the config.
                self.env.dir("STATE_DIRECTORY").unwrap_or_else(|| state_dir_for(&self.config_dir)).join(p)
            }
        });
        let http = t.optional("http", "\"127.0.0.1:8686\"", parse_listen);
        let timezone = t.get("timezone").map_or(Some(chrono_tz::UTC), |i| i.parse("\"Europe/Madrid\"", parse_timezone));
        let public_url = t.optional("public_url", "\"https://escucha.example.com\"", parse_http_url);
        let ack_secret = self.secret(t, "ack_secret", None);
        let group_wait = t.duration("group_wait", Duration::ZERO);
        let log_format = match t.get("log_format") {
            None => Some(LogFormat::Text),
            Some(i) => i.parse("\"text\"", |s| match s {
                "text" => Ok(LogFormat::Text),
                "json" => Ok(LogFormat::Json),
                _ => Err(format!("{s:?} is not a log format (use \"text\" or \"json\")")),
            }),
        };
        let retention = match t.get("retention") {
            None => Some(None),
            Some(i) => match i.duration() {
                Some(d) if d < Duration::from_secs(86_400) => {
                    i.report(format!("{} keeps less than a day; housekeeping runs daily (try \"180d\")", humantime::format_duration(d)));
                    None
                }
                Some(d) => Some(Some(d)),
                None => None,
            },
        };
        let classifier = match t.get("classifier") {
            None => Some(ClassifierKind::Learned),
            Some(i) => i.parse("\"learned\"", |s| match s {
                "learned" => Ok(ClassifierKind::Learned),
                "rules" => Ok(ClassifierKind::Rules),
                _ => Err(format!("{s:?} is not a classifier (use \"learned\" or \"rules\")")),
            }),
        };
        let trusted_user_header = t.optional("trusted_user_header", "\"X-Forwarded-User\"", |s| {
            axum::http::HeaderName::from_bytes(s.trim().as_bytes()).map_err(|_| format!("{s:?} is not an HTTP header name (e.g. \"X-Forwarded-User\")"))
        });
        let trusted_proxies: Vec<std::net::IpAddr> = t
            .get("trusted_proxies")
            .and_then(|i| i.array("[\"127.0.0.1\"]"))
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| {
                        i.parse("\"127.0.0.1\"", |s| {
                            s.trim().parse::<std::net::IpAddr>().map_err(|_| format!("{s:?} is not an IP address (e.g. \"127.0.0.1\")"))
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        if matches!(trusted_user_header, Some(Some(_))) && trusted_proxies.is_empty() && !t_has(t, "trusted_proxies") {
            t.report("trusted_user_header", "needs trusted_proxies = [\"127.0.0.1\"]: the addresses of the proxies allowed to set it".to_string());
        }
        let language = language_key(t);
        // Compiled (and tried on a sample) here, so a broken template is a
        // config error naming its file, never a page that cannot be sent.
        let templates = match t.get("templates") {
            None => Some(std::sync::Arc::new(crate::alert::templates::Templates::builtin())),
            Some(i) => i.parse("\"/etc/escucha/templates\"", |s| {
                let p = PathBuf::from(s.trim());
                let p = if p.is_absolute() { p } else { self.config_dir.join(p) };
                crate::alert::templates::Templates::load(&p).map(std::sync::Arc::new).map_err(|errs| errs.join("; "))
            }),
        };
        t.finish();
        Some(Daemon {
            templates: templates?,
            language: language?.unwrap_or_default(),
            trusted_user_header: trusted_user_header?,
            trusted_proxies,
            classifier: classifier?,
            database: database?,
            database_url: database_url?,
            lease,
            http: http?,
            timezone: timezone?,
            public_url: public_url?,
            ack_secret: ack_secret?,
            group_wait,
            log_format: log_format?,
            retention: retention?,
        })
    }

    fn brand(&self, t: Table, default_tz: Tz, rota_ids: &[String]) -> Option<Brand> {
        let id = t.required("id", "\"interjet\"").and_then(|i| i.parse("\"interjet\"", parse_id));
        let name = t.string("name", "\"Interjet\"");
        let terms = t.strings("terms", "[\"interjet\", \"inter jet\"]");
        let exclude = t.strings("exclude", "[\"interjet jobs\"]");
        let executives: Vec<String> = t.strings("executives", "[\"miguelalemanm\"]").into_iter().map(|h| h.trim_start_matches('@').to_string()).collect();

        let rw = t.section("respond_within");
        let respond_within = RespondWithin {
            complaint: rw.duration("complaint", Duration::from_secs(30 * 60)),
            escalation: rw.duration("escalation", Duration::from_secs(5 * 60)),
        };
        rw.finish();

        let oncall = t.optional("oncall", "\"care\"", |s| {
            if rota_ids.iter().any(|r| r == s) {
                Ok(s.to_string())
            } else if rota_ids.is_empty() {
                Err(format!("{s:?} names no [[oncall]] rota: add one with id = {s:?}"))
            } else {
                Err(format!("{s:?} names no [[oncall]] rota (defined: {})", rota_ids.join(", ")))
            }
        });

        let accounts = self.accounts(&t.section("accounts"));
        let escalate = self.escalate(&t.section("escalate"));
        let classify = self.phrases(&t.section("classify"));
        let backfill = t.duration("backfill", Duration::ZERO);
        let timezone = t.get("timezone").map_or(Some(default_tz), |i| i.parse("\"America/Mexico_City\"", parse_timezone));
        let business_hours = t.optional("business_hours", "\"MON-FRI 09:00-18:00\"", super::BusinessHours::parse);
        let holidays: Vec<chrono::NaiveDate> = match t.get("holidays") {
            None => Vec::new(),
            Some(i) => i
                .array("[\"2026-12-25\"]")
                .unwrap_or_default()
                .iter()
                .filter_map(|d| {
                    d.parse("\"2026-12-25\"", |s| {
                        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| format!("{s:?} is not a date (write YYYY-MM-DD, e.g. \"2026-12-25\")"))
                    })
                })
                .collect(),
        };

        if let Some(a) = &accounts {
            let has_account = a.x.is_some()
                || a.mastodon.is_some()
                || a.bluesky.is_some()
                || a.reddit.is_some()
                || a.hackernews.is_some()
                || a.facebook.is_some()
                || a.instagram.is_some()
                || a.youtube.is_some()
                || !a.google_reviews.is_empty()
                || !a.app_store.is_empty()
                || !a.google_play.is_empty()
                || !a.trustpilot.is_empty();
            // A term that was reported as bad already explains the emptiness.
            if !has_account && t.peek_len("terms").unwrap_or(0) == 0 {
                let message = "watches nothing: add terms = [\"...\"] or an account under [brand.accounts]";
                if t_has(&t, "terms") {
                    t.report("terms", message);
                } else {
                    t.report_here(message);
                }
            }
        }
        t.finish();
        let id = id?;
        Some(Brand {
            name: name.unwrap_or_else(|| id.clone()),
            id,
            terms,
            exclude,
            executives,
            respond_within,
            oncall: oncall?,
            accounts: accounts?,
            escalate: escalate?,
            backfill,
            timezone: timezone?,
            business_hours: business_hours?,
            holidays,
            classify,
        })
    }

    /// `[brand.classify]`: a list of phrases per class. A phrase listed
    /// under two classes could only decide one of them: reported.
    fn phrases(&self, t: &Table) -> BrandPhrases {
        let p = BrandPhrases::new(
            t.strings("praise", "[\"gracias\", \"excelente servicio\"]"),
            t.strings("complaint", "[\"sin servicio\", \"no llega\"]"),
            t.strings("escalation", "[\"profeco\", \"demanda\"]"),
            t.strings("neutral", "[\"interjet jobs\", \"vacante\"]"),
        );
        t.finish();
        let lists = [("praise", &p.praise), ("complaint", &p.complaint), ("escalation", &p.escalation), ("neutral", &p.neutral)];
        for (i, (key, list)) in lists.iter().enumerate() {
            for phrase in list.iter() {
                let lower = phrase.to_lowercase();
                if let Some((other, _)) = lists[..i].iter().find(|(_, l)| l.iter().any(|x| x.to_lowercase() == lower)) {
                    t.report(key, format!("{phrase:?} is also listed under {other}: a phrase can decide only one class"));
                }
            }
        }
        p
    }

    fn accounts(&self, t: &Table) -> Option<Accounts> {
        let handle = |key: &str, example: &str, strip: &[&str]| -> Option<Option<String>> {
            match t.get(key) {
                None => Some(None),
                Some(i) => i
                    .parse(example, |s| {
                        let mut h = s.trim();
                        for p in strip {
                            h = h.strip_prefix(p).unwrap_or(h);
                        }
                        if h.is_empty() || h.contains(char::is_whitespace) {
                            Err(format!("{s:?} is not an account name (e.g. {example})"))
                        } else {
                            Ok(h.to_string())
                        }
                    })
                    .map(Some),
            }
        };
        let x = handle("x", "\"Interjet_mx\"", &["@"]);
        let mastodon = handle("mastodon", "\"interjet@mastodon.social\"", &["@"]);
        if let Some(Some(m)) = &mastodon {
            if m.matches('@').count() > 1 {
                t.report("mastodon", format!("{m:?} is not user or user@instance (e.g. \"interjet@mastodon.social\")"));
            }
        }
        let bluesky = handle("bluesky", "\"interjet.bsky.social\"", &["@"]);
        let reddit = handle("reddit", "\"interjet_care\"", &["/u/", "u/"]);
        let hackernews = handle("hackernews", "\"interjet\"", &[]);
        let list = |key: &str, example: &str, check: fn(&str) -> bool, what: &str| -> Vec<String> {
            let Some(item) = t.get(key) else { return Vec::new() };
            let array = format!("[{example}]");
            item.array(&array)
                .unwrap_or_default()
                .iter()
                .filter_map(|i| {
                    i.parse(example, |s| {
                        let s = s.trim();
                        if check(s) {
                            Ok(s.to_string())
                        } else {
                            Err(format!("{s:?} is not {what} (e.g. {example})"))
                        }
                    })
                })
                .collect()
        };
        let google_reviews = list(
            "google_reviews",
            "\"accounts/1234/locations/5678\"",
            |s| {
                let p: Vec<&str> = s.split('/').collect();
                p.len() == 4
                    && p[0] == "accounts"
                    && p[2] == "locations"
                    && p.iter().all(|x| !x.is_empty() && x.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            },
            "a location name, accounts/{account id}/locations/{location id}",
        );
        let app_store =
            list("app_store", "\"1234567890\"", |s| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()), "an App Store app id (the app's numeric Apple ID)");
        let google_play = list(
            "google_play",
            "\"com.interjet.app\"",
            |s| s.split('.').count() >= 2 && s.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')),
            "an Android package name",
        );
        let trustpilot = list(
            "trustpilot",
            "\"4bdc8a1b000064000505c9e1\"",
            |s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric()),
            "a Trustpilot business unit id",
        );
        let facebook = handle("facebook", "\"123456789012345\"", &[]);
        let instagram = handle("instagram", "\"17841400000000000\"", &[]);
        let youtube = handle("youtube", "\"UCxxxxxxxxxxxxxxxxxxxxxx\"", &[]);
        for (key, id, example) in
            [("facebook", &facebook, "the page id, e.g. \"123456789012345\""), ("instagram", &instagram, "the account id, e.g. \"17841400000000000\"")]
        {
            if let Some(Some(v)) = id {
                if !v.bytes().all(|b| b.is_ascii_digit()) {
                    t.report(key, format!("{v:?} is not a numeric id: give {example} (not the name or the address)"));
                }
            }
        }
        let token_given = ["mastodon_token", "mastodon_token_env", "mastodon_token_file"].iter().any(|k| t_has(t, k));
        let mastodon_token = self.secret(t, "mastodon_token", None);
        if token_given && !t_has(t, "mastodon") {
            t.report("mastodon_token", "belongs to the brand's Mastodon account: add mastodon = \"user@instance\" too");
        }
        t.finish();
        Some(Accounts {
            x: x?,
            mastodon: mastodon?,
            mastodon_token: mastodon_token?,
            bluesky: bluesky?,
            reddit: reddit?,
            hackernews: hackernews?,
            google_reviews,
            app_store,
            google_play,
            trustpilot,
            facebook: facebook?,
            instagram: instagram?,
            youtube: youtube?,
        })
    }

    fn escalate(&self, t: &Table) -> Option<Escalate> {
        let d = Escalate::default();
        let followers = t.get("followers").map_or(Some(d.followers), |i| i.uint(u64::MAX));
        let reposts = t.get("reposts").map_or(Some(d.reposts), |i| i.uint(u64::MAX));
        let repeat = t.get("repeat").map_or(Some(d.repeat), |i| i.uint(u32::MAX.into()).map(|n| n as u32));
        let window = t.duration("window", d.window);
        t.finish();
        Some(Escalate { followers: followers?, reposts: reposts?, repeat: repeat?, window })
    }

    fn sources(&self, t: &Table, brand_ids: &[String], reddit_accounts: &[(String, String)]) -> Option<Sources> {
        for name in t.keys() {
            if SOURCES.contains(&name) {
                continue;
            }
            t.get(name); // reported here, not again by `finish`
            if LATER_SOURCES.contains(&name) {
                t.report(name, format!("source {name:?} is not supported yet: remove this section"));
            } else {
                let hint = raw::closest(name, SOURCES.iter().copied()).map(|n| format!("did you mean {n}? ")).unwrap_or_default();
                t.report(name, format!("unknown source ({hint}known: {})", SOURCES.join(", ")));
            }
        }
        let x = t.table("x").map(|t| self.x(t));
        let mastodon = t.table("mastodon").map(|t| self.mastodon(t));
        let bluesky = t.table("bluesky").map(|b| self.bluesky(b));
        let reddit = t.table("reddit").map(|r| self.reddit(r, reddit_accounts));
        let hackernews = t.table("hackernews").map(|h| {
            let api_base = url_or_default(&h, "api_base", "https://hn.algolia.com");
            let schedule = self.schedule(&h);
            h.finish();
            Some(HackerNewsSource { api_base: api_base?, schedule: schedule? })
        });
        let feeds: Vec<Option<FeedSource>> = t.tables("feed").into_iter().map(|f| self.feed(f, brand_ids)).collect();
        let facebook = t.table("facebook").map(|f| self.facebook(f));
        let instagram = t.table("instagram").map(|i| self.instagram(i));
        let youtube = t.table("youtube").map(|y| self.youtube(y));
        let google_reviews = t.table("google_reviews").map(|t| self.google_reviews(t));
        let app_store = t.table("app_store").map(|t| self.app_store(t));
        let google_play = t.table("google_play").map(|t| self.google_play(t));
        let trustpilot = t.table("trustpilot").map(|t| self.trustpilot(t));
        t.finish();
        Some(Sources {
            x: x.map_or(Some(None), |s| s.map(Some))?,
            mastodon: mastodon.map_or(Some(None), |s| s.map(Some))?,
            bluesky: bluesky.map_or(Some(None), |s| s.map(Some))?,
            reddit: reddit.map_or(Some(None), |s| s.map(Some))?,
            hackernews: hackernews.map_or(Some(None), |s| s.map(Some))?,
            feeds: feeds.into_iter().collect::<Option<Vec<_>>>()?,
            facebook: facebook.map_or(Some(None), |s| s.map(Some))?,
            instagram: instagram.map_or(Some(None), |s| s.map(Some))?,
            youtube: youtube.map_or(Some(None), |s| s.map(Some))?,
            google_reviews: google_reviews.map_or(Some(None), |s| s.map(Some))?,
            app_store: app_store.map_or(Some(None), |s| s.map(Some))?,
            google_play: google_play.map_or(Some(None), |s| s.map(Some))?,
            trustpilot: trustpilot.map_or(Some(None), |s| s.map(Some))?,
            respond_within: self.respond_within.take(),
        })
    }

    fn schedule(&self, t: &Table) -> Option<Schedule> {
        let every = t.duration("every", Duration::from_secs(60));
        if every.is_zero() && t_has(t, "every") {
            t.report("every", "must be more than 0s (e.g. \"1m\")");
        }
        let unhealthy_after = t.duration("unhealthy_after", Duration::from_secs(30 * 60));
        let expect_within = match t.get("expect_within") {
            None => Some(None),
            Some(i) => i.duration().map(Some),
        };
        if let Some(rw) = t.table("respond_within") {
            let get = |key: &str| rw.get(key).and_then(|i| i.duration());
            let o = RespondWithinOverride { complaint: get("complaint"), escalation: get("escalation") };
            rw.finish();
            // `source.x` → `x`; `source.feed[2]` → `feed`.
            let name = t.path.trim_start_matches("source.").split('[').next().unwrap_or("").to_string();
            self.respond_within.borrow_mut().entry(name).or_insert(o);
        }
        Some(Schedule { every, unhealthy_after, expect_within: expect_within? })
    }

    fn x(&self, t: Table) -> Option<XSource> {
        let api_base = url_or_default(&t, "api_base", "https://api.x.com");
        let bearer_token = self.secret(&t, "bearer_token", Some("X_BEARER_TOKEN"));
        let schedule = self.schedule(&t);
        t.finish();
        Some(XSource { api_base: api_base?, bearer_token: bearer_token??, schedule: schedule? })
    }

    fn mastodon(&self, t: Table) -> Option<MastodonSource> {
        let instance = t.required("instance", "\"https://mastodon.social\"").and_then(|i| i.parse("\"https://mastodon.social\"", parse_http_url));
        let access_token = self.secret(&t, "access_token", None);
        let stream = t.bool("stream", false);
        let schedule = self.schedule(&t);
        t.finish();
        Some(MastodonSource { instance: instance?, access_token: access_token?, stream, schedule: schedule? })
    }

    fn bluesky(&self, t: Table) -> Option<BlueskySource> {
        let service = url_or_default(&t, "service", "https://bsky.social");
        let identifier = t
            .required("identifier", "\"interjet.bsky.social\"")
            .and_then(|i| i.str("\"interjet.bsky.social\"").map(|s| s.trim().trim_start_matches('@').to_string()));
        let app_password = self.secret(&t, "app_password", Some("BSKY_APP_PASSWORD"));
        let jetstream = t.optional("jetstream", "\"wss://jetstream2.us-east.bsky.network\"", parse_ws_url);
        let schedule = self.schedule(&t);
        t.finish();
        Some(BlueskySource { service: service?, identifier: identifier?, app_password: app_password??, jetstream: jetstream?, schedule: schedule? })
    }

    fn reddit(&self, t: Table, accounts: &[(String, String)]) -> Option<RedditSource> {
        let api_base = url_or_default(&t, "api_base", "https://oauth.reddit.com");
        let token_url = url_or_default(&t, "token_url", "https://www.reddit.com/api/v1/access_token");
        let client_id = self.secret(&t, "client_id", Some("REDDIT_CLIENT_ID"));
        let client_secret = self.secret(&t, "client_secret", Some("REDDIT_CLIENT_SECRET"));
        let user_agent = match t.get("user_agent") {
            None => Some(format!("linux:escucha:{} (self-hosted social listening)", env!("CARGO_PKG_VERSION"))),
            Some(_) => match t.string("user_agent", "\"linux:escucha:1.0 (by /u/interjet_care)\"") {
                Some(ua) if ua.trim().is_empty() => {
                    t.report("user_agent", "is empty: Reddit asks for a descriptive one, e.g. \"linux:escucha:1.0 (by /u/interjet_care)\"");
                    None
                }
                other => other,
            },
        };
        let follow_threads = match t.get("follow_threads") {
            None => Some(Duration::from_secs(3 * 86_400)),
            Some(i) => i.duration(),
        };
        let subreddits = self.subreddits(&t);
        let user = self.reddit_user(&t, accounts);
        let schedule = self.schedule(&t);
        t.finish();
        Some(RedditSource {
            api_base: api_base?,
            token_url: token_url?,
            client_id: client_id??,
            client_secret: client_secret??,
            user_agent: user_agent?,
            schedule: schedule?,
            follow_threads: follow_threads?,
            subreddits: subreddits?,
            user: user?,
        })
    }

    /// `subreddits = ["mexico", "r/aviation"]`: names as Reddit writes them
    /// (3 to 21 letters, digits or `_`; a few older ones have 2), lowercase,
    /// without `r/`, each once.
    fn subreddits(&self, t: &Table) -> Option<Vec<String>> {
        let Some(item) = t.get("subreddits") else { return Some(Vec::new()) };
        let items = item.array("[\"mexico\", \"aviation\"]")?;
        let mut out: Vec<String> = Vec::new();
        let mut ok = true;
        for i in items {
            let name = i.parse("\"mexico\"", |s| {
                let s = s.trim();
                let s = s.strip_prefix("/r/").or_else(|| s.strip_prefix("r/")).unwrap_or(s).trim_end_matches('/');
                if (2..=21).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                    Ok(s.to_lowercase())
                } else {
                    Err(format!("{s:?} is not a subreddit name (letters, digits and _, e.g. \"mexico\" for r/mexico)"))
                }
            });
            match name {
                Some(n) if !out.contains(&n) => out.push(n),
                Some(_) => {}
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// `username`/`password` (a script app's password grant) or
    /// `refresh_token`: the brand's own user, whose username mentions are
    /// read. `username` may name the account a refresh token belongs to;
    /// it must then be the `[brand.accounts] reddit` of some brand.
    fn reddit_user(&self, t: &Table, accounts: &[(String, String)]) -> Option<Option<RedditUser>> {
        let has = |k: &str| [k.to_string(), format!("{k}_env"), format!("{k}_file")].iter().any(|k| t_has(t, k));
        let (username, password, refresh) = (self.secret(t, "username", None), self.secret(t, "password", None), self.secret(t, "refresh_token", None));
        let (username, password, refresh) = (username?, password?, refresh?);
        let (grant, keys) = match (username.clone(), password, refresh) {
            (None, None, None) => return Some(None),
            (Some(u), Some(p), None) => {
                (RedditGrant::Password { username: u, password: p }, format!("{} and {}", secret_key(t, "username"), secret_key(t, "password")))
            }
            (_, None, Some(r)) => (RedditGrant::RefreshToken(r), secret_key(t, "refresh_token")),
            (_, Some(_), Some(_)) => {
                t.report(&secret_key(t, "refresh_token"), format!("give either a refresh token or {} with username, not both", secret_key(t, "password")));
                return None;
            }
            (None, Some(_), None) => {
                t.report("username", format!("is missing: {} needs username_env = \"REDDIT_USERNAME\" (the brand's user)", secret_key(t, "password")));
                return None;
            }
            (Some(_), None, None) => {
                t.report(
                    &secret_key(t, "username"),
                    "needs password_env = \"REDDIT_PASSWORD\" (a script app's password grant) or refresh_token_env = \"REDDIT_REFRESH_TOKEN\"",
                );
                return None;
            }
        };
        let user_key = secret_key(t, if has("username") { "username" } else { "refresh_token" });
        let brands: Vec<String> = match &username {
            Some(u) => {
                let name = crate::sources::reddit::account_name(u.expose()).to_lowercase();
                let brands: Vec<String> = accounts.iter().filter(|(_, a)| *a == name).map(|(b, _)| b.clone()).collect();
                if brands.is_empty() {
                    t.report(
                        &user_key,
                        format!("u/{name} is no brand's account: add reddit = \"{name}\" under the [brand.accounts] of the brand it speaks for"),
                    );
                    return None;
                }
                brands
            }
            None => {
                let mut names: Vec<&str> = accounts.iter().map(|(_, a)| a.as_str()).collect();
                names.sort_unstable();
                names.dedup();
                match names.as_slice() {
                    [] => {
                        t.report(&user_key, "belongs to the brand's own user: add reddit = \"<user name>\" under that brand's [brand.accounts]");
                        return None;
                    }
                    [_] => accounts.iter().map(|(b, _)| b.clone()).collect(),
                    _ => {
                        t.report(
                            &user_key,
                            format!("several brands have a Reddit account ({}): add username = \"<user name>\" to say whose token this is", names.join(", ")),
                        );
                        return None;
                    }
                }
            }
        };
        Some(Some(RedditUser { grant, brands, keys }))
    }

    fn feed(&self, t: Table, brand_ids: &[String]) -> Option<FeedSource> {
        // Google Alerts feed URLs are private (anyone with one reads the
        // alert): like webhook URLs they may come from the environment or
        // a file, and are never echoed.
        let url = if t_has(&t, "url_env") || t_has(&t, "url_file") {
            match self.secret(&t, "url", None) {
                Some(Some(u)) => match parse_feed_url(u.expose()) {
                    Ok(u) => Some(u),
                    Err(_) => {
                        t.report(&secret_key(&t, "url"), "is not an http(s) feed URL");
                        None
                    }
                },
                _ => None,
            }
        } else {
            t.required("url", "\"https://example.com/comments/feed\"").and_then(|i| i.parse("\"https://example.com/comments/feed\"", parse_feed_url))
        };
        let brand = t.required("brand", "\"interjet\"").and_then(|i| {
            i.parse("\"interjet\"", |s| {
                if brand_ids.iter().any(|b| b == s) {
                    Ok(s.to_string())
                } else {
                    Err(format!("{s:?} names no [[brand]] (defined: {})", brand_ids.join(", ")))
                }
            })
        });
        let terms = t.bool("terms", false);
        let schedule = self.schedule(&t);
        t.finish();
        Some(FeedSource { url: Secret::new(url?), brand: brand?, terms, schedule: schedule? })
    }

    /// `api_version` as Graph takes it in the path: `v21.0`.
    fn graph_version(&self, t: &Table) -> Option<String> {
        match t.get("api_version") {
            None => Some(DEFAULT_GRAPH_VERSION.to_string()),
            Some(i) => i.parse("\"v21.0\"", |s| {
                let s = s.trim();
                let digits = s.strip_prefix('v').unwrap_or("");
                if !digits.is_empty() && digits.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) {
                    Ok(s.to_string())
                } else {
                    Err(format!("{s:?} is not a Graph API version (e.g. \"v21.0\")"))
                }
            }),
        }
    }

    fn facebook(&self, t: Table) -> Option<FacebookSource> {
        let api_base = url_or_default(&t, "api_base", "https://graph.facebook.com");
        let api_version = self.graph_version(&t);
        let token_key = secret_where(&t, "page_token");
        let page_token = self.secret(&t, "page_token", Some("FB_PAGE_TOKEN"));
        let schedule = self.schedule(&t);
        t.finish();
        Some(FacebookSource {
            api_base: api_base?,
            api_version: api_version?,
            page_token: page_token??,
            token_key: format!("[source.facebook] {token_key}"),
            schedule: schedule?,
        })
    }

    fn google_reviews(&self, t: Table) -> Option<GoogleReviewsSource> {
        let api_base = url_or_default(&t, "api_base", "https://mybusiness.googleapis.com");
        let token_url = url_or_default(&t, "token_url", "https://oauth2.googleapis.com/token");
        let client_id = self.secret(&t, "client_id", Some("GBP_CLIENT_ID"));
        let client_secret = self.secret(&t, "client_secret", Some("GBP_CLIENT_SECRET"));
        let refresh_token = self.secret(&t, "refresh_token", Some("GBP_REFRESH_TOKEN"));
        let schedule = self.schedule(&t);
        t.finish();
        Some(GoogleReviewsSource {
            api_base: api_base?,
            token_url: token_url?,
            client_id: client_id??,
            client_secret: client_secret??,
            refresh_token: refresh_token??,
            schedule: schedule?,
        })
    }

    fn instagram(&self, t: Table) -> Option<InstagramSource> {
        let api_base = url_or_default(&t, "api_base", "https://graph.facebook.com");
        let api_version = self.graph_version(&t);
        let token_key = secret_where(&t, "access_token");
        let access_token = self.secret(&t, "access_token", Some("IG_ACCESS_TOKEN"));
        let schedule = self.schedule(&t);
        t.finish();
        Some(InstagramSource {
            api_base: api_base?,
            api_version: api_version?,
            access_token: access_token??,
            token_key: format!("[source.instagram] {token_key}"),
            schedule: schedule?,
        })
    }

    fn youtube(&self, t: Table) -> Option<YouTubeSource> {
        let api_base = url_or_default(&t, "api_base", "https://www.googleapis.com");
        let key_key = secret_where(&t, "api_key");
        let api_key = self.secret(&t, "api_key", Some("YOUTUBE_API_KEY"));
        let daily_quota = match t.get("daily_quota") {
            None => Some(10_000),
            Some(i) => i.uint(u64::from(u32::MAX)).and_then(|n| {
                if n == 0 {
                    i.report("must be at least 1 (the project's daily quota in units; the default is 10000)");
                    None
                } else {
                    Some(n)
                }
            }),
        };
        let schedule = self.schedule(&t);
        t.finish();
        Some(YouTubeSource {
            api_base: api_base?,
            api_key: api_key??,
            key_key: format!("[source.youtube] {key_key}"),
            daily_quota: daily_quota?,
            schedule: schedule?,
        })
    }

    fn app_store(&self, t: Table) -> Option<AppStoreSource> {
        let api_base = url_or_default(&t, "api_base", "https://api.appstoreconnect.apple.com");
        let issuer_id = t
            .required("issuer_id", "\"57246542-96fe-1a63-e053-0824d011072a\"")
            .and_then(|i| i.str("\"57246542-96fe-1a63-e053-0824d011072a\"").map(|s| s.trim().to_string()));
        let key_id = t.required("key_id", "\"2X9R4HXF34\"").and_then(|i| i.str("\"2X9R4HXF34\"").map(|s| s.trim().to_string()));
        let private_key = self.secret(&t, "private_key", Some("APP_STORE_KEY (better: private_key_file = \"AuthKey_2X9R4HXF34.p8\")"));
        // Checked now, so that a wrong file is a config error; the key itself
        // is never quoted. A file the reload's check may not read is the
        // daemon's to check.
        if let Some(Some(k)) = &private_key {
            match crate::sources::app_store::signing_key(k) {
                Err(_) if k.expose() == UNREAD_AT_RELOAD => {}
                Err(e) => t.report(
                    &secret_key(&t, "private_key"),
                    format!("{e}: give the .p8 file App Store Connect let you download (PKCS#8 PEM, \"BEGIN PRIVATE KEY\")"),
                ),
                Ok(_) => {}
            }
        }
        let schedule = self.schedule(&t);
        t.finish();
        Some(AppStoreSource { api_base: api_base?, issuer_id: issuer_id?, key_id: key_id?, private_key: private_key??, schedule: schedule? })
    }

    fn google_play(&self, t: Table) -> Option<GooglePlaySource> {
        let api_base = url_or_default(&t, "api_base", "https://androidpublisher.googleapis.com");
        let token_url = url_or_default(&t, "token_url", "https://oauth2.googleapis.com/token");
        let service_account = self.secret(&t, "service_account", Some("PLAY_SERVICE_ACCOUNT (better: service_account_file = \"play-service-account.json\")"));
        if let Some(Some(k)) = &service_account {
            match crate::sources::google_play::ServiceAccount::parse(k) {
                // A file the reload's check may not read: the daemon's to check.
                Err(_) if k.expose() == UNREAD_AT_RELOAD => {}
                Err(e) => {
                    t.report(&secret_key(&t, "service_account"), format!("{e}: give the JSON key Google Cloud Console downloads for the service account"))
                }
                Ok(_) => {}
            }
        }
        let schedule = self.schedule(&t);
        // `every` over a day is allowed but `escucha check` warns: the API
        // returns only the last week of reviews.
        t.finish();
        Some(GooglePlaySource { api_base: api_base?, token_url: token_url?, service_account: service_account??, schedule: schedule? })
    }

    fn trustpilot(&self, t: Table) -> Option<TrustpilotSource> {
        let api_base = url_or_default(&t, "api_base", "https://api.trustpilot.com");
        let token_url = url_or_default(&t, "token_url", "https://api.trustpilot.com/v1/oauth/oauth-business-users-for-applications/accesstoken");
        let client_id = self.secret(&t, "client_id", Some("TRUSTPILOT_API_KEY"));
        let client_secret = self.secret(&t, "client_secret", Some("TRUSTPILOT_API_SECRET"));
        let username = self.secret(&t, "username", Some("TRUSTPILOT_USER"));
        let password = self.secret(&t, "password", Some("TRUSTPILOT_PASSWORD"));
        let schedule = self.schedule(&t);
        t.finish();
        Some(TrustpilotSource {
            api_base: api_base?,
            token_url: token_url?,
            client_id: client_id??,
            client_secret: client_secret??,
            username: username??,
            password: password??,
            schedule: schedule?,
        })
    }

    fn smtp(&self, t: Table) -> Option<Smtp> {
        let host = t.required("host", "\"smtp.example.com\"").and_then(|i| {
            i.parse("\"smtp.example.com\"", |s| {
                let s = s.trim();
                if s.is_empty() || s.contains(char::is_whitespace) || s.contains(':') {
                    Err(format!("{s:?} is not a host name (put the port in port = 587)"))
                } else {
                    Ok(s.to_string())
                }
            })
        });
        let security = match t.get("security") {
            None => Some(SmtpSecurity::Starttls),
            Some(i) => i.parse("\"starttls\"", |s| match s {
                "none" => Ok(SmtpSecurity::None),
                "starttls" => Ok(SmtpSecurity::Starttls),
                "tls" => Ok(SmtpSecurity::Tls),
                _ => Err(format!("{s:?} is not one of \"none\", \"starttls\", \"tls\"")),
            }),
        };
        let port = match t.get("port") {
            Some(i) => i.uint(u16::MAX.into()).and_then(|p| {
                if p == 0 {
                    i.report("0 is not a port (e.g. 587)");
                    None
                } else {
                    Some(p as u16)
                }
            }),
            None => security.map(|s| match s {
                SmtpSecurity::None => 25,
                SmtpSecurity::Starttls => 587,
                SmtpSecurity::Tls => 465,
            }),
        };
        let username = t.optional("username", "\"alerts@example.com\"", |s| Ok(s.to_string()));
        let password = self.secret(&t, "password", None);
        match (t_has(&t, "username"), secret_given(&t, "password")) {
            (false, true) => t.report(&secret_key(&t, "password"), "is set but username is not: add username = \"...\""),
            (true, false) => t.report("username", "is set but no password: add password_env = \"SMTP_PASSWORD\" (or password_file)"),
            _ => {}
        }
        let from = t.required("from", "\"Escucha <alerts@example.com>\"").and_then(|i| {
            i.parse("\"Escucha <alerts@example.com>\"", |s| match s.parse::<lettre::message::Mailbox>() {
                Ok(m) if is_email(m.email.as_ref()) => Ok(s.to_string()),
                _ => Err(format!("{s:?} is not a mailbox (e.g. \"Escucha <alerts@example.com>\" or \"alerts@example.com\")")),
            })
        });
        t.finish();
        Some(Smtp { host: host?, port: port?, security: security?, username: username?, password: password?, from: from? })
    }

    fn webhook(&self, t: Table) -> Option<Webhook> {
        let id = t.required("id", "\"slack-care\"").and_then(|i| i.parse("\"slack-care\"", parse_id));
        let kind = t.required("kind", "\"slack\"").and_then(|i| {
            i.parse("\"slack\"", |s| {
                WebhookKind::parse(s).ok_or_else(|| {
                    let all: Vec<&str> = WebhookKind::ALL.iter().map(|k| k.as_str()).collect();
                    format!("{s:?} is not a webhook kind (use one of {})", all.join(", "))
                })
            })
        });
        let pagerduty = kind == Some(WebhookKind::PagerDuty);
        let url = self.secret(&t, "url", None);
        let url = match url {
            Some(Some(u)) => {
                // The URL may carry a token (Slack, Discord): never echo it.
                if parse_http_url(u.expose()).is_err() {
                    t.report(&secret_key(&t, "url"), "is not an http(s) URL");
                    None
                } else {
                    Some(Some(u))
                }
            }
            Some(None) if pagerduty => Some(Some(Secret::new(PAGERDUTY_ENQUEUE))),
            Some(None) if kind.is_some() => {
                t.report("url", "is missing: add url_env = \"WEBHOOK_URL\" (or url, url_file)");
                None
            }
            other => other,
        };
        let secret = self.secret(&t, "secret", None);
        let routing_key = self.secret(&t, "routing_key", None);
        if let Some(None) = &routing_key {
            if pagerduty {
                t.report("routing_key", "is missing: PagerDuty needs routing_key_env = \"PAGERDUTY_ROUTING_KEY\" (or routing_key_file)");
            }
        } else if routing_key.is_some() && kind.is_some() && !pagerduty {
            t.report(&secret_key(&t, "routing_key"), "is only used by kind = \"pagerduty\": remove it");
        }
        let send_resolved = t.bool("send_resolved", false);
        t.finish();
        Some(Webhook { id: id?, kind: kind?, url: url?, secret: secret?, routing_key: routing_key?, send_resolved })
    }

    fn rota(&self, t: Table, default_tz: Tz, webhooks: &[String]) -> Option<Rota> {
        let id = t.required("id", "\"care\"").and_then(|i| i.parse("\"care\"", parse_id));
        let overlap_all = match t.get("overlap") {
            None => Some(false),
            Some(i) => i.parse("\"first\"", |s| match s {
                "first" => Ok(false),
                "all" => Ok(true),
                _ => Err(format!("{s:?} is not \"first\" or \"all\"")),
            }),
        };
        let repeat = t.get("repeat").map_or(Some(0), |i| i.uint(u32::MAX.into()).map(|n| n as u32));
        let shift_tables = t.tables("shift");
        if shift_tables.is_empty() && !t_has(&t, "shift") {
            t.report_here("has no shift: add [[oncall.shift]] with when and notify");
        }
        let shifts = collect(shift_tables.into_iter().map(|s| {
            let when = s.required("when", "\"* * 9-18 * * MON-FRI\"").and_then(|i| i.parse("\"* * 9-18 * * MON-FRI\"", parse_cron));
            let timezone = s.get("timezone").map_or(Some(default_tz), |i| i.parse("\"Europe/Madrid\"", parse_timezone));
            let notify = self.notify(&s, "notify", webhooks);
            s.finish();
            let (when_text, when) = when?;
            Some(Shift { when_text, when, timezone: timezone?, notify: notify? })
        }));
        let then = collect(t.tables("then").into_iter().map(|s| {
            let after = s.required("after", "\"30m\"").and_then(|i| i.duration());
            let notify = self.notify(&s, "notify", webhooks);
            s.finish();
            Some(Step { after: after?, notify: notify? })
        }));
        t.finish();
        Some(Rota {
            id: id?,
            overlap_all: overlap_all?,
            repeat: repeat?,
            shifts: shifts.into_iter().collect::<Option<_>>()?,
            then: then.into_iter().collect::<Option<_>>()?,
        })
    }

    /// A required, non-empty list of email addresses and `webhook:<id>`s.
    fn notify(&self, t: &Table, key: &str, webhooks: &[String]) -> Option<Vec<String>> {
        let example = "[\"ana@example.com\", \"webhook:slack-care\"]";
        let item = t.required(key, example)?;
        let items = item.array(example)?;
        if items.is_empty() {
            item.report(format!("is empty: whom to notify? e.g. {example}"));
            return None;
        }
        let targets = collect(items.iter().map(|i| i.parse("\"ana@example.com\"", |s| parse_target(s, webhooks))));
        targets.into_iter().collect()
    }

    fn person(&self, t: Table) -> Option<Person> {
        let address = t.required("address", "\"ana@example.com\"").and_then(|i| {
            i.parse("\"ana@example.com\"", |s| {
                if is_email(s) {
                    Ok(s.to_string())
                } else {
                    Err(format!("{s:?} is not an email address (e.g. \"ana@example.com\")"))
                }
            })
        });
        let timezone = match t.get("timezone") {
            None => Some(None),
            Some(i) => i.parse("\"Europe/Madrid\"", parse_timezone).map(Some),
        };
        let quiet = match t.get("quiet") {
            None => Some(None),
            Some(i) => i.parse("\"22:00-08:00\"", |s| super::Quiet::parse(s).map(Some)),
        };
        let language = language_key(&t);
        t.finish();
        Some(Person { address: address?, timezone: timezone?, quiet: quiet?, language: language? })
    }

    fn digest(&self, t: Table, default_tz: Tz, webhooks: &[String]) -> Option<Digest> {
        let when = t.required("when", "\"0 0 8 * * *\"").and_then(|i| i.parse("\"0 0 8 * * *\"", parse_cron));
        let timezone = match t.get("timezone") {
            None => Some(default_tz),
            Some(i) => i.parse("\"Europe/Madrid\"", parse_timezone),
        };
        let to = self.notify(&t, "to", webhooks);
        let send_resolved = t.bool("send_resolved", false);
        t.finish();
        let (when_text, when) = when?;
        Some(Digest { when, when_text, timezone: timezone?, to: to?, send_resolved })
    }

    /// A secret given as exactly one of `key`, `key_env`, `key_file`.
    /// `None`: a problem was reported. `Some(None)`: not given; if
    /// `required` (an example variable name), that is reported too.
    fn secret(&self, t: &Table, key: &str, required: Option<&str>) -> Option<Option<Secret>> {
        let env_key = format!("{key}_env");
        let file_key = format!("{key}_file");
        let inline = t.get(key);
        let from_env = t.get(&env_key);
        let from_file = t.get(&file_key);
        let given = [&inline, &from_env, &from_file].iter().filter(|i| i.is_some()).count();
        if given > 1 {
            t.report(key, format!("give only one of {key}, {env_key}, {file_key}"));
            return None;
        }
        if let Some(i) = inline {
            // Never echo the value: it is a secret.
            let s = i.str(&format!("\"...\" (better: {env_key} = \"VARIABLE\")"))?;
            if s.is_empty() {
                i.report(format!("is empty: set it, or use {env_key}"));
                return None;
            }
            return Some(Some(Secret::new(s)));
        }
        if let Some(i) = from_env {
            let name = i.parse("\"MY_SECRET\"", |s| {
                let s = s.trim();
                if s.is_empty() || s.contains(['=', ' ', '\0']) {
                    Err(format!("{s:?} is not an environment variable name"))
                } else {
                    Ok(s.to_string())
                }
            })?;
            return match self.env.get(&name) {
                None => {
                    i.report(format!("environment variable {name} is not set: set it, or use {file_key}"));
                    None
                }
                Some("") => {
                    i.report(format!("environment variable {name} is empty: set it, or use {file_key}"));
                    None
                }
                Some(v) => Some(Some(Secret::new(v))),
            };
        }
        if let Some(i) = from_file {
            let p = i.parse("\"/run/credentials/escucha.service/token\"", |s| {
                if s.trim().is_empty() {
                    Err("is empty: name the file that holds the secret".to_string())
                } else {
                    Ok(PathBuf::from(s))
                }
            })?;
            let full = if p.is_absolute() {
                p
            } else {
                // systemd's LoadCredential= puts credentials here.
                self.env.dir("CREDENTIALS_DIRECTORY").unwrap_or_else(|| self.config_dir.clone()).join(p)
            };
            return match std::fs::read_to_string(&full) {
                // `systemctl reload` checks the config in a process that
                // may not read the service's credentials: that the file is
                // there is what it can check; the daemon reads it.
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && self.env.reload_check => Some(Some(Secret::new(UNREAD_AT_RELOAD))),
                Err(e) => {
                    i.report(format!("cannot read {}: {e}", full.display()));
                    None
                }
                Ok(text) => {
                    let v = text.strip_suffix('\n').map(|v| v.strip_suffix('\r').unwrap_or(v)).unwrap_or(&text);
                    if v.is_empty() {
                        i.report(format!("{} is empty: put the secret in it", full.display()));
                        None
                    } else {
                        Some(Some(Secret::new(v)))
                    }
                }
            };
        }
        if let Some(var) = required {
            t.report(key, format!("is missing: add {env_key} = \"{var}\" (or {file_key}, or {key} for tests)"));
            return None;
        }
        Some(None)
    }
}

fn collect<T>(items: impl Iterator<Item = Option<T>>) -> Vec<Option<T>> {
    items.collect()
}

/// Where a relative `database` lives when systemd does not say
/// (`$STATE_DIRECTORY`): the packaged unit's state directory for a config
/// in /etc/escucha, the config's own directory otherwise.
pub fn state_dir_for(config_dir: &Path) -> PathBuf {
    if config_dir.starts_with("/etc/escucha") {
        PathBuf::from("/var/lib/escucha")
    } else {
        config_dir.to_path_buf()
    }
}

fn t_has(t: &Table, key: &str) -> bool {
    t.keys().contains(&key)
}

fn secret_given(t: &Table, key: &str) -> bool {
    [key.to_string(), format!("{key}_env"), format!("{key}_file")].iter().any(|k| t_has(t, k))
}

/// The form of a secret that is present, to point messages at it.
fn secret_key(t: &Table, key: &str) -> String {
    [format!("{key}_env"), format!("{key}_file")].into_iter().find(|k| t_has(t, k)).unwrap_or_else(|| key.to_string())
}

/// Where a secret is configured, for messages that must say which one to
/// renew: `page_token_env (FB_PAGE_TOKEN)`, `page_token_file (/run/...)`,
/// or the inline key. Never the secret itself.
fn secret_where(t: &Table, key: &str) -> String {
    let k = secret_key(t, key);
    match t.peek_str(&k).filter(|_| k != key) {
        Some(v) => format!("{k} ({})", v.trim()),
        None => k,
    }
}

/// The ids of `[[section]]` elements, which other sections refer to; a
/// repeated id is reported. Read without making `id` known: each element's
/// own walker reads and checks it.
fn unique_ids(tables: &[Table], section: &str) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for t in tables {
        let Some(id) = t.peek_str("id").filter(|s| !s.trim().is_empty()) else {
            continue;
        };
        if ids.contains(&id) {
            t.report("id", format!("{id:?} is used twice: each [[{section}]] needs its own id"));
        } else {
            ids.push(id);
        }
    }
    ids
}

fn url_or_default(t: &Table, key: &str, default: &str) -> Option<String> {
    match t.get(key) {
        None => Some(default.to_string()),
        Some(i) => i.parse(&format!("\"{default}\""), parse_http_url),
    }
}

pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim()).map_err(|_| format!("{s:?} is not a duration (try {})", duration_hint(s)))
}

/// A guess at what was meant: `"30"` → `"30s" or "30m"`, `"2 horas"` → `"2h"`.
fn duration_hint(s: &str) -> String {
    let s = s.trim();
    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    let rest = s[digits.len()..].trim_start().to_lowercase();
    if !digits.is_empty() {
        if rest.is_empty() {
            return format!("\"{digits}s\" or \"{digits}m\"");
        }
        if let Some(unit) = rest.chars().next().filter(|c| "smhdw".contains(*c)) {
            return format!("\"{digits}{unit}\"");
        }
    }
    "\"90s\", \"30m\", \"2h\" or \"7d\"".to_string()
}

pub(crate) fn parse_timezone(s: &str) -> Result<Tz, String> {
    Tz::from_str(s.trim()).map_err(|_| {
        let near = chrono_tz::TZ_VARIANTS
            .iter()
            .map(|tz| tz.name())
            .find(|n| n.eq_ignore_ascii_case(s.trim()))
            .or_else(|| raw::closest(s.trim(), chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())));
        match near {
            Some(n) => format!("{s:?} is not a time zone (did you mean {n:?}?)"),
            None => format!("{s:?} is not a time zone (use an IANA name, e.g. \"Europe/Madrid\", \"America/Mexico_City\" or \"UTC\")"),
        }
    })
}

/// A cron expression in the `cron` crate's dialect: seconds first, 6 or 7
/// fields, weekdays Quartz-style (Sunday = 1). Weekday numbers are refused
/// because `1-5` there means Sunday to Thursday.
pub(crate) fn parse_cron(s: &str) -> Result<(String, cron::Schedule), String> {
    let fields: Vec<&str> = s.split_whitespace().collect();
    match fields.len() {
        5 => return Err(format!("{s:?} has 5 fields, but escucha's cron starts with seconds (sec min hour day month weekday): try \"0 {s}\"")),
        6 | 7 => {}
        _ => {
            return Err(format!(
                "{s:?} is not a cron expression: it needs 6 or 7 fields, seconds first (sec min hour day month weekday), e.g. \"* * 9-18 * * MON-FRI\""
            ))
        }
    }
    if fields[5].chars().any(|c| c.is_ascii_digit()) {
        return Err(format!("{s:?}: write weekdays by name (e.g. MON-FRI): in this cron dialect 1 is Sunday, so numbers are easy to get wrong"));
    }
    cron::Schedule::from_str(s).map(|c| (s.to_string(), c)).map_err(|e| {
        let detail = e.to_string();
        let detail = detail.lines().last().unwrap_or("").trim().to_string();
        format!("{s:?} is not a valid cron expression: {detail} (6-7 fields, seconds first; weekdays by name, e.g. MON-FRI)")
    })
}

/// `local@domain.tld`: one `@`, something before it, a dot inside the domain.
pub(crate) fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.contains(|c: char| c.is_whitespace() || "<>,;\"".contains(c))
}

/// An email address or `webhook:<id>` of a defined webhook.
pub(crate) fn parse_target(s: &str, webhooks: &[String]) -> Result<String, String> {
    if let Some(id) = s.strip_prefix("webhook:") {
        return if webhooks.iter().any(|w| w == id) {
            Ok(s.to_string())
        } else if webhooks.is_empty() {
            Err(format!("{s:?} names no [[webhook]]: add one with id = {id:?}"))
        } else {
            Err(format!("{s:?} names no [[webhook]] (defined: {})", webhooks.join(", ")))
        };
    }
    if is_email(s) {
        Ok(s.to_string())
    } else {
        Err(format!("{s:?} is not an email address or webhook:<id> (e.g. \"ana@example.com\" or \"webhook:slack-care\")"))
    }
}

/// An http(s) URL, returned without its trailing `/`.
pub(crate) fn parse_http_url(s: &str) -> Result<String, String> {
    match url::Url::parse(s.trim()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(s.trim().trim_end_matches('/').to_string()),
        _ => Err(format!("{s:?} is not an http(s) URL (e.g. \"https://mastodon.social\")")),
    }
}

/// A ws(s) URL (Jetstream's base), returned without its trailing `/` and
/// without a `/subscribe` the operator may have copied from the docs.
pub(crate) fn parse_ws_url(s: &str) -> Result<String, String> {
    match url::Url::parse(s.trim()) {
        Ok(u) if matches!(u.scheme(), "ws" | "wss") && u.host().is_some() && u.query().is_none() => {
            let trimmed = s.trim().trim_end_matches('/');
            Ok(trimmed.strip_suffix("/subscribe").unwrap_or(trimmed).to_string())
        }
        _ => Err(format!("{s:?} is not a ws:// or wss:// base URL (e.g. \"wss://jetstream2.us-east.bsky.network\")")),
    }
}

/// A feed is fetched at exactly the address given: `/feed/` and `/feed` can
/// be different resources, so unlike a base URL nothing is trimmed.
pub(crate) fn parse_feed_url(s: &str) -> Result<String, String> {
    parse_http_url(s).map(|_| s.trim().to_string())
}

/// `host:port`, e.g. `127.0.0.1:8686` or `[::1]:8686`.
pub(crate) fn parse_listen(s: &str) -> Result<String, String> {
    let bad = || format!("{s:?} is not host:port (e.g. \"127.0.0.1:8686\")");
    let (host, port) = s.trim().rsplit_once(':').ok_or_else(bad)?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(bad());
    }
    Ok(s.trim().to_string())
}

/// Brand, rota and webhook ids appear in messages, URLs and `--brand`.
pub(crate) fn parse_id(s: &str) -> Result<String, String> {
    if s.is_empty() {
        Err("is empty: give it a short name, e.g. \"interjet\"".into())
    } else if s.contains(|c: char| c.is_whitespace() || c.is_control()) {
        Err(format!("{s:?} contains spaces: use a short name such as \"interjet\" or \"slack-care\""))
    } else {
        Ok(s.to_string())
    }
}

/// An optional `language = "en" | "es"`.
fn language_key(t: &Table) -> Option<Option<Language>> {
    match t.get("language") {
        None => Some(None),
        Some(i) => i.parse("\"es\"", Language::parse).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_with_a_unit_parse_and_bare_numbers_get_a_hint() {
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        let e = parse_duration("30").unwrap_err();
        assert!(e.contains("\"30s\" or \"30m\""), "{e}");
        let e = parse_duration("2 horas").unwrap_err();
        assert!(e.contains("(try \"2h\")"), "{e}");
        let e = parse_duration("soon").unwrap_err();
        assert!(e.contains("\"soon\" is not a duration"), "{e}");
    }

    #[test]
    fn time_zones_are_iana_names_and_near_misses_are_suggested() {
        assert_eq!(parse_timezone("America/Mexico_City"), Ok(chrono_tz::America::Mexico_City));
        assert_eq!(parse_timezone("UTC"), Ok(chrono_tz::UTC));
        let e = parse_timezone("Europe/Madird").unwrap_err();
        assert!(e.contains("did you mean \"Europe/Madrid\""), "{e}");
        let e = parse_timezone("europe/madrid").unwrap_err();
        assert!(e.contains("did you mean \"Europe/Madrid\""), "{e}");
        assert!(parse_timezone("Mars/Olympus").is_err());
    }

    #[test]
    fn cron_needs_seconds_first_and_weekday_names() {
        assert!(parse_cron("* * 9-18 * * Mon-Fri").is_ok());
        assert!(parse_cron("0 0 8 * * *").is_ok());
        assert!(parse_cron("0 0 8 * * * 2030").is_ok());
        let e = parse_cron("0 9 * * MON-FRI").unwrap_err();
        assert!(e.contains("try \"0 0 9 * * MON-FRI\""), "{e}");
        let e = parse_cron("* * 9-18 * * 1-5").unwrap_err();
        assert!(e.contains("MON-FRI") && e.contains("1 is Sunday"), "{e}");
        let e = parse_cron("* * 25 * * *").unwrap_err();
        assert!(e.contains("Hours"), "{e}");
        assert!(parse_cron("every day").is_err());
    }

    #[test]
    fn email_addresses_need_one_at_and_a_dotted_domain() {
        assert!(is_email("ana@example.com"));
        assert!(is_email("ana.b+care@mail.example.mx"));
        assert!(!is_email("ana"));
        assert!(!is_email("ana@localhost"));
        assert!(!is_email("a@b@example.com"));
        assert!(!is_email("@example.com"));
        assert!(!is_email("ana@example."));
        assert!(!is_email("Ana <ana@example.com>"));
    }

    #[test]
    fn notify_targets_are_emails_or_defined_webhooks() {
        let hooks = vec!["slack-care".to_string()];
        assert!(parse_target("ana@example.com", &hooks).is_ok());
        assert!(parse_target("webhook:slack-care", &hooks).is_ok());
        let e = parse_target("webhook:teams", &hooks).unwrap_err();
        assert!(e.contains("defined: slack-care"), "{e}");
        assert!(parse_target("ana", &hooks).is_err());
    }

    #[test]
    fn urls_must_be_http_and_lose_their_trailing_slash() {
        assert_eq!(parse_http_url("https://mastodon.social/"), Ok("https://mastodon.social".into()));
        assert_eq!(parse_http_url("http://127.0.0.1:9000/x"), Ok("http://127.0.0.1:9000/x".into()));
        assert!(parse_http_url("mastodon.social").is_err());
        assert!(parse_http_url("ftp://example.com").is_err());
    }

    #[test]
    fn feed_urls_keep_their_trailing_slash() {
        assert_eq!(parse_feed_url("https://blog.example/comments/feed/"), Ok("https://blog.example/comments/feed/".into()));
        assert!(parse_feed_url("blog.example/feed/").is_err());
    }

    #[test]
    fn listen_addresses_are_host_and_port() {
        assert!(parse_listen("127.0.0.1:8686").is_ok());
        assert!(parse_listen("[::1]:8686").is_ok());
        assert!(parse_listen("localhost:8686").is_ok());
        assert!(parse_listen("8686").is_err());
        assert!(parse_listen("127.0.0.1:99999").is_err());
    }

    #[test]
    fn the_config_path_comes_from_the_flag_then_the_environment_then_etc() {
        let env = Env::empty().with("ESCUCHA_CONFIG", "/srv/escucha.toml");
        assert_eq!(default_path_in(Some(Path::new("a.toml")), &env), PathBuf::from("a.toml"));
        assert_eq!(default_path_in(None, &env), PathBuf::from("/srv/escucha.toml"));
        assert_eq!(default_path_in(None, &Env::empty()), PathBuf::from(SYSTEM_PATH));
    }

    #[test]
    fn the_environment_debug_shows_names_not_values() {
        let env = Env::empty().with("SMTP_PASSWORD", "hunter2");
        let shown = format!("{env:?}");
        assert!(shown.contains("SMTP_PASSWORD") && !shown.contains("hunter2"), "{shown}");
    }
}
