//! The review sources' configuration: the contract's keys, the lists under
//! `[brand.accounts]`, a source's `respond_within`, and what a wrong value
//! says (never quoting a key file).

use escucha::config::{load_str, Env};
use std::path::Path;
use std::time::Duration;

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keys");

fn load(toml: &str, env: &Env) -> Result<escucha::config::Config, String> {
    load_str(toml, Path::new("/srv/escucha/escucha.toml"), env).map_err(|e| e.to_string())
}

fn contract() -> String {
    format!(
        r#"
[[brand]]
id = "interjet"
respond_within = {{ complaint = "30m", escalation = "5m" }}
[brand.accounts]
google_reviews = ["accounts/1234/locations/5678"]
app_store = ["1234567890"]
google_play = ["com.interjet.app"]
trustpilot = ["4bdc8a1b000064000505c9e1"]

[source.google_reviews]
api_base = "https://mybusiness.googleapis.com"
token_url = "https://oauth2.googleapis.com/token"
client_id_env = "GBP_CLIENT_ID"
client_secret_env = "GBP_CLIENT_SECRET"
refresh_token_env = "GBP_REFRESH_TOKEN"
every = "10m"
respond_within = {{ complaint = "1d" }}

[source.app_store]
api_base = "https://api.appstoreconnect.apple.com"
issuer_id = "57246542-96fe-1a63-e053-0824d011072a"
key_id = "2X9R4HXF34"
private_key_file = "{KEYS}/app_store_test_AuthKey.p8"

[source.google_play]
api_base = "https://androidpublisher.googleapis.com"
token_url = "https://oauth2.googleapis.com/token"
service_account_file = "play.json"

[source.trustpilot]
api_base = "https://api.trustpilot.com"
token_url = "https://api.trustpilot.com/v1/oauth/oauth-business-users-for-applications/accesstoken"
client_id_env = "TRUSTPILOT_API_KEY"
client_secret_env = "TRUSTPILOT_API_SECRET"
username_env = "TRUSTPILOT_USER"
password_env = "TRUSTPILOT_PASSWORD"
"#
    )
}

/// The variables the contract's config names, and `$CREDENTIALS_DIRECTORY`
/// holding a service account key file `play.json`.
fn env(dir: &Path) -> Env {
    let key = std::fs::read_to_string(format!("{KEYS}/play_test_private.pem")).unwrap();
    let sa = serde_json::json!({"type": "service_account", "client_email": "r@p.iam.gserviceaccount.com", "private_key": key, "private_key_id": "k1"});
    std::fs::write(dir.join("play.json"), sa.to_string()).unwrap();
    Env::empty()
        .with("GBP_CLIENT_ID", "id")
        .with("GBP_CLIENT_SECRET", "secret")
        .with("GBP_REFRESH_TOKEN", "refresh")
        .with("TRUSTPILOT_API_KEY", "key")
        .with("TRUSTPILOT_API_SECRET", "secret")
        .with("TRUSTPILOT_USER", "care@interjet.example")
        .with("TRUSTPILOT_PASSWORD", "pw")
        .with("CREDENTIALS_DIRECTORY", dir.to_str().unwrap())
}

#[test]
fn the_contracts_keys_load() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = load(&contract(), &env(dir.path())).unwrap_or_else(|e| panic!("{e}"));
    let b = &cfg.brands[0];
    assert_eq!(b.accounts.google_reviews, ["accounts/1234/locations/5678"]);
    assert_eq!(b.accounts.app_store, ["1234567890"]);
    assert_eq!(b.accounts.google_play, ["com.interjet.app"]);
    assert_eq!(b.accounts.trustpilot, ["4bdc8a1b000064000505c9e1"]);
    let s = &cfg.sources;
    assert_eq!(s.google_reviews.as_ref().unwrap().schedule.every, Duration::from_secs(600));
    assert_eq!(s.app_store.as_ref().unwrap().key_id, "2X9R4HXF34");
    assert_eq!(s.trustpilot.as_ref().unwrap().username.expose(), "care@interjet.example");
    let within = s.respond_within["google_reviews"];
    assert_eq!((within.complaint, within.escalation), (Some(Duration::from_secs(86_400)), None));
    assert_eq!(s.respond_within.get("app_store"), None);
    // Accounts alone are enough for a brand: no terms needed.
    let names: Vec<&str> = escucha::daemon::sources(&cfg).iter().map(|s| s.name()).collect();
    assert_eq!(names, ["google_reviews", "app_store", "google_play", "trustpilot"]);
}

#[test]
fn wrong_review_targets_are_named_with_an_example() {
    let dir = tempfile::tempdir().unwrap();
    let toml = contract()
        .replace(r#"["accounts/1234/locations/5678"]"#, r#"["locations/5678"]"#)
        .replace(r#"["1234567890"]"#, r#"["id1234567890"]"#)
        .replace(r#"["com.interjet.app"]"#, r#"["interjet app"]"#);
    let text = load(&toml, &env(dir.path())).unwrap_err();
    assert!(text.contains("brand[0].accounts.google_reviews[0]: \"locations/5678\" is not a location name"), "{text}");
    assert!(text.contains("brand[0].accounts.app_store[0]"), "{text}");
    assert!(text.contains("brand[0].accounts.google_play[0]"), "{text}");
}

#[test]
fn missing_credentials_and_bad_key_files_are_named_and_never_quoted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.p8"), "-----BEGIN PRIVATE KEY-----\nU0VDUkVUX01BVEVSSUFM\n-----END PRIVATE KEY-----\n").unwrap();
    std::fs::write(dir.path().join("bad.json"), r#"{"client_email": "x@y", "private_key": "SECRET_MATERIAL"}"#).unwrap();
    let toml = contract()
        .replace(&format!("{KEYS}/app_store_test_AuthKey.p8"), "bad.p8")
        .replace("service_account_file = \"play.json\"", "service_account_file = \"bad.json\"")
        .replace("refresh_token_env = \"GBP_REFRESH_TOKEN\"\n", "")
        .replace("key_id = \"2X9R4HXF34\"\n", "");
    let e = env(dir.path());
    let text = load(&toml, &e).unwrap_err();
    assert!(text.contains("source.google_reviews.refresh_token: is missing: add refresh_token_env"), "{text}");
    assert!(text.contains("source.app_store.key_id"), "{text}");
    assert!(text.contains("source.app_store.private_key_file: is not an EC P-256 private key"), "{text}");
    assert!(text.contains("source.google_play.service_account_file: has a private_key that is not an RSA key"), "{text}");
    assert!(!text.contains("U0VDUkVU") && !text.contains("SECRET_MATERIAL"), "{text}");
}

#[test]
fn any_source_takes_respond_within_and_its_keys_are_checked() {
    let toml = r#"
[[brand]]
id = "interjet"
terms = ["interjet"]

[source.hackernews]
respond_within = { complaint = "2h", escalaton = "10m" }
"#;
    let text = load(toml, &Env::empty()).unwrap_err();
    assert!(text.contains("source.hackernews.respond_within.escalaton: unknown key"), "{text}");
    let cfg = load(&toml.replace(", escalaton = \"10m\"", ""), &Env::empty()).unwrap();
    assert_eq!(cfg.sources.respond_within["hackernews"].complaint, Some(Duration::from_secs(7200)));
}

/// `systemctl reload` runs `escucha check --reload` where the service's
/// credentials may not be readable: an App Store key or Play service account
/// file that is there but unreadable counts as present (the daemon reads and
/// checks it), instead of failing as a malformed key. Run as root, the check
/// drops to `nobody` (setpriv) so that the files really are unreadable.
#[test]
fn check_reload_counts_an_unreadable_review_key_file_as_present() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let p8 = dir.path().join("AuthKey.p8");
    std::fs::copy(format!("{KEYS}/app_store_test_AuthKey.p8"), &p8).unwrap();
    let play = dir.path().join("play.json");
    std::fs::write(&play, "{}").unwrap();
    let root = is_root();
    for f in [&p8, &play] {
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(if root { 0o600 } else { 0o000 })).unwrap();
    }
    let config = dir.path().join("escucha.toml");
    std::fs::write(
        &config,
        format!(
            "[daemon]\ndatabase = {:?}\n\n[[brand]]\nid = \"interjet\"\n[brand.accounts]\napp_store = [\"1234567890\"]\ngoogle_play = [\"com.interjet.app\"]\n\n\
             [source.app_store]\nissuer_id = \"57246542-96fe-1a63-e053-0824d011072a\"\nkey_id = \"2X9R4HXF34\"\nprivate_key_file = {:?}\n\n\
             [source.google_play]\nservice_account_file = {:?}\n",
            dir.path().join("escucha.db"),
            p8,
            play
        ),
    )
    .unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = |reload: bool| {
        let exe = env!("CARGO_BIN_EXE_escucha");
        let mut args: Vec<&str> = vec!["check", "--config", config.to_str().unwrap()];
        if reload {
            args.push("--reload");
        }
        let mut cmd = if root {
            let mut c = std::process::Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", exe]);
            c
        } else {
            std::process::Command::new(exe)
        };
        let out = cmd.args(&args).env_remove("CREDENTIALS_DIRECTORY").output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
    };
    let (code, out) = run(true);
    assert_eq!(code, Some(0), "check --reload refused unreadable key files:\n{out}");
    assert!(out.contains("source app_store") && out.contains("source google_play"), "{out}");
    let (code, out) = run(false);
    assert_eq!(code, Some(78), "{out}");
    assert!(out.contains("source.app_store.private_key_file: cannot read"), "{out}");
}

fn is_root() -> bool {
    std::process::Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
