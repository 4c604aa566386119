//! A TCP front for fake platform servers: it relays one request per
//! connection to the axum server and can cut a response body in half, which
//! hyper itself refuses to do. Shared by the fakes that test truncated bodies.
#![allow(dead_code)]

/// A response carrying this header is cut halfway through its body.
pub const TRUNCATE_MARK: &str = "x-fake-truncate";

/// The TCP front: one request per connection, relayed to the axum server
/// with `connection: close`, its answer relayed back whole, or cut halfway
/// through the body when the handler marked it. (Hyper will not send a body
/// shorter than its content-length itself.)
pub async fn relay(mut client: tokio::net::TcpStream, upstream: std::net::SocketAddr) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = Vec::new();
    let head_end = loop {
        match client.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 64 * 1024 {
            return;
        }
    };
    // A GET has no body: the head is the whole request.
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut request: String = head.split("\r\n").filter(|l| !l.to_ascii_lowercase().starts_with("connection:")).map(|l| format!("{l}\r\n")).collect();
    request.push_str("connection: close\r\n\r\n");
    let Ok(mut up) = tokio::net::TcpStream::connect(upstream).await else { return };
    let mut response = Vec::new();
    if up.write_all(request.as_bytes()).await.is_err() || up.read_to_end(&mut response).await.is_err() {
        return;
    }
    let mark = format!("\r\n{TRUNCATE_MARK}: 1");
    let out = match find(&response, b"\r\n\r\n") {
        Some(he) if find(&response[..he], mark.as_bytes()).is_some() => {
            let head = String::from_utf8_lossy(&response[..he]).replace(&mark, "");
            let body = &response[he + 4..];
            let mut out = format!("{head}\r\n\r\n").into_bytes();
            out.extend_from_slice(&body[..body.len() / 2]);
            out
        }
        _ => response,
    };
    let _ = client.write_all(&out).await;
    let _ = client.shutdown().await;
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
