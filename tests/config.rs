//! Loading and checking the configuration through the public API: the
//! documented example, `ESCUCHA__` overrides, every problem at once with key
//! paths and lines, secrets from the environment and from files, and the
//! systemd directories. The environment is injected (`Env`) except in the one
//! test that checks the process environment is read.

use escucha::config::{load, load_str, load_with, ConfigErrors, Env, LogFormat, SmtpSecurity};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/escucha.example.toml")
}

/// A minimal valid config, to which each test adds what it is about.
const MINIMAL: &str = r#"
[[brand]]
id = "interjet"
terms = ["interjet"]
"#;

fn errors(toml: &str, env: &Env) -> ConfigErrors {
    match load_str(toml, Path::new("/srv/escucha/escucha.toml"), env) {
        Ok(_) => panic!("expected the config to be refused:\n{toml}"),
        Err(e) => e,
    }
}

fn text_of(e: &ConfigErrors) -> String {
    e.to_string()
}

#[test]
fn the_example_config_loads_without_any_credentials() {
    let config = load_with(&example_path(), &Env::empty()).unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(config.brands.len(), 1);
    let brand = &config.brands[0];
    assert_eq!(brand.id, "interjet");
    assert_eq!(brand.terms, ["interjet", "inter jet"]);
    assert_eq!(brand.oncall.as_deref(), Some("care"));
    assert_eq!(brand.respond_within.complaint, Duration::from_secs(30 * 60));
    assert_eq!(brand.classify.complaint, ["sin señal", "me cobraron dos veces"]);
    assert_eq!(brand.classify.escalation, ["profeco"]);
    assert_eq!(brand.classify.praise, ["gracias por la ayuda"]);
    assert_eq!(brand.classify.neutral, ["interjet jobs", "vacante"]);
    assert_eq!(brand.accounts.mastodon.as_deref(), Some("interjet@mastodon.social"));

    let mastodon = config.sources.mastodon.as_ref().expect("mastodon source");
    assert_eq!(mastodon.instance, "https://mastodon.social");
    assert!(mastodon.access_token.is_none(), "the example needs no token");
    assert!(config.sources.x.is_none());
    assert!(config.smtp.is_none(), "without [smtp] alerts go to the log");

    let rota = config.rota("care").expect("rota care");
    assert_eq!(rota.shifts.len(), 2);
    assert_eq!(rota.then.len(), 1);
    assert_eq!(rota.then[0].after, Duration::from_secs(30 * 60));

    // Relative to the config file, not to the working directory.
    assert_eq!(config.daemon.database, example_path().parent().unwrap().join("escucha.db"));
    assert_eq!(config.daemon.timezone, chrono_tz::America::Mexico_City);
}

#[test]
fn the_configuration_documented_in_the_design_loads() {
    let toml = r#"
[daemon]
database = "escucha.db"
http = "127.0.0.1:8686"
timezone = "Europe/Madrid"
public_url = "https://escucha.example.com"
ack_secret_env = "ESCUCHA_ACK_SECRET"
group_wait = "0s"
log_format = "text"

[[brand]]
id = "interjet"
name = "Interjet"
terms = ["interjet", "inter jet"]
exclude = ["interjet jobs"]
executives = ["miguelalemanm"]
respond_within = { complaint = "30m", escalation = "5m" }
oncall = "care"
business_hours = "MON-FRI 09:00-18:00"
timezone = "America/Mexico_City"
holidays = ["2026-12-25"]
backfill = "0s"
[brand.escalate]
followers = 10000
reposts = 50
repeat = 3
window = "7d"
[brand.accounts]
x = "Interjet_mx"
mastodon = "interjet@mastodon.social"
bluesky = "interjet.bsky.social"
reddit = "interjet_care"
hackernews = "interjet"

[source.x]
api_base = "https://api.x.com"
bearer_token_env = "X_BEARER_TOKEN"
every = "1m"

[source.mastodon]
instance = "https://mastodon.social"
access_token_env = "MASTODON_TOKEN"
every = "1m"

[source.bluesky]
service = "https://bsky.social"
identifier = "interjet.bsky.social"
app_password_env = "BSKY_APP_PASSWORD"

[source.reddit]
api_base = "https://oauth.reddit.com"
token_url = "https://www.reddit.com/api/v1/access_token"
client_id_env = "REDDIT_CLIENT_ID"
client_secret_env = "REDDIT_CLIENT_SECRET"
user_agent = "linux:escucha:1.0 (by /u/interjet_care)"

[source.hackernews]
api_base = "https://hn.algolia.com"
every = "5m"
unhealthy_after = "1h"
expect_within = "6h"

[[source.feed]]
url = "https://example.com/comments/feed"
brand = "interjet"
every = "10m"

[smtp]
host = "smtp.example.com"
port = 587
security = "starttls"
username = "alerts@example.com"
password_env = "SMTP_PASSWORD"
from = "Escucha <alerts@example.com>"

[[webhook]]
id = "slack-care"
kind = "slack"
url_env = "SLACK_WEBHOOK_URL"

[[webhook]]
id = "ops-json"
kind = "json"
url = "https://hooks.example.com/escucha"
secret_env = "ESCUCHA_WEBHOOK_SECRET"

[[webhook]]
id = "pd"
kind = "pagerduty"
routing_key_env = "PAGERDUTY_ROUTING_KEY"

[[oncall]]
id = "care"
overlap = "first"
repeat = 2
[[oncall.shift]]
when = "* * 9-18 * * Mon-Fri"
timezone = "America/Mexico_City"
notify = ["ana@example.com", "webhook:slack-care"]
[[oncall.shift]]
when = "* * * * * *"
notify = ["guardia@example.com"]
[[oncall.then]]
after = "30m"
notify = ["jefa@example.com"]

[[person]]
address = "ana@example.com"
timezone = "Europe/Madrid"
quiet = "22:00-08:00"

[digest]
when = "0 0 8 * * *"
timezone = "Europe/Madrid"
to = ["equipo@example.com"]
send_resolved = false
"#;
    let env = Env::empty()
        .with("ESCUCHA_ACK_SECRET", "ack-key")
        .with("X_BEARER_TOKEN", "x-token")
        .with("MASTODON_TOKEN", "m-token")
        .with("BSKY_APP_PASSWORD", "b-pass")
        .with("REDDIT_CLIENT_ID", "r-id")
        .with("REDDIT_CLIENT_SECRET", "r-secret")
        .with("SMTP_PASSWORD", "s-pass")
        .with("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T/B/X")
        .with("ESCUCHA_WEBHOOK_SECRET", "w-secret")
        .with("PAGERDUTY_ROUTING_KEY", "pd-key");
    let config = load_str(toml, Path::new("/etc/escucha/escucha.toml"), &env).unwrap_or_else(|e| panic!("{e}"));

    // A config in /etc/escucha is the service's: its relative database is
    // the service's state directory's, for a shell too (issue 18).
    assert_eq!(config.daemon.database, PathBuf::from("/var/lib/escucha/escucha.db"));
    assert_eq!(config.daemon.http.as_deref(), Some("127.0.0.1:8686"));
    assert_eq!(config.daemon.ack_secret.as_ref().map(|s| s.expose()), Some("ack-key"));
    assert_eq!(config.sources.x.as_ref().unwrap().bearer_token.expose(), "x-token");
    assert_eq!(config.sources.mastodon.as_ref().unwrap().access_token.as_ref().unwrap().expose(), "m-token");
    let smtp = config.smtp.as_ref().unwrap();
    assert_eq!((smtp.port, smtp.security), (587, SmtpSecurity::Starttls));
    assert_eq!(smtp.password.as_ref().unwrap().expose(), "s-pass");
    let brand = &config.brands[0];
    assert_eq!(brand.timezone, chrono_tz::America::Mexico_City);
    assert_eq!(brand.business_hours, Some(escucha::config::BusinessHours::parse("MON-FRI 09:00-18:00").unwrap()));
    assert_eq!(brand.holidays, [chrono::NaiveDate::from_ymd_opt(2026, 12, 25).unwrap()]);
    assert_eq!(brand.accounts.reddit.as_deref(), Some("interjet_care"));
    let pd = config.webhooks.iter().find(|w| w.id == "pd").unwrap();
    assert_eq!(pd.url.as_ref().unwrap().expose(), "https://events.pagerduty.com/v2/enqueue");
    assert_eq!(pd.routing_key.as_ref().unwrap().expose(), "pd-key");
    let rota = config.rota("care").unwrap();
    assert_eq!((rota.overlap_all, rota.repeat), (false, 2));
    assert_eq!(rota.shifts[0].notify, ["ana@example.com", "webhook:slack-care"]);
    // A shift without a time zone takes the daemon's.
    assert_eq!(rota.shifts[1].timezone, chrono_tz::Europe::Madrid);
    assert_eq!(config.people[0].quiet, Some(escucha::config::Quiet::parse("22:00-08:00").unwrap()));
}

#[test]
fn omitted_keys_take_their_documented_defaults() {
    let toml = r#"
[daemon]
timezone = "Europe/Madrid"

[[brand]]
id = "interjet"
terms = ["interjet"]

[source.x]
bearer_token = "t"

[source.mastodon]
instance = "https://mastodon.example/"

[smtp]
host = "smtp.example.com"
security = "tls"
from = "alerts@example.com"
"#;
    let config = load_str(toml, Path::new("/srv/e/escucha.toml"), &Env::empty()).unwrap_or_else(|e| panic!("{e}"));
    let b = &config.brands[0];
    assert_eq!(b.name, "interjet");
    assert_eq!(b.respond_within.complaint, Duration::from_secs(30 * 60));
    assert_eq!(b.respond_within.escalation, Duration::from_secs(5 * 60));
    assert_eq!(b.timezone, chrono_tz::Europe::Madrid, "brand time zone defaults to the daemon's");
    assert_eq!(b.backfill, Duration::ZERO);
    assert_eq!(b.escalate, escucha::config::Escalate::default());
    let x = config.sources.x.as_ref().unwrap();
    assert_eq!(x.api_base, "https://api.x.com");
    assert_eq!(x.schedule.every, Duration::from_secs(60));
    assert_eq!(x.schedule.unhealthy_after, Duration::from_secs(30 * 60));
    assert_eq!(x.schedule.expect_within, None);
    assert_eq!(config.sources.mastodon.as_ref().unwrap().instance, "https://mastodon.example");
    let smtp = config.smtp.as_ref().unwrap();
    assert_eq!(smtp.port, 465, "tls defaults to port 465");
    assert_eq!(config.daemon.database, PathBuf::from("/srv/e/escucha.db"));
    assert_eq!(config.daemon.log_format, LogFormat::Text);
    assert_eq!(config.daemon.group_wait, Duration::ZERO);
    assert!(config.daemon.http.is_none());
    assert_eq!(config.daemon.language, escucha::config::Language::En, "English unless the config says otherwise");
}

#[test]
fn language_is_en_or_es_for_the_daemon_and_each_person_and_user() {
    let ok = format!("[daemon]\nlanguage = \"es\"\n{MINIMAL}\n[[person]]\naddress = \"ana@example.com\"\nlanguage = \"en\"\n");
    let config = load_str(&ok, Path::new("/srv/escucha/escucha.toml"), &Env::empty()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.daemon.language, escucha::config::Language::Es);
    assert_eq!(config.people[0].language, Some(escucha::config::Language::En));
    let e = text_of(&errors(&format!("[daemon]\nlanguage = \"fr\"\n{MINIMAL}"), &Env::empty()));
    assert!(e.contains("daemon.language") && e.contains("\"en\" or \"es\""), "{e}");
}

#[test]
fn smtp_port_defaults_follow_the_security_setting() {
    for (security, port) in [("none", 25), ("starttls", 587), ("tls", 465)] {
        let toml = format!("{MINIMAL}\n[smtp]\nhost = \"mail\"\nsecurity = \"{security}\"\nfrom = \"a@example.com\"\n");
        let config = load_str(&toml, Path::new("e.toml"), &Env::empty()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.smtp.unwrap().port, port, "security {security}");
    }
}

#[test]
fn escucha_environment_variables_win_over_the_file() {
    let toml = format!(
        "{MINIMAL}\n[daemon]\ndatabase = \"file.db\"\nlog_format = \"text\"\n\n[smtp]\nhost = \"smtp.file.example\"\nport = 25\nfrom = \"a@example.com\"\n"
    );
    let env = Env::empty()
        .with("ESCUCHA__DAEMON__DATABASE", "/var/lib/escucha/env.db")
        .with("ESCUCHA__DAEMON__LOG_FORMAT", "json")
        .with("ESCUCHA__SMTP__HOST", "smtp.env.example")
        .with("ESCUCHA__SMTP__PORT", "2525")
        // Not an override: one underscore after the prefix.
        .with("ESCUCHA_CONFIG", "/elsewhere.toml");
    let config = load_str(&toml, Path::new("/srv/escucha.toml"), &env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.daemon.database, PathBuf::from("/var/lib/escucha/env.db"));
    assert_eq!(config.daemon.log_format, LogFormat::Json);
    let smtp = config.smtp.unwrap();
    assert_eq!(smtp.host, "smtp.env.example");
    assert_eq!(smtp.port, 2525);
}

#[test]
fn an_override_can_supply_a_secret_the_file_leaves_out() {
    let toml = format!("{MINIMAL}\n[source.x]\nevery = \"2m\"\n");
    let env = Env::empty().with("ESCUCHA__SOURCE__X__BEARER_TOKEN", "from-env");
    let config = load_str(&toml, Path::new("e.toml"), &env).unwrap_or_else(|e| panic!("{e}"));
    let x = config.sources.x.unwrap();
    assert_eq!(x.bearer_token.expose(), "from-env");
    assert_eq!(x.schedule.every, Duration::from_secs(120));
}

#[test]
fn a_bad_override_is_blamed_on_its_variable() {
    let env = Env::empty().with("ESCUCHA__DAEMON__GROUP_WAIT", "soon").with("ESCUCHA__DAEMON__COLOUR", "red");
    let text = text_of(&errors(MINIMAL, &env));
    assert!(text.contains("daemon.group_wait (set by ESCUCHA__DAEMON__GROUP_WAIT): \"soon\" is not a duration"), "{text}");
    assert!(text.contains("daemon.colour (set by ESCUCHA__DAEMON__COLOUR): unknown key"), "{text}");
}

#[test]
fn the_process_environment_is_read_by_load() {
    // The only test that touches the process environment; the variable is
    // used by no other test.
    std::env::set_var("ESCUCHA__DAEMON__GROUP_WAIT", "45s");
    let config = load(&example_path());
    std::env::remove_var("ESCUCHA__DAEMON__GROUP_WAIT");
    assert_eq!(config.unwrap_or_else(|e| panic!("{e}")).daemon.group_wait, Duration::from_secs(45));
}

#[test]
fn every_mistake_is_reported_at_once_with_its_key_and_line() {
    let toml = r#"[daemon]
timezone = "Europe/Madird"

[[brand]]
id = "interjet"
terms = ["interjet"]
oncall = "care"

[[brand]]
id = "aeromar"
terms = ["aeromar"]
respond_within = { complaint = "30", escalation = "5m" }
oncall = "nobody"

[[oncall]]
id = "care"
[[oncall.shift]]
when = "0 9 * * MON-FRI"
notify = ["ana", "webhook:slack"]

[smtp]
host = "smtp.example.com"
security = "ssl"
from = "nobody"
"#;
    let e = errors(toml, &Env::empty());
    let text = text_of(&e);
    let expect = [
        ("daemon.timezone", 2, "did you mean \"Europe/Madrid\""),
        ("brand[1].respond_within.complaint", 12, "\"30\" is not a duration (try \"30s\" or \"30m\")"),
        ("brand[1].oncall", 13, "\"nobody\" names no [[oncall]] rota (defined: care)"),
        ("oncall[0].shift[0].when", 18, "try \"0 0 9 * * MON-FRI\""),
        ("oncall[0].shift[0].notify[0]", 19, "\"ana\" is not an email address"),
        ("oncall[0].shift[0].notify[1]", 19, "\"webhook:slack\" names no [[webhook]]"),
        ("smtp.security", 23, "\"ssl\" is not one of"),
        ("smtp.from", 24, "\"nobody\" is not a mailbox"),
    ];
    for (key, line, words) in expect {
        let found = e.0.iter().find(|err| err.key == key).unwrap_or_else(|| panic!("no error for {key}:\n{text}"));
        assert_eq!(found.line, Some(line), "line of {key}:\n{text}");
        assert!(found.message.contains(words), "{key}: {}\n{text}", found.message);
    }
    assert_eq!(e.0.len(), expect.len(), "{text}");
    // One problem per line, each prefixed by the file and line, in file order.
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), expect.len());
    assert!(lines[0].starts_with("/srv/escucha/escucha.toml:2: daemon.timezone: "), "{text}");
    assert!(lines[1].starts_with("/srv/escucha/escucha.toml:12: brand[1].respond_within.complaint: "), "{text}");
}

#[test]
fn unknown_keys_are_refused_with_the_nearest_known_key() {
    let toml = format!("{MINIMAL}respond_whitin = {{ complaint = \"30m\" }}\n\n[daemon]\ntimzone = \"UTC\"\n\n[brands]\nid = \"x\"\n");
    let e = errors(&toml, &Env::empty());
    let text = text_of(&e);
    assert!(text.contains(":5: brand[0].respond_whitin: unknown key (did you mean respond_within?)"), "{text}");
    assert!(text.contains(":8: daemon.timzone: unknown key (did you mean timezone?)"), "{text}");
    assert!(text.contains(":10: brands: unknown key (did you mean brand?)"), "{text}");
    assert_eq!(e.0.len(), 3, "{text}");
}

#[test]
fn brand_phrases_are_lists_of_text_per_class_and_each_phrase_decides_one_class() {
    let ok = format!("{MINIMAL}[brand.classify]\ncomplaint = [\" sin señal \"]\nneutral = [\"vacante\", \"jobs\"]\n");
    let cfg = load_str(&ok, Path::new("/srv/escucha/escucha.toml"), &Env::empty()).unwrap_or_else(|e| panic!("{e}"));
    let p = &cfg.brands[0].classify;
    assert_eq!((p.complaint.as_slice(), p.neutral.as_slice()), (&["sin señal".to_string()][..], &["vacante".to_string(), "jobs".to_string()][..]));
    assert!(p.praise.is_empty() && p.escalation.is_empty());
    let none = load_str(MINIMAL, Path::new("/srv/escucha/escucha.toml"), &Env::empty()).unwrap();
    assert!(none.brands[0].classify.is_empty());

    let bad =
        format!("{MINIMAL}[brand.classify]\ncomplaint = [\"\", \"Profeco\"]\npraize = [\"gracias\"]\nescalation = \"profeco\"\nneutral = [\"profeco\"]\n");
    let e = errors(&bad, &Env::empty());
    let text = text_of(&e);
    assert!(text.contains(":6: brand[0].classify.complaint[0]: is empty"), "{text}");
    assert!(text.contains(":7: brand[0].classify.praize: unknown key (did you mean praise?)"), "{text}");
    assert!(text.contains(":8: brand[0].classify.escalation:"), "{text}");
    assert!(text.contains("brand[0].classify.neutral: \"profeco\" is also listed under complaint"), "{text}");
    assert_eq!(e.0.len(), 4, "{text}");
}

#[test]
fn unknown_source_names_are_refused() {
    let toml = format!("{MINIMAL}\n[source.tiktok]\nevery = \"1m\"\n\n[source.mastodn]\ninstance = \"https://m.example\"\n");
    let e = errors(&toml, &Env::empty());
    let text = text_of(&e);
    assert!(
        text.contains(
            "source.tiktok: unknown source (known: x, mastodon, bluesky, reddit, hackernews, feed, facebook, instagram, youtube, google_reviews, app_store, google_play, trustpilot)"
        ),
        "{text}"
    );
    assert!(text.contains("source.mastodn: unknown source (did you mean mastodon?"), "{text}");
    assert_eq!(e.0.len(), 2, "{text}");
}

#[test]
fn toml_syntax_errors_name_the_line() {
    let e = errors("[daemon]\ndatabase = escucha.db\n", &Env::empty());
    assert_eq!(e.0[0].line, Some(2), "{e}");
    assert!(e.to_string().starts_with("/srv/escucha/escucha.toml:2: TOML syntax:"), "{e}");
}

#[test]
fn wrong_types_are_reported_with_an_example() {
    let toml = format!("{MINIMAL}\n[daemon]\ngroup_wait = 30\nhttp = 8686\n\n[[webhook]]\nid = \"s\"\nkind = \"slack\"\nurl = \"https://h.example/x\"\nsend_resolved = \"yes\"\n");
    let text = text_of(&errors(&toml, &Env::empty()));
    assert!(text.contains("daemon.group_wait: 30 is not a duration: give it as a string with a unit (try \"30s\" or \"30m\")"), "{text}");
    assert!(text.contains("daemon.http: must be a string (e.g. \"127.0.0.1:8686\"), not a number"), "{text}");
    assert!(text.contains("webhook[0].send_resolved: must be true or false"), "{text}");
}

#[test]
fn brands_need_a_unique_id_and_something_to_watch() {
    let toml = r#"
[[brand]]
id = "interjet"
terms = ["interjet"]

[[brand]]
id = "interjet"
terms = ["otra"]

[[brand]]
id = ""
terms = ["x"]

[[brand]]
id = "silent"
"#;
    let e = errors(toml, &Env::empty());
    let text = text_of(&e);
    assert!(text.contains("brand[1].id: \"interjet\" is used twice"), "{text}");
    assert!(text.contains("brand[2].id: is empty"), "{text}");
    assert!(text.contains(":14: brand[3]: watches nothing"), "{text}");
    assert_eq!(e.0.len(), 3, "{text}");
}

#[test]
fn a_brand_with_only_an_account_is_enough() {
    let toml = "[[brand]]\nid = \"interjet\"\n[brand.accounts]\nx = \"@Interjet_mx\"\n";
    let config = load_str(toml, Path::new("e.toml"), &Env::empty()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.brands[0].accounts.x.as_deref(), Some("Interjet_mx"), "the @ is dropped");
}

#[test]
fn sources_require_their_credentials_and_addresses() {
    let toml = format!(
        "{MINIMAL}\n[source.x]\nevery = \"1m\"\n\n[source.mastodon]\nevery = \"1m\"\n\n[source.bluesky]\nidentifier = \"i.bsky.social\"\n\n[source.reddit]\nclient_id = \"id\"\n\n[[source.feed]]\nurl = \"not a url\"\nbrand = \"nobody\"\n"
    );
    let text = text_of(&errors(&toml, &Env::empty()));
    assert!(text.contains("source.x.bearer_token: is missing: add bearer_token_env = \"X_BEARER_TOKEN\""), "{text}");
    assert!(text.contains("source.mastodon.instance: is missing"), "{text}");
    assert!(text.contains("source.bluesky.app_password: is missing"), "{text}");
    assert!(text.contains("source.reddit.client_secret: is missing"), "{text}");
    assert!(text.contains("source.feed[0].url: \"not a url\" is not an http(s) URL"), "{text}");
    assert!(text.contains("source.feed[0].brand: \"nobody\" names no [[brand]] (defined: interjet)"), "{text}");
}

#[test]
fn a_secret_comes_from_the_named_environment_variable() {
    let toml = format!("{MINIMAL}\n[source.x]\nbearer_token_env = \"X_TOKEN\"\n");
    let env = Env::empty().with("X_TOKEN", "AAAA-secret");
    let config = load_str(&toml, Path::new("e.toml"), &env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.sources.x.unwrap().bearer_token.expose(), "AAAA-secret");
}

#[test]
fn an_unset_secret_variable_is_named_in_the_error() {
    let toml = format!("{MINIMAL}\n[source.x]\nbearer_token_env = \"X_TOKEN\"\n");
    let e = errors(&toml, &Env::empty());
    let text = text_of(&e);
    assert!(text.contains(":7: source.x.bearer_token_env: environment variable X_TOKEN is not set"), "{text}");
    assert_eq!(e.0.len(), 1, "{text}");
}

#[test]
fn a_secret_given_twice_is_refused() {
    let toml = format!("{MINIMAL}\n[source.x]\nbearer_token = \"a\"\nbearer_token_env = \"X_TOKEN\"\n");
    let text = text_of(&errors(&toml, &Env::empty().with("X_TOKEN", "b")));
    assert!(text.contains("source.x.bearer_token: give only one of bearer_token, bearer_token_env, bearer_token_file"), "{text}");
}

#[test]
fn a_relative_secret_file_is_read_next_to_the_config_and_its_newline_dropped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x-token"), "file-secret\n").unwrap();
    let toml = format!("{MINIMAL}\n[source.x]\nbearer_token_file = \"x-token\"\n");
    let config = load_str(&toml, &dir.path().join("escucha.toml"), &Env::empty()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.sources.x.unwrap().bearer_token.expose(), "file-secret");
}

#[test]
fn a_relative_secret_file_is_looked_up_in_the_credentials_directory() {
    let config_dir = tempfile::tempdir().unwrap();
    let creds = tempfile::tempdir().unwrap();
    std::fs::write(config_dir.path().join("smtp"), "wrong\n").unwrap();
    std::fs::write(creds.path().join("smtp"), "from-credentials\r\n").unwrap();
    let toml = format!("{MINIMAL}\n[smtp]\nhost = \"mail.example.com\"\nusername = \"alerts\"\npassword_file = \"smtp\"\nfrom = \"alerts@example.com\"\n");
    let env = Env::empty().with("CREDENTIALS_DIRECTORY", creds.path().to_str().unwrap());
    let config = load_str(&toml, &config_dir.path().join("escucha.toml"), &env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.smtp.unwrap().password.unwrap().expose(), "from-credentials");
}

#[test]
fn an_unreadable_secret_file_is_an_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let toml = format!("{MINIMAL}\n[source.x]\nbearer_token_file = \"missing-token\"\n");
    let text = text_of(&errors_at(&toml, &dir.path().join("escucha.toml"), &Env::empty()));
    let expected = dir.path().join("missing-token");
    assert!(text.contains(&format!("source.x.bearer_token_file: cannot read {}", expected.display())), "{text}");
}

fn errors_at(toml: &str, path: &Path, env: &Env) -> ConfigErrors {
    load_str(toml, path, env).expect_err("expected the config to be refused")
}

#[test]
fn a_relative_database_lives_in_the_state_directory_under_systemd() {
    let toml = format!("{MINIMAL}\n[daemon]\ndatabase = \"mentions.db\"\n");
    let env = Env::empty().with("STATE_DIRECTORY", "/var/lib/escucha");
    let config = load_str(&toml, Path::new("/etc/escucha/escucha.toml"), &env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.daemon.database, PathBuf::from("/var/lib/escucha/mentions.db"));

    // Outside systemd, a shell with the service's config finds the
    // service's database, not a second one beside the config...
    let config = load_str(&toml, Path::new("/etc/escucha/escucha.toml"), &Env::empty()).unwrap();
    assert_eq!(config.daemon.database, PathBuf::from("/var/lib/escucha/mentions.db"));
    // ...and any other config keeps its database beside it.
    let config = load_str(&toml, Path::new("/home/ana/escucha/escucha.toml"), &Env::empty()).unwrap();
    assert_eq!(config.daemon.database, PathBuf::from("/home/ana/escucha/mentions.db"));

    let absolute = format!("{MINIMAL}\n[daemon]\ndatabase = \"/data/e.db\"\n");
    let config = load_str(&absolute, Path::new("/etc/escucha/escucha.toml"), &env).unwrap();
    assert_eq!(config.daemon.database, PathBuf::from("/data/e.db"));
}

#[test]
fn secret_values_never_appear_in_debug_output() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pd"), "pd-routing-SECRET-4\n").unwrap();
    let toml = format!(
        r#"{MINIMAL}
[daemon]
ack_secret = "ack-SECRET-1"

[brand.accounts]
mastodon = "interjet"
mastodon_token_env = "BRAND_TOKEN"

[source.x]
bearer_token_env = "X_TOKEN"

[source.mastodon]
instance = "https://mastodon.social"
access_token = "mastodon-SECRET-3"

[smtp]
host = "mail.example.com"
username = "alerts"
password_env = "SMTP_PASSWORD"
from = "alerts@example.com"

[[webhook]]
id = "slack"
kind = "slack"
url_env = "SLACK_URL"

[[webhook]]
id = "pd"
kind = "pagerduty"
routing_key_file = "pd"
"#
    );
    let env = Env::empty()
        .with("BRAND_TOKEN", "brand-SECRET-2")
        .with("X_TOKEN", "x-SECRET-5")
        .with("SMTP_PASSWORD", "smtp-SECRET-6")
        .with("SLACK_URL", "https://hooks.slack.com/services/T0/B0/slack-SECRET-7");
    let config = load_str(&toml, &dir.path().join("escucha.toml"), &env).unwrap_or_else(|e| panic!("{e}"));
    let shown = format!("{config:?}");
    assert!(!shown.contains("SECRET"), "a secret leaked into Debug:\n{shown}");
    // The values are there, only hidden.
    assert_eq!(config.brands[0].accounts.mastodon_token.as_ref().unwrap().expose(), "brand-SECRET-2");
    assert_eq!(config.webhooks[1].routing_key.as_ref().unwrap().expose(), "pd-routing-SECRET-4");
}

#[test]
fn a_bad_webhook_url_is_reported_without_echoing_it() {
    let toml = format!("{MINIMAL}\n[[webhook]]\nid = \"slack\"\nkind = \"slack\"\nurl_env = \"SLACK_URL\"\n");
    let env = Env::empty().with("SLACK_URL", "hooks.slack.com/services/T0/B0/SECRET");
    let text = text_of(&errors(&toml, &env));
    assert!(text.contains("webhook[0].url_env: is not an http(s) URL"), "{text}");
    assert!(!text.contains("SECRET"), "{text}");
}

#[test]
fn rotas_check_their_shifts_steps_and_references() {
    let toml = r#"
[[webhook]]
id = "slack-care"
kind = "slack"
url = "https://hooks.example.com/x"

[[oncall]]
id = "care"
overlap = "some"
[[oncall.shift]]
when = "* * 9-18 * * 1-5"
timezone = "Mars/Base"
notify = []
[[oncall.then]]
notify = ["webhook:slack-care"]

[[oncall]]
id = "empty"

[digest]
when = "0 8 * * *"
to = ["webhook:nope"]
"#;
    let e = errors(toml, &Env::empty());
    let text = text_of(&e);
    for needle in [
        "oncall[0].overlap: \"some\" is not \"first\" or \"all\"",
        "oncall[0].shift[0].when: \"* * 9-18 * * 1-5\": write weekdays by name",
        "oncall[0].shift[0].timezone: \"Mars/Base\" is not a time zone",
        "oncall[0].shift[0].notify: is empty",
        "oncall[0].then[0].after: is missing",
        "oncall[1]: has no shift",
        "digest.when: \"0 8 * * *\" has 5 fields",
        "digest.to[0]: \"webhook:nope\" names no [[webhook]] (defined: slack-care)",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert_eq!(e.0.len(), 8, "{text}");
}

#[test]
fn a_missing_config_file_says_how_to_point_at_one() {
    let e = load_with(Path::new("/nonexistent/escucha.toml"), &Env::empty()).unwrap_err();
    let text = e.to_string();
    assert!(text.starts_with("/nonexistent/escucha.toml: cannot read the config file"), "{text}");
    assert!(text.contains("--config"), "{text}");
}

#[test]
fn a_private_feed_url_comes_from_the_environment_or_a_file_and_is_never_echoed() {
    let toml = format!("{MINIMAL}\n[[source.feed]]\nurl_env = \"ALERTS_FEED\"\nbrand = \"interjet\"\n");
    let url = "https://www.google.com/alerts/feeds/0123456789/987654321";
    let config = load_str(&toml, Path::new("/srv/escucha/escucha.toml"), &Env::empty().with("ALERTS_FEED", url)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.sources.feeds[0].url.expose(), url);
    assert!(!format!("{config:?}").contains("987654321"), "the feed URL is a secret");

    let bad = errors(&toml, &Env::empty().with("ALERTS_FEED", "ftp://x/987654321")).to_string();
    assert!(bad.contains("url_env") && bad.contains("not an http(s) feed URL") && !bad.contains("987654321"), "{bad}");
    let unset = errors(&toml, &Env::empty()).to_string();
    assert!(unset.contains("ALERTS_FEED is not set"), "{unset}");
    let both = errors(&format!("{MINIMAL}\n[[source.feed]]\nurl = \"{url}\"\nurl_env = \"ALERTS_FEED\"\nbrand = \"interjet\"\n"), &Env::empty()).to_string();
    assert!(both.contains("give only one of url, url_env, url_file"), "{both}");
}

const REDDIT: &str = "[source.reddit]\nclient_id = \"id\"\nclient_secret = \"secret\"\n";

#[test]
fn reddit_comment_keys_are_parsed_once_with_their_defaults() {
    let plain = load_str(&format!("{MINIMAL}\n{REDDIT}"), Path::new("e.toml"), &Env::empty()).unwrap_or_else(|e| panic!("{e}"));
    let r = plain.sources.reddit.unwrap();
    assert_eq!(r.follow_threads, Duration::from_secs(3 * 86_400), "threads are followed for 3 days by default");
    assert!(r.subreddits.is_empty() && r.user.is_none());

    let toml = format!(
        "{MINIMAL}[brand.accounts]\nreddit = \"u/Interjet_Care\"\n{REDDIT}follow_threads = \"12h\"\nsubreddits = [\"mexico\", \"r/Aviation\", \"/r/mexico/\"]\nusername_env = \"REDDIT_USERNAME\"\npassword_env = \"REDDIT_PASSWORD\"\n"
    );
    let env = Env::empty().with("REDDIT_USERNAME", "interjet_care").with("REDDIT_PASSWORD", "pw");
    let config = load_str(&toml, Path::new("e.toml"), &env).unwrap_or_else(|e| panic!("{e}"));
    let r = config.sources.reddit.unwrap();
    assert_eq!(r.follow_threads, Duration::from_secs(12 * 3600));
    assert_eq!(r.subreddits, vec!["mexico".to_string(), "aviation".to_string()], "lowercase, without r/, once each");
    let user = r.user.unwrap();
    assert_eq!(user.brands, vec!["interjet".to_string()]);
    assert!(matches!(user.grant, escucha::config::RedditGrant::Password { .. }));
    assert_eq!(user.keys, "username_env and password_env");

    // One brand with a Reddit account: a refresh token is its user's.
    let toml = format!("{MINIMAL}[brand.accounts]\nreddit = \"interjet_care\"\n{REDDIT}refresh_token_env = \"REDDIT_REFRESH_TOKEN\"\n");
    let env = Env::empty().with("REDDIT_REFRESH_TOKEN", "r-123");
    let r = load_str(&toml, Path::new("e.toml"), &env).unwrap_or_else(|e| panic!("{e}")).sources.reddit.unwrap();
    let user = r.user.unwrap();
    assert!(matches!(user.grant, escucha::config::RedditGrant::RefreshToken(_)));
    assert_eq!((user.brands, user.keys.as_str()), (vec!["interjet".to_string()], "refresh_token_env"));
}

#[test]
fn bad_reddit_comment_keys_are_refused_naming_each_key() {
    let two = "[[brand]]\nid = \"acme\"\nterms = [\"acme\"]\n[brand.accounts]\nreddit = \"acme_help\"\n";
    let toml = format!(
        "{MINIMAL}[brand.accounts]\nreddit = \"interjet_care\"\n{two}{REDDIT}follow_threads = \"three days\"\nsubreddits = [\"mexico\", \"not a sub!\"]\nrefresh_token = \"r\"\n"
    );
    let text = text_of(&errors(&toml, &Env::empty()));
    assert!(text.contains("source.reddit.follow_threads"), "{text}");
    assert!(text.contains("source.reddit.subreddits[1]: \"not a sub!\" is not a subreddit name"), "{text}");
    assert!(text.contains("source.reddit.refresh_token: several brands have a Reddit account (acme_help, interjet_care)"), "{text}");

    let toml = format!("{MINIMAL}{REDDIT}username = \"somebody\"\npassword = \"pw\"\n");
    let text = text_of(&errors(&toml, &Env::empty()));
    assert!(text.contains("source.reddit.username: u/somebody is no brand's account"), "{text}");
    assert!(!text.contains("pw"), "never the password: {text}");

    let toml = format!("{MINIMAL}[brand.accounts]\nreddit = \"interjet_care\"\n{REDDIT}password_env = \"P\"\n");
    let text = text_of(&errors(&toml, &Env::empty().with("P", "x")));
    assert!(text.contains("source.reddit.username: is missing"), "{text}");

    let toml = format!("{MINIMAL}[brand.accounts]\nreddit = \"interjet_care\"\n{REDDIT}username = \"interjet_care\"\n");
    let text = text_of(&errors(&toml, &Env::empty()));
    assert!(text.contains("source.reddit.username: needs password_env"), "{text}");
}

#[test]
fn streaming_keys_are_a_boolean_for_mastodon_and_a_websocket_base_for_bluesky() {
    let ok = format!(
        "{MINIMAL}[source.mastodon]\ninstance = \"https://mastodon.social\"\nstream = true\n\
         [source.bluesky]\nidentifier = \"interjet.bsky.social\"\napp_password = \"p\"\njetstream = \"wss://jetstream2.us-east.bsky.network/subscribe/\"\n"
    );
    let config = load_str(&ok, Path::new("/srv/escucha/escucha.toml"), &Env::empty()).unwrap_or_else(|e| panic!("{e}"));
    assert!(config.sources.mastodon.as_ref().unwrap().stream);
    assert_eq!(config.sources.bluesky.as_ref().unwrap().jetstream.as_deref(), Some("wss://jetstream2.us-east.bsky.network"), "a copied /subscribe is dropped");

    let off = format!("{MINIMAL}[source.mastodon]\ninstance = \"https://mastodon.social\"\n[source.bluesky]\nidentifier = \"i\"\napp_password = \"p\"\n");
    let config = load_str(&off, Path::new("/srv/escucha/escucha.toml"), &Env::empty()).unwrap_or_else(|e| panic!("{e}"));
    assert!(!config.sources.mastodon.as_ref().unwrap().stream, "polling unless asked");
    assert!(config.sources.bluesky.as_ref().unwrap().jetstream.is_none());

    let bad = format!(
        "{MINIMAL}[source.mastodon]\ninstance = \"https://mastodon.social\"\nstream = \"yes\"\n\
         [source.bluesky]\nidentifier = \"i\"\napp_password = \"p\"\njetstream = \"https://jetstream2.us-east.bsky.network\"\n"
    );
    let text = text_of(&errors(&bad, &Env::empty()));
    assert!(text.contains("source.mastodon.stream"), "{text}");
    assert!(text.contains("source.bluesky.jetstream") && text.contains("ws://"), "{text}");
}

#[test]
fn check_says_what_each_reddit_comment_query_reads() {
    let toml = format!(
        "{MINIMAL}[brand.accounts]\nreddit = \"interjet_care\"\n{REDDIT}follow_threads = \"3d\"\nsubreddits = [\"mexico\", \"aviation\"]\nusername = \"interjet_care\"\npassword = \"pw\"\n"
    );
    let config = load_str(&toml, Path::new("/srv/escucha/escucha.toml"), &Env::empty()).unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    escucha::cli::check(&config, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("reddit:threads (brands: interjet): the comments under every matched post, for 3 days after it was posted"), "{text}");
    assert!(text.contains("reddit:subreddits:aviation+mexico (brands: interjet): new comments of r/aviation, r/mexico, matched against every brand"), "{text}");
    assert!(text.contains("reddit:mentions (brands: interjet): the brand user's username mentions"), "{text}");
    assert!(!text.contains("pw"), "{text}");
}
