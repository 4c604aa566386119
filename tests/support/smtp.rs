//! A real SMTP server for tests: listens on loopback TCP inside the test
//! process and speaks enough RFC 5321 for lettre (EHLO/HELO, MAIL, RCPT,
//! DATA with dot-unstuffing, RSET, NOOP, QUIT). It records every accepted
//! message and can refuse recipients (550) or defer (451) on demand. It also
//! parses what it received (headers, RFC 2047 subjects, MIME parts in
//! quoted-printable or base64) so tests assert on content, not encodings.
//! No TLS: tests use `security = "none"`. AUTH PLAIN and LOGIN are
//! offered only after `require_auth`, so credentials can be tested too.
#![allow(dead_code)]

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// One message the server accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The envelope sender (`MAIL FROM`).
    pub from: String,
    /// The envelope recipients (`RCPT TO`), in order.
    pub to: Vec<String>,
    /// The message as sent after DATA, dot-unstuffed, CRLF line ends.
    pub data: String,
    /// The user that authenticated on this connection, if any.
    pub auth_user: Option<String>,
}

struct State {
    messages: Mutex<Vec<Received>>,
    count: watch::Sender<usize>,
    rejected: Mutex<HashSet<String>>,
    temp_fail: AtomicUsize,
    /// (user, password) that AUTH must present; None: AUTH not offered.
    auth: Mutex<Option<(String, String)>>,
}

pub struct SmtpServer {
    addr: SocketAddr,
    state: Arc<State>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl SmtpServer {
    /// Starts on a free loopback port.
    pub async fn start() -> SmtpServer {
        SmtpServer::start_on(0).await
    }

    /// Starts on `port` (0: any free port). Used to bring a stopped server
    /// back on the port the code under test already knows.
    pub async fn start_on(port: u16) -> SmtpServer {
        let socket = TcpSocket::new_v4().expect("tcp socket");
        // A stopped server leaves its accepted connections in TIME_WAIT;
        // without this the restart could not bind the same port.
        socket.set_reuseaddr(true).expect("SO_REUSEADDR");
        socket.bind(SocketAddr::from(([127, 0, 0, 1], port))).unwrap_or_else(|e| panic!("bind 127.0.0.1:{port}: {e}"));
        let listener = socket.listen(64).expect("listen");
        let addr = listener.local_addr().expect("local addr");
        let (count, _) = watch::channel(0);
        let state = Arc::new(State {
            messages: Mutex::new(Vec::new()),
            count,
            rejected: Mutex::new(HashSet::new()),
            temp_fail: AtomicUsize::new(0),
            auth: Mutex::new(None),
        });
        let accept_state = state.clone();
        let task = tokio::spawn(async move {
            // Owned by this task: aborting it drops every connection too.
            let mut conns = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => {
                            let st = accept_state.clone();
                            conns.spawn(async move {
                                let _ = serve(stream, st).await;
                            });
                        }
                        Err(_) => continue,
                    },
                    Some(_) = conns.join_next(), if !conns.is_empty() => {}
                }
            }
        });
        SmtpServer { addr, state, task: Mutex::new(Some(task)) }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every message accepted so far, in arrival order.
    pub fn messages(&self) -> Vec<Received> {
        self.state.messages.lock().unwrap().clone()
    }

    /// Waits until at least `n` messages arrived and returns them all.
    /// Panics (failing the test with what did arrive) after `timeout`.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let mut rx = self.state.count.subscribe();
        let waited = tokio::time::timeout(timeout, rx.wait_for(|c| *c >= n)).await;
        let got = self.messages();
        if waited.is_err() {
            panic!("expected {n} message(s) within {timeout:?}, got {}: {got:#?}", got.len());
        }
        got
    }

    /// Answers `550` to `RCPT TO` for this address (case-insensitive).
    pub fn reject_rcpt(&self, addr: &str) {
        self.state.rejected.lock().unwrap().insert(addr.to_ascii_lowercase());
    }

    /// Answers `451` to the next `n` `MAIL FROM` commands.
    pub fn temp_fail_next(&self, n: usize) {
        self.state.temp_fail.store(n, Ordering::SeqCst);
    }

    /// Offers AUTH PLAIN/LOGIN and answers `530` to `MAIL FROM` until a
    /// client logs in with exactly these credentials (`535` otherwise).
    pub fn require_auth(&self, user: &str, password: &str) {
        *self.state.auth.lock().unwrap() = Some((user.to_string(), password.to_string()));
    }

    /// Stops listening and drops every open connection. Once this returns
    /// the port refuses connections and may be bound again.
    pub async fn stop(&self) {
        let task = self.task.lock().unwrap().take();
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.lock().unwrap().take() {
            task.abort();
        }
    }
}

/// Longest command line accepted; longer ones are refused (RFC 5321 4.5.3.1.4).
const MAX_LINE: usize = 4096;
/// Largest message accepted, as advertised in EHLO.
const MAX_SIZE: usize = 10 * 1024 * 1024;

async fn serve(stream: TcpStream, state: Arc<State>) -> std::io::Result<()> {
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    wr.write_all(b"220 escucha-test ESMTP ready\r\n").await?;
    let mut from: Option<String> = None;
    let mut to: Vec<String> = Vec::new();
    let mut auth_user: Option<String> = None;
    let mut line = Vec::new();
    loop {
        line.clear();
        if rd.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        if line.len() > MAX_LINE {
            wr.write_all(b"500 5.5.2 line too long\r\n").await?;
            continue;
        }
        let cmd = String::from_utf8_lossy(&line).trim_end_matches(['\r', '\n']).to_string();
        let verb = cmd.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        let reply: String = match verb.as_str() {
            "EHLO" => {
                from = None;
                to.clear();
                let auth = if state.auth.lock().unwrap().is_some() { "250-AUTH PLAIN LOGIN\r\n" } else { "" };
                format!("250-escucha-test greets you\r\n{auth}250-8BITMIME\r\n250-SIZE {MAX_SIZE}\r\n250-PIPELINING\r\n250 SMTPUTF8\r\n")
            }
            "HELO" => {
                from = None;
                to.clear();
                "250 escucha-test\r\n".into()
            }
            "MAIL" => match path_arg(&cmd, "FROM:") {
                None => "501 5.5.4 syntax: MAIL FROM:<address>\r\n".into(),
                Some(_) if auth_user.is_none() && state.auth.lock().unwrap().is_some() => "530 5.7.0 authentication required\r\n".into(),
                Some(_) if take_one(&state.temp_fail) => "451 4.3.0 try again later\r\n".into(),
                Some(addr) => {
                    from = Some(addr);
                    to.clear();
                    "250 2.1.0 OK\r\n".into()
                }
            },
            "RCPT" => match (&from, path_arg(&cmd, "TO:")) {
                (None, _) => "503 5.5.1 MAIL first\r\n".into(),
                (_, None) => "501 5.5.4 syntax: RCPT TO:<address>\r\n".into(),
                (_, Some(addr)) if state.rejected.lock().unwrap().contains(&addr.to_ascii_lowercase()) => {
                    format!("550 5.1.1 <{addr}>: no such user\r\n")
                }
                (_, Some(addr)) => {
                    to.push(addr);
                    "250 2.1.5 OK\r\n".into()
                }
            },
            "DATA" => {
                if from.is_none() || to.is_empty() {
                    "503 5.5.1 RCPT first\r\n".into()
                } else {
                    wr.write_all(b"354 end data with <CR><LF>.<CR><LF>\r\n").await?;
                    let Some(data) = read_data(&mut rd).await? else { return Ok(()) };
                    let msg = Received { from: from.take().unwrap_or_default(), to: std::mem::take(&mut to), data, auth_user: auth_user.clone() };
                    // Record before answering: once the client sees 250 the
                    // message must be visible to the test.
                    let n = {
                        let mut all = state.messages.lock().unwrap();
                        all.push(msg);
                        all.len()
                    };
                    state.count.send_replace(n);
                    "250 2.0.0 OK queued\r\n".into()
                }
            }
            "RSET" => {
                from = None;
                to.clear();
                "250 2.0.0 OK\r\n".into()
            }
            "NOOP" => "250 2.0.0 OK\r\n".into(),
            "AUTH" => {
                let expected = state.auth.lock().unwrap().clone();
                match (expected, auth_user.is_some()) {
                    (None, _) => "502 5.5.1 AUTH not offered\r\n".into(),
                    (Some(_), true) => "503 5.5.1 already authenticated\r\n".into(),
                    (Some((user, pass)), false) => {
                        let Some((u, p)) = read_auth(&cmd, &mut rd, &mut wr).await? else { return Ok(()) };
                        if u == user && p == pass {
                            auth_user = Some(u);
                            "235 2.7.0 authentication succeeded\r\n".into()
                        } else {
                            "535 5.7.8 authentication credentials invalid\r\n".into()
                        }
                    }
                }
            }
            "QUIT" => {
                wr.write_all(b"221 2.0.0 bye\r\n").await?;
                return Ok(());
            }
            _ => "502 5.5.2 command not implemented\r\n".into(),
        };
        wr.write_all(reply.as_bytes()).await?;
    }
}

/// Reads the credentials of `AUTH PLAIN [initial]` or `AUTH LOGIN`,
/// sending the `334` challenges. None if the client hung up.
async fn read_auth<R, W>(cmd: &str, rd: &mut R, wr: &mut W) -> std::io::Result<Option<(String, String)>>
where
    R: AsyncBufReadExt + Unpin,
    W: AsyncWriteExt + Unpin,
{
    let mut words = cmd.split_whitespace().skip(1);
    let mechanism = words.next().unwrap_or("").to_ascii_uppercase();
    let initial = words.next().map(str::to_string);
    let mut next_line = async |prompt: &[u8]| -> std::io::Result<Option<String>> {
        wr.write_all(prompt).await?;
        let mut l = Vec::new();
        if rd.read_until(b'\n', &mut l).await? == 0 {
            return Ok(None);
        }
        Ok(Some(String::from_utf8_lossy(&l).trim().to_string()))
    };
    let text = |b64: &str| String::from_utf8_lossy(&decode_base64(b64)).into_owned();
    if mechanism == "LOGIN" {
        // "Username:" and "Password:" in base64.
        let Some(user) = next_line(b"334 VXNlcm5hbWU6\r\n").await? else { return Ok(None) };
        let Some(pass) = next_line(b"334 UGFzc3dvcmQ6\r\n").await? else { return Ok(None) };
        return Ok(Some((text(&user), text(&pass))));
    }
    let response = match initial {
        Some(r) => r,
        None => match next_line(b"334 \r\n").await? {
            Some(r) => r,
            None => return Ok(None),
        },
    };
    // PLAIN: authzid NUL authcid NUL password.
    let decoded = text(&response);
    let mut fields = decoded.split('\0').skip(1);
    Ok(Some((fields.next().unwrap_or("").to_string(), fields.next().unwrap_or("").to_string())))
}

fn take_one(n: &AtomicUsize) -> bool {
    n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1)).is_ok()
}

/// The address in `MAIL FROM:<a> PARAMS` / `RCPT TO:<a>` (may be empty: `<>`).
fn path_arg(cmd: &str, keyword: &str) -> Option<String> {
    let rest = cmd.get(4..)?.trim_start();
    if !rest.to_ascii_uppercase().starts_with(keyword) {
        return None;
    }
    let rest = rest[keyword.len()..].trim_start();
    let inner = rest.strip_prefix('<')?;
    let end = inner.find('>')?;
    Some(inner[..end].to_string())
}

/// Reads DATA up to the lone `.` line, undoing dot-stuffing. None if the
/// client hung up midway (the message then does not count as received).
async fn read_data<R: AsyncBufReadExt + Unpin>(rd: &mut R) -> std::io::Result<Option<String>> {
    let mut data = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if rd.read_until(b'\n', &mut line).await? == 0 {
            return Ok(None);
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok(Some(String::from_utf8_lossy(&data).into_owned()));
        }
        let body = if line.starts_with(b".") { &line[1..] } else { &line[..] };
        if data.len() + body.len() <= MAX_SIZE {
            data.extend_from_slice(body);
        }
    }
}

// ---- parsing what arrived ----

/// One leaf MIME part: its headers (unfolded) and its decoded body.
#[derive(Debug, Clone)]
pub struct Part {
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Part {
    pub fn header(&self, name: &str) -> Option<String> {
        find_header(&self.headers, name)
    }
    /// The media type, lowercase, without parameters (`text/plain`).
    pub fn content_type(&self) -> String {
        media_type(self.header("Content-Type").as_deref().unwrap_or("text/plain"))
    }
}

impl Received {
    /// A top-level header, unfolded and with RFC 2047 encoded words decoded.
    pub fn header(&self, name: &str) -> Option<String> {
        let (headers, _) = split_message(&self.data);
        find_header(&headers, name).map(|v| decode_words(&v))
    }

    pub fn subject(&self) -> Option<String> {
        self.header("Subject")
    }

    /// Every leaf part, multiparts flattened, bodies decoded.
    pub fn parts(&self) -> Vec<Part> {
        let (headers, body) = split_message(&self.data);
        let mut out = Vec::new();
        collect_parts(headers, body, &mut out);
        out
    }

    /// The decoded `text/plain` body (the first one).
    pub fn text_body(&self) -> Option<String> {
        self.parts().into_iter().find(|p| p.content_type() == "text/plain").map(|p| p.body)
    }

    /// The decoded `text/html` body (the first one).
    pub fn html_body(&self) -> Option<String> {
        self.parts().into_iter().find(|p| p.content_type() == "text/html").map(|p| p.body)
    }
}

/// Splits a message into unfolded headers and the raw body.
fn split_message(data: &str) -> (Vec<(String, String)>, &str) {
    let (head, body) = match data.find("\r\n\r\n") {
        Some(i) => (&data[..i], &data[i + 4..]),
        None => match data.find("\n\n") {
            Some(i) => (&data[..i], &data[i + 2..]),
            None => (data, ""),
        },
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = headers.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    (headers, body)
}

fn find_header(headers: &[(String, String)], name: &str) -> Option<String> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
}

fn media_type(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// A parameter of a structured header (`boundary`, `charset`), unquoted.
fn header_param(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim().trim_matches('"').to_string())
    })
}

fn collect_parts(headers: Vec<(String, String)>, body: &str, out: &mut Vec<Part>) {
    let ct = find_header(&headers, "Content-Type").unwrap_or_else(|| "text/plain".into());
    if media_type(&ct).starts_with("multipart/") {
        let Some(boundary) = header_param(&ct, "boundary") else { return };
        let delim = format!("--{boundary}");
        for chunk in body.split(delim.as_str()).skip(1) {
            if chunk.starts_with("--") {
                break; // the closing delimiter
            }
            let chunk = chunk.strip_prefix("\r\n").or_else(|| chunk.strip_prefix('\n')).unwrap_or(chunk);
            // The CRLF before a delimiter belongs to the delimiter.
            let chunk = chunk.strip_suffix("\r\n").or_else(|| chunk.strip_suffix('\n')).unwrap_or(chunk);
            let (h, b) = split_message(chunk);
            collect_parts(h, b, out);
        }
        return;
    }
    let cte = find_header(&headers, "Content-Transfer-Encoding").unwrap_or_default().to_ascii_lowercase();
    let bytes = match cte.as_str() {
        "quoted-printable" => decode_qp(body),
        "base64" => decode_base64(body),
        _ => body.as_bytes().to_vec(),
    };
    out.push(Part { headers, body: String::from_utf8_lossy(&bytes).into_owned() });
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Quoted-printable (RFC 2045 6.7): `=XX` bytes and `=` soft line breaks.
fn decode_qp(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' {
            if b[i + 1..].starts_with(b"\r\n") {
                i += 3;
                continue;
            }
            if b[i + 1..].starts_with(b"\n") {
                i += 2;
                continue;
            }
            if let (Some(h), Some(l)) = (b.get(i + 1).and_then(|&c| hex(c)), b.get(i + 2).and_then(|&c| hex(c))) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Base64 (RFC 4648), ignoring line breaks and anything outside the alphabet.
fn decode_base64(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        };
        acc = acc << 6 | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// Decodes RFC 2047 encoded words (`=?utf-8?b?...?=`, `?q?`); whitespace
/// between two encoded words is dropped, as the RFC says.
fn decode_words(v: &str) -> String {
    let mut out = String::new();
    let mut rest = v;
    let mut pending_ws = String::new();
    let mut last_was_word = false;
    while !rest.is_empty() {
        if let Some((decoded, len)) = encoded_word(rest) {
            if !last_was_word {
                out.push_str(&pending_ws);
            }
            pending_ws.clear();
            out.push_str(&decoded);
            rest = &rest[len..];
            last_was_word = true;
            continue;
        }
        let c = rest.chars().next().unwrap();
        if c.is_whitespace() {
            pending_ws.push(c);
        } else {
            out.push_str(&pending_ws);
            pending_ws.clear();
            out.push(c);
            last_was_word = false;
        }
        rest = &rest[c.len_utf8()..];
    }
    out.push_str(&pending_ws);
    out
}

fn encoded_word(s: &str) -> Option<(String, usize)> {
    let inner = s.strip_prefix("=?")?;
    let (_charset, after) = inner.split_once('?')?;
    let (enc, after) = after.split_once('?')?;
    let end = after.find("?=")?;
    let text = &after[..end];
    let bytes = match enc {
        "b" | "B" => decode_base64(text),
        "q" | "Q" => decode_qp(&text.replace('_', " ")),
        _ => return None,
    };
    let len = 2 + (s.len() - 2 - after.len()) + end + 2;
    Some((String::from_utf8_lossy(&bytes).into_owned(), len))
}
