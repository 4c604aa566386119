//! Hacker News: a 2xx response (a `content-type` header may say HTML)
//! through `hackernews::parse_search`, then the sub-search cursor steps the
//! daemon takes: a first poll, and later polls over the same page.

#![no_main]

mod common;

use escucha::sources::hackernews::{parse_search, SubCursor};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let resp = common::response(data);
    let Ok(body) = parse_search(&resp, "https://hn.algolia.com") else { return };
    let (mut cursor, _posts) = SubCursor::first(&body, 1_786_000_000);
    // Paging goes on while the body says there are more pages; bounded, as
    // the same body is read again each time.
    for _ in 0..3 {
        let (_posts, done) = cursor.advance(&body);
        let stored = serde_json::to_string(&cursor).expect("a cursor serializes");
        cursor = serde_json::from_str(&stored).expect("a cursor reads back");
        if done {
            break;
        }
    }
});
