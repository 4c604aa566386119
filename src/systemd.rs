//! The systemd notify protocol (`sd_notify(3)`): one datagram per state
//! change to `$NOTIFY_SOCKET`. Written by hand: it is a dozen lines, and the
//! crates for it changed signatures between versions.
//!
//! Also the liveness bookkeeping behind `WATCHDOG=1`: every long-running loop
//! promises when it will next report, and the watchdog pings systemd only
//! while every promise is kept and the database answers.

use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Sends `state` (e.g. `READY=1`) to systemd. Without `$NOTIFY_SOCKET`
/// (not started by systemd) it does nothing. Errors are returned, not
/// logged, so callers decide.
pub fn notify(state: &str) -> std::io::Result<bool> {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return Ok(false);
    };
    notify_to(&path.to_string_lossy(), state).map(|_| true)
}

#[cfg(target_os = "linux")]
pub fn notify_to(path: &str, state: &str) -> std::io::Result<()> {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixDatagram};
    let sock = UnixDatagram::unbound()?;
    // A leading '@' names an abstract socket.
    let addr = match path.strip_prefix('@') {
        Some(name) => SocketAddr::from_abstract_name(name.as_bytes())?,
        None => SocketAddr::from_pathname(path)?,
    };
    sock.send_to_addr(state.as_bytes(), &addr)?;
    Ok(())
}

#[cfg(not(target_os = "linux"))]
pub fn notify_to(path: &str, state: &str) -> std::io::Result<()> {
    let sock = std::os::unix::net::UnixDatagram::unbound()?;
    sock.send_to(state.as_bytes(), path)?;
    Ok(())
}

/// `$WATCHDOG_USEC` as a duration, when systemd asked for pings (and the
/// variable is meant for this process: `$WATCHDOG_PID` unset or ours).
pub fn watchdog_interval() -> Option<Duration> {
    if let Ok(pid) = std::env::var("WATCHDOG_PID") {
        if pid.trim() != std::process::id().to_string() {
            return None;
        }
    }
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.trim().parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec))
}

/// One loop's promise: "I will report again before this instant".
#[derive(Debug)]
pub struct Heartbeat {
    pub name: String,
    due_ms: AtomicI64,
}

impl Heartbeat {
    pub fn new(name: impl Into<String>, now: DateTime<Utc>) -> Arc<Heartbeat> {
        Arc::new(Heartbeat { name: name.into(), due_ms: AtomicI64::new(now.timestamp_millis() + 60_000) })
    }
    /// The loop is alive now and will report again within `within`.
    pub fn beat(&self, now: DateTime<Utc>, within: Duration) {
        self.due_ms.store(now.timestamp_millis() + within.as_millis() as i64, Ordering::Relaxed);
    }
    pub fn alive(&self, now: DateTime<Utc>) -> bool {
        now.timestamp_millis() <= self.due_ms.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixDatagram;

    #[test]
    fn notify_sends_one_datagram_to_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let listener = UnixDatagram::bind(&path).unwrap();
        notify_to(path.to_str().unwrap(), "READY=1\nSTATUS=watching 2 brands").unwrap();
        let mut buf = [0u8; 256];
        let n = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=watching 2 brands");
    }

    #[test]
    fn a_heartbeat_is_alive_until_its_promise_expires() {
        let now = Utc::now();
        let hb = Heartbeat::new("alerts", now);
        hb.beat(now, Duration::from_secs(10));
        assert!(hb.alive(now + chrono::Duration::seconds(9)));
        assert!(!hb.alive(now + chrono::Duration::seconds(11)));
    }
}
