//! Drives the four review sources against the fake review APIs: each
//! platform's auth (token exchange, JWT claims and signature checked by the
//! fake), paging, answers, edits, rate limits and refused credentials.

#[path = "support/fake_reviews.rs"]
mod fake_reviews;

use escucha::config::{load_str, Config, Env};
use escucha::model::{Platform, Post};
use escucha::sources::reviews::{sources, Cursor, ReviewSource, OWNER};
use escucha::sources::{Page, Query, SourceError};
use fake_reviews::*;

const LOCATION: &str = "accounts/1234/locations/5678";
const APP: &str = "1234567890";
const PACKAGE: &str = "com.interjet.app";
const UNIT: &str = "4bdc8a1b000064000505c9e1";

struct World {
    fake: FakeReviews,
    _dir: tempfile::TempDir,
    cfg: Config,
}

impl World {
    async fn new() -> World {
        let fake = FakeReviews::start().await;
        let dir = tempfile::tempdir().unwrap();
        let sa = dir.path().join("play-service-account.json");
        std::fs::write(&sa, service_account_json(&fake.google_token_url())).unwrap();
        let base = fake.base_url();
        let toml = format!(
            r#"
[daemon]
database = "escucha.db"

[[brand]]
id = "interjet"
name = "Interjet"
terms = ["interjet"]

[brand.accounts]
google_reviews = ["{LOCATION}"]
app_store = ["{APP}"]
google_play = ["{PACKAGE}"]
trustpilot = ["{UNIT}"]

[source.google_reviews]
api_base = "{base}"
token_url = "{base}/token"
client_id = "{GBP_CLIENT_ID}"
client_secret = "{GBP_CLIENT_SECRET}"
refresh_token = "{GBP_REFRESH_TOKEN}"

[source.app_store]
api_base = "{base}"
issuer_id = "{ASC_ISSUER}"
key_id = "{ASC_KEY_ID}"
private_key_file = "{key}"

[source.google_play]
api_base = "{base}"
token_url = "{base}/token"
service_account_file = "play-service-account.json"

[source.trustpilot]
api_base = "{base}"
token_url = "{tp_token}"
client_id = "{TP_KEY}"
client_secret = "{TP_SECRET}"
username = "{TP_USER}"
password = "{TP_PASSWORD}"
"#,
            key = app_store_key_path(),
            tp_token = fake.trustpilot_token_url(),
        );
        let cfg = load_str(&toml, &dir.path().join("escucha.toml"), &Env::empty()).unwrap_or_else(|e| panic!("{e}"));
        World { fake, _dir: dir, cfg }
    }

    fn source(&self, platform: Platform) -> (ReviewSource, Query) {
        let src = sources(&self.cfg).into_iter().find(|s| s.platform() == platform).expect("configured");
        let q = src.queries().pop().expect("one query");
        (src, q)
    }
}

/// One poll: pages until the source says there is no more. Returns the
/// pages and the cursor to keep.
async fn poll(src: &ReviewSource, q: &Query, cursor: Option<String>) -> (Vec<Page>, String) {
    let mut cursor = cursor;
    let mut pages = Vec::new();
    loop {
        let page = src.fetch(q, cursor.as_deref()).await.unwrap_or_else(|e| panic!("{}: {e}", q.key));
        cursor = Some(page.cursor.clone());
        let more = page.more;
        pages.push(page);
        if !more {
            return (pages, cursor.unwrap());
        }
        assert!(pages.len() < 50, "a poll ends");
    }
}

fn posts(pages: &[Page]) -> Vec<&Post> {
    pages.iter().flat_map(|p| &p.posts).collect()
}

fn review<'a>(pages: &'a [Page], id: &str) -> &'a Post {
    posts(pages).into_iter().find(|p| p.platform_id == id).unwrap_or_else(|| panic!("{id} read"))
}

fn answered(pages: &[Page], id: &str) -> bool {
    posts(pages).iter().any(|p| p.author == OWNER && p.in_reply_to_id.as_deref() == Some(id))
}

#[tokio::test]
async fn queries_are_one_per_brand_and_reviewed_thing() {
    let w = World::new().await;
    let keys: Vec<String> = sources(&w.cfg).iter().flat_map(|s| s.queries()).map(|q| q.key).collect();
    assert_eq!(
        keys,
        [
            format!("google_reviews:interjet:{LOCATION}"),
            format!("app_store:interjet:{APP}"),
            format!("google_play:interjet:{PACKAGE}"),
            format!("trustpilot:interjet:{UNIT}")
        ]
    );
    let (src, q) = w.source(Platform::AppStore);
    assert!(q.exclusive && q.brands == ["interjet"]);
    assert_eq!(src.platform().as_str(), "app_store");
}

#[tokio::test]
async fn google_reviews_use_one_refreshed_token_page_by_token_and_see_replies_and_edits() {
    let w = World::new().await;
    let old = w.fake.add(Kind::Google, LOCATION, "Lucía Pérez", "Me cancelaron el vuelo y nadie responde.", 1);
    let (src, q) = w.source(Platform::GoogleReviews);
    let (first, cursor) = poll(&src, &q, None).await;
    assert_eq!(first.len(), 1);
    let r = review(&first, &old);
    assert_eq!((r.rating, r.author.as_str(), r.platform), (Some(1), "Lucía Pérez", Platform::GoogleReviews));
    assert!(r.addressed_to_token_account, "a review is the brand's mention whatever it says");

    // 60 more reviews: a later poll pages with pageToken (50 a page).
    let ids: Vec<String> = (0..60).map(|i| w.fake.add(Kind::Google, LOCATION, &format!("autor {i}"), "Excelente atención", 5)).collect();
    w.fake.reply(&old, "Lo sentimos, Lucía.");
    let (pages, cursor) = poll(&src, &q, Some(cursor)).await;
    assert_eq!(pages.len(), 2);
    for id in &ids {
        review(&pages, id);
    }
    let lists = w.fake.list_requests(Kind::Google);
    assert_eq!(lists.last().unwrap().param("pageToken").as_deref(), Some("50"));
    assert!(lists.iter().all(|r| r.param("pageSize").as_deref() == Some("50") && r.param("orderBy").as_deref() == Some("updateTime desc")));
    // The reply does not move the review: it is still read (the week's window) and answered.
    assert!(answered(&pages, &old), "the owner's reply answers the review");

    // The author edits: newest text and stars; the old reply predates them.
    w.fake.edit(&old, "Me cancelaron el vuelo otra vez", 2);
    let (pages, _) = poll(&src, &q, Some(cursor)).await;
    let r = review(&pages, &old);
    assert_eq!((r.text.as_str(), r.rating), ("Me cancelaron el vuelo otra vez", Some(2)));
    assert!(!answered(&pages, &old), "the reply predates the edit");
    assert_eq!(w.fake.grants("google_refresh"), 1, "the access token is cached until it expires");
}

#[tokio::test]
async fn a_google_access_token_that_expires_is_refreshed_and_a_revoked_refresh_token_names_itself() {
    let w = World::new().await;
    w.fake.token_lifetime(30); // inside the renewal margin: refreshed on every poll
    let (src, q) = w.source(Platform::GoogleReviews);
    let (_, cursor) = poll(&src, &q, None).await;
    let (_, cursor) = poll(&src, &q, Some(cursor)).await;
    assert_eq!(w.fake.grants("google_refresh"), 2);
    w.fake.revoke();
    let err = src.fetch(&q, Some(&cursor)).await.unwrap_err();
    let SourceError::Unauthorized(msg) = err else { panic!("{err:?}") };
    assert!(msg.starts_with("google_reviews:") && msg.contains("refresh_token") && msg.contains("invalid_grant"), "{msg}");
    assert!(!msg.contains(GBP_REFRESH_TOKEN) && !msg.contains(GBP_CLIENT_SECRET), "no secret in {msg}");
}

#[tokio::test]
async fn a_refused_access_token_is_renewed_once_and_a_refused_login_names_its_credentials() {
    let w = World::new().await;
    let (src, q) = w.source(Platform::Trustpilot);
    let (_, cursor) = poll(&src, &q, None).await;
    // The cached token is refused (401), and so is the new login.
    w.fake.revoke();
    let err = src.fetch(&q, Some(&cursor)).await.unwrap_err();
    assert!(matches!(err, SourceError::Unauthorized(ref m) if m.contains("username") && m.contains("password")), "{err:?}");
    assert!(!format!("{err}").contains(TP_PASSWORD));
    assert_eq!(w.fake.grants("trustpilot"), 1, "one grant; the retry's login was refused");
}

#[tokio::test]
async fn the_app_store_signs_an_es256_token_the_fake_verifies_and_reuses_it() {
    let w = World::new().await;
    let pending = w.fake.add(Kind::AppStore, APP, "Anne Johnson", "Desde la actualización la app se cierra", 5);
    let published = w.fake.add(Kind::AppStore, APP, "Bob", "No puedo documentar", 1);
    w.fake.reply_pending(&pending, "Gracias, lo vemos");
    w.fake.reply(&published, "Ya está corregido en 4.1.3");
    let (src, q) = w.source(Platform::AppStore);
    let (pages, cursor) = poll(&src, &q, None).await;
    assert!(answered(&pages, &published), "a published response answers");
    assert!(!answered(&pages, &pending), "a pending one does not yet");
    let r = review(&pages, &pending);
    assert_eq!(r.rating, Some(5));
    assert!(r.text.contains("se cierra"), "{}", r.text);
    assert_eq!(r.url, format!("https://apps.apple.com/app/id{APP}?see-all=reviews"));

    // 250 more: links.next pages at 200.
    for i in 0..250 {
        w.fake.add(Kind::AppStore, APP, &format!("n{i}"), "ok", 4);
    }
    let (pages, _) = poll(&src, &q, Some(cursor)).await;
    assert_eq!(pages.len(), 2);
    assert_eq!(posts(&pages).iter().filter(|p| p.author != OWNER).count(), 252);
    let lists = w.fake.list_requests(Kind::AppStore);
    assert!(lists.iter().all(|r| r.status == 200), "every JWT was accepted");
    assert_eq!(lists[0].param("sort").as_deref(), Some("-createdDate"));
    assert_eq!(lists[0].param("include").as_deref(), Some("response"));
    assert_eq!(lists[0].param("limit").as_deref(), Some("200"));
    assert!(lists.last().unwrap().param("cursor").is_some(), "the next link is followed");
    let claims = w.fake.app_store_claims();
    assert_eq!(claims.len(), 3);
    assert!(claims.iter().all(|c| c == &claims[0]), "one token for every request until it expires");
    assert_eq!(claims[0]["iss"], ASC_ISSUER);
    assert_eq!(claims[0]["aud"], "appstoreconnect-v1");
    assert!(claims[0]["exp"].as_i64().unwrap() - claims[0]["iat"].as_i64().unwrap() <= 1200);
    assert!(src.http().not_before().is_none(), "X-Rate-Limit has budget left");
}

#[tokio::test]
async fn app_store_rate_limits_and_refusals_are_told_apart() {
    let w = World::new().await;
    let (src, q) = w.source(Platform::AppStore);
    let (_, cursor) = poll(&src, &q, None).await;
    w.fake.fail_next(Failure::RateLimited { retry_after: 30 });
    assert!(matches!(src.fetch(&q, Some(&cursor)).await, Err(SourceError::RateLimited { until: Some(_) })));
    assert!(src.http().not_before().is_some(), "the spent X-Rate-Limit budget holds the next request");
    w.fake.fail_next(Failure::ServerError(503));
    assert!(matches!(src.fetch(&q, Some(&cursor)).await, Err(SourceError::Transient(_))));
    w.fake.fail_next(Failure::Html);
    assert!(matches!(src.fetch(&q, Some(&cursor)).await, Err(SourceError::Malformed(_))));
    w.fake.revoke();
    let err = src.fetch(&q, Some(&cursor)).await.unwrap_err();
    let SourceError::Unauthorized(msg) = err else { panic!("{err:?}") };
    assert!(msg.starts_with("app_store:") && msg.contains(ASC_KEY_ID) && msg.contains("private_key_file") && msg.contains("NOT_AUTHORIZED"), "{msg}");
    assert!(!msg.contains("BEGIN PRIVATE KEY"), "{msg}");
}

#[tokio::test]
async fn google_play_exchanges_a_service_account_assertion_and_reads_only_the_week() {
    let w = World::new().await;
    let old = w.fake.add_at(Kind::Play, PACKAGE, "Vieja", "Hace mucho", 1, chrono::Utc::now() - chrono::Duration::days(9));
    let answered_id = w.fake.add(Kind::Play, PACKAGE, "Jane Bloggs", "Se congela\tal pagar", 1);
    w.fake.reply(&answered_id, "Gracias, ya lo corregimos");
    let (src, q) = w.source(Platform::GooglePlay);
    let (pages, cursor) = poll(&src, &q, None).await;
    assert!(posts(&pages).iter().all(|p| p.platform_id != old), "the API shows only the last week");
    let r = review(&pages, &answered_id);
    assert_eq!(r.text, "Se congela\nal pagar", "title and body are joined with a TAB");
    assert_eq!(r.lang.as_deref(), Some("es"));
    assert!(answered(&pages, &answered_id));
    assert!(r.url.contains(&format!("id={PACKAGE}")) && r.url.contains("reviewId="));

    for i in 0..120 {
        w.fake.add(Kind::Play, PACKAGE, &format!("p{i}"), "bien", 5);
    }
    let (pages, _) = poll(&src, &q, Some(cursor)).await;
    assert_eq!(pages.len(), 2, "maxResults 100, then token");
    assert_eq!(w.fake.list_requests(Kind::Play).last().unwrap().param("token").as_deref(), Some("100"));
    assert_eq!(w.fake.grants("google_jwt"), 1);
    let claims = w.fake.play_claims();
    assert_eq!(claims[0]["iss"], PLAY_EMAIL);
    assert_eq!(claims[0]["scope"], "https://www.googleapis.com/auth/androidpublisher");
    assert_eq!(claims[0]["aud"], w.fake.google_token_url());

    w.fake.revoke();
    w.fake.token_lifetime(3600);
    let (src, q) = w.source(Platform::GooglePlay); // a fresh source: no cached token
    let err = src.fetch(&q, None).await.unwrap_err();
    let SourceError::Unauthorized(msg) = err else { panic!("{err:?}") };
    assert!(
        msg.starts_with("google_play:") && msg.contains(PLAY_EMAIL) && msg.contains("service_account_file") && msg.contains("Invalid JWT Signature"),
        "{msg}"
    );
    assert!(!msg.contains("PRIVATE KEY"));
}

#[tokio::test]
async fn trustpilot_logs_in_with_the_password_grant_and_pages_by_number() {
    let w = World::new().await;
    let first = w.fake.add(Kind::Trustpilot, UNIT, "Carmen R.", "Perdieron mi maleta en Cancún", 1);
    let (src, q) = w.source(Platform::Trustpilot);
    let (pages, cursor) = poll(&src, &q, None).await;
    let r = review(&pages, &first);
    assert_eq!(r.author_id, "c-carmen-r.");
    assert!(r.text.contains("Perdieron mi maleta"));
    for i in 0..130 {
        w.fake.add(Kind::Trustpilot, UNIT, &format!("t{i}"), "muy bien", 5);
    }
    w.fake.reply(&first, "Carmen, te escribimos");
    let (pages, _) = poll(&src, &q, Some(cursor)).await;
    assert_eq!(pages.len(), 2);
    assert!(answered(&pages, &first), "the company reply answers");
    let lists = w.fake.list_requests(Kind::Trustpilot);
    assert_eq!(lists.last().unwrap().param("page").as_deref(), Some("2"));
    assert!(lists.iter().all(|r| r.param("perPage").as_deref() == Some("100") && r.param("orderBy").as_deref() == Some("createdat.desc")));
    assert_eq!(w.fake.grants("trustpilot"), 1, "expires_in is a string: 100 hours, one login");
}

#[tokio::test]
async fn a_round_cut_by_a_restart_resumes_from_its_page_and_an_unreadable_cursor_starts_from_now() {
    let w = World::new().await;
    let (src, q) = w.source(Platform::Trustpilot);
    let (_, cursor) = poll(&src, &q, None).await;
    for i in 0..150 {
        w.fake.add(Kind::Trustpilot, UNIT, &format!("t{i}"), "bien", 5);
    }
    let page = src.fetch(&q, Some(&cursor)).await.unwrap();
    assert!(page.more);
    let saved = Cursor::parse(&page.cursor).unwrap();
    assert_eq!(saved.next.as_deref(), Some("2"));
    // "Restart": a new source continues with the saved cursor.
    let (src2, _) = w.source(Platform::Trustpilot);
    let page2 = src2.fetch(&q, Some(&page.cursor)).await.unwrap();
    assert!(!page2.more);
    assert_eq!(w.fake.list_requests(Kind::Trustpilot).last().unwrap().param("page").as_deref(), Some("2"));
    let fresh = src2.fetch(&q, Some("not json")).await.unwrap();
    assert!(fresh.posts.is_empty(), "nothing older than now is news");
}

#[tokio::test]
async fn tokens_signed_with_a_key_the_platform_does_not_know_are_refused() {
    let w = World::new().await;
    let mut cfg = w.cfg.clone();
    let unknown = escucha::config::Secret::new(std::fs::read_to_string(format!("{KEYS}/app_store_unknown_AuthKey.p8")).unwrap());
    cfg.sources.app_store.as_mut().unwrap().private_key = unknown;
    let sa = service_account_json(&w.fake.google_token_url()).replace(
        &serde_json::to_string(&std::fs::read_to_string(format!("{KEYS}/play_test_private.pem")).unwrap()).unwrap(),
        &serde_json::to_string(&std::fs::read_to_string(format!("{KEYS}/play_unknown_private.pem")).unwrap()).unwrap(),
    );
    cfg.sources.google_play.as_mut().unwrap().service_account = escucha::config::Secret::new(sa);
    for src in sources(&cfg).into_iter().filter(|s| matches!(s.platform(), Platform::AppStore | Platform::GooglePlay)) {
        let q = src.queries().pop().unwrap();
        let err = src.fetch(&q, None).await.unwrap_err();
        assert!(matches!(err, SourceError::Unauthorized(_)), "{}: {err:?}", q.key);
    }
    assert!(w.fake.app_store_claims().is_empty() && w.fake.play_claims().is_empty(), "no signature passed");
    assert_eq!(w.fake.grants("google_jwt"), 0);
}
