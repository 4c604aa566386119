//! Feeds: a 2xx response (a `content-type` header may say HTML) through
//! `feed::parse_posts`, the daemon's path from an RSS or Atom body to the
//! posts of a brand, Google Alerts redirect unwrapping included. The feed
//! URL is secret: an error about the body must never quote it.

#![no_main]

mod common;

use escucha::config::{FeedSource, Schedule, Secret};
use escucha::sources::feed::{parse_posts, redact, Feed};
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

const URL: &str = "https://www.google.com/alerts/feeds/04175412345678901234/1234567890123456789";
/// The start of the private part of [`URL`].
const TOKEN: &str = "04175412345678";

fuzz_target!(|data: &[u8]| {
    let resp = common::response(data);
    for terms in [false, true] {
        let cfg = FeedSource {
            url: Secret::new(URL),
            brand: "acme".to_string(),
            terms,
            schedule: Schedule { every: Duration::from_secs(600), unhealthy_after: Duration::from_secs(3600), expect_within: None },
        };
        match parse_posts(&resp, &Feed::new(&cfg)) {
            Ok(posts) => {
                for p in &posts {
                    assert!(!p.platform_id.trim().is_empty(), "an entry without an id became a post");
                    assert_eq!(p.addressed_to_token_account, !terms);
                }
            }
            Err(e) => {
                // No leakier than the whole body with the URL scrubbed: a
                // message must not show a piece of the token that scrubbing
                // the body would have removed.
                let message = e.to_string();
                let scrubbed = redact(&String::from_utf8_lossy(&resp.body), URL);
                if !scrubbed.contains(TOKEN) {
                    assert!(!message.contains(TOKEN), "an error quotes the feed's secret token: {message}");
                }
            }
        }
    }
});
