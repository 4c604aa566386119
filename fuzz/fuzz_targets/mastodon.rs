//! Mastodon: a 2xx response (headers included: the `Link` header moves the
//! cursor) through `mastodon::parse_page` as each of the lists the source
//! reads, on a first poll and on a later one.

#![no_main]

mod common;

use escucha::sources::mastodon::{parse_page, Body};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let resp = common::response(data);
    for kind in [Body::Notifications, Body::TagTimeline, Body::Search, Body::AccountStatuses] {
        for min_id in [None, Some("109000000000000000")] {
            if let Ok(page) = parse_page(kind, &resp, "mastodon.example", min_id) {
                assert!(!page.more || min_id.is_some(), "a first poll reads one page only");
            }
        }
    }
});
