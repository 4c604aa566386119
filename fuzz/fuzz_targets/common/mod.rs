//! What the targets share: turning fuzz input into the `Response` a source
//! reads.
//!
//! Input format: leading lines that start with `#` are response headers
//! (`#content-type: text/html`), the rest is the body. A plain JSON or XML
//! file is therefore a body with no headers, so recorded responses work as
//! seeds unchanged.

use escucha::sources::http::{RateLimit, Response};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::StatusCode;

pub fn response(data: &[u8]) -> Response {
    let mut headers = HeaderMap::new();
    let mut rest = data;
    while let Some(line) = rest.strip_prefix(b"#") {
        let end = line.iter().position(|b| *b == b'\n').unwrap_or(line.len());
        let (header, tail) = line.split_at(end);
        rest = tail.strip_prefix(b"\n").unwrap_or(tail);
        let Some(colon) = header.iter().position(|b| *b == b':') else { continue };
        // Bytes no server could send as a header are dropped, as the HTTP
        // client would have refused them.
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(header[..colon].trim_ascii()), HeaderValue::from_bytes(header[colon + 1..].trim_ascii()))
        {
            headers.append(name, value);
        }
    }
    let rate = RateLimit::from_headers(&headers, chrono::Utc::now());
    Response { status: StatusCode::OK, headers, body: rest.to_vec(), rate }
}
