//! The Instagram source against the fake Graph API over real HTTP: media,
//! their comments with replies by field expansion, paging, change marks on
//! older media, hidden comments, tags without `next` links, throttling and
//! an expired token. Built from a config, as the daemon does.

#[path = "support/fake_graph.rs"]
mod fake_graph;

use escucha::config::{load_str, Env};
use escucha::model::{Platform, Post};
use escucha::sources::{Page, Query, Source, SourceError};
use fake_graph::{Failure, FakeGraph, TOKEN};
use std::collections::HashSet;
use std::path::Path;

const IG: &str = "17841400000000000";
const COMMENTS: &str = "instagram:comments:interjet";
const TAGS: &str = "instagram:tags:interjet";
const DAY: i64 = 86_400;

fn source(fake: &FakeGraph) -> Source {
    let toml = format!(
        "[daemon]\ndatabase = \"escucha.db\"\n\n[[brand]]\nid = \"interjet\"\n\n[brand.accounts]\ninstagram = \"{IG}\"\n\n\
         [source.instagram]\napi_base = \"{}\"\napi_version = \"v21.0\"\naccess_token_env = \"IG_ACCESS_TOKEN\"\n",
        fake.base_url()
    );
    let cfg = load_str(&toml, Path::new("/tmp/escucha.toml"), &Env::empty().with("IG_ACCESS_TOKEN", TOKEN)).unwrap_or_else(|e| panic!("{e}"));
    escucha::daemon::sources(&cfg).into_iter().find(|s| s.platform() == Platform::Instagram).expect("an instagram source")
}

fn query(s: &Source, key: &str) -> Query {
    s.queries().into_iter().find(|q| q.key == key).unwrap()
}

async fn fetch(s: &Source, key: &str, cursor: Option<&str>) -> Page {
    s.fetch(&query(s, key), cursor).await.unwrap_or_else(|e| panic!("fetch {key}: {e}"))
}

async fn poll(s: &Source, key: &str, cursor: &str) -> (Vec<Post>, String) {
    let (mut cursor, mut posts) = (cursor.to_string(), Vec::new());
    for _ in 0..100 {
        let page = fetch(s, key, Some(&cursor)).await;
        posts.extend(page.posts);
        cursor = page.cursor;
        if !page.more {
            return (posts, cursor);
        }
    }
    panic!("paging never ends");
}

async fn world() -> (FakeGraph, Source) {
    let fake = FakeGraph::start().await;
    fake.ig_user(IG, "interjet");
    let s = source(&fake);
    (fake, s)
}

#[tokio::test]
async fn comments_and_the_accounts_replies_are_read_with_who_they_answer() {
    let (fake, s) = world().await;
    let media = fake.media(IG, "Nuevas rutas", 3600);
    let old = fake.comment_at(&media, None, ("901", "ana"), "Sin respuesta por mi reembolso", fake_graph::now() - 2000);
    let first = fetch(&s, COMMENTS, None).await;
    assert_eq!(first.posts.len(), 1);
    let p = &first.posts[0];
    assert_eq!((p.platform, p.platform_id.as_str(), p.author.as_str(), p.author_id.as_str()), (Platform::Instagram, old.as_str(), "ana", "901"));
    assert!(p.url.starts_with("https://www.instagram.com/p/") && p.url.ends_with(&format!("/c/{old}/")), "{}", p.url);
    let req = fake.requests().into_iter().find(|r| r.path.ends_with("/comments")).unwrap();
    assert!(req.param("fields").unwrap().contains("replies{"), "replies by field expansion");

    // Later: the account answers the old comment; someone else answers too.
    let answer = fake.comment(&media, Some(&old), (IG, "interjet"), "Hola Ana, te escribimos por DM");
    let other = fake.comment(&media, Some(&old), ("902", "luis"), "A mí igual");
    let (posts, _) = poll(&s, COMMENTS, &first.cursor).await;
    let ids: HashSet<&str> = posts.iter().map(|p| p.platform_id.as_str()).collect();
    assert!(!ids.contains(old.as_str()), "the old comment is not news again");
    let a = posts.iter().find(|p| p.platform_id == answer).expect("the account's reply");
    assert_eq!(a.author_id, IG);
    assert_eq!(a.in_reply_to_id.as_deref(), Some(old.as_str()));
    assert_eq!(a.in_reply_to_author_id.as_deref(), Some("901"));
    let o = posts.iter().find(|p| p.platform_id == other).unwrap();
    assert_eq!(o.author_id, "902", "someone else's reply is not the account's");
}

#[tokio::test]
async fn many_comments_are_paged_fifty_at_a_time_and_each_read_once() {
    let (fake, s) = world().await;
    let media = fake.media(IG, "Promo", 3600);
    let first = fetch(&s, COMMENTS, None).await;
    let ids: Vec<String> = (0..120).map(|i| fake.comment(&media, None, (&format!("7{i}"), "fan"), &format!("hola {i}"))).collect();
    let (posts, _) = poll(&s, COMMENTS, &first.cursor).await;
    let got: Vec<&str> = posts.iter().map(|p| p.platform_id.as_str()).collect();
    assert_eq!(got.len(), 120);
    assert_eq!(got.iter().collect::<HashSet<_>>().len(), 120);
    assert!(ids.iter().all(|i| got.contains(&i.as_str())));
    let pages = fake.requests().iter().filter(|r| r.path == format!("{media}/comments")).count();
    assert_eq!(pages, 3, "50 + 50 + 20 (the first poll saw comments_count 0 and read none)");
}

#[tokio::test]
async fn older_media_are_read_again_only_when_their_comment_count_changes() {
    let (fake, s) = world().await;
    let old_media = fake.media(IG, "Hace un mes", 30 * DAY);
    fake.comment_at(&old_media, None, ("1", "a"), "bonito", fake_graph::now() - 29 * DAY);
    // Five newer media (without comments): the old one is not among the
    // newest few that every poll reads.
    for i in 0..5 {
        fake.media(IG, &format!("nueva {i}"), 20 * DAY - i);
    }
    let first = fetch(&s, COMMENTS, None).await;
    fake.clear_requests();
    let (posts, cursor) = poll(&s, COMMENTS, &first.cursor).await;
    assert!(posts.is_empty());
    assert!(!fake.requests().iter().any(|r| r.path.ends_with("/comments")), "unchanged: not read");
    let hidden = fake.comment(&old_media, None, ("2", "spam"), "sigue a @spam");
    fake.hide(&hidden);
    let late = fake.comment(&old_media, None, ("3", "pepe"), "Me cobraron dos veces y nadie responde");
    let (posts, _) = poll(&s, COMMENTS, &cursor).await;
    let ids: Vec<&str> = posts.iter().map(|p| p.platform_id.as_str()).collect();
    assert_eq!(ids, [late.as_str()], "the new comment, not the hidden one");
}

#[tokio::test]
async fn media_tagging_the_account_are_mentions_paged_without_next_links() {
    let (fake, s) = world().await;
    fake.tag(IG, ("55", "carla"), "Volando con @interjet", 3600);
    let first = fetch(&s, TAGS, None).await;
    assert_eq!(first.posts.len(), 1);
    assert_eq!(first.posts[0].author, "carla");
    let new: Vec<String> = (0..30).map(|i| fake.tag(IG, (&format!("6{i}"), "pablo"), &format!("foto {i}"), 0)).collect();
    let (posts, _) = poll(&s, TAGS, &first.cursor).await;
    let ids: HashSet<&str> = posts.iter().map(|p| p.platform_id.as_str()).collect();
    assert_eq!(ids.len(), 30);
    assert!(new.iter().all(|i| ids.contains(i.as_str())));
}

#[tokio::test]
async fn instagram_throttling_and_an_expired_token_map_to_the_right_errors() {
    let (fake, s) = world().await;
    fake.media(IG, "Promo", 60);
    fake.fail_next(Failure::Throttled { code: 80002, regain_minutes: 5 });
    assert!(matches!(s.fetch(&query(&s, COMMENTS), None).await, Err(SourceError::RateLimited { until: Some(_) })));
    let sent = fake.requests().len();
    assert!(matches!(s.fetch(&query(&s, COMMENTS), None).await, Err(SourceError::RateLimited { .. })));
    assert_eq!(fake.requests().len(), sent, "paused: nothing sent");

    let (fake, s) = world().await;
    fake.expire_token();
    match s.fetch(&query(&s, COMMENTS), None).await {
        Err(SourceError::Unauthorized(m)) => assert!(m.contains("[source.instagram] access_token_env") && m.contains("190"), "{m}"),
        other => panic!("{other:?}"),
    }
}
