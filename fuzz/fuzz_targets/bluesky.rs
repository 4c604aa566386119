//! Bluesky: a 2xx body through `bluesky::parse_list` as each list the
//! source reads, then the watermark step the daemon takes over those items,
//! on a first poll and on a later one.

#![no_main]

use chrono::{TimeZone, Utc};
use escucha::sources::bluesky::{parse_list, List, Watch};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let now = Utc.timestamp_opt(1_786_000_000, 0).unwrap();
    for list in [List::Notifications, List::AuthorFeed, List::Search] {
        let Ok((items, next)) = parse_list(list, data) else { continue };
        let (watch, _posts, _more) = Watch::step(None, items.clone(), next.clone(), now);
        // The watermark is stored as JSON and read back on the next poll.
        let stored = serde_json::to_string(&watch).expect("a watermark serializes");
        let stored: Watch = serde_json::from_str(&stored).expect("a watermark reads back");
        Watch::step(Some(&stored), items, next, now);
    }
});
