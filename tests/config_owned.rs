//! The config keys of the brand's own channels (issue 16): the contract's
//! example loads as written, defaults apply, each source's
//! `respond_within` overrides the brand's, and every mistake names its key.

use escucha::config::{load_str, Env};
use std::path::Path;
use std::time::Duration;

const CONTRACT: &str = r#"
[[brand]]
id = "interjet"
respond_within = { complaint = "30m", escalation = "5m" }

[brand.accounts]
facebook = "123456789012345"
instagram = "17841400000000000"
youtube = "UCxxxxxxxxxxxxxxxxxxxxxx"

[source.facebook]
api_base = "https://graph.facebook.com"
api_version = "v21.0"
page_token_env = "FB_PAGE_TOKEN"
every = "1m"

[source.instagram]
api_base = "https://graph.facebook.com"
api_version = "v21.0"
access_token_env = "IG_ACCESS_TOKEN"

[source.youtube]
api_base = "https://www.googleapis.com"
api_key_env = "YOUTUBE_API_KEY"
daily_quota = 10000
"#;

fn env() -> Env {
    Env::empty().with("FB_PAGE_TOKEN", "fb").with("IG_ACCESS_TOKEN", "ig").with("YOUTUBE_API_KEY", "yt")
}

fn refused(toml: &str) -> String {
    load_str(toml, Path::new("/srv/escucha/escucha.toml"), &env()).expect_err("expected the config to be refused").to_string()
}

#[test]
fn the_contracts_example_loads_with_its_accounts_and_sources() {
    let cfg = load_str(CONTRACT, Path::new("/srv/escucha/escucha.toml"), &env()).unwrap_or_else(|e| panic!("{e}"));
    let a = &cfg.brands[0].accounts;
    assert_eq!(a.facebook.as_deref(), Some("123456789012345"));
    assert_eq!(a.instagram.as_deref(), Some("17841400000000000"));
    assert_eq!(a.youtube.as_deref(), Some("UCxxxxxxxxxxxxxxxxxxxxxx"));
    let fb = cfg.sources.facebook.as_ref().unwrap();
    assert_eq!((fb.api_base.as_str(), fb.api_version.as_str(), fb.page_token.expose()), ("https://graph.facebook.com", "v21.0", "fb"));
    assert_eq!(fb.schedule.every, Duration::from_secs(60));
    let ig = cfg.sources.instagram.as_ref().unwrap();
    assert_eq!(ig.access_token.expose(), "ig");
    let yt = cfg.sources.youtube.as_ref().unwrap();
    assert_eq!((yt.api_base.as_str(), yt.daily_quota, yt.api_key.expose()), ("https://www.googleapis.com", 10_000, "yt"));
    // Nothing overrides the brand's thresholds here.
    assert_eq!(cfg.respond_within(&cfg.brands[0], "facebook"), cfg.brands[0].respond_within);
}

#[test]
fn defaults_are_the_platforms_own_hosts_and_youtubes_default_quota() {
    let toml = r#"
[[brand]]
id = "interjet"
[brand.accounts]
youtube = "UC1"
facebook = "1"
[source.youtube]
api_key = "k"
[source.facebook]
page_token = "t"
"#;
    let cfg = load_str(toml, Path::new("/srv/e.toml"), &Env::empty()).unwrap_or_else(|e| panic!("{e}"));
    let yt = cfg.sources.youtube.unwrap();
    assert_eq!((yt.api_base.as_str(), yt.daily_quota), ("https://www.googleapis.com", 10_000));
    let fb = cfg.sources.facebook.unwrap();
    assert_eq!((fb.api_base.as_str(), fb.api_version.as_str()), ("https://graph.facebook.com", "v21.0"));
}

#[test]
fn a_sources_respond_within_overrides_only_the_classes_it_names() {
    let toml = format!("{CONTRACT}\n").replace(
        "page_token_env = \"FB_PAGE_TOKEN\"",
        "page_token_env = \"FB_PAGE_TOKEN\"\nrespond_within = { complaint = \"10m\" }\nunhealthy_after = \"5m\"\nexpect_within = \"1d\"",
    );
    let cfg = load_str(&toml, Path::new("/srv/e.toml"), &env()).unwrap_or_else(|e| panic!("{e}"));
    let b = &cfg.brands[0];
    let fb = cfg.respond_within(b, "facebook");
    assert_eq!(fb.complaint, Duration::from_secs(600));
    assert_eq!(fb.escalation, Duration::from_secs(300), "the brand's escalation threshold stays");
    assert_eq!(cfg.respond_within(b, "youtube").complaint, Duration::from_secs(1800));
    let s = cfg.sources.facebook.unwrap().schedule;
    assert_eq!((s.unhealthy_after, s.expect_within), (Duration::from_secs(300), Some(Duration::from_secs(86_400))));
}

#[test]
fn every_mistake_names_its_key() {
    let toml = r#"
[[brand]]
id = "interjet"
[brand.accounts]
facebook = "Interjet Oficial"
instagram = "@interjet"
[source.facebook]
api_version = "21"
[source.instagram]
access_token = "t"
respond_within = { complaint = "media hora", nunca = "1m" }
[source.youtube]
api_key = "k"
daily_quota = 0
"#;
    let text = refused(toml);
    for expected in [
        "brand[0].accounts.facebook: \"Interjet Oficial\" is not an account name",
        "brand[0].accounts.instagram: \"@interjet\" is not a numeric id",
        "source.facebook.api_version: \"21\" is not a Graph API version",
        "source.facebook.page_token: is missing: add page_token_env = \"FB_PAGE_TOKEN\"",
        "source.instagram.respond_within.complaint: \"media hora\" is not a duration",
        "source.instagram.respond_within.nunca: unknown key",
        "source.youtube.daily_quota: must be at least 1",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}
