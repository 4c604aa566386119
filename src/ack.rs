//! Signed "I'm on it" links: a token names one mention, one recipient and an
//! expiry, and carries an HMAC-SHA256 of those under `[daemon] ack_secret`.
//! This module only makes and checks tokens; serving them is `http`'s job
//! and recording the ack is the store's.
//!
//! The same signing serves the "not a complaint" links beside them.
//!
//! Token format (URL-safe, no padding to strip): `<hex payload>.<hex mac>`
//! where the payload is `<purpose>\n<mention id>\n<recipient>\n<expiry unix secs>`
//! and the purpose is `v1` for an ack, `nc1` for "not a complaint": it is
//! signed, so a token made for one cannot be used for the other.
//! Hex keeps every character legal in a path segment and in email clients
//! that re-wrap long lines at punctuation.

use chrono::{DateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// DESIGN.md "Ack links": valid for 7 days.
pub const VALIDITY: chrono::Duration = chrono::Duration::days(7);

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub mention_id: i64,
    pub recipient: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    /// Not a token we made (altered, truncated or signed with another key).
    #[error("this link is not valid: it was altered or signed with another key")]
    Tampered,
    /// Ours, but too old.
    #[error("this link has expired")]
    Expired,
}

/// What a token lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Acknowledge the mention (`/ack/<token>`).
    Ack,
    /// Say the mention is not a complaint (`/not-a-complaint/<token>`).
    NotComplaint,
}

impl Purpose {
    /// The payload's first line. `v1` is what ack tokens always carried.
    fn tag(self) -> &'static str {
        match self {
            Purpose::Ack => "v1",
            Purpose::NotComplaint => "nc1",
        }
    }
}

/// Makes the ack token for `mention_id` and `recipient`, valid until `expires_at`.
pub fn token(mention_id: i64, recipient: &str, expires_at: DateTime<Utc>, key: &[u8]) -> String {
    token_for(Purpose::Ack, mention_id, recipient, expires_at, key)
}

/// Makes a token for `purpose`.
pub fn token_for(purpose: Purpose, mention_id: i64, recipient: &str, expires_at: DateTime<Utc>, key: &[u8]) -> String {
    let payload = format!("{}\n{mention_id}\n{recipient}\n{}", purpose.tag(), expires_at.timestamp());
    format!("{}.{}", hex(payload.as_bytes()), hex(&sign(payload.as_bytes(), key)))
}

/// Checks an ack token (see [`verify_for`]).
pub fn verify(token: &str, key: &[u8], now: DateTime<Utc>) -> Result<Claims, AckError> {
    verify_for(Purpose::Ack, token, key, now)
}

/// Checks a token's signature first, then its purpose, then its expiry: an
/// altered token is `Tampered` even if its (altered) expiry has passed, and
/// a genuine token made for another purpose is `Tampered` too.
pub fn verify_for(purpose: Purpose, token: &str, key: &[u8], now: DateTime<Utc>) -> Result<Claims, AckError> {
    let (payload_hex, mac_hex) = token.split_once('.').ok_or(AckError::Tampered)?;
    let payload = unhex(payload_hex).ok_or(AckError::Tampered)?;
    let mac = unhex(mac_hex).ok_or(AckError::Tampered)?;
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(&payload);
    // verify_slice compares in constant time.
    m.verify_slice(&mac).map_err(|_| AckError::Tampered)?;
    let text = String::from_utf8(payload).map_err(|_| AckError::Tampered)?;
    let mut parts = text.split('\n');
    let (Some(tag), Some(id), Some(recipient), Some(exp), None) = (parts.next(), parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(AckError::Tampered);
    };
    if tag != purpose.tag() {
        return Err(AckError::Tampered);
    }
    let mention_id = id.parse().map_err(|_| AckError::Tampered)?;
    let expires_at = exp.parse().ok().and_then(|s| Utc.timestamp_opt(s, 0).single()).ok_or(AckError::Tampered)?;
    if now >= expires_at {
        return Err(AckError::Expired);
    }
    Ok(Claims { mention_id, recipient: recipient.to_string(), expires_at })
}

/// The link for a token: `<public_url>/ack/<token>`.
pub fn link(public_url: &str, token: &str) -> String {
    format!("{}/ack/{token}", public_url.trim_end_matches('/'))
}

/// The "not a complaint" link for a token: `<public_url>/not-a-complaint/<token>`.
pub fn not_complaint_link(public_url: &str, token: &str) -> String {
    format!("{}/not-a-complaint/{token}", public_url.trim_end_matches('/'))
}

/// HMAC-SHA256 of `data` under `key`.
pub fn sign(data: &[u8], key: &[u8]) -> [u8; 32] {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(data);
    m.finalize().into_bytes().into()
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    s.as_bytes().chunks(2).map(|p| Some(digit(p[0])? << 4 | digit(p[1])?)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"a test key";

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
    }

    #[test]
    fn a_fresh_token_verifies_to_what_it_was_made_from() {
        let tok = token(42, "ana@example.com", t(100), KEY);
        let c = verify(&tok, KEY, t(0)).unwrap();
        assert_eq!(c, Claims { mention_id: 42, recipient: "ana@example.com".into(), expires_at: t(100) });
        assert!(tok.chars().all(|c| c.is_ascii_hexdigit() || c == '.'), "URL-safe: {tok}");
    }

    #[test]
    fn an_expired_token_is_refused_as_expired() {
        let tok = token(42, "ana@example.com", t(100), KEY);
        assert_eq!(verify(&tok, KEY, t(100)), Err(AckError::Expired));
    }

    #[test]
    fn any_altered_byte_or_another_key_is_tampered() {
        let tok = token(42, "ana@example.com", t(100), KEY);
        // Change the mention id inside the payload, keeping the MAC.
        let (p, mac) = tok.split_once('.').unwrap();
        let forged = String::from_utf8(unhex(p).unwrap()).unwrap().replace("\n42\n", "\n43\n");
        assert_eq!(verify(&format!("{}.{mac}", hex(forged.as_bytes())), KEY, t(0)), Err(AckError::Tampered));
        let mut flipped = tok.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        assert_eq!(verify(std::str::from_utf8(&flipped).unwrap(), KEY, t(0)), Err(AckError::Tampered));
        assert_eq!(verify(&tok, b"other key", t(0)), Err(AckError::Tampered));
        assert_eq!(verify("not-a-token", KEY, t(0)), Err(AckError::Tampered));
        assert_eq!(verify("zz.zz", KEY, t(0)), Err(AckError::Tampered));
    }

    #[test]
    fn a_tampered_expired_token_is_reported_as_tampered() {
        let tok = token(42, "ana@example.com", t(100), KEY);
        assert_eq!(verify(&tok, b"other key", t(200)), Err(AckError::Tampered));
    }

    #[test]
    fn links_join_the_public_url_without_doubling_slashes() {
        assert_eq!(link("https://e.example.com/", "ab.cd"), "https://e.example.com/ack/ab.cd");
    }

    #[test]
    fn an_ack_token_is_no_not_a_complaint_token_and_the_reverse() {
        let ack = token(42, "ana@example.com", t(100), KEY);
        let nc = token_for(Purpose::NotComplaint, 42, "ana@example.com", t(100), KEY);
        assert_ne!(ack, nc);
        assert_eq!(verify_for(Purpose::NotComplaint, &ack, KEY, t(0)), Err(AckError::Tampered));
        assert_eq!(verify(&nc, KEY, t(0)), Err(AckError::Tampered));
        let c = verify_for(Purpose::NotComplaint, &nc, KEY, t(0)).unwrap();
        assert_eq!((c.mention_id, c.recipient.as_str()), (42, "ana@example.com"));
        assert_eq!(verify_for(Purpose::NotComplaint, &nc, KEY, t(100)), Err(AckError::Expired));
        assert_eq!(not_complaint_link("https://e.example.com/", "ab.cd"), "https://e.example.com/not-a-complaint/ab.cd");
    }

    #[test]
    fn hmac_matches_the_rfc_4231_test_vector() {
        // RFC 4231 test case 2.
        let mac = sign(b"what do ya want for nothing?", b"Jefe");
        assert_eq!(hex(&mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}
