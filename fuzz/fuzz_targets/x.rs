//! X recent search: a 2xx body through `x::parse_page`, the daemon's path
//! from body to posts and cursor, on a first poll and on a later one.

#![no_main]

use escucha::sources::x::{parse_page, Cursor};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(first) = parse_page(data, None) else { return };
    // The cursor is stored and read back on the next poll: one the source
    // cannot read would restart the query.
    let cursor = Cursor::parse(&first.cursor).expect("X reads back the cursor it wrote");
    let later = parse_page(data, Some(&cursor)).expect("the same body parses twice");
    Cursor::parse(&later.cursor).expect("X reads back the cursor it wrote");
});
