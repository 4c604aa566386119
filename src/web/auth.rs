//! Who is logged in: password hashes (argon2id in PHC format, as `escucha
//! passwd` prints them), random tokens, the session cookie, and the limit on
//! wrong passwords. No HTTP handlers here.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::Duration;
use sha2::{Digest, Sha256};

/// The session cookie's name.
pub const COOKIE: &str = "escucha_session";
/// How long a session lasts without logging in again.
pub const SESSION_LIFETIME: Duration = Duration::days(7);
/// Wrong passwords allowed per login name within [`FAILURE_WINDOW`]; after
/// that every attempt for the name is refused until the window ends. The
/// counts are in the database (`Store::login_failed`), shared by daemons.
pub const MAX_FAILURES: u32 = 5;
/// The same per client address, higher: a team may share one address.
pub const MAX_FAILURES_PER_ADDRESS: u32 = 20;
pub const FAILURE_WINDOW: Duration = Duration::minutes(15);

/// The argon2id hash of `password` with a fresh random salt, in PHC format
/// (argon2's default parameters: m=19456 KiB, t=2, p=1, OWASP's minimum).
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|e| format!("no random numbers from the system: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| e.to_string())
}

/// True when `s` is an argon2 hash in PHC format that [`verify_password`] can check.
pub fn is_password_hash(s: &str) -> bool {
    PasswordHash::new(s).is_ok_and(|h| matches!(h.algorithm.as_str(), "argon2id" | "argon2i" | "argon2d"))
}

/// True when `password` matches `hash` (constant time in the password).
pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(h) => Argon2::default().verify_password(password.as_bytes(), &h).is_ok(),
        Err(_) => false,
    }
}

/// A hash of a random password nobody knows, checked when the login name
/// is unknown so that an unknown name takes as long as a wrong password.
pub fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password(&random_token()).unwrap_or_default())
}

/// 32 random bytes as hex: session tokens and CSRF tokens.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    getrandom::getrandom(&mut b).expect("the system's random number generator");
    hex(&b)
}

/// What the database keeps of a session token: its SHA-256, so a copy of
/// the sessions table logs nobody in.
pub fn session_id(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Equal strings, compared in time independent of where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').filter_map(|kv| kv.trim().split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v.trim())
}

/// The `Set-Cookie` value for a session token (`None`: clear it). Secure
/// when the inbox is served over https.
pub fn set_cookie(token: Option<&str>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match token {
        Some(t) => format!("{COOKIE}={t}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}", SESSION_LIFETIME.num_seconds()),
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(is_password_hash(&h));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct horse ", &h));
        assert_ne!(h, hash_password("correct horse").unwrap(), "a fresh salt each time");
        assert!(!is_password_hash("hunter2"));
        assert!(!is_password_hash("$2b$12$abcdefghijklmnopqrstuu"));
        assert!(is_password_hash(dummy_hash()));
        assert!(!verify_password("", dummy_hash()));
    }

    #[test]
    fn cookies_are_read_by_name_and_set_with_their_attributes() {
        assert_eq!(cookie("a=1; escucha_session=abc ; b=2", COOKIE), Some("abc"));
        assert_eq!(cookie("escucha_session_x=1", COOKIE), None);
        let c = set_cookie(Some("t"), true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.ends_with("; Secure"), "{c}");
        assert!(!set_cookie(Some("t"), false).contains("Secure"));
        assert!(set_cookie(None, false).contains("Max-Age=0"));
    }

    #[test]
    fn tokens_are_random_and_compared_whole() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(same(&a, &a.clone()) && !same(&a, &b) && !same(&a, &a[..63]));
        assert_eq!(session_id("x").len(), 64);
    }
}
