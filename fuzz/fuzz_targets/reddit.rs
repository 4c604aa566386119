//! Reddit: a 2xx response (a `content-type` header may say HTML) through
//! `reddit::parse_page`, the daemon's path from listing to posts and cursor,
//! on a first poll and on a later one; and through the comment-tree
//! readers `parse_thread` and `parse_more_children`.

#![no_main]

mod common;

use chrono::{TimeZone, Utc};
use escucha::sources::reddit::{parse_more_children, parse_page, parse_thread, Cursor};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let resp = common::response(data);
    // Errors are fine; a panic or a hang is not.
    let _ = parse_thread(&resp, "https://oauth.reddit.com");
    let _ = parse_more_children(&resp, "https://oauth.reddit.com");
    let now = Utc.timestamp_opt(1_786_000_000, 0).unwrap();
    let Ok(first) = parse_page(&resp, "https://oauth.reddit.com", "reddit search", None, now) else { return };
    let cursor = Cursor::parse(&first.cursor).expect("Reddit reads back the cursor it wrote");
    let later = parse_page(&resp, "https://oauth.reddit.com", "reddit search", Some(&cursor), now).expect("the same body parses twice");
    Cursor::parse(&later.cursor).expect("Reddit reads back the cursor it wrote");
});
