//! Hostile mention text, end to end through the real daemon: fake X,
//! Mastodon and feed hosts serve complaints carrying markup, header
//! injection attempts, SQL-looking strings, control and bidi characters,
//! a 100 KB and a 1 MB post, invalid UTF-8 and a Latin-1 feed. The test
//! then reads every place the text reaches: the SQLite file, `escucha
//! mentions` (JSON Lines and the table), the emails as the SMTP server
//! received them, the Slack and JSON webhook bodies, and the ack page.
//!
//! What happens to each input (the assertions below pin it):
//! - `<script>`, `<img onerror>`, `&amp;` in a body: stored exactly as the
//!   author typed them (X serves them HTML-escaped, Mastodon and feeds as
//!   escaped HTML; each source decodes once). The email's text part shows
//!   them as typed; the HTML part, the ack page and Slack's mrkdwn escape
//!   them (`&lt;script&gt;`, `&amp;amp;`); JSON bodies carry them as JSON
//!   strings.
//! - CRLF + `Bcc:`/`Subject:` in a handle: stored as served (X lowercases
//!   handles); it never reaches a header (the subject names class, brand
//!   and platform only) and bodies show the handle on one line. A body line
//!   that is exactly `.`: the message is QP/base64 encoded by lettre, the
//!   server receives the whole message and the text after the dot.
//! - SQL-looking strings: plain text (every statement binds parameters);
//!   the schema and `PRAGMA integrity_check` are unchanged.
//! - NUL, BEL, ESC sequences, DEL, C1, U+202E, zalgo: stored as served
//!   (SQLite keeps the NUL); `mentions --json` escapes controls as JSON
//!   does; the table shows U+FFFD for controls and bidi overrides.
//! - 100 KB and 1 MB posts: stored whole (the only cap is the 8 MB
//!   response limit of a source); an email quotes the first 20 000
//!   characters and says how many more there are; Slack, Teams and
//!   PagerDuty clip to their documented field limits; the JSON webhook
//!   carries the whole text.
//! - Invalid UTF-8 in a UTF-8 feed: each bad sequence is U+FFFD and the
//!   feed's other entries still arrive (feed-rs refused the whole feed
//!   before). A feed declaring ISO-8859-1 is decoded to the right letters.

#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/fake_feed.rs"]
mod fake_feed;
#[path = "support/fake_mastodon.rs"]
mod fake_mastodon;
#[path = "support/fake_x.rs"]
mod fake_x;
#[path = "support/receivers.rs"]
mod receivers;
#[path = "support/smtp.rs"]
mod smtp;
#[path = "support/world.rs"]
mod world;

use daemon::{first_polls, first_x_and_mastodon_polls, mentions, wait_for, Daemon};
use escucha::model::Mention;
use escucha::sources::feed::query_key;
use fake_feed::FakeFeed;
use fake_mastodon::FakeMastodon;
use fake_x::{FakeX, NewTweet};
use receivers::Receiver;
use smtp::{Received, SmtpServer};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use world::ConfigToml;

const LONG: Duration = Duration::from_secs(40);
const ACK_SECRET: &str = "hostile-ack-secret";
const COMPLAINT: &str = "perdieron mi equipaje y nadie responde, pésimo servicio";
const UTF8_FEED: &str = "/blog/comments/feed";
const LATIN1_FEED: &str = "/resenas/feed";

fn rss(items: &[u8], encoding: &str) -> Vec<u8> {
    let mut x = format!(
        r#"<?xml version="1.0" encoding="{encoding}"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Comments</title><link>https://blog.example.com</link><description>d</description>"#
    )
    .into_bytes();
    x.extend_from_slice(items);
    x.extend_from_slice(b"</channel></rss>");
    x
}

/// A WordPress-style item; `body` is bytes already escaped as the blog
/// would (so it may carry invalid UTF-8 or Latin-1).
fn item(guid: &str, title: &[u8], author: &[u8], body: &[u8]) -> Vec<u8> {
    let mut x = format!(
        "<item><link>https://blog.example.com/p/#{guid}</link><pubDate>{}</pubDate><guid isPermaLink=\"false\">{guid}</guid><title>",
        chrono::Utc::now().to_rfc2822()
    )
    .into_bytes();
    x.extend_from_slice(title);
    x.extend_from_slice(b"</title><dc:creator><![CDATA[");
    x.extend_from_slice(author);
    x.extend_from_slice(b"]]></dc:creator><description><![CDATA[");
    x.extend_from_slice(body);
    x.extend_from_slice(b"]]></description></item>");
    x
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The header block of a received message, as lines.
fn header_lines(mail: &Received) -> Vec<String> {
    let head = mail.data.split("\r\n\r\n").next().unwrap();
    head.split("\r\n").map(str::to_string).collect()
}

fn ack_link(text: &str, mention_id: i64) -> Option<String> {
    let at = text.find(&format!("(mention #{mention_id})"))?;
    let rest = &text[at..];
    let open = rest.find("or open ")? + "or open ".len();
    Some(rest[open..].split_whitespace().next()?.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_mention_text_is_stored_verbatim_and_escaped_wherever_it_is_shown() {
    let x = FakeX::start().await;
    x.set_html_escaped_text(true);
    let mastodon = FakeMastodon::start().await;
    mastodon.set_rate_limit_remaining(100_000);
    let brand_mastodon = mastodon.add_account("interjet", 5000);
    let m_token = mastodon.issue_token(&brand_mastodon);
    let feeds = FakeFeed::start().await;
    let old = item("old-1", b"Old comment", b"Ana", b"hace mucho");
    let utf8_url = feeds.set_raw_bytes(UTF8_FEED, "application/rss+xml; charset=UTF-8", &rss(&old, "UTF-8"));
    let latin1_url = feeds.set_raw_bytes(LATIN1_FEED, "application/rss+xml", &rss(b"", "ISO-8859-1"));
    let smtp = SmtpServer::start().await;
    let slack = Receiver::start(200).await;
    let ops = Receiver::start(200).await;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let cfg = ConfigToml::new()
        .daemon("escucha.db")
        .http_with_acks(port, ACK_SECRET)
        .interjet("1s", "1s", &[("x", "Interjet_mx"), ("mastodon", "interjet")])
        .x(&x.base_url(), fake_x::DEFAULT_TOKEN)
        .mastodon(&mastodon.base_url(), &m_token)
        .feed(&utf8_url, "interjet")
        .feed(&latin1_url, "interjet")
        .smtp(smtp.port())
        .webhook("slack", "slack", &slack.url("/services/T0/B0/X"))
        .webhook("ops", "json", &ops.url("/escucha"))
        .oncall(&["guardia@example.com", "webhook:slack", "webhook:ops"])
        .write(dir.path());
    let d = Daemon::start(dir.path(), &cfg, &[]);
    let db = dir.path().join("escucha.db");
    first_polls(LONG, &d, &db, &[&query_key("interjet", &utf8_url), &query_key("interjet", &latin1_url)]).await;
    first_x_and_mastodon_polls(LONG, &d, &db).await;
    let tables_before = tables(&db);

    // What each platform serves, and what the store must hold: (platform id, author, text).
    let mut want: Vec<(String, String, String)> = Vec::new();
    let mut tweet = |author: &str, text: String| {
        let id = x.add_tweet(NewTweet::new(author, &text).lang(Some("es")));
        want.push((id, author.to_lowercase(), text));
    };
    let xss = format!("@Interjet_mx <script>alert(1)</script> <img src=x onerror=alert(2)> Tom &amp; Jerry & <b>co</b> {COMPLAINT}");
    tweet("xss_fan", xss.clone());
    let dotted = format!("@Interjet_mx {COMPLAINT}\r\n.\r\nSubject: pwned\r\n..\r\nafter the dot");
    tweet("Eve\r\nBcc: attacker@example.com", dotted.clone());
    tweet("Robert'); --", format!("@Interjet_mx '); DROP TABLE mentions;-- Robert'); DELETE FROM outbox; -- {COMPLAINT}"));
    let controls = format!("@Interjet_mx NUL\0 BEL\x07 ESC\x1b[2J\x1b[31mRED DEL\x7f C1\u{9b} RTL\u{202e}gpj.exe Z\u{338}\u{322}\u{327}a\u{337}\u{330}l\u{336}\u{321}g\u{335}o {COMPLAINT}");
    tweet("ctrl", controls.clone());
    let big = format!("@Interjet_mx {COMPLAINT} {}", "ñandú fuera de servicio ".repeat(100 * 1024 / 25));
    assert!(big.len() >= 100 * 1024);
    tweet("big", big.clone());
    let huge = format!("@Interjet_mx {COMPLAINT} {}", "x".repeat(1024 * 1024));
    tweet("huge", huge.clone());

    // Mastodon serves status HTML: the fake escapes the typed text.
    let mastodon_author = mastodon.add_account("\r\nSubject: pwned", 3);
    let toot_text = format!("<script>alert(\"m\")</script> &amp; &lt;b&gt; {COMPLAINT}");
    let toot = mastodon.post_status(&mastodon_author).text(&toot_text).mention(&brand_mastodon).language("es").send();
    // The source trims and lowercases an acct and adds the instance's domain.
    want.push((toot, format!("subject: pwned@{}", mastodon.host()), format!("@interjet {toot_text}")));

    // Feeds: invalid UTF-8 bytes, a CRLF author, SQL, raw NUL and ESC.
    let mut items = item("bad-utf8", b"Comentario", b"Luis", b"Mi pedido \xff\xfe lleg\xc3\xb3 roto \xc3 y nadie responde, p\xc3\xa9simo servicio");
    items.extend(item(
        "crlf-author",
        b"Queja",
        b"Eve\r\nBcc: attacker@example.com",
        esc("<script>alert(3)</script> nadie responde, pésimo servicio").as_bytes(),
    ));
    items.extend(item("sql", b"Robert&apos;); DROP TABLE mentions;--", b"x", b"nul \x00 esc \x1b[31m nadie responde, p\xc3\xa9simo servicio"));
    items.extend(old);
    feeds.set_raw_bytes(UTF8_FEED, "application/rss+xml; charset=UTF-8", &rss(&items, "UTF-8"));
    want.push(("bad-utf8".into(), "luis".into(), "Comentario\n\nMi pedido \u{fffd}\u{fffd} llegó roto \u{fffd} y nadie responde, pésimo servicio".into()));
    // feed-rs reads an RSS author as "name email" and keeps the name part.
    want.push(("crlf-author".into(), "eve\r\nbcc:".into(), "Queja\n\n<script>alert(3)</script> nadie responde, pésimo servicio".into()));
    want.push(("sql".into(), "x".into(), "Robert'); DROP TABLE mentions;--\n\nnul \0 esc \x1b[31m nadie responde, pésimo servicio".into()));
    feeds.set_raw_bytes(
        LATIN1_FEED,
        "application/rss+xml",
        &rss(&item("latin1", b"Rese\xf1a", b"Jos\xe9", b"El caf\xe9 lleg\xf3 fr\xedo y nadie responde, p\xe9simo servicio"), "ISO-8859-1"),
    );
    want.push(("latin1".into(), "josé".into(), "Reseña\n\nEl café llegó frío y nadie responde, pésimo servicio".into()));

    // Every one is a complaint and due after 1 s: wait until all are paged.
    let all = wait_for(Duration::from_secs(50), "every hostile mention to be stored and alerted", &d, || {
        let ms = mentions(&db);
        want.iter().all(|(id, _, _)| ms.iter().any(|m| &m.platform_id == id && m.alerted_at.is_some())).then_some(ms)
    })
    .await;

    // --- The store: once each, text and author as served.
    let by_id: BTreeMap<&str, &Mention> = all.iter().map(|m| (m.platform_id.as_str(), m)).collect();
    for (id, author, text) in &want {
        assert_eq!(all.iter().filter(|m| &m.platform_id == id).count(), 1, "{id} stored once");
        let m = by_id[id.as_str()];
        assert_eq!(&m.author, author, "author of {id}");
        assert!(m.text == *text, "text of {id} ({} bytes stored, {} served): {:?}", m.text.len(), text.len(), m.text.chars().take(200).collect::<String>());
    }
    assert_eq!(all.len(), want.len() + 1, "the hostile mentions and the old feed entry, nothing else");
    assert_eq!(tables(&db), tables_before, "no table dropped or added");
    assert_eq!(integrity(&db), "ok");

    // --- `escucha mentions --json`: one valid JSON object per line, same text.
    let cfg_s = cfg.to_str().unwrap();
    let (code, out, err) = daemon::escucha(&["mentions", "--config", cfg_s, "--json"], None);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), all.len(), "one line per mention");
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {}", &line[..line.len().min(300)]));
        let m = by_id[v["platform_id"].as_str().unwrap()];
        assert_eq!(v["text"].as_str().unwrap(), m.text);
        assert_eq!(v["author"].as_str().unwrap(), m.author);
        assert!(!line.contains('\x1b') && !line.contains('\0') && !line.contains('\r'), "controls are JSON escapes");
    }

    // --- The table: a header and one row per mention, nothing a terminal obeys.
    let (code, out, err) = daemon::escucha(&["mentions", "--config", cfg_s], None);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<&str> = out.split('\n').filter(|l| !l.is_empty()).collect();
    assert_eq!(rows.len(), all.len() + 1, "{out}");
    for row in &rows {
        assert!(!row.chars().any(|c| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)), "{row:?}");
    }
    assert!(rows.iter().any(|r| r.contains("NUL\u{fffd} BEL\u{fffd} ESC\u{fffd}[2J")), "{out}");

    // --- Email: headers intact, HTML escaped, text as typed, the dot survives.
    let mails = smtp.messages();
    assert!(!mails.is_empty());
    for mail in &mails {
        let head = header_lines(mail);
        for name in ["Subject", "To", "From"] {
            let n = head.iter().filter(|l| l.to_ascii_lowercase().starts_with(&format!("{}:", name.to_ascii_lowercase()))).count();
            assert_eq!(n, 1, "one {name} header in {head:#?}");
        }
        assert!(!head.iter().any(|l| l.to_ascii_lowercase().starts_with("bcc:")), "{head:#?}");
        assert_eq!(mail.to, vec!["guardia@example.com".to_string()], "the envelope has only the on-call recipient");
        let subject = mail.subject().unwrap();
        assert!(!subject.contains(['\r', '\n']) && !subject.contains("pwned"), "{subject:?}");
        for line in mail.data.split("\r\n") {
            assert!(line.len() <= 998, "SMTP line of {} bytes", line.len());
            assert!(!line.contains('\n') && !line.contains('\r'), "bare CR or LF on the wire");
        }
        let html = mail.html_body().unwrap();
        let lower = html.to_lowercase();
        assert!(!lower.contains("<script") && !lower.contains("<img"), "raw markup in the HTML part");
        assert!(html.trim_end().ends_with("</html>"), "the HTML part arrived whole");
    }
    let mail_for = |id: &str| -> &Received {
        let mid = by_id[id].id;
        mails.iter().find(|m| m.text_body().unwrap().contains(&format!("(mention #{mid})"))).unwrap_or_else(|| panic!("an email about {id}"))
    };
    let xss_id = &want[0].0;
    let mail = mail_for(xss_id);
    assert!(mail.text_body().unwrap().contains(&xss), "the text part shows the text as typed");
    assert!(mail
        .html_body()
        .unwrap()
        .contains("&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(2)&gt; Tom &amp;amp; Jerry &amp; &lt;b&gt;co&lt;/b&gt;"));
    let dot = mail_for(&want[1].0).text_body().unwrap();
    assert!(dot.replace("\r\n", "\n").contains(&dotted.replace("\r\n", "\n")), "text after the lone dot arrived: {dot}");
    assert!(dot.contains("Author:  @eve  bcc: attacker@example.com"), "the handle on one line: {dot}");
    let big_mail = mail_for(&want[4].0).text_body().unwrap().replace("\r\n", "\n");
    let shown: String = big.chars().take(escucha::alert::render::MAX_QUOTED_CHARS).collect();
    assert!(
        big_mail.contains(&format!("{shown}\n[… {} more characters not shown", big.chars().count() - shown.chars().count())),
        "the 100 KB quote is cut with a marker"
    );
    assert!(mail_for(&want[5].0).text_body().unwrap().len() < 100_000, "the 1 MB mention is not mailed whole");

    // --- Slack: valid JSON, mrkdwn control characters escaped, links intact.
    for r in slack.received() {
        let v = r.json();
        let body = String::from_utf8(r.body.clone()).unwrap();
        assert!(!body.contains("<script") && !body.contains("<img") && !body.contains("<!"), "{}", &body[..body.len().min(500)]);
        assert!(v["blocks"].as_array().unwrap().len() <= 50);
    }
    let slack_all: String = slack.received().iter().map(|r| String::from_utf8_lossy(&r.body).into_owned()).collect();
    assert!(slack_all.contains("&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(2)&gt; Tom &amp;amp; Jerry &amp; &lt;b&gt;co&lt;/b&gt;"));
    assert!(slack_all.contains("https://x.com/Eve%0D%0ABcc:%20attacker@example.com/status/"), "the CRLF handle's link is percent-encoded");

    // --- JSON webhook: the exact stored text, the 1 MB included.
    let mut seen = BTreeMap::new();
    for r in ops.received() {
        for m in r.json()["mentions"].as_array().unwrap() {
            seen.insert(m["platform_id"].as_str().unwrap().to_string(), m["text"].as_str().unwrap().to_string());
        }
    }
    for (id, _, text) in &want {
        assert!(seen.get(id) == Some(text), "json webhook text of {id}");
    }

    // --- The ack page escapes the text and the handle.
    let http = reqwest::Client::new();
    for id in [xss_id.as_str(), "crlf-author"] {
        let link = ack_link(&mail_for(id).text_body().unwrap(), by_id[id].id).expect("an ack link");
        let page = http.get(&link).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(!html.to_lowercase().contains("<script") && !html.contains("<img"), "{html}");
        assert!(html.contains("&lt;script&gt;alert("), "{html}");
    }
    assert_eq!(tables(&db), tables_before);
}

fn tables(db: &Path) -> Vec<String> {
    let c = rusqlite::Connection::open(db).unwrap();
    let mut s = c.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").unwrap();
    s.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

fn integrity(db: &Path) -> String {
    rusqlite::Connection::open(db).unwrap().query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap()
}
