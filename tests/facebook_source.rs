//! The Facebook page source against a fake Graph API over real HTTP: what
//! it asks for, how a poll walks posts and comments, paging, the page's
//! replies, hidden and deleted comments, throttling, the usage headers and
//! an expired token. The source is built from a config, as the daemon does.

#[path = "support/fake_graph.rs"]
mod fake_graph;

use escucha::config::{load_str, Env};
use escucha::model::{Platform, Post};
use escucha::sources::{Page, Query, QueryKind, Source, SourceError};
use fake_graph::{now, Failure, FakeGraph, TOKEN};
use std::collections::HashSet;
use std::path::Path;

const PAGE: &str = "104567890123456";
const COMMENTS: &str = "facebook:comments:interjet";
const TAGGED: &str = "facebook:tagged:interjet";

fn source(fake: &FakeGraph, extra: &str) -> Source {
    let toml = format!(
        "[daemon]\ndatabase = \"escucha.db\"\n\n[[brand]]\nid = \"interjet\"\nname = \"Interjet\"\n\n[brand.accounts]\nfacebook = \"{PAGE}\"\n\n\
         [source.facebook]\napi_base = \"{}\"\napi_version = \"v21.0\"\npage_token_env = \"FB_PAGE_TOKEN\"\n{extra}\n",
        fake.base_url()
    );
    let cfg = load_str(&toml, Path::new("/tmp/escucha.toml"), &Env::empty().with("FB_PAGE_TOKEN", TOKEN)).unwrap_or_else(|e| panic!("{e}"));
    escucha::daemon::sources(&cfg).into_iter().find(|s| s.platform() == Platform::Facebook).expect("a facebook source")
}

fn query(s: &Source, key: &str) -> Query {
    s.queries().into_iter().find(|q| q.key == key).unwrap_or_else(|| panic!("no query {key}"))
}

async fn fetch(s: &Source, key: &str, cursor: Option<&str>) -> Page {
    s.fetch(&query(s, key), cursor).await.unwrap_or_else(|e| panic!("fetch {key}: {e}"))
}

/// A whole poll from `cursor`: every post, the final cursor and the pages.
async fn poll(s: &Source, key: &str, cursor: &str) -> (Vec<Post>, String, usize) {
    let (mut cursor, mut posts, mut pages) = (cursor.to_string(), Vec::new(), 0);
    loop {
        let page = fetch(s, key, Some(&cursor)).await;
        pages += 1;
        posts.extend(page.posts);
        cursor = page.cursor;
        if !page.more {
            return (posts, cursor, pages);
        }
        assert!(pages < 100, "paging never ends");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_are_the_pages_comments_and_the_posts_tagging_it_exclusive_to_the_brand() {
    let fake = FakeGraph::start().await;
    let s = source(&fake, "");
    let qs = s.queries();
    assert_eq!(qs.iter().map(|q| q.key.as_str()).collect::<Vec<_>>(), [COMMENTS, TAGGED]);
    assert!(qs.iter().all(|q| q.exclusive && q.brands == ["interjet"]));
    assert_eq!(qs[0].kind, QueryKind::OwnedComments { account: PAGE.into() });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_poll_reads_the_newest_posts_and_their_comments_in_one_page() {
    let fake = FakeGraph::start().await;
    fake.page(PAGE, "Interjet");
    let post = fake.post(PAGE, "Nuevas rutas a Cancún", 3600);
    let ana = fake.comment(&post, None, ("7014510126096205", "Ana Pérez"), "Llevo dos días sin respuesta por mi reembolso");
    let reply = fake.comment(&post, Some(&ana), (PAGE, "Interjet"), "Hola Ana, te escribimos por mensaje privado.");
    let s = source(&fake, "");
    let page = fetch(&s, COMMENTS, None).await;
    assert!(!page.more, "the first poll is one page");
    assert_eq!(page.posts.len(), 2);
    let c = page.posts.iter().find(|p| p.platform_id == ana).unwrap();
    assert_eq!(c.platform, Platform::Facebook);
    assert_eq!(c.author, "Ana Pérez");
    assert_eq!(c.author_id, "7014510126096205");
    assert!(c.url.starts_with(&format!("https://www.facebook.com/{PAGE}/posts/")) && c.url.contains("?comment_id="), "{}", c.url);
    assert!(c.addressed_to_token_account);
    let r = page.posts.iter().find(|p| p.platform_id == reply).unwrap();
    assert_eq!(r.author_id, PAGE, "the page's reply comes through: it answers");
    assert_eq!(r.in_reply_to_id.as_deref(), Some(ana.as_str()));

    let reqs = fake.requests();
    assert!(reqs.iter().all(|r| r.version == "v21.0" && r.param("access_token").as_deref() == Some(TOKEN)));
    assert_eq!(reqs[0].path, format!("{PAGE}/posts"));
    let comments = reqs.iter().find(|r| r.path == format!("{post}/comments")).expect("the post's comments were read");
    assert_eq!(comments.param("filter").as_deref(), Some("stream"), "replies too");
    assert!(comments.param("fields").unwrap().contains("parent"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn later_polls_return_each_new_comment_once_across_many_pages() {
    let fake = FakeGraph::start().await;
    let post = fake.post(PAGE, "Promo", 2000);
    // Older than the ten minutes of overlap between polls.
    let old = fake.comment_at(&post, None, ("1", "Old"), "old comment", now() - 1000);
    let s = source(&fake, "");
    let first = fetch(&s, COMMENTS, None).await;
    assert_eq!(first.posts.len(), 1);
    let mut ids = Vec::new();
    for i in 0..230 {
        ids.push(fake.comment(&post, None, (&format!("9{i}"), "Fan"), &format!("comentario {i}")));
    }
    let (posts, cursor, _) = poll(&s, COMMENTS, &first.cursor).await;
    let got: Vec<&str> = posts.iter().map(|p| p.platform_id.as_str()).collect();
    let unique: HashSet<&str> = got.iter().copied().collect();
    assert_eq!(unique.len(), got.len(), "no comment twice in a poll");
    for id in &ids {
        assert!(unique.contains(id.as_str()), "{id} read");
    }
    assert!(!unique.contains(old.as_str()), "the first poll's comment is not news again");
    let comment_requests = fake.requests().iter().filter(|r| r.path.ends_with("/comments") && r.param("after").is_some()).count();
    assert!(comment_requests >= 2, "230 comments take three pages of 100");

    // Nothing new: the next poll returns nothing.
    let (again, _, _) = poll(&s, COMMENTS, &cursor).await;
    assert!(again.iter().all(|p| p.created_at.timestamp() >= now() - 700), "only the ten minutes of overlap come again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_carry_who_they_answer_and_a_reply_by_someone_else_is_not_the_pages() {
    let fake = FakeGraph::start().await;
    let post = fake.post(PAGE, "Promo", 600);
    let s = source(&fake, "");
    let cursor = fetch(&s, COMMENTS, None).await.cursor;
    let complaint = fake.comment(&post, None, ("555", "Luis"), "Perdieron mi maleta y nadie responde");
    let other = fake.comment(&post, Some(&complaint), ("777", "Marta"), "A mí también");
    let page_reply = fake.comment(&post, Some(&other), (PAGE, "Interjet"), "Lo sentimos, escríbenos");
    let (posts, _, _) = poll(&s, COMMENTS, &cursor).await;
    let by = |id: &str| posts.iter().find(|p| p.platform_id == id).unwrap_or_else(|| panic!("{id} in {posts:#?}"));
    assert_eq!(by(&other).author_id, "777");
    assert_eq!(by(&other).in_reply_to_id.as_deref(), Some(complaint.as_str()));
    // Replies to replies attach to the top-level comment.
    assert_eq!(by(&page_reply).in_reply_to_id.as_deref(), Some(complaint.as_str()));
    assert_eq!(by(&page_reply).in_reply_to_author_id.as_deref(), Some("555"));
    assert_eq!(by(&page_reply).author_id, PAGE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hidden_comments_are_skipped_and_a_deleted_comment_does_not_wedge_the_poll() {
    let fake = FakeGraph::start().await;
    let post = fake.post(PAGE, "Promo", 600);
    let s = source(&fake, "");
    let cursor = fetch(&s, COMMENTS, None).await.cursor;
    let spam = fake.comment(&post, None, ("666", "Spam"), "compra seguidores aquí");
    fake.hide(&spam);
    let mut ids = Vec::new();
    for i in 0..150 {
        ids.push(fake.comment(&post, None, (&format!("8{i}"), "Fan"), &format!("hola {i}")));
    }
    // Read the posts listing, then the first page of comments.
    let mut cursor = cursor;
    let mut seen = Vec::new();
    loop {
        let page = fetch(&s, COMMENTS, Some(&cursor)).await;
        let had_comments = !page.posts.is_empty();
        seen.extend(page.posts.into_iter().map(|p| p.platform_id));
        cursor = page.cursor;
        if had_comments {
            break;
        }
    }
    assert_eq!(seen.len(), 100);
    // The comment the next page's cursor points at is deleted.
    let last = seen.last().unwrap().clone();
    fake.delete(&last);
    let page = fetch(&s, COMMENTS, Some(&cursor)).await;
    assert!(page.posts.is_empty());
    assert!(!page.more, "the post is left for the next poll; the poll ends");
    // The next poll reads what the broken cursor hid.
    let (rest, _, _) = poll(&s, COMMENTS, &page.cursor).await;
    seen.extend(rest.into_iter().map(|p| p.platform_id));
    for id in ids.iter().filter(|i| **i != last) {
        assert!(seen.contains(id), "{id} read");
    }
    assert!(!seen.contains(&spam), "a hidden comment is not a mention");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttle_error_pauses_the_source_until_access_is_regained_without_more_requests() {
    let fake = FakeGraph::start().await;
    fake.post(PAGE, "Promo", 600);
    let s = source(&fake, "");
    let cursor = fetch(&s, COMMENTS, None).await.cursor;
    for code in [32, 4, 17, 613, 80001] {
        let fake = FakeGraph::start().await;
        fake.post(PAGE, "Promo", 600);
        let s = source(&fake, "");
        fake.fail_next(Failure::Throttled { code, regain_minutes: 2 });
        let before = now();
        match s.fetch(&query(&s, COMMENTS), Some(&cursor)).await {
            Err(SourceError::RateLimited { until: Some(until) }) => {
                let wait = until.timestamp() - before;
                assert!((110..=130).contains(&wait), "code {code}: 2 minutes, got {wait}s");
            }
            other => panic!("code {code}: expected RateLimited, got {other:?}"),
        }
        let sent = fake.requests().len();
        assert!(matches!(s.fetch(&query(&s, TAGGED), None).await, Err(SourceError::RateLimited { .. })));
        assert_eq!(fake.requests().len(), sent, "code {code}: nothing is sent while paused");
        assert!(s.not_before().is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_headers_at_the_limit_stop_requests_before_the_platform_throttles() {
    let fake = FakeGraph::start().await;
    fake.post(PAGE, "Promo", 600);
    let s = source(&fake, "");
    let first = fetch(&s, COMMENTS, None).await;
    // The answer to the next request says the hour's budget is used up.
    fake.set_usage(100);
    let page = fetch(&s, COMMENTS, Some(&first.cursor)).await;
    assert!(page.more, "the posts were listed; their comments wait");
    let sent = fake.requests().len();
    match s.fetch(&query(&s, COMMENTS), Some(&page.cursor)).await {
        Err(SourceError::RateLimited { until: Some(u) }) => assert!(u.timestamp() > now()),
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert_eq!(fake.requests().len(), sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_refused_with_the_key_to_fix_not_retried() {
    let fake = FakeGraph::start().await;
    fake.post(PAGE, "Promo", 600);
    fake.expire_token();
    let s = source(&fake, "");
    match s.fetch(&query(&s, COMMENTS), None).await {
        Err(SourceError::Unauthorized(msg)) => {
            assert!(msg.contains("[source.facebook] page_token_env (FB_PAGE_TOKEN)"), "names the key and its variable: {msg}");
            assert!(msg.contains("190") && msg.contains("Session has expired"), "{msg}");
            assert!(!msg.contains(TOKEN), "never the token itself: {msg}");
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_tagging_the_page_are_mentions_and_later_polls_read_only_new_ones() {
    let fake = FakeGraph::start().await;
    let old = fake.tag(PAGE, ("100089123456789", "Carla"), "Best flight with Interjet", 3600);
    let s = source(&fake, "");
    let first = fetch(&s, TAGGED, None).await;
    assert_eq!(first.posts.len(), 1);
    let p = &first.posts[0];
    assert_eq!(p.platform_id, old);
    assert_eq!(p.author_id, "100089123456789", "the poster's id, from the post id");
    assert!(p.url.starts_with("https://www.facebook.com/100089123456789/posts/"));
    let new = fake.tag(PAGE, ("61550123456789", "Pablo"), "Interjet me dejó en tierra", 0);
    let (posts, _, _) = poll(&s, TAGGED, &first.cursor).await;
    let ids: Vec<&str> = posts.iter().map(|p| p.platform_id.as_str()).collect();
    assert_eq!(ids, [new.as_str()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_checks_the_token_and_names_a_missing_permission() {
    let fake = FakeGraph::start().await;
    fake.page(PAGE, "Interjet");
    let s = source(&fake, "");
    let ok = s.probe().await.expect("facebook has a token probe");
    assert!(ok[0].1.as_ref().is_ok_and(|m| m.contains("Interjet")), "{ok:?}");
    fake.revoke_permission("pages_read_engagement");
    let bad = s.probe().await.unwrap();
    match &bad[0].1 {
        Err(SourceError::Unauthorized(m)) => assert!(m.contains("pages_read_engagement") && m.contains("page_token_env"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_comments_on_the_newest_posts_are_read_however_old_the_posts_are() {
    let fake = FakeGraph::start().await;
    let month = 30 * 86_400;
    let old_post = fake.post(PAGE, "Hace un mes", month);
    let s = source(&fake, "");
    let cursor = fetch(&s, COMMENTS, None).await.cursor;
    let late = fake.comment(&old_post, None, ("555", "Luis"), "Sigo esperando mi reembolso");
    let (posts, _, _) = poll(&s, COMMENTS, &cursor).await;
    assert!(posts.iter().any(|p| p.platform_id == late), "{posts:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_deleted_during_a_poll_is_skipped_not_retried_forever() {
    let fake = FakeGraph::start().await;
    let kept = fake.post(PAGE, "Se queda", 600);
    let gone = fake.post(PAGE, "Se borra", 500);
    let s = source(&fake, "");
    let cursor = fetch(&s, COMMENTS, None).await.cursor;
    let c1 = fake.comment(&kept, None, ("1", "Ana"), "sigo esperando");
    fake.comment(&gone, None, ("2", "Luis"), "hola");
    let listed = fetch(&s, COMMENTS, Some(&cursor)).await;
    assert!(listed.more && listed.posts.is_empty(), "the posts listing comes first");
    fake.delete_post(&gone);
    let (posts, _, _) = poll(&s, COMMENTS, &listed.cursor).await;
    assert_eq!(posts.iter().map(|p| p.platform_id.as_str()).collect::<Vec<_>>(), [c1.as_str()]);
}
